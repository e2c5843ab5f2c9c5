//! Text keys held compactly: what ingest keeps for every patient, MRN and
//! encounter of the population while it streams their records.
//!
//! A `HashMap<String, V>` costs a heap allocation and a table slot per key
//! (about 90 bytes for a ten-character id); at a million patients and two
//! million encounters that alone was hundreds of megabytes. Here every key
//! lives end to end in one string, and a sorted list of (64-bit hash, key)
//! finds it: about 20 bytes a key plus its text. A hash only narrows the
//! search; the key's text is always compared, so two keys that share a hash
//! are told apart and a key never pushed is never found.

use crate::hashing::fnv;

/// Keys (repeats allowed) with a value each, in the order pushed.
pub struct KeysBuilder<V> {
    text: String,
    ends: Vec<usize>,
    values: Vec<V>,
}

impl<V> Default for KeysBuilder<V> {
    fn default() -> Self {
        KeysBuilder {
            text: String::new(),
            ends: Vec::new(),
            values: Vec::new(),
        }
    }
}

impl<V> KeysBuilder<V> {
    pub fn push(&mut self, key: &str, value: V) {
        self.text.push_str(key);
        self.ends.push(self.text.len());
        self.values.push(value);
    }

    /// Index the keys for lookups.
    pub fn build(self) -> Keys<V> {
        let KeysBuilder {
            mut text,
            mut ends,
            mut values,
        } = self;
        text.shrink_to_fit();
        ends.shrink_to_fit();
        values.shrink_to_fit();
        let mut keys = Keys {
            text,
            ends,
            values,
            by_hash: Vec::new(),
        };
        let mut by_hash: Vec<(u64, u32)> = (0..keys.len())
            .map(|i| (fnv(keys.key(i).as_bytes()), i as u32))
            .collect();
        // by hash, then in the order pushed: a key's values come back in
        // that order
        by_hash.sort_unstable();
        keys.by_hash = by_hash;
        keys
    }
}

/// Keys with a value each, looked up by their text.
pub struct Keys<V> {
    text: String,
    ends: Vec<usize>,
    values: Vec<V>,
    by_hash: Vec<(u64, u32)>,
}

impl Keys<()> {
    /// A set of keys.
    pub fn set<'a>(keys: impl IntoIterator<Item = &'a str>) -> Keys<()> {
        let mut b = KeysBuilder::default();
        for k in keys {
            b.push(k, ());
        }
        b.build()
    }
}

impl<V> Keys<V> {
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The `i`th key pushed.
    pub fn key(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.text[start..self.ends[i]]
    }

    /// The values pushed with `key`, in the order pushed.
    pub fn get_all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a V> + 'a {
        self.with_hash(fnv(key.as_bytes()), key)
    }

    /// The values of `key`, whose hash is `h`: the keys of that hash whose
    /// text is `key`'s.
    fn with_hash<'a>(&'a self, h: u64, key: &'a str) -> impl Iterator<Item = &'a V> + 'a {
        let at = self.by_hash.partition_point(|&(x, _)| x < h);
        self.by_hash[at..]
            .iter()
            .take_while(move |&&(x, _)| x == h)
            .map(|&(_, i)| i as usize)
            .filter(move |&i| self.key(i) == key)
            .map(|i| &self.values[i])
    }

    /// The first value pushed with `key`.
    pub fn get<'a>(&'a self, key: &'a str) -> Option<&'a V> {
        self.get_all(key).next()
    }

    pub fn contains(&self, key: &str) -> bool {
        self.get(key).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_every_key_pushed_with_its_values_in_order_and_nothing_else() {
        let mut b = KeysBuilder::default();
        for (k, v) in [("E1", 1), ("E22", 2), ("", 3), ("E1", 4), ("E3", 5)] {
            b.push(k, v);
        }
        let keys = b.build();
        assert_eq!(keys.len(), 5);
        assert_eq!(keys.get_all("E1").copied().collect::<Vec<_>>(), vec![1, 4]);
        assert_eq!(keys.get("E22"), Some(&2));
        assert_eq!(keys.get(""), Some(&3));
        assert_eq!(keys.get("E3"), Some(&5));
        assert_eq!(keys.get("E2"), None);
        assert_eq!(keys.get("E12"), None);
        assert_eq!(keys.key(1), "E22");
        assert_eq!(keys.key(2), "");
        assert_eq!(keys.key(4), "E3");
    }

    #[test]
    fn keys_sharing_a_hash_are_told_apart_by_their_text() {
        // a table of one hash shows what a collision would: the text decides
        let mut b = KeysBuilder::default();
        b.push("A", 'a');
        b.push("B", 'b');
        let mut keys = b.build();
        keys.by_hash = vec![(7, 0), (7, 1)];
        let find = |k| keys.with_hash(7, k).copied().collect::<Vec<_>>();
        assert_eq!(find("A"), vec!['a']);
        assert_eq!(find("B"), vec!['b']);
        assert_eq!(find("C"), vec![]);
    }

    #[test]
    fn a_set_holds_its_keys() {
        let mrns = Keys::set(["M0042", "01234567"]);
        assert!(mrns.contains("M0042"));
        assert!(mrns.contains("01234567"));
        assert!(!mrns.contains("M004"));
        assert!(!mrns.is_empty());
    }
}
