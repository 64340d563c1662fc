//! The end-to-end and browser tests, as one test binary: each file in this directory is a
//! module here, so the crates are linked once instead of once per file.
//! `every_test_file_is_a_module_of_this_binary` fails when a file is added to `tests/` without
//! a `mod` line below (`autotests = false` in Cargo.toml, so Cargo would not build it).

mod caddy_front_door;
mod console_browser;
mod console_seed;
mod form_browser;
mod harness_selftest;
mod site_quality;
mod verify_records;

#[path = "../shared/declared_test_files.rs"]
mod declared_test_files;

/// Every `*.rs` file directly in `tests/` is declared as a module above.
#[test]
fn every_test_file_is_a_module_of_this_binary() {
    declared_test_files::assert_every_file_declared(env!("CARGO_MANIFEST_DIR"), 3);
}
