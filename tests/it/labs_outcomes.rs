//! Checks that judge the outcome, not that a rule fired or a flag was
//! set: lab 03's mapped results against the generator's truth, lab 05's
//! release scanned for every known identifier, and lab 08's measured
//! figure accepted from any of the learner's own outputs. Each: the starter
//! fails, the right work passes, and a wrong but plausible one fails
//! (without the check saying what it wanted).

use std::fs;
use std::path::Path;

use carelab::labs::workspace::{CheckReport, Workspace};
use carelab::labs::{Catalog, CheckResult, Lab};

use crate::cli_support::{exe, succeeded};

fn by_id(r: &CheckReport, id: &str) -> CheckResult {
    r.checks
        .iter()
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("no check {id}"))
        .clone()
}

/// Write the reference solution's file `rel` into the lab folder.
fn solution_file(lab: &Lab, dir: &Path, rel: &str) -> String {
    let (_, text) = lab
        .solution
        .iter()
        .find(|(p, _)| p == rel)
        .unwrap_or_else(|| panic!("no solution file {rel}"));
    fs::write(dir.join(rel), text).unwrap();
    text.clone()
}

/// Lab 03: every mapped result has its true code and value, and none the
/// feed sent right was quarantined. A glucose conversion that divides
/// (its values fall out of range: quarantined, not for their unit), one
/// with the wrong factor (kept wrong), and creatinine mapped to glucose's
/// LOINC code fail here, naming the analyte and none of its values.
#[test]
fn lab03_mapped_results_are_judged_against_the_generators_truth() {
    let catalog = Catalog::builtin().unwrap();
    let lab = catalog.find("3").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut ws = Workspace::open(&dir.path().join("w"), Some(37), None, &exe()).unwrap();
    ws.start(lab).unwrap();
    let d = ws.lab_dir(&lab.spec);

    // The starter: the results it cannot map are quarantined, though the
    // generator sent them right.
    let starter = ws.check(lab).unwrap();
    let truth = by_id(&starter, "mapped_values_true");
    assert!(!truth.passed, "{truth:?}");
    assert!(
        truth.detail.contains("Glucose") && truth.detail.contains("Creatinine"),
        "{truth:?}"
    );

    let codes = solution_file(lab, &d, "maps/lab-codes.toml");
    let units = solution_file(lab, &d, "maps/units.toml");
    let right = ws.check(lab).unwrap();
    let truth = by_id(&right, "mapped_values_true");
    assert!(truth.passed, "{truth:?}");
    assert_eq!(
        truth.detail,
        "every row of mapped/omop/measurement.csv agrees with the generator's truth"
    );

    let wrong_units = [
        (
            "divide = 18.016",
            "Glucose [Mass/volume] in Serum or Plasma: results quarantined though the source sent them right",
        ),
        (
            "multiply = 10.0",
            "Glucose [Mass/volume] in Serum or Plasma: values that are not the true ones",
        ),
    ];
    for (line, what) in wrong_units {
        assert!(units.contains("multiply = 18.016"));
        fs::write(
            d.join("maps/units.toml"),
            units.replace("multiply = 18.016", line),
        )
        .unwrap();
        let r = ws.check(lab).unwrap();
        // Nothing is quarantined for its code or unit: the counting checks
        // are satisfied.
        for id in ["codes_mapped", "units_converted", "mapped_ingest"] {
            assert!(by_id(&r, id).passed, "{line}: {id} {:?}", by_id(&r, id));
        }
        let c = by_id(&r, "mapped_values_true");
        assert!(!c.passed, "{line} passes: {c:?}");
        assert_eq!(
            c.detail,
            format!(
                "mapped/omop/measurement.csv and its quarantine disagree with the generator's truth. {what}"
            ),
            "{line}"
        );
        assert!(!c.detail.contains("Creatinine"), "{line}: {}", c.detail);
        assert!(!c.fix.is_empty());
        assert_no_true_value(&c.detail);
    }
    fs::write(d.join("maps/units.toml"), &units).unwrap();

    // Creatinine's local codes mapped to glucose's LOINC code: a value
    // kept is under the wrong code, one out of glucose's range or in a
    // unit glucose has no conversion for is quarantined; both are
    // creatinine's.
    let swapped = codes
        .replace("CREAT = \"2160-0\"", "CREAT = \"2345-7\"")
        .replace("CRE = \"2160-0\"", "CRE = \"2345-7\"");
    assert_ne!(swapped, codes);
    fs::write(d.join("maps/lab-codes.toml"), swapped).unwrap();
    let r = ws.check(lab).unwrap();
    let c = by_id(&r, "mapped_values_true");
    assert!(!c.passed, "{c:?}");
    assert!(
        c.detail.contains("Creatinine") && !c.detail.contains("Glucose"),
        "{}",
        c.detail
    );
    assert!(!c.detail.contains("2160-0") && !c.detail.contains("2345-7"));
    assert_no_true_value(&c.detail);
}

/// No number at all in `detail`: no value, factor or count (a count of
/// quarantined results is an answer the lab asks for).
fn assert_no_true_value(detail: &str) {
    assert!(!detail.contains(|c: char| c.is_ascii_digit()), "{detail}");
}

/// Lab 05: release/ is scanned with the generator's list of every
/// identifier; a --roles override that keeps names, MRN and city fails,
/// though every other release check is satisfied.
#[test]
fn lab05_release_must_hold_no_known_identifier() {
    let catalog = Catalog::builtin().unwrap();
    let lab = catalog.find("5").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut ws = Workspace::open(&dir.path().join("w"), Some(55), None, &exe()).unwrap();
    ws.start(lab).unwrap();
    let d = ws.lab_dir(&lab.spec);

    let starter = ws.check(lab).unwrap();
    let c = by_id(&starter, "release_safe_harbor");
    assert!(!c.passed && c.detail.contains("exited"), "{c:?}");

    ws.solve(lab, Default::default()).unwrap();
    let solved = ws.check(lab).unwrap();
    let c = by_id(&solved, "release_safe_harbor");
    assert!(c.passed, "{c:?}");

    fs::write(
        d.join("roles.toml"),
        "[columns]\ngiven_name = \"keep\"\nfamily_name = \"keep\"\nmrn = \"keep\"\ncity = \"keep\"\n",
    )
    .unwrap();
    fs::remove_dir_all(d.join("release")).unwrap();
    succeeded(
        std::process::Command::new(exe())
            .args([
                "deid",
                "--in",
                "data",
                "--out",
                "release",
                "--mode",
                "safe-harbor",
            ])
            .args(["--key-file", "secrets/deid.key", "--quasi", "age_band,sex"])
            .args(["--k", "5", "--suppress", "--roles", "roles.toml"])
            .arg("--allow-not-safe-harbor")
            .current_dir(&d)
            .output()
            .unwrap(),
    );
    let leaky = ws.check(lab).unwrap();
    let failed: Vec<&str> = leaky
        .checks
        .iter()
        .filter(|c| !c.passed)
        .map(|c| c.id.as_str())
        .collect();
    assert_eq!(failed, ["release_safe_harbor"], "{:?}", leaky.checks);
    let c = by_id(&leaky, "release_safe_harbor");
    assert!(
        c.detail
            .contains("scan-phi --known data/truth/identifiers.csv release")
            && c.detail.contains("exited 1"),
        "{c:?}"
    );
}

/// Lab 08: the fused engine's figure at width 64, batch 1024 is measured
/// twice (in both sweeps), each with its median, slowest and fastest
/// epoch; any of those is right, a figure from elsewhere is not. The
/// sweeps' files are written here as bench train writes them (the check
/// reads nothing else), so the figures are known.
#[test]
fn lab08_accepts_any_figure_of_the_learners_own_runs() {
    let catalog = Catalog::builtin().unwrap();
    let lab = catalog.find("8").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut ws = Workspace::open(&dir.path().join("w"), Some(8), None, &exe()).unwrap();
    ws.start(lab).unwrap();
    let d = ws.lab_dir(&lab.spec);
    let row = |engine: &str, hidden: &str, batch: u32, median: f64, min: f64, max: f64| {
        serde_json::json!({
            "engine": engine, "device": "cpu", "dtype": "f32", "hidden": hidden,
            "batch_size": batch, "samples_per_sec": median, "samples_per_sec_min": min,
            "samples_per_sec_max": max, "epochs_timed": 1, "seconds_per_epoch": 0.01,
            "working_bytes": 1000, "vs_best_cpu": 1.0
        })
    };
    let mut batch = Vec::new();
    for b in [64, 256, 1024, 4096] {
        let f = if b == 1024 {
            (542_970.4, 500_001.2, 560_000.7)
        } else {
            (100.0, 90.0, 110.0)
        };
        batch.push(row("fused", "64", b, f.0, f.1, f.2));
        batch.push(row("candle", "64", b, 10.0, 9.0, 11.0));
    }
    let mut width = Vec::new();
    for h in ["16", "64", "256,128"] {
        let f = if h == "64" {
            (217_541.3, 217_541.3, 217_541.3)
        } else {
            (100.0, 90.0, 110.0)
        };
        width.push(row("fused", h, 1024, f.0, f.1, f.2));
        width.push(row("candle", h, 1024, 10.0, 9.0, 11.0));
    }
    for (folder, rows) in [("bench-batch", &batch), ("bench-width", &width)] {
        fs::create_dir_all(d.join(folder)).unwrap();
        fs::write(
            d.join(folder).join("bench-train.json"),
            serde_json::to_vec_pretty(rows).unwrap(),
        )
        .unwrap();
    }
    let answers = d.join("answers.toml");
    let starter = fs::read_to_string(&answers).unwrap();
    let fused = |ws: &mut Workspace, answer: Option<&str>| {
        if let Some(a) = answer {
            fs::write(
                &answers,
                starter.replace(
                    "fused_1024_samples_per_sec = 0",
                    &format!("fused_1024_samples_per_sec = {a}"),
                ),
            )
            .unwrap();
        }
        by_id(&ws.check(lab).unwrap(), "fused_1024")
    };
    assert!(!fused(&mut ws, None).passed, "the starter's 0");
    // The batch sweep's median as the table prints it, its fastest epoch,
    // and the width sweep's figure for the same setting.
    for right in ["542970", "560001", "500001", "217541"] {
        let c = fused(&mut ws, Some(right));
        assert!(c.passed, "{right}: {c:?}");
    }
    // A figure from the README of another machine, and the batch sweep's
    // figure at batch 4096: plausible, not this setting of this machine.
    for wrong in ["210000", "100"] {
        let c = fused(&mut ws, Some(wrong));
        assert!(!c.passed, "{wrong}: {c:?}");
        assert_eq!(
            c.detail,
            format!("fused_1024_samples_per_sec in answers.toml is {wrong}: not the value your own data gives")
        );
    }
}

/// Lab 04: its own population (not lab 02's), and the readmission label
/// the learner derives in SQL from the CDM database, compared row for row
/// with the analysis table. The starter's NULL label fails, a window that
/// counts 30 days from the admission instead of the discharge fails, the
/// reference passes; no failure says what a label should be.
#[test]
fn lab04_label_sql_is_judged_against_the_analysis_table() {
    let catalog = Catalog::builtin().unwrap();
    let lab = catalog.find("4").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut ws = Workspace::open(&dir.path().join("w"), Some(41), None, &exe()).unwrap();
    ws.solve(lab, Default::default()).unwrap();
    let d = ws.lab_dir(&lab.spec);
    let manifest: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(d.join("data/manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["details"]["scenario"], "lab04-linkage");
    assert_eq!(manifest["details"]["patients"], 400);
    assert!(ws.check(lab).unwrap().complete);
    // Linkage goes wrong both ways on this population: the strict
    // threshold splits duplicates, the loose one merges look-alikes.
    let quality = |dir: &str| -> serde_json::Value {
        serde_json::from_str(&fs::read_to_string(d.join(dir).join("quality.json")).unwrap())
            .unwrap()
    };
    let (strict, loose) = (quality("strict"), quality("loose"));
    assert!(
        strict["linkage"]["quality"]["recall"].as_f64().unwrap() < 0.99,
        "{}",
        strict["linkage"]
    );
    assert!(
        loose["linkage"]["quality"]["precision"].as_f64().unwrap() < 1.0,
        "{}",
        loose["linkage"]
    );
    assert_eq!(quality("clean")["linkage"]["quality"]["precision"], 1.0);

    let starter = &lab
        .starter
        .iter()
        .find(|(p, _)| p == "label.sql")
        .unwrap()
        .1;
    fs::write(d.join("label.sql"), starter).unwrap();
    let failed = by_id(&ws.check(lab).unwrap(), "cdm_label");
    assert!(
        !failed.passed && failed.detail.contains("readmit_30d differs"),
        "{failed:?}"
    );

    let reference = solution_file(lab, &d, "label.sql");
    let from_admission = reference.replace(
        "datetime(v.visit_end_datetime, '+30 days')\n       )",
        "datetime(v.visit_start_datetime, '+30 days')\n       )",
    );
    assert_ne!(from_admission, reference);
    fs::write(d.join("label.sql"), &from_admission).unwrap();
    let failed = by_id(&ws.check(lab).unwrap(), "cdm_label");
    assert!(!failed.passed, "{failed:?}");
    assert!(
        failed.detail.contains("readmit_30d differs on"),
        "{failed:?}"
    );
    assert!(!failed.detail.contains("E0"), "names no stay: {failed:?}");

    fs::write(d.join("label.sql"), "SELECT stay_id FROM nowhere").unwrap();
    let failed = by_id(&ws.check(lab).unwrap(), "cdm_label");
    assert!(
        !failed.passed && failed.detail.contains("label.sql"),
        "{failed:?}"
    );

    solution_file(lab, &d, "label.sql");
    assert!(ws.check(lab).unwrap().complete);

    lab04_leak_is_built_then_removed(&mut ws, lab, &d);
}

/// Lab 04's leak, on the solved workspace: the learner's post-discharge
/// feature must lift the validation AUROC past the population's Bayes
/// AUROC and to 0.95 (a fair feature can pass the first by the luck of a
/// small validation split, not the second), and the honest run must be without it and back below 0.95. The
/// starter (no runs, a NULL column), a window before the admission, the
/// leak left in the honest run and the leak renamed there each fail the
/// check they should, and no failure shows the ceiling.
fn lab04_leak_is_built_then_removed(ws: &mut Workspace, lab: &Lab, d: &Path) {
    let ids = [
        "leak_in_model",
        "leak_inflates",
        "leak_near_one",
        "honest_without_leak",
        "honest_auroc",
    ];
    let passed = |ws: &mut Workspace| -> Vec<bool> {
        let r = ws.check(lab).unwrap();
        ids.iter().map(|id| by_id(&r, id).passed).collect()
    };
    let bayes: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(d.join("data/manifest.json")).unwrap()).unwrap();
    let bayes = bayes["details"]["bayes_auroc"].as_f64().unwrap();
    let auroc = |run: &str| -> f64 {
        let m: serde_json::Value = serde_json::from_str(
            &fs::read_to_string(d.join("runs").join(run).join("train_metrics.json")).unwrap(),
        )
        .unwrap();
        m["valid_auroc"].as_f64().unwrap()
    };
    // The reference: the leak beats the ceiling, the honest run does not
    // come near 1.
    assert_eq!(passed(ws), [true; 5]);
    assert!(auroc("leaky") > bayes && auroc("honest") < 0.95);
    let train = |name: &str, sql: Option<&str>| {
        let _ = fs::remove_dir_all(d.join("runs").join(name));
        let mut args = vec![
            "train",
            "--data",
            "clean/analysis.csv",
            "--model",
            "logreg",
            "--epochs",
            "50",
            "--lr",
            "0.1",
            "--seed",
            "1",
            "--no-eval",
            "--name",
            name,
        ];
        if let Some(sql) = sql {
            args.extend(["--features-sql", sql]);
        }
        succeeded(
            std::process::Command::new(exe())
                .args(&args)
                .current_dir(d)
                .output()
                .unwrap(),
        );
    };
    let no_ceiling = |ws: &mut Workspace| {
        let r = ws.check(lab).unwrap();
        for id in ids {
            let c = by_id(&r, id);
            assert!(!c.detail.contains(&bayes.to_string()), "{c:?}");
            assert!(!c.detail.contains(&format!("{bayes:.3}")), "{c:?}");
        }
    };

    // The starter: no runs at all.
    fs::rename(d.join("runs"), d.join("runs-solved")).unwrap();
    assert_eq!(passed(ws), [false; 5]);
    // The starter's query trains, but its NULL column leaks nothing.
    let starter = &lab.starter.iter().find(|(p, _)| p == "leak.sql").unwrap().1;
    fs::write(d.join("leak.sql"), starter).unwrap();
    train("leaky", Some("leak.sql"));
    assert_eq!(passed(ws)[..3], [true, false, false]);
    // A window before the admission: a fair feature under the leak's
    // name, so the model is no better than the data allows.
    let reference = solution_file(lab, d, "leak.sql");
    let before = reference
        .replace(
            "r.visit_start_datetime > v.visit_end_datetime",
            "r.visit_start_datetime < v.visit_start_datetime",
        )
        .replace(
            "r.visit_start_datetime <= datetime(v.visit_end_datetime, '+30 days')",
            "r.visit_start_datetime >= datetime(v.visit_start_datetime, '-30 days')",
        );
    assert_ne!(before, reference);
    fs::write(d.join("leak.sql"), &before).unwrap();
    train("leaky", Some("leak.sql"));
    assert_eq!(passed(ws)[..3], [true, false, false]);
    assert!(auroc("leaky") < bayes);
    no_ceiling(ws);

    // The leak left in the honest run, and the leak renamed there.
    solution_file(lab, d, "leak.sql");
    train("leaky", Some("leak.sql"));
    train("honest", Some("leak.sql"));
    assert_eq!(passed(ws), [true, true, true, false, false]);
    fs::write(
        d.join("renamed.sql"),
        reference.replace("AS visits_30d_after", "AS follow_up_visits"),
    )
    .unwrap();
    train("honest", Some("renamed.sql"));
    assert_eq!(passed(ws), [true, true, true, true, false]);
    train("honest", None);
    assert_eq!(passed(ws), [true; 5]);
    fs::remove_dir_all(d.join("runs-solved")).unwrap();
}
