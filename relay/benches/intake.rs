//! How long the relay spends on one submission before the store: decoding the body, parsing
//! it into a validated `Submission` (NFC, email, phone to E.164, manifest checks) and stamping
//! the consent record. Run with `cargo bench -p kelisim-relay --bench intake`.

use std::collections::BTreeMap;

use criterion::{Criterion, criterion_group, criterion_main};
use kelisim_relay::domain::hmac_key::HmacKey;
use kelisim_relay::domain::record::CollectionMethod;
use kelisim_relay::domain::stamp::{self, IntakeSettings};
use kelisim_relay::domain::submission::{RawSubmission, Submission};
use kelisim_relay::manifest::ConsentManifest;
use time::OffsetDateTime;

fn manifest() -> ConsentManifest {
    let json = include_str!("../tests/fixtures/consent-manifest.json");
    ConsentManifest::from_json(json).expect("the fixture manifest parses")
}

fn form_body(manifest: &ConsentManifest) -> String {
    let policy = &manifest.languages["kk"].policy;
    let message = "Сәлеметсіз бе! Дербес деректерім туралы ақпарат алғым келеді. ".repeat(20);
    serde_html_form::to_string([
        ("surname", "Сейітқазы"),
        ("first_name", "Әйгерім"),
        ("patronymic", "Нұрланқызы"),
        ("email", "aigerim@example.kz"),
        ("phone", "8 (701) 123-45-67"),
        ("message", message.as_str()),
        ("lang", "kk"),
        ("consent", "reply"),
        ("consent", "newsletter"),
        ("policy_version", policy.version.as_str()),
        ("policy_hash", policy.sha256.as_str()),
        ("idempotency_key", ""),
        ("website", ""),
    ])
    .expect("the benchmark form encodes")
}

fn intake(c: &mut Criterion) {
    let manifest = manifest();
    let body = form_body(&manifest);
    let settings = IntakeSettings {
        hmac_key: HmacKey::from_bytes(vec![7; 32]).expect("a 32-byte key"),
        retention_days: BTreeMap::from([
            ("reply".to_owned(), 365),
            ("newsletter".to_owned(), 1095),
        ]),
        fingerprint_window: time::Duration::seconds(60),
        storage_location: "benchmark".to_owned(),
        confirm_within: time::Duration::days(7),
    };
    let now = OffsetDateTime::now_utc();

    c.bench_function("decode form body", |b| {
        b.iter(|| RawSubmission::from_form(body.as_bytes()).expect("decodes"))
    });
    let raw = RawSubmission::from_form(body.as_bytes()).expect("decodes");
    c.bench_function("parse submission", |b| {
        b.iter(|| {
            Submission::parse(&raw, &manifest, time::OffsetDateTime::now_utc()).expect("valid")
        })
    });
    c.bench_function("decode + parse + stamp", |b| {
        b.iter(|| {
            let raw = RawSubmission::from_form(body.as_bytes()).expect("decodes");
            let submission =
                Submission::parse(&raw, &manifest, time::OffsetDateTime::now_utc()).expect("valid");
            stamp::stamp(
                submission,
                &manifest,
                &settings,
                &[],
                CollectionMethod::FormPost,
                now,
            )
            .expect("stamped")
        })
    });
}

criterion_group!(benches, intake);
criterion_main!(benches);
