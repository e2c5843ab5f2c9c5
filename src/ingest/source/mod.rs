//! Source adapters: each turns one kind of input into `RawRecord`s named
//! like the records schema, so one validator and one quarantine serve all.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::quality::SourceQuality;
use super::raw::RawRecord;
use crate::error::{Error, IoContext, Result};

pub mod csv;
pub mod fhir;
pub mod hl7v2;
pub mod legacy;
pub mod parquet;

pub use super::pipeline::SourceConfig;

/// What kind of input a source is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// A folder of records-schema CSV tables (patients.csv, encounters.csv, ...).
    Csv,
    /// A fixed-width export read through its layout file (`layout = ...`).
    FixedWidth,
    /// A pharmacy dispensing CSV: one row per drug, patient columns repeated.
    PharmacyCsv,
    /// A folder of records-schema Parquet tables (patients.parquet, ...).
    Parquet,
    /// An HL7 v2 feed file (or a folder of `.hl7` files).
    Hl7v2,
    /// FHIR R4: a Bundle `.json`, an `.ndjson` of Bundles or of resources
    /// (Bulk Data), or a folder of them.
    Fhir,
}

/// Read one source, handing each raw record to `each` as it is read (with
/// the source's quality entry, where readers note what they found:
/// encodings, ...). CSV sources stream; the others are read whole first.
pub fn read_source(
    s: &SourceConfig,
    q: &mut SourceQuality,
    each: &mut dyn FnMut(&mut SourceQuality, &RawRecord) -> Result<()>,
) -> Result<()> {
    if s.patient_id.is_some() && s.kind != SourceKind::Hl7v2 {
        return Err(Error::bad_input(
            format!("source {}", s.name),
            Some("key patient_id".into()),
            "patient_id only on a source of kind hl7v2 (it picks the PID-3 identifier)",
            format!("a source of kind {:?}", s.kind).to_lowercase(),
        ));
    }
    let recs = match s.kind {
        SourceKind::Csv => return csv::read(s, q, each),
        SourceKind::FixedWidth => legacy::read_fixed_width(s, q),
        SourceKind::PharmacyCsv => legacy::read_pharmacy(s, q),
        SourceKind::Parquet => parquet::read(s, q),
        SourceKind::Hl7v2 => hl7v2::read(s, q),
        SourceKind::Fhir => fhir::read(s, q),
    }?;
    for r in recs {
        each(q, &r)?;
    }
    Ok(())
}

/// The files a source path names: the path itself when it is a file (any
/// extension: the user named it), else the files directly in the folder
/// whose extension is one of `exts`, in name order so that every run reads
/// them in the same order. `expected` says what the path should have been
/// when it is neither a file nor a folder.
pub fn input_files(path: &Path, exts: &[&str], expected: &str) -> Result<Vec<PathBuf>> {
    if path.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    if !path.is_dir() {
        return Err(Error::bad_input(
            path.display(),
            None,
            expected,
            "no such file or folder",
        ));
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)
        .at(path)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file()
                && p.extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| exts.contains(&e))
        })
        .collect();
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_files_are_the_file_or_the_folders_matching_files_in_name_order() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["b.ndjson", "a.json", "c.hl7", "notes.txt"] {
            std::fs::write(dir.path().join(name), "x").unwrap();
        }
        // A folder whose name has a matching extension is not a file.
        std::fs::create_dir(dir.path().join("d.json")).unwrap();
        let names = |exts: &[&str]| -> Vec<String> {
            input_files(dir.path(), exts, "files")
                .unwrap()
                .iter()
                .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
                .collect()
        };
        assert_eq!(names(&["json", "ndjson"]), ["a.json", "b.ndjson"]);
        assert_eq!(names(&["hl7"]), ["c.hl7"]);
        // A file named directly is read whatever its extension.
        let txt = dir.path().join("notes.txt");
        assert_eq!(input_files(&txt, &["hl7"], "files").unwrap(), [txt]);
        let err = input_files(&dir.path().join("nowhere"), &["hl7"], "an HL7 v2 feed file")
            .unwrap_err()
            .to_string();
        assert!(
            err.ends_with("expected an HL7 v2 feed file, found no such file or folder"),
            "{err}"
        );
    }
}
