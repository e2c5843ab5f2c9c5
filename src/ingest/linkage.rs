//! Record linkage: one master patient index (MPI) over every source.
//!
//! Deterministic rules link first: the same id in the same system, a pair in
//! the crosswalk, the exact same name and birth date. Then a probabilistic
//! Fellegi–Sunter score compares the remaining candidate pairs (blocked on
//! keys such as birth date and family-name prefix, so not every pair is
//! compared): each field adds log2(m/u) for the level it compares at
//! (agree, partly agree, disagree), where m = P(level | same person) and
//! u = P(level | different people). The weights are estimated from the
//! records ([`Model::estimate`]): u from random pairs, m by EM over the
//! candidate pairs, and the u of an agreeing name or ZIP from how common the
//! value is ([`Frequencies`]). Pairs scoring at or above `match`
//! are linked, those between `review` and `match` are listed for a person
//! to decide, the rest are different people. Clusters are the connected
//! components of the links, except that no link may join two records whose
//! strong identifiers conflict ([`conflict`]): those pairs are listed for
//! review too, and only the crosswalk (a person's decision) merges them.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::clinical::records::Patient;

/// One crosswalk row: (source, id) in one system linked to (source, id) in another.
pub type CrosswalkLink = ((String, String), (String, String));

/// Jaro similarity of two strings (by characters), in 0..=1.
pub fn jaro(a: &str, b: &str) -> f64 {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let window = (a.len().max(b.len()) / 2).saturating_sub(1);
    let mut a_match = vec![false; a.len()];
    let mut b_match = vec![false; b.len()];
    let mut matches = 0usize;
    for (i, ca) in a.iter().enumerate() {
        let lo = i.saturating_sub(window);
        let hi = (i + window + 1).min(b.len());
        for j in lo..hi {
            if !b_match[j] && b[j] == *ca {
                a_match[i] = true;
                b_match[j] = true;
                matches += 1;
                break;
            }
        }
    }
    if matches == 0 {
        return 0.0;
    }
    let a_seq = a.iter().zip(&a_match).filter(|(_, m)| **m).map(|(c, _)| c);
    let b_seq = b.iter().zip(&b_match).filter(|(_, m)| **m).map(|(c, _)| c);
    let half_transpositions = a_seq.zip(b_seq).filter(|(x, y)| x != y).count();
    let m = matches as f64;
    let t = (half_transpositions / 2) as f64;
    (m / a.len() as f64 + m / b.len() as f64 + (m - t) / m) / 3.0
}

/// Jaro–Winkler similarity: Jaro boosted by the common prefix (up to 4
/// characters, scale 0.1), as Winkler (1990) defined it.
pub fn jaro_winkler(a: &str, b: &str) -> f64 {
    let j = jaro(a, b);
    let prefix = a
        .chars()
        .zip(b.chars())
        .take(4)
        .take_while(|(x, y)| x == y)
        .count() as f64;
    j + prefix * 0.1 * (1.0 - j)
}

/// m and u probabilities of one field.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MU {
    pub m: f64,
    pub u: f64,
}

/// Linkage settings: m/u per field and the two thresholds (in log2 units).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LinkageConfig {
    pub given_name: MU,
    pub family_name: MU,
    pub birth_date: MU,
    pub sex: MU,
    pub zip: MU,
    /// Jaro–Winkler at or above this counts as full agreement on a name...
    pub name_agree: f64,
    /// ...and at or above this as partial agreement (half the weight).
    pub name_partial: f64,
    /// Score at or above which two records are linked.
    pub match_threshold: f64,
    /// Score at or above which a pair is listed for clerical review.
    pub review_threshold: f64,
    /// Estimate m and u from the records ([`Model::estimate`]); false keeps
    /// the m and u above as they are.
    pub estimate_weights: bool,
}

impl LinkageConfig {
    /// The m/u of each field, in the order of [`FIELDS`].
    fn fields(&self) -> [MU; 5] {
        [
            self.given_name,
            self.family_name,
            self.birth_date,
            self.sex,
            self.zip,
        ]
    }
}

impl Default for LinkageConfig {
    fn default() -> Self {
        LinkageConfig {
            given_name: MU { m: 0.95, u: 0.01 },
            family_name: MU { m: 0.95, u: 0.005 },
            birth_date: MU { m: 0.97, u: 0.001 },
            sex: MU { m: 0.98, u: 0.5 },
            zip: MU { m: 0.85, u: 0.05 },
            name_agree: 0.94,
            name_partial: 0.88,
            match_threshold: 16.0,
            review_threshold: 8.0,
            estimate_weights: true,
        }
    }
}

fn norm(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_uppercase)
        .collect()
}

/// How often each value of a field occurs among the records being linked.
///
/// The u probability of a field (two records of *different* people agree on
/// it by chance) is not the same for every value: two "James" agree far
/// more often by chance than two "Zebedee". For agreement on a value v, the
/// chance that a random other record has v is its relative frequency f_v
/// (among the records but the pair's own two), so the weight of that
/// agreement is log2(m / max(f_v, u)): the configured
/// u is the floor (the weight of the rarest values), and a common value
/// weighs less. Counted once over the input, in a BTreeMap: the same records
/// always give the same weights.
#[derive(Debug, Clone, Default)]
pub struct Frequencies {
    records: f64,
    given_name: BTreeMap<String, u64>,
    family_name: BTreeMap<String, u64>,
    zip: BTreeMap<String, u64>,
}

impl Frequencies {
    /// Count the normalised names and ZIP codes of `patients`.
    pub fn count<'a>(patients: impl IntoIterator<Item = &'a Patient>) -> Frequencies {
        let mut f = Frequencies::default();
        for p in patients {
            f.records += 1.0;
            for (map, v) in [
                (&mut f.given_name, norm(&p.given_name)),
                (&mut f.family_name, norm(&p.family_name)),
                (&mut f.zip, p.zip.trim().to_string()),
            ] {
                if !v.is_empty() {
                    *map.entry(v).or_default() += 1;
                }
            }
        }
        f
    }

    /// The u of agreement on `value`: the share of the *other* records that
    /// hold it (the pair's own two are not agreement by chance, which keeps
    /// a small population from making every name look common), never below
    /// the field's configured u.
    fn u(&self, map: &BTreeMap<String, u64>, value: &str, floor: f64) -> f64 {
        let others = self.records - 2.0;
        let share = match map.get(value) {
            Some(&n) if others > 0.0 => (n as f64 - 2.0).max(0.0) / others,
            _ => 0.0,
        };
        share.max(floor)
    }
}

/// The fields a pair is compared on, in the order of a [`Gamma`].
pub const FIELDS: [&str; 5] = ["given_name", "family_name", "birth_date", "sex", "zip"];
const GIVEN: usize = 0;
const FAMILY: usize = 1;
const ZIP: usize = 4;

/// How two records compare on one field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Agree = 0,
    /// A near name (Jaro–Winkler between `name_partial` and `name_agree`),
    /// or a birth date with one part changed or day and month swapped.
    Partial = 1,
    Disagree = 2,
}

/// A pair's comparison vector: a level per field of [`FIELDS`], `None`
/// where either record lacks the field (it then says nothing either way).
pub type Gamma = [Option<Level>; 5];

/// Compare two records field by field.
pub fn compare(a: &Patient, b: &Patient, cfg: &LinkageConfig) -> Gamma {
    let name = |x: &str, y: &str| {
        let (x, y) = (norm(x), norm(y));
        if x.is_empty() || y.is_empty() {
            return None;
        }
        let jw = jaro_winkler(&x, &y);
        Some(if jw >= cfg.name_agree {
            Level::Agree
        } else if jw >= cfg.name_partial {
            Level::Partial
        } else {
            Level::Disagree
        })
    };
    let exact = |x: &str, y: &str| {
        let (x, y) = (x.trim(), y.trim());
        (!x.is_empty() && !y.is_empty()).then_some(if x == y {
            Level::Agree
        } else {
            Level::Disagree
        })
    };
    let birth = if a.birth_date == b.birth_date {
        Level::Agree
    } else if near_date(a.birth_date, b.birth_date) {
        Level::Partial
    } else {
        Level::Disagree
    };
    [
        name(&a.given_name, &b.given_name),
        name(&a.family_name, &b.family_name),
        Some(birth),
        exact(&a.sex, &b.sex),
        exact(&a.zip, &b.zip),
    ]
}

/// m and u of every level of every field: `m[f][l]` = P(level l on field f
/// | same person), `u[f][l]` = P(level l | different people).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Weights {
    pub m: [[f64; 3]; 5],
    pub u: [[f64; 3]; 5],
}

impl Weights {
    /// The configured probabilities: agreement at the field's m and u, the
    /// rest of m and of u shared between partial agreement and disagreement.
    pub fn configured(cfg: &LinkageConfig) -> Weights {
        let mus = cfg.fields();
        Weights {
            m: mus.map(|mu| [mu.m, (1.0 - mu.m) / 2.0, (1.0 - mu.m) / 2.0]),
            u: mus.map(|mu| [mu.u, mu.u, 1.0 - 2.0 * mu.u]),
        }
    }

    /// log2(m/u) of a level, the u of an agreement (full or partial) never
    /// below the field's configured u: that u caps what one field can say,
    /// however rare agreement on it is by chance.
    fn weight(&self, f: usize, level: Level, floor: f64) -> f64 {
        let l = level as usize;
        let u = match level {
            Level::Disagree => self.u[f][l],
            _ => self.u[f][l].max(floor),
        };
        (self.m[f][l] / u).log2()
    }
}

/// Random record pairs drawn to estimate u.
const RANDOM_PAIRS: usize = 200_000;
/// Fewer record pairs than this in all (about 140 records) and u stays as
/// configured: a few pairs say little about agreement by chance.
const MIN_RANDOM_PAIRS: usize = 10_000;
/// EM's m of a field is used only when the pairs it was fitted on hold at
/// least this many same-person pairs (by EM's own estimate): among pairs
/// that are nearly all different people there is no m to estimate, and EM
/// would fit their similarity instead.
const MIN_MATCHES: f64 = 100.0;
/// ...and at least this share of them: a few hundred odd pairs among a
/// million of namesakes are not a population of duplicates.
const MIN_MATCH_SHARE: f64 = 0.01;
/// Training blocks larger than this are left out (quadratic in size).
const MAX_TRAINING_BLOCK: usize = 200;

/// One EM fit on the pairs of one training block rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EmFit {
    /// The rule the pairs share, e.g. `birth_date + family_name[..2]`.
    pub rule: String,
    pub pairs: u64,
    pub iterations: u32,
    /// EM's estimate of the same-person pairs among them.
    pub matches: f64,
    /// The fields whose m this fit estimated (those the rule does not fix),
    /// or none when it found too few same-person pairs, or an m under 0.5
    /// for agreement (not same-person pairs, then).
    pub estimated: Vec<String>,
}

/// How the weights were estimated, for the quality report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Estimation {
    /// Random record pairs u was counted on (0: too few records, u as
    /// configured).
    pub random_pairs: u64,
    pub fits: Vec<EmFit>,
    /// Fields no fit could estimate: their m is the configured one.
    pub configured_m: Vec<String>,
}

/// What scoring a pair needs: the weights and how common each name and ZIP
/// code is.
#[derive(Debug, Clone)]
pub struct Model {
    pub weights: Weights,
    pub freq: Frequencies,
    pub estimation: Option<Estimation>,
}

impl Model {
    /// The configured weights, no value frequencies: scores as configured.
    pub fn configured(cfg: &LinkageConfig) -> Model {
        Model {
            weights: Weights::configured(cfg),
            freq: Frequencies::default(),
            estimation: None,
        }
    }

    /// Weights estimated from the records the way Splink does it: u from
    /// random pairs of records (different people all but always), m by
    /// expectation–maximisation over the pairs of a training block rule,
    /// u held fixed. A rule's pairs agree on the fields it blocks on
    /// whatever they are, so each fit leaves those fields out and estimates
    /// the others' m; three rules (birth date with either name's prefix,
    /// and the full name) together cover every field. EM finds the m of a
    /// field only where same-person pairs exist: with no duplicates to
    /// find, the configured m stays. An m estimated by
    /// two fits is their mean weighted by same-person pairs. Deterministic:
    /// the random pairs come from a fixed seed.
    pub fn estimate(records: &[(String, Patient)], cfg: &LinkageConfig) -> Model {
        let freq = Frequencies::count(records.iter().map(|(_, p)| p));
        if !cfg.estimate_weights {
            return Model {
                freq,
                ..Model::configured(cfg)
            };
        }
        let mut weights = Weights::configured(cfg);
        let n = records.len();
        let random_pairs = if n * n.saturating_sub(1) / 2 >= MIN_RANDOM_PAIRS {
            let (u, drawn) = random_pair_u(records, cfg);
            weights.u = u;
            drawn
        } else {
            0
        };
        let mut sums = [[0.0f64; 3]; 5];
        let mut mass = [0.0f64; 5];
        let mut fits = Vec::new();
        for rule in TrainingRule::ALL {
            let mut patterns: BTreeMap<Gamma, f64> = BTreeMap::new();
            let mut pairs = 0u64;
            for group in rule.blocks(records).chunk_by(|x, y| x.0 == y.0) {
                if group.len() > MAX_TRAINING_BLOCK {
                    continue;
                }
                for (k, &(_, a)) in group.iter().enumerate() {
                    for &(_, b) in &group[k + 1..] {
                        let (a, b) = (a as usize, b as usize);
                        let mut gamma = compare(&records[a].1, &records[b].1, cfg);
                        for (f, fixed) in rule.fixes().iter().enumerate() {
                            if *fixed {
                                gamma[f] = None;
                            }
                        }
                        *patterns.entry(gamma).or_default() += 1.0;
                        pairs += 1;
                    }
                }
            }
            let (m, share, iterations) = em_m(&patterns, &weights);
            let matches = share * pairs as f64;
            let free: Vec<usize> = (0..5).filter(|&f| !rule.fixes()[f]).collect();
            // same-person pairs agree on each field more often than not; a
            // fit that says otherwise found a kind of namesake, not people
            let plausible = free.iter().all(|&f| m[f][0] > 0.5);
            let mut estimated = Vec::new();
            if matches >= MIN_MATCHES && share >= MIN_MATCH_SHARE && plausible {
                for &f in &free {
                    for l in 0..3 {
                        sums[f][l] += matches * m[f][l];
                    }
                    mass[f] += matches;
                    estimated.push(FIELDS[f].to_string());
                }
            }
            fits.push(EmFit {
                rule: rule.name().to_string(),
                pairs,
                iterations,
                matches,
                estimated,
            });
        }
        let mut configured_m = Vec::new();
        for f in 0..5 {
            if mass[f] > 0.0 {
                weights.m[f] = sums[f].map(|x| x / mass[f]);
            } else {
                configured_m.push(FIELDS[f].to_string());
            }
        }
        Model {
            weights,
            freq,
            estimation: Some(Estimation {
                random_pairs,
                fits,
                configured_m,
            }),
        }
    }
}

/// The block rules EM trains on, each fixing some fields.
#[derive(Debug, Clone, Copy)]
enum TrainingRule {
    BirthDateFamily,
    BirthDateGiven,
    FullName,
}

impl TrainingRule {
    const ALL: [TrainingRule; 3] = [
        TrainingRule::BirthDateFamily,
        TrainingRule::BirthDateGiven,
        TrainingRule::FullName,
    ];

    fn name(self) -> &'static str {
        match self {
            TrainingRule::BirthDateFamily => "birth_date + family_name[..2]",
            TrainingRule::BirthDateGiven => "birth_date + given_name[..2]",
            TrainingRule::FullName => "given_name + family_name",
        }
    }

    /// The fields, in [`FIELDS`] order, whose agreement the rule forces,
    /// or all but forces: a given name nearly always tells the sex, so two
    /// different people of one given name agree on sex far more often than
    /// random pairs do, and EM would read that as a sign of one person.
    fn fixes(self) -> [bool; 5] {
        match self {
            TrainingRule::BirthDateFamily => [false, true, true, false, false],
            TrainingRule::BirthDateGiven => [true, false, true, true, false],
            TrainingRule::FullName => [true, true, false, true, false],
        }
    }

    /// The records grouped by the rule's key (see [`hashed_groups`]).
    fn blocks(self, records: &[(String, Patient)]) -> Vec<(u64, u32)> {
        let prefix = |s: &str| -> String { norm(s).chars().take(2).collect() };
        hashed_groups(records.iter().enumerate().filter_map(|(i, (_, p))| {
            let key = match self {
                TrainingRule::BirthDateFamily => {
                    format!("{}|{}", p.birth_date, prefix(&p.family_name))
                }
                TrainingRule::BirthDateGiven => {
                    format!("{}|{}", p.birth_date, prefix(&p.given_name))
                }
                TrainingRule::FullName => {
                    let (g, f) = (norm(&p.given_name), norm(&p.family_name));
                    if g.is_empty() || f.is_empty() {
                        return None;
                    }
                    format!("{g}|{f}")
                }
            };
            Some((key, i))
        }))
    }
}

/// Record indices with a hash of their key (records without one left out),
/// sorted: the records of a key are adjacent (`chunk_by` on the hash gives
/// the groups) and in record order. A key costs 16 bytes, not a string and
/// a map entry per record: at a million records the map of blocking keys
/// alone took half a gigabyte. Two keys sharing a 64-bit hash (all but
/// never) make one group of both: more pairs compared, none missed.
fn hashed_groups<K: std::hash::Hash>(keys: impl Iterator<Item = (K, usize)>) -> Vec<(u64, u32)> {
    use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
    let hasher = BuildHasherDefault::<DefaultHasher>::default();
    let mut keyed: Vec<(u64, u32)> = keys.map(|(k, i)| (hasher.hash_one(k), i as u32)).collect();
    keyed.sort_unstable();
    keyed
}

/// u of every level, counted over random pairs of records (all pairs when
/// there are fewer); add-one smoothed, so no level has u = 0.
fn random_pair_u(records: &[(String, Patient)], cfg: &LinkageConfig) -> ([[f64; 3]; 5], u64) {
    use rand::{Rng, SeedableRng};
    let n = records.len();
    let mut counts = [[0u64; 3]; 5];
    let mut tally = |a: usize, b: usize| {
        for (f, level) in compare(&records[a].1, &records[b].1, cfg)
            .iter()
            .enumerate()
        {
            if let Some(l) = level {
                counts[f][*l as usize] += 1;
            }
        }
    };
    let all = n * n.saturating_sub(1) / 2;
    let drawn = if all <= RANDOM_PAIRS {
        for a in 0..n {
            for b in a + 1..n {
                tally(a, b);
            }
        }
        all
    } else {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0x11ae);
        let mut k = 0;
        while k < RANDOM_PAIRS {
            let (a, b) = (rng.random_range(0..n), rng.random_range(0..n));
            if a != b {
                tally(a, b);
                k += 1;
            }
        }
        k
    };
    let u = counts.map(|c| {
        let total = (c.iter().sum::<u64>() + 3) as f64;
        c.map(|x| (x + 1) as f64 / total)
    });
    (u, drawn as u64)
}

/// EM for the m probabilities over the candidate pairs, counted by
/// comparison vector; u is held at its random-pair estimate. Returns m, the
/// estimated share of same-person pairs and the iterations run.
fn em_m(patterns: &BTreeMap<Gamma, f64>, start: &Weights) -> ([[f64; 3]; 5], f64, u32) {
    let mut m = start.m;
    let mut share: f64 = 0.5;
    let total: f64 = patterns.values().sum();
    if total == 0.0 {
        return (m, 0.0, 0);
    }
    for iteration in 1..=200 {
        // E: each pattern's probability of being one person
        let mut expected = [[0.0f64; 3]; 5];
        let mut matched = 0.0;
        for (gamma, &count) in patterns {
            let (mut lm, mut lu) = (share.ln(), (1.0 - share).ln());
            for (f, level) in gamma.iter().enumerate() {
                if let Some(l) = level {
                    lm += m[f][*l as usize].ln();
                    lu += start.u[f][*l as usize].ln();
                }
            }
            let p = count / (1.0 + (lu - lm).exp());
            matched += p;
            for (f, level) in gamma.iter().enumerate() {
                if let Some(l) = level {
                    expected[f][*l as usize] += p;
                }
            }
        }
        // M: m from the expected same-person counts (half a pair added to
        // each level, so none reaches 0 and makes a log infinite)
        let next = expected.map(|e| {
            let sum: f64 = e.iter().sum::<f64>() + 1.5;
            e.map(|x| (x + 0.5) / sum)
        });
        let change = (0..5)
            .flat_map(|f| (0..3).map(move |l| (f, l)))
            .map(|(f, l)| (next[f][l] - m[f][l]).abs())
            .fold(0.0, f64::max);
        m = next;
        share = (matched / total).clamp(1e-9, 1.0 - 1e-9);
        if change < 1e-9 {
            return (m, share, iteration);
        }
    }
    (m, share, 200)
}

/// Fellegi–Sunter score of two patient records: the sum over the fields
/// both carry of log2(m/u) at the level they compare at. Agreement on a
/// name or ZIP code weighs by how common that value is (its u is its share
/// of the records, see [`Frequencies`]; `Model::configured` gives the
/// configured, fixed weights).
pub fn score(a: &Patient, b: &Patient, cfg: &LinkageConfig, model: &Model) -> f64 {
    let floors = cfg.fields().map(|mu| mu.u);
    let (w, freq) = (&model.weights, &model.freq);
    let gamma = compare(a, b, cfg);
    let mut s = 0.0;
    for (f, level) in gamma.iter().enumerate() {
        let Some(level) = *level else { continue };
        // the value a pair agrees on, looked up only for agreement (the
        // only level whose u depends on the value)
        let values = match (level, f) {
            (Level::Agree, GIVEN) => {
                Some((&freq.given_name, norm(&a.given_name), norm(&b.given_name)))
            }
            (Level::Agree, FAMILY) => Some((
                &freq.family_name,
                norm(&a.family_name),
                norm(&b.family_name),
            )),
            (Level::Agree, ZIP) => Some((
                &freq.zip,
                a.zip.trim().to_string(),
                b.zip.trim().to_string(),
            )),
            _ => None,
        };
        s += match values {
            Some((map, x, y)) => {
                // a near-exact pair weighs as the more common of its two spellings
                let u = freq.u(map, &x, floors[f]).max(freq.u(map, &y, floors[f]));
                (w.m[f][0] / u).log2()
            }
            _ => w.weight(f, level, floors[f]),
        };
    }
    s
}

fn near_date(a: chrono::NaiveDate, b: chrono::NaiveDate) -> bool {
    use chrono::Datelike;
    let same = [
        a.year() == b.year(),
        a.month() == b.month(),
        a.day() == b.day(),
    ];
    let swapped = a.year() == b.year() && a.month() == b.day() && a.day() == b.month();
    same.iter().filter(|x| **x).count() == 2 || swapped
}

/// Strong identifiers that say two records are different people, whatever
/// their names: merging them would put one patient's results in another's
/// chart (an "overlay"), so no score may link them; only a person can, by
/// accepting the pair in the crosswalk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Conflict {
    /// Both records carry an SSN, and they differ.
    Ssn,
    /// Both carry a sex, they differ, and so do the birth dates (one typo is
    /// forgiven, two differing identifiers are not).
    SexAndBirthDate,
    /// One of the two has no SSN and matches two records that conflict
    /// with each other (two patients of the same name and birth date):
    /// which of them it belongs to is for a person to decide.
    Ambiguous,
}

/// The strong-identifier conflict between two records, if any.
pub fn conflict(a: &Patient, b: &Patient) -> Option<Conflict> {
    if let (Some(x), Some(y)) = (ssn(&a.ssn), ssn(&b.ssn)) {
        if x != y {
            return Some(Conflict::Ssn);
        }
    }
    let (sa, sb) = (a.sex.trim(), b.sex.trim());
    if !sa.is_empty() && !sb.is_empty() && sa != sb && a.birth_date != b.birth_date {
        return Some(Conflict::SexAndBirthDate);
    }
    None
}

/// An SSN as its nine digits; none when it is not nine digits or is a filler
/// such as 000-00-0000 or 999-99-9999 (one digit repeated).
fn ssn(s: &str) -> Option<String> {
    let digits: String = s.chars().filter(char::is_ascii_digit).collect();
    let first = digits.chars().next()?;
    (digits.len() == 9 && !digits.chars().all(|c| c == first)).then_some(digits)
}

/// How a record joined its cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkRule {
    /// No other record links to it.
    Singleton,
    SameId,
    Crosswalk,
    ExactNameDob,
    Probabilistic,
}

/// One pair of records that the rules linked or put up for review.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Link {
    pub a: usize,
    pub b: usize,
    pub rule: LinkRule,
    pub score: Option<f64>,
    /// For a pair held for review: the strong identifiers that kept the rule
    /// from linking it; none when its score alone fell short.
    pub conflict: Option<Conflict>,
}

/// The master patient index over `records`.
#[derive(Debug, Clone, PartialEq)]
pub struct Mpi {
    /// For each input record (same order): its person id.
    pub person: Vec<String>,
    /// For each input record: the strongest rule that linked it.
    pub rule: Vec<LinkRule>,
    pub links: Vec<Link>,
    /// The review queue, left unlinked for a person to decide: pairs scored
    /// between review and match whose strong identifiers do not conflict,
    /// and pairs a rule would have linked but whose strong identifiers
    /// conflict (`conflict` set).
    pub review: Vec<Link>,
    /// Pairs scored in the review band but not queued: their strong
    /// identifiers conflict, so they are two people.
    pub set_aside: u64,
    /// Candidate pairs compared probabilistically.
    pub pairs_compared: u64,
    /// The weights the pairs were scored with, and how they were estimated.
    pub weights: Weights,
    pub estimation: Option<Estimation>,
}

impl Mpi {
    /// Pairs of the review queue held back by a strong-identifier conflict.
    pub fn review_conflicts(&self) -> u64 {
        self.review.iter().filter(|l| l.conflict.is_some()).count() as u64
    }
}

struct UnionFind(Vec<usize>);

impl UnionFind {
    fn find(&mut self, mut i: usize) -> usize {
        while self.0[i] != i {
            self.0[i] = self.0[self.0[i]];
            i = self.0[i];
        }
        i
    }
}

/// The clusters being built: a union-find with each root's members, so a
/// merge can be checked against every record of both clusters (A–B and B–C
/// may both look right while A and C conflict).
struct Clusters {
    uf: UnionFind,
    members: Vec<Vec<usize>>,
    rule: Vec<LinkRule>,
    links: Vec<Link>,
}

impl Clusters {
    fn new(n: usize) -> Clusters {
        Clusters {
            uf: UnionFind((0..n).collect()),
            members: (0..n).map(|i| vec![i]).collect(),
            rule: vec![LinkRule::Singleton; n],
            links: Vec::new(),
        }
    }

    fn same(&mut self, a: usize, b: usize) -> bool {
        self.uf.find(a) == self.uf.find(b)
    }

    /// The first conflict between a record of a's cluster and one of b's
    /// that no person accepted.
    fn conflict(
        &mut self,
        a: usize,
        b: usize,
        records: &[(String, Patient)],
        accepted: &BTreeSet<(usize, usize)>,
    ) -> Option<Conflict> {
        let (ra, rb) = (self.uf.find(a), self.uf.find(b));
        for &x in &self.members[ra] {
            for &y in &self.members[rb] {
                if accepted.contains(&(x.min(y), x.max(y))) {
                    continue;
                }
                if let Some(c) = conflict(&records[x].1, &records[y].1) {
                    return Some(c);
                }
            }
        }
        None
    }

    /// Merge the clusters of a and b (unchecked), recording the link.
    fn join(&mut self, a: usize, b: usize, rule: LinkRule, score: Option<f64>) {
        let (ra, rb) = (self.uf.find(a), self.uf.find(b));
        if ra == rb {
            return;
        }
        let (lo, hi) = (ra.min(rb), ra.max(rb));
        self.uf.0[hi] = lo;
        let moved = std::mem::take(&mut self.members[hi]);
        self.members[lo].extend(moved);
        for i in [a, b] {
            if self.rule[i] == LinkRule::Singleton {
                self.rule[i] = rule;
            }
        }
        self.links.push(Link {
            a,
            b,
            rule,
            score,
            conflict: None,
        });
    }
}

/// The blocking keys of a record: two records are compared when they share
/// one. Each asks for exact agreement on part of the identity, so a pair
/// that differs in one of given name, family name or birth date still shares
/// a block; and each is narrow (a full birth date, or two name prefixes and
/// part of the date), so blocks stay small as the records grow and the pairs
/// compared grow near-linearly with the records.
fn block_keys(p: &Patient) -> [String; 4] {
    use chrono::Datelike;
    let prefix = |s: &str| -> String { norm(s).chars().take(2).collect() };
    let (given, family) = (prefix(&p.given_name), prefix(&p.family_name));
    let d = p.birth_date;
    [
        // a given name typo or variant
        format!("{d}|{family}"),
        // a family name typo or change
        format!("{d}|{given}"),
        // day and month swapped, a typo in either, a name typo further in
        format!("{given}|{family}|{}", d.year()),
        // a typo in the year
        format!("{given}|{family}|{}-{}", d.month(), d.day()),
    ]
}

/// Link patient records `(source, patient)` given in source priority order.
/// `crosswalk` holds known pairs of (source, patient_id): links a person
/// made or accepted (a review pair accepted is added there), always honoured.
/// The person id of a cluster is the patient id of its first record (the
/// highest-priority source), made unique with a `source:` prefix if another
/// cluster took it.
///
/// No rule but the crosswalk merges two clusters holding records whose
/// strong identifiers conflict ([`conflict`]); such a pair goes to the
/// review queue instead. Probabilistic links are made strongest first, so a
/// conflict keeps the weaker of two competing links out.
pub fn link(
    records: &[(String, Patient)],
    crosswalk: &[CrosswalkLink],
    cfg: &LinkageConfig,
) -> Mpi {
    let n = records.len();
    let mut c = Clusters::new(n);
    let mut review: BTreeMap<(usize, usize), Link> = BTreeMap::new();

    // deterministic rules: same id in one system, crosswalk, exact name + DOB
    // (the records in order of (source, id), then of their place)
    let id_of = |i: u32| {
        let (s, p) = &records[i as usize];
        (s.as_str(), p.patient_id.as_str())
    };
    let mut by_id: Vec<u32> = (0..n as u32).collect();
    by_id.sort_by(|&x, &y| id_of(x).cmp(&id_of(y)).then(x.cmp(&y)));
    for group in by_id.chunk_by(|&x, &y| id_of(x) == id_of(y)) {
        for w in group.windows(2) {
            c.join(w[0] as usize, w[1] as usize, LinkRule::SameId, None);
        }
    }
    // the first record with a (source, id)
    let find = |source: &str, id: &str| {
        let at = by_id.partition_point(|&x| id_of(x) < (source, id));
        by_id
            .get(at)
            .filter(|&&x| id_of(x) == (source, id))
            .map(|&x| x as usize)
    };
    let mut accepted = BTreeSet::new();
    for ((sa, ia), (sb, ib)) in crosswalk {
        let (Some(a), Some(b)) = (find(sa, ia), find(sb, ib)) else {
            continue;
        };
        accepted.insert((a.min(b), a.max(b)));
        c.join(a, b, LinkRule::Crosswalk, None);
    }
    drop(by_id);
    // a rule's link, unless the two clusters hold conflicting records
    type Review = BTreeMap<(usize, usize), Link>;
    let try_join = |c: &mut Clusters, review: &mut Review, a, b, rule, s: f64| {
        if c.same(a, b) {
            return;
        }
        match c.conflict(a, b, records, &accepted) {
            None => c.join(a, b, rule, Some(s)),
            Some(k) => {
                // the first rule that tried the pair names it
                review.entry((a, b)).or_insert(Link {
                    a,
                    b,
                    rule,
                    score: Some(s),
                    conflict: Some(k),
                });
            }
        }
    };
    // groups of two or more records of one exact name and birth date, in
    // the order of that key (the hash groups split where keys differ)
    let exact_key = |i: usize| {
        let p = &records[i].1;
        let (g, f) = (norm(&p.given_name), norm(&p.family_name));
        (!g.is_empty() && !f.is_empty()).then(|| format!("{g}|{f}|{}", p.birth_date))
    };
    let mut exact: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    let keyed = (0..n).filter_map(|i| exact_key(i).map(|k| (k, i)));
    for group in hashed_groups(keyed).chunk_by(|x, y| x.0 == y.0) {
        if group.len() > 1 {
            for &(_, i) in group {
                let key = exact_key(i as usize).unwrap_or_default();
                exact.entry(key).or_default().push(i as usize);
            }
        }
    }
    exact.retain(|_, g| g.len() > 1);

    // probabilistic: candidate pairs from the blocking keys
    let blocks = hashed_groups(records.iter().enumerate().flat_map(|(i, (_, p))| {
        let keys = block_keys(p).into_iter().enumerate();
        keys.map(move |kind_key| (kind_key, i))
    }));
    let mut candidates: Vec<(u32, u32)> = Vec::new();
    for group in blocks.chunk_by(|x, y| x.0 == y.0) {
        if group.len() > 2000 {
            continue; // a placeholder-like block: comparing it is quadratic noise
        }
        for (k, &(_, a)) in group.iter().enumerate() {
            for &(_, b) in &group[k + 1..] {
                candidates.push((a, b));
            }
        }
    }
    drop(blocks);
    candidates.sort_unstable();
    candidates.dedup();
    // (a record's own four keys can meet in one group only by a hash
    // collision; such a pair of a record with itself is no pair)
    candidates.retain(|(a, b)| a != b);
    let model = Model::estimate(records, cfg);
    let mut scored: Vec<(f64, usize, usize)> = candidates
        .iter()
        .map(|&(a, b)| (a as usize, b as usize))
        .map(|(a, b)| (score(&records[a].1, &records[b].1, cfg, &model), a, b))
        .filter(|(s, _, _)| *s >= cfg.review_threshold)
        .collect();
    // strongest first; ties in record order, so the result is deterministic
    scored.sort_by(|x, y| y.0.total_cmp(&x.0).then((x.1, x.2).cmp(&(y.1, y.2))));

    // a record without an SSN that a rule would link to two records which
    // conflict with each other could be either patient: it is linked to
    // neither, and its pairs wait for review
    let mut partners: BTreeMap<usize, BTreeSet<usize>> = BTreeMap::new();
    let exact_pairs = exact.values().flat_map(|g| {
        g.iter()
            .enumerate()
            .flat_map(move |(k, &a)| g[..k].iter().map(move |&b| (b, a)))
    });
    let scored_pairs = scored
        .iter()
        .filter(|(s, _, _)| *s >= cfg.match_threshold)
        .map(|&(_, a, b)| (a, b));
    for (a, b) in exact_pairs.chain(scored_pairs) {
        partners.entry(a).or_default().insert(b);
        partners.entry(b).or_default().insert(a);
    }
    let ambiguous: BTreeSet<usize> = partners
        .iter()
        .filter(|(&r, _)| ssn(&records[r].1.ssn).is_none())
        .filter(|(_, ps)| {
            let ps: Vec<usize> = ps.iter().copied().collect();
            ps.iter().enumerate().any(|(k, &x)| {
                ps[k + 1..].iter().any(|&y| {
                    !accepted.contains(&(x.min(y), x.max(y)))
                        && conflict(&records[x].1, &records[y].1).is_some()
                })
            })
        })
        .map(|(&r, _)| r)
        .collect();
    let rule_link = |c: &mut Clusters, review: &mut Review, a, b, rule, s: f64| {
        if ambiguous.contains(&a) || ambiguous.contains(&b) {
            if !c.same(a, b) {
                review.entry((a, b)).or_insert(Link {
                    a,
                    b,
                    rule,
                    score: Some(s),
                    conflict: Some(Conflict::Ambiguous),
                });
            }
        } else {
            try_join(c, review, a, b, rule, s);
        }
    };

    for group in exact.values() {
        for (k, &a) in group.iter().enumerate() {
            // each record joins the first of the group it does not conflict with
            for &b in &group[..k] {
                let s = score(&records[b].1, &records[a].1, cfg, &model);
                rule_link(&mut c, &mut review, b, a, LinkRule::ExactNameDob, s);
            }
        }
    }
    // a pair scored only in the review band whose strong identifiers
    // conflict is two people: the names and dates agree in part, the SSN (or
    // sex and birth date) says no. Queuing it would bury the pairs a person
    // can decide (at a million patients, 760,000 of 766,000 pairs were
    // namesakes with different SSNs); it is counted, not queued.
    let mut set_aside = 0u64;
    for (s, a, b) in scored {
        if s >= cfg.match_threshold {
            rule_link(&mut c, &mut review, a, b, LinkRule::Probabilistic, s);
        } else if conflict(&records[a].1, &records[b].1).is_some() {
            set_aside += 1;
        } else if !c.same(a, b) {
            review.entry((a, b)).or_insert(Link {
                a,
                b,
                rule: LinkRule::Probabilistic,
                score: Some(s),
                conflict: None,
            });
        }
    }
    // a review pair may have been linked through a third record since
    let review: Vec<Link> = review.into_values().filter(|l| !c.same(l.a, l.b)).collect();

    // person ids: the first record of each cluster names it
    let mut person = vec![String::new(); n];
    let mut names: BTreeMap<usize, String> = BTreeMap::new();
    let mut taken = BTreeSet::new();
    for i in 0..n {
        let root = c.uf.find(i);
        let id = names
            .entry(root)
            .or_insert_with(|| {
                let (s, p) = &records[i];
                let mut id = p.patient_id.clone();
                if !taken.insert(id.clone()) {
                    id = format!("{s}:{}", p.patient_id);
                    taken.insert(id.clone());
                }
                id
            })
            .clone();
        person[i] = id;
    }
    Mpi {
        person,
        rule: c.rule,
        links: c.links,
        review,
        set_aside,
        pairs_compared: candidates.len() as u64,
        weights: model.weights,
        estimation: model.estimation,
    }
}

/// Pairwise linkage quality against the truth.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LinkageQuality {
    pub true_pairs: u64,
    pub predicted_pairs: u64,
    pub correct_pairs: u64,
    pub precision: f64,
    pub recall: f64,
    /// Records with no truth entry (not scored).
    pub records_without_truth: u64,
}

/// Compare predicted persons with true persons over the records that have a
/// truth entry: a pair of records is "linked" when they share a person.
pub fn evaluate(predicted: &[String], truth: &[Option<String>]) -> LinkageQuality {
    fn pairs(n: u64) -> u64 {
        n * n.saturating_sub(1) / 2
    }
    let mut by_pred: BTreeMap<&str, u64> = BTreeMap::new();
    let mut by_true: BTreeMap<&str, u64> = BTreeMap::new();
    let mut by_both: BTreeMap<(&str, &str), u64> = BTreeMap::new();
    let mut missing = 0;
    for (p, t) in predicted.iter().zip(truth) {
        let Some(t) = t else {
            missing += 1;
            continue;
        };
        *by_pred.entry(p).or_default() += 1;
        *by_true.entry(t).or_default() += 1;
        *by_both.entry((p, t)).or_default() += 1;
    }
    let predicted_pairs: u64 = by_pred.values().map(|&n| pairs(n)).sum();
    let true_pairs: u64 = by_true.values().map(|&n| pairs(n)).sum();
    let correct_pairs: u64 = by_both.values().map(|&n| pairs(n)).sum();
    let ratio = |a: u64, b: u64| if b == 0 { 1.0 } else { a as f64 / b as f64 };
    LinkageQuality {
        true_pairs,
        predicted_pairs,
        correct_pairs,
        precision: ratio(correct_pairs, predicted_pairs),
        recall: ratio(correct_pairs, true_pairs),
        records_without_truth: missing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Datelike, NaiveDate};

    #[test]
    fn jaro_winkler_matches_published_values() {
        // Winkler (1990) / the usual textbook examples
        let r3 = |x: f64| (x * 1000.0).round() / 1000.0;
        assert_eq!(r3(jaro_winkler("MARTHA", "MARHTA")), 0.961);
        assert_eq!(r3(jaro_winkler("DWAYNE", "DUANE")), 0.84);
        assert_eq!(r3(jaro_winkler("DIXON", "DICKSONX")), 0.813);
        assert_eq!(r3(jaro("MARTHA", "MARHTA")), 0.944);
        assert_eq!(jaro_winkler("SAME", "SAME"), 1.0);
        assert_eq!(jaro_winkler("ABC", "XYZ"), 0.0);
        assert_eq!(jaro_winkler("", "X"), 0.0);
    }

    pub(crate) fn person(
        id: &str,
        given: &str,
        family: &str,
        dob: (i32, u32, u32),
        zip: &str,
    ) -> Patient {
        Patient {
            patient_id: id.into(),
            mrn: String::new(),
            given_name: given.into(),
            family_name: family.into(),
            sex: "F".into(),
            birth_date: NaiveDate::from_ymd_opt(dob.0, dob.1, dob.2).unwrap(),
            race: String::new(),
            ethnicity: String::new(),
            payer: String::new(),
            address_line: String::new(),
            city: String::new(),
            state: String::new(),
            zip: zip.into(),
            phone: String::new(),
            email: String::new(),
            ssn: String::new(),
            death_date: None,
        }
    }

    #[test]
    fn rules_and_scores_build_one_index() {
        let cfg = LinkageConfig::default();
        let recs = vec![
            (
                "reg".to_string(),
                person("R1", "Martha", "Jones", (1950, 3, 4), "62701"),
            ),
            (
                "reg".to_string(),
                person("R2", "Dwayne", "Smith", (1960, 1, 1), "62702"),
            ),
            (
                "reg".to_string(),
                person("R3", "Ana", "Lopez", (1970, 5, 6), "62703"),
            ),
            // lab system: a typo in the name, a swapped day/month
            (
                "lab".to_string(),
                person("L9", "Marhta", "Jones", (1950, 4, 3), "62701"),
            ),
            // crosswalk only: nothing in common but the link
            (
                "lab".to_string(),
                person("L8", "D.", "Smyth", (1961, 1, 1), "99999"),
            ),
            // same name + DOB as R3, other system, other ZIP
            (
                "clinic".to_string(),
                person("C1", "ANA", "LOPEZ", (1970, 5, 6), "10001"),
            ),
            // a different person sharing a birth date with R2
            (
                "clinic".to_string(),
                person("C2", "Kim", "Park", (1960, 1, 1), "62702"),
            ),
        ];
        let xw = vec![(
            ("reg".to_string(), "R2".to_string()),
            ("lab".to_string(), "L8".to_string()),
        )];
        let mpi = link(&recs, &xw, &cfg);
        assert_eq!(mpi.person, vec!["R1", "R2", "R3", "R1", "R2", "R3", "C2"]);
        assert_eq!(mpi.rule[3], LinkRule::Probabilistic);
        assert_eq!(mpi.rule[4], LinkRule::Crosswalk);
        assert_eq!(mpi.rule[5], LinkRule::ExactNameDob);
        assert_eq!(mpi.rule[6], LinkRule::Singleton);
        let s = score(&recs[0].1, &recs[3].1, &cfg, &Model::configured(&cfg));
        assert!(s >= cfg.match_threshold, "{s}");
        let q = evaluate(
            &mpi.person,
            &["A", "B", "C", "A", "B", "C", "D"].map(|s| Some(s.to_string())),
        );
        assert_eq!(
            (q.true_pairs, q.predicted_pairs, q.correct_pairs),
            (3, 3, 3)
        );
        assert_eq!((q.precision, q.recall), (1.0, 1.0));
    }

    /// A registration with the identifiers the conflict rules read.
    fn registered(
        id: &str,
        given: &str,
        family: &str,
        sex: &str,
        dob: (i32, u32, u32),
        zip: &str,
        ssn: &str,
    ) -> (String, Patient) {
        let mut p = person(id, given, family, dob, zip);
        p.sex = sex.into();
        p.ssn = ssn.into();
        ("reg".to_string(), p)
    }

    /// The two James Carters of the overlay report: same name, birth dates
    /// one month apart, different SSNs and addresses.
    fn two_james_carters() -> Vec<(String, Patient)> {
        vec![
            registered(
                "R1",
                "James",
                "Carter",
                "M",
                (1979, 12, 14),
                "10001",
                "123-45-6789",
            ),
            registered(
                "R2",
                "James",
                "Carter",
                "M",
                (1979, 9, 14),
                "60601",
                "987-65-4321",
            ),
        ]
    }

    #[test]
    fn a_review_band_pair_with_different_ssns_is_set_aside_not_queued() {
        // at the default thresholds the two James Carters score between
        // review and match: a possible match by name and date, two people
        // by SSN, so the pair is counted, not queued; without SSNs it waits
        let cfg = LinkageConfig::default();
        let recs = two_james_carters();
        let s = score(&recs[0].1, &recs[1].1, &cfg, &Model::configured(&cfg));
        assert!(
            (cfg.review_threshold..cfg.match_threshold).contains(&s),
            "{s}"
        );
        let mpi = link(&recs, &[], &cfg);
        assert_eq!((mpi.review.len(), mpi.set_aside), (0, 1));
        let mut no_ssn = two_james_carters();
        no_ssn[1].1.ssn.clear();
        let mpi = link(&no_ssn, &[], &cfg);
        assert_eq!((mpi.review.len(), mpi.set_aside), (1, 0));
        assert_eq!(mpi.review[0].conflict, None);
        assert_eq!(mpi.person, vec!["R1", "R2"]);
    }

    #[test]
    fn different_ssns_are_never_merged_whatever_the_score() {
        // even with the fixed weights and a low threshold the pair scores as
        // a match: only the conflict rule keeps the two men apart
        let cfg = LinkageConfig {
            match_threshold: 10.0,
            ..LinkageConfig::default()
        };
        let recs = two_james_carters();
        let s = score(&recs[0].1, &recs[1].1, &cfg, &Model::configured(&cfg));
        assert!(s >= cfg.match_threshold, "{s}");
        assert_eq!(conflict(&recs[0].1, &recs[1].1), Some(Conflict::Ssn));
        let mpi = link(&recs, &[], &cfg);
        assert_eq!(mpi.person, vec!["R1", "R2"]);
        assert_eq!(mpi.review.len(), 1);
        assert_eq!(mpi.review[0].conflict, Some(Conflict::Ssn));
        assert_eq!(mpi.review_conflicts(), 1);
        // the same name and birth date but different SSNs: not merged either
        let mut same_dob = two_james_carters();
        same_dob[1].1.birth_date = same_dob[0].1.birth_date;
        let mpi = link(&same_dob, &[], &cfg);
        assert_eq!(mpi.person, vec!["R1", "R2"]);
        assert_eq!(mpi.review[0].rule, LinkRule::ExactNameDob);
    }

    #[test]
    fn a_typo_with_the_same_ssn_is_merged() {
        let recs = vec![
            registered(
                "R1",
                "Jennifer",
                "Okafor",
                "F",
                (1985, 2, 3),
                "10001",
                "123-45-6789",
            ),
            registered(
                "R2",
                "Jenifer",
                "Okafor",
                "F",
                (1985, 2, 3),
                "10001",
                "123456789",
            ),
        ];
        let mpi = link(&recs, &[], &LinkageConfig::default());
        assert_eq!(mpi.person, vec!["R1", "R1"]);
        assert_eq!(mpi.rule[1], LinkRule::Probabilistic);
        assert!(mpi.review.is_empty());
        // a filler SSN is no SSN: it conflicts with nothing
        let mut filler = recs.clone();
        filler[1].1.ssn = "999-99-9999".into();
        assert_eq!(conflict(&filler[0].1, &filler[1].1), None);
    }

    #[test]
    fn sex_and_birth_date_together_conflict_but_one_alone_does_not() {
        let recs = two_james_carters();
        let (mut a, mut b) = (recs[0].1.clone(), recs[1].1.clone());
        (a.ssn, b.ssn) = (String::new(), String::new());
        assert_eq!(conflict(&a, &b), None, "only the birth date differs");
        b.sex = "F".into();
        assert_eq!(conflict(&a, &b), Some(Conflict::SexAndBirthDate));
        b.birth_date = a.birth_date;
        assert_eq!(conflict(&a, &b), None, "only the sex differs");
    }

    #[test]
    fn a_pair_a_person_accepted_is_merged_despite_a_conflict() {
        let recs = two_james_carters();
        let xw = vec![(
            ("reg".to_string(), "R1".to_string()),
            ("reg".to_string(), "R2".to_string()),
        )];
        let mpi = link(&recs, &xw, &LinkageConfig::default());
        assert_eq!(mpi.person, vec!["R1", "R1"]);
        assert_eq!(mpi.rule, vec![LinkRule::Crosswalk, LinkRule::Crosswalk]);
        assert!(mpi.review.is_empty());
    }

    #[test]
    fn a_record_matching_two_conflicting_patients_joins_neither() {
        // a lab record without an SSN looks exactly like both James Carters
        let mut recs = two_james_carters();
        recs[1].1.birth_date = recs[0].1.birth_date;
        recs[1].1.zip = "10001".into();
        let mut lab = person("L1", "James", "Carter", (1979, 12, 14), "10001");
        lab.sex = "M".into();
        recs.push(("lab".to_string(), lab));
        let mpi = link(&recs, &[], &LinkageConfig::default());
        assert_eq!(mpi.person, vec!["R1", "R2", "L1"]);
        let reasons: Vec<_> = mpi.review.iter().map(|l| (l.a, l.b, l.conflict)).collect();
        assert_eq!(
            reasons,
            vec![
                (0, 1, Some(Conflict::Ssn)),
                (0, 2, Some(Conflict::Ambiguous)),
                (1, 2, Some(Conflict::Ambiguous)),
            ]
        );
    }

    #[test]
    fn a_chain_of_links_cannot_merge_two_conflicting_records() {
        // R1 - L1 (same name and birth date), L1 = C1 (a person's crosswalk
        // decision), C1 - R2 (same name and birth date): R1 and R2 have
        // different SSNs, so the last link may not close the chain (no
        // record matches both, so none is ambiguous: the cluster check
        // alone holds it)
        let mut recs = two_james_carters();
        recs[1] = registered(
            "R2",
            "Mario",
            "Lopez",
            "M",
            (1979, 12, 14),
            "60601",
            "987-65-4321",
        );
        for (source, id, given, family) in [
            ("lab", "L1", "James", "Carter"),
            ("clinic", "C1", "Mario", "Lopez"),
        ] {
            let mut p = person(id, given, family, (1979, 12, 14), "");
            p.sex = "M".into();
            recs.push((source.to_string(), p));
        }
        let xw = vec![(
            ("lab".to_string(), "L1".to_string()),
            ("clinic".to_string(), "C1".to_string()),
        )];
        let mpi = link(&recs, &xw, &LinkageConfig::default());
        assert_eq!(mpi.person, vec!["R1", "R2", "R1", "R1"]);
        assert_eq!(mpi.review.len(), 1);
        assert_eq!(
            (mpi.review[0].a, mpi.review[0].b, mpi.review[0].conflict),
            (1, 3, Some(Conflict::Ssn))
        );
    }

    #[test]
    fn agreement_on_a_common_name_weighs_less_than_on_a_rare_one() {
        let cfg = LinkageConfig::default();
        let mut recs: Vec<Patient> = (0..400)
            .map(|i| person(&format!("P{i}"), "James", "Carter", (1950, 1, 1), ""))
            .collect();
        recs.push(person("X1", "Zebedee", "Quist", (1950, 1, 1), ""));
        let model = Model {
            freq: Frequencies::count(&recs),
            ..Model::configured(&cfg)
        };
        let pair = |g: &str, f: &str| {
            let a = person("A", g, f, (1960, 5, 5), "");
            let b = person("B", g, f, (1960, 5, 5), "");
            score(&a, &b, &cfg, &model)
        };
        let (common, rare) = (pair("James", "Carter"), pair("Zebedee", "Quist"));
        // the rare names keep the configured weights...
        let fixed = score(
            &person("A", "Zebedee", "Quist", (1960, 5, 5), ""),
            &person("B", "Zebedee", "Quist", (1960, 5, 5), ""),
            &cfg,
            &Model::configured(&cfg),
        );
        assert!((rare - fixed).abs() < 1e-12, "{rare} {fixed}");
        // ...while names nearly everyone has are worth log2(0.95 / (398/399))
        // each (398 of the 399 records beside the pair), about nothing
        let expected = rare - (0.95f64 / 0.01).log2() - (0.95f64 / 0.005).log2()
            + 2.0 * (0.95f64 / (398.0 / 399.0)).log2();
        assert!((common - expected).abs() < 1e-9, "{common} {expected}");
        assert!(common < rare - 10.0);
    }

    #[test]
    fn blocking_finds_one_changed_field_without_comparing_everyone() {
        let cfg = LinkageConfig::default();
        // 200 people with distinct names, birth dates and ZIP codes, and a
        // second record of three of them with one change each
        let word = |i: usize, end: &str| {
            let c = |n: usize, base: u8| char::from(base + (n % 26) as u8);
            format!("{}{}{end}", c(i, b'A'), c(i / 26 + i, b'a'))
        };
        let mut recs: Vec<(String, Patient)> = (0..200)
            .map(|i| {
                let dob = (
                    1930 + (i % 60) as i32,
                    1 + (i % 12) as u32,
                    1 + (i % 28) as u32,
                );
                let zip = format!("{}", 10000 + i);
                let mut p = person(
                    &format!("R{i}"),
                    &word(i, "ina"),
                    &word(i * 7, "son"),
                    dob,
                    &zip,
                );
                // enough records to estimate u from: agreeing on sex says
                // something only when not everyone shares it
                p.sex = ["F", "M"][i % 2].into();
                ("reg".to_string(), p)
            })
            .collect();
        let mut year_typo = recs[10].1.clone();
        year_typo.patient_id = "L1".into();
        year_typo.birth_date = year_typo.birth_date.with_year(1905).unwrap();
        let mut given_typo = recs[50].1.clone();
        given_typo.patient_id = "L2".into();
        given_typo.given_name = format!("X{}", &given_typo.given_name[1..]);
        let mut family_changed = recs[90].1.clone();
        family_changed.patient_id = "L3".into();
        family_changed.family_name = "Quist".into();
        for p in [year_typo, given_typo, family_changed] {
            recs.push(("lab".to_string(), p));
        }
        let mpi = link(&recs, &[], &cfg);
        assert_eq!(mpi.person[200], "R10", "year typo");
        assert_eq!(mpi.person[201], "R50", "first letter of the given name");
        assert_eq!(mpi.person[202], "R90", "a changed family name");
        let all_pairs = 203 * 202 / 2;
        assert!(
            mpi.pairs_compared * 20 < all_pairs,
            "{}",
            mpi.pairs_compared
        );
    }

    #[test]
    fn em_recovers_the_m_of_a_known_mixture() {
        // candidate pairs counted exactly as a mixture of 30% same-person
        // pairs (m) and different-people pairs (u) would give them
        let m = [
            [0.90, 0.06, 0.04],
            [0.92, 0.05, 0.03],
            [0.95, 0.04, 0.01],
            [0.98, 0.001, 0.019],
            [0.80, 0.001, 0.199],
        ];
        let u = [
            [0.01, 0.02, 0.97],
            [0.005, 0.01, 0.985],
            [0.001, 0.01, 0.989],
            [0.5, 0.001, 0.499],
            [0.05, 0.001, 0.949],
        ];
        let levels = [Level::Agree, Level::Partial, Level::Disagree];
        let mut patterns: BTreeMap<Gamma, f64> = BTreeMap::new();
        for k in 0..3usize.pow(5) {
            let ls: Vec<usize> = (0..5).map(|f| k / 3usize.pow(f as u32) % 3).collect();
            let pm: f64 = (0..5).map(|f| m[f][ls[f]]).product();
            let pu: f64 = (0..5).map(|f| u[f][ls[f]]).product();
            let gamma: Gamma = std::array::from_fn(|f| Some(levels[ls[f]]));
            patterns.insert(gamma, 1e7 * (0.3 * pm + 0.7 * pu));
        }
        let start = Weights {
            u,
            ..Weights::configured(&LinkageConfig::default())
        };
        let (fitted, share, iterations) = em_m(&patterns, &start);
        assert!((share - 0.3).abs() < 1e-4, "share {share}");
        for f in 0..5 {
            for l in 0..3 {
                assert!(
                    (fitted[f][l] - m[f][l]).abs() < 1e-4,
                    "{} level {l}: {} vs {}",
                    FIELDS[f],
                    fitted[f][l],
                    m[f][l]
                );
            }
        }
        assert!(iterations < 200, "converged");
    }

    #[test]
    fn m_comes_from_same_person_pairs_or_stays_configured() {
        let cfg = LinkageConfig::default();
        // 300 people with distinct names and birth dates, each with a second
        // record in another system: one in four with a different ZIP code
        // (a move), one in ten with a changed given name
        let mut recs = Vec::new();
        for i in 0..300u32 {
            let given = format!("G{}{}", char::from(b'a' + (i % 26) as u8), i);
            let family = format!("F{}{}", char::from(b'a' + (i / 26 % 26) as u8), i);
            let dob = (1930 + (i % 60) as i32, 1 + i % 12, 1 + i % 28);
            let p = person(
                &format!("R{i}"),
                &given,
                &family,
                dob,
                &format!("{}", 10000 + i),
            );
            let mut q = p.clone();
            q.patient_id = format!("L{i}");
            if i % 4 == 0 {
                q.zip = format!("{}", 20000 + i);
            }
            if i % 10 == 0 {
                q.given_name = format!("Z{i}x");
            }
            recs.push(("reg".to_string(), p));
            recs.push(("lab".to_string(), q));
        }
        let model = Model::estimate(&recs, &cfg);
        let e = model.estimation.as_ref().unwrap();
        // the ZIP code is estimated by every rule: 3 in 4 pairs agree (EM
        // counts the few pairs with a new name *and* a new ZIP code as two
        // people, so it lands a little above)
        assert!(
            (model.weights.m[ZIP][0] - 0.75).abs() < 0.04,
            "{:?}",
            model.weights.m[ZIP]
        );
        assert!(e.configured_m.is_empty(), "{e:?}");
        // the same people without their second records: no pair is one
        // person, so EM has no m to estimate and the configured m stays
        let alone: Vec<_> = recs.iter().step_by(2).cloned().collect();
        let model = Model::estimate(&alone, &cfg);
        assert_eq!(model.weights.m, Weights::configured(&cfg).m);
        assert_eq!(model.estimation.unwrap().configured_m.len(), 5);
        // 250 different men called James Carter, born over 60 years, some
        // on dates one part apart: namesakes, not one person
        let namesakes: Vec<(String, Patient)> = (0..250u32)
            .map(|i| {
                let dob = (1930 + (i % 60) as i32, 1 + i % 12, 1 + i / 60 % 28);
                let mut p = person(
                    &format!("J{i}"),
                    "James",
                    "Carter",
                    dob,
                    &format!("{}", 30000 + i),
                );
                p.sex = "M".into();
                ("reg".to_string(), p)
            })
            .collect();
        let model = Model::estimate(&namesakes, &cfg);
        assert_eq!(model.weights.m, Weights::configured(&cfg).m);
    }

    #[test]
    fn evaluation_counts_pairs() {
        let pred = ["a", "a", "a", "b"].map(String::from);
        let truth = [Some("x"), Some("x"), Some("y"), Some("y")].map(|o| o.map(String::from));
        let q = evaluate(&pred, &truth);
        assert_eq!(
            (q.true_pairs, q.predicted_pairs, q.correct_pairs),
            (2, 3, 1)
        );
        assert!((q.precision - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(q.recall, 0.5);
    }
}
