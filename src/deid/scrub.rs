//! Free-text scrubbing: patterns, the patient's own identifiers, and name and
//! place dictionaries built from the patients table; spans become `[NAME]`,
//! `[DATE]`, ... and the result is measured against ground-truth spans.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, OnceLock};

use regex::Regex;

use serde::Serialize;

use super::address_parts;
use super::byte_runs;
use super::detector::Detector;
use super::names::{fold_lower, fold_with_offsets, Names, STATES};
use super::patterns::{
    compile, is_street_type, is_title, merge, next_boundary, tag, Found, Patterns, OLD,
};
use super::rule_windows::RuleWindows;
use crate::clinical::{PhiKind, PhiSpan};
use crate::hashing::WordMap;

/// What is known about one patient that may appear in their notes.
#[derive(Debug, Clone, Default)]
pub struct KnownIds {
    pub values: Vec<(PhiKind, String)>,
}

/// The scrubber: patterns plus dictionaries.
pub struct Scrubber {
    patterns: Patterns,
    /// The patterns' rules and then the name rules' (`Names::regexes`) in
    /// one pass over a note, which says the window each rule's matches lie
    /// in: one pass over the text instead of one for each set of rules.
    rule_windows: RuleWindows,
    /// Names and places somewhere in the data, by their first word (a
    /// capitalised word): the words after it, if any, and the kind. A
    /// value of several words is found only whole: "New Orleans" is a
    /// place, "New" alone ("New mailing address") is not.
    words: WordMap<String, Vec<(Vec<String>, PhiKind)>>,
    /// The patient's own identifiers, by patient key, folded (lower case,
    /// no accents) and with a name's parts beside it, ready to look for.
    known: HashMap<String, Vec<(PhiKind, String)>>,
    /// The patient's numbers (phone, SSN, record numbers) as their digits
    /// alone, by patient key: "455-55-0142" is also "455550142" or
    /// "455 55 0142" in a note.
    numbers: HashMap<String, Vec<(PhiKind, String)>>,
    /// The patient's street by its name alone, first word and the words
    /// after it, by patient key: "Fieldstone" of "3 Fieldstone Ln" ("lives
    /// with her daughter on Fieldstone").
    streets: HashMap<String, Vec<(String, Vec<String>)>>,
    /// The learned detector, the rules' second opinion: a span either
    /// finds is removed.
    detector: Option<Arc<Detector>>,
}

impl Default for Scrubber {
    fn default() -> Self {
        Scrubber::new()
    }
}

impl Scrubber {
    pub fn new() -> Scrubber {
        let patterns = Patterns::new();
        let rule_windows = RuleWindows::new(patterns.regexes().chain(Names::builtin().regexes()));
        Scrubber {
            patterns,
            rule_windows,
            words: WordMap::default(),
            known: HashMap::new(),
            numbers: HashMap::new(),
            streets: HashMap::new(),
            detector: None,
        }
    }

    /// Also remove what `detector` finds (`None`: the rules alone).
    pub fn with_detector(mut self, detector: Option<Arc<Detector>>) -> Scrubber {
        self.detector = detector;
        self
    }

    /// Add one patient's identifiers: matched in that patient's notes
    /// case-insensitively (a name also by its parts), and their names and
    /// cities, whole and as written, in every note.
    pub fn add_patient(&mut self, patient_key: &str, ids: KnownIds) {
        for (kind, v) in &ids.values {
            if !matches!(kind, PhiKind::Name | PhiKind::City | PhiKind::Address)
                || v.trim().len() <= 2
            {
                continue;
            }
            // from the first capitalised word: "van der Berg" is found as
            // "Berg", as before a first name it is written; "9 Heron Point"
            // as "Heron Point", the street without its number
            let mut parts = v
                .split_whitespace()
                .skip_while(|w| !w.chars().next().is_some_and(char::is_uppercase));
            let Some(first) = parts.next() else { continue };
            let rest: Vec<String> = parts.map(String::from).collect();
            if *kind == PhiKind::Address && rest.is_empty() {
                // one word ("Broadway") is no address in another note
                continue;
            }
            let phrases = self.words.entry(first.to_string()).or_default();
            if !phrases.iter().any(|(r, _)| *r == rest) {
                phrases.push((rest, *kind));
            }
        }
        let numbers: Vec<(PhiKind, String)> = ids
            .values
            .iter()
            .filter(|(k, _)| matches!(k, PhiKind::Phone | PhiKind::Ssn | PhiKind::Mrn))
            .map(|(k, v)| {
                (
                    *k,
                    v.chars().filter(char::is_ascii_digit).collect::<String>(),
                )
            })
            .filter(|(_, d)| d.len() >= 7)
            .collect();
        self.numbers.insert(patient_key.to_string(), numbers);
        let streets = ids
            .values
            .iter()
            .filter(|(k, _)| *k == PhiKind::Address)
            .filter_map(|(_, v)| street_name(v))
            .collect();
        self.streets.insert(patient_key.to_string(), streets);
        // the record's "Tomás" is the note's "Tomas" or "TOMAS"; a name is
        // also found by its parts (the given name alone, one half of a
        // double surname)
        let mut folded = Vec::with_capacity(ids.values.len());
        for (kind, v) in ids.values {
            let v = fold_lower(&v);
            if kind == PhiKind::Name {
                for part in v.split([' ', '-']).filter(|p| p.len() > 2 && *p != v) {
                    folded.push((kind, part.to_string()));
                }
            }
            folded.push((kind, v));
        }
        // as `find_word_bounded` looks for them, once a patient, not once a note
        for (_, v) in &mut folded {
            *v = v.trim().to_string();
        }
        folded.retain(|(_, v)| v.len() >= 2);
        // by first byte, as `find_word_bounded` reads them (stable: equal
        // spans keep the kind of the first)
        folded.sort_by_key(|(_, v)| v.as_bytes()[0]);
        self.known.insert(patient_key.to_string(), folded);
    }

    /// The PHI spans found in `text` (a note of `patient_key`), merged.
    pub fn find(&self, patient_key: &str, text: &str) -> Vec<Found> {
        let mut found = Vec::new();
        let mut windows = Vec::new();
        self.rule_windows.find(text, &mut windows);
        let (patterns, names) = windows.split_at(self.patterns.rule_count());
        self.patterns.find_within(text, patterns, &mut found);
        Names::builtin().find_within(text, names, &mut found);
        // the names the rules found, each looked for again below (not the
        // detector's: its guesses found again would only repeat its false
        // alarms, "Triage", "Eliquis"; nor the patient's, which are
        // looked for everywhere already)
        let mut names: Vec<Found> = found
            .iter()
            .filter(|f| f.kind == PhiKind::Name)
            .copied()
            .collect();
        if let Some(d) = &self.detector {
            d.find(text, &mut found);
        }
        if let Some(ids) = self.known.get(patient_key) {
            let from = found.len();
            if text.is_ascii() {
                // folding keeps every offset
                find_word_bounded(&text.to_ascii_lowercase(), ids, &mut found);
            } else {
                let (folded, at) = fold_with_offsets(text);
                find_word_bounded(&folded, ids, &mut found);
                for f in &mut found[from..] {
                    f.start = at[f.start];
                    f.end = at[f.end];
                }
            }
        }
        if let Some(numbers) = self.numbers.get(patient_key).filter(|n| !n.is_empty()) {
            find_numbers(text, numbers, &mut found);
        }
        let streets = self.streets.get(patient_key).map_or(&[][..], Vec::as_slice);
        let capitalised = words(text);
        for &(start, word) in &capitalised {
            for (rest, kind) in self.words.get(word).into_iter().flatten() {
                if let Some(end) =
                    phrase_end(text, start + word.len(), rest.iter().map(String::as_str))
                {
                    found.push(Found {
                        start,
                        end,
                        kind: *kind,
                    });
                }
            }
            // the street's name alone is a word as often as a street
            // ("Main", "Church", "Park") where a sentence begins
            for (first, rest) in streets {
                if first != word || !mid_sentence(text, start) {
                    continue;
                }
                if let Some(end) =
                    phrase_end(text, start + word.len(), rest.iter().map(String::as_str))
                {
                    found.push(Found {
                        start,
                        end,
                        kind: PhiKind::Address,
                    });
                }
            }
        }
        // every street as its rule found it, before a longer name over it
        // takes its kind in the merge
        address_parts::extend(text, &mut found);
        let mut found = merge(found);
        let before = found.len();
        after_spans(text, &mut found);
        names.extend(found[before..].iter().filter(|f| f.kind == PhiKind::Name));
        let again = names_again(text, &capitalised, &names, &found[..before]);
        found.extend(again);
        let short = super::dates::short_dates(text, &found[..before]);
        found.extend(short);
        let streets = streets_again(text, &found[..before]);
        found.extend(streets);
        let whole = whole_names(text, &names, &found[..before]);
        let initials = initials_again(text, &capitalised, &whole, &found[..before]);
        found.extend(initials);
        if found.len() > before {
            found = merge(found);
        }
        found
    }

    /// Replace every span with its tag.
    pub fn scrub(&self, patient_key: &str, text: &str) -> (String, Vec<Found>) {
        let found = self.find(patient_key, text);
        (apply(text, &found), found)
    }
}

/// The name of the street of an address line, without its house number,
/// compass point, type or unit: "Fieldstone" of "3 Fieldstone Ln", "Saint
/// Andrews" of "18 N Saint Andrews Rd, Apt 2". `None` where that is one
/// word of fewer than four letters ("12 Oak St") or a word that is no
/// name, which a note writes as a word.
fn street_name(address: &str) -> Option<(String, Vec<String>)> {
    let line = address.split(',').next().unwrap_or_default();
    let capitalised = |w: &&str| w.chars().next().is_some_and(char::is_uppercase);
    let direction = |w: &&str| {
        matches!(
            w.trim_end_matches('.'),
            "N" | "S" | "E" | "W" | "NE" | "NW" | "SE" | "SW" | "North" | "South" | "East" | "West"
        )
    };
    let mut words: Vec<&str> = line
        .split_whitespace()
        .skip_while(|w| !capitalised(w) || direction(w))
        .take_while(capitalised)
        .collect();
    // the name ends before the last type ("Brook Hollow Rd Apt 2"); a
    // word that can be a type before it is part of the name ("Brook")
    if let Some(at) = words
        .iter()
        .rposition(|w| is_street_type(w))
        .filter(|&at| at > 0)
    {
        words.truncate(at);
    }
    let (first, rest) = words.split_first()?;
    if rest.is_empty() && (first.chars().count() < 4 || !Names::builtin().may_be_name(first)) {
        return None;
    }
    Some((
        first.to_string(),
        rest.iter().map(|w| w.to_string()).collect(),
    ))
}

/// A name found once is a name wherever the note writes it again: a
/// nickname after the patient's name and then alone ("Dorothy
/// HARTLEY-MOSS (\"Dot\")" … "Dot in chair, chatty"), the nurse who signs
/// a row of a table and then every row. Each of `names` whose words
/// all begin with a capital is looked for, as it is written, at each of
/// the note's capitalised `words`. Returns where it is found outside the
/// spans of `merged` (sorted, apart), which hold it where it was found.
fn names_again(
    text: &str,
    words: &[(usize, &str)],
    names: &[Found],
    merged: &[Found],
) -> Vec<Found> {
    // each name by its first two bytes: a capitalised word that begins
    // otherwise (nearly every one) is compared with no name's rest
    let two = |s: &str| {
        s.as_bytes()
            .get(..2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
    };
    let names: Vec<(u16, &str)> = names
        .iter()
        .filter_map(|f| {
            let name = &text[f.start..f.end];
            Some((two(name)?, name))
        })
        .collect();
    let mut again = Vec::new();
    for &(start, word) in words {
        let Some(begins) = two(word) else { continue };
        for &(_, name) in names.iter().filter(|(b, _)| *b == begins) {
            let capitalised = || {
                name.split([' ', '\t'])
                    .filter(|w| !w.is_empty())
                    .all(|w| w.chars().next().is_some_and(char::is_uppercase))
            };
            let Some(end) = written_again(text, start, name).filter(|_| capitalised()) else {
                continue;
            };
            if outside(merged, start, end) {
                again.push(Found {
                    start,
                    end,
                    kind: PhiKind::Name,
                });
            }
        }
    }
    again
}

/// The names the rules found (`names`), whole as merged (`merged`,
/// sorted, apart: "Maeve" and "J. Donnelly" are one name) and with a name
/// one space after ("Abdirahman" "Farah"), each once: the patient's is
/// found again and again. A merged name the rules have no part of is the
/// detector's guess alone, and left out.
fn whole_names<'t>(text: &'t str, names: &[Found], merged: &[Found]) -> Vec<&'t str> {
    let mut starts: Vec<usize> = names.iter().map(|f| f.start).collect();
    starts.sort_unstable();
    let by_rule = |f: &Found| {
        let from = starts.partition_point(|&s| s < f.start);
        starts.get(from).is_some_and(|&s| s < f.end)
    };
    let mut whole: Vec<&str> = Vec::new();
    // the name being read: its start, its end, whether the rules found a part
    let mut reading: Option<(usize, usize, bool)> = None;
    let spans = merged.iter().filter(|f| f.kind == PhiKind::Name);
    for f in spans.map(Some).chain([None]) {
        match (reading, f) {
            (Some((start, end, ruled)), Some(f)) if text.get(end..f.start) == Some(" ") => {
                reading = Some((start, f.end, ruled || by_rule(f)));
                continue;
            }
            (Some((start, end, true)), _) => {
                let name = &text[start..end];
                if !whole.contains(&name) {
                    whole.push(name);
                }
            }
            _ => {}
        }
        reading = f.map(|f| (f.start, f.end, by_rule(f)));
    }
    whole
}

/// A name found once, by its initials: the nurse who signs a row or a
/// line with them ("B. Whitfield" … "| BW |", "- DW"), the hospital a
/// note names whole and then short ("Cork University Hospital" … "meet at
/// CUH"). Initials of three letters or more are looked for at every word
/// in capitals; two letters are an abbreviation as often ("MI", "PE"),
/// so only where a signature stands: after a dash, a bar or a slash, or
/// before the line's end, a bar, a slash, a closing bracket or a quote.
fn initials_again(
    text: &str,
    words: &[(usize, &str)],
    names: &[&str],
    merged: &[Found],
) -> Vec<Found> {
    let mut again = Vec::new();
    // the words that may be initials first: most notes have none
    let mut candidates = words
        .iter()
        .filter(|(_, w)| (2..=5).contains(&w.len()) && w.as_bytes()[1].is_ascii_uppercase())
        .peekable();
    if candidates.peek().is_none() {
        return again;
    }
    let initials: Vec<u64> = names.iter().filter_map(|name| initials(name)).collect();
    if initials.is_empty() {
        return again;
    }
    for &(start, word) in candidates {
        let end = start + word.len();
        if !initials.contains(&packed(word)) {
            continue;
        }
        let before = text[..start].trim_end_matches([' ', '\t']);
        let after = text[end..].trim_start_matches([' ', '\t']);
        // a credential after a name ("Samuel Osei, MD") signs nothing
        let signed = || {
            !before.ends_with(',')
                && (before.ends_with(['-', '–', '—', '|', '/'])
                    || after.is_empty()
                    || after.starts_with(['\n', '\r', '|', '/', ')', '"', ']']))
        };
        // "CHR no. CHR-MO-2611", "LLTH/26/118420": a number's label
        let labels_a_number = || {
            let rest = after.trim_start_matches(['-', '/', '#']);
            rest.starts_with(|c: char| c.is_ascii_digit())
                || ["no.", "no:", "No.", "No:", "number", "#"]
                    .iter()
                    .any(|l| after.starts_with(l))
        };
        if (word.len() > 2 || signed()) && !labels_a_number() && outside(merged, start, end) {
            again.push(Found {
                start,
                end,
                kind: PhiKind::Name,
            });
        }
    }
    again
}

/// The initials of a name of two words or more, in capitals, `packed`:
/// "BW" of "B. Whitfield" and "Bonnie Whitfield", "HCSO" of "Houston
/// County Sheriff's Office" (small words, "of", "del", are passed over).
/// `None` where a word begins otherwise (a digit, a letter that is not
/// ASCII) or there are more than eight.
fn initials(name: &str) -> Option<u64> {
    let (mut key, mut letters, mut word_start) = (0u64, 0, true);
    for &b in name.as_bytes() {
        if matches!(b, b' ' | b'\t' | b'\n' | b'.') {
            word_start = true;
            continue;
        }
        if !std::mem::take(&mut word_start) {
            continue;
        }
        if b.is_ascii_uppercase() && letters < 8 {
            key = key << 8 | u64::from(b);
            letters += 1;
        } else if !(b.is_ascii_lowercase() || b == b'&') {
            return None;
        }
    }
    (letters >= 2).then_some(key)
}

/// A word of eight bytes at most as one number, a byte at a time, to
/// compare with `initials` without a string.
fn packed(word: &str) -> u64 {
    word.bytes().fold(0, |key, b| key << 8 | u64::from(b))
}

/// Whether `start..end` reaches outside the spans of `merged` (sorted,
/// apart): no span that begins at or before it holds it whole.
fn outside(merged: &[Found], start: usize, end: usize) -> bool {
    let before = merged.partition_point(|f| f.start <= start);
    before == 0 || merged[before - 1].end < end
}

/// Where `name` ends if the text at `at` writes it again: its words in
/// order, spaces or tabs between them (as many as may be), and no letter
/// after the last ("Dot" is not "Dotted").
fn written_again(text: &str, at: usize, name: &str) -> Option<usize> {
    let mut words = name.split([' ', '\t']).filter(|w| !w.is_empty());
    let first = words.next()?;
    if !text[at..].starts_with(first) {
        return None;
    }
    phrase_end(text, at + first.len(), words)
}

/// Whether the word at `at` is inside a sentence: the text before it on
/// its line ends in a word, a comma or a bracket, not a full stop, a colon
/// or the line's start.
fn mid_sentence(text: &str, at: usize) -> bool {
    let before = text[..at].trim_end_matches([' ', '\t']);
    before
        .chars()
        .next_back()
        .is_some_and(|c| c.is_alphanumeric() || matches!(c, ',' | ';' | '(' | '&' | '/'))
}

/// Every run of digits in `text` (groups of digits one space, hyphen,
/// period or slash apart, or in brackets) whose digits are one of
/// `numbers`'.
fn find_numbers(text: &str, numbers: &[(PhiKind, String)], out: &mut Vec<Found>) {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() || (i > 0 && bytes[i - 1].is_ascii_alphanumeric()) {
            i += 1;
            continue;
        }
        // "(843) 555-0117" from its bracket
        let start = if i > 0 && bytes[i - 1] == b'(' {
            i - 1
        } else {
            i
        };
        let first = i;
        // the digits, on the stack: no number of a record is longer
        let mut digits = [0u8; 24];
        let mut n = 0;
        let mut end = i;
        while i < bytes.len() {
            let b = bytes[i];
            if b.is_ascii_digit() {
                if let Some(d) = digits.get_mut(n) {
                    *d = b;
                }
                n += 1;
                i += 1;
                end = i;
            } else if matches!(b, b' ' | b'-' | b'.' | b'/' | b'(' | b')')
                && bytes.get(i + 1).is_some_and(u8::is_ascii_digit)
            {
                i += 1;
            } else {
                break;
            }
        }
        let bounded = bytes.get(end).is_none_or(|b| !b.is_ascii_alphanumeric());
        let digits = &digits[..n.min(digits.len())];
        if let Some((kind, _)) = numbers
            .iter()
            .find(|(_, d)| n >= 7 && d.as_bytes() == digits)
            .filter(|_| bounded)
        {
            out.push(Found {
                start,
                end,
                kind: *kind,
            });
        }
        i = i.max(first + 1);
    }
}

/// What a found span says of the words after it: a street address's or
/// an organisation's or a person's town ("18 Birch Hollow Rd, Keene", or
/// on the next line of an address; "Caddo Gap Funeral Home, Glenwood,",
/// "Dr Der Sarkissian, Aubagne);"), a person's age ("Henrietta (90)",
/// "Opal (ninety-one, ...", "Kees, 93, still lives ...", "Archuleta, SCN,
/// 93,", "Mrs Ibarra is 91 and ...", "Gwen (\"Gwennie\"), 97,"),
/// the age a date of birth makes ("DOB 12/03/1931 (95)"), an officer's
/// number ("Ofc. Cassidy Lemoine #2217"), the name they go by
/// ("Clarence McIlwraith (\"Clarrie\")", "Teresa (also \"Flora\")"),
/// another age after an age ("95 (96 in June)") and a phone's extension;
/// then a postcode after a town, a name or a street where no state stands
/// between ("South Burlington 05403"), the town and the street before a
/// postcode, on its line or as a letter's block writes them, and the
/// quarter of a town after a street or its postcode ("Flagstaff 86004
/// (Sunnyside)", "in Barelas").
/// Appends to `found` (merged, in order).
fn after_spans(text: &str, found: &mut Vec<Found>) {
    /// The rules, each read at a span's end.
    struct After {
        town: Regex,
        age: Regex,
        nickname: Regex,
        other_name: Regex,
        extension: Regex,
        another_age: Regex,
        zip: Regex,
        before_zip: Regex,
        quarter: Regex,
        badge: Regex,
        block: Regex,
        postcode_town: Regex,
    }
    static RULES: OnceLock<Option<After>> = OnceLock::new();
    let Some(After {
        town,
        age,
        nickname,
        other_name,
        extension,
        another_age,
        zip,
        before_zip,
        quarter,
        badge,
        block,
        postcode_town,
    }) = RULES
        .get_or_init(|| {
            let town = compile(
                r"^\.?(?:,[ \t]*(?:\r?\n[ \t]*)?|[ \t]*\r?\n[ \t]*)((?:Mt\.?[ \t]|St\.?[ \t])?\p{Lu}\p{Ll}+(?:[ -]\p{Lu}\p{Ll}+){0,2})(?:,?[ \t]+(?:[A-Z]{2,3}(?-u:\b)|\d{4,5}|[A-Z]{1,2}\d)|,[ \t]*(?:\p{L}|\(?\+?\d)|,?[ \t]*(?:\r?\n|$|[.;)])|[ \t]+\(|[ \t]+[—–-][ \t])",
            )?;
            let age = compile(&format!(
                r#"^["”’']?\)?(?:[ \t]?\(({OLD})[,;)]|[ \t]+({OLD})[ \t]+\(|(?:,[ \t]*[A-Z]{{2,5}})?,[ \t]*(?:\r?\n[ \t]*)?({OLD})(?:,|[ \t]*[;)]|[ \t]+\(|[ \t]*\r?(?m:$)|[ \t]+(?:years?|yrs?|y/?o)(?-u:\b))|,?[ \t]+(?:is|was|aged?|would[ \t]+be|will[ \t]+be|turns|turned)[ \t]+({OLD})(?:[,;)]|\.(?:\s|$)|[ \t]+[—–-][ \t]|[ \t]+(?:and|at|in|on|with|but|when|now|today|years?|yrs?)(?-u:\b)|\s*$))"#,
            ))?;
            let nickname = compile(
                r#"^\.?[ \t]?(?:\((?:(?i:also|aka|a\.k\.a\.|called|known as|goes by)[ \t]+)?)?["“'‘](\p{Lu}[\p{L}'’.-]{1,20}(?:[ \t]\p{Lu}[\p{L}'’.-]{0,20})?)["”'’]"#,
            )?;
            // a town's name in another language, in brackets after it
            // ("born in Znojmo (Znaim)", "Bautzen (Sorbian: Budyšin)")
            let other_name = compile(
                r"^[ \t]\((?:\p{Lu}\p{Ll}+:[ \t]*)?(\p{Lu}\p{Ll}+(?:[ -]\p{Lu}\p{Ll}+){0,2})\)",
            )?;
            let extension = compile(r"^,?[ \t]*(?i:x|ext\.?|extn\.?|extension)[ \t]*\d{1,5}\b")?;
            // the age it will be, another guess, or another person's age
            // after an age: "95 (96 in June)", "99 - 100 in March", "91 o
            // 92", "93 or 94", "two women aged 92 and 91,"
            let another_age = compile(&format!(
                r#"^[ \t]*(?:\(|[-–—][ \t]*|(?:or|o|and|y|e|und|en|et)[ \t]+)({OLD})(?:\)|["”]|[ \t]*[,;.]|[ \t]+(?:in|on|next|this|by|per)\b|[ \t]*(?m:$))"#
            ))?;
            // a postcode after its town where no state stands between
            // ("South Burlington 05403, Rm 22", "in Marseille (13012);",
            // "American Fork\n84003)"; after a town only, four digits, as
            // Australia and New Zealand write them, never a year: "Gore
            // 9710,"), or after a street where no town does ("Camí de la
            // Mar 12, pta. 3, 46120,", "Allégatan 41 B, 503 32)")
            let zip = compile(
                r"^,?(?:[ \t]+|[ \t]*\r?\n[ \t]*)\(?(?:(\d{5}(?:-\d{4})?|\d{3}[ \t]\d{2})|([03-9]\d{3}|1[0-8]\d\d|2[1-9]\d\d))(?:\)|[ \t]*[,.;:(]|[ \t]*\r?(?m:$))",
            )?;
            // on the line before a postcode, its town after a comma, a
            // state's or a province's code between or none ("Croesnewydd
            // Road, Wrexham LL13 7TD"), and the street before the town where
            // the street rules miss its shape (a highway's number, no street
            // word, a small word inside, capitals: "79-01 Broadway, Elmhurst
            // NY 11373", "2000 Circle of Hope Dr, Rm 4410, Salt Lake City, UT
            // 84112", "4417 W 130TH ST, CLEVELAND OH 44135", "#2 - 310
            // Idylwyld Dr N, Saskatoon SK S7L 0Z2"). Read only on the line
            // before a postcode a rule found, never on other text; Idaho's
            // code is left out, as "Member ID 12345" is a card's number far
            // more often than a town's ZIP code.
            let before_zip = compile(&format!(
                concat!(
                    r"(?:(?:^|[,:(][ \t]*|[ \t]{{2,}}|(?-u:\b)(?:at|to)[ \t]+)",
                    r"((?:#[ \t]?\d{{1,4}}[ \t]*[-–][ \t]*)?\d{{1,5}}(?:-\d{{1,4}})?[A-Za-z]?(?:[ \t]+(?:[\p{{Lu}}\d][\p{{L}}\d'’.-]*|of|de|del|la|the)){{1,6}}",
                    r"(?:,[ \t]*(?i:rm|room|suite|ste|unit|apt|fl|floor|bldg)\.?[ \t]*#?[ \t]*\d{{1,5}}[A-Za-z]?)?))?",
                    r",[ \t]*(\p{{Lu}}[\p{{L}}'’.-]*(?:[ -]\p{{Lu}}[\p{{L}}'’.-]*){{0,2}}),?[ \t]+",
                    r"(?:(?:{}|AB|BC|MB|NB|NL|NS|NU|ON|PE|QC|SK|YT|NSW|VIC|QLD|TAS|ACT)[ \t]+)?$",
                ),
                STATES.replace("|ID|", "|")
            ))?;
            // the quarter of a town an address is in, in brackets after
            // it or its postcode ("Flagstaff 86004 (Sunnyside)", "Fresno
            // 93728 (back unit, Tower District)", "int. 9 (San
            // Salvario)") or after "in" ("2207 Arno St SE in Barelas")
            let quarter = compile(
                r"^\)?,?[ \t]*(?:\((?:[^()\n,]{1,20},[ \t]*)?|\s*in[ \t]+)(\p{Lu}\p{Ll}+(?:[ -]\p{Lu}\p{Ll}+){0,2})(?:\)|[ \t]*[,;.(]|[ \t]*\r?(?m:$))",
            )?;
            // an officer's or a worker's number after their name
            let badge = compile(r"^[ \t]#[ \t]?(\d{2,6})\b")?;
            // an address as a letter's block writes it, a line each: the
            // town alone on the line before a postcode alone on its own, and
            // the street on the line before the town
            let block = compile(concat!(
                r"(?m)(?:^[ \t]*(\d{1,5}[A-Za-z]?(?:[ \t]+[\p{Lu}\d][\p{L}\d'’.-]*){1,5})[ \t]*,?[ \t]*\r?\n)?",
                r"^[ \t]*(\p{Lu}[\p{L}'’.-]*(?:[ -]\p{Lu}[\p{L}'’.-]*){0,2})[ \t]*,?[ \t]*\r?\n[ \t]*\z",
            ))?;
            // a town after its four-digit postcode after a street, as
            // Switzerland, Austria, Belgium and Denmark write them ("7 Chemin
            // des Vignes, 1260 Nyon"; the street's rule may have taken the
            // postcode: "Lindenweg 12, 3012"); a town only, never a word
            // after a number without a street before it ("5000 Units")
            let postcode_town = compile(
                r"^(?:,[ \t]*(?:[A-Z]{1,2}-)?(\d{4})[ \t]+|[ \t]+)(\p{Lu}\p{Ll}+(?:[ -]\p{Lu}\p{Ll}+){0,2})(?:[ \t]*(?:[,.;)(]|\r?\n|$))",
            )?;
            Some(After {
                town,
                age,
                nickname,
                other_name,
                extension,
                another_age,
                zip,
                before_zip,
                quarter,
                badge,
                block,
                postcode_town,
            })
        })
        .as_ref()
    else {
        return;
    };
    let mut added = Vec::new();
    for f in found.iter() {
        // a phone's extension, whatever the number's country ("+92 42
        // 3555 0187 ext. 12", "04 555 0190 ext. 231"): the phone with it
        if f.kind == PhiKind::Phone {
            if let Some(m) = extension.find(&text[f.end..]) {
                added.push(Found {
                    start: f.start,
                    end: f.end + m.end(),
                    kind: PhiKind::Phone,
                });
            }
            continue;
        }
        // what may follow at all, by its first two bytes: most names and
        // addresses are followed by neither an age nor a town
        let next = text.as_bytes().get(f.end..).unwrap_or_default();
        let first = next.first().copied().unwrap_or(0);
        let second = next.get(1).copied().unwrap_or(0);
        let (re, kind) = match f.kind {
            PhiKind::Address if matches!(first, b',' | b'\n' | b'\r' | b' ' | b'\t') => {
                (town, PhiKind::City)
            }
            // an organisation's town after a comma ("Caddo Gap Funeral
            // Home, Glenwood, contract # ...")
            PhiKind::Name
                if matches!(first, b',' | b'.')
                    && Names::builtin().is_organisation(&text[f.start..f.end]) =>
            {
                (town, PhiKind::City)
            }
            // a person's town after a comma, where the town ends a bracket
            // or a clause ("cardiologist Dr Hovsep Der Sarkissian,
            // Aubagne);"): read below; a capital and a small letter after
            // the comma, where an age is a figure ("Opal Meeks, 96, lives")
            // and may follow a religious order's letters ("Archuleta,
            // SCN, 93,")
            PhiKind::Name
                if first == b','
                    && second == b' '
                    && next
                        .get(2)
                        .is_some_and(|&b| b.is_ascii_uppercase() || b >= 0x80)
                    && next
                        .get(3)
                        .is_some_and(|&b| b.is_ascii_lowercase() || b >= 0x80) =>
            {
                (town, PhiKind::City)
            }
            // an officer's number after their name ("Ofc. Cassidy Lemoine
            // #2217", "P.O. Jerome Banks #1142")
            PhiKind::Name if first == b' ' && second == b'#' => (badge, PhiKind::Mrn),
            // a nickname in brackets or in quotes, after an initial's
            // period too ("McANDREW, FRANCIS X. (\"Frank\")", "THIBODEAU,
            // Dale F. \"Tink\"", "WOLLMAN, BABY GIRL \"LYDIA\"")
            PhiKind::Name
                if next
                    .iter()
                    .take(3)
                    .any(|&b| matches!(b, b'(' | b'"' | b'\'' | 0xE2))
                    && nickname.is_match(&text[f.end..]) =>
            {
                (nickname, PhiKind::Name)
            }
            PhiKind::Name
                if matches!(first, b' ' | b'(' | b',' | b'\t')
                    && matches!(
                        second,
                        b'(' | b'i' | b'w' | b'a' | b't' | b' ' | b'\n' | b'\r' | b'0'..=b'9'
                    )
                    // a nickname's closing quote and bracket ("Gwen"), 97,
                    || matches!(first, b'"' | b'\'' | b')' | 0xE2) =>
            {
                (age, PhiKind::Age)
            }
            PhiKind::Age if matches!(first, b' ' | b'(' | b'-' | 0xE2) => {
                (another_age, PhiKind::Age)
            }
            PhiKind::City if first == b' ' && second == b'(' => (other_name, PhiKind::City),
            // a date of birth, then the age it makes: "DOB 12/03/1931 (95)"
            PhiKind::Date if first == b'(' || (first == b' ' && second == b'(') => {
                (age, PhiKind::Age)
            }
            _ => continue,
        };
        // a town may follow a town ("Lynnwood, Pretoria"); a street may
        // end in the comma before its town ("201 3rd Ave S, Virginia 55792")
        let mut at = f.end;
        if f.kind == PhiKind::Address && text[..at].ends_with(',') {
            at -= 1;
        }
        for _ in 0..2 {
            let Some(m) = re
                .captures(&text[at..])
                .and_then(|c| c.iter().skip(1).flatten().next())
                // a county before its name ("Ballyhale, Co. Kilkenny") is no
                // town, nor a department or an abbreviation after an
                // organisation ("Mercy Hospital, Cardiology", "Pharmacy, Rx")
                .filter(|m| {
                    kind != PhiKind::City
                        || !matches!(m.as_str(), "Co" | "County")
                            // nor a title on the next line ("Unit 1,⏎Mr. De Jong")
                            && !is_title(m.as_str())
                            && (f.kind != PhiKind::Name
                                || m.len() >= 4 && Names::builtin().may_be_town(m.as_str()))
                })
                // a person's town ends a bracket or a clause (a line's end
                // after a name is a signature's title: "Consultant
                // Ophthalmologist"), and is no weekday, month or language
                // ("Dr Sarkissian, Tuesday;")
                .filter(|m| {
                    kind != PhiKind::City
                        || f.kind != PhiKind::Name
                        || Names::builtin().is_organisation(&text[f.start..f.end])
                        || text[at + m.end()..]
                            .trim_start_matches([' ', '\t'])
                            .starts_with([')', ';'])
                            && !Names::builtin().is_named_not_town(m.as_str())
                })
                // a town's other name is no country, language or state
                // ("Dublin (Ireland)", "Cork (Irish)", "Portland (Oregon)")
                .filter(|m| {
                    let other = m.as_str();
                    f.kind != PhiKind::City
                        || Names::builtin().may_be_town(other)
                            && !Names::builtin().is_named_not_town(other)
                            && !Names::is_state_name(other)
                })
                // a quoted word after a name without brackets is a
                // nickname only if it may be a name ("Mr. Okafor \"Bell\""
                // has none)
                .filter(|m| {
                    kind != PhiKind::Name
                        || text[at..at + m.start()].contains('(')
                        || m.as_str()
                            .split(' ')
                            .all(|w| Names::builtin().may_be_name(w))
                })
            else {
                break;
            };
            added.push(Found {
                start: at + m.start(),
                end: at + m.end(),
                kind,
            });
            if kind != PhiKind::City {
                break;
            }
            at += m.end();
        }
    }
    found.extend(added);
    let mut towns: Vec<Found> = Vec::new();
    for f in found.iter().filter(|f| f.kind == PhiKind::Address) {
        let Some(c) = postcode_town.captures(&text[f.end..]) else {
            continue;
        };
        // where no postcode follows the street, the street's span must
        // end in it
        let street = &text.as_bytes()[f.start..f.end];
        let ends_in_postcode = street.len() > 6
            && street[street.len() - 4..].iter().all(u8::is_ascii_digit)
            && street[..street.len() - 4].ends_with(b", ");
        let Some(town) = c.get(2).filter(|t| {
            let t = t.as_str();
            (c.get(1).is_some() || ends_in_postcode)
                && Names::builtin().may_be_town(t)
                && !is_title(t)
                && !Names::builtin().is_named_not_town(t)
        }) else {
            continue;
        };
        for (m, kind) in [(c.get(1), PhiKind::Zip), (Some(town), PhiKind::City)] {
            if let Some(m) = m {
                towns.push(Found {
                    start: f.end + m.start(),
                    end: f.end + m.end(),
                    kind,
                });
            }
        }
    }
    found.extend(towns);
    contact_towns(text, found);
    // the towns the rules above found too, those the detector took for a
    // name ("318 S Lefevre St,\n Medical Lake 99022"), and streets
    let zips: Vec<Found> = found
        .iter()
        .filter(|f| matches!(f.kind, PhiKind::City | PhiKind::Name | PhiKind::Address))
        .filter_map(|f| {
            let c = zip.captures(&text[f.end..])?;
            let m = c.get(1).or(c.get(2).filter(|_| f.kind == PhiKind::City))?;
            Some(Found {
                start: f.end + m.start(),
                end: f.end + m.end(),
                kind: PhiKind::Zip,
            })
        })
        .collect();
    found.extend(zips);
    // the town and the street before a postcode: on its line after a
    // comma (`before_zip`), or, where it stands alone on its line, on the
    // lines above it as a letter's address block writes them (`block`)
    let mut before: Vec<Found> = Vec::new();
    for f in found.iter().filter(|f| f.kind == PhiKind::Zip) {
        let line = text[..f.start].rfind('\n').map_or(0, |i| i + 1);
        let alone = text[line..f.start].trim().is_empty();
        let (from, c) = if alone {
            if line == 0 {
                continue;
            }
            let from = next_boundary(text, f.start.saturating_sub(120));
            let Some(c) = block.captures(&text[from..f.start]) else {
                continue;
            };
            (from, c)
        } else {
            // the lazy DFA finds where the rule holds; the groups, which
            // cost ten times as much to read, are read only where the match
            // has a letter or digit the other rules left (they most often
            // read the line whole: "lives at 8222 School Rd, New York, NY
            // 10001")
            let Some(m) = before_zip.find(&text[line..f.start]) else {
                continue;
            };
            if found_already(text, line + m.start(), line + m.end(), found) {
                continue;
            }
            let Some(c) = before_zip.captures(&text[line..f.start]) else {
                continue;
            };
            (line, c)
        };
        // no state's code alone ("Bronx, NY 10451" where another rule
        // found the town), no word of the note, no title; above a postcode
        // alone, no town without a street above it unless the gazetteer
        // lists it, and no street without its town (a line there may be
        // anything else: "Review")
        let town = c.get(2).filter(|t| {
            let t = t.as_str();
            (t.len() > 3 || t.chars().any(char::is_lowercase))
                && Names::builtin().may_be_town(t)
                && !is_title(t)
                && (!alone || c.get(1).is_some() || Names::builtin().is_listed_town(t))
        });
        if alone && town.is_none() {
            continue;
        }
        for (m, kind) in [(c.get(1), PhiKind::Address), (town, PhiKind::City)] {
            if let Some(m) = m {
                before.push(Found {
                    start: from + m.start(),
                    end: from + m.end(),
                    kind,
                });
            }
        }
    }
    found.extend(before);
    let quarters: Vec<Found> = found
        .iter()
        .filter(|f| matches!(f.kind, PhiKind::Address | PhiKind::Zip))
        .filter_map(|f| {
            let m = quarter.captures(&text[f.end..])?.get(1)?;
            // no month, no organisation's or service's word ("in March",
            // "(Home)", "(Cell)")
            let q = m.as_str();
            (Names::builtin().may_be_town(q) && !is_month(q) && !PHONE_LABELS.contains(&q)).then(
                || Found {
                    start: f.end + m.start(),
                    end: f.end + m.end(),
                    kind: PhiKind::Address,
                },
            )
        })
        .collect();
    // a quarter is its address's, where the rule of a town after "in" took
    // it for a town too ("2207 Arno St SE in Barelas")
    for q in quarters {
        let town = found
            .iter_mut()
            .find(|f| f.kind == PhiKind::City && (f.start, f.end) == (q.start, q.end));
        match town {
            Some(town) => town.kind = PhiKind::Address,
            None => found.push(q),
        }
    }
    town_particles(text, found);
}

/// A town's name that goes on past a small word ("Frankfurt am Main",
/// "Alcalá de Henares", "Rothenburg ob der Tauber", "Moniga del Garda",
/// "Saint-Martin-de-Ré", "Villeneuve-d'Ascq"): the rules and the detector
/// find its first words, where a town's capitalised words end; what
/// follows, to the next capitalised word, is added. Between hyphens any
/// small word ("-sur-", "-en-", "-on-the-"); between spaces only the
/// particles of places in the languages the rules read, so an English
/// sentence's small words never join a town to the word after ("in
/// Boston on Monday", "in Leeds to Bradford"). No weekday, month or
/// language after, no title. A name the detector found goes on past a
/// hyphen only. Appends to `found`.
fn town_particles(text: &str, found: &mut Vec<Found>) {
    static RULE: OnceLock<Option<Regex>> = OnceLock::new();
    let Some(rule) = RULE
        .get_or_init(|| {
            compile(concat!(
                r"^(?:-(?:\p{Ll}{1,5}-){1,3}|-[dl]['’]|[ \t]+",
                r"(?:op|aan|de|del|della|delle|dei|degli|di|da|do|dos|das|upon|ter|ten)",
                r"(?:[ \t]+(?:de|la|las|los|het|el))?[ \t]+",
                r"|[ \t]+(am|an[ \t]+de[rn]|ob[ \t]+der|im|bei)[ \t]+)",
                r"(\p{Lu}\p{Ll}+)",
            ))
        })
        .as_ref()
    else {
        return;
    };
    let mut longer = Vec::new();
    for f in found
        .iter()
        .filter(|f| matches!(f.kind, PhiKind::City | PhiKind::Name))
    {
        let mut end = f.end;
        // a hyphen's chain may go on ("Saint-Martin" "-de-Ré"); twice at
        // most
        for _ in 0..2 {
            let next = text.as_bytes().get(end..end + 2).unwrap_or_default();
            if !matches!(next, [b'-' | b' ' | b'\t', b'a'..=b'z']) {
                break;
            }
            let Some(c) = rule.captures(&text[end..]) else {
                break;
            };
            let word = c.get(2).map_or("", |m| m.as_str());
            // a name goes on only past a hyphen ("Villeneuve-d'Ascq" the
            // detector took for a name): a small word between spaces after
            // a name may be a sentence's; German writes its nouns with a
            // capital, so a German particle joins only a town after its
            // postcode ("60311 Frankfurt am Main", never "in Berlin am
            // Nachmittag")
            if f.kind == PhiKind::Name && next[0] != b'-'
                || c.get(1).is_some() && !after_postcode(text, f.start)
                || is_title(word)
                || Names::builtin().is_named_not_town(word)
            {
                break;
            }
            end += c.get(0).map_or(0, |m| m.end());
        }
        if end > f.end {
            longer.push(Found {
                start: f.start,
                end,
                kind: f.kind,
            });
        }
    }
    found.extend(longer);
}

/// Whether a postcode (digits, then a space) stands right before `at`.
fn after_postcode(text: &str, at: usize) -> bool {
    text[..at]
        .strip_suffix(' ')
        .is_some_and(|before| before.ends_with(|c: char| c.is_ascii_digit()))
}

/// Whether each letter and digit of a street and town before a postcode
/// (but for the "at" or "to" before them and the state's code after them)
/// lies in a street, town or postcode another rule found.
fn found_already(text: &str, start: usize, end: usize, found: &[Found]) -> bool {
    let mut from = start;
    if text[start..end].starts_with("at") || text[start..end].starts_with("to") {
        from += 2;
    }
    let body = text[from..end].trim_end();
    let mut to = from + body.len();
    if let Some(i) = body.rfind([' ', '\t', ',']) {
        let code = &body[i + 1..];
        if (2..=3).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_uppercase()) {
            to = from + i;
        }
    }
    let mut at = from;
    while let Some(c) = text[at..to].chars().next() {
        if !c.is_alphanumeric() {
            at += c.len_utf8();
            continue;
        }
        let covering = found
            .iter()
            .filter(|f| matches!(f.kind, PhiKind::Address | PhiKind::City | PhiKind::Zip))
            .filter(|f| f.start <= at && at < f.end)
            .map(|f| f.end)
            .max();
        match covering {
            Some(end) => at = end.min(to),
            None => return false,
        }
    }
    true
}

/// A person's town where a contact line writes it between their name and
/// their phone ("son Declan O'Donovan, Ballincollig, 086 555 0127",
/// "Huisarts: dr. P. de Vries, Amstelveen, 020-5550199") or after the
/// phone in the name's brackets ("son Roscoe (828-555-0147,
/// Weaverville)"): capitalised words that are no organisation's, no
/// note's word and no phone's label ("Cardiology", "Mobile"). Appends to
/// `found`.
fn contact_towns(text: &str, found: &mut Vec<Found>) {
    static RULES: OnceLock<Option<(Regex, Regex)>> = OnceLock::new();
    let Some((before_phone, after_phone)) = RULES
        .get_or_init(|| {
            let town = r"(\p{Lu}\p{Ll}+(?:[ -]\p{Lu}\p{Ll}+){0,2})";
            Some((
                compile(&format!(r"^,[ \t]+{town},[ \t]*"))?,
                compile(&format!(r"^,[ \t]*{town}\)"))?,
            ))
        })
        .as_ref()
    else {
        return;
    };
    let phones: Vec<usize> = found
        .iter()
        .filter(|f| f.kind == PhiKind::Phone)
        .map(|f| f.start)
        .collect();
    let towns: Vec<Found> = found
        .iter()
        .filter_map(|f| {
            let after = &text[f.end..];
            if !after.starts_with(',') {
                return None;
            }
            let m = match f.kind {
                PhiKind::Name => {
                    let c = before_phone.captures(after)?;
                    // the phone begins where the town's comma ends
                    if !phones.contains(&(f.end + c.get(0)?.end())) {
                        return None;
                    }
                    c.get(1)?
                }
                PhiKind::Phone => after_phone.captures(after)?.get(1)?,
                _ => return None,
            };
            let town = m.as_str();
            (Names::builtin().may_be_town(town) && !PHONE_LABELS.contains(&town)).then(|| Found {
                start: f.end + m.start(),
                end: f.end + m.end(),
                kind: PhiKind::City,
            })
        })
        .collect();
    found.extend(towns);
}

/// The labels a phone carries in brackets or after a comma, which are no
/// towns ("(Cell)", "828-555-0147, Mobile").
const PHONE_LABELS: &[&str] = &[
    "Cell", "Mobile", "Work", "Home", "Fax", "Office", "Main", "Landline", "Pager",
];

/// Whether a capitalised run begins with a month's name ("March 2026").
fn is_month(words: &str) -> bool {
    let first = words.split([' ', '-']).next().unwrap_or_default();
    crate::clinical::iso::MONTHS.contains(&first)
}

/// A street found with its type, written again by its number and name
/// alone ("522 Prescott Ave, 2nd fl" and later "delivered to 522
/// Prescott."): each found street's number and first word, wherever the
/// note has them outside a span.
fn streets_again(text: &str, merged: &[Found]) -> Vec<Found> {
    let mut again = Vec::new();
    for f in merged.iter().filter(|f| f.kind == PhiKind::Address) {
        let street = &text[f.start..f.end];
        let mut parts = street.splitn(3, ' ');
        let (Some(number), Some(name), Some(_)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        let name = name.trim_end_matches([',', '.']);
        if !number.bytes().all(|b| b.is_ascii_digit())
            || !name.chars().next().is_some_and(char::is_uppercase)
            || name.chars().count() < 3
        {
            continue;
        }
        let key_len = number.len() + 1 + name.len();
        let key = &street[..key_len];
        let mut from = 0;
        while let Some(i) = text[from..].find(key) {
            let (start, end) = (from + i, from + i + key_len);
            from = end;
            let bounded = !text[..start].ends_with(|c: char| c.is_alphanumeric())
                && !text[end..].starts_with(|c: char| c.is_alphanumeric());
            if bounded && outside(merged, start, end) {
                again.push(Found {
                    start,
                    end,
                    kind: PhiKind::Address,
                });
            }
        }
    }
    again
}

/// `text` with each span replaced by its tag.
pub fn apply(text: &str, found: &[Found]) -> String {
    apply_with(text, found, |_, _| None)
}

/// `text` with each span replaced by what `replace` makes of it (the span
/// and its text), or by its tag where `replace` gives `None`.
pub fn apply_with(
    text: &str,
    found: &[Found],
    mut replace: impl FnMut(&Found, &str) -> Option<String>,
) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for f in found {
        if f.start < at || f.end > text.len() {
            continue;
        }
        out.push_str(text.get(at..f.start).unwrap_or(""));
        let replaced = text.get(f.start..f.end).and_then(|span| replace(f, span));
        out.push_str(&replaced.unwrap_or_else(|| tag(f.kind)));
        at = f.end;
    }
    out.push_str(text.get(at..).unwrap_or(""));
    out
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}

/// Every word-bounded occurrence of each needle in `hay` (all lower
/// case), in one pass over `hay` rather than one a needle: a needle can
/// only begin where a word may (at the start, or after a byte that is no
/// letter or digit), so only those places are tried, and there only the
/// needles that begin with the byte found. At one place the needles are
/// tried in their order, so equal spans keep the kind of the first.
/// The needles are trimmed, of two bytes or more (`Scrubber::add_patient`
/// keeps them so); a shorter one is passed over.
pub fn find_word_bounded(hay: &str, needles: &[(PhiKind, String)], out: &mut Vec<Found>) {
    let first_byte = |(_, n): &(PhiKind, String)| n.as_bytes().first().copied();
    if needles.is_sorted_by_key(first_byte) {
        return find_sorted(hay, needles, out);
    }
    // (stable: each byte's needles stay in their order)
    let mut sorted = needles.to_vec();
    sorted.sort_by_key(first_byte);
    find_sorted(hay, &sorted, out)
}

/// `find_word_bounded` with the needles sorted by their first byte: at a
/// place only those that begin with its byte are tried.
fn find_sorted(hay: &str, needles: &[(PhiKind, String)], out: &mut Vec<Found>) {
    let mut from = [usize::MAX; 256];
    for (i, (_, n)) in needles.iter().enumerate().rev() {
        if let Some(&b) = n.as_bytes().first() {
            from[usize::from(b)] = i;
        }
    }
    let bytes = hay.as_bytes();
    for start in 0..bytes.len() {
        let first = from[usize::from(bytes[start])];
        if first == usize::MAX || (start > 0 && is_word_byte(bytes[start - 1])) {
            continue;
        }
        // the second byte first: most needles that begin with the byte
        // found are told apart there, without a call to compare the rest
        let second = bytes.get(start + 1).copied();
        for (kind, n) in &needles[first..] {
            let n = n.as_bytes();
            if n.first() != Some(&bytes[start]) {
                break;
            }
            let end = start + n.len();
            if n.len() >= 2
                && second == Some(n[1])
                && bytes[start..].starts_with(n)
                && (end == bytes.len() || !is_word_byte(bytes[end]))
            {
                out.push(Found {
                    start,
                    end,
                    kind: *kind,
                });
            }
        }
    }
}

/// Where a phrase ends whose first word ends at `at`: each of `rest`
/// follows after spaces or tabs, and the last ends a word ("New Yorker"
/// is no "New York"). `None` where the text goes on otherwise.
fn phrase_end<'a>(
    text: &str,
    mut at: usize,
    rest: impl IntoIterator<Item = &'a str>,
) -> Option<usize> {
    for word in rest {
        let after = text[at..].trim_start_matches([' ', '\t']);
        if after.len() == text.len() - at || !after.starts_with(word) {
            return None;
        }
        at = text.len() - after.len() + word.len();
    }
    match text[at..].chars().next() {
        Some(c) if c.is_alphabetic() => None,
        _ => Some(at),
    }
}

/// Alphabetic words starting with a capital, with their byte offsets: the
/// runs of letters, apostrophes and hyphens that begin with a capital.
fn words(text: &str) -> Vec<(usize, &str)> {
    if text.is_ascii() {
        let mut out = Vec::new();
        let bytes = text.as_bytes();
        let part = |c: byte_runs::Classes| c.letters | c.apostrophes | c.hyphens;
        byte_runs::runs(bytes, part, |start, end| {
            if bytes[start].is_ascii_uppercase() {
                out.push((start, &text[start..end]));
            }
        });
        return out;
    }
    char_words(text)
}

/// `words` read a character at a time, for a text that is not all ASCII.
fn char_words(text: &str) -> Vec<(usize, &str)> {
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

impl KindScore {
    /// Every kind's counts added up: recall over all truth spans, precision
    /// over all detections.
    pub fn total<'a>(scores: impl IntoIterator<Item = &'a KindScore>) -> KindScore {
        let mut t = KindScore::default();
        for s in scores {
            t.truth_spans += s.truth_spans;
            t.caught += s.caught;
            t.detected += s.detected;
            t.true_positive += s.true_positive;
        }
        t.recall = ratio(t.caught, t.truth_spans);
        t.precision = ratio(t.true_positive, t.detected);
        t
    }
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
    let mut scorer = Scorer::new(truth.to_vec());
    let mut ids: Vec<&String> = detections.keys().collect();
    ids.sort();
    for id in ids {
        let text = text_of.get(id).map(String::as_str).unwrap_or("");
        scorer.add_note(id, text, &detections[id]);
    }
    scorer.finish()
}

/// Scores notes one at a time as they stream past, holding only the truth
/// spans of the notes not yet seen (never the note texts).
pub struct Scorer {
    spans: HashMap<String, Vec<PhiSpan>>,
    scores: BTreeMap<String, KindScore>,
}

impl Scorer {
    pub fn new(truth: Vec<PhiSpan>) -> Scorer {
        let mut spans: HashMap<String, Vec<PhiSpan>> = HashMap::new();
        for t in truth {
            spans.entry(t.note_id.clone()).or_default().push(t);
        }
        Scorer {
            spans,
            scores: BTreeMap::new(),
        }
    }

    fn kind(&mut self, kind: PhiKind) -> &mut KindScore {
        self.scores
            .entry(super::patterns::kind_name(kind).into())
            .or_default()
    }

    /// Score one note's detections against its truth spans.
    pub fn add_note(&mut self, note_id: &str, text: &str, dets: &[Found]) {
        let spans = self.spans.remove(note_id).unwrap_or_default();
        let text = text.as_bytes();
        for t in &spans {
            let covered = t.end <= text.len()
                && (t.start..t.end).all(|i| {
                    text.get(i).is_some_and(|b| b.is_ascii_whitespace())
                        || dets.iter().any(|d| d.start <= i && i < d.end)
                });
            let s = self.kind(t.kind);
            s.truth_spans += 1;
            s.caught += u64::from(covered);
        }
        for d in dets {
            let hit = spans.iter().any(|t| t.start < d.end && d.start < t.end);
            let s = self.kind(d.kind);
            s.detected += 1;
            s.true_positive += u64::from(hit);
        }
    }

    /// The scores; truth spans of notes never seen count as missed.
    pub fn finish(mut self) -> BTreeMap<String, KindScore> {
        let missed: Vec<PhiKind> = self.spans.values().flatten().map(|t| t.kind).collect();
        for k in missed {
            self.kind(k).truth_spans += 1;
        }
        for s in self.scores.values_mut() {
            s.recall = ratio(s.caught, s.truth_spans);
            s.precision = ratio(s.true_positive, s.detected);
        }
        self.scores
    }
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
    fn capitalised_words_of_an_ascii_text_are_those_of_the_char_by_char_reading() {
        for text in byte_runs::random_texts(b"Za-' .9\nQb") {
            assert_eq!(words(&text), char_words(&text), "{text:?}");
        }
        assert_eq!(
            words("Mrs O'Neil-Ray saw -Ab and 'Cd at Zed"),
            vec![(0, "Mrs"), (4, "O'Neil-Ray"), (34, "Zed")]
        );
    }
    use std::path::Path;

    #[test]
    fn the_total_adds_counts_and_takes_ratios_of_the_sums() {
        let kind = |truth_spans, caught, detected, true_positive| KindScore {
            truth_spans,
            caught,
            detected,
            true_positive,
            ..KindScore::default()
        };
        let t = KindScore::total(&[kind(10, 9, 8, 8), kind(30, 15, 12, 6)]);
        assert_eq!(
            (t.truth_spans, t.caught, t.detected, t.true_positive),
            (40, 24, 20, 14)
        );
        // of the sums, not the mean of each kind's ratio (0.7 recall, 0.75 precision)
        assert_eq!((t.recall, t.precision), (0.6, 0.7));
        let none = KindScore::total(&[]);
        assert_eq!((none.recall, none.precision), (1.0, 1.0));
    }

    #[test]
    fn one_pass_over_both_sets_of_rules_finds_what_each_finds_alone() {
        let s = Scrubber::new();
        let names = Names::builtin();
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/deid-dev8");
        let mut notes: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
            .collect();
        notes.push("Wife Mary called 555-0134 re: MRN 00123; lives at 4 Oak St.".into());
        notes.push(String::new());
        let mut found = 0;
        for text in &notes {
            let mut windows = Vec::new();
            s.rule_windows.find(text, &mut windows);
            let (p, n) = windows.split_at(s.patterns.rule_count());
            let mut one = Vec::new();
            s.patterns.find_within(text, p, &mut one);
            names.find_within(text, n, &mut one);
            let mut each = Vec::new();
            s.patterns.find(text, &mut each);
            names.find(text, &mut each);
            assert_eq!(one, each, "{text}");
            found += one.len();
        }
        assert!(found > 900, "{found}");
    }

    #[test]
    fn a_phones_extension_goes_with_it_whatever_its_country() {
        let s = Scrubber::new();
        for (text, want) in [
            (
                "in error please call +92 42 3555 0187 ext. 12 and destroy",
                "+92 42 3555 0187 ext. 12",
            ),
            (
                "contact Omar, 04 555 0190 ext. 231)",
                "04 555 0190 ext. 231",
            ),
            (
                "office (096) 555 0188, extn 214.",
                "(096) 555 0188, extn 214",
            ),
            // no extension: the phone alone
            ("call 518-555-0147 extra doses", "518-555-0147"),
        ] {
            let phones: Vec<&str> = s
                .find("x", text)
                .iter()
                .filter(|f| f.kind == PhiKind::Phone)
                .map(|f| &text[f.start..f.end])
                .collect();
            assert_eq!(phones, [want], "{text}");
        }
    }

    #[test]
    fn a_name_the_rules_found_once_is_found_wherever_the_note_writes_it() {
        let s = Scrubber::new();
        let text = "Name: Dorothy HARTLEY-MOSS (\"Dot\")   DOB 02/08/1929\n\
                    10:40 Dot in chair, chatty. Dotted line; dot phrase. Typed by: Litia Naivalu RN\n\
                    | dressing done | Litia Naivalu\n| reviewed | Litia  Naivalu's\nLitia Naivalua";
        let names: Vec<&str> = s
            .find("x", text)
            .iter()
            .filter(|f| f.kind == PhiKind::Name)
            .map(|f| &text[f.start..f.end])
            .collect();
        assert_eq!(
            names,
            [
                "Dorothy HARTLEY-MOSS",
                "Dot",
                "Dot",
                "Litia Naivalu",
                "Litia Naivalu",
                "Litia  Naivalu"
            ]
        );
        // a found name's words are written as found: "DOT" and "dot" are
        // not "Dot", "Dotted" and "Naivalua" are other words
        let dot = text.find("Dot\"").unwrap();
        let found = [Found {
            start: dot,
            end: dot + 3,
            kind: PhiKind::Name,
        }];
        // found again where the merged spans do not hold it already
        let again = names_again(text, &words(text), &found, &[]);
        assert_eq!(again.len(), 2);
        assert!(again.iter().all(|f| &text[f.start..f.end] == "Dot"));
        let again = names_again(text, &words(text), &found, &found);
        assert_eq!(again.len(), 1);
        assert!(again[0].start > dot);
        // a name not all in capitals' words (its particles) is left alone
        let text = "Tom van Dijk rang. Later van Dijk called.";
        let found = [Found {
            start: 0,
            end: 12,
            kind: PhiKind::Name,
        }];
        assert!(names_again(text, &words(text), &found, &[]).is_empty());
    }

    #[test]
    fn a_found_name_by_its_initials_where_a_signature_stands() {
        let names_in = |text: &str| -> Vec<String> {
            Scrubber::new()
                .find("x", text)
                .iter()
                .filter(|f| f.kind == PhiKind::Name)
                .map(|f| text[f.start..f.end].to_string())
                .collect()
        };
        let text = "Bereavement coordinator: Bonnie Whitfield\n\
                    | 11/12/2025 | BW | call | Condolence call. |\n\
                    Called daughter 12/3. - BW\n\
                    Seen by Dr. Maria Delgado, MD. Follow-up per MD (phone).\n\
                    Admitted to Southeast Alabama Medical Center; SAMC ED; SAMC no. 4471.";
        let names = names_in(text);
        for expected in ["BW", "SAMC"] {
            assert!(
                names.iter().any(|n| n == expected),
                "{expected} in {names:?}"
            );
        }
        assert_eq!(names.iter().filter(|n| *n == "BW").count(), 2);
        // "SAMC no." labels a number; a credential after a comma and a
        // two-letter abbreviation in a sentence are no signature ("MD"
        // of Maria Delgado)
        assert_eq!(names.iter().filter(|n| *n == "SAMC").count(), 1);
        assert!(!names.iter().any(|n| n == "MD"), "{names:?}");

        assert_eq!(initials("B. Whitfield"), Some(packed("BW")));
        assert_eq!(initials("Bonnie  Whitfield"), Some(packed("BW")));
        assert_eq!(
            initials("Houston County Sheriff's Office"),
            Some(packed("HCSO"))
        );
        assert_eq!(initials("Prince of Peace Church"), Some(packed("PPC")));
        assert_ne!(packed("PPC"), packed("PCP"));
        assert_eq!(initials("Émile Zola"), None);
        assert_eq!(initials("Whitfield"), None);
    }

    /// The texts of the spans of `kind` the scrubber finds in `text`.
    fn of_kind(s: &Scrubber, text: &str, kind: PhiKind) -> Vec<String> {
        s.find("x", text)
            .iter()
            .filter(|f| f.kind == kind)
            .map(|f| text[f.start..f.end].to_string())
            .collect()
    }

    #[test]
    fn a_towns_name_in_another_language_in_brackets_after_it() {
        let s = Scrubber::new();
        let towns = |text: &str| of_kind(&s, text, PhiKind::City);
        assert_eq!(
            towns("She was born in Znojmo (Znaim), came to Vienna in 1946."),
            ["Znojmo", "Znaim", "Vienna"]
        );
        assert_eq!(
            towns("born in Bautzen (Sorbian: Budyšin), worked"),
            ["Bautzen", "Budyšin"]
        );
        // a country, a language, a state, a state's code
        for text in [
            "lives in Dublin (Ireland) now",
            "grew up in Cork (Irish) and",
            "lives in Portland (Oregon) now",
            "moved to Portland (OR) in",
        ] {
            assert_eq!(towns(text).len(), 1, "{text}: {:?}", towns(text));
        }
    }

    #[test]
    fn an_organisations_town_after_a_comma_and_an_age_after_an_age() {
        let s = Scrubber::new();
        let found = |text: &str, kind: PhiKind| of_kind(&s, text, kind);
        for (text, town) in [
            (
                "closer: Lamb County Rural Health Clinic, Littlefield, with staple removal",
                "Littlefield",
            ),
            (
                "- Church: St Ignatius' Catholic Church, Stamford Hill — Fr Joseph Mwangi visits",
                "Stamford Hill",
            ),
            (
                "mechanic, Northshore Pellet Co., Eveleth, laid off",
                "Eveleth",
            ),
            (
                "testing via Sanpete Valley Hospital, Mt. Pleasant. Mother",
                "Mt. Pleasant",
            ),
            (
                "Care to Platte Valley Medical Center,\n   Kearney (trauma center)",
                "Kearney",
            ),
            (
                "aunt Odessa, 508 Kings Hwy, Bossier City, (318) 555-0146.",
                "Bossier City",
            ),
        ] {
            assert_eq!(found(text, PhiKind::City), [town], "{text}");
        }
        // a department, an abbreviation or a title after the organisation
        for text in [
            "Seen at Mercy Hospital, Cardiology Dept. today.",
            "Transferred to Mercy Hospital, Emergency Department.",
            "by Bourg Family Pharmacy, Rx 600912).",
            "Laurel Bank Baptist Church, Bro. Doyle Ogle to visit.",
        ] {
            assert!(found(text, PhiKind::City).is_empty(), "{text}");
        }
        for (text, ages) in [
            ("\"Grandma is 95 (96 in June). Since", &["95", "96"][..]),
            ("She is 99 - 100 in March, we've", &["99", "100"]),
            ("her mother is 91 or 92, per son", &["91", "92"]),
            ("her mother is 91 (she says). BP 95 (96 repeat)", &["91"]),
            ("caregiver for two women aged 92 and 91, now", &["92", "91"]),
            ("aged 92 and 5 months", &["92"]),
            ("Mrs Consuelo Martí, 94 (a sister) lives", &["94"]),
            (
                "Sister Sr. María Paz Archuleta, SCN,\n   93, lives",
                &["93"],
            ),
        ] {
            assert_eq!(found(text, PhiKind::Age), ages, "{text}");
        }
    }

    #[test]
    fn a_street_and_a_town_as_a_letters_block_writes_them() {
        let s = Scrubber::new();
        for (text, street, town) in [
            (
                "Botchergate Medical Practice\n17 Botchergate\nCarlisle\nCA1 1RP\nTel 01632 960200",
                "17 Botchergate",
                "Carlisle",
            ),
            (
                "Re: your patient\n  4 Mill Lane, \n  Kendal\n  LA9 4AB\n",
                "4 Mill Lane",
                "Kendal",
            ),
        ] {
            let found = s.find("x", text);
            assert!(
                gone(&found, text, street) && gone(&found, text, town),
                "{text}: {found:?}"
            );
        }
        // a line of the note above a postcode, or a postcode inside a line
        for text in [
            "Wards 4 and 5\nReview\nCA1 1RP\n",
            "Seen 3 Times Daily\nKendal LA9 4AB\n",
        ] {
            assert_no_street_nor_town(&s, text);
        }
    }

    #[test]
    fn a_persons_town_after_a_comma_where_the_town_ends_a_clause() {
        let s = Scrubber::new();
        let towns = |text: &str| of_kind(&s, text, PhiKind::City);
        for (text, town) in [
            (
                "apixaban (cardiologist Dr Hovsep Der Sarkissian, Aubagne); cataract",
                "Aubagne",
            ),
            (
                "NOK: son Declan O'Donovan, Ballincollig; daughter",
                "Ballincollig",
            ),
        ] {
            assert_eq!(towns(text), [town], "{text}");
        }
        // a department, a weekday, a title on a signature's line, or more
        // of the sentence after the word
        for text in [
            "Yours sincerely,\nDr Alasdair Grant, Consultant Ophthalmologist\nCc: GP",
            "apixaban (cardiologist Dr Hovsep Der Sarkissian, Cardiology); cataract",
            "called Dr Hovsep Der Sarkissian, Tuesday; no answer",
            "seen by Dr Hovsep Der Sarkissian, Aubagne and Cassis clinics",
        ] {
            assert!(towns(text).is_empty(), "{text}: {:?}", towns(text));
        }
        // an age after the comma stays an age
        let text = "Pt's sister Opal Meeks, 96, lives at Maranatha Village";
        assert_eq!(of_kind(&s, text, PhiKind::Age), ["96"]);
    }

    #[test]
    fn a_towns_small_words_its_label_and_its_postcode_after_a_street() {
        let s = Scrubber::new();
        let towns = |text: &str| of_kind(&s, text, PhiKind::City);
        for (text, town) in [
            (
                "Anschrift: Gartenstraße 8, 60311 Frankfurt am Main",
                "Frankfurt am Main",
            ),
            (
                "Anschrift: Gartenstraße 8, 91541 Rothenburg ob der Tauber",
                "Rothenburg ob der Tauber",
            ),
            (
                "She lives in Castelnuovo del Garda now",
                "Castelnuovo del Garda",
            ),
            (
                "family in Saint-Martin-de-Ré since 1990",
                "Saint-Martin-de-Ré",
            ),
            (
                "originally from San Juan de los Lagos, Jalisco",
                "San Juan de los Lagos",
            ),
            ("Adresse: 7 Chemin des Vignes, 1260 Nyon", "Nyon"),
            (
                "address on file: 8 Chemin du Moulin, 1255 Veyrier",
                "Veyrier",
            ),
            ("Home town: Eau Claire", "Eau Claire"),
            ("Place of birth: Eau Claire", "Eau Claire"),
        ] {
            assert!(
                towns(text).iter().any(|t| t == town),
                "{text}: {:?}",
                towns(text)
            );
        }
        // a German noun after a particle, an English sentence's small
        // words, a count after a dose, a label's other words
        for (text, want) in [
            ("wohnt in Berlin am Stadtrand", &["Berlin"][..]),
            ("lives in Boston on Monday", &["Boston"]),
            ("moved to Leeds to be near family", &["Leeds"]),
            ("given heparin, 5000 Units", &[]),
            ("City: unknown", &[]),
        ] {
            assert_eq!(towns(text), want, "{text}");
        }
    }

    #[test]
    fn the_groups_before_a_postcode_are_read_only_where_a_part_is_left() {
        let text = "Social: lives at 8222 School Rd, New York, NY 10001.";
        let span = |part: &str, kind| {
            let start = text.find(part).unwrap();
            Found {
                start,
                end: start + part.len(),
                kind,
            }
        };
        let (start, end) = (text.find("at 8222").unwrap(), text.find("10001").unwrap());
        let street = span("8222 School Rd", PhiKind::Address);
        let town = span("New York", PhiKind::City);
        assert!(found_already(text, start, end, &[street, town]));
        // the house's number, the town, or the town as no place left
        let name = span("School Rd", PhiKind::Address);
        assert!(!found_already(text, start, end, &[name, town]));
        assert!(!found_already(text, start, end, &[street]));
        let person = span("New York", PhiKind::Name);
        assert!(!found_already(text, start, end, &[street, person]));
    }

    #[test]
    fn a_contacts_town_a_streets_town_after_its_comma_and_an_officers_number() {
        let s = Scrubber::new();
        let towns = |text: &str| of_kind(&s, text, PhiKind::City);
        for (text, town) in [
            (
                "NOK: son Declan O'Donovan, Ballincollig, 086 555 0127; daughter",
                "Ballincollig",
            ),
            (
                "Emergency contact: son Kyle Begaye, Farmington, 505-555-0119, k@example.com.",
                "Farmington",
            ),
            (
                "pt's son Roscoe (828-555-0147, Weaverville) is",
                "Weaverville",
            ),
            (
                "Funeral Chapel, 201 3rd Ave S, Virginia 55792, 218-555-0155.",
                "Virginia",
            ),
        ] {
            assert_eq!(towns(text), [town], "{text}");
        }
        // a department or a phone's label where a town would stand (a
        // town with no phone after it, "NOK: son Declan O'Donovan,
        // Ballincollig; daughter", is a person's town, as the test of
        // those finds)
        for text in [
            "Dr. Jane Whitcombe, Cardiology, 555-201-0100",
            "son Roscoe (828-555-0147, Mobile) is",
        ] {
            assert!(towns(text).is_empty(), "{text}: {:?}", towns(text));
        }
        // an officer's number after their name, never a room's after a word
        assert_eq!(
            of_kind(
                &s,
                "Police: Ofc. Cassidy Lemoine #2217   Charge",
                PhiKind::Mrn
            ),
            ["2217"]
        );
        assert!(of_kind(&s, "moved to room #12 today", PhiKind::Mrn).is_empty());
    }

    #[test]
    fn postcodes_after_a_town_or_a_street_where_no_state_stands_between() {
        let s = Scrubber::new();
        let zips = |text: &str| of_kind(&s, text, PhiKind::Zip);
        for (text, zip) in [
            (
                "Rehab, 400 Farrell St, South Burlington 05403, Rm 22.",
                "05403",
            ),
            (
                "at 41 Reems Creek Rd, Weaverville 28787, which has",
                "28787",
            ),
            ("the EHPAD in Marseille (13012); their brother", "13012"),
            (
                "lives in Alboraia, Camí de la Mar 12, pta. 3, 46120,\n",
                "46120",
            ),
            ("in Borås (Allégatan 41 B, 503 32).", "503 32"),
            ("(88 N 500 E, American Fork\n   84003), uncle", "84003"),
            ("14 Onslow Street, East Gore,\nGore 9710, by email", "9710"),
        ] {
            assert_eq!(zips(text), [zip], "{text}");
        }
        // a count, a dose or a year after a town or a street is none, nor
        // four digits after a name (a time, an extension)
        for text in [
            "moved to Boston 2019, then",
            "moved to Boston 1987.",
            "lives at 12 Oak St, 10000 units given",
            "lives at 12 Oak St, 1200.",
            "from Springfield 12345678 (MRN)",
            "spoke with Dr Ferreira 1430, orders received",
        ] {
            assert!(zips(text).is_empty(), "{text}: {:?}", zips(text));
        }
    }

    #[test]
    fn a_town_and_a_street_of_any_shape_before_a_postcode() {
        let s = Scrubber::new();
        for (text, town, street) in [
            (
                "Pharmacy Department, Croesnewydd Road, Wrexham LL13 7TD\nWard pharmacy",
                "Wrexham",
                "",
            ),
            (
                "Elmhurst Hospital – Geriatrics Clinic, 79-01 Broadway, Elmhurst NY 11373\nVisit",
                "Elmhurst",
                "79-01 Broadway",
            ),
            (
                "Hereditary Cancer Clinic   2000 Circle of Hope Dr, Rm 4410, Salt Lake City, UT 84112",
                "Salt Lake City",
                "2000 Circle of Hope Dr, Rm 4410",
            ),
            (
                "Prior residence: 4417 W 130TH ST, CLEVELAND OH 44135 - sold",
                "CLEVELAND",
                "4417 W 130TH ST",
            ),
            (
                "Office: #2 - 310 Idylwyld Dr N, Saskatoon SK S7L 0Z2   Intake",
                "Saskatoon",
                "#2 - 310 Idylwyld Dr N",
            ),
            (
                "Unit 4, 12 The Crescent, Ashby CV4 7AL.",
                "Ashby",
                "12 The Crescent",
            ),
        ] {
            // ("4417 W 130TH ST, CLEVELAND" may read as a name in capitals;
            // "Elmhurst NY" takes the state; the hospital before "Elmhurst
            // NY" is named so too)
            let found = s.find("x", text);
            assert!(
                gone(&found, text, town) && gone(&found, text, street),
                "{text}: {found:?}"
            );
        }
        // a card's number after Idaho's code, a word of the note, a title
        for text in [
            "Insurance: Aetna, Member ID 12345",
            "Seen today, Patient LL13 7TD",
            "Letter to, Mr LL13 7TD",
            "Send the claims to the plan, NY 10001",
        ] {
            assert_no_street_nor_town(&s, text);
        }
    }

    /// Whether `part`, where it last stands in `text`, is gone as the score
    /// counts it: each byte but its spaces in a span found, whatever kind
    /// the merge gives the span.
    fn gone(found: &[Found], text: &str, part: &str) -> bool {
        let at = text.rfind(part).unwrap();
        (at..at + part.len())
            .all(|i| text.as_bytes()[i] == b' ' || found.iter().any(|f| f.start <= i && i < f.end))
    }

    fn assert_no_street_nor_town(s: &Scrubber, text: &str) {
        let towns = of_kind(s, text, PhiKind::City);
        let streets = of_kind(s, text, PhiKind::Address);
        assert!(
            towns.is_empty() && streets.is_empty(),
            "{text}: {towns:?} {streets:?}"
        );
    }

    #[test]
    fn a_quarter_after_an_address_and_a_street_written_again() {
        let s = Scrubber::new();
        let streets = |text: &str| of_kind(&s, text, PhiKind::Address);
        for (text, quarter) in [
            // (a quarter that is a town of the list is found as a town too)
            (
                "at 3305 N Kachina Trl, Flagstaff 86004 (Hill Section) - the brown house",
                "Hill Section",
            ),
            (
                "at 540 N Van Ness Blvd, #B, Fresno 93728 (back unit, Tower District).",
                "Tower District",
            ),
            (
                "with Lola at 2207 Arno St SE\n   in Barelas (Albuquerque",
                "Barelas",
            ),
        ] {
            assert!(
                streets(text).iter().any(|a| a == quarter),
                "{text}: {:?}",
                streets(text)
            );
        }
        // a month, a phone's label, a service is no quarter
        for text in [
            "Lives at 44 Elm Street, Boston 02115 (Cell) or (Home).",
            "at 12 Oak Street\nin March she fell",
        ] {
            assert!(
                streets(text)
                    .iter()
                    .all(|a| !["Cell", "Home", "March"].contains(&a.as_str())),
                "{text}: {:?}",
                streets(text)
            );
        }
        let text = "flat at 522 Prescott Ave, 2nd fl. Seat delivered to 522 Prescott. Not 5228 Prescott, nor 522 Prescottville.";
        assert_eq!(
            streets(text)
                .iter()
                .filter(|a| a.as_str() == "522 Prescott")
                .count(),
            1,
            "{:?}",
            streets(text)
        );
        assert!(!streets(text)
            .iter()
            .any(|a| a.contains("5228") || a.contains("ville")));
    }

    #[test]
    fn ages_after_a_name_before_a_bracket_and_after_a_line_break() {
        let s = Scrubber::new();
        let ages = |text: &str| of_kind(&s, text, PhiKind::Age);
        assert_eq!(
            ages("at 79 (mill). Sister Agnes 101 (above), brother"),
            ["101"]
        );
        assert_eq!(
            ages("in Saskatoon; brother Jake,\n  93, in Rosthern."),
            ["93"]
        );
        assert!(ages("Sister Agnes 10 (above)").is_empty());
        // another guess closed by a quote
        assert_eq!(
            ages("her age was given as \"91 o 92\" by the patient"),
            ["91", "92"]
        );
        assert_eq!(ages("given as \"71 o 72\" by the patient"), [] as [&str; 0]);
    }

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
    fn a_place_of_several_words_is_found_only_whole() {
        let mut s = Scrubber::new();
        let city = |c: &str| KnownIds {
            values: vec![(PhiKind::City, c.into())],
        };
        s.add_patient("P1", city("New Orleans"));
        s.add_patient("P2", city("Truth or Consequences"));
        s.add_patient("P3", city("Boston"));
        s.add_patient(
            "P4",
            KnownIds {
                values: vec![(PhiKind::Name, "van der Berg".into())],
            },
        );
        // in another patient's note, through the dictionary
        let (out, _) = s.scrub(
            "P9",
            "New mailing address on file. Moved from New Orleans to Boston; \
             Truth or Consequences before. New  Orleans, New Orleanian, Park. Berg.",
        );
        assert_eq!(
            out,
            "New mailing address on file. Moved from [CITY] to [CITY]; \
             [CITY] before. [CITY], New Orleanian, Park. [NAME]."
        );
    }

    #[test]
    fn known_names_match_without_accents_and_by_parts() {
        let mut s = Scrubber::new();
        s.add_patient(
            "P1",
            KnownIds {
                values: vec![
                    (PhiKind::Name, "Tomás".into()),
                    (PhiKind::Name, "Núñez-Ødegård".into()),
                ],
            },
        );
        let (out, _) = s.scrub("P1", "tomas says Nunez drove; ÖDEGÅRD family present.");
        assert_eq!(out, "[NAME] says [NAME] drove; [NAME] family present.");
        // offsets map back through multi-byte letters
        let (out, _) = s.scrub("P1", "Über Tomás Núñez-Ødegård, 2023-01-02.");
        assert_eq!(out, "Über [NAME] [NAME], [DATE].");
    }

    #[test]
    fn record_numbers_by_their_digits_a_street_without_its_number_towns_after_addresses_and_ages_after_names(
    ) {
        let mut s = Scrubber::new();
        s.add_patient(
            "P1",
            KnownIds {
                values: vec![
                    (PhiKind::Ssn, "455-55-0142".into()),
                    (PhiKind::Phone, "(843) 555-0117".into()),
                    (PhiKind::Address, "9 Heron Point".into()),
                    (PhiKind::Name, "Henrietta".into()),
                ],
            },
        );
        let (out, _) = s.scrub(
            "P1",
            "SSN 455 55 0142, old sheet 455550142, phone 843.555.0117; not 14555501420. \
             From Heron Point. Henrietta (90) is here. Lives at 12 Oak St, Keene. Ward at\n\
             5 Millers Row\nKinross\nKY13 8AB",
        );
        assert_eq!(
            out,
            "SSN [SSN], old sheet [SSN], phone [PHONE]; not 14555501420. \
             From [ADDRESS]. [NAME] ([AGE]) is here. Lives at [ADDRESS], [CITY]. Ward at\n\
             [ADDRESS]\n[CITY]\n[ZIP]"
        );
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

    #[test]
    fn the_patients_street_by_its_name_a_nickname_and_an_age_after_a_name() {
        let mut s = Scrubber::new();
        s.add_patient(
            "P1",
            KnownIds {
                values: vec![(PhiKind::Address, "3 Fieldstone Ln".into())],
            },
        );
        let (out, _) = s.scrub(
            "P1",
            "Lives with daughter on Fieldstone since. Fieldstone is far.",
        );
        assert_eq!(
            out,
            "Lives with daughter on [ADDRESS] since. Fieldstone is far."
        );
        // only the patient's own street, and not a word of the lists
        let (out, _) = s.scrub("P2", "Lives with daughter on Fieldstone since.");
        assert_eq!(out, "Lives with daughter on Fieldstone since.");
        assert_eq!(
            street_name("18 N Saint Andrews Rd, Apt 2"),
            Some(("Saint".into(), vec!["Andrews".into()]))
        );
        assert_eq!(street_name("12 Oak St"), None);
        let (out, _) = s.scrub(
            "P1",
            "Client: Mr Clarence McIlwraith (\"Clarrie\"), DOB unknown. Her brother Kees, 93, still lives.",
        );
        assert_eq!(
            out,
            "Client: Mr [NAME] (\"[NAME]\"), DOB unknown. Her brother [NAME], [AGE], still lives."
        );
        // after an initial's period, and a nickname of a word and an initial
        let (out, _) = s.scrub(
            "P2",
            "Pt: McANDREW, FRANCIS X. (\"Frank\")   MRN 1.\nPt: Kahananui, Kealoha (\"Uncle K\") seen.",
        );
        assert_eq!(
            out,
            "Pt: [NAME]. (\"[NAME]\")   MRN 1.\nPt: [NAME] (\"[NAME]\") seen."
        );
        // in quotes without brackets, in capitals too; never a word that
        // is no name
        let (out, _) = s.scrub(
            "P2",
            "LOG - THIBODEAU, Dale F. \"Tink\"   Guest 4\nPatient: WOLLMAN, BABY GIRL \"LYDIA\"   MRN 1",
        );
        assert_eq!(
            out,
            "LOG - [NAME] \"[NAME]\"   Guest 4\nPatient: [NAME] \"[NAME]\"   MRN 1"
        );
        let (out, _) = s.scrub("P2", "Spoke with Mr. Okafor \"Bell\" rang twice.");
        assert_eq!(out, "Spoke with Mr. [NAME] \"Bell\" rang twice.");
    }

    #[test]
    fn ages_after_nicknames_and_birth_dates_towns_after_a_comma_and_counties() {
        let s = Scrubber::new();
        for (text, want) in [
            (
                "Room 12 — Mrs Gwenllian Pritchard (\"Gwen\"), 97, NHS",
                "Room 12 — Mrs [NAME] (\"[NAME]\"), [AGE], NHS",
            ),
            (
                "DOB 12/03/1931 (95)   Address",
                "DOB [DATE] ([AGE])   Address",
            ),
            (
                "Lives w/ his mother Dolores, ninety-three, on the farm",
                "Lives w/ his mother [NAME], [AGE], on the farm",
            ),
            (
                "Pt's sister Edna would be ninety-eight — died",
                "Pt's sister [NAME] would be [AGE] — died",
            ),
            (
                "Lives at 12 Main Street, Ballyhale, Co. Kilkenny",
                // the county too: Safe Harbor removes every subdivision
                // smaller than a state (the town's rule must not take it)
                "Lives at [ADDRESS], [CITY], [CITY]",
            ),
            (
                "Daughter at 410 Prairie Wind Loop, Bondurant,\nfor now",
                "Daughter at [ADDRESS], [CITY],\nfor now",
            ),
        ] {
            assert_eq!(s.scrub("P1", text).0, want, "{text}");
        }
        // a date of birth with a younger age, a name with a dose after it
        for text in ["DOB 12/03/1961 (65)", "Grace, 25 mg daily"] {
            assert!(
                !s.find("P1", text).iter().any(|f| f.kind == PhiKind::Age),
                "{text}"
            );
        }
        // the street's name ends before its last type, which may be a
        // word of a name ("Brook")
        assert_eq!(
            street_name("12 Brook Hollow Rd Apt 2"),
            Some(("Brook".into(), vec!["Hollow".into()]))
        );
        assert_eq!(street_name("5 Park Ave"), Some(("Park".into(), vec![])));
    }
}
