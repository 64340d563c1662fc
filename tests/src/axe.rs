//! Accessibility check with axe-core, run inside the real page in Chromium.
//!
//! The script comes from `tests/browser/node_modules/axe-core` (installed by
//! `scripts/install-test-deps` from the committed lock file), so every run uses the same rules.

use std::fmt;

use serde::Deserialize;
use serde_json::Value;

use crate::paths::{node_modules, require};
use crate::{Browser, HarnessError};

/// One failed axe rule on the current page, with the elements that fail it.
#[derive(Debug, Clone, Deserialize)]
pub struct AxeViolation {
    /// The rule id, e.g. `color-contrast`.
    pub id: String,
    /// `minor`, `moderate`, `serious` or `critical`.
    pub impact: Option<String>,
    /// One line saying what the rule wants.
    pub help: String,
    /// Deque's page explaining the rule and how to fix it.
    #[serde(rename = "helpUrl")]
    pub help_url: String,
    /// The failing elements.
    pub nodes: Vec<AxeNode>,
}

/// One element that fails a rule.
#[derive(Debug, Clone, Deserialize)]
pub struct AxeNode {
    /// CSS selector path to the element (one entry per frame level).
    pub target: Vec<Value>,
    /// axe's own explanation of what to fix on this element.
    #[serde(rename = "failureSummary", default)]
    pub failure_summary: Option<String>,
    /// The element's opening HTML, shortened by axe.
    #[serde(default)]
    pub html: String,
}

impl fmt::Display for AxeViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let impact = self.impact.as_deref().unwrap_or("unknown");
        writeln!(
            f,
            "[{impact}] {}: {} ({})",
            self.id, self.help, self.help_url
        )?;
        for node in &self.nodes {
            let target: Vec<String> = node
                .target
                .iter()
                .map(|t| t.as_str().map_or_else(|| t.to_string(), str::to_string))
                .collect();
            writeln!(f, "    at {}  {}", target.join(" >>> "), node.html)?;
            if let Some(summary) = &node.failure_summary {
                for line in summary.lines() {
                    writeln!(f, "       {line}")?;
                }
            }
        }
        Ok(())
    }
}

/// Formats violations for a failing assertion: page label, then every violation in full.
pub fn report(page: &str, violations: &[AxeViolation]) -> String {
    let mut out = format!("{} axe violation(s) on {page}:\n", violations.len());
    for violation in violations {
        out.push_str(&violation.to_string());
    }
    out
}

/// What the page-side script hands back: the violations, or why axe itself failed.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum AxeOutcome {
    Ran { violations: Vec<AxeViolation> },
    Failed { error: String },
}

/// Runs axe on the page currently open in `browser` and returns its violations.
///
/// Uses axe's default rule set: every rule it enables by default, which covers the WCAG 2.0 and
/// 2.1 A and AA rules and its best practices (experimental and AAA-only rules stay off).
pub async fn axe(browser: &Browser) -> Result<Vec<AxeViolation>, HarnessError> {
    let path = require(
        "axe-core (npm, tests/browser)",
        node_modules().join("axe-core").join("axe.min.js"),
    )?;
    let source = std::fs::read_to_string(&path)
        .map_err(|e| HarnessError::io(path.display().to_string(), e))?;
    let loaded: bool = browser
        .eval(
            &format!("{source}\n;return typeof window.axe === 'object';"),
            vec![],
        )
        .await?;
    if !loaded {
        return Err(HarnessError::Tool {
            what: "axe-core",
            detail: "the script did not define window.axe".to_string(),
        });
    }
    let outcome = browser
        .client()
        .execute_async(
            r#"
            const done = arguments[arguments.length - 1];
            window.axe.run(document, { resultTypes: ['violations'] }).then(
                (results) => done({
                    violations: results.violations.map((v) => ({
                        id: v.id,
                        impact: v.impact,
                        help: v.help,
                        helpUrl: v.helpUrl,
                        nodes: v.nodes.map((n) => ({
                            target: n.target,
                            failureSummary: n.failureSummary,
                            html: n.html,
                        })),
                    })),
                }),
                (error) => done({ error: String(error) }),
            );
            "#,
            vec![],
        )
        .await?;
    match serde_json::from_value::<AxeOutcome>(outcome.clone()) {
        Ok(AxeOutcome::Ran { violations }) => Ok(violations),
        Ok(AxeOutcome::Failed { error }) => Err(HarnessError::Tool {
            what: "axe-core",
            detail: error,
        }),
        Err(e) => Err(HarnessError::UnexpectedResult {
            what: "axe.run",
            detail: format!("{e}: got {outcome}"),
        }),
    }
}
