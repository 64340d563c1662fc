//! Precompressed copies of the files a browser fetches for every page: `.br` and `.gz` next to
//! each HTML, CSS and JS file the build writes, so a server or CDN sends them as they are
//! (by `Accept-Encoding`) instead of compressing on every request, or not at all.
//!
//! The levels, chosen by `cargo run --release -p kelisim --example compress_levels -- DIR` on
//! this repository's site and the benchmark corpus (README, "Benchmarks"): gzip 6 (5 makes some
//! files larger, 9 takes twice the time for 1% less) and Brotli quality 5 with a window of at
//! least 2^18 bytes, about the time of quality 4 for files a tenth smaller, none larger. A
//! window of 2^16 or less makes quality 5 and up choose another match finder that took 20-30
//! times as long on 10 KB pages: the window is never fitted below 2^18.
//!
//! A copy that is not at least a tenth smaller than the file is not written ([`worth_keeping`]):
//! it would save a client little and cost the server a file; servers that serve copies when
//! they exist (Caddy's `precompressed`, nginx's `gzip_static`) send the file itself instead.

use std::io::Write as _;

use flate2::Compression;
use flate2::write::GzEncoder;

/// Brotli quality (0–11).
const BROTLI_QUALITY: i32 = 5;
/// The smallest Brotli window, log2 bytes (256 KiB), whatever the file's size (see above).
const BROTLI_MIN_WINDOW: i32 = 18;
/// The largest Brotli window, log2 bytes (4 MiB).
const BROTLI_WINDOW: i32 = 22;
/// gzip level (1–9).
const GZIP_LEVEL: u32 = 6;

/// The settings, as the name of the cache folder of the copies they make
/// ([`super::cache`]): copies made with other settings are not reused.
pub const SETTINGS: &str = "br5w18-gz6";

/// Whether a copy of `compressed` bytes is worth writing beside a file of `original` bytes: at
/// least a tenth smaller.
pub fn worth_keeping(original: usize, compressed: usize) -> bool {
    compressed.saturating_mul(10) <= original.saturating_mul(9)
}

/// Whether the build writes precompressed copies of the file at `path`.
pub fn wanted(path: &str) -> bool {
    [".html", ".css", ".js"].iter().any(|e| path.ends_with(e))
}

/// The gzip form of `bytes` (no file name, time stamp 0, so builds are reproducible).
pub fn gzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut encoder = GzEncoder::new(
        Vec::with_capacity(bytes.len() / 3),
        Compression::new(GZIP_LEVEL),
    );
    encoder.write_all(bytes)?;
    encoder.finish()
}

/// The Brotli form of `bytes`.
pub fn brotli(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    // A window no larger than needed (setting up a 4 MiB window for a 10 KB page costs more
    // than compressing it), but never below 2^18 (see the module documentation).
    let fits = usize::BITS - bytes.len().max(1).leading_zeros();
    let params = brotli::enc::BrotliEncoderParams {
        quality: BROTLI_QUALITY,
        lgwin: (fits as i32).clamp(BROTLI_MIN_WINDOW, BROTLI_WINDOW),
        size_hint: bytes.len(),
        ..Default::default()
    };
    let mut out = Vec::with_capacity(bytes.len() / 3);
    brotli::BrotliCompress(&mut &bytes[..], &mut out, &params)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::io::Read as _;

    use super::*;

    #[test]
    fn both_forms_decompress_to_the_original() {
        let page = "<p>Дербес деректер</p>\n".repeat(200);
        let gz = gzip(page.as_bytes()).expect("gzip");
        let mut back = String::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_string(&mut back)
            .expect("gunzip");
        assert_eq!(back, page);
        let br = brotli(page.as_bytes()).expect("brotli");
        let mut back = Vec::new();
        brotli::BrotliDecompress(&mut &br[..], &mut back).expect("unbrotli");
        assert_eq!(back, page.as_bytes());
        assert!(br.len() < page.len() / 10 && gz.len() < page.len() / 10);
        assert_eq!(
            gzip(b"x").expect("gzip"),
            gzip(b"x").expect("gzip"),
            "reproducible"
        );
    }

    #[test]
    fn a_copy_must_be_a_tenth_smaller() {
        assert!(worth_keeping(1000, 900) && !worth_keeping(1000, 901));
        assert!(
            worth_keeping(usize::MAX, 1) && !worth_keeping(0, 20),
            "saturates, no panic"
        );
        assert!(!worth_keeping(10, 20));
        let tiny = b"<p>x</p>";
        assert!(!worth_keeping(tiny.len(), gzip(tiny).expect("gzip").len()));
    }

    #[test]
    fn only_html_css_and_js_are_precompressed() {
        assert!(wanted("kk/index.html") && wanted("static/style.1a2b.css"));
        assert!(wanted("static/form.js"));
        assert!(!wanted("consent-manifest.json") && !wanted("static/logo.png"));
    }
}
