//! The data-quality report: per source, what came in, what went out, what was
//! quarantined, and what each rule repaired or rejected. Written as JSON
//! (for scripts and the lab checker), Markdown (for people) and shown as a
//! terminal table.

use std::collections::BTreeMap;

use serde::Serialize;

use super::linkage::LinkageQuality;
use super::raw::TextEncoding;

/// Counts of one rule in one source.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RuleCounts {
    pub repaired: u64,
    pub rejected: u64,
}

/// Records of one table of one source.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TableCounts {
    #[serde(rename = "in")]
    pub input: u64,
    pub out: u64,
    pub quarantined: u64,
}

/// Everything about one source.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SourceQuality {
    pub kind: String,
    /// File (relative name) -> encoding detected.
    pub encodings: BTreeMap<String, TextEncoding>,
    pub tables: BTreeMap<String, TableCounts>,
    pub rules: BTreeMap<String, RuleCounts>,
    /// Codes no map knew, with how often each came.
    pub unmapped_codes: BTreeMap<String, u64>,
    /// Units no conversion knew, as `measure unit`, with counts.
    pub unknown_units: BTreeMap<String, u64>,
}

impl SourceQuality {
    pub fn totals(&self) -> TableCounts {
        let mut t = TableCounts::default();
        for c in self.tables.values() {
            t.input += c.input;
            t.out += c.out;
            t.quarantined += c.quarantined;
        }
        t
    }
}

/// The linkage part of the report.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LinkageSummary {
    pub patient_records: u64,
    pub persons: u64,
    pub by_rule: BTreeMap<String, u64>,
    pub pairs_compared: u64,
    pub review_pairs: u64,
    /// Present when the ground truth was given.
    pub quality: Option<LinkageQuality>,
}

/// One defect kind of the ground truth, and how many the rules caught.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DefectCatch {
    pub injected: u64,
    pub caught: u64,
    /// Rule -> defects it caught.
    pub by_rule: BTreeMap<String, u64>,
}

/// The whole report.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct QualityReport {
    pub sources: BTreeMap<String, SourceQuality>,
    pub linkage: LinkageSummary,
    pub data_end: String,
    /// Ground-truth defect kind -> caught (present with truth/defects.csv).
    pub defects: BTreeMap<String, DefectCatch>,
}

impl QualityReport {
    /// The terminal table: one line per source, then the rules that fired.
    pub fn table(&self) -> String {
        let mut s = format!(
            "{:<16} {:>9} {:>9} {:>11}\n",
            "source", "in", "out", "quarantined"
        );
        for (name, q) in &self.sources {
            let t = q.totals();
            s += &format!(
                "{:<16} {:>9} {:>9} {:>11}\n",
                name, t.input, t.out, t.quarantined
            );
        }
        s += &format!(
            "\n{:<16} {:<12} {:>9} {:>9}\n",
            "source", "rule", "repaired", "rejected"
        );
        for (name, q) in &self.sources {
            for (rule, c) in &q.rules {
                s += &format!(
                    "{:<16} {:<12} {:>9} {:>9}\n",
                    name, rule, c.repaired, c.rejected
                );
            }
        }
        let l = &self.linkage;
        s += &format!(
            "\nlinkage: {} patient records -> {} persons ({} pairs compared, {} for review)\n",
            l.patient_records, l.persons, l.pairs_compared, l.review_pairs
        );
        if let Some(q) = &l.quality {
            s += &format!(
                "linkage vs truth: precision {:.3}, recall {:.3}\n",
                q.precision, q.recall
            );
        }
        s
    }

    /// The Markdown report (quality.md).
    pub fn markdown(&self) -> String {
        let mut s = String::from("# Data-quality report\n\n");
        s += &format!("Data end: {}\n\n## Records per source\n\n", self.data_end);
        s += "| source | table | in | out | quarantined |\n|---|---|---:|---:|---:|\n";
        for (name, q) in &self.sources {
            for (table, c) in &q.tables {
                s += &format!(
                    "| {name} | {table} | {} | {} | {} |\n",
                    c.input, c.out, c.quarantined
                );
            }
        }
        s += "\n## Rules\n\n| source | rule | repaired | rejected |\n|---|---|---:|---:|\n";
        for (name, q) in &self.sources {
            for (rule, c) in &q.rules {
                s += &format!("| {name} | {rule} | {} | {} |\n", c.repaired, c.rejected);
            }
        }
        s += "\n## Encodings\n\n";
        for (name, q) in &self.sources {
            for (file, enc) in &q.encodings {
                let enc = serde_json::to_value(enc)
                    .ok()
                    .and_then(|v| v.as_str().map(String::from))
                    .unwrap_or_default();
                s += &format!("- {name}: {file} is {enc}\n");
            }
        }
        let mut unmapped = String::new();
        for (name, q) in &self.sources {
            for (code, n) in &q.unmapped_codes {
                unmapped += &format!("| {name} | code | {code} | {n} |\n");
            }
            for (unit, n) in &q.unknown_units {
                unmapped += &format!("| {name} | unit | {unit} | {n} |\n");
            }
        }
        if !unmapped.is_empty() {
            s += "\n## Unmapped codes and units\n\nAdd them to datasets/maps/lab-codes.toml or units.toml.\n\n";
            s += "| source | what | value | count |\n|---|---|---|---:|\n";
            s += &unmapped;
        }
        let l = &self.linkage;
        s += &format!(
            "\n## Linkage\n\n{} patient records, {} persons, {} pairs compared, {} pairs for review.\n\n",
            l.patient_records, l.persons, l.pairs_compared, l.review_pairs
        );
        for (rule, n) in &l.by_rule {
            s += &format!("- {rule}: {n}\n");
        }
        if let Some(q) = &l.quality {
            s += &format!(
                "\nAgainst the ground truth: precision {:.3}, recall {:.3} ({} of {} true pairs found, {} pairs predicted).\n",
                q.precision, q.recall, q.correct_pairs, q.true_pairs, q.predicted_pairs
            );
        }
        if !self.defects.is_empty() {
            s += "\n## Injected defects caught\n\n| defect | injected | caught | by rule |\n|---|---:|---:|---|\n";
            for (kind, d) in &self.defects {
                let rules: Vec<String> =
                    d.by_rule.iter().map(|(r, n)| format!("{r} {n}")).collect();
                s += &format!(
                    "| {kind} | {} | {} | {} |\n",
                    d.injected,
                    d.caught,
                    rules.join(", ")
                );
            }
        }
        s
    }
}
