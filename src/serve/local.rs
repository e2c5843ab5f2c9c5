//! A service in this process on a loopback port the system picks: what
//! `carelab bench serve` measures when it has no `--url`, and what the tour
//! calls. It is the same `Service` and router `carelab serve` runs, with a
//! throw-away token and its logs in a directory the caller names.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::sync::oneshot;

use crate::error::{Error, IoContext, Result};

use super::auth::{hash_token, Tokens};
use super::recorder::Recorder;
use super::scorer::load_model_from;
use super::server::{serve, Loader, ServeConfig, Service};

/// A running in-process service.
pub struct LocalServer {
    pub addr: SocketAddr,
    /// A bearer token with the `predict` role, valid for this server only.
    pub token: String,
    /// The audit log (hash-chained JSON Lines).
    pub audit: PathBuf,
    /// The prediction log.
    pub predictions: PathBuf,
    pub service: Arc<Service>,
    stop: Option<oneshot::Sender<()>>,
    done: tokio::task::JoinHandle<Result<()>>,
}

impl LocalServer {
    /// Load `model` (as `carelab serve --model` reads it), start serving on
    /// 127.0.0.1 and write the logs into `logs` (fresh files each start).
    /// Call from inside a tokio runtime.
    pub async fn start(
        model: &str,
        registry: Option<&Path>,
        logs: &Path,
        config: ServeConfig,
    ) -> Result<LocalServer> {
        std::fs::create_dir_all(logs).at(logs)?;
        let audit = logs.join("audit.jsonl");
        let predictions = logs.join("predictions.jsonl");
        for old in [&audit, &predictions] {
            if old.exists() {
                std::fs::remove_file(old).at(old)?;
            }
        }
        let token = fresh_token();
        let tokens = Tokens::from_toml(
            "in-process tokens",
            &format!(
                "[[token]]\nname = \"local\"\nsha256 = \"{}\"\nroles = [\"predict\"]\n",
                hash_token(&token)
            ),
        )?;
        let spec = model.to_string();
        let registry = registry.map(Path::to_path_buf);
        let loader: Loader = Box::new(move || load_model_from(&spec, registry.as_deref()));
        let recorder = Recorder::start(Some(&audit), Some(&predictions))?;
        let service = Service::new(loader, tokens, None, recorder, config)?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .at("127.0.0.1:0")?;
        let addr = listener.local_addr().at("127.0.0.1:0")?;
        let (tx, rx) = oneshot::channel::<()>();
        let done = tokio::spawn(serve(service.clone(), listener, async move {
            let _ = rx.await;
        }));
        Ok(LocalServer {
            addr,
            token,
            audit,
            predictions,
            service,
            stop: Some(tx),
            done,
        })
    }

    /// Drain requests in flight, stop, and write out the logs.
    pub async fn stop(mut self) -> Result<()> {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        self.done
            .await
            .map_err(|e| Error::failure(format!("the in-process server failed: {e}")))?
    }
}

/// A random bearer token. It guards a loopback port for the life of one
/// command and is never written anywhere, so it comes from the operating
/// system's entropy, not from a seed a reader could know.
fn fresh_token() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// A small MLP (one hidden layer of 32) trained on the seeded toy table
/// `bench train` uses, in `dir/tiny-model-seed{seed}`: what `bench serve`
/// serves when given no model. Reused when it is already there, so
/// repeated benchmarks serve the same weights.
pub fn tiny_model(dir: &Path, seed: u64) -> Result<PathBuf> {
    let run_dir = dir.join(format!("tiny-model-seed{seed}"));
    if run_dir.join("model.json").is_file() {
        return Ok(run_dir);
    }
    if run_dir.exists() {
        // A run interrupted before it finished: start it again.
        std::fs::remove_dir_all(&run_dir).at(&run_dir)?;
    }
    let table = dir.join(format!("toy-analysis-seed{seed}.csv"));
    crate::clinical::analysis::write_analysis_csv(
        &table,
        &crate::train::toy::toy_table(4000, seed),
    )?;
    let job = crate::train::TrainJob {
        config: crate::train::config::TrainConfig {
            hidden: vec![32],
            epochs: 3,
            seed,
            ..Default::default()
        },
        data: table,
        run_dir: run_dir.clone(),
        pause_after_epoch_ms: 0,
    };
    crate::train::train(&job, &crate::ui::Ui::silent())?;
    Ok(run_dir)
}
