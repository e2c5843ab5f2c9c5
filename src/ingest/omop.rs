//! The OMOP-like clean model, written as CSV and Parquet.
//!
//! Table and column names follow the OMOP Common Data Model (person,
//! visit_occurrence, measurement, ...), but concepts are kept as the standard
//! codes themselves (LOINC, ICD-10-CM, RxNorm) rather than OMOP concept ids,
//! which would need the licensed vocabulary tables. What each source sent is
//! kept beside the standard value in the `*_source_value` columns.

use std::path::Path;
use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, Int64Array, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;

use crate::artifact::AtomicFile;
use crate::error::{Error, Result};

/// A column's type in both files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    Number,
    Integer,
}

/// One cell; `Text("")` and `Number(None)` are empty / null.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Number(Option<f64>),
    Integer(i64),
}

/// A table in memory: name, typed columns, rows in output order.
#[derive(Debug, Clone, PartialEq)]
pub struct OutTable {
    pub name: &'static str,
    pub columns: Vec<(&'static str, Kind)>,
    pub rows: Vec<Vec<Cell>>,
}

impl OutTable {
    pub fn new(name: &'static str, columns: &[(&'static str, Kind)]) -> Self {
        OutTable {
            name,
            columns: columns.to_vec(),
            rows: Vec::new(),
        }
    }

    /// Write `<dir>/<name>.csv` and `<dir>/<name>.parquet`, atomically.
    pub fn write(&self, dir: &Path) -> Result<()> {
        self.write_csv(&dir.join(format!("{}.csv", self.name)))?;
        self.write_parquet(&dir.join(format!("{}.parquet", self.name)))
    }

    fn write_csv(&self, path: &Path) -> Result<()> {
        let fail = |e: csv::Error| Error::failure(format!("{}: {e}", path.display()));
        let mut w = csv::Writer::from_writer(AtomicFile::create(path)?);
        w.write_record(self.columns.iter().map(|(n, _)| *n))
            .map_err(fail)?;
        for row in &self.rows {
            w.write_record(row.iter().map(|c| match c {
                Cell::Text(s) => s.clone(),
                Cell::Number(Some(x)) => x.to_string(),
                Cell::Number(None) => String::new(),
                Cell::Integer(i) => i.to_string(),
            }))
            .map_err(fail)?;
        }
        w.into_inner()
            .map_err(|e| Error::io(path, e.into_error()))?
            .commit()?;
        Ok(())
    }

    fn write_parquet(&self, path: &Path) -> Result<()> {
        let fields: Vec<Field> = self
            .columns
            .iter()
            .map(|(n, k)| {
                let t = match k {
                    Kind::Text => DataType::Utf8,
                    Kind::Number => DataType::Float64,
                    Kind::Integer => DataType::Int64,
                };
                Field::new(*n, t, true)
            })
            .collect();
        let schema = Arc::new(Schema::new(fields));
        let mut arrays: Vec<ArrayRef> = Vec::new();
        for (i, (_, kind)) in self.columns.iter().enumerate() {
            let cells = self.rows.iter().map(|r| r.get(i));
            let array: ArrayRef = match kind {
                Kind::Text => Arc::new(StringArray::from_iter(cells.map(|c| match c {
                    Some(Cell::Text(s)) => Some(s.clone()),
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
            };
            arrays.push(array);
        }
        let batch = RecordBatch::try_new(schema.clone(), arrays)?;
        let file = AtomicFile::create(path)?;
        let mut writer = parquet::arrow::ArrowWriter::try_new(file, schema, None)?;
        writer.write(&batch)?;
        let file = writer.into_inner()?;
        file.commit()?;
        Ok(())
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
        t.rows
            .push(vec![text("M1"), Cell::Number(Some(1.5)), Cell::Integer(3)]);
        t.rows
            .push(vec![text("M2"), Cell::Number(None), Cell::Integer(4)]);
        t.write(dir.path()).unwrap();
        let csv = std::fs::read_to_string(dir.path().join("measurement.csv")).unwrap();
        assert_eq!(csv, "id,value,n\nM1,1.5,3\nM2,,4\n");
        let f = std::fs::File::open(dir.path().join("measurement.parquet")).unwrap();
        let mut r = ParquetRecordBatchReaderBuilder::try_new(f)
            .unwrap()
            .build()
            .unwrap();
        let b = r.next().unwrap().unwrap();
        assert_eq!(b.num_rows(), 2);
        let v = b.column(1).as_any().downcast_ref::<Float64Array>().unwrap();
        assert_eq!(v.value(0), 1.5);
        assert!(arrow::array::Array::is_null(v, 1));
    }
}
