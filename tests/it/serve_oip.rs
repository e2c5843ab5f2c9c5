//! The Open Inference Protocol (KServe V2) routes of `carelab serve`: the
//! JSON they answer, that a tensor scores exactly as the same rows do on
//! `/v1/predict`, the `{"error": ...}` refusals; and NVIDIA's own client
//! (`tritonclient[http]`, `scripts/oip-client.py`) against `carelab serve`.
//!
//! The client is Python: it runs from `$PEERS_VENV/bin/python`. Without it
//! (PEERS_VENV unset, or no tritonclient there) that test says so and
//! passes, unless `CARELAB_REQUIRE_CHECKERS=1` (as CI sets).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

use crate::serve_support::{get, post, post_as, post_bytes, start, tiny_model, PREDICT};

/// A complete stay (no missing number) in named features.
fn stay(age: f64, sex: &str, n_medications: f64, hr: Option<f64>) -> Value {
    let mut v = carelab::serve::input::example_request();
    for (k, x) in [
        ("dbp", 72.0),
        ("rr", 18.0),
        ("temp_c", 37.1),
        ("spo2", 96.0),
        ("weight_kg", 81.0),
        ("hba1c", 6.4),
        ("glucose", 118.0),
        ("potassium", 4.3),
        ("wbc", 7.9),
    ] {
        v[k] = json!(x);
    }
    v["age"] = json!(age);
    v["sex"] = json!(sex);
    v["n_medications"] = json!(n_medications);
    v["hr"] = json!(hr);
    v
}

fn stays() -> Vec<Value> {
    vec![
        stay(74.0, "F", 7.0, Some(88.0)),
        stay(81.0, "M", 3.0, Some(104.0)),
        stay(45.0, "F", 12.0, Some(61.0)),
    ]
}

/// A stay as a tensor row of `columns` (NaN for a missing number; the
/// derived features as the row implies them).
fn tensor_row(stay: &Value, columns: &[Value]) -> Vec<f32> {
    columns
        .iter()
        .map(|c| {
            let c = c.as_str().unwrap();
            match c.split_once('=') {
                Some((f, level)) => f32::from(stay[f] == level),
                None => match c {
                    "age_over_75" => f32::from(stay["age"].as_f64().unwrap() > 75.0),
                    "polypharmacy" => f32::from(stay["n_medications"].as_f64().unwrap() >= 5.0),
                    _ => stay[c].as_f64().map_or(f32::NAN, |x| x as f32),
                },
            }
        })
        .collect()
}

/// `/v1/predict`'s risk for each stay, its numbers sent as the FP32 values
/// a tensor carries (37.1 is 37.09999847 in FP32).
async fn v1_risks(addr: std::net::SocketAddr, stays: &[Value]) -> Vec<f64> {
    let mut out = Vec::new();
    for s in stays {
        let mut s = s.clone();
        for v in s.as_object_mut().unwrap().values_mut() {
            if let Some(x) = v.as_f64() {
                *v = json!(f64::from(x as f32));
            }
        }
        let (status, answer) = post(addr, "/v1/predict", &s).await;
        assert_eq!(status, 200, "{answer}");
        out.push(answer["risk"].as_f64().unwrap());
    }
    out
}

async fn get_json(addr: std::net::SocketAddr, path: &str, token: Option<&str>) -> (u16, Value) {
    let (status, text) = get(addr, path, token).await;
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn infer_body(rows: &[Vec<f32>], nested: bool) -> Value {
    let width = rows[0].len();
    let data: Value = if nested {
        json!(rows)
    } else {
        json!(rows.concat())
    };
    json!({"id": "req-7", "inputs": [{"name": "features", "datatype": "FP32",
        "shape": [rows.len(), width], "data": data}]})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_v2_routes_answer_as_the_protocol_says_and_score_as_v1_does() {
    let work = tempfile::tempdir().unwrap();
    let run = tiny_model(work.path());
    let server = start(run.to_str().unwrap()).await;
    let addr = server.addr;

    // Health is open, like /healthz; the rest takes the predict token.
    assert_eq!(get(addr, "/v2/health/live", None).await.0, 200);
    assert_eq!(get(addr, "/v2/health/ready", None).await.0, 200);
    assert_eq!(get(addr, "/v2/models/run", None).await.0, 401);
    let (status, server_meta) = get_json(addr, "/v2", Some(PREDICT)).await;
    assert_eq!(status, 200);
    assert_eq!(server_meta["name"], "carelab");

    let (status, meta) = get_json(addr, "/v2/models/run", Some(PREDICT)).await;
    assert_eq!(status, 200, "{meta}");
    let (_, model) = get_json(addr, "/v1/model", Some(PREDICT)).await;
    let version = model["version"].as_str().unwrap().to_string();
    assert_eq!(meta["name"], "run");
    assert_eq!(meta["versions"], json!([version]));
    assert_eq!(meta["inputs"][0]["name"], "features");
    assert_eq!(meta["inputs"][0]["datatype"], "FP32");
    let columns = meta["parameters"]["columns"].as_array().unwrap().clone();
    // 33 features, the 4 categorical ones a column a level seen in training.
    assert!(columns.len() > 33, "{columns:?}");
    assert_eq!(meta["inputs"][0]["shape"], json!([-1, columns.len()]));
    assert_eq!(columns[0], "age");
    assert!(columns.contains(&json!("sex=F")) && columns.contains(&json!("sex=M")));
    assert_eq!(
        meta["outputs"][0],
        json!({"name": "probability", "datatype": "FP32", "shape": [-1, 1]})
    );
    let path = format!("/v2/models/run/versions/{version}");
    assert_eq!(get_json(addr, &path, Some(PREDICT)).await.1, meta);
    let (status, ready) = get_json(addr, "/v2/models/run/ready", Some(PREDICT)).await;
    assert_eq!((status, ready["ready"].clone()), (200, json!(true)));

    // A batch, flat and nested, scores as /v1/predict scores its rows.
    let stays = stays();
    let rows: Vec<Vec<f32>> = stays.iter().map(|s| tensor_row(s, &columns)).collect();
    let want = v1_risks(addr, &stays).await;
    for (route, nested) in [
        ("/v2/models/run/infer".to_string(), false),
        (format!("/v2/models/run/versions/{version}/infer"), true),
    ] {
        let (status, answer) = post(addr, &route, &infer_body(&rows, nested)).await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["id"], "req-7");
        assert_eq!(answer["model_name"], "run");
        assert_eq!(answer["model_version"], json!(version));
        let out = &answer["outputs"][0];
        assert_eq!(out["name"], "probability");
        assert_eq!(out["datatype"], "FP32");
        assert_eq!(out["shape"], json!([3, 1]));
        let got: Vec<f32> = serde_json::from_value(out["data"].clone()).unwrap();
        let want32: Vec<f32> = want.iter().map(|r| *r as f32).collect();
        assert_eq!(got, want32, "{route}");
    }

    // Binary tensors both ways, with a missing number as NaN.
    let mut missing = stays[0].clone();
    missing["hr"] = Value::Null;
    let row = tensor_row(&missing, &columns);
    let head = serde_json::to_vec(&json!({"inputs": [{"name": "features", "datatype": "FP32",
        "shape": [1, columns.len()], "parameters": {"binary_data_size": row.len() * 4}}],
        "outputs": [{"name": "probability", "parameters": {"binary_data": true}}]}))
    .unwrap();
    let mut body = head.clone();
    body.extend(row.iter().flat_map(|x| x.to_le_bytes()));
    let request = format!(
        "POST /v2/models/run/infer HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {PREDICT}\r\nInference-Header-Content-Length: {}\r\nContent-Length: {}\r\n\r\n",
        head.len(),
        body.len()
    );
    let mut wire = request.into_bytes();
    wire.extend(&body);
    let mut c = carelab::infra::load::Connection::connect(addr)
        .await
        .unwrap();
    let answer = c.send(&wire).await.unwrap();
    assert_eq!(answer.status, 200);
    let text = String::from_utf8_lossy(&answer.body);
    let split = text.find("}]}").expect("a JSON header") + 3;
    let header: Value = serde_json::from_slice(&answer.body[..split]).unwrap();
    assert_eq!(header["outputs"][0]["parameters"]["binary_data_size"], 4);
    let bytes: [u8; 4] = answer.body[split..].try_into().unwrap();
    let want_missing = v1_risks(addr, &[missing]).await[0] as f32;
    assert_eq!(f32::from_le_bytes(bytes), want_missing);

    // Refusals: {"error": "..."}, 404 for a model or version not served,
    // 400 for a tensor that does not fit or a row that fails validation.
    let (status, e) = post(addr, "/v2/models/other/infer", &infer_body(&rows, false)).await;
    assert_eq!(status, 404);
    assert!(e["error"].as_str().unwrap().contains("\"other\""), "{e}");
    let (status, e) = post(
        addr,
        "/v2/models/run/versions/9/infer",
        &infer_body(&rows, false),
    )
    .await;
    assert_eq!(status, 404);
    assert!(
        e["error"].as_str().unwrap().contains("no version \"9\""),
        "{e}"
    );
    assert_eq!(
        get_json(addr, "/v2/models/other", Some(PREDICT)).await.0,
        404
    );
    let mut wrong = infer_body(&rows, false);
    wrong["inputs"][0]["datatype"] = json!("INT64");
    let (status, e) = post(addr, "/v2/models/run/infer", &wrong).await;
    assert_eq!(status, 400);
    assert_eq!(
        e["error"],
        "input \"features\" has datatype \"INT64\"; the model takes FP32"
    );
    let mut wrong = infer_body(&rows, false);
    wrong["inputs"][0]["shape"] = json!([3, 5]);
    let (status, e) = post(addr, "/v2/models/run/infer", &wrong).await;
    assert_eq!(status, 400);
    assert!(e["error"].as_str().unwrap().contains("shape [3, 5]"), "{e}");
    let mut old = rows.clone();
    let age = columns.iter().position(|c| c == "age").unwrap();
    old[1][age] = 160.0;
    let (status, e) = post(addr, "/v2/models/run/infer", &infer_body(&old, false)).await;
    assert_eq!(status, 400);
    assert!(
        e["error"].as_str().unwrap().starts_with("row 1: age "),
        "{e}"
    );
    let (status, e) = post_bytes(addr, "/v2/models/run/infer", b"{not json").await;
    assert_eq!(status, 400);
    assert!(
        e["error"].as_str().unwrap().contains("not valid JSON"),
        "{e}"
    );
    let (status, _) = post_as(addr, "/v2/models/run/infer", "wrong", b"{}").await;
    assert_eq!(status, 401);

    // Audited and logged like every predict route.
    let dir = server.stop().await;
    let audit = std::fs::read_to_string(dir.path().join("audit.jsonl")).unwrap();
    assert!(
        audit.contains("POST /v2/models/{name}/infer 200: scored 3 with run version"),
        "{audit}"
    );
    let logged = carelab::serve::read_prediction_log(dir.path().join("preds.jsonl")).unwrap();
    // 3 + 1 on /v1, 3 + 3 + 1 over the protocol.
    assert_eq!(logged.len(), 11);
}

/// `$PEERS_VENV/bin/python` when it can import tritonclient.http. Otherwise
/// `None` after printing why, or a panic when `CARELAB_REQUIRE_CHECKERS=1`.
fn triton_python() -> Option<PathBuf> {
    let required = std::env::var("CARELAB_REQUIRE_CHECKERS").as_deref() == Ok("1");
    let missing = |why: String| {
        assert!(!required, "CARELAB_REQUIRE_CHECKERS=1 but {why}");
        eprintln!("skipped: {why} (set PEERS_VENV to a venv with tritonclient[http])");
        None
    };
    let Some(venv) = std::env::var_os("PEERS_VENV") else {
        return missing("PEERS_VENV is not set".into());
    };
    let python = Path::new(&venv).join("bin").join("python");
    let imports = Command::new(&python)
        .args(["-c", "import tritonclient.http"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !imports {
        return missing(format!(
            "{} cannot import tritonclient.http",
            python.display()
        ));
    }
    Some(python)
}

/// NVIDIA's client, against `carelab serve` itself: live, ready, the
/// metadata, and a batch (JSON and binary tensors) scored as /v1/predict.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tritonclient_calls_carelab_serve() {
    use std::io::BufRead;
    let Some(python) = triton_python() else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let run = tiny_model(work.path());
    let tokens = work.path().join("tokens.toml");
    std::fs::write(
        &tokens,
        format!(
            "[[token]]\nname = \"platform\"\nsha256 = \"{}\"\nroles = [\"predict\"]\n",
            carelab::serve::hash_token(PREDICT)
        ),
    )
    .unwrap();
    /// Stops the server however the test ends.
    struct Served(std::process::Child);
    impl Drop for Served {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_carelab"))
        .args(["serve", "--addr", "127.0.0.1:0", "--model"])
        .arg(&run)
        .arg("--tokens")
        .arg(&tokens)
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let child = Served(child);
    let addr: std::net::SocketAddr = loop {
        let line = lines.next().expect("serve said where it listens").unwrap();
        if let Some(rest) = line.split("on http://").nth(1) {
            break rest.split_whitespace().next().unwrap().parse().unwrap();
        }
    };
    let (_, meta) = get_json(addr, "/v2/models/run", Some(PREDICT)).await;
    let columns = meta["parameters"]["columns"].as_array().unwrap().clone();
    let mut stays = stays();
    let mut missing = stays[1].clone();
    missing["hr"] = Value::Null;
    stays.push(missing);
    let rows: Vec<Vec<Value>> = stays
        .iter()
        .map(|s| {
            tensor_row(s, &columns)
                .into_iter()
                .map(|x| if x.is_nan() { Value::Null } else { json!(x) })
                .collect()
        })
        .collect();
    let rows_file = work.path().join("rows.json");
    std::fs::write(&rows_file, serde_json::to_vec(&rows).unwrap()).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/oip-client.py");
    let out = Command::new(&python)
        .arg(script)
        .arg(addr.to_string())
        .args(["run", PREDICT])
        .arg(&rows_file)
        .output()
        .unwrap();
    let want: Vec<f32> = v1_risks(addr, &stays)
        .await
        .into_iter()
        .map(|r| r as f32)
        .collect();
    drop(child);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["live"], true);
    assert_eq!(report["ready"], true);
    assert_eq!(report["model_ready"], true);
    assert_eq!(report["metadata"], meta);
    // JSON has no NaN: the JSON-data call sends the complete rows only.
    let binary: Vec<f32> = serde_json::from_value(report["binary_data"].clone()).unwrap();
    assert_eq!(binary, want);
    let json_data: Vec<f32> = serde_json::from_value(report["json_data"].clone()).unwrap();
    assert_eq!(json_data, want[..3]);
}
