//! The double opt-in link's use cases: looking at a link (what a mail scanner's GET or HEAD
//! does, changing nothing) and confirming it (the person's click on the page's button, a
//! POST): a pending grant becomes a confirmed one; a bad, expired or used link changes
//! nothing.

use time::OffsetDateTime;

use crate::app::context::Relay;
use crate::domain::link::{self, LinkRefusal, LinkToken, confirm_grant, grant_of};
use crate::domain::record::{ConsentRecord, RecordId};
use crate::domain::token::TokenAction;

/// What a link leads to: the record's language (to answer in) and the record as confirming
/// it would leave it, or why the link does nothing.
pub type Looked = (Option<String>, Result<ConsentRecord, LinkRefusal>);

/// Checks `token` at `now` and says what confirming it would do, writing nothing.
pub async fn inspect(relay: &Relay, token: &str, now: OffsetDateTime) -> Looked {
    let settings = relay.settings();
    let token = match link::read_token(&settings.hmac_key, token, TokenAction::Confirm, now) {
        Ok(token) => token,
        Err(refusal) => return (None, Err(refusal)),
    };
    let record = match relay.store.get_record(RecordId(token.subject())).await {
        Ok(Some(record)) => record,
        Ok(None) => return (None, Err(LinkRefusal::Invalid)),
        Err(error) => {
            tracing::error!(%error, "store failed while reading a link's grant");
            return (None, Err(LinkRefusal::Unavailable));
        }
    };
    let lang = Some(record.consent.language.clone());
    let purpose = match &token {
        LinkToken::Secret { secret, .. } => grant_of(&record, secret).map(str::to_owned),
        LinkToken::Signed(claims) => Some(claims.purpose.clone()),
    };
    let days = purpose
        .as_deref()
        .and_then(|p| settings.retention_days.get(p).copied());
    let (Some(purpose), Some(days)) = (purpose, days) else {
        return (lang, Err(LinkRefusal::Invalid));
    };
    (lang, confirm_grant(record, &purpose, days, now))
}

/// Confirms the grant `token` names at `now`. Returns the record's language with the result.
pub async fn confirm(
    relay: &Relay,
    token: &str,
    now: OffsetDateTime,
) -> (Option<String>, Result<(), LinkRefusal>) {
    let (lang, looked) = inspect(relay, token, now).await;
    let confirmed = match looked {
        Ok(confirmed) => confirmed,
        Err(refusal) => return (lang, Err(refusal)),
    };
    let result = match relay.store.update_record(&confirmed).await {
        Ok(true) => Ok(()),
        Ok(false) => Err(LinkRefusal::Invalid),
        Err(error) => {
            tracing::error!(%error, "store failed while confirming");
            Err(LinkRefusal::Unavailable)
        }
    };
    (lang, result)
}
