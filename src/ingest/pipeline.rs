//! The ingest pipeline: sources -> checks -> linkage -> clean model.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use super::cdm_table::{CdmWriter, Spec};
use super::keys::{Keys, KeysBuilder};
use super::linkage::{self, LinkageConfig};
use super::maps::Maps;
use super::quality::{LinkageSummary, QualityReport};
use super::raw::{self, RawRecord, Table};
use super::source::read_source;
pub use super::source::SourceKind;
use super::spill::{self, part_of, Codec, ScratchDir, Spill, Spilled};
use super::validate::{self, Clean, MappedObservation, Outcome, Placeholders, Rule};
use crate::artifact::{AtomicFile, Manifest, Written};
use crate::clinical::analysis::{analysis_rows, AnalysisRow, PatientRecords};
use crate::clinical::records::{
    format_datetime, parse_datetime, Condition, Encounter, Medication, Note, Patient,
};
use crate::error::{toml_error, Error, IoContext, Result};
use crate::hashing::{IdMap, IdSet};

/// One source system in the pipeline config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    /// Short name: used in the quarantine file name and the report.
    pub name: String,
    pub kind: SourceKind,
    /// File or folder, relative to the config file.
    pub path: PathBuf,
    /// Layout file of a `fixed_width` source, relative to the config file.
    #[serde(default)]
    pub layout: Option<PathBuf>,
    /// `hl7v2` sources: which PID-3 identifier is the patient id, as
    /// identifier type codes in order of preference, each optionally with
    /// its assigning authority: `"MR"`, `"PI"`, `"MR@GOOD HEALTH HOSPITAL,PI"`.
    /// Default: the first MR, then PI, then the first identifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patient_id: Option<String>,
}

/// Edited map files, relative to the config file; absent: the built-in maps.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MapFiles {
    pub lab_codes: Option<PathBuf>,
    pub units: Option<PathBuf>,
    /// SNOMED CT conditions -> ICD-10-CM (datasets/maps/snomed-conditions.toml).
    pub snomed_conditions: Option<PathBuf>,
}

/// `pipeline.toml`: the sources (in priority order for linkage) and the maps.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineConfig {
    #[serde(default, rename = "source")]
    pub sources: Vec<SourceConfig>,
    #[serde(default)]
    pub maps: MapFiles,
    /// End of the data (ISO date-time); default: the latest time in the sources.
    pub data_end: Option<String>,
    /// CSV of known links: source_a,id_a,source_b,id_b.
    pub crosswalk: Option<PathBuf>,
    /// Generator ground truth folder (holding linkage.csv and defects.csv).
    pub truth: Option<PathBuf>,
    #[serde(default)]
    pub linkage: LinkageConfig,
    #[serde(default)]
    pub placeholders: Placeholders,
}

impl PipelineConfig {
    /// Read a config file; relative paths become relative to its folder.
    pub fn load(path: &Path) -> Result<PipelineConfig> {
        let text = std::fs::read_to_string(path).at(path)?;
        let mut cfg: PipelineConfig =
            toml::from_str(&text).map_err(|e| toml_error(path, &text, &e))?;
        let base = path.parent().unwrap_or(Path::new("."));
        let fix = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        for s in &mut cfg.sources {
            fix(&mut s.path);
            if let Some(l) = s.layout.as_mut() {
                fix(l);
            }
        }
        for p in [
            cfg.maps.lab_codes.as_mut(),
            cfg.maps.units.as_mut(),
            cfg.maps.snomed_conditions.as_mut(),
            cfg.crosswalk.as_mut(),
            cfg.truth.as_mut(),
        ]
        .into_iter()
        .flatten()
        {
            fix(p);
        }
        Ok(cfg)
    }
}

/// One quarantined record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Quarantined {
    pub reason: &'static str,
    pub source: String,
    pub table: &'static str,
    pub location: String,
    pub field: String,
    pub detail: String,
    pub raw: String,
}

/// What an ingest run made; also the `--json` result.
#[derive(Debug, Clone, Serialize)]
pub struct IngestSummary {
    pub out: PathBuf,
    pub persons: u64,
    pub analysis_rows: u64,
    pub quarantined: u64,
    pub quality: QualityReport,
    /// Wall time of each stage, in order (`-v` prints them); not part of
    /// any output, which must not depend on how fast the machine was.
    #[serde(skip)]
    pub stages: Vec<(&'static str, std::time::Duration)>,
}

/// Wall time per stage of a run.
struct Stopwatch {
    at: std::time::Instant,
    stages: Vec<(&'static str, std::time::Duration)>,
}

impl Stopwatch {
    fn start() -> Stopwatch {
        Stopwatch {
            at: std::time::Instant::now(),
            stages: Vec::new(),
        }
    }

    /// The stage that ends now; a stage run once per partition adds up.
    fn lap(&mut self, stage: &'static str) {
        let now = std::time::Instant::now();
        let took = now - self.at;
        self.at = now;
        self.add(stage, took);
    }

    /// Time spent on `stage` apart from the clock's laps: a part of the lap
    /// before it that ran on a thread of its own, beside other parts.
    fn add(&mut self, stage: &'static str, took: std::time::Duration) {
        match self.stages.iter_mut().find(|(s, _)| *s == stage) {
            Some((_, t)) => *t += took,
            None => self.stages.push((stage, took)),
        }
    }
}

/// Clean records of one person, after linkage.
#[derive(Default)]
struct PersonRecords {
    encounters: Vec<Encounter>,
    observations: Vec<crate::clinical::records::Observation>,
    conditions: Vec<Condition>,
    medications: Vec<Medication>,
}

/// A clean record with the source it came from and its place in the input
/// (`seq`: the order records were read in, which "came earlier" means).
struct Kept<T> {
    seq: u64,
    source: String,
    location: String,
    raw: String,
    value: T,
}

impl<T: Codec> Codec for Kept<T> {
    fn put(&self, b: &mut Vec<u8>) {
        KeptRef::of(self).put_with(&self.value, b)
    }
    fn take(r: &mut spill::Reader) -> Result<Self> {
        Ok(Kept {
            seq: Codec::take(r)?,
            source: Codec::take(r)?,
            location: Codec::take(r)?,
            raw: Codec::take(r)?,
            value: Codec::take(r)?,
        })
    }
}

/// A record after linkage, on its way to its person's partition: its place
/// in the input, its source, and the record (its patient id now the
/// person's).
type Placed<T> = (u64, (String, T));

/// How ingest may use memory.
#[derive(Debug, Clone, Default)]
pub struct IngestOptions {
    /// Memory to plan for, in MiB (default [`DEFAULT_MEMORY_MB`]): the
    /// records other than patients wait on disk in partitions sized so that
    /// one partition's records take about half of it.
    pub memory_mb: Option<u64>,
    /// The number of partitions, instead of the one `memory_mb` gives.
    pub partitions: Option<usize>,
    /// How the CDM's Parquet files are laid out.
    pub parquet_layout: super::cdm_table::ParquetLayout,
}

pub const DEFAULT_MEMORY_MB: u64 = 2048;

/// Bytes in memory per byte of input text that one partition takes at its
/// peak: its clean records, the copies the features read, and the rows of
/// the OMOP-like and CDM tables made from them, both held at once (they are
/// made side by side). Measured on a 20,000-patient population (233 MB of
/// CSV): from five partitions to three, the peak grew by 11.6 MB per MB of
/// CSV a partition holds (10.2 when the tables were made one after the
/// other); twelve leaves a margin.
const MEMORY_PER_INPUT_BYTE: u64 = 12;

/// How much a duplicate and reference check holds of the records it keeps
/// before it appends them to their person partitions: enough that the
/// threads seldom wait on each other for the files, and a few megabytes
/// reused rather than a copy of the whole partition in fresh memory.
const BATCH_BYTES: usize = 4 << 20;

impl IngestOptions {
    /// Bytes of the CDM database the data-quality checks may map: half the
    /// memory planned for (the partitions are done by then).
    fn mmap_bytes(&self) -> u64 {
        self.memory_mb.unwrap_or(DEFAULT_MEMORY_MB).max(64) * (1 << 20) / 2
    }

    /// Partitions for `input_bytes` of source files.
    fn partitions(&self, input_bytes: u64) -> usize {
        if let Some(k) = self.partitions {
            return k.clamp(1, 4096);
        }
        let budget = self.memory_mb.unwrap_or(DEFAULT_MEMORY_MB).max(64) * (1 << 20) / 2;
        (input_bytes * MEMORY_PER_INPUT_BYTE)
            .div_ceil(budget)
            .clamp(1, 1024) as usize
    }
}

/// Size of the files a source path names (a folder: every file under it).
fn input_bytes(path: &Path) -> u64 {
    let Ok(meta) = std::fs::metadata(path) else {
        return 0;
    };
    if meta.is_file() {
        return meta.len();
    }
    std::fs::read_dir(path)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| input_bytes(&e.path()))
                .sum()
        })
        .unwrap_or(0)
}

/// The records of one table waiting for their checks against the others
/// (duplicates, referential integrity), partitioned by their own id.
struct Pending {
    encounters: Spill<Kept<Encounter>>,
    observations: Spill<Kept<MappedObservation>>,
    conditions: Spill<Kept<Condition>>,
    medications: Spill<Kept<Medication>>,
    notes: Spill<Kept<Note>>,
}

/// Checked records, partitioned by person.
struct ByPerson {
    encounters: Spill<Placed<Encounter>>,
    observations: Spill<Placed<MappedObservation>>,
    conditions: Spill<Placed<Condition>>,
    medications: Spill<Placed<Medication>>,
    notes: Spill<Placed<Note>>,
}

/// A record rejected by a multi-record rule, kept in input order.
type Rejected = (u64, Quarantined);

/// What checking one table's records against the others gave, filed into
/// the report once every table is checked.
#[derive(Default)]
struct TableChecked {
    rejected: Vec<Rejected>,
    /// Records kept, by source.
    kept: BTreeMap<String, u64>,
    /// The latest time the end of the data may be taken from.
    latest: Option<NaiveDateTime>,
}

impl TableChecked {
    /// Add what another partition of the table gave.
    fn add(&mut self, other: TableChecked) {
        self.rejected.extend(other.rejected);
        for (source, n) in other.kept {
            *self.kept.entry(source).or_default() += n;
        }
        self.latest = self.latest.max(other.latest);
    }

    fn keep(&mut self, source: &str) {
        match self.kept.get_mut(source) {
            Some(n) => *n += 1,
            None => {
                self.kept.insert(source.to_string(), 1);
            }
        }
    }
}

/// A lock's value; a lock whose holder panicked is a bug (the panic is
/// raised again when its thread is joined).
fn lock<T>(m: &std::sync::Mutex<T>) -> Result<std::sync::MutexGuard<'_, T>> {
    m.lock()
        .map_err(|_| Error::failure("a thread of ingest panicked holding a lock (a bug)"))
}

/// Read every source, check, link, and write the clean model to `out`.
pub fn run(cfg: &PipelineConfig, out: &Path) -> Result<IngestSummary> {
    run_with(cfg, out, &IngestOptions::default())
}

/// `run`, in bounded memory: the sources are read once, a record at a time
/// (CSV) or a source at a time (the others). Patient records stay in memory
/// (linkage compares them); every other clean record waits on disk in
/// partitions by its own id, where duplicates and references are checked a
/// partition at a time, then in partitions by person (ranges of person ids,
/// in order), each of which gives its persons' rows of every output,
/// appended in person order.
pub fn run_with(cfg: &PipelineConfig, out: &Path, opts: &IngestOptions) -> Result<IngestSummary> {
    if cfg.sources.is_empty() {
        return Err(Error::usage(
            "no sources: give --config with [[source]] entries, or --csv DIR",
        ));
    }
    let maps = Maps::load(
        cfg.maps.lab_codes.as_deref(),
        cfg.maps.units.as_deref(),
        cfg.maps.snomed_conditions.as_deref(),
    )?;
    let mut clock = Stopwatch::start();
    let mut report = QualityReport::default();
    let mut quarantine: BTreeMap<String, Vec<Quarantined>> = BTreeMap::new();
    let parts = opts.partitions(cfg.sources.iter().map(|s| input_bytes(&s.path)).sum());
    std::fs::create_dir_all(out).at(out)?;
    let scratch = ScratchDir::create(out.join(".ingest-spill"))?;
    let dir = scratch.0.as_path();
    let mut pending = Pending {
        encounters: Spill::create(dir, "encounters", parts)?,
        observations: Spill::create(dir, "observations", parts)?,
        conditions: Spill::create(dir, "conditions", parts)?,
        medications: Spill::create(dir, "medications", parts)?,
        notes: Spill::create(dir, "notes", parts)?,
    };
    // where every check fired, to match against injected defects
    let want_findings = cfg
        .truth
        .as_ref()
        .is_some_and(|d| d.join("defects.csv").exists());
    let mut found: Vec<super::quality::FindingAt> = Vec::new();
    // the patient records, for linkage, and where each came from
    let mut patients: Vec<(String, Patient)> = Vec::new();
    let mut patient_at: Vec<(String, IdSource)> = Vec::new();
    let mut seq = 0u64;

    // 1. read every source and apply the single-record rules
    for s in &cfg.sources {
        quarantine.entry(s.name.clone()).or_default();
        let mut q = std::mem::take(report.sources.entry(s.name.clone()).or_default());
        q.kind = format!("{:?}", s.kind).to_lowercase();
        // records in by table, counted here and filed once the source is read
        let mut input = [0u64; Table::ALL.len()];
        let mut each = |q: &mut super::quality::SourceQuality, rec: &RawRecord| -> Result<()> {
            seq += 1;
            input[rec.table as usize] += 1;
            if let Some(reason) = rec.fields.get(raw::SKIP_FIELD) {
                q.table(rec.table.name()).skipped += 1;
                *q.skipped
                    .entry(rec.table.name().to_string())
                    .or_default()
                    .entry(reason.clone())
                    .or_default() += 1;
                return Ok(());
            }
            let id_source = (rec.table == Table::Patient).then(|| IdSource {
                type_code: rec.get("patient_id_type").to_string(),
                authority: rec.get("patient_id_authority").to_string(),
            });
            let checked = validate::check(rec, &maps, &cfg.placeholders);
            if want_findings {
                found.extend(super::quality::rule_findings(rec, &checked.findings));
            }
            for f in &checked.findings {
                let c = q.rules.entry(f.rule.code().to_string()).or_default();
                match f.outcome {
                    Outcome::Repaired => c.repaired += 1,
                    Outcome::Rejected => c.rejected += 1,
                }
            }
            if let Some(f) = checked.rejection() {
                if f.rule == Rule::CodeMap && f.field == "code" {
                    *q.unmapped_codes
                        .entry(rec.get("code").to_string())
                        .or_default() += 1;
                }
                if f.rule == Rule::Unit {
                    let key = format!("{} {}", rec.get("code"), rec.get("unit"));
                    *q.unknown_units.entry(key).or_default() += 1;
                }
                let item = Quarantined {
                    reason: f.rule.code(),
                    source: rec.source.clone(),
                    table: rec.table.name(),
                    location: rec.location.clone(),
                    field: f.field.clone(),
                    detail: f.detail.clone(),
                    raw: rec.raw.clone(),
                };
                quarantine.entry(rec.source.clone()).or_default().push(item);
                return Ok(());
            }
            // a condition in a code system no map knew is kept with its source
            // code (`system|code`), and listed so that someone maps it
            if let Some(Clean::Condition(c)) = &checked.clean {
                if c.code.contains('|') {
                    *q.unmapped_codes.entry(c.code.clone()).or_default() += 1;
                }
            }
            let at = KeptRef {
                seq,
                source: &rec.source,
                location: &rec.location,
                raw: &rec.raw,
            };
            macro_rules! keep {
                ($spill:ident, $v:ident, $id:expr) => {{
                    let part = part_of(&$id, parts);
                    pending.$spill.push(part, &Keeping { at, value: $v })
                }};
            }
            match checked.clean {
                Some(Clean::Patient(v)) => {
                    patient_at.push((rec.location.clone(), id_source.unwrap_or_default()));
                    patients.push((rec.source.clone(), v));
                    Ok(())
                }
                Some(Clean::Encounter(v)) => keep!(encounters, v, v.encounter_id),
                Some(Clean::Observation(v)) => keep!(observations, v, v.obs.observation_id),
                Some(Clean::Condition(v)) => keep!(conditions, v, v.condition_id),
                Some(Clean::Medication(v)) => keep!(medications, v, v.medication_id),
                Some(Clean::Note(v)) => keep!(notes, v, v.note_id),
                None => Err(Error::failure(format!(
                    "{}: a record neither clean nor rejected (a bug)",
                    rec.location
                ))),
            }
        };
        read_source(s, &mut q, &mut each)?;
        for (table, n) in Table::ALL.iter().zip(input) {
            if n > 0 {
                q.table(table.name()).input += n;
            }
        }
        *report.sources.entry(s.name.clone()).or_default() = q;
    }

    clock.lap("read and check the sources");

    // 2. linkage: one person per cluster of patient records
    let crosswalk = match &cfg.crosswalk {
        Some(p) => read_crosswalk(p)?,
        None => Vec::new(),
    };
    let mpi = linkage::link(&patients, &crosswalk, &cfg.linkage);
    let mrns = Keys::set(
        patients
            .iter()
            .map(|(_, p)| p.mrn.trim())
            .filter(|m| !m.is_empty()),
    );
    for (source, _) in &patients {
        report
            .sources
            .entry(source.clone())
            .or_default()
            .tables
            .entry("patient".into())
            .or_default()
            .out += 1;
    }
    // persons in the order of their text ids: a person's rank is its place
    let persons: Keys<u32> = {
        let mut ids: Vec<&str> = mpi.person.iter().map(String::as_str).collect();
        ids.sort_unstable();
        ids.dedup();
        let mut b = KeysBuilder::default();
        for (rank, id) in ids.into_iter().enumerate() {
            b.push(id, rank as u32);
        }
        b.build()
    };
    let rank_of = |person: &str| persons.get(person).copied().unwrap_or(u32::MAX);
    let n_persons = persons.len().max(1);
    let person_part = |rank: u32| (rank as usize * parts) / n_persons;
    // what stays of each record is its source and id; the person row takes
    // the first record of each person, its gaps filled from the others
    let records: Vec<(String, String)> = patients
        .iter_mut()
        .map(|(source, p)| (std::mem::take(source), std::mem::take(&mut p.patient_id)))
        .collect();
    let mut first_of = vec![usize::MAX; persons.len()];
    for (i, person) in mpi.person.iter().enumerate() {
        let first = &mut first_of[rank_of(person) as usize];
        if *first == usize::MAX {
            *first = i;
            patients[i].1.patient_id = person.clone();
        } else {
            let (earlier, this) = patients.split_at_mut(i);
            fill_gaps(&mut earlier[*first].1, &this[0].1);
        }
    }
    // the persons wait on disk in their partitions, in rank order
    let places = super::cdm::Population::places_of(first_of.iter().map(|&i| &patients[i].1));
    let mut person_rows: Spill<Patient> = Spill::create(dir, "persons", parts)?;
    for (rank, &i) in first_of.iter().enumerate() {
        person_rows.push(person_part(rank as u32), &patients[i].1)?;
    }
    let person_rows = person_rows.finish()?;
    drop((patients, first_of));
    let source_ix: IdMap<&str, u16> = cfg
        .sources
        .iter()
        .enumerate()
        .map(|(i, s)| (s.name.as_str(), i as u16))
        .collect();
    // a patient id's persons, by source, in the order of the records
    let person_of_id: Keys<(u16, u32)> = {
        let mut b = KeysBuilder::default();
        for ((source, pid), person) in records.iter().zip(&mpi.person) {
            let ix = source_ix.get(source.as_str()).copied().unwrap_or(u16::MAX);
            b.push(pid, (ix, rank_of(person)));
        }
        b.build()
    };
    // the linkage's own outputs, so that its records need not stay
    report.linkage = linkage_outputs(
        out,
        cfg,
        &mpi,
        &records,
        &patient_at,
        persons.len() as u64,
        want_findings.then_some(&mut found),
    )?;
    drop((records, patient_at, mpi));
    // a patient id resolves in its own source first (its latest record
    // there), then anywhere if all its records are one person's
    let resolve = |source: &str, pid: &str| -> Option<u32> {
        let ix = source_ix.get(source).copied().unwrap_or(u16::MAX);
        let (mut own, mut first, mut one_person) = (None, None, true);
        for &(s, rank) in person_of_id.get_all(pid) {
            if s == ix {
                own = Some(rank);
            }
            match first {
                None => first = Some(rank),
                Some(f) => one_person &= f == rank,
            }
        }
        own.or(first.filter(|_| one_person))
    };
    clock.lap("link patients");

    // 3. multi-record rules, a partition of ids at a time: duplicates, then
    // referential integrity; what passes goes to its person's partition
    let reject = |rejected: &mut Vec<Rejected>,
                  k: &KeptRef,
                  table: Table,
                  rule: Rule,
                  field: &str,
                  detail: &str| {
        rejected.push((
            k.seq,
            Quarantined {
                reason: rule.code(),
                source: k.source.to_string(),
                table: table.name(),
                location: k.location.to_string(),
                field: field.to_string(),
                detail: detail.to_string(),
                raw: k.raw.to_string(),
            },
        ));
    };
    let mut by_person = ByPerson {
        encounters: Spill::create(dir, "person-encounters", parts)?,
        observations: Spill::create(dir, "person-observations", parts)?,
        conditions: Spill::create(dir, "person-conditions", parts)?,
        medications: Spill::create(dir, "person-medications", parts)?,
        notes: Spill::create(dir, "person-notes", parts)?,
    };
    let count_out = |report: &mut QualityReport, source: &str, table: Table, n: u64| {
        report
            .sources
            .entry(source.to_string())
            .or_default()
            .tables
            .entry(table.name().to_string())
            .or_default()
            .out += n;
    };
    let file_rejected = |report: &mut QualityReport,
                         quarantine: &mut BTreeMap<String, Vec<Quarantined>>,
                         mut rejected: Vec<Rejected>| {
        rejected.sort_by_key(|(seq, _)| *seq);
        for (_, item) in rejected {
            let q = report.sources.entry(item.source.clone()).or_default();
            q.rules.entry(item.reason.to_string()).or_default().rejected += 1;
            quarantine
                .entry(item.source.clone())
                .or_default()
                .push(item);
        }
    };

    // encounters: a second one with an accepted one's id is a duplicate
    let mut person_of_encounter: KeysBuilder<u32> = KeysBuilder::default();
    let mut sites: BTreeSet<String> = BTreeSet::new();
    let mut latest_admission: Option<NaiveDateTime> = None;
    let mut n_encounters = 0u64;
    {
        let spilled = pending.encounters.finish()?;
        let mut rejected = Vec::new();
        for part in 0..spilled.parts() {
            let mut accepted: IdSet<String> = IdSet::default();
            for k in spilled.take(part)? {
                let id = k.value.encounter_id.clone();
                let r = KeptRef::of(&k);
                if accepted.contains(&id) {
                    reject(
                        &mut rejected,
                        &r,
                        Table::Encounter,
                        Rule::Duplicate,
                        "encounter_id",
                        "an encounter with this id came earlier",
                    );
                    continue;
                }
                let Some(rank) = resolve(&k.source, &k.value.patient_id) else {
                    reject(
                        &mut rejected,
                        &r,
                        Table::Encounter,
                        Rule::Referential,
                        "patient_id",
                        "no patient with this id",
                    );
                    continue;
                };
                let mut e = k.value;
                e.patient_id = persons.key(rank as usize).to_string();
                count_out(&mut report, &k.source, Table::Encounter, 1);
                n_encounters += 1;
                latest_admission = latest_admission.max(Some(e.admit_time));
                sites.insert(k.source.clone());
                person_of_encounter.push(&id, rank);
                accepted.insert(id);
                by_person
                    .encounters
                    .push(person_part(rank), &(k.seq, (k.source, e)))?;
            }
        }
        file_rejected(&mut report, &mut quarantine, rejected);
    }
    let person_of_encounter = person_of_encounter.build();

    // an event belongs to an existing encounter of the same person; a
    // second record with an earlier one's id is a duplicate
    let check_event = |rejected: &mut Vec<Rejected>,
                       seen: &mut IdSet<String>,
                       table: Table,
                       id: &str,
                       k: &KeptRef,
                       pid: &str,
                       enc: Option<&str>|
     -> Option<u32> {
        if !seen.insert(id.to_string()) {
            reject(
                rejected,
                k,
                table,
                Rule::Duplicate,
                &format!("{}_id", table.name()),
                "a record with this id came earlier",
            );
            return None;
        }
        let Some(person) = resolve(k.source, pid) else {
            reject(
                rejected,
                k,
                table,
                Rule::Referential,
                "patient_id",
                "no patient with this id",
            );
            return None;
        };
        if let Some(enc) = enc {
            match person_of_encounter.get(enc) {
                Some(p) if *p == person => {}
                Some(_) => {
                    reject(
                        rejected,
                        k,
                        table,
                        Rule::Referential,
                        "encounter_id",
                        "the encounter belongs to another patient",
                    );
                    return None;
                }
                None => {
                    reject(
                        rejected,
                        k,
                        table,
                        Rule::Referential,
                        "encounter_id",
                        "no encounter with this id",
                    );
                    return None;
                }
            }
        }
        Some(person)
    };
    let person_key = |rank: u32| persons.key(rank as usize).to_string();
    // A table's duplicates are its own and meet in one partition of it,
    // and its references go to the persons and encounters settled above:
    // every partition of every table can be checked apart. So they are
    // checked on every core, each partition's kept records encoded on its
    // thread and appended to their person partitions every
    // `BATCH_BYTES` and at its end (read back, they are put in the order
    // of the input again, so the order the threads append in is never
    // seen), and what each
    // gave is filed into the report and the quarantine in the order of the
    // tables and partitions, as on one core.
    macro_rules! check_table {
        ($field:ident, |$v:ident| $id:expr, $pid:expr, $enc:expr, $set:expr, $latest:expr) => {{
            let spilled = pending.$field.finish()?;
            let to = std::sync::Mutex::new(&mut by_person.$field);
            move |table: Table, part: usize| -> Result<TableChecked> {
                let mut c = TableChecked::default();
                let mut batch = lock(&to)?.batch();
                let mut seen = IdSet::default();
                spilled.each(part, |k| {
                    let r = KeptRef::of(&k);
                    let $v = &k.value;
                    let Some(rank) =
                        check_event(&mut c.rejected, &mut seen, table, $id, &r, $pid, $enc)
                    else {
                        return Ok(());
                    };
                    let mut $v = k.value;
                    $set(&mut $v, person_key(rank));
                    if let Some(t) = $latest(&$v) {
                        c.latest = c.latest.max(Some(t));
                    }
                    c.keep(&k.source);
                    batch.push(person_part(rank), &(k.seq, (k.source, $v)));
                    if batch.bytes() >= BATCH_BYTES {
                        lock(&to)?.append(&mut batch)?;
                    }
                    Ok(())
                })?;
                lock(&to)?.append(&mut batch)?;
                Ok(c)
            }
        }};
    }
    let observations = check_table!(
        observations,
        |m| &m.obs.observation_id,
        &m.obs.patient_id,
        Some(m.obs.encounter_id.as_str()).filter(|e| !e.is_empty()),
        |m: &mut MappedObservation, p| m.obs.patient_id = p,
        |m: &MappedObservation| m.measure.is_some().then_some(m.obs.time)
    );
    let conditions = check_table!(
        conditions,
        |c| &c.condition_id,
        &c.patient_id,
        c.encounter_id.as_deref(),
        |c: &mut Condition, p| c.patient_id = p,
        |_: &Condition| None
    );
    let medications = check_table!(
        medications,
        |m| &m.medication_id,
        &m.patient_id,
        Some(m.encounter_id.as_str()),
        |m: &mut Medication, p| m.patient_id = p,
        |m: &Medication| Some(m.authored_time)
    );
    let notes = check_table!(
        notes,
        |n| &n.note_id,
        &n.patient_id,
        Some(n.encounter_id.as_str()).filter(|e| !e.is_empty()),
        |n: &mut Note, p| n.patient_id = p,
        |_: &Note| None
    );
    type Check<'a> = &'a (dyn Fn(Table, usize) -> Result<TableChecked> + Sync);
    let checks: [Check; 4] = [&observations, &conditions, &medications, &notes];
    let tables = [
        Table::Observation,
        Table::Condition,
        Table::Medication,
        Table::Note,
    ];
    // the largest table first, so that the small ones fill the cores' ends
    let jobs: Vec<(usize, usize)> = (0..tables.len())
        .flat_map(|t| (0..parts).map(move |part| (t, part)))
        .collect();
    let done = crate::cores::in_order(
        jobs.len(),
        |_| Ok(()),
        |_, i| {
            let (t, part) = jobs[i];
            checks[t](tables[t], part)
        },
    )?;
    let mut checked: Vec<TableChecked> = tables.iter().map(|_| TableChecked::default()).collect();
    for ((t, _), c) in jobs.iter().zip(done) {
        checked[*t].add(c);
    }
    drop((observations, conditions, medications, notes));
    drop(person_of_encounter);
    let mut counts = [0u64; 4];
    // the latest result the features read, and the latest order: the end
    // of the data when there are no encounters
    let mut latest_event: Option<NaiveDateTime> = None;
    for ((table, checked), n) in tables.into_iter().zip(checked).zip(&mut counts) {
        for (source, &kept) in &checked.kept {
            count_out(&mut report, source, table, kept);
            *n += kept;
        }
        latest_event = latest_event.max(checked.latest);
        file_rejected(&mut report, &mut quarantine, checked.rejected);
    }
    let [n_observations, n_conditions, n_medications, n_notes] = counts;

    // 4. counts per source and table must reconcile
    for (source, items) in &quarantine {
        let q = report.sources.entry(source.clone()).or_default();
        for item in items {
            q.tables
                .entry(item.table.to_string())
                .or_default()
                .quarantined += 1;
        }
    }
    for (name, q) in &report.sources {
        for (table, c) in &q.tables {
            if c.input != c.out + c.quarantined + c.skipped {
                return Err(Error::failure(format!(
                    "{name} {table}: {} in but {} out + {} quarantined + {} skipped (a bug)",
                    c.input, c.out, c.quarantined, c.skipped
                )));
            }
        }
    }

    // 5. the end of the data
    let data_end = match &cfg.data_end {
        Some(s) => parse_datetime(s).ok_or_else(|| {
            Error::bad_input(
                "pipeline config",
                Some("key data_end".into()),
                "a date-time like 2024-12-31T23:59:59",
                s.clone(),
            )
        })?,
        None => default_data_end(latest_admission, latest_event),
    };

    // 6. every output, a partition of persons at a time, in person order
    let by_person = Finished {
        encounters: by_person.encounters.finish()?,
        observations: by_person.observations.finish()?,
        conditions: by_person.conditions.finish()?,
        medications: by_person.medications.finish()?,
        notes: by_person.notes.finish()?,
    };
    let omop_dir = out.join("omop");
    clock.lap("check duplicates and references");
    let mut omop_like = super::omop_like::OmopLike::create(&omop_dir)?;
    let (mut cdm, head) = super::cdm::CdmBuilder::new(super::cdm::Population {
        places,
        sites,
        chronic_conditions: n_conditions as i64,
        data_end,
        mrns: &mrns,
    })?;
    let mut cdm_writer =
        CdmWriter::create(out, &Spec::v54()?, &super::cdm::TABLES, opts.parquet_layout)?;
    cdm_writer.append(&head)?;
    drop(head);
    let mut identifiers: Option<super::omop::TableWriter> = None;
    let analysis_path = out.join("analysis.csv");
    let mut analysis_csv = csv::Writer::from_writer(AtomicFile::create(&analysis_path)?);
    let mut n_analysis = 0u64;
    let mut persons_before = 0usize;
    for part in 0..parts {
        let in_part = person_rows.take(part)?;
        let in_part: Vec<&Patient> = in_part.iter().collect();
        let first_person_id = persons_before as i64 + 1;
        persons_before += in_part.len();
        let in_order = |mut v: Vec<Placed<Encounter>>| {
            v.sort_by(|a, b| a.1 .1.encounter_id.cmp(&b.1 .1.encounter_id));
            v
        };
        let encs = in_order(by_person.encounters.take(part)?);
        let mut obs = by_person.observations.take(part)?;
        let mut conds = by_person.conditions.take(part)?;
        let mut meds = by_person.medications.take(part)?;
        let mut notes = by_person.notes.take(part)?;
        // the order the records were read in (what the features saw before)
        obs.sort_by_key(|x| x.0);
        conds.sort_by_key(|x| x.0);
        meds.sort_by_key(|x| x.0);
        notes.sort_by_key(|x| x.0);
        let (encs, obs, conds, meds, notes) =
            (flip(encs), flip(obs), flip(conds), flip(meds), flip(notes));
        clock.lap("read a partition back");

        let model = super::cdm::CleanModel {
            persons: &in_part,
            first_person_id,
            encounters: &encs,
            observations: &obs,
            conditions: &conds,
            medications: &meds,
            notes: &notes,
        };
        // The analysis and OMOP-like tables read the partition as the CDM
        // does and write other files, so they are made on a second core
        // while this one makes the CDM's. Each side appends to its own
        // files in person order, so no output depends on which is faster.
        let (model_side, cdm_side) = std::thread::scope(|s| {
            let model_side = s.spawn(|| {
                let at = std::time::Instant::now();
                let n = model_tables(
                    &model,
                    data_end,
                    (&mut analysis_csv, &analysis_path),
                    &mut omop_like,
                )?;
                Ok::<_, Error>((n, at.elapsed()))
            });
            let cdm_side = (|| {
                let at = std::time::Instant::now();
                let (tables, ids) = cdm.part(&model)?;
                cdm_writer.append(&tables)?;
                cdm.recycle(tables);
                let w = match &mut identifiers {
                    Some(w) => w,
                    slot => slot.insert(ids.writer(out)?),
                };
                w.append(&ids)?;
                Ok::<_, Error>(at.elapsed())
            })();
            let model_side = model_side
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (model_side, cdm_side)
        });
        let (rows, model_took) = model_side?;
        let cdm_took = cdm_side?;
        n_analysis += rows;
        clock.lap("analysis, OMOP-like and CDM tables, on two cores");
        clock.add("  on one: analysis and OMOP-like tables", model_took);
        clock.add("  on the other: CDM rows, database and Parquet", cdm_took);
    }
    // the last partition's rows, kept for a next one there is not
    drop(cdm);
    drop(scratch);
    // The CDM database is closed on this core (its keys and indices were
    // filled as its rows went in) while the other files are closed and
    // synced to disk on another. Every file but the
    // database comes back with the checksum its writer made as it wrote.
    let (files, cdm_done) = std::thread::scope(|s| {
        let files = s.spawn(|| -> Result<Written> {
            let mut written = Written::new();
            written.extend(omop_like.finish()?);
            written.extend(match identifiers {
                Some(w) => w.finish()?,
                None => super::cdm::identifiers_table().write(out)?,
            });
            written.push(
                analysis_csv
                    .into_inner()
                    .map_err(|e| Error::io(&analysis_path, e.into_error()))?
                    .commit_written()?,
            );
            Ok(written)
        });
        let cdm_done = cdm_writer.finish();
        let files = files
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (files, cdm_done)
    });
    let mut written = files?;
    written.extend(cdm_done?);
    // the tables' memory goes back before the checks map the database
    crate::release_freed_memory();
    clock.lap("finish the files and the CDM database");
    // The checks only read the database, and so does its checksum for the
    // manifest, so it is made beside them, on a thread of its own: it takes
    // the time the checks leave a core idle (their largest queries come
    // last) instead of a read of its own after them.
    let db = out.join("cdm.sqlite");
    let (checks, db_sum) = std::thread::scope(|s| {
        let sum = s.spawn(|| crate::artifact::sha256_file(&db));
        let checks = super::cdm_checks::run(&db, opts.mmap_bytes());
        let sum = sum
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (checks, sum)
    });
    report.cdm_checks = checks?;
    written.push((db, db_sum?));
    clock.lap("CDM data-quality checks and the database's checksum");

    // 7. the report
    report.data_end = format_datetime(&data_end);
    if want_findings {
        if let Some(dir) = &cfg.truth {
            found.extend(super::quality::encoding_findings(&report));
            let injected = super::quality::read_defects(&dir.join("defects.csv"))?;
            report.defects = super::quality::catch_defects(&injected, &found);
        }
    }

    // 8. quarantine and the report
    let mut total_q = 0;
    for (source, items) in &quarantine {
        total_q += items.len() as u64;
        written.push(write_csv(
            &out.join("quarantine").join(format!("{source}.csv")),
            items,
        )?);
    }
    crate::artifact::write_json(out.join("quality.json"), &report)?;
    crate::artifact::write_atomic(out.join("quality.md"), report.markdown().as_bytes())?;

    let mut manifest = Manifest::new("ingest");
    for s in &cfg.sources {
        manifest.inputs.insert(
            s.name.clone(),
            format!("{:?} {}", s.kind, s.path.display()).to_lowercase(),
        );
    }
    for (name, n) in [
        ("persons", persons.len() as u64),
        ("visit_occurrence", n_encounters),
        ("measurement", n_observations),
        ("condition_occurrence", n_conditions),
        ("drug_exposure", n_medications),
        ("note", n_notes),
        ("analysis_rows", n_analysis),
        ("quarantined", total_q),
    ] {
        manifest.counts.insert(name.into(), n);
    }
    manifest
        .details
        .insert("data_end".into(), report.data_end.clone().into());
    // only the files not written above (the report, the linkage's own) are
    // read back for their checksums
    manifest.checksum_dir_known(out, &written)?;
    manifest.write(out)?;
    clock.lap("linkage report, quarantine, report and manifest");

    Ok(IngestSummary {
        out: out.to_path_buf(),
        persons: persons.len() as u64,
        analysis_rows: n_analysis,
        quarantined: total_q,
        quality: report,
        stages: clock.stages,
    })
}

/// What linkage gives beyond its persons, made as soon as it is done so
/// that its per-record lists need not stay: the master patient index
/// (`mpi.csv`), the review queue (`linkage_review.csv`), the summary for
/// the report with its quality against the generator's truth, and (into
/// `found`, when the truth's defects are checked) where it found
/// duplicate registrations.
fn linkage_outputs(
    out: &Path,
    cfg: &PipelineConfig,
    mpi: &linkage::Mpi,
    records: &[(String, String)],
    patient_at: &[(String, IdSource)],
    persons: u64,
    found: Option<&mut Vec<super::quality::FindingAt>>,
) -> Result<LinkageSummary> {
    let mut by_rule: BTreeMap<String, u64> = BTreeMap::new();
    for r in &mpi.rule {
        let name = serde_json::to_value(r)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default();
        *by_rule.entry(name).or_default() += 1;
    }
    let quality = match &cfg.truth {
        Some(dir) if dir.join("linkage.csv").exists() => {
            let truth = read_linkage_truth(&dir.join("linkage.csv"))?;
            let t: Vec<Option<String>> = records
                .iter()
                .map(|(s, pid)| truth.get(&(s.clone(), pid.clone())).cloned())
                .collect();
            Some(linkage::evaluate(&mpi.person, &t))
        }
        _ => None,
    };
    if let Some(found) = found {
        let placed: Vec<(String, String, String)> = records
            .iter()
            .zip(patient_at)
            .map(|((s, pid), (location, _))| (s.clone(), location.clone(), pid.clone()))
            .collect();
        found.extend(super::quality::linkage_findings(&placed, &mpi.person));
    }
    let mpi_rows = records
        .iter()
        .zip(patient_at)
        .zip(mpi.person.iter().zip(&mpi.rule))
        .map(|(((source, pid), (_, ids)), (p, r))| MpiRow {
            source,
            source_patient_id: pid,
            person_id: p,
            rule: *r,
            source_id_type: &ids.type_code,
            source_id_authority: &ids.authority,
        });
    write_csv(&out.join("mpi.csv"), mpi_rows)?;
    let review = mpi.review.iter().filter_map(|l| {
        let (a, b) = (records.get(l.a)?, records.get(l.b)?);
        Some(ReviewRow {
            source_a: &a.0,
            id_a: &a.1,
            source_b: &b.0,
            id_b: &b.1,
            score: l.score.unwrap_or(0.0),
            conflict: l.conflict,
        })
    });
    write_csv(&out.join("linkage_review.csv"), review)?;
    Ok(LinkageSummary {
        patient_records: records.len() as u64,
        persons,
        by_rule,
        pairs_compared: mpi.pairs_compared,
        review_pairs: mpi.review.len() as u64,
        review_conflicts: mpi.review_conflicts(),
        review_set_aside: mpi.set_aside,
        quality,
        weights: mpi.estimation.is_some().then(|| mpi.weights.clone()),
        estimation: mpi.estimation.clone(),
    })
}

/// The outputs of a partition made from its clean model as it is: its
/// analysis rows, appended to `analysis` (the writer and its path), and its
/// OMOP-like tables, appended to `omop`. Returns the number of analysis
/// rows.
fn model_tables(
    m: &super::cdm::CleanModel,
    data_end: NaiveDateTime,
    (analysis, path): (&mut csv::Writer<AtomicFile>, &Path),
    omop: &mut super::omop_like::OmopLike,
) -> Result<u64> {
    let rows = analysis_of(
        m.persons,
        m.encounters,
        m.observations,
        m.conditions,
        m.medications,
        data_end,
    );
    for row in &rows {
        analysis
            .serialize(row)
            .map_err(|e| Error::failure(format!("{}: {e}", path.display())))?;
    }
    let n = rows.len() as u64;
    drop(rows);
    omop.append(m)?;
    Ok(n)
}

/// The analysis rows of some persons (in the order of their ids) from their
/// records, in the order of person, discharge and stay.
fn analysis_of(
    persons: &[&Patient],
    encounters: &[(Encounter, String)],
    observations: &[(MappedObservation, String)],
    conditions: &[(Condition, String)],
    medications: &[(Medication, String)],
    data_end: NaiveDateTime,
) -> Vec<AnalysisRow> {
    let mut records: BTreeMap<&str, PersonRecords> = BTreeMap::new();
    for (o, _) in observations {
        // the features read the model's measures only
        if o.measure.is_some() {
            records
                .entry(&o.obs.patient_id)
                .or_default()
                .observations
                .push(o.obs.clone());
        }
    }
    for (c, _) in conditions {
        records
            .entry(&c.patient_id)
            .or_default()
            .conditions
            .push(c.clone());
    }
    for (m, _) in medications {
        records
            .entry(&m.patient_id)
            .or_default()
            .medications
            .push(m.clone());
    }
    for (e, _) in encounters {
        records
            .entry(&e.patient_id)
            .or_default()
            .encounters
            .push(e.clone());
    }
    let mut analysis: Vec<AnalysisRow> = Vec::new();
    for (pid, recs) in &records {
        let Ok(i) = persons.binary_search_by(|p| p.patient_id.as_str().cmp(pid)) else {
            continue;
        };
        analysis.extend(analysis_rows(
            &PatientRecords {
                patient: persons[i],
                encounters: &recs.encounters,
                observations: &recs.observations,
                conditions: &recs.conditions,
                medications: &recs.medications,
            },
            data_end,
        ));
    }
    analysis.sort_by(|a, b| {
        (&a.patient_id, &a.discharge_time, &a.stay_id).cmp(&(
            &b.patient_id,
            &b.discharge_time,
            &b.stay_id,
        ))
    });
    analysis
}

/// The person-partitioned records, read back a partition at a time.
struct Finished {
    encounters: Spilled<Placed<Encounter>>,
    observations: Spilled<Placed<MappedObservation>>,
    conditions: Spilled<Placed<Condition>>,
    medications: Spilled<Placed<Medication>>,
    notes: Spilled<Placed<Note>>,
}

/// Placed records as the clean model holds them: (record, source).
fn flip<T>(v: Vec<Placed<T>>) -> Vec<(T, String)> {
    v.into_iter().map(|(_, (s, x))| (x, s)).collect()
}

/// What a rejection needs of a kept record.
struct KeptRef<'a> {
    seq: u64,
    source: &'a str,
    location: &'a str,
    raw: &'a str,
}

impl<'a> KeptRef<'a> {
    fn of<T>(k: &'a Kept<T>) -> KeptRef<'a> {
        KeptRef {
            seq: k.seq,
            source: &k.source,
            location: &k.location,
            raw: &k.raw,
        }
    }

    /// The record with `value` as a spill file holds a [`Kept`].
    fn put_with<T: Codec>(&self, value: &T, b: &mut Vec<u8>) {
        self.seq.put(b);
        spill::put_str(b, self.source);
        spill::put_str(b, self.location);
        spill::put_str(b, self.raw);
        value.put(b);
    }
}

/// A record being kept as it is read: its place borrowed from the
/// reader's record, written to the spill as the [`Kept`] it reads back as.
struct Keeping<'a, T> {
    at: KeptRef<'a>,
    value: T,
}

impl<T: Codec> spill::Put<Kept<T>> for Keeping<'_, T> {
    fn put_as(&self, b: &mut Vec<u8>) {
        self.at.put_with(&self.value, b)
    }
}

#[derive(Serialize)]
struct MpiRow<'a> {
    source: &'a str,
    source_patient_id: &'a str,
    person_id: &'a str,
    rule: linkage::LinkRule,
    /// The identifier type (HL7 v2 PID-3 CX-5, e.g. `MR`) and assigning
    /// authority (CX-4) of the id, where the source says them: what links
    /// ids across facilities.
    source_id_type: &'a str,
    source_id_authority: &'a str,
}

/// Where a patient id came from, as the source said.
#[derive(Debug, Clone, Default)]
struct IdSource {
    type_code: String,
    authority: String,
}

#[derive(Serialize)]
struct ReviewRow<'a> {
    source_a: &'a str,
    id_a: &'a str,
    source_b: &'a str,
    id_b: &'a str,
    score: f64,
    /// The strong identifiers that conflict (`ssn`, `sex_and_birth_date`);
    /// empty when the score fell between the thresholds.
    conflict: Option<linkage::Conflict>,
}

/// Write rows as CSV with a header even when there are none; returns the
/// file with its checksum.
fn write_csv<T: Serialize>(
    path: &Path,
    rows: impl IntoIterator<Item = T>,
) -> Result<(PathBuf, String)> {
    let fail = |e: csv::Error| Error::failure(format!("{}: {e}", path.display()));
    let mut rows = rows.into_iter().peekable();
    let empty = rows.peek().is_none();
    let mut w = csv::WriterBuilder::new()
        .has_headers(!empty)
        .from_writer(AtomicFile::create(path)?);
    if empty {
        w.write_record([
            "reason", "source", "table", "location", "field", "detail", "raw",
        ])
        .map_err(fail)?;
    }
    for r in rows {
        w.serialize(r).map_err(fail)?;
    }
    w.into_inner()
        .map_err(|e| Error::io(path, e.into_error()))?
        .commit_written()
}

/// Fill the merged person's empty fields from another record of the person.
fn fill_gaps(into: &mut Patient, from: &Patient) {
    for (a, b) in [
        (&mut into.mrn, &from.mrn),
        (&mut into.given_name, &from.given_name),
        (&mut into.family_name, &from.family_name),
        (&mut into.race, &from.race),
        (&mut into.ethnicity, &from.ethnicity),
        (&mut into.payer, &from.payer),
        (&mut into.address_line, &from.address_line),
        (&mut into.city, &from.city),
        (&mut into.state, &from.state),
        (&mut into.zip, &from.zip),
        (&mut into.phone, &from.phone),
        (&mut into.email, &from.email),
        (&mut into.ssn, &from.ssn),
    ] {
        if a.is_empty() {
            a.clone_from(b);
        }
    }
    if into.death_date.is_none() {
        into.death_date = from.death_date;
    }
}

/// The default end of the data: the latest admission it holds. The label is
/// about admissions (a readmission is one), and an export vouches for them
/// only up to its last one; discharges and results of stays admitted before
/// then can run later, and taking those as the end would label stays whose
/// follow-up the data does not cover as "not readmitted". With no
/// encounters at all, the latest result the features read or order.
fn default_data_end(
    latest_admission: Option<NaiveDateTime>,
    latest_event: Option<NaiveDateTime>,
) -> NaiveDateTime {
    latest_admission.or(latest_event).unwrap_or_default()
}

fn read_crosswalk(path: &Path) -> Result<Vec<super::linkage::CrosswalkLink>> {
    let rows = read_string_csv(path, &["source_a", "id_a", "source_b", "id_b"])?;
    Ok(rows
        .into_iter()
        .map(|r| ((r[0].clone(), r[1].clone()), (r[2].clone(), r[3].clone())))
        .collect())
}

/// `truth/linkage.csv`: source, source_patient_id, patient_id (the true person).
fn read_linkage_truth(path: &Path) -> Result<BTreeMap<(String, String), String>> {
    let rows = read_string_csv(path, &["source", "source_patient_id", "patient_id"])?;
    Ok(rows
        .into_iter()
        .map(|r| ((r[0].clone(), r[1].clone()), r[2].clone()))
        .collect())
}

/// Read the named columns of a small CSV file (UTF-8 or Latin-1), in that
/// order.
fn read_string_csv(path: &Path, columns: &[&str]) -> Result<Vec<Vec<String>>> {
    let bytes = std::fs::read(path).at(path)?;
    let (text, _) = raw::decode_text(&bytes);
    let mut csv = crate::formats::named_csv::NamedCsv::from_text(path, text)?;
    let idx = csv.columns(columns)?;
    csv.rows()
        .map(|row| {
            let row = row?;
            Ok(idx.iter().map(|&j| row.get(j).to_string()).collect())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A record kept as it is read, its text borrowed from the reader, is
    /// written byte for byte as its owned copy is, and reads back as it.
    #[test]
    fn a_record_kept_as_read_is_spilled_as_its_owned_copy() {
        let dir = tempfile::tempdir().unwrap();
        let mut owned: Spill<Kept<u64>> = Spill::create(dir.path(), "owned", 2).unwrap();
        let mut viewed: Spill<Kept<u64>> = Spill::create(dir.path(), "viewed", 2).unwrap();
        let rows = [
            (3, "ehr", "observations.csv line 4", "O1,P1,é", 70),
            (900, "lab", "message 2 OBX 1", "", u64::MAX),
        ];
        for (part, &(seq, source, location, raw, value)) in rows.iter().enumerate() {
            let at = KeptRef {
                seq,
                source,
                location,
                raw,
            };
            viewed.push(part, &Keeping { at, value }).unwrap();
            let kept = Kept {
                seq,
                source: source.to_string(),
                location: location.to_string(),
                raw: raw.to_string(),
                value,
            };
            owned.push(part, &kept).unwrap();
        }
        assert_eq!(owned.bytes(), viewed.bytes());
        let (owned, viewed) = (owned.finish().unwrap(), viewed.finish().unwrap());
        for (part, &(seq, source, location, raw, value)) in rows.iter().enumerate() {
            let bytes = |name: &str| std::fs::read(dir.path().join(format!("{name}-{part}.bin")));
            assert_eq!(bytes("owned").unwrap(), bytes("viewed").unwrap());
            let back = viewed.take(part).unwrap();
            assert_eq!(back.len(), 1);
            let k = &back[0];
            assert_eq!(
                (
                    k.seq,
                    k.source.as_str(),
                    k.location.as_str(),
                    k.raw.as_str(),
                    k.value
                ),
                (seq, source, location, raw, value)
            );
            assert_eq!(owned.take(part).unwrap().len(), 1);
        }
    }
}
