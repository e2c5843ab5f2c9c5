//! Columns whose meaning depends on their table (a drug's `name` is no
//! person's) and date cells that cannot be read, through `deid::run`.

use std::fs;
use std::path::{Path, PathBuf};

use carelab::deid::dataset::QUARANTINE;
use carelab::deid::roles::RoleMap;
use carelab::deid::{run, Mode, Options, Report};
use carelab::ui::Ui;

use crate::deid_rules::{crosswalk_beside, rows};

const PATIENTS: &str = "patient_id,mrn,given_name,family_name,sex,birth_date,race,ethnicity,payer,address_line,city,state,zip,phone,email,ssn,death_date
P1,MR1,Ann,Abbott,F,1950-06-02,White,Not Hispanic or Latino,Medicare,1 Oak St,Reno,NV,89501,775-555-0101,ann@example.org,111-22-3333,
P2,MR2,Bob,Warfield,M,1960-06-01,White,Not Hispanic or Latino,Medicare,2 Oak St,Boston,MA,02139,617-555-0102,bob@example.org,222-33-4444,
";

const MEDICATIONS: &str = "medication_id,patient_id,encounter_id,rxnorm,name,authored_time
M1,P1,E1,29046,lisinopril,2024-05-01T09:00:00
M2,P2,E2,11289,warfarin,2024-05-02T09:00:00
";

const ENCOUNTERS: &str =
    "encounter_id,patient_id,class,admit_time,discharge_time,disposition,reason_code
E1,P1,IMP,2024-05-01T08:00:00,2024-05-03T12:00:00,home,I50.9
E2,P2,IMP,not recorded,2024-13-45T12:00:00,home,I50.9
";

const NOTES: &str = "note_id,patient_id,encounter_id,time,text
N1,P1,E1,2024-05-03T12:00:00,\"Ann Abbott was started on lisinopril 05/01/2024; seen before on 12/31/23.\"
N2,P2,E2,2024-05-04T12:00:00,\"Bob Warfield takes warfarin since 03/02/2024.\"
";

fn folder(dir: &Path) -> PathBuf {
    let inp = dir.join("in");
    fs::create_dir_all(&inp).unwrap();
    fs::write(inp.join("patients.csv"), PATIENTS).unwrap();
    fs::write(inp.join("medications.csv"), MEDICATIONS).unwrap();
    fs::write(inp.join("encounters.csv"), ENCOUNTERS).unwrap();
    fs::write(inp.join("notes.csv"), NOTES).unwrap();
    // a table of people by a bare `name` column, no code beside it
    fs::write(
        inp.join("contacts.csv"),
        "contact_id,patient_id,name\nC1,P1,Carl Abbott\n",
    )
    .unwrap();
    inp
}

fn deid(dir: &Path, mode: Mode) -> (PathBuf, Report) {
    let key = dir.join("key.hex");
    fs::write(&key, "ab".repeat(32)).unwrap();
    let out = dir.join(format!("{mode:?}"));
    let opts = Options {
        input: folder(dir),
        output: out.clone(),
        mode,
        key_file: Some(key),
        crosswalk: (mode == Mode::SafeHarbor).then(|| crosswalk_beside(&out)),
        roles: RoleMap::default(),
        quasi: vec![],
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
    };
    let report = run(&opts, &Ui::new(false, true, 0, true)).unwrap();
    (out, report)
}

fn column(path: &Path, name: &str) -> Vec<String> {
    rows(path).iter().map(|r| r[name].clone()).collect()
}

#[test]
fn drug_names_survive_safe_harbor_while_person_names_go() {
    let d = tempfile::tempdir().unwrap();
    let (out, report) = deid(d.path(), Mode::SafeHarbor);
    // the drug a code names is kept, whatever it sounds like
    assert_eq!(
        column(&out.join("medications.csv"), "name"),
        ["lisinopril", "warfarin"]
    );
    assert_eq!(
        column(&out.join("medications.csv"), "rxnorm"),
        ["29046", "11289"]
    );
    assert_eq!(report.tables["medications"].columns["name"], "keep: kept");
    // person names: gone from the patients table and from a table that
    // holds a bare `name` with no code beside it
    let header = |t: &str| -> String {
        fs::read_to_string(out.join(t))
            .unwrap()
            .lines()
            .next()
            .unwrap()
            .to_string()
    };
    assert!(!header("patients.csv").contains("given_name"));
    assert!(!header("patients.csv").contains("family_name"));
    assert_eq!(header("contacts.csv"), "contact_id,patient_id");
    assert_eq!(report.tables["contacts"].columns["name"], "name: removed");
    // and from the notes, where the drugs stay readable
    assert_eq!(
        column(&out.join("notes.csv"), "text"),
        [
            "[NAME] [NAME] was started on lisinopril [DATE]; seen before on [DATE].",
            "[NAME] [NAME] takes warfarin since [DATE].",
        ]
    );
    for t in [
        "patients.csv",
        "notes.csv",
        "contacts.csv",
        "medications.csv",
    ] {
        let text = fs::read_to_string(out.join(t)).unwrap();
        for name in ["Ann", "Abbott", "Bob", "Warfield", "Carl"] {
            assert!(!text.contains(name), "{name} in {t}");
        }
    }
}

#[test]
fn unreadable_date_cells_are_removed_counted_and_listed_without_their_value() {
    let d = tempfile::tempdir().unwrap();
    let (out, report) = deid(d.path(), Mode::Limited);
    let enc = rows(&out.join("encounters.csv"));
    // the readable row moves by its patient's shift, the unreadable cells
    // are empty: never the real text passed on
    assert_eq!(enc[0]["admit_time"].len(), 19);
    assert_ne!(enc[0]["admit_time"], "2024-05-01T08:00:00");
    assert_eq!(enc[1]["admit_time"], "");
    assert_eq!(enc[1]["discharge_time"], "");
    assert_eq!(report.tables["encounters"].rows_in, 2);
    assert_eq!(report.tables["encounters"].rows_out, 2, "the row is kept");
    let counts: Vec<(&str, u64)> = report.tables["encounters"]
        .unreadable_dates
        .iter()
        .map(|(c, n)| (c.as_str(), *n))
        .collect();
    assert_eq!(counts, [("admit_time", 1), ("discharge_time", 1)]);
    assert_eq!(report.unreadable_dates, 2);
    let reason = "not a date (expected YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS): removed";
    assert_eq!(
        fs::read_to_string(out.join(QUARANTINE)).unwrap(),
        format!(
            "table,row,column,reason\nencounters,2,admit_time,{reason}\nencounters,2,discharge_time,{reason}\n"
        )
    );
    let md = fs::read_to_string(out.join("deid-report.md")).unwrap();
    assert!(md.contains("2 date cells could not be read"), "{md}");
    assert!(md.contains("- `encounters.admit_time` — 1"), "{md}");
    // a note date with a two-digit year cannot be shifted: it is removed,
    // and counted, while the readable one moves
    let notes = column(&out.join("notes.csv"), "text");
    assert!(notes[0].ends_with("seen before on [DATE]."), "{}", notes[0]);
    assert!(!notes[0].contains("05/01/2024"), "{}", notes[0]);
    assert_eq!(report.note_dates_not_shifted, 1);
    let json: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(out.join("deid-report.json")).unwrap()).unwrap();
    assert_eq!(json["unreadable_dates"], 2);
    assert_eq!(
        json["tables"]["encounters"]["unreadable_dates"]["admit_time"],
        1
    );

    // Safe Harbor cannot cut an unreadable date to its year either
    let (sh, report) = deid(d.path(), Mode::SafeHarbor);
    assert_eq!(
        column(&sh.join("encounters.csv"), "admit_time"),
        ["2024", ""]
    );
    assert_eq!(report.unreadable_dates, 2);
    assert_eq!(report.note_dates_not_shifted, 0);
    // pseudonymisation leaves dates as they are: nothing to report
    let (ps, r) = deid(d.path(), Mode::Pseudonymize);
    assert_eq!(r.unreadable_dates, 0);
    assert_eq!(
        fs::read_to_string(ps.join(QUARANTINE)).unwrap(),
        "table,row,column,reason\n"
    );
}
