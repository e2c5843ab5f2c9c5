//! Readers and writers for every format CareLab speaks: clean tables (CSV,
//! Parquet), FHIR R4 JSON, HL7 v2 and the legacy fixed-width export.

pub mod arrow_text;
pub mod fhir;
pub mod hl7v2;
pub mod legacy;
pub mod named_csv;
pub mod sql_query;
pub mod table;
