"""The equivalent peer of scripts/bench-ingest.sh: DuckDB doing the work of
`carelab ingest --csv` on the six records-schema CSV tables of a generated
population, as a data engineer would write it in DuckDB SQL, so that the
benchmark compares ingest with the same work and not only with the floor
(scripts/bench-ingest-duckdb.py, which loads the files and builds one stay
table).

What it does, in one DuckDB database file (`cdm.duckdb`):
- loads the six CSV files into temporary tables, typing dates, times and
  numbers as it reads them; a row that does not parse goes to DuckDB's
  rejects table and is quarantined, and so is a record whose id came
  earlier (duplicates: the first one is kept) and one whose patient, or
  encounter, does not exist or is another patient's (anti-joins). Every quarantined record is counted by reason and written
  to `quarantine/csv.csv` with the field, what it held and the whole
  record (as JSON);
- builds the OMOP CDM v5.4 tables CareLab fills, created from OHDSI's
  field-level specification (`datasets/omop-cdm-v5.4/`: column names,
  types, NOT NULL for required fields, primary keys): person,
  observation_period, visit_occurrence, condition_occurrence, drug_exposure,
  measurement, note, death, location (state and ZIP3), care_site,
  cdm_source, and the vocabulary tables loaded from the subset in
  `datasets/omop-vocabulary/`. Ids are integers as CareLab numbers them
  (persons in the order of their text ids, every other record in the order
  of its person, then its own text id); concept ids are joined from the
  vocabulary subset (the source concept and its "Maps to" standard
  concept, 0 where none); `_source_value` columns hold what the source
  sent; each table is also written to `cdm/<table>.parquet`
  (INT64, DATE, TIMESTAMP, DOUBLE);
- the identifiers table (`identifiers.csv` + `.parquet`, keyed by
  person_id), the OMOP-like tables (`omop/<table>.csv` + `.parquet`, the
  columns `carelab ingest` writes) and the analysis table (`analysis.csv` +
  `.parquet`, the columns of CareLab's: the index stays, label and
  utilisation features of `sql/index_stays.sql`, ported to DuckDB, with
  the other features known at discharge: age, comorbidities, drugs ordered,
  the last value of every lab and vital of the stay);
- data-quality checks over the CDM in the spirit of `datasets/omop-dq/`
  (the same checks by name, written for DuckDB; required fields, foreign
  keys and concept domains expanded over the field-level specification),
  written to `quality.json`.

What it leaves out: record linkage. It links nothing: every patient row is
one person (on `baseline` populations that is what linkage finds too), so
it writes no mpi.csv and no review queue; that is the one part of CareLab's
work it does not do (beside the manifest's checksums and the Markdown
report). It reads CSV only, and holds its inputs in memory up to DuckDB's
memory limit, not in a bounded amount. It writes no SQLite file: DuckDB's SQLite writer is an
extension fetched from the network, and its own database file (with the
primary keys, as an index each) is the equivalent. It adds none of OHDSI's
secondary indices (DuckDB scans columns; CareLab adds them for SQLite's
lookups), and it keeps a person's, visit's or note's text id in its
`_source_value` unless it equals an MRN (CareLab also leaves out one that
holds an MRN as a part: `M0042-V1`; generated CSV ids never do).

    python bench-ingest-duckdb-cdm.py DATA_DIR OUT_DIR
    python bench-ingest-duckdb-cdm.py --compare CARELAB_OUT OUT_DIR

$PEER_MEMORY_LIMIT (e.g. 12GB) sets DuckDB's memory_limit; by default
DuckDB takes up to 80% of the machine's memory.

The first prints one line: `duckdb-cdm persons=N quarantined=Q
checks=C checks_failed=F seconds=S`. The second compares a `carelab ingest
--out CARELAB_OUT` of the same data with this peer's OUT_DIR: every Parquet
table (CDM, OMOP-like, identifiers) by rows, by rows of each side missing
from the other (every column both have, compared as values) and by
non-zero concept ids per concept column; the analysis table row by row;
the quarantined records; and the data-quality checks (rows violated and
checked). It exits 1 when anything differs.
"""

import csv
import json
import os
import sys
import time

import duckdb

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
SPEC = os.path.join(ROOT, "datasets/omop-cdm-v5.4/OMOP_CDMv5.4_Field_Level.csv")
VOCABULARY = os.path.join(ROOT, "datasets/omop-vocabulary")
RANGES = os.path.join(ROOT, "datasets/omop-dq/measurement-ranges.csv")

# The CDM tables, in load order (as src/ingest/cdm.rs writes them).
CDM_TABLES = [
    "location", "care_site", "person", "observation_period", "visit_occurrence",
    "condition_occurrence", "drug_exposure", "measurement", "note", "death", "cdm_source",
]
VOCABULARY_TABLES = [
    "concept", "concept_relationship", "vocabulary", "domain", "concept_class", "relationship",
]
LOINC = "http://loinc.org"
EHR = 32817  # Type Concept "EHR": every record's type, as in CareLab
SOURCE = "csv"  # the one source system, the care site of every stay

# Each CSV table: its id column, the fields to type (column -> DuckDB type),
# and its references (column, table it must exist in, optional?).
INPUTS = {
    "patients": ("patient_id", {"birth_date": "DATE", "death_date": "DATE"}, []),
    "encounters": (
        "encounter_id",
        {"admit_time": "TIMESTAMP", "discharge_time": "TIMESTAMP"},
        [("patient_id", "patients", False)],
    ),
    "observations": (
        "observation_id",
        {"time": "TIMESTAMP", "value": "DOUBLE"},
        [("patient_id", "patients", False), ("encounter_id", "encounters", False)],
    ),
    "conditions": (
        "condition_id",
        {"onset_date": "DATE"},
        [("patient_id", "patients", False), ("encounter_id", "encounters", True)],
    ),
    "medications": (
        "medication_id",
        {"authored_time": "TIMESTAMP"},
        [("patient_id", "patients", False), ("encounter_id", "encounters", False)],
    ),
    "notes": (
        "note_id",
        {"time": "TIMESTAMP"},
        [("patient_id", "patients", False), ("encounter_id", "encounters", False)],
    ),
}


# Typed fields kept as text (a source value) and checked, cast where used.
KEEP_TEXT = {"observations": ["value"]}


def spec_fields():
    """OHDSI's field-level specification: rows of (table, field, required,
    type, primary key, fk table, fk field, fk domain), in spec order."""
    with open(SPEC, newline="", encoding="utf-8") as f:
        return [
            (
                r["cdmTableName"].lower(), r["cdmFieldName"].lower(), r["isRequired"] == "Yes",
                r["cdmDatatype"], r["isPrimaryKey"] == "Yes",
                r["fkTableName"].lower(), r["fkFieldName"].lower(), r["fkDomain"],
            )
            for r in csv.DictReader(f)
        ]


def duck_type(cdm_type: str) -> str:
    t = cdm_type.lower()
    if t in ("integer", "bigint"):
        return "BIGINT"
    return {"date": "DATE", "datetime": "TIMESTAMP", "float": "DOUBLE"}.get(t, "VARCHAR")


def create_cdm(db, fields) -> None:
    """Every CDM table CareLab writes, from the specification: its columns
    in order, typed, NOT NULL where required, and its primary key."""
    for table in CDM_TABLES + VOCABULARY_TABLES:
        cols = [f for f in fields if f[0] == table]
        defs = [f"{f[1]} {duck_type(f[3])}{' NOT NULL' if f[2] else ''}" for f in cols]
        keys = [f[1] for f in cols if f[4]]
        if keys:
            defs.append(f"PRIMARY KEY ({', '.join(keys)})")
        db.execute(f"CREATE TABLE {table} ({', '.join(defs)})")


def load(db, data: str) -> dict:
    """The six CSV files, typed and checked, as temporary tables named after
    them; returns the quarantine counts by reason."""
    db.execute(
        "CREATE TABLE quarantine (reason VARCHAR, source VARCHAR, \"table\" VARCHAR, "
        "location VARCHAR, field VARCHAR, found VARCHAR, record VARCHAR)"
    )

    def quarantine(table, reason, location, field, found, record, rows):
        db.execute(f"INSERT INTO quarantine SELECT '{reason}', '{SOURCE}', '{table}', "
                   f"{location}, '{field}', {found}, {record} FROM {rows}")

    for table, (key, typed, refs) in INPUTS.items():
        path = os.path.join(data, f"{table}.csv")
        with open(path, newline="", encoding="utf-8") as f:
            header = next(csv.reader(f))
        # the reader types the fields; a row that does not parse (a field, or
        # the row's shape) goes to DuckDB's rejects table, with its line
        kept = KEEP_TEXT.get(table, [])
        columns = ", ".join(
            f"'{c}': '{'VARCHAR' if c in kept else typed.get(c, 'VARCHAR')}'" for c in header)
        db.execute(
            f"CREATE TEMP TABLE {table} AS SELECT * FROM read_csv('{path.replace(chr(39), 2 * chr(39))}', "
            f"header = true, columns = {{{columns}}}, store_rejects = true, "
            f"rejects_table = 'rejects_{table}', rejects_scan = 'scans_{table}')"
        )
        quarantine(table, "' || lower(error_type) || ': ' || error_message || '",
                   f"'{table}.csv line ' || line", "' || column_name || '", "NULL", "csv_line",
                   f"rejects_{table}")
        # a field kept as text (a source value) that must still be a number
        for c in kept:
            bad = f"coalesce({c}, '') <> '' AND try_cast({c} AS {typed[c]}) IS NULL"
            quarantine(table, f"not a {typed[c].lower()}", key, c, c, "to_json(t)",
                       f"{table} t WHERE {bad}")
            db.execute(f"DELETE FROM {table} WHERE {bad}")
        # duplicates: the first record of an id is kept (an aggregate finds
        # the ids; only their records are ranked)
        db.execute(f"CREATE TEMP TABLE dup AS SELECT {key} FROM {table} GROUP BY {key} "
                   "HAVING count(*) > 1")
        if db.execute("SELECT count(*) FROM dup").fetchone()[0]:
            later = (f"(SELECT rowid AS r FROM (SELECT rowid, row_number() OVER "
                     f"(PARTITION BY {key} ORDER BY rowid) AS nth FROM {table} "
                     f"WHERE {key} IN (SELECT {key} FROM dup)) WHERE nth > 1)")
            quarantine(table, "a record with this id came earlier", key, key, key,
                       "to_json(t)", f"{table} t WHERE rowid IN {later}")
            db.execute(f"DELETE FROM {table} WHERE rowid IN {later}")
        db.execute("DROP TABLE dup")
        # references (anti-joins): the patient exists; the encounter exists
        # and is this patient's; a record is quarantined for the first it fails
        for col, target, optional in refs:
            blank = f"coalesce(t.{col}, '') = '' OR " if optional else ""
            if target == "patients":
                checks = [("no patient with this id",
                           f"patients p WHERE p.patient_id = t.{col}")]
            else:
                checks = [("no encounter with this id",
                           f"encounters e WHERE e.encounter_id = t.{col}"),
                          ("the encounter belongs to another patient",
                           f"encounters e WHERE e.encounter_id = t.{col} "
                           "AND e.patient_id = t.patient_id")]
            for reason, target_rows in checks:
                bad = f"NOT ({blank}EXISTS (SELECT 1 FROM {target_rows}))"
                quarantine(table, reason, f"t.{key}", col, f"t.{col}", "to_json(t)",
                           f"{table} t WHERE {bad}")
                if db.execute(f"SELECT count(*) FROM quarantine WHERE \"table\" = '{table}' "
                              f"AND reason = '{reason}'").fetchone()[0]:
                    db.execute(f"DELETE FROM {table} t WHERE {bad}")
    return dict(db.execute("SELECT reason, count(*) FROM quarantine GROUP BY ALL").fetchall())


def load_vocabulary(db) -> None:
    for table in VOCABULARY_TABLES:
        path = os.path.join(VOCABULARY, f"{table}.csv").replace("'", "''")
        db.execute(
            f"INSERT INTO {table} BY NAME SELECT * FROM read_csv('{path}', header = true, "
            f"all_varchar = true, quote = '\"')"
        )
    # code -> source concept, and the concept a source concept stands for:
    # itself when standard, else the one it "Maps to", else 0
    db.execute(
        """CREATE TEMP TABLE code AS
        SELECT c.vocabulary_id AS vocabulary, c.concept_code AS code, c.concept_id AS source,
               CASE WHEN c.standard_concept = 'S' THEN c.concept_id
                    ELSE coalesce(m.concept_id_2, 0) END AS standard
        FROM concept c
        LEFT JOIN concept_relationship m
               ON m.concept_id_1 = c.concept_id AND m.relationship_id = 'Maps to'"""
    )


def build_cdm(db) -> None:
    """The CDM rows from the clean records, numbered as CareLab numbers them
    (the rows of the large tables are stored as they come, not sorted: the
    ids, not the row order, are what the CDM defines)."""
    # end of the data: the latest admission (CareLab's default data_end)
    db.execute("CREATE TEMP TABLE data_end AS SELECT max(admit_time) AS t FROM encounters")
    db.execute("CREATE TEMP TABLE mrn AS SELECT DISTINCT trim(mrn) AS mrn FROM patients "
               "WHERE trim(coalesce(mrn, '')) <> ''")
    # persons in the order of their text ids; one person per patient (no linkage)
    db.execute(
        """CREATE TEMP TABLE pid AS
        SELECT patient_id, row_number() OVER (ORDER BY patient_id) AS person_id,
               CASE WHEN length(trim(state)) = 2 THEN upper(trim(state)) ELSE '' END AS st,
               CASE WHEN regexp_full_match(left(trim(zip), 3), '[0-9]{3}')
                    THEN left(trim(zip), 3) ELSE '' END AS zip3
        FROM patients"""
    )
    db.execute(
        """INSERT INTO location BY NAME
        SELECT row_number() OVER (ORDER BY st, zip3) AS location_id, st AS state, zip3 AS zip,
               trim(st || ' ' || zip3) AS location_source_value
        FROM (SELECT DISTINCT st, zip3 FROM pid WHERE st <> '' OR zip3 <> '')"""
    )
    db.execute(
        f"""INSERT INTO care_site BY NAME
        SELECT 1 AS care_site_id, '{SOURCE}' AS care_site_name, '{SOURCE}' AS care_site_source_value
        WHERE EXISTS (SELECT 1 FROM encounters)"""
    )
    db.execute(
        """INSERT INTO person BY NAME
        SELECT i.person_id,
               coalesce(g.source, 0) AS gender_concept_id,
               year(p.birth_date) AS year_of_birth, month(p.birth_date) AS month_of_birth,
               day(p.birth_date) AS day_of_birth, p.birth_date::TIMESTAMP AS birth_datetime,
               coalesce(r.source, 0) AS race_concept_id,
               coalesce(e.source, 0) AS ethnicity_concept_id,
               l.location_id,
               CASE WHEN trim(p.patient_id) IN (SELECT mrn FROM mrn) THEN NULL
                    ELSE trim(p.patient_id) END AS person_source_value,
               p.sex AS gender_source_value, 0 AS gender_source_concept_id,
               p.race AS race_source_value, 0 AS race_source_concept_id,
               p.ethnicity AS ethnicity_source_value, 0 AS ethnicity_source_concept_id
        FROM patients p
        JOIN pid i USING (patient_id)
        LEFT JOIN location l ON l.state = i.st AND l.zip = i.zip3
        LEFT JOIN code g ON g.vocabulary = 'Gender' AND g.code = upper(trim(p.sex))
        LEFT JOIN code r ON r.vocabulary = 'Race' AND r.code = CASE trim(p.race)
            WHEN 'American Indian or Alaska Native' THEN '1' WHEN 'Asian' THEN '2'
            WHEN 'Black or African American' THEN '3'
            WHEN 'Native Hawaiian or Other Pacific Islander' THEN '4' WHEN 'White' THEN '5' END
        LEFT JOIN code e ON e.vocabulary = 'Ethnicity' AND e.code = CASE trim(p.ethnicity)
            WHEN 'Hispanic or Latino' THEN 'Hispanic'
            WHEN 'Not Hispanic or Latino' THEN 'Not Hispanic' END
        ORDER BY i.person_id"""
    )
    db.execute(
        f"""INSERT INTO death BY NAME
        SELECT i.person_id, p.death_date, {EHR} AS death_type_concept_id
        FROM patients p JOIN pid i USING (patient_id)
        WHERE p.death_date IS NOT NULL ORDER BY i.person_id"""
    )
    # visits in the order of person then encounter id; each after the
    # person's previous one by admission
    db.execute(
        """CREATE TEMP TABLE vid AS
        SELECT e.encounter_id, i.person_id,
               row_number() OVER (ORDER BY i.person_id, e.encounter_id) AS visit_occurrence_id
        FROM encounters e JOIN pid i USING (patient_id)"""
    )
    db.execute(
        f"""INSERT INTO visit_occurrence BY NAME
        SELECT v.visit_occurrence_id, v.person_id,
               coalesce(c.source, 0) AS visit_concept_id,
               e.admit_time::DATE AS visit_start_date, e.admit_time AS visit_start_datetime,
               greatest(coalesce(e.discharge_time, (SELECT t FROM data_end))::DATE,
                        e.admit_time::DATE) AS visit_end_date,
               e.discharge_time AS visit_end_datetime,
               {EHR} AS visit_type_concept_id, 1 AS care_site_id,
               CASE WHEN trim(e.encounter_id) IN (SELECT mrn FROM mrn) THEN NULL
                    ELSE trim(e.encounter_id) END AS visit_source_value,
               0 AS visit_source_concept_id,
               CASE WHEN coalesce(e.disposition, '') = '' THEN NULL ELSE 0 END
                   AS discharged_to_concept_id,
               coalesce(e.disposition, '') AS discharged_to_source_value,
               lag(v.visit_occurrence_id) OVER (PARTITION BY v.person_id
                   ORDER BY e.admit_time, v.visit_occurrence_id) AS preceding_visit_occurrence_id
        FROM encounters e
        JOIN vid v USING (encounter_id)
        LEFT JOIN code c ON c.vocabulary = 'Visit' AND c.code = CASE upper(trim(e.class))
            WHEN 'IMP' THEN 'IP' WHEN 'ACUTE' THEN 'IP' WHEN 'NONAC' THEN 'IP'
            WHEN 'INPATIENT' THEN 'IP' WHEN 'EMER' THEN 'ER' WHEN 'EMERGENCY' THEN 'ER'
            WHEN 'AMB' THEN 'OP' WHEN 'AMBULATORY' THEN 'OP' WHEN 'OUTPATIENT' THEN 'OP' END
        ORDER BY v.visit_occurrence_id"""
    )
    # conditions: the chronic ones in order of person then id, then each
    # stay's principal diagnosis in visit order
    db.execute(
        f"""INSERT INTO condition_occurrence BY NAME
        SELECT row_number() OVER (ORDER BY i.person_id, c.condition_id) AS condition_occurrence_id,
               i.person_id, coalesce(m.standard, 0) AS condition_concept_id,
               c.onset_date AS condition_start_date, {EHR} AS condition_type_concept_id,
               v.visit_occurrence_id, trim(c.code) AS condition_source_value,
               coalesce(m.source, 0) AS condition_source_concept_id
        FROM conditions c
        JOIN pid i USING (patient_id)
        LEFT JOIN vid v ON v.encounter_id = c.encounter_id
        LEFT JOIN code m ON m.vocabulary = 'ICD10CM' AND m.code = trim(c.code)
        """
    )
    db.execute(
        f"""INSERT INTO condition_occurrence BY NAME
        SELECT (SELECT count(*) FROM conditions)
                   + row_number() OVER (ORDER BY v.visit_occurrence_id) AS condition_occurrence_id,
               v.person_id, coalesce(m.standard, 0) AS condition_concept_id,
               v.visit_start_date AS condition_start_date,
               v.visit_start_datetime AS condition_start_datetime,
               {EHR} AS condition_type_concept_id, v.visit_occurrence_id,
               trim(e.reason_code) AS condition_source_value,
               coalesce(m.source, 0) AS condition_source_concept_id,
               'principal diagnosis' AS condition_status_source_value,
               0 AS condition_status_concept_id
        FROM encounters e
        JOIN vid USING (encounter_id)
        JOIN visit_occurrence v USING (visit_occurrence_id)
        LEFT JOIN code m ON m.vocabulary = 'ICD10CM' AND m.code = trim(e.reason_code)
        WHERE trim(coalesce(e.reason_code, '')) <> ''
        """
    )
    db.execute(
        f"""INSERT INTO drug_exposure BY NAME
        SELECT row_number() OVER (ORDER BY i.person_id, d.medication_id) AS drug_exposure_id,
               i.person_id, coalesce(m.standard, 0) AS drug_concept_id,
               d.authored_time::DATE AS drug_exposure_start_date,
               d.authored_time AS drug_exposure_start_datetime,
               d.authored_time::DATE AS drug_exposure_end_date,
               {EHR} AS drug_type_concept_id, v.visit_occurrence_id,
               trim(d.rxnorm) AS drug_source_value, coalesce(m.source, 0) AS drug_source_concept_id
        FROM medications d
        JOIN pid i USING (patient_id)
        LEFT JOIN vid v ON v.encounter_id = d.encounter_id
        LEFT JOIN code m ON m.vocabulary = 'RxNorm' AND m.code = trim(d.rxnorm)
        """
    )
    db.execute(
        f"""INSERT INTO measurement BY NAME
        SELECT row_number() OVER (ORDER BY i.person_id, o.observation_id) AS measurement_id,
               i.person_id,
               CASE WHEN o.system = '{LOINC}' THEN coalesce(m.standard, 0) ELSE 0 END
                   AS measurement_concept_id,
               o.time::DATE AS measurement_date, o.time AS measurement_datetime,
               {EHR} AS measurement_type_concept_id,
               CASE WHEN isfinite(o.value::DOUBLE) THEN o.value::DOUBLE END AS value_as_number,
               CASE WHEN trim(coalesce(o.unit, '')) <> '' THEN coalesce(u.source, 0) END
                   AS unit_concept_id,
               v.visit_occurrence_id,
               trim(o.code) AS measurement_source_value,
               coalesce(m.source, 0) AS measurement_source_concept_id,
               o.unit AS unit_source_value, coalesce(u.source, 0) AS unit_source_concept_id,
               o.value AS value_source_value
        FROM observations o
        JOIN pid i USING (patient_id)
        LEFT JOIN vid v ON v.encounter_id = o.encounter_id
        LEFT JOIN code m ON m.vocabulary = 'LOINC' AND m.code = trim(o.code)
        LEFT JOIN code u ON u.vocabulary = 'UCUM' AND u.code = trim(o.unit)
        """
    )
    db.execute(
        f"""INSERT INTO note BY NAME
        SELECT row_number() OVER (ORDER BY i.person_id, n.note_id) AS note_id,
               i.person_id, n.time::DATE AS note_date, n.time AS note_datetime,
               {EHR} AS note_type_concept_id, 0 AS note_class_concept_id,
               'Discharge summary' AS note_title, coalesce(n.text, '') AS note_text,
               0 AS encoding_concept_id, 0 AS language_concept_id, v.visit_occurrence_id,
               CASE WHEN trim(n.note_id) IN (SELECT mrn FROM mrn) THEN NULL
                    ELSE trim(n.note_id) END AS note_source_value
        FROM notes n
        JOIN pid i USING (patient_id)
        LEFT JOIN vid v ON v.encounter_id = n.encounter_id
        """
    )
    # observation_period: each person's first to last record
    db.execute(
        f"""INSERT INTO observation_period BY NAME
        SELECT row_number() OVER (ORDER BY person_id) AS observation_period_id, person_id,
               min(d) AS observation_period_start_date, max(d) AS observation_period_end_date,
               {EHR} AS period_type_concept_id
        FROM (SELECT person_id, death_date AS d FROM death
              UNION ALL SELECT person_id, visit_start_date FROM visit_occurrence
              UNION ALL SELECT person_id, visit_end_date FROM visit_occurrence
              UNION ALL SELECT person_id, condition_start_date FROM condition_occurrence
                        WHERE condition_status_source_value IS NULL
              UNION ALL SELECT person_id, drug_exposure_start_date FROM drug_exposure
              UNION ALL SELECT person_id, measurement_date FROM measurement
              UNION ALL SELECT person_id, note_date FROM note)
        GROUP BY person_id ORDER BY person_id"""
    )
    db.execute(
        """INSERT INTO cdm_source BY NAME
        SELECT 'CareLab synthetic hospital data' AS cdm_source_name,
               'CareLab' AS cdm_source_abbreviation,
               'CareLab (synthetic data: no real patient)' AS cdm_holder,
               'Synthetic patients from CareLab''s generator, read from their source systems, '
               || 'checked, linked and mapped by carelab ingest' AS source_description,
               'src/ingest/cdm.rs' AS cdm_etl_reference,
               t::DATE AS source_release_date, t::DATE AS cdm_release_date,
               'v5.4' AS cdm_version, 0 AS cdm_version_concept_id,
               'CareLab OMOP subset' AS vocabulary_version
        FROM data_end"""
    )


def build_identifiers(db) -> None:
    """What the CDM must not hold, keyed by person_id (a view: it is written
    out, not kept in the database)."""
    db.execute(
        """CREATE TEMP VIEW identifiers AS
        SELECT i.person_id, p.patient_id AS person_source_value, p.mrn, p.given_name,
               p.family_name, p.birth_date::VARCHAR AS birth_date, p.address_line, p.city,
               p.state, p.zip, p.phone, p.email, p.ssn
        FROM patients p JOIN pid i USING (patient_id) ORDER BY i.person_id"""
    )


def build_omop_like(db) -> None:
    """The OMOP-like tables CareLab writes under omop/: text ids, codes
    (views: written out, not kept in the database; rows in the order of
    the source files)."""
    src = f"'{SOURCE}' AS source"
    db.execute(
        f"""CREATE TEMP VIEW omop_person AS
        SELECT patient_id AS person_id, mrn AS person_source_value, sex AS gender_source_value,
               year(birth_date) AS year_of_birth, month(birth_date) AS month_of_birth,
               day(birth_date) AS day_of_birth, birth_date::TIMESTAMP AS birth_datetime,
               race AS race_source_value, ethnicity AS ethnicity_source_value,
               payer AS payer_source_value, given_name, family_name, address_line, city,
               state, zip, phone, email, ssn, death_date
        FROM patients"""
    )
    db.execute(
        f"""CREATE TEMP VIEW omop_visit_occurrence AS
        SELECT encounter_id AS visit_occurrence_id, patient_id AS person_id,
               class AS visit_source_value, admit_time AS visit_start_datetime,
               discharge_time AS visit_end_datetime, disposition AS discharged_to_source_value,
               reason_code AS reason_source_value, {src}
        FROM encounters"""
    )
    db.execute(
        f"""CREATE TEMP VIEW omop_condition_occurrence AS
        SELECT condition_id AS condition_occurrence_id, patient_id AS person_id,
               coalesce(encounter_id, '') AS visit_occurrence_id,
               onset_date AS condition_start_date, code AS condition_concept_code,
               display AS condition_source_value, {src}
        FROM conditions"""
    )
    db.execute(
        f"""CREATE TEMP VIEW omop_drug_exposure AS
        SELECT medication_id AS drug_exposure_id, patient_id AS person_id,
               encounter_id AS visit_occurrence_id,
               authored_time AS drug_exposure_start_datetime, rxnorm AS drug_concept_code,
               name AS drug_source_value, {src}
        FROM medications"""
    )
    db.execute(
        f"""CREATE TEMP VIEW omop_measurement AS
        SELECT observation_id AS measurement_id, patient_id AS person_id,
               encounter_id AS visit_occurrence_id, time AS measurement_datetime,
               code AS measurement_concept_code, display AS measurement_concept_name,
               code AS measurement_source_value, value::DOUBLE AS value_as_number,
               unit AS unit_concept_code, unit AS unit_source_value,
               value AS value_source_value, {src},
               '' AS value_as_string, '' AS value_as_concept_code
        FROM observations"""
    )
    db.execute(
        f"""CREATE TEMP VIEW omop_note AS
        SELECT note_id, patient_id AS person_id, encounter_id AS visit_occurrence_id,
               time AS note_datetime, coalesce(text, '') AS note_text, {src}
        FROM notes"""
    )


# The analysis table's comorbidity flags (ICD-10-CM categories) and its
# last measurements (LOINC codes), as src/clinical/codes.rs names them.
CHRONIC = {
    "htn": ["I10", "I11"], "t2dm": ["E11"], "chf": ["I50"], "copd": ["J44"], "ckd": ["N18"],
    "afib": ["I48"], "depression": ["F32", "F33"],
}
MEASURES = {
    "hr": "8867-4", "sbp": "8480-6", "dbp": "8462-4", "rr": "9279-1", "temp_c": "8310-5",
    "spo2": "59408-5", "weight_kg": "29463-7", "hba1c": "4548-4", "glucose": "2345-7",
    "creatinine": "2160-0", "sodium": "2951-2", "potassium": "2823-3", "hemoglobin": "718-7",
    "wbc": "6690-2", "bnp": "30934-4",
}


def build_analysis(db) -> None:
    """The readmission task's table (one row per index discharge, the
    columns of CareLab's analysis.csv), from the CDM tables:
    sql/index_stays.sql ported to DuckDB for the stays, label and
    utilisation features, and the other features known at discharge (age,
    comorbidities with onset by the discharge day, distinct drugs ordered
    by discharge, the last value of each measure during the stay)."""
    flags = ",\n".join(
        f"max((left(upper(c.condition_source_value), 3) IN "
        f"({', '.join(repr(x) for x in codes)}))::INTEGER) AS {name}"
        for name, codes in CHRONIC.items()
    )
    measures = ", ".join(f"({repr(code)}, {repr(name)})" for name, code in MEASURES.items())
    last = ",\n".join(f"max(value) FILTER (WHERE name = '{n}') AS {n}" for n in MEASURES)
    db.execute(
        f"""CREATE TABLE analysis AS
        WITH ip AS (
            SELECT * FROM visit_occurrence WHERE visit_concept_id = 9201
        ),
        idx AS (
            SELECT v.* FROM ip v
            WHERE v.visit_end_datetime IS NOT NULL
              AND coalesce(v.discharged_to_source_value, '') <> 'expired'
              AND v.visit_end_datetime + INTERVAL 30 DAY <= (SELECT t FROM data_end)
        ),
        earlier AS (
            SELECT v.visit_occurrence_id,
                   count(*) FILTER (WHERE e.visit_start_datetime
                                    >= v.visit_start_datetime - INTERVAL 365 DAY)
                       AS prior_admissions_365d,
                   max(e.visit_end_datetime) AS last_discharge
            FROM idx v JOIN ip e
              ON e.person_id = v.person_id AND e.visit_occurrence_id <> v.visit_occurrence_id
             AND e.visit_end_datetime <= v.visit_start_datetime
            GROUP BY v.visit_occurrence_id
        ),
        readmit AS (
            SELECT DISTINCT v.visit_occurrence_id
            FROM idx v JOIN ip r
              ON r.person_id = v.person_id AND r.visit_occurrence_id <> v.visit_occurrence_id
             AND r.visit_start_datetime > v.visit_end_datetime
             AND r.visit_start_datetime <= v.visit_end_datetime + INTERVAL 30 DAY
        ),
        chronic AS (
            SELECT v.visit_occurrence_id, {flags}
            FROM idx v JOIN condition_occurrence c
              ON c.person_id = v.person_id AND c.condition_status_source_value IS NULL
             AND c.condition_start_date <= v.visit_end_datetime::DATE
            GROUP BY v.visit_occurrence_id
        ),
        drugs AS (
            SELECT v.visit_occurrence_id, count(DISTINCT d.drug_source_value) AS n_medications
            FROM idx v JOIN drug_exposure d
              ON d.person_id = v.person_id
             AND d.drug_exposure_start_datetime <= v.visit_end_datetime
            GROUP BY v.visit_occurrence_id
        ),
        measure(code, name) AS (VALUES {measures}),
        last_value AS (
            SELECT v.visit_occurrence_id, m.name,
                   arg_max(x.value_as_number, (x.measurement_datetime, x.measurement_id)) AS value
            FROM idx v
            JOIN measurement x
              ON x.visit_occurrence_id = v.visit_occurrence_id
             AND x.measurement_datetime BETWEEN v.visit_start_datetime AND v.visit_end_datetime
            JOIN concept c ON c.concept_id = x.measurement_concept_id
            JOIN measure m ON m.code = c.concept_code
            GROUP BY ALL
        ),
        labs AS (SELECT visit_occurrence_id, {last} FROM last_value GROUP BY visit_occurrence_id)
        SELECT v.visit_source_value AS stay_id, p.person_source_value AS patient_id,
               v.visit_start_datetime AS admit_time, v.visit_end_datetime AS discharge_time,
               greatest(year(v.visit_end_datetime) - year(s.birth_date)
                        - ((month(v.visit_end_datetime), day(v.visit_end_datetime))
                           < (month(s.birth_date), day(s.birth_date)))::INTEGER, 0)::DOUBLE
                   AS age,
               s.sex,
               CASE WHEN lower(s.ethnicity) = 'hispanic or latino' THEN 'Hispanic'
                    WHEN s.race = 'White' THEN 'White'
                    WHEN s.race = 'Black or African American' THEN 'Black'
                    WHEN s.race = 'Asian' THEN 'Asian' ELSE 'Other' END AS race_ethnicity,
               s.payer,
               -- days of whole minutes to 4 decimals, half away from zero as
               -- CareLab (and sql/index_stays.sql) rounds them
               round(trunc(epoch(v.visit_end_datetime - v.visit_start_datetime) / 60)
                     / 1440.0 * 10000) / 10000 AS los_days,
               coalesce(x.prior_admissions_365d, 0)::DOUBLE AS prior_admissions_365d,
               round(trunc(epoch(v.visit_start_datetime - x.last_discharge) / 60)
                     / 1440.0 * 10000) / 10000 AS days_since_last_discharge,
               v.discharged_to_source_value AS disposition,
               {", ".join(f"coalesce(c.{n}, 0)::DOUBLE AS {n}" for n in CHRONIC)},
               coalesce(d.n_medications, 0)::DOUBLE AS n_medications,
               {", ".join(f"l.{n}" for n in MEASURES)},
               (r.visit_occurrence_id IS NOT NULL)::INTEGER AS readmit_30d
        FROM idx v
        JOIN person p USING (person_id)
        JOIN pid i USING (person_id)
        JOIN patients s USING (patient_id)
        LEFT JOIN earlier x USING (visit_occurrence_id)
        LEFT JOIN readmit r USING (visit_occurrence_id)
        LEFT JOIN chronic c USING (visit_occurrence_id)
        LEFT JOIN drugs d USING (visit_occurrence_id)
        LEFT JOIN labs l USING (visit_occurrence_id)
        ORDER BY p.person_source_value, v.visit_end_datetime, v.visit_source_value"""
    )


def dq_checks(fields):
    """The data-quality checks: (name, category, threshold, table, field,
    violated SQL, checked SQL), as datasets/omop-dq/checks.toml names them,
    in DuckDB SQL, over the CDM tables this peer fills (not the vocabulary)."""
    written = set(CDM_TABLES)
    checks = []

    def add(name, category, threshold, table, field, violated, checked):
        checks.append((name, category, threshold, table, field, violated, checked))

    for t, f, required, _, _, fk_table, fk_field, fk_domain in fields:
        if t not in written:
            continue
        if required:
            add("required_field_present", "completeness", 0.0, t, f,
                f"SELECT count(*) FROM {t} WHERE {f} IS NULL", f"SELECT count(*) FROM {t}")
        if fk_table in ("person", "visit_occurrence", "concept"):
            name = {"person": "person_id_resolves", "concept": "concept_id_in_vocabulary",
                    "visit_occurrence": "visit_occurrence_id_resolves"}[fk_table]
            add(name, "conformance", 0.0, t, f,
                f"SELECT count(*) FROM {t} x ANTI JOIN {fk_table} y ON x.{f} = y.{fk_field} "
                f"WHERE x.{f} IS NOT NULL",
                f"SELECT count(*) FROM {t} WHERE {f} IS NOT NULL")
        if fk_table == "concept" and fk_domain not in ("", "NA"):
            checked = f"SELECT count(*) FROM {t} WHERE {f} IS NOT NULL AND {f} <> 0"
            add("concept_in_its_domain", "conformance", 0.0, t, f,
                f"SELECT count(*) FROM {t} x JOIN concept c ON c.concept_id = x.{f} "
                f"WHERE x.{f} <> 0 AND c.domain_id <> '{fk_domain}'", checked)
            add("standard_concept_used", "conformance", 0.0, t, f,
                f"SELECT count(*) FROM {t} x JOIN concept c ON c.concept_id = x.{f} "
                f"WHERE x.{f} <> 0 AND coalesce(c.standard_concept, '') <> 'S'", checked)
    for t, f, threshold in [
        ("person", "gender_concept_id", 0.0), ("visit_occurrence", "visit_concept_id", 0.0),
        ("condition_occurrence", "condition_concept_id", 5.0),
        ("drug_exposure", "drug_concept_id", 5.0),
        ("measurement", "measurement_concept_id", 5.0), ("measurement", "unit_concept_id", 5.0),
    ]:
        add("concept_mapped", "completeness", threshold, t, f,
            f"SELECT count(*) FROM {t} WHERE {f} = 0",
            f"SELECT count(*) FROM {t} WHERE {f} IS NOT NULL")
    add("measurement_value_has_unit", "completeness", 0.0, "measurement", "unit_concept_id",
        "SELECT count(*) FROM measurement WHERE value_as_number IS NOT NULL "
        "AND coalesce(unit_concept_id, 0) = 0",
        "SELECT count(*) FROM measurement WHERE value_as_number IS NOT NULL")
    add("person_has_observation_period", "completeness", 0.0, "person", "person_id",
        "SELECT count(*) FROM person x ANTI JOIN observation_period o USING (person_id)",
        "SELECT count(*) FROM person")
    for t, f, end in [
        ("observation_period", "observation_period_start_date", "observation_period_end_date"),
        ("visit_occurrence", "visit_start_date", "visit_end_date"),
        ("visit_occurrence", "visit_start_datetime", "visit_end_datetime"),
        ("condition_occurrence", "condition_start_date", "condition_end_date"),
        ("drug_exposure", "drug_exposure_start_date", "drug_exposure_end_date"),
    ]:
        add("start_before_end", "plausibility", 0.0, t, f,
            f"SELECT count(*) FROM {t} WHERE {end} < {f}",
            f"SELECT count(*) FROM {t} WHERE {f} IS NOT NULL AND {end} IS NOT NULL")
    dated = [("visit_occurrence", "visit_start_date"),
             ("condition_occurrence", "condition_start_date"),
             ("drug_exposure", "drug_exposure_start_date"), ("measurement", "measurement_date"),
             ("note", "note_date")]
    for t, f in [("observation_period", "observation_period_start_date")] + dated + [
            ("death", "death_date")]:
        add("after_birth", "plausibility", 0.0, t, f,
            f"SELECT count(*) FROM {t} x JOIN person p USING (person_id) "
            f"WHERE x.{f} < coalesce(p.birth_datetime::DATE, "
            f"make_date(p.year_of_birth, coalesce(p.month_of_birth, 1), "
            f"coalesce(p.day_of_birth, 1)))",
            f"SELECT count(*) FROM {t} WHERE {f} IS NOT NULL")
    for t, f in dated:
        add("before_death", "plausibility", 0.0, t, f,
            f"SELECT count(*) FROM {t} x JOIN death d USING (person_id) "
            f"WHERE x.{f} > d.death_date + INTERVAL 60 DAY",
            f"SELECT count(*) FROM {t} WHERE {f} IS NOT NULL")
    for t, f in dated[:1] + [("visit_occurrence", "visit_end_date")] + dated[1:] + [
            ("death", "death_date")]:
        add("within_observation_period", "plausibility", 0.0, t, f,
            f"SELECT count(*) FROM {t} x WHERE x.{f} IS NOT NULL AND NOT EXISTS (SELECT 1 "
            f"FROM observation_period o WHERE o.person_id = x.person_id AND x.{f} BETWEEN "
            f"o.observation_period_start_date AND o.observation_period_end_date)",
            f"SELECT count(*) FROM {t} WHERE {f} IS NOT NULL")
    ranges = (
        "SELECT c.concept_id AS measurement_concept_id, u.concept_id AS unit_concept_id, "
        "r.low, r.high FROM measurement_range r "
        "JOIN concept c ON c.vocabulary_id = 'LOINC' AND c.concept_code = r.loinc "
        "JOIN concept u ON u.vocabulary_id = 'UCUM' AND u.concept_code = r.unit"
    )
    add("measurement_value_plausible", "plausibility", 0.0, "measurement", "value_as_number",
        f"SELECT count(*) FROM measurement x JOIN ({ranges}) r "
        "USING (measurement_concept_id, unit_concept_id) "
        "WHERE x.value_as_number < r.low OR x.value_as_number > r.high",
        f"SELECT count(*) FROM measurement x JOIN ({ranges}) r "
        "USING (measurement_concept_id, unit_concept_id) WHERE x.value_as_number IS NOT NULL")
    add("year_of_birth_plausible", "plausibility", 0.0, "person", "year_of_birth",
        "SELECT count(*) FROM person WHERE year_of_birth < 1850 OR year_of_birth > "
        "(SELECT year(max(source_release_date)) FROM cdm_source)",
        "SELECT count(*) FROM person")
    return checks


def run_checks(db, fields) -> list:
    path = RANGES.replace("'", "''")
    db.execute(
        f"CREATE TEMP TABLE measurement_range AS SELECT * FROM read_csv('{path}', header = true, "
        "columns = {'loinc': 'VARCHAR', 'name': 'VARCHAR', 'unit': 'VARCHAR', "
        "'low': 'DOUBLE', 'high': 'DOUBLE'})"
    )
    results = []
    for name, category, threshold, table, field, violated, checked in dq_checks(fields):
        bad = db.execute(violated).fetchone()[0]
        seen = db.execute(checked).fetchone()[0]
        pct = 100.0 * bad / seen if seen else 0.0
        results.append({
            "check": name, "category": category, "table": table, "field": field,
            "violated": bad, "checked": seen, "pct_violated": round(pct, 4),
            "threshold": threshold, "passed": pct <= threshold,
        })
    return results


def write_outputs(db, out: str) -> None:
    """Each CDM table as Parquet; the identifiers, OMOP-like and analysis
    tables as CSV and Parquet; the quarantine as CSV."""
    def copy(table, path, fmt):
        path = path.replace("'", "''")
        opts = "FORMAT parquet" if fmt == "parquet" else "FORMAT csv, HEADER true"
        db.execute(f"COPY {table} TO '{path}' ({opts})")

    for d in ("cdm", "omop", "quarantine"):
        os.makedirs(os.path.join(out, d), exist_ok=True)
    for t in CDM_TABLES + VOCABULARY_TABLES:
        copy(t, os.path.join(out, "cdm", f"{t}.parquet"), "parquet")
    for t in OMOP_LIKE:
        for fmt in ("csv", "parquet"):
            copy(f"omop_{t}", os.path.join(out, "omop", f"{t}.{fmt}"), fmt)
    for t in ("identifiers", "analysis"):
        for fmt in ("csv", "parquet"):
            copy(t, os.path.join(out, f"{t}.{fmt}"), fmt)
    copy("quarantine", os.path.join(out, "quarantine", f"{SOURCE}.csv"), "csv")


def ingest(data: str, out: str) -> None:
    os.makedirs(out, exist_ok=True)
    start = time.perf_counter()
    path = os.path.join(out, "cdm.duckdb")
    if os.path.exists(path):
        os.remove(path)
    db = duckdb.connect(path)
    # DuckDB's own default is 80% of the machine's memory; a shared machine
    # may ask for less (it then spills to disk beside the database)
    if os.environ.get("PEER_MEMORY_LIMIT"):
        db.execute(f"SET memory_limit = '{os.environ['PEER_MEMORY_LIMIT']}'")
    fields = spec_fields()
    phases = {}

    def timed(name, step, *args):
        t = time.perf_counter()
        result = step(*args)
        phases[name] = round(time.perf_counter() - t, 2)
        return result

    timed("create", create_cdm, db, fields)
    quarantined = timed("load", load, db, data)
    timed("vocabulary", load_vocabulary, db)
    timed("cdm", build_cdm, db)
    timed("identifiers", build_identifiers, db)
    timed("omop_like", build_omop_like, db)
    timed("analysis", build_analysis, db)
    checks = timed("checks", run_checks, db, fields)
    timed("write", write_outputs, db, out)
    persons = db.execute("SELECT count(*) FROM person").fetchone()[0]
    with open(os.path.join(out, "quality.json"), "w", encoding="utf-8") as f:
        json.dump({"quarantined": quarantined, "seconds": phases, "checks": checks}, f, indent=1, default=str)
    db.close()
    failed = sum(not c["passed"] for c in checks)
    print(
        f"duckdb-cdm persons={persons} quarantined={sum(quarantined.values())} "
        f"checks={len(checks)} checks_failed={failed} seconds={time.perf_counter() - start:.2f} "
        f"({' '.join(f'{k}={v}' for k, v in phases.items())})"
    )


OMOP_LIKE = ["person", "visit_occurrence", "condition_occurrence", "drug_exposure",
             "measurement", "note"]


def compare(carelab: str, peer: str) -> int:
    """CareLab's outputs beside this peer's: every Parquet table (CDM,
    OMOP-like, identifiers), the analysis table and the data-quality checks."""
    db = duckdb.connect()
    differ = 0
    print(f"{'table':34} {'carelab':>8} {'peer':>8} {'only_c':>7} {'only_p':>7}  "
          "non-zero concept ids (carelab[/peer where not the same])")
    files = ([f"cdm/{t}.parquet" for t in CDM_TABLES + VOCABULARY_TABLES]
             + [f"omop/{t}.parquet" for t in OMOP_LIKE] + ["identifiers.parquet"])
    for f in files:
        a, b = (os.path.join(d, f).replace("'", "''") for d in (carelab, peer))
        ca = db.execute(f"DESCRIBE SELECT * FROM '{a}'").fetchall()
        cb = db.execute(f"DESCRIBE SELECT * FROM '{b}'").fetchall()
        names = {r[0] for r in cb}
        cols = [r[0] for r in ca if r[0] in names]
        # rows compared as values over the columns both have; NULLs match
        sel = ", ".join(f'"{c}"' for c in cols)
        n = [db.execute(f"SELECT count(*) FROM '{x}'").fetchone()[0] for x in (a, b)]
        only = [
            db.execute(f"SELECT count(*) FROM (SELECT {sel} FROM '{x}' "
                       f"EXCEPT ALL SELECT {sel} FROM '{y}')").fetchone()[0]
            for x, y in ((a, b), (b, a))
        ]
        nz = []
        for c in (c for c in cols if c.endswith("_concept_id")):
            x, y = (db.execute(f"SELECT count(*) FROM '{p}' WHERE \"{c}\" <> 0").fetchone()[0]
                    for p in (a, b))
            nz.append(f"{c.removesuffix('_concept_id')}={x}" + ("" if x == y else f"/{y}"))
        shape = "" if [r[:2] for r in ca] == [r[:2] for r in cb] else \
            f" columns or types differ: {sorted(set(r[:2] for r in ca) ^ set(r[:2] for r in cb))}"
        if n[0] != n[1] or any(only) or shape:
            differ += 1
        table = f.removeprefix("cdm/").removesuffix(".parquet")
        print(f"{table:34} {n[0]:>8} {n[1]:>8} {only[0]:>7} {only[1]:>7}  {' '.join(nz)}{shape}")
    differ += compare_analysis(db, carelab, peer)
    differ += compare_quarantine(db, carelab, peer)
    checks_differ = compare_checks(carelab, peer)
    print(f"tables that differ: {differ}; data-quality checks that differ: {checks_differ}")
    return 1 if differ or checks_differ else 0


def compare_analysis(db, carelab: str, peer: str) -> int:
    """The analysis tables row by row, every column compared as a value
    (text, timestamp or number: the two CSV writers format numbers apart)."""
    a, b = (os.path.join(d, "analysis.csv").replace("'", "''") for d in (carelab, peer))
    text = {"stay_id", "patient_id", "sex", "race_ethnicity", "payer", "disposition"}
    cols = ", ".join(
        f"{c}::VARCHAR" if c in text else
        f"{c}::TIMESTAMP" if c.endswith("_time") else f"{c}::DOUBLE"
        for c in (r[0] for r in db.execute(f"DESCRIBE SELECT * FROM read_csv('{a}')").fetchall())
    )
    only = [
        db.execute(f"SELECT count(*) FROM (SELECT {cols} FROM read_csv('{x}') "
                   f"EXCEPT ALL SELECT {cols} FROM read_csv('{y}'))").fetchone()[0]
        for x, y in ((a, b), (b, a))
    ]
    print(f"analysis rows, every column: only in carelab {only[0]}, only in peer {only[1]}")
    return 1 if any(only) else 0


def compare_quarantine(db, carelab: str, peer: str) -> int:
    """How many records each side quarantined (their reasons are worded apart)."""
    n = []
    for d in (carelab, peer):
        path = os.path.join(d, "quarantine", f"{SOURCE}.csv").replace("'", "''")
        n.append(db.execute(f"SELECT count(*) FROM read_csv('{path}', header = true, "
                            "all_varchar = true)").fetchone()[0] if os.path.exists(path) else 0)
    print(f"quarantined records: carelab {n[0]}, peer {n[1]}")
    return int(n[0] != n[1])


def compare_checks(carelab: str, peer: str) -> int:
    """The data-quality checks: rows violated and checked per check, summed
    over its fields, CareLab's (quality.json `cdm_checks`) beside this peer's."""
    with open(os.path.join(carelab, "quality.json"), encoding="utf-8") as f:
        theirs = {c["name"]: (c["violated"], c["checked"], c["passed"]) for c in json.load(f)["cdm_checks"]}
    with open(os.path.join(peer, "quality.json"), encoding="utf-8") as f:
        mine = {}
        for c in json.load(f)["checks"]:
            v, n, ok = mine.get(c["check"], (0, 0, True))
            mine[c["check"]] = (v + c["violated"], n + c["checked"], ok and c["passed"])
    print(f"{'check':34} {'carelab violated/checked':>26} {'peer violated/checked':>26}")
    differ = 0
    for name in sorted(set(theirs) | set(mine), key=lambda n: list(theirs).index(n) if n in theirs else 99):
        a, b = theirs.get(name), mine.get(name)
        differ += a != b
        show = lambda x: "-" if x is None else f"{x[0]}/{x[1]} {'pass' if x[2] else 'FAIL'}"
        print(f"{name:34} {show(a):>26} {show(b):>26}")
    return differ


def main() -> None:
    args = sys.argv[1:]
    if len(args) == 3 and args[0] == "--compare":
        sys.exit(compare(args[1], args[2]))
    if len(args) != 2 or args[0].startswith("-"):
        sys.exit(__doc__)
    ingest(args[0], args[1])


if __name__ == "__main__":
    main()
