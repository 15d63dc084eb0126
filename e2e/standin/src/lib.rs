//! An in-repo stand-in for the Kubernetes API server: real HTTP/1.1 + JSON on loopback, so the
//! unmodified operator binary (through a kubeconfig), `kube::Client` and `kubectl` all talk to it.
//! It behaves like the real server where controllers depend on it — list and watch with
//! resourceVersions, bookmarks and `410 Gone`; preconditions and conflicts; merge, JSON, strategic
//! (as merge) and server-side apply patches; `status` and `scale` subresources; generation; finalizers;
//! owner-reference garbage collection; CRDs; RBAC; discovery — and answers an error for anything
//! it does not do. `e2e/README.md` lists exactly what is and is not supported.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use ringcache_standin::{ApiServer, ApiServerOptions, KubeUser};
//! let server = ApiServer::start(ApiServerOptions { rbac: true, ..Default::default() }).await?;
//! server.write_kubeconfig("/tmp/kubeconfig", &KubeUser::service_account("ns", "operator"))?;
//! let admin: kube::Client = server.client(&KubeUser::Admin).await?;
//! # let _ = admin;
//! server.store().compact(); // every older resourceVersion now answers 410 Gone
//! server.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! One main type per file: [`ApiServer`]/[`ApiServerHandle`] (server), [`ApiServerOptions`],
//! [`KubeUser`] (users), [`StoreView`] (view), and internally the store, the writer that holds the
//! write semantics, the handler that routes requests, watch streams, the garbage collector, RBAC,
//! selectors, patches, field ownership, discovery, OpenAPI and tables.

pub mod discovery;
pub mod error;
pub mod fields;
pub mod gc;
pub mod handler;
pub mod kubeconfig;
pub mod meta;
pub mod openapi;
pub mod options;
pub mod patch;
pub mod rbac;
pub mod request;
pub mod resources;
pub mod review;
pub mod scale;
pub mod schema;
pub mod selector;
pub mod server;
pub mod store;
pub mod table;
pub mod users;
pub mod view;
pub mod watch;
pub mod writer;

pub use error::{ApiError, ApiServerError};
pub use kubeconfig::KubeconfigFile;
pub use options::ApiServerOptions;
pub use server::{ApiServer, ApiServerHandle};
pub use users::KubeUser;
pub use view::StoreView;
