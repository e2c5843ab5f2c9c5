//! HL7 v2 output against the standard: a generated feed through an
//! independent strict validator (hl7apy 1.3.5, `scripts/validate-hl7.py`),
//! which must reject none of its messages and must reject a message of the
//! old, non-conforming style; and the reader still reads that old style
//! (the observation id in OBX-21, as CareLab wrote it before).
//!
//! The validator is Python: it runs from `$PEERS_VENV/bin/python`. Without
//! it (PEERS_VENV unset, or no hl7apy there) the validator tests say so and
//! pass, unless `CARELAB_REQUIRE_CHECKERS=1` (as CI sets), which makes a
//! missing validator a failure.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::fixture;

use carelab::formats::hl7v2::{self, decode, Feed, Limits};

/// A message as CareLab's writer wrote them before its output conformed to
/// v2.5.1: no MSH-21, the observation id in OBX-21 (a field v2.5.1's OBX
/// does not have).
const OLD_STYLE: &str = "MSH|^~\\&|CARELAB|GENERAL HOSP|CARELAB-INGEST|GENERAL HOSP|20230110093000||ORU^R01^ORU_R01|0F3A9C51B2D4E6F80A1C|P|2.5.1\r\
PID|1||P0000007^^^CARELAB^PI~MRN-0042^^^CARELAB^MR||O'Brien^Siobhan||19480229|F\r\
PV1|1|I|||||||||||||||||E1|||||||||||||||||||||||||20230110091500\r\
OBR|1||E1-20230110093000|8867-4^Heart rate^LN|||20230110093000||||||||||||||||||F\r\
OBX|1|NM|8867-4^Heart rate^LN||92|/min^/min^UCUM|||||F|||20230110093000|||||||O1\r\
OBX|2|NM|8480-6^Systolic blood pressure^LN||141|mm[Hg]^mm[Hg]^UCUM|||||F|||20230110093000|||||||O2\r";

/// `$PEERS_VENV/bin/python` when it can import hl7apy. Otherwise `None`
/// after printing why, or a panic when `CARELAB_REQUIRE_CHECKERS=1`.
fn validator_python() -> Option<PathBuf> {
    let required = std::env::var("CARELAB_REQUIRE_CHECKERS").as_deref() == Ok("1");
    let missing = |why: String| {
        assert!(!required, "CARELAB_REQUIRE_CHECKERS=1 but {why}");
        eprintln!("skipped: {why} (set PEERS_VENV to a venv with hl7apy==1.3.5)");
        None
    };
    let Some(venv) = std::env::var_os("PEERS_VENV") else {
        return missing("PEERS_VENV is not set".into());
    };
    let python = Path::new(&venv).join("bin").join("python");
    let imports = Command::new(&python)
        .args(["-c", "import hl7apy"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !imports {
        return missing(format!("{} cannot import hl7apy", python.display()));
    }
    Some(python)
}

/// The validator's verdict on `feed`: (exit code, stdout).
fn validate(python: &Path, feed: &Path) -> (i32, String) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/validate-hl7.py");
    let out = Command::new(python).arg(script).arg(feed).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.stderr.is_empty(),
        "validator wrote on stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), stdout)
}

fn generate(out: &Path, args: &[&str]) {
    let run = Command::new(env!("CARGO_BIN_EXE_carelab"))
        .args(["-q", "--no-progress", "data", "generate"])
        .args(args)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
}

#[test]
fn generated_feed_passes_strict_hl7apy_validation() {
    let Some(python) = validator_python() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("gen");
    generate(
        &out,
        &[
            "--scenario",
            "baseline",
            "--patients",
            "20",
            "--seed",
            "42",
            "--formats",
            "hl7v2",
        ],
    );
    let feed = out.join("hl7v2").join("feed.hl7");
    let text = std::fs::read_to_string(&feed).unwrap();
    let n = hl7v2::split_messages(&text).len();
    assert!(n >= 200, "only {n} messages");
    // every kind of message and segment the writer makes is in the sample
    for kind in [
        "|ADT^A01^ADT_A01|",
        "|ADT^A03^ADT_A03|",
        "|ORU^R01^ORU_R01|",
        "\rIN1|1|",
        "|NM|",
        "|TX|18842-5^Discharge summary^LN|",
    ] {
        assert!(text.contains(kind), "no {kind:?} in the feed");
    }
    let (code, stdout) = validate(&python, &feed);
    assert!(
        stdout.ends_with(&format!(
            "validate-hl7: {n} messages, 0 rejected, {n} valid\n"
        )),
        "{stdout}"
    );
    assert_eq!(code, 0, "{stdout}");
}

#[test]
fn every_kind_of_value_of_the_test_bundle_passes_too() {
    // the shared bundle (a name with `^`, an address with `&`, a local
    // code) with its note made long: 40 lines, one of 2,000 characters
    let Some(python) = validator_python() else {
        return;
    };
    let mut b = fixture::bundle();
    let long = (0..40)
        .map(|i| format!("Line {i}: CHF & COPD | stable ~ {}", "x".repeat(i * 50)))
        .collect::<Vec<_>>()
        .join("\n");
    b.notes[0].text = long.clone();
    let msgs = hl7v2::messages(&b, "GENERAL HOSP");
    let dir = tempfile::tempdir().unwrap();
    let feed = dir.path().join("fixture.hl7");
    std::fs::write(&feed, msgs.join("\n")).unwrap();
    let (code, stdout) = validate(&python, &feed);
    let n = msgs.len();
    assert!(
        stdout.ends_with(&format!(
            "validate-hl7: {n} messages, 0 rejected, {n} valid\n"
        )),
        "{stdout}"
    );
    assert_eq!(code, 0, "{stdout}");
    // and the note reads back whole (the patient named by CareLab's own
    // PI identifier, as the bundle has it; the default rule takes the MRN)
    let pi: carelab::formats::hl7v2::PatientIdRule = "PI".parse().unwrap();
    let notes: Vec<_> = msgs
        .iter()
        .flat_map(|m| {
            let feed = Feed::from_bytes("f.hl7", m.as_bytes()).unwrap();
            let m = feed.messages(Limits::default()).next().unwrap().unwrap();
            carelab::formats::hl7v2::decode_with(&m, &pi).unwrap().notes
        })
        .collect();
    assert_eq!(notes, b.notes);
}

#[test]
fn the_validator_rejects_the_old_style_and_names_the_field() {
    let Some(python) = validator_python() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let feed = dir.path().join("old.hl7");
    std::fs::write(&feed, format!("{OLD_STYLE}\n{OLD_STYLE}")).unwrap();
    let (code, stdout) = validate(&python, &feed);
    assert_eq!(code, 1, "{stdout}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    for (i, line) in lines[..2].iter().enumerate() {
        assert!(
            line.contains(&format!("old.hl7: message {}: ", i + 1)) && line.contains("OBX_21"),
            "{line}"
        );
    }
    assert_eq!(lines[2], "validate-hl7: 2 messages, 2 rejected, 0 valid");
}

#[test]
fn old_style_observation_ids_in_obx_21_still_read() {
    let feed = Feed::from_bytes("old.hl7", OLD_STYLE.as_bytes()).unwrap();
    let msg = feed.messages(Limits::default()).next().unwrap().unwrap();
    let decoded = decode(&msg).unwrap();
    let got: Vec<(&str, &str, f64)> = decoded
        .observations()
        .map(|o| (o.observation_id.as_str(), &*o.code, o.value))
        .collect();
    assert_eq!(got, [("O1", "8867-4", 92.0), ("O2", "8480-6", 141.0)]);
    assert_eq!(decoded.observations().next().unwrap().encounter_id, "E1");
}

#[test]
fn sub_ids_are_ids_only_under_carelabs_profile() {
    // another sender's OBX-4 numbers results within the order: the ids
    // stay the control id and set id, unique in the feed
    let other = OLD_STYLE
        .replace("|||||||O1\r", "\r")
        .replace("|||||||O2\r", "\r")
        .replace("LN||92|", "LN|1|92|")
        .replace("LN||141|", "LN|1|141|");
    let ids = |text: &str| -> Vec<String> {
        let feed = Feed::from_bytes("x.hl7", text.as_bytes()).unwrap();
        let msg = feed.messages(Limits::default()).next().unwrap().unwrap();
        let d = decode(&msg).unwrap();
        d.observations().map(|o| o.observation_id.clone()).collect()
    };
    assert_eq!(
        ids(&other),
        ["0F3A9C51B2D4E6F80A1C-1", "0F3A9C51B2D4E6F80A1C-2"]
    );
    let profiled = other
        .replace("|P|2.5.1\r", "|P|2.5.1|||||||||CARELAB-V2-FEED^CARELAB\r")
        .replace("LN|1|92|", "LN|O1|92|")
        .replace("LN|1|141|", "LN|O2|141|");
    assert_eq!(ids(&profiled), ["O1", "O2"]);
}
