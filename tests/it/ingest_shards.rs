//! A population generated in shards (`data generate --shard I/N`) ingests
//! from its shard folders, read one after another as one source, to the
//! same CDM and analysis table as the population generated whole.

use std::path::Path;
use std::process::Command;

use crate::cli_support::succeeded;
use crate::ingest_partitions::database;

fn carelab(args: &[&str], out: &Path) {
    let mut c = Command::new(env!("CARGO_BIN_EXE_carelab"));
    c.args(["-q", "--no-progress"])
        .args(args)
        .arg("--out")
        .arg(out);
    succeeded(c.output().unwrap());
}

#[test]
fn shards_ingested_together_give_the_cdm_of_the_whole_population() {
    let dir = tempfile::tempdir().unwrap();
    let gen = ["data", "generate", "--patients", "240", "--formats", "csv"];
    let whole = dir.path().join("whole");
    carelab(&gen, &whole);
    let sharded = dir.path().join("sharded");
    for i in 0..3 {
        let shard = format!("{i}/3");
        let mut args = gen.to_vec();
        args.extend(["--shard", &shard]);
        carelab(&args, &sharded.join(format!("shard-{i}")));
    }
    let ingest = |src: &Path, out: &Path, flags: &[&str]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_carelab"));
        c.args(["-q", "ingest"])
            .args(flags)
            .arg("--csv")
            .arg(src)
            .arg("--out")
            .arg(out);
        succeeded(c.output().unwrap());
    };
    let (one, three) = (dir.path().join("one"), dir.path().join("three"));
    ingest(&whole, &one, &["--partitions", "1"]);
    ingest(&sharded, &three, &["--partitions", "4", "--hive-parquet"]);
    let (a, b) = (
        database(&one.join("cdm.sqlite")),
        database(&three.join("cdm.sqlite")),
    );
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (table, rows) in &a {
        assert!(b[table] == *rows, "CDM table {table} differs");
    }
    assert_eq!(a["person"].len(), 240);
    assert!(a["visit_occurrence"].len() > 240);
    let read = |d: &Path, file: &str| std::fs::read_to_string(d.join(file)).unwrap();
    for file in ["analysis.csv", "identifiers.csv"] {
        assert!(read(&one, file) == read(&three, file), "{file} differs");
    }
    // the master patient index lists records in the order read
    let sorted = |d: &Path| {
        let mut lines: Vec<String> = read(d, "mpi.csv").lines().map(String::from).collect();
        lines.sort();
        lines
    };
    assert_eq!(sorted(&one), sorted(&three));
    // the Parquet tables as Hive-style partitions: every row, in 4 files
    for (table, rows) in &a {
        if !["measurement", "person", "visit_occurrence", "death"].contains(&table.as_str()) {
            continue;
        }
        let parts = hive_parts(&three.join("cdm").join(table));
        let total: usize = parts.iter().map(|(_, n)| n).sum();
        assert_eq!(total, rows.len(), "{table}");
        if table != "death" {
            assert_eq!(parts.len(), 4, "{table}: {parts:?}");
        }
        assert!(!three.join("cdm").join(format!("{table}.parquet")).exists());
    }
    // quarantine and quality name the shard a record came from
    let quality = std::fs::read_to_string(three.join("quality.json")).unwrap();
    assert!(quality.contains("shard-2/observations.csv"), "{quality}");
}

/// The `part=<k>` folders of a Hive-style dataset and the rows of each.
fn hive_parts(dir: &Path) -> Vec<(String, usize)> {
    use parquet::file::reader::FileReader;
    let mut out: Vec<(String, usize)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            assert!(name.starts_with("part="), "{name}");
            let f = std::fs::File::open(p.join("data.parquet")).unwrap();
            let r = parquet::file::reader::SerializedFileReader::new(f).unwrap();
            (name, r.metadata().file_metadata().num_rows() as usize)
        })
        .collect();
    out.sort();
    out
}
