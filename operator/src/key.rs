//! The operator key (`run --cluster-key-file`) and the per-cluster secrets derived from it.
//!
//! Every CacheCluster has a secret that only its members and the operator know: the members need it
//! on the cluster port and the admin API, the operator on the admin API. The operator *derives* it
//! (`ringcache_admin::derive_cluster_secret`, an HMAC of the cluster's namespace, name and uid under
//! this key) instead of generating and storing it, so it never has to read a Secret back: after a
//! restart, or as a second replica, it computes the same value again. It writes the value into the
//! Secret `<name>-cluster-secret` (create and patch only) for the kubelet to mount into the pods.
//!
//! Neither the key nor a derived secret ever appears in `Debug` output, logs or errors.

use std::path::{Path, PathBuf};

use crate::build::ClusterIdentity;

/// Shortest operator key accepted, in bytes (after the trailing newline is trimmed): 256 bits when
/// the bytes are random, and the shortest cluster secret a member accepts.
pub const MIN_KEY_LEN: usize = ringcache_admin::MIN_SECRET_LEN;

/// Why the operator key could not be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// `run` was started without `--cluster-key-file`.
    #[error(
        "no operator key: pass --cluster-key-file PATH (or set RINGCACHE_CLUSTER_KEY_FILE), a file holding at least {MIN_KEY_LEN} bytes, for example made with `openssl rand -hex 32 > key`. Every cluster's secret is derived from it, so keep it: another key makes new secrets the running members do not have. The Helm chart creates one (Secret <release>-ringcache-operator-key, or operatorKey.existingSecret) and mounts it"
    )]
    Missing,
    /// The file cannot be read.
    #[error(
        "cannot read the operator key --cluster-key-file {path}: {source} (in a pod, the key Secret's volume must be readable by the operator's user: the chart mounts it with fsGroup)"
    )]
    Read {
        /// The file.
        path: PathBuf,
        /// The IO error.
        #[source]
        source: std::io::Error,
    },
    /// The file is empty, or holds only a newline.
    #[error(
        "the operator key --cluster-key-file {path} is empty; it needs at least {MIN_KEY_LEN} bytes (for example `openssl rand -hex 32 > key`)"
    )]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// The file holds too few bytes to be a key.
    #[error(
        "the operator key --cluster-key-file {path} holds {length} bytes; it needs at least {MIN_KEY_LEN} (for example `openssl rand -hex 32 > key`)"
    )]
    TooShort {
        /// The file.
        path: PathBuf,
        /// Bytes it holds (after the trailing newline is trimmed).
        length: usize,
    },
}

/// The key every cluster secret is derived from.
#[derive(Clone)]
pub struct OperatorKey {
    bytes: Vec<u8>,
}

// Never printed.
impl std::fmt::Debug for OperatorKey {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("OperatorKey(<redacted>)")
    }
}

/// `bytes` without one trailing newline (`\n` or `\r\n`), as an editor or `echo` leaves it.
fn trim_newline(bytes: &[u8]) -> &[u8] {
    match bytes.strip_suffix(b"\n") {
        Some(line) => line.strip_suffix(b"\r").unwrap_or(line),
        None => bytes,
    }
}

impl OperatorKey {
    /// The key in `contents` (a file's bytes; one trailing newline is trimmed). `path` names the
    /// file in errors.
    pub fn from_file_contents(path: &Path, contents: &[u8]) -> Result<Self, KeyError> {
        let bytes = trim_newline(contents);
        if bytes.is_empty() {
            return Err(KeyError::Empty {
                path: path.to_path_buf(),
            });
        }
        if bytes.len() < MIN_KEY_LEN {
            return Err(KeyError::TooShort {
                path: path.to_path_buf(),
                length: bytes.len(),
            });
        }
        Ok(OperatorKey {
            bytes: bytes.to_vec(),
        })
    }

    /// Reads the key file `path` (`None`: the flag was not given).
    pub fn read(path: Option<&Path>) -> Result<Self, KeyError> {
        let path = path.ok_or(KeyError::Missing)?;
        let contents = std::fs::read(path).map_err(|source| KeyError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_file_contents(path, &contents)
    }

    /// The secret of the cluster `identity` names (its namespace, name and uid).
    pub fn cluster_secret(&self, identity: &ClusterIdentity) -> ClusterSecret {
        ClusterSecret(ringcache_admin::derive_cluster_secret(
            &self.bytes,
            &identity.namespace,
            &identity.name,
            &identity.owner.uid,
        ))
    }
}

/// One cluster's secret (64 hex digits): what the operator writes into `<name>-cluster-secret` and
/// sends as `Authorization: Bearer …` on every admin call to the cluster's members.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ClusterSecret(String);

// Never printed.
impl std::fmt::Debug for ClusterSecret {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("ClusterSecret(<redacted>)")
    }
}

impl ClusterSecret {
    /// The secret itself, for the Secret object and the admin client; nothing else should need it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::build::desired::tests::cluster;

    /// A key for tests.
    pub(crate) fn test_key() -> OperatorKey {
        OperatorKey::from_file_contents(
            Path::new("test-key"),
            b"0123456789abcdef0123456789abcdef\n",
        )
        .unwrap()
    }

    #[test]
    fn one_trailing_newline_is_trimmed_and_short_keys_are_refused() {
        let path = Path::new("/etc/key");
        let key = |contents: &[u8]| OperatorKey::from_file_contents(path, contents);
        let thirty_two = b"0123456789abcdef0123456789abcdef";
        let identity = ClusterIdentity::of(&cluster(3)).unwrap();
        let plain = key(thirty_two).unwrap().cluster_secret(&identity);
        for variant in [
            &b"0123456789abcdef0123456789abcdef\n"[..],
            b"0123456789abcdef0123456789abcdef\r\n",
        ] {
            assert_eq!(key(variant).unwrap().cluster_secret(&identity), plain);
        }
        assert!(matches!(key(b""), Err(KeyError::Empty { .. })));
        assert!(matches!(key(b"\n"), Err(KeyError::Empty { .. })));
        let short = key(&thirty_two[..31]).unwrap_err();
        assert!(matches!(short, KeyError::TooShort { length: 31, .. }));
        assert!(short.to_string().contains("at least 32"), "{short}");
        // Only one newline goes: a second one is part of the key.
        assert_ne!(
            key(b"0123456789abcdef0123456789abcdef\n\n")
                .unwrap()
                .cluster_secret(&identity),
            plain
        );
    }

    #[test]
    fn a_missing_key_says_what_to_pass() {
        let missing = OperatorKey::read(None).unwrap_err().to_string();
        assert!(missing.contains("--cluster-key-file"), "{missing}");
        assert!(missing.contains("RINGCACHE_CLUSTER_KEY_FILE"), "{missing}");
        assert!(missing.contains("Helm chart"), "{missing}");
        let unreadable = OperatorKey::read(Some(Path::new("/nonexistent/ringcache-key")))
            .unwrap_err()
            .to_string();
        assert!(
            unreadable.contains("/nonexistent/ringcache-key"),
            "{unreadable}"
        );
    }

    #[test]
    fn the_secret_is_the_shared_derivation_of_the_clusters_identity() {
        let identity = ClusterIdentity::of(&cluster(3)).unwrap();
        let secret = test_key().cluster_secret(&identity);
        assert_eq!(
            secret.expose(),
            ringcache_admin::derive_cluster_secret(
                b"0123456789abcdef0123456789abcdef",
                "cache",
                "demo",
                "0b1c2d3e-0000-4000-8000-000000000001"
            )
        );
        assert_eq!(secret.expose().len(), 64);
        // Neither the key nor the secret is ever printed.
        assert!(!format!("{:?}", test_key()).contains("0123"));
        assert!(!format!("{secret:?}").contains(secret.expose()));
    }
}
