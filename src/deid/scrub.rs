//! Free-text scrubbing: patterns, the patient's own identifiers, and name and
//! place dictionaries built from the patients table; spans become `[NAME]`,
//! `[DATE]`, ... and the result is measured against ground-truth spans.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use super::patterns::{merge, tag, Found, Patterns};
use crate::clinical::{PhiKind, PhiSpan};

/// What is known about one patient that may appear in their notes.
#[derive(Debug, Clone, Default)]
pub struct KnownIds {
    pub values: Vec<(PhiKind, String)>,
}

/// The scrubber: patterns plus dictionaries.
#[derive(Default)]
pub struct Scrubber {
    patterns: Patterns,
    /// Capitalised single words that are names (or places) somewhere in the data.
    words: HashMap<String, PhiKind>,
    /// The patient's own identifiers, by patient key.
    known: HashMap<String, KnownIds>,
}

impl Scrubber {
    pub fn new() -> Scrubber {
        Scrubber::default()
    }

    /// Add one patient's identifiers: matched in that patient's notes
    /// case-insensitively, and their name and city words in every note.
    pub fn add_patient(&mut self, patient_key: &str, ids: KnownIds) {
        for (kind, v) in &ids.values {
            if matches!(kind, PhiKind::Name | PhiKind::City) {
                for w in v.split_whitespace() {
                    if w.len() > 2 && w.chars().next().is_some_and(|c| c.is_uppercase()) {
                        self.words.entry(w.to_string()).or_insert(*kind);
                    }
                }
            }
        }
        self.known.insert(patient_key.to_string(), ids);
    }

    /// The PHI spans found in `text` (a note of `patient_key`), merged.
    pub fn find(&self, patient_key: &str, text: &str) -> Vec<Found> {
        let mut found = Vec::new();
        self.patterns.find(text, &mut found);
        if let Some(ids) = self.known.get(patient_key) {
            let lower = text.to_lowercase();
            // to_lowercase keeps byte offsets only for ASCII-only text
            if lower.len() == text.len() {
                for (kind, v) in &ids.values {
                    find_word_bounded(&lower, &v.to_lowercase(), *kind, &mut found);
                }
            }
        }
        for (start, word) in words(text) {
            if let Some(kind) = self.words.get(word) {
                found.push(Found {
                    start,
                    end: start + word.len(),
                    kind: *kind,
                });
            }
        }
        merge(found)
    }

    /// Replace every span with its tag.
    pub fn scrub(&self, patient_key: &str, text: &str) -> (String, Vec<Found>) {
        let found = self.find(patient_key, text);
        (apply(text, &found), found)
    }
}

/// `text` with each span replaced by its tag.
pub fn apply(text: &str, found: &[Found]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for f in found {
        if f.start < at || f.end > text.len() {
            continue;
        }
        out.push_str(text.get(at..f.start).unwrap_or(""));
        out.push_str(&tag(f.kind));
        at = f.end;
    }
    out.push_str(text.get(at..).unwrap_or(""));
    out
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}

/// Every word-bounded occurrence of `needle` in `hay` (both lower case).
pub fn find_word_bounded(hay: &str, needle: &str, kind: PhiKind, out: &mut Vec<Found>) {
    let needle = needle.trim();
    if needle.len() < 2 {
        return;
    }
    let bytes = hay.as_bytes();
    let mut from = 0;
    while let Some(pos) = hay.get(from..).and_then(|h| h.find(needle)) {
        let start = from + pos;
        let end = start + needle.len();
        let before = start == 0 || !is_word_byte(bytes[start - 1]);
        let after = end == bytes.len() || !is_word_byte(bytes[end]);
        if before && after {
            out.push(Found { start, end, kind });
        }
        from = start + 1;
        while !hay.is_char_boundary(from) {
            from += 1;
        }
    }
}

/// Alphabetic words starting with a capital, with their byte offsets.
fn words(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        let part = c.is_alphabetic() || c == '\'' || c == '-';
        match (start, part) {
            (None, true) if c.is_uppercase() => start = Some(i),
            (None, true) => start = Some(usize::MAX),
            (Some(s), false) => {
                if s != usize::MAX {
                    out.push((s, &text[s..i]));
                }
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start.filter(|s| *s != usize::MAX) {
        out.push((s, &text[s..]));
    }
    out
}

/// Recall and precision of one PHI kind.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct KindScore {
    pub truth_spans: u64,
    pub caught: u64,
    pub recall: f64,
    pub detected: u64,
    pub true_positive: u64,
    pub precision: f64,
}

/// Score detections against truth spans. A truth span is caught when every
/// non-space byte of it lies inside some detection (of any kind: a name
/// tagged `[CITY]` is still gone); a detection is a true positive when it
/// overlaps some truth span.
pub fn score(
    text_of: &HashMap<String, String>,
    detections: &HashMap<String, Vec<Found>>,
    truth: &[PhiSpan],
) -> BTreeMap<String, KindScore> {
    let mut by_note: HashMap<&str, Vec<&PhiSpan>> = HashMap::new();
    for t in truth {
        by_note.entry(t.note_id.as_str()).or_default().push(t);
    }
    let mut scores: BTreeMap<String, KindScore> = BTreeMap::new();
    let empty = Vec::new();
    for t in truth {
        let s = scores
            .entry(super::patterns::kind_name(t.kind).into())
            .or_default();
        s.truth_spans += 1;
        let text = text_of.get(&t.note_id).map(String::as_bytes).unwrap_or(&[]);
        let dets = detections.get(&t.note_id).unwrap_or(&empty);
        let covered = (t.start..t.end.min(text.len())).all(|i| {
            text.get(i).is_some_and(|b| b.is_ascii_whitespace())
                || dets.iter().any(|d| d.start <= i && i < d.end)
        });
        if covered && t.end <= text.len() {
            s.caught += 1;
        }
    }
    let no_truth = Vec::new();
    let mut ids: Vec<&String> = detections.keys().collect();
    ids.sort();
    for id in ids {
        let spans = by_note.get(id.as_str()).unwrap_or(&no_truth);
        for d in &detections[id] {
            let s = scores
                .entry(super::patterns::kind_name(d.kind).into())
                .or_default();
            s.detected += 1;
            if spans.iter().any(|t| t.start < d.end && d.start < t.end) {
                s.true_positive += 1;
            }
        }
    }
    for s in scores.values_mut() {
        s.recall = ratio(s.caught, s.truth_spans);
        s.precision = ratio(s.true_positive, s.detected);
    }
    scores
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        1.0
    } else {
        a as f64 / b as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrubs_own_identifiers_and_dictionary_names() {
        let mut s = Scrubber::new();
        s.add_patient(
            "P1",
            KnownIds {
                values: vec![
                    (PhiKind::Name, "Maria".into()),
                    (PhiKind::Name, "Okafor".into()),
                    (PhiKind::Mrn, "MR0042".into()),
                    (PhiKind::City, "Lake Forest".into()),
                ],
            },
        );
        let text =
            "MARIA OKAFOR (MR0042) from Lake Forest was seen on 2023-04-05. Okafor improved.";
        let (out, _) = s.scrub("P1", text);
        assert_eq!(
            out,
            "[NAME] [NAME] ([MRN]) from [CITY] was seen on [DATE]. [NAME] improved."
        );
        // another patient's note still loses the name through the dictionary
        assert_eq!(s.scrub("P2", "Visited by Okafor.").0, "Visited by [NAME].");
    }

    #[test]
    fn scores_recall_and_precision() {
        let text = "Call 555-201-3344 on 2023-01-02 ok".to_string();
        let texts = HashMap::from([("N1".to_string(), text.clone())]);
        let s = Scrubber::new();
        let dets = HashMap::from([("N1".to_string(), s.find("P1", &text))]);
        let truth = vec![
            PhiSpan {
                note_id: "N1".into(),
                kind: PhiKind::Phone,
                start: 5,
                end: 17,
            },
            PhiSpan {
                note_id: "N1".into(),
                kind: PhiKind::Date,
                start: 21,
                end: 31,
            },
            PhiSpan {
                note_id: "N1".into(),
                kind: PhiKind::Name,
                start: 32,
                end: 34,
            },
        ];
        let sc = score(&texts, &dets, &truth);
        assert_eq!(sc["phone"].recall, 1.0);
        assert_eq!(sc["date"].recall, 1.0);
        assert_eq!(sc["name"].recall, 0.0);
        assert_eq!(sc["phone"].precision, 1.0);
    }
}
