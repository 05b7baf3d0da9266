//! The system namespaces a fresh cluster has, created by kube-apiserver's bootstrap
//! controller: `default`, `kube-system`, `kube-public` and `kube-node-lease`.

use serde_json::json;

use crate::testenv::request::Call;
use crate::testenv::state::State;
use crate::testenv::verbs::write::create_object;

/// Creates the system namespaces.
pub(crate) fn create(state: &mut State) {
    let Ok(resource) = state.resource("", "v1", "namespaces") else {
        return;
    };
    for name in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        let object = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
        let call = Call::internal("kube-apiserver");
        let _ = create_object(state, &resource, None, object, &call);
    }
}
