//! `carelab lab ...`, `carelab workshop ...` and `carelab book`: arguments
//! and printing; the work is in `carelab::labs`.

use std::net::SocketAddr;
use std::path::PathBuf;

use carelab::error::{Error, IoContext, Result};
use carelab::labs::class::{ClassEvent, ClassRoom, EventKind};
use carelab::labs::class_server::{ClassLink, ClassServer};
use carelab::labs::workspace::{SolvePolicy, SolveRequest, Workspace};
use carelab::labs::{book, workshop, Catalog, Lab};
use carelab::ui::Ui;

/// Where the learner's work lives and whose numbers it uses.
#[derive(Debug, Clone, clap::Args)]
pub struct WorkspaceArgs {
    /// The workspace folder (one subfolder a lab, plus progress.json).
    /// Default: the nearest carelab-work/ at or above the current folder.
    #[arg(long, env = "CARELAB_WORKSPACE")]
    pub workspace: Option<PathBuf>,
    /// Your seed: your own dataset and expected values (fixed at first use).
    #[arg(long, env = "CARELAB_SEED")]
    pub seed: Option<u64>,
    /// Your id from the workshop roster (recorded in progress.json).
    #[arg(long, env = "CARELAB_LEARNER")]
    pub learner: Option<String>,
    /// The workshop's rule for `lab solve`, from the setup line on your seed
    /// slip (`locked:HASH` or `catch-up:HASH`; fixed at first use).
    #[arg(long, env = "CARELAB_SOLVE_POLICY")]
    pub solve_policy: Option<SolvePolicy>,
    /// A folder of your own labs (made with `lab new`), listed and run beside the built-in ones; one with a built-in lab's slug replaces it.
    #[arg(long, env = "CARELAB_LABS")]
    pub labs_dir: Option<PathBuf>,
}

/// `carelab lab help N` is "I am stuck", so clap's `help` subcommand is
/// off here (`carelab lab --help` still lists the verbs).
#[derive(Debug, clap::Subcommand)]
#[command(disable_help_subcommand = true)]
pub enum LabCommand {
    /// Every lab, with your progress.
    List(#[command(flatten)] WorkspaceArgs),
    /// A lab's objectives, steps and checks.
    Show(LabArgs),
    /// Create the lab's folder with its starter files and your dataset.
    Start(LabArgs),
    /// Run the lab's checks on your work; exits 1 until all pass.
    Check(LabArgs),
    /// The next hint (one at a time; hints are recorded).
    Hint(LabArgs),
    /// "I am stuck": recorded, and shown on the instructor's class view (CARELAB_CLASS).
    Help(LabArgs),
    /// Put the starter files back (your dataset is kept).
    Reset(LabArgs),
    /// Apply the reference solution for your seed; recorded in your progress (the lab counts as passed with the solution). A workshop may lock it.
    Solve(SolveArgs),
    /// What you have done and the time spent; `--json` gives the file workshop report reads.
    Progress(#[command(flatten)] WorkspaceArgs),
    /// For educators: lay out a new lab (lab.toml, README.md, starter/, solution/) to make your own.
    New(NewLabArgs),
    /// For educators: check a lab as CareLab's own labs are checked (README commands parse, hints, every check fails on the starter and passes on the solution); exits 1 on any problem.
    Verify(VerifyLabArgs),
}

#[derive(Debug, clap::Args)]
pub struct NewLabArgs {
    /// The lab's name, e.g. no-phi-export (numbered after every lab there is) or 20-no-phi-export.
    pub name: String,
    /// The folder of your labs to put it in (default: the current folder).
    #[arg(long, env = "CARELAB_LABS")]
    pub labs_dir: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct VerifyLabArgs {
    /// The lab's folder (the one holding its lab.toml).
    pub dir: PathBuf,
    /// The seed of the trial learner whose dataset the checks run on.
    #[arg(long, default_value_t = 4242)]
    pub seed: u64,
}

#[derive(Debug, clap::Args)]
pub struct LabArgs {
    /// The lab: its number (1), slug (01-data) or name (data).
    pub lab: String,
    #[command(flatten)]
    pub ws: WorkspaceArgs,
}

#[derive(Debug, clap::Args)]
pub struct SolveArgs {
    #[command(flatten)]
    pub lab: LabArgs,
    /// Apply the solution so the next lab can start, where your instructor
    /// allows catching up (recorded, and shown in the report as catch-up).
    #[arg(long)]
    pub catch_up: bool,
    /// The instructor's key, which unlocks `lab solve` in a locked workshop.
    #[arg(long)]
    pub key: Option<String>,
}

fn catalog(ws: &WorkspaceArgs) -> Result<Catalog> {
    Catalog::with_local(ws.labs_dir.as_deref())
}

fn exe() -> Result<PathBuf> {
    std::env::current_exe()
        .map_err(|e| Error::failure(format!("cannot find the carelab executable: {e}")))
}

/// The workspace folder: `--workspace`, or the one found from the current folder.
fn root(ws: &WorkspaceArgs) -> Result<PathBuf> {
    match &ws.workspace {
        Some(dir) => Ok(dir.clone()),
        None => Ok(carelab::labs::workspace::discover(&cwd()?)),
    }
}

/// A path as one word for the shell: quoted when it holds anything but
/// letters, digits and `/._-`.
fn shell_word(path: &std::path::Path) -> String {
    let text = path.display().to_string();
    if text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-".contains(c))
    {
        text
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

fn cwd() -> Result<PathBuf> {
    std::env::current_dir().map_err(|e| Error::failure(format!("no current folder: {e}")))
}

/// Longest a learner's command waits for the class server.
const CLASS_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// Tell the class view what just happened in lab `slug`, when the learner
/// is in one (`CARELAB_CLASS`, or the `class.json` that `lab start` left in
/// the workspace). Never fails the command: a problem is one warning line.
/// `None` without a class view, else whether the event arrived.
fn tell_class(w: &Workspace, slug: &str, kind: EventKind, ui: &Ui) -> Option<bool> {
    let link = match ClassLink::find(&w.root) {
        Ok(Some(link)) => link,
        Ok(None) => return None,
        Err(e) => {
            ui.warn(format!("class view not told: {e}"));
            return Some(false);
        }
    };
    let Some(event) = ClassEvent::from_progress(&w.progress, slug, kind) else {
        ui.warn(
            "class view not told: this workspace has no learner id (give `--learner ID` from your seed slip, or set CARELAB_LEARNER)",
        );
        return Some(false);
    };
    match link.post(&event, CLASS_TIMEOUT) {
        Ok(notice) => {
            if let Some(notice) = notice {
                ui.warn(format!("the class view says: {notice}"));
            }
            Some(true)
        }
        Err(e) => {
            // An address left from another day's class is the likely cause
            // when it came from the workspace rather than the environment.
            let remembered = match ClassLink::from_env() {
                Ok(Some(_)) => String::new(),
                _ => format!(
                    " (the address is from {}; delete it when the class is over)",
                    w.root
                        .join(carelab::labs::class_server::LINK_FILE)
                        .display()
                ),
            };
            ui.warn(format!(
                "class view not told: {e}{remembered}; your work is saved, carry on"
            ));
            Some(false)
        }
    }
}

fn open(ws: &WorkspaceArgs) -> Result<Workspace> {
    let mut w = Workspace::open(&root(ws)?, ws.seed, ws.learner.clone(), &exe()?)?;
    w.set_solve_policy(ws.solve_policy.clone())?;
    Ok(w)
}

/// Open a workspace that must already exist. A progress report from the
/// wrong folder would otherwise be an empty record under the default seed,
/// which `workshop report` reads as a learner who did nothing.
fn open_existing(ws: &WorkspaceArgs) -> Result<Workspace> {
    let root = root(ws)?;
    let file = root.join(carelab::labs::workspace::PROGRESS_FILE);
    if !file.is_file() {
        let place = match &ws.workspace {
            Some(dir) => format!("--workspace {} is not a lab workspace", dir.display()),
            None => format!(
                "{} is not in a lab workspace (none found there or in the folders above it)",
                cwd()?.display()
            ),
        };
        return Err(Error::usage(format!(
            "{place}: expected {}, which `carelab lab start` writes. Run this in your `{}` folder or one of its lab folders, or pass --workspace DIR",
            file.display(),
            carelab::labs::workspace::DEFAULT_DIR,
        )));
    }
    open(ws)
}

pub fn run_lab(args: LabCommand, ui: &Ui) -> Result<u8> {
    match args {
        LabCommand::List(ws) => list(&ws, ui),
        LabCommand::Progress(ws) => progress(&ws, ui),
        LabCommand::New(a) => new_lab(&a, ui),
        LabCommand::Verify(a) => verify_lab(&a, ui),
        LabCommand::Show(a) => {
            let catalog = catalog(&a.ws)?;
            show(catalog.find(&a.lab)?, ui)
        }
        LabCommand::Start(a) => {
            let catalog = catalog(&a.ws)?;
            let lab = catalog.find(&a.lab)?;
            let mut w = open(&a.ws)?;
            if lab.spec.data.is_some() {
                ui.info("Making your dataset (this can take a little while)...");
            }
            let data = w.start(lab)?;
            match ClassLink::from_env() {
                Ok(Some(link)) => {
                    if let Err(e) = link.save(&w.root) {
                        ui.warn(format!("could not remember the class view's address: {e}"));
                    }
                }
                Ok(None) => {}
                Err(e) => ui.warn(e),
            }
            // Where to stand next: the folder, and the `cd` from here (from the
            // previous lab's folder that is `../NN-slug`), so the path between
            // labs never depends on guessing where the learner is.
            let dir = w.lab_dir(&lab.spec);
            let dir = dir.canonicalize().unwrap_or(dir);
            let cd = carelab::labs::workspace::relative_path(&cwd()?, &dir);
            let value = serde_json::json!({
                "lab": lab.spec.slug, "dir": dir, "cd": cd, "seed": w.progress.seed, "data": data,
            });
            if data != "ready" && data != "not needed" {
                ui.warn(&data);
            }
            ui.result(&value, || {
                format!(
                    "Started {} — {}\n  folder  {}\n  seed    {}\n  data    {}\n\nGo there:              cd {}\nRead the instructions: carelab lab show {}\nWhen ready:            carelab lab check {}",
                    lab.spec.slug,
                    lab.spec.title,
                    dir.display(),
                    w.progress.seed,
                    data,
                    shell_word(&cd),
                    lab.spec.number(),
                    lab.spec.number()
                )
            });
            tell_class(&w, &lab.spec.slug, EventKind::Start, ui);
            Ok(0)
        }
        LabCommand::Check(a) => {
            let catalog = catalog(&a.ws)?;
            let lab = catalog.find(&a.lab)?;
            let mut w = open(&a.ws)?;
            let report = w.check(lab)?;
            ui.result(&report, || report.to_text(lab.spec.number()));
            tell_class(&w, &lab.spec.slug, EventKind::Check, ui);
            Ok(if report.complete { 0 } else { 1 })
        }
        LabCommand::Hint(a) => {
            let catalog = catalog(&a.ws)?;
            let lab = catalog.find(&a.lab)?;
            let mut w = open(&a.ws)?;
            let (n, text) = w.hint(lab)?;
            let total = lab.spec.hints.len();
            let value =
                serde_json::json!({ "lab": lab.spec.slug, "hint": n, "of": total, "text": text });
            ui.result(&value, || format!("Hint {n} of {total}: {text}"));
            tell_class(&w, &lab.spec.slug, EventKind::Hint, ui);
            Ok(0)
        }
        LabCommand::Help(a) => {
            let catalog = catalog(&a.ws)?;
            let lab = catalog.find(&a.lab)?;
            let mut w = open(&a.ws)?;
            let n = w.help(lab)?;
            let told = tell_class(&w, &lab.spec.slug, EventKind::Help, ui);
            let number = lab.spec.number();
            let value = serde_json::json!({
                "lab": lab.spec.slug, "help_requests": n, "class_view": told,
            });
            ui.result(&value, || {
                let said = match told {
                    Some(true) => "Your instructor's class view now shows that you are stuck, with the checks you are failing (no data, no answers).",
                    Some(false) => "The class view did not get it (see the warning): raise your hand.",
                    None => "No class view is set up here (CARELAB_CLASS is not set): raise your hand.",
                };
                format!("Help asked for lab {}. {said}\nMeanwhile: `carelab lab check {number}` shows what fails and where to look; `carelab lab hint {number}` gives the next hint.", lab.spec.slug)
            });
            Ok(0)
        }
        LabCommand::Reset(a) => {
            let catalog = catalog(&a.ws)?;
            let lab = catalog.find(&a.lab)?;
            let mut w = open(&a.ws)?;
            w.reset(lab)?;
            let dir = w.lab_dir(&lab.spec);
            ui.result(
                &serde_json::json!({ "lab": lab.spec.slug, "reset": dir }),
                || {
                    format!(
                        "{} is back to its starter files (your dataset was kept).",
                        dir.display()
                    )
                },
            );
            Ok(0)
        }
        LabCommand::Solve(s) => {
            let a = &s.lab;
            let catalog = catalog(&a.ws)?;
            let lab = catalog.find(&a.lab)?;
            let mut w = open(&a.ws)?;
            let req = SolveRequest {
                catch_up: s.catch_up,
                key: s.key.as_deref(),
            };
            w.solve(lab, req)?;
            let dir = w.lab_dir(&lab.spec);
            let how = if s.catch_up {
                "caught up with the solution"
            } else {
                "passed with the solution"
            };
            ui.result(
                &serde_json::json!({ "lab": lab.spec.slug, "solved": dir, "catch_up": s.catch_up }),
                || {
                    format!(
                        "Applied the reference solution in {}; run `carelab lab check {}`.\n\
                         This is recorded in your progress: `lab progress` and the \
                         instructor's `workshop report` show the lab as {how}.",
                        dir.display(),
                        lab.spec.number()
                    )
                },
            );
            tell_class(&w, &lab.spec.slug, EventKind::Solve, ui);
            Ok(0)
        }
    }
}

fn new_lab(a: &NewLabArgs, ui: &Ui) -> Result<u8> {
    use carelab::labs::author;
    let parent = match &a.labs_dir {
        Some(dir) => dir.clone(),
        None => cwd()?,
    };
    // Numbered after every lab the learner would see beside it.
    let local = Some(parent.as_path()).filter(|p| p.is_dir());
    let free = Catalog::with_local(local)?.next_free_number();
    let (id, slug) = author::slug_for(&a.name, free)?;
    let dir = author::scaffold(&parent, &id, &slug)?;
    let value = serde_json::json!({ "lab": slug, "dir": dir });
    ui.result(&value, || {
        format!(
            "Made {slug} in {}: lab.toml, README.md, starter/answers.toml, solution/answers.toml.\n\
             Replace its TODOs and its placeholder check, then:\n  \
             carelab lab verify {}\n  \
             CARELAB_LABS={} carelab lab list",
            dir.display(),
            shell_word(&dir),
            shell_word(&parent)
        )
    });
    Ok(0)
}

fn verify_lab(a: &VerifyLabArgs, ui: &Ui) -> Result<u8> {
    use clap::CommandFactory;
    ui.info(format!(
        "Verifying {}: starting it for a trial learner (seed {}), checking, solving, checking again...",
        a.dir.display(),
        a.seed
    ));
    let report = carelab::labs::author::verify(&a.dir, &crate::Cli::command(), &exe()?, a.seed)?;
    ui.result(&report, || report.to_text());
    Ok(if report.ok() { 0 } else { 1 })
}

fn show(lab: &Lab, ui: &Ui) -> Result<u8> {
    let s = &lab.spec;
    // --json gives the outline: the full lab.toml holds the answers the
    // checks want, every hint at once and the solution.
    ui.result(&s.outline(), || {
        let mut t = format!(
            "Lab {} — {}\nGap: {}   Time: about {} minutes\n\nObjectives:\n",
            s.id, s.title, s.gap, s.duration_minutes
        );
        for o in &s.objectives {
            t.push_str(&format!("  • {o}\n"));
        }
        t.push_str("\nSteps:\n");
        for (i, step) in s.steps.iter().enumerate() {
            t.push_str(&format!("  {}. {step}\n", i + 1));
        }
        t.push_str("\nChecks:\n");
        for c in &s.checks {
            t.push_str(&format!("  - {}\n", c.title));
        }
        let readme = carelab::labs::reference::without_run_notes(&lab.readme);
        t.push_str(&format!("\n{readme}\n"));
        t
    });
    Ok(0)
}

fn list(ws: &WorkspaceArgs, ui: &Ui) -> Result<u8> {
    let catalog = catalog(ws)?;
    let w = open(ws)?;
    let rows: Vec<serde_json::Value> = catalog
        .labs
        .iter()
        .map(|lab| {
            let p = w.progress.labs.get(&lab.spec.slug);
            let status = match p {
                None => "not started".to_string(),
                Some(p) if p.is_complete() => p.status().to_string(),
                Some(p) if p.last_results.is_empty() => "started".to_string(),
                Some(p) => format!(
                    "{}/{} checks",
                    p.last_results.values().filter(|ok| **ok).count(),
                    p.last_results.len()
                ),
            };
            serde_json::json!({
                "lab": lab.spec.slug, "number": lab.spec.number(), "title": lab.spec.title,
                "gap": lab.spec.gap, "minutes": lab.spec.duration_minutes, "status": status,
            })
        })
        .collect();
    ui.result(&rows, || {
        let mut t = String::new();
        for r in &rows {
            t.push_str(&format!(
                "{:>2}  {:<10} {:<26} {:>3} min  {}\n",
                r["number"],
                r["lab"].as_str().unwrap_or(""),
                r["status"].as_str().unwrap_or(""),
                r["minutes"],
                r["title"].as_str().unwrap_or("")
            ));
        }
        t.push_str(&format!(
            "\nWorkspace {} (seed {})",
            w.root.display(),
            w.progress.seed
        ));
        t
    });
    Ok(0)
}

fn progress(ws: &WorkspaceArgs, ui: &Ui) -> Result<u8> {
    let catalog = catalog(ws)?;
    let w = open_existing(ws)?;
    let p = &w.progress;
    ui.result(p, || {
        let mut t = format!(
            "Workspace {}  seed {}{}\n",
            w.root.display(),
            p.seed,
            p.learner
                .as_ref()
                .map(|l| format!("  learner {l}"))
                .unwrap_or_default()
        );
        let mut total = 0.0;
        for lab in &catalog.labs {
            let Some(lp) = p.labs.get(&lab.spec.slug) else {
                t.push_str(&format!("  {:<10} not started\n", lab.spec.slug));
                continue;
            };
            total += lp.minutes_spent();
            let passed = lp.last_results.values().filter(|ok| **ok).count();
            // Whether the reference solution did the work is part of the
            // record, as `workshop report` shows it to the instructor.
            let solution = if lp.caught_up() {
                " (`lab solve --catch-up`)"
            } else if lp.passed_with_solution() {
                " (checks passed after `lab solve`)"
            } else if lp.solved_with_solution {
                " (`lab solve` used after completing)"
            } else {
                ""
            };
            t.push_str(&format!(
                "  {:<10} {:<26} {}/{} checks, {} hint(s), {:.0} min{solution}\n",
                lab.spec.slug,
                lp.status(),
                passed,
                lab.spec.checks.len(),
                lp.hints_shown,
                lp.minutes_spent(),
            ));
        }
        t.push_str(&format!("Time spent: {total:.0} min"));
        t
    });
    Ok(0)
}

#[derive(Debug, clap::Subcommand)]
pub enum WorkshopCommand {
    /// Per-learner seeds, setup commands and the instructor's answer key.
    New(NewArgs),
    /// The class table from learners' progress files (terminal, Markdown, HTML).
    Report(ReportArgs),
    /// Printable seed slips, one a learner: id, seed, setup line, class view, own ports.
    Slips(SlipsArgs),
    /// The live class view: a small server learners' lab commands post to (CARELAB_CLASS), and the instructor's page.
    Serve(ClassServeArgs),
}

#[derive(Debug, clap::Args)]
pub struct SlipsArgs {
    /// The roster; `learners.csv` from `workshop new` gives each learner's seed.
    #[arg(long)]
    pub roster: PathBuf,
    /// The class seed, to derive each learner's seed where the roster has none.
    #[arg(long)]
    pub seed: Option<u64>,
    /// The class view's address (what `workshop serve --addr` listens on), e.g. http://192.168.1.20:7878.
    #[arg(long, requires = "token_file")]
    pub class_url: Option<String>,
    /// The class token file, the same as `workshop serve --token-file` (made if it does not exist).
    #[arg(long, requires = "class_url")]
    pub token_file: Option<PathBuf>,
    /// The first learner's first port; each learner gets a block of ten for the labs' servers.
    #[arg(long, default_value_t = 20000)]
    pub port_base: u16,
    /// Where to write slips.html.
    #[arg(long)]
    pub out: PathBuf,
    /// A folder of your own labs, beside the built-in ones (as for `lab list`).
    #[arg(long, env = "CARELAB_LABS")]
    pub labs_dir: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct ClassServeArgs {
    /// The roster: a CSV with an `id` column (and optionally `name`, `seed`); `learners.csv` from `workshop new` has seeds.
    #[arg(long)]
    pub roster: PathBuf,
    /// The class seed, to derive each learner's seed where the roster has none (to spot seed mismatches).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Where to listen: this laptop's address on the room's network, which learners put in CARELAB_CLASS.
    #[arg(long, default_value = "127.0.0.1:7878")]
    pub addr: std::net::SocketAddr,
    /// The file holding the class token (CARELAB_CLASS_TOKEN); made with a new token if it does not exist.
    #[arg(long)]
    pub token_file: PathBuf,
    /// Keep every accepted event in this JSON-lines file, and show the ones already there at start (a restart keeps the room).
    #[arg(long)]
    pub events: Option<PathBuf>,
    /// A folder of your own labs, beside the built-in ones (as for `lab list`).
    #[arg(long, env = "CARELAB_LABS")]
    pub labs_dir: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct NewArgs {
    /// CSV with an `id` column (and optionally `name`).
    #[arg(long)]
    pub roster: PathBuf,
    /// The class seed every learner's seed is derived from.
    #[arg(long)]
    pub seed: u64,
    /// Where to write learners.csv, answer-key.json/.md and manifest.json.
    #[arg(long)]
    pub out: PathBuf,
    /// Do not generate learners' datasets (dataset-derived answers are then n/a).
    #[arg(long)]
    pub no_data: bool,
    /// Who may use `lab solve`: everyone (recorded), only with the instructor's
    /// key (locked; the key goes to instructor-key.txt), or `--catch-up` without it.
    #[arg(long, value_enum, default_value = "open")]
    pub solve: SolveArg,
    /// A folder of your own labs, beside the built-in ones (as for `lab list`).
    #[arg(long, env = "CARELAB_LABS")]
    pub labs_dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum SolveArg {
    Open,
    Locked,
    CatchUp,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ReportFormat {
    Terminal,
    Markdown,
    Html,
}

#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// Progress files, learners' workspaces, or folders of either.
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// What to print.
    #[arg(long, value_enum, default_value = "terminal")]
    pub format: ReportFormat,
    /// Also write report.md and report.html into this folder.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// The roster (as for `workshop serve`): adds who sent nothing and who works on another seed.
    #[arg(long)]
    pub roster: Option<PathBuf>,
    /// The class seed, to derive each learner's seed where the roster has none.
    #[arg(long, requires = "roster")]
    pub seed: Option<u64>,
    /// A folder of your own labs, beside the built-in ones (as for `lab list`).
    #[arg(long, env = "CARELAB_LABS")]
    pub labs_dir: Option<PathBuf>,
}

fn catalog_from(dir: &Option<PathBuf>) -> Result<Catalog> {
    Catalog::with_local(dir.as_deref())
}

pub fn run_workshop(args: WorkshopCommand, ui: &Ui) -> Result<u8> {
    match args {
        WorkshopCommand::New(a) => {
            let catalog = catalog_from(&a.labs_dir)?;
            let made = workshop::new_workshop(
                &a.roster,
                a.seed,
                &a.out,
                &catalog,
                &exe()?,
                workshop::NewOptions {
                    with_data: !a.no_data,
                    solve: match a.solve {
                        SolveArg::Open => workshop::SolveRule::Open,
                        SolveArg::Locked => workshop::SolveRule::Locked,
                        SolveArg::CatchUp => workshop::SolveRule::CatchUp,
                    },
                },
                |id| ui.detail(format!("answer key for learner {id}")),
            )?;
            ui.result(&made, || {
                format!(
                    "Workshop for {} learners in {}: learners.csv (seeds and setup lines), answer-key.md and answer-key.json (keep these private){}.",
                    made.learners,
                    made.out.display(),
                    if made.files.iter().any(|f| f == workshop::INSTRUCTOR_KEY_FILE) {
                        format!(", and {} (your key for `lab solve --key`; keep it private)", workshop::INSTRUCTOR_KEY_FILE)
                    } else {
                        String::new()
                    }
                )
            });
            Ok(0)
        }
        WorkshopCommand::Serve(a) => serve_class(a, ui),
        WorkshopCommand::Slips(a) => {
            let catalog = catalog_from(&a.labs_dir)?;
            let roster = workshop::read_roster(&a.roster)?;
            let token = match &a.token_file {
                Some(file) => Some(carelab::labs::class_server::class_token(file)?.0),
                None => None,
            };
            let class = a.class_url.as_deref().zip(token.as_deref());
            let slips = workshop::seed_slips(&roster, a.seed, &catalog, class, a.port_base)?;
            let file = a.out.join("slips.html");
            carelab::artifact::write_atomic(&file, workshop::slips_html(&slips).as_bytes())?;
            let value = serde_json::json!({ "file": file, "slips": slips });
            ui.result(&value, || {
                format!(
                    "Wrote {} seed slips to {} (print it: one slip a page).",
                    slips.len(),
                    file.display()
                )
            });
            Ok(0)
        }
        WorkshopCommand::Report(a) => {
            let catalog = catalog_from(&a.labs_dir)?;
            let learners = workshop::read_progress(&a.inputs)?;
            let mut report = workshop::class_report(&catalog, &learners);
            let roster = match &a.roster {
                Some(path) => workshop::read_roster(path)?,
                None => Vec::new(),
            };
            if a.roster.is_some() {
                report = report.with_roster(&roster, a.seed);
            }
            if let Some(out) = &a.out {
                carelab::artifact::write_atomic(
                    out.join("report.md"),
                    report.to_markdown().as_bytes(),
                )?;
                carelab::artifact::write_atomic(
                    out.join("report.html"),
                    report.to_html().as_bytes(),
                )?;
                let made =
                    write_certificates(&report, &roster, &catalog, &out.join("certificates"))?;
                ui.info(format!(
                    "Wrote {0}/report.md, {0}/report.html and {made} certificate(s) in {0}/certificates/",
                    out.display()
                ));
            }
            ui.result(&report, || match a.format {
                ReportFormat::Terminal => report.to_terminal(),
                ReportFormat::Markdown => report.to_markdown(),
                ReportFormat::Html => report.to_html(),
            });
            Ok(0)
        }
    }
}

/// A certificate for each learner who completed a lab on their own work,
/// named by the roster where it has a name; returns how many were written.
/// A learner whose work used another seed than the roster's gets none: the
/// report lists them, and the instructor decides.
fn write_certificates(
    report: &workshop::ClassReport,
    roster: &[workshop::Learner],
    catalog: &Catalog,
    dir: &std::path::Path,
) -> Result<usize> {
    let mut made = 0;
    let other_seed = |learner: &str| {
        report
            .roster
            .as_ref()
            .is_some_and(|r| r.seed_mismatches.iter().any(|m| m.learner == learner))
    };
    for row in report.learners.iter().filter(|r| !other_seed(&r.learner)) {
        let name = roster
            .iter()
            .find(|l| l.id == row.learner && !l.name.is_empty())
            .map(|l| l.name.as_str())
            .unwrap_or(&row.learner);
        let date = row
            .finished_at
            .and_then(|t| chrono::DateTime::from_timestamp(t as i64, 0))
            .map(|d| d.format("%Y-%m-%d").to_string())
            .unwrap_or_default();
        let Some(svg) = workshop::certificate_svg(row, name, catalog, &date) else {
            continue;
        };
        let file: String = row
            .learner
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        carelab::artifact::write_atomic(dir.join(format!("{file}.svg")), svg.as_bytes())?;
        made += 1;
    }
    Ok(made)
}

fn serve_class(a: ClassServeArgs, ui: &Ui) -> Result<u8> {
    let catalog = catalog_from(&a.labs_dir)?;
    let roster = workshop::read_roster(&a.roster)?;
    let learners = roster.len();
    let (token, made) = carelab::labs::class_server::class_token(&a.token_file)?;
    if made {
        ui.info(format!(
            "wrote a new class token to {}",
            a.token_file.display()
        ));
    }
    let room = ClassRoom::new(roster, a.seed, &catalog);
    let warn_ui = ui.clone();
    let warn = move |message: String| warn_ui.warn(message);
    let server = match &a.events {
        Some(path) => {
            let (server, replayed, refused) =
                ClassServer::with_log(room, token.clone(), path, warn)?;
            if replayed + refused > 0 {
                ui.info(format!(
                    "replayed {replayed} event(s) from {}{}",
                    path.display(),
                    if refused > 0 {
                        format!(" ({refused} no longer fit the roster or labs and were left out)")
                    } else {
                        String::new()
                    }
                ));
            }
            server
        }
        None => ClassServer::new(room, token.clone(), warn),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::failure(format!("cannot start the async runtime: {e}")))?;
    let addr = a.addr;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .at(format!("listen address {addr}"))?;
        let local = listener.local_addr().at(format!("listen address {addr}"))?;
        ui.info(format!(
            "class view for {learners} learners on http://{local}/ (ctrl-c stops)"
        ));
        ui.info(format!(
            "learners: export CARELAB_CLASS=http://{local} CARELAB_CLASS_TOKEN={token}"
        ));
        carelab::labs::class_server::serve(
            server,
            listener,
            carelab::serve::server::shutdown_signal(),
        )
        .await
    })?;
    ui.info("class view stopped");
    Ok(0)
}

#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct BookArgs {
    #[command(subcommand)]
    pub action: Option<BookAction>,
    /// Open the built guide in your browser.
    #[arg(long)]
    pub open: bool,
    /// Serve the guide over HTTP at --addr until Ctrl-C.
    #[arg(long)]
    pub serve: bool,
    /// Where --serve listens. 0.0.0.0:3000 lets the room reach it: anyone on
    /// the network then reads the whole guide, instructor part included.
    #[arg(long, default_value = "127.0.0.1:3000", requires = "serve")]
    pub addr: SocketAddr,
    /// Where to write the HTML (default carelab-book, or with --dir the
    /// build folder its book.toml names). The learners' edition, without
    /// the instructor part, goes to its learner/ folder.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Build an edited copy of the guide from this folder (holding
    /// book.toml, with labs/ beside it) instead of the edition inside carelab.
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

/// Tools that keep the guide true to the program.
#[derive(Debug, clap::Subcommand)]
pub enum BookAction {
    /// Print the CLI reference chapter (Markdown), rendered from these definitions.
    CliReference {
        /// Write it to this file instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Parse every `carelab ...` line in the code blocks of Markdown files with this CLI; exits 1 if any fails.
    CheckCommands {
        /// Markdown files or folders of them.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Run the commands the lab chapters show, in fresh folders, as a learner would; exits 1 if any fails.
    #[cfg(unix)]
    RunLabs(super::book_run::RunLabsArgs),
}

pub fn run_book(args: BookArgs, ui: &Ui) -> Result<u8> {
    match args.action {
        Some(BookAction::CliReference { out }) => return cli_reference(out, ui),
        Some(BookAction::CheckCommands { paths }) => return check_commands(&paths, ui),
        #[cfg(unix)]
        Some(BookAction::RunLabs(a)) => return super::book_run::run(a, ui),
        None => {}
    }
    let sources = book::Sources::resolve(args.dir.clone())?;
    let out = match (&args.out, sources.embedded) {
        (Some(out), _) => Some(out.clone()),
        (None, true) => Some(PathBuf::from("carelab-book")),
        (None, false) => None,
    };
    if sources.embedded {
        ui.info(format!(
            "Building the guide of carelab {}...",
            env!("CARGO_PKG_VERSION")
        ));
    } else {
        ui.info(format!(
            "Building the guide from {}...",
            sources.dir.display()
        ));
    }
    let root = book::build(&sources.dir, out.as_deref())?;
    drop(sources);
    let index = root.join("index.html");
    let learner = root.join(book::LEARNER_DIR).join("print.html");
    ui.result(
        &serde_json::json!({ "html": root, "index": index, "learner_print": learner }),
        || {
            format!(
                "The guide is at {}\nThe learners' printable copy (no instructor guide) is at {}",
                index.display(),
                learner.display()
            )
        },
    );
    if args.serve {
        let open = args.open;
        book::serve(root, args.addr, |addr| {
            let url = format!("http://{addr}/");
            if !addr.ip().is_loopback() {
                ui.warn(format!(
                    "{addr} is reachable from other machines: anyone on the network who reaches this port reads the whole guide, the instructor guide included. Learners' copy: {url}{}/",
                    book::LEARNER_DIR
                ));
            }
            ui.info(format!("Serving the guide on {url} (Ctrl-C to stop)"));
            if open {
                open_or_warn(&url, ui);
            }
        })?;
    } else if args.open {
        open_or_warn(&index.display().to_string(), ui);
    }
    Ok(0)
}

fn open_or_warn(target: &str, ui: &Ui) {
    if let Err(e) = book::open_browser(target) {
        ui.warn(format!(
            "could not open a browser ({e}); open {target} yourself"
        ));
    }
}

fn cli_reference(out: Option<PathBuf>, ui: &Ui) -> Result<u8> {
    use clap::CommandFactory;
    let text = carelab::labs::reference::render_cli_reference(crate::Cli::command());
    match out {
        Some(path) => {
            carelab::artifact::write_atomic(&path, text.as_bytes())?;
            ui.info(format!("Wrote {}", path.display()));
        }
        None => print!("{text}"),
    }
    Ok(0)
}

fn check_commands(paths: &[PathBuf], ui: &Ui) -> Result<u8> {
    use carelab::error::IoContext;
    use clap::CommandFactory;
    let mut shown = Vec::new();
    for path in paths {
        if path.is_dir() {
            shown.extend(carelab::labs::reference::commands_in_dir(path, path)?);
        } else {
            let text = std::fs::read_to_string(path).at(path)?;
            let name = path.display().to_string();
            shown.extend(carelab::labs::reference::commands_in_markdown(&name, &text));
        }
    }
    let failures = carelab::labs::reference::unparsed(&crate::Cli::command(), &shown);
    let value = serde_json::json!({ "commands": shown.len(), "failed": failures });
    ui.result(&value, || {
        let mut t = String::new();
        for f in &failures {
            t.push_str(&format!(
                "{}:{}: `{}`: {}\n",
                f.file, f.line, f.command, f.error
            ));
        }
        t.push_str(&format!(
            "{} command line(s) checked, {} do not parse",
            shown.len(),
            failures.len()
        ));
        t
    });
    Ok(if failures.is_empty() { 0 } else { 1 })
}
