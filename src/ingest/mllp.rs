//! The live HL7 v2 feed: an MLLP listener that acknowledges every message
//! the way a hospital's interface engine expects, and a replay client that
//! sends a feed file one message at a time, as an interface engine would.
//!
//! MLLP wraps each message in a frame: VT (0x0B), the message, FS CR
//! (0x1C 0x0D). The listener answers each frame with an ACK framed the same
//! way:
//! - AA (accepted): the message parsed and decoded, or is of a type
//!   CareLab does not read (ingest skips it and counts it by type); it has
//!   been appended to `feed.hl7` in the output folder and flushed to disk
//!   *before* the ACK left, so an AA is a promise that the message is kept;
//! - AE (application error): the message parsed but its content cannot be
//!   used (a date that is no date, a result that is no number);
//! - AR (application reject): the message could not be parsed at all (no
//!   MSH, wrong delimiters, a truncated segment).
//!
//! AE and AR carry an ERR segment naming the segment, its position and the
//! field (ERR-2), an HL7 error code (ERR-3, table 0357) and what was expected
//! and found (ERR-8); the message itself goes to `rejected.csv` with the
//! same reason, so nothing received is lost. The feed file is append-safe:
//! each accepted message is written whole, terminated by a newline, and
//! synced; `carelab ingest --hl7 DIR/feed.hl7` reads it as it grows.

use std::fs::{File, OpenOptions};
use std::future::Future;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::artifact::Manifest;
use crate::error::{Error, IoContext, Result};
use crate::formats::hl7v2::{self, escape, AckCode, Delimiters, Feed, Limits, Message};

const VT: u8 = 0x0b;
const FS: u8 = 0x1c;
const CR: u8 = 0x0d;

/// How long a shutdown waits for connections to finish what they received.
const DRAIN: Duration = Duration::from_secs(5);

/// What went wrong with the framing of a stream (not with a message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameError {
    /// Bytes outside any frame (neither whitespace nor VT), dropped.
    Junk(usize),
    /// A frame started (VT) before the previous one ended (FS CR): the
    /// unfinished one is dropped unacknowledged, so its sender resends it.
    Truncated(usize),
    /// A frame longer than the limit; the connection is closed.
    TooLong(usize),
}

/// Incremental MLLP deframer: push bytes as they arrive, take whole frames.
/// A frame arriving in many small reads is scanned once, not once a read.
#[derive(Debug)]
pub struct Deframer {
    buf: Vec<u8>,
    max: usize,
    /// With a frame start (VT) at `buf[0]`: bytes before this index hold no
    /// FS or VT.
    scanned: usize,
}

impl Deframer {
    /// A deframer refusing frames longer than `max` bytes.
    pub fn new(max: usize) -> Deframer {
        Deframer {
            buf: Vec::new(),
            max,
            scanned: 1,
        }
    }

    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Drop the first `n` bytes; the scan restarts at the next frame.
    fn consume(&mut self, n: usize) {
        self.buf.drain(..n);
        self.scanned = 1;
    }

    /// The next whole frame's content, a framing problem, or `None` when
    /// more bytes are needed.
    pub fn next_frame(&mut self) -> Option<std::result::Result<Vec<u8>, FrameError>> {
        let start = self.buf.iter().position(|b| !b.is_ascii_whitespace());
        let Some(start) = start else {
            self.buf.clear();
            self.scanned = 1;
            return None;
        };
        if self.buf.get(start) != Some(&VT) {
            let end = self.buf[start..]
                .iter()
                .position(|&b| b == VT)
                .map_or(self.buf.len(), |i| start + i);
            self.consume(end);
            return Some(Err(FrameError::Junk(end - start)));
        }
        if start > 0 {
            self.consume(start);
        }
        let from = self.scanned.max(1);
        let stop = self.buf[from..]
            .iter()
            .position(|&b| b == FS || b == VT)
            .map(|i| from + i);
        match stop {
            Some(i) if self.buf[i] == VT => {
                self.consume(i);
                Some(Err(FrameError::Truncated(i - 1)))
            }
            Some(i) => {
                // FS ends the frame; the CR after it is expected but a
                // missing one is tolerated once more bytes show it is absent
                let after = match self.buf.get(i + 1) {
                    Some(&CR) => i + 2,
                    Some(_) => i + 1,
                    None => {
                        self.scanned = i;
                        return None;
                    }
                };
                let frame = self.buf[1..i].to_vec();
                self.consume(after);
                Some(Ok(frame))
            }
            None if self.buf.len() - 1 > self.max => {
                let n = self.buf.len() - 1;
                self.buf.clear();
                self.scanned = 1;
                Some(Err(FrameError::TooLong(n)))
            }
            None => {
                self.scanned = self.buf.len();
                None
            }
        }
    }
}

/// MLLP frame of a message: VT, the message, FS CR.
pub fn frame(msg: &str) -> Vec<u8> {
    hl7v2::mllp_frame(msg)
}

/// What the listener decided about one message.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub code: AckCode,
    /// The ACK message to send back (segments end in CR).
    pub ack: String,
    /// MSH-10 of the message, when it could be read.
    pub control_id: String,
    /// ERR-2 location (`OBX^3^5`), empty when accepted or unknown.
    pub location: String,
    /// What was wrong (expected and found; never field contents).
    pub error: String,
    /// The message as text (what goes into the feed when accepted).
    pub text: String,
}

/// Judge one framed message: parse, decode, and build its ACK. `number`
/// counts messages on the listener from 1 and names it in errors.
pub fn judge(source: &str, number: usize, bytes: &[u8]) -> Verdict {
    let text = match Feed::from_bytes(source, bytes) {
        Ok(feed) => feed.text,
        Err(e) => {
            let text = String::from_utf8_lossy(bytes).into_owned();
            return reject_unparsed(&text, "100", &e);
        }
    };
    let parts = hl7v2::split_messages(&text);
    if parts.len() != 1 {
        let e = Error::bad_input(
            source,
            Some(format!("frame {number}")),
            "exactly one message (one MSH) per MLLP frame",
            format!("{} messages", parts.len()),
        );
        return reject_unparsed(&text, "100", &e);
    }
    let msg = match Message::parse(source, number, &text, Limits::default()) {
        Ok(m) => m,
        Err(e) => return reject_unparsed(&text, error_code(&e), &e),
    };
    let control_id = msg
        .first("MSH")
        .and_then(|m| m.value(10))
        .map(|c| c.into_owned())
        .unwrap_or_default();
    // a type CareLab does not read is accepted and kept (ingest counts it
    // as skipped by type); one it reads must decode
    if super::source::hl7v2::reads_event(&hl7v2::message_event(&msg)) {
        if let Err(e) = hl7v2::decode(&msg) {
            return answer(&msg, AckCode::AE, error_code(&e), &e, control_id);
        }
    }
    Verdict {
        code: AckCode::AA,
        ack: hl7v2::ack(&msg, AckCode::AA, ""),
        control_id,
        location: String::new(),
        error: String::new(),
        text: text.clone(),
    }
}

/// HL7 table 0357 code for a parser or decoder error.
fn error_code(e: &Error) -> &'static str {
    match e {
        Error::BadInput { found, .. } if found == "nothing" => "101",
        Error::BadInput { location, .. }
            if location.as_deref().is_some_and(|l| l.contains("field")) =>
        {
            "102"
        }
        _ => "100",
    }
}

fn error_name(code: &str) -> &'static str {
    match code {
        "101" => "Required field missing",
        "102" => "Data type error",
        "200" => "Unsupported message type",
        _ => "Segment sequence error",
    }
}

/// ERR-2 (segment^sequence^field) from an error location like
/// `message 3, segment OBX #5, field OBX-5`; empty when it names none.
fn err_location(e: &Error, d: &Delimiters) -> String {
    let Error::BadInput {
        location: Some(l), ..
    } = e
    else {
        return String::new();
    };
    let seg = l.split("segment ").nth(1).and_then(|r| r.get(..3));
    let seq = l.split('#').nth(1).map(|r| {
        r.chars()
            .take_while(char::is_ascii_digit)
            .collect::<String>()
    });
    let field = l
        .split("field ")
        .nth(1)
        .and_then(|r| r.split('-').nth(1))
        .map(|r| {
            r.chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
        });
    match seg {
        Some(seg) => {
            let c = d.component;
            format!(
                "{seg}{c}{}{c}{}",
                seq.unwrap_or_default(),
                field.unwrap_or_default()
            )
        }
        None => String::new(),
    }
}

fn describe(e: &Error) -> String {
    match e {
        Error::BadInput {
            expected, found, ..
        } => format!("expected {expected}, found {found}"),
        other => other.to_string(),
    }
}

/// ERR segment: location, HL7 error code, severity E, user message.
fn err_segment(d: &Delimiters, location: &str, code: &str, detail: &str) -> String {
    let (f, c) = (d.field, d.component);
    format!(
        "ERR{f}{f}{location}{f}{code}{c}{}{c}HL70357{f}E{f}{f}{f}{f}{}\r",
        error_name(code),
        escape(detail, d)
    )
}

/// AE or AR for a message that parsed: its own delimiters and MSH fields.
fn answer(msg: &Message, code: AckCode, err: &str, e: &Error, control_id: String) -> Verdict {
    let d = *msg.delimiters();
    let location = err_location(e, &d);
    let error = describe(e);
    let mut ack = hl7v2::ack(msg, code, error_name(err));
    ack.push_str(&err_segment(&d, &location, err, &error));
    Verdict {
        code,
        ack,
        control_id,
        location,
        error,
        text: msg.text().to_string(),
    }
}

/// AR for text that did not parse: an ACK with the usual delimiters, the
/// control id and time copied when the first line still shows them.
fn reject_unparsed(text: &str, err: &str, e: &Error) -> Verdict {
    let d = Delimiters::default();
    let first = text.split(['\r', '\n']).next().unwrap_or("");
    let msh: Vec<&str> = if first.starts_with("MSH") && first.len() > 3 {
        let sep = first[3..].chars().next().unwrap_or('|');
        first.split(sep).collect()
    } else {
        Vec::new()
    };
    // split MSH: [MSH, MSH-2, MSH-3, ...], so MSH-n is at n-1
    let field = |n: usize| {
        msh.get(n - 1)
            .filter(|v| v.len() <= 64 && v.chars().all(|c| c.is_ascii_graphic() || c == ' '))
            .map(|v| escape(v, &d).into_owned())
            .unwrap_or_default()
    };
    let control_id = field(10);
    let location = err_location(e, &d);
    let error = describe(e);
    let mut ack = format!(
        "MSH|^~\\&|{}|{}|{}|{}|{}||ACK|ACK{control_id}|P|2.5.1\r",
        field(5),
        field(6),
        field(3),
        field(4),
        field(7),
    );
    ack.push_str(&format!(
        "MSA|{}|{control_id}|{}\r",
        AckCode::AR.as_str(),
        error_name(err)
    ));
    ack.push_str(&err_segment(&d, &location, err, &error));
    Verdict {
        code: AckCode::AR,
        ack,
        control_id,
        location,
        error,
        text: text.to_string(),
    }
}

/// Counts of a listener run; also the `--json` result of `ingest listen`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ListenSummary {
    pub address: String,
    pub connections: u64,
    /// Messages received: accepted + errors + rejected.
    pub messages: u64,
    pub accepted: u64,
    pub errors: u64,
    pub rejected: u64,
    /// Framing problems (bytes outside frames, cut frames, frames too long).
    pub frame_errors: u64,
    pub feed: PathBuf,
}

/// Where the listener keeps what it receives, and its counts.
struct Store {
    feed: File,
    feed_path: PathBuf,
    rejected: csv::Writer<File>,
    rejected_path: PathBuf,
    max_messages: Option<u64>,
    summary: ListenSummary,
}

impl Store {
    fn open(out: &Path, max_messages: Option<u64>) -> Result<Store> {
        std::fs::create_dir_all(out).at(out)?;
        let feed_path = out.join("feed.hl7");
        let feed = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&feed_path)
            .at(&feed_path)?;
        let rejected_path = out.join("rejected.csv");
        let is_new = std::fs::metadata(&rejected_path).map_or(true, |m| m.len() == 0);
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&rejected_path)
            .at(&rejected_path)?;
        let mut rejected = csv::Writer::from_writer(file);
        if is_new {
            rejected
                .write_record(["message", "ack", "control_id", "location", "error", "raw"])
                .map_err(|e| Error::failure(format!("{}: {e}", rejected_path.display())))?;
            rejected.flush().at(&rejected_path)?;
        }
        Ok(Store {
            feed,
            summary: ListenSummary {
                feed: feed_path.clone(),
                ..ListenSummary::default()
            },
            feed_path,
            rejected,
            rejected_path,
            max_messages,
        })
    }

    /// Take one frame: judge, keep, count. `None` once the message limit is
    /// reached (the frame is left unacknowledged).
    fn take(&mut self, bytes: &[u8]) -> Result<Option<Verdict>> {
        if self
            .max_messages
            .is_some_and(|max| self.summary.messages >= max)
        {
            return Ok(None);
        }
        self.summary.messages += 1;
        let number = self.summary.messages as usize;
        let v = judge("mllp", number, bytes);
        match v.code {
            AckCode::AA => {
                // one write of the whole message, then sync: a crash leaves
                // either the message or nothing of it acknowledged
                let mut line = v.text.trim_end_matches('\n').to_string();
                line.push('\n');
                self.feed.write_all(line.as_bytes()).at(&self.feed_path)?;
                self.feed.sync_data().at(&self.feed_path)?;
                self.summary.accepted += 1;
            }
            code => {
                if code == AckCode::AE {
                    self.summary.errors += 1;
                } else {
                    self.summary.rejected += 1;
                }
                self.rejected
                    .write_record([
                        number.to_string().as_str(),
                        code.as_str(),
                        &v.control_id,
                        &v.location,
                        &v.error,
                        &v.text,
                    ])
                    .map_err(|e| {
                        Error::failure(format!("{}: {e}", self.rejected_path.display()))
                    })?;
                self.rejected.flush().at(&self.rejected_path)?;
            }
        }
        Ok(Some(v))
    }

    fn limit_reached(&self) -> bool {
        self.max_messages
            .is_some_and(|max| self.summary.messages >= max)
    }
}

/// Serve MLLP on `listener` until `shutdown` completes or `max_messages`
/// messages have come in, writing into `out`; then let connections finish
/// the frames they hold (up to 5 s), write `manifest.json` and return the
/// counts.
pub async fn listen(
    listener: TcpListener,
    out: &Path,
    max_messages: Option<u64>,
    shutdown: impl Future<Output = ()>,
) -> Result<ListenSummary> {
    let address = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let store = Arc::new(Mutex::new(Store::open(out, max_messages)?));
    let (stop_tx, stop_rx) = watch::channel(false);
    let stop_tx = Arc::new(stop_tx);
    let mut tasks: JoinSet<Result<()>> = JoinSet::new();
    let mut connections = 0u64;
    let mut limit = stop_rx.clone();
    tokio::pin!(shutdown);
    if max_messages != Some(0) {
        loop {
            tokio::select! {
                _ = &mut shutdown => break,
                _ = limit.changed() => break,
                accepted = listener.accept() => {
                    let Ok((stream, _)) = accepted else { continue };
                    connections += 1;
                    tasks.spawn(connection(stream, store.clone(), stop_rx.clone(), stop_tx.clone()));
                }
            }
        }
    }
    drop(listener);
    let _ = stop_tx.send(true);
    let mut failure = None;
    let drained = tokio::time::timeout(DRAIN, async {
        while let Some(done) = tasks.join_next().await {
            if let Ok(Err(e)) = done {
                failure.get_or_insert(e);
            }
        }
    })
    .await;
    if drained.is_err() {
        tasks.abort_all();
    }
    if let Some(e) = failure {
        return Err(e);
    }
    let mut summary = store
        .lock()
        .map_err(|_| Error::failure("the listener's store was poisoned (a bug)"))?
        .summary
        .clone();
    summary.address = address;
    summary.connections = connections;
    let mut manifest = Manifest::new("ingest-listen");
    for (k, v) in [
        ("messages", summary.messages),
        ("accepted", summary.accepted),
        ("errors", summary.errors),
        ("rejected", summary.rejected),
        ("frame_errors", summary.frame_errors),
        ("connections", summary.connections),
    ] {
        manifest.counts.insert(k.into(), v);
    }
    manifest.checksum_dir(out)?;
    manifest.write(out)?;
    Ok(summary)
}

/// One client connection: answer every whole frame; on stop, answer the
/// frames already received, then close.
async fn connection(
    mut stream: TcpStream,
    store: Arc<Mutex<Store>>,
    mut stop: watch::Receiver<bool>,
    stop_tx: Arc<watch::Sender<bool>>,
) -> Result<()> {
    let mut de = Deframer::new(Limits::default().max_message_bytes);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        while let Some(next) = de.next_frame() {
            let bytes = match next {
                Ok(b) => b,
                Err(e) => {
                    let too_long = matches!(e, FrameError::TooLong(_));
                    if let Ok(mut s) = store.lock() {
                        s.summary.frame_errors += 1;
                    }
                    if too_long {
                        return Ok(());
                    }
                    continue;
                }
            };
            let (verdict, reached) = {
                let mut s = store
                    .lock()
                    .map_err(|_| Error::failure("the listener's store was poisoned (a bug)"))?;
                (s.take(&bytes)?, s.limit_reached())
            };
            let Some(v) = verdict else {
                return Ok(());
            };
            if stream.write_all(&frame(&v.ack)).await.is_err() {
                return Ok(());
            }
            if reached {
                let _ = stop_tx.send(true);
            }
        }
        if *stop.borrow() {
            return Ok(());
        }
        tokio::select! {
            read = stream.read(&mut buf) => match read {
                Ok(0) | Err(_) => return Ok(()),
                Ok(n) => de.push(&buf[..n]),
            },
            _ = stop.changed() => {}
        }
    }
}

/// What a replay sent and what came back; also the `--json` result of
/// `data replay`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ReplaySummary {
    pub messages: u64,
    pub aa: u64,
    pub ae: u64,
    pub ar: u64,
    /// Messages that got no ACK after every retry.
    pub no_ack: u64,
    /// Resends after a timeout or a lost connection.
    pub retries: u64,
    /// `message N: CODE` for every message not accepted.
    pub problems: Vec<String>,
}

/// Replay settings.
#[derive(Debug, Clone, Copy)]
pub struct ReplayOptions {
    /// How long to wait for each ACK.
    pub timeout: Duration,
    /// Resends of a message after a timeout before giving up on it.
    pub retries: u32,
}

/// A message of a feed file as it goes on the wire: segments end in CR.
fn wire_text(msg: &str) -> String {
    let mut t = msg
        .trim_end_matches(['\r', '\n'])
        .replace("\r\n", "\r")
        .replace('\n', "\r");
    t.push('\r');
    t
}

/// MSH-10 of a message as written (delimiter from MSH-1).
fn control_id_of(text: &str) -> String {
    let first = text.split(['\r', '\n']).next().unwrap_or("");
    match first.get(3..4) {
        Some(sep) if first.starts_with("MSH") => first.split(sep).nth(9).unwrap_or("").to_string(),
        _ => String::new(),
    }
}

/// MSA-1 and MSA-2 of an ACK.
fn read_ack(text: &str) -> Option<(String, String)> {
    let first = text.split(['\r', '\n']).next()?;
    let sep = first.get(3..4).unwrap_or("|");
    let msa = text.split(['\r', '\n']).find(|s| s.starts_with("MSA"))?;
    let mut f = msa.split(sep).skip(1);
    let code = f.next()?.to_string();
    let control = f.next().unwrap_or("").to_string();
    Some((code, control))
}

/// Check that `addr` is HOST:PORT (a name or an address, and a port number),
/// so a typo is a clear error rather than a run of timeouts.
pub fn check_address(addr: &str) -> Result<()> {
    let bad = |found: &str| {
        Error::bad_input(
            "MLLP address",
            None,
            "HOST:PORT, e.g. 127.0.0.1:2575",
            format!("{addr:?} ({found})"),
        )
    };
    let Some((host, port)) = addr.rsplit_once(':') else {
        return Err(bad("no port"));
    };
    if host.trim_matches(['[', ']']).is_empty() {
        return Err(bad("no host"));
    }
    match port.parse::<u16>() {
        Ok(p) if p > 0 => Ok(()),
        _ => Err(bad("the port is not a number from 1 to 65535")),
    }
}

/// Send every message of `feed` (the text of a feed file) to `addr`, one at
/// a time, waiting for each ACK.
pub async fn replay(addr: &str, feed: &str, opts: ReplayOptions) -> Result<ReplaySummary> {
    check_address(addr)?;
    let mut summary = ReplaySummary::default();
    let mut conn: Option<(TcpStream, Deframer)> = None;
    for (i, msg) in hl7v2::split_messages(feed).into_iter().enumerate() {
        if msg.trim().is_empty() {
            continue;
        }
        let number = i + 1;
        summary.messages += 1;
        let wire = wire_text(msg);
        let control = control_id_of(&wire);
        let bytes = frame(&wire);
        let mut code = None;
        for attempt in 0..=opts.retries {
            if attempt > 0 {
                summary.retries += 1;
            }
            if conn.is_none() {
                match tokio::time::timeout(opts.timeout, TcpStream::connect(addr)).await {
                    Ok(Ok(s)) => {
                        let max = Limits::default().max_message_bytes;
                        conn = Some((s, Deframer::new(max)));
                    }
                    Ok(Err(_)) | Err(_) => continue,
                }
            }
            let Some((stream, de)) = conn.as_mut() else {
                continue;
            };
            match send_and_wait(stream, de, &bytes, &control, opts.timeout).await {
                Some(c) => {
                    code = Some(c);
                    break;
                }
                // the stream is in an unknown state: start a fresh one
                None => conn = None,
            }
        }
        match code.as_deref() {
            Some("AA") | Some("CA") => summary.aa += 1,
            Some(c @ ("AE" | "CE")) => {
                summary.ae += 1;
                summary.problems.push(format!("message {number}: {c}"));
            }
            Some(c) => {
                summary.ar += 1;
                summary.problems.push(format!("message {number}: {c}"));
            }
            None => {
                summary.no_ack += 1;
                summary.problems.push(format!("message {number}: no ACK"));
            }
        }
        if summary.messages == 1 && code.is_none() {
            return Err(Error::failure(format!(
                "{addr}: no MLLP listener answered the first message within {} ms after {} tries",
                opts.timeout.as_millis(),
                opts.retries + 1
            )));
        }
    }
    Ok(summary)
}

/// Send one frame and read frames until the ACK of `control` (an ACK of an
/// earlier, timed-out try is skipped). `None` on timeout or a lost
/// connection.
async fn send_and_wait(
    stream: &mut TcpStream,
    de: &mut Deframer,
    bytes: &[u8],
    control: &str,
    timeout: Duration,
) -> Option<String> {
    stream.write_all(bytes).await.ok()?;
    let wait = async {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            while let Some(next) = de.next_frame() {
                let Ok(ack) = next else { continue };
                let text = String::from_utf8_lossy(&ack);
                let Some((code, acked)) = read_ack(&text) else {
                    continue;
                };
                if control.is_empty() || acked.is_empty() || acked == control {
                    return Some(code);
                }
            }
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return None,
                Ok(n) => de.push(&buf[..n]),
            }
        }
    };
    tokio::time::timeout(timeout, wait).await.ok().flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORU: &str = "MSH|^~\\&|LAB|H|CARELAB|H|20240101120000||ORU^R01|C42|P|2.5.1\r\
PID|1||P1^^^H^PI||Doe^Jane||19500101|F\r\
PV1|1|I|||||||||||||||||E1\r\
OBX|1|NM|2345-7^Glucose^LN||abc|mg/dL|||||F|||20240101110000\r";

    #[test]
    fn deframer_takes_whole_frames_and_reports_junk_and_cuts() {
        let mut d = Deframer::new(100);
        d.push(b"\r\nxx\x0bMSH|a\x1c");
        assert_eq!(d.next_frame(), Some(Err(FrameError::Junk(2))));
        assert_eq!(d.next_frame(), None, "FS without the byte after it waits");
        d.push(b"\r\x0bMSH|b\x0bMSH|c\x1c\r");
        assert_eq!(d.next_frame(), Some(Ok(b"MSH|a".to_vec())));
        assert_eq!(d.next_frame(), Some(Err(FrameError::Truncated(5))));
        assert_eq!(d.next_frame(), Some(Ok(b"MSH|c".to_vec())));
        assert_eq!(d.next_frame(), None);
        // a frame arriving a byte at a time comes out whole, once
        let framed = frame("MSH|x\rPID|1\r");
        let mut got = Vec::new();
        for b in &framed {
            d.push(&[*b]);
            while let Some(f) = d.next_frame() {
                got.push(f);
            }
        }
        assert_eq!(got, vec![Ok(b"MSH|x\rPID|1\r".to_vec())]);
        d.push(&[VT; 1]);
        d.push(&[b'x'; 101]);
        assert_eq!(d.next_frame(), Some(Err(FrameError::TooLong(101))));
    }

    #[test]
    fn a_bad_value_gets_ae_with_an_err_naming_segment_and_field() {
        let v = judge("mllp", 7, ORU.as_bytes());
        assert_eq!(v.code, AckCode::AE);
        assert_eq!(v.control_id, "C42");
        assert_eq!(v.location, "OBX^4^5");
        assert!(v.ack.contains("\rMSA|AE|C42|"), "{}", v.ack);
        assert!(v
            .ack
            .contains("\rERR||OBX^4^5|102^Data type error^HL70357|E|"));
        assert!(v.error.contains("a number"), "{}", v.error);
        assert!(!v.ack.contains("Doe"), "no PHI in the ACK");
    }

    #[test]
    fn a_good_message_gets_aa_and_garbage_gets_ar() {
        let good = ORU.replace("||abc|", "||5.5|");
        let v = judge("mllp", 1, good.as_bytes());
        assert_eq!(v.code, AckCode::AA, "{}", v.error);
        assert!(v.ack.contains("\rMSA|AA|C42"));
        assert_eq!(v.text, good);

        let v = judge("mllp", 2, b"PID|1||P1\r");
        assert_eq!(v.code, AckCode::AR);
        assert!(v.ack.starts_with("MSH|^~\\&|"));
        assert!(v.ack.contains("\rMSA|AR||"));
        assert!(v.ack.contains("\rERR|"));

        let v = judge(
            "mllp",
            3,
            b"MSH|^~\\&|A|B|C|D|20240101||ADT^A01|X9|P|2.5.1\rPID|1\r",
        );
        assert_eq!(v.code, AckCode::AE, "PID without a birth date: {}", v.error);

        let v = judge(
            "mllp",
            4,
            b"MSH|^~\\&|A|B|C|D|20240101||QRY^A19|X9|P|2.5.1\r",
        );
        assert_eq!(v.code, AckCode::AA, "a type ingest skips is accepted");
        assert!(v.ack.contains("\rMSA|AA|X9"));
    }

    #[test]
    fn replay_addresses_are_checked() {
        assert!(check_address("127.0.0.1:2575").is_ok());
        assert!(check_address("interface-engine.local:6661").is_ok());
        assert!(check_address("[::1]:2575").is_ok());
        for bad in ["127.0.0.1", ":2575", "host:0", "host:http", "host:70000"] {
            let e = check_address(bad).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{bad}");
            assert!(e.to_string().contains("HOST:PORT"), "{e}");
        }
    }

    #[test]
    fn acks_are_read_back_and_wire_text_ends_segments_in_cr() {
        assert_eq!(
            read_ack("MSH|^~\\&|A\rMSA|AE|C42|x\r"),
            Some(("AE".into(), "C42".into()))
        );
        assert_eq!(wire_text("MSH|a\nPID|b\r\n\n"), "MSH|a\rPID|b\r");
        assert_eq!(control_id_of(ORU), "C42");
    }
}
