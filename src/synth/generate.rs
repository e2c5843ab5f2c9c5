//! `data generate`: make a population and stream it into every format.
//!
//! Patients are made in runs of 32 by one worker per core and written in
//! index order, so the output is byte-identical whatever the thread count,
//! and memory stays bounded by the runs made ahead of the writer whatever
//! the population size. A shard makes
//! the patients whose index is congruent to `I` modulo `N`: the shards of a
//! population are disjoint and their union is the whole.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};

use serde_json::json;

use super::population::{Population, Spare};
use super::scenario::Scenario;
use super::truth::auroc;
use super::{legacy, notes, site};
use crate::artifact::{AtomicFile, Manifest, Written};
use crate::clinical::analysis::{index_discharge, readmitted_within_30d};
use crate::clinical::{AnalysisRow, Encounter, PatientBundle, PhiSpan, StayTruth};
use crate::error::{Error, IoContext, Result};
use crate::formats::table::{CsvRows, Identifier, Table, TableFormat, TableWriter};
use crate::formats::{fhir, hl7v2};
use crate::ui::Ui;

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

/// Patients made per parallel task: small enough to balance the threads,
/// large enough that encoding buffers are reused across patients.
const TASK: usize = 32;

/// How many runs of TASK patients the workers may be ahead of the writer.
const AHEAD: usize = 96;

/// Where the writer is, for workers that must not run too far ahead of it.
#[derive(Default)]
struct Gate {
    /// Runs written so far, and whether the writer stopped.
    state: Mutex<(usize, bool)>,
    moved: Condvar,
}

impl Gate {
    /// Wait until run `k` is less than AHEAD runs past the writer; false
    /// when the writer stopped.
    fn wait_for(&self, k: usize) -> bool {
        let Ok(mut state) = self.state.lock() else {
            return false;
        };
        while k >= state.0 + AHEAD && !state.1 {
            state = match self.moved.wait(state) {
                Ok(state) => state,
                Err(_) => return false,
            };
        }
        !state.1
    }

    fn advance(&self, written: usize) {
        if let Ok(mut state) = self.state.lock() {
            state.0 = written;
        }
        self.moved.notify_all();
    }

    fn stop(&self) {
        if let Ok(mut state) = self.state.lock() {
            state.1 = true;
        }
        self.moved.notify_all();
    }
}

/// What the manifest says of the outcome: of a batch's patients, and
/// summed over the written batches.
#[derive(Default)]
struct Tally {
    /// True risk and label of every index stay, for prevalence and AUROC.
    risks: Vec<f64>,
    labels: Vec<u8>,
    stays_total: u64,
    deaths: u64,
}

impl Tally {
    fn add(&mut self, more: &Tally) {
        self.risks.extend_from_slice(&more.risks);
        self.labels.extend_from_slice(&more.labels);
        self.stays_total += more.stays_total;
        self.deaths += more.deaths;
    }

    fn clear(&mut self) {
        self.risks.clear();
        self.labels.clear();
        self.stays_total = 0;
        self.deaths = 0;
    }
}

/// Which outputs to make for every patient.
#[derive(Debug, Clone, Copy)]
struct Wants {
    tables: bool,
    fhir: bool,
    hl7: bool,
    legacy: bool,
}

/// The rows of every table, encoded as CSV by the workers.
#[derive(Default)]
struct Encoded {
    patients: CsvRows,
    encounters: CsvRows,
    observations: CsvRows,
    conditions: CsvRows,
    medications: CsvRows,
    notes: CsvRows,
    analysis: CsvRows,
    stays: CsvRows,
    phi_spans: CsvRows,
    identifiers: CsvRows,
}

impl Encoded {
    fn clear(&mut self) {
        for rows in [
            &mut self.patients,
            &mut self.encounters,
            &mut self.observations,
            &mut self.conditions,
            &mut self.medications,
            &mut self.notes,
            &mut self.analysis,
            &mut self.stays,
            &mut self.phi_spans,
            &mut self.identifiers,
        ] {
            rows.clear();
        }
    }
}

impl Batch {
    /// Empty it for reuse, keeping the memory.
    fn clear(&mut self) {
        self.rows.clear();
        self.fhir_bundles.clear();
        self.fhir_bulk.clear();
        self.hl7.clear();
        self.legacy.clear();
        self.outcome.clear();
    }
}

/// A run of consecutive patients, made and encoded (the parallel part of
/// the work); the writer only appends its bytes in order.
#[derive(Default)]
struct Batch {
    rows: Encoded,
    fhir_bundles: Vec<String>,
    fhir_bulk: Vec<(&'static str, String)>,
    hl7: Vec<String>,
    legacy: Vec<legacy::Silos>,
    outcome: Tally,
    /// The identifier rows of the last patient, overwritten by the next.
    identifiers: Vec<Identifier>,
    /// Records of written patients, filled again by the next ones.
    spare: Spare,
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

    fn write(&mut self, rows: &CsvRows) -> Result<()> {
        for w in &mut self.0 {
            w.write_encoded(rows)?;
        }
        Ok(())
    }

    /// Finish every file; record its rows under the table's name and its
    /// checksum under its path.
    fn finish(self, counts: &mut BTreeMap<String, u64>, files: &mut Written) -> Result<()> {
        for w in self.0 {
            counts.insert(T::NAME.to_string(), w.rows());
            let path = w.path().to_path_buf();
            files.push((path, w.finish()?));
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
    let wants = Wants {
        tables: !table_formats.is_empty(),
        fhir: has("fhir"),
        hl7: has("hl7v2"),
        legacy: has("legacy"),
    };
    // written batches come back here to be filled again: their buffers
    // keep their capacity instead of growing from nothing every run
    let pool: Mutex<Vec<Batch>> = Mutex::new(Vec::new());
    // Workers take the runs of patients in index order, each the next one
    // not taken, and this thread writes them in index order as they
    // arrive: no thread waits for another's run to finish, and a worker
    // waits only when it is AHEAD runs before the writer, which bounds
    // memory while a write waits for the disk.
    let runs: Vec<&[u64]> = indices.chunks(TASK).collect();
    let next_run = AtomicUsize::new(0);
    let gate = Gate::default();
    let tally = std::thread::scope(|scope| -> Result<Tally> {
        let (made, arrivals) = std::sync::mpsc::channel::<(usize, Result<Batch>)>();
        // one worker per core, or RAYON_NUM_THREADS, as in every parallel stage
        for _ in 0..rayon::current_num_threads().max(1) {
            let made = made.clone();
            let (runs, next_run, gate, pool, population) =
                (&runs, &next_run, &gate, &pool, &population);
            scope.spawn(move || loop {
                let k = next_run.fetch_add(1, Ordering::Relaxed);
                if k >= runs.len() || !gate.wait_for(k) {
                    break;
                }
                let batch = make_batch(population, runs[k], wants, pool);
                if made.send((k, batch)).is_err() {
                    break;
                }
            });
        }
        drop(made);
        let write_in_order = || -> Result<Tally> {
            let mut tally = Tally::default();
            let mut early = BTreeMap::new();
            let mut next = 0;
            for (k, batch) in arrivals {
                early.insert(k, batch);
                while let Some(batch) = early.remove(&next) {
                    let batch = batch?;
                    tally.add(&batch.outcome);
                    write_batch(&mut o, &batch)?;
                    progress.inc(runs[next].len() as u64);
                    next += 1;
                    gate.advance(next);
                    if let Ok(mut p) = pool.lock() {
                        p.push(batch);
                    }
                }
            }
            if next < runs.len() {
                return Err(Error::failure(format!(
                    "data generate: a worker stopped after {next} of {} runs of patients",
                    runs.len()
                )));
            }
            Ok(tally)
        };
        let written = write_in_order();
        // on an error, workers waiting for the writer must not wait forever
        gate.stop();
        written
    })?;
    progress.finish();
    let Tally {
        risks,
        labels,
        stays_total,
        deaths,
    } = tally;

    let mut files = Written::new();
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
    let bulk = std::mem::take(&mut o.fhir_bulk).into_values();
    for f in o
        .fhir_bundles
        .take()
        .into_iter()
        .chain(bulk)
        .chain(o.hl7.take())
    {
        let path = f.path().to_path_buf();
        files.push((path, f.commit()?));
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
    for (path, sha256) in files {
        let rel = path
            .strip_prefix(out)
            .unwrap_or(&path)
            .to_string_lossy()
            .replace('\\', "/");
        manifest.files.insert(rel, sha256);
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

/// The analysis rows of a patient from the features drawn at each
/// discharge: its index stays in discharge order, labelled, exactly as
/// `analysis_rows` makes them from the records (a test holds them equal),
/// without computing every stay's features a second time.
fn index_rows(
    clean: &PatientBundle,
    features: Vec<AnalysisRow>,
    data_end: chrono::NaiveDateTime,
) -> Vec<AnalysisRow> {
    let mut rows: Vec<(chrono::NaiveDateTime, &Encounter, AnalysisRow)> = clean
        .encounters
        .iter()
        .zip(features)
        .filter(|(stay, row)| stay.encounter_id == row.stay_id)
        .filter_map(|(stay, row)| Some((index_discharge(stay, data_end)?, stay, row)))
        .collect();
    rows.sort_by(|(a_end, a, _), (b_end, b, _)| {
        (a_end, &a.encounter_id).cmp(&(b_end, &b.encounter_id))
    });
    rows.into_iter()
        .map(|(discharge, stay, mut row)| {
            row.readmit_30d = u8::from(readmitted_within_30d(&clean.encounters, stay, discharge));
            row
        })
        .collect()
}

/// Make and encode the patients `ids`, in order, into a batch from `pool`
/// (its buffers already grown by earlier chunks).
fn make_batch(
    pop: &Population,
    ids: &[u64],
    wants: Wants,
    pool: &Mutex<Vec<Batch>>,
) -> Result<Batch> {
    let mut batch = pool
        .lock()
        .ok()
        .and_then(|mut p| p.pop())
        .unwrap_or_default();
    batch.clear();
    for &index in ids {
        add_patient(pop, index, wants, &mut batch)?;
    }
    Ok(batch)
}

/// Make one patient and append everything it contributes to `batch`.
fn add_patient(pop: &Population, index: u64, wants: Wants, batch: &mut Batch) -> Result<()> {
    let (mut clean, features) = pop.patient_reusing(index, &mut batch.spare);
    notes::add_notes(pop, index, &mut clean);
    let rows = index_rows(&clean, features, pop.data_end);
    for r in &rows {
        let truth = clean.truth.iter().find(|t| t.encounter_id == r.stay_id);
        if let Some(t) = truth {
            batch.outcome.risks.push(t.true_risk);
            batch.outcome.labels.push(r.readmit_30d);
        }
    }
    batch.outcome.stays_total += clean.truth.len() as u64;
    batch.outcome.deaths += clean
        .truth
        .iter()
        .map(|t| u64::from(t.died_in_hospital))
        .sum::<u64>();

    // the site's view of the records; the canonical site exports them as is
    let presented =
        (!site::is_canonical(pop.scenario)).then(|| site::present(&clean, pop.scenario));
    let exported = presented.as_ref().unwrap_or(&clean);
    let enc = &mut batch.rows;
    if wants.tables {
        enc.patients.extend(exported.patient.iter())?;
        enc.encounters.extend(&exported.encounters)?;
        enc.observations.extend(&exported.observations)?;
        enc.conditions.extend(&exported.conditions)?;
        enc.medications.extend(&exported.medications)?;
        enc.notes.extend(&exported.notes)?;
    }
    enc.analysis.extend(&rows)?;
    enc.stays.extend(&clean.truth)?;
    enc.phi_spans.extend(&clean.phi_spans)?;
    if let Some(p) = &clean.patient {
        identifiers(p, &mut batch.identifiers);
        enc.identifiers.extend(&batch.identifiers)?;
    }
    if wants.fhir {
        batch.fhir_bundles.push(fhir::bundle(exported).to_string());
        batch.fhir_bulk.extend(
            fhir::resources(exported)
                .into_iter()
                .map(|(t, v)| (t, v.to_string())),
        );
    }
    if wants.hl7 {
        batch
            .hl7
            .extend(hl7v2::messages(exported, &pop.scenario.population.site));
    }
    if wants.legacy {
        batch.legacy.push(legacy::silos(pop, index, &clean));
    }
    batch.spare.recycle(clean);
    Ok(())
}

fn write_batch(o: &mut Outputs, b: &Batch) -> Result<()> {
    let e = &b.rows;
    o.patients.write(&e.patients)?;
    o.encounters.write(&e.encounters)?;
    o.observations.write(&e.observations)?;
    o.conditions.write(&e.conditions)?;
    o.medications.write(&e.medications)?;
    o.notes.write(&e.notes)?;
    o.analysis.write(&e.analysis)?;
    o.stays.write(&e.stays)?;
    o.phi_spans.write(&e.phi_spans)?;
    o.identifiers.write(&e.identifiers)?;
    if let Some(f) = o.fhir_bundles.as_mut() {
        for bundle in &b.fhir_bundles {
            // the formats helper's stub returns null: write only real bundles
            if bundle != "null" {
                writeln!(f, "{bundle}").at(f.path())?;
                *o.counts.entry("fhir_bundles".into()).or_default() += 1;
            }
        }
    }
    for (kind, line) in &b.fhir_bulk {
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
    if let Some(w) = o.legacy.as_mut() {
        for s in &b.legacy {
            w.write(s)?;
        }
    }
    if let Some(f) = o.hl7.as_mut() {
        for msg in &b.hl7 {
            // segments end in CR; a newline between messages keeps the file
            // readable in an editor and is ignored by HL7 parsers
            f.write_all(msg.as_bytes()).at(f.path())?;
            f.write_all(b"\n").at(f.path())?;
            *o.counts.entry("hl7v2_messages".into()).or_default() += 1;
        }
    }
    Ok(())
}

/// Every direct identifier value of a patient (truth for the PHI scanner),
/// written over the rows already in `rows`: their strings keep their memory
/// from one patient to the next.
fn identifiers(p: &crate::clinical::Patient, rows: &mut Vec<Identifier>) {
    let birth_date = crate::clinical::iso::date_ascii(&p.birth_date)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_else(|| p.birth_date.to_string());
    let values: [(&str, &[&str]); 11] = [
        ("name", &[&p.given_name, " ", &p.family_name]),
        ("given_name", &[&p.given_name]),
        ("family_name", &[&p.family_name]),
        ("mrn", &[&p.mrn]),
        ("birth_date", &[&birth_date]),
        ("address", &[&p.address_line]),
        ("city", &[&p.city]),
        ("zip", &[&p.zip]),
        ("phone", &[&p.phone]),
        ("email", &[&p.email]),
        ("ssn", &[&p.ssn]),
    ];
    rows.resize_with(values.len(), || Identifier {
        patient_id: String::new(),
        kind: String::new(),
        value: String::new(),
    });
    for (row, (kind, parts)) in rows.iter_mut().zip(values) {
        row.patient_id.clone_from(&p.patient_id);
        row.kind.clear();
        row.kind.push_str(kind);
        row.value.clear();
        for part in parts {
            row.value.push_str(part);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clinical::analysis::{analysis_rows, PatientRecords};

    #[test]
    fn index_rows_are_the_analysis_rows_of_the_records() {
        for name in ["baseline", "drift-2025"] {
            let scenario = Scenario::load(name).unwrap();
            let pop = Population::new(&scenario, 9);
            let mut compared = 0;
            for index in 0..300 {
                let (clean, features) = pop.patient_with_features(index);
                assert_eq!(features.len(), clean.encounters.len());
                let Some(patient) = &clean.patient else {
                    continue;
                };
                let expected = analysis_rows(
                    &PatientRecords {
                        patient,
                        encounters: &clean.encounters,
                        observations: &clean.observations,
                        conditions: &clean.conditions,
                        medications: &clean.medications,
                    },
                    pop.data_end,
                );
                compared += expected.len();
                assert_eq!(index_rows(&clean, features, pop.data_end), expected);
            }
            assert!(compared > 150, "{name}: only {compared} rows compared");
        }
    }
}
