//! Many rules' regexes in one pass over a text: which of them match, and
//! where the last match of each ends. A rule then searches the text only
//! up to that end: the rest of a note after the header that holds its one
//! "MRN:" or "Patient:" is never read again by that rule.
//!
//! A search stopped there finds exactly the matches of a search over the
//! whole text: every match of the rule ends at or before its last end (the
//! pass reports the end of every match of every rule, whatever its
//! start), and a search over part of a text still reads the text around
//! it for its assertions (`\b`, `$`), as `regex_automata::Input` spans do.
//! Before this, a `RegexSet` said only which rules match, and each of
//! those searched the whole note.

use std::panic::{RefUnwindSafe, UnwindSafe};

use regex_automata::hybrid::dfa::{Cache, OverlappingState, DFA};
use regex_automata::nfa::thompson;
use regex_automata::util::pool::Pool;
use regex_automata::util::syntax;
use regex_automata::{meta, Input, MatchKind};

use super::patterns::DFA_CACHE;

type CacheFn = Box<dyn Fn() -> Cache + Send + Sync + UnwindSafe + RefUnwindSafe>;

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
        .syntax(syntax::Config::new().utf8(true))
        .build(pattern)
        .ok()
}

/// `text` up to `end` for a rule's search, its assertions reading on past it.
pub fn until(text: &str, end: usize) -> Input<'_> {
    Input::new(text).range(..end)
}

/// Every rule of a list at once, as one lazy DFA that reports every
/// match of every rule (`MatchKind::All`), overlapping ones included.
pub struct RuleEnds {
    rules: usize,
    /// `None` if it could not be built: then every rule searches all.
    all: Option<DFA>,
    caches: Pool<Cache, CacheFn>,
}

impl RuleEnds {
    pub fn new<'a>(patterns: impl IntoIterator<Item = &'a str>) -> RuleEnds {
        let patterns: Vec<&str> = patterns.into_iter().collect();
        let all = DFA::builder()
            .configure(
                DFA::config()
                    .match_kind(MatchKind::All)
                    .cache_capacity(DFA_CACHE)
                    // as `regex` does: a Unicode \b, where a rule has one,
                    // gives up on a text that is not all ASCII (then every
                    // rule searches all of it) rather than fail to build
                    .unicode_word_boundary(true),
            )
            .syntax(syntax::Config::new().utf8(true))
            .thompson(thompson::Config::new().which_captures(thompson::WhichCaptures::None))
            .build_many(&patterns)
            .ok();
        let for_caches = all.clone();
        let create: CacheFn = Box::new(move || match &for_caches {
            Some(dfa) => Cache::new(dfa),
            // never searched: `find` reads no cache without a DFA
            None => Cache::new(&DFA::always_match().expect("a DFA that always matches")),
        });
        RuleEnds {
            rules: patterns.len(),
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

    /// For each rule, in order, the end of its last match in `text`, or
    /// `None` where it has none.
    pub fn find(&self, text: &str, ends: &mut Vec<Option<usize>>) {
        ends.clear();
        ends.resize(self.rules, None);
        let Some(dfa) = &self.all else {
            ends.fill(Some(text.len()));
            return;
        };
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
                ends.fill(Some(text.len()));
                return;
            }
            let Some(m) = state.get_match() else { break };
            let end = &mut ends[m.pattern().as_usize()];
            *end = Some(end.map_or(m.offset(), |e| e.max(m.offset())));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_end_of_each_rule_and_the_same_matches_up_to_it() {
        let rules = [
            r"(?i)\bMRN:\s*(\d+)",
            r"\b\d{3}-\d{4}\b",
            r"(?-u:\b)[A-Z][a-z]+(?-u:\b)",
            r"never here",
        ];
        let ends = RuleEnds::new(rules);
        assert!(ends.is_built());
        let text = "MRN: 0042 call 555-0134 or 555-0199x, Mrs Okafor; mrn:7 end";
        let mut got = Vec::new();
        ends.find(text, &mut got);
        assert_eq!(got, vec![Some(55), Some(23), Some(48), None]);
        // each rule up to its end finds what it finds in the whole text
        for (pattern, end) in rules.iter().zip(&got) {
            let re = rule_regex(pattern).unwrap();
            let whole: Vec<_> = re.find_iter(text).map(|m| m.range()).collect();
            let part: Vec<_> = match end {
                Some(end) => re.find_iter(until(text, *end)).map(|m| m.range()).collect(),
                None => vec![],
            };
            assert_eq!(part, whole, "{pattern}");
        }
        // a \b just past the end is read from the text, not taken as its end
        let re = rule_regex(r"\b\d{3}\b").unwrap();
        assert_eq!(re.find_iter(until("1234", 3)).count(), 0);
        ends.find("", &mut got);
        assert_eq!(got, vec![None; 4]);
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
