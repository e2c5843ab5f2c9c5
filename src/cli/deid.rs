//! `carelab deid`, `carelab scan-phi` and `carelab audit verify`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use carelab::audit;
use carelab::deid::corpus::NotesScore;
use carelab::deid::detector::Detector;
use carelab::deid::detector_train::{NoteSet, TrainOptions};
use carelab::deid::scrub::KindScore;
use carelab::deid::{self, roles::RoleMap, scan, Mode, Options};
use carelab::error::{Error, Result};
use carelab::formats::table::TableFormat;
use carelab::ui::Ui;

/// Table formats `deid --format` writes.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum OutputFormat {
    Csv,
    Parquet,
}

#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct DeidArgs {
    #[command(subcommand)]
    pub command: Option<DeidCommand>,
    /// Folder of clean tables, CSV or Parquet (patients, encounters, notes, ...).
    #[arg(long = "in", required = true)]
    pub input: Option<PathBuf>,
    /// Folder for the de-identified tables and the report.
    #[arg(long = "out", required = true)]
    pub output: Option<PathBuf>,
    #[arg(long, value_enum, required = true)]
    pub mode: Option<Mode>,
    /// Secret pseudonym key (64+ hex digits), for --mode limited and
    /// pseudonymize; must not lie inside --out. Safe Harbor uses none.
    #[arg(long)]
    pub key_file: Option<PathBuf>,
    /// Safe Harbor: where to write the crosswalk from the random surrogate
    /// ids back to the original ids (the covered entity's
    /// re-identification table, never released); must not lie inside
    /// --out. Default: OUT-crosswalk.csv beside the --out folder.
    #[arg(long)]
    pub crosswalk: Option<PathBuf>,
    /// Quasi-identifiers for the k-anonymity report (age_band, zip3 or any patients column).
    #[arg(long, value_delimiter = ',', default_value = "age_band,sex,zip3")]
    pub quasi: Vec<String>,
    /// Sensitive column for l-diversity.
    #[arg(long, default_value = "payer")]
    pub sensitive: String,
    #[arg(long, default_value_t = 5)]
    pub k: u64,
    /// Drop patients (and all their rows) in classes smaller than k.
    #[arg(long)]
    pub suppress: bool,
    /// Ground-truth PHI spans (truth/phi_spans.csv) to score note scrubbing.
    #[arg(long)]
    pub truth: Option<PathBuf>,
    /// Column roles override: TOML with a [columns] table.
    #[arg(long)]
    pub roles: Option<PathBuf>,
    /// In safe-harbor mode, write the output even though the role overrides
    /// keep identifiers; it is then marked NOT Safe Harbor, with the list.
    #[arg(long)]
    pub allow_not_safe_harbor: bool,
    /// Limited data set: move every date of a patient, in the tables and
    /// inside the notes, by a secret per-patient shift from --key-file
    /// (intervals kept). Default: the real dates, which a limited data set
    /// may keep.
    #[arg(long)]
    pub shift_dates: bool,
    /// This run's own audit log (default OUT/audit.jsonl; none when the
    /// global --audit-log records the run).
    #[arg(long)]
    pub audit: Option<PathBuf>,
    /// Reference date for ages, YYYY-MM-DD (default: latest date in the data).
    #[arg(long)]
    pub as_of: Option<String>,
    /// Output format (default: each table in its input's format); also picks
    /// which copy is read where a table is there as both CSV and Parquet.
    #[arg(long, value_enum)]
    pub format: Option<OutputFormat>,
    /// Scrub notes with the rules alone, without the learned detector
    /// (by default a span the rules or the detector find is removed).
    #[arg(long, conflicts_with = "detector")]
    pub no_detector: bool,
    /// A detector made by `deid train-detector` instead of the one that
    /// ships in datasets/deid-detector/.
    #[arg(long)]
    pub detector: Option<PathBuf>,
}

#[derive(Debug, clap::Subcommand)]
pub enum DeidCommand {
    /// Train the learned note detector (a small token classifier, candle,
    /// CPU) on generated notes whose PHI spans are known, and write it as
    /// safetensors; prints its recall and precision per kind on other
    /// generated patients.
    TrainDetector(TrainDetectorArgs),
}

#[derive(Debug, clap::Args)]
pub struct TrainDetectorArgs {
    /// The model file to write (the shipped one is
    /// datasets/deid-detector/detector.safetensors).
    #[arg(long)]
    pub out: PathBuf,
    /// Generated patients whose notes train the model.
    #[arg(long, default_value_t = TrainOptions::default().patients)]
    pub patients: u64,
    /// Further generated patients (other people) to measure it on.
    #[arg(long, default_value_t = TrainOptions::default().validation_patients)]
    pub validation_patients: u64,
    #[arg(long, default_value_t = TrainOptions::default().seed)]
    pub seed: u64,
    #[arg(long, default_value_t = TrainOptions::default().epochs)]
    pub epochs: usize,
    /// A folder of hand-annotated notes (`{{kind|text}}`, the format of
    /// tests/data/deid-dev/) to train on beside the generated notes;
    /// repeatable. A folder marked held out (a HELD-OUT file) is refused.
    #[arg(long = "notes", value_name = "DIR")]
    pub notes: Vec<PathBuf>,
    /// Times each hand-annotated note is seen an epoch.
    #[arg(long, default_value_t = TrainOptions::default().notes_weight)]
    pub notes_weight: usize,
    /// A folder of hand-annotated notes to measure the trained model on,
    /// beside the shipped one (alone and with the rules); repeatable. A
    /// folder marked held out is refused.
    #[arg(long = "score", value_name = "DIR")]
    pub score: Vec<PathBuf>,
}

fn run_train_detector(a: TrainDetectorArgs, ui: &Ui) -> Result<u8> {
    let sets = |dirs: &[PathBuf]| -> Result<Vec<NoteSet>> {
        dirs.iter()
            .map(|dir| {
                Ok(NoteSet {
                    dir: dir.clone(),
                    notes: deid::corpus::load_training_notes(dir)?,
                })
            })
            .collect()
    };
    // a set trained on and scored says how well the model fits it, not how
    // it does on notes it has not seen: say so rather than refuse (a fit
    // can be what the learner wants to see)
    let same = |x: &Path, y: &Path| match (x.canonicalize(), y.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => x == y,
    };
    for s in &a.score {
        if a.notes.iter().any(|n| same(n, s)) {
            ui.warn(format!(
                "train-detector: {} is both trained on (--notes) and scored (--score): \
                 its scores measure the fit, not notes the model has not seen",
                s.display()
            ));
        }
    }
    let opts = TrainOptions {
        patients: a.patients,
        validation_patients: a.validation_patients,
        seed: a.seed,
        epochs: a.epochs,
        notes: sets(&a.notes)?,
        notes_weight: a.notes_weight,
        score: sets(&a.score)?,
        ..TrainOptions::default()
    };
    let (detector, report) = deid::detector_train::train(&opts, ui)?;
    detector.save(&a.out)?;
    ui.info(format!("wrote {}", a.out.display()));
    ui.result(&report, || {
        let mut md = format!(
            "Detector: {} parameters, trained on {} notes ({} tokens, {} in PHI), loss {}\n\n\
             Validation ({} notes of other generated patients), the model alone:\n\n\
             | kind | spans | recall | detected | precision |\n|---|---:|---:|---:|---:|\n",
            report.parameters,
            report.notes,
            report.tokens,
            report.phi_tokens,
            report
                .epoch_loss
                .iter()
                .map(|l| format!("{l:.4}"))
                .collect::<Vec<_>>()
                .join(" -> "),
            report.validation_notes,
        );
        for (k, s) in &report.validation {
            md.push_str(&format!(
                "| {k} | {} | {:.3} | {} | {:.3} |\n",
                s.truth_spans, s.recall, s.detected, s.precision
            ));
        }
        md.push_str("\nHand-annotated note sets trained on:");
        if report.note_sets.is_empty() {
            md.push_str(" none (the generator's notes only)\n");
        } else {
            md.push('\n');
        }
        for s in &report.note_sets {
            md.push_str(&format!(
                "- {}: {} notes, {} tokens ({} in PHI), {} times an epoch\n",
                s.dir.display(),
                s.notes,
                s.tokens,
                s.phi_tokens,
                s.weight
            ));
        }
        for (new, old) in report.scored.iter().zip(&report.scored_shipped) {
            md.push_str(&compare_table(new, old));
        }
        md
    });
    Ok(0)
}

/// Recall per kind and precision of the trained and the shipped model on
/// one set of annotated notes, alone and with the rules.
fn compare_table(new: &NotesScore, old: &NotesScore) -> String {
    let mut md = format!(
        "\nOn {} ({} notes), recall per kind (trained / shipped model):\n\n\
         | kind | spans | model alone | rules + model |\n|---|---:|---:|---:|\n",
        new.dir.display(),
        new.notes
    );
    for (k, s) in &new.rules_and_model {
        let recall = |m: &BTreeMap<String, KindScore>| m.get(k).map_or(0.0, |s| s.recall);
        md.push_str(&format!(
            "| {k} | {} | {:.3} / {:.3} | {:.3} / {:.3} |\n",
            s.truth_spans,
            recall(&new.model),
            recall(&old.model),
            s.recall,
            recall(&old.rules_and_model)
        ));
    }
    let (new_model, old_model) = (
        KindScore::total(new.model.values()),
        KindScore::total(old.model.values()),
    );
    let (new_both, old_both) = (
        KindScore::total(new.rules_and_model.values()),
        KindScore::total(old.rules_and_model.values()),
    );
    md.push_str(&format!(
        "| all | | {:.3} / {:.3} | {:.3} / {:.3} |\n| precision | | {:.3} / {:.3} | {:.3} / {:.3} |\n",
        new_model.recall,
        old_model.recall,
        new_both.recall,
        old_both.recall,
        new_model.precision,
        old_model.precision,
        new_both.precision,
        old_both.precision,
    ));
    md
}

pub fn run_deid(a: DeidArgs, ui: &Ui) -> Result<u8> {
    if let Some(DeidCommand::TrainDetector(t)) = a.command {
        return run_train_detector(t, ui);
    }
    let (Some(input), Some(output), Some(mode)) = (a.input, a.output, a.mode) else {
        return Err(Error::usage("deid needs --in, --out and --mode"));
    };
    let detector = match (&a.detector, a.no_detector) {
        (_, true) => None,
        (Some(p), false) => Some(std::sync::Arc::new(Detector::load(p)?)),
        (None, false) => Some(Detector::builtin()?),
    };
    let roles = match &a.roles {
        Some(p) => RoleMap::from_toml(p)?,
        None => RoleMap::default(),
    };
    let as_of = match &a.as_of {
        Some(s) => Some(
            chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map_err(|_| Error::bad_input("--as-of", None, "a date YYYY-MM-DD", s.clone()))?,
        ),
        None => None,
    };
    if a.k == 0 {
        return Err(Error::usage("--k must be at least 1"));
    }
    let audit = a
        .audit
        .or_else(|| (!session_log_active()).then(|| output.join("audit.jsonl")));
    if mode == Mode::SafeHarbor && a.key_file.is_some() {
        ui.warn(
            "--key-file is not used under --mode safe-harbor: its ids are random surrogates, derived from nothing about the patient",
        );
    }
    let crosswalk = match (mode, a.crosswalk) {
        (_, Some(c)) => Some(c),
        (Mode::SafeHarbor, None) => Some(default_crosswalk(&output)),
        _ => None,
    };
    let opts = Options {
        input,
        output,
        mode,
        key_file: a.key_file,
        crosswalk,
        roles,
        quasi: a.quasi.into_iter().filter(|q| !q.is_empty()).collect(),
        sensitive: a.sensitive,
        k: a.k,
        suppress: a.suppress,
        truth: a.truth,
        audit,
        as_of,
        max_shift_days: 180,
        shift_dates: a.shift_dates,
        allow_not_safe_harbor: a.allow_not_safe_harbor,
        format: a.format.map(|f| match f {
            OutputFormat::Csv => TableFormat::Csv,
            OutputFormat::Parquet => TableFormat::Parquet,
        }),
        detector,
    };
    let report = deid::run(&opts, ui)?;
    ui.result(&report, || deid::dataset::markdown(&report));
    Ok(0)
}

/// `OUT-crosswalk.csv` beside the output folder: outside it, so that
/// copying the folder never carries the crosswalk along.
fn default_crosswalk(out: &Path) -> PathBuf {
    let abs = std::path::absolute(out).unwrap_or_else(|_| out.to_path_buf());
    let name = abs
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "deid".into());
    abs.with_file_name(format!("{name}-crosswalk.csv"))
}

#[derive(Debug, clap::Args)]
pub struct ScanPhiArgs {
    /// Files or folders to scan.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Known identifiers (truth/identifiers.csv) to look for exactly.
    #[arg(long)]
    pub known: Option<PathBuf>,
}

pub fn run_scan(a: ScanPhiArgs, ui: &Ui) -> Result<u8> {
    let r = scan::scan(&a.paths, a.known.as_deref())?;
    ui.result(&r, || {
        let mut s = String::new();
        for f in &r.findings {
            s.push_str(&format!(
                "{}:{}: {}: {}\n",
                f.file, f.line, f.column, f.kind
            ));
        }
        s.push_str(&format!(
            "{} files, {} values scanned: {} findings {:?}\n",
            r.files_scanned, r.cells_scanned, r.findings_total, r.by_kind
        ));
        if !r.skipped_artifacts.is_empty() {
            s.push_str(&format!(
                "not scanned, CareLab's own records (name a file to scan it): {}\n",
                r.skipped_artifacts.join(", ")
            ));
        }
        s
    });
    Ok(u8::from(r.findings_total > 0))
}

#[derive(Debug, clap::Subcommand)]
pub enum AuditCommand {
    /// Check the hash chain and the head anchor of an audit log.
    Verify {
        /// The log (JSON Lines); its anchor is LOG.head.
        log: PathBuf,
    },
}

pub fn run_audit(c: AuditCommand, ui: &Ui) -> Result<u8> {
    match c {
        AuditCommand::Verify { log } => {
            let v = audit::verify(&log)?;
            ui.result(&v, || match &v.problem {
                None => format!("ok: {} records", v.records),
                Some(p) => format!("FAILED after {} good records: {p}", v.records),
            });
            Ok(u8::from(!v.ok))
        }
    }
}

/// Verbs that read or write patient data, with their FHIR AuditEvent action
/// (C create, R read, E execute). Only these are audited by the wrapper.
const AUDITED: &[(&str, &str)] = &[
    ("data generate", "C"),
    ("ingest", "C"),
    ("deid", "C"),
    ("scan-phi", "R"),
    ("train", "E"),
    ("eval", "R"),
    ("monitor", "R"),
    ("serve", "E"),
    ("lab check", "R"),
];

/// Arguments whose values are paths but never audit entities: the log
/// itself, and the key (its whereabouts stay out of the log).
const NOT_ENTITIES: &[&str] = &["audit_log", "key_file"];

/// Arguments that name what a verb writes; every other path is read.
const OUTPUTS: &[&str] = &["out", "output", "out_dir", "crosswalk"];

/// The log a wrapped verb is recorded into, while it runs: lets `deid`
/// leave its own per-run record to the wrapper.
static ACTIVE_LOG: std::sync::Mutex<Option<PathBuf>> = std::sync::Mutex::new(None);

fn session_log_active() -> bool {
    ACTIVE_LOG.lock().map(|l| l.is_some()).unwrap_or(false)
}

/// One audited invocation: the verb, its action and every path argument.
#[derive(Debug, Clone)]
pub struct AuditedCall {
    log: PathBuf,
    verb: String,
    action: &'static str,
    /// (argument id, value) for every argument value, in order.
    paths: Vec<(String, PathBuf)>,
}

/// The audit record this invocation needs, if `log` is set and the verb
/// touches patient data. Works on clap's matches so that every verb, present
/// and future, is covered by the same code: any path-valued argument that
/// exists when the verb ends becomes an entity.
pub fn audit_call(matches: &clap::ArgMatches, log: Option<&Path>) -> Option<AuditedCall> {
    let log = log?;
    let mut m = matches;
    let mut names = Vec::new();
    while let Some((name, sub)) = m.subcommand() {
        names.push(name.to_string());
        m = sub;
    }
    let verb = names.join(" ");
    let action = AUDITED.iter().find(|(v, _)| *v == verb)?.1;
    let mut paths = Vec::new();
    for id in m.ids() {
        let id = id.as_str();
        if NOT_ENTITIES.contains(&id) {
            continue;
        }
        if let Ok(Some(values)) = m.try_get_raw(id) {
            for v in values {
                paths.push((id.to_string(), PathBuf::from(v)));
            }
        }
    }
    Some(AuditedCall {
        log: log.to_path_buf(),
        verb,
        action,
        paths,
    })
}

/// Run `f` (the verb) between the audit records it needs: one after it ends
/// with the outcome from its exit code, and for `serve` also one when it
/// starts. A record that cannot be written fails the command.
pub fn audited(call: Option<AuditedCall>, f: impl FnOnce() -> Result<u8>) -> Result<u8> {
    let Some(call) = call else {
        return f();
    };
    let log = audit::AuditLog::open(&call.log)?;
    if call.verb == "serve" {
        log.record(call.event("serve start", "0", String::new()))?;
    }
    if let Ok(mut active) = ACTIVE_LOG.lock() {
        *active = Some(call.log.clone());
    }
    let result = f();
    if let Ok(mut active) = ACTIVE_LOG.lock() {
        *active = None;
    }
    let (outcome, detail) = match &result {
        Ok(0) => ("0", "exit 0".to_string()),
        Ok(code) => ("4", format!("exit {code}")),
        // the error text may quote a data value: record its kind only
        Err(e) => ("8", format!("failed: {}", e.kind())),
    };
    let subtype = if call.verb == "serve" {
        "serve stop".to_string()
    } else {
        call.verb.clone()
    };
    log.record(call.event(&subtype, outcome, detail))?;
    result
}

impl AuditedCall {
    fn event(&self, subtype: &str, outcome: &str, detail: String) -> audit::AuditEvent {
        let mut e = audit::AuditEvent::new(
            self.verb.split(' ').next().unwrap_or(""),
            self.action,
            &source(),
        );
        e.subtype = subtype.to_string();
        e.outcome = outcome.to_string();
        e.agent = os_user();
        let mut detail = vec![detail];
        for (id, p) in &self.paths {
            if !p.exists() {
                continue;
            }
            let output = OUTPUTS.contains(&id.as_str());
            // a failed run's output folder may hold an older run's manifest
            if output && outcome != "8" {
                detail.extend(manifest_summary(p));
            }
            e.entities.push(audit::Entity {
                what: p.display().to_string(),
                role: if output { "destination" } else { "source" }.into(),
                checksum: dataset_checksum(p).map(|h| format!("sha256:{h}")),
            });
        }
        e.entity = format!("{} datasets", e.entities.len());
        e.detail = detail
            .into_iter()
            .filter(|d| !d.is_empty())
            .collect::<Vec<_>>()
            .join("; ");
        e
    }
}

/// Who ran it: the operating-system account, from the environment, else
/// from the system's user record of the process's user id (a service or a
/// container often runs with no USER set), never a blank.
fn os_user() -> String {
    ["USER", "USERNAME", "LOGNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
        .or_else(user_of_this_process)
        .unwrap_or_else(|| "an account this system does not name".into())
}

/// The name the user database gives the process's user id (`uid N` when it
/// has none): Unix, where `/proc/self` belongs to the process's user.
#[cfg(unix)]
fn user_of_this_process() -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let uid = std::fs::metadata("/proc/self").ok()?.uid();
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    let named = passwd.lines().find_map(|line| {
        let mut f = line.split(':');
        let (name, _, id) = (f.next()?, f.next()?, f.next()?);
        (id.parse::<u32>().ok()? == uid).then(|| name.to_string())
    });
    Some(named.unwrap_or_else(|| format!("uid {uid}")))
}

#[cfg(not(unix))]
fn user_of_this_process() -> Option<String> {
    None
}

/// Which system recorded it: host and program version.
fn source() -> String {
    let host = sysinfo::System::host_name().unwrap_or_else(|| "unknown-host".into());
    format!("{host} carelab/{}", env!("CARGO_PKG_VERSION"))
}

/// The checksum that names a dataset: its manifest's SHA-256 (a folder with
/// a manifest, or a file its folder's manifest lists), else the file's own.
fn dataset_checksum(p: &Path) -> Option<String> {
    if p.is_dir() {
        let m = p.join("manifest.json");
        return m
            .is_file()
            .then(|| carelab::artifact::sha256_file(&m).ok())
            .flatten();
    }
    let name = p.file_name()?.to_string_lossy().into_owned();
    let manifest = p.parent().map(|d| d.join("manifest.json"));
    if let Some(m) = manifest.filter(|m| m.is_file() && name != "manifest.json") {
        let listed = std::fs::read(&m)
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .is_some_and(|v| v["files"].get(&name).is_some());
        if listed {
            return carelab::artifact::sha256_file(&m).ok();
        }
    }
    carelab::artifact::sha256_file(p).ok()
}

/// What an output's manifest says was made: stage, mode and counts (never
/// values from the data).
fn manifest_summary(p: &Path) -> Option<String> {
    let bytes = std::fs::read(p.join("manifest.json")).ok()?;
    let v: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let mut s = format!(
        "{}: stage={}",
        p.display(),
        v["stage"].as_str().unwrap_or("?")
    );
    if let Some(mode) = v["details"]["mode"].as_str() {
        s.push_str(&format!(" mode={mode}"));
    }
    if let Some(counts) = v["counts"].as_object() {
        let list: Vec<String> = counts
            .iter()
            .filter_map(|(k, n)| n.as_u64().map(|n| format!("{k}={n}")))
            .collect();
        if !list.is_empty() {
            s.push_str(&format!(" counts {}", list.join(",")));
        }
    }
    Some(s)
}
