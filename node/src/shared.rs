//! [`Shared`]: everything connections share: the keyspace, counters, clients and runtime settings.

use std::time::Instant;

use parking_lot::RwLock;

use crate::clients::Clients;
use crate::config::Config;
use crate::stats::Stats;
use crate::store::Keyspace;

/// See [`Shared::leadership`]: `None` once the cluster is gone.
pub struct LeadershipSource(pub Box<dyn Fn() -> Option<crate::stats::Leadership> + Send + Sync>);

impl std::fmt::Debug for LeadershipSource {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("LeadershipSource")
    }
}

/// Settings changeable at run time with `CONFIG SET` (maxmemory and its policy live in the keyspace).
#[derive(Debug, Clone)]
pub struct Settings {
    pub password: Option<String>,
    /// Accepted for compatibility; nothing is persisted, so these are only echoed back.
    pub save: String,
    pub appendonly: String,
    pub maxclients: usize,
}

#[derive(Debug)]
pub struct Shared {
    pub keyspace: Keyspace,
    pub stats: Stats,
    pub clients: Clients,
    pub settings: RwLock<Settings>,
    pub started_at: Instant,
    pub port: u16,
    pub run_id: String,
    pub config: Config,
    /// The cluster secret and the checks made with it.
    pub security: crate::security::Security,
    /// TLS on the Redis port and between members' Redis ports, when configured.
    pub tls: Option<std::sync::Arc<crate::tls::Tls>>,
    /// Scripts loaded with SCRIPT LOAD or run with EVAL, by SHA-1.
    pub scripts: crate::script::ScriptCache,
    pub running_scripts: crate::script::RunningScripts,
    /// In cluster mode, what the member leads and follows right now (INFO's replication
    /// section, /metrics); set when the cluster starts. A function, so the lower layers that
    /// read it need not know the cluster.
    pub leadership: std::sync::OnceLock<LeadershipSource>,
    /// Pub/Sub subscriptions and delivery.
    pub pubsub: crate::pubsub::Registry,
}

impl Shared {
    /// How this member reaches another member's Redis port when it forwards: its credential and
    /// TLS, when the Redis port speaks TLS.
    pub fn peer_access(&self) -> crate::security::PeerAccess {
        crate::security::PeerAccess {
            credential: self
                .security
                .peer_credential(self.settings.read().password.as_deref()),
            tls: self.tls.clone(),
        }
    }

    pub fn new(config: Config, port: u16, password: Option<String>) -> Self {
        let run_id = {
            // Not security relevant: a per-process identifier like Redis's run_id.
            let seed = crate::store::unix_ms() ^ u64::from(std::process::id()) << 32;
            let mut rng = crate::eviction::SampleRng::new(seed);
            (0..40)
                .map(|_| char::from_digit(rng.below(16) as u32, 16).unwrap_or('0'))
                .collect()
        };
        Shared {
            keyspace: if config.cluster_enabled {
                Keyspace::new_replicated(config.maxmemory, config.maxmemory_policy)
            } else {
                Keyspace::new(config.maxmemory, config.maxmemory_policy)
            },
            stats: Stats::default(),
            clients: Clients::default(),
            settings: RwLock::new(Settings {
                password,
                save: String::new(),
                appendonly: "no".to_owned(),
                maxclients: config.maxclients,
            }),
            started_at: Instant::now(),
            port,
            run_id,
            security: crate::security::Security::new(None),
            tls: None,
            scripts: crate::script::ScriptCache::default(),
            running_scripts: crate::script::RunningScripts::default(),
            leadership: std::sync::OnceLock::new(),
            pubsub: crate::pubsub::Registry::new(config.client_output_buffer_limit_pubsub),
            config,
        }
    }
}
