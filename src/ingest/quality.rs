//! The data-quality report: per source, what came in, what went out, what was
//! quarantined, and what each rule repaired or rejected. Written as JSON
//! (for scripts and the lab checker), Markdown (for people) and shown as a
//! terminal table.

use std::collections::BTreeMap;

use serde::Serialize;

use super::linkage::{Estimation, LinkageQuality, Weights, FIELDS};
use super::raw::TextEncoding;

/// Counts of one rule in one source.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RuleCounts {
    pub repaired: u64,
    pub rejected: u64,
}

/// Records of one table of one source: every record in is out,
/// quarantined or skipped (`in = out + quarantined + skipped`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TableCounts {
    #[serde(rename = "in")]
    pub input: u64,
    pub out: u64,
    pub quarantined: u64,
    /// Read but not taken, with nothing wrong in them: records of a kind
    /// the model does not use (an Observation whose value is coded, not a
    /// number). Their reasons are in `SourceQuality::skipped`.
    pub skipped: u64,
}

/// Messages of one type (`ADT^A01`) of an HL7 v2 source:
/// in = read + unparseable + skipped.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct MessageCounts {
    #[serde(rename = "in")]
    pub input: u64,
    /// Parsed and decoded into records.
    pub read: u64,
    /// Could not be parsed or decoded: one `unparseable` quarantine record.
    pub unparseable: u64,
    /// A type CareLab does not read: no records.
    pub skipped: u64,
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
    /// What the source held that CareLab does not read or keep, by the
    /// source's own name for it (a FHIR resource type, `log` for an export's
    /// log lines, the clean table an HL7 v2 result or stay would have gone
    /// to) -> why (`OBX value type ED`, `not discharged yet`, ...) -> how
    /// many. Skipped is not rejected: nothing is wrong with these records,
    /// the model has no place for them. Those of a table are also in its
    /// `skipped` count.
    pub skipped: BTreeMap<String, BTreeMap<String, u64>>,
    /// HL7 v2: messages by type.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub messages: BTreeMap<String, MessageCounts>,
    /// HL7 v2: segments no rule reads (Z-segments, NK1, ...), by name.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub skipped_segments: BTreeMap<String, u64>,
}

impl SourceQuality {
    /// The counts of one table, added on first use: looked up by name
    /// first, so a record read costs no key allocation.
    pub fn table(&mut self, name: &str) -> &mut TableCounts {
        if !self.tables.contains_key(name) {
            self.tables.insert(name.to_string(), TableCounts::default());
        }
        self.tables.get_mut(name).expect("inserted above")
    }

    pub fn totals(&self) -> TableCounts {
        let mut t = TableCounts::default();
        for c in self.tables.values() {
            t.input += c.input;
            t.out += c.out;
            t.quarantined += c.quarantined;
            t.skipped += c.skipped;
        }
        t
    }

    /// Count `n` records of kind `kind` skipped for `reason`; `table` is
    /// the clean table they would have gone to, when there is one (an
    /// Observation does, a Procedure does not), so that its counts still
    /// add up: they count as in and skipped there.
    pub fn skip(&mut self, kind: &str, table: Option<&str>, reason: &str, n: u64) {
        *self
            .skipped
            .entry(kind.to_string())
            .or_default()
            .entry(reason.to_string())
            .or_default() += n;
        if let Some(table) = table {
            let c = self.tables.entry(table.to_string()).or_default();
            c.input += n;
            c.skipped += n;
        }
    }

    /// Records skipped, of any kind and for any reason.
    pub fn skipped_total(&self) -> u64 {
        self.skipped.values().flat_map(|r| r.values()).sum()
    }
}

/// The linkage part of the report.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LinkageSummary {
    pub patient_records: u64,
    pub persons: u64,
    pub by_rule: BTreeMap<String, u64>,
    pub pairs_compared: u64,
    /// The review queue: pairs left unlinked for a person to decide.
    pub review_pairs: u64,
    /// Of those, pairs a rule would have linked but whose strong
    /// identifiers (SSN; sex and birth date) conflict.
    pub review_conflicts: u64,
    /// Pairs scored between the review and match thresholds but not queued,
    /// because their SSNs (or sex and birth date) say two people.
    pub review_set_aside: u64,
    /// Present when the ground truth was given.
    pub quality: Option<LinkageQuality>,
    /// The m and u the pairs were scored with, per field and level, and
    /// how they were estimated (none: as configured).
    pub weights: Option<Weights>,
    pub estimation: Option<Estimation>,
}

/// One defect kind of the ground truth, and how many the rules caught.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DefectCatch {
    pub injected: u64,
    pub caught: u64,
    pub missed: u64,
    /// Rule -> defects it caught.
    pub by_rule: BTreeMap<String, u64>,
}

/// Where a check fired: a validator rule on one record, the linkage
/// merging a record with another of its own source, or the encoding
/// detection on a file. The one shape every finding is matched in.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct FindingAt {
    pub source: String,
    /// The record's place in the source (`registration.txt line 12`), or
    /// the file name for file-level findings.
    pub location: String,
    /// The record's own id (patient, encounter, observation ... id); empty
    /// when the record could not be read.
    pub record_id: String,
    /// Rule code (`date_format`, ..., `linkage`, `encoding`).
    pub rule: String,
    pub field: String,
}

/// One row of the generator's `truth/defects.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct InjectedDefect {
    pub source: String,
    pub file: String,
    /// Line (fixed-width, CSV) or message number (HL7 v2); 0 for a file.
    pub line: u64,
    pub record_id: String,
    pub field: String,
    pub kind: String,
}

/// The rules that catch each defect kind of `truth/defects.csv`. A defect
/// is caught when one of them fired on the record that carries it.
pub fn catching_rules(kind: &str) -> &'static [&'static str] {
    match kind {
        "mixed_date_format" => &["date_format"],
        "missing_value" => &["required", "placeholder"],
        "placeholder" => &["placeholder"],
        "impossible_value" => &["range", "time_order", "number"],
        "truncated_record" => &["truncated"],
        "mixed_unit" => &["unit"],
        "local_code" => &["code_map"],
        "duplicate_patient" => &["linkage", "duplicate"],
        "latin1_encoding" => &["encoding"],
        _ => &[],
    }
}

/// Read `truth/defects.csv` (columns source, file, line, record_id, field,
/// kind, ...); errors name the file and the line.
pub fn read_defects(path: &std::path::Path) -> crate::error::Result<Vec<InjectedDefect>> {
    let mut csv = crate::formats::named_csv::NamedCsv::open(path)?;
    let cols = csv.columns(&["source", "file", "line", "record_id", "field", "kind"])?;
    let mut out = Vec::new();
    for row in csv.rows() {
        let row = row?;
        let line_text = row.get(cols[2]);
        let line = if line_text.is_empty() {
            0
        } else {
            line_text
                .parse()
                .map_err(|_| row.bad("line", "a line number", line_text))?
        };
        out.push(InjectedDefect {
            source: row.get(cols[0]).to_string(),
            file: row.get(cols[1]).to_string(),
            line,
            record_id: row.get(cols[3]).to_string(),
            field: row.get(cols[4]).to_string(),
            kind: row.get(cols[5]).to_string(),
        });
    }
    Ok(out)
}

/// The key of a raw record: its table's id field (empty when unread).
pub fn record_id(rec: &super::raw::RawRecord) -> &str {
    use super::raw::Table;
    rec.get(match rec.table {
        Table::Patient => "patient_id",
        Table::Encounter => "encounter_id",
        Table::Observation => "observation_id",
        Table::Condition => "condition_id",
        Table::Medication => "medication_id",
        Table::Note => "note_id",
    })
}

/// The validator's findings on one record, placed.
pub fn rule_findings(
    rec: &super::raw::RawRecord,
    findings: &[super::validate::Finding],
) -> Vec<FindingAt> {
    findings
        .iter()
        .map(|f| FindingAt {
            source: rec.source.clone(),
            location: rec.location.clone(),
            record_id: record_id(rec).to_string(),
            rule: f.rule.code().to_string(),
            field: f.field.clone(),
        })
        .collect()
}

/// Linkage as a check: a patient record the master patient index merged
/// with another record of its own source is a duplicate registration found.
/// `records` are (source, location, patient id), `person` the MPI's person
/// of each, in the same order.
pub fn linkage_findings(records: &[(String, String, String)], person: &[String]) -> Vec<FindingAt> {
    let mut per_source: BTreeMap<(&str, &str), u64> = BTreeMap::new();
    for ((source, _, _), p) in records.iter().zip(person) {
        *per_source.entry((source, p)).or_default() += 1;
    }
    records
        .iter()
        .zip(person)
        .filter(|((source, _, _), p)| per_source.get(&(source.as_str(), p.as_str())) > Some(&1))
        .map(|((source, location, id), _)| FindingAt {
            source: source.clone(),
            location: location.clone(),
            record_id: id.clone(),
            rule: "linkage".into(),
            field: "patient_id".into(),
        })
        .collect()
}

/// Encoding detection as a check: every file read as Latin-1.
pub fn encoding_findings(report: &QualityReport) -> Vec<FindingAt> {
    report
        .sources
        .iter()
        .flat_map(|(source, q)| {
            q.encodings
                .iter()
                .filter(|(_, e)| **e == TextEncoding::Latin1)
                .map(move |(file, _)| FindingAt {
                    source: source.clone(),
                    location: file.clone(),
                    record_id: String::new(),
                    rule: "encoding".into(),
                    field: "encoding".into(),
                })
        })
        .collect()
}

/// Match the injected defects to the findings: per defect kind, how many
/// were injected, caught (by which rule) and missed. A finding covers a
/// defect when it is in the same source and either names the same record
/// id, or sits at the defect's place (`FILE line N` for unreadable lines,
/// the file itself for file-level defects), and its rule catches the kind.
pub fn catch_defects(
    defects: &[InjectedDefect],
    findings: &[FindingAt],
) -> BTreeMap<String, DefectCatch> {
    let mut by_record: BTreeMap<(&str, &str), Vec<&FindingAt>> = BTreeMap::new();
    let mut by_place: BTreeMap<(&str, &str), Vec<&FindingAt>> = BTreeMap::new();
    for f in findings {
        if !f.record_id.is_empty() {
            by_record
                .entry((&f.source, &f.record_id))
                .or_default()
                .push(f);
        }
        by_place
            .entry((&f.source, &f.location))
            .or_default()
            .push(f);
    }
    let mut out: BTreeMap<String, DefectCatch> = BTreeMap::new();
    for d in defects {
        let place = if d.line == 0 {
            d.file.clone()
        } else {
            format!("{} line {}", d.file, d.line)
        };
        let rules = catching_rules(&d.kind);
        let candidates = by_record
            .get(&(d.source.as_str(), d.record_id.as_str()))
            .filter(|_| !d.record_id.is_empty())
            .into_iter()
            .chain(by_place.get(&(d.source.as_str(), place.as_str())))
            .flatten();
        let rule = candidates
            .map(|f| f.rule.as_str())
            .find(|r| rules.contains(r));
        let c = out.entry(d.kind.clone()).or_default();
        c.injected += 1;
        match rule {
            Some(r) => {
                c.caught += 1;
                *c.by_rule.entry(r.to_string()).or_default() += 1;
            }
            None => c.missed += 1,
        }
    }
    out
}

/// The whole report.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct QualityReport {
    pub sources: BTreeMap<String, SourceQuality>,
    pub linkage: LinkageSummary,
    pub data_end: String,
    /// Ground-truth defect kind -> caught (present with truth/defects.csv).
    pub defects: BTreeMap<String, DefectCatch>,
    /// The data-quality checks over the CDM database (`cdm.sqlite`).
    pub cdm_checks: Vec<super::cdm_checks::CheckResult>,
}

impl QualityReport {
    /// The terminal table: one line per source, then the rules that fired.
    pub fn table(&self) -> String {
        let mut s = format!(
            "{:<16} {:>9} {:>9} {:>11} {:>9}\n",
            "source", "in", "out", "quarantined", "skipped"
        );
        for (name, q) in &self.sources {
            let t = q.totals();
            // a source's skipped records outside any table count as in too
            let outside = q.skipped_total().saturating_sub(t.skipped);
            s += &format!(
                "{:<16} {:>9} {:>9} {:>11} {:>9}\n",
                name,
                t.input + outside,
                t.out,
                t.quarantined,
                t.skipped + outside
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
        for (name, q) in self.sources.iter().filter(|(_, q)| !q.messages.is_empty()) {
            let sum = |f: fn(&MessageCounts) -> u64| q.messages.values().map(f).sum::<u64>();
            s += &format!(
                "\n{name}: {} HL7 v2 messages: {} read, {} unparseable, {} skipped by type (quality.md lists the types)\n",
                sum(|c| c.input),
                sum(|c| c.read),
                sum(|c| c.unparseable),
                sum(|c| c.skipped)
            );
        }
        let l = &self.linkage;
        s += &format!(
            "\nlinkage: {} patient records -> {} persons ({} pairs compared, {} for review, {} of them held back by conflicting identifiers; {} weaker pairs with conflicting identifiers set aside)\n",
            l.patient_records, l.persons, l.pairs_compared, l.review_pairs, l.review_conflicts, l.review_set_aside
        );
        if let (Some(w), Some(e)) = (&l.weights, &l.estimation) {
            s += &format!("linkage weights: u from {} random pairs", e.random_pairs);
            for fit in &e.fits {
                s += &format!(
                    "; EM on {} pairs of {} ({:.0} one person, m of {})",
                    fit.pairs,
                    fit.rule,
                    fit.matches,
                    if fit.estimated.is_empty() {
                        "none: too few".to_string()
                    } else {
                        fit.estimated.join(", ")
                    }
                );
            }
            if !e.configured_m.is_empty() {
                s += &format!("; configured m: {}", e.configured_m.join(", "));
            }
            s += "\nm agree/partial/disagree:";
            for (f, m) in FIELDS.iter().zip(&w.m) {
                s += &format!(" {f} {:.3}/{:.3}/{:.3}", m[0], m[1], m[2]);
            }
            s += "\n";
        }
        if let Some(q) = &l.quality {
            s += &format!(
                "linkage vs truth: precision {:.4}, recall {:.4}\n",
                q.precision, q.recall
            );
        }
        if !self.cdm_checks.is_empty() {
            let failed: Vec<&str> = self
                .cdm_checks
                .iter()
                .filter(|c| !c.passed)
                .map(|c| c.name.as_str())
                .collect();
            s += &format!(
                "\nCDM data-quality checks: {} of {} passed{}\n",
                self.cdm_checks.len() - failed.len(),
                self.cdm_checks.len(),
                if failed.is_empty() {
                    String::new()
                } else {
                    format!("; failed: {} (quality.md)", failed.join(", "))
                }
            );
        }
        if !self.defects.is_empty() {
            s += &format!(
                "\n{:<18} {:>8} {:>7} {:>7}  {}\n",
                "injected defect", "injected", "caught", "missed", "by rule"
            );
            for (kind, d) in &self.defects {
                let rules: Vec<String> =
                    d.by_rule.iter().map(|(r, n)| format!("{r} {n}")).collect();
                s += &format!(
                    "{:<18} {:>8} {:>7} {:>7}  {}\n",
                    kind,
                    d.injected,
                    d.caught,
                    d.missed,
                    rules.join(", ")
                );
            }
        }
        s
    }

    /// HL7 v2 messages by type and segments not read, when any.
    fn markdown_skipped(&self) -> String {
        let mut s = String::new();
        let has = |f: &dyn Fn(&SourceQuality) -> bool| self.sources.values().any(f);
        if has(&|q| !q.messages.is_empty()) {
            s += "\n## HL7 v2 messages by type\n\nin = read + unparseable + skipped; a type CareLab does not read is skipped whole.\n\n";
            s += "| source | type | in | read | unparseable | skipped |\n|---|---|---:|---:|---:|---:|\n";
            for (name, q) in &self.sources {
                for (kind, c) in &q.messages {
                    s += &format!(
                        "| {name} | {kind} | {} | {} | {} | {} |\n",
                        c.input, c.read, c.unparseable, c.skipped
                    );
                }
            }
        }
        if has(&|q| !q.skipped_segments.is_empty()) {
            s += "\n## Segments not read\n\n| source | segment | count |\n|---|---|---:|\n";
            for (name, q) in &self.sources {
                for (seg, n) in &q.skipped_segments {
                    s += &format!("| {name} | {seg} | {n} |\n");
                }
            }
        }
        s
    }

    /// The CDM checks: one row each, then the fields that violate them.
    fn markdown_cdm_checks(&self) -> String {
        if self.cdm_checks.is_empty() {
            return String::new();
        }
        let mut s = String::from("\n## CDM data-quality checks\n\nChecks over cdm.sqlite in the spirit of the OHDSI Data Quality Dashboard (datasets/omop-dq/checks.toml): a check fails when the share of violating rows is above its threshold.\n\n");
        s += "| check | category | DQD check | threshold % | violated | checked | violated % | result |\n|---|---|---|---:|---:|---:|---:|---|\n";
        for c in &self.cdm_checks {
            s += &format!(
                "| {} | {} | {} | {} | {} | {} | {:.2} | {} |\n",
                c.name,
                c.category.as_str(),
                c.dqd,
                c.threshold,
                c.violated,
                c.checked,
                c.pct,
                if c.passed { "pass" } else { "FAIL" }
            );
        }
        if self.cdm_checks.iter().any(|c| !c.fields.is_empty()) {
            s += "\nFields with violations:\n\n| check | field | violated | checked | violated % | threshold % | result |\n|---|---|---:|---:|---:|---:|---|\n";
            for c in &self.cdm_checks {
                for f in &c.fields {
                    s += &format!(
                        "| {} | {} | {} | {} | {:.2} | {} | {} |\n",
                        c.name,
                        f.field,
                        f.violated,
                        f.checked,
                        f.pct,
                        f.threshold,
                        if f.passed { "pass" } else { "FAIL" }
                    );
                }
            }
        }
        s
    }

    /// The Markdown report (quality.md).
    pub fn markdown(&self) -> String {
        let mut s = String::from("# Data-quality report\n\n");
        s += &format!("Data end: {}\n\n## Records per source\n\n", self.data_end);
        s += "Every record in is out, quarantined (a rule rejected it) or skipped (the model has no place for it): in = out + quarantined + skipped.\n\n";
        s += "| source | table | in | out | quarantined | skipped |\n|---|---|---:|---:|---:|---:|\n";
        for (name, q) in &self.sources {
            for (table, c) in &q.tables {
                s += &format!(
                    "| {name} | {table} | {} | {} | {} | {} |\n",
                    c.input, c.out, c.quarantined, c.skipped
                );
            }
        }
        if self.sources.values().any(|q| !q.skipped.is_empty()) {
            s += "\n## Skipped\n\nWhat the sources hold that CareLab does not read. Nothing is wrong with these records, so they are not quarantined; they are counted here so that every record is accounted for. Those of a table above are in its skipped column; the others (resource or message types the model has no table for, an export's log lines) are only here.\n\n";
            s += "| source | what | why | count |\n|---|---|---|---:|\n";
            for (name, q) in &self.sources {
                for (kind, reasons) in &q.skipped {
                    for (reason, n) in reasons {
                        s += &format!("| {name} | {kind} | {reason} | {n} |\n");
                    }
                }
            }
        }
        s += &self.markdown_skipped();
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
                // a code kept as `system|code` must not split the table row
                let code = code.replace('|', "\\|");
                unmapped += &format!("| {name} | code | {code} | {n} |\n");
            }
            for (unit, n) in &q.unknown_units {
                unmapped += &format!("| {name} | unit | {unit} | {n} |\n");
            }
        }
        if !unmapped.is_empty() {
            s += "\n## Unmapped codes and units\n\nAdd them to the maps your pipeline config names under [maps]: lab_codes or units for measurements (quarantined with the reason code_map or unit), snomed_conditions for conditions coded in SNOMED CT (kept with their source code until mapped). Without [maps], ingest uses its built-in maps (datasets/maps/ in the CareLab repository): copy them, name the copies under [maps] and add to those.\n\n";
            s += "| source | what | value | count |\n|---|---|---|---:|\n";
            s += &unmapped;
        }
        let l = &self.linkage;
        s += &format!(
            "\n## Linkage\n\n{} patient records, {} persons, {} pairs compared, {} pairs for review ({} of them held back because SSN, or sex and birth date, conflict: linkage_review.csv). {} pairs scored below the match threshold were set aside, not queued: their SSNs, or sex and birth date, say two people.\n\n",
            l.patient_records, l.persons, l.pairs_compared, l.review_pairs, l.review_conflicts, l.review_set_aside
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
        s += &self.markdown_cdm_checks();
        if !self.defects.is_empty() {
            s += "\n## Injected defects caught\n\nThe generator's truth/defects.csv against what the rules found.\n\n| defect | injected | caught | missed | by rule |\n|---|---:|---:|---:|---|\n";
            for (kind, d) in &self.defects {
                let rules: Vec<String> =
                    d.by_rule.iter().map(|(r, n)| format!("{r} {n}")).collect();
                s += &format!(
                    "| {kind} | {} | {} | {} | {} |\n",
                    d.injected,
                    d.caught,
                    d.missed,
                    rules.join(", ")
                );
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(source: &str, location: &str, id: &str, rule: &str) -> FindingAt {
        FindingAt {
            source: source.into(),
            location: location.into(),
            record_id: id.into(),
            rule: rule.into(),
            field: String::new(),
        }
    }

    fn defect(source: &str, file: &str, line: u64, id: &str, kind: &str) -> InjectedDefect {
        InjectedDefect {
            source: source.into(),
            file: file.into(),
            line,
            record_id: id.into(),
            field: String::new(),
            kind: kind.into(),
        }
    }

    #[test]
    fn defects_are_caught_by_record_id_or_place_and_only_by_their_rules() {
        let defects = vec![
            defect("reg", "r.txt", 3, "E1", "mixed_date_format"),
            defect("reg", "r.txt", 4, "E2", "truncated_record"),
            defect("labs", "l.hl7", 1, "O1", "local_code"),
            defect("labs", "l.hl7", 1, "O2", "mixed_unit"),
            defect("ph", "ph.csv", 0, "", "latin1_encoding"),
        ];
        let findings = vec![
            finding("reg", "r.txt line 3", "E1", "date_format"),
            // the cut line has no id: matched by place
            finding("reg", "r.txt line 4", "", "truncated"),
            finding("labs", "l.hl7 message 1 OBX 1", "O1", "code_map"),
            // a rule that does not catch a unit defect
            finding("labs", "l.hl7 message 1 OBX 2", "O2", "range"),
            finding("ph", "ph.csv", "", "encoding"),
        ];
        let c = catch_defects(&defects, &findings);
        assert_eq!(c["mixed_date_format"].caught, 1);
        assert_eq!(c["mixed_date_format"].by_rule["date_format"], 1);
        assert_eq!(c["truncated_record"].caught, 1);
        assert_eq!(c["local_code"].caught, 1);
        assert_eq!(c["mixed_unit"].caught, 0);
        assert_eq!(c["mixed_unit"].missed, 1);
        assert_eq!(c["latin1_encoding"].by_rule["encoding"], 1);
    }

    #[test]
    fn defects_csv_is_read_by_column_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("defects.csv");
        std::fs::write(
            &path,
            "source,file,line,record_id,field,kind,clean_value,injected_value\n\
             reg,r.txt,7,E9,admit_time,missing_value,20210101000000,\n\
             ph,ph.csv,,,encoding,latin1_encoding,UTF-8,windows-1252\n",
        )
        .unwrap();
        let d = read_defects(&path).unwrap();
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].line, 7);
        assert_eq!(d[0].kind, "missing_value");
        assert_eq!(d[1].line, 0);
        std::fs::write(&path, "source,file\nx,y\n").unwrap();
        let e = read_defects(&path).unwrap_err().to_string();
        assert!(e.contains("line") && e.contains("defects.csv"), "{e}");
    }
}
