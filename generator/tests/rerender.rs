//! The preview's fast path (`kelisim::serve::rerender`): a body-only edit re-renders the
//! edited pages and gives exactly the site a full build of the same sources gives; any other
//! edit is left to a full build. Part of `serve`, so only with that feature (a default one).
#![cfg(feature = "serve")]
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use crate::support::*;
use kelisim::BuiltSite;
use kelisim::build::{BuildOptions, render_site_until};

fn load(root: &Path) -> (kelisim::build::LoadedSite, BuiltSite) {
    render_site_until(&BuildOptions::new(root), &Arc::new(AtomicBool::new(false))).unwrap()
}

fn edit(root: &Path, rel: &str, from: &str, to: &str) {
    let path = root.join(rel);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "{rel} has no {from:?}");
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}

/// Every file of `a` and `b`, compared byte for byte.
fn assert_same_site(a: &BuiltSite, b: &BuiltSite) {
    let paths_a: Vec<&str> = a.paths().collect();
    let paths_b: Vec<&str> = b.paths().collect();
    assert_eq!(paths_a, paths_b);
    for path in paths_a {
        assert!(a.file(path) == b.file(path), "{path} differs");
    }
}

#[test]
fn a_body_edit_rerenders_only_that_page_and_equals_a_full_build() {
    let site = fixture_site();
    let root = site.path();
    let (mut loaded, before) = load(root);
    let page = "content/kk/404.md";
    let text = std::fs::read_to_string(root.join(page)).unwrap();
    std::fs::write(root.join(page), format!("{text}\nЖаңа жол: **өзгеріс**.\n")).unwrap();

    let fast = kelisim::serve::rerender::body_edits(&mut loaded, &before, root, &[root.join(page)])
        .expect("a body edit takes the fast path");
    assert_eq!(fast.pages, 1);
    let (_, full) = load(root);
    assert_same_site(&fast.site, &full);
    // The default language's not-found page is also /404.html: both copies changed.
    let html = String::from_utf8(fast.site.file("404.html").unwrap().to_vec()).unwrap();
    assert!(html.contains("<strong>өзгеріс</strong>"), "{html}");
    assert!(before.file("404.html") != fast.site.file("404.html"));

    // A second edit of the same page builds on the first.
    edit(root, page, "өзгеріс", "екінші өзгеріс");
    let again =
        kelisim::serve::rerender::body_edits(&mut loaded, &fast.site, root, &[root.join(page)])
            .unwrap();
    let (_, full) = load(root);
    assert_same_site(&again.site, &full);
}

#[test]
fn front_matter_policy_contact_and_unknown_files_are_left_to_a_full_build() {
    let site = fixture_site();
    let root = site.path();
    let (mut loaded, built) = load(root);
    let mut not_taken = |rel: &str, from: &str, to: &str| {
        let before = std::fs::read_to_string(root.join(rel)).unwrap();
        edit(root, rel, from, to);
        let taken =
            kelisim::serve::rerender::body_edits(&mut loaded, &built, root, &[root.join(rel)]);
        assert!(taken.is_none(), "{rel}: {from} -> {to}");
        std::fs::write(root.join(rel), before).unwrap();
    };
    // A title is in the switcher, the sitemap and other pages' links.
    not_taken("content/ru/404.md", "title = \"", "title = \"Новый ");
    // The policy's text is hashed into the manifest; the contact page's labels are read from it.
    let policy = std::fs::read_to_string(root.join("content/kk/privacy.md")).unwrap();
    let last = policy.lines().last().unwrap().to_owned();
    not_taken("content/kk/privacy.md", &last, &format!("{last} ӨЗГЕРІС"));
    let contact = std::fs::read_to_string(root.join("content/ru/contact.md")).unwrap();
    let last = contact.lines().last().unwrap().to_owned();
    not_taken("content/ru/contact.md", &last, &format!("{last} Изменение"));
    // A broken front matter: the full build reports it with its line.
    not_taken("content/kk/404.md", "+++\n", "++\n");

    // A file that is no page (a template) is not taken either.
    let template = root.join("themes/default/templates/page.html");
    assert!(kelisim::serve::rerender::body_edits(&mut loaded, &built, root, &[template]).is_none());
    // One edit not taken leaves the model untouched for the others.
    let (_, full) = load(root);
    assert_same_site(&built, &full);
}

#[test]
fn a_template_edit_rerenders_the_pages_that_use_it_and_equals_a_full_build() {
    let site = fixture_site();
    let root = site.path();
    let (mut loaded, mut current) = load(root);
    for (template, marker) in [
        (
            "themes/default/templates/form-error.html",
            "<!-- form error edited -->",
        ),
        // page.html also renders the policy's "what changed" pages.
        ("themes/default/templates/page.html", "<!-- page edited -->"),
        ("themes/default/templates/404.html", "<!-- 404 edited -->"),
    ] {
        let text = std::fs::read_to_string(root.join(template)).unwrap();
        // Inside the last block (outside them a child template renders nothing); a template
        // that only extends the base gets a block of its own around the base's.
        let edited = match text.rfind("endblock") {
            Some(end) => {
                let at = text[..end].rfind("{%").unwrap();
                format!("{}{marker}\n{}", &text[..at], &text[at..])
            }
            None => {
                format!("{text}{{% block main %}}{marker}{{{{ super() }}}}{{% endblock main %}}\n")
            }
        };
        std::fs::write(root.join(template), edited).unwrap();

        let fast =
            kelisim::serve::rerender::edits(&mut loaded, &current, root, &[root.join(template)])
                .unwrap_or_else(|| panic!("{template}: not taken"));
        assert!(fast.pages >= 1, "{template}");
        let (_, full) = load(root);
        assert_same_site(&fast.site, &full);
        let marked = full
            .paths()
            .filter(|p| {
                std::str::from_utf8(full.file(p).unwrap()).is_ok_and(|t| t.contains(marker))
            })
            .count();
        assert!(marked >= fast.pages, "{template}: {marked} pages show it");
        // The next edit starts from this one.
        current = fast.site;
    }
}

#[test]
fn a_base_template_partial_contact_or_policy_template_edit_takes_a_full_build() {
    let site = fixture_site();
    let root = site.path();
    let (mut loaded, built) = load(root);
    for template in [
        "base.html",
        "_field.html",
        "_languages.html",
        "contact.html",
        "policy.html",
        "chooser.html",
        // The thank-you page is also the relay's receipt page, in the manifest.
        "thanks.html",
    ] {
        let path = root.join("themes/default/templates").join(template);
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, format!("{text}\n")).unwrap();
        assert!(
            kelisim::serve::rerender::edits(&mut loaded, &built, root, std::slice::from_ref(&path))
                .is_none(),
            "{template}"
        );
        std::fs::write(&path, text).unwrap();
    }
}

#[test]
fn a_string_edit_rerenders_the_pages_that_formatted_it_and_equals_a_full_build() {
    let site = fixture_site();
    let root = site.path();
    let (mut loaded, built) = load(root);
    let strings = root.join("locales/kk/main.ftl");
    let text = std::fs::read_to_string(&strings).unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with("error-details-title ="))
        .unwrap()
        .to_owned();
    std::fs::write(
        &strings,
        text.replacen(&line, "error-details-title = Жаңа тақырып", 1),
    )
    .unwrap();

    let fast =
        kelisim::serve::rerender::edits(&mut loaded, &built, root, std::slice::from_ref(&strings))
            .expect("a string only the error pages use takes the fast path");
    // The pages that formatted the message id (the error pages; the id is tracked across
    // languages), nothing else.
    assert!((1..=2).contains(&fast.pages), "{}", fast.pages);
    let (_, full) = load(root);
    assert_same_site(&fast.site, &full);
    let html = std::str::from_utf8(full.file("kk/error/index.html").unwrap()).unwrap();
    assert!(html.contains("Жаңа тақырып"));

    // A string formatted outside a page's own render (the site name is in every page's
    // common context), a term, the relay's file, or a message another one refers to: full build.
    let (mut loaded, built) = load(root);
    let mut not_taken = |rel: &str, edit: &dyn Fn(&str) -> String| {
        let path = root.join(rel);
        let before = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, edit(&before)).unwrap();
        let taken =
            kelisim::serve::rerender::edits(&mut loaded, &built, root, std::slice::from_ref(&path));
        std::fs::write(&path, &before).unwrap();
        assert!(taken.is_none(), "{rel}");
    };
    not_taken("locales/kk/main.ftl", &|t: &str| {
        t.replacen("site-name = ", "site-name = X", 1)
    });
    not_taken("locales/kk/main.ftl", &|t: &str| {
        format!("{t}\n-brand = Woow\n")
    });
    not_taken("locales/kk/relay.ftl", &|t: &str| {
        t.replacen("relay-field-required = ", "relay-field-required = X", 1)
    });
    not_taken("locales/kk/main.ftl", &|t: &str| {
        format!("{t}\nx-uses-title = {{ error-details-title }}\n").replacen(
            "error-details-title = ",
            "error-details-title = X",
            1,
        )
    });
}

#[test]
fn a_save_by_rename_is_an_edit_and_a_removed_page_or_folder_takes_a_full_build() {
    let site = fixture_site();
    let root = site.path();
    let (mut loaded, built) = load(root);
    // An editor (or `sed -i`) writes a temporary file and renames it over the page: the
    // watcher names both, and the temporary one is gone by now.
    let page = root.join("content/kk/404.md");
    let temp = root.join("content/kk/.sedA1b2C3");
    let text = std::fs::read_to_string(&page).unwrap();
    std::fs::write(&temp, format!("{text}\nАуыстырылған.\n")).unwrap();
    std::fs::rename(&temp, &page).unwrap();
    let vim_probe = root.join("content/kk/4913");
    let fast = kelisim::serve::rerender::edits(
        &mut loaded,
        &built,
        root,
        &[temp, page.clone(), vim_probe],
    )
    .expect("a save by rename takes the fast path");
    assert_eq!(fast.pages, 1);
    let (_, full) = load(root);
    assert_same_site(&fast.site, &full);

    // A page that is gone, or a folder of pages that is gone: the full build.
    let (mut loaded, built) = load(root);
    let gone = root.join("content/kk/biz-turaly.md");
    let moved = root.join("gone.md");
    std::fs::rename(&gone, &moved).unwrap();
    assert!(
        kelisim::serve::rerender::edits(&mut loaded, &built, root, std::slice::from_ref(&gone))
            .is_none()
    );
    std::fs::rename(&moved, &gone).unwrap();
    std::fs::create_dir_all(root.join("content/kk/bolim")).unwrap();
    std::fs::write(
        root.join("content/kk/bolim/bet.md"),
        "+++\ntitle = \"Бет\"\n+++\n\nМәтін.\n",
    )
    .unwrap();
    let (mut loaded, built) = load(root);
    std::fs::rename(root.join("content/kk/bolim"), root.join("bolim-moved")).unwrap();
    let folder = root.join("content/kk/bolim");
    assert!(kelisim::serve::rerender::edits(&mut loaded, &built, root, &[folder]).is_none());
}
