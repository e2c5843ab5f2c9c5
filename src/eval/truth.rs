//! The best any model could do: the generator's own risk for each stay.
//!
//! `carelab data generate` writes `truth/stays.csv` with the true risk it drew
//! each outcome from. Its AUROC on the same rows is the Bayes-optimal AUROC,
//! the ceiling for any model on these features and more.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::metrics::auroc;
use super::run_dir::Prediction;
use crate::error::Result;
use crate::formats::named_csv::NamedCsv;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BayesComparison {
    pub truth_file: String,
    /// Rows of the split found in the truth file.
    pub matched: u64,
    /// Rows of the split with no truth row (left out of both AUROCs below).
    pub unmatched: u64,
    pub model_auroc: Option<f64>,
    pub bayes_auroc: Option<f64>,
    /// Labels in the truth file that differ from the run's labels: should be 0.
    pub label_mismatches: u64,
}

/// Read `encounter_id -> (true_risk, readmit_30d)` from the truth file.
pub fn read_truth(path: &Path) -> Result<BTreeMap<String, (f64, Option<bool>)>> {
    let mut csv = NamedCsv::open(path)?;
    let id = csv.column("encounter_id")?;
    let risk = csv.column("true_risk")?;
    let label = csv.optional("readmit_30d");
    let mut out = BTreeMap::new();
    for row in csv.rows() {
        let row = row?;
        let r = row.number(risk, "true_risk")?;
        let y = label.and_then(|c| match row.get(c) {
            "1" | "true" => Some(true),
            "0" | "false" => Some(false),
            _ => None,
        });
        out.insert(row.get(id).to_string(), (r, y));
    }
    Ok(out)
}

/// Join the split's rows to the truth on stay_id = encounter_id and compare.
pub fn compare(rows: &[&Prediction], path: &Path) -> Result<BayesComparison> {
    let truth = read_truth(path)?;
    let (mut model, mut bayes, mut labels) = (Vec::new(), Vec::new(), Vec::new());
    let mut mismatches = 0;
    for p in rows {
        if let Some(&(risk, y)) = truth.get(&p.stay_id) {
            model.push(p.score);
            bayes.push(risk);
            labels.push(p.label);
            if y.is_some_and(|y| y != p.label) {
                mismatches += 1;
            }
        }
    }
    Ok(BayesComparison {
        truth_file: path.display().to_string(),
        matched: labels.len() as u64,
        unmatched: (rows.len() - labels.len()) as u64,
        model_auroc: auroc(&model, &labels),
        bayes_auroc: auroc(&bayes, &labels),
        label_mismatches: mismatches,
    })
}
