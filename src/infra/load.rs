//! A load generator for JSON-over-HTTP/1.1 services: `carelab bench serve`.
//!
//! N connections, each a keep-alive HTTP/1.1 connection on a tokio
//! `TcpStream`, send the same POST one after another (closed loop: a
//! connection sends its next request when the answer to the last one has
//! arrived), and every request's latency is kept, so the percentiles are
//! exact, not estimated from buckets. The client is deliberately minimal (a
//! request is pre-built bytes; an answer is read by `Content-Length` or
//! chunked encoding) so the load generator costs little of the CPU it
//! shares with the server on a small machine.
//!
//! It speaks plain HTTP only: it measures the service, not TLS.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::error::{Error, Result};

/// Where to send requests: the address, the Host header and the path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    pub addr: SocketAddr,
    pub host: String,
    pub path: String,
}

/// Parse `http://HOST:PORT/PATH` (HOST a name or an IP; the port defaults
/// to 80, the path to `/`). Names are resolved once, here.
pub fn parse_url(url: &str) -> Result<Url> {
    let bad = |found: &str| {
        Error::bad_input(
            "--url",
            None,
            "http://HOST:PORT/PATH (plain HTTP)",
            found.to_string(),
        )
    };
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| bad("a URL that does not start with http://"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if authority.is_empty() {
        return Err(bad("no host"));
    }
    let with_port = if authority.rsplit_once(':').is_some_and(|(_, p)| {
        !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()) && !authority.ends_with(']')
    }) {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    use std::net::ToSocketAddrs;
    let addr = with_port
        .to_socket_addrs()
        .map_err(|e| bad(&format!("a host that does not resolve ({e})")))?
        .next()
        .ok_or_else(|| bad("a host with no address"))?;
    Ok(Url {
        addr,
        host: authority.to_string(),
        path: path.to_string(),
    })
}

/// The bytes of one POST with a JSON body.
pub fn post_request(url: &Url, token: Option<&str>, body: &[u8]) -> Vec<u8> {
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let mut out = format!(
        "POST {} HTTP/1.1\r\nHost: {}\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        url.path,
        url.host,
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

/// One answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
    /// False when the server said `Connection: close`.
    pub keep_alive: bool,
}

/// One keep-alive HTTP/1.1 connection.
pub struct Connection {
    stream: TcpStream,
    /// Bytes read past the end of the last answer.
    buf: Vec<u8>,
}

/// Longest an answer's head may be.
const MAX_HEAD: usize = 64 * 1024;

fn protocol(what: impl Into<String>) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, what.into())
}

impl Connection {
    pub async fn connect(addr: SocketAddr) -> std::io::Result<Connection> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Connection {
            stream,
            buf: Vec::with_capacity(4096),
        })
    }

    /// Send a whole request (as `post_request` builds it) and read the answer.
    pub async fn send(&mut self, request: &[u8]) -> std::io::Result<Answer> {
        self.stream.write_all(request).await?;
        self.read_answer(true).await
    }

    /// `send`, reading past the answer's body without keeping it: what the
    /// load loop does, which looks only at the status.
    async fn send_discarding(&mut self, request: &[u8]) -> std::io::Result<Answer> {
        self.stream.write_all(request).await?;
        self.read_answer(false).await
    }

    /// Read what the socket has into the buffer's spare room (no bounce
    /// buffer to zero and copy from).
    async fn fill(&mut self) -> std::io::Result<()> {
        self.buf.reserve(8192);
        let n = self.stream.read_buf(&mut self.buf).await?;
        if n == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "the server closed the connection",
            ));
        }
        Ok(())
    }

    /// The first `n` buffered bytes, kept or dropped.
    fn take(&mut self, n: usize, keep: bool) -> Vec<u8> {
        if keep {
            self.buf.drain(..n).collect()
        } else {
            self.buf.drain(..n);
            Vec::new()
        }
    }

    async fn read_answer(&mut self, keep_body: bool) -> std::io::Result<Answer> {
        let head_end = loop {
            if let Some(i) = find(&self.buf, b"\r\n\r\n") {
                break i;
            }
            if self.buf.len() > MAX_HEAD {
                return Err(protocol("an answer head over 64 KiB"));
            }
            self.fill().await?;
        };
        let head = parse_head(&self.buf[..head_end])?;
        let (status, mut keep_alive) = (head.status, head.keep_alive);
        self.buf.drain(..head_end + 4);
        let body = if head.chunked {
            self.read_chunked(keep_body).await?
        } else if let Some(n) = head.length {
            while self.buf.len() < n {
                self.fill().await?;
            }
            self.take(n, keep_body)
        } else if status == 204 || status == 304 || (100..200).contains(&status) {
            Vec::new()
        } else {
            // No length: the body runs to the end of the connection.
            let mut rest = std::mem::take(&mut self.buf);
            self.stream.read_to_end(&mut rest).await?;
            keep_alive = false;
            rest
        };
        Ok(Answer {
            status,
            body,
            keep_alive,
        })
    }

    async fn read_chunked(&mut self, keep: bool) -> std::io::Result<Vec<u8>> {
        let mut body = Vec::new();
        loop {
            let line_end = loop {
                if let Some(i) = find(&self.buf, b"\r\n") {
                    break i;
                }
                if self.buf.len() > MAX_HEAD {
                    return Err(protocol("a chunk size line over 64 KiB"));
                }
                self.fill().await?;
            };
            let size_text = String::from_utf8_lossy(&self.buf[..line_end]).into_owned();
            let size_text = size_text.split(';').next().unwrap_or("").trim();
            let size = usize::from_str_radix(size_text, 16)
                .map_err(|_| protocol("a chunk size that is not hexadecimal"))?;
            self.buf.drain(..line_end + 2);
            if size == 0 {
                // Trailers (none expected) end with an empty line.
                loop {
                    if let Some(i) = find(&self.buf, b"\r\n") {
                        let empty = i == 0;
                        self.buf.drain(..i + 2);
                        if empty {
                            return Ok(body);
                        }
                    } else {
                        self.fill().await?;
                    }
                }
            }
            while self.buf.len() < size + 2 {
                self.fill().await?;
            }
            body.extend(self.take(size, keep));
            self.buf.drain(..2);
        }
    }
}

/// What an answer's head says about the answer.
struct Head {
    status: u16,
    length: Option<usize>,
    chunked: bool,
    keep_alive: bool,
}

/// Read a status line and headers (borrowed: valid UTF-8, as heads are,
/// costs no copy).
fn parse_head(bytes: &[u8]) -> std::io::Result<Head> {
    let text = String::from_utf8_lossy(bytes);
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| protocol("a status line that is not HTTP/1.x NNN"))?;
    let mut head = Head {
        status,
        length: None,
        chunked: false,
        keep_alive: !status_line.starts_with("HTTP/1.0"),
    };
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            head.length = Some(
                value
                    .parse::<usize>()
                    .map_err(|_| protocol("a Content-Length that is not a number"))?,
            );
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            head.chunked = value.to_ascii_lowercase().contains("chunked");
        } else if name.eq_ignore_ascii_case("connection") {
            head.keep_alive = !value.eq_ignore_ascii_case("close");
        }
    }
    Ok(head)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// When a load run ends.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Stop {
    /// After this many requests in all.
    Requests(u64),
    /// After this long (requests in flight then still finish).
    Duration(Duration),
}

/// What to run.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    pub connections: usize,
    pub stop: Stop,
    /// Longest one request may take before it counts as an error.
    pub timeout: Duration,
}

/// Latency percentiles in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Latency {
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

/// The result of a load run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LoadReport {
    pub url: String,
    pub connections: usize,
    /// Requests answered (any status).
    pub requests: u64,
    /// Requests that got no answer (connection refused or reset, timeout,
    /// an answer that is not HTTP).
    pub errors: u64,
    pub seconds: f64,
    pub requests_per_sec: f64,
    /// Of the answered requests.
    pub latency_ms: Latency,
    /// Answers by status code.
    pub status: BTreeMap<u16, u64>,
    /// Answers with status 500 or above.
    pub server_errors: u64,
    /// The first transport error, if any (for the report; no request data).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_error: Option<String>,
}

impl LoadReport {
    /// The report as a small table a person reads.
    pub fn to_text(&self) -> String {
        let l = &self.latency_ms;
        let mut t = format!(
            "{} over {} connection(s): {} requests in {:.2} s\n",
            self.url, self.connections, self.requests, self.seconds
        );
        t.push_str(&format!(
            "{:>14}{:>10}{:>10}{:>10}{:>10}{:>10}\n",
            "requests/s", "mean ms", "p50 ms", "p90 ms", "p99 ms", "max ms"
        ));
        t.push_str(&format!(
            "{:>14.0}{:>10.3}{:>10.3}{:>10.3}{:>10.3}{:>10.3}\n",
            self.requests_per_sec, l.mean, l.p50, l.p90, l.p99, l.max
        ));
        let codes: Vec<String> = self
            .status
            .iter()
            .map(|(code, n)| format!("{code}: {n}"))
            .collect();
        t.push_str(&format!("status  {}\n", codes.join("  ")));
        if self.errors > 0 {
            t.push_str(&format!(
                "errors  {} without an answer (first: {})\n",
                self.errors,
                self.first_error.as_deref().unwrap_or("-")
            ));
        }
        t
    }
}

/// What one connection measured.
#[derive(Default)]
struct Tally {
    latencies_us: Vec<u32>,
    status: BTreeMap<u16, u64>,
    errors: u64,
    first_error: Option<String>,
}

impl Tally {
    fn error(&mut self, e: impl std::fmt::Display) {
        self.errors += 1;
        if self.first_error.is_none() {
            self.first_error = Some(e.to_string());
        }
    }
}

/// A load run repeated after an untimed warm-up, with its spread: one run
/// on a shared machine is not a figure (the first requests also pay for
/// connections, page faults and the server's first allocations).
#[derive(Debug, Clone, Serialize)]
pub struct Repeated {
    /// Requests sent before timing began (their figures are dropped).
    pub warmup_requests: u64,
    /// Median, slowest and fastest run.
    pub requests_per_sec: crate::infra::bench::Spread,
    pub p50_ms: crate::infra::bench::Spread,
    pub p99_ms: crate::infra::bench::Spread,
    /// The machine's 1-minute load average just before the warm-up and just
    /// after the last run: near or above the core count, other work shared
    /// the cores (and the load generator always shares them with a local
    /// server).
    pub load_before: Option<f64>,
    pub load_after: Option<f64>,
    pub runs: Vec<LoadReport>,
}

impl Repeated {
    /// The run whose requests per second is the median (the lower middle of
    /// an even count): the one whose full table is shown.
    pub fn median_run(&self) -> &LoadReport {
        let mut order: Vec<&LoadReport> = self.runs.iter().collect();
        order.sort_by(|a, b| a.requests_per_sec.total_cmp(&b.requests_per_sec));
        order[(order.len() - 1) / 2]
    }

    /// Requests without an answer and 5xx answers, over every timed run.
    pub fn failures(&self) -> (u64, u64) {
        self.runs
            .iter()
            .fold((0, 0), |(e, s), r| (e + r.errors, s + r.server_errors))
    }
}

/// `warmup` requests untimed (0 for none), then `repeats` timed runs of
/// `opts`.
pub async fn repeated(
    url: &Url,
    request: Vec<u8>,
    opts: &LoadOptions,
    warmup: u64,
    repeats: usize,
) -> Result<Repeated> {
    use crate::infra::bench::{load_average, Spread};
    if repeats == 0 {
        return Err(Error::usage("--repeats must be at least 1"));
    }
    let load_before = load_average();
    if warmup > 0 {
        let warm = LoadOptions {
            stop: Stop::Requests(warmup),
            ..opts.clone()
        };
        run(url, request.clone(), &warm).await?;
    }
    let mut runs = Vec::with_capacity(repeats);
    for _ in 0..repeats {
        runs.push(run(url, request.clone(), opts).await?);
    }
    let spread = |f: fn(&LoadReport) -> f64| {
        let values: Vec<f64> = runs.iter().map(f).collect();
        Spread::of(&values).expect("at least one run")
    };
    Ok(Repeated {
        warmup_requests: warmup,
        requests_per_sec: spread(|r| r.requests_per_sec),
        p50_ms: spread(|r| r.latency_ms.p50),
        p99_ms: spread(|r| r.latency_ms.p99),
        load_before,
        load_after: load_average(),
        runs,
    })
}

/// Drive `url` with `request` (the bytes of one request) until `opts.stop`.
pub async fn run(url: &Url, request: Vec<u8>, opts: &LoadOptions) -> Result<LoadReport> {
    if opts.connections == 0 {
        return Err(Error::usage("--connections must be at least 1"));
    }
    match opts.stop {
        Stop::Requests(0) => return Err(Error::usage("--requests must be at least 1")),
        Stop::Duration(d) if d.is_zero() => {
            return Err(Error::usage("--duration must be positive"))
        }
        _ => {}
    }
    let request: Arc<[u8]> = request.into();
    let issued = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = match opts.stop {
        Stop::Duration(d) => Some(started + d),
        Stop::Requests(_) => None,
    };
    let limit = match opts.stop {
        Stop::Requests(n) => n,
        Stop::Duration(_) => u64::MAX,
    };
    let mut workers = Vec::with_capacity(opts.connections);
    for _ in 0..opts.connections {
        let request = request.clone();
        let issued = issued.clone();
        let addr = url.addr;
        let timeout = opts.timeout;
        workers.push(tokio::spawn(async move {
            let mut tally = Tally::default();
            let mut conn: Option<Connection> = None;
            // A connection that cannot be (re)opened twice in a row gives up,
            // so a dead server ends the run instead of spinning.
            let mut failed_connects = 0;
            loop {
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    break;
                }
                if issued.fetch_add(1, Ordering::Relaxed) >= limit {
                    break;
                }
                let c = match conn.as_mut() {
                    Some(c) => c,
                    None => match Connection::connect(addr).await {
                        Ok(c) => {
                            failed_connects = 0;
                            conn.insert(c)
                        }
                        Err(e) => {
                            tally.error(format!("connect: {e}"));
                            failed_connects += 1;
                            if failed_connects >= 2 {
                                break;
                            }
                            continue;
                        }
                    },
                };
                let sent = Instant::now();
                match tokio::time::timeout(timeout, c.send_discarding(&request)).await {
                    Ok(Ok(answer)) => {
                        let us = sent.elapsed().as_micros().min(u128::from(u32::MAX)) as u32;
                        tally.latencies_us.push(us);
                        *tally.status.entry(answer.status).or_insert(0) += 1;
                        if !answer.keep_alive {
                            conn = None;
                        }
                    }
                    Ok(Err(e)) => {
                        tally.error(e);
                        conn = None;
                    }
                    Err(_) => {
                        tally.error(format!("no answer within {timeout:?}"));
                        conn = None;
                    }
                }
            }
            tally
        }));
    }
    let mut all = Tally::default();
    for w in workers {
        let t = w
            .await
            .map_err(|e| Error::failure(format!("a load connection failed: {e}")))?;
        all.latencies_us.extend(t.latencies_us);
        for (code, n) in t.status {
            *all.status.entry(code).or_insert(0) += n;
        }
        all.errors += t.errors;
        if all.first_error.is_none() {
            all.first_error = t.first_error;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let requests = all.latencies_us.len() as u64;
    let server_errors = all
        .status
        .iter()
        .filter(|(code, _)| **code >= 500)
        .map(|(_, n)| n)
        .sum();
    Ok(LoadReport {
        url: format!("http://{}{}", url.host, url.path),
        connections: opts.connections,
        requests,
        errors: all.errors,
        seconds,
        requests_per_sec: if seconds > 0.0 {
            requests as f64 / seconds
        } else {
            0.0
        },
        latency_ms: latency(all.latencies_us),
        status: all.status,
        server_errors,
        first_error: all.first_error,
    })
}

/// Exact percentiles (nearest rank) of latencies in microseconds, in ms.
pub fn latency(mut us: Vec<u32>) -> Latency {
    if us.is_empty() {
        return Latency {
            mean: 0.0,
            p50: 0.0,
            p90: 0.0,
            p99: 0.0,
            max: 0.0,
        };
    }
    us.sort_unstable();
    let ms = |x: u32| f64::from(x) / 1000.0;
    let rank = |p: f64| {
        let k = ((p / 100.0) * us.len() as f64).ceil() as usize;
        ms(us[k.clamp(1, us.len()) - 1])
    };
    let sum: f64 = us.iter().map(|&x| f64::from(x)).sum();
    Latency {
        mean: sum / us.len() as f64 / 1000.0,
        p50: rank(50.0),
        p90: rank(90.0),
        p99: rank(99.0),
        max: ms(us[us.len() - 1]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_with_and_without_port_and_path() {
        let u = parse_url("http://127.0.0.1:18080/predict").unwrap();
        assert_eq!(u.addr, "127.0.0.1:18080".parse().unwrap());
        assert_eq!(u.host, "127.0.0.1:18080");
        assert_eq!(u.path, "/predict");
        let u = parse_url("http://127.0.0.1").unwrap();
        assert_eq!(u.addr.port(), 80);
        assert_eq!(u.path, "/");
        assert!(parse_url("https://127.0.0.1/").is_err());
        assert!(parse_url("http:///x").is_err());
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let us: Vec<u32> = (1..=100).map(|i| i * 1000).collect();
        let l = latency(us);
        assert_eq!(l.p50, 50.0);
        assert_eq!(l.p90, 90.0);
        assert_eq!(l.p99, 99.0);
        assert_eq!(l.max, 100.0);
        assert!((l.mean - 50.5).abs() < 1e-9);
        assert_eq!(latency(vec![]).p99, 0.0);
        assert_eq!(latency(vec![7000]).p50, 7.0);
    }

    #[test]
    fn post_request_has_length_and_token() {
        let u = parse_url("http://127.0.0.1:9/v1/predict").unwrap();
        let r = String::from_utf8(post_request(&u, Some("t0k"), b"{}")).unwrap();
        assert!(r.starts_with("POST /v1/predict HTTP/1.1\r\nHost: 127.0.0.1:9\r\n"));
        assert!(r.contains("Authorization: Bearer t0k\r\n"));
        assert!(r.ends_with("Content-Length: 2\r\n\r\n{}"));
    }

    /// A fake server that answers with fixed bytes, in pieces, to check
    /// the reader on content-length, chunked and close-delimited bodies.
    async fn answer_of(raw: &'static [u8]) -> Answer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf).await;
            for piece in raw.chunks(7) {
                s.write_all(piece).await.unwrap();
                s.flush().await.unwrap();
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        });
        let mut c = Connection::connect(addr).await.unwrap();
        let u = parse_url(&format!("http://{addr}/")).unwrap();
        c.send(&post_request(&u, None, b"{}")).await.unwrap()
    }

    #[tokio::test]
    async fn reads_every_body_framing() {
        let a = answer_of(b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello").await;
        assert_eq!(
            (a.status, a.body.as_slice(), a.keep_alive),
            (200, &b"hello"[..], true)
        );
        let a = answer_of(
            b"HTTP/1.1 422 X\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nwiki\r\n5;x=1\r\npedia\r\n0\r\n\r\n",
        )
        .await;
        assert_eq!((a.status, a.body.as_slice()), (422, &b"wikipedia"[..]));
        let a = answer_of(b"HTTP/1.1 503 X\r\nConnection: close\r\n\r\nbye").await;
        assert_eq!(
            (a.status, a.body.as_slice(), a.keep_alive),
            (503, &b"bye"[..], false)
        );
    }
}
