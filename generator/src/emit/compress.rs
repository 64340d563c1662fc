//! Precompressed copies of the files a browser fetches for every page: `.br` and `.gz` next to
//! each HTML, CSS and JS file the build writes, so a server or CDN sends them as they are
//! (by `Accept-Encoding`) instead of compressing on every request, or not at all.
//!
//! The levels favour a fast build, since every page is compressed twice on every build: gzip 6
//! and Brotli quality 4, its window no larger than the file. On the benchmark corpus gzip 9 with Brotli 5 took
//! about 1.3 ms of CPU a page, five times the page's own rendering.

use std::io::Write as _;

use flate2::Compression;
use flate2::write::GzEncoder;

/// Brotli quality (0–11).
const BROTLI_QUALITY: i32 = 4;
/// The largest Brotli window, log2 bytes (4 MiB).
const BROTLI_WINDOW: i32 = 22;

/// Whether the build writes precompressed copies of the file at `path`.
pub fn wanted(path: &str) -> bool {
    [".html", ".css", ".js"].iter().any(|e| path.ends_with(e))
}

/// The gzip form of `bytes` (no file name, time stamp 0, so builds are reproducible).
pub fn gzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut encoder = GzEncoder::new(Vec::with_capacity(bytes.len() / 3), Compression::new(6));
    encoder.write_all(bytes)?;
    encoder.finish()
}

/// The Brotli form of `bytes`.
pub fn brotli(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    // A window no larger than the file: the encoder's tables grow with the window, and
    // setting up a 4 MiB window for a 10 KB page costs more than compressing it.
    let fits = usize::BITS - bytes.len().max(1).leading_zeros();
    let params = brotli::enc::BrotliEncoderParams {
        quality: BROTLI_QUALITY,
        lgwin: (fits as i32).clamp(10, BROTLI_WINDOW),
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
    fn only_html_css_and_js_are_precompressed() {
        assert!(wanted("kk/index.html") && wanted("static/style.1a2b.css"));
        assert!(wanted("static/form.js"));
        assert!(!wanted("consent-manifest.json") && !wanted("static/logo.png"));
    }
}
