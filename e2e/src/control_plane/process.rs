//! [`ManagedProcess`]: one control-plane process (etcd, kube-apiserver, kube-controller-manager)
//! owned by the harness. Dropping it kills the process, so a panicking test cannot leave an API
//! server behind on the machine; a watchdog shell kills it too if the harness process itself dies
//! without unwinding (SIGKILL, abort), which no destructor sees.

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::ControlPlaneError;

/// A child process with its log file; killed on drop.
#[derive(Debug)]
pub struct ManagedProcess {
    name: &'static str,
    child: Child,
    watchdog: Option<Child>,
    log: PathBuf,
}

impl ManagedProcess {
    /// Starts `binary args…` with stdout and stderr appended to `log`.
    pub fn start(
        name: &'static str,
        binary: &Path,
        args: &[String],
        log: PathBuf,
    ) -> Result<Self, ControlPlaneError> {
        let io = |source| ControlPlaneError::Io {
            what: format!("log file {}", log.display()),
            source,
        };
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .map_err(io)?;
        let error_file = file.try_clone().map_err(io)?;
        let child = Command::new(binary)
            .args(args)
            .stdin(Stdio::null())
            .stdout(file)
            .stderr(error_file)
            .spawn()
            .map_err(|source| ControlPlaneError::Io {
                what: format!("starting {}", binary.display()),
                source,
            })?;
        let watchdog = watchdog(child.id());
        Ok(ManagedProcess {
            name,
            child,
            watchdog,
            log,
        })
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    pub fn log(&self) -> &Path {
        &self.log
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `Err` with the end of its log if the process has exited.
    pub fn check_running(&mut self) -> Result<(), ControlPlaneError> {
        match self.child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => Err(ControlPlaneError::Exited {
                what: self.name,
                status: status.to_string(),
                log: self.log.clone(),
                tail: log_tail(&self.log),
            }),
            Err(source) => Err(ControlPlaneError::Io {
                what: format!("waiting for {}", self.name),
                source,
            }),
        }
    }

    /// SIGTERM, then SIGKILL if it has not exited within `grace`.
    pub fn stop(mut self, grace: Duration) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = std::time::Instant::now() + grace;
        while std::time::Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        // Drop kills and reaps it.
    }
}

impl Drop for ManagedProcess {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
        if let Some(mut watchdog) = self.watchdog.take() {
            let _ = watchdog.kill();
            let _ = watchdog.wait();
        }
    }
}

/// A shell that polls, once a second, whether this process (the harness) and `child` still run, and
/// kills `child` once the harness is gone while the child is not. (No `PR_SET_PDEATHSIG`: that needs
/// `unsafe` `pre_exec`, which this workspace denies.) `None` if no shell can be started; the drop
/// guard still covers everything short of the harness being killed outright.
fn watchdog(child: u32) -> Option<Child> {
    Command::new("sh")
        .args([
            "-c",
            "while kill -0 \"$0\" 2>/dev/null && kill -0 \"$1\" 2>/dev/null; do sleep 1; done; \
             if ! kill -0 \"$0\" 2>/dev/null; then kill -9 \"$1\" 2>/dev/null; fi",
            &std::process::id().to_string(),
            &child.to_string(),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()
}

/// The last lines of a log, for error messages.
pub fn log_tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

/// A free loopback port. The processes take port numbers, not listeners, so the port is released
/// before they bind it; the kernel does not hand a just-released ephemeral port out again at once.
pub fn free_port() -> Result<u16, ControlPlaneError> {
    let listener =
        TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).map_err(|source| {
            ControlPlaneError::Io {
                what: "finding a free loopback port".to_owned(),
                source,
            }
        })?;
    listener
        .local_addr()
        .map(|address| address.port())
        .map_err(|source| ControlPlaneError::Io {
            what: "finding a free loopback port".to_owned(),
            source,
        })
}
