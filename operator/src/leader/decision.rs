//! What to do about the Lease, given what it says and the time: pure functions.

use std::time::Duration;

/// The parts of a Lease the decision needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaseView {
    /// Current holder, if any.
    pub holder: Option<String>,
    /// When the holder last renewed it (Unix milliseconds).
    pub renewed_at_ms: Option<i64>,
    /// How long a renewal holds (seconds).
    pub duration_seconds: i32,
}

/// The next step of a replica that wants to lead.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LeaseDecision {
    /// No Lease exists: create it with us as holder.
    Create,
    /// The Lease is free or its holder's term ran out: take it over (optimistic, by resourceVersion).
    TakeOver,
    /// We hold it: renew it.
    Renew,
    /// Someone else holds an unexpired Lease: wait.
    Wait {
        /// The holder.
        holder: String,
        /// When its term ends unless renewed (Unix milliseconds).
        expires_at_ms: i64,
    },
}

/// Decides what `me` does about `lease` at `now_ms`.
pub fn decide(lease: Option<&LeaseView>, me: &str, now_ms: i64) -> LeaseDecision {
    let Some(lease) = lease else {
        return LeaseDecision::Create;
    };
    let holder = lease.holder.as_deref().filter(|holder| !holder.is_empty());
    match holder {
        None => LeaseDecision::TakeOver,
        Some(holder) if holder == me => LeaseDecision::Renew,
        Some(holder) => {
            let expires_at_ms = lease
                .renewed_at_ms
                .unwrap_or(i64::MIN / 2)
                .saturating_add(i64::from(lease.duration_seconds.max(1)) * 1000);
            if now_ms >= expires_at_ms {
                LeaseDecision::TakeOver
            } else {
                LeaseDecision::Wait {
                    holder: holder.to_owned(),
                    expires_at_ms,
                }
            }
        }
    }
}

/// Whether a leader whose last successful renewal was `since_renewal` ago must stop acting: once
/// the renew deadline passes, another replica may take the Lease at its expiry, so we stop before.
pub fn must_step_down(since_renewal: Duration, renew_deadline: Duration) -> bool {
    since_renewal >= renew_deadline
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lease(holder: Option<&str>, renewed_at_ms: i64) -> LeaseView {
        LeaseView {
            holder: holder.map(str::to_owned),
            renewed_at_ms: Some(renewed_at_ms),
            duration_seconds: 15,
        }
    }

    #[test]
    fn acquire_when_absent_or_free() {
        assert_eq!(decide(None, "a", 0), LeaseDecision::Create);
        assert_eq!(
            decide(Some(&lease(None, 1_000)), "a", 2_000),
            LeaseDecision::TakeOver
        );
        assert_eq!(
            decide(Some(&lease(Some(""), 1_000)), "a", 2_000),
            LeaseDecision::TakeOver
        );
    }

    #[test]
    fn renew_our_own_lease() {
        assert_eq!(
            decide(Some(&lease(Some("a"), 1_000)), "a", 100_000),
            LeaseDecision::Renew
        );
    }

    #[test]
    fn respect_another_holders_unexpired_lease() {
        assert_eq!(
            decide(Some(&lease(Some("b"), 10_000)), "a", 24_999),
            LeaseDecision::Wait {
                holder: "b".to_owned(),
                expires_at_ms: 25_000
            }
        );
        assert_eq!(
            decide(Some(&lease(Some("b"), 10_000)), "a", 25_000),
            LeaseDecision::TakeOver
        );
        let never_renewed = LeaseView {
            holder: Some("b".to_owned()),
            renewed_at_ms: None,
            duration_seconds: 15,
        };
        assert_eq!(
            decide(Some(&never_renewed), "a", 0),
            LeaseDecision::TakeOver
        );
    }

    #[test]
    fn step_down_once_the_renew_deadline_passes() {
        let deadline = Duration::from_secs(10);
        assert!(!must_step_down(Duration::from_secs(9), deadline));
        assert!(must_step_down(Duration::from_secs(10), deadline));
    }
}
