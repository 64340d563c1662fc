//! The one way every back end turns stored values into text and back: serde JSON, with
//! errors that say what broke and where, never what the text held (serde's own messages can
//! quote a value, and the values are people's names, addresses and messages).

use serde::Serialize;
use serde::de::DeserializeOwned;
use time::OffsetDateTime;

use super::error::StoreError;

/// `value` as the JSON a back end stores. `what` names it in the error ("record").
pub fn encode<T: Serialize>(what: &str, value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value)
        .map_err(|_| StoreError::Backend(format!("{what} serialization failed")))
}

/// Parses a stored `body` as `what`. The error names the kind of failure and its position.
pub fn decode<T: DeserializeOwned>(what: &str, body: &str) -> Result<T, StoreError> {
    serde_json::from_str(body).map_err(|e| {
        StoreError::Corrupt(format!(
            "a stored {what}: {} at line {} column {}",
            category(&e),
            e.line(),
            e.column()
        ))
    })
}

/// A short name for a serde_json error's category; its `Display` may quote the data.
fn category(error: &serde_json::Error) -> &'static str {
    match error.classify() {
        serde_json::error::Category::Io => "i/o error",
        serde_json::error::Category::Syntax => "syntax error",
        serde_json::error::Category::Data => "does not match the schema",
        serde_json::error::Category::Eof => "ends early",
    }
}

/// Milliseconds since the epoch, the time column both back ends index.
pub fn millis(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// A revision as the signed integer both back ends store.
pub fn revision(revision: u64) -> i64 {
    i64::try_from(revision).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_errors_do_not_quote_the_stored_text() {
        let err = decode::<crate::domain::record::ConsentRecord>(
            "record",
            r#"{"id": "Aigerim Nurlanovna"}"#,
        )
        .expect_err("not a record");
        let text = err.to_string();
        assert!(matches!(err, StoreError::Corrupt(_)));
        assert!(text.contains("a stored record"), "{text}");
        assert!(!text.contains("Aigerim"), "{text}");
    }
}
