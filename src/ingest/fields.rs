//! A raw record's fields: text values named like the records schema.
//!
//! The names are a header every record of one file (or one adapter's kind
//! of record) shares, so a row only overwrites its values, and a name is
//! found through a small hash index of the header rather than by comparing
//! it with the names one after another (a map per record did that, for
//! every field the validator reads of every row). The fields read as a map
//! in name order: iteration, equality and `Debug` are those of a
//! `BTreeMap<String, String>` holding the same pairs.

use std::collections::BTreeMap;
use std::sync::Arc;

/// Names in sorted order, each once, with the index that finds them.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Header {
    names: Vec<String>,
    /// Open addressing: a slot holds a name's position, or `EMPTY`.
    slots: Vec<u32>,
}

const EMPTY: u32 = u32::MAX;

impl Header {
    /// A header of `names`, sorted and each once.
    fn of_sorted(names: Vec<String>) -> Header {
        let size = (names.len() * 2).next_power_of_two().max(8);
        let mut slots = vec![EMPTY; size];
        for (i, name) in names.iter().enumerate() {
            let mut s = slot_of(name, size);
            while slots[s] != EMPTY {
                s = (s + 1) & (size - 1);
            }
            slots[s] = i as u32;
        }
        Header { names, slots }
    }

    fn position(&self, name: &str) -> Option<usize> {
        let size = self.slots.len();
        if size == 0 {
            return None;
        }
        let mut s = slot_of(name, size);
        loop {
            match self.slots[s] {
                EMPTY => return None,
                i if self.names[i as usize] == name => return Some(i as usize),
                _ => s = (s + 1) & (size - 1),
            }
        }
    }
}

/// Where a name starts probing in a table of `size` slots (a power of two).
fn slot_of(name: &str, size: usize) -> usize {
    crate::hashing::fx(name.as_bytes()) as usize & (size - 1)
}

/// One record's fields (see the module's comment).
#[derive(Clone, Default)]
pub struct Fields {
    header: Arc<Header>,
    /// In the order of the header's names.
    values: Vec<String>,
}

impl Fields {
    /// Empty values for every name of `header`, the buffers a row is read
    /// into.
    pub fn with_header(header: &Arc<Header>) -> Fields {
        Fields {
            header: Arc::clone(header),
            values: vec![String::new(); header.names.len()],
        }
    }

    /// A header of `names`, in any order; a repeated name is one field.
    pub fn header<'a>(names: impl IntoIterator<Item = &'a str>) -> Arc<Header> {
        let mut names: Vec<String> = names.into_iter().map(str::to_string).collect();
        names.sort_unstable();
        names.dedup();
        Arc::new(Header::of_sorted(names))
    }

    /// Whether these fields are named by `header` (the same one, not an
    /// equal one).
    pub fn has_header(&self, header: &Arc<Header>) -> bool {
        Arc::ptr_eq(&self.header, header)
    }

    /// The values in the order of the header's names, to overwrite.
    pub fn values_mut(&mut self) -> std::slice::IterMut<'_, String> {
        self.values.iter_mut()
    }

    pub fn get(&self, name: &str) -> Option<&String> {
        self.header.position(name).map(|i| &self.values[i])
    }

    pub fn get_mut(&mut self, name: &str) -> Option<&mut String> {
        self.header.position(name).map(|i| &mut self.values[i])
    }

    pub fn contains_key(&self, name: &str) -> bool {
        self.header.position(name).is_some()
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// No fields at all (a row cut short).
    pub fn clear(&mut self) {
        if !self.is_empty() {
            *self = Fields::default();
        }
    }

    /// Set a field, adding its name when the header lacks it (the header
    /// is then this record's own).
    pub fn insert(&mut self, name: String, value: String) {
        if let Some(v) = self.get_mut(&name) {
            *v = value;
            return;
        }
        let at = self.header.names.partition_point(|n| *n < name);
        let mut names = self.header.names.clone();
        names.insert(at, name);
        self.header = Arc::new(Header::of_sorted(names));
        self.values.insert(at, value);
    }

    /// The (name, value) pairs in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &String)> {
        self.header.names.iter().zip(&self.values)
    }

    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.header.names.iter()
    }
}

impl PartialEq for Fields {
    fn eq(&self, other: &Fields) -> bool {
        (Arc::ptr_eq(&self.header, &other.header) || self.header.names == other.header.names)
            && self.values == other.values
    }
}

impl std::fmt::Debug for Fields {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl From<BTreeMap<String, String>> for Fields {
    fn from(map: BTreeMap<String, String>) -> Fields {
        let (names, values) = map.into_iter().unzip();
        Fields {
            header: Arc::new(Header::of_sorted(names)),
            values,
        }
    }
}

/// Pairs as a map collects them: a repeated name keeps its last value.
impl FromIterator<(String, String)> for Fields {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(pairs: I) -> Fields {
        pairs.into_iter().collect::<BTreeMap<_, _>>().into()
    }
}

impl<const N: usize> From<[(String, String); N]> for Fields {
    fn from(pairs: [(String, String); N]) -> Fields {
        pairs.into_iter().collect()
    }
}

impl std::ops::Index<&str> for Fields {
    type Output = String;

    fn index(&self, name: &str) -> &String {
        match self.get(name) {
            Some(v) => v,
            None => panic!("no field {name:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// Every name of a wide header is found, and names it lacks are not,
    /// whatever the probes in between.
    #[test]
    fn fields_read_as_the_map_of_the_same_pairs() {
        let names: Vec<String> = (0..40).map(|i| format!("field_{i}")).collect();
        let pairs: Vec<(String, String)> = names
            .iter()
            .rev()
            .map(|n| (n.clone(), format!("v{n}")))
            .collect();
        let want: BTreeMap<String, String> = pairs.iter().cloned().collect();
        let fields: Fields = pairs.into_iter().collect();
        assert_eq!(fields.len(), 40);
        for n in &names {
            assert_eq!(fields.get(n), want.get(n), "{n}");
        }
        for absent in ["", "field_40", "field", "Field_1", "field_1 "] {
            assert_eq!(fields.get(absent), None, "{absent}");
            assert!(!fields.contains_key(absent));
        }
        let got: Vec<(&String, &String)> = fields.iter().collect();
        assert_eq!(got, want.iter().collect::<Vec<_>>());
        assert_eq!(format!("{fields:?}"), format!("{want:?}"));
    }

    #[test]
    fn inserting_keeps_name_order_and_a_repeated_name_keeps_its_last_value() {
        let mut fields: Fields = map(&[("b", "2"), ("d", "4")]).into();
        fields.insert("c".into(), "3".into());
        fields.insert("a".into(), "1".into());
        fields.insert("d".into(), "four".into());
        assert_eq!(
            fields,
            map(&[("a", "1"), ("b", "2"), ("c", "3"), ("d", "four")]).into()
        );
        assert_eq!(&fields["c"], "3");
        let repeated: Fields =
            [("x".to_string(), "1".to_string()), ("x".into(), "2".into())].into();
        assert_eq!(repeated.len(), 1);
        assert_eq!(&repeated["x"], "2");
    }

    /// Rows read into one header's buffers equal records built from their
    /// pairs, and a row cut short has no fields.
    #[test]
    fn a_header_is_shared_and_its_values_overwritten() {
        let header = Fields::header(["name", "id", "id"]);
        let mut row = Fields::with_header(&header);
        assert!(row.has_header(&header));
        for (v, text) in row.values_mut().zip(["P1", "Ann"]) {
            v.push_str(text);
        }
        assert_eq!(row, map(&[("id", "P1"), ("name", "Ann")]).into());
        assert_ne!(row, map(&[("id", "P1"), ("name", "Bo")]).into());
        row.clear();
        assert!(row.is_empty() && !row.has_header(&header));
        assert_eq!(row, BTreeMap::new().into());
        assert_eq!(row.get("id"), None);
    }
}
