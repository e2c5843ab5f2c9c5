//! Parquet source: a folder of records-schema tables (patients.parquet, ...),
//! as the generator and `formats::table` write them.

use std::path::Path;

use super::SourceConfig;
use crate::clinical::{Condition, Encounter, Medication, Note, Observation, Patient};
use crate::error::{Error, Result};
use crate::formats::table::{for_each_row, Table as TableRow};
use crate::ingest::quality::SourceQuality;
use crate::ingest::raw::{RawRecord, Table};

/// Read every records-schema Parquet table present in the source folder.
/// Parquet is typed: a row that does not fit the schema is an error naming
/// the file, row and column (exit 2), not a quarantined record.
pub fn read(s: &SourceConfig, _q: &mut SourceQuality) -> Result<Vec<RawRecord>> {
    if !s.path.is_dir() {
        return Err(Error::bad_input(
            s.path.display(),
            None,
            "a folder of records-schema Parquet tables",
            "no such folder",
        ));
    }
    let mut out = Vec::new();
    for table in Table::ALL {
        let path = s.path.join(format!("{}.parquet", table.file_stem()));
        if !path.exists() {
            continue;
        }
        match table {
            Table::Patient => rows::<Patient>(&path, &s.name, table, &mut out)?,
            Table::Encounter => rows::<Encounter>(&path, &s.name, table, &mut out)?,
            Table::Observation => rows::<Observation>(&path, &s.name, table, &mut out)?,
            Table::Condition => rows::<Condition>(&path, &s.name, table, &mut out)?,
            Table::Medication => rows::<Medication>(&path, &s.name, table, &mut out)?,
            Table::Note => rows::<Note>(&path, &s.name, table, &mut out)?,
        }
    }
    Ok(out)
}

fn rows<T: TableRow>(
    path: &Path,
    source: &str,
    table: Table,
    out: &mut Vec<RawRecord>,
) -> Result<()> {
    let file = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut n = 0usize;
    for_each_row::<T>(path, |row| {
        n += 1;
        out.push(RawRecord::from_record(
            source,
            table,
            format!("{file} row {n}"),
            &row,
        )?);
        Ok(())
    })
}
