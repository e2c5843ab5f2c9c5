#![no_main]
//! Any text through the FHIR Bundle and NDJSON readers.
use carelab::formats::fhir;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = fhir::read_ndjson("fuzz.ndjson", &text);
    let _ = fhir::read_bundle("fuzz.json", &text);
});
