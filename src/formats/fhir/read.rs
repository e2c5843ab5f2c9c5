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
use crate::clinical::codes::{Measure, ICD10CM, LOINC, RXNORM};
use crate::clinical::iso::{parse_date, parse_datetime};
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
/// error each) and what was skipped, counted by what it is and why. Every
/// item seen is in exactly one of the three, where an item is a resource,
/// except that a panel (a blood pressure) is one item per component:
/// `seen == records.len() + rejected.len() + skipped_count()`.
#[derive(Debug, Default)]
pub struct FhirRead {
    pub seen: usize,
    pub records: FhirRecords,
    pub rejected: Vec<Error>,
    /// What was not read (a resource type, or `log` for an export log
    /// entry) -> why -> how many.
    pub skipped: BTreeMap<String, BTreeMap<String, usize>>,
}

impl FhirRead {
    /// How many items were skipped, whatever the reason.
    pub fn skipped_count(&self) -> usize {
        self.skipped.values().flat_map(|r| r.values()).sum()
    }

    /// Add one resource read (its records, or what was skipped of it).
    pub fn add(&mut self, resource: Resource) {
        let r = &mut self.records;
        self.seen += 1;
        match resource {
            Resource::Patient(p) => r.patients.push(*p),
            Resource::Encounter(e) => r.encounters.push(e),
            Resource::Observations { taken, skipped } => {
                // one item per observation the resource held
                self.seen += (taken.len() + skipped.len()).saturating_sub(1);
                r.observations.extend(taken);
                for reason in skipped {
                    self.skip("Observation", reason);
                }
            }
            Resource::Condition(c) => r.conditions.push(c),
            Resource::Medication(m) => r.medications.push(m),
            Resource::Note(n) => r.notes.push(n),
            Resource::Skipped { kind, reason } => self.skip(&kind, reason),
        }
    }

    fn skip(&mut self, kind: &str, reason: String) {
        *self
            .skipped
            .entry(kind.to_string())
            .or_default()
            .entry(reason)
            .or_default() += 1;
    }

    fn reject(&mut self, e: Error) {
        self.seen += 1;
        self.rejected.push(e);
    }
}

/// Where a resource sits, for error messages, and how to resolve its
/// references.
struct Ctx<'a> {
    source: &'a str,
    place: Place<'a>,
    refs: &'a Refs<'a>,
    /// The id a Bundle entry's `fullUrl` gives a resource that has none
    /// (`urn:uuid:<id>`: a transaction may leave `id` to the server).
    entry_id: Option<&'a str>,
}

/// What a Bundle says about its entries, to resolve references to them:
/// `fullUrl` -> (resourceType, id), and `Type?identifier=system|value`
/// (a conditional reference) -> id. Empty outside a Bundle.
#[derive(Default)]
struct Refs<'a> {
    urls: BTreeMap<&'a str, (&'a str, String)>,
    identifiers: BTreeMap<(&'a str, String), String>,
}

impl<'a> Refs<'a> {
    fn of_entries(entries: &[Entry<'a>]) -> Refs<'a> {
        let mut refs = Refs::default();
        for &(url, r) in entries {
            let Some(kind) = r.and_then(|r| r.get("resourceType")).and_then(Json::as_str) else {
                continue;
            };
            let id = r.and_then(|r| r.get("id")).and_then(Json::as_str);
            let Some(id) = id.or_else(|| url.and_then(|u| u.strip_prefix("urn:uuid:"))) else {
                continue;
            };
            if let Some(url) = url {
                refs.urls.insert(url, (kind, id.to_string()));
            }
            let identifiers = r.and_then(|r| r.get("identifier")).and_then(Json::as_array);
            for ident in identifiers.into_iter().flatten() {
                let system = ident.get("system").and_then(Json::as_str).unwrap_or("");
                if let Some(value) = ident.get("value").and_then(Json::as_str) {
                    refs.identifiers
                        .insert((kind, format!("{system}|{value}")), id.to_string());
                }
            }
        }
        refs
    }
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
    let refs = Refs::default();
    let mut out = FhirRead::default();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let ctx = Ctx {
            source,
            place: Place::Line(i + 1),
            refs: &refs,
            entry_id: None,
        };
        match Json::parse(line) {
            Ok(v) => take(&ctx, &v, &mut out),
            Err(e) => out.reject(Error::bad_input(
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
    let entries: Vec<Entry> = entries
        .iter()
        .map(|e| (e.get("fullUrl").and_then(Json::as_str), e.get("resource")))
        .collect();
    Ok(read_entries(source, &entries))
}

/// One Bundle entry as the reader sees it: its `fullUrl` and its resource
/// (either may be missing).
pub type Entry<'a> = (Option<&'a str>, Option<&'a Json<'a>>);

/// Read entries as the entries of one Bundle, numbered from 0: references
/// between them resolve, bad ones are rejected one by one. `read_bundle`
/// reads a Bundle's text through here; a caller that already holds the
/// resources (a CDS Hooks prefetch) passes them without writing a Bundle.
pub fn read_entries(source: &str, entries: &[Entry]) -> FhirRead {
    let refs = Refs::of_entries(entries);
    let mut out = FhirRead::default();
    for (i, &(url, resource)) in entries.iter().enumerate() {
        let ctx = Ctx {
            source,
            place: Place::Entry(i),
            refs: &refs,
            entry_id: url.and_then(|u| u.strip_prefix("urn:uuid:")),
        };
        match resource {
            Some(r) => take(&ctx, r, &mut out),
            None => out.reject(ctx.err(&"Bundle.entry.resource", "a resource", "nothing")),
        }
    }
    out
}

/// Read one resource value into `out` (records, rejected or skipped).
fn take(ctx: &Ctx, v: &Json, out: &mut FhirRead) {
    match read_resource_with(ctx, v) {
        Ok(r) => out.add(r),
        Err(e) => out.reject(e),
    }
}

/// One resource as records.
#[derive(Debug, Clone, PartialEq)]
pub enum Resource {
    /// Boxed: a patient is the largest record by far.
    Patient(Box<Patient>),
    Encounter(Encounter),
    /// One observation per numeric value: a panel (a blood pressure) gives
    /// one per component. `skipped` says why each value not read was not
    /// (a coded or text value: CareLab's measures are numbers).
    Observations {
        taken: Vec<Observation>,
        skipped: Vec<String>,
    },
    Condition(Condition),
    Medication(Medication),
    Note(Note),
    /// Not read: what it is (a resource type, or `log` for a Bulk Data
    /// export log entry) and why.
    Skipped {
        kind: String,
        reason: String,
    },
}

impl Resource {
    fn skipped(kind: &str, reason: &str) -> Resource {
        Resource::Skipped {
            kind: kind.to_string(),
            reason: reason.to_string(),
        }
    }
}

/// Read one standalone resource (references as `Type/id`); `place` names it
/// in errors (`line 3`, `resource 7`).
pub fn read_resource(source: &str, place: &str, v: &Json) -> Result<Resource> {
    let refs = Refs::default();
    let ctx = Ctx {
        source,
        place: Place::Named(place),
        refs: &refs,
        entry_id: None,
    };
    read_resource_with(&ctx, v)
}

/// Why a resource type is not read, for the quality report.
const NOT_MODELLED: &str = "not in CareLab's model (it reads Patient, Encounter, Observation, \
     Condition, MedicationRequest and DocumentReference)";

fn read_resource_with(ctx: &Ctx, v: &Json) -> Result<Resource> {
    if !v.is_object() {
        return Err(ctx.err(&"resource", "a JSON object", &describe(v)));
    }
    let kind = match v.get("resourceType") {
        Some(Json::String(s)) => s.as_ref(),
        Some(other) => return Err(ctx.err(&"resourceType", "a string", &describe(other))),
        // A Bulk Data client's export log (log.ndjson) sits beside the
        // resources: its entries are events (`eventId`, `exportId`,
        // `eventDetail`), not resources. Some clients leave out `exportId`.
        None if v.get("eventId").is_some() => {
            return Ok(Resource::skipped(
                "log",
                "a Bulk Data export log entry (log.ndjson), not a resource",
            ))
        }
        None => return Err(ctx.err(&"resourceType", "a resourceType element", "nothing")),
    };
    let r = Res { ctx, kind, v };
    Ok(match kind {
        "Patient" => Resource::Patient(Box::new(patient(&r)?)),
        "Encounter" => Resource::Encounter(encounter(&r)?),
        "Observation" => observation(&r)?,
        "Condition" => condition(&r)?,
        "MedicationRequest" => medication(&r)?,
        "DocumentReference" => note(&r)?,
        "OperationOutcome" => Resource::skipped(
            kind,
            "an export's error or warning report (OperationOutcome), not clinical data",
        ),
        other => Resource::skipped(other, NOT_MODELLED),
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
        match (self.opt_str("id")?, self.ctx.entry_id) {
            (None | Some(""), Some(from_url)) if !from_url.is_empty() => Ok(from_url.to_string()),
            _ => Ok(self.req_str("id")?.to_string()),
        }
    }

    /// The id of the resource a reference points at, checking its type.
    ///
    /// Exporters point in four ways: `Type/id` (Bulk Data, servers; also
    /// absolute or with `/_history/n`), a Bundle entry's `fullUrl`
    /// (`urn:uuid:...` in transaction Bundles), and a conditional reference
    /// `Type?identifier=system|value` (Synthea's transactions, for
    /// Practitioner, Organization, Location). A target that is not in the
    /// export is not an error here: its id is kept as the source wrote it,
    /// and the pipeline's referential check decides what that means.
    fn reference(&self, path: &str, target: &str) -> Result<Option<String>> {
        let full = format_args!("{path}.reference");
        let found = Self::at(self.v, path).and_then(|v| v.get("reference"));
        let Some(reference) = self.str_of(found, &full)? else {
            return Ok(None);
        };
        let wrong_type = |kind: &str| {
            self.err(
                &full,
                &format!("a reference to a {target}"),
                &format!("a reference to a {kind}"),
            )
        };
        if let Some((kind, id)) = self.ctx.refs.urls.get(reference) {
            return if *kind == target {
                Ok(Some(id.clone()))
            } else {
                Err(wrong_type(kind))
            };
        }
        if let Some((kind, query)) = reference.split_once('?').filter(|(k, _)| is_type_name(k)) {
            if kind != target {
                return Err(wrong_type(kind));
            }
            let identifier = query
                .strip_prefix("identifier=")
                .map(|i| i.replace("%7C", "|").replace("%7c", "|"));
            let resolved =
                identifier.and_then(|i| self.ctx.refs.identifiers.get(&(target, i)).cloned());
            return Ok(Some(resolved.unwrap_or_else(|| reference.to_string())));
        }
        // A urn no entry has: the resource is elsewhere in the export.
        // Synthea's ids are the uuids of their urns.
        if let Some(uuid) = reference.strip_prefix("urn:uuid:") {
            return Ok(Some(uuid.to_string()));
        }
        // Searching for a pattern sets up a substring searcher each time; a
        // reference with no `_` cannot hold `/_history/`, and most have none.
        let plain = if reference.contains('_') {
            reference.split("/_history/").next().unwrap_or(reference)
        } else {
            reference
        };
        let mut parts = plain.rsplit('/');
        match (parts.next(), parts.next()) {
            (Some(id), Some(kind)) if kind == target && !id.is_empty() => Ok(Some(id.to_string())),
            (Some(id), Some(kind)) if !id.is_empty() && is_type_name(kind) => Err(wrong_type(kind)),
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
        let prefer = prefer.map(Prefer::System).unwrap_or(Prefer::First);
        self.coding_by(path, prefer)
    }

    /// (system, code, display) of the coding of a CodeableConcept at `path`
    /// that `prefer` picks, else its first coding.
    fn coding_by(&self, path: &str, prefer: Prefer) -> Result<Option<(String, String, String)>> {
        let concept = Self::at(self.v, path).and_then(|c| c.get("coding"));
        let codings = self.array_of(concept, &format_args!("{path}.coding"))?;
        let pick = prefer.pick(codings);
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
        let prefer = prefer.map(Prefer::System).unwrap_or(Prefer::First);
        self.req_code_by(path, prefer)
    }

    fn req_code_by(&self, path: &str, prefer: Prefer) -> Result<(String, String, String)> {
        match self.coding_by(path, prefer)? {
            Some(c) if !c.1.is_empty() => Ok(c),
            _ => Err(self.err(&format_args!("{path}.coding.0.code"), "a code", "nothing")),
        }
    }
}

/// Which coding of a CodeableConcept to read when it has several.
#[derive(Clone, Copy)]
enum Prefer<'a> {
    First,
    /// The first in this code system.
    System(&'a str),
    /// The first whose LOINC code is one of CareLab's measures, else the
    /// first LOINC one: Synthea codes oxygen saturation 2708-6 and then
    /// 59408-5, the pulse oximetry code the model uses.
    Measure,
}

impl Prefer<'_> {
    fn pick(self, codings: &[Json]) -> usize {
        fn field<'j>(c: &'j Json, name: &str) -> &'j str {
            c.get(name).and_then(Json::as_str).unwrap_or("")
        }
        let first = |f: &dyn Fn(&Json) -> bool| codings.iter().position(f);
        match self {
            Prefer::First => None,
            Prefer::System(s) => first(&|c| field(c, "system") == s),
            Prefer::Measure => first(&|c| {
                field(c, "system") == LOINC && Measure::from_loinc(field(c, "code")).is_some()
            })
            .or_else(|| first(&|c| field(c, "system") == LOINC)),
        }
        .unwrap_or(0)
    }
}

/// `YYYY-MM-DDTHH:MM:SS[.fff](Z|+hh:mm|-hh:mm)` or a bare date (midnight);
/// the wall-clock time is kept, the offset checked and dropped.
fn parse_fhir_datetime(s: &str) -> Option<NaiveDateTime> {
    if s.len() == 10 {
        return parse_date(s)?.and_hms_opt(0, 0, 0);
    }
    let head = s.get(..19)?;
    let t = parse_datetime(head)?;
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
    let reason_code = r
        .coding("reasonCode.0", Some(ICD10CM))?
        .map(|c| c.1)
        .unwrap_or_default();
    // A visit still going on (status arrived, triaged, in-progress or
    // onleave) has no end yet; a finished one must say when it ended.
    let ongoing = matches!(
        r.opt_str("status")?,
        Some("arrived" | "triaged" | "in-progress" | "onleave")
    );
    let discharge_time = if ongoing && r.opt_str("period.end")?.is_none() {
        None
    } else {
        Some(r.datetime("period.end")?)
    };
    Ok(Encounter {
        encounter_id: r.id()?,
        patient_id: r.req_reference("subject", "Patient")?,
        class: encounter_class(r)?,
        admit_time: r.datetime("period.start")?,
        discharge_time,
        disposition: disposition(r)?,
        reason_code,
    })
}

/// The v3 ActCode of the encounter's class. R4 makes `class` one Coding
/// (Synthea: `{system: v3-ActCode, code: AMB}`); some servers send a
/// CodeableConcept or R5's array of them, and some a local code with a
/// display, which is read by its words. ACUTE and NONAC are the two kinds
/// of inpatient encounter in ActCode: both are stays (IMP).
fn encounter_class(r: &Res) -> Result<String> {
    let paths = ["class", "class.coding.0", "class.0.coding.0"];
    let Some(path) = paths
        .into_iter()
        .find(|p| Res::at(r.v, &format!("{p}.code")).is_some())
    else {
        return Ok(r.req_str("class.code")?.to_string());
    };
    let code = r.req_str(&format!("{path}.code"))?;
    let display = r.opt_str(&format!("{path}.display"))?.unwrap_or_default();
    const ACT_CODES: [&str; 9] = [
        "IMP", "AMB", "EMER", "HH", "VR", "FLD", "SS", "OBSENC", "PRENC",
    ];
    let class = match code {
        "ACUTE" | "NONAC" => "IMP",
        c if ACT_CODES.contains(&c) => c,
        _ => {
            let words = display.to_ascii_lowercase();
            if words.contains("inpatient") {
                "IMP"
            } else if words.contains("emergency") {
                "EMER"
            } else if words.contains("ambulatory") || words.contains("outpatient") {
                "AMB"
            } else {
                code
            }
        }
    };
    Ok(class.to_string())
}

/// The discharge disposition as the validator takes it: a disposition name
/// when the coding's code is one CareLab knows (NUBC patient status, under
/// any of the system URIs in use, or HL7's discharge-disposition codes),
/// else the coding's display or the concept's text (Synthea writes
/// `Discharge to home` with no code at times), which the validator maps by
/// its words, else the code as sent.
fn disposition(r: &Res) -> Result<String> {
    let path = "hospitalization.dischargeDisposition";
    let text = r.str_or_empty(&format!("{path}.text"))?;
    Ok(match r.coding(path, None)? {
        Some((system, code, display)) => {
            match Disposition::from_nubc(&code).or_else(|| Disposition::from_hl7(&system, &code)) {
                Some(d) => d.name().to_string(),
                None if !display.is_empty() => display,
                None if !text.is_empty() => text,
                None => code,
            }
        }
        None => text,
    })
}

/// A numeric observation value (`valueQuantity`, `valueInteger`), or the
/// name of the value element when it is another type.
enum Value {
    Number(f64, String),
    Other(String),
    Absent,
}

/// The value[x] of an observation or of one of its components (`at` is
/// the component's path, empty for the observation itself).
fn value_of(r: &Res, v: &Json, at: &str) -> Result<Value> {
    let full = |rest: &str| {
        if at.is_empty() {
            rest.to_string()
        } else {
            format!("{at}.{rest}")
        }
    };
    if let Some(q) = v.get("valueQuantity") {
        let value = match q.get("value") {
            Some(Json::Number(n)) => *n,
            Some(other) => {
                return Err(r.err(&full("valueQuantity.value"), "a number", &describe(other)))
            }
            None => return Err(r.err(&full("valueQuantity.value"), "a number", "nothing")),
        };
        let unit = match r.opt_str_in(q, "code", &full("valueQuantity.code"))? {
            Some(code) => code,
            None => r
                .opt_str_in(q, "unit", &full("valueQuantity.unit"))?
                .unwrap_or_default(),
        };
        return Ok(Value::Number(value, unit.to_string()));
    }
    match v.get("valueInteger") {
        Some(Json::Number(n)) => return Ok(Value::Number(*n, String::new())),
        Some(other) => return Err(r.err(&full("valueInteger"), "a number", &describe(other))),
        None => {}
    }
    Ok(match v.keys().find(|k| k.starts_with("value")) {
        Some(kind) => Value::Other(kind.to_string()),
        None => Value::Absent,
    })
}

fn not_numeric(kind: &str) -> String {
    format!("{kind}: CareLab's measures are numbers")
}

/// An Observation: one record per numeric value, the observation's own
/// and each component's (Synthea's and US Core's blood pressure is a panel,
/// 85354-9, whose systolic 8480-6 and diastolic 8462-4 are components).
/// A component's record is the observation's id, `-`, the component's code.
fn observation(r: &Res) -> Result<Resource> {
    let (system, code, display) = r.req_code_by("code", Prefer::Measure)?;
    let time = if r.v.get("effectiveDateTime").is_some() {
        r.datetime("effectiveDateTime")?
    } else if r.v.get("effectivePeriod").is_some() {
        r.datetime("effectivePeriod.start")?
    } else {
        r.datetime("effectiveInstant")?
    };
    let id = r.id()?;
    let patient_id = r.req_reference("subject", "Patient")?;
    let encounter_id = r.reference("encounter", "Encounter")?.unwrap_or_default();
    let record = |id: String,
                  (system, code, display): (String, String, String),
                  value: f64,
                  unit: String| {
        Observation {
            observation_id: id,
            patient_id: patient_id.clone(),
            encounter_id: encounter_id.clone(),
            time,
            code: code.into(),
            system: system.into(),
            display: display.into(),
            value,
            unit: unit.into(),
        }
    };
    let mut taken = Vec::new();
    let mut skipped = Vec::new();
    match value_of(r, r.v, "")? {
        Value::Number(v, unit) => taken.push(record(id.clone(), (system, code, display), v, unit)),
        Value::Other(kind) => skipped.push(not_numeric(&kind)),
        Value::Absent => {}
    }
    let components = r.array("component")?;
    for (i, c) in components.iter().enumerate() {
        let at = format!("component.{i}");
        let coding = r.req_code_by(&format!("{at}.code"), Prefer::Measure)?;
        match value_of(r, c, &at)? {
            Value::Number(v, unit) => {
                let cid = format!("{id}-{}", coding.1);
                taken.push(record(cid, coding, v, unit));
            }
            Value::Other(kind) => skipped.push(not_numeric(&kind)),
            Value::Absent => skipped.push("a component without a value".to_string()),
        }
    }
    if taken.is_empty() && skipped.is_empty() {
        if r.v.get("dataAbsentReason").is_some() {
            // Written for values JSON cannot hold; kept so nothing is lost.
            let coding = r.req_code_by("code", Prefer::Measure)?;
            taken.push(record(id, coding, f64::NAN, String::new()));
        } else if r.v.get("hasMember").is_some() {
            skipped.push("a panel whose values are other Observations (hasMember)".to_string());
        } else {
            return Err(r.err(&"valueQuantity.value", "a number", "nothing"));
        }
    }
    Ok(Resource::Observations { taken, skipped })
}

/// A Condition. Its code is ICD-10-CM when the resource has one; else
/// (Synthea, US Core problem lists: SNOMED CT) the first coding, written
/// `system|code` (FHIR's token form) so that the validator can map it
/// through `datasets/maps/snomed-conditions.toml`.
fn condition(r: &Res) -> Result<Resource> {
    let status = r.opt_str("verificationStatus.coding.0.code")?;
    if let Some(s @ ("entered-in-error" | "refuted")) = status {
        return Ok(Resource::skipped(
            "Condition",
            &format!("verificationStatus {s}: not a diagnosis the patient has"),
        ));
    }
    let (system, code, display) = r.req_code("code", Some(ICD10CM))?;
    let code = if system == ICD10CM || system.is_empty() {
        code
    } else {
        format!("{system}|{code}")
    };
    let onset_date = if r.v.get("onsetDateTime").is_some() {
        r.date("onsetDateTime")?
    } else {
        r.date("recordedDate")?
    };
    Ok(Resource::Condition(Condition {
        condition_id: r.id()?,
        patient_id: r.req_reference("subject", "Patient")?,
        encounter_id: r.reference("encounter", "Encounter")?,
        code,
        display,
        onset_date,
    }))
}

fn medication(r: &Res) -> Result<Resource> {
    if r.v.get("medicationCodeableConcept").is_none() && r.v.get("medicationReference").is_some() {
        return Ok(Resource::skipped(
            "MedicationRequest",
            "the drug is a medicationReference to a Medication resource, which CareLab does not join",
        ));
    }
    let (_, rxnorm, display) = r.req_code("medicationCodeableConcept", Some(RXNORM))?;
    let name = if display.is_empty() {
        r.str_or_empty("medicationCodeableConcept.text")?
    } else {
        display
    };
    Ok(Resource::Medication(Medication {
        medication_id: r.id()?,
        patient_id: r.req_reference("subject", "Patient")?,
        encounter_id: r.reference("encounter", "Encounter")?.unwrap_or_default(),
        rxnorm,
        name,
        authored_time: r.datetime("authoredOn")?,
    }))
}

/// A DocumentReference: the note is the first attachment with inline data
/// in plain text (`text/plain`, with or without a charset, as Synthea
/// writes it; no contentType is taken as text). A document held only by
/// url (a Binary on the server) or in another format is skipped.
fn note(r: &Res) -> Result<Resource> {
    let content = r.array("content")?;
    let plain = content.iter().position(|c| {
        let a = c.get("attachment");
        let kind = a.and_then(|a| a.get("contentType")).and_then(Json::as_str);
        a.and_then(|a| a.get("data")).is_some()
            && kind.is_none_or(|k| {
                k.trim_start()
                    .to_ascii_lowercase()
                    .starts_with("text/plain")
            })
    });
    let Some(i) = plain else {
        return Ok(Resource::skipped(
            "DocumentReference",
            "no inline text/plain attachment (a url to a Binary, or another format)",
        ));
    };
    let path = format!("content.{i}.attachment.data");
    let data = r.req_str(&path)?;
    let bytes = base64::decode(data)
        .ok_or_else(|| r.err(&path, "base64 data", "characters outside base64"))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        r.err(
            &path,
            "base64 of UTF-8 text",
            &format!("invalid UTF-8 at byte {}", e.utf8_error().valid_up_to()),
        )
    })?;
    let time = if r.v.get("date").is_some() {
        r.datetime("date")?
    } else {
        r.datetime("context.period.start")?
    };
    Ok(Resource::Note(Note {
        note_id: r.id()?,
        patient_id: r.req_reference("subject", "Patient")?,
        encounter_id: r
            .reference("context.encounter.0", "Encounter")?
            .unwrap_or_default(),
        time,
        text,
    }))
}

/// Text shaped like a resource type name (`Patient`), safe to quote in an
/// error: a code, not a value.
fn is_type_name(s: &str) -> bool {
    s.len() <= 40
        && s.starts_with(|c: char| c.is_ascii_uppercase())
        && s.bytes().all(|b| b.is_ascii_alphabetic())
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
    }

    /// The NDJSON reader parses each line into a borrowed tree; the same
    /// tree built over a `serde_json::Value` must give the same record or
    /// the same error for every line, mutated ones included.
    #[test]
    fn a_visit_still_going_on_has_no_end_and_a_finished_one_must() {
        let enc = |status: &str, period: &str| {
            let line = format!(
                r#"{{"resourceType":"Encounter","id":"e1","status":"{status}","class":{{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"IMP"}},"subject":{{"reference":"Patient/p1"}},"period":{period}}}"#
            );
            read_ndjson("x", &line)
        };
        let open = enc("in-progress", r#"{"start":"2024-03-20T22:00:00Z"}"#);
        assert_eq!(open.records.encounters.len(), 1, "{:?}", open.rejected);
        assert_eq!(open.records.encounters[0].discharge_time, None);
        let ended = enc(
            "in-progress",
            r#"{"start":"2024-03-20T22:00:00Z","end":"2024-03-25T10:00:00Z"}"#,
        );
        assert!(ended.records.encounters[0].discharge_time.is_some());
        let finished = enc("finished", r#"{"start":"2024-03-20T22:00:00Z"}"#);
        assert!(finished.records.encounters.is_empty());
        let e = finished.rejected[0].to_string();
        assert!(e.contains("period.end"), "{e}");
    }

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
                Ok(r) => {
                    assert!(read.rejected.is_empty(), "{line}");
                    let mut direct = FhirRead::default();
                    direct.add(r);
                    // Debug text: NaN values compare equal this way.
                    assert_eq!(
                        format!("{:?}", read.records),
                        format!("{:?}", direct.records)
                    );
                    assert_eq!(read.skipped, direct.skipped, "{line}");
                    assert_eq!(read.seen, direct.seen);
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
