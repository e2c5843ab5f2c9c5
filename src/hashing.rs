//! FNV-1a: a stable 64-bit hash, the same in every run and on every
//! platform, unlike std's. Ingest partitions and looks up record ids with
//! it; the detector hashes its features with it (its values are part of the
//! trained model, so they never change); and it is the fast hasher for the
//! short words the name dictionaries look up, where std's SipHash, built to
//! resist hash flooding, cost more than the lookups themselves.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

pub const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0100_0000_01b3;

/// One byte more of an FNV-1a hash.
pub fn fnv_step(h: u64, b: u8) -> u64 {
    (h ^ u64::from(b)).wrapping_mul(FNV_PRIME)
}

/// The FNV-1a hash of `bytes`.
pub fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(FNV_OFFSET, |h, b| fnv_step(h, *b))
}

/// FNV-1a as a `Hasher`, for maps keyed by words: the bundled name lists
/// and the patients table's names. Not flooding-resistant, which a batch
/// tool reading its own tables does not need.
pub struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Fnv {
        Fnv(FNV_OFFSET)
    }
}

impl Hasher for Fnv {
    fn write(&mut self, bytes: &[u8]) {
        self.0 = bytes.iter().fold(self.0, |h, b| fnv_step(h, *b));
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

pub type WordMap<K, V> = HashMap<K, V, BuildHasherDefault<Fnv>>;
pub type WordSet<K> = HashSet<K, BuildHasherDefault<Fnv>>;
