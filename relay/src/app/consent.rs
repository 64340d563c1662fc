//! The double opt-in link's use case: a valid token turns a pending grant into a confirmed
//! one; a bad, expired or used one changes nothing.

use time::OffsetDateTime;

use crate::app::context::Relay;
use crate::domain::link::{self, LinkRefusal, confirm_grant};
use crate::domain::record::RecordId;
use crate::domain::token::TokenAction;

/// Confirms the grant `token` names at `now`. Returns the record's language (to answer in,
/// when the site has it) with the result.
pub async fn confirm(
    relay: &Relay,
    token: &str,
    now: OffsetDateTime,
) -> (Option<String>, Result<(), LinkRefusal>) {
    let claims = match link::verify(&relay.settings.hmac_key, token, TokenAction::Confirm, now) {
        Ok(claims) => claims,
        Err(refusal) => return (None, Err(refusal)),
    };
    let record = match relay.store.get_record(RecordId(claims.subject)).await {
        Ok(Some(record)) => record,
        Ok(None) => return (None, Err(LinkRefusal::Invalid)),
        Err(error) => {
            tracing::error!(%error, "store failed while confirming");
            return (None, Err(LinkRefusal::Invalid));
        }
    };
    let lang = Some(record.consent.language.clone());
    let Some(days) = relay.settings.retention_days.get(&claims.purpose).copied() else {
        return (lang, Err(LinkRefusal::Invalid));
    };
    let confirmed = match confirm_grant(record, &claims.purpose, days, now) {
        Ok(confirmed) => confirmed,
        Err(refusal) => return (lang, Err(refusal)),
    };
    let result = match relay.store.update_record(&confirmed).await {
        Ok(true) => Ok(()),
        Ok(false) => Err(LinkRefusal::Invalid),
        Err(error) => {
            tracing::error!(%error, "store failed while confirming");
            Err(LinkRefusal::Invalid)
        }
    };
    (lang, result)
}
