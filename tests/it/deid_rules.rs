//! Edge cases of the Safe Harbor rules, its random surrogate ids and of
//! keyed pseudonyms, through the
//! library's `deid::run` on small hand-made tables.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use carelab::deid::roles::RoleMap;
use carelab::deid::rules::{safe_harbor_zip, RESTRICTED_ZIP3};
use carelab::deid::tables::TableFile;
use carelab::deid::{run, Mode, Options};
use carelab::ui::Ui;

const PATIENTS: &str = "patient_id,mrn,given_name,family_name,sex,birth_date,race,ethnicity,payer,address_line,city,state,zip,phone,email,ssn,death_date
P89,MR1,Ann,Abbott,F,1934-06-02,White,Not Hispanic or Latino,Medicare,1 Oak St,Reno,NV,89301,775-555-0101,ann@example.org,111-22-3333,
P90,MR2,Bob,Barker,M,1934-06-01,White,Not Hispanic or Latino,Medicare,2 Oak St,Havre,MT,59501,406-555-0102,bob@example.org,222-33-4444,
P91,MR3,Cy,Carter,M,1933-01-15,Black,Not Hispanic or Latino,Medicare,3 Oak St,Boston,MA,02139,617-555-0103,cy@example.org,333-44-5555,
PDEAD,MR4,Di,Dunn,F,1920-03-01,Asian,Not Hispanic or Latino,Medicare,4 Oak St,Chicago,IL,60601,312-555-0104,di@example.org,444-55-6666,2000-05-01
";

const ENCOUNTERS: &str =
    "encounter_id,patient_id,class,admit_time,discharge_time,disposition,reason_code
E1,P89,IMP,2024-05-01T08:00:00,2024-05-03T12:00:00,home,I50.9
E2,P90,IMP,2024-05-02T08:00:00,2024-05-04T12:00:00,home,I50.9
E3,P91,IMP,2024-05-03T08:00:00,2024-05-05T12:00:00,home,I50.9
E4,PDEAD,IMP,2000-04-20T08:00:00,2000-05-01T12:00:00,expired,I50.9
";

const NOTES: &str = "note_id,patient_id,encounter_id,time,text
N1,P90,E2,2024-05-04T12:00:00,\"Bob Barker is a 90-year-old man, born 06/01/1934, admitted 05/02/2024.\"
N2,P89,E1,2024-05-03T12:00:00,\"Ann Abbott, 89-year-old woman, admitted May 1, 2024.\"
";

fn folder(dir: &Path) -> PathBuf {
    let inp = dir.join("in");
    fs::create_dir_all(&inp).unwrap();
    fs::write(inp.join("patients.csv"), PATIENTS).unwrap();
    fs::write(inp.join("encounters.csv"), ENCOUNTERS).unwrap();
    fs::write(inp.join("notes.csv"), NOTES).unwrap();
    fs::write(
        inp.join("analysis.csv"),
        "stay_id,patient_id,age\nS1,P89,89\nS2,P90,90\nS3,P91,91.5\nS4,PDEAD,89.9\n",
    )
    .unwrap();
    inp
}

fn key(dir: &Path, byte: &str) -> PathBuf {
    let p = dir.join(format!("key-{byte}.hex"));
    fs::write(&p, byte.repeat(32)).unwrap();
    p
}

/// Limited data sets here shift dates, so the tests can see them move;
/// `limited_keeps_real_dates_unless_asked_to_shift` runs without.
fn deid(input: &Path, out: &Path, mode: Mode, key: &Path) {
    run(
        &options(input, out, mode, key),
        &Ui::new(false, true, 0, true),
    )
    .unwrap();
}

fn options(input: &Path, out: &Path, mode: Mode, key: &Path) -> Options {
    Options {
        input: input.to_path_buf(),
        output: out.to_path_buf(),
        mode,
        key_file: Some(key.to_path_buf()),
        crosswalk: (mode == Mode::SafeHarbor).then(|| crosswalk_beside(out)),
        roles: RoleMap::default(),
        quasi: vec!["age_band".into(), "sex".into(), "zip3".into()],
        sensitive: "payer".into(),
        k: 2,
        suppress: false,
        truth: None,
        audit: None,
        as_of: chrono::NaiveDate::from_ymd_opt(2024, 6, 1),
        max_shift_days: 180,
        shift_dates: mode == Mode::Limited,
        allow_not_safe_harbor: false,
        detector: None,
        format: None,
    }
}

/// Where these tests put a Safe Harbor run's crosswalk: beside its output.
pub(crate) fn crosswalk_beside(out: &Path) -> PathBuf {
    out.with_extension("crosswalk.csv")
}

/// A table's rows by column name (deid_columns reads its outputs with it too).
pub(crate) fn rows(path: &Path) -> Vec<BTreeMap<String, String>> {
    let t = TableFile::of(path).unwrap();
    let (header, _) = t.header().unwrap();
    let mut out = Vec::new();
    t.for_each_row(&header, |_, r| {
        out.push(
            header
                .iter()
                .cloned()
                .zip(r.iter().map(String::from))
                .collect(),
        );
        Ok(())
    })
    .unwrap();
    out
}

#[test]
fn zip3_restricted_areas_and_the_20000_population_rule() {
    // the 17 ZIP3 areas of 20,000 people or fewer (Census 2000, HHS guidance)
    let hhs = [
        "036", "059", "063", "102", "203", "556", "692", "790", "821", "823", "830", "831", "878",
        "879", "884", "890", "893",
    ];
    assert_eq!(RESTRICTED_ZIP3, hhs);
    for n in 0..1000 {
        let zip3 = format!("{n:03}");
        let got = safe_harbor_zip(&format!("{zip3}42"));
        if hhs.contains(&zip3.as_str()) {
            assert_eq!(got, "000", "{zip3} has 20,000 people or fewer");
        } else {
            assert_eq!(got, zip3, "{zip3} is kept as ZIP3");
        }
    }
    assert_eq!(safe_harbor_zip("89301-1234"), "000", "ZIP+4 in 893");
    assert_eq!(safe_harbor_zip(" 02139 "), "021");
    assert_eq!(safe_harbor_zip("0213"), "000", "four digits are no ZIP");
    assert_eq!(safe_harbor_zip("N/A"), "000");

    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("out");
    deid(
        &folder(d.path()),
        &out,
        Mode::SafeHarbor,
        &key(d.path(), "ab"),
    );
    let zips: Vec<String> = rows(&out.join("patients.csv"))
        .iter()
        .map(|r| r["zip"].clone())
        .collect();
    // 893 restricted, 595 kept (not on the list), 021 kept, 606 kept
    assert_eq!(zips, ["000", "595", "021", "606"]);
}

#[test]
fn ages_89_90_91_and_birth_dates_that_imply_90_plus() {
    let d = tempfile::tempdir().unwrap();
    let inp = folder(d.path());
    let k = key(d.path(), "ab");
    let sh = d.path().join("sh");
    deid(&inp, &sh, Mode::SafeHarbor, &k);
    let p = rows(&sh.join("patients.csv"));
    let ages: Vec<&str> = p.iter().map(|r| r["age"].as_str()).collect();
    let births: Vec<&str> = p.iter().map(|r| r["birth_date"].as_str()).collect();
    let deaths: Vec<&str> = p.iter().map(|r| r["death_date"].as_str()).collect();
    // 89 the day before the 90th birthday, 90 on it, 91; died at 80
    assert_eq!(ages, ["89", "90+", "90+", "80"]);
    // a birth year is removed whenever it says "over 89" today, even for a
    // patient who died younger
    assert_eq!(births, ["1934", "", "", ""]);
    assert_eq!(deaths, ["", "", "", "2000"]);
    let notes = rows(&sh.join("notes.csv"));
    assert_eq!(
        notes[0]["text"],
        "[NAME] [NAME] is a [AGE]-year-old man, born [DATE], admitted [DATE]."
    );
    assert!(notes[1]["text"].contains("89-year-old"), "89 is kept");
    // an age column in any table is capped the same way
    let ages: Vec<String> = rows(&sh.join("analysis.csv"))
        .iter()
        .map(|r| r["age"].clone())
        .collect();
    assert_eq!(ages, ["89", "90+", "90+", "89.9"]);

    let lim = d.path().join("lim");
    deid(&inp, &lim, Mode::Limited, &k);
    let p = rows(&lim.join("patients.csv"));
    let ages: Vec<&str> = p.iter().map(|r| r["age"].as_str()).collect();
    assert_eq!(ages, ["89", "90+", "90+", "80"]);
    assert_eq!(p[0]["birth_date"].len(), 10, "89: shifted birth date kept");
    assert!(p[0]["birth_date"] != "1934-06-02", "and shifted");
    for r in &p[1..] {
        assert_eq!(r["birth_date"], "", "90+: no birth date at all");
    }
    // in the note the birth date goes, the admission date moves
    let notes = rows(&lim.join("notes.csv"));
    let text = &notes[0]["text"];
    assert!(text.starts_with("[NAME] [NAME] is a [AGE]-year-old man, born [DATE], admitted "));
    assert!(
        !text.contains("05/02/2024") && !text.contains("1934"),
        "{text}"
    );
    let readme = fs::read_to_string(lim.join("README.md")).unwrap();
    assert!(readme.contains("It is NOT de-identified under HIPAA Safe Harbor"));
}

#[test]
fn pseudonyms_are_stable_across_tables_and_runs_and_change_with_the_key() {
    let d = tempfile::tempdir().unwrap();
    let inp = folder(d.path());
    let (ka, kb) = (key(d.path(), "ab"), key(d.path(), "cd"));
    let (a1, a2, b) = (d.path().join("a1"), d.path().join("a2"), d.path().join("b"));
    deid(&inp, &a1, Mode::Pseudonymize, &ka);
    deid(&inp, &a2, Mode::Pseudonymize, &ka);
    deid(&inp, &b, Mode::Pseudonymize, &kb);

    let ids = |dir: &Path, table: &str| -> Vec<String> {
        rows(&dir.join(format!("{table}.csv")))
            .iter()
            .map(|r| r["patient_id"].clone())
            .collect()
    };
    let patients = ids(&a1, "patients");
    assert_eq!(patients.len(), 4);
    let distinct: std::collections::BTreeSet<&String> = patients.iter().collect();
    assert_eq!(distinct.len(), 4, "one pseudonym per patient");
    // encounters E1..E4 belong to P89, P90, P91, PDEAD: the same pseudonyms
    assert_eq!(ids(&a1, "encounters"), patients);
    // notes N1 (P90) and N2 (P89)
    assert_eq!(
        ids(&a1, "notes"),
        [patients[1].clone(), patients[0].clone()]
    );
    // the same key gives the same bytes, run after run
    for t in ["patients.csv", "encounters.csv", "notes.csv"] {
        assert_eq!(
            fs::read(a1.join(t)).unwrap(),
            fs::read(a2.join(t)).unwrap(),
            "{t}"
        );
    }
    // another key gives other pseudonyms for every patient and identifier
    let other = ids(&b, "patients");
    for (x, y) in patients.iter().zip(&other) {
        assert_ne!(x, y);
    }
    let mrn = |dir: &Path| -> Vec<String> {
        rows(&dir.join("patients.csv"))
            .iter()
            .map(|r| r["mrn"].clone())
            .collect()
    };
    assert!(mrn(&a1).iter().zip(mrn(&b)).all(|(x, y)| *x != y));
    // never the unkeyed hash of the identifier, never the identifier
    let text = fs::read_to_string(a1.join("patients.csv")).unwrap();
    for id in ["P89", "P90", "MR1", "Abbott"] {
        assert!(!text.contains(&carelab::artifact::sha256_hex(id.as_bytes())[..16]));
        assert!(!text.contains(&format!(",{id},")), "{id}");
    }
}

/// The crosswalk of a Safe Harbor run: surrogate -> (kind, original id).
fn crosswalk(path: &Path) -> BTreeMap<String, (String, String)> {
    let mut r = csv::ReaderBuilder::new()
        .comment(Some(b'#'))
        .from_path(path)
        .unwrap();
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            (rec[2].to_string(), (rec[0].to_string(), rec[1].to_string()))
        })
        .collect()
}

/// 45 CFR 164.514(c): a re-identification code may not be derived from
/// information about the individual, so Safe Harbor ids are random, drawn
/// anew each run, and only the crosswalk, kept outside the release, maps
/// them back.
#[test]
fn safe_harbor_ids_are_random_surrogates_with_the_crosswalk_kept_apart() {
    let d = tempfile::tempdir().unwrap();
    let inp = folder(d.path());
    let k = key(d.path(), "ab");
    let (sh1, sh2, ps) = (
        d.path().join("sh1"),
        d.path().join("sh2"),
        d.path().join("ps"),
    );
    deid(&inp, &sh1, Mode::SafeHarbor, &k);
    deid(&inp, &sh2, Mode::SafeHarbor, &k);
    deid(&inp, &ps, Mode::Pseudonymize, &k);
    let column = |dir: &Path, table: &str, c: &str| -> Vec<String> {
        rows(&dir.join(format!("{table}.csv")))
            .iter()
            .map(|r| r[c].clone())
            .collect()
    };
    let originals = ["P89", "P90", "P91", "PDEAD"];
    let sh = column(&sh1, "patients", "patient_id");
    let hmac = carelab::deid::pseudonym::Pseudonymizer::new(&hex::decode("ab".repeat(32)).unwrap())
        .unwrap();
    for (i, id) in originals.iter().enumerate() {
        assert!(sh[i].starts_with("pat-") && sh[i].len() == 20, "{}", sh[i]);
        // not the keyed pseudonym pseudonymise mode writes with the same key
        assert_ne!(sh[i], hmac.pseudonym("patient", id));
        assert_ne!(sh[i], column(&ps, "patients", "patient_id")[i]);
    }
    // consistent across the tables of one run (E1..E4 belong to the four
    // patients in order, N1 to P90 and N2 to P89) ...
    assert_eq!(column(&sh1, "encounters", "patient_id"), sh);
    assert_eq!(
        column(&sh1, "notes", "patient_id"),
        [sh[1].clone(), sh[0].clone()]
    );
    let enc = column(&sh1, "encounters", "encounter_id");
    assert_eq!(
        column(&sh1, "notes", "encounter_id"),
        [enc[1].clone(), enc[0].clone()]
    );
    // ... and another run draws other surrogates for every patient
    for (a, b) in sh.iter().zip(column(&sh2, "patients", "patient_id")) {
        assert_ne!(*a, b);
    }
    // the crosswalk maps every surrogate of the release back
    let cw = crosswalk(&crosswalk_beside(&sh1));
    for (s, id) in sh.iter().zip(originals) {
        assert_eq!(cw[s], ("patient".to_string(), id.to_string()));
    }
    assert_eq!(cw.len(), 4, "one row per patient: {cw:?}");
    // other record keys are keyed by a throwaway key of the run: new each
    // run, and in no crosswalk
    for (a, b) in enc.iter().zip(column(&sh2, "encounters", "encounter_id")) {
        assert!(a.starts_with("enc-") && *a != b);
        assert!(!cw.contains_key(a));
    }
    let report: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(sh1.join("deid-report.json")).unwrap()).unwrap();
    assert_eq!(report["crosswalk_ids"], cw.len() as u64);
    assert!(report["id_scheme"]
        .as_str()
        .unwrap()
        .starts_with("random surrogates"));
    assert!(fs::read_to_string(sh1.join("README.md"))
        .unwrap()
        .contains("Ids: random surrogates"));
    let manifest = fs::read_to_string(sh1.join("manifest.json")).unwrap();
    assert!(manifest.contains("random surrogates"), "{manifest}");
    assert!(!manifest.contains("\"key\""), "no key used: {manifest}");
    // the release holds no crosswalk and no original id
    for f in fs::read_dir(&sh1).unwrap() {
        let f = f.unwrap().path();
        let text = fs::read_to_string(&f).unwrap();
        assert!(!text.contains("CareLab crosswalk"), "{}", f.display());
        for id in originals {
            assert!(!text.contains(&format!("{id},")), "{id} in {}", f.display());
        }
    }
    // pseudonymise mode keeps its keyed pseudonyms and writes no crosswalk
    assert_eq!(
        column(&ps, "patients", "patient_id")[0],
        hmac.pseudonym("patient", "P89")
    );
    assert!(!crosswalk_beside(&ps).exists());

    // a crosswalk inside the release is refused, as is none at all
    let base = |crosswalk: Option<PathBuf>| Options {
        input: inp.clone(),
        output: d.path().join("sh3"),
        mode: Mode::SafeHarbor,
        key_file: None,
        crosswalk,
        roles: RoleMap::default(),
        quasi: vec![],
        sensitive: "payer".into(),
        k: 2,
        suppress: false,
        truth: None,
        audit: None,
        as_of: None,
        max_shift_days: 180,
        shift_dates: false,
        allow_not_safe_harbor: false,
        detector: None,
        format: None,
    };
    let ui = Ui::new(false, true, 0, true);
    let err = run(&base(Some(d.path().join("sh3/cw.csv"))), &ui).unwrap_err();
    assert!(err.to_string().contains("inside --out"), "{err}");
    assert!(run(&base(None), &ui).is_err());
    // without a key file Safe Harbor still runs: it derives nothing from one
    run(&base(Some(d.path().join("cw3.csv"))), &ui).unwrap();
    assert_eq!(crosswalk(&d.path().join("cw3.csv")).len(), cw.len());
}

/// A limited data set may keep real dates (45 CFR 164.514(e)(2)): it does
/// by default, in the tables and the notes, and `shift_dates` moves them.
#[test]
fn limited_keeps_real_dates_unless_asked_to_shift() {
    let d = tempfile::tempdir().unwrap();
    let inp = folder(d.path());
    let k = key(d.path(), "ab");
    let out = d.path().join("lim");
    let mut opts = options(&inp, &out, Mode::Limited, &k);
    opts.shift_dates = false;
    let ui = Ui::new(false, true, 0, true);
    let report = run(&opts, &ui).unwrap();
    assert!(!report.dates_shifted);
    let admit: Vec<String> = rows(&out.join("encounters.csv"))
        .iter()
        .map(|r| r["admit_time"].clone())
        .collect();
    assert_eq!(
        admit,
        [
            "2024-05-01T08:00:00",
            "2024-05-02T08:00:00",
            "2024-05-03T08:00:00",
            "2000-04-20T08:00:00"
        ]
    );
    assert_eq!(
        report.tables["encounters"].columns["admit_time"],
        "date: kept (real dates)"
    );
    let p = rows(&out.join("patients.csv"));
    assert_eq!(p[0]["birth_date"], "1934-06-02", "89: the real birth date");
    assert_eq!(p[1]["birth_date"], "", "90+: still no birth date");
    // in the notes the real dates stay, but a 90-year-old's birth date goes
    let notes = rows(&out.join("notes.csv"));
    assert_eq!(
        notes[0]["text"],
        "[NAME] [NAME] is a [AGE]-year-old man, born [DATE], admitted 05/02/2024."
    );
    assert_eq!(
        notes[1]["text"],
        "[NAME] [NAME], 89-year-old woman, admitted May 1, 2024."
    );
    let readme = fs::read_to_string(out.join("README.md")).unwrap();
    assert!(readme.contains("are the real dates"), "{readme}");
    assert!(readme.contains("It is NOT de-identified under HIPAA Safe Harbor"));
    let manifest = fs::read_to_string(out.join("manifest.json")).unwrap();
    assert!(manifest.contains("\"dates_shifted\": false"), "{manifest}");

    // with shift_dates every date moves, and the README says so
    let shifted = d.path().join("lim-shifted");
    let mut opts = options(&inp, &shifted, Mode::Limited, &k);
    opts.shift_dates = true;
    assert!(run(&opts, &ui).unwrap().dates_shifted);
    for (r, real) in rows(&shifted.join("encounters.csv")).iter().zip(&admit) {
        assert_ne!(&r["admit_time"], real);
    }
    let readme = fs::read_to_string(shifted.join("README.md")).unwrap();
    assert!(readme.contains("secret per-patient shift (`--shift-dates`)"));

    // shifting is a limited data set's option only
    let mut opts = options(&inp, &d.path().join("x"), Mode::Pseudonymize, &k);
    opts.shift_dates = true;
    let err = run(&opts, &ui).unwrap_err();
    assert!(
        err.to_string()
            .contains("--shift-dates is for --mode limited"),
        "{err}"
    );
}
