//! Benchmark: building the repository's real site (content/, locales/, themes/default/).
//! Run from anywhere with `cargo bench -p kelisim --bench build`.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};

fn real_site(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let out = tempfile::tempdir().unwrap();
    let options = kelisim::BuildOptions {
        root: root.to_path_buf(),
        output: Some(out.path().join("public")),
        base_url: None,
        precompress: true,
    };
    // Fail loudly, once, if the site does not build: a benchmark of an error is meaningless.
    let report = kelisim::build(&options).unwrap();
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);

    c.bench_function("render real site (in memory)", |b| {
        b.iter(|| kelisim::build::render_site(&options).unwrap())
    });
    c.bench_function("build real site (written to disk)", |b| {
        b.iter(|| kelisim::build(&options).unwrap())
    });
}

criterion_group!(benches, real_site);
criterion_main!(benches);
