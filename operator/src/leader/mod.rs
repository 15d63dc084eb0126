//! Leader election through a `coordination.k8s.io/v1` Lease, so that of two operator replicas only
//! one ever acts. The decision logic ([`decision`]) is pure and unit-tested; [`elector`] does the IO.

pub mod decision;
pub mod elector;

pub use decision::{LeaseDecision, LeaseView, decide, must_step_down};
pub use elector::{Elector, ElectorConfig};
