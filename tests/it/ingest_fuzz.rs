//! Stable-toolchain property tests: thousands of random and mutated inputs
//! through every reader ingest uses (HL7 v2 feed, parser and decoder, the
//! MLLP deframer and ACK judge, FHIR NDJSON and Bundles, CSV tables,
//! fixed-width lines). Errors are fine; a panic is a bug. Each case is
//! seeded, so a failure names the case that reproduces it. The cargo-fuzz
//! targets under fuzz/ explore further (nightly), see book concepts.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use carelab::formats::hl7v2::{self, decode, Feed, Limits};
use carelab::formats::{fhir, legacy};
use carelab::ingest::mllp::{self, Deframer};
use carelab::ingest::raw::{self, Table};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

const CASES: u64 = 2000;

const ADT: &str = "MSH|^~\\&|ADT|H|CARELAB|H|20240101080000||ADT^A03|C1|P|2.5.1\r\
EVN|A03|20240105100000\r\
PID|1||P1^^^H^PI~M1^^^H^MR||O'Brien^Ann^^^^^L||19500101|F||2106-3^White|1 Oak \\T\\ Elm St^^Springfield^IL^62704||555-010-0000^PRN^PH~^NET^Internet^a@example.org\r\
PV1|1|I|||||||||||||||||E1|||||||||||||||||01||||||||20240101080000|20240105100000\r\
DG1|1||I50.9^Heart failure^I10||20240101|A\r";
const ORU: &str = "MSH|^~\\&|LAB|H|CARELAB|H|20240102120000||ORU^R01|C2|P|2.5.1\r\
PID|1||P1^^^H^PI||O'Brien^Ann||19500101|F\r\
PV1|1|I|||||||||||||||||E1\r\
OBR|1||F1|2345-7^Glucose^LN|||20240102110000\r\
OBX|1|NM|2345-7^Glucose^LN||5.5|mmol/L|||||F|||20240102110000||||||O1\r\
OBX|2|SN|2160-0^Creatinine^LN||<^1.2|mg/dL|||||F\r\
OBX|3|TX|18842-5^Discharge summary^LN||Line one~Line \\F\\ two||||||F\r";
/// A batch file with a byte-order mark, every OBX value type, a Z-segment,
/// an A40 merge and a message type CareLab skips.
const BATCH: &str = "\u{feff}FHS|^~\\&|LAB|H|CARELAB|H|20240101\r\
BHS|^~\\&|LAB|H|CARELAB|H|20240101\r\
MSH|^~\\&|LAB|H|CARELAB|H|20240102120000||ORU^R01|C3|P|2.3\r\
PID|1||M1^^^H&1.2&ISO^MR~P1^^^H^PI||O'Brien^Ann||19500101|F\r\
PV1|1|I|||||||||||||||||E1\r\
OBR|1||F2|CHEM^Chem^L|||20240102110000\r\
OBX|1|SN|1988-5^CRP^LN||<^5|mg/L|||||F\r\
OBX|2|ST|5778-6^Color^LN||Yellow||||||F\r\
OBX|3|CWE|600-7^Culture^LN||3092008^Staph aureus^SCT||||||P\r\
OBX|4|DT|11778-8^EDD^LN||20240915||||||F\r\
OBX|5|ED|11490-0^PDF^LN||^application^pdf^Base64^JVBER||||||F\r\
OBX|6|NM|2951-2^Sodium^LN||||||||I\r\
ZLB|1|X\r\
MSH|^~\\&|ADT|H|CARELAB|H|20240103||ADT^A40^ADT_A39|C4|P|2.8\r\
PID|1||M2^^^H^MR||O'Brien^Ann||19500101|F\r\
MRG|M1^^^H^MR\r\
MSH|^~\\&|ADT|H|CARELAB|H|20240103||SIU^S12|C5|P|2.8\r\
BTS|3\r\
FTS|1\r";
const FHIR_OBS: &str = r#"{"resourceType":"Observation","id":"O1","status":"final","subject":{"reference":"Patient/P1"},"encounter":{"reference":"Encounter/E1"},"effectiveDateTime":"2024-01-02T11:00:00+00:00","code":{"coding":[{"system":"http://loinc.org","code":"2345-7","display":"Glucose"}]},"valueQuantity":{"value":5.5,"unit":"mmol/L"}}"#;
const FHIR_PATIENT: &str = r#"{"resourceType":"Patient","id":"P1","name":[{"family":"O'Brien","given":["Ann"]}],"gender":"female","birthDate":"1950-01-01","address":[{"line":["1 Oak St"],"city":"Springfield","state":"IL","postalCode":"62704"}]}"#;
const CSV: &str = "observation_id,patient_id,encounter_id,time,code,system,display,value,unit\n\
O1,P1,E1,2024-01-02T11:00:00,2345-7,http://loinc.org,Glucose,5.5,mmol/L\n\
O2,P1,E1,2024-01-02T11:00:00,2160-0,http://loinc.org,\"Creatinine, serum\",1.2,mg/dL\n";

/// A seeded mutation of `seed_text`: random bytes, byte flips, cuts,
/// delimiter swaps, a huge field, a missing or doubled MSH, CR/LF changes.
fn mutate(rng: &mut ChaCha8Rng, seed_text: &[u8]) -> Vec<u8> {
    let mut b = seed_text.to_vec();
    let rounds = rng.random_range(1..4);
    for _ in 0..rounds {
        let len = b.len().max(1);
        match rng.random_range(0..10) {
            0 => {
                let n = rng.random_range(0..512);
                b = (0..n).map(|_| rng.random::<u8>()).collect();
            }
            1 => {
                for _ in 0..rng.random_range(1..8) {
                    let i = rng.random_range(0..len);
                    if let Some(x) = b.get_mut(i) {
                        *x = rng.random();
                    }
                }
            }
            2 => b.truncate(rng.random_range(0..len)),
            3 => {
                let from = [b'|', b'^', b'~', b'\\', b'&', b'\r'][rng.random_range(0..6)];
                let to = [b'|', b'^', b'~', b'\\', b'&', b'\n', b'#', 0][rng.random_range(0..8)];
                for x in b.iter_mut().filter(|x| **x == from) {
                    if rng.random_bool(0.5) {
                        *x = to;
                    }
                }
            }
            4 => {
                let i = rng.random_range(0..len).min(b.len());
                let huge = vec![b'9'; rng.random_range(1..40_000)];
                b.splice(i..i, huge);
            }
            5 => {
                if b.starts_with(b"MSH") {
                    b.drain(..3);
                } else {
                    b.splice(0..0, b"MSH".iter().copied());
                }
            }
            6 => {
                let i = rng.random_range(0..len).min(b.len());
                let dup = b.clone();
                b.splice(i..i, dup);
            }
            7 => {
                let i = rng.random_range(0..len).min(b.len());
                let junk = [
                    &[0x0bu8][..],
                    &[0x1c, 0x0d],
                    b"\\X",
                    b"\\",
                    b"\"",
                    b"\xff\xfe",
                    b"{",
                    b"}",
                ][rng.random_range(0..8)];
                b.splice(i..i, junk.iter().copied());
            }
            8 => {
                let s = String::from_utf8_lossy(&b).replace('\r', "\r\n");
                b = s.into_bytes();
            }
            _ => {
                // multibyte characters cut anywhere
                let i = rng.random_range(0..len).min(b.len());
                b.splice(i..i, "é€😀".bytes().take(rng.random_range(1..9)));
            }
        }
    }
    b
}

/// Run `f` on every case; a panic fails with the case number and a preview.
fn no_panic(name: &str, seeds: &[&[u8]], mut f: impl FnMut(&[u8])) {
    for case in 0..CASES {
        let mut rng = carelab::rng::stream(7, name, case);
        let seed = seeds[rng.random_range(0..seeds.len())];
        let input = mutate(&mut rng, seed);
        let result = catch_unwind(AssertUnwindSafe(|| f(&input)));
        if result.is_err() {
            let preview: String = String::from_utf8_lossy(&input).chars().take(200).collect();
            panic!(
                "{name}: case {case} panicked on {} bytes: {preview:?}",
                input.len()
            );
        }
    }
}

#[test]
fn hl7v2_feed_parse_decode_and_ack_never_panic() {
    let mut decoded = 0;
    no_panic(
        "fuzz-hl7v2",
        &[ADT.as_bytes(), ORU.as_bytes(), BATCH.as_bytes()],
        |bytes| {
            if let Ok(feed) = Feed::from_bytes("fuzz.hl7", bytes) {
                for m in feed.messages(Limits::default()).flatten() {
                    if decode(&m).is_ok() {
                        decoded += 1;
                    }
                    let _ = hl7v2::ack(&m, hl7v2::AckCode::AE, "x|y^z");
                    for seg in m.segments() {
                        for n in 0..seg.field_count() + 2 {
                            let _ = seg.text(n);
                            let _ = seg.component(n, 2, 2);
                        }
                    }
                }
            }
        },
    );
    // the mutations keep some messages whole, so decoding is exercised too
    assert!(decoded > 100, "only {decoded} messages decoded");
}

/// The source reader over mutated vendor-style feeds (BOM, batch
/// envelopes, every OBX type, A40 merges, skipped types, the fixtures of
/// tests/data/hl7v2): no panic, and every message counted once.
#[test]
fn hl7v2_source_reader_never_panics_and_counts_every_message() {
    use carelab::ingest::source::hl7v2::FeedReader;
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/hl7v2");
    let fixtures: Vec<Vec<u8>> = std::fs::read_dir(&data)
        .unwrap()
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect();
    let mut seeds: Vec<&[u8]> = vec![BATCH.as_bytes(), ADT.as_bytes(), ORU.as_bytes()];
    seeds.extend(fixtures.iter().map(Vec::as_slice));
    let mut records = 0;
    no_panic("fuzz-hl7v2-source", &seeds, |bytes| {
        for rule in ["MR,PI", "PI", "MR@H"] {
            let mut r = FeedReader::new("fuzz", rule.parse().unwrap());
            if r.read_bytes("fuzz.hl7", bytes).is_ok() {
                let n = Feed::from_bytes("fuzz.hl7", bytes)
                    .map(|f| hl7v2::split_messages(&f.text).len())
                    .unwrap_or(0) as u64;
                let counted: u64 = r.messages.values().map(|c| c.input).sum();
                assert_eq!(counted, n);
                for c in r.messages.values() {
                    assert_eq!(c.input, c.read + c.unparseable + c.skipped);
                }
                records += r.finish().unwrap().len();
            }
        }
    });
    assert!(records > 2000, "only {records} records read");
}

#[test]
fn mllp_deframer_and_ack_judge_never_panic_and_always_answer() {
    let framed: Vec<u8> = [ADT, ORU, BATCH]
        .iter()
        .flat_map(|m| mllp::frame(m))
        .collect();
    let mut answered = 0;
    no_panic("fuzz-mllp", &[&framed, ADT.as_bytes()], |bytes| {
        let mut d = Deframer::new(64 * 1024);
        for chunk in bytes.chunks(97) {
            d.push(chunk);
            while let Some(frame) = d.next_frame() {
                if let Ok(frame) = frame {
                    let v = mllp::judge("fuzz", 1, &frame);
                    // every frame gets an ACK with an MSA
                    assert!(v.ack.starts_with("MSH"), "{:?}", v.ack);
                    assert!(v.ack.contains("\rMSA"), "{:?}", v.ack);
                    answered += 1;
                }
            }
        }
    });
    assert!(answered > 500, "only {answered} frames judged");
}

#[test]
fn fhir_ndjson_and_bundles_never_panic() {
    let ndjson = format!("{FHIR_PATIENT}\n{FHIR_OBS}\n");
    let bundle = format!(
        r#"{{"resourceType":"Bundle","type":"transaction","entry":[{{"fullUrl":"urn:uuid:1","resource":{FHIR_PATIENT}}},{{"fullUrl":"urn:uuid:2","resource":{FHIR_OBS}}}]}}"#
    );
    // Synthea-style seeds (tests/data): blood-pressure panels with
    // components, a base64 note, an export log, conditional and urn:uuid
    // references in a transaction Bundle.
    let panels = include_str!("../data/synthea-bulk/Observation.ndjson");
    let note = include_str!("../data/synthea-bulk/DocumentReference.ndjson");
    let log = include_str!("../data/synthea-bulk/log.ndjson");
    let synthea = include_str!("../data/synthea-transaction.json");
    let (mut read, mut components, mut notes, mut logs) = (0, 0, 0, 0);
    no_panic(
        "fuzz-fhir",
        &[
            ndjson.as_bytes(),
            bundle.as_bytes(),
            panels.as_bytes(),
            note.as_bytes(),
            log.as_bytes(),
            synthea.as_bytes(),
        ],
        |bytes| {
            let (text, _) = raw::decode_text(bytes);
            for r in [
                fhir::read_ndjson("fuzz.ndjson", &text),
                fhir::read_bundle("fuzz.json", &text).unwrap_or_default(),
            ] {
                // every item is read, rejected or skipped
                assert_eq!(
                    r.seen,
                    r.records.len() + r.rejected.len() + r.skipped_count()
                );
                read += r.records.len();
                components += r
                    .records
                    .observations
                    .iter()
                    .filter(|o| o.code == "8480-6")
                    .count();
                notes += r.records.notes.len();
                logs += r.skipped.get("log").map_or(0, |n| n.values().sum());
            }
        },
    );
    // the mutations reach the new paths, not only the parse errors
    assert!(read > 100, "only {read} resources read");
    assert!(
        components > 20 && notes > 5 && logs > 20,
        "{components} {notes} {logs}"
    );
}

#[test]
fn csv_tables_never_panic() {
    // the reader takes a path: keep its 2000 files in memory where the
    // system offers it (a loaded disk makes file creation slow, not the parse)
    let shm = Path::new("/dev/shm");
    let dir = if shm.is_dir() {
        tempfile::tempdir_in(shm).unwrap_or_else(|_| tempfile::tempdir().unwrap())
    } else {
        tempfile::tempdir().unwrap()
    };
    let path = dir.path().join("observations.csv");
    let mut rows = 0;
    no_panic("fuzz-csv", &[CSV.as_bytes()], |bytes| {
        std::fs::write(&path, bytes).unwrap();
        if let Ok((recs, _)) = raw::read_csv(&path, "fuzz", Table::Observation) {
            rows += recs.len();
        }
    });
    assert!(rows > 100, "only {rows} rows read");
}

#[test]
fn fixed_width_lines_never_panic() {
    let layout_text = include_str!("../../src/synth/legacy_registration.layout.toml");
    let layout = legacy::Layout::parse(Path::new("registration.layout.toml"), layout_text).unwrap();
    let width = layout.records.iter().map(|r| r.line_width()).max().unwrap();
    let line = |code: char| {
        let mut s = code.to_string();
        s.extend(std::iter::repeat_n('7', width - 1));
        s.push('\n');
        s
    };
    let good = format!("{}{}", line('P'), line('E'));
    let mut ok = 0;
    no_panic("fuzz-fixed-width", &[good.as_bytes()], |bytes| {
        let (text, _) = raw::decode_text(bytes);
        ok += layout
            .read_text("fuzz.txt", &text)
            .iter()
            .filter(|r| r.is_ok())
            .count();
    });
    assert!(ok > 100, "only {ok} lines read");
}
