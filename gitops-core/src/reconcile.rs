//! Reconcilers (in progress).
