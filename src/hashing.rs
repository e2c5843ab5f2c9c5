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

/// The hash of rustc's `FxHasher` over bytes (a rotate, xor and multiply
/// a byte), its high bits turned down on `finish`: a hash table indexes
/// its slots by the low bits, which the multiply leaves weak. For sets of
/// record ids that ingest has already partitioned by their FNV hash (so
/// their FNV hashes share their low bits), source names and header names.
#[derive(Default)]
pub struct Fx(u64);

const FX_SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl Hasher for Fx {
    fn write(&mut self, bytes: &[u8]) {
        self.0 = bytes.iter().fold(self.0, |h, b| {
            (h.rotate_left(5) ^ u64::from(*b)).wrapping_mul(FX_SEED)
        });
    }

    fn finish(&self) -> u64 {
        self.0.rotate_left(26)
    }
}

/// The `Fx` hash of `bytes`.
pub fn fx(bytes: &[u8]) -> u64 {
    let mut h = Fx::default();
    h.write(bytes);
    h.finish()
}

pub type IdSet<K> = HashSet<K, BuildHasherDefault<Fx>>;
pub type IdMap<K, V> = HashMap<K, V, BuildHasherDefault<Fx>>;
