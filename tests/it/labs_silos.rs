//! Labs 02 (legacy silos) and 03 (interoperability) end to end: their
//! expected values agree with the files counted independently, a wrong
//! answer fails without showing what was wanted, the starter maps quarantine what
//! they lack, and the reference solution's live MLLP feed is real.

use std::fs;
use std::path::Path;

use carelab::labs::workspace::{self, Workspace};
use carelab::labs::Catalog;

use crate::cli_support::{exe, succeeded};

/// Messages of an HL7 v2 file: segments (CR or LF separated) that are MSH.
fn hl7_messages(path: &Path) -> usize {
    let bytes = fs::read(path).unwrap();
    String::from_utf8_lossy(&bytes)
        .split(['\r', '\n'])
        .filter(|s| s.starts_with("MSH"))
        .count()
}

/// Data records of a CSV file, quoted line breaks and all.
fn csv_records(path: &Path) -> usize {
    csv::Reader::from_path(path).unwrap().byte_records().count()
}

fn expected(ctx: &carelab::labs::template::Context, name: &str) -> u64 {
    ctx.expected[name]
        .as_ref()
        .unwrap_or_else(|e| panic!("{name}: {e}"))
        .parse()
        .unwrap()
}

#[test]
fn lab02_expected_values_are_the_silos_counted_independently() {
    let catalog = Catalog::builtin().unwrap();
    let lab = catalog.find("legacy").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut ws = Workspace::open(&dir.path().join("w"), Some(31), None, &exe()).unwrap();
    ws.solve(lab, Default::default()).unwrap();
    let d = ws.lab_dir(&lab.spec);
    let legacy = d.join("data/legacy");
    let ctx = workspace::context(&lab.spec, &d, 31);

    let lines = |p: &Path| {
        fs::read(p)
            .unwrap()
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .count() as u64
    };
    assert_eq!(
        expected(&ctx, "registration_lines"),
        lines(&legacy.join("registration.txt"))
    );
    assert_eq!(
        expected(&ctx, "lab_messages"),
        hl7_messages(&legacy.join("labs.hl7")) as u64
    );
    assert_eq!(
        expected(&ctx, "clinic_bundles"),
        lines(&legacy.join("clinic/bundles.ndjson"))
    );
    assert_eq!(
        expected(&ctx, "pharmacy_rows"),
        lines(&legacy.join("pharmacy.csv")) - 1
    );
    assert_eq!(
        expected(&ctx, "defects_injected"),
        csv_records(&legacy.join("truth/defects.csv")) as u64
    );
    // The quarantine total is every row of every quarantine file.
    let quarantined: usize = fs::read_dir(d.join("clean/quarantine"))
        .unwrap()
        .map(|e| csv_records(&e.unwrap().path()))
        .sum();
    assert!(quarantined > 0);
    assert_eq!(expected(&ctx, "quarantined"), quarantined as u64);

    let report = ws.check(lab).unwrap();
    assert!(report.complete, "{:?}", report.checks);
    // One wrong answer fails alone, saying where to look, not what it wanted.
    let answers = d.join("answers.toml");
    let text = fs::read_to_string(&answers).unwrap();
    let wrong = text.replace(
        &format!("quarantined = {quarantined}"),
        &format!("quarantined = {}", quarantined + 1),
    );
    assert_ne!(wrong, text);
    fs::write(&answers, wrong).unwrap();
    let report = ws.check(lab).unwrap();
    let failed: Vec<_> = report.checks.iter().filter(|c| !c.passed).collect();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(
        failed[0].detail,
        format!(
            "quarantined in answers.toml is {}: not the value your own data gives",
            quarantined + 1
        )
    );
}

#[test]
fn lab03_starter_maps_quarantine_and_a_live_feed_passes_its_checks() {
    let catalog = Catalog::builtin().unwrap();
    let lab = catalog.find("3").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut ws = Workspace::open(&dir.path().join("w"), Some(31), None, &exe()).unwrap();
    ws.start(lab).unwrap();
    let d = ws.lab_dir(&lab.spec);

    // The starter's maps load, but leave glucose and creatinine codes
    // unmapped: the check's own ingest quarantines them.
    let starter = ws.check(lab).unwrap();
    let by_id = |r: &workspace::CheckReport, id: &str| {
        r.checks.iter().find(|c| c.id == id).unwrap().clone()
    };
    assert!(by_id(&starter, "mapped_ingest").passed);
    let codes = by_id(&starter, "codes_mapped");
    assert!(
        !codes.passed
            && codes.detail
                == "/sources/labs/rules/code_map/rejected in mapped/quality.json: not the value this check wants",
        "{codes:?}"
    );
    let mapped: serde_json::Value =
        serde_json::from_slice(&fs::read(d.join("mapped/quality.json")).unwrap()).unwrap();
    let unmapped: Vec<&str> = mapped["sources"]["labs"]["unmapped_codes"]
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    assert!(!unmapped.is_empty());
    assert!(
        unmapped
            .iter()
            .all(|c| ["CRE", "CREAT", "GLU", "GLUC"].contains(c)),
        "{unmapped:?}"
    );

    // The reference maps are the shipped ones, byte for byte.
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/maps");
    for name in ["lab-codes.toml", "units.toml"] {
        let (_, text) = lab
            .solution
            .iter()
            .find(|(p, _)| *p == format!("maps/{name}"))
            .unwrap();
        assert_eq!(
            text,
            &fs::read_to_string(shipped.join(name)).unwrap(),
            "{name}"
        );
    }

    // The live feed as the README does it, on a free port: the listener
    // stops after the feed's messages, and its counts are what the checks
    // compare with the replay's.
    let sent = hl7_messages(&d.join("data/legacy/labs.hl7"));
    let mut listener = std::process::Command::new(exe())
        .args(["ingest", "listen", "--mllp", "127.0.0.1:0", "--out", "mllp"])
        .args(["--max-messages", &sent.to_string()])
        .current_dir(&d)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Its first line says where it listens; the rest is drained so that it
    // never writes into a closed pipe.
    let mut err = std::io::BufReader::new(listener.stderr.take().unwrap());
    let mut first = String::new();
    std::io::BufRead::read_line(&mut err, &mut first).unwrap();
    let drain = std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = std::io::Read::read_to_string(&mut err, &mut rest);
        rest
    });
    let addr = first
        .split_whitespace()
        .find(|w| w.starts_with("127.0.0.1:"))
        .unwrap()
        .trim_end_matches(';')
        .to_string();
    let replay = succeeded(
        std::process::Command::new(exe())
            .args(["--json", "data", "replay", "--mllp", &addr])
            .args(["--feed", "data/legacy/labs.hl7"])
            .current_dir(&d)
            .output()
            .unwrap(),
    );
    fs::write(d.join("replay.json"), &replay.stdout).unwrap();
    assert!(listener.wait().unwrap().success());
    drain.join().unwrap();

    let ctx = workspace::context(&lab.spec, &d, 31);
    let (accepted, errors) = (
        expected(&ctx, "mllp_accepted"),
        expected(&ctx, "mllp_errors"),
    );
    assert_eq!(accepted + errors, sent as u64);
    assert!(errors > 0, "legacy-messy has results that are no number");
    assert_eq!(hl7_messages(&d.join("mllp/feed.hl7")) as u64, accepted);
    let report = ws.check(lab).unwrap();
    for id in [
        "mllp_all_answered",
        "replay_acked",
        "replay_matches_listener",
    ] {
        let c = by_id(&report, id);
        assert!(c.passed, "{c:?}");
    }
    assert!(
        !by_id(&report, "mllp_errors").passed,
        "the starter answers 0"
    );
}

/// Lab 03's "bring your own feed": the clinic's feed (hand-written, vendor
/// style) quarantines one local code with the map as given; one right line
/// in maps/clinic-codes.toml makes every result with a value usable; a
/// plausible wrong line (haemoglobin A1c for haemoglobin) fails on units;
/// and no check's output gives the LOINC code away.
#[test]
fn lab03_own_feed_needs_one_right_mapping_line() {
    let catalog = Catalog::builtin().unwrap();
    let lab = catalog.find("3").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut ws = Workspace::open(&dir.path().join("w"), Some(33), None, &exe()).unwrap();
    ws.start(lab).unwrap();
    let d = ws.lab_dir(&lab.spec);
    let vendor_checks = |ws: &mut Workspace| {
        let r = ws.check(lab).unwrap();
        let got: Vec<(String, bool, String)> = r
            .checks
            .iter()
            .filter(|c| c.id.starts_with("vendor_"))
            .map(|c| (c.id.clone(), c.passed, c.detail.clone()))
            .collect();
        assert_eq!(got.len(), 3, "{got:?}");
        for (_, _, detail) in &got {
            assert!(!detail.contains("718-7"), "{detail}");
        }
        got
    };
    let passed = |got: &[(String, bool, String)]| -> Vec<String> {
        got.iter().filter(|c| c.1).map(|c| c.0.clone()).collect()
    };

    let starter = vendor_checks(&mut ws);
    assert_eq!(passed(&starter), ["vendor_ingest"], "{starter:?}");
    let q: serde_json::Value =
        serde_json::from_slice(&fs::read(d.join("vendor-mapped/quality.json")).unwrap()).unwrap();
    let unmapped: Vec<&String> = q["sources"]["clinic"]["unmapped_codes"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(unmapped, ["HGBX"]);
    assert_eq!(q["sources"]["clinic"]["messages"]["SIU^S12"]["skipped"], 1);

    let map = d.join("maps/clinic-codes.toml");
    let given = fs::read_to_string(&map).unwrap();
    fs::write(&map, format!("{given}HGBX = \"4548-4\"\n")).unwrap();
    let wrong = vendor_checks(&mut ws);
    assert_eq!(passed(&wrong), ["vendor_ingest"], "{wrong:?}");
    // the check says what is wrong and where, never the value it wants
    assert!(
        wrong[1].2.contains("not the value this check wants") && !wrong[1].2.contains("expected"),
        "{wrong:?}"
    );
    let q: serde_json::Value =
        serde_json::from_slice(&fs::read(d.join("vendor-mapped/quality.json")).unwrap()).unwrap();
    assert_eq!(q["sources"]["clinic"]["rules"]["unit"]["rejected"], 3);

    let (_, solution) = lab
        .solution
        .iter()
        .find(|(p, _)| p == "maps/clinic-codes.toml")
        .unwrap();
    let added: Vec<&str> = solution.lines().skip(given.lines().count()).collect();
    assert_eq!(added.len(), 1, "the solution adds one line: {added:?}");
    fs::write(&map, solution).unwrap();
    let right = vendor_checks(&mut ws);
    assert_eq!(right.iter().filter(|c| c.1).count(), 3, "{right:?}");
}

/// Lab 02's step 3 cuts a registration line apart by the layout's columns,
/// which count characters in a UTF-8 file. Run the README's own pipeline on
/// a line with accented names and compare with the fields sliced by
/// character; a bare `cut -c` (which counts bytes) would shift them.
#[test]
fn lab02_cut_step_keeps_the_columns_of_accented_names() {
    let readme =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("labs/02-legacy/README.md"))
            .unwrap();
    let input = "head -1 data/legacy/registration.txt | ";
    let command = readme
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with(input) && l.contains("cut -c"))
        .expect("lab 02 README: the `head -1 ... | cut -c` step");
    let pipeline = &command[input.len()..];

    // Columns as the layout gives them: type 1, MRN 2-10 and 11-19, family
    // name 20-43, given name 44-59, sex 60, birth date 61-70.
    let pad = |s: &str, w: usize| format!("{s:<w$}");
    let line = format!(
        "P{}{}{}{}M{}",
        pad("02103445", 9),
        pad("02103445", 9),
        pad("Núñez", 24),
        pad("François", 16),
        pad("19350902", 10)
    );
    let chars: Vec<char> = line.chars().collect();
    let slice = |a: usize, b: usize| chars[a - 1..b].iter().collect::<String>();
    let wanted = format!(
        "{}{}{}{}",
        slice(1, 1),
        slice(2, 10),
        slice(20, 43),
        slice(61, 70)
    );
    assert!(wanted.ends_with("19350902  "), "{wanted:?}");

    let run = |pipeline: &str| {
        let mut child = std::process::Command::new("bash")
            .args(["-c", pipeline])
            .env("LC_ALL", "C.UTF-8")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write as _;
        let mut stdin = child.stdin.take().unwrap();
        writeln!(stdin, "{line}").unwrap();
        drop(stdin);
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{pipeline}");
        String::from_utf8(out.stdout)
            .unwrap()
            .trim_end_matches('\n')
            .to_string()
    };
    assert_eq!(run(pipeline), wanted, "{pipeline}");
    // What the step did before: the birth date slides by the extra bytes.
    assert_ne!(run("cut -c1,2-10,20-43,61-70"), wanted);
}
