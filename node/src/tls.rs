//! TLS from one certificate: the Redis port (clients), forwarding between members' Redis ports,
//! and mutual TLS on the cluster port. The files are re-read when they change.
//!
//! ```text
//!  --tls-cert-file, --tls-key-file, [--tls-ca-file]   (a kubernetes.io/tls Secret, mounted)
//!        │ read at start, then every RELOAD_INTERVAL: new content → new certificate
//!        ▼
//!  Tls ── acceptor: the Redis port (every new handshake gets the current certificate)
//!      ├─ forward: to other members' Redis ports, verified against the CA (or, without one,
//!      │           the member's own chain: a self-signed certificate trusts itself)
//!      └─ ClusterTls: the cluster port, both ways presenting the certificate and requiring
//!                     the peer's to be signed by the same roots
//! ```
//!
//! Connections already open keep the certificate they were made with, as with every TLS server.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Weak};
use std::time::Duration;

use parking_lot::RwLock;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tokio::net::TcpStream;
use tokio_rustls::{TlsAcceptor, TlsConnector};

/// How often the certificate files are read for changes.
pub const RELOAD_INTERVAL: Duration = Duration::from_secs(2);
/// Time a client has to finish the TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Where the certificate, its key and the optional CA are read from.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
    /// Verifies other members when forwarding; a missing file means "no CA" (a Secret written
    /// by cert-manager has `ca.crt` only for some issuers).
    pub ca: Option<PathBuf>,
}

/// Why the TLS material could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} holds no PEM certificate (expected -----BEGIN CERTIFICATE-----)")]
    NoCertificate { path: PathBuf },
    #[error("{path} holds no PEM private key (PKCS#8, PKCS#1 or SEC1)")]
    NoKey { path: PathBuf },
    #[error("the key in {path} is not usable: {detail}")]
    BadKey { path: PathBuf, detail: String },
    #[error("{path}: {detail}")]
    BadCa { path: PathBuf, detail: String },
}

/// One loaded set: what this member presents and whom it trusts.
struct Material {
    /// The file contents it was built from, to notice changes.
    source: Vec<u8>,
    key: Arc<CertifiedKey>,
    roots: Arc<rustls::RootCertStore>,
    /// Where the trusted certificates came from (for errors).
    roots_from: PathBuf,
}

/// The configurations built from one [`Material`] (rebuilt when it changes).
struct Configs {
    /// Forwarding to other members' Redis ports: verifies them, presents nothing.
    forward: TlsConnector,
    /// The cluster port, accepting: requires a certificate the roots signed.
    cluster_server: Arc<rustls::ServerConfig>,
    /// The cluster port, dialling: verifies the peer and presents this member's certificate.
    cluster_client: Arc<rustls::ClientConfig>,
}

/// The server certificate of the moment (a resolver rustls asks on every handshake).
#[derive(Debug)]
struct Current(RwLock<Arc<CertifiedKey>>);

impl ResolvesServerCert for Current {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.read().clone())
    }
}

impl rustls::client::ResolvesClientCert for Current {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        _sigschemes: &[rustls::SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        Some(self.0.read().clone())
    }

    fn has_certs(&self) -> bool {
        true
    }
}

/// TLS for the Redis port and for forwarding between members.
pub struct Tls {
    files: TlsFiles,
    current: Arc<Current>,
    acceptor: TlsAcceptor,
    configs: RwLock<Configs>,
    source: RwLock<Vec<u8>>,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Tls")
            .field("files", &self.files)
            .finish_non_exhaustive()
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// The three files' contents (the CA's when it exists).
struct Contents {
    cert: Vec<u8>,
    key: Vec<u8>,
    ca: Option<Vec<u8>>,
}

impl Contents {
    fn read(files: &TlsFiles) -> Result<Self, TlsError> {
        Ok(Contents {
            cert: read(&files.cert)?,
            key: read(&files.key)?,
            ca: match &files.ca {
                Some(path) if path.exists() => Some(read(path)?),
                _ => None,
            },
        })
    }

    /// All of it in one buffer, to notice a change before parsing anything.
    fn joined(&self) -> Vec<u8> {
        let mut joined = self.cert.clone();
        joined.extend_from_slice(&self.key);
        joined.extend_from_slice(self.ca.as_deref().unwrap_or_default());
        joined
    }
}

fn load(files: &TlsFiles) -> Result<Material, TlsError> {
    build(files, Contents::read(files)?)
}

fn build(files: &TlsFiles, contents: Contents) -> Result<Material, TlsError> {
    let source = contents.joined();
    let Contents {
        cert: cert_pem,
        key: key_pem,
        ca: ca_pem,
    } = contents;
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert_pem)
        .filter_map(Result::ok)
        .collect();
    if chain.is_empty() {
        return Err(TlsError::NoCertificate {
            path: files.cert.clone(),
        });
    }
    let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|_| TlsError::NoKey {
        path: files.key.clone(),
    })?;
    let signing = provider()
        .key_provider
        .load_private_key(key)
        .map_err(|error| TlsError::BadKey {
            path: files.key.clone(),
            detail: error.to_string(),
        })?;
    let certified = CertifiedKey::new(chain.clone(), signing);
    certified.keys_match().map_err(|error| TlsError::BadKey {
        path: files.key.clone(),
        detail: format!(
            "it does not belong to the certificate in {}: {error}",
            files.cert.display()
        ),
    })?;

    // Members trust the CA, or else their own chain (its last certificate: the issuer when the
    // chain includes it, the certificate itself when self-signed).
    let mut roots = rustls::RootCertStore::empty();
    let (trusted, from): (Vec<CertificateDer<'static>>, &Path) = match &ca_pem {
        Some(pem) => (
            CertificateDer::pem_slice_iter(pem)
                .filter_map(Result::ok)
                .collect(),
            files.ca.as_deref().unwrap_or(&files.cert),
        ),
        None => (chain.last().cloned().into_iter().collect(), &files.cert),
    };
    for certificate in trusted {
        roots.add(certificate).map_err(|error| TlsError::BadCa {
            path: from.to_path_buf(),
            detail: error.to_string(),
        })?;
    }
    if roots.is_empty() {
        return Err(TlsError::BadCa {
            path: from.to_path_buf(),
            detail: "no certificate to trust".to_owned(),
        });
    }
    Ok(Material {
        source,
        key: Arc::new(certified),
        roots: Arc::new(roots),
        roots_from: from.to_path_buf(),
    })
}

fn configs(material: &Material, current: &Arc<Current>) -> Result<Configs, TlsError> {
    let bad = |detail: String| TlsError::BadCa {
        path: material.roots_from.clone(),
        detail,
    };
    let forward = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|error| bad(error.to_string()))?
        .with_root_certificates(material.roots.clone())
        .with_no_client_auth();
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        material.roots.clone(),
        provider(),
    )
    .build()
    .map_err(|error| bad(error.to_string()))?;
    let cluster_server = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|error| bad(error.to_string()))?
        .with_client_cert_verifier(verifier)
        .with_cert_resolver(current.clone());
    let cluster_client = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|error| bad(error.to_string()))?
        .with_root_certificates(material.roots.clone())
        .with_client_cert_resolver(current.clone());
    Ok(Configs {
        forward: TlsConnector::from(Arc::new(forward)),
        cluster_server: Arc::new(cluster_server),
        cluster_client: Arc::new(cluster_client),
    })
}

impl Tls {
    /// Loads the files; errors say which file and what is wrong with it.
    pub fn load(files: TlsFiles) -> Result<Self, TlsError> {
        let material = load(&files)?;
        let current = Arc::new(Current(RwLock::new(material.key.clone())));
        let configs = configs(&material, &current)?;
        let server = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|error| TlsError::BadKey {
                path: files.key.clone(),
                detail: error.to_string(),
            })?
            .with_no_client_auth()
            .with_cert_resolver(current.clone());
        Ok(Tls {
            files,
            current,
            acceptor: TlsAcceptor::from(Arc::new(server)),
            configs: RwLock::new(configs),
            source: RwLock::new(material.source),
        })
    }

    /// Accepts a client's TLS handshake.
    pub async fn accept(
        &self,
        stream: TcpStream,
    ) -> std::io::Result<tokio_rustls::server::TlsStream<TcpStream>> {
        tokio::time::timeout(HANDSHAKE_TIMEOUT, self.acceptor.accept(stream))
            .await
            .map_err(|_| {
                std::io::Error::new(std::io::ErrorKind::TimedOut, "TLS handshake timed out")
            })?
    }

    /// Opens TLS to another member's Redis port at `address` (`host:port`), verifying its
    /// certificate for `host`.
    pub async fn connect(
        &self,
        address: &str,
        stream: TcpStream,
    ) -> std::io::Result<tokio_rustls::client::TlsStream<TcpStream>> {
        let name = ringcache_replication::tls_server_name(address)?;
        let connector = self.configs.read().forward.clone();
        connector.connect(name, stream).await
    }

    /// Reads the files again; installs them when they changed. `Ok(true)`: a new certificate.
    pub fn reload(&self) -> Result<bool, TlsError> {
        let contents = Contents::read(&self.files)?;
        if *self.source.read() == contents.joined() {
            return Ok(false);
        }
        let material = build(&self.files, contents)?;
        let configs = configs(&material, &self.current)?;
        *self.current.0.write() = material.key;
        *self.configs.write() = configs;
        *self.source.write() = material.source;
        Ok(true)
    }
}

/// The cluster port's mutual TLS: the same certificate, required of peers as well.
impl ringcache_replication::ClusterTls for Tls {
    fn server(&self) -> Arc<rustls::ServerConfig> {
        self.configs.read().cluster_server.clone()
    }

    fn client(&self) -> Arc<rustls::ClientConfig> {
        self.configs.read().cluster_client.clone()
    }
}

/// Re-reads the certificate files every [`RELOAD_INTERVAL`] until `tls` is gone. A broken new
/// set (a key that does not match while the Secret is half updated) keeps the current one and is
/// logged once per episode.
pub async fn watch(tls: Weak<Tls>) {
    let mut complained = false;
    loop {
        tokio::time::sleep(RELOAD_INTERVAL).await;
        let Some(tls) = tls.upgrade() else {
            return;
        };
        // File reads and key parsing block: off the async workers.
        let reloaded = {
            let tls = tls.clone();
            tokio::task::spawn_blocking(move || tls.reload()).await
        };
        let Ok(reloaded) = reloaded else {
            return;
        };
        match reloaded {
            Ok(true) => {
                complained = false;
                tracing::info!(cert = %tls.files.cert.display(), "TLS certificate changed: new connections get the new one");
            }
            Ok(false) => complained = false,
            Err(error) if !complained => {
                complained = true;
                tracing::warn!(%error, "cannot load the changed TLS files; keeping the current certificate");
            }
            Err(_) => {}
        }
    }
}
