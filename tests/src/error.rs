//! The one error type of the harness, so a test's failure message says which tool broke and how.

use std::path::PathBuf;

/// Why a harness step failed. Each variant names the tool, and where a tool is missing it says
/// how to install it: a gate that cannot run must fail loudly, never pass by being skipped.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    /// A required program or file is not installed.
    #[error("{what} not found at {path}: run `scripts/install-test-deps` first")]
    Missing { what: &'static str, path: PathBuf },

    /// A program of this workspace is not built yet.
    #[error("{what} is not built at {path}: run `{how}` first")]
    NotBuilt {
        what: &'static str,
        path: PathBuf,
        how: &'static str,
    },

    /// Starting a child process failed.
    #[error("could not start {what}")]
    Spawn {
        what: &'static str,
        #[source]
        source: std::io::Error,
    },

    /// chromedriver started but never accepted connections.
    #[error("chromedriver did not listen on port {port} within {seconds} s")]
    DriverNotReady { port: u16, seconds: u64 },

    /// chromedriver refused to open a browser session. Boxed, like the next variant: fantoccini's
    /// errors are large and would make every `Result` of the harness as large.
    #[error("could not open a Chromium session")]
    NewSession(#[source] Box<fantoccini::error::NewSessionError>),

    /// A WebDriver command failed.
    #[error("WebDriver command failed")]
    WebDriver(#[source] Box<fantoccini::error::CmdError>),

    /// Script in the page returned something of an unexpected shape.
    #[error("unexpected result from {what}: {detail}")]
    UnexpectedResult { what: &'static str, detail: String },

    /// A checker ran but reported a failure of its own (not a finding about the page).
    #[error("{what} failed: {detail}")]
    Tool { what: &'static str, detail: String },

    /// Reading or writing a file, or binding a socket, failed.
    #[error("I/O error on {context}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },

    /// A checker's JSON output did not parse.
    #[error("could not parse the output of {what}")]
    Json {
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
}

impl From<fantoccini::error::NewSessionError> for HarnessError {
    fn from(e: fantoccini::error::NewSessionError) -> Self {
        Self::NewSession(Box::new(e))
    }
}

impl From<fantoccini::error::CmdError> for HarnessError {
    fn from(e: fantoccini::error::CmdError) -> Self {
        Self::WebDriver(Box::new(e))
    }
}

impl HarnessError {
    /// Wraps an I/O error with what was being done, since `std::io::Error` alone names no file.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            context: context.into(),
            source,
        }
    }
}
