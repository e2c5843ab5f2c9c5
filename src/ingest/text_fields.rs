//! A flat record's fields as the text ingest's validator reads, straight
//! from its `Serialize` impl.
//!
//! `/v1/predict/fhir` and the CDS Hooks services check each record the FHIR
//! reader gives them with ingest's validator, which reads text fields by
//! column name. Going through `serde_json::to_value` built a JSON tree (a
//! `BTreeMap` and a `String` per field) only to copy it into a second map of
//! strings: a seventh of a hook call. This serializer writes the second map
//! directly, with the text `to_value` would have given: strings as they
//! are, numbers as serde_json writes them, `null` (a `None`, a non-finite
//! number) as empty.

use std::collections::BTreeMap;
use std::fmt;

use serde::ser::{self, Impossible, Serialize};

/// The fields of `record` (a struct of scalars, options and unit enums) by
/// name; empty when it is anything else, as a record `to_value` cannot
/// turn into an object gives no fields.
pub fn text_fields<T: Serialize + ?Sized>(record: &T) -> BTreeMap<String, String> {
    // Gathered in field order, then sorted once: the map builds itself from
    // a sorted run without searching its tree for every field.
    let mut fields = Vec::with_capacity(16);
    match record.serialize(Fields(&mut fields)) {
        Ok(()) => fields.into_iter().collect(),
        Err(Unsupported) => BTreeMap::new(),
    }
}

/// A value that is not a flat record's field.
#[derive(Debug)]
struct Unsupported;

impl fmt::Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not a flat record")
    }
}

impl std::error::Error for Unsupported {}

impl ser::Error for Unsupported {
    fn custom<T: fmt::Display>(_: T) -> Self {
        Unsupported
    }
}

/// The record: a struct whose fields go into the map.
struct Fields<'a>(&'a mut Vec<(String, String)>);

/// One field's value as text.
struct Text;

/// The methods of a serializer that refuses a kind of value.
macro_rules! unsupported {
    ($($name:ident($($arg:ty),*)),* $(,)?) => {
        $(fn $name(self, $(_: $arg),*) -> Result<Self::Ok, Unsupported> {
            Err(Unsupported)
        })*
    };
}

/// Every compound value is refused (a record's fields are scalars).
macro_rules! no_compounds {
    () => {
        type SerializeSeq = Impossible<Self::Ok, Unsupported>;
        type SerializeTuple = Impossible<Self::Ok, Unsupported>;
        type SerializeTupleStruct = Impossible<Self::Ok, Unsupported>;
        type SerializeTupleVariant = Impossible<Self::Ok, Unsupported>;
        type SerializeMap = Impossible<Self::Ok, Unsupported>;
        type SerializeStructVariant = Impossible<Self::Ok, Unsupported>;

        fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Unsupported> {
            Err(Unsupported)
        }
        fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Unsupported> {
            Err(Unsupported)
        }
        fn serialize_tuple_struct(
            self,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeTupleStruct, Unsupported> {
            Err(Unsupported)
        }
        fn serialize_tuple_variant(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeTupleVariant, Unsupported> {
            Err(Unsupported)
        }
        fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Unsupported> {
            Err(Unsupported)
        }
        fn serialize_struct_variant(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeStructVariant, Unsupported> {
            Err(Unsupported)
        }
        fn serialize_newtype_variant<T: ?Sized + Serialize>(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: &T,
        ) -> Result<Self::Ok, Unsupported> {
            Err(Unsupported)
        }
    };
}

impl<'a> ser::Serializer for Fields<'a> {
    type Ok = ();
    type Error = Unsupported;
    type SerializeStruct = Self;
    no_compounds!();
    unsupported!(
        serialize_bool(bool),
        serialize_i8(i8),
        serialize_i16(i16),
        serialize_i32(i32),
        serialize_i64(i64),
        serialize_u8(u8),
        serialize_u16(u16),
        serialize_u32(u32),
        serialize_u64(u64),
        serialize_f32(f32),
        serialize_f64(f64),
        serialize_char(char),
        serialize_str(&str),
        serialize_bytes(&[u8]),
        serialize_none(),
        serialize_unit(),
        serialize_unit_struct(&'static str),
        serialize_unit_variant(&'static str, u32, &'static str),
    );
    fn serialize_some<T: ?Sized + Serialize>(self, _: &T) -> Result<(), Unsupported> {
        Err(Unsupported)
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        v: &T,
    ) -> Result<(), Unsupported> {
        v.serialize(self)
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self, Unsupported> {
        Ok(self)
    }
}

impl ser::SerializeStruct for Fields<'_> {
    type Ok = ();
    type Error = Unsupported;

    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Unsupported> {
        self.0.push((key.to_string(), value.serialize(Text)?));
        Ok(())
    }

    fn end(self) -> Result<(), Unsupported> {
        Ok(())
    }
}

/// Values whose text is what `Display` writes (as serde_json writes them).
macro_rules! displayed {
    ($($name:ident: $t:ty),* $(,)?) => {
        $(fn $name(self, v: $t) -> Result<String, Unsupported> {
            Ok(v.to_string())
        })*
    };
}

impl ser::Serializer for Text {
    type Ok = String;
    type Error = Unsupported;
    type SerializeStruct = Impossible<String, Unsupported>;
    no_compounds!();
    unsupported!(serialize_bytes(&[u8]));

    displayed!(
        serialize_bool: bool,
        serialize_i8: i8,
        serialize_i16: i16,
        serialize_i32: i32,
        serialize_i64: i64,
        serialize_u8: u8,
        serialize_u16: u16,
        serialize_u32: u32,
        serialize_u64: u64,
        serialize_char: char,
    );
    fn serialize_f32(self, v: f32) -> Result<String, Unsupported> {
        // serde_json keeps an f32 as the f64 of the same value
        self.serialize_f64(f64::from(v))
    }
    fn serialize_f64(self, v: f64) -> Result<String, Unsupported> {
        // serde_json writes a finite number with ryu and has no JSON for
        // the others (its `to_value` makes them null)
        Ok(if v.is_finite() {
            ryu::Buffer::new().format_finite(v).to_string()
        } else {
            String::new()
        })
    }
    fn serialize_str(self, v: &str) -> Result<String, Unsupported> {
        Ok(v.to_string())
    }
    fn serialize_none(self) -> Result<String, Unsupported> {
        Ok(String::new())
    }
    fn serialize_some<T: ?Sized + Serialize>(self, v: &T) -> Result<String, Unsupported> {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Result<String, Unsupported> {
        Ok(String::new())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<String, Unsupported> {
        Ok(String::new())
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<String, Unsupported> {
        Ok(variant.to_string())
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        v: &T,
    ) -> Result<String, Unsupported> {
        v.serialize(self)
    }
    fn serialize_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStruct, Unsupported> {
        Err(Unsupported)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clinical::{Condition, Encounter, Medication, Observation, Patient};
    use chrono::NaiveDate;
    use serde_json::Value;

    /// What the FHIR routes did before: a JSON tree, then its members as text.
    fn through_json<T: Serialize>(record: &T) -> BTreeMap<String, String> {
        let Ok(Value::Object(obj)) = serde_json::to_value(record) else {
            return BTreeMap::new();
        };
        obj.into_iter()
            .map(|(k, v)| {
                let text = match v {
                    Value::Null => String::new(),
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                (k, text)
            })
            .collect()
    }

    #[test]
    fn records_give_the_text_their_json_gives() {
        let t = NaiveDate::from_ymd_opt(2024, 3, 5)
            .unwrap()
            .and_hms_opt(14, 30, 9)
            .unwrap();
        let patient = Patient {
            patient_id: "P1".into(),
            mrn: "M\"1".into(),
            given_name: "Ana".into(),
            family_name: "Lee".into(),
            sex: "F".into(),
            birth_date: t.date(),
            race: "White".into(),
            ethnicity: String::new(),
            payer: "Medicare".into(),
            address_line: "1 Main St, Apt 2".into(),
            city: "Springfield".into(),
            state: "IL".into(),
            zip: "62701".into(),
            phone: String::new(),
            email: String::new(),
            ssn: String::new(),
            death_date: None,
        };
        let encounter = Encounter {
            encounter_id: "E1".into(),
            patient_id: "P1".into(),
            class: "IMP".into(),
            admit_time: t,
            discharge_time: None,
            disposition: String::new(),
            reason_code: "I50.9".into(),
        };
        let condition = Condition {
            condition_id: "C1".into(),
            patient_id: "P1".into(),
            encounter_id: Some("E1".into()),
            code: "E11.9".into(),
            display: "Type 2 diabetes".into(),
            onset_date: t.date(),
        };
        let medication = Medication {
            medication_id: "M1".into(),
            patient_id: "P1".into(),
            encounter_id: "E1".into(),
            rxnorm: "860975".into(),
            name: "metformin".into(),
            authored_time: t,
        };
        assert_eq!(text_fields(&patient), through_json(&patient));
        assert_eq!(text_fields(&encounter), through_json(&encounter));
        assert_eq!(text_fields(&condition), through_json(&condition));
        assert_eq!(text_fields(&medication), through_json(&medication));
        for value in [
            140.0,
            -0.5,
            1e-7,
            123456789012.0,
            0.1 + 0.2,
            f64::NAN,
            f64::INFINITY,
        ] {
            let obs = Observation {
                observation_id: "O1".into(),
                patient_id: "P1".into(),
                encounter_id: "E1".into(),
                time: t,
                code: "2160-0".into(),
                system: "http://loinc.org".into(),
                display: "Creatinine".into(),
                value,
                unit: "mg/dL".into(),
            };
            assert_eq!(text_fields(&obs), through_json(&obs), "{value}");
        }
        assert_eq!(text_fields(&encounter)["discharge_time"], "");
        assert_eq!(text_fields(&encounter)["admit_time"], "2024-03-05T14:30:09");
        // not a record: no fields, as the JSON path gives none
        assert!(text_fields(&vec![1, 2]).is_empty());
        assert!(text_fields("text").is_empty());
    }
}
