//! The benchmark corpus: a synthetic bilingual (kk + ru) site of N pages, about 600 words a
//! page with headings, lists, a table and links, written twice from the same Markdown: as a
//! kelisim site (the repository's theme, strings and built-in pages) and as a Hugo site with
//! minimal equivalent templates (head with canonical and hreflang links, language switcher,
//! navigation, content, footer). `bench/run` calls it; nothing it writes is committed.
//!
//! `cargo run --release -p kelisim --example corpus -- PAGES OUT_DIR` writes
//! `OUT_DIR/kelisim/` and `OUT_DIR/hugo/`; PAGES counts both languages (half each).
//! The text is pseudo-random but the same on every run (a fixed seed), so runs compare.
#![allow(clippy::unwrap_used)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Syllables that make Kazakh-looking and Russian-looking words.
const KK: &[&str] = &[
    "қа", "зақ", "ша", "де", "рек", "тер", "өң", "деу", "келі", "сім", "құқ", "ық", "са", "ясат",
    "мақ", "сат", "бой", "ын", "ша", "ор", "ган", "ға", "лы", "тің", "дер", "бес", "жұ", "мыс",
];
const RU: &[&str] = &[
    "да", "нн", "ые", "об", "ра", "бот", "ка", "сог", "ла", "сие", "пра", "во", "по", "ли", "ти",
    "ка", "цель", "ор", "га", "ни", "за", "ция", "хра", "не", "ние", "сро", "ки", "лич",
];

/// A small deterministic generator (xorshift64*): no dependency, same text every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn word(&mut self, syllables: &[&str]) -> String {
        let n = 1 + self.below(3);
        (0..n)
            .map(|_| syllables[self.below(syllables.len())])
            .collect()
    }

    fn sentence(&mut self, syllables: &[&str], words: usize) -> String {
        let mut s: String = (0..words)
            .map(|_| self.word(syllables))
            .collect::<Vec<_>>()
            .join(" ");
        if let Some(first) = s.chars().next() {
            let upper: String = first.to_uppercase().collect();
            s.replace_range(..first.len_utf8(), &upper);
        }
        s.push('.');
        s
    }
}

/// One page's Markdown (front matter included), about 600 words.
fn page(rng: &mut Rng, lang: &str, count: usize) -> String {
    let syl = if lang == "kk" { KK } else { RU };
    let mut md = String::new();
    let title = rng.sentence(syl, 4);
    let title = title.trim_end_matches('.');
    let description = rng.sentence(syl, 12);
    writeln!(
        md,
        "+++\ntitle = \"{title}\"\ndescription = \"{description}\"\n+++\n"
    )
    .unwrap();
    let mut words = 0;
    let mut section = 1;
    while words < 600 {
        writeln!(
            md,
            "## {} {section}\n",
            rng.sentence(syl, 3).trim_end_matches('.')
        )
        .unwrap();
        section += 1;
        for _ in 0..2 {
            let n = 30 + rng.below(20);
            let mut paragraph = String::new();
            let mut left = n;
            while left > 0 {
                let take = left.min(6 + rng.below(8));
                paragraph.push_str(&rng.sentence(syl, take));
                paragraph.push(' ');
                left -= take;
            }
            let target = 1 + rng.below(count);
            write!(paragraph, "[{}](/{lang}/p{target:05}/)", rng.word(syl)).unwrap();
            writeln!(md, "{paragraph}\n").unwrap();
            words += n + 1;
        }
        match section % 3 {
            0 => {
                for _ in 0..4 {
                    writeln!(md, "- {}", rng.sentence(syl, 6)).unwrap();
                }
                words += 24;
            }
            1 => {
                for i in 1..=3 {
                    writeln!(md, "{i}. {}", rng.sentence(syl, 7)).unwrap();
                }
                words += 21;
            }
            _ => {
                writeln!(
                    md,
                    "| {} | {} | {} |",
                    rng.word(syl),
                    rng.word(syl),
                    rng.word(syl)
                )
                .unwrap();
                writeln!(md, "|---|---|---|").unwrap();
                for _ in 0..3 {
                    writeln!(
                        md,
                        "| {} | {} | {} |",
                        rng.word(syl),
                        rng.below(1000),
                        rng.sentence(syl, 3)
                    )
                    .unwrap();
                }
                words += 15;
            }
        }
        md.push('\n');
    }
    md
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn copy_tree(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::create_dir_all(to).unwrap();
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

const HUGO_CONFIG: &str = r#"baseURL = "https://woow.kz/"
title = "woow.kz"
defaultContentLanguage = "kk"
defaultContentLanguageInSubdir = true
disableKinds = ["taxonomy", "term", "RSS"]

[languages.kk]
languageName = "Қазақша"
contentDir = "content/kk"
weight = 1

[languages.ru]
languageName = "Русский"
contentDir = "content/ru"
weight = 2
"#;

/// The same page structure as the kelisim theme's `base.html`, in Hugo's template language.
const HUGO_BASEOF: &str = r##"<!DOCTYPE html>
<html lang="{{ .Lang }}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ .Title }} · {{ site.Title }}</title>
<meta name="description" content="{{ .Description }}">
<link rel="canonical" href="{{ .Permalink }}">
{{- range .AllTranslations }}
<link rel="alternate" hreflang="{{ .Lang }}" href="{{ .Permalink }}">
{{- end }}
{{- range where .AllTranslations "Lang" "kk" }}
<link rel="alternate" hreflang="x-default" href="{{ .Permalink }}">
{{- end }}
<link rel="stylesheet" href="/static/style.css">
</head>
<body>
<a class="skip-link" href="#main">Skip</a>
<header class="site-header">
<div class="wrap header-row">
<a class="brand" href="{{ site.Home.RelPermalink }}">{{ site.Title }}</a>
<nav class="languages" aria-label="Languages">
<ul>
{{- $current := .Lang }}
{{- range .AllTranslations }}
<li><a href="{{ .RelPermalink }}" lang="{{ .Lang }}" hreflang="{{ .Lang }}"{{ if eq .Lang $current }} aria-current="true"{{ end }}>{{ .Language.LanguageName }}</a></li>
{{- end }}
</ul>
</nav>
</div>
<nav class="wrap main-nav" aria-label="Menu">
<ul>
<li><a href="{{ site.Home.RelPermalink }}">Home</a></li>
<li><a href="{{ site.Home.RelPermalink }}privacy/">Privacy</a></li>
<li><a href="{{ site.Home.RelPermalink }}contact/">Contact</a></li>
</ul>
</nav>
</header>
<main id="main" class="wrap" tabindex="-1">
{{ block "main" . }}{{ end }}
</main>
<footer class="site-footer">
<div class="wrap">
<p>«Z Distribution Company» ЖШС</p>
<p><a href="mailto:info@woow.kz">info@woow.kz</a></p>
</div>
</footer>
</body>
</html>
"##;

const HUGO_SINGLE: &str = r#"{{ define "main" }}
<h1>{{ .Title }}</h1>
<div class="prose">
{{ .Content }}
</div>
{{ end }}
"#;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(pages), Some(out)) = (args.first(), args.get(1)) else {
        eprintln!("usage: corpus PAGES OUT_DIR");
        std::process::exit(2);
    };
    let Ok(pages) = pages.parse::<usize>() else {
        eprintln!("error: PAGES must be a number, got `{pages}`");
        std::process::exit(2);
    };
    let out = PathBuf::from(out);
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    if out.exists() {
        std::fs::remove_dir_all(&out).unwrap();
    }
    let kelisim = out.join("kelisim");
    let hugo = out.join("hugo");
    // The kelisim site: the repository's settings, theme, strings and built-in pages.
    std::fs::create_dir_all(&kelisim).unwrap();
    std::fs::copy(repo.join("site.toml"), kelisim.join("site.toml")).unwrap();
    copy_tree(&repo.join("themes"), &kelisim.join("themes"));
    copy_tree(&repo.join("locales"), &kelisim.join("locales"));
    copy_tree(&repo.join("content"), &kelisim.join("content"));
    write(&hugo.join("config.toml"), HUGO_CONFIG);
    write(&hugo.join("layouts/_default/baseof.html"), HUGO_BASEOF);
    write(&hugo.join("layouts/_default/single.html"), HUGO_SINGLE);
    write(&hugo.join("layouts/_default/list.html"), HUGO_SINGLE);
    copy_tree(
        &repo.join("themes/default/static"),
        &hugo.join("static/static"),
    );
    let per_language = pages / 2;
    for (lang, seed) in [
        ("kk", 0x9E37_79B9_7F4A_7C15_u64),
        ("ru", 0xD1B5_4A32_D192_ED03),
    ] {
        let mut rng = Rng(seed);
        let home = std::fs::read_to_string(repo.join("content").join(lang).join("_index.md"))
            .unwrap()
            .replace("template = \"index.html\"\n", "");
        write(&hugo.join("content").join(lang).join("_index.md"), &home);
        for i in 1..=per_language {
            let text = page(&mut rng, lang, per_language);
            let name = format!("p{i:05}.md");
            write(&kelisim.join("content").join(lang).join(&name), &text);
            write(&hugo.join("content").join(lang).join(&name), &text);
        }
    }
    println!("{}", out.display());
}
