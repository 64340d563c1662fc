//! HTML conformance check with the Nu Html Checker (`vnu.jar`, the W3C validator's engine),
//! run once over many files so the JVM starts only once.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::Deserialize;

use crate::HarnessError;
use crate::paths::{node_modules, require};

/// One error vnu reports, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VnuMessage {
    /// The checked file (from vnu's `file:` URL).
    pub file: PathBuf,
    /// 1-based line of the error's end, when vnu knows it.
    pub line: Option<u64>,
    /// 1-based column of the error's end, when vnu knows it.
    pub column: Option<u64>,
    /// vnu's message text.
    pub message: String,
    /// The bit of source around the error, as vnu quotes it.
    pub extract: Option<String>,
}

impl fmt::Display for VnuMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        write!(f, ": {}", self.message)?;
        if let Some(extract) = &self.extract {
            write!(f, "\n    {}", extract.replace('\n', "↵"))?;
        }
        Ok(())
    }
}

/// Formats errors for a failing assertion, one per line.
pub fn report(errors: &[VnuMessage]) -> String {
    let mut out = format!("{} HTML error(s) (vnu):\n", errors.len());
    for error in errors {
        out.push_str(&error.to_string());
        out.push('\n');
    }
    out
}

#[derive(Debug, Deserialize)]
struct VnuOutput {
    messages: Vec<RawMessage>,
}

#[derive(Debug, Deserialize)]
struct RawMessage {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    url: Option<String>,
    #[serde(rename = "lastLine", default)]
    last_line: Option<u64>,
    #[serde(rename = "lastColumn", default)]
    last_column: Option<u64>,
    #[serde(default)]
    message: String,
    #[serde(default)]
    extract: Option<String>,
}

/// The `vnu.jar` inside the `vnu-jar` npm package.
pub fn vnu_jar() -> Result<PathBuf, HarnessError> {
    require(
        "vnu.jar (npm vnu-jar, tests/browser)",
        node_modules()
            .join("vnu-jar")
            .join("build")
            .join("dist")
            .join("vnu.jar"),
    )
}

/// Checks `files` as HTML and returns every error (warnings are left out: `--errors-only`).
/// An empty list means every file conforms.
pub fn vnu(files: &[PathBuf]) -> Result<Vec<VnuMessage>, HarnessError> {
    if files.is_empty() {
        return Err(HarnessError::Tool {
            what: "vnu",
            detail: "no files to check (an empty check would pass vacuously)".to_string(),
        });
    }
    let jar = vnu_jar()?;
    let output = Command::new("java")
        .arg("-jar")
        .arg(&jar)
        .args(["--format", "json", "--errors-only", "--exit-zero-always"])
        .args(files)
        .stdin(Stdio::null())
        .output()
        .map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => HarnessError::Missing {
                what: "java (runs vnu.jar)",
                path: PathBuf::from("java"),
            },
            _ => HarnessError::Spawn {
                what: "java -jar vnu.jar",
                source,
            },
        })?;
    // vnu writes its JSON report to stderr.
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        return Err(HarnessError::Tool {
            what: "vnu",
            detail: format!("exited with {}: {}", output.status, stderr.trim()),
        });
    }
    parse(&stderr)
}

/// Parses vnu's JSON report. `non-document-error` (a file it could not read) counts as an error,
/// so an unreadable page fails the check instead of passing unchecked.
fn parse(json: &str) -> Result<Vec<VnuMessage>, HarnessError> {
    let report: VnuOutput = serde_json::from_str(json).map_err(|source| HarnessError::Json {
        what: "vnu",
        source,
    })?;
    Ok(report
        .messages
        .into_iter()
        .filter(|m| m.kind == "error" || m.kind == "non-document-error")
        .map(|m| VnuMessage {
            file: m.url.as_deref().map(file_of_url).unwrap_or_default(),
            line: m.last_line,
            column: m.last_column,
            message: m.message,
            extract: m.extract,
        })
        .collect())
}

/// `file:/tmp/a.html` → `/tmp/a.html`; vnu writes plain paths after `file:` (spaces as `%20`).
fn file_of_url(url: &str) -> PathBuf {
    let path = url.strip_prefix("file:").unwrap_or(url);
    let path = path.strip_prefix("//").unwrap_or(path);
    Path::new(&path.replace("%20", " ")).to_path_buf()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_errors_and_drops_info() {
        let json = r#"{"messages":[
            {"type":"error","url":"file:/tmp/a.html","lastLine":3,"lastColumn":7,"message":"Stray end tag “span”.","extract":"x</span>"},
            {"type":"info","url":"file:/tmp/a.html","message":"just a note"},
            {"type":"non-document-error","url":"file:/tmp/missing.html","message":"not found"}
        ]}"#;
        let errors = parse(json).expect("valid vnu JSON");
        assert_eq!(errors.len(), 2);
        assert_eq!(errors[0].file, PathBuf::from("/tmp/a.html"));
        assert_eq!(errors[0].line, Some(3));
        assert_eq!(
            errors[0].to_string().lines().next(),
            Some("/tmp/a.html:3:7: Stray end tag “span”.")
        );
        assert_eq!(errors[1].file, PathBuf::from("/tmp/missing.html"));
        assert_eq!(errors[1].line, None);
    }

    #[test]
    fn rejects_output_that_is_not_vnu_json() {
        assert!(parse("Exception in thread main").is_err());
    }
}
