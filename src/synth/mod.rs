//! The synthetic population and `carelab data generate`.
//!
//! `scenario` reads the knobs; `population` makes one patient at a time from
//! its own RNG stream; `truth` is the documented ground-truth risk; `site`
//! applies a site's units and codes to the clean records; `generate` runs
//! patients in parallel chunks and streams them, in order, into every
//! requested format with a manifest.

pub mod generate;
pub mod legacy;
pub mod names;
pub mod notes;
pub mod population;
pub mod scenario;
pub mod site;
pub mod truth;

pub use generate::{generate, GenerateOptions, Shard};
pub use population::Population;
pub use scenario::Scenario;
