//! Arrow columns to text and back.
//!
//! Tables are encoded once, as CSV text (workers encode rows in parallel;
//! CSV and Parquet outputs share the encoder), and Parquet files are read
//! back through the same CSV row reader. This module is the bridge: it
//! builds a record batch from headerless CSV text against a schema, and
//! writes a batch's cells as text. The text is what the CSV tables hold:
//! dates `YYYY-MM-DD`, date-times `YYYY-MM-DDTHH:MM:SS` (with a fraction
//! only when there is one), floats in their shortest exact form, so a
//! Parquet table reads as exactly the strings its CSV twin holds and every
//! value survives the round trip. An empty cell is null.
//!
//! It covers the column types CareLab writes and the flat types other
//! Parquet writers (pandas, DuckDB, Spark) commonly use; a nested or binary
//! column is an error that names it.

use arrow_array::builder::{
    ArrayBuilder, BooleanBuilder, LargeStringBuilder, PrimitiveBuilder, StringBuilder,
    StringViewBuilder,
};
use arrow_array::cast::AsArray;
use arrow_array::temporal_conversions::{as_date, as_datetime, as_time};
use arrow_array::types::*;
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, SchemaRef, TimeUnit};
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Timelike};

use crate::clinical::iso;
use crate::error::{Error, Result};

/// Build a record batch of `schema` from headerless CSV text (one record per
/// row, one field per column). `source` names the table in errors, which
/// give the row (1-based within `text`), the column, the type expected and
/// the text found.
pub fn csv_to_batch(source: &str, schema: &SchemaRef, text: &[u8]) -> Result<RecordBatch> {
    let mut columns = schema
        .fields()
        .iter()
        .map(|f| ColumnBuilder::new(f.data_type()))
        .collect::<Result<Vec<_>>>()?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text);
    let mut record = csv::ByteRecord::new();
    let mut row = 0u64;
    loop {
        let more = reader
            .read_byte_record(&mut record)
            .map_err(|e| Error::failure(format!("{source}: {e}")))?;
        if !more {
            break;
        }
        row += 1;
        if record.len() != columns.len() {
            return Err(Error::bad_input(
                source,
                format!("row {row}"),
                format!("{} fields", columns.len()),
                format!("{} fields", record.len()),
            ));
        }
        for ((cell, column), field) in record.iter().zip(&mut columns).zip(schema.fields()) {
            column.push(cell).map_err(|found| {
                Error::bad_input(
                    source,
                    format!("row {row}, column {}", field.name()),
                    format!("a {} value", field.data_type()),
                    found,
                )
            })?;
        }
    }
    let arrays = columns
        .iter_mut()
        .map(ColumnBuilder::finish)
        .collect::<Result<Vec<_>>>()?;
    Ok(RecordBatch::try_new(schema.clone(), arrays)?)
}

/// A record batch as CSV text with a header row. `source` names the file in
/// errors, which give the column and what it holds.
pub fn batch_to_csv(source: &str, batch: &RecordBatch) -> Result<Vec<u8>> {
    let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
    let fail = |e: csv::Error| Error::failure(format!("CSV of a record batch: {e}"));
    w.write_record(batch.schema().fields().iter().map(|f| f.name()))
        .map_err(fail)?;
    let (schema, columns) = (batch.schema(), batch.columns());
    let mut cells = vec![String::new(); columns.len()];
    for row in 0..batch.num_rows() {
        for ((column, cell), field) in columns.iter().zip(&mut cells).zip(schema.fields()) {
            cell.clear();
            write_cell(column.as_ref(), row, cell)
                .map_err(|found| cell_error(source, field.name(), found))?;
        }
        w.write_record(&cells).map_err(fail)?;
    }
    w.into_inner()
        .map_err(|e| Error::failure(format!("CSV of a record batch: {e}")))
}

/// What `write_cell` reads: the expected side of its errors.
pub const READABLE: &str = "a flat column (text, boolean, integer, float, decimal, date, time, \
     timestamp, or a dictionary of these)";

/// The error for a cell `write_cell` could not write: `found` is what it
/// returned.
pub fn cell_error(source: &str, column: &str, found: String) -> Error {
    Error::bad_input(source, format!("column {column}"), READABLE, found)
}

/// Append cell `row` of `array` to `out` as text; nothing for a null.
/// Returns whether the cell held a value; `Err` says what the column holds
/// that is not read as text (see `READABLE`).
pub fn write_cell(
    array: &dyn Array,
    row: usize,
    out: &mut String,
) -> std::result::Result<bool, String> {
    use std::fmt::Write as _;
    if array.is_null(row) {
        return Ok(false);
    }
    macro_rules! value {
        ($t:ty) => {
            array.as_primitive::<$t>().value(row)
        };
    }
    let out_of_range = || format!("a {} value out of range", array.data_type());
    let _ = match array.data_type() {
        DataType::Utf8 => out.write_str(array.as_string::<i32>().value(row)),
        DataType::LargeUtf8 => out.write_str(array.as_string::<i64>().value(row)),
        DataType::Utf8View => out.write_str(array.as_string_view().value(row)),
        DataType::Boolean => write!(out, "{}", array.as_boolean().value(row)),
        DataType::Int8 => write!(out, "{}", value!(Int8Type)),
        DataType::Int16 => write!(out, "{}", value!(Int16Type)),
        DataType::Int32 => write!(out, "{}", value!(Int32Type)),
        DataType::Int64 => write!(out, "{}", value!(Int64Type)),
        DataType::UInt8 => write!(out, "{}", value!(UInt8Type)),
        DataType::UInt16 => write!(out, "{}", value!(UInt16Type)),
        DataType::UInt32 => write!(out, "{}", value!(UInt32Type)),
        DataType::UInt64 => write!(out, "{}", value!(UInt64Type)),
        DataType::Float32 => out.write_str(ryu::Buffer::new().format(value!(Float32Type))),
        DataType::Float64 => out.write_str(ryu::Buffer::new().format(value!(Float64Type))),
        DataType::Decimal128(precision, scale) => out.write_str(&Decimal128Type::format_decimal(
            value!(Decimal128Type),
            *precision,
            *scale,
        )),
        DataType::Date32 => {
            let date = as_date::<Date32Type>(i64::from(value!(Date32Type)));
            write_date(out, &date.ok_or_else(out_of_range)?)
        }
        DataType::Date64 => {
            let t = as_datetime::<Date64Type>(value!(Date64Type));
            write_datetime(out, &t.ok_or_else(out_of_range)?)
        }
        DataType::Timestamp(unit, zone) => {
            let t = match unit {
                TimeUnit::Second => as_datetime::<TimestampSecondType>(value!(TimestampSecondType)),
                TimeUnit::Millisecond => {
                    as_datetime::<TimestampMillisecondType>(value!(TimestampMillisecondType))
                }
                TimeUnit::Microsecond => {
                    as_datetime::<TimestampMicrosecondType>(value!(TimestampMicrosecondType))
                }
                TimeUnit::Nanosecond => {
                    as_datetime::<TimestampNanosecondType>(value!(TimestampNanosecondType))
                }
            }
            .ok_or_else(out_of_range)?;
            // An instant with a zone is written as UTC, and marked so.
            write_datetime(out, &t).and_then(|_| match zone {
                Some(_) => out.write_char('Z'),
                None => Ok(()),
            })
        }
        DataType::Time32(TimeUnit::Second) => write_time(
            out,
            as_time::<Time32SecondType>(value!(Time32SecondType).into()),
        ),
        DataType::Time32(TimeUnit::Millisecond) => write_time(
            out,
            as_time::<Time32MillisecondType>(value!(Time32MillisecondType).into()),
        ),
        DataType::Time64(TimeUnit::Microsecond) => write_time(
            out,
            as_time::<Time64MicrosecondType>(value!(Time64MicrosecondType)),
        ),
        DataType::Time64(TimeUnit::Nanosecond) => write_time(
            out,
            as_time::<Time64NanosecondType>(value!(Time64NanosecondType)),
        ),
        DataType::Dictionary(..) => {
            let dictionary = array.as_any_dictionary();
            let key = dictionary_key(dictionary.keys(), row).ok_or_else(out_of_range)?;
            return write_cell(dictionary.values().as_ref(), key, out);
        }
        other => return Err(format!("a column of Arrow type {other}")),
    };
    Ok(true)
}

/// The type a column is written back as: a dictionary column as its values
/// (Parquet dictionary-encodes by itself), anything else as it is.
pub fn written_type(t: &DataType) -> DataType {
    match t {
        DataType::Dictionary(_, values) => written_type(values),
        other => other.clone(),
    }
}

/// The index a dictionary column's key `row` points at.
fn dictionary_key(keys: &dyn Array, row: usize) -> Option<usize> {
    macro_rules! key {
        ($t:ty) => {
            usize::try_from(keys.as_primitive::<$t>().value(row)).ok()
        };
    }
    match keys.data_type() {
        DataType::Int8 => key!(Int8Type),
        DataType::Int16 => key!(Int16Type),
        DataType::Int32 => key!(Int32Type),
        DataType::Int64 => key!(Int64Type),
        DataType::UInt8 => key!(UInt8Type),
        DataType::UInt16 => key!(UInt16Type),
        DataType::UInt32 => key!(UInt32Type),
        DataType::UInt64 => key!(UInt64Type),
        _ => None,
    }
}

fn write_date(out: &mut String, d: &NaiveDate) -> std::fmt::Result {
    use std::fmt::Write as _;
    match iso::date_ascii(d) {
        Some(b) => out.write_str(std::str::from_utf8(&b).unwrap_or_default()),
        None => write!(out, "{}", d.format("%Y-%m-%d")),
    }
}

/// `YYYY-MM-DDTHH:MM:SS`, and the fraction of a second only when there is one.
fn write_datetime(out: &mut String, t: &NaiveDateTime) -> std::fmt::Result {
    use std::fmt::Write as _;
    match iso::datetime_ascii(t) {
        Some(b) => out.write_str(std::str::from_utf8(&b).unwrap_or_default()),
        None => write!(out, "{}", t.format("%Y-%m-%dT%H:%M:%S%.f")),
    }
}

fn write_time(out: &mut String, t: Option<NaiveTime>) -> std::fmt::Result {
    use std::fmt::Write as _;
    match t {
        Some(t) => write!(out, "{}", t.format("%H:%M:%S%.f")),
        None => Ok(()),
    }
}

/// Parse one cell; `Err` carries the text found.
type Push = fn(&mut dyn ArrayBuilder, &DataType, &str) -> std::result::Result<(), String>;

/// One column being built from text cells.
struct ColumnBuilder {
    builder: Box<dyn ArrayBuilder>,
    push: Push,
    data_type: DataType,
}

/// An Arrow builder of the type `push` was made for.
fn typed<B: 'static>(b: &mut dyn ArrayBuilder) -> &mut B {
    b.as_any_mut()
        .downcast_mut::<B>()
        .expect("a column's builder is made with its push function")
}

impl ColumnBuilder {
    fn new(t: &DataType) -> Result<ColumnBuilder> {
        let rows = super::table::ROW_GROUP;
        // An empty cell is null in every column; anything else must parse.
        macro_rules! column {
            ($builder:expr, $b:ty, |$t:ident, $s:ident| $parse:expr) => {
                ColumnBuilder {
                    builder: Box::new($builder),
                    push: |b, $t, $s| {
                        let _ = $t;
                        let value = if $s.is_empty() {
                            None
                        } else {
                            Some($parse.ok_or_else(|| format!("{:?}", $s))?)
                        };
                        typed::<$b>(b).append_option(value);
                        Ok(())
                    },
                    data_type: t.clone(),
                }
            };
        }
        macro_rules! number {
            ($t:ty) => {
                column!(
                    PrimitiveBuilder::<$t>::with_capacity(rows),
                    PrimitiveBuilder<$t>,
                    |_t, s| s.parse().ok()
                )
            };
        }
        macro_rules! time {
            ($t:ty, |$u:ident| $units:expr) => {
                column!(
                    PrimitiveBuilder::<$t>::with_capacity(rows),
                    PrimitiveBuilder<$t>,
                    |_t, s| parse_datetime(s).and_then(|t| {
                        let $u = t.and_utc();
                        $units
                    })
                )
            };
        }
        // A time of day from its nanoseconds since midnight.
        macro_rules! clock {
            ($t:ty, |$n:ident| $units:expr) => {
                column!(
                    PrimitiveBuilder::<$t>::with_capacity(rows),
                    PrimitiveBuilder<$t>,
                    |_t, s| {
                        NaiveTime::parse_from_str(s, "%H:%M:%S%.f")
                            .ok()
                            .and_then(|time| {
                                let $n = i64::from(time.num_seconds_from_midnight())
                                    * 1_000_000_000
                                    + i64::from(time.nanosecond());
                                $units
                            })
                    }
                )
            };
        }
        Ok(match t {
            DataType::Utf8 => column!(
                StringBuilder::with_capacity(rows, rows * 16),
                StringBuilder,
                |_t, s| Some(s)
            ),
            DataType::LargeUtf8 => column!(
                LargeStringBuilder::with_capacity(rows, rows * 16),
                LargeStringBuilder,
                |_t, s| Some(s)
            ),
            DataType::Utf8View => column!(
                StringViewBuilder::with_capacity(rows),
                StringViewBuilder,
                |_t, s| Some(s)
            ),
            DataType::Boolean => column!(
                BooleanBuilder::with_capacity(rows),
                BooleanBuilder,
                |_t, s| s.parse::<bool>().ok()
            ),
            DataType::Int8 => number!(Int8Type),
            DataType::Int16 => number!(Int16Type),
            DataType::Int32 => number!(Int32Type),
            DataType::Int64 => number!(Int64Type),
            DataType::UInt8 => number!(UInt8Type),
            DataType::UInt16 => number!(UInt16Type),
            DataType::UInt32 => number!(UInt32Type),
            DataType::UInt64 => number!(UInt64Type),
            DataType::Float32 => number!(Float32Type),
            DataType::Float64 => number!(Float64Type),
            DataType::Decimal128(_, scale) if *scale >= 0 => {
                column!(
                    PrimitiveBuilder::<Decimal128Type>::with_capacity(rows),
                    PrimitiveBuilder<Decimal128Type>,
                    |t, s| match t {
                        DataType::Decimal128(precision, scale) => {
                            parse_decimal(s, *precision, *scale as u32)
                        }
                        _ => None,
                    }
                )
            }
            DataType::Date32 => column!(
                PrimitiveBuilder::<Date32Type>::with_capacity(rows),
                PrimitiveBuilder<Date32Type>,
                |_t, s| {
                    iso::parse_date(s).and_then(|d| {
                        i32::try_from((d - DateTime::UNIX_EPOCH.date_naive()).num_days()).ok()
                    })
                }
            ),
            DataType::Date64 => time!(Date64Type, |t| Some(t.timestamp_millis())),
            DataType::Timestamp(TimeUnit::Second, _) => {
                time!(TimestampSecondType, |t| Some(t.timestamp()))
            }
            DataType::Timestamp(TimeUnit::Millisecond, _) => {
                time!(TimestampMillisecondType, |t| Some(t.timestamp_millis()))
            }
            DataType::Timestamp(TimeUnit::Microsecond, _) => {
                time!(TimestampMicrosecondType, |t| Some(t.timestamp_micros()))
            }
            DataType::Timestamp(TimeUnit::Nanosecond, _) => {
                time!(TimestampNanosecondType, |t| t.timestamp_nanos_opt())
            }
            DataType::Time32(TimeUnit::Second) => {
                clock!(Time32SecondType, |n| i32::try_from(n / 1_000_000_000).ok())
            }
            DataType::Time32(TimeUnit::Millisecond) => {
                clock!(Time32MillisecondType, |n| i32::try_from(n / 1_000_000).ok())
            }
            DataType::Time64(TimeUnit::Microsecond) => {
                clock!(Time64MicrosecondType, |n| Some(n / 1_000))
            }
            DataType::Time64(TimeUnit::Nanosecond) => clock!(Time64NanosecondType, |n| Some(n)),
            other => {
                return Err(Error::failure(format!(
                    "a column of Arrow type {other} is not written from text; {READABLE} is"
                )))
            }
        })
    }

    fn push(&mut self, cell: &[u8]) -> std::result::Result<(), String> {
        let s = std::str::from_utf8(cell).map_err(|_| "text that is not UTF-8".to_string())?;
        (self.push)(self.builder.as_mut(), &self.data_type, s)
    }

    fn finish(&mut self) -> Result<ArrayRef> {
        let array = self.builder.finish();
        // Timestamps keep their zone and decimals their precision and scale:
        // the builders know only the storage type.
        let data = array
            .into_data()
            .into_builder()
            .data_type(self.data_type.clone())
            .build()?;
        Ok(arrow_array::make_array(data))
    }
}

/// A decimal as integer units of `10^-scale`: `-12.5` at scale 2 is -1250.
/// More fractional digits than the scale holds, or more digits in all than
/// the precision, is an error, never a rounding or an overflow.
fn parse_decimal(s: &str, precision: u8, scale: u32) -> Option<i128> {
    let (negative, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let all_digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() && fraction.is_empty()
        || !all_digits(whole)
        || !all_digits(fraction)
        || fraction.len() > scale as usize
    {
        return None;
    }
    let mut units: i128 = 0;
    let padding = scale as usize - fraction.len();
    for b in whole
        .bytes()
        .chain(fraction.bytes())
        .chain(std::iter::repeat_n(b'0', padding))
    {
        units = units.checked_mul(10)?.checked_add(i128::from(b - b'0'))?;
    }
    if units >= 10i128.checked_pow(u32::from(precision))? {
        return None;
    }
    Some(if negative { -units } else { units })
}

/// A local date-time as CareLab writes it (`YYYY-MM-DDTHH:MM:SS`), with a
/// fraction of a second, with a space for the `T`, as an instant with `Z`
/// or an offset (kept as UTC), or a bare date (midnight).
fn parse_datetime(s: &str) -> Option<NaiveDateTime> {
    iso::parse_datetime(s)
        .or_else(|| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f").ok())
        .or_else(|| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f").ok())
        .or_else(|| DateTime::parse_from_rfc3339(s).ok().map(|t| t.naive_utc()))
        .or_else(|| iso::parse_date(s)?.and_hms_opt(0, 0, 0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{DictionaryArray, ListArray};
    use arrow_schema::{Field, Schema};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use std::sync::Arc;

    /// The fixture written by DuckDB (tests/data/parquet/README.md).
    fn duckdb_batch() -> RecordBatch {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/parquet/duckdb-types.parquet"
        );
        let file = std::fs::File::open(path).unwrap();
        let mut reader = ParquetRecordBatchReaderBuilder::try_new(file)
            .unwrap()
            .build()
            .unwrap();
        reader.next().unwrap().unwrap()
    }

    #[test]
    fn parquet_from_duckdb_reads_as_the_text_a_csv_table_holds() {
        let batch = duckdb_batch();
        let text =
            String::from_utf8(batch_to_csv("duckdb-types.parquet", &batch).unwrap()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            [
                "name,mrn,birth_date,admitted,admitted_utc,weight_kg,charge,smoker,ward,visits,check_in,remark",
                "Rosa Delgado,MRN-0042,1931-02-11,2024-03-05T14:30:00.250,2024-03-05T13:30:00Z,71.5,1234.50,true,ICU,3,08:15:00,Lives with daughter Kathleen",
                "Imran Shah,,1980-12-31,2023-11-30T00:00:00,,,-0.05,false,Cardiology,,,",
                "Tomás Ortega,MRN-7,,,1999-12-31T23:59:59Z,0.1,,,,-2,23:59:59.500,",
            ]
        );
    }

    #[test]
    fn every_value_survives_text_and_back() {
        let batch = duckdb_batch();
        let text = batch_to_csv("t", &batch).unwrap();
        let body = text.splitn(2, |b| *b == b'\n').nth(1).unwrap();
        let back = csv_to_batch("t", &batch.schema(), body).unwrap();
        assert_eq!(back.schema(), batch.schema());
        for (i, field) in batch.schema().fields().iter().enumerate() {
            if field.name() == "remark" {
                continue;
            }
            assert_eq!(back.column(i), batch.column(i), "{}", field.name());
        }
        // An empty cell is null: the empty string DuckDB wrote in `remark`
        // comes back as null, as it does from a CSV table.
        let remark = back.column_by_name("remark").unwrap();
        assert!(batch.column_by_name("remark").unwrap().is_valid(1));
        assert!(remark.is_null(1) && remark.is_null(2) && remark.is_valid(0));
    }

    #[test]
    fn carelab_columns_hold_the_values_of_their_text() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("d", DataType::Date32, true),
            Field::new("t", DataType::Timestamp(TimeUnit::Millisecond, None), true),
            Field::new("x", DataType::Float64, true),
            Field::new("n", DataType::Int64, true),
        ]));
        let batch = csv_to_batch(
            "t",
            &schema,
            b"1970-01-02,1970-01-01T00:00:01,0.1,-7\n,,,\n",
        )
        .unwrap();
        assert_eq!(batch.column(0).as_primitive::<Date32Type>().value(0), 1);
        assert_eq!(
            batch
                .column(1)
                .as_primitive::<TimestampMillisecondType>()
                .value(0),
            1000
        );
        assert_eq!(batch.column(2).as_primitive::<Float64Type>().value(0), 0.1);
        assert_eq!(batch.column(3).as_primitive::<Int64Type>().value(0), -7);
        assert!((0..4).all(|c| batch.column(c).is_null(1)));
    }

    #[test]
    fn text_that_is_not_of_its_column_type_is_an_error_naming_row_and_column() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Utf8, true),
            Field::new("n", DataType::Int64, true),
        ]));
        let err = csv_to_batch("people", &schema, b"a,1\nb,seven\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("people") && err.contains("row 2, column n"),
            "{err}"
        );
        assert!(err.contains("Int64") && err.contains("\"seven\""), "{err}");
        let err = csv_to_batch("people", &schema, b"a,1,2\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("row 1") && err.contains("2 fields") && err.contains("3 fields"),
            "{err}"
        );
    }

    #[test]
    fn decimals_are_whole_units_of_their_scale_never_rounded() {
        assert_eq!(parse_decimal("-12.5", 10, 2), Some(-1250));
        assert_eq!(parse_decimal("+3", 10, 2), Some(300));
        assert_eq!(parse_decimal(".5", 10, 1), Some(5));
        assert_eq!(parse_decimal("99.99", 4, 2), Some(9999));
        assert_eq!(parse_decimal("100.00", 4, 2), None);
        assert_eq!(parse_decimal("1.234", 10, 2), None);
        assert_eq!(parse_decimal("1e3", 10, 0), None);
        assert_eq!(parse_decimal("-", 10, 0), None);
    }

    #[test]
    fn dictionary_cells_are_their_values_and_written_back_as_them() {
        let array: DictionaryArray<Int8Type> = vec![Some("ICU"), None, Some("Ward 3"), Some("ICU")]
            .into_iter()
            .collect();
        let mut out = String::new();
        let cells: Vec<Option<String>> = (0..4)
            .map(|i| {
                out.clear();
                write_cell(&array, i, &mut out)
                    .unwrap()
                    .then(|| out.clone())
            })
            .collect();
        assert_eq!(
            cells,
            [
                Some("ICU".into()),
                None,
                Some("Ward 3".into()),
                Some("ICU".into())
            ]
        );
        assert_eq!(written_type(array.data_type()), DataType::Utf8);
    }

    #[test]
    fn a_nested_column_is_an_error_that_names_it() {
        let list = ListArray::from_iter_primitive::<Int64Type, _, _>(vec![Some(vec![Some(1)])]);
        let batch = RecordBatch::try_new(
            Arc::new(Schema::new(vec![Field::new(
                "codes",
                list.data_type().clone(),
                true,
            )])),
            vec![Arc::new(list)],
        )
        .unwrap();
        let err = batch_to_csv("visits.parquet", &batch)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("visits.parquet") && err.contains("column codes"),
            "{err}"
        );
        assert!(err.contains("List"), "{err}");
    }
}
