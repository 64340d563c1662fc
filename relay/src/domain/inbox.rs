//! Where a record sits in the operator's inbox, and how the inbox is read a page at a time:
//! each record is on one shelf (unanswered, answered, blocked, or closed: withdrawn or
//! anonymized), which the stores keep beside the record so a page is read from an index in
//! id order (oldest first: ids are UUIDv7) without loading every record.

use crate::domain::record::{ConsentRecord, RecordId, RecordState};

/// The one shelf a record is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Shelf {
    /// Processable and waiting for an answer: the inbox.
    Unanswered,
    /// Processable and answered.
    Answered,
    /// Processing suspended (§2.2): kept, in no list.
    Blocked,
    /// Withdrawn or anonymized: only its stamp is kept, it is nobody's message to answer.
    Closed,
}

impl Shelf {
    pub const ALL: [Self; 4] = [
        Self::Unanswered,
        Self::Answered,
        Self::Blocked,
        Self::Closed,
    ];

    /// The shelf's name as the stores keep it (a column, a sort-key prefix). Never renamed:
    /// stored data holds it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unanswered => "unanswered",
            Self::Answered => "answered",
            Self::Blocked => "blocked",
            Self::Closed => "closed",
        }
    }

    /// The shelf named `text`, if any.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// The shelf `record` is on.
    pub fn of(record: &ConsentRecord) -> Self {
        if record.state != RecordState::Active {
            Self::Closed
        } else if record.blocked_at.is_some() {
            Self::Blocked
        } else if record.answered.is_some() {
            Self::Answered
        } else {
            Self::Unanswered
        }
    }
}

/// Which messages an inbox page lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InboxFilter {
    /// Messages waiting for an answer (the default).
    #[default]
    Unanswered,
    Answered,
    Blocked,
    /// Answered and unanswered: every message that may be processed.
    All,
}

impl InboxFilter {
    pub const ALL: [Self; 4] = [Self::Unanswered, Self::Answered, Self::All, Self::Blocked];

    /// The shelves the filter lists, in no particular order.
    pub fn shelves(self) -> &'static [Shelf] {
        match self {
            Self::Unanswered => &[Shelf::Unanswered],
            Self::Answered => &[Shelf::Answered],
            Self::Blocked => &[Shelf::Blocked],
            Self::All => &[Shelf::Unanswered, Shelf::Answered],
        }
    }

    /// The filter's name in a URL (`?show=answered`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unanswered => "unanswered",
            Self::Answered => "answered",
            Self::Blocked => "blocked",
            Self::All => "all",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == text)
    }
}

/// The most records one page may hold, whatever a caller asks for.
pub const MAX_PAGE: usize = 200;

/// One page to read: the filter's records with ids after `after` (from the start with
/// `None`), oldest first, at most `limit` (1 to [`MAX_PAGE`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InboxQuery {
    pub filter: InboxFilter,
    pub after: Option<RecordId>,
    pub limit: usize,
}

impl InboxQuery {
    /// The first page of `filter`, `limit` records long.
    pub fn first(filter: InboxFilter, limit: usize) -> Self {
        Self {
            filter,
            after: None,
            limit,
        }
    }

    /// `limit` held to 1..=[`MAX_PAGE`].
    pub fn page_size(&self) -> usize {
        self.limit.clamp(1, MAX_PAGE)
    }
}

/// One page of the inbox.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InboxPage {
    /// Oldest first.
    pub records: Vec<ConsentRecord>,
    /// Where the next page starts (the last id of this one) when more records follow.
    pub next: Option<RecordId>,
}

impl InboxPage {
    /// A page from up to `size + 1` records read in id order: the first `size`, and `next`
    /// when there was one more.
    pub fn from_overread(mut records: Vec<ConsentRecord>, size: usize) -> Self {
        let more = records.len() > size;
        records.truncate(size);
        let next = if more {
            records.last().map(|r| r.id)
        } else {
            None
        };
        Self { records, next }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for shelf in Shelf::ALL {
            assert_eq!(Shelf::parse(shelf.as_str()), Some(shelf));
        }
        for filter in InboxFilter::ALL {
            assert_eq!(InboxFilter::parse(filter.as_str()), Some(filter));
        }
        assert_eq!(InboxFilter::parse("everything"), None);
        assert_eq!(InboxQuery::first(InboxFilter::All, 0).page_size(), 1);
        assert_eq!(
            InboxQuery::first(InboxFilter::All, 10_000).page_size(),
            MAX_PAGE
        );
    }
}
