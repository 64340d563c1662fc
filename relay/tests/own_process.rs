//! Runs one test in a process of its own: for the tests that install the global tracing
//! subscriber, which a process can set once, and whose captured logs must hold only their own
//! test's lines. The test re-runs this binary filtered to itself; the child does the work.

/// Set in the child to the test's path.
const CHILD_VAR: &str = "KELISIM_TEST_OWN_PROCESS";

/// `true` in the child: the caller runs its body. In the parent it runs the test named `path`
/// (`module_path!()` plus the function's name) in a child process, fails if the child fails,
/// and returns `false`: the caller returns at once.
pub fn in_own_process(path: &str) -> bool {
    // module_path!() starts with this binary's crate name; the test harness does not.
    let test = path.split_once("::").map_or(path, |(_, rest)| rest);
    if std::env::var(CHILD_VAR).is_ok_and(|v| v == test) {
        return true;
    }
    let exe = std::env::current_exe().expect("the test binary's path");
    let output = std::process::Command::new(exe)
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_VAR, test)
        .output()
        .expect("running the test binary again");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "{test} in its own process failed ({}):\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    false
}
