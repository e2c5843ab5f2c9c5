//! The tour's serving step: serve a model in process, call it the three
//! ways a hospital system would (named features, a FHIR Bundle, a request
//! with a mistake in it), put it under a short load, stop it, and check the
//! audit log it wrote. Every call goes over real HTTP on loopback.

use std::path::Path;
use std::time::Duration;

use serde::Serialize;
use serde_json::{json, Value};

use crate::error::{Error, IoContext, Result};
use crate::infra::load::{self, Connection, LoadOptions, LoadReport, Stop};
use crate::ui::Ui;

use super::local::LocalServer;
use super::server::ServeConfig;

/// What the demo did and saw.
#[derive(Debug, Clone, Serialize)]
pub struct DemoReport {
    pub model: String,
    pub version: String,
    /// The risk `/v1/predict` gave the example request.
    pub json_risk: f64,
    /// The risk `/v1/predict/fhir` gave the first Bundle it could score.
    pub fhir_risk: Option<f64>,
    /// Bundles sent until one could be scored (the others' error codes).
    pub fhir_refused: Vec<String>,
    /// The fields a bad request was told about.
    pub rejected_fields: Vec<String>,
    pub load: LoadReport,
    /// Records in the audit log, and whether its hash chain verifies.
    pub audit_records: u64,
    pub audit_ok: bool,
}

/// Run the demo against `model` (as `carelab serve --model` takes it),
/// with Bundles from `bundles` (NDJSON, one patient's Bundle a line, as
/// `carelab data generate --formats fhir` writes), logs into `logs`.
pub fn run(
    model: &str,
    registry: Option<&Path>,
    bundles: &Path,
    logs: &Path,
    requests: u64,
    ui: &Ui,
) -> Result<DemoReport> {
    let text = std::fs::read_to_string(bundles).at(bundles)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::failure(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async {
        let server = LocalServer::start(model, registry, logs, ServeConfig::default()).await?;
        let result = calls(&server, &text, requests, ui).await;
        let stopped = server.stop().await;
        let mut report = result?;
        stopped?;
        let audit = crate::audit::verify(logs.join("audit.jsonl"))?;
        report.audit_records = audit.records;
        report.audit_ok = audit.ok;
        ui.info(format!(
            "stopped; the audit log holds {} records, hash chain {}",
            audit.records,
            if audit.ok { "verified" } else { "BROKEN" }
        ));
        Ok::<DemoReport, Error>(report)
    })
}

async fn post(server: &LocalServer, path: &str, body: &Value) -> Result<(u16, Value)> {
    let url = load::parse_url(&format!("http://{}{path}", server.addr))?;
    let failed = |e: std::io::Error| Error::failure(format!("POST {path} in process: {e}"));
    let mut c = Connection::connect(server.addr).await.map_err(failed)?;
    let bytes = serde_json::to_vec(body).map_err(|e| Error::failure(e.to_string()))?;
    let answer = c
        .send(&load::post_request(&url, Some(&server.token), &bytes))
        .await
        .map_err(failed)?;
    let json = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
    Ok((answer.status, json))
}

async fn calls(server: &LocalServer, bundles: &str, requests: u64, ui: &Ui) -> Result<DemoReport> {
    let info = server.service.model().info();
    ui.info(format!(
        "serving {} version {} on http://{} (token made for this run)",
        info.name, info.version, server.addr
    ));

    let example = super::input::example_request();
    let (status, answer) = post(server, "/v1/predict", &example).await?;
    let json_risk = answer["risk"]
        .as_f64()
        .filter(|_| status == 200)
        .ok_or_else(|| Error::failure(format!("POST /v1/predict answered {status}: {answer}")))?;
    ui.info(format!(
        "POST /v1/predict (named features) -> {status}: risk {json_risk:.3}, flagged {}",
        answer["flagged"]
    ));

    let mut fhir_risk = None;
    let mut fhir_refused = Vec::new();
    for line in bundles.lines().filter(|l| !l.trim().is_empty()).take(10) {
        let bundle: Value = serde_json::from_str(line).unwrap_or(Value::Null);
        let (status, answer) = post(server, "/v1/predict/fhir", &bundle).await?;
        if status == 200 {
            fhir_risk = answer["risk"].as_f64();
            ui.info(format!(
                "POST /v1/predict/fhir (a patient's Bundle, {} entries) -> 200: risk {:.3} for the stay discharged last, {} record(s) quarantined",
                bundle["entry"].as_array().map_or(0, Vec::len),
                fhir_risk.unwrap_or(f64::NAN),
                answer["quarantined"].as_array().map_or(0, Vec::len)
            ));
            break;
        }
        let code = answer["error"].as_str().unwrap_or("?").to_string();
        ui.info(format!(
            "POST /v1/predict/fhir -> {status} {code}: {}",
            answer["message"]
        ));
        fhir_refused.push(code);
    }

    let mut bad = example.clone();
    if let Some(o) = bad.as_object_mut() {
        o.remove("los_days");
        o.insert("age".into(), json!("seventy"));
    }
    let (status, answer) = post(server, "/v1/predict", &bad).await?;
    let rejected_fields: Vec<String> = answer["fields"]
        .as_array()
        .map(|fs| {
            fs.iter()
                .map(|f| {
                    format!(
                        "{} ({})",
                        f["field"].as_str().unwrap_or("?"),
                        f["problem"].as_str().unwrap_or("?")
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    ui.info(format!(
        "POST /v1/predict with a missing and a mistyped field -> {status}: {}",
        rejected_fields.join(", ")
    ));

    let url = load::parse_url(&format!("http://{}/v1/predict", server.addr))?;
    let body = serde_json::to_vec(&example).map_err(|e| Error::failure(e.to_string()))?;
    let opts = LoadOptions {
        connections: 8,
        stop: Stop::Requests(requests),
        timeout: Duration::from_secs(30),
    };
    let report = load::run(
        &url,
        load::post_request(&url, Some(&server.token), &body),
        &opts,
    )
    .await?;
    ui.info(format!("load test:\n{}", report.to_text()));
    Ok(DemoReport {
        model: info.name,
        version: info.version,
        json_risk,
        fhir_risk,
        fhir_refused,
        rejected_fields,
        load: report,
        audit_records: 0,
        audit_ok: false,
    })
}
