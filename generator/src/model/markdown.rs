//! Markdown to HTML with pulldown-cmark: tables, footnotes, strikethrough, heading ids
//! (explicit `{#id}` or a readable slug that keeps Cyrillic), and a table of contents of the
//! `h2`/`h3` headings for templates to show.

use std::collections::HashSet;

use pulldown_cmark::{CowStr, Event, HeadingLevel, Options, Parser, Tag, TagEnd};
use serde::Serialize;

/// A rendered Markdown body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rendered {
    /// The HTML fragment, exactly as it is inserted into the page.
    pub html: String,
    /// `h2` entries with their `h3` children, in document order.
    pub toc: Vec<TocEntry>,
    /// The plain text of each block (heading, paragraph, list item, table cell), white space
    /// collapsed, in document order: what a word-level diff of two policy versions compares.
    pub blocks: Vec<String>,
}

/// One heading in the table of contents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TocEntry {
    /// 2 or 3.
    pub level: u8,
    /// The heading's `id`, for `#fragment` links.
    pub id: String,
    /// The heading as plain text.
    pub title: String,
    pub children: Vec<TocEntry>,
}

fn options() -> Options {
    Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_HEADING_ATTRIBUTES
}

/// Renders Markdown. Never fails: CommonMark has no syntax errors, and heading ids are always
/// made unique (a later duplicate gets `-2`, `-3`, ...). `blocks` stays empty: only a policy
/// text needs them ([`render_with_blocks`]), and on a large site collecting them for every
/// page cost about a tenth of the render.
pub fn render(markdown: &str) -> Rendered {
    render_inner(markdown, false)
}

/// [`render`], with the plain text of every block for the word-level diff of policy versions.
pub fn render_with_blocks(markdown: &str) -> Rendered {
    render_inner(markdown, true)
}

fn render_inner(markdown: &str, with_blocks: bool) -> Rendered {
    let mut events: Vec<Event<'_>> = Parser::new_ext(markdown, options()).collect();

    // Explicit ids are reserved first so a generated slug never takes one of them.
    let mut used: HashSet<String> = events
        .iter()
        .filter_map(|e| match e {
            Event::Start(Tag::Heading { id: Some(id), .. }) => Some(id.to_string()),
            _ => None,
        })
        .collect();

    let mut toc: Vec<TocEntry> = Vec::new();
    let mut i = 0;
    while i < events.len() {
        let Event::Start(Tag::Heading { level, id, .. }) = &events[i] else {
            i += 1;
            continue;
        };
        let level = *level;
        let explicit = id.clone();
        let (title, j) = heading_text(&events, i + 1);
        let id = match explicit {
            Some(id) => id.to_string(),
            None => {
                let id = unique(&mut used, &slugify(&title));
                if let Event::Start(Tag::Heading { id: slot, .. }) = &mut events[i] {
                    *slot = Some(CowStr::from(id.clone()));
                }
                id
            }
        };
        let entry = TocEntry {
            level: if level == HeadingLevel::H2 { 2 } else { 3 },
            id,
            title,
            children: Vec::new(),
        };
        match level {
            HeadingLevel::H2 => toc.push(entry),
            HeadingLevel::H3 => match toc.last_mut() {
                Some(parent) => parent.children.push(entry),
                None => toc.push(entry),
            },
            _ => {}
        }
        i = j + 1;
    }

    let blocks = if with_blocks {
        plain_blocks(&events)
    } else {
        Vec::new()
    };
    let mut html = String::with_capacity(markdown.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut html, events.into_iter());
    Rendered { html, toc, blocks }
}

/// The plain text of every block: link text kept, URLs and markup dropped.
fn plain_blocks(events: &[Event<'_>]) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current = String::new();
    let mut flush = |current: &mut String| {
        let text = current.split_whitespace().collect::<Vec<_>>().join(" ");
        if !text.is_empty() {
            blocks.push(text);
        }
        current.clear();
    };
    for event in events {
        match event {
            Event::Start(Tag::Paragraph | Tag::Heading { .. } | Tag::Item | Tag::TableCell)
            | Event::End(
                TagEnd::Paragraph | TagEnd::Heading(_) | TagEnd::Item | TagEnd::TableCell,
            ) => flush(&mut current),
            Event::Text(t) | Event::Code(t) => current.push_str(t),
            Event::SoftBreak | Event::HardBreak => current.push(' '),
            _ => {}
        }
    }
    flush(&mut current);
    blocks
}

/// The plain text of the heading whose content starts at `events[from]`, white space
/// collapsed, and the index of its end.
fn heading_text(events: &[Event<'_>], from: usize) -> (String, usize) {
    let mut title = String::new();
    let mut j = from;
    while j < events.len() {
        match &events[j] {
            Event::End(TagEnd::Heading(_)) => break,
            Event::Text(t) | Event::Code(t) => title.push_str(t),
            Event::SoftBreak | Event::HardBreak => title.push(' '),
            _ => {}
        }
        j += 1;
    }
    (title.split_whitespace().collect::<Vec<_>>().join(" "), j)
}

/// A readable, stable id: lower case, letters and digits of any script kept (so Cyrillic
/// headings stay readable in the address bar), everything else collapsed into single hyphens.
pub fn slugify(text: &str) -> String {
    let mut slug = String::with_capacity(text.len());
    let mut pending_hyphen = false;
    for c in text.chars() {
        if c.is_alphanumeric() {
            if pending_hyphen && !slug.is_empty() {
                slug.push('-');
            }
            pending_hyphen = false;
            slug.extend(c.to_lowercase());
        } else {
            pending_hyphen = true;
        }
    }
    if slug.is_empty() {
        "section".to_owned()
    } else {
        slug
    }
}

fn unique(used: &mut HashSet<String>, base: &str) -> String {
    let mut candidate = base.to_owned();
    let mut n = 2;
    while used.contains(&candidate) {
        candidate = format!("{base}-{n}");
        n += 1;
    }
    used.insert(candidate.clone());
    candidate
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_keep_cyrillic_and_collapse_punctuation() {
        assert_eq!(slugify("1. Жалпы ережелер"), "1-жалпы-ережелер");
        assert_eq!(slugify("Права  субъекта — ПДн!"), "права-субъекта-пдн");
        assert_eq!(slugify("«Қорғау»"), "қорғау");
        assert_eq!(slugify("?!"), "section");
    }

    #[test]
    fn explicit_ids_win_and_duplicates_are_numbered() {
        let out = render("## Бөлім {#section-1}\n\n## Бөлім\n\n## Бөлім\n\n### section-1\n");
        assert!(
            out.html.contains(r#"<h2 id="section-1">Бөлім</h2>"#),
            "{}",
            out.html
        );
        assert!(out.html.contains(r#"<h2 id="бөлім">Бөлім</h2>"#));
        assert!(out.html.contains(r#"<h2 id="бөлім-2">Бөлім</h2>"#));
        assert!(out.html.contains(r#"<h3 id="section-1-2">section-1</h3>"#));
        assert_eq!(out.toc.len(), 3);
        assert_eq!(out.toc[2].children.len(), 1);
        assert_eq!(out.toc[2].children[0].id, "section-1-2");
    }

    #[test]
    fn toc_uses_plain_text_of_h2_and_h3_only() {
        let out = render("# Title\n\n## A *b* `c`\n\n### Sub\n\n#### Deep\n");
        assert_eq!(out.toc.len(), 1);
        assert_eq!(out.toc[0].title, "A b c");
        assert_eq!(out.toc[0].children[0].title, "Sub");
        assert!(out.toc[0].children[0].children.is_empty());
    }

    #[test]
    fn tables_footnotes_and_strikethrough() {
        let out = render("| a | b |\n|---|---|\n| 1 | 2 |\n\nText[^n] ~~old~~\n\n[^n]: Note.\n");
        assert!(out.html.contains("<table>"));
        assert!(out.html.contains("<del>old</del>"));
        assert!(out.html.contains("footnote-definition"));
    }

    #[test]
    fn blocks_are_the_plain_text_of_headings_paragraphs_and_items() {
        assert!(render("a\n\nb\n").blocks.is_empty(), "only for policies");
        let out = render_with_blocks(
            "## 1. Title {#section-1}\n\nA [link](/x/) and\n*more*.\n\n- one\n- two `code`\n",
        );
        assert_eq!(
            out.blocks,
            ["1. Title", "A link and more.", "one", "two code"]
        );
    }
}
