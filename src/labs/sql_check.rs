//! The `sql_matches` check: run the learner's SQL query over a SQLite
//! database (ingest's OMOP CDM, `cdm.sqlite`) and compare its rows with a
//! table the pipeline made (the analysis table), joined on a key column.
//!
//! The verdict says which columns disagree and on how many rows, and which
//! rows are missing or extra; never a value the table holds, so the check
//! grades the query without handing out what it should return.

use std::collections::BTreeMap;
use std::path::Path;

use rusqlite::types::ValueRef;

use crate::error::{Error, Result};

/// How the query's rows compare with the table's.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SqlVerdict {
    /// Rows of the table (the reference).
    pub table_rows: usize,
    /// Rows the query returned.
    pub query_rows: usize,
    /// Keys of the table the query did not return.
    pub missing: usize,
    /// Keys the query returned that the table does not hold (or twice).
    pub extra: usize,
    /// Per compared column, the rows whose values differ.
    pub differing: Vec<(String, usize)>,
}

impl SqlVerdict {
    pub fn agrees(&self) -> bool {
        self.missing == 0 && self.extra == 0 && self.differing.iter().all(|(_, n)| *n == 0)
    }
}

/// Run `query` (the file's text) on `db` with the named `params` it uses,
/// and compare the `columns` of its rows with those of the CSV `table`,
/// joined on `key`. Numbers compare within 5e-5 (the table rounds to 4
/// decimals); an empty cell equals SQL NULL; anything else compares as text.
pub fn compare(
    db: &Path,
    query: &Path,
    params: &BTreeMap<String, String>,
    table: &Path,
    key: &str,
    columns: &[String],
) -> Result<SqlVerdict> {
    let (conn, sql) = crate::formats::sql_query::open(
        db,
        "the SQLite database ingest writes",
        query,
        "your SQL query",
    )?;
    let sql_error = crate::formats::sql_query::error(query);
    let mut stmt = conn.prepare(&sql).map_err(sql_error)?;
    let names: Vec<String> = stmt.column_names().iter().map(|s| s.to_string()).collect();
    let position = |want: &str| {
        names.iter().position(|n| n == want).ok_or_else(|| {
            Error::bad_input(
                query.display(),
                None,
                format!("a result column named {want}"),
                names.join(","),
            )
        })
    };
    let key_at = position(key)?;
    let at: Vec<usize> = columns.iter().map(|c| position(c)).collect::<Result<_>>()?;
    for (name, value) in params {
        if let Some(i) = stmt
            .parameter_index(&format!(":{name}"))
            .map_err(sql_error)?
        {
            stmt.raw_bind_parameter(i, value).map_err(sql_error)?;
        }
    }
    let mut got: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut query_rows = 0;
    let mut extra = 0;
    let mut rows = stmt.raw_query();
    while let Some(row) = rows.next().map_err(sql_error)? {
        query_rows += 1;
        let cell = |i: usize| -> String {
            match row.get_ref(i) {
                Ok(ValueRef::Integer(v)) => v.to_string(),
                Ok(ValueRef::Real(v)) => v.to_string(),
                Ok(ValueRef::Text(t)) => String::from_utf8_lossy(t).into_owned(),
                _ => String::new(),
            }
        };
        let k = cell(key_at);
        let values = at.iter().map(|i| cell(*i)).collect();
        if got.insert(k, values).is_some() {
            extra += 1;
        }
    }
    let mut reader = csv::Reader::from_path(table)
        .map_err(|e| Error::bad_input(table.display(), None, "a CSV table", e.to_string()))?;
    let headers = reader
        .headers()
        .map_err(|e| Error::bad_input(table.display(), None, "a CSV header", e.to_string()))?
        .clone();
    let column = |want: &str| {
        headers.iter().position(|h| h == want).ok_or_else(|| {
            Error::bad_input(
                table.display(),
                Some("header".into()),
                format!("a column named {want}"),
                headers.iter().collect::<Vec<_>>().join(","),
            )
        })
    };
    let table_key = column(key)?;
    let table_at: Vec<usize> = columns.iter().map(|c| column(c)).collect::<Result<_>>()?;
    let mut verdict = SqlVerdict {
        query_rows,
        differing: columns.iter().map(|c| (c.clone(), 0)).collect(),
        ..Default::default()
    };
    for (line, record) in reader.records().enumerate() {
        let record = record.map_err(|e| {
            Error::bad_input(
                table.display(),
                Some(format!("line {}", line + 2)),
                "a CSV row",
                e.to_string(),
            )
        })?;
        verdict.table_rows += 1;
        let Some(values) = got.remove(record.get(table_key).unwrap_or("")) else {
            verdict.missing += 1;
            continue;
        };
        for (j, i) in table_at.iter().enumerate() {
            if !same(record.get(*i).unwrap_or(""), &values[j]) {
                verdict.differing[j].1 += 1;
            }
        }
    }
    verdict.extra = extra + got.len();
    Ok(verdict)
}

/// A cell of the table and one of the query: equal numbers (within the
/// table's rounding), both empty, or the same text.
fn same(table: &str, query: &str) -> bool {
    match (table.trim().parse::<f64>(), query.trim().parse::<f64>()) {
        (Ok(a), Ok(b)) => (a - b).abs() <= 5e-5,
        _ => table.trim() == query.trim(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_joined_on_the_key_and_each_column_counted() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("db.sqlite");
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute_batch(
            "CREATE TABLE s (id TEXT, x REAL, y INTEGER);
             INSERT INTO s VALUES ('a', 1.00001, 1), ('b', 2.5, 0), ('c', NULL, 1);",
        )
        .unwrap();
        let table = dir.path().join("t.csv");
        std::fs::write(&table, "id,x,y\na,1.0,1\nb,2.5,1\nc,,1\nd,4,0\n").unwrap();
        let q = dir.path().join("q.sql");
        std::fs::write(&q, "SELECT id, x, y FROM s WHERE y >= :min").unwrap();
        let params = BTreeMap::from([
            ("min".to_string(), "0".to_string()),
            ("unused".into(), "1".into()),
        ]);
        let cols = vec!["x".to_string(), "y".to_string()];
        let v = compare(&db, &q, &params, &table, "id", &cols).unwrap();
        assert_eq!(
            v,
            SqlVerdict {
                table_rows: 4,
                query_rows: 3,
                missing: 1,
                extra: 0,
                differing: vec![("x".into(), 0), ("y".into(), 1)],
            }
        );
        assert!(!v.agrees());
        std::fs::write(&q, "SELECT id, x FROM s").unwrap();
        let e = compare(&db, &q, &params, &table, "id", &cols)
            .unwrap_err()
            .to_string();
        assert!(e.contains("a result column named y"), "{e}");
        std::fs::write(&q, "SELEC id").unwrap();
        let e = compare(&db, &q, &params, &table, "id", &cols)
            .unwrap_err()
            .to_string();
        assert!(e.contains("q.sql"), "{e}");
    }
}
