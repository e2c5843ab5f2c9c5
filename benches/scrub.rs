//! Note scrubbing speed: MB of note text a second on one core, the
//! patients' own identifiers loaded as `carelab deid` loads them.
//!
//! Run: `cargo bench --bench scrub` (release). CARELAB_BENCH_PATIENTS
//! (3000) patients are generated to CSV first; their notes are scrubbed
//! one after another on one thread. Goal (issue 19): at least 10 MB/s.
//! The rules alone are measured first (`mb_per_s`), then the rules with the
//! learned detector beside them, as `deid` runs by default
//! (`mb_per_s_with_detector`), then the rules alone a second time
//! (`mb_per_s_warm`): the first pass is the first text their lazy DFAs
//! read, so it includes building the DFAs' states, which a long run
//! spreads over far more notes. Where the time goes is printed to stderr:
//! the patterns, the name rules and the detector each alone over the same
//! notes, warm.
//!
//! Compiling the rules (the patterns, the name dictionaries and context
//! rules) and loading the detector happen once a run, not once a note, so
//! they are timed apart (`setup_seconds`) and the throughput is that of
//! scrubbing; `mb_per_s_incl_setup` adds the setup to the rules' time.
//! (Until 2026-12-04 the name rules were compiled inside the rules' timed
//! loop, on the first note.)

use std::time::Instant;

use carelab::deid::dataset::known_ids;
use carelab::deid::roles::default_roles;
use carelab::deid::scrub::Scrubber;
use carelab::hashing::{fnv_step, FNV_OFFSET};
use carelab::synth::{generate, GenerateOptions, Scenario};
use carelab::ui::Ui;
use chrono::NaiveDate;

fn main() {
    let patients: u64 = std::env::var("CARELAB_BENCH_PATIENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000);
    let dir = tempfile::tempdir().expect("a temporary folder");
    let opts = GenerateOptions {
        scenario: Scenario::load("baseline").expect("a scenario"),
        scenario_text: String::new(),
        patients,
        seed: 7,
        out: dir.path().to_path_buf(),
        formats: vec!["csv".into()],
        shard: None,
    };
    generate(&opts, &Ui::new(false, true, 0, true)).expect("generation");

    // the patients' identifiers as `deid` reads them: column roles from the
    // header, the birth date in every style a note writes it
    let t = Instant::now();
    let mut scrubber = Scrubber::new();
    carelab::deid::names::Names::builtin();
    let detector = carelab::deid::detector::Detector::builtin().expect("the shipped detector");
    let setup = t.elapsed().as_secs_f64();
    let mut r = csv::Reader::from_path(dir.path().join("patients.csv")).expect("patients.csv");
    let header: Vec<String> = r
        .headers()
        .expect("a header")
        .iter()
        .map(String::from)
        .collect();
    let roles = default_roles(&header);
    let birth_ix = header.iter().position(|c| c == "birth_date");
    for row in r.records() {
        let row = row.expect("a patient row");
        let birth = birth_ix.and_then(|i| NaiveDate::parse_from_str(&row[i], "%Y-%m-%d").ok());
        let cells = roles.iter().copied().zip(row.iter());
        scrubber.add_patient(&row[0], known_ids(cells, birth));
    }
    let mut r = csv::Reader::from_path(dir.path().join("notes.csv")).expect("notes.csv");
    let notes: Vec<(String, String)> = r
        .records()
        .map(|row| {
            let row = row.expect("a note row");
            (row[1].to_string(), row[4].to_string())
        })
        .collect();
    let bytes: usize = notes.iter().map(|(_, t)| t.len()).sum();

    // a hash of every span found, so two builds can be shown to find the
    // same spans, not only as many
    let digest = |h: &mut u64, found: &[carelab::deid::patterns::Found]| {
        for f in found {
            let kind = carelab::deid::patterns::kind_name(f.kind).as_bytes();
            for part in [&f.start.to_le_bytes()[..], &f.end.to_le_bytes(), kind] {
                *h = part.iter().fold(*h, |h, &b| fnv_step(h, b));
            }
        }
    };
    // one timed pass over every note: seconds, spans and their hash
    let pass = |scrubber: &Scrubber| {
        let t = Instant::now();
        let (mut spans, mut hash) = (0, FNV_OFFSET);
        for (patient, text) in &notes {
            let found = scrubber.scrub(patient, text).1;
            spans += found.len();
            digest(&mut hash, &found);
        }
        (t.elapsed().as_secs_f64(), spans, hash)
    };
    let (secs, spans, hash) = pass(&scrubber);
    let scrubber = scrubber.with_detector(Some(detector));
    let (secs_with, spans_with, hash_with) = pass(&scrubber);
    // the rules alone again, now that their lazy DFAs have built the
    // states these notes need: the first pass pays for building them
    let scrubber = scrubber.with_detector(None);
    let (secs_warm, spans_warm, hash_warm) = pass(&scrubber);
    assert_eq!(
        (spans_warm, hash_warm),
        (spans, hash),
        "the rules alone find the same spans on a second pass"
    );
    // where the time goes: each detector alone over the same notes
    let part = |f: &dyn Fn(&str, &mut Vec<carelab::deid::patterns::Found>)| {
        let t = Instant::now();
        let mut found = Vec::new();
        for (_, text) in &notes {
            found.clear();
            f(text, &mut found);
        }
        t.elapsed().as_secs_f64()
    };
    let patterns = carelab::deid::patterns::Patterns::new();
    let names = carelab::deid::names::Names::builtin();
    let detector = carelab::deid::detector::Detector::builtin().expect("the shipped detector");
    let (p, n) = (
        part(&|t, f| patterns.find(t, f)),
        part(&|t, f| names.find(t, f)),
    );
    eprintln!(
        "patterns {p:.3} s, names {n:.3} s, the rest (known identifiers, merge, tags) {:.3} s; \
         the detector {:.3} s",
        secs - p - n,
        part(&|t, f| detector.find(t, f)),
    );
    println!(
        "{{\"notes\":{},\"mb\":{:.2},\"spans\":{spans},\"spans_hash\":\"{hash:016x}\",\"seconds\":{secs:.3},\"mb_per_s\":{:.2},\"seconds_warm\":{secs_warm:.3},\"mb_per_s_warm\":{:.2},\"spans_with_detector\":{spans_with},\"spans_with_detector_hash\":\"{hash_with:016x}\",\"seconds_with_detector\":{secs_with:.3},\"mb_per_s_with_detector\":{:.2},\"setup_seconds\":{setup:.3},\"mb_per_s_incl_setup\":{:.2}}}",
        notes.len(),
        bytes as f64 / 1e6,
        bytes as f64 / 1e6 / secs,
        bytes as f64 / 1e6 / secs_warm,
        bytes as f64 / 1e6 / secs_with,
        bytes as f64 / 1e6 / (secs + setup)
    );
}
