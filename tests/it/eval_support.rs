//! A fake training run directory, written the way the trainer writes one,
//! so that eval and registry tests need no trainer.
#![allow(dead_code)]

use std::fmt::Write as _;
use std::path::Path;

use carelab::artifact::{write_atomic, write_json, Manifest};
use carelab::rng;
use rand::Rng as _;

pub struct FakeRun {
    /// Stays per split.
    pub n: usize,
    pub seed: u64,
    /// Scores are logistic(gain * logit(true risk)): 1 is calibrated, >1 overconfident.
    pub gain: f64,
    /// Added to every score's logit: above 0 the model over-predicts.
    pub offset: f64,
    /// The splits written, `n` stays each.
    pub splits: &'static [&'static str],
}

impl Default for FakeRun {
    fn default() -> Self {
        FakeRun {
            n: 400,
            seed: 7,
            gain: 1.0,
            offset: 0.0,
            splits: &["train", "valid", "calibration", "test"],
        }
    }
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

impl FakeRun {
    /// Write `dir` as a run directory; also writes `truth.csv` beside the
    /// run files (the generator's truth format) and returns its path.
    pub fn write(&self, dir: &Path) -> std::path::PathBuf {
        let mut r = rng::stream(self.seed, "fake-run", 0);
        let mut preds =
            String::from("stay_id,patient_id,split,score,label,sex,age,race_ethnicity,payer\n");
        let mut truth =
            String::from("encounter_id,patient_id,true_risk,readmit_30d,index_discharge\n");
        let sexes = ["F", "M"];
        let races = ["Asian", "Black", "Hispanic", "White"];
        let payers = ["Medicaid", "Medicare", "Private", "SelfPay"];
        let mut k = 0;
        for split in self.splits {
            for _ in 0..self.n {
                k += 1;
                let age: f64 = r.random_range(18.0..95.0);
                let z = -2.0 + 0.03 * (age - 60.0) + r.random_range(-1.5..1.5);
                let risk = sigmoid(z);
                let label = r.random::<f64>() < risk;
                let score = sigmoid(self.gain * z + self.offset);
                let sex = sexes[r.random_range(0..2)];
                let race = races[r.random_range(0..4)];
                let payer = payers[r.random_range(0..4)];
                writeln!(
                    preds,
                    "E{k:06},P{k:06},{split},{score},{},{sex},{age:.1},{race},{payer}",
                    u8::from(label)
                )
                .unwrap();
                writeln!(
                    truth,
                    "E{k:06},P{k:06},{risk},{},2024-01-01T00:00:00",
                    u8::from(label)
                )
                .unwrap();
            }
        }
        write_atomic(dir.join("predictions.csv"), preds.as_bytes()).unwrap();
        let mut hist =
            String::from("epoch,train_loss,valid_loss,valid_auroc,seconds,samples_per_sec\n");
        for e in 1..=5 {
            let e = e as f64;
            writeln!(
                hist,
                "{e},{},{},{},{},{}",
                0.6 / e.sqrt(),
                0.62 / e.sqrt() + 0.01 * e,
                0.6 + 0.02 * e,
                0.5,
                2400.0
            )
            .unwrap();
        }
        write_atomic(dir.join("history.csv"), hist.as_bytes()).unwrap();
        write_json(
            dir.join("model.json"),
            &serde_json::json!({
                "kind": "logistic",
                "params": {"lr": 0.01, "epochs": 5, "hidden": []},
                "features": ["age", "prior_admissions", "los_days"],
                "seed": self.seed,
                "data_path": "data/analysis.csv",
                "data_digest": "ab12cd34",
                "carelab_version": "0.1.0"
            }),
        )
        .unwrap();
        write_json(
            dir.join("train_metrics.json"),
            &serde_json::json!({"best_epoch": 4, "valid_auroc": 0.68, "valid_loss": 0.41, "seconds": 2.5, "status": "finished"}),
        )
        .unwrap();
        write_atomic(dir.join("model.safetensors"), b"not really tensors").unwrap();
        let mut m = Manifest::new("train");
        m.seed = Some(self.seed);
        m.inputs
            .insert("data/analysis.csv".into(), "ab12cd34".into());
        m.checksum_dir(dir).unwrap();
        m.write(dir).unwrap();
        let truth_path = dir.with_extension("truth.csv");
        write_atomic(&truth_path, truth.as_bytes()).unwrap();
        truth_path
    }
}
