//! CSV source: a folder of records-schema tables (patients.csv, ...), or a
//! folder of such folders: the shards of one population (`carelab data
//! generate --shard I/N` into `shard-0/`, `shard-1/`, ...), read one after
//! another in name order as one source.

use std::path::{Path, PathBuf};

use super::SourceConfig;
use crate::error::{Error, IoContext, Result};
use crate::ingest::quality::SourceQuality;
use crate::ingest::raw::{self, RawRecord, Table};

/// Read every records-schema CSV table present in the source folder, or in
/// each of its shard folders. Records go to `each` as they are read.
pub fn read(
    s: &SourceConfig,
    q: &mut SourceQuality,
    each: &mut dyn FnMut(&mut SourceQuality, &RawRecord) -> Result<()>,
) -> Result<()> {
    if !s.path.is_dir() {
        return Err(Error::bad_input(
            s.path.display(),
            None,
            "a folder of records-schema CSV tables",
            "no such folder",
        ));
    }
    let folders = if has_tables(&s.path) {
        vec![(s.path.clone(), String::new())]
    } else {
        shards(&s.path)?
    };
    if folders.is_empty() {
        return Err(Error::bad_input(
            s.path.display(),
            None,
            "a folder of records-schema CSV tables (patients.csv, encounters.csv, ...) \
             or of shard folders holding them",
            "neither",
        ));
    }
    // every table of every shard: the shards' tables are one table each
    for table in Table::ALL {
        for (dir, prefix) in &folders {
            let path = dir.join(format!("{}.csv", table.file_stem()));
            if !path.exists() {
                continue;
            }
            let label = format!("{prefix}{}.csv", table.file_stem());
            let enc = raw::stream_csv(&path, &label, &s.name, table, &mut |r| each(q, r))?;
            q.encodings.insert(label, enc);
        }
    }
    Ok(())
}

fn has_tables(dir: &Path) -> bool {
    Table::ALL
        .iter()
        .any(|t| dir.join(format!("{}.csv", t.file_stem())).is_file())
}

/// The sub-folders that hold tables, in name order, each with the prefix
/// its files are named by (`shard-0/`).
fn shards(dir: &Path) -> Result<Vec<(PathBuf, String)>> {
    let mut out: Vec<(PathBuf, String)> = std::fs::read_dir(dir)
        .at(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir() && has_tables(p))
        .map(|p| {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            (p, format!("{name}/"))
        })
        .collect();
    out.sort();
    Ok(out)
}
