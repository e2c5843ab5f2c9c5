//! Bearer tokens with roles, stored only as SHA-256 hashes.
//!
//! The tokens file lists who may call the service:
//!
//! ```toml
//! [[token]]
//! name = "ward-dashboard"      # who, in the audit log
//! sha256 = "9f86d0...0f00a08"  # SHA-256 hex of the secret token
//! roles = ["predict"]          # predict, admin
//! ```
//!
//! A stolen tokens file does not give the tokens away. The presented token is
//! hashed and compared with every stored hash in constant time, so neither
//! the comparison nor the position of the match leaks through timing.

use std::path::Path;

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::error::{toml_error, Error, IoContext, Result};

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Score patients.
    Predict,
    /// Reload the model and other operator actions.
    Admin,
}

/// One caller.
#[derive(Debug, Clone)]
pub struct Token {
    pub name: String,
    hash: [u8; 32],
    pub roles: Vec<Role>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokensFile {
    #[serde(default)]
    token: Vec<TokenEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenEntry {
    name: String,
    sha256: String,
    roles: Vec<Role>,
}

/// All callers the service knows.
#[derive(Debug, Clone, Default)]
pub struct Tokens {
    tokens: Vec<Token>,
}

/// SHA-256 hex of a token, the form the tokens file stores.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.trim().as_bytes()))
}

/// Compare two equal-length byte strings without an early exit.
fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    let mut diff = 0u8;
    for (x, y) in a.iter().zip(b.iter()) {
        diff |= x ^ y;
    }
    std::hint::black_box(diff) == 0
}

impl Tokens {
    /// Read and check a tokens file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Tokens> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).at(path)?;
        Self::from_toml(path, &text)
    }

    /// Parse tokens-file text; `path` names it in errors.
    pub fn from_toml(path: impl AsRef<Path>, text: &str) -> Result<Tokens> {
        let path = path.as_ref();
        let file: TokensFile = toml::from_str(text).map_err(|e| toml_error(path, text, &e))?;
        let mut tokens = Vec::new();
        for (i, entry) in file.token.into_iter().enumerate() {
            let at = || Some(format!("token {} ({})", i + 1, entry.name));
            let bytes = hex::decode(entry.sha256.trim())
                .ok()
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
                .ok_or_else(|| {
                    Error::bad_input(
                        path.display(),
                        at(),
                        "sha256 = 64 hex digits (carelab serve --hash-token)",
                        format!("{} characters", entry.sha256.len()),
                    )
                })?;
            if entry.roles.is_empty() {
                return Err(Error::bad_input(
                    path.display(),
                    at(),
                    "at least one role",
                    "none",
                ));
            }
            tokens.push(Token {
                name: entry.name,
                hash: bytes,
                roles: entry.roles,
            });
        }
        if tokens.is_empty() {
            return Err(Error::bad_input(
                path.display(),
                None,
                "at least one [[token]] entry",
                "none",
            ));
        }
        Ok(Tokens { tokens })
    }

    /// The caller a presented token belongs to, if any.
    pub fn authenticate(&self, presented: &str) -> Option<&Token> {
        let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        let mut found = None;
        // Look at every entry, match or not, so timing does not say which.
        for t in &self.tokens {
            if constant_time_eq(&t.hash, &digest) && found.is_none() {
                found = Some(t);
            }
        }
        found
    }
}

impl Token {
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_match_by_hash_and_carry_roles() {
        let text = format!(
            "[[token]]\nname = \"app\"\nsha256 = \"{}\"\nroles = [\"predict\"]\n\n[[token]]\nname = \"ops\"\nsha256 = \"{}\"\nroles = [\"admin\", \"predict\"]\n",
            hash_token("s3cret-app"),
            hash_token("s3cret-ops")
        );
        let tokens = Tokens::from_toml("tokens.toml", &text).unwrap();
        let app = tokens.authenticate("s3cret-app").unwrap();
        assert_eq!(app.name, "app");
        assert!(app.has(Role::Predict) && !app.has(Role::Admin));
        assert!(tokens.authenticate("s3cret-ops").unwrap().has(Role::Admin));
        assert!(tokens.authenticate("wrong").is_none());
        assert!(tokens.authenticate("").is_none());
    }

    #[test]
    fn known_hash_and_bad_files() {
        // sha256("test"), as `printf test | sha256sum` prints it
        assert_eq!(
            hash_token("test"),
            "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
        );
        let err = Tokens::from_toml(
            "t.toml",
            "[[token]]\nname=\"a\"\nsha256=\"abc\"\nroles=[\"predict\"]\n",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("token 1 (a)") && err.contains("64 hex"),
            "{err}"
        );
        let err = Tokens::from_toml(
            "t.toml",
            "[[token]]\nname=\"a\"\nsha256=\"abc\"\nroles=[\"root\"]\n",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("t.toml") && err.contains("line"), "{err}");
    }
}
