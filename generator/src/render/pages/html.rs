//! One page's HTML: the page's own copy or a policy's permanent or superseded copy, and the
//! root language chooser, each with its `<head>` links (canonical, alternates) and language
//! switcher; plus the UI strings formatted in code rather than in a template.

use std::collections::HashMap;

use super::context::{LanguageLink, PageContext, common_context};
use super::{Copy, PagesError};
use crate::load::i18n::{Arg, Locales};
use crate::load::source::{Location, Warnings};
use crate::load::templates::{RenderError, Renderer};
use crate::model::SiteModel;
use crate::model::page::{HtmlPage, Page, PageKind};
use crate::render::page_text::{plain_text, published_policy_text};
use crate::render::seo;

/// Renders the pages of some languages, with their common contexts made once.
pub(super) struct Html<'m> {
    pub(super) model: &'m SiteModel,
    pub(super) renderer: &'m Renderer,
    locales: &'m Locales,
    warnings: &'m Warnings,
    /// [`common_context`] of each language, made once and copied for each page.
    common: HashMap<String, tera::Context>,
}

impl<'m> Html<'m> {
    /// The renderer for pages in `languages`, with their common contexts made once.
    pub(super) fn new<'l>(
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

    /// One copy of `page`: its own, a current policy's permanent one, a superseded version or
    /// the thank-you page's receipt copy. Long because it fills every field a page template
    /// sees, in one place, so no copy can miss one.
    pub(super) fn page(&self, page: &Page, copy: Copy<'_>) -> Result<HtmlPage, PagesError> {
        let model = self.model;
        let lang = page.lang.as_str();
        let url = match copy {
            Copy::Own | Copy::Superseded | Copy::Receipt => page.url.as_str(),
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
            kind: page.kind,
            title: &page.front.title,
            description,
            lang,
            url,
            permalink: model.abs(url),
            template: &page.template,
            date: page.front.date.map(kelisim_manifest::dates::iso),
            updated: page.front.updated.map(kelisim_manifest::dates::iso),
            content: &body.html,
            toc: &body.toc,
            show_toc: page.front.toc,
            section_count: body.toc.len(),
            version: page.front.version.as_deref(),
            effective_date: page.front.effective_date.map(kelisim_manifest::dates::iso),
            translation_of: page.front.translation_of.as_deref(),
            is_versioned: matches!(copy, Copy::Permanent(_) | Copy::Superseded),
            superseded: matches!(copy, Copy::Superseded),
            noindex: page.noindex,
            placeholder: page.front.placeholder,
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
        if matches!(copy, Copy::Receipt) {
            tera.insert("receipt_url", kelisim_manifest::RECEIPT_URL_PLACEHOLDER);
        }
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
            Copy::Own | Copy::Receipt => translation(),
            Copy::Permanent(_) => policies.current(lang).map(|t| t.url.clone()),
            Copy::Superseded => {
                translation().or_else(|| policies.current(lang).map(|t| t.current_url.clone()))
            }
        }
    }

    /// The root language chooser `/`: in every language at once, so in none of them.
    pub(super) fn chooser(&self) -> Result<HtmlPage, PagesError> {
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
        let description = self.plain_string(lang, "site-description");
        let context = PageContext::bare(&title, description, lang, "/", model.abs("/"), template);
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
    pub(super) fn switcher(
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
    pub(super) fn common_context(&self, lang: &str) -> tera::Context {
        match self.common.get(lang) {
            Some(context) => context.clone(),
            None => common_context(self.model, self.locales, lang),
        }
    }

    /// A UI string as plain text (for meta descriptions computed in code).
    pub(super) fn plain_string(&self, lang: &str, key: &str) -> String {
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
    pub(super) fn plain_string_with(
        &self,
        lang: &str,
        key: &str,
        args: &[(String, Arg)],
    ) -> String {
        plain_text(&self.html_string(lang, key, args))
    }

    /// A UI string with arguments as HTML, for pages generated in code; a missing or broken
    /// string is a warning naming the key, and the page shows nothing in its place.
    pub(super) fn html_string(&self, lang: &str, key: &str, args: &[(String, Arg)]) -> String {
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
