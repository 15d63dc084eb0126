//! A real Kubernetes control plane on loopback — etcd, kube-apiserver and kube-controller-manager,
//! the binaries `scripts/install-kube.sh` builds — started and stopped by the test harness, as
//! controller-runtime's envtest does. Beside the stand-in (`crate::apiserver`) it is the second
//! environment the end-to-end suite runs in; the pod runner plays only the kubelet against it
//! (`crate::pods::PodRunnerMode::Kubelet`).
//!
//! ```text
//!  etcd            127.0.0.1:<client port>, data in <dir>/etcd
//!  kube-apiserver  https://127.0.0.1:<port>: RBAC, the default admission plugins, service-account
//!                  tokens (TokenRequest), an admin bearer token (group system:masters)
//!  kube-controller-manager  statefulset, garbage collector, disruption, endpoints, endpoint slices,
//!                  namespace, service accounts, PV binder (authenticated as the admin)
//! ```
//!
//! Every process is a [`process::ManagedProcess`], killed when the [`RealControlPlane`] is dropped.

pub mod binaries;
pub mod certs;
pub mod process;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::ServiceAccount;
use kube::Client;
use kube::api::{Api, PostParams};
use serde_json::json;

pub use binaries::{KUBE_VERSION, KubeBinaries};
use process::{ManagedProcess, free_port};

/// The controllers kube-controller-manager runs: what a StatefulSet's life needs, and nothing that
/// would act on nodes (there is no node lifecycle, no scheduler, no cloud).
pub const CONTROLLERS: &str = "statefulset-controller,garbage-collector-controller,\
     disruption-controller,endpoints-controller,endpointslice-controller,\
     endpointslice-mirroring-controller,namespace-controller,serviceaccount-controller,\
     persistentvolume-binder-controller,persistentvolumeclaim-protection-controller,\
     root-ca-certificate-publisher-controller";

/// Why the control plane could not start.
#[derive(Debug, thiserror::Error)]
pub enum ControlPlaneError {
    #[error(
        "the real control plane's binaries are missing ({missing}): run scripts/install-kube.sh \
         (or set RINGCACHE_KUBE_BIN_DIR)"
    )]
    MissingBinaries { missing: String },
    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
    #[error("certificates: {0}")]
    Certificates(String),
    #[error("{what} exited ({status}); log {log}:\n{tail}")]
    Exited {
        what: &'static str,
        status: String,
        log: PathBuf,
        tail: String,
    },
    #[error("{what} was not ready within {timeout:?}; log {log}:\n{tail}")]
    NotReady {
        what: &'static str,
        timeout: Duration,
        log: PathBuf,
        tail: String,
    },
    #[error("kubeconfig: {0}")]
    Kubeconfig(String),
    #[error("the Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
}

/// Where it keeps its files.
#[derive(Debug, Clone)]
pub struct ControlPlaneOptions {
    /// etcd's data, certificates, kubeconfigs and the processes' logs (`etcd.log`,
    /// `kube-apiserver.log`, `kube-controller-manager.log`).
    pub dir: PathBuf,
    /// How long each process may take to become ready.
    pub start_timeout: Duration,
}

impl ControlPlaneOptions {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        ControlPlaneOptions {
            dir: dir.into(),
            start_timeout: Duration::from_secs(90),
        }
    }
}

/// A running control plane. Dropping it kills its processes; [`RealControlPlane::shutdown`] stops
/// them gracefully.
pub struct RealControlPlane {
    dir: PathBuf,
    url: String,
    ca_cert: PathBuf,
    admin_token: String,
    /// In start order; stopped in reverse.
    processes: Vec<ManagedProcess>,
}

/// The admin's user name in the static token file; its group `system:masters` bypasses RBAC.
pub const ADMIN_USER: &str = "ringcache-admin";

/// Attempts at starting etcd when its port was taken in between.
const ETCD_ATTEMPTS: usize = 3;

/// Starts etcd on free loopback ports and waits for its client port; returns it and its URL.
/// A port is free when chosen but released before etcd binds it, so another process (any
/// outgoing connection takes an ephemeral port) may take it first: then etcd exits with "address
/// already in use" and is started again on other ports.
async fn start_etcd(
    binaries: &KubeBinaries,
    dir: &Path,
    timeout: std::time::Duration,
) -> Result<(ManagedProcess, String), ControlPlaneError> {
    let mut attempt = 1;
    loop {
        let _ = std::fs::remove_dir_all(dir.join("etcd"));
        let etcd_port = free_port()?;
        let etcd_peer_port = free_port()?;
        let etcd_url = format!("http://127.0.0.1:{etcd_port}");
        let etcd_args = vec![
            format!("--data-dir={}", dir.join("etcd").display()),
            format!("--listen-client-urls={etcd_url}"),
            format!("--advertise-client-urls={etcd_url}"),
            format!("--listen-peer-urls=http://127.0.0.1:{etcd_peer_port}"),
            format!("--initial-advertise-peer-urls=http://127.0.0.1:{etcd_peer_port}"),
            format!("--initial-cluster=default=http://127.0.0.1:{etcd_peer_port}"),
            // Tests write little; an fsync per write only slows a shared machine down.
            "--unsafe-no-fsync".to_owned(),
            "--log-level=warn".to_owned(),
        ];
        let mut etcd =
            ManagedProcess::start("etcd", &binaries.etcd, &etcd_args, dir.join("etcd.log"))?;
        match wait_tcp(&mut etcd, etcd_port, timeout).await {
            Ok(()) => return Ok((etcd, etcd_url)),
            Err(ControlPlaneError::Exited { tail, .. })
                if attempt < ETCD_ATTEMPTS && tail.contains("address already in use") =>
            {
                attempt += 1;
            }
            Err(error) => return Err(error),
        }
    }
}

impl RealControlPlane {
    /// Starts etcd, then kube-apiserver (and waits for `/readyz`), then kube-controller-manager.
    pub async fn start(options: ControlPlaneOptions) -> Result<Self, ControlPlaneError> {
        let binaries = KubeBinaries::find()?;
        let dir = options.dir.clone();
        let io = |what: String| move |source| ControlPlaneError::Io { what, source };
        // A state directory reused from an earlier run must not bring back its objects.
        let _ = std::fs::remove_dir_all(dir.join("etcd"));
        std::fs::create_dir_all(dir.join("etcd"))
            .map_err(io(format!("creating {}", dir.display())))?;
        let certs = certs::generate(&dir)?;
        let admin_token = random_token();
        let tokens = dir.join("tokens.csv");
        std::fs::write(
            &tokens,
            format!("{admin_token},{ADMIN_USER},{ADMIN_USER},\"system:masters\"\n"),
        )
        .map_err(io(format!("writing {}", tokens.display())))?;

        let mut processes = Vec::new();
        let (etcd, etcd_url) = start_etcd(&binaries, &dir, options.start_timeout).await?;
        processes.push(etcd);

        let port = free_port()?;
        let url = format!("https://127.0.0.1:{port}");
        let p = |path: &Path| path.display().to_string();
        let apiserver_args = vec![
            format!("--etcd-servers={etcd_url}"),
            "--bind-address=127.0.0.1".to_owned(),
            "--advertise-address=127.0.0.1".to_owned(),
            format!("--secure-port={port}"),
            format!("--cert-dir={}", dir.display()),
            format!("--tls-cert-file={}", p(&certs.serving_cert)),
            format!("--tls-private-key-file={}", p(&certs.serving_key)),
            format!("--client-ca-file={}", p(&certs.ca_cert)),
            format!("--token-auth-file={}", p(&tokens)),
            "--authorization-mode=RBAC".to_owned(),
            "--anonymous-auth=false".to_owned(),
            format!(
                "--service-account-key-file={}",
                p(&certs.service_account_public_key)
            ),
            format!(
                "--service-account-signing-key-file={}",
                p(&certs.service_account_key)
            ),
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local".to_owned(),
            "--service-cluster-ip-range=10.0.0.0/24".to_owned(),
            // The kubernetes Service's endpoints would be 127.0.0.1, which Endpoints validation
            // refuses (loopback); nothing in the tests reaches the API server through that Service.
            "--endpoint-reconciler-type=none".to_owned(),
            "--profiling=false".to_owned(),
        ];
        let mut apiserver = ManagedProcess::start(
            "kube-apiserver",
            &binaries.apiserver,
            &apiserver_args,
            dir.join("kube-apiserver.log"),
        )?;
        let mut plane = RealControlPlane {
            dir: dir.clone(),
            url,
            ca_cert: certs.ca_cert.clone(),
            admin_token,
            processes,
        };
        plane
            .wait_apiserver_ready(&mut apiserver, options.start_timeout)
            .await?;
        plane.processes.push(apiserver);

        let kcm_kubeconfig = dir.join("kube-controller-manager.kubeconfig");
        plane.write_kubeconfig(&kcm_kubeconfig, ADMIN_USER, &plane.admin_token.clone())?;
        let kcm_args = vec![
            format!("--kubeconfig={}", p(&kcm_kubeconfig)),
            format!("--controllers={CONTROLLERS}"),
            "--leader-elect=false".to_owned(),
            "--use-service-account-credentials=false".to_owned(),
            format!(
                "--service-account-private-key-file={}",
                p(&certs.service_account_key)
            ),
            format!("--root-ca-file={}", p(&certs.ca_cert)),
            "--bind-address=127.0.0.1".to_owned(),
            format!("--secure-port={}", free_port()?),
            format!("--cert-dir={}", dir.join("kcm-certs").display()),
            // The StatefulSet controller re-lists every pod and set this often; the default (12 h)
            // would let a missed watch event stall a test.
            "--min-resync-period=30s".to_owned(),
        ];
        let mut kcm = ManagedProcess::start(
            "kube-controller-manager",
            &binaries.controller_manager,
            &kcm_args,
            dir.join("kube-controller-manager.log"),
        )?;
        // Ready once the service-account controller has made `default` in `default`: pods are
        // refused by the ServiceAccount admission plugin until their namespace has it.
        let client = plane.admin_client().await?;
        let accounts: Api<ServiceAccount> = Api::namespaced(client, "default");
        let deadline = Instant::now() + options.start_timeout;
        loop {
            kcm.check_running()?;
            if accounts.get_opt("default").await?.is_some() {
                break;
            }
            if Instant::now() >= deadline {
                return Err(ControlPlaneError::NotReady {
                    what: "kube-controller-manager",
                    timeout: options.start_timeout,
                    log: kcm.log().to_owned(),
                    tail: process::log_tail(kcm.log()),
                });
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        plane.processes.push(kcm);
        Ok(plane)
    }

    async fn wait_apiserver_ready(
        &self,
        apiserver: &mut ManagedProcess,
        timeout: Duration,
    ) -> Result<(), ControlPlaneError> {
        let client = self.admin_client().await?;
        let deadline = Instant::now() + timeout;
        loop {
            apiserver.check_running()?;
            let request = http::Request::get("/readyz")
                .body(Vec::new())
                .expect("a static request");
            if client
                .request_text(request)
                .await
                .is_ok_and(|text| text == "ok")
            {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(ControlPlaneError::NotReady {
                    what: "kube-apiserver",
                    timeout,
                    log: apiserver.log().to_owned(),
                    tail: process::log_tail(apiserver.log()),
                });
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// `https://127.0.0.1:<port>`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The CA certificate that signed the serving certificate.
    pub fn ca_cert(&self) -> &Path {
        &self.ca_cert
    }

    /// The directory with the logs, certificates and kubeconfigs.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The admin's bearer token (group `system:masters`).
    pub fn admin_token(&self) -> &str {
        &self.admin_token
    }

    /// A kubeconfig document for the user with `token` (the CA by path, namespace `default`).
    pub fn kubeconfig(&self, user: &str, token: &str) -> String {
        let doc = json!({
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "ringcache-real", "cluster": {
                "server": self.url, "certificate-authority": self.ca_cert.display().to_string()}}],
            "users": [{"name": user, "user": {"token": token}}],
            "contexts": [{"name": format!("{user}@ringcache-real"),
                "context": {"cluster": "ringcache-real", "user": user, "namespace": "default"}}],
            "current-context": format!("{user}@ringcache-real"),
            "preferences": {},
        });
        serde_yaml::to_string(&doc).expect("a JSON value serializes as YAML")
    }

    /// Writes [`RealControlPlane::kubeconfig`] to `path`.
    pub fn write_kubeconfig(
        &self,
        path: &Path,
        user: &str,
        token: &str,
    ) -> Result<(), ControlPlaneError> {
        std::fs::write(path, self.kubeconfig(user, token)).map_err(|source| ControlPlaneError::Io {
            what: format!("writing {}", path.display()),
            source,
        })
    }

    /// A client with `token`.
    pub async fn client_with_token(
        &self,
        user: &str,
        token: &str,
    ) -> Result<Client, ControlPlaneError> {
        let kubeconfig = kube::config::Kubeconfig::from_yaml(&self.kubeconfig(user, token))
            .map_err(|error| ControlPlaneError::Kubeconfig(error.to_string()))?;
        let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
            .await
            .map_err(|error| ControlPlaneError::Kubeconfig(error.to_string()))?;
        Ok(Client::try_from(config)?)
    }

    /// An admin client.
    pub async fn admin_client(&self) -> Result<Client, ControlPlaneError> {
        self.client_with_token(ADMIN_USER, &self.admin_token).await
    }

    /// A token for service account `namespace/name` from the TokenRequest API (what a kubelet
    /// mounts into a pod), valid for a day.
    pub async fn service_account_token(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<String, ControlPlaneError> {
        let client = self.admin_client().await?;
        let accounts: Api<ServiceAccount> = Api::namespaced(client, namespace);
        let request = json!({
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenRequest",
            "spec": {"expirationSeconds": 86400},
        });
        let response: serde_json::Value = accounts
            .create_subresource("token", name, &PostParams::default(), &request)
            .await?;
        response
            .pointer("/status/token")
            .and_then(|token| token.as_str())
            .map(str::to_owned)
            .ok_or_else(|| {
                ControlPlaneError::Kubeconfig(format!(
                    "TokenRequest answered without a token: {response}"
                ))
            })
    }

    /// Stops kube-controller-manager, kube-apiserver and etcd, in that order.
    pub async fn shutdown(mut self) {
        let processes = std::mem::take(&mut self.processes);
        let _ = tokio::task::spawn_blocking(move || {
            for process in processes.into_iter().rev() {
                process.stop(Duration::from_secs(2));
            }
        })
        .await;
    }
}

/// Waits until `port` accepts connections.
async fn wait_tcp(
    process: &mut ManagedProcess,
    port: u16,
    timeout: Duration,
) -> Result<(), ControlPlaneError> {
    let deadline = Instant::now() + timeout;
    loop {
        process.check_running()?;
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(ControlPlaneError::NotReady {
                what: process.name(),
                timeout,
                log: process.log().to_owned(),
                tail: process::log_tail(process.log()),
            });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A bearer token: 32 hex digits from the kernel's random source.
fn random_token() -> String {
    use std::io::Read;
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut file| file.read_exact(&mut bytes))
        .expect("/dev/urandom is readable");
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
