//! The relay's integration tests, as one test binary: each file in this directory is a module
//! here, so the crate and its dependencies (the AWS SDK among them) are linked once instead of
//! once per file. `every_test_file_is_a_module_of_this_binary` fails when a file is added to
//! `tests/` without a `mod` line below (`autotests = false` in Cargo.toml, so Cargo would not
//! build it on its own).

#[cfg(all(feature = "http", feature = "sqlite"))]
mod common;
#[cfg(any(feature = "sqlite", feature = "dynamodb"))]
#[macro_use]
mod conformance;
#[cfg(feature = "server")]
#[path = "support/console_desk.rs"]
mod console_desk;
mod own_process;
#[cfg(all(feature = "http", feature = "sqlite"))]
#[path = "support/published_site.rs"]
mod published_site;
#[cfg(feature = "server")]
#[path = "support/relay_process.rs"]
mod relay_process;
#[cfg(feature = "notify")]
#[path = "support/smtp_sink.rs"]
mod smtp_sink;

mod abuse;
mod access_report;
mod backup_restore;
#[cfg(feature = "server")]
mod console;
mod console_binary;
mod crash_durability;
mod delivery;
mod deploy_files;
mod doctor;
mod dynamodb_hung_endpoint;
mod dynamodb_mocks;
mod dynamodb_store;
mod generated_manifest;
mod hostile_input;
mod http_handler;
mod lambda_events;
mod lambda_package;
mod lambda_runtime_api;
mod no_personal_data_in_dynamodb_logs;
mod no_personal_data_in_logs;
mod openapi;
mod policy_grace;
mod properties;
mod receipts;
mod rights_binary;
mod rights_dynamodb_binary;
mod server_binary;
mod sqlite_group_commit;
mod sqlite_store;
mod verify_records;

#[path = "../../tests/shared/declared_test_files.rs"]
mod declared_test_files;

/// Every `*.rs` file directly in `tests/` is declared as a module above.
#[test]
fn every_test_file_is_a_module_of_this_binary() {
    declared_test_files::assert_every_file_declared(env!("CARGO_MANIFEST_DIR"), 11);
}
