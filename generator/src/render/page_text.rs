//! The texts the site's pages publish and the manifest hashes, read back from the HTML: the
//! policy text between its markers, a consent label's inner HTML, and the plain text a label's
//! hash is taken of (tags removed, the entities the generator writes decoded, white space
//! collapsed, trimmed; see [`crate::render::manifest`] for why). Pure functions over strings,
//! used by the manifest and by the pages that check what they publish.

/// Marks the start of the published policy text on the policy page.
pub const POLICY_START: &str = kelisim_manifest::POLICY_TEXT_START;
/// Marks the end of the published policy text on the policy page.
pub const POLICY_END: &str = kelisim_manifest::POLICY_TEXT_END;

/// The policy text published on a policy page (between the markers), if the page has it.
pub fn published_policy_text(page_html: &str) -> Option<&str> {
    kelisim_manifest::policy_text_of(page_html)
}

/// The inner HTML of a consent label on a contact page.
pub fn consent_label_html<'a>(page_html: &'a str, purpose: &str) -> Option<&'a str> {
    let open = format!("<span class=\"consent-text\" id=\"consent-text-{purpose}\">");
    let start = page_html.find(&open)? + open.len();
    let len = page_html[start..].find("</span>")?;
    let inner = &page_html[start..start + len];
    // A nested span would end the label early; refuse rather than hash half a label.
    (!inner.contains("<span")).then_some(inner)
}

/// Plain text of an HTML fragment, as described in the module documentation.
pub fn plain_text(html: &str) -> String {
    let mut text = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match (in_tag, c) {
            (false, '<') => in_tag = true,
            (true, '>') => in_tag = false,
            (false, c) => text.push(c),
            (true, _) => {}
        }
    }
    let decoded = decode_entities(&text);
    decoded.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Decodes the entities [`crate::load::i18n::escape_html`] and pulldown-cmark write, plus numeric
/// ones; anything else is left as written.
fn decode_entities(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let Some(end) = rest.find(';').filter(|&e| e <= 10) else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let entity = &rest[1..end];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            "nbsp" => Some('\u{a0}'),
            _ => entity
                .strip_prefix("#x")
                .or_else(|| entity.strip_prefix("#X"))
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_strips_tags_and_decodes() {
        assert_eq!(
            plain_text(
                "Мен <a href=\"/kk/privacy/1/\">саясатқа</a>\n  сәйкес «A&amp;B» &#39;x&#x27; &lt;"
            ),
            "Мен саясатқа сәйкес «A&B» 'x' <"
        );
        assert_eq!(plain_text("a & b &unknown; c"), "a & b &unknown; c");
    }

    #[test]
    fn finds_label_and_policy_text() {
        let page = "<label><span class=\"consent-text\" id=\"consent-text-reply\">I <a href=\"/p\">agree</a></span></label>";
        assert_eq!(
            consent_label_html(page, "reply"),
            Some("I <a href=\"/p\">agree</a>")
        );
        assert_eq!(consent_label_html(page, "newsletter"), None);
        let policy = format!("<div>{POLICY_START}<h2>x</h2>\n{POLICY_END}</div>");
        assert_eq!(published_policy_text(&policy), Some("<h2>x</h2>\n"));
    }

    #[test]
    fn nested_span_is_refused() {
        let page =
            "<span class=\"consent-text\" id=\"consent-text-reply\">a <span>b</span> c</span>";
        assert_eq!(consent_label_html(page, "reply"), None);
    }
}
