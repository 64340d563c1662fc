//! The site over HTTP(S): each path fetched from a base URL with ureq (the webhook's small
//! blocking client, run on tokio's blocking pool), with a timeout on every request and a cap
//! on what a response may hold.

use std::time::Duration;

use async_trait::async_trait;

use super::{PublishedSite, SiteError, SitePath};

/// The most one request may take, connecting and reading included: a stalled site makes its
/// texts unreadable, it does not hold the daily run up.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(20);

/// The most one response may hold: a policy page is tens of kilobytes.
const MAX_BODY: u64 = 8 * 1024 * 1024;

/// A site read from `base` (`https://woow.kz`).
#[derive(Debug, Clone)]
pub struct HttpSite {
    base: String,
    agent: ureq::Agent,
}

impl HttpSite {
    /// The site at `base_url`, each request limited to `timeout`.
    pub fn new(base_url: &str, timeout: Duration) -> Result<Self, SiteError> {
        let base = base_url.trim().trim_end_matches('/');
        if !(base.starts_with("https://") || base.starts_with("http://")) {
            return Err(SiteError::NotHttp(base_url.to_owned()));
        }
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .build()
            .new_agent();
        Ok(Self {
            base: base.to_owned(),
            agent,
        })
    }
}

#[async_trait]
impl PublishedSite for HttpSite {
    async fn fetch(&self, path: &SitePath) -> Result<Option<Vec<u8>>, SiteError> {
        let (agent, url) = (
            self.agent.clone(),
            format!("{}{}", self.base, path.as_str()),
        );
        tokio::task::spawn_blocking(move || {
            let response = agent.get(&url).call().map_err(transport)?;
            match response.status().as_u16() {
                200..=299 => response
                    .into_body()
                    .with_config()
                    .limit(MAX_BODY)
                    .read_to_vec()
                    .map(Some)
                    .map_err(transport),
                404 | 410 => Ok(None),
                status => Err(SiteError::Status(status)),
            }
        })
        .await
        .map_err(|_| SiteError::Transport("the fetching task failed"))?
    }

    fn describe(&self) -> String {
        self.base.clone()
    }
}

fn transport(error: ureq::Error) -> SiteError {
    SiteError::Transport(match error {
        ureq::Error::Timeout(_) => "timeout",
        ureq::Error::Io(_) | ureq::Error::ConnectionFailed => "connection failed",
        ureq::Error::HostNotFound => "host not found",
        ureq::Error::BodyExceedsLimit(_) => "response too large",
        ureq::Error::Tls(_) | ureq::Error::Rustls(_) => "TLS",
        ureq::Error::TooManyRedirects | ureq::Error::RedirectFailed => "redirect",
        _ => "request failed",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http_base_urls_are_taken() {
        assert!(HttpSite::new("https://woow.kz/", FETCH_TIMEOUT).is_ok());
        assert!(HttpSite::new("http://127.0.0.1:8787", FETCH_TIMEOUT).is_ok());
        for bad in ["file:///etc", "woow.kz", ""] {
            assert!(matches!(
                HttpSite::new(bad, FETCH_TIMEOUT),
                Err(SiteError::NotHttp(_))
            ));
        }
    }
}
