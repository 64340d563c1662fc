//! Builds the fixture site and checks what was published: golden files, hreflang links,
//! sitemap alternates, the consent manifest's hashes (recomputed from the built pages), the
//! contact form's hidden fields, plural forms from the real `locales/`, and the real site.
#![allow(clippy::unwrap_used)]

use crate::support;

use std::collections::BTreeSet;
use std::path::Path;

use kelisim::load::i18n::{Arg, Locales};
use kelisim::render::manifest::{consent_label_html, plain_text, published_policy_text};
use kelisim_manifest::{ConsentManifest, sha256_hex};
use support::*;

const BASE: &str = "https://example.kz";

/// Golden files: every built HTML page, the sitemap, robots.txt and the manifest, byte for
/// byte. `KELISIM_BLESS=1 cargo test -p kelisim --test generator site::` rewrites them (check the diff by
/// hand before committing).
#[test]
fn built_pages_match_the_golden_files() {
    let site = fixture_site();
    build(site.path()).unwrap();
    let out = site.path().join("public");
    let expected_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/expected");
    let mut built = html_files(&out);
    built.extend(["sitemap.xml", "robots.txt", "consent-manifest.json"].map(String::from));
    built.sort();
    if std::env::var_os("KELISIM_BLESS").is_some() {
        if expected_dir.exists() {
            std::fs::remove_dir_all(&expected_dir).unwrap();
        }
        for rel in &built {
            let target = expected_dir.join(rel);
            std::fs::create_dir_all(target.parent().unwrap()).unwrap();
            std::fs::copy(out.join(rel), target).unwrap();
        }
    }
    let mut expected: Vec<String> = walkdir::WalkDir::new(&expected_dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            e.path()
                .strip_prefix(&expected_dir)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/")
        })
        .collect();
    expected.sort();
    assert_eq!(
        built, expected,
        "the set of built files changed (KELISIM_BLESS=1 to accept)"
    );
    for rel in &built {
        let got = std::fs::read_to_string(out.join(rel)).unwrap();
        let want = std::fs::read_to_string(expected_dir.join(rel)).unwrap();
        assert!(
            got == want,
            "{rel} differs from its golden file (KELISIM_BLESS=1 to accept after checking):\n{}",
            first_difference(&want, &got)
        );
    }
}

fn first_difference(want: &str, got: &str) -> String {
    for (i, (w, g)) in want.lines().zip(got.lines()).enumerate() {
        if w != g {
            return format!("line {}:\n- {w}\n+ {g}", i + 1);
        }
    }
    format!(
        "lengths differ: {} vs {} lines",
        want.lines().count(),
        got.lines().count()
    )
}

#[test]
fn every_page_links_all_translations_itself_and_x_default() {
    let site = fixture_site();
    let report = build(site.path()).unwrap();
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    let out = site.path().join("public");
    // (page, expected alternates in order)
    let cases: &[(&str, &[(&str, &str)])] = &[
        (
            "index.html",
            &[("kk", "/kk/"), ("ru", "/ru/"), ("x-default", "/")],
        ),
        (
            "kk/index.html",
            &[("kk", "/kk/"), ("ru", "/ru/"), ("x-default", "/")],
        ),
        (
            "ru/privacy/index.html",
            &[
                ("kk", "/kk/privacy/"),
                ("ru", "/ru/privacy/"),
                ("x-default", "/kk/privacy/"),
            ],
        ),
        // The current version's permanent copy carries the current policy's alternates,
        // like its canonical (issue #12: search hygiene).
        (
            "kk/privacy/2/index.html",
            &[
                ("kk", "/kk/privacy/"),
                ("ru", "/ru/privacy/"),
                ("x-default", "/kk/privacy/"),
            ],
        ),
        (
            "ru/o-nas/index.html",
            &[
                ("kk", "/kk/biz-turaly/"),
                ("ru", "/ru/o-nas/"),
                ("x-default", "/kk/biz-turaly/"),
            ],
        ),
    ];
    for (page, want) in cases {
        let html = std::fs::read_to_string(out.join(page)).unwrap();
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(l, p)| ((*l).to_owned(), format!("{BASE}{p}")))
            .collect();
        assert_eq!(alternates(&html), want, "{page}");
    }
    // Every page: html lang, canonical = itself, alternates reciprocal, switcher labelled in
    // each language with lang/hreflang and aria-current on the current one.
    for page in html_files(&out) {
        // The redirect from the policy's address without a language is not a page.
        if page == "privacy/index.html" {
            continue;
        }
        let html = std::fs::read_to_string(out.join(&page)).unwrap();
        let lang = attr(tags(&html, "<html")[0], "lang").unwrap();
        let canonical = attr(tags(&html, "<link rel=\"canonical\"")[0], "href").unwrap();
        let alts = alternates(&html);
        assert_eq!(
            alts.last().map(|a| a.0.as_str()),
            Some("x-default"),
            "{page}"
        );
        if page != "404.html" && page != "index.html" {
            assert!(
                alts.iter().any(|(l, h)| l == lang && h == canonical),
                "{page}: its own alternate"
            );
            assert!(canonical.starts_with(BASE), "{page}");
        }
        for (alt_lang, href) in alts.iter().filter(|a| a.0 != "x-default") {
            let rel = kelisim::load::content::output_path(href.strip_prefix(BASE).unwrap());
            let other = std::fs::read_to_string(out.join(&rel)).unwrap();
            assert_eq!(
                attr(tags(&other, "<html")[0], "lang"),
                Some(alt_lang.as_str())
            );
            let back = alternates(&other);
            assert!(
                back.iter().any(|(l, h)| l == lang && h == canonical)
                    || page.ends_with("404.html")
                    || page == "index.html",
                "{page} -> {href} is not reciprocal"
            );
        }
        let nav_start = html.find("<nav class=\"languages\"").unwrap();
        let nav = &html[nav_start..];
        let nav = &nav[..nav.find("</nav>").unwrap()];
        let switcher = tags(nav, "<a href=");
        let names: Vec<&str> = switcher.iter().map(|t| attr(t, "lang").unwrap()).collect();
        assert_eq!(names, ["kk", "ru"], "{page}");
        assert!(
            html.contains(">Қазақша</a>") && html.contains(">Русский</a>"),
            "{page}"
        );
        let current: Vec<&&str> = switcher
            .iter()
            .filter(|t| t.contains("aria-current"))
            .collect();
        if page == "index.html" {
            assert!(current.is_empty(), "the chooser belongs to no language");
        } else {
            assert_eq!(current.len(), 1, "{page}");
            assert_eq!(attr(current[0], "lang"), Some(lang), "{page}");
        }
        assert_eq!(html.matches("<main").count(), 1, "{page}");
        assert!(html.contains("<meta name=\"viewport\""), "{page}");
        assert!(
            !html.contains('\u{2068}') && !html.contains('\u{2069}'),
            "{page}: isolation marks"
        );
    }
}

#[test]
fn sitemap_lists_each_language_version_with_alternates() {
    let site = fixture_site();
    build(site.path()).unwrap();
    let xml = read(site.path(), "sitemap.xml");
    assert!(xml.contains("xmlns:xhtml=\"http://www.w3.org/1999/xhtml\""));
    let locs: BTreeSet<&str> = xml
        .split("<loc>")
        .skip(1)
        .filter_map(|s| s.split("</loc>").next())
        .collect();
    let want: BTreeSet<String> = [
        "/",
        "/kk/",
        "/ru/",
        "/kk/privacy/",
        "/ru/privacy/",
        "/kk/contact/",
        "/ru/contact/",
        "/kk/biz-turaly/",
        "/ru/o-nas/",
    ]
    .iter()
    .map(|p| format!("{BASE}{p}"))
    .collect();
    assert_eq!(locs, want.iter().map(String::as_str).collect());
    let about = xml
        .split("<url>")
        .find(|u| u.contains("<loc>https://example.kz/ru/o-nas/</loc>"))
        .unwrap();
    assert!(about.contains("<lastmod>2024-03-01</lastmod>"));
    for (lang, href) in [
        ("kk", "/kk/biz-turaly/"),
        ("ru", "/ru/o-nas/"),
        ("x-default", "/kk/biz-turaly/"),
    ] {
        assert!(
            about.contains(&format!(
                "<xhtml:link rel=\"alternate\" hreflang=\"{lang}\" href=\"{BASE}{href}\"/>"
            )),
            "{lang}"
        );
    }
    assert!(!xml.contains("404"), "404 pages are not in the sitemap");
    assert!(
        !xml.contains("/thanks/") && !xml.contains("/error/"),
        "result pages are not in the sitemap"
    );
    assert!(!xml.contains("draft"));
    assert_eq!(
        read(site.path(), "robots.txt"),
        "User-agent: *\nAllow: /\n\nSitemap: https://example.kz/sitemap.xml\n"
    );
}

/// The sitemap is a template: a site can override the theme's in `templates/sitemap.xml`.
#[test]
fn the_sitemap_template_can_be_overridden() {
    let site = fixture_site();
    std::fs::create_dir_all(site.path().join("templates")).unwrap();
    std::fs::write(
        site.path().join("templates/sitemap.xml"),
        "{% for entry in entries %}{{ entry.loc }}\n{% endfor %}",
    )
    .unwrap();
    build(site.path()).unwrap();
    let listed = read(site.path(), "sitemap.xml");
    assert!(
        listed.starts_with("https://example.kz/\nhttps://example.kz/kk/\n"),
        "{listed}"
    );
    assert!(!listed.contains("<url>"));
}

#[test]
fn manifest_hashes_match_the_published_pages() {
    let site = fixture_site();
    build(site.path()).unwrap();
    let manifest = ConsentManifest::from_json(&read(site.path(), "consent-manifest.json")).unwrap();
    assert_eq!(manifest.default_language, "kk");
    assert_eq!(manifest.base_url, BASE);
    assert_eq!(manifest.form_endpoint, "/api/contact");
    assert_eq!(manifest.operator.name, "«Мысал» ЖШС");
    let ids: Vec<&str> = manifest.purposes.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, ["reply", "newsletter"]);
    assert_eq!(manifest.languages.len(), 2);
    for (lang, consent) in &manifest.languages {
        let policy = &consent.policy;
        assert_eq!(policy.version, "2");
        assert_eq!(policy.effective_date, "2024-02-11");
        assert_eq!(policy.url, format!("{BASE}/{lang}/privacy/2/"));
        assert_eq!(
            policy.translation_of.as_deref(),
            (lang == "ru").then_some("kk")
        );
        // The hash is of the text between the markers, on both the current and the
        // permanent page.
        for page in [
            format!("{lang}/privacy/index.html"),
            format!("{lang}/privacy/2/index.html"),
        ] {
            let html = read(site.path(), &page);
            let text = published_policy_text(&html).unwrap();
            assert!(text.contains("<h2 id=\"section-1\">"), "{page}");
            assert_eq!(sha256_hex(text.as_bytes()), policy.sha256, "{page}");
        }
        assert_eq!(consent.contact_url, format!("{BASE}/{lang}/contact/"));
        assert_eq!(consent.thanks_url, format!("{BASE}/{lang}/thanks/"));
        assert_eq!(consent.error_url, format!("{BASE}/{lang}/error/"));
        let contact = read(site.path(), &format!("{lang}/contact/index.html"));
        for (purpose, label) in &consent.labels {
            let html = consent_label_html(&contact, purpose).unwrap();
            assert!(
                html.contains(&format!("<a href=\"/{lang}/privacy/2/\">")),
                "{lang}/{purpose}: the label links to the versioned policy"
            );
            assert_eq!(label.text, plain_text(html));
            assert_eq!(label.sha256, sha256_hex(label.text.as_bytes()));
            assert!(!label.text.contains('<') && label.text.contains("«Мысал» ЖШС"));
        }
        // The form carries the same version and hash as the manifest.
        let hidden = |name: &str| {
            tags(&contact, "<input type=\"hidden\"")
                .into_iter()
                .find(|t| attr(t, "name") == Some(name))
                .and_then(|t| attr(t, "value"))
                .map(str::to_owned)
        };
        assert_eq!(hidden("policy_version").as_deref(), Some("2"));
        assert_eq!(hidden("policy_hash"), Some(policy.sha256.clone()));
        assert_eq!(hidden("lang").as_deref(), Some(lang.as_str()));
        assert_eq!(hidden("idempotency_key").as_deref(), Some(""));
    }
}

#[test]
fn contact_form_has_exactly_the_policy_fields() {
    let site = fixture_site();
    build(site.path()).unwrap();
    let html = read(site.path(), "kk/contact/index.html");
    let form = tags(&html, "<form")[0];
    assert_eq!(attr(form, "method"), Some("post"));
    assert_eq!(attr(form, "action"), Some("/api/contact"));
    let mut names: Vec<&str> = tags(&html, "<input")
        .into_iter()
        .chain(tags(&html, "<textarea"))
        .filter_map(|t| attr(t, "name"))
        .collect();
    names.sort();
    names.dedup();
    assert_eq!(
        names,
        [
            "consent",
            "email",
            "first_name",
            "idempotency_key",
            "lang",
            "message",
            "patronymic",
            "phone",
            "policy_hash",
            "policy_version",
            "surname",
            "website"
        ]
    );
    let input = |id: &str| {
        tags(&html, "<input")
            .into_iter()
            .chain(tags(&html, "<textarea"))
            .find(|t| attr(t, "id") == Some(id))
            .unwrap()
    };
    for (id, autocomplete) in [
        ("f-surname", "family-name"),
        ("f-first_name", "given-name"),
        ("f-patronymic", "additional-name"),
        ("f-email", "email"),
        ("f-phone", "tel"),
    ] {
        let tag = input(id);
        assert_eq!(attr(tag, "autocomplete"), Some(autocomplete), "{id}");
        assert!(
            html.contains(&format!("<label for=\"{id}\">")),
            "{id} has a label"
        );
        assert_eq!(tag.contains(" required"), id != "f-patronymic", "{id}");
        assert!(
            attr(tag, "aria-describedby")
                .unwrap()
                .contains(&format!("{id}-error"))
        );
    }
    assert_eq!(attr(input("f-email"), "inputmode"), Some("email"));
    assert_eq!(attr(input("f-phone"), "inputmode"), Some("tel"));
    // Every limit the page states is the one the manifest publishes (and the relay enforces).
    let manifest =
        ConsentManifest::from_path(&site.path().join("public/consent-manifest.json")).unwrap();
    assert_eq!(manifest.fields.len(), 6);
    for field in &manifest.fields {
        let tag = input(&format!("f-{}", field.name));
        let maxlength = field.max_chars.to_string();
        assert_eq!(
            attr(tag, "maxlength"),
            Some(maxlength.as_str()),
            "{}",
            field.name
        );
        assert_eq!(tag.contains(" required"), field.required, "{}", field.name);
    }
    let reply = input("f-consent-reply");
    let newsletter = input("f-consent-newsletter");
    assert!(reply.contains(" required") && !reply.contains("checked"));
    assert!(!newsletter.contains(" required") && !newsletter.contains("checked"));
    let honeypot = input("f-website");
    assert_eq!(attr(honeypot, "tabindex"), Some("-1"));
    assert_eq!(attr(honeypot, "autocomplete"), Some("off"));
    // The script is linked at its content-hashed name, which the build wrote with its bytes.
    let script = html
        .lines()
        .find(|l| l.starts_with("<script src=\"/static/form."))
        .unwrap();
    let src = attr(script, "src").unwrap();
    let hash = src
        .strip_prefix("/static/form.")
        .and_then(|rest| rest.strip_suffix(".js"))
        .unwrap();
    assert_eq!(hash.len(), 10, "{src}");
    let source = std::fs::read(repo_root().join("themes/default/static/form.js")).unwrap();
    assert!(sha256_hex(&source).starts_with(hash), "{src}");
    let published = std::fs::read(site.path().join("public").join(src.trim_start_matches('/')));
    assert_eq!(published.unwrap(), source);
}

#[test]
fn no_page_requests_anything_from_a_third_party() {
    let site = fixture_site();
    build(site.path()).unwrap();
    let out = site.path().join("public");
    for page in html_files(&out) {
        let html = std::fs::read_to_string(out.join(&page)).unwrap();
        for tag in [
            "<script",
            "<link rel=\"stylesheet\"",
            "<img",
            "<iframe",
            "<link rel=\"preconnect\"",
        ] {
            for t in tags(&html, tag) {
                let url = attr(t, "src").or_else(|| attr(t, "href")).unwrap_or("");
                assert!(url.starts_with("/static/"), "{page}: {t}");
            }
        }
        assert!(
            !html.contains(" style=\"") || page.contains("privacy"),
            "{page}"
        );
        assert!(!html.contains(" onclick="), "{page}");
        assert!(!html.contains("<script>"), "{page}: no inline scripts");
    }
    let js = std::fs::read_to_string(out.join("static/form.js")).unwrap();
    assert!(js.contains("crypto.randomUUID()"));
    assert!(!js.contains("location.href =") && !js.contains("?surname"));
}

#[test]
fn dates_and_plurals_are_localized_on_the_policy_page() {
    let site = fixture_site();
    build(site.path()).unwrap();
    let kk = read(site.path(), "kk/privacy/index.html");
    let ru = read(site.path(), "ru/privacy/index.html");
    assert!(kk.contains("2024 жылғы 11 ақпан"), "kk date");
    assert!(ru.contains("11 февраля 2024 г."), "ru date");
    assert!(kk.contains("3 бөлім"));
    assert!(ru.contains("3 раздела"));
    // TOC: h2 with h3 children, readable Cyrillic ids, duplicates numbered.
    assert!(ru.contains("<a href=\"#определения\">Определения</a>"));
    assert!(ru.contains("<a href=\"#определения-2\">Определения</a>"));
    assert!(ru.contains("<h2 id=\"заключительные-положения-кавычки\">"));
    assert!(ru.contains("<del>старое</del>") && ru.contains("<table>"));
    assert!(ru.contains("footnote-definition"));
}

/// The plural forms of a real message from `locales/` for 1, 2, 5 and 21.
#[test]
fn plural_forms_for_1_2_5_21_in_both_languages() {
    let root = repo_root();
    let locales = Locales::load(&root, &["kk".to_owned(), "ru".to_owned()], "kk").unwrap();
    let sections = |lang: &str, n: f64| {
        locales
            .format(
                lang,
                "policy-sections",
                &[("count".to_owned(), Arg::Number(n))],
            )
            .unwrap()
            .html
    };
    assert_eq!(sections("ru", 1.0), "1 раздел");
    assert_eq!(sections("ru", 2.0), "2 раздела");
    assert_eq!(sections("ru", 5.0), "5 разделов");
    assert_eq!(sections("ru", 21.0), "21 раздел");
    assert_eq!(sections("kk", 1.0), "1 бөлім");
    assert_eq!(sections("kk", 2.0), "2 бөлім");
    assert_eq!(sections("kk", 5.0), "5 бөлім");
    assert_eq!(sections("kk", 21.0), "21 бөлім");
}

/// The repository's own site builds cleanly, with no warnings.
#[test]
fn the_real_site_builds_without_warnings() {
    let out = tempfile::tempdir().unwrap();
    let report = build_real_site(&out.path().join("public"));
    assert!(report.warnings.is_empty(), "{:#?}", report.warnings);
    assert!(report.pages_written >= 15, "{}", report.pages_written);
    let manifest = ConsentManifest::from_json(
        &std::fs::read_to_string(out.path().join("public/consent-manifest.json")).unwrap(),
    )
    .unwrap();
    for (lang, consent) in &manifest.languages {
        let html =
            std::fs::read_to_string(out.path().join(format!("public/{lang}/privacy/index.html")))
                .unwrap();
        assert_eq!(
            sha256_hex(published_policy_text(&html).unwrap().as_bytes()),
            consent.policy.sha256
        );
        // The policy has twelve sections with the stable anchors both languages share.
        for n in 1..=12 {
            assert!(
                html.contains(&format!("id=\"section-{n}\"")),
                "{lang} section-{n}"
            );
        }
    }
    // The operator's name as each language writes it (issue #7): both consent labels, the
    // footer and the contact block.
    for (lang, name, other) in [
        (
            "kk",
            "«Z Distribution Company» ЖШС",
            "ТОО «Z Distribution Company»",
        ),
        (
            "ru",
            "ТОО «Z Distribution Company»",
            "«Z Distribution Company» ЖШС",
        ),
    ] {
        let consent = &manifest.languages[lang];
        for label in consent.labels.values() {
            assert!(label.text.contains(name), "{lang}: {}", label.text);
        }
        let html =
            std::fs::read_to_string(out.path().join(format!("public/{lang}/contact/index.html")))
                .unwrap();
        assert!(
            html.contains(&format!("<dd>{name}</dd>")),
            "{lang} contact block"
        );
        assert!(!html.contains(other), "{lang} contact page names {other}");
    }
    // Every page names a first-party icon, so no browser asks for a missing /favicon.ico.
    let home = std::fs::read_to_string(out.path().join("public/ru/index.html")).unwrap();
    let icon = home
        .split(r#"<link rel="icon" href=""#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a <link rel=\"icon\"> on the page");
    assert!(
        icon.starts_with("/static/favicon.") && icon.ends_with(".svg"),
        "{icon}"
    );
    assert!(out.path().join(format!("public{icon}")).is_file());
    assert!(out.path().join("public/static/favicon.svg").is_file());
}

#[test]
fn drafts_are_not_published_and_output_is_replaced() {
    let site = fixture_site();
    build(site.path()).unwrap();
    let out = site.path().join("public");
    assert!(!out.join("ru/draft/index.html").exists());
    std::fs::write(out.join("stale.html"), "old").unwrap();
    build(site.path()).unwrap();
    assert!(
        !out.join("stale.html").exists(),
        "a rebuild replaces the whole output"
    );
    assert!(out.join("404.html").exists() && out.join("static/style.css").exists());
}

#[test]
fn refuses_to_replace_a_folder_it_did_not_make() {
    let site = fixture_site();
    let foreign = site.path().join("precious");
    std::fs::create_dir_all(&foreign).unwrap();
    std::fs::write(foreign.join("notes.txt"), "keep me").unwrap();
    let err = kelisim::build(&kelisim::BuildOptions {
        root: site.path().to_path_buf(),
        output: Some(foreign.clone()),
        base_url: None,
        precompress: true,
    })
    .unwrap_err();
    assert!(err.to_string().contains("was not made by kelisim"), "{err}");
    assert_eq!(
        std::fs::read_to_string(foreign.join("notes.txt")).unwrap(),
        "keep me"
    );
}

/// Every page of the real site but the policy text fits the first round trip of a new
/// connection: its HTML plus the CSS and JS it links, gzipped as the build writes them,
/// within 14 KB. And every HTML, CSS and JS file has `.gz` and `.br` copies with its bytes.
#[test]
fn real_pages_fit_in_14_kb_gzipped_with_their_css_and_js() {
    use std::io::Read as _;
    let out = tempfile::tempdir().unwrap();
    let public = out.path().join("public");
    build_real_site(&public);
    let gz_size = |rel: &str| std::fs::metadata(public.join(format!("{rel}.gz"))).map(|m| m.len());
    let mut checked = 0;
    for page in html_files(&public) {
        let html = std::fs::read_to_string(public.join(&page)).unwrap();
        let mut total = gz_size(&page).unwrap();
        let linked = tags(&html, "<link rel=\"stylesheet\"")
            .into_iter()
            .filter_map(|t| attr(t, "href"))
            .chain(
                tags(&html, "<script")
                    .into_iter()
                    .filter_map(|t| attr(t, "src")),
            );
        for url in linked {
            total += gz_size(url.trim_start_matches('/')).unwrap();
        }
        if page.contains("privacy/") {
            continue; // the policy text itself is long by law
        }
        assert!(total <= 14 * 1024, "{page}: {total} bytes gzipped");
        checked += 1;
    }
    assert!(checked >= 15, "{checked} pages checked");
    for entry in walkdir::WalkDir::new(&public) {
        let path = entry.unwrap().into_path();
        let name = path.to_string_lossy().into_owned();
        if !(name.ends_with(".html") || name.ends_with(".css") || name.ends_with(".js")) {
            continue;
        }
        let original = std::fs::read(&path).unwrap();
        let mut gunzipped = Vec::new();
        flate2::read::GzDecoder::new(std::fs::File::open(format!("{name}.gz")).unwrap())
            .read_to_end(&mut gunzipped)
            .unwrap();
        assert_eq!(gunzipped, original, "{name}.gz");
        let mut unbrotli = Vec::new();
        brotli::BrotliDecompress(
            &mut std::fs::File::open(format!("{name}.br")).unwrap(),
            &mut unbrotli,
        )
        .unwrap();
        assert_eq!(unbrotli, original, "{name}.br");
    }
}
