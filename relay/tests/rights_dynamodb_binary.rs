//! The data-subject commands of `kelisim-relay` run from an operator's machine against the
//! production store, DynamoDB (here moto, a real DynamoDB-compatible server): a record made by
//! the real router is found, exported and erased by the binary with `KELISIM_STORE=dynamodb`,
//! as `deploy/aws/README.md` tells the operator to do.
#![cfg(all(feature = "server", feature = "dynamodb"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;
use std::sync::Arc;

use crate::common::*;
use crate::dynamodb_store::{endpoint, fresh_store};

const BIN: &str = env!("CARGO_BIN_EXE_kelisim-relay");

/// Runs the binary on `table`, as an operator with the table's credentials would.
fn run(table: &str, args: &[&str]) -> (bool, String, String) {
    let output = Command::new(BIN)
        .args(args)
        .arg("--by")
        .arg("test-operator")
        .env("KELISIM_STORE", "dynamodb")
        .env("KELISIM_DYNAMODB_TABLE", table)
        .env("KELISIM_DYNAMODB_ENDPOINT", endpoint())
        .env("KELISIM_DYNAMODB_REGION", "us-east-1")
        .env("KELISIM_HMAC_KEY", HMAC_KEY_HEX)
        .env("AWS_ACCESS_KEY_ID", "kelisim-test")
        .env("AWS_SECRET_ACCESS_KEY", "kelisim-test")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

fn ok(table: &str, args: &[&str]) -> String {
    let (success, stdout, stderr) = run(table, args);
    assert!(success, "{args:?} failed: {stderr}");
    stdout
}

#[tokio::test(flavor = "multi_thread")]
async fn find_export_and_erase_on_dynamodb_from_the_operators_machine() {
    let store = fresh_store().await;
    let table = store.table().to_owned();
    let state = state(Arc::new(store));
    let answer = send(&state, json_request(json_body(&valid_fields("kk")), None)).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    let id = answer.json()["id"].as_str().unwrap().to_owned();

    let found = ok(&table, &["records", "find", "--email", EMAIL]);
    assert!(found.contains(&id), "{found}");
    assert!(!found.contains(SURNAME), "find lists no personal data");

    let export: serde_json::Value =
        serde_json::from_str(&ok(&table, &["records", "export", "--email", EMAIL])).unwrap();
    let text = export.to_string();
    assert!(text.contains(&id) && text.contains(SURNAME), "{text}");

    let erased = ok(&table, &["records", "erase", &id, "--yes"]);
    assert!(erased.contains("1 record(s) erased"), "{erased}");
    let after: serde_json::Value =
        serde_json::from_str(&ok(&table, &["records", "export", "--email", EMAIL])).unwrap();
    assert_eq!(after, serde_json::json!([]));

    // The erasure is audited in the table, by the operator named, without personal data.
    let audit = ok(&table, &["audit", "--json"]);
    assert!(
        audit.contains("\"erase\"") && audit.contains("test-operator"),
        "{audit}"
    );
    assert!(!audit.contains(EMAIL) && !audit.contains(SURNAME));
}
