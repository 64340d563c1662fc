//! The contact form's use case: one post in, one [`Outcome`] out. Every rule of intake lives
//! here, so no transport can skip one: the rate limiter (before anything is read), the
//! honeypot, parsing against the manifest, the consent stamp, the durable write with the
//! record's outbox items, and the rule that an idempotency key reused for other content is a
//! conflict, not a retry.

use std::net::IpAddr;

use time::OffsetDateTime;

use crate::app::context::Relay;
use crate::domain::dedup::DedupKeys;
use crate::domain::fields::ErrorCode;
use crate::domain::record::{CollectionMethod, ConsentRecord, RecordId};
use crate::domain::stamp;
use crate::domain::submission::{FieldErrors, RawSubmission, Submission};
use crate::store::Inserted;

/// Why a body could not be read as a submission (decided by the transport, counted here).
#[derive(Debug)]
pub enum Unreadable {
    /// Over the transport's size limit.
    TooLarge,
    /// Neither a form post nor JSON.
    UnsupportedMediaType,
    /// A form post or JSON that does not decode.
    Invalid(FieldErrors),
}

/// One post to the contact form.
#[derive(Debug)]
pub struct Post {
    /// The decoded body and how it was sent, or why it could not be read.
    pub body: Result<(RawSubmission, CollectionMethod), Unreadable>,
    /// The client's address as far as the transport knows it (only the rate limiter's input,
    /// which keeps a keyed hash of it).
    pub client: Option<IpAddr>,
}

/// Every way a post can end; the transport maps each to its answer.
#[derive(Debug)]
pub enum Outcome {
    /// Stored (or already stored, or a bot's honeypot): the id to tell the visitor.
    Accepted {
        lang: String,
        id: RecordId,
    },
    /// Fields refused.
    Invalid {
        lang: String,
        errors: FieldErrors,
    },
    /// The store did not confirm the write.
    Unavailable {
        lang: String,
    },
    /// The idempotency key was used for other content.
    Conflict {
        lang: String,
    },
    /// Too many posts from this client, or too many stored submissions overall.
    RateLimited {
        lang: String,
        retry_after_secs: u64,
    },
    /// Refused before its content was read (in the site's default language).
    TooLarge,
    UnsupportedMediaType,
}

/// Receives one post at `now`. Logs outcomes by code and id only.
pub async fn accept(relay: &Relay, post: Post, now: OffsetDateTime) -> Outcome {
    // Before anything is parsed or stored; every post counts, a honeypot hit included.
    if let Err(wait) = relay.limiter.check(post.client) {
        tracing::info!(
            outcome = "rate_limited",
            retry_after_secs = wait.secs(),
            "form refused"
        );
        let lang = match &post.body {
            Ok((raw, _)) => raw.response_lang(&relay.manifest).to_owned(),
            Err(_) => relay.manifest.default_language.clone(),
        };
        return Outcome::RateLimited {
            lang,
            retry_after_secs: wait.secs(),
        };
    }
    let (raw, method) = match post.body {
        Ok(read) => read,
        Err(unreadable) => return refuse_unreadable(relay, unreadable),
    };
    let lang = raw.response_lang(&relay.manifest).to_owned();
    if raw.honeypot_filled() {
        // Looks like success to the bot; nothing is stored and the id is never reused.
        tracing::info!(outcome = "honeypot", "form discarded");
        return Outcome::Accepted {
            lang,
            id: RecordId::new(),
        };
    }
    let submission = match Submission::parse(&raw, &relay.manifest, now) {
        Ok(submission) => submission,
        Err(errors) => {
            tracing::info!(outcome = "invalid", errors = %errors.to_query_value(), "form refused");
            return Outcome::Invalid { lang, errors };
        }
    };
    match stamp::stamp(submission, &relay.manifest, &relay.settings, method, now) {
        Ok((record, dedup)) => store(relay, &record, &dedup, lang).await,
        Err(error) => {
            tracing::error!(%error, "cannot build a record");
            Outcome::Unavailable { lang }
        }
    }
}

fn refuse_unreadable(relay: &Relay, unreadable: Unreadable) -> Outcome {
    match unreadable {
        Unreadable::TooLarge => {
            tracing::info!(outcome = "too_large", "form refused");
            Outcome::TooLarge
        }
        Unreadable::UnsupportedMediaType => {
            tracing::info!(outcome = "unsupported_media_type", "form refused");
            Outcome::UnsupportedMediaType
        }
        Unreadable::Invalid(errors) => {
            tracing::info!(outcome = "invalid", errors = %errors.to_query_value(), "form refused");
            Outcome::Invalid {
                lang: relay.manifest.default_language.clone(),
                errors,
            }
        }
    }
}

/// The whole form refused for an encoding the transport could not read as text.
pub fn invalid_encoding() -> Unreadable {
    Unreadable::Invalid(FieldErrors::whole_form(ErrorCode::InvalidEncoding))
}

/// Stores the stamped record with its outbox items in one write, then wakes the deliverer.
/// A duplicate (a retry or a double click) is accepted again under the first record's id,
/// unless its idempotency key was reused for other content.
async fn store(relay: &Relay, record: &ConsentRecord, dedup: &DedupKeys, lang: String) -> Outcome {
    let outbox = stamp::outbox_for(record, &relay.notify_channels, record.received_at);
    match relay.store.insert_record(record, dedup, &outbox).await {
        Ok(Inserted::Duplicate(earlier))
            if reused_for_other_content(relay, earlier, dedup).await =>
        {
            tracing::info!(outcome = "idempotency_conflict", id = %earlier, "form refused");
            Outcome::Conflict { lang }
        }
        Ok(inserted) => {
            let duplicate = matches!(inserted, Inserted::Duplicate(_));
            if !duplicate {
                // Only stored submissions count against the global ceiling.
                relay.limiter.accepted();
                if !outbox.is_empty() {
                    relay.wake_delivery();
                }
            }
            tracing::info!(outcome = "stored", id = %inserted.id(), duplicate, "form received");
            Outcome::Accepted {
                lang,
                id: inserted.id(),
            }
        }
        Err(error) => {
            tracing::error!(%error, "store did not confirm the write");
            Outcome::Unavailable { lang }
        }
    }
}

/// Whether the stored record `earlier`, which a submission was found to duplicate, holds other
/// content than the submission: the script's idempotency key was reused for a new message,
/// which must not be dropped silently as a "retry". Same content (a true retry, or a double
/// click caught by the fingerprint) is not a conflict; neither is a record gone meanwhile.
async fn reused_for_other_content(relay: &Relay, earlier: RecordId, dedup: &DedupKeys) -> bool {
    if dedup.idempotency_key.is_none() {
        return false;
    }
    match relay.store.get_record(earlier).await {
        Ok(Some(record)) => {
            relay.settings.hmac_key.record_fingerprint(&record) != dedup.fingerprint
        }
        _ => false,
    }
}
