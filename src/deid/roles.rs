//! Column roles: what each column of a table is, as far as privacy goes.
//! A built-in map covers the clean records schema and the OMOP-like names
//! ingest writes; a TOML file (`[columns] name = "role"`) overrides it.

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

    pub fn role(&self, column: &str) -> Role {
        self.overrides
            .get(column)
            .copied()
            .unwrap_or_else(|| default_role(column))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        std::fs::write(&p, "[columns]\nvalue = \"identifier\"\n").unwrap();
        assert_eq!(
            RoleMap::from_toml(&p).unwrap().role("value"),
            Role::Identifier
        );
        std::fs::write(&p, "[columns]\nvalue = \"nonsense\"\n").unwrap();
        let e = RoleMap::from_toml(&p).unwrap_err().to_string();
        assert!(e.contains("line 2"), "{e}");
    }
}
