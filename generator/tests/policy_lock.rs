//! `policy.lock` and policy versions (issue #7): the build locks every published version, a
//! drifted text fails the build with the fixing command, `kelisim policy new-version` then a
//! build publishes two versions with the right hashes, and the "what changed" page shows the
//! word-level difference.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use crate::support::*;
use kelisim::model::lock::PolicyLock;
use kelisim::render::manifest::published_policy_text;
use kelisim_manifest::{ConsentManifest, sha256_hex};

fn manifest(root: &Path) -> ConsentManifest {
    ConsentManifest::from_json(&read(root, "consent-manifest.json")).unwrap()
}

fn edit(root: &Path, rel: &str, from: &str, to: &str) {
    let path = root.join(rel);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "{rel} has no {from:?}");
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}

fn date(text: &str) -> time::Date {
    kelisim_manifest::dates::parse_date(text).unwrap()
}

#[test]
fn the_first_build_locks_every_published_version() {
    let site = fixture_site();
    let report = build(site.path()).unwrap();
    assert!(report.lock_updated);
    let lock = PolicyLock::load(site.path()).unwrap();
    let manifest = manifest(site.path());
    let locked: Vec<(&str, &str, &str, &str)> = lock
        .versions
        .iter()
        .map(|v| {
            (
                v.lang.as_str(),
                v.version.as_str(),
                v.effective_date.as_str(),
                v.sha256.as_str(),
            )
        })
        .collect();
    let expected: Vec<(&str, &str, &str, &str)> = manifest
        .languages
        .iter()
        .map(|(lang, c)| {
            (
                lang.as_str(),
                c.policy.version.as_str(),
                c.policy.effective_date.as_str(),
                c.policy.sha256.as_str(),
            )
        })
        .collect();
    assert_eq!(locked, expected);
    // A second build with nothing changed leaves the file alone.
    assert!(!build(site.path()).unwrap().lock_updated);
}

#[test]
fn an_edited_published_policy_fails_the_build_with_the_fixing_command() {
    let site = fixture_site();
    build(site.path()).unwrap();
    let locked = std::fs::read_to_string(site.path().join("policy.lock")).unwrap();
    edit(
        site.path(),
        "content/ru/privacy.md",
        "\n\n## 2.",
        "\n\nНовое предложение.\n\n## 2.",
    );
    let err = build(site.path()).unwrap_err().to_string();
    let version_line = std::fs::read_to_string(site.path().join("content/ru/privacy.md"))
        .unwrap()
        .lines()
        .position(|l| l.starts_with("version"))
        .unwrap()
        + 1;
    assert!(
        err.starts_with(&format!("content/ru/privacy.md:{version_line}: the text of policy version 2 (ru) changed after it was published")),
        "{err}"
    );
    assert!(err.contains("git restore content/ru/privacy.md"), "{err}");
    assert!(err.contains("kelisim policy new-version 3"), "{err}");
    // The failed build wrote nothing over the lock.
    assert_eq!(
        std::fs::read_to_string(site.path().join("policy.lock")).unwrap(),
        locked
    );
}

#[test]
fn a_changed_effective_date_or_a_vanished_version_fails_the_build() {
    let site = fixture_site();
    build(site.path()).unwrap();
    edit(
        site.path(),
        "content/kk/privacy.md",
        "effective_date = 2024-02-11",
        "effective_date = 2024-03-01",
    );
    let err = build(site.path()).unwrap_err().to_string();
    assert!(err.starts_with("content/kk/privacy.md:"), "{err}");
    assert!(
        err.contains("effective date of published policy version 2 (kk) changed from 2024-02-11 to 2024-03-01"),
        "{err}"
    );

    let site = fixture_site();
    build(site.path()).unwrap();
    edit(
        site.path(),
        "policy.lock",
        "lang = \"kk\"\nversion = \"2\"",
        "lang = \"kk\"\nversion = \"1\"",
    );
    let err = build(site.path()).unwrap_err().to_string();
    assert!(
        err.starts_with(
            "policy.lock: policy version 1 (kk) is locked but the site no longer publishes it"
        ),
        "{err}"
    );
    assert!(
        err.contains("git restore content/kk/privacy/archive/1.md"),
        "{err}"
    );
}

#[test]
fn new_version_then_build_publishes_both_versions_with_their_hashes() {
    let site = fixture_site();
    let root = site.path();
    build(root).unwrap();
    let before = manifest(root);
    let raised =
        kelisim::commands::new_version::new_version(root, "3", date("2025-01-01")).unwrap();
    assert_eq!(raised.len(), 2);
    assert_eq!(
        raised[0].archived,
        Path::new("content/kk/privacy/archive/2.md")
    );
    // The archive is the old file, byte for byte; the new file differs only in its front matter.
    let archived = std::fs::read_to_string(root.join("content/kk/privacy/archive/2.md")).unwrap();
    let current = std::fs::read_to_string(root.join("content/kk/privacy.md")).unwrap();
    assert_eq!(
        current,
        archived
            .replace("version = \"2\"", "version = \"3\"")
            .replace(
                "effective_date = 2024-02-11",
                "effective_date = \"2025-01-01\""
            )
    );
    edit(
        root,
        "content/kk/privacy.md",
        "## 1. Жалпы ережелер {#section-1}\n",
        "## 1. Жалпы ережелер {#section-1}\n\nЖаңа сөйлем.\n",
    );
    let report = build(root).unwrap();
    assert!(report.lock_updated);
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);

    let after = manifest(root);
    for (lang, old) in &before.languages {
        let now = &after.languages[lang];
        assert_eq!(now.policy.version, "3");
        assert_eq!(now.previous_policies.len(), 1);
        // The old version keeps its hash, recomputed from its still-published page.
        let previous = &now.previous_policies[0];
        assert_eq!(previous.version, "2");
        assert_eq!(previous.sha256, old.policy.sha256);
        let old_page = read(root, &format!("{lang}/privacy/2/index.html"));
        assert_eq!(
            sha256_hex(published_policy_text(&old_page).unwrap().as_bytes()),
            previous.sha256
        );
        let new_page = read(root, &format!("{lang}/privacy/index.html"));
        assert_eq!(
            sha256_hex(published_policy_text(&new_page).unwrap().as_bytes()),
            now.policy.sha256
        );
        // The current policy links the "what changed" page.
        assert!(
            new_page.contains(&format!("<a href=\"/{lang}/privacy/3/changes/\">")),
            "{lang}"
        );
    }
    // kk changed, ru did not: its text (and hash) stayed, under the new version number.
    assert_ne!(
        after.languages["kk"].policy.sha256,
        before.languages["kk"].policy.sha256
    );
    assert_eq!(
        after.languages["ru"].policy.sha256,
        before.languages["ru"].policy.sha256
    );
    let lock = PolicyLock::load(root).unwrap();
    assert_eq!(lock.versions.len(), 4, "{lock:?}");

    let changes = read(root, "kk/privacy/3/changes/index.html");
    assert!(
        changes.contains(
            "<li><p class=\"change-kind\">Қосылды</p>\n<p><ins>Жаңа сөйлем.</ins></p></li>"
        ),
        "{changes}"
    );
    assert!(changes.contains("<meta name=\"robots\" content=\"noindex\">"));
    assert!(changes.contains("hreflang=\"ru\" href=\"https://example.kz/ru/privacy/3/changes/\""));
    let unchanged = read(root, "ru/privacy/3/changes/index.html");
    assert!(unchanged.contains("Текст не изменился."), "{unchanged}");

    assert_eq!(
        kelisim::commands::policy_diff::diff_versions(root, "2", "3", Some("kk")).unwrap(),
        "+ {+Жаңа сөйлем.+}\n\n"
    );
    let err = kelisim::commands::policy_diff::diff_versions(root, "2", "9", None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("published: 3, 2"), "{err}");

    // The same version cannot be started twice.
    let err = kelisim::commands::new_version::new_version(root, "2", date("2025-02-01"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("version 2 is already published"), "{err}");
}

#[test]
fn new_version_refuses_a_site_whose_policy_already_drifted() {
    let site = fixture_site();
    let root = site.path();
    build(root).unwrap();
    edit(
        root,
        "content/kk/privacy.md",
        "\n\n## 2.",
        "\n\nӨзгерген.\n\n## 2.",
    );
    let err = kelisim::commands::new_version::new_version(root, "3", date("2025-01-01"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("changed after it was published"), "{err}");
    assert!(!root.join("content/kk/privacy/archive").exists());
}

fn line_of(root: &Path, rel: &str, start: &str) -> usize {
    std::fs::read_to_string(root.join(rel))
        .unwrap()
        .lines()
        .position(|l| l.starts_with(start))
        .unwrap_or_else(|| panic!("{rel} has no line starting {start:?}"))
        + 1
}

fn published_labels(root: &Path, rel: &str) -> kelisim_manifest::PublishedLabels {
    serde_json::from_str(&read(root, rel)).unwrap()
}

#[test]
fn an_edited_consent_label_fails_the_build_until_a_new_version_carries_it() {
    let site = fixture_site();
    let root = site.path();
    build(root).unwrap();
    let before = manifest(root);
    // The lock holds each version's labels, as the contact page shows them.
    let lock = PolicyLock::load(root).unwrap();
    for locked in &lock.versions {
        assert_eq!(locked.labels, before.languages[&locked.lang].labels);
    }
    assert!(
        std::fs::read_to_string(root.join("policy.lock"))
            .unwrap()
            .contains("\nlabels.reply = { text = \"Я даю согласие Оператору")
    );
    let locked = std::fs::read_to_string(root.join("policy.lock")).unwrap();

    // An editor rewrites the Russian reply label without a new version.
    edit(
        root,
        "locales/ru/main.ftl",
        "и моего сообщения",
        "и текста моего сообщения",
    );
    let line = line_of(root, "locales/ru/main.ftl", "consent-reply =");
    let err = build(root).unwrap_err().to_string();
    assert!(
        err.starts_with(&format!(
            "locales/ru/main.ftl:{line}: the consent label `consent-reply` (ru) changed while policy version 2 is published with it"
        )),
        "{err}"
    );
    assert!(err.contains("git restore locales/ru/main.ftl"), "{err}");
    assert!(err.contains("kelisim policy new-version 3"), "{err}");
    assert!(err.contains("и текста моего сообщения"), "{err}");
    assert_eq!(
        std::fs::read_to_string(root.join("policy.lock")).unwrap(),
        locked
    );
    // `kelisim check` says the same, at the same place.
    let check = kelisim::commands::check::run(root, &Default::default());
    assert!(
        check.findings.iter().any(|f| f.check == "policy-lock"
            && f.file == Path::new("locales/ru/main.ftl")
            && f.line == line
            && f.message.contains("`consent-reply` (ru) changed")),
        "{:#?}",
        check.findings
    );

    // A new version carries the new label; version 2 keeps the one it was published with.
    kelisim::commands::new_version::new_version(root, "3", date("2025-01-01")).unwrap();
    build(root).unwrap();
    let after = manifest(root);
    let ru = &after.languages["ru"];
    assert_eq!(ru.policy.version, "3");
    assert!(ru.labels["reply"].text.contains("и текста моего сообщения"));
    assert_eq!(ru.policy.labels, ru.labels);
    let old = &ru.previous_policies[0];
    assert_eq!(old.version, "2");
    assert_eq!(old.labels, before.languages["ru"].labels);
    assert_ne!(old.labels["reply"].sha256, ru.labels["reply"].sha256);
    assert_eq!(
        old.labels_url.as_deref(),
        Some("https://example.kz/ru/privacy/2/consent-labels.json")
    );
    assert_eq!(
        old.permanent_url.as_deref(),
        Some("https://example.kz/ru/privacy/2/")
    );
    // Both versions' labels are published beside their pages, for anyone to look up.
    for (version, labels) in [("2", &old.labels), ("3", &ru.labels)] {
        let published =
            published_labels(root, &format!("ru/privacy/{version}/consent-labels.json"));
        assert_eq!(
            (published.lang.as_str(), published.version.as_str()),
            ("ru", version)
        );
        assert_eq!(&published.labels, labels);
    }
    let lock = PolicyLock::load(root).unwrap();
    assert_eq!(lock.labels("ru", "2"), Some(&old.labels));
    assert_eq!(lock.labels("ru", "3"), Some(&ru.labels));
}

#[test]
fn an_old_lock_gets_the_current_labels_and_an_archive_locked_without_keeps_none() {
    let site = fixture_site();
    let root = site.path();
    build(root).unwrap();
    // A lock written before labels were locked.
    let lock = std::fs::read_to_string(root.join("policy.lock")).unwrap();
    let old: String = lock
        .lines()
        .filter(|l| !l.starts_with("labels."))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(root.join("policy.lock"), &old).unwrap();
    // The build adds the labels of the version it renders now.
    assert!(build(root).unwrap().lock_updated);
    assert_eq!(
        std::fs::read_to_string(root.join("policy.lock")).unwrap(),
        lock
    );

    // Version 2 archived by hand (not by `policy new-version`) under a lock without labels:
    // its labels were never recorded, so none are published for it.
    std::fs::write(root.join("policy.lock"), &old).unwrap();
    for lang in ["kk", "ru"] {
        let current = root.join(format!("content/{lang}/privacy.md"));
        let text = std::fs::read_to_string(&current).unwrap();
        let archive = root.join(format!("content/{lang}/privacy/archive"));
        std::fs::create_dir_all(&archive).unwrap();
        std::fs::write(archive.join("2.md"), &text).unwrap();
        let raised = kelisim::commands::new_version::raise(
            &text,
            Path::new("privacy.md"),
            "3",
            date("2025-01-01"),
        )
        .unwrap();
        std::fs::write(current, raised).unwrap();
    }
    build(root).unwrap();
    let after = manifest(root);
    let kk = &after.languages["kk"];
    assert!(kk.previous_policies[0].labels.is_empty());
    assert_eq!(kk.previous_policies[0].labels_url, None);
    assert!(
        !root
            .join("public/kk/privacy/2/consent-labels.json")
            .exists()
    );
    assert_eq!(
        published_labels(root, "kk/privacy/3/consent-labels.json").labels,
        kk.labels
    );
    let lock = PolicyLock::load(root).unwrap();
    assert_eq!(lock.labels("kk", "2").map(|l| l.len()), Some(0));
    assert_eq!(lock.labels("kk", "3"), Some(&kk.labels));
}

#[test]
fn new_version_locks_the_old_labels_before_it_archives() {
    let site = fixture_site();
    let root = site.path();
    // Never built: nothing locked yet.
    assert!(!root.join("policy.lock").exists());
    kelisim::commands::new_version::new_version(root, "3", date("2025-01-01")).unwrap();
    let lock = PolicyLock::load(root).unwrap();
    let labels = lock.labels("kk", "2").unwrap();
    assert!(
        labels["reply"].text.contains("жауап алу үшін"),
        "{labels:?}"
    );
    // The build then publishes version 2 with them, and version 3 with the same text.
    build(root).unwrap();
    let kk = &manifest(root).languages["kk"];
    assert_eq!(&kk.previous_policies[0].labels, labels);
    assert_eq!(&kk.labels, labels);
}

/// The check a reader can run with curl, sed and sha256sum (documented at
/// `kelisim_manifest::policy_text_of`) gives the hash the manifest names.
#[test]
fn the_documented_shell_check_recomputes_the_policy_hash() {
    let site = fixture_site();
    let root = site.path();
    build(root).unwrap();
    let manifest = manifest(root);
    for (lang, language) in &manifest.languages {
        for page in ["privacy/index.html", "privacy/2/index.html"] {
            let file = root.join("public").join(lang).join(page);
            let script = format!(
                "sed -n '/<!-- kelisim:policy-text -->/,/<!-- \\/kelisim:policy-text -->/p' '{}' \
                 | sed -e '1s/.*<!-- kelisim:policy-text -->//' -e '$s/<!-- \\/kelisim:policy-text -->.*//' \
                 | head -c -1 | sha256sum",
                file.display()
            );
            let out = std::process::Command::new("sh")
                .args(["-c", &script])
                .output()
                .unwrap();
            let hash = String::from_utf8_lossy(&out.stdout);
            assert_eq!(
                hash.split_whitespace().next(),
                Some(language.policy.sha256.as_str()),
                "{lang}/{page}"
            );
        }
    }
}
