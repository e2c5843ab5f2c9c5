//! The audit log: append-only JSON Lines, one record per access to patient
//! data, shaped like a FHIR R4 AuditEvent and chained by hashes.
//!
//! Each record carries the SHA-256 of the previous record's line, and its
//! own hash over its content, so an edited byte, a removed line or an
//! inserted line breaks the chain at a place `verify` names. A chain alone
//! cannot show that its last lines were cut off, so every append also
//! rewrites a small anchor beside the log (`LOG.head`: the last sequence
//! number and line hash) that `verify` checks against the end of the chain.
//! A durable append replaces the anchor atomically (temp file, fsync,
//! rename); a busy writer's unsynced append overwrites it in place with one
//! write (see `write_head`). Records name
//! patients only by pseudonym and describe actions without free text from
//! the data: the audit log is read by people who must not see PHI.

use std::fs::{self, OpenOptions};
use std::io::{BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::artifact::{read_json, sha256_hex, write_atomic};
use crate::error::{Error, IoContext, Result};

/// The hash that stands before the first record.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What happened, in FHIR AuditEvent terms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// AuditEvent.type code: `rest` for an API call, `export`, `import`, ...
    #[serde(rename = "type")]
    pub type_code: String,
    /// AuditEvent.action: C, R, U, D or E (execute).
    pub action: String,
    /// AuditEvent.outcome: 0 success, 4 minor failure, 8 serious failure, 12 major failure.
    pub outcome: String,
    /// Who: a token name, a user pseudonym or a program.
    pub agent: String,
    /// Which system recorded it: `carelab-serve`, `carelab-deid`, ...
    pub source: String,
    /// What was touched: a patient pseudonym, a dataset digest, or `-`.
    pub entity: String,
    /// What was done, in words that carry no PHI (a route, a verb, counts).
    pub detail: String,
    /// AuditEvent.subtype: the CLI verb (`data generate`, `deid`, ...).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub subtype: String,
    /// The datasets touched: paths with their manifest checksums, never
    /// their contents.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entities: Vec<Entity>,
}

/// One AuditEvent.entity: a dataset or file the event read or wrote.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entity {
    /// The path as given on the command line.
    pub what: String,
    /// `source` (read) or `destination` (written), as in FHIR's
    /// object-role codes.
    pub role: String,
    /// `sha256:...` of the dataset's manifest (or of the file itself when it
    /// has no manifest); absent for a folder without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum: Option<String>,
}

impl AuditEvent {
    pub fn new(type_code: &str, action: &str, source: &str) -> Self {
        AuditEvent {
            type_code: type_code.into(),
            action: action.into(),
            outcome: "0".into(),
            agent: "carelab".into(),
            source: source.into(),
            entity: "-".into(),
            detail: String::new(),
            subtype: String::new(),
            entities: Vec::new(),
        }
    }
}

/// One line of the log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    #[serde(rename = "resourceType")]
    pub resource_type: String,
    /// 1-based position in the log.
    pub seq: u64,
    /// When it was recorded (RFC 3339, UTC).
    pub recorded: String,
    #[serde(flatten)]
    pub event: AuditEvent,
    /// SHA-256 of the previous line, or `GENESIS`.
    pub prev: String,
    /// SHA-256 of this record without `hash`.
    pub hash: String,
}

impl AuditRecord {
    /// The record's line with its hash filled in, serialised once: `hash`
    /// is the last field, so the unsigned JSON (what the hash covers) ends
    /// in `"hash":""}` and the signed line is that text with the hex digest
    /// put between the quotes. Same bytes as hashing a clone and
    /// serialising again, at half the cost.
    fn signed_line(&self) -> Result<String> {
        debug_assert!(self.hash.is_empty());
        let unsigned = serde_json::to_string(self)?;
        let digest = sha256_hex(unsigned.as_bytes());
        let Some(open) = unsigned.strip_suffix("\"}") else {
            return Err(Error::failure(
                "an audit record did not end in its hash field",
            ));
        };
        let mut line = String::with_capacity(unsigned.len() + digest.len());
        line.push_str(open);
        line.push_str(&digest);
        line.push_str("\"}");
        Ok(line)
    }

    fn content_hash(&self) -> String {
        let mut unsigned = self.clone();
        unsigned.hash = String::new();
        sha256_hex(&serde_json::to_vec(&unsigned).unwrap_or_default())
    }
}

/// The anchor beside a log: where its chain must end.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Head {
    /// Sequence number of the last record.
    pub seq: u64,
    /// SHA-256 of the last record's line.
    pub hash: String,
}

/// The anchor file of a log: the log's path with `.head` appended.
pub fn head_path(log: &Path) -> PathBuf {
    let mut name = log.as_os_str().to_os_string();
    name.push(".head");
    PathBuf::from(name)
}

/// An open audit log; `record` is safe to call from many threads.
pub struct AuditLog {
    path: PathBuf,
    state: Mutex<Chain>,
}

/// The end of the chain, and the log file kept open for appending (opening
/// it once per write was a syscall pair on every batch of the server).
struct Chain {
    seq: u64,
    prev: String,
    file: Option<fs::File>,
    /// The anchor, open for unsynced in-place rewrites; dropped whenever a
    /// durable write renames a new anchor into place.
    head: Option<fs::File>,
}

impl AuditLog {
    /// Open (or create) a log, reading its tail to continue the chain.
    pub fn open(path: impl AsRef<Path>) -> Result<AuditLog> {
        let path = path.as_ref().to_path_buf();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir).at(dir)?;
        }
        let mut chain = Chain {
            seq: 0,
            prev: GENESIS.to_string(),
            file: None,
            head: None,
        };
        if path.exists() {
            let file = fs::File::open(&path).at(&path)?;
            for line in BufReader::new(file).lines() {
                let line = line.at(&path)?;
                if line.trim().is_empty() {
                    continue;
                }
                chain.seq += 1;
                chain.prev = sha256_hex(line.as_bytes());
            }
        }
        Ok(AuditLog {
            path,
            state: Mutex::new(chain),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Append one event; the line and the anchor are on disk (fsync)
    /// before returning.
    pub fn record(&self, event: AuditEvent) -> Result<()> {
        self.record_all(vec![event])
    }

    /// Append several events with one write and one anchor update, then
    /// fsync both. The lines are exactly those `record` would write one by
    /// one.
    pub fn record_all(&self, events: Vec<AuditEvent>) -> Result<()> {
        self.append(events, true)
    }

    /// `record_all` without the fsync, for a busy writer (the inference
    /// service): when it returns, the lines and the anchor have been handed
    /// to the operating system, so they survive a crash of this process
    /// (not a power cut); `sync` makes everything appended so far durable.
    pub fn record_all_unsynced(&self, events: Vec<AuditEvent>) -> Result<()> {
        self.append(events, false)
    }

    /// Flush the log and its anchor to disk (fsync).
    pub fn sync(&self) -> Result<()> {
        let mut state = self.lock()?;
        if let Some(file) = &state.file {
            file.sync_data().at(&self.path)?;
        }
        if state.seq > 0 {
            let head = Head {
                seq: state.seq,
                hash: state.prev.clone(),
            };
            write_head(&self.path, &mut state.head, &head, true)?;
        }
        Ok(())
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Chain>> {
        self.state
            .lock()
            .map_err(|_| Error::failure("audit log lock poisoned"))
    }

    fn append(&self, events: Vec<AuditEvent>, durable: bool) -> Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        let mut state = self.lock()?;
        let (mut seq, mut prev) = (state.seq, state.prev.clone());
        // One timestamp a batch: the records are written at the same moment.
        let recorded = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let mut text = String::new();
        for event in events {
            let rec = AuditRecord {
                resource_type: "AuditEvent".into(),
                seq: seq + 1,
                recorded: recorded.clone(),
                event,
                prev,
                hash: String::new(),
            };
            let line = rec.signed_line()?;
            prev = sha256_hex(line.as_bytes());
            seq = rec.seq;
            text.push_str(&line);
            text.push('\n');
        }
        if state.file.is_none() {
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)
                .at(&self.path)?;
            state.file = Some(file);
        }
        if let Some(file) = &mut state.file {
            file.write_all(text.as_bytes()).at(&self.path)?;
            if durable {
                file.sync_data().at(&self.path)?;
            }
        }
        let head = Head {
            seq,
            hash: prev.clone(),
        };
        write_head(&self.path, &mut state.head, &head, durable)?;
        state.seq = seq;
        state.prev = prev;
        Ok(())
    }
}

/// Write the anchor of `log`. Durable: replaced atomically and fsynced
/// (`artifact::write_atomic`), and the open handle, which now names the
/// replaced file, is dropped. Unsynced: overwritten in place through the
/// kept handle, one `pwrite` (a temp file and a rename per batch were a
/// tenth of the server's CPU). The new text is never shorter than what it
/// overwrites, since `seq` only grows, so no stale bytes remain; a handle's
/// first write also truncates, in case the file held something longer.
/// Like the unsynced log lines, the write survives a crash of this process,
/// not a power cut.
fn write_head(log: &Path, handle: &mut Option<fs::File>, head: &Head, durable: bool) -> Result<()> {
    let path = head_path(log);
    let mut bytes = serde_json::to_vec_pretty(head)?;
    bytes.push(b'\n');
    if durable {
        *handle = None;
        return write_atomic(&path, &bytes);
    }
    let fresh = handle.is_none();
    if fresh {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .at(&path)?;
        *handle = Some(file);
    }
    if let Some(file) = handle {
        file.seek(SeekFrom::Start(0)).at(&path)?;
        file.write_all(&bytes).at(&path)?;
        if fresh {
            file.set_len(bytes.len() as u64).at(&path)?;
        }
    }
    Ok(())
}

/// What `verify` found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verification {
    pub records: u64,
    pub ok: bool,
    /// The first problem: line number and what is wrong.
    pub problem: Option<String>,
}

/// Check every record's own hash, its sequence number and its link to the
/// line before, then the end of the chain against the `.head` anchor. An
/// edit breaks the record's hash; a removal or insertion breaks the sequence
/// or the link of the record after it; removing the last lines (or adding
/// lines at the end) leaves a chain that disagrees with its anchor.
pub fn verify(path: impl AsRef<Path>) -> Result<Verification> {
    let path = path.as_ref();
    let text = fs::read(path).at(path)?;
    let mut prev = GENESIS.to_string();
    let mut count = 0u64;
    let fail = |line: usize, what: String, count| {
        Ok(Verification {
            records: count,
            ok: false,
            problem: Some(format!("{}: line {line}: {what}", path.display())),
        })
    };
    for (i, raw) in text.split(|&b| b == b'\n').enumerate() {
        let line_no = i + 1;
        if raw.is_empty() {
            continue;
        }
        let Ok(line) = std::str::from_utf8(raw) else {
            return fail(line_no, "not UTF-8 text".into(), count);
        };
        let rec: AuditRecord = match serde_json::from_str(line) {
            Ok(r) => r,
            Err(e) => return fail(line_no, format!("not an audit record ({e})"), count),
        };
        if rec.seq != count + 1 {
            return fail(
                line_no,
                format!(
                    "sequence {} where {} was expected (a record was removed or inserted)",
                    rec.seq,
                    count + 1
                ),
                count,
            );
        }
        if rec.prev != prev {
            return fail(
                line_no,
                "does not link to the line before it (removed, inserted or reordered)".into(),
                count,
            );
        }
        if rec.content_hash() != rec.hash {
            return fail(
                line_no,
                "content does not match its hash (the record was edited)".into(),
                count,
            );
        }
        prev = sha256_hex(raw);
        count += 1;
    }
    let anchor = head_path(path);
    let end_line = text
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .count()
        + 1;
    if !anchor.exists() {
        if count > 0 {
            return fail(
                end_line,
                format!(
                    "no anchor {} (cannot tell whether the last lines were removed)",
                    anchor.display()
                ),
                count,
            );
        }
    } else {
        let head: Head = read_json(&anchor)?;
        if head.seq != count || (count > 0 && head.hash != prev) {
            let what = if head.seq > count {
                format!(
                    "the log ends at record {count} but its anchor says {} (the last lines were removed)",
                    head.seq
                )
            } else {
                format!(
                    "the log ends at record {count} but its anchor says {} (lines were added or the last line changed)",
                    head.seq
                )
            };
            return fail(end_line, what, count);
        }
    }
    Ok(Verification {
        records: count,
        ok: true,
        problem: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log_with(n: usize) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let log = AuditLog::open(&path).unwrap();
        for i in 0..n {
            let mut e = AuditEvent::new("rest", "E", "test");
            e.entity = format!("pseudo-{i}");
            log.record(e).unwrap();
        }
        (dir, path)
    }

    fn lines(path: &Path) -> Vec<String> {
        fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(String::from)
            .collect()
    }

    fn write_lines(path: &Path, lines: &[String]) {
        fs::write(path, lines.join("\n") + "\n").unwrap();
    }

    #[test]
    fn intact_log_verifies_and_reopening_continues_the_chain() {
        let (_d, path) = log_with(3);
        let log = AuditLog::open(&path).unwrap();
        log.record(AuditEvent::new("rest", "R", "test")).unwrap();
        let v = verify(&path).unwrap();
        assert!(v.ok, "{:?}", v.problem);
        assert_eq!(v.records, 4);
    }

    #[test]
    fn one_changed_byte_is_found() {
        let (_d, path) = log_with(4);
        let mut l = lines(&path);
        l[2] = l[2].replace("pseudo-2", "pseudo-9");
        write_lines(&path, &l);
        let v = verify(&path).unwrap();
        assert!(!v.ok);
        assert!(v.problem.unwrap().contains("line 3"));
    }

    #[test]
    fn removed_and_inserted_lines_are_found() {
        let (_d, path) = log_with(4);
        let original = lines(&path);
        let mut removed = original.clone();
        removed.remove(1);
        write_lines(&path, &removed);
        let v = verify(&path).unwrap();
        assert!(!v.ok && v.problem.as_deref().unwrap().contains("line 2"));

        let mut inserted = original.clone();
        inserted.insert(2, original[1].clone());
        write_lines(&path, &inserted);
        let v = verify(&path).unwrap();
        assert!(!v.ok && v.problem.as_deref().unwrap().contains("line 3"));

        // the last line removed: the chain still holds, the anchor does not
        let mut truncated = original.clone();
        truncated.pop();
        write_lines(&path, &truncated);
        let v = verify(&path).unwrap();
        assert!(!v.ok);
        assert!(v.problem.as_deref().unwrap().contains("line 4"), "{v:?}");
        assert!(v.problem.unwrap().contains("removed"));

        // a valid-looking record appended at the end disagrees with the anchor
        write_lines(&path, &original);
        assert!(verify(&path).unwrap().ok);
        let forged = {
            let log = AuditLog {
                path: path.clone(),
                state: Mutex::new(Chain {
                    seq: 4,
                    prev: sha256_hex(original[3].as_bytes()),
                    file: None,
                    head: None,
                }),
            };
            let anchor = fs::read(head_path(&path)).unwrap();
            log.record(AuditEvent::new("rest", "R", "forger")).unwrap();
            fs::write(head_path(&path), anchor).unwrap();
            lines(&path)
        };
        assert_eq!(forged.len(), 5);
        let v = verify(&path).unwrap();
        assert!(!v.ok && v.problem.unwrap().contains("added"));
    }

    #[test]
    fn signed_line_matches_hash_then_serialise() {
        let mut e = AuditEvent::new("rest", "E", "test");
        e.detail = "quote \" and \\ and é".into();
        e.entities.push(Entity {
            what: "data/x".into(),
            role: "source".into(),
            checksum: Some("sha256:ab".into()),
        });
        let mut rec = AuditRecord {
            resource_type: "AuditEvent".into(),
            seq: 7,
            recorded: "2026-11-29T07:00:00.000Z".into(),
            event: e,
            prev: GENESIS.into(),
            hash: String::new(),
        };
        let fast = rec.signed_line().unwrap();
        rec.hash = rec.content_hash();
        assert_eq!(fast, serde_json::to_string(&rec).unwrap());
        let back: AuditRecord = serde_json::from_str(&fast).unwrap();
        assert_eq!(back.hash, back.content_hash());
    }

    #[test]
    fn unsynced_appends_verify_and_sync_keeps_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let log = AuditLog::open(&path).unwrap();
        log.record_all_unsynced(vec![AuditEvent::new("rest", "E", "t"); 3])
            .unwrap();
        // written and anchored before the call returned, without fsync
        let v = verify(&path).unwrap();
        assert!(v.ok && v.records == 3, "{v:?}");
        log.record(AuditEvent::new("rest", "R", "t")).unwrap();
        log.record_all_unsynced(vec![AuditEvent::new("rest", "E", "t")])
            .unwrap();
        log.sync().unwrap();
        let v = verify(&path).unwrap();
        assert!(v.ok && v.records == 5, "{v:?}");
        assert!(!head_path(&path).with_extension("head.tmp").exists());
    }

    #[test]
    fn the_anchor_rewritten_in_place_follows_every_append() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        // An anchor longer than any this log writes: the first in-place
        // write must not leave its tail behind.
        fs::write(
            head_path(&path),
            format!("{{\"seq\": 0}}{}", " x".repeat(200)),
        )
        .unwrap();
        let log = AuditLog::open(&path).unwrap();
        let mut expected = 0;
        for round in 0..12u64 {
            // Unsynced, durable (a rename, after which the kept handle names
            // the old file) and unsynced again, from 1 to 12 records each
            // (the sequence number gains a digit on the way).
            let events = vec![AuditEvent::new("rest", "E", "t"); round as usize + 1];
            if round % 3 == 1 {
                log.record_all(events).unwrap();
            } else {
                log.record_all_unsynced(events).unwrap();
            }
            expected += round + 1;
            let v = verify(&path).unwrap();
            assert!(v.ok && v.records == expected, "round {round}: {v:?}");
            let head: Head = read_json(head_path(&path)).unwrap();
            assert_eq!(head.seq, expected);
        }
        assert_eq!(expected, 78);
    }

    #[test]
    fn a_missing_anchor_is_a_problem_but_an_empty_log_is_fine() {
        let (_d, path) = log_with(2);
        fs::remove_file(head_path(&path)).unwrap();
        assert!(!verify(&path).unwrap().ok);
        fs::write(&path, "").unwrap();
        let v = verify(&path).unwrap();
        assert!(v.ok && v.records == 0);
    }
}
