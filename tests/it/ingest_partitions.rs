//! Ingest in bounded memory: however many partitions the records wait in
//! on disk, every output is the same, and the scratch folder is gone.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use crate::cli_support::succeeded;

fn carelab(args: &[&str], paths: &[&Path]) {
    let mut c = Command::new(env!("CARGO_BIN_EXE_carelab"));
    c.args(["-q", "--no-progress"]);
    for a in args {
        c.arg(a);
    }
    for p in paths {
        c.arg(p);
    }
    succeeded(c.output().unwrap());
}

/// Every file under `dir` but the Parquet files (their row groups follow
/// the partitions), the manifest (it names times) and the database, by
/// relative path.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
            if rel.ends_with(".parquet") || rel == "manifest.json" || rel == "cdm.sqlite" {
                continue;
            }
            out.insert(rel, std::fs::read(&p).unwrap());
        }
    }
    out
}

/// Every row of every table of the CDM database, sorted (a table is a set
/// of rows; the order principal diagnoses are stored in follows the
/// partitions).
pub(crate) fn database(path: &Path) -> BTreeMap<String, Vec<String>> {
    let conn = rusqlite::Connection::open(path).unwrap();
    let names: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    names
        .into_iter()
        .map(|t| {
            let mut stmt = conn.prepare(&format!("SELECT * FROM {t}")).unwrap();
            let n = stmt.column_count();
            let mut rows: Vec<String> = stmt
                .query_map([], |r| {
                    let cells: Vec<String> = (0..n)
                        .map(|i| format!("{:?}", r.get_ref(i).unwrap()))
                        .collect();
                    Ok(cells.join("|"))
                })
                .unwrap()
                .map(Result::unwrap)
                .collect();
            rows.sort();
            (t, rows)
        })
        .collect()
}

fn row_groups(path: &Path) -> usize {
    use parquet::file::reader::FileReader;
    let f = std::fs::File::open(path).unwrap();
    parquet::file::reader::SerializedFileReader::new(f)
        .unwrap()
        .metadata()
        .num_row_groups()
}

#[test]
fn outputs_do_not_depend_on_the_partitions_ingest_works_in() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // four sources (fixed-width, CSV, HL7 v2, pharmacy CSV), linked, with
    // duplicates and orphans that the checks across records quarantine
    carelab(
        &[
            "data",
            "generate",
            "--scenario",
            "legacy-messy",
            "--patients",
            "150",
            "--out",
        ],
        &[&data],
    );
    let config = data.join("legacy").join("pipeline.toml");
    let ingest = |name: &str, partitions: &str| {
        let out = dir.path().join(name);
        let mut c = Command::new(env!("CARGO_BIN_EXE_carelab"));
        c.args(["-q", "ingest", "--partitions", partitions, "--config"])
            .arg(&config)
            .arg("--out")
            .arg(&out);
        succeeded(c.output().unwrap());
        out
    };
    let one = ingest("one", "1");
    let seven = ingest("seven", "7");
    let (a, b) = (files(&one), files(&seven));
    assert_eq!(
        a.keys().collect::<Vec<_>>(),
        b.keys().collect::<Vec<_>>(),
        "the same files"
    );
    for (name, bytes) in &a {
        assert!(
            b[name] == *bytes,
            "{name} differs between 1 and 7 partitions"
        );
    }
    let quarantined = std::fs::read_to_string(one.join("quarantine").join("labs.csv")).unwrap();
    assert!(quarantined.contains("referential"), "the checks ran");
    let (a, b) = (
        database(&one.join("cdm.sqlite")),
        database(&seven.join("cdm.sqlite")),
    );
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (table, rows) in &a {
        assert!(b[table] == *rows, "CDM table {table} differs");
    }
    assert!(a["measurement"].len() > 1000, "{}", a["measurement"].len());
    // the rows really were written a partition at a time
    let meas = |d: &Path| row_groups(&d.join("cdm").join("measurement.parquet"));
    assert_eq!(meas(&one), 1);
    assert!(meas(&seven) > 1, "{}", meas(&seven));
    for out in [&one, &seven] {
        assert!(!out.join(".ingest-spill").exists(), "scratch removed");
    }
}
