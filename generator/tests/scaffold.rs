//! `kelisim init DIR` and `kelisim new PATH`: a new site that builds and passes `kelisim
//! check`, and a new page that arrives in every language, linked as translations.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use crate::support::*;
use kelisim::commands::check::{CheckOptions, Severity};
use kelisim::commands::init::{InitError, InitOptions, THEME};
use kelisim::commands::new_page::{NewPageError, new_page};
use kelisim_manifest::ConsentManifest;

fn options() -> InitOptions {
    InitOptions {
        operator: "Dala Data".to_owned(),
        email: "privacy@dala.kz".to_owned(),
        base_url: "https://dala.kz".to_owned(),
        effective: kelisim::load::dates::parse_date("2027-01-15").unwrap(),
    }
}

/// A source file of the site (not of its build).
fn source(root: &Path, rel: &str) -> String {
    std::fs::read_to_string(root.join(rel)).unwrap()
}

fn all_text(root: &Path) -> String {
    walkdir::WalkDir::new(root)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn init_makes_a_site_that_builds_and_passes_check_with_the_operator_given() {
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("new-site");
    let created = kelisim::commands::init::init(&site, &options()).unwrap();
    assert!(created.iter().any(|p| p.ends_with("content/ru/privacy.md")));

    let report = build(&site).unwrap();
    assert!(report.pages_written > 20, "{}", report.pages_written);
    let manifest = ConsentManifest::from_json(&read(&site, "consent-manifest.json")).unwrap();
    assert_eq!(manifest.base_url, "https://dala.kz");
    assert_eq!(manifest.operator.email, "privacy@dala.kz");
    assert_eq!(manifest.operator.name, "«Dala Data» ЖШС");
    assert_eq!(manifest.languages["kk"].policy.effective_date, "2027-01-15");
    assert_eq!(
        manifest.languages["ru"].policy.translation_of.as_deref(),
        Some("kk")
    );
    assert!(
        manifest.languages["ru"].labels["reply"]
            .text
            .contains("ТОО «Dala Data»")
    );

    // Nothing of the first operator is left, in the sources or in what they build into.
    let text = all_text(&site);
    for theirs in ["woow", "Z Distribution"] {
        assert!(!text.contains(theirs), "{theirs} left in the new site");
    }
    // The policy is a placeholder that says so, never another operator's legal text.
    let policy = source(&site, "content/kk/privacy.md");
    assert!(
        policy.contains("{#section-8}") && policy.contains("үлгі"),
        "{policy}"
    );

    let check = kelisim::commands::check::run(&site, &CheckOptions::default());
    let problems: Vec<String> = check
        .findings
        .iter()
        .filter(|f| f.severity != Severity::Note)
        .map(|f| f.to_string())
        .collect();
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn init_refuses_a_folder_with_files_and_bad_settings_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), "mine").unwrap();
    let error = kelisim::commands::init::init(dir.path(), &options()).unwrap_err();
    assert!(matches!(error, InitError::NotEmpty(_)), "{error}");
    assert!(error.to_string().contains("not empty"));
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);

    let empty = tempfile::tempdir().unwrap();
    let bad = [
        InitOptions {
            base_url: "dala.kz".to_owned(),
            ..options()
        },
        InitOptions {
            email: "not-an-address".to_owned(),
            ..options()
        },
        InitOptions {
            operator: "Dala \"Data\"".to_owned(),
            ..options()
        },
    ];
    for options in bad {
        let error = kelisim::commands::init::init(empty.path(), &options).unwrap_err();
        assert!(error.to_string().starts_with("--"), "{error}");
    }
    assert_eq!(std::fs::read_dir(empty.path()).unwrap().count(), 0);
}

#[test]
fn the_embedded_theme_is_every_file_of_the_default_theme() {
    let theme = repo_root().join("themes/default");
    let mut on_disk: Vec<String> = walkdir::WalkDir::new(&theme)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let rel = e.path().strip_prefix(repo_root()).unwrap();
            rel.to_string_lossy().replace('\\', "/")
        })
        .collect();
    on_disk.sort();
    let embedded: Vec<String> = THEME.iter().map(|(p, _)| (*p).to_owned()).collect();
    assert_eq!(embedded, on_disk);
}

#[test]
fn new_creates_the_page_in_every_language_linked_as_translations() {
    let site = fixture_site();
    let today = kelisim::load::dates::parse_date("2026-12-02").unwrap();
    let created = new_page(site.path(), "help/data-requests", None, today).unwrap();
    assert_eq!(created.len(), 2);
    let kk = source(site.path(), "content/kk/help/data-requests.md");
    assert!(
        kk.starts_with("+++\ntitle = \"Data requests\"\ndate = 2026-12-02\n+++"),
        "{kk}"
    );
    assert_eq!(kk, source(site.path(), "content/ru/help/data-requests.md"));

    build(site.path()).unwrap();
    let html = read(site.path(), "kk/help/data-requests/index.html");
    let hreflangs = alternates(&html);
    assert!(
        hreflangs
            .iter()
            .any(|(lang, url)| lang == "ru" && url.ends_with("/ru/help/data-requests/")),
        "{hreflangs:?}"
    );
    let check = kelisim::commands::check::run(site.path(), &CheckOptions::default());
    assert!(
        !check.findings.iter().any(|f| f.check == "translations"),
        "{:#?}",
        check.findings
    );
}

#[test]
fn new_refuses_existing_pages_and_paths_outside_content_without_writing() {
    let site = fixture_site();
    let today = kelisim::load::dates::parse_date("2026-12-02").unwrap();
    let error = new_page(site.path(), "contact.md", None, today).unwrap_err();
    assert!(matches!(error, NewPageError::Exists(_)), "{error}");

    // Only the Russian file exists: the Kazakh one is not created either.
    std::fs::write(
        site.path().join("content/ru/only-ru.md"),
        "+++\ntitle = \"x\"\n+++\n",
    )
    .unwrap();
    new_page(site.path(), "only-ru.md", None, today).unwrap_err();
    assert!(!site.path().join("content/kk/only-ru.md").exists());

    for path in [
        "../escape.md",
        "/abs.md",
        "kk/about.md",
        "",
        "dir/",
        ".hidden.md",
    ] {
        let error = new_page(site.path(), path, None, today).unwrap_err();
        assert!(matches!(error, NewPageError::BadPath(_)), "{path}: {error}");
    }
    assert!(!site.path().join("escape.md").exists());
    assert!(!site.path().join("content/escape.md").exists());
}

#[test]
fn a_given_title_is_written_as_toml_whatever_its_quotes() {
    let site = fixture_site();
    let today = kelisim::load::dates::parse_date("2026-12-02").unwrap();
    new_page(
        site.path(),
        "faq",
        Some("Жиі \"қойылатын\" сұрақтар"),
        today,
    )
    .unwrap();
    build(site.path()).unwrap();
    let html = read(site.path(), "kk/faq/index.html");
    assert!(
        html.contains("Жиі &quot;қойылатын&quot; сұрақтар")
            || html.contains("Жиі \"қойылатын\" сұрақтар")
    );
}
