//! What the site hands the relay besides facts: the pages a mailed confirmation link opens
//! (one button that posts the token), the thank-you page with the receipt link, the request
//! result pages, the `/privacy/` redirect of the policy's §12.3 address, and the receipt keys
//! published at `/.well-known/kelisim-receipt-keys.json` (a private key refused loudly).
#![allow(clippy::unwrap_used)]

use std::path::Path;

use crate::support::*;
use kelisim_manifest::{
    ConsentManifest, RECEIPT_KEYS_PATH, RECEIPT_URL_PLACEHOLDER, TOKEN_PLACEHOLDER,
};

const PUBLIC_KEY: &str = r#"{
  "keys": [
    {
      "kty": "OKP",
      "crv": "Ed25519",
      "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
      "kid": "2026-01",
      "use": "sig",
      "alg": "EdDSA"
    }
  ]
}
"#;

fn manifest(root: &Path) -> ConsentManifest {
    ConsentManifest::from_json(&read(root, "consent-manifest.json")).unwrap()
}

/// The repository's own site (it has the double opt-in and the request page), built into a
/// temporary folder.
fn real_site() -> (tempfile::TempDir, ConsentManifest) {
    let out = tempfile::tempdir().unwrap();
    build_real_site(out.path());
    let manifest = ConsentManifest::from_json(
        &std::fs::read_to_string(out.path().join("consent-manifest.json")).unwrap(),
    )
    .unwrap();
    (out, manifest)
}

#[test]
fn link_pages_post_the_token_with_one_button_and_say_noindex() {
    let (_out, manifest) = real_site();
    for (lang, language) in &manifest.languages {
        for (page, action) in [
            (&language.grant_link_page, "/api/contact/confirm"),
            (&language.request_link_page, "/api/contact/request/confirm"),
        ] {
            let page = page
                .as_deref()
                .unwrap_or_else(|| panic!("{lang}: no link page"));
            assert!(page.starts_with("<!DOCTYPE html>"), "{lang}");
            assert!(page.contains(&format!("<html lang=\"{lang}\">")));
            assert!(page.contains("<meta name=\"robots\" content=\"noindex\">"));
            assert!(
                !page.contains("rel=\"canonical\""),
                "a token's page has no canonical"
            );
            let forms = tags(page, "<form");
            assert_eq!(forms.len(), 1, "{lang}: one form");
            assert_eq!(attr(forms[0], "method"), Some("post"));
            assert_eq!(attr(forms[0], "action"), Some(action));
            assert!(page.contains(&format!(
                "<input type=\"hidden\" name=\"token\" value=\"{TOKEN_PLACEHOLDER}\">"
            )));
            assert!(page.contains(&format!(
                "<input type=\"hidden\" name=\"lang\" value=\"{lang}\">"
            )));
            assert_eq!(tags(page, "<button").len(), 1, "{lang}: one button");
            // No script: it works without JavaScript.
            assert!(!page.contains("<script"), "{lang}");
        }
        let grant = language.grant_link_page.as_deref().unwrap();
        let words = if lang == "kk" {
            "Жазылуды растау</button>"
        } else {
            "Подтвердить подписку</button>"
        };
        assert!(grant.contains(words), "{lang}");
    }
}

#[test]
fn the_thanks_page_template_has_the_receipt_link_and_the_result_pages_are_listed() {
    let (_out, manifest) = real_site();
    for (lang, language) in &manifest.languages {
        let thanks = language.thanks_page.as_deref().unwrap();
        let link = tags(thanks, "<a class=\"button\" href=\"__KELISIM");
        assert_eq!(link.len(), 1, "{lang}");
        assert_eq!(attr(link[0], "href"), Some(RECEIPT_URL_PLACEHOLDER));
        // Saved under a name that says what it is (a `data:` URL names no file).
        assert_eq!(attr(link[0], "download"), Some("kelisim-receipt.jws"));
        assert!(thanks.contains("<meta name=\"robots\" content=\"noindex\">"));
        assert_eq!(
            language.request_error_url.as_deref(),
            Some(format!("https://woow.kz/{lang}/request-error/").as_str())
        );
        assert_eq!(
            language.request_confirm_error_url.as_deref(),
            Some(format!("https://woow.kz/{lang}/request-confirm-error/").as_str())
        );
    }
    // Without its placeholder the published page has no receipt link.
    let (out, _) = real_site();
    let page = std::fs::read_to_string(out.path().join("kk/thanks/index.html")).unwrap();
    assert!(!page.contains(RECEIPT_URL_PLACEHOLDER));
}

#[test]
fn a_refused_request_goes_back_to_the_request_form() {
    let (out, _) = real_site();
    for lang in ["kk", "ru"] {
        let page =
            std::fs::read_to_string(out.path().join(format!("{lang}/request-error/index.html")))
                .unwrap();
        assert!(page.contains(&format!("<a class=\"button\" href=\"/{lang}/request/\">")));
        assert!(page.contains("<span data-field=\"kind\">"));
        assert!(page.contains("<meta name=\"robots\" content=\"noindex\">"));
        let contact =
            std::fs::read_to_string(out.path().join(format!("{lang}/error/index.html"))).unwrap();
        assert!(contact.contains(&format!("<a class=\"button\" href=\"/{lang}/contact/\">")));
    }
}

#[test]
fn privacy_without_a_language_leads_to_the_default_languages_policy() {
    let (out, _) = real_site();
    let page = std::fs::read_to_string(out.path().join("privacy/index.html")).unwrap();
    assert!(page.contains("<meta http-equiv=\"refresh\" content=\"0; url=/kk/privacy/\">"));
    assert!(page.contains("<link rel=\"canonical\" href=\"https://woow.kz/kk/privacy/\">"));
    assert!(page.contains("<a href=\"/kk/privacy/\">"));
    assert!(page.contains("<meta name=\"robots\" content=\"noindex\">"));
    assert!(page.contains("<html lang=\"kk\">"));
}

#[test]
fn receipt_keys_are_checked_and_published_unchanged() {
    let site = fixture_site();
    let root = site.path();
    build(root).unwrap();
    assert_eq!(manifest(root).receipt_keys_url, None);
    assert!(!root.join("public/.well-known").exists());

    std::fs::write(root.join("receipt-keys.json"), PUBLIC_KEY).unwrap();
    build(root).unwrap();
    assert_eq!(
        manifest(root).receipt_keys_url,
        Some(format!("https://example.kz{RECEIPT_KEYS_PATH}"))
    );
    assert_eq!(
        read(root, ".well-known/kelisim-receipt-keys.json"),
        PUBLIC_KEY
    );

    // A private key never reaches the site: the build stops at its `d`.
    let private = PUBLIC_KEY.replace(
        "      \"kid\": \"2026-01\",",
        "      \"kid\": \"2026-01\",\n      \"d\": \"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A\",",
    );
    std::fs::write(root.join("receipt-keys.json"), private).unwrap();
    let err = build(root).unwrap_err().to_string();
    assert!(
        err.starts_with("receipt-keys.json:8: receipt key 1 (`2026-01`): this is a PRIVATE key"),
        "{err}"
    );
    // The site published before stays as it was.
    assert_eq!(
        read(root, ".well-known/kelisim-receipt-keys.json"),
        PUBLIC_KEY
    );
    // `kelisim check` reports it as an error too.
    let check = kelisim::commands::check::run(root, &Default::default());
    assert!(
        check
            .findings
            .iter()
            .any(|f| f.severity == kelisim::commands::check::Severity::Error
                && f.file == Path::new("receipt-keys.json")
                && f.line == 8),
        "{:#?}",
        check.findings
    );

    // A file named in site.toml must exist.
    std::fs::remove_file(root.join("receipt-keys.json")).unwrap();
    let toml = std::fs::read_to_string(root.join("site.toml")).unwrap();
    std::fs::write(
        root.join("site.toml"),
        toml.replace(
            "theme = \"default\"",
            "theme = \"default\"\nreceipt_keys = \"keys/receipts.json\"",
        ),
    )
    .unwrap();
    let err = build(root).unwrap_err().to_string();
    assert!(
        err.starts_with("keys/receipts.json: site.toml names"),
        "{err}"
    );
}

#[test]
fn the_preview_can_publish_a_throwaway_key_of_its_own() {
    let site = fixture_site();
    std::fs::write(site.path().join("receipt-keys.json"), PUBLIC_KEY).unwrap();
    let key = serde_json::from_str(
        r#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","kid":"preview"}"#,
    )
    .unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let options = kelisim::BuildOptions::new(site.path());
    let (_, built) =
        kelisim::build::render_site_until_with_key(&options, &stop, Some(key)).unwrap();
    let published = built.file(".well-known/kelisim-receipt-keys.json").unwrap();
    let set: kelisim_manifest::receipt_keys::ReceiptKeySet =
        serde_json::from_slice(published).unwrap();
    let kids: Vec<&str> = set.keys.iter().map(|k| k.kid.as_str()).collect();
    assert_eq!(kids, ["2026-01", "preview"]);
    assert!(built.manifest.receipt_keys_url.is_some());
    // Nothing is written next to the sources.
    assert_eq!(
        std::fs::read_to_string(site.path().join("receipt-keys.json")).unwrap(),
        PUBLIC_KEY
    );
}
