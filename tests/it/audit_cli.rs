//! The global `--audit-log` flag: every verb that touches patient data
//! records one FHIR-shaped AuditEvent in one hash-chained log, with its
//! datasets' checksums and outcome, and nothing from the data itself.

use std::fs;
use std::path::Path;
use std::process::Command;

fn carelab(args: &[&str], env_log: Option<&Path>) -> i32 {
    let mut c = Command::new(env!("CARGO_BIN_EXE_carelab"));
    c.args(args).arg("--no-progress").arg("-q");
    c.env_remove("CARELAB_AUDIT_LOG");
    if let Some(log) = env_log {
        c.env("CARELAB_AUDIT_LOG", log);
    }
    c.output().unwrap().status.code().unwrap_or(-1)
}

fn records(log: &Path) -> Vec<serde_json::Value> {
    fs::read_to_string(log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn sha256(path: &Path) -> String {
    carelab::artifact::sha256_file(path).unwrap()
}

#[test]
fn stages_record_verb_outcome_and_dataset_checksums_in_one_log() {
    let d = tempfile::tempdir().unwrap();
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let log = d.path().join("audit").join("audit.jsonl");
    let data = d.path().join("data");
    let key = d.path().join("key.hex");
    fs::write(&key, "cd".repeat(32)).unwrap();

    // the flag
    let code = carelab(
        &[
            "data",
            "generate",
            "--patients",
            "40",
            "--formats",
            "csv",
            "--out",
            &s(&data),
            "--audit-log",
            &s(&log),
        ],
        None,
    );
    assert_eq!(code, 0);
    // the environment variable, and deid leaves its record to the wrapper
    let out = d.path().join("deid");
    let code = carelab(
        &[
            "deid",
            "--in",
            &s(&data),
            "--out",
            &s(&out),
            "--mode",
            "safe-harbor",
            "--key-file",
            &s(&key),
        ],
        Some(&log),
    );
    assert_eq!(code, 0);
    assert!(!out.join("audit.jsonl").exists(), "one log, not two");
    // findings: exit 1, a minor failure
    let code = carelab(&["scan-phi", &s(&data.join("patients.csv"))], Some(&log));
    assert_eq!(code, 1);
    // bad input: a serious failure
    let missing = d.path().join("missing");
    let code = carelab(
        &[
            "deid",
            "--in",
            &s(&missing),
            "--out",
            &s(&out),
            "--mode",
            "limited",
            "--key-file",
            &s(&key),
        ],
        Some(&log),
    );
    assert_eq!(code, 2);
    // not patient data: not recorded
    assert_eq!(carelab(&["audit", "verify", &s(&log)], Some(&log)), 0);

    let recs = records(&log);
    let subtypes: Vec<&str> = recs
        .iter()
        .map(|r| r["subtype"].as_str().unwrap())
        .collect();
    assert_eq!(subtypes, ["data generate", "deid", "scan-phi", "deid"]);
    let outcomes: Vec<&str> = recs
        .iter()
        .map(|r| r["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["0", "0", "4", "8"]);
    let actions: Vec<&str> = recs.iter().map(|r| r["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["C", "C", "R", "C"]);
    for r in &recs {
        assert_eq!(r["resourceType"], "AuditEvent");
        assert!(r["source"].as_str().unwrap().contains("carelab/"));
        assert!(!r["agent"].as_str().unwrap().is_empty());
    }

    // generate: its output folder, named by its manifest's checksum
    let gen = &recs[0]["entities"][0];
    assert_eq!(gen["role"], "destination");
    assert_eq!(gen["what"], s(&data));
    let want = format!("sha256:{}", sha256(&data.join("manifest.json")));
    assert_eq!(gen["checksum"], want.as_str());
    assert!(recs[0]["detail"].as_str().unwrap().contains("patients=40"));

    // deid: input and output datasets, the mode and counts; never the key
    let ents = recs[1]["entities"].as_array().unwrap();
    assert_eq!(ents.len(), 2, "{ents:?}");
    assert_eq!(ents[0]["role"], "source");
    assert_eq!(ents[0]["checksum"], want.as_str());
    assert_eq!(ents[1]["role"], "destination");
    let deid_manifest = format!("sha256:{}", sha256(&out.join("manifest.json")));
    assert_eq!(ents[1]["checksum"], deid_manifest.as_str());
    let detail = recs[1]["detail"].as_str().unwrap();
    assert!(detail.contains("mode=safe-harbor"), "{detail}");
    assert!(detail.contains("patients.rows_out=40"), "{detail}");
    assert!(!fs::read_to_string(&log).unwrap().contains("key.hex"));
    // scan-phi read one file its dataset's manifest lists
    assert_eq!(recs[2]["entities"][0]["checksum"], want.as_str());
    // the failed run names no missing path and quotes no error text
    let ents = recs[3]["entities"].as_array().unwrap();
    assert_eq!(ents.len(), 1, "only the existing --out: {ents:?}");
    assert_eq!(ents[0]["what"], s(&out));
    assert_eq!(recs[3]["detail"], "failed: usage");

    // no identifier of any patient reaches the log: as a value of its own,
    // not as five digits inside a checksum's hex, a timestamp or a
    // temporary folder's random name, where a ZIP code turned up by chance
    let text = fs::read_to_string(&log).unwrap();
    let ids = fs::read_to_string(data.join("truth/identifiers.csv")).unwrap();
    for line in ids.lines().skip(1) {
        let value = line.splitn(3, ',').nth(2).unwrap().trim_matches('"');
        if value.len() > 3 {
            assert!(
                !contains_token(&text, value),
                "PHI in the audit log: {value}"
            );
        }
    }
    let v = carelab::audit::verify(&log).unwrap();
    assert!(v.ok && v.records == 4, "{v:?}");
}

/// Whether `value` stands in `text` with no letter or digit right before or
/// after it.
fn contains_token(text: &str, value: &str) -> bool {
    let bytes = text.as_bytes();
    text.match_indices(value).any(|(at, _)| {
        let end = at + value.len();
        (at == 0 || !bytes[at - 1].is_ascii_alphanumeric())
            && bytes.get(end).is_none_or(|b| !b.is_ascii_alphanumeric())
    })
}

#[test]
fn a_token_is_found_alone_and_not_inside_a_checksum() {
    assert!(contains_token("{\"zip\":\"11235\"}", "11235"));
    assert!(contains_token("11235", "11235"));
    assert!(!contains_token("sha256:9f11235ab", "11235"));
    assert!(!contains_token("at 04:10:112356", "11235"));
}

/// `carelab audit verify --json` on a log: exit code and the problem.
fn verify(log: &Path) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_carelab"))
        .args(["--json", "audit", "verify"])
        .arg(log)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    (
        out.status.code().unwrap_or(-1),
        v["problem"].as_str().unwrap_or("").to_string(),
    )
}

#[test]
fn a_changed_byte_a_removed_line_and_an_inserted_line_each_fail_naming_the_line() {
    let d = tempfile::tempdir().unwrap();
    let log = d.path().join("audit.jsonl");
    let file = d.path().join("t.csv");
    fs::write(&file, "a,b\n1,2\n").unwrap();
    for _ in 0..4 {
        let code = carelab(
            &[
                "scan-phi",
                file.to_str().unwrap(),
                "--audit-log",
                log.to_str().unwrap(),
            ],
            None,
        );
        assert_eq!(code, 0);
    }
    assert_eq!(verify(&log), (0, String::new()));
    let original = fs::read(&log).unwrap();
    let lines: Vec<&[u8]> = original.split_inclusive(|&b| b == b'\n').collect();
    assert_eq!(lines.len(), 4);

    // one byte changed in line 3: the outcome "0" becomes "8"
    let mut edited = original.clone();
    let line3 = lines[0].len() + lines[1].len();
    let at = line3
        + lines[2]
            .windows(13)
            .position(|w| w == b"\"outcome\":\"0\"")
            .unwrap()
        + 11;
    edited[at] = b'8';
    fs::write(&log, &edited).unwrap();
    let (code, problem) = verify(&log);
    assert_eq!(code, 1);
    assert!(
        problem.contains("line 3") && problem.contains("edited"),
        "{problem}"
    );

    // line 2 removed
    fs::write(&log, [lines[0], lines[2], lines[3]].concat()).unwrap();
    let (code, problem) = verify(&log);
    assert_eq!(code, 1);
    assert!(problem.contains("line 2"), "{problem}");

    // a copy of line 2 inserted after it
    fs::write(
        &log,
        [lines[0], lines[1], lines[1], lines[2], lines[3]].concat(),
    )
    .unwrap();
    let (code, problem) = verify(&log);
    assert_eq!(code, 1);
    assert!(problem.contains("line 3"), "{problem}");

    // restored, it verifies again
    fs::write(&log, &original).unwrap();
    assert_eq!(verify(&log).0, 0);
}

/// A service or container often runs without USER: the record still names
/// the account, from the system's user record, as `id -un` does.
#[cfg(unix)]
#[test]
fn the_agent_is_the_os_account_even_without_user_in_the_environment() {
    let d = tempfile::tempdir().unwrap();
    let log = d.path().join("audit.jsonl");
    let status = Command::new(env!("CARGO_BIN_EXE_carelab"))
        .args(["-q", "--no-progress", "--audit-log"])
        .arg(&log)
        .args([
            "data",
            "generate",
            "--patients",
            "3",
            "--formats",
            "csv",
            "--out",
        ])
        .arg(d.path().join("data"))
        .env_remove("USER")
        .env_remove("LOGNAME")
        .env_remove("USERNAME")
        .env_remove("CARELAB_AUDIT_LOG")
        .status()
        .unwrap();
    assert!(status.success());
    let id = Command::new("id").arg("-un").output().unwrap();
    let expected = String::from_utf8_lossy(&id.stdout).trim().to_string();
    let agent = records(&log)[0]["agent"].as_str().unwrap().to_string();
    assert_eq!(agent, expected);
    assert!(!agent.is_empty() && agent != "unknown");
}
