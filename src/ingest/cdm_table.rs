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

/// One cell, as the value it is: text borrowed from the records or the
/// vocabulary it comes from, copied once, into its column.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    Null,
    Int(i64),
    Float(f64),
    Text(&'a str),
    Date(NaiveDate),
    Datetime(NaiveDateTime),
}

impl<'a> Value<'a> {
    /// Text, or null when empty: the CDM has no empty strings, only nulls.
    pub fn text(s: &'a str) -> Value<'a> {
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

/// One column's cells, each kept as its type's value (a text column's in
/// one buffer), so that a row adds no allocation of its own and the
/// buffers, cleared, hold the next partition's rows in the same memory.
#[derive(Debug, Clone)]
enum Cells {
    Int(Vec<Option<i64>>),
    Float(Vec<Option<f64>>),
    /// Every cell's text one after another: cell `i` ends at `ends[i]`
    /// and starts where cell `i - 1` ends; `valid[i]` is false for a null
    /// (which ends where it starts).
    Text {
        bytes: String,
        ends: Vec<usize>,
        valid: Vec<bool>,
    },
    Date(Vec<Option<NaiveDate>>),
    Datetime(Vec<Option<NaiveDateTime>>),
}

impl Cells {
    fn new(kind: CdmType) -> Cells {
        match kind {
            CdmType::Integer => Cells::Int(Vec::new()),
            CdmType::Float => Cells::Float(Vec::new()),
            CdmType::Text => Cells::Text {
                bytes: String::new(),
                ends: Vec::new(),
                valid: Vec::new(),
            },
            CdmType::Date => Cells::Date(Vec::new()),
            CdmType::Datetime => Cells::Datetime(Vec::new()),
        }
    }

    /// Add `v`, which `Value::fits` this column's type; a value of another
    /// type is added as null (`CdmTable::push` refuses those first).
    fn push(&mut self, v: Value) {
        match self {
            Cells::Int(c) => c.push(match v {
                Value::Int(x) => Some(x),
                _ => None,
            }),
            Cells::Float(c) => c.push(match v {
                Value::Float(x) => Some(x),
                _ => None,
            }),
            Cells::Text { bytes, ends, valid } => {
                let text = match v {
                    Value::Text(s) => Some(s),
                    _ => None,
                };
                bytes.push_str(text.unwrap_or_default());
                ends.push(bytes.len());
                valid.push(text.is_some());
            }
            Cells::Date(c) => c.push(match v {
                Value::Date(d) => Some(d),
                _ => None,
            }),
            Cells::Datetime(c) => c.push(match v {
                Value::Datetime(t) => Some(t),
                _ => None,
            }),
        }
    }

    /// Where text cell `i` starts: where cell `i - 1` ends.
    fn text_start(ends: &[usize], i: usize) -> usize {
        i.checked_sub(1).map_or(0, |j| ends[j])
    }

    fn get(&self, i: usize) -> Value<'_> {
        let or_null = |x: Option<Value<'static>>| x.unwrap_or(Value::Null);
        match self {
            Cells::Int(c) => or_null(c[i].map(Value::Int)),
            Cells::Float(c) => or_null(c[i].map(Value::Float)),
            Cells::Text { bytes, ends, valid } => match valid[i] {
                true => Value::Text(&bytes[Cells::text_start(ends, i)..ends[i]]),
                false => Value::Null,
            },
            Cells::Date(c) => or_null(c[i].map(Value::Date)),
            Cells::Datetime(c) => or_null(c[i].map(Value::Datetime)),
        }
    }

    fn len(&self) -> usize {
        match self {
            Cells::Int(c) => c.len(),
            Cells::Float(c) => c.len(),
            Cells::Text { ends, .. } => ends.len(),
            Cells::Date(c) => c.len(),
            Cells::Datetime(c) => c.len(),
        }
    }

    /// No cells, keeping their memory.
    fn clear(&mut self) {
        match self {
            Cells::Int(c) => c.clear(),
            Cells::Float(c) => c.clear(),
            Cells::Text { bytes, ends, valid } => {
                bytes.clear();
                ends.clear();
                valid.clear();
            }
            Cells::Date(c) => c.clear(),
            Cells::Datetime(c) => c.clear(),
        }
    }

    /// The cells of `rows` of a text column (none for another type).
    fn texts(&self, rows: std::ops::Range<usize>) -> impl Iterator<Item = Option<&str>> {
        let (bytes, ends, valid, mut start): (&str, &[usize], &[bool], usize) = match self {
            Cells::Text { bytes, ends, valid } => (
                bytes,
                &ends[rows.clone()],
                &valid[rows.clone()],
                Cells::text_start(ends, rows.start),
            ),
            _ => ("", &[], &[], 0),
        };
        ends.iter().zip(valid).map(move |(&end, &valid)| {
            let s = &bytes[start..end];
            start = end;
            valid.then_some(s)
        })
    }

    /// Bind the cells of `rows` to the statement's parameters `first`,
    /// `first + stride`, ...: the column's type is matched once for them
    /// all rather than once a cell.
    fn bind(
        &self,
        stmt: &mut rusqlite::Statement,
        rows: std::ops::Range<usize>,
        first: usize,
        stride: usize,
    ) -> rusqlite::Result<()> {
        fn each<T: Copy>(
            stmt: &mut rusqlite::Statement,
            params: impl Iterator<Item = usize>,
            cells: &[Option<T>],
            value: fn(T) -> Value<'static>,
        ) -> rusqlite::Result<()> {
            params
                .zip(cells)
                .try_for_each(|(at, c)| bind(stmt, at, c.map_or(Value::Null, value)))
        }
        let params = (first..).step_by(stride);
        match self {
            Cells::Int(c) => each(stmt, params, &c[rows], Value::Int),
            Cells::Float(c) => each(stmt, params, &c[rows], Value::Float),
            Cells::Text { .. } => params
                .zip(self.texts(rows))
                .try_for_each(|(at, s)| bind(stmt, at, s.map_or(Value::Null, Value::Text))),
            Cells::Date(c) => each(stmt, params, &c[rows], Value::Date),
            Cells::Datetime(c) => each(stmt, params, &c[rows], Value::Datetime),
        }
    }

    /// The Arrow (Parquet) array of the cells in `rows`.
    fn array(&self, rows: std::ops::Range<usize>) -> ArrayRef {
        use chrono::Datelike;
        // Arrow's DATE counts days from 1970-01-01, day 719,163 of the common era
        const EPOCH_DAYS_FROM_CE: i32 = 719_163;
        match self {
            Cells::Int(c) => Arc::new(Int64Array::from_iter(c[rows].iter().copied())),
            Cells::Float(c) => Arc::new(Float64Array::from_iter(c[rows].iter().copied())),
            Cells::Text { .. } => Arc::new(StringArray::from_iter(self.texts(rows))),
            Cells::Date(c) => Arc::new(Date32Array::from_iter(
                c[rows]
                    .iter()
                    .map(|d| d.map(|d| d.num_days_from_ce() - EPOCH_DAYS_FROM_CE)),
            )),
            Cells::Datetime(c) => Arc::new(TimestampMillisecondArray::from_iter(
                c[rows]
                    .iter()
                    .map(|t| t.map(|t| t.and_utc().timestamp_millis())),
            )),
        }
    }
}

/// The columns a row fills (from [`CdmTable::columns`]), in the order its
/// values come, and the columns it leaves null.
#[derive(Debug, Clone)]
pub struct Columns {
    at: Vec<usize>,
    rest: Vec<usize>,
}

/// A CDM table in memory: its specification and its rows, a buffer per
/// column holding a value for every row.
#[derive(Debug, Clone)]
pub struct CdmTable {
    pub name: String,
    pub fields: Vec<CdmField>,
    cells: Vec<Cells>,
}

impl CdmTable {
    pub fn new(spec: &Spec, name: &str) -> Result<CdmTable> {
        let fields = spec.fields(name)?.to_vec();
        Ok(CdmTable {
            name: name.to_string(),
            cells: fields.iter().map(|f| Cells::new(f.kind)).collect(),
            fields,
        })
    }

    /// How many rows.
    pub fn len(&self) -> usize {
        self.cells.first().map_or(0, Cells::len)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The cell of row `row` in column `col` (a position from `column`).
    pub fn value(&self, row: usize, col: usize) -> Value<'_> {
        self.cells[col].get(row)
    }

    /// No rows, keeping their memory for the next ones pushed.
    pub fn clear(&mut self) {
        self.cells.iter_mut().for_each(Cells::clear);
    }

    /// The position of the named column; an unknown name is a bug.
    pub fn column(&self, name: &str) -> Result<usize> {
        self.fields
            .iter()
            .position(|f| f.name == name)
            .ok_or_else(|| {
                Error::failure(format!(
                    "CDM table {} has no column {name} (a bug)",
                    self.name
                ))
            })
    }

    /// The named columns, for `push`; an unknown or repeated name is a bug.
    pub fn columns(&self, names: &[&str]) -> Result<Columns> {
        let at = names
            .iter()
            .map(|n| self.column(n))
            .collect::<Result<Vec<_>>>()?;
        let mut rest: Vec<usize> = (0..self.fields.len()).collect();
        for (k, i) in at.iter().enumerate() {
            if at[..k].contains(i) {
                return Err(Error::failure(format!(
                    "CDM table {}: column {} named twice (a bug)",
                    self.name, self.fields[*i].name
                )));
            }
            rest.retain(|j| j != i);
        }
        Ok(Columns { at, rest })
    }

    /// Add a row holding `values` in the columns named by `cols` (from
    /// `columns`); the other columns are null. A value of the wrong type,
    /// or a required column left null, is refused naming the table and
    /// column, and adds nothing.
    pub fn push(&mut self, cols: &Columns, values: &[Value]) -> Result<()> {
        let refuse = |f: &CdmField, v: &Value| {
            Error::failure(format!(
                "CDM {}.{}: {} value {v:?} (a bug in the CDM writer)",
                self.name,
                f.name,
                if f.required { "required" } else { "typed" }
            ))
        };
        if values.len() != cols.at.len() {
            return Err(Error::failure(format!(
                "CDM {}: {} values for {} columns (a bug in the CDM writer)",
                self.name,
                values.len(),
                cols.at.len()
            )));
        }
        for (&i, v) in cols.at.iter().zip(values) {
            let f = &self.fields[i];
            if !v.fits(f.kind) || (f.required && *v == Value::Null) {
                return Err(refuse(f, v));
            }
        }
        if let Some(&i) = cols.rest.iter().find(|&&i| self.fields[i].required) {
            return Err(refuse(&self.fields[i], &Value::Null));
        }
        for (&i, v) in cols.at.iter().zip(values) {
            self.cells[i].push(*v);
        }
        for &i in &cols.rest {
            self.cells[i].push(Value::Null);
        }
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
        let cols = self.columns(&names)?;
        for (i, rec) in r.records().enumerate() {
            let rec = rec.map_err(|e| Error::failure(format!("{file}: {e}")))?;
            let line = i + 2;
            let mut values = Vec::with_capacity(cols.at.len());
            for (&j, raw) in cols.at.iter().zip(rec.iter()) {
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
                        CdmType::Text => Value::Text(raw),
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
            self.push(&cols, &values).map_err(|e| {
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
fn bind(stmt: &mut rusqlite::Statement, at: usize, cell: Value) -> rusqlite::Result<()> {
    use crate::clinical::iso::{date_ascii, datetime_ascii};
    match cell {
        Value::Null => stmt.raw_bind_parameter(at, rusqlite::types::Null),
        Value::Int(x) => stmt.raw_bind_parameter(at, x),
        Value::Float(x) => stmt.raw_bind_parameter(at, x),
        Value::Text(s) => stmt.raw_bind_parameter(at, s),
        Value::Date(d) => match date_ascii(&d) {
            Some(b) => stmt.raw_bind_parameter(at, &*String::from_utf8_lossy(&b)),
            None => stmt.raw_bind_parameter(at, d.format("%Y-%m-%d").to_string()),
        },
        Value::Datetime(t) => match datetime_ascii(&t) {
            Some(mut b) => {
                b[10] = b' ';
                stmt.raw_bind_parameter(at, &*String::from_utf8_lossy(&b))
            }
            None => stmt.raw_bind_parameter(at, t.format("%Y-%m-%d %H:%M:%S").to_string()),
        },
    }
}

/// Rows one `INSERT` statement adds: each statement run costs SQLite the
/// same opening of the table and its indices whatever its rows, so many
/// rows a run spread that cost (a bound parameter per cell, well under
/// SQLite's limit of 32,766 for the widest table).
const ROWS_PER_INSERT: usize = 50;

/// `INSERT INTO main.<t> (<every column>) VALUES (?, ...), ...` for `rows`
/// rows.
fn insert_sql(t: &CdmTable, rows: usize) -> String {
    let cols: Vec<&str> = t.fields.iter().map(|f| f.name.as_str()).collect();
    let row = format!("({})", vec!["?"; cols.len()].join(", "));
    format!(
        "INSERT INTO main.{} ({}) VALUES {}",
        t.name,
        cols.join(", "),
        vec![row; rows].join(", ")
    )
}

/// Insert `t`'s rows in their order, `ROWS_PER_INSERT` a statement, the
/// few left over one a statement.
fn insert(conn: &rusqlite::Connection, t: &CdmTable) -> rusqlite::Result<()> {
    let width = t.fields.len();
    let full = t.len() - t.len() % ROWS_PER_INSERT;
    // a row's cells are its parameters one after another: column `col`
    // of the statement's row `k` is parameter `k * width + col + 1`
    let run = |stmt: &mut rusqlite::Statement, rows: std::ops::Range<usize>| {
        for (col, cells) in t.cells.iter().enumerate() {
            cells.bind(stmt, rows.clone(), col + 1, width)?;
        }
        stmt.raw_execute().map(drop)
    };
    if full > 0 {
        let mut stmt = conn.prepare_cached(&insert_sql(t, ROWS_PER_INSERT))?;
        for start in (0..full).step_by(ROWS_PER_INSERT) {
            run(&mut stmt, start..start + ROWS_PER_INSERT)?;
        }
    }
    if full < t.len() {
        let mut stmt = conn.prepare_cached(&insert_sql(t, 1))?;
        for row in full..t.len() {
            run(&mut stmt, row..row + 1)?;
        }
    }
    Ok(())
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
    /// Write `table`'s rows (none for an empty dataset).
    fn write(&mut self, table: Option<&CdmTable>) -> Result<()> {
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
        let n = table.map_or(0, CdmTable::len);
        for start in (0..n).step_by(crate::formats::table::ROW_GROUP) {
            let rows = start..n.min(start + crate::formats::table::ROW_GROUP);
            let arrays: Vec<ArrayRef> = table
                .iter()
                .flat_map(|t| &t.cells)
                .map(|c| c.array(rows.clone()))
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
        // two statements a table (`insert`), all kept prepared
        conn.set_prepared_statement_cache_capacity(2 * super::cdm::TABLES.len());
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
        for t in tables.iter().filter(|t| !t.is_empty()) {
            insert(&tx, t).map_err(fail)?;
            if let Some(p) = self.parquet.iter_mut().find(|p| p.name == t.name) {
                p.write(Some(t))?;
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
                None if p.parts == 0 => p.write(None)?,
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
        t.push(&at, &[Value::Int(1), Value::Date(d)]).unwrap();
        // a required column left empty, a value of the wrong type: refused
        // naming the table and column, and no cell of theirs kept
        let err = t.push(&at, &[Value::Int(2), Value::Null]).unwrap_err();
        assert!(err.to_string().contains("CDM death.death_date"), "{err}");
        let err = t
            .push(&at, &[Value::text("x"), Value::Date(d)])
            .unwrap_err();
        assert!(err.to_string().contains("CDM death.person_id"), "{err}");
        // a required column not named at all
        let some = t.columns(&["person_id"]).unwrap();
        let err = t.push(&some, &[Value::Int(3)]).unwrap_err();
        assert!(err.to_string().contains("CDM death.death_date"), "{err}");
        assert!(t.columns(&["ssn"]).is_err());
        assert!(t.columns(&["person_id", "person_id"]).is_err());
        assert_eq!(t.len(), 1);
        let death_date = t.column("death_date").unwrap();
        assert_eq!(t.value(0, death_date), Value::Date(d));
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
            let row = [Value::Int(id), Value::Date(d), Value::text("I21.9")];
            used.push(&all, &row).unwrap();
        }
        used.clear();
        assert!(used.is_empty());
        let mut new = CdmTable::new(&spec, "death").unwrap();
        let some = new.columns(&["person_id", "death_date"]).unwrap();
        for t in [&mut used, &mut new] {
            t.push(&some, &[Value::Int(9), Value::Date(d)]).unwrap();
        }
        let cause = used.column("cause_source_value").unwrap();
        for col in 0..used.fields.len() {
            assert_eq!(used.value(0, col), new.value(0, col));
        }
        assert_eq!(used.value(0, cause), Value::Null);
    }

    /// A table of every type, nulls and empty text among them.
    fn measurements() -> CdmTable {
        let spec = Spec::v54().unwrap();
        let mut t = CdmTable::new(&spec, "measurement").unwrap();
        let at = t
            .columns(&[
                "measurement_id",
                "person_id",
                "measurement_concept_id",
                "measurement_date",
                "measurement_datetime",
                "measurement_type_concept_id",
                "value_as_number",
                "measurement_source_value",
                "unit_source_value",
            ])
            .unwrap();
        let day = NaiveDate::from_ymd_opt(2023, 4, 5).unwrap();
        let time = day.and_hms_opt(14, 30, 0).unwrap();
        for (id, value, source, unit) in [
            (1, Some(5.5), "GLU", "mmol/L"),
            (2, None, "", "mg/dL"),
            (3, Some(-0.25), "K+", ""),
        ] {
            let row = [
                Value::Int(id),
                Value::Int(7),
                Value::Int(3004501),
                Value::Date(day),
                Value::Datetime(time),
                Value::Int(32817),
                value.map_or(Value::Null, Value::Float),
                Value::text(source),
                Value::Text(unit),
            ];
            t.push(&at, &row).unwrap();
        }
        t
    }

    /// Each typed cell goes into SQLite as the value it went in as before
    /// (integers, reals, ISO text dates, text, nulls), rows in their order
    /// whether in a statement of many rows or of one.
    #[test]
    fn typed_cells_write_the_sqlite_values() {
        let t = measurements();
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch(&sqlite_ddl()).unwrap();
        insert(&conn, &t).unwrap();
        let mut q = conn
            .prepare(
                "SELECT measurement_id, measurement_date, measurement_datetime, \
                 value_as_number, measurement_source_value, unit_source_value, \
                 typeof(value_as_number), typeof(unit_source_value) \
                 FROM measurement ORDER BY rowid",
            )
            .unwrap();
        type Row = (
            i64,
            String,
            String,
            Option<f64>,
            Option<String>,
            Option<String>,
            String,
            String,
        );
        let rows: Vec<Row> = q
            .query_map([], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                ))
            })
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        let s = |x: &str| Some(x.to_string());
        let (d, dt) = ("2023-04-05".to_string(), "2023-04-05 14:30:00".to_string());
        let (real, text) = ("real".to_string(), "text".to_string());
        assert_eq!(
            rows,
            vec![
                (
                    1,
                    d.clone(),
                    dt.clone(),
                    Some(5.5),
                    s("GLU"),
                    s("mmol/L"),
                    real.clone(),
                    text.clone()
                ),
                (
                    2,
                    d.clone(),
                    dt.clone(),
                    None,
                    None,
                    s("mg/dL"),
                    "null".into(),
                    text.clone()
                ),
                (3, d, dt, Some(-0.25), s("K+"), s(""), real, text),
            ]
        );
    }

    /// Past `ROWS_PER_INSERT` rows, statements of many rows and the rows
    /// left over give every row once, in order.
    #[test]
    fn many_rows_go_in_whole_statements_and_the_rest() {
        let spec = Spec::v54().unwrap();
        let mut t = CdmTable::new(&spec, "death").unwrap();
        let at = t.columns(&["person_id", "death_date"]).unwrap();
        let d = NaiveDate::from_ymd_opt(2023, 1, 2).unwrap();
        let n = 2 * ROWS_PER_INSERT as i64 + 7;
        for id in 1..=n {
            t.push(&at, &[Value::Int(id), Value::Date(d)]).unwrap();
        }
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch(&sqlite_ddl()).unwrap();
        insert(&conn, &t).unwrap();
        let ids: Vec<i64> = conn
            .prepare("SELECT person_id FROM death ORDER BY rowid")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(ids, (1..=n).collect::<Vec<_>>());
    }

    /// Each typed cell goes into Parquet as the Arrow value it was before:
    /// INT64, DOUBLE, UTF8, DATE (days since 1970) and TIMESTAMP (ms), with
    /// nulls, and text cells after nulls at the right place.
    #[test]
    fn typed_cells_write_the_arrow_values() {
        use arrow_array::Array;
        let t = measurements();
        let col = |name: &str| t.cells[t.column(name).unwrap()].array(0..t.len());
        let ids = col("measurement_id");
        let ids = ids.as_any().downcast_ref::<Int64Array>().unwrap();
        assert_eq!(ids.values().to_vec(), vec![1, 2, 3]);
        let v = col("value_as_number");
        let v = v.as_any().downcast_ref::<Float64Array>().unwrap();
        assert_eq!(
            v.iter().collect::<Vec<_>>(),
            vec![Some(5.5), None, Some(-0.25)]
        );
        let src = col("measurement_source_value");
        let src = src.as_any().downcast_ref::<StringArray>().unwrap();
        assert_eq!(
            src.iter().collect::<Vec<_>>(),
            vec![Some("GLU"), None, Some("K+")]
        );
        let unit = col("unit_source_value");
        let unit = unit.as_any().downcast_ref::<StringArray>().unwrap();
        assert_eq!(
            unit.iter().collect::<Vec<_>>(),
            vec![Some("mmol/L"), Some("mg/dL"), Some("")]
        );
        // a range that starts after a null
        let tail = t.cells[t.column("measurement_source_value").unwrap()].array(1..3);
        let tail = tail.as_any().downcast_ref::<StringArray>().unwrap();
        assert_eq!(tail.iter().collect::<Vec<_>>(), vec![None, Some("K+")]);
        let date = col("measurement_date");
        let date = date.as_any().downcast_ref::<Date32Array>().unwrap();
        // 2023-04-05 is day 19,452 after 1970-01-01
        assert_eq!(date.value(0), 19_452);
        let time = col("measurement_datetime");
        let time = time
            .as_any()
            .downcast_ref::<TimestampMillisecondArray>()
            .unwrap();
        assert_eq!(
            time.value(2),
            19_452 * 86_400_000 + (14 * 3600 + 30 * 60) * 1000
        );
        let empty = col("unit_concept_id");
        assert_eq!(empty.null_count(), 3);
    }
}
