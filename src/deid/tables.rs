//! Tables of any columns, as CSV or Parquet, streamed row by row as strings.
//!
//! De-identification works on columns by role, whatever the table, so it
//! reads rows as strings. Parquet goes through CSV in memory batch by batch,
//! with the same date and timestamp text as `formats::table`, so a Parquet
//! table gives exactly the strings its CSV twin holds. Writing Parquet runs
//! the same path backwards against a schema: the input's column types where
//! a value keeps its type, the records schema's types when the input was
//! CSV, and text where a transform changes what a column holds.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;

use crate::artifact::AtomicFile;
use crate::clinical::{AnalysisRow, Condition, Encounter, Medication, Note, Observation, Patient};
use crate::error::{Error, IoContext, Result};
use crate::formats::arrow_text;
use crate::formats::table::{check_header, Table, TableFormat, ROW_GROUP};

/// One table file: its name (the file stem), path and format.
#[derive(Debug, Clone, PartialEq)]
pub struct TableFile {
    pub name: String,
    pub path: PathBuf,
    pub format: TableFormat,
}

impl TableFile {
    /// A `.csv` or `.parquet` file; `None` for anything else.
    pub fn of(path: &Path) -> Option<TableFile> {
        let format = TableFormat::of_path(path).ok()?;
        let name = path.file_stem()?.to_string_lossy().into_owned();
        Some(TableFile {
            name,
            path: path.to_path_buf(),
            format,
        })
    }

    /// Column names and, for Parquet, their Arrow types.
    pub fn header(&self) -> Result<(Vec<String>, Option<Vec<DataType>>)> {
        match self.format {
            TableFormat::Csv => {
                let mut rdr =
                    csv::Reader::from_path(&self.path).map_err(|e| csv_err(&self.path, e))?;
                let header = rdr
                    .headers()
                    .map_err(|e| csv_err(&self.path, e))?
                    .iter()
                    .map(String::from)
                    .collect();
                Ok((header, None))
            }
            TableFormat::Parquet => {
                let file = std::fs::File::open(&self.path).at(&self.path)?;
                let builder = ParquetRecordBatchReaderBuilder::try_new(file)
                    .map_err(|e| parquet_err(&self.path, e))?;
                let schema = builder.schema();
                let names = schema.fields().iter().map(|f| f.name().clone()).collect();
                let types = schema
                    .fields()
                    .iter()
                    .map(|f| f.data_type().clone())
                    .collect();
                Ok((names, Some(types)))
            }
        }
    }

    /// Stream every row through `f` with its 1-based data row number; the
    /// header is checked against `header` so a row never meets the wrong
    /// column names.
    pub fn for_each_row(
        &self,
        header: &[String],
        mut f: impl FnMut(u64, &csv::StringRecord) -> Result<()>,
    ) -> Result<()> {
        match self.format {
            TableFormat::Csv => {
                let file = std::fs::File::open(&self.path).at(&self.path)?;
                let mut rows = 0;
                read_csv(
                    &self.path,
                    std::io::BufReader::new(file),
                    header,
                    &mut |r| {
                        rows += 1;
                        f(rows, r)
                    },
                )?;
            }
            TableFormat::Parquet => {
                let file = std::fs::File::open(&self.path).at(&self.path)?;
                let reader = ParquetRecordBatchReaderBuilder::try_new(file)
                    .map_err(|e| parquet_err(&self.path, e))?
                    .with_batch_size(ROW_GROUP)
                    .build()
                    .map_err(|e| parquet_err(&self.path, e))?;
                let mut rows = 0u64;
                for batch in reader {
                    let bytes =
                        arrow_text::batch_to_csv(&self.path.display().to_string(), &batch?)?;
                    read_csv(&self.path, bytes.as_slice(), header, &mut |r| {
                        rows += 1;
                        f(rows, r)
                    })?;
                }
            }
        }
        Ok(())
    }
}

fn read_csv<R: std::io::Read>(
    path: &Path,
    input: R,
    header: &[String],
    f: &mut impl FnMut(&csv::StringRecord) -> Result<()>,
) -> Result<()> {
    let mut rdr = csv::ReaderBuilder::new().flexible(false).from_reader(input);
    check_header(path, &mut rdr, header)?;
    let mut rec = csv::StringRecord::new();
    loop {
        match rdr.read_record(&mut rec) {
            Ok(true) => f(&rec)?,
            Ok(false) => return Ok(()),
            Err(e) => return Err(csv_err(path, e)),
        }
    }
}

pub(crate) fn csv_err(path: &Path, e: csv::Error) -> Error {
    let line = e.position().map(|p| format!("line {}", p.line()));
    Error::bad_input(
        path.display(),
        line,
        "well-formed CSV with a header",
        e.to_string(),
    )
}

fn parquet_err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::bad_input(path.display(), None, "a Parquet file", e.to_string())
}

/// The Arrow types of a records-schema table's columns (patients,
/// encounters, ...), to write a CSV input as typed Parquet.
pub fn records_schema(name: &str) -> Option<SchemaRef> {
    Some(match name {
        "patients" => Patient::schema(),
        "encounters" => Encounter::schema(),
        "observations" => Observation::schema(),
        "conditions" => Condition::schema(),
        "medications" => Medication::schema(),
        "notes" => Note::schema(),
        "analysis" => AnalysisRow::schema(),
        _ => return None,
    })
}

enum Sink {
    Csv(csv::Writer<AtomicFile>),
    Parquet {
        writer: Box<ArrowWriter<AtomicFile>>,
        schema: SchemaRef,
        buffer: csv::Writer<Vec<u8>>,
        buffered: usize,
    },
}

/// Streams string rows into a CSV or Parquet table, atomically.
pub struct TableSink {
    path: PathBuf,
    sink: Sink,
}

impl TableSink {
    /// `columns`: name and Arrow type of each column (the type is used for
    /// Parquet only).
    pub fn create(
        path: &Path,
        format: TableFormat,
        columns: &[(String, DataType)],
    ) -> Result<Self> {
        let file = AtomicFile::create(path)?;
        let fail = |e: csv::Error| Error::failure(format!("{}: {e}", path.display()));
        let sink = match format {
            TableFormat::Csv => {
                let mut w = csv::WriterBuilder::new()
                    .has_headers(false)
                    .from_writer(file);
                w.write_record(columns.iter().map(|(n, _)| n))
                    .map_err(fail)?;
                Sink::Csv(w)
            }
            TableFormat::Parquet => {
                let fields: Vec<Field> = columns
                    .iter()
                    .map(|(n, t)| Field::new(n, arrow_text::written_type(t), true))
                    .collect();
                let schema: SchemaRef = Arc::new(Schema::new(fields));
                let props = parquet::file::properties::WriterProperties::builder()
                    .set_compression(parquet::basic::Compression::SNAPPY)
                    .set_max_row_group_row_count(Some(ROW_GROUP))
                    .build();
                Sink::Parquet {
                    writer: Box::new(ArrowWriter::try_new(file, schema.clone(), Some(props))?),
                    schema,
                    buffer: csv_buffer(),
                    buffered: 0,
                }
            }
        };
        Ok(TableSink {
            path: path.to_path_buf(),
            sink,
        })
    }

    pub fn write(&mut self, row: &[String]) -> Result<()> {
        let path = &self.path;
        let fail = |e: csv::Error| Error::failure(format!("{}: {e}", path.display()));
        let full = match &mut self.sink {
            Sink::Csv(w) => {
                w.write_record(row).map_err(fail)?;
                false
            }
            Sink::Parquet {
                buffer, buffered, ..
            } => {
                buffer.write_record(row).map_err(fail)?;
                *buffered += 1;
                *buffered >= ROW_GROUP
            }
        };
        if full {
            self.flush_group()?;
        }
        Ok(())
    }

    fn flush_group(&mut self) -> Result<()> {
        let Sink::Parquet {
            writer,
            schema,
            buffer,
            buffered,
        } = &mut self.sink
        else {
            return Ok(());
        };
        if *buffered == 0 {
            return Ok(());
        }
        let bytes = std::mem::replace(buffer, csv_buffer())
            .into_inner()
            .map_err(|e| Error::failure(format!("{}: {e}", self.path.display())))?;
        let source = self.path.display().to_string();
        writer.write(&arrow_text::csv_to_batch(&source, schema, &bytes)?)?;
        *buffered = 0;
        Ok(())
    }

    /// Flush, close and move the file into place.
    pub fn finish(mut self) -> Result<()> {
        self.flush_group()?;
        let file = match self.sink {
            Sink::Csv(w) => w
                .into_inner()
                .map_err(|e| Error::io(&self.path, e.into_error()))?,
            Sink::Parquet { writer, .. } => writer.into_inner()?,
        };
        file.commit()?;
        Ok(())
    }
}

fn csv_buffer() -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parquet_rows_read_back_as_the_strings_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        let cols = vec![
            ("id".to_string(), DataType::Utf8),
            ("n".to_string(), DataType::Int64),
            ("d".to_string(), DataType::Date32),
            ("t".to_string(), crate::formats::table::TIMESTAMP),
        ];
        let mut sink = TableSink::create(&path, TableFormat::Parquet, &cols).unwrap();
        let rows = [
            ["a,b", "7", "1950-02-03", "2024-01-31T10:00:00"],
            ["c", "", "", ""],
        ];
        for r in &rows {
            sink.write(&r.map(String::from)).unwrap();
        }
        sink.finish().unwrap();
        let t = TableFile::of(&path).unwrap();
        let (header, types) = t.header().unwrap();
        assert_eq!(header, ["id", "n", "d", "t"]);
        assert_eq!(types.unwrap()[2], DataType::Date32);
        let mut got = Vec::new();
        t.for_each_row(&header, |i, r| {
            got.push((i, r.iter().map(String::from).collect::<Vec<_>>()));
            Ok(())
        })
        .unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0], (1, rows[0].map(String::from).to_vec()));
        assert_eq!(got[1].1[0], "c");
        assert_eq!(got[1].1[1], "");
        // a header that differs is an error naming the file
        let e = t.for_each_row(&["x".into()], |_, _| Ok(())).unwrap_err();
        assert!(e.to_string().contains("t.parquet"), "{e}");
    }
}
