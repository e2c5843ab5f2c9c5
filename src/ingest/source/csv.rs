//! CSV source: a folder of records-schema tables (patients.csv, ...).

use super::SourceConfig;
use crate::error::{Error, Result};
use crate::ingest::quality::SourceQuality;
use crate::ingest::raw::{self, RawRecord, Table};

/// Read every records-schema CSV table present in the source folder.
/// Records go to `each` as they are read.
pub fn read(
    s: &SourceConfig,
    q: &mut SourceQuality,
    each: &mut dyn FnMut(&mut SourceQuality, RawRecord) -> Result<()>,
) -> Result<()> {
    if !s.path.is_dir() {
        return Err(Error::bad_input(
            s.path.display(),
            None,
            "a folder of records-schema CSV tables",
            "no such folder",
        ));
    }
    for table in Table::ALL {
        let path = s.path.join(format!("{}.csv", table.file_stem()));
        if !path.exists() {
            continue;
        }
        let enc = raw::stream_csv(&path, &s.name, table, &mut |r| each(q, r))?;
        q.encodings
            .insert(format!("{}.csv", table.file_stem()), enc);
    }
    Ok(())
}
