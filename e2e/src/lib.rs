//! End-to-end tests of ringcache, run against the real binaries.
//!
//! Today: the `ringcache-operator plan` command line, driven as a user or a script would (see
//! `tests/`). Planned (issue 6): a Kubernetes API stand-in, a pod runner and `ringcache-local`.
