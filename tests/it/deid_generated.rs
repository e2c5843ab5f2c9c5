//! De-identification of a small generated population: the limited data set
//! keeps every interval between a patient's dates (in the tables and inside
//! the notes), and Parquet in gives the same data as CSV in.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::Command;

use carelab::deid::roles::{default_role, Role};
use carelab::deid::tables::TableFile;
use chrono::{NaiveDate, NaiveDateTime};

fn carelab(args: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_carelab"))
        .args(args)
        .args(["--no-progress", "-q"])
        .env_remove("CARELAB_AUDIT_LOG")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "carelab {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn s(p: &Path) -> String {
    p.to_str().unwrap().to_string()
}

/// A table as its header and string rows.
fn table(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let t = TableFile::of(path).unwrap();
    let (header, _) = t.header().unwrap();
    let mut rows = Vec::new();
    t.for_each_row(&header, |_, r| {
        rows.push(r.iter().map(String::from).collect());
        Ok(())
    })
    .unwrap();
    (header, rows)
}

/// A table with every random patient surrogate replaced by the original
/// id the crosswalk beside `out` (when there is one) maps it to, and every
/// other Safe Harbor record key by a placeholder.
fn originals(
    (header, rows): (Vec<String>, Vec<Vec<String>>),
    out: &Path,
) -> (Vec<String>, Vec<Vec<String>>) {
    let path = out.with_file_name(format!(
        "{}-crosswalk.csv",
        out.file_name().unwrap().to_string_lossy()
    ));
    let mut back = std::collections::HashMap::new();
    let record_key = regex::Regex::new(r"^[a-z]{1,3}-[0-9a-f]{16}$").unwrap();
    if path.exists() {
        let mut r = csv::ReaderBuilder::new()
            .comment(Some(b'#'))
            .from_path(&path)
            .unwrap();
        for rec in r.records() {
            let rec = rec.unwrap();
            back.insert(rec[2].to_string(), rec[1].to_string());
        }
    }
    let rows = rows
        .into_iter()
        .map(|r| {
            r.into_iter()
                .map(|v| match back.get(&v) {
                    Some(original) => original.clone(),
                    // another record key, keyed by the run's throwaway
                    // key: different in every run, so compared by shape
                    None if !back.is_empty() && record_key.is_match(&v) => "<record key>".into(),
                    None => v,
                })
                .collect()
        })
        .collect();
    (header, rows)
}

fn generate(dir: &Path, formats: &str) -> std::path::PathBuf {
    let data = dir.join("data");
    carelab(&[
        "data",
        "generate",
        "--patients",
        "25",
        "--seed",
        "7",
        "--formats",
        formats,
        "--out",
        &s(&data),
    ]);
    let key = dir.join("key.hex");
    fs::write(&key, "5a".repeat(32)).unwrap();
    data
}

fn parse_time(v: &str) -> Option<NaiveDateTime> {
    NaiveDateTime::parse_from_str(v, "%Y-%m-%dT%H:%M:%S")
        .ok()
        .or_else(|| {
            NaiveDate::parse_from_str(v, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
        })
}

/// A date as the generator writes it in notes, in any of its styles:
/// 08/14/2021, 8/14/2021, August 14, 2021, Aug 14, 2021 or 2021-08-14.
fn parse_note_date(v: &str) -> Option<NaiveDate> {
    carelab::clinical::parse_date_text(v).map(|(d, _)| d)
}

#[test]
fn limited_with_shift_dates_keeps_every_interval_between_a_patients_dates() {
    let d = tempfile::tempdir().unwrap();
    let data = generate(d.path(), "csv");
    let out = d.path().join("lim");
    carelab(&[
        "deid",
        "--in",
        &s(&data),
        "--out",
        &s(&out),
        "--mode",
        "limited",
        "--shift-dates",
        "--key-file",
        &s(&d.path().join("key.hex")),
    ]);

    // every date of every patient, before and after, as (before, after)
    let mut pairs: BTreeMap<String, Vec<(NaiveDateTime, NaiveDateTime)>> = BTreeMap::new();
    let mut structured = 0;
    for name in [
        "patients",
        "encounters",
        "observations",
        "conditions",
        "medications",
        "notes",
    ] {
        let (h_in, r_in) = table(&data.join(format!("{name}.csv")));
        let (h_out, r_out) = table(&out.join(format!("{name}.csv")));
        assert_eq!(r_in.len(), r_out.len(), "{name}: no row lost");
        let pk = h_in.iter().position(|c| c == "patient_id").unwrap();
        for (c, col) in h_in.iter().enumerate() {
            if !matches!(default_role(col), Role::Date | Role::BirthDate) {
                continue;
            }
            let o = h_out.iter().position(|x| x == col).unwrap();
            for (a, b) in r_in.iter().zip(&r_out) {
                if a[c].is_empty() {
                    continue;
                }
                let (Some(x), Some(y)) = (parse_time(&a[c]), parse_time(&b[o])) else {
                    // only the birth date of someone over 89 may be dropped
                    assert_eq!(default_role(col), Role::BirthDate, "{name}.{col}");
                    assert_eq!(b[o], "");
                    continue;
                };
                pairs.entry(a[pk].clone()).or_default().push((x, y));
                structured += 1;
            }
        }
    }

    // dates inside notes: where the generator put them, and in the output
    // note the dates found by pattern, in the same order
    let (h, notes_in) = table(&data.join("notes.csv"));
    let (_, notes_out) = table(&out.join("notes.csv"));
    let text = h.iter().position(|c| c == "text").unwrap();
    let (_, spans) = table(&data.join("truth/phi_spans.csv"));
    let date_in_text = regex::Regex::new(
        r"\d{1,2}/\d{1,2}/\d{4}|\d{4}-\d{2}-\d{2}|(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sep(?:tember)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?) \d{1,2}, \d{4}",
    )
    .unwrap();
    let mut in_notes = 0;
    for (a, b) in notes_in.iter().zip(&notes_out) {
        let mut before: Vec<(usize, NaiveDate)> = spans
            .iter()
            .filter(|sp| sp[0] == a[0] && sp[1] == "date")
            .map(|sp| {
                let (start, end): (usize, usize) = (sp[2].parse().unwrap(), sp[3].parse().unwrap());
                (start, parse_note_date(&a[text][start..end]).unwrap())
            })
            .collect();
        before.sort();
        let after: Vec<NaiveDate> = date_in_text
            .find_iter(&b[text])
            .map(|m| parse_note_date(m.as_str()).unwrap())
            .collect();
        assert_eq!(
            before.len(),
            after.len(),
            "every date of {} kept: {}",
            a[0],
            b[text]
        );
        for ((_, x), y) in before.iter().zip(after) {
            let midnight = |d: &NaiveDate| d.and_hms_opt(0, 0, 0).unwrap();
            pairs
                .entry(a[1].clone())
                .or_default()
                .push((midnight(x), midnight(&y)));
            in_notes += 1;
        }
    }
    assert!(structured > 500 && in_notes > 50, "{structured} {in_notes}");

    // one shift per patient, a whole number of days, never zero: so the
    // interval between every pair of a patient's dates is kept exactly
    let mut shifts = std::collections::BTreeSet::new();
    for (patient, dates) in &pairs {
        let shift = dates[0].1 - dates[0].0;
        assert_eq!(shift.num_seconds() % 86_400, 0);
        assert_ne!(shift.num_days(), 0, "{patient}: dates moved");
        shifts.insert(shift.num_days());
        for (i, (x1, y1)) in dates.iter().enumerate() {
            for (x2, y2) in &dates[i + 1..] {
                assert_eq!(*y2 - *y1, *x2 - *x1, "{patient}: an interval changed");
            }
        }
    }
    assert!(
        shifts.len() > 10,
        "shifts differ between patients: {shifts:?}"
    );
}

#[test]
fn parquet_in_gives_what_csv_in_gives() {
    let d = tempfile::tempdir().unwrap();
    let data = generate(d.path(), "csv,parquet");
    let key = s(&d.path().join("key.hex"));
    for mode in ["safe-harbor", "limited"] {
        let csv_out = d.path().join(format!("{mode}-csv"));
        let pq_out = d.path().join(format!("{mode}-parquet"));
        // both copies are there: CSV is read by default, Parquet on request
        let input = s(&data);
        let common = ["--mode", mode, "--key-file", &key, "--in", &input];
        let (c, p) = (s(&csv_out), s(&pq_out));
        carelab(&[&["deid", "--out", &c][..], &common].concat());
        carelab(&[&["deid", "--out", &p, "--format", "parquet"][..], &common].concat());
        for name in [
            "patients",
            "encounters",
            "observations",
            "notes",
            "analysis",
        ] {
            assert!(!pq_out.join(format!("{name}.csv")).exists());
            // Safe Harbor ids are random, drawn anew each run: compare
            // them as the original ids each run's crosswalk maps them to
            let a = originals(table(&csv_out.join(format!("{name}.csv"))), &csv_out);
            let b = originals(table(&pq_out.join(format!("{name}.parquet"))), &pq_out);
            assert_eq!(a.0, b.0, "{mode} {name}: columns");
            assert_eq!(a.1.len(), b.1.len(), "{mode} {name}: rows");
            assert!(a.1 == b.1, "{mode} {name}: the same values");
        }
        let report: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(pq_out.join("deid-report.json")).unwrap())
                .unwrap();
        assert!(report["not_processed"]["patients.csv"]
            .as_str()
            .unwrap()
            .contains("patients.parquet"));
    }
    // typed columns: a year is an integer, a shifted time stays a timestamp
    let t = TableFile::of(&d.path().join("safe-harbor-parquet/patients.parquet")).unwrap();
    let (h, types) = t.header().unwrap();
    let types = types.unwrap();
    let at = |c: &str| types[h.iter().position(|x| x == c).unwrap()].clone();
    assert_eq!(at("birth_date"), arrow_schema::DataType::Int64);
    let t = TableFile::of(&d.path().join("limited-parquet/encounters.parquet")).unwrap();
    let (h, types) = t.header().unwrap();
    let i = h.iter().position(|x| x == "admit_time").unwrap();
    assert!(matches!(
        types.unwrap()[i],
        arrow_schema::DataType::Timestamp(_, None)
    ));
}
