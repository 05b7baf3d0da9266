//! Kubernetes for gitops: staged server-side apply, drift, prune and health wait on kube-rs.
//!
//! With the `testenv` feature the crate also carries [`testenv`], an in-process Kubernetes API
//! server that kube-rs clients and kubectl use unchanged, for tests that need a cluster.

#[cfg(feature = "testenv")]
pub mod testenv;
