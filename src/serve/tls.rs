//! HTTPS: `carelab serve --tls-cert PEM --tls-key PEM`.
//!
//! rustls with the `ring` provider (no system OpenSSL, no cmake), TLS 1.2
//! and 1.3, HTTP/1.1 by ALPN. `TlsListener` is an `axum::serve::Listener`
//! whose handshakes run in their own tasks: a client that connects and
//! never finishes its handshake holds only its own task (for at most
//! `HANDSHAKE_TIMEOUT`), never the accept loop, and the service behind it
//! is exactly the one plain HTTP serves.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::rustls::crypto::ring::default_provider;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

use crate::error::{Error, Result};

/// Longest a client may take to finish its TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Read a certificate chain and its private key (PEM) into a server config.
/// Errors name the file and what was wrong, never key material.
pub fn server_config(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .and_then(|it| it.collect::<std::result::Result<Vec<_>, _>>())
        .map_err(|e| {
            Error::bad_input(
                cert.display(),
                None,
                "a PEM file of certificates (-----BEGIN CERTIFICATE-----)",
                pem_problem(&e),
            )
        })?;
    if certs.is_empty() {
        return Err(Error::bad_input(
            cert.display(),
            None,
            "a PEM file of certificates (-----BEGIN CERTIFICATE-----)",
            "no certificate in it",
        ));
    }
    let private = PrivateKeyDer::from_pem_file(key).map_err(|e| {
        Error::bad_input(
            key.display(),
            None,
            "a PEM private key (PKCS#8, PKCS#1 or SEC1)",
            pem_problem(&e),
        )
    })?;
    let mut config = ServerConfig::builder_with_provider(Arc::new(default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::failure(format!("TLS setup: {e}")))?
        .with_no_client_auth()
        .with_single_cert(certs, private)
        .map_err(|e| {
            Error::bad_input(
                key.display(),
                None,
                format!("the private key of the certificate in {}", cert.display()),
                format!("a key rustls refuses ({e})"),
            )
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

fn pem_problem(e: &tokio_rustls::rustls::pki_types::pem::Error) -> String {
    use tokio_rustls::rustls::pki_types::pem::Error as E;
    match e {
        E::Io(io) => format!("a file that cannot be read ({})", io.kind()),
        E::NoItemsFound => "no PEM section of the right kind".into(),
        _ => "a malformed PEM section".into(),
    }
}

/// Accepts TCP connections and hands axum the ones whose TLS handshake
/// succeeded.
pub struct TlsListener {
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
    failed: Arc<AtomicU64>,
    accepting: tokio::task::JoinHandle<()>,
}

impl TlsListener {
    /// Start accepting on `tcp`; call inside a tokio runtime.
    pub fn new(tcp: TcpListener, config: Arc<ServerConfig>) -> Result<TlsListener> {
        let local = tcp
            .local_addr()
            .map_err(|e| Error::failure(format!("TLS listener: {e}")))?;
        let (tx, ready) = mpsc::channel(128);
        let acceptor = TlsAcceptor::from(config);
        let failed = Arc::new(AtomicU64::new(0));
        let fails = failed.clone();
        let accepting = tokio::spawn(async move {
            loop {
                let (stream, peer) = match tcp.accept().await {
                    Ok(x) => x,
                    // Out of file descriptors and the like: wait, then go on.
                    Err(_) => {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let (acceptor, tx, fails) = (acceptor.clone(), tx.clone(), fails.clone());
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => {
                            let _ = tx.send((tls, peer)).await;
                        }
                        _ => {
                            fails.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                });
            }
        });
        Ok(TlsListener {
            ready,
            local,
            failed,
            accepting,
        })
    }

    /// Handshakes that failed or timed out so far.
    pub fn failed_handshakes(&self) -> u64 {
        self.failed.load(Ordering::Relaxed)
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(conn) => conn,
            // The accept task is gone (only when the listener is dropped).
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}
