//! HL7 v2 as other systems send it: hand-written fixtures in three vendors'
//! styles (tests/data/hl7v2/: an Epic-style ADT feed with a byte-order mark,
//! CRLF and Z-segments; a Cerner-style v2.3 lab batch file with every OBX
//! value type; a Meditech-style v2.8 LF feed with an A40 merge, an A08
//! update, a cancelled admission, a scheduling message and an MDM note),
//! read value by value and ingested end to end; and the public sample
//! messages in ../shared/realworld/ when they are there.

use std::path::{Path, PathBuf};

use carelab::formats::hl7v2::{self, decode_with, Feed, Limits, Obx, PatientIdRule, ResultValue};
use carelab::ingest::{PipelineConfig, SourceConfig, SourceKind};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/hl7v2")
        .join(name)
}

fn feed(name: &str) -> Feed {
    Feed::from_bytes(name, &std::fs::read(data(name)).unwrap()).unwrap()
}

fn rule(s: &str) -> PatientIdRule {
    s.parse().unwrap()
}

#[test]
fn a_bom_crlf_feed_with_z_segments_reads_and_pid3_picks_the_mr() {
    let bytes = std::fs::read(data("epic-adt-2.5.1-bom-crlf.hl7")).unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "the fixture has a BOM");
    let feed = feed("epic-adt-2.5.1-bom-crlf.hl7");
    let msgs: Vec<_> = feed
        .messages(Limits::default())
        .map(Result::unwrap)
        .collect();
    assert_eq!(msgs.len(), 2);
    let a01 = decode_with(&msgs[0], &PatientIdRule::default()).unwrap();
    assert_eq!(a01.event, "ADT^A01");
    assert_eq!(a01.version, "2.5.1");
    // no PI: the first MR, with its type and assigning authority
    let id = &a01.patient_identity;
    assert_eq!(
        (id.id.as_str(), id.type_code.as_str(), id.authority.as_str()),
        ("E4501277", "MR", "NSH")
    );
    let p = a01.patient.as_ref().unwrap();
    assert_eq!(
        (p.mrn.as_str(), p.ssn.as_str()),
        ("E4501277", "999-88-7777")
    );
    // PT first, then the first identifier when no pattern matches
    assert_eq!(
        decode_with(&msgs[0], &rule("PT"))
            .unwrap()
            .patient_identity
            .id,
        "9E4501277"
    );
    assert_eq!(
        decode_with(&msgs[0], &rule("PI"))
            .unwrap()
            .patient_identity
            .id,
        "E4501277"
    );
    let skipped: Vec<(&str, u64)> = a01
        .skipped_segments
        .iter()
        .map(|(k, v)| (k.as_str(), *v))
        .collect();
    assert_eq!(
        skipped,
        [("AL1", 1), ("NK1", 1), ("PD1", 1), ("PV2", 1), ("ZPD", 1)]
    );
    let visit = a01.visit.as_ref().unwrap();
    assert_eq!(
        (visit.encounter_id.as_str(), visit.class.as_str()),
        ("V7781001", "IMP")
    );
    assert_eq!(visit.reason_code, "I50.9");
    assert!(visit.discharge_time.is_none());
    let a03 = decode_with(&msgs[1], &PatientIdRule::default()).unwrap();
    let stay = a03.encounter.unwrap();
    assert_eq!(stay.disposition, "home");
    assert_eq!(
        stay.discharge_time.unwrap().to_string(),
        "2024-03-06 13:30:00"
    );
}

#[test]
fn a_batch_file_unwraps_and_every_obx_value_type_reads() {
    let feed = feed("cerner-oru-2.3-batch.hl7");
    let msgs: Vec<_> = feed
        .messages(Limits::default())
        .map(Result::unwrap)
        .collect();
    assert_eq!(msgs.len(), 2, "FHS/BHS/BTS/FTS are no messages");
    let d = decode_with(&msgs[0], &PatientIdRule::default()).unwrap();
    assert_eq!((d.event.as_str(), d.version.as_str()), ("ORU^R01", "2.3"));
    // two MRs from two authorities: the default takes the first, a rule
    // with the authority the hospital's
    assert_eq!(d.patient_identity.id, "4417820");
    assert_eq!(d.patient_identity.authority, "CERNER-MAIN");
    let nsh = decode_with(&msgs[0], &rule("MR@NSH")).unwrap();
    assert_eq!(nsh.patient_identity.id, "E4501277");
    let values: Vec<String> = d
        .obx
        .iter()
        .map(|o| match o {
            Obx::Result { obs, value, .. } => match value {
                ResultValue::Number { text, comparator } => {
                    format!("{} number {comparator}{text} = {}", obs.code, obs.value)
                }
                ResultValue::Text(t) => format!("{} text {t}", obs.code),
                ResultValue::Coded { code, text, system } => {
                    format!("{} coded {system}|{code} {text}", obs.code)
                }
                ResultValue::Date(t) => format!("{} date {t}", obs.code),
            },
            Obx::Note(i) => format!("note {i}"),
            Obx::Skipped(why) => format!("skipped: {why}"),
            Obx::Bad(e) => format!("bad: {e}"),
        })
        .collect();
    let expected = [
        "2345-7 number 142 = 142",
        "2951-2 number see comment = NaN",
        "KPLX number 4.1 = 4.1",
        "1988-5 number <5 = 5",
        "2160-0 number 106 = 106",
        "5778-6 text Yellow",
        "5196-1 coded SCT|260385009 Negative",
        "31201-7 text 1:128",
        "883-9 coded SCT|112144000 Blood group A",
        "11778-8 date 2024-09-15",
        "8665-2 date 2023-12-08T00:00:00",
    ];
    assert_eq!(values[..expected.len()], expected);
    assert!(
        values[11].starts_with("bad: cerner-oru-2.3-batch.hl7 (message 1, segment OBX #19, field OBX-5): expected a date/time"),
        "{}",
        values[11]
    );
    assert_eq!(
        values[12..],
        ["skipped: OBX value type ED", "skipped: OBX value type RP"]
    );
    // OBX-14 empty: the time is OBR-7's
    let Obx::Result { obs, .. } = &d.obx[0] else {
        panic!()
    };
    assert_eq!(obs.time.to_string(), "2024-03-03 06:00:00");
    assert_eq!(obs.system, carelab::clinical::codes::LOINC);
    assert_eq!(
        d.skipped_segments.keys().collect::<Vec<_>>(),
        ["NTE", "ORC", "ZLB"]
    );
    // the strict decode names the first bad OBX: the number that is none
    let err = hl7v2::decode(&msgs[0]).unwrap_err().to_string();
    assert!(
        err.contains("segment OBX #8, field OBX-5): expected a number, found \"see comment\""),
        "{err}"
    );
    let second = decode_with(&msgs[1], &PatientIdRule::default()).unwrap();
    let Obx::Result {
        value: ResultValue::Text(path),
        ..
    } = &second.obx[3]
    else {
        panic!("{:?}", second.obx[3])
    };
    assert_eq!(
        path,
        "Specimen: skin, left forearm.\nDiagnosis: benign nevus\nNo atypia."
    );
}

/// The three fixtures as one HL7 v2 source read with the PID-3 `rule`.
fn fixtures_config(rule: &str) -> PipelineConfig {
    PipelineConfig {
        sources: vec![SourceConfig {
            name: "feeds".into(),
            kind: SourceKind::Hl7v2,
            path: data(""),
            layout: None,
            patient_id: Some(rule.into()),
        }],
        ..Default::default()
    }
}

/// Ingest the three fixtures as one source with `rule`.
fn ingest_fixtures(out: &Path, rule: &str) -> serde_json::Value {
    carelab::ingest::run(&fixtures_config(rule), out).unwrap();
    serde_json::from_str(&std::fs::read_to_string(out.join("quality.json")).unwrap()).unwrap()
}

fn rows(path: &Path) -> Vec<csv::StringRecord> {
    let mut r = csv::Reader::from_path(path).unwrap();
    r.records().map(Result::unwrap).collect()
}

fn column(path: &Path, name: &str) -> usize {
    let mut r = csv::Reader::from_path(path).unwrap();
    r.headers().unwrap().iter().position(|h| h == name).unwrap()
}

#[test]
fn vendor_feeds_ingest_with_merges_updates_cancels_and_every_result_kind() {
    let dir = tempfile::tempdir().unwrap();
    let q = ingest_fixtures(dir.path(), "MR@NSH,MR");
    let s = &q["sources"]["feeds"];
    let t = |table: &str, k: &str| s["tables"][table][k].as_u64().unwrap();
    // messages by type: the scheduling message is skipped, never unparseable
    assert_eq!(s["messages"]["SIU^S12"]["skipped"], 1);
    assert_eq!(s["messages"]["ORU^R01"]["read"], 2);
    assert_eq!(s["messages"]["ADT^A40"]["read"], 1);
    assert_eq!(s["messages"]["MDM^T02"]["read"], 1);
    let unparseable: u64 = s["messages"]
        .as_object()
        .unwrap()
        .values()
        .map(|c| c["unparseable"].as_u64().unwrap())
        .sum();
    assert_eq!(unparseable, 0);
    // patients: Okafor once (Epic and the lab agree on MR@NSH), Nakamura's
    // temporary and real MR records, linked by the merge
    assert_eq!((t("patient", "in"), t("patient", "out")), (3, 3));
    assert_eq!(q["linkage"]["persons"], 2);
    // stays: V7781001 (Epic), MV5501 (registered under the temporary MR,
    // discharged under the real one); MV5502 cancelled by the A11
    assert_eq!(
        (
            t("encounter", "in"),
            t("encounter", "out"),
            t("encounter", "skipped")
        ),
        (3, 2, 1)
    );
    // 21 OBX: 2 skipped (ED, RP), 3 quarantined (no number, a local code
    // missing from the map, a date that is no date), 16 kept
    assert_eq!(
        [
            t("observation", "in"),
            t("observation", "out"),
            t("observation", "quarantined"),
            t("observation", "skipped")
        ],
        [21, 16, 3, 2]
    );
    assert_eq!(s["rules"]["number"]["rejected"], 1);
    assert_eq!(s["rules"]["code_map"]["rejected"], 1);
    assert_eq!(s["rules"]["unparseable"]["rejected"], 1);
    assert_eq!(s["unmapped_codes"]["KPLX"], 1);
    assert_eq!(s["skipped"]["observation"]["OBX value type ED"], 1);
    assert_eq!((t("note", "in"), t("note", "out")), (1, 1));
    assert!(s["skipped_segments"]["ZLB"].as_u64() == Some(1));

    let omop = dir.path().join("omop");
    let meas = omop.join("measurement.csv");
    let (src, num, shown, text, concept, person, visit) = (
        column(&meas, "measurement_source_value"),
        column(&meas, "value_as_number"),
        column(&meas, "value_source_value"),
        column(&meas, "value_as_string"),
        column(&meas, "value_as_concept_code"),
        column(&meas, "person_id"),
        column(&meas, "visit_occurrence_id"),
    );
    let all = rows(&meas);
    let by_code = |code: &str| {
        all.iter()
            .find(|r| &r[src] == code)
            .unwrap_or_else(|| panic!("no {code}"))
    };
    let crp = by_code("1988-5");
    assert_eq!((&crp[num], &crp[shown]), ("5", "<5"));
    let culture = by_code("600-7");
    assert_eq!(
        (&culture[concept], &culture[text], &culture[num]),
        ("SCT|3092008", "Staphylococcus aureus", "")
    );
    assert_eq!(&by_code("11778-8")[text], "2024-09-15");
    let creatinine = by_code("2160-0");
    assert_eq!(&creatinine[num], "1.198824", "umol/L converted to mg/dL");
    // the temperature taken under the temporary MR is the survivor's
    let temp = by_code("8310-5");
    assert_eq!((&temp[person], &temp[visit]), ("M22001", "MV5501"));
    assert!((temp[num].parse::<f64>().unwrap() - 38.388889).abs() < 1e-6);
    // the A08's address is the person's
    let person_csv = omop.join("person.csv");
    let addr = column(&person_csv, "address_line");
    let nakamura: Vec<_> = rows(&person_csv)
        .into_iter()
        .filter(|r| &r[0] == "M22001")
        .collect();
    assert_eq!(nakamura.len(), 1);
    assert_eq!(&nakamura[0][addr], "17 PIER ST");
    let mpi = std::fs::read_to_string(dir.path().join("mpi.csv")).unwrap();
    assert!(
        mpi.contains("feeds,E4501277,E4501277,singleton,MR,NSH"),
        "{mpi}"
    );
    let notes = rows(&omop.join("note.csv"));
    assert_eq!(&notes[0][0], "DOC-MV5501-1");
    assert_eq!(&notes[0][1], "M22001");
    assert_eq!(
        &notes[0][4],
        "Seen in ED with fever.\nTreated and discharged home.\nFollow up in clinic."
    );
    assert_eq!(&notes[0][3], "2024-01-11T12:45:00");
}

#[test]
fn the_pid3_rule_is_configurable_and_a_bad_one_is_named() {
    let dir = tempfile::tempdir().unwrap();
    // PI first: Nakamura's PI names him from the merge on; Okafor has none
    // and each system's first identifier names him: the lab's own MR is
    // another id, which linkage joins by name and birth date (the lab's
    // file is read first, so its id names the person)
    let q = ingest_fixtures(dir.path(), "PI");
    assert_eq!(q["linkage"]["persons"], 2);
    assert_eq!(q["linkage"]["patient_records"], 4);
    let mpi = std::fs::read_to_string(dir.path().join("mpi.csv")).unwrap();
    assert!(mpi.contains("feeds,200451,200451,"), "{mpi}");
    assert!(
        mpi.contains("feeds,E4501277,4417820,exact_name_dob,MR,NSH"),
        "{mpi}"
    );
    let cfg = fixtures_config("MR@,PI");
    let err = carelab::ingest::run(&cfg, dir.path())
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("source feeds (key patient_id): expected a PID-3 rule"),
        "{err}"
    );
    // the rule belongs to HL7 v2 sources only
    let mut csv = cfg.clone();
    csv.sources[0].kind = SourceKind::Csv;
    csv.sources[0].patient_id = Some("MR".into());
    let err = carelab::ingest::run(&csv, dir.path())
        .unwrap_err()
        .to_string();
    assert!(err.ends_with("found a source of kind csv"), "{err}");
}

/// The public sample messages (Microsoft FHIR-Converter, MIT) beside the
/// clone: ../shared/realworld/hl7v2-fhir-converter (`CARELAB_SHARED` names
/// another shared/ folder). Read as one feed
/// folder: nothing crashes, no message of any type is unparseable, every
/// type CareLab does not read is skipped by type, in = out + quarantined +
/// skipped, and every record not kept names its reason. The figures are the
/// ones documented in book/src/concepts/hl7v2.md.
#[test]
fn real_world_sample_messages_ingest() {
    let shared = std::env::var_os("CARELAB_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared"));
    let corpus = shared.join("realworld/hl7v2-fhir-converter");
    if !corpus.is_dir() {
        eprintln!("skipped: {} is not there", corpus.display());
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cfg = PipelineConfig {
        sources: vec![SourceConfig {
            name: "realworld".into(),
            kind: SourceKind::Hl7v2,
            path: corpus,
            layout: None,
            patient_id: None,
        }],
        ..Default::default()
    };
    let summary = carelab::ingest::run(&cfg, dir.path()).unwrap();
    let q = &summary.quality.sources["realworld"];
    let messages: u64 = q.messages.values().map(|c| c.input).sum();
    assert_eq!(messages, 139);
    for (kind, c) in &q.messages {
        assert_eq!(c.unparseable, 0, "{kind}");
        assert_eq!(c.input, c.read + c.skipped, "{kind}");
        let read = carelab::ingest::source::hl7v2::reads_event(kind);
        assert_eq!(c.read > 0, read, "{kind}");
    }
    let read: u64 = q.messages.values().map(|c| c.read).sum();
    assert_eq!(
        read, 40,
        "ADT A01-A08, A11, A13, A28, A31, A40; ORU^R01; MDM^T02"
    );
    let t = q.totals();
    assert_eq!(t.input, t.out + t.quarantined + t.skipped);
    assert_eq!(
        (t.input, t.out, t.quarantined, t.skipped),
        (84, 63, 4, 17),
        "{:?}",
        q.tables
    );
    // every record not kept has a reason a person can act on
    let quarantine = rows(&dir.path().join("quarantine/realworld.csv"));
    assert_eq!(quarantine.len() as u64, t.quarantined);
    for r in &quarantine {
        assert!(
            ["code_map", "unit", "referential"].contains(&&r[0]) && !r[5].is_empty(),
            "{r:?}"
        );
    }
    let skipped: u64 = q.skipped.values().flat_map(|r| r.values()).sum();
    assert_eq!(skipped, t.skipped);

    // What a person does with the quality report: one line in a copy of
    // the code map (LOINC 1554-5 is fasting glucose, sent under a
    // free-text coding system) makes that result usable; of the records
    // the reader is asked to keep (all but the skipped ones: resends,
    // attachments, pending results) at least 95% are then kept.
    let maps = tempfile::tempdir().unwrap();
    let codes = maps.path().join("lab-codes.toml");
    let builtin = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/maps/lab-codes.toml"),
    )
    .unwrap();
    std::fs::write(&codes, format!("{builtin}\"1554-5\" = \"2345-7\"\n")).unwrap();
    let mut mapped = cfg.clone();
    mapped.maps.lab_codes = Some(codes);
    let out = tempfile::tempdir().unwrap();
    let summary = carelab::ingest::run(&mapped, out.path()).unwrap();
    let t = summary.quality.sources["realworld"].totals();
    assert_eq!((t.input, t.out, t.quarantined, t.skipped), (84, 64, 3, 17));
    let kept = t.out as f64 / (t.input - t.skipped) as f64;
    assert!(kept >= 0.95, "{kept}");
}

/// A feed read while a patient is still in: the admission without its
/// discharge is an open stay, kept with its results (not skipped, not a
/// reason to quarantine them), not an index stay, and it still counts as
/// the readmission of the stay before it.
#[test]
fn an_open_stay_is_kept_with_its_results_and_counts_as_a_readmission() {
    let pid = "PID|1||H3300917^^^RIVERSIDE^MR~77012^^^RIVERSIDE^AN||Alvarez^Rosa||19480312|F";
    let pv1 = |visit: &str, class: &str, disp: &str, admit: &str, discharge: &str| {
        let mut f = vec![""; 46];
        f[0] = "PV1";
        f[1] = "1";
        f[2] = class;
        f[19] = visit;
        f[36] = disp;
        f[44] = admit;
        f[45] = discharge;
        f.join("|")
    };
    let msg = |id: &str, kind: &str, at: &str, body: &[String]| {
        let mut m =
            format!("MSH|^~\\&|PAS|RIVERSIDE|DW|RIVERSIDE|{at}||{kind}|{id}|P|2.5.1\r{pid}\r");
        for s in body {
            m.push_str(s);
            m.push('\r');
        }
        m
    };
    let feed = [
        msg(
            "R1",
            "ADT^A01^ADT_A01",
            "20240220091500",
            &[pv1("V099", "I", "", "20240220091500", "")],
        ),
        msg(
            "R2",
            "ADT^A03^ADT_A03",
            "20240301140000",
            &[pv1("V099", "I", "01", "20240220091500", "20240301140000")],
        ),
        // admitted again 19 days later, and still in when the feed was read
        msg(
            "R3",
            "ADT^A01^ADT_A01",
            "20240320220000",
            &[pv1("V100", "I", "", "20240320220000", "")],
        ),
        msg(
            "R4",
            "ORU^R01^ORU_R01",
            "20240321061000",
            &[
                pv1("V100", "I", "", "20240320220000", ""),
                "OBR|1||LAB55|24323-8^Comprehensive metabolic panel^LN".into(),
                "OBX|1|NM|2160-0^Creatinine^LN||1.9|mg/dL|0.6-1.1|H|||F|||20240321060000".into(),
            ],
        ),
        // a clinic visit later on, which the data's end follows
        msg(
            "R5",
            "ADT^A04^ADT_A01",
            "20240410100000",
            &[pv1("V101", "O", "", "20240410100000", "")],
        ),
    ]
    .concat();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("census.hl7");
    std::fs::write(&input, feed).unwrap();
    let cfg = PipelineConfig {
        sources: vec![SourceConfig {
            name: "riverside".into(),
            kind: SourceKind::Hl7v2,
            path: input,
            layout: None,
            patient_id: None,
        }],
        ..Default::default()
    };
    let out = dir.path().join("out");
    let summary = carelab::ingest::run(&cfg, &out).unwrap();
    let q = &summary.quality.sources["riverside"];
    let t = |table: &str| {
        let c = &q.tables[table];
        (c.input, c.out, c.quarantined, c.skipped)
    };
    // three visits, all kept: V099 discharged, V100 and the clinic visit open
    assert_eq!(t("encounter"), (3, 3, 0, 0));
    // the open stay's creatinine is the patient's, not an orphan
    assert_eq!(t("observation"), (1, 1, 0, 0));
    // one index stay, V099, readmitted by the open V100; V100 is none yet
    let analysis = rows(&out.join("analysis.csv"));
    let (stay, label) = (
        column(&out.join("analysis.csv"), "stay_id"),
        column(&out.join("analysis.csv"), "readmit_30d"),
    );
    let got: Vec<(&str, &str)> = analysis.iter().map(|r| (&r[stay], &r[label])).collect();
    assert_eq!(got, [("V099", "1")]);
}
