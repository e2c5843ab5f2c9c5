//! CDS Hooks 2.0 in `carelab serve`: discovery, a discharge hook answered
//! with a card (or none) scored through the same FHIR path as
//! `/v1/predict/fhir`, 412 without prefetch, and feedback into the audit log
//! and `/metrics`. The test plays the EHR with the spec's JSON shapes.

use std::path::{Path, PathBuf};

use carelab::clinical::PatientBundle;
use carelab::formats::fhir;
use carelab::synth::Scenario;
use serde_json::{json, Value};

use crate::serve_fhir::patients;
use crate::serve_support::{get, post, post_as, post_bytes, start, start_config, PREDICT};

const HOOK_INSTANCE: &str = "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea";

/// A linear model whose intercept sets how risky everyone looks.
fn model(dir: &Path, name: &str, intercept: f64) -> PathBuf {
    let path = dir.join(format!("{name}.json"));
    let m = json!({
        "name": name, "version": "1", "intercept": intercept,
        "weights": {"age": 0.03, "prior_admissions_365d": 0.4, "creatinine": 0.5},
        "means": {"age": 65.0, "creatinine": 1.0},
        "levels": {"sex": {"F": 0.0, "M": 0.2}}
    });
    std::fs::write(&path, serde_json::to_vec(&m).unwrap()).unwrap();
    path
}

fn searchset(resources: Vec<Value>) -> Value {
    let entry: Vec<Value> = resources
        .into_iter()
        .map(|r| json!({"resource": r}))
        .collect();
    json!({"resourceType": "Bundle", "type": "searchset", "total": entry.len(), "entry": entry})
}

/// What an EHR sends at the discharge of `stay`: the play EHR of
/// `carelab serve --hook-request` answering the discovery document's
/// prefetch templates from the patient's whole record.
fn discharge_request(b: &PatientBundle, stay: &str) -> Value {
    let svc = carelab::serve::cds::service("readmission-30d").unwrap();
    let req =
        carelab::serve::cds::hook_request(svc, &fhir::bundle(b), None, Some(stay), HOOK_INSTANCE)
            .unwrap();
    let observations = req["prefetch"]["observations"]["entry"].as_array().unwrap();
    assert!(!observations.is_empty(), "the stay has laboratory results");
    req
}

/// `req` with its context naming `patient` and `stay`.
fn hook_request(req: &Value, patient: &str, stay: &str) -> Value {
    let mut req = req.clone();
    req["context"]["patientId"] = json!(patient);
    req["context"]["encounterId"] = json!(stay);
    req
}

/// The prefetched resources as one Bundle, each once: what the FHIR route
/// gets for "the same resources".
fn as_bundle(prefetch: &Value) -> Value {
    let mut seen = std::collections::BTreeSet::new();
    let mut entry = Vec::new();
    for (_, v) in prefetch.as_object().unwrap() {
        let rs: Vec<&Value> = match v["entry"].as_array() {
            Some(es) => es.iter().map(|e| &e["resource"]).collect(),
            None => vec![v],
        };
        for r in rs {
            if seen.insert((r["resourceType"].to_string(), r["id"].to_string())) {
                entry.push(json!({"resource": r}));
            }
        }
    }
    json!({"resourceType": "Bundle", "type": "collection", "entry": entry})
}

fn discharges(n: usize) -> Vec<(Value, String, String)> {
    let scenario = Scenario::load("baseline").unwrap();
    patients(&scenario, 42, n)
        .into_iter()
        .map(|(b, rows)| {
            let stay = rows.last().unwrap().stay_id.clone();
            let req = discharge_request(&b, &stay);
            let id = req["context"]["patientId"].as_str().unwrap().to_string();
            (req, id, stay)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_lists_the_discharge_and_chart_services() {
    let work = tempfile::tempdir().unwrap();
    let server = start(model(work.path(), "readmit", -1.0).to_str().unwrap()).await;
    let (status, _) = get(server.addr, "/cds-services", None).await;
    assert_eq!(status, 401, "discovery needs the predict role");
    let (status, text) = get(server.addr, "/cds-services", Some(PREDICT)).await;
    assert_eq!(status, 200, "{text}");
    let d: Value = serde_json::from_str(&text).unwrap();
    let services = d["services"].as_array().unwrap();
    assert_eq!(services.len(), 2);
    let s = &services[0];
    assert_eq!(s["id"], "readmission-30d");
    assert_eq!(s["hook"], "encounter-discharge");
    assert!(s["title"].as_str().unwrap().contains("readmission"));
    assert!(s["description"].as_str().unwrap().len() > 40);
    let p = &s["prefetch"];
    assert_eq!(p["patient"], "Patient/{{context.patientId}}");
    assert_eq!(p["encounter"], "Encounter/{{context.encounterId}}");
    assert_eq!(p["conditions"], "Condition?patient={{context.patientId}}");
    assert_eq!(
        p["observations"],
        "Observation?encounter={{context.encounterId}}"
    );
    assert_eq!(
        p["medications"],
        "MedicationRequest?patient={{context.patientId}}"
    );
    assert_eq!(services[1]["hook"], "patient-view");
    assert_eq!(services[1]["id"], "readmission-30d-patient-view");
    assert!(services[1]["prefetch"].get("encounter").is_none());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_high_risk_discharge_gets_a_critical_card_with_the_fhir_routes_risk() {
    let work = tempfile::tempdir().unwrap();
    let server = start(model(work.path(), "readmit-high", 3.0).to_str().unwrap()).await;
    let (pre, patient, stay) = discharges(1).remove(0);
    let (status, fhir_answer) = post(
        server.addr,
        "/v1/predict/fhir",
        &as_bundle(&pre["prefetch"]),
    )
    .await;
    assert_eq!(status, 200, "{fhir_answer}");
    let risk = fhir_answer["risk"].as_f64().unwrap();
    assert!(
        risk >= 0.8334,
        "the model makes this a very high risk: {risk}"
    );

    let (status, answer) = post(
        server.addr,
        "/cds-services/readmission-30d",
        &hook_request(&pre, &patient, &stay),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let cards = answer["cards"].as_array().unwrap();
    assert_eq!(cards.len(), 1, "{answer}");
    let card = &cards[0];
    let summary = card["summary"].as_str().unwrap();
    assert!(summary.chars().count() < 140, "{summary}");
    assert!(
        summary.contains(&format!("{:.1}%", 100.0 * risk)),
        "the card carries the FHIR route's risk {risk}: {summary}"
    );
    assert!(summary.contains("very high"), "{summary}");
    assert_eq!(card["indicator"], "critical");
    assert_eq!(card["source"]["label"], "CareLab readmit-high version 1");
    assert_eq!(
        card["source"]["url"],
        json!(format!("http://{}/v1/model/card", server.addr))
    );
    // The link opens without a token, as a clinician's browser would.
    let (status, card_text) = get(server.addr, "/v1/model/card", None).await;
    assert_eq!(status, 200);
    assert!(
        card_text.starts_with("# readmit-high version 1"),
        "{card_text}"
    );
    assert!(
        card_text.contains("No model card was written"),
        "{card_text}"
    );
    assert_eq!(card["uuid"].as_str().unwrap().len(), 36);
    let detail = card["detail"].as_str().unwrap();
    assert!(
        detail.contains("| feature | value | contribution |"),
        "{detail}"
    );
    assert!(detail.contains("| age |"), "{detail}");
    assert_eq!(card["selectionBehavior"], "at-most-one");
    let suggestions = card["suggestions"].as_array().unwrap();
    assert_eq!(suggestions.len(), 1);
    let action = &suggestions[0]["actions"][0];
    assert_eq!(action["type"], "create");
    assert_eq!(action["resource"]["resourceType"], "ServiceRequest");
    assert_eq!(
        action["resource"]["subject"]["reference"],
        json!(format!("Patient/{patient}"))
    );
    assert_eq!(
        action["resource"]["occurrenceTiming"]["repeat"]["boundsDuration"]["value"],
        7
    );
    assert_eq!(suggestions[0]["uuid"].as_str().unwrap().len(), 36);
    let reasons = card["overrideReasons"].as_array().unwrap();
    assert_eq!(reasons.len(), 4);
    assert_eq!(reasons[0]["code"], "follow-up-arranged");

    let (_, metrics) = get(server.addr, "/metrics", None).await;
    assert!(
        metrics.contains(
            "carelab_cds_cards_total{service=\"readmission-30d\",indicator=\"critical\"} 1"
        ),
        "{metrics}"
    );
    let dir = server.stop().await;
    // Both calls were scored and logged with the same score, to the bit.
    let log = std::fs::read_to_string(dir.path().join("preds.jsonl")).unwrap();
    let scores: Vec<f64> = log
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["score"]
                .as_f64()
                .unwrap()
        })
        .collect();
    assert_eq!(scores, vec![risk, risk]);
    // The audit record names the card, so feedback on it can be traced back.
    let audit = std::fs::read_to_string(dir.path().join("audit.jsonl")).unwrap();
    let shown = format!(
        "for CDS service readmission-30d hookInstance {HOOK_INSTANCE}: card {} critical",
        card["uuid"].as_str().unwrap()
    );
    assert!(audit.contains(&shown), "{audit}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cards_follow_the_bands_and_low_risk_gets_no_card() {
    let work = tempfile::tempdir().unwrap();
    let low = start(model(work.path(), "readmit-low", -6.0).to_str().unwrap()).await;
    let mid = start(model(work.path(), "readmit-mid", 0.3).to_str().unwrap()).await;
    let mut seen = std::collections::BTreeSet::new();
    for (pre, patient, stay) in discharges(6) {
        let req = hook_request(&pre, &patient, &stay);
        let (status, answer) = post(low.addr, "/cds-services/readmission-30d", &req).await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer, json!({"cards": []}));

        let (_, fhir_answer) =
            post(mid.addr, "/v1/predict/fhir", &as_bundle(&pre["prefetch"])).await;
        let risk = fhir_answer["risk"].as_f64().unwrap();
        let (status, answer) = post(mid.addr, "/cds-services/readmission-30d", &req).await;
        assert_eq!(status, 200, "{answer}");
        // The default threshold 0.5: [0.5, 1] in thirds.
        let expected = if risk < 0.5 {
            None
        } else if risk < 0.5 + 0.5 / 3.0 {
            Some("info")
        } else if risk < 0.5 + 1.0 / 3.0 {
            Some("warning")
        } else {
            Some("critical")
        };
        let got = answer["cards"]
            .as_array()
            .unwrap()
            .first()
            .map(|c| c["indicator"].as_str().unwrap().to_string());
        assert_eq!(got.as_deref(), expected, "risk {risk}: {answer}");
        seen.insert(expected);
    }
    assert!(seen.len() >= 2, "the patients span bands: {seen:?}");
    low.stop().await;
    mid.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_hook_requests_are_refused_with_reasons() {
    let work = tempfile::tempdir().unwrap();
    let server = start(model(work.path(), "readmit", 0.0).to_str().unwrap()).await;
    let (pre, patient, stay) = discharges(1).remove(0);
    let path = "/cds-services/readmission-30d";

    let mut req = hook_request(&pre, &patient, &stay);
    req["prefetch"]
        .as_object_mut()
        .unwrap()
        .remove("observations");
    req["prefetch"]["medications"] = Value::Null;
    let (status, answer) = post(server.addr, path, &req).await;
    assert_eq!(status, 412, "{answer}");
    assert_eq!(answer["error"], "prefetch_missing");
    let message = answer["message"].as_str().unwrap();
    assert!(message.contains("observations, medications"), "{message}");
    assert!(message.contains("fhirServer"), "{message}");

    let (status, answer) = post_bytes(server.addr, path, b"{\"hook\": ").await;
    assert_eq!(status, 400);
    assert_eq!(answer["error"], "invalid_json");

    let mut req = hook_request(&pre, &patient, &stay);
    req["hookInstance"] = json!("call-1");
    let (status, answer) = post(server.addr, path, &req).await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer["message"]
        .as_str()
        .unwrap()
        .starts_with("hookInstance"));

    let mut req = hook_request(&pre, &patient, &stay);
    req["context"]
        .as_object_mut()
        .unwrap()
        .remove("encounterId");
    let (status, answer) = post(server.addr, path, &req).await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(
        answer["message"],
        "context.encounterId: missing; expected a string"
    );

    let mut req = hook_request(&pre, &patient, &stay);
    req["hook"] = json!("patient-view");
    let (status, answer) = post(server.addr, path, &req).await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(answer["error"], "wrong_hook");

    let req = hook_request(&pre, "someone-else", &stay);
    let (status, answer) = post(server.addr, path, &req).await;
    assert_eq!(status, 422, "{answer}");
    assert_eq!(answer["error"], "context_mismatch");

    let (status, answer) = post(server.addr, "/cds-services/no-such", &req).await;
    assert_eq!(status, 404, "{answer}");

    // The chart-view service takes the same prefetch less the encounter.
    let mut pv = hook_request(&pre, &patient, &stay);
    pv["hook"] = json!("patient-view");
    pv["prefetch"].as_object_mut().unwrap().remove("encounter");
    let (status, answer) = post(
        server.addr,
        "/cds-services/readmission-30d-patient-view",
        &pv,
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert!(answer["cards"].is_array());

    // Opening the chart of someone with no discharged stay: no card, no error.
    pv["prefetch"]["encounters"] = searchset(vec![]);
    pv["prefetch"]["observations"] = searchset(vec![]);
    let (status, answer) = post(
        server.addr,
        "/cds-services/readmission-30d-patient-view",
        &pv,
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer, json!({"cards": []}));

    // At discharge, the stay must be the one scored: without period.end it
    // is not discharged, and an earlier stay would be scored instead.
    let mut open = hook_request(&pre, &patient, &stay);
    let still_open = |e: &mut Value| {
        e["period"].as_object_mut().unwrap().remove("end");
        e["status"] = json!("in-progress");
    };
    for e in open["prefetch"]["encounters"]["entry"]
        .as_array_mut()
        .unwrap()
    {
        if e["resource"]["id"] == json!(stay) {
            still_open(&mut e["resource"]);
        }
    }
    still_open(&mut open["prefetch"]["encounter"]);
    let (status, answer) = post(server.addr, path, &open).await;
    assert_eq!(status, 422, "{answer}");
    let code = answer["error"].as_str().unwrap();
    assert!(
        code == "not_latest_discharge" || code == "no_discharge",
        "{answer}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feedback_lands_in_the_audit_log_and_the_override_rate() {
    let work = tempfile::tempdir().unwrap();
    let server = start(model(work.path(), "readmit", 0.0).to_str().unwrap()).await;
    let path = "/cds-services/readmission-30d/feedback";
    let accepted = "9b0a6f1e-2c1d-4e5f-8a9b-0c1d2e3f4a5b";
    let overridden = "1c2d3e4f-5a6b-4c7d-8e9f-a0b1c2d3e4f5";
    let body = json!({"feedback": [
        {"card": accepted, "outcome": "accepted",
         "acceptedSuggestions": [{"id": "e56e1945-20b3-4393-8503-a1a20fd73152"}],
         "outcomeTimestamp": "2026-12-03T15:12:20Z"},
        {"card": overridden, "outcome": "overridden",
         "overrideReason": {
             "reason": {"code": "follow-up-arranged", "system": "https://carelab.example/cds/override-reason",
                        "display": "Follow-up already arranged"},
             "userComment": "Dr Smith calls her on Monday"},
         "outcomeTimestamp": "2026-12-03T15:13:01Z"},
    ]});
    let (status, answer) = post(server.addr, path, &body).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer, json!({}));

    let bad = json!({"feedback": [{"card": accepted, "outcome": "ignored", "outcomeTimestamp": "2026-12-03T15:12:20Z"}]});
    let (status, answer) = post(server.addr, path, &bad).await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer["message"]
        .as_str()
        .unwrap()
        .starts_with("feedback[0].outcome"));

    let (_, metrics) = get(server.addr, "/metrics", None).await;
    for line in [
        "carelab_cds_feedback_total{service=\"readmission-30d\",outcome=\"accepted\"} 1",
        "carelab_cds_feedback_total{service=\"readmission-30d\",outcome=\"overridden\"} 1",
        "carelab_cds_override_rate{service=\"readmission-30d\"} 0.5",
        "carelab_cds_override_reasons_total{service=\"readmission-30d\",reason=\"follow-up-arranged\"} 1",
        "carelab_requests_total{route=\"/cds-services/{id}/feedback\",status=\"200\"} 1",
    ] {
        assert!(metrics.contains(line), "{line} in\n{metrics}");
    }
    let dir = server.stop().await;
    let audit = std::fs::read_to_string(dir.path().join("audit.jsonl")).unwrap();
    let expected = format!(
        "feedback for CDS service readmission-30d: card {accepted} accepted; card {overridden} overridden reason follow-up-arranged with a comment (not logged)"
    );
    assert!(audit.contains(&expected), "{audit}");
    assert!(audit.contains("\"agent\":\"ward-app\""), "{audit}");
    assert!(!audit.contains("Dr Smith"), "free text is never logged");
}

/// The EHR's signing key, and a JWT for a call to `aud`.
struct Ehr {
    key: ring::signature::EcdsaKeyPair,
}

impl Ehr {
    fn new() -> Ehr {
        use ring::signature::{EcdsaKeyPair, ECDSA_P384_SHA384_FIXED_SIGNING};
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, &rng).unwrap();
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .unwrap();
        Ehr { key }
    }

    fn jwks(&self) -> Value {
        use base64::Engine;
        use ring::signature::KeyPair;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let point = self.key.public_key().as_ref();
        json!({"keys": [{"kty": "EC", "crv": "P-384", "kid": "ehr-2026", "use": "sig", "alg": "ES384",
            "x": b64.encode(&point[1..49]), "y": b64.encode(&point[49..97])}]})
    }

    fn jwt(&self, aud: &str, jti: &str) -> String {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let now = chrono::Utc::now().timestamp();
        let header = json!({"alg": "ES384", "typ": "JWT", "kid": "ehr-2026"});
        let claims = json!({"iss": "https://ehr.example.org", "sub": "client-1", "aud": aud,
            "exp": now + 300, "iat": now, "jti": jti});
        let msg = format!(
            "{}.{}",
            b64.encode(header.to_string()),
            b64.encode(claims.to_string())
        );
        let sig = self
            .key
            .sign(&ring::rand::SystemRandom::new(), msg.as_bytes())
            .unwrap();
        format!("{msg}.{}", b64.encode(sig.as_ref()))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_cds_trust_the_ehrs_signed_jwt_is_required_and_used_once() {
    let work = tempfile::tempdir().unwrap();
    let ehr = Ehr::new();
    std::fs::write(work.path().join("ehr-jwks.json"), ehr.jwks().to_string()).unwrap();
    let issuers = work.path().join("cds-issuers.toml");
    std::fs::write(
        &issuers,
        "[[issuer]]\niss = \"https://ehr.example.org\"\nname = \"example-ehr\"\njwks = \"ehr-jwks.json\"\n",
    )
    .unwrap();
    let trust = carelab::serve::jwt::JwtTrust::from_file(&issuers).unwrap();
    let config = carelab::serve::ServeConfig {
        public_url: Some("https://cds.example.org/".into()),
        cds_trust: Some(std::sync::Arc::new(trust)),
        ..Default::default()
    };
    let server = start_config(
        model(work.path(), "readmit-high", 3.0).to_str().unwrap(),
        None,
        config,
    )
    .await;
    let (pre, patient, stay) = discharges(1).remove(0);
    let body = serde_json::to_vec(&hook_request(&pre, &patient, &stay)).unwrap();
    let path = "/cds-services/readmission-30d";
    let aud = "https://cds.example.org/cds-services/readmission-30d";

    // The tokens file's bearer token is no EHR JWT.
    let (status, answer) = post_as(server.addr, path, PREDICT, &body).await;
    assert_eq!(status, 401, "{answer}");
    assert!(answer["message"].as_str().unwrap().contains("not a JWT"));

    let jwt = ehr.jwt(aud, "call-0001");
    let (status, answer) = post_as(server.addr, path, &jwt, &body).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["cards"][0]["indicator"], "critical");
    assert_eq!(
        answer["cards"][0]["source"]["url"],
        "https://cds.example.org/v1/model/card"
    );

    let (status, answer) = post_as(server.addr, path, &jwt, &body).await;
    assert_eq!(status, 401, "a replay: {answer}");
    assert!(answer["message"].as_str().unwrap().contains("replay"));

    // Signed for the discovery URL, sent to the service: wrong aud.
    let other = ehr.jwt("https://cds.example.org/cds-services", "call-0002");
    let (status, answer) = post_as(server.addr, path, &other, &body).await;
    assert_eq!(status, 401, "{answer}");
    assert!(answer["message"].as_str().unwrap().contains("aud"));

    // Another EHR's key, claiming the allowed issuer.
    let forged = Ehr::new().jwt(aud, "call-0003");
    let (status, answer) = post_as(server.addr, path, &forged, &body).await;
    assert_eq!(status, 401, "{answer}");
    assert!(answer["message"].as_str().unwrap().contains("signature"));

    // The other routes keep their bearer tokens.
    let (status, _) = get(server.addr, "/v1/model", Some(PREDICT)).await;
    assert_eq!(status, 200);
    let dir = server.stop().await;
    let audit = std::fs::read_to_string(dir.path().join("audit.jsonl")).unwrap();
    let by_ehr = audit
        .lines()
        .filter(|l| l.contains("\"agent\":\"example-ehr\""))
        .count();
    assert_eq!(by_ehr, 1, "the one accepted call is the issuer's: {audit}");
}

/// The labs' way: `carelab serve --ehr-keygen` makes a play EHR,
/// `--sign-jwt` signs its call, and `carelab serve --cds-issuers` checks it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_plays_the_ehr_against_a_served_model() {
    use std::io::BufRead;
    let work = tempfile::tempdir().unwrap();
    let exe = env!("CARGO_BIN_EXE_carelab");
    let ehr = work.path().join("ehr");
    let out = std::process::Command::new(exe)
        .args(["serve", "--ehr-keygen"])
        .arg(&ehr)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tokens = work.path().join("tokens.toml");
    std::fs::write(
        &tokens,
        format!(
            "[[token]]\nname = \"ward-app\"\nsha256 = \"{}\"\nroles = [\"predict\"]\n",
            carelab::serve::hash_token(PREDICT)
        ),
    )
    .unwrap();
    let model = model(work.path(), "readmit-high", 3.0);
    /// Stops the server however the test ends.
    struct Served(std::process::Child);
    impl Drop for Served {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut child = std::process::Command::new(exe)
        .args([
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--public-url",
            "https://cds.example.org",
        ])
        .arg("--model")
        .arg(&model)
        .arg("--tokens")
        .arg(&tokens)
        .arg("--cds-issuers")
        .arg(ehr.join("cds-issuers.toml"))
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
    let aud = "https://cds.example.org/cds-services/readmission-30d";
    let signed = std::process::Command::new(exe)
        .args(["--json", "serve", "--sign-jwt", aud, "--ehr-key"])
        .arg(ehr.join("ehr-key.p8"))
        .output()
        .unwrap();
    assert!(
        signed.status.success(),
        "{}",
        String::from_utf8_lossy(&signed.stderr)
    );
    let jwt: Value = serde_json::from_slice(&signed.stdout).unwrap();
    let jwt = jwt["jwt"].as_str().unwrap().to_string();
    let (pre, patient, stay) = discharges(1).remove(0);
    let body = serde_json::to_vec(&hook_request(&pre, &patient, &stay)).unwrap();
    let (status, answer) = post_as(addr, "/cds-services/readmission-30d", &jwt, &body).await;
    let (replayed, _) = post_as(addr, "/cds-services/readmission-30d", &jwt, &body).await;
    drop(child);
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["cards"][0]["indicator"], "critical");
    assert_eq!(replayed, 401);
}
