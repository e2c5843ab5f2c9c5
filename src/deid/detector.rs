//! The learned detector: a small token classifier, the rules' second opinion.
//!
//! A note is cut into tokens (runs of letters and digits). Each token is
//! described by hashed features of itself and its neighbours: the folded
//! word, its shape (`Xx`, `d4`), prefix and suffix, the characters between
//! it and its neighbours (`/`, `(`, `:`, a line break), what the name
//! dictionaries say of it, and word pairs ("daughter kathleen"). Every
//! feature picks a row of one embedding table; their sum goes through two
//! small layers to a score per class: no PHI, or one of the PHI kinds.
//! Neighbouring tokens of one kind become one span. Features are hashed,
//! so the model has no vocabulary file and never meets an unknown word; the
//! whole model is a few hundred KB of f32.
//!
//! It is trained on the generator's notes, whose PHI spans are known
//! exactly (`carelab deid train-detector`, see `detector_train`), never on
//! the hand-written corpus. Inference is plain Rust over flat buffers (no
//! tensors, no network, no threads): the scrubber calls it once per note.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use safetensors::tensor::Dtype;

use super::byte_runs;
use super::layers::{Kernel, Net, Scratch, BATCH};
use super::names::{fold_lower_into, Names};
use super::patterns::{is_title, Found};
use crate::clinical::PhiKind;
use crate::error::{Error, Result};
use crate::hashing::{fnv, fnv_step, FNV_OFFSET};
use crate::train::weights::{self, Tensors};

/// The classes after "no PHI" (class 0), in order.
pub const KINDS: [PhiKind; 12] = PhiKind::ALL;
pub const CLASSES: usize = KINDS.len() + 1;

/// Features per token (see `Featurizer::token`).
pub const FEATURES: usize = 20;
/// The feature slots that read the token's own word; training hides them
/// at random so the model also learns a name from its context and shape,
/// not only the names it was shown.
pub const OWN_WORD_SLOTS: [usize; 5] = [2, 10, 11, 17, 19];
/// The slots that read a neighbour's word, hidden in training now and then.
pub const NEIGHBOUR_WORD_SLOTS: [usize; 5] = [0, 1, 3, 4, 18];

/// A token is PHI of a kind only when the model gives that kind at least
/// this probability. The model learned from notes far more regular than
/// notes people write, so on a token unlike anything it saw it is unsure;
/// such a token is left to the rules, whose second opinion it is.
pub const MIN_PROBABILITY: f32 = 0.9;

/// The safetensors metadata key naming the feature scheme; a model made
/// for another scheme is refused, not misread.
const FORMAT_KEY: &str = "carelab-deid-detector";
const FORMAT: &str = "features-v1";

/// The model shipped with CareLab, trained by `carelab deid train-detector`.
const BUILTIN: &[u8] = include_bytes!("../../datasets/deid-detector/detector.safetensors");

/// The trained network: embedding table, two layers, class scores.
#[derive(Debug, Clone)]
pub struct Detector {
    pub buckets: usize,
    pub dim: usize,
    pub hidden: usize,
    /// [buckets, dim]
    pub emb: Vec<f32>,
    /// [dim]
    pub b1: Vec<f32>,
    /// [hidden, dim]
    pub w2: Vec<f32>,
    /// [hidden]
    pub b2: Vec<f32>,
    /// [CLASSES, hidden]
    pub w3: Vec<f32>,
    /// [CLASSES]
    pub b3: Vec<f32>,
    /// The weights laid out for inference, made on first use.
    pub(crate) net: OnceLock<Net>,
}

impl PartialEq for Detector {
    /// The same weights (the inference layout is made from them).
    fn eq(&self, other: &Detector) -> bool {
        (self.buckets, self.dim, self.hidden) == (other.buckets, other.dim, other.hidden)
            && (&self.emb, &self.b1, &self.w2) == (&other.emb, &other.b1, &other.w2)
            && (&self.b2, &self.w3, &self.b3) == (&other.b2, &other.w3, &other.b3)
    }
}

impl Detector {
    /// The model that ships in `datasets/deid-detector/`, read once.
    pub fn builtin() -> Result<Arc<Detector>> {
        static MODEL: OnceLock<std::result::Result<Arc<Detector>, String>> = OnceLock::new();
        MODEL
            .get_or_init(|| {
                Detector::from_bytes(BUILTIN, "datasets/deid-detector/detector.safetensors")
                    .map(Arc::new)
                    .map_err(|e| e.to_string())
            })
            .clone()
            .map_err(Error::failure)
    }

    /// Read a model written by `save`.
    pub fn load(path: &Path) -> Result<Detector> {
        let bytes = std::fs::read(path).map_err(|e| {
            Error::usage(format!(
                "--detector {}: cannot read it: {e}",
                path.display()
            ))
        })?;
        Detector::from_bytes(&bytes, &path.display().to_string())
    }

    fn from_bytes(bytes: &[u8], source: &str) -> Result<Detector> {
        let bad = |found: String| {
            Error::bad_input(source, None, "a CareLab deid detector (safetensors)", found)
        };
        let (_, header) =
            safetensors::SafeTensors::read_metadata(bytes).map_err(|e| bad(e.to_string()))?;
        let format = header
            .metadata()
            .as_ref()
            .and_then(|m| m.get(FORMAT_KEY).cloned())
            .unwrap_or_default();
        if format != FORMAT {
            return Err(bad(format!(
                "metadata {FORMAT_KEY}={format:?}, expected {FORMAT:?}"
            )));
        }
        let st = safetensors::SafeTensors::deserialize(bytes).map_err(|e| bad(e.to_string()))?;
        let mut t: BTreeMap<String, (Vec<usize>, Vec<f32>)> = BTreeMap::new();
        for (name, view) in st.tensors() {
            if view.dtype() != Dtype::F32 {
                return Err(bad(format!("tensor {name} of type {:?}", view.dtype())));
            }
            let values = view
                .data()
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            t.insert(name, (view.shape().to_vec(), values));
        }
        let mut take = |name: &str| {
            t.remove(name)
                .ok_or_else(|| bad(format!("no tensor {name}")))
        };
        let (emb_shape, emb) = take("emb")?;
        let (_, b1) = take("b1")?;
        let (w2_shape, w2) = take("w2")?;
        let (_, b2) = take("b2")?;
        let (w3_shape, w3) = take("w3")?;
        let (_, b3) = take("b3")?;
        let (&[buckets, dim], &[hidden, _], &[classes, _]) = (
            emb_shape.as_slice(),
            w2_shape.as_slice(),
            w3_shape.as_slice(),
        ) else {
            return Err(bad("tensors of other ranks".into()));
        };
        let d = Detector {
            buckets,
            dim,
            hidden,
            emb,
            b1,
            w2,
            b2,
            w3,
            b3,
            net: OnceLock::new(),
        };
        if classes != CLASSES || !d.shapes_agree() || buckets == 0 {
            return Err(bad(format!(
                "shapes emb {emb_shape:?}, w2 {w2_shape:?}, w3 {w3_shape:?} that do not fit together ({CLASSES} classes)"
            )));
        }
        Ok(d)
    }

    fn shapes_agree(&self) -> bool {
        self.emb.len() == self.buckets * self.dim
            && self.b1.len() == self.dim
            && self.w2.len() == self.hidden * self.dim
            && self.b2.len() == self.hidden
            && self.w3.len() == CLASSES * self.hidden
            && self.b3.len() == CLASSES
    }

    /// Write the model as safetensors, with the feature scheme in its metadata.
    pub fn save(&self, path: &Path) -> Result<()> {
        let mut t = Tensors::new();
        t.insert(
            "emb".into(),
            (vec![self.buckets, self.dim], self.emb.clone()),
        );
        t.insert("b1".into(), (vec![self.dim], self.b1.clone()));
        t.insert("w2".into(), (vec![self.hidden, self.dim], self.w2.clone()));
        t.insert("b2".into(), (vec![self.hidden], self.b2.clone()));
        t.insert("w3".into(), (vec![CLASSES, self.hidden], self.w3.clone()));
        t.insert("b3".into(), (vec![CLASSES], self.b3.clone()));
        weights::save(path, &t, Some((FORMAT_KEY, FORMAT)))
    }

    /// The class of every token of `text` (0: no PHI, `i`: `KINDS[i - 1]`).
    pub fn classify(&self, text: &str) -> (Vec<(usize, usize)>, Vec<usize>) {
        let mut work = Work::default();
        self.classify_with(text, &mut work);
        (work.buffers.tokens, work.classes)
    }

    /// `classify` into `work`: the tokens in `work.buffers`, their classes
    /// in `work.classes`.
    fn classify_with(&self, text: &str, work: &mut Work) {
        let buffers = std::mem::take(&mut work.buffers);
        let fz = Featurizer::with_buffers(text, self.buckets, buffers);
        let net = self.net.get_or_init(|| Net::new(self, Kernel::detect()));
        let scratch = work.scratch.get_or_insert_with(|| Scratch::new(net));
        scratch.fit(net);
        let n = fz.tokens.len();
        work.classes.clear();
        let mut batch = [[0u32; FEATURES]; BATCH];
        for first in (0..n).step_by(BATCH) {
            // the last batch is filled up with its last token, scored and dropped
            let count = BATCH.min(n - first);
            for (b, feats) in batch.iter_mut().enumerate() {
                fz.token(first + b.min(count - 1), feats);
            }
            let scores = net.scores(&batch, scratch);
            work.classes.extend(scores[..count].iter().map(decide));
        }
        work.buffers = fz.into_buffers();
    }

    /// Every span the model finds, of every kind it learned.
    pub fn find_every_kind(&self, text: &str, out: &mut Vec<Found>) {
        // the buffers of the note this thread scored last: scoring a note
        // allocates nothing once they have grown to a note's size
        thread_local! {
            static WORK: RefCell<Work> = RefCell::default();
        }
        WORK.with_borrow_mut(|work| {
            self.classify_with(text, work);
            spans_of(text, &work.buffers.tokens, &work.classes, out);
        });
    }

    /// The PHI spans the model finds in `text`, unmerged with other finds,
    /// less what `no_identifier` says is none. A title at either end of a
    /// span is no part of it ("Dr", "Mme": the word that says a name
    /// follows, which the model, having learned "Dr" as the street type of
    /// "Oak Dr", calls an address).
    pub fn find(&self, text: &str, out: &mut Vec<Found>) {
        let from = out.len();
        self.find_every_kind(text, out);
        let mut i = from;
        while i < out.len() {
            let f = without_titles(text, out[i]);
            if f.start == f.end || no_identifier(f.kind, &text[f.start..f.end]) {
                out.swap_remove(i);
            } else {
                out[i] = f;
                i += 1;
            }
        }
    }
}

/// What the model marks as `kind` but is no identifier of that kind:
/// - an e-mail address, URL or IP address: kinds with a formal grammar are
///   left to the patterns, which read it exactly; the model's guesses there
///   could only add false alarms;
/// - an age of 89 or less (Safe Harbor removes ages over 89 only);
/// - a date that is a bare number of up to four digits: a year, which Safe
///   Harbor keeps, a clock time, a count, or one side of a score
///   ("Tinetti 14/28", "Recalls 2/3");
/// - a number the model calls a phone number with fewer than seven
///   digits, or an SSN with fewer than four (a clock time, a year, a dose:
///   "0400", "1948", "17"; the last four of an SSN is the shortest the
///   patterns read). A word it calls so stays: the model's kind is often
///   wrong where its "PHI" is right ("Box 212", a surname);
/// - a name, place or number that is nothing but weekdays ("Monday",
///   "Thursdays", "Fri"): never PHI.
fn no_identifier(kind: PhiKind, span: &str) -> bool {
    let digits = || span.bytes().filter(u8::is_ascii_digit).count();
    let number = || !span.bytes().any(|b| b.is_ascii_alphabetic());
    match kind {
        PhiKind::Email | PhiKind::Url | PhiKind::Ip => true,
        PhiKind::Age => !over_89(span),
        PhiKind::Date => {
            (span.len() <= 4 && span.bytes().all(|b| b.is_ascii_digit())) || only_weekdays(span)
        }
        PhiKind::Phone => number() && digits() < 7,
        PhiKind::Ssn => number() && digits() < 4,
        _ => only_weekdays(span),
    }
}

/// Whether every word of `span` is a weekday, whole, abbreviated or plural.
fn only_weekdays(span: &str) -> bool {
    const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    let mut words = span
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty());
    const ENDINGS: [&str; 9] = [
        "", "day", "sday", "nesday", "rsday", "r", "rs", "urday", "t",
    ];
    // compared in place, not lower-cased into a new string: every name,
    // place and number span of the model is asked
    words.clone().next().is_some()
        && words.all(|w| {
            let w = match w.strip_suffix(['s', 'S']) {
                Some(stem) if w.len() > 3 => stem,
                _ => w,
            };
            w.get(..3).is_some_and(|day| {
                DAYS.iter().any(|d| day.eq_ignore_ascii_case(d))
                    && ENDINGS.iter().any(|e| w[3..].eq_ignore_ascii_case(e))
            })
        })
}

/// `f` without the titles (`patterns::TITLES`) that begin or end it;
/// empty when it is nothing but titles.
fn without_titles(text: &str, mut f: Found) -> Found {
    // the span's tokens read in place, not collected: a span is a few words
    let span = &text[f.start..f.end];
    let (mut first, mut last) = (None, None);
    // whether a title comes before the first word that is none, and after the last
    let (mut leading, mut trailing) = (false, false);
    for word in span.split(|c: char| !c.is_alphanumeric()) {
        if word.is_empty() {
            continue;
        }
        let at = word.as_ptr() as usize - span.as_ptr() as usize;
        if is_title(word) {
            leading |= first.is_none();
            trailing = first.is_some();
        } else {
            first = first.or(Some(at));
            last = Some(at + word.len());
            trailing = false;
        }
    }
    match (first, last) {
        (Some(a), Some(b)) => {
            // only where a title was cut: a phone keeps its bracket
            let span_start = f.start;
            if leading {
                f.start = span_start + a;
            }
            if trailing {
                f.end = span_start + b;
            }
        }
        _ => f.end = f.start,
    }
    f
}

/// Whether an age span says more than 89 years: Safe Harbor removes ages
/// over 89 only (45 CFR 164.514(b)(2)(i)(C)), so a younger age the model
/// marks is no identifier. A number of 90 to 129, or ninety or a hundred
/// in words.
fn over_89(span: &str) -> bool {
    let lower = span.to_ascii_lowercase();
    lower.contains("ninet")
        || lower.contains("hundred")
        || lower
            .split(|c: char| !c.is_ascii_digit())
            .filter_map(|d| d.parse::<u32>().ok())
            .any(|n| (90..130).contains(&n))
}

/// Neighbouring tokens of one class become one span: "04/02/2024" is three
/// tokens, "(617) 555-0134" three, "Mary-Ann O'Neil" four. A line break
/// or more than three characters between them ends a span; a phone's
/// opening bracket or plus sign joins it.
pub fn spans_of(text: &str, tokens: &[(usize, usize)], classes: &[usize], out: &mut Vec<Found>) {
    let mut i = 0;
    while i < tokens.len() {
        let c = classes[i];
        if c == 0 {
            i += 1;
            continue;
        }
        let (start, mut end) = tokens[i];
        let mut j = i + 1;
        while j < tokens.len() && classes[j] == c {
            let gap = &text[end..tokens[j].0];
            if gap.len() > 3 || gap.contains('\n') {
                break;
            }
            end = tokens[j].1;
            j += 1;
        }
        let kind = KINDS[c - 1];
        let start = if kind == PhiKind::Phone
            && start > 0
            && matches!(text.as_bytes()[start - 1], b'(' | b'+')
        {
            start - 1
        } else {
            start
        };
        out.push(Found { start, end, kind });
        i = j;
    }
}

/// The class a token's scores give: the likeliest PHI kind when the
/// softmax gives it at least MIN_PROBABILITY, else 0 (no PHI).
fn decide(scores: &[f32; CLASSES]) -> usize {
    let best = scores
        .iter()
        .enumerate()
        .skip(1)
        .fold((0, f32::MIN), |b, (c, &s)| if s > b.1 { (c, s) } else { b });
    // most tokens are no PHI: when "no PHI" scores at least as high as the
    // best kind, that kind's probability is at most 0.5, so no
    // exponential is needed to say no
    if scores[0] >= best.1 {
        return 0;
    }
    // the best kind scores highest of all, so its probability is 1 over
    // 1 plus the other classes' terms exp(score - best); most tokens are
    // settled by the largest of those alone, far from the line (see
    // `SURELY_BELOW` and `SURELY_ABOVE`), with no exponential
    let closest = scores
        .iter()
        .enumerate()
        .filter(|&(c, _)| c != best.0)
        .fold(f32::MIN, |m, (_, &s)| m.max(s - best.1));
    if closest > SURELY_BELOW {
        return 0;
    }
    if closest < SURELY_ABOVE {
        return best.0;
    }
    let top = scores.iter().copied().fold(f32::MIN, f32::max);
    let total: f32 = scores.iter().map(|s| (s - top).exp()).sum();
    let p = (best.1 - top).exp() / total;
    if p >= MIN_PROBABILITY {
        best.0
    } else {
        0
    }
}

/// Where another class scores more than this below the best kind
/// (`score - best` above it), that class's term alone, over 0.1122, takes
/// the best kind's probability below 0.8991: under MIN_PROBABILITY by far
/// more than the rounding of the exponentials and their sum.
const SURELY_BELOW: f32 = -2.187;
/// Where every other class scores less than this below the best kind,
/// their twelve terms, each under 0.00916, add up to less than 0.1100,
/// and the best kind's probability is over 0.9009.
const SURELY_ABOVE: f32 = -4.692;

/// What `Detector::classify` keeps from note to note: the featurizer's
/// vectors, the network's activations and the classes.
#[derive(Default)]
struct Work {
    buffers: Buffers,
    scratch: Option<Scratch>,
    classes: Vec<usize>,
}

/// A `Featurizer`'s vectors, emptied and filled again note after note.
#[derive(Default)]
pub struct Buffers {
    tokens: Vec<(usize, usize)>,
    v: Vectors,
}

/// What each token says, a hash a token in each vector.
#[derive(Default)]
struct Vectors {
    word: Vec<u64>,
    shape: Vec<u64>,
    prefix: Vec<u64>,
    suffix: Vec<u64>,
    /// What lies between token i-1 and token i (the start of the note before token 0).
    gap: Vec<u64>,
    flags: Vec<u64>,
}

/// The tokens of a note and what each says, ready to hash into features.
pub struct Featurizer<'a> {
    text: &'a str,
    buckets: u64,
    /// `buckets - 1` when it is a power of two: the remainder is then a
    /// mask, not a division (twenty a token).
    mask: Option<u64>,
    pub tokens: Vec<(usize, usize)>,
    v: Vectors,
}

/// `word`, `shape` and `flags` begin and end with this many PADs, so a
/// neighbour two tokens away is read without a test for the note's ends.
const MARGIN: usize = 2;

const PAD: u64 = 0x5041_4400;
const GAP_END: u64 = 0x454e_4400;
const DROPPED: u64 = 0x4452_4f50;

impl<'a> Featurizer<'a> {
    pub fn new(text: &'a str, buckets: usize) -> Featurizer<'a> {
        Featurizer::with_buffers(text, buckets, Buffers::default())
    }

    /// `new` in `buffers`' vectors (what they held is cleared first).
    pub fn with_buffers(text: &'a str, buckets: usize, buffers: Buffers) -> Featurizer<'a> {
        let Buffers { mut tokens, mut v } = buffers;
        tokens_into(text, &mut tokens);
        let n = tokens.len();
        for (vector, len) in [
            (&mut v.word, n + 2 * MARGIN),
            (&mut v.shape, n + 2 * MARGIN),
            (&mut v.flags, n + 2 * MARGIN),
            (&mut v.prefix, n),
            (&mut v.suffix, n),
            (&mut v.gap, n + 1),
        ] {
            vector.clear();
            vector.reserve(len);
        }
        let buckets = buckets.max(1) as u64;
        let mut f = Featurizer {
            text,
            buckets,
            mask: buckets.is_power_of_two().then(|| buckets - 1),
            tokens,
            v,
        };
        let margin = [PAD; MARGIN];
        for v in [&mut f.v.word, &mut f.v.shape, &mut f.v.flags] {
            v.extend(margin);
        }
        let names = Names::builtin();
        let mut prev_end = 0;
        // one buffer for every token's folded word: no allocation a token
        let mut folded = String::new();
        for &(s, e) in &f.tokens {
            let raw = &text[s..e];
            let word = if raw.is_ascii() {
                Word::ascii(raw.as_bytes(), &mut folded)
            } else {
                Word::any(raw, &mut folded)
            };
            f.v.word.push(word.word);
            f.v.prefix.push(word.prefix);
            f.v.suffix.push(word.suffix);
            f.v.shape.push(word.shape);
            f.v.flags
                .push(u64::from(names.word_flags(&folded)) | word.case);
            f.v.gap.push(gap(&text[prev_end..s]));
            prev_end = e;
        }
        f.v.gap.push(GAP_END ^ gap(&text[prev_end..]));
        for v in [&mut f.v.word, &mut f.v.shape, &mut f.v.flags] {
            v.extend(margin);
        }
        f
    }

    /// The vectors, for the next note's `with_buffers`.
    pub fn into_buffers(self) -> Buffers {
        Buffers {
            tokens: self.tokens,
            v: self.v,
        }
    }

    /// What `v` (one of the vectors with margins) says of the token `off`
    /// from token `i`: PAD beyond the note's ends.
    fn at(&self, v: &[u64], i: usize, off: isize) -> u64 {
        v[(i + MARGIN).wrapping_add_signed(off)]
    }

    fn hash(&self, slot: usize, v: u64) -> u32 {
        let h = mix(v ^ (slot as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        match self.mask {
            Some(mask) => (h & mask) as u32,
            None => (h % self.buckets) as u32,
        }
    }

    /// The features of token `i` (one embedding row each).
    pub fn token(&self, i: usize, out: &mut [u32; FEATURES]) {
        let w = |off| self.at(&self.v.word, i, off);
        for (k, off) in (-2..=2).enumerate() {
            out[k] = self.hash(k, w(off));
            out[5 + k] = self.hash(5 + k, self.at(&self.v.shape, i, off));
        }
        out[10] = self.hash(10, self.v.prefix[i]);
        out[11] = self.hash(11, self.v.suffix[i]);
        out[12] = self.hash(12, self.v.gap[i]);
        out[13] = self.hash(13, self.v.gap[i + 1]);
        out[14] = self.hash(14, self.at(&self.v.flags, i, -1));
        out[15] = self.hash(15, self.at(&self.v.flags, i, 0));
        out[16] = self.hash(16, self.at(&self.v.flags, i, 1));
        out[17] = self.hash(17, w(-1).rotate_left(17) ^ w(0));
        out[18] = self.hash(18, w(-2).rotate_left(17) ^ w(-1));
        out[19] = self.hash(
            19,
            w(-1).rotate_left(17) ^ self.v.gap[i] ^ w(0).rotate_left(31),
        );
    }

    /// What a hidden slot reads in training.
    pub fn dropped(&self, slot: usize) -> u32 {
        self.hash(slot, DROPPED)
    }

    pub fn text(&self) -> &str {
        self.text
    }
}

/// What a token says by itself, as hashes: its folded word, the folded
/// word's first three characters (none when it has no more than three)
/// and last three (none when it has fewer), its shape, and the bits of
/// its case (3: a capital then small letters, 4: all capitals).
struct Word {
    word: u64,
    prefix: u64,
    suffix: u64,
    shape: u64,
    case: u64,
}

impl Word {
    /// The definition, a character at a time; `folded` holds the folded
    /// word after.
    fn any(raw: &str, folded: &mut String) -> Word {
        folded.clear();
        fold_lower_into(raw, folded);
        let mut prefix = folded
            .char_indices()
            .nth(3)
            .map_or(folded.as_str(), |(i, _)| &folded[..i]);
        if prefix.len() == folded.len() {
            prefix = "";
        }
        let suffix = folded
            .char_indices()
            .rev()
            .nth(2)
            .map_or("", |(i, _)| &folded[i..]);
        let mut chars = raw.chars();
        let first_upper = chars.next().is_some_and(char::is_uppercase);
        let rest_lower = chars.clone().any(char::is_lowercase);
        let rest_upper = chars.any(char::is_uppercase);
        Word {
            word: fnv(folded.as_bytes()),
            prefix: fnv(prefix.as_bytes()),
            suffix: fnv(suffix.as_bytes()),
            shape: shape(raw),
            case: case_bits(first_upper, rest_lower, rest_upper, raw.len()),
        }
    }

    /// `any` of an ASCII token in one pass over its bytes, as nearly every
    /// token is: the prefix's hash is the word's after three bytes. Four
    /// passes and a search for the characters' ends took a third of the
    /// featurizer's time.
    fn ascii(raw: &[u8], folded: &mut String) -> Word {
        folded.clear();
        let (mut word, mut prefix) = (FNV_OFFSET, FNV_OFFSET);
        let mut shape = Shape::new();
        let (mut lower, mut upper) = (0, 0);
        for (i, &b) in raw.iter().enumerate() {
            let small = b.to_ascii_lowercase();
            folded.push(char::from(small));
            word = fnv_step(word, small);
            if i == 2 && raw.len() > 3 {
                prefix = word;
            }
            shape.push(if b.is_ascii_digit() {
                b'd'
            } else if b.is_ascii_uppercase() {
                upper += usize::from(i > 0);
                b'X'
            } else {
                lower += usize::from(i > 0);
                b'x'
            });
        }
        let suffix = match raw.len() {
            0..=2 => FNV_OFFSET,
            n => fnv(&folded.as_bytes()[n - 3..]),
        };
        let first_upper = raw.first().is_some_and(u8::is_ascii_uppercase);
        Word {
            word,
            prefix,
            suffix,
            shape: shape.hash(),
            case: case_bits(first_upper, lower > 0, upper > 0, raw.len()),
        }
    }
}

/// The case bits of a token whose first character is a capital or not,
/// whose others hold small letters or capitals, `len` bytes long.
fn case_bits(first_upper: bool, rest_lower: bool, rest_upper: bool, len: usize) -> u64 {
    u64::from(first_upper && rest_lower && !rest_upper) << 3
        | u64::from(first_upper && !rest_lower && len > 1) << 4
}

/// Runs of letters and digits, with their byte offsets.
pub fn tokens(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::with_capacity(text.len() / 5);
    tokens_into(text, &mut out);
    out
}

/// `tokens`, into `out` (emptied first).
fn tokens_into(text: &str, out: &mut Vec<(usize, usize)>) {
    out.clear();
    if text.is_ascii() {
        byte_runs::runs(
            text.as_bytes(),
            |c| c.letters | c.digits,
            |s, e| out.push((s, e)),
        );
    } else {
        char_tokens(text, out);
    }
}

/// `tokens` read a character at a time, for a text that is not all ASCII.
fn char_tokens(text: &str, out: &mut Vec<(usize, usize)>) {
    let mut start = None;
    for (i, c) in text.char_indices() {
        match (start, c.is_alphanumeric()) {
            (None, true) => start = Some(i),
            (Some(s), false) => {
                out.push((s, i));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((s, text.len()));
    }
}

/// "Kathleen" -> `Xx`, "04" -> `d2`, "MRN" -> `X`, "3rd" -> `dx`: letter
/// classes with runs collapsed, and the count of digits when it is all digits.
fn shape(word: &str) -> u64 {
    let mut shape = Shape::new();
    for c in word.chars() {
        shape.push(if c.is_ascii_digit() {
            b'd'
        } else if c.is_uppercase() {
            b'X'
        } else {
            b'x'
        });
    }
    shape.hash()
}

/// `shape`'s hash, a character's class (`d`, `X`, `x`) at a time: for
/// `shape` and for `Word::ascii`'s one pass.
struct Shape {
    hash: u64,
    last: u8,
    runs: u32,
    digits: u64,
}

impl Shape {
    fn new() -> Shape {
        Shape {
            hash: FNV_OFFSET,
            last: 0,
            runs: 0,
            digits: 0,
        }
    }

    fn push(&mut self, class: u8) {
        self.digits += u64::from(class == b'd');
        if class != self.last {
            self.hash = fnv_step(self.hash, class);
            self.last = class;
            self.runs += 1;
        }
    }

    fn hash(&self) -> u64 {
        if self.runs == 1 && self.last == b'd' {
            self.hash ^ self.digits.min(9) << 56
        } else {
            self.hash
        }
    }
}

/// The characters between two tokens: up to four that are not spaces, and
/// whether a line break is among them.
fn gap(between: &str) -> u64 {
    // one pass over a few bytes: a search for the line break (memchr)
    // cost more than the whole gap's bytes
    let (mut h, mut kept, mut line_break) = (FNV_OFFSET, 0, false);
    for b in between.bytes() {
        line_break |= b == b'\n';
        if kept < 4 && !b.is_ascii_whitespace() {
            h = fnv_step(h, b);
            kept += 1;
        }
    }
    if line_break {
        h ^= 0x4e4c;
    }
    h
}

/// SplitMix64's finaliser: every input bit moves every output bit.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A model of the given shape with weights from `v` (a count in, that many floats out).
    fn model(
        buckets: usize,
        dim: usize,
        hidden: usize,
        v: &mut dyn FnMut(usize) -> Vec<f32>,
    ) -> Detector {
        Detector {
            buckets,
            dim,
            hidden,
            emb: v(buckets * dim),
            b1: v(dim),
            w2: v(hidden * dim),
            b2: v(hidden),
            w3: v(CLASSES * hidden),
            b3: v(CLASSES),
            net: OnceLock::new(),
        }
    }

    /// The scores as a plain dot product per output, in the order the
    /// model was trained to be read.
    fn reference_scores(d: &Detector, feats: &[u32]) -> [f32; CLASSES] {
        let mut e = d.b1.clone();
        for &f in feats {
            for (k, a) in e.iter_mut().enumerate() {
                *a += d.emb[f as usize * d.dim + k];
            }
        }
        let e: Vec<f32> = e.iter().map(|a| a.max(0.0)).collect();
        let h: Vec<f32> = (0..d.hidden)
            .map(|j| {
                let dot = (0..d.dim).fold(-0.0, |acc, i| acc + d.w2[j * d.dim + i] * e[i]);
                (d.b2[j] + dot).max(0.0)
            })
            .collect();
        std::array::from_fn(|c| {
            (0..d.hidden).fold(-0.0, |acc, j| acc + d.w3[c * d.hidden + j] * h[j]) + d.b3[c]
        })
    }

    #[test]
    fn the_inference_layout_scores_bit_for_bit_as_a_dot_product() {
        // a shape of no whole blocks, and the shipped one
        let mut seed = 7u64;
        let mut v = |n: usize| -> Vec<f32> {
            (0..n)
                .map(|_| {
                    seed = mix(seed);
                    (seed >> 40) as f32 / (1u64 << 23) as f32 - 1.0
                })
                .collect()
        };
        let odd = model(61, 5, 11, &mut v);
        // and one with an embedding and a hidden unit never above zero,
        // whose inputs the dense layers skip for every batch
        let mut dead = model(61, 9, 11, &mut v);
        dead.b1[2] = -1e3;
        dead.b2[4] = -1e3;
        let shipped = Detector::builtin().unwrap();
        let text =
            "Seen 04/02/2024: her daughter Kathleen O'Neil, (617) 555-0134, 14 rue des Lilas.";
        // both ways of summing, where this processor runs them
        let kernels = Kernel::available();
        for (d, kernel) in [&odd, &dead, &*shipped]
            .into_iter()
            .flat_map(|d| kernels.iter().map(move |k| (d, *k)))
        {
            let fz = Featurizer::new(text, d.buckets);
            let net = Net::new(d, kernel);
            let mut scratch = Scratch::new(&net);
            // batches of every token, the last filled up with the first
            let n = fz.tokens.len();
            let mut batch = [[0u32; FEATURES]; BATCH];
            for first in (0..n).step_by(BATCH) {
                for (b, feats) in batch.iter_mut().enumerate() {
                    fz.token((first + b) % n, feats);
                }
                let scores = net.scores(&batch, &mut scratch);
                if std::ptr::eq(d, &dead) {
                    assert!(scratch.summed() < d.hidden, "the dead unit is skipped");
                }
                for (feats, got) in batch.iter().zip(scores) {
                    let want = reference_scores(d, feats).map(f32::to_bits);
                    assert_eq!(
                        got.map(f32::to_bits),
                        want,
                        "{kernel:?}, {} buckets",
                        d.buckets
                    );
                }
            }
        }
    }

    #[test]
    fn neighbours_beyond_the_notes_ends_read_pad() {
        let fz = Featurizer::new("Rosa called", 4096);
        let (mut first, mut last) = ([0; FEATURES], [0; FEATURES]);
        fz.token(0, &mut first);
        fz.token(1, &mut last);
        // words two and one before the first token, shape two before
        assert_eq!(first[0], fz.hash(0, PAD));
        assert_eq!(first[1], fz.hash(1, PAD));
        assert_eq!(first[5], fz.hash(5, PAD));
        assert_eq!(first[14], fz.hash(14, PAD));
        // one and two after the last
        assert_eq!(last[3], fz.hash(3, PAD));
        assert_eq!(last[4], fz.hash(4, PAD));
        assert_eq!(last[9], fz.hash(9, PAD));
        assert_eq!(last[16], fz.hash(16, PAD));
        // and the neighbour within the note is its word
        assert_eq!(first[3], fz.hash(3, fnv(b"called")));
        assert_eq!(last[1], fz.hash(1, fnv(b"rosa")));
        assert_eq!(last[2], fz.hash(2, fnv(b"called")));
    }

    #[test]
    fn a_power_of_two_mask_is_the_remainder() {
        for buckets in [4096, 8192, 6000] {
            let fz = Featurizer::new("Rosa called", buckets);
            for v in [0, 1, 12_345, u64::MAX, 0x9E37_79B9_7F4A_7C15] {
                let want = mix(v ^ 3u64.wrapping_mul(0x9E37_79B9_7F4A_7C15)) % buckets as u64;
                assert_eq!(u64::from(fz.hash(2, v)), want, "{buckets} {v}");
            }
        }
    }

    #[test]
    fn tokens_are_letter_and_digit_runs_with_byte_offsets() {
        let t = "Seen 04/02/2024 by Tomás (617) 555-0134.";
        let got: Vec<&str> = tokens(t).iter().map(|&(s, e)| &t[s..e]).collect();
        assert_eq!(
            got,
            ["Seen", "04", "02", "2024", "by", "Tomás", "617", "555", "0134"]
        );
    }

    #[test]
    fn neighbouring_tokens_of_a_class_make_one_span() {
        let t = "call (617) 555-0134 on 04/02/2024\nRosa";
        let toks = tokens(t);
        // call 617 555 0134 on 04 02 2024 Rosa
        let classes = [0, 4, 4, 4, 0, 2, 2, 2, 1];
        let mut out = Vec::new();
        spans_of(t, &toks, &classes, &mut out);
        let got: Vec<(&str, PhiKind)> = out.iter().map(|f| (&t[f.start..f.end], f.kind)).collect();
        assert_eq!(
            got,
            [
                ("(617) 555-0134", PhiKind::Phone),
                ("04/02/2024", PhiKind::Date),
                ("Rosa", PhiKind::Name)
            ]
        );
    }

    #[test]
    fn titles_are_no_part_of_a_span() {
        let t = "Dr Orla Byrne; Mme Lucie Perrin; Fr. Paul Moreau; 9 rue des Lilas";
        let span = |a: &str, kind| {
            let start = t.find(a).unwrap();
            Found {
                start,
                end: start + a.len(),
                kind,
            }
        };
        let text_of = |f: Found| &t[f.start..f.end];
        for title in ["Dr", "Mme", "Fr"] {
            let f = without_titles(t, span(title, PhiKind::Address));
            assert_eq!(f.start, f.end, "{title}");
        }
        assert_eq!(
            text_of(without_titles(t, span("Mme Lucie Perrin", PhiKind::Name))),
            "Lucie Perrin"
        );
        assert_eq!(
            text_of(without_titles(t, span("Perrin; Fr", PhiKind::Name))),
            "Perrin"
        );
        let street = span("9 rue des Lilas", PhiKind::Address);
        assert_eq!(without_titles(t, street), street);
        let t = "call (617) 555-0134";
        let phone = Found {
            start: 5,
            end: t.len(),
            kind: PhiKind::Phone,
        };
        assert_eq!(without_titles(t, phone), phone, "the bracket stays");
    }

    #[test]
    fn bare_numbers_short_phones_and_weekdays_are_no_identifiers() {
        for (kind, span) in [
            (PhiKind::Date, "14"),
            (PhiKind::Date, "2023"),
            (PhiKind::Date, "0700"),
            (PhiKind::Age, "45"),
            (PhiKind::Url, "www.example.org"),
            (PhiKind::Phone, "0400"),
            (PhiKind::Phone, "8-550"),
            (PhiKind::Ssn, "17"),
            (PhiKind::Name, "Monday"),
            (PhiKind::Name, "Thursdays"),
            (PhiKind::Date, "Thu"),
            (PhiKind::Name, "Fri Sat"),
        ] {
            assert!(no_identifier(kind, span), "{kind:?} {span}");
        }
        for (kind, span) in [
            (PhiKind::Mrn, "A1234567"),
            (PhiKind::Phone, "555-0134"),
            (PhiKind::Date, "12/01"),
            (PhiKind::Date, "20240315"),
            (PhiKind::Date, "March"),
            (PhiKind::Date, "22nd"),
            (PhiKind::Age, "92"),
            (PhiKind::Mrn, "0221"),
            (PhiKind::Phone, "555 0134"),
            (PhiKind::Ssn, "4412"),
            (PhiKind::Phone, "Box"),
            (PhiKind::Name, "Monday Okafor"),
            (PhiKind::Name, "Sunny"),
            (PhiKind::Name, "Satya"),
        ] {
            assert!(!no_identifier(kind, span), "{kind:?} {span}");
        }
    }

    #[test]
    fn ages_the_model_marks_count_only_over_89() {
        assert!(over_89("92"));
        assert!(over_89("ninety-one"));
        assert!(over_89("101 y/o"));
        assert!(!over_89("45"));
        assert!(!over_89("89"));
        assert!(!over_89("130"));
    }

    #[test]
    fn features_are_the_same_for_the_same_words_and_differ_by_shape() {
        let a = Featurizer::new("Her daughter Kathleen called.", 4096);
        let b = Featurizer::new("Her daughter Kathleen called.", 4096);
        let c = Featurizer::new("Her daughter kathleen called.", 4096);
        let (mut fa, mut fb, mut fc) = ([0; FEATURES], [0; FEATURES], [0; FEATURES]);
        a.token(2, &mut fa);
        b.token(2, &mut fb);
        c.token(2, &mut fc);
        assert_eq!(fa, fb);
        // the folded word is the same, its shape and flags are not
        assert_eq!(fa[2], fc[2]);
        assert_ne!(fa[7], fc[7]);
        assert!(fa.iter().all(|&f| f < 4096));
    }

    #[test]
    fn a_saved_model_loads_back_and_a_wrong_file_is_refused() {
        let (buckets, dim, hidden) = (16, 3, 4);
        let mut k = 0.0f32;
        let mut v = |n: usize| {
            (0..n)
                .map(|_| {
                    k += 0.01;
                    k
                })
                .collect::<Vec<f32>>()
        };
        let d = model(buckets, dim, hidden, &mut v);
        // a model that has been used equals one that has not
        d.classify("Rosa called");
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("d.safetensors");
        d.save(&p).unwrap();
        assert_eq!(Detector::load(&p).unwrap(), d);
        let other = dir.path().join("o.safetensors");
        let mut t = Tensors::new();
        t.insert("layers.0.weight".into(), (vec![1, 1], vec![0.0]));
        weights::save(&other, &t, None).unwrap();
        let err = Detector::load(&other).unwrap_err().to_string();
        assert!(err.contains("features-v1"), "{err}");
    }

    #[test]
    fn ascii_tokens_are_the_tokens_of_the_char_by_char_reading() {
        let by_char = |t: &str| {
            let mut out = Vec::new();
            char_tokens(t, &mut out);
            out
        };
        for text in byte_runs::random_texts(b"ab Z9-/.\n") {
            assert_eq!(tokens(&text), by_char(&text), "{text:?}");
        }
        let whole = "a".repeat(128);
        assert_eq!(tokens(&whole), vec![(0, 128)]);
        assert_eq!(
            tokens(&format!("{} b", "a".repeat(63))),
            vec![(0, 63), (64, 65)]
        );
        assert_eq!(tokens(""), vec![]);
    }

    #[test]
    fn an_ascii_words_one_pass_reads_as_the_char_by_char_definition() {
        let words = [
            "a",
            "Z",
            "9",
            "ab",
            "Ab",
            "AB",
            "a9",
            "abc",
            "ABC",
            "Abc",
            "aBc",
            "abcd",
            "Kathleen",
            "KATHLEEN",
            "McDonald",
            "kathleen",
            "04",
            "2024",
            "1234567890123",
            "3rd",
            "A1B2",
            "MRN",
            "Dr",
            "x1y",
            "ZZZZz",
            "q",
        ];
        for raw in words {
            let (mut a, mut b) = (String::from("left over"), String::new());
            let (one, def) = (Word::ascii(raw.as_bytes(), &mut a), Word::any(raw, &mut b));
            let fields = |w: &Word| [w.word, w.prefix, w.suffix, w.shape, w.case];
            assert_eq!(fields(&one), fields(&def), "{raw}");
            assert_eq!(a, b, "{raw}");
        }
        // the parts differ where the words do
        let mut buf = String::new();
        let (k, m) = (
            Word::ascii(b"Kathleen", &mut buf),
            Word::ascii(b"KATHLEEN", &mut buf),
        );
        assert_eq!((k.word, k.prefix, k.suffix), (m.word, m.prefix, m.suffix));
        assert_eq!((k.case, m.case), (1 << 3, 1 << 4));
        assert_ne!(k.shape, m.shape);
        assert_eq!(Word::ascii(b"abc", &mut buf).prefix, FNV_OFFSET);
        assert_eq!(Word::ascii(b"ab", &mut buf).suffix, FNV_OFFSET);
        assert_eq!(Word::ascii(b"abcd", &mut buf).prefix, fnv(b"abc"));
        assert_eq!(Word::ascii(b"abcd", &mut buf).suffix, fnv(b"bcd"));
    }

    #[test]
    fn titles_are_cut_from_the_ends_of_a_span_only() {
        fn cut(text: &str) -> &str {
            let whole = Found {
                start: 0,
                end: text.len(),
                kind: PhiKind::Name,
            };
            let f = without_titles(text, whole);
            &text[f.start..f.end]
        }
        assert_eq!(cut("Dr Smith"), "Smith");
        assert_eq!(cut("Mrs. Ann Lee, Mr"), "Ann Lee");
        assert_eq!(cut("Ann Dr Lee"), "Ann Dr Lee");
        assert_eq!(cut("Dr. Mme"), "");
        assert_eq!(cut("(617) 555-0134"), "(617) 555-0134");
        assert_eq!(cut("Señor Núñez Dr"), "Señor Núñez");
    }

    #[test]
    fn the_shortcuts_of_decide_agree_with_the_softmax() {
        // the softmax's answer, always computed
        let softmax = |scores: &[f32; CLASSES]| {
            let best = (1..CLASSES).fold(1, |b, c| if scores[c] > scores[b] { c } else { b });
            let top = scores.iter().copied().fold(f32::MIN, f32::max);
            let total: f32 = scores.iter().map(|s| (s - top).exp()).sum();
            if scores[0] < scores[best] && (scores[best] - top).exp() / total >= MIN_PROBABILITY {
                best
            } else {
                0
            }
        };
        // the bounds are where their comments say, with room to spare
        let room = 1.0 / MIN_PROBABILITY - 1.0;
        assert!(SURELY_BELOW.exp() > room * 1.005);
        assert!(SURELY_ABOVE.exp() * ((CLASSES - 1) as f32) < room / 1.005);
        let mut seed = 5u64;
        for _ in 0..200_000 {
            let scores: [f32; CLASSES] = std::array::from_fn(|_| {
                seed = mix(seed);
                (seed >> 40) as f32 / (1u64 << 24) as f32 * 12.0 - 6.0
            });
            assert_eq!(decide(&scores), softmax(&scores), "{scores:?}");
        }
    }

    #[test]
    fn the_shipped_model_loads_and_finds_phi_in_a_note() {
        let d = Detector::builtin().unwrap();
        assert!(d.emb.len() * 4 < 1 << 20, "the model stays under 1 MB");
        let t = "Patient seen on 03/14/2024 with his wife Maria Gonzalez, phone 617-555-0134.";
        let mut out = Vec::new();
        d.find(t, &mut out);
        let kinds: Vec<PhiKind> = out.iter().map(|f| f.kind).collect();
        assert!(kinds.contains(&PhiKind::Date), "{out:?}");
        assert!(kinds.contains(&PhiKind::Name), "{out:?}");
        assert!(kinds.contains(&PhiKind::Phone), "{out:?}");
        // the clinical words around them are left
        assert!(out.iter().all(|f| !t[f.start..f.end].contains("Patient")));
    }
}
