//! Quality gates on the real built site, in a real headless Chromium: valid HTML (vnu), no axe
//! violations, nothing loaded from third parties, no sideways scrolling on a phone, a working
//! language switcher and policy table of contents, and screenshots for a person to look at.

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

use anyhow::{Context, Result, anyhow};
use fantoccini::Locator;
use kelisim_tests::site::build_real_site;
use kelisim_tests::{
    Browser, Javascript, SiteServer, Viewport, axe, foreign_references, save_screenshot, vnu,
};
use serde_json::json;

/// The site's languages (site.toml), default first.
const LANGUAGES: [&str; 2] = ["kk", "ru"];

/// The output folder of a built site and its HTML pages.
type BuiltSite = (PathBuf, Vec<PathBuf>);

/// The built site, shared by every test in this binary: built once, into cargo's per-target
/// scratch folder, so nothing is left in /tmp.
fn site() -> Result<BuiltSite> {
    static SITE: OnceLock<Mutex<Option<BuiltSite>>> = OnceLock::new();
    let cell = SITE.get_or_init(|| Mutex::new(None));
    let mut guard = cell
        .lock()
        .map_err(|_| anyhow!("site build lock poisoned"))?;
    if let Some(site) = guard.as_ref() {
        return Ok(site.clone());
    }
    let output = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("site-quality");
    let pages = build_real_site(&output).context("building the site")?;
    *guard = Some((output.clone(), pages.clone()));
    Ok((output, pages))
}

#[test]
fn every_page_is_valid_html() -> Result<()> {
    let (_, pages) = site()?;
    let errors = vnu(&pages)?;
    assert!(errors.is_empty(), "{}", kelisim_tests::vnu::report(&errors));
    Ok(())
}

/// axe and the third-party check on every page, at both widths (some rules, like target size
/// and reflow, depend on the layout).
#[tokio::test]
async fn every_page_passes_axe_and_loads_nothing_from_third_parties() -> Result<()> {
    let (root, pages) = site()?;
    let server = SiteServer::serve(&root)?;
    let mut problems = String::new();
    let mut checked = 0;
    for viewport in Viewport::ALL {
        let browser = Browser::launch(viewport, Javascript::Enabled).await?;
        for page in &pages {
            let url = server
                .url_of_file(page)
                .with_context(|| format!("no URL for {}", page.display()))?;
            browser.goto(&url).await?;
            let label = format!("{url} ({})", viewport.name());
            let violations = axe(&browser).await?;
            if !violations.is_empty() {
                problems.push_str(&kelisim_tests::axe::report(&label, &violations));
            }
            let foreign = foreign_references(&browser).await?;
            for reference in &foreign {
                problems.push_str(&format!("third-party reference on {label}: {reference}\n"));
            }
            checked += 1;
        }
        browser.close().await?;
    }
    assert_eq!(checked, pages.len() * 2);
    assert!(problems.is_empty(), "{problems}");
    Ok(())
}

/// Home, policy and contact in each language at phone and desktop width: a full-page PNG in
/// `artifacts/screenshots/`, and no content wider than the screen.
#[tokio::test]
async fn key_pages_fit_the_screen_and_are_captured() -> Result<()> {
    let (root, _) = site()?;
    let server = SiteServer::serve(&root)?;
    let mut problems = Vec::new();
    for viewport in Viewport::ALL {
        let browser = Browser::launch(viewport, Javascript::Enabled).await?;
        for lang in LANGUAGES {
            for (page, path) in [
                ("home", format!("/{lang}/")),
                ("policy", format!("/{lang}/privacy/")),
                ("contact", format!("/{lang}/contact/")),
            ] {
                browser.goto(&server.url(&path)).await?;
                let (scroll_width, inner_width): (u32, u32) = browser
                    .eval(
                        "return [document.documentElement.scrollWidth, window.innerWidth];",
                        vec![],
                    )
                    .await?;
                if scroll_width > inner_width {
                    problems.push(format!(
                        "{path} at {}: content is {scroll_width} px wide in a {inner_width} px \
                         viewport (sideways scrolling)",
                        viewport.name()
                    ));
                }
                let shot = save_screenshot(&browser, lang, page).await?;
                let size = std::fs::metadata(&shot)?.len();
                assert!(size > 1_000, "{} is only {size} bytes", shot.display());
            }
        }
        browser.close().await?;
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    Ok(())
}

/// The language switcher leads to the same page in the other language.
#[tokio::test]
async fn language_switcher_opens_the_same_page_in_the_other_language() -> Result<()> {
    let (root, _) = site()?;
    let server = SiteServer::serve(&root)?;
    let browser = Browser::launch(Viewport::Phone, Javascript::Enabled).await?;
    for (from, to) in [("kk", "ru"), ("ru", "kk")] {
        for page in ["", "privacy/", "contact/"] {
            let start = format!("/{from}/{page}");
            browser.goto(&server.url(&start)).await?;
            let switcher = format!("nav.languages a[hreflang=\"{to}\"]");
            browser
                .client()
                .find(Locator::Css(&switcher))
                .await
                .with_context(|| format!("no `{switcher}` on {start}"))?
                .click()
                .await?;
            let expected = server.url(&format!("/{to}/{page}"));
            wait_for_url(&browser, &expected).await?;
            let lang: String = browser
                .eval("return document.documentElement.lang;", vec![])
                .await?;
            assert_eq!(lang, to, "<html lang> after switching from {start}");
        }
    }
    browser.close().await?;
    Ok(())
}

/// A table-of-contents link on the policy moves the reader to that section (plain anchors, so
/// this is checked with JavaScript off, too).
#[tokio::test]
async fn policy_table_of_contents_links_scroll_to_their_section() -> Result<()> {
    let (root, _) = site()?;
    let server = SiteServer::serve(&root)?;
    for javascript in [Javascript::Enabled, Javascript::Disabled] {
        let browser = Browser::launch(Viewport::Phone, javascript).await?;
        for lang in LANGUAGES {
            let policy = server.url(&format!("/{lang}/privacy/"));
            browser.goto(&policy).await?;
            let link = browser
                .client()
                .find(Locator::Css("nav.toc a[href=\"#section-3\"]"))
                .await
                .with_context(|| format!("no table-of-contents link to #section-3 on {policy}"))?;
            link.click().await?;
            wait_for_url(&browser, &format!("{policy}#section-3")).await?;
            let top: Option<f64> = browser
                .eval(
                    "const el = document.getElementById(arguments[0]); \
                     return el ? el.getBoundingClientRect().top : null;",
                    vec![json!("section-3")],
                )
                .await?;
            let top = top.with_context(|| format!("no element #section-3 on {policy}"))?;
            // The heading is at the top of the viewport, give or take a scroll margin.
            assert!(
                (-2.0..=64.0).contains(&top),
                "{policy}#section-3 ({javascript:?}): heading is {top} px from the top"
            );
        }
        browser.close().await?;
    }
    Ok(())
}

/// Waits up to 5 s for a navigation (a click returns before the new page is current).
async fn wait_for_url(browser: &Browser, expected: &str) -> Result<()> {
    let mut current = String::new();
    for _ in 0..50 {
        current = browser.current_url().await?;
        let ready: bool = browser
            .eval("return document.readyState === 'complete';", vec![])
            .await?;
        if current == expected && ready {
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    Err(anyhow!("expected to be at {expected}, still at {current}"))
}

/// Issue #11: the Content-Security-Policy production sends (`kelisim_relay::security_headers`:
/// `default-src 'self'`, no inline script or style) holds on every built page. The test
/// server sends it with a `report-uri`; a control page that breaks it on purpose shows that
/// Chromium reports violations here, and then no page of the site may have caused one.
#[tokio::test]
async fn every_page_satisfies_the_content_security_policy() -> Result<()> {
    use kelisim_tests::site_server::{CSP_CONTROL_PATH, CSP_REPORT_PATH};

    let (root, pages) = site()?;
    let server = SiteServer::serve_with_csp(&root)?;
    let browser = Browser::launch(Viewport::Phone, Javascript::Enabled).await?;
    for page in &pages {
        let url = server
            .url_of_file(page)
            .with_context(|| format!("no URL for {}", page.display()))?;
        browser.goto(&url).await?;
    }
    browser.goto(&server.url(CSP_CONTROL_PATH)).await?;
    let title: String = browser.eval("return document.title;", vec![]).await?;
    browser.close().await?;
    assert_eq!(
        title, "CSP control",
        "the policy blocked the control's inline script"
    );
    // Reports travel on their own request after the page loaded: wait for the control's,
    // which the pages' reports (sent earlier) precede. Bounded, so a browser that never
    // reports fails with a reason instead of hanging.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !server
        .csp_reports()
        .iter()
        .any(|r| r.contains(CSP_CONTROL_PATH))
    {
        assert!(
            std::time::Instant::now() < deadline,
            "Chromium posted no CSP report for {CSP_CONTROL_PATH} to {CSP_REPORT_PATH}: \
             the check cannot see violations"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let violations: Vec<String> = server
        .csp_reports()
        .into_iter()
        .filter(|r| !r.contains(CSP_CONTROL_PATH))
        .collect();
    assert!(
        violations.is_empty(),
        "{} of {} pages broke the CSP:\n{}",
        violations.len(),
        pages.len(),
        violations.join("\n")
    );
    Ok(())
}

/// The HTML documents the consent manifest carries for the relay (the pages a mailed
/// confirmation link opens, the thank-you page with its receipt link), filled in the way the
/// relay fills them: valid HTML, no axe violations, nothing loaded from third parties.
#[tokio::test]
async fn the_relays_documents_filled_in_are_valid_and_pass_axe() -> Result<()> {
    use kelisim_manifest::{ConsentManifest, RECEIPT_URL_PLACEHOLDER, TOKEN_PLACEHOLDER};

    let (root, _) = site()?;
    let manifest = ConsentManifest::from_path(&root.join("consent-manifest.json"))?;
    let dir = root.join("__relay-documents");
    let mut files = Vec::new();
    for (lang, language) in &manifest.languages {
        for (name, page) in [
            ("grant", &language.grant_link_page),
            ("request", &language.request_link_page),
            ("thanks", &language.thanks_page),
        ] {
            let page = page
                .as_deref()
                .with_context(|| format!("{lang}: no {name} page in the manifest"))?;
            let filled = page
                .replace(TOKEN_PLACEHOLDER, "AAEC.eyJzdWIiOiJ4In0.c2lnbmF0dXJl")
                // As the relay fills it: the receipt itself in a `data:` URL.
                .replace(
                    RECEIPT_URL_PLACEHOLDER,
                    "data:application/jose;charset=us-ascii,eyJhbGciOiJFZERTQSJ9.eyJ4IjoxfQ.c2ln",
                );
            let file = dir.join(format!("{name}-{lang}")).join("index.html");
            std::fs::create_dir_all(file.parent().context("a folder")?)?;
            std::fs::write(&file, filled)?;
            files.push(file);
        }
    }
    let errors = vnu(&files)?;
    assert!(errors.is_empty(), "{}", kelisim_tests::vnu::report(&errors));

    let server = SiteServer::serve(&root)?;
    let browser = Browser::launch(Viewport::Phone, Javascript::Enabled).await?;
    let mut problems = String::new();
    for file in &files {
        let url = server
            .url_of_file(file)
            .with_context(|| format!("no URL for {}", file.display()))?;
        browser.goto(&url).await?;
        let violations = axe(&browser).await?;
        if !violations.is_empty() {
            problems.push_str(&kelisim_tests::axe::report(&url, &violations));
        }
        for reference in foreign_references(&browser).await? {
            problems.push_str(&format!("third-party reference on {url}: {reference}\n"));
        }
    }
    browser.close().await?;
    assert!(problems.is_empty(), "{problems}");
    Ok(())
}
