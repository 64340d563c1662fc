//! The console's HTML: one layout for every page (skip link, the sections, the language
//! switcher, who is acting, the stop button), the words in the chosen language, and the
//! small pieces pages are made of. Every value put into HTML goes through [`esc`]; there is
//! no script and no inline style, so the strict CSP holds.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use fluent_bundle::FluentValue;
use time::OffsetDateTime;

use serde::Deserialize;

use super::gate::CSRF_FIELD;
use crate::domain::messages::{CONSOLE_LANGUAGES, Messages};

/// HTML-escapes `text`.
pub fn esc(text: &str) -> String {
    kelisim_manifest::html::escape(text)
}

/// Escapes `text` and shows each `` `command` `` in it as code.
pub fn rich(text: &str) -> String {
    let mut out = String::new();
    for (i, part) in text.split('`').enumerate() {
        if i % 2 == 1 {
            let _ = write!(out, "<code>{}</code>", esc(part));
        } else {
            out.push_str(&esc(part));
        }
    }
    out
}

/// Each language's own name, for the switcher.
fn language_name(lang: &str) -> &'static str {
    if lang == "ru" {
        "Русский"
    } else {
        "Қазақша"
    }
}

/// The sections, in the order the navigation lists them: (path, message).
pub const SECTIONS: [(&str, &str); 5] = [
    ("inbox", "console-nav-inbox"),
    ("requests", "console-nav-requests"),
    ("deliveries", "console-nav-deliveries"),
    ("mailing-list", "console-nav-mailing"),
    ("audit", "console-nav-audit"),
];

/// What every page of one session in one language needs.
#[derive(Clone)]
pub struct Ctx {
    pub lang: &'static str,
    pub csrf: String,
    pub actor: String,
    pub messages: Arc<Messages>,
}

impl Ctx {
    /// The context for `lang`, if the console speaks it.
    pub fn new(lang: &str, csrf: &str, actor: &str, messages: &Arc<Messages>) -> Option<Self> {
        let lang = CONSOLE_LANGUAGES.into_iter().find(|l| *l == lang)?;
        Some(Self {
            lang,
            csrf: csrf.to_owned(),
            actor: actor.to_owned(),
            messages: Arc::clone(messages),
        })
    }

    /// `key` in the page's language, as plain text.
    pub fn t(&self, key: &str) -> String {
        self.messages.format(self.lang, key, &[])
    }

    /// `key` with arguments, as plain text.
    pub fn ta(&self, key: &str, args: &[(&str, FluentValue<'_>)]) -> String {
        self.messages.format(self.lang, key, args)
    }

    /// `key`, escaped for HTML.
    pub fn h(&self, key: &str) -> String {
        esc(&self.t(key))
    }

    /// `/<lang><path>`: a console URL in the page's language.
    pub fn url(&self, path: &str) -> String {
        format!("/{}{path}", self.lang)
    }

    /// The hidden field every form carries.
    pub fn csrf_field(&self) -> String {
        format!(
            "<input type=\"hidden\" name=\"{CSRF_FIELD}\" value=\"{}\">",
            esc(&self.csrf)
        )
    }

    /// A form that POSTs to `action` with one button (and `fields`, already HTML).
    pub fn button_form(&self, action: &str, fields: &str, label: &str, class: &str) -> String {
        format!(
            "<form method=\"post\" action=\"{}\" class=\"inline\">{}{fields}\
             <button type=\"submit\" class=\"{class}\">{}</button></form>",
            esc(action),
            self.csrf_field(),
            esc(label)
        )
    }

    /// A purpose's name in words (`purpose-<id>` of the site's messages).
    pub fn purpose_name(&self, id: &str) -> String {
        self.messages
            .name_or(self.lang, &format!("purpose-{id}"), id)
    }

    /// A language's name in words (`language-<tag>`).
    pub fn language_word(&self, tag: &str) -> String {
        self.messages
            .name_or(self.lang, &format!("language-{tag}"), tag)
    }
}

/// One page: its title, where the language switcher leads, which section it belongs to, a
/// notice above the content, and the content.
pub struct Page<'a> {
    pub ctx: &'a Ctx,
    pub title: String,
    /// The same page in another language: this path after the `/<lang>` prefix.
    pub here: String,
    pub section: &'a str,
    pub notice: Option<String>,
    pub body: String,
}

impl Page<'_> {
    /// The whole document.
    pub fn render(&self) -> String {
        let ctx = self.ctx;
        let mut html = format!(
            "<!doctype html>\n<html lang=\"{lang}\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <title>{title} — {console}</title>\n\
             <link rel=\"stylesheet\" href=\"/console.css\">\n</head>\n<body>\n\
             <a class=\"skip\" href=\"#main\">{skip}</a>\n<header class=\"top\">\n\
             <p class=\"brand\">{console}</p>\n",
            lang = ctx.lang,
            title = esc(&self.title),
            console = ctx.h("console-title"),
            skip = ctx.h("console-skip"),
        );
        html.push_str(&self.sections());
        html.push_str(&self.tools());
        html.push_str("</header>\n<main id=\"main\">\n");
        let _ = writeln!(html, "<h1>{}</h1>", esc(&self.title));
        if let Some(notice) = &self.notice {
            let _ = writeln!(
                html,
                "<p class=\"notice\" role=\"status\">{}</p>",
                esc(notice)
            );
        }
        html.push_str(&self.body);
        html.push_str("\n</main>\n</body>\n</html>\n");
        html
    }

    fn sections(&self) -> String {
        let ctx = self.ctx;
        let mut html = format!(
            "<nav class=\"sections\" aria-label=\"{}\"><ul>",
            ctx.h("console-nav-label")
        );
        for (path, key) in SECTIONS {
            let current = if path == self.section {
                " aria-current=\"page\""
            } else {
                ""
            };
            let _ = write!(
                html,
                "<li><a href=\"{}\"{current}>{}</a></li>",
                ctx.url(&format!("/{path}")),
                ctx.h(key)
            );
        }
        html.push_str("</ul></nav>\n");
        html
    }

    fn tools(&self) -> String {
        let ctx = self.ctx;
        let mut html = format!(
            "<div class=\"tools\">\n<nav class=\"languages\" aria-label=\"{}\"><ul>",
            ctx.h("console-language-label")
        );
        for lang in CONSOLE_LANGUAGES {
            let current = if lang == ctx.lang {
                " aria-current=\"true\""
            } else {
                ""
            };
            let _ = write!(
                html,
                "<li><a href=\"/{lang}{}\" lang=\"{lang}\" hreflang=\"{lang}\"{current}>{}</a></li>",
                esc(&self.here),
                language_name(lang)
            );
        }
        let operator = ctx.ta("console-operator", &[("name", ctx.actor.as_str().into())]);
        let _ = write!(
            html,
            "</ul></nav>\n<p class=\"operator\">{}</p>\n{}\n</div>\n",
            esc(&operator),
            ctx.button_form(&ctx.url("/stop"), "", &ctx.t("console-stop"), "quiet")
        );
        html
    }
}

/// An HTML answer with `status`.
pub fn html(status: StatusCode, body: String) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        )],
        body,
    )
        .into_response()
}

/// A download: `body` as `content_type`, saved as `filename` (ASCII, no quotes).
pub fn download(content_type: &'static str, filename: &str, body: Vec<u8>) -> Response {
    let disposition = format!("attachment; filename=\"{filename}\"");
    let mut response = (
        StatusCode::OK,
        [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))],
        body,
    )
        .into_response();
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

/// A page with only a message (an error, a refusal) and a link back to the inbox.
pub fn message_page(ctx: &Ctx, status: StatusCode, title: &str, message: &str) -> Response {
    let body = format!(
        "<p>{}</p>\n<p><a href=\"{}\">{}</a></p>",
        rich(message),
        ctx.url("/inbox"),
        ctx.h("console-back-to-inbox")
    );
    let page = Page {
        ctx,
        title: title.to_owned(),
        here: "/inbox".to_owned(),
        section: "",
        notice: None,
        body,
    };
    html(status, page.render())
}

/// The store failed: 503 with its error (which names the operation, never personal data).
pub fn store_failed(ctx: &Ctx, error: &dyn std::fmt::Display) -> Response {
    tracing::error!(%error, "console: the store failed");
    let detail = error.to_string();
    let message = ctx.ta(
        "console-store-failed",
        &[("detail", detail.as_str().into())],
    );
    message_page(
        ctx,
        StatusCode::SERVICE_UNAVAILABLE,
        &ctx.t("console-title"),
        &message,
    )
}

/// A refusal before any session, in both languages (the operator has not chosen one yet):
/// 403 and what to do, from `messages` under `key`.
pub fn refusal(messages: &Messages, key: &str) -> Response {
    let mut body = String::from(
        "<!doctype html>\n<html lang=\"kk\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n",
    );
    let _ = writeln!(
        body,
        "<title>{} — {}</title>\n<link rel=\"stylesheet\" href=\"/console.css\">\n</head>\n<body>\n<main>",
        esc(&messages.format("kk", "console-forbidden-title", &[])),
        esc(&messages.format("kk", "console-title", &[]))
    );
    for lang in CONSOLE_LANGUAGES {
        let _ = writeln!(
            body,
            "<section lang=\"{lang}\">\n<h{level}>{}</h{level}>\n<p>{}</p>\n<p>{}</p>\n</section>",
            esc(&messages.format(lang, "console-forbidden-title", &[])),
            rich(&messages.format(lang, key, &[])),
            rich(&messages.format(lang, "console-forbidden-body", &[])),
            level = if lang == "kk" { 1 } else { 2 },
        );
    }
    body.push_str("</main>\n</body>\n</html>\n");
    html(StatusCode::FORBIDDEN, body)
}

/// `YYYY-MM-DD HH:MM` (UTC) in a `<time>` element.
pub fn moment(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "<time datetime=\"{:04}-{:02}-{:02}T{:02}:{:02}Z\">{:04}-{:02}-{:02} {:02}:{:02}</time>",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute()
    )
}

/// `YYYY-MM-DD` (UTC) in a `<time>` element.
pub fn day(t: OffsetDateTime) -> String {
    let date = t.to_offset(time::UtcOffset::UTC).date();
    format!("<time datetime=\"{date}\">{date}</time>")
}

/// How long ago `since` was at `now`, in words: minutes, hours, then days.
pub fn age(ctx: &Ctx, since: OffsetDateTime, now: OffsetDateTime) -> String {
    let minutes = (now - since).whole_minutes().max(0);
    if minutes < 60 {
        ctx.ta("console-age-minutes", &[("minutes", minutes.into())])
    } else if minutes < 24 * 60 {
        ctx.ta("console-age-hours", &[("hours", (minutes / 60).into())])
    } else {
        ctx.ta(
            "console-age-days",
            &[("days", (minutes / (24 * 60)).into())],
        )
    }
}

/// A definition list from (label, value HTML) pairs.
pub fn facts(rows: &[(String, String)]) -> String {
    let mut html = String::from("<dl class=\"facts\">\n");
    for (label, value) in rows {
        let _ = writeln!(html, "<dt>{}</dt><dd>{value}</dd>", esc(label));
    }
    html.push_str("</dl>\n");
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped_and_commands_are_code() {
        assert_eq!(esc("<b>\"x\"</b>"), "&lt;b&gt;&quot;x&quot;&lt;/b&gt;");
        assert_eq!(
            rich("run `kelisim-relay console` <now>"),
            "run <code>kelisim-relay console</code> &lt;now&gt;"
        );
    }
}

/// The `?done=` a page is redirected to after an action, naming what was done (a notice).
#[derive(Debug, Default, Deserialize)]
pub struct Done {
    #[serde(default)]
    pub done: Option<String>,
}
