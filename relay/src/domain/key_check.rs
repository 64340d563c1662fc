//! The key-check value: proof, stored with the data, of which HMAC key made the lookup
//! hashes, so a command run with the wrong key is refused instead of answering "nothing held".
//!
//! The value is an HMAC of a fixed label under the key: it reveals nothing about the key and
//! nothing about any person. During `rekey` the store also holds the new key's value, and
//! everything except `rekey` itself refuses to run until the rekey is finished.

use serde::{Deserialize, Serialize};

use crate::domain::secret::constant_time_eq;

/// What the store says about its key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyState {
    /// The key-check value of the key the records' lookup hashes are under. `None` in a
    /// store that no command has opened yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_check: Option<String>,
    /// While a rekey is under way: the new key's value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rekey_to: Option<String>,
}

/// Why a key may not be used on a store. Says what is wrong in plain words; never the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyMismatch {
    #[error(
        "the HMAC key does not match the key this store's records were written with \
         (its key-check value differs). Lookups with it would find nothing. Set \
         KELISIM_HMAC_KEY (or the key file) to the original key; to change keys, run \
         `kelisim-relay rekey`"
    )]
    WrongKey,
    #[error(
        "a rekey of this store was started and not finished. Run `kelisim-relay rekey` again \
         with the same old and new keys to finish it"
    )]
    RekeyInProgress,
}

impl KeyState {
    /// Checks `check` (the running key's value) against the store's. `Ok(true)` when the
    /// store has no value yet and this key's should be stored.
    pub fn admits(&self, check: &str) -> Result<bool, KeyMismatch> {
        if self.rekey_to.is_some() {
            return Err(KeyMismatch::RekeyInProgress);
        }
        match &self.key_check {
            None => Ok(true),
            Some(stored) if constant_time_eq(stored.as_bytes(), check.as_bytes()) => Ok(false),
            Some(_) => Err(KeyMismatch::WrongKey),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fresh_store_admits_and_asks_to_store_a_matching_key_passes_a_wrong_one_fails() {
        let fresh = KeyState::default();
        assert_eq!(fresh.admits("aa"), Ok(true));
        let set = KeyState {
            key_check: Some("aa".into()),
            rekey_to: None,
        };
        assert_eq!(set.admits("aa"), Ok(false));
        assert_eq!(set.admits("bb"), Err(KeyMismatch::WrongKey));
        let busy = KeyState {
            key_check: Some("aa".into()),
            rekey_to: Some("bb".into()),
        };
        assert_eq!(busy.admits("aa"), Err(KeyMismatch::RekeyInProgress));
        assert!(
            KeyMismatch::WrongKey.to_string().contains("does not match"),
            "plain words"
        );
    }
}
