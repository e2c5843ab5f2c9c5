//! The OMOP-like clean model, written as CSV and Parquet.
//!
//! Table and column names follow the OMOP Common Data Model (person,
//! visit_occurrence, measurement, ...), but concepts are kept as the standard
//! codes themselves (LOINC, ICD-10-CM, RxNorm) rather than OMOP concept ids,
//! which would need the licensed vocabulary tables. What each source sent is
//! kept beside the standard value in the `*_source_value` columns.

use std::borrow::Cow;
use std::path::Path;
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_array::{
    ArrayRef, Date32Array, Float64Array, Int64Array, StringArray, TimestampMillisecondArray,
};
use arrow_schema::{DataType, Field, Schema};

use super::row_pool::RowPool;
use crate::artifact::{AtomicFile, Written};
use crate::error::{Error, Result};

/// A column's type in both files. Dates and date-times are held as text
/// (`2023-04-05`, `2023-04-05T14:30:00`, what the CSV shows) and written to
/// Parquet as DATE and TIMESTAMP(MILLIS), so other readers see dates and
/// times, not strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    Number,
    Integer,
    Date,
    Timestamp,
}

/// One cell; `Text("")` and `Number(None)` are empty / null.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Number(Option<f64>),
    Integer(i64),
}

/// A table in memory: name, typed columns, rows in output order.
#[derive(Debug, Clone)]
pub struct OutTable {
    pub name: &'static str,
    pub columns: Vec<(&'static str, Kind)>,
    pub rows: Vec<Vec<Cell>>,
    /// Rows emptied by `clear`, which `push` fills again.
    spare: RowPool<Cell>,
}

impl OutTable {
    pub fn new(name: &'static str, columns: &[(&'static str, Kind)]) -> Self {
        OutTable {
            name,
            columns: columns.to_vec(),
            rows: Vec::new(),
            spare: RowPool::default(),
        }
    }

    /// Add a row, in the memory of one `clear` emptied where there is one.
    pub fn push(&mut self, cells: impl IntoIterator<Item = Cell>) {
        let mut row = self.spare.row();
        row.extend(cells);
        self.rows.push(row);
    }

    /// No rows, keeping their memory for the next ones pushed.
    pub fn clear(&mut self) {
        self.spare.give_back(&mut self.rows);
    }

    /// Write `<dir>/<name>.csv` and `<dir>/<name>.parquet`, atomically;
    /// returns them with their checksums.
    pub fn write(&self, dir: &Path) -> Result<Written> {
        let mut w = self.writer(dir)?;
        w.append(self)?;
        w.finish()
    }

    /// Open `<dir>/<name>.csv` and `.parquet` for rows appended a chunk at
    /// a time (each a table of these columns), so that a table larger than
    /// memory is written in pieces.
    pub fn writer(&self, dir: &Path) -> Result<TableWriter> {
        let csv_path = dir.join(format!("{}.csv", self.name));
        let fail = |e: csv::Error| Error::failure(format!("{}: {e}", csv_path.display()));
        let mut csv = csv::Writer::from_writer(AtomicFile::create(&csv_path)?);
        csv.write_record(self.columns.iter().map(|(n, _)| *n))
            .map_err(fail)?;
        let schema = self.schema();
        let file = AtomicFile::create(dir.join(format!("{}.parquet", self.name)))?;
        let parquet = parquet::arrow::ArrowWriter::try_new(file, schema, None)?;
        Ok(TableWriter {
            csv_path,
            csv,
            parquet,
            wrote: false,
        })
    }

    fn schema(&self) -> Arc<Schema> {
        let fields: Vec<Field> = self
            .columns
            .iter()
            .map(|(n, k)| {
                let t = match k {
                    Kind::Text => DataType::Utf8,
                    Kind::Number => DataType::Float64,
                    Kind::Integer => DataType::Int64,
                    Kind::Date => DataType::Date32,
                    Kind::Timestamp => crate::formats::table::TIMESTAMP,
                };
                Field::new(*n, t, true)
            })
            .collect();
        Arc::new(Schema::new(fields))
    }

    /// The rows as one Arrow batch.
    fn batch(&self) -> Result<RecordBatch> {
        let mut arrays: Vec<ArrayRef> = Vec::new();
        for (i, (column, kind)) in self.columns.iter().enumerate() {
            let cells = self.rows.iter().map(|r| r.get(i));
            // a date or time cell the writer made that does not parse is a bug
            let when = |c: Option<&Cell>, format: &str| -> Result<Option<chrono::NaiveDateTime>> {
                match c {
                    Some(Cell::Text(s)) if !s.is_empty() => {
                        // the writer's own text: read by the fast path
                        let fast = if format.contains('H') {
                            crate::clinical::iso::parse_datetime(s)
                        } else {
                            crate::clinical::iso::parse_date(s)
                                .map(|d| d.and_time(chrono::NaiveTime::MIN))
                        };
                        if fast.is_some() {
                            return Ok(fast);
                        }
                        let parsed = if format.contains('H') {
                            chrono::NaiveDateTime::parse_from_str(s, format)
                        } else {
                            chrono::NaiveDate::parse_from_str(s, format)
                                .map(|d| d.and_time(chrono::NaiveTime::MIN))
                        };
                        parsed.map(Some).map_err(|e| {
                            Error::failure(format!(
                                "{}.{column}: {s:?} is not {format} ({e}; a bug in the writer)",
                                self.name
                            ))
                        })
                    }
                    _ => Ok(None),
                }
            };
            let array: ArrayRef = match kind {
                Kind::Text => Arc::new(StringArray::from_iter(cells.map(|c| match c {
                    Some(Cell::Text(s)) => Some(s.as_str()),
                    _ => None,
                }))),
                Kind::Number => Arc::new(Float64Array::from_iter(cells.map(|c| match c {
                    Some(Cell::Number(x)) => *x,
                    _ => None,
                }))),
                Kind::Integer => Arc::new(Int64Array::from_iter(cells.map(|c| match c {
                    Some(Cell::Integer(x)) => Some(*x),
                    _ => None,
                }))),
                Kind::Date => Arc::new(Date32Array::from(
                    cells
                        .map(|c| {
                            Ok(when(c, "%Y-%m-%d")?.map(|t| {
                                (t.date() - chrono::DateTime::UNIX_EPOCH.date_naive()).num_days()
                                    as i32
                            }))
                        })
                        .collect::<Result<Vec<_>>>()?,
                )),
                Kind::Timestamp => Arc::new(TimestampMillisecondArray::from(
                    cells
                        .map(|c| {
                            Ok(when(c, "%Y-%m-%dT%H:%M:%S")?
                                .map(|t| t.and_utc().timestamp_millis()))
                        })
                        .collect::<Result<Vec<_>>>()?,
                )),
            };
            arrays.push(array);
        }
        Ok(RecordBatch::try_new(self.schema(), arrays)?)
    }
}

/// An `OutTable` being written a chunk of rows at a time.
pub struct TableWriter {
    csv_path: std::path::PathBuf,
    csv: csv::Writer<AtomicFile>,
    parquet: parquet::arrow::ArrowWriter<AtomicFile>,
    wrote: bool,
}

impl TableWriter {
    /// Append `t`'s rows: CSV lines, and a Parquet row group.
    pub fn append(&mut self, t: &OutTable) -> Result<()> {
        let path = &self.csv_path;
        let fail = |e: csv::Error| Error::failure(format!("{}: {e}", path.display()));
        for row in &t.rows {
            self.csv
                .write_record(row.iter().map(|c| match c {
                    Cell::Text(s) => Cow::Borrowed(s.as_bytes()),
                    Cell::Number(Some(x)) => Cow::Owned(x.to_string().into_bytes()),
                    Cell::Number(None) => Cow::Borrowed(&b""[..]),
                    Cell::Integer(i) => Cow::Owned(i.to_string().into_bytes()),
                }))
                .map_err(fail)?;
        }
        if !t.rows.is_empty() || !self.wrote {
            self.parquet.write(&t.batch()?)?;
            self.parquet.flush()?;
            self.wrote = true;
        }
        Ok(())
    }

    /// Close both files; returns them with their checksums.
    pub fn finish(self) -> Result<Written> {
        let csv = self
            .csv
            .into_inner()
            .map_err(|e| Error::io(&self.csv_path, e.into_error()))?
            .commit_written()?;
        Ok(vec![csv, self.parquet.into_inner()?.commit_written()?])
    }
}

pub fn text(s: impl Into<String>) -> Cell {
    Cell::Text(s.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    #[test]
    fn csv_and_parquet_hold_the_same_rows() {
        let dir = tempfile::tempdir().unwrap();
        let mut t = OutTable::new(
            "measurement",
            &[
                ("id", Kind::Text),
                ("value", Kind::Number),
                ("n", Kind::Integer),
            ],
        );
        t.columns.push(("day", Kind::Date));
        t.columns.push(("at", Kind::Timestamp));
        t.rows.push(vec![
            text("M1"),
            Cell::Number(Some(1.5)),
            Cell::Integer(3),
            text("1970-01-02"),
            text("1970-01-01T00:00:02"),
        ]);
        t.rows.push(vec![
            text("M2"),
            Cell::Number(None),
            Cell::Integer(4),
            text(""),
            text(""),
        ]);
        t.write(dir.path()).unwrap();
        let csv = std::fs::read_to_string(dir.path().join("measurement.csv")).unwrap();
        assert_eq!(
            csv,
            "id,value,n,day,at\nM1,1.5,3,1970-01-02,1970-01-01T00:00:02\nM2,,4,,\n"
        );
        let f = std::fs::File::open(dir.path().join("measurement.parquet")).unwrap();
        let mut r = ParquetRecordBatchReaderBuilder::try_new(f)
            .unwrap()
            .build()
            .unwrap();
        let b = r.next().unwrap().unwrap();
        assert_eq!(b.num_rows(), 2);
        let v = b.column(1).as_any().downcast_ref::<Float64Array>().unwrap();
        assert_eq!(v.value(0), 1.5);
        assert!(arrow_array::Array::is_null(v, 1));
        let day = b.column(3).as_any().downcast_ref::<Date32Array>().unwrap();
        assert_eq!(day.value(0), 1);
        assert!(arrow_array::Array::is_null(day, 1));
        let at = b
            .column(4)
            .as_any()
            .downcast_ref::<TimestampMillisecondArray>()
            .unwrap();
        assert_eq!(at.value(0), 2000);
        // a date the writer got wrong is an error, not a null
        t.rows[1][3] = text("05/04/2023");
        let e = t.write(dir.path()).unwrap_err().to_string();
        assert!(
            e.contains("measurement.day") && e.contains("05/04/2023"),
            "{e}"
        );
    }

    /// Rows pushed after `clear` are the rows a new table would hold, and
    /// write the same files.
    #[test]
    fn a_cleared_table_fills_again_as_a_new_one() {
        let columns = [("id", Kind::Text), ("n", Kind::Integer)];
        let mut used = OutTable::new("t", &columns);
        for i in 0..3 {
            used.push([text(format!("old{i}")), Cell::Integer(i)]);
        }
        used.clear();
        assert!(used.rows.is_empty());
        let mut new = OutTable::new("t", &columns);
        for t in [&mut used, &mut new] {
            t.push([text("A"), Cell::Integer(7)]);
        }
        assert_eq!(used.rows, new.rows);
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        used.write(a.path()).unwrap();
        new.write(b.path()).unwrap();
        for f in ["t.csv", "t.parquet"] {
            let read = |d: &tempfile::TempDir| std::fs::read(d.path().join(f)).unwrap();
            assert_eq!(read(&a), read(&b), "{f}");
        }
    }
}
