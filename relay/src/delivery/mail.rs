//! What each message says: the operator's notification, the double opt-in mail, a request's
//! confirmation mail and the operator's notice of a confirmed request, built from a record or
//! request and the Fluent messages in the right language. Only the confirmation mails go to
//! the person's own address, and they hold only the link.

use std::sync::Arc;

use fluent_bundle::FluentValue;
use kelisim_manifest::ConsentManifest;
use time::OffsetDateTime;

use super::send::{Attachment, Mail};
use crate::domain::hmac_key::HmacKey;
use crate::domain::link::link_token;
use crate::domain::messages::Messages;
use crate::domain::outbox::{OutboxItem, OutboxKind};
use crate::domain::receipt::Receipt;
use crate::domain::receipt_key::ReceiptSigner;
use crate::domain::record::{ConsentRecord, ConsentStatus};
use crate::domain::request::SubjectRequest;
use crate::domain::token::{self, TokenAction, TokenClaims};
use crate::web::routes;

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
    /// How long a claimed attempt may run before another deliverer may take the item over
    /// ([`crate::domain::outbox::LEASE`] by default).
    pub lease: time::Duration,
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

/// Writes the mails: the key signs the links, the manifest and messages give the words.
#[derive(Clone)]
pub struct Composer {
    pub key: HmacKey,
    pub manifest: Arc<ConsentManifest>,
    pub messages: Messages,
    pub settings: DeliverySettings,
    /// Signs the receipt attached to a confirmation mail; none configured, none attached.
    pub receipts: Option<Arc<ReceiptSigner>>,
}

impl Composer {
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
                    FluentValue::from(self.language_name(lang, &record.consent.language)),
                ),
                (
                    "purposes",
                    FluentValue::from(
                        granted_purposes(record)
                            .iter()
                            .map(|id| self.messages.name_or(lang, &format!("purpose-{id}"), id))
                            .collect::<Vec<_>>()
                            .join(", "),
                    ),
                ),
            ],
        );
        if self.settings.include_personal_data {
            body.push_str("\n\n");
            body.push_str(&self.messages.format(lang, "mail-notify-personal", &[]));
            body.push('\n');
            body.push_str(&crate::views::inbox::show_text(record));
        }
        Mail {
            to: self.settings.notify_to.clone(),
            subject,
            body,
            message_id: message_id(item),
            attachments: Vec::new(),
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
        let token = match item_secret(item) {
            Some(secret) => link_token(record.id.0, secret),
            // Queued before links carried a secret: an HMAC-signed token, as then.
            None => token::sign(
                &self.key,
                &TokenClaims {
                    action: TokenAction::Confirm,
                    subject: record.id.0,
                    purpose: purpose.to_owned(),
                    expires_at,
                },
            ),
        };
        let link = routes::grant_link(&self.settings.public_url, &token, lang);
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
            message_id: message_id(item),
            attachments: self.receipt_attachment(record).into_iter().collect(),
        })
    }

    /// The record's signed consent receipt as a file, when receipts are configured (a
    /// signing failure is logged and the mail goes without it).
    fn receipt_attachment(&self, record: &ConsentRecord) -> Option<Attachment> {
        let signer = self.receipts.as_ref()?;
        match signer.sign(&Receipt::of(record, &self.manifest)) {
            Ok(token) => Some(Attachment {
                filename: format!("kelisim-receipt-{}.jws", record.id),
                content_type: "application/jose".to_owned(),
                content: token,
            }),
            Err(error) => {
                tracing::error!(%error, id = %record.id, "the mail goes without its receipt");
                None
            }
        }
    }

    /// The mail that asks the owner of the address to confirm `request`.
    pub fn request_confirmation(&self, request: &SubjectRequest, item: &OutboxItem) -> Mail {
        let lang = request.language.as_str();
        let expires_at = request.link_expires_at.unwrap_or_else(|| {
            request
                .received_at
                .saturating_add(self.settings.confirm_within)
        });
        let token = match item_secret(item) {
            Some(secret) => link_token(request.id, secret),
            None => token::sign(
                &self.key,
                &TokenClaims {
                    action: TokenAction::Request,
                    subject: request.id,
                    purpose: request.kind.as_str().to_owned(),
                    expires_at,
                },
            ),
        };
        let link = routes::request_link(&self.settings.public_url, &token, lang);
        let days = ((expires_at - request.received_at).whole_hours() + 23).max(24) / 24;
        let args = [
            (
                "operator",
                FluentValue::from(self.manifest.operator_name(lang)),
            ),
            (
                "website",
                FluentValue::from(self.manifest.operator.website.as_str()),
            ),
            ("kind", FluentValue::from(self.kind_name(lang, request))),
            ("link", FluentValue::from(link)),
            ("days", FluentValue::from(days)),
        ];
        Mail {
            to: vec![request.email.clone()],
            subject: self.messages.format(lang, "mail-request-subject", &args),
            body: self.messages.format(lang, "mail-request-body", &args),
            message_id: message_id(item),
            attachments: Vec::new(),
        }
    }

    /// The operator's notice of a confirmed request: its id, kind and due date, no address.
    pub fn request_notice(&self, request: &SubjectRequest, item: &OutboxItem) -> Mail {
        let lang = self.settings.operator_language.as_str();
        let due = request
            .due_at
            .map(|d| d.date().to_string())
            .unwrap_or_default();
        let id = request.id.to_string();
        let args = [
            (
                "website",
                FluentValue::from(self.manifest.operator.website.as_str()),
            ),
            ("id", FluentValue::from(id.as_str())),
            ("kind", FluentValue::from(self.kind_name(lang, request))),
            ("due", FluentValue::from(due)),
            (
                "language",
                FluentValue::from(self.language_name(lang, &request.language)),
            ),
        ];
        Mail {
            to: self.settings.notify_to.clone(),
            subject: self
                .messages
                .format(lang, "mail-request-notify-subject", &args),
            body: self
                .messages
                .format(lang, "mail-request-notify-body", &args),
            message_id: message_id(item),
            attachments: Vec::new(),
        }
    }

    /// A site language (`tag`) as `lang` writes it (`language-<tag>`), else the tag.
    fn language_name(&self, lang: &str, tag: &str) -> String {
        self.messages.name_or(lang, &format!("language-{tag}"), tag)
    }

    /// The request's kind in words, in `lang`.
    fn kind_name(&self, lang: &str, request: &SubjectRequest) -> String {
        self.messages.format(
            lang,
            &format!("request-kind-{}", request.kind.as_str()),
            &[],
        )
    }
}

/// The link secret a confirmation item carries, if it was queued with one.
fn item_secret(item: &OutboxItem) -> Option<&str> {
    match &item.kind {
        OutboxKind::ConfirmPurpose { secret, .. } | OutboxKind::ConfirmRequest { secret, .. } => {
            secret.as_deref()
        }
        OutboxKind::NotifyOperator { .. } | OutboxKind::NotifyRequest { .. } => None,
    }
}

/// `<outbox-id@kelisim>`: the same on every retry, so a receiving server can drop a second
/// copy after an attempt whose acceptance was lost.
fn message_id(item: &OutboxItem) -> String {
    format!("<{}@kelisim>", item.id)
}
