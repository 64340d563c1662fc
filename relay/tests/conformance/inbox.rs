//! The inbox a page at a time (`RecordStore::inbox_page`): each filter lists exactly its
//! shelves' records, oldest first, page after page with nothing skipped or repeated, and an
//! update or a deletion moves a record off its shelf at once.

use std::sync::Arc;

use kelisim_relay::domain::inbox::{InboxFilter, InboxQuery};
use kelisim_relay::domain::record::{Answered, ConsentRecord, RecordId};
use kelisim_relay::store::Store;
use time::OffsetDateTime;

use super::{sample_record, store_plain};

on_every_store!(
    each_filter_pages_through_its_shelves_oldest_first,
    an_update_moves_a_record_to_its_new_shelf_and_a_deletion_off_every_shelf,
    an_empty_store_gives_an_empty_last_page,
    shelving_older_records_is_harmless_and_done_once,
);

/// Every page of `filter`, `size` at a time: the ids in order, and how many pages it took.
async fn read_all(store: &dyn Store, filter: InboxFilter, size: usize) -> (Vec<RecordId>, usize) {
    let mut query = InboxQuery::first(filter, size);
    let mut ids = Vec::new();
    let mut pages = 0;
    loop {
        let page = store.inbox_page(&query).await.unwrap();
        pages += 1;
        assert!(page.records.len() <= size, "a page holds at most {size}");
        ids.extend(page.records.iter().map(|r| r.id));
        match page.next {
            Some(next) => {
                assert_eq!(
                    Some(&next),
                    ids.last(),
                    "the next page starts after this one"
                );
                query.after = Some(next);
            }
            None => return (ids, pages),
        }
        assert!(pages < 100, "paging never ends");
    }
}

fn answered(mut record: ConsentRecord) -> ConsentRecord {
    record.answered = Some(Answered {
        at: OffsetDateTime::now_utc(),
        by: "conformance".to_owned(),
    });
    record
}

/// Seven records: three unanswered, two answered, one blocked, one anonymized. Returns their
/// ids on each shelf, oldest first.
async fn seed(store: &dyn Store) -> [Vec<RecordId>; 4] {
    let mut shelves: [Vec<RecordId>; 4] = Default::default();
    for n in 0..7 {
        let mut record = sample_record();
        let shelf = match n {
            1 | 4 => {
                record = answered(record);
                1
            }
            5 => {
                record.blocked_at = Some(OffsetDateTime::now_utc());
                2
            }
            6 => {
                record.anonymize(OffsetDateTime::now_utc());
                3
            }
            _ => 0,
        };
        store_plain(store, &record).await;
        shelves[shelf].push(record.id);
    }
    for ids in &mut shelves {
        ids.sort();
    }
    shelves
}

async fn each_filter_pages_through_its_shelves_oldest_first(store: Arc<dyn Store>) {
    let [unanswered, answered, blocked, _closed] = seed(store.as_ref()).await;
    let mut all = [unanswered.clone(), answered.clone()].concat();
    all.sort();
    for (filter, expected) in [
        (InboxFilter::Unanswered, &unanswered),
        (InboxFilter::Answered, &answered),
        (InboxFilter::Blocked, &blocked),
        (InboxFilter::All, &all),
    ] {
        for size in [1, 2, 50] {
            let (ids, pages) = read_all(store.as_ref(), filter, size).await;
            assert_eq!(&ids, expected, "{filter:?} in pages of {size}");
            assert_eq!(
                pages,
                expected.len().div_ceil(size).max(1),
                "{filter:?} / {size}"
            );
        }
    }
}

async fn an_update_moves_a_record_to_its_new_shelf_and_a_deletion_off_every_shelf(
    store: Arc<dyn Store>,
) {
    let record = sample_record();
    store_plain(store.as_ref(), &record).await;
    let first = InboxQuery::first(InboxFilter::Unanswered, 10);
    assert_eq!(
        store.inbox_page(&first).await.unwrap().records,
        vec![record.clone()]
    );
    assert!(
        store
            .update_record(&answered(record.clone()))
            .await
            .unwrap()
    );
    assert!(store.inbox_page(&first).await.unwrap().records.is_empty());
    let answered_page = InboxQuery::first(InboxFilter::Answered, 10);
    let page = store.inbox_page(&answered_page).await.unwrap();
    assert_eq!(page.records.len(), 1);
    assert_eq!(page.records[0].revision, 1, "the stored copy, as updated");
    assert!(store.delete_record(record.id).await.unwrap());
    for filter in InboxFilter::ALL {
        let page = store
            .inbox_page(&InboxQuery::first(filter, 10))
            .await
            .unwrap();
        assert!(page.records.is_empty(), "{filter:?} after the erasure");
    }
}

async fn an_empty_store_gives_an_empty_last_page(store: Arc<dyn Store>) {
    let page = store
        .inbox_page(&InboxQuery::first(InboxFilter::All, 20))
        .await
        .unwrap();
    assert!(page.records.is_empty() && page.next.is_none());
}

async fn shelving_older_records_is_harmless_and_done_once(store: Arc<dyn Store>) {
    let [unanswered, ..] = seed(store.as_ref()).await;
    // Everything written by this version already has its place: nothing to move.
    assert_eq!(store.shelve_older_records().await.unwrap(), 0);
    assert_eq!(store.shelve_older_records().await.unwrap(), 0);
    let (ids, _) = read_all(store.as_ref(), InboxFilter::Unanswered, 10).await;
    assert_eq!(ids, unanswered);
}
