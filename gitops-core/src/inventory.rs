//! The inventory: the set of objects a Kustomization applied, in Flux's status format
//! (`{id: "<namespace>_<name>_<group>_<kind>", v: "<version>"}`).

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{Error, Object, ObjectRef};

const SEPARATOR: char = '_';
const COLON_TRANSCODED: &str = "__";
const RBAC_GROUP: &str = "rbac.authorization.k8s.io";
const RBAC_KINDS: [&str; 4] = ["Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"];

/// One inventory entry: an object's identity and the API version it was applied with.
///
/// The id is Flux's (cli-utils') `<namespace>_<name>_<group>_<kind>`: empty namespace for
/// cluster-scoped objects, empty group for the core group, and `:` in RBAC names written as `__`.
///
/// ```
/// use gitops_core::{InventoryEntry, ObjectRef};
/// let e = InventoryEntry::new(ObjectRef::new("", "Service", "default", "podinfo"), "v1");
/// assert_eq!(e.id(), "default_podinfo__Service");
/// let back = InventoryEntry::parse("default_podinfo__Service", "v1").unwrap();
/// assert_eq!(back, e);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "RawEntry", into = "RawEntry")]
pub struct InventoryEntry {
    /// The object's identity.
    pub object: ObjectRef,
    /// The API version, e.g. `v1` (without the group).
    pub version: String,
}

impl InventoryEntry {
    /// An entry for an object reference and version.
    pub fn new(object: ObjectRef, version: impl Into<String>) -> Self {
        Self {
            object,
            version: version.into(),
        }
    }

    /// The entry of an object, with the version taken from its `apiVersion`.
    pub fn of(object: &Object) -> Self {
        Self::new(object.object_ref(), object.version())
    }

    /// Flux's id: `<namespace>_<name>_<group>_<kind>`.
    pub fn id(&self) -> String {
        let o = &self.object;
        let name = if o.group == RBAC_GROUP && RBAC_KINDS.contains(&o.kind.as_str()) {
            o.name.replace(':', COLON_TRANSCODED)
        } else {
            o.name.clone()
        };
        format!("{}_{}_{}_{}", o.namespace, name, o.group, o.kind)
    }

    /// Parses an id and version as stored in a Kustomization's `status.inventory.entries`.
    pub fn parse(id: &str, version: &str) -> Result<Self, Error> {
        let invalid = |reason: &str| Error::InvalidInventoryId {
            id: id.into(),
            reason: reason.into(),
        };
        let (namespace, rest) = id
            .split_once(SEPARATOR)
            .ok_or_else(|| invalid("expected <namespace>_<name>_<group>_<kind>"))?;
        let (rest, kind) = rest
            .rsplit_once(SEPARATOR)
            .ok_or_else(|| invalid("expected <namespace>_<name>_<group>_<kind>"))?;
        let (name, group) = rest
            .rsplit_once(SEPARATOR)
            .ok_or_else(|| invalid("expected <namespace>_<name>_<group>_<kind>"))?;
        let name = name.replace(COLON_TRANSCODED, ":");
        if name.contains(SEPARATOR) {
            return Err(invalid("the name contains '_' (too many fields)"));
        }
        if name.is_empty() {
            return Err(invalid("the name is empty"));
        }
        if kind.is_empty() {
            return Err(invalid("the kind is empty"));
        }
        Ok(Self::new(
            ObjectRef::new(group, kind, namespace, name),
            version,
        ))
    }

    /// `apiVersion` of the entry, `group/version` or `version` for the core group.
    pub fn api_version(&self) -> String {
        if self.object.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.object.group, self.version)
        }
    }
}

impl fmt::Display for InventoryEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.id())
    }
}

#[derive(Serialize, Deserialize)]
struct RawEntry {
    id: String,
    v: String,
}

impl TryFrom<RawEntry> for InventoryEntry {
    type Error = Error;
    fn try_from(raw: RawEntry) -> Result<Self, Error> {
        Self::parse(&raw.id, &raw.v)
    }
}

impl From<InventoryEntry> for RawEntry {
    fn from(e: InventoryEntry) -> Self {
        RawEntry {
            id: e.id(),
            v: e.version,
        }
    }
}

/// A Kustomization's inventory (`status.inventory`): the entries of every object the last
/// successful reconciliation applied, sorted by id as Flux stores them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inventory {
    /// The entries, sorted by id.
    pub entries: Vec<InventoryEntry>,
}

impl Inventory {
    /// An inventory of the given entries, sorted by id and without duplicates.
    pub fn new(entries: impl IntoIterator<Item = InventoryEntry>) -> Self {
        let mut entries: Vec<InventoryEntry> = entries.into_iter().collect();
        entries.sort_by_cached_key(InventoryEntry::id);
        entries.dedup_by(|a, b| a.object == b.object);
        Self { entries }
    }

    /// Whether the inventory has no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether an object is in the inventory.
    pub fn contains(&self, object: &ObjectRef) -> bool {
        self.entries.iter().any(|e| &e.object == object)
    }

    /// The entries of `self` whose objects are not in `other`: what to prune when `other` is
    /// the new inventory.
    pub fn difference<'a>(&'a self, other: &Inventory) -> Vec<&'a InventoryEntry> {
        let keep: BTreeSet<&ObjectRef> = other.entries.iter().map(|e| &e.object).collect();
        self.entries
            .iter()
            .filter(|e| !keep.contains(&e.object))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn flux_id_formats() {
        let ns = InventoryEntry::new(ObjectRef::new("", "Namespace", "", "ns1"), "v1");
        assert_eq!(ns.id(), "_ns1__Namespace");
        let dep = InventoryEntry::new(ObjectRef::new("apps", "Deployment", "default", "web"), "v1");
        assert_eq!(dep.id(), "default_web_apps_Deployment");
        let cr = InventoryEntry::new(
            ObjectRef::new(RBAC_GROUP, "ClusterRole", "", "system:aggregate-to-view"),
            "v1",
        );
        assert_eq!(
            cr.id(),
            "_system__aggregate-to-view_rbac.authorization.k8s.io_ClusterRole"
        );
        assert_eq!(InventoryEntry::parse(&cr.id(), "v1").unwrap(), cr);
    }

    #[test]
    fn serde_uses_id_and_v() {
        let e = InventoryEntry::new(ObjectRef::new("", "Service", "default", "podinfo"), "v1");
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"id": "default_podinfo__Service", "v": "v1"})
        );
        let back: InventoryEntry = serde_json::from_value(json).unwrap();
        assert_eq!(back, e);
    }

    #[test]
    fn rejects_malformed_ids() {
        for bad in [
            "",
            "nounderscore",
            "a_b",
            "ns__group_",
            "ns_a_b_c_group_Kind",
        ] {
            let err = InventoryEntry::parse(bad, "v1").unwrap_err();
            assert!(err.to_string().contains(&format!("'{bad}'")), "{err}");
        }
    }

    #[test]
    fn inventory_sorts_and_diffs() {
        let a = InventoryEntry::new(ObjectRef::new("", "ConfigMap", "ns", "a"), "v1");
        let b = InventoryEntry::new(ObjectRef::new("", "ConfigMap", "ns", "b"), "v1");
        let old = Inventory::new([b.clone(), a.clone(), a.clone()]);
        assert_eq!(old.entries, vec![a.clone(), b.clone()]);
        let new = Inventory::new([a.clone()]);
        assert_eq!(old.difference(&new), vec![&b]);
    }

    fn dns_label() -> impl Strategy<Value = String> {
        "[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?"
    }

    fn entry() -> impl Strategy<Value = InventoryEntry> {
        let rbac = (
            prop::sample::select(RBAC_KINDS.to_vec()),
            prop::option::of(dns_label()),
            "[a-z0-9.:-]{0,6}[a-z0-9]",
        )
            .prop_map(|(kind, ns, name)| {
                let ns = if kind.starts_with("Cluster") {
                    None
                } else {
                    ns
                };
                InventoryEntry::new(
                    ObjectRef::new(RBAC_GROUP, kind, ns.unwrap_or_default(), name),
                    "v1",
                )
            });
        let other = (
            prop_oneof![Just(String::new()), "[a-z]{1,8}(\\.[a-z]{1,8}){0,2}"],
            "[A-Z][a-zA-Z]{0,15}",
            prop::option::of(dns_label()),
            "[a-z0-9]([a-z0-9.-]{0,20}[a-z0-9])?",
            "v[0-9](beta[0-9])?",
        )
            .prop_map(|(group, kind, ns, name, v)| {
                InventoryEntry::new(ObjectRef::new(group, kind, ns.unwrap_or_default(), name), v)
            });
        prop_oneof![rbac, other]
    }

    proptest! {
        #[test]
        fn inventory_id_round_trips(e in entry()) {
            let parsed = InventoryEntry::parse(&e.id(), &e.version).unwrap();
            prop_assert_eq!(&parsed, &e);
            prop_assert_eq!(parsed.id(), e.id());
        }
    }
}
