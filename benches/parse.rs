//! Parse speed of the HL7 v2 and FHIR NDJSON readers on one generated feed.
//!
//! `cargo bench --bench parse -- DIR [PATIENTS]` writes `DIR/feed.hl7` and
//! `DIR/observations.ndjson` (made by the writers from seeded synthetic
//! patients), times the readers on them doing the same work as the Python
//! peers (parse every message and read each OBX-5; read every Observation's
//! code, value, unit and time) and prints one `key=value` line per reader,
//! plus one for decoding every message all the way to records.
//! `scripts/bench-parse.sh` runs the peers on the same files and prints the
//! comparison table.

use std::time::Instant;

use carelab::clinical::codes::LOINC;
use carelab::clinical::{Encounter, Measure, Observation, Patient, PatientBundle};
use carelab::formats::{fhir, hl7v2};
use chrono::{Duration, NaiveDate};
use rand::Rng;

/// One synthetic patient: two stays, vitals and labs every few hours.
fn patient(i: u64) -> PatientBundle {
    let mut rng = carelab::rng::stream(2024, "bench-parse", i);
    let pid = format!("P{i:07}");
    let birth =
        NaiveDate::from_ymd_opt(1930, 1, 1).unwrap() + Duration::days(rng.random_range(0..25000));
    let mut b = PatientBundle {
        patient: Some(Patient {
            patient_id: pid.clone(),
            mrn: format!("M{:08}", i * 7919 % 100_000_000),
            given_name: "Ann".into(),
            family_name: if i.is_multiple_of(5) {
                "O'Brien".into()
            } else {
                "Smith".into()
            },
            sex: if i.is_multiple_of(2) {
                "F".into()
            } else {
                "M".into()
            },
            birth_date: birth,
            race: "White".into(),
            ethnicity: "Not Hispanic or Latino".into(),
            payer: "Medicare".into(),
            address_line: format!("{} Oak & Elm St", i % 900 + 1),
            city: "Springfield".into(),
            state: "IL".into(),
            zip: "62704".into(),
            phone: "555-010-0000".into(),
            email: "a@example.org".into(),
            ssn: "000-00-0000".into(),
            death_date: None,
        }),
        ..PatientBundle::default()
    };
    let mut start = NaiveDate::from_ymd_opt(2023, 1, 1)
        .unwrap()
        .and_hms_opt(8, 0, 0)
        .unwrap()
        + Duration::hours(rng.random_range(0..2000));
    for s in 0..2 {
        let eid = format!("E{i:07}{s}");
        let days = rng.random_range(2..6);
        b.encounters.push(Encounter {
            encounter_id: eid.clone(),
            patient_id: pid.clone(),
            class: "IMP".into(),
            admit_time: start,
            discharge_time: Some(start + Duration::days(days)),
            disposition: "home".into(),
            reason_code: "I50.9".into(),
        });
        for k in 0..days * 2 {
            let time = start + Duration::hours(k * 12 + 1);
            for m in Measure::ALL.iter().filter(|m| m.is_vital() || k % 4 == 0) {
                let (lo, hi) = m.plausible();
                b.observations.push(Observation {
                    observation_id: format!("O{}", b.observations.len()),
                    patient_id: pid.clone(),
                    encounter_id: eid.clone(),
                    time,
                    code: m.loinc().into(),
                    system: LOINC.into(),
                    display: m.display().into(),
                    value: (lo + (hi - lo) * rng.random::<f64>() * 0.3 * 100.0).round() / 100.0,
                    unit: m.unit().into(),
                });
            }
        }
        start += Duration::days(days + rng.random_range(20..120));
    }
    b
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let dir = std::path::PathBuf::from(args.first().map_or("target/bench-parse", String::as_str));
    let patients: u64 = args.get(1).and_then(|n| n.parse().ok()).unwrap_or(2000);
    std::fs::create_dir_all(&dir).unwrap();
    let mut hl7 = String::new();
    let mut ndjson = String::new();
    for i in 0..patients {
        let b = patient(i);
        for m in hl7v2::messages(&b, "BENCH HOSP") {
            hl7.push_str(&m);
        }
        for (kind, r) in fhir::resources(&b) {
            if kind == "Observation" {
                ndjson.push_str(&serde_json::to_string(&r).unwrap());
                ndjson.push('\n');
            }
        }
    }
    std::fs::write(dir.join("feed.hl7"), &hl7).unwrap();
    std::fs::write(dir.join("observations.ndjson"), &ndjson).unwrap();

    // HL7 v2: the best of 5 runs, as for a warm Python loop.
    let feed = hl7v2::Feed::from_bytes("feed.hl7", hl7.as_bytes()).unwrap();
    let mut best = f64::MAX;
    let (mut messages, mut obx) = (0usize, 0usize);
    for _ in 0..5 {
        let start = Instant::now();
        messages = 0;
        obx = 0;
        for m in feed.messages(hl7v2::Limits::default()) {
            let m = m.unwrap();
            messages += 1;
            for seg in m.segments_named("OBX") {
                obx += 1;
                std::hint::black_box(seg.text(5));
            }
        }
        best = best.min(start.elapsed().as_secs_f64());
    }
    println!(
        "carelab-hl7v2 msgs_per_s={:.0} mb_per_s={:.2} messages={messages} obx={obx}",
        messages as f64 / best,
        hl7.len() as f64 / best / 1e6
    );

    // HL7 v2 decoded all the way to records (patients, stays, results,
    // notes): more work than the peer does, reported beside it.
    let mut best = f64::MAX;
    let mut records = 0usize;
    for _ in 0..5 {
        let start = Instant::now();
        records = 0;
        for m in feed.messages(hl7v2::Limits::default()) {
            let d = hl7v2::decode(&m.unwrap()).unwrap();
            records += usize::from(d.patient.is_some())
                + usize::from(d.encounter.is_some())
                + d.obx.len()
                + d.notes.len();
        }
        best = best.min(start.elapsed().as_secs_f64());
    }
    println!(
        "carelab-hl7v2-decode msgs_per_s={:.0} mb_per_s={:.2} messages={messages} records={records}",
        messages as f64 / best,
        hl7.len() as f64 / best / 1e6
    );

    let mut best = f64::MAX;
    let mut n = 0;
    for _ in 0..5 {
        let start = Instant::now();
        let read = fhir::read_ndjson("observations.ndjson", &ndjson);
        n = read.records.observations.len();
        assert!(read.rejected.is_empty());
        best = best.min(start.elapsed().as_secs_f64());
    }
    println!(
        "carelab-fhir resources_per_s={:.0} mb_per_s={:.2} resources={n}",
        n as f64 / best,
        ndjson.len() as f64 / best / 1e6
    );
}
