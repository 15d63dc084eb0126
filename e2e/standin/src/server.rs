//! [`ApiServer`] and [`ApiServerHandle`]: starting a stand-in on a loopback port, handing out
//! kubeconfigs, tokens and clients, and stopping it.

use super::error::ApiServerError;
use super::gc::GarbageCollector;
use super::handler::Handler;
use super::kubeconfig::KubeconfigFile;
use super::options::ApiServerOptions;
use super::resources::ResourceType;
use super::store::Store;
use super::users::{Authenticator, KubeUser};
use super::view::StoreView;
use super::writer::{Ownership, WriteOptions, Writer};
use axum::body::Body;
use axum::http::Request;
use serde_json::json;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Starts API stand-ins.
#[derive(Debug, Clone, Copy)]
pub struct ApiServer;

/// A running stand-in. Dropping it stops it too (without waiting); prefer [`Self::shutdown`].
pub struct ApiServerHandle {
    addr: SocketAddr,
    handler: Arc<Handler>,
    shutdown: watch::Sender<bool>,
    serve: Option<JoinHandle<()>>,
    gc: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for ApiServerHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiServerHandle")
            .field("addr", &self.addr)
            .field("rbac", &self.handler.options.rbac)
            .finish()
    }
}

/// Objects every cluster starts with: the four standard namespaces and cluster-admin bound to
/// `system:masters`.
fn seed(store: &Store) {
    let mut state = store.lock();
    let opts = WriteOptions {
        manager: "ringcache-standin".into(),
        ..WriteOptions::default()
    };
    let find = |state: &super::store::StoreState, group: &str, plural: &str| -> Arc<ResourceType> {
        state
            .registry
            .find(group, "v1", plural)
            .expect("built-in resource")
    };
    let namespaces = find(&state, "", "namespaces");
    for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        let obj = json!({"metadata": {"name": ns}});
        let _ = Writer::new(&mut state).create(&namespaces, None, obj, &opts, Ownership::Update);
    }
    let roles = find(&state, "rbac.authorization.k8s.io", "clusterroles");
    let role = json!({
        "metadata": {"name": "cluster-admin"},
        "rules": [
            {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
            {"nonResourceURLs": ["*"], "verbs": ["*"]}
        ]
    });
    let _ = Writer::new(&mut state).create(&roles, None, role, &opts, Ownership::Update);
    let bindings = find(&state, "rbac.authorization.k8s.io", "clusterrolebindings");
    let binding = json!({
        "metadata": {"name": "cluster-admin"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "system:masters"}]
    });
    let _ = Writer::new(&mut state).create(&bindings, None, binding, &opts, Ownership::Update);
}

async fn gc_loop(store: Arc<Store>, interval: Duration, mut shutdown: watch::Receiver<bool>) {
    let mut changes = store.subscribe();
    loop {
        {
            let mut state = store.lock();
            GarbageCollector.run(&mut state);
        }
        // Marking the collector's own writes as seen keeps it from waking itself up.
        changes.borrow_and_update();
        tokio::select! {
            _ = changes.changed() => {}
            _ = tokio::time::sleep(interval) => {}
            _ = shutdown.wait_for(|stop| *stop) => break,
        }
    }
}

impl ApiServer {
    /// Binds, seeds the standard objects and starts serving. Needs a Tokio runtime.
    pub async fn start(options: ApiServerOptions) -> Result<ApiServerHandle, ApiServerError> {
        let listener = tokio::net::TcpListener::bind(options.bind)
            .await
            .map_err(|source| ApiServerError::Bind {
                addr: options.bind,
                source,
            })?;
        let addr = listener
            .local_addr()
            .map_err(|source| ApiServerError::Bind {
                addr: options.bind,
                source,
            })?;
        let store = Arc::new(Store::new(options.history_limit));
        seed(&store);
        let (shutdown, shutdown_rx) = watch::channel(false);
        let gc_interval = options.gc_interval;
        let handler = Arc::new(Handler {
            store: store.clone(),
            auth: Authenticator::default(),
            options,
            addr,
            shutdown: shutdown_rx.clone(),
        });
        let h = handler.clone();
        let app = axum::Router::new().fallback(move |request: Request<Body>| {
            let h = h.clone();
            async move { h.handle(request).await }
        });
        let mut stop = shutdown_rx.clone();
        let serve = tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stop.wait_for(|s| *s).await;
                })
                .await;
            if let Err(error) = served {
                tracing::warn!(%error, "API stand-in stopped serving");
            }
        });
        let gc = tokio::spawn(gc_loop(store, gc_interval, shutdown_rx));
        tracing::info!(%addr, rbac = handler.options.rbac, "API stand-in listening");
        Ok(ApiServerHandle {
            addr,
            handler,
            shutdown,
            serve: Some(serve),
            gc: Some(gc),
        })
    }
}

impl ApiServerHandle {
    /// `http://<addr>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The bearer token of a user (minted on first use; the same afterwards).
    pub fn token(&self, user: &KubeUser) -> String {
        self.handler.auth.token_for(user)
    }

    /// A kubeconfig for a user, default namespace `default`.
    pub fn kubeconfig(&self, user: &KubeUser) -> KubeconfigFile {
        KubeconfigFile {
            server: self.url(),
            user: user.clone(),
            token: self.token(user),
            namespace: "default".into(),
        }
    }

    /// Writes a kubeconfig for a user to `path` (for `kubectl --kubeconfig` or `KUBECONFIG`).
    pub fn write_kubeconfig(
        &self,
        path: impl AsRef<Path>,
        user: &KubeUser,
    ) -> Result<(), ApiServerError> {
        let path = path.as_ref();
        let yaml = self
            .kubeconfig(user)
            .to_yaml()
            .map_err(|e| ApiServerError::Kubeconfig(e.to_string()))?;
        std::fs::write(path, yaml).map_err(|source| ApiServerError::WriteKubeconfig {
            path: path.to_path_buf(),
            source,
        })
    }

    /// A `kube::Client` acting as a user, configured the way a kubeconfig configures it.
    pub async fn client(&self, user: &KubeUser) -> Result<kube::Client, ApiServerError> {
        let yaml = self
            .kubeconfig(user)
            .to_yaml()
            .map_err(|e| ApiServerError::Kubeconfig(e.to_string()))?;
        let kubeconfig = kube::config::Kubeconfig::from_yaml(&yaml)
            .map_err(|e| ApiServerError::Kubeconfig(e.to_string()))?;
        let config = kube::Config::from_custom_kubeconfig(
            kubeconfig,
            &kube::config::KubeConfigOptions::default(),
        )
        .await
        .map_err(|e| ApiServerError::Kubeconfig(e.to_string()))?;
        Ok(kube::Client::try_from(config)?)
    }

    /// In-process read access and history compaction.
    pub fn store(&self) -> StoreView {
        StoreView::new(self.handler.store.clone())
    }

    /// Stops serving: ends watches, closes connections (waiting at most 5 s) and stops the
    /// garbage collector.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        if let Some(serve) = self.serve.take() {
            let abort = serve.abort_handle();
            if tokio::time::timeout(Duration::from_secs(5), serve)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
        if let Some(gc) = self.gc.take() {
            let _ = gc.await;
        }
    }
}

impl Drop for ApiServerHandle {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}
