//! Background controllers, the layer above the verbs: they act on the server through the
//! same write pipeline as clients do.
//!
//! kube-apiserver runs some controllers itself: the bootstrap controller that creates the
//! system namespaces (`system_namespaces`), apiextensions' establishing controller
//! (`establish`) and the API Priority and Fairness configuration controller (`apf`); they
//! always run. A controller manager runs the rest: garbage collection and
//! namespace finalization (`gc`), which run only when enabled
//! ([`TestEnv::enable_controllers`](crate::testenv::TestEnv::enable_controllers)), and the
//! workload controllers reduced to a completed rollout (`workloads`, enabled on their own by
//! [`TestEnv::enable_rollouts`](crate::testenv::TestEnv::enable_rollouts)), as on a bare
//! kube-apiserver they do not.
//!
//! Where a real controller reacts to watch events shortly after a write, these run at once,
//! after every write and before the answer, so tests never wait for them. A dry run stores
//! nothing and so, as on kube-apiserver, produces no event for them to react to.

pub(crate) mod apf;
pub(crate) mod establish;
pub(crate) mod gc;
pub(crate) mod system_namespaces;
pub(crate) mod workloads;

use crate::testenv::state::State;

/// Runs the controllers after a write.
pub(crate) fn run(state: &mut State) {
    establish::run(state);
    if state.controllers {
        gc::collect(&mut state.store);
    }
    if state.rollouts {
        workloads::run(state);
    }
    apf::sync(state);
}
