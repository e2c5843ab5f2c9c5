//! The run and model registry on fake run directories.

use crate::eval_support;

use std::path::{Path, PathBuf};

use carelab::registry::{Registry, Stage};
use eval_support::FakeRun;

fn fake_run(root: &Path, name: &str, seed: u64) -> PathBuf {
    let dir = root.join("runs").join(name);
    FakeRun {
        n: 30,
        seed,
        ..Default::default()
    }
    .write(&dir);
    dir
}

#[test]
fn record_is_idempotent_and_keeps_everything() {
    let tmp = tempfile::tempdir().unwrap();
    let run = fake_run(tmp.path(), "lr-01", 1);
    let mut reg = Registry::open(tmp.path().join("reg/registry.db")).unwrap();
    let id = reg.record_run(&run, "baseline").unwrap();
    assert!(id.starts_with("lr-01-"), "{id}");
    assert_eq!(
        reg.record_run(&run, "baseline").unwrap(),
        id,
        "same dir, same id"
    );
    let runs = reg.list_runs(None).unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].experiment, "baseline");
    assert_eq!(runs[0].status, "finished");
    assert_eq!(runs[0].metrics["valid_auroc"], 0.68);
    assert_eq!(runs[0].metrics["best_epoch"], 4.0);

    let d = reg.run("lr-01").unwrap();
    assert_eq!(d.summary.run_id, id);
    assert_eq!(d.summary.model_kind, "logistic");
    assert_eq!(d.seed, Some(1));
    assert_eq!(d.data_digest, "ab12cd34");
    assert_eq!(d.params["lr"], "0.01");
    assert_eq!(d.params["epochs"], "5");
    assert_eq!(d.history["train_loss"].len(), 5);
    assert_eq!(d.history["valid_auroc"][0], (1, 0.62));
    let (sha, bytes) = &d.artifacts["model.safetensors"];
    assert_eq!(*bytes, 18);
    assert_eq!(*sha, carelab::artifact::sha256_hex(b"not really tensors"));
    assert_eq!(
        d.manifest_sha256.as_deref(),
        Some(
            carelab::artifact::sha256_file(run.join("manifest.json"))
                .unwrap()
                .as_str()
        )
    );
    // Found by directory as well as by id and name.
    assert_eq!(reg.find_run(run.to_str().unwrap()).unwrap(), id);
    assert!(reg.find_run("nope").is_err());
}

#[test]
fn promote_archives_previous_production_and_resolve_follows() {
    let tmp = tempfile::tempdir().unwrap();
    let mut reg = Registry::open(tmp.path().join("registry.db")).unwrap();
    let a = reg.record_run(fake_run(tmp.path(), "a", 1), "exp").unwrap();
    let b = reg.record_run(fake_run(tmp.path(), "b", 2), "exp").unwrap();
    assert_eq!(reg.register_model("readmit", &a).unwrap(), 1);
    assert_eq!(reg.register_model("readmit", &b).unwrap(), 2);
    assert!(
        reg.resolve("readmit@production").is_err(),
        "nothing in production yet"
    );

    let c1 = reg.promote("readmit", 1, Stage::Production).unwrap();
    assert_eq!(
        (c1.from, c1.to, c1.archived.clone()),
        (Stage::None, Stage::Production, vec![])
    );
    assert!(reg
        .resolve("readmit@production")
        .unwrap()
        .ends_with("runs/a"));

    reg.promote("readmit", 2, Stage::Staging).unwrap();
    assert!(reg.resolve("readmit@staging").unwrap().ends_with("runs/b"));
    let c2 = reg.promote("readmit", 2, Stage::Production).unwrap();
    assert_eq!(c2.archived, vec![1]);
    assert!(reg
        .resolve("readmit@production")
        .unwrap()
        .ends_with("runs/b"));
    assert!(reg.resolve("readmit").unwrap().ends_with("runs/b"));
    assert!(reg.resolve("readmit@1").unwrap().ends_with("runs/a"));

    let stages: Vec<(u32, Stage)> = reg
        .list_models(Some("readmit"))
        .unwrap()
        .iter()
        .map(|m| (m.version, m.stage))
        .collect();
    assert_eq!(stages, vec![(1, Stage::Archived), (2, Stage::Production)]);
    reg.archive("readmit", 2).unwrap();
    assert!(reg.resolve("readmit@production").is_err());
    assert!(reg.promote("readmit", 9, Stage::Staging).is_err());
    assert!(reg.register_model("bad name", &a).is_err());

    // The database itself refuses a second production version.
    reg.promote("readmit", 1, Stage::Production).unwrap();
    let twice = reg.connection().execute(
        "UPDATE model_versions SET stage = 'production' WHERE name = 'readmit' AND version = 2",
        [],
    );
    assert!(twice.is_err(), "unique index on production");
    let changes: i64 = reg
        .connection()
        .query_row("SELECT COUNT(*) FROM stage_changes", [], |r| r.get(0))
        .unwrap();
    // none->prod(1), none->staging(2), staging->prod(2) + prod->archived(1), prod->archived(2), archived->prod(1)
    assert_eq!(changes, 6);
}

#[test]
fn compare_lines_up_params_and_metrics() {
    let tmp = tempfile::tempdir().unwrap();
    let mut reg = Registry::open(tmp.path().join("registry.db")).unwrap();
    let a = reg.record_run(fake_run(tmp.path(), "a", 1), "exp").unwrap();
    let b = reg.record_run(fake_run(tmp.path(), "b", 2), "exp").unwrap();
    let c = reg.compare(&[&a, &b]).unwrap();
    assert_eq!(c.runs, vec![a, b]);
    assert_eq!(
        c.params["lr"],
        vec![Some("0.01".to_string()), Some("0.01".to_string())]
    );
    assert_eq!(c.metrics["valid_loss"], vec![Some(0.41), Some(0.41)]);
}

#[test]
fn concurrent_opens_and_records_all_land() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("shared/registry.db");
    let dirs: Vec<PathBuf> = (0..4)
        .map(|i| fake_run(tmp.path(), &format!("r{i}"), i))
        .collect();
    std::thread::scope(|s| {
        for dir in &dirs {
            let db = db.clone();
            s.spawn(move || {
                // Each thread opens its own connection, as separate processes would.
                let mut reg = Registry::open(&db).unwrap();
                reg.record_run(dir, "parallel").unwrap();
                reg.list_runs(None).unwrap();
            });
        }
    });
    let reg = Registry::open(&db).unwrap();
    assert_eq!(reg.list_runs(Some("parallel")).unwrap().len(), 4);
    assert_eq!(reg.list_runs(Some("other")).unwrap().len(), 0);
}

#[test]
fn schema_is_plain_tables_readable_by_sqlite() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("registry.db");
    let mut reg = Registry::open(&path).unwrap();
    reg.record_run(fake_run(tmp.path(), "a", 1), "exp").unwrap();
    drop(reg);
    // What a learner would type into the sqlite3 shell.
    let conn = rusqlite::Connection::open(&path).unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, carelab::registry::schema::current_version());
    let mut stmt = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap();
    let tables: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(
        tables,
        [
            "alias_changes",
            "artifacts",
            "experiments",
            "metrics",
            "model_aliases",
            "model_versions",
            "models",
            "params",
            "runs",
            "stage_changes",
            "version_tags"
        ]
    );
    let (n, kinds): (i64, String) = conn
        .query_row("SELECT COUNT(*), GROUP_CONCAT(DISTINCT typeof(value)) FROM metrics WHERE key = 'train_loss'", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!(
        (n, kinds.as_str()),
        (5, "real"),
        "metrics are plain REAL rows"
    );
    let best: f64 = conn
        .query_row(
            "SELECT value FROM metrics WHERE key = 'valid_auroc' ORDER BY value DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!((best - 0.70).abs() < 1e-12);
    // Reopening an up-to-date registry migrates nothing and keeps the data.
    let reg = Registry::open(&path).unwrap();
    assert_eq!(reg.list_runs(None).unwrap().len(), 1);
}

#[test]
fn newer_schema_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("registry.db");
    drop(Registry::open(&path).unwrap());
    rusqlite::Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", 99)
        .unwrap();
    let err = Registry::open(&path).err().unwrap();
    assert!(err.to_string().contains("version 99"), "{err}");
}

#[test]
fn an_alias_moves_atomically_is_recorded_and_resolves_everywhere() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("registry.db");
    let mut reg = Registry::open(&path).unwrap();
    let (a, b) = (fake_run(tmp.path(), "a", 1), fake_run(tmp.path(), "b", 2));
    let ra = reg.record_run(&a, "exp").unwrap();
    let rb = reg.record_run(&b, "exp").unwrap();
    assert_eq!(reg.register_model("readmission", &ra).unwrap(), 1);
    assert_eq!(reg.register_model("readmission", &rb).unwrap(), 2);
    reg.promote("readmission", 1, Stage::Production).unwrap();

    let set = reg.set_alias("readmission", "champion", 1).unwrap();
    assert_eq!((set.from, set.to), (None, 1));
    reg.set_alias("readmission", "challenger", 2).unwrap();
    assert_eq!(reg.resolve("readmission@champion").unwrap(), a);
    assert_eq!(reg.resolve("readmission@challenger").unwrap(), b);
    // The challenger wins: the champion alias moves, in one step.
    let moved = reg.set_alias("readmission", "champion", 2).unwrap();
    assert_eq!((moved.from, moved.to), (Some(1), 2));
    assert_eq!(reg.resolve("readmission@champion").unwrap(), b);
    // Setting it where it already is records nothing.
    reg.set_alias("readmission", "champion", 2).unwrap();
    // One alias of a name points at one version: the row moved.
    let conn = rusqlite::Connection::open(&path).unwrap();
    let rows: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM model_aliases WHERE name = 'readmission' AND alias = 'champion'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(rows, 1);

    let history = reg.history("readmission").unwrap();
    let changes: Vec<(u32, &str, &str)> = history
        .iter()
        .map(|h| (h.version, h.kind.as_str(), h.change.as_str()))
        .collect();
    assert_eq!(
        changes,
        [
            (1, "stage", "none -> production"),
            (1, "alias", "champion: new -> 1"),
            (2, "alias", "challenger: new -> 2"),
            (2, "alias", "champion: 1 -> 2"),
        ]
    );

    let versions = reg.list_models(Some("readmission")).unwrap();
    assert_eq!(versions[0].aliases, Vec::<String>::new());
    assert_eq!(versions[1].aliases, ["challenger", "champion"]);

    // The run directory every model argument goes through.
    let dir = carelab::registry::model_dir("readmission@champion", Some(&path)).unwrap();
    assert_eq!(dir, b);

    // Names that would be ambiguous or are not there.
    let e = reg.set_alias("readmission", "production", 1).err().unwrap();
    assert!(e.to_string().contains("stage name"), "{e}");
    let e = reg.set_alias("readmission", "Champion!", 1).err().unwrap();
    assert!(e.to_string().contains("lower-case word"), "{e}");
    let e = reg.set_alias("readmission", "best", 7).err().unwrap();
    assert!(e.to_string().contains("version 7"), "{e}");
    let e = reg.resolve("readmission@best").err().unwrap();
    let e = e.to_string();
    assert!(
        e.contains("an alias of readmission (challenger, champion)"),
        "{e}"
    );
    assert!(e.contains("\"best\""), "{e}");
}

#[test]
fn tags_are_per_version_and_replaced_by_key() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("registry.db");
    let mut reg = Registry::open(&path).unwrap();
    let ra = reg.record_run(fake_run(tmp.path(), "a", 1), "exp").unwrap();
    let rb = reg.record_run(fake_run(tmp.path(), "b", 2), "exp").unwrap();
    reg.register_model("readmission", &ra).unwrap();
    reg.register_model("readmission", &rb).unwrap();
    let tag = |k: &str, v: &str| (k.to_string(), v.to_string());
    reg.set_tags(
        "readmission",
        1,
        &[tag("validated_by", "ward-7"), tag("ticket", "CHG-1")],
    )
    .unwrap();
    reg.set_tags("readmission", 1, &[tag("ticket", "CHG-2")])
        .unwrap();
    reg.set_tags("readmission", 2, &[tag("ticket", "CHG-3")])
        .unwrap();
    let versions = reg.list_models(Some("readmission")).unwrap();
    assert_eq!(versions[0].tags.len(), 2);
    assert_eq!(versions[0].tags["ticket"], "CHG-2");
    assert_eq!(versions[0].tags["validated_by"], "ward-7");
    assert_eq!(versions[1].tags["ticket"], "CHG-3");
    let e = reg
        .set_tags("readmission", 1, &[tag("a key", "x")])
        .err()
        .unwrap();
    assert!(e.to_string().contains("without spaces"), "{e}");
    assert!(reg.set_tags("readmission", 3, &[tag("k", "v")]).is_err());
    // What the sqlite3 shell shows.
    let out = std::process::Command::new("sqlite3")
        .arg(&path)
        .arg("SELECT version, key, value FROM version_tags ORDER BY version, key;")
        .output();
    if let Ok(out) = out {
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "1|ticket|CHG-2\n1|validated_by|ward-7\n2|ticket|CHG-3\n"
        );
    }
}
