//! The HTML consumer of the site model: every page rendered with its template, plus each
//! current policy's permanent copy, each superseded version, the root language chooser and
//! the root `404.html`. Pages render in parallel; a policy page must publish exactly the
//! hashed text between the markers.

use std::collections::BTreeMap;

use rayon::prelude::*;
use serde::Serialize;

use crate::i18n::{Arg, Locales};
use crate::manifest::{POLICY_END, POLICY_START, plain_text, published_policy_text};
use crate::markdown::TocEntry;
use crate::model::SiteModel;
use crate::page::{HtmlPage, Page, PageKind};
use crate::policy::PolicyText;
use crate::render::{RenderError, Renderer};
use crate::seo;
use crate::source::{Location, Warnings};

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

/// Renders every page of the site.
pub fn render(
    model: &SiteModel,
    renderer: &Renderer,
    locales: &Locales,
    warnings: &Warnings,
) -> Result<Vec<HtmlPage>, PagesError> {
    let html = Html {
        model,
        renderer,
        locales,
        warnings,
    };
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
    let mut pages = jobs
        .par_iter()
        .map(|(page, copy)| html.page(page, *copy))
        .collect::<Result<Vec<_>, _>>()?;
    pages.push(html.chooser()?);
    // Servers look for /404.html at the root: the default language's not-found page.
    if let Some(not_found) = model.find(PageKind::NotFound, model.default_lang().as_str())
        && let Some(page) = pages.iter().find(|p| p.url == not_found.url)
    {
        pages.push(HtmlPage {
            url: "/404.html".to_owned(),
            html: page.html.clone(),
        });
    }
    Ok(pages)
}

struct Html<'m> {
    model: &'m SiteModel,
    renderer: &'m Renderer,
    locales: &'m Locales,
    warnings: &'m Warnings,
}

impl Html<'_> {
    fn page(&self, page: &Page, copy: Copy<'_>) -> Result<HtmlPage, PagesError> {
        let model = self.model;
        let lang = page.lang.as_str();
        let url = match copy {
            Copy::Own | Copy::Superseded => page.url.as_str(),
            Copy::Permanent(text) => text.url.as_str(),
        };
        let switcher = self.switcher(lang, |l| self.same_page(page, copy, l));
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
            date: page.front.date.map(crate::dates::iso),
            updated: page.front.updated.map(crate::dates::iso),
            content: &page.body.html,
            toc: &page.body.toc,
            show_toc: page.front.toc,
            section_count: page.body.toc.len(),
            version: page.front.version.as_deref(),
            effective_date: page.front.effective_date.map(crate::dates::iso),
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
        if page.kind == PageKind::Policy
            && published_policy_text(&html) != Some(page.body.html.as_str())
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

    /// The contact form's fields, from the definition the manifest publishes and the relay
    /// enforces ([`kelisim_manifest::form::person_fields`]): the page cannot drift from it.
    fn form_fields(&self, lang: &str) -> Vec<FieldContext> {
        kelisim_manifest::form::person_fields()
            .into_iter()
            .map(|field| {
                let key = format!("form-{}", field.name.replace('_', "-"));
                let hint = format!("{key}-hint");
                FieldContext {
                    hint_key: self.locales.has(lang, &hint).then_some(hint),
                    label_key: key,
                    field,
                }
            })
            .collect()
    }

    /// What every template sees: `site`, `lang`, `links` to the built-in pages, the current
    /// `policy` and the `previous_policies`.
    fn common_context(&self, lang: &str) -> tera::Context {
        let model = self.model;
        let mut context = tera::Context::new();
        context.insert("site", &model.config);
        context.insert("lang", lang);
        context.insert("form_fields", &self.form_fields(lang));
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
                    effective_date: crate::dates::iso(policy.effective_date),
                    url: &policy.url,
                    current_url: &policy.current_url,
                    sha256: &policy.sha256,
                    translation_of: policy.translation_of.as_deref(),
                },
            );
        }
        context
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
}
