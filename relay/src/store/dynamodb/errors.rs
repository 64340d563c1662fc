//! Turns AWS SDK errors into [`StoreError`]s without leaking personal data.
//!
//! Only the operation name and the service's error *code* are kept. The service's error
//! *message* is dropped on purpose: DynamoDB's validation messages can quote attribute values,
//! and the record's attributes are a person's name, email, phone and message.

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};

use crate::store::error::StoreError;

/// Error codes that mean "slow down", not "broken". DynamoDB sends the first when a table's
/// or partition's capacity is exceeded, the second for control-plane and on-demand throttling,
/// and the third when the account's request rate is exceeded.
const THROTTLING_CODES: &[&str] = &[
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    // Cancellation reason codes inside a TransactionCanceledException.
    "ProvisionedThroughputExceeded",
    "ThrottlingError",
];

/// Whether a service error code (or a transaction cancellation reason) is throttling.
pub fn is_throttling(code: &str) -> bool {
    THROTTLING_CODES.contains(&code)
}

/// Maps an SDK error to a store error: throttling becomes [`StoreError::Busy`], everything
/// else [`StoreError::Backend`].
pub fn from_sdk<E, R>(operation: &str, err: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata,
{
    match &err {
        SdkError::ServiceError(service) => {
            let code = service.err().code().unwrap_or("unknown service error");
            if is_throttling(code) {
                StoreError::Busy(format!("{operation}: {code}"))
            } else {
                StoreError::Backend(format!("{operation}: {code}"))
            }
        }
        // No response from the service at all: unreachable endpoint, TLS or DNS failure.
        SdkError::DispatchFailure(_) => {
            StoreError::Backend(format!("{operation}: the endpoint could not be reached"))
        }
        SdkError::TimeoutError(_) => {
            StoreError::Backend(format!("{operation}: the request timed out"))
        }
        SdkError::ResponseError(_) => {
            StoreError::Backend(format!("{operation}: the response could not be read"))
        }
        SdkError::ConstructionFailure(_) => {
            StoreError::Backend(format!("{operation}: the request could not be built"))
        }
        _ => StoreError::Backend(format!("{operation}: unexpected SDK error")),
    }
}

/// A builder or serialization failure on our side. Builder errors name a missing field, never
/// a value, so the message is safe to keep.
pub fn backend_error(operation: &str, err: &dyn std::fmt::Display) -> StoreError {
    StoreError::Backend(format!("{operation}: {err}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttling_codes_are_recognized_and_others_are_not() {
        assert!(is_throttling("ProvisionedThroughputExceededException"));
        assert!(is_throttling("ThrottlingException"));
        assert!(is_throttling("RequestLimitExceeded"));
        assert!(is_throttling("ThrottlingError"));
        assert!(!is_throttling("ConditionalCheckFailed"));
        assert!(!is_throttling("ValidationException"));
    }
}
