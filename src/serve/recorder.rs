//! Writes the audit log and the prediction log in batches (group commit).
//!
//! Handlers hand finished records to one writer thread through a bounded
//! channel, so a slow disk slows requests down (back-pressure) instead of
//! losing records, and requests never contend for a file lock or hash the
//! chain themselves. The thread takes everything queued as one batch,
//! appends it with one write per log and one anchor update, and only then
//! acknowledges the batch's audit records (`audit_acked`).
//!
//! The guarantee: the service answers a request only after that request's
//! audit record (and its prediction, queued before it) has been written to
//! the operating system. A crash of the service (kill -9, a panic) loses no
//! answered request's records; a crash of the machine (power cut) loses at
//! most the last `SYNC_EVERY` of them, because the logs are fsynced once
//! per `SYNC_EVERY` while records arrive and on `close`, not once per batch
//! (an fsync per batch put the disk's latency into every answer). A write
//! failure marks the service unready (`/readyz`) and requests waiting on it
//! are answered 503 instead of without their audit record.

use std::fs::OpenOptions;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use serde::{Deserialize, Serialize};

use crate::audit::{AuditEvent, AuditLog};
use crate::clinical::analysis::AnalysisRow;
use crate::error::{Error, IoContext, Result};

use super::input::write_features;
use super::scorer::ModelInfo;

/// One line of the prediction log, which `carelab monitor` reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PredictionRecord {
    /// When it was scored (RFC 3339, UTC).
    pub time: String,
    pub model: String,
    pub version: String,
    /// Keyed pseudonym of the patient, when the request named one and the
    /// server has a key.
    pub patient: Option<String>,
    /// Keyed pseudonym of the stay, likewise (labels join on it later).
    pub stay: Option<String>,
    /// The features as scored, by name.
    pub features: serde_json::Map<String, serde_json::Value>,
    pub score: f64,
    pub flagged: bool,
}

/// A scored request as a handler hands it over: the row as scored and the
/// moment, turned into the prediction log's line (a `PredictionRecord`) on
/// the writer thread. Building the record's feature map on every request
/// was a tenth of the server's instructions.
#[derive(Debug, Clone)]
pub struct Prediction {
    pub time: chrono::DateTime<chrono::Utc>,
    /// Names the model and its version.
    pub model: Arc<ModelInfo>,
    /// Keyed pseudonyms of the patient and the stay, when known.
    pub patient: Option<String>,
    pub stay: Option<String>,
    pub row: AnalysisRow,
    pub score: f64,
    pub flagged: bool,
}

/// Times as the prediction log writes them (RFC 3339, UTC, milliseconds),
/// formatted once per millisecond: under load a batch shares a few.
#[derive(Default)]
struct Clock {
    millis: Option<i64>,
    text: String,
}

impl Clock {
    fn format(&mut self, time: &chrono::DateTime<chrono::Utc>) -> &str {
        let millis = time.timestamp_millis();
        if self.millis != Some(millis) {
            self.text = time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
            self.millis = Some(millis);
        }
        &self.text
    }
}

/// Write one prediction's line (and its newline) to `out`: the bytes
/// serde_json writes for the `PredictionRecord` (a test holds them equal),
/// with the constant keys written as they are rather than escaped each time.
fn write_prediction(
    out: &mut impl Write,
    clock: &mut Clock,
    p: &Prediction,
) -> std::io::Result<()> {
    out.write_all(b"{\"time\":")?;
    serde_json::to_writer(&mut *out, clock.format(&p.time))?;
    out.write_all(b",\"model\":")?;
    serde_json::to_writer(&mut *out, &p.model.name)?;
    out.write_all(b",\"version\":")?;
    serde_json::to_writer(&mut *out, &p.model.version)?;
    out.write_all(b",\"patient\":")?;
    serde_json::to_writer(&mut *out, &p.patient)?;
    out.write_all(b",\"stay\":")?;
    serde_json::to_writer(&mut *out, &p.stay)?;
    out.write_all(b",\"features\":")?;
    write_features(out, &p.row)?;
    out.write_all(b",\"score\":")?;
    serde_json::to_writer(&mut *out, &p.score)?;
    out.write_all(if p.flagged {
        b",\"flagged\":true}\n"
    } else {
        b",\"flagged\":false}\n"
    })
}

enum Entry {
    /// An audit record, and who to tell once it is written.
    Audit(Box<AuditEvent>, Option<oneshot::Sender<()>>),
    Prediction(Box<Prediction>),
    Close,
}

/// Handle to the writer thread.
pub struct Recorder {
    tx: SyncSender<Entry>,
    failed: Arc<AtomicBool>,
    thread: Mutex<Option<JoinHandle<Result<()>>>>,
}

/// How many records may wait for the disk before requests wait too.
const QUEUE: usize = 65_536;

impl Recorder {
    /// Start writing to the given logs (either may be absent).
    pub fn start(audit: Option<&Path>, predictions: Option<&Path>) -> Result<Recorder> {
        let audit = audit.map(AuditLog::open).transpose()?;
        let predictions = match predictions {
            Some(p) => {
                if let Some(dir) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).at(dir)?;
                }
                let file = OpenOptions::new().create(true).append(true).open(p).at(p)?;
                Some((p.to_path_buf(), BufWriter::new(file)))
            }
            None => None,
        };
        let (tx, rx) = sync_channel(QUEUE);
        let failed = Arc::new(AtomicBool::new(false));
        let flag = failed.clone();
        let thread = std::thread::Builder::new()
            .name("carelab-recorder".into())
            .spawn(move || {
                let out = write_loop(rx, audit, predictions);
                if out.is_err() {
                    flag.store(true, Ordering::SeqCst);
                }
                out
            })
            .map_err(|e| Error::failure(format!("cannot start the log writer: {e}")))?;
        Ok(Recorder {
            tx,
            failed,
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Queue an audit record without waiting for it to be written.
    pub fn audit(&self, event: AuditEvent) {
        self.send(Entry::Audit(Box::new(event), None));
    }

    /// Queue an audit record and wait until its batch has been written
    /// (see the module comment); false when it could not be written.
    pub async fn audit_acked(&self, event: AuditEvent) -> bool {
        let (done, written) = oneshot::channel();
        self.send(Entry::Audit(Box::new(event), Some(done)));
        written.await.is_ok()
    }

    /// Queue a prediction for the prediction log.
    pub fn prediction(&self, prediction: Prediction) {
        self.send(Entry::Prediction(Box::new(prediction)));
    }

    fn send(&self, entry: Entry) {
        if self.tx.send(entry).is_err() {
            self.failed.store(true, Ordering::SeqCst);
        }
    }

    /// False once a write has failed.
    pub fn healthy(&self) -> bool {
        !self.failed.load(Ordering::SeqCst)
    }

    /// Write everything queued, flush and stop; reports a write failure.
    pub fn close(&self) -> Result<()> {
        let handle = self.thread.lock().ok().and_then(|mut t| t.take());
        let Some(handle) = handle else {
            return Ok(());
        };
        let _ = self.tx.send(Entry::Close);
        handle
            .join()
            .map_err(|_| Error::failure("the log writer thread panicked"))?
    }
}

/// Most entries written as one batch (one audit append, one anchor update).
const BATCH: usize = 4096;

/// How often written records are fsynced while they keep arriving: the
/// most a power cut can take from the logs.
pub const SYNC_EVERY: Duration = Duration::from_secs(1);

fn write_loop(
    rx: Receiver<Entry>,
    audit: Option<AuditLog>,
    mut predictions: Option<(PathBuf, BufWriter<std::fs::File>)>,
) -> Result<()> {
    let mut synced = Instant::now();
    let mut dirty = false;
    let mut clock = Clock::default();
    loop {
        // Wait for the next entry (while records wait for an fsync, only
        // until it is due), then take whatever else is queued: under load
        // the batches grow and the per-batch costs are shared.
        let first = if dirty {
            let due = SYNC_EVERY.saturating_sub(synced.elapsed());
            match rx.recv_timeout(due) {
                Ok(e) => e,
                Err(RecvTimeoutError::Timeout) => {
                    sync(&audit, &mut predictions)?;
                    (synced, dirty) = (Instant::now(), false);
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => Entry::Close,
            }
        } else {
            rx.recv().unwrap_or(Entry::Close)
        };
        let mut batch = vec![first];
        while batch.len() < BATCH {
            match rx.try_recv() {
                Ok(e) => batch.push(e),
                Err(_) => break,
            }
        }
        let mut events = Vec::new();
        let mut acks = Vec::new();
        let mut close = false;
        for entry in batch {
            match entry {
                Entry::Audit(event, ack) => {
                    events.push(*event);
                    acks.extend(ack);
                }
                Entry::Prediction(p) => {
                    if let Some((path, w)) = &mut predictions {
                        write_prediction(w, &mut clock, &p).at(&*path)?;
                    }
                }
                Entry::Close => {
                    close = true;
                    break;
                }
            }
        }
        // Predictions first: an acknowledged audit record implies its
        // request's prediction is written too.
        flush(&mut predictions)?;
        if let Some(log) = &audit {
            log.record_all_unsynced(events)?;
        }
        dirty = true;
        for ack in acks {
            let _ = ack.send(());
        }
        if close || synced.elapsed() >= SYNC_EVERY {
            sync(&audit, &mut predictions)?;
            (synced, dirty) = (Instant::now(), false);
        }
        if close {
            return Ok(());
        }
    }
}

fn flush(predictions: &mut Option<(PathBuf, BufWriter<std::fs::File>)>) -> Result<()> {
    if let Some((path, w)) = predictions {
        w.flush().at(&*path)?;
    }
    Ok(())
}

/// fsync both logs (and the audit anchor).
fn sync(
    audit: &Option<AuditLog>,
    predictions: &mut Option<(PathBuf, BufWriter<std::fs::File>)>,
) -> Result<()> {
    flush(predictions)?;
    if let Some((path, w)) = predictions {
        w.get_ref().sync_data().at(&*path)?;
    }
    if let Some(log) = audit {
        log.sync()?;
    }
    Ok(())
}

/// Read a prediction log, naming the line of any record that does not parse.
pub fn read_prediction_log(path: impl AsRef<Path>) -> Result<Vec<PredictionRecord>> {
    let mut out = Vec::new();
    for_each_prediction(path, |rec| {
        out.push(rec);
        Ok(())
    })?;
    Ok(out)
}

/// Hand each record of a prediction log to `f`, one line at a time, so a
/// log of millions of lines is never held whole (neither its text nor its
/// records). Returns the number of records.
pub fn for_each_prediction(
    path: impl AsRef<Path>,
    mut f: impl FnMut(PredictionRecord) -> Result<()>,
) -> Result<u64> {
    use std::io::BufRead as _;
    let path = path.as_ref();
    let file = std::fs::File::open(path).at(path)?;
    let mut reader = std::io::BufReader::with_capacity(1 << 20, file);
    let mut line = String::new();
    let (mut number, mut records) = (0u64, 0u64);
    loop {
        line.clear();
        if reader.read_line(&mut line).at(path)? == 0 {
            break;
        }
        number += 1;
        if line.trim().is_empty() {
            continue;
        }
        let rec: PredictionRecord = serde_json::from_str(&line).map_err(|e| {
            Error::bad_input(
                path.display(),
                Some(format!("line {number}")),
                "a prediction-log record",
                e.to_string(),
            )
        })?;
        f(rec)?;
        records += 1;
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model() -> Arc<ModelInfo> {
        Arc::new(ModelInfo {
            name: "m".into(),
            version: "1".into(),
            features: vec![],
            levels: Default::default(),
            card: None,
            operating_point: None,
            columns: vec![],
        })
    }

    fn prediction(score: f64) -> Prediction {
        Prediction {
            time: chrono::DateTime::from_timestamp_millis(1_767_225_600_250).unwrap(),
            model: model(),
            patient: None,
            stay: None,
            row: AnalysisRow::default(),
            score,
            flagged: false,
        }
    }

    /// A line is what serialising the `PredictionRecord` with its feature
    /// map would write, byte for byte, and reads back as that record.
    #[test]
    fn a_prediction_line_is_the_records_serialisation() {
        let row =
            crate::serve::input::parse_predict(&crate::serve::input::example_request(), &model())
                .unwrap()
                .row;
        let p = Prediction {
            patient: Some("pt-3f2a".into()),
            stay: Some("st-\"9\"".into()),
            row: row.clone(),
            flagged: true,
            ..prediction(0.625)
        };
        let record = PredictionRecord {
            time: "2026-01-01T00:00:00.250Z".into(),
            model: "m".into(),
            version: "1".into(),
            patient: Some("pt-3f2a".into()),
            stay: Some("st-\"9\"".into()),
            features: crate::serve::input::row_to_json(&row),
            score: 0.625,
            flagged: true,
        };
        let mut clock = Clock::default();
        let mut out = Vec::new();
        write_prediction(&mut out, &mut clock, &p).unwrap();
        write_prediction(&mut out, &mut clock, &prediction(0.5)).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], serde_json::to_string(&record).unwrap());
        let back: PredictionRecord = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(back, record);
        assert_eq!(back.features["creatinine"], serde_json::json!(1.6));
        assert_eq!(back.features["sex"], serde_json::json!("F"));
        assert!(back.features["wbc"].is_null());
        let second = PredictionRecord {
            patient: None,
            stay: None,
            features: crate::serve::input::row_to_json(&AnalysisRow::default()),
            score: 0.5,
            flagged: false,
            ..record
        };
        assert_eq!(lines[1], serde_json::to_string(&second).unwrap());
    }

    #[test]
    fn everything_queued_is_written_on_close() {
        let dir = tempfile::tempdir().unwrap();
        let audit = dir.path().join("audit.jsonl");
        let preds = dir.path().join("preds.jsonl");
        let rec = Recorder::start(Some(&audit), Some(&preds)).unwrap();
        for i in 0..500 {
            rec.audit(AuditEvent::new("rest", "E", "test"));
            rec.prediction(prediction(f64::from(i) / 500.0));
        }
        rec.close().unwrap();
        assert!(rec.healthy());
        let v = crate::audit::verify(&audit).unwrap();
        assert!(v.ok);
        assert_eq!(v.records, 500);
        let got = read_prediction_log(&preds).unwrap();
        assert_eq!(got.len(), 500);
        assert_eq!(got[250].score, 0.5);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn an_acknowledged_record_is_written_before_close() {
        let dir = tempfile::tempdir().unwrap();
        let audit = dir.path().join("audit.jsonl");
        let preds = dir.path().join("preds.jsonl");
        let rec = Recorder::start(Some(&audit), Some(&preds)).unwrap();
        for i in 1..=3u64 {
            rec.prediction(prediction(0.25));
            assert!(rec.audit_acked(AuditEvent::new("rest", "E", "test")).await);
            // Not closed: what a crash right now would leave on disk.
            let v = crate::audit::verify(&audit).unwrap();
            assert!(v.ok, "{:?}", v.problem);
            assert_eq!(v.records, i);
            assert_eq!(read_prediction_log(&preds).unwrap().len() as u64, i);
        }
        rec.close().unwrap();
        // After close nothing is written any more, and a waiter hears so.
        assert!(!rec.audit_acked(AuditEvent::new("rest", "E", "test")).await);
        assert_eq!(crate::audit::verify(&audit).unwrap().records, 3);
    }
}
