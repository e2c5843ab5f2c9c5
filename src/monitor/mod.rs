//! Stage `monitor`: does the data a model meets in production still look
//! like the data it was trained on, and does the model still perform?
//!
//! `input` reads either side (analysis table, data folder, prediction log,
//! saved profile); `profile` reduces the reference to what comparison
//! needs; `stats` holds PSI, KS and chi-squared; `compare` judges features,
//! the score, codes and units, and performance per `window`; `report`
//! writes it all down.

pub mod compare;
pub mod input;
pub mod profile;
pub mod report;
pub mod stats;
pub mod window;

use std::path::{Path, PathBuf};

pub use compare::{compare, CodeChange, FeatureDrift, Level, Report, Thresholds};
pub use profile::{Profile, Sample};
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
}

/// Load a model from a run directory or a registry reference
/// (`NAME@stage`, `NAME@VERSION`, `NAME@ALIAS`).
pub fn load_model(spec: &str) -> Result<crate::train::Model> {
    crate::train::Model::load(crate::registry::model_dir(spec, None)?)
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
pub fn make_profile(data: &Path, model: Option<&str>, bins: usize) -> Result<Profile> {
    let model = model.map(load_model).transpose()?;
    match input::read_input(data)? {
        Input::Profile(p) => Ok(p),
        other => Ok(Profile::from_sample(
            &sample_of(other, model.as_ref())?,
            bins,
        )),
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
    let model = o.model.as_deref().map(load_model).transpose()?;
    let reference = match input::read_input(&o.reference)? {
        Input::Profile(p) => p,
        other => Profile::from_sample(&sample_of(other, model.as_ref())?, o.thresholds.bins),
    };
    let mut current = sample_of(input::read_input(&o.current)?, model.as_ref())?;
    if let Some(l) = &o.labels {
        join_labels(&mut current, l)?;
    }
    Ok(compare(&reference, &current, &o.thresholds, o.window))
}
