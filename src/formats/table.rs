//! Clean tables as CSV and Parquet: a streaming writer and typed readers.
//!
//! One schema serves both formats: a record type's serde fields are the CSV
//! columns, and `Table::columns` gives each column a plain Arrow type for
//! Parquet (Utf8, Float64, Int64, Date32, Timestamp in seconds without a
//! zone), so pandas, DuckDB and polars read the files as they are. Parquet
//! goes through CSV in memory: rows are serialised once with serde, parsed
//! by Arrow's CSV reader against the schema, and written as a row group
//! every `ROW_GROUP` rows, which keeps memory bounded whatever the row count.
//! Reading Parquet runs the same path backwards, so both formats give the
//! same typed rows.

use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use parquet::arrow::ArrowWriter;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::artifact::AtomicFile;
use crate::clinical::{
    AnalysisRow, Condition, Encounter, Medication, Note, Observation, Patient, PhiSpan, StayTruth,
};
use crate::error::{Error, IoContext, Result};

/// Rows per Parquet row group (and per in-memory CSV batch).
pub const ROW_GROUP: usize = 8192;

/// The plain column types tables use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColType {
    Utf8,
    Float64,
    Int64,
    /// `YYYY-MM-DD`.
    Date,
    /// `YYYY-MM-DDTHH:MM:SS`, local time, no zone.
    Timestamp,
}

impl ColType {
    fn arrow(self) -> DataType {
        match self {
            ColType::Utf8 => DataType::Utf8,
            ColType::Float64 => DataType::Float64,
            ColType::Int64 => DataType::Int64,
            ColType::Date => DataType::Date32,
            ColType::Timestamp => DataType::Timestamp(TimeUnit::Second, None),
        }
    }
}

/// A record type that is written as a table.
pub trait Table: Serialize + DeserializeOwned {
    /// File stem, e.g. `patients`.
    const NAME: &'static str;
    /// Column names (the serde field names, in order) and types.
    fn columns() -> Vec<(&'static str, ColType)>;

    fn schema() -> SchemaRef {
        let fields: Vec<Field> = Self::columns()
            .into_iter()
            .map(|(name, t)| Field::new(name, t.arrow(), true))
            .collect();
        Arc::new(Schema::new(fields))
    }
}

/// Table file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableFormat {
    Csv,
    Parquet,
}

impl TableFormat {
    pub fn extension(self) -> &'static str {
        match self {
            TableFormat::Csv => "csv",
            TableFormat::Parquet => "parquet",
        }
    }

    /// The format a path's extension names.
    pub fn of_path(path: &Path) -> Result<TableFormat> {
        match path.extension().and_then(|e| e.to_str()) {
            Some("csv") => Ok(TableFormat::Csv),
            Some("parquet") => Ok(TableFormat::Parquet),
            other => Err(Error::bad_input(
                path.display(),
                None,
                "a .csv or .parquet table",
                format!("extension {:?}", other.unwrap_or("")),
            )),
        }
    }
}

enum Sink {
    Csv(csv::Writer<AtomicFile>),
    Parquet {
        writer: Box<ArrowWriter<AtomicFile>>,
        buffer: csv::Writer<Vec<u8>>,
        buffered: usize,
    },
}

/// Streams rows of one table into a CSV or Parquet file, atomically: the
/// file appears under its name only when `finish` succeeds.
pub struct TableWriter<T: Table> {
    path: PathBuf,
    sink: Sink,
    rows: u64,
    _row: PhantomData<T>,
}

impl<T: Table> TableWriter<T> {
    pub fn create(path: impl AsRef<Path>, format: TableFormat) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let file = AtomicFile::create(&path)?;
        let sink = match format {
            TableFormat::Csv => {
                // the header is written here, so a table with no rows still
                // has its columns
                let mut w = csv::WriterBuilder::new()
                    .has_headers(false)
                    .from_writer(file);
                let names: Vec<&str> = T::columns().into_iter().map(|(n, _)| n).collect();
                w.write_record(&names)
                    .map_err(|e| Error::failure(format!("{}: {e}", path.display())))?;
                Sink::Csv(w)
            }
            TableFormat::Parquet => {
                let props = parquet::file::properties::WriterProperties::builder()
                    .set_compression(parquet::basic::Compression::SNAPPY)
                    .set_max_row_group_row_count(Some(ROW_GROUP))
                    .build();
                Sink::Parquet {
                    writer: Box::new(ArrowWriter::try_new(file, T::schema(), Some(props))?),
                    buffer: csv_buffer(),
                    buffered: 0,
                }
            }
        };
        Ok(TableWriter {
            path,
            sink,
            rows: 0,
            _row: PhantomData,
        })
    }

    /// The path this writer will commit to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    pub fn write(&mut self, row: &T) -> Result<()> {
        let path = &self.path;
        let fail = |e: csv::Error| Error::failure(format!("{}: {e}", path.display()));
        match &mut self.sink {
            Sink::Csv(w) => w.serialize(row).map_err(fail)?,
            Sink::Parquet {
                buffer, buffered, ..
            } => {
                buffer.serialize(row).map_err(fail)?;
                *buffered += 1;
            }
        }
        self.rows += 1;
        if matches!(&self.sink, Sink::Parquet { buffered, .. } if *buffered >= ROW_GROUP) {
            self.flush_group()?;
        }
        Ok(())
    }

    pub fn write_all<'a>(&mut self, rows: impl IntoIterator<Item = &'a T>) -> Result<()>
    where
        T: 'a,
    {
        rows.into_iter().try_for_each(|r| self.write(r))
    }

    /// Parse the buffered rows against the schema and write a row group.
    fn flush_group(&mut self) -> Result<()> {
        let Sink::Parquet {
            writer,
            buffer,
            buffered,
        } = &mut self.sink
        else {
            return Ok(());
        };
        if *buffered == 0 {
            return Ok(());
        }
        let full = std::mem::replace(buffer, csv_buffer());
        let bytes = full
            .into_inner()
            .map_err(|e| Error::failure(format!("{}: {e}", self.path.display())))?;
        let reader = arrow::csv::ReaderBuilder::new(T::schema())
            .with_header(false)
            .with_batch_size(ROW_GROUP)
            .build(std::io::Cursor::new(bytes))?;
        for batch in reader {
            writer.write(&batch?)?;
        }
        writer.flush()?;
        *buffered = 0;
        Ok(())
    }

    /// Flush, close and move the file into place; returns the row count.
    pub fn finish(mut self) -> Result<u64> {
        self.flush_group()?;
        let path = self.path.clone();
        let file = match self.sink {
            Sink::Csv(w) => w
                .into_inner()
                .map_err(|e| Error::io(&path, e.into_error()))?,
            Sink::Parquet { writer, .. } => writer.into_inner()?,
        };
        file.commit()?;
        Ok(self.rows)
    }
}

/// An in-memory CSV batch without a header (Arrow reads it by position).
fn csv_buffer() -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(Vec::new())
}

/// Read a whole table (CSV or Parquet, by extension) into typed rows.
/// Errors name the file, the line (CSV) or row (Parquet), the column, what
/// was expected and what was found.
pub fn read_table<T: Table>(path: impl AsRef<Path>) -> Result<Vec<T>> {
    let mut rows = Vec::new();
    for_each_row::<T>(path, |row| {
        rows.push(row);
        Ok(())
    })?;
    Ok(rows)
}

/// Stream a table's rows through `f`, without holding the whole table.
pub fn for_each_row<T: Table>(
    path: impl AsRef<Path>,
    mut f: impl FnMut(T) -> Result<()>,
) -> Result<()> {
    let path = path.as_ref();
    match TableFormat::of_path(path)? {
        TableFormat::Csv => {
            let file = std::fs::File::open(path).at(path)?;
            read_csv_rows(path, std::io::BufReader::new(file), 0, &mut f)?;
        }
        TableFormat::Parquet => {
            let file = std::fs::File::open(path).at(path)?;
            let reader =
                parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
                    .map_err(|e| {
                        Error::bad_input(path.display(), None, "a Parquet file", e.to_string())
                    })?
                    .with_batch_size(ROW_GROUP)
                    .build()?;
            let mut first_row = 0usize;
            for batch in reader {
                let batch = batch?;
                let bytes = batch_csv(&batch)?;
                read_csv_rows(path, bytes.as_slice(), first_row, &mut f)?;
                first_row += batch.num_rows();
            }
        }
    }
    Ok(())
}

/// One Parquet record batch as CSV text with a header, dates and times
/// written as the CSV tables write them: Parquet is read through the same
/// CSV path as CSV, so both formats give the same rows.
pub(crate) fn batch_csv(batch: &arrow::record_batch::RecordBatch) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    {
        let mut w = arrow::csv::WriterBuilder::new()
            .with_header(true)
            .with_date_format("%Y-%m-%d".into())
            .with_timestamp_format("%Y-%m-%dT%H:%M:%S".into())
            .build(&mut bytes);
        w.write(batch)?;
    }
    Ok(bytes)
}

/// Read a table's header row and check it is exactly `expected`. Errors
/// name the file, where (`line 1`, or `schema` for a Parquet file), the
/// columns expected and those found.
pub(crate) fn check_header<R: std::io::Read, S: AsRef<str>>(
    path: &Path,
    reader: &mut csv::Reader<R>,
    expected: &[S],
) -> Result<csv::StringRecord> {
    let location = match TableFormat::of_path(path) {
        Ok(TableFormat::Parquet) => "schema",
        _ => "line 1",
    };
    let headers = reader
        .headers()
        .map_err(|e| {
            Error::bad_input(
                path.display(),
                Some(location.into()),
                "a header row",
                e.to_string(),
            )
        })?
        .clone();
    if !headers.iter().eq(expected.iter().map(AsRef::as_ref)) {
        let expected: Vec<&str> = expected.iter().map(AsRef::as_ref).collect();
        return Err(Error::bad_input(
            path.display(),
            Some(location.into()),
            format!("columns {}", expected.join(",")),
            headers.iter().collect::<Vec<_>>().join(","),
        ));
    }
    Ok(headers)
}

/// Deserialise CSV rows; `row_offset` > 0 or a Parquet path makes errors
/// speak of rows rather than lines.
fn read_csv_rows<T: Table, R: std::io::Read>(
    path: &Path,
    input: R,
    row_offset: usize,
    f: &mut impl FnMut(T) -> Result<()>,
) -> Result<()> {
    let parquet = TableFormat::of_path(path)? == TableFormat::Parquet;
    let mut reader = csv::Reader::from_reader(input);
    let expected: Vec<&str> = T::columns().into_iter().map(|(n, _)| n).collect();
    let headers = check_header(path, &mut reader, &expected)?;
    for (i, rec) in reader.deserialize::<T>().enumerate() {
        let row = rec.map_err(|e| {
            let location = if parquet {
                format!("row {}", row_offset + i + 1)
            } else {
                let line = e.position().map_or(i as u64 + 2, |p| p.line());
                format!("line {line}")
            };
            let column = match e.kind() {
                csv::ErrorKind::Deserialize { err, .. } => err
                    .field()
                    .and_then(|k| headers.get(k as usize))
                    .map(|c| format!(", column {c}")),
                _ => None,
            }
            .unwrap_or_default();
            Error::bad_input(
                path.display(),
                Some(format!("{location}{column}")),
                format!("a {} row (see the data dictionary)", T::NAME),
                e.to_string(),
            )
        })?;
        f(row)?;
    }
    Ok(())
}

/// Every direct identifier value of a patient, for the PHI scanner's truth.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Identifier {
    pub patient_id: String,
    /// `name`, `mrn`, `birth_date`, `address`, `city`, `zip`, `phone`,
    /// `email`, `ssn`.
    pub kind: String,
    pub value: String,
}

use ColType::{Date, Float64, Int64, Timestamp, Utf8};

impl Table for Patient {
    const NAME: &'static str = "patients";
    fn columns() -> Vec<(&'static str, ColType)> {
        vec![
            ("patient_id", Utf8),
            ("mrn", Utf8),
            ("given_name", Utf8),
            ("family_name", Utf8),
            ("sex", Utf8),
            ("birth_date", Date),
            ("race", Utf8),
            ("ethnicity", Utf8),
            ("payer", Utf8),
            ("address_line", Utf8),
            ("city", Utf8),
            ("state", Utf8),
            ("zip", Utf8),
            ("phone", Utf8),
            ("email", Utf8),
            ("ssn", Utf8),
            ("death_date", Date),
        ]
    }
}

impl Table for Encounter {
    const NAME: &'static str = "encounters";
    fn columns() -> Vec<(&'static str, ColType)> {
        vec![
            ("encounter_id", Utf8),
            ("patient_id", Utf8),
            ("class", Utf8),
            ("admit_time", Timestamp),
            ("discharge_time", Timestamp),
            ("disposition", Utf8),
            ("reason_code", Utf8),
        ]
    }
}

impl Table for Observation {
    const NAME: &'static str = "observations";
    fn columns() -> Vec<(&'static str, ColType)> {
        vec![
            ("observation_id", Utf8),
            ("patient_id", Utf8),
            ("encounter_id", Utf8),
            ("time", Timestamp),
            ("code", Utf8),
            ("system", Utf8),
            ("display", Utf8),
            ("value", Float64),
            ("unit", Utf8),
        ]
    }
}

impl Table for Condition {
    const NAME: &'static str = "conditions";
    fn columns() -> Vec<(&'static str, ColType)> {
        vec![
            ("condition_id", Utf8),
            ("patient_id", Utf8),
            ("encounter_id", Utf8),
            ("code", Utf8),
            ("display", Utf8),
            ("onset_date", Date),
        ]
    }
}

impl Table for Medication {
    const NAME: &'static str = "medications";
    fn columns() -> Vec<(&'static str, ColType)> {
        vec![
            ("medication_id", Utf8),
            ("patient_id", Utf8),
            ("encounter_id", Utf8),
            ("rxnorm", Utf8),
            ("name", Utf8),
            ("authored_time", Timestamp),
        ]
    }
}

impl Table for Note {
    const NAME: &'static str = "notes";
    fn columns() -> Vec<(&'static str, ColType)> {
        vec![
            ("note_id", Utf8),
            ("patient_id", Utf8),
            ("encounter_id", Utf8),
            ("time", Timestamp),
            ("text", Utf8),
        ]
    }
}

impl Table for PhiSpan {
    const NAME: &'static str = "phi_spans";
    fn columns() -> Vec<(&'static str, ColType)> {
        vec![
            ("note_id", Utf8),
            ("kind", Utf8),
            ("start", Int64),
            ("end", Int64),
        ]
    }
}

impl Table for StayTruth {
    const NAME: &'static str = "stays";
    fn columns() -> Vec<(&'static str, ColType)> {
        vec![
            ("encounter_id", Utf8),
            ("patient_id", Utf8),
            ("true_risk", Float64),
            ("readmit_30d", Int64),
            ("true_mortality_risk", Float64),
            ("died_in_hospital", Int64),
        ]
    }
}

impl Table for Identifier {
    const NAME: &'static str = "identifiers";
    fn columns() -> Vec<(&'static str, ColType)> {
        vec![("patient_id", Utf8), ("kind", Utf8), ("value", Utf8)]
    }
}

impl Table for AnalysisRow {
    const NAME: &'static str = "analysis";
    fn columns() -> Vec<(&'static str, ColType)> {
        let mut cols = vec![
            ("stay_id", Utf8),
            ("patient_id", Utf8),
            ("admit_time", Utf8),
            ("discharge_time", Utf8),
            ("age", Float64),
            ("sex", Utf8),
            ("race_ethnicity", Utf8),
            ("payer", Utf8),
            ("los_days", Float64),
            ("prior_admissions_365d", Float64),
            ("days_since_last_discharge", Float64),
            ("disposition", Utf8),
        ];
        for name in [
            "htn",
            "t2dm",
            "chf",
            "copd",
            "ckd",
            "afib",
            "depression",
            "n_medications",
            "hr",
            "sbp",
            "dbp",
            "rr",
            "temp_c",
            "spo2",
            "weight_kg",
            "hba1c",
            "glucose",
            "creatinine",
            "sodium",
            "potassium",
            "hemoglobin",
            "wbc",
            "bnp",
        ] {
            cols.push((name, Float64));
        }
        cols.push(("readmit_30d", Int64));
        cols
    }
}
