//! Content loading: `content/<lang>/**/*.md` files become [`SourcePage`]s (language, URL,
//! translation key, the front matter read by [`crate::load::front_matter`], the Markdown body).
//! Parsing is pure ([`parse_page`]); only [`load_language`] touches the disk.

use std::path::{Path, PathBuf};

use crate::load::front_matter::{self, FrontMatter, FrontMatterError};
use crate::load::lang::Lang;
use crate::load::source::{self, Location, SourceError, line_of};

/// A Markdown source file with its front matter parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct SourcePage {
    /// Language code, from the folder the file is in.
    pub lang: Lang,
    /// Path shown in messages, relative to the site root (`content/kk/privacy.md`).
    pub source: PathBuf,
    /// Path inside the language folder without `.md`, with `/` separators (`privacy`,
    /// `_index`, `help/_index`).
    pub rel_path: String,
    /// Pages with the same key in different languages are translations of each other.
    pub translation_key: String,
    /// Site-relative URL (`/kk/privacy/`, `/kk/`, `/kk/404.html`).
    pub url: String,
    pub front: FrontMatter,
    /// The Markdown after the closing `+++`.
    pub body: String,
    /// Line in the file where `body` starts, to point editors at Markdown problems.
    pub body_line: usize,
}

/// Why a content file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ContentError {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(
        "{0}: the file has no front matter. Start it with a line `+++`, then at least `title = \"...\"`, then a closing `+++` line."
    )]
    MissingFrontMatter(Location),
    #[error(
        "{0}: the front matter is not closed. Add a line with only `+++` after the last setting."
    )]
    UnclosedFrontMatter(Location),
    #[error(transparent)]
    FrontMatter(#[from] FrontMatterError),
    #[error(
        "{location}: this page has the same URL {url} as {other}. Give one of them another file name or `slug`."
    )]
    DuplicateUrl {
        location: Location,
        url: String,
        other: PathBuf,
    },
}

const FENCE: &str = "+++";

/// Parses one content file's text. `source` is only used in messages and to derive the URL;
/// `rel_path` is its path inside the language folder, without the `.md` extension.
pub fn parse_page(
    lang: &str,
    source: &Path,
    rel_path: &str,
    text: &str,
) -> Result<SourcePage, ContentError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let at = |line: usize| Location::new(source, line);
    let mut lines = text.split_inclusive('\n');
    let first = lines.next().unwrap_or("");
    if first.trim_end() != FENCE {
        return Err(ContentError::MissingFrontMatter(at(1)));
    }
    let fm_start = first.len();
    let mut offset = fm_start;
    let mut fm_end = None;
    for line in lines {
        if line.trim_end() == FENCE {
            fm_end = Some((offset, offset + line.len()));
            break;
        }
        offset += line.len();
    }
    let Some((fm_end, body_start)) = fm_end else {
        return Err(ContentError::UnclosedFrontMatter(at(1)));
    };
    let front = front_matter::parse(&text[fm_start..fm_end], source)?;
    let body = text[body_start..].to_owned();
    let body_line = line_of(text, body_start);
    let translation_key = front
        .translation_key
        .clone()
        .unwrap_or_else(|| rel_path.to_owned());
    let url = page_url(lang, rel_path, front.slug.as_deref());
    Ok(SourcePage {
        lang: Lang::new(lang),
        source: source.to_path_buf(),
        rel_path: rel_path.to_owned(),
        translation_key,
        url,
        front,
        body,
        body_line,
    })
}

/// The site-relative URL of a page: `_index` is its folder, `404` a plain `.html` file (web
/// servers look for that name), anything else a folder with `index.html`.
pub fn page_url(lang: &str, rel_path: &str, slug: Option<&str>) -> String {
    let (dir, name) = match rel_path.rsplit_once('/') {
        Some((dir, name)) => (format!("{dir}/"), name),
        None => (String::new(), rel_path),
    };
    if name == "_index" {
        return format!("/{lang}/{dir}");
    }
    if name == "404" {
        return format!("/{lang}/{dir}404.html");
    }
    let segment = slug.unwrap_or(name);
    format!("/{lang}/{dir}{segment}/")
}

/// Where a URL is written under the output folder, `/`-separated as every sink takes it:
/// `/kk/privacy/` -> `kk/privacy/index.html`.
pub fn output_path(url: &str) -> String {
    let trimmed = url.trim_start_matches('/');
    if trimmed.is_empty() || trimmed.ends_with('/') {
        format!("{trimmed}index.html")
    } else {
        trimmed.to_owned()
    }
}

/// Reads every `.md` file under `content/<lang>/`, sorted by path so builds are reproducible.
/// `root` is the site root; messages use paths relative to it.
pub fn load_language(root: &Path, lang: &Lang) -> Result<Vec<SourcePage>, ContentError> {
    let dir = root.join("content").join(lang.as_str());
    let markdown = |p: &Path| p.extension().is_some_and(|e| e == "md");
    source::read_tree(root, &dir, markdown)?
        .into_iter()
        .map(|file| {
            let rel = file.name.strip_suffix(".md").unwrap_or(&file.name);
            parse_page(lang.as_str(), &file.shown, rel, &file.text)
        })
        .collect()
}

/// Refuses two published pages that would be written to the same URL.
pub fn check_unique_urls(pages: &[SourcePage]) -> Result<(), ContentError> {
    let mut seen: std::collections::HashMap<&str, &SourcePage> = Default::default();
    for page in pages {
        if let Some(other) = seen.insert(page.url.as_str(), page) {
            return Err(ContentError::DuplicateUrl {
                location: Location::new(&page.source, 1),
                url: page.url.clone(),
                other: other.source.clone(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<SourcePage, ContentError> {
        parse_page("kk", Path::new("content/kk/privacy.md"), "privacy", text)
    }

    #[test]
    fn reads_front_matter_and_body() {
        let page = parse(
            "+++\ntitle = \"Саясат\"\ndate = 2024-02-11\nversion = \"2024-02\"\ntoc = true\ncolour = \"blue\"\n+++\n# Body\n",
        )
        .expect("valid");
        assert_eq!(page.front.title, "Саясат");
        assert_eq!(
            page.front.date,
            kelisim_manifest::dates::parse_date("2024-02-11")
        );
        assert_eq!(page.front.version.as_deref(), Some("2024-02"));
        assert!(page.front.toc);
        assert_eq!(
            page.front.extra.get("colour").and_then(|v| v.as_str()),
            Some("blue")
        );
        assert_eq!(page.body, "# Body\n");
        assert_eq!(page.body_line, 8);
        assert_eq!(page.url, "/kk/privacy/");
        assert_eq!(page.translation_key, "privacy");
    }

    #[test]
    fn urls_follow_the_file_layout() {
        assert_eq!(page_url("kk", "_index", None), "/kk/");
        assert_eq!(page_url("ru", "404", None), "/ru/404.html");
        assert_eq!(page_url("ru", "help/_index", None), "/ru/help/");
        assert_eq!(
            page_url("ru", "help/faq", Some("vopros")),
            "/ru/help/vopros/"
        );
        assert_eq!(output_path("/kk/"), "kk/index.html");
        assert_eq!(output_path("/"), "index.html");
        assert_eq!(output_path("/kk/404.html"), "kk/404.html");
    }

    #[test]
    fn bad_value_names_file_and_line() {
        let err = parse("+++\ntitle = \"T\"\n\ndraft = \"yes\"\n+++\n").expect_err("invalid");
        assert_eq!(
            err.to_string().split(": ").next(),
            Some("content/kk/privacy.md:4")
        );
        assert!(err.to_string().contains("true or false"));
    }

    #[test]
    fn toml_syntax_error_names_file_and_line() {
        let err = parse("+++\ntitle = \"T\"\ndate = = 1\n+++\n").expect_err("invalid");
        assert!(
            err.to_string().starts_with("content/kk/privacy.md:3:"),
            "{err}"
        );
    }

    #[test]
    fn missing_title_and_fences_are_explained() {
        assert!(matches!(
            parse("no front matter"),
            Err(ContentError::MissingFrontMatter(_))
        ));
        assert!(matches!(
            parse("+++\ntitle = \"T\"\n"),
            Err(ContentError::UnclosedFrontMatter(_))
        ));
        let err = parse("+++\n+++\n").expect_err("no title");
        assert!(err.to_string().contains("title"));
        let err = parse("+++\ntitle = \"T\"\nslug = \"a/b\"\n+++\n").expect_err("slug");
        assert!(err.to_string().starts_with("content/kk/privacy.md:3:"));
    }

    #[test]
    fn translation_key_overrides_path() {
        let page = parse("+++\ntitle = \"T\"\ntranslation_key = \"policy\"\n+++\n").expect("ok");
        assert_eq!(page.translation_key, "policy");
    }

    #[test]
    fn crlf_and_bom_are_accepted() {
        let page = parse("\u{feff}+++\r\ntitle = \"T\"\r\n+++\r\nBody\r\n").expect("ok");
        assert_eq!(page.front.title, "T");
        assert_eq!(page.body, "Body\r\n");
    }
}
