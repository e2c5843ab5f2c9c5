//! `carelab serve`: run the inference service, or hash a token for its
//! tokens file.

use std::io::Read;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use carelab::deid::pseudonym::Pseudonymizer;
use carelab::error::{Error, IoContext, Result};
use carelab::serve::server::{reload_on_sighup, shutdown_signal, Loader};
use carelab::serve::{hash_token, load_model, serve, Recorder, ServeConfig, Service, Tokens};
use carelab::ui::Ui;

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// The model: a run directory, a model file, or NAME@stage from the registry.
    #[arg(long, required_unless_present = "hash_token")]
    model: Option<String>,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Tokens file (TOML: name, sha256, roles for each caller).
    #[arg(long, required_unless_present = "hash_token")]
    tokens: Option<PathBuf>,
    /// Append a hash-chained audit record for every request here.
    #[arg(long)]
    audit: Option<PathBuf>,
    /// Append every prediction here (JSON Lines) for `carelab monitor`.
    #[arg(long)]
    prediction_log: Option<PathBuf>,
    /// Pseudonym key: patient and stay ids are logged only as keyed
    /// pseudonyms, and not at all without a key.
    #[arg(long)]
    key_file: Option<PathBuf>,
    /// Risk at or above which a patient is flagged.
    #[arg(long, default_value_t = 0.5)]
    threshold: f64,
    /// Most instances in one batch request.
    #[arg(long, default_value_t = 256)]
    max_batch: usize,
    /// Most requests in flight; more are answered 503 at once.
    #[arg(long, default_value_t = 64)]
    max_concurrency: usize,
    /// Largest request body in bytes.
    #[arg(long, default_value_t = 1 << 20)]
    max_body_bytes: usize,
    /// Longest a request may take, in seconds.
    #[arg(long, default_value_t = 10.0)]
    timeout_secs: f64,
    /// Worker threads (default: one a core).
    #[arg(long)]
    threads: Option<usize>,
    /// Read a token on stdin and print the SHA-256 hex the tokens file stores.
    #[arg(long)]
    hash_token: bool,
}

pub fn run(args: ServeArgs, ui: &Ui) -> Result<u8> {
    if args.hash_token {
        let mut token = String::new();
        std::io::stdin()
            .read_to_string(&mut token)
            .map_err(|e| Error::failure(format!("reading the token on stdin: {e}")))?;
        if token.trim().is_empty() {
            return Err(Error::usage(
                "--hash-token reads the token on stdin; it was empty",
            ));
        }
        let hash = hash_token(&token);
        ui.result(&serde_json::json!({ "sha256": hash }), || hash.clone());
        return Ok(0);
    }
    let (Some(spec), Some(tokens_path)) = (args.model.clone(), args.tokens.clone()) else {
        return Err(Error::usage("--model and --tokens are required"));
    };
    if !(0.0..=1.0).contains(&args.threshold) {
        return Err(Error::usage(format!(
            "--threshold must be within 0..1, found {}",
            args.threshold
        )));
    }
    if args.max_batch == 0 || args.max_concurrency == 0 || args.timeout_secs <= 0.0 {
        return Err(Error::usage(
            "--max-batch, --max-concurrency and --timeout-secs must be positive",
        ));
    }
    let tokens = Tokens::from_file(&tokens_path)?;
    let pseudonyms = args
        .key_file
        .as_ref()
        .map(Pseudonymizer::from_key_file)
        .transpose()?;
    if pseudonyms.is_none() {
        ui.warn("no --key-file: patient and stay ids in requests are not logged at all");
    }
    let recorder = Recorder::start(args.audit.as_deref(), args.prediction_log.as_deref())?;
    let config = ServeConfig {
        threshold: args.threshold,
        max_batch: args.max_batch,
        max_concurrency: args.max_concurrency,
        max_body_bytes: args.max_body_bytes,
        timeout: Duration::from_secs_f64(args.timeout_secs),
    };
    let loader: Loader = Box::new(move || load_model(&spec));
    let service = Service::new(loader, tokens, pseudonyms, recorder, config)?;
    let info = service.model().info();

    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = args.threads {
        runtime.worker_threads(n.max(1));
    }
    let runtime = runtime
        .enable_all()
        .build()
        .map_err(|e| Error::failure(format!("cannot start the async runtime: {e}")))?;
    let addr = args.addr;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .at(format!("listen address {addr}"))?;
        let local = listener.local_addr().at(format!("listen address {addr}"))?;
        ui.info(format!(
            "serving {} version {} on http://{local} (ctrl-c or SIGTERM drains and stops; SIGHUP reloads)",
            info.name, info.version
        ));
        let reload_ui = ui.clone();
        reload_on_sighup(Arc::clone(&service), move |r| match r {
            Ok(i) => reload_ui.info(format!("reloaded: {} version {}", i.name, i.version)),
            Err(e) => reload_ui.warn(format!("reload failed, the previous model keeps serving: {e}")),
        });
        serve(service, listener, shutdown_signal()).await
    })?;
    ui.info("stopped; logs written");
    Ok(0)
}
