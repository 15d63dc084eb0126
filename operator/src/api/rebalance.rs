//! `spec.rebalance`: how the operator moves partition replicas when the member count changes.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Control over data movement when `replicas` changes.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RebalanceSpec {
    /// Stop starting new replica moves (a move in flight finishes). Objects are still reconciled and
    /// status stays current.
    #[serde(default)]
    pub paused: bool,
    /// Most replica moves in flight at once.
    #[serde(default = "default_max_concurrent_moves")]
    #[schemars(range(min = 1, max = 64))]
    pub max_concurrent_moves: i32,
    /// Seconds a move may go without progress before the cluster reports `Degraded` with reason
    /// `RebalanceStalled`.
    #[serde(default = "default_progress_deadline_seconds")]
    #[schemars(range(min = 30))]
    pub progress_deadline_seconds: i32,
}

impl Default for RebalanceSpec {
    fn default() -> Self {
        RebalanceSpec {
            paused: false,
            max_concurrent_moves: default_max_concurrent_moves(),
            progress_deadline_seconds: default_progress_deadline_seconds(),
        }
    }
}

fn default_max_concurrent_moves() -> i32 {
    1
}

fn default_progress_deadline_seconds() -> i32 {
    600
}
