//! The doctor's check of the SMTP server: it answers, takes the configured login, and is
//! named without the credentials in what is printed.

use std::time::Duration;

use super::{Finding, Status};
use crate::config::{NotifyConfig, RelayConfig};

/// The transport `url` names, with the configured login and a 10-second timeout; `None` if
/// lettre cannot read the URL.
fn smtp_transport(
    url: &str,
    notify: &NotifyConfig,
) -> Option<lettre::AsyncSmtpTransport<lettre::Tokio1Executor>> {
    let builder = lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::from_url(url)
        .ok()?
        .timeout(Some(Duration::from_secs(10)));
    let builder = match (&notify.smtp_user, &notify.smtp_password) {
        (Some(user), Some(password)) => {
            builder.credentials(lettre::transport::smtp::authentication::Credentials::new(
                user.clone(),
                password.expose().clone(),
            ))
        }
        _ => builder,
    };
    Some(builder.build())
}

/// The SMTP server answers (connect, greeting, TLS, login when configured). Notifications
/// and the double opt-in mail depend on it.
pub(super) async fn check_smtp(config: &RelayConfig, findings: &mut Vec<Finding>) {
    let notify = &config.notify;
    let Some(url) = &notify.smtp_url else {
        let status = if notify.notify_to.is_empty() {
            Status::Ok
        } else {
            Status::Fail
        };
        let message = if notify.notify_to.is_empty() {
            "no SMTP server is configured: no mail is sent (set [notify] smtp_url to be told \
             about new messages)"
        } else {
            "notify_to is set but no SMTP server is: set [notify] smtp_url (KELISIM_SMTP_URL)"
        };
        findings.push(Finding::new(status, "smtp", message));
        return;
    };
    let host = smtp_host(url);
    if let Err(error) = crate::delivery::senders::check_smtp_url(url) {
        findings.push(Finding::new(Status::Fail, "smtp", error.to_string()));
        return;
    }
    let Some(transport) = smtp_transport(url, notify) else {
        findings.push(Finding::new(
            Status::Fail,
            "smtp",
            "the SMTP URL is not in lettre's form (smtps://host:465 or smtp://host:587?tls=required)",
        ));
        return;
    };
    match transport.test_connection().await {
        Ok(true) => findings.push(Finding::new(
            Status::Ok,
            "smtp",
            format!("the SMTP server {host} answers"),
        )),
        Ok(false) => findings.push(Finding::new(
            Status::Fail,
            "smtp",
            format!("the SMTP server {host} did not complete the connection test"),
        )),
        Err(error) => findings.push(Finding::new(
            Status::Fail,
            "smtp",
            format!(
                "the SMTP server {host} cannot be reached: {}",
                smtp_reason(&error)
            ),
        )),
    }
}

/// The error's kind and status code; lettre's text may quote the server.
fn smtp_reason(error: &lettre::transport::smtp::Error) -> String {
    if let Some(code) = error.status() {
        format!("it answered {code}")
    } else if error.is_timeout() {
        "no answer within 10 s".to_owned()
    } else if error.is_tls() {
        "the TLS handshake failed".to_owned()
    } else {
        "the connection failed (nothing listens there, or a firewall is in the way)".to_owned()
    }
}

/// `host:port` of an SMTP URL, without any user or password in it.
fn smtp_host(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?']).next().unwrap_or(rest);
    authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host)
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_smtp_host_is_shown_without_credentials() {
        assert_eq!(
            smtp_host("smtps://relay%40woow.kz:secret@mail.woow.kz:465"),
            "mail.woow.kz:465"
        );
        assert_eq!(
            smtp_host("smtp://127.0.0.1:2525?tls=opportunistic"),
            "127.0.0.1:2525"
        );
    }
}
