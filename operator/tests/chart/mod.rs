//! Rendering the Helm chart with the real `helm template`, for the chart tests (`chart_rbac.rs`,
//! `chart_operator.rs`).
//!
//! helm is found through `RINGCACHE_HELM`, else `~/.cache/ringcache/bin/helm`, else `PATH`
//! (`scripts/install-deps.sh` installs the pinned one).

use serde::Deserialize;
use serde_yaml::Value;
use std::path::PathBuf;
use std::process::Command;

/// The namespace every render installs into.
pub const RELEASE_NAMESPACE: &str = "ringcache-system";

pub fn helm() -> PathBuf {
    if let Some(path) = std::env::var_os("RINGCACHE_HELM") {
        return PathBuf::from(path);
    }
    if let Some(home) = std::env::var_os("HOME") {
        let cached = PathBuf::from(home).join(".cache/ringcache/bin/helm");
        if cached.is_file() {
            return cached;
        }
    }
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join("helm"))
                .find(|candidate| candidate.is_file())
        })
        .unwrap_or_else(|| {
            panic!(
                "no helm: set RINGCACHE_HELM, or run scripts/install-deps.sh (it installs helm v4.3.1 \
                 into ~/.cache/ringcache/bin)"
            )
        })
}

/// The chart rendered as release `ringcache` with `--set` `values`, one document per object.
pub fn render(values: &[&str]) -> Vec<Value> {
    let chart = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../charts/ringcache-operator");
    let helm = helm();
    let mut command = Command::new(&helm);
    command.args(["template", "ringcache", "--namespace", RELEASE_NAMESPACE]);
    command.arg(&chart);
    for value in values {
        command.args(["--set", value]);
    }
    let output = command.output().unwrap_or_else(|error| {
        panic!(
            "cannot run helm at {}: {error} (run scripts/install-deps.sh, or set RINGCACHE_HELM)",
            helm.display()
        )
    });
    assert!(
        output.status.success(),
        "helm template {values:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let rendered = String::from_utf8(output.stdout).expect("UTF-8");
    serde_yaml::Deserializer::from_str(&rendered)
        .map(|document| Value::deserialize(document).expect("rendered YAML parses"))
        .filter(|document| !document.is_null())
        .collect()
}
