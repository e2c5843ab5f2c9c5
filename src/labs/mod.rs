//! Stage `labs`: the lab runner and the workshop tools.
//!
//! A lab is data (`labs/NN-slug/lab.toml`, README, starter and solution
//! files, embedded in the binary by [`catalog`]); the check kinds are code,
//! implemented once in [`checks`]. A learner's [`workspace`] holds a folder
//! a lab and `progress.json`; [`workshop`] derives per-learner seeds, writes
//! the instructor's answer key with the same expected-value code the checks
//! use, and reports on a class. [`book`] builds and serves the guide;
//! [`reference`] renders the CLI reference and finds the commands the book shows;
//! [`book_run`] runs the commands the lab chapters show; [`truth`] judges
//! a table the learner made against the generator's truth. [`class`] and
//! [`class_server`] are the live class view: the events learners' commands
//! post to `workshop serve`, the room's state, and the instructor's page.
//! [`author`] scaffolds and verifies the labs educators write themselves.

pub mod author;
pub mod book;
#[cfg(unix)]
pub mod book_run;
pub mod catalog;
pub mod checks;
pub mod class;
pub mod class_server;
pub mod reference;
pub mod spec;
pub mod sql_check;
pub mod template;
pub mod truth;
pub mod values;
pub mod workshop;
pub mod workspace;

pub use catalog::{Catalog, Lab};
pub use checks::CheckResult;
pub use workspace::{CheckReport, LabProgress, ProgressFile, Workspace};
