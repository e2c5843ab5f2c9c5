//! HL7 v2: the writer checked field by field by an independent parser
//! (`hl7-parser`), our parser round-tripping writer output to the records,
//! delimiters, terminators, MLLP, ACKs, a malformed-input suite and a
//! no-panic property test over random and mutated bytes.

use crate::fixture;

use carelab::formats::hl7v2::{self, ack, decode, AckCode, Feed, Limits, Message};
use rand::Rng;

fn feed_text() -> String {
    hl7v2::messages(&fixture::bundle(), "GENERAL HOSP").concat()
}

/// Decode every message of a feed; errors are test failures. CareLab's
/// feed names each patient by the generator's patient id, PID-3 type PI.
fn decode_all(text: &str) -> Vec<hl7v2::Decoded> {
    let feed = Feed::from_bytes("test.hl7", text.as_bytes()).unwrap();
    let pi: hl7v2::PatientIdRule = "PI".parse().unwrap();
    feed.messages(Limits::default())
        .map(|m| {
            let d = hl7v2::decode_with(&m.unwrap(), &pi).unwrap();
            assert!(hl7v2::first_obx_error(&d).is_none());
            d
        })
        .collect()
}

#[test]
fn writer_fields_read_by_independent_parser() {
    let msgs = hl7v2::messages(&fixture::bundle(), "GENERAL HOSP");
    // 2 stays x (A01 + A03) + 4 result times + 1 note.
    assert_eq!(msgs.len(), 9);
    let kinds: Vec<String> = msgs
        .iter()
        .map(|m| {
            let p = hl7_parser::Message::parse(m).unwrap();
            p.query("MSH.9").unwrap().raw_value().to_string()
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "ADT^A01^ADT_A01",
            "ORU^R01^ORU_R01",
            "ORU^R01^ORU_R01",
            "ORU^R01^ORU_R01",
            "ADT^A03^ADT_A03",
            "ADT^A01^ADT_A01",
            "ORU^R01^ORU_R01",
            "ORU^R01^ORU_R01",
            "ADT^A03^ADT_A03",
        ]
    );
    let a01 = hl7_parser::Message::parse(&msgs[0]).unwrap();
    let sep = &a01.separators;
    let q = |m: &hl7_parser::Message, path: &str| -> String {
        sep.decode(m.query(path).unwrap().raw_value()).to_string()
    };
    assert_eq!(q(&a01, "MSH.7"), "20230110091500");
    assert_eq!(q(&a01, "MSH.4"), "GENERAL HOSP");
    assert_eq!(q(&a01, "PID.5.1"), "O'Brien");
    assert_eq!(q(&a01, "PID.5.2"), "Siobhan^?");
    assert_eq!(q(&a01, "PID.7"), "19480229");
    assert_eq!(q(&a01, "PID.8"), "F");
    assert_eq!(q(&a01, "PID.11.1"), "12 Smith & Sons Way");
    assert_eq!(q(&a01, "PID.11.5"), "62704");
    let pid3 = a01.segment("PID").unwrap().field(3).unwrap();
    let ids: Vec<(&str, &str)> = pid3
        .repeats()
        .map(|r| {
            (
                r.component(1).unwrap().raw_value(),
                r.component(5).unwrap().raw_value(),
            )
        })
        .collect();
    assert_eq!(
        ids,
        [
            ("P0000007", "PI"),
            ("MRN-0042", "MR"),
            ("123-45-6789", "SS")
        ]
    );
    assert_eq!(q(&a01, "PV1.2"), "I");
    assert_eq!(q(&a01, "PV1.19"), "E1");
    assert_eq!(q(&a01, "PV1.44"), "20230110091500");
    assert!(a01.segment("PV1").unwrap().field(45).is_none());

    let oru = hl7_parser::Message::parse(&msgs[1]).unwrap();
    assert_eq!(oru.segment_count("OBX"), 2);
    let obx = oru.segment_n("OBX", 2).unwrap();
    let f = |n: usize, c: usize| obx.field(n).unwrap().component(c).unwrap().raw_value();
    assert_eq!(f(2, 1), "NM");
    assert_eq!((f(3, 1), f(3, 3)), ("8480-6", "LN"));
    assert_eq!(f(5, 1), "141");
    assert_eq!(f(6, 1), "mm[Hg]");
    assert_eq!(f(11, 1), "F");
    assert_eq!(f(14, 1), "20230110093000");
    assert_eq!(f(4, 1), "O2");
    assert!(obx.field(21).is_none(), "v2.5.1's OBX has 19 fields");

    let note = hl7_parser::Message::parse(&msgs[3]).unwrap();
    let text = note.query("OBX.5").unwrap().raw_value();
    assert!(!text.contains('|') && !text.contains('\r'));
    assert!(sep
        .decode(text)
        .to_string()
        .contains("CHF & COPD | stable."));

    let a03 = hl7_parser::Message::parse(&msgs[4]).unwrap();
    assert_eq!(q(&a03, "PV1.36"), "01");
    assert_eq!(q(&a03, "PV1.45"), "20230114110000");
    assert_eq!(q(&a03, "DG1.3.1"), "I50.9");
}

#[test]
fn own_parser_round_trips_writer_output_to_records() {
    let b = fixture::bundle();
    let decoded = decode_all(&feed_text());
    let a01 = &decoded[0];
    assert_eq!(a01.event, "ADT^A01");
    assert_eq!(a01.patient.as_ref(), b.patient.as_ref());
    assert!(a01.encounter.is_none(), "A01 has no discharge time yet");
    let encounters: Vec<_> = decoded.iter().filter_map(|d| d.encounter.clone()).collect();
    assert_eq!(encounters, b.encounters);
    let observations: Vec<_> = decoded
        .iter()
        .flat_map(|d| d.observations().cloned().collect::<Vec<_>>())
        .collect();
    assert_eq!(observations, b.observations);
    let notes: Vec<_> = decoded.iter().flat_map(|d| d.notes.clone()).collect();
    assert_eq!(notes, b.notes);
}

#[test]
fn output_is_deterministic_with_unique_control_ids() {
    let a = hl7v2::messages(&fixture::bundle(), "H");
    let b = hl7v2::messages(&fixture::bundle(), "H");
    assert_eq!(a, b);
    let mut ids: Vec<String> = decode_all(&a.concat())
        .into_iter()
        .map(|d| d.control_id)
        .collect();
    assert_eq!(ids[0].len(), 20);
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 9);
}

#[test]
fn any_delimiters_terminators_and_mllp() {
    let custom = "MSH#*!@%#SND#FAC#RCV#RF#20240101120000##ADT*A01#C1#P#2.5.1\n\
                  PID#1##A1***X*PI!B2***X*MR##Doe%Jr@F@x*Jane";
    let m = Message::parse("custom", 1, custom, Limits::default()).unwrap();
    assert_eq!(m.get("MSH-9.2").as_deref(), Some("A01"));
    assert_eq!(m.get("PID-3(2).1").as_deref(), Some("B2"));
    assert_eq!(m.get("PID-5.1").as_deref(), Some("Doe%Jr#x"));
    assert_eq!(m.get("PID-5.1.2").as_deref(), Some("Jr#x"));
    assert_eq!(m.get("PID-5.2").as_deref(), Some("Jane"));
    assert_eq!(m.get("MSH-1").as_deref(), Some("#"));
    assert_eq!(m.get("PID-9"), None);

    // CR, LF and CRLF in one file; messages split at MSH.
    let text = feed_text();
    let mixed: String = text
        .split('\r')
        .enumerate()
        .map(|(i, s)| format!("{s}{}", ["\r", "\n", "\r\n"][i % 3]))
        .collect();
    assert_eq!(decode_all(&mixed), decode_all(&text));

    let framed: Vec<u8> = hl7v2::messages(&fixture::bundle(), "H")
        .iter()
        .flat_map(|m| hl7v2::mllp_frame(m))
        .collect();
    let feed = Feed::from_bytes("mllp", &framed).unwrap();
    assert!(feed.mllp);
    assert_eq!(feed.messages(Limits::default()).count(), 9);
    let err = Feed::from_bytes("mllp", &framed[..framed.len() - 2]).unwrap_err();
    assert!(err.to_string().contains("frame 9"), "{err}");
}

#[test]
fn ack_answers_with_the_message_control_id() {
    let text = feed_text();
    let m = Message::parse("t", 1, hl7v2::split_messages(&text)[0], Limits::default()).unwrap();
    let a = ack(&m, AckCode::AE, "PID-7 | bad");
    let parsed = Message::parse("ack", 1, &a, Limits::default()).unwrap();
    assert_eq!(parsed.get("MSA-1").as_deref(), Some("AE"));
    assert_eq!(parsed.get("MSA-2"), m.get("MSH-10"));
    assert_eq!(parsed.get("MSA-3").as_deref(), Some("PID-7 | bad"));
    assert_eq!(parsed.get("MSH-9.1").as_deref(), Some("ACK"));
    assert_eq!(parsed.get("MSH-9.2").as_deref(), Some("A01"));
    assert_eq!(parsed.get("MSH-3"), m.get("MSH-5"));
    assert_eq!(parsed.get("MSH-7"), m.get("MSH-7"));
}

/// Parse and decode every message; the first error as text.
fn first_error(bytes: &[u8], limits: Limits) -> String {
    let feed = match Feed::from_bytes("bad.hl7", bytes) {
        Ok(f) => f,
        Err(e) => return e.to_string(),
    };
    for m in feed.messages(limits) {
        match m.and_then(|m| decode(&m)) {
            Ok(_) => {}
            Err(e) => return e.to_string(),
        }
    }
    String::from("no error")
}

#[test]
fn malformed_input_gives_clear_errors() {
    let good = feed_text();
    let first = hl7v2::split_messages(&good)[0].to_string();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("missing MSH", b"PID|1||X^^^F^PI\r".to_vec(), "message 1, segment 1): expected a message starting with an MSH segment, found a segment named \"PID\""),
        ("truncated MSH", b"MSH|^~\\&|A|B\r".to_vec(), "message 1, segment MSH #1, field MSH-9"),
        ("truncated segment", format!("{first}PI").into_bytes(), "segment #7): expected a 3-character segment name followed by '|', found a truncated segment of 2 bytes"),
        ("wrong field separator", first.replacen("\rPID|", "\rPID^", 1).into_bytes(), "found segment name \"PID\" followed by '^' (wrong field separator?)"),
        ("too few encoding characters", first.replacen("^~\\&", "^~", 1).into_bytes(), "field MSH-1/MSH-2): expected a field separator and 4 distinct encoding characters"),
        ("repeated delimiter", first.replacen("^~\\&", "^^\\&", 1).into_bytes(), "delimiter '^' used twice"),
        ("bad birth date", first.replacen("|19480229|", "|1948XX29|", 1).into_bytes(), "segment PID #3, field PID-7): expected a birth date YYYYMMDD, found a value of 8 characters"),
        ("bad number", hl7v2::split_messages(&good)[1].replacen("|NM|8867-4^Heart rate^LN|O1|92|", "|NM|8867-4^Heart rate^LN|O1|9x2|", 1).into_bytes(), "segment OBX #5, field OBX-5): expected a number, found \"9x2\""),
    ];
    for (what, bytes, expected) in cases {
        let err = first_error(&bytes, Limits::default());
        assert!(err.starts_with("bad.hl7 ("), "{what}: {err}");
        assert!(err.contains(expected), "{what}: {err}");
    }
    // Huge field against a configurable limit.
    let limits = Limits {
        max_field_bytes: 64,
        ..Limits::default()
    };
    let err = first_error(good.as_bytes(), limits);
    assert!(
        err.contains("expected a field of at most 64 bytes"),
        "{err}"
    );
    // Latin-1 bytes: decoded and reported, not rejected.
    let latin1 = first.replacen("O'Brien", "O'Bri\u{e9}n", 1);
    let bytes: Vec<u8> = latin1.chars().map(|c| c as u32 as u8).collect();
    let feed = Feed::from_bytes("l1.hl7", &bytes).unwrap();
    assert!(feed.warnings()[0].contains("not UTF-8"));
    let m = feed.messages(Limits::default()).next().unwrap().unwrap();
    assert_eq!(m.get("PID-5.1").as_deref(), Some("O'Bri\u{e9}n"));
}

#[test]
fn random_and_mutated_bytes_never_panic() {
    let seed_text = feed_text().into_bytes();
    let mut rng = carelab::rng::stream(1, "hl7v2-fuzz", 0);
    let alphabet = b"MSH|^~\\&\r\nPIDOBX0123456789\x0b\x1c\xe9 ";
    for i in 0..3000 {
        let bytes: Vec<u8> = if i % 3 == 0 {
            let n = rng.random_range(0..200);
            (0..n)
                .map(|_| alphabet[rng.random_range(0..alphabet.len())])
                .collect()
        } else {
            let mut b = seed_text.clone();
            for _ in 0..rng.random_range(1..8) {
                let at = rng.random_range(0..b.len());
                match rng.random_range(0..3) {
                    0 => b[at] = rng.random(),
                    1 => b.truncate(at.max(1)),
                    _ => b.insert(at, alphabet[rng.random_range(0..alphabet.len())]),
                }
            }
            b
        };
        let _ = first_error(&bytes, Limits::default());
    }
}
