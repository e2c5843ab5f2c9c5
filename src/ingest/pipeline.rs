//! The ingest pipeline: sources -> checks -> linkage -> clean model.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use super::linkage::{self, LinkageConfig};
use super::maps::Maps;
use super::omop::{text, Cell, Kind, OutTable};
use super::quality::{LinkageSummary, QualityReport};
use super::raw::{self, RawRecord, Table};
use super::source::read_source;
pub use super::source::SourceKind;
use super::validate::{self, Clean, MappedObservation, Outcome, Placeholders, Rule};
use crate::artifact::{AtomicFile, Manifest};
use crate::clinical::analysis::{analysis_rows, write_analysis_csv, AnalysisRow, PatientRecords};
use crate::clinical::records::{
    format_datetime, parse_datetime, Condition, Encounter, Medication, Note, Patient,
};
use crate::error::{toml_error, Error, IoContext, Result};

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
}

/// Clean records of one person, after linkage.
#[derive(Default)]
struct PersonRecords {
    encounters: Vec<Encounter>,
    observations: Vec<crate::clinical::records::Observation>,
    conditions: Vec<Condition>,
    medications: Vec<Medication>,
}

/// A clean record with the source it came from.
struct Kept<T> {
    source: String,
    location: String,
    raw: String,
    value: T,
}

/// Read every source, check, link, and write the clean model to `out`.
pub fn run(cfg: &PipelineConfig, out: &Path) -> Result<IngestSummary> {
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
    let mut report = QualityReport::default();
    let mut quarantine: BTreeMap<String, Vec<Quarantined>> = BTreeMap::new();

    // 1. read every source into raw records
    let mut raw_records: Vec<RawRecord> = Vec::new();
    for s in &cfg.sources {
        let q = report.sources.entry(s.name.clone()).or_default();
        q.kind = format!("{:?}", s.kind).to_lowercase();
        quarantine.entry(s.name.clone()).or_default();
        let recs = read_source(s, q)?;
        for r in &recs {
            q.tables
                .entry(r.table.name().to_string())
                .or_default()
                .input += 1;
        }
        raw_records.extend(recs);
    }

    // 2. single-record rules
    let mut patients: Vec<Kept<Patient>> = Vec::new();
    // where each kept patient's id came from (HL7 v2 PID-3), same order
    let mut patient_ids: Vec<IdSource> = Vec::new();
    let mut encounters: Vec<Kept<Encounter>> = Vec::new();
    let mut observations: Vec<Kept<MappedObservation>> = Vec::new();
    let mut conditions: Vec<Kept<Condition>> = Vec::new();
    let mut medications: Vec<Kept<Medication>> = Vec::new();
    let mut notes: Vec<Kept<Note>> = Vec::new();
    // where every check fired, to match against injected defects
    let mut found: Vec<super::quality::FindingAt> = Vec::new();
    for rec in raw_records {
        if let Some(reason) = rec.fields.get(raw::SKIP_FIELD) {
            let q = report.sources.entry(rec.source.clone()).or_default();
            q.tables
                .entry(rec.table.name().to_string())
                .or_default()
                .skipped += 1;
            *q.skipped
                .entry(rec.table.name().to_string())
                .or_default()
                .entry(reason.clone())
                .or_default() += 1;
            continue;
        }
        let id_source = (rec.table == Table::Patient).then(|| IdSource {
            type_code: rec.get("patient_id_type").to_string(),
            authority: rec.get("patient_id_authority").to_string(),
        });
        let checked = validate::check(&rec, &maps, &cfg.placeholders);
        found.extend(super::quality::rule_findings(&rec, &checked.findings));
        let q = report.sources.entry(rec.source.clone()).or_default();
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
            continue;
        }
        // a condition in a code system no map knew is kept with its source
        // code (`system|code`), and listed so that someone maps it
        if let Some(Clean::Condition(c)) = &checked.clean {
            if c.code.contains('|') {
                *q.unmapped_codes.entry(c.code.clone()).or_default() += 1;
            }
        }
        let RawRecord {
            source,
            location,
            raw,
            ..
        } = rec;
        macro_rules! keep {
            ($vec:ident, $v:expr) => {
                $vec.push(Kept {
                    source,
                    location,
                    raw,
                    value: $v,
                })
            };
        }
        match checked.clean {
            Some(Clean::Patient(v)) => {
                patient_ids.push(id_source.unwrap_or_default());
                keep!(patients, v)
            }
            Some(Clean::Encounter(v)) => keep!(encounters, v),
            Some(Clean::Observation(v)) => keep!(observations, v),
            Some(Clean::Condition(v)) => keep!(conditions, v),
            Some(Clean::Medication(v)) => keep!(medications, v),
            Some(Clean::Note(v)) => keep!(notes, v),
            None => {
                return Err(Error::failure(format!(
                    "{location}: a record neither clean nor rejected (a bug)"
                )))
            }
        }
    }

    // 3. linkage: one person per cluster of patient records
    let crosswalk = match &cfg.crosswalk {
        Some(p) => read_crosswalk(p)?,
        None => Vec::new(),
    };
    let link_input: Vec<(String, Patient)> = patients
        .iter()
        .map(|k| (k.source.clone(), k.value.clone()))
        .collect();
    let mpi = linkage::link(&link_input, &crosswalk, &cfg.linkage);
    let mut person_of: BTreeMap<(String, String), String> = BTreeMap::new();
    let mut person_of_id: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut persons: BTreeMap<String, Patient> = BTreeMap::new();
    for (k, person) in patients.iter().zip(&mpi.person) {
        person_of.insert(
            (k.source.clone(), k.value.patient_id.clone()),
            person.clone(),
        );
        person_of_id
            .entry(k.value.patient_id.clone())
            .or_default()
            .insert(person.clone());
        let merged = persons.entry(person.clone()).or_insert_with(|| Patient {
            patient_id: person.clone(),
            ..k.value.clone()
        });
        fill_gaps(merged, &k.value);
    }
    for k in &patients {
        report
            .sources
            .entry(k.source.clone())
            .or_default()
            .tables
            .entry("patient".into())
            .or_default()
            .out += 1;
    }
    // a patient id resolves in its own source first, then anywhere if unique
    let resolve = |source: &str, pid: &str| -> Option<String> {
        if let Some(p) = person_of.get(&(source.to_string(), pid.to_string())) {
            return Some(p.clone());
        }
        match person_of_id.get(pid) {
            Some(set) if set.len() == 1 => set.iter().next().cloned(),
            _ => None,
        }
    };

    // 4. multi-record rules: duplicates, then referential integrity
    let reject = |report: &mut QualityReport,
                  quarantine: &mut BTreeMap<String, Vec<Quarantined>>,
                  source: &str,
                  table: Table,
                  location: &str,
                  raw: &str,
                  rule: Rule,
                  field: &str,
                  detail: &str| {
        let q = report.sources.entry(source.to_string()).or_default();
        q.rules.entry(rule.code().to_string()).or_default().rejected += 1;
        quarantine
            .entry(source.to_string())
            .or_default()
            .push(Quarantined {
                reason: rule.code(),
                source: source.to_string(),
                table: table.name(),
                location: location.to_string(),
                field: field.to_string(),
                detail: detail.to_string(),
                raw: raw.to_string(),
            });
    };

    let mut clean_enc: BTreeMap<String, (Encounter, String)> = BTreeMap::new();
    for k in encounters {
        let id = k.value.encounter_id.clone();
        if clean_enc.contains_key(&id) {
            reject(
                &mut report,
                &mut quarantine,
                &k.source,
                Table::Encounter,
                &k.location,
                &k.raw,
                Rule::Duplicate,
                "encounter_id",
                "an encounter with this id came earlier",
            );
            continue;
        }
        let Some(person) = resolve(&k.source, &k.value.patient_id) else {
            reject(
                &mut report,
                &mut quarantine,
                &k.source,
                Table::Encounter,
                &k.location,
                &k.raw,
                Rule::Referential,
                "patient_id",
                "no patient with this id",
            );
            continue;
        };
        let mut e = k.value;
        e.patient_id = person;
        clean_enc.insert(id, (e, k.source));
    }

    // an event belongs to an existing encounter of the same person
    let check_event = |report: &mut QualityReport,
                       quarantine: &mut BTreeMap<String, Vec<Quarantined>>,
                       seen: &mut BTreeSet<String>,
                       table: Table,
                       id: &str,
                       source: &str,
                       location: &str,
                       raw: &str,
                       pid: &str,
                       enc: Option<&str>|
     -> Option<String> {
        let id_field = format!("{}_id", table.name());
        if !seen.insert(id.to_string()) {
            reject(
                report,
                quarantine,
                source,
                table,
                location,
                raw,
                Rule::Duplicate,
                &id_field,
                "a record with this id came earlier",
            );
            return None;
        }
        let Some(person) = resolve(source, pid) else {
            reject(
                report,
                quarantine,
                source,
                table,
                location,
                raw,
                Rule::Referential,
                "patient_id",
                "no patient with this id",
            );
            return None;
        };
        if let Some(enc) = enc {
            match clean_enc.get(enc) {
                Some((e, _)) if e.patient_id == person => {}
                Some(_) => {
                    reject(
                        report,
                        quarantine,
                        source,
                        table,
                        location,
                        raw,
                        Rule::Referential,
                        "encounter_id",
                        "the encounter belongs to another patient",
                    );
                    return None;
                }
                None => {
                    reject(
                        report,
                        quarantine,
                        source,
                        table,
                        location,
                        raw,
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

    let mut by_person: BTreeMap<String, PersonRecords> = BTreeMap::new();
    let mut out_obs = Vec::new();
    let mut seen = BTreeSet::new();
    for k in observations {
        let o = &k.value.obs;
        if let Some(person) = check_event(
            &mut report,
            &mut quarantine,
            &mut seen,
            Table::Observation,
            &o.observation_id,
            &k.source,
            &k.location,
            &k.raw,
            &o.patient_id,
            Some(o.encounter_id.as_str()).filter(|e| !e.is_empty()),
        ) {
            let mut m = k.value;
            m.obs.patient_id = person.clone();
            // the features read the model's measures only
            if m.measure.is_some() {
                by_person
                    .entry(person)
                    .or_default()
                    .observations
                    .push(m.obs.clone());
            }
            out_obs.push((m, k.source));
        }
    }
    let mut out_cond = Vec::new();
    let mut seen = BTreeSet::new();
    for k in conditions {
        let c = &k.value;
        if let Some(person) = check_event(
            &mut report,
            &mut quarantine,
            &mut seen,
            Table::Condition,
            &c.condition_id,
            &k.source,
            &k.location,
            &k.raw,
            &c.patient_id,
            c.encounter_id.as_deref(),
        ) {
            let mut c = k.value;
            c.patient_id = person.clone();
            by_person
                .entry(person)
                .or_default()
                .conditions
                .push(c.clone());
            out_cond.push((c, k.source));
        }
    }
    let mut out_med = Vec::new();
    let mut seen = BTreeSet::new();
    for k in medications {
        let m = &k.value;
        if let Some(person) = check_event(
            &mut report,
            &mut quarantine,
            &mut seen,
            Table::Medication,
            &m.medication_id,
            &k.source,
            &k.location,
            &k.raw,
            &m.patient_id,
            Some(&m.encounter_id),
        ) {
            let mut m = k.value;
            m.patient_id = person.clone();
            by_person
                .entry(person)
                .or_default()
                .medications
                .push(m.clone());
            out_med.push((m, k.source));
        }
    }
    let mut out_note = Vec::new();
    let mut seen = BTreeSet::new();
    for k in notes {
        let n = &k.value;
        if let Some(person) = check_event(
            &mut report,
            &mut quarantine,
            &mut seen,
            Table::Note,
            &n.note_id,
            &k.source,
            &k.location,
            &k.raw,
            &n.patient_id,
            Some(n.encounter_id.as_str()).filter(|e| !e.is_empty()),
        ) {
            let mut n = k.value;
            n.patient_id = person;
            out_note.push((n, k.source));
        }
    }
    for (e, _) in clean_enc.values() {
        by_person
            .entry(e.patient_id.clone())
            .or_default()
            .encounters
            .push(e.clone());
    }

    // 5. counts out per source and table; they must reconcile
    let mut count_out = |source: &str, table: Table| {
        report
            .sources
            .entry(source.to_string())
            .or_default()
            .tables
            .entry(table.name().to_string())
            .or_default()
            .out += 1;
    };
    clean_enc
        .values()
        .for_each(|(_, s)| count_out(s, Table::Encounter));
    out_obs
        .iter()
        .for_each(|(_, s)| count_out(s, Table::Observation));
    out_cond
        .iter()
        .for_each(|(_, s)| count_out(s, Table::Condition));
    out_med
        .iter()
        .for_each(|(_, s)| count_out(s, Table::Medication));
    out_note.iter().for_each(|(_, s)| count_out(s, Table::Note));
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

    // 6. the analysis table
    let data_end = match &cfg.data_end {
        Some(s) => parse_datetime(s).ok_or_else(|| {
            Error::bad_input(
                "pipeline config",
                Some("key data_end".into()),
                "a date-time like 2024-12-31T23:59:59",
                s.clone(),
            )
        })?,
        None => default_data_end(&by_person),
    };
    let mut analysis: Vec<AnalysisRow> = Vec::new();
    for (pid, recs) in &by_person {
        let Some(patient) = persons.get(pid) else {
            continue;
        };
        analysis.extend(analysis_rows(
            &PatientRecords {
                patient,
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

    // 7. linkage summary and truth
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
            let t: Vec<Option<String>> = patients
                .iter()
                .map(|k| {
                    truth
                        .get(&(k.source.clone(), k.value.patient_id.clone()))
                        .cloned()
                })
                .collect();
            Some(linkage::evaluate(&mpi.person, &t))
        }
        _ => None,
    };
    report.linkage = LinkageSummary {
        patient_records: patients.len() as u64,
        persons: persons.len() as u64,
        by_rule,
        pairs_compared: mpi.pairs_compared,
        review_pairs: mpi.review.len() as u64,
        review_conflicts: mpi.review_conflicts(),
        quality,
        weights: mpi.estimation.is_some().then(|| mpi.weights.clone()),
        estimation: mpi.estimation.clone(),
    };
    report.data_end = format_datetime(&data_end);
    if let Some(dir) = cfg
        .truth
        .as_ref()
        .filter(|d| d.join("defects.csv").exists())
    {
        let placed: Vec<(String, String, String)> = patients
            .iter()
            .map(|k| {
                (
                    k.source.clone(),
                    k.location.clone(),
                    k.value.patient_id.clone(),
                )
            })
            .collect();
        found.extend(super::quality::linkage_findings(&placed, &mpi.person));
        found.extend(super::quality::encoding_findings(&report));
        let injected = super::quality::read_defects(&dir.join("defects.csv"))?;
        report.defects = super::quality::catch_defects(&injected, &found);
    }

    // 8. write everything
    std::fs::create_dir_all(out).at(out)?;
    let omop_dir = out.join("omop");
    omop_tables(
        &persons, &clean_enc, &out_obs, &out_cond, &out_med, &out_note,
    )
    .iter()
    .try_for_each(|t| t.write(&omop_dir))?;
    super::cdm::build(&super::cdm::CleanModel {
        persons: &persons,
        encounters: &clean_enc,
        observations: &out_obs,
        conditions: &out_cond,
        medications: &out_med,
        notes: &out_note,
        data_end,
        mrns: &patients
            .iter()
            .map(|k| k.value.mrn.trim().to_string())
            .filter(|m| !m.is_empty())
            .collect(),
    })?
    .write(out)?;
    report.cdm_checks = super::cdm_checks::run(&out.join("cdm.sqlite"))?;
    write_analysis_csv(out.join("analysis.csv"), &analysis)?;
    let mut total_q = 0;
    for (source, items) in &quarantine {
        total_q += items.len() as u64;
        write_csv(&out.join("quarantine").join(format!("{source}.csv")), items)?;
    }
    let mpi_rows: Vec<MpiRow> = patients
        .iter()
        .zip(&patient_ids)
        .zip(mpi.person.iter().zip(&mpi.rule))
        .map(|((k, ids), (p, r))| MpiRow {
            source: k.source.clone(),
            source_patient_id: k.value.patient_id.clone(),
            person_id: p.clone(),
            rule: *r,
            source_id_type: ids.type_code.clone(),
            source_id_authority: ids.authority.clone(),
        })
        .collect();
    write_csv(&out.join("mpi.csv"), &mpi_rows)?;
    let review: Vec<ReviewRow> = mpi
        .review
        .iter()
        .filter_map(|l| {
            let (a, b) = (patients.get(l.a)?, patients.get(l.b)?);
            Some(ReviewRow {
                source_a: a.source.clone(),
                id_a: a.value.patient_id.clone(),
                source_b: b.source.clone(),
                id_b: b.value.patient_id.clone(),
                score: l.score.unwrap_or(0.0),
                conflict: l.conflict,
            })
        })
        .collect();
    write_csv(&out.join("linkage_review.csv"), &review)?;
    crate::artifact::write_json(out.join("quality.json"), &report)?;
    crate::artifact::write_atomic(out.join("quality.md"), report.markdown().as_bytes())?;

    let mut manifest = Manifest::new("ingest");
    for s in &cfg.sources {
        manifest.inputs.insert(
            s.name.clone(),
            format!("{:?} {}", s.kind, s.path.display()).to_lowercase(),
        );
    }
    manifest
        .counts
        .insert("persons".into(), persons.len() as u64);
    manifest
        .counts
        .insert("visit_occurrence".into(), clean_enc.len() as u64);
    manifest
        .counts
        .insert("measurement".into(), out_obs.len() as u64);
    manifest
        .counts
        .insert("condition_occurrence".into(), out_cond.len() as u64);
    manifest
        .counts
        .insert("drug_exposure".into(), out_med.len() as u64);
    manifest.counts.insert("note".into(), out_note.len() as u64);
    manifest
        .counts
        .insert("analysis_rows".into(), analysis.len() as u64);
    manifest.counts.insert("quarantined".into(), total_q);
    manifest
        .details
        .insert("data_end".into(), report.data_end.clone().into());
    manifest.checksum_dir(out)?;
    manifest.write(out)?;

    Ok(IngestSummary {
        out: out.to_path_buf(),
        persons: persons.len() as u64,
        analysis_rows: analysis.len() as u64,
        quarantined: total_q,
        quality: report,
    })
}

#[derive(Serialize)]
struct MpiRow {
    source: String,
    source_patient_id: String,
    person_id: String,
    rule: linkage::LinkRule,
    /// The identifier type (HL7 v2 PID-3 CX-5, e.g. `MR`) and assigning
    /// authority (CX-4) of the id, where the source says them: what links
    /// ids across facilities.
    source_id_type: String,
    source_id_authority: String,
}

/// Where a patient id came from, as the source said.
#[derive(Debug, Clone, Default)]
struct IdSource {
    type_code: String,
    authority: String,
}

#[derive(Serialize)]
struct ReviewRow {
    source_a: String,
    id_a: String,
    source_b: String,
    id_b: String,
    score: f64,
    /// The strong identifiers that conflict (`ssn`, `sex_and_birth_date`);
    /// empty when the score fell between the thresholds.
    conflict: Option<linkage::Conflict>,
}

/// Write rows as CSV with a header even when there are none.
fn write_csv<T: Serialize>(path: &Path, rows: &[T]) -> Result<()> {
    let fail = |e: csv::Error| Error::failure(format!("{}: {e}", path.display()));
    let mut w = csv::WriterBuilder::new()
        .has_headers(!rows.is_empty())
        .from_writer(AtomicFile::create(path)?);
    if rows.is_empty() {
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
        .commit()?;
    Ok(())
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
/// encounters at all, the latest time of anything.
fn default_data_end(by_person: &BTreeMap<String, PersonRecords>) -> NaiveDateTime {
    let records = || by_person.values();
    let latest_admission = records()
        .flat_map(|r| r.encounters.iter().map(|e| e.admit_time))
        .max();
    latest_admission.unwrap_or_else(|| {
        records()
            .flat_map(|r| {
                r.observations
                    .iter()
                    .map(|o| o.time)
                    .chain(r.medications.iter().map(|m| m.authored_time))
            })
            .max()
            .unwrap_or_default()
    })
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

fn dt(t: &NaiveDateTime) -> Cell {
    text(format_datetime(t))
}

fn omop_tables(
    persons: &BTreeMap<String, Patient>,
    encounters: &BTreeMap<String, (Encounter, String)>,
    observations: &[(MappedObservation, String)],
    conditions: &[(Condition, String)],
    medications: &[(Medication, String)],
    notes: &[(Note, String)],
) -> Vec<OutTable> {
    use chrono::Datelike;
    use Kind::{Date, Integer, Number, Text, Timestamp};
    let mut person = OutTable::new(
        "person",
        &[
            ("person_id", Text),
            ("person_source_value", Text),
            ("gender_source_value", Text),
            ("year_of_birth", Integer),
            ("month_of_birth", Integer),
            ("day_of_birth", Integer),
            ("birth_datetime", Timestamp),
            ("race_source_value", Text),
            ("ethnicity_source_value", Text),
            ("payer_source_value", Text),
            ("given_name", Text),
            ("family_name", Text),
            ("address_line", Text),
            ("city", Text),
            ("state", Text),
            ("zip", Text),
            ("phone", Text),
            ("email", Text),
            ("ssn", Text),
            ("death_date", Date),
        ],
    );
    for p in persons.values() {
        let b = p.birth_date;
        person.rows.push(vec![
            text(&p.patient_id),
            text(&p.mrn),
            text(&p.sex),
            Cell::Integer(i64::from(b.year())),
            Cell::Integer(i64::from(b.month())),
            Cell::Integer(i64::from(b.day())),
            text(format!("{b}T00:00:00")),
            text(&p.race),
            text(&p.ethnicity),
            text(&p.payer),
            text(&p.given_name),
            text(&p.family_name),
            text(&p.address_line),
            text(&p.city),
            text(&p.state),
            text(&p.zip),
            text(&p.phone),
            text(&p.email),
            text(&p.ssn),
            text(p.death_date.map(|d| d.to_string()).unwrap_or_default()),
        ]);
    }
    let mut visit = OutTable::new(
        "visit_occurrence",
        &[
            ("visit_occurrence_id", Text),
            ("person_id", Text),
            ("visit_source_value", Text),
            ("visit_start_datetime", Timestamp),
            ("visit_end_datetime", Timestamp),
            ("discharged_to_source_value", Text),
            ("reason_source_value", Text),
            ("source", Text),
        ],
    );
    for (e, s) in encounters.values() {
        visit.rows.push(vec![
            text(&e.encounter_id),
            text(&e.patient_id),
            text(&e.class),
            dt(&e.admit_time),
            e.discharge_time.as_ref().map_or_else(|| text(""), dt),
            text(&e.disposition),
            text(&e.reason_code),
            text(s),
        ]);
    }
    let mut meas = OutTable::new(
        "measurement",
        &[
            ("measurement_id", Text),
            ("person_id", Text),
            ("visit_occurrence_id", Text),
            ("measurement_datetime", Timestamp),
            ("measurement_concept_code", Text),
            ("measurement_concept_name", Text),
            ("measurement_source_value", Text),
            ("value_as_number", Number),
            ("unit_concept_code", Text),
            ("unit_source_value", Text),
            ("value_source_value", Text),
            ("source", Text),
            ("value_as_string", Text),
            ("value_as_concept_code", Text),
        ],
    );
    let mut obs: Vec<&(MappedObservation, String)> = observations.iter().collect();
    obs.sort_by(|a, b| a.0.obs.observation_id.cmp(&b.0.obs.observation_id));
    for (m, s) in obs {
        let o = &m.obs;
        meas.rows.push(vec![
            text(&o.observation_id),
            text(&o.patient_id),
            text(&o.encounter_id),
            dt(&o.time),
            text(&*o.code),
            text(&*o.display),
            text(&m.source_code),
            Cell::Number(o.value.is_finite().then_some(o.value)),
            text(&*o.unit),
            text(&m.source_unit),
            text(&m.source_value),
            text(s),
            text(&m.value_as_string),
            text(&m.value_as_concept),
        ]);
    }
    let mut cond = OutTable::new(
        "condition_occurrence",
        &[
            ("condition_occurrence_id", Text),
            ("person_id", Text),
            ("visit_occurrence_id", Text),
            ("condition_start_date", Date),
            ("condition_concept_code", Text),
            ("condition_source_value", Text),
            ("source", Text),
        ],
    );
    let mut cs: Vec<&(Condition, String)> = conditions.iter().collect();
    cs.sort_by(|a, b| a.0.condition_id.cmp(&b.0.condition_id));
    for (c, s) in cs {
        cond.rows.push(vec![
            text(&c.condition_id),
            text(&c.patient_id),
            text(c.encounter_id.clone().unwrap_or_default()),
            text(c.onset_date.to_string()),
            text(&c.code),
            text(&c.display),
            text(s),
        ]);
    }
    let mut drug = OutTable::new(
        "drug_exposure",
        &[
            ("drug_exposure_id", Text),
            ("person_id", Text),
            ("visit_occurrence_id", Text),
            ("drug_exposure_start_datetime", Timestamp),
            ("drug_concept_code", Text),
            ("drug_source_value", Text),
            ("source", Text),
        ],
    );
    let mut ms: Vec<&(Medication, String)> = medications.iter().collect();
    ms.sort_by(|a, b| a.0.medication_id.cmp(&b.0.medication_id));
    for (m, s) in ms {
        drug.rows.push(vec![
            text(&m.medication_id),
            text(&m.patient_id),
            text(&m.encounter_id),
            dt(&m.authored_time),
            text(&m.rxnorm),
            text(&m.name),
            text(s),
        ]);
    }
    let mut note = OutTable::new(
        "note",
        &[
            ("note_id", Text),
            ("person_id", Text),
            ("visit_occurrence_id", Text),
            ("note_datetime", Timestamp),
            ("note_text", Text),
            ("source", Text),
        ],
    );
    let mut ns: Vec<&(Note, String)> = notes.iter().collect();
    ns.sort_by(|a, b| a.0.note_id.cmp(&b.0.note_id));
    for (n, s) in ns {
        note.rows.push(vec![
            text(&n.note_id),
            text(&n.patient_id),
            text(&n.encounter_id),
            dt(&n.time),
            text(&n.text),
            text(s),
        ]);
    }
    vec![person, visit, meas, cond, drug, note]
}
