//! FHIR R4 JSON -> the clinical records.
//!
//! A reader never stops at the first bad resource: each one it cannot use
//! becomes an error naming the file, the NDJSON line or Bundle entry, the
//! element path, what was expected and what was found, and reading goes on.
//! Resource types CareLab does not model are counted, not rejected. Values
//! are described in errors by their JSON type and length, never quoted,
//! except codes (status, resourceType, code systems), which carry no PHI.

use std::collections::BTreeMap;
use std::fmt;

use super::base64;
use super::json::Json;
use super::write::{MRN_SYSTEM, PAYER_EXTENSION};
use crate::clinical::codes::{ICD10CM, RXNORM};
use crate::clinical::{Condition, Disposition, Encounter, Medication, Note, Observation, Patient};
use crate::error::{Error, Result};
use chrono::{NaiveDate, NaiveDateTime};

/// The records read from one FHIR source.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FhirRecords {
    pub patients: Vec<Patient>,
    pub encounters: Vec<Encounter>,
    pub observations: Vec<Observation>,
    pub conditions: Vec<Condition>,
    pub medications: Vec<Medication>,
    pub notes: Vec<Note>,
}

impl FhirRecords {
    /// How many records of every kind together.
    pub fn len(&self) -> usize {
        self.patients.len()
            + self.encounters.len()
            + self.observations.len()
            + self.conditions.len()
            + self.medications.len()
            + self.notes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What reading one source gave: the records, the resources rejected (one
/// error each) and the resource types skipped, counted by type. Every
/// resource seen is in exactly one of the three:
/// `seen == records.len() + rejected.len() + sum(unknown_types)`.
#[derive(Debug, Default)]
pub struct FhirRead {
    pub seen: usize,
    pub records: FhirRecords,
    pub rejected: Vec<Error>,
    pub unknown_types: BTreeMap<String, usize>,
}

/// Where a resource sits, for error messages, and how to resolve its
/// references.
struct Ctx<'a> {
    source: &'a str,
    place: Place<'a>,
    /// Bundle fullUrl -> (resourceType, id).
    urls: &'a BTreeMap<&'a str, (&'a str, &'a str)>,
}

/// `line 12`, `entry 3` or a name the caller gave; written out only when
/// there is an error to report.
#[derive(Clone, Copy)]
enum Place<'a> {
    Line(usize),
    Entry(usize),
    Named(&'a str),
}

impl fmt::Display for Place<'_> {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Place::Line(n) => write!(f, "line {n}"),
            Place::Entry(i) => write!(f, "entry {i}"),
            Place::Named(name) => f.write_str(name),
        }
    }
}

/// Read a Bulk Data NDJSON file: one resource per line, blank lines skipped.
/// Lines are numbered from 1.
pub fn read_ndjson(source: &str, text: &str) -> FhirRead {
    let urls = BTreeMap::new();
    let mut out = FhirRead::default();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        out.seen += 1;
        let ctx = Ctx {
            source,
            place: Place::Line(i + 1),
            urls: &urls,
        };
        match Json::parse(line) {
            Ok(v) => take(&ctx, &v, &mut out),
            Err(e) => out.rejected.push(Error::bad_input(
                source,
                Some(ctx.place.to_string()),
                "one JSON object on the line",
                format!(
                    "invalid JSON at column {}: {}",
                    e.column(),
                    json_error_kind(&e)
                ),
            )),
        }
    }
    out
}

/// Read a Bundle (any type: transaction, batch, collection, searchset).
/// Fails only when the text is not a JSON Bundle; bad entries are rejected
/// one by one. Entries are numbered from 0, as in `Bundle.entry[i]`.
pub fn read_bundle(source: &str, text: &str) -> Result<FhirRead> {
    let v = Json::parse(text).map_err(|e| {
        Error::bad_input(
            source,
            Some(format!("line {}, column {}", e.line(), e.column())),
            "a JSON FHIR Bundle",
            format!("invalid JSON: {}", json_error_kind(&e)),
        )
    })?;
    read_bundle_json(source, &v)
}

/// `read_bundle` over a JSON text already parsed (a caller that had to look
/// at `resourceType` first parses once).
pub fn read_bundle_json(source: &str, v: &Json) -> Result<FhirRead> {
    let top = |expected: &str, found: String| {
        Error::bad_input(source, Some("Bundle".to_string()), expected, found)
    };
    match v.get("resourceType") {
        Some(Json::String(t)) if t == "Bundle" => {}
        Some(other) => return Err(top("resourceType \"Bundle\"", describe_code(other))),
        None => return Err(top("a resourceType element", describe(v))),
    }
    let entries = match v.get("entry") {
        None => return Ok(FhirRead::default()),
        Some(Json::Array(a)) => a,
        Some(other) => return Err(top("Bundle.entry as an array", describe(other))),
    };
    let mut urls = BTreeMap::new();
    for e in entries {
        let url = e.get("fullUrl").and_then(Json::as_str);
        let r = e.get("resource");
        let kind = r.and_then(|r| r.get("resourceType")).and_then(Json::as_str);
        let id = r.and_then(|r| r.get("id")).and_then(Json::as_str);
        if let (Some(url), Some(kind), Some(id)) = (url, kind, id) {
            urls.insert(url, (kind, id));
        }
    }
    let mut out = FhirRead::default();
    for (i, e) in entries.iter().enumerate() {
        out.seen += 1;
        let ctx = Ctx {
            source,
            place: Place::Entry(i),
            urls: &urls,
        };
        match e.get("resource") {
            Some(r) => take(&ctx, r, &mut out),
            None => out
                .rejected
                .push(ctx.err(&"Bundle.entry.resource", "a resource", "nothing")),
        }
    }
    Ok(out)
}

/// Read one resource value into `out` (records, rejected or unknown).
fn take(ctx: &Ctx, v: &Json, out: &mut FhirRead) {
    let r = &mut out.records;
    let result = match read_resource_with(ctx, v) {
        Ok(Resource::Patient(p)) => {
            r.patients.push(p);
            Ok(())
        }
        Ok(Resource::Encounter(e)) => {
            r.encounters.push(e);
            Ok(())
        }
        Ok(Resource::Observation(o)) => {
            r.observations.push(o);
            Ok(())
        }
        Ok(Resource::Condition(c)) => {
            r.conditions.push(c);
            Ok(())
        }
        Ok(Resource::Medication(m)) => {
            r.medications.push(m);
            Ok(())
        }
        Ok(Resource::Note(n)) => {
            r.notes.push(n);
            Ok(())
        }
        Ok(Resource::Unknown(kind)) => {
            *out.unknown_types.entry(kind).or_insert(0) += 1;
            Ok(())
        }
        Err(e) => Err(e),
    };
    if let Err(e) = result {
        out.rejected.push(e);
    }
}

/// One resource as a record.
#[derive(Debug, Clone, PartialEq)]
pub enum Resource {
    Patient(Patient),
    Encounter(Encounter),
    Observation(Observation),
    Condition(Condition),
    Medication(Medication),
    Note(Note),
    /// A resource type CareLab does not model, by name.
    Unknown(String),
}

/// Read one standalone resource (references as `Type/id`); `place` names it
/// in errors (`line 3`, `resource 7`).
pub fn read_resource(source: &str, place: &str, v: &Json) -> Result<Resource> {
    let urls = BTreeMap::new();
    let ctx = Ctx {
        source,
        place: Place::Named(place),
        urls: &urls,
    };
    read_resource_with(&ctx, v)
}

fn read_resource_with(ctx: &Ctx, v: &Json) -> Result<Resource> {
    if !v.is_object() {
        return Err(ctx.err(&"resource", "a JSON object", &describe(v)));
    }
    let kind = match v.get("resourceType") {
        Some(Json::String(s)) => s.as_ref(),
        Some(other) => return Err(ctx.err(&"resourceType", "a string", &describe(other))),
        None => return Err(ctx.err(&"resourceType", "a resourceType element", "nothing")),
    };
    let r = Res { ctx, kind, v };
    Ok(match kind {
        "Patient" => Resource::Patient(patient(&r)?),
        "Encounter" => Resource::Encounter(encounter(&r)?),
        "Observation" => Resource::Observation(observation(&r)?),
        "Condition" => Resource::Condition(condition(&r)?),
        "MedicationRequest" => Resource::Medication(medication(&r)?),
        "DocumentReference" => Resource::Note(note(&r)?),
        other => Resource::Unknown(other.to_string()),
    })
}

impl Ctx<'_> {
    fn err(&self, path: &dyn fmt::Display, expected: &str, found: &str) -> Error {
        Error::bad_input(
            self.source,
            Some(format!("{}, {path}", self.place)),
            expected,
            found,
        )
    }
}

/// One resource being read: paths are dotted (`code.coding.0.code`) and
/// written in errors as `Observation.code.coding[0].code`. Paths are taken
/// as `Display` so that one with an index in it (`format_args!`) is only
/// formatted when there is an error to report.
struct Res<'a> {
    ctx: &'a Ctx<'a>,
    kind: &'a str,
    v: &'a Json<'a>,
}

impl<'a> Res<'a> {
    fn path(&self, path: &dyn fmt::Display) -> String {
        let mut out = self.kind.to_string();
        for part in path.to_string().split('.') {
            if part.bytes().all(|b| b.is_ascii_digit()) {
                out.push_str(&format!("[{part}]"));
            } else {
                out.push('.');
                out.push_str(part);
            }
        }
        out
    }

    fn err(&self, path: &dyn fmt::Display, expected: &str, found: &str) -> Error {
        self.ctx.err(&self.path(path), expected, found)
    }

    /// The element at `path` below `from`, or None when any step is absent.
    fn at(from: &'a Json<'a>, path: &str) -> Option<&'a Json<'a>> {
        path.split('.')
            .try_fold(from, |v, part| match part.parse::<usize>() {
                Ok(i) => v.index(i),
                Err(_) => v.get(part),
            })
    }

    /// An optional string element found at `v` (`full` names it); present
    /// with another type is an error.
    fn str_of(&self, v: Option<&'a Json<'a>>, full: &dyn fmt::Display) -> Result<Option<&'a str>> {
        match v {
            None | Some(Json::Null) => Ok(None),
            Some(Json::String(s)) => Ok(Some(s.as_ref())),
            Some(other) => Err(self.err(full, "a string", &describe(other))),
        }
    }

    fn opt_str_in(
        &self,
        from: &'a Json<'a>,
        path: &str,
        full: &dyn fmt::Display,
    ) -> Result<Option<&'a str>> {
        self.str_of(Self::at(from, path), full)
    }

    fn opt_str(&self, path: &str) -> Result<Option<&'a str>> {
        self.opt_str_in(self.v, path, &path)
    }

    fn str_or_empty(&self, path: &str) -> Result<String> {
        Ok(self.opt_str(path)?.unwrap_or_default().to_string())
    }

    fn req_str(&self, path: &str) -> Result<&'a str> {
        self.opt_str(path)?
            .filter(|s| !s.is_empty())
            .ok_or_else(|| self.err(&path, "a non-empty string", "nothing"))
    }

    /// An optional array found at `v` (`full` names it): absent is empty.
    fn array_of(&self, v: Option<&'a Json<'a>>, full: &dyn fmt::Display) -> Result<&'a [Json<'a>]> {
        match v {
            None | Some(Json::Null) => Ok(&[]),
            Some(Json::Array(a)) => Ok(a.as_slice()),
            Some(other) => Err(self.err(full, "an array", &describe(other))),
        }
    }

    fn array(&self, path: &str) -> Result<&'a [Json<'a>]> {
        self.array_of(Self::at(self.v, path), &path)
    }

    fn id(&self) -> Result<String> {
        Ok(self.req_str("id")?.to_string())
    }

    /// The id of the resource a reference points at, checking its type.
    fn reference(&self, path: &str, target: &str) -> Result<Option<String>> {
        let full = format_args!("{path}.reference");
        let found = Self::at(self.v, path).and_then(|v| v.get("reference"));
        let Some(reference) = self.str_of(found, &full)? else {
            return Ok(None);
        };
        if let Some((kind, id)) = self.ctx.urls.get(reference) {
            return if *kind == target {
                Ok(Some(id.to_string()))
            } else {
                Err(self.err(
                    &full,
                    &format!("a reference to a {target}"),
                    &format!("a reference to a {kind}"),
                ))
            };
        }
        if reference.starts_with("urn:") {
            return Err(self.err(
                &full,
                "a fullUrl of an entry in this Bundle",
                "a urn that no entry has",
            ));
        }
        let mut parts = reference.rsplit('/');
        match (parts.next(), parts.next()) {
            (Some(id), Some(kind)) if kind == target && !id.is_empty() => Ok(Some(id.to_string())),
            _ => Err(self.err(
                &full,
                &format!("{target}/<id>"),
                &format!("a reference of {} characters", reference.chars().count()),
            )),
        }
    }

    fn req_reference(&self, path: &str, target: &str) -> Result<String> {
        self.reference(path, target)?.ok_or_else(|| {
            self.err(
                &format_args!("{path}.reference"),
                &format!("a reference to a {target}"),
                "nothing",
            )
        })
    }

    fn datetime(&self, path: &str) -> Result<NaiveDateTime> {
        let s = self.req_str(path)?;
        parse_fhir_datetime(s).ok_or_else(|| {
            self.err(
                &path,
                "a FHIR dateTime like 2023-04-05T14:30:00+00:00",
                &describe_str(s),
            )
        })
    }

    fn date(&self, path: &str) -> Result<NaiveDate> {
        let s = self.req_str(path)?;
        s.get(..10)
            .and_then(parse_date)
            .filter(|_| s.len() == 10 || parse_fhir_datetime(s).is_some())
            .ok_or_else(|| self.err(&path, "a date like 2023-04-05", &describe_str(s)))
    }

    /// (system, code, display) of the coding of a CodeableConcept at `path`
    /// with the preferred system, else its first coding.
    fn coding(&self, path: &str, prefer: Option<&str>) -> Result<Option<(String, String, String)>> {
        let concept = Self::at(self.v, path).and_then(|c| c.get("coding"));
        let codings = self.array_of(concept, &format_args!("{path}.coding"))?;
        let pick = codings
            .iter()
            .position(|c| prefer.is_some() && c.get("system").and_then(Json::as_str) == prefer)
            .unwrap_or(0);
        let Some(c) = codings.get(pick) else {
            return Ok(None);
        };
        let get = |field: &str| -> Result<String> {
            let full = format_args!("{path}.coding.{pick}.{field}");
            Ok(self
                .str_of(c.get(field), &full)?
                .unwrap_or_default()
                .to_string())
        };
        Ok(Some((get("system")?, get("code")?, get("display")?)))
    }

    fn req_code(&self, path: &str, prefer: Option<&str>) -> Result<(String, String, String)> {
        match self.coding(path, prefer)? {
            Some(c) if !c.1.is_empty() => Ok(c),
            _ => Err(self.err(&format_args!("{path}.coding.0.code"), "a code", "nothing")),
        }
    }
}

/// `YYYY-MM-DDTHH:MM:SS[.fff](Z|+hh:mm|-hh:mm)` or a bare date (midnight);
/// the wall-clock time is kept, the offset checked and dropped.
fn parse_fhir_datetime(s: &str) -> Option<NaiveDateTime> {
    if s.len() == 10 {
        return parse_date(s)?.and_hms_opt(0, 0, 0);
    }
    let head = s.get(..19)?;
    let t = plain_datetime(head.as_bytes())
        .or_else(|| NaiveDateTime::parse_from_str(head, "%Y-%m-%dT%H:%M:%S").ok())?;
    let mut rest = s.get(19..)?;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        rest = frac.get(digits..)?;
    }
    let zone_ok = match rest.as_bytes() {
        b"" | b"Z" => true,
        [b'+' | b'-', h1, h2, b':', m1, m2] => [h1, h2, m1, m2].iter().all(|b| b.is_ascii_digit()),
        _ => false,
    };
    zone_ok.then_some(t)
}

/// `YYYY-MM-DD`. Dates as FHIR writes them are read digit by digit; any
/// other text goes to chrono's format parser, which decides as it always
/// did (the fast path only ever agrees with it, it never widens it).
fn parse_date(s: &str) -> Option<NaiveDate> {
    plain_date(s.as_bytes()).or_else(|| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
}

fn plain_date(b: &[u8]) -> Option<NaiveDate> {
    let &[y0, y1, y2, y3, b'-', m0, m1, b'-', d0, d1] = b else {
        return None;
    };
    let year = i32::try_from(number(&[y0, y1, y2, y3])?).ok()?;
    NaiveDate::from_ymd_opt(year, number(&[m0, m1])?, number(&[d0, d1])?)
}

/// `YYYY-MM-DDTHH:MM:SS` digit by digit (see `parse_date`).
fn plain_datetime(b: &[u8]) -> Option<NaiveDateTime> {
    let (date, time) = b.split_at_checked(10)?;
    let &[b'T', h0, h1, b':', m0, m1, b':', s0, s1] = time else {
        return None;
    };
    plain_date(date)?.and_hms_opt(number(&[h0, h1])?, number(&[m0, m1])?, number(&[s0, s1])?)
}

/// ASCII digits as a number; None when any byte is not a digit.
fn number(digits: &[u8]) -> Option<u32> {
    digits.iter().try_fold(0u32, |n, &d| {
        d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
    })
}

fn patient(r: &Res) -> Result<Patient> {
    let mut mrn = String::new();
    let mut ssn = String::new();
    for (i, ident) in r.array("identifier")?.iter().enumerate() {
        let system = r.opt_str_in(ident, "system", &format_args!("identifier.{i}.system"))?;
        let type_code = Res::at(ident, "type.coding.0.code").and_then(Json::as_str);
        let value = r.opt_str_in(ident, "value", &format_args!("identifier.{i}.value"))?;
        let value = value.unwrap_or_default().to_string();
        if system == Some("http://hl7.org/fhir/sid/us-ssn") || type_code == Some("SS") {
            ssn = value;
        } else if system == Some(MRN_SYSTEM) || type_code == Some("MR") {
            mrn = value;
        }
    }
    let names = r.array("name")?;
    let name = names
        .iter()
        .position(|n| n.get("use").and_then(Json::as_str) == Some("official"))
        .unwrap_or(0);
    let family_name = r.str_or_empty(&format!("name.{name}.family"))?;
    let given_name = r.str_or_empty(&format!("name.{name}.given.0"))?;
    let sex = match r.opt_str("gender")? {
        Some("female") => "F",
        Some("male") => "M",
        _ => "",
    };
    let mut race = String::new();
    let mut ethnicity = String::new();
    let mut payer = String::new();
    for (i, ext) in r.array("extension")?.iter().enumerate() {
        let url = r
            .opt_str_in(ext, "url", &format_args!("extension.{i}.url"))?
            .unwrap_or_default();
        let text = || -> Result<String> {
            let subs = Res::at(ext, "extension").and_then(Json::as_array);
            let text = subs
                .into_iter()
                .flatten()
                .position(|s| s.get("url").and_then(Json::as_str) == Some("text"));
            Ok(match text {
                Some(j) => r
                    .opt_str_in(
                        ext,
                        &format!("extension.{j}.valueString"),
                        &format_args!("extension.{i}.extension.{j}.valueString"),
                    )?
                    .unwrap_or_default()
                    .to_string(),
                None => String::new(),
            })
        };
        if url.ends_with("us-core-race") {
            race = text()?;
        } else if url.ends_with("us-core-ethnicity") {
            ethnicity = text()?;
        } else if url == PAYER_EXTENSION {
            payer = r
                .opt_str_in(
                    ext,
                    "valueString",
                    &format_args!("extension.{i}.valueString"),
                )?
                .unwrap_or_default()
                .to_string();
        }
    }
    let mut phone = String::new();
    let mut email = String::new();
    for (i, t) in r.array("telecom")?.iter().enumerate() {
        let system = r.opt_str_in(t, "system", &format_args!("telecom.{i}.system"))?;
        let value = r.opt_str_in(t, "value", &format_args!("telecom.{i}.value"))?;
        match (system, value) {
            (Some("phone"), Some(v)) if phone.is_empty() => phone = v.to_string(),
            (Some("email"), Some(v)) if email.is_empty() => email = v.to_string(),
            _ => {}
        }
    }
    let death_date = match r.opt_str("deceasedDateTime")? {
        Some(_) => Some(r.date("deceasedDateTime")?),
        None => None,
    };
    Ok(Patient {
        patient_id: r.id()?,
        mrn,
        given_name,
        family_name,
        sex: sex.to_string(),
        birth_date: r.date("birthDate")?,
        race,
        ethnicity,
        payer,
        address_line: r.str_or_empty("address.0.line.0")?,
        city: r.str_or_empty("address.0.city")?,
        state: r.str_or_empty("address.0.state")?,
        zip: r.str_or_empty("address.0.postalCode")?,
        phone,
        email,
        ssn,
        death_date,
    })
}

fn encounter(r: &Res) -> Result<Encounter> {
    let disposition = match r.coding("hospitalization.dischargeDisposition", None)? {
        Some((_, code, _)) if Disposition::from_nubc(&code).is_some() => {
            Disposition::from_nubc(&code)
                .map(|d| d.name().to_string())
                .unwrap_or(code)
        }
        _ => r.str_or_empty("hospitalization.dischargeDisposition.text")?,
    };
    let reason_code = r
        .coding("reasonCode.0", Some(ICD10CM))?
        .map(|c| c.1)
        .unwrap_or_default();
    Ok(Encounter {
        encounter_id: r.id()?,
        patient_id: r.req_reference("subject", "Patient")?,
        class: r.req_str("class.code")?.to_string(),
        admit_time: r.datetime("period.start")?,
        discharge_time: r.datetime("period.end")?,
        disposition,
        reason_code,
    })
}

fn observation(r: &Res) -> Result<Observation> {
    let (system, code, display) = r.req_code("code", None)?;
    let value = match Res::at(r.v, "valueQuantity.value") {
        Some(Json::Number(n)) => *n,
        Some(other) => return Err(r.err(&"valueQuantity.value", "a number", &describe(other))),
        // Written for values JSON cannot hold; kept so nothing is lost.
        None if r.v.get("dataAbsentReason").is_some() => f64::NAN,
        None => return Err(r.err(&"valueQuantity.value", "a number", "nothing")),
    };
    let unit = match r.opt_str("valueQuantity.code")? {
        Some(code) => code.to_string(),
        None => r.str_or_empty("valueQuantity.unit")?,
    };
    let time = if r.v.get("effectiveDateTime").is_some() {
        r.datetime("effectiveDateTime")?
    } else {
        r.datetime("effectiveInstant")?
    };
    Ok(Observation {
        observation_id: r.id()?,
        patient_id: r.req_reference("subject", "Patient")?,
        encounter_id: r.reference("encounter", "Encounter")?.unwrap_or_default(),
        time,
        code: code.into(),
        system: system.into(),
        display: display.into(),
        value,
        unit: unit.into(),
    })
}

fn condition(r: &Res) -> Result<Condition> {
    let (_, code, display) = r.req_code("code", Some(ICD10CM))?;
    let onset_date = if r.v.get("onsetDateTime").is_some() {
        r.date("onsetDateTime")?
    } else {
        r.date("recordedDate")?
    };
    Ok(Condition {
        condition_id: r.id()?,
        patient_id: r.req_reference("subject", "Patient")?,
        encounter_id: r.reference("encounter", "Encounter")?,
        code,
        display,
        onset_date,
    })
}

fn medication(r: &Res) -> Result<Medication> {
    let (_, rxnorm, display) = r.req_code("medicationCodeableConcept", Some(RXNORM))?;
    let name = if display.is_empty() {
        r.str_or_empty("medicationCodeableConcept.text")?
    } else {
        display
    };
    Ok(Medication {
        medication_id: r.id()?,
        patient_id: r.req_reference("subject", "Patient")?,
        encounter_id: r.reference("encounter", "Encounter")?.unwrap_or_default(),
        rxnorm,
        name,
        authored_time: r.datetime("authoredOn")?,
    })
}

fn note(r: &Res) -> Result<Note> {
    let data = r.req_str("content.0.attachment.data")?;
    let bytes = base64::decode(data).ok_or_else(|| {
        r.err(
            &"content.0.attachment.data",
            "base64 data",
            "characters outside base64",
        )
    })?;
    let text = String::from_utf8(bytes).map_err(|e| {
        r.err(
            &"content.0.attachment.data",
            "base64 of UTF-8 text",
            &format!("invalid UTF-8 at byte {}", e.utf8_error().valid_up_to()),
        )
    })?;
    Ok(Note {
        note_id: r.id()?,
        patient_id: r.req_reference("subject", "Patient")?,
        encounter_id: r
            .reference("context.encounter.0", "Encounter")?
            .unwrap_or_default(),
        time: r.datetime("date")?,
        text,
    })
}

/// A JSON value described without quoting it (it may be PHI).
fn describe(v: &Json) -> String {
    match v {
        Json::Null => "null".into(),
        Json::Bool(_) => "a boolean".into(),
        Json::Number(_) => "a number".into(),
        Json::String(s) => describe_str(s),
        Json::Array(a) => format!("an array of {} items", a.len()),
        Json::Object(_) => "an object".into(),
    }
}

fn describe_str(s: &str) -> String {
    format!("a string of {} characters", s.chars().count())
}

/// A value that is a code (carries no PHI): quoted when a short string.
fn describe_code(v: &Json) -> String {
    match v {
        Json::String(s) if s.len() <= 40 => format!("\"{s}\""),
        other => describe(other),
    }
}

fn json_error_kind(e: &serde_json::Error) -> &'static str {
    match e.classify() {
        serde_json::error::Category::Eof => "the text ends too early",
        serde_json::error::Category::Syntax => "a syntax error",
        serde_json::error::Category::Data => "a value of the wrong type",
        serde_json::error::Category::Io => "a read error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn dt(s: &str) -> Option<String> {
        parse_fhir_datetime(s).map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
    }

    #[test]
    fn datetimes_read_digit_by_digit_agree_with_chrono() {
        assert_eq!(
            dt("2023-04-05T14:30:09+00:00").as_deref(),
            Some("2023-04-05 14:30:09")
        );
        assert_eq!(
            dt("2023-04-05T14:30:09.123Z").as_deref(),
            Some("2023-04-05 14:30:09")
        );
        assert_eq!(dt("2024-02-29").as_deref(), Some("2024-02-29 00:00:00"));
        for bad in [
            "2023-02-29",
            "2023-13-01T00:00:00Z",
            "2023-04-05T24:00:00Z",
            "2023-04-05T14:30:09+0000",
            "2023-04-05T14:30:09.",
            "2023-04-05 14:30:09",
            "",
        ] {
            assert_eq!(dt(bad), None, "{bad}");
        }
        // Whatever the digit reader turns down goes to chrono unchanged:
        // both paths agree on every well-formed date of a leap year.
        let mut d = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
        for _ in 0..366 {
            let s = d.format("%Y-%m-%d").to_string();
            assert_eq!(plain_date(s.as_bytes()), Some(d));
            assert_eq!(NaiveDate::parse_from_str(&s, "%Y-%m-%d").ok(), Some(d));
            d = d.succ_opt().unwrap();
        }
    }

    /// The NDJSON reader parses each line into a borrowed tree; the same
    /// tree built over a `serde_json::Value` must give the same record or
    /// the same error for every line, mutated ones included.
    #[test]
    fn text_and_value_paths_read_every_line_the_same() {
        use rand::Rng;
        let bundle: Value =
            serde_json::from_str(include_str!("../../../fuzz/seeds/fhir_read/bundle.json"))
                .unwrap();
        let mut lines: Vec<String> =
            include_str!("../../../fuzz/seeds/fhir_read/observations.ndjson")
                .lines()
                .map(String::from)
                .collect();
        for e in bundle["entry"].as_array().unwrap() {
            lines.push(e["resource"].to_string());
        }
        let mut rng = crate::rng::stream(7, "fhir-paths", 0);
        let alphabet = b"{}[]\":,0123456789.-TZ+ resourceType\\u00e9";
        let (mut compared, mut rejected) = (0, 0);
        for i in 0..1200 {
            let mut b = lines[i % lines.len()].as_bytes().to_vec();
            for _ in 0..(i / lines.len()) % 4 {
                let at = rng.random_range(0..b.len());
                b[at] = alphabet[rng.random_range(0..alphabet.len())];
            }
            let line = String::from_utf8_lossy(&b);
            let Ok(value) = serde_json::from_str::<Value>(&line) else {
                continue;
            };
            let read = read_ndjson("x", &line);
            compared += 1;
            match read_resource("x", "line 1", &Json::from_value(&value)) {
                Ok(Resource::Unknown(kind)) => {
                    assert_eq!(read.unknown_types.get(&kind), Some(&1), "{line}")
                }
                Ok(r) => {
                    assert!(read.rejected.is_empty(), "{line}");
                    let mut direct = FhirRead::default();
                    let ctx = Ctx {
                        source: "x",
                        place: Place::Line(1),
                        urls: &BTreeMap::new(),
                    };
                    take(&ctx, &Json::from_value(&value), &mut direct);
                    assert!(direct.rejected.is_empty());
                    // Debug text: NaN values compare equal this way.
                    assert_eq!(
                        format!("{:?}", read.records),
                        format!("{:?}", direct.records)
                    );
                    assert!(!matches!(r, Resource::Unknown(_)));
                }
                Err(e) => {
                    rejected += 1;
                    assert_eq!(read.rejected.len(), 1, "{line}");
                    assert_eq!(read.rejected[0].to_string(), e.to_string());
                }
            }
        }
        // The mutations reach both outcomes: the comparison is not vacuous.
        assert!(compared > 300 && rejected > 20, "{compared} {rejected}");
    }
}
