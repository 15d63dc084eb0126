//! `ringcache-operator`: the Kubernetes operator of ringcache.
//!
//! Today it ships the user-facing preview of a scale operation, `ringcache-operator plan`: which
//! partition replicas would move, and how much of the data that is. The reconciler (`run`) and the CRD
//! generator (`crd`) come with the operator issue.
//!
//! ```text
//!  flags ──► cli::PlanArgs ──validate──► PlanRequest ──placement + plan (pure)──► PlanReport ──► table | JSON
//! ```

pub mod cli;
pub mod plan_report;
