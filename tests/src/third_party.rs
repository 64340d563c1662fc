//! The "no third party" check: a privacy-policy site must not make the visitor's browser talk to
//! anyone but the site itself (no CDN fonts, analytics, embeds), because each such request hands
//! the visitor's IP address to another controller.

use std::fmt;

use serde::Deserialize;

use crate::{Browser, HarnessError};

/// A URL the page loads, or points a loading element at, on another origin.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct ForeignReference {
    /// Where it was found: `resource` (an actual request the page made, from the Resource
    /// Timing API) or the element and attribute, e.g. `script[src]`.
    pub source: String,
    /// The absolute URL.
    pub url: String,
}

impl fmt::Display for ForeignReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.source, self.url)
    }
}

/// Every request the open page made to another origin, plus every `link`, `script`, `img`,
/// `iframe` (and other loading element) in its DOM whose URL is on another origin, even if it
/// was not fetched yet (lazy images, a `preconnect`).
///
/// `<a href>` to other sites is allowed (a link is followed only if the visitor chooses), and so
/// are `<link>` relations that never fetch (`canonical`, `alternate` hreflang, ...). `data:` and
/// `blob:` URLs stay inside the page.
pub async fn foreign_references(browser: &Browser) -> Result<Vec<ForeignReference>, HarnessError> {
    browser
        .eval(
            r#"
            const NON_FETCHING_RELS = new Set(['canonical', 'alternate', 'author', 'license',
                'help', 'next', 'prev', 'search', 'bookmark', 'me', 'privacy-policy',
                'terms-of-service']);
            const found = [];
            const check = (source, raw) => {
                if (!raw) return;
                let url;
                try { url = new URL(raw, document.baseURI); } catch (_) { return; }
                if (url.protocol === 'data:' || url.protocol === 'blob:' || url.protocol === 'about:') return;
                if (url.origin !== location.origin) found.push({ source, url: url.href });
            };
            for (const entry of performance.getEntriesByType('resource')) {
                check('resource', entry.name);
            }
            for (const el of document.querySelectorAll('link[href]')) {
                const rels = (el.getAttribute('rel') || '').toLowerCase().split(/\s+/).filter(Boolean);
                if (rels.length > 0 && rels.every((r) => NON_FETCHING_RELS.has(r))) continue;
                check('link[href] rel=' + rels.join(' '), el.getAttribute('href'));
            }
            const loaders = [
                ['script', 'src'], ['img', 'src'], ['iframe', 'src'], ['frame', 'src'],
                ['source', 'src'], ['video', 'src'], ['video', 'poster'], ['audio', 'src'],
                ['track', 'src'], ['embed', 'src'], ['object', 'data'], ['input', 'src'],
            ];
            for (const [tag, attr] of loaders) {
                for (const el of document.querySelectorAll(tag + '[' + attr + ']')) {
                    check(tag + '[' + attr + ']', el.getAttribute(attr));
                }
            }
            for (const el of document.querySelectorAll('img[srcset], source[srcset]')) {
                for (const candidate of el.getAttribute('srcset').split(',')) {
                    check(el.localName + '[srcset]', candidate.trim().split(/\s+/)[0]);
                }
            }
            for (const el of document.querySelectorAll('form[action]')) {
                check('form[action]', el.getAttribute('action'));
            }
            return found;
            "#,
            vec![],
        )
        .await
}
