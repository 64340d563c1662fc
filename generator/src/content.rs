//! Content loading: `content/<lang>/**/*.md` files become [`SourcePage`]s (front matter,
//! language, URL, translation key, draft flag). Parsing is pure ([`parse_page`]); only
//! [`load_language`] touches the disk.

use std::path::{Path, PathBuf};

use time::Date;
use toml::Value;

use crate::lang::Lang;
use crate::source::{self, Location, SourceError, line_of};

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

/// TOML front matter between `+++` lines.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FrontMatter {
    pub title: String,
    pub description: Option<String>,
    /// Template file name; `None` picks the default for the page kind.
    pub template: Option<String>,
    /// Line of `template = ...`, so an unknown template can be reported where it is written.
    pub template_line: usize,
    pub date: Option<Date>,
    pub updated: Option<Date>,
    /// Drafts are not published.
    pub draft: bool,
    /// Ordering among sibling pages (lower first).
    pub weight: i64,
    /// Overrides the last URL segment (defaults to the file name).
    pub slug: Option<String>,
    pub translation_key: Option<String>,
    /// Policy pages: the version string, part of the permanent URL.
    pub version: Option<String>,
    /// Line of `version = ...` (2 when absent), so archive errors point at the value.
    pub version_line: usize,
    pub effective_date: Option<Date>,
    /// Whether the template should show a table of contents.
    pub toc: bool,
    /// For a translated page: the language of the original.
    pub translation_of: Option<String>,
    /// `noindex = true`: the page is not content for search engines (a result, confirmation or
    /// error page). It gets `<meta name="robots" content="noindex">` and is left out of
    /// `sitemap.xml`; its hreflang links stay. `None` leaves it to the page kind's default.
    pub noindex: Option<bool>,
    /// Every other key, passed to templates as `page.extra`.
    pub extra: toml::Table,
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
    #[error("{location}: {message}")]
    FrontMatter { location: Location, message: String },
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
    let fm_text = &text[fm_start..fm_end];
    // Line numbers inside the front matter are offset by the opening `+++` line.
    let fm_line = |offset: usize| line_of(fm_text, offset) + 1;
    let table: toml::Table = toml::from_str(fm_text).map_err(|e| ContentError::FrontMatter {
        location: at(e.span().map(|s| fm_line(s.start)).unwrap_or(2)),
        message: format!(
            "the front matter is not valid TOML ({}). Write settings as `key = \"value\"`, one per line.",
            e.message().trim().replace('\n', "; ")
        ),
    })?;
    let front = FrontMatterReader {
        table,
        fm_text,
        source,
    }
    .read()?;
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

/// Where a URL is written under the output folder: `/kk/privacy/` -> `kk/privacy/index.html`.
pub fn output_path(url: &str) -> PathBuf {
    let trimmed = url.trim_start_matches('/');
    if trimmed.is_empty() || trimmed.ends_with('/') {
        PathBuf::from(format!("{trimmed}index.html"))
    } else {
        PathBuf::from(trimmed)
    }
}

struct FrontMatterReader<'a> {
    table: toml::Table,
    fm_text: &'a str,
    source: &'a Path,
}

impl FrontMatterReader<'_> {
    fn read(mut self) -> Result<FrontMatter, ContentError> {
        let title = self
            .string("title")?
            .ok_or_else(|| ContentError::FrontMatter {
                location: Location::new(self.source, 1),
                message: "the page has no title. Add `title = \"...\"` to its front matter."
                    .to_owned(),
            })?;
        let template_line = self.key_line("template");
        let version_line = self.key_line("version");
        let front = FrontMatter {
            title,
            description: self.string("description")?,
            template: self.string("template")?,
            template_line,
            date: self.date("date")?,
            updated: self.date("updated")?,
            draft: self.bool("draft")?.unwrap_or(false),
            weight: self.integer("weight")?.unwrap_or(0),
            slug: self.slug()?,
            translation_key: self.string("translation_key")?,
            version: self.version()?,
            version_line,
            effective_date: self.date("effective_date")?,
            toc: self.bool("toc")?.unwrap_or(false),
            translation_of: self.string("translation_of")?,
            noindex: self.bool("noindex")?,
            extra: std::mem::take(&mut self.table),
        };
        Ok(front)
    }

    /// The line a top-level key is written on (the closest we can get without spans).
    fn key_line(&self, key: &str) -> usize {
        let mut offset = 0;
        for line in self.fm_text.split_inclusive('\n') {
            let trimmed = line.trim_start();
            if let Some(rest) = trimmed.strip_prefix(key)
                && rest.trim_start().starts_with('=')
            {
                return line_of(self.fm_text, offset) + 1;
            }
            offset += line.len();
        }
        2
    }

    fn wrong(&self, key: &str, expected: &str) -> ContentError {
        ContentError::FrontMatter {
            location: Location::new(self.source, self.key_line(key)),
            message: format!("`{key}` must be {expected}. Fix the value and build again."),
        }
    }

    fn string(&mut self, key: &str) -> Result<Option<String>, ContentError> {
        match self.table.remove(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(self.wrong(key, "text in quotes, like `\"...\"`")),
        }
    }

    fn bool(&mut self, key: &str) -> Result<Option<bool>, ContentError> {
        match self.table.remove(key) {
            None => Ok(None),
            Some(Value::Boolean(b)) => Ok(Some(b)),
            Some(_) => Err(self.wrong(key, "true or false (without quotes)")),
        }
    }

    fn integer(&mut self, key: &str) -> Result<Option<i64>, ContentError> {
        match self.table.remove(key) {
            None => Ok(None),
            Some(Value::Integer(i)) => Ok(Some(i)),
            Some(_) => Err(self.wrong(key, "a whole number, like `10`")),
        }
    }

    /// Dates may be written as TOML dates (`2024-02-11`) or strings (`"2024-02-11"`).
    fn date(&mut self, key: &str) -> Result<Option<Date>, ContentError> {
        let expected = "a date written YYYY-MM-DD, like `2024-02-11`";
        let text = match self.table.remove(key) {
            None => return Ok(None),
            Some(Value::String(s)) => s,
            Some(Value::Datetime(dt)) => match dt.date {
                Some(d) if dt.time.is_none() => {
                    format!("{:04}-{:02}-{:02}", d.year, d.month, d.day)
                }
                _ => return Err(self.wrong(key, expected)),
            },
            Some(_) => return Err(self.wrong(key, expected)),
        };
        parse_date(&text)
            .map(Some)
            .ok_or_else(|| self.wrong(key, expected))
    }

    fn slug(&mut self) -> Result<Option<String>, ContentError> {
        let slug = self.string("slug")?;
        match slug {
            Some(s) if !is_url_segment(&s) => Err(self.wrong(
                "slug",
                "one URL segment: letters, digits and hyphens, no `/`",
            )),
            other => Ok(other),
        }
    }

    fn version(&mut self) -> Result<Option<String>, ContentError> {
        // Versions may be written as numbers (`version = 1`) or text (`version = "2024-02"`).
        let version = match self.table.remove("version") {
            None => None,
            Some(Value::String(s)) => Some(s),
            Some(Value::Integer(i)) => Some(i.to_string()),
            Some(Value::Float(f)) => Some(f.to_string()),
            Some(_) => return Err(self.wrong("version", "text like `\"2024-02-11\"`")),
        };
        match version {
            Some(v) if !is_url_segment(&v) => Err(self.wrong(
                "version",
                "usable in a URL: letters, digits, dots and hyphens only",
            )),
            other => Ok(other),
        }
    }
}

fn is_url_segment(s: &str) -> bool {
    !s.is_empty()
        && s != "."
        && s != ".."
        && s.chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// A front-matter field a policy page lacks, with an example of how to write it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingPolicyField {
    /// The page's file (line 1: the field is missing, so it has no line of its own).
    pub location: Location,
    pub field: &'static str,
    pub example: &'static str,
}

impl FrontMatter {
    /// `version` and `effective_date`: every policy page, current or archived, needs both,
    /// because the consent manifest names them.
    /// `source` is the page's file, for the message.
    pub fn policy_version(&self, source: &Path) -> Result<(String, Date), MissingPolicyField> {
        let missing = |field, example| MissingPolicyField {
            location: Location::new(source, 1),
            field,
            example,
        };
        let version = (self.version.clone()).ok_or_else(|| missing("version", "\"1.0\""))?;
        let effective_date =
            (self.effective_date).ok_or_else(|| missing("effective_date", "2024-02-11"))?;
        Ok((version, effective_date))
    }
}

/// Parses `YYYY-MM-DD`.
pub fn parse_date(text: &str) -> Option<Date> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(text.trim(), &format).ok()
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
        assert_eq!(page.front.date, parse_date("2024-02-11"));
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
        assert_eq!(output_path("/kk/"), PathBuf::from("kk/index.html"));
        assert_eq!(output_path("/"), PathBuf::from("index.html"));
        assert_eq!(output_path("/kk/404.html"), PathBuf::from("kk/404.html"));
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
