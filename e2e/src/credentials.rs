//! The harness's side of the cluster secret: an operator key for the operator it starts, and the
//! secret of a CacheCluster for the harness's own calls to the members' admin API (which requires it
//! on every route but the probes, `/metrics` and the pre-stop hook).
//!
//! The harness reads the secret from the Secret `<name>-cluster-secret` the operator writes, through
//! its admin client (the operator itself never reads a Secret). That works against the stand-in, the
//! real control plane and a real cluster alike, where the harness does not know the operator's key;
//! locally, [`crate::local::LocalCluster::cluster_secret`] also derives it from the key, and the two
//! must agree.

use std::io::Read;
use std::path::Path;

use k8s_openapi::api::core::v1::Secret;
use kube::Client;
use kube::api::Api;

/// The key inside the cluster's Secret (the operator's `build::CLUSTER_SECRET_KEY`).
pub const SECRET_KEY: &str = "secret";

/// Name of the Secret that holds CacheCluster `name`'s secret.
pub fn cluster_secret_name(name: &str) -> String {
    format!("{name}-cluster-secret")
}

/// Why the harness has no credential.
#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    #[error("reading Secret {namespace}/{name}: {source}")]
    Read {
        namespace: String,
        name: String,
        source: kube::Error,
    },
    #[error("Secret {namespace}/{name} has no key `{SECRET_KEY}`")]
    NoKey { namespace: String, name: String },
    #[error("the operator key file {path}: {source}")]
    KeyFile {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
}

/// The secret of CacheCluster `namespace/name`, as its Secret holds it (what the members read).
pub async fn read_cluster_secret(
    client: &Client,
    namespace: &str,
    name: &str,
) -> Result<String, CredentialError> {
    let secret_name = cluster_secret_name(name);
    let secrets: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let secret = secrets
        .get(&secret_name)
        .await
        .map_err(|source| CredentialError::Read {
            namespace: namespace.to_owned(),
            name: secret_name.clone(),
            source,
        })?;
    secret
        .data
        .as_ref()
        .and_then(|data| data.get(SECRET_KEY))
        .map(|value| String::from_utf8_lossy(&value.0).into_owned())
        .ok_or(CredentialError::NoKey {
            namespace: namespace.to_owned(),
            name: secret_name,
        })
}

/// The operator key in `path`: kept when the file already holds one (a restarted operator, or a
/// state directory used again, must derive the same secrets), else 64 random hex digits written
/// there, readable by the owner only. Returns the key as the operator uses it (trailing newline
/// trimmed).
pub fn ensure_operator_key(path: &Path) -> Result<Vec<u8>, CredentialError> {
    let error = |source| CredentialError::KeyFile {
        path: path.to_path_buf(),
        source,
    };
    if let Ok(existing) = std::fs::read(path) {
        let key = existing.strip_suffix(b"\n").unwrap_or(&existing);
        if key.len() >= ringcache_admin::MIN_SECRET_LEN {
            return Ok(key.to_vec());
        }
    }
    let mut random = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut urandom| urandom.read_exact(&mut random))
        .map_err(error)?;
    let key: String = random.iter().map(|byte| format!("{byte:02x}")).collect();
    write_private(path, format!("{key}\n").as_bytes()).map_err(error)?;
    Ok(key.into_bytes())
}

fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let _ = std::fs::remove_file(path);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents)
}

/// Writes `key` (an operator key, e.g. read from the chart's Secret) to `path` for the operator's
/// `--cluster-key-file`, readable by the owner only.
pub fn write_operator_key(path: &Path, key: &[u8]) -> Result<(), CredentialError> {
    write_private(path, key).map_err(|source| CredentialError::KeyFile {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_made_once_and_then_kept() {
        let dir = std::env::temp_dir().join(format!("ringcache-e2e-key-{}", std::process::id()));
        let path = dir.join("operator-key");
        let _ = std::fs::remove_dir_all(&dir);
        let first = ensure_operator_key(&path).unwrap();
        assert_eq!(first.len(), 64);
        assert!(first.iter().all(u8::is_ascii_hexdigit));
        assert_eq!(ensure_operator_key(&path).unwrap(), first);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        // A file too short to be a key is replaced.
        std::fs::write(&path, b"short").unwrap();
        assert_ne!(ensure_operator_key(&path).unwrap(), first);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
