//! The "what changed" page of each policy version after the first (§12.2): the word-level
//! difference ([`crate::render::diff`]) from the version before it, in every language.

use super::PagesError;
use super::context::PageContext;
use super::html::Html;
use crate::load::i18n::Arg;
use crate::model::page::{HtmlPage, PageKind, Translation};
use crate::model::policy::PolicyText;
use crate::render::seo;

impl Html<'_> {
    /// Each language's "what changed" pages, one per version after the first.
    pub(super) fn all_changes(&self) -> Result<Vec<HtmlPage>, PagesError> {
        let mut pages = Vec::new();
        for lang in &self.model.languages {
            for (older, newer) in self.model.policies.changes(lang.as_str()) {
                pages.push(self.changes(older, newer)?);
            }
        }
        Ok(pages)
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
            content: &content,
            version: Some(&newer.version),
            effective_date: Some(kelisim_manifest::dates::iso(newer.effective_date)),
            is_versioned: true,
            noindex: true,
            ..PageContext::bare(
                &title,
                title.clone(),
                lang,
                &url,
                model.abs(&url),
                "page.html",
            )
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
                Arg::Text(kelisim_manifest::dates::format_long(d, lang)),
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
}
