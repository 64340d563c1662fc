//! Search hygiene, read from the built site as a search engine would: only real content is
//! indexed, once. Result, confirmation and error pages and the 404 pages carry `noindex` and
//! stay out of the sitemap but keep their hreflang pairs; the current policy's permanent URL
//! points its canonical at `/<lang>/privacy/`; a superseded version is `noindex`; `robots.txt`
//! hides nothing (a disallowed page could not show its `noindex`).
#![allow(clippy::unwrap_used)]

use crate::support;

use std::collections::BTreeSet;
use std::path::Path;

use support::*;

const BASE: &str = "https://example.kz";
const LANGUAGES: [&str; 2] = ["kk", "ru"];

/// What a search engine should make of one URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Content: canonical to itself, no `noindex`, in the sitemap.
    Indexed,
    /// Not content: `noindex`, canonical to itself, not in the sitemap.
    NoIndex,
    /// A copy: canonical to another URL, no `noindex`, not in the sitemap.
    CopyOf(&'static str),
    /// A copy of a page that is not content: canonical to it, `noindex`, not in the sitemap.
    NoIndexCopyOf(&'static str),
}

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// The fixture site plus a superseded policy version, the double opt-in result pages (noindex
/// by their kind) and a result page of no built-in kind that says `noindex = true` in its
/// front matter (the generic key, as any new result page would).
fn site_with_every_page_kind() -> tempfile::TempDir {
    let site = fixture_site();
    for lang in LANGUAGES {
        write(
            site.path(),
            &format!("content/{lang}/privacy/archive/1.md"),
            "+++\ntitle = \"Policy\"\nversion = \"1\"\neffective_date = 2023-01-01\n+++\n\n## Old {#section-1}\n\nOld text.\n",
        );
        for (page, noindex) in [
            ("confirmed", ""),
            ("confirm-error", ""),
            ("request-received", "noindex = true\n"),
        ] {
            write(
                site.path(),
                &format!("content/{lang}/{page}.md"),
                &format!(
                    "+++\ntitle = \"{page}\"\ndescription = \"{page}.\"\n{noindex}+++\n\nDone.\n"
                ),
            );
        }
    }
    site
}

/// The site-relative URLs of the sitemap's `<loc>`s.
fn sitemap_locs(xml: &str, base: &str) -> BTreeSet<String> {
    xml.split("<loc>")
        .skip(1)
        .filter_map(|s| s.split("</loc>").next())
        .map(|loc| loc.strip_prefix(base).unwrap_or(loc).to_owned())
        .collect()
}

fn is_noindex(html: &str) -> bool {
    tags(html, "<meta name=\"robots\"")
        .iter()
        .any(|t| attr(t, "content").is_some_and(|c| c.contains("noindex")))
}

fn canonical(html: &str) -> String {
    let tag = tags(html, "<link rel=\"canonical\"");
    assert_eq!(tag.len(), 1, "exactly one canonical link");
    attr(tag[0], "href").unwrap().to_owned()
}

/// The file a site-relative URL is served from.
fn file_of(url: &str) -> String {
    kelisim::load::content::output_path(url)
}

#[test]
fn every_page_kind_is_indexed_once_or_not_at_all_in_both_languages() {
    let site = site_with_every_page_kind();
    let report = build(site.path()).unwrap();
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    let sitemap = sitemap_locs(&read(site.path(), "sitemap.xml"), BASE);

    let mut cases: Vec<(String, Expect)> = vec![
        ("/".to_owned(), Expect::Indexed),
        // Servers look for /404.html: a copy of the default language's not-found page.
        (
            "/404.html".to_owned(),
            Expect::NoIndexCopyOf("/kk/404.html"),
        ),
    ];
    for lang in LANGUAGES {
        let about = if lang == "kk" { "biz-turaly" } else { "o-nas" };
        let current_policy: &'static str = if lang == "kk" {
            "/kk/privacy/"
        } else {
            "/ru/privacy/"
        };
        cases.extend([
            (format!("/{lang}/"), Expect::Indexed),
            (format!("/{lang}/privacy/"), Expect::Indexed),
            (format!("/{lang}/contact/"), Expect::Indexed),
            (format!("/{lang}/{about}/"), Expect::Indexed),
            (
                format!("/{lang}/privacy/2/"),
                Expect::CopyOf(current_policy),
            ),
            (format!("/{lang}/privacy/1/"), Expect::NoIndex),
            // The generated "what changed" page repeats the two texts: not for search.
            (format!("/{lang}/privacy/2/changes/"), Expect::NoIndex),
            (format!("/{lang}/thanks/"), Expect::NoIndex),
            (format!("/{lang}/error/"), Expect::NoIndex),
            (format!("/{lang}/confirmed/"), Expect::NoIndex),
            (format!("/{lang}/confirm-error/"), Expect::NoIndex),
            (format!("/{lang}/request-received/"), Expect::NoIndex),
            (format!("/{lang}/404.html"), Expect::NoIndex),
        ]);
    }
    let built: BTreeSet<String> = html_files(&site.path().join("public"))
        .into_iter()
        .collect();
    let mut covered: BTreeSet<String> = cases.iter().map(|(url, _)| file_of(url)).collect();
    // The policy's address without a language (its §12.3 names `…/privacy`) is a redirect to
    // the default language's policy, not a page: `noindex`, canonical to where it leads, no
    // alternates, not in the sitemap.
    covered.insert("privacy/index.html".to_owned());
    let redirect = read(site.path(), "privacy/index.html");
    assert!(is_noindex(&redirect));
    assert_eq!(canonical(&redirect), format!("{BASE}/kk/privacy/"));
    assert!(!sitemap.contains("/privacy/"));
    assert!(alternates(&redirect).is_empty());
    assert_eq!(built, covered, "every built page has a case here");

    for (url, expect) in &cases {
        let html = read(site.path(), &file_of(url));
        let (noindex, canonical_to, listed) = match expect {
            Expect::Indexed => (false, url.as_str(), true),
            Expect::NoIndex => (true, url.as_str(), false),
            Expect::CopyOf(original) => (false, *original, false),
            Expect::NoIndexCopyOf(original) => (true, *original, false),
        };
        assert_eq!(is_noindex(&html), noindex, "{url}: noindex");
        assert_eq!(canonical(&html), format!("{BASE}{canonical_to}"), "{url}");
        assert_eq!(sitemap.contains(url), listed, "{url}: in the sitemap");
        // Every page keeps its hreflang pairs, so the language switcher and search engines
        // still connect the languages of a `noindex` page.
        let alternates = alternates(&html);
        let langs: Vec<&str> = alternates.iter().map(|(l, _)| l.as_str()).collect();
        assert_eq!(langs, ["kk", "ru", "x-default"], "{url}: hreflang");
    }

    // The current policy's permanent copy carries the current policy's alternates, so its
    // signals agree with its canonical.
    let versioned = read(site.path(), "kk/privacy/2/index.html");
    let current = read(site.path(), "kk/privacy/index.html");
    assert_eq!(alternates(&versioned), alternates(&current));
    // Result pages pair with each other in the other language.
    let thanks = alternates(&read(site.path(), "ru/thanks/index.html"));
    assert!(thanks.contains(&("kk".to_owned(), format!("{BASE}/kk/thanks/"))));

    assert_permissive_robots(&read(site.path(), "robots.txt"));
}

/// The rule a search engine relies on, for every page of a built site: a page is in the
/// sitemap exactly when it has no `noindex` and is its own canonical.
fn assert_sitemap_agrees_with_every_head(out: &Path) {
    let base = std::fs::read_to_string(out.join("robots.txt"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("Sitemap: "))
        .and_then(|l| l.strip_suffix("/sitemap.xml"))
        .unwrap()
        .to_owned();
    let sitemap = sitemap_locs(
        &std::fs::read_to_string(out.join("sitemap.xml")).unwrap(),
        &base,
    );
    let mut pages = 0;
    for file in html_files(out) {
        let html = std::fs::read_to_string(out.join(&file)).unwrap();
        let canonical = canonical(&html);
        let url = canonical.strip_prefix(&base).unwrap();
        let own = file_of(url) == file;
        let content = own && !is_noindex(&html);
        let listed = own && sitemap.contains(url);
        assert_eq!(
            content, listed,
            "{file}: in the sitemap exactly when it is content"
        );
        pages += 1;
    }
    let files: BTreeSet<String> = sitemap.iter().map(|u| file_of(u)).collect();
    for file in &files {
        assert!(
            out.join(file).is_file(),
            "the sitemap lists {file}, which is not built"
        );
    }
    assert!(
        pages > files.len(),
        "some pages are left out of the sitemap"
    );
}

fn assert_permissive_robots(robots: &str) {
    assert!(robots.starts_with("User-agent: *\nAllow: /\n"), "{robots}");
    assert!(!robots.contains("Disallow"), "{robots}");
}

#[test]
fn the_sitemap_agrees_with_every_page_head() {
    let site = site_with_every_page_kind();
    build(site.path()).unwrap();
    assert_sitemap_agrees_with_every_head(&site.path().join("public"));
}

/// The repository's own site: its result and not-found pages say `noindex = true`, and the
/// sitemap agrees with every page's head.
#[test]
fn the_real_site_indexes_only_its_content() {
    let out = tempfile::tempdir().unwrap();
    let public = build_real_site(&out.path().join("public")).output;
    assert_sitemap_agrees_with_every_head(&public);
    for lang in LANGUAGES {
        for page in [
            "thanks/index.html",
            "error/index.html",
            "confirmed/index.html",
            "confirm-error/index.html",
            "404.html",
        ] {
            let html = std::fs::read_to_string(public.join(lang).join(page)).unwrap();
            assert!(is_noindex(&html), "{lang}/{page}");
        }
        for page in ["index.html", "privacy/index.html", "contact/index.html"] {
            let html = std::fs::read_to_string(public.join(lang).join(page)).unwrap();
            assert!(!is_noindex(&html), "{lang}/{page}");
        }
    }
    assert_permissive_robots(&std::fs::read_to_string(public.join("robots.txt")).unwrap());
}

/// `noindex = false` in the front matter makes a page content again, whatever its kind.
#[test]
fn front_matter_overrides_the_kind_default() {
    let site = fixture_site();
    let path = site.path().join("content/kk/thanks.md");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replacen("+++\n", "+++\nnoindex = false\n", 1)).unwrap();
    build(site.path()).unwrap();
    let sitemap = sitemap_locs(&read(site.path(), "sitemap.xml"), BASE);
    assert!(!is_noindex(&read(site.path(), "kk/thanks/index.html")));
    assert!(sitemap.contains("/kk/thanks/"));
    assert!(is_noindex(&read(site.path(), "ru/thanks/index.html")));
    assert!(!sitemap.contains("/ru/thanks/"));
}
