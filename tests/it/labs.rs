//! The labs end to end in temporary workspaces: starters fail, solutions
//! pass, hints come in order, reset restores the starter, seeds stick, and
//! the workshop's answer key agrees with `lab check`.

use std::fs;
use std::path::Path;
use std::process::Command;

use carelab::labs::workspace::{self, Workspace};
use carelab::labs::{author, workshop};
use carelab::labs::{Catalog, Lab};

use crate::cli_support::{exe, failed_checks};
use crate::labs_secrets::{assert_nothing_shown, outputs};

/// Whether this build has the data generator (`carelab data generate`).
fn generator_available() -> bool {
    Command::new(exe())
        .args(["data", "generate", "--help"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// A small dataset shaped like the generator's output, for runner tests
/// that must not depend on the generator: a manifest with the seed, counts
/// and Bayes AUROC, and an analysis table with 120 stays, 18 readmitted.
fn fixture_dataset(dir: &Path, seed: u64) {
    fs::create_dir_all(dir).unwrap();
    let manifest = serde_json::json!({
        "stage": "generate", "carelab_version": "test", "seed": seed,
        "inputs": {}, "counts": {"patients": 100, "encounters": 150},
        "files": {}, "details": {"bayes_auroc": 0.78912, "prevalence": 0.15}
    });
    fs::write(
        dir.join("manifest.json"),
        serde_json::to_vec_pretty(&manifest).unwrap(),
    )
    .unwrap();
    let mut csv = String::from("stay_id,age,readmit_30d\n");
    for i in 0..120 {
        csv.push_str(&format!("S{i},{},{}\n", 40 + i % 50, u8::from(i % 20 < 3)));
    }
    fs::write(dir.join("analysis.csv"), csv).unwrap();
}

/// Start `lab` in `ws`, with a fixture dataset when the generator is
/// absent; what `lab start` said of the dataset.
fn start(ws: &mut Workspace, lab: &Lab) -> String {
    if let (Some(data), false) = (&lab.spec.data, generator_available()) {
        fixture_dataset(&ws.lab_dir(&lab.spec).join(&data.dir), ws.progress.seed);
    }
    ws.start(lab).unwrap()
}

/// Every lab meets what `carelab lab verify` asks of an educator's lab
/// (the same functions judge both): the starter fails, every failed check
/// has advice, the solution passes. And more than verify can judge: no
/// check shows an answer, and wrong answers on the solved work fail,
/// again without showing what was wanted (see `labs_secrets`).
#[test]
fn every_lab_starter_fails_and_solution_passes() {
    let catalog = Catalog::builtin().unwrap();
    for lab in &catalog.labs {
        let dir = tempfile::tempdir().unwrap();
        let mut ws = Workspace::open(&dir.path().join("w"), Some(4242), None, &exe()).unwrap();
        let data = start(&mut ws, lab);
        let starter = ws.check(lab).unwrap();
        let lab_dir = ws.lab_dir(&lab.spec);
        let shown = outputs(lab, &starter, &ws.progress);
        assert_nothing_shown(lab, &lab_dir, &starter, &shown);
        ws.solve(lab, Default::default()).unwrap();
        let solved = ws.check(lab).unwrap();
        let p = &ws.progress.labs[&lab.spec.slug];
        assert!(p.is_complete() && p.passed_with_solution());
        assert_eq!(p.check_runs, 2);
        // The learner's answers made wrong, with every output of the
        // solution's commands in place: the values are all computable.
        assert!(
            author::write_wrong_answers(&lab_dir).unwrap(),
            "{}",
            lab.spec.slug
        );
        let wrong = ws.check(lab).unwrap();
        let shown = outputs(lab, &wrong, &ws.progress);
        assert_nothing_shown(lab, &lab_dir, &wrong, &shown);
        let rehearsal = author::Rehearsal {
            data,
            starter,
            solved,
            wrong: Some(wrong),
        };
        let (mut problems, _setup_checks) = author::rehearsal_findings(&rehearsal);
        problems.extend(author::static_findings(lab));
        assert!(problems.is_empty(), "{}: {problems:#?}", lab.spec.slug);
    }
}

#[test]
fn lab01_checks_compare_against_the_learners_own_dataset() {
    let catalog = Catalog::builtin().unwrap();
    let lab = catalog.find("1").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut ws = Workspace::open(&dir.path().join("w"), Some(9), None, &exe()).unwrap();
    let lab_dir = ws.lab_dir(&lab.spec);
    fixture_dataset(&lab_dir.join("data"), 9);
    ws.start(lab).unwrap();
    // Right answers for this dataset, one of them just inside the tolerance.
    fs::write(
        lab_dir.join("answers.toml"),
        "patients = 100\nindex_stays = 120\nlabel_column = \"readmit_30d\"\n\
         prevalence = 0.151\nbayes_auroc = 0.789\ncan_beat_bayes = false\n",
    )
    .unwrap();
    let report = ws.check(lab).unwrap();
    assert!(report.complete, "{:?}", report.checks);
    // A prevalence off by more than the tolerance fails, saying what the
    // learner wrote and where to look, not what it wanted.
    fs::write(
        lab_dir.join("answers.toml"),
        "patients = 100\nindex_stays = 120\nlabel_column = \"readmit_30d\"\n\
         prevalence = 0.20\nbayes_auroc = 0.789\ncan_beat_bayes = true\n",
    )
    .unwrap();
    let report = ws.check(lab).unwrap();
    let failed = failed_checks(&report);
    assert_eq!(failed, vec!["prevalence", "ceiling"]);
    let prevalence = report.checks.iter().find(|c| c.id == "prevalence").unwrap();
    assert_eq!(
        prevalence.detail,
        "prevalence in answers.toml is 0.2: not the value your own data gives"
    );
    assert!(
        report.checks.iter().all(|c| !c.detail.contains("0.15")),
        "{report:#?}"
    );
    // Completion records the first time every check passed; the last
    // results show the regression.
    let p = &ws.progress.labs["01-data"];
    assert!(p.is_complete() && !p.last_results["prevalence"]);
}

#[test]
fn hints_come_in_order_and_are_recorded() {
    let catalog = Catalog::builtin().unwrap();
    let lab = catalog.find("0").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("w");
    let mut ws = Workspace::open(&root, Some(1), None, &exe()).unwrap();
    assert!(ws.hint(lab).is_err(), "hints need a started lab");
    ws.start(lab).unwrap();
    let hints = &lab.spec.hints;
    for (i, want) in hints.iter().enumerate() {
        assert_eq!(ws.hint(lab).unwrap(), (i + 1, want.clone()));
    }
    // After the last hint, the last one again.
    assert_eq!(
        ws.hint(lab).unwrap(),
        (hints.len(), hints[hints.len() - 1].clone())
    );
    let reopened = Workspace::open(&root, None, None, &exe()).unwrap();
    assert_eq!(reopened.progress.labs["00-setup"].hints_shown, hints.len());
}

#[test]
fn reset_restores_the_starter_and_keeps_the_dataset() {
    let catalog = Catalog::builtin().unwrap();
    let lab = catalog.find("data").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut ws = Workspace::open(&dir.path().join("w"), Some(3), None, &exe()).unwrap();
    let lab_dir = ws.lab_dir(&lab.spec);
    fixture_dataset(&lab_dir.join("data"), 3);
    ws.start(lab).unwrap();
    ws.solve(lab, Default::default()).unwrap();
    assert!(ws.check(lab).unwrap().complete);
    fs::write(lab_dir.join("scratch.txt"), "notes").unwrap();
    ws.reset(lab).unwrap();
    for (rel, text) in &lab.starter {
        assert_eq!(&fs::read_to_string(lab_dir.join(rel)).unwrap(), text);
    }
    assert!(!lab_dir.join("scratch.txt").exists());
    assert!(lab_dir.join("data/manifest.json").exists(), "dataset kept");
    let p = &ws.progress.labs["01-data"];
    assert!(!p.is_complete() && p.last_results.is_empty());
}

#[test]
fn a_workspace_keeps_its_seed() {
    let catalog = Catalog::builtin().unwrap();
    let lab = catalog.find("0").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("w");
    let mut ws = Workspace::open(&root, Some(11), Some("ana".into()), &exe()).unwrap();
    ws.start(lab).unwrap();
    let again = Workspace::open(&root, None, None, &exe()).unwrap();
    assert_eq!(
        (again.progress.seed, again.progress.learner.as_deref()),
        (11, Some("ana"))
    );
    let err = Workspace::open(&root, Some(12), None, &exe())
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("uses seed 11, not 12"), "{err}");
    // Commands run inside the lab folder find the workspace above it.
    assert_eq!(workspace::discover(&root.join("00-setup")), root);
}

#[test]
fn workshop_seeds_differ_and_the_answer_key_matches_check() {
    let catalog = Catalog::builtin().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let roster = dir.path().join("roster.csv");
    fs::write(&roster, "id,name\nana,Ana Silva\nben,\"Okafor, Ben\"\n").unwrap();
    let out = dir.path().join("workshop");
    let with_data = generator_available();
    let made = workshop::new_workshop(
        &roster,
        2026,
        &out,
        &catalog,
        &exe(),
        workshop::NewOptions {
            with_data,
            ..Default::default()
        },
        |_| {},
    )
    .unwrap();
    assert_eq!(made.learners, 2);
    let key: workshop::AnswerKey =
        carelab::artifact::read_json(out.join("answer-key.json")).unwrap();
    let (ana, ben) = (&key.learners[0], &key.learners[1]);
    assert_ne!(ana.seed, ben.seed);
    assert_eq!(ana.seed, workshop::learner_seed(2026, "ana"));
    assert!(
        ana.setup.contains(&format!("--seed {}", ana.seed)) && ana.setup.contains("--learner ana")
    );
    let csv = fs::read_to_string(out.join("learners.csv")).unwrap();
    assert!(
        csv.contains(&format!("ben,\"Okafor, Ben\",{}", ben.seed)),
        "{csv}"
    );
    assert!(fs::read_to_string(out.join("answer-key.md"))
        .unwrap()
        .contains("## ana"));

    // Ana follows the key in her own workspace: lab 00's seed answer is what check wants.
    let lab0 = catalog.find("0").unwrap();
    assert_eq!(
        ana.labs["00-setup"].checks["answer_seed"],
        format!("= {}", ana.seed)
    );
    assert!(ana.labs["00-setup"].expected["cores"].starts_with("n/a"));
    let mut ws = Workspace::open(
        &dir.path().join("ana"),
        Some(ana.seed),
        Some("ana".into()),
        &exe(),
    )
    .unwrap();
    ws.start(lab0).unwrap();
    fs::write(
        ws.lab_dir(&lab0.spec).join("answers.toml"),
        format!("seed = {}\ncores = 1\n", ana.seed),
    )
    .unwrap();
    let report = ws.check(lab0).unwrap();
    assert!(
        report
            .checks
            .iter()
            .find(|c| c.id == "answer_seed")
            .unwrap()
            .passed
    );

    // Dataset answers: the key's values are what her workspace's check expects.
    let lab1 = catalog.find("1").unwrap();
    if with_data {
        ws.start(lab1).unwrap();
        let ctx = workspace::context(&lab1.spec, &ws.lab_dir(&lab1.spec), ana.seed);
        for (name, value) in &ana.labs["01-data"].expected {
            assert_eq!(ctx.expected[name].as_ref().unwrap(), value, "{name}");
        }
    } else {
        assert!(ana.labs["01-data"].expected["prevalence"].starts_with("n/a"));
    }
}

#[test]
fn workshop_report_shows_who_is_stuck_where() {
    let catalog = Catalog::builtin().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let lab0 = catalog.find("0").unwrap();
    // ana finishes lab 00; ben starts it and fails the answer checks.
    let mut ana = Workspace::open(
        &dir.path().join("class/ana"),
        Some(1),
        Some("ana".into()),
        &exe(),
    )
    .unwrap();
    ana.solve(lab0, Default::default()).unwrap();
    assert!(ana.check(lab0).unwrap().complete);
    let mut ben = Workspace::open(
        &dir.path().join("class/ben"),
        Some(2),
        Some("ben".into()),
        &exe(),
    )
    .unwrap();
    ben.start(lab0).unwrap();
    ben.hint(lab0).unwrap();
    ben.check(lab0).unwrap();
    let learners = workshop::read_progress(&[dir.path().join("class")]).unwrap();
    let report = workshop::class_report(&catalog, &learners);
    assert_eq!(report.learners.len(), 2);
    // ana used `lab solve`: complete, but not her own work.
    assert!(report.learners[0].completed.is_empty());
    assert_eq!(report.learners[0].with_solution, vec!["00-setup"]);
    assert_eq!(report.learners[1].current.as_deref(), Some("00-setup"));
    assert_eq!(report.learners[1].hints, 1);
    assert_eq!(
        report.learners[1].failing,
        vec![
            "00-setup/doctor_json",
            "00-setup/workspace_writable",
            "00-setup/answer_seed",
            "00-setup/answer_cores",
        ]
    );
    assert_eq!(
        report.failing_checks[0],
        ("00-setup/answer_cores".to_string(), 1)
    );
    assert_eq!(
        (report.labs[0].started, report.labs[0].with_solution),
        (2, 1)
    );
    let terminal = report.to_terminal();
    assert!(
        terminal.contains("ben") && terminal.contains("answer_seed"),
        "{terminal}"
    );
    assert!(report.to_markdown().contains("| ana | 0 | 00-setup | - |"));
    assert!(report.to_html().contains("<td>00-setup/answer_seed</td>"));
}
