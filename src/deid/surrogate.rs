//! Random surrogate ids for Safe Harbor, with the crosswalk kept apart.
//!
//! 45 CFR 164.514(c) lets a covered entity keep a code to re-identify
//! de-identified data only if the code is "not derived from or related to
//! information about the individual". A keyed hash of the patient id is
//! derived from it (whoever holds the key recomputes it), so Safe Harbor
//! ids are drawn at random from the operating system's generator instead:
//! one per distinct id and kind in a run, the same in every table of that
//! run, another in the next run. The only way back is the crosswalk, which
//! is written outside the release: it is the covered entity's
//! re-identification table and is never disclosed with the data.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Write;
use std::path::Path;

use ring::rand::{SecureRandom, SystemRandom};

use super::pseudonym::prefix;
use crate::artifact::AtomicFile;
use crate::error::{Error, IoContext, Result};

/// The first line of every crosswalk file, a comment a CSV reader skips
/// with `#` as its comment character.
pub const CROSSWALK_WARNING: &str =
    "# CareLab crosswalk: the covered entity's re-identification table \
(45 CFR 164.514(c)). It maps the random surrogate ids of a Safe Harbor release back to the \
original ids. Keep it apart from the release, with the same care as the original data; never \
release or disclose it.";

/// The surrogates drawn so far in one run, by kind ("patient", or the
/// column of another joining key) and original value.
pub struct Surrogates {
    rng: SystemRandom,
    by_kind: HashMap<String, HashMap<String, String>>,
    /// Every surrogate handed out: a draw that repeats one is drawn again,
    /// so two ids never share a surrogate.
    used: HashSet<String>,
}

impl std::fmt::Debug for Surrogates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Surrogates({} ids)", self.used.len())
    }
}

impl Default for Surrogates {
    fn default() -> Self {
        Self::new()
    }
}

impl Surrogates {
    pub fn new() -> Self {
        Surrogates {
            rng: SystemRandom::new(),
            by_kind: HashMap::new(),
            used: HashSet::new(),
        }
    }

    /// The surrogate of `value` in domain `kind`: the one already drawn in
    /// this run, or a new one, a prefix and 16 random hex digits (the shape
    /// of a keyed pseudonym, so tables keep their types).
    pub fn surrogate(&mut self, kind: &str, value: &str) -> Result<String> {
        if let Some(s) = self.by_kind.get(kind).and_then(|m| m.get(value)) {
            return Ok(s.clone());
        }
        let s = loop {
            let mut bytes = [0u8; 8];
            self.rng.fill(&mut bytes).map_err(|_| {
                Error::failure("the operating system's random number generator failed")
            })?;
            let s = format!("{}-{}", prefix(kind), hex::encode(bytes));
            if self.used.insert(s.clone()) {
                break s;
            }
        };
        self.by_kind
            .entry(kind.to_string())
            .or_default()
            .insert(value.to_string(), s.clone());
        Ok(s)
    }

    /// How many ids were given surrogates.
    pub fn len(&self) -> u64 {
        self.used.len() as u64
    }

    pub fn is_empty(&self) -> bool {
        self.used.is_empty()
    }

    /// Write the crosswalk to `path`: the warning line, then CSV
    /// `kind,original,surrogate`, sorted by kind and original id.
    pub fn write_crosswalk(&self, path: &Path) -> Result<()> {
        let mut file = AtomicFile::create(path)?;
        writeln!(file, "{CROSSWALK_WARNING}").at(path)?;
        let mut w = csv::Writer::from_writer(file);
        let csv_err = |e: csv::Error| Error::failure(format!("{}: {e}", path.display()));
        w.write_record(["kind", "original", "surrogate"])
            .map_err(csv_err)?;
        let sorted: BTreeMap<&String, BTreeMap<&String, &String>> = self
            .by_kind
            .iter()
            .map(|(k, m)| (k, m.iter().collect()))
            .collect();
        for (kind, ids) in sorted {
            for (original, surrogate) in ids {
                w.write_record([kind, original, surrogate])
                    .map_err(csv_err)?;
            }
        }
        w.into_inner()
            .map_err(|e| Error::io(path, e.into_error()))?
            .commit()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_random_surrogate_per_id_and_kind() {
        let mut a = Surrogates::new();
        let p1 = a.surrogate("patient", "P1").unwrap();
        assert_eq!(
            a.surrogate("patient", "P1").unwrap(),
            p1,
            "same run, same id"
        );
        assert_ne!(a.surrogate("patient", "P2").unwrap(), p1);
        assert_ne!(a.surrogate("encounter_id", "P1").unwrap(), p1);
        assert!(p1.starts_with("pat-") && p1.len() == 20, "{p1}");
        assert_eq!(a.len(), 3);
        // another run draws another surrogate for the same id
        let mut b = Surrogates::new();
        assert_ne!(b.surrogate("patient", "P1").unwrap(), p1);
    }

    #[test]
    fn the_crosswalk_maps_every_surrogate_back() {
        let d = tempfile::tempdir().unwrap();
        let mut s = Surrogates::new();
        let ids: Vec<String> = (0..50).map(|i| format!("P{i}")).collect();
        let got: Vec<String> = ids
            .iter()
            .map(|id| s.surrogate("patient", id).unwrap())
            .collect();
        let path = d.path().join("crosswalk.csv");
        s.write_crosswalk(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("# CareLab crosswalk"));
        let mut r = csv::ReaderBuilder::new()
            .comment(Some(b'#'))
            .from_path(&path)
            .unwrap();
        let back: HashMap<String, String> = r
            .records()
            .map(|rec| {
                let rec = rec.unwrap();
                assert_eq!(&rec[0], "patient");
                (rec[2].to_string(), rec[1].to_string())
            })
            .collect();
        assert_eq!(back.len(), ids.len());
        for (id, sur) in ids.iter().zip(&got) {
            assert_eq!(&back[sur], id);
        }
    }
}
