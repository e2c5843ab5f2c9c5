//! Spill files: what ingest cannot hold in memory waits on disk, split into
//! partitions that are read back one at a time.
//!
//! Records are written in a compact binary form (length-prefixed fields,
//! integers and lengths as LEB128 varints, so a short string costs one
//! byte of length rather than eight; nothing any other program reads) in a temporary folder under the output
//! folder, and each partition's file is removed once read. Within a
//! partition, records come back in the order they were written, which is
//! what keeps "came earlier" meaning what it meant in the input.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use chrono::{Datelike, NaiveDate, NaiveDateTime};

use super::validate::MappedObservation;
use crate::clinical::codes::Measure;
use crate::clinical::records::{Condition, Encounter, Medication, Note, Observation, Patient};
use crate::error::{Error, IoContext, Result};
use crate::hashing::IdMap;

/// A value that can be written to a spill file and read back.
pub trait Codec: Sized {
    fn put(&self, b: &mut Vec<u8>);
    fn take(r: &mut Reader) -> Result<Self>;
}

/// What is written as a `T` is: the `T` itself, or a borrowed view of one
/// that writes the same bytes without the owned value being built (a
/// record being read, whose text the reader reuses for the next).
pub trait Put<T> {
    fn put_as(&self, b: &mut Vec<u8>);
}

impl<T: Codec> Put<T> for T {
    fn put_as(&self, b: &mut Vec<u8>) {
        self.put(b)
    }
}

/// Reads values back from a spill partition.
pub struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
    file: &'a Path,
}

impl Reader<'_> {
    fn bytes(&mut self, n: usize) -> Result<&[u8]> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len());
        let Some(end) = end else {
            return Err(ends_inside(self.file, self.at as u64));
        };
        let s = &self.bytes[self.at..end];
        self.at = end;
        Ok(s)
    }

    /// An unsigned LEB128 varint: seven bits a byte, low bits first, the
    /// high bit set on every byte but the last.
    fn u64(&mut self) -> Result<u64> {
        let mut n = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.u8()?;
            n |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(n);
            }
        }
        Err(Error::failure(format!(
            "{}: spill file holds a varint longer than 64 bits at byte {} (a bug)",
            self.file.display(),
            self.at
        )))
    }

    /// A signed number, zigzag-encoded (see [`put_i64`]).
    fn i64(&mut self) -> Result<i64> {
        let z = self.u64()?;
        Ok((z >> 1) as i64 ^ -((z & 1) as i64))
    }

    fn u8(&mut self) -> Result<u8> {
        Ok(self.bytes(1)?[0])
    }
}

/// `n` as an unsigned LEB128 varint.
fn put_u64(b: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        b.push((n as u8) | 0x80);
        n >>= 7;
    }
    b.push(n as u8);
}

/// `n` zigzag-encoded (0, -1, 1, -2 ... as 0, 1, 2, 3 ...), so a small
/// negative number is a short varint too.
fn put_i64(b: &mut Vec<u8>, n: i64) {
    put_u64(b, ((n << 1) ^ (n >> 63)) as u64)
}

/// Text as a spill file holds it: its length in bytes, then its bytes
/// (what `String`'s `put` writes).
pub fn put_str(b: &mut Vec<u8>, s: &str) {
    put_u64(b, s.len() as u64);
    b.extend_from_slice(s.as_bytes());
}

impl Codec for String {
    fn put(&self, b: &mut Vec<u8>) {
        put_str(b, self)
    }
    fn take(r: &mut Reader) -> Result<Self> {
        let n = r.u64()? as usize;
        let file = r.file;
        let s = r.bytes(n)?;
        String::from_utf8(s.to_vec()).map_err(|e| {
            Error::failure(format!(
                "{}: spill file holds bad text: {e}",
                file.display()
            ))
        })
    }
}

/// The texts the program holds as constants that records repeat: the
/// LOINC system and each model measure's code, name and unit, which every
/// result of the model carries (borrowed, not copied). A spill file writes
/// such a text as its number in this list, and it reads back borrowed
/// again: a byte or two and no allocation instead of a copy of up to
/// sixty bytes, for millions of results, in each of the two passes over
/// the spill files.
fn constants() -> &'static (Vec<&'static str>, IdMap<&'static str, u64>) {
    static CONSTANTS: std::sync::OnceLock<(Vec<&'static str>, IdMap<&'static str, u64>)> =
        std::sync::OnceLock::new();
    CONSTANTS.get_or_init(|| {
        let mut list = vec![crate::clinical::codes::LOINC];
        for m in Measure::ALL {
            list.extend([m.loinc(), m.display(), m.unit()]);
        }
        let mut index = IdMap::default();
        for (i, text) in list.iter().enumerate() {
            // a text in the list twice is written as its first place
            index.entry(*text).or_insert(i as u64);
        }
        (list, index)
    })
}

/// Text that may be a constant: a varint `2n + 1` for constant `n` of
/// [`constants`], else `2 * length` and the bytes.
impl Codec for std::borrow::Cow<'static, str> {
    fn put(&self, b: &mut Vec<u8>) {
        match constants().1.get(self.as_ref()) {
            Some(&i) => put_u64(b, 2 * i + 1),
            None => {
                put_u64(b, 2 * self.len() as u64);
                b.extend_from_slice(self.as_bytes());
            }
        }
    }
    fn take(r: &mut Reader) -> Result<Self> {
        let n = r.u64()?;
        if n % 2 == 1 {
            let i = n / 2;
            return match constants().0.get(i as usize) {
                Some(text) => Ok(std::borrow::Cow::Borrowed(*text)),
                None => Err(Error::failure(format!(
                    "{}: spill file holds constant text {i} (a bug)",
                    r.file.display()
                ))),
            };
        }
        let file = r.file;
        let s = r.bytes((n / 2) as usize)?;
        String::from_utf8(s.to_vec())
            .map(std::borrow::Cow::Owned)
            .map_err(|e| {
                Error::failure(format!(
                    "{}: spill file holds bad text: {e}",
                    file.display()
                ))
            })
    }
}

impl Codec for u64 {
    fn put(&self, b: &mut Vec<u8>) {
        put_u64(b, *self)
    }
    fn take(r: &mut Reader) -> Result<Self> {
        r.u64()
    }
}

impl Codec for u32 {
    fn put(&self, b: &mut Vec<u8>) {
        u64::from(*self).put(b)
    }
    fn take(r: &mut Reader) -> Result<Self> {
        Ok(r.u64()? as u32)
    }
}

impl Codec for f64 {
    // fixed width: a float's bits would make a varint longer, not shorter
    fn put(&self, b: &mut Vec<u8>) {
        b.extend_from_slice(&self.to_bits().to_le_bytes())
    }
    fn take(r: &mut Reader) -> Result<Self> {
        let bytes = r.bytes(8)?;
        Ok(f64::from_bits(u64::from_le_bytes(
            bytes.try_into().unwrap_or_default(),
        )))
    }
}

impl Codec for NaiveDate {
    fn put(&self, b: &mut Vec<u8>) {
        put_i64(b, i64::from(self.num_days_from_ce()))
    }
    fn take(r: &mut Reader) -> Result<Self> {
        let days = r.i64()? as i32;
        Ok(NaiveDate::from_num_days_from_ce_opt(days).unwrap_or_default())
    }
}

impl Codec for NaiveDateTime {
    fn put(&self, b: &mut Vec<u8>) {
        let t = self.and_utc();
        put_i64(b, t.timestamp());
        u64::from(t.timestamp_subsec_nanos()).put(b);
    }
    fn take(r: &mut Reader) -> Result<Self> {
        let secs = r.i64()?;
        let nanos = r.u64()? as u32;
        Ok(chrono::DateTime::from_timestamp(secs, nanos)
            .unwrap_or_default()
            .naive_utc())
    }
}

impl<T: Codec> Codec for Option<T> {
    fn put(&self, b: &mut Vec<u8>) {
        match self {
            None => b.push(0),
            Some(v) => {
                b.push(1);
                v.put(b)
            }
        }
    }
    fn take(r: &mut Reader) -> Result<Self> {
        Ok(match r.u8()? {
            0 => None,
            _ => Some(T::take(r)?),
        })
    }
}

impl Codec for Measure {
    fn put(&self, b: &mut Vec<u8>) {
        let i = Measure::ALL.iter().position(|m| m == self).unwrap_or(0);
        b.push(i as u8)
    }
    fn take(r: &mut Reader) -> Result<Self> {
        let i = r.u8()? as usize;
        Measure::ALL.get(i).copied().ok_or_else(|| {
            Error::failure(format!(
                "{}: spill file holds measure {i}",
                r.file.display()
            ))
        })
    }
}

/// Fields in declaration order, each through its own codec.
macro_rules! codec_struct {
    ($t:ty { $($f:ident),* $(,)? }) => {
        impl Codec for $t {
            fn put(&self, b: &mut Vec<u8>) {
                $(self.$f.put(b);)*
            }
            fn take(r: &mut Reader) -> Result<Self> {
                Ok(Self { $($f: Codec::take(r)?,)* })
            }
        }
    };
}

codec_struct!(Patient {
    patient_id,
    mrn,
    given_name,
    family_name,
    sex,
    birth_date,
    race,
    ethnicity,
    payer,
    address_line,
    city,
    state,
    zip,
    phone,
    email,
    ssn,
    death_date
});
codec_struct!(Encounter {
    encounter_id,
    patient_id,
    class,
    admit_time,
    discharge_time,
    disposition,
    reason_code
});
codec_struct!(Observation {
    observation_id,
    patient_id,
    encounter_id,
    time,
    code,
    system,
    display,
    value,
    unit
});
codec_struct!(MappedObservation {
    obs,
    measure,
    source_code,
    source_unit,
    source_value,
    value_as_string,
    value_as_concept
});
codec_struct!(Condition {
    condition_id,
    patient_id,
    encounter_id,
    code,
    display,
    onset_date
});
codec_struct!(Medication {
    medication_id,
    patient_id,
    encounter_id,
    rxnorm,
    name,
    authored_time
});
codec_struct!(Note {
    note_id,
    patient_id,
    encounter_id,
    time,
    text
});

impl<A: Codec, B: Codec> Codec for (A, B) {
    fn put(&self, b: &mut Vec<u8>) {
        self.0.put(b);
        self.1.put(b);
    }
    fn take(r: &mut Reader) -> Result<Self> {
        Ok((A::take(r)?, B::take(r)?))
    }
}

/// One kind of record split over `parts` files under `dir`.
pub struct Spill<T> {
    paths: Vec<PathBuf>,
    files: Vec<Option<BufWriter<File>>>,
    /// The record being written, then its length prefix: reused.
    buf: Vec<u8>,
    head: Vec<u8>,
    bytes: u64,
    /// Records written to each partition.
    counts: Vec<usize>,
    _kind: std::marker::PhantomData<T>,
}

impl<T: Codec> Spill<T> {
    /// `parts` empty files `<dir>/<name>-<i>.bin`.
    pub fn create(dir: &Path, name: &str, parts: usize) -> Result<Spill<T>> {
        let paths: Vec<PathBuf> = (0..parts.max(1))
            .map(|i| dir.join(format!("{name}-{i}.bin")))
            .collect();
        Ok(Spill {
            files: paths.iter().map(|_| None).collect(),
            paths,
            buf: Vec::new(),
            head: Vec::new(),
            bytes: 0,
            counts: vec![0; parts.max(1)],
            _kind: std::marker::PhantomData,
        })
    }

    pub fn parts(&self) -> usize {
        self.paths.len()
    }

    /// Bytes written so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Append `value` to partition `part`.
    pub fn push(&mut self, part: usize, value: &impl Put<T>) -> Result<()> {
        self.head.clear();
        encode(value, &mut self.buf, &mut self.head);
        let record = std::mem::take(&mut self.head);
        let written = self.write(part, &record);
        self.head = record;
        self.counts[part] += 1;
        written
    }

    /// An empty batch of records for this spill's partitions.
    pub fn batch(&self) -> Batch<T> {
        Batch {
            parts: vec![Vec::new(); self.parts()],
            counts: vec![0; self.parts()],
            buf: Vec::new(),
            _kind: std::marker::PhantomData,
        }
    }

    /// Append the records of `batch`, each partition's in the order pushed,
    /// and empty it (keeping its memory for more).
    pub fn append(&mut self, batch: &mut Batch<T>) -> Result<()> {
        for (part, bytes) in batch.parts.iter_mut().enumerate() {
            if !bytes.is_empty() {
                self.write(part, bytes)?;
                bytes.clear();
            }
            self.counts[part] += std::mem::take(&mut batch.counts[part]);
        }
        Ok(())
    }

    /// Append encoded records to partition `part`'s file, made on first use.
    fn write(&mut self, part: usize, records: &[u8]) -> Result<()> {
        let path = &self.paths[part];
        let file = match &mut self.files[part] {
            Some(f) => f,
            slot => slot.insert(BufWriter::with_capacity(
                1 << 16,
                File::create(path).at(path)?,
            )),
        };
        file.write_all(records).at(path)?;
        self.bytes += records.len() as u64;
        Ok(())
    }

    /// Close the files for reading. Not synced to disk: they are read back
    /// by this run and removed, and a crash loses the run anyway.
    pub fn finish(mut self) -> Result<Spilled<T>> {
        for (f, path) in self.files.iter_mut().zip(&self.paths) {
            if let Some(f) = f.take() {
                f.into_inner()
                    .map_err(|e| Error::io(path, e.into_error()))?;
            }
        }
        Ok(Spilled {
            paths: self.paths,
            counts: self.counts,
            _kind: std::marker::PhantomData,
        })
    }
}

/// Records for a spill, encoded away from it (on a thread of their own,
/// which need not wait for the spill's files) and written by
/// [`Spill::append`], as `push` would have written them.
pub struct Batch<T> {
    parts: Vec<Vec<u8>>,
    counts: Vec<usize>,
    buf: Vec<u8>,
    _kind: std::marker::PhantomData<T>,
}

impl<T: Codec> Batch<T> {
    /// Add `value` to partition `part`.
    pub fn push(&mut self, part: usize, value: &impl Put<T>) {
        encode(value, &mut self.buf, &mut self.parts[part]);
        self.counts[part] += 1;
    }

    /// Bytes held, not yet appended.
    pub fn bytes(&self) -> usize {
        self.parts.iter().map(Vec::len).sum()
    }
}

/// Append `value` to `out` as a spill file holds it: its length, then its
/// bytes (encoded into `buf` first, to know the length).
fn encode<T>(value: &impl Put<T>, buf: &mut Vec<u8>, out: &mut Vec<u8>) {
    buf.clear();
    value.put_as(buf);
    put_u64(out, buf.len() as u64);
    out.extend_from_slice(buf);
}

/// A finished spill, read a partition at a time.
pub struct Spilled<T> {
    paths: Vec<PathBuf>,
    /// Records in each partition: `take` makes room for them at once
    /// rather than growing into fresh memory (a copy each time it doubles).
    counts: Vec<usize>,
    _kind: std::marker::PhantomData<T>,
}

impl<T: Codec> Spilled<T> {
    pub fn parts(&self) -> usize {
        self.paths.len()
    }

    /// Every record of partition `part`, in the order written; the file is
    /// removed.
    pub fn take(&self, part: usize) -> Result<Vec<T>> {
        let mut out = Vec::with_capacity(self.counts[part]);
        self.each(part, |v| {
            out.push(v);
            Ok(())
        })?;
        Ok(out)
    }

    /// `take` a record at a time: each is handed to `f` as it is decoded,
    /// so that a pass over a partition that keeps nothing of a record
    /// frees it before the next. The file is read through one buffer and
    /// each record into one more, both reused: reading a whole partition
    /// into fresh memory had the kernel clear a page for every 4 KB of it,
    /// most of the duplicate checks' time.
    pub fn each(&self, part: usize, mut f: impl FnMut(T) -> Result<()>) -> Result<()> {
        use std::io::Read;
        let path = &self.paths[part];
        if !path.exists() {
            return Ok(());
        }
        let mut file = std::io::BufReader::with_capacity(1 << 20, File::open(path).at(path)?);
        let mut record = Vec::new();
        // where the next record's length starts in the file
        let mut at = 0u64;
        while let Some((len, n)) = record_len(&mut file, path, at)? {
            record.clear();
            let read = (&mut file)
                .take(n as u64)
                .read_to_end(&mut record)
                .at(path)?;
            if read != n {
                return Err(ends_inside(path, at + (len + read) as u64));
            }
            let mut r = Reader {
                bytes: &record,
                at: 0,
                file: path,
            };
            let v = T::take(&mut r)?;
            if r.at != n {
                return Err(Error::failure(format!(
                    "{}: a spilled record read {} bytes of {n} (a bug)",
                    path.display(),
                    r.at
                )));
            }
            at += (len + n) as u64;
            f(v)?;
        }
        std::fs::remove_file(path).at(path)?;
        Ok(())
    }
}

/// The length of the record that starts at byte `at` of `file` (a varint:
/// its own length in bytes, and its value), or `None` where the file ends.
fn record_len(
    file: &mut impl std::io::BufRead,
    path: &Path,
    at: u64,
) -> Result<Option<(usize, usize)>> {
    let mut n = 0u64;
    for (i, shift) in (0..64).step_by(7).enumerate() {
        let Some(&byte) = file.fill_buf().at(path)?.first() else {
            return match i {
                0 => Ok(None),
                _ => Err(ends_inside(path, at + i as u64)),
            };
        };
        file.consume(1);
        n |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(Some((i + 1, n as usize)));
        }
    }
    Err(Error::failure(format!(
        "{}: spill file holds a varint longer than 64 bits at byte {at} (a bug)",
        path.display()
    )))
}

fn ends_inside(path: &Path, at: u64) -> Error {
    Error::failure(format!(
        "{}: spill file ends inside a record at byte {at} (was it changed during the run?)",
        path.display()
    ))
}

/// The partition of a key among `parts`: a stable hash (the same in every
/// run), so that every record with one key meets the others in one place.
pub fn part_of(key: &str, parts: usize) -> usize {
    (crate::hashing::fnv(key.as_bytes()) % parts.max(1) as u64) as usize
}

pub use crate::artifact::ScratchDir;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clinical::records::parse_datetime;

    /// A constant text is written as its number and reads back borrowed,
    /// the same text; any other text reads back as it was, a constant's
    /// text held in an owned string included.
    #[test]
    fn constant_texts_are_numbers_and_come_back_borrowed() {
        use std::borrow::Cow;
        let m = Measure::ALL[0];
        let texts: [Cow<'static, str>; 5] = [
            Cow::Borrowed(m.display()),
            Cow::Owned(m.unit().to_string()),
            Cow::Borrowed(crate::clinical::codes::LOINC),
            Cow::Owned("a local code".to_string()),
            Cow::Borrowed(""),
        ];
        let mut b = Vec::new();
        for t in &texts {
            t.put(&mut b);
        }
        // one byte each for the three constants, then 1 + 12 and 1 + 0
        assert_eq!(b.len(), 3 + 13 + 1);
        let path = Path::new("test.bin");
        let mut r = Reader {
            bytes: &b,
            at: 0,
            file: path,
        };
        for (i, t) in texts.iter().enumerate() {
            let back = Cow::<'static, str>::take(&mut r).unwrap();
            assert_eq!(&back, t);
            assert_eq!(matches!(back, Cow::Borrowed(_)), i < 3, "{back:?}");
        }
        // a number past the list is an error naming the file, not a panic
        let mut bad = Vec::new();
        put_u64(&mut bad, 2 * 10_000 + 1);
        let mut r = Reader {
            bytes: &bad,
            at: 0,
            file: path,
        };
        let e = Cow::<'static, str>::take(&mut r).unwrap_err().to_string();
        assert!(e.contains("test.bin") && e.contains("10000"), "{e}");
    }

    #[test]
    fn numbers_are_varints_and_come_back_whatever_their_size_or_sign() {
        let mut b = Vec::new();
        let unsigned = [0, 1, 127, 128, 300, u64::from(u32::MAX), u64::MAX];
        for n in unsigned {
            n.put(&mut b);
        }
        // 1 + 1 + 1 + 2 + 2 + 5 + 10 bytes: short numbers take few
        assert_eq!(b.len(), 22);
        let dates = [
            NaiveDate::from_ymd_opt(2023, 4, 5).unwrap(),
            NaiveDate::from_ymd_opt(-44, 3, 15).unwrap(),
            NaiveDate::MIN,
            NaiveDate::MAX,
        ];
        for d in dates {
            d.put(&mut b);
        }
        let times = [
            parse_datetime("2023-04-05T14:30:07").unwrap(),
            parse_datetime("1901-12-13T20:45:52").unwrap(),
            NaiveDate::from_ymd_opt(2016, 12, 31)
                .unwrap()
                .and_hms_nano_opt(23, 59, 59, 1_500_000_000)
                .unwrap(),
        ];
        for t in times {
            t.put(&mut b);
        }
        let path = Path::new("test.bin");
        let mut r = Reader {
            bytes: &b,
            at: 0,
            file: path,
        };
        for n in unsigned {
            assert_eq!(u64::take(&mut r).unwrap(), n);
        }
        for d in dates {
            assert_eq!(NaiveDate::take(&mut r).unwrap(), d);
        }
        for t in times {
            assert_eq!(NaiveDateTime::take(&mut r).unwrap(), t);
        }
        assert_eq!(r.at, b.len());
        // a varint cut short is an error naming the file, not a panic
        let cut = [0x80u8, 0x80];
        let mut r = Reader {
            bytes: &cut,
            at: 0,
            file: path,
        };
        let e = u64::take(&mut r).unwrap_err().to_string();
        assert!(e.contains("test.bin"), "{e}");
    }

    /// A partition file cut anywhere (inside a record or its length) is an
    /// error naming the file and where it ends, never a panic.
    #[test]
    fn a_cut_partition_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let mut s: Spill<(u64, String)> = Spill::create(dir.path(), "cut", 1).unwrap();
        s.push(0, &(1, "a".repeat(200))).unwrap();
        s.push(0, &(2, "b".into())).unwrap();
        let done = s.finish().unwrap();
        let path = dir.path().join("cut-0.bin");
        let whole = std::fs::read(&path).unwrap();
        for keep in [1, 100, 203, whole.len() - 1] {
            std::fs::write(&path, &whole[..keep]).unwrap();
            let e = done.take(0).unwrap_err().to_string();
            assert!(e.contains("cut-0.bin"), "{e}");
            assert!(e.contains("ends inside a record at byte"), "{e}");
        }
        std::fs::write(&path, &whole).unwrap();
        let back = done.take(0).unwrap();
        assert_eq!(back, [(1, "a".repeat(200)), (2, "b".to_string())]);
        assert!(!path.exists(), "removed once read");
    }

    #[test]
    fn records_come_back_as_written_partition_by_partition() {
        let dir = tempfile::tempdir().unwrap();
        let mut s: Spill<(u64, MappedObservation)> = Spill::create(dir.path(), "obs", 3).unwrap();
        let obs = |i: u64, value: f64, measure| MappedObservation {
            obs: Observation {
                observation_id: format!("O{i}"),
                patient_id: "P1".into(),
                encounter_id: String::new(),
                time: parse_datetime("2023-04-05T14:30:07").unwrap(),
                code: "2345-7".into(),
                system: "http://loinc.org".into(),
                display: "Glucose ünïcode".into(),
                value,
                unit: "mg/dL".into(),
            },
            measure,
            source_code: "GLU".into(),
            source_unit: String::new(),
            source_value: "x".into(),
            value_as_string: String::new(),
            value_as_concept: "a|b".into(),
        };
        let written: Vec<(u64, MappedObservation)> = (0..10)
            .map(|i| {
                let v = if i == 3 { f64::NAN } else { i as f64 / 3.0 };
                let m = (i % 2 == 0).then_some(Measure::ALL[i as usize % 15]);
                (i, obs(i, v, m))
            })
            .collect();
        // the first half pushed, the rest encoded in a batch and appended:
        // the files are the same as if every record were pushed
        let mut pushed: Spill<(u64, MappedObservation)> =
            Spill::create(dir.path(), "all", 3).unwrap();
        let mut batch = s.batch();
        for w in &written {
            let part = part_of(&w.1.obs.observation_id, 3);
            pushed.push(part, w).unwrap();
            match w.0 < 5 {
                true => s.push(part, w).unwrap(),
                false => batch.push(part, w),
            }
        }
        assert!(batch.bytes() > 0);
        s.append(&mut batch).unwrap();
        assert_eq!(batch.bytes(), 0);
        assert!(s.bytes() > 0);
        assert_eq!(s.bytes(), pushed.bytes());
        pushed.finish().unwrap();
        let done = s.finish().unwrap();
        for p in 0..3 {
            assert_eq!(
                std::fs::read(dir.path().join(format!("obs-{p}.bin"))).unwrap(),
                std::fs::read(dir.path().join(format!("all-{p}.bin"))).unwrap()
            );
        }
        let mut back = Vec::new();
        for p in 0..3 {
            let part = done.take(p).unwrap();
            // in the order written within the partition
            assert!(part.windows(2).all(|w| w[0].0 < w[1].0));
            assert!(part
                .iter()
                .all(|(_, o)| part_of(&o.obs.observation_id, 3) == p));
            back.extend(part);
            assert!(done.take(p).unwrap().is_empty(), "read once, then removed");
        }
        back.sort_by_key(|(i, _)| *i);
        assert_eq!(back.len(), 10);
        for (a, b) in back.iter().zip(&written) {
            if a.0 == 3 {
                assert!(a.1.obs.value.is_nan());
                continue;
            }
            assert_eq!(a, b);
        }
    }

    #[test]
    fn a_patient_comes_back_with_every_field() {
        let dir = tempfile::tempdir().unwrap();
        let mut s: Spill<Patient> = Spill::create(dir.path(), "persons", 1).unwrap();
        let date = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        // non-ASCII text, an empty field and a date of death
        let p = Patient {
            given_name: "Zoë".into(),
            phone: String::new(),
            death_date: Some(date(2023, 1, 2)),
            ..Patient::example()
        };
        let alive = Patient {
            death_date: None,
            ..p.clone()
        };
        s.push(0, &p).unwrap();
        s.push(0, &alive).unwrap();
        assert_eq!(s.finish().unwrap().take(0).unwrap(), vec![p, alive]);
    }

    #[test]
    fn a_cut_spill_file_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let mut s: Spill<String> = Spill::create(dir.path(), "t", 1).unwrap();
        s.push(0, &"hello".to_string()).unwrap();
        let done = s.finish().unwrap();
        let path = dir.path().join("t-0.bin");
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 2]).unwrap();
        let e = done.take(0).unwrap_err().to_string();
        assert!(e.contains("t-0.bin") && e.contains("ends inside"), "{e}");
    }

    /// A partition comes back in a vector sized for its records, counted
    /// as they were pushed one by one or appended in batches.
    #[test]
    fn a_partition_comes_back_in_room_made_for_its_records() {
        let dir = tempfile::tempdir().unwrap();
        let mut spill: Spill<u64> = Spill::create(dir.path(), "n", 3).unwrap();
        for x in 0..1000u64 {
            spill.push((x % 2) as usize, &x).unwrap();
        }
        let mut batch = spill.batch();
        for x in 0..700u64 {
            batch.push(1, &x);
        }
        spill.append(&mut batch).unwrap();
        batch.push(1, &7);
        spill.append(&mut batch).unwrap();
        let done = spill.finish().unwrap();
        let even = done.take(0).unwrap();
        assert_eq!(even, (0..1000).step_by(2).collect::<Vec<u64>>());
        assert_eq!(even.capacity(), 500);
        let odd = done.take(1).unwrap();
        assert_eq!(odd.len(), 500 + 700 + 1);
        assert_eq!(odd.capacity(), odd.len());
        assert_eq!(odd[500..].iter().sum::<u64>(), (0..700).sum::<u64>() + 7);
        assert!(done.take(2).unwrap().is_empty());
    }
}
