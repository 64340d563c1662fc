//! The HTML documents rendered for the relay rather than published as pages: the page a mailed
//! confirmation link opens (`confirm-link.html`: an explanation and one button that posts the
//! link's token, so only a person's click confirms, never a mail scanner's `GET`), and the
//! `/privacy/` redirect that the policy's §12.3 address (`…/privacy`) reaches the default
//! language's policy through. The thank-you page's receipt copy is rendered with the pages
//! (`Copy::Receipt`); [`for_relay`] finishes it like the link pages.

use std::collections::BTreeMap;

use kelisim_manifest::TOKEN_PLACEHOLDER;

use super::PagesError;
use super::context::PageContext;
use super::html::Html;
use crate::model::SiteModel;
use crate::model::page::{HtmlPage, PageKind};

/// The theme's template of the link pages.
pub const LINK_TEMPLATE: &str = "confirm-link.html";
/// The theme's template of the `/privacy/` redirect.
pub const REDIRECT_TEMPLATE: &str = "redirect.html";

/// Which mailed link a page answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LinkFlow {
    /// The newsletter's double opt-in: posts to `<form_endpoint>/confirm`.
    Grant,
    /// A data-subject request's confirmation: posts to `<form_endpoint>/request/confirm`.
    Request,
}

impl LinkFlow {
    /// The flow's name in the Fluent keys (`link-grant-title`) and templates (`flow`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Grant => "grant",
            Self::Request => "request",
        }
    }

    /// The relay's route under the form endpoint.
    fn route(self) -> &'static str {
        match self {
            Self::Grant => "/confirm",
            Self::Request => "/request/confirm",
        }
    }
}

/// A document the relay serves from the form endpoint: when that is on another host than the
/// site (an absolute `form_endpoint`), its site-relative links, styles and form action are made
/// absolute, so it keeps the site's look there; otherwise it is left as rendered.
pub(super) fn for_relay(model: &SiteModel, html: String) -> String {
    absolute_if_elsewhere(&model.config.form_endpoint, &model.config.base_url, html)
}

/// [`for_relay`]'s rule, on its inputs.
fn absolute_if_elsewhere(endpoint: &str, base: &str, html: String) -> String {
    if !(endpoint.starts_with("https://") || endpoint.starts_with("http://")) {
        return html;
    }
    let mut out = html;
    for attribute in ["href", "src", "action"] {
        let relative = format!(" {attribute}=\"/");
        let mut rest = out.as_str();
        let mut done = String::with_capacity(out.len() + 256);
        while let Some(at) = rest.find(&relative) {
            let after = &rest[at + relative.len()..];
            done.push_str(&rest[..at]);
            if after.starts_with('/') {
                // `//host/...` is already absolute.
                done.push_str(&relative);
            } else {
                done.push_str(&format!(" {attribute}=\"{base}/"));
            }
            rest = after;
        }
        done.push_str(rest);
        out = done;
    }
    out
}

impl Html<'_> {
    /// The link pages in every language: the newsletter's when a purpose is confirmed by
    /// email, the request's when the language has a request page. None when the theme has no
    /// `confirm-link.html` (the relay then answers with its own plain page).
    pub(super) fn link_pages(&self) -> Result<BTreeMap<(LinkFlow, String), String>, PagesError> {
        let model = self.model;
        let mut out = BTreeMap::new();
        if !self.renderer.has_template(LINK_TEMPLATE) {
            return Ok(out);
        }
        let grant = model.config.purposes.iter().any(|p| p.confirm_by_email);
        for lang in &model.languages {
            let lang = lang.as_str();
            let request = model.find(PageKind::Request, lang).is_some();
            for (flow, offered) in [(LinkFlow::Grant, grant), (LinkFlow::Request, request)] {
                if offered {
                    out.insert((flow, lang.to_owned()), self.link_page(lang, flow)?);
                }
            }
        }
        Ok(out)
    }

    /// One link page: `noindex`, no canonical (its address carries a token), the language
    /// switcher to the home pages, and a form posting `token` ([`TOKEN_PLACEHOLDER`]) and
    /// `lang` to the flow's route.
    fn link_page(&self, lang: &str, flow: LinkFlow) -> Result<String, PagesError> {
        let model = self.model;
        let action = format!(
            "{}{}",
            model.config.form_endpoint.trim_end_matches('/'),
            flow.route()
        );
        let title = self.plain_string(lang, &format!("link-{}-title", flow.name()));
        let description = title.clone();
        let context = PageContext {
            noindex: true,
            ..PageContext::bare(
                &title,
                description,
                lang,
                &action,
                model.abs(&action),
                LINK_TEMPLATE,
            )
        };
        let mut tera = self.common_context(lang);
        tera.insert("page", &context);
        tera.insert("canonical", "");
        tera.insert("alternates", &[] as &[String]);
        tera.insert("languages", &self.switcher(lang, |_| None));
        tera.insert("flow", flow.name());
        tera.insert("action", &action);
        tera.insert("token", TOKEN_PLACEHOLDER);
        let html = self.renderer.render(lang, LINK_TEMPLATE, &tera)?;
        Ok(for_relay(model, html))
    }

    /// `/privacy/` (the default language's policy address without its language): a
    /// `noindex` page that sends the browser on to `/<default>/privacy/` (a zero-delay refresh,
    /// a link, the canonical); the relay's file service answers it with a `301` instead. None
    /// without a policy in the default language or a `redirect.html` in the theme.
    pub(super) fn policy_redirect(&self) -> Result<Option<HtmlPage>, PagesError> {
        let model = self.model;
        let lang = model.default_lang().as_str();
        let Some(policy) = model.find(PageKind::Policy, lang) else {
            return Ok(None);
        };
        let prefix = format!("/{lang}");
        let path = match policy.url.strip_prefix(&prefix) {
            Some(path) if path.len() > 1 && path.starts_with('/') => path,
            _ => return Ok(None),
        };
        if !self.renderer.has_template(REDIRECT_TEMPLATE) {
            return Ok(None);
        }
        let title = &policy.front.title;
        let context = PageContext {
            noindex: true,
            ..PageContext::bare(
                title,
                title.clone(),
                lang,
                path,
                model.abs(path),
                REDIRECT_TEMPLATE,
            )
        };
        let mut tera = self.common_context(lang);
        tera.insert("page", &context);
        tera.insert("canonical", &model.abs(&policy.url));
        tera.insert("target", &policy.url);
        let html = self.renderer.render(lang, REDIRECT_TEMPLATE, &tera)?;
        Ok(Some(HtmlPage {
            url: path.to_owned(),
            html,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_routes_follow_the_relay() {
        assert_eq!(LinkFlow::Grant.route(), "/confirm");
        assert_eq!(LinkFlow::Request.route(), "/request/confirm");
    }

    #[test]
    fn site_links_become_absolute_only_for_a_relay_on_another_host() {
        let html = "<link href=\"/static/a.css\"><a href=\"//cdn.example/x\"><form action=\"/api/confirm\"><a href=\"#main\">";
        assert_eq!(
            absolute_if_elsewhere("/api", "https://woow.kz", html.to_owned()),
            html
        );
        assert_eq!(
            absolute_if_elsewhere(
                "https://relay.woow.kz/api",
                "https://woow.kz",
                html.to_owned()
            ),
            "<link href=\"https://woow.kz/static/a.css\"><a href=\"//cdn.example/x\"><form action=\"https://woow.kz/api/confirm\"><a href=\"#main\">"
        );
    }
}
