//! Measures the size and CPU time of each gzip level and Brotli quality on the HTML, CSS and JS
//! files of a built site, to choose the build's levels (generator/src/emit/compress.rs).
//!
//!   cargo run --release -p kelisim --example compress_levels -- DIR [DIR ...]
//!
//! Each DIR is a built site (`public/`); its `.html`, `.css` and `.js` files are read into
//! memory, then compressed by every setting in turn, `ROUNDS` times (default 3), on one thread.
//! Prints, per DIR and setting, the total compressed bytes, the ratio to the original and the
//! shortest time per file over the rounds (the least disturbed by other work). Also prints the largest growth of any one file against
//! the build's levels before this measurement (gzip 6, Brotli 4).
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use flate2::Compression;
use flate2::write::GzEncoder;

fn gzip(bytes: &[u8], level: u32) -> usize {
    let mut encoder = GzEncoder::new(Vec::with_capacity(bytes.len() / 3), Compression::new(level));
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap().len()
}

/// `fitted`: the window no larger than the file (as the build does), else `lgwin` as given.
fn brotli(bytes: &[u8], quality: i32, lgwin: i32, fitted: bool) -> usize {
    let fits = (usize::BITS - bytes.len().max(1).leading_zeros()) as i32;
    let params = brotli::enc::BrotliEncoderParams {
        quality,
        lgwin: if fitted { fits.clamp(10, lgwin) } else { lgwin },
        size_hint: bytes.len(),
        ..Default::default()
    };
    let mut out = Vec::with_capacity(bytes.len() / 3);
    brotli::BrotliCompress(&mut &bytes[..], &mut out, &params).unwrap();
    out.len()
}

fn files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if ["html", "css", "js"]
                .iter()
                .any(|e| path.extension().is_some_and(|x| x == *e))
            {
                let bytes = std::fs::read(&path).unwrap();
                found.push((path, bytes));
            }
        }
    }
    found.sort();
    found
}

type Setting = (String, Box<dyn Fn(&[u8]) -> usize>);

fn settings() -> Vec<Setting> {
    let mut all: Vec<Setting> = Vec::new();
    for level in 1..=9 {
        all.push((format!("gzip {level}"), Box::new(move |b| gzip(b, level))));
    }
    for quality in 0..=6 {
        all.push((
            format!("brotli {quality}, window fitted"),
            Box::new(move |b| brotli(b, quality, 22, true)),
        ));
    }
    for (quality, lgwin) in [
        (4, 16),
        (4, 18),
        (5, 16),
        (5, 17),
        (5, 18),
        (5, 20),
        (5, 22),
        (6, 17),
        (6, 18),
        (6, 22),
        (7, 18),
    ] {
        all.push((
            format!("brotli {quality}, window 2^{lgwin}"),
            Box::new(move |b| brotli(b, quality, lgwin, false)),
        ));
    }
    all
}

fn main() {
    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(3);
    for dir in std::env::args().skip(1) {
        let files = files(Path::new(&dir));
        let original: usize = files.iter().map(|(_, b)| b.len()).sum();
        println!(
            "\n{dir}: {} files, {original} bytes (mean {} bytes)\n",
            files.len(),
            original / files.len().max(1)
        );
        println!(
            "| setting | bytes | ratio | µs per file | largest growth of a file vs gzip 6 / brotli 4 |"
        );
        println!("|---|---:|---:|---:|---:|");
        let gz6: Vec<usize> = files.iter().map(|(_, b)| gzip(b, 6)).collect();
        let br4: Vec<usize> = files.iter().map(|(_, b)| brotli(b, 4, 22, true)).collect();
        for (name, how) in settings() {
            let mut times = Vec::new();
            let mut sizes = Vec::new();
            for _ in 0..rounds {
                let started = Instant::now();
                sizes = files.iter().map(|(_, b)| how(b)).collect();
                times.push(started.elapsed().as_secs_f64());
            }
            times.sort_by(f64::total_cmp);
            let total: usize = sizes.iter().sum();
            let today = if name.starts_with("gzip") { &gz6 } else { &br4 };
            let growth = sizes
                .iter()
                .zip(today)
                .map(|(s, t)| *s as i64 - *t as i64)
                .max()
                .unwrap_or(0);
            println!(
                "| {name} | {total} | {:.3} | {:.0} | {growth:+} B |",
                total as f64 / original as f64,
                times[0] * 1e6 / files.len().max(1) as f64
            );
        }
    }
}
