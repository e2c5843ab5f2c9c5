//! Features a site defines in SQL: `carelab train --features-sql FILE`
//! runs the query on the OMOP CDM database that ingest wrote beside the
//! analysis table (`cdm.sqlite` in the table's folder) and adds each column
//! it returns, joined on `stay_id`, as a numeric feature.
//!
//! The query is the learner's own definition, so nothing here asks whether
//! a column was known at discharge: that is the point of the leakage
//! exercise (lab 04). A stay the query does not return, or returns NULL
//! for, is missing (imputed with the training median, with an indicator).
//! The served model gets no value for these columns (the server does not
//! run the query) and imputes them the same way.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rusqlite::types::ValueRef;

use crate::clinical::analysis::FEATURES;
use crate::clinical::AnalysisRow;
use crate::error::{Error, Result};

/// The database the query runs on: `cdm.sqlite` beside the analysis table.
pub fn database_for(table: &Path) -> PathBuf {
    table.parent().unwrap_or(Path::new(".")).join("cdm.sqlite")
}

/// Run `query` on the database beside `table` and put each returned column
/// but `stay_id` into `rows`' extra features. Returns the new feature names,
/// in the query's column order.
pub fn attach(rows: &mut [AnalysisRow], table: &Path, query: &Path) -> Result<Vec<String>> {
    let db = database_for(table);
    let (conn, sql) = crate::formats::sql_query::open(
        &db,
        "the OMOP CDM database ingest writes beside the analysis table (--features-sql runs on it)",
        query,
        "a SQL query (--features-sql)",
    )?;
    let sql_error = crate::formats::sql_query::error(query);
    let mut stmt = conn.prepare(&sql).map_err(sql_error)?;
    let names: Vec<String> = stmt.column_names().iter().map(|s| s.to_string()).collect();
    let Some(key) = names.iter().position(|n| n == "stay_id") else {
        return Err(Error::bad_input(
            query.display(),
            None,
            "a result column named stay_id (the analysis table's key)",
            names.join(","),
        ));
    };
    let features: Vec<(usize, String)> = names
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != key)
        .map(|(i, n)| (i, n.clone()))
        .collect();
    if features.is_empty() {
        return Err(Error::bad_input(
            query.display(),
            None,
            "stay_id and at least one feature column",
            names.join(","),
        ));
    }
    for (_, name) in &features {
        let taken = FEATURES.iter().any(|(f, _)| f == name)
            || [
                "stay_id",
                "patient_id",
                "admit_time",
                "discharge_time",
                "readmit_30d",
            ]
            .contains(&name.as_str());
        if taken || names.iter().filter(|n| *n == name).count() > 1 {
            return Err(Error::bad_input(
                query.display(),
                Some(format!("column {name}")),
                "a feature name not already in the analysis table and not repeated",
                name.clone(),
            ));
        }
    }
    let mut values: BTreeMap<String, Vec<(usize, f64)>> = BTreeMap::new();
    let mut result = stmt.raw_query();
    let mut n = 0usize;
    while let Some(row) = result.next().map_err(sql_error)? {
        n += 1;
        let stay = match row.get_ref(key).map_err(sql_error)? {
            ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
            ValueRef::Integer(i) => i.to_string(),
            other => {
                return Err(Error::bad_input(
                    query.display(),
                    Some(format!("result row {n}, column stay_id")),
                    "a stay id",
                    format!("{:?}", other.data_type()),
                ))
            }
        };
        let mut got = Vec::new();
        for (j, (i, name)) in features.iter().enumerate() {
            let v = match row.get_ref(*i).map_err(sql_error)? {
                ValueRef::Null => continue,
                ValueRef::Integer(v) => v as f64,
                ValueRef::Real(v) => v,
                ValueRef::Text(t) => {
                    return Err(Error::bad_input(
                        query.display(),
                        Some(format!("stay {stay}, column {name}")),
                        "a number or NULL",
                        String::from_utf8_lossy(t).into_owned(),
                    ))
                }
                ValueRef::Blob(_) => {
                    return Err(Error::bad_input(
                        query.display(),
                        Some(format!("stay {stay}, column {name}")),
                        "a number or NULL",
                        "a blob",
                    ))
                }
            };
            got.push((j, v));
        }
        if values.insert(stay.clone(), got).is_some() {
            return Err(Error::bad_input(
                query.display(),
                Some(format!("stay {stay}")),
                "one result row per stay",
                "two or more",
            ));
        }
    }
    for row in rows.iter_mut() {
        if let Some(got) = values.get(&row.stay_id) {
            for (j, v) in got {
                if v.is_finite() {
                    row.extra.insert(features[*j].1.clone(), *v);
                }
            }
        }
    }
    Ok(features.into_iter().map(|(_, n)| n).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(stay: &str) -> AnalysisRow {
        AnalysisRow {
            stay_id: stay.into(),
            ..Default::default()
        }
    }

    #[test]
    fn columns_join_on_stay_id_and_bad_queries_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let table = dir.path().join("analysis.csv");
        let conn = rusqlite::Connection::open(database_for(&table)).unwrap();
        conn.execute_batch(
            "CREATE TABLE v (stay TEXT, days REAL, n INTEGER, word TEXT);
             INSERT INTO v VALUES ('a', 3.5, 1, 'x'), ('b', NULL, 2, 'y');",
        )
        .unwrap();
        let q = dir.path().join("q.sql");
        std::fs::write(&q, "SELECT stay AS stay_id, days, n FROM v").unwrap();
        let mut rows = vec![row("a"), row("b"), row("c")];
        let names = attach(&mut rows, &table, &q).unwrap();
        assert_eq!(names, vec!["days", "n"]);
        assert_eq!(
            rows[0].extra,
            BTreeMap::from([("days".into(), 3.5), ("n".into(), 1.0)])
        );
        assert_eq!(rows[1].extra, BTreeMap::from([("n".into(), 2.0)]));
        assert!(rows[2].extra.is_empty());

        for (sql, says) in [
            ("SELECT stay, days FROM v", "stay_id"),
            ("SELECT stay AS stay_id FROM v", "at least one feature"),
            ("SELECT stay AS stay_id, word FROM v", "a number or NULL"),
            ("SELECT stay AS stay_id, n AS age FROM v", "not already in"),
            ("SELECT 'a' AS stay_id, n FROM v", "one result row per stay"),
            ("SELEC nothing", "a query SQLite can run"),
        ] {
            std::fs::write(&q, sql).unwrap();
            let err = attach(&mut [row("a")], &table, &q).unwrap_err().to_string();
            assert!(err.contains(says), "{sql}: {err}");
        }
        let elsewhere = dir.path().join("sub/analysis.csv");
        let err = attach(&mut [row("a")], &elsewhere, &q)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("cdm.sqlite") && err.contains("no such file"),
            "{err}"
        );
    }
}
