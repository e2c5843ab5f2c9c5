//! OMOP CDM v5.4 tables as OHDSI's specification defines them, and their
//! two outputs: a Parquet file per table and one SQLite database.
//!
//! The field-level specification (`datasets/omop-cdm-v5.4`, vendored from
//! OHDSI) is the one source of every table's columns, their order, types and
//! required flags: a table is made from it, a row names the columns it
//! fills, and a column the specification does not have, a value of the wrong
//! type or a required column left empty is refused as a bug in the writer.
//! So what ingest writes conforms by construction, and the `cdm` test checks
//! the files against the same specification from the outside.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_array::{
    ArrayRef, Date32Array, Float64Array, Int64Array, StringArray, TimestampMillisecondArray,
};
use arrow_schema::{DataType, Field, Schema};
use chrono::{NaiveDate, NaiveDateTime};

use super::row_pool::RowPool;
use crate::artifact::{AtomicFile, Written};
use crate::error::{Error, IoContext, Result};

/// OHDSI's field-level specification of CDM v5.4.
pub const FIELD_LEVEL: &str =
    include_str!("../../datasets/omop-cdm-v5.4/OMOP_CDMv5.4_Field_Level.csv");
/// OHDSI's SQLite DDL (with the `@cdmDatabaseSchema` placeholder).
pub const SQLITE_DDL: &str =
    include_str!("../../datasets/omop-cdm-v5.4/OMOPCDM_sqlite_5.4_ddl.sql");
/// OHDSI's primary keys for the same tables.
pub const SQLITE_PRIMARY_KEYS: &str =
    include_str!("../../datasets/omop-cdm-v5.4/OMOPCDM_sqlite_5.4_primary_keys.sql");
/// OHDSI's indices (person_id, concept ids, visit ids of each table).
pub const SQLITE_INDICES: &str =
    include_str!("../../datasets/omop-cdm-v5.4/OMOPCDM_sqlite_5.4_indices.sql");

const SPEC_FILE: &str = "datasets/omop-cdm-v5.4/OMOP_CDMv5.4_Field_Level.csv";

/// A CDM column type, as the specification writes it (`integer`, `float`,
/// `date`, `datetime`, `varchar(n)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CdmType {
    Integer,
    Float,
    Text,
    Date,
    Datetime,
}

impl CdmType {
    pub fn from_spec(s: &str) -> Option<CdmType> {
        let s = s.trim().to_ascii_lowercase();
        Some(match s.as_str() {
            "integer" | "bigint" => CdmType::Integer,
            "float" => CdmType::Float,
            "date" => CdmType::Date,
            "datetime" => CdmType::Datetime,
            _ if s.starts_with("varchar") => CdmType::Text,
            _ => return None,
        })
    }

    /// The Arrow (Parquet) type: INT64, DOUBLE, UTF8, DATE and TIMESTAMP
    /// (milliseconds, local time without a zone, as the CDM's datetimes
    /// are: Parquet's TIMESTAMP(MILLIS), which has a logical type where
    /// seconds would not).
    pub fn arrow(self) -> DataType {
        match self {
            CdmType::Integer => DataType::Int64,
            CdmType::Float => DataType::Float64,
            CdmType::Text => DataType::Utf8,
            CdmType::Date => DataType::Date32,
            CdmType::Datetime => crate::formats::table::TIMESTAMP,
        }
    }
}

/// One column of the specification.
#[derive(Debug, Clone, PartialEq)]
pub struct CdmField {
    pub name: String,
    pub kind: CdmType,
    pub required: bool,
    /// The table a foreign key points at, lower case (`person`, `concept`).
    pub fk_table: Option<String>,
    /// The column it points at, lower case (`person_id`, `concept_id`).
    pub fk_field: Option<String>,
    /// The domain a concept id of this field must be in (`Condition`,
    /// `Type Concept`), as the specification's `fkDomain` says.
    pub fk_domain: Option<String>,
}

/// The specification: every table's fields, in order, by lower-case name.
#[derive(Debug, Clone)]
pub struct Spec {
    tables: BTreeMap<String, Vec<CdmField>>,
}

impl Spec {
    /// The vendored field-level specification.
    pub fn v54() -> Result<Spec> {
        Spec::parse(SPEC_FILE, FIELD_LEVEL)
    }

    pub fn parse(name: &str, text: &str) -> Result<Spec> {
        let mut r = csv::ReaderBuilder::new().from_reader(text.as_bytes());
        let headers = r
            .headers()
            .map_err(|e| Error::failure(format!("{name}: {e}")))?
            .clone();
        let col = |h: &str| {
            headers
                .iter()
                .position(|x| x.trim_start_matches('\u{feff}') == h)
                .ok_or_else(|| Error::bad_input(name, None, format!("a column {h}"), "none"))
        };
        let (t, f, req, ty, fk) = (
            col("cdmTableName")?,
            col("cdmFieldName")?,
            col("isRequired")?,
            col("cdmDatatype")?,
            col("fkTableName")?,
        );
        let (fk_f, fk_d) = (col("fkFieldName")?, col("fkDomain")?);
        let mut tables: BTreeMap<String, Vec<CdmField>> = BTreeMap::new();
        for (i, rec) in r.records().enumerate() {
            let rec = rec.map_err(|e| Error::failure(format!("{name}: {e}")))?;
            let get = |j: usize| rec.get(j).unwrap_or("").trim();
            let kind = CdmType::from_spec(get(ty)).ok_or_else(|| {
                Error::bad_input(
                    name,
                    Some(format!("record {}, field cdmDatatype", i + 2)),
                    "integer, float, date, datetime or varchar(n)",
                    get(ty),
                )
            })?;
            let given = |j: usize| match get(j) {
                "" | "NA" => None,
                s => Some(s.to_string()),
            };
            let fk_table = given(fk).map(|s| s.to_ascii_lowercase());
            let fk_field = given(fk_f).map(|s| s.to_ascii_lowercase());
            let fk_domain = given(fk_d);
            tables
                .entry(get(t).to_ascii_lowercase())
                .or_default()
                .push(CdmField {
                    name: get(f).to_ascii_lowercase(),
                    kind,
                    required: get(req).eq_ignore_ascii_case("yes"),
                    fk_table,
                    fk_field,
                    fk_domain,
                });
        }
        Ok(Spec { tables })
    }

    pub fn fields(&self, table: &str) -> Result<&[CdmField]> {
        self.tables
            .get(table)
            .map(Vec::as_slice)
            .ok_or_else(|| Error::failure(format!("the CDM has no table {table} (a bug)")))
    }

    pub fn tables(&self) -> impl Iterator<Item = (&str, &[CdmField])> {
        self.tables.iter().map(|(k, v)| (k.as_str(), v.as_slice()))
    }
}

/// One cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Float(f64),
    Text(String),
    Date(NaiveDate),
    Datetime(NaiveDateTime),
}

impl Value {
    /// Text, or null when empty: the CDM has no empty strings, only nulls.
    pub fn text(s: impl Into<String>) -> Value {
        let s = s.into();
        if s.is_empty() {
            Value::Null
        } else {
            Value::Text(s)
        }
    }

    fn fits(&self, kind: CdmType) -> bool {
        matches!(
            (self, kind),
            (Value::Null, _)
                | (Value::Int(_), CdmType::Integer)
                | (Value::Float(_), CdmType::Float)
                | (Value::Text(_), CdmType::Text)
                | (Value::Date(_), CdmType::Date)
                | (Value::Datetime(_), CdmType::Datetime)
        )
    }
}

/// A CDM table in memory: its specification and its rows, each holding a
/// value for every column of the specification.
#[derive(Debug, Clone)]
pub struct CdmTable {
    pub name: String,
    pub fields: Vec<CdmField>,
    pub rows: Vec<Vec<Value>>,
    /// Rows emptied by `clear`, which `push` fills again.
    spare: RowPool<Value>,
}

impl CdmTable {
    pub fn new(spec: &Spec, name: &str) -> Result<CdmTable> {
        Ok(CdmTable {
            name: name.to_string(),
            fields: spec.fields(name)?.to_vec(),
            rows: Vec::new(),
            spare: RowPool::default(),
        })
    }

    /// No rows, keeping their memory for the next ones pushed.
    pub fn clear(&mut self) {
        self.spare.give_back(&mut self.rows);
    }

    /// Positions of the named columns, for `push`; an unknown name is a bug.
    pub fn columns(&self, names: &[&str]) -> Result<Vec<usize>> {
        names
            .iter()
            .map(|n| {
                self.fields
                    .iter()
                    .position(|f| f.name == *n)
                    .ok_or_else(|| {
                        Error::failure(format!("CDM table {} has no column {n} (a bug)", self.name))
                    })
            })
            .collect()
    }

    /// Add a row holding `values` in the columns at `at` (from `columns`);
    /// the other columns are null.
    pub fn push(&mut self, at: &[usize], values: Vec<Value>) -> Result<()> {
        let mut row = self.spare.row();
        row.resize(self.fields.len(), Value::Null);
        for (&i, v) in at.iter().zip(values) {
            row[i] = v;
        }
        for (f, v) in self.fields.iter().zip(&row) {
            if !v.fits(f.kind) || (f.required && *v == Value::Null) {
                return Err(Error::failure(format!(
                    "CDM {}.{}: {} value {v:?} (a bug in the CDM writer)",
                    self.name,
                    f.name,
                    if f.required { "required" } else { "typed" }
                )));
            }
        }
        self.rows.push(row);
        Ok(())
    }

    /// Read Athena-style CSV (a header of column names, empty = null) into
    /// the table, each value parsed as its column's type.
    pub fn load_csv(&mut self, file: &str, text: &str) -> Result<()> {
        let mut r = csv::ReaderBuilder::new().from_reader(text.as_bytes());
        let headers: Vec<String> = r
            .headers()
            .map_err(|e| Error::failure(format!("{file}: {e}")))?
            .iter()
            .map(|h| h.trim().to_ascii_lowercase())
            .collect();
        let names: Vec<&str> = headers.iter().map(String::as_str).collect();
        let at = self.columns(&names)?;
        for (i, rec) in r.records().enumerate() {
            let rec = rec.map_err(|e| Error::failure(format!("{file}: {e}")))?;
            let line = i + 2;
            let mut values = Vec::with_capacity(at.len());
            for (&j, raw) in at.iter().zip(rec.iter()) {
                let f = &self.fields[j];
                let bad = |expected: &str| {
                    Error::bad_input(
                        file,
                        Some(format!("line {line}, field {}", f.name)),
                        expected,
                        raw,
                    )
                };
                let raw = raw.trim();
                values.push(if raw.is_empty() {
                    Value::Null
                } else {
                    match f.kind {
                        CdmType::Integer => Value::Int(raw.parse().map_err(|_| bad("an integer"))?),
                        CdmType::Float => Value::Float(raw.parse().map_err(|_| bad("a number"))?),
                        CdmType::Text => Value::Text(raw.to_string()),
                        CdmType::Date => Value::Date(
                            NaiveDate::parse_from_str(raw, "%Y-%m-%d")
                                .map_err(|_| bad("a date YYYY-MM-DD"))?,
                        ),
                        CdmType::Datetime => Value::Datetime(
                            NaiveDateTime::parse_from_str(raw, "%Y-%m-%d %H:%M:%S")
                                .map_err(|_| bad("a date-time YYYY-MM-DD HH:MM:SS"))?,
                        ),
                    }
                });
            }
            self.push(&at, values).map_err(|e| {
                Error::bad_input(
                    file,
                    Some(format!("line {line}")),
                    "a valid row",
                    e.to_string(),
                )
            })?;
        }
        Ok(())
    }

    /// The Arrow schema: required columns are not nullable.
    pub fn schema(&self) -> Arc<Schema> {
        Arc::new(Schema::new(
            self.fields
                .iter()
                .map(|f| Field::new(f.name.as_str(), f.kind.arrow(), !f.required))
                .collect::<Vec<_>>(),
        ))
    }
}

fn column_array<'a>(kind: CdmType, cells: impl Iterator<Item = &'a Value>) -> ArrayRef {
    use chrono::Datelike;
    // Arrow's DATE counts days from 1970-01-01, day 719,163 of the common era
    const EPOCH_DAYS_FROM_CE: i32 = 719_163;
    match kind {
        CdmType::Integer => Arc::new(Int64Array::from_iter(cells.map(|c| match c {
            Value::Int(x) => Some(*x),
            _ => None,
        }))),
        CdmType::Float => Arc::new(Float64Array::from_iter(cells.map(|c| match c {
            Value::Float(x) => Some(*x),
            _ => None,
        }))),
        CdmType::Text => Arc::new(StringArray::from_iter(cells.map(|c| match c {
            Value::Text(s) => Some(s.as_str()),
            _ => None,
        }))),
        CdmType::Date => Arc::new(Date32Array::from_iter(cells.map(|c| match c {
            Value::Date(d) => Some(d.num_days_from_ce() - EPOCH_DAYS_FROM_CE),
            _ => None,
        }))),
        CdmType::Datetime => Arc::new(TimestampMillisecondArray::from_iter(cells.map(
            |c| match c {
                Value::Datetime(t) => Some(t.and_utc().timestamp_millis()),
                _ => None,
            },
        ))),
    }
}

/// The DDL with its schema placeholder replaced by SQLite's `main`.
pub fn sqlite_ddl() -> String {
    SQLITE_DDL.replace("@cdmDatabaseSchema.", "main.")
}

/// The primary keys as SQLite can hold them: SQLite cannot add a primary
/// key to an existing table, so each `ALTER TABLE t ADD CONSTRAINT xpk_t
/// PRIMARY KEY (cols)` becomes `CREATE UNIQUE INDEX xpk_t ON t (cols)`,
/// enforced and named as OHDSI names it.
pub fn sqlite_primary_keys() -> Result<String> {
    let mut out = String::new();
    for (i, line) in SQLITE_PRIMARY_KEYS.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with("--") {
            continue;
        }
        let parsed = line
            .strip_prefix("ALTER TABLE @cdmDatabaseSchema.")
            .and_then(|rest| rest.split_once(" ADD CONSTRAINT "))
            .and_then(|(table, rest)| {
                let (name, cols) = rest.split_once(" PRIMARY KEY ")?;
                Some((table, name, cols.trim_end_matches(';')))
            });
        let Some((table, name, cols)) = parsed else {
            return Err(Error::bad_input(
                "OMOPCDM_sqlite_5.4_primary_keys.sql",
                Some(format!("line {}", i + 1)),
                "ALTER TABLE @cdmDatabaseSchema.t ADD CONSTRAINT name PRIMARY KEY (cols);",
                line,
            ));
        };
        out.push_str(&format!("CREATE UNIQUE INDEX {name} ON {table} {cols};\n"));
    }
    Ok(out)
}

/// Bind one cell to the statement's parameter `at` (from 1). Every value,
/// a date's ISO text among them, is handed to SQLite borrowed (SQLite copies
/// it), so no cell is copied into a `String` of its own on its way in.
fn bind(stmt: &mut rusqlite::Statement, at: usize, cell: &Value) -> rusqlite::Result<()> {
    use crate::clinical::iso::{date_ascii, datetime_ascii};
    match cell {
        Value::Null => stmt.raw_bind_parameter(at, rusqlite::types::Null),
        Value::Int(x) => stmt.raw_bind_parameter(at, x),
        Value::Float(x) => stmt.raw_bind_parameter(at, x),
        Value::Text(s) => stmt.raw_bind_parameter(at, s.as_str()),
        Value::Date(d) => match date_ascii(d) {
            Some(b) => stmt.raw_bind_parameter(at, &*String::from_utf8_lossy(&b)),
            None => stmt.raw_bind_parameter(at, d.format("%Y-%m-%d").to_string()),
        },
        Value::Datetime(t) => match datetime_ascii(t) {
            Some(mut b) => {
                b[10] = b' ';
                stmt.raw_bind_parameter(at, &*String::from_utf8_lossy(&b))
            }
            None => stmt.raw_bind_parameter(at, t.format("%Y-%m-%d %H:%M:%S").to_string()),
        },
    }
}

/// The CDM database being written: `<out>/cdm.sqlite` (every table of
/// OHDSI's DDL with its primary keys and indices, made before the first row
/// so that each row goes into them as it is inserted; see `create`) and the
/// Parquet files of the tables
/// named, rows appended a chunk at a time (a transaction and a Parquet row
/// group per chunk), so that memory holds a chunk, not the database. Dates
/// are ISO 8601 text in SQLite (`2023-04-05`, `2023-04-05 14:30:00`), which
/// its date functions read and which sort in time order. Both are written
/// beside their targets and renamed by `finish`, so a failed run leaves no
/// half database.
pub struct CdmWriter {
    path: std::path::PathBuf,
    tmp: std::path::PathBuf,
    conn: rusqlite::Connection,
    parquet: Vec<ParquetTable>,
}

/// How the CDM's Parquet files are laid out under `<out>/cdm/`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ParquetLayout {
    /// `<table>.parquet`, a row group per chunk.
    #[default]
    File,
    /// `<table>/part=<k>/data.parquet`, a file per chunk (Hive-style
    /// partitions): one dataset to DuckDB, Spark or pyarrow, whose chunks
    /// can be read, copied or replaced one at a time.
    Hive,
}

struct ParquetTable {
    name: String,
    schema: Arc<Schema>,
    dir: std::path::PathBuf,
    /// The open file (layout `File`).
    file: Option<parquet::arrow::ArrowWriter<AtomicFile>>,
    /// Files written so far (layout `Hive`).
    parts: usize,
    /// The files committed, with their checksums.
    written: Written,
}

impl ParquetTable {
    fn write(&mut self, fields: &[CdmField], rows: &[Vec<Value>]) -> Result<()> {
        let mut part = None;
        let w = match &mut self.file {
            Some(w) => w,
            None => {
                let path = self
                    .dir
                    .join(&self.name)
                    .join(format!("part={:05}", self.parts))
                    .join("data.parquet");
                self.parts += 1;
                let file = AtomicFile::create(path)?;
                part.insert(parquet::arrow::ArrowWriter::try_new(
                    file,
                    self.schema.clone(),
                    None,
                )?)
            }
        };
        for rows in rows.chunks(crate::formats::table::ROW_GROUP) {
            let arrays: Vec<ArrayRef> = fields
                .iter()
                .enumerate()
                .map(|(i, f)| column_array(f.kind, rows.iter().map(|r| &r[i])))
                .collect();
            w.write(&RecordBatch::try_new(self.schema.clone(), arrays)?)?;
        }
        w.flush()?;
        if let Some(w) = part {
            self.written.push(w.into_inner()?.commit_written()?);
        }
        Ok(())
    }
}

impl CdmWriter {
    pub fn create(
        out: &Path,
        spec: &Spec,
        tables: &[&str],
        layout: ParquetLayout,
    ) -> Result<CdmWriter> {
        let path = out.join("cdm.sqlite");
        let fail = |e: rusqlite::Error| Error::failure(format!("{}: {e}", path.display()));
        let tmp = path.with_extension("sqlite.tmp");
        if tmp.exists() {
            std::fs::remove_file(&tmp).at(&tmp)?;
        }
        let conn = rusqlite::Connection::open(&tmp).map_err(fail)?;
        // no journal: the file is written beside its target and renamed
        // at the end
        conn.execute_batch(
            "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; \
             PRAGMA locking_mode = EXCLUSIVE; PRAGMA cache_size = -65536;",
        )
        .map_err(fail)?;
        conn.execute_batch(&sqlite_ddl()).map_err(fail)?;
        // The keys and indices come before the rows, each row entering them
        // as it is inserted: the ids and person ids arrive in order and are
        // appended, and the few hundred concept ids are a few hundred
        // places to insert at, all in the page cache. Built at the end
        // instead, each `CREATE INDEX` read the whole table again and
        // sorted it, which took more CPU in all (a table of three million
        // measurements: 6.5 s against 3.4 to 4.2 s with `sqlite3`) and on
        // one core after the rest of ingest had finished.
        conn.execute_batch(&sqlite_primary_keys()?).map_err(fail)?;
        // the lookups by person the checks and queries make: without them
        // each one scans its table, for every row of another
        conn.execute_batch(&SQLITE_INDICES.replace("@cdmDatabaseSchema.", "main."))
            .map_err(fail)?;
        let dir = out.join("cdm");
        let mut parquet = Vec::new();
        for name in tables {
            let schema = CdmTable::new(spec, name)?.schema();
            // one layout's files must not stay beside the other's
            let other = match layout {
                ParquetLayout::File => dir.join(name),
                ParquetLayout::Hive => dir.join(format!("{name}.parquet")),
            };
            if other.is_dir() {
                std::fs::remove_dir_all(&other).at(&other)?;
            } else if other.exists() {
                std::fs::remove_file(&other).at(&other)?;
            }
            let file = match layout {
                ParquetLayout::File => {
                    let file = AtomicFile::create(dir.join(format!("{name}.parquet")))?;
                    Some(parquet::arrow::ArrowWriter::try_new(
                        file,
                        schema.clone(),
                        None,
                    )?)
                }
                ParquetLayout::Hive => None,
            };
            parquet.push(ParquetTable {
                name: name.to_string(),
                schema,
                dir: dir.clone(),
                file,
                parts: 0,
                written: Written::new(),
            });
        }
        Ok(CdmWriter {
            path,
            tmp,
            conn,
            parquet,
        })
    }

    /// Append the rows of `tables` (each a CDM table, in any order).
    pub fn append(&mut self, tables: &[CdmTable]) -> Result<()> {
        let path = &self.path;
        let fail = |e: rusqlite::Error| Error::failure(format!("{}: {e}", path.display()));
        let tx = self.conn.transaction().map_err(fail)?;
        for t in tables.iter().filter(|t| !t.rows.is_empty()) {
            let cols: Vec<&str> = t.fields.iter().map(|f| f.name.as_str()).collect();
            let marks = vec!["?"; cols.len()].join(", ");
            let sql = format!(
                "INSERT INTO main.{} ({}) VALUES ({marks})",
                t.name,
                cols.join(", ")
            );
            let mut stmt = tx.prepare_cached(&sql).map_err(fail)?;
            for row in &t.rows {
                for (i, cell) in row.iter().enumerate() {
                    bind(&mut stmt, i + 1, cell).map_err(fail)?;
                }
                stmt.raw_execute().map_err(fail)?;
            }
            if let Some(p) = self.parquet.iter_mut().find(|p| p.name == t.name) {
                p.write(&t.fields, &t.rows)?;
            }
        }
        tx.commit().map_err(fail)?;
        Ok(())
    }

    /// Close and rename everything into place. Returns the Parquet files
    /// written, with their checksums (the database, written by SQLite, is
    /// not among them).
    pub fn finish(self) -> Result<Written> {
        let path = &self.path;
        let fail = |e: rusqlite::Error| Error::failure(format!("{}: {e}", path.display()));
        let mut written = Written::new();
        for mut p in self.parquet {
            match p.file.take() {
                Some(w) => {
                    p.written.push(w.into_inner()?.commit_written()?);
                }
                // a table with no rows is still a dataset, of none
                None if p.parts == 0 => p.write(&[], &[])?,
                None => {}
            }
            written.append(&mut p.written);
        }
        self.conn.close().map_err(|(_, e)| fail(e))?;
        std::fs::rename(&self.tmp, &self.path).at(&self.path)?;
        Ok(written)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_specification_and_primary_keys_parse() {
        let spec = Spec::v54().unwrap();
        let person = spec.fields("person").unwrap();
        assert_eq!(person[0].name, "person_id");
        assert!(person[0].required);
        assert_eq!(person[0].kind, CdmType::Integer);
        let birth = person.iter().find(|f| f.name == "birth_datetime").unwrap();
        assert_eq!((birth.kind, birth.required), (CdmType::Datetime, false));
        let gender = person
            .iter()
            .find(|f| f.name == "gender_concept_id")
            .unwrap();
        assert_eq!(gender.fk_table.as_deref(), Some("concept"));
        assert_eq!(gender.fk_field.as_deref(), Some("concept_id"));
        assert_eq!(gender.fk_domain.as_deref(), Some("Gender"));
        let pks = sqlite_primary_keys().unwrap();
        assert!(pks.contains("CREATE UNIQUE INDEX xpk_person ON person (person_id);"));
        assert!(!sqlite_ddl().contains('@'));
    }

    #[test]
    fn rows_are_checked_against_the_specification() {
        let spec = Spec::v54().unwrap();
        let mut t = CdmTable::new(&spec, "death").unwrap();
        let at = t.columns(&["person_id", "death_date"]).unwrap();
        let d = NaiveDate::from_ymd_opt(2023, 1, 2).unwrap();
        t.push(&at, vec![Value::Int(1), Value::Date(d)]).unwrap();
        // a required column left empty, a value of the wrong type
        assert!(t.push(&at, vec![Value::Int(2), Value::Null]).is_err());
        assert!(t.push(&at, vec![Value::text("x"), Value::Date(d)]).is_err());
        assert!(t.columns(&["ssn"]).is_err());
        assert_eq!(t.rows.len(), 1);
        let mut c = CdmTable::new(&spec, "concept").unwrap();
        let err = c
            .load_csv(
                "concept.csv",
                "concept_id,concept_name,domain_id,vocabulary_id,concept_class_id,standard_concept,concept_code,valid_start_date,valid_end_date,invalid_reason\n\
                 x,a,b,c,d,,e,1970-01-01,2099-12-31,\n",
            )
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("line 2") && err.contains("concept_id"),
            "{err}"
        );
    }

    /// Rows pushed after `clear` are the rows a new table would hold: the
    /// columns a row leaves out are null, not what the cleared row held.
    #[test]
    fn a_cleared_table_fills_again_as_a_new_one() {
        let spec = Spec::v54().unwrap();
        let d = NaiveDate::from_ymd_opt(2023, 1, 2).unwrap();
        let mut used = CdmTable::new(&spec, "death").unwrap();
        let all = used
            .columns(&["person_id", "death_date", "cause_source_value"])
            .unwrap();
        for id in 1..=3 {
            let row = vec![Value::Int(id), Value::Date(d), Value::text("I21.9")];
            used.push(&all, row).unwrap();
        }
        used.clear();
        assert!(used.rows.is_empty());
        let mut new = CdmTable::new(&spec, "death").unwrap();
        let some = new.columns(&["person_id", "death_date"]).unwrap();
        for t in [&mut used, &mut new] {
            t.push(&some, vec![Value::Int(9), Value::Date(d)]).unwrap();
        }
        assert_eq!(used.rows, new.rows);
        let cause = all[2];
        assert_eq!(used.rows[0][cause], Value::Null);
    }
}
