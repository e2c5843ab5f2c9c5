//! De-identification: Safe Harbor, limited data sets, keyed pseudonyms,
//! note scrubbing, k-anonymity and the PHI scanner.

pub mod pseudonym;
