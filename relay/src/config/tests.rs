//! The configuration's tests: the TOML file, the environment on top, and the ranges.

use super::*;

#[test]
fn a_blank_table_name_is_no_table() {
    let named = |table: Option<&str>| DynamoConfig {
        table: table.map(str::to_owned),
        ..DynamoConfig::default()
    };
    assert_eq!(named(Some(" kelisim ")).table_name(), Some("kelisim"));
    assert_eq!(named(Some("  ")).table_name(), None);
    assert_eq!(named(None).table_name(), None);
}

#[test]
fn toml_then_environment() -> Result<(), ConfigError> {
    let mut config = RelayConfig::from_toml_str(
        r#"
        manifest = "site/consent-manifest.json"
        allowed_origins = ["https://woow.kz"]
        fingerprint_window_secs = 30
        [sqlite]
        path = "/var/lib/kelisim/relay.sqlite"
        [retention_days]
        reply = 100
        "#,
    )?;
    assert_eq!(config.retention_days.purposes.get("reply"), Some(&100));
    assert_eq!(
        config.retention_days.purposes.get("newsletter"),
        Some(&1095)
    );
    assert_eq!(config.retention_days.reply_after_answer, 30);
    let vars: BTreeMap<&str, &str> = [
        (env::FINGERPRINT_WINDOW_SECS, "90"),
        (env::ALLOWED_ORIGINS, "https://a.kz, https://b.kz"),
        (env::RETENTION_DAYS, "newsletter=30,reply_after_answer=14"),
        (env::DYNAMODB_TABLE, "records"),
        (
            env::HMAC_KEY,
            "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
        ),
    ]
    .into_iter()
    .collect();
    config.apply_env(|n| vars.get(n).map(|v| (*v).to_owned()))?;
    assert_eq!(config.fingerprint_window_secs, 90);
    assert_eq!(config.allowed_origins, ["https://a.kz", "https://b.kz"]);
    assert_eq!(config.retention_days.purposes.get("newsletter"), Some(&30));
    assert_eq!(config.retention_days.reply_after_answer, 14);
    assert!(
        !config
            .retention_days
            .purposes
            .contains_key(REPLY_AFTER_ANSWER)
    );
    assert_eq!(config.dynamodb.table.as_deref(), Some("records"));
    assert!(config.hmac_key().is_ok());
    assert!(!format!("{config:?}").contains("00112233"));
    Ok(())
}

#[test]
fn the_example_file_parses_to_the_documented_defaults() -> Result<(), ConfigError> {
    let example = RelayConfig::from_toml_str(include_str!("../../kelisim-relay.example.toml"))?;
    let defaults = RelayConfig::default();
    assert_eq!(example.retention_days, defaults.retention_days);
    assert_eq!(
        example.request_deadline_days,
        defaults.request_deadline_days
    );
    assert_eq!(
        example.fingerprint_window_secs,
        defaults.fingerprint_window_secs
    );
    assert_eq!(example.sqlite, defaults.sqlite);
    assert_eq!(example.manifest, defaults.manifest);
    assert_eq!(example.store, defaults.store);
    assert_eq!(example.rate_limit, defaults.rate_limit);
    assert_eq!(example.notify, defaults.notify);
    assert_eq!(example.server, defaults.server);
    Ok(())
}

#[test]
fn refuses_unknown_keys_and_bad_values() {
    assert!(RelayConfig::from_toml_str("hmac_key = \"abc\"").is_err());
    let mut config = RelayConfig::default();
    assert!(
        config
            .apply_env(|n| (n == env::RETENTION_DAYS).then(|| "reply".to_owned()))
            .is_err()
    );
    assert!(matches!(config.hmac_key(), Err(ConfigError::NoHmacKey)));
}

#[test]
fn rate_limit_from_toml_and_environment() -> Result<(), ConfigError> {
    let mut config = RelayConfig::from_toml_str("[rate_limit]\nper_client = 3\n")?;
    assert_eq!(config.rate_limit.per_client, 3);
    assert_eq!(config.rate_limit.window_secs, 600);
    assert!(config.rate_limit.enabled && !config.rate_limit.trust_forwarded_for);
    let vars: BTreeMap<&str, &str> = [
        (env::RATE_LIMIT_WINDOW_SECS, "60"),
        (env::RATE_LIMIT_GLOBAL_PER_MINUTE, "10"),
        (env::RATE_LIMIT_TRUST_FORWARDED_FOR, "true"),
        (env::RATE_LIMIT_ENABLED, "false"),
    ]
    .into_iter()
    .collect();
    config.apply_env(|n| vars.get(n).map(|v| (*v).to_owned()))?;
    let limits = config.rate_limit.limits();
    assert_eq!(limits.window, std::time::Duration::from_secs(60));
    assert_eq!(limits.global_per_minute, 10);
    assert!(!limits.enabled && config.rate_limit.trust_forwarded_for);
    let bad = config.apply_env(|n| (n == env::RATE_LIMIT_PER_CLIENT).then(|| "five".to_owned()));
    assert!(matches!(bad, Err(ConfigError::Env { var, .. }) if var == env::RATE_LIMIT_PER_CLIENT));
    Ok(())
}

#[test]
fn durations_that_could_overflow_a_date_are_refused_at_start_up() {
    for toml in [
        "[retention_days]\nreply = 4000000000\n",
        "[retention_days]\nreply_after_answer = 0\n",
        "fingerprint_window_secs = 9223372036854775807\n",
        "[rate_limit]\nwindow_secs = 9999999999\n",
        "[notify]\nconfirm_within_days = 100000\n",
        "[notify]\ndeliver_interval_secs = 0\n",
    ] {
        let config = RelayConfig::from_toml_str(toml).expect("parses");
        let error = config.check_ranges().expect_err(toml);
        assert!(
            matches!(error, ConfigError::OutOfRange { .. }),
            "{toml}: {error}"
        );
        assert!(error.to_string().contains("must be between"), "{error}");
    }
    assert!(RelayConfig::default().check_ranges().is_ok());
    let mut config = RelayConfig::default();
    let huge = config
        .apply_env(|n| (n == env::RETENTION_DAYS).then(|| "newsletter=4294967295".to_owned()));
    assert!(huge.is_ok(), "parsing alone accepts it");
    assert!(config.check_ranges().is_err(), "the range check refuses it");
}

#[test]
fn origins_are_scheme_and_authority() {
    assert_eq!(
        origin_of("https://WooW.kz/kk/contact/").as_deref(),
        Some("https://woow.kz")
    );
    assert_eq!(
        origin_of("http://127.0.0.1:8787").as_deref(),
        Some("http://127.0.0.1:8787")
    );
    assert_eq!(origin_of("woow.kz"), None);
}

#[test]
fn the_receipt_key_comes_from_the_environment_and_an_empty_one_means_none()
-> Result<(), Box<dyn std::error::Error>> {
    use crate::domain::receipt_key::ReceiptSigner;
    let signer = ReceiptSigner::generate("env-key")?;
    let jwk = signer.private_jwk();
    let mut config = RelayConfig::default();
    config.apply_env(|n| (n == env::RECEIPT_KEY).then(|| jwk.clone()))?;
    let loaded = config.receipt_signer()?.ok_or("no signer")?;
    assert_eq!(loaded.public_key(), signer.public_key());
    // The stack's parameter defaults to "": no receipts, not an error.
    let mut empty = RelayConfig::default();
    empty.apply_env(|n| (n == env::RECEIPT_KEY).then(String::new))?;
    assert!(empty.receipt_signer()?.is_none());
    // A broken key is refused in words, without the key.
    let mut broken = RelayConfig::default();
    broken.apply_env(|n| (n == env::RECEIPT_KEY).then(|| "{\"d\":\"secret\"}".to_owned()))?;
    let error = broken.receipt_signer().err().ok_or("accepted")?.to_string();
    assert!(
        error.contains("receipt key") && !error.contains("secret"),
        "{error}"
    );
    Ok(())
}
