//! The one error type of every store role, with the same words for the same failure on
//! every back end.

/// A store failure. Messages never contain personal data: they name the operation and the
/// back end's error kind only.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The back end is overloaded or throttling; the client should retry later.
    #[error("the record store is busy ({0}); try again later")]
    Busy(String),
    /// The back end is unreachable or failed.
    #[error("the record store failed: {0}")]
    Backend(String),
    /// A stored item could not be read back.
    #[error("a stored item is corrupt: {0}")]
    Corrupt(String),
    /// The item changed since it was read (another command or operator updated it first).
    /// Nothing was overwritten; read it again and retry.
    #[error(
        "{0} was changed by someone else since it was read; nothing was overwritten, run the command again"
    )]
    Conflict(String),
    /// The write's lookup hashes are under a key the store no longer takes (a rekey moved it
    /// to another key, or is sweeping the last records under the old one). Nothing was written;
    /// reload the key and retry.
    #[error(
        "the store's lookup hashes are now under another HMAC key (a rekey ran); nothing was written"
    )]
    WrongKey,
}
