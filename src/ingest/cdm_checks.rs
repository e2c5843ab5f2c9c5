//! Data-quality checks over the OMOP CDM, in the spirit of the OHDSI Data
//! Quality Dashboard: conformance, completeness and plausibility checks run
//! as SQL on `cdm.sqlite`, each counting the rows that violate it and the
//! rows it looked at, and failing when the violating share is above its
//! threshold.
//!
//! The checks are data (`datasets/omop-dq/checks.toml`), and so is what they
//! compare with (`measurement-ranges.csv`): this module only expands a check
//! over the fields it names (from OHDSI's field-level specification, or
//! listed), runs its two queries and applies its threshold. A new check is
//! a new entry there, not code here.

use std::collections::BTreeMap;
use std::path::Path;

use rusqlite::{Connection, OpenFlags};
use serde::{Deserialize, Serialize};

use super::cdm_table::{CdmField, Spec};
use crate::error::{Error, Result};

const CHECKS_FILE: &str = "datasets/omop-dq/checks.toml";
const CHECKS: &str = include_str!("../../datasets/omop-dq/checks.toml");
/// The reference tables the checks join, by file name.
const REFERENCES: [(&str, &str); 1] = [(
    "measurement-ranges.csv",
    include_str!("../../datasets/omop-dq/measurement-ranges.csv"),
)];

/// The three categories of the Kahn framework that DQD reports by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Category {
    Conformance,
    Completeness,
    Plausibility,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Conformance => "conformance",
            Category::Completeness => "completeness",
            Category::Plausibility => "plausibility",
        }
    }
}

/// A field a listed check runs over: its placeholders, and its own
/// threshold where it has one.
#[derive(Debug, Clone, Deserialize)]
struct Binding {
    #[serde(default)]
    threshold: Option<f64>,
    #[serde(flatten)]
    vars: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckDef {
    name: String,
    category: Category,
    dqd: String,
    description: String,
    /// Percent of the rows checked that may violate it.
    threshold: f64,
    #[serde(default)]
    over: Option<String>,
    #[serde(default)]
    fields: Vec<Binding>,
    violated: String,
    checked: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Reference {
    file: String,
    create: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckFile {
    check: Vec<CheckDef>,
    #[serde(default)]
    reference: Vec<Reference>,
}

/// One field a check ran over, where it found violations or failed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldResult {
    /// `table.field`, or the table alone.
    pub field: String,
    pub violated: u64,
    pub checked: u64,
    pub pct: f64,
    pub threshold: f64,
    pub passed: bool,
}

/// The outcome of one check over all its fields.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckResult {
    pub name: String,
    pub category: Category,
    /// The DQD check it follows.
    pub dqd: String,
    pub description: String,
    /// Percent of rows checked that may violate (per field: a listed field
    /// may have its own).
    pub threshold: f64,
    pub violated: u64,
    pub checked: u64,
    /// `violated` as a percent of `checked` (0 when nothing was checked).
    pub pct: f64,
    /// Every field's share at or under its threshold.
    pub passed: bool,
    /// The fields with violations, or over their threshold.
    pub fields: Vec<FieldResult>,
}

fn pct(violated: u64, checked: u64) -> f64 {
    if checked == 0 {
        0.0
    } else {
        100.0 * violated as f64 / checked as f64
    }
}

/// The shipped checks, parsed.
fn shipped() -> Result<CheckFile> {
    toml::from_str(CHECKS)
        .map_err(|e| Error::bad_input(CHECKS_FILE, None, "CareLab's CDM checks", e.to_string()))
}

/// The placeholders of a specification field.
fn spec_vars(table: &str, f: &CdmField) -> BTreeMap<String, String> {
    let mut v = BTreeMap::from([
        ("table".to_string(), table.to_string()),
        ("field".to_string(), f.name.clone()),
    ]);
    for (k, x) in [
        ("fk_table", &f.fk_table),
        ("fk_field", &f.fk_field),
        ("fk_domain", &f.fk_domain),
    ] {
        if let Some(x) = x {
            v.insert(k.to_string(), x.clone());
        }
    }
    v
}

/// The fields a check runs over in the tables `checked` (which are among
/// those `present`): `(placeholders, threshold)`; one empty binding for a
/// check over nothing. A foreign key counts when the table it points at is
/// present.
fn bindings(
    def: &CheckDef,
    spec: &Spec,
    checked: &[String],
    present: &[String],
) -> Result<Vec<(BTreeMap<String, String>, f64)>> {
    let has = |t: &str| checked.iter().any(|p| p == t);
    let exists = |t: &str| present.iter().any(|p| p == t);
    let from_spec = |keep: &dyn Fn(&CdmField) -> bool| {
        spec.tables()
            .filter(|(t, _)| has(t))
            .flat_map(|(t, fields)| {
                fields
                    .iter()
                    .filter(|f| keep(f))
                    .map(move |f| (spec_vars(t, f), def.threshold))
            })
            .collect::<Vec<_>>()
    };
    let fk_into = |f: &CdmField, table: &str| {
        f.fk_table.as_deref() == Some(table) && f.fk_field.is_some() && exists(table)
    };
    Ok(match def.over.as_deref() {
        None if def.fields.is_empty() => vec![(BTreeMap::new(), def.threshold)],
        None => def
            .fields
            .iter()
            .filter(|b| b.vars.get("table").is_none_or(|t| has(t)))
            .map(|b| (b.vars.clone(), b.threshold.unwrap_or(def.threshold)))
            .collect(),
        Some("required") => from_spec(&|f| f.required),
        Some("concept_with_domain") => from_spec(&|f| {
            fk_into(f, "concept")
                && f.fk_domain.is_some()
                && !f.name.ends_with("_source_concept_id")
        }),
        Some(o) => match o.strip_prefix("foreign_key:") {
            Some(table) => from_spec(&|f| fk_into(f, table)),
            None => {
                return Err(Error::bad_input(
                    CHECKS_FILE,
                    Some(format!("check {}, field over", def.name)),
                    "required, concept_with_domain or foreign_key:<table>",
                    o,
                ))
            }
        },
    })
}

fn fill(def: &CheckDef, sql: &str, vars: &BTreeMap<String, String>) -> Result<String> {
    let mut s = sql.to_string();
    for (k, v) in vars {
        s = s.replace(&format!("{{{k}}}"), v);
    }
    // every placeholder must be filled: `{` appears in no check otherwise
    if s.contains('{') {
        return Err(Error::bad_input(
            CHECKS_FILE,
            Some(format!("check {}", def.name)),
            format!("placeholders among {:?}", vars.keys().collect::<Vec<_>>()),
            s,
        ));
    }
    Ok(s)
}

/// A counting query as what it counts over and the condition: `SELECT
/// count(*) FROM <from> [WHERE <condition>]`, split at the first `WHERE`
/// outside parentheses and quotes (a subquery's own `WHERE` is inside its
/// parentheses). `None`: a query of another shape.
fn split_count(sql: &str) -> Option<(&str, Option<&str>)> {
    let rest = sql.trim().strip_prefix("SELECT count(*) FROM ")?;
    let (mut depth, mut quoted) = (0i32, false);
    for (i, c) in rest.char_indices() {
        match c {
            '\'' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => depth -= 1,
            ' ' if !quoted && depth == 0 && rest[i..].starts_with(" WHERE ") => {
                return Some((&rest[..i], Some(&rest[i + " WHERE ".len()..])));
            }
            _ => {}
        }
    }
    Some((rest, None))
}

/// Counting queries over one `FROM`, run as one: each table is read once
/// for all of them, not once per query. `queries` are indexes into the
/// list the counts are for.
struct Batch {
    /// The checks the queries are of, for an error message.
    checks: Vec<String>,
    sql: String,
    queries: Vec<usize>,
}

/// Conditions folded into one query at most: the largest table has dozens,
/// and smaller batches let the workers share it out.
const FOLD: usize = 12;

/// Fold `queries` (check name, SQL) into batches: the counting queries of
/// one `FROM` become `SELECT count(*) FILTER (WHERE c1), ... FROM <from>`
/// (the rows a `WHERE` would keep are the rows its filter counts: the same
/// numbers), a query of another shape stays alone. Batches come largest
/// table first, by the number of queries over it.
fn fold(queries: &[(&str, &str)]) -> Vec<Batch> {
    /// A query's place in `queries` and its condition.
    type Counted<'a> = (usize, Option<&'a str>);
    let mut by_from: Vec<(&str, Vec<Counted>)> = Vec::new();
    let mut alone = Vec::new();
    for (i, (check, sql)) in queries.iter().enumerate() {
        match split_count(sql) {
            Some((from, cond)) => match by_from.iter_mut().find(|(f, _)| *f == from) {
                Some((_, qs)) => qs.push((i, cond)),
                None => by_from.push((from, vec![(i, cond)])),
            },
            None => alone.push(Batch {
                checks: vec![check.to_string()],
                sql: sql.to_string(),
                queries: vec![i],
            }),
        }
    }
    by_from.sort_by_key(|(_, qs)| std::cmp::Reverse(qs.len()));
    let mut batches = Vec::new();
    for (from, qs) in &by_from {
        for chunk in qs.chunks(FOLD) {
            let columns: Vec<String> = chunk
                .iter()
                .map(|(_, cond)| match cond {
                    Some(c) => format!("count(*) FILTER (WHERE {c})"),
                    None => "count(*)".to_string(),
                })
                .collect();
            let mut checks: Vec<String> = Vec::new();
            for (i, _) in chunk {
                let name = queries[*i].0.to_string();
                if !checks.contains(&name) {
                    checks.push(name);
                }
            }
            batches.push(Batch {
                checks,
                sql: format!("SELECT {} FROM {from}", columns.join(", ")),
                queries: chunk.iter().map(|(i, _)| *i).collect(),
            });
        }
    }
    batches.extend(alone);
    batches
}

/// The counts of a batch, in the order of its queries.
fn count(conn: &Connection, batch: &Batch) -> Result<Vec<u64>> {
    let fail = |e: rusqlite::Error| {
        Error::failure(format!(
            "CDM check {}: {e}\n  in: {}",
            batch.checks.join(", "),
            batch.sql
        ))
    };
    conn.query_row(&batch.sql, [], |r| {
        (0..batch.queries.len())
            .map(|i| r.get::<_, i64>(i).map(|n| n.max(0) as u64))
            .collect::<rusqlite::Result<Vec<u64>>>()
    })
    .map_err(fail)
}

/// Load the reference tables into the connection's temporary schema.
fn load_references(conn: &Connection, refs: &[Reference]) -> Result<()> {
    for r in refs {
        let (name, text) = REFERENCES
            .iter()
            .find(|(f, _)| *f == r.file)
            .ok_or_else(|| {
                Error::bad_input(
                    CHECKS_FILE,
                    Some("reference file".into()),
                    format!(
                        "one of {:?}",
                        REFERENCES.iter().map(|(f, _)| f).collect::<Vec<_>>()
                    ),
                    &r.file,
                )
            })?;
        conn.execute_batch(&r.create)
            .map_err(|e| Error::failure(format!("{CHECKS_FILE}: {}: {e}", r.create)))?;
        let table = r
            .create
            .split_whitespace()
            .nth(3)
            .unwrap_or_default()
            .to_string();
        let mut csv = csv::Reader::from_reader(text.as_bytes());
        let width = csv
            .headers()
            .map_err(|e| Error::failure(format!("datasets/omop-dq/{name}: {e}")))?
            .len();
        let marks = vec!["?"; width].join(", ");
        let mut insert = conn.prepare(&format!("INSERT INTO temp.{table} VALUES ({marks})"))?;
        for (i, rec) in csv.records().enumerate() {
            let rec = rec.map_err(|e| Error::failure(format!("datasets/omop-dq/{name}: {e}")))?;
            insert
                .execute(rusqlite::params_from_iter(rec.iter()))
                .map_err(|e| {
                    Error::failure(format!("datasets/omop-dq/{name} line {}: {e}", i + 2))
                })?;
        }
    }
    Ok(())
}

/// A read-only connection to a CDM database, with the reference tables
/// loaded into its temporary schema, mapping at most `mmap` bytes of it.
fn open(db: &Path, refs: &[Reference], mmap: u64) -> Result<Connection> {
    let conn = Connection::open_with_flags(
        db,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| Error::failure(format!("{}: {e}", db.display())))?;
    // the checks scan `measurement` dozens of times: read the file through
    // a memory map, not a copy per page read. The pages mapped count as the
    // process's memory, so the map is bounded (the rest of a larger file is
    // read a page at a time through SQLite's small cache).
    conn.execute_batch(&format!("PRAGMA mmap_size = {mmap};"))
        .map_err(|e| Error::failure(format!("{}: {e}", db.display())))?;
    load_references(&conn, refs)?;
    Ok(conn)
}

/// Run the counting queries `queries` (check name, SQL), folded into one
/// query per table read (see [`fold`]), on as many connections as there
/// are cores: every batch is a read of its own, and most are a scan of a
/// large table. The counts come back in the order of `queries`.
fn count_all(
    db: &Path,
    refs: &[Reference],
    queries: &[(&str, &str)],
    mmap: u64,
) -> Result<Vec<u64>> {
    let batches = fold(queries);
    let done = crate::cores::in_order(
        batches.len(),
        |threads| open(db, refs, mmap / threads as u64),
        |conn, i| count(conn, &batches[i]),
    )?;
    let mut counts = vec![0u64; queries.len()];
    for (batch, n) in batches.iter().zip(done) {
        for (&i, n) in batch.queries.iter().zip(n) {
            counts[i] = n;
        }
    }
    Ok(counts)
}

/// Run the shipped checks on a CDM database (opened read-only). Checks
/// share queries (every check over a field counts its non-null rows), so
/// each distinct query runs once. The connections map at most `mmap` bytes
/// of the file in all: a million patients' database is larger than the
/// memory ingest may take.
pub fn run(db: &Path, mmap: u64) -> Result<Vec<CheckResult>> {
    let file = shipped()?;
    let spec = Spec::v54()?;
    let conn = open(db, &[], 0)?;
    // the CDM's own tables, not the vocabulary: those are OHDSI's
    let vocabulary: Vec<&str> = super::vocabulary::FILES.iter().map(|f| f.0).collect();
    let mut stmt = conn.prepare("SELECT name FROM main.sqlite_master WHERE type = 'table'")?;
    let present: Vec<String> = stmt
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<std::result::Result<Vec<_>, _>>()?;
    drop(stmt);
    drop(conn);
    let checked: Vec<String> = present
        .iter()
        .filter(|t| !vocabulary.contains(&t.as_str()))
        .cloned()
        .collect();
    // every check over every field it runs over, with its two queries
    struct Run {
        /// The check's place in the file.
        at: usize,
        vars: BTreeMap<String, String>,
        threshold: f64,
        violated: usize,
        checked: usize,
    }
    let mut distinct: Vec<(usize, String)> = Vec::new();
    let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut query = |at: usize, sql: String| -> usize {
        *index.entry(sql.clone()).or_insert_with(|| {
            distinct.push((at, sql));
            distinct.len() - 1
        })
    };
    let mut runs = Vec::new();
    for (at, def) in file.check.iter().enumerate() {
        for (vars, threshold) in bindings(def, &spec, &checked, &present)? {
            let violated = query(at, fill(def, &def.violated, &vars)?);
            let checked = query(at, fill(def, &def.checked, &vars)?);
            runs.push(Run {
                at,
                vars,
                threshold,
                violated,
                checked,
            });
        }
    }
    let queries: Vec<(&str, &str)> = distinct
        .iter()
        .map(|(at, q)| (file.check[*at].name.as_str(), q.as_str()))
        .collect();
    let counts = count_all(db, &file.reference, &queries, mmap)?;

    let mut out: Vec<CheckResult> = Vec::new();
    for def in &file.check {
        out.push(CheckResult {
            name: def.name.clone(),
            category: def.category,
            dqd: def.dqd.clone(),
            description: def.description.clone(),
            threshold: def.threshold,
            violated: 0,
            checked: 0,
            pct: 0.0,
            passed: true,
            fields: Vec::new(),
        });
    }
    for run in runs {
        let r = &mut out[run.at];
        let (violated, checked) = (counts[run.violated], counts[run.checked]);
        let p = pct(violated, checked);
        let passed = p <= run.threshold;
        r.violated += violated;
        r.checked += checked;
        r.passed &= passed;
        if violated > 0 || !passed {
            let field = match (run.vars.get("table"), run.vars.get("field")) {
                (Some(t), Some(f)) => format!("{t}.{f}"),
                (Some(t), None) => t.clone(),
                _ => String::new(),
            };
            r.fields.push(FieldResult {
                field,
                violated,
                checked,
                pct: p,
                threshold: run.threshold,
                passed,
            });
        }
    }
    for r in &mut out {
        r.pct = pct(r.violated, r.checked);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The checks run on two connections at once; with SQLite's memory
    /// management compiled in, all connections share one page cache behind
    /// one lock, and the checks took half again as much CPU
    /// (`.cargo/config.toml` leaves it out; book/src/concepts/omop.md).
    #[test]
    fn sqlite_is_built_without_its_shared_page_cache() {
        let conn = Connection::open_in_memory().unwrap();
        let used: i64 = conn
            .query_row(
                "SELECT sqlite_compileoption_used('ENABLE_MEMORY_MANAGEMENT')",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(
            used, 0,
            "SQLite was compiled with SQLITE_ENABLE_MEMORY_MANAGEMENT: is \
             LIBSQLITE3_FLAGS set in the environment over .cargo/config.toml's?"
        );
    }

    #[test]
    fn the_shipped_checks_parse_and_cover_the_three_categories() {
        let f = shipped().unwrap();
        assert!(f.check.len() >= 12, "{} checks", f.check.len());
        for c in [
            Category::Conformance,
            Category::Completeness,
            Category::Plausibility,
        ] {
            assert!(f.check.iter().any(|d| d.category == c), "{c:?}");
        }
        let names: std::collections::BTreeSet<&str> =
            f.check.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names.len(), f.check.len(), "check names are unique");
    }

    #[test]
    fn spec_selectors_pick_the_fields_the_specification_marks() {
        let spec = Spec::v54().unwrap();
        let f = shipped().unwrap();
        let checked: Vec<String> = ["person", "death", "measurement"]
            .map(String::from)
            .to_vec();
        let mut present = checked.clone();
        present.push("concept".into());
        let def = f
            .check
            .iter()
            .find(|d| d.name == "person_id_resolves")
            .unwrap();
        let b = bindings(def, &spec, &checked, &present).unwrap();
        let fields: Vec<String> = b
            .iter()
            .map(|(v, _)| format!("{}.{}", v["table"], v["field"]))
            .collect();
        assert_eq!(fields, ["death.person_id", "measurement.person_id"]);
        let def = f
            .check
            .iter()
            .find(|d| d.name == "concept_in_its_domain")
            .unwrap();
        let b = bindings(def, &spec, &checked, &present).unwrap();
        let unit = b
            .iter()
            .find(|(v, _)| v["field"] == "unit_concept_id")
            .unwrap();
        assert_eq!(unit.0["fk_domain"], "Unit");
        assert!(b
            .iter()
            .all(|(v, _)| !v["field"].ends_with("_source_concept_id")));
    }

    #[test]
    fn a_count_splits_at_its_own_where_not_a_subquery_s_or_a_quoted_one() {
        assert_eq!(
            split_count("SELECT count(*) FROM t WHERE x IN (SELECT y FROM u WHERE z = 1)"),
            Some(("t", Some("x IN (SELECT y FROM u WHERE z = 1)")))
        );
        assert_eq!(
            split_count("SELECT count(*) FROM t JOIN u ON u.a = t.a AND u.b = ' WHERE '"),
            Some(("t JOIN u ON u.a = t.a AND u.b = ' WHERE '", None))
        );
        assert_eq!(split_count("SELECT sum(x) FROM t"), None);
    }

    /// Folded, the queries count what each counts alone, in their order,
    /// however many there are over one table.
    #[test]
    fn folded_queries_count_what_they_count_alone() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE t (a INTEGER, b TEXT); CREATE TABLE u (a INTEGER PRIMARY KEY);
             INSERT INTO t VALUES (1, 'x'), (2, NULL), (3, 'y'), (NULL, 'x'), (5, ' WHERE ');
             INSERT INTO u VALUES (1), (3);",
        )
        .unwrap();
        let mut queries: Vec<String> = vec![
            "SELECT count(*) FROM t".into(),
            "SELECT count(*) FROM t WHERE b IS NULL".into(),
            "SELECT count(*) FROM t WHERE a NOT IN (SELECT a FROM u WHERE a > 0)".into(),
            "SELECT count(*) FROM t JOIN u ON u.a = t.a WHERE t.b = 'x'".into(),
            "SELECT count(*) FROM t WHERE b = ' WHERE '".into(),
            "SELECT max(a) FROM t".into(),
        ];
        // more over `t` than one query folds
        queries.extend((0..FOLD + 3).map(|k| format!("SELECT count(*) FROM t WHERE a > {k}")));
        let named: Vec<(&str, &str)> = queries.iter().map(|q| ("c", q.as_str())).collect();
        let alone: Vec<u64> = queries
            .iter()
            .map(|q| conn.query_row(q, [], |r| r.get::<_, i64>(0)).unwrap() as u64)
            .collect();
        let batches = fold(&named);
        assert!(batches.len() < queries.len(), "{} batches", batches.len());
        assert!(batches.iter().all(|b| b.queries.len() <= FOLD));
        let mut folded = vec![u64::MAX; queries.len()];
        for b in &batches {
            for (i, n) in b.queries.iter().zip(count(&conn, b).unwrap()) {
                folded[*i] = n;
            }
        }
        assert_eq!(folded, alone);
        assert_eq!(&alone[..6], &[5, 1, 2, 1, 1, 5]);
    }

    /// `measurement_value_plausible` counts a measurement once, as a join
    /// with the ranges would: so a LOINC code and unit have one range.
    #[test]
    fn a_loinc_code_and_unit_have_one_measurement_range() {
        let mut r = csv::Reader::from_reader(REFERENCES[0].1.as_bytes());
        let mut seen = std::collections::BTreeSet::new();
        let mut n = 0;
        for rec in r.records() {
            let rec = rec.unwrap();
            let key = (rec[0].to_string(), rec[2].to_string());
            assert!(seen.insert(key.clone()), "{key:?} has two ranges");
            n += 1;
        }
        assert!(n >= 10, "{n} ranges");
    }

    #[test]
    fn a_placeholder_left_unfilled_is_an_error_naming_the_check() {
        let def = shipped().unwrap().check.remove(0);
        let e = fill(&def, "SELECT {nope}", &BTreeMap::new())
            .unwrap_err()
            .to_string();
        assert!(e.contains(&def.name) && e.contains("checks.toml"), "{e}");
    }
}
