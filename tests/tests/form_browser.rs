//! The contact form end to end in a real headless Chromium, in Kazakh and in Russian: the
//! repository's site runs under `kelisim serve` (the relay mounted on a real SQLite file), a
//! visitor fills and sends the form with and without JavaScript, and the test reads what the
//! relay stored and the consent stamp it attached. The preview signs consent receipts with a
//! throwaway key: the visitor downloads theirs in Chromium and the test checks the file
//! against the keys the preview publishes (`receipts.rs`).
//!
//! Every test gets its own copy of the site and its own preview, so "exactly one record" and
//! "no record" are exact counts of one SQLite file.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod receipts;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail, ensure};
use fantoccini::Locator;
use fantoccini::actions::{InputSource, MOUSE_BUTTON_LEFT, MouseActions, PointerAction};
use kelisim::serve::{RunningPreview, ServeOptions, start};
use kelisim_manifest::ConsentManifest;
use kelisim_relay::domain::fields::ErrorCode;
use kelisim_relay::domain::messages::{Messages, Notice};
use kelisim_relay::domain::receipt::Receipt;
use kelisim_relay::domain::record::{CollectionMethod, ConsentRecord};
use kelisim_tests::paths::repo_root;
use kelisim_tests::{Browser, Javascript, Viewport};
use receipts::check_receipt_file;
use serde_json::json;

/// How long the page may take to show the relay's answer. Generous: a 2-core machine running
/// a parallel build is slow, and this is a deadline, not a speed requirement.
const ANSWER_DEADLINE: Duration = Duration::from_secs(10);

/// The name the thank-you page's receipt link saves the file under.
const THANKS_RECEIPT_FILE: &str = "kelisim-receipt.jws";

/// What a visitor types, in the language of the page they are on.
struct Person {
    surname: &'static str,
    first_name: &'static str,
    patronymic: &'static str,
    email: &'static str,
    phone: &'static str,
    message: &'static str,
}

impl Person {
    /// A valid visitor writing in `lang`; the phone is typed the way people in Kazakhstan
    /// write it, with the trunk prefix 8 and punctuation.
    fn valid(lang: &str) -> Self {
        if lang == "ru" {
            Self {
                surname: "Иванова",
                first_name: "Мария",
                patronymic: "Сергеевна",
                email: "maria.ivanova@example.kz",
                phone: "8 (701) 123-45-67",
                message: "Здравствуйте! Подскажите, какие мои данные вы храните?",
            }
        } else {
            Self {
                surname: "Әбілқасымова",
                first_name: "Айгүл",
                patronymic: "Нұрланқызы",
                email: "aigul.abilkasymova@example.kz",
                phone: "8 (701) 123-45-67",
                message: "Сәлеметсіз бе! Менің қандай деректерім сақталады?",
            }
        }
    }

    /// Data the browser's own checks let through (an address without a dot in its domain is
    /// a valid `type=email` value; `type=tel` takes anything) but the relay refuses.
    fn invalid(lang: &str) -> Self {
        Self {
            email: if lang == "ru" {
                "maria@localhost"
            } else {
                "aigul@localhost"
            },
            phone: "12345",
            ..Self::valid(lang)
        }
    }

    /// Each text field's id on the page and the value typed into it.
    fn fields(&self) -> [(&'static str, &'static str); 6] {
        [
            ("f-surname", self.surname),
            ("f-first_name", self.first_name),
            ("f-patronymic", self.patronymic),
            ("f-email", self.email),
            ("f-phone", self.phone),
            ("f-message", self.message),
        ]
    }
}

/// One test's world: a private copy of the site, its running preview, and a browser.
struct Visit {
    lang: &'static str,
    site: tempfile::TempDir,
    preview: RunningPreview,
    browser: Browser,
}

impl Visit {
    /// Copies the site, starts `kelisim serve` on a free port, opens Chromium on the
    /// language's contact page.
    async fn open(lang: &'static str, javascript: Javascript) -> Result<Self> {
        let site = real_site()?;
        let mut options = ServeOptions::new(site.path());
        options.port = 0;
        let preview = start(options).await.context("starting kelisim serve")?;
        let browser = Browser::launch(Viewport::Phone, javascript).await?;
        let visit = Self {
            lang,
            site,
            preview,
            browser,
        };
        visit.browser.goto(&visit.contact_url()).await?;
        let form: bool = visit
            .browser
            .eval(
                "return document.getElementById('contact-form') !== null;",
                vec![],
            )
            .await?;
        ensure!(form, "no #contact-form on {}", visit.contact_url());
        Ok(visit)
    }

    fn contact_url(&self) -> String {
        format!("{}/{}/contact/", self.preview.url(), self.lang)
    }

    async fn close(self) -> Result<()> {
        self.browser.close().await?;
        self.preview.stop().await;
        drop(self.site);
        Ok(())
    }

    /// Types `person` into the form and ticks the required consent (and the newsletter one
    /// when asked), as a visitor would: real key presses and clicks.
    async fn fill(&self, person: &Person, newsletter: bool) -> Result<()> {
        let client = self.browser.client();
        for (id, value) in person.fields() {
            let input = client.find(Locator::Id(id)).await?;
            input.clear().await?;
            input.send_keys(value).await?;
        }
        // Set, not toggle: after Back the browser may have restored the boxes as they were.
        for (id, wanted) in [
            ("f-consent-reply", true),
            ("f-consent-newsletter", newsletter),
        ] {
            let checked: bool = self
                .browser
                .eval(
                    "return document.getElementById(arguments[0]).checked;",
                    vec![json!(id)],
                )
                .await?;
            if checked != wanted {
                client.find(Locator::Id(id)).await?.click().await?;
            }
        }
        // What is in the fields is what was typed (no input was dropped on the way).
        for (id, value) in person.fields() {
            ensure!(
                self.value_of(id).await? == value,
                "#{id} does not hold what was typed"
            );
        }
        Ok(())
    }

    async fn value_of(&self, id: &str) -> Result<String> {
        Ok(self
            .browser
            .eval(
                "return document.getElementById(arguments[0]).value;",
                vec![json!(id)],
            )
            .await?)
    }

    async fn click_submit(&self) -> Result<()> {
        self.submit_button().await?.click().await?;
        Ok(())
    }

    async fn submit_button(&self) -> Result<fantoccini::elements::Element> {
        Ok(self
            .browser
            .client()
            .find(Locator::Css("#contact-form button[type=submit]"))
            .await?)
    }

    /// `#form-status`'s text once it is `expected`, or an error with what it said instead.
    async fn wait_for_status(&self, expected: &str) -> Result<()> {
        let deadline = Instant::now() + ANSWER_DEADLINE;
        let mut last = String::new();
        while Instant::now() < deadline {
            last = self.status_text().await?;
            if last == expected {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!(
            "within {} s #form-status never read {expected:?}; it reads {last:?} (page {})",
            ANSWER_DEADLINE.as_secs(),
            self.browser.current_url().await?
        )
    }

    /// The status message: `#form-status`'s own text, without the receipt link the script
    /// adds to it after a success (checked on its own).
    async fn status_text(&self) -> Result<String> {
        Ok(self
            .browser
            .eval(
                "return Array.from(document.getElementById('form-status').childNodes)
                     .filter(function (n) { return n.nodeType === Node.TEXT_NODE; })
                     .map(function (n) { return n.textContent; })
                     .join('').trim();",
                vec![],
            )
            .await?)
    }

    /// Waits for the script to finish its request (it re-enables the button at the very end),
    /// so no answer is still in flight when the store is counted.
    async fn wait_until_idle(&self) -> Result<()> {
        let deadline = Instant::now() + ANSWER_DEADLINE;
        while Instant::now() < deadline {
            let disabled: bool = self
                .browser
                .eval(
                    "return document.querySelector('#contact-form button[type=submit]').disabled;",
                    vec![],
                )
                .await?;
            if !disabled {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!("the submit button stayed disabled for {ANSWER_DEADLINE:?}")
    }

    /// Waits until the browser is on `path` (a plain post ends in a redirect) and returns
    /// where it landed.
    async fn wait_for_path(&self, path: &str) -> Result<Landed> {
        let deadline = Instant::now() + ANSWER_DEADLINE;
        let mut last = String::new();
        while Instant::now() < deadline {
            // The browser's own URL parser decodes the query (WebDriver scripts run even where
            // the page's scripts are disabled).
            let (href, pathname, query, ready): (String, String, Vec<(String, String)>, bool) =
                self.browser
                    .eval(
                        "return [location.href, location.pathname,
                                 Array.from(new URLSearchParams(location.search)),
                                 document.readyState === 'complete'];",
                        vec![],
                    )
                    .await?;
            if pathname == path && ready {
                return Ok(Landed {
                    href,
                    pathname,
                    query,
                });
            }
            last = href;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!(
            "within {} s the browser never reached {path}; it is on {last}",
            ANSWER_DEADLINE.as_secs(),
        )
    }

    /// Waits for the relay's answer to a plain post that stored the form: the thank-you page,
    /// in the form's language, answered (200, not a redirect: it carries the receipt) at the
    /// form's own address, with nothing in that address.
    async fn wait_for_thanks(&self) -> Result<Landed> {
        let manifest = self.manifest()?;
        let landed = self.wait_for_path(&manifest.form_endpoint).await?;
        ensure!(
            landed.query.is_empty() && !landed.href.contains('?') && !landed.href.contains('@'),
            "the thanks page's URL carries nothing: {}",
            landed.href
        );
        let (page_lang, heading, canonical, status): (String, String, Option<String>, u16) = self
            .browser
            .eval(
                "var canonical = document.querySelector('link[rel=canonical]');
                 return [document.documentElement.lang,
                         document.querySelector('h1').textContent.trim(),
                         canonical ? canonical.href : null,
                         performance.getEntriesByType('navigation')[0].responseStatus];",
                vec![],
            )
            .await?;
        assert_eq!(
            page_lang, self.lang,
            "the thanks page is in the form's language"
        );
        assert_eq!(
            status, 200,
            "the relay answers the post with the page itself"
        );
        let thanks_url = &manifest.languages[self.lang].thanks_url;
        assert_eq!(
            canonical.as_ref(),
            Some(thanks_url),
            "it is the thanks page"
        );
        let source =
            std::fs::read_to_string(repo_root().join(format!("content/{}/thanks.md", self.lang)))?;
        ensure!(
            source.contains(&format!("title = \"{heading}\"")),
            "the heading `{heading}` is the thanks page's title"
        );
        Ok(landed)
    }

    /// Clicks the link `selector` finds, as a visitor saving their receipt does, waits for the
    /// file Chromium saves under the link's `download` name, and checks it against the keys
    /// the preview publishes. Returns the file's name, the link's URL and the receipt.
    async fn download_receipt(&self, selector: &str) -> Result<(String, String, Receipt)> {
        let link: Option<(String, String)> = self
            .browser
            .eval(
                "var a = document.querySelector(arguments[0]);
                 return a ? [a.getAttribute('download') || '', a.href] : null;",
                vec![json!(selector)],
            )
            .await?;
        let (name, href) = link.with_context(|| format!("no receipt link `{selector}`"))?;
        ensure!(
            name.ends_with(".jws") && !name.contains('/'),
            "the link saves a .jws file, not `{name}`"
        );
        self.browser
            .client()
            .find(Locator::Css(selector))
            .await?
            .click()
            .await?;
        let file = self
            .browser
            .wait_for_download(&name, ANSWER_DEADLINE)
            .await?;
        let receipt = check_receipt_file(&self.preview.url(), &file).await?;
        Ok((name, href, receipt))
    }

    /// The consent manifest the preview built and its relay checks against.
    fn manifest(&self) -> Result<ConsentManifest> {
        self.preview
            .manifest()
            .context("the preview has no good build")
    }

    /// Every record in the preview's SQLite file.
    fn records(&self) -> Result<Vec<ConsentRecord>> {
        stored_records(&self.preview.db)
    }
}

/// Where a plain post landed: the raw URL, and its path and query as the browser decodes them.
struct Landed {
    href: String,
    pathname: String,
    query: Vec<(String, String)>,
}

/// The repository's site (content, strings, theme, settings) in a temp folder of its own.
fn real_site() -> Result<tempfile::TempDir> {
    let dir = tempfile::Builder::new()
        .prefix("kelisim-form-site-")
        .tempdir()?;
    let root = repo_root();
    for name in ["content", "locales", "themes"] {
        copy_tree(&root.join(name), &dir.path().join(name))?;
    }
    std::fs::copy(root.join("site.toml"), dir.path().join("site.toml"))?;
    Ok(dir)
}

fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry?;
        let target: PathBuf = to.join(entry.path().strip_prefix(from)?);
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target)?;
        } else {
            std::fs::copy(entry.path(), &target)
                .with_context(|| format!("copying {}", entry.path().display()))?;
        }
    }
    Ok(())
}

/// Reads the records table directly (read-only), so the count covers every row, not only the
/// ones a lookup would find.
fn stored_records(db: &Path) -> Result<Vec<ConsentRecord>> {
    let conn = rusqlite::Connection::open_with_flags(
        db,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    let mut statement = conn.prepare("SELECT body FROM records ORDER BY id")?;
    let bodies = statement
        .query_map([], |row| row.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    bodies
        .iter()
        .map(|body| serde_json::from_str(body).context("a stored record does not parse"))
        .collect()
}

/// A message from `locales/<lang>/*.ftl` (simple messages: one line or indented continuation
/// lines, no placeables), read from the repository so the test follows the translators.
fn ftl_message(lang: &str, id: &str) -> Result<String> {
    let dir = repo_root().join("locales").join(lang);
    for entry in std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.extension().is_none_or(|e| e != "ftl") {
            continue;
        }
        let source = std::fs::read_to_string(&path)?;
        let mut lines = source.lines();
        while let Some(line) = lines.next() {
            let Some(rest) = line.strip_prefix(id) else {
                continue;
            };
            let Some(value) = rest.trim_start().strip_prefix('=') else {
                continue;
            };
            let mut parts = vec![value.trim().to_owned()];
            for more in lines.by_ref() {
                if more.starts_with(' ') && !more.trim().is_empty() {
                    parts.push(more.trim().to_owned());
                } else {
                    break;
                }
            }
            return Ok(parts
                .into_iter()
                .filter(|p| !p.is_empty())
                .collect::<Vec<_>>()
                .join(" "));
        }
    }
    Err(anyhow!("no message {id} in {}", dir.display()))
}

/// The one stored record, checked against what `person` typed and the manifest the page was
/// built with.
fn check_record(
    visit: &Visit,
    person: &Person,
    method: CollectionMethod,
    newsletter: bool,
) -> Result<()> {
    let records = visit.records()?;
    ensure!(
        records.len() == 1,
        "expected exactly one stored record, found {}",
        records.len()
    );
    let record = &records[0];
    let manifest = visit.manifest()?;
    let expected = manifest
        .languages
        .get(visit.lang)
        .with_context(|| format!("the manifest has no language {}", visit.lang))?;
    let stamp = &record.consent;
    assert_eq!(stamp.language, visit.lang, "consent language");
    assert_eq!(
        stamp.policy_version, expected.policy.version,
        "policy version"
    );
    assert_eq!(stamp.policy_sha256, expected.policy.sha256, "policy hash");
    assert_eq!(stamp.policy_url, expected.policy.url, "policy URL");
    assert_eq!(stamp.collection_method, method, "collection method");
    let granted = |purpose: &str| {
        stamp
            .purposes
            .iter()
            .find(|p| p.purpose.as_str() == purpose)
            .map(|p| p.granted)
    };
    assert_eq!(granted("reply"), Some(true), "reply purpose");
    assert_eq!(
        granted("newsletter"),
        Some(newsletter),
        "newsletter purpose"
    );
    for purpose in &stamp.purposes {
        let label = expected
            .labels
            .get(&purpose.purpose)
            .with_context(|| format!("no label for {}", purpose.purpose.as_str()))?;
        assert_eq!(
            purpose.label_sha256,
            label.sha256,
            "label hash of {}",
            purpose.purpose.as_str()
        );
    }
    assert_eq!(record.subject.phone, "+77011234567", "phone in E.164");
    assert_eq!(record.subject.surname, person.surname, "surname");
    assert_eq!(record.subject.first_name, person.first_name, "first name");
    assert_eq!(
        record.subject.patronymic.as_deref(),
        Some(person.patronymic),
        "patronymic"
    );
    assert_eq!(record.subject.email, person.email, "email");
    assert_eq!(record.message, person.message, "message");
    assert_eq!(
        record.idempotency_key.is_some(),
        method == CollectionMethod::Script,
        "only the script sends an idempotency key"
    );
    Ok(())
}

/// `receipt` is the receipt of the one stored record, as the visitor sent it.
fn check_receipt_of_record(
    visit: &Visit,
    receipt: &Receipt,
    method: CollectionMethod,
) -> Result<ConsentRecord> {
    let records = visit.records()?;
    ensure!(records.len() == 1, "one record, found {}", records.len());
    let record = records.into_iter().next().context("one record")?;
    assert_eq!(
        receipt.record_id,
        record.id.to_string(),
        "the receipt's record"
    );
    assert_eq!(receipt.language, visit.lang, "the receipt's language");
    let expected = match method {
        CollectionMethod::Script => "web_form_script",
        CollectionMethod::FormPost => "web_form_post",
    };
    assert_eq!(receipt.collection_method, expected, "how consent was given");
    assert_eq!(
        receipt.notice.sha256, record.consent.policy_sha256,
        "the policy the receipt names"
    );
    Ok(record)
}

/// With JavaScript: the answer appears in place, the page stays, the record says `script`;
/// the script offers the answer's receipt as a file, which verifies.
async fn sends_with_script(lang: &'static str) -> Result<()> {
    let visit = Visit::open(lang, Javascript::Enabled).await?;
    let person = Person::valid(lang);
    visit.fill(&person, false).await?;
    let key: String = visit
        .browser
        .eval(
            "return document.querySelector('#contact-form [name=idempotency_key]').value;",
            vec![],
        )
        .await?;
    assert!(!key.is_empty(), "the script filled the idempotency key");
    visit.click_submit().await?;
    visit
        .wait_for_status(&ftl_message(lang, "form-success")?)
        .await?;
    let url = visit.browser.current_url().await?;
    assert_eq!(url, visit.contact_url(), "the page did not change");
    // The form is emptied for a next message once the first is safely stored.
    assert_eq!(visit.value_of("f-email").await?, "", "email after success");
    visit.wait_until_idle().await?;
    check_record(&visit, &person, CollectionMethod::Script, false)?;
    let stored = visit.records()?;
    assert_eq!(
        stored[0].idempotency_key.as_deref(),
        Some(key.as_str()),
        "the record keeps the page's idempotency key"
    );
    let (name, href, receipt) = visit
        .download_receipt("#form-status .receipt a[download]")
        .await?;
    ensure!(href.starts_with("blob:"), "made in the page: {href}");
    let record = check_receipt_of_record(&visit, &receipt, CollectionMethod::Script)?;
    assert_eq!(
        name,
        format!("kelisim-receipt-{}.jws", record.id),
        "file name"
    );
    visit.close().await
}

/// Without JavaScript: a plain post, the relay's thank-you page as its answer, `form_post`;
/// the page's receipt link saves the receipt, which verifies.
async fn sends_without_script(lang: &'static str, newsletter: bool) -> Result<()> {
    let visit = Visit::open(lang, Javascript::Disabled).await?;
    let person = Person::valid(lang);
    visit.fill(&person, newsletter).await?;
    visit.click_submit().await?;
    visit.wait_for_thanks().await?;
    check_record(&visit, &person, CollectionMethod::FormPost, newsletter)?;
    let (name, href, receipt) = visit.download_receipt(".receipt a[download]").await?;
    assert_eq!(name, THANKS_RECEIPT_FILE, "file name");
    ensure!(
        href.starts_with("data:application/jose"),
        "the receipt is in the page itself, never fetched by its own URL"
    );
    check_receipt_of_record(&visit, &receipt, CollectionMethod::FormPost)?;
    visit.close().await
}

/// With JavaScript: the relay's localized messages next to the fields, the fields marked
/// invalid, everything typed still there, nothing stored.
async fn refuses_invalid_with_script(lang: &'static str) -> Result<()> {
    let visit = Visit::open(lang, Javascript::Enabled).await?;
    let person = Person::invalid(lang);
    visit.fill(&person, false).await?;
    visit.click_submit().await?;
    visit
        .wait_for_status(&ftl_message(lang, "form-invalid")?)
        .await?;
    visit.wait_until_idle().await?;
    for (field, code) in [
        ("email", ErrorCode::InvalidEmail),
        ("phone", ErrorCode::InvalidPhone),
    ] {
        let (message, hidden, invalid): (String, bool, Option<String>) = visit
            .browser
            .eval(
                "var slot = document.getElementById('f-' + arguments[0] + '-error');
                 var input = document.getElementById('f-' + arguments[0]);
                 return [slot.textContent.trim(), slot.hidden, input.getAttribute('aria-invalid')];",
                vec![json!(field)],
            )
            .await?;
        assert_eq!(
            message,
            Messages::built_in().text(lang, Notice::Field(code)),
            "#f-{field}-error in {lang}"
        );
        assert!(!hidden, "#f-{field}-error is shown");
        assert_eq!(
            invalid.as_deref(),
            Some("true"),
            "#f-{field} is aria-invalid"
        );
    }
    for (id, typed) in person.fields() {
        assert_eq!(
            visit.value_of(id).await?,
            typed,
            "#{id} keeps what was typed"
        );
    }
    let unmarked: Vec<String> = visit
        .browser
        .eval(
            "return Array.from(document.querySelectorAll('#contact-form [aria-invalid]'))
                 .map(function (e) { return e.id; })
                 .filter(function (id) { return id !== 'f-email' && id !== 'f-phone'; });",
            vec![],
        )
        .await?;
    assert!(
        unmarked.is_empty(),
        "only the refused fields are marked: {unmarked:?}"
    );
    let consent: bool = visit
        .browser
        .eval(
            "return document.getElementById('f-consent-reply').checked;",
            vec![],
        )
        .await?;
    assert!(consent, "the ticked consent stays ticked");
    assert_eq!(
        visit.browser.current_url().await?,
        visit.contact_url(),
        "the page did not change"
    );
    let stored = visit.records()?.len();
    assert_eq!(stored, 0, "nothing is stored from a refused form");
    visit.close().await
}

/// Without JavaScript: the error page with codes only; nothing the visitor typed in the URL.
async fn refuses_invalid_without_script(lang: &'static str) -> Result<()> {
    let visit = Visit::open(lang, Javascript::Disabled).await?;
    let person = Person::invalid(lang);
    visit.fill(&person, false).await?;
    visit.click_submit().await?;
    let landed = visit.wait_for_path(&format!("/{lang}/error/")).await?;
    let url = &landed.href;
    let errors: Vec<&str> = landed
        .query
        .iter()
        .filter(|(name, _)| name == "errors")
        .map(|(_, value)| value.as_str())
        .collect();
    assert_eq!(errors.len(), 1, "one errors= parameter in {url}");
    let codes: Vec<&str> = errors[0].split(',').collect();
    for expected in ["email:invalid_email", "phone:invalid_phone"] {
        assert!(codes.contains(&expected), "{expected} in {url}");
    }
    // Decoded and raw: no typed value may appear in any form.
    let decoded: String = std::iter::once(landed.pathname.clone())
        .chain(
            landed
                .query
                .iter()
                .map(|(name, value)| format!("{name}={value}")),
        )
        .collect::<Vec<_>>()
        .join("&");
    for (id, typed) in person.fields() {
        if typed.is_empty() {
            continue;
        }
        let found = url.contains(typed) || decoded.contains(typed);
        // The check names the field, never the value, so the report carries no personal data.
        assert!(!found, "the value of #{id} is in the error page's URL");
    }
    for fragment in ["localhost", "12345", "@"] {
        assert!(
            !decoded.contains(fragment),
            "a piece of the typed data ({fragment}) is in the error page's URL"
        );
    }
    let stored = visit.records()?.len();
    assert_eq!(stored, 0, "nothing is stored from a refused form");
    visit.close().await
}

/// With JavaScript: two clicks in the same tick send once (the script's guard, and the
/// idempotency key behind it).
async fn double_click_with_script(lang: &'static str) -> Result<()> {
    let visit = Visit::open(lang, Javascript::Enabled).await?;
    let person = Person::valid(lang);
    visit.fill(&person, false).await?;
    let disabled_after_first: bool = visit
        .browser
        .eval(
            "var button = document.querySelector('#contact-form button[type=submit]');
             button.click();
             var disabled = button.disabled;
             button.click();
             return disabled;",
            vec![],
        )
        .await?;
    assert!(
        disabled_after_first,
        "the button is disabled while the form is being sent"
    );
    visit
        .wait_for_status(&ftl_message(lang, "form-success")?)
        .await?;
    visit.wait_until_idle().await?;
    check_record(&visit, &person, CollectionMethod::Script, false)?;
    visit.close().await
}

/// Without JavaScript: a real double click on the submit button stores one record (Chromium
/// itself sends only one of the two posts), and so does sending the same content again after
/// going Back from the thanks page, a second post within the relay's fingerprint window.
async fn double_submit_without_script(lang: &'static str) -> Result<()> {
    let visit = Visit::open(lang, Javascript::Disabled).await?;
    let person = Person::valid(lang);
    visit.fill(&person, false).await?;
    let button = visit.submit_button().await?;
    let mouse = MouseActions::new("mouse".to_owned())
        .then(PointerAction::MoveToElement {
            element: button,
            duration: None,
            x: 0.0,
            y: 0.0,
        })
        .then(PointerAction::Down {
            button: MOUSE_BUTTON_LEFT,
        })
        .then(PointerAction::Up {
            button: MOUSE_BUTTON_LEFT,
        })
        .then(PointerAction::Down {
            button: MOUSE_BUTTON_LEFT,
        })
        .then(PointerAction::Up {
            button: MOUSE_BUTTON_LEFT,
        });
    visit.browser.client().perform_actions(mouse).await?;
    visit.wait_for_thanks().await?;
    check_record(&visit, &person, CollectionMethod::FormPost, false)?;

    visit.browser.client().back().await?;
    visit.wait_for_path(&format!("/{lang}/contact/")).await?;
    visit.fill(&person, false).await?;
    visit.click_submit().await?;
    visit.wait_for_thanks().await?;
    // This thanks page is the relay's answer to the second post (a new navigation, answered
    // 200: checked by wait_for_thanks), not a page from history.
    let navigation: String = visit
        .browser
        .eval(
            "return performance.getEntriesByType('navigation')[0].type;",
            vec![],
        )
        .await?;
    assert_eq!(
        navigation, "navigate",
        "the second post was answered by the relay"
    );
    check_record(&visit, &person, CollectionMethod::FormPost, false)?;
    visit.close().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kk_form_sends_in_place_with_javascript() -> Result<()> {
    sends_with_script("kk").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ru_form_sends_in_place_with_javascript() -> Result<()> {
    sends_with_script("ru").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kk_form_posts_without_javascript() -> Result<()> {
    sends_without_script("kk", false).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ru_form_posts_without_javascript() -> Result<()> {
    sends_without_script("ru", false).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kk_newsletter_consent_is_recorded_as_granted() -> Result<()> {
    sends_without_script("kk", true).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ru_newsletter_consent_is_recorded_as_granted() -> Result<()> {
    sends_without_script("ru", true).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kk_invalid_fields_are_explained_in_place_with_javascript() -> Result<()> {
    refuses_invalid_with_script("kk").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ru_invalid_fields_are_explained_in_place_with_javascript() -> Result<()> {
    refuses_invalid_with_script("ru").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kk_invalid_post_lands_on_error_page_without_personal_data_in_url() -> Result<()> {
    refuses_invalid_without_script("kk").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ru_invalid_post_lands_on_error_page_without_personal_data_in_url() -> Result<()> {
    refuses_invalid_without_script("ru").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kk_double_click_with_javascript_stores_once() -> Result<()> {
    double_click_with_script("kk").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ru_double_click_with_javascript_stores_once() -> Result<()> {
    double_click_with_script("ru").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kk_double_submit_without_javascript_stores_once() -> Result<()> {
    double_submit_without_script("kk").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ru_double_submit_without_javascript_stores_once() -> Result<()> {
    double_submit_without_script("ru").await
}

/// The double opt-in end to end: the newsletter box, the mail the preview captured, a click on
/// its link, the built "subscription confirmed" page in the form's language, the grant
/// confirmed in the store; the same link again lands on the "link not valid" page.
async fn confirms_the_newsletter_by_the_mailed_link(
    lang: &'static str,
    javascript: Javascript,
) -> Result<()> {
    let visit = Visit::open(lang, javascript).await?;
    let person = Person::valid(lang);
    visit.fill(&person, true).await?;
    visit.click_submit().await?;
    match javascript {
        Javascript::Enabled => {
            visit
                .wait_for_status(&ftl_message(lang, "form-success")?)
                .await?;
        }
        Javascript::Disabled => {
            visit.wait_for_thanks().await?;
        }
    }
    let pending = visit.records()?;
    ensure!(pending.len() == 1, "one record, found {}", pending.len());
    let newsletter = |record: &ConsentRecord| {
        record
            .consent
            .purposes
            .iter()
            .find(|p| p.purpose.as_str() == "newsletter")
            .cloned()
            .context("no newsletter purpose")
    };
    ensure!(
        newsletter(&pending[0])?.confirmed_at.is_none(),
        "the grant waits for its confirmation"
    );

    let mailbox = format!("{}/__kelisim/mail", visit.preview.url());
    let deadline = Instant::now() + ANSWER_DEADLINE;
    let link = loop {
        visit.browser.goto(&mailbox).await?;
        let href: Option<String> = visit
            .browser
            .eval(
                "const a = document.querySelector('a[href*=\"/confirm?token=\"]');
                 return a ? a.href : null;",
                vec![],
            )
            .await?;
        if let Some(href) = href {
            break href;
        }
        ensure!(
            Instant::now() < deadline,
            "no confirmation mail at {mailbox}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    ensure!(link.contains(&format!("lang={lang}")), "{link}");
    // The mail's receipt, offered as the attachment a mail program would show.
    let (name, href, receipt) = visit
        .download_receipt(".mail a[download^=\"kelisim-receipt-\"]")
        .await?;
    ensure!(
        href.starts_with("data:application/jose,"),
        "the attachment's link holds the file: {name}"
    );
    let method = match javascript {
        Javascript::Enabled => CollectionMethod::Script,
        Javascript::Disabled => CollectionMethod::FormPost,
    };
    let record = check_receipt_of_record(&visit, &receipt, method)?;
    assert_eq!(
        name,
        format!("kelisim-receipt-{}.jws", record.id),
        "file name"
    );
    visit
        .browser
        .client()
        .find(Locator::Css("a[href*=\"/confirm?token=\"]"))
        .await?
        .click()
        .await?;
    // Opening the link confirms nothing; the page's button does.
    visit.wait_for_path("/api/contact/confirm").await?;
    ensure!(
        newsletter(&visit.records()?[0])?.confirmed_at.is_none(),
        "opening the link confirmed the grant"
    );
    press_the_links_button(&visit, lang).await?;
    visit.wait_for_path(&format!("/{lang}/confirmed/")).await?;
    let (page_lang, heading): (String, String) = visit
        .browser
        .eval(
            "return [document.documentElement.lang, document.querySelector('h1').textContent];",
            vec![],
        )
        .await?;
    assert_eq!(page_lang, lang);
    let source = std::fs::read_to_string(repo_root().join(format!("content/{lang}/confirmed.md")))?;
    ensure!(
        source.contains(&format!("title = \"{}\"", heading.trim())),
        "the heading `{heading}` is the confirmed page's title"
    );
    let confirmed = visit.records()?;
    ensure!(
        newsletter(&confirmed[0])?.confirmed_at.is_some(),
        "the store holds the confirmation"
    );

    visit.browser.goto(&link).await?;
    let landed = visit
        .wait_for_path(&format!("/{lang}/confirm-error/"))
        .await?;
    assert_eq!(
        landed.query,
        vec![("reason".to_owned(), "used".to_owned())],
        "a used link changes nothing"
    );
    visit.close().await
}

/// On the page a mailed link opens: it is in `lang`, in the site's look, and has one button,
/// which the person presses (a plain form post, with or without JavaScript).
async fn press_the_links_button(visit: &Visit, lang: &str) -> Result<()> {
    let (page_lang, forms, stylesheet): (String, usize, bool) = visit
        .browser
        .eval(
            "return [document.documentElement.lang,
                     document.querySelectorAll('form.link-form').length,
                     document.querySelector('link[rel=stylesheet]') !== null];",
            vec![],
        )
        .await?;
    assert_eq!(
        page_lang, lang,
        "the link's page is in the person's language"
    );
    ensure!(forms == 1, "one form with the button, found {forms}");
    ensure!(stylesheet, "the link's page is in the site's look");
    visit
        .browser
        .client()
        .find(Locator::Css("form.link-form button[type=submit]"))
        .await?
        .click()
        .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kk_newsletter_is_confirmed_by_the_mailed_link() -> Result<()> {
    confirms_the_newsletter_by_the_mailed_link("kk", Javascript::Enabled).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ru_newsletter_is_confirmed_by_the_mailed_link() -> Result<()> {
    confirms_the_newsletter_by_the_mailed_link("ru", Javascript::Enabled).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kk_newsletter_is_confirmed_by_the_mailed_link_without_javascript() -> Result<()> {
    confirms_the_newsletter_by_the_mailed_link("kk", Javascript::Disabled).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ru_newsletter_is_confirmed_by_the_mailed_link_without_javascript() -> Result<()> {
    confirms_the_newsletter_by_the_mailed_link("ru", Javascript::Disabled).await
}

/// A data-subject request end to end: from the contact page's link to the request page, a
/// kind and an address, the "check your mail" page, the captured mail's link, the "request
/// confirmed" page, and the request stored as confirmed with a due date. The form is a plain
/// post, so it works the same with and without JavaScript.
async fn requests_erasure_through_the_request_page(
    lang: &'static str,
    javascript: Javascript,
) -> Result<()> {
    let visit = Visit::open(lang, javascript).await?;
    let client = visit.browser.client();
    client
        .find(Locator::Css(".rights-note a"))
        .await
        .context("the contact page links the request page")?
        .click()
        .await?;
    visit.wait_for_path(&format!("/{lang}/request/")).await?;
    client
        .find(Locator::Id("f-kind-erasure"))
        .await?
        .click()
        .await?;
    let email = format!("request.{lang}@example.kz");
    client
        .find(Locator::Id("f-email"))
        .await?
        .send_keys(&email)
        .await?;
    client
        .find(Locator::Css("#request-form button[type=submit]"))
        .await?
        .click()
        .await?;
    let sent = visit
        .wait_for_path(&format!("/{lang}/request-sent/"))
        .await?;
    assert!(
        !sent.href.contains('@'),
        "no address in the URL: {}",
        sent.href
    );

    let mailbox = format!("{}/__kelisim/mail", visit.preview.url());
    let deadline = Instant::now() + ANSWER_DEADLINE;
    loop {
        visit.browser.goto(&mailbox).await?;
        let found: bool = visit
            .browser
            .eval(
                "return document.querySelector('a[href*=\"/request/confirm?token=\"]') !== null;",
                vec![],
            )
            .await?;
        if found {
            break;
        }
        ensure!(Instant::now() < deadline, "no request mail at {mailbox}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    client
        .find(Locator::Css("a[href*=\"/request/confirm?token=\"]"))
        .await?
        .click()
        .await?;
    visit.wait_for_path("/api/contact/request/confirm").await?;
    let store = kelisim_relay::store::sqlite::SqliteStore::open(&visit.preview.db)?;
    let waiting = kelisim_relay::store::RightsLog::list_requests(&store).await?;
    ensure!(
        waiting.len() == 1 && waiting[0].confirmed_at.is_none(),
        "opening the link confirmed the request"
    );
    press_the_links_button(&visit, lang).await?;
    visit
        .wait_for_path(&format!("/{lang}/request-confirmed/"))
        .await?;
    let page_lang: String = visit
        .browser
        .eval("return document.documentElement.lang;", vec![])
        .await?;
    assert_eq!(page_lang, lang);

    let requests = kelisim_relay::store::RightsLog::list_requests(&store).await?;
    ensure!(requests.len() == 1, "one request, found {}", requests.len());
    let request = &requests[0];
    assert_eq!(request.kind.as_str(), "erasure");
    assert_eq!(request.language, lang);
    assert_eq!(request.email, email);
    ensure!(
        request.confirmed_at.is_some() && request.due_at.is_some(),
        "confirmed, with a due date"
    );
    visit.close().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kk_request_page_works_with_javascript() -> Result<()> {
    requests_erasure_through_the_request_page("kk", Javascript::Enabled).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ru_request_page_works_without_javascript() -> Result<()> {
    requests_erasure_through_the_request_page("ru", Javascript::Disabled).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kk_request_page_works_without_javascript() -> Result<()> {
    requests_erasure_through_the_request_page("kk", Javascript::Disabled).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ru_request_page_works_with_javascript() -> Result<()> {
    requests_erasure_through_the_request_page("ru", Javascript::Enabled).await
}
