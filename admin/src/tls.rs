//! TLS to a member's admin port, in one of two modes.
//!
//! ```text
//!  Verified(config)   members: verify the certificate with the cluster's CA, then send the secret
//!  SecretBound        the operator (no CA: it never reads the TLS Secret): accept the certificate,
//!                     send bound_token(secret, exporter) and require the member's proof header,
//!                     HMAC(secret, exporter), on the answer: both ends prove the secret on this
//!                     very session, and an interceptor sees nothing it can reuse
//! ```

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

/// How an [`AdminClient`](crate::AdminClient) speaks TLS to the admin port.
#[derive(Clone)]
pub enum AdminTls {
    /// Verify the member's certificate with this configuration, then send the secret as is.
    Verified(Arc<rustls::ClientConfig>),
    /// Do not verify the certificate; authenticate both ends with the cluster secret bound to
    /// the TLS session instead. Without a credential on the client this checks nothing (what a
    /// kubelet's HTTPS probe does).
    SecretBound,
}

impl std::fmt::Debug for AdminTls {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(match self {
            AdminTls::Verified(_) => "AdminTls::Verified",
            AdminTls::SecretBound => "AdminTls::SecretBound",
        })
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Accepts any certificate, but still checks that the peer signed the handshake with the key of
/// the certificate it sent. Who the peer is gets established by the secret-bound exchange.
#[derive(Debug)]
struct SecretDecides(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for SecretDecides {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The client configuration of [`AdminTls::SecretBound`].
pub(crate) fn secret_bound_config() -> Arc<rustls::ClientConfig> {
    let provider = provider();
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(SecretDecides(provider)))
        .with_no_client_auth();
    Arc::new(config)
}

/// The TLS server name for `address` (`host:port`): the host, or a placeholder when the host is
/// not a valid name (the secret-bound mode does not check it).
pub(crate) fn server_name(address: &str) -> ServerName<'static> {
    let host = address
        .rsplit_once(':')
        .map_or(address, |(host, _)| host)
        .trim_start_matches('[')
        .trim_end_matches(']');
    ServerName::try_from(host.to_owned())
        .unwrap_or_else(|_| ServerName::try_from("ringcache-member").expect("a valid DNS name"))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use crate::{AdminClient, AdminTls};

    /// A TLS server that answers every request with 200 and `{}`, without the member's proof:
    /// what an interceptor without the secret would do.
    async fn impostor() -> String {
        let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
        let key =
            rustls::pki_types::PrivateKeyDer::try_from(certified.key_pair.serialize_der()).unwrap();
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![certified.cert.der().clone()], key)
        .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(mut stream) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let mut request = vec![0u8; 4096];
                    let _ = stream.read(&mut request).await;
                    let _ = stream
                        .write_all(
                            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                              content-length: 2\r\nconnection: close\r\n\r\n{}",
                        )
                        .await;
                    let _ = stream.shutdown().await;
                });
            }
        });
        address
    }

    #[tokio::test]
    async fn a_secret_bound_call_refuses_an_answer_without_the_members_proof() {
        let address = impostor().await;
        let client = AdminClient::new(address)
            .with_credential(Some("0123456789abcdef0123456789abcdef".to_owned()))
            .with_tls(Some(AdminTls::SecretBound));
        let error = client.leave().await.expect_err("no proof, no answer");
        assert!(error.to_string().contains("does not prove"), "{error}");
    }
}
