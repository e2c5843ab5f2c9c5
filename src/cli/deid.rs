//! `carelab deid`, `carelab scan-phi` and `carelab audit verify`.

use std::path::PathBuf;

use carelab::audit;
use carelab::deid::{self, roles::RoleMap, scan, Mode, Options};
use carelab::error::{Error, Result};
use carelab::ui::Ui;

#[derive(Debug, clap::Args)]
pub struct DeidArgs {
    /// Folder of clean CSV tables (patients.csv, encounters.csv, notes.csv, ...).
    #[arg(long = "in")]
    pub input: PathBuf,
    /// Folder for the de-identified tables and the report.
    #[arg(long = "out")]
    pub output: PathBuf,
    #[arg(long, value_enum)]
    pub mode: Mode,
    /// Secret key (64+ hex digits); must not lie inside --out.
    #[arg(long)]
    pub key_file: PathBuf,
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
    /// Audit log (default OUT/audit.jsonl).
    #[arg(long)]
    pub audit: Option<PathBuf>,
    /// Reference date for ages, YYYY-MM-DD (default: latest date in the data).
    #[arg(long)]
    pub as_of: Option<String>,
}

pub fn run_deid(a: DeidArgs, ui: &Ui) -> Result<u8> {
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
    let opts = Options {
        input: a.input,
        output: a.output,
        mode: a.mode,
        key_file: a.key_file,
        roles,
        quasi: a.quasi.into_iter().filter(|q| !q.is_empty()).collect(),
        sensitive: a.sensitive,
        k: a.k,
        suppress: a.suppress,
        truth: a.truth,
        audit: a.audit,
        as_of,
        max_shift_days: 180,
    };
    let report = deid::run(&opts, ui)?;
    ui.result(&report, || deid::dataset::markdown(&report));
    Ok(0)
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
