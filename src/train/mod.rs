//! Stage `train`: readmission models trained on the analysis table.
//!
//! - [`config`]: the settings (defaults, `train.toml`, flags).
//! - [`net`]: the network with hand-written forward/backward passes.
//! - [`candle_engine`]: the same steps in candle (autograd), for GPUs.
//! - [`optim`]: AdamW and SGD on flat buffers.
//! - [`trainer`]: the loop, checkpoints, resume and the run directory.
//! - [`model`]: [`Model::load`] and [`Model::score`] for evaluation and serving.
//! - [`weights`]: safetensors files with PyTorch state_dict names.

pub mod candle_engine;
pub mod config;
pub mod metrics;
pub mod model;
pub mod net;
pub mod optim;
pub mod toy;
pub mod trainer;
pub mod weights;

pub use config::{
    ClassWeight, DeviceKind, EngineKind, ModelKind, Monitor, OptimizerKind, TrainConfig,
};
pub use model::{Model, ModelInfo};
pub use trainer::{resume, train, TrainJob, TrainMetrics, TrainOutcome};
