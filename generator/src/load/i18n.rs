//! UI strings: one Fluent bundle per language from `locales/<lang>/*.ftl`.
//!
//! Message *text* is trusted HTML written by the site's translators (it may contain a link);
//! every *argument* is HTML-escaped before it is inserted, and numbers are passed as Fluent
//! numbers so CLDR plural rules apply (kk: one/other; ru: one/few/many/other). Bidi isolation
//! marks are switched off: they would end up as invisible characters in the HTML.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use unic_langid::LanguageIdentifier;

use crate::load::source::{Location, SourceError, line_of, read_text};

type Bundle = FluentBundle<FluentResource>;

/// All languages' bundles.
pub struct Locales {
    default: String,
    bundles: BTreeMap<String, Bundle>,
    /// Where each message was defined, for messages that point editors at the `.ftl` line.
    origins: BTreeMap<(String, String), Location>,
    /// Each language's `relay.ftl` as written: the relay's own messages, shipped to it in the
    /// consent manifest (plain text, not HTML; the relay formats them itself).
    relay_sources: BTreeMap<String, String>,
    /// Each message's source text by (language, id), and each language's terms: what
    /// [`Locales::changed_keys`] compares.
    texts: BTreeMap<(String, String), String>,
    terms: BTreeMap<String, Vec<String>>,
    /// Which messages each page's render formatted, and which were formatted outside any
    /// page: what the preview re-renders after a string edit.
    usage: Mutex<StringUse>,
    /// Whether `usage` is kept: only the preview needs it, so a build pays nothing for it.
    tracking: AtomicBool,
}

/// Which message ids were formatted where (by page URL, or elsewhere).
#[derive(Debug, Clone, Default)]
pub struct StringUse {
    pub by_page: HashMap<String, BTreeSet<String>>,
    pub elsewhere: BTreeSet<String>,
}

thread_local! {
    /// The ids formatted so far by the page this thread is rendering, if it is rendering one.
    static PAGE_KEYS: RefCell<Option<BTreeSet<String>>> = const { RefCell::new(None) };
}

impl std::fmt::Debug for Locales {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Locales")
            .field("default", &self.default)
            .field("languages", &self.bundles.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// An argument for a message.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    /// Selects plural forms (`{ $count -> [one] ... }`).
    Number(f64),
    /// Inserted HTML-escaped.
    Text(String),
}

/// A formatted message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Translation {
    /// The message as HTML: trusted message text with escaped arguments.
    pub html: String,
    /// Set when the language lacks the key and the default language's text was used.
    pub fell_back: bool,
}

/// Why the UI strings could not be loaded or a message could not be formatted.
#[derive(Debug, thiserror::Error)]
pub enum LocaleError {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(
        "{location}: Fluent syntax error: {message}. Messages look like `key = Text`, continuation lines are indented."
    )]
    Syntax { location: Location, message: String },
    #[error("{location}: the message `{key}` is defined twice for this language. Keep one.")]
    Duplicate { location: Location, key: String },
    #[error(
        "locales/{lang}/ has no .ftl files. Add the UI strings for `{lang}` (copy another language's files and translate them)."
    )]
    NoStrings { lang: String },
    #[error(
        "the message `{key}` exists in no language. Add `{key} = ...` to locales/{default}/*.ftl."
    )]
    Missing { key: String, default: String },
    #[error("{location}: the message `{key}` could not be formatted: {message}.")]
    Format {
        location: Location,
        key: String,
        message: String,
    },
    #[error("`{0}` is not a language tag Fluent understands.")]
    BadLanguage(String),
}

/// The file holding the relay's messages in each `locales/<lang>/`.
pub const RELAY_FILE: &str = "relay.ftl";

/// The file holding the operator's console's words in each `locales/<lang>/`: built into
/// `kelisim-relay` (no page uses them, and they are not shipped in the manifest).
pub const CONSOLE_FILE: &str = "console.ftl";

impl Locales {
    /// Reads `locales/<lang>/*.ftl` for every language (files sorted by name).
    pub fn load(root: &Path, languages: &[String], default: &str) -> Result<Self, LocaleError> {
        let mut sources = Vec::new();
        for lang in languages {
            let dir = root.join("locales").join(lang);
            let mut files: Vec<PathBuf> = match std::fs::read_dir(&dir) {
                Ok(entries) => entries
                    .filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("ftl"))
                    .collect(),
                Err(_) => Vec::new(),
            };
            files.sort();
            if files.is_empty() {
                return Err(LocaleError::NoStrings { lang: lang.clone() });
            }
            for path in files {
                let shown = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
                let text = read_text(&path, &shown)?;
                sources.push((lang.clone(), shown, text));
            }
        }
        let relay_sources = sources
            .iter()
            .filter(|(_, file, _)| file.file_name().is_some_and(|n| n == RELAY_FILE))
            .map(|(lang, _, text)| (lang.clone(), text.clone()))
            .collect();
        let mut locales = Self::from_sources(default, sources)?;
        locales.relay_sources = relay_sources;
        Ok(locales)
    }

    /// The Fluent source of `locales/<lang>/relay.ftl`, or "" when the language has none.
    pub fn relay_source(&self, lang: &str) -> &str {
        self.relay_sources.get(lang).map_or("", String::as_str)
    }

    /// Builds the bundles from `(language, file shown in messages, text)` triples.
    pub fn from_sources(
        default: &str,
        sources: Vec<(String, PathBuf, String)>,
    ) -> Result<Self, LocaleError> {
        let mut bundles: BTreeMap<String, Bundle> = BTreeMap::new();
        let mut origins = BTreeMap::new();
        let mut texts = BTreeMap::new();
        let mut terms: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (lang, file, text) in sources {
            let resource = parse_resource(&file, text)?;
            for (id, is_term, source) in entry_texts(&resource) {
                if is_term {
                    terms.entry(lang.clone()).or_default().push(source);
                } else {
                    texts.insert((lang.clone(), id), source);
                }
            }
            record_origins(&mut origins, &lang, &file, &resource)?;
            // Duplicates were rejected above with a better message, so this only fails for
            // terms (`-brand`) defined twice.
            bundle_of(&mut bundles, &lang)?
                .add_resource(resource)
                .map_err(|_| LocaleError::Duplicate {
                    location: Location::new(&file, 1),
                    key: "(a term)".to_owned(),
                })?;
        }
        Ok(Self {
            default: default.to_owned(),
            bundles,
            origins,
            relay_sources: BTreeMap::new(),
            texts,
            terms,
            usage: Mutex::default(),
            tracking: AtomicBool::new(false),
        })
    }

    /// Runs `render` (one page's render, on this thread) noting every message it formats as
    /// used by the page at `url`.
    pub fn recording_page<T>(&self, url: &str, render: impl FnOnce() -> T) -> T {
        if !self.tracking.load(Ordering::Relaxed) {
            return render();
        }
        PAGE_KEYS.with(|keys| *keys.borrow_mut() = Some(BTreeSet::new()));
        let out = render();
        let used = PAGE_KEYS
            .with(|keys| keys.borrow_mut().take())
            .unwrap_or_default();
        self.usage
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .by_page
            .insert(url.to_owned(), used);
        out
    }

    /// Keeps, from now on, which messages each page's render formats (see
    /// [`Locales::recording_page`]).
    pub fn track_usage(&self) {
        self.tracking.store(true, Ordering::Relaxed);
    }

    fn note_use(&self, key: &str) {
        if !self.tracking.load(Ordering::Relaxed) {
            return;
        }
        let id = split_key(key).0;
        let in_page = PAGE_KEYS.with(|keys| match keys.borrow_mut().as_mut() {
            Some(keys) => {
                keys.insert(id.to_owned());
                true
            }
            None => false,
        });
        if !in_page {
            self.usage
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .elsewhere
                .insert(id.to_owned());
        }
    }

    /// Reads which messages were formatted where, so far (without copying it).
    pub fn with_usage<T>(&self, read: impl FnOnce(&StringUse) -> T) -> T {
        read(&self.usage.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Takes over `older`'s usage for every page this (newer) set has not rendered itself:
    /// called once the pages a string edit touched were rendered again with this set.
    /// `older` is left without usage; it is being replaced.
    pub fn adopt_usage(&self, older: &Locales) {
        let mut inherited =
            std::mem::take(&mut *older.usage.lock().unwrap_or_else(PoisonError::into_inner));
        let mut own = self.usage.lock().unwrap_or_else(PoisonError::into_inner);
        inherited.by_page.extend(std::mem::take(&mut own.by_page));
        inherited.elsewhere.append(&mut own.elsewhere);
        *own = inherited;
    }

    /// The message ids whose text differs between `self` and `newer` in any language. `None`
    /// when more changed than messages alone: a term, the relay's file, the languages, or a
    /// changed message that another message refers to (its text then changes too).
    pub fn changed_keys(&self, newer: &Locales) -> Option<BTreeSet<String>> {
        if self.terms != newer.terms
            || self.relay_sources != newer.relay_sources
            || self.bundles.keys().ne(newer.bundles.keys())
        {
            return None;
        }
        let all: BTreeSet<&(String, String)> =
            self.texts.keys().chain(newer.texts.keys()).collect();
        let changed: BTreeSet<String> = all
            .into_iter()
            .filter(|k| self.texts.get(*k) != newer.texts.get(*k))
            .map(|(_, id)| id.clone())
            .collect();
        let referenced = newer
            .texts
            .iter()
            .chain(&self.texts)
            .any(|((_, id), text)| {
                changed
                    .iter()
                    .any(|key| key != id && text.contains(key.as_str()))
            });
        (!referenced).then_some(changed)
    }

    /// The default language, whose strings stand in for missing ones.
    pub fn default_language(&self) -> &str {
        &self.default
    }

    /// Whether `lang` defines `key` itself (`key` may be `message.attribute`).
    pub fn has(&self, lang: &str, key: &str) -> bool {
        let (id, attr) = split_key(key);
        self.bundles
            .get(lang)
            .and_then(|b| b.get_message(id))
            .is_some_and(|m| match attr {
                Some(a) => m.get_attribute(a).is_some(),
                None => m.value().is_some(),
            })
    }

    /// The Fluent source of message `key` in `lang`, as written.
    pub fn source_of(&self, lang: &str, key: &str) -> Option<&str> {
        self.texts
            .get(&(lang.to_owned(), key.to_owned()))
            .map(String::as_str)
    }

    /// Where `key` is defined in `lang` (`locales/kk/main.ftl:12`).
    pub fn origin(&self, lang: &str, key: &str) -> Option<&Location> {
        self.origins.get(&(lang.to_owned(), key.to_owned()))
    }

    /// Every message id defined for `lang`.
    pub fn keys(&self, lang: &str) -> Vec<String> {
        self.origins
            .keys()
            .filter(|(l, _)| l == lang)
            .map(|(_, k)| k.clone())
            .collect()
    }

    /// Formats `key` in `lang`, falling back to the default language when the key is missing
    /// there (the caller reports the fallback as a warning).
    pub fn format(
        &self,
        lang: &str,
        key: &str,
        args: &[(String, Arg)],
    ) -> Result<Translation, LocaleError> {
        self.note_use(key);
        let missing = || LocaleError::Missing {
            key: key.to_owned(),
            default: self.default.clone(),
        };
        let (source_lang, fell_back) = if self.has(lang, key) {
            (lang, false)
        } else if self.has(&self.default, key) {
            (self.default.as_str(), lang != self.default)
        } else {
            return Err(missing());
        };
        let (id, attr) = split_key(key);
        let bundle = self.bundles.get(source_lang).ok_or_else(missing)?;
        let pattern = bundle.get_message(id).and_then(|m| match attr {
            Some(a) => m.get_attribute(a).map(|a| a.value()),
            None => m.value(),
        });
        let pattern = pattern.ok_or_else(missing)?;
        let mut errors = Vec::new();
        let html = bundle
            .format_pattern(pattern, Some(&fluent_args(args)), &mut errors)
            .into_owned();
        if let Some(error) = errors.first() {
            let location = self
                .origins
                .get(&(source_lang.to_owned(), id.to_owned()))
                .cloned()
                .unwrap_or_else(|| Location::new(format!("locales/{source_lang}"), 1));
            return Err(LocaleError::Format {
                location,
                key: key.to_owned(),
                message: format!("{error} (is an argument missing in the template's t() call?)"),
            });
        }
        Ok(Translation { html, fell_back })
    }
}

/// Numbers stay numbers (plural rules); text is HTML-escaped.
fn fluent_args(args: &[(String, Arg)]) -> FluentArgs<'_> {
    let mut fluent_args = FluentArgs::new();
    for (name, value) in args {
        let value = match value {
            Arg::Number(n) if n.fract() == 0.0 && n.abs() < 1e15 => FluentValue::from(*n as i64),
            Arg::Number(n) => FluentValue::from(*n),
            Arg::Text(t) => FluentValue::from(escape_html(t)),
        };
        fluent_args.set(name.clone(), value);
    }
    fluent_args
}

/// Notes where each message of `resource` is defined, refusing one `lang` already has.
fn record_origins(
    origins: &mut BTreeMap<(String, String), Location>,
    lang: &str,
    file: &Path,
    resource: &FluentResource,
) -> Result<(), LocaleError> {
    for entry in resource.entries() {
        if let fluent_syntax::ast::Entry::Message(m) = entry {
            let offset = m.id.name.as_ptr() as usize - text_start(resource);
            let location = Location::new(file, line_of(resource.source(), offset));
            let key = (lang.to_owned(), m.id.name.to_owned());
            if origins.contains_key(&key) {
                return Err(LocaleError::Duplicate {
                    location,
                    key: key.1,
                });
            }
            origins.insert(key, location);
        }
    }
    Ok(())
}

/// The bundle of `lang`, made on first use (without bidi isolation marks).
fn bundle_of<'b>(
    bundles: &'b mut BTreeMap<String, Bundle>,
    lang: &str,
) -> Result<&'b mut Bundle, LocaleError> {
    Ok(match bundles.entry(lang.to_owned()) {
        std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
        std::collections::btree_map::Entry::Vacant(e) => {
            let id: LanguageIdentifier = lang
                .parse()
                .map_err(|_| LocaleError::BadLanguage(lang.to_owned()))?;
            let mut bundle = Bundle::new_concurrent(vec![id]);
            bundle.set_use_isolating(false);
            e.insert(bundle)
        }
    })
}

/// One `.ftl` file parsed; a syntax error names the file and line.
fn parse_resource(file: &Path, text: String) -> Result<FluentResource, LocaleError> {
    FluentResource::try_new(text).map_err(|(resource, errors)| {
        let text = resource.source();
        let first = errors.first();
        // An error at the very end (an unclosed `{`) points past the last newline; the last
        // written line is where the editor should look.
        let offset = first
            .map(|e| e.pos.start)
            .unwrap_or(0)
            .min(text.trim_end().len());
        LocaleError::Syntax {
            location: Location::new(file, line_of(text, offset)),
            message: first.map(|e| e.to_string()).unwrap_or_default(),
        }
    })
}

/// Start address of a resource's source text, to turn the parser's `&str` slices into offsets.
fn text_start(resource: &FluentResource) -> usize {
    resource.source().as_ptr() as usize
}

/// Each message's and term's id, whether it is a term, and its source text: from its id to
/// the next entry's id (comments in between go with the entry before them).
fn entry_texts(resource: &FluentResource) -> Vec<(String, bool, String)> {
    let source = resource.source();
    let mut starts: Vec<(usize, String, bool)> = resource
        .entries()
        .filter_map(|entry| match entry {
            fluent_syntax::ast::Entry::Message(m) => Some((m.id.name, false)),
            fluent_syntax::ast::Entry::Term(t) => Some((t.id.name, true)),
            _ => None,
        })
        .map(|(name, is_term)| {
            (
                name.as_ptr() as usize - text_start(resource),
                name.to_owned(),
                is_term,
            )
        })
        .collect();
    starts.sort_by_key(|(offset, _, _)| *offset);
    let ends: Vec<usize> = starts
        .iter()
        .skip(1)
        .map(|(offset, _, _)| *offset)
        .chain([source.len()])
        .collect();
    starts
        .into_iter()
        .zip(ends)
        .map(|((start, id, is_term), end)| (id, is_term, source[start..end].trim_end().to_owned()))
        .collect()
}

fn split_key(key: &str) -> (&str, Option<&str>) {
    match key.split_once('.') {
        Some((id, attr)) => (id, Some(attr)),
        None => (key, None),
    }
}

pub use kelisim_manifest::html::escape as escape_html;

#[cfg(test)]
mod tests {
    use super::*;

    const KK: &str = "hello = Сәлем, { $name }!\nsections = { $count ->\n    [one] { $count } бөлім\n   *[other] { $count } бөлім\n}\nonly-kk = Тек қазақша\nform = Пішін\n    .title = Байланыс\n";
    const RU: &str = "hello = Привет, { $name }!\nsections = { $count ->\n    [one] { $count } раздел\n    [few] { $count } раздела\n    [many] { $count } разделов\n   *[other] { $count } раздела\n}\n";

    fn locales() -> Locales {
        Locales::from_sources(
            "kk",
            vec![
                ("kk".into(), "locales/kk/main.ftl".into(), KK.into()),
                ("ru".into(), "locales/ru/main.ftl".into(), RU.into()),
            ],
        )
        .expect("valid")
    }

    fn count(n: f64) -> Vec<(String, Arg)> {
        vec![("count".to_owned(), Arg::Number(n))]
    }

    #[test]
    fn russian_plurals_follow_cldr() {
        let l = locales();
        let f = |n| l.format("ru", "sections", &count(n)).expect("ok").html;
        assert_eq!(f(1.0), "1 раздел");
        assert_eq!(f(2.0), "2 раздела");
        assert_eq!(f(5.0), "5 разделов");
        assert_eq!(f(21.0), "21 раздел");
        assert_eq!(f(1.5), "1.5 раздела");
    }

    #[test]
    fn arguments_are_escaped_and_not_isolated() {
        let l = locales();
        let args = vec![("name".to_owned(), Arg::Text("<b>«A&B»</b>".to_owned()))];
        let out = l.format("kk", "hello", &args).expect("ok");
        assert_eq!(out.html, "Сәлем, &lt;b&gt;«A&amp;B»&lt;/b&gt;!");
        assert!(!out.html.contains('\u{2068}'));
    }

    #[test]
    fn missing_key_falls_back_then_fails() {
        let l = locales();
        let out = l.format("ru", "only-kk", &[]).expect("fallback");
        assert!(out.fell_back);
        assert_eq!(out.html, "Тек қазақша");
        let err = l.format("ru", "nowhere", &[]).expect_err("missing");
        assert!(err.to_string().contains("`nowhere`"));
        assert_eq!(
            l.format("kk", "form.title", &[]).expect("attr").html,
            "Байланыс"
        );
    }

    #[test]
    fn syntax_error_names_file_and_line() {
        let err = Locales::from_sources(
            "kk",
            vec![(
                "kk".into(),
                "locales/kk/main.ftl".into(),
                "ok = Fine\n\nbroken = { $x\n".into(),
            )],
        )
        .expect_err("syntax");
        assert!(
            err.to_string().starts_with("locales/kk/main.ftl:3:"),
            "{err}"
        );
    }

    #[test]
    fn duplicate_key_names_the_second_line() {
        let err = Locales::from_sources(
            "kk",
            vec![("kk".into(), "a.ftl".into(), "x = 1\ny = 2\nx = 3\n".into())],
        )
        .expect_err("dup");
        assert!(err.to_string().starts_with("a.ftl:3:"), "{err}");
    }

    #[test]
    fn missing_argument_is_an_error_with_location() {
        let l = locales();
        let err = l.format("kk", "hello", &[]).expect_err("no name");
        assert!(
            err.to_string().starts_with("locales/kk/main.ftl:1:"),
            "{err}"
        );
    }
}
