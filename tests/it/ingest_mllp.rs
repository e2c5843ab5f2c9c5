//! The live feed end to end: `ingest listen` semantics (library) against
//! `data replay` semantics (library), on a generated HL7 v2 feed.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use carelab::formats::hl7v2;
use carelab::ingest::mllp::{self, ReplayOptions};
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;

/// Content error: OBX-5 of a numeric result is not a number.
const BAD_CONTENT: &str = "MSH|^~\\&|LAB|H|CARELAB|H|20240101120000||ORU^R01|BAD1|P|2.5.1\r\
PID|1||P1^^^H^PI||Doe^Jane||19500101|F\r\
OBX|1|NM|2345-7^Glucose^LN||abc|mg/dL\r\n";
/// Unparseable: an MSH with no encoding characters.
const BROKEN: &str = "MSH|\r\n";

fn generate_feed(dir: &Path, patients: u32) -> String {
    let out = dir.join("gen");
    let status = Command::new(env!("CARGO_BIN_EXE_carelab"))
        .args(["-q", "data", "generate", "--scenario", "baseline"])
        .args(["--patients", &patients.to_string(), "--seed", "11"])
        .args(["--formats", "hl7v2", "--out"])
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::read_to_string(out.join("hl7v2").join("feed.hl7")).unwrap()
}

/// Ingest one HL7 v2 feed file: the analysis table and the records quarantined.
fn ingest_hl7(feed: &Path, out: &Path) -> (String, u64) {
    let cfg = carelab::ingest::PipelineConfig {
        sources: vec![carelab::ingest::SourceConfig {
            name: "hl7v2".into(),
            kind: carelab::ingest::SourceKind::Hl7v2,
            path: feed.to_path_buf(),
            layout: None,
            // CareLab's feed: the generator's patient id is the PI
            patient_id: Some("PI".into()),
        }],
        ..Default::default()
    };
    let summary = carelab::ingest::run(&cfg, out).unwrap();
    let table = std::fs::read_to_string(out.join("analysis.csv")).unwrap();
    (table, summary.quarantined)
}

fn opts(timeout_ms: u64, retries: u32) -> ReplayOptions {
    ReplayOptions {
        timeout: Duration::from_millis(timeout_ms),
        retries,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_gets_every_ack_and_the_capture_equals_the_generated_feed() {
    let dir = tempfile::tempdir().unwrap();
    let feed = generate_feed(dir.path(), 25);
    let messages = hl7v2::split_messages(&feed);
    let n = messages.len() as u64;
    assert!(n > 50, "25 patients give many messages, got {n}");
    // the broken messages go in after the third message
    let mut replayed = String::new();
    for (i, m) in messages.iter().enumerate() {
        replayed.push_str(m);
        if i == 2 {
            replayed.push_str(BAD_CONTENT);
            replayed.push_str(BROKEN);
        }
    }

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let out = dir.path().join("live");
    let out2 = out.clone();
    let server = tokio::spawn(async move {
        mllp::listen(listener, &out2, Some(n + 2), std::future::pending()).await
    });
    let sent = mllp::replay(&addr, &replayed, opts(5000, 2)).await.unwrap();
    let got = server.await.unwrap().unwrap();

    assert_eq!(sent.messages, n + 2);
    assert_eq!((sent.aa, sent.ae, sent.ar, sent.no_ack), (n, 1, 1, 0));
    assert_eq!(sent.retries, 0);
    assert_eq!(sent.problems, vec!["message 4: AE", "message 5: AR"]);
    assert_eq!(got.messages, n + 2);
    assert_eq!((got.accepted, got.errors, got.rejected), (n, 1, 1));
    assert_eq!(got.frame_errors, 0);
    assert_eq!(got.connections, 1);

    // what was accepted is the generated feed, byte for byte
    let captured = std::fs::read_to_string(out.join("feed.hl7")).unwrap();
    assert_eq!(captured, feed);
    // ingesting the capture equals ingesting the replayed file, whose two
    // bad messages the file path quarantines as unparseable
    let replayed_path = dir.path().join("replayed.hl7");
    std::fs::write(&replayed_path, &replayed).unwrap();
    let (from_file, q_file) = ingest_hl7(&replayed_path, &dir.path().join("a"));
    let (from_capture, q_capture) = ingest_hl7(&out.join("feed.hl7"), &dir.path().join("b"));
    assert!(from_file.lines().count() > 10);
    assert_eq!(from_capture, from_file);
    assert_eq!((q_file, q_capture), (2, 0));
    // and what was not is in rejected.csv with its reason
    let mut r = csv::Reader::from_path(out.join("rejected.csv")).unwrap();
    let rows: Vec<csv::StringRecord> = r.records().map(|x| x.unwrap()).collect();
    assert_eq!(rows.len(), 2);
    assert_eq!((&rows[0][0], &rows[0][1], &rows[0][2]), ("4", "AE", "BAD1"));
    assert_eq!(&rows[0][3], "OBX^3^5");
    assert_eq!(&rows[1][1], "AR");
    let manifest = std::fs::read_to_string(out.join("manifest.json")).unwrap();
    assert!(
        manifest.contains(&format!("\"accepted\": {n}")),
        "{manifest}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_connection_is_retried_and_a_silent_listener_fails_the_replay() {
    let one = "MSH|^~\\&|LAB|H|CARELAB|H|20240101120000||ORU^R01|C1|P|2.5.1\r\
PID|1||P1^^^H^PI||Doe^Jane||19500101|F\r\
OBX|1|NM|2345-7^Glucose^LN||5.5|mmol/L\r";
    let dir = tempfile::tempdir().unwrap();

    // first connection: read the message and hang up without an ACK
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let out = dir.path().join("live");
    let server = tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let mut buf = [0u8; 4096];
        let _ = s.read(&mut buf).await;
        drop(s);
        mllp::listen(listener, &out, Some(1), std::future::pending()).await
    });
    let sent = mllp::replay(&addr, one, opts(2000, 2)).await.unwrap();
    assert_eq!((sent.aa, sent.retries, sent.no_ack), (1, 1, 0));
    assert_eq!(server.await.unwrap().unwrap().accepted, 1);

    // a listener that never answers: the replay says so instead of hanging
    let silent = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = silent.local_addr().unwrap().to_string();
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = silent.accept().await {
            held.push(s);
        }
    });
    let err = mllp::replay(&addr, one, opts(150, 1)).await.unwrap_err();
    assert!(
        err.to_string().contains("no MLLP listener answered"),
        "{err}"
    );
    hold.abort();
}

#[test]
fn the_cli_listens_replays_and_exits_1_on_a_rejected_message() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let dir = tempfile::tempdir().unwrap();
    let feed = generate_feed(dir.path(), 3);
    let n = hl7v2::split_messages(&feed).len();
    let path = dir.path().join("replay.hl7");
    std::fs::write(&path, format!("{feed}{BROKEN}")).unwrap();
    let bin = env!("CARGO_BIN_EXE_carelab");
    let out = dir.path().join("live");
    let mut listener = Command::new(bin)
        .args(["--json", "ingest", "listen", "--mllp", "127.0.0.1:0"])
        .args(["--max-messages", &(n + 1).to_string(), "--out"])
        .arg(&out)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(listener.stderr.take().unwrap());
    let mut line = String::new();
    err.read_line(&mut line).unwrap();
    let addr = line
        .split_whitespace()
        .find(|w| w.starts_with("127.0.0.1:"))
        .map(|w| w.trim_end_matches(';').to_string())
        .unwrap_or_else(|| panic!("no address in {line:?}"));

    let replay = Command::new(bin)
        .args(["--json", "data", "replay", "--mllp", &addr, "--feed"])
        .arg(&path)
        .args(["--timeout-ms", "5000", "--retries", "1"])
        .output()
        .unwrap();
    assert_eq!(replay.status.code(), Some(1), "one AR exits 1");
    let sent: serde_json::Value = serde_json::from_slice(&replay.stdout).unwrap();
    assert_eq!(sent["aa"], n as u64);
    assert_eq!(sent["ar"], 1);

    let done = listener.wait_with_output().unwrap();
    assert!(done.status.success());
    let got: serde_json::Value = serde_json::from_slice(&done.stdout).unwrap();
    assert_eq!(got["accepted"], n as u64);
    assert_eq!(got["rejected"], 1);
    assert_eq!(std::fs::read_to_string(out.join("feed.hl7")).unwrap(), feed);

    // bad usage: no listener there, nothing to replay to
    let none = Command::new(bin)
        .args(["-q", "data", "replay", "--mllp", "127.0.0.1:1", "--feed"])
        .arg(&path)
        .args(["--timeout-ms", "100", "--retries", "0"])
        .output()
        .unwrap();
    assert_eq!(none.status.code(), Some(1));
    let msg = String::from_utf8_lossy(&none.stderr);
    assert!(msg.contains("no MLLP listener answered"), "{msg}");

    // a typo in the address is bad input (exit 2), not a run of timeouts
    let typo = Command::new(bin)
        .args(["-q", "data", "replay", "--mllp", "127.0.0.1", "--feed"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(typo.status.code(), Some(2));
    let msg = String::from_utf8_lossy(&typo.stderr);
    assert!(msg.contains("HOST:PORT"), "{msg}");
}

/// Send one MLLP frame holding `bytes` as they are and read the ACK frame.
async fn send_frame(s: &mut tokio::net::TcpStream, bytes: &[u8]) -> String {
    use tokio::io::AsyncWriteExt;
    let mut frame = vec![0x0b];
    frame.extend_from_slice(bytes);
    frame.extend_from_slice(&[0x1c, 0x0d]);
    s.write_all(&frame).await.unwrap();
    let mut ack = Vec::new();
    let mut buf = [0u8; 4096];
    while !ack.ends_with(&[0x1c, 0x0d]) {
        let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert!(n > 0, "the listener hung up");
        ack.extend_from_slice(&buf[..n]);
    }
    String::from_utf8(ack[1..ack.len() - 2].to_vec()).unwrap()
}

/// Real-world style messages over a socket: a vendor ADT with a byte-order
/// mark after the frame start and CRLF segment ends is accepted; a lab
/// result message with one result that is no number gets AE naming that
/// OBX; a scheduling message CareLab does not read is accepted (ingest
/// skips it by type); only what cannot be parsed gets AR.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_world_style_messages_get_aa_ae_and_ar_over_a_socket() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/hl7v2");
    let epic = std::fs::read_to_string(data.join("epic-adt-2.5.1-bom-crlf.hl7")).unwrap();
    let a01 = hl7v2::split_messages(&epic)[0];
    let cerner = std::fs::read_to_string(data.join("cerner-oru-2.3-batch.hl7")).unwrap();
    let oru = hl7v2::split_messages(&cerner)[0];
    let meditech = std::fs::read_to_string(data.join("meditech-adt-2.8-merge-lf.hl7")).unwrap();
    let siu = hl7v2::split_messages(&meditech)
        .into_iter()
        .find(|m| m.contains("|SIU^S12^"))
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let out = dir.path().join("live");
    let out2 = out.clone();
    let server = tokio::spawn(async move {
        mllp::listen(listener, &out2, Some(4), std::future::pending()).await
    });
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut with_bom = "\u{feff}".as_bytes().to_vec();
    with_bom.extend_from_slice(a01.as_bytes());
    let ack = send_frame(&mut s, &with_bom).await;
    assert!(ack.contains("\rMSA|AA|EP000101"), "{ack}");
    let ack = send_frame(&mut s, oru.as_bytes()).await;
    assert!(ack.contains("\rMSA|AE|CL-2024-0303-001"), "{ack}");
    assert!(
        ack.contains("\rERR||OBX^8^5|102^Data type error^HL70357|E|"),
        "{ack}"
    );
    assert!(ack.contains("expected a number"), "{ack}");
    let ack = send_frame(&mut s, siu.as_bytes()).await;
    assert!(ack.contains("\rMSA|AA|MT00053"), "{ack}");
    let ack = send_frame(&mut s, b"\xEF\xBB\xBFEVN|A01|2024\r").await;
    assert!(ack.contains("\rMSA|AR|"), "{ack}");
    drop(s);
    let got = server.await.unwrap().unwrap();
    assert_eq!((got.accepted, got.errors, got.rejected), (2, 1, 1));
    let feed = std::fs::read_to_string(out.join("feed.hl7")).unwrap();
    assert!(feed.contains("|ADT^A01^ADT_A01|EP000101|") && feed.contains("|SIU^S12^"));
    assert!(!feed.contains('\u{feff}'), "the mark is not kept");
}
