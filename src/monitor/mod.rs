//! Stage `monitor`: does the data a model meets in production still look
//! like the data it was trained on, and does the model still perform?
//!
//! `input` reads either side (analysis table, data folder, prediction log,
//! saved profile); `profile` reduces the reference to what comparison
//! needs; `stats` holds PSI, KS and chi-squared; `compare` judges features,
//! the score, codes and units, and performance per `window`; `estimate`
//! estimates performance from scores alone where labels have not come;
//! `report` writes it all down, `html` as one self-contained page.

pub mod compare;
pub mod estimate;
pub mod html;
pub mod input;
pub mod profile;
pub mod report;
pub mod stats;
pub mod window;

use std::path::{Path, PathBuf};

pub use compare::{compare, CodeChange, FeatureDrift, Level, Report, Thresholds};
pub use profile::{Operating, Profile, Sample};
pub use window::WindowSpec;

use crate::error::{Error, Result};
use input::Input;

/// What one monitoring run compares.
#[derive(Debug, Clone)]
pub struct MonitorOptions {
    pub reference: PathBuf,
    pub current: PathBuf,
    /// Labels to join onto the current side by stay.
    pub labels: Option<PathBuf>,
    /// A run directory or `NAME@stage` that scores data inputs.
    pub model: Option<String>,
    pub window: WindowSpec,
    pub thresholds: Thresholds,
    /// Outcomes of the current side are known only for stays discharged
    /// at least `LABEL_DELAY_DAYS` before this day; the rest are treated
    /// as not yet known (as on that day in production).
    pub labels_as_of: Option<chrono::NaiveDate>,
}

/// Days after discharge before a 30-day readmission label can exist.
pub const LABEL_DELAY_DAYS: i64 = 30;

/// Load a model from a run directory or a registry reference
/// (`NAME@stage`, `NAME@VERSION`, `NAME@ALIAS`).
pub fn load_model(spec: &str) -> Result<crate::train::Model> {
    crate::train::Model::load(crate::registry::model_dir(spec, None)?)
}

/// The threshold that estimation counts flagged stays at: the operating
/// point `carelab eval` chose for the model, else `operating_threshold`
/// from the thresholds file.
pub fn operating(model: Option<&str>, t: &Thresholds) -> Result<Option<Operating>> {
    if let Some(spec) = model {
        let dir = crate::registry::model_dir(spec, None)?;
        if let Some(threshold) = crate::serve::scorer::operating_point(&dir) {
            return Ok(Some(Operating {
                threshold,
                source: format!("the operating point of {spec} (eval/eval.json)"),
            }));
        }
    }
    Ok(t.operating_threshold.map(|threshold| Operating {
        threshold,
        source: "operating_threshold in the thresholds file".into(),
    }))
}

/// Read a data side into a sample, scored by the model when there is one.
/// A prediction log keeps the scores it was served with.
fn sample_of(input: Input, model: Option<&crate::train::Model>) -> Result<Sample> {
    match input {
        Input::Data { mut sample, rows } => {
            if let Some(m) = model {
                sample.scores = Some(m.score(&rows)?);
            }
            Ok(sample)
        }
        Input::Log(sample) => Ok(sample),
        Input::Profile(_) => Err(Error::usage(
            "a profile can only be the reference; the current side must be data or a prediction log",
        )),
    }
}

/// Make a reference profile from data (scored by `model` when given).
pub fn make_profile(
    data: &Path,
    model: Option<&str>,
    bins: usize,
    t: &Thresholds,
) -> Result<Profile> {
    let operating = operating(model, t)?;
    let model = model.map(load_model).transpose()?;
    match input::read_input(data)? {
        Input::Profile(p) => Ok(*p),
        other => Ok(Profile::from_sample(
            &sample_of(other, model.as_ref())?,
            bins,
            operating.as_ref(),
        )),
    }
}

/// Forget the outcomes of stays discharged less than `LABEL_DELAY_DAYS`
/// before `as_of` (and of rows without a time): they would not be known yet.
fn withhold_labels(sample: &mut Sample, as_of: chrono::NaiveDate) {
    let Some(labels) = &mut sample.labels else {
        return;
    };
    for (label, time) in labels.iter_mut().zip(&sample.times) {
        let known =
            time.is_some_and(|t| t.date() + chrono::Duration::days(LABEL_DELAY_DAYS) <= as_of);
        if !known {
            *label = None;
        }
    }
}

/// Join labels (by stay) onto a sample; rows without a label stay unknown.
fn join_labels(sample: &mut Sample, path: &Path) -> Result<()> {
    let labels = input::read_labels(path)?;
    sample.labels = Some(
        sample
            .stays
            .iter()
            .map(|s| s.as_ref().and_then(|s| labels.get(s).copied()))
            .collect(),
    );
    Ok(())
}

/// Run a comparison.
pub fn run(o: &MonitorOptions) -> Result<Report> {
    let operating = operating(o.model.as_deref(), &o.thresholds)?;
    let model = o.model.as_deref().map(load_model).transpose()?;
    let reference = match input::read_input(&o.reference)? {
        Input::Profile(p) => *p,
        other => Profile::from_sample(
            &sample_of(other, model.as_ref())?,
            o.thresholds.bins,
            operating.as_ref(),
        ),
    };
    let mut current = sample_of(input::read_input(&o.current)?, model.as_ref())?;
    if let Some(l) = &o.labels {
        join_labels(&mut current, l)?;
    }
    if let Some(day) = o.labels_as_of {
        withhold_labels(&mut current, day);
    }
    Ok(compare(&reference, &current, &o.thresholds, o.window))
}
