//! The labs that ship with CareLab, embedded in the binary.
//!
//! Every file under `labs/` is compiled in with `include_str!` through the
//! table below, so `carelab lab list` works from any folder with only the
//! binary: no source tree, no path compiled in.
//! A unit test compares the table with the folder on disk, so a file added
//! to a lab without a line here fails the tests instead of going missing.
//! A hospital's own labs live in a folder beside the binary (`--labs-dir`,
//! `CARELAB_LABS`): [`Catalog::with_local`] adds them to the built-in ones
//! without a rebuild, and a local lab with a built-in one's slug replaces
//! it, so a lab author can also try edits to a shipped lab live.

use std::fs;
use std::path::Path;

use crate::error::{Error, IoContext, Result};

use super::spec::LabSpec;

/// One lab: its spec, instructions, starter and solution files.
#[derive(Debug, Clone)]
pub struct Lab {
    pub spec: LabSpec,
    pub readme: String,
    /// (path relative to the lab workspace, contents), sorted by path.
    pub starter: Vec<(String, String)>,
    pub solution: Vec<(String, String)>,
}

/// All labs, in order of their number.
#[derive(Debug, Clone)]
pub struct Catalog {
    pub labs: Vec<Lab>,
}

/// `embed!("dir"; "a/b.toml", ...)`: (path under `dir/`, contents) for each
/// file, read at compile time. The guide's sources use it too (`book.rs`).
macro_rules! embed {
    ($dir:literal; $($path:literal),* $(,)?) => {
        &[$(($path, include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/", $dir, "/", $path)))),*]
    };
}
pub(crate) use embed;

/// Every lab file: path under `labs/`, contents.
pub const EMBEDDED: &[(&str, &str)] = embed![
    "labs";
    "00-setup/lab.toml",
    "00-setup/README.md",
    "00-setup/starter/answers.toml",
    "00-setup/solution/answers.toml",
    "01-data/lab.toml",
    "01-data/README.md",
    "01-data/starter/answers.toml",
    "01-data/solution/answers.toml",
    "02-legacy/lab.toml",
    "02-legacy/README.md",
    "02-legacy/starter/answers.toml",
    "02-legacy/solution/answers.toml",
    "03-interoperability/lab.toml",
    "03-interoperability/README.md",
    "03-interoperability/starter/answers.toml",
    "03-interoperability/starter/clinic-feed/sunrise-lab.hl7",
    "03-interoperability/starter/interop.toml",
    "03-interoperability/starter/maps/clinic-codes.toml",
    "03-interoperability/starter/maps/lab-codes.toml",
    "03-interoperability/starter/maps/units.toml",
    "03-interoperability/starter/vendor.toml",
    "03-interoperability/solution/answers.toml",
    "03-interoperability/solution/maps/clinic-codes.toml",
    "03-interoperability/solution/maps/lab-codes.toml",
    "03-interoperability/solution/maps/units.toml",
    "04-data-engineering/lab.toml",
    "04-data-engineering/README.md",
    "04-data-engineering/starter/answers.toml",
    "04-data-engineering/starter/strict.toml",
    "04-data-engineering/starter/loose.toml",
    "04-data-engineering/starter/population.toml",
    "04-data-engineering/starter/label.sql",
    "04-data-engineering/starter/leak.sql",
    "04-data-engineering/solution/answers.toml",
    "04-data-engineering/solution/label.sql",
    "04-data-engineering/solution/leak.sql",
    "05-privacy/lab.toml",
    "05-privacy/README.md",
    "05-privacy/starter/answers.toml",
    "05-privacy/starter/secrets/deid.key",
    "05-privacy/solution/answers.toml",
    "05-privacy/solution/audit/tampered.jsonl",
    "06-training/lab.toml",
    "06-training/README.md",
    "06-training/starter/answers.toml",
    "06-training/solution/answers.toml",
    "07-evaluation/lab.toml",
    "07-evaluation/README.md",
    "07-evaluation/starter/answers.toml",
    "07-evaluation/solution/answers.toml",
    "08-infrastructure/lab.toml",
    "08-infrastructure/README.md",
    "08-infrastructure/starter/answers.toml",
    "08-infrastructure/solution/answers.toml",
    "09-deployment/lab.toml",
    "09-deployment/README.md",
    "09-deployment/starter/answers.toml",
    "09-deployment/starter/incomplete.json",
    "09-deployment/starter/patient.json",
    "09-deployment/solution/answers.toml",
    "09-deployment/solution/audit.jsonl",
    "09-deployment/solution/audit.jsonl.head",
    "09-deployment/solution/incomplete.json",
    "09-deployment/solution/load-codes.txt",
    "09-deployment/solution/patient.json",
    "09-deployment/solution/predict-fhir.json",
    "09-deployment/solution/predict.json",
    "09-deployment/solution/predictions.jsonl",
    "09-deployment/solution/tokens.toml",
    "09-deployment/solution/ward.token",
    "09-deployment/solution/ops.token",
    "10-monitoring/lab.toml",
    "10-monitoring/README.md",
    "10-monitoring/starter/answers.toml",
    "10-monitoring/starter/maps/lab-codes.toml",
    "10-monitoring/starter/pipeline.toml",
    "10-monitoring/solution/answers.toml",
    "10-monitoring/solution/maps/lab-codes.toml",
    "11-clinical-workflow/lab.toml",
    "11-clinical-workflow/README.md",
    "11-clinical-workflow/starter/answers.toml",
    "11-clinical-workflow/solution/answers.toml",
    "11-clinical-workflow/solution/card.json",
    "11-clinical-workflow/solution/metrics.txt",
    "11-clinical-workflow/solution/infer-answer.json",
    "11-clinical-workflow/solution/audit.jsonl",
    "11-clinical-workflow/solution/audit.jsonl.head",
    "11-clinical-workflow/solution/tokens.toml",
    "11-clinical-workflow/solution/ward.token",
];

impl Catalog {
    /// The labs compiled into this binary.
    pub fn builtin() -> Result<Catalog> {
        let files: Vec<(String, String)> = EMBEDDED
            .iter()
            .map(|(p, t)| (p.to_string(), t.to_string()))
            .collect();
        Catalog::from_files("built-in labs", &files)
    }

    /// The labs in a folder laid out like `labs/` (each subfolder with a
    /// `lab.toml`), or the one lab in a folder that holds a `lab.toml` itself.
    pub fn from_dir(dir: &Path) -> Result<Catalog> {
        if !dir.is_dir() {
            return Err(Error::usage(format!(
                "the labs folder {} does not exist (--labs-dir or CARELAB_LABS)",
                dir.display()
            )));
        }
        if dir.join("lab.toml").is_file() {
            let lab = Catalog::lab_from_dir(dir)?;
            return Ok(Catalog { labs: vec![lab] });
        }
        // Only the folders that hold a lab.toml: a labs folder may sit
        // among other things (notes, a workspace), which are not read.
        let mut labs = Vec::new();
        for entry in fs::read_dir(dir).at(dir)? {
            let path = entry.at(dir)?.path();
            if path.join("lab.toml").is_file() {
                labs.push(Catalog::lab_from_dir(&path)?);
            }
        }
        labs.sort_by(|a, b| a.spec.slug.cmp(&b.spec.slug));
        Ok(Catalog { labs })
    }

    /// One lab from its own folder (`DIR/lab.toml`, README.md, starter/,
    /// solution/); the folder's name is the lab's slug.
    pub fn lab_from_dir(dir: &Path) -> Result<Lab> {
        let slug = dir
            .canonicalize()
            .at(dir)?
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let parent = dir.parent().unwrap_or(Path::new("."));
        let files = read_tree(dir, &format!("{slug}/"))?;
        let mut catalog = Catalog::from_files(&parent.display().to_string(), &files)?;
        catalog
            .labs
            .pop()
            .ok_or_else(|| Error::bad_input(dir.display(), None, "a lab.toml", "none"))
    }

    /// The built-in labs and the local ones in `dir` (see the module doc).
    /// A local lab that takes a built-in lab's number under another slug
    /// is an error: `lab start 5` must mean one lab.
    pub fn with_local(dir: Option<&Path>) -> Result<Catalog> {
        let mut catalog = Catalog::builtin()?;
        let Some(dir) = dir else {
            return Ok(catalog);
        };
        for lab in Catalog::from_dir(dir)?.labs {
            if let Some(same) = catalog
                .labs
                .iter_mut()
                .find(|l| l.spec.slug == lab.spec.slug)
            {
                *same = lab;
                continue;
            }
            if let Some(other) = catalog
                .labs
                .iter()
                .find(|l| l.spec.number() == lab.spec.number())
            {
                let free = catalog.next_free_number();
                return Err(Error::bad_input(
                    format!("{}: {}/lab.toml", dir.display(), lab.spec.slug),
                    Some("key id".to_string()),
                    format!("a number no other lab uses ({free:02} is free)"),
                    format!("{}, which {} already uses", lab.spec.id, other.spec.slug),
                ));
            }
            catalog.labs.push(lab);
        }
        catalog.labs.sort_by_key(|l| l.spec.number());
        Ok(catalog)
    }

    /// The first number after every lab's: what `lab new` gives a new lab.
    pub fn next_free_number(&self) -> u32 {
        self.labs
            .iter()
            .map(|l| l.spec.number() + 1)
            .max()
            .unwrap_or(0)
    }

    fn from_files(origin: &str, files: &[(String, String)]) -> Result<Catalog> {
        let mut slugs: Vec<&str> = files
            .iter()
            .filter_map(|(p, _)| p.strip_suffix("/lab.toml"))
            .collect();
        slugs.sort_unstable();
        let mut labs = Vec::new();
        for slug in slugs {
            let file = |name: &str| {
                let key = format!("{slug}/{name}");
                files
                    .iter()
                    .find(|(p, _)| *p == key)
                    .map(|(_, t)| t.clone())
                    .ok_or_else(|| {
                        Error::bad_input(
                            origin,
                            Some(slug.to_string()),
                            format!("a {name}"),
                            "none",
                        )
                    })
            };
            let spec = LabSpec::parse(&format!("{origin}: {slug}/lab.toml"), &file("lab.toml")?)?;
            if spec.slug != slug {
                return Err(Error::bad_input(
                    format!("{origin}: {slug}/lab.toml"),
                    Some("key slug".to_string()),
                    format!("the folder name {slug}"),
                    spec.slug,
                ));
            }
            let under = |sub: &str| -> Vec<(String, String)> {
                let prefix = format!("{slug}/{sub}/");
                let mut v: Vec<(String, String)> = files
                    .iter()
                    .filter_map(|(p, t)| {
                        p.strip_prefix(&prefix).map(|r| (r.to_string(), t.clone()))
                    })
                    .collect();
                v.sort();
                v
            };
            labs.push(Lab {
                readme: file("README.md")?,
                starter: under("starter"),
                solution: under("solution"),
                spec,
            });
        }
        Ok(Catalog { labs })
    }

    /// Find a lab by number ("1", "01"), slug ("01-data") or name ("data").
    pub fn find(&self, key: &str) -> Result<&Lab> {
        let key = key.trim();
        let number: Option<u32> = key.parse().ok();
        self.labs
            .iter()
            .find(|l| {
                Some(l.spec.number()) == number
                    || l.spec.slug == key
                    || l.spec.slug.split_once('-').map(|(_, n)| n) == Some(key)
            })
            .ok_or_else(|| {
                let known: Vec<&str> = self.labs.iter().map(|l| l.spec.slug.as_str()).collect();
                Error::usage(format!(
                    "no lab '{key}'; the labs are: {}",
                    known.join(", ")
                ))
            })
    }
}

/// Every file under `dir`, keyed by `prefix` and its path relative to `dir`.
fn read_tree(dir: &Path, prefix: &str) -> Result<Vec<(String, String)>> {
    let mut files = Vec::new();
    for rel in crate::artifact::list_files(dir)? {
        let key = rel.to_string_lossy().replace('\\', "/");
        let text = fs::read_to_string(dir.join(&rel)).at(dir.join(&rel))?;
        files.push((format!("{prefix}{key}"), text));
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `labs/` folder of the source tree the tests run in.
    fn source_dir() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("labs")
    }

    #[test]
    fn embedded_table_matches_the_labs_folder() {
        let on_disk: Vec<String> = crate::artifact::list_files(source_dir())
            .unwrap()
            .iter()
            .map(|p| p.to_string_lossy().replace('\\', "/"))
            .collect();
        let mut embedded: Vec<String> = EMBEDDED.iter().map(|(p, _)| p.to_string()).collect();
        embedded.sort();
        assert_eq!(embedded, on_disk, "update EMBEDDED in src/labs/catalog.rs");
    }

    #[test]
    fn builtin_labs_parse_and_are_found_by_number_slug_and_name() {
        let c = Catalog::builtin().unwrap();
        assert!(c.labs.len() >= 2);
        assert_eq!(c.find("1").unwrap().spec.slug, "01-data");
        assert_eq!(c.find("01-data").unwrap().spec.id, "01");
        assert_eq!(c.find("setup").unwrap().spec.id, "00");
        let e = c.find("99").unwrap_err().to_string();
        assert!(e.contains("00-setup"), "{e}");
        for lab in &c.labs {
            assert!(!lab.starter.is_empty() && !lab.solution.is_empty());
        }
    }
}
