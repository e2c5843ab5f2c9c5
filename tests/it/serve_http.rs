//! The inference service end to end, in process on 127.0.0.1:0, through a
//! tiny HTTP/1.1 client on a tokio TcpStream.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use carelab::clinical::analysis::AnalysisRow;
use carelab::deid::pseudonym::Pseudonymizer;
use carelab::error::Result;
use carelab::serve::input::row_to_json;
use carelab::serve::server::Loader;
use carelab::serve::{
    hash_token, read_prediction_log, serve, LinearModel, ModelInfo, Recorder, Scorer, ServeConfig,
    Service, Tokens,
};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::oneshot;

const PREDICT: &str = "tok-predict-1";
const ADMIN: &str = "tok-admin-1";
const KEY: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

fn tokens() -> Tokens {
    let text = format!(
        "[[token]]\nname = \"ward-app\"\nsha256 = \"{}\"\nroles = [\"predict\"]\n\n[[token]]\nname = \"ops\"\nsha256 = \"{}\"\nroles = [\"admin\"]\n",
        hash_token(PREDICT),
        hash_token(ADMIN)
    );
    Tokens::from_toml("tokens.toml", &text).unwrap()
}

fn model_json(version: &str) -> Value {
    json!({
        "name": "readmit", "version": version, "intercept": -2.0,
        "weights": {"age": 0.03, "chf": 0.8, "creatinine": 0.5},
        "means": {"age": 65.0, "creatinine": 1.0},
        "levels": {"sex": {"F": 0.0, "M": 0.2},
                   "disposition": {"home": 0.0, "home_health": 0.1, "skilled_nursing": 0.4, "left_ama": 0.6}}
    })
}

fn write_model(path: &Path, version: &str) {
    std::fs::write(path, serde_json::to_vec(&model_json(version)).unwrap()).unwrap();
}

fn row() -> AnalysisRow {
    AnalysisRow {
        age: 75.0,
        sex: "M".into(),
        race_ethnicity: "White".into(),
        payer: "Medicare".into(),
        los_days: 4.0,
        disposition: "skilled_nursing".into(),
        chf: 1.0,
        creatinine: Some(1.4),
        n_medications: 3.0,
        ..Default::default()
    }
}

fn body(patient: Option<&str>) -> Value {
    let mut v = Value::Object(row_to_json(&row()));
    if let Some(p) = patient {
        v["patient_id"] = json!(p);
    }
    v
}

fn expected_risk() -> f64 {
    let z: f64 = -2.0 + 0.03 * 10.0 + 0.8 + 0.5 * 0.4 + 0.2 + 0.4;
    1.0 / (1.0 + (-z).exp())
}

struct Server {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    done: tokio::task::JoinHandle<Result<()>>,
    dir: tempfile::TempDir,
}

impl Server {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    async fn stop(mut self) -> tempfile::TempDir {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        self.done.await.unwrap().unwrap();
        self.dir
    }
}

async fn start_with(loader: impl FnOnce(&Path) -> Loader, config: ServeConfig) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let loader = loader(dir.path());
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
    let done = tokio::spawn(serve(service, listener, async move {
        let _ = rx.await;
    }));
    Server {
        addr,
        stop: Some(tx),
        done,
        dir,
    }
}

/// A server scoring with the linear model in `model.json` in its temp dir.
async fn start(config: ServeConfig) -> Server {
    start_with(
        |dir| {
            let path = dir.join("model.json");
            write_model(&path, "1");
            Box::new(move || carelab::serve::load_model(path.to_str().unwrap()))
        },
        config,
    )
    .await
}

struct Reply {
    status: u16,
    headers: String,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &[u8],
) -> Reply {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: test\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    // A server may answer (413) before reading a huge body; ignore the reset.
    let _ = s.write_all(body).await;
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw).await;
    let text = String::from_utf8_lossy(&raw).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Reply {
        status,
        headers: head.to_ascii_lowercase(),
        body: body.to_string(),
    }
}

async fn post(addr: SocketAddr, path: &str, token: Option<&str>, body: &Value) -> Reply {
    request(
        addr,
        "POST",
        path,
        token,
        &serde_json::to_vec(body).unwrap(),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn predict_scores_logs_and_audits() {
    let srv = start(ServeConfig::default()).await;
    let r = post(
        srv.addr,
        "/v1/predict",
        Some(PREDICT),
        &body(Some("P000123")),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    assert!((v["risk"].as_f64().unwrap() - expected_risk()).abs() < 1e-12);
    assert_eq!(v["flagged"], json!(expected_risk() >= 0.5));
    assert_eq!(v["model"], "readmit");
    assert_eq!(v["version"], "1");

    let batch = json!({"instances": [body(None), body(Some("P2"))]});
    let r = post(srv.addr, "/v1/predict/batch", Some(PREDICT), &batch).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["predictions"].as_array().unwrap().len(), 2);

    let r = request(srv.addr, "GET", "/v1/model", Some(PREDICT), b"").await;
    assert_eq!(
        r.json()["features"],
        json!(["age", "sex", "disposition", "chf", "creatinine"])
    );
    let r = request(srv.addr, "GET", "/metrics", None, b"").await;
    assert!(
        r.body
            .contains("carelab_requests_total{route=\"/v1/predict\",status=\"200\"} 1"),
        "{}",
        r.body
    );
    assert!(r.body.contains("carelab_prediction_score_count 3"));
    assert!(r
        .body
        .contains("carelab_model_info{name=\"readmit\",version=\"1\"} 1"));

    let dir = srv.stop().await;
    let preds = read_prediction_log(dir.path().join("preds.jsonl")).unwrap();
    assert_eq!(preds.len(), 3);
    let pseudo = Pseudonymizer::new(&hex::decode(KEY).unwrap()).unwrap();
    assert_eq!(
        preds[0].patient.as_deref(),
        Some(pseudo.pseudonym("patient", "P000123").as_str())
    );
    assert_eq!(preds[0].features["creatinine"], json!(1.4));
    assert!((preds[0].score - expected_risk()).abs() < 1e-12);
    let audit = carelab::audit::verify(dir.path().join("audit.jsonl")).unwrap();
    assert!(audit.ok, "{:?}", audit.problem);
    assert_eq!(audit.records, 4, "one record per request");
    let text = std::fs::read_to_string(dir.path().join("audit.jsonl")).unwrap();
    assert!(text.contains("\"agent\":\"ward-app\""));
    assert!(text.contains(&pseudo.pseudonym("patient", "P000123")));
}

/// The recorder's guarantee: an answer goes out only after its request's
/// audit record and prediction are written, so a crash of the service at
/// any moment leaves every answered request in both logs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answered_request_is_already_in_the_logs() {
    let srv = start(ServeConfig::default()).await;
    let audit = srv.path("audit.jsonl");
    let preds = srv.path("preds.jsonl");
    for i in 1..=5u64 {
        let r = post(srv.addr, "/v1/predict", Some(PREDICT), &body(Some("P9"))).await;
        assert_eq!(r.status, 200, "{}", r.body);
        // Still serving, not closed: what a crash right now would leave.
        let v = carelab::audit::verify(&audit).unwrap();
        assert!(v.ok, "{:?}", v.problem);
        assert_eq!(v.records, i);
        assert_eq!(read_prediction_log(&preds).unwrap().len() as u64, i);
    }
    // A refused request is in the log before its answer too.
    let r = post(srv.addr, "/v1/predict", None, &body(None)).await;
    assert_eq!(r.status, 401);
    let v = carelab::audit::verify(&audit).unwrap();
    assert!(v.ok && v.records == 6, "{v:?}");
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_needs_a_token_with_the_right_role() {
    let srv = start(ServeConfig::default()).await;
    let b = body(None);
    let r = post(srv.addr, "/v1/predict", None, &b).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["error"], "unauthorized");
    assert!(r.headers.contains("www-authenticate: bearer"));
    assert_eq!(
        post(srv.addr, "/v1/predict", Some("nope"), &b).await.status,
        401
    );
    assert_eq!(
        post(srv.addr, "/v1/predict", Some(ADMIN), &b).await.status,
        403
    );
    assert_eq!(
        post(srv.addr, "/v1/admin/reload", Some(PREDICT), &json!({}))
            .await
            .status,
        403
    );
    assert_eq!(
        request(srv.addr, "GET", "/healthz", None, b"").await.status,
        200
    );
    assert_eq!(
        request(srv.addr, "GET", "/readyz", None, b"").await.status,
        200
    );
    let dir = srv.stop().await;
    let text = std::fs::read_to_string(dir.path().join("audit.jsonl")).unwrap();
    assert_eq!(text.matches("\"outcome\":\"4\"").count(), 4);
    assert!(
        text.contains("\"agent\":\"ops\""),
        "a wrong-role caller is still named"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_get_json_4xx() {
    let config = ServeConfig {
        max_batch: 3,
        max_body_bytes: 64 * 1024,
        ..ServeConfig::default()
    };
    let srv = start(config).await;
    let a = srv.addr;
    let mut wrong_types = body(None);
    wrong_types["age"] = json!("seventy");
    wrong_types["chf"] = json!([1]);
    wrong_types["sex"] = json!("X");
    let mut bad_instance = body(None);
    bad_instance.as_object_mut().unwrap().remove("los_days");
    let huge = vec![b' '; 200 * 1024];
    let cases: Vec<(&str, &str, Vec<u8>, u16, &str)> = vec![
        (
            "POST",
            "/v1/predict",
            b"{not json".to_vec(),
            400,
            "invalid_json",
        ),
        ("POST", "/v1/predict", b"".to_vec(), 400, "invalid_json"),
        (
            "POST",
            "/v1/predict",
            b"[1,2,3]".to_vec(),
            422,
            "invalid_fields",
        ),
        (
            "POST",
            "/v1/predict",
            serde_json::to_vec(&wrong_types).unwrap(),
            422,
            "invalid_fields",
        ),
        ("POST", "/v1/predict", huge, 413, "body_too_large"),
        (
            "POST",
            "/v1/predict/batch",
            br#"{"instances": []}"#.to_vec(),
            422,
            "empty_batch",
        ),
        (
            "POST",
            "/v1/predict/batch",
            br#"{"rows": []}"#.to_vec(),
            422,
            "invalid_fields",
        ),
        (
            "POST",
            "/v1/predict/batch",
            serde_json::to_vec(
                &json!({"instances": [body(None), body(None), body(None), body(None)]}),
            )
            .unwrap(),
            413,
            "batch_too_large",
        ),
        (
            "POST",
            "/v1/predict/batch",
            serde_json::to_vec(&json!({"instances": [body(None), bad_instance]})).unwrap(),
            422,
            "invalid_fields",
        ),
        (
            "GET",
            "/v1/predict",
            b"".to_vec(),
            405,
            "method_not_allowed",
        ),
        ("GET", "/nowhere", b"".to_vec(), 404, "not_found"),
    ];
    for (method, path, bytes, status, code) in cases {
        let r = request(a, method, path, Some(PREDICT), &bytes).await;
        assert_eq!(r.status, status, "{method} {path}: {}", r.body);
        assert_eq!(r.json()["error"], code, "{method} {path}");
    }
    let r = request(
        a,
        "POST",
        "/v1/predict",
        Some(PREDICT),
        &serde_json::to_vec(&wrong_types).unwrap(),
    )
    .await;
    let mut fields: Vec<String> = r.json()["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{}:{}",
                f["field"].as_str().unwrap(),
                f["problem"].as_str().unwrap()
            )
        })
        .collect();
    fields.sort();
    assert_eq!(
        fields,
        ["age:wrong_type", "chf:wrong_type", "sex:unknown_level"]
    );
    let r = request(
        a,
        "POST",
        "/v1/predict/batch",
        Some(PREDICT),
        &serde_json::to_vec(&json!({"instances": [body(None), bad_instance_of()]})).unwrap(),
    )
    .await;
    assert_eq!(r.json()["fields"][0]["field"], "instances[1].los_days");
    srv.stop().await;
}

fn bad_instance_of() -> Value {
    let mut v = body(None);
    v.as_object_mut().unwrap().remove("los_days");
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_phi_reaches_logs_or_audit() {
    let srv = start(ServeConfig::default()).await;
    let name = "Philippa Quentin-Marsh";
    let mrn = "MRN-77341902";
    let dob = "1948-03-17";
    let mut b = body(Some(mrn));
    b["stay_id"] = json!(mrn);
    post(srv.addr, "/v1/predict", Some(PREDICT), &b).await;
    let mut bad = body(Some(mrn));
    bad["sex"] = json!(name);
    bad["birth_date"] = json!(dob);
    bad["payer"] = json!(dob);
    let r = post(srv.addr, "/v1/predict", Some(PREDICT), &bad).await;
    assert_eq!(r.status, 422);
    assert!(!r.body.contains(name) && !r.body.contains(dob));
    let garbage = format!("{{\"patient_id\": \"{mrn}\", \"sex\": \"{name}\" oops");
    post_raw(srv.addr, garbage.as_bytes()).await;
    let batch = json!({"instances": [b.clone(), bad.clone()]});
    post(srv.addr, "/v1/predict/batch", Some(PREDICT), &batch).await;
    let metrics = request(srv.addr, "GET", "/metrics", None, b"").await.body;
    let dir = srv.stop().await;
    let mut written = metrics;
    for f in ["audit.jsonl", "preds.jsonl"] {
        written.push_str(&std::fs::read_to_string(dir.path().join(f)).unwrap());
    }
    assert!(written.contains("pat-"), "pseudonyms are logged");
    for phi in [name, mrn, dob, "77341902"] {
        assert!(!written.contains(phi), "{phi} leaked");
    }
}

async fn post_raw(addr: SocketAddr, bytes: &[u8]) -> Reply {
    let r = request(addr, "POST", "/v1/predict", Some(PREDICT), bytes).await;
    assert_eq!(r.status, 400);
    assert!(!r.body.contains("Philippa"));
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reload_swaps_the_model_without_dropping_requests() {
    let srv = start(ServeConfig::default()).await;
    let addr = srv.addr;
    let load = tokio::spawn(async move {
        let mut statuses = Vec::new();
        for _ in 0..60 {
            statuses.push(
                post(addr, "/v1/predict", Some(PREDICT), &body(None))
                    .await
                    .status,
            );
        }
        statuses
    });
    tokio::time::sleep(Duration::from_millis(20)).await;
    write_model(&srv.path("model.json"), "2");
    let r = post(addr, "/v1/admin/reload", Some(ADMIN), &json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["version"], "2");
    let statuses = load.await.unwrap();
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let r = post(addr, "/v1/predict", Some(PREDICT), &body(None)).await;
    assert_eq!(r.json()["version"], "2");

    // A broken model file: reload fails, version 2 keeps serving.
    std::fs::write(srv.path("model.json"), b"{broken").unwrap();
    let r = post(addr, "/v1/admin/reload", Some(ADMIN), &json!({})).await;
    assert_eq!(r.status, 500);
    assert_eq!(r.json()["error"], "reload_failed");
    let r = post(addr, "/v1/predict", Some(PREDICT), &body(None)).await;
    assert_eq!((r.status, r.json()["version"].clone()), (200, json!("2")));
    let m = request(addr, "GET", "/metrics", None, b"").await.body;
    assert!(m.contains("carelab_model_reloads_total 1"));
    srv.stop().await;
}

/// A scorer that takes its time, to fill the server up.
struct Slow {
    inner: LinearModel,
    started: Arc<AtomicUsize>,
}

impl Scorer for Slow {
    fn score(&self, rows: &[AnalysisRow]) -> Result<Vec<f64>> {
        self.started.fetch_add(1, Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(300));
        self.inner.score(rows)
    }
    fn info(&self) -> ModelInfo {
        self.inner.info()
    }
}

async fn start_slow(config: ServeConfig) -> (Server, Arc<AtomicUsize>) {
    let started = Arc::new(AtomicUsize::new(0));
    let counter = started.clone();
    let srv = start_with(
        move |_| {
            Box::new(move || {
                let inner: LinearModel = serde_json::from_value(model_json("1")).unwrap();
                Ok(Arc::new(Slow {
                    inner,
                    started: counter.clone(),
                }) as Arc<dyn Scorer>)
            })
        },
        config,
    )
    .await;
    (srv, started)
}

async fn wait_started(started: &AtomicUsize, n: usize) {
    while started.load(Ordering::SeqCst) < n {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrency_limit_and_timeout_answer_503() {
    let config = ServeConfig {
        max_concurrency: 1,
        timeout: Duration::from_millis(100),
        ..ServeConfig::default()
    };
    let (srv, started) = start_slow(config).await;
    let addr = srv.addr;
    let batch = json!({"instances": [body(None)]});
    let first =
        tokio::spawn(async move { post(addr, "/v1/predict/batch", Some(PREDICT), &batch).await });
    wait_started(&started, 1).await;
    let second = post(addr, "/v1/predict", Some(PREDICT), &body(None)).await;
    assert_eq!(second.status, 503);
    assert_eq!(second.json()["error"], "overloaded");
    assert_eq!(
        request(addr, "GET", "/healthz", None, b"").await.status,
        200,
        "health is never limited"
    );
    let first = first.await.unwrap();
    assert_eq!(first.status, 503);
    assert_eq!(first.json()["error"], "timeout");
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn shutdown_drains_requests_in_flight() {
    let (srv, started) = start_slow(ServeConfig::default()).await;
    let addr = srv.addr;
    let inflight =
        tokio::spawn(async move { post(addr, "/v1/predict", Some(PREDICT), &body(None)).await });
    wait_started(&started, 1).await;
    let dir = srv.stop().await;
    let r = inflight.await.unwrap();
    assert_eq!(r.status, 200, "the request in flight finished");
    assert!((r.json()["risk"].as_f64().unwrap() - expected_risk()).abs() < 1e-12);
    assert_eq!(
        read_prediction_log(dir.path().join("preds.jsonl"))
            .unwrap()
            .len(),
        1
    );
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "no longer listening"
    );
}
