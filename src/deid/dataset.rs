//! De-identify a folder of clean tables (CSV or Parquet), table by table
//! and column by column, driven by column roles; write the tables (in the
//! input's format or `--format`), a report (JSON and Markdown), a manifest
//! and, when asked, an audit record.
//!
//! Tables stream row by row: only what is known about each patient (age,
//! identifiers to look for in their notes, quasi-identifiers) is held, so
//! memory grows with the number of patients, not with the number of rows.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use arrow_schema::DataType;
use chrono::NaiveDate;
use serde::Serialize;

use super::kanon::{self, KReport, QuasiRow};
use super::patterns::Found;
use super::pseudonym::Pseudonymizer;
use super::roles::{KeptIdentifier, Role, RoleMap};
use super::rules::{
    age_years, date_shift_days, published_age, safe_harbor_zip, shift_date_text, DateCell,
};
use super::scrub::{apply, apply_with, KindScore, KnownIds, Scorer, Scrubber};
use super::surrogate::Surrogates;
use super::tables::{records_schema, TableFile, TableSink};
use crate::artifact::{write_atomic, write_json, Manifest};
use crate::audit::{AuditEvent, AuditLog};
use crate::clinical::{date_text, DateStyle, PhiKind, PhiSpan};
use crate::error::{Error, IoContext, Result};
use crate::formats::table::TableFormat;
use crate::ui::Ui;

/// Which de-identification standard to apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// HIPAA 164.514(b)(2): the 18 identifiers removed or generalised; ids
    /// become random surrogates, the crosswalk kept apart (164.514(c)).
    SafeHarbor,
    /// HIPAA limited data set: direct identifiers removed, real dates kept
    /// (`shift_dates` moves them per patient); NOT Safe Harbor.
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
    /// The pseudonym key: needed by the limited data set and pseudonymise
    /// modes; Safe Harbor derives nothing from it.
    pub key_file: Option<PathBuf>,
    /// Safe Harbor: where the crosswalk (original id -> random surrogate)
    /// is written; required then, and never inside `output`.
    pub crosswalk: Option<PathBuf>,
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
    /// Limited data set: move every date of a patient by a keyed
    /// per-patient shift. Off by default: a limited data set may keep real
    /// dates (45 CFR 164.514(e)(2)).
    pub shift_dates: bool,
    /// Under Safe Harbor, write the output even when the role overrides
    /// keep identifiers, marked as not Safe Harbor; without it such a run
    /// is refused.
    pub allow_not_safe_harbor: bool,
    /// Output format; `None`: each table in its input's format. Where the
    /// input holds a table in both formats, this format's copy is read.
    pub format: Option<TableFormat>,
    /// The learned detector that scrubs notes beside the rules (`None`:
    /// the rules alone).
    pub detector: Option<std::sync::Arc<super::detector::Detector>>,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct TableReport {
    pub rows_in: u64,
    pub rows_out: u64,
    pub rows_suppressed: u64,
    /// Column -> role and what was done.
    pub columns: BTreeMap<String, String>,
    /// Column -> date cells that could not be read as a date: removed (an
    /// unread date can be neither shifted nor cut to its year, and passing
    /// it on would publish the real date) and listed in `QUARANTINE`.
    pub unreadable_dates: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub mode: Mode,
    pub standard: String,
    pub is_safe_harbor: bool,
    /// How patient and joining keys were replaced.
    pub id_scheme: String,
    /// Safe Harbor: ids given random surrogates (rows of the crosswalk,
    /// which is kept outside this folder).
    pub crosswalk_ids: u64,
    /// Identifying columns the role overrides passed through unchanged
    /// (a Safe Harbor run with any is not Safe Harbor).
    pub identifiers_kept: Vec<KeptIdentifier>,
    pub as_of: String,
    pub tables: BTreeMap<String, TableReport>,
    /// Files in the input that were not copied, with why.
    pub not_processed: BTreeMap<String, String>,
    pub notes_scrubbed: u64,
    /// What found the PHI in notes: `rules` or `rules+detector` (the
    /// learned detector beside them; a span either finds is removed).
    pub note_scrubber: String,
    pub phi_spans_replaced: BTreeMap<String, u64>,
    /// Date cells removed because they could not be read, over all tables
    /// (each one listed in `QUARANTINE`).
    pub unreadable_dates: u64,
    /// Limited data set: dates in notes that could not be read (a
    /// two-digit year, no year) and so were replaced by `[DATE]` instead of
    /// shifted.
    pub note_dates_not_shifted: u64,
    /// Limited data set: dates moved by a per-patient shift (`false`: the
    /// real dates are kept).
    pub dates_shifted: bool,
    /// Recall and precision per PHI kind against `--truth`.
    pub note_scores: Option<BTreeMap<String, KindScore>>,
    pub k_anonymity: Option<KReport>,
    pub patients_suppressed: u64,
}

/// The file, in the output folder, that lists every cell removed because
/// it could not be read: table, data row, column and why; never the value.
pub const QUARANTINE: &str = "quarantine.csv";

/// Where unreadable cells are listed, as they are met.
struct Quarantine {
    writer: csv::Writer<crate::artifact::AtomicFile>,
    path: PathBuf,
}

impl Quarantine {
    fn create(path: PathBuf) -> Result<Quarantine> {
        let file = crate::artifact::AtomicFile::create(&path)?;
        let mut q = Quarantine {
            writer: csv::Writer::from_writer(file),
            path,
        };
        q.add("table", "row", "column", "reason")?;
        Ok(q)
    }

    fn add(&mut self, table: &str, row: &str, column: &str, reason: &str) -> Result<()> {
        self.writer
            .write_record([table, row, column, reason])
            .map_err(|e| Error::failure(format!("{}: {e}", self.path.display())))
    }

    fn finish(self) -> Result<()> {
        let path = self.path;
        self.writer
            .into_inner()
            .map_err(|e| Error::io(&path, e.into_error()))?
            .commit()?;
        Ok(())
    }
}

fn standard(mode: Mode) -> &'static str {
    match mode {
        Mode::SafeHarbor => "HIPAA Safe Harbor, 45 CFR 164.514(b)(2)",
        Mode::Limited => "HIPAA limited data set, 45 CFR 164.514(e): NOT Safe Harbor de-identified; needs a data use agreement",
        Mode::Pseudonymize => "GDPR Art. 4(5) pseudonymisation: still personal data under GDPR",
    }
}

/// How ids (patient and joining keys, and in pseudonymise mode every
/// identifier) are replaced.
enum Ids {
    /// Keyed HMAC pseudonyms: the same in every run with the key.
    Keyed(Pseudonymizer),
    /// Random surrogates, drawn as ids are met and kept for the run (a
    /// `RefCell`: rows are written through a shared `Context`).
    Random(RefCell<Surrogates>),
}

impl Ids {
    fn patient(&self, value: &str) -> Result<String> {
        match self {
            Ids::Keyed(k) => Ok(k.pseudonym("patient", value)),
            Ids::Random(s) => s.borrow_mut().patient(value),
        }
    }

    /// Another joining key, or in pseudonymise mode any identifier.
    fn other(&self, kind: &str, value: &str) -> String {
        match self {
            Ids::Keyed(k) => k.pseudonym(kind, value),
            Ids::Random(s) => s.borrow().record(kind, value),
        }
    }

    fn key(&self) -> Option<&Pseudonymizer> {
        match self {
            Ids::Keyed(k) => Some(k),
            Ids::Random(_) => None,
        }
    }
}

fn id_scheme(mode: Mode) -> &'static str {
    match mode {
        Mode::SafeHarbor => "random surrogates drawn from the operating system for this run, not derived from any information about the patient (45 CFR 164.514(c)); the crosswalk from patient surrogates back to the original ids is kept outside this release by whoever made it; other record keys are keyed by a throwaway key of this run and cannot be translated back",
        Mode::Limited | Mode::Pseudonymize => "keyed pseudonyms, HMAC-SHA256 under a secret key kept apart: the same in every run with that key",
    }
}

/// What the patients table says about one patient.
struct PatientFacts {
    /// Age at the reference date, or at death if earlier.
    age: Option<i64>,
    birth: Option<NaiveDate>,
    /// The birth date says "over 89" at the reference date, even for a
    /// patient who died younger: such a birth year is removed too.
    birth_implies_90: bool,
}

/// The tables of the input folder, one copy each, and what was left out.
fn list_tables(opts: &Options) -> Result<(Vec<TableFile>, BTreeMap<String, String>)> {
    let mut copies: BTreeMap<String, Vec<TableFile>> = BTreeMap::new();
    let mut not_processed = BTreeMap::new();
    for entry in std::fs::read_dir(&opts.input).at(&opts.input)? {
        let entry = entry.at(&opts.input)?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        match TableFile::of(&path).filter(|_| path.is_file()) {
            Some(t) => copies.entry(t.name.clone()).or_default().push(t),
            None if name == "manifest.json" => {
                not_processed.insert(name, "the input's manifest; a new one is written".into());
            }
            None if path.is_dir() => {
                not_processed.insert(
                    name + "/",
                    "folder not de-identified (truth and exports hold PHI): not copied".into(),
                );
            }
            None => {
                not_processed.insert(
                    name,
                    "only CSV and Parquet tables are de-identified: not copied".into(),
                );
            }
        }
    }
    let prefer = opts.format.unwrap_or(TableFormat::Csv);
    let mut tables = Vec::new();
    for (_, mut same) in copies {
        same.sort_by_key(|t| t.format != prefer);
        let mut same = same.into_iter();
        let Some(first) = same.next() else { continue };
        for other in same {
            not_processed.insert(
                file_name(&other.path),
                format!(
                    "the same table as {} in another format: not copied (--format chooses the copy)",
                    file_name(&first.path)
                ),
            );
        }
        tables.push(first);
    }
    Ok((tables, not_processed))
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// A table with its columns: names, privacy roles and, for Parquet, Arrow
/// types.
struct Input {
    file: TableFile,
    header: Vec<String>,
    roles: Vec<Role>,
    types: Option<Vec<DataType>>,
}

impl Input {
    /// Each column with its role.
    fn columns(&self) -> impl Iterator<Item = (&String, Role)> {
        self.header.iter().zip(self.roles.iter().copied())
    }

    fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}

/// What every table's rows are transformed with.
struct Context<'a> {
    opts: &'a Options,
    ids: &'a Ids,
    facts: &'a HashMap<String, PatientFacts>,
    scrubber: &'a Scrubber,
    suppressed: &'a BTreeSet<String>,
}

/// Run de-identification of `opts.input` into `opts.output`.
pub fn run(opts: &Options, ui: &Ui) -> Result<Report> {
    let ids = match check_paths(opts)? {
        Some(key) => Ids::Keyed(key),
        None => Ids::Random(RefCell::new(Surrogates::new()?)),
    };
    let roles = &opts.roles;
    let (files, not_processed) = list_tables(opts)?;
    let mut inputs = Vec::new();
    let mut identifiers_kept = Vec::new();
    for file in files {
        let (header, types) = file.header()?;
        identifiers_kept.extend(roles.kept_identifiers(&file.name, &header));
        inputs.push(Input {
            roles: roles.roles(&file.name, &header),
            file,
            header,
            types,
        });
    }
    // A role override cannot make an identifier safe: under Safe Harbor it
    // only makes the release something else, and that must be said.
    if opts.mode == Mode::SafeHarbor && !identifiers_kept.is_empty() && !opts.allow_not_safe_harbor
    {
        let list: Vec<String> = identifiers_kept
            .iter()
            .map(|k| {
                format!(
                    "{} ({} by default, {} by the overrides)",
                    k.column,
                    k.default_role.as_str(),
                    k.role.as_str()
                )
            })
            .collect();
        return Err(Error::usage(format!(
            "the role overrides keep identifiers that Safe Harbor removes: {}. Remove those overrides (a column that holds no identifier is best renamed so its name does not say it does), or give --allow-not-safe-harbor to write the output marked as NOT Safe Harbor",
            list.join(", ")
        )));
    }
    let patients_ix = inputs
        .iter()
        .position(|t| t.has(Role::BirthDate) && t.has(Role::PatientKey));

    let as_of = match opts.as_of {
        Some(d) => d,
        None => latest_date(&inputs)?
            .unwrap_or_else(|| NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or_default()),
    };

    // One pass over the patients table: ages, identifiers for the notes,
    // quasi-identifiers for k-anonymity.
    let mut facts: HashMap<String, PatientFacts> = HashMap::new();
    let mut scrubber = Scrubber::new().with_detector(opts.detector.clone());
    let mut quasi: Vec<QuasiRow> = Vec::new();
    if let Some(t) = patients_ix.and_then(|ix| inputs.get(ix)) {
        t.file.for_each_row(&t.header, |_, row| {
            let mut key = String::new();
            let mut birth = None;
            let mut death = None;
            for ((c, role), v) in t.columns().zip(row.iter()) {
                match role {
                    Role::PatientKey => key = v.to_string(),
                    Role::BirthDate => birth = DateCell::parse(v).map(|d| d.date()),
                    Role::Date if c.contains("death") => {
                        death = DateCell::parse(v).map(|d| d.date())
                    }
                    _ => {}
                }
            }
            let ids = known_ids(t.columns().map(|(_, r)| r).zip(row.iter()), birth);
            let at = death.map(|d| d.min(as_of)).unwrap_or(as_of);
            let age = birth.map(|b| age_years(b, at));
            if !opts.quasi.is_empty() {
                quasi.push(quasi_row(t, row, opts, age));
            }
            scrubber.add_patient(&key, ids);
            let birth_implies_90 = birth.is_some_and(|b| age_years(b, as_of) > 89);
            facts.insert(
                key,
                PatientFacts {
                    age,
                    birth,
                    birth_implies_90,
                },
            );
            Ok(())
        })?;
    }

    let mut report = Report {
        mode: opts.mode,
        standard: standard(opts.mode).into(),
        is_safe_harbor: opts.mode == Mode::SafeHarbor && identifiers_kept.is_empty(),
        id_scheme: id_scheme(opts.mode).into(),
        crosswalk_ids: 0,
        identifiers_kept,
        // the default reference date is some patient's last visit: under
        // Safe Harbor only its year may be published
        as_of: match opts.mode {
            Mode::SafeHarbor => as_of.format("%Y").to_string(),
            _ => as_of.to_string(),
        },
        tables: BTreeMap::new(),
        not_processed,
        notes_scrubbed: 0,
        note_scrubber: if opts.detector.is_some() {
            "rules+detector".into()
        } else {
            "rules".into()
        },
        phi_spans_replaced: BTreeMap::new(),
        unreadable_dates: 0,
        note_dates_not_shifted: 0,
        dates_shifted: opts.mode == Mode::Limited && opts.shift_dates,
        note_scores: None,
        k_anonymity: None,
        patients_suppressed: 0,
    };

    // k-anonymity over the patients table as it will be published.
    let mut suppressed: BTreeSet<String> = BTreeSet::new();
    if patients_ix.is_some() && !opts.quasi.is_empty() {
        report.k_anonymity = Some(kanon::report(&quasi, &opts.quasi, &opts.sensitive, opts.k));
        if opts.suppress {
            suppressed = kanon::below_k(&quasi, &opts.quasi, opts.k);
            report.patients_suppressed = suppressed.len() as u64;
        }
    }
    drop(quasi);

    std::fs::create_dir_all(&opts.output).at(&opts.output)?;
    let mut scorer = match &opts.truth {
        Some(truth) => Some(Scorer::new(read_truth(truth)?)),
        None => None,
    };
    let ctx = Context {
        opts,
        ids: &ids,
        facts: &facts,
        scrubber: &scrubber,
        suppressed: &suppressed,
    };
    let mut progress = ui.progress(inputs.len() as u64, "tables");
    let mut notes_scrubbed = 0u64;
    let mut replaced: BTreeMap<String, u64> = BTreeMap::new();
    let mut quarantine = Quarantine::create(opts.output.join(QUARANTINE))?;
    for (ix, t) in inputs.iter().enumerate() {
        let on_note = &mut |id: &str, text: &str, found: &[Found]| {
            notes_scrubbed += 1;
            for f in found {
                *replaced
                    .entry(super::patterns::kind_name(f.kind).into())
                    .or_default() += 1;
            }
            if let Some(s) = scorer.as_mut() {
                s.add_note(id, text, found);
            }
        };
        let (tr, not_shifted) =
            write_table(t, Some(ix) == patients_ix, &ctx, &mut quarantine, on_note)?;
        report.note_dates_not_shifted += not_shifted;
        report.unreadable_dates += tr.unreadable_dates.values().sum::<u64>();
        report.tables.insert(t.file.name.clone(), tr);
        progress.inc(1);
    }
    progress.finish();
    quarantine.finish()?;
    report.notes_scrubbed = notes_scrubbed;
    report.phi_spans_replaced = replaced;
    report.note_scores = scorer.map(Scorer::finish);
    if let (Ids::Random(surrogates), Some(path)) = (&ids, &opts.crosswalk) {
        let surrogates = surrogates.borrow();
        surrogates.write_crosswalk(path)?;
        report.crosswalk_ids = surrogates.len();
        ui.warn(format!(
            "{} holds the crosswalk from the {} random patient surrogates back to the original ids: it is the covered entity's re-identification table; keep it apart and never release it with {}",
            path.display(),
            surrogates.len(),
            opts.output.display()
        ));
    }
    if report.unreadable_dates > 0 {
        ui.warn(format!(
            "{} date cells could not be read as dates and were removed; {} lists each one",
            report.unreadable_dates,
            opts.output.join(QUARANTINE).display()
        ));
    }

    write_json(opts.output.join("deid-report.json"), &report)?;
    write_atomic(
        opts.output.join("deid-report.md"),
        markdown(&report).as_bytes(),
    )?;
    write_atomic(opts.output.join("README.md"), readme(&report).as_bytes())?;
    let mut manifest = Manifest::new("deid");
    manifest
        .inputs
        .insert("input".into(), input_digest(&opts.input)?);
    if ids.key().is_some() {
        manifest.inputs.insert(
            "key".into(),
            "a key file outside the output (not recorded)".into(),
        );
    }
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
        .counts
        .insert("unreadable_dates".into(), report.unreadable_dates);
    manifest
        .details
        .insert("mode".into(), serde_json::to_value(opts.mode)?);
    manifest
        .details
        .insert("standard".into(), report.standard.clone().into());
    manifest
        .details
        .insert("is_safe_harbor".into(), report.is_safe_harbor.into());
    manifest
        .details
        .insert("id_scheme".into(), report.id_scheme.clone().into());
    if opts.mode == Mode::Limited {
        manifest
            .details
            .insert("dates_shifted".into(), report.dates_shifted.into());
    }
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

/// What one patient's notes are searched for: the identifying cells of
/// their patients-table row, by column role, and their birth date in every
/// style notes write it. Public so that a corpus scored outside a `run`
/// (the hand-written notes test) builds the scrubber exactly as `run` does.
pub fn known_ids<'a>(
    cells: impl IntoIterator<Item = (Role, &'a str)>,
    birth: Option<NaiveDate>,
) -> KnownIds {
    let mut ids = KnownIds::default();
    for (role, v) in cells {
        if let Some(kind) = note_kind(role) {
            if !v.trim().is_empty() {
                ids.values.push((kind, v.to_string()));
            }
        }
    }
    if let Some(b) = birth {
        ids.values
            .extend(birth_texts(b).into_iter().map(|t| (PhiKind::Date, t)));
    }
    ids
}

/// A birth date as notes may write it, to find it in the patient's notes.
fn birth_texts(b: NaiveDate) -> Vec<String> {
    DateStyle::ALL.iter().map(|s| date_text(b, *s)).collect()
}

/// Check where things go; the pseudonym key, for the modes that use one
/// (Safe Harbor uses none: its ids are random).
fn check_paths(opts: &Options) -> Result<Option<Pseudonymizer>> {
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
    if abs(&opts.input) == out {
        return Err(Error::usage("--out must differ from --in"));
    }
    if opts.shift_dates && opts.mode != Mode::Limited {
        return Err(Error::usage(
            "--shift-dates is for --mode limited: Safe Harbor keeps only the year, pseudonymisation keeps dates",
        ));
    }
    if opts.mode == Mode::SafeHarbor {
        let Some(crosswalk) = &opts.crosswalk else {
            return Err(Error::usage(
                "--mode safe-harbor needs --crosswalk FILE (outside --out): the table from the random patient surrogates back to the original ids",
            ));
        };
        if abs(crosswalk).starts_with(&out) {
            return Err(Error::usage(format!(
                "the crosswalk {} is inside --out {}: it re-identifies the release, so it must be kept apart from it",
                crosswalk.display(),
                opts.output.display()
            )));
        }
        return Ok(None);
    }
    if opts.crosswalk.is_some() {
        return Err(Error::usage(
            "--crosswalk is for --mode safe-harbor; the other modes use keyed pseudonyms, which the key recomputes",
        ));
    }
    let Some(key_file) = &opts.key_file else {
        return Err(Error::usage(format!(
            "--mode {} needs --key-file: its pseudonyms are keyed",
            serde_json::to_value(opts.mode)?.as_str().unwrap_or("?")
        )));
    };
    if abs(key_file).starts_with(&out) {
        return Err(Error::usage(format!(
            "the key file {} is inside --out {}: keep the key away from the data it protects",
            key_file.display(),
            opts.output.display()
        )));
    }
    Pseudonymizer::from_key_file(key_file).map(Some)
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

/// The latest date in the patients and encounters tables.
fn latest_date(inputs: &[Input]) -> Result<Option<NaiveDate>> {
    let mut latest = None;
    for t in inputs
        .iter()
        .filter(|t| t.file.name == "patients" || t.file.name == "encounters")
    {
        let dates: Vec<usize> = (0..t.roles.len())
            .filter(|&i| t.roles.get(i) == Some(&Role::Date))
            .collect();
        t.file.for_each_row(&t.header, |_, row| {
            for &i in &dates {
                if let Some(d) = row.get(i).and_then(DateCell::parse) {
                    latest = latest.max(Some(d.date()));
                }
            }
            Ok(())
        })?;
    }
    Ok(latest)
}

/// A patient's quasi-identifiers as they will be published.
fn quasi_row(t: &Input, row: &csv::StringRecord, opts: &Options, age: Option<i64>) -> QuasiRow {
    let mut q = QuasiRow {
        key: String::new(),
        age: age.map(published_age).unwrap_or_default(),
        columns: BTreeMap::new(),
        sensitive: String::new(),
    };
    for ((c, role), v) in t.columns().zip(row.iter()) {
        if role == Role::PatientKey {
            q.key = v.to_string();
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
        // the chosen columns, and the state a ZIP3 may generalise to
        if c == "state" || opts.quasi.iter().any(|name| name == c) {
            q.columns.insert(c.clone(), v.to_string());
        }
    }
    q
}

/// De-identify one table into the output folder, row by row; each note's
/// original text and detections go to `on_note` (for counts and scores),
/// each unreadable date cell to `quarantine`. Also returns how many note
/// dates could not be shifted.
fn write_table(
    t: &Input,
    is_patients: bool,
    ctx: &Context,
    quarantine: &mut Quarantine,
    on_note: &mut dyn FnMut(&str, &str, &[Found]),
) -> Result<(TableReport, u64)> {
    let opts = ctx.opts;
    let roles = &t.roles;
    let pk = roles.iter().position(|r| *r == Role::PatientKey);
    let note_id_ix = t.header.iter().position(|c| c == "note_id");
    let format = opts.format.unwrap_or(t.file.format);
    let schema = records_schema(&t.file.name);
    let mut tr = TableReport::default();
    let mut columns: Vec<(String, DataType)> = Vec::new();
    for (i, (c, r)) in t.header.iter().zip(roles).enumerate() {
        let action = action(*r, opts, pk.is_some());
        tr.columns.insert(
            c.clone(),
            format!(
                "{}: {action}",
                serde_json::to_value(r)?.as_str().unwrap_or("?")
            ),
        );
        if action != "removed" {
            let input_type = match &t.types {
                Some(types) => types.get(i).cloned(),
                None => schema
                    .as_ref()
                    .and_then(|s| s.field_with_name(c).ok())
                    .map(|f| f.data_type().clone()),
            };
            columns.push((c.clone(), output_type(action, input_type)));
        }
    }
    if is_patients {
        columns.push(("age".into(), DataType::Utf8));
        tr.columns.insert(
            "age".into(),
            "added: age at the reference date, 90+ above 89".into(),
        );
    }
    let path = opts
        .output
        .join(format!("{}.{}", t.file.name, format.extension()));
    let mut sink = TableSink::create(&path, format, &columns)?;
    let mut out: Vec<String> = Vec::with_capacity(columns.len());
    let mut not_shifted = 0u64;
    t.file.for_each_row(&t.header, |row_number, row| {
        tr.rows_in += 1;
        let patient = pk.and_then(|i| row.get(i)).unwrap_or("");
        if !patient.is_empty() && ctx.suppressed.contains(patient) {
            tr.rows_suppressed += 1;
            return Ok(());
        }
        let facts = ctx.facts.get(patient);
        let over_89 = facts.is_some_and(|f| f.age.is_some_and(|a| a > 89) || f.birth_implies_90);
        // every row of a table with a patient key moves by that patient's
        // shift (one shared shift for rows whose key is empty)
        let shift = ctx
            .ids
            .key()
            .filter(|_| opts.mode == Mode::Limited && opts.shift_dates)
            .and_then(|key| pk.map(|_| date_shift_days(key, patient, opts.max_shift_days)));
        out.clear();
        for ((c, v), r) in t.header.iter().zip(row.iter()).zip(roles) {
            if unreadable_date(*r, opts, v) {
                *tr.unreadable_dates.entry(c.clone()).or_default() += 1;
                quarantine.add(
                    &t.file.name,
                    &row_number.to_string(),
                    c,
                    "not a date (expected YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS): removed",
                )?;
            }
            let Some(value) = transform(*r, c, v, opts, ctx.ids, shift, over_89)? else {
                continue;
            };
            if *r == Role::Text {
                let found = ctx.scrubber.find(patient, v);
                let text = match (opts.mode, opts.shift_dates, shift) {
                    (Mode::Limited, false, _) | (Mode::Limited, true, Some(_)) => {
                        let birth = facts.and_then(|f| f.birth).filter(|_| over_89);
                        let (text, n) = limited_note_dates(v, &found, shift, birth);
                        not_shifted += n;
                        text
                    }
                    _ => apply(v, &found),
                };
                let id = note_id_ix.and_then(|i| row.get(i)).unwrap_or("");
                on_note(id, v, &found);
                out.push(text);
            } else {
                out.push(value);
            }
        }
        if is_patients {
            out.push(
                facts
                    .and_then(|f| f.age)
                    .map(published_age)
                    .unwrap_or_default(),
            );
        }
        sink.write(&out)?;
        tr.rows_out += 1;
        Ok(())
    })?;
    sink.finish()?;
    Ok((tr, not_shifted))
}

/// A date cell, in a mode that rewrites dates, that holds something other
/// than a date: it is removed by `transform`, and reported.
fn unreadable_date(role: Role, opts: &Options, v: &str) -> bool {
    matches!(role, Role::Date | Role::BirthDate)
        && rewrites_dates(opts)
        && !v.trim().is_empty()
        && DateCell::parse(v).is_none()
}

/// Safe Harbor cuts dates to the year, a limited data set with
/// `shift_dates` moves them; pseudonymisation and a limited data set
/// without it keep them as they are.
fn rewrites_dates(opts: &Options) -> bool {
    match opts.mode {
        Mode::SafeHarbor => true,
        Mode::Limited => opts.shift_dates,
        Mode::Pseudonymize => false,
    }
}

/// A note under the limited data set: dates stay as written, or with a
/// shift (`days`) move by the patient's shift in the style they were
/// written, so intervals inside the note and to the structured dates are
/// kept; every other identifier becomes its tag, and so does the birth date
/// of a patient over 89 (it would tell the age) and, when shifting, a date
/// that cannot be read (it cannot be shifted, and left as written it would
/// be the real date): those are counted, the second number returned.
fn limited_note_dates(
    text: &str,
    found: &[Found],
    days: Option<i64>,
    birth: Option<NaiveDate>,
) -> (String, u64) {
    let birth = birth.map(birth_texts).unwrap_or_default();
    let mut not_shifted = 0;
    let text = apply_with(text, found, |f, span| {
        if f.kind != PhiKind::Date || birth.iter().any(|b| b.eq_ignore_ascii_case(span)) {
            return None;
        }
        let Some(days) = days else {
            return Some(span.to_string());
        };
        let shifted = shift_date_text(span, days);
        not_shifted += u64::from(shifted.is_none());
        shifted
    });
    (text, not_shifted)
}

/// An age cell as published: `90+` for 90 and over (whole years), else as
/// it was; a value that is not a number is removed rather than passed on.
fn cap_age(v: &str) -> String {
    match v.trim().parse::<f64>() {
        Ok(a) if a.floor() >= 90.0 => "90+".into(),
        Ok(_) => v.to_string(),
        Err(_) => String::new(),
    }
}

/// The Arrow type of an output column: a kept or shifted value keeps its
/// input type, a year is an integer, anything else made here is text.
fn output_type(action: &str, input: Option<DataType>) -> DataType {
    if action.starts_with("year only") {
        DataType::Int64
    } else if action.starts_with("kept") || action.starts_with("shifted") {
        input.unwrap_or(DataType::Utf8)
    } else {
        DataType::Utf8
    }
}

fn action(role: Role, opts: &Options, has_patient: bool) -> &'static str {
    use Mode::*;
    use Role::*;
    match (role, opts.mode) {
        (PatientKey | Key, SafeHarbor) => "random surrogate (crosswalk kept apart)",
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
        (BirthDate, Limited) if !opts.shift_dates => "kept; removed above age 89",
        (Date, Limited) if !opts.shift_dates => "kept (real dates)",
        (BirthDate, Limited) => "shifted per patient; removed above age 89",
        (Date, Limited) if has_patient => "shifted per patient (intervals kept)",
        (Date, Limited) => "year only (no patient key to shift by)",
        (Text, _) => "scrubbed",
        (Age, SafeHarbor | Limited) => "90+ above 89",
        _ => "kept",
    }
}

fn transform(
    role: Role,
    column: &str,
    v: &str,
    opts: &Options,
    ids: &Ids,
    shift: Option<i64>,
    over_89: bool,
) -> Result<Option<String>> {
    use Mode::*;
    use Role::*;
    if v.is_empty() && !matches!(action(role, opts, shift.is_some()), "removed") {
        return Ok(Some(String::new()));
    }
    Ok(Some(match (role, opts.mode) {
        (PatientKey, _) => ids.patient(v)?,
        (Key, _) => ids.other(column, v),
        (Name | Mrn | Ssn | Phone | Email | Identifier | Address, SafeHarbor | Limited) => {
            return Ok(None)
        }
        (Name | Mrn | Ssn | Phone | Email | Identifier | Address, Pseudonymize) => {
            ids.other(column, v)
        }
        (City, SafeHarbor) => return Ok(None),
        (Zip, SafeHarbor) => safe_harbor_zip(v),
        (BirthDate, SafeHarbor | Limited) if over_89 => String::new(),
        (Age, SafeHarbor | Limited) => cap_age(v),
        (BirthDate | Date, SafeHarbor) => DateCell::parse(v).map(|d| d.year()).unwrap_or_default(),
        (BirthDate | Date, Limited) if !opts.shift_dates => v.to_string(),
        (BirthDate | Date, Limited) => match (DateCell::parse(v), shift) {
            (Some(d), Some(s)) => d.shifted(s).format(),
            (Some(d), None) => d.year(),
            (None, _) => String::new(),
        },
        _ => v.to_string(),
    }))
}

fn read_truth(path: &Path) -> Result<Vec<PhiSpan>> {
    crate::formats::table::read_table::<PhiSpan>(path)
}

fn input_digest(dir: &Path) -> Result<String> {
    let mut m = Manifest::new("input");
    for f in crate::artifact::list_files(dir)? {
        let name = f.to_string_lossy().replace('\\', "/");
        if !name.contains('/') && (name.ends_with(".csv") || name.ends_with(".parquet")) {
            m.files
                .insert(name.clone(), crate::artifact::sha256_file(dir.join(&f))?);
        }
    }
    Ok(m.digest())
}

/// The README that travels with the output: what this data is, and what
/// it is not, for whoever receives the folder without its report.
pub fn readme(r: &Report) -> String {
    let mut s = format!(
        "# De-identified data ({:?})\n\nMade by `carelab deid --mode {}` under {}.\n\n",
        r.mode,
        serde_json::to_value(r.mode)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default(),
        r.standard
    );
    match r.mode {
        Mode::SafeHarbor if !r.is_safe_harbor => {
            s.push_str(
                "**This output is NOT de-identified under HIPAA Safe Harbor.** The run was told \
                 (`--allow-not-safe-harbor`) to pass these identifying columns through \
                 unchanged:\n\n",
            );
            for k in &r.identifiers_kept {
                s.push_str(&format!("- `{}` ({})\n", k.column, k.default_role.as_str()));
            }
            s.push_str(
                "\nThe other identifiers were removed or generalised as Safe Harbor does, but \
                 with these left the data identifies people and must be handled as PHI.\n",
            );
        }
        Mode::SafeHarbor => s.push_str(
            "The 18 Safe Harbor identifiers the data held were removed or generalised: \
             names, geography below state (ZIP3 only, 000 for restricted areas), every date \
             element but the year, ages over 89 (as 90+), contact and record numbers; notes \
             are scrubbed. Whoever releases it must still have no actual knowledge that what \
             is left can identify anyone.\n",
        ),
        Mode::Limited => {
            s.push_str(
                "**This is a limited data set. It is NOT de-identified under HIPAA Safe Harbor.** ",
            );
            s.push_str(if r.dates_shifted {
                "Every date, in the tables and inside the notes, is moved by a secret \
                 per-patient shift (`--shift-dates`), so intervals are exact but the dates are \
                 not the real ones; "
            } else {
                "Dates, in the tables and inside the notes, are the real dates, as a limited \
                 data set may keep them (`--shift-dates` would move each patient's by a secret \
                 shift instead); "
            });
            s.push_str(
                "ages over 89 are still shown as 90+ and their birth dates removed. Direct \
                 identifiers are removed and notes scrubbed, but dates and geography remain: it \
                 may only be shared under a data use agreement (45 CFR 164.514(e)).\n",
            );
        }
        Mode::Pseudonymize => s.push_str(
            "Identifiers are replaced by keyed pseudonyms (HMAC-SHA256). Whoever holds the key \
             can link them back: under GDPR this is still personal data.\n",
        ),
    }
    s.push_str(&format!("\nIds: {}.\n", r.id_scheme));
    s.push_str("\nSee deid-report.md for what was done to each column.\n");
    s
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
    if !r.identifiers_kept.is_empty() {
        s.push_str("Identifying columns passed through unchanged by the role overrides:\n\n");
        for k in &r.identifiers_kept {
            s.push_str(&format!(
                "- `{}`: {} by default, `{}` by the overrides\n",
                k.column,
                k.default_role.as_str(),
                k.role.as_str()
            ));
        }
        s.push('\n');
    }
    s.push_str(&format!("Ids: {}.\n\n", r.id_scheme));
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
    if r.unreadable_dates > 0 {
        s.push_str(&format!(
            "\n## Unreadable dates\n\n{} date cells could not be read as dates and were removed (each listed in `{QUARANTINE}`, without its value):\n\n",
            r.unreadable_dates
        ));
        for (n, t) in &r.tables {
            for (c, count) in &t.unreadable_dates {
                s.push_str(&format!("- `{n}.{c}` — {count}\n"));
            }
        }
    }
    s.push_str(&format!(
        "\n## Notes\n\n{} notes scrubbed by {}.\n",
        r.notes_scrubbed,
        if r.note_scrubber == "rules" {
            "the rules alone (--no-detector)"
        } else {
            "the rules and the learned detector (a span either finds is removed)"
        }
    ));
    if r.dates_shifted {
        s.push_str(&format!(
            "{} dates in notes could not be read (no year, a two-digit year) and became `[DATE]` instead of being shifted.\n",
            r.note_dates_not_shifted
        ));
    }
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
