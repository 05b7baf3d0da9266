//! Health of a set by kstatus (the core's [`gitops_core::health`]), read with one list per
//! kind and namespace, and waiting for a set to settle.

use std::time::{Duration, Instant};

use gitops_core::ObjectRef;
use gitops_core::health::{self, Health};
use gitops_core::reconcile::SetMember;
use jiff::Timestamp;

use crate::error::Error;
use crate::manager::ResourceManager;

/// How [`ResourceManager::wait_for_set`] waits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WaitOptions {
    /// Between two reads of the set.
    pub interval: Duration,
    /// Give up after this long.
    pub timeout: Duration,
    /// Stop as soon as an object is Failed.
    pub fail_fast: bool,
}

impl Default for WaitOptions {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(2),
            timeout: Duration::from_secs(60),
            fail_fast: true,
        }
    }
}

impl ResourceManager {
    /// The kstatus health of each member, in order.
    pub async fn health_of_set(
        &self,
        members: &[SetMember],
        now: Timestamp,
    ) -> Result<Vec<(ObjectRef, Health)>, Error> {
        let live = self.read_set(members).await?;
        Ok(members
            .iter()
            .map(|(key, _)| (key.clone(), health::of(live.get(key), now)))
            .collect())
    }

    /// Waits until every member is Current; fails on timeout, or early when one is Failed
    /// and `fail_fast` is set, with Flux's messages.
    pub async fn wait_for_set(
        &self,
        members: &[SetMember],
        options: &WaitOptions,
    ) -> Result<(), Error> {
        let started = Instant::now();
        loop {
            let results = self.health_of_set(members, Timestamp::now()).await?;
            let summary = health::summarize(&results);
            if summary.all_current() {
                return Ok(());
            }
            if options.fail_fast && summary.any_failed() {
                return Err(Error::Stalled {
                    failed: summary.failed_list(),
                });
            }
            let waited = started.elapsed();
            if waited >= options.timeout {
                return Err(Error::Timeout {
                    pending: summary.not_ready_list(),
                    waited,
                });
            }
            tokio::time::sleep(options.interval).await;
        }
    }
}
