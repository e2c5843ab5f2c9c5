//! `carelab runs` and `carelab models` end to end through the binary.

use crate::eval_support;

use std::path::Path;
use std::process::Command;

use eval_support::FakeRun;
use serde_json::Value;

fn carelab(registry: &Path, args: &[&str]) -> (i32, Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_carelab"))
        .arg("--json")
        .args(args)
        .env("CARELAB_REGISTRY", registry)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let json = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    (
        out.status.code().unwrap_or(-1),
        json,
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[test]
fn register_promote_resolve_through_the_cli() {
    let tmp = tempfile::tempdir().unwrap();
    let reg = tmp.path().join("reg/registry.db");
    let (a, b) = (tmp.path().join("runs/a"), tmp.path().join("runs/b"));
    FakeRun {
        n: 20,
        ..Default::default()
    }
    .write(&a);
    FakeRun {
        n: 20,
        seed: 8,
        ..Default::default()
    }
    .write(&b);

    let (code, v, _) = carelab(
        &reg,
        &[
            "runs",
            "record",
            a.to_str().unwrap(),
            "--experiment",
            "exp1",
        ],
    );
    assert_eq!(code, 0);
    let run_a = v["run_id"].as_str().unwrap().to_string();
    // Registering from a directory records it; an already recorded run keeps its experiment.
    let (code, v, _) = carelab(
        &reg,
        &[
            "models",
            "register",
            "readmit",
            "--run",
            a.to_str().unwrap(),
        ],
    );
    assert_eq!((code, v["version"].as_u64()), (0, Some(1)));
    assert_eq!(v["run_id"], run_a.as_str());
    let (code, v, _) = carelab(
        &reg,
        &[
            "models",
            "register",
            "readmit",
            "--run",
            b.to_str().unwrap(),
        ],
    );
    assert_eq!((code, v["version"].as_u64()), (0, Some(2)));

    let (_, runs, _) = carelab(&reg, &["runs", "list"]);
    let exps: Vec<&str> = runs
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["experiment"].as_str().unwrap())
        .collect();
    assert_eq!(exps.len(), 2);
    assert!(
        exps.contains(&"exp1") && exps.contains(&"default"),
        "{exps:?}"
    );

    assert_eq!(
        carelab(&reg, &["models", "promote", "readmit", "1", "production"]).0,
        0
    );
    let (code, v, _) = carelab(&reg, &["models", "promote", "readmit", "2", "production"]);
    assert_eq!(code, 0);
    assert_eq!(v["archived"], serde_json::json!([1]));
    let (code, v, _) = carelab(&reg, &["models", "resolve", "readmit@production"]);
    assert_eq!(code, 0);
    assert!(v["run_dir"].as_str().unwrap().ends_with("runs/b"));

    let (_, list, _) = carelab(&reg, &["models", "list"]);
    let stages: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["stage"].as_str().unwrap())
        .collect();
    assert_eq!(stages, ["archived", "production"]);

    let (code, cmp, _) = carelab(&reg, &["runs", "compare", &run_a, "b"]);
    assert_eq!(code, 0);
    assert_eq!(cmp["runs"].as_array().unwrap().len(), 2);
    let (code, show, _) = carelab(&reg, &["runs", "show", &run_a]);
    assert_eq!(code, 0);
    assert_eq!(show["params"]["lr"], "0.01");

    // Bad input exits 2 with a message naming what was wrong.
    let (code, v, err) = carelab(&reg, &["models", "promote", "readmit", "7", "staging"]);
    assert_eq!(code, 2);
    assert_eq!(v["kind"], "bad_input");
    assert!(err.contains("readmit version 7"), "{err}");
    let (code, _, err) = carelab(&reg, &["models", "promote", "readmit", "1", "live"]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown stage"), "{err}");
    assert_eq!(carelab(&reg, &["models", "archive", "readmit", "2"]).0, 0);
    assert_eq!(carelab(&reg, &["models", "resolve", "readmit"]).0, 2);
}

#[test]
fn aliases_and_tags_through_the_cli() {
    let tmp = tempfile::tempdir().unwrap();
    let reg = tmp.path().join("reg/registry.db");
    let (a, b) = (tmp.path().join("runs/a"), tmp.path().join("runs/b"));
    for (dir, seed) in [(&a, 7), (&b, 8)] {
        FakeRun {
            n: 40,
            seed,
            ..Default::default()
        }
        .write(dir);
        let (code, _, err) = carelab(
            &reg,
            &[
                "models",
                "register",
                "readmission",
                "--run",
                dir.to_str().unwrap(),
            ],
        );
        assert_eq!(code, 0, "{err}");
    }
    let (code, v, _) = carelab(&reg, &["models", "alias", "readmission", "champion", "1"]);
    assert_eq!(code, 0);
    assert_eq!(
        v,
        serde_json::json!({"name": "readmission", "alias": "champion", "from": null, "to": 1})
    );
    let (code, v, _) = carelab(&reg, &["models", "alias", "readmission", "champion", "2"]);
    assert_eq!(code, 0);
    assert_eq!(v["from"], 1);
    let (code, v, _) = carelab(&reg, &["models", "resolve", "readmission@champion"]);
    assert_eq!(code, 0);
    assert!(v["run_dir"].as_str().unwrap().ends_with("runs/b"));
    let (code, v, _) = carelab(
        &reg,
        &[
            "models",
            "tag",
            "readmission",
            "2",
            "validated_by=ward-7",
            "ticket=CHG-1",
        ],
    );
    assert_eq!(code, 0);
    assert_eq!(
        v["tags"],
        serde_json::json!({"ticket": "CHG-1", "validated_by": "ward-7"})
    );
    let (_, list, _) = carelab(&reg, &["models", "list", "readmission"]);
    assert_eq!(list[1]["aliases"], serde_json::json!(["champion"]));
    assert_eq!(list[1]["tags"]["ticket"], "CHG-1");
    let (_, history, _) = carelab(&reg, &["models", "history", "readmission"]);
    let changes: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["change"].as_str().unwrap())
        .collect();
    assert_eq!(changes, ["champion: new -> 1", "champion: 1 -> 2"]);

    // Evaluation takes the alias as it takes a run directory.
    let out = tmp.path().join("eval-out");
    let (code, v, err) = carelab(
        &reg,
        &[
            "eval",
            "--run",
            "readmission@champion",
            "--bootstrap",
            "20",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(v["run"].as_str().unwrap().ends_with("runs/b"), "{v}");

    // Bad input: exit 2, naming what was wrong.
    let (code, _, err) = carelab(&reg, &["models", "tag", "readmission", "2", "novalue"]);
    assert_eq!(code, 2);
    assert!(err.contains("KEY=VALUE"), "{err}");
    let (code, _, err) = carelab(&reg, &["models", "alias", "readmission", "staging", "1"]);
    assert_eq!(code, 2);
    assert!(err.contains("stage name"), "{err}");
    let (code, _, err) = carelab(&reg, &["models", "resolve", "readmission@best"]);
    assert_eq!(code, 2);
    assert!(err.contains("an alias of readmission (champion)"), "{err}");
}

#[test]
fn registry_flag_overrides_environment() {
    let tmp = tempfile::tempdir().unwrap();
    let env_reg = tmp.path().join("env.db");
    let flag_reg = tmp.path().join("flag.db");
    let run = tmp.path().join("runs/a");
    FakeRun {
        n: 10,
        ..Default::default()
    }
    .write(&run);
    let (code, _, _) = carelab(
        &env_reg,
        &[
            "runs",
            "record",
            run.to_str().unwrap(),
            "--registry",
            flag_reg.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0);
    assert!(flag_reg.exists());
    let (_, runs, _) = carelab(&env_reg, &["runs", "list"]);
    assert_eq!(runs.as_array().unwrap().len(), 0);
}
