//! HTTPS: `carelab serve --tls-cert --tls-key` serves the same API over
//! rustls. One request through a TLS client that trusts only the committed
//! test certificate (tests/data/tls, made by make-cert.sh).

use crate::serve_support;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use carelab::serve::tls::server_config;
use serde_json::{json, Value};
use serve_support::{start_with, PREDICT};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::rustls::crypto::ring::default_provider;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};
use tokio_rustls::TlsConnector;

fn tls_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tls")
}

fn linear_model(dir: &Path) -> String {
    let path = dir.join("model.json");
    let model = json!({
        "name": "readmit", "version": "7", "intercept": -1.0,
        "weights": {"age": 0.02}, "means": {"age": 70.0}
    });
    std::fs::write(&path, model.to_string()).unwrap();
    path.display().to_string()
}

fn client() -> TlsConnector {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(tls_dir().join("cert.pem")).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let config = ClientConfig::builder_with_provider(Arc::new(default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    TlsConnector::from(Arc::new(config))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_prediction_over_https() {
    let work = tempfile::tempdir().unwrap();
    let tls = server_config(&tls_dir().join("cert.pem"), &tls_dir().join("key.pem")).unwrap();
    let server = start_with(&linear_model(work.path()), Some(tls)).await;

    let tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    let mut tls = client().connect(name, tcp).await.unwrap();
    let body = carelab::serve::input::example_request().to_string();
    let request = format!(
        "POST /v1/predict HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {PREDICT}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    tls.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    // rustls reports a peer that closes without close_notify; the answer is complete anyway.
    let _ = tls.read_to_end(&mut raw).await;
    let text = String::from_utf8_lossy(&raw);
    let (head, answer) = text.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let answer: Value = serde_json::from_str(answer).unwrap();
    let expected = 1.0 / (1.0 + f64::exp(-(-1.0 + 0.02 * (74.0 - 70.0))));
    assert!(
        (answer["risk"].as_f64().unwrap() - expected).abs() < 1e-12,
        "{answer}"
    );
    assert_eq!(answer["version"], json!("7"));

    // Plain HTTP to the HTTPS port gets no HTTP answer.
    let mut plain = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    plain
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut back = Vec::new();
    let _ = plain.read_to_end(&mut back).await;
    assert!(!String::from_utf8_lossy(&back).contains("HTTP/1.1 200"));

    server.stop().await;
}

#[test]
fn bad_certificate_files_are_named() {
    let work = tempfile::tempdir().unwrap();
    let empty = work.path().join("empty.pem");
    std::fs::write(&empty, "not a pem file\n").unwrap();
    let key = tls_dir().join("key.pem");
    let err = server_config(&empty, &key).unwrap_err().to_string();
    assert!(
        err.contains("empty.pem") && err.contains("certificate"),
        "{err}"
    );
    let cert = tls_dir().join("cert.pem");
    let err = server_config(&cert, &empty).unwrap_err().to_string();
    assert!(
        err.contains("empty.pem") && err.contains("private key"),
        "{err}"
    );
    let err = server_config(&cert, &work.path().join("missing.pem"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("missing.pem"), "{err}");
    // A key file given as the certificate holds no certificate.
    let err = server_config(&key, &key).unwrap_err().to_string();
    assert!(err.contains("no certificate"), "{err}");
    // The key must be the certificate's own.
    let err = server_config(&cert, &tls_dir().join("other-key.pem"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("other-key.pem"), "{err}");
}
