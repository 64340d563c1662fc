//! The policy archive: a superseded policy stays published at its permanent URL with the hash
//! it had when it was current, so consent records made under it stay verifiable; adding the
//! archive changes nothing about the current policy's hash.
#![allow(clippy::unwrap_used)]

use crate::support;

use std::path::Path;

use kelisim::render::manifest::published_policy_text;
use kelisim_manifest::{ConsentManifest, sha256_hex};
use support::*;

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn manifest(root: &Path) -> ConsentManifest {
    ConsentManifest::from_json(&read(root, "consent-manifest.json")).unwrap()
}

/// The repository's real site (content, strings, theme) in a temp folder.
fn real_site() -> tempfile::TempDir {
    let root = repo_root();
    assert!(
        root.join("content/kk/privacy.md").is_file(),
        "{}: the repository's policy is missing, and these tests archive it",
        root.join("content/kk/privacy.md").display()
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(root.join("site.toml"), dir.path().join("site.toml")).unwrap();
    for folder in ["content", "locales", "themes", "static"] {
        if root.join(folder).is_dir() {
            copy_tree(&root.join(folder), &dir.path().join(folder));
        }
    }
    dir
}

/// `text` with `from` replaced once; fails loudly if the policy no longer contains it.
fn replace_once(text: &str, from: &str, to: &str) -> String {
    assert!(
        text.contains(from),
        "the policy no longer contains {from:?}"
    );
    text.replacen(from, to, 1)
}

/// The policy with a new version and effective date and one edited sentence (the first
/// ordinary paragraph gets an extra sentence).
fn bump(policy: &str, old_version: &str, new_version: &str) -> String {
    let text = replace_once(
        policy,
        &format!("version = \"{old_version}\""),
        &format!("version = \"{new_version}\""),
    );
    let (front, body) = text[3..].split_once("+++").unwrap();
    let paragraph = body
        .lines()
        .find(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .unwrap();
    let body = replace_once(
        body,
        paragraph,
        &format!("{paragraph} Edited in {new_version}."),
    );
    format!("+++{front}+++{body}")
}

#[test]
fn a_superseded_policy_keeps_its_url_and_hash() {
    let site = real_site();
    let root = site.path();
    let report = build(root).unwrap();
    assert!(report.warnings.is_empty(), "{:#?}", report.warnings);
    let before = manifest(root);
    for lang in before.languages.keys() {
        let old = &before.languages[lang].policy;
        assert!(before.languages[lang].previous_policies.is_empty());
        let current = format!("content/{lang}/privacy.md");
        let text = std::fs::read_to_string(root.join(&current)).unwrap();
        // What the README tells editors to do: keep the old file verbatim, then bump.
        write(
            root,
            &format!("content/{lang}/privacy/archive/{}.md", old.version),
            &text,
        );
        write(root, &current, &bump(&text, &old.version, "1.1-test"));
    }
    let report = build(root).unwrap();
    assert!(report.warnings.is_empty(), "{:#?}", report.warnings);
    let after = manifest(root);
    for (lang, consent) in &after.languages {
        let old = &before.languages[lang].policy;
        assert_eq!(consent.policy.version, "1.1-test");
        assert_ne!(
            consent.policy.sha256, old.sha256,
            "{lang}: the text changed"
        );
        // The manifest keeps the old version exactly as records hold it.
        assert_eq!(consent.previous_policies, vec![old.clone()], "{lang}");

        let page = format!("{lang}/privacy/{}/index.html", old.version);
        let html = read(root, &page);
        let text = published_policy_text(&html).unwrap();
        assert_eq!(sha256_hex(text.as_bytes()), old.sha256, "{page}");
        assert!(
            html.contains("<meta name=\"robots\" content=\"noindex\">"),
            "{page}"
        );
        let notice = tags(&html, "<p class=\"notice notice-superseded\"");
        assert_eq!(notice.len(), 1, "{page}: one superseded notice");
        let notice_text = &html[html.find(notice[0]).unwrap()..];
        let notice_text = &notice_text[..notice_text.find("</p>").unwrap()];
        assert!(
            notice_text.contains(&format!("<a href=\"/{lang}/privacy/\">")),
            "{page}: links to the current policy: {notice_text}"
        );
        assert!(notice_text.contains(&old.version), "{page}: {notice_text}");
        // The effective date is shown in the language's long form (year included).
        assert!(notice_text.contains(&old.effective_date[..4]), "{page}");
        let superseded = if lang == "kk" {
            "күшін жойған"
        } else {
            "утратила силу"
        };
        assert!(notice_text.contains(superseded), "{page}: {notice_text}");

        // The current policy lists the earlier version; the archived page does not.
        let current = read(root, &format!("{lang}/privacy/index.html"));
        let link = format!("<a href=\"/{lang}/privacy/{}/\">", old.version);
        assert!(current.contains(&link), "{lang}: current page lists {link}");
        assert!(
            !current.contains("noindex"),
            "{lang}: the current page is indexed"
        );
        assert!(!html.contains("policy-previous"), "{page}");
    }
    let sitemap = read(root, "sitemap.xml");
    assert!(sitemap.contains("/kk/privacy/"));
    assert!(
        !sitemap.contains("/privacy/1.0/"),
        "archived versions stay out of the sitemap"
    );
}

#[test]
fn archiving_changes_nothing_about_the_current_policy() {
    let site = real_site();
    let root = site.path();
    build(root).unwrap();
    let before = manifest(root);
    let before_page = read(root, "kk/privacy/index.html");
    let text = std::fs::read_to_string(root.join("content/kk/privacy.md")).unwrap();
    let version = &before.languages["kk"].policy.version;
    let older = replace_once(
        &text,
        &format!("version = \"{version}\""),
        "version = \"0.9\"",
    );
    write(root, "content/kk/privacy/archive/0.9.md", &older);
    build(root).unwrap();
    let after = manifest(root);
    for (lang, consent) in &after.languages {
        assert_eq!(consent.policy, before.languages[lang].policy, "{lang}");
    }
    let after_page = read(root, "kk/privacy/index.html");
    assert_eq!(
        published_policy_text(&after_page),
        published_policy_text(&before_page)
    );
    // Only kk has an archive: ru's manifest entry has no previous versions, and ru's JSON
    // omits the field so manifests without an archive look as they always did.
    assert_eq!(after.languages["kk"].previous_policies.len(), 1);
    let json: serde_json::Value =
        serde_json::from_str(&read(root, "consent-manifest.json")).unwrap();
    assert!(json["languages"]["ru"].get("previous_policies").is_none());
    assert!(json["languages"]["kk"]["previous_policies"].is_array());
    // The same text under another version: same hash, different URL.
    let old = &after.languages["kk"].previous_policies[0];
    assert_eq!(old.sha256, before.languages["kk"].policy.sha256);
    assert!(old.url.ends_with("/kk/privacy/0.9/"), "{}", old.url);
    // The ru switcher on the archived kk page falls back to ru's current policy.
    let archived = read(root, "kk/privacy/0.9/index.html");
    assert!(archived.contains("href=\"/ru/privacy/\""));
}

#[test]
fn manifests_without_previous_policies_still_parse() {
    let golden = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/expected/consent-manifest.json"),
    )
    .unwrap();
    assert!(!golden.contains("previous_policies"));
    let manifest = ConsentManifest::from_json(&golden).unwrap();
    assert!(
        manifest
            .languages
            .values()
            .all(|l| l.previous_policies.is_empty())
    );
}

fn archive_error(files: &[(&str, &str)]) -> String {
    let site = fixture_site();
    for (rel, text) in files {
        write(site.path(), rel, text);
    }
    build(site.path()).unwrap_err().to_string()
}

const OLD: &str = "+++\ntitle = \"Ескі саясат\"\nversion = \"1\"\neffective_date = 2023-01-01\n+++\n\n## 1. Ережелер {#section-1}\n\nЕскі мәтін.\n";

#[test]
fn archive_mistakes_name_file_and_line() {
    let err = archive_error(&[(
        "content/kk/privacy/archive/2.md",
        &OLD.replace("\"1\"", "\"2\""),
    )]);
    assert!(
        err.starts_with("content/kk/privacy/archive/2.md:3: version `2` is archived, but it is also the current version in content/kk/privacy.md"),
        "{err}"
    );

    let err = archive_error(&[
        ("content/kk/privacy/archive/1.md", OLD),
        ("content/kk/privacy/archive/1-copy.md", OLD),
    ]);
    assert!(
        err.starts_with("content/kk/privacy/archive/1.md:3: version `1` is archived twice"),
        "{err}"
    );
    assert!(
        err.contains("content/kk/privacy/archive/1-copy.md"),
        "{err}"
    );

    let err = archive_error(&[("content/ru/privacy/archive/1.0.md", OLD)]);
    assert!(
        err.starts_with("content/ru/privacy/archive/1.0.md:3: the file name says version `1.0` but the front matter says `1`"),
        "{err}"
    );

    let err = archive_error(&[(
        "content/kk/privacy/archive/1.md",
        &OLD.replace("effective_date = 2023-01-01\n", ""),
    )]);
    assert!(
        err.starts_with(
            "content/kk/privacy/archive/1.md:1: the archived policy has no `effective_date`"
        ),
        "{err}"
    );

    let err = archive_error(&[(
        "content/kk/privacy/archive/1.md",
        &OLD.replace("version = \"1\"\n", ""),
    )]);
    assert!(
        err.starts_with("content/kk/privacy/archive/1.md:1: the archived policy has no `version`"),
        "{err}"
    );
}

#[test]
fn an_archived_version_links_its_translation_when_both_languages_have_it() {
    let site = fixture_site();
    let root = site.path();
    write(root, "content/kk/privacy/archive/1.md", OLD);
    write(
        root,
        "content/ru/privacy/archive/1.md",
        &OLD.replace(
            "title = \"Ескі саясат\"",
            "title = \"Старая политика\"\ntranslation_of = \"kk\"",
        ),
    );
    let report = build(root).unwrap();
    assert!(report.warnings.is_empty(), "{:#?}", report.warnings);
    let html = read(root, "ru/privacy/1/index.html");
    assert_eq!(
        alternates(&html),
        [
            ("kk", "https://example.kz/kk/privacy/1/"),
            ("ru", "https://example.kz/ru/privacy/1/"),
            ("x-default", "https://example.kz/kk/privacy/1/"),
        ]
        .map(|(l, h)| (l.to_owned(), h.to_owned()))
    );
    let canonical = attr(tags(&html, "<link rel=\"canonical\"")[0], "href").unwrap();
    assert_eq!(canonical, "https://example.kz/ru/privacy/1/");
    let manifest = manifest(root);
    let old = &manifest.languages["ru"].previous_policies[0];
    assert_eq!(old.translation_of.as_deref(), Some("kk"));
    assert_eq!(old.effective_date, "2023-01-01");
    // Nothing is published under the archive folder itself.
    assert!(!root.join("public/kk/privacy/archive").exists());
}
