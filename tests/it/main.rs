//! Every integration test, in one test binary.
//!
//! One binary instead of one per file: each test binary links candle,
//! arrow, axum and sqlite in full, so thirty-odd of them took tens of
//! gigabytes of disk and a long link each on a 2-core CI machine (a clean
//! CI run died in the linker when its disk filled). Each file below is still
//! one topic; run one with `cargo test --test it NAME::`.

// Shared by several topics.
mod cli_support;
mod eval_support;
mod fixture;
mod serve_support;

mod audit_cli;
mod bench_serve;
mod book;
mod book_run;
#[cfg(target_os = "linux")]
mod bundle;
mod cdm;
mod cli_conventions;
mod cli_pipe;
mod container;
mod cost_cli;
mod datasets;
mod deid_100k;
mod deid_cli;
mod deid_columns;
mod deid_generated;
mod deid_notes;
mod deid_rules;
mod deploy;
mod doctor;
mod eval_cli;
mod eval_fixtures;
mod eval_report;
mod eval_train_run;
mod fhir;
mod generate;
#[cfg(unix)]
mod gpu_bench;
mod hl7v2;
mod hl7v2_conformance;
mod hl7v2_vendors;
mod ingest_csv;
mod ingest_fhir;
mod ingest_fuzz;
mod ingest_mllp;
mod ingest_partitions;
mod ingest_paths;
mod ingest_shards;
mod lab10;
mod lab11;
mod labs;
mod labs_agenda;
mod labs_author;
mod labs_cli;
mod labs_outcomes;
mod labs_secrets;
mod labs_silos;
mod labs_solve;
mod legacy_generate;
mod legacy_ingest;
mod models_export;
mod monitor_cli;
mod monitor_stats;
mod population_sanity;
mod registry;
mod registry_cli;
mod serve_cds;
mod serve_demo;
mod serve_fhir;
mod serve_http;
mod serve_oip;
mod serve_tls;
mod tour;
mod train_cli;
mod workshop_class;
