//! Writing what a stage makes: atomic files, checksums and the manifest.
//!
//! Every file is written to a temporary name in the same folder and renamed
//! into place, so an interrupted run never leaves a half-written artifact that
//! looks finished. Every stage writes a `manifest.json` beside its outputs
//! saying what was made, from what, with which seed and version.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, IoContext, Result};

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// A file being written; it appears under its final name only on `commit`.
/// Dropped without commit, the temporary file is removed.
pub struct AtomicFile {
    path: PathBuf,
    tmp: PathBuf,
    /// Boxed: the hasher's state would make every value that holds an
    /// `AtomicFile` a few hundred bytes larger.
    writer: Option<BufWriter<Box<HashedFile>>>,
}

impl AtomicFile {
    pub fn create(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir).at(dir)?;
        }
        let name = path
            .file_name()
            .ok_or_else(|| Error::usage(format!("{} is not a file path", path.display())))?;
        let tmp = path.with_file_name(format!(
            ".{}.tmp-{}",
            name.to_string_lossy(),
            std::process::id()
        ));
        let file = File::create(&tmp).at(&tmp)?;
        Ok(AtomicFile {
            path,
            tmp,
            writer: Some(BufWriter::with_capacity(
                1 << 16,
                Box::new(HashedFile::new(file)),
            )),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Flush, sync and rename into place; returns the SHA-256 (hex) of the
    /// bytes written, which a manifest records without reading them back.
    pub fn commit(mut self) -> Result<String> {
        let writer = self.writer.take().expect("writer present until commit");
        let HashedFile { file, hasher, .. } = *writer
            .into_inner()
            .map_err(|e| Error::io(&self.tmp, e.into_error()))?;
        file.sync_all().at(&self.tmp)?;
        drop(file);
        fs::rename(&self.tmp, &self.path).at(&self.path)?;
        Ok(hex::encode(hasher.finalize()))
    }

    /// `commit`, returning the file's path beside its checksum: an entry
    /// of [`Written`], for a writer that hands its files to the manifest.
    pub fn commit_written(self) -> Result<(PathBuf, String)> {
        let path = self.path.clone();
        Ok((path, self.commit()?))
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writer.as_mut().expect("not committed").write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.writer.as_mut().expect("not committed").flush()
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if self.writer.take().is_some() {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

/// Files written, each with the SHA-256 its `commit` returned.
pub type Written = Vec<(PathBuf, String)>;

/// Bytes between two requests to start writing a file back to disk.
const WRITEBACK: u64 = 32 << 20;

/// Windows of WRITEBACK bytes handed to the disk and not yet waited for:
/// slack for a disk that slows down for a moment (a shared one does),
/// without which the writer would wait at once.
const IN_FLIGHT: usize = 6;

/// The file under an `AtomicFile`'s buffer: every byte is hashed on its way
/// to the file, so the checksum costs no second read of gigabytes of
/// output. And a large file is written back as it grows, the way a
/// streaming writer should be: each `WRITEBACK` bytes are handed to the
/// disk at once, and the window `IN_FLIGHT` before them, written by now,
/// is waited for and dropped from the page cache. Otherwise gigabytes of
/// dirty pages wait for `commit`'s fsync, which then writes them while
/// nothing else runs, and the kernel spends CPU reclaiming the cache they
/// fill.
struct HashedFile {
    file: File,
    hasher: Sha256,
    /// Bytes written so far.
    written: u64,
    /// Where the bytes not yet handed to the disk begin.
    window: u64,
    /// Windows handed to the disk, not yet dropped, oldest first.
    in_flight: VecDeque<(u64, u64)>,
}

impl HashedFile {
    fn new(file: File) -> Self {
        HashedFile {
            file,
            hasher: Sha256::new(),
            written: 0,
            window: 0,
            in_flight: VecDeque::with_capacity(IN_FLIGHT + 1),
        }
    }
}

impl Write for HashedFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.written += n as u64;
        if self.written - self.window >= WRITEBACK {
            let window = (self.window, self.written - self.window);
            writeback::start(&self.file, window);
            self.in_flight.push_back(window);
            if self.in_flight.len() > IN_FLIGHT {
                if let Some(earlier) = self.in_flight.pop_front() {
                    writeback::drop_written(&self.file, earlier);
                }
            }
            self.window = self.written;
        }
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// Hints to the kernel about a file written once from start to end. Only
/// hints: where they are missing or fail, `commit`'s fsync still writes
/// everything, and what stays cached is only memory.
#[cfg(target_os = "linux")]
mod writeback {
    use std::fs::File;
    use std::os::fd::AsRawFd;

    /// Start writing the bytes `(offset, length)` to disk; do not wait.
    pub fn start(file: &File, (offset, length): (u64, u64)) {
        range(file, offset, length, libc::SYNC_FILE_RANGE_WRITE);
    }

    /// Wait until the bytes `(offset, length)`, handed to the disk earlier,
    /// are written, then drop them from the page cache.
    pub fn drop_written(file: &File, (offset, length): (u64, u64)) {
        let wait = libc::SYNC_FILE_RANGE_WAIT_BEFORE
            | libc::SYNC_FILE_RANGE_WRITE
            | libc::SYNC_FILE_RANGE_WAIT_AFTER;
        range(file, offset, length, wait);
        if let (Ok(offset), Ok(length)) = (libc::off_t::try_from(offset), length.try_into()) {
            // SAFETY: a valid open descriptor; the call reads no memory of ours.
            unsafe {
                libc::posix_fadvise(file.as_raw_fd(), offset, length, libc::POSIX_FADV_DONTNEED);
            }
        }
    }

    fn range(file: &File, offset: u64, length: u64, flags: libc::c_uint) {
        if let (Ok(offset), Ok(length)) = (libc::off64_t::try_from(offset), length.try_into()) {
            // SAFETY: a valid open descriptor; the call reads no memory of ours.
            unsafe {
                libc::sync_file_range(file.as_raw_fd(), offset, length, flags);
            }
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod writeback {
    pub fn start(_file: &std::fs::File, _range: (u64, u64)) {}
    pub fn drop_written(_file: &std::fs::File, _range: (u64, u64)) {}
}

/// Write a whole file atomically.
pub fn write_atomic(path: impl AsRef<Path>, bytes: &[u8]) -> Result<()> {
    let mut f = AtomicFile::create(path)?;
    f.write_all(bytes).at(f.path())?;
    f.commit()?;
    Ok(())
}

/// Write a value as pretty JSON (with a final newline) atomically.
pub fn write_json<T: Serialize>(path: impl AsRef<Path>, value: &T) -> Result<()> {
    let mut bytes = serde_json::to_vec_pretty(value)?;
    bytes.push(b'\n');
    write_atomic(path, &bytes)
}

/// Read and parse a JSON file, naming the file and line on failure.
pub fn read_json<T: for<'de> Deserialize<'de>>(path: impl AsRef<Path>) -> Result<T> {
    let path = path.as_ref();
    let text = fs::read_to_string(path).at(path)?;
    serde_json::from_str(&text).map_err(|e| {
        Error::bad_input(
            path.display(),
            Some(format!("line {} column {}", e.line(), e.column())),
            "valid JSON of the expected shape",
            e.to_string(),
        )
    })
}

/// Hex SHA-256 of a file's bytes.
pub fn sha256_file(path: impl AsRef<Path>) -> Result<String> {
    let path = path.as_ref();
    let mut file = File::open(path).at(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf).at(path)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// SHA-256 of `bytes` as lowercase hex. Encoded through a fixed buffer:
/// `hex::encode` builds its string a char at a time, a cost the audit log
/// paid twice a record (every request the server answers).
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut text = [0u8; 64];
    match hex::encode_to_slice(digest, &mut text) {
        Ok(()) => String::from_utf8_lossy(&text).into_owned(),
        // Only a wrong buffer length fails, and 64 is right for SHA-256.
        Err(_) => hex::encode(digest),
    }
}

/// What a stage made, from what, and how: written as `manifest.json` beside
/// its outputs. Files are listed by path relative to the manifest's folder,
/// sorted, so two identical runs write identical manifests.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    /// The stage or verb that wrote it, e.g. "generate", "ingest", "train".
    pub stage: String,
    pub carelab_version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Inputs this output was made from: name -> checksum or description.
    #[serde(default)]
    pub inputs: BTreeMap<String, String>,
    /// Row or record counts by table or category.
    #[serde(default)]
    pub counts: BTreeMap<String, u64>,
    /// SHA-256 of every output file, by relative path.
    #[serde(default)]
    pub files: BTreeMap<String, String>,
    /// Stage-specific facts (scenario, prevalence, Bayes AUROC, ...).
    #[serde(default)]
    pub details: BTreeMap<String, serde_json::Value>,
}

impl Manifest {
    pub fn new(stage: &str) -> Self {
        Manifest {
            stage: stage.to_string(),
            carelab_version: VERSION.to_string(),
            ..Default::default()
        }
    }

    /// Record the checksum of every regular file under `dir` (recursively),
    /// except the manifest itself and hidden temporary files.
    /// The files are read on every core (an ingest writes gigabytes).
    pub fn checksum_dir(&mut self, dir: impl AsRef<Path>) -> Result<()> {
        self.checksum_dir_known(dir, &[])
    }

    /// As [`Manifest::checksum_dir`], but a file listed in `known` (by its
    /// path as written, `dir` joined with the rest) takes the checksum given
    /// there instead of being read back: what `AtomicFile::commit` returned,
    /// having hashed every byte on its way to the file. Only the files not
    /// listed are read. A file listed must not have changed since.
    pub fn checksum_dir_known(
        &mut self,
        dir: impl AsRef<Path>,
        known: &[(PathBuf, String)],
    ) -> Result<()> {
        let dir = dir.as_ref();
        let known: HashMap<&Path, &str> = known
            .iter()
            .map(|(path, sum)| (path.as_path(), sum.as_str()))
            .collect();
        let files: Vec<(String, PathBuf)> = list_files(dir)?
            .into_iter()
            .map(|rel| (rel.to_string_lossy().replace('\\', "/"), rel))
            .filter(|(key, _)| key != "manifest.json")
            .collect();
        let sums = crate::cores::in_order(
            files.len(),
            |_| Ok(()),
            |_, i| {
                let path = dir.join(&files[i].1);
                match known.get(path.as_path()) {
                    Some(sum) => Ok(sum.to_string()),
                    None => sha256_file(path),
                }
            },
        )?;
        for ((key, _), sum) in files.into_iter().zip(sums) {
            self.files.insert(key, sum);
        }
        Ok(())
    }

    pub fn write(&self, dir: impl AsRef<Path>) -> Result<()> {
        write_json(dir.as_ref().join("manifest.json"), self)
    }

    pub fn read(dir: impl AsRef<Path>) -> Result<Self> {
        read_json(dir.as_ref().join("manifest.json"))
    }

    /// Checksum of the manifest itself: a short identity for "this data".
    pub fn digest(&self) -> String {
        sha256_hex(&serde_json::to_vec(self).unwrap_or_default())
    }
}

/// Regular files under `dir`, relative to it, sorted; hidden files skipped.
pub fn list_files(dir: impl AsRef<Path>) -> Result<Vec<PathBuf>> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
        for entry in fs::read_dir(dir).at(dir)? {
            let entry = entry.at(dir)?;
            let name = entry.file_name();
            if name.to_string_lossy().starts_with('.') {
                continue;
            }
            let path = entry.path();
            let kind = entry.file_type().at(&path)?;
            if kind.is_dir() {
                walk(root, &path, out)?;
            } else if kind.is_file() {
                out.push(path.strip_prefix(root).unwrap_or(&path).to_path_buf());
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(dir.as_ref(), dir.as_ref(), &mut out)?;
    out.sort();
    Ok(out)
}

/// The scratch folder, removed when dropped (also on an error).
pub struct ScratchDir(pub PathBuf);

impl ScratchDir {
    pub fn create(path: PathBuf) -> Result<ScratchDir> {
        if path.exists() {
            std::fs::remove_dir_all(&path).at(&path)?;
        }
        std::fs::create_dir_all(&path).at(&path)?;
        Ok(ScratchDir(path))
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_file_appears_only_on_commit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.txt");
        {
            let mut f = AtomicFile::create(&path).unwrap();
            f.write_all(b"half").unwrap();
            assert!(!path.exists());
            // dropped without commit
        }
        assert!(!path.exists());
        assert_eq!(
            list_files(dir.path()).unwrap().len(),
            0,
            "temp file cleaned up"
        );
        write_atomic(&path, b"whole").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"whole");
    }

    #[test]
    fn commit_returns_the_checksum_of_the_file_it_wrote() {
        let dir = tempfile::tempdir().unwrap();
        let small = dir.path().join("small.txt");
        let mut f = AtomicFile::create(&small).unwrap();
        f.write_all(b"abc").unwrap();
        assert_eq!(
            f.commit().unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        // past more windows than are kept in flight, in writes of uneven
        // sizes that straddle the buffer and the windows: the pages dropped
        // from the cache are still the file's bytes, and every byte was
        // hashed once (an independent hasher of the same stream agrees)
        let large = dir.path().join("large.bin");
        let mut f = AtomicFile::create(&large).unwrap();
        let pattern: Vec<u8> = (0..200_003u32).map(|i| (i * 31 % 251) as u8).collect();
        let mut expected = Sha256::new();
        let (mut written, mut size) = (0u64, 1usize);
        while written < (IN_FLIGHT as u64 + 3) * WRITEBACK + 12_345 {
            let piece = &pattern[written as usize % 1000..][..size];
            f.write_all(piece).unwrap();
            expected.update(piece);
            written += size as u64;
            size = size * 7 % 199_000 + 1;
        }
        let sha = f.commit().unwrap();
        assert_eq!(sha, hex::encode(expected.finalize()));
        assert_eq!(sha, sha256_file(&large).unwrap());
        assert_eq!(fs::metadata(&large).unwrap().len(), written);
    }

    #[test]
    fn sha256_hex_is_the_lowercase_hex_digest() {
        // sha256("abc"), FIPS 180-2's first example
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        for input in [&b""[..], b"x", &[0xffu8; 200]] {
            assert_eq!(sha256_hex(input), hex::encode(Sha256::digest(input)));
        }
    }

    #[test]
    fn manifest_checksums_are_sha256() {
        let dir = tempfile::tempdir().unwrap();
        write_atomic(dir.path().join("a/b.txt"), b"abc").unwrap();
        let mut m = Manifest::new("test");
        m.checksum_dir(dir.path()).unwrap();
        assert_eq!(
            m.files["a/b.txt"],
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        m.write(dir.path()).unwrap();
        assert_eq!(Manifest::read(dir.path()).unwrap(), m);
    }

    /// A checksum passed on from the writer stands for the file; every
    /// other file is read, and a path passed on that is not there adds
    /// nothing.
    #[test]
    fn known_checksums_are_taken_and_the_other_files_read() {
        let dir = tempfile::tempdir().unwrap();
        let mut f = AtomicFile::create(dir.path().join("a/b.txt")).unwrap();
        f.write_all(b"abc").unwrap();
        let written = f.commit().unwrap();
        fs::write(dir.path().join("c.txt"), b"").unwrap();
        let mut read = Manifest::new("test");
        read.checksum_dir(dir.path()).unwrap();
        let mut known = Manifest::new("test");
        let passed = vec![
            (dir.path().join("a").join("b.txt"), written),
            (dir.path().join("gone.txt"), "0".repeat(64)),
        ];
        known.checksum_dir_known(dir.path(), &passed).unwrap();
        assert_eq!(known, read);
        // the checksum passed on is what is recorded: the file is not read
        let fake = vec![(dir.path().join("a/b.txt"), "f".repeat(64))];
        known.checksum_dir_known(dir.path(), &fake).unwrap();
        assert_eq!(known.files["a/b.txt"], "f".repeat(64));
        assert_eq!(
            known.files["c.txt"],
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(known.files.len(), 2);
    }
}
