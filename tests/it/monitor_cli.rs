//! `carelab monitor` end to end on generated populations: a stable
//! population passes, drift-2025 and site-b are flagged for the features
//! and codes that were changed (and not the stable ones), a profile stands
//! in for the reference data, and a prediction log with labels works.

use std::path::Path;
use std::process::{Command, Output};

use carelab::clinical::AnalysisRow;
use carelab::formats::table::read_table;
use serde_json::Value;

fn carelab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_carelab"))
        .args(args)
        .output()
        .expect("run carelab")
}

fn generate(out: &Path, scenario: &str, seed: &str) {
    generate_n(out, scenario, seed, "400");
}

fn generate_n(out: &Path, scenario: &str, seed: &str, patients: &str) {
    let o = carelab(&[
        "-q",
        "--no-progress",
        "data",
        "generate",
        "--scenario",
        scenario,
        "--patients",
        patients,
        "--seed",
        seed,
        "--formats",
        "csv",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(
        o.status.success(),
        "generate: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Run monitor with --json; returns the exit code and the report.
fn monitor(args: &[&str]) -> (i32, Value) {
    let mut all = vec!["--json", "--no-progress", "monitor"];
    all.extend_from_slice(args);
    let o = carelab(&all);
    let code = o.status.code().unwrap();
    let report = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "no JSON ({e}); stderr: {}",
            String::from_utf8_lossy(&o.stderr)
        )
    });
    (code, report)
}

fn level<'a>(report: &'a Value, feature: &str) -> &'a str {
    report["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == feature)
        .unwrap_or_else(|| panic!("no feature {feature}"))["level"]
        .as_str()
        .unwrap()
}

fn flagged(report: &Value) -> Vec<String> {
    report["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["level"] != "ok")
        .map(|f| f["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn another_seed_of_the_same_hospital_is_ok() {
    let d = tempfile::tempdir().unwrap();
    let (a, b) = (d.path().join("a"), d.path().join("b"));
    generate(&a, "baseline", "1");
    generate(&b, "baseline", "2");
    let out = d.path().join("m");
    let (code, r) = monitor(&[
        "--reference",
        a.to_str().unwrap(),
        "--current",
        b.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "flagged: {:?} codes: {}", flagged(&r), r["codes"]);
    assert_eq!(r["verdict"], "ok");
    assert!(flagged(&r).is_empty());
    assert_eq!(r["codes"].as_array().unwrap().len(), 0);
    for f in ["report.json", "report.md", "psi.svg", "manifest.json"] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    let m = carelab::artifact::Manifest::read(&out).unwrap();
    assert_eq!(m.stage, "monitor");
    assert_eq!(m.details["verdict"], "ok");
    assert!(m.files.contains_key("report.md"));
}

#[test]
fn drift_2025_flags_creatinine_and_the_new_diabetes_codes_with_causes() {
    let d = tempfile::tempdir().unwrap();
    let (a, b) = (d.path().join("a"), d.path().join("b"));
    generate(&a, "baseline", "1");
    generate(&b, "drift-2025", "3");
    let out = d.path().join("m");
    let (code, r) = monitor(&[
        "--reference",
        a.to_str().unwrap(),
        "--current",
        b.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert_eq!(r["verdict"], "alert");
    assert_eq!(level(&r, "creatinine"), "alert");
    // the stable measurements are not flagged
    for stable in [
        "sodium",
        "potassium",
        "hemoglobin",
        "hr",
        "los_days",
        "disposition",
    ] {
        assert_eq!(level(&r, stable), "ok", "{stable}");
    }
    let codes = r["codes"].as_array().unwrap();
    let has = |code: &str, change: &str| {
        codes
            .iter()
            .any(|c| c["code"] == code && c["change"] == change)
    };
    assert!(has("E11.65", "new"), "{codes:?}");
    assert!(has("E11.22", "new"));
    assert!(has("I11.9", "new"));
    assert!(
        has("2160-0", "values"),
        "creatinine value shift in the same code and unit"
    );
    let creat = r["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "creatinine")
        .unwrap();
    let causes = creat["causes"].to_string();
    assert!(
        causes.contains("2160-0") && causes.contains("same code and unit"),
        "{causes}"
    );
    // drift-2025 recalibrated the assay (+0.3 mg/dL) while CKD rose with
    // age: the shift holds among stays without CKD, so the assay is named.
    let creat_code = codes.iter().find(|c| c["code"] == "2160-0").unwrap();
    let ckd = &creat_code["case_mix"][0];
    assert_eq!(ckd["feature"], "ckd");
    assert_eq!(ckd["shift_holds_without"], true, "{ckd}");
    assert!(causes.contains("a changed assay"), "{causes}");
    assert!(!causes.contains("likely cause, not the assay"), "{causes}");
    let t2dm = r["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "t2dm")
        .unwrap();
    assert!(t2dm["causes"].to_string().contains("E11.65"));
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("**creatinine** (alert)"));
    assert!(out.join("hist-creatinine.svg").is_file());
    // the page has the flagged feature with its plot inline, and the code change
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    let creatinine = html
        .split(r#"<div class="figure" id="feature-creatinine">"#)
        .nth(1)
        .expect("creatinine flagged in report.html");
    assert!(creatinine.contains("<svg") && creatinine.contains("creatinine: share by bin"));
    assert!(html.contains(r#"<p id="verdict" class="verdict alert">"#));
    assert!(html.contains("E11.65"));
}

/// The other side of the cause rule: more heart failure and no change in
/// any assay moves BNP too, and the monitor must call that case mix.
#[test]
fn a_bnp_shift_from_more_heart_failure_is_called_case_mix_not_the_assay() {
    let d = tempfile::tempdir().unwrap();
    let (a, b) = (d.path().join("a"), d.path().join("b"));
    generate(&a, "baseline", "1");
    let scenario = d.path().join("more-hf.toml");
    let baseline = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/scenarios/baseline.toml"),
    )
    .unwrap();
    let more_hf = baseline.replace("heart_failure = 1.0", "heart_failure = 3.0");
    assert_ne!(more_hf, baseline, "the scenario names heart_failure");
    std::fs::write(&scenario, more_hf).unwrap();
    generate(&b, scenario.to_str().unwrap(), "3");
    let (_, r) = monitor(&[
        "--reference",
        a.to_str().unwrap(),
        "--current",
        b.to_str().unwrap(),
        "--out",
        d.path().join("m").to_str().unwrap(),
    ]);
    let bnp = r["codes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == "30934-4" && c["change"] == "values")
        .unwrap_or_else(|| panic!("no BNP value shift in {}", r["codes"]));
    let chf = bnp["case_mix"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["feature"] == "chf")
        .unwrap();
    assert_eq!(chf["changed"], true, "{chf}");
    assert_eq!(chf["shift_holds_without"], false, "{chf}");
    let causes = r["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "bnp")
        .unwrap()["causes"]
        .to_string();
    assert!(
        causes.contains("a change in case mix is the likely cause"),
        "{causes}"
    );
    assert!(!causes.contains("a changed assay"), "{causes}");
}

#[test]
fn site_b_is_flagged_with_the_unit_and_code_change_named() {
    let d = tempfile::tempdir().unwrap();
    let (a, b) = (d.path().join("a"), d.path().join("b"));
    generate(&a, "baseline", "1");
    generate(&b, "site-b", "4");
    let out = d.path().join("m");
    let (code, r) = monitor(&[
        "--reference",
        a.to_str().unwrap(),
        "--current",
        b.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(code >= 1);
    let f = flagged(&r);
    // the population mix changed (younger, other payers and race mix)
    assert!(
        f.contains(&"age".to_string()) && f.contains(&"payer".to_string()),
        "{f:?}"
    );
    assert_eq!(level(&r, "sex"), "ok");
    let codes = r["codes"].as_array().unwrap();
    assert!(codes.iter().any(|c| c["code"] == "CREA"
        && c["unit"] == "umol/L"
        && c["change"] == "new"
        && c["feature"] == "creatinine"));
    assert!(codes
        .iter()
        .any(|c| c["code"] == "2160-0" && c["change"] == "vanished"));
    assert!(codes
        .iter()
        .any(|c| c["unit"] == "mmol/L" && c["feature"] == "glucose" && c["change"] == "new"));
}

#[test]
fn a_profile_and_a_labelled_prediction_log_work_as_the_two_sides() {
    let d = tempfile::tempdir().unwrap();
    let (a, b) = (d.path().join("a"), d.path().join("b"));
    generate(&a, "baseline", "1");
    generate(&b, "drift-2025", "3");
    let profile = d.path().join("profile.json");
    let o = carelab(&[
        "-q",
        "monitor",
        "profile",
        "--data",
        a.to_str().unwrap(),
        "--out",
        profile.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // A prediction log as serving writes it, from the drift rows: features
    // by name, a score that tracks the label, the discharge as the time.
    let rows: Vec<AnalysisRow> = read_table(b.join("analysis.csv")).unwrap();
    let mut log = String::new();
    let mut labels = String::from("stay,readmit_30d\n");
    for (i, row) in rows.iter().enumerate() {
        let features: serde_json::Map<String, Value> = carelab::clinical::FEATURES
            .iter()
            .map(|(n, _)| {
                (
                    n.to_string(),
                    serde_json::to_value(row.feature(n).unwrap()).unwrap(),
                )
            })
            .collect();
        let score = if row.readmit_30d == 1 { 0.6 } else { 0.2 } + 0.1 * ((i % 3) as f64);
        let rec = carelab::serve::recorder::PredictionRecord {
            time: format!("{}Z", row.discharge_time),
            model: "m".into(),
            version: "1".into(),
            patient: None,
            stay: Some(format!("P{i}")),
            features,
            score,
            flagged: score >= 0.5,
        };
        log.push_str(&serde_json::to_string(&rec).unwrap());
        log.push('\n');
        labels.push_str(&format!("P{i},{}\n", row.readmit_30d));
    }
    let (log_path, labels_path) = (
        d.path().join("predictions.jsonl"),
        d.path().join("labels.csv"),
    );
    std::fs::write(&log_path, log).unwrap();
    std::fs::write(&labels_path, labels).unwrap();
    let out = d.path().join("m");
    let (code, r) = monitor(&[
        "--reference",
        profile.to_str().unwrap(),
        "--current",
        log_path.to_str().unwrap(),
        "--labels",
        labels_path.to_str().unwrap(),
        "--window",
        "365-days",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert_eq!(level(&r, "creatinine"), "alert");
    assert_eq!(r["current_rows"], rows.len());
    // No codes in a log, no scores in the profile: said, not guessed.
    assert!(r["notes"]
        .to_string()
        .contains("score distribution not compared"));
    let windows = r["windows"].as_array().unwrap();
    assert!(windows.len() >= 3, "{windows:?}");
    let n: u64 = windows.iter().map(|w| w["rows"].as_u64().unwrap()).sum();
    assert_eq!(n, rows.len() as u64);
    // the score separates the labels perfectly in every window with both classes
    for w in windows {
        if let Some(auc) = w["performance"]["auroc"].as_f64() {
            assert!(auc > 0.9, "{w}");
        }
    }
}

#[test]
fn bad_inputs_get_clear_errors() {
    let d = tempfile::tempdir().unwrap();
    let o = carelab(&[
        "monitor",
        "--reference",
        "/nonexistent/x.csv",
        "--current",
        "/nonexistent/y.csv",
        "--out",
        d.path().to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("/nonexistent/x.csv"));
    let o = carelab(&[
        "monitor",
        "--reference",
        "a",
        "--current",
        "b",
        "--window",
        "fortnight",
        "--out",
        "x",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--window"));
    let cfg = d.path().join("t.toml");
    std::fs::write(&cfg, "psi_warn = 0.3\npsi_alert = 0.2\n").unwrap();
    let o = carelab(&[
        "monitor",
        "--reference",
        "a",
        "--current",
        "b",
        "--config",
        cfg.to_str().unwrap(),
        "--out",
        "x",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("t.toml"));
}

#[test]
fn a_model_scores_both_sides_and_performance_is_judged_per_window() {
    let d = tempfile::tempdir().unwrap();
    let (a, b) = (d.path().join("a"), d.path().join("b"));
    generate(&a, "baseline", "1");
    generate(&b, "baseline", "2");
    let runs = d.path().join("runs");
    let o = carelab(&[
        "-q",
        "--no-progress",
        "train",
        "--data",
        a.join("analysis.csv").to_str().unwrap(),
        "--model",
        "logreg",
        "--seed",
        "1",
        "--out",
        runs.to_str().unwrap(),
        "--name",
        "m",
        "--no-eval",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let run = runs.join("m");
    let out = d.path().join("m");
    // The run directory as the reference: the table it trained on.
    let (code, r) = monitor(&[
        "--reference",
        run.to_str().unwrap(),
        "--current",
        b.to_str().unwrap(),
        "--model",
        run.to_str().unwrap(),
        "--window",
        "365-days",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(r["score"]["level"], "ok", "{}", r["score"]);
    assert!(r["score"]["psi"].as_f64().unwrap() < 0.1);
    let reference_auroc = r["reference_performance"]["auroc"].as_f64().unwrap();
    assert!(reference_auroc > 0.6, "{reference_auroc}");
    let windows = r["windows"].as_array().unwrap();
    assert!(windows.len() >= 3);
    assert!(windows
        .iter()
        .all(|w| w["performance"]["n"].as_u64().unwrap() == w["rows"].as_u64().unwrap()));
    assert_eq!(code, r["exit_code"].as_i64().unwrap() as i32);
}

/// Performance estimated from the scores alone (CBPE): with the outcomes of
/// the newest months withheld (`--labels-as-of`), those windows still get
/// an estimate; on the concept-shift scenario (the outcome model changes in
/// 2025, no input moves) the estimate stays in the reference band while the
/// realised AUROC falls, and the report says the estimate missed it.
#[test]
fn performance_is_estimated_before_the_labels_and_concept_shift_is_missed_and_said() {
    let d = tempfile::tempdir().unwrap();
    let (a, b) = (d.path().join("a"), d.path().join("b"));
    generate_n(&a, "baseline", "1", "1000");
    generate_n(&b, "concept-shift-2025", "2", "1000");
    let runs = d.path().join("runs");
    let o = carelab(&[
        "-q",
        "--no-progress",
        "train",
        "--data",
        a.join("analysis.csv").to_str().unwrap(),
        "--model",
        "logreg",
        "--seed",
        "1",
        "--out",
        runs.to_str().unwrap(),
        "--name",
        "m",
        "--no-eval",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let run = runs.join("m");
    // The run was not evaluated, so it carries no operating point: the
    // thresholds file gives one.
    let cfg = d.path().join("t.toml");
    std::fs::write(&cfg, "operating_threshold = 0.15\n").unwrap();
    let args = |out: &Path, as_of: Option<&'static str>| {
        let mut v: Vec<String> = [
            "--reference",
            a.to_str().unwrap(),
            "--current",
            b.to_str().unwrap(),
            "--model",
            run.to_str().unwrap(),
            "--config",
            cfg.to_str().unwrap(),
            "--window",
            "365-days",
            "--out",
            out.to_str().unwrap(),
        ]
        .map(String::from)
        .to_vec();
        if let Some(day) = as_of {
            v.extend(["--labels-as-of".to_string(), day.to_string()]);
        }
        v
    };
    let run_monitor = |v: Vec<String>| {
        let refs: Vec<&str> = v.iter().map(String::as_str).collect();
        monitor(&refs)
    };
    let (_, early) = run_monitor(args(&d.path().join("early"), Some("2025-01-31")));
    let basis = &early["estimation"];
    assert_eq!(basis["threshold"].as_f64(), Some(0.15), "{basis}");
    assert!(basis["threshold_source"]
        .as_str()
        .unwrap()
        .contains("thresholds file"));
    let windows = early["windows"].as_array().unwrap();
    let last = windows.last().unwrap();
    assert!(
        last["window"]["start"].as_str().unwrap() >= "2024-12-01",
        "{last}"
    );
    // 2025's outcomes are not known on 2025-01-31: no realised figure, an estimate all the same
    let e = &last["estimate"];
    assert_eq!(e["labelled"], 0, "{e}");
    assert!(e["realised"].is_null());
    let estimated = e["estimated"]["auroc"].as_f64().unwrap();
    assert!(estimated > 0.7, "{e}");
    assert!(e["estimated"]["precision"].as_f64().is_some());
    // the earlier windows are labelled as far as 30 days before the day allow
    let first = &windows[0]["estimate"];
    assert_eq!(first["labelled"], first["rows"], "{first}");
    // The inputs did not move, so the estimate stays in the band: no alert from it.
    assert!(
        !last["reasons"].to_string().contains("estimated AUROC"),
        "{last}"
    );
    // Once the labels come, the realised AUROC has fallen far below the estimate.
    let (_, late) = run_monitor(args(&d.path().join("late"), None));
    let last = late["windows"].as_array().unwrap().last().unwrap().clone();
    let e = &last["estimate"];
    assert_eq!(e["labelled"], e["rows"]);
    let realised = e["realised"]["auroc"].as_f64().unwrap();
    assert_eq!(e["estimated"]["auroc"].as_f64(), Some(estimated));
    assert!(
        estimated - realised > 0.1,
        "estimated {estimated}, realised {realised}"
    );
    let notes = late["notes"].to_string();
    assert!(notes.contains("the estimate missed"), "{notes}");
    assert!(notes.contains("concept shift"), "{notes}");
    let md = std::fs::read_to_string(d.path().join("late/report.md")).unwrap();
    assert!(md.contains("## Estimated performance"), "{md}");
    report_html_renders_in_a_browser(&d.path().join("late"), d.path());
}

/// report.html stands alone (nothing fetched: no URL in it at all) and a
/// real browser renders it: headless Chromium's DOM holds the verdict, the
/// performance plots and table, the feature table and the notes.
fn report_html_renders_in_a_browser(out: &Path, dir: &Path) {
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        !html.contains("http://") && !html.contains("https://") && !html.contains("<script"),
        "report.html fetches nothing and runs nothing"
    );
    let url = format!("file://{}", out.join("report.html").display());
    let Some(dom) = crate::cli_support::browser_dom(&url, dir, "report.html", None) else {
        return;
    };
    for part in [
        r#"<p id="verdict" class="verdict"#,
        r#"<div class="figure" id="performance-AUROC"><svg"#,
        "AUROC: estimated and realised by window",
        r#"<table id="performance-table">"#,
        "<polygon points=",
        r#"<h2 id="features">Every feature</h2>"#,
        "the estimate missed",
    ] {
        assert!(
            dom.contains(part),
            "{part} not in the rendered report:\n{dom}"
        );
    }
    // one plotted estimate per window, and the window's label under it
    let r: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    for w in r["windows"].as_array().unwrap() {
        let label = w["window"]["label"].as_str().unwrap();
        assert!(
            dom.contains(&format!("<td>{label}</td>")),
            "{label} not in the rendered table"
        );
    }
}
