//! Turns SQLite errors into [`StoreError`]s that name SQLite's error code only: never SQL
//! text or values.

use crate::store::error::StoreError;

/// Busy and locked become [`StoreError::Busy`] (the caller may retry); everything else
/// [`StoreError::Backend`].
pub(super) fn map_err(error: rusqlite::Error) -> StoreError {
    match &error {
        rusqlite::Error::SqliteFailure(e, _)
            if matches!(
                e.code,
                rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
            ) =>
        {
            StoreError::Busy(format!("sqlite {:?}", e.code))
        }
        rusqlite::Error::SqliteFailure(e, _) => {
            StoreError::Backend(format!("sqlite {:?} ({})", e.code, e.extended_code))
        }
        _ => StoreError::Backend("sqlite client error".to_owned()),
    }
}
