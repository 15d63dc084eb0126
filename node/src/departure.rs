//! [`Departure`]: whether the client of a blocking command (BLPOP …) left while it waited, told
//! by the connection to the executor and the cluster's blocking wait.

use std::sync::atomic::{AtomicBool, Ordering};

/// Whether the client of a blocking command left while it ran. A blocking command stops
/// waiting (answering nothing) once it happened; work already under way (a proposal in flight)
/// is finished, as Redis finishes a command whose client is gone.
#[derive(Debug, Default)]
pub struct Departure {
    happened: AtomicBool,
    noted: tokio::sync::Notify,
}

impl Departure {
    pub fn note(&self) {
        self.happened.store(true, Ordering::Relaxed);
        self.noted.notify_waiters();
    }

    pub fn happened(&self) -> bool {
        self.happened.load(Ordering::Relaxed)
    }

    /// Completes once the client has left.
    pub async fn left(&self) {
        loop {
            let noted = self.noted.notified();
            if self.happened() {
                return;
            }
            noted.await;
        }
    }
}
