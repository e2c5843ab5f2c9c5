//! The clinical data model every stage speaks.
//!
//! `records` are the typed rows of the clean model (what the generator makes
//! and what ingest must recover from messy sources); `codes` is the shared
//! vocabulary (ICD-10-CM, LOINC with UCUM units, RxNorm, dispositions);
//! `analysis` derives one row per index discharge from a patient's records,
//! using only what was known at discharge. The generator's ground-truth risk
//! and ingest's analysis table both go through `analysis`, so the truth a
//! learner's model approaches is defined on exactly the features it sees.

pub mod analysis;
pub mod codes;
pub mod iso;
pub mod records;

pub use analysis::{AnalysisRow, FeatureKind, FeatureValue, FEATURES};
pub use codes::{Chronic, Disposition, Measure};
pub use records::*;
