//! Random surrogate ids for Safe Harbor, with the crosswalk kept apart.
//!
//! 45 CFR 164.514(c) lets a covered entity keep a code to re-identify
//! de-identified data only if the code is "not derived from or related to
//! information about the individual". A keyed hash of the patient id is
//! derived from it (whoever holds the key recomputes it), so Safe Harbor
//! patient ids are drawn at random from the operating system's generator
//! instead: one per patient in a run, the same in every table of that run,
//! another in the next run. The only way back is the crosswalk, which is
//! written outside the release: it is the covered entity's
//! re-identification table and is never disclosed with the data.
//!
//! Other joining keys (encounter, note, observation ids) are one per row
//! and may run to millions, so they are not remembered: each is the HMAC of
//! the id under a key drawn from the operating system for this run and
//! never written anywhere. Consistent within the run, unrelated across
//! runs, and with the key gone nobody, the covered entity included, can
//! translate them back; a record is linked to its patient only through the
//! patient surrogate beside it.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Write;
use std::path::Path;

use ring::rand::{SecureRandom, SystemRandom};

use super::pseudonym::{prefix, Pseudonymizer, MIN_KEY_BYTES};
use crate::artifact::AtomicFile;
use crate::error::{Error, IoContext, Result};

/// The first line of every crosswalk file, a comment a CSV reader skips
/// with `#` as its comment character.
pub const CROSSWALK_WARNING: &str =
    "# CareLab crosswalk: the covered entity's re-identification table \
(45 CFR 164.514(c)). It maps the random surrogate ids of a Safe Harbor release back to the \
original ids. Keep it apart from the release, with the same care as the original data; never \
release or disclose it.";

/// The patient surrogates drawn so far in one run, by original id, and the
/// run's key for the other joining keys.
pub struct Surrogates {
    rng: SystemRandom,
    /// Kind ("patient") -> original id -> surrogate.
    by_kind: HashMap<String, HashMap<String, String>>,
    /// Drawn for this run, never stored: see the module comment.
    records: Pseudonymizer,
    /// Every surrogate handed out: a draw that repeats one is drawn again,
    /// so two ids never share a surrogate.
    used: HashSet<String>,
}

impl std::fmt::Debug for Surrogates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Surrogates({} ids)", self.used.len())
    }
}

impl Surrogates {
    pub fn new() -> Result<Self> {
        let rng = SystemRandom::new();
        let mut key = [0u8; MIN_KEY_BYTES];
        rng.fill(&mut key).map_err(|_| os_rng_failed())?;
        Ok(Surrogates {
            rng,
            by_kind: HashMap::new(),
            records: Pseudonymizer::new(&key)?,
            used: HashSet::new(),
        })
    }

    /// The surrogate of a patient id: the one already drawn in this run,
    /// or a new one, `pat-` and 16 random hex digits (the shape of a keyed
    /// pseudonym, so tables keep their types); recorded for the crosswalk.
    pub fn patient(&mut self, value: &str) -> Result<String> {
        self.surrogate("patient", value)
    }

    /// Another joining key's replacement in column `kind`: keyed by this
    /// run's throwaway key, not remembered, not in the crosswalk.
    pub fn record(&self, kind: &str, value: &str) -> String {
        self.records.pseudonym(kind, value)
    }

    fn surrogate(&mut self, kind: &str, value: &str) -> Result<String> {
        if let Some(s) = self.by_kind.get(kind).and_then(|m| m.get(value)) {
            return Ok(s.clone());
        }
        let s = loop {
            let mut bytes = [0u8; 8];
            self.rng.fill(&mut bytes).map_err(|_| os_rng_failed())?;
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

    /// How many patients were given surrogates.
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

fn os_rng_failed() -> Error {
    Error::failure("the operating system's random number generator failed")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_random_surrogate_per_id_and_kind() {
        let mut a = Surrogates::new().unwrap();
        let p1 = a.patient("P1").unwrap();
        assert_eq!(a.patient("P1").unwrap(), p1, "same run, same id");
        assert_ne!(a.patient("P2").unwrap(), p1);
        assert!(p1.starts_with("pat-") && p1.len() == 20, "{p1}");
        let e1 = a.record("encounter_id", "E1");
        assert_eq!(a.record("encounter_id", "E1"), e1);
        assert!(e1.starts_with("enc-") && e1 != a.record("encounter_id", "E2"));
        assert_eq!(a.len(), 2, "only patients are remembered");
        // another run draws other surrogates for the same ids
        let mut b = Surrogates::new().unwrap();
        assert_ne!(b.patient("P1").unwrap(), p1);
        assert_ne!(b.record("encounter_id", "E1"), e1);
    }

    #[test]
    fn the_crosswalk_maps_every_surrogate_back() {
        let d = tempfile::tempdir().unwrap();
        let mut s = Surrogates::new().unwrap();
        let ids: Vec<String> = (0..50).map(|i| format!("P{i}")).collect();
        let got: Vec<String> = ids.iter().map(|id| s.patient(id).unwrap()).collect();
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
