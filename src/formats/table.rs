//! Clean tables as CSV and Parquet: a streaming writer and typed readers.
//!
//! One schema serves both formats: a record type's serde fields are the CSV
//! columns, and `Table::columns` gives each column a plain Arrow type for
//! Parquet (Utf8, Float64, Int64, Date32, Timestamp in milliseconds without
//! a zone), so pandas, DuckDB and polars read the files as they are: dates
//! as Parquet DATE and times as TIMESTAMP(MILLIS), not as integers or text. Parquet
//! goes through CSV in memory: rows are serialised once with serde, turned
//! into Arrow columns against the schema (`formats::arrow_text`), and
//! written as a row group
//! every `ROW_GROUP` rows, which keeps memory bounded whatever the row count.
//! Reading Parquet runs the same path backwards, so both formats give the
//! same typed rows.

use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use parquet::arrow::ArrowWriter;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::artifact::AtomicFile;
use crate::clinical::{
    AnalysisRow, Condition, Encounter, Medication, Note, Observation, Patient, PhiSpan, StayTruth,
};
use crate::error::{Error, IoContext, Result};
use crate::formats::arrow_text;

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

/// The Arrow type of a date-time column: milliseconds, no zone. Parquet has
/// no logical type for seconds, so a seconds column would be written as a
/// bare INT64 that other readers see as a number; milliseconds are Parquet's
/// TIMESTAMP(MILLIS, not adjusted to UTC), the CDM's local date-times.
pub const TIMESTAMP: DataType = DataType::Timestamp(TimeUnit::Millisecond, None);

impl ColType {
    fn arrow(self) -> DataType {
        match self {
            ColType::Utf8 => DataType::Utf8,
            ColType::Float64 => DataType::Float64,
            ColType::Int64 => DataType::Int64,
            ColType::Date => DataType::Date32,
            ColType::Timestamp => TIMESTAMP,
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
    Csv(AtomicFile),
    Parquet {
        writer: Box<ArrowWriter<AtomicFile>>,
        /// Headerless CSV of the rows not yet in a row group.
        buffer: Vec<u8>,
        buffered: usize,
    },
}

/// Rows of one table already encoded as headerless CSV, with the byte end of
/// every row. Workers encode their patients' rows in parallel; the writer
/// then only appends bytes, in order, so the output is the same bytes as
/// writing the rows one by one.
#[derive(Debug, Default, Clone)]
pub struct CsvRows {
    bytes: Vec<u8>,
    ends: Vec<usize>,
    /// Reused for numbers and `collect_str` values.
    scratch: String,
}

impl CsvRows {
    /// Encode `rows` (serde fields as columns, the same encoding `write`
    /// uses).
    pub fn encode<'a, T: Table + 'a>(rows: impl IntoIterator<Item = &'a T>) -> Result<CsvRows> {
        let mut out = CsvRows::default();
        out.extend(rows)?;
        Ok(out)
    }

    /// Append the encoding of more rows.
    pub fn extend<'a, T: Table + 'a>(
        &mut self,
        rows: impl IntoIterator<Item = &'a T>,
    ) -> Result<()> {
        for row in rows {
            encode::record(&mut self.bytes, &mut self.scratch, row)
                .map_err(|e| Error::failure(format!("encoding a {} row: {e}", T::NAME)))?;
            self.ends.push(self.bytes.len());
        }
        Ok(())
    }

    /// Forget the rows, keep the memory.
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.ends.clear();
    }

    pub fn rows(&self) -> usize {
        self.ends.len()
    }

    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Bytes of rows `from..to`.
    fn span(&self, from: usize, to: usize) -> &[u8] {
        let offset = |i: usize| if i == 0 { 0 } else { self.ends[i - 1] };
        &self.bytes[offset(from)..offset(to)]
    }
}

/// A serde serializer that writes one record straight into a byte buffer,
/// byte for byte as the `csv` crate's default writer does (quotes only when
/// a field holds a comma, quote, CR or LF; quotes doubled; floats in `ryu`'s
/// shortest form; `\n` after each record), without its per-field
/// allocations: numbers are written from stack buffers, and other
/// `collect_str` values into a reused string.
pub(crate) mod encode {
    use std::fmt::Write as _;

    use serde::ser::{self, Impossible, Serialize};

    #[derive(Debug)]
    pub struct EncodeError(String);

    impl std::fmt::Display for EncodeError {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(&self.0)
        }
    }

    impl std::error::Error for EncodeError {}

    impl ser::Error for EncodeError {
        fn custom<T: std::fmt::Display>(msg: T) -> Self {
            EncodeError(msg.to_string())
        }
    }

    fn unsupported(what: &str) -> EncodeError {
        EncodeError(format!("a {what} cannot be a CSV field"))
    }

    /// Append `row` as one CSV record (with its `\n`) to `out`; on error
    /// `out` is as it was.
    pub fn record<T: Serialize + ?Sized>(
        out: &mut Vec<u8>,
        scratch: &mut String,
        row: &T,
    ) -> Result<(), EncodeError> {
        let start = out.len();
        let mut enc = RowEncoder {
            out: &mut *out,
            scratch,
            fields: 0,
            in_struct: false,
        };
        if let Err(e) = row.serialize(&mut enc) {
            out.truncate(start);
            return Err(e);
        }
        // a record with no bytes is written as `""`, as the csv crate
        // does, so that it stays a record
        if out.len() == start {
            out.extend_from_slice(b"\"\"");
        }
        out.push(b'\n');
        Ok(())
    }

    struct RowEncoder<'a> {
        out: &'a mut Vec<u8>,
        scratch: &'a mut String,
        fields: usize,
        /// Inside the row's struct: a struct within it is refused.
        in_struct: bool,
    }

    /// Append one field's bytes to `out` as the csv crate writes them:
    /// quoted, each quote doubled, when they hold a comma, quote, CR or LF;
    /// as they are otherwise. The separator before it is the caller's.
    pub fn field(out: &mut Vec<u8>, bytes: &[u8]) {
        if needs_quotes(bytes) {
            out.push(b'"');
            // each quote is doubled: copy the runs between them whole
            let mut parts = bytes.split(|b| *b == b'"');
            if let Some(first) = parts.next() {
                out.extend_from_slice(first);
            }
            for part in parts {
                out.extend_from_slice(b"\"\"");
                out.extend_from_slice(part);
            }
            out.push(b'"');
        } else {
            out.extend_from_slice(bytes);
        }
    }

    /// Append `v` in decimal, as `{v}` writes it (no quotes are needed).
    pub fn signed(out: &mut Vec<u8>, v: i64) {
        let mut buf = [0u8; 21];
        let digits = decimal(v.unsigned_abs(), &mut buf[1..]).len();
        let start = buf.len() - digits;
        if v < 0 {
            buf[start - 1] = b'-';
            out.extend_from_slice(&buf[start - 1..]);
        } else {
            out.extend_from_slice(&buf[start..]);
        }
    }

    impl RowEncoder<'_> {
        fn field(&mut self, bytes: &[u8]) {
            if self.fields > 0 {
                self.out.push(b',');
            }
            self.fields += 1;
            field(self.out, bytes);
        }

        /// The field from `scratch`, formatted by `f`.
        fn formatted(&mut self, f: impl FnOnce(&mut String) -> std::fmt::Result) {
            let mut s = std::mem::take(self.scratch);
            s.clear();
            // writing into a String cannot fail
            let _ = f(&mut s);
            self.field(s.as_bytes());
            *self.scratch = s;
        }

        /// A field known to hold none of the bytes that need quoting.
        fn plain(&mut self, bytes: &[u8]) {
            if self.fields > 0 {
                self.out.push(b',');
            }
            self.fields += 1;
            self.out.extend_from_slice(bytes);
        }

        fn float(&mut self, v: f64) {
            // exactly as csv writes it: csv formats floats with the `ryu`
            // crate, so this calls the same crate rather than imitating it
            // (std's shortest digits can pick the other of two equally short
            // neighbours); digits, `.`, `-`, `e`, `NaN`, `inf` need no quotes
            let mut buf = [0u8; 32];
            match few_decimals(v, &mut buf) {
                Some(text) => self.plain(text),
                None => self.plain(ryu::Buffer::new().format(v).as_bytes()),
            }
        }

        fn unsigned(&mut self, v: u64) {
            let mut buf = [0u8; 20];
            let digits = decimal(v, &mut buf);
            self.plain(digits);
        }

        fn signed(&mut self, v: i64) {
            if self.fields > 0 {
                self.out.push(b',');
            }
            self.fields += 1;
            signed(self.out, v);
        }
    }

    /// `v` as ryu writes it, for the values tables mostly hold: a
    /// magnitude in [1e-4, 1e9) with at most six decimals (`64.0`,
    /// `1.23`, `0.0457`); `None` for any other value, which ryu formats.
    ///
    /// Why it is the same text: when `m / 10^k == v` for whole `m`
    /// (the division is correctly rounded), the decimal `m * 10^-k`
    /// reads back as `v`, so it round-trips; trying `k = 0, 1, ...` finds
    /// the fewest decimals first, and below 1e9 the doubles are closer
    /// together than 1e-6, so no other decimal of as few digits reads back
    /// as `v`. That is ryu's shortest, closest form, and ryu writes a
    /// value in this range without an exponent (`100.0`, `0.0001`).
    fn few_decimals(v: f64, buf: &mut [u8; 32]) -> Option<&[u8]> {
        const POW10: [f64; 7] = [1.0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6];
        let a = v.abs();
        if !(1e-4..1e9).contains(&a) {
            return None;
        }
        let (k, m) = POW10.iter().enumerate().find_map(|(k, p)| {
            let m = (a * p).round();
            (m / p == a).then_some((k, m as u64))
        })?;
        // digits of m from the end, with the point k digits from the right
        // and at least one digit before it
        let mut i = buf.len();
        let mut rest = m;
        let mut written = 0;
        if k == 0 {
            i -= 2;
            buf[i..].copy_from_slice(b".0");
        }
        while rest > 0 || written <= k {
            if k > 0 && written == k {
                i -= 1;
                buf[i] = b'.';
            }
            i -= 1;
            buf[i] = b'0' + (rest % 10) as u8;
            rest /= 10;
            written += 1;
        }
        if v < 0.0 {
            i -= 1;
            buf[i] = b'-';
        }
        Some(&buf[i..])
    }

    /// The decimal digits of `v`, written at the end of `buf` (at least 20
    /// bytes: `u64::MAX` has 20 digits), as `{v}` writes them.
    fn decimal(mut v: u64, buf: &mut [u8]) -> &[u8] {
        let mut i = buf.len();
        loop {
            i -= 1;
            buf[i] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        &buf[i..]
    }

    /// Does the field hold a comma, quote, CR or LF? Tested a word (8
    /// bytes) at a time, the last word overlapping the one before it, so a
    /// field of 8 to 16 bytes (most ids, codes and dates) costs two tests
    /// and no loop over its bytes: every byte of every row passes here.
    fn needs_quotes(bytes: &[u8]) -> bool {
        let n = bytes.len();
        if n < 4 {
            return bytes
                .iter()
                .any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r'));
        }
        if n < 8 {
            // two 4-byte words, overlapping when n < 8
            let word = |at: usize| u64::from(u32::from_le_bytes(four(&bytes[at..])));
            return special_in(word(0) | word(n - 4) << 32);
        }
        let word = |at: usize| u64::from_le_bytes(eight(&bytes[at..]));
        (0..n / 8).any(|i| special_in(word(8 * i))) || special_in(word(n - 8))
    }

    fn four(bytes: &[u8]) -> [u8; 4] {
        [bytes[0], bytes[1], bytes[2], bytes[3]]
    }

    fn eight(bytes: &[u8]) -> [u8; 8] {
        let mut w = [0; 8];
        w.copy_from_slice(&bytes[..8]);
        w
    }

    /// Is any byte of `word` a comma, quote, CR or LF? A byte of `word ^
    /// c * LO` is zero where `word` holds `c`; `(v - LO) & !v & HI` is not
    /// zero exactly when some byte of `v` is zero.
    fn special_in(word: u64) -> bool {
        const LO: u64 = 0x0101_0101_0101_0101;
        const HI: u64 = 0x8080_8080_8080_8080;
        let zero_byte = |v: u64| v.wrapping_sub(LO) & !v & HI;
        let has = |c: u8| zero_byte(word ^ (LO * u64::from(c)));
        (has(b',') | has(b'"') | has(b'\n') | has(b'\r')) != 0
    }

    macro_rules! integers {
        ($($name:ident: $t:ty),*) => {
            $(fn $name(self, v: $t) -> Result<(), EncodeError> {
                self.formatted(|s| write!(s, "{v}"));
                Ok(())
            })*
        };
    }

    impl<'r> ser::Serializer for &mut RowEncoder<'r> {
        type Ok = ();
        type Error = EncodeError;
        type SerializeSeq = Impossible<(), EncodeError>;
        type SerializeTuple = Impossible<(), EncodeError>;
        type SerializeTupleStruct = Impossible<(), EncodeError>;
        type SerializeTupleVariant = Impossible<(), EncodeError>;
        type SerializeMap = Impossible<(), EncodeError>;
        type SerializeStruct = Self;
        type SerializeStructVariant = Impossible<(), EncodeError>;

        fn serialize_bool(self, v: bool) -> Result<(), EncodeError> {
            self.field(if v { b"true" } else { b"false" });
            Ok(())
        }
        integers!(serialize_i128: i128, serialize_u128: u128);
        fn serialize_i8(self, v: i8) -> Result<(), EncodeError> {
            self.signed(v.into());
            Ok(())
        }
        fn serialize_i16(self, v: i16) -> Result<(), EncodeError> {
            self.signed(v.into());
            Ok(())
        }
        fn serialize_i32(self, v: i32) -> Result<(), EncodeError> {
            self.signed(v.into());
            Ok(())
        }
        fn serialize_i64(self, v: i64) -> Result<(), EncodeError> {
            self.signed(v);
            Ok(())
        }
        fn serialize_u8(self, v: u8) -> Result<(), EncodeError> {
            self.unsigned(v.into());
            Ok(())
        }
        fn serialize_u16(self, v: u16) -> Result<(), EncodeError> {
            self.unsigned(v.into());
            Ok(())
        }
        fn serialize_u32(self, v: u32) -> Result<(), EncodeError> {
            self.unsigned(v.into());
            Ok(())
        }
        fn serialize_u64(self, v: u64) -> Result<(), EncodeError> {
            self.unsigned(v);
            Ok(())
        }
        fn serialize_f32(self, v: f32) -> Result<(), EncodeError> {
            // ryu formats an f32 by its own shortest digits
            self.formatted(|s| s.write_str(ryu::Buffer::new().format(v)));
            Ok(())
        }
        fn serialize_f64(self, v: f64) -> Result<(), EncodeError> {
            self.float(v);
            Ok(())
        }
        fn serialize_char(self, v: char) -> Result<(), EncodeError> {
            self.field(v.encode_utf8(&mut [0; 4]).as_bytes());
            Ok(())
        }
        fn serialize_str(self, v: &str) -> Result<(), EncodeError> {
            self.field(v.as_bytes());
            Ok(())
        }
        fn serialize_bytes(self, v: &[u8]) -> Result<(), EncodeError> {
            self.field(v);
            Ok(())
        }
        fn serialize_none(self) -> Result<(), EncodeError> {
            self.field(b"");
            Ok(())
        }
        fn serialize_some<T: ?Sized + Serialize>(self, v: &T) -> Result<(), EncodeError> {
            v.serialize(self)
        }
        fn serialize_unit(self) -> Result<(), EncodeError> {
            self.field(b"");
            Ok(())
        }
        fn serialize_unit_struct(self, name: &'static str) -> Result<(), EncodeError> {
            self.field(name.as_bytes());
            Ok(())
        }
        fn serialize_unit_variant(
            self,
            _name: &'static str,
            _index: u32,
            variant: &'static str,
        ) -> Result<(), EncodeError> {
            self.field(variant.as_bytes());
            Ok(())
        }
        fn serialize_newtype_struct<T: ?Sized + Serialize>(
            self,
            _name: &'static str,
            v: &T,
        ) -> Result<(), EncodeError> {
            v.serialize(self)
        }
        fn serialize_newtype_variant<T: ?Sized + Serialize>(
            self,
            _name: &'static str,
            _index: u32,
            _variant: &'static str,
            _v: &T,
        ) -> Result<(), EncodeError> {
            Err(unsupported("newtype variant"))
        }
        fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, EncodeError> {
            Err(unsupported("sequence"))
        }
        fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, EncodeError> {
            Err(unsupported("tuple"))
        }
        fn serialize_tuple_struct(
            self,
            _name: &'static str,
            _len: usize,
        ) -> Result<Self::SerializeTupleStruct, EncodeError> {
            Err(unsupported("tuple struct"))
        }
        fn serialize_tuple_variant(
            self,
            _name: &'static str,
            _index: u32,
            _variant: &'static str,
            _len: usize,
        ) -> Result<Self::SerializeTupleVariant, EncodeError> {
            Err(unsupported("tuple variant"))
        }
        fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, EncodeError> {
            Err(unsupported("map"))
        }
        fn serialize_struct(
            self,
            _name: &'static str,
            _len: usize,
        ) -> Result<Self::SerializeStruct, EncodeError> {
            // a nested struct would flatten silently; only the row may be one
            if self.in_struct {
                return Err(unsupported("nested struct"));
            }
            self.in_struct = true;
            Ok(self)
        }
        fn serialize_struct_variant(
            self,
            _name: &'static str,
            _index: u32,
            _variant: &'static str,
            _len: usize,
        ) -> Result<Self::SerializeStructVariant, EncodeError> {
            Err(unsupported("struct variant"))
        }
        fn collect_str<T: ?Sized + std::fmt::Display>(self, v: &T) -> Result<(), EncodeError> {
            self.formatted(|s| write!(s, "{v}"));
            Ok(())
        }
    }

    impl<'r> ser::SerializeStruct for &mut RowEncoder<'r> {
        type Ok = ();
        type Error = EncodeError;
        fn serialize_field<T: ?Sized + Serialize>(
            &mut self,
            _key: &'static str,
            v: &T,
        ) -> Result<(), EncodeError> {
            v.serialize(&mut **self)
        }
        fn end(self) -> Result<(), EncodeError> {
            Ok(())
        }
    }
}

/// Streams rows of one table into a CSV or Parquet file, atomically: the
/// file appears under its name only when `finish` succeeds.
pub struct TableWriter<T: Table> {
    path: PathBuf,
    sink: Sink,
    rows: u64,
    /// Reused for `write`, one row at a time.
    scratch: CsvRows,
    _row: PhantomData<T>,
}

impl<T: Table> TableWriter<T> {
    pub fn create(path: impl AsRef<Path>, format: TableFormat) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let mut file = AtomicFile::create(&path)?;
        let sink = match format {
            TableFormat::Csv => {
                // the header is written here, so a table with no rows still
                // has its columns
                let mut w = csv_encoder(Vec::new());
                let names: Vec<&str> = T::columns().into_iter().map(|(n, _)| n).collect();
                w.write_record(&names)
                    .map_err(|e| Error::failure(format!("{}: {e}", path.display())))?;
                let header = w
                    .into_inner()
                    .map_err(|e| Error::failure(format!("{}: {e}", path.display())))?;
                std::io::Write::write_all(&mut file, &header).at(&path)?;
                Sink::Csv(file)
            }
            TableFormat::Parquet => {
                let props = parquet::file::properties::WriterProperties::builder()
                    .set_compression(parquet::basic::Compression::SNAPPY)
                    .set_max_row_group_row_count(Some(ROW_GROUP))
                    .build();
                Sink::Parquet {
                    writer: Box::new(ArrowWriter::try_new(file, T::schema(), Some(props))?),
                    buffer: Vec::new(),
                    buffered: 0,
                }
            }
        };
        Ok(TableWriter {
            path,
            sink,
            rows: 0,
            scratch: CsvRows::default(),
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
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        scratch.extend(std::iter::once(row))?;
        let done = self.write_encoded(&scratch);
        self.scratch = scratch;
        done
    }

    pub fn write_all<'a>(&mut self, rows: impl IntoIterator<Item = &'a T>) -> Result<()>
    where
        T: 'a,
    {
        let encoded = CsvRows::encode(rows)?;
        self.write_encoded(&encoded)
    }

    /// Append rows encoded by `CsvRows::encode::<T>`. Parquet row groups
    /// are cut at exactly `ROW_GROUP` rows wherever the batches end, so the
    /// file does not depend on how rows were batched.
    pub fn write_encoded(&mut self, encoded: &CsvRows) -> Result<()> {
        let total = encoded.rows();
        match &mut self.sink {
            Sink::Csv(file) => {
                std::io::Write::write_all(file, encoded.bytes()).at(&self.path)?;
                self.rows += total as u64;
            }
            Sink::Parquet { .. } => {
                let mut from = 0;
                while from < total {
                    let Sink::Parquet {
                        buffer, buffered, ..
                    } = &mut self.sink
                    else {
                        break;
                    };
                    let take = (ROW_GROUP - *buffered).min(total - from);
                    buffer.extend_from_slice(encoded.span(from, from + take));
                    *buffered += take;
                    self.rows += take as u64;
                    from += take;
                    if *buffered >= ROW_GROUP {
                        self.flush_group()?;
                    }
                }
            }
        }
        Ok(())
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
        writer.write(&arrow_text::csv_to_batch(T::NAME, &T::schema(), buffer)?)?;
        writer.flush()?;
        buffer.clear();
        *buffered = 0;
        Ok(())
    }

    /// Flush, close and move the file into place; returns the file's
    /// SHA-256 (hex). `rows()` before it says how many rows it holds.
    pub fn finish(mut self) -> Result<String> {
        self.flush_group()?;
        let file = match self.sink {
            Sink::Csv(file) => file,
            Sink::Parquet { writer, .. } => writer.into_inner()?,
        };
        file.commit()
    }
}

/// A headerless CSV encoder into memory (`arrow_text` reads the columns by
/// position; the header is written once by `TableWriter::create`).
fn csv_encoder(into: Vec<u8>) -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(into)
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
                let bytes = arrow_text::batch_to_csv(&path.display().to_string(), &batch)?;
                read_csv_rows(path, bytes.as_slice(), first_row, &mut f)?;
                first_row += batch.num_rows();
            }
        }
    }
    Ok(())
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
            ("admit_time", Timestamp),
            ("discharge_time", Timestamp),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clinical::{PhiKind, PhiSpan};
    use rand::Rng as _;

    /// What the csv crate writes for `rows` (the reference encoding).
    fn csv_crate<T: Serialize>(rows: &[T]) -> Vec<u8> {
        let mut w = csv_encoder(Vec::new());
        for r in rows {
            w.serialize(r).unwrap();
        }
        w.into_inner().unwrap()
    }

    /// Our encoding of `rows`, for record types that are not tables.
    fn encode_rows<T: Serialize>(rows: &[T]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut scratch = String::new();
        for r in rows {
            encode::record(&mut out, &mut scratch, r).unwrap();
        }
        out
    }

    #[test]
    fn floats_are_written_as_the_csv_crate_writes_them() {
        let mut values = vec![
            0.0,
            -0.0,
            1.0,
            -1.0,
            0.1,
            12.5,
            100.0,
            1e15,
            1e16,
            1e17,
            123_456_789_012_345_680.0,
            1.5e20,
            1e-4,
            1e-5,
            1.5e-5,
            9.9e-6,
            1e-7,
            -2.5e-9,
            5e-324,
            f64::MAX,
            f64::MIN_POSITIVE,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            0.30000000000000004,
            98.6,
            1234.5678,
            0.0001,
            0.00011,
            9.9e-5,
            0.0457,
            0.05,
            -0.5,
            100.0,
            120.25,
            0.123456,
            0.1234567,
            999_999_999.5,
            999_999_999.999_999,
            1e9,
            123_456.000_001,
            2.0625,
            -64.0,
        ];
        let mut rng = crate::rng::stream(7, "ryu-test", 0);
        for _ in 0..2000 {
            let exp = rng.random_range(-30..30);
            values.push(
                rng.random::<f64>() * 10f64.powi(exp) * if rng.random() { 1.0 } else { -1.0 },
            );
            values.push((rng.random::<f64>() * 1000.0 * 100.0).round() / 100.0);
            // the rounded values tables hold: 0 to 6 decimals
            let k = rng.random_range(0..7);
            let scale = 10f64.powi(k);
            let magnitude = 10f64.powi(rng.random_range(-4..9));
            values.push((rng.random::<f64>() * magnitude * scale).round() / scale);
        }
        #[derive(Serialize)]
        struct Float {
            v: f64,
        }
        for v in values {
            let ours = String::from_utf8(encode_rows(&[Float { v }])).unwrap();
            let theirs = String::from_utf8(csv_crate(&[v])).unwrap();
            assert_eq!(ours, theirs, "value {v:e}");
        }
    }

    #[test]
    fn integers_are_written_as_the_csv_crate_writes_them() {
        #[derive(Serialize)]
        struct Ints {
            a: i8,
            b: i16,
            c: i32,
            d: i64,
            e: u8,
            f: u16,
            g: u32,
            h: u64,
            i: i128,
            j: usize,
        }
        let row = |k: i64| Ints {
            a: k as i8,
            b: k as i16,
            c: k as i32,
            d: k,
            e: k as u8,
            f: k as u16,
            g: k as u32,
            h: k as u64,
            i: i128::from(k) * 3,
            j: k as usize,
        };
        let mut rows: Vec<Ints> = [0, 1, -1, 9, 10, -10, 99, 100, 255, -128, 65_535]
            .into_iter()
            .chain([i64::MAX, i64::MIN, i64::from(i32::MIN), 1_000_000_007])
            .map(row)
            .collect();
        rows.push(Ints {
            h: u64::MAX,
            i: i128::MIN,
            ..row(0)
        });
        assert_eq!(
            String::from_utf8(encode_rows(&rows)).unwrap(),
            String::from_utf8(csv_crate(&rows)).unwrap()
        );
    }

    #[test]
    fn quotes_are_found_anywhere_in_a_long_field() {
        #[derive(Serialize)]
        struct Text {
            a: String,
            b: String,
        }
        // every length up to three words and a long one, a special byte at
        // every place: the word tests and their overlaps see each of them
        let mut rows = Vec::new();
        for len in (0..=33).chain([100]) {
            rows.push(Text {
                a: "x".repeat(len),
                b: "é".repeat(len / 2),
            });
            for at in 0..len {
                for special in [",", "\"", "\n", "\r"] {
                    let mut a = "y".repeat(len);
                    a.replace_range(at..at + 1, special);
                    rows.push(Text {
                        a,
                        b: String::new(),
                    });
                }
            }
        }
        assert_eq!(rows.len(), 35 + 4 * (33 * 34 / 2 + 100));
        assert_eq!(
            String::from_utf8(encode_rows(&rows)).unwrap(),
            String::from_utf8(csv_crate(&rows)).unwrap()
        );
    }

    #[test]
    fn rows_encode_byte_for_byte_as_the_csv_crate_writes_them() {
        let t = crate::clinical::parse_datetime("2023-04-05T14:30:00").unwrap();
        let notes = vec![
            Note {
                note_id: "N1".into(),
                patient_id: "P0000001".into(),
                encounter_id: "E0000001-01".into(),
                time: t,
                text: "Mr. \"Al\" Smith, seen 04/05/2023.\nCall (555) 010-0199\r\nok".into(),
            },
            Note {
                note_id: String::new(),
                patient_id: "P,2".into(),
                encounter_id: "é ñ".into(),
                time: t,
                text: String::new(),
            },
        ];
        let encoded = CsvRows::encode(&notes).unwrap();
        assert_eq!(encoded.bytes(), csv_crate(&notes).as_slice());
        assert_eq!(encoded.rows(), 2);
        let spans = vec![PhiSpan {
            note_id: "N1".into(),
            kind: PhiKind::Name,
            start: 4,
            end: 15,
        }];
        assert_eq!(
            CsvRows::encode(&spans).unwrap().bytes(),
            csv_crate(&spans).as_slice()
        );
        let rows = vec![
            AnalysisRow {
                stay_id: "E1".into(),
                age: 71.0,
                los_days: 2.0625,
                hr: Some(88.0),
                creatinine: Some(1.23),
                readmit_30d: 1,
                ..Default::default()
            },
            AnalysisRow::default(),
        ];
        let encoded = CsvRows::encode(&rows).unwrap();
        assert_eq!(encoded.bytes(), csv_crate(&rows).as_slice());
        // row ends let the writer cut exactly between rows
        assert_eq!(encoded.span(1, 2), &csv_crate(&rows[1..])[..]);
    }

    #[test]
    fn parquet_row_groups_do_not_depend_on_how_rows_were_batched() {
        let dir = tempfile::tempdir().unwrap();
        let rows: Vec<PhiSpan> = (0..(ROW_GROUP * 2 + 100))
            .map(|i| PhiSpan {
                note_id: format!("N{i}"),
                kind: PhiKind::Date,
                start: i,
                end: i + 10,
            })
            .collect();
        let one = dir.path().join("one.parquet");
        let mut w = TableWriter::<PhiSpan>::create(&one, TableFormat::Parquet).unwrap();
        for r in &rows {
            w.write(r).unwrap();
        }
        assert_eq!(w.rows(), rows.len() as u64);
        // the checksum made while writing is the checksum of the file
        let sha = w.finish().unwrap();
        assert_eq!(sha, crate::artifact::sha256_file(&one).unwrap());
        let batched = dir.path().join("batched.parquet");
        let mut w = TableWriter::<PhiSpan>::create(&batched, TableFormat::Parquet).unwrap();
        for chunk in rows.chunks(3001) {
            w.write_encoded(&CsvRows::encode(chunk).unwrap()).unwrap();
        }
        assert_eq!(w.rows(), rows.len() as u64);
        assert_eq!(w.finish().unwrap(), sha);
        assert_eq!(
            std::fs::read(&one).unwrap(),
            std::fs::read(&batched).unwrap()
        );
        let back: Vec<PhiSpan> = read_table(&batched).unwrap();
        assert_eq!(back, rows);
    }
}
