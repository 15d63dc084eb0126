//! [`NodeProcess`]: one pod's `ringcache-node` process.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};

use super::probe::Readiness;
use super::spec::ProcessPlan;
use super::terminate::StopPlan;

/// The Pod a process runs for, and how to stop it.
#[derive(Debug, Clone)]
pub struct ProcessOwner {
    pub namespace: String,
    pub pod: String,
    pub uid: Option<String>,
    pub stop_plan: StopPlan,
}

/// A running (or exited) pod process. Dropping it kills the process.
pub struct NodeProcess {
    child: Child,
    restarts: u32,
    owner: ProcessOwner,
    /// The readiness probe's state for this container.
    pub readiness: Readiness,
}

impl NodeProcess {
    /// Starts `binary` with the plan's arguments and environment, logging to `log`.
    pub fn start(
        binary: &Path,
        plan: &ProcessPlan,
        log: &Path,
        data_dir: &Path,
        restarts: u32,
        owner: ProcessOwner,
    ) -> std::io::Result<Self> {
        if let Some(parent) = log.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::create_dir_all(data_dir)?;
        let log_file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)?;
        let child = Command::new(binary)
            .args(&plan.args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            // The runner's RUST_LOG, if set, reaches the pods; else the node's own default.
            .envs(
                std::env::var("RUST_LOG")
                    .ok()
                    .map(|filter| ("RUST_LOG", filter)),
            )
            .envs(plan.env.iter().map(|(name, value)| (name, value)))
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file)
            .kill_on_drop(true)
            .spawn()?;
        Ok(NodeProcess {
            child,
            restarts,
            owner,
            readiness: Readiness::default(),
        })
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    pub fn restarts(&self) -> u32 {
        self.restarts
    }

    pub fn owner(&self) -> &ProcessOwner {
        &self.owner
    }

    /// Whether the process still runs.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGTERM (the node hands its leaderships away and exits), then SIGKILL after `grace`.
    /// Whether it exited by itself (or had already).
    pub async fn stop(mut self, grace: Duration) -> bool {
        if let Some(pid) = self.child.id() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(pid.to_string())
                .status()
                .await;
            if tokio::time::timeout(grace, self.child.wait()).await.is_ok() {
                return true;
            }
        } else {
            return true;
        }
        let _ = self.child.kill().await;
        false
    }
}
