//! Everything one server holds behind its lock: storage, the custom resources being served,
//! authentication settings and the warnings of the request being served.
//!
//! Every layer works on this one value, so that a request takes the lock once and sees one
//! consistent state from resolving its resource to answering.

use std::collections::HashMap;
use std::time::Duration;

use crate::testenv::registry::crd::CustomResources;
use crate::testenv::registry::{self, Group, Resource};
use crate::testenv::status::ApiError;
use crate::testenv::storage::Store;

/// Everything one server holds.
pub(crate) struct State {
    pub store: Store,
    pub custom: CustomResources,
    pub watch_timeout: Duration,
    /// Whether the garbage collector and namespace controller run.
    pub controllers: bool,
    /// Whether the workload controllers roll Deployments, StatefulSets and DaemonSets out.
    pub rollouts: bool,
    /// The resourceVersion up to which the workload controllers have seen the event log.
    pub workloads_seen: u64,
    /// Bearer tokens: user name and groups.
    pub tokens: HashMap<String, (String, Vec<String>)>,
    /// Warnings of the request being served, drained into its `Warning` headers.
    pub warnings: Vec<String>,
    next_ip: u32,
}

impl Default for State {
    fn default() -> Self {
        State {
            store: Store::default(),
            custom: CustomResources::default(),
            watch_timeout: Duration::from_secs(1800),
            tokens: HashMap::new(),
            warnings: Vec::new(),
            controllers: false,
            rollouts: false,
            workloads_seen: 0,
            next_ip: 10,
        }
    }
}

impl State {
    /// The next Service cluster IP.
    pub(crate) fn allocate_ip(&mut self) -> String {
        self.next_ip += 1;
        Self::ip(self.next_ip)
    }

    /// The IP [`State::allocate_ip`] would give, without taking it: a dry-run create shows
    /// the address its Service would get, as the server's dry-run allocator does.
    pub(crate) fn next_ip(&self) -> String {
        Self::ip(self.next_ip + 1)
    }

    fn ip(n: u32) -> String {
        format!("10.96.{}.{}", n / 250, n % 250)
    }

    /// The groups served, built-in then custom, for discovery.
    pub(crate) fn groups(&self) -> Vec<Group> {
        let mut groups: Vec<Group> = registry::builtin().groups[1..].to_vec();
        groups.extend(self.custom.groups());
        groups
    }

    /// Resolves a group version and plural.
    pub(crate) fn resource(
        &self,
        group: &str,
        version: &str,
        plural: &str,
    ) -> Result<Resource, ApiError> {
        if let Some(found) = self.custom.resource(group, version, plural) {
            return Ok(found);
        }
        let builtin = registry::builtin();
        if !builtin.groups.iter().any(|g| g.name == group) {
            return if self.custom.serves(group, version) {
                Err(ApiError::no_resource())
            } else {
                Err(ApiError::page_not_found())
            };
        }
        let Some((_, _, resources)) = builtin
            .resources
            .iter()
            .find(|(g, v, _)| g == group && v == version)
        else {
            return Err(ApiError::page_not_found());
        };
        resources
            .iter()
            .find(|r| r.plural == plural)
            .cloned()
            .ok_or_else(ApiError::no_resource)
    }
}
