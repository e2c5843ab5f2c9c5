//! Annotated note corpora: notes written by hand with their PHI marked
//! inline as `{{kind|text}}`, below a header of the patient's row.
//!
//! One reader serves the tests that score the scrubber (the held-out
//! corpus in `tests/data/deid-notes/`, the development sets beside it) and
//! `deid train-detector --notes`, which learns from development sets. A
//! folder holding a file named [`HELD_OUT_MARKER`] is refused as training
//! data: the marker travels with the folder when it is copied or linked,
//! which a check of its path alone would miss.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;

use super::dataset::known_ids;
use super::detector::Detector;
use super::patterns::{kind_name, merge, Found};
use super::roles::default_roles;
use super::rules::DateCell;
use super::scrub::{KindScore, Scorer, Scrubber};
use crate::clinical::{PhiKind, PhiSpan};
use crate::error::{Error, Result};

/// A file in a corpus folder that marks the folder as held out: never
/// training data, only scored.
pub const HELD_OUT_MARKER: &str = "HELD-OUT";

/// One annotated note: what the patients table knows, the note text with
/// its annotations stripped, and the annotated spans (byte offsets).
#[derive(Debug, Clone)]
pub struct AnnotatedNote {
    pub id: String,
    /// `(column, value)` of the patient's row, in the file's order.
    pub record: Vec<(String, String)>,
    pub text: String,
    pub spans: Vec<PhiSpan>,
}

impl AnnotatedNote {
    /// The header's value of `column`, empty where it has none.
    pub fn field(&self, column: &str) -> &str {
        self.record
            .iter()
            .find(|(c, _)| c == column)
            .map_or("", |(_, v)| v.as_str())
    }
}

fn kind_of(name: &str) -> Option<PhiKind> {
    PhiKind::ALL.into_iter().find(|k| kind_name(*k) == name)
}

/// Read one note: `column: value` lines, a `---` line, then the text with
/// `{{kind|text}}` annotations. `source` names the note in errors (its
/// file), which give the line, what was expected and what was found.
pub fn parse_note(id: &str, source: &str, raw: &str) -> Result<AnnotatedNote> {
    let bad = |line: Option<usize>, expected: &str, found: String| {
        Error::bad_input(source, line.map(|l| format!("line {l}")), expected, found)
    };
    let (head, body) = raw.split_once("\n---\n").ok_or_else(|| {
        bad(
            None,
            "a header, a line `---`, then the note",
            "no `---` line".into(),
        )
    })?;
    let mut record = Vec::new();
    for (i, line) in head.lines().enumerate() {
        let (c, v) = line
            .split_once(':')
            .ok_or_else(|| bad(Some(i + 1), "`column: value`", format!("{line:?}")))?;
        record.push((c.trim().to_string(), v.trim().to_string()));
    }
    let head_lines = head.lines().count() + 1;
    let line_at = |at: usize| Some(head_lines + 1 + body[..at].matches('\n').count());
    let stray_close = |from: usize, plain: &str| {
        plain.find("}}").map(|c| {
            bad(
                line_at(from + c),
                "`{{` before `}}`",
                "`}}` without an opening `{{`".into(),
            )
        })
    };
    let mut text = String::with_capacity(body.len());
    let mut spans = Vec::new();
    let mut at = 0;
    while let Some(open) = body[at..].find("{{").map(|o| at + o) {
        let plain = &body[at..open];
        if let Some(e) = stray_close(at, plain) {
            return Err(e);
        }
        text.push_str(plain);
        let close = body[open..].find("}}").map(|c| open + c).ok_or_else(|| {
            bad(
                line_at(open),
                "`}}` closing the `{{`",
                "the end of the note".into(),
            )
        })?;
        let inner = &body[open + 2..close];
        let (kind, value) = inner
            .split_once('|')
            .ok_or_else(|| bad(line_at(open), "{{kind|text}}", format!("{{{{{inner}}}}}")))?;
        let kind = kind_of(kind).ok_or_else(|| {
            bad(
                line_at(open),
                &format!("a PHI kind ({})", PhiKind::ALL.map(kind_name).join(", ")),
                format!("{kind:?}"),
            )
        })?;
        if value.trim().is_empty() || value.contains("{{") || value.contains('\n') {
            return Err(bad(
                line_at(open),
                "annotated text on one line, not empty, without `{{`",
                format!("{value:?}"),
            ));
        }
        let start = text.len();
        text.push_str(value);
        spans.push(PhiSpan {
            note_id: id.to_string(),
            kind,
            start,
            end: text.len(),
        });
        at = close + 2;
    }
    if let Some(e) = stray_close(at, &body[at..]) {
        return Err(e);
    }
    text.push_str(&body[at..]);
    let note = AnnotatedNote {
        id: id.to_string(),
        record,
        text,
        spans,
    };
    if note.field("patient_id").is_empty() {
        return Err(bad(
            None,
            "a `patient_id: ...` line in the header",
            "none".into(),
        ));
    }
    Ok(note)
}

/// Every `*.txt` note of a folder, in file-name order; a note's id is its
/// file's stem.
pub fn load_notes(dir: &Path) -> Result<Vec<AnnotatedNote>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let path = entry.map_err(|e| Error::io(dir, e))?.path();
        if path.extension().is_some_and(|e| e == "txt") {
            files.push(path);
        }
    }
    files.sort();
    files
        .iter()
        .map(|p| {
            let id = p.file_stem().unwrap_or_default().to_string_lossy();
            let raw = std::fs::read_to_string(p).map_err(|e| Error::io(p, e))?;
            parse_note(&id, &p.display().to_string(), &raw)
        })
        .collect()
}

/// A folder's notes for training or comparing models, refused if the
/// folder is marked held out (a [`HELD_OUT_MARKER`] file in it) or has no
/// annotated note.
pub fn load_training_notes(dir: &Path) -> Result<Vec<AnnotatedNote>> {
    if dir.join(HELD_OUT_MARKER).exists() {
        return Err(Error::usage(format!(
            "{} is held out (it holds a {HELD_OUT_MARKER} file): only the test \
             that scores the scrubber reads it, never to train or compare \
             models; use the development sets (tests/data/deid-dev*)",
            dir.display()
        )));
    }
    let notes = load_notes(dir)?;
    if !notes.iter().any(|n| !n.spans.is_empty()) {
        return Err(Error::bad_input(
            dir.display(),
            None,
            "*.txt notes with `{{kind|text}}` annotations",
            format!("{} notes and no annotation", notes.len()),
        ));
    }
    Ok(notes)
}

/// The scrubber as `deid` builds it from a patients table: every note's
/// header is one row of that table, its columns given their default roles.
pub fn scrubber_for(notes: &[AnnotatedNote], detector: Option<Arc<Detector>>) -> Scrubber {
    let mut scrubber = Scrubber::new().with_detector(detector);
    for n in notes {
        let header: Vec<String> = n.record.iter().map(|(c, _)| c.clone()).collect();
        let roles = default_roles(&header);
        let birth = DateCell::parse(n.field("birth_date")).map(|d| d.date());
        let cells = roles
            .into_iter()
            .zip(n.record.iter().map(|(_, v)| v.as_str()));
        scrubber.add_patient(n.field("patient_id"), known_ids(cells, birth));
    }
    scrubber
}

/// A detector's recall and precision per kind on annotated notes: alone,
/// and beside the rules (what `deid` runs).
#[derive(Debug, Clone, Serialize)]
pub struct NotesScore {
    pub dir: PathBuf,
    pub notes: usize,
    pub model: std::collections::BTreeMap<String, KindScore>,
    pub rules_and_model: std::collections::BTreeMap<String, KindScore>,
}

/// Score `detector` on the notes of `dir`, alone and with the rules.
pub fn score_notes(dir: &Path, notes: &[AnnotatedNote], detector: &Arc<Detector>) -> NotesScore {
    let both = scrubber_for(notes, Some(detector.clone()));
    let truth: Vec<PhiSpan> = notes.iter().flat_map(|n| n.spans.iter().cloned()).collect();
    let (mut model, mut rules_and_model) = (Scorer::new(truth.clone()), Scorer::new(truth));
    for n in notes {
        let mut found: Vec<Found> = Vec::new();
        detector.find(&n.text, &mut found);
        model.add_note(&n.id, &n.text, &merge(found));
        let found = both.find(n.field("patient_id"), &n.text);
        rules_and_model.add_note(&n.id, &n.text, &found);
    }
    NotesScore {
        dir: dir.to_path_buf(),
        notes: notes.len(),
        model: model.finish(),
        rules_and_model: rules_and_model.finish(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annotations_are_stripped_at_the_right_offsets() {
        let raw = "patient_id: T1\ngiven_name: Tomás\n---\nSeen {{date|3/2/24}} by {{name|Anita Shah}} NP.\n{{name|Tomás}}'s daughter {{name|Kathleen}}, {{phone|(413) 555-0178}}.\n";
        let n = parse_note("t", "t.txt", raw).unwrap();
        assert_eq!(n.field("given_name"), "Tomás");
        assert_eq!(n.field("city"), "");
        assert_eq!(
            n.text,
            "Seen 3/2/24 by Anita Shah NP.\nTomás's daughter Kathleen, (413) 555-0178.\n"
        );
        let got: Vec<(PhiKind, usize, usize, &str)> = n
            .spans
            .iter()
            .map(|s| (s.kind, s.start, s.end, &n.text[s.start..s.end]))
            .collect();
        assert_eq!(
            got,
            vec![
                (PhiKind::Date, 5, 11, "3/2/24"),
                (PhiKind::Name, 15, 25, "Anita Shah"),
                // byte offsets: the accented letter is two bytes
                (PhiKind::Name, 30, 36, "Tomás"),
                (PhiKind::Name, 48, 56, "Kathleen"),
                (PhiKind::Phone, 58, 72, "(413) 555-0178"),
            ]
        );
        assert!(n.spans.iter().all(|s| s.note_id == "t"));
    }

    #[test]
    fn a_malformed_annotation_is_named_by_file_and_line() {
        let bad = |body: &str| {
            parse_note(
                "bad",
                "dir/bad.txt",
                &format!("patient_id: B\n---\nok\n{body}"),
            )
            .unwrap_err()
            .to_string()
        };
        assert_eq!(
            bad("seen {{nmae|Ann}}"),
            "dir/bad.txt (line 4): expected a PHI kind (name, date, mrn, phone, email, ssn, address, city, zip, url, ip, age), found \"nmae\""
        );
        assert_eq!(
            bad("seen {{name|Ann"),
            "dir/bad.txt (line 4): expected `}}` closing the `{{`, found the end of the note"
        );
        assert_eq!(
            bad("seen {{Ann}}"),
            "dir/bad.txt (line 4): expected {{kind|text}}, found {{Ann}}"
        );
        assert_eq!(
            bad("x\nseen Ann}} x"),
            "dir/bad.txt (line 5): expected `{{` before `}}`, found `}}` without an opening `{{`"
        );
        assert_eq!(
            bad("{{name|Ann}} and {{name| }}"),
            "dir/bad.txt (line 4): expected annotated text on one line, not empty, without `{{`, found \" \""
        );
        assert_eq!(
            parse_note("h", "h.txt", "patient_id: X\nno dashes")
                .unwrap_err()
                .to_string(),
            "h.txt: expected a header, a line `---`, then the note, found no `---` line"
        );
        assert_eq!(
            parse_note("h", "h.txt", "patient_id X\n---\nnote")
                .unwrap_err()
                .to_string(),
            "h.txt (line 1): expected `column: value`, found \"patient_id X\""
        );
        assert_eq!(
            parse_note("h", "h.txt", "city: Lyon\n---\nnote")
                .unwrap_err()
                .to_string(),
            "h.txt: expected a `patient_id: ...` line in the header, found none"
        );
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("carelab-corpus-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_folder_marked_held_out_is_refused_as_training_data() {
        let dir = temp_dir("held-out");
        std::fs::write(
            dir.join("01.txt"),
            "patient_id: P1\n---\nSeen by {{name|Ann Lee}}.\n",
        )
        .unwrap();
        std::fs::write(dir.join("notes.md"), "not a note").unwrap();
        let notes = load_training_notes(&dir).unwrap();
        assert_eq!(notes.len(), 1);
        assert_eq!(notes[0].id, "01");
        assert_eq!(notes[0].text, "Seen by Ann Lee.\n");

        std::fs::write(dir.join(HELD_OUT_MARKER), "").unwrap();
        let e = load_training_notes(&dir).unwrap_err().to_string();
        assert!(e.contains("is held out"), "{e}");
        // it is still read to be scored
        assert_eq!(load_notes(&dir).unwrap().len(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_folder_without_annotated_notes_is_refused() {
        let dir = temp_dir("empty");
        let e = load_training_notes(&dir).unwrap_err().to_string();
        assert!(e.contains("found 0 notes and no annotation"), "{e}");
        std::fs::write(dir.join("01.txt"), "patient_id: P1\n---\nNo PHI.\n").unwrap();
        let e = load_training_notes(&dir).unwrap_err().to_string();
        assert!(e.contains("found 1 notes and no annotation"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_held_out_corpus_carries_its_marker() {
        let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/deid-notes");
        assert!(load_training_notes(&corpus)
            .unwrap_err()
            .to_string()
            .contains("is held out"));
    }
}
