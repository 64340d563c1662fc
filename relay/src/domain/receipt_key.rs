//! Receipt keys: a receipt is a compact JWS (RFC 7515) signed with Ed25519 (`EdDSA`, RFC 8037)
//! under a key of its own, kept apart from the HMAC key (which only makes lookup hashes and
//! never leaves the operator). The public half is published with the site as a JWK Set at
//! `/.well-known/kelisim-receipt-keys.json` ([`kelisim_manifest::receipt_keys`]), each key with
//! a `kid` the receipt's header names, so keys can rotate and old receipts stay checkable.
//!
//! The private key is a JWK too (`{"kty":"OKP","crv":"Ed25519","kid":…,"x":…,"d":…}`): one
//! line of JSON that fits a file, an environment variable or a CloudFormation parameter.

use std::collections::{BTreeMap, HashSet};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use kelisim_manifest::receipt_keys::{ReceiptKey, ReceiptKeySet};
use ring::rand::SecureRandom as _;
use ring::signature::KeyPair as _;
use serde::{Deserialize, Serialize};

use crate::domain::receipt::{Receipt, SCHEMA_VERSION};

/// The JWS header's `typ`: says what the payload is, for tools that look.
pub const RECEIPT_TYPE: &str = "kelisim-receipt+jwt";

/// The `kid` prefix of the throwaway keys `kelisim serve` signs with.
pub const PREVIEW_KID_PREFIX: &str = "preview-";

/// PKCS#8 v1 (RFC 8410) for an Ed25519 seed: this fixed prefix, then the 32-byte seed. The
/// form the signer wants its key in.
const PKCS8_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// A receipt key that cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReceiptKeyError {
    #[error(
        "the receipt key is not a private Ed25519 JWK ({0}); make one with `kelisim-relay receipt-key new`"
    )]
    Unreadable(String),
    #[error("the operating system gave no random bytes for a new receipt key")]
    NoRandomness,
    #[error("the receipt could not be signed: {0}")]
    Signing(String),
}

/// Why a receipt does not check out.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReceiptRefusal {
    #[error("not a compact JWS receipt: {0}")]
    Malformed(String),
    #[error("signed with key `{0}`, which the published keys do not hold")]
    UnknownKey(String),
    #[error("the signature does not match the receipt: it was changed, or signed by someone else")]
    BadSignature,
    #[error("a receipt of version `{0}`, which this verifier does not know")]
    UnknownVersion(String),
}

/// The private key as a JWK.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct PrivateJwk {
    kty: String,
    crv: String,
    kid: String,
    x: String,
    d: String,
}

/// Signs receipts with one private key.
#[derive(Clone)]
pub struct ReceiptSigner {
    kid: String,
    seed: [u8; 32],
    public: [u8; 32],
    preview: bool,
}

impl std::fmt::Debug for ReceiptSigner {
    /// The key id only: the seed is a secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReceiptSigner")
            .field("kid", &self.kid)
            .field("preview", &self.preview)
            .finish_non_exhaustive()
    }
}

impl ReceiptSigner {
    /// The key in a private JWK's text. The public half it states must be the seed's.
    pub fn from_jwk(text: &str) -> Result<Self, ReceiptKeyError> {
        let unreadable = |why: &str| ReceiptKeyError::Unreadable(why.to_owned());
        let jwk: PrivateJwk = serde_json::from_str(text.trim())
            .map_err(|_| unreadable("not the JSON of a JWK with kty, crv, kid, x and d"))?;
        if jwk.kty != "OKP" || jwk.crv != "Ed25519" {
            return Err(unreadable("kty must be OKP and crv Ed25519"));
        }
        if jwk.kid.trim().is_empty() {
            return Err(unreadable("kid is empty"));
        }
        let seed: [u8; 32] = URL_SAFE_NO_PAD
            .decode(jwk.d.as_bytes())
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or_else(|| unreadable("d is not 32 bytes of base64url"))?;
        let signer = Self::from_seed(jwk.kid, seed, false)?;
        if URL_SAFE_NO_PAD.encode(signer.public) != jwk.x {
            return Err(unreadable("x is not the public key of d"));
        }
        Ok(signer)
    }

    /// A new key named `kid`, from the operating system's randomness.
    pub fn generate(kid: &str) -> Result<Self, ReceiptKeyError> {
        let mut seed = [0u8; 32];
        ring::rand::SystemRandom::new()
            .fill(&mut seed)
            .map_err(|_| ReceiptKeyError::NoRandomness)?;
        Self::from_seed(kid.to_owned(), seed, false)
    }

    /// A throwaway key for the preview (`kelisim serve`): its receipts say `preview: true`
    /// and its `kid` starts with [`PREVIEW_KID_PREFIX`].
    pub fn preview() -> Result<Self, ReceiptKeyError> {
        let mut tag = [0u8; 6];
        ring::rand::SystemRandom::new()
            .fill(&mut tag)
            .map_err(|_| ReceiptKeyError::NoRandomness)?;
        let mut signer = Self::generate(&format!("{PREVIEW_KID_PREFIX}{}", hex::encode(tag)))?;
        signer.preview = true;
        Ok(signer)
    }

    fn from_seed(kid: String, seed: [u8; 32], preview: bool) -> Result<Self, ReceiptKeyError> {
        let pair = ring::signature::Ed25519KeyPair::from_seed_unchecked(&seed)
            .map_err(|_| ReceiptKeyError::Unreadable("d is not an Ed25519 seed".to_owned()))?;
        let public: [u8; 32] = pair
            .public_key()
            .as_ref()
            .try_into()
            .map_err(|_| ReceiptKeyError::Unreadable("an unexpected public key".to_owned()))?;
        Ok(Self {
            kid,
            seed,
            public,
            preview,
        })
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public half, as the site publishes it.
    pub fn public_key(&self) -> ReceiptKey {
        ReceiptKey {
            kty: "OKP".to_owned(),
            crv: "Ed25519".to_owned(),
            x: URL_SAFE_NO_PAD.encode(self.public),
            kid: self.kid.clone(),
            key_use: Some("sig".to_owned()),
            alg: Some("EdDSA".to_owned()),
            other: BTreeMap::new(),
        }
    }

    /// The private key as a JWK's text, for the operator to keep (never to publish).
    pub fn private_jwk(&self) -> String {
        let jwk = PrivateJwk {
            kty: "OKP".to_owned(),
            crv: "Ed25519".to_owned(),
            kid: self.kid.clone(),
            x: URL_SAFE_NO_PAD.encode(self.public),
            d: URL_SAFE_NO_PAD.encode(self.seed),
        };
        serde_json::to_string(&jwk).unwrap_or_default()
    }

    /// `receipt` as a compact JWS under this key (marked a preview when the key is one).
    pub fn sign(&self, receipt: &Receipt) -> Result<String, ReceiptKeyError> {
        let mut receipt = receipt.clone();
        receipt.preview = self.preview;
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        header.typ = Some(RECEIPT_TYPE.to_owned());
        let mut pkcs8 = PKCS8_PREFIX.to_vec();
        pkcs8.extend_from_slice(&self.seed);
        jsonwebtoken::encode(&header, &receipt, &EncodingKey::from_ed_der(&pkcs8))
            .map_err(|e| ReceiptKeyError::Signing(e.to_string()))
    }
}

/// Checks `token` against `keys` (a site's published JWK Set): the key its header names must
/// be there and publishable, the signature must match, the version must be known. Returns
/// the payload it proves.
pub fn verify(token: &str, keys: &ReceiptKeySet) -> Result<Receipt, ReceiptRefusal> {
    let token = token.trim();
    let header =
        jsonwebtoken::decode_header(token).map_err(|e| ReceiptRefusal::Malformed(e.to_string()))?;
    if header.alg != Algorithm::EdDSA {
        return Err(ReceiptRefusal::Malformed(format!(
            "signed with {:?}, not EdDSA",
            header.alg
        )));
    }
    let kid = header
        .kid
        .ok_or_else(|| ReceiptRefusal::Malformed("the header names no key (kid)".to_owned()))?;
    let key = keys
        .keys
        .iter()
        .find(|k| k.kid == kid && k.problems().is_empty())
        .ok_or_else(|| ReceiptRefusal::UnknownKey(kid.clone()))?;
    let decoding = DecodingKey::from_ed_components(&key.x)
        .map_err(|_| ReceiptRefusal::UnknownKey(kid.clone()))?;
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.required_spec_claims = HashSet::new();
    validation.validate_exp = false;
    validation.validate_aud = false;
    let data =
        jsonwebtoken::decode::<serde_json::Value>(token, &decoding, &validation).map_err(|e| {
            match e.kind() {
                jsonwebtoken::errors::ErrorKind::InvalidSignature => ReceiptRefusal::BadSignature,
                _ => ReceiptRefusal::Malformed(e.to_string()),
            }
        })?;
    let version = data.claims["schemaVersion"].as_str().unwrap_or_default();
    if version != SCHEMA_VERSION {
        return Err(ReceiptRefusal::UnknownVersion(version.to_owned()));
    }
    serde_json::from_value(data.claims).map_err(|e| ReceiptRefusal::Malformed(e.to_string()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn sample() -> Receipt {
        Receipt {
            iss: "https://woow.kz".into(),
            iat: 1_765_000_000,
            jti: "r".into(),
            schema_version: SCHEMA_VERSION.into(),
            receipt_id: "r".into(),
            record_id: "r".into(),
            consent_timestamp: "2025-12-06T05:46:40Z".into(),
            collection_method: "web_form_post".into(),
            language: "kk".into(),
            jurisdiction: "KZ".into(),
            pii_controllers: Vec::new(),
            notice: crate::domain::receipt::Notice {
                url: "https://woow.kz/kk/privacy/".into(),
                version: "1.0".into(),
                sha256: "a".repeat(64),
                language: "kk".into(),
            },
            purposes: Vec::new(),
            storage_locations: vec!["Almaty".into()],
            recipient_third_parties: Vec::new(),
            withdrawal_method: "mailto:info@woow.kz".into(),
            preview: false,
        }
    }

    fn set(signers: &[&ReceiptSigner]) -> ReceiptKeySet {
        ReceiptKeySet {
            keys: signers.iter().map(|s| s.public_key()).collect(),
        }
    }

    #[test]
    fn a_signed_receipt_verifies_and_any_change_does_not() {
        let signer = ReceiptSigner::generate("2026-12").unwrap();
        let token = signer.sign(&sample()).unwrap();
        assert_eq!(token.split('.').count(), 3, "compact JWS");
        assert_eq!(verify(&token, &set(&[&signer])).unwrap(), sample());
        // One character of the payload changed.
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        let mut payload = parts[1].clone().into_bytes();
        payload[10] = if payload[10] == b'A' { b'B' } else { b'A' };
        parts[1] = String::from_utf8(payload).unwrap();
        let tampered = parts.join(".");
        assert!(verify(&tampered, &set(&[&signer])).is_err());
        // Another key with the same kid.
        let impostor = ReceiptSigner::generate("2026-12").unwrap();
        assert_eq!(
            verify(&impostor.sign(&sample()).unwrap(), &set(&[&signer])),
            Err(ReceiptRefusal::BadSignature)
        );
        // A key the site does not publish.
        let other = ReceiptSigner::generate("2027-01").unwrap();
        assert_eq!(
            verify(&other.sign(&sample()).unwrap(), &set(&[&signer])),
            Err(ReceiptRefusal::UnknownKey("2027-01".into()))
        );
    }

    #[test]
    fn the_private_jwk_round_trips_and_a_mismatched_one_is_refused() {
        let signer = ReceiptSigner::generate("k1").unwrap();
        let again = ReceiptSigner::from_jwk(&signer.private_jwk()).unwrap();
        assert_eq!(again.public_key(), signer.public_key());
        let other = ReceiptSigner::generate("k1").unwrap();
        let mut jwk: serde_json::Value = serde_json::from_str(&signer.private_jwk()).unwrap();
        jwk["x"] = other.public_key().x.into();
        let err = ReceiptSigner::from_jwk(&jwk.to_string()).unwrap_err();
        assert!(err.to_string().contains("x is not the public key"), "{err}");
        assert!(ReceiptSigner::from_jwk("{}").is_err());
        assert!(
            !format!("{signer:?}").contains(&jwk["d"].as_str().unwrap().to_owned()),
            "Debug hides the seed"
        );
        // The published half holds nothing private.
        assert!(signer.public_key().problems().is_empty());
    }

    #[test]
    fn preview_keys_mark_their_receipts() {
        let signer = ReceiptSigner::preview().unwrap();
        assert!(signer.kid().starts_with(PREVIEW_KID_PREFIX));
        let receipt = verify(&signer.sign(&sample()).unwrap(), &set(&[&signer])).unwrap();
        assert!(receipt.preview);
    }
}
