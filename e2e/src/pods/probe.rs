//! The kubelet's readiness bookkeeping for one container: not ready until the probe first
//! succeeds, ready at the first success, not ready again only after `failureThreshold` probes in a
//! row failed (`(failureThreshold - 1) × periodSeconds` after the first of them). A member whose
//! `/readyz` answers "no" for a moment (a partition changing leader) stays Ready, as on a real
//! kubelet, instead of flickering; the StatefulSet controller would otherwise take the flicker for
//! an unavailable pod.
//!
//! The runner probes every round (500 ms, every pod at once) rather than every `periodSeconds`, so a
//! pod turns Ready sooner than on a kubelet; turning not ready takes as long. A probe that gets no
//! answer within `timeoutSeconds` (default 1 s) failed.

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;

/// The readiness probe's timing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProbeTiming {
    pub period: Duration,
    pub failure_threshold: u32,
    /// How long one probe may take (`timeoutSeconds`).
    pub timeout: Duration,
}

impl Default for ProbeTiming {
    /// Kubernetes' defaults: every 10 s, 3 failures, 1 s per probe.
    fn default() -> Self {
        ProbeTiming {
            period: Duration::from_secs(10),
            failure_threshold: 3,
            timeout: Duration::from_secs(1),
        }
    }
}

/// The readiness probe's timing of `pod`'s first container (defaults where unset).
pub fn probe_timing(pod: &Pod) -> ProbeTiming {
    let probe = pod
        .spec
        .as_ref()
        .and_then(|spec| spec.containers.first())
        .and_then(|container| container.readiness_probe.as_ref());
    let defaults = ProbeTiming::default();
    ProbeTiming {
        period: probe
            .and_then(|probe| probe.period_seconds)
            .map_or(defaults.period, |seconds| {
                Duration::from_secs(seconds.max(1) as u64)
            }),
        failure_threshold: probe
            .and_then(|probe| probe.failure_threshold)
            .map_or(defaults.failure_threshold, |threshold| {
                threshold.max(1) as u32
            }),
        timeout: probe
            .and_then(|probe| probe.timeout_seconds)
            .map_or(defaults.timeout, |seconds| {
                Duration::from_secs(seconds.max(1) as u64)
            }),
    }
}

/// One container's readiness over time.
#[derive(Debug, Clone, Default)]
pub struct Readiness {
    ready: bool,
    failures: u32,
    failing_since: Option<Instant>,
}

impl Readiness {
    pub fn ready(&self) -> bool {
        self.ready
    }

    /// Folds in one probe result at `now`; returns the readiness after it.
    pub fn observe(&mut self, success: bool, now: Instant, timing: ProbeTiming) -> bool {
        if success {
            *self = Readiness {
                ready: true,
                ..Readiness::default()
            };
            return true;
        }
        self.failures += 1;
        let since = *self.failing_since.get_or_insert(now);
        let long_enough =
            now.duration_since(since) >= timing.period * (timing.failure_threshold - 1);
        if self.failures >= timing.failure_threshold && long_enough {
            self.ready = false;
        }
        self.ready
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIMING: ProbeTiming = ProbeTiming {
        period: Duration::from_secs(5),
        failure_threshold: 3,
        timeout: Duration::from_secs(1),
    };

    #[test]
    fn not_ready_until_the_first_success() {
        let start = Instant::now();
        let mut readiness = Readiness::default();
        assert!(!readiness.observe(false, start, TIMING));
        assert!(readiness.observe(true, start + Duration::from_secs(1), TIMING));
    }

    #[test]
    fn a_short_failure_keeps_the_pod_ready() {
        let start = Instant::now();
        let mut readiness = Readiness::default();
        readiness.observe(true, start, TIMING);
        // Probed every 500 ms: six failures in 2.5 s are not 10 s of failing.
        for step in 1..=6 {
            let at = start + Duration::from_millis(500 * step);
            assert!(readiness.observe(false, at, TIMING), "step {step}");
        }
        assert!(readiness.observe(true, start + Duration::from_secs(4), TIMING));
    }

    #[test]
    fn a_lasting_failure_makes_it_not_ready() {
        let start = Instant::now();
        let mut readiness = Readiness::default();
        readiness.observe(true, start, TIMING);
        assert!(readiness.observe(false, start + Duration::from_secs(1), TIMING));
        assert!(readiness.observe(false, start + Duration::from_secs(6), TIMING));
        assert!(!readiness.observe(false, start + Duration::from_secs(11), TIMING));
        assert!(!readiness.ready());
    }

    #[test]
    fn timing_comes_from_the_probe() {
        let pod: Pod = serde_json::from_value(serde_json::json!({
            "spec": {"containers": [{"name": "node", "readinessProbe": {
                "httpGet": {"path": "/readyz", "port": "admin"},
                "periodSeconds": 5, "failureThreshold": 3}}]}
        }))
        .unwrap();
        assert_eq!(probe_timing(&pod), TIMING);
        assert_eq!(probe_timing(&Pod::default()), ProbeTiming::default());
    }
}
