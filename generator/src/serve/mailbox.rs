//! The preview's mailbox: `kelisim serve` never sends mail. Its relay queues notifications and
//! double opt-in links like the real one, and delivers them into a [`CaptureMailer`] shown at
//! `/__kelisim/mail`, so an editor sees each mail exactly as a visitor (or the operator) would
//! get it, and can click the confirmation link, which the preview's relay answers. Attached
//! files (the consent receipt of a confirmation mail) are download links holding the file
//! itself (`data:` URLs), as a mail program would offer them.

use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use kelisim_manifest::ConsentManifest;
use kelisim_relay::delivery::{Attachment, CaptureMailer, Deliverer, DeliverySettings, Mail};
use kelisim_relay::domain::hmac_key::HmacKey;
use kelisim_relay::domain::messages::Messages;
use kelisim_relay::domain::receipt_key::ReceiptSigner;
use kelisim_relay::store::Store;
use time::OffsetDateTime;

use crate::load::i18n::escape_html;

/// Where the captured mail is shown.
pub const MAIL_PATH: &str = "/__kelisim/mail";

/// The captured mail and the deliverer of the current build.
pub struct Mailbox {
    pub captured: Arc<CaptureMailer>,
    pub kick: Arc<tokio::sync::Notify>,
    deliverer: RwLock<Option<Deliverer>>,
}

impl Mailbox {
    pub fn new() -> Self {
        Self {
            captured: Arc::new(CaptureMailer::default()),
            kick: Arc::new(tokio::sync::Notify::new()),
            deliverer: RwLock::new(None),
        }
    }

    /// Points delivery at a new build's manifest: links go to the preview's own endpoint,
    /// notifications to the operator address the site names.
    pub fn use_build(
        &self,
        store: Arc<dyn Store>,
        key: HmacKey,
        manifest: &ConsentManifest,
        endpoint: &str,
        messages: Messages,
        receipts: ReceiptSigner,
    ) {
        let settings = DeliverySettings {
            notify_to: vec![manifest.operator.email.clone()],
            operator_language: manifest.default_language.clone(),
            include_personal_data: false,
            public_url: format!("{}{endpoint}", manifest.base_url.trim_end_matches('/')),
            confirm_within: time::Duration::days(7),
            lease: kelisim_relay::domain::outbox::LEASE,
        };
        let deliverer = Deliverer::new(store, key, Arc::new(manifest.clone()), messages, settings)
            .with_mailer(Arc::clone(&self.captured) as _)
            .with_receipts(Some(receipts));
        *self
            .deliverer
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Some(deliverer);
    }

    /// Delivers right after each submission, and every two seconds for retries.
    pub fn spawn(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let mailbox = Arc::clone(self);
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = mailbox.kick.notified() => {}
                    () = tokio::time::sleep(Duration::from_secs(2)) => {}
                }
                let deliverer = mailbox
                    .deliverer
                    .read()
                    .unwrap_or_else(PoisonError::into_inner)
                    .clone();
                if let Some(deliverer) = deliverer
                    && let Err(error) = deliverer.run_once(OffsetDateTime::now_utc()).await
                {
                    eprintln!("warning: the preview could not deliver mail: {error}");
                }
            }
        })
    }
}

/// `/__kelisim/mail`: the captured mail, newest first.
pub async fn page(State(mailbox): State<Arc<Mailbox>>) -> Response {
    let mails = mailbox.captured.mails();
    let mut html = String::from(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"robots\" content=\"noindex\"><title>kelisim preview: mail</title>\
         <style>body{font:16px/1.5 system-ui,sans-serif;max-width:48rem;margin:1rem auto;padding:0 1rem}\
         article{border:1px solid #999;border-radius:.5rem;padding:0 1rem;margin:1rem 0}\
         pre{white-space:pre-wrap;overflow-wrap:anywhere}</style></head><body><main>\
         <h1>Mail the preview would have sent</h1>\
         <p>Nothing leaves this computer. Newest first; reload to see new mail. Consent \
         receipts attached here are signed with this run's throwaway preview key and say \
         <code>\"preview\": true</code>: they prove nothing outside this preview.</p>\n",
    );
    if mails.is_empty() {
        html.push_str(
            "<p>No mail yet. Send the contact form with the newsletter box ticked.</p>\n",
        );
    }
    for (at, mail) in &mails {
        html.push_str(&article(*at, mail));
    }
    html.push_str("</main></body></html>\n");
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        html,
    )
        .into_response()
}

fn article(at: OffsetDateTime, mail: &Mail) -> String {
    format!(
        "<article class=\"mail\"><h2>{subject}</h2><p>To: {to}<br>Captured: {at}</p>\
         <pre>{body}</pre>{attachments}</article>\n",
        subject = escape_html(&mail.subject),
        to = escape_html(&mail.to.join(", ")),
        at = escape_html(&at.to_string()),
        body = linkify(&mail.body),
        attachments = attachments(&mail.attachments),
    )
}

/// The mail's files, each a link that downloads it under its own name.
fn attachments(files: &[Attachment]) -> String {
    if files.is_empty() {
        return String::new();
    }
    let mut html = String::from("<h3>Attached</h3><ul class=\"attachments\">");
    for file in files {
        html.push_str(&format!(
            "<li><a href=\"{href}\" download=\"{name}\" type=\"{kind}\">{name}</a> \
             ({kind}, {size} bytes)</li>",
            href = escape_html(&data_url(&file.content_type, &file.content)),
            name = escape_html(&file.filename),
            kind = escape_html(&file.content_type),
            size = file.content.len(),
        ));
    }
    html.push_str("</ul>");
    html
}

/// `content` as a `data:` URL of type `content_type` (RFC 2397, the type without spaces),
/// every byte outside the URL-safe unreserved set percent-encoded, so any content makes a
/// well-formed link (a receipt, being base64url and dots, stays as it is).
fn data_url(content_type: &str, content: &str) -> String {
    fn encode(text: &str, keep: &[u8]) -> String {
        let mut out = String::with_capacity(text.len());
        for byte in text.bytes() {
            if byte.is_ascii_alphanumeric() || keep.contains(&byte) {
                out.push(char::from(byte));
            } else {
                out.push_str(&format!("%{byte:02X}"));
            }
        }
        out
    }
    format!(
        "data:{},{}",
        encode(
            &content_type.split_whitespace().collect::<String>(),
            b"/+-.;="
        ),
        encode(content, b"-._~")
    )
}

/// Escapes the body and turns each `http(s)://` word into a link, so the confirmation link
/// can be clicked.
fn linkify(body: &str) -> String {
    let mut out = String::with_capacity(body.len());
    for (i, line) in body.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let mut first = true;
        for word in line.split(' ') {
            if !first {
                out.push(' ');
            }
            first = false;
            let escaped = escape_html(word);
            if word.starts_with("http://") || word.starts_with("https://") {
                out.push_str(&format!("<a href=\"{escaped}\">{escaped}</a>"));
            } else {
                out.push_str(&escaped);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_attachment_is_a_download_link_holding_the_file() {
        let html = attachments(&[Attachment {
            filename: "kelisim-receipt-0193.jws".to_owned(),
            content_type: "application/jose".to_owned(),
            content: "eyJhbGciOiJFZERTQSJ9.eyJ4IjoxfQ.c2ln".to_owned(),
        }]);
        assert!(
            html.contains(
                "<a href=\"data:application/jose,eyJhbGciOiJFZERTQSJ9.eyJ4IjoxfQ.c2ln\" \
                 download=\"kelisim-receipt-0193.jws\""
            ),
            "{html}"
        );
        assert_eq!(attachments(&[]), "", "no list for a mail without files");
        // Anything else is encoded: the link stays one attribute, the text one link.
        assert_eq!(
            data_url("text/plain; charset=utf-8", "a \"b\"<c>&ä"),
            "data:text/plain;charset=utf-8,a%20%22b%22%3Cc%3E%26%C3%A4"
        );
    }

    #[test]
    fn links_are_clickable_and_text_is_escaped() {
        let html =
            linkify("Open <this>:\n    http://127.0.0.1:1/api/contact/confirm?token=a.b&lang=kk");
        assert!(html.contains("Open &lt;this&gt;:"), "{html}");
        assert!(
            html.contains(
                "<a href=\"http://127.0.0.1:1/api/contact/confirm?token=a.b&amp;lang=kk\">"
            ),
            "{html}"
        );
    }
}
