//! Flux's ownership cleanup before an apply: fields written by `kubectl` (client-side apply,
//! `edit`, `patch`, server-side apply), by the `before-first-apply` placeholder, or by the
//! controller itself before it used server-side apply, become the field manager's own, and
//! kubectl's last-applied annotation goes.
//!
//! Server-side apply removes a field its manager stopped applying only when that manager is
//! the field's sole owner. An object first created with `kubectl apply` is owned by
//! `kubectl-client-side-apply` (an Update entry); applying it server-side afterwards leaves
//! those fields with kubectl, so a field deleted from Git would stay in the cluster forever.
//! The kustomize controller therefore rewrites the live object's managedFields before it
//! applies (fluxcd/pkg `ssa.PatchReplaceFieldsManagers`): every entry of a matching manager
//! is merged into the field manager's Apply entry (the first one becomes it when there is
//! none), and the next apply removes what the manager no longer sets. Managers match by name
//! prefix and operation, never on a subresource; `flux-client-side-apply` does not match and
//! is the documented way to keep an imperative change.
//!
//! The plan sends the cleanup only when it changes the outcome: when there is metadata to
//! remove, or when the apply would then remove fields taken over (a field deleted from Git).
//! An entry that owns only fields the apply sets anyway needs no patch: the forced apply moves
//! every field whose value differs, and a co-owned field left beside the manager's is taken
//! over at the first reconcile that no longer applies it. This spares a write per drift
//! correction that Flux sends.
//!
//! The cleanup is skipped for objects that say `kustomize.toolkit.fluxcd.io/ssa: Merge` on the
//! desired or the live object: other managers keep their fields.
//!
//! ```
//! use gitops_core::Object;
//! use gitops_core::plan::takeover::{Cleanup, Takeover};
//! use serde_json::json;
//! let live = Object::from_value(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
//!     "name": "a", "namespace": "default", "resourceVersion": "7",
//!     "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"},
//!     "managedFields": [{"manager": "kubectl-client-side-apply", "operation": "Update",
//!         "apiVersion": "v1", "fieldsType": "FieldsV1",
//!         "fieldsV1": {"f:data": {"f:a": {}, "f:b": {}}}}]},
//!     "data": {"a": "1", "b": "2"}})).unwrap();
//! let takeover = Takeover::of(&live, &Cleanup::flux("kustomize-controller"), "kustomize-controller").unwrap();
//! assert_eq!(takeover.entries[0].manager, "kustomize-controller");
//! assert_eq!(takeover.entries[0].operation, "Apply");
//! let patch = takeover.json_patch(&live);
//! assert_eq!(patch[0], json!({"op": "test", "path": "/metadata/resourceVersion", "value": "7"}));
//! assert_eq!(patch[1]["path"], "/metadata/annotations/kubectl.kubernetes.io~1last-applied-configuration");
//! ```

use serde_json::{Value, json};

use crate::Object;
use crate::ssa::managed::{self, Entry};

/// kubectl's annotation holding the configuration `kubectl apply` last applied.
pub const LAST_APPLIED_ANNOTATION: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Which operation of a field manager's entries is taken over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    /// Server-side apply.
    Apply,
    /// Create, update and non-apply patches.
    Update,
}

impl Operation {
    fn as_str(self) -> &'static str {
        match self {
            Operation::Apply => "Apply",
            Operation::Update => "Update",
        }
    }
}

/// A field manager whose entries are taken over: by name prefix (`kubectl` matches
/// `kubectl-client-side-apply`, `kubectl-edit`) or exact name, and operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldManager {
    /// The name, or its prefix.
    pub name: String,
    /// Whether `name` must match exactly rather than as a prefix.
    pub exact: bool,
    /// The operation of the entries to take over.
    pub operation: Operation,
}

impl FieldManager {
    /// A manager matched by name prefix.
    pub fn prefix(name: impl Into<String>, operation: Operation) -> Self {
        Self {
            name: name.into(),
            exact: false,
            operation,
        }
    }

    fn matches(&self, entry: &Entry) -> bool {
        entry.subresource.is_none()
            && entry.operation == self.operation.as_str()
            && if self.exact {
                entry.manager == self.name
            } else {
                entry.manager.starts_with(&self.name)
            }
    }
}

/// What is cleaned up on a live object before it is applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cleanup {
    /// Annotation keys removed.
    pub annotations: Vec<String>,
    /// Label keys removed.
    pub labels: Vec<String>,
    /// Managers whose fields become the applier's.
    pub managers: Vec<FieldManager>,
}

impl Cleanup {
    /// The kustomize controller's cleanup for `field_manager` (its controller name): kubectl's
    /// server-side applies and updates, `before-first-apply`, the controller's own updates
    /// from before server-side apply; kubectl's last-applied annotation and Flux v1's
    /// `kustomize.toolkit.fluxcd.io/checksum`, `fluxcd.io/sync-checksum` annotations and
    /// `fluxcd.io/sync-gc-mark` label.
    pub fn flux(field_manager: &str) -> Self {
        Self {
            annotations: vec![
                LAST_APPLIED_ANNOTATION.to_string(),
                "kustomize.toolkit.fluxcd.io/checksum".to_string(),
                "fluxcd.io/sync-checksum".to_string(),
            ],
            labels: vec!["fluxcd.io/sync-gc-mark".to_string()],
            managers: vec![
                FieldManager::prefix("kubectl", Operation::Apply),
                FieldManager::prefix("kubectl", Operation::Update),
                FieldManager::prefix("before-first-apply", Operation::Update),
                FieldManager::prefix(field_manager, Operation::Update),
            ],
        }
    }

    /// Also takes over the applies and updates of `name` (`--override-manager`).
    pub fn with_override_manager(mut self, name: &str) -> Self {
        self.managers
            .push(FieldManager::prefix(name, Operation::Apply));
        self.managers
            .push(FieldManager::prefix(name, Operation::Update));
        self
    }

    /// No cleanup at all.
    pub fn none() -> Self {
        Self {
            annotations: Vec::new(),
            labels: Vec::new(),
            managers: Vec::new(),
        }
    }
}

/// The metadata changes that hand a live object to the field manager, sent as one JSON patch
/// before the apply.
#[derive(Clone, Debug, PartialEq)]
pub struct Takeover {
    /// Annotation keys to remove (present on the live object).
    pub annotations: Vec<String>,
    /// Label keys to remove (present on the live object).
    pub labels: Vec<String>,
    /// The managedFields to write, the field manager's Apply entry holding what it took over;
    /// empty when no entry is taken over (then managedFields are left as they are).
    pub entries: Vec<Entry>,
    /// The managers whose entries were taken over, as they were named.
    pub taken_from: Vec<String>,
}

impl Takeover {
    /// What `cleanup` changes on `live` so that `field_manager` owns what it takes over, or
    /// `None` when nothing.
    pub fn of(live: &Object, cleanup: &Cleanup, field_manager: &str) -> Option<Takeover> {
        let metadata = live.as_map().get("metadata");
        let present = |section: &str, keys: &[String]| -> Vec<String> {
            let map = metadata
                .and_then(|m| m.get(section))
                .and_then(Value::as_object);
            keys.iter()
                .filter(|k| map.is_some_and(|m| m.contains_key(k.as_str())))
                .cloned()
                .collect()
        };
        let annotations = present("annotations", &cleanup.annotations);
        let labels = present("labels", &cleanup.labels);
        let managed_fields = metadata.and_then(|m| m.get("managedFields"));
        // Most objects have nothing to take over: decided from the names alone, without
        // parsing field sets.
        if annotations.is_empty() && labels.is_empty() && !any_match(managed_fields, cleanup) {
            return None;
        }
        let (entries, taken_from) =
            take_over(managed::read_list(managed_fields), cleanup, field_manager);
        if annotations.is_empty() && labels.is_empty() && taken_from.is_empty() {
            return None;
        }
        Some(Takeover {
            annotations,
            labels,
            entries: if taken_from.is_empty() {
                Vec::new()
            } else {
                entries
            },
            taken_from,
        })
    }

    /// The RFC 6902 patch: a test of the live resourceVersion (so that a concurrent change
    /// fails the patch instead of being overwritten), the removals, and the managedFields.
    pub fn json_patch(&self, live: &Object) -> Value {
        let mut ops = Vec::new();
        if let Some(rv) = live.resource_version() {
            ops.push(json!({"op": "test", "path": "/metadata/resourceVersion", "value": rv}));
        }
        for key in &self.annotations {
            ops.push(
                json!({"op": "remove", "path": format!("/metadata/annotations/{}", escape(key))}),
            );
        }
        for key in &self.labels {
            ops.push(json!({"op": "remove", "path": format!("/metadata/labels/{}", escape(key))}));
        }
        if !self.entries.is_empty() {
            let mut holder = json!({"metadata": {}});
            managed::write(&mut holder, &self.entries);
            let value = holder
                .pointer("/metadata/managedFields")
                .cloned()
                .unwrap_or_else(|| json!([]));
            ops.push(json!({"op": "replace", "path": "/metadata/managedFields", "value": value}));
        }
        Value::Array(ops)
    }

    /// The live object as it is once the patch is applied: what the apply will then change.
    pub fn applied_to(&self, live: &Object) -> Value {
        let mut out = live.to_value();
        if let Some(meta) = out.get_mut("metadata").and_then(Value::as_object_mut) {
            for (section, keys) in [("annotations", &self.annotations), ("labels", &self.labels)] {
                if let Some(map) = meta.get_mut(section).and_then(Value::as_object_mut) {
                    for key in keys {
                        map.remove(key);
                    }
                }
            }
        }
        if !self.entries.is_empty() {
            managed::write(&mut out, &self.entries);
        }
        out
    }
}

/// Whether an entry of `managed_fields` belongs to a manager `cleanup` takes over.
fn any_match(managed_fields: Option<&Value>, cleanup: &Cleanup) -> bool {
    let Some(list) = managed_fields.and_then(Value::as_array) else {
        return false;
    };
    list.iter().any(|e| {
        let text = |k: &str| e.get(k).and_then(Value::as_str).unwrap_or_default();
        let entry = Entry {
            manager: text("manager").to_string(),
            operation: text("operation").to_string(),
            api_version: String::new(),
            time: None,
            subresource: e
                .get("subresource")
                .and_then(Value::as_str)
                .map(str::to_string),
            set: Default::default(),
        };
        cleanup.managers.iter().any(|m| m.matches(&entry))
    })
}

/// Merges the entries of matching managers into `manager`'s Apply entry, as
/// `PatchReplaceFieldsManagers` does: the first match becomes that entry when there is none;
/// the entry goes last. Returns the entries and the managers taken over.
fn take_over(entries: Vec<Entry>, cleanup: &Cleanup, manager: &str) -> (Vec<Entry>, Vec<String>) {
    let is_mine = |e: &Entry| e.is(manager, "Apply", None);
    let mut mine: Option<Entry> = entries.iter().find(|e| is_mine(e)).cloned();
    let mut kept = Vec::with_capacity(entries.len());
    let mut taken = Vec::new();
    for entry in entries {
        if is_mine(&entry) {
            continue;
        }
        if !cleanup.managers.iter().any(|m| m.matches(&entry)) {
            kept.push(entry);
            continue;
        }
        taken.push(entry.manager.clone());
        match &mut mine {
            Some(m) => m.set.union(&entry.set),
            None => {
                mine = Some(Entry {
                    manager: manager.to_string(),
                    operation: "Apply".to_string(),
                    ..entry
                })
            }
        }
    }
    kept.extend(mine);
    (kept, taken)
}

/// A JSON pointer segment (RFC 6901).
fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(manager: &str, operation: &str, fields: Value) -> Value {
        json!({"manager": manager, "operation": operation, "apiVersion": "v1",
            "fieldsType": "FieldsV1", "fieldsV1": fields})
    }

    fn live(managed: Vec<Value>) -> Object {
        Object::from_value(
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a",
            "resourceVersion": "3", "managedFields": managed}, "data": {"a": "1", "b": "2"}}),
        )
        .unwrap()
    }

    #[test]
    fn matching_managers_merge_into_the_apply_entry() {
        let object = live(vec![
            entry(
                "kustomize-controller",
                "Apply",
                json!({"f:data": {"f:a": {}}}),
            ),
            entry(
                "kubectl-client-side-apply",
                "Update",
                json!({"f:data": {"f:b": {}}}),
            ),
            entry(
                "before-first-apply",
                "Update",
                json!({"f:data": {"f:c": {}}}),
            ),
            entry("kubectl", "Apply", json!({"f:data": {"f:d": {}}})),
            entry(
                "flux-client-side-apply",
                "Update",
                json!({"f:data": {"f:e": {}}}),
            ),
            entry("hpa", "Update", json!({"f:data": {"f:f": {}}})),
        ]);
        let t = Takeover::of(
            &object,
            &Cleanup::flux("kustomize-controller"),
            "kustomize-controller",
        )
        .unwrap();
        assert_eq!(
            t.taken_from,
            ["kubectl-client-side-apply", "before-first-apply", "kubectl"]
        );
        let managers: Vec<&str> = t.entries.iter().map(|e| e.manager.as_str()).collect();
        assert_eq!(
            managers,
            ["flux-client-side-apply", "hpa", "kustomize-controller"]
        );
        let mine = t.entries.last().unwrap();
        assert_eq!(
            mine.set.to_json(),
            json!({"f:data": {"f:a": {}, "f:b": {}, "f:c": {}, "f:d": {}}})
        );
        assert!(t.annotations.is_empty());
    }

    #[test]
    fn the_first_match_becomes_the_apply_entry_and_subresources_stay() {
        let mut status = entry("kubectl-edit", "Update", json!({"f:status": {}}));
        status["subresource"] = json!("status");
        let object = live(vec![
            entry(
                "kubectl-client-side-apply",
                "Update",
                json!({"f:data": {"f:b": {}}}),
            ),
            status,
        ]);
        let t = Takeover::of(
            &object,
            &Cleanup::flux("kustomize-controller"),
            "kustomize-controller",
        )
        .unwrap();
        assert_eq!(t.entries.len(), 2);
        assert_eq!(t.entries[0].manager, "kubectl-edit");
        assert_eq!(t.entries[1].manager, "kustomize-controller");
        assert_eq!(t.entries[1].operation, "Apply");
        let applied = t.applied_to(&object);
        assert_eq!(
            applied.pointer("/metadata/managedFields/1/manager"),
            Some(&json!("kustomize-controller"))
        );
    }

    #[test]
    fn nothing_to_take_over_is_none_and_override_managers_count() {
        let object = live(vec![entry(
            "helm",
            "Update",
            json!({"f:data": {"f:b": {}}}),
        )]);
        assert_eq!(
            Takeover::of(
                &object,
                &Cleanup::flux("kustomize-controller"),
                "kustomize-controller"
            ),
            None
        );
        let cleanup = Cleanup::flux("kustomize-controller").with_override_manager("helm");
        let t = Takeover::of(&object, &cleanup, "kustomize-controller").unwrap();
        assert_eq!(t.taken_from, ["helm"]);
        assert_eq!(
            Takeover::of(&object, &Cleanup::none(), "kustomize-controller"),
            None
        );
    }

    #[test]
    fn the_patch_removes_annotations_and_labels_by_escaped_pointer() {
        let mut object = live(Vec::new());
        object.set_annotation(LAST_APPLIED_ANNOTATION, "{}");
        object.set_annotation("keep", "x");
        object.set_label("fluxcd.io/sync-gc-mark", "y");
        let t = Takeover::of(
            &object,
            &Cleanup::flux("kustomize-controller"),
            "kustomize-controller",
        )
        .unwrap();
        assert!(t.entries.is_empty());
        assert_eq!(
            t.json_patch(&object),
            json!([
                {"op": "test", "path": "/metadata/resourceVersion", "value": "3"},
                {"op": "remove", "path": "/metadata/annotations/kubectl.kubernetes.io~1last-applied-configuration"},
                {"op": "remove", "path": "/metadata/labels/fluxcd.io~1sync-gc-mark"},
            ])
        );
        let applied = t.applied_to(&object);
        assert_eq!(applied["metadata"]["annotations"], json!({"keep": "x"}));
    }
}
