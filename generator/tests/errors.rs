//! Editor errors: each kind names `file:line` and says what to do; the CLI exits non-zero
//! with that sentence; garbage input never panics.
#![allow(clippy::unwrap_used)]

use crate::support;

use std::path::Path;
use std::process::Command;

use support::*;

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn build_error(edit: impl FnOnce(&Path)) -> String {
    let site = fixture_site();
    edit(site.path());
    build(site.path()).unwrap_err().to_string()
}

#[test]
fn bad_front_matter_names_file_and_line() {
    let err = build_error(|root| {
        write(
            root,
            "content/ru/thanks.md",
            "+++\ntitle = \"Спасибо\"\ndraft = \"no\"\n+++\n",
        )
    });
    assert!(
        err.starts_with("content/ru/thanks.md:3: `draft` must be true or false"),
        "{err}"
    );
    let err = build_error(|root| {
        write(
            root,
            "content/kk/thanks.md",
            "+++\ntitle = \"Рақмет\"\ntitle \"x\"\n+++\n",
        )
    });
    assert!(err.starts_with("content/kk/thanks.md:3:"), "{err}");
    assert!(err.contains("not valid TOML"), "{err}");
}

#[test]
fn unknown_template_names_file_and_line() {
    let err = build_error(|root| {
        write(
            root,
            "content/kk/thanks.md",
            "+++\ntitle = \"Рақмет\"\ndescription = \"x\"\ntemplate = \"nope.html\"\n+++\n",
        )
    });
    assert!(
        err.starts_with("content/kk/thanks.md:4: the template `nope.html` does not exist"),
        "{err}"
    );
    assert!(
        err.contains("page.html"),
        "lists the templates to choose from: {err}"
    );
}

#[test]
fn tera_syntax_error_names_file_and_line() {
    let err = build_error(|root| {
        write(
            root,
            "templates/page.html",
            "{% extends \"base.html\" %}\n\n{% block main %}{{ page.title }{% endblock main %}\n",
        )
    });
    assert!(err.starts_with("templates/page.html:3:"), "{err}");
    assert!(err.contains("template syntax error"), "{err}");
}

#[test]
fn a_site_template_overrides_the_theme() {
    let site = fixture_site();
    write(
        site.path(),
        "templates/thanks.html",
        "{% extends \"base.html\" %}{% block main %}<h1>{{ page.title }}</h1><p>overridden</p>{% endblock main %}",
    );
    build(site.path()).unwrap();
    assert!(read(site.path(), "kk/thanks/index.html").contains("<p>overridden</p>"));
}

#[test]
fn fluent_syntax_error_names_file_and_line() {
    let mut line = 0;
    let err = build_error(|root| {
        let path = root.join("locales/ru/main.ftl");
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str("\nbroken-message = { $unclosed\n");
        line = text.lines().count();
        std::fs::write(&path, text).unwrap();
    });
    assert!(
        err.starts_with(&format!("locales/ru/main.ftl:{line}:")),
        "{err}"
    );
    assert!(err.contains("Fluent syntax error"), "{err}");
}

#[test]
fn a_string_missing_everywhere_names_template_line_and_key() {
    let err = build_error(|root| {
        write(
            root,
            "templates/thanks.html",
            "{% extends \"base.html\" %}\n{% block main %}\n<p>{{ t(key=\"no-such-string\") }}</p>\n{% endblock main %}\n",
        )
    });
    assert!(err.starts_with("templates/thanks.html:3:"), "{err}");
    assert!(err.contains("`no-such-string`"), "{err}");
}

#[test]
fn a_string_missing_in_one_language_falls_back_with_a_warning() {
    let site = fixture_site();
    let path = site.path().join("locales/ru/main.ftl");
    let text = std::fs::read_to_string(&path).unwrap();
    let without: String = text
        .lines()
        .filter(|l| !l.starts_with("nav-contact ="))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&path, without).unwrap();
    let report = build(site.path()).unwrap();
    assert_eq!(report.warnings.len(), 1, "{:?}", report.warnings);
    assert!(report.warnings[0].contains("`nav-contact`"));
    assert!(
        read(site.path(), "ru/index.html").contains(">Байланыс</a>"),
        "kk text shown"
    );
}

#[test]
fn missing_policy_version_is_explained() {
    let err = build_error(|root| {
        let path = root.join("content/ru/privacy.md");
        let text = std::fs::read_to_string(&path)
            .unwrap()
            .replace("version = \"2\"\n", "");
        std::fs::write(path, text).unwrap();
    });
    assert!(
        err.starts_with("content/ru/privacy.md:1: the policy has no `version`"),
        "{err}"
    );
}

#[test]
fn cli_exits_non_zero_with_a_plain_sentence() {
    let exe = env!("CARGO_BIN_EXE_kelisim");
    let site = fixture_site();
    write(site.path(), "content/kk/thanks.md", "no front matter\n");
    let out = Command::new(exe)
        .args(["build", "--root"])
        .arg(site.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("error: content/kk/thanks.md:1: the file has no front matter."),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"));

    let missing = Command::new(exe)
        .args(["build", "--root", "/nonexistent/kelisim-site"])
        .output()
        .unwrap();
    assert!(!missing.status.success());
    assert!(
        String::from_utf8_lossy(&missing.stderr).starts_with("error: site.toml: could not read")
    );

    let help = Command::new(exe).arg("--help").output().unwrap();
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("build"));
    let version = Command::new(exe).arg("--version").output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).trim(),
        format!("kelisim {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn cli_builds_with_another_base_url() {
    let exe = env!("CARGO_BIN_EXE_kelisim");
    let site = fixture_site();
    let out_dir = site.path().join("preview");
    let out = Command::new(exe)
        .args(["build", "--root"])
        .arg(site.path())
        .arg("--output")
        .arg(&out_dir)
        .args(["--base-url", "http://127.0.0.1:8080/"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("Built 19 pages"));
    let html = std::fs::read_to_string(out_dir.join("kk/index.html")).unwrap();
    assert!(html.contains("<link rel=\"canonical\" href=\"http://127.0.0.1:8080/kk/\">"));
}

/// A small deterministic generator of nasty text: TOML and Tera punctuation, Cyrillic,
/// control characters, unbalanced delimiters.
struct Garbage(u64);

impl Garbage {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn text(&mut self, len: usize) -> String {
        const PIECES: &[&str] = &[
            "+++",
            "\n",
            "=",
            "\"",
            "'",
            "[",
            "]",
            "{",
            "}",
            "{{",
            "}}",
            "{%",
            "%}",
            "{#",
            "#}",
            "title",
            "template",
            "date",
            "draft",
            "version",
            "2024-02-11",
            "true",
            "ж",
            "Ё",
            "\u{0}",
            "\u{feff}",
            "\r\n",
            " ",
            "-",
            ".",
            "extends",
            "block",
            "endblock",
            "t(key=",
            ")",
            "|",
            "safe",
            "0",
            "99999999999999999999",
            "#",
            "*",
            "[^",
            "{#id}",
            "<",
            ">",
            "&",
            "\\",
        ];
        (0..len)
            .map(|_| PIECES[(self.next() % PIECES.len() as u64) as usize])
            .collect()
    }
}

#[test]
fn garbage_front_matter_never_panics() {
    let mut g = Garbage(0x9e37_79b9_7f4a_7c15);
    for i in 0..3000 {
        let mut text = g.text((i % 60) + 1);
        if i % 2 == 0 {
            text = format!("+++\n{text}\n+++\n{}", g.text(10));
        }
        let result =
            kelisim::load::content::parse_page("kk", Path::new("content/kk/x.md"), "x", &text);
        if let Err(e) = result {
            assert!(e.to_string().starts_with("content/kk/x.md"), "{e}");
        }
        let _ = kelisim::model::markdown::render(&text);
        let _ = text.parse::<kelisim::load::config::SiteConfig>();
    }
}

#[test]
fn garbage_templates_and_strings_never_panic() {
    let locales = std::sync::Arc::new(
        kelisim::load::i18n::Locales::from_sources(
            "kk",
            vec![(
                "kk".into(),
                "locales/kk/a.ftl".into(),
                "hi = Сәлем { $name }\n".into(),
            )],
        )
        .unwrap(),
    );
    let mut g = Garbage(42);
    for i in 0..1500 {
        let text = g.text((i % 40) + 1);
        let source = kelisim::load::templates::TemplateSource {
            name: "p.html".into(),
            path: "templates/p.html".into(),
            text: text.clone(),
        };
        let renderer = kelisim::load::templates::Renderer::new(
            vec![source],
            locales.clone(),
            &["kk".to_owned()],
            "https://e.kz",
            kelisim::load::source::Warnings::default(),
        );
        if let Ok(r) = renderer {
            let _ = r.render("kk", "p.html", &tera::Context::new());
        } else if let Err(e) = renderer {
            assert!(e.to_string().contains("templates/p.html"), "{e}");
        }
        let _ = kelisim::load::i18n::Locales::from_sources(
            "kk",
            vec![("kk".into(), "x.ftl".into(), text)],
        );
    }
}
