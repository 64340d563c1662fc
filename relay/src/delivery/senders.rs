//! The real senders behind [`super::deliverer`]: the operator's SMTP server (lettre over rustls,
//! no OpenSSL) and the signed webhook POST (ureq over rustls). Both check their URL at start-up:
//! nothing personal may cross a network in the clear, so plain SMTP or HTTP is accepted only
//! to a loopback address (a local MTA or proxy that forwards it over TLS).

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use lettre::message::header::ContentType;
use lettre::message::{Attachment as MailAttachment, Mailbox, Message, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use time::OffsetDateTime;

use super::deliverer::Deliverer;
use super::mail::DeliverySettings;
use super::send::{Mail, MailTransport, SendError, WebhookTransport, webhook_signature};
use crate::config::{ConfigError, NotifyConfig, RelayConfig};
use crate::domain::messages::{Messages, MessagesError};
use crate::domain::secret::Secret;
use crate::store::Store;
use kelisim_manifest::ConsentManifest;

/// How long one SMTP conversation or webhook POST may take.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(15);

/// Why the notification settings cannot be used. Never contains a password or secret.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TransportError {
    #[error("the SMTP URL is not valid: expected smtps://host:465 or smtp://host:587?tls=required")]
    SmtpUrl,
    #[error(
        "plain smtp:// would send mail unencrypted to `{0}`; use smtps://, smtp://...?tls=required, or a loopback relay"
    )]
    PlainSmtp(String),
    #[error("the sender address `{0}` is not a valid mailbox (`name <addr@host>` or `addr@host`)")]
    From(String),
    #[error("`{0}` is not a valid recipient address")]
    To(String),
    #[error("mail is configured without a sender: set KELISIM_MAIL_FROM or `[notify] mail_from`")]
    NoFrom,
    #[error(
        "the webhook URL must be https:// (http:// only to a loopback address) with a host; got a URL with scheme `{0}`"
    )]
    WebhookUrl(String),
    #[error("a webhook URL is set without a secret: set KELISIM_WEBHOOK_SECRET")]
    NoWebhookSecret,
}

/// Host part of `scheme://[user[:pass]@]host[:port][/...][?...]`, brackets removed.
fn host_of(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        v6.split_once(']')?.0
    } else {
        host_port.split(':').next()?
    };
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

fn is_loopback(host: &str) -> bool {
    host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Checks the SMTP URL against the TLS rule.
pub fn check_smtp_url(url: &str) -> Result<(), TransportError> {
    let scheme = url.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
    let host = host_of(url).ok_or(TransportError::SmtpUrl)?;
    match scheme.as_deref() {
        Some("smtps") => Ok(()),
        Some("smtp") if url.contains("tls=required") => Ok(()),
        Some("smtp") if is_loopback(&host) => Ok(()),
        Some("smtp") => Err(TransportError::PlainSmtp(host)),
        _ => Err(TransportError::SmtpUrl),
    }
}

/// Checks the webhook URL against the TLS rule.
pub fn check_webhook_url(url: &str) -> Result<(), TransportError> {
    let scheme = url
        .split_once("://")
        .map(|(s, _)| s.to_ascii_lowercase())
        .unwrap_or_default();
    let host = host_of(url).ok_or_else(|| TransportError::WebhookUrl(scheme.clone()))?;
    match scheme.as_str() {
        "https" => Ok(()),
        "http" if is_loopback(&host) => Ok(()),
        _ => Err(TransportError::WebhookUrl(scheme)),
    }
}

/// Mail through the operator's SMTP server.
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpMailer").finish_non_exhaustive()
    }
}

impl SmtpMailer {
    /// A mailer for `url` (checked by [`check_smtp_url`]), sending as `from`.
    pub fn new(
        url: &str,
        credentials: Option<(String, Secret<String>)>,
        from: &str,
    ) -> Result<Self, TransportError> {
        check_smtp_url(url)?;
        let from: Mailbox = from
            .parse()
            .map_err(|_| TransportError::From(from.to_owned()))?;
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|_| TransportError::SmtpUrl)?
            .timeout(Some(SEND_TIMEOUT));
        if let Some((user, password)) = credentials {
            builder = builder.credentials(Credentials::new(user, password.expose().clone()));
        }
        Ok(Self {
            transport: builder.build(),
            from,
        })
    }
}

#[async_trait]
impl MailTransport for SmtpMailer {
    async fn send(&self, mail: &Mail) -> Result<(), SendError> {
        let mut builder = Message::builder()
            .from(self.from.clone())
            .subject(mail.subject.clone())
            .message_id(Some(mail.message_id.clone()));
        for to in &mail.to {
            // Addresses were checked when they were accepted; one that still fails is a
            // permanent problem of this item, reported by kind only.
            let mailbox: Mailbox = to
                .parse()
                .map_err(|_| SendError::permanent("a recipient address is not valid"))?;
            builder = builder.to(mailbox);
        }
        let built = if mail.attachments.is_empty() {
            builder
                .header(ContentType::TEXT_PLAIN)
                .body(mail.body.clone())
        } else {
            // The text first, then each file (multipart/mixed).
            let mut parts = MultiPart::mixed().singlepart(SinglePart::plain(mail.body.clone()));
            for file in &mail.attachments {
                let content_type = ContentType::parse(&file.content_type)
                    .map_err(|_| SendError::permanent("an attachment's type is not valid"))?;
                parts = parts.singlepart(
                    MailAttachment::new(file.filename.clone())
                        .body(file.content.clone(), content_type),
                );
            }
            builder.multipart(parts)
        };
        let message = built.map_err(|_| SendError::permanent("the message could not be built"))?;
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            // A 5xx answer is the server's final word on this message (no such mailbox, say).
            Err(error) if error.is_permanent() => {
                Err(SendError::permanent(smtp_error_kind(&error)))
            }
            Err(error) => Err(SendError::retry(smtp_error_kind(&error))),
        }
    }
}

/// An SMTP failure by kind and status code: lettre's messages may quote the server's reply,
/// which can echo a recipient address.
fn smtp_error_kind(error: &lettre::transport::smtp::Error) -> String {
    let code = error.status().map(|c| format!(" {c}")).unwrap_or_default();
    let kind = if error.is_timeout() {
        "timeout"
    } else if error.is_transient() {
        "transient"
    } else if error.is_permanent() {
        "permanent"
    } else if error.is_tls() {
        "tls"
    } else {
        "connection"
    };
    format!("smtp {kind}{code}")
}

/// The signed webhook POST.
pub struct HttpWebhook {
    url: String,
    secret: Secret<String>,
    agent: ureq::Agent,
}

impl std::fmt::Debug for HttpWebhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpWebhook").finish_non_exhaustive()
    }
}

impl HttpWebhook {
    pub fn new(url: &str, secret: Secret<String>) -> Result<Self, TransportError> {
        check_webhook_url(url)?;
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(SEND_TIMEOUT))
            .http_status_as_error(false)
            .build()
            .new_agent();
        Ok(Self {
            url: url.to_owned(),
            secret,
            agent,
        })
    }
}

/// The header that carries the signature.
pub const SIGNATURE_HEADER: &str = "Kelisim-Signature";

#[async_trait]
impl WebhookTransport for HttpWebhook {
    async fn post(&self, body: &str) -> Result<(), SendError> {
        let signature = webhook_signature(
            &self.secret,
            OffsetDateTime::now_utc().unix_timestamp(),
            body,
        );
        let (agent, url, body) = (self.agent.clone(), self.url.clone(), body.to_owned());
        let status = tokio::task::spawn_blocking(move || {
            agent
                .post(&url)
                .header("content-type", "application/json")
                .header(SIGNATURE_HEADER, &signature)
                .send(body.as_bytes())
                .map(|response| response.status().as_u16())
        })
        .await
        .map_err(|_| SendError::retry("webhook task failed"))?
        .map_err(|e| SendError::retry(format!("webhook {}", ureq_error_kind(&e))))?;
        match status {
            200..=299 => Ok(()),
            // The receiver will not take this request however often it comes; 408 and 429
            // only ask for a later try.
            400..=499 if status != 408 && status != 429 => {
                Err(SendError::permanent(format!("webhook HTTP {status}")))
            }
            _ => Err(SendError::retry(format!("webhook HTTP {status}"))),
        }
    }
}

fn ureq_error_kind(error: &ureq::Error) -> &'static str {
    match error {
        ureq::Error::Timeout(_) => "timeout",
        ureq::Error::Io(_) | ureq::Error::ConnectionFailed => "connection",
        ureq::Error::HostNotFound => "host not found",
        _ => "error",
    }
}

/// The transports `config` asks for: a mailer when SMTP and a sender are set, a webhook when
/// its URL is set. Checked here, at start-up, so a bad URL stops the relay with a clear
/// message instead of failing every delivery.
#[allow(clippy::type_complexity)]
pub fn from_config(
    config: &NotifyConfig,
) -> Result<
    (
        Option<Arc<dyn MailTransport>>,
        Option<Arc<dyn WebhookTransport>>,
    ),
    TransportError,
> {
    let mailer: Option<Arc<dyn MailTransport>> = match &config.smtp_url {
        Some(url) => {
            let from = config.mail_from.as_deref().ok_or(TransportError::NoFrom)?;
            for to in &config.notify_to {
                to.parse::<Mailbox>()
                    .map_err(|_| TransportError::To(to.clone()))?;
            }
            let credentials = config.smtp_user.clone().zip(config.smtp_password.clone());
            Some(Arc::new(SmtpMailer::new(url, credentials, from)?))
        }
        None => None,
    };
    let webhook: Option<Arc<dyn WebhookTransport>> = match &config.webhook_url {
        Some(url) => {
            let secret = config
                .webhook_secret
                .clone()
                .ok_or(TransportError::NoWebhookSecret)?;
            Some(Arc::new(HttpWebhook::new(url, secret)?))
        }
        None => None,
    };
    Ok((mailer, webhook))
}

/// Why a deliverer could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum DeliverySetupError {
    #[error("the [notify] settings: {0}")]
    Transport(#[from] TransportError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Messages(#[from] MessagesError),
}

/// What the deliverer needs from the configuration and the manifest: who is notified, in
/// which language, and where confirmation links point (`public_url`, else the manifest's base
/// URL plus the endpoint path).
pub fn delivery_settings(config: &RelayConfig, manifest: &ConsentManifest) -> DeliverySettings {
    let endpoint = config
        .endpoint_path
        .clone()
        .unwrap_or_else(|| manifest.form_endpoint.clone());
    DeliverySettings {
        notify_to: config.notify.notify_to.clone(),
        operator_language: config
            .notify
            .language
            .clone()
            .unwrap_or_else(|| manifest.default_language.clone()),
        include_personal_data: config.notify.include_personal_data,
        public_url: config
            .notify
            .public_url
            .clone()
            .unwrap_or_else(|| format!("{}{endpoint}", manifest.base_url.trim_end_matches('/'))),
        confirm_within: time::Duration::days(i64::from(config.notify.confirm_within_days)),
        lease: time::Duration::seconds(i64::try_from(config.notify.lease_secs).unwrap_or(120)),
    }
}

/// The deliverer `config` describes, on `store`: the one setup shared by `kelisim-relay serve`,
/// `kelisim-relay deliver` and the Lambda's scheduled task.
pub fn deliverer(
    config: &RelayConfig,
    store: Arc<dyn Store>,
    manifest: ConsentManifest,
) -> Result<Deliverer, DeliverySetupError> {
    let messages = Messages::from_manifest(&manifest)?;
    let settings = delivery_settings(config, &manifest);
    let (mailer, webhook) = from_config(&config.notify)?;
    let mut deliverer = Deliverer::new(
        store,
        config.hmac_key()?,
        Arc::new(manifest),
        messages,
        settings,
    )
    .with_receipts(config.receipt_signer()?);
    if let Some(mailer) = mailer {
        deliverer = deliverer.with_mailer(mailer);
    }
    if let Some(webhook) = webhook {
        deliverer = deliverer.with_webhook(webhook);
    }
    Ok(deliverer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_rule_for_smtp() {
        assert_eq!(check_smtp_url("smtps://mail.woow.kz:465"), Ok(()));
        assert_eq!(
            check_smtp_url("smtp://mail.woow.kz:587?tls=required"),
            Ok(())
        );
        assert_eq!(check_smtp_url("smtp://127.0.0.1:2525"), Ok(()));
        assert_eq!(check_smtp_url("smtp://[::1]:25"), Ok(()));
        assert_eq!(check_smtp_url("smtp://localhost:25"), Ok(()));
        assert_eq!(
            check_smtp_url("smtp://mail.woow.kz:25"),
            Err(TransportError::PlainSmtp("mail.woow.kz".to_owned()))
        );
        assert_eq!(
            check_smtp_url("smtp://user:pw@mail.woow.kz:587?tls=opportunistic"),
            Err(TransportError::PlainSmtp("mail.woow.kz".to_owned()))
        );
        assert_eq!(check_smtp_url("mail.woow.kz"), Err(TransportError::SmtpUrl));
        assert_eq!(check_smtp_url("http://x"), Err(TransportError::SmtpUrl));
    }

    #[test]
    fn tls_rule_for_webhooks() {
        assert_eq!(check_webhook_url("https://hooks.example.kz/k"), Ok(()));
        assert_eq!(check_webhook_url("http://127.0.0.1:9/hook"), Ok(()));
        assert!(check_webhook_url("http://hooks.example.kz/k").is_err());
        assert!(check_webhook_url("ftp://x/").is_err());
    }

    #[test]
    fn errors_never_show_the_password() {
        let mut config = NotifyConfig {
            smtp_url: Some("smtp://mail.woow.kz:25".to_owned()),
            mail_from: Some("relay@woow.kz".to_owned()),
            smtp_user: Some("relay".to_owned()),
            smtp_password: Some(Secret::new("hunter2-secret".to_owned())),
            ..NotifyConfig::default()
        };
        let error = from_config(&config).err().expect("plain smtp refused");
        assert!(!error.to_string().contains("hunter2"), "{error}");
        config.smtp_url = Some("smtps://mail.woow.kz:465".to_owned());
        config.notify_to = vec!["not an address".to_owned()];
        assert!(matches!(from_config(&config), Err(TransportError::To(_))));
    }
}
