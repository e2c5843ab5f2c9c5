//! The OMOP-like clean model, written as CSV and Parquet.
//!
//! Table and column names follow the OMOP Common Data Model (person,
//! visit_occurrence, measurement, ...), but concepts are kept as the standard
//! codes themselves (LOINC, ICD-10-CM, RxNorm) rather than OMOP concept ids,
//! which would need the licensed vocabulary tables. What each source sent is
//! kept beside the standard value in the `*_source_value` columns.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{
    Array, ArrayRef, Date32Array, Float64Array, Int64Array, RecordBatch, StringArray,
    TimestampMillisecondArray,
};
use arrow_buffer::{ArrowNativeType, Buffer, NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow_schema::{DataType, Field, Schema};
use chrono::{NaiveDate, NaiveDateTime};
use parquet::arrow::ArrowWriter;

use crate::artifact::{AtomicFile, Written};
use crate::error::{Error, Result};
use crate::formats::table::encode;

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
}

impl OutTable {
    pub fn new(name: &'static str, columns: &[(&'static str, Kind)]) -> Self {
        OutTable {
            name,
            columns: columns.to_vec(),
            rows: Vec::new(),
        }
    }

    pub fn push(&mut self, cells: impl IntoIterator<Item = Cell>) {
        self.rows.push(cells.into_iter().collect());
    }

    /// Write `<dir>/<name>.csv` and `<dir>/<name>.parquet`, atomically;
    /// returns them with their checksums.
    pub fn write(&self, dir: &Path) -> Result<Written> {
        let mut w = self.writer(dir)?;
        w.append(self)?;
        w.finish()
    }

    /// Open `<dir>/<name>.csv` and `.parquet` for this table's columns.
    pub fn writer(&self, dir: &Path) -> Result<TableWriter> {
        TableWriter::create(dir, self.name, &self.columns)
    }
}

/// CSV bytes held before they are handed to the file.
const CSV_CHUNK: usize = 1 << 16;

/// One column's values for the row group being written, in buffers that
/// are lent to Arrow for the row group's batch and taken back after it,
/// so that every partition's columns fill the memory of the one before.
/// Arrow's builders give their buffers away with the batch, and a
/// partition's columns grown in fresh memory had the kernel clear a page
/// for every 4 KB of them: most of the time these tables took.
enum Column {
    /// UTF-8 text: each value's end in `bytes` (after a leading 0).
    Text {
        ends: Vec<i32>,
        bytes: Vec<u8>,
        nulls: Nulls,
    },
    Number(Vec<f64>, Nulls),
    Integer(Vec<i64>, Nulls),
    Date(Vec<i32>, Nulls),
    Timestamp(Vec<i64>, Nulls),
}

/// Which values are present, once a column holds a null.
#[derive(Default)]
struct Nulls {
    valid: Vec<bool>,
    any: bool,
}

impl Nulls {
    /// Record the next value, present or not; `before` values came earlier.
    fn push(&mut self, present: bool, before: usize) {
        if !present && !self.any {
            self.any = true;
            self.valid.clear();
            self.valid.resize(before, true);
        }
        if self.any {
            self.valid.push(present);
        }
    }

    /// Arrow's null buffer, `None` when every value is present.
    fn take(&mut self) -> Option<NullBuffer> {
        let nulls = self.any.then(|| NullBuffer::from(self.valid.as_slice()));
        self.valid.clear();
        self.any = false;
        nulls
    }
}

/// A value and whether it is present, pushed onto a column.
fn push<T: Default>(values: &mut Vec<T>, nulls: &mut Nulls, v: Option<T>) {
    nulls.push(v.is_some(), values.len());
    values.push(v.unwrap_or_default());
}

/// A buffer Arrow has handed back, as the vector it was lent as (emptied,
/// its memory kept), or a new one where Arrow still shares it.
fn reclaim<T: ArrowNativeType>(buffer: Option<&Buffer>) -> Vec<T> {
    let mut v = buffer
        .cloned()
        .and_then(|b| b.into_vec::<T>().ok())
        .unwrap_or_default();
    v.clear();
    v
}

impl Column {
    fn new(kind: Kind) -> Column {
        let nulls = Nulls::default;
        match kind {
            Kind::Text => Column::Text {
                ends: vec![0],
                bytes: Vec::new(),
                nulls: nulls(),
            },
            Kind::Number => Column::Number(Vec::new(), nulls()),
            Kind::Integer => Column::Integer(Vec::new(), nulls()),
            Kind::Date => Column::Date(Vec::new(), nulls()),
            Kind::Timestamp => Column::Timestamp(Vec::new(), nulls()),
        }
    }

    fn push_text(&mut self, s: Option<&str>) -> Result<()> {
        if let Column::Text { ends, bytes, nulls } = self {
            nulls.push(s.is_some(), ends.len() - 1);
            bytes.extend_from_slice(s.unwrap_or_default().as_bytes());
            let end = i32::try_from(bytes.len()).map_err(|_| {
                Error::failure("a text column of a row group holds 2 GiB or more".to_string())
            })?;
            ends.push(end);
        }
        Ok(())
    }

    fn push_null(&mut self) -> Result<()> {
        match self {
            Column::Text { .. } => return self.push_text(None),
            Column::Number(v, n) => push(v, n, None),
            Column::Integer(v, n) => push(v, n, None),
            Column::Date(v, n) => push(v, n, None),
            Column::Timestamp(v, n) => push(v, n, None),
        }
        Ok(())
    }

    /// The column's values as an Arrow array, its buffers lent to it.
    fn lend(&mut self) -> Result<ArrayRef> {
        use std::mem::take;
        Ok(match self {
            Column::Text { ends, bytes, nulls } => {
                let offsets = OffsetBuffer::new(ScalarBuffer::from(take(ends)));
                Arc::new(StringArray::try_new(
                    offsets,
                    Buffer::from_vec(take(bytes)),
                    nulls.take(),
                )?)
            }
            Column::Number(v, n) => Arc::new(Float64Array::new(take(v).into(), n.take())),
            Column::Integer(v, n) => Arc::new(Int64Array::new(take(v).into(), n.take())),
            Column::Date(v, n) => Arc::new(Date32Array::new(take(v).into(), n.take())),
            Column::Timestamp(v, n) => {
                Arc::new(TimestampMillisecondArray::new(take(v).into(), n.take()))
            }
        })
    }

    /// Take back the buffers lent to `array`, emptied.
    fn reclaim(&mut self, array: ArrayRef) {
        let data = array.to_data();
        drop(array);
        let buffers = data.buffers().to_vec();
        drop(data);
        let first = buffers.first();
        match self {
            Column::Text { ends, bytes, .. } => {
                *ends = reclaim(first);
                ends.push(0);
                *bytes = reclaim(buffers.get(1));
            }
            Column::Number(v, _) => *v = reclaim(first),
            Column::Integer(v, _) => *v = reclaim(first),
            Column::Date(v, _) => *v = reclaim(first),
            Column::Timestamp(v, _) => *v = reclaim(first),
        }
    }
}

/// Days since 1970-01-01, Parquet's DATE.
fn epoch_days(d: NaiveDate) -> i32 {
    (d - chrono::DateTime::UNIX_EPOCH.date_naive()).num_days() as i32
}

/// Milliseconds since 1970-01-01T00:00:00 of the whole second `t` is in:
/// the CSV shows whole seconds, and Parquet holds what the CSV shows.
fn epoch_millis(t: NaiveDateTime) -> i64 {
    t.and_utc().timestamp() * 1000
}

/// A table's CSV and Parquet files being written a row at a time: each
/// cell goes straight into the CSV bytes and its column's Arrow builder,
/// with no cell of its own in between. Rows are appended in groups
/// ([`TableWriter::end_group`]), each a Parquet row group.
pub struct TableWriter {
    name: &'static str,
    kinds: Vec<Kind>,
    csv_path: PathBuf,
    csv: AtomicFile,
    /// CSV bytes not yet handed to the file.
    line: Vec<u8>,
    columns: Vec<Column>,
    schema: Arc<Schema>,
    /// Rows in the row group being written (all in the builders).
    in_group: usize,
    parquet: ArrowWriter<AtomicFile>,
    wrote: bool,
    /// Reused for numbers written as text.
    scratch: String,
}

impl TableWriter {
    /// Open `<dir>/<name>.csv` (its header written) and `<dir>/<name>.parquet`.
    pub fn create(
        dir: &Path,
        name: &'static str,
        columns: &[(&'static str, Kind)],
    ) -> Result<Self> {
        let csv_path = dir.join(format!("{name}.csv"));
        let mut line = Vec::with_capacity(2 * CSV_CHUNK);
        for (i, (n, _)) in columns.iter().enumerate() {
            if i > 0 {
                line.push(b',');
            }
            encode::field(&mut line, n.as_bytes());
        }
        end_record(&mut line, 0, columns.len());
        let schema = schema(columns);
        let file = AtomicFile::create(dir.join(format!("{name}.parquet")))?;
        let parquet = ArrowWriter::try_new(file, schema.clone(), None)?;
        Ok(TableWriter {
            name,
            kinds: columns.iter().map(|(_, k)| *k).collect(),
            csv: AtomicFile::create(&csv_path)?,
            csv_path,
            line,
            columns: columns.iter().map(|(_, k)| Column::new(*k)).collect(),
            schema,
            in_group: 0,
            parquet,
            wrote: false,
            scratch: String::new(),
        })
    }

    /// Start a row; its cells follow in column order, then [`Row::end`].
    pub fn row(&mut self) -> Row<'_> {
        let start = self.line.len();
        Row {
            w: self,
            at: 0,
            start,
            wrong: None,
        }
    }

    /// Append `t`'s rows as one group: CSV lines, and a Parquet row group.
    pub fn append(&mut self, t: &OutTable) -> Result<()> {
        for cells in &t.rows {
            let mut row = self.row();
            for cell in cells {
                row = row.cell(cell)?;
            }
            row.end()?;
        }
        self.end_group()
    }

    /// End the group of rows appended since the last: its rows go to
    /// Parquet as one batch, and a row group (a batch per group: the
    /// Parquet writer cuts its pages where its batches begin, so the bytes
    /// would depend on a smaller batch's size). A file with no rows at all
    /// gets its one empty write, as a table written whole would.
    pub fn end_group(&mut self) -> Result<()> {
        if self.in_group > 0 || !self.wrote {
            self.write_batch()?;
            self.parquet.flush()?;
            self.wrote = true;
            self.in_group = 0;
        }
        Ok(())
    }

    /// The builders' rows as a batch to Parquet (nothing when there are
    /// none).
    fn write_batch(&mut self) -> Result<()> {
        let arrays = self
            .columns
            .iter_mut()
            .map(Column::lend)
            .collect::<Result<Vec<_>>>()?;
        let batch = RecordBatch::try_new(self.schema.clone(), arrays)?;
        self.parquet.write(&batch)?;
        let (_, arrays, _) = batch.into_parts();
        for (column, array) in self.columns.iter_mut().zip(arrays) {
            column.reclaim(array);
        }
        Ok(())
    }

    /// Close both files; returns them with their checksums.
    pub fn finish(mut self) -> Result<Written> {
        self.csv
            .write_all(&self.line)
            .map_err(|e| Error::io(&self.csv_path, e))?;
        Ok(vec![
            self.csv.commit_written()?,
            self.parquet.into_inner()?.commit_written()?,
        ])
    }
}

/// A record's end: `\n`, after `""` when it is one empty field (as the
/// csv crate writes it, so that it stays a record).
fn end_record(line: &mut Vec<u8>, start: usize, columns: usize) {
    if columns == 1 && line.len() == start {
        line.extend_from_slice(b"\"\"");
    }
    line.push(b'\n');
}

/// One row being written: each method writes the next column's cell, of
/// the column's kind.
pub struct Row<'a> {
    w: &'a mut TableWriter,
    /// The next column.
    at: usize,
    /// Where the row's CSV bytes begin.
    start: usize,
    /// The first cell given for a column of another kind, or past the
    /// last column (a bug in the caller), reported by `end`.
    wrong: Option<String>,
}

impl Row<'_> {
    /// Keep the first error of a cell for `end` to report.
    fn fail(&mut self, r: Result<()>) {
        if let Err(e) = r {
            self.wrong.get_or_insert_with(|| e.to_string());
        }
    }

    /// The next column, after its separator, when it is of `kind`.
    fn next(&mut self, kind: Kind) -> Option<usize> {
        let i = self.at;
        self.at += 1;
        match self.w.kinds.get(i) {
            Some(k) if *k == kind => {
                if i > 0 {
                    self.w.line.push(b',');
                }
                Some(i)
            }
            found => {
                self.wrong.get_or_insert_with(|| {
                    format!("column {i} is {found:?}, given a {kind:?} cell")
                });
                None
            }
        }
    }

    /// Text; empty text is an empty cell in both files, not null.
    pub fn text(mut self, s: &str) -> Self {
        if let Some(i) = self.next(Kind::Text) {
            encode::field(&mut self.w.line, s.as_bytes());
            let pushed = self.w.columns[i].push_text(Some(s));
            self.fail(pushed);
        }
        self
    }

    /// A number (`None`: empty, null), as Rust's `{}` writes it.
    pub fn number(mut self, x: Option<f64>) -> Self {
        if let Some(i) = self.next(Kind::Number) {
            if let Some(x) = x {
                let w = &mut *self.w;
                w.scratch.clear();
                // writing into a String cannot fail
                let _ = write!(w.scratch, "{x}");
                encode::field(&mut w.line, w.scratch.as_bytes());
            }
            if let Column::Number(v, n) = &mut self.w.columns[i] {
                push(v, n, x);
            }
        }
        self
    }

    pub fn integer(mut self, n: i64) -> Self {
        if let Some(i) = self.next(Kind::Integer) {
            encode::signed(&mut self.w.line, n);
            if let Column::Integer(v, nulls) = &mut self.w.columns[i] {
                push(v, nulls, Some(n));
            }
        }
        self
    }

    /// A date (`None`: empty, null), `2023-04-05`.
    pub fn date(mut self, d: Option<NaiveDate>) -> Self {
        if let Some(i) = self.next(Kind::Date) {
            if let Some(d) = d {
                match crate::clinical::iso::date_ascii(&d) {
                    Some(b) => self.w.line.extend_from_slice(&b),
                    None => encode::field(&mut self.w.line, d.to_string().as_bytes()),
                }
            }
            if let Column::Date(v, n) = &mut self.w.columns[i] {
                push(v, n, d.map(epoch_days));
            }
        }
        self
    }

    /// A date-time (`None`: empty, null), `2023-04-05T14:30:00`.
    pub fn timestamp(mut self, t: Option<NaiveDateTime>) -> Self {
        if let Some(i) = self.next(Kind::Timestamp) {
            if let Some(t) = &t {
                match crate::clinical::iso::datetime_ascii(t) {
                    Some(b) => self.w.line.extend_from_slice(&b),
                    None => {
                        let s = crate::clinical::iso::format_datetime(t);
                        encode::field(&mut self.w.line, s.as_bytes())
                    }
                }
            }
            if let Column::Timestamp(v, n) = &mut self.w.columns[i] {
                push(v, n, t.map(epoch_millis));
            }
        }
        self
    }

    /// A cell of an [`OutTable`]: text in a date or date-time column is
    /// read as one (text that is not one is an error), a cell of another
    /// kind than its column's is an empty cell and null.
    fn cell(self, c: &Cell) -> Result<Self> {
        let Some(&kind) = self.w.kinds.get(self.at) else {
            return Ok(self.text(""));
        };
        Ok(match (kind, c) {
            (Kind::Text, Cell::Text(s)) => self.text(s),
            (Kind::Number, Cell::Number(x)) => self.number(*x),
            (Kind::Integer, Cell::Integer(n)) => self.integer(*n),
            (Kind::Date | Kind::Timestamp, Cell::Text(s)) if !s.is_empty() => self.when(kind, s)?,
            _ => self.null_as_written(c),
        })
    }

    /// Text of a date or date-time column, written to the CSV as it is and
    /// to Parquet as the date or time it reads as.
    fn when(mut self, kind: Kind, s: &str) -> Result<Self> {
        let format = if kind == Kind::Date {
            "%Y-%m-%d"
        } else {
            "%Y-%m-%dT%H:%M:%S"
        };
        let parsed = if kind == Kind::Date {
            crate::clinical::iso::parse_date(s)
                .map(|d| d.and_time(chrono::NaiveTime::MIN))
                .or_else(|| {
                    NaiveDate::parse_from_str(s, format)
                        .ok()
                        .map(|d| d.and_time(chrono::NaiveTime::MIN))
                })
        } else {
            crate::clinical::iso::parse_datetime(s)
                .or_else(|| NaiveDateTime::parse_from_str(s, format).ok())
        };
        let Some(t) = parsed else {
            let column = self.w.schema.field(self.at).name().clone();
            return Err(Error::failure(format!(
                "{}.{column}: {s:?} is not {format} (a bug in the writer)",
                self.w.name
            )));
        };
        let i = self.at;
        self.at += 1;
        if i > 0 {
            self.w.line.push(b',');
        }
        encode::field(&mut self.w.line, s.as_bytes());
        match &mut self.w.columns[i] {
            Column::Date(v, n) => push(v, n, Some(epoch_days(t.date()))),
            Column::Timestamp(v, n) => push(v, n, Some(t.and_utc().timestamp_millis())),
            other => other.push_null()?,
        }
        Ok(self)
    }

    /// A cell whose kind is not its column's: its text in the CSV (as the
    /// csv writer showed every cell), null in Parquet.
    fn null_as_written(mut self, c: &Cell) -> Self {
        let i = self.at;
        self.at += 1;
        if i > 0 {
            self.w.line.push(b',');
        }
        match c {
            Cell::Text(s) => encode::field(&mut self.w.line, s.as_bytes()),
            Cell::Number(Some(x)) => encode::field(&mut self.w.line, x.to_string().as_bytes()),
            Cell::Number(None) => {}
            Cell::Integer(n) => encode::signed(&mut self.w.line, *n),
        }
        let pushed = self.w.columns[i].push_null();
        self.fail(pushed);
        self
    }

    /// End the row: every column must have had its cell. The CSV bytes go
    /// to the file every `CSV_CHUNK`.
    pub fn end(self) -> Result<()> {
        let w = self.w;
        if self.wrong.is_none() && self.at != w.kinds.len() {
            return Err(Error::failure(format!(
                "{}: a row of {} cells for {} columns (a bug in the writer)",
                w.name,
                self.at,
                w.kinds.len()
            )));
        }
        if let Some(wrong) = self.wrong {
            return Err(Error::failure(format!(
                "{}: {wrong} (a bug in the writer)",
                w.name
            )));
        }
        end_record(&mut w.line, self.start, w.kinds.len());
        if w.line.len() >= CSV_CHUNK {
            w.csv
                .write_all(&w.line)
                .map_err(|e| Error::io(&w.csv_path, e))?;
            w.line.clear();
        }
        w.in_group += 1;
        Ok(())
    }
}

/// The Arrow schema of `columns`: every column nullable.
fn schema(columns: &[(&'static str, Kind)]) -> Arc<Schema> {
    let fields: Vec<Field> = columns
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

    /// Cells written by kind (dates and times as values) make the same
    /// files as the same cells written as text, and each group is a row
    /// group of its own, in buffers reused from the group before.
    #[test]
    fn typed_cells_write_what_their_text_writes() {
        let columns = [
            ("id", Kind::Text),
            ("x", Kind::Number),
            ("n", Kind::Integer),
            ("day", Kind::Date),
            ("at", Kind::Timestamp),
        ];
        let t = |s: &str| chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f").unwrap();
        let rows = [
            (
                "a,\"b\"",
                Some(64.0),
                -3,
                Some("1969-12-31"),
                Some("2023-04-05T14:30:07"),
            ),
            ("", None, 0, None, None),
            (
                "c",
                Some(0.1 + 0.2),
                i64::MAX,
                Some("2024-02-29"),
                Some("1901-12-13T20:45:52"),
            ),
        ];
        let (typed, as_text) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let mut w = TableWriter::create(typed.path(), "t", &columns).unwrap();
        let mut table = OutTable::new("t", &columns);
        for group in [&rows[..2], &rows[2..]] {
            for (id, x, n, day, at) in group {
                let day = day.map(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap());
                w.row()
                    .text(id)
                    .number(*x)
                    .integer(*n)
                    .date(day)
                    .timestamp(at.map(t))
                    .end()
                    .unwrap();
                table.push([
                    text(*id),
                    Cell::Number(*x),
                    Cell::Integer(*n),
                    text(day.map(|d| d.to_string()).unwrap_or_default()),
                    text(at.unwrap_or_default()),
                ]);
            }
            w.end_group().unwrap();
        }
        w.finish().unwrap();
        let mut w = table.writer(as_text.path()).unwrap();
        for group in [0..2, 2..3] {
            let mut part = OutTable::new("t", &columns);
            part.rows = table.rows[group].to_vec();
            w.append(&part).unwrap();
        }
        w.finish().unwrap();
        let read = |d: &tempfile::TempDir, f: &str| std::fs::read(d.path().join(f)).unwrap();
        assert_eq!(
            String::from_utf8(read(&typed, "t.csv")).unwrap(),
            "id,x,n,day,at\n\"a,\"\"b\"\"\",64,-3,1969-12-31,2023-04-05T14:30:07\n,,0,,\n\
             c,0.30000000000000004,9223372036854775807,2024-02-29,1901-12-13T20:45:52\n"
        );
        for f in ["t.csv", "t.parquet"] {
            assert_eq!(read(&typed, f), read(&as_text, f), "{f}");
        }
        let f = std::fs::File::open(typed.path().join("t.parquet")).unwrap();
        let r = ParquetRecordBatchReaderBuilder::try_new(f).unwrap();
        assert_eq!(r.metadata().num_row_groups(), 2);
        let b: Vec<RecordBatch> = r.build().unwrap().map(|b| b.unwrap()).collect();
        let day = b[0]
            .column(3)
            .as_any()
            .downcast_ref::<Date32Array>()
            .unwrap();
        assert_eq!(day.value(0), -1);
        assert!(day.is_null(1));
        let at = b[0]
            .column(4)
            .as_any()
            .downcast_ref::<TimestampMillisecondArray>();
        assert_eq!(at.unwrap().value(2), -2_147_483_648_000);
    }

    /// A cell of the wrong kind, or a row short of cells, is an error
    /// naming the table, not a panic or a shifted row.
    #[test]
    fn a_row_of_the_wrong_cells_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let columns = [("id", Kind::Text), ("n", Kind::Integer)];
        let mut w = TableWriter::create(dir.path(), "t", &columns).unwrap();
        let e = w.row().integer(1).integer(2).end().unwrap_err().to_string();
        assert!(
            e.contains("t: column 0 is Some(Text), given a Integer cell"),
            "{e}"
        );
        let e = w.row().text("a").end().unwrap_err().to_string();
        assert!(e.contains("a row of 1 cells for 2 columns"), "{e}");
    }
}
