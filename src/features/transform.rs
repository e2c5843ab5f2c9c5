//! The fitted feature transform: analysis rows -> a dense f32 matrix.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::clinical::analysis::{FeatureKind, FeatureValue, FEATURES};
use crate::clinical::AnalysisRow;
use crate::error::{Error, Result};

/// A dense row-major matrix of model inputs.
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix {
    pub rows: usize,
    pub cols: usize,
    /// `rows * cols` values, row after row.
    pub data: Vec<f32>,
}

impl Matrix {
    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.cols..(i + 1) * self.cols]
    }
}

/// What the transform does with one input feature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Step {
    /// `(value - mean) / sd`; a missing value becomes the train median first.
    /// With `indicator`, an extra column is 1 when the value was missing.
    Numeric {
        feature: String,
        median: f64,
        mean: f64,
        sd: f64,
        indicator: bool,
    },
    /// Kept as 0/1 (anything above 0.5 is 1); missing counts as 0.
    Binary { feature: String },
    /// One column per level seen in train, in sorted order.
    OneHot {
        feature: String,
        levels: Vec<String>,
    },
}

/// The transform fitted on the training rows; see the module docs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transform {
    pub steps: Vec<Step>,
    /// The name of every output column, in order.
    pub columns: Vec<String>,
}

impl Transform {
    /// Fit on training rows (never on validation or test rows): the data
    /// dictionary's features, then `extra` numeric ones the rows carry
    /// (see [`crate::features::sql`]).
    pub fn fit(train: &[AnalysisRow], extra: &[String]) -> Result<Transform> {
        if train.is_empty() {
            return Err(Error::usage(
                "cannot fit the feature transform: the training split has no rows",
            ));
        }
        let mut steps = Vec::with_capacity(FEATURES.len());
        for (name, kind) in FEATURES {
            let step = match kind {
                FeatureKind::Numeric => fit_numeric(name, train),
                FeatureKind::Binary => Step::Binary {
                    feature: name.to_string(),
                },
                FeatureKind::Categorical => fit_levels(name, train),
            };
            steps.push(step);
        }
        for name in extra {
            steps.push(fit_numeric(name, train));
        }
        let columns = column_names(&steps);
        Ok(Transform { steps, columns })
    }

    /// Number of output columns.
    pub fn width(&self) -> usize {
        self.columns.len()
    }

    /// The columns of the model's input before the transform, as the Open
    /// Inference Protocol and the ONNX export take them: a numeric feature
    /// in its own units (NaN when missing; no indicator column, the model
    /// derives it), a binary one as 0/1, a categorical one a column a level.
    pub fn input_columns(&self) -> Vec<String> {
        let mut cols = Vec::new();
        for step in &self.steps {
            match step {
                Step::Numeric { feature, .. } | Step::Binary { feature } => {
                    cols.push(feature.clone())
                }
                Step::OneHot { feature, levels } => {
                    cols.extend(levels.iter().map(|l| format!("{feature}={l}")));
                }
            }
        }
        cols
    }

    /// Rows as the model's input tensor (`input_columns`, before the
    /// transform): what a client sends the Open Inference Protocol route and
    /// the ONNX export, which standardise it themselves.
    pub fn input_tensor(&self, rows: &[AnalysisRow]) -> Matrix {
        let cols = self.input_columns().len();
        let mut data = Vec::with_capacity(rows.len() * cols);
        for row in rows {
            for step in &self.steps {
                match step {
                    Step::Numeric { feature, .. } | Step::Binary { feature } => {
                        data.push(numeric(row, feature).map_or(f32::NAN, |x| x as f32))
                    }
                    Step::OneHot { feature, levels } => {
                        let value = category(row, feature);
                        data.extend(levels.iter().map(|l| f32::from(u8::from(*l == value))));
                    }
                }
            }
        }
        Matrix {
            rows: rows.len(),
            cols,
            data,
        }
    }

    /// Transform rows into a matrix with `width()` columns.
    pub fn apply(&self, rows: &[AnalysisRow]) -> Matrix {
        let cols = self.width();
        let mut data = Vec::with_capacity(rows.len() * cols);
        for row in rows {
            for step in &self.steps {
                encode(step, row, &mut data);
            }
        }
        Matrix {
            rows: rows.len(),
            cols,
            data,
        }
    }
}

fn numeric(row: &AnalysisRow, name: &str) -> Option<f64> {
    match row.feature(name) {
        Some(FeatureValue::Num(v)) => v.filter(|x| x.is_finite()),
        _ => None,
    }
}

fn category(row: &AnalysisRow, name: &str) -> String {
    match row.feature(name) {
        Some(FeatureValue::Cat(s)) => s,
        _ => String::new(),
    }
}

fn fit_numeric(name: &str, train: &[AnalysisRow]) -> Step {
    let mut present: Vec<f64> = train.iter().filter_map(|r| numeric(r, name)).collect();
    let indicator = present.len() < train.len();
    present.sort_by(f64::total_cmp);
    let median = match present.len() {
        0 => 0.0,
        n if n % 2 == 1 => present[n / 2],
        n => (present[n / 2 - 1] + present[n / 2]) / 2.0,
    };
    // Mean and sd of the imputed column, as the model will see it.
    let n = train.len() as f64;
    let imputed = || train.iter().map(|r| numeric(r, name).unwrap_or(median));
    let mean = imputed().sum::<f64>() / n;
    let var = imputed().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
    // A constant column stays constant (0) rather than dividing by zero.
    let sd = if var.sqrt() > 1e-12 { var.sqrt() } else { 1.0 };
    Step::Numeric {
        feature: name.to_string(),
        median,
        mean,
        sd,
        indicator,
    }
}

fn fit_levels(name: &str, train: &[AnalysisRow]) -> Step {
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for r in train {
        *counts.entry(category(r, name)).or_default() += 1;
    }
    Step::OneHot {
        feature: name.to_string(),
        levels: counts.into_keys().collect(),
    }
}

fn column_names(steps: &[Step]) -> Vec<String> {
    let mut cols = Vec::new();
    for step in steps {
        match step {
            Step::Numeric {
                feature, indicator, ..
            } => {
                cols.push(feature.clone());
                if *indicator {
                    cols.push(format!("{feature}_missing"));
                }
            }
            Step::Binary { feature } => cols.push(feature.clone()),
            Step::OneHot { feature, levels } => {
                cols.extend(levels.iter().map(|l| format!("{feature}={l}")));
            }
        }
    }
    cols
}

fn encode(step: &Step, row: &AnalysisRow, out: &mut Vec<f32>) {
    match step {
        Step::Numeric {
            feature,
            median,
            mean,
            sd,
            indicator,
        } => {
            let value = numeric(row, feature);
            out.push(((value.unwrap_or(*median) - mean) / sd) as f32);
            if *indicator {
                out.push(if value.is_none() { 1.0 } else { 0.0 });
            }
        }
        Step::Binary { feature } => {
            let on = numeric(row, feature).is_some_and(|v| v > 0.5);
            out.push(if on { 1.0 } else { 0.0 });
        }
        Step::OneHot { feature, levels } => {
            let value = category(row, feature);
            out.extend(
                levels
                    .iter()
                    .map(|l| if *l == value { 1.0f32 } else { 0.0 }),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(age: f64, sex: &str, hr: Option<f64>, chf: f64) -> AnalysisRow {
        AnalysisRow {
            age,
            sex: sex.into(),
            hr,
            chf,
            ..Default::default()
        }
    }

    fn col(t: &Transform, m: &Matrix, r: usize, name: &str) -> f32 {
        let c = t.columns.iter().position(|c| c == name).unwrap();
        m.row(r)[c]
    }

    #[test]
    fn fits_on_train_and_applies_the_same_numbers_elsewhere() {
        let train = vec![
            row(40.0, "F", Some(60.0), 1.0),
            row(60.0, "M", None, 0.0),
            row(80.0, "F", Some(100.0), 0.0),
        ];
        let t = Transform::fit(&train, &[]).unwrap();
        // hr has a missing value in train: an indicator column; others do not.
        assert!(t.columns.contains(&"hr_missing".to_string()));
        assert!(!t.columns.contains(&"age_missing".to_string()));
        assert!(t.columns.contains(&"sex=F".to_string()));
        let m = t.apply(&train);
        assert_eq!((m.rows, m.cols), (3, t.width()));
        // age: mean 60, population sd sqrt(800/3).
        let sd = (800.0f64 / 3.0).sqrt();
        assert!((col(&t, &m, 0, "age") as f64 - (-20.0 / sd)).abs() < 1e-6);
        // hr median 80 imputed: imputed column 60, 80, 100 has mean 80.
        assert_eq!(col(&t, &m, 1, "hr"), 0.0);
        assert_eq!(col(&t, &m, 1, "hr_missing"), 1.0);
        assert_eq!(col(&t, &m, 0, "hr_missing"), 0.0);
        assert_eq!(col(&t, &m, 0, "chf"), 1.0);
        // An unseen level encodes as all zeros.
        let other = t.apply(&[row(60.0, "X", Some(80.0), 0.0)]);
        assert_eq!(col(&t, &other, 0, "sex=F"), 0.0);
        assert_eq!(col(&t, &other, 0, "sex=M"), 0.0);
        assert_eq!(col(&t, &other, 0, "age"), 0.0);
        // Round trip through JSON gives the same transform.
        let back: Transform = serde_json::from_str(&serde_json::to_string(&t).unwrap()).unwrap();
        assert_eq!(back, t);
    }

    #[test]
    fn empty_training_split_is_an_error() {
        assert!(Transform::fit(&[], &[]).is_err());
    }
}
