//! Many rules' regexes in one pass over a text: which of them match, and
//! between where each one's matches can begin and where its last match
//! ends. A rule then searches that window of the text only: the rest of a
//! note after the header that holds its one "MRN:" or "Patient:" is never
//! read again by that rule, nor the note before the first "daughter" that
//! a relative's name follows.
//!
//! A search over the window finds exactly the matches of a search over the
//! whole text: every match of the rule ends at or before its last end (the
//! pass reports the end of every match of every rule, whatever its
//! start), none begins before the window (below), and a search over part
//! of a text still reads the text around it for its assertions (`\b`,
//! `$`), as `regex_automata::Input` spans do. Before this, a `RegexSet`
//! said only which rules match, and each of those searched the whole note.
//!
//! Where a window begins: a rule's regex is a sequence of parts, and its
//! leading parts, up to the first that can repeat without bound, match at
//! most so many bytes (`daughter|son|wife ...`, a title, a phone number's
//! digits), to which the lead of that unbounded part adds (`lead`: what
//! it repeats, each of its alternatives' leads, or, where it may be
//! absent, also the lead of what follows it). Every match of the rule
//! begins with a match of that lead, so none begins further back from
//! the first end of one than the lead's longest match. The leads join the
//! pass as patterns of their own; where the whole regex is of bounded
//! length, its own first end serves. A lead that can match fewer than
//! `SHORTEST_LEAD` bytes (`[A-Z]{2}`, `\d`) would match nearly everywhere
//! and slow the pass for a window that begins near the text's start: such
//! a rule's window begins there, unless the lead is words ("gp", "Mr"),
//! which are rare at two bytes.
//!
//! The pass reads a long count as no count (`loosened`): the windows it
//! gives then hold more than the rule's matches, never fewer, and its
//! DFA is spared a state for each step of the count.

use std::panic::{RefUnwindSafe, UnwindSafe};

use regex_automata::hybrid::dfa::{Cache, OverlappingState, DFA};
use regex_automata::nfa::thompson;
use regex_automata::util::pool::Pool;
use regex_automata::util::syntax;
use regex_automata::{meta, Input, MatchKind};
use regex_syntax::hir::{Capture, Class, Hir, HirKind, Repetition};

use super::patterns::DFA_CACHE;

type CacheFn = Box<dyn Fn() -> Cache + Send + Sync + UnwindSafe + RefUnwindSafe>;

/// The fewest bytes a rule's leading parts must match to bound where its
/// matches begin (see the module's comment).
const SHORTEST_LEAD: usize = 3;

/// A rule's regex as `patterns::compile` builds a `regex::Regex` (the
/// same configuration `regex::RegexBuilder` gives its engine), so that it
/// can search part of a text.
pub fn rule_regex(pattern: &str) -> Option<meta::Regex> {
    meta::Builder::new()
        .configure(
            meta::Config::new()
                .nfa_size_limit(Some(10 << 20))
                .hybrid_cache_capacity(DFA_CACHE)
                .match_kind(MatchKind::LeftmostFirst)
                .utf8_empty(true),
        )
        .syntax(syntax_config())
        .build(pattern)
        .ok()
}

fn syntax_config() -> syntax::Config {
    syntax::Config::new().utf8(true)
}

/// Where a rule's matches lie in a text: none begins before `from`, none
/// ends after `to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub from: usize,
    pub to: usize,
}

impl Window {
    /// All of `text`.
    fn all(text: &str) -> Window {
        Window {
            from: 0,
            to: text.len(),
        }
    }
}

/// `text` over `window` for a rule's search, its assertions reading on
/// either side.
pub fn within(text: &str, window: Window) -> Input<'_> {
    Input::new(text).range(window.from..window.to)
}

/// Which pattern of the pass bounds where a rule's matches begin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Lead {
    /// The pattern's index in the pass: every match of the rule begins
    /// with a match of it,
    pattern: usize,
    /// which is at most this many bytes long.
    longest: usize,
}

/// Every rule of a list at once, as one lazy DFA that reports every
/// match of every rule (`MatchKind::All`), overlapping ones included, and
/// of each rule's leading parts.
pub struct RuleWindows {
    rules: usize,
    /// One a rule; `None`: its window begins at the text's start.
    leads: Vec<Option<Lead>>,
    /// How many patterns the pass holds: the rules, then their leading parts.
    patterns: usize,
    /// `None` if it could not be built: then every rule searches all.
    all: Option<DFA>,
    caches: Pool<Cache, CacheFn>,
}

impl RuleWindows {
    pub fn new<'a>(rules: impl IntoIterator<Item = &'a str>) -> RuleWindows {
        let rules: Vec<&str> = rules.into_iter().collect();
        let mut patterns: Vec<String> = rules.iter().map(|r| r.to_string()).collect();
        let leads: Vec<Option<Lead>> = rules
            .iter()
            .enumerate()
            .map(|(i, rule)| {
                let (part, longest) = leading_part(rule)?;
                let pattern = match part {
                    None => i,
                    Some(part) => {
                        patterns.push(part);
                        patterns.len() - 1
                    }
                };
                Some(Lead { pattern, longest })
            })
            .collect();
        let all = one_pass(&patterns);
        let for_caches = all.clone();
        let create: CacheFn = Box::new(move || match &for_caches {
            Some(dfa) => Cache::new(dfa),
            // never searched: `find` reads no cache without a DFA
            None => Cache::new(&DFA::always_match().expect("a DFA that always matches")),
        });
        RuleWindows {
            rules: rules.len(),
            leads,
            patterns: patterns.len(),
            all,
            caches: Pool::new(create),
        }
    }

    /// Whether the rules were built into one DFA (if not, `find` says
    /// every rule may match anywhere).
    #[cfg(test)]
    pub fn is_built(&self) -> bool {
        self.all.is_some()
    }

    /// For each rule, in order, the window of `text` its matches lie in,
    /// or `None` where it has none.
    pub fn find(&self, text: &str, windows: &mut Vec<Option<Window>>) {
        windows.clear();
        let Some(dfa) = &self.all else {
            windows.resize(self.rules, Some(Window::all(text)));
            return;
        };
        // each pattern's first and last end (the pass reports ends in order)
        let mut ends: Vec<Option<(usize, usize)>> = vec![None; self.patterns];
        let mut cache = self.caches.get();
        let input = Input::new(text);
        let mut state = OverlappingState::start();
        loop {
            if dfa
                .try_search_overlapping_fwd(&mut cache, &input, &mut state)
                .is_err()
            {
                // the lazy DFA gave up (a Unicode \b on a text that is not
                // all ASCII): every rule searches the whole text
                windows.resize(self.rules, Some(Window::all(text)));
                return;
            }
            let Some(m) = state.get_match() else { break };
            let end = &mut ends[m.pattern().as_usize()];
            *end = Some(end.map_or((m.offset(), m.offset()), |(first, _)| (first, m.offset())));
        }
        windows.extend(
            ends[..self.rules]
                .iter()
                .zip(&self.leads)
                .map(|(own, lead)| {
                    let (_, to) = (*own)?;
                    let from = lead
                        .and_then(|lead| Some(ends[lead.pattern]?.0.saturating_sub(lead.longest)))
                        .unwrap_or(0);
                    Some(Window {
                        from: from.min(to),
                        to,
                    })
                }),
        );
    }
}

/// The one lazy DFA of every pattern, each loosened (`loosened`). `None`
/// where one does not parse or the DFA cannot be built.
fn one_pass(patterns: &[String]) -> Option<DFA> {
    let hirs = patterns
        .iter()
        .map(|p| Some(loosened(&syntax::parse_with(p, &syntax_config()).ok()?)))
        .collect::<Option<Vec<Hir>>>()?;
    let nfa = thompson::Compiler::new()
        .configure(thompson::Config::new().which_captures(thompson::WhichCaptures::None))
        .build_many_from_hir(&hirs)
        .ok()?;
    DFA::builder()
        .configure(
            DFA::config()
                .match_kind(MatchKind::All)
                .cache_capacity(DFA_CACHE)
                // as `regex` does: a Unicode \b, where a rule has one,
                // gives up on a text that is not all ASCII (then every
                // rule searches all of it) rather than fail to build
                .unicode_word_boundary(true),
        )
        .build_from_nfa(nfa)
        .ok()
}

/// The most times a repetition's count may allow in the one pass.
const LONGEST_COUNT: u32 = 16;

/// `hir` with every repetition of more than `LONGEST_COUNT` times read as
/// one without bound ("(?:[^\n;]|\n[ \t]*){0,45}?" as "...*?"): what it
/// matches includes every match of `hir`, so the windows it gives still
/// hold every match of the rule (the rule's own search keeps the count),
/// and the DFA needs one state where a count needs one a step. Inside the
/// pass, where every rule's states combine, a count of 45 after
/// "neighbour" made states enough that building them cost the first pass
/// over the bench's notes 6% of its instructions.
fn loosened(hir: &Hir) -> Hir {
    match hir.kind() {
        HirKind::Repetition(r) => Hir::repetition(Repetition {
            min: r.min,
            max: r.max.filter(|&max| max <= LONGEST_COUNT),
            greedy: r.greedy,
            sub: Box::new(loosened(&r.sub)),
        }),
        HirKind::Capture(c) => Hir::capture(Capture {
            sub: Box::new(loosened(&c.sub)),
            ..c.clone()
        }),
        HirKind::Concat(parts) => Hir::concat(parts.iter().map(loosened).collect()),
        HirKind::Alternation(alternatives) => {
            Hir::alternation(alternatives.iter().map(loosened).collect())
        }
        _ => hir.clone(),
    }
}

/// A rule's leading parts of bounded length (see the module's comment) as
/// a pattern of their own (`None`: the whole rule is of bounded length),
/// and the most bytes they match. `None` where they can match fewer than
/// `SHORTEST_LEAD` bytes (two where they are words), or the rule does not
/// parse.
fn leading_part(rule: &str) -> Option<(Option<String>, usize)> {
    let hir = syntax::parse_with(rule, &syntax_config()).ok()?;
    if let Some(longest) = hir.properties().maximum_len() {
        return Some((None, longest));
    }
    let lead = lead(&hir)?;
    let shortest = lead.properties().minimum_len()?;
    let longest = lead.properties().maximum_len()?;
    let enough = shortest >= SHORTEST_LEAD || (shortest >= 2 && is_words(&lead));
    enough.then(|| (Some(lead.to_string()), longest))
}

/// A regex of bounded length that every match of `hir` begins with a
/// match of: `hir` itself where it is bounded; the bounded parts of a
/// sequence and then the lead of its first unbounded one (or, where that
/// one may be absent, of what follows it); the leads of each alternative;
/// the lead of what a repetition repeats. `None` where there is none.
fn lead(hir: &Hir) -> Option<Hir> {
    if hir.properties().maximum_len().is_some() {
        return Some(hir.clone());
    }
    match hir.kind() {
        HirKind::Capture(c) => lead(&c.sub),
        HirKind::Repetition(r) if r.min > 0 => lead(&r.sub),
        HirKind::Alternation(alternatives) => Some(Hir::alternation(
            alternatives.iter().map(lead).collect::<Option<_>>()?,
        )),
        HirKind::Concat(parts) => {
            let bounded = parts
                .iter()
                .take_while(|p| p.properties().maximum_len().is_some())
                .count();
            let (unbounded, after) = parts[bounded..].split_first()?;
            let next = match unbounded.kind() {
                HirKind::Repetition(r) if r.min == 0 => {
                    Hir::alternation(vec![lead(&r.sub)?, lead(&Hir::concat(after.to_vec()))?])
                }
                _ => lead(unbounded)?,
            };
            Some(Hir::concat(
                parts[..bounded].iter().cloned().chain([next]).collect(),
            ))
        }
        _ => None,
    }
}

/// Whether `hir` matches words as written, in any of their cases, and
/// nothing else: each class is a letter's cases ("[Mm]", "[Kk\u{212A}]"),
/// never `\d` or `[A-Z]`. Such leading parts are rare in a text even at
/// two bytes ("gp", "Mr"), where `[A-Z]{2}` matches at every capital.
fn is_words(hir: &Hir) -> bool {
    let cases = |n: u32| n <= 3;
    match hir.kind() {
        HirKind::Empty | HirKind::Literal(_) | HirKind::Look(_) => true,
        HirKind::Class(Class::Unicode(c)) => cases(
            c.ranges()
                .iter()
                .map(|r| u32::from(r.end()) - u32::from(r.start()) + 1)
                .sum(),
        ),
        HirKind::Class(Class::Bytes(c)) => cases(
            c.ranges()
                .iter()
                .map(|r| u32::from(r.end() - r.start()) + 1)
                .sum(),
        ),
        HirKind::Repetition(r) => r.max.is_some() && is_words(&r.sub),
        HirKind::Capture(c) => is_words(&c.sub),
        HirKind::Concat(v) | HirKind::Alternation(v) => v.iter().all(is_words),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use regex_automata::Span;

    /// A search's matches, each with its capture groups.
    type Matches = Vec<Vec<Option<Span>>>;

    /// Each rule's matches, with their capture groups, searched over all
    /// of `text` and over the rule's window alone.
    fn both_ways(rule: &str, text: &str, window: Option<Window>) -> (Matches, Matches) {
        let re = rule_regex(rule).unwrap();
        let groups = |input: Input| -> Matches {
            re.captures_iter(input)
                .map(|c| (0..c.group_len()).map(|g| c.get_group(g)).collect())
                .collect()
        };
        let part = window.map_or_else(Vec::new, |w| groups(within(text, w)));
        (groups(Input::new(text)), part)
    }

    #[test]
    fn each_rules_window_and_the_same_matches_in_it() {
        let rules = [
            // leading parts "MRN:" (first ends at 4, four bytes long)
            r"(?i)\bMRN:\s*(\d+)",
            // of bounded length: its own first end (23) less eight bytes
            // (`\d`, a Unicode digit, would be up to four bytes each)
            r"\b[0-9]{3}-[0-9]{4}\b",
            // leading parts of one byte ("[A-Z]"): from the start
            r"(?-u:\b)[A-Z][a-z]+(?-u:\b)",
            r"never here",
            // "Okafor;" and a space or a word's character (what `\s*` may
            // be, or the word): first ends at 50, at most 11 bytes long
            // (a character is up to four)
            r"Okafor;\s*(\w+)",
            // "mrn:" first ends at 4, the match is at 50: a bound, not the start
            r"(?i)\bmrn:\s*7",
        ];
        let windows = RuleWindows::new(rules);
        assert!(windows.is_built());
        assert_eq!(
            windows.patterns,
            rules.len() + 3,
            "leading parts of rules 0, 4 and 5"
        );
        let text = "MRN: 0042 call 555-0134 or 555-0199x, Mrs Okafor; mrn:7 end";
        let mut got = Vec::new();
        windows.find(text, &mut got);
        let w = |from, to| Some(Window { from, to });
        assert_eq!(
            got,
            vec![w(0, 55), w(15, 23), w(0, 48), None, w(39, 53), w(0, 55)]
        );
        for (rule, window) in rules.iter().zip(&got) {
            let (whole, part) = both_ways(rule, text, *window);
            assert_eq!(part, whole, "{rule}");
        }
        // a \b just past either side is read from the text, not taken as its edge
        let re = rule_regex(r"\b\d{3}\b").unwrap();
        assert_eq!(
            re.find_iter(within("1234", Window { from: 0, to: 3 }))
                .count(),
            0
        );
        assert_eq!(
            re.find_iter(within("1234", Window { from: 1, to: 4 }))
                .count(),
            0
        );
        windows.find("", &mut got);
        assert_eq!(got, vec![None; rules.len()]);
    }

    #[test]
    fn the_pass_reads_a_long_count_as_none_and_its_windows_hold_every_match() {
        let parse = |p: &str| syntax::parse_with(p, &syntax_config()).unwrap();
        assert_eq!(
            loosened(&parse(r"neighbour(?:[^;]|\n){0,45}?(at|\()x{3,40}")),
            parse(r"neighbour(?:[^;]|\n)*?(at|\()x{3,}")
        );
        // a count the pass keeps: the digits of a date
        assert_eq!(loosened(&parse(r"\d{1,4}/\d{2}")), parse(r"\d{1,4}/\d{2}"));
        // the pass finds a match 60 characters on that the rule does not,
        // and the window holds the rule's one match
        let rule = r"neighbour[^;]{0,45}?at (\d+)";
        let text = format!("neighbour at 12; neighbour{}at 34", " ".repeat(60));
        let windows = RuleWindows::new([rule]);
        let mut got = Vec::new();
        windows.find(&text, &mut got);
        assert_eq!(
            got,
            vec![Some(Window {
                from: 0,
                to: text.len()
            })]
        );
        let (whole, part) = both_ways(rule, &text, got[0]);
        assert_eq!(whole.len(), 1);
        assert_eq!(part, whole);
    }

    #[test]
    fn every_rule_finds_in_its_window_what_it_finds_in_the_whole_note() {
        // every rule of the scrubber (patterns and names) over the notes of
        // the development sets, written by people, not the generator
        let rules: Vec<String> = super::super::patterns::Patterns::new()
            .regexes()
            .chain(super::super::names::Names::builtin().regexes())
            .map(String::from)
            .collect();
        let windows = RuleWindows::new(rules.iter().map(String::as_str));
        assert!(windows.is_built());
        let with_lead = windows.leads.iter().filter(|l| l.is_some()).count();
        assert!(
            with_lead * 3 > rules.len(),
            "{with_lead} of {}",
            rules.len()
        );
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
        let (mut notes, mut matches, mut narrowed) = (0, 0, 0);
        for set in ["deid-dev", "deid-dev4", "deid-dev8", "deid-dev9"] {
            for entry in std::fs::read_dir(root.join(set)).unwrap() {
                let path = entry.unwrap().path();
                if path.extension().is_none_or(|e| e != "txt") {
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap();
                notes += 1;
                let mut got = Vec::new();
                windows.find(&text, &mut got);
                for (rule, window) in rules.iter().zip(&got) {
                    let (whole, part) = both_ways(rule, &text, *window);
                    assert_eq!(part, whole, "{} {rule}", path.display());
                    matches += whole.len();
                    narrowed += usize::from(window.is_some_and(|w| w.from > 0));
                }
            }
        }
        assert!(
            notes > 60 && matches > 2000 && narrowed > 500,
            "{notes} {matches} {narrowed}"
        );
    }

    #[test]
    fn a_rule_regex_matches_as_the_regex_crate_does() {
        for (pattern, text) in [
            (
                r"(?i)\bdr\.?\s+(\p{Lu}\p{Ll}+)",
                "seen by DR. Ødegård and dr Alvarez",
            ),
            (r"(?m)^(\d{2})\.(\d{2})\.$", "12.03.\n1.2.\n31.12."),
            (r"a*", "baaac"),
        ] {
            let ours: Vec<_> = rule_regex(pattern)
                .unwrap()
                .captures_iter(text)
                .map(|c| c.get_group(1).map(|s| s.range()))
                .collect();
            let theirs: Vec<_> = regex::Regex::new(pattern)
                .unwrap()
                .captures_iter(text)
                .map(|c| c.get(1).map(|m| m.range()))
                .collect();
            assert_eq!(ours, theirs, "{pattern}");
        }
    }
}
