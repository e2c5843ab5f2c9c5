//! De-identification: Safe Harbor (random surrogate ids), limited data
//! sets, keyed pseudonyms, note scrubbing, k-anonymity and the PHI scanner.

mod address_parts;
mod byte_runs;
pub mod corpus;
pub mod dataset;
pub mod dates;
pub mod detector;
pub mod detector_train;
pub mod kanon;
mod layers;
pub mod names;
pub mod patterns;
pub mod pseudonym;
pub mod roles;
mod rule_windows;
pub mod rules;
pub mod scan;
pub mod scrub;
pub mod surrogate;
pub mod tables;

pub use dataset::{run, Mode, Options, Report};
