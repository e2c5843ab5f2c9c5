//! The shipped OMOP vocabulary subset (`datasets/omop-vocabulary/`): the
//! six vocabulary tables as CDM tables, and concept look-ups by code.
//!
//! Every concept id the CDM writer puts in a row comes from here: a code is
//! looked up by vocabulary and code (`LOINC` `2345-7`), and a source concept
//! becomes a standard one through its "Maps to" row (a standard concept maps
//! to itself, as in Athena). A code the subset lacks gives 0, the CDM's "No
//! matching concept", and the writer keeps the code in the source value.

use super::cdm_table::{CdmTable, Spec, Value};
use crate::error::Result;
use crate::hashing::IdMap;

/// The subset's files, embedded, with the CDM table each one fills.
pub const FILES: [(&str, &str, &str); 6] = [
    (
        "concept",
        "datasets/omop-vocabulary/concept.csv",
        include_str!("../../datasets/omop-vocabulary/concept.csv"),
    ),
    (
        "concept_relationship",
        "datasets/omop-vocabulary/concept_relationship.csv",
        include_str!("../../datasets/omop-vocabulary/concept_relationship.csv"),
    ),
    (
        "vocabulary",
        "datasets/omop-vocabulary/vocabulary.csv",
        include_str!("../../datasets/omop-vocabulary/vocabulary.csv"),
    ),
    (
        "domain",
        "datasets/omop-vocabulary/domain.csv",
        include_str!("../../datasets/omop-vocabulary/domain.csv"),
    ),
    (
        "concept_class",
        "datasets/omop-vocabulary/concept_class.csv",
        include_str!("../../datasets/omop-vocabulary/concept_class.csv"),
    ),
    (
        "relationship",
        "datasets/omop-vocabulary/relationship.csv",
        include_str!("../../datasets/omop-vocabulary/relationship.csv"),
    ),
];

/// The vocabulary tables and the look-ups the writer needs.
pub struct Vocabulary {
    pub tables: Vec<CdmTable>,
    /// vocabulary -> code -> concept (nested, so a look-up allocates nothing;
    /// hashed with `Fx`, a look-up for every cell of a concept id)
    by_code: IdMap<String, IdMap<String, i64>>,
    standard: IdMap<i64, bool>,
    maps_to: IdMap<i64, i64>,
}

impl Vocabulary {
    /// The shipped subset.
    pub fn shipped(spec: &Spec) -> Result<Vocabulary> {
        let mut tables = Vec::new();
        for (table, file, text) in FILES {
            let mut t = CdmTable::new(spec, table)?;
            t.load_csv(file, text)?;
            tables.push(t);
        }
        let mut v = Vocabulary {
            tables,
            by_code: IdMap::default(),
            standard: IdMap::default(),
            maps_to: IdMap::default(),
        };
        let text = |t: &CdmTable, row: usize, col: usize| match t.value(row, col) {
            Value::Text(s) => s.to_string(),
            _ => String::new(),
        };
        let int = |t: &CdmTable, row: usize, col: usize| match t.value(row, col) {
            Value::Int(x) => x,
            _ => 0,
        };
        let concept = &v.tables[0];
        let c = [
            "concept_id",
            "vocabulary_id",
            "concept_code",
            "standard_concept",
        ]
        .iter()
        .map(|n| concept.column(n))
        .collect::<Result<Vec<_>>>()?;
        let mut by_code: IdMap<String, IdMap<String, i64>> = IdMap::default();
        let mut standard = IdMap::default();
        for row in 0..concept.len() {
            let id = int(concept, row, c[0]);
            by_code
                .entry(text(concept, row, c[1]))
                .or_default()
                .insert(text(concept, row, c[2]), id);
            standard.insert(id, text(concept, row, c[3]) == "S");
        }
        let rel = &v.tables[1];
        let r = ["concept_id_1", "concept_id_2", "relationship_id"]
            .iter()
            .map(|n| rel.column(n))
            .collect::<Result<Vec<_>>>()?;
        let mut maps_to = IdMap::default();
        for row in 0..rel.len() {
            if text(rel, row, r[2]) == "Maps to" {
                maps_to.insert(int(rel, row, r[0]), int(rel, row, r[1]));
            }
        }
        v.by_code = by_code;
        v.standard = standard;
        v.maps_to = maps_to;
        Ok(v)
    }

    /// The concept of `code` in `vocabulary`; 0 when the subset lacks it.
    pub fn concept(&self, vocabulary: &str, code: &str) -> i64 {
        self.by_code
            .get(vocabulary)
            .and_then(|codes| codes.get(code.trim()))
            .copied()
            .unwrap_or(0)
    }

    /// The standard concept a concept stands for: itself when standard,
    /// its "Maps to" target otherwise; 0 when there is none.
    pub fn standard(&self, concept_id: i64) -> i64 {
        if self.standard.get(&concept_id).copied().unwrap_or(false) {
            concept_id
        } else {
            self.maps_to.get(&concept_id).copied().unwrap_or(0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clinical::codes::{Measure, DRUGS};

    #[test]
    fn the_subset_loads_and_maps_codes_to_standard_concepts() {
        let spec = Spec::v54().unwrap();
        let v = Vocabulary::shipped(&spec).unwrap();
        assert_eq!(v.concept("Gender", "F"), 8532);
        assert_eq!(v.concept("Visit", "IP"), 9201);
        assert_eq!(v.concept("LOINC", "2345-7"), 3004501);
        assert_eq!(v.standard(3004501), 3004501);
        // ICD-10-CM is a source vocabulary: its codes map to SNOMED
        let i10 = v.concept("ICD10CM", "I10");
        assert_eq!((i10, v.standard(i10)), (35207668, 320128));
        let afib = v.concept("ICD10CM", "I48.91");
        assert_eq!((afib, v.standard(afib)), (45576876, 313217));
        assert_eq!(v.concept("ICD10CM", "E11.9"), 0);
        // absent codes are 0, never a guess
        assert_eq!(v.concept("ICD10CM", "J18.9"), 0);
        assert_eq!(v.standard(0), 0);
        // every unit the model stores, and most measures and drugs, are in
        for m in Measure::ALL {
            assert_ne!(v.concept("UCUM", m.unit()), 0, "{}", m.unit());
        }
        let measures = Measure::ALL
            .iter()
            .filter(|m| v.concept("LOINC", m.loinc()) != 0)
            .count();
        assert_eq!(measures, Measure::ALL.len(), "every measure");
        let drugs = DRUGS
            .iter()
            .filter(|d| v.concept("RxNorm", d.rxnorm) != 0)
            .count();
        assert_eq!(drugs, 10, "all but insulin glargine and tiotropium");
    }
}
