//! Column roles: what each column of a table is, as far as privacy goes.
//! A built-in map covers the clean records schema and the OMOP-like names
//! ingest writes; a TOML file (`[columns] name = "role"`, or
//! `"table.column" = "role"` for one table only) overrides it.
//!
//! A column's name alone does not always say what it holds: `name` in a
//! patients table is a person, while `name` beside an RxNorm code is the
//! drug that code names. So roles are given for a table's whole header.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{toml_error, Error, IoContext, Result};

/// The privacy role of a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The key that names a patient in every table.
    PatientKey,
    /// Another joining key (encounter, note, observation ids).
    Key,
    Name,
    Mrn,
    Ssn,
    Phone,
    Email,
    /// Plan, account, device or any other number that identifies.
    Identifier,
    Address,
    City,
    State,
    Zip,
    BirthDate,
    Date,
    /// Free text that may hold PHI.
    Text,
    /// An age in years: over 89 it is an identifier (published as `90+`).
    Age,
    /// Not an identifier (codes, values, sex, race, ...).
    Keep,
}

impl Role {
    /// The role's name as a roles file writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::PatientKey => "patient_key",
            Role::Key => "key",
            Role::Name => "name",
            Role::Mrn => "mrn",
            Role::Ssn => "ssn",
            Role::Phone => "phone",
            Role::Email => "email",
            Role::Identifier => "identifier",
            Role::Address => "address",
            Role::City => "city",
            Role::State => "state",
            Role::Zip => "zip",
            Role::BirthDate => "birth_date",
            Role::Date => "date",
            Role::Text => "text",
            Role::Age => "age",
            Role::Keep => "keep",
        }
    }

    /// A role whose values Safe Harbor removes, generalises or scrubs: one
    /// of its 18 identifiers (names, geography below state, dates but the
    /// year, ages over 89, contact and record numbers, free text that may
    /// hold any of them).
    pub fn is_identifying(self) -> bool {
        !matches!(
            self,
            Role::PatientKey | Role::Key | Role::State | Role::Keep
        )
    }
}

/// A column the role overrides pass through unchanged although its default
/// role is an identifier: under Safe Harbor the output then still holds
/// that identifier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeptIdentifier {
    /// `table.column`.
    pub column: String,
    /// What the column is by default (`name`, `mrn`, `city`, ...).
    pub default_role: Role,
    /// What the overrides made it.
    pub role: Role,
}

/// The default role of a column name.
pub fn default_role(column: &str) -> Role {
    let c = column.to_ascii_lowercase();
    match c.as_str() {
        "patient_id" | "person_id" | "subject_id" => Role::PatientKey,
        "mrn" | "person_source_value" | "medical_record_number" => Role::Mrn,
        "given_name" | "family_name" | "first_name" | "last_name" | "name" | "full_name"
        | "middle_name" => Role::Name,
        "ssn" => Role::Ssn,
        "phone" | "fax" | "telephone" | "mobile" => Role::Phone,
        "email" => Role::Email,
        "address_line" | "address" | "street" | "address_1" | "address_2" => Role::Address,
        "city" => Role::City,
        "state" => Role::State,
        "zip" | "zip_code" | "postal_code" => Role::Zip,
        "birth_date" | "birth_datetime" | "date_of_birth" | "dob" => Role::BirthDate,
        "text" | "note_text" | "note" => Role::Text,
        "age" | "age_years" | "age_at_admission" | "age_at_discharge" => Role::Age,
        "plan_id" | "account_number" | "device_id" | "member_id" | "insurance_number" => {
            Role::Identifier
        }
        _ if c.ends_with("_time") || c.ends_with("_datetime") || c.ends_with("_date") => Role::Date,
        "time" | "date" => Role::Date,
        _ if c.ends_with("_id") => Role::Key,
        _ => Role::Keep,
    }
}

/// Columns that hold a code from a clinical vocabulary (RxNorm, LOINC,
/// ICD-10, SNOMED CT, NDC, OMOP concept ids): a `name` beside one of them
/// is that code's display name, not a person's.
const VOCABULARY_CODES: &[&str] = &[
    "rxnorm",
    "code",
    "ndc",
    "loinc",
    "icd10",
    "icd10cm",
    "snomed",
    "cpt",
    "concept_id",
];

fn is_vocabulary_code(column: &str) -> bool {
    let c = column.to_ascii_lowercase();
    VOCABULARY_CODES.contains(&c.as_str()) || c.ends_with("_concept_id")
}

/// The default role of each column of a table, given its whole header: as
/// `default_role`, except that a bare `name` in a table that holds a
/// vocabulary code names the coded thing (a drug, a lab test), not a person.
pub fn default_roles(header: &[String]) -> Vec<Role> {
    let coded = header.iter().any(|c| is_vocabulary_code(c));
    header
        .iter()
        .map(|c| match default_role(c) {
            Role::Name if coded && c.eq_ignore_ascii_case("name") => Role::Keep,
            role => role,
        })
        .collect()
}

/// Column roles: the default map plus overrides from a file.
#[derive(Debug, Clone, Default)]
pub struct RoleMap {
    overrides: BTreeMap<String, Role>,
}

#[derive(Deserialize)]
struct RoleFile {
    #[serde(default)]
    columns: BTreeMap<String, Role>,
}

impl RoleMap {
    /// Read `[columns] name = "role"` overrides.
    pub fn from_toml(path: &Path) -> Result<RoleMap> {
        let text = std::fs::read_to_string(path).at(path)?;
        let file: RoleFile = toml::from_str(&text).map_err(|e| toml_error(path, &text, &e))?;
        if file.columns.is_empty() {
            return Err(Error::bad_input(
                path.display(),
                None,
                "a [columns] table of column = \"role\"",
                "no columns",
            ));
        }
        Ok(RoleMap {
            overrides: file.columns,
        })
    }

    /// The columns of `table` whose identifying default role an override
    /// turned into one that passes values through (`keep`, `state`, a key).
    pub fn kept_identifiers(&self, table: &str, header: &[String]) -> Vec<KeptIdentifier> {
        header
            .iter()
            .zip(default_roles(header))
            .zip(self.roles(table, header))
            .filter(|((_, default), role)| default.is_identifying() && !role.is_identifying())
            .map(|((c, default), role)| KeptIdentifier {
                column: format!("{table}.{c}"),
                default_role: default,
                role,
            })
            .collect()
    }

    /// The role of every column of `table` (the file stem) with this
    /// header: an override for `table.column` first, then for `column`,
    /// then the default.
    pub fn roles(&self, table: &str, header: &[String]) -> Vec<Role> {
        header
            .iter()
            .zip(default_roles(header))
            .map(|(c, default)| {
                self.overrides
                    .get(&format!("{table}.{c}"))
                    .or_else(|| self.overrides.get(c))
                    .copied()
                    .unwrap_or(default)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_are_the_roles_file_names() {
        for role in [Role::PatientKey, Role::BirthDate, Role::Keep, Role::Mrn] {
            let toml = format!("r = \"{}\"", role.as_str());
            #[derive(Deserialize)]
            struct R {
                r: Role,
            }
            assert_eq!(toml::from_str::<R>(&toml).unwrap().r, role);
        }
    }

    #[test]
    fn defaults_and_overrides() {
        assert_eq!(default_role("patient_id"), Role::PatientKey);
        assert_eq!(default_role("encounter_id"), Role::Key);
        assert_eq!(default_role("admit_time"), Role::Date);
        assert_eq!(default_role("visit_start_datetime"), Role::Date);
        assert_eq!(default_role("birth_date"), Role::BirthDate);
        assert_eq!(default_role("person_source_value"), Role::Mrn);
        assert_eq!(default_role("value"), Role::Keep);
        assert_eq!(default_role("age"), Role::Age);
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("roles.toml");
        std::fs::write(
            &p,
            "[columns]\nvalue = \"identifier\"\n\"notes.name\" = \"keep\"\n",
        )
        .unwrap();
        let map = RoleMap::from_toml(&p).unwrap();
        let h = |cols: &[&str]| cols.iter().map(|c| c.to_string()).collect::<Vec<_>>();
        assert_eq!(map.roles("t", &h(&["value"])), [Role::Identifier]);
        // a table-qualified override applies to that table only
        assert_eq!(map.roles("notes", &h(&["name"])), [Role::Keep]);
        assert_eq!(map.roles("staff", &h(&["name"])), [Role::Name]);
        std::fs::write(&p, "[columns]\nvalue = \"nonsense\"\n").unwrap();
        let e = RoleMap::from_toml(&p).unwrap_err().to_string();
        assert!(e.contains("line 2"), "{e}");
    }

    #[test]
    fn overrides_that_pass_an_identifier_through_are_listed() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("roles.toml");
        std::fs::write(
            &p,
            "[columns]
given_name = \"keep\"\n\"patients.city\" = \"state\"\nplan = \"identifier\"\n",
        )
        .unwrap();
        let map = RoleMap::from_toml(&p).unwrap();
        let h = |cols: &[&str]| cols.iter().map(|c| c.to_string()).collect::<Vec<_>>();
        let header = h(&["patient_id", "given_name", "city", "plan", "sex"]);
        let kept = map.kept_identifiers("patients", &header);
        assert_eq!(
            kept,
            vec![
                KeptIdentifier {
                    column: "patients.given_name".into(),
                    default_role: Role::Name,
                    role: Role::Keep
                },
                KeptIdentifier {
                    column: "patients.city".into(),
                    default_role: Role::City,
                    role: Role::State
                },
            ]
        );
        // a stricter override is no loss, and other tables keep their city
        assert!(map
            .kept_identifiers("visits", &h(&["city", "plan"]))
            .is_empty());
        assert!(RoleMap::default()
            .kept_identifiers("patients", &header)
            .is_empty());
    }

    #[test]
    fn a_name_beside_a_code_is_the_code_display_name_not_a_person() {
        let h = |cols: &[&str]| cols.iter().map(|c| c.to_string()).collect::<Vec<_>>();
        let meds = h(&["medication_id", "patient_id", "rxnorm", "name"]);
        assert_eq!(
            default_roles(&meds),
            [Role::Key, Role::PatientKey, Role::Keep, Role::Keep]
        );
        let omop = h(&["drug_exposure_id", "drug_concept_id", "NAME"]);
        assert_eq!(default_roles(&omop)[2], Role::Keep);
        // without a code beside it a name is a person's, and the other
        // name columns are a person's even beside a code
        assert_eq!(default_roles(&h(&["patient_id", "name"]))[1], Role::Name);
        let both = h(&["code", "given_name", "family_name", "name"]);
        assert_eq!(
            default_roles(&both),
            [Role::Keep, Role::Name, Role::Name, Role::Keep]
        );
    }
}
