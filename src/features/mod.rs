//! Stage `features`: the analysis table -> a model matrix.
//!
//! Two things live here, both fitted on the training split only so that no
//! information leaks from validation or test rows into the model:
//! - [`Transform`]: imputation (median, plus a missing-indicator column for
//!   every numeric feature that had missing values in train),
//!   standardisation (mean and sd from train) and one-hot encoding of
//!   categories (levels seen in train; an unseen level encodes as all zeros).
//!   It serialises to JSON and travels with the model, so serving applies
//!   exactly the transform training used.
//! - [`split`]: patient-level splits (by hash or by time), so that no patient
//!   appears in two splits.

pub mod split;
pub mod sql;
pub mod transform;

pub use split::{assign_splits, Split, SplitMethod};
pub use transform::{Matrix, Transform};
