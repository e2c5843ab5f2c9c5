//! A borrowed JSON tree for the FHIR readers.
//!
//! `serde_json::Value` gives every object a `BTreeMap` and every key and
//! string its own `String`: for a Bulk NDJSON line that is dozens of small
//! allocations, most for elements the reader never looks at. `Json` borrows
//! every string that has no escapes straight from the text and keeps an
//! object's members in one `Vec`, in document order. The text is still parsed
//! by serde_json, so what is valid JSON, the error positions and the nesting
//! limit are exactly serde_json's.

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

/// One JSON value, its strings borrowed from the text where possible.
#[derive(Debug, Clone, PartialEq)]
pub enum Json<'a> {
    Null,
    Bool(bool),
    /// Every JSON number as `f64`, as `serde_json::Number::as_f64` gives it.
    Number(f64),
    String(Cow<'a, str>),
    Array(Vec<Json<'a>>),
    /// Members in document order; a repeated key is kept, and `get` answers
    /// the last one, as `serde_json::Value` does.
    Object(Vec<(Cow<'a, str>, Json<'a>)>),
}

impl<'a> Json<'a> {
    /// Parse one JSON text.
    pub fn parse(text: &'a str) -> serde_json::Result<Json<'a>> {
        serde_json::from_str(text)
    }

    /// The same tree over a `serde_json::Value` (strings borrowed from it).
    pub fn from_value(v: &'a Value) -> Json<'a> {
        match v {
            Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(*b),
            Value::Number(n) => Json::Number(n.as_f64().unwrap_or(f64::NAN)),
            Value::String(s) => Json::String(Cow::Borrowed(s)),
            Value::Array(a) => Json::Array(a.iter().map(Json::from_value).collect()),
            Value::Object(m) => Json::Object(
                m.iter()
                    .map(|(k, v)| (Cow::Borrowed(k.as_str()), Json::from_value(v)))
                    .collect(),
            ),
        }
    }

    /// The member `key` of an object (the last, if repeated).
    pub fn get(&self, key: &str) -> Option<&Json<'a>> {
        match self {
            Json::Object(members) => members.iter().rev().find(|(k, _)| k == key).map(|m| &m.1),
            _ => None,
        }
    }

    /// Item `i` of an array.
    pub fn index(&self, i: usize) -> Option<&Json<'a>> {
        match self {
            Json::Array(items) => items.get(i),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[Json<'a>]> {
        match self {
            Json::Array(items) => Some(items),
            _ => None,
        }
    }

    pub fn is_object(&self) -> bool {
        matches!(self, Json::Object(_))
    }

    /// The member names of an object, in order (none for other values).
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        let members = match self {
            Json::Object(members) => members.as_slice(),
            _ => &[],
        };
        members.iter().map(|(k, _)| k.as_ref())
    }
}

impl<'de> Deserialize<'de> for Json<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(JsonVisitor)
    }
}

/// A string that borrows from the text when it has no escapes (serde's own
/// `Cow<str>` always copies).
struct Text<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(TextVisitor)
    }
}

struct TextVisitor;

impl<'de> Visitor<'de> for TextVisitor {
    type Value = Text<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Text<'de>, E> {
        Ok(Text(Cow::Borrowed(s)))
    }

    fn visit_str<E>(self, s: &str) -> Result<Text<'de>, E> {
        Ok(Text(Cow::Owned(s.to_string())))
    }

    fn visit_string<E>(self, s: String) -> Result<Text<'de>, E> {
        Ok(Text(Cow::Owned(s)))
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_unit<E>(self) -> Result<Json<'de>, E> {
        Ok(Json::Null)
    }

    fn visit_none<E>(self) -> Result<Json<'de>, E> {
        Ok(Json::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Json<'de>, D::Error> {
        Json::deserialize(d)
    }

    fn visit_bool<E>(self, b: bool) -> Result<Json<'de>, E> {
        Ok(Json::Bool(b))
    }

    fn visit_i64<E>(self, n: i64) -> Result<Json<'de>, E> {
        Ok(Json::Number(n as f64))
    }

    fn visit_u64<E>(self, n: u64) -> Result<Json<'de>, E> {
        Ok(Json::Number(n as f64))
    }

    fn visit_f64<E>(self, n: f64) -> Result<Json<'de>, E> {
        Ok(Json::Number(n))
    }

    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Json<'de>, E> {
        Ok(Json::String(Cow::Borrowed(s)))
    }

    fn visit_str<E>(self, s: &str) -> Result<Json<'de>, E> {
        Ok(Json::String(Cow::Owned(s.to_string())))
    }

    fn visit_string<E>(self, s: String) -> Result<Json<'de>, E> {
        Ok(Json::String(Cow::Owned(s)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json<'de>, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json<'de>, A::Error> {
        // FHIR objects mostly have a handful of members: start with room for
        // some so that most never grow.
        let mut members = Vec::with_capacity(map.size_hint().unwrap_or(4));
        while let Some(Text(key)) = map.next_key()? {
            members.push((key, map.next_value()?));
        }
        Ok(Json::Object(members))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn borrows_plain_strings_and_copies_escaped_ones() {
        let text = r#"{"a": "plain", "b\"": "tab\there", "n": [1, -2, 2.5e3, null, true]}"#;
        let j = Json::parse(text).unwrap();
        assert!(matches!(
            j.get("a"),
            Some(Json::String(Cow::Borrowed("plain")))
        ));
        assert_eq!(j.get("b\"").and_then(Json::as_str), Some("tab\there"));
        assert!(matches!(j.get("b\""), Some(Json::String(Cow::Owned(_)))));
        let n = j.get("n").and_then(Json::as_array).unwrap();
        assert_eq!(
            n,
            [
                Json::Number(1.0),
                Json::Number(-2.0),
                Json::Number(2500.0),
                Json::Null,
                Json::Bool(true)
            ]
        );
        assert_eq!(
            j.get("n").and_then(|n| n.index(2)),
            Some(&Json::Number(2500.0))
        );
        assert_eq!(j.get("missing"), None);
    }

    #[test]
    fn matches_serde_json_value_on_duplicates_and_errors() {
        let text = r#"{"k": 1, "k": "last"}"#;
        let j = Json::parse(text).unwrap();
        let v: Value = serde_json::from_str(text).unwrap();
        assert_eq!(j.get("k").and_then(Json::as_str), v["k"].as_str());
        assert_eq!(Json::from_value(&v).get("k"), j.get("k"));
        for bad in ["{\"a\": ", "[1,]", "{} x", "\"\\u12\"", &"[".repeat(200)] {
            let ours = Json::parse(bad).unwrap_err();
            let theirs = serde_json::from_str::<Value>(bad).unwrap_err();
            assert_eq!(ours.to_string(), theirs.to_string(), "{bad}");
        }
    }
}
