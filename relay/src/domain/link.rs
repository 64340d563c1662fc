//! What a mailed link may do, as pure rules: why a link is refused, and confirming the pending
//! grant a double opt-in link names.

use time::{Duration, OffsetDateTime};

use crate::domain::hmac_key::HmacKey;
use crate::domain::record::{ConsentRecord, ConsentStatus};
use crate::domain::token::{self, TokenAction, TokenClaims, TokenError};

/// Why a link did nothing; the `reason` shown on the error page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkRefusal {
    Invalid,
    Expired,
    Used,
}

impl LinkRefusal {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Invalid => "invalid",
            Self::Expired => "expired",
            Self::Used => "used",
        }
    }
}

impl From<TokenError> for LinkRefusal {
    fn from(error: TokenError) -> Self {
        match error {
            TokenError::Invalid => Self::Invalid,
            TokenError::Expired => Self::Expired,
        }
    }
}

/// The claims of `token` if it is signed with `key`, not expired at `now`, and allows
/// `action`; otherwise why the link does nothing.
pub fn verify(
    key: &HmacKey,
    token: &str,
    action: TokenAction,
    now: OffsetDateTime,
) -> Result<TokenClaims, LinkRefusal> {
    match token::verify(key, token, now) {
        Ok(claims) if claims.action == action => Ok(claims),
        Ok(_) => Err(LinkRefusal::Invalid),
        Err(error) => Err(error.into()),
    }
}

/// Confirms `purpose` in `record` at `now`, extending its retention to `retention_days` from
/// the confirmation and recomputing the record's own `expires_at`.
pub fn confirm_grant(
    mut record: ConsentRecord,
    purpose: &str,
    retention_days: u32,
    now: OffsetDateTime,
) -> Result<ConsentRecord, LinkRefusal> {
    let consent = record
        .consent
        .purposes
        .iter_mut()
        .find(|p| p.purpose == purpose)
        .ok_or(LinkRefusal::Invalid)?;
    match consent.status(now) {
        ConsentStatus::Pending => {}
        ConsentStatus::Lapsed => return Err(LinkRefusal::Expired),
        ConsentStatus::Active | ConsentStatus::Expired if consent.confirmed_at.is_some() => {
            return Err(LinkRefusal::Used);
        }
        _ => return Err(LinkRefusal::Invalid),
    }
    consent.confirmed_at = Some(now);
    consent.expires_at = Some(now.saturating_add(Duration::days(i64::from(retention_days))));
    record.expires_at = record.retention_end();
    Ok(record)
}
