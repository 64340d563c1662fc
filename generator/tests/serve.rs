//! `kelisim serve` end to end over real HTTP: the real site in a temp folder, the preview on a
//! free port, the relay mounted at the form endpoint with a real SQLite file, and edits to
//! the sources while it runs (live reload, a broken build that keeps serving, a policy edit
//! the form's relay picks up at once).
#![cfg(feature = "serve")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use kelisim::serve::{RunningPreview, ServeOptions, start};
use kelisim_manifest::ConsentManifest;
use kelisim_manifest::receipt_keys::ReceiptKeySet;
use kelisim_relay::domain::receipt::Receipt;
use kelisim_relay::domain::receipt_key::{PREVIEW_KID_PREFIX, verify};
use kelisim_relay::domain::record::{CollectionMethod, RecordId};
use kelisim_relay::store::RecordStore;

/// The repository's own site (content, strings, theme, settings) in a temp folder, so the
/// test can edit it.
fn real_site() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = support::repo_root();
    for name in ["content", "locales", "themes"] {
        support::copy_tree(&root.join(name), &dir.path().join(name));
    }
    std::fs::copy(root.join("site.toml"), dir.path().join("site.toml")).unwrap();
    dir
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .max_redirects(0)
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(20)))
        .build()
        .into()
}

struct Fetched {
    status: u16,
    location: Option<String>,
    body: String,
}

fn get(url: &str) -> Fetched {
    let mut response = agent().get(url).call().unwrap();
    Fetched {
        status: response.status().as_u16(),
        location: None,
        body: response.body_mut().read_to_string().unwrap(),
    }
}

fn post(url: &str, origin: &str, content_type: &str, body: &str) -> Fetched {
    let mut response = agent()
        .post(url)
        .header("Origin", origin)
        .header("Content-Type", content_type)
        .header(
            "Accept",
            if content_type.contains("json") {
                "application/json"
            } else {
                "text/html"
            },
        )
        .send(body)
        .unwrap();
    Fetched {
        status: response.status().as_u16(),
        location: response
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_owned()),
        body: response.body_mut().read_to_string().unwrap(),
    }
}

fn fetch_manifest(preview: &RunningPreview) -> ConsentManifest {
    ConsentManifest::from_json(&get(&format!("{}/consent-manifest.json", preview.url())).body)
        .unwrap()
}

/// The receipt keys the preview publishes.
fn published_keys(preview: &RunningPreview) -> ReceiptKeySet {
    let keys = get(&format!(
        "{}/.well-known/kelisim-receipt-keys.json",
        preview.url()
    ));
    assert_eq!(keys.status, 200, "the preview publishes its receipt key");
    serde_json::from_str(&keys.body).unwrap()
}

/// The receipt in the thank-you page a plain post gets: its download link's `data:` URL.
fn receipt_in_page(page: &str) -> String {
    const PREFIX: &str = "href=\"data:application/jose;charset=us-ascii,";
    let start = page.find(PREFIX).expect("a receipt download link") + PREFIX.len();
    page[start..start + page[start..].find('"').unwrap()].to_owned()
}

/// `token` checks out against the preview's published keys, as a preview receipt.
fn preview_receipt(preview: &RunningPreview, token: &str) -> Receipt {
    let receipt = verify(token, &published_keys(preview)).unwrap();
    assert!(receipt.preview, "a preview receipt says so");
    receipt
}

fn json_submission(manifest: &ConsentManifest, lang: &str, key: &str) -> String {
    let policy = &manifest.languages[lang].policy;
    serde_json::json!({
        "surname": "Сериков", "first_name": "Серік", "patronymic": "",
        "email": "preview@example.kz", "phone": "8 (701) 123-45-67",
        "message": "Сәлеметсіз бе!", "lang": lang, "consent": ["reply"],
        "policy_version": policy.version, "policy_hash": policy.sha256,
        "idempotency_key": key, "website": ""
    })
    .to_string()
}

/// Reads the preview's Server-Sent Events on a thread and forwards each event name.
fn listen(preview: &RunningPreview) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    let url = format!("{}/__kelisim/events", preview.url());
    std::thread::spawn(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(None)
            .build()
            .into();
        let Ok(response) = agent.get(&url).call() else {
            return;
        };
        let reader = BufReader::new(response.into_body().into_reader());
        for line in reader.lines() {
            let Ok(line) = line else { return };
            if let Some(name) = line.strip_prefix("event:")
                && tx.send(name.trim().to_owned()).is_err()
            {
                return;
            }
        }
    });
    rx
}

fn next_event(events: &mpsc::Receiver<String>) -> String {
    events
        .recv_timeout(Duration::from_secs(30))
        .expect("no live-reload event within 30 s")
}

fn edit(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{} has no `{from}`", path.display());
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}

#[test]
fn preview_serves_pages_and_a_working_form_and_reloads_on_change() {
    let site = real_site();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut options = ServeOptions::new(site.path());
    options.port = 0;
    let preview = runtime.block_on(start(options)).unwrap();
    let base = preview.url();

    // Pages, with the live-reload script, and each language's own 404 page.
    let home = get(&format!("{base}/kk/"));
    assert_eq!(home.status, 200);
    assert!(home.body.contains("/__kelisim/livereload.js"));
    assert!(
        home.body.contains(&format!("href=\"{base}/kk/\"")),
        "canonical uses the preview address"
    );
    let missing = get(&format!("{base}/ru/no-such-page/"));
    assert_eq!(missing.status, 404);
    assert!(missing.body.contains("<html lang=\"ru\""));
    assert!(missing.body.contains("/__kelisim/livereload.js"));
    // Served from memory: nothing is written next to the sources.
    assert!(!site.path().join(".kelisim/preview").exists());
    assert!(!site.path().join("public").exists());
    let folder = agent().get(&format!("{base}/kk/privacy")).call().unwrap();
    assert_eq!(folder.status().as_u16(), 307);
    assert_eq!(folder.headers()["location"], "/kk/privacy/");
    // The policy's §12.3 address without a language: a permanent redirect, with or without
    // its slash, to the default language's policy.
    for path in ["/privacy", "/privacy/"] {
        let moved = agent().get(&format!("{base}{path}")).call().unwrap();
        assert_eq!(moved.status().as_u16(), 301, "{path}");
        assert_eq!(moved.headers()["location"], "/kk/privacy/", "{path}");
    }
    let css = agent()
        .get(&format!("{base}/static/style.css"))
        .call()
        .unwrap();
    assert_eq!(css.status().as_u16(), 200);
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
    // The relay checks against the manifest the site publishes, handed over without a file.
    assert_eq!(preview.manifest(), Some(fetch_manifest(&preview)));

    // The form, without JavaScript: a plain post lands on the thank-you page.
    let manifest = fetch_manifest(&preview);
    let policy = &manifest.languages["kk"].policy;
    let form = format!(
        "surname=Test&first_name=Plain&patronymic=&email=plain%40example.kz&phone=%2B77011234567\
         &message=Hello&lang=kk&consent=reply&policy_version={}&policy_hash={}\
         &idempotency_key=&website=",
        policy.version, policy.sha256
    );
    let plain = post(
        &format!("{base}/api/contact"),
        &base,
        "application/x-www-form-urlencoded",
        &form,
    );
    // With the preview's receipt, that page is the relay's answer, not a redirect.
    assert_eq!(plain.status, 200, "{}", plain.body);
    assert_eq!(plain.location, None);
    assert!(plain.body.contains("<html lang=\"kk\""), "{}", plain.body);
    assert!(plain.body.contains("download=\"kelisim-receipt.jws\""));
    let plain_receipt = receipt_in_page(&plain.body);
    let plain_record = preview_receipt(&preview, &plain_receipt);
    assert_eq!(plain_record.collection_method, "web_form_post");
    assert_eq!(plain_record.language, "kk");
    // Signed with this run's throwaway key, published beside the site's own and marked.
    let keys = published_keys(&preview);
    assert!(preview.receipt_kid().starts_with(PREVIEW_KID_PREFIX));
    let key = keys
        .keys
        .iter()
        .find(|k| k.kid == preview.receipt_kid())
        .expect("the preview key is published");
    assert_eq!(key.other["kelisim_preview"], serde_json::json!(true));
    assert!(manifest.receipt_keys_url.is_some(), "the manifest names it");

    // With JavaScript: 201 and an id whose record is in the preview's SQLite file.
    let scripted = post(
        &format!("{base}/api/contact"),
        &base,
        "application/json",
        &json_submission(&manifest, "ru", "a3f1c2de-0000-4000-8000-000000000001"),
    );
    assert_eq!(scripted.status, 201, "{}", scripted.body);
    let id: RecordId = serde_json::from_str::<serde_json::Value>(&scripted.body).unwrap()["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let store = kelisim_relay::store::sqlite::SqliteStore::open(&preview.db).unwrap();
    let record = runtime
        .block_on(store.get_record(id))
        .unwrap()
        .expect("the record is stored");
    assert_eq!(record.consent.language, "ru");
    assert_eq!(
        record.consent.policy_sha256,
        manifest.languages["ru"].policy.sha256
    );
    assert_eq!(record.consent.collection_method, CollectionMethod::Script);
    assert_eq!(record.subject.phone, "+77011234567");
    // The script's answer carries the record's receipt.
    let scripted_receipt =
        serde_json::from_str::<serde_json::Value>(&scripted.body).unwrap()["receipt"]
            .as_str()
            .expect("a receipt in the 201 answer")
            .to_owned();
    let receipt = preview_receipt(&preview, &scripted_receipt);
    assert_eq!(receipt.record_id, id.to_string());
    assert_eq!(receipt.collection_method, "web_form_script");

    // Live reload: an edit rebuilds and tells open pages.
    let events = listen(&preview);
    std::thread::sleep(Duration::from_millis(300));
    edit(
        &site.path().join("content/kk/_index.md"),
        "+++\n\n",
        "+++\n\nЖаңа сөйлем алдын ала қарау үшін.\n\n",
    );
    assert_eq!(next_event(&events), "reload");
    let edited = get(&format!("{base}/kk/")).body;
    assert!(
        edited.contains("Жаңа сөйлем алдын ала қарау үшін."),
        "{edited}"
    );

    // A broken template: the server stays up with the last good pages and reports the error.
    let template = site.path().join("themes/default/templates/index.html");
    let good = std::fs::read_to_string(&template).unwrap();
    std::fs::write(&template, format!("{good}\n{{{{ unclosed ")).unwrap();
    assert_eq!(next_event(&events), "build-error");
    let status: serde_json::Value =
        serde_json::from_str(&get(&format!("{base}/__kelisim/status")).body).unwrap();
    assert_eq!(status["ok"], false);
    assert!(
        status["error"].as_str().unwrap().contains("index.html"),
        "{status}"
    );
    assert_eq!(get(&format!("{base}/kk/")).status, 200);
    std::fs::write(&template, good).unwrap();
    assert_eq!(next_event(&events), "reload");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&get(&format!("{base}/__kelisim/status")).body)
            .unwrap()["ok"],
        true
    );

    // A policy edit changes its hash; the mounted relay checks against the new manifest.
    edit(
        &site.path().join("content/kk/privacy.md"),
        "version = \"1.0\"",
        "version = \"1.1\"",
    );
    assert_eq!(next_event(&events), "reload");
    let renewed = fetch_manifest(&preview);
    assert_eq!(renewed.languages["kk"].policy.version, "1.1");
    let stale = post(
        &format!("{base}/api/contact"),
        &base,
        "application/json",
        &json_submission(&manifest, "kk", "a3f1c2de-0000-4000-8000-000000000002"),
    );
    assert_eq!(stale.status, 422, "{}", stale.body);
    assert!(stale.body.contains("policy_mismatch"), "{}", stale.body);
    let fresh = post(
        &format!("{base}/api/contact"),
        &base,
        "application/json",
        &json_submission(&renewed, "kk", "a3f1c2de-0000-4000-8000-000000000003"),
    );
    assert_eq!(fresh.status, 201, "{}", fresh.body);

    // Rebuilds keep the run's key: the same keys are published, the first receipts still
    // check out.
    assert_eq!(published_keys(&preview), keys);
    for token in [&plain_receipt, &scripted_receipt] {
        preview_receipt(&preview, token);
    }

    runtime.block_on(preview.stop());
}

#[test]
fn a_second_preview_on_a_taken_port_says_so() {
    let site = real_site();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut options = ServeOptions::new(site.path());
    options.port = taken.local_addr().unwrap().port();
    let error = match runtime.block_on(start(options)) {
        Ok(_) => panic!("a taken port must be refused"),
        Err(error) => error.to_string(),
    };
    assert!(error.contains("--port"), "{error}");
    drop(taken);
}

/// Polls `url` until its body contains `needle` (the preview delivers mail in the background).
fn wait_for(url: &str, needle: &str) -> String {
    for _ in 0..100 {
        let body = get(url).body;
        if body.contains(needle) {
            return body;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{url} never showed `{needle}`");
}

#[test]
fn the_preview_captures_the_double_opt_in_mail_and_its_link_confirms() {
    let site = real_site();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut options = ServeOptions::new(site.path());
    options.port = 0;
    let preview = runtime.block_on(start(options)).unwrap();
    let url = preview.url();
    let manifest = fetch_manifest(&preview);
    assert!(
        manifest.languages["ru"].confirmed_url.is_some(),
        "the site publishes a confirmation page"
    );
    let mut body: serde_json::Value =
        serde_json::from_str(&json_submission(&manifest, "ru", "opt-in-key")).unwrap();
    body["consent"] = serde_json::json!(["reply", "newsletter"]);
    let answer = post(
        &format!("{url}/api/contact"),
        &url,
        "application/json",
        &body.to_string(),
    );
    assert_eq!(answer.status, 201, "{}", answer.body);

    let mailbox = wait_for(
        &format!("{url}/__kelisim/mail"),
        "/api/contact/confirm?token=",
    );
    assert!(mailbox.contains("preview@example.kz"), "to the visitor");
    assert!(
        mailbox.contains("подтвердите подписку"),
        "in Russian: {mailbox}"
    );
    assert!(
        mailbox.contains("info@woow.kz"),
        "and the operator's notification"
    );
    // The confirmation mail's receipt, a download link holding the file.
    let attached = mailbox
        .split("<a href=\"data:application/jose,")
        .nth(1)
        .expect("the receipt attachment's link");
    let (token, rest) = attached.split_once('"').unwrap();
    assert!(
        rest.starts_with(" download=\"kelisim-receipt-"),
        "{mailbox}"
    );
    let receipt = preview_receipt(&preview, token);
    assert_eq!(receipt.language, "ru");
    let link = mailbox
        .split("href=\"")
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap().replace("&amp;", "&"))
        .find(|href| href.contains("/confirm?token="))
        .expect("a clickable confirmation link");
    assert!(
        link.starts_with(&format!("{url}/api/contact/confirm?token=")),
        "{link}"
    );

    // Opening the link shows the site's page with one button; only its post confirms.
    let page = get(&link);
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("class=\"link-form\"") && page.body.contains("lang=\"ru\""),
        "the site's own page, in Russian: {}",
        page.body
    );
    let attribute = |name: &str| {
        let start = page.body.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
        page.body[start..start + page.body[start..].find('"').unwrap()].replace("&amp;", "&")
    };
    let action = attribute("action");
    let action = if action.starts_with('/') {
        format!("{url}{action}")
    } else {
        action
    };
    let token_at = page.body.find("name=\"token\" value=\"").unwrap() + 20;
    let token = &page.body[token_at..token_at + page.body[token_at..].find('"').unwrap()];
    assert!(!token.contains("__KELISIM"), "the token is filled in");
    let answer = post(
        &action,
        &url,
        "application/x-www-form-urlencoded",
        &format!("token={token}&lang=ru"),
    );
    assert_eq!(answer.status, 303, "{}", answer.body);
    let location = answer.location.clone().expect("a redirect");
    assert_eq!(location, format!("{url}/ru/confirmed/"));
    assert_eq!(get(&location).status, 200, "the confirmation page is built");
    let replay = agent().get(&link).call().unwrap();
    let again = replay.headers().get("location").unwrap().to_str().unwrap();
    assert_eq!(again, format!("{url}/ru/confirm-error/?reason=used"));
    assert_eq!(get(&format!("{url}/ru/confirm-error/")).status, 200);
    runtime.block_on(preview.stop());
}

/// The real site plus `per_lang` generated pages in each language, so a rebuild takes long
/// enough to be caught in the middle.
fn large_site(per_lang: usize) -> tempfile::TempDir {
    let site = real_site();
    let paragraph = "Дербес деректер тек келісіммен өңделеді, сақталады және жойылады. ".repeat(12);
    for lang in ["kk", "ru"] {
        let dir = site.path().join("content").join(lang).join("bulk");
        std::fs::create_dir_all(&dir).unwrap();
        for n in 0..per_lang {
            let body = format!(
                "+++\ntitle = \"Бет {n}\"\n+++\n\n## Бөлім {{#s}}\n\n{paragraph}\n\n- бір\n- екі\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n{paragraph}\n"
            );
            std::fs::write(dir.join(format!("p{n}.md")), body).unwrap();
        }
    }
    site
}

/// On a 5,000-page site, `kelisim serve` shows a body edit by re-rendering that page alone,
/// and stops within a second of SIGTERM even while a full rebuild is running: the rebuild ends
/// at its next page instead of finishing (it used to run on for seconds).
#[cfg(unix)]
#[test]
fn a_body_edit_is_rerendered_alone_and_sigterm_mid_rebuild_stops_within_a_second() {
    use std::process::{Command, Stdio};
    use std::time::Instant;

    let site = large_site(2500);
    let mut child = Command::new(env!("CARGO_BIN_EXE_kelisim"))
        .args(["serve", "--port", "0", "--root"])
        .arg(site.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let (lines_tx, lines) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            let _ = lines_tx.send(line);
        }
    });
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut serving = String::new();
    stdout.read_line(&mut serving).unwrap();
    assert!(serving.starts_with("Serving the preview at"), "{serving}");

    // The first build's time, from its "Built N pages in T ms." line.
    let first = lines
        .recv_timeout(Duration::from_secs(60))
        .unwrap_or_default();
    let first_ms: u64 = first
        .rsplit_once(" in ")
        .and_then(|(_, t)| t.trim_end_matches(" ms.").parse().ok())
        .unwrap_or_else(|| panic!("no build time in {first:?}"));

    // A body edit: only that page is re-rendered, and the preview serves it at once.
    let base = serving
        .trim()
        .trim_start_matches("Serving the preview at ")
        .split_whitespace()
        .next()
        .unwrap()
        .trim_end_matches('/')
        .to_owned();
    let page = site.path().join("content/kk/bulk/p7.md");
    let text = std::fs::read_to_string(&page).unwrap();
    let edited_at = Instant::now();
    std::fs::write(&page, format!("{text}\nЖылдам өзгеріс.\n")).unwrap();
    let fast = lines.recv_timeout(Duration::from_secs(30)).unwrap();
    assert!(fast.starts_with("Re-rendered 1 page(s) in "), "{fast}");
    let body = wait_for(&format!("{base}/kk/bulk/p7/"), "Жылдам өзгеріс.");
    eprintln!(
        "body edit visible after {} ms ({fast})",
        edited_at.elapsed().as_millis()
    );
    assert!(body.contains("hreflang=\"ru\""), "{body}");

    // A title edit needs the whole site: let that rebuild start, then stop the preview well
    // before it could end.
    std::fs::write(&page, text.replacen("title = \"", "title = \"Жаңа ", 1)).unwrap();
    // A quarter of a full build's time in: past the 40 ms settle, far from the end.
    std::thread::sleep(Duration::from_millis((first_ms / 4).clamp(100, 400)));
    let signalled = Instant::now();
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        if signalled.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            panic!("still running 10 s after SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let stopped_after = signalled.elapsed();
    let rest: Vec<String> = lines.try_iter().collect();
    eprintln!(
        "first build {first_ms} ms; stopped {} ms after SIGTERM; after it: {rest:?}",
        stopped_after.as_millis()
    );
    assert!(exit.success(), "{exit:?}");
    // Meaningful only if a rebuild takes clearly longer than the wait before the signal.
    assert!(
        first_ms >= 400,
        "the site builds too fast ({first_ms} ms) to catch a rebuild"
    );
    assert!(
        !rest.iter().any(|l| l.starts_with("Built ")),
        "the rebuild ran to its end: {rest:?}"
    );
    assert!(
        stopped_after < Duration::from_secs(1),
        "stopped {} ms after SIGTERM",
        stopped_after.as_millis()
    );
}
