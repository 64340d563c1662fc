//! HTTP/1.1 over TLS by hand, with rustls: every header line exactly as Caddy sent it (a header
//! sent twice shows twice), bodies as they came (no decompression), a chosen source address
//! on loopback (so Caddy sees different clients), and a request that never finishes.

use std::io::{ErrorKind, Read as _, Write as _};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};

/// The client's TLS settings: trusting only the root certificate at `root` (Caddy's internal
/// CA), on the ring provider.
pub fn trusting(root: &Path) -> std::io::Result<Arc<ClientConfig>> {
    let cert = CertificateDer::from_pem_file(root).map_err(std::io::Error::other)?;
    let mut roots = RootCertStore::empty();
    roots.add(cert).map_err(std::io::Error::other)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(std::io::Error::other)?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// An answer as it came over the wire.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    /// Every header line, names in lower case, in order, repeated ones repeated.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    /// Every value of header `name`.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The value of header `name`, which must have been sent exactly once.
    pub fn once(&self, name: &str) -> &str {
        match self.all(name)[..] {
            [one] => one,
            ref other => panic!("{name} sent {} times: {other:?}\n{self}", other.len()),
        }
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("{e}: {self}"))
    }
}

impl std::fmt::Display for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "HTTP {}", self.status)?;
        for (name, value) in &self.headers {
            writeln!(f, "{name}: {value}")?;
        }
        write!(f, "({} body bytes)", self.body.len())
    }
}

/// A TCP connection to `to` from `from` (any 127.x.y.z address is this machine's loopback).
fn connect_from(from: Ipv4Addr, to: SocketAddr) -> std::io::Result<TcpStream> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()?;
    let stream = runtime.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4()?;
        socket.bind(SocketAddr::from((from, 0)))?;
        socket.connect(to).await
    })?;
    let stream = stream.into_std()?;
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_secs(20)))?;
    stream.set_write_timeout(Some(Duration::from_secs(20)))?;
    Ok(stream)
}

/// A TLS session with the server at `to` (named by its address, as Caddy's certificate is).
pub fn open(
    tls: &Arc<ClientConfig>,
    from: Ipv4Addr,
    to: SocketAddr,
) -> std::io::Result<StreamOwned<ClientConnection, TcpStream>> {
    let mut tcp = connect_from(from, to)?;
    let name = ServerName::from(to.ip());
    let mut session =
        ClientConnection::new(Arc::clone(tls), name).map_err(std::io::Error::other)?;
    while session.is_handshaking() {
        session.complete_io(&mut tcp)?;
    }
    Ok(StreamOwned::new(session, tcp))
}

/// Sends `request` (the whole of it, ending with `Connection: close`) and reads the answer to
/// the end. A write cut short is not an error here: a server may answer and close before it has
/// read a body it refuses, and the answer is what counts.
pub fn exchange(
    tls: &Arc<ClientConfig>,
    from: Ipv4Addr,
    to: SocketAddr,
    request: &[u8],
) -> std::io::Result<Reply> {
    let mut stream = open(tls, from, to)?;
    let _ = stream.write_all(request).and_then(|()| stream.flush());
    let mut raw = Vec::new();
    match stream.read_to_end(&mut raw) {
        Ok(_) => {}
        // A peer that closes without TLS's close_notify after a complete answer.
        Err(e) if e.kind() == ErrorKind::UnexpectedEof && !raw.is_empty() => {}
        Err(e) => return Err(e),
    }
    parse(&raw)
}

fn parse(raw: &[u8]) -> std::io::Result<Reply> {
    let bad = |what: &str| std::io::Error::new(ErrorKind::InvalidData, what.to_owned());
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| bad("no end of headers"))?;
    let head = std::str::from_utf8(&raw[..end]).map_err(|_| bad("headers not UTF-8"))?;
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| bad("no status line"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let rest = &raw[end + 4..];
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    let body = if chunked {
        dechunk(rest).ok_or_else(|| bad("broken chunked body"))?
    } else {
        rest.to_vec()
    };
    Ok(Reply {
        status,
        headers,
        body,
    })
}

fn dechunk(mut rest: &[u8]) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line_end = rest.windows(2).position(|w| w == b"\r\n")?;
        let size = std::str::from_utf8(&rest[..line_end]).ok()?;
        let size = usize::from_str_radix(size.split(';').next()?.trim(), 16).ok()?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Some(body);
        }
        body.extend_from_slice(rest.get(..size)?);
        rest = rest.get(size + 2..)?;
    }
}

/// A request body in chunked transfer coding, in pieces of 64 KiB.
pub fn chunked(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + body.len() / 1000 + 16);
    for piece in body.chunks(64 * 1024) {
        out.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        out.extend_from_slice(piece);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

/// Starts a request and never finishes its headers: one more header line a second. Returns
/// how long after the first byte the server closed the connection (or answered, which it does
/// only to refuse), or `None` if it was still open after `give_up`.
pub fn trickle_headers(
    tls: &Arc<ClientConfig>,
    to: SocketAddr,
    give_up: Duration,
) -> std::io::Result<Option<Duration>> {
    let mut stream = open(tls, Ipv4Addr::LOCALHOST, to)?;
    stream
        .sock
        .set_read_timeout(Some(Duration::from_millis(50)))?;
    let started = Instant::now();
    stream.write_all(format!("GET / HTTP/1.1\r\nHost: {to}\r\n").as_bytes())?;
    let mut line = 0;
    while started.elapsed() < give_up {
        std::thread::sleep(Duration::from_secs(1));
        line += 1;
        let mut buf = [0u8; 256];
        let closed = match stream
            .write_all(format!("X-Slow-{line}: a\r\n").as_bytes())
            .and_then(|()| stream.read(&mut buf))
        {
            Ok(_) => true,
            Err(e) => !matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
        };
        if closed {
            return Ok(Some(started.elapsed()));
        }
    }
    Ok(None)
}
