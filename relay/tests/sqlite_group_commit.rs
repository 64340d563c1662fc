//! Group commit on a real SQLite file: concurrent inserts share transactions, and still each
//! gets its own, true answer (a new id, the earlier id of a duplicate, or an error), its
//! outbox items commit with it, and nothing is acknowledged that was not committed.
#![cfg(feature = "sqlite")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::conformance;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use conformance::{dedup_keys, sample_record};
use kelisim_relay::domain::outbox::{Channel, OutboxItem, OutboxKind};
use kelisim_relay::domain::record::ConsentRecord;
use kelisim_relay::store::sqlite::{MAX_INSERT_BATCH, SqliteStore};
use kelisim_relay::store::{DedupKeys, Inserted, OutboxStore, RecordStore, StoreError};
use time::OffsetDateTime;

fn in_a_minute() -> OffsetDateTime {
    OffsetDateTime::now_utc() + time::Duration::seconds(60)
}

fn notify_item(record: &ConsentRecord) -> OutboxItem {
    OutboxItem::new(
        OutboxKind::NotifyOperator {
            record_id: record.id,
            channel: Channel::Email,
        },
        OffsetDateTime::now_utc(),
    )
}

/// A new record with its own idempotency key and fingerprint, and one notification.
fn submission() -> (ConsentRecord, DedupKeys, Vec<OutboxItem>) {
    let record = sample_record();
    let dedup = dedup_keys(Some(uuid::Uuid::now_v7().to_string()), in_a_minute());
    let outbox = vec![notify_item(&record)];
    (record, dedup, outbox)
}

fn open(dir: &tempfile::TempDir) -> SqliteStore {
    SqliteStore::open(&dir.path().join("batch.sqlite")).unwrap()
}

/// The ids of the records about which the outbox holds an item.
async fn outbox_subjects(store: &SqliteStore) -> BTreeSet<uuid::Uuid> {
    store
        .list_items()
        .await
        .unwrap()
        .iter()
        .map(|item| item.kind.subject())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_concurrent_inserts_are_each_answered_with_their_own_id_and_stored_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(open(&dir));
    let shared_key = uuid::Uuid::now_v7().to_string();
    let mut tasks = Vec::new();
    for n in 0..240 {
        let store = Arc::clone(&store);
        let (record, mut dedup, outbox) = submission();
        // Every tenth insert reuses one idempotency key: exactly one of them may be stored.
        if n % 10 == 0 {
            dedup.idempotency_key = Some(shared_key.clone());
        }
        tasks.push(tokio::spawn(async move {
            let answer = store.insert_record(&record, &dedup, &outbox).await;
            (record.id, n % 10 == 0, answer.unwrap())
        }));
    }
    let mut stored = BTreeSet::new();
    let mut keyed = Vec::new();
    for task in tasks {
        let (id, shares_key, answer) = task.await.unwrap();
        if shares_key {
            keyed.push((id, answer));
        } else {
            assert_eq!(
                answer,
                Inserted::New(id),
                "an insert answered with another id"
            );
            stored.insert(id.0);
        }
    }
    let winners: Vec<_> = keyed
        .iter()
        .filter(|(id, answer)| *answer == Inserted::New(*id))
        .collect();
    assert_eq!(winners.len(), 1, "one insert of the shared key is stored");
    let winner = winners[0].0;
    for (_, answer) in &keyed {
        assert_eq!(answer.id(), Some(winner), "the others are duplicates of it");
    }
    stored.insert(winner.0);

    let listed: BTreeSet<_> = store
        .list_records()
        .await
        .unwrap()
        .iter()
        .map(|r| r.id.0)
        .collect();
    assert_eq!(
        listed, stored,
        "exactly the acknowledged new records are stored"
    );
    assert_eq!(
        outbox_subjects(&store).await,
        stored,
        "each stored record's notification is queued, a duplicate's is not"
    );
    assert!(store.insert_commits() <= 240);
}

#[tokio::test]
async fn a_failing_row_in_a_batch_is_answered_with_its_error_and_the_others_commit() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let first = submission();
    let mut failing = submission();
    // Its notification's id is the first's: the outbox's primary key refuses the row.
    failing.2[0].id = first.2[0].id;
    let last = submission();
    let commits = store.insert_commits();

    let answers = store
        .insert_all(&[first.clone(), failing.clone(), last.clone()])
        .await;

    assert_eq!(answers.len(), 3);
    assert_eq!(*answers[0].as_ref().unwrap(), Inserted::New(first.0.id));
    assert!(
        matches!(answers[1], Err(StoreError::Backend(_))),
        "the failing row gets its own error: {:?}",
        answers[1]
    );
    assert_eq!(*answers[2].as_ref().unwrap(), Inserted::New(last.0.id));
    assert_eq!(store.insert_commits(), commits + 1, "one transaction");
    // Nothing of the failing row is left: no record, its key and fingerprint are free.
    assert!(store.get_record(failing.0.id).await.unwrap().is_none());
    assert_eq!(
        outbox_subjects(&store).await,
        BTreeSet::from([first.0.id.0, last.0.id.0])
    );
    let (record, dedup, _) = &failing;
    assert_eq!(
        store.insert_record(record, dedup, &[]).await.unwrap(),
        Inserted::New(record.id),
        "the refused row left its dedup keys behind"
    );
}

#[tokio::test]
async fn duplicates_within_one_batch_are_answered_with_the_first_ones_id() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let first = submission();
    let mut same_key = submission();
    same_key
        .1
        .idempotency_key
        .clone_from(&first.1.idempotency_key);
    let mut same_content = submission();
    same_content.1.idempotency_key = None;
    same_content.1.fingerprint.clone_from(&first.1.fingerprint);
    let mut same_id = submission();
    same_id.0.id = first.0.id;
    same_id.2 = vec![notify_item(&same_id.0)];
    let other = submission();
    let commits = store.insert_commits();

    let answers = store
        .insert_all(&[
            first.clone(),
            same_key.clone(),
            same_content,
            same_id,
            other.clone(),
        ])
        .await;

    let answers: Vec<Inserted> = answers.into_iter().map(Result::unwrap).collect();
    assert_eq!(
        answers,
        vec![
            Inserted::New(first.0.id),
            Inserted::Duplicate(first.0.id),
            Inserted::Duplicate(first.0.id),
            Inserted::Duplicate(first.0.id),
            Inserted::New(other.0.id),
        ]
    );
    assert_eq!(store.insert_commits(), commits + 1, "one transaction");
    assert_eq!(store.list_records().await.unwrap().len(), 2);
    assert_eq!(
        store.list_items().await.unwrap().len(),
        2,
        "a duplicate queues no messages"
    );
    assert!(store.get_record(same_key.0.id).await.unwrap().is_none());
}

#[tokio::test]
async fn a_batch_that_cannot_commit_acknowledges_none_of_its_inserts() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("locked.sqlite");
    let store = SqliteStore::open_with_timeout(&path, Duration::from_millis(50)).unwrap();
    // Another process (here: another connection) holds the write lock past the busy timeout.
    let other = rusqlite::Connection::open(&path).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    let rows = [submission(), submission(), submission()];

    let answers = store.insert_all(&rows).await;

    assert_eq!(answers.len(), 3);
    for answer in &answers {
        assert!(
            matches!(answer, Err(StoreError::Busy(_))),
            "every insert of the batch is refused: {answer:?}"
        );
    }
    other.execute_batch("COMMIT").unwrap();
    assert!(store.list_records().await.unwrap().is_empty());
    // Nothing half-done blocks the retry.
    for answer in store.insert_all(&rows).await {
        assert!(matches!(answer, Ok(Inserted::New(_))));
    }
    assert_eq!(store.list_records().await.unwrap().len(), 3);
}

#[tokio::test]
async fn more_inserts_than_one_batch_holds_are_answered_in_order_over_several_commits() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let count = MAX_INSERT_BATCH * 2 + 3;
    let rows: Vec<_> = (0..count).map(|_| submission()).collect();
    let commits = store.insert_commits();

    let answers = store.insert_all(&rows).await;

    assert_eq!(answers.len(), count);
    for ((record, _, _), answer) in rows.iter().zip(&answers) {
        assert_eq!(*answer.as_ref().unwrap(), Inserted::New(record.id));
    }
    assert_eq!(store.insert_commits(), commits + 3);
    assert_eq!(store.list_records().await.unwrap().len(), count);
}
