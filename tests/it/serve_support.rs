//! What the serve tests share: a tiny trained model, a service in process
//! on 127.0.0.1:0, and a client (the load generator's own connection).
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use carelab::deid::pseudonym::Pseudonymizer;
use carelab::error::Result;
use carelab::infra::load::{parse_url, post_request, Connection};
use carelab::serve::server::Loader;
use carelab::serve::{hash_token, serve, Recorder, ServeConfig, Service, Tokens};
use serde_json::Value;
use tokio::sync::oneshot;

pub const PREDICT: &str = "tok-predict-1";
pub const KEY: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

pub fn tokens() -> Tokens {
    let text = format!(
        "[[token]]\nname = \"ward-app\"\nsha256 = \"{}\"\nroles = [\"predict\"]\n",
        hash_token(PREDICT)
    );
    Tokens::from_toml("tokens.toml", &text).unwrap()
}

/// The committed baseline analysis table (seed 42, 2,000 patients).
pub fn baseline_table() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/baseline/analysis.csv")
}

/// Train a small MLP on the committed baseline table into `dir/run`.
pub fn tiny_model(dir: &Path) -> PathBuf {
    let run_dir = dir.join("run");
    let config = carelab::train::config::TrainConfig {
        hidden: vec![8],
        epochs: 2,
        ..Default::default()
    };
    let job = carelab::train::TrainJob {
        config,
        data: baseline_table(),
        run_dir: run_dir.clone(),
        pause_after_epoch_ms: 0,
    };
    carelab::train::train(&job, &carelab::ui::Ui::silent()).unwrap();
    run_dir
}

pub struct Server {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    done: tokio::task::JoinHandle<Result<()>>,
    pub dir: tempfile::TempDir,
}

impl Server {
    pub async fn stop(mut self) -> tempfile::TempDir {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        self.done.await.unwrap().unwrap();
        self.dir
    }
}

/// Serve the model `spec` names, logging into a fresh temporary directory.
pub async fn start(spec: &str) -> Server {
    start_with(spec, None).await
}

/// `start`, over HTTPS when given a TLS config.
pub async fn start_with(
    spec: &str,
    tls: Option<std::sync::Arc<tokio_rustls::rustls::ServerConfig>>,
) -> Server {
    start_config(spec, tls, ServeConfig::default()).await
}

/// `start_with` under a given configuration.
pub async fn start_config(
    spec: &str,
    tls: Option<std::sync::Arc<tokio_rustls::rustls::ServerConfig>>,
    config: ServeConfig,
) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let spec = spec.to_string();
    let loader: Loader = Box::new(move || carelab::serve::load_model(&spec));
    let recorder = Recorder::start(
        Some(&dir.path().join("audit.jsonl")),
        Some(&dir.path().join("preds.jsonl")),
    )
    .unwrap();
    let pseudo = Pseudonymizer::new(&hex::decode(KEY).unwrap()).unwrap();
    let service = Service::new(loader, tokens(), Some(pseudo), recorder, config).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = oneshot::channel::<()>();
    let shutdown = async move {
        let _ = rx.await;
    };
    let done = match tls {
        Some(tls) => tokio::spawn(carelab::serve::serve_tls(service, listener, tls, shutdown)),
        None => tokio::spawn(serve(service, listener, shutdown)),
    };
    Server {
        addr,
        stop: Some(tx),
        done,
        dir,
    }
}

/// POST raw bytes with the predict token; the status and the JSON answer.
pub async fn post_bytes(addr: SocketAddr, path: &str, body: &[u8]) -> (u16, Value) {
    post_as(addr, path, PREDICT, body).await
}

/// POST raw bytes with a given bearer token.
pub async fn post_as(addr: SocketAddr, path: &str, token: &str, body: &[u8]) -> (u16, Value) {
    let url = parse_url(&format!("http://{addr}{path}")).unwrap();
    let mut c = Connection::connect(addr).await.unwrap();
    let answer = c
        .send(&post_request(&url, Some(token), body))
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&answer.body).to_string();
    let json = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    (answer.status, json)
}

pub async fn post(addr: SocketAddr, path: &str, body: &Value) -> (u16, Value) {
    post_bytes(addr, path, &serde_json::to_vec(body).unwrap()).await
}

/// GET with the predict token (or none); the status and the body's text.
pub async fn get(addr: SocketAddr, path: &str, token: Option<&str>) -> (u16, String) {
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let request = format!("GET {path} HTTP/1.1\r\nHost: test\r\n{auth}\r\n");
    let mut c = Connection::connect(addr).await.unwrap();
    let answer = c.send(request.as_bytes()).await.unwrap();
    (
        answer.status,
        String::from_utf8_lossy(&answer.body).to_string(),
    )
}
