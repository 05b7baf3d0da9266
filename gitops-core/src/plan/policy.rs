//! Flux's per-object annotations and labels (`kustomize.toolkit.fluxcd.io/ssa`, `force`,
//! `prune`, `reconcile`), read from the desired or the in-cluster object, values matched
//! case-insensitively as Flux's `strings.EqualFold` does.

use crate::{Error, Object};

/// `kustomize.toolkit.fluxcd.io/ssa`.
pub const SSA_KEY: &str = "kustomize.toolkit.fluxcd.io/ssa";
/// `kustomize.toolkit.fluxcd.io/force`.
pub const FORCE_KEY: &str = "kustomize.toolkit.fluxcd.io/force";
/// `kustomize.toolkit.fluxcd.io/prune`.
pub const PRUNE_KEY: &str = "kustomize.toolkit.fluxcd.io/prune";
/// `kustomize.toolkit.fluxcd.io/reconcile`.
pub const RECONCILE_KEY: &str = "kustomize.toolkit.fluxcd.io/reconcile";
/// The owner label holding the Kustomization's name.
pub const OWNER_NAME_LABEL: &str = "kustomize.toolkit.fluxcd.io/name";
/// The owner label holding the Kustomization's namespace.
pub const OWNER_NAMESPACE_LABEL: &str = "kustomize.toolkit.fluxcd.io/namespace";

/// How an object is applied (`kustomize.toolkit.fluxcd.io/ssa`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SsaPolicy {
    /// Apply and take ownership of every field (the default); other managers' changes to
    /// fields in the manifest are reverted.
    #[default]
    Override,
    /// Apply without cleaning up other managers' fields.
    Merge,
    /// Create the object if missing, never update it.
    IfNotPresent,
    /// Never apply, never prune.
    Ignore,
}

/// The policies of one object.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Policy {
    /// The apply policy.
    pub ssa: SsaPolicy,
    /// `force: enabled`: recreate when an immutable field changes.
    pub force: Option<bool>,
    /// `prune: disabled`: never garbage-collect.
    pub prune_disabled: bool,
    /// `reconcile: disabled`: neither apply nor prune.
    pub reconcile_disabled: bool,
}

impl Policy {
    /// Reads the policy annotations and labels of an object. An unknown value is an error
    /// naming the object, the key and the accepted values: a typo must not silently change
    /// what gets pruned.
    pub fn of(object: &Object) -> Result<Self, Error> {
        Self::read(object, true)
    }

    /// Reads the policy of an in-cluster object. Unknown values count as unset: what someone
    /// wrote on a live object must not stop the reconciliation of everything else.
    pub fn of_live(object: &Object) -> Self {
        Self::read(object, false).unwrap_or_default()
    }

    fn read(object: &Object, strict: bool) -> Result<Self, Error> {
        let mut policy = Policy::default();
        let lenient = |r: Result<(), Error>| if strict { r } else { Ok(()) };
        if let Some((location, value)) = lookup(object, SSA_KEY) {
            let accepted = [
                ("Override", SsaPolicy::Override),
                ("Merge", SsaPolicy::Merge),
                ("IfNotPresent", SsaPolicy::IfNotPresent),
                ("Ignore", SsaPolicy::Ignore),
            ];
            lenient(
                match_value(object, location, SSA_KEY, value, &accepted).map(|v| policy.ssa = v),
            )?;
        }
        if let Some((location, value)) = lookup(object, FORCE_KEY) {
            let accepted = [("Enabled", true), ("Disabled", false)];
            lenient(
                match_value(object, location, FORCE_KEY, value, &accepted)
                    .map(|v| policy.force = Some(v)),
            )?;
        }
        if let Some((location, value)) = lookup(object, PRUNE_KEY) {
            let accepted = [("Enabled", false), ("Disabled", true)];
            lenient(
                match_value(object, location, PRUNE_KEY, value, &accepted)
                    .map(|v| policy.prune_disabled = v),
            )?;
        }
        if let Some((location, value)) = lookup(object, RECONCILE_KEY) {
            let accepted = [("Enabled", false), ("Disabled", true)];
            lenient(
                match_value(object, location, RECONCILE_KEY, value, &accepted)
                    .map(|v| policy.reconcile_disabled = v),
            )?;
        }
        Ok(policy)
    }

    /// Whether the object is excluded from apply and prune (`reconcile: disabled` or
    /// `ssa: Ignore`), Flux's exclusion selector.
    pub fn excluded(&self) -> bool {
        self.reconcile_disabled || self.ssa == SsaPolicy::Ignore
    }
}

/// The annotation, else the label, with that key. Flux honours both.
fn lookup<'a>(object: &'a Object, key: &str) -> Option<(&'static str, &'a str)> {
    object
        .annotation(key)
        .map(|v| ("annotation", v))
        .or_else(|| object.label(key).map(|v| ("label", v)))
}

fn match_value<T: Copy>(
    object: &Object,
    location: &'static str,
    key: &str,
    value: &str,
    accepted: &[(&str, T)],
) -> Result<T, Error> {
    accepted
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(value))
        .map(|(_, v)| *v)
        .ok_or_else(|| Error::InvalidAnnotation {
            object: object.object_ref(),
            location,
            key: key.into(),
            value: value.into(),
            expected: accepted
                .iter()
                .map(|(n, _)| *n)
                .collect::<Vec<_>>()
                .join(", "),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(meta: serde_json::Value) -> Object {
        let mut m = meta;
        m["name"] = json!("x");
        m["namespace"] = json!("ns");
        Object::from_value(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": m})).unwrap()
    }

    #[test]
    fn reads_annotations_and_labels_case_insensitively() {
        let p = Policy::of(&obj(
            json!({"annotations": {SSA_KEY: "ifnotpresent", PRUNE_KEY: "DISABLED"}}),
        ))
        .unwrap();
        assert_eq!(p.ssa, SsaPolicy::IfNotPresent);
        assert!(p.prune_disabled);
        let p = Policy::of(&obj(
            json!({"labels": {RECONCILE_KEY: "disabled", FORCE_KEY: "Enabled"}}),
        ))
        .unwrap();
        assert!(p.reconcile_disabled && p.excluded());
        assert_eq!(p.force, Some(true));
        let p = Policy::of(&obj(json!({"labels": {SSA_KEY: "ignore"}}))).unwrap();
        assert!(p.excluded());
        assert_eq!(Policy::of(&obj(json!({}))).unwrap(), Policy::default());
    }

    #[test]
    fn unknown_values_are_errors_naming_object_and_key() {
        let err = Policy::of(&obj(json!({"annotations": {PRUNE_KEY: "off"}}))).unwrap_err();
        assert_eq!(
            err.to_string(),
            "ConfigMap/ns/x: annotation 'kustomize.toolkit.fluxcd.io/prune' has unknown value 'off', expected one of: Enabled, Disabled"
        );
        let err = Policy::of(&obj(json!({"labels": {SSA_KEY: "replace"}}))).unwrap_err();
        assert!(
            err.to_string()
                .contains("label 'kustomize.toolkit.fluxcd.io/ssa'"),
            "{err}"
        );
        let live = obj(json!({"labels": {SSA_KEY: "replace", PRUNE_KEY: "disabled"}}));
        assert!(Policy::of_live(&live).prune_disabled);
    }
}
