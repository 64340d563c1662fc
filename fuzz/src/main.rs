//! A mutation fuzzer for the relay's input edge that runs on the stable toolchain with no
//! extra dependency: `scripts/fuzz TARGET MINUTES` (see README, "Fuzzing").
//!
//! Why not libFuzzer or AFL: `cargo fuzz` needs a nightly compiler for the sanitizer-coverage
//! flags, as does `cargo bolero test` with its libFuzzer engine, and afl.rs needs AFL++ built
//! from source plus `cargo afl`; the project builds on stable Rust only. This harness trades
//! coverage feedback for a cheap stand-in: an input is kept in the working corpus when it
//! produces an outcome not seen before (which fields failed with which code, accepted or
//! not), so the search still climbs past the first checks into the field parsers.
//!
//! Targets (each one's seeds in `fuzz/corpus/TARGET/`, taken from the tests):
//! - `form`: `RawSubmission::from_form` then `Submission::parse`;
//! - `json`: `RawSubmission::from_json` then `Submission::parse`;
//! - `fields`: the first byte picks `PersonName`, `Email`, `PhoneE164`, `Message` or
//!   `IdempotencyKey`, the rest is the text.
//!
//! The checks are the property tests' (relay/tests/properties.rs): no panic; an accepted value is a
//! fixed point of its parser and within its limit; a refusal's errors are URL-safe field
//! names and codes. A failing input is written to `fuzz/crashes/` and the run exits 1.

use std::collections::HashSet;
use std::hash::{BuildHasher, Hasher};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use kelisim_relay::domain::fields::{Email, IdempotencyKey, Message, PersonName, PhoneE164, limit};
use kelisim_relay::domain::submission::{FieldErrors, RawSubmission, Submission};
use kelisim_relay::manifest::ConsentManifest;

const MANIFEST: &str = include_str!("../../relay/tests/fixtures/consent-manifest.json");

/// Fragments the mutator splices in: the decoders' syntax, the field names, encodings of the
/// characters that have broken text handling before.
const DICTIONARY: &[&[u8]] = &[
    b"&",
    b"=",
    b"%",
    b"+",
    b"%FF",
    b"%C3%28",
    b"%E2%80%AE",
    b"%E2%80%8B",
    b"%00",
    b"%0D%0A",
    b"%D2%9B",
    b"{",
    b"}",
    b"[",
    b"]",
    b"\"",
    b":",
    b",",
    b"null",
    b"true",
    b"1e999",
    b"\\u0000",
    b"\\ud800",
    b"\\u202e",
    b"\xE2\x80\xAE",
    b"\xE2\x81\xA6",
    b"\xE2\x80\x8B",
    b"\xE2\x80\xA8",
    b"\xEF\xBF\xBD",
    b"\xEF\xBB\xBF",
    b"\xCC\x86",
    b"\r\n",
    b"\r",
    b"\t",
    b" ",
    b"@",
    b".kz",
    b"+7",
    b"8 (701) ",
    b"\xD3\x99",
    b"surname",
    b"first_name",
    b"patronymic",
    b"email",
    b"phone",
    b"message",
    b"lang",
    b"consent",
    b"policy_version",
    b"policy_hash",
    b"idempotency_key",
    b"website",
    b"reply",
    b"newsletter",
    b"kk",
    b"ru",
];

struct Random(u64);

impl Random {
    fn new() -> Self {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u64(0x6675_7a7a);
        Self(hasher.finish() | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, bound: usize) -> usize {
        if bound == 0 {
            0
        } else {
            (self.next() % bound as u64) as usize
        }
    }
}

/// One to eight stacked mutations of `input`, splicing from `other` sometimes.
fn mutate(input: &mut Vec<u8>, other: &[u8], random: &mut Random) {
    for _ in 0..=random.below(8) {
        let len = input.len();
        match random.below(9) {
            0 if len > 0 => {
                let i = random.below(len);
                input[i] ^= 1 << random.below(8);
            }
            1 if len > 0 => {
                let i = random.below(len);
                input[i] = random.next() as u8;
            }
            2 => {
                let i = random.below(len + 1);
                input.insert(i, random.next() as u8);
            }
            3 if len > 0 => {
                let start = random.below(len);
                let end = (start + 1 + random.below(16)).min(len);
                input.drain(start..end);
            }
            4 if len > 0 => {
                let start = random.below(len);
                let end = (start + 1 + random.below(32)).min(len);
                let chunk = input[start..end].to_vec();
                let at = random.below(len + 1);
                input.splice(at..at, chunk);
            }
            5 | 6 => {
                let token = DICTIONARY[random.below(DICTIONARY.len())];
                let at = random.below(len + 1);
                input.splice(at..at, token.iter().copied());
            }
            7 if !other.is_empty() => {
                let start = random.below(other.len());
                let end = (start + 1 + random.below(64)).min(other.len());
                let at = random.below(len + 1);
                input.splice(at..at, other[start..end].iter().copied());
            }
            8 if len > 0 => {
                // A long run: where length limits and body limits live.
                let at = random.below(len);
                let byte = input[at];
                let count = 1 + random.below(4200);
                input.splice(at..at, std::iter::repeat_n(byte, count));
            }
            _ => {}
        }
    }
    input.truncate(64 * 1024);
}

/// Bidi embeddings, overrides and isolates, zero-width characters, the BOM, line and
/// paragraph separators: never in an accepted value (a message keeps `\n` and `\t` only).
const INVISIBLE: [char; 16] = [
    '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}', '\u{2067}', '\u{2068}',
    '\u{2069}', '\u{200B}', '\u{200C}', '\u{200D}', '\u{2060}', '\u{FEFF}', '\u{2028}', '\u{2029}',
];

fn assert_clean_line(value: &str, max: usize) {
    assert!(!value.is_empty(), "empty value accepted");
    assert!(value.chars().count() <= max, "over the limit");
    assert_eq!(value.trim(), value, "not trimmed");
    assert!(!value.chars().any(char::is_control), "control character");
    assert!(!value.contains(char::REPLACEMENT_CHARACTER), "U+FFFD");
    assert!(!value.contains(INVISIBLE), "invisible character kept");
}

fn assert_safe_errors(errors: &FieldErrors) {
    assert!(!errors.is_empty(), "a refusal without a reason");
    let query = errors.to_query_value();
    assert!(
        query
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_:,".contains(&b)),
        "error query not URL-safe: {query}"
    );
}

/// Runs one input through `target`, panicking on a broken property. Returns a fingerprint of
/// the outcome, so inputs reaching a new outcome are kept.
fn run(target: &str, input: &[u8], manifest: &ConsentManifest) -> u64 {
    let mut outcome = std::collections::hash_map::DefaultHasher::new();
    match target {
        "form" | "json" => {
            let decoded = if target == "form" {
                RawSubmission::from_form(input)
            } else {
                RawSubmission::from_json(input)
            };
            match decoded {
                Err(errors) => {
                    assert_safe_errors(&errors);
                    outcome.write(errors.to_query_value().as_bytes());
                }
                Ok(raw) => {
                    outcome.write_u8(u8::from(raw.honeypot_filled()));
                    outcome.write(raw.response_lang(manifest).as_bytes());
                    match Submission::parse(&raw, manifest, time::OffsetDateTime::now_utc()) {
                        Err(errors) => {
                            assert_safe_errors(&errors);
                            outcome.write(errors.to_query_value().as_bytes());
                        }
                        Ok(submission) => {
                            outcome.write(b"ok");
                            outcome.write_usize(submission.consents.len());
                            check_fixed_point(&submission, manifest);
                        }
                    }
                }
            }
        }
        "fields" => {
            let Some((&selector, rest)) = input.split_first() else {
                return 0;
            };
            let text = String::from_utf8_lossy(rest);
            outcome.write_u8(selector % 5);
            let result: Result<String, String> = match selector % 5 {
                0 => PersonName::parse(&text)
                    .map(|v| {
                        assert_clean_line(v.as_str(), limit::NAME);
                        assert_eq!(PersonName::parse(v.as_str()), Ok(v.clone()));
                        v.into_inner()
                    })
                    .map_err(|e| e.to_string()),
                1 => Email::parse(&text)
                    .map(|v| {
                        assert_clean_line(v.as_str(), limit::EMAIL);
                        assert_eq!(Email::parse(v.as_str()), Ok(v.clone()));
                        v.into_inner()
                    })
                    .map_err(|e| e.to_string()),
                2 => PhoneE164::parse(&text)
                    .map(|v| {
                        let e164 = v.as_str();
                        assert!(e164.starts_with('+') && e164.len() <= 16, "not E.164");
                        assert!(e164[1..].bytes().all(|b| b.is_ascii_digit()), "not E.164");
                        assert_eq!(PhoneE164::parse(e164), Ok(v.clone()));
                        v.into_inner()
                    })
                    .map_err(|e| e.to_string()),
                3 => Message::parse(&text)
                    .map(|v| {
                        let t = v.as_str();
                        assert!(!t.is_empty() && t.chars().count() <= limit::MESSAGE);
                        assert!(!t.contains('\r'), "CR kept");
                        assert!(!t.contains(INVISIBLE), "invisible character kept");
                        assert!(
                            !t.chars().any(|c| c.is_control() && c != '\n' && c != '\t'),
                            "control character"
                        );
                        assert_eq!(Message::parse(t), Ok(v.clone()));
                        v.into_inner()
                    })
                    .map_err(|e| e.to_string()),
                _ => IdempotencyKey::parse(&text)
                    .map(|v| {
                        let key = v.as_ref().map_or("", |k| k.as_str());
                        assert!(key.len() <= limit::IDEMPOTENCY_KEY);
                        assert!(key.bytes().all(|b| b.is_ascii_graphic()));
                        assert_eq!(IdempotencyKey::parse(key), Ok(v.clone()));
                        key.to_owned()
                    })
                    .map_err(|e| e.to_string()),
            };
            match result {
                Ok(value) => {
                    outcome.write(b"ok");
                    outcome.write_usize(value.chars().count().min(8));
                }
                Err(code) => outcome.write(code.as_bytes()),
            }
        }
        other => {
            eprintln!("unknown target {other:?}: form, json or fields");
            std::process::exit(2);
        }
    }
    outcome.finish()
}

/// An accepted submission, posted again as its normalized values, parses to itself.
fn check_fixed_point(submission: &Submission, manifest: &ConsentManifest) {
    let pairs = submission.to_pairs();
    let form = serde_html_form::to_string(&pairs).expect("pairs encode");
    let raw = RawSubmission::from_form(form.as_bytes()).expect("own encoding decodes");
    let again = Submission::parse(&raw, manifest, time::OffsetDateTime::now_utc())
        .expect("a normalized submission parses");
    assert_eq!(&again, submission, "parse is not idempotent");
}

/// Runs `input`; on a broken property writes it to `crashes/` and exits 1.
fn checked(target: &str, input: &[u8], manifest: &ConsentManifest, root: &Path, n: u64) -> u64 {
    let attempt = std::panic::AssertUnwindSafe(|| run(target, input, manifest));
    match std::panic::catch_unwind(attempt) {
        Ok(outcome) => outcome,
        Err(_) => {
            let crashes = root.join("crashes");
            let _ = std::fs::create_dir_all(&crashes);
            let mut hasher = std::collections::hash_map::DefaultHasher::new();
            hasher.write(input);
            let path = crashes.join(format!("{target}-{:016x}", hasher.finish()));
            let _ = std::fs::write(&path, input);
            eprintln!("fuzz {target}: failing input written to {}", path.display());
            println!("{target}: FAILED after {n} executions");
            std::process::exit(1);
        }
    }
}

fn read_corpus(dir: &Path) -> Vec<Vec<u8>> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    entries.sort();
    entries
        .iter()
        .filter_map(|p| std::fs::read(p).ok())
        .collect()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(target), Some(seconds)) = (args.first(), args.get(1)) else {
        eprintln!("usage: fuzz TARGET SECONDS [SEED_DIR]   (TARGET: form, json or fields)");
        std::process::exit(2);
    };
    let Ok(seconds) = seconds.parse::<u64>() else {
        eprintln!("SECONDS must be a whole number, got {seconds:?}");
        std::process::exit(2);
    };
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    // A third argument names another seed directory (to check that the fuzzer finds a
    // planted bug the seeds do not show).
    let corpus_dir = args
        .get(2)
        .map_or_else(|| root.join("corpus").join(target), PathBuf::from);
    let seeds = read_corpus(&corpus_dir);
    if seeds.is_empty() {
        eprintln!("no seeds in fuzz/corpus/{target}/");
        std::process::exit(2);
    }
    let manifest: ConsentManifest = serde_json::from_str(MANIFEST).expect("fixture manifest");
    // The checks report by panicking; keep the default hook's message off the hot path
    // but say once which input broke.
    std::panic::set_hook(Box::new(|info| eprintln!("fuzz: property broken: {info}")));

    let mut corpus = seeds.clone();
    let mut seen: HashSet<u64> = HashSet::new();
    for seed in &seeds {
        seen.insert(checked(target, seed, &manifest, &root, 0));
    }
    let mut random = Random::new();
    let started = Instant::now();
    let deadline = Duration::from_secs(seconds);
    let mut executions: u64 = 0;
    let mut next_report = Duration::from_secs(60);
    let mut input = Vec::new();
    loop {
        // Checking the clock every 1024 runs keeps it off the hot path.
        if executions.is_multiple_of(1024) {
            let elapsed = started.elapsed();
            if elapsed >= deadline {
                break;
            }
            if elapsed >= next_report {
                eprintln!(
                    "fuzz {target}: {executions} executions, {} s, corpus {}",
                    elapsed.as_secs(),
                    corpus.len()
                );
                next_report += Duration::from_secs(60);
            }
        }
        let (base, other) = (random.below(corpus.len()), random.below(corpus.len()));
        input.clear();
        input.extend_from_slice(&corpus[base]);
        mutate(&mut input, &corpus[other], &mut random);
        executions += 1;
        let outcome = checked(target, &input, &manifest, &root, executions);
        if seen.insert(outcome) && corpus.len() < 10_000 {
            corpus.push(input.clone());
        }
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{target}: {executions} executions in {secs:.0} s ({:.0}/s), corpus {} ({} seeds), 0 failures",
        executions as f64 / secs,
        corpus.len(),
        seeds.len(),
    );
}
