//! The key-state role on SQLite: one row of the `meta` table.

use async_trait::async_trait;
use rusqlite::{Connection, TransactionBehavior};

use super::database::SqliteStore;
use super::errors::map_err;
use super::rows::read_key_state;
use crate::domain::key_check::KeyState;
use crate::store::codec;
use crate::store::error::StoreError;
use crate::store::key_state::KeyStore;

fn set_key_state_blocking(
    conn: &mut Connection,
    expected: &KeyState,
    new: &KeyState,
) -> Result<(), StoreError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(map_err)?;
    let current = read_key_state(&tx)?;
    if &current != expected {
        return Err(StoreError::Conflict("the key-check value".to_owned()));
    }
    let value = codec::encode("key state", new)?;
    tx.execute(
        "INSERT INTO meta (name, value) VALUES ('key_state', ?1)
         ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        [value],
    )
    .map_err(map_err)?;
    tx.commit().map_err(map_err)
}

#[async_trait]
impl KeyStore for SqliteStore {
    async fn get_key_state(&self) -> Result<KeyState, StoreError> {
        self.run(|conn| read_key_state(conn)).await
    }

    async fn set_key_state(&self, expected: &KeyState, new: &KeyState) -> Result<(), StoreError> {
        let expected = expected.clone();
        let new = new.clone();
        self.run(move |conn| set_key_state_blocking(conn, &expected, &new))
            .await
    }
}
