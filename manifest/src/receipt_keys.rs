//! The receipt keys a site publishes at [`crate::RECEIPT_KEYS_PATH`]: a JWK Set (RFC 7517) of
//! the public Ed25519 keys (RFC 8037) its relay signs consent receipts with, rotated-out keys
//! included, so a receipt signed years ago can still be checked. One definition for the
//! generator, which validates and publishes the file, and the relay, which appends a new
//! public key to it (`kelisim-relay receipt-key new`).
//!
//! A private key must never be published: a key with a `d` member (or any other private
//! member) is refused, whatever else it holds.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The members that only a private key has (RFC 7518 §6, RFC 8037 §2): a file holding one is
/// refused.
pub const PRIVATE_MEMBERS: [&str; 7] = ["d", "p", "q", "dp", "dq", "qi", "k"];

/// The file: `{"keys": [...]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptKeySet {
    pub keys: Vec<ReceiptKey>,
}

/// One public key, as `{"kty":"OKP","crv":"Ed25519","x":"<base64url>","kid":"<id>",
/// "use":"sig","alg":"EdDSA"}`. Other members are kept as they are (RFC 7517 §4: a reader
/// ignores what it does not understand), so [`ReceiptKey::problems`] can refuse private ones.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptKey {
    pub kty: String,
    pub crv: String,
    /// The public key: 32 bytes, base64url without padding (43 characters).
    pub x: String,
    /// The key's id, which a receipt's JWS header names.
    pub kid: String,
    #[serde(rename = "use", default, skip_serializing_if = "Option::is_none")]
    pub key_use: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}

/// What is wrong with a key: the member to look at and a sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptKeyProblem {
    /// The member the problem is in (`d`, `x`, `kid`, ...).
    pub member: String,
    pub message: String,
}

impl ReceiptKey {
    /// Everything that keeps this key from being published as a receipt key; empty when it
    /// can be.
    pub fn problems(&self) -> Vec<ReceiptKeyProblem> {
        let mut problems = Vec::new();
        let mut problem = |member: &str, message: String| {
            problems.push(ReceiptKeyProblem {
                member: member.to_owned(),
                message,
            });
        };
        for private in PRIVATE_MEMBERS {
            if self.other.contains_key(private) {
                problem(
                    private,
                    format!(
                        "this is a PRIVATE key (it has a `{private}` member): it must never be published. Remove this key from the file now, keep the private key only on the relay's side, and publish its public part (the same key without `{private}`)"
                    ),
                );
            }
        }
        if self.kty != "OKP" {
            problem(
                "kty",
                format!("`kty` is `{}`; a receipt key is `OKP`", self.kty),
            );
        }
        if self.crv != "Ed25519" {
            problem(
                "crv",
                format!("`crv` is `{}`; a receipt key is `Ed25519`", self.crv),
            );
        }
        if !is_base64url_of_32_bytes(&self.x) {
            problem(
                "x",
                "`x` must be the 32-byte public key in base64url without padding (43 characters)"
                    .to_owned(),
            );
        }
        if self.kid.trim().is_empty() {
            problem("kid", "`kid` must name the key".to_owned());
        }
        if self.key_use.as_deref().is_some_and(|u| u != "sig") {
            problem("use", "`use` must be `sig` (or left out)".to_owned());
        }
        if self.alg.as_deref().is_some_and(|a| a != "EdDSA") {
            problem("alg", "`alg` must be `EdDSA` (or left out)".to_owned());
        }
        problems
    }
}

/// 43 base64url characters whose last one leaves the unused low bits zero: exactly 32 bytes.
fn is_base64url_of_32_bytes(text: &str) -> bool {
    const ALPHABET: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    text.len() == 43
        && text.chars().all(|c| ALPHABET.contains(c))
        // 43 characters carry 258 bits: the last character's two low bits are padding.
        && text
            .chars()
            .last()
            .and_then(|c| ALPHABET.find(c))
            .is_some_and(|v| v & 0b11 == 0)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const PUBLIC: &str = r#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","kid":"2026-01","use":"sig","alg":"EdDSA"}"#;

    #[test]
    fn a_public_ed25519_key_passes() {
        let key: ReceiptKey = serde_json::from_str(PUBLIC).unwrap();
        assert_eq!(key.problems(), []);
        // Written back as it was read.
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&serde_json::to_string(&key).unwrap())
                .unwrap(),
            serde_json::from_str::<serde_json::Value>(PUBLIC).unwrap()
        );
    }

    #[test]
    fn a_private_key_and_other_shapes_are_refused() {
        let private = PUBLIC.replace(
            "\"kid\"",
            "\"d\":\"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A\",\"kid\"",
        );
        let key: ReceiptKey = serde_json::from_str(&private).unwrap();
        let problems = key.problems();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].member, "d");
        assert!(problems[0].message.contains("PRIVATE"), "{problems:?}");

        let wrong = PUBLIC
            .replace("OKP", "EC")
            .replace("11qYAYKx", "11qYAYK")
            .replace("EdDSA", "ES256");
        let key: ReceiptKey = serde_json::from_str(&wrong).unwrap();
        let members: Vec<String> = key.problems().into_iter().map(|p| p.member).collect();
        assert_eq!(members, ["kty", "x", "alg"]);
    }
}
