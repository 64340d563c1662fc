//! The Tera set-up the load stage makes once and the render stage uses: theme templates
//! (`themes/<theme>/templates`) overridden by the site's own `templates/`, read into a
//! [`Renderer`] with one Tera instance per language. The functions and filters templates use
//! (`t()`, `url()`, `asset()`, `| date`) are in [`functions`]; Tera's errors become
//! `file:line` sentences in `errors.rs`.

mod errors;
pub mod functions;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::load::i18n::Locales;
use crate::load::source::{self, Location, SourceError, Warnings};
use errors::template_error;
use functions::{AssetUrl, LocalDate, Translate, UrlFor};

/// A template file and where it came from.
#[derive(Debug, Clone)]
pub struct TemplateSource {
    /// The name templates and front matter use (`page.html`, `partials/nav.html`).
    pub name: String,
    /// Path shown in messages (`themes/default/templates/page.html`).
    pub path: PathBuf,
    pub text: String,
}

/// Why a page could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error("{0}: the theme has no templates folder. Check `theme` in site.toml.")]
    NoTheme(PathBuf),
    #[error("{location}: template syntax error: {message}. Fix the tag on that line.")]
    Syntax { location: Location, message: String },
    #[error(
        "{location}: the template `{name}` does not exist. Use one of: {available}, or add {name} to templates/."
    )]
    UnknownTemplate {
        location: Location,
        name: String,
        available: String,
    },
    #[error(
        "{location}: the UI string `{key}` exists in no language. Add `{key} = ...` to locales/{default}/*.ftl."
    )]
    MissingString {
        location: Location,
        key: String,
        default: String,
    },
    #[error("{location}: {message}")]
    String { location: Location, message: String },
    #[error("{path}: {message}. Fix the template and build again.")]
    Template { path: PathBuf, message: String },
}

/// The template that writes `sitemap.xml` (see [`crate::render::seo::sitemap`]).
pub const SITEMAP_TEMPLATE: &str = "sitemap.xml";

/// The built-in `sitemap.xml` template, used unless the theme or the site's `templates/` has
/// its own (as in Zola).
pub const BUILT_IN_SITEMAP: &str = include_str!("sitemap.xml");

/// Reads the theme's templates, then the site's `templates/`, whose files replace the theme's
/// ones with the same name; the built-in `sitemap.xml` fills in when neither has one.
pub fn load_templates(root: &Path, theme: &str) -> Result<Vec<TemplateSource>, RenderError> {
    let theme_dir = root.join("themes").join(theme).join("templates");
    if !theme_dir.is_dir() {
        return Err(RenderError::NoTheme(
            theme_dir
                .strip_prefix(root)
                .unwrap_or(&theme_dir)
                .to_path_buf(),
        ));
    }
    let mut by_name: std::collections::BTreeMap<String, TemplateSource> = Default::default();
    for dir in [theme_dir, root.join("templates")] {
        for file in source::read_tree(root, &dir, |_| true)? {
            by_name.insert(
                file.name.clone(),
                TemplateSource {
                    name: file.name,
                    path: file.shown,
                    text: file.text,
                },
            );
        }
    }
    by_name
        .entry(SITEMAP_TEMPLATE.to_owned())
        .or_insert_with(|| TemplateSource {
            name: SITEMAP_TEMPLATE.to_owned(),
            path: PathBuf::from("(kelisim's built-in sitemap.xml)"),
            text: BUILT_IN_SITEMAP.to_owned(),
        });
    Ok(by_name.into_values().collect())
}

/// Renders pages: one Tera instance per language, so `t` and `date` know the page's language
/// without every call having to pass it.
pub struct Renderer {
    per_language: HashMap<String, tera::Tera>,
    sources: Vec<TemplateSource>,
    default_language: String,
}

impl std::fmt::Debug for Renderer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Renderer")
            .field(
                "templates",
                &self.sources.iter().map(|s| &s.name).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Renderer {
    /// Parses the templates (reporting syntax errors at their line) and binds the functions.
    pub fn new(
        sources: Vec<TemplateSource>,
        locales: Arc<Locales>,
        languages: &[String],
        base_url: &str,
        warnings: Warnings,
    ) -> Result<Self, RenderError> {
        let mut base = tera::Tera::default();
        base.autoescape_on(vec![".html", ".xml"]);
        // Tera's default escaper also escapes `/`, which makes every URL in an attribute
        // unreadable; quotes, `<`, `>` and `&` are all HTML needs.
        base.set_escape_fn(crate::load::i18n::escape_html);
        base.add_raw_templates(sources.iter().map(|s| (s.name.as_str(), s.text.as_str())))
            .map_err(|e| template_error(&sources, &e))?;
        let mut per_language = HashMap::new();
        for lang in languages {
            let mut tera = base.clone();
            tera.register_function(
                "t",
                Translate {
                    locales: Arc::clone(&locales),
                    lang: lang.clone(),
                    warnings: warnings.clone(),
                },
            );
            tera.register_function(
                "url",
                UrlFor {
                    base_url: base_url.to_owned(),
                },
            );
            tera.register_filter("date", LocalDate { lang: lang.clone() });
            per_language.insert(lang.clone(), tera);
        }
        Ok(Self {
            per_language,
            sources,
            default_language: locales.default_language().to_owned(),
        })
    }

    /// Binds `asset(path="style.css")`: the content-hashed URL of a file in `static/`.
    pub fn set_assets(&mut self, assets: std::collections::BTreeMap<String, String>) {
        let assets = Arc::new(assets);
        for tera in self.per_language.values_mut() {
            tera.register_function(
                "asset",
                AssetUrl {
                    assets: Arc::clone(&assets),
                },
            );
        }
    }

    /// Whether a template with this name exists.
    pub fn has_template(&self, name: &str) -> bool {
        self.sources.iter().any(|s| s.name == name)
    }

    /// Names of the page templates an editor can pick, for error messages.
    pub fn template_names(&self) -> String {
        self.sources
            .iter()
            .filter(|s| {
                s.name.ends_with(".html")
                    && !s.name.starts_with('_')
                    && !s.name.contains('/')
                    && s.name != "base.html"
            })
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Renders `template` in `lang` with `context`.
    pub fn render(
        &self,
        lang: &str,
        template: &str,
        context: &tera::Context,
    ) -> Result<String, RenderError> {
        let tera = self
            .per_language
            .get(lang)
            .or_else(|| self.per_language.get(&self.default_language))
            .ok_or_else(|| RenderError::Template {
                path: PathBuf::from(template),
                message: format!("no language `{lang}` configured"),
            })?;
        tera.render(template, context)
            .map_err(|e| self.render_error(template, &e))
    }

    fn source(&self, name: &str) -> Option<&TemplateSource> {
        self.sources.iter().find(|s| s.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(name: &str, text: &str) -> TemplateSource {
        TemplateSource {
            name: name.to_owned(),
            path: PathBuf::from(format!("themes/default/templates/{name}")),
            text: text.to_owned(),
        }
    }

    fn locales() -> Arc<Locales> {
        Arc::new(
            Locales::from_sources(
                "kk",
                vec![
                    (
                        "kk".into(),
                        "locales/kk/ui.ftl".into(),
                        "hi = Сәлем, { $name }\nn = { $count -> \n   *[other] { $count } бөлім\n}\nonly-kk = Тек\n"
                            .into(),
                    ),
                    ("ru".into(), "locales/ru/ui.ftl".into(), "hi = Привет, { $name }\nn = { $count ->\n    [one] { $count } раздел\n    [few] { $count } раздела\n   *[many] { $count } разделов\n}\n".into()),
                ],
            )
            .expect("valid"),
        )
    }

    fn renderer(
        templates: Vec<TemplateSource>,
        warnings: Warnings,
    ) -> Result<Renderer, RenderError> {
        Renderer::new(
            templates,
            locales(),
            &["kk".to_owned(), "ru".to_owned()],
            "https://example.kz",
            warnings,
        )
    }

    #[test]
    fn functions_and_filters_work_per_language() {
        let tpl = source(
            "p.html",
            "{{ t(key=\"hi\", name=who) }}|{{ t(key=\"n\", count=5) }}|{{ \"2024-02-11\" | date }}|{{ url(path=\"/kk/\") }}|{{ who }}",
        );
        let r = renderer(vec![tpl], Warnings::default()).expect("parses");
        let mut ctx = tera::Context::new();
        ctx.insert("who", "<A & B>");
        let kk = r.render("kk", "p.html", &ctx).expect("renders");
        assert_eq!(
            kk,
            "Сәлем, &lt;A &amp; B&gt;|5 бөлім|2024 жылғы 11 ақпан|https://example.kz/kk/|&lt;A &amp; B&gt;"
        );
        let ru = r.render("ru", "p.html", &ctx).expect("renders");
        assert!(ru.starts_with("Привет, &lt;A &amp; B&gt;|5 разделов|11 февраля 2024 г.|"));
    }

    #[test]
    fn xml_templates_are_escaped_like_html() {
        let r = renderer(
            vec![source("sitemap.xml", "<loc>{{ loc }}</loc>")],
            Warnings::default(),
        )
        .expect("parses");
        let mut ctx = tera::Context::new();
        ctx.insert("loc", "https://e.kz/?a&b=\"<'");
        let xml = r.render("kk", "sitemap.xml", &ctx).expect("renders");
        assert_eq!(xml, "<loc>https://e.kz/?a&amp;b=&quot;&lt;&#39;</loc>");
        assert!(
            !r.template_names().contains("sitemap.xml"),
            "not a page template"
        );
    }

    #[test]
    fn fallback_is_a_warning() {
        let warnings = Warnings::default();
        let r = renderer(
            vec![source("p.html", "{{ t(key=\"only-kk\") }}")],
            warnings.clone(),
        )
        .expect("parses");
        let out = r
            .render("ru", "p.html", &tera::Context::new())
            .expect("renders");
        assert_eq!(out, "Тек");
        let w = warnings.take();
        assert_eq!(w.len(), 1);
        assert!(w[0].contains("`only-kk`"));
    }

    #[test]
    fn missing_string_names_template_line_and_key() {
        let r = renderer(
            vec![
                source("base.html", "<p>\n{% block x %}{% endblock %}</p>"),
                source("p.html", "{% extends \"base.html\" %}\n{% block x %}\n\n{{ t(key=\"nope\") }}{% endblock %}"),
            ],
            Warnings::default(),
        )
        .expect("parses");
        let err = r
            .render("kk", "p.html", &tera::Context::new())
            .expect_err("missing");
        let text = err.to_string();
        assert!(
            text.starts_with("themes/default/templates/p.html:4:"),
            "{text}"
        );
        assert!(text.contains("`nope`"), "{text}");
    }

    #[test]
    fn syntax_error_names_file_and_line() {
        let err = renderer(
            vec![source("bad.html", "<p>\n\n{% if %}</p>")],
            Warnings::default(),
        )
        .expect_err("syntax");
        assert!(
            err.to_string()
                .starts_with("themes/default/templates/bad.html:3:"),
            "{err}"
        );
    }

    #[test]
    fn missing_parent_is_an_unknown_template() {
        let err = renderer(
            vec![source("p.html", "\n{% extends \"nope.html\" %}")],
            Warnings::default(),
        )
        .expect_err("parent");
        assert!(matches!(err, RenderError::UnknownTemplate { .. }));
        assert!(
            err.to_string()
                .starts_with("themes/default/templates/p.html:2:"),
            "{err}"
        );
    }
}
