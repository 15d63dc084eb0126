//! Command-line configuration.

use std::path::PathBuf;

use clap::{Parser, ValueEnum};
use thiserror::Error;

use crate::eviction::EvictionPolicy;

/// Environment variable holding the password when `--requirepass-file` is not given.
pub const PASSWORD_ENV: &str = "RINGCACHE_PASSWORD";

/// The log filter when `RUST_LOG` is unset: openraft's info lines (one per heartbeat received)
/// would be most of the log.
pub const DEFAULT_LOG_FILTER: &str = "info,openraft=warn";

#[derive(Debug, Clone, Parser)]
#[command(
    name = "ringcache-node",
    version,
    about = "A ringcache cache node: an in-memory cache that speaks the Redis protocol (RESP2/RESP3).",
    long_about = "A ringcache cache node: an in-memory cache that speaks the Redis protocol (RESP2/RESP3).\n\n\
                  Without --cluster-enabled it runs as a single in-memory process. With it, it is one \
                  member of a Raft-replicated, slot-sharded cluster: Raft state lives in --data-dir, \
                  and a fresh cluster is formed with POST /v1/cluster/form on the admin port \
                  (docs/admin-api.md). The password is read from --requirepass-file or the \
                  RINGCACHE_PASSWORD environment variable."
)]
pub struct Config {
    /// TCP port for Redis clients (0 picks a free port).
    #[arg(long, default_value_t = 6379)]
    pub port: u16,

    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: std::net::IpAddr,

    /// Directory for durable state: in cluster mode the Raft identity, logs, votes and snapshots
    /// (required); a single process only creates it.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,

    /// Memory limit for data, as Redis accepts it: bytes or a unit (100mb, 1gb, 512k). 0 = no limit.
    #[arg(long, default_value = "0", value_parser = parse_memory)]
    pub maxmemory: u64,

    /// What to do when the limit is reached.
    #[arg(long, default_value = "noeviction", value_parser = parse_policy)]
    pub maxmemory_policy: EvictionPolicy,

    /// File whose content (trailing newline removed) is the password clients must AUTH with.
    #[arg(long)]
    pub requirepass_file: Option<PathBuf>,

    /// File holding the cluster secret (at least 32 bytes; trailing newline removed). With it,
    /// the admin API wants `Authorization: Bearer <secret>` on every route but /healthz, /readyz,
    /// /metrics and the pre-stop hook, and cluster-port connections must prove they know it.
    /// The operator creates it per cluster (Secret `<cluster>-cluster-secret`).
    #[arg(long, env = "RINGCACHE_CLUSTER_SECRET_FILE")]
    pub cluster_secret_file: Option<PathBuf>,

    /// PEM certificate (with its chain) for TLS on the Redis port. With --tls-key-file the Redis
    /// port speaks only TLS (`redis-cli --tls`), and members forwarding to each other use TLS
    /// too. Both files are read again when they change (no restart).
    #[arg(long, env = "RINGCACHE_TLS_CERT_FILE", requires = "tls_key_file")]
    pub tls_cert_file: Option<PathBuf>,

    /// PEM private key of --tls-cert-file.
    #[arg(long, env = "RINGCACHE_TLS_KEY_FILE", requires = "tls_cert_file")]
    pub tls_key_file: Option<PathBuf>,

    /// PEM CA certificate(s) members verify each other's certificates with; when the file does
    /// not exist, a member trusts the last certificate of its own chain (a self-signed
    /// certificate, or the issuer when the chain includes it).
    #[arg(long, env = "RINGCACHE_TLS_CA_FILE", requires = "tls_cert_file")]
    pub tls_ca_file: Option<PathBuf>,

    /// Log format; the level comes from RUST_LOG (default `info,openraft=warn`).
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Output limit of Pub/Sub subscribers, as Redis's `client-output-buffer-limit pubsub`:
    /// `<hard> <soft> <soft seconds>`. A subscriber with more unwritten messages than the hard
    /// limit, or than the soft limit for the soft seconds, is disconnected (0 disables a limit).
    #[arg(long, default_value = "32mb 8mb 60", value_parser = OutputLimit::parse)]
    pub client_output_buffer_limit_pubsub: OutputLimit,

    /// Most clients connected at once.
    #[arg(long, default_value_t = 10_000)]
    pub maxclients: usize,

    /// Run as a member of a replicated cluster: Raft per partition, CLUSTER commands, -MOVED and
    /// forwarding, the admin API. Needs --data-dir. Without it the node is a single process.
    #[arg(long, env = "RINGCACHE_CLUSTER_ENABLED")]
    pub cluster_enabled: bool,

    /// This member's StatefulSet ordinal (its placement identity); default: the number at the end
    /// of POD_NAME (`ringcache-2` → 2).
    #[arg(long, env = "RINGCACHE_ORDINAL")]
    pub ordinal: Option<u16>,

    /// The pod name, read for the ordinal when --ordinal is not given.
    #[arg(long, env = "POD_NAME", hide = true)]
    pub pod_name: Option<String>,

    /// Host name or IP that clients and other members use to reach this member; default: --bind
    /// when it is a specific address, else the machine's host name.
    #[arg(long, env = "RINGCACHE_ADVERTISE_HOST")]
    pub advertise_host: Option<String>,

    /// Port of the cluster bus (Raft between members); default --port + 10000, as in Redis Cluster.
    #[arg(long, env = "RINGCACHE_CLUSTER_PORT")]
    pub cluster_port: Option<u16>,

    /// Port of the admin HTTP API (/healthz, /readyz, /metrics, /v1/...): default 9090 in cluster
    /// mode; a single process serves it only when this is given.
    #[arg(long, env = "RINGCACHE_ADMIN_PORT")]
    pub admin_port: Option<u16>,

    /// Address the admin API listens on; default: --bind.
    #[arg(long)]
    pub admin_bind: Option<std::net::IpAddr>,

    /// fsync the Raft log on every append (slower; only needed if machines, not just processes,
    /// can fail together).
    #[arg(long, env = "RINGCACHE_FSYNC")]
    pub fsync: bool,

    /// Largest write a partition's log accepts: all arguments of one command together, as
    /// bytes or a unit (32mb). Larger writes are refused with an error and change nothing. At
    /// most 63mb, so that any write in the log fits in one cluster message.
    #[arg(long, env = "RINGCACHE_MAX_WRITE_SIZE", default_value = "32mb", value_parser = parse_max_write_size)]
    pub max_write_size: u64,

    /// How the leader confirms a linearizable read: `lease` (no round trip; assumes clocks drift
    /// less than the election timeout) or `read-index` (a heartbeat round per batch of reads).
    #[arg(long, value_enum, default_value_t = ReadPolicyArg::Lease)]
    pub read_policy: ReadPolicyArg,

    /// Worker threads serving clients and Raft; default: the CPUs this process may use (its
    /// cgroup quota included). Where several members share few CPUs, 1 saves cross-thread wakeups.
    #[arg(long, env = "RINGCACHE_THREADS")]
    pub threads: Option<std::num::NonZeroUsize>,

    /// After a client request or cluster message, keep polling for the next one this many
    /// microseconds before sleeping (0 = sleep at once). Trades CPU for latency: waking a sleeping
    /// process costs tens of microseconds, several times per replicated write. 200 is what
    /// Seastar uses; an idle member polls nothing.
    #[arg(long = "idle-poll-us", value_name = "MICROSECONDS", env = "RINGCACHE_IDLE_POLL_US", default_value = "0", value_parser = parse_micros)]
    pub idle_poll: std::time::Duration,
}

fn parse_max_write_size(text: &str) -> Result<u64, String> {
    let bytes = parse_memory(text)?;
    let limit = ringcache_replication::MAX_COMMAND_LEN_LIMIT as u64;
    if bytes > limit {
        return Err(format!(
            "{bytes} bytes is more than one cluster message carries; use at most 63mb ({limit})"
        ));
    }
    if bytes < 1024 {
        return Err(format!(
            "{bytes} bytes is too small for a write; use at least 1kb"
        ));
    }
    Ok(bytes)
}

fn parse_micros(text: &str) -> Result<std::time::Duration, String> {
    let micros: u64 = text
        .parse()
        .map_err(|_| format!("expected microseconds as a whole number, got {text:?}"))?;
    if micros > 100_000 {
        return Err(format!(
            "{micros} µs is more than 100 ms of polling after each message; use at most 100000"
        ));
    }
    Ok(std::time::Duration::from_micros(micros))
}

/// `--read-policy` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReadPolicyArg {
    Lease,
    ReadIndex,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("cannot read --requirepass-file {path}: {source}")]
    PasswordFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("--requirepass-file {0} is empty")]
    EmptyPassword(PathBuf),
    #[error("cannot read --cluster-secret-file {path}: {source}")]
    SecretFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "--cluster-secret-file {path}: byte {position} is not printable ASCII; the secret travels \
         in an HTTP header, so use letters, digits and punctuation (hex or base64)"
    )]
    SecretNotPrintable { path: PathBuf, position: usize },
    #[error(
        "--cluster-secret-file {path} holds {length} bytes; a cluster secret needs at least {minimum} \
         (for example: head -c 32 /dev/urandom | xxd -p -c 64 > {path})"
    )]
    ShortSecret {
        path: PathBuf,
        length: usize,
        minimum: usize,
    },
    #[error("cluster mode keeps Raft state on disk: give --data-dir")]
    ClusterWithoutDataDir,
    #[error(
        "cluster mode needs this member's ordinal: give --ordinal, or POD_NAME ending in -<number> \
         (got {0:?})"
    )]
    NoOrdinal(Option<String>),
    #[error("cannot tell the advertised host: give --advertise-host ({0})")]
    NoAdvertiseHost(String),
    #[error("--port {0} + 10000 is not a port: give --cluster-port")]
    NoClusterPort(u16),
    #[error("cannot create --data-dir {path}: {source}")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl Config {
    /// Defaults, as if no flag was given (used by tests and embedders).
    pub fn defaults() -> Self {
        Config::parse_from(["ringcache-node"])
    }

    /// The password: `--requirepass-file` wins over the environment variable.
    pub fn password(&self) -> Result<Option<String>, ConfigError> {
        if let Some(path) = &self.requirepass_file {
            let text =
                std::fs::read_to_string(path).map_err(|source| ConfigError::PasswordFile {
                    path: path.clone(),
                    source,
                })?;
            let password = text.trim_end_matches(['\r', '\n']).to_owned();
            if password.is_empty() {
                return Err(ConfigError::EmptyPassword(path.clone()));
            }
            return Ok(Some(password));
        }
        Ok(std::env::var(PASSWORD_ENV)
            .ok()
            .filter(|password| !password.is_empty()))
    }

    /// The TLS files, when TLS is on.
    pub fn tls_files(&self) -> Option<crate::tls::TlsFiles> {
        Some(crate::tls::TlsFiles {
            cert: self.tls_cert_file.clone()?,
            key: self.tls_key_file.clone()?,
            ca: self.tls_ca_file.clone(),
        })
    }

    /// The cluster secret from `--cluster-secret-file`, if given.
    pub fn cluster_secret(&self) -> Result<Option<Vec<u8>>, ConfigError> {
        let Some(path) = &self.cluster_secret_file else {
            return Ok(None);
        };
        let mut secret = std::fs::read(path).map_err(|source| ConfigError::SecretFile {
            path: path.clone(),
            source,
        })?;
        while secret
            .last()
            .is_some_and(|byte| matches!(byte, b'\n' | b'\r'))
        {
            secret.pop();
        }
        if let Some(position) = secret.iter().position(|byte| !byte.is_ascii_graphic()) {
            return Err(ConfigError::SecretNotPrintable {
                path: path.clone(),
                position,
            });
        }
        if secret.len() < ringcache_admin::MIN_SECRET_LEN {
            return Err(ConfigError::ShortSecret {
                path: path.clone(),
                length: secret.len(),
                minimum: ringcache_admin::MIN_SECRET_LEN,
            });
        }
        Ok(Some(secret))
    }

    /// The cluster settings of this member (cluster mode only), resolved from the flags.
    pub fn cluster_options(&self, client_port: u16) -> Result<ClusterOptions, ConfigError> {
        let data_dir = self
            .data_dir
            .clone()
            .ok_or(ConfigError::ClusterWithoutDataDir)?;
        let ordinal = match self.ordinal {
            Some(ordinal) => ordinal,
            None => self
                .pod_name
                .as_deref()
                .and_then(|name| name.rsplit_once('-'))
                .and_then(|(_, suffix)| suffix.parse().ok())
                .ok_or_else(|| ConfigError::NoOrdinal(self.pod_name.clone()))?,
        };
        let advertise_host = match &self.advertise_host {
            Some(host) => host.clone(),
            None if !self.bind.is_unspecified() => self.bind.to_string(),
            None => hostname().map_err(ConfigError::NoAdvertiseHost)?,
        };
        let cluster_port = self.cluster_port(client_port)?;
        Ok(ClusterOptions {
            ordinal,
            advertise_host,
            client_port,
            cluster_port,
            data_dir,
            fsync: self.fsync,
            max_write_size: self.max_write_size as usize,
            read_policy: match self.read_policy {
                ReadPolicyArg::Lease => ringcache_replication::ReadPolicy::LeaderLease,
                ReadPolicyArg::ReadIndex => ringcache_replication::ReadPolicy::ReadIndex,
            },
            // Set by the server, which reads the secret and the TLS files once for every use.
            cluster_secret: None,
            cluster_tls: None,
        })
    }

    /// The cluster port: --cluster-port, else the client port + 10000.
    pub fn cluster_port(&self, client_port: u16) -> Result<u16, ConfigError> {
        match self.cluster_port {
            Some(port) => Ok(port),
            None => client_port
                .checked_add(10_000)
                .ok_or(ConfigError::NoClusterPort(client_port)),
        }
    }

    /// The admin API port, if it is served: cluster mode defaults to 9090.
    pub fn admin_port(&self) -> Option<u16> {
        self.admin_port.or(self
            .cluster_enabled
            .then_some(ringcache_admin::DEFAULT_ADMIN_PORT))
    }

    pub fn prepare_data_dir(&self) -> Result<(), ConfigError> {
        if let Some(path) = &self.data_dir {
            std::fs::create_dir_all(path).map_err(|source| ConfigError::DataDir {
                path: path.clone(),
                source,
            })?;
        }
        Ok(())
    }
}

/// The machine's host name (the kernel's, so no extra dependency).
fn hostname() -> Result<String, String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_owned())
        .map_err(|error| format!("cannot read the host name: {error}"))
        .and_then(|name| {
            if name.is_empty() {
                Err("the host name is empty".to_owned())
            } else {
                Ok(name)
            }
        })
}

/// Redis's `client-output-buffer-limit` for one class: hard bytes, soft bytes, soft seconds
/// (0 disables a limit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputLimit {
    pub hard: u64,
    pub soft: u64,
    pub soft_seconds: u64,
}

impl OutputLimit {
    /// Redis's default for the pubsub class: `32mb 8mb 60`.
    pub const PUBSUB_DEFAULT: OutputLimit = OutputLimit {
        hard: 32 * 1024 * 1024,
        soft: 8 * 1024 * 1024,
        soft_seconds: 60,
    };

    /// Parses `hard soft seconds` (sizes as Redis accepts them: `32mb`, `8388608`).
    pub fn parse(text: &str) -> Result<OutputLimit, String> {
        let parts: Vec<&str> = text.split_whitespace().collect();
        let [hard, soft, seconds] = parts.as_slice() else {
            return Err(format!("expected '<hard> <soft> <seconds>', got '{text}'"));
        };
        Self::from_parts(hard, soft, seconds)
    }

    pub fn from_parts(hard: &str, soft: &str, seconds: &str) -> Result<OutputLimit, String> {
        let size = |text: &str| parse_memory(text).map_err(|_| format!("invalid size '{text}'"));
        Ok(OutputLimit {
            hard: size(hard)?,
            soft: size(soft)?,
            soft_seconds: seconds
                .parse()
                .map_err(|_| format!("invalid number of seconds '{seconds}'"))?,
        })
    }
}

/// Parses a memory size the way Redis's `memtoull` does: `1k` = 1000, `1kb` = 1024, likewise m/mb,
/// g/gb, case-insensitive.
pub fn parse_memory(text: &str) -> Result<u64, String> {
    let lower = text.trim().to_ascii_lowercase();
    let split = lower
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(lower.len());
    let (digits, unit) = lower.split_at(split);
    let multiplier: u64 = match unit {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1024 * 1024 * 1024,
        _ => {
            return Err(format!(
                "invalid memory size '{text}' (use bytes or a unit: 100mb, 1gb, 512k)"
            ));
        }
    };
    let number: u64 = digits.parse().map_err(|_| {
        format!("invalid memory size '{text}' (use bytes or a unit: 100mb, 1gb, 512k)")
    })?;
    number
        .checked_mul(multiplier)
        .ok_or_else(|| format!("memory size '{text}' is too large"))
}

fn parse_policy(text: &str) -> Result<EvictionPolicy, String> {
    text.parse()
        .map_err(|error: crate::eviction::UnknownPolicy| error.to_string())
}

/// How a member runs in the cluster (from the command line).
#[derive(Debug, Clone)]
pub struct ClusterOptions {
    pub ordinal: u16,
    /// Host name or IP other members and clients use.
    pub advertise_host: String,
    /// The Redis port clients reach (as advertised).
    pub client_port: u16,
    /// The cluster (Raft) port, as advertised.
    pub cluster_port: u16,
    pub data_dir: PathBuf,
    pub fsync: bool,
    /// Largest encoded write a partition's log accepts.
    pub max_write_size: usize,
    pub read_policy: ringcache_replication::ReadPolicy,
    /// Authenticates the cluster port ([`ringcache_replication::handshake`]).
    pub cluster_secret: Option<ringcache_replication::ClusterSecret>,
    /// Mutual TLS on the cluster port, with the Redis port's certificate.
    pub cluster_tls: Option<std::sync::Arc<dyn ringcache_replication::ClusterTls>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_units_follow_redis() {
        assert_eq!(parse_memory("12345"), Ok(12345));
        assert_eq!(parse_memory("1k"), Ok(1000));
        assert_eq!(parse_memory("1kb"), Ok(1024));
        assert_eq!(parse_memory("100mb"), Ok(100 * 1024 * 1024));
        assert_eq!(parse_memory("1GB"), Ok(1024 * 1024 * 1024));
        assert_eq!(parse_memory("2g"), Ok(2_000_000_000));
        assert!(parse_memory("12q").is_err());
        assert!(parse_memory("mb").is_err());
        assert!(parse_memory("-1").is_err());
        assert!(parse_memory("99999999999999999999gb").is_err());
    }

    #[test]
    fn latency_flags_parse_and_reject_nonsense() {
        let config =
            Config::try_parse_from(["ringcache-node", "--threads", "1", "--idle-poll-us", "200"])
                .expect("flags");
        assert_eq!(config.threads.map(|threads| threads.get()), Some(1));
        assert_eq!(config.idle_poll, std::time::Duration::from_micros(200));
        let defaults = Config::try_parse_from(["ringcache-node"]).expect("defaults");
        assert_eq!(defaults.threads, None);
        assert!(defaults.idle_poll.is_zero());
        for bad in [
            ["--threads", "0"],
            ["--idle-poll-us", "five"],
            ["--idle-poll-us", "2ms"],
            ["--idle-poll-us", "100001"],
        ] {
            let error = Config::try_parse_from(["ringcache-node", bad[0], bad[1]])
                .expect_err("must be refused");
            assert!(error.to_string().contains(bad[0]), "{error}");
        }
    }

    #[test]
    fn flags_parse() {
        let config = Config::try_parse_from([
            "ringcache-node",
            "--port",
            "7000",
            "--maxmemory",
            "1mb",
            "--maxmemory-policy",
            "allkeys-lru",
            "--log-format",
            "json",
        ])
        .unwrap();
        assert_eq!(config.port, 7000);
        assert_eq!(config.maxmemory, 1024 * 1024);
        assert_eq!(config.maxmemory_policy, EvictionPolicy::AllKeysLru);
        assert!(Config::try_parse_from(["ringcache-node", "--maxmemory-policy", "lfu"]).is_err());
        assert!(Config::try_parse_from(["ringcache-node", "--port", "99999"]).is_err());
    }
}
