//! CareLab: the path a clinical prediction model takes in a hospital, one
//! module per stage, on synthetic patients.
//!
//! Data flows one way: `synth` makes populations and exports; `formats` reads
//! and writes them; `ingest` turns sources into the clean model and the
//! analysis table; `deid` de-identifies; `features` turns the analysis table
//! into a model matrix; `train`, `eval` and `registry` make, judge and track
//! models; `serve` and `monitor` run them; `infra` measures devices and cost;
//! `labs` teaches it all. `clinical` is the shared data model, and `error`,
//! `artifact`, `hashing`, `rng` and `ui` the plumbing every stage uses.

pub mod artifact;
pub mod audit;
pub mod clinical;
pub mod cores;
pub mod deid;
pub mod error;
pub mod eval;
pub mod features;
pub mod formats;
pub mod hashing;
pub mod infra;
pub mod ingest;
pub mod labs;
pub mod monitor;
pub mod registry;
pub mod rng;
pub mod serve;
pub mod synth;
pub mod train;
pub mod ui;

/// mimalloc instead of the system allocator, for the binary and for every
/// test and benchmark that links this library, so that they measure the
/// same program. The generator allocates strings for every record of
/// every patient; with glibc's malloc, allocating and freeing them was
/// about an eighth of its CPU time, and mimalloc cut the generator's user
/// time by a fifth (book: population model).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Hand the memory freed so far back to the system now. mimalloc keeps
/// freed pages for about a second before it returns them; ingest calls this
/// when it has freed the rows of its tables and next maps hundreds of
/// megabytes of the CDM database, which would otherwise count on top of
/// them (a 50,000-patient ingest peaked at up to 1.6 GB that way instead
/// of 1.3 GB).
pub fn release_freed_memory() {
    extern "C" {
        fn mi_collect(force: bool);
    }
    // SAFETY: mimalloc is linked in as the global allocator above, and
    // `mi_collect` takes no pointers: any thread may call it at any time.
    unsafe { mi_collect(true) }
}

pub use error::{Error, Result};
