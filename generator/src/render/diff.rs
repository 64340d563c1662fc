//! The word-level difference between two policy versions: for the editor in the terminal
//! (`kelisim policy diff`) and for visitors on the generated "what changed" page (§12.2).
//!
//! Both compare the plain text of each block (heading, paragraph, list item) of the two
//! versions: blocks are matched first, so a new paragraph shows as one addition, then the
//! words of each changed block are compared (the `similar` crate's Patience diff).

use similar::{Algorithm, ChangeTag, DiffOp, TextDiff};

use crate::load::i18n::escape_html;

/// A run of words in a changed block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Words {
    Same(String),
    Removed(String),
    Added(String),
}

/// How one block differs between the versions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlockChange {
    /// Only in the newer version.
    Added(String),
    /// Only in the older version.
    Removed(String),
    /// In both, with some words changed.
    Changed(Vec<Words>),
}

/// The changed blocks from `old` to `new`, in document order (unchanged blocks left out).
pub fn diff(old: &[String], new: &[String]) -> Vec<BlockChange> {
    let mut changes = Vec::new();
    for op in similar::capture_diff_slices(Algorithm::Patience, old, new) {
        match op {
            DiffOp::Equal { .. } => {}
            DiffOp::Delete {
                old_index, old_len, ..
            } => changes.extend(
                old[old_index..old_index + old_len]
                    .iter()
                    .cloned()
                    .map(BlockChange::Removed),
            ),
            DiffOp::Insert {
                new_index, new_len, ..
            } => changes.extend(
                new[new_index..new_index + new_len]
                    .iter()
                    .cloned()
                    .map(BlockChange::Added),
            ),
            DiffOp::Replace {
                old_index,
                old_len,
                new_index,
                new_len,
            } => {
                let olds = &old[old_index..old_index + old_len];
                let news = &new[new_index..new_index + new_len];
                // Pair the replaced blocks in order; what is left over was added or removed.
                for (a, b) in olds.iter().zip(news) {
                    changes.push(BlockChange::Changed(words(a, b)));
                }
                changes.extend(
                    olds.iter()
                        .skip(news.len())
                        .cloned()
                        .map(BlockChange::Removed),
                );
                changes.extend(
                    news.iter()
                        .skip(olds.len())
                        .cloned()
                        .map(BlockChange::Added),
                );
            }
        }
    }
    changes
}

/// The word-level difference of two versions of one block, runs merged.
fn words(old: &str, new: &str) -> Vec<Words> {
    let diff = TextDiff::configure()
        .algorithm(Algorithm::Patience)
        .diff_words(old, new);
    let mut runs: Vec<Words> = Vec::new();
    for change in diff.iter_all_changes() {
        let value = change.value();
        let same_kind = matches!(
            (runs.last(), change.tag()),
            (Some(Words::Same(_)), ChangeTag::Equal)
                | (Some(Words::Removed(_)), ChangeTag::Delete)
                | (Some(Words::Added(_)), ChangeTag::Insert)
        );
        if same_kind {
            if let Some(Words::Same(t) | Words::Removed(t) | Words::Added(t)) = runs.last_mut() {
                t.push_str(value);
            }
        } else {
            runs.push(match change.tag() {
                ChangeTag::Equal => Words::Same(value.to_owned()),
                ChangeTag::Delete => Words::Removed(value.to_owned()),
                ChangeTag::Insert => Words::Added(value.to_owned()),
            });
        }
    }
    join_changes_across_spaces(runs)
}

/// A removed-and-added pair, or unchanged text.
enum Segment {
    Same(String),
    Change { removed: String, added: String },
}

/// "[-one-]{+two+} [-year-]{+years+}" reads better as "[-one year-]{+two years+}": changes
/// separated only by white space become one change.
fn join_changes_across_spaces(runs: Vec<Words>) -> Vec<Words> {
    flatten(join_across_blanks(segments(runs)))
}

/// The runs as segments: each run of removed and added words between unchanged ones is one
/// change.
fn segments(runs: Vec<Words>) -> Vec<Segment> {
    let mut segments: Vec<Segment> = Vec::new();
    for run in runs {
        match (segments.last_mut(), run) {
            (_, Words::Same(text)) => segments.push(Segment::Same(text)),
            (Some(Segment::Change { removed, .. }), Words::Removed(text)) => {
                removed.push_str(&text)
            }
            (Some(Segment::Change { added, .. }), Words::Added(text)) => added.push_str(&text),
            (_, Words::Removed(text)) => segments.push(Segment::Change {
                removed: text,
                added: String::new(),
            }),
            (_, Words::Added(text)) => segments.push(Segment::Change {
                removed: String::new(),
                added: text,
            }),
        }
    }
    segments
}

/// Two changes with only white space between them as one change.
fn join_across_blanks(segments: Vec<Segment>) -> Vec<Segment> {
    let mut joined: Vec<Segment> = Vec::new();
    let mut rest = segments.into_iter().peekable();
    while let Some(segment) = rest.next() {
        let blank = matches!(&segment, Segment::Same(t) if t.trim().is_empty());
        let between_changes = matches!(joined.last(), Some(Segment::Change { .. }))
            && matches!(rest.peek(), Some(Segment::Change { .. }));
        if let (true, true, Segment::Same(space)) = (blank, between_changes, &segment)
            && let (
                Some(Segment::Change { removed, added }),
                Some(Segment::Change {
                    removed: r,
                    added: a,
                }),
            ) = (joined.last_mut(), rest.next())
        {
            for (side, next) in [(removed, r), (added, a)] {
                if !side.is_empty() || !next.is_empty() {
                    side.push_str(space);
                }
                side.push_str(&next);
            }
            continue;
        }
        joined.push(segment);
    }
    joined
}

/// The segments as runs again: a change is its removed words, then its added words.
fn flatten(segments: Vec<Segment>) -> Vec<Words> {
    let mut out = Vec::new();
    for segment in segments {
        match segment {
            Segment::Same(text) => out.push(Words::Same(text)),
            Segment::Change { removed, added } => {
                if !removed.is_empty() {
                    out.push(Words::Removed(removed));
                }
                if !added.is_empty() {
                    out.push(Words::Added(added));
                }
            }
        }
    }
    out
}

/// The changes as plain text for a terminal, like `git diff --word-diff=plain`: removed words
/// in `[-…-]`, added words in `{+…+}`, one changed block per paragraph, prefixed `~`, `-` or `+`.
pub fn to_text(changes: &[BlockChange]) -> String {
    let mut out = String::new();
    for change in changes {
        match change {
            BlockChange::Added(text) => out.push_str(&format!("+ {{+{text}+}}\n\n")),
            BlockChange::Removed(text) => out.push_str(&format!("- [-{text}-]\n\n")),
            BlockChange::Changed(runs) => {
                out.push_str("~ ");
                for run in runs {
                    match run {
                        Words::Same(t) => out.push_str(t),
                        Words::Removed(t) => out.push_str(&format!("[-{t}-]")),
                        Words::Added(t) => out.push_str(&format!("{{+{t}+}}")),
                    }
                }
                out.push_str("\n\n");
            }
        }
    }
    out
}

/// The words a visitor's page labels each kind of change with (from the UI strings).
#[derive(Debug, Clone)]
pub struct ChangeLabels {
    pub added: String,
    pub removed: String,
    pub changed: String,
}

/// The changes as an HTML list: `<del>` and `<ins>` inside each changed block, each block
/// labelled in words (so the meaning does not depend on colour or strike-through).
pub fn to_html(changes: &[BlockChange], labels: &ChangeLabels) -> String {
    let mut out = String::from("<ol class=\"policy-changes\">\n");
    for change in changes {
        let (label, body) = match change {
            BlockChange::Added(text) => {
                (&labels.added, format!("<ins>{}</ins>", escape_html(text)))
            }
            BlockChange::Removed(text) => {
                (&labels.removed, format!("<del>{}</del>", escape_html(text)))
            }
            BlockChange::Changed(runs) => (
                &labels.changed,
                runs.iter()
                    .map(|run| match run {
                        Words::Same(t) => escape_html(t),
                        Words::Removed(t) => format!("<del>{}</del>", escape_html(t)),
                        Words::Added(t) => format!("<ins>{}</ins>", escape_html(t)),
                    })
                    .collect(),
            ),
        };
        out.push_str(&format!(
            "<li><p class=\"change-kind\">{label}</p>\n<p>{body}</p></li>\n"
        ));
    }
    out.push_str("</ol>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blocks(text: &[&str]) -> Vec<String> {
        text.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn words_changed_inside_a_block_are_marked_and_new_blocks_are_whole() {
        let old = blocks(&["1. Title", "The operator keeps data for one year.", "Gone."]);
        let new = blocks(&[
            "1. Title",
            "The operator keeps data for two years.",
            "A new clause.",
        ]);
        let changes = diff(&old, &new);
        assert_eq!(
            to_text(&changes),
            "~ The operator keeps data for [-one year.-]{+two years.+}\n\n~ [-Gone.-]{+A new clause.+}\n\n"
        );
        let inserted = diff(&old[..1], &new[..2]);
        assert_eq!(
            inserted,
            vec![BlockChange::Added(new[1].clone())],
            "an added paragraph is one addition"
        );
        assert!(diff(&old, &old).is_empty());
    }

    #[test]
    fn html_escapes_the_text_and_labels_each_change() {
        let changes = diff(&blocks(&["a <b>"]), &blocks(&["a <c>"]));
        let labels = ChangeLabels {
            added: "Added".into(),
            removed: "Removed".into(),
            changed: "Changed".into(),
        };
        let html = to_html(&changes, &labels);
        assert!(
            html.contains("<p class=\"change-kind\">Changed</p>\n<p>a <del>&lt;b&gt;</del><ins>&lt;c&gt;</ins></p>"),
            "{html}"
        );
    }
}
