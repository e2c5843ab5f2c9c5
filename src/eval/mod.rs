//! Stage `eval`: judge a trained run the way clinicians need.
//!
//! [`evaluate`] reads a run directory (see [`run_dir`]) and computes, on one
//! split: discrimination (AUROC, average precision), accuracy (Brier, log
//! loss), calibration (intercept, slope, reliability curve, ECE), the
//! confusion matrix at a threshold, a subgroup table with bootstrap
//! intervals, a decision curve and, given the generator's truth file, the
//! Bayes-optimal AUROC beside the model's. [`write_report`] writes it all
//! out: JSON, CSV tables, SVG and PNG plots and a model card.

pub mod bootstrap;
pub mod calibration;
pub mod card;
pub mod decision;
pub mod metrics;
pub mod plots;
pub mod report;
pub mod run_dir;
pub mod truth;

pub use report::{evaluate, write_report, EvalOptions, EvalReport, ThresholdRule};
