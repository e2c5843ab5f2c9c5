#![no_main]
//! Any bytes as a records-schema CSV table (UTF-8 or Latin-1) through the
//! reader ingest uses.
use carelab::ingest::raw::{read_csv, Table};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = std::env::temp_dir().join(format!("carelab-fuzz-{}.csv", std::process::id()));
    if std::fs::write(&path, data).is_ok() {
        let _ = read_csv(&path, "fuzz", Table::Observation);
    }
});
