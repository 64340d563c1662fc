//! The key-state role: which HMAC key the stored lookup hashes are under.

use async_trait::async_trait;

use super::error::StoreError;
use crate::domain::key_check::KeyState;

/// The stored key-check state (see [`crate::domain::key_check`]).
#[async_trait]
pub trait KeyStore: Send + Sync {
    /// The stored key-check state (the default when none is stored).
    async fn get_key_state(&self) -> Result<KeyState, StoreError>;

    /// Replaces the key-check state if the stored one still equals `expected`;
    /// [`StoreError::Conflict`] otherwise.
    async fn set_key_state(&self, expected: &KeyState, new: &KeyState) -> Result<(), StoreError>;
}
