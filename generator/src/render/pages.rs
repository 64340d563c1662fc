//! The HTML consumer of the site model: every page rendered with its template, plus each
//! current policy's permanent copy, each superseded version, the root language chooser and
//! the root `404.html`. Pages render in parallel; a policy page must publish exactly the
//! hashed text between the markers.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, PoisonError};

use rayon::prelude::*;
use serde::Serialize;

use crate::load::i18n::{Arg, Locales};
use crate::load::source::{Location, Warnings};
use crate::load::templates::{RenderError, Renderer};
use crate::model::SiteModel;
use crate::model::markdown::TocEntry;
use crate::model::page::{HtmlPage, Page, PageKind, Translation};
use crate::model::policy::PolicyText;
use crate::render::manifest::{POLICY_END, POLICY_START, plain_text, published_policy_text};
use crate::render::seo;

/// Why the pages could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum PagesError {
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error(
        "{template}: the policy template must show the policy text as `{POLICY_START}{{{{ page.content | safe }}}}{POLICY_END}` so its hash can be checked. Restore those markers."
    )]
    PolicyMarkers { template: String },
}

/// Which copy of a page is rendered.
#[derive(Debug, Clone, Copy)]
enum Copy<'m> {
    /// The page at its own URL.
    Own,
    /// The current policy at its permanent `/<lang>/privacy/<version>/` URL.
    Permanent(&'m PolicyText),
    /// A superseded policy version, at its permanent URL.
    Superseded,
}

/// `page` in templates.
#[derive(Serialize)]
struct PageContext<'a> {
    key: &'a str,
    title: &'a str,
    description: String,
    lang: &'a str,
    /// Site-relative URL.
    url: &'a str,
    /// Absolute URL.
    permalink: String,
    template: &'a str,
    date: Option<String>,
    updated: Option<String>,
    content: &'a str,
    toc: &'a [TocEntry],
    show_toc: bool,
    /// Number of `h2` sections (for "12 sections" style counts).
    section_count: usize,
    version: Option<&'a str>,
    effective_date: Option<String>,
    translation_of: Option<&'a str>,
    /// Set on the permanent `/<lang>/privacy/<version>/` copy (current or superseded).
    is_versioned: bool,
    /// Set on an archived, superseded policy version.
    superseded: bool,
    /// Not content for search engines: `<meta name="robots" content="noindex">`.
    noindex: bool,
    extra: Option<&'a toml::Table>,
}

/// `policy` in templates: the current policy of the page's language.
#[derive(Serialize)]
struct PolicyContext<'a> {
    version: &'a str,
    effective_date: String,
    /// Site-relative permanent URL.
    url: &'a str,
    current_url: &'a str,
    sha256: &'a str,
    translation_of: Option<&'a str>,
    /// The "what changed" page of this version, when an earlier version exists.
    changes_url: Option<String>,
}

/// A form field as the theme renders it: the manifest's definition (name, kind, limit,
/// autocomplete) plus the Fluent keys of its label and, where the locales have one, its hint.
#[derive(Serialize)]
struct FieldContext {
    #[serde(flatten)]
    field: kelisim_manifest::form::FormField,
    label_key: String,
    hint_key: Option<String>,
}

/// One entry of the language switcher.
#[derive(Serialize)]
struct LanguageLink<'a> {
    code: &'a str,
    name: &'a str,
    url: String,
    current: bool,
}

/// Renders every page of the site and hands each to `emit` as soon as it is rendered, so no
/// more than a page per thread is held at once. Returns the contact pages, which the consent
/// manifest reads its labels from.
pub fn render<E: From<PagesError> + Send>(
    model: &SiteModel,
    renderer: &Renderer,
    locales: &Locales,
    warnings: &Warnings,
    emit: &(dyn Fn(HtmlPage) -> Result<(), E> + Sync),
) -> Result<Vec<HtmlPage>, E> {
    let languages = model.languages.iter().map(|l| l.as_str());
    let html = Html::new(model, renderer, locales, warnings, languages);
    let jobs = jobs(model);
    // Servers look for /404.html at the root: the default language's not-found page.
    let root_not_found = model
        .find(PageKind::NotFound, model.default_lang().as_str())
        .map(|p| p.url.as_str());
    let kept = Mutex::new(Vec::new());
    jobs.par_iter()
        .try_for_each(|(page, copy)| -> Result<(), E> {
            // A page's own copy notes the strings it uses (for the preview's re-render after a
            // string edit); the policy's other copies count as using them elsewhere.
            let rendered = match copy {
                Copy::Own => locales.recording_page(&page.url, || html.page(page, *copy))?,
                _ => html.page(page, *copy)?,
            };
            if matches!(copy, Copy::Own) {
                if page.kind == PageKind::Contact {
                    kept.lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .push(rendered.clone());
                }
                if root_not_found == Some(page.url.as_str()) {
                    emit(HtmlPage {
                        url: "/404.html".to_owned(),
                        html: rendered.html.clone(),
                    })?;
                }
            }
            emit(rendered)
        })?;
    emit(html.chooser()?)?;
    for page in html.all_changes()? {
        emit(page)?;
    }
    Ok(kept.into_inner().unwrap_or_else(PoisonError::into_inner))
}

/// Renders one ordinary page (its own copy only) after an edit to its body, with the extra
/// `/404.html` copy when it is the default language's not-found page: what the preview
/// re-renders instead of the whole site when nothing else can have changed.
pub fn render_one(
    model: &SiteModel,
    renderer: &Renderer,
    locales: &Locales,
    warnings: &Warnings,
    page: &Page,
) -> Result<Vec<HtmlPage>, PagesError> {
    let html = Html::new(model, renderer, locales, warnings, [page.lang.as_str()]);
    let rendered = locales.recording_page(&page.url, || html.page(page, Copy::Own))?;
    let root_not_found = model
        .find(PageKind::NotFound, model.default_lang().as_str())
        .is_some_and(|p| p.url == page.url);
    let mut out = Vec::with_capacity(2);
    if root_not_found {
        out.push(HtmlPage {
            url: "/404.html".to_owned(),
            html: rendered.html.clone(),
        });
    }
    out.push(rendered);
    Ok(out)
}

/// Every page to render and which copy: each page itself, the current policy's permanent
/// copy at its version's URL, and every superseded policy.
fn jobs(model: &SiteModel) -> Vec<(&Page, Copy<'_>)> {
    let mut jobs: Vec<(&Page, Copy<'_>)> = Vec::new();
    for page in &model.pages {
        jobs.push((page, Copy::Own));
        if page.kind == PageKind::Policy
            && let Some(text) = model.policies.current(page.lang.as_str())
        {
            jobs.push((page, Copy::Permanent(text)));
        }
    }
    jobs.extend(
        model
            .policies
            .archived()
            .iter()
            .map(|a| (&a.page, Copy::Superseded)),
    );
    jobs
}

/// Every "what changed" page, in every language: what re-renders when `page.html`, their
/// template, changes.
pub fn render_changes(
    model: &SiteModel,
    renderer: &Renderer,
    locales: &Locales,
    warnings: &Warnings,
) -> Result<Vec<HtmlPage>, PagesError> {
    let languages = model.languages.iter().map(|l| l.as_str());
    Html::new(model, renderer, locales, warnings, languages).all_changes()
}

struct Html<'m> {
    model: &'m SiteModel,
    renderer: &'m Renderer,
    locales: &'m Locales,
    warnings: &'m Warnings,
    /// [`common_context`] of each language, made once and copied for each page.
    common: HashMap<String, tera::Context>,
}

impl<'m> Html<'m> {
    /// The renderer for pages in `languages`, with their common contexts made once.
    fn new<'l>(
        model: &'m SiteModel,
        renderer: &'m Renderer,
        locales: &'m Locales,
        warnings: &'m Warnings,
        languages: impl IntoIterator<Item = &'l str>,
    ) -> Self {
        let common = languages
            .into_iter()
            .map(|lang| (lang.to_owned(), common_context(model, locales, lang)))
            .collect();
        Self {
            model,
            renderer,
            locales,
            warnings,
            common,
        }
    }

    /// Each language's "what changed" pages, one per version after the first.
    fn all_changes(&self) -> Result<Vec<HtmlPage>, PagesError> {
        let mut pages = Vec::new();
        for lang in &self.model.languages {
            for (older, newer) in self.model.policies.changes(lang.as_str()) {
                pages.push(self.changes(older, newer)?);
            }
        }
        Ok(pages)
    }

    fn page(&self, page: &Page, copy: Copy<'_>) -> Result<HtmlPage, PagesError> {
        let model = self.model;
        let lang = page.lang.as_str();
        let url = match copy {
            Copy::Own | Copy::Superseded => page.url.as_str(),
            Copy::Permanent(text) => text.url.as_str(),
        };
        let switcher = self.switcher(lang, |l| self.same_page(page, copy, l));
        let body = page.body.rendered();
        let description = match &page.front.description {
            Some(d) => d.clone(),
            None => self.plain_string(lang, "site-description"),
        };
        let context = PageContext {
            key: &page.key,
            title: &page.front.title,
            description,
            lang,
            url,
            permalink: model.abs(url),
            template: &page.template,
            date: page.front.date.map(crate::load::dates::iso),
            updated: page.front.updated.map(crate::load::dates::iso),
            content: &body.html,
            toc: &body.toc,
            show_toc: page.front.toc,
            section_count: body.toc.len(),
            version: page.front.version.as_deref(),
            effective_date: page.front.effective_date.map(crate::load::dates::iso),
            translation_of: page.front.translation_of.as_deref(),
            is_versioned: !matches!(copy, Copy::Own),
            superseded: matches!(copy, Copy::Superseded),
            noindex: page.noindex,
            extra: Some(&page.front.extra),
        };
        // While a version is current, its permanent URL is a copy of the policy page: search
        // engines are pointed at `/<lang>/privacy/`, with that page's alternates.
        let x_default = model.x_default(page.kind, &page.translations, &page.url);
        let canonical = page.url.as_str();
        let mut tera = self.common_context(lang);
        tera.insert("page", &context);
        tera.insert("canonical", &model.abs(canonical));
        tera.insert(
            "alternates",
            &seo::alternates(model, &page.translations, x_default),
        );
        tera.insert("languages", &switcher);
        let html = self.renderer.render(lang, &page.template, &tera)?;
        if page.kind == PageKind::Policy && published_policy_text(&html) != Some(body.html.as_str())
        {
            return Err(PagesError::PolicyMarkers {
                template: page.template.clone(),
            });
        }
        Ok(HtmlPage {
            url: url.to_owned(),
            html,
        })
    }

    /// The same page in language `lang`, for the switcher: the translation; for a policy
    /// version, the same version there, else that language's current policy (the closest page).
    fn same_page(&self, page: &Page, copy: Copy<'_>, lang: &str) -> Option<String> {
        let policies = &self.model.policies;
        let translation = || {
            page.translations
                .iter()
                .find(|t| t.lang == lang)
                .map(|t| t.url.clone())
        };
        match copy {
            Copy::Own => translation(),
            Copy::Permanent(_) => policies.current(lang).map(|t| t.url.clone()),
            Copy::Superseded => {
                translation().or_else(|| policies.current(lang).map(|t| t.current_url.clone()))
            }
        }
    }

    /// The root language chooser `/`: in every language at once, so in none of them.
    fn chooser(&self) -> Result<HtmlPage, PagesError> {
        let model = self.model;
        let template = "chooser.html";
        if !self.renderer.has_template(template) {
            return Err(RenderError::UnknownTemplate {
                location: Location::new(format!("themes/{}/templates", model.config.theme), 1),
                name: template.to_owned(),
                available: self.renderer.template_names(),
            }
            .into());
        }
        let lang = model.default_lang().as_str();
        let title = self.plain_string(lang, "site-name");
        let context = PageContext {
            key: "",
            title: &title,
            description: self.plain_string(lang, "site-description"),
            lang,
            url: "/",
            permalink: model.abs("/"),
            template,
            date: None,
            updated: None,
            content: "",
            toc: &[],
            show_toc: false,
            section_count: 0,
            version: None,
            effective_date: None,
            translation_of: None,
            is_versioned: false,
            superseded: false,
            noindex: false,
            extra: None,
        };
        let mut tera = self.common_context(lang);
        tera.insert("page", &context);
        tera.insert("canonical", &model.abs("/"));
        tera.insert(
            "alternates",
            &seo::alternates(model, &model.home_translations(), model.abs("/")),
        );
        tera.insert("languages", &self.switcher("", |_| None));
        let html = self.renderer.render(lang, template, &tera)?;
        Ok(HtmlPage {
            url: "/".to_owned(),
            html,
        })
    }

    /// The "what changed" page of a policy version (§12.2): the word-level difference from
    /// the version before it, generated, `noindex` (it repeats the policy texts). Its
    /// translations are the same version's page in the other languages.
    fn changes(&self, older: &PolicyText, newer: &PolicyText) -> Result<HtmlPage, PagesError> {
        let model = self.model;
        let lang = newer.lang.as_str();
        let url = newer.changes_url();
        let (title, content) = self.changes_text(older, newer);
        let translations = self.changes_translations(newer);
        let context = PageContext {
            key: "policy-changes",
            title: &title,
            description: title.clone(),
            lang,
            url: &url,
            permalink: model.abs(&url),
            template: "page.html",
            date: None,
            updated: None,
            content: &content,
            toc: &[],
            show_toc: false,
            section_count: 0,
            version: Some(&newer.version),
            effective_date: Some(crate::load::dates::iso(newer.effective_date)),
            translation_of: None,
            is_versioned: true,
            superseded: false,
            noindex: true,
            extra: None,
        };
        let x_default = model.x_default(PageKind::Page, &translations, &url);
        let mut tera = self.common_context(lang);
        tera.insert("page", &context);
        tera.insert("canonical", &model.abs(&url));
        tera.insert(
            "alternates",
            &seo::alternates(model, &translations, x_default),
        );
        let switcher = self.switcher(lang, |l| {
            translations
                .iter()
                .find(|t| t.lang == l)
                .map(|t| t.url.clone())
                .or_else(|| model.policies.current(l).map(|c| c.current_url.clone()))
        });
        tera.insert("languages", &switcher);
        let html = self.renderer.render(lang, "page.html", &tera)?;
        Ok(HtmlPage { url, html })
    }

    /// The title and HTML body of the "what changed" page from `older` to `newer`: an intro
    /// linking both versions, then the word-level difference (or a line saying there is none).
    fn changes_text(&self, older: &PolicyText, newer: &PolicyText) -> (String, String) {
        let lang = newer.lang.as_str();
        let version = |v: &str| ("version".to_owned(), Arg::Text(v.to_owned()));
        let date = |d| {
            (
                "date".to_owned(),
                Arg::Text(crate::load::dates::format_long(d, lang)),
            )
        };
        let title =
            self.plain_string_with(lang, "policy-changes-title", &[version(&newer.version)]);
        let intro = self.html_string(
            lang,
            "policy-changes-intro",
            &[
                ("from".to_owned(), Arg::Text(older.version.clone())),
                ("from_url".to_owned(), Arg::Text(older.url.clone())),
                version(&newer.version),
                ("url".to_owned(), Arg::Text(newer.url.clone())),
                date(newer.effective_date),
            ],
        );
        let changes = crate::render::diff::diff(&older.blocks, &newer.blocks);
        let body = if changes.is_empty() {
            format!(
                "<p>{}</p>\n",
                self.html_string(lang, "policy-changes-none", &[])
            )
        } else {
            crate::render::diff::to_html(
                &changes,
                &crate::render::diff::ChangeLabels {
                    added: self.html_string(lang, "policy-changes-added", &[]),
                    removed: self.html_string(lang, "policy-changes-removed", &[]),
                    changed: self.html_string(lang, "policy-changes-changed", &[]),
                },
            )
        };
        (title, format!("<p>{intro}</p>\n{body}"))
    }

    /// The "what changed" pages of the same version in the other languages that have one.
    fn changes_translations(&self, newer: &PolicyText) -> Vec<Translation> {
        let model = self.model;
        model
            .languages
            .iter()
            .filter_map(|l| {
                let other = model.policies.version(l.as_str(), &newer.version)?;
                let has_page = model
                    .policies
                    .changes(l.as_str())
                    .iter()
                    .any(|(_, n)| n.version == newer.version);
                has_page.then(|| Translation {
                    lang: l.clone(),
                    url: other.changes_url(),
                    noindex: true,
                })
            })
            .collect()
    }

    /// The language switcher: every language, linking to the same page where it exists and
    /// to its home page otherwise.
    fn switcher(
        &self,
        current: &str,
        same_page: impl Fn(&str) -> Option<String>,
    ) -> Vec<LanguageLink<'_>> {
        self.model
            .config
            .languages
            .iter()
            .map(|l| LanguageLink {
                code: l.code.as_str(),
                name: &l.name,
                url: same_page(l.code.as_str())
                    .unwrap_or_else(|| self.model.home_url(l.code.as_str())),
                current: l.code == current,
            })
            .collect()
    }

    /// What every template sees in `lang` (see [`common_context`]).
    fn common_context(&self, lang: &str) -> tera::Context {
        match self.common.get(lang) {
            Some(context) => context.clone(),
            None => common_context(self.model, self.locales, lang),
        }
    }

    /// A UI string as plain text (for meta descriptions computed in code).
    fn plain_string(&self, lang: &str, key: &str) -> String {
        match self.locales.format(lang, key, &[] as &[(String, Arg)]) {
            Ok(t) => plain_text(&t.html),
            Err(_) => {
                self.warnings.push(format!(
                    "locales/{lang}/: add `{key} = ...`; it is used as the default page description."
                ));
                String::new()
            }
        }
    }

    /// A UI string with arguments as plain text (a generated page's title).
    fn plain_string_with(&self, lang: &str, key: &str, args: &[(String, Arg)]) -> String {
        plain_text(&self.html_string(lang, key, args))
    }

    /// A UI string with arguments as HTML, for pages generated in code; a missing or broken
    /// string is a warning naming the key, and the page shows nothing in its place.
    fn html_string(&self, lang: &str, key: &str, args: &[(String, Arg)]) -> String {
        match self.locales.format(lang, key, args) {
            Ok(t) => {
                if t.fell_back {
                    self.warnings.push(format!(
                        "locales/{lang}/: the UI string `{key}` is missing; the {} text is shown instead. Add `{key} = ...` to locales/{lang}/*.ftl.",
                        self.locales.default_language()
                    ));
                }
                t.html
            }
            Err(error) => {
                self.warnings
                    .push(format!("{error} (used by the \"what changed\" page)"));
                String::new()
            }
        }
    }
}

/// What every template sees: `site`, `lang`, `operator_name` (in that language),
/// `form_fields`, `links` to the built-in pages, the current `policy` and the
/// `previous_policies`.
fn common_context(model: &SiteModel, locales: &Locales, lang: &str) -> tera::Context {
    let mut context = tera::Context::new();
    context.insert("site", &model.config);
    context.insert("lang", lang);
    context.insert("operator_name", model.config.operator_name(lang));
    context.insert("form_fields", &form_fields(locales, lang));
    let mut links = BTreeMap::new();
    links.insert("home", model.home_url(lang));
    for (name, kind) in [
        ("privacy", PageKind::Policy),
        ("contact", PageKind::Contact),
        ("thanks", PageKind::Thanks),
        ("error", PageKind::FormError),
        ("request", PageKind::Request),
    ] {
        if let Some(page) = model.find(kind, lang) {
            links.insert(name, page.url.clone());
        }
    }
    context.insert("links", &links);
    context.insert("previous_policies", &model.policies.links(lang));
    if let Some(policy) = model.policies.current(lang) {
        context.insert(
            "policy",
            &PolicyContext {
                version: &policy.version,
                effective_date: crate::load::dates::iso(policy.effective_date),
                url: &policy.url,
                current_url: &policy.current_url,
                sha256: &policy.sha256,
                translation_of: policy.translation_of.as_deref(),
                changes_url: model
                    .policies
                    .archived_in(lang)
                    .next()
                    .map(|_| policy.changes_url()),
            },
        );
    }
    context
}

/// The contact form's fields, from the definition the manifest publishes and the relay
/// enforces ([`kelisim_manifest::form::person_fields`]): the page cannot drift from it.
fn form_fields(locales: &Locales, lang: &str) -> Vec<FieldContext> {
    kelisim_manifest::form::person_fields()
        .into_iter()
        .map(|field| {
            let key = format!("form-{}", field.name.replace('_', "-"));
            let hint = format!("{key}-hint");
            FieldContext {
                hint_key: locales.has(lang, &hint).then_some(hint),
                label_key: key,
                field,
            }
        })
        .collect()
}
