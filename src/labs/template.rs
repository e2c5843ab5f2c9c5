//! Placeholders in lab files: `{seed}`, `{data}` and `{expected.NAME}`.
//!
//! Checks, solutions and the answer key all render the same text through
//! this one function, so what the instructor's key says and what `check`
//! compares against cannot drift apart. Braces that are not one of these
//! placeholders are left as they are (solution files may hold JSON).

use std::collections::BTreeMap;

use crate::error::{Error, Result};

/// What placeholders expand to for one learner and lab.
#[derive(Debug, Clone, Default)]
pub struct Context {
    pub seed: u64,
    /// The lab's data folder, relative to the lab workspace.
    pub data: String,
    /// Expected values by name: the value, or why it could not be computed.
    pub expected: BTreeMap<String, std::result::Result<String, String>>,
}

impl Context {
    /// Expand every known placeholder in `text`.
    pub fn render(&self, text: &str) -> Result<String> {
        expand(text, |name| self.lookup(name))
    }

    /// `text` as a learner may be shown it: `{seed}` and `{data}` expanded,
    /// every `{expected.NAME}` left as written, so that nothing shown can
    /// carry an expected value.
    pub fn render_shown(&self, text: &str) -> String {
        let public = |name: &str| {
            Ok(match name.strip_prefix("expected.") {
                Some(_) => None,
                None => self.lookup(name).ok().flatten(),
            })
        };
        expand(text, public).unwrap_or_else(|_| text.to_string())
    }

    fn lookup(&self, name: &str) -> Result<Option<String>> {
        if name == "seed" {
            return Ok(Some(self.seed.to_string()));
        }
        if name == "data" {
            return Ok(Some(self.data.clone()));
        }
        let Some(key) = name.strip_prefix("expected.") else {
            return Ok(None);
        };
        match self.expected.get(key) {
            Some(Ok(v)) => Ok(Some(v.clone())),
            Some(Err(why)) => Err(Error::failure(format!(
                "the expected value '{key}' is not available: {why}"
            ))),
            None => Err(Error::failure(format!(
                "the lab uses {{expected.{key}}} but does not define it"
            ))),
        }
    }
}

/// Replace each `{NAME}` that `lookup` knows; leave other braces as they are.
fn expand(text: &str, lookup: impl Fn(&str) -> Result<Option<String>>) -> Result<String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            out.push_str(&rest[open..]);
            return Ok(out);
        };
        let name = &after[..close];
        match lookup(name)? {
            Some(value) => out.push_str(&value),
            None => out.push_str(&rest[open..open + close + 2]),
        }
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Names used as `{expected.NAME}` in `text`, sorted and unique.
pub fn expected_names(text: &str) -> Vec<String> {
    let mut names: Vec<String> = text
        .split("{expected.")
        .skip(1)
        .filter_map(|s| s.split_once('}').map(|(name, _)| name.to_string()))
        .collect();
    names.sort();
    names.dedup();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_known_placeholders_and_keeps_other_braces() {
        let mut ctx = Context {
            seed: 7,
            data: "data".into(),
            ..Default::default()
        };
        ctx.expected.insert("p".into(), Ok("0.15".into()));
        let out = ctx
            .render("seed={seed} p={expected.p} {\"a\": 1} {data}/x")
            .unwrap();
        assert_eq!(out, "seed=7 p=0.15 {\"a\": 1} data/x");
    }

    #[test]
    fn shown_text_keeps_expected_placeholders_unexpanded() {
        let mut ctx = Context {
            seed: 7,
            data: "data".into(),
            ..Default::default()
        };
        ctx.expected.insert("n".into(), Ok("331".into()));
        ctx.expected.insert("gone".into(), Err("no file".into()));
        assert_eq!(
            ctx.render_shown("{data}/x --seed {seed} ok: {expected.n} {expected.gone}"),
            "data/x --seed 7 ok: {expected.n} {expected.gone}"
        );
    }

    #[test]
    fn unavailable_expected_value_is_an_error_with_the_reason() {
        let mut ctx = Context::default();
        ctx.expected
            .insert("auc".into(), Err("no dataset yet".into()));
        let e = ctx.render("{expected.auc}").unwrap_err().to_string();
        assert!(e.contains("auc") && e.contains("no dataset yet"), "{e}");
        assert!(ctx.render("{expected.nope}").is_err());
    }

    #[test]
    fn finds_expected_names() {
        assert_eq!(
            expected_names("{expected.b} x {expected.a} {expected.b}"),
            vec!["a".to_string(), "b".to_string()]
        );
    }
}
