//! The HTTP service: routes, the guard every request passes, and shutdown.
//!
//! Every request goes through one middleware (`guard`) that, in order:
//! names the route, enforces the concurrency limit, checks the bearer token
//! and its role, runs the handler under a timeout, turns any error without
//! a JSON body into one, counts the request in the metrics and writes an
//! audit record. Handlers only parse, score and answer.
//!
//! The live model sits in an `RwLock<Live>`: a request clones its two
//! `Arc`s (the scorer and its `ModelInfo`, built once per load rather than
//! cloned, model card and all, per request) and validates and scores with
//! that pair, so a reload swaps them while requests already running finish
//! on the model they started with.
//!
//! A request is answered only once its audit record has been written (the
//! recorder's group commit; see `recorder` for the exact guarantee).

use std::future::Future;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::{from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;
use serde_json::{json, Value};
use tokio::sync::Semaphore;

use crate::audit::AuditEvent;
use crate::deid::pseudonym::Pseudonymizer;
use crate::error::{Error, Result};
use crate::formats::fhir::Json as JsonText;
use crate::ingest::maps::Maps;

use super::auth::{Role, Tokens};
use super::cds::{self, CdsProblem};
use super::fhir::{row_from_bundle, row_from_entries, FhirProblem, FhirRow};
use super::input::{parse_predict, parse_predict_json, row_to_json, FieldProblem, PredictInput};
use super::jwt::JwtTrust;
use super::metrics::Metrics;
use super::oip::{self, OipError};
use super::recorder::{Prediction, Recorder};
use super::scorer::{ModelInfo, Scorer};

/// Where models come from: called at start and on every reload.
pub type Loader = Box<dyn Fn() -> Result<Arc<dyn Scorer>> + Send + Sync>;

/// Limits and settings of one service.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Risk at or above which a patient is flagged.
    pub threshold: f64,
    /// Most rows in one batch request.
    pub max_batch: usize,
    /// Most requests handled at once; more get 503 at once, not a queue.
    pub max_concurrency: usize,
    /// Largest request body in bytes.
    pub max_body_bytes: usize,
    /// Longest a request may take.
    pub timeout: Duration,
    /// The service's address as callers reach it (`https://cds.example.org`):
    /// the `aud` a CDS Hooks JWT must carry, and the base of card links
    /// (without it, the request's Host header).
    pub public_url: Option<String>,
    /// With it, the CDS Hooks routes take the EHR's signed JWT (CDS Hooks
    /// trust) instead of a bearer token from the tokens file.
    pub cds_trust: Option<Arc<JwtTrust>>,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            threshold: 0.5,
            max_batch: 256,
            max_concurrency: 64,
            max_body_bytes: 1 << 20,
            timeout: Duration::from_secs(10),
            public_url: None,
            cds_trust: None,
        }
    }
}

/// The model being served and its description, swapped together.
#[derive(Clone)]
struct Live {
    scorer: Arc<dyn Scorer>,
    info: Arc<ModelInfo>,
}

impl Live {
    fn new(scorer: Arc<dyn Scorer>) -> Live {
        let info = Arc::new(scorer.info());
        Live { scorer, info }
    }
}

/// Everything a running service holds.
pub struct Service {
    model: RwLock<Live>,
    loader: Loader,
    tokens: Tokens,
    pseudonyms: Option<Pseudonymizer>,
    recorder: Recorder,
    metrics: Metrics,
    config: ServeConfig,
    permits: Arc<Semaphore>,
    /// Ingest's code and unit maps, for FHIR input.
    maps: Maps,
}

/// The routes, and the role each needs (`None`: open to all). A `{name}`
/// segment matches any one segment; metrics and the audit log name the
/// route by its pattern. The CDS Hooks routes score patients, so they need
/// the predict role as the other scoring routes do.
const ROUTES: [(&str, Option<Role>); 22] = [
    ("/v1/predict", Some(Role::Predict)),
    ("/v1/predict/batch", Some(Role::Predict)),
    ("/v1/predict/fhir", Some(Role::Predict)),
    ("/v1/model", Some(Role::Predict)),
    // The card a CDS card's source links to: documentation a clinician's
    // browser opens without a token, like /metrics; it holds no patient data.
    ("/v1/model/card", None),
    ("/cds-services", Some(Role::Predict)),
    ("/cds-services/{id}", Some(Role::Predict)),
    ("/cds-services/{id}/feedback", Some(Role::Predict)),
    ("/v1/admin/reload", Some(Role::Admin)),
    // The Open Inference Protocol: health open like /healthz, the model's
    // metadata and scoring under the predict role like /v1/model.
    ("/v2", Some(Role::Predict)),
    ("/v2/health/live", None),
    ("/v2/health/ready", None),
    ("/v2/models/{name}", Some(Role::Predict)),
    ("/v2/models/{name}/ready", Some(Role::Predict)),
    ("/v2/models/{name}/infer", Some(Role::Predict)),
    ("/v2/models/{name}/versions/{v}", Some(Role::Predict)),
    ("/v2/models/{name}/versions/{v}/ready", Some(Role::Predict)),
    ("/v2/models/{name}/versions/{v}/infer", Some(Role::Predict)),
    ("/healthz", None),
    ("/readyz", None),
    ("/metrics", None),
    ("other", None),
];

/// True when `path` fits the route `pattern`.
fn route_matches(pattern: &str, path: &str) -> bool {
    let (mut p, mut q) = (pattern.split('/'), path.split('/'));
    loop {
        match (p.next(), q.next()) {
            (None, None) => return true,
            (Some(a), Some(b)) if a.starts_with('{') && !b.is_empty() => {}
            (Some(a), Some(b)) if a == b => {}
            _ => return false,
        }
    }
}

/// Routes that answer even when the service is at its concurrency limit.
fn exempt_from_limit(route: &str) -> bool {
    matches!(
        route,
        "/healthz" | "/readyz" | "/metrics" | "/v2/health/live" | "/v2/health/ready"
    )
}

/// What a handler tells the guard for the audit record.
#[derive(Clone, Debug)]
struct AuditNote {
    entity: String,
    detail: String,
}

/// A JSON error response.
fn error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    let body = json!({"error": code, "message": message.into()});
    (status, Json(body)).into_response()
}

fn invalid_fields(fields: Vec<FieldProblem>) -> Response {
    let body = json!({
        "error": "invalid_fields",
        "message": format!("{} field(s) failed validation", fields.len()),
        "fields": fields,
    });
    (StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response()
}

impl Service {
    /// Load the first model and open the logs.
    pub fn new(
        loader: Loader,
        tokens: Tokens,
        pseudonyms: Option<Pseudonymizer>,
        recorder: Recorder,
        config: ServeConfig,
    ) -> Result<Arc<Service>> {
        let live = Live::new(loader()?);
        let metrics = Metrics::default();
        metrics.model(&live.info.name, &live.info.version, false);
        Ok(Arc::new(Service {
            model: RwLock::new(live),
            loader,
            tokens,
            pseudonyms,
            recorder,
            metrics,
            permits: Arc::new(Semaphore::new(config.max_concurrency.max(1))),
            config,
            maps: Maps::builtin()?,
        }))
    }

    /// The model requests are scored with right now.
    pub fn model(&self) -> Arc<dyn Scorer> {
        self.live().scorer
    }

    fn live(&self) -> Live {
        match self.model.read() {
            Ok(m) => m.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Load the model again (a new production version) and swap it in; on
    /// failure the old model keeps serving.
    pub fn reload(&self) -> Result<ModelInfo> {
        let fresh = Live::new((self.loader)()?);
        let info = (*fresh.info).clone();
        match self.model.write() {
            Ok(mut m) => *m = fresh,
            Err(poisoned) => *poisoned.into_inner() = fresh,
        }
        self.metrics.model(&info.name, &info.version, true);
        self.recorder.audit(AuditEvent {
            detail: format!("model reloaded: {} version {}", info.name, info.version),
            agent: "carelab-serve".into(),
            ..AuditEvent::new("rest", "U", "carelab-serve")
        });
        Ok(info)
    }

    /// Write out the logs; call after the last request.
    pub fn close(&self) -> Result<()> {
        self.recorder.close()
    }

    /// The metrics text, as `/metrics` serves it.
    pub fn metrics_text(&self) -> String {
        self.metrics.render()
    }

    fn pseudonym(&self, kind: &str, id: Option<&str>) -> Option<String> {
        Some(self.pseudonyms.as_ref()?.pseudonym(kind, id?))
    }

    /// The HTTP routes with the guard around them.
    pub fn router(self: &Arc<Self>) -> Router {
        Router::new()
            .route("/v1/predict", post(predict))
            .route("/v1/predict/batch", post(predict_batch))
            .route("/v1/predict/fhir", post(predict_fhir))
            .route("/v1/model", get(model_info))
            .route("/v1/model/card", get(model_card))
            .route("/v1/admin/reload", post(reload))
            .route("/cds-services", get(cds_discovery))
            .route("/cds-services/{id}", post(cds_call))
            .route("/cds-services/{id}/feedback", post(cds_feedback))
            .route("/v2", get(oip_server))
            .route("/v2/health/live", get(healthz))
            .route("/v2/health/ready", get(readyz))
            .route("/v2/models/{name}", get(oip_metadata))
            .route("/v2/models/{name}/ready", get(oip_ready))
            .route("/v2/models/{name}/infer", post(oip_infer))
            .route("/v2/models/{name}/versions/{v}", get(oip_metadata_v))
            .route("/v2/models/{name}/versions/{v}/ready", get(oip_ready_v))
            .route("/v2/models/{name}/versions/{v}/infer", post(oip_infer_v))
            .route("/healthz", get(healthz))
            .route("/readyz", get(readyz))
            .route("/metrics", get(metrics))
            .fallback(not_found)
            .layer(DefaultBodyLimit::max(self.config.max_body_bytes))
            .layer(from_fn_with_state(self.clone(), guard))
            .with_state(self.clone())
    }

    /// A FHIR Bundle read, turned into its row, validated and scored as
    /// `/v1/predict` scores: the one path `/v1/predict/fhir` and the CDS
    /// Hooks services share.
    #[allow(clippy::result_large_err)]
    fn score_bundle(
        &self,
        bytes: &[u8],
        value: &Value,
    ) -> std::result::Result<FhirScored, Unscored> {
        let Ok(text) = std::str::from_utf8(bytes) else {
            return Err(error(
                StatusCode::BAD_REQUEST,
                "invalid_json",
                "the request body is not UTF-8",
            )
            .into());
        };
        self.score_row(row_from_bundle(text, value, &self.maps))
    }

    /// The row read from FHIR resources (a Bundle's, or a CDS prefetch's),
    /// validated and scored as `/v1/predict` scores.
    #[allow(clippy::result_large_err)]
    fn score_row(
        &self,
        read: std::result::Result<FhirRow, FhirProblem>,
    ) -> std::result::Result<FhirScored, Unscored> {
        let read = read.map_err(Unscored::Fhir)?;
        let live = self.live();
        let features = row_to_json(&read.row);
        let mut input =
            parse_predict(&Value::Object(features.clone()), &live.info).map_err(invalid_fields)?;
        input.patient_id = Some(read.patient_id.clone());
        input.stay_id = Some(read.stay_id.clone());
        let contributions = live.scorer.contributions(&input.row);
        let (risks, mut note) = self.score(&live, vec![input])?;
        let Some(risk) = risks.first().copied() else {
            return Err(error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "model_error",
                "the model returned no score",
            )
            .into());
        };
        note.detail = format!(
            "{} from a FHIR Bundle, {} record(s) quarantined",
            note.detail,
            read.quarantined.len()
        );
        Ok(FhirScored {
            live,
            read,
            features,
            contributions,
            risk,
            note,
        })
    }

    /// The FHIR route's work, on the blocking pool.
    fn predict_fhir(&self, bytes: &[u8], value: &Value) -> Response {
        let s = match self.score_bundle(bytes, value) {
            Ok(s) => s,
            Err(u) => return u.into_response(),
        };
        let mut answer = json!(self.answer(&s.live.info, s.risk));
        if let Some(o) = answer.as_object_mut() {
            o.insert("stay_id".into(), json!(s.read.stay_id));
            o.insert("features".into(), Value::Object(s.features));
            o.insert("quarantined".into(), json!(s.read.quarantined));
            o.insert("skipped_types".into(), json!(s.read.skipped_types));
        }
        with_note(Json(answer).into_response(), s.note)
    }

    /// A CDS Hooks call's work, on the blocking pool: the body parsed once,
    /// the prefetch read in place as one Bundle's entries, scored by
    /// `score_row` as `/v1/predict/fhir` scores, answered as a card (or none).
    fn cds_call(&self, svc: &'static cds::CdsService, bytes: &[u8], base_url: &str) -> Response {
        let value = match parse_borrowed(bytes) {
            Ok(v) => v,
            Err(r) => return r,
        };
        let call = match cds::parse_call(svc, &value) {
            Ok(c) => c,
            Err(p) => return cds_error(p),
        };
        let s = match self.score_row(row_from_entries(&call.entries, &self.maps)) {
            Ok(s) => s,
            // Opening the chart of someone never discharged from a stay (or
            // whose last stay ended in death) is no error: nothing to say.
            Err(Unscored::Fhir(p))
                if svc.hook == "patient-view"
                    && matches!(p.code, "no_discharge" | "patient_expired") =>
            {
                self.metrics.cds_card(svc.id, "none");
                let note = AuditNote {
                    entity: self
                        .pseudonym("patient", Some(&call.patient_id))
                        .unwrap_or_else(|| "-".into()),
                    detail: format!(
                        "CDS service {} hookInstance {}: no card ({})",
                        svc.id, call.hook_instance, p.code
                    ),
                };
                return with_note(Json(json!({"cards": []})).into_response(), note);
            }
            Err(u) => return u.into_response(),
        };
        if let Some(e) = &call.encounter_id {
            if *e != s.read.stay_id {
                return error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "not_latest_discharge",
                    "context.encounterId is not the patient's latest discharged inpatient stay in the prefetch (an inpatient Encounter with period.end)",
                );
            }
        }
        let info = &s.live.info;
        let (threshold, source) = match info.operating_point {
            Some(t) => (t, "the model's operating point from its evaluation"),
            None => (self.config.threshold, "the service's --threshold"),
        };
        let card = cds::card(&cds::CardInput {
            risk: s.risk.risk,
            threshold,
            threshold_source: source,
            model: &info.name,
            version: &info.version,
            model_card_url: format!("{base_url}/v1/model/card"),
            patient_id: &call.patient_id,
            stay_id: &s.read.stay_id,
            features: &s.features,
            contributions: s.contributions,
            quarantined: s.read.quarantined.len(),
        });
        let indicator = card
            .as_ref()
            .and_then(|c| c["indicator"].as_str())
            .map_or("none", |i| match i {
                "info" => "info",
                "warning" => "warning",
                _ => "critical",
            });
        self.metrics.cds_card(svc.id, indicator);
        // The card's uuid in the audit record ties feedback on it, which
        // names only the card, to this call and its patient.
        let shown = card.as_ref().and_then(|c| c["uuid"].as_str()).map_or_else(
            || "no card".to_string(),
            |u| format!("card {u} {indicator}"),
        );
        let mut note = s.note;
        note.detail = format!(
            "{} for CDS service {} hookInstance {}: {shown}",
            note.detail, svc.id, call.hook_instance
        );
        let cards: Vec<Value> = card.into_iter().collect();
        with_note(Json(json!({ "cards": cards })).into_response(), note)
    }

    /// Score valid inputs, queue their predictions for the log, and say
    /// what to audit; the risks come back in the inputs' order.
    // The error is a ready HTTP response; boxing axum's Response buys nothing here.
    #[allow(clippy::result_large_err)]
    fn score(
        &self,
        live: &Live,
        inputs: Vec<PredictInput>,
    ) -> std::result::Result<(Vec<Risk>, AuditNote), Response> {
        let info = &live.info;
        // The rows move into the scorer's slice and on into the log: no copies.
        let mut rows = Vec::with_capacity(inputs.len());
        let mut ids = Vec::with_capacity(inputs.len());
        for input in inputs {
            rows.push(input.row);
            ids.push((input.patient_id, input.stay_id));
        }
        let scores = match live.scorer.score(&rows) {
            Ok(s) if s.len() == rows.len() && s.iter().all(|x| x.is_finite()) => s,
            Ok(_) => {
                return Err(error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "model_error",
                    "the model returned a wrong number of scores or a non-finite score",
                ))
            }
            Err(e) => {
                return Err(error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "model_error",
                    e.to_string(),
                ))
            }
        };
        self.metrics.scores(&scores);
        let time = chrono::Utc::now();
        let mut risks = Vec::with_capacity(scores.len());
        let mut patients = Vec::new();
        for ((row, (patient_id, stay_id)), score) in rows.into_iter().zip(ids).zip(scores) {
            let flagged = score >= self.config.threshold;
            let patient = self.pseudonym("patient", patient_id.as_deref());
            if let Some(p) = &patient {
                patients.push(p.clone());
            }
            self.recorder.prediction(Prediction {
                time,
                model: info.clone(),
                patient,
                stay: self.pseudonym("stay", stay_id.as_deref()),
                row,
                score,
                flagged,
            });
            risks.push(Risk {
                flagged,
                risk: score,
            });
        }
        let note = AuditNote {
            entity: if patients.is_empty() {
                "-".into()
            } else {
                patients.join(",")
            },
            detail: format!(
                "scored {} with {} version {}",
                risks.len(),
                info.name,
                info.version
            ),
        };
        Ok((risks, note))
    }

    /// `/v1/predict`'s answer for one risk.
    fn answer<'a>(&self, info: &'a ModelInfo, risk: Risk) -> Answer<'a> {
        Answer {
            flagged: risk.flagged,
            model: &info.name,
            risk: risk.risk,
            threshold: self.config.threshold,
            version: &info.version,
        }
    }
}

/// Why a Bundle was not scored: what the FHIR reader found (a caller may
/// answer some of it otherwise), or a ready answer.
enum Unscored {
    Fhir(FhirProblem),
    Answer(Response),
}

impl From<Response> for Unscored {
    fn from(r: Response) -> Unscored {
        Unscored::Answer(r)
    }
}

impl IntoResponse for Unscored {
    fn into_response(self) -> Response {
        match self {
            Unscored::Fhir(p) => fhir_error(p),
            Unscored::Answer(r) => r,
        }
    }
}

/// A Bundle scored: the model it was scored with, what was read, the
/// features, their contributions when the model gives them, and the risk.
struct FhirScored {
    live: Live,
    read: FhirRow,
    features: serde_json::Map<String, Value>,
    contributions: Option<Vec<(String, f64)>>,
    risk: Risk,
    note: AuditNote,
}

/// One scored row, as every answer gives it.
#[derive(Debug, Clone, Copy, Serialize)]
struct Risk {
    flagged: bool,
    risk: f64,
}

/// The answer of `/v1/predict` (and the core of `/v1/predict/fhir`'s). The
/// fields are in the order a JSON object map keeps them, so the bytes are
/// those the map-built answer had.
#[derive(Debug, Serialize)]
struct Answer<'a> {
    flagged: bool,
    model: &'a str,
    risk: f64,
    threshold: f64,
    version: &'a str,
}

/// The body's bytes, or why there are none.
#[allow(clippy::result_large_err)]
fn body_bytes(
    body: std::result::Result<Bytes, BytesRejection>,
) -> std::result::Result<Bytes, Response> {
    let bytes = body.map_err(|r| {
        let status = r.status();
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            error(
                status,
                "body_too_large",
                "the request body is larger than the limit",
            )
        } else {
            error(status, "bad_body", r.body_text())
        }
    })?;
    if bytes.is_empty() {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            "the request body is empty",
        ));
    }
    Ok(bytes)
}

/// Parse bytes as JSON, or answer why not.
#[allow(clippy::result_large_err)]
fn parse_json(bytes: &[u8]) -> std::result::Result<Value, Response> {
    serde_json::from_slice(bytes).map_err(|e| invalid_json(&e))
}

/// The answer to a body that is not JSON: where, and what kind of problem.
fn invalid_json(e: &serde_json::Error) -> Response {
    error(
        StatusCode::BAD_REQUEST,
        "invalid_json",
        format!("line {} column {}: {}", e.line(), e.column(), classify(e)),
    )
}

/// Parse a body as JSON into a tree that borrows its strings from the body
/// (no copy of each key and string), or answer why not, as `parse_json` does.
#[allow(clippy::result_large_err)]
fn parse_borrowed(bytes: &[u8]) -> std::result::Result<JsonText<'_>, Response> {
    let text = std::str::from_utf8(bytes).map_err(|_| {
        error(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            "the request body is not UTF-8",
        )
    })?;
    JsonText::parse(text).map_err(|e| invalid_json(&e))
}

/// Parse a body as JSON, or answer why not.
#[allow(clippy::result_large_err)]
fn json_body(
    body: std::result::Result<Bytes, BytesRejection>,
) -> std::result::Result<Value, Response> {
    parse_json(&body_bytes(body)?)
}

/// serde_json's message may quote the input; say only what kind of problem.
fn classify(e: &serde_json::Error) -> &'static str {
    use serde_json::error::Category;
    match e.classify() {
        Category::Syntax => "not valid JSON",
        Category::Eof => "the JSON ends too early",
        Category::Data => "unexpected JSON shape",
        Category::Io => "could not read the body",
    }
}

fn with_note(mut response: Response, note: AuditNote) -> Response {
    response.extensions_mut().insert(note);
    response
}

/// One row of named features: read and checked straight from the body's
/// bytes (no JSON tree), scored, answered.
async fn predict(
    State(svc): State<Arc<Service>>,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Response {
    let bytes = match body_bytes(body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let live = svc.live();
    let input = match parse_predict_json(&bytes, &live.info) {
        Ok(Ok(i)) => i,
        Ok(Err(problems)) => return invalid_fields(problems),
        Err(e) => return invalid_json(&e),
    };
    match svc.score(&live, vec![input]) {
        Ok((risks, note)) => match risks.first() {
            Some(risk) => with_note(Json(svc.answer(&live.info, *risk)).into_response(), note),
            None => error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "model_error",
                "the model returned no score",
            ),
        },
        Err(r) => r,
    }
}

#[allow(clippy::result_large_err)] // the closure returns a ready HTTP response
async fn predict_batch(
    State(svc): State<Arc<Service>>,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Response {
    let value = match json_body(body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let Some(instances) = value.get("instances").and_then(Value::as_array) else {
        return invalid_fields(vec![FieldProblem {
            field: "instances".into(),
            problem: "missing",
            expected: "an array of prediction requests".into(),
            found: None,
        }]);
    };
    if instances.is_empty() {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "empty_batch",
            "instances is empty",
        );
    }
    if instances.len() > svc.config.max_batch {
        return error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "batch_too_large",
            format!(
                "{} instances; at most {} per batch",
                instances.len(),
                svc.config.max_batch
            ),
        );
    }
    let live = svc.live();
    let info = live.info.clone();
    let mut inputs = Vec::with_capacity(instances.len());
    let mut problems = Vec::new();
    for (i, instance) in instances.iter().enumerate() {
        match parse_predict(instance, &info) {
            Ok(input) => inputs.push(input),
            Err(ps) => problems.extend(ps.into_iter().map(|mut p| {
                p.field = format!("instances[{i}].{}", p.field);
                p
            })),
        }
    }
    if !problems.is_empty() {
        return invalid_fields(problems);
    }
    // Batches are scored on the blocking pool: a big batch must not hold up
    // the async workers, and the guard's timeout can then answer for it.
    let worker = svc.clone();
    let scored = match tokio::task::spawn_blocking(move || worker.score(&live, inputs)).await {
        Ok(s) => s,
        Err(_) => {
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "model_error",
                "scoring panicked",
            )
        }
    };
    match scored {
        Ok((answers, note)) => {
            let body = json!({
                "model": info.name,
                "version": info.version,
                "threshold": svc.config.threshold,
                "predictions": answers,
            });
            with_note(Json(body).into_response(), note)
        }
        Err(r) => r,
    }
}

/// A FHIR problem as a JSON error.
fn fhir_error(p: FhirProblem) -> Response {
    let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
    let mut body = json!({"error": p.code, "message": p.message});
    if !p.problems.is_empty() {
        body["problems"] = json!(p.problems);
    }
    (status, Json(body)).into_response()
}

/// One patient's FHIR Bundle: read, checked and mapped as ingest does, the
/// latest discharge turned into its analysis row, then validated and scored
/// exactly as `/v1/predict` does.
async fn predict_fhir(
    State(svc): State<Arc<Service>>,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Response {
    let bytes = match body_bytes(body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let value = match parse_json(&bytes) {
        Ok(v) => v,
        Err(r) => return r,
    };
    // Reading a large Bundle is real work: keep it off the async workers.
    let worker = svc.clone();
    let answered = tokio::task::spawn_blocking(move || worker.predict_fhir(&bytes, &value)).await;
    answered.unwrap_or_else(|_| {
        error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "model_error",
            "scoring panicked",
        )
    })
}

/// A CDS Hooks problem as a JSON error.
fn cds_error(p: CdsProblem) -> Response {
    let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::BAD_REQUEST);
    error(status, p.code, p.message)
}

/// `GET /cds-services`: the discovery document.
async fn cds_discovery() -> Response {
    Json(cds::discovery()).into_response()
}

/// The service's own address: `--public-url`, else as the caller reached it.
fn public_base(svc: &Service, headers: &axum::http::HeaderMap) -> String {
    match &svc.config.public_url {
        Some(u) => u.trim_end_matches('/').to_string(),
        None => base_url(headers),
    }
}

/// The service's address as the caller reached it, for absolute links.
fn base_url(headers: &axum::http::HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let scheme = headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
        .filter(|p| *p == "https")
        .unwrap_or("http");
    format!("{scheme}://{host}")
}

/// `POST /cds-services/{id}`: one hook call, answered with cards.
async fn cds_call(
    State(svc): State<Arc<Service>>,
    Path(id): Path<String>,
    headers: axum::http::HeaderMap,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Response {
    let service = match cds_service(&id) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let bytes = match body_bytes(body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let base = public_base(&svc, &headers);
    let worker = svc.clone();
    let answered =
        tokio::task::spawn_blocking(move || worker.cds_call(service, &bytes, &base)).await;
    answered.unwrap_or_else(|_| {
        error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "model_error",
            "scoring panicked",
        )
    })
}

/// The service a CDS call names and its JSON body, or the answer that
/// refuses it (404 for an unknown service, 400 for a body that is no JSON).
#[allow(clippy::result_large_err)]
fn cds_request(
    id: &str,
    body: std::result::Result<Bytes, BytesRejection>,
) -> std::result::Result<(&'static cds::CdsService, Value), Response> {
    Ok((cds_service(id)?, json_body(body)?))
}

/// The CDS service `id` names, or 404.
#[allow(clippy::result_large_err)]
fn cds_service(id: &str) -> std::result::Result<&'static cds::CdsService, Response> {
    cds::service(id).ok_or_else(|| {
        error(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such CDS service; GET /cds-services lists them",
        )
    })
}

/// `POST /cds-services/{id}/feedback`: what the clinician did with cards,
/// into the audit log (codes only: a free-text comment is noted, never
/// copied) and the override metrics.
async fn cds_feedback(
    State(svc): State<Arc<Service>>,
    Path(id): Path<String>,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Response {
    let (service, value) = match cds_request(&id, body) {
        Ok(r) => r,
        Err(r) => return r,
    };
    let items = match cds::parse_feedback(&value) {
        Ok(f) => f,
        Err(p) => return cds_error(p),
    };
    let mut parts = Vec::with_capacity(items.len());
    for f in &items {
        svc.metrics.cds_feedback(service.id, f.accepted, f.reason);
        let mut part = format!(
            "card {} {}",
            f.card,
            if f.accepted { "accepted" } else { "overridden" }
        );
        if let Some(r) = f.reason {
            part.push_str(&format!(" reason {r}"));
        }
        if f.commented {
            part.push_str(" with a comment (not logged)");
        }
        parts.push(part);
    }
    let note = AuditNote {
        entity: "-".into(),
        detail: format!(
            "feedback for CDS service {}: {}",
            service.id,
            parts.join("; ")
        ),
    };
    with_note(Json(json!({})).into_response(), note)
}

/// An Open Inference Protocol refusal: `{"error": "..."}`.
fn oip_error(e: OipError) -> Response {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
    (status, Json(json!({"error": e.message}))).into_response()
}

/// `GET /v2`: the server's metadata.
async fn oip_server() -> Response {
    Json(json!({
        "name": "carelab",
        "version": env!("CARGO_PKG_VERSION"),
        "extensions": ["binary_tensor_data"],
    }))
    .into_response()
}

/// The served model's description, when the route names it (and its
/// version, when the route has one).
#[allow(clippy::result_large_err)] // the error is a ready HTTP response
fn oip_model(
    svc: &Service,
    name: &str,
    version: Option<&str>,
) -> std::result::Result<Arc<ModelInfo>, Response> {
    let info = svc.live().info;
    oip::check_model(&info, name, version).map_err(oip_error)?;
    Ok(info)
}

async fn oip_metadata(State(svc): State<Arc<Service>>, Path(name): Path<String>) -> Response {
    metadata_of(&svc, &name, None)
}

async fn oip_metadata_v(
    State(svc): State<Arc<Service>>,
    Path((name, v)): Path<(String, String)>,
) -> Response {
    metadata_of(&svc, &name, Some(&v))
}

fn metadata_of(svc: &Service, name: &str, version: Option<&str>) -> Response {
    match oip_model(svc, name, version).map(|info| oip::metadata(&info)) {
        Ok(Ok(m)) => Json(m).into_response(),
        Ok(Err(e)) => oip_error(e),
        Err(r) => r,
    }
}

async fn oip_ready(State(svc): State<Arc<Service>>, Path(name): Path<String>) -> Response {
    ready_of(&svc, &name, None)
}

async fn oip_ready_v(
    State(svc): State<Arc<Service>>,
    Path((name, v)): Path<(String, String)>,
) -> Response {
    ready_of(&svc, &name, Some(&v))
}

/// A model is ready when it is the one served, it can take a tensor, and
/// the logs every prediction is written to are healthy.
fn ready_of(svc: &Service, name: &str, version: Option<&str>) -> Response {
    let info = match oip_model(svc, name, version) {
        Ok(i) => i,
        Err(r) => return r,
    };
    if let Err(e) = oip::metadata(&info) {
        return oip_error(e);
    }
    if !svc.recorder.healthy() {
        return oip_error(OipError {
            status: 503,
            message: "writing the audit or prediction log failed".into(),
        });
    }
    Json(json!({"name": info.name, "ready": true})).into_response()
}

async fn oip_infer(
    State(svc): State<Arc<Service>>,
    Path(name): Path<String>,
    headers: axum::http::HeaderMap,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Response {
    infer_of(svc, name, None, headers, body).await
}

async fn oip_infer_v(
    State(svc): State<Arc<Service>>,
    Path((name, v)): Path<(String, String)>,
    headers: axum::http::HeaderMap,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Response {
    infer_of(svc, name, Some(v), headers, body).await
}

/// An infer request: its tensor read into named-feature rows, which are
/// validated, scored, logged and audited as `/v1/predict/batch` does them.
#[allow(clippy::result_large_err)] // the closure returns a ready HTTP response
async fn infer_of(
    svc: Arc<Service>,
    name: String,
    version: Option<String>,
    headers: axum::http::HeaderMap,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Response {
    let bytes = match body_bytes(body) {
        Ok(b) => b,
        Err(r) => {
            let status = r.status().as_u16();
            return oip_error(OipError {
                status,
                message: if status == 413 {
                    format!(
                        "the request body is larger than {} bytes",
                        svc.config.max_body_bytes
                    )
                } else {
                    "the request body is empty or could not be read".into()
                },
            });
        }
    };
    if let Err(r) = oip_model(&svc, &name, version.as_deref()) {
        return r;
    }
    let live = svc.live();
    let header_length = headers
        .get(oip::HEADER_LENGTH)
        .map(|h| h.to_str().unwrap_or("not text"));
    let request = match oip::parse_infer(&bytes, header_length, &live.info, svc.config.max_batch) {
        Ok(r) => r,
        Err(e) => return oip_error(e),
    };
    let mut inputs = Vec::with_capacity(request.rows.len());
    let mut problems = Vec::new();
    for (i, row) in request.rows.iter().enumerate() {
        match parse_predict(row, &live.info) {
            Ok(input) => inputs.push(input),
            Err(ps) => problems.extend(ps.into_iter().map(|p| {
                format!(
                    "row {i}: {} {} (expected {}{})",
                    p.field,
                    p.problem,
                    p.expected,
                    p.found.map(|f| format!(", found {f}")).unwrap_or_default()
                )
            })),
        }
    }
    if !problems.is_empty() {
        return oip_error(OipError {
            status: 400,
            message: problems.join("; "),
        });
    }
    let worker = svc.clone();
    let info = live.info.clone();
    let scored = match tokio::task::spawn_blocking(move || worker.score(&live, inputs)).await {
        Ok(s) => s,
        Err(_) => {
            return oip_error(OipError {
                status: 500,
                message: "scoring panicked".into(),
            })
        }
    };
    let (risks, note) = match scored {
        Ok(s) => s,
        Err(r) => return r,
    };
    let risks: Vec<f64> = risks.iter().map(|r| r.risk).collect();
    let (head, binary) =
        oip::infer_response(&info, request.id.as_ref(), &risks, request.binary_output);
    let response = match binary {
        None => Json(head).into_response(),
        Some(tail) => {
            let mut bytes = serde_json::to_vec(&head).unwrap_or_default();
            let length = bytes.len();
            bytes.extend(tail);
            let mut r = bytes.into_response();
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            );
            r.headers_mut()
                .insert(oip::HEADER_LENGTH, HeaderValue::from(length));
            r
        }
    };
    with_note(response, note)
}

async fn model_info(State(svc): State<Arc<Service>>) -> Response {
    let info = svc.live().info;
    Json(json!({
        "name": info.name,
        "version": info.version,
        "features": info.features,
        "levels": info.levels,
        "threshold": svc.config.threshold,
        "model_card": info.card,
    }))
    .into_response()
}

/// The model card as Markdown; for a model without one (a hand-written
/// linear model), what the service knows of it, saying the card is missing.
async fn model_card(State(svc): State<Arc<Service>>) -> Response {
    let info = svc.live().info;
    let text = match &info.card {
        Some(card) => card.clone(),
        None => format!(
            "# {} version {}\n\nNo model card was written for this model (`carelab eval` writes one for a trained run). What the service knows of it:\n\n- inputs: {}\n- operating threshold: {}\n",
            info.name,
            info.version,
            info.features.join(", "),
            info.operating_point.map_or_else(
                || format!("none chosen by an evaluation; the service flags at {}", svc.config.threshold),
                |t| t.to_string()
            ),
        ),
    };
    let mut r = text.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/markdown; charset=utf-8"),
    );
    r
}

async fn reload(State(svc): State<Arc<Service>>) -> Response {
    let worker = svc.clone();
    match tokio::task::spawn_blocking(move || worker.reload()).await {
        Ok(Ok(info)) => Json(json!({"reloaded": true, "name": info.name, "version": info.version}))
            .into_response(),
        Ok(Err(e)) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "reload_failed",
            format!("the previous model keeps serving: {e}"),
        ),
        Err(_) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "reload_failed",
            "the loader panicked",
        ),
    }
}

async fn healthz() -> Response {
    Json(json!({"status": "ok"})).into_response()
}

async fn readyz(State(svc): State<Arc<Service>>) -> Response {
    if svc.recorder.healthy() {
        Json(json!({"status": "ready"})).into_response()
    } else {
        error(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_ready",
            "writing the audit or prediction log failed",
        )
    }
}

async fn metrics(State(svc): State<Arc<Service>>) -> Response {
    let mut r = svc.metrics.render().into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4"),
    );
    r
}

async fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "not_found", "no such route")
}

/// The bearer token of a request, if it sent one.
fn bearer(req: &Request) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Who may call `route`: a CDS Hooks route under `--cds-issuers` takes the
/// EHR's signed JWT (`jwt`); every other guarded route a bearer token with
/// the route's role. The caller's name for the audit log, or the refusal
/// (with the caller's name when known).
#[allow(clippy::result_large_err)]
fn authorize(
    svc: &Service,
    req: &Request,
    route: &str,
    role: Role,
) -> std::result::Result<String, (Option<String>, Response)> {
    let unauthorized = |message: String| {
        let mut r = error(StatusCode::UNAUTHORIZED, "unauthorized", message);
        r.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        r
    };
    if let (true, Some(trust)) = (route.starts_with("/cds-services"), &svc.config.cds_trust) {
        let Some(token) = bearer(req) else {
            return Err((
                None,
                unauthorized("send Authorization: Bearer <the EHR's signed JWT>".into()),
            ));
        };
        let audience = format!("{}{}", public_base(svc, req.headers()), req.uri().path());
        let now = chrono::Utc::now().timestamp();
        return trust
            .verify(token, &audience, now)
            .map_err(|why| (None, unauthorized(why)));
    }
    let Some(caller) = bearer(req).and_then(|t| svc.tokens.authenticate(t)) else {
        return Err((
            None,
            unauthorized("send Authorization: Bearer <token>".into()),
        ));
    };
    if !caller.has(role) {
        return Err((
            Some(caller.name.clone()),
            error(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!("this token lacks the {role:?} role"),
            ),
        ));
    }
    Ok(caller.name.clone())
}

/// The middleware every request passes; see the module comment.
async fn guard(State(svc): State<Arc<Service>>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let (route, role) = {
        let path = req.uri().path();
        ROUTES
            .iter()
            .find(|(r, _)| route_matches(r, path))
            .copied()
            .unwrap_or(("other", None))
    };

    let mut agent = "anonymous".to_string();
    let mut response = 'answer: {
        let _permit = if exempt_from_limit(route) {
            None
        } else {
            match svc.permits.clone().try_acquire_owned() {
                Ok(p) => Some(p),
                Err(_) => {
                    let mut r = error(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "overloaded",
                        "too many requests in flight; retry shortly",
                    );
                    r.headers_mut()
                        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
                    break 'answer r;
                }
            }
        };
        if let Some(role) = role {
            match authorize(&svc, &req, route, role) {
                Ok(name) => agent = name,
                Err((name, r)) => {
                    if let Some(n) = name {
                        agent = n;
                    }
                    break 'answer r;
                }
            }
        }
        match tokio::time::timeout(svc.config.timeout, next.run(req)).await {
            Ok(r) => jsonify(r).await,
            Err(_) => error(
                StatusCode::SERVICE_UNAVAILABLE,
                "timeout",
                "the request took too long",
            ),
        }
    };

    let status = response.status();
    let note = response.extensions_mut().remove::<AuditNote>();
    let outcome = match status.as_u16() {
        200..=399 => "0",
        400..=499 => "4",
        _ => "8",
    };
    let action = if method == Method::GET { "R" } else { "E" };
    let (entity, detail) = match note {
        Some(n) => (
            n.entity,
            format!("{method} {route} {}: {}", status.as_u16(), n.detail),
        ),
        None => ("-".into(), format!("{method} {route} {}", status.as_u16())),
    };
    // Spelled out rather than `..AuditEvent::new(..)`, which would allocate
    // four strings per request only to drop them.
    let event = AuditEvent {
        type_code: "rest".into(),
        action: action.into(),
        outcome: outcome.into(),
        agent,
        source: "carelab-serve".into(),
        entity,
        detail,
        subtype: String::new(),
        entities: Vec::new(),
    };
    // Answer only once the audit record is written: an answered request
    // is never missing from the log, even if the service crashes next.
    let response = if svc.recorder.audit_acked(event).await {
        response
    } else {
        error(
            StatusCode::SERVICE_UNAVAILABLE,
            "audit_unavailable",
            "the audit log could not be written, so the request is not answered",
        )
    };
    svc.metrics.request(
        route,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

/// Give an error from the framework (405, a body rejection) a JSON body.
async fn jsonify(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if status.is_success() || is_json {
        return response;
    }
    let reason = status.canonical_reason().unwrap_or("error");
    let code = reason.to_ascii_lowercase().replace(' ', "_");
    let (parts, _) = response.into_parts();
    let mut r = error(status, &code, reason);
    for (name, value) in parts.headers.iter() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            r.headers_mut().insert(name.clone(), value.clone());
        }
    }
    r
}

/// Serve on `listener` until `shutdown` resolves, then let requests in
/// flight finish and write out the logs.
pub async fn serve(
    service: Arc<Service>,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    use axum::serve::ListenerExt;
    // Answers are small: send them at once rather than wait on Nagle.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    serve_on(service, listener, shutdown).await
}

/// `serve` over TLS: the same service behind `tls::TlsListener`.
pub async fn serve_tls(
    service: Arc<Service>,
    listener: tokio::net::TcpListener,
    tls: Arc<tokio_rustls::rustls::ServerConfig>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let listener = super::tls::TlsListener::new(listener, tls)?;
    serve_on(service, listener, shutdown).await
}

async fn serve_on<L>(
    service: Arc<Service>,
    listener: L,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()>
where
    L: axum::serve::Listener,
    L::Addr: std::fmt::Debug,
{
    let app = service.router();
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(|e| Error::failure(format!("the HTTP server stopped: {e}")));
    let closed = service.close();
    served?;
    closed
}

/// Resolves on ctrl-c or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

/// Reload the model on every SIGHUP (what `carelab models promote` can send).
pub fn reload_on_sighup(
    service: Arc<Service>,
    on_result: impl Fn(Result<ModelInfo>) + Send + 'static,
) {
    #[cfg(unix)]
    tokio::spawn(async move {
        let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        else {
            return;
        };
        while hup.recv().await.is_some() {
            let worker = service.clone();
            match tokio::task::spawn_blocking(move || worker.reload()).await {
                Ok(r) => on_result(r),
                Err(_) => on_result(Err(Error::failure("the loader panicked"))),
            }
        }
    });
    #[cfg(not(unix))]
    let _ = (service, on_result);
}
