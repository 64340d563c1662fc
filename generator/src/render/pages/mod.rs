//! The HTML consumer of the site model: every page rendered with its template, plus each
//! current policy's permanent copy, each superseded version, the root language chooser, the
//! root `404.html` and the `/privacy/` redirect to the default language's policy. Pages render
//! in parallel; a policy page must publish exactly the hashed text between the markers. It
//! also renders the HTML documents the consent manifest carries for the relay (not published
//! as pages): the thank-you page with its receipt link and the confirmation-link pages. This
//! module says which pages and copies there are; `html.rs` renders one, with what
//! `context.rs` gives every template, `changes.rs` makes the "what changed" pages and
//! `documents.rs` the relay's documents.

mod changes;
mod context;
mod documents;
mod html;

use std::collections::BTreeMap;

use std::sync::{Mutex, PoisonError};

use rayon::prelude::*;

use crate::load::i18n::Locales;
use crate::load::source::Warnings;
use crate::load::templates::{RenderError, Renderer};
use crate::model::SiteModel;
use crate::model::page::{HtmlPage, Page, PageKind};
use crate::model::policy::PolicyText;
use crate::render::page_text::{POLICY_END, POLICY_START};
pub use documents::LinkFlow;
use html::Html;

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
    /// The thank-you page as the relay's receipt template (with the receipt link's
    /// placeholder), for the manifest; not published.
    Receipt,
}

/// What the consent manifest takes from the rendered pages: the contact pages (its labels),
/// and, by language, the HTML documents it carries for the relay.
#[derive(Debug, Default)]
pub struct ManifestPages {
    pub contact: Vec<HtmlPage>,
    /// The thank-you page with its receipt link's placeholder.
    pub thanks: BTreeMap<String, String>,
    /// The pages a mailed confirmation link opens, by flow and language.
    pub links: BTreeMap<(LinkFlow, String), String>,
}

/// Renders every page of the site and hands each to `emit` as soon as it is rendered, so no
/// more than a page per thread is held at once. Returns what the consent manifest reads: the
/// contact pages (its labels) and the relay's documents.
pub fn render<E: From<PagesError> + Send>(
    model: &SiteModel,
    renderer: &Renderer,
    locales: &Locales,
    warnings: &Warnings,
    emit: &(dyn Fn(HtmlPage) -> Result<(), E> + Sync),
) -> Result<ManifestPages, E> {
    let languages = model.languages.iter().map(|l| l.as_str());
    let html = Html::new(model, renderer, locales, warnings, languages);
    let jobs = jobs(model);
    // Servers look for /404.html at the root: the default language's not-found page.
    let root_not_found = model
        .find(PageKind::NotFound, model.default_lang().as_str())
        .map(|p| p.url.as_str());
    let kept = Mutex::new(ManifestPages::default());
    jobs.par_iter()
        .try_for_each(|(page, copy)| -> Result<(), E> {
            // A page's own copy notes the strings it uses (for the preview's re-render after a
            // string edit); the policy's other copies count as using them elsewhere.
            let rendered = match copy {
                Copy::Own => locales.recording_page(&page.url, || html.page(page, *copy))?,
                _ => html.page(page, *copy)?,
            };
            if matches!(copy, Copy::Receipt) {
                kept.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .thanks
                    .insert(
                        page.lang.to_string(),
                        documents::for_relay(model, rendered.html),
                    );
                return Ok(());
            }
            if matches!(copy, Copy::Own) {
                if page.kind == PageKind::Contact {
                    kept.lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .contact
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
    if let Some(redirect) = html.policy_redirect()? {
        emit(redirect)?;
    }
    for page in html.all_changes()? {
        emit(page)?;
    }
    let mut kept = kept.into_inner().unwrap_or_else(PoisonError::into_inner);
    kept.links = html.link_pages()?;
    Ok(kept)
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
/// copy at its version's URL, every superseded policy, and the thank-you page's receipt copy.
fn jobs(model: &SiteModel) -> Vec<(&Page, Copy<'_>)> {
    let mut jobs: Vec<(&Page, Copy<'_>)> = Vec::new();
    for page in &model.pages {
        jobs.push((page, Copy::Own));
        if page.kind == PageKind::Policy
            && let Some(text) = model.policies.current(page.lang.as_str())
        {
            jobs.push((page, Copy::Permanent(text)));
        }
        if page.kind == PageKind::Thanks {
            jobs.push((page, Copy::Receipt));
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
