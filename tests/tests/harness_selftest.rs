//! Proves the quality gates can fail: each checker is run on a deliberately bad hand-written
//! page and must find the known fault, and on a clean page must find nothing. Without this a
//! gate that silently checks nothing would look exactly like a site that passes.

#![allow(clippy::unwrap_used)]

use std::io::{Read, Write};
use std::path::Path;

use anyhow::{Context, Result};
use kelisim_tests::{Browser, Javascript, SiteServer, Viewport, axe, foreign_references, vnu};

/// A small page that conforms to HTML and to axe's default rules.
const GOOD_PAGE: &str = r#"<!doctype html>
<html lang="kk">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Жақсы бет</title>
</head>
<body>
<header><p>Kelisim</p></header>
<main>
<h1>Құпиялық саясаты</h1>
<p>Бұл бет тек тексеруге арналған.</p>
<p><a href="https://woow.kz/">woow.kz</a></p>
</main>
</body>
</html>
"#;

/// A page with faults both checkers know: no `lang`, an image without `alt`, a stray end tag.
const BAD_PAGE: &str = r#"<!doctype html>
<html>
<head><meta charset="utf-8"><title>Bad</title></head>
<body>
<main>
<h1>Bad page</h1>
<img src="/pixel.png">
<p>Unclosed paragraph</span>
</main>
</body>
</html>
"#;

fn write(dir: &Path, name: &str, text: &str) -> Result<()> {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&path, text).with_context(|| path.display().to_string())
}

fn site() -> Result<tempfile::TempDir> {
    let dir = tempfile::tempdir()?;
    write(dir.path(), "good.html", GOOD_PAGE)?;
    write(dir.path(), "bad.html", BAD_PAGE)?;
    Ok(dir)
}

#[test]
fn vnu_reports_errors_in_invalid_html_and_none_in_valid_html() -> Result<()> {
    let dir = site()?;
    let good = dir.path().join("good.html");
    let bad = dir.path().join("bad.html");

    let errors = vnu(&[good.clone(), bad.clone()])?;

    assert!(
        errors.iter().all(|e| e.file == bad),
        "the valid page got errors:\n{}",
        kelisim_tests::vnu::report(&errors)
    );
    let stray = errors
        .iter()
        .find(|e| e.message.contains("Stray end tag"))
        .with_context(|| kelisim_tests::vnu::report(&errors))?;
    assert_eq!(
        stray.line,
        Some(8),
        "error line should point at the stray </span>"
    );
    assert!(
        errors.iter().any(|e| e.message.contains("alt")),
        "vnu should require alt on <img>:\n{}",
        kelisim_tests::vnu::report(&errors)
    );
    Ok(())
}

#[tokio::test]
async fn axe_reports_violations_on_a_bad_page_and_none_on_a_good_page() -> Result<()> {
    let dir = site()?;
    let server = SiteServer::serve(dir.path())?;
    let browser = Browser::launch(Viewport::Desktop, Javascript::Enabled).await?;

    browser.goto(&server.url("/bad.html")).await?;
    let bad = axe(&browser).await?;
    let ids: Vec<&str> = bad.iter().map(|v| v.id.as_str()).collect();
    assert!(ids.contains(&"html-has-lang"), "found only {ids:?}");
    assert!(ids.contains(&"image-alt"), "found only {ids:?}");
    let image_alt = bad.iter().find(|v| v.id == "image-alt").unwrap();
    assert!(
        image_alt.to_string().contains("<img src=\"/pixel.png\">"),
        "the report should show the failing element:\n{image_alt}"
    );

    browser.goto(&server.url("/good.html")).await?;
    let good = axe(&browser).await?;
    assert!(
        good.is_empty(),
        "{}",
        kelisim_tests::axe::report("good.html", &good)
    );
    browser.close().await?;
    Ok(())
}

#[tokio::test]
async fn third_party_check_reports_foreign_loads_but_not_links() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let server = SiteServer::serve(dir.path())?;
    // `localhost` and `127.0.0.1` are different origins, so the page can load a "third-party"
    // file from this same server without any traffic leaving the machine.
    let other_origin = server.origin().replace("127.0.0.1", "localhost");
    write(dir.path(), "style.css", "body { color: #111; }")?;
    write(
        dir.path(),
        "page.html",
        &format!(
            r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>t</title>
<link rel="canonical" href="https://woow.kz/kk/">
<link rel="alternate" hreflang="ru" href="https://woow.kz/ru/">
<link rel="stylesheet" href="/style.css">
<link rel="stylesheet" href="{other_origin}/style.css">
</head><body><main><a href="https://woow.kz/">woow</a>
<img alt="" src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">
<img alt="" loading="lazy" style="margin-top:5000px" src="{other_origin}/lazy.png">
</main></body></html>"#
        ),
    )?;
    write(dir.path(), "clean.html", GOOD_PAGE)?;

    let browser = Browser::launch(Viewport::Desktop, Javascript::Enabled).await?;
    browser.goto(&server.url("/page.html")).await?;
    let found = foreign_references(&browser).await?;
    let described: Vec<String> = found.iter().map(ToString::to_string).collect();
    let css = format!("{other_origin}/style.css");
    assert!(
        found.iter().any(|f| f.source == "resource" && f.url == css),
        "the cross-origin stylesheet request was not seen: {described:?}"
    );
    assert!(
        found
            .iter()
            .any(|f| f.source.starts_with("link[href]") && f.url == css),
        "the cross-origin <link> was not seen: {described:?}"
    );
    assert!(
        found
            .iter()
            .any(|f| f.source == "img[src]" && f.url.ends_with("/lazy.png")),
        "the lazy image (not yet fetched) was not seen: {described:?}"
    );
    assert!(
        !found.iter().any(|f| f.url.contains("woow.kz")),
        "links and non-fetching <link>s are not third-party loads: {described:?}"
    );

    browser.goto(&server.url("/clean.html")).await?;
    let clean = foreign_references(&browser).await?;
    assert!(clean.is_empty(), "clean page: {clean:?}");
    browser.close().await?;
    Ok(())
}

#[tokio::test]
async fn javascript_can_be_disabled_per_session() -> Result<()> {
    let dir = tempfile::tempdir()?;
    write(
        dir.path(),
        "js.html",
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>js</title>
<script>document.documentElement.dataset.ran = "yes";</script></head>
<body><main><noscript><p id="nojs">no script</p></noscript></main></body></html>"#,
    )?;
    let server = SiteServer::serve(dir.path())?;
    let script = "return document.documentElement.dataset.ran || null;";

    let with_js = Browser::launch(Viewport::Phone, Javascript::Enabled).await?;
    with_js.goto(&server.url("/js.html")).await?;
    let ran: Option<String> = with_js.eval(script, vec![]).await?;
    assert_eq!(ran.as_deref(), Some("yes"));
    with_js.close().await?;

    let without_js = Browser::launch(Viewport::Phone, Javascript::Disabled).await?;
    without_js.goto(&server.url("/js.html")).await?;
    let ran: Option<String> = without_js.eval(script, vec![]).await?;
    assert_eq!(
        ran, None,
        "the page's own script ran with JavaScript disabled"
    );
    let noscript_shown: bool = without_js
        .eval("return document.getElementById('nojs') !== null;", vec![])
        .await?;
    assert!(
        noscript_shown,
        "<noscript> content should be in the DOM without JavaScript"
    );
    without_js.close().await?;
    Ok(())
}

/// A clicked download lands in the session's own folder, under the link's name, with or
/// without the page's scripts; a download that never happens is reported, not waited on
/// forever.
#[tokio::test]
async fn a_clicked_download_lands_in_the_sessions_folder() -> Result<()> {
    let dir = tempfile::tempdir()?;
    write(
        dir.path(),
        "download.html",
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>download</title>
</head><body><main><a id="file" href="data:text/plain,one%20two" download="note.txt">note</a>
</main></body></html>"#,
    )?;
    let server = SiteServer::serve(dir.path())?;
    for javascript in [Javascript::Enabled, Javascript::Disabled] {
        let browser = Browser::launch(Viewport::Phone, javascript).await?;
        browser.goto(&server.url("/download.html")).await?;
        browser
            .client()
            .find(fantoccini::Locator::Id("file"))
            .await?
            .click()
            .await?;
        let file = browser
            .wait_for_download("note.txt", std::time::Duration::from_secs(10))
            .await?;
        assert_eq!(std::fs::read_to_string(&file)?, "one two", "{javascript:?}");
        assert!(file.starts_with(browser.downloads()));
        let missing = browser
            .wait_for_download("never.txt", std::time::Duration::from_millis(300))
            .await;
        assert!(missing.is_err(), "a download that never came is an error");
        browser.close().await?;
    }
    Ok(())
}

#[tokio::test]
async fn viewports_have_their_css_size_and_screenshots_cover_the_whole_page() -> Result<()> {
    let dir = tempfile::tempdir()?;
    write(
        dir.path(),
        "tall.html",
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>tall</title>
<style>body{margin:0} main{height:2500px;background:linear-gradient(#fff,#036)}</style></head>
<body><main><h1>Tall</h1></main></body></html>"#,
    )?;
    let server = SiteServer::serve(dir.path())?;

    for viewport in Viewport::ALL {
        let browser = Browser::launch(viewport, Javascript::Enabled).await?;
        browser.goto(&server.url("/tall.html")).await?;
        let (w, h): (u32, u32) = browser
            .eval("return [window.innerWidth, window.innerHeight];", vec![])
            .await?;
        assert_eq!((w, h), viewport.size(), "{viewport:?}");

        let page_height: u32 = browser
            .eval("return document.documentElement.scrollHeight;", vec![])
            .await?;
        assert!(page_height >= 2500, "page is {page_height} px tall");

        let path = kelisim_tests::save_screenshot(&browser, "harness", "tall").await?;
        let (png_w, png_h) = png_size(&path)?;
        assert_eq!(png_w, viewport.size().0, "{}", path.display());
        assert_eq!(png_h, page_height, "{}: not the full page", path.display());
        let (w, h): (u32, u32) = browser
            .eval("return [window.innerWidth, window.innerHeight];", vec![])
            .await?;
        assert_eq!(
            (w, h),
            viewport.size(),
            "window not restored after screenshot"
        );
        browser.close().await?;
    }
    Ok(())
}

/// Width and height from a PNG's IHDR chunk (bytes 16..24, big-endian).
fn png_size(path: &Path) -> Result<(u32, u32)> {
    let bytes = std::fs::read(path)?;
    anyhow::ensure!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    let word = |at: usize| -> Result<u32> {
        let raw: [u8; 4] = bytes.get(at..at + 4).context("short PNG")?.try_into()?;
        Ok(u32::from_be_bytes(raw))
    };
    Ok((word(16)?, word(20)?))
}

#[test]
fn site_server_maps_directories_to_index_and_answers_404_with_the_site_page() -> Result<()> {
    let dir = tempfile::tempdir()?;
    write(dir.path(), "kk/index.html", "<p>kk home</p>")?;
    write(dir.path(), "404.html", "<p>not here</p>")?;
    let server = SiteServer::serve(dir.path())?;

    let file = dir.path().join("kk").join("index.html");
    assert_eq!(server.url_of_file(&file), Some(server.url("/kk/")));

    let (status, body) = http_get(&server, "/kk/")?;
    assert_eq!(status, 200);
    assert!(body.contains("kk home"));
    let (status, body) = http_get(&server, "/nope/")?;
    assert_eq!(status, 404);
    assert!(body.contains("not here"));
    Ok(())
}

/// A bare HTTP/1.0 GET, enough to check status and body without another HTTP client crate.
fn http_get(server: &SiteServer, path: &str) -> Result<(u16, String)> {
    let host = server.origin().trim_start_matches("http://").to_string();
    let mut stream = std::net::TcpStream::connect(&host)?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n")?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let status = response
        .split_whitespace()
        .nth(1)
        .context("no status line")?
        .parse()?;
    Ok((status, response))
}
