//! Ingest's OMOP CDM v5.4 output, checked from the outside: a generated
//! population ingested from CSV, its `cdm.sqlite` and `cdm/*.parquet`
//! against OHDSI's field-level specification (names, order, types,
//! required fields, foreign keys), identifiers kept out of the CDM, and
//! Book-of-OHDSI style queries against the source data's own counts.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use arrow_schema::{DataType, TimeUnit};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use rusqlite::Connection;

use crate::cli_support::succeeded;

/// The tables ingest fills (the vocabulary tables from the shipped subset).
const TABLES: [&str; 17] = [
    "person",
    "observation_period",
    "visit_occurrence",
    "condition_occurrence",
    "drug_exposure",
    "measurement",
    "note",
    "death",
    "location",
    "care_site",
    "cdm_source",
    "concept",
    "concept_relationship",
    "vocabulary",
    "domain",
    "concept_class",
    "relationship",
];

struct Fixture {
    _dir: tempfile::TempDir,
    gen: PathBuf,
    out: PathBuf,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let gen = dir.path().join("gen");
        let out = dir.path().join("out");
        let run = |args: &[&str]| {
            succeeded(
                Command::new(env!("CARGO_BIN_EXE_carelab"))
                    .args(args)
                    .output()
                    .unwrap(),
            )
        };
        run(&[
            "-q",
            "--no-progress",
            "data",
            "generate",
            "--scenario",
            "baseline",
            "--patients",
            "80",
            "--formats",
            "csv",
            "--out",
            gen.to_str().unwrap(),
        ]);
        run(&[
            "-q",
            "--no-progress",
            "ingest",
            "--csv",
            gen.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]);
        Fixture {
            _dir: dir,
            gen,
            out,
        }
    })
}

fn db() -> Connection {
    Connection::open(fixture().out.join("cdm.sqlite")).unwrap()
}

fn count(conn: &Connection, sql: &str) -> i64 {
    conn.query_row(sql, [], |r| r.get(0))
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// A generated CSV table as rows of named columns.
fn rows(name: &str) -> Vec<BTreeMap<String, String>> {
    let mut r = csv::Reader::from_path(fixture().gen.join(name)).unwrap();
    let headers = r.headers().unwrap().clone();
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            headers
                .iter()
                .zip(rec.iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

struct SpecField {
    name: String,
    datatype: String,
    required: bool,
    fk: Option<(String, String)>,
}

/// OHDSI's field-level specification, read here independently of the
/// writer.
fn spec() -> BTreeMap<String, Vec<SpecField>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("datasets/omop-cdm-v5.4/OMOP_CDMv5.4_Field_Level.csv");
    let mut r = csv::Reader::from_path(path).unwrap();
    let mut out: BTreeMap<String, Vec<SpecField>> = BTreeMap::new();
    for rec in r.deserialize::<BTreeMap<String, String>>() {
        let rec = rec.unwrap();
        let get = |k: &str| rec.get(k).cloned().unwrap_or_default();
        let fk = (get("isForeignKey") == "Yes").then(|| {
            (
                get("fkTableName").to_lowercase(),
                get("fkFieldName").to_lowercase(),
            )
        });
        out.entry(get("cdmTableName").to_lowercase())
            .or_default()
            .push(SpecField {
                name: get("cdmFieldName").to_lowercase(),
                datatype: get("cdmDatatype").to_lowercase(),
                required: get("isRequired") == "Yes",
                fk,
            });
    }
    out
}

#[test]
fn sqlite_tables_match_the_field_level_specification() {
    let spec = spec();
    let conn = db();
    for table in TABLES {
        let fields = &spec[table];
        let mut stmt = conn
            .prepare(&format!("SELECT name FROM pragma_table_info('{table}')"))
            .unwrap();
        let columns: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let expected: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(columns, expected, "{table}: columns and their order");
        for f in fields {
            let col = &f.name;
            if f.required {
                assert_eq!(
                    count(
                        &conn,
                        &format!("SELECT count(*) FROM {table} WHERE {col} IS NULL")
                    ),
                    0,
                    "{table}.{col} is required"
                );
            }
            // every stored value has the specification's type
            let (types, pattern) = match f.datatype.as_str() {
                "integer" => ("'integer'", None),
                "float" => ("'real'", None),
                "date" => ("'text'", Some("[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]")),
                "datetime" => (
                    "'text'",
                    Some("[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9] [0-2][0-9]:[0-5][0-9]:[0-5][0-9]"),
                ),
                t if t.starts_with("varchar") => ("'text'", None),
                t => panic!("{table}.{col}: unknown type {t}"),
            };
            assert_eq!(
                count(
                    &conn,
                    &format!(
                        "SELECT count(*) FROM {table} WHERE {col} IS NOT NULL AND typeof({col}) NOT IN ({types})"
                    )
                ),
                0,
                "{table}.{col} holds only {types}"
            );
            if let Some(glob) = pattern {
                assert_eq!(
                    count(
                        &conn,
                        &format!(
                            "SELECT count(*) FROM {table} WHERE {col} IS NOT NULL AND {col} NOT GLOB '{glob}'"
                        )
                    ),
                    0,
                    "{table}.{col} is ISO 8601"
                );
            }
            // every foreign key resolves (provider, visit_detail, ... are
            // empty, so a key into them must be null)
            if let Some((fk_table, fk_field)) = &f.fk {
                let unresolved = count(
                    &conn,
                    &format!(
                        "SELECT count(*) FROM {table} WHERE {col} IS NOT NULL \
                         AND {col} NOT IN (SELECT {fk_field} FROM {fk_table})"
                    ),
                );
                assert_eq!(unresolved, 0, "{table}.{col} -> {fk_table}.{fk_field}");
            }
        }
    }
    // the primary keys are loaded (as unique indexes of OHDSI's names)
    assert_eq!(
        count(
            &conn,
            "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = 'xpk_person'"
        ),
        1
    );
    assert!(conn
        .execute(
            "INSERT INTO person (person_id, gender_concept_id, year_of_birth, race_concept_id, ethnicity_concept_id) \
             SELECT person_id, 0, 1950, 0, 0 FROM person LIMIT 1",
            [],
        )
        .is_err());
    for table in [
        "person",
        "observation_period",
        "visit_occurrence",
        "condition_occurrence",
        "drug_exposure",
        "measurement",
        "note",
        "location",
        "care_site",
        "cdm_source",
        "concept",
    ] {
        assert!(
            count(&conn, &format!("SELECT count(*) FROM {table}")) > 0,
            "{table} is empty"
        );
    }
}

/// Each column's Parquet logical type as written in the file's footer
/// (`Date`, `Timestamp { .. unit: MILLIS .. }`, `String`, or `none`): what
/// DuckDB, Spark and pandas go by.
pub(crate) fn logical_types(path: &Path) -> BTreeMap<String, String> {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let reader = SerializedFileReader::new(std::fs::File::open(path).unwrap()).unwrap();
    let schema = reader.metadata().file_metadata().schema_descr_ptr();
    schema
        .columns()
        .iter()
        .map(|c| {
            let t = c
                .logical_type_ref()
                .map_or_else(|| "none".to_string(), |t| format!("{t:?}"));
            (c.name().to_string(), t)
        })
        .collect()
}

/// The OMOP-like tables of `omop/` keep their dates and times as Parquet
/// dates and timestamps too.
#[test]
fn omop_like_tables_write_dates_and_times_as_parquet_dates_and_timestamps() {
    let dir = fixture().out.join("omop");
    for (table, column, logical) in [
        ("person", "birth_datetime", "Timestamp"),
        ("person", "death_date", "Date"),
        ("visit_occurrence", "visit_start_datetime", "Timestamp"),
        ("visit_occurrence", "visit_end_datetime", "Timestamp"),
        ("measurement", "measurement_datetime", "Timestamp"),
        ("condition_occurrence", "condition_start_date", "Date"),
        ("drug_exposure", "drug_exposure_start_datetime", "Timestamp"),
        ("note", "note_datetime", "Timestamp"),
    ] {
        let got = &logical_types(&dir.join(format!("{table}.parquet")))[column];
        assert!(got.starts_with(logical), "{table}.{column}: {got}");
    }
    // and the values are the CSV's: the first stay's admission
    let visits = read_csv(&dir.join("visit_occurrence.csv"));
    let file = std::fs::File::open(dir.join("visit_occurrence.parquet")).unwrap();
    let batch = ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap()
        .next()
        .unwrap()
        .unwrap();
    let start = batch
        .column_by_name("visit_start_datetime")
        .unwrap()
        .as_any()
        .downcast_ref::<arrow_array::TimestampMillisecondArray>()
        .unwrap()
        .value_as_datetime(0)
        .unwrap();
    assert_eq!(
        start.format("%Y-%m-%dT%H:%M:%S").to_string(),
        visits[0]["visit_start_datetime"]
    );
}

#[test]
fn parquet_tables_have_the_specification_s_columns_and_logical_types() {
    let spec = spec();
    let conn = db();
    for table in TABLES {
        let path = fixture().out.join("cdm").join(format!("{table}.parquet"));
        let file = std::fs::File::open(&path).unwrap();
        let builder = ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
        let schema = builder.schema().clone();
        let fields = &spec[table];
        assert_eq!(schema.fields().len(), fields.len(), "{table}");
        for (got, want) in schema.fields().iter().zip(fields) {
            assert_eq!(got.name(), &want.name, "{table}");
            let t = match want.datatype.as_str() {
                "integer" => DataType::Int64,
                "float" => DataType::Float64,
                "date" => DataType::Date32,
                "datetime" => DataType::Timestamp(TimeUnit::Millisecond, None),
                _ => DataType::Utf8,
            };
            assert_eq!(got.data_type(), &t, "{table}.{}", want.name);
            // what readers other than Arrow see: Parquet's own logical type
            let logical = match want.datatype.as_str() {
                "date" => Some("Date"),
                "datetime" => {
                    Some("Timestamp(TimestampType { is_adjusted_to_u_t_c: false, unit: MILLIS")
                }
                _ => None,
            };
            if let Some(logical) = logical {
                let got = &logical_types(&path)[&want.name];
                assert!(got.starts_with(logical), "{table}.{}: {got}", want.name);
            }
            assert_eq!(got.is_nullable(), !want.required, "{table}.{}", want.name);
        }
        let n: usize = builder
            .build()
            .unwrap()
            .map(|b| b.unwrap().num_rows())
            .sum();
        let in_db = count(&conn, &format!("SELECT count(*) FROM {table}"));
        assert_eq!(n as i64, in_db, "{table}: Parquet and SQLite rows");
    }
}

/// No identifier of `people` in any CDM table (free-text notes aside), and
/// no CDM column named like one.
fn assert_no_identifiers(conn: &Connection, people: &[BTreeMap<String, String>]) {
    conn.execute_batch("CREATE TEMP TABLE IF NOT EXISTS ids (v TEXT)")
        .unwrap();
    let mut names = Vec::new();
    for p in people {
        for k in ["ssn", "phone", "email", "mrn", "address_line", "zip"] {
            if !p[k].is_empty() {
                conn.execute("INSERT INTO ids VALUES (?1)", [&p[k]])
                    .unwrap();
            }
        }
        names.push(format!("{} {}", p["given_name"], p["family_name"]));
    }
    assert!(count(conn, "SELECT count(*) FROM ids") > 4 * people.len() as i64);
    let spec = spec();
    for table in TABLES {
        for f in &spec[table] {
            let col = &f.name;
            for banned in ["ssn", "phone", "email", "mrn", "given_name", "family_name"] {
                assert!(!col.contains(banned), "{table}.{col}");
            }
            // free text is the one place the CDM keeps what was written
            if !f.datatype.starts_with("varchar") || (table, col.as_str()) == ("note", "note_text")
            {
                continue;
            }
            let found = count(
                conn,
                &format!("SELECT count(*) FROM {table} WHERE {col} IN (SELECT v FROM temp.ids)"),
            );
            assert_eq!(found, 0, "{table}.{col} holds an identifier");
            for name in &names {
                let found = count(
                    conn,
                    &format!(
                        "SELECT count(*) FROM {table} WHERE instr({col}, '{}') > 0",
                        name.replace('\'', "''")
                    ),
                );
                assert_eq!(found, 0, "{table}.{col} holds a name");
            }
        }
    }
    for col in ["address_1", "address_2", "city", "county"] {
        assert_eq!(
            count(
                conn,
                &format!("SELECT count(*) FROM location WHERE {col} IS NOT NULL")
            ),
            0
        );
    }
}

fn read_csv(path: &Path) -> Vec<BTreeMap<String, String>> {
    let mut r = csv::Reader::from_path(path).unwrap();
    r.deserialize().map(Result::unwrap).collect()
}

#[test]
fn identifiers_stay_outside_the_cdm() {
    let patients = rows("patients.csv");
    assert_no_identifiers(&db(), &patients);
    // ... and are kept, by person_id, beside it
    let kept: BTreeSet<(String, String)> = read_csv(&fixture().out.join("identifiers.csv"))
        .into_iter()
        .map(|x| (x["person_source_value"].clone(), x["ssn"].clone()))
        .collect();
    let generated: BTreeSet<(String, String)> = patients
        .iter()
        .map(|p| (p["patient_id"].clone(), p["ssn"].clone()))
        .collect();
    assert_eq!(kept, generated);
}

/// The legacy silos' registration system keys its patients by MRN: the
/// linked person's id is an MRN, and stays out of `person_source_value`.
#[test]
fn legacy_silos_keep_their_mrns_out_of_the_cdm() {
    let dir = tempfile::tempdir().unwrap();
    let config =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/legacy-messy/legacy/pipeline.toml");
    succeeded(
        Command::new(env!("CARGO_BIN_EXE_carelab"))
            .args(["-q", "--no-progress", "ingest", "--config"])
            .arg(&config)
            .arg("--out")
            .arg(dir.path())
            .output()
            .unwrap(),
    );
    let people = read_csv(&dir.path().join("identifiers.csv"));
    assert!(
        people
            .iter()
            .filter(|p| p["person_source_value"] == p["mrn"])
            .count()
            > 100
    );
    let conn = Connection::open(dir.path().join("cdm.sqlite")).unwrap();
    assert_no_identifiers(&conn, &people);
    assert_eq!(
        count(&conn, "SELECT count(*) FROM person"),
        people.len() as i64
    );
}

/// The Book of OHDSI's first queries, on `cdm.sqlite`, against counts
/// taken from the generated source files.
#[test]
fn book_of_ohdsi_queries_count_what_the_sources_hold() {
    let conn = db();
    let patients = rows("patients.csv");
    // persons by gender, through the concept table
    let mut stmt = conn
        .prepare(
            "SELECT c.concept_name, COUNT(*) FROM person p \
             JOIN concept c ON p.gender_concept_id = c.concept_id \
             GROUP BY c.concept_name ORDER BY c.concept_name",
        )
        .unwrap();
    let by_gender: Vec<(String, i64)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let n = |sex: &str| patients.iter().filter(|p| p["sex"] == sex).count() as i64;
    assert_eq!(
        by_gender,
        vec![("FEMALE".to_string(), n("F")), ("MALE".to_string(), n("M"))]
    );
    assert_eq!(n("F") + n("M"), patients.len() as i64);

    // persons with essential hypertension: ICD-10-CM I10 mapped to SNOMED
    let with_i10: BTreeSet<String> = rows("conditions.csv")
        .into_iter()
        .filter(|c| c["code"] == "I10")
        .map(|c| c["patient_id"].clone())
        .collect();
    assert!(!with_i10.is_empty());
    let hypertension = count(
        &conn,
        "SELECT COUNT(DISTINCT co.person_id) FROM condition_occurrence co \
         JOIN concept c ON co.condition_concept_id = c.concept_id \
         WHERE c.concept_name = 'Essential hypertension' AND c.vocabulary_id = 'SNOMED' \
         AND co.condition_status_source_value IS NULL",
    );
    assert_eq!(hypertension, with_i10.len() as i64);

    // glucose results in mg/dL, by LOINC concept and UCUM unit
    let glucose = rows("observations.csv")
        .into_iter()
        .filter(|o| o["code"] == "2345-7")
        .count() as i64;
    assert!(glucose > 0);
    assert_eq!(
        count(
            &conn,
            "SELECT COUNT(*) FROM measurement m \
             JOIN concept c ON m.measurement_concept_id = c.concept_id \
             JOIN concept u ON m.unit_concept_id = u.concept_id \
             WHERE c.concept_code = '2345-7' AND u.concept_code = 'mg/dL'"
        ),
        glucose
    );

    // inpatient stays and their length, as the generator wrote them
    let stays = rows("encounters.csv");
    assert_eq!(
        count(
            &conn,
            "SELECT COUNT(*) FROM visit_occurrence WHERE visit_concept_id = 9201"
        ),
        stays.iter().filter(|e| e["class"] == "IMP").count() as i64
    );
    // every event lies inside its person's observation period
    assert_eq!(
        count(
            &conn,
            "SELECT COUNT(*) FROM measurement m JOIN observation_period op \
             ON m.person_id = op.person_id \
             WHERE m.measurement_date NOT BETWEEN op.observation_period_start_date \
             AND op.observation_period_end_date"
        ),
        0
    );
    let deaths = patients
        .iter()
        .filter(|p| !p["death_date"].is_empty())
        .count() as i64;
    assert_eq!(count(&conn, "SELECT COUNT(*) FROM death"), deaths);
}

/// `sql/index_stays.sql` on `cdm.sqlite` gives ingest's own analysis
/// table's stays and labels, row for row.
#[test]
fn sql_derives_the_index_stays_and_labels_of_the_analysis_table() {
    let conn = db();
    let sql =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("sql/index_stays.sql"))
            .unwrap();
    let quality: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture().out.join("quality.json")).unwrap())
            .unwrap();
    let data_end = quality["data_end"].as_str().unwrap().replace('T', " ");
    let mut stmt = conn.prepare(&sql).unwrap();
    // stay, patient, admit, discharge, label; then the three durations
    type Row = ([String; 5], [Option<f64>; 3]);
    let from_sql: Vec<Row> = stmt
        .query_map(rusqlite::named_params! { ":data_end": data_end }, |r| {
            Ok((
                [
                    r.get::<_, String>("stay_id")?,
                    r.get::<_, String>("patient_id")?,
                    r.get::<_, String>("admit_time")?,
                    r.get::<_, String>("discharge_time")?,
                    r.get::<_, i64>("readmit_30d")?.to_string(),
                ],
                [
                    r.get("los_days")?,
                    r.get::<_, Option<i64>>("prior_admissions_365d")?
                        .map(|n| n as f64),
                    r.get("days_since_last_discharge")?,
                ],
            ))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let num = |s: &str| (!s.is_empty()).then(|| s.parse::<f64>().unwrap());
    let from_ingest: Vec<Row> = read_csv(&fixture().out.join("analysis.csv"))
        .into_iter()
        .map(|x| {
            (
                [
                    x["stay_id"].clone(),
                    x["patient_id"].clone(),
                    x["admit_time"].replace('T', " "),
                    x["discharge_time"].replace('T', " "),
                    x["readmit_30d"].clone(),
                ],
                [
                    num(&x["los_days"]),
                    num(&x["prior_admissions_365d"]),
                    num(&x["days_since_last_discharge"]),
                ],
            )
        })
        .collect();
    assert!(from_ingest.len() > 20, "{}", from_ingest.len());
    assert!(from_ingest.iter().any(|x| x.0[4] == "1"));
    assert!(from_ingest
        .iter()
        .any(|x| x.1[1] > Some(0.0) && x.1[2].is_some()));
    assert_eq!(from_sql.len(), from_ingest.len());
    for (got, want) in from_sql.iter().zip(&from_ingest) {
        assert_eq!(got.0, want.0);
        for (g, w) in got.1.iter().zip(&want.1) {
            let same = match (g, w) {
                (Some(g), Some(w)) => (g - w).abs() < 1e-9,
                (None, None) => true,
                _ => false,
            };
            assert!(same, "stay {}: {:?} vs {:?}", want.0[0], got.1, want.1);
        }
    }
}

/// The concepts of the shipped vocabulary subset, as (vocabulary, code).
fn shipped_codes() -> BTreeSet<(String, String)> {
    read_csv(&Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/omop-vocabulary/concept.csv"))
        .into_iter()
        .map(|c| (c["vocabulary_id"].clone(), c["concept_code"].clone()))
        .collect()
}

/// The data-quality checks of quality.json by name.
fn reported_checks() -> BTreeMap<String, serde_json::Value> {
    let quality: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture().out.join("quality.json")).unwrap())
            .unwrap();
    quality["cdm_checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap().to_string(), c.clone()))
        .collect()
}

/// The DQD-style checks of the quality report, on a clean generated
/// population: every check but concept coverage passes with nothing
/// violated, each looked at the rows the sources hold, and concept coverage
/// counts exactly the records whose code the vocabulary subset lacks.
#[test]
fn data_quality_checks_pass_on_a_generated_population_with_their_counts() {
    let checks = reported_checks();
    assert!(checks.len() >= 12, "{:?}", checks.keys());
    let md = std::fs::read_to_string(fixture().out.join("quality.md")).unwrap();
    assert!(md.contains("## CDM data-quality checks"), "{md}");
    for category in ["conformance", "completeness", "plausibility"] {
        assert!(
            checks.values().any(|c| c["category"] == category),
            "{category}"
        );
    }
    let n = |check: &str, key: &str| checks[check][key].as_u64().unwrap();
    let patients = rows("patients.csv");
    let observations = rows("observations.csv");
    let encounters = rows("encounters.csv");
    assert_eq!(
        n("year_of_birth_plausible", "checked"),
        patients.len() as u64
    );
    assert_eq!(
        n("person_has_observation_period", "checked"),
        patients.len() as u64
    );
    assert_eq!(
        n("measurement_value_has_unit", "checked"),
        observations
            .iter()
            .filter(|o| !o["value"].is_empty())
            .count() as u64
    );
    // every stay's start and end (date and time), every observation
    // period, condition with an end and drug exposure
    assert!(n("start_before_end", "checked") >= 2 * encounters.len() as u64);
    for check in [
        "person_id_resolves",
        "visit_occurrence_id_resolves",
        "concept_id_in_vocabulary",
        "concept_in_its_domain",
        "standard_concept_used",
        "required_field_present",
        "after_birth",
        "within_observation_period",
        "measurement_value_plausible",
    ] {
        assert!(n(check, "checked") > 0, "{check} looked at no rows");
    }
    // concept coverage, counted from the sources and the shipped subset
    let known = shipped_codes();
    let unknown = |vocabulary: &str, codes: Vec<String>| {
        codes
            .into_iter()
            .filter(|c| !known.contains(&(vocabulary.to_string(), c.clone())))
            .count() as u64
    };
    let conditions = unknown(
        "ICD10CM",
        rows("conditions.csv")
            .into_iter()
            .map(|c| c["code"].clone())
            .chain(encounters.iter().map(|e| e["reason_code"].clone()))
            .filter(|c| !c.is_empty())
            .collect(),
    );
    let drugs = unknown(
        "RxNorm",
        rows("medications.csv")
            .into_iter()
            .map(|m| m["rxnorm"].clone())
            .collect(),
    );
    let measurements = unknown(
        "LOINC",
        observations.iter().map(|o| o["code"].clone()).collect(),
    );
    let mapped = &checks["concept_mapped"];
    assert_eq!(
        mapped["violated"].as_u64().unwrap(),
        conditions + drugs + measurements
    );
    let fields: BTreeMap<&str, &serde_json::Value> = mapped["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["field"].as_str().unwrap(), f))
        .collect();
    let mut expect_pass = true;
    for (field, zero) in [
        ("condition_occurrence.condition_concept_id", conditions),
        ("drug_exposure.drug_concept_id", drugs),
        ("measurement.measurement_concept_id", measurements),
    ] {
        if zero == 0 {
            assert!(!fields.contains_key(field), "{field}");
            continue;
        }
        let f = fields[field];
        assert_eq!(f["violated"].as_u64().unwrap(), zero, "{field}");
        let over = 100.0 * zero as f64 / f["checked"].as_f64().unwrap() > 5.0;
        assert_eq!(f["passed"].as_bool().unwrap(), !over, "{field}");
        expect_pass &= !over;
    }
    assert_eq!(mapped["passed"].as_bool().unwrap(), expect_pass);
    for (name, c) in &checks {
        if name != "concept_mapped" {
            assert_eq!(c["violated"], 0, "{name}: {c}");
            assert_eq!(c["passed"], true, "{name}: {c}");
        }
    }
}

/// The checks map at most the bytes they are given of the database; what
/// they find does not depend on it (the rest is read page by page).
#[test]
fn the_checks_find_the_same_whatever_part_of_the_database_they_map() {
    let db = fixture().out.join("cdm.sqlite");
    let mapped = carelab::ingest::cdm_checks::run(&db, 1 << 30).unwrap();
    let unmapped = carelab::ingest::cdm_checks::run(&db, 0).unwrap();
    assert!(mapped.iter().any(|c| c.checked > 0));
    assert_eq!(mapped, unmapped);
}

/// Break one thing in a copy of cdm.sqlite: exactly the check about it
/// fails, on exactly that field and row.
#[test]
fn a_corrupted_cdm_fails_exactly_the_check_it_breaks() {
    let dir = tempfile::tempdir().unwrap();
    let failing = |sql: &str| -> BTreeMap<String, (u64, Vec<String>)> {
        let path = dir.path().join("cdm.sqlite");
        std::fs::copy(fixture().out.join("cdm.sqlite"), &path).unwrap();
        Connection::open(&path).unwrap().execute_batch(sql).unwrap();
        carelab::ingest::cdm_checks::run(&path, 1 << 28)
            .unwrap()
            .into_iter()
            .filter(|c| c.violated > 0 && c.name != "concept_mapped")
            .map(|c| {
                let fields = c.fields.iter().map(|f| f.field.clone()).collect();
                assert!(!c.passed, "{}", c.name);
                (c.name, (c.violated, fields))
            })
            .collect()
    };
    assert_eq!(failing(""), BTreeMap::new());
    let one = |check: &str, field: &str| {
        BTreeMap::from([(check.to_string(), (1, vec![field.to_string()]))])
    };
    // a stay that ends the day before it starts
    assert_eq!(
        failing(
            "UPDATE visit_occurrence SET visit_end_date = date(visit_start_date, '-1 day') \
             WHERE visit_occurrence_id = 1"
        ),
        one("start_before_end", "visit_occurrence.visit_start_date")
    );
    // a heart rate no heart beats at
    assert_eq!(
        failing(
            "UPDATE measurement SET value_as_number = 900 WHERE measurement_id = \
             (SELECT min(measurement_id) FROM measurement WHERE measurement_source_value = '8867-4')"
        ),
        one("measurement_value_plausible", "")
    );
    // a condition coded with its ICD-10-CM source concept, not the standard one
    assert_eq!(
        failing(
            "UPDATE condition_occurrence SET condition_concept_id = condition_source_concept_id \
             WHERE condition_occurrence_id = \
             (SELECT min(condition_occurrence_id) FROM condition_occurrence WHERE condition_source_concept_id <> 0)"
        ),
        one("standard_concept_used", "condition_occurrence.condition_concept_id")
    );
}

/// The checks that compare a row with its person, its observation periods
/// or its measurement range read those once into an index of their own
/// (`datasets/omop-dq/checks.toml`); on a database with rows that break
/// them, they count exactly what the plain joins count.
#[test]
fn the_checks_that_look_up_another_table_count_what_a_join_counts() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cdm.sqlite");
    std::fs::copy(fixture().out.join("cdm.sqlite"), &path).unwrap();
    let conn = Connection::open(&path).unwrap();
    conn.execute_batch(
        "UPDATE measurement SET measurement_date = '1900-01-01' WHERE measurement_id % 97 = 0;
         UPDATE measurement SET measurement_date = '2999-01-01' WHERE measurement_id % 89 = 0;
         UPDATE visit_occurrence SET visit_start_date = '1800-01-01' WHERE visit_occurrence_id % 13 = 0;
         UPDATE drug_exposure SET drug_exposure_start_date = '2999-12-31' WHERE drug_exposure_id % 5 = 0;
         UPDATE measurement SET value_as_number = 1e6 WHERE measurement_id % 7 = 0;
         UPDATE measurement SET value_as_number = -1 WHERE measurement_id % 11 = 0;
         DELETE FROM observation_period WHERE person_id % 17 = 0;",
    )
    .unwrap();
    let found: BTreeMap<String, u64> = carelab::ingest::cdm_checks::run(&path, 1 << 28)
        .unwrap()
        .into_iter()
        .flat_map(|c| {
            [
                (format!("{} violated", c.name), c.violated),
                (format!("{} checked", c.name), c.checked),
            ]
        })
        .collect();
    // the same checks as joins, each field of checks.toml in turn
    let count = |sql: &str| conn.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap() as u64;
    let dated = [
        ("observation_period", "observation_period_start_date"),
        ("visit_occurrence", "visit_start_date"),
        ("condition_occurrence", "condition_start_date"),
        ("drug_exposure", "drug_exposure_start_date"),
        ("measurement", "measurement_date"),
        ("note", "note_date"),
        ("death", "death_date"),
    ];
    let before_birth: u64 = dated
        .iter()
        .map(|(t, f)| {
            count(&format!(
                "SELECT count(*) FROM {t} t JOIN person p ON p.person_id = t.person_id \
                 WHERE t.{f} < substr(coalesce(p.birth_datetime, printf('%04d-%02d-%02d', \
                 p.year_of_birth, coalesce(p.month_of_birth, 1), coalesce(p.day_of_birth, 1))), 1, 10)"
            ))
        })
        .sum();
    let outside: u64 = dated
        .iter()
        .filter(|(t, _)| *t != "observation_period")
        .chain([&("visit_occurrence", "visit_end_date")])
        .map(|(t, f)| {
            count(&format!(
                "SELECT count(*) FROM {t} t WHERE t.{f} IS NOT NULL AND t.rowid NOT IN \
                 (SELECT t.rowid FROM {t} t JOIN observation_period o ON o.person_id = t.person_id \
                 WHERE t.{f} BETWEEN o.observation_period_start_date AND o.observation_period_end_date)"
            ))
        })
        .sum();
    let ranges = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/omop-dq/measurement-ranges.csv"),
    )
    .unwrap();
    conn.execute_batch(
        "CREATE TEMP TABLE r (loinc TEXT, name TEXT, unit TEXT, low REAL, high REAL)",
    )
    .unwrap();
    for line in ranges.lines().skip(1) {
        let v: Vec<&str> = line.split(',').collect();
        conn.execute(
            "INSERT INTO r VALUES (?1, ?2, ?3, ?4, ?5)",
            rusqlite::params_from_iter(&v),
        )
        .unwrap();
    }
    let ranged = "SELECT count(*) FROM measurement m \
        JOIN concept c ON c.concept_id = m.measurement_concept_id AND c.vocabulary_id = 'LOINC' \
        JOIN concept u ON u.concept_id = m.unit_concept_id AND u.vocabulary_id = 'UCUM' \
        JOIN r ON r.loinc = c.concept_code AND r.unit = u.concept_code WHERE ";
    let expected = BTreeMap::from([
        ("after_birth violated".to_string(), before_birth),
        ("within_observation_period violated".to_string(), outside),
        (
            "measurement_value_plausible violated".to_string(),
            count(&format!(
                "{ranged} m.value_as_number < r.low OR m.value_as_number > r.high"
            )),
        ),
        (
            "measurement_value_plausible checked".to_string(),
            count(&format!("{ranged} m.value_as_number IS NOT NULL")),
        ),
    ]);
    for (name, n) in &expected {
        assert!(*n > 0, "{name}: the broken rows break nothing");
        assert_eq!(found[name], *n, "{name}");
    }
}

/// `.cargo/config.toml` leaves SQLite's optional parts that CareLab never
/// uses out of the build (LIBSQLITE3_FLAGS); what the CDM database and the
/// lab queries need stays in.
#[test]
fn sqlite_is_built_with_what_the_cdm_needs_and_without_the_rest() {
    let conn = Connection::open_in_memory().unwrap();
    let mut stmt = conn.prepare("PRAGMA compile_options").unwrap();
    let options: BTreeSet<String> = stmt
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for kept in ["ENABLE_STAT4", "THREADSAFE=1", "DEFAULT_FOREIGN_KEYS"] {
        assert!(options.contains(kept), "{kept} missing from {options:?}");
    }
    for left_out in [
        "ENABLE_FTS3",
        "ENABLE_FTS5",
        "ENABLE_RTREE",
        "ENABLE_DBSTAT_VTAB",
        "SOUNDEX",
    ] {
        assert!(!options.contains(left_out), "{left_out} in {options:?}");
    }
    // JSON and window functions are part of SQLite's core.
    let v: i64 = conn
        .query_row(
            "SELECT json_extract('{\"a\": 2}', '$.a') + (SELECT sum(x) OVER () FROM (SELECT 1 AS x))",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(v, 3);
}
