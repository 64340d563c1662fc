//! The key-state role: compare-and-set of the stored key-check state.

use std::sync::Arc;

use kelisim_relay::domain::key_check::KeyState;
use kelisim_relay::store::{Store, StoreError};

on_every_store!(
    a_fresh_store_has_the_default_state,
    key_state_is_set_when_the_expected_state_matches,
    a_stale_expected_state_is_a_conflict,
    a_sealed_rekey_state_reads_back,
);

fn set() -> KeyState {
    KeyState {
        key_check: Some("check-a".to_owned()),
        ..KeyState::default()
    }
}

async fn a_fresh_store_has_the_default_state(store: Arc<dyn Store>) {
    assert_eq!(store.get_key_state().await.unwrap(), KeyState::default());
}

async fn key_state_is_set_when_the_expected_state_matches(store: Arc<dyn Store>) {
    store
        .set_key_state(&KeyState::default(), &set())
        .await
        .unwrap();
    assert_eq!(store.get_key_state().await.unwrap(), set());
    store
        .set_key_state(&set(), &KeyState::default())
        .await
        .unwrap();
    assert_eq!(store.get_key_state().await.unwrap(), KeyState::default());
}

async fn a_stale_expected_state_is_a_conflict(store: Arc<dyn Store>) {
    store
        .set_key_state(&KeyState::default(), &set())
        .await
        .unwrap();
    let stale = store
        .set_key_state(&KeyState::default(), &KeyState::default())
        .await;
    assert!(matches!(stale, Err(StoreError::Conflict(_))), "{stale:?}");
    assert_eq!(store.get_key_state().await.unwrap(), set());
}

async fn a_sealed_rekey_state_reads_back(store: Arc<dyn Store>) {
    let sealed = KeyState {
        key_check: Some("check-a".to_owned()),
        rekey_to: Some("check-b".to_owned()),
        sealed: true,
    };
    store
        .set_key_state(&KeyState::default(), &sealed)
        .await
        .unwrap();
    assert_eq!(store.get_key_state().await.unwrap(), sealed);
}
