#![no_main]
//! Any bytes through the HL7 v2 feed reader, parser and decoder, and the
//! ingest source reader over them (BOMs, batch envelopes, every OBX value
//! type, A40 merges, skipped message types): errors are fine, panics are
//! bugs.
use carelab::formats::hl7v2::{decode, Feed, Limits};
use carelab::ingest::source::hl7v2::FeedReader;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(feed) = Feed::from_bytes("fuzz", data) {
        for m in feed.messages(Limits::default()).flatten() {
            let _ = decode(&m);
            let _ = m.get("PID-3(2).1");
        }
    }
    let mut reader = FeedReader::new("fuzz", Default::default());
    if reader.read_bytes("fuzz.hl7", data).is_ok() {
        let _ = reader.finish();
    }
});
