//! Logging setup: `tracing` to stderr, human-readable on a terminal, JSON under AWS Lambda
//! (`AWS_LAMBDA_RUNTIME_API` set) or when asked, so CloudWatch and log shippers get fields.
//!
//! The relay's log lines carry outcomes, error codes and record ids, never personal data;
//! `tests/no_personal_data_in_logs.rs` holds it to that. The libraries under it are another
//! matter: the AWS SDK's and hyper's debug and trace output can contain request and response
//! bodies, which here are records. [`clamp`] caps those crates at `info` whatever `RUST_LOG`
//! asks for, so turning on `RUST_LOG=trace` to debug the relay never dumps personal data.

use tracing::{Level, Metadata};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::Layer as _;
use tracing_subscriber::filter::{FilterFn, filter_fn};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

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

/// Crates whose verbose output may hold what they carry (request and response bodies).
const CLAMPED_TARGETS: [&str; 9] = [
    "aws_smithy",
    "aws_sdk",
    "aws_config",
    "aws_runtime",
    "hyper",
    "h2",
    "rustls",
    "lettre",
    "ureq",
];

fn clamped(target: &str) -> bool {
    CLAMPED_TARGETS.iter().any(|prefix| {
        target
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with(['_', ':']))
    })
}

/// Lets through everything of the relay's own, and only `info` and above of the
/// crates in `CLAMPED_TARGETS`.
pub fn clamp() -> FilterFn<fn(&Metadata<'_>) -> bool> {
    filter_fn(|meta| !clamped(meta.target()) || *meta.level() <= Level::INFO)
}

/// Installs the global subscriber writing to stderr. The filter comes from `RUST_LOG`,
/// defaulting to `info`, and is always [`clamp`]ed. Calling it twice is harmless (the second
/// call does nothing).
pub fn init(format: LogFormat) {
    let filter = std::env::var("RUST_LOG").ok();
    init_with(format, std::io::stderr, filter.as_deref());
}

/// [`init`] with a chosen writer and filter text (tests capture the output this way).
pub fn init_with<W>(format: LogFormat, writer: W, filter: Option<&str>)
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = filter
        .and_then(|f| EnvFilter::try_new(f).ok())
        .unwrap_or_else(|| EnvFilter::new("info"));
    let layer = tracing_subscriber::fmt::layer().with_writer(writer);
    let layer = match format {
        LogFormat::Text => layer.with_ansi(false).boxed(),
        LogFormat::Json => layer.json().boxed(),
    };
    let _already_set = tracing_subscriber::registry()
        .with(layer.with_filter(filter).with_filter(clamp()))
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn library_targets_are_recognized_by_prefix_only() {
        for target in [
            "aws_smithy_runtime::client::orchestrator",
            "aws_sdk_dynamodb",
            "hyper",
            "hyper_util::client",
            "h2::codec",
            "lettre::transport::smtp",
        ] {
            assert!(clamped(target), "{target}");
        }
        for target in ["kelisim_relay::http", "hyperfine", "h2o", "kelisim"] {
            assert!(!clamped(target), "{target}");
        }
    }
}
