//! Stage `monitor`: does the data a model meets in production still look
//! like the data it was trained on, and does the model still perform?
//!
//! `stats` holds the drift statistics (PSI, KS, chi-squared).

pub mod stats;
