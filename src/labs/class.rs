//! The live class view's model: the events learners' `lab` commands post to
//! `workshop serve`, and the class state the instructor's page shows.
//!
//! An event is a snapshot of one lab in one learner's progress (the last
//! check results by id, hints shown, whether `lab solve` did the work) plus
//! what the learner just did (`kind`). It carries ids and pass/fail only:
//! no data, no values, no answers. The room keeps the latest snapshot per
//! learner and lab, so a repeated or lost event costs little; only help
//! requests are counted. An event the room cannot place (a learner not on
//! the roster, a lab or check that does not exist) is refused whole and
//! changes nothing.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::catalog::Catalog;
use super::workshop::Learner;
use super::workspace::ProgressFile;

/// The largest event body accepted, in bytes (a lab's check ids and
/// pass/fail fit in well under 1 KB).
pub const MAX_EVENT_BYTES: usize = 4096;

/// What the learner just did.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    Start,
    Check,
    Hint,
    Solve,
    /// `carelab lab help`: "I am stuck".
    Help,
}

/// One event, as posted to `POST /events`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ClassEvent {
    pub learner: String,
    /// The seed the learner's workspace uses (the room compares it with the roster's).
    pub seed: u64,
    /// The lab's slug.
    pub lab: String,
    pub kind: EventKind,
    /// The lab's last check results by check id: passed or not.
    #[serde(default)]
    pub checks: BTreeMap<String, bool>,
    /// Hints shown in this lab so far.
    #[serde(default)]
    pub hints: usize,
    /// The lab is the reference solution's work (`LabProgress::used_solution`).
    #[serde(default)]
    pub solved: bool,
    /// ... applied by `lab solve --catch-up`, so the learner could go on
    /// (`LabProgress::caught_up`); implies `solved`.
    #[serde(default)]
    pub caught_up: bool,
    /// Unix seconds on the learner's machine; the room keeps time by its own clock.
    pub time: u64,
}

impl ClassEvent {
    /// The event for lab `slug` of a progress file, or `None` when the
    /// workspace has no learner id (the room could not place it).
    pub fn from_progress(progress: &ProgressFile, slug: &str, kind: EventKind) -> Option<Self> {
        let learner = progress.learner.clone()?;
        let lab = progress.labs.get(slug).cloned().unwrap_or_default();
        Some(ClassEvent {
            learner,
            seed: progress.seed,
            lab: slug.to_string(),
            kind,
            checks: lab.last_results.clone(),
            hints: lab.hints_shown,
            solved: lab.used_solution(),
            caught_up: lab.caught_up(),
            time: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
        })
    }
}

/// Why an event was refused: the HTTP status, a short code and a sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
}

impl Refused {
    fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Refused {
            status,
            code,
            message: message.into(),
        }
    }
}

/// A lab as the room names it: slug, title and its checks' ids and titles.
#[derive(Debug, Clone)]
struct LabNames {
    slug: String,
    title: String,
    checks: Vec<(String, String)>,
}

/// What the room knows of one lab of one learner.
#[derive(Debug, Clone, Default)]
struct LabSeen {
    checks: BTreeMap<String, bool>,
    hints: usize,
    solved: bool,
    caught_up: bool,
    /// When the open help request was made (server clock).
    help_at: Option<u64>,
}

/// What the room knows of one learner who posted.
#[derive(Debug, Clone, Default)]
struct Seen {
    seed: u64,
    last_at: u64,
    last_lab: String,
    help_requests: usize,
    labs: BTreeMap<String, LabSeen>,
}

/// The class: the roster, the labs, and what each learner last reported.
#[derive(Debug, Clone)]
pub struct ClassRoom {
    roster: Vec<Learner>,
    class_seed: Option<u64>,
    labs: Vec<LabNames>,
    seen: BTreeMap<String, Seen>,
}

/// A check failing now: the lab, the check's id and title.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Failing {
    pub lab: String,
    pub check: String,
    pub title: String,
}

/// A check failing across the room, with how many learners fail it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FailingInRoom {
    pub lab: String,
    pub check: String,
    pub title: String,
    pub learners: usize,
}

/// An open help request.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct HelpOpen {
    pub lab: String,
    pub minutes: f64,
}

/// One roster learner in the class state.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LearnerState {
    pub id: String,
    pub name: String,
    /// Posted at least once.
    pub connected: bool,
    /// The seed the roster gives or the class seed derives; null if neither.
    pub roster_seed: Option<u64>,
    /// The seed the learner's workspace uses, from their last event.
    pub seed: Option<u64>,
    pub seed_mismatch: bool,
    /// The lab of the last event, and its title.
    pub current_lab: Option<String>,
    pub current_title: Option<String>,
    /// Labs whose checks all passed on the learner's own work.
    pub completed: Vec<String>,
    /// Labs that are the reference solution's work through a plain
    /// `lab solve` (the instructor's key, or an open workshop).
    pub with_solution: Vec<String>,
    /// Labs that are the solution's work through `lab solve --catch-up`:
    /// the learner asked for it to start the next lab. Apart from
    /// `with_solution`, and neither is in `completed`.
    pub caught_up: Vec<String>,
    /// Every failing check in every lab not complete, in lab order.
    pub failing: Vec<Failing>,
    /// Minutes since the last event.
    pub minutes_idle: Option<f64>,
    pub hints: usize,
    pub help_requests: usize,
    pub help_open: Option<HelpOpen>,
}

/// What `GET /state.json` answers.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ClassState {
    /// Unix seconds (server clock).
    pub now: u64,
    pub learners: Vec<LearnerState>,
    pub never_connected: Vec<String>,
    pub seed_mismatches: Vec<String>,
    pub asking_for_help: Vec<String>,
    /// Most learners first; ties in lab and check order.
    pub failing_checks: Vec<FailingInRoom>,
    pub most_failing: Option<FailingInRoom>,
}

fn minutes(from: u64, now: u64) -> f64 {
    (now.saturating_sub(from) as f64 / 6.0).round() / 10.0
}

impl ClassRoom {
    pub fn new(roster: Vec<Learner>, class_seed: Option<u64>, catalog: &Catalog) -> Self {
        let labs = catalog
            .labs
            .iter()
            .map(|lab| LabNames {
                slug: lab.spec.slug.clone(),
                title: lab.spec.title.clone(),
                checks: lab
                    .spec
                    .checks
                    .iter()
                    .map(|c| (c.id.clone(), c.title.clone()))
                    .collect(),
            })
            .collect();
        ClassRoom {
            roster,
            class_seed,
            labs,
            seen: BTreeMap::new(),
        }
    }

    pub fn roster(&self) -> &[Learner] {
        &self.roster
    }

    /// Parse, validate and apply one posted body at server time `now`.
    /// A refused event changes nothing.
    pub fn accept(&mut self, body: &[u8], now: u64) -> Result<ClassEvent, Refused> {
        if body.len() > MAX_EVENT_BYTES {
            return Err(too_large(body.len()));
        }
        let event: ClassEvent = serde_json::from_slice(body).map_err(|e| {
            use serde_json::error::Category;
            match e.classify() {
                Category::Data => Refused::new(
                    422,
                    "invalid_event",
                    format!("the event's fields are not as expected: {e}"),
                ),
                _ => Refused::new(400, "malformed_json", format!("the body is not JSON: {e}")),
            }
        })?;
        if !self.roster.iter().any(|l| l.id == event.learner) {
            return Err(Refused::new(
                404,
                "unknown_learner",
                format!(
                    "learner '{}' is not on the class roster; check the --learner your workspace was started with",
                    event.learner
                ),
            ));
        }
        let Some(lab) = self.labs.iter().find(|l| l.slug == event.lab) else {
            return Err(Refused::new(
                422,
                "unknown_lab",
                format!("there is no lab '{}' in this class", event.lab),
            ));
        };
        if let Some(bad) = event
            .checks
            .keys()
            .find(|id| !lab.checks.iter().any(|(c, _)| c == *id))
        {
            return Err(Refused::new(
                422,
                "unknown_check",
                format!("lab {} has no check '{bad}'", lab.slug),
            ));
        }
        let complete = is_complete(lab, &event.checks);
        let seen = self.seen.entry(event.learner.clone()).or_default();
        seen.seed = event.seed;
        seen.last_at = now;
        seen.last_lab = event.lab.clone();
        let entry = seen.labs.entry(event.lab.clone()).or_default();
        entry.checks = event.checks.clone();
        entry.hints = event.hints;
        entry.solved = event.solved || event.caught_up;
        entry.caught_up = event.caught_up;
        if event.kind == EventKind::Help {
            seen.help_requests += 1;
            entry.help_at = Some(now);
        } else if complete || event.solved {
            // Unstuck: the lab passes, or the solution did it.
            entry.help_at = None;
        }
        Ok(event)
    }

    /// What the learner who sent `event` should hear back, if anything:
    /// that their workspace uses another seed than the roster gives them
    /// (without saying which: their slip has it).
    pub fn notice(&self, event: &ClassEvent) -> Option<String> {
        let learner = self.roster.iter().find(|l| l.id == event.learner)?;
        let want = learner.expected_seed(self.class_seed)?;
        (want != event.seed).then(|| {
            format!(
                "this workspace uses seed {}, not the one on your seed slip, so your numbers are not yours; start a new workspace with the setup line on your slip",
                event.seed
            )
        })
    }

    /// The class as the page shows it, at server time `now`.
    pub fn state(&self, now: u64) -> ClassState {
        let mut learners = Vec::new();
        let mut room: BTreeMap<(usize, usize), usize> = BTreeMap::new();
        for learner in &self.roster {
            let roster_seed = learner.expected_seed(self.class_seed);
            let Some(seen) = self.seen.get(&learner.id) else {
                learners.push(LearnerState {
                    id: learner.id.clone(),
                    name: learner.name.clone(),
                    connected: false,
                    roster_seed,
                    seed: None,
                    seed_mismatch: false,
                    current_lab: None,
                    current_title: None,
                    completed: vec![],
                    with_solution: vec![],
                    caught_up: vec![],
                    failing: vec![],
                    minutes_idle: None,
                    hints: 0,
                    help_requests: 0,
                    help_open: None,
                });
                continue;
            };
            let (mut completed, mut with_solution, mut caught_up, mut failing) =
                (vec![], vec![], vec![], vec![]);
            let mut help_open = None;
            let mut hints = 0;
            for (li, lab) in self.labs.iter().enumerate() {
                let Some(s) = seen.labs.get(&lab.slug) else {
                    continue;
                };
                hints += s.hints;
                if let Some(at) = s.help_at {
                    // The latest open request, if several labs have one.
                    if help_open
                        .as_ref()
                        .is_none_or(|h: &HelpOpen| minutes(at, now) <= h.minutes)
                    {
                        help_open = Some(HelpOpen {
                            lab: lab.slug.clone(),
                            minutes: minutes(at, now),
                        });
                    }
                }
                if s.caught_up {
                    caught_up.push(lab.slug.clone());
                    continue;
                }
                if s.solved {
                    with_solution.push(lab.slug.clone());
                    continue;
                }
                if is_complete(lab, &s.checks) {
                    completed.push(lab.slug.clone());
                    continue;
                }
                for (ci, (id, title)) in lab.checks.iter().enumerate() {
                    if s.checks.get(id) == Some(&false) {
                        failing.push(Failing {
                            lab: lab.slug.clone(),
                            check: id.clone(),
                            title: title.clone(),
                        });
                        *room.entry((li, ci)).or_default() += 1;
                    }
                }
            }
            let current = self.labs.iter().find(|l| l.slug == seen.last_lab);
            learners.push(LearnerState {
                id: learner.id.clone(),
                name: learner.name.clone(),
                connected: true,
                roster_seed,
                seed: Some(seen.seed),
                seed_mismatch: roster_seed.is_some_and(|s| s != seen.seed),
                current_lab: current.map(|l| l.slug.clone()),
                current_title: current.map(|l| l.title.clone()),
                completed,
                with_solution,
                caught_up,
                failing,
                minutes_idle: Some(minutes(seen.last_at, now)),
                hints,
                help_requests: seen.help_requests,
                help_open,
            });
        }
        let mut failing_checks: Vec<((usize, usize), usize)> = room.into_iter().collect();
        failing_checks.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let failing_checks: Vec<FailingInRoom> = failing_checks
            .into_iter()
            .map(|((li, ci), n)| {
                let lab = &self.labs[li];
                FailingInRoom {
                    lab: lab.slug.clone(),
                    check: lab.checks[ci].0.clone(),
                    title: lab.checks[ci].1.clone(),
                    learners: n,
                }
            })
            .collect();
        let ids = |keep: &dyn Fn(&LearnerState) -> bool| {
            learners
                .iter()
                .filter(|l| keep(l))
                .map(|l| l.id.clone())
                .collect::<Vec<_>>()
        };
        ClassState {
            now,
            never_connected: ids(&|l| !l.connected),
            seed_mismatches: ids(&|l| l.seed_mismatch),
            asking_for_help: ids(&|l| l.help_open.is_some()),
            most_failing: failing_checks.first().cloned(),
            failing_checks,
            learners,
        }
    }
}

fn is_complete(lab: &LabNames, checks: &BTreeMap<String, bool>) -> bool {
    !lab.checks.is_empty()
        && lab
            .checks
            .iter()
            .all(|(id, _)| checks.get(id) == Some(&true))
}

/// The refusal of a body over [`MAX_EVENT_BYTES`].
pub fn too_large(len: usize) -> Refused {
    Refused::new(
        413,
        "too_large",
        format!("an event is at most {MAX_EVENT_BYTES} bytes; this one is {len}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn room() -> ClassRoom {
        let catalog = Catalog::builtin().unwrap();
        let roster = ["ana", "ben"]
            .iter()
            .map(|id| Learner {
                id: id.to_string(),
                name: String::new(),
                seed: Some(7),
                solve_policy: None,
            })
            .collect();
        ClassRoom::new(roster, None, &catalog)
    }

    #[test]
    fn refused_events_change_nothing_and_say_why() {
        let mut room = room();
        let before = room.state(100);
        for (body, status, code) in [
            (&b"{not json"[..], 400, "malformed_json"),
            (br#"{"learner":"ana"}"#, 422, "invalid_event"),
            (
                br#"{"learner":"zed","seed":7,"lab":"00-setup","kind":"check","time":1}"#,
                404,
                "unknown_learner",
            ),
            (
                br#"{"learner":"ana","seed":7,"lab":"99-nope","kind":"check","time":1}"#,
                422,
                "unknown_lab",
            ),
            (
                br#"{"learner":"ana","seed":7,"lab":"00-setup","kind":"check","checks":{"made_up":true},"time":1}"#,
                422,
                "unknown_check",
            ),
            (
                br#"{"learner":"ana","seed":7,"lab":"00-setup","kind":"cheat","time":1}"#,
                422,
                "invalid_event",
            ),
        ] {
            let refused = room.accept(body, 100).unwrap_err();
            assert_eq!((refused.status, refused.code), (status, code), "{refused:?}");
        }
        let big = vec![b' '; MAX_EVENT_BYTES + 1];
        assert_eq!(room.accept(&big, 100).unwrap_err().status, 413);
        assert_eq!(room.state(100), before);
    }

    #[test]
    fn help_stays_open_until_the_lab_passes() {
        let mut room = room();
        let help = br#"{"learner":"ben","seed":7,"lab":"00-setup","kind":"help","checks":{"answer_seed":false},"time":1}"#;
        room.accept(help, 60).unwrap();
        let s = room.state(180);
        assert_eq!(s.asking_for_help, vec!["ben"]);
        let ben = &s.learners[1];
        assert_eq!(
            ben.help_open,
            Some(HelpOpen {
                lab: "00-setup".into(),
                minutes: 2.0
            })
        );
        assert_eq!(s.most_failing.as_ref().unwrap().check, "answer_seed");
        assert_eq!(s.never_connected, vec!["ana"]);
        let solved =
            br#"{"learner":"ben","seed":7,"lab":"00-setup","kind":"solve","solved":true,"time":2}"#;
        room.accept(solved, 200).unwrap();
        let s = room.state(200);
        assert!(s.asking_for_help.is_empty());
        assert_eq!(s.learners[1].with_solution, vec!["00-setup"]);
        assert!(s.learners[1].caught_up.is_empty());
        assert_eq!(s.learners[1].help_requests, 1);
        assert!(s.failing_checks.is_empty());
    }

    #[test]
    fn a_catch_up_is_marked_apart_from_a_solve_and_a_pass() {
        let mut room = room();
        let caught = br#"{"learner":"ana","seed":7,"lab":"00-setup","kind":"check","checks":{"answer_seed":true},"solved":true,"caught_up":true,"time":1}"#;
        room.accept(caught, 60).unwrap();
        let solved =
            br#"{"learner":"ben","seed":7,"lab":"01-data","kind":"solve","solved":true,"time":1}"#;
        room.accept(solved, 60).unwrap();
        let s = room.state(60);
        let (ana, ben) = (&s.learners[0], &s.learners[1]);
        assert_eq!(ana.caught_up, vec!["00-setup"]);
        assert!(ana.with_solution.is_empty() && ana.completed.is_empty());
        assert_eq!(ben.with_solution, vec!["01-data"]);
        assert!(ben.caught_up.is_empty() && ben.completed.is_empty());
    }
}
