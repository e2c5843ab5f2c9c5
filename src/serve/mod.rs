//! Stage `serve`: the model behind an HTTP API that a hospital can run.
//!
//! `scorer` is what is served (any model behind the `Scorer` trait, and
//! `load_model`, the one place that knows where models come from); `input`
//! validates requests field by field; `auth` checks bearer tokens and roles;
//! `metrics` renders Prometheus text; `recorder` writes the audit and
//! prediction logs in batches, acknowledging each record once written;
//! `server` ties them into routes;
//! `fhir` turns a patient's FHIR Bundle into the row to score; `local` runs
//! a service in process on loopback (for `bench serve` and the tour);
//! `tls` serves HTTPS with rustls; `demo` is the tour's serving step.
//! `cds` speaks CDS Hooks 2.0 (discovery, cards, feedback) over the FHIR path,
//! and `jwt` checks the EHR's signed tokens as the spec asks. `oip` speaks
//! the Open Inference Protocol (KServe V2) over the same scoring path.

pub mod auth;
pub mod cds;
pub mod demo;
pub mod fhir;
pub mod input;
pub mod jwt;
pub mod local;
pub mod metrics;
pub mod oip;
pub mod recorder;
pub mod scorer;
pub mod server;
pub mod tls;

pub use auth::{hash_token, Role, Tokens};
pub use recorder::{read_prediction_log, Prediction, PredictionRecord, Recorder};
pub use scorer::{load_model, load_model_from, LinearModel, ModelInfo, Scorer};
pub use server::{serve, serve_tls, ServeConfig, Service};
