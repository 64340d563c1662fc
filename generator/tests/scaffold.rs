//! `kelisim init DIR` and `kelisim new PATH`: a new site whose placeholder policy is refused
//! by `build` and `check` until the operator's text replaces it, then builds and passes
//! `kelisim check`; and a new page that arrives in every language, linked as translations.
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
        effective: kelisim_manifest::dates::parse_date("2027-01-15").unwrap(),
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

/// A new site from `init`, in a temporary folder (kept alive by the returned guard).
fn new_site() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("new-site");
    let created = kelisim::commands::init::init(&site, &options()).unwrap();
    assert!(created.iter().any(|p| p.ends_with("content/ru/privacy.md")));
    (dir, site)
}

#[test]
fn init_makes_a_placeholder_policy_that_build_and_check_refuse_and_serve_marks() {
    let (_dir, site) = new_site();
    // The policy is a placeholder that says so, never another operator's legal text.
    let policy = source(&site, "content/kk/privacy.md");
    assert!(
        policy.contains("{#section-8}") && policy.contains("үлгі"),
        "{policy}"
    );
    let flag_line = policy
        .lines()
        .position(|l| l == "placeholder = true")
        .unwrap()
        + 1;

    // `build` refuses to publish or lock it, naming the file, the line and what to do.
    let err = build(&site).unwrap_err().to_string();
    assert!(
        err.starts_with(&format!(
            "content/kk/privacy.md:{flag_line}: this policy is a placeholder"
        )),
        "{err}"
    );
    assert!(
        err.contains("delete the `placeholder = true` line"),
        "{err}"
    );
    assert!(!site.join("policy.lock").exists());
    assert!(!site.join("public").exists());
    // `check` reports it as an error, in both languages, and nothing else.
    let check = kelisim::commands::check::run(&site, &CheckOptions::default());
    let problems: Vec<(&str, String)> = check
        .findings
        .iter()
        .filter(|f| f.severity != Severity::Note)
        .map(|f| (f.check, f.file.display().to_string()))
        .collect();
    assert_eq!(
        problems,
        [
            ("policy-placeholder", "content/kk/privacy.md".to_owned()),
            ("policy-placeholder", "content/ru/privacy.md".to_owned())
        ],
        "{:#?}",
        check.findings
    );
    assert!(
        check
            .findings
            .iter()
            .all(|f| f.severity != Severity::Warning)
    );
    // `serve` previews it, with a visible notice in each language.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (_, preview) =
        kelisim::build::render_site_until(&kelisim::BuildOptions::new(&site), &stop).unwrap();
    for (lang, words) in [("kk", "Бұл – үлгі"), ("ru", "Это заготовка")] {
        let page = preview.file(&format!("{lang}/privacy/index.html")).unwrap();
        let page = std::str::from_utf8(page).unwrap();
        assert!(page.contains("notice-placeholder"), "{lang}");
        assert!(page.contains(words), "{lang}");
    }
}

#[test]
fn init_then_the_operators_policy_builds_passes_check_and_locks_only_the_real_text() {
    let (_dir, site) = new_site();
    // The operator's text, flag removed: published and locked as version 1.0.
    for (lang, text) in [
        ("kk", "Оператор деректерді тек келісіммен өңдейді."),
        ("ru", "Оператор обрабатывает данные только с согласия."),
    ] {
        let rel = format!("content/{lang}/privacy.md");
        let written = source(&site, &rel)
            .lines()
            .filter(|l| !l.contains("placeholder") && !l.starts_with("# Remove this line"))
            .collect::<Vec<_>>()
            .join("\n")
            .replace("Осы бөлімнің мәтінін жазыңыз.", text)
            .replace("Впишите текст этого раздела.", text);
        std::fs::write(site.join(&rel), format!("{written}\n")).unwrap();
    }
    let report = build(&site).unwrap();
    assert!(report.pages_written > 20, "{}", report.pages_written);
    assert!(report.lock_updated);
    let manifest = ConsentManifest::from_json(&read(&site, "consent-manifest.json")).unwrap();
    assert_eq!(manifest.base_url, "https://dala.kz");
    assert_eq!(manifest.operator.email, "privacy@dala.kz");
    assert_eq!(manifest.operator.name, "«Dala Data» ЖШС");
    assert_eq!(manifest.languages["kk"].policy.version, "1.0");
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
    // policy.lock holds the real texts only, with their labels.
    let lock = kelisim::model::lock::PolicyLock::load(&site).unwrap();
    assert_eq!(lock.versions.len(), 2);
    for locked in &lock.versions {
        let language = &manifest.languages[&locked.lang];
        assert_eq!(locked.version, "1.0");
        assert_eq!(locked.sha256, language.policy.sha256);
        assert_eq!(locked.labels, language.labels);
    }
    let published = read(&site, "kk/privacy/index.html");
    assert!(published.contains("Оператор деректерді тек келісіммен өңдейді."));
    assert!(!published.contains("notice-placeholder"));

    // Nothing of the first operator is left, in the sources or in what they build into.
    let text = all_text(&site);
    for theirs in ["woow", "Z Distribution"] {
        assert!(!text.contains(theirs), "{theirs} left in the new site");
    }
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
    let today = kelisim_manifest::dates::parse_date("2026-12-02").unwrap();
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
    let today = kelisim_manifest::dates::parse_date("2026-12-02").unwrap();
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
    let today = kelisim_manifest::dates::parse_date("2026-12-02").unwrap();
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
