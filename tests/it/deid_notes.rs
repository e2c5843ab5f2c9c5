//! CareLab's note scrubber on the held-out corpus of hand-written notes in
//! `tests/data/deid-notes/` (see its README): recall and precision per PHI
//! kind, scored by `carelab::deid::scrub::score` (a PHI string is removed
//! only when every non-space byte of it lies inside some detection).
//!
//! The corpus is held out: never read it to build or tune rules. The floors
//! below are today's figures rounded down, so a regression fails; they rise
//! as the rules improve.
//!
//! `CARELAB_DEID_NOTES_JSON=FILE` also writes the notes, their truth spans,
//! CareLab's detections and its scores to FILE, for
//! `scripts/deid-presidio.sh`, which scores Presidio on the same notes.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use carelab::clinical::PhiKind;
use carelab::deid::corpus::{self, AnnotatedNote};
use carelab::deid::detector::Detector;
use carelab::deid::patterns::{kind_name, merge, Found};
use carelab::deid::scrub::{score, KindScore, Scrubber};

/// The goals of issue 19, for the table; the asserted floors are `FLOORS`.
const GOAL_RECALL_NAME_DATE: f64 = 0.97;
const GOAL_RECALL_OTHER: f64 = 0.99;
const GOAL_PRECISION: f64 = 0.85;

/// Recall floor per kind: the figures measured on 2026-12-06 with the
/// context, dictionary and date-shape rules and the rules written on the
/// seven development sets (`tests/data/deid-dev/` to `deid-dev7/`) rounded
/// DOWN to 0.01 (before the context rules: name 0.22, date 0.55, address
/// 0.21, age 0.29; before the first development set: date 0.80, mrn 0.81,
/// phone 0.90, address 0.37, age 0.54; before the second: name 0.84,
/// address 0.40, city 0.66, age 0.62; before the third: name 0.86, date
/// 0.87, mrn 0.87, age 0.70; before the fourth: mrn 0.93; before the
/// fifth: name 0.88, address 0.64; before the seventh round: date 0.935,
/// address 0.657; before the twelfth set's rules: name 0.906, date 0.944,
/// address 0.686, city 0.857, age 0.750; before the thirteenth set's:
/// name 0.914, address 0.714, city 0.881, age 0.792; before the
/// seventeenth round: date 0.963; before the eighteenth: name 0.930,
/// address 0.757; before the nineteenth's towns no gazetteer has: city
/// 0.929), so the test fails on a regression.
/// The goals are recall 0.97 for names and dates and 0.99 for
/// every other kind, and precision 0.85; the floors rise as the rules
/// improve (never lowered to pass).
const RECALL_FLOORS: [(&str, f64); 12] = [
    ("name", 0.95),
    ("date", 0.97),
    ("mrn", 1.00),
    ("phone", 1.00),
    ("email", 1.00),
    ("ssn", 0.85),
    ("address", 0.84),
    ("city", 0.95),
    ("zip", 0.90),
    ("url", 1.00),
    ("ip", 1.00),
    ("age", 0.83),
];
/// Recall floor per kind with the learned detector beside the rules (what
/// `deid` runs by default), measured on 2026-12-06 the same way and
/// rounded down (before the second development set: name 0.91, address
/// 0.61, city 0.76, age 0.62; before the third: name 0.92, date 0.87, mrn
/// 0.87, age 0.70; before the fourth: mrn 0.93; before the fifth: name
/// 0.938, address 0.771; before the seventh: date 0.935; before the
/// twelfth set's rules: name 0.945, date 0.944, address 0.786, age 0.750;
/// before the thirteenth set's: name 0.949, address 0.814, city 0.929,
/// age 0.792; before organisations in capitals that end in their head
/// and neighbours' houses: name 0.953; before a note's twelfths read
/// against its own dates: date 0.954; before the sixteenth round's
/// particles and titles: name 0.957; before the seventeenth round's
/// dates: date 0.963, the goal of 0.97 met since; before the
/// eighteenth round's organisations, places after "at" and writers of
/// messages: name 0.961, address 0.843, the goal of 0.97 for names met
/// since; before the nineteenth round's towns no gazetteer has: city
/// 0.952).
const BOTH_RECALL_FLOORS: [(&str, f64); 12] = [
    ("name", 0.97),
    ("date", 0.97),
    ("mrn", 1.00),
    ("phone", 1.00),
    ("email", 1.00),
    ("ssn", 0.85),
    ("address", 0.88),
    ("city", 0.97),
    ("zip", 1.00),
    ("url", 1.00),
    ("ip", 1.00),
    ("age", 0.83),
];
/// Precision of the rules with the learned detector: 0.865 measured on
/// 2026-12-04, 0.867 after titles were kept out of the detector's spans
/// (the same day), 0.865 after the second development set's rules
/// (2026-12-05), 0.864 after the third's, 0.868 after the fourth's,
/// 0.872 after the fifth's, 0.888 after the seventh round (2026-12-06) and
/// after the thirteenth set's (2026-12-07); the
/// floor is the goal,
/// as for the rules alone.
const BOTH_PRECISION_FLOOR: f64 = GOAL_PRECISION;
/// Precision of the rules over all detections: 0.974 measured on 2026-12-04
/// (0.968 on 2026-12-05, 0.969 on 2026-12-06, 0.965 after its seventh round), but
/// precision falls as rules that find more names are added, so the floor
/// is the goal rather than today's figure.
const PRECISION_FLOOR: f64 = GOAL_PRECISION;

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/deid-notes")
}

/// A development set (`deid-dev`, `deid-dev2`): notes written to check
/// rules on while writing them, so the held-out corpus stays unread (see
/// its README).
fn dev_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn load_corpus() -> Vec<AnnotatedNote> {
    load_notes(&corpus_dir())
}

/// A folder's notes, read by the library's reader (`deid train-detector
/// --notes` reads development sets with it too).
fn load_notes(dir: &Path) -> Vec<AnnotatedNote> {
    corpus::load_notes(dir).unwrap_or_else(|e| panic!("{e}"))
}

fn scrubber_for(notes: &[AnnotatedNote], detector: Option<&Detector>) -> Scrubber {
    corpus::scrubber_for(notes, detector.map(|d| std::sync::Arc::new(d.clone())))
}

fn spans_json(spans: impl Iterator<Item = (PhiKind, usize, usize)>) -> serde_json::Value {
    spans
        .map(|(k, s, e)| serde_json::json!({"kind": kind_name(k), "start": s, "end": e}))
        .collect()
}

fn print_table(what: &str, scores: &BTreeMap<String, KindScore>) {
    print_table_of(
        what,
        &format!("{} (held out)", corpus_dir().display()),
        scores,
    );
}

fn print_table_of(what: &str, on: &str, scores: &BTreeMap<String, KindScore>) {
    println!(
        "\nCareLab, {what}, on {on}\n{:<8} {:>6} {:>6} {:>7} {:>9} {:>6} {:>9}  goal",
        "kind", "spans", "caught", "recall", "detected", "true+", "precision"
    );
    for (kind, s) in scores {
        let goal = if kind == "name" || kind == "date" {
            GOAL_RECALL_NAME_DATE
        } else {
            GOAL_RECALL_OTHER
        };
        println!(
            "{kind:<8} {:>6} {:>6} {:>7.3} {:>9} {:>6} {:>9.3}  recall {goal}",
            s.truth_spans, s.caught, s.recall, s.detected, s.true_positive, s.precision
        );
    }
    let all = KindScore::total(scores.values());
    println!(
        "all detections: {}, true positive {}, precision {:.3} (goal {GOAL_PRECISION})\n",
        all.detected, all.true_positive, all.precision
    );
}

#[test]
fn corpus_recall_and_precision_per_kind() {
    let notes = load_corpus();
    assert!(
        notes.len() >= 60,
        "the corpus has {} notes, expected at least 60",
        notes.len()
    );
    for k in PhiKind::ALL {
        assert!(
            notes.iter().flat_map(|n| &n.spans).any(|s| s.kind == k),
            "the corpus plants no {} span",
            kind_name(k)
        );
    }
    // the rules alone, the learned detector alone, and both (what `deid`
    // runs by default: a span either finds is removed)
    let detector = Detector::builtin().expect("the shipped detector loads");
    let rules = scrubber_for(&notes, None);
    let both = scrubber_for(&notes, Some(&detector));
    let mut texts = HashMap::new();
    let mut truth = Vec::new();
    let mut found: [HashMap<String, Vec<Found>>; 3] = Default::default();
    for n in &notes {
        let patient = n.field("patient_id");
        found[0].insert(n.id.clone(), rules.find(patient, &n.text));
        let mut model = Vec::new();
        detector.find(&n.text, &mut model);
        found[1].insert(n.id.clone(), merge(model));
        found[2].insert(n.id.clone(), both.find(patient, &n.text));
        texts.insert(n.id.clone(), n.text.clone());
        truth.extend(n.spans.iter().cloned());
    }
    let [rules_found, model_found, detections] = found;
    let rules_scores = score(&texts, &rules_found, &truth);
    let model_scores = score(&texts, &model_found, &truth);
    let scores = score(&texts, &detections, &truth);
    print_table("the rules alone", &rules_scores);
    print_table("the learned detector alone", &model_scores);
    print_table("rules and detector (deid's default)", &scores);

    if let Some(path) = std::env::var_os("CARELAB_DEID_NOTES_JSON") {
        let spans_of = |f: &HashMap<String, Vec<Found>>, id: &str| {
            spans_json(f[id].iter().map(|f| (f.kind, f.start, f.end)))
        };
        let notes_json: Vec<serde_json::Value> = notes
            .iter()
            .map(|n| {
                serde_json::json!({
                    "id": n.id,
                    "text": n.text,
                    "truth": spans_json(n.spans.iter().map(|s| (s.kind, s.start, s.end))),
                    "carelab": spans_of(&detections, &n.id),
                    "carelab_rules": spans_of(&rules_found, &n.id),
                    "carelab_model": spans_of(&model_found, &n.id),
                })
            })
            .collect();
        let out = serde_json::json!({"notes": notes_json, "carelab_scores": scores});
        std::fs::write(&path, serde_json::to_vec_pretty(&out).expect("json"))
            .unwrap_or_else(|e| panic!("write {}: {e}", Path::new(&path).display()));
    }

    let mut below = Vec::new();
    for (what, floors, scores) in [
        ("rules", RECALL_FLOORS, &rules_scores),
        ("rules and detector", BOTH_RECALL_FLOORS, &scores),
    ] {
        for (kind, floor) in floors {
            let recall = scores.get(kind).map_or(0.0, |s| s.recall);
            if recall < floor {
                below.push(format!("{what}: {kind} recall {recall:.3} < floor {floor}"));
            }
        }
    }
    for (what, floor, scores) in [
        ("rules", PRECISION_FLOOR, &rules_scores),
        ("rules and detector", BOTH_PRECISION_FLOOR, &scores),
    ] {
        let precision = KindScore::total(scores.values()).precision;
        if precision < floor {
            below.push(format!("{what}: precision {precision:.3} < floor {floor}"));
        }
    }
    assert!(below.is_empty(), "below the floors: {}", below.join("; "));
}

#[test]
fn every_corpus_note_loads_without_markup_left() {
    for n in load_corpus() {
        assert!(
            !n.text.contains("{{") && !n.text.contains("}}"),
            "{}: annotation markup left in the text",
            n.id
        );
        for s in &n.spans {
            let span = &n.text[s.start..s.end];
            assert_eq!(span.trim(), span, "{}: span {span:?} has edge spaces", n.id);
        }
    }
}

/// The development sets (`tests/data/deid-dev/` to `deid-dev13/`): the
/// notes rules are checked on while they are written. `CARELAB_DEID_DEV_MISSES=1` also
/// prints every PHI string left and every detection that is no PHI.
///
/// `deid train-detector --notes` can train the detector on these sets, but
/// the shipped model is trained on the generator's notes alone (a model
/// trained on the four sets too lost precision on the held-out corpus,
/// 2026-12-05, and one trained on all eight lost recall there,
/// 2026-12-06; see the privacy chapter), so the floors below measure the
/// rules and a model that never saw these notes. A model trained on a set
/// scores about 1.00 there (it has seen the answers), so were one shipped,
/// only the rules-alone figures on these sets would still mean anything.
mod dev {
    use super::*;

    /// Recall floor per kind with rules and detector, and precision, on
    /// the first development set: measured on 2026-12-04 and rounded down
    /// (after the second round's rules: before them name 0.78, date 0.97,
    /// city 0.79, age 0.90).
    const DEV_RECALL_FLOORS: [(&str, f64); 10] = [
        ("name", 0.92),
        ("date", 1.00),
        ("mrn", 1.00),
        ("phone", 1.00),
        ("email", 1.00),
        ("ssn", 1.00),
        ("address", 1.00),
        ("city", 0.89),
        ("zip", 1.00),
        ("age", 1.00),
    ];
    /// The same on the second development set, written after the first
    /// set's rules (2026-12-04), after the rules written on it, rounded
    /// down; before them (precision 0.938): name 0.67, date 0.68, MRN
    /// 0.80, phone 0.94, SSN 0.75, address 0.84, city 0.69, age 0.65.
    const DEV2_RECALL_FLOORS: [(&str, f64); 10] = [
        ("name", 0.97),
        ("date", 0.96),
        ("mrn", 1.00),
        ("phone", 1.00),
        ("email", 1.00),
        ("ssn", 1.00),
        ("address", 1.00),
        ("city", 0.94),
        ("zip", 1.00),
        ("age", 1.00),
    ];
    /// The same on the third development set, written before the third
    /// round of rules (2026-12-05) in styles and by writers the first two
    /// sets lack (OCR'd letters, smart-phrase tables, dictation, portal and
    /// text messages, lab, pathology, insurance, consent, transfer forms,
    /// NZ, Nigerian, Philippine, Singapore and German-English writing),
    /// after the rules written on it, rounded down (precision 0.906);
    /// before them (precision 0.891): name 0.80, date 0.74, MRN 0.74,
    /// SSN 0.77, address 0.76, city 0.96, age 0.78.
    const DEV3_RECALL_FLOORS: [(&str, f64); 10] = [
        ("name", 0.95),
        ("date", 0.98),
        ("mrn", 1.00),
        ("phone", 1.00),
        ("email", 1.00),
        ("ssn", 1.00),
        ("address", 0.97),
        ("city", 1.00),
        ("zip", 1.00),
        ("age", 1.00),
    ];
    /// The same on the fourth development set, written before the fifth
    /// round of rules (2026-12-05) by writers the first three sets lack
    /// (chaplain, dietitian, school nurse, occupational health, court,
    /// transplant, dialysis, veterans', refugee, genetics, dental,
    /// interpreter, Scottish, Welsh, Canadian, Kenyan, Ghanaian, MDS,
    /// e-mail), with addresses, ages, towns, SSNs and numbers in prose,
    /// after the rules written on it, rounded down (precision 0.938);
    /// before them (precision 0.933): name 0.92, date 0.90, MRN 0.62, SSN
    /// 0.87, address 0.70, city 0.85, age 0.83.
    const DEV4_RECALL_FLOORS: [(&str, f64); 10] = [
        ("name", 0.95),
        ("date", 1.00),
        ("mrn", 0.96),
        ("phone", 1.00),
        ("email", 1.00),
        ("ssn", 1.00),
        ("address", 0.88),
        ("city", 0.91),
        ("zip", 1.00),
        ("age", 1.00),
    ];
    /// The same on the fifth development set, written on 2026-12-06 by a
    /// writer who had read neither the rules nor the held-out notes
    /// (Italian, German, Dutch, Swedish, Portuguese, Spanish, Austrian,
    /// Australian, New Zealand, Indian, Nigerian, Pakistani and Barbadian
    /// notes in English, an ambulance report, a pharmacy phone log, a home
    /// aide's lower-case log, a protective-services referral, billing and
    /// prior-authorisation letters, a bereavement note, a portal message
    /// from a relative, a taxi booking), after the sixth round of rules,
    /// rounded down (precision 0.868). Before that round (precision 0.856):
    /// name 0.76, date 0.85, MRN 0.61, phone 0.91, SSN 0.94, address 0.68,
    /// city 0.79, ZIP 0.96, age 0.57; after its general part alone (the
    /// world's name lists, villages, European streets and ages, the
    /// patient's street by its name), before the rules written on this
    /// set (precision 0.860): name 0.80, address 0.73, city 0.84, age 0.65.
    const DEV5_RECALL_FLOORS: [(&str, f64); 10] = [
        ("name", 0.89),
        ("date", 0.97),
        ("mrn", 0.97),
        ("phone", 1.00),
        ("email", 1.00),
        ("ssn", 0.93),
        ("address", 0.91),
        ("city", 0.89),
        ("zip", 1.00),
        ("age", 0.95),
    ];
    /// The same on the sixth development set, written on 2026-12-06 by a
    /// writer who had read neither the rules nor the held-out notes: US
    /// notes in 26 genres and voices (SBAR, ICU, telemetry, SOAP,
    /// discharge, ED, social work, transitions of care, home health,
    /// hospice, clinic telephone, registration, remote monitoring,
    /// cardiology letter, wound care, therapy, dietitian, family meeting,
    /// chaplain, pharmacist, navigator, community paramedic, SNF, rural
    /// clinic), heavy on street shapes, ages, names that are words and
    /// local organisations; after the seventh round of rules, rounded down
    /// (precision 0.873). Before that round (precision 0.853): name 0.85,
    /// MRN 0.94, address 0.69, city 0.88, age 0.89.
    const DEV6_RECALL_FLOORS: [(&str, f64); 10] = [
        ("name", 0.90),
        ("date", 0.99),
        ("mrn", 0.98),
        ("phone", 1.00),
        ("email", 1.00),
        ("ssn", 1.00),
        ("address", 0.92),
        ("city", 0.92),
        ("zip", 1.00),
        ("age", 1.00),
    ];
    /// The same on the seventh development set, written on 2026-12-06 by
    /// another such writer: notes in English from the UK, Ireland,
    /// Scotland, Northern Ireland, Wales, the Netherlands, Germany,
    /// France, Belgium, Norway, Denmark, Finland and Switzerland (GP
    /// letters, discharge letters, district nursing, care homes, A&E,
    /// SBAR, clinics, safeguarding, out of hours, mental health, memory
    /// and falls clinics, stroke ward, ambulance handover, pharmacy,
    /// therapy, hospice, audiology, a message slip), after the seventh
    /// round, rounded down (precision 0.859). Before it (precision 0.833):
    /// name 0.85, date 0.88, MRN 0.71, address 0.73, city 0.89, ZIP 0.93,
    /// age 0.85.
    const DEV7_RECALL_FLOORS: [(&str, f64); 10] = [
        ("name", 0.89),
        ("date", 0.99),
        ("mrn", 0.93),
        ("phone", 1.00),
        ("email", 1.00),
        ("ssn", 1.00),
        ("address", 0.90),
        ("city", 0.92),
        ("zip", 1.00),
        ("age", 0.92),
    ];
    /// The same on the eighth development set, written on 2026-12-06 by
    /// another such writer: Canada (English and French), Australia, New
    /// Zealand, South Africa, Singapore, Hong Kong, India, Kenya, Jamaica
    /// and the US (Alaska, Hawaii, Puerto Rico, the VA, the Texas border,
    /// Appalachia, New York), in genres the other sets lack (radiology,
    /// pathology, critical-value calls, antenatal, NICU, well-child,
    /// school nurse, involuntary admission, oral surgery, optometry,
    /// audiology, dialysis, infusion, prior authorisation, incident report,
    /// capacity letter, death notification, workers' compensation,
    /// telehealth, interpreter, portal thread, oxygen order, transport).
    /// Scored before any rule was written on it: all 0.864 (precision
    /// 0.838), name 0.792, address 0.721, ZIP 0.885; then Canada's and
    /// Australia's postcodes, offices' and shops' units before a street
    /// forms' labels for their person ("Worker:", "Veteran:"), "Sr"
    /// (Sister, señor) as a title and a grandparent in the family's words
    /// ("kokum", "tūtū") (name 0.810, address 0.767, ZIP 1.00, age 0.833);
    /// then the ninth set's rules (name 0.825, date 0.974); then the
    /// twelfth set's rules (age 0.958, name 0.848), rounded down. Its precision is
    /// below the goal (0.839): its floor is its own
    /// (`DEV8_PRECISION_FLOOR`).
    const DEV8_RECALL_FLOORS: [(&str, f64); 10] = [
        ("name", 0.82),
        ("date", 0.97),
        ("mrn", 0.93),
        ("phone", 0.98),
        ("email", 1.00),
        ("ssn", 1.00),
        ("address", 0.76),
        ("city", 0.93),
        ("zip", 1.00),
        ("age", 0.95),
    ];
    /// The same on the ninth set (24 notes, 1,158 PHI strings, written on
    /// 2026-12-06 after the eighth set's rules: the UK, Ireland, Nigeria,
    /// Ghana, the Philippines, Pakistan, Trinidad, Tonga, the UAE, Austria
    /// and the US; GP letters, district-nurse logs, a TB DOTS card, an
    /// outreach table, dictation in capitals, an EMS run sheet, a hospice
    /// text thread, an IHS clinic note). Scored before any rule was
    /// written on it: all 0.877 (precision 0.840), name 0.808, date 0.932;
    /// then a name the rules found once is found wherever the note
    /// writes it again, a letterhead in capitals that ends in its
    /// institution, and dates as "NOVEMBER 8TH", "since Oct.", "30.11.",
    /// "2019-03", "Eid ul Fitr", and a phone's extension whatever its
    /// country (all 0.900, name 0.844, date 0.964, phone 1.00), rounded
    /// down. Its precision (0.840) is below the goal, as the
    /// eighth set's.
    const DEV9_RECALL_FLOORS: [(&str, f64); 11] = [
        ("name", 0.84),
        ("date", 0.97),
        ("mrn", 0.99),
        ("ip", 1.00),
        ("phone", 1.00),
        ("email", 1.00),
        ("ssn", 1.00),
        ("address", 0.80),
        ("city", 0.87),
        ("zip", 1.00),
        ("age", 0.91),
    ];
    const DEV9_PRECISION_FLOOR: f64 = 0.83;
    /// The same on the tenth set (24 notes, 1,640 PHI strings, written on
    /// 2026-12-06 with street addresses, ages over 89, SSNs and towns in
    /// every form: sixteen US notes, from Appalachian home health and a
    /// border clinic to an SSA disability report, an APS investigation,
    /// a court-ordered evaluation and a guardianship petition, and notes
    /// from Jamaica, Malta, Durban, Hong Kong, Newfoundland, Belfast, Cork
    /// and Manchester). Scored before any rule was written on it: all
    /// 0.852 (precision 0.882), address 0.740, age 0.795, city 0.845,
    /// MRN 0.886, SSN 0.865; then numbered roads, homes by their lot,
    /// space or house number, buildings and complexes, counties, a town
    /// beside its state's code, a CURP, a voter card, a National Insurance
    /// number by its shape, an account's last four, a season of a year,
    /// and an age after a relative or "turn" (all 0.871, address 0.818,
    /// age 0.841, city 0.867, MRN 0.933, SSN 0.919); then names with a
    /// nickname in quotes, an initial and a double surname, a listed
    /// surname before a Cantonese given name, clubs and police as
    /// organisations, and an organisation on a line that wraps a sentence
    /// (all 0.883, name 0.822, age 0.852); then two streets with their
    /// types either side of "&" or "/", Maltese streets and Irish counties
    /// (all 0.887, address 0.851, city 0.873); then a street without its
    /// number after "the" ("past the Mines Rd light"), a corner with a
    /// compass point, a neighbour's number after a comma (all 0.890,
    /// address 0.878); then the eleventh set's rules: a found name by
    /// its initials ("- BW", "at CUH"), an organisation's town, ages at
    /// death (all 0.896, name 0.832, address 0.884, city 0.884, age
    /// 0.864); then the twelfth set's rules (age 0.886, address 0.8895),
    /// rounded down.
    const DEV10_RECALL_FLOORS: [(&str, f64); 12] = [
        ("name", 0.83),
        ("date", 0.97),
        ("mrn", 0.93),
        ("ip", 1.00),
        ("url", 1.00),
        ("phone", 0.99),
        ("email", 1.00),
        ("ssn", 0.91),
        ("address", 0.88),
        ("city", 0.88),
        ("zip", 0.96),
        ("age", 0.88),
    ];
    const DEV10_PRECISION_FLOOR: f64 = 0.88;
    /// The same on the eleventh set (24 notes, 1,793 PHI strings, written
    /// on 2026-12-06 by a writer who read no rule: an obstetric triage, a
    /// NICU discharge, a psychiatric emergency evaluation, a radiology
    /// report, an operative note, a medical examiner's report, a jail
    /// intake, a shelter nurse's log, an occupational injury report, an
    /// insurance appeal, a lawyer's records request, a transplant
    /// coordinator's note, a care conference, a genetic pedigree, an
    /// ambulance run sheet, a Guam telehealth transcript, and notes from
    /// Dunedin, Adelaide, Aberdeen, Bengaluru, Wrexham, Kisumu and
    /// Penang). Scored before any rule was written on it: all 0.872
    /// (1,564 of 1,793), precision 0.886, name 0.829, age 0.823, city
    /// 0.819, SSN 0.846; then a found name by its initials; then an
    /// organisation's town after a comma, an
    /// age at death a few words after "died" or as a pedigree's "d. 94",
    /// an age in words with its figures in brackets, an age after an age
    /// ("95 (96 in June)"), a masked Aadhaar, an NI number after its name
    /// and the last four after an aside (all 0.888, age 0.917, city
    /// 0.856, SSN 0.949); then initials of a name found in pieces ("Maeve"
    /// "J. Donnelly" … "- MJD."; name 0.854, all 0.893); then the twelfth
    /// set's rules (age 0.948, date 0.978, ZIP 0.966, name 0.859), rounded
    /// down.
    const DEV11_RECALL_FLOORS: [(&str, f64); 12] = [
        ("name", 0.85),
        ("date", 0.97),
        ("mrn", 0.89),
        ("ip", 1.00),
        ("url", 1.00),
        ("phone", 0.99),
        ("email", 1.00),
        ("ssn", 0.94),
        ("address", 0.82),
        ("city", 0.85),
        ("zip", 0.96),
        ("age", 0.94),
    ];
    const DEV11_PRECISION_FLOOR: f64 = 0.88;
    /// The same on the twelfth set (24 notes, 1,760 PHI strings, written on
    /// 2026-12-06 by a writer who read no rule: the common genres, nursing
    /// shift notes, SOAP progress notes, discharge summaries, social work,
    /// case management, telephone triage, ED notes, consult and clinic
    /// letters, an H&P and a care-home transfer, fourteen from the United
    /// States and ten from Sheffield, Limerick, Groningen, Leipzig, Aarhus,
    /// Göteborg, Marseille, Valencia, Kraków and Torino). Scored before any
    /// rule was written on it: all 0.859 (1,511 of 1,760), precision 0.897,
    /// address 0.746, age 0.791, city 0.842, date 0.906, name 0.860, ZIP
    /// 0.769; then ages in words in ten languages, holidays with their
    /// year, other shapes and languages of days and months, postcodes
    /// before and after towns and streets, European organisations'
    /// heads, streets and floors (all 0.914, precision 0.898); then the
    /// thirteenth set's round (all 0.927: name 0.918, address 0.8497, city
    /// 0.88995), rounded down.
    const DEV12_RECALL_FLOORS: [(&str, f64); 12] = [
        ("name", 0.91),
        ("date", 0.97),
        ("mrn", 0.95),
        ("ip", 1.00),
        ("url", 1.00),
        ("phone", 0.95),
        ("email", 1.00),
        ("ssn", 1.00),
        ("address", 0.84),
        ("city", 0.88),
        ("zip", 0.98),
        ("age", 0.95),
    ];
    const DEV12_PRECISION_FLOOR: f64 = 0.89;
    /// The same on the thirteenth set (24 notes, 1,758 PHI strings, written
    /// on 2026-12-07 by a writer who read no rule: the ordinary genres of
    /// US hospitals and clinics, SBAR handoffs, SOAP notes, an H&P, ED,
    /// social work, case management, telephone and portal, home health,
    /// hospice, PT, pharmacy, operative, psychiatry, well-child, OB
    /// triage, dialysis, SNF, EMS, prior authorisation, from twenty US
    /// towns, and a wound note, a GP letter, a chaplain's note and a
    /// clinic letter from Saskatoon, Carlisle, Townsville and
    /// Invercargill). Scored before any rule was written on it, with the
    /// rules the twelfth set left: all 0.902 (1,585 of 1,758), precision
    /// 0.906, address 0.830, age 0.895, city 0.883, date 0.974, mrn 0.879,
    /// name 0.866, SSN 0.900; the names rules written from the earlier
    /// sets' misses alone (typists' initials, initials and a surname,
    /// organisations named for a place) took name to 0.881 on it before
    /// it was read. Then its own round: towns after "near" and where a life
    /// was lived, quarters after an address, streets written again,
    /// acronyms of places of care, ages before a bracket and after a line
    /// break, spoken SSNs, plan and member numbers (all 0.940, precision
    /// 0.906); then towns of the list alone in brackets, streets without a
    /// number in brackets and "off of" one, mile markers, a month before
    /// another and their year (all 0.947, precision 0.907), rounded down.
    const DEV13_RECALL_FLOORS: [(&str, f64); 12] = [
        ("name", 0.92),
        ("date", 0.98),
        ("mrn", 0.96),
        ("ip", 1.00),
        ("url", 1.00),
        ("phone", 1.00),
        ("email", 1.00),
        ("ssn", 1.00),
        ("address", 0.90),
        ("city", 0.92),
        ("zip", 0.94),
        ("age", 0.97),
    ];
    const DEV13_PRECISION_FLOOR: f64 = 0.90;
    const DEV_PRECISION_FLOOR: f64 = GOAL_PRECISION;
    /// The eighth set's precision, measured (0.839) and rounded down:
    /// below the goal, said so here rather than hidden by a floor of 0.
    const DEV8_PRECISION_FLOOR: f64 = 0.83;

    #[test]
    fn recall_and_precision_per_kind() {
        check_dev_set("deid-dev", 20, &DEV_RECALL_FLOORS, DEV_PRECISION_FLOOR);
    }

    #[test]
    fn second_set_recall_and_precision_per_kind() {
        check_dev_set("deid-dev2", 23, &DEV2_RECALL_FLOORS, DEV_PRECISION_FLOOR);
    }

    #[test]
    fn third_set_recall_and_precision_per_kind() {
        check_dev_set("deid-dev3", 26, &DEV3_RECALL_FLOORS, DEV_PRECISION_FLOOR);
    }

    #[test]
    fn fourth_set_recall_and_precision_per_kind() {
        check_dev_set("deid-dev4", 27, &DEV4_RECALL_FLOORS, DEV_PRECISION_FLOOR);
    }

    #[test]
    fn fifth_set_recall_and_precision_per_kind() {
        check_dev_set("deid-dev5", 27, &DEV5_RECALL_FLOORS, DEV_PRECISION_FLOOR);
    }

    #[test]
    fn sixth_set_recall_and_precision_per_kind() {
        check_dev_set("deid-dev6", 26, &DEV6_RECALL_FLOORS, DEV_PRECISION_FLOOR);
    }

    #[test]
    fn seventh_set_recall_and_precision_per_kind() {
        check_dev_set("deid-dev7", 26, &DEV7_RECALL_FLOORS, DEV_PRECISION_FLOOR);
    }

    #[test]
    fn eighth_set_recall_and_precision_per_kind() {
        check_dev_set("deid-dev8", 24, &DEV8_RECALL_FLOORS, DEV8_PRECISION_FLOOR);
    }

    #[test]
    fn ninth_set_recall_and_precision_per_kind() {
        check_dev_set("deid-dev9", 24, &DEV9_RECALL_FLOORS, DEV9_PRECISION_FLOOR);
    }

    #[test]
    fn tenth_set_recall_and_precision_per_kind() {
        check_dev_set(
            "deid-dev10",
            24,
            &DEV10_RECALL_FLOORS,
            DEV10_PRECISION_FLOOR,
        );
    }

    #[test]
    fn eleventh_set_recall_and_precision_per_kind() {
        check_dev_set(
            "deid-dev11",
            24,
            &DEV11_RECALL_FLOORS,
            DEV11_PRECISION_FLOOR,
        );
    }

    #[test]
    fn twelfth_set_recall_and_precision_per_kind() {
        check_dev_set(
            "deid-dev12",
            24,
            &DEV12_RECALL_FLOORS,
            DEV12_PRECISION_FLOOR,
        );
    }

    #[test]
    fn thirteenth_set_recall_and_precision_per_kind() {
        check_dev_set(
            "deid-dev13",
            24,
            &DEV13_RECALL_FLOORS,
            DEV13_PRECISION_FLOOR,
        );
    }

    /// Every development note with its letters, digits, spaces and dashes
    /// written in other characters of two to four bytes (accents, a
    /// non-breaking space, an en dash, full-width digits, which `\d`
    /// reads too, a letter outside the Basic Multilingual Plane, Latin-1,
    /// Greek and CJK letters, full-width punctuation), and once in
    /// capitals: the scrubber must neither panic nor end a span inside a
    /// character. The
    /// eighth set's "É. Okafor" made it slice inside the "É"; byte
    /// arithmetic that assumes ASCII is what this looks for everywhere.
    #[test]
    fn notes_in_other_characters_never_break_the_scrubber() {
        let variants: [fn(char) -> char; 8] = [
            |c| c.to_ascii_uppercase(),
            |c| match c {
                'x' | 'k' | 'B' => '中',
                'y' => 'ÿ',
                c => c,
            },
            |c| match c {
                'a'..='m' => char::from_u32(c as u32 + 0xE0 - 0x61).unwrap(),
                c => c,
            },
            |c| match c {
                'A'..='M' => char::from_u32(c as u32 + 0x391 - 0x41).unwrap(),
                '/' => '∕',
                ',' => '，',
                c => c,
            },
            |c| match c {
                'e' => 'é',
                'E' => 'É',
                'a' => 'á',
                'A' => 'Á',
                'o' => 'ö',
                'O' => 'Ö',
                'n' => 'ñ',
                'i' => 'ı',
                'S' => 'Š',
                c => c,
            },
            |c| match c {
                ' ' => '\u{a0}',
                '-' => '–',
                '.' => '·',
                '\'' => '’',
                c => c,
            },
            |c| match c {
                '0'..='9' => char::from_u32(0xFF10 + (c as u32 - '0' as u32)).unwrap(),
                c => c,
            },
            |c| match c {
                'M' | 'J' => '𝐌',
                'r' => 'ř',
                c => c,
            },
        ];
        let detector = Detector::builtin().expect("the shipped detector loads");
        let mut scrubbed = 0;
        for set in [
            "deid-dev",
            "deid-dev2",
            "deid-dev3",
            "deid-dev4",
            "deid-dev5",
            "deid-dev6",
            "deid-dev7",
            "deid-dev8",
            "deid-dev9",
            "deid-dev10",
            "deid-dev11",
            "deid-dev12",
            "deid-dev13",
        ] {
            let notes = load_notes(&dev_dir(set));
            let both = scrubber_for(&notes, Some(&detector));
            for n in &notes {
                for variant in variants {
                    let text: String = n.text.chars().map(variant).collect();
                    let found = both.find(n.field("patient_id"), &text);
                    for f in &found {
                        assert!(
                            f.start < f.end
                                && text.is_char_boundary(f.start)
                                && text.is_char_boundary(f.end),
                            "{set}/{}: span {}..{} of {} bytes",
                            n.id,
                            f.start,
                            f.end,
                            text.len()
                        );
                    }
                    scrubbed += 1;
                }
            }
        }
        assert!(scrubbed >= 8 * 190, "{scrubbed} notes scrubbed");
    }

    /// Score rules and detector on one development set, print the table
    /// (and the misses with `CARELAB_DEID_DEV_MISSES`), and fail below the
    /// floors.
    fn check_dev_set(name: &str, at_least: usize, floors: &[(&str, f64)], precision_floor: f64) {
        let dir = dev_dir(name);
        let notes = load_notes(&dir);
        assert!(
            notes.len() >= at_least,
            "{name} has {} notes, expected at least {at_least}",
            notes.len()
        );
        let detector = Detector::builtin().expect("the shipped detector loads");
        let both = scrubber_for(&notes, Some(&detector));
        let mut texts = HashMap::new();
        let mut truth = Vec::new();
        let mut found = HashMap::new();
        let show = std::env::var_os("CARELAB_DEID_DEV_MISSES").is_some();
        for n in &notes {
            let dets = both.find(n.field("patient_id"), &n.text);
            if show {
                print_misses(n, &dets);
            }
            found.insert(n.id.clone(), dets);
            texts.insert(n.id.clone(), n.text.clone());
            truth.extend(n.spans.iter().cloned());
        }
        let scores = score(&texts, &found, &truth);
        let on = format!("{} (development set)", dir.display());
        print_table_of("rules and detector", &on, &scores);
        let mut below = Vec::new();
        for (kind, floor) in floors {
            let recall = scores.get(*kind).map_or(0.0, |s| s.recall);
            if recall < *floor {
                below.push(format!("{kind} recall {recall:.3} < floor {floor}"));
            }
        }
        let precision = KindScore::total(scores.values()).precision;
        if precision < precision_floor {
            below.push(format!("precision {precision:.3}"));
        }
        assert!(
            below.is_empty(),
            "{name}: below the floors: {}",
            below.join("; ")
        );
    }

    /// Up to 50 bytes of `text` each side of `start..end`, on one line.
    fn context(text: &str, start: usize, end: usize) -> (String, String) {
        let mut from = start.saturating_sub(50);
        while !text.is_char_boundary(from) {
            from += 1;
        }
        let mut to = (end + 50).min(text.len());
        while !text.is_char_boundary(to) {
            to -= 1;
        }
        let line = |s: &str| s.replace('\n', "⏎");
        (line(&text[from..start]), line(&text[end..to]))
    }

    fn print_misses(n: &AnnotatedNote, dets: &[Found]) {
        let covered = |i: usize| dets.iter().any(|d| d.start <= i && i < d.end);
        // a byte of a letter or digit left, as the score counts tokens (a
        // name's final "." left outside its span is no miss)
        let part = |b: u8| !b.is_ascii_whitespace() && !b.is_ascii_punctuation();
        for s in &n.spans {
            let left = (s.start..s.end).any(|i| part(n.text.as_bytes()[i]) && !covered(i));
            if left {
                let kind = kind_name(s.kind);
                let (before, after) = context(&n.text, s.start, s.end);
                let span = &n.text[s.start..s.end];
                println!(
                    "{}: missed {kind} {span:?} in {before}[[{span}]]{after}",
                    n.id
                );
            }
        }
        for d in dets {
            if !n.spans.iter().any(|s| s.start < d.end && d.start < s.end) {
                let kind = kind_name(d.kind);
                println!("{}: false {kind} {:?}", n.id, &n.text[d.start..d.end]);
            }
        }
    }
}
