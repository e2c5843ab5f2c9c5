//! Stage `ingest`: sources -> one clean model and the analysis table.
//!
//! Every source adapter turns its input into `raw::RawRecord`s named like the
//! records schema; `validate` checks and maps each record (codes through
//! `maps`, units to the canonical unit); `linkage` ties patients from
//! different systems into one master patient index; `pipeline` applies the
//! multi-record rules (referential integrity, duplicates), sends every
//! rejected record to `quarantine/<source>.csv` with a reason, and writes the
//! OMOP-like tables (`omop_like`, through the writer in `omop`), the OMOP
//! CDM v5.4 database (`cdm`, on the
//! specification in `cdm_table` and the vocabulary subset in `vocabulary`),
//! the analysis table and the quality report (`quality`), with the
//! data-quality checks run over the CDM database (`cdm_checks`). Nothing is
//! dropped silently: per source, records in =
//! records out + records quarantined + records skipped (read but not kept,
//! each with its reason: what the model has no place for, counted by type,
//! an HL7 v2 result of a type the model does not hold, a cancelled stay).

pub mod cdm;
pub mod cdm_checks;
pub mod cdm_table;
pub mod fields;
pub mod keys;
pub mod linkage;
pub mod maps;
pub mod mllp;
pub mod omop;
pub mod omop_like;
pub mod pipeline;
pub mod quality;
pub mod raw;
pub mod source;
pub mod spill;
pub mod text_fields;
pub mod validate;
pub mod vocabulary;

pub use pipeline::{
    run, run_with, IngestOptions, IngestSummary, PipelineConfig, SourceConfig, SourceKind,
};
