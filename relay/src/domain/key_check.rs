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
    /// The rekey's last sweep is running: the old key may no longer write.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sealed: bool,
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
    /// Whether a writer whose key has the check value `check` may store lookup hashes now: any
    /// key on a store that has none yet; otherwise the store's key (unless a rekey's last
    /// sweep is running) or the key a rekey is moving to. A record written under the old key
    /// while a rekey runs is swept by it; after the rekey's last sweep only the new key
    /// writes, so no record can be stranded under the old one.
    pub fn admits_writer(&self, check: &str) -> bool {
        let Some(current) = &self.key_check else {
            return true;
        };
        let is = |value: &str| constant_time_eq(value.as_bytes(), check.as_bytes());
        (!self.sealed && is(current)) || self.rekey_to.as_deref().is_some_and(is)
    }

    /// The check values that may write now (see [`KeyState::admits_writer`]); empty for a
    /// store that has none yet.
    pub fn writers(&self) -> Vec<String> {
        let mut writers = Vec::new();
        if let Some(current) = &self.key_check
            && !self.sealed
        {
            writers.push(current.clone());
        }
        writers.extend(self.rekey_to.clone());
        writers
    }

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
            ..KeyState::default()
        };
        assert_eq!(set.admits("aa"), Ok(false));
        assert_eq!(set.admits("bb"), Err(KeyMismatch::WrongKey));
        let busy = KeyState {
            key_check: Some("aa".into()),
            rekey_to: Some("bb".into()),
            sealed: false,
        };
        assert_eq!(busy.admits("aa"), Err(KeyMismatch::RekeyInProgress));
        assert!(
            KeyMismatch::WrongKey.to_string().contains("does not match"),
            "plain words"
        );
    }

    #[test]
    fn writers_are_the_stores_key_and_the_rekeys_target_and_the_seal_shuts_the_old_one_out() {
        let fresh = KeyState::default();
        assert!(fresh.admits_writer("any"));
        let set = KeyState {
            key_check: Some("aa".into()),
            ..KeyState::default()
        };
        assert!(set.admits_writer("aa"));
        assert!(!set.admits_writer("bb"));
        assert!(!set.admits_writer(""));
        let moving = KeyState {
            key_check: Some("aa".into()),
            rekey_to: Some("bb".into()),
            sealed: false,
        };
        assert!(moving.admits_writer("aa") && moving.admits_writer("bb"));
        assert_eq!(moving.writers(), ["aa", "bb"]);
        let sealed = KeyState {
            sealed: true,
            ..moving
        };
        assert!(!sealed.admits_writer("aa"));
        assert!(sealed.admits_writer("bb"));
        assert_eq!(sealed.writers(), ["bb"]);
    }
}
