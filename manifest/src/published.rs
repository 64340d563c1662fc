//! What the site publishes beside the manifest for anyone to check a record with: the markers
//! around the hashed policy text on every policy page ([`policy_text_of`]), each version's
//! labels ([`PublishedLabels`]), where the receipt keys are, and the placeholders in the HTML
//! documents the manifest carries for the relay to fill in.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{ConsentLabel, PurposeId};

/// Marks the start of the published policy text on a policy page: the bytes between it and
/// [`POLICY_TEXT_END`] are exactly the ones hashed into [`crate::PolicyVersion::sha256`].
pub const POLICY_TEXT_START: &str = "<!-- kelisim:policy-text -->";
/// Marks the end of the published policy text on a policy page.
pub const POLICY_TEXT_END: &str = "<!-- /kelisim:policy-text -->";

/// In [`crate::LanguageConsent::grant_link_page`] and
/// [`crate::LanguageConsent::request_link_page`]: the value of the hidden `token` field, which
/// the relay replaces (HTML-escaped) with the link's token when it answers the link's `GET`.
pub const TOKEN_PLACEHOLDER: &str = "__KELISIM_TOKEN__";

/// In [`crate::LanguageConsent::thanks_page`]: the `href` of the "download your receipt" link,
/// which the relay replaces (HTML-escaped) with the receipt's URL.
pub const RECEIPT_URL_PLACEHOLDER: &str = "__KELISIM_RECEIPT_URL__";

/// The file name of the consent manifest, which a built site publishes at its root
/// (`/consent-manifest.json`), so anyone can find every version's permanent page and labels.
pub const MANIFEST_FILE: &str = "consent-manifest.json";

/// The file name of a version's published labels, beside its permanent page:
/// `/<lang>/privacy/<version>/consent-labels.json` ([`PublishedLabels`]).
pub const LABELS_FILE: &str = "consent-labels.json";

/// Where a site publishes the public keys its relay signs receipts with (a JWK Set, RFC 7517).
pub const RECEIPT_KEYS_PATH: &str = "/.well-known/kelisim-receipt-keys.json";

/// A version's labels as published at `/<lang>/privacy/<version>/consent-labels.json`, so any
/// label hash a record holds can be looked up by anyone, forever.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishedLabels {
    /// The language tag (`kk`).
    pub lang: String,
    /// The policy version the labels were shown with.
    pub version: String,
    /// By purpose id.
    pub labels: BTreeMap<PurposeId, ConsentLabel>,
}

/// The policy text a policy page publishes: the bytes between the first [`POLICY_TEXT_START`]
/// and the [`POLICY_TEXT_END`] after it, exactly as hashed into
/// [`crate::PolicyVersion::sha256`].
/// `None` when the page has no such markers.
///
/// Anyone can check a record's policy hash against the published page without kelisim:
///
/// ```sh
/// curl -s https://woow.kz/kk/privacy/1.0/ \
///   | sed -n '/<!-- kelisim:policy-text -->/,/<!-- \/kelisim:policy-text -->/p' \
///   | sed -e '1s/.*<!-- kelisim:policy-text -->//' -e '$s/<!-- \/kelisim:policy-text -->.*//' \
///   | head -c -1 | sha256sum
/// ```
///
/// (The generator's theme starts a line with the start marker, the text right after it, and
/// ends the text with the end marker; the two `sed` expressions cut both markers off and
/// `head -c -1` drops the newline `sed` adds after the last line.) The result is the `sha256`
/// the manifest and the record name; the generator's tests run this very pipeline.
pub fn policy_text_of(page: &str) -> Option<&str> {
    let start = page.find(POLICY_TEXT_START)? + POLICY_TEXT_START.len();
    let len = page[start..].find(POLICY_TEXT_END)?;
    Some(&page[start..start + len])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_text_is_what_stands_between_the_first_markers() {
        let page = format!(
            "<div>\n{POLICY_TEXT_START}<h2>1.</h2>\n<p>a</p>\n{POLICY_TEXT_END}\n</div>{POLICY_TEXT_END}"
        );
        assert_eq!(policy_text_of(&page), Some("<h2>1.</h2>\n<p>a</p>\n"));
        assert_eq!(policy_text_of("<p>no markers</p>"), None);
        assert_eq!(policy_text_of(POLICY_TEXT_START), None);
        let empty = format!("{POLICY_TEXT_START}{POLICY_TEXT_END}");
        assert_eq!(policy_text_of(&empty), Some(""));
    }
}
