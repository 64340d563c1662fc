//! The contact form's use case: one post in, one [`Outcome`] out. Every rule of intake lives
//! here, so no transport can skip one: the rate limiter (before anything is read), the
//! honeypot, parsing against the manifest, the consent stamp, the durable write with the
//! record's outbox items, and the rule that an idempotency key reused for other content is a
//! conflict, not a retry.

use std::net::IpAddr;

use time::OffsetDateTime;

use crate::app::context::Relay;
use crate::domain::fields::ErrorCode;
use crate::domain::outbox::{MailQuota, OutboxKind};
use crate::domain::record::{CollectionMethod, RecordId};
use crate::domain::stamp::{self, Stamped};
use crate::domain::submission::{FieldErrors, RawSubmission, Submission};
use crate::store::{Inserted, StoreError};

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
    /// The language to answer in (see [`RawSubmission::response_lang`]); the site's default
    /// for a body that could not be read.
    pub lang: String,
}

/// Every way a post can end; the transport maps each to its answer.
#[derive(Debug)]
pub enum Outcome {
    /// Stored (or already stored, or a bot's honeypot): the id to tell the visitor, and the
    /// signed consent receipt of what was stored (none for a post that stored nothing: a
    /// receipt is a signed statement, never made for a record that does not exist).
    Accepted {
        lang: String,
        id: RecordId,
        receipt: Option<String>,
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
///
/// One function of about 130 lines on purpose: it reads top to bottom in the order the rules
/// apply (limit, refuse unreadable, honeypot, parse, stamp, cap, store, conflict), with no
/// helper another path could call without the rules before it.
pub async fn accept(relay: &Relay, post: Post, now: OffsetDateTime) -> Outcome {
    let Post { body, client, lang } = post;
    // Before anything is parsed or stored; every post counts, a honeypot hit included.
    if let Err(wait) = relay.limiter.check(client) {
        tracing::info!(
            outcome = "rate_limited",
            retry_after_secs = wait.secs(),
            "form refused"
        );
        return Outcome::RateLimited {
            lang,
            retry_after_secs: wait.secs(),
        };
    }
    let (raw, method) = match body {
        Ok(read) => read,
        Err(Unreadable::TooLarge) => {
            tracing::info!(outcome = "too_large", "form refused");
            return Outcome::TooLarge;
        }
        Err(Unreadable::UnsupportedMediaType) => {
            tracing::info!(outcome = "unsupported_media_type", "form refused");
            return Outcome::UnsupportedMediaType;
        }
        Err(Unreadable::Invalid(errors)) => {
            tracing::info!(outcome = "invalid", errors = %errors.to_query_value(), "form refused");
            return Outcome::Invalid { lang, errors };
        }
    };
    if raw.honeypot_filled() {
        // Looks like success to the bot; nothing is stored and the id is never reused.
        tracing::info!(outcome = "honeypot", "form discarded");
        return Outcome::Accepted {
            lang,
            id: RecordId::new(),
            receipt: None,
        };
    }
    let submission = match Submission::parse(&raw, &relay.manifest, now) {
        Ok(submission) => submission,
        Err(errors) => {
            tracing::info!(outcome = "invalid", errors = %errors.to_query_value(), "form refused");
            return Outcome::Invalid { lang, errors };
        }
    };
    let mut reloaded = false;
    let (record, dedup, outbox, inserted) = loop {
        let settings = relay.settings();
        let channels = &relay.notify_channels;
        let stamped = match stamp::stamp(
            submission.clone(),
            &relay.manifest,
            &settings,
            channels,
            method,
            now,
        ) {
            Ok(stamped) => stamped,
            Err(error) => {
                tracing::error!(%error, "cannot build a record");
                return Outcome::Unavailable { lang };
            }
        };
        let Stamped {
            record,
            dedup,
            outbox,
        } = stamped;
        // A confirmation mail to this address takes a place of its cap.
        let quota = outbox
            .iter()
            .any(|item| matches!(item.kind, OutboxKind::ConfirmPurpose { .. }))
            .then(|| MailQuota::confirmations(&record.email_hmac, now));
        match relay
            .store
            .insert_record_capped(&record, &dedup, &outbox, quota.as_ref())
            .await
        {
            Ok(inserted) => break (record, dedup, outbox, inserted),
            // A rekey moved the store to another key: load it and stamp again, once.
            Err(StoreError::WrongKey)
                if !reloaded && relay.reload_key(&settings.hmac_key.key_check()) =>
            {
                reloaded = true;
            }
            Err(error) => {
                tracing::error!(%error, "store did not confirm the write");
                return Outcome::Unavailable { lang };
            }
        }
    };
    if inserted == Inserted::OverQuota {
        // Answered exactly as a stored post, so nobody learns the cap is full.
        tracing::info!(outcome = "over_quota", "form discarded");
        return Outcome::Accepted {
            lang,
            id: RecordId::new(),
            receipt: None,
        };
    }
    // For a retry, the record stored before: the receipt is of that one (none when it is
    // gone meanwhile), not of this copy.
    let mut earlier_stored = None;
    if let Inserted::Duplicate(earlier) = inserted {
        // The script's idempotency key reused for a new message must not be dropped silently
        // as a "retry". Same content (a true retry, or a double click caught by the
        // fingerprint) is not a conflict; neither is a record gone meanwhile.
        let earlier_record = relay.store.get_record(earlier).await.ok().flatten();
        if dedup.idempotency_key.is_some()
            && earlier_record
                .as_ref()
                .is_some_and(|e| !e.same_submission(&record))
        {
            tracing::info!(outcome = "idempotency_conflict", id = %earlier, "form refused");
            return Outcome::Conflict { lang };
        }
        earlier_stored = Some(earlier_record);
    } else {
        // Only stored submissions count against the global ceiling.
        relay.limiter.accepted();
        if !outbox.is_empty() {
            relay.wake_delivery();
        }
    }
    let duplicate = matches!(inserted, Inserted::Duplicate(_));
    let id = inserted.id().unwrap_or(record.id);
    tracing::info!(outcome = "stored", %id, duplicate, "form received");
    let receipt = match &earlier_stored {
        Some(earlier) => earlier.as_ref().and_then(|r| relay.receipt(r)),
        None => relay.receipt(&record),
    };
    Outcome::Accepted { lang, id, receipt }
}

/// The whole form refused for an encoding the transport could not read as text.
pub fn invalid_encoding() -> Unreadable {
    Unreadable::Invalid(FieldErrors::whole_form(ErrorCode::InvalidEncoding))
}
