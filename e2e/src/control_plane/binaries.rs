//! Where the control plane's binaries are: built by `scripts/install-kube.sh` into
//! `~/.cache/ringcache/kube/<version>/bin`, or a directory named by `RINGCACHE_KUBE_BIN_DIR`.

use std::path::PathBuf;

use super::ControlPlaneError;

/// The Kubernetes version `scripts/install-kube.sh` builds (keep the two in step).
pub const KUBE_VERSION: &str = "v1.37.2";

/// Paths of etcd, kube-apiserver and kube-controller-manager.
#[derive(Debug, Clone)]
pub struct KubeBinaries {
    pub etcd: PathBuf,
    pub apiserver: PathBuf,
    pub controller_manager: PathBuf,
}

impl KubeBinaries {
    /// The directory the binaries are looked up in.
    pub fn directory() -> PathBuf {
        if let Some(dir) = std::env::var_os("RINGCACHE_KUBE_BIN_DIR") {
            return PathBuf::from(dir);
        }
        PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
            .join(".cache/ringcache/kube")
            .join(KUBE_VERSION)
            .join("bin")
    }

    /// The binaries, if all three are there; else an error saying how to build them.
    pub fn find() -> Result<Self, ControlPlaneError> {
        let dir = Self::directory();
        let binaries = KubeBinaries {
            etcd: dir.join("etcd"),
            apiserver: dir.join("kube-apiserver"),
            controller_manager: dir.join("kube-controller-manager"),
        };
        let missing: Vec<String> = [
            &binaries.etcd,
            &binaries.apiserver,
            &binaries.controller_manager,
        ]
        .into_iter()
        .filter(|path| !path.is_file())
        .map(|path| path.display().to_string())
        .collect();
        if missing.is_empty() {
            Ok(binaries)
        } else {
            Err(ControlPlaneError::MissingBinaries {
                missing: missing.join(", "),
            })
        }
    }
}
