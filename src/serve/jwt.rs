//! The trust CDS Hooks 2.0 asks of a service: every call carries a JWT the
//! EHR signed, and the service accepts it only from issuers it knows.
//!
//! The issuers file lists who may call, each with its JSON Web Key Set in a
//! file beside it (CareLab runs offline, so keys are never fetched):
//!
//! ```toml
//! [[issuer]]
//! iss = "https://ehr.example.org"   # the JWT's iss, exactly
//! name = "example-ehr"              # who, in the audit log
//! jwks = "ehr-jwks.json"            # {"keys": [...]}, relative to this file
//! ```
//!
//! A token is accepted only when: its `alg` is ES384 or RS384 (the spec's
//! two; `none` and HMAC are refused, so neither an unsigned token nor one
//! "signed" with a public key as an HMAC secret gets in); its `iss` is
//! listed; its signature verifies against that issuer's key (by `kid`, or
//! its only key of the right type); `aud` is this service's URL; `exp` has
//! not passed and lies at most five minutes (plus clock skew) ahead, which
//! bounds how long a `jti` must be remembered; and its `jti` was not seen
//! before (a replay is refused).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
use serde::Deserialize;
use serde_json::Value;

use crate::error::{toml_error, Error, IoContext, Result};

/// Allowed clock difference between the EHR and this service, in seconds.
pub const SKEW_SECS: i64 = 30;
/// The longest a token may live ahead of now, in seconds (the spec's five
/// minutes).
pub const MAX_LIFETIME_SECS: i64 = 300;

/// One public key of an issuer.
#[derive(Debug, Clone)]
enum Key {
    /// P-384: the uncompressed point 0x04 || x || y.
    Ec384(Vec<u8>),
    Rsa {
        n: Vec<u8>,
        e: Vec<u8>,
    },
}

#[derive(Debug, Clone)]
struct Jwk {
    kid: Option<String>,
    alg: Option<String>,
    key: Key,
}

#[derive(Debug, Clone)]
struct Issuer {
    iss: String,
    name: String,
    keys: Vec<Jwk>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IssuersFile {
    #[serde(default)]
    issuer: Vec<IssuerEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IssuerEntry {
    iss: String,
    name: Option<String>,
    jwks: String,
}

/// The issuers a service trusts, and the token ids already used.
#[derive(Debug)]
pub struct JwtTrust {
    issuers: Vec<Issuer>,
    /// (iss, jti) -> exp, forgotten once exp has passed.
    seen: Mutex<HashMap<(String, String), i64>>,
}

fn b64(field: &str, s: &str) -> std::result::Result<Vec<u8>, String> {
    URL_SAFE_NO_PAD
        .decode(s.trim_end_matches('='))
        .map_err(|_| format!("{field} is not base64url"))
}

fn parse_jwk(v: &Value) -> std::result::Result<Option<Jwk>, String> {
    let s = |k: &str| v.get(k).and_then(Value::as_str);
    let key = match (s("kty"), s("crv")) {
        (Some("EC"), Some("P-384")) => {
            let (x, y) = (
                b64("x", s("x").ok_or("an EC key without x")?)?,
                b64("y", s("y").ok_or("an EC key without y")?)?,
            );
            if x.len() != 48 || y.len() != 48 {
                return Err("a P-384 key's x and y must be 48 bytes each".into());
            }
            let mut point = vec![4u8];
            point.extend(x);
            point.extend(y);
            Key::Ec384(point)
        }
        (Some("RSA"), _) => Key::Rsa {
            n: b64("n", s("n").ok_or("an RSA key without n")?)?,
            e: b64("e", s("e").ok_or("an RSA key without e")?)?,
        },
        // Other key types (P-256, OKP, symmetric) are not the spec's; skip.
        _ => return Ok(None),
    };
    Ok(Some(Jwk {
        kid: s("kid").map(str::to_string),
        alg: s("alg").map(str::to_string),
        key,
    }))
}

/// The JWKS text's usable keys.
pub fn parse_jwks(source: &str, text: &str) -> Result<Vec<Value>> {
    let v: Value = serde_json::from_str(text).map_err(|e| {
        Error::bad_input(
            source,
            Some(format!("line {} column {}", e.line(), e.column())),
            "a JSON Web Key Set",
            "invalid JSON",
        )
    })?;
    match v.get("keys").and_then(Value::as_array) {
        Some(keys) => Ok(keys.clone()),
        None => Err(Error::bad_input(
            source,
            Some("keys".to_string()),
            "a JSON Web Key Set: {\"keys\": [...]}",
            "no keys array",
        )),
    }
}

impl JwtTrust {
    /// Read an issuers file and each issuer's JWKS file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<JwtTrust> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).at(path)?;
        let file: IssuersFile = toml::from_str(&text).map_err(|e| toml_error(path, &text, &e))?;
        let dir = path.parent().unwrap_or(Path::new("."));
        let mut issuers = Vec::new();
        for (i, entry) in file.issuer.into_iter().enumerate() {
            let jwks_path = dir.join(&entry.jwks);
            let jwks = std::fs::read_to_string(&jwks_path).at(&jwks_path)?;
            let source = jwks_path.display().to_string();
            let mut keys = Vec::new();
            for (k, key) in parse_jwks(&source, &jwks)?.iter().enumerate() {
                match parse_jwk(key) {
                    Ok(Some(j)) => keys.push(j),
                    Ok(None) => {}
                    Err(why) => {
                        return Err(Error::bad_input(
                            &source,
                            Some(format!("keys[{k}]")),
                            "an EC P-384 or RSA public key",
                            why,
                        ))
                    }
                }
            }
            if keys.is_empty() {
                return Err(Error::bad_input(
                    path.display(),
                    Some(format!("issuer[{i}] ({})", entry.iss)),
                    "a JWKS with at least one EC P-384 or RSA key",
                    format!("no usable key in {source}"),
                ));
            }
            issuers.push(Issuer {
                name: entry.name.unwrap_or_else(|| entry.iss.clone()),
                iss: entry.iss,
                keys,
            });
        }
        if issuers.is_empty() {
            return Err(Error::bad_input(
                path.display(),
                None,
                "at least one [[issuer]]",
                "none",
            ));
        }
        Ok(JwtTrust {
            issuers,
            seen: Mutex::new(HashMap::new()),
        })
    }

    /// Check `token` for a call to `audience` at `now` (seconds since the
    /// epoch); the issuer's name for the audit log, or why not.
    pub fn verify(
        &self,
        token: &str,
        audience: &str,
        now: i64,
    ) -> std::result::Result<String, String> {
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err("the bearer token is not a JWT (header.payload.signature)".into());
        };
        let header: Value = serde_json::from_slice(&b64("the JWT header", h)?)
            .map_err(|_| "the JWT header is not JSON")?;
        let payload: Value = serde_json::from_slice(&b64("the JWT payload", p)?)
            .map_err(|_| "the JWT payload is not JSON")?;
        let sig = b64("the JWT signature", s)?;
        let alg = header.get("alg").and_then(Value::as_str).unwrap_or("");
        if alg != "ES384" && alg != "RS384" {
            return Err(format!(
                "JWT alg {alg:?} refused: CDS Hooks requires ES384 or RS384"
            ));
        }
        let iss = payload
            .get("iss")
            .and_then(Value::as_str)
            .ok_or("the JWT has no iss")?;
        let issuer = self
            .issuers
            .iter()
            .find(|i| i.iss == iss)
            .ok_or("the JWT's iss is not an allowed issuer")?;
        let kid = header.get("kid").and_then(Value::as_str);
        let fits = |k: &&Jwk| {
            let kind = matches!(
                (&k.key, alg),
                (Key::Ec384(_), "ES384") | (Key::Rsa { .. }, "RS384")
            );
            kind && k.alg.as_deref().is_none_or(|a| a == alg)
        };
        let candidates: Vec<&Jwk> = issuer.keys.iter().filter(fits).collect();
        let key = match kid {
            Some(kid) => candidates
                .iter()
                .find(|k| k.kid.as_deref() == Some(kid))
                .ok_or("no key of the issuer has the JWT's kid and alg")?,
            None => match candidates.as_slice() {
                [only] => only,
                _ => return Err("the JWT has no kid and the issuer has several keys".into()),
            },
        };
        let signed = &token.as_bytes()[..h.len() + 1 + p.len()];
        let ok = match &key.key {
            Key::Ec384(point) => UnparsedPublicKey::new(&signature::ECDSA_P384_SHA384_FIXED, point)
                .verify(signed, &sig)
                .is_ok(),
            Key::Rsa { n, e } => RsaPublicKeyComponents { n, e }
                .verify(&signature::RSA_PKCS1_2048_8192_SHA384, signed, &sig)
                .is_ok(),
        };
        if !ok {
            return Err("the JWT's signature does not verify with the issuer's key".into());
        }
        let aud_ok = match payload.get("aud") {
            Some(Value::String(a)) => a == audience,
            Some(Value::Array(a)) => a.iter().any(|x| x.as_str() == Some(audience)),
            _ => false,
        };
        if !aud_ok {
            return Err(format!(
                "the JWT's aud is not this service's URL, {audience}"
            ));
        }
        let exp = payload
            .get("exp")
            .and_then(Value::as_i64)
            .ok_or("the JWT has no exp (seconds since the epoch)")?;
        if exp + SKEW_SECS < now {
            return Err("the JWT has expired".into());
        }
        if exp > now + MAX_LIFETIME_SECS + SKEW_SECS {
            return Err(format!(
                "the JWT's exp lies more than {MAX_LIFETIME_SECS} s ahead"
            ));
        }
        let jti = payload
            .get("jti")
            .and_then(Value::as_str)
            .filter(|j| !j.is_empty())
            .ok_or("the JWT has no jti")?;
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        seen.retain(|_, e| *e + SKEW_SECS >= now);
        if seen
            .insert((iss.to_string(), jti.to_string()), exp)
            .is_some()
        {
            return Err("the JWT's jti was used before: a replay is refused".into());
        }
        Ok(issuer.name.clone())
    }
}

/// The key id the helpers below give a key pair they make.
pub const EHR_KID: &str = "carelab-ehr-1";

/// A play EHR's signing key for the labs and tests: a P-384 key pair as
/// PKCS#8 DER (keep it private), its public JWKS (give it to the service),
/// and an issuers file naming `iss` with that JWKS as `jwks_file`.
pub fn ehr_keygen(iss: &str, jwks_file: &str) -> Result<(Vec<u8>, Value, String)> {
    use ring::signature::{EcdsaKeyPair, ECDSA_P384_SHA384_FIXED_SIGNING};
    let rng = ring::rand::SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, &rng)
        .map_err(|_| Error::failure("could not make a P-384 key pair"))?;
    let pkcs8 = pkcs8.as_ref().to_vec();
    let jwks = ehr_jwks(&pkcs8)?;
    let issuers = format!(
        "[[issuer]]\niss = {}\nname = \"play-ehr\"\njwks = {}\n",
        toml_string(iss),
        toml_string(jwks_file)
    );
    Ok((pkcs8, jwks, issuers))
}

fn toml_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// `source` names the key in errors (its file).
fn ehr_pair(pkcs8: &[u8], source: &str) -> Result<ring::signature::EcdsaKeyPair> {
    use ring::signature::{EcdsaKeyPair, ECDSA_P384_SHA384_FIXED_SIGNING};
    let rng = ring::rand::SystemRandom::new();
    EcdsaKeyPair::from_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, pkcs8, &rng).map_err(|e| {
        Error::bad_input(
            source,
            None,
            "a P-384 private key as PKCS#8 DER (what --ehr-keygen writes)",
            e.to_string(),
        )
    })
}

/// The public JWKS of a P-384 key pair.
pub fn ehr_jwks(pkcs8: &[u8]) -> Result<Value> {
    use ring::signature::KeyPair;
    let pair = ehr_pair(pkcs8, "the new EHR key")?;
    let point = pair.public_key().as_ref();
    Ok(serde_json::json!({"keys": [{
        "kty": "EC", "crv": "P-384", "kid": EHR_KID, "use": "sig", "alg": "ES384",
        "x": URL_SAFE_NO_PAD.encode(&point[1..49]),
        "y": URL_SAFE_NO_PAD.encode(&point[49..97]),
    }]}))
}

/// An ES384 JWT as an EHR sends it with a CDS Hooks call to `aud`: five
/// minutes to live and a fresh `jti`; `source` names the key in errors.
pub fn sign_ehr_jwt(pkcs8: &[u8], source: &str, iss: &str, aud: &str, now: i64) -> Result<String> {
    let pair = ehr_pair(pkcs8, source)?;
    let header = serde_json::json!({"alg": "ES384", "typ": "JWT", "kid": EHR_KID});
    let claims = serde_json::json!({
        "iss": iss, "sub": "carelab-play-ehr", "aud": aud,
        "exp": now + MAX_LIFETIME_SECS, "iat": now, "jti": super::cds::new_uuid(),
    });
    let msg = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let sig = pair
        .sign(&ring::rand::SystemRandom::new(), msg.as_bytes())
        .map_err(|_| Error::failure("signing the JWT failed"))?;
    Ok(format!("{msg}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::rand::SystemRandom;
    use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P384_SHA384_FIXED_SIGNING};
    use serde_json::json;

    const AUD: &str = "https://cds.example.org/cds-services/readmission-30d";

    /// A 2048-bit RSA key made for this test only (PKCS#1 RSAPrivateKey DER, base64):
    /// ring verifies RSA but does not make RSA keys.
    const RSA_TEST_KEY: &str = concat!(
        "MIIEpAIBAAKCAQEAxKrhriCuXYOpLsw+6KMFelHVaB6VukxpHpZ9HxLt+ffKhpkjPdqm7jghIXVa",
        "sAJp7bXtzEkFbnb6pVcndFcauN0t4iAmi4ZRK0UZceTcKhfb2OGLdDvU33vClM66eGN3tDQj215l",
        "BB8zyaLntF+Jis+ovPqIgF+ovpkXj4I+EUaRvRy7osfxZZbpt960okJCOYP553oit/ic/SnzcuR4",
        "xTpRkudlrNc+Wj2XFJK/RV+XADlJO7hh0vglSFbaCbN4CJtLqJncomFQfuGUxfWNl88Hj6bNl1QY",
        "VtcoEsOKxHLEgLPbQYPTyjITm7InxjZ6nwU73UN5/I39Obd2I9XWLQIDAQABAoIBAA1CxHLcS0WM",
        "8iRwqzE+hMkJqY0autfT/SaN2SP2P8uiFKrcuo6aJrVbXYiHBDVoBEJ+COnEZrRbG214ofVrRib+",
        "6vAbYN35kZGMWDngx6Oi9jT6iE+vFRx4mNc11Ub21gR1m5FYHRGZFQHclSkJZBnTBLqxXfDiAlvP",
        "sNIBYzQA4s3/0+k1OObeJ/qF2WwbqwZb6ukTthdaMmIG2Y1mMFcPkaUNOpvI+0vEbHjlgBFGZJb+",
        "B/ZoIsbjO0pDQ3Q+K1gHlletaqDSU1/j01+Dwz+agEcRokZSa8y5GHlUmu5XAWzTpnaraOYeC6L0",
        "WcLVkzF/MuSSBJG8Z6aOeGWjEFUCgYEA8UU/pnvck+4sLmEVg5/89N8nhFH4Aqkhrl9W1ymxA1O5",
        "uMvKXHiFHxgDg/hL0j1Ki8ukAziiZ46wmjHSrPAwklYzLd+hNbczmc9ZG2Dr7kioaHMvOmX4U24D",
        "UdQXmI81jCNE0lj7CPjtDg9Qi7thh6CcdsBu26vRjjdXkljn1sMCgYEA0KyLdk0lhapzi9qIT6g9",
        "W5pDW/qBTe+n2Ve2v5SzceUjoi9IKCOaLzRW6SY+LijnHJ7aCn2p3dInUrEalUoUcg3E1+d1Ek9n",
        "K6MfxsWLOqkiHBg+QrpxQTjz+kDtKXpa8+ZDkblxeIYirrV0oKqHqrDfvTB5e9w8rAN34E+CME8C",
        "gYEAuCCQDd8THHY0k4SV5ajQZJR1VP81Vdp7kNbDsFrp808POp+UJPP5LByoeiuguab64CseVTMA",
        "hiWYU2TYkhCQEO3mCwlSv2q735MlPsa951Dd7TCSh2/QjuMzd1x0UYJhbDxyRlGP624Fg6heYPU0",
        "3kvNfLcpI05CE9XaaB6fd/8CgYEAsjmMa5/8Wit4wIwHPDGvJhudSGOuKIh1zXXTCdHRaYeRZaYI",
        "dO/jckm7qSoWlYotyg4KoEcv29rv5vqIf9VjnP4Rj22KWfcjYOvT6gsynQlzrpcuJgPjUxd3mdf2",
        "NyTfpcyXDVFbjtrRqHImiErd0HV8wrMyLw2tbCUSL6z4vpUCgYBWYJOIuzEMFkdwJrhkZywZ8lew",
        "HwQPz7iL23FtGVStW9Sy/ERHJjpKV9XpQ5Vnz15ZalPJyJnxC374bqSBykBniEoIzSWqLs9X3IBp",
        "6uZsNO8RYJsmd3YdwQ7c43zijHxtPT+bVmxXfwg3RWFKtW7Zs9jUVXj10ttg0ykPpBuigw==",
    );

    fn key() -> EcdsaKeyPair {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, &rng).unwrap();
        EcdsaKeyPair::from_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, pkcs8.as_ref(), &rng).unwrap()
    }

    fn trust(k: &EcdsaKeyPair) -> JwtTrust {
        let point = k.public_key().as_ref();
        let jwk = json!({"kty": "EC", "crv": "P-384", "kid": "k1",
            "x": URL_SAFE_NO_PAD.encode(&point[1..49]), "y": URL_SAFE_NO_PAD.encode(&point[49..])});
        JwtTrust {
            issuers: vec![Issuer {
                iss: "https://ehr.example.org".into(),
                name: "ehr".into(),
                keys: vec![parse_jwk(&jwk).unwrap().unwrap()],
            }],
            seen: Mutex::new(HashMap::new()),
        }
    }

    fn sign(k: &EcdsaKeyPair, header: Value, payload: Value) -> String {
        let h = URL_SAFE_NO_PAD.encode(header.to_string());
        let p = URL_SAFE_NO_PAD.encode(payload.to_string());
        let msg = format!("{h}.{p}");
        let sig = k.sign(&SystemRandom::new(), msg.as_bytes()).unwrap();
        format!("{msg}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref()))
    }

    fn claims(jti: &str, exp: i64) -> Value {
        json!({"iss": "https://ehr.example.org", "aud": AUD, "exp": exp, "iat": exp - 300, "jti": jti})
    }

    #[test]
    fn the_play_ehrs_tokens_pass_its_own_issuers_file() {
        let dir = tempfile::tempdir().unwrap();
        let (pkcs8, jwks, issuers) =
            ehr_keygen("https://ehr.example.org", "ehr-jwks.json").unwrap();
        std::fs::write(dir.path().join("ehr-jwks.json"), jwks.to_string()).unwrap();
        std::fs::write(dir.path().join("cds-issuers.toml"), issuers).unwrap();
        let t = JwtTrust::from_file(dir.path().join("cds-issuers.toml")).unwrap();
        let now = 1_000_000;
        let a = sign_ehr_jwt(&pkcs8, "k", "https://ehr.example.org", AUD, now).unwrap();
        let b = sign_ehr_jwt(&pkcs8, "k", "https://ehr.example.org", AUD, now).unwrap();
        assert_eq!(t.verify(&a, AUD, now), Ok("play-ehr".into()));
        assert_eq!(
            t.verify(&b, AUD, now),
            Ok("play-ehr".into()),
            "each JWT has its own jti"
        );
        assert!(t.verify(&a, AUD, now).is_err());
    }

    #[test]
    fn a_good_token_passes_once() {
        let k = key();
        let t = trust(&k);
        let now = 1_000_000;
        let tok = sign(
            &k,
            json!({"alg": "ES384", "typ": "JWT", "kid": "k1"}),
            claims("a", now + 200),
        );
        assert_eq!(t.verify(&tok, AUD, now), Ok("ehr".into()));
        let replay = t.verify(&tok, AUD, now + 1).unwrap_err();
        assert!(replay.contains("replay"), "{replay}");
    }

    #[test]
    fn bad_tokens_are_refused_with_reasons() {
        let k = key();
        let t = trust(&k);
        let now = 1_000_000;
        let h = json!({"alg": "ES384", "kid": "k1"});
        let refuse = |tok: String, aud: &str, want: &str| {
            let why = t.verify(&tok, aud, now).unwrap_err();
            assert!(why.contains(want), "{why} should say {want}");
        };
        refuse(
            sign(&k, h.clone(), claims("b", now + 200)),
            "https://other/",
            "aud",
        );
        refuse(sign(&k, h.clone(), claims("c", now - 100)), AUD, "expired");
        refuse(sign(&k, h.clone(), claims("d", now + 3600)), AUD, "ahead");
        let mut wrong_iss = claims("e", now + 200);
        wrong_iss["iss"] = json!("https://evil.example");
        refuse(sign(&k, h.clone(), wrong_iss), AUD, "allowed issuer");
        let other = key();
        refuse(
            sign(&other, h.clone(), claims("f", now + 200)),
            AUD,
            "signature",
        );
        let mut no_jti = claims("g", now + 200);
        no_jti.as_object_mut().unwrap().remove("jti");
        refuse(sign(&k, h.clone(), no_jti), AUD, "jti");
        // alg none: no signature at all.
        let p = URL_SAFE_NO_PAD.encode(claims("h", now + 200).to_string());
        let none = format!("{}.{p}.", URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#));
        refuse(none, AUD, "\"none\" refused");
        // HS384, keyed with the public key: the classic confusion attack.
        let hs = format!(
            "{}.{p}.c2ln",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"HS384","kid":"k1"}"#)
        );
        refuse(hs, AUD, "\"HS384\" refused");
        refuse("not-a-jwt".into(), AUD, "not a JWT");
    }

    #[test]
    fn rs384_tokens_verify_against_an_rsa_jwk() {
        use base64::engine::general_purpose::STANDARD;
        use ring::signature::RsaKeyPair;
        let der = STANDARD.decode(RSA_TEST_KEY).unwrap();
        let pair = RsaKeyPair::from_der(&der).unwrap();
        let public: RsaPublicKeyComponents<Vec<u8>> = pair.public().into();
        let jwk = json!({"kty": "RSA", "kid": "r1", "alg": "RS384",
            "n": URL_SAFE_NO_PAD.encode(&public.n),
            "e": URL_SAFE_NO_PAD.encode(&public.e)});
        let t = JwtTrust {
            issuers: vec![Issuer {
                iss: "https://ehr.example.org".into(),
                name: "ehr".into(),
                keys: vec![parse_jwk(&jwk).unwrap().unwrap()],
            }],
            seen: Mutex::new(HashMap::new()),
        };
        let now = 1_000_000;
        let sign = |header: Value| {
            let msg = format!(
                "{}.{}",
                URL_SAFE_NO_PAD.encode(header.to_string()),
                URL_SAFE_NO_PAD.encode(claims("r", now + 60).to_string())
            );
            let mut sig = vec![0; pair.public().modulus_len()];
            pair.sign(
                &signature::RSA_PKCS1_SHA384,
                &SystemRandom::new(),
                msg.as_bytes(),
                &mut sig,
            )
            .unwrap();
            format!("{msg}.{}", URL_SAFE_NO_PAD.encode(sig))
        };
        // An RSA key does not serve an ES384 token, whatever it claims.
        let es = t
            .verify(&sign(json!({"alg": "ES384", "kid": "r1"})), AUD, now)
            .unwrap_err();
        assert!(es.contains("kid and alg"), "{es}");
        assert_eq!(
            t.verify(&sign(json!({"alg": "RS384", "kid": "r1"})), AUD, now),
            Ok("ehr".into())
        );
    }
}
