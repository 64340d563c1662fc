//! Signed, expiring action tokens: the link in a double opt-in mail (and, later, in a
//! data-subject request's confirmation mail).
//!
//! A token names what it allows (`confirm`), on which record, for which purpose, and until
//! when, and carries an HMAC of exactly that under the relay's key. Nothing in it is personal
//! data, and nothing has to be stored to check it. Single use comes from the state change it
//! causes: a grant that is already confirmed cannot be confirmed again, so a replayed link is
//! told so and changes nothing.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use time::OffsetDateTime;

use uuid::Uuid;

use crate::domain::hmac_key::HmacKey;
use crate::domain::secret::constant_time_eq;

/// What a token allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenAction {
    /// Confirm a pending consent grant: `subject` is the record, `purpose` the purpose.
    Confirm,
    /// Confirm a data-subject request: `subject` is the request, `purpose` its kind.
    Request,
}

impl TokenAction {
    fn as_str(self) -> &'static str {
        match self {
            Self::Confirm => "confirm",
            Self::Request => "request",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        match text {
            "confirm" => Some(Self::Confirm),
            "request" => Some(Self::Request),
            _ => None,
        }
    }
}

/// The signed content of a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenClaims {
    pub action: TokenAction,
    /// The record (for [`TokenAction::Confirm`]) or request (for [`TokenAction::Request`]).
    pub subject: Uuid,
    pub purpose: String,
    pub expires_at: OffsetDateTime,
}

/// Why a token was refused. Deliberately coarse: a visitor is told "invalid" or "expired".
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the link is malformed or its signature does not match")]
    Invalid,
    #[error("the link has expired")]
    Expired,
}

const VERSION: &str = "v1";

fn payload(claims: &TokenClaims) -> String {
    format!(
        "{VERSION}|{}|{}|{}|{}",
        claims.action.as_str(),
        claims.subject,
        claims.purpose,
        claims.expires_at.unix_timestamp()
    )
}

/// The token for `claims`: URL-safe base64 of the payload, a dot, the hex signature.
pub fn sign(key: &HmacKey, claims: &TokenClaims) -> String {
    let payload = payload(claims);
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(payload.as_bytes()),
        key.token_signature(&payload)
    )
}

/// Checks the signature (in constant time) and the expiry, then returns the claims.
pub fn verify(key: &HmacKey, token: &str, now: OffsetDateTime) -> Result<TokenClaims, TokenError> {
    // Bounded before any work: a token is about 150 characters.
    if token.len() > 512 {
        return Err(TokenError::Invalid);
    }
    let (encoded, signature) = token.split_once('.').ok_or(TokenError::Invalid)?;
    let bytes = URL_SAFE_NO_PAD
        .decode(encoded)
        .map_err(|_| TokenError::Invalid)?;
    let payload = String::from_utf8(bytes).map_err(|_| TokenError::Invalid)?;
    let expected = key.token_signature(&payload);
    if !constant_time_eq(expected.as_bytes(), signature.as_bytes()) {
        return Err(TokenError::Invalid);
    }
    let parts: Vec<&str> = payload.split('|').collect();
    let [version, action, record_id, purpose, expires] = parts[..] else {
        return Err(TokenError::Invalid);
    };
    if version != VERSION {
        return Err(TokenError::Invalid);
    }
    let claims = TokenClaims {
        action: TokenAction::parse(action).ok_or(TokenError::Invalid)?,
        subject: record_id.parse().map_err(|_| TokenError::Invalid)?,
        purpose: purpose.to_owned(),
        expires_at: expires
            .parse::<i64>()
            .ok()
            .and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok())
            .ok_or(TokenError::Invalid)?,
    };
    if now >= claims.expires_at {
        return Err(TokenError::Expired);
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;

    fn key(byte: u8) -> HmacKey {
        HmacKey::from_bytes(vec![byte; 32]).expect("key")
    }

    fn claims(now: OffsetDateTime) -> TokenClaims {
        TokenClaims {
            action: TokenAction::Confirm,
            subject: Uuid::now_v7(),
            purpose: "newsletter".to_owned(),
            expires_at: now + Duration::days(7),
        }
    }

    #[test]
    fn a_signed_token_verifies_until_it_expires() {
        let now = OffsetDateTime::now_utc().replace_nanosecond(0).expect("ns");
        let claims = claims(now);
        let token = sign(&key(1), &claims);
        assert!(token.len() < 200, "{token}");
        assert_eq!(verify(&key(1), &token, now), Ok(claims.clone()));
        assert_eq!(
            verify(&key(1), &token, claims.expires_at),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn forged_or_foreign_tokens_are_invalid() {
        let now = OffsetDateTime::now_utc();
        let token = sign(&key(1), &claims(now));
        assert_eq!(verify(&key(2), &token, now), Err(TokenError::Invalid));
        let (payload, signature) = token.split_once('.').expect("dot");
        let mut tampered = payload.to_owned();
        tampered.insert(3, 'A');
        assert_eq!(
            verify(&key(1), &format!("{tampered}.{signature}"), now),
            Err(TokenError::Invalid)
        );
        for junk in ["", ".", "abc", "a.b", &"x".repeat(2000)] {
            assert_eq!(
                verify(&key(1), junk, now),
                Err(TokenError::Invalid),
                "{junk}"
            );
        }
    }
}
