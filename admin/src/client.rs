//! [`AdminClient`]: a small HTTP/1.1 client for the admin API (one request per connection; the
//! calls are rare control-plane steps, so simplicity beats connection reuse).

use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::tls::AdminTls;
use crate::types::*;

/// Largest answer read (a status of 16384 partitions fits comfortably).
const MAX_RESPONSE: usize = 64 * 1024 * 1024;

/// Why an admin call failed.
#[derive(Debug, thiserror::Error)]
pub enum AdminClientError {
    #[error("cannot connect to the admin API at {address}: {source}")]
    Connect {
        address: String,
        source: std::io::Error,
    },
    #[error("{method} {path} on {address}: {source}")]
    Io {
        method: &'static str,
        path: String,
        address: String,
        source: std::io::Error,
    },
    #[error("{method} {path} on {address}: no answer within {timeout:?}")]
    Timeout {
        method: &'static str,
        path: String,
        address: String,
        timeout: Duration,
    },
    #[error("{method} {path} on {address}: HTTP {status}: {}", body.message)]
    Api {
        method: &'static str,
        path: String,
        address: String,
        status: u16,
        body: ErrorBody,
    },
    #[error("{method} {path} on {address}: unexpected answer: {detail}")]
    Malformed {
        method: &'static str,
        path: String,
        address: String,
        detail: String,
    },
}

impl AdminClientError {
    /// The error body of an API error, if the node answered one.
    pub fn api_error(&self) -> Option<&ErrorBody> {
        match self {
            AdminClientError::Api { body, .. } => Some(body),
            _ => None,
        }
    }

    /// The leader named by a `NotLeader` answer.
    pub fn leader(&self) -> Option<&Replica> {
        self.api_error()
            .filter(|body| body.kind == ErrorKind::NotLeader)
            .and_then(|body| body.leader.as_ref())
    }
}

/// A client of one member's admin API.
#[derive(Clone)]
pub struct AdminClient {
    address: String,
    timeout: Duration,
    /// The cluster secret, sent as `Authorization: Bearer …` (every route but the probes and
    /// `/metrics` needs it when the member has one).
    credential: Option<String>,
    /// TLS to the admin port, when the member serves it so.
    tls: Option<AdminTls>,
}

// The secret never appears in logs or error messages.
impl std::fmt::Debug for AdminClient {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("AdminClient")
            .field("address", &self.address)
            .field("timeout", &self.timeout)
            .field(
                "credential",
                &self.credential.as_ref().map(|_| "<redacted>"),
            )
            .field("tls", &self.tls)
            .finish()
    }
}

impl AdminClient {
    /// A client of the admin API at `address` (`host:port`). Calls time out after 60 s (membership
    /// changes wait for catch-up); see [`AdminClient::with_timeout`].
    pub fn new(address: impl Into<String>) -> Self {
        AdminClient {
            address: address.into(),
            timeout: Duration::from_secs(60),
            credential: None,
            tls: None,
        }
    }

    /// Speaks TLS to the admin port (`None`: plain HTTP).
    pub fn with_tls(mut self, tls: Option<AdminTls>) -> Self {
        self.tls = tls;
        self
    }

    /// Sends `credential` (the cluster secret) with every call; `None` sends none.
    pub fn with_credential(mut self, credential: Option<String>) -> Self {
        self.credential = credential;
        self
    }

    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    pub fn address(&self) -> &str {
        &self.address
    }

    /// `GET /v1/status`.
    pub async fn status(&self) -> Result<MemberStatus, AdminClientError> {
        self.call("GET", "/v1/status", None::<&()>).await
    }

    /// `GET /readyz`: `Ok(true)` when ready, `Ok(false)` when the member answers not ready.
    pub async fn ready(&self) -> Result<bool, AdminClientError> {
        let (status, _) = self.exchange("GET", "/readyz", None).await?;
        Ok(status == 200)
    }

    /// `GET path` as is: the status and the body (the kubelet's view of a probe or hook).
    pub async fn get(&self, path: &str) -> Result<(u16, Vec<u8>), AdminClientError> {
        self.exchange("GET", path, None).await
    }

    /// `GET /metrics`: the Prometheus text.
    pub async fn metrics(&self) -> Result<String, AdminClientError> {
        let (status, body) = self.exchange("GET", "/metrics", None).await?;
        if status == 200 {
            Ok(String::from_utf8_lossy(&body).into_owned())
        } else {
            Err(AdminClientError::Malformed {
                method: "GET",
                path: "/metrics".to_owned(),
                address: self.address.clone(),
                detail: format!("HTTP {status}"),
            })
        }
    }

    /// `POST /v1/cluster/form`.
    pub async fn form(&self, request: &FormRequest) -> Result<FormResponse, AdminClientError> {
        self.call("POST", "/v1/cluster/form", Some(request)).await
    }

    /// `POST /v1/cluster/join`: join without hosting anything, with seed peers to route through.
    pub async fn join(&self, request: &JoinRequest) -> Result<MemberStatus, AdminClientError> {
        self.call("POST", "/v1/cluster/join", Some(request)).await
    }

    /// `PUT /v1/partitions/{p}`.
    pub async fn host_partition(
        &self,
        partition: u32,
        request: &HostRequest,
    ) -> Result<PartitionStatus, AdminClientError> {
        self.call("PUT", &format!("/v1/partitions/{partition}"), Some(request))
            .await
    }

    /// `DELETE /v1/partitions/{p}`.
    pub async fn drop_partition(&self, partition: u32) -> Result<(), AdminClientError> {
        self.call_empty(
            "DELETE",
            &format!("/v1/partitions/{partition}"),
            None::<&()>,
        )
        .await
    }

    /// `POST /v1/partitions/{p}/bootstrap`.
    pub async fn bootstrap(
        &self,
        partition: u32,
        request: &BootstrapRequest,
    ) -> Result<(), AdminClientError> {
        let path = format!("/v1/partitions/{partition}/bootstrap");
        self.call_empty("POST", &path, Some(request)).await
    }

    /// `POST /v1/partitions/{p}/learners` (on the leader).
    pub async fn add_learner(
        &self,
        partition: u32,
        replica: &Replica,
    ) -> Result<(), AdminClientError> {
        let path = format!("/v1/partitions/{partition}/learners");
        let request = AddLearnerRequest {
            replica: replica.clone(),
        };
        self.call_empty("POST", &path, Some(&request)).await
    }

    /// `POST /v1/partitions/{p}/promote` (on the leader).
    pub async fn promote(&self, partition: u32, id: u64) -> Result<(), AdminClientError> {
        let path = format!("/v1/partitions/{partition}/promote");
        self.call_empty("POST", &path, Some(&PromoteRequest { id }))
            .await
    }

    /// `POST /v1/partitions/{p}/transfer-leadership` (on the leader).
    pub async fn transfer_leadership(
        &self,
        partition: u32,
        to: u64,
    ) -> Result<(), AdminClientError> {
        let path = format!("/v1/partitions/{partition}/transfer-leadership");
        self.call_empty("POST", &path, Some(&TransferLeadershipRequest { to }))
            .await
    }

    /// `DELETE /v1/partitions/{p}/replicas/{id}` (on the leader).
    pub async fn remove_replica(&self, partition: u32, id: u64) -> Result<(), AdminClientError> {
        let path = format!("/v1/partitions/{partition}/replicas/{id}");
        self.call_empty("DELETE", &path, None::<&()>).await
    }

    /// `POST /v1/leave`.
    pub async fn leave(&self) -> Result<LeaveResponse, AdminClientError> {
        self.call("POST", "/v1/leave", None::<&()>).await
    }

    async fn call_empty<B: Serialize>(
        &self,
        method: &'static str,
        path: &str,
        body: Option<&B>,
    ) -> Result<(), AdminClientError> {
        let _: serde_json::Value = self.call(method, path, body).await?;
        Ok(())
    }

    async fn call<B: Serialize, R: DeserializeOwned>(
        &self,
        method: &'static str,
        path: &str,
        body: Option<&B>,
    ) -> Result<R, AdminClientError> {
        let malformed = |detail: String| AdminClientError::Malformed {
            method,
            path: path.to_owned(),
            address: self.address.clone(),
            detail,
        };
        let body = body
            .map(serde_json::to_vec)
            .transpose()
            .map_err(|error| malformed(format!("cannot encode the request: {error}")))?;
        let (status, answer) = self.exchange(method, path, body.as_deref()).await?;
        if (200..300).contains(&status) {
            let answer = if answer.is_empty() {
                &b"null"[..]
            } else {
                &answer
            };
            serde_json::from_slice(answer).map_err(|error| malformed(error.to_string()))
        } else {
            let body: ErrorBody = serde_json::from_slice(&answer).map_err(|_| {
                malformed(format!(
                    "HTTP {status}: {}",
                    String::from_utf8_lossy(&answer)
                        .chars()
                        .take(200)
                        .collect::<String>()
                ))
            })?;
            Err(AdminClientError::Api {
                method,
                path: path.to_owned(),
                address: self.address.clone(),
                status,
                body,
            })
        }
    }

    /// Sends one request and returns the status code and the body.
    async fn exchange(
        &self,
        method: &'static str,
        path: &str,
        body: Option<&[u8]>,
    ) -> Result<(u16, Vec<u8>), AdminClientError> {
        let attempt = async {
            let tcp = TcpStream::connect(&self.address).await.map_err(|source| {
                AdminClientError::Connect {
                    address: self.address.clone(),
                    source,
                }
            })?;
            let io = |source| AdminClientError::Io {
                method,
                path: path.to_owned(),
                address: self.address.clone(),
                source,
            };
            let malformed = |detail: String| AdminClientError::Malformed {
                method,
                path: path.to_owned(),
                address: self.address.clone(),
                detail,
            };
            // The session's binding, when the credential is bound to it.
            let mut binding = None;
            let mut stream: Box<dyn AdminStream> = match &self.tls {
                None => Box::new(tcp),
                Some(mode) => {
                    let config = match mode {
                        AdminTls::Verified(config) => config.clone(),
                        AdminTls::SecretBound => crate::tls::secret_bound_config(),
                    };
                    let tls = tokio_rustls::TlsConnector::from(config)
                        .connect(crate::tls::server_name(&self.address), tcp)
                        .await
                        .map_err(|source| AdminClientError::Connect {
                            address: self.address.clone(),
                            source,
                        })?;
                    if matches!(mode, AdminTls::SecretBound) {
                        let exported = tls
                            .get_ref()
                            .1
                            .export_keying_material(
                                [0u8; crate::credential::BINDING_LEN],
                                crate::credential::EXPORTER_LABEL,
                                None,
                            )
                            .map_err(|error| malformed(format!("TLS exporter: {error}")))?;
                        binding = Some(exported);
                    }
                    Box::new(tls)
                }
            };
            let body = body.unwrap_or_default();
            let authorization = match (&self.credential, &binding) {
                (Some(secret), Some(binding)) => format!(
                    "Authorization: Bearer {}\r\n",
                    crate::credential::bound_token(secret.as_bytes(), binding)
                ),
                (Some(secret), None) => format!("Authorization: Bearer {secret}\r\n"),
                (None, _) => String::new(),
            };
            let head = format!(
                "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
                 Accept: application/json\r\n{authorization}Content-Length: {}\r\n\
                 Connection: close\r\n\r\n",
                self.address,
                body.len()
            );
            stream.write_all(head.as_bytes()).await.map_err(io)?;
            stream.write_all(body).await.map_err(io)?;
            let mut answer = Vec::new();
            (&mut stream)
                .take(MAX_RESPONSE as u64)
                .read_to_end(&mut answer)
                .await
                .map_err(io)?;
            // On a secret-bound session the member must prove it knows the secret, or the
            // answer may come from an interceptor. A refusal (401) is believed without: it
            // grants nothing, and a member with another secret can only prove that one.
            let refused = parse_response(&answer).is_ok_and(|(status, _)| status == 401);
            if let (Some(secret), Some(binding), false) = (&self.credential, &binding, refused) {
                let proof = header_value(&answer, crate::credential::PROOF_HEADER);
                let proven = proof.is_some_and(|proof| {
                    crate::credential::server_proof_matches(
                        secret.as_bytes(),
                        binding,
                        proof.as_bytes(),
                    )
                });
                if !proven {
                    return Err(malformed(
                        "the answer does not prove the cluster secret on this TLS session (not a \
                         member of this cluster, or something in between)"
                            .to_owned(),
                    ));
                }
            }
            parse_response(&answer).map_err(malformed)
        };
        tokio::time::timeout(self.timeout, attempt)
            .await
            .map_err(|_| AdminClientError::Timeout {
                method,
                path: path.to_owned(),
                address: self.address.clone(),
                timeout: self.timeout,
            })?
    }
}

/// A connection to the admin port: TCP or TLS.
trait AdminStream: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}
impl<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> AdminStream for S {}

/// The value of header `name` (case-insensitive) in an HTTP/1.1 answer.
fn header_value(answer: &[u8], name: &str) -> Option<String> {
    let split = answer.windows(4).position(|window| window == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&answer[..split]).ok()?;
    head.split("\r\n").skip(1).find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim()
            .eq_ignore_ascii_case(name)
            .then(|| value.trim().to_owned())
    })
}

/// Splits an HTTP/1.1 answer read to EOF into status and body (plain or chunked).
fn parse_response(answer: &[u8]) -> Result<(u16, Vec<u8>), String> {
    let split = answer
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .ok_or("no HTTP header in the answer")?;
    let head = std::str::from_utf8(&answer[..split]).map_err(|_| "header is not UTF-8")?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse::<u16>().ok())
        .ok_or_else(|| format!("bad status line {status_line:?}"))?;
    let chunked = lines.any(|line| {
        let lower = line.to_ascii_lowercase();
        lower.starts_with("transfer-encoding:") && lower.contains("chunked")
    });
    let body = &answer[split + 4..];
    if !chunked {
        return Ok((status, body.to_vec()));
    }
    let mut decoded = Vec::new();
    let mut rest = body;
    loop {
        let line_end = rest
            .windows(2)
            .position(|window| window == b"\r\n")
            .ok_or("truncated chunk header")?;
        let size_text = std::str::from_utf8(&rest[..line_end]).map_err(|_| "bad chunk size")?;
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| format!("bad chunk size {size_text:?}"))?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Ok((status, decoded));
        }
        if rest.len() < size {
            return Err("truncated chunk".to_owned());
        }
        decoded.extend_from_slice(&rest[..size]);
        rest = rest.get(size + 2..).unwrap_or_default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_plain_and_chunked_answers() {
        let plain = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}";
        assert_eq!(parse_response(plain).unwrap(), (200, b"{}".to_vec()));
        let chunked =
            b"HTTP/1.1 421 Misdirected Request\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
        assert_eq!(parse_response(chunked).unwrap(), (421, b"abcde".to_vec()));
        assert!(parse_response(b"garbage").is_err());
        assert!(parse_response(b"HTTP/1.1 abc\r\n\r\n").is_err());
    }
}
