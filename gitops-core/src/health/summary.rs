//! Folding the results of a health check into what a reconciler decides and reports.

use super::{Health, Status};
use crate::ObjectRef;

/// The outcome of a health check over a set of objects.
///
/// Lists keep the order of the results given to [`summarize`], so that messages are stable
/// from one poll to the next.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Aggregate {
    /// Every object that is not [`Status::Current`], with its health (failed ones included).
    pub not_ready: Vec<(ObjectRef, Health)>,
    /// The objects whose status is [`Status::Failed`].
    pub failed: Vec<ObjectRef>,
}

/// Summarizes the health of a set of objects.
///
/// ```
/// use gitops_core::{ObjectRef, health::{self, Health, Status}};
/// let results = [
///     (ObjectRef::new("apps", "Deployment", "ns", "x"), Health::new(Status::InProgress, "Ready: 0/1")),
///     (ObjectRef::new("batch", "Job", "ns", "y"), Health::new(Status::Failed, "Job Failed. failed: 1/1")),
///     (ObjectRef::new("", "ConfigMap", "ns", "z"), Health::new(Status::Current, "Resource is always ready")),
/// ];
/// let summary = health::summarize(&results);
/// assert!(!summary.all_current());
/// assert_eq!(
///     summary.timeout_message(),
///     "timeout waiting for: [Deployment/ns/x status: 'InProgress', Job/ns/y status: 'Failed']",
/// );
/// assert_eq!(
///     summary.stalled_message(),
///     "failed early due to stalled resources: [Job/ns/y status: 'Failed']",
/// );
/// ```
pub fn summarize(results: &[(ObjectRef, Health)]) -> Aggregate {
    let not_ready: Vec<(ObjectRef, Health)> = results
        .iter()
        .filter(|(_, health)| !health.is_current())
        .cloned()
        .collect();
    let failed = not_ready
        .iter()
        .filter(|(_, health)| health.status == Status::Failed)
        .map(|(object, _)| object.clone())
        .collect();
    Aggregate { not_ready, failed }
}

impl Aggregate {
    /// Whether every object is current: the health check passed.
    pub fn all_current(&self) -> bool {
        self.not_ready.is_empty()
    }

    /// Whether some object failed, the signal for Flux's fail-fast: waiting longer will not
    /// help.
    pub fn any_failed(&self) -> bool {
        !self.failed.is_empty()
    }

    /// The objects that are not current, as Flux lists them:
    /// `[Deployment/ns/x status: 'InProgress', Job/ns/y status: 'Failed']`.
    pub fn not_ready_list(&self) -> String {
        format_list(self.not_ready.iter())
    }

    /// The failed objects, as Flux lists them: `[Job/ns/y status: 'Failed']`.
    pub fn failed_list(&self) -> String {
        format_list(
            self.not_ready
                .iter()
                .filter(|(_, health)| health.status == Status::Failed),
        )
    }

    /// The message of a health check that ran out of time:
    /// `timeout waiting for: [Deployment/ns/x status: 'InProgress']`.
    pub fn timeout_message(&self) -> String {
        format!("timeout waiting for: {}", self.not_ready_list())
    }

    /// The message of a health check stopped early because objects failed:
    /// `failed early due to stalled resources: [Job/ns/y status: 'Failed']`.
    pub fn stalled_message(&self) -> String {
        format!(
            "failed early due to stalled resources: {}",
            self.failed_list()
        )
    }
}

/// `[A status: 'S', B status: 'S']`. An `Unknown` status carries the reason the object could
/// not be read, as Flux appends a status reader's error.
fn format_list<'a>(entries: impl Iterator<Item = &'a (ObjectRef, Health)>) -> String {
    let items: Vec<String> = entries
        .map(|(object, health)| match health.status {
            Status::Unknown => format!("{object} status: '{}': {}", health.status, health.message),
            status => format!("{object} status: '{status}'"),
        })
        .collect();
    format!("[{}]", items.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(kind: &str, name: &str, status: Status) -> (ObjectRef, Health) {
        (
            ObjectRef::new("", kind, "ns", name),
            Health::new(status, "msg"),
        )
    }

    #[test]
    fn all_current_when_every_object_is_current() {
        let summary = summarize(&[
            entry("Deployment", "a", Status::Current),
            entry("Service", "b", Status::Current),
        ]);
        assert!(summary.all_current());
        assert!(!summary.any_failed());
        assert_eq!(summary.not_ready_list(), "[]");
    }

    #[test]
    fn empty_set_is_all_current() {
        assert!(summarize(&[]).all_current());
    }

    #[test]
    fn not_ready_keeps_order_and_includes_every_non_current_status() {
        let summary = summarize(&[
            entry("Deployment", "x", Status::InProgress),
            entry("ConfigMap", "ok", Status::Current),
            entry("Job", "y", Status::Failed),
            entry("Service", "gone", Status::NotFound),
            entry("Pod", "bye", Status::Terminating),
        ]);
        assert!(!summary.all_current());
        assert_eq!(
            summary.not_ready_list(),
            "[Deployment/ns/x status: 'InProgress', Job/ns/y status: 'Failed', \
             Service/ns/gone status: 'NotFound', Pod/ns/bye status: 'Terminating']"
        );
        assert_eq!(summary.not_ready.len(), 4);
    }

    #[test]
    fn failed_objects_are_listed_for_fail_fast() {
        let summary = summarize(&[
            entry("Deployment", "x", Status::InProgress),
            entry("Job", "y", Status::Failed),
        ]);
        assert!(summary.any_failed());
        assert_eq!(summary.failed, vec![ObjectRef::new("", "Job", "ns", "y")]);
        assert_eq!(
            summary.stalled_message(),
            "failed early due to stalled resources: [Job/ns/y status: 'Failed']"
        );
        assert_eq!(
            summary.timeout_message(),
            "timeout waiting for: [Deployment/ns/x status: 'InProgress', Job/ns/y status: 'Failed']"
        );
    }

    #[test]
    fn unknown_status_carries_its_reason() {
        let summary = summarize(&[(
            ObjectRef::new("example.com", "Widget", "", "w"),
            Health::new(Status::Unknown, "status.conditions must be a list"),
        )]);
        assert_eq!(
            summary.not_ready_list(),
            "[Widget/w status: 'Unknown': status.conditions must be a list]"
        );
    }
}
