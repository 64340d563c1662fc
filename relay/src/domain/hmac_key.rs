//! Keyed hashes: the email lookup key for data-subject requests and the content fingerprint
//! that catches a double click.
//!
//! Both are HMAC-SHA256 under the operator's secret key, never a bare hash: an unkeyed hash
//! of an email address is reversed by hashing a list of addresses, a keyed one is not.
//! Each use has its own domain-separation label, and parts are length-prefixed so
//! `("ab", "c")` and `("a", "bc")` cannot collide.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::domain::fields::Email;
use crate::domain::secret::Secret;
use crate::domain::submission::Submission;

/// The operator's HMAC key (at least [`HmacKey::MIN_LEN`] bytes). Debug prints `[redacted]`.
#[derive(Debug, Clone)]
pub struct HmacKey(Secret<Vec<u8>>);

/// Why a key was refused. Never contains the key.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    #[error("the HMAC key is {0} bytes; at least {min} are needed", min = HmacKey::MIN_LEN)]
    TooShort(usize),
    #[error("the HMAC key is neither hex nor base64")]
    NotHexOrBase64,
}

impl HmacKey {
    /// 256 bits, the output size of SHA-256: shorter keys weaken the HMAC.
    pub const MIN_LEN: usize = 32;

    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, KeyError> {
        if bytes.len() < Self::MIN_LEN {
            return Err(KeyError::TooShort(bytes.len()));
        }
        Ok(Self(Secret::new(bytes)))
    }

    /// Reads a key written as hex (e.g. `openssl rand -hex 32`) or base64 (standard or
    /// URL-safe, padded or not; e.g. `openssl rand -base64 32`). Hex is tried first, since
    /// a hex string is also valid base64 but means something else.
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        let text = text.trim();
        let bytes = hex::decode(text)
            .ok()
            .or_else(|| base64::engine::general_purpose::STANDARD.decode(text).ok())
            .or_else(|| base64::engine::general_purpose::URL_SAFE.decode(text).ok())
            .or_else(|| {
                base64::engine::general_purpose::STANDARD_NO_PAD
                    .decode(text)
                    .ok()
            })
            .or_else(|| {
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(text)
                    .ok()
            })
            .ok_or(KeyError::NotHexOrBase64)?;
        Self::from_bytes(bytes)
    }

    fn mac(&self, label: &str, parts: &[&str]) -> String {
        // `new_from_slice` only fails for fixed-size-key MACs; HMAC takes any length.
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(self.0.expose()) else {
            return String::new();
        };
        mac.update(label.as_bytes());
        for part in parts {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part.as_bytes());
        }
        hex::encode(mac.finalize().into_bytes())
    }

    /// The lookup key stored with every record: HMAC of the lowercased, NFC email.
    pub fn email_hmac(&self, email: &Email) -> String {
        self.mac("kelisim/email/v1", &[&email.lookup_form()])
    }

    /// The lookup key for `records find --phone`: HMAC of the phone in E.164.
    pub fn phone_hmac(&self, e164: &str) -> String {
        self.mac("kelisim/phone/v1", &[e164])
    }

    /// The key-check value stored with the data (see [`crate::domain::key_check`]): an HMAC of a
    /// fixed label, so it tells keys apart without revealing them.
    pub fn key_check(&self) -> String {
        self.mac("kelisim/key-check/v1", &[])
    }

    /// The rate limiter's key for one client address: the address itself is never kept, and
    /// without the operator's key the hash cannot be matched against a list of addresses.
    pub fn client_hmac(&self, client: &str) -> String {
        self.mac("kelisim/client/v1", &[client])
    }

    /// The signature of an action token's payload (see [`crate::domain::token`]), as hex.
    pub fn token_signature(&self, payload: &str) -> String {
        self.mac("kelisim/token/v1", &[payload])
    }

    /// A fingerprint of everything the person submitted (not the idempotency key, which a
    /// second tab would change). Two identical posts inside the window are one submission.
    pub fn content_fingerprint(&self, submission: &Submission) -> String {
        let consents: Vec<&str> = submission.consents.iter().map(String::as_str).collect();
        self.fingerprint_of(&[
            &submission.lang,
            submission.surname.as_str(),
            submission.first_name.as_str(),
            submission.patronymic.as_ref().map_or("", |p| p.as_str()),
            &submission.email.lookup_form(),
            submission.phone.as_str(),
            submission.message.as_str(),
            &consents.join(","),
            &submission.policy_version,
        ])
    }

    fn fingerprint_of(&self, parts: &[&str; 9]) -> String {
        self.mac("kelisim/fingerprint/v1", parts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX_KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    #[test]
    fn parses_hex_and_base64_and_refuses_short_keys() {
        assert!(HmacKey::parse(HEX_KEY).is_ok());
        assert!(HmacKey::parse("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=").is_ok());
        assert_eq!(
            HmacKey::parse("00010203").map(|_| ()),
            Err(KeyError::TooShort(4))
        );
        assert_eq!(
            HmacKey::parse("not a key!").map(|_| ()),
            Err(KeyError::NotHexOrBase64)
        );
    }

    #[test]
    fn email_hmac_ignores_case_and_depends_on_the_key() -> Result<(), Box<dyn std::error::Error>> {
        let key = HmacKey::parse(HEX_KEY)?;
        let other = HmacKey::from_bytes(vec![7; 32])?;
        let lower = Email::parse("aigerim@mail.kz").map_err(|e| e.to_string())?;
        let upper = Email::parse("Aigerim@Mail.KZ").map_err(|e| e.to_string())?;
        assert_eq!(key.email_hmac(&lower), key.email_hmac(&upper));
        assert_ne!(key.email_hmac(&lower), other.email_hmac(&lower));
        assert_eq!(key.email_hmac(&lower).len(), 64);
        assert!(!format!("{key:?}").contains("0001"));
        Ok(())
    }
}
