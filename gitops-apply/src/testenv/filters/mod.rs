//! Filters: what happens to a request before its verb runs: request counters and injected
//! faults (this module, as kube-apiserver's priority-and-fairness filter sees every request
//! before authorization), then authentication and authorization (`rbac`).
//!
//! Counters and faults have their own lock, so that a slowed-down request never holds the
//! server's state.

pub(crate) mod rbac;

use std::collections::BTreeMap;
use std::time::Duration;

/// A fault to inject into matching requests.
#[derive(Clone, Debug, Default)]
pub struct Fault {
    /// The verb it applies to (`get`, `list`, `watch`, `create`, `update`, `patch`, `delete`),
    /// or every verb when `None`.
    pub verb: Option<String>,
    /// The resource it applies to (`configmaps`, `deployments.apps`), or every resource.
    pub resource: Option<String>,
    /// Fail one request in this many (1 = every request; 0 = never fail).
    pub every: u64,
    /// The HTTP status of the failure: 429 answers with `Retry-After: 1`, 500 and 503 with a
    /// `Status`.
    pub status: u16,
    /// Extra latency before answering.
    pub delay: Duration,
    /// For watches: close the stream after this long.
    pub drop_watch_after: Option<Duration>,
    seen: u64,
}

impl Fault {
    /// Every matching request fails with `status`.
    pub fn error(verb: Option<&str>, resource: Option<&str>, status: u16) -> Fault {
        Fault {
            verb: verb.map(str::to_string),
            resource: resource.map(str::to_string),
            every: 1,
            status,
            ..Fault::default()
        }
    }

    fn matches(&self, verb: &str, resource: &str) -> bool {
        self.verb.as_deref().is_none_or(|v| v == verb)
            && self.resource.as_deref().is_none_or(|r| r == resource)
    }
}

/// The filters' own state: request counters by (verb, resource) and the injected faults.
#[derive(Default)]
pub(crate) struct Filters {
    pub counters: BTreeMap<(String, String), u64>,
    pub faults: Vec<Fault>,
}

impl Filters {
    /// Counts a request for `verb` on `resource` (`configmaps`, `deployments.apps`) and
    /// returns the fault it meets, if any; its `status` is 0 unless this request fails.
    pub(crate) fn admit(&mut self, verb: &str, resource: &str) -> Option<Fault> {
        *self
            .counters
            .entry((verb.to_string(), resource.to_string()))
            .or_default() += 1;
        let fault = self.faults.iter_mut().find(|f| f.matches(verb, resource))?;
        fault.seen += 1;
        let fires = fault.every != 0 && fault.seen.is_multiple_of(fault.every);
        let mut out = fault.clone();
        if !fires {
            out.status = 0;
        }
        Some(out)
    }
}
