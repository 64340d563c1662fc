//! The operator's console end to end in a real headless Chromium, in Kazakh and in Russian
//! (issue #17). Records and an erasure request are made through the relay's real form and
//! request form (`console_seed`); then `kelisim-relay console` runs on that SQLite file, and
//! the operator opens the printed link (a second read is refused), reads a message and marks
//! it answered (it leaves the inbox), carries out the erasure request from its page (plan,
//! then confirm) and closes it, downloads the mailing list as CSV (parsed with Python's `csv`
//! module), and stops the console. The record is gone from the file and the audit log names
//! the operator. Every console page passes axe and vnu; the inbox, a record, the requests and
//! the deliveries are captured at phone and desktop widths.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use fantoccini::Locator;
use kelisim_relay::domain::audit::AuditAction;
use kelisim_relay::store::sqlite::SqliteStore;
use kelisim_relay::store::{RecordStore, RightsLog};
use kelisim_tests::{Browser, Javascript, Viewport, axe, save_screenshot, vnu};

use crate::console_seed::{OPERATOR, SUBSCRIBER, Seeded, seed, start_console, words};

/// The console's pages as checked: axe's findings and each page's HTML for vnu.
struct Checks {
    dir: PathBuf,
    files: Vec<PathBuf>,
    problems: String,
}

impl Checks {
    /// axe on the page open in `browser`, and its HTML kept for vnu as `name`.
    async fn page(&mut self, browser: &Browser, name: &str) -> Result<()> {
        let label = format!("{name} ({})", browser.viewport().name());
        let violations = axe(browser).await?;
        if !violations.is_empty() {
            self.problems
                .push_str(&kelisim_tests::axe::report(&label, &violations));
        }
        let html: String = browser
            .eval(
                "return '<!DOCTYPE html>\\n' + document.documentElement.outerHTML;",
                vec![],
            )
            .await?;
        let file = self
            .dir
            .join(format!("{name}-{}.html", browser.viewport().name()));
        std::fs::write(&file, html)?;
        self.files.push(file);
        Ok(())
    }
}

/// Clicks the button or link whose text is `text`, then waits for the next page's heading.
async fn click(browser: &Browser, text: &str, heading: &str) -> Result<()> {
    let xpath = format!("//*[self::button or self::a][normalize-space()='{text}']");
    browser
        .client()
        .find(Locator::XPath(&xpath))
        .await
        .with_context(|| format!("no `{text}`"))?
        .click()
        .await?;
    wait_for_heading(browser, heading).await
}

async fn wait_for_heading(browser: &Browser, heading: &str) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut last = String::new();
    while Instant::now() < deadline {
        last = browser
            .eval("return document.readyState === 'complete' && document.querySelector('h1') ? document.querySelector('h1').textContent.trim() : '';", vec![])
            .await?;
        if last.starts_with(heading) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!(
        "expected a page headed {heading:?}, got {last:?} at {}",
        browser.current_url().await?
    )
}

async fn body_text(browser: &Browser) -> Result<String> {
    Ok(browser
        .eval("return document.body.innerHTML;", vec![])
        .await?)
}

/// The whole day in `lang`.
async fn the_operators_day(lang: &'static str) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("records.sqlite");
    let seeded = seed(&db, lang).await?;
    let (mut child, url) = start_console(&db, lang)?;
    let result = drive(lang, dir.path(), &url, &seeded).await;
    if result.is_err() {
        let _ = child.kill();
    }
    let status = child.wait()?;
    result?;
    ensure!(status.success(), "the console ended with {status}");
    let store = SqliteStore::open(&db)?;
    ensure!(
        store.get_record(seeded.erased).await?.is_none(),
        "the record is gone"
    );
    let audit = store.list_audit(None).await?;
    let named = |action: AuditAction| {
        audit
            .iter()
            .any(|e| e.action == action && e.actor == OPERATOR)
    };
    ensure!(
        named(AuditAction::Erase)
            && named(AuditAction::Answer)
            && named(AuditAction::RequestClosed)
            && named(AuditAction::MailingList),
        "the audit names the operator: {audit:?}"
    );
    ensure!(
        audit
            .iter()
            .any(|e| e.action == AuditAction::Erase && e.record_id == Some(seeded.erased))
    );
    Ok(())
}

async fn drive(lang: &'static str, dir: &Path, url: &str, seeded: &Seeded) -> Result<()> {
    let origin = url.split("/?").next().context("an origin")?.to_owned();
    let mut checks = Checks {
        dir: dir.to_path_buf(),
        files: Vec::new(),
        problems: String::new(),
    };
    let mut browser = Browser::launch(Viewport::Desktop, Javascript::Enabled).await?;
    let downloads = browser.downloads().to_path_buf();
    browser.goto(url).await?;
    wait_for_heading(&browser, &words(lang, "console-inbox-title")).await?;
    ensure!(
        browser.current_url().await? == format!("{origin}/{lang}/inbox"),
        "the token's URL is left at once"
    );
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .max_redirects(0)
        .http_status_as_error(false)
        .build()
        .into();
    let again = agent.get(url).call()?;
    ensure!(
        again.status() == 403,
        "a second read of the link: {}",
        again.status()
    );
    let inbox = body_text(&browser).await?;
    for id in [seeded.message, seeded.subscriber, seeded.erased] {
        ensure!(inbox.contains(&id.to_string()), "{id} in the inbox");
    }
    capture(&mut browser, &mut checks, lang, &origin, seeded).await?;
    browser.goto(&format!("{origin}/{lang}/inbox")).await?;
    read_and_answer(&browser, &mut checks, lang, seeded).await?;
    fulfil_the_erasure(&browser, &mut checks, lang, &origin, seeded).await?;
    download_the_list(&browser, &mut checks, lang, &origin, &downloads).await?;
    for (path, name) in [
        ("/audit", "audit"),
        ("/inbox?show=answered", "inbox-answered"),
    ] {
        browser.goto(&format!("{origin}/{lang}{path}")).await?;
        checks.page(&browser, &format!("{lang}-{name}")).await?;
    }
    browser.goto(url).await?;
    checks.page(&browser, &format!("{lang}-refused")).await?;
    browser.goto(&format!("{origin}/{lang}/inbox")).await?;
    click(
        &browser,
        &words(lang, "console-stop"),
        &words(lang, "console-stopped-title"),
    )
    .await?;
    checks.page(&browser, &format!("{lang}-stopped")).await?;
    browser.close().await?;
    let errors = vnu(&checks.files)?;
    ensure!(errors.is_empty(), "{}", kelisim_tests::vnu::report(&errors));
    ensure!(checks.problems.is_empty(), "{}", checks.problems);
    Ok(())
}

/// The inbox, a record, the requests (and one request) and the deliveries at both widths:
/// axe on each, and a screenshot.
async fn capture(
    browser: &mut Browser,
    checks: &mut Checks,
    lang: &str,
    origin: &str,
    seeded: &Seeded,
) -> Result<()> {
    for viewport in [Viewport::Phone, Viewport::Desktop] {
        browser.switch_viewport(viewport).await?;
        for (path, name) in [
            ("/inbox".to_owned(), "console-inbox"),
            (format!("/records/{}", seeded.subscriber), "console-record"),
            ("/requests".to_owned(), "console-requests"),
            (format!("/requests/{}", seeded.request), "console-request"),
            ("/deliveries".to_owned(), "console-deliveries"),
            ("/mailing-list".to_owned(), "console-mailing-list"),
        ] {
            browser.goto(&format!("{origin}/{lang}{path}")).await?;
            let (scroll, inner): (u32, u32) = browser
                .eval(
                    "return [document.documentElement.scrollWidth, window.innerWidth];",
                    vec![],
                )
                .await?;
            ensure!(
                scroll <= inner,
                "{path} at {}: {scroll} px wide in {inner} px",
                viewport.name()
            );
            checks.page(browser, &format!("{lang}-{name}")).await?;
            save_screenshot(browser, lang, name).await?;
        }
    }
    Ok(())
}

/// Opens the first message from the inbox, reads it, marks it answered; it leaves the inbox.
async fn read_and_answer(
    browser: &Browser,
    checks: &mut Checks,
    lang: &str,
    seeded: &Seeded,
) -> Result<()> {
    let link = format!("a[href$=\"/records/{}\"]", seeded.message);
    browser
        .client()
        .find(Locator::Css(&link))
        .await?
        .click()
        .await?;
    wait_for_heading(browser, &words(lang, "console-record-title")).await?;
    let page = body_text(browser).await?;
    ensure!(page.contains("1: "), "the message is shown");
    ensure!(
        page.contains("mailto:first@example.kz?subject="),
        "the reply link"
    );
    click(
        browser,
        &words(lang, "console-action-rectify"),
        &words(lang, "console-rectify-title"),
    )
    .await?;
    checks.page(browser, &format!("{lang}-rectify")).await?;
    browser.client().back().await?;
    wait_for_heading(browser, &words(lang, "console-record-title")).await?;
    // Answering shortens how long the reply's data stay: shown as a plan first.
    click(
        browser,
        &words(lang, "console-action-answer"),
        &words(lang, "console-plan-title"),
    )
    .await?;
    checks.page(browser, &format!("{lang}-answer-plan")).await?;
    click(
        browser,
        &words(lang, "console-plan-confirm"),
        &words(lang, "console-plan-title"),
    )
    .await?;
    click(
        browser,
        &words(lang, "console-plan-continue"),
        &words(lang, "console-inbox-title"),
    )
    .await?;
    let inbox = body_text(browser).await?;
    ensure!(
        inbox.contains(&words(lang, "console-done-answered")),
        "the notice"
    );
    ensure!(
        !inbox.contains(&seeded.message.to_string()),
        "it left the inbox"
    );
    ensure!(inbox.contains(&seeded.subscriber.to_string()));
    Ok(())
}

/// From the requests to the request's page, its plan, the confirmation, and its closing.
async fn fulfil_the_erasure(
    browser: &Browser,
    checks: &mut Checks,
    lang: &str,
    origin: &str,
    seeded: &Seeded,
) -> Result<()> {
    browser.goto(&format!("{origin}/{lang}/requests")).await?;
    let link = format!("a[href$=\"/requests/{}\"]", seeded.request);
    browser
        .client()
        .find(Locator::Css(&link))
        .await?
        .click()
        .await?;
    wait_for_heading(browser, &words(lang, "console-request-title")).await?;
    click(
        browser,
        &words(lang, "console-fulfil-erasure"),
        &words(lang, "console-plan-title"),
    )
    .await?;
    let plan = body_text(browser).await?;
    ensure!(
        plan.contains("erase: 1 record(s) to change") && plan.contains(&seeded.erased.to_string()),
        "the plan: {plan}"
    );
    checks.page(browser, &format!("{lang}-plan")).await?;
    click(
        browser,
        &words(lang, "console-plan-confirm"),
        &words(lang, "console-plan-title"),
    )
    .await?;
    checks.page(browser, &format!("{lang}-done")).await?;
    click(
        browser,
        &words(lang, "console-plan-continue"),
        &words(lang, "console-request-title"),
    )
    .await?;
    let xpath = "//select[@name='outcome']/option[@value='done']";
    browser
        .client()
        .find(Locator::XPath(xpath))
        .await?
        .click()
        .await?;
    click(
        browser,
        &words(lang, "console-close-submit"),
        &words(lang, "console-requests-title"),
    )
    .await?;
    let list = body_text(browser).await?;
    ensure!(
        list.contains(&words(lang, "console-done-closed")) && !list.contains(&seeded.request),
        "closed"
    );
    Ok(())
}

/// The mailing list as CSV, through the browser's own download, read by Python's `csv`.
async fn download_the_list(
    browser: &Browser,
    checks: &mut Checks,
    lang: &str,
    origin: &str,
    downloads: &Path,
) -> Result<()> {
    browser
        .goto(&format!("{origin}/{lang}/mailing-list"))
        .await?;
    checks.page(browser, &format!("{lang}-mailing")).await?;
    let xpath = format!(
        "//button[normalize-space()='{}']",
        words(lang, "console-mailing-csv")
    );
    browser
        .client()
        .find(Locator::XPath(&xpath))
        .await?
        .click()
        .await?;
    let deadline = Instant::now() + Duration::from_secs(15);
    let file = loop {
        let done = std::fs::read_dir(downloads)?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|e| e == "csv"));
        if let Some(file) = done {
            break file;
        }
        ensure!(Instant::now() < deadline, "no CSV was downloaded");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let bytes = std::fs::read(&file)?;
    ensure!(
        bytes.starts_with(&[0xEF, 0xBB, 0xBF]),
        "UTF-8 with a byte-order mark"
    );
    let script = "import csv, json, sys\nwith open(sys.argv[1], encoding='utf-8-sig', newline='') as f:\n    print(json.dumps(list(csv.DictReader(f)), ensure_ascii=False))\n";
    let output = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&file)
        .output()?;
    ensure!(
        output.status.success(),
        "python3 csv: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&output.stdout)?;
    ensure!(rows.len() == 1, "one subscriber: {rows:?}");
    ensure!(
        rows[0]["email"] == SUBSCRIBER && rows[0]["language"] == lang,
        "{rows:?}"
    );
    let name = rows[0]["name"].as_str().unwrap_or("");
    ensure!(
        name.chars().any(|c| ('\u{0400}'..='\u{04FF}').contains(&c)),
        "Cyrillic survives: {name}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kk_the_operators_day_in_the_console() -> Result<()> {
    the_operators_day("kk").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ru_the_operators_day_in_the_console() -> Result<()> {
    the_operators_day("ru").await
}
