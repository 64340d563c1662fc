//! Logging setup: `tracing` to stderr, human-readable on a terminal, JSON under AWS Lambda
//! (`AWS_LAMBDA_RUNTIME_API` set) or when asked, so CloudWatch and log shippers get fields.
//!
//! The relay's log lines carry outcomes, error codes and record ids, never personal data;
//! `tests/no_personal_data_in_logs.rs` holds it to that.

use tracing_subscriber::EnvFilter;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

impl LogFormat {
    /// JSON under Lambda, else `requested` (or text).
    pub fn detect(requested: Option<LogFormat>) -> Self {
        if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some() {
            Self::Json
        } else {
            requested.unwrap_or_default()
        }
    }
}

/// Installs the global subscriber. The filter comes from `RUST_LOG`, defaulting to `info`.
/// Calling it twice is harmless (the second call does nothing).
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _already_set = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}
