//! Why a reconcile failed: one variant per failing step, with the object it concerned, and a fixed
//! category for metrics (error text never becomes a label).

/// A reconcile that could not finish. The controller retries it with backoff.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    /// The CacheCluster came without a namespace or uid (never the case for objects from the API).
    #[error("CacheCluster {name} has no namespace or uid")]
    MissingIdentity {
        /// Name of the CacheCluster.
        name: String,
    },
    /// Reading what exists (StatefulSet, pods) failed.
    #[error("observe {kind} of {namespace}/{name}: {source}")]
    Observe {
        /// Kind of object being read.
        kind: &'static str,
        /// Namespace of the cluster.
        namespace: String,
        /// Name of the cluster.
        name: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// Server-side apply (or delete) of an owned object failed.
    #[error("apply {kind} {namespace}/{name}: {source}")]
    Apply {
        /// Kind of the object.
        kind: &'static str,
        /// Namespace of the object.
        namespace: String,
        /// Name of the object.
        name: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// Writing the CacheCluster's status failed.
    #[error("update status of CacheCluster {namespace}/{name}: {source}")]
    Status {
        /// Namespace of the cluster.
        namespace: String,
        /// Name of the cluster.
        name: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
}

/// Fixed error categories for the `category` label of `ringcache_operator_reconcile_errors_total`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorCategory {
    /// The object was not usable (no namespace or uid).
    InvalidObject,
    /// Reading state failed.
    Observe,
    /// Writing an owned object failed with a conflict (409).
    Conflict,
    /// Writing an owned object failed otherwise.
    Apply,
    /// Writing status failed.
    Status,
}

impl ErrorCategory {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCategory::InvalidObject => "invalid_object",
            ErrorCategory::Observe => "observe",
            ErrorCategory::Conflict => "conflict",
            ErrorCategory::Apply => "apply",
            ErrorCategory::Status => "status",
        }
    }
}

/// The HTTP status of an API error, if the error is one.
pub fn api_status_code(error: &kube::Error) -> Option<u16> {
    match error {
        kube::Error::Api(status) => Some(status.code),
        _ => None,
    }
}

impl ReconcileError {
    /// The metrics category of this error.
    pub fn category(&self) -> ErrorCategory {
        match self {
            ReconcileError::MissingIdentity { .. } => ErrorCategory::InvalidObject,
            ReconcileError::Observe { .. } => ErrorCategory::Observe,
            ReconcileError::Apply { source, .. } if api_status_code(source) == Some(409) => {
                ErrorCategory::Conflict
            }
            ReconcileError::Apply { .. } => ErrorCategory::Apply,
            ReconcileError::Status { source, .. } if api_status_code(source) == Some(409) => {
                ErrorCategory::Conflict
            }
            ReconcileError::Status { .. } => ErrorCategory::Status,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::core::Status;

    fn api_error(code: u16) -> kube::Error {
        kube::Error::Api(Box::new(
            Status::failure("boom", "Conflict").with_code(code),
        ))
    }

    #[test]
    fn categories_are_fixed_strings() {
        let apply = |code| ReconcileError::Apply {
            kind: "StatefulSet",
            namespace: "ns".to_owned(),
            name: "demo".to_owned(),
            source: api_error(code),
        };
        assert_eq!(apply(409).category(), ErrorCategory::Conflict);
        assert_eq!(apply(500).category().as_str(), "apply");
        let error = apply(500);
        assert!(error.to_string().starts_with("apply StatefulSet ns/demo: "));
    }
}
