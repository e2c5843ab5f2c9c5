//! CDS Hooks 2.0: the readmission model as a service an EHR calls at the
//! moment of a decision (discharge, or opening the chart) and shows as a card.
//!
//! This module holds what is particular to the protocol: the discovery
//! document, the checks on a hook request, the prefetched resources gathered
//! as the entries of one FHIR Bundle, the card and the feedback. Scoring is
//! not here: the entries go through `fhir::row_from_entries` (the reader and
//! checks of `fhir::row_from_bundle`) and the scorer exactly as a
//! `POST /v1/predict/fhir` body does (see `server`), so a card's risk is the
//! risk the FHIR route gives for the same resources. The request is parsed
//! once, into a tree that borrows from its text, and the reader reads the
//! prefetched resources in place: no Bundle is written out and read back.
//!
//! Bands. A card is shown when the risk reaches the operating threshold `t`
//! (the model's chosen operating point from its evaluation when it carries
//! one, else `serve --threshold`); below it the answer is `{"cards": []}`.
//! The range `[t, 1]` is cut in thirds: the lowest third is `info`
//! (elevated), the middle `warning` (high), the top `critical` (very high).
//!
//! CareLab runs offline, so it never fetches from the EHR's `fhirServer`: a
//! request without every prefetch key the service asked for is answered 412.

use std::collections::{BTreeSet, HashSet};
use std::fmt::Write as _;

use serde::Serialize;
use serde_json::{json, Map, Value};

use super::input::json_type;
use crate::formats::fhir::{Entry, Json};

/// One CDS service: its hook and what it asks the EHR to prefetch.
#[derive(Debug, Clone, Copy)]
pub struct CdsService {
    pub id: &'static str,
    pub hook: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    /// (key, FHIR query template), as the discovery document lists them.
    pub prefetch: &'static [(&'static str, &'static str)],
    /// The context keys a call must carry.
    pub context: &'static [&'static str],
}

/// The services this server offers.
pub const SERVICES: [CdsService; 2] = [
    CdsService {
        id: "readmission-30d",
        hook: "encounter-discharge",
        title: "30-day readmission risk at discharge",
        description: "Scores the risk of an unplanned readmission within 30 days of this discharge from the patient, the stay, its laboratory results, the patient's conditions and medications, and suggests a follow-up call within 7 days when the risk reaches the model's operating threshold.",
        prefetch: &[
            ("patient", "Patient/{{context.patientId}}"),
            ("encounter", "Encounter/{{context.encounterId}}"),
            ("encounters", "Encounter?patient={{context.patientId}}"),
            ("conditions", "Condition?patient={{context.patientId}}"),
            ("observations", "Observation?encounter={{context.encounterId}}"),
            ("medications", "MedicationRequest?patient={{context.patientId}}"),
        ],
        context: &["userId", "patientId", "encounterId"],
    },
    CdsService {
        id: "readmission-30d-patient-view",
        hook: "patient-view",
        title: "30-day readmission risk after the latest discharge",
        description: "When a chart is opened, scores the risk of an unplanned readmission within 30 days of the patient's latest inpatient discharge, and suggests a follow-up call within 7 days when the risk reaches the model's operating threshold.",
        prefetch: &[
            ("patient", "Patient/{{context.patientId}}"),
            ("encounters", "Encounter?patient={{context.patientId}}"),
            ("conditions", "Condition?patient={{context.patientId}}"),
            (
                "observations",
                "Observation?patient={{context.patientId}}&_sort=-date&_count=1000",
            ),
            ("medications", "MedicationRequest?patient={{context.patientId}}"),
        ],
        context: &["userId", "patientId"],
    },
];

/// The service with this id.
pub fn service(id: &str) -> Option<&'static CdsService> {
    SERVICES.iter().find(|s| s.id == id)
}

/// The discovery document (`GET /cds-services`).
pub fn discovery() -> Value {
    let services: Vec<Value> = SERVICES
        .iter()
        .map(|s| {
            let prefetch: Map<String, Value> = s
                .prefetch
                .iter()
                .map(|(k, q)| (k.to_string(), json!(q)))
                .collect();
            json!({
                "id": s.id,
                "hook": s.hook,
                "title": s.title,
                "description": s.description,
                "prefetch": prefetch,
                "usageRequirements": "Send every prefetch key: this service runs offline and never queries fhirServer.",
            })
        })
        .collect();
    json!({ "services": services })
}

/// Why a hook request cannot be answered with cards.
#[derive(Debug, Clone, PartialEq)]
pub struct CdsProblem {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
}

fn problem(status: u16, code: &'static str, message: impl Into<String>) -> CdsProblem {
    CdsProblem {
        status,
        code,
        message: message.into(),
    }
}

/// A checked hook request: its ids and the prefetched resources, borrowed
/// from the request's JSON, as the entries of one collection Bundle (what
/// `fhir::row_from_entries` reads, as `/v1/predict/fhir` reads a Bundle).
#[derive(Debug, Clone)]
pub struct HookCall<'a> {
    pub hook_instance: String,
    pub patient_id: String,
    pub encounter_id: Option<String>,
    pub entries: Vec<Entry<'a>>,
}

/// The kind of a JSON value, as errors name it.
fn kind(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

/// True for a UUID in its canonical 8-4-4-4-12 hex form.
fn is_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// A random (version 4) UUID, for cards and suggestions.
pub fn new_uuid() -> String {
    let mut b: [u8; 16] = rand::random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// The non-empty string `field` of a hook request (parsed in place).
fn string_at<'a>(v: &'a Json, field: &str) -> Result<&'a str, CdsProblem> {
    non_empty(field, v.get(field).map(|x| (x.as_str(), kind(x))))
}

/// The non-empty string `field` of a feedback item.
fn string_in<'a>(v: &'a Value, field: &str) -> Result<&'a str, CdsProblem> {
    non_empty(field, v.get(field).map(|x| (x.as_str(), json_type(x))))
}

/// What `string_at` and `string_in` check, given the member found (its
/// text if a string, and its kind).
fn non_empty<'a>(
    field: &str,
    found: Option<(Option<&'a str>, &'static str)>,
) -> Result<&'a str, CdsProblem> {
    match found {
        Some((Some(s), _)) if !s.trim().is_empty() => Ok(s),
        Some((Some(_), _)) => Err(problem(
            400,
            "invalid_request",
            format!("{field}: expected a non-empty string, found an empty one"),
        )),
        Some((None, kind)) => Err(problem(
            400,
            "invalid_request",
            format!("{field}: expected a string, found {kind}"),
        )),
        None => Err(problem(
            400,
            "invalid_request",
            format!("{field}: missing; expected a string"),
        )),
    }
}

/// Check a hook request against `svc` and gather its prefetch as the
/// entries of one Bundle (searchset Bundles flattened, each resource once).
pub fn parse_call<'a>(svc: &CdsService, v: &'a Json<'a>) -> Result<HookCall<'a>, CdsProblem> {
    if !v.is_object() {
        return Err(problem(
            400,
            "invalid_request",
            format!("expected a CDS Hooks request object, found {}", kind(v)),
        ));
    }
    let hook = string_at(v, "hook")?;
    if hook != svc.hook {
        return Err(problem(
            400,
            "wrong_hook",
            format!(
                "hook: service {} answers the {} hook, found {hook:?}",
                svc.id, svc.hook
            ),
        ));
    }
    let hook_instance = string_at(v, "hookInstance")?;
    if !is_uuid(hook_instance) {
        return Err(problem(
            400,
            "invalid_request",
            "hookInstance: expected a UUID (8-4-4-4-12 hex digits)",
        ));
    }
    let context = match v.get("context") {
        Some(c @ Json::Object(_)) => c,
        Some(other) => {
            return Err(problem(
                400,
                "invalid_request",
                format!("context: expected an object, found {}", kind(other)),
            ))
        }
        None => {
            return Err(problem(
                400,
                "invalid_request",
                "context: missing; expected an object",
            ))
        }
    };
    for key in svc.context {
        string_at(context, key).map_err(|p| CdsProblem {
            message: format!("context.{}", p.message),
            ..p
        })?;
    }
    let patient_id = string_at(context, "patientId")?.to_string();
    let encounter_id = svc
        .context
        .contains(&"encounterId")
        .then(|| string_at(context, "encounterId").map(str::to_string))
        .transpose()?;

    let prefetch = match v.get("prefetch") {
        None | Some(Json::Null) => None,
        Some(p @ Json::Object(_)) => Some(p),
        Some(other) => {
            return Err(problem(
                400,
                "invalid_request",
                format!("prefetch: expected an object, found {}", kind(other)),
            ))
        }
    };
    let missing: Vec<&str> = svc
        .prefetch
        .iter()
        .map(|(k, _)| *k)
        .filter(|k| {
            prefetch
                .and_then(|p| p.get(k))
                .is_none_or(|v| *v == Json::Null)
        })
        .collect();
    if !missing.is_empty() {
        let server = if v.get("fhirServer").is_some() {
            "; this service runs offline and does not query fhirServer"
        } else {
            "; the request names no fhirServer, and this service would not query one"
        };
        return Err(problem(
            412,
            "prefetch_missing",
            format!(
                "prefetch lacks {} (templates in GET /cds-services){server}",
                missing.join(", ")
            ),
        ));
    }
    let Some(prefetch) = prefetch else {
        return Err(problem(
            400,
            "invalid_request",
            "prefetch: expected an object",
        ));
    };

    // Borrowed, not copied: the resources go from the request's JSON
    // straight to the FHIR reader.
    let mut seen: HashSet<(&str, &str)> = HashSet::new();
    let mut entries: Vec<Entry> = Vec::new();
    for (key, _) in svc.prefetch {
        let Some(value) = prefetch.get(key) else {
            continue; // unreachable: every key was checked above
        };
        let resources: Vec<&Json> = match value.get("resourceType").and_then(Json::as_str) {
            Some("Bundle") => match value.get("entry") {
                None => Vec::new(),
                Some(Json::Array(es)) => {
                    let mut out = Vec::with_capacity(es.len());
                    for (i, e) in es.iter().enumerate() {
                        match e.get("resource") {
                            Some(r) => out.push(r),
                            None => {
                                return Err(problem(
                                    422,
                                    "invalid_prefetch",
                                    format!("prefetch.{key}.entry[{i}]: expected a resource, found none"),
                                ))
                            }
                        }
                    }
                    out
                }
                Some(other) => {
                    return Err(problem(
                        422,
                        "invalid_prefetch",
                        format!("prefetch.{key}.entry: expected an array, found {}", kind(other)),
                    ))
                }
            },
            Some(_) => vec![value],
            None => {
                return Err(problem(
                    422,
                    "invalid_prefetch",
                    format!(
                        "prefetch.{key}: expected a FHIR resource or Bundle, found {} without resourceType",
                        kind(value)
                    ),
                ))
            }
        };
        for r in resources {
            let (Some(t), Some(id)) = (
                r.get("resourceType").and_then(Json::as_str),
                r.get("id").and_then(Json::as_str),
            ) else {
                // No id: cannot be deduplicated, pass it on for the reader
                // to judge (it names the entry if it cannot use it).
                entries.push((None, Some(r)));
                continue;
            };
            // The stay comes both as `encounter` and in `encounters`.
            if seen.insert((t, id)) {
                entries.push((None, Some(r)));
            }
        }
    }
    if !seen.contains(&("Patient", patient_id.as_str())) {
        return Err(problem(
            422,
            "context_mismatch",
            "prefetch.patient is not the Patient named by context.patientId",
        ));
    }
    if let Some(e) = &encounter_id {
        if !seen.contains(&("Encounter", e.as_str())) {
            return Err(problem(
                422,
                "context_mismatch",
                "prefetch.encounter is not the Encounter named by context.encounterId",
            ));
        }
    }
    Ok(HookCall {
        hook_instance: hook_instance.to_string(),
        patient_id,
        encounter_id,
        entries,
    })
}

/// Play the EHR: the hook request an EHR would send to `svc` for one
/// patient (and, for the discharge hook, one of their stays), its prefetch
/// answered from `record`, a FHIR Bundle of the patient's chart (one line
/// of `bundles.ndjson`). Each prefetch template is answered as a FHIR
/// server would: `Type/{{context.x}}` is that resource, `Type?patient=` and
/// `Type?encounter=` a searchset of the resources that refer to it (other
/// search parameters, such as `_sort`, change nothing here). References
/// come back relative (`Encounter/E1`), as a server returns them, whatever
/// the record used (`urn:uuid:` fullUrls). At a discharge the EHR holds
/// nothing after it, so stays admitted after this one ends are left out,
/// with their results.
///
/// `patient_id` defaults to the record's one Patient, `encounter_id` to its
/// latest stay that has ended. Errors name the field and what was found.
pub fn hook_request(
    svc: &CdsService,
    record: &Value,
    patient_id: Option<&str>,
    encounter_id: Option<&str>,
    hook_instance: &str,
) -> Result<Value, String> {
    if record.get("resourceType").and_then(Value::as_str) != Some("Bundle") {
        return Err(format!(
            "resourceType: expected a FHIR Bundle, found {}",
            record
                .get("resourceType")
                .map_or_else(|| json_type(record).to_string(), Value::to_string)
        ));
    }
    let Some(entries) = record.get("entry").and_then(Value::as_array) else {
        return Err("entry: expected an array of the patient's resources".into());
    };
    // fullUrl -> Type/id, so that `urn:uuid:` references read as a server's.
    let mut local = std::collections::HashMap::new();
    let mut resources = Vec::with_capacity(entries.len());
    for (i, e) in entries.iter().enumerate() {
        let r = e
            .get("resource")
            .ok_or_else(|| format!("entry[{i}]: expected a resource, found none"))?;
        let (Some(t), Some(id)) = (
            r.get("resourceType").and_then(Value::as_str),
            r.get("id").and_then(Value::as_str),
        ) else {
            return Err(format!(
                "entry[{i}].resource: expected a resourceType and an id"
            ));
        };
        if let Some(url) = e.get("fullUrl").and_then(Value::as_str) {
            local.insert(url.to_string(), format!("{t}/{id}"));
        }
        resources.push((t.to_string(), id.to_string(), r.clone()));
    }
    for (_, _, r) in &mut resources {
        relative_references(r, &local);
    }
    let ids = |kind: &str| -> Vec<&str> {
        resources
            .iter()
            .filter(|(t, _, _)| t == kind)
            .map(|(_, id, _)| id.as_str())
            .collect()
    };
    let patient = match patient_id {
        Some(p) => p.to_string(),
        None => match ids("Patient").as_slice() {
            [one] => one.to_string(),
            found => {
                return Err(format!(
                    "the record holds {} Patient resources; name one with --patient",
                    found.len()
                ))
            }
        },
    };
    if !ids("Patient").contains(&patient.as_str()) {
        return Err(format!("no Patient {patient:?} in the record"));
    }
    let period = |r: &Value, end: &str| {
        r.pointer(&format!("/period/{end}"))
            .and_then(Value::as_str)
            .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
    };
    let needs_stay = svc.context.contains(&"encounterId");
    let stay = if needs_stay {
        let ended: Vec<&(String, String, Value)> = resources
            .iter()
            .filter(|(t, _, r)| t == "Encounter" && period(r, "end").is_some())
            .collect();
        match encounter_id {
            Some(e) => Some(
                resources
                    .iter()
                    .find(|(t, id, _)| t == "Encounter" && id == e)
                    .ok_or_else(|| format!("no Encounter {e:?} in the record"))?,
            ),
            None => Some(
                *ended
                    .iter()
                    .max_by_key(|(_, _, r)| period(r, "start"))
                    .ok_or("the record holds no Encounter that has ended (period.end)")?,
            ),
        }
    } else {
        None
    };
    let stay_id = stay.map(|(_, id, _)| id.clone());
    // What the EHR does not hold yet at this discharge.
    let discharged = stay.and_then(|(_, _, r)| period(r, "end"));
    let later: BTreeSet<String> = resources
        .iter()
        .filter(|(t, _, r)| {
            t == "Encounter"
                && matches!((period(r, "start"), discharged), (Some(s), Some(d)) if s > d)
        })
        .map(|(_, id, _)| format!("Encounter/{id}"))
        .collect();
    let refers = |r: &Value, field: &str, target: &str| {
        r.pointer(&format!("/{field}/reference"))
            .and_then(Value::as_str)
            == Some(target)
    };
    let held: Vec<&(String, String, Value)> = resources
        .iter()
        .filter(|(t, id, r)| {
            !later.contains(&format!("{t}/{id}"))
                && !later.iter().any(|e| refers(r, "encounter", e))
        })
        .collect();
    let context_value = |key: &str| match key {
        "patientId" => Some(patient.clone()),
        "encounterId" => stay_id.clone(),
        _ => None,
    };
    let mut prefetch = Map::new();
    for (key, template) in svc.prefetch {
        // `Type/{{context.x}}` or `Type?param={{context.x}}&...`.
        let (kind, rest) = template
            .split_once(['/', '?'])
            .ok_or_else(|| format!("prefetch template {template:?} is not a FHIR query"))?;
        let filled = |s: &str| -> Option<String> {
            let name = s.split_once("{{context.")?.1.split_once("}}")?.0;
            context_value(name)
        };
        let value = if template.as_bytes()[kind.len()] == b'/' {
            let id =
                filled(rest).ok_or_else(|| format!("prefetch {key}: no context for {template}"))?;
            held.iter()
                .find(|(t, i, _)| t == kind && *i == id)
                .map(|(_, _, r)| r.clone())
                .ok_or_else(|| format!("prefetch {key}: no {kind} {id:?} in the record"))?
        } else {
            let first = rest.split('&').next().unwrap_or("");
            let (param, _) = first.split_once('=').unwrap_or((first, ""));
            let target = match param {
                "patient" => format!("Patient/{patient}"),
                "encounter" => format!(
                    "Encounter/{}",
                    stay_id
                        .as_deref()
                        .ok_or_else(|| format!("prefetch {key}: no stay"))?
                ),
                other => {
                    return Err(format!(
                        "prefetch {key}: search by {other:?} is not supported"
                    ))
                }
            };
            let field = if param == "patient" {
                "subject"
            } else {
                "encounter"
            };
            let found: Vec<Value> = held
                .iter()
                .filter(|(t, _, r)| {
                    t == kind && (refers(r, field, &target) || refers(r, "patient", &target))
                })
                .map(|(_, _, r)| json!({ "resource": r }))
                .collect();
            json!({"resourceType": "Bundle", "type": "searchset", "total": found.len(), "entry": found})
        };
        prefetch.insert(key.to_string(), value);
    }
    let mut context = json!({"userId": "PractitionerRole/carelab-lab", "patientId": patient});
    if let Some(e) = &stay_id {
        context["encounterId"] = json!(e);
    }
    Ok(json!({
        "hookInstance": hook_instance,
        "fhirServer": "https://ehr.example.org/fhir",
        "hook": svc.hook,
        "context": context,
        "prefetch": prefetch,
    }))
}

/// Rewrite every `reference` that names a fullUrl of the record as the
/// resource's `Type/id`.
fn relative_references(v: &mut Value, local: &std::collections::HashMap<String, String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                match x {
                    Value::String(s) if k == "reference" => {
                        if let Some(r) = local.get(s.as_str()) {
                            *s = r.clone();
                        }
                    }
                    _ => relative_references(x, local),
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| relative_references(x, local)),
        _ => {}
    }
}

/// A card's band.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Indicator {
    Info,
    Warning,
    Critical,
}

impl Indicator {
    pub fn name(self) -> &'static str {
        match self {
            Indicator::Info => "info",
            Indicator::Warning => "warning",
            Indicator::Critical => "critical",
        }
    }
    fn band(self) -> &'static str {
        match self {
            Indicator::Info => "elevated",
            Indicator::Warning => "high",
            Indicator::Critical => "very high",
        }
    }
}

/// The cut points: a card from `t`, warning from `t + (1-t)/3`, critical
/// from `t + 2(1-t)/3`.
pub fn cut_points(threshold: f64) -> [f64; 3] {
    let step = (1.0 - threshold) / 3.0;
    [threshold, threshold + step, threshold + 2.0 * step]
}

/// The band of a risk; `None` below the threshold (no card).
pub fn indicator(risk: f64, threshold: f64) -> Option<Indicator> {
    let [t, warn, crit] = cut_points(threshold);
    if risk < t {
        None
    } else if risk < warn {
        Some(Indicator::Info)
    } else if risk < crit {
        Some(Indicator::Warning)
    } else {
        Some(Indicator::Critical)
    }
}

/// Override reasons the card offers (feedback counts these codes; any
/// other is counted as `other`).
pub const OVERRIDE_REASONS: [(&str, &str); 4] = [
    ("follow-up-arranged", "Follow-up already arranged"),
    (
        "not-discharged-home",
        "Not going home (transfer, hospice or facility)",
    ),
    ("patient-declined", "Patient declined a follow-up call"),
    ("risk-not-credible", "Risk not credible for this patient"),
];
pub const OVERRIDE_SYSTEM: &str = "https://carelab.example/cds/override-reason";

/// What the card says beyond the risk: the model and what drove the score.
pub struct CardInput<'a> {
    pub risk: f64,
    pub threshold: f64,
    /// Where the threshold came from, in words.
    pub threshold_source: &'a str,
    pub model: &'a str,
    pub version: &'a str,
    /// Absolute URL of the model card.
    pub model_card_url: String,
    pub patient_id: &'a str,
    pub stay_id: &'a str,
    /// The features the model read, as the row gives them.
    pub features: &'a Map<String, Value>,
    /// Per-feature contributions to the log-odds, when the model gives them.
    pub contributions: Option<Vec<(String, f64)>>,
    pub quarantined: usize,
}

fn percent(x: f64) -> String {
    format!("{:.1}%", 100.0 * x)
}

/// The card for a risk, or none below the threshold.
pub fn card(c: &CardInput) -> Option<Value> {
    let ind = indicator(c.risk, c.threshold)?;
    let summary = format!(
        "30-day readmission risk {} ({}): consider a follow-up call within 7 days",
        percent(c.risk),
        ind.band()
    );
    let [t, warn, crit] = cut_points(c.threshold);
    let mut detail = format!(
        "**Risk of readmission within 30 days: {}** ({} band) for stay `{}`.\n\n\
         Bands: a card from {} ({}); info below {}, warning below {}, critical from {}.\n\n",
        percent(c.risk),
        ind.band(),
        c.stay_id,
        percent(t),
        c.threshold_source,
        percent(warn),
        percent(crit),
        percent(crit),
    );
    match &c.contributions {
        Some(contribs) => {
            let mut top: Vec<&(String, f64)> = contribs.iter().filter(|(_, x)| *x != 0.0).collect();
            top.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()).then(a.0.cmp(&b.0)));
            detail.push_str(
                "What drove the score (each feature's contribution to the log-odds against the model's reference patient, largest first; + raises the risk, - lowers it):\n\n\
                 | feature | value | contribution |\n|---|---|---|\n",
            );
            for (name, x) in top.iter().take(5) {
                let value = c.features.get(name).map_or("-".into(), show);
                detail.push_str(&format!("| {name} | {value} | {x:+.3} |\n"));
            }
            if top.is_empty() {
                detail.push_str("| (none: every feature sits at its reference) | | |\n");
            }
        }
        None => {
            let (present, missing): (Vec<_>, Vec<_>) =
                c.features.iter().partition(|(_, v)| !v.is_null());
            detail.push_str(
                "This model does not attribute a score to its inputs. The inputs it read:\n\n",
            );
            // Written in place: a string per feature was a third of the card.
            let _ = write!(detail, "- present ({}): ", present.len());
            for (i, (k, v)) in present.iter().enumerate() {
                if i > 0 {
                    detail.push_str(", ");
                }
                let _ = match v {
                    Value::String(s) => write!(detail, "{k} = {s}"),
                    other => write!(detail, "{k} = {other}"),
                };
            }
            detail.push('\n');
            let names: Vec<&str> = missing.iter().map(|(k, _)| k.as_str()).collect();
            detail.push_str(&format!(
                "- missing ({}): {}\n",
                missing.len(),
                if names.is_empty() {
                    "none".into()
                } else {
                    names.join(", ")
                }
            ));
        }
    }
    if c.quarantined > 0 {
        detail.push_str(&format!(
            "\n{} record(s) were left out by ingest's rules, as training leaves them out.\n",
            c.quarantined
        ));
    }
    let request = json!({
        "resourceType": "ServiceRequest",
        "status": "draft",
        "intent": "proposal",
        "priority": "routine",
        "code": {"text": "Follow-up telephone call within 7 days of discharge"},
        "subject": {"reference": format!("Patient/{}", c.patient_id)},
        "encounter": {"reference": format!("Encounter/{}", c.stay_id)},
        "reasonCode": [{"text": format!("30-day readmission risk {} ({})", percent(c.risk), ind.band())}],
        "occurrenceTiming": {"repeat": {"boundsDuration": {"value": 7, "unit": "d", "system": "http://unitsofmeasure.org", "code": "d"}}},
    });
    let reasons: Vec<Value> = OVERRIDE_REASONS
        .iter()
        .map(|(code, display)| json!({"code": code, "system": OVERRIDE_SYSTEM, "display": display}))
        .collect();
    Some(json!({
        "uuid": new_uuid(),
        "summary": summary,
        "indicator": ind.name(),
        "detail": detail,
        "source": {
            "label": format!("CareLab {} version {}", c.model, c.version),
            "url": c.model_card_url,
        },
        "suggestions": [{
            "label": "Schedule a follow-up call within 7 days",
            "uuid": new_uuid(),
            "isRecommended": true,
            "actions": [{
                "type": "create",
                "description": "Propose a telephone follow-up within 7 days of discharge",
                "resource": request,
            }],
        }],
        "selectionBehavior": "at-most-one",
        "overrideReasons": reasons,
    }))
}

fn show(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// One feedback entry, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Feedback {
    pub card: String,
    pub accepted: bool,
    /// The override reason's code, when one of ours; `other` otherwise.
    pub reason: Option<&'static str>,
    pub commented: bool,
}

/// Check a feedback body (`{"feedback": [...]}`).
pub fn parse_feedback(v: &Value) -> Result<Vec<Feedback>, CdsProblem> {
    let Some(items) = v.get("feedback").and_then(Value::as_array) else {
        return Err(problem(
            400,
            "invalid_request",
            "feedback: expected an array of feedback entries",
        ));
    };
    if items.is_empty() {
        return Err(problem(
            400,
            "invalid_request",
            "feedback: the array is empty",
        ));
    }
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let at = |p: CdsProblem| CdsProblem {
            message: format!("feedback[{i}].{}", p.message),
            ..p
        };
        let card = string_in(item, "card").map_err(at)?;
        if !is_uuid(card) {
            return Err(at(problem(
                400,
                "invalid_request",
                "card: expected the card's UUID",
            )));
        }
        string_in(item, "outcomeTimestamp").map_err(at)?;
        let accepted = match string_in(item, "outcome").map_err(at)? {
            "accepted" => true,
            "overridden" => false,
            other => {
                return Err(at(problem(
                    400,
                    "invalid_request",
                    format!("outcome: expected \"accepted\" or \"overridden\", found {other:?}"),
                )))
            }
        };
        let over = item.get("overrideReason");
        if accepted && over.is_some() {
            return Err(at(problem(
                400,
                "invalid_request",
                "overrideReason: only an overridden card has one",
            )));
        }
        let reason = over.map(|o| {
            let code = o.pointer("/reason/code").and_then(Value::as_str);
            let system = o.pointer("/reason/system").and_then(Value::as_str);
            OVERRIDE_REASONS
                .iter()
                .find(|(c, _)| Some(*c) == code && system == Some(OVERRIDE_SYSTEM))
                .map_or("other", |(c, _)| c)
        });
        let commented = over
            .and_then(|o| o.get("userComment"))
            .and_then(Value::as_str)
            .is_some_and(|s| !s.trim().is_empty());
        out.push(Feedback {
            card: card.to_string(),
            accepted,
            reason,
            commented,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_cut_the_range_above_the_threshold_in_thirds() {
        assert_eq!(indicator(0.49, 0.4), Some(Indicator::Info));
        assert_eq!(indicator(0.39, 0.4), None);
        assert_eq!(indicator(0.4, 0.4), Some(Indicator::Info));
        assert_eq!(indicator(0.6, 0.4), Some(Indicator::Warning));
        assert_eq!(indicator(0.8, 0.4), Some(Indicator::Critical));
    }

    #[test]
    fn uuids_are_version_4() {
        let u = new_uuid();
        assert!(is_uuid(&u), "{u}");
        assert_eq!(&u[14..15], "4");
        assert!(!is_uuid("not-a-uuid"));
    }

    #[test]
    fn missing_prefetch_is_412_naming_the_keys() {
        let svc = service("readmission-30d").unwrap();
        let req = json!({
            "hook": "encounter-discharge",
            "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
            "fhirServer": "https://ehr.example/fhir",
            "context": {"userId": "Practitioner/1", "patientId": "P1", "encounterId": "E1"},
            "prefetch": {"patient": {"resourceType": "Patient", "id": "P1"}, "conditions": null},
        });
        let p = parse_call(svc, &Json::from_value(&req)).unwrap_err();
        assert_eq!(p.status, 412);
        assert!(
            p.message
                .contains("encounter, encounters, conditions, observations, medications"),
            "{}",
            p.message
        );
        assert!(p.message.contains("fhirServer"));
    }

    #[test]
    fn feedback_counts_only_our_reason_codes() {
        let v = json!({"feedback": [
            {"card": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea", "outcome": "overridden",
             "outcomeTimestamp": "2026-12-03T10:00:00Z",
             "overrideReason": {"reason": {"code": "patient-declined", "system": OVERRIDE_SYSTEM}, "userComment": "x"}},
            {"card": "d1577c69-dfbe-44ad-ba6d-3e05e953b2eb", "outcome": "overridden",
             "outcomeTimestamp": "2026-12-03T10:00:00Z",
             "overrideReason": {"reason": {"code": "made-up", "system": OVERRIDE_SYSTEM}}},
        ]});
        let f = parse_feedback(&v).unwrap();
        assert_eq!(f[0].reason, Some("patient-declined"));
        assert!(f[0].commented);
        assert_eq!(f[1].reason, Some("other"));
        let bad = json!({"feedback": [{"card": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea", "outcome": "maybe", "outcomeTimestamp": "t"}]});
        assert!(parse_feedback(&bad)
            .unwrap_err()
            .message
            .starts_with("feedback[0].outcome"));
    }
}
