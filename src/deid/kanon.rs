//! k-anonymity and l-diversity over quasi-identifiers, with suggested
//! generalisations: coarser age bands and ZIP3 -> state.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

/// One patient as the k-anonymity check sees it.
#[derive(Debug, Clone)]
pub struct QuasiRow {
    pub key: String,
    /// Age as published (`"47"` or `"90+"`), empty when unknown.
    pub age: String,
    /// Values of the chosen quasi-identifiers other than the age band.
    pub columns: BTreeMap<String, String>,
    pub sensitive: String,
}

/// How coarse each generalisable quasi-identifier is.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Level {
    /// Years per age band (10, 20), or 0 for the three bands 0-17, 18-64, 65+.
    pub age_band_years: u32,
    /// ZIP3 replaced by state.
    pub zip3_to_state: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct KReport {
    pub quasi: Vec<String>,
    pub sensitive: String,
    pub k_target: u64,
    pub level: Level,
    pub records: u64,
    pub classes: u64,
    /// The smallest class: the data set is k-anonymous for this k.
    pub k: u64,
    /// Records in classes smaller than `k_target`.
    pub records_below_k: u64,
    /// The fewest distinct sensitive values in any class.
    pub l: u64,
    /// Coarser levels that reach `k_target`, finest first, with their cost.
    pub suggestions: Vec<Suggestion>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Suggestion {
    pub level: Level,
    pub k: u64,
    pub records_below_k: u64,
}

pub fn age_band(age: &str, years: u32) -> String {
    let Ok(a) = age.trim_end_matches('+').parse::<u32>() else {
        return "unknown".into();
    };
    if age.ends_with('+') || a >= 90 {
        return "90+".into();
    }
    if years == 0 {
        return match a {
            0..=17 => "0-17".into(),
            18..=64 => "18-64".into(),
            _ => "65-89".into(),
        };
    }
    let lo = a / years * years;
    format!("{lo}-{}", (lo + years - 1).min(89))
}

fn class_key(row: &QuasiRow, quasi: &[String], level: Level) -> Vec<String> {
    quasi
        .iter()
        .map(|q| match q.as_str() {
            "age_band" => age_band(&row.age, level.age_band_years),
            "zip3" if level.zip3_to_state => {
                format!(
                    "state:{}",
                    row.columns.get("state").cloned().unwrap_or_default()
                )
            }
            other => row.columns.get(other).cloned().unwrap_or_default(),
        })
        .collect()
}

/// Equivalence classes at `level`: class -> (patient keys, sensitive values).
pub fn classes(
    rows: &[QuasiRow],
    quasi: &[String],
    level: Level,
) -> BTreeMap<Vec<String>, (Vec<String>, BTreeSet<String>)> {
    let mut map: BTreeMap<Vec<String>, (Vec<String>, BTreeSet<String>)> = BTreeMap::new();
    for r in rows {
        let e = map.entry(class_key(r, quasi, level)).or_default();
        e.0.push(r.key.clone());
        e.1.insert(r.sensitive.clone());
    }
    map
}

fn measure(
    rows: &[QuasiRow],
    quasi: &[String],
    level: Level,
    k_target: u64,
) -> (u64, u64, u64, u64) {
    let c = classes(rows, quasi, level);
    let k = c.values().map(|v| v.0.len() as u64).min().unwrap_or(0);
    let l = c.values().map(|v| v.1.len() as u64).min().unwrap_or(0);
    let below = c
        .values()
        .filter(|v| (v.0.len() as u64) < k_target)
        .map(|v| v.0.len() as u64)
        .sum();
    (c.len() as u64, k, below, l)
}

/// The report at the finest level, with coarser levels that reach `k_target`.
pub fn report(rows: &[QuasiRow], quasi: &[String], sensitive: &str, k_target: u64) -> KReport {
    let base = Level {
        age_band_years: 10,
        zip3_to_state: false,
    };
    let (classes, k, below, l) = measure(rows, quasi, base, k_target);
    let mut suggestions = Vec::new();
    if below > 0 {
        for years in [10, 20, 0] {
            for to_state in [false, true] {
                let level = Level {
                    age_band_years: years,
                    zip3_to_state: to_state,
                };
                if level == base
                    || (to_state && !quasi.iter().any(|q| q == "zip3"))
                    || (years != 10 && !quasi.iter().any(|q| q == "age_band"))
                {
                    continue;
                }
                let (_, k, below, _) = measure(rows, quasi, level, k_target);
                suggestions.push(Suggestion {
                    level,
                    k,
                    records_below_k: below,
                });
            }
        }
    }
    KReport {
        quasi: quasi.to_vec(),
        sensitive: sensitive.into(),
        k_target,
        level: base,
        records: rows.len() as u64,
        classes,
        k,
        records_below_k: below,
        l,
        suggestions,
    }
}

/// Patient keys in classes below `k_target` at the finest level: the
/// records `--suppress` removes.
pub fn below_k(rows: &[QuasiRow], quasi: &[String], k_target: u64) -> BTreeSet<String> {
    let level = Level {
        age_band_years: 10,
        zip3_to_state: false,
    };
    classes(rows, quasi, level)
        .into_values()
        .filter(|v| (v.0.len() as u64) < k_target)
        .flat_map(|v| v.0)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(key: &str, age: &str, sex: &str, zip3: &str, state: &str, s: &str) -> QuasiRow {
        QuasiRow {
            key: key.into(),
            age: age.into(),
            columns: BTreeMap::from([
                ("sex".to_string(), sex.to_string()),
                ("zip3".to_string(), zip3.to_string()),
                ("state".to_string(), state.to_string()),
            ]),
            sensitive: s.into(),
        }
    }

    #[test]
    fn k_l_and_suggestions() {
        let rows = vec![
            row("a", "41", "F", "021", "MA", "x"),
            row("b", "45", "F", "021", "MA", "y"),
            row("c", "47", "F", "024", "MA", "x"),
            row("d", "92", "M", "021", "MA", "x"),
        ];
        let q: Vec<String> = ["age_band", "sex", "zip3"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let r = report(&rows, &q, "payer", 2);
        assert_eq!(r.classes, 3);
        assert_eq!(r.k, 1);
        assert_eq!(r.records_below_k, 2);
        assert_eq!(r.l, 1);
        let to_state = r
            .suggestions
            .iter()
            .find(|s| s.level.age_band_years == 10 && s.level.zip3_to_state)
            .unwrap();
        assert_eq!(
            to_state.records_below_k, 1,
            "only the 92-year-old man stays alone"
        );
        assert_eq!(
            below_k(&rows, &q, 2),
            BTreeSet::from(["c".to_string(), "d".to_string()])
        );
        assert_eq!(age_band("89", 10), "80-89");
        assert_eq!(age_band("90+", 10), "90+");
        assert_eq!(age_band("30", 0), "18-64");
    }
}
