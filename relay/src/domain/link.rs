//! What a mailed link may do, as pure rules: the link's secret, why a link is refused, and
//! confirming the pending grant a double opt-in link names.
//!
//! A link carries `<subject id>.<secret>`: 32 random bytes, of which the store keeps only the
//! SHA-256 (with the grant or the request). Checking a link needs no key, so a link mailed
//! before a rekey still works until it expires, and a leaked database holds no usable link.
//! Links mailed by older versions carry an HMAC-signed token instead ([`token`]); those are
//! still checked with the current key.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::domain::hmac_key::HmacKey;
use crate::domain::record::{ConsentRecord, ConsentStatus};
use crate::domain::secret::constant_time_eq;
use crate::domain::token::{self, TokenAction, TokenClaims, TokenError};

/// Why a link did nothing; the `reason` shown on the error page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkRefusal {
    Invalid,
    Expired,
    Used,
    /// The store did not answer: nothing changed, and the same link works later.
    Unavailable,
}

impl LinkRefusal {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Invalid => "invalid",
            Self::Expired => "expired",
            Self::Used => "used",
            Self::Unavailable => "unavailable",
        }
    }
}

impl From<TokenError> for LinkRefusal {
    fn from(error: TokenError) -> Self {
        match error {
            TokenError::Invalid => Self::Invalid,
            TokenError::Expired => Self::Expired,
        }
    }
}

/// A new link's secret (32 random bytes, URL-safe base64) and the hash the store keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkSecret {
    pub secret: String,
    pub sha256: String,
}

impl LinkSecret {
    /// A fresh secret from the operating system's random source. `None` only if that source
    /// fails, which the caller answers as a store failure (try again).
    pub fn new() -> Option<Self> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).ok()?;
        let secret = URL_SAFE_NO_PAD.encode(bytes);
        Some(Self {
            sha256: secret_sha256(&secret),
            secret,
        })
    }
}

/// The hash kept for a link's secret.
pub fn secret_sha256(secret: &str) -> String {
    kelisim_manifest::sha256_hex(secret.as_bytes())
}

/// The token a link carries for `subject` and its secret.
pub fn link_token(subject: Uuid, secret: &str) -> String {
    format!("{}.{secret}", subject.simple())
}

/// What a link's token says, before the thing it names is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkToken {
    /// `<subject>.<secret>`: the subject, and the secret to compare with the stored hash.
    Secret { subject: Uuid, secret: String },
    /// An older link's signed claims, already checked against the key and the clock.
    Signed(TokenClaims),
}

impl LinkToken {
    /// The record or request the link is about.
    pub fn subject(&self) -> Uuid {
        match self {
            Self::Secret { subject, .. } => *subject,
            Self::Signed(claims) => claims.subject,
        }
    }
}

/// Reads a link's token: a secret link as it is, an older signed one checked with `key` at
/// `now` for `action`. Anything else is [`LinkRefusal::Invalid`].
pub fn read_token(
    key: &HmacKey,
    token: &str,
    action: TokenAction,
    now: OffsetDateTime,
) -> Result<LinkToken, LinkRefusal> {
    if token.len() > 512 {
        return Err(LinkRefusal::Invalid);
    }
    if let Some((subject, secret)) = token.split_once('.')
        && subject.len() == 32
        && secret.len() == 43
        && let Ok(subject) = Uuid::try_parse(subject)
    {
        return Ok(LinkToken::Secret {
            subject,
            secret: secret.to_owned(),
        });
    }
    verify(key, token, action, now).map(LinkToken::Signed)
}

/// Whether `secret` is the one whose hash `stored` is (compared in constant time).
pub fn secret_matches(secret: &str, stored: Option<&str>) -> bool {
    stored
        .is_some_and(|stored| constant_time_eq(secret_sha256(secret).as_bytes(), stored.as_bytes()))
}

/// The claims of `token` if it is signed with `key`, not expired at `now`, and allows
/// `action`; otherwise why the link does nothing.
pub fn verify(
    key: &HmacKey,
    token: &str,
    action: TokenAction,
    now: OffsetDateTime,
) -> Result<TokenClaims, LinkRefusal> {
    match token::verify(key, token, now) {
        Ok(claims) if claims.action == action => Ok(claims),
        Ok(_) => Err(LinkRefusal::Invalid),
        Err(error) => Err(error.into()),
    }
}

/// The purpose of `record` whose pending grant the link's `secret` belongs to.
pub fn grant_of<'r>(record: &'r ConsentRecord, secret: &str) -> Option<&'r str> {
    record
        .consent
        .purposes
        .iter()
        .find(|p| secret_matches(secret, p.confirm_secret_sha256.as_deref()))
        .map(|p| p.purpose.as_str())
}

/// Confirms `purpose` in `record` at `now`, extending its retention to `retention_days` from
/// the confirmation and recomputing the record's own `expires_at`.
pub fn confirm_grant(
    mut record: ConsentRecord,
    purpose: &str,
    retention_days: u32,
    now: OffsetDateTime,
) -> Result<ConsentRecord, LinkRefusal> {
    let consent = record
        .consent
        .purposes
        .iter_mut()
        .find(|p| p.purpose == purpose)
        .ok_or(LinkRefusal::Invalid)?;
    match consent.status(now) {
        ConsentStatus::Pending => {}
        ConsentStatus::Lapsed => return Err(LinkRefusal::Expired),
        ConsentStatus::Active | ConsentStatus::Expired if consent.confirmed_at.is_some() => {
            return Err(LinkRefusal::Used);
        }
        _ => return Err(LinkRefusal::Invalid),
    }
    consent.confirmed_at = Some(now);
    consent.expires_at = Some(now.saturating_add(Duration::days(i64::from(retention_days))));
    record.expires_at = record.retention_end();
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_link_reads_back_and_matches_only_its_own_hash() {
        let key = HmacKey::from_bytes(vec![1; 32]).unwrap_or_else(|_| unreachable!());
        let first = LinkSecret::new().expect("random");
        let second = LinkSecret::new().expect("random");
        assert_ne!(first.secret, second.secret);
        let subject = Uuid::now_v7();
        let token = link_token(subject, &first.secret);
        let read = read_token(
            &key,
            &token,
            TokenAction::Confirm,
            OffsetDateTime::now_utc(),
        );
        let Ok(LinkToken::Secret { subject: s, secret }) = read else {
            panic!("not a secret link: {read:?}");
        };
        assert_eq!(s, subject);
        assert!(secret_matches(&secret, Some(&first.sha256)));
        assert!(!secret_matches(&secret, Some(&second.sha256)));
        assert!(!secret_matches(&secret, None));
        for junk in ["", ".", "x.y", &format!("{}.short", subject.simple())] {
            assert_eq!(
                read_token(&key, junk, TokenAction::Confirm, OffsetDateTime::now_utc()),
                Err(LinkRefusal::Invalid),
                "{junk}"
            );
        }
    }
}
