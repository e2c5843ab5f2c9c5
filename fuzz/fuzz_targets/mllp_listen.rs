#![no_main]
//! Any bytes through the MLLP deframer, in uneven reads, and every frame
//! through the listener's judge: each frame must get an ACK with an MSA.
use carelab::ingest::mllp::{judge, Deframer};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut d = Deframer::new(1 << 20);
    let step = data.first().map_or(1, |b| usize::from(*b % 61) + 1);
    for chunk in data.chunks(step) {
        d.push(chunk);
        while let Some(frame) = d.next_frame() {
            if let Ok(frame) = frame {
                let v = judge("fuzz", 1, &frame);
                assert!(v.ack.starts_with("MSH") && v.ack.contains("\rMSA"));
            }
        }
    }
});
