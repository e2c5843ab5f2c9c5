//! De-identify a folder of clean CSV tables, table by table and column by
//! column, driven by column roles; write the tables, a report (JSON and
//! Markdown), a manifest and an audit record.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use serde::Serialize;

use super::kanon::{self, KReport, QuasiRow};
use super::patterns::Found;
use super::pseudonym::Pseudonymizer;
use super::roles::{Role, RoleMap};
use super::rules::{age_years, date_shift_days, published_age, safe_harbor_zip, DateCell};
use super::scrub::{score, KindScore, KnownIds, Scrubber};
use crate::artifact::{write_atomic, write_json, AtomicFile, Manifest};
use crate::audit::{AuditEvent, AuditLog};
use crate::clinical::{PhiKind, PhiSpan};
use crate::error::{Error, IoContext, Result};
use crate::ui::Ui;

/// Which de-identification standard to apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// HIPAA 164.514(b)(2): the 18 identifiers removed or generalised.
    SafeHarbor,
    /// HIPAA limited data set: keyed per-patient date shift; NOT Safe Harbor.
    Limited,
    /// GDPR Art. 4(5): identifiers replaced by keyed pseudonyms; still personal data.
    Pseudonymize,
}

/// Everything a run needs.
#[derive(Debug, Clone)]
pub struct Options {
    pub input: PathBuf,
    pub output: PathBuf,
    pub mode: Mode,
    pub key_file: PathBuf,
    pub roles: RoleMap,
    pub quasi: Vec<String>,
    pub sensitive: String,
    pub k: u64,
    pub suppress: bool,
    pub truth: Option<PathBuf>,
    /// Where to append this run's own audit record; `None`: no record.
    pub audit: Option<PathBuf>,
    /// Reference date for ages; default: the latest date in the patients
    /// and encounters tables.
    pub as_of: Option<NaiveDate>,
    pub max_shift_days: i64,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct TableReport {
    pub rows_in: u64,
    pub rows_out: u64,
    pub rows_suppressed: u64,
    /// Column -> role and what was done.
    pub columns: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub mode: Mode,
    pub standard: String,
    pub is_safe_harbor: bool,
    pub as_of: String,
    pub tables: BTreeMap<String, TableReport>,
    /// Files in the input that were not copied, with why.
    pub not_processed: BTreeMap<String, String>,
    pub notes_scrubbed: u64,
    pub phi_spans_replaced: BTreeMap<String, u64>,
    /// Recall and precision per PHI kind against `--truth`.
    pub note_scores: Option<BTreeMap<String, KindScore>>,
    pub k_anonymity: Option<KReport>,
    pub patients_suppressed: u64,
}

fn standard(mode: Mode) -> &'static str {
    match mode {
        Mode::SafeHarbor => "HIPAA Safe Harbor, 45 CFR 164.514(b)(2)",
        Mode::Limited => "HIPAA limited data set, 45 CFR 164.514(e): NOT Safe Harbor de-identified; needs a data use agreement",
        Mode::Pseudonymize => "GDPR Art. 4(5) pseudonymisation: still personal data under GDPR",
    }
}

struct PatientFacts {
    age: Option<i64>,
}

/// One CSV table read whole: header and records.
struct Table {
    name: String,
    header: Vec<String>,
    rows: Vec<csv::StringRecord>,
}

fn read_table(path: &Path) -> Result<Table> {
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(false)
        .from_path(path)
        .map_err(|e| csv_err(path, e))?;
    let header: Vec<String> = rdr
        .headers()
        .map_err(|e| csv_err(path, e))?
        .iter()
        .map(String::from)
        .collect();
    let mut rows = Vec::new();
    for r in rdr.records() {
        rows.push(r.map_err(|e| csv_err(path, e))?);
    }
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(Table { name, header, rows })
}

fn csv_err(path: &Path, e: csv::Error) -> Error {
    let line = e.position().map(|p| format!("line {}", p.line()));
    Error::bad_input(
        path.display(),
        line,
        "well-formed CSV with a header",
        e.to_string(),
    )
}

/// Run de-identification of `opts.input` into `opts.output`.
pub fn run(opts: &Options, ui: &Ui) -> Result<Report> {
    let key = check_paths(opts)?;
    let roles = &opts.roles;
    let mut csvs = Vec::new();
    let mut not_processed = BTreeMap::new();
    for entry in std::fs::read_dir(&opts.input).at(&opts.input)? {
        let entry = entry.at(&opts.input)?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        if path.is_file() && name.ends_with(".csv") {
            csvs.push(path);
        } else if name == "manifest.json" {
            not_processed.insert(name, "the input's manifest; a new one is written".into());
        } else if path.is_dir() {
            not_processed.insert(
                name + "/",
                "folder not de-identified (truth and exports hold PHI): not copied".into(),
            );
        } else {
            not_processed.insert(name, "only CSV tables are de-identified: not copied".into());
        }
    }
    csvs.sort();
    let mut tables = Vec::new();
    for p in &csvs {
        tables.push(read_table(p)?);
    }
    let patients_ix = tables.iter().position(|t| {
        t.header.iter().any(|c| roles.role(c) == Role::BirthDate)
            && t.header.iter().any(|c| roles.role(c) == Role::PatientKey)
    });

    // Facts about patients: age at the reference date, identifiers for notes.
    let as_of = match opts.as_of {
        Some(d) => d,
        None => latest_date(&tables, roles)
            .unwrap_or_else(|| NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or_default()),
    };
    let mut facts: HashMap<String, PatientFacts> = HashMap::new();
    let mut scrubber = Scrubber::new();
    if let Some(ix) = patients_ix {
        let t = &tables[ix];
        for row in &t.rows {
            let mut key = String::new();
            let mut birth = None;
            let mut death = None;
            let mut ids = KnownIds::default();
            for (c, v) in t.header.iter().zip(row.iter()) {
                let role = roles.role(c);
                match role {
                    Role::PatientKey => key = v.to_string(),
                    Role::BirthDate => birth = DateCell::parse(v).map(|d| d.date()),
                    Role::Date if c.contains("death") => {
                        death = DateCell::parse(v).map(|d| d.date())
                    }
                    _ => {}
                }
                if let Some(kind) = note_kind(role) {
                    if !v.trim().is_empty() {
                        ids.values.push((kind, v.to_string()));
                    }
                }
                if role == Role::BirthDate {
                    if let Some(d) = DateCell::parse(v) {
                        for f in ["%m/%d/%Y", "%B %-d, %Y", "%-m/%-d/%Y"] {
                            ids.values
                                .push((PhiKind::Date, d.date().format(f).to_string()));
                        }
                    }
                }
            }
            let at = death.map(|d| d.min(as_of)).unwrap_or(as_of);
            let age = birth.map(|b| age_years(b, at));
            scrubber.add_patient(&key, ids);
            facts.insert(key, PatientFacts { age });
        }
    }

    let mut report = Report {
        mode: opts.mode,
        standard: standard(opts.mode).into(),
        is_safe_harbor: opts.mode == Mode::SafeHarbor,
        as_of: as_of.to_string(),
        tables: BTreeMap::new(),
        not_processed,
        notes_scrubbed: 0,
        phi_spans_replaced: BTreeMap::new(),
        note_scores: None,
        k_anonymity: None,
        patients_suppressed: 0,
    };

    // k-anonymity over the patients table as it will be published.
    let mut suppressed: BTreeSet<String> = BTreeSet::new();
    if let (Some(ix), false) = (patients_ix, opts.quasi.is_empty()) {
        let t = &tables[ix];
        let rows = quasi_rows(t, roles, opts, &facts, &key);
        report.k_anonymity = Some(kanon::report(&rows, &opts.quasi, &opts.sensitive, opts.k));
        if opts.suppress {
            suppressed = kanon::below_k(&rows, &opts.quasi, opts.k);
            report.patients_suppressed = suppressed.len() as u64;
        }
    }

    std::fs::create_dir_all(&opts.output).at(&opts.output)?;
    let mut note_texts: HashMap<String, String> = HashMap::new();
    let mut note_found: HashMap<String, Vec<Found>> = HashMap::new();
    let keep_truth = opts.truth.is_some();
    let mut progress = ui.progress(tables.len() as u64, "tables");
    for (ix, t) in tables.iter().enumerate() {
        let is_patients = Some(ix) == patients_ix;
        let (tr, notes) = write_table(
            t,
            is_patients,
            opts,
            &key,
            &facts,
            &scrubber,
            &suppressed,
            as_of,
        )?;
        for (note_id, text, found) in notes {
            report.notes_scrubbed += 1;
            for f in &found {
                *report
                    .phi_spans_replaced
                    .entry(super::patterns::kind_name(f.kind).into())
                    .or_default() += 1;
            }
            if keep_truth {
                note_texts.insert(note_id.clone(), text);
                note_found.insert(note_id, found);
            }
        }
        report.tables.insert(t.name.clone(), tr);
        progress.inc(1);
    }
    progress.finish();

    if let Some(truth) = &opts.truth {
        let spans = read_truth(truth)?;
        report.note_scores = Some(score(&note_texts, &note_found, &spans));
    }

    write_json(opts.output.join("deid-report.json"), &report)?;
    write_atomic(
        opts.output.join("deid-report.md"),
        markdown(&report).as_bytes(),
    )?;
    let mut manifest = Manifest::new("deid");
    manifest
        .inputs
        .insert("input".into(), input_digest(&opts.input)?);
    manifest.inputs.insert(
        "key".into(),
        "a key file outside the output (not recorded)".into(),
    );
    for (name, t) in &report.tables {
        manifest.counts.insert(format!("{name}.rows_in"), t.rows_in);
        manifest
            .counts
            .insert(format!("{name}.rows_out"), t.rows_out);
        manifest
            .counts
            .insert(format!("{name}.rows_suppressed"), t.rows_suppressed);
    }
    manifest
        .details
        .insert("mode".into(), serde_json::to_value(opts.mode)?);
    manifest
        .details
        .insert("standard".into(), report.standard.clone().into());
    manifest
        .details
        .insert("is_safe_harbor".into(), report.is_safe_harbor.into());
    manifest.checksum_dir(&opts.output)?;
    manifest.write(&opts.output)?;

    // A run's own record; under the CLI's --audit-log the wrapper records
    // the run instead, from the manifest written above.
    let Some(audit_path) = &opts.audit else {
        return Ok(report);
    };
    let log = AuditLog::open(audit_path)?;
    let mut event = AuditEvent::new("export", "E", "carelab-deid");
    event.entity = format!("dataset:{}", &manifest.digest()[..16]);
    let rows: u64 = report.tables.values().map(|t| t.rows_out).sum();
    event.detail = format!(
        "deid mode={:?} tables={} rows_out={} patients_suppressed={}",
        opts.mode,
        report.tables.len(),
        rows,
        report.patients_suppressed
    );
    log.record(event)?;
    Ok(report)
}

fn check_paths(opts: &Options) -> Result<Pseudonymizer> {
    if !opts.input.is_dir() {
        return Err(Error::usage(format!(
            "--in {} is not a folder",
            opts.input.display()
        )));
    }
    let abs = |p: &Path| -> PathBuf {
        let p = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
        p.parent()
            .and_then(|d| d.canonicalize().ok())
            .map(|d| d.join(p.file_name().unwrap_or_default()))
            .unwrap_or(p)
    };
    let out = abs(&opts.output);
    let key = abs(&opts.key_file);
    if key.starts_with(&out) {
        return Err(Error::usage(format!(
            "the key file {} is inside --out {}: keep the key away from the data it protects",
            opts.key_file.display(),
            opts.output.display()
        )));
    }
    if abs(&opts.input) == out {
        return Err(Error::usage("--out must differ from --in"));
    }
    Pseudonymizer::from_key_file(&opts.key_file)
}

fn note_kind(role: Role) -> Option<PhiKind> {
    Some(match role {
        Role::Name => PhiKind::Name,
        Role::Mrn | Role::Identifier => PhiKind::Mrn,
        Role::Ssn => PhiKind::Ssn,
        Role::Phone => PhiKind::Phone,
        Role::Email => PhiKind::Email,
        Role::Address => PhiKind::Address,
        Role::City => PhiKind::City,
        Role::Zip => PhiKind::Zip,
        Role::BirthDate => PhiKind::Date,
        _ => return None,
    })
}

fn latest_date(tables: &[Table], roles: &RoleMap) -> Option<NaiveDate> {
    tables
        .iter()
        .filter(|t| t.name == "patients" || t.name == "encounters")
        .flat_map(|t| {
            t.rows.iter().flat_map(move |r| {
                t.header
                    .iter()
                    .zip(r.iter())
                    .filter(|(c, _)| roles.role(c) == Role::Date)
                    .filter_map(|(_, v)| DateCell::parse(v).map(|d| d.date()))
            })
        })
        .max()
}

fn quasi_rows(
    t: &Table,
    roles: &RoleMap,
    opts: &Options,
    facts: &HashMap<String, PatientFacts>,
    key: &Pseudonymizer,
) -> Vec<QuasiRow> {
    t.rows
        .iter()
        .map(|r| {
            let mut q = QuasiRow {
                key: String::new(),
                age: String::new(),
                columns: BTreeMap::new(),
                sensitive: String::new(),
            };
            for (c, v) in t.header.iter().zip(r.iter()) {
                let role = roles.role(c);
                if role == Role::PatientKey {
                    q.key = v.to_string();
                    q.age = facts
                        .get(v)
                        .and_then(|f| f.age)
                        .map(published_age)
                        .unwrap_or_default();
                }
                if role == Role::Zip {
                    let z = match opts.mode {
                        Mode::SafeHarbor => safe_harbor_zip(v),
                        _ => v.chars().take(3).collect(),
                    };
                    q.columns.insert("zip3".into(), z);
                }
                if *c == opts.sensitive {
                    q.sensitive = v.to_string();
                }
                q.columns.insert(c.clone(), v.to_string());
            }
            let _ = key;
            q
        })
        .collect()
}

type NoteOut = (String, String, Vec<Found>);

#[allow(clippy::too_many_arguments)]
fn write_table(
    t: &Table,
    is_patients: bool,
    opts: &Options,
    key: &Pseudonymizer,
    facts: &HashMap<String, PatientFacts>,
    scrubber: &Scrubber,
    suppressed: &BTreeSet<String>,
    _as_of: NaiveDate,
) -> Result<(TableReport, Vec<NoteOut>)> {
    let roles: Vec<Role> = t.header.iter().map(|c| opts.roles.role(c)).collect();
    let pk = roles.iter().position(|r| *r == Role::PatientKey);
    let note_id_ix = t.header.iter().position(|c| c == "note_id");
    let mut tr = TableReport::default();
    let mut keep_cols = Vec::new();
    for (c, r) in t.header.iter().zip(&roles) {
        let action = action(*r, opts.mode, pk.is_some());
        tr.columns.insert(
            c.clone(),
            format!(
                "{}: {action}",
                serde_json::to_value(r)?.as_str().unwrap_or("?")
            ),
        );
        if action != "removed" {
            keep_cols.push(c.clone());
        }
    }
    if is_patients {
        keep_cols.push("age".into());
        tr.columns.insert(
            "age".into(),
            "added: age at the reference date, 90+ above 89".into(),
        );
    }
    let path = opts.output.join(format!("{}.csv", t.name));
    let mut file = AtomicFile::create(&path)?;
    let mut notes = Vec::new();
    {
        let mut w = csv::Writer::from_writer(&mut file);
        w.write_record(&keep_cols)
            .map_err(|e| Error::failure(format!("{}: {e}", path.display())))?;
        for row in &t.rows {
            tr.rows_in += 1;
            let patient = pk.and_then(|i| row.get(i)).unwrap_or("");
            if !patient.is_empty() && suppressed.contains(patient) {
                tr.rows_suppressed += 1;
                continue;
            }
            let age = facts.get(patient).and_then(|f| f.age);
            let over_89 = age.is_some_and(|a| a > 89);
            let shift = (pk.is_some() && !patient.is_empty())
                .then(|| date_shift_days(key, patient, opts.max_shift_days));
            let mut out = Vec::with_capacity(keep_cols.len());
            for ((c, v), r) in t.header.iter().zip(row.iter()).zip(&roles) {
                let Some(value) = transform(*r, c, v, opts.mode, key, shift, over_89) else {
                    continue;
                };
                if *r == Role::Text {
                    let (text, found) = scrubber.scrub(patient, v);
                    let id = note_id_ix
                        .and_then(|i| row.get(i))
                        .unwrap_or("")
                        .to_string();
                    notes.push((id, v.to_string(), found));
                    out.push(text);
                } else {
                    out.push(value);
                }
            }
            if is_patients {
                out.push(age.map(published_age).unwrap_or_default());
            }
            w.write_record(&out)
                .map_err(|e| Error::failure(format!("{}: {e}", path.display())))?;
            tr.rows_out += 1;
        }
        w.flush().at(&path)?;
    }
    file.commit()?;
    Ok((tr, notes))
}

/// What a role becomes under a mode, in words for the report.
fn action(role: Role, mode: Mode, has_patient: bool) -> &'static str {
    use Mode::*;
    use Role::*;
    match (role, mode) {
        (PatientKey | Key, _) => "keyed pseudonym",
        (Name | Mrn | Ssn | Phone | Email | Identifier | Address, SafeHarbor | Limited) => {
            "removed"
        }
        (Name | Mrn | Ssn | Phone | Email | Identifier | Address, Pseudonymize) => {
            "keyed pseudonym"
        }
        (City, SafeHarbor) => "removed",
        (Zip, SafeHarbor) => "ZIP3, 000 for restricted areas",
        (BirthDate, SafeHarbor) => "year only; removed above age 89",
        (Date, SafeHarbor) => "year only",
        (BirthDate, Limited) => "shifted per patient; removed above age 89",
        (Date, Limited) if has_patient => "shifted per patient (intervals kept)",
        (Date, Limited) => "year only (no patient key to shift by)",
        (Text, _) => "scrubbed",
        _ => "kept",
    }
}

fn transform(
    role: Role,
    column: &str,
    v: &str,
    mode: Mode,
    key: &Pseudonymizer,
    shift: Option<i64>,
    over_89: bool,
) -> Option<String> {
    use Mode::*;
    use Role::*;
    if v.is_empty() && !matches!(action(role, mode, shift.is_some()), "removed") {
        return Some(String::new());
    }
    Some(match (role, mode) {
        (PatientKey, _) => key.pseudonym("patient", v),
        (Key, _) => key.pseudonym(column, v),
        (Name | Mrn | Ssn | Phone | Email | Identifier | Address, SafeHarbor | Limited) => {
            return None
        }
        (Name | Mrn | Ssn | Phone | Email | Identifier | Address, Pseudonymize) => {
            key.pseudonym(column, v)
        }
        (City, SafeHarbor) => return None,
        (Zip, SafeHarbor) => safe_harbor_zip(v),
        (BirthDate, SafeHarbor | Limited) if over_89 => String::new(),
        (BirthDate | Date, SafeHarbor) => DateCell::parse(v).map(|d| d.year()).unwrap_or_default(),
        (BirthDate | Date, Limited) => match (DateCell::parse(v), shift) {
            (Some(d), Some(s)) => d.shifted(s).format(),
            (Some(d), None) => d.year(),
            (None, _) => String::new(),
        },
        _ => v.to_string(),
    })
}

fn read_truth(path: &Path) -> Result<Vec<PhiSpan>> {
    let mut rdr = csv::Reader::from_path(path).map_err(|e| csv_err(path, e))?;
    let mut out = Vec::new();
    for r in rdr.deserialize::<PhiSpan>() {
        out.push(r.map_err(|e| csv_err(path, e))?);
    }
    Ok(out)
}

fn input_digest(dir: &Path) -> Result<String> {
    let mut m = Manifest::new("input");
    for f in crate::artifact::list_files(dir)? {
        let name = f.to_string_lossy().replace('\\', "/");
        if !name.contains('/') && name.ends_with(".csv") {
            m.files
                .insert(name.clone(), crate::artifact::sha256_file(dir.join(&f))?);
        }
    }
    Ok(m.digest())
}

/// The report for people.
pub fn markdown(r: &Report) -> String {
    let mut s = format!(
        "# De-identification report\n\nMode: **{:?}** — {}.\n\n",
        r.mode, r.standard
    );
    if !r.is_safe_harbor {
        s.push_str("**This output is NOT de-identified under HIPAA Safe Harbor.**\n\n");
    }
    s.push_str(&format!(
        "Ages are computed at {} (the latest date in the data unless set).\n\n",
        r.as_of
    ));
    s.push_str("| table | rows in | rows out | suppressed |\n|---|---:|---:|---:|\n");
    for (n, t) in &r.tables {
        s.push_str(&format!(
            "| {n} | {} | {} | {} |\n",
            t.rows_in, t.rows_out, t.rows_suppressed
        ));
    }
    s.push_str("\n## Columns\n\n");
    for (n, t) in &r.tables {
        for (c, a) in &t.columns {
            s.push_str(&format!("- `{n}.{c}` — {a}\n"));
        }
    }
    if !r.not_processed.is_empty() {
        s.push_str("\n## Not processed\n\n");
        for (f, why) in &r.not_processed {
            s.push_str(&format!("- `{f}` — {why}\n"));
        }
    }
    s.push_str(&format!(
        "\n## Notes\n\n{} notes scrubbed.\n",
        r.notes_scrubbed
    ));
    if let Some(sc) = &r.note_scores {
        s.push_str("\n| PHI kind | truth spans | recall | detections | precision |\n|---|---:|---:|---:|---:|\n");
        for (k, v) in sc {
            s.push_str(&format!(
                "| {k} | {} | {:.4} | {} | {:.4} |\n",
                v.truth_spans, v.recall, v.detected, v.precision
            ));
        }
    }
    if let Some(k) = &r.k_anonymity {
        s.push_str(&format!(
            "\n## k-anonymity\n\nQuasi-identifiers {:?}: {} classes, k = {}, l = {} ({}), {} records in classes below k = {}; {} patients suppressed.\n",
            k.quasi, k.classes, k.k, k.l, k.sensitive, k.records_below_k, k.k_target, r.patients_suppressed
        ));
        for sug in &k.suggestions {
            s.push_str(&format!(
                "- age bands of {} years{}: k = {}, {} records below k\n",
                if sug.level.age_band_years == 0 {
                    "0-17/18-64/65-89".to_string()
                } else {
                    sug.level.age_band_years.to_string()
                },
                if sug.level.zip3_to_state {
                    ", ZIP3 -> state"
                } else {
                    ""
                },
                sug.k,
                sug.records_below_k
            ));
        }
    }
    s
}
