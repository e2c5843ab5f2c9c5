//! `data generate`: make a population and stream it into every format.
//!
//! Patients are made in parallel chunks (rayon) and written in index order,
//! so the output is byte-identical whatever the thread count, and memory
//! stays bounded by one chunk whatever the population size. A shard makes
//! the patients whose index is congruent to `I` modulo `N`: the shards of a
//! population are disjoint and their union is the whole.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde_json::json;

use super::population::Population;
use super::scenario::Scenario;
use super::truth::auroc;
use super::{legacy, notes, site};
use crate::artifact::{sha256_file, AtomicFile, Manifest};
use crate::clinical::analysis::{analysis_rows, PatientRecords};
use crate::clinical::{AnalysisRow, PatientBundle, PhiSpan, StayTruth};
use crate::error::{Error, IoContext, Result};
use crate::formats::table::{Identifier, Table, TableFormat, TableWriter};
use crate::formats::{fhir, hl7v2};
use crate::ui::Ui;

/// Patients made per parallel chunk: bounds memory.
pub const CHUNK: usize = 1024;

/// A disjoint slice of a population: patients with `index % count == index`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

impl Shard {
    /// Parse `I/N` with `0 <= I < N`.
    pub fn parse(text: &str) -> Result<Shard> {
        let bad = |found: &str| {
            Error::bad_input(
                "--shard",
                None,
                "I/N with whole numbers 0 <= I < N (e.g. 0/4)",
                found.to_string(),
            )
        };
        let (i, n) = text.split_once('/').ok_or_else(|| bad(text))?;
        let index: u64 = i.trim().parse().map_err(|_| bad(text))?;
        let count: u64 = n.trim().parse().map_err(|_| bad(text))?;
        if count == 0 || index >= count {
            return Err(bad(text));
        }
        Ok(Shard { index, count })
    }

    pub fn contains(&self, patient: u64) -> bool {
        patient % self.count == self.index
    }
}

/// What to generate and where.
#[derive(Debug, Clone)]
pub struct GenerateOptions {
    pub scenario: Scenario,
    /// The scenario's TOML text, checksummed into the manifest.
    pub scenario_text: String,
    pub patients: u64,
    pub seed: u64,
    pub out: PathBuf,
    /// Formats to write; empty means the scenario's default.
    pub formats: Vec<String>,
    pub shard: Option<Shard>,
}

/// One patient, made and encoded (the parallel part of the work).
struct Made {
    clean: PatientBundle,
    exported: PatientBundle,
    rows: Vec<AnalysisRow>,
    identifiers: Vec<Identifier>,
    fhir_bundle: Option<String>,
    fhir_bulk: Vec<(&'static str, String)>,
    hl7: Vec<String>,
    legacy: Option<legacy::Silos>,
}

/// Writers of one clean table in every requested table format.
struct Tables<T: Table>(Vec<TableWriter<T>>);

impl<T: Table> Tables<T> {
    fn create(dir: &Path, formats: &[TableFormat]) -> Result<Self> {
        let writers = formats
            .iter()
            .map(|f| TableWriter::create(dir.join(format!("{}.{}", T::NAME, f.extension())), *f))
            .collect::<Result<Vec<_>>>()?;
        Ok(Tables(writers))
    }

    fn write(&mut self, rows: &[T]) -> Result<()> {
        for w in &mut self.0 {
            w.write_all(rows)?;
        }
        Ok(())
    }

    /// Finish every file; record its rows under the table's name.
    fn finish(self, counts: &mut BTreeMap<String, u64>, files: &mut Vec<PathBuf>) -> Result<()> {
        for w in self.0 {
            files.push(w.path().to_path_buf());
            let rows = w.finish()?;
            counts.insert(T::NAME.to_string(), rows);
        }
        Ok(())
    }
}

struct Outputs {
    patients: Tables<crate::clinical::Patient>,
    encounters: Tables<crate::clinical::Encounter>,
    observations: Tables<crate::clinical::Observation>,
    conditions: Tables<crate::clinical::Condition>,
    medications: Tables<crate::clinical::Medication>,
    notes: Tables<crate::clinical::Note>,
    analysis: Tables<AnalysisRow>,
    stays: Tables<StayTruth>,
    phi_spans: Tables<PhiSpan>,
    identifiers: Tables<Identifier>,
    fhir_bundles: Option<AtomicFile>,
    fhir_bulk: BTreeMap<&'static str, AtomicFile>,
    hl7: Option<AtomicFile>,
    legacy: Option<legacy::Writer>,
    out: PathBuf,
    counts: BTreeMap<String, u64>,
}

/// Generate the population described by `opts`; returns the manifest written.
pub fn generate(opts: &GenerateOptions, ui: &Ui) -> Result<Manifest> {
    if opts.patients == 0 {
        return Err(Error::bad_input(
            "--patients",
            None,
            "a number of patients of at least 1",
            "0",
        ));
    }
    let formats = resolve_formats(opts)?;
    let has = |f: &str| formats.iter().any(|x| x == f);
    if has("legacy") && opts.scenario.legacy.is_none() {
        // Refuse rather than write clean silos: without the [legacy] knobs
        // there is nothing to say how messy the systems are.
        return Err(Error::usage(format!(
            "scenario {:?} has no [legacy] section: the legacy silos need its defect rates \
             (use --scenario legacy-messy)",
            opts.scenario.name
        )));
    }
    let mut table_formats = Vec::new();
    if has("csv") {
        table_formats.push(TableFormat::Csv);
    }
    if has("parquet") {
        table_formats.push(TableFormat::Parquet);
    }
    let out = &opts.out;
    std::fs::create_dir_all(out).at(out)?;
    let truth_dir = out.join("truth");
    let csv_only = [TableFormat::Csv];
    let mut analysis_formats = vec![TableFormat::Csv];
    if has("parquet") {
        analysis_formats.push(TableFormat::Parquet);
    }
    let mut o = Outputs {
        patients: Tables::create(out, &table_formats)?,
        encounters: Tables::create(out, &table_formats)?,
        observations: Tables::create(out, &table_formats)?,
        conditions: Tables::create(out, &table_formats)?,
        medications: Tables::create(out, &table_formats)?,
        notes: Tables::create(out, &table_formats)?,
        analysis: Tables::create(out, &analysis_formats)?,
        stays: Tables::create(&truth_dir, &csv_only)?,
        phi_spans: Tables::create(&truth_dir, &csv_only)?,
        identifiers: Tables::create(&truth_dir, &csv_only)?,
        fhir_bundles: if has("fhir") {
            Some(AtomicFile::create(out.join("fhir").join("bundles.ndjson"))?)
        } else {
            None
        },
        fhir_bulk: BTreeMap::new(),
        hl7: if has("hl7v2") {
            Some(AtomicFile::create(out.join("hl7v2").join("feed.hl7"))?)
        } else {
            None
        },
        legacy: if has("legacy") {
            Some(legacy::Writer::create(out)?)
        } else {
            None
        },
        out: out.clone(),
        counts: BTreeMap::new(),
    };

    let population = Population::new(&opts.scenario, opts.seed);
    let shard = opts.shard.unwrap_or(Shard { index: 0, count: 1 });
    let indices: Vec<u64> = (0..opts.patients).filter(|i| shard.contains(*i)).collect();
    let mut progress = ui.progress(indices.len() as u64, "patients");
    let mut risks: Vec<f64> = Vec::new();
    let mut labels: Vec<u8> = Vec::new();
    let mut stays_total = 0u64;
    let mut deaths = 0u64;
    let want_fhir = has("fhir");
    let want_hl7 = has("hl7v2");
    let want_legacy = has("legacy");
    for chunk in indices.chunks(CHUNK) {
        let made: Vec<Made> = chunk
            .par_iter()
            .map(|&i| make(&population, i, want_fhir, want_hl7, want_legacy))
            .collect();
        for m in &made {
            let truth: BTreeMap<&str, f64> = m
                .clean
                .truth
                .iter()
                .map(|t| (t.encounter_id.as_str(), t.true_risk))
                .collect();
            for r in &m.rows {
                if let Some(risk) = truth.get(r.stay_id.as_str()) {
                    risks.push(*risk);
                    labels.push(r.readmit_30d);
                }
            }
            stays_total += m.clean.truth.len() as u64;
            deaths += m
                .clean
                .truth
                .iter()
                .map(|t| u64::from(t.died_in_hospital))
                .sum::<u64>();
            write_patient(&mut o, m)?;
        }
        progress.inc(chunk.len() as u64);
    }
    progress.finish();

    let mut files = Vec::new();
    let mut counts = std::mem::take(&mut o.counts);
    o.patients.finish(&mut counts, &mut files)?;
    o.encounters.finish(&mut counts, &mut files)?;
    o.observations.finish(&mut counts, &mut files)?;
    o.conditions.finish(&mut counts, &mut files)?;
    o.medications.finish(&mut counts, &mut files)?;
    o.notes.finish(&mut counts, &mut files)?;
    o.analysis.finish(&mut counts, &mut files)?;
    o.stays.finish(&mut counts, &mut files)?;
    o.phi_spans.finish(&mut counts, &mut files)?;
    o.identifiers.finish(&mut counts, &mut files)?;
    if let Some(f) = o.fhir_bundles.take() {
        files.push(f.path().to_path_buf());
        f.commit()?;
    }
    for (_, f) in std::mem::take(&mut o.fhir_bulk) {
        files.push(f.path().to_path_buf());
        f.commit()?;
    }
    if let Some(f) = o.hl7.take() {
        files.push(f.path().to_path_buf());
        f.commit()?;
    }
    if let Some(w) = o.legacy.take() {
        let (written, legacy_counts) = w.finish()?;
        files.extend(written);
        counts.extend(legacy_counts);
    }

    let mut manifest = Manifest::new("generate");
    manifest.seed = Some(opts.seed);
    manifest.inputs.insert(
        format!("scenario:{}", opts.scenario.name),
        crate::artifact::sha256_hex(opts.scenario_text.as_bytes()),
    );
    manifest.counts = counts;
    manifest.counts.insert("stays_total".into(), stays_total);
    manifest
        .counts
        .insert("index_stays".into(), labels.len() as u64);
    manifest.counts.insert("in_hospital_deaths".into(), deaths);
    for path in files {
        let rel = path
            .strip_prefix(out)
            .unwrap_or(&path)
            .to_string_lossy()
            .replace('\\', "/");
        manifest.files.insert(rel, sha256_file(&path)?);
    }
    let positives = labels.iter().map(|l| u64::from(*l)).sum::<u64>();
    let prevalence = if labels.is_empty() {
        None
    } else {
        Some(positives as f64 / labels.len() as f64)
    };
    let d = &mut manifest.details;
    d.insert("scenario".into(), json!(opts.scenario.name));
    d.insert("patients".into(), json!(opts.patients));
    d.insert("shard".into(), json!(opts.shard));
    d.insert("patients_in_output".into(), json!(indices.len()));
    d.insert("formats".into(), json!(formats));
    d.insert(
        "window".into(),
        json!({"start": opts.scenario.window.start, "end": opts.scenario.window.end}),
    );
    d.insert(
        "data_end".into(),
        json!(crate::clinical::format_datetime(&population.data_end)),
    );
    d.insert(
        "readmission_prevalence".into(),
        json!(prevalence.map(round4)),
    );
    d.insert(
        "bayes_auroc".into(),
        json!(auroc(&risks, &labels).map(round4)),
    );
    d.insert(
        "mean_true_risk".into(),
        json!(if risks.is_empty() {
            None
        } else {
            Some(round4(risks.iter().sum::<f64>() / risks.len() as f64))
        }),
    );
    manifest.write(out)?;
    Ok(manifest)
}

fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

/// The formats to write: the flag's list, or the scenario's default.
fn resolve_formats(opts: &GenerateOptions) -> Result<Vec<String>> {
    let list = if opts.formats.is_empty() {
        opts.scenario.formats.clone()
    } else {
        opts.formats.clone()
    };
    let mut out: Vec<String> = Vec::new();
    for f in list {
        let f = f.trim().to_ascii_lowercase();
        if !super::scenario::FORMATS.contains(&f.as_str()) {
            return Err(Error::bad_input(
                "--formats",
                None,
                format!("formats among {}", super::scenario::FORMATS.join(", ")),
                f,
            ));
        }
        if !out.contains(&f) {
            out.push(f);
        }
    }
    out.sort_by_key(|f| super::scenario::FORMATS.iter().position(|x| x == f));
    Ok(out)
}

/// Make one patient and encode what can be encoded in parallel.
fn make(pop: &Population, index: u64, want_fhir: bool, want_hl7: bool, want_legacy: bool) -> Made {
    let mut clean = pop.patient(index);
    notes::add_notes(pop, index, &mut clean);
    let rows = match &clean.patient {
        Some(p) => analysis_rows(
            &PatientRecords {
                patient: p,
                encounters: &clean.encounters,
                observations: &clean.observations,
                conditions: &clean.conditions,
                medications: &clean.medications,
            },
            pop.data_end,
        ),
        None => Vec::new(),
    };
    let exported = if site::is_canonical(pop.scenario) {
        clean.clone()
    } else {
        site::present(&clean, pop.scenario)
    };
    let identifiers = clean.patient.as_ref().map(identifiers).unwrap_or_default();
    let fhir_bundle = want_fhir.then(|| fhir::bundle(&exported).to_string());
    let fhir_bulk = if want_fhir {
        fhir::resources(&exported)
            .into_iter()
            .map(|(t, v)| (t, v.to_string()))
            .collect()
    } else {
        Vec::new()
    };
    let hl7 = if want_hl7 {
        hl7v2::messages(&exported, &pop.scenario.population.site)
    } else {
        Vec::new()
    };
    let legacy = want_legacy.then(|| legacy::silos(pop, index, &clean));
    Made {
        clean,
        exported,
        rows,
        identifiers,
        fhir_bundle,
        fhir_bulk,
        hl7,
        legacy,
    }
}

fn write_patient(o: &mut Outputs, m: &Made) -> Result<()> {
    let e = &m.exported;
    if let Some(p) = &e.patient {
        o.patients.write(std::slice::from_ref(p))?;
    }
    o.encounters.write(&e.encounters)?;
    o.observations.write(&e.observations)?;
    o.conditions.write(&e.conditions)?;
    o.medications.write(&e.medications)?;
    o.notes.write(&e.notes)?;
    o.analysis.write(&m.rows)?;
    o.stays.write(&m.clean.truth)?;
    o.phi_spans.write(&m.clean.phi_spans)?;
    o.identifiers.write(&m.identifiers)?;
    if let (Some(f), Some(b)) = (o.fhir_bundles.as_mut(), &m.fhir_bundle) {
        // the formats helper's stub returns null: write only real bundles
        if b != "null" {
            writeln!(f, "{b}").at(f.path())?;
            *o.counts.entry("fhir_bundles".into()).or_default() += 1;
        }
    }
    for (kind, line) in &m.fhir_bulk {
        let f = match o.fhir_bulk.entry(kind) {
            std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::btree_map::Entry::Vacant(v) => v.insert(AtomicFile::create(
                o.out
                    .join("fhir")
                    .join("bulk")
                    .join(format!("{kind}.ndjson")),
            )?),
        };
        writeln!(f, "{line}").at(f.path())?;
        *o.counts.entry(format!("fhir_{kind}")).or_default() += 1;
    }
    if let (Some(w), Some(s)) = (o.legacy.as_mut(), &m.legacy) {
        w.write(s)?;
    }
    if let Some(f) = o.hl7.as_mut() {
        for msg in &m.hl7 {
            // segments end in CR; a newline between messages keeps the file
            // readable in an editor and is ignored by HL7 parsers
            f.write_all(msg.as_bytes()).at(f.path())?;
            f.write_all(b"\n").at(f.path())?;
            *o.counts.entry("hl7v2_messages".into()).or_default() += 1;
        }
    }
    Ok(())
}

/// Every direct identifier value of a patient (truth for the PHI scanner).
pub fn identifiers(p: &crate::clinical::Patient) -> Vec<Identifier> {
    let id = |kind: &str, value: String| Identifier {
        patient_id: p.patient_id.clone(),
        kind: kind.into(),
        value,
    };
    vec![
        id("name", format!("{} {}", p.given_name, p.family_name)),
        id("given_name", p.given_name.clone()),
        id("family_name", p.family_name.clone()),
        id("mrn", p.mrn.clone()),
        id("birth_date", p.birth_date.to_string()),
        id("address", p.address_line.clone()),
        id("city", p.city.clone()),
        id("zip", p.zip.clone()),
        id("phone", p.phone.clone()),
        id("email", p.email.clone()),
        id("ssn", p.ssn.clone()),
    ]
}
