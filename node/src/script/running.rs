//! The scripts running now, each with the switch SCRIPT KILL turns to stop it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::Mutex;

/// The kill switches of the scripts running now (SCRIPT KILL).
#[derive(Debug, Default)]
pub struct RunningScripts {
    running: Mutex<Vec<Arc<AtomicBool>>>,
}

impl RunningScripts {
    /// Registers a run until the returned guard is dropped.
    pub fn enter(&self) -> Running<'_> {
        let kill = Arc::new(AtomicBool::new(false));
        self.running.lock().push(kill.clone());
        Running {
            scripts: self,
            kill,
        }
    }

    /// Stops every running script; `false` when none runs.
    pub fn kill_all(&self) -> bool {
        let running = self.running.lock();
        for kill in running.iter() {
            kill.store(true, Ordering::Relaxed);
        }
        !running.is_empty()
    }

    pub fn count(&self) -> usize {
        self.running.lock().len()
    }
}

/// A registered run (see [`RunningScripts::enter`]).
pub struct Running<'a> {
    scripts: &'a RunningScripts,
    kill: Arc<AtomicBool>,
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.scripts
            .running
            .lock()
            .retain(|kill| !Arc::ptr_eq(kill, &self.kill));
    }
}

impl Running<'_> {
    /// The switch to pass to the run ([`super::RunOptions::kill`]).
    pub fn kill(&self) -> &AtomicBool {
        &self.kill
    }
}
