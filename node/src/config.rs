//! Command-line configuration.

use std::path::PathBuf;

use clap::{Parser, ValueEnum};
use thiserror::Error;

use crate::eviction::EvictionPolicy;

/// Environment variable holding the password when `--requirepass-file` is not given.
pub const PASSWORD_ENV: &str = "RINGCACHE_PASSWORD";

#[derive(Debug, Clone, Parser)]
#[command(
    name = "ringcache-node",
    version,
    about = "A ringcache cache node: an in-memory cache that speaks the Redis protocol (RESP2/RESP3).",
    long_about = "A ringcache cache node: an in-memory cache that speaks the Redis protocol (RESP2/RESP3).\n\n\
                  Today it runs as a single process; nothing is persisted (--data-dir is accepted and \
                  created for the replicated version to come). The password is read from \
                  --requirepass-file or the RINGCACHE_PASSWORD environment variable."
)]
pub struct Config {
    /// TCP port for Redis clients (0 picks a free port).
    #[arg(long, default_value_t = 6379)]
    pub port: u16,

    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: std::net::IpAddr,

    /// Directory for durable state. Accepted and created, but NOTHING IS PERSISTED YET: all data lives
    /// in memory and is lost when the process exits.
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

    /// Log format; the level comes from RUST_LOG (default info).
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Most clients connected at once.
    #[arg(long, default_value_t = 10_000)]
    pub maxclients: usize,
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
