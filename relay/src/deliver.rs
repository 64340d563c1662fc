//! Delivering the outbox: the operator's notification (mail, webhook) and the double opt-in
//! link, after the record they are about was committed.
//!
//! One round ([`Deliverer::run_once`]) takes the due items, claims each (so two deliverers —
//! the server's background task and a `kelisim-relay deliver` from cron, or two Lambda
//! invocations — never send the same one), sends it, and removes it once the mail server or
//! webhook accepted it; a failure schedules a retry with [`crate::outbox::backoff`]. A record
//! is never lost or delayed by any of this: it was stored before the visitor was answered.
//!
//! What goes out is built here from the record and the Fluent messages, and holds no personal
//! data unless the operator opted in with `include_personal_data` (only the confirmation mail
//! goes to the person's own address, and only holds the link).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use fluent_bundle::FluentValue;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use time::OffsetDateTime;

use crate::fingerprint::HmacKey;
use crate::manifest::ConsentManifest;
use crate::messages::Messages;
use crate::outbox::{Channel, OutboxItem, OutboxKind, backoff};
use crate::record::{ConsentRecord, ConsentStatus};
use crate::secret::Secret;
use crate::store::{Store, StoreError};
use crate::token::{self, TokenAction, TokenClaims};

/// One mail, ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    pub to: Vec<String>,
    pub subject: String,
    pub body: String,
    /// `<outbox-id@kelisim>`: the same on every retry, so a receiving server can drop a
    /// second copy after an attempt whose acceptance was lost.
    pub message_id: String,
}

/// Why one attempt failed. Holds an error kind or status code, never content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SendError(pub String);

/// Something that sends mail: the operator's SMTP server, or the preview's capture.
#[async_trait]
pub trait MailTransport: Send + Sync {
    async fn send(&self, mail: &Mail) -> Result<(), SendError>;
}

/// Something that POSTs the webhook; it holds the secret and signs each attempt with the
/// time it is sent at (see [`webhook_signature`]).
#[async_trait]
pub trait WebhookTransport: Send + Sync {
    /// Sends `body` (JSON). Success means a 2xx answer.
    async fn post(&self, body: &str) -> Result<(), SendError>;
}

/// Keeps mail instead of sending it: `kelisim serve` shows it at `/__kelisim/mail`, so an
/// editor sees the confirmation mail exactly as a visitor would get it. Holds the last
/// [`CaptureMailer::CAPACITY`] mails, in memory only.
#[derive(Debug, Default)]
pub struct CaptureMailer {
    mails: Mutex<VecDeque<(OffsetDateTime, Mail)>>,
}

impl CaptureMailer {
    pub const CAPACITY: usize = 50;

    /// The captured mails, newest first, with when each was captured.
    pub fn mails(&self) -> Vec<(OffsetDateTime, Mail)> {
        self.mails
            .lock()
            .map(|m| m.iter().rev().cloned().collect())
            .unwrap_or_default()
    }
}

#[async_trait]
impl MailTransport for CaptureMailer {
    async fn send(&self, mail: &Mail) -> Result<(), SendError> {
        let mut mails = self
            .mails
            .lock()
            .map_err(|_| SendError("capture lock poisoned".to_owned()))?;
        if mails.len() == Self::CAPACITY {
            mails.pop_front();
        }
        mails.push_back((OffsetDateTime::now_utc(), mail.clone()));
        Ok(())
    }
}

/// What the deliverer needs to know besides the store and the transports.
#[derive(Debug, Clone)]
pub struct DeliverySettings {
    /// Who receives the operator's notifications.
    pub notify_to: Vec<String>,
    /// The language of the notification.
    pub operator_language: String,
    pub include_personal_data: bool,
    /// The form endpoint as a mail client reaches it; links are `<public_url>/confirm?...`.
    pub public_url: String,
    /// How long a data-subject request's confirmation link stays valid.
    pub confirm_within: time::Duration,
}

/// The `Kelisim-Signature` header value for `body` sent at `timestamp`:
/// `t=<unix>,v1=<hex HMAC-SHA256 of "<unix>.<body>">`, as Stripe signs its webhooks.
pub fn webhook_signature(secret: &Secret<String>, timestamp: i64, body: &str) -> String {
    let digest = match Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes()) {
        Ok(mut mac) => {
            mac.update(timestamp.to_string().as_bytes());
            mac.update(b".");
            mac.update(body.as_bytes());
            hex::encode(mac.finalize().into_bytes())
        }
        // HMAC takes keys of any length; this arm cannot be reached.
        Err(_) => String::new(),
    };
    format!("t={timestamp},v1={digest}")
}

/// The webhook's JSON: the same non-personal fields as the default notification.
pub fn webhook_payload(record: &ConsentRecord) -> serde_json::Value {
    serde_json::json!({
        "type": "record.received",
        "id": record.id,
        "received_at": rfc3339(record.received_at),
        "language": record.consent.language,
        "purposes": granted_purposes(record),
        "policy_version": record.consent.policy_version,
        "command": format!("kelisim-relay records show {}", record.id),
    })
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn granted_purposes(record: &ConsentRecord) -> Vec<String> {
    record
        .consent
        .purposes
        .iter()
        .filter(|p| p.granted)
        .map(|p| p.purpose.clone())
        .collect()
}

/// Where an item stands after one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    /// Accepted by the mail server or the webhook: remove it.
    Delivered,
    /// Nothing left to send (the record was erased, the grant was confirmed or lapsed, the
    /// channel is no longer configured): remove it.
    Obsolete,
}

/// What one round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    pub delivered: usize,
    /// Failed this time; scheduled again.
    pub retried: usize,
    /// Dropped because nothing was left to send.
    pub dropped: usize,
}

/// Sends what the outbox owes.
#[derive(Clone)]
pub struct Deliverer {
    store: Arc<dyn Store>,
    key: HmacKey,
    manifest: Arc<ConsentManifest>,
    messages: Messages,
    settings: DeliverySettings,
    mailer: Option<Arc<dyn MailTransport>>,
    webhook: Option<Arc<dyn WebhookTransport>>,
}

impl std::fmt::Debug for Deliverer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deliverer")
            .field("mail", &self.mailer.is_some())
            .field("webhook", &self.webhook.is_some())
            .finish_non_exhaustive()
    }
}

/// Items taken per round; the rest wait for the next round.
const ROUND_LIMIT: usize = 100;

impl Deliverer {
    pub fn new(
        store: Arc<dyn Store>,
        key: HmacKey,
        manifest: Arc<ConsentManifest>,
        messages: Messages,
        settings: DeliverySettings,
    ) -> Self {
        Self {
            store,
            key,
            manifest,
            messages,
            settings,
            mailer: None,
            webhook: None,
        }
    }

    pub fn with_mailer(mut self, mailer: Arc<dyn MailTransport>) -> Self {
        self.mailer = Some(mailer);
        self
    }

    pub fn with_webhook(mut self, webhook: Arc<dyn WebhookTransport>) -> Self {
        self.webhook = Some(webhook);
        self
    }

    /// Uses a newer manifest and its messages (the preview rebuilds the site).
    pub fn with_manifest(mut self, manifest: Arc<ConsentManifest>, messages: Messages) -> Self {
        self.manifest = manifest;
        self.messages = messages;
        self
    }

    /// Delivers every item due at `now`. Store errors end the round (the next one retries);
    /// send errors only reschedule their item.
    pub async fn run_once(&self, now: OffsetDateTime) -> Result<DeliveryReport, StoreError> {
        let mut report = DeliveryReport::default();
        for due in self.store.outbox_due(now, ROUND_LIMIT).await? {
            let Some(item) = self.store.outbox_claim(due.id, now).await? else {
                continue;
            };
            match self.attempt(&item, now).await {
                Ok(fate) => {
                    self.store.outbox_done(item.id).await?;
                    match fate {
                        Fate::Delivered => report.delivered += 1,
                        Fate::Obsolete => report.dropped += 1,
                    }
                    tracing::info!(item = %item.id, kind = %item.kind.label(), ?fate, "outbox item done");
                }
                Err(error) => {
                    let next = now + backoff(item.attempts);
                    tracing::warn!(
                        item = %item.id,
                        kind = %item.kind.label(),
                        attempts = item.attempts,
                        %error,
                        "delivery failed; will retry"
                    );
                    self.store.outbox_retry(item.id, next, &error.0).await?;
                    report.retried += 1;
                }
            }
        }
        Ok(report)
    }

    /// One attempt at one item.
    async fn attempt(&self, item: &OutboxItem, now: OffsetDateTime) -> Result<Fate, SendError> {
        let Some(record_id) = item.kind.record_id() else {
            return self.attempt_request(item).await;
        };
        let record = self
            .store
            .get(record_id)
            .await
            .map_err(|e| SendError(format!("store: {e}")))?;
        let Some(record) = record else {
            return Ok(Fate::Obsolete);
        };
        // A blocked record is in no notification (§2.2), a withdrawn or anonymized one is no
        // longer processed at all (§8.4, §2.5): nothing is sent about it.
        if !record.is_processable() {
            return Ok(Fate::Obsolete);
        }
        match &item.kind {
            OutboxKind::NotifyOperator {
                channel: Channel::Email,
                ..
            } => match &self.mailer {
                Some(mailer) if !self.settings.notify_to.is_empty() => {
                    mailer.send(&self.notification(&record, item)).await?;
                    Ok(Fate::Delivered)
                }
                _ => Ok(Fate::Obsolete),
            },
            OutboxKind::NotifyOperator {
                channel: Channel::Webhook,
                ..
            } => match &self.webhook {
                Some(webhook) => {
                    webhook.post(&webhook_payload(&record).to_string()).await?;
                    Ok(Fate::Delivered)
                }
                None => Ok(Fate::Obsolete),
            },
            OutboxKind::ConfirmPurpose { purpose, .. } => {
                let Some(mail) = self.confirmation(&record, purpose, item, now) else {
                    return Ok(Fate::Obsolete);
                };
                match &self.mailer {
                    Some(mailer) => {
                        mailer.send(&mail).await?;
                        Ok(Fate::Delivered)
                    }
                    // Kept, and retried: the operator may still configure mail before the
                    // grant lapses.
                    None => Err(SendError("no mail transport is configured".to_owned())),
                }
            }
            // Handled by `attempt_request` above: they name no record.
            OutboxKind::ConfirmRequest { .. } | OutboxKind::NotifyRequest { .. } => {
                Ok(Fate::Obsolete)
            }
        }
    }

    /// One attempt at an item about a data-subject request.
    async fn attempt_request(&self, item: &OutboxItem) -> Result<Fate, SendError> {
        let request = self
            .store
            .get_request(item.kind.subject())
            .await
            .map_err(|e| SendError(format!("store: {e}")))?;
        // Gone (never stored, or the post failed after queueing) or closed: nothing to say.
        let Some(request) = request.filter(|r| r.closed_at.is_none()) else {
            return Ok(Fate::Obsolete);
        };
        let mail = match &item.kind {
            OutboxKind::ConfirmRequest { .. } if request.confirmed_at.is_none() => {
                request_confirmation_mail(
                    &request,
                    &self.key,
                    &self.manifest,
                    &self.messages,
                    &self.settings,
                    item,
                )
            }
            OutboxKind::NotifyRequest { .. } if !self.settings.notify_to.is_empty() => {
                request_operator_mail(
                    &request,
                    &self.manifest,
                    &self.messages,
                    &self.settings,
                    item,
                )
            }
            _ => return Ok(Fate::Obsolete),
        };
        match &self.mailer {
            Some(mailer) => {
                mailer.send(&mail).await?;
                Ok(Fate::Delivered)
            }
            None => Err(SendError("no mail transport is configured".to_owned())),
        }
    }

    /// The operator's notification for `record`.
    pub fn notification(&self, record: &ConsentRecord, item: &OutboxItem) -> Mail {
        let lang = &self.settings.operator_language;
        let id = record.id.to_string();
        let website = self.manifest.operator.website.clone();
        let subject = self.messages.format(
            lang,
            "mail-notify-subject",
            &[
                ("website", FluentValue::from(website.as_str())),
                ("id", FluentValue::from(id.as_str())),
            ],
        );
        let mut body = self.messages.format(
            lang,
            "mail-notify-body",
            &[
                ("id", FluentValue::from(id.as_str())),
                (
                    "received_at",
                    FluentValue::from(rfc3339(record.received_at)),
                ),
                (
                    "language",
                    FluentValue::from(record.consent.language.as_str()),
                ),
                (
                    "purposes",
                    FluentValue::from(granted_purposes(record).join(", ")),
                ),
            ],
        );
        if self.settings.include_personal_data {
            body.push_str("\n\n");
            body.push_str(&self.messages.format(lang, "mail-notify-personal", &[]));
            body.push('\n');
            body.push_str(&crate::inbox::show_text(record));
        }
        Mail {
            to: self.settings.notify_to.clone(),
            subject,
            body,
            message_id: format!("<{}@kelisim>", item.id),
        }
    }

    /// The double opt-in mail for `purpose` of `record`, or `None` when the grant is no
    /// longer pending (confirmed, withdrawn, lapsed, never given).
    pub fn confirmation(
        &self,
        record: &ConsentRecord,
        purpose: &str,
        item: &OutboxItem,
        now: OffsetDateTime,
    ) -> Option<Mail> {
        let consent = record.purpose(purpose)?;
        if consent.status(now) != ConsentStatus::Pending {
            return None;
        }
        let expires_at = consent.confirm_by?;
        let lang = record.consent.language.as_str();
        let claims = TokenClaims {
            action: TokenAction::Confirm,
            subject: record.id.0,
            purpose: purpose.to_owned(),
            expires_at,
        };
        let link = confirm_link(
            &self.settings.public_url,
            &token::sign(&self.key, &claims),
            lang,
        );
        let days = ((expires_at - record.received_at).whole_hours() + 23) / 24;
        let operator = self.manifest.operator_name(lang).to_owned();
        let subject = self.messages.format(
            lang,
            "mail-confirm-subject",
            &[("operator", FluentValue::from(operator.as_str()))],
        );
        let body = self.messages.format(
            lang,
            "mail-confirm-body",
            &[
                ("operator", FluentValue::from(operator.as_str())),
                (
                    "website",
                    FluentValue::from(self.manifest.operator.website.as_str()),
                ),
                ("link", FluentValue::from(link)),
                ("days", FluentValue::from(days)),
                (
                    "policy_url",
                    FluentValue::from(record.consent.policy_url.as_str()),
                ),
            ],
        );
        Some(Mail {
            to: vec![record.subject.email.clone()],
            subject,
            body,
            message_id: format!("<{}@kelisim>", item.id),
        })
    }
}

/// `<public_url>/confirm?token=…&lang=…`. The language only picks the page a broken link
/// lands on; it is not trusted for anything else.
pub fn confirm_link(public_url: &str, token: &str, lang: &str) -> String {
    format!(
        "{}{}?token={token}&lang={lang}",
        public_url.trim_end_matches('/'),
        CONFIRM_SUFFIX
    )
}

/// The confirmation route, under the form endpoint.
pub const CONFIRM_SUFFIX: &str = "/confirm";

/// Runs delivery rounds in the background: at once when `kick` is notified (a record was
/// just stored), and every `interval` for retries. Ends when the runtime does.
pub fn spawn_background(
    deliverer: Deliverer,
    kick: Arc<tokio::sync::Notify>,
    interval: std::time::Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = kick.notified() => {}
                () = tokio::time::sleep(interval) => {}
            }
            if let Err(error) = deliverer.run_once(OffsetDateTime::now_utc()).await {
                tracing::warn!(%error, "delivery round failed; the next round retries");
            }
        }
    })
}

/// The mail that asks the owner of the address to confirm `request`.
pub fn request_confirmation_mail(
    request: &crate::requests::SubjectRequest,
    key: &HmacKey,
    manifest: &ConsentManifest,
    messages: &Messages,
    settings: &DeliverySettings,
    item: &OutboxItem,
) -> Mail {
    let lang = request.language.as_str();
    let expires_at = request.received_at.saturating_add(settings.confirm_within);
    let claims = TokenClaims {
        action: TokenAction::Request,
        subject: request.id,
        purpose: request.kind.as_str().to_owned(),
        expires_at,
    };
    let link = format!(
        "{}{}?token={}&lang={lang}",
        settings.public_url.trim_end_matches('/'),
        crate::request_form::REQUEST_CONFIRM_SUFFIX,
        token::sign(key, &claims)
    );
    let kind = messages.format(
        lang,
        &format!("request-kind-{}", request.kind.as_str()),
        &[],
    );
    let days = settings.confirm_within.whole_days().max(1);
    let args = [
        ("operator", FluentValue::from(manifest.operator_name(lang))),
        (
            "website",
            FluentValue::from(manifest.operator.website.as_str()),
        ),
        ("kind", FluentValue::from(kind)),
        ("link", FluentValue::from(link)),
        ("days", FluentValue::from(days)),
    ];
    Mail {
        to: vec![request.email.clone()],
        subject: messages.format(lang, "mail-request-subject", &args),
        body: messages.format(lang, "mail-request-body", &args),
        message_id: format!("<{}@kelisim>", item.id),
    }
}

/// The operator's notice of a confirmed request: its id, kind and due date, no address.
pub fn request_operator_mail(
    request: &crate::requests::SubjectRequest,
    manifest: &ConsentManifest,
    messages: &Messages,
    settings: &DeliverySettings,
    item: &OutboxItem,
) -> Mail {
    let lang = settings.operator_language.as_str();
    let kind = messages.format(
        lang,
        &format!("request-kind-{}", request.kind.as_str()),
        &[],
    );
    let due = request
        .due_at
        .map(|d| d.date().to_string())
        .unwrap_or_default();
    let id = request.id.to_string();
    let args = [
        (
            "website",
            FluentValue::from(manifest.operator.website.as_str()),
        ),
        ("id", FluentValue::from(id.as_str())),
        ("kind", FluentValue::from(kind)),
        ("due", FluentValue::from(due)),
        ("language", FluentValue::from(request.language.as_str())),
    ];
    Mail {
        to: settings.notify_to.clone(),
        subject: messages.format(lang, "mail-request-notify-subject", &args),
        body: messages.format(lang, "mail-request-notify-body", &args),
        message_id: format!("<{}@kelisim>", item.id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_follow_the_documented_scheme() {
        let secret = Secret::new("whsec_test".to_owned());
        let header = webhook_signature(&secret, 1_700_000_000, "{\"a\":1}");
        let (t, v1) = header.split_once(',').expect("two parts");
        assert_eq!(t, "t=1700000000");
        let digest = v1.strip_prefix("v1=").expect("v1");
        let mut mac = Hmac::<Sha256>::new_from_slice(b"whsec_test").expect("key");
        mac.update(b"1700000000.{\"a\":1}");
        assert_eq!(digest, hex::encode(mac.finalize().into_bytes()));
    }

    #[test]
    fn links_join_the_public_url_and_the_route() {
        assert_eq!(
            confirm_link("https://woow.kz/api/contact/", "abc.def", "ru"),
            "https://woow.kz/api/contact/confirm?token=abc.def&lang=ru"
        );
    }
}
