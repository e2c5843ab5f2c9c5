//! Record linkage: one master patient index (MPI) over every source.
//!
//! Deterministic rules link first: the same id in the same system, a pair in
//! the crosswalk, the exact same name and birth date. Then a probabilistic
//! Fellegi–Sunter score compares the remaining candidate pairs (blocked on
//! keys such as birth date and family-name prefix, so not every pair is
//! compared): each field adds log2(m/u) when it agrees and log2((1-m)/(1-u))
//! when it disagrees, where m = P(agree | same person) and u = P(agree |
//! different people), the u of a name or ZIP taken from how common the
//! value is in the data ([`Frequencies`]). Pairs scoring at or above `match`
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

impl MU {
    fn agree(self) -> f64 {
        (self.m / self.u).log2()
    }
    fn disagree(self) -> f64 {
        ((1.0 - self.m) / (1.0 - self.u)).log2()
    }
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

/// Fellegi–Sunter score of two patient records, with the u of an agreeing
/// name or ZIP taken from how common that value is (see [`Frequencies`];
/// `Frequencies::default()` gives the configured, fixed weights). A field
/// missing on either side adds nothing.
pub fn score(a: &Patient, b: &Patient, cfg: &LinkageConfig, freq: &Frequencies) -> f64 {
    let mut s = 0.0;
    for (x, y, mu, map) in [
        (
            &a.given_name,
            &b.given_name,
            cfg.given_name,
            &freq.given_name,
        ),
        (
            &a.family_name,
            &b.family_name,
            cfg.family_name,
            &freq.family_name,
        ),
    ] {
        let (x, y) = (norm(x), norm(y));
        if x.is_empty() || y.is_empty() {
            continue;
        }
        let jw = jaro_winkler(&x, &y);
        s += if jw >= cfg.name_agree {
            // a near-exact pair weighs as the more common of its two spellings
            let u = freq.u(map, &x, mu.u).max(freq.u(map, &y, mu.u));
            MU { m: mu.m, u }.agree()
        } else if jw >= cfg.name_partial {
            mu.agree() / 2.0
        } else {
            mu.disagree()
        };
    }
    s += if a.birth_date == b.birth_date {
        cfg.birth_date.agree()
    } else if near_date(a.birth_date, b.birth_date) {
        // a typo in one part, or day and month swapped
        cfg.birth_date.agree() / 2.0
    } else {
        cfg.birth_date.disagree()
    };
    if !a.sex.is_empty() && !b.sex.is_empty() {
        s += if a.sex == b.sex {
            cfg.sex.agree()
        } else {
            cfg.sex.disagree()
        };
    }
    let (za, zb) = (a.zip.trim(), b.zip.trim());
    if !za.is_empty() && !zb.is_empty() {
        s += if za == zb {
            let u = freq.u(&freq.zip, za, cfg.zip.u);
            MU { m: cfg.zip.m, u }.agree()
        } else {
            cfg.zip.disagree()
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
    /// between review and match, and pairs a rule would have linked but
    /// whose strong identifiers conflict (`conflict` set).
    pub review: Vec<Link>,
    /// Candidate pairs compared probabilistically.
    pub pairs_compared: u64,
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
    let freq = Frequencies::count(records.iter().map(|(_, p)| p));

    // deterministic rules: same id in one system, crosswalk, exact name + DOB
    let by_key = |key: &dyn Fn(&(String, Patient)) -> Option<String>| {
        let mut m: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (i, r) in records.iter().enumerate() {
            if let Some(k) = key(r) {
                m.entry(k).or_default().push(i);
            }
        }
        m
    };
    let ids = by_key(&|(s, p)| Some(format!("{s}\u{1f}{}", p.patient_id)));
    for group in ids.values() {
        for w in group.windows(2) {
            c.join(w[0], w[1], LinkRule::SameId, None);
        }
    }
    let mut accepted = BTreeSet::new();
    for ((sa, ia), (sb, ib)) in crosswalk {
        let (Some(a), Some(b)) = (
            ids.get(&format!("{sa}\u{1f}{ia}")).and_then(|g| g.first()),
            ids.get(&format!("{sb}\u{1f}{ib}")).and_then(|g| g.first()),
        ) else {
            continue;
        };
        accepted.insert((*a.min(b), *a.max(b)));
        c.join(*a, *b, LinkRule::Crosswalk, None);
    }
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
    let exact = by_key(&|(_, p)| {
        let (g, f) = (norm(&p.given_name), norm(&p.family_name));
        (!g.is_empty() && !f.is_empty()).then(|| format!("{g}|{f}|{}", p.birth_date))
    });

    // probabilistic: candidate pairs from the blocking keys
    let mut blocks: BTreeMap<(usize, String), Vec<usize>> = BTreeMap::new();
    for (i, (_, p)) in records.iter().enumerate() {
        for (k, key) in block_keys(p).into_iter().enumerate() {
            blocks.entry((k, key)).or_default().push(i);
        }
    }
    let mut candidates = BTreeSet::new();
    for group in blocks.values() {
        if group.len() > 2000 {
            continue; // a placeholder-like block: comparing it is quadratic noise
        }
        for (k, &a) in group.iter().enumerate() {
            for &b in &group[k + 1..] {
                candidates.insert((a, b));
            }
        }
    }
    let mut scored: Vec<(f64, usize, usize)> = candidates
        .iter()
        .map(|&(a, b)| (score(&records[a].1, &records[b].1, cfg, &freq), a, b))
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
                let s = score(&records[b].1, &records[a].1, cfg, &freq);
                rule_link(&mut c, &mut review, b, a, LinkRule::ExactNameDob, s);
            }
        }
    }
    for (s, a, b) in scored {
        if s >= cfg.match_threshold {
            rule_link(&mut c, &mut review, a, b, LinkRule::Probabilistic, s);
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
        pairs_compared: candidates.len() as u64,
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
        let s = score(&recs[0].1, &recs[3].1, &cfg, &Frequencies::default());
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
    fn different_ssns_are_never_merged_whatever_the_score() {
        // even with the fixed weights and a low threshold the pair scores as
        // a match: only the conflict rule keeps the two men apart
        let cfg = LinkageConfig {
            match_threshold: 10.0,
            ..LinkageConfig::default()
        };
        let recs = two_james_carters();
        let s = score(&recs[0].1, &recs[1].1, &cfg, &Frequencies::default());
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
        let freq = Frequencies::count(&recs);
        let pair = |g: &str, f: &str| {
            let a = person("A", g, f, (1960, 5, 5), "");
            let b = person("B", g, f, (1960, 5, 5), "");
            score(&a, &b, &cfg, &freq)
        };
        let (common, rare) = (pair("James", "Carter"), pair("Zebedee", "Quist"));
        // the rare names keep the configured weights...
        let fixed = score(
            &person("A", "Zebedee", "Quist", (1960, 5, 5), ""),
            &person("B", "Zebedee", "Quist", (1960, 5, 5), ""),
            &cfg,
            &Frequencies::default(),
        );
        assert!((rare - fixed).abs() < 1e-12, "{rare} {fixed}");
        // ...while names nearly everyone has are worth log2(0.95 / (398/399))
        // each (398 of the 399 records beside the pair), about nothing
        let expected = rare - cfg.given_name.agree() - cfg.family_name.agree()
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
                let p = person(
                    &format!("R{i}"),
                    &word(i, "ina"),
                    &word(i * 7, "son"),
                    dob,
                    &zip,
                );
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
