//! CSV source: a folder of records-schema tables (patients.csv, ...).

use super::SourceConfig;
use crate::error::{Error, Result};
use crate::ingest::quality::SourceQuality;
use crate::ingest::raw::{self, RawRecord, Table};

/// Read every records-schema CSV table present in the source folder.
pub fn read(s: &SourceConfig, q: &mut SourceQuality) -> Result<Vec<RawRecord>> {
    if !s.path.is_dir() {
        return Err(Error::bad_input(
            s.path.display(),
            None,
            "a folder of records-schema CSV tables",
            "no such folder",
        ));
    }
    let mut out = Vec::new();
    for table in Table::ALL {
        let path = s.path.join(format!("{}.csv", table.file_stem()));
        if !path.exists() {
            continue;
        }
        let (recs, enc) = raw::read_csv(&path, &s.name, table)?;
        q.encodings
            .insert(format!("{}.csv", table.file_stem()), enc);
        out.extend(recs);
    }
    Ok(out)
}
