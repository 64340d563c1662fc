//! `kelisim check` (issue #7): a fixture site broken on purpose makes every check fire, each
//! finding asserted with its file, line and sentence; the clean fixture and the real site pass;
//! the exit status follows errors and `--deny-warnings`.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;

use crate::support::*;
use kelisim::commands::check::{CheckOptions, CheckReport, Finding, Severity, run};

fn append(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    let mut old = std::fs::read_to_string(&path).unwrap_or_default();
    old.push_str(text);
    std::fs::write(path, old).unwrap();
}

fn replace(root: &Path, rel: &str, from: &str, to: &str) {
    let path = root.join(rel);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "{rel}: {from}");
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}

fn line_with(root: &Path, rel: &str, needle: &str) -> usize {
    std::fs::read_to_string(root.join(rel))
        .unwrap()
        .lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("{rel} has no {needle}"))
        + 1
}

/// The one finding of `check` at `file`, asserted to have `line` and to contain `words`.
fn expect<'r>(
    report: &'r CheckReport,
    check: &str,
    file: &str,
    line: usize,
    words: &str,
) -> &'r Finding {
    let found: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| f.check == check && f.file == Path::new(file) && f.message.contains(words))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "{check} at {file} with {words:?} in {:#?}",
        report.findings
    );
    assert_eq!(found[0].line, line, "{}", found[0]);
    found[0]
}

fn kelisim(root: &Path, args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_kelisim"))
        .arg("check")
        .arg("--root")
        .arg(root)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn the_clean_fixture_has_no_errors_or_warnings() {
    let site = fixture_site();
    build(site.path()).unwrap();
    let report = run(site.path(), &CheckOptions::default());
    let serious: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| f.severity != Severity::Note)
        .collect();
    assert!(serious.is_empty(), "{serious:#?}");
    assert_eq!(kelisim(site.path(), &["--deny-warnings"]).0, 0);
}

#[test]
fn every_check_fires_on_a_broken_site_with_file_line_and_sentence() {
    let site = fixture_site();
    let root = site.path();
    build(root).unwrap();
    let home = "content/kk/_index.md";
    append(
        root,
        home,
        "\n\n[Жоқ бет](/kk/joq/)\n\n[Жоқ бөлім](/kk/privacy/#joq)\n\n<img src=\"/static/style.css\">\n\n[Сыртқы](https://example.org/)\n",
    );
    std::fs::write(
        root.join("content/kk/tek-kk.md"),
        "+++\ntitle = \"Тек қазақша\"\n+++\nМәтін.\n",
    )
    .unwrap();
    let ru_policy = "content/ru/privacy.md";
    replace(root, ru_policy, "{#section-2}", "{#section-two}");
    append(root, "locales/kk/main.ftl", "\nonly-kk = Тек қазақша\n");
    let lock = std::fs::read_to_string(root.join("policy.lock")).unwrap();
    let kk_hash = lock
        .split("lang = \"kk\"")
        .nth(1)
        .and_then(|rest| rest.split("sha256 = \"").nth(1))
        .map(|rest| rest[..64].to_owned())
        .unwrap();
    replace(root, "policy.lock", &kk_hash, &"0".repeat(64));

    let report = run(root, &CheckOptions::default());
    expect(
        &report,
        "links",
        home,
        line_with(root, home, "/kk/joq/"),
        "the link /kk/joq/ on /kk/index.html leads to no page of the site.",
    );
    expect(
        &report,
        "anchors",
        home,
        line_with(root, home, "#joq"),
        "the link /kk/privacy/#joq on /kk/index.html names the anchor #joq, which /kk/privacy/index.html does not have.",
    );
    expect(
        &report,
        "images",
        home,
        line_with(root, home, "<img"),
        "the image /static/style.css on /kk/index.html has no alt text.",
    );
    let external = expect(
        &report,
        "external",
        home,
        line_with(root, home, "example.org"),
        "external link https://example.org/ (not fetched",
    );
    assert_eq!(external.severity, Severity::Note);
    expect(
        &report,
        "translations",
        "content/kk/tek-kk.md",
        1,
        "/kk/tek-kk/ has no `ru` translation: add content/ru/tek-kk.md",
    );
    expect(
        &report,
        "policy-structure",
        ru_policy,
        line_with(root, ru_policy, "{#section-two}"),
        "policy version 2 has `#section-two` here where the kk text (content/kk/privacy.md:",
    );
    let ftl = "locales/kk/main.ftl";
    let ftl_line = line_with(root, ftl, "only-kk");
    expect(
        &report,
        "fluent",
        ftl,
        ftl_line,
        "`only-kk` has no `ru` text: add `only-kk = ...` to locales/ru/main.ftl.",
    );
    expect(
        &report,
        "fluent",
        ftl,
        ftl_line,
        "`only-kk` is not used by any template.",
    );
    let drift = expect(
        &report,
        "policy-lock",
        "content/kk/privacy.md",
        line_with(root, "content/kk/privacy.md", "version ="),
        "the text of policy version 2 (kk) changed after it was published",
    );
    assert!(
        drift.message.contains("kelisim policy new-version 3"),
        "{drift}"
    );
    assert_eq!(drift.severity, Severity::Error);

    // Errors exit 1; the JSON report carries the same findings.
    let (status, json) = kelisim(root, &["--format", "json"]);
    assert_eq!(status, 1);
    let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        parsed["findings"].as_array().unwrap().len(),
        report.findings.len()
    );
    assert!(json.contains("\"check\": \"anchors\""), "{json}");
}

#[test]
fn warnings_exit_0_unless_denied() {
    let site = fixture_site();
    build(site.path()).unwrap();
    std::fs::write(
        site.path().join("content/kk/tek-kk.md"),
        "+++\ntitle = \"Тек қазақша\"\n+++\nМәтін.\n",
    )
    .unwrap();
    let (status, text) = kelisim(site.path(), &[]);
    assert_eq!(status, 0, "{text}");
    assert!(
        text.contains("warning: content/kk/tek-kk.md:1: /kk/tek-kk/ has no `ru` translation"),
        "{text}"
    );
    assert!(
        text.contains("kelisim check: 0 errors, 1 warnings"),
        "{text}"
    );
    assert_eq!(kelisim(site.path(), &["--deny-warnings"]).0, 1);
}

#[test]
fn a_site_that_does_not_build_is_one_error_with_its_location() {
    let site = fixture_site();
    replace(
        site.path(),
        "content/kk/_index.md",
        "title = ",
        "title = = ",
    );
    let report = run(site.path(), &CheckOptions::default());
    assert_eq!(report.findings.len(), 1, "{:#?}", report.findings);
    assert_eq!(report.findings[0].file, Path::new("content/kk/_index.md"));
    assert_eq!(report.findings[0].line, 2);
    assert_eq!(report.findings[0].check, "build");
}

#[test]
fn the_real_site_passes_check_with_warnings_denied() {
    let root = repo_root();
    let report = run(&root, &CheckOptions::default());
    let serious: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| f.severity != Severity::Note)
        .collect();
    assert!(serious.is_empty(), "{serious:#?}");
}

/// A one-thread HTTP server on loopback: 200 for `/ok`, 404 for anything else. Returns its
/// address; it answers `requests` requests and stops.
fn link_server(requests: usize) -> String {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().take(requests) {
            let Ok(mut stream) = stream else { continue };
            let mut request_line = String::new();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            reader.read_line(&mut request_line).unwrap();
            // Read the headers up to the blank line.
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let status = if request_line.starts_with("GET /ok ") {
                "200 OK"
            } else {
                "404 Not Found"
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\ncontent-length: 2\r\nconnection: close\r\n\r\nhi"
            );
        }
    });
    address
}

#[test]
fn external_fetches_each_external_link_and_reports_the_broken_ones_as_errors() {
    let site = fixture_site();
    let root = site.path();
    let server = link_server(2);
    let page = "content/kk/siltemeler.md";
    std::fs::write(
        root.join(page),
        format!(
            "+++\ntitle = \"Сілтемелер\"\ntranslation_key = \"links\"\n+++\n\n[бар]({server}/ok)\n\n[жоқ]({server}/gone)\n"
        ),
    )
    .unwrap();
    std::fs::write(
        root.join("content/ru/ssylki.md"),
        "+++\ntitle = \"Ссылки\"\ntranslation_key = \"links\"\n+++\n\nТекст.\n",
    )
    .unwrap();
    build(root).unwrap();

    let report = run(root, &CheckOptions { external: true });
    let broken = expect(
        &report,
        "external",
        page,
        line_with(root, page, "/gone"),
        &format!("the external link {server}/gone does not answer"),
    );
    assert_eq!(broken.severity, Severity::Error);
    let external: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| f.check == "external")
        .collect();
    assert_eq!(
        external.len(),
        1,
        "the answering link is not reported: {external:#?}"
    );
    assert!(report.count(Severity::Error) >= 1);
}

/// A consent label that states another period than `retention_days` is an error at its Fluent
/// message; one written as fixed text (right for now) is a warning; so is one with no period.
#[test]
fn a_label_whose_period_differs_from_site_toml_is_an_error() {
    let site = fixture_site();
    let root = site.path();
    // site.toml keeps replies for two years, but the Russian label was hard-coded to one.
    replace(
        root,
        "site.toml",
        "retention_days = 365",
        "retention_days = 730",
    );
    let ru = "locales/ru/main.ftl";
    let text = std::fs::read_to_string(root.join(ru)).unwrap();
    let start = text.find("не дольше { $years ->").unwrap();
    let end = start + text[start..].find("} с момента отправки").unwrap() + 1;
    std::fs::write(
        root.join(ru),
        format!("{}не дольше 1 года{}", &text[..start], &text[end..]),
    )
    .unwrap();
    let line = line_with(root, ru, "consent-reply =");
    let report = run(root, &CheckOptions::default());
    let found = expect(&report, "consent-period", ru, line, "states «1 года»");
    assert_eq!(found.severity, Severity::Error);
    assert!(found.message.contains("730 days"), "{found}");
    assert!(found.message.contains("{ $days }"), "{found}");
    // The Kazakh label takes the number from site.toml: «2 жылдан», no finding.
    assert!(
        !report
            .findings
            .iter()
            .any(|f| f.check == "consent-period" && f.file == Path::new("locales/kk/main.ftl")),
        "{:#?}",
        report.findings
    );

    // Right by accident: a warning that the period does not follow site.toml.
    replace(
        root,
        "site.toml",
        "retention_days = 730",
        "retention_days = 365",
    );
    let report = run(root, &CheckOptions::default());
    let found = expect(&report, "consent-period", ru, line, "as fixed text");
    assert_eq!(found.severity, Severity::Warning);
    // No period at all: a warning too.
    replace(root, ru, " не дольше 1 года с момента отправки", "");
    let report = run(root, &CheckOptions::default());
    let found = expect(&report, "consent-period", ru, line, "does not say how long");
    assert_eq!(found.severity, Severity::Warning);
}
