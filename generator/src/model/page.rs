//! A published page, typed: its [`PageKind`], language, URL, template, `noindex`, front matter,
//! rendered body and [`Translation`]s. Built by [`crate::model`], read by every consumer.

use std::borrow::Cow;
use std::path::PathBuf;

use serde::Serialize;

use crate::load::front_matter::FrontMatter;
use crate::load::lang::Lang;
use crate::model::markdown::{self, Rendered};

/// What a page is for. The built-in kinds come from the content file's translation key
/// (`_index`, `privacy`, `contact`, `thanks`, `error`, `404`, `confirmed`, `confirm-error`,
/// `request`, `request-sent`, `request-confirmed`, `request-confirm-error`,
/// `request-error`); every other file is a
/// [`PageKind::Page`]. A new kind is one variant here plus its default template.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PageKind {
    /// `_index.md`: a language's home page.
    Home,
    /// `privacy.md`: the privacy policy (also published at its permanent URL).
    Policy,
    /// `contact.md`: operator details and the contact form.
    Contact,
    /// `thanks.md`: where a plain form post lands after success.
    Thanks,
    /// `error.md`: where a plain form post lands after a validation error.
    FormError,
    /// `404.md`: the not-found page.
    NotFound,
    /// `confirmed.md`: where a confirmed newsletter subscription (double opt-in) lands.
    Confirmed,
    /// `confirm-error.md`: where a bad, expired or used confirmation link lands.
    ConfirmError,
    /// `request.md`: the data-subject request form (access, rectification, withdrawal,
    /// blocking, erasure).
    Request,
    /// `request-sent.md`: where a request post lands ("check your mail").
    RequestSent,
    /// `request-confirmed.md`: where a confirmed request lands.
    RequestConfirmed,
    /// `request-confirm-error.md`: where a bad, expired or used request confirmation link
    /// lands.
    RequestConfirmError,
    /// `request-error.md`: where a refused request form lands.
    RequestError,
    /// Any other page.
    Page,
}

impl PageKind {
    /// The kind of a content file with this translation key.
    pub fn of(translation_key: &str) -> Self {
        match translation_key {
            "_index" => Self::Home,
            "privacy" => Self::Policy,
            "contact" => Self::Contact,
            "thanks" => Self::Thanks,
            "error" => Self::FormError,
            "404" => Self::NotFound,
            "confirmed" => Self::Confirmed,
            "confirm-error" => Self::ConfirmError,
            "request" => Self::Request,
            "request-sent" => Self::RequestSent,
            "request-confirmed" => Self::RequestConfirmed,
            "request-confirm-error" => Self::RequestConfirmError,
            "request-error" => Self::RequestError,
            _ => Self::Page,
        }
    }

    /// The content file of a built-in kind, for messages (`privacy` → `privacy.md`).
    pub fn file_stem(self) -> &'static str {
        match self {
            Self::Home => "_index",
            Self::Policy => "privacy",
            Self::Contact => "contact",
            Self::Thanks => "thanks",
            Self::FormError => "error",
            Self::NotFound => "404",
            Self::Confirmed => "confirmed",
            Self::ConfirmError => "confirm-error",
            Self::Request => "request",
            Self::RequestSent => "request-sent",
            Self::RequestConfirmed => "request-confirmed",
            Self::RequestConfirmError => "request-confirm-error",
            Self::RequestError => "request-error",
            Self::Page => "page",
        }
    }

    /// The template a page of this kind uses when its front matter names none.
    pub fn default_template(self) -> &'static str {
        match self {
            Self::Home => "index.html",
            Self::Policy => "policy.html",
            Self::Contact => "contact.html",
            Self::Thanks => "thanks.html",
            Self::FormError | Self::RequestError => "form-error.html",
            Self::NotFound => "404.html",
            Self::Confirmed | Self::RequestSent | Self::RequestConfirmed => "thanks.html",
            Self::Request => "request.html",
            Self::ConfirmError | Self::RequestConfirmError | Self::Page => "page.html",
        }
    }

    /// Whether a page of this kind stays out of search when its front matter says nothing:
    /// result, confirmation and not-found pages are not content.
    pub fn default_noindex(self) -> bool {
        matches!(
            self,
            Self::Thanks
                | Self::FormError
                | Self::NotFound
                | Self::Confirmed
                | Self::ConfirmError
                | Self::RequestSent
                | Self::RequestConfirmed
                | Self::RequestConfirmError
                | Self::RequestError
        )
    }

    /// Whether the consent manifest reads pages of this kind (the policy's hash, the contact
    /// page's labels, the thank-you page as the relay's receipt page): an edit to one changes
    /// the manifest, so the preview rebuilds the whole site rather than the page alone.
    pub fn feeds_manifest(self) -> bool {
        matches!(self, Self::Policy | Self::Contact | Self::Thanks)
    }
}

/// The same page in one language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Translation {
    pub lang: Lang,
    /// Site-relative URL.
    pub url: String,
    pub noindex: bool,
}

/// A published page.
#[derive(Debug, Clone)]
pub struct Page {
    /// The content file, relative to the site root (`content/kk/privacy.md`).
    pub source: PathBuf,
    pub kind: PageKind,
    pub lang: Lang,
    /// Pages with the same key in different languages are translations of each other.
    pub key: String,
    /// Site-relative URL (`/kk/privacy/`).
    pub url: String,
    /// The template it renders with, checked to exist.
    pub template: String,
    /// Kept out of search: `noindex` in its head, not in the sitemap.
    pub noindex: bool,
    pub front: FrontMatter,
    pub body: Body,
    /// This page in every language that has it, itself included, in the site's order.
    pub translations: Vec<Translation>,
}

impl Page {
    /// The date search engines see as the last change.
    pub fn lastmod(&self) -> Option<time::Date> {
        self.front
            .updated
            .or(self.front.date)
            .or(self.front.effective_date)
    }
}

/// A page's body. Most pages keep their Markdown and render it when their HTML is made, so a
/// build holds the sources and no second, rendered copy of every page; a policy's body is
/// rendered once up front, because its hash is needed before any page is rendered.
#[derive(Debug, Clone)]
pub enum Body {
    Markdown(String),
    Rendered(Rendered),
}

impl Body {
    /// The rendered body (rendered now, for a body kept as Markdown).
    pub fn rendered(&self) -> Cow<'_, Rendered> {
        match self {
            Self::Markdown(text) => Cow::Owned(markdown::render(text)),
            Self::Rendered(rendered) => Cow::Borrowed(rendered),
        }
    }
}

/// A rendered page and the site-relative URL it is published at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HtmlPage {
    pub url: String,
    pub html: String,
}
