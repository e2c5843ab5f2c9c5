//! The editable mapping files: local lab codes -> LOINC, units -> the
//! canonical unit of each measure, and SNOMED CT conditions -> the
//! ICD-10-CM codes of the model's comorbidities.
//!
//! Both live as TOML under `datasets/maps/` and are embedded in the binary, so
//! ingest works from any directory; a pipeline config may point at edited
//! copies instead.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::clinical::codes::{Chronic, Measure};
use crate::error::{toml_error, Error, IoContext, Result};
use crate::hashing::IdMap;

/// The maps shipped with CareLab (`datasets/maps/*.toml`).
pub const DEFAULT_LAB_CODES: &str = include_str!("../../datasets/maps/lab-codes.toml");
pub const DEFAULT_UNITS: &str = include_str!("../../datasets/maps/units.toml");
pub const DEFAULT_SNOMED_CONDITIONS: &str =
    include_str!("../../datasets/maps/snomed-conditions.toml");

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConditionsFile {
    codes: BTreeMap<String, MappedCondition>,
}

/// The ICD-10-CM code a SNOMED CT condition is taken as.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappedCondition {
    pub icd10cm: String,
    /// The ICD-10-CM title: the clean condition's display.
    pub display: String,
    /// The SNOMED CT concept's name, for the person editing the map.
    #[serde(default)]
    pub snomed: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LabCodesFile {
    codes: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UnitsFile {
    #[serde(default)]
    aliases: BTreeMap<String, String>,
    #[serde(default)]
    conversion: Vec<Conversion>,
}

/// One unit conversion: canonical = (value + add_before) * multiply / divide.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Conversion {
    pub measure: Measure,
    /// The source unit (canonical spelling, after aliases).
    pub from: String,
    #[serde(default)]
    pub add_before: f64,
    #[serde(default = "one")]
    pub multiply: f64,
    #[serde(default = "one")]
    pub divide: f64,
}

fn one() -> f64 {
    1.0
}

impl Conversion {
    pub fn apply(&self, value: f64) -> f64 {
        (value + self.add_before) * self.multiply / self.divide
    }
}

/// How a measurement's code was resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeResolution {
    /// Already a LOINC code CareLab knows.
    Loinc(Measure),
    /// A local code mapped through lab-codes.toml.
    Mapped(Measure),
}

impl CodeResolution {
    pub fn measure(self) -> Measure {
        match self {
            CodeResolution::Loinc(m) | CodeResolution::Mapped(m) => m,
        }
    }
}

/// How a value's unit was resolved.
#[derive(Debug, Clone, PartialEq)]
pub enum UnitResolution {
    /// Already the canonical unit (perhaps spelt differently).
    Canonical,
    /// Converted from another unit by a conversion in units.toml.
    Converted { from: String, value: f64 },
}

/// Code and unit maps, loaded and checked.
#[derive(Debug, Clone)]
pub struct Maps {
    /// Upper-cased local code -> measure. (The maps of `Maps` are only
    /// looked up, a record's codes and units each: hashed, not ordered.)
    codes: IdMap<String, Measure>,
    aliases: IdMap<String, String>,
    /// The aliases by their lower-cased spelling, the first in name order
    /// where two fold to one: the case-insensitive lookup of every result
    /// whose unit is not an alias as written (most are canonical already),
    /// which scanned every alias before.
    folded: IdMap<String, String>,
    conversions: Vec<Conversion>,
    /// SNOMED CT concept id -> ICD-10-CM.
    conditions: BTreeMap<String, MappedCondition>,
}

impl Maps {
    /// The maps shipped with CareLab.
    pub fn builtin() -> Result<Maps> {
        Maps::parse(
            ("datasets/maps/lab-codes.toml", DEFAULT_LAB_CODES),
            ("datasets/maps/units.toml", DEFAULT_UNITS),
            (
                "datasets/maps/snomed-conditions.toml",
                DEFAULT_SNOMED_CONDITIONS,
            ),
        )
    }

    /// Load edited maps from files; `None` keeps the built-in one.
    pub fn load(
        lab_codes: Option<&Path>,
        units: Option<&Path>,
        snomed_conditions: Option<&Path>,
    ) -> Result<Maps> {
        let read = |p: Option<&Path>, name: &str, default: &str| -> Result<(String, String)> {
            match p {
                Some(p) => Ok((p.display().to_string(), std::fs::read_to_string(p).at(p)?)),
                None => Ok((name.to_string(), default.to_string())),
            }
        };
        let codes = read(lab_codes, "datasets/maps/lab-codes.toml", DEFAULT_LAB_CODES)?;
        let units = read(units, "datasets/maps/units.toml", DEFAULT_UNITS)?;
        let conditions = read(
            snomed_conditions,
            "datasets/maps/snomed-conditions.toml",
            DEFAULT_SNOMED_CONDITIONS,
        )?;
        Maps::parse(
            (&codes.0, &codes.1),
            (&units.0, &units.1),
            (&conditions.0, &conditions.1),
        )
    }

    /// Parse the maps from (name, text) pairs, checking every LOINC target
    /// and every ICD-10-CM target.
    pub fn parse(
        lab_codes: (&str, &str),
        units: (&str, &str),
        snomed_conditions: (&str, &str),
    ) -> Result<Maps> {
        let file: LabCodesFile =
            toml::from_str(lab_codes.1).map_err(|e| toml_error(lab_codes.0, lab_codes.1, &e))?;
        let mut codes = IdMap::default();
        for (local, loinc) in file.codes {
            let measure = Measure::from_loinc(&loinc).ok_or_else(|| {
                Error::bad_input(
                    lab_codes.0,
                    Some(format!("key codes.{local}")),
                    "a LOINC code of a CareLab measure (see clinical::Measure)",
                    loinc.clone(),
                )
            })?;
            codes.insert(local.trim().to_ascii_uppercase(), measure);
        }
        let file: UnitsFile =
            toml::from_str(units.1).map_err(|e| toml_error(units.0, units.1, &e))?;
        for (i, c) in file.conversion.iter().enumerate() {
            if c.divide == 0.0 || !c.multiply.is_finite() || !c.add_before.is_finite() {
                return Err(Error::bad_input(
                    units.0,
                    Some(format!("conversion {}", i + 1)),
                    "finite factors and a non-zero divide",
                    format!(
                        "add_before {} multiply {} divide {}",
                        c.add_before, c.multiply, c.divide
                    ),
                ));
            }
        }
        let mut folded = IdMap::default();
        for (alias, unit) in &file.aliases {
            folded
                .entry(alias.to_ascii_lowercase())
                .or_insert_with(|| unit.clone());
        }
        Ok(Maps {
            codes,
            aliases: file.aliases.into_iter().collect(),
            folded,
            conversions: file.conversion,
            conditions: parse_conditions(snomed_conditions)?,
        })
    }

    /// The ICD-10-CM code a SNOMED CT condition is mapped to; `None` when
    /// snomed-conditions.toml does not have it.
    pub fn resolve_snomed_condition(&self, code: &str) -> Option<&MappedCondition> {
        self.conditions.get(code.trim())
    }

    /// The measure a code stands for: a known LOINC code, or a local code in
    /// lab-codes.toml. `None` when unmapped.
    pub fn resolve_code(&self, code: &str) -> Option<CodeResolution> {
        if let Some(m) = Measure::from_loinc(code) {
            return Some(CodeResolution::Loinc(m));
        }
        self.codes
            .get(&code.trim().to_ascii_uppercase())
            .map(|&m| CodeResolution::Mapped(m))
    }

    /// The canonical spelling of a unit: exact alias, then case-insensitive
    /// alias, else the unit itself (trimmed).
    pub fn normalize_unit(&self, unit: &str) -> String {
        let unit = unit.trim();
        if let Some(u) = self.aliases.get(unit) {
            return u.clone();
        }
        self.folded
            .get(&unit.to_ascii_lowercase())
            .cloned()
            .unwrap_or_else(|| unit.to_string())
    }

    /// Convert `value` in `unit` to the measure's canonical unit; `None` when
    /// the unit is neither canonical nor convertible.
    pub fn to_canonical(&self, m: Measure, value: f64, unit: &str) -> Option<UnitResolution> {
        let unit = self.normalize_unit(unit);
        if unit == m.unit() {
            return Some(UnitResolution::Canonical);
        }
        self.conversions
            .iter()
            .find(|c| c.measure == m && c.from == unit)
            .map(|c| UnitResolution::Converted {
                from: unit,
                value: c.apply(value),
            })
    }
}

/// snomed-conditions.toml: keys are SNOMED CT concept ids (digits), every
/// target an ICD-10-CM code in one of the model's condition categories.
fn parse_conditions((name, text): (&str, &str)) -> Result<BTreeMap<String, MappedCondition>> {
    let file: ConditionsFile = toml::from_str(text).map_err(|e| toml_error(name, text, &e))?;
    for (snomed, m) in &file.codes {
        let key = || Some(format!("key codes.{snomed}"));
        if snomed.is_empty() || !snomed.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::bad_input(
                name,
                key(),
                "a SNOMED CT concept id (digits)",
                snomed.clone(),
            ));
        }
        if Chronic::from_icd10(&m.icd10cm).is_none() {
            return Err(Error::bad_input(
                name,
                key(),
                "an ICD-10-CM code in a category the model uses (I10, I11, E11, I50, J44, N18, I48, F32, F33: see clinical::Chronic)",
                m.icd10cm.clone(),
            ));
        }
    }
    Ok(file.codes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-6
    }

    fn converted(r: Option<UnitResolution>) -> f64 {
        match r {
            Some(UnitResolution::Converted { value, .. }) => value,
            other => panic!("expected a conversion, got {other:?}"),
        }
    }

    #[test]
    fn builtin_conversions_use_the_documented_factors() {
        let maps = Maps::builtin().unwrap();
        assert!(close(
            converted(maps.to_canonical(Measure::Glucose, 5.5, "mmol/L")),
            99.088
        ));
        assert!(close(
            converted(maps.to_canonical(Measure::Creatinine, 88.42, "µmol/L")),
            1.0
        ));
        assert!(close(
            converted(maps.to_canonical(Measure::Temperature, 98.6, "°F")),
            37.0
        ));
        assert!(close(
            converted(maps.to_canonical(Measure::Weight, 100.0, "lbs")),
            45.359237
        ));
        assert_eq!(
            maps.to_canonical(Measure::Glucose, 100.0, "mg/dl"),
            Some(UnitResolution::Canonical)
        );
        assert_eq!(maps.to_canonical(Measure::Glucose, 100.0, "furlongs"), None);
        // a conversion belongs to its measure only
        assert_eq!(maps.to_canonical(Measure::Sodium, 5.0, "umol/L"), None);
    }

    /// Units are looked up as written, then ignoring ASCII case (the first
    /// alias in name order where two fold alike), else kept as written: the
    /// answer a scan of every alias gives.
    #[test]
    fn units_resolve_as_written_then_ignoring_case() {
        let units = "[aliases]\n\"mg/dl\" = \"mg/dL\"\n\"X\" = \"big\"\n\"x\" = \"small\"\n\"µg/L\" = \"ug/L\"\n";
        let maps = Maps::parse(
            ("c.toml", "[codes]\n"),
            ("u.toml", units),
            ("s.toml", DEFAULT_SNOMED_CONDITIONS),
        )
        .unwrap();
        let scan = |unit: &str| -> String {
            let unit = unit.trim();
            maps.aliases.get(unit).cloned().unwrap_or_else(|| {
                maps.aliases
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(unit))
                    .map(|(_, v)| v.clone())
                    .unwrap_or_else(|| unit.to_string())
            })
        };
        for (unit, want) in [
            ("mg/dl", "mg/dL"),
            (" MG/DL ", "mg/dL"),
            ("mg/dL", "mg/dL"),
            ("X", "big"),
            ("x", "small"),
            ("µG/l", "ug/L"),
            ("ΜG/L", "ΜG/L"),
            ("mmol/L", "mmol/L"),
            ("", ""),
        ] {
            assert_eq!(maps.normalize_unit(unit), want, "{unit:?}");
            assert_eq!(scan(unit), want, "{unit:?}");
        }
        let maps = Maps::parse(
            ("c.toml", "[codes]\n"),
            ("u.toml", "[aliases]\n\"Y\" = \"big\"\n\"y\" = \"small\"\n"),
            ("s.toml", DEFAULT_SNOMED_CONDITIONS),
        )
        .unwrap();
        // each spelling as written; ignoring case, the first in name order
        assert_eq!(maps.normalize_unit("y "), "small");
        assert_eq!(maps.folded.get("y").map(String::as_str), Some("big"));
    }

    #[test]
    fn codes_resolve_loinc_then_local() {
        let maps = Maps::builtin().unwrap();
        assert_eq!(
            maps.resolve_code("2345-7"),
            Some(CodeResolution::Loinc(Measure::Glucose))
        );
        assert_eq!(
            maps.resolve_code(" glu "),
            Some(CodeResolution::Mapped(Measure::Glucose))
        );
        assert_eq!(maps.resolve_code("XYZ"), None);
    }

    #[test]
    fn a_bad_map_names_the_file_and_key() {
        let no_conditions = ("s.toml", "[codes]\n");
        let err = Maps::parse(
            ("codes.toml", "[codes]\nGLU = \"1-1\"\n"),
            ("u.toml", ""),
            no_conditions,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("codes.toml") && err.contains("codes.GLU"),
            "{err}"
        );
        let err = Maps::parse(
            ("c.toml", "[codes]\n"),
            ("u.toml", "[aliases]\nx = 1\n"),
            no_conditions,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("u.toml") && err.contains("line 2"), "{err}");
        // a SNOMED target outside the model's categories names the key
        let err = Maps::parse(
            ("c.toml", "[codes]\n"),
            ("u.toml", ""),
            (
                "s.toml",
                "[codes]\n87433001 = { icd10cm = \"J43.9\", display = \"Emphysema\" }\n",
            ),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("s.toml") && err.contains("codes.87433001") && err.contains("J43.9"),
            "{err}"
        );
    }

    #[test]
    fn shipped_snomed_map_reaches_every_comorbidity() {
        let maps = Maps::builtin().unwrap();
        let m = maps.resolve_snomed_condition("44054006").unwrap();
        assert_eq!(
            (m.icd10cm.as_str(), m.snomed.as_str()),
            ("E11.9", "Diabetes mellitus type 2 (disorder)")
        );
        assert_eq!(maps.resolve_snomed_condition("87433001"), None);
        let reached: std::collections::BTreeSet<Chronic> = maps
            .conditions
            .values()
            .filter_map(|m| Chronic::from_icd10(&m.icd10cm))
            .collect();
        assert_eq!(reached.len(), Chronic::ALL.len(), "{reached:?}");
    }
}
