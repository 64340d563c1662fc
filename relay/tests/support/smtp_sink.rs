//! A small SMTP server on a loopback port for the delivery tests: it speaks enough ESMTP for
//! lettre (EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT), keeps every accepted message, and can be
//! told to refuse DATA with a transient error. A real conversation over TCP, not a stub
//! transport.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// One accepted message.
#[derive(Debug, Clone)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    /// The DATA as sent (headers and encoded body), dot-unstuffed.
    pub raw: String,
}

impl Received {
    /// A header's value (first occurrence), unfolded.
    pub fn header(&self, name: &str) -> Option<String> {
        let (head, _) = self.raw.split_once("\r\n\r\n")?;
        let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
        unfolded.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name)
                .then(|| value.trim().to_owned())
        })
    }

    /// The text, decoded from quoted-printable or base64 as its header says (the first
    /// text part of a multipart message).
    pub fn body(&self) -> String {
        match self.parts() {
            Some(parts) => parts
                .into_iter()
                .find(|p| p.content_type.starts_with("text/plain"))
                .map(|p| p.content)
                .unwrap_or_default(),
            None => {
                let (_, body) = self.raw.split_once("\r\n\r\n").unwrap_or(("", &self.raw));
                decode(
                    body,
                    &self.header("Content-Transfer-Encoding").unwrap_or_default(),
                )
            }
        }
    }

    /// The attached files, by name, decoded.
    pub fn attachments(&self) -> Vec<(String, String, String)> {
        self.parts()
            .unwrap_or_default()
            .into_iter()
            .filter_map(|p| Some((p.filename?, p.content_type, p.content)))
            .collect()
    }

    /// The parts of a multipart message, or `None` for a single part.
    fn parts(&self) -> Option<Vec<Part>> {
        let content_type = self.header("Content-Type")?;
        if !content_type.to_ascii_lowercase().starts_with("multipart/") {
            return None;
        }
        let boundary = content_type
            .split(';')
            .find_map(|p| p.trim().strip_prefix("boundary="))?
            .trim_matches('"')
            .to_owned();
        let (_, body) = self.raw.split_once("\r\n\r\n")?;
        let delimiter = format!("--{boundary}");
        Some(
            body.split(delimiter.as_str())
                .skip(1)
                .filter(|chunk| !chunk.starts_with("--"))
                .filter_map(|chunk| {
                    let chunk = chunk.trim_start_matches("\r\n");
                    let (head, content) = chunk.split_once("\r\n\r\n")?;
                    let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
                    let header = |name: &str| {
                        unfolded.lines().find_map(|line| {
                            let (key, value) = line.split_once(':')?;
                            key.eq_ignore_ascii_case(name)
                                .then(|| value.trim().to_owned())
                        })
                    };
                    // `filename="x"`, or in RFC 2231 pieces `filename*0="x"; filename*1=…`.
                    let filename = header("Content-Disposition").and_then(|d| {
                        let pieces: String = d
                            .split(';')
                            .filter_map(|p| {
                                let (key, value) = p.trim().split_once('=')?;
                                (key == "filename" || key.starts_with("filename*"))
                                    .then(|| value.trim_matches('"').to_owned())
                            })
                            .collect();
                        (!pieces.is_empty()).then_some(pieces)
                    });
                    Some(Part {
                        content_type: header("Content-Type").unwrap_or_default(),
                        filename,
                        content: decode(
                            content.trim_end_matches("\r\n"),
                            &header("Content-Transfer-Encoding").unwrap_or_default(),
                        ),
                    })
                })
                .collect(),
        )
    }
}

/// One part of a multipart message.
struct Part {
    content_type: String,
    filename: Option<String>,
    content: String,
}

/// `body` decoded from its transfer `encoding`, with CRLF as LF.
fn decode(body: &str, encoding: &str) -> String {
    let bytes = match encoding.to_ascii_lowercase().as_str() {
        "quoted-printable" => {
            quoted_printable::decode(body, quoted_printable::ParseMode::Robust).unwrap()
        }
        "base64" => base64::engine::general_purpose::STANDARD
            .decode(body.split_whitespace().collect::<String>())
            .unwrap(),
        _ => body.as_bytes().to_vec(),
    };
    String::from_utf8(bytes).unwrap().replace("\r\n", "\n")
}

/// The running sink.
#[derive(Debug, Clone)]
pub struct SmtpSink {
    pub addr: SocketAddr,
    received: Arc<Mutex<Vec<Received>>>,
    /// How many DATA commands to refuse with 451 before accepting.
    refuse_next: Arc<AtomicU32>,
    /// Recipients (by a part of the address) refused for good: RCPT answers 550.
    reject: Arc<Mutex<Vec<String>>>,
    /// Every RCPT TO seen, accepted or not, in order.
    attempts: Arc<Mutex<Vec<String>>>,
    /// How long the sink takes to accept each message (a slow mail server).
    delay: Arc<Mutex<std::time::Duration>>,
}

impl SmtpSink {
    /// Starts a sink on a free loopback port.
    pub async fn start() -> Self {
        Self::start_on("127.0.0.1:0".parse().unwrap()).await
    }

    /// Starts a sink on `addr` (to bring a "down" server back on its old port).
    pub async fn start_on(addr: SocketAddr) -> Self {
        let listener = TcpListener::bind(addr).await.unwrap();
        let sink = Self {
            addr: listener.local_addr().unwrap(),
            received: Arc::default(),
            refuse_next: Arc::default(),
            reject: Arc::default(),
            attempts: Arc::default(),
            delay: Arc::default(),
        };
        let shared = sink.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let sink = shared.clone();
                tokio::spawn(async move { sink.session(socket).await });
            }
        });
        sink
    }

    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    pub fn refuse_next(&self, count: u32) {
        self.refuse_next.store(count, Ordering::SeqCst);
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Answers `550 5.1.1` to every recipient whose address contains `part`.
    pub fn reject_recipient(&self, part: &str) {
        self.reject.lock().unwrap().push(part.to_ascii_lowercase());
    }

    /// How many times a recipient containing `part` was tried (RCPT TO), accepted or not.
    pub fn attempts_for(&self, part: &str) -> usize {
        let part = part.to_ascii_lowercase();
        self.attempts
            .lock()
            .unwrap()
            .iter()
            .filter(|to| to.to_ascii_lowercase().contains(&part))
            .count()
    }

    /// Takes `delay` to accept each message.
    pub fn slow_down(&self, delay: std::time::Duration) {
        *self.delay.lock().unwrap() = delay;
    }

    async fn session(&self, socket: tokio::net::TcpStream) {
        let (read, mut write) = socket.into_split();
        let mut lines = BufReader::new(read).lines();
        let mut from = String::new();
        let mut to = Vec::new();
        macro_rules! reply {
            ($text:expr) => {
                if write.write_all($text.as_bytes()).await.is_err() {
                    return;
                }
            };
        }
        reply!("220 kelisim-test-sink ESMTP\r\n");
        while let Ok(Some(line)) = lines.next_line().await {
            let upper = line.to_ascii_uppercase();
            if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                reply!("250-kelisim-test-sink\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n");
            } else if upper.starts_with("MAIL FROM:") {
                from = line[10..].trim().to_owned();
                to.clear();
                reply!("250 OK\r\n");
            } else if upper.starts_with("RCPT TO:") {
                let rcpt = line[8..].trim().to_owned();
                self.attempts.lock().unwrap().push(rcpt.clone());
                let lower = rcpt.to_ascii_lowercase();
                if self
                    .reject
                    .lock()
                    .unwrap()
                    .iter()
                    .any(|part| lower.contains(part))
                {
                    reply!("550 5.1.1 no such mailbox\r\n");
                    continue;
                }
                to.push(rcpt);
                reply!("250 OK\r\n");
            } else if upper == "DATA" {
                let refuse = self
                    .refuse_next
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok();
                if refuse {
                    reply!("451 4.3.0 try again later\r\n");
                    continue;
                }
                reply!("354 go ahead\r\n");
                let mut raw = String::new();
                while let Ok(Some(data)) = lines.next_line().await {
                    if data == "." {
                        break;
                    }
                    raw.push_str(data.strip_prefix('.').unwrap_or(&data));
                    raw.push_str("\r\n");
                }
                let delay = *self.delay.lock().unwrap();
                if !delay.is_zero() {
                    tokio::time::sleep(delay).await;
                }
                self.received.lock().unwrap().push(Received {
                    from: from.clone(),
                    to: to.clone(),
                    raw,
                });
                reply!("250 OK queued\r\n");
            } else if upper == "QUIT" {
                reply!("221 bye\r\n");
                return;
            } else {
                // RSET, NOOP and anything else.
                reply!("250 OK\r\n");
            }
        }
    }
}
