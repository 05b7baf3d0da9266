//! Apply planning: from the desired objects, a snapshot of the live ones and the previous
//! inventory, what to apply (in Flux's stages and kind order), what is unchanged, what is
//! skipped by policy, and what to prune.
//!
//! A plan is a pure value: [`crate::reconcile`] executes it through a
//! [`crate::reconcile::Cluster`], and `gitops-apply` executes it against a real API server.
//!
//! ```
//! use gitops_core::{manifests, plan::{Live, Owner, Plan, PlanOptions}, Inventory};
//! let desired = manifests::parse("app.yaml",
//!     "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n  namespace: default\n").unwrap();
//! let options = PlanOptions::new(Owner::new("apps", "flux-system"));
//! let plan = Plan::compute(desired, &Live::new(), &Inventory::default(), &options).unwrap();
//! assert_eq!(plan.change_set().to_string(), "ConfigMap/default/app created");
//! ```

mod order;
mod policy;
pub mod takeover;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

pub use order::{StageKind, compare as compare_order};
pub use policy::{
    FORCE_KEY, OWNER_NAME_LABEL, OWNER_NAMESPACE_LABEL, PRUNE_KEY, Policy, RECONCILE_KEY, SSA_KEY,
    SsaPolicy,
};

use crate::diff::{self, Change, ChangeKind};
use crate::schema::Schema;
use crate::ssa::{self, managed};
use crate::{Error, Inventory, InventoryEntry, Manifest, Object, ObjectRef, Origin};
use takeover::{Cleanup, Takeover};

/// Namespaces never pruned, whatever an inventory says (Flux lacks this guard): deleting
/// one of them takes everything in it.
pub const PROTECTED_NAMESPACES: [&str; 4] =
    ["default", "kube-system", "kube-public", "kube-node-lease"];

/// The live objects a plan is computed against, keyed by identity. An object missing from
/// the map does not exist in the cluster.
pub type Live = BTreeMap<ObjectRef, Object>;

/// The Kustomization that owns the applied objects; its name and namespace become the owner
/// labels `kustomize.toolkit.fluxcd.io/name` and `/namespace`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Owner {
    /// The Kustomization's name.
    pub name: String,
    /// The Kustomization's namespace.
    pub namespace: String,
}

impl Owner {
    /// An owner from a Kustomization's name and namespace.
    pub fn new(name: impl Into<String>, namespace: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            namespace: namespace.into(),
        }
    }

    /// Sets both owner labels on an object.
    pub fn label(&self, object: &mut Object) {
        object.set_label(OWNER_NAME_LABEL, &self.name);
        object.set_label(OWNER_NAMESPACE_LABEL, &self.namespace);
    }

    /// Whether an object carries both owner labels with this owner's values, the condition
    /// for Flux to prune it.
    pub fn owns(&self, object: &Object) -> bool {
        object.label(OWNER_NAME_LABEL) == Some(self.name.as_str())
            && object.label(OWNER_NAMESPACE_LABEL) == Some(self.namespace.as_str())
    }
}

/// Settings of a plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanOptions {
    /// The owning Kustomization.
    pub owner: Owner,
    /// `spec.prune`: delete inventory orphans.
    pub prune: bool,
    /// `spec.force`: recreate objects whose immutable fields changed.
    pub force: bool,
    /// `--custom-apply-stage-kinds` as `(group, kind)` pairs.
    pub custom_stage_kinds: Vec<(String, String)>,
    /// The field manager the applies use: its Apply entry receives what [`Self::cleanup`]
    /// takes over, and the fields it applied before and no longer applies are removed.
    pub field_manager: String,
    /// Flux's ownership cleanup before an apply ([`takeover`]).
    pub cleanup: Cleanup,
    /// Namespaces never pruned: [`PROTECTED_NAMESPACES`] and the controller's own.
    pub protected_namespaces: Vec<String>,
    /// The schema objects are compared by: the built-in kinds and the CRDs known.
    pub schema: Arc<Schema>,
}

impl PlanOptions {
    /// Options for an owner, with prune on, force off, field manager `kustomize-controller`
    /// with Flux's cleanup, the [`PROTECTED_NAMESPACES`], and the built-in schema plus the
    /// CRDs of the desired set (learnt by [`Plan::compute`]).
    pub fn new(owner: Owner) -> Self {
        let field_manager = crate::reconcile::FIELD_MANAGER.to_string();
        Self {
            owner,
            prune: true,
            force: false,
            custom_stage_kinds: Vec::new(),
            cleanup: Cleanup::flux(&field_manager),
            field_manager,
            protected_namespaces: PROTECTED_NAMESPACES.iter().map(|s| s.to_string()).collect(),
            schema: Arc::new(Schema::extended()),
        }
    }

    /// The options with another field manager, Flux's cleanup following it.
    pub fn with_field_manager(mut self, field_manager: &str) -> Self {
        self.field_manager = field_manager.to_string();
        self.cleanup = Cleanup::flux(field_manager);
        self
    }
}

/// What an apply does to the live object.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// The object does not exist yet.
    Create,
    /// The object exists and these fields differ.
    Configure(Vec<Change>),
}

/// One object to apply.
#[derive(Clone, Debug, PartialEq)]
pub struct Apply {
    /// The desired object, with owner labels set.
    pub object: Object,
    /// The object's identity, computed once: the plan orders by it and a cluster keys what
    /// it validated and remembered by it, once or more per object.
    pub key: ObjectRef,
    /// Where it was defined.
    pub origin: Origin,
    /// Create or configure.
    pub action: Action,
    /// Its apply policy.
    pub policy: Policy,
    /// Whether an immutable-field error may be resolved by deleting and recreating it.
    pub recreate_on_immutable: bool,
    /// The ownership cleanup to send before the apply (a JSON patch), when the live object
    /// has fields of managers Flux takes over or kubectl's last-applied annotation.
    pub takeover: Option<Takeover>,
}

/// Objects applied together, then (for some stages) waited for.
#[derive(Clone, Debug, PartialEq)]
pub struct Stage {
    /// Which stage.
    pub kind: StageKind,
    /// The applies, in Flux's kind order.
    pub applies: Vec<Apply>,
}

/// Why a desired object is not applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SkipReason {
    /// `reconcile: disabled` or `ssa: Ignore` on the desired or the live object.
    Excluded,
    /// `ssa: IfNotPresent` and the object exists.
    IfNotPresent,
}

/// Why an inventory orphan is not pruned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeepReason {
    /// `spec.prune` is off.
    PruneOff,
    /// The live object lacks one of the owner labels (another Kustomization owns it now).
    NotOwned,
    /// `prune: disabled` on the live object.
    PruneDisabled,
    /// `reconcile: disabled` or `ssa: Ignore` on the live object.
    Excluded,
    /// A protected namespace ([`PlanOptions::protected_namespaces`]): never deleted. It stays
    /// in the inventory, so the refusal is reported again until someone resolves it (by
    /// removing the owner labels from the namespace).
    Protected,
}

impl KeepReason {
    /// Why, in words, for change sets and events.
    pub fn describe(&self, object: &ObjectRef) -> String {
        match self {
            KeepReason::PruneOff => "prune is off".to_string(),
            KeepReason::NotOwned => "its owner labels name another owner".to_string(),
            KeepReason::PruneDisabled => "prune is disabled on it".to_string(),
            KeepReason::Excluded => {
                "it is excluded from reconciliation (reconcile: disabled or ssa: Ignore)"
                    .to_string()
            }
            KeepReason::Protected => format!("namespace {} is protected", object.name),
        }
    }

    /// Whether this is a guard of this implementation refusing a delete Flux would do (the
    /// entry is then reported as refused and kept in the inventory), rather than one of
    /// Flux's opt-outs (reported as skipped).
    pub fn is_refusal(&self) -> bool {
        matches!(self, KeepReason::Protected)
    }
}

/// The outcome of planning.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Plan {
    /// Applies grouped in stages, in stage order; empty stages are left out.
    pub stages: Vec<Stage>,
    /// Desired objects whose live state already matches.
    pub unchanged: Vec<ObjectRef>,
    /// Desired objects not applied by policy.
    pub skipped: Vec<(ObjectRef, SkipReason)>,
    /// Inventory orphans to delete, in reverse kind order with Namespaces last.
    pub prunes: Vec<InventoryEntry>,
    /// Inventory orphans left in place, and why.
    pub kept: Vec<(InventoryEntry, KeepReason)>,
    /// The inventory after this plan: every desired object (applied, unchanged or skipped).
    pub inventory: Inventory,
}

impl Plan {
    /// Computes a plan. Fails on a duplicate object (naming both origins) and on an unknown
    /// policy annotation value, before anything is applied or pruned.
    pub fn compute(
        desired: Vec<Manifest>,
        live: &Live,
        previous: &Inventory,
        options: &PlanOptions,
    ) -> Result<Plan, Error> {
        let desired = dedupe(desired)?;
        // Custom resources compare by the CRDs the set itself brings, over those known.
        let mut crds = desired
            .iter()
            .filter(|m| m.object.kind() == "CustomResourceDefinition")
            .peekable();
        let learnt;
        let schema: &Schema = if crds.peek().is_some() {
            let mut s = Schema::extended().overlaid_by(&options.schema);
            for m in crds {
                s.add_crd(&m.object.to_value());
            }
            learnt = s;
            &learnt
        } else {
            &options.schema
        };
        let mut plan = Plan {
            inventory: Inventory::new(desired.iter().map(|m| InventoryEntry::of(&m.object))),
            ..Plan::default()
        };
        let mut applies: Vec<(StageKind, Apply)> = Vec::new();
        for Manifest { mut object, origin } in desired {
            options.owner.label(&mut object);
            let policy = Policy::of(&object)?;
            let key = object.object_ref();
            let current = live.get(&key);
            let excluded_live = current.is_some_and(|l| Policy::of_live(l).excluded());
            if policy.excluded() || excluded_live {
                plan.skipped.push((key, SkipReason::Excluded));
                continue;
            }
            let (action, takeover) = match current {
                None => (Action::Create, None),
                Some(_) if policy.ssa == SsaPolicy::IfNotPresent => {
                    plan.skipped.push((key, SkipReason::IfNotPresent));
                    continue;
                }
                Some(current) => {
                    let merge = policy.ssa == SsaPolicy::Merge
                        || Policy::of_live(current).ssa == SsaPolicy::Merge;
                    let takeover = if merge {
                        None
                    } else {
                        Takeover::of(current, &options.cleanup, &options.field_manager)
                    };
                    let mut changes = diff::compare(&object, current, schema);
                    let removed = removals(
                        &object,
                        current,
                        takeover.as_ref(),
                        &options.field_manager,
                        schema,
                    );
                    // Taking fields over matters when the apply then removes some of them, or
                    // when there is metadata to clean; fields the apply sets anyway are
                    // forced to the field manager by the apply itself, and a co-owner entry
                    // left beside them is taken over when it comes to matter.
                    let takeover = takeover.filter(|t| {
                        !t.annotations.is_empty() || !t.labels.is_empty() || !removed.is_empty()
                    });
                    changes.extend(removed);
                    if changes.is_empty() && takeover.is_none() {
                        plan.unchanged.push(key);
                        continue;
                    }
                    (Action::Configure(changes), takeover)
                }
            };
            let stage = StageKind::of(&key, &options.custom_stage_kinds);
            applies.push((
                stage,
                Apply {
                    recreate_on_immutable: options.force || policy.force == Some(true),
                    object,
                    key,
                    origin,
                    action,
                    policy,
                    takeover,
                },
            ));
        }
        applies.sort_by(|(sa, a), (sb, b)| sa.cmp(sb).then_with(|| order::compare(&a.key, &b.key)));
        for (kind, apply) in applies {
            match plan.stages.last_mut() {
                Some(stage) if stage.kind == kind => stage.applies.push(apply),
                _ => plan.stages.push(Stage {
                    kind,
                    applies: vec![apply],
                }),
            }
        }
        plan.unchanged.sort_by(order::compare);
        plan.skipped.sort_by(|a, b| order::compare(&a.0, &b.0));
        plan.plan_prunes(live, previous, options);
        Ok(plan)
    }

    fn plan_prunes(&mut self, live: &Live, previous: &Inventory, options: &PlanOptions) {
        let mut stale: Vec<InventoryEntry> = previous
            .difference(&self.inventory)
            .into_iter()
            .cloned()
            .collect();
        stale.sort_by(|a, b| prune_order(&a.object, &b.object));
        for entry in stale {
            let Some(current) = live.get(&entry.object) else {
                continue; // already gone: nothing to delete
            };
            let policy = Policy::of_live(current);
            let keep = if !options.prune {
                Some(KeepReason::PruneOff)
            } else if !options.owner.owns(current) {
                Some(KeepReason::NotOwned)
            } else if policy.prune_disabled {
                Some(KeepReason::PruneDisabled)
            } else if policy.excluded() {
                Some(KeepReason::Excluded)
            } else if is_namespace(&entry.object)
                && options.protected_namespaces.contains(&entry.object.name)
            {
                Some(KeepReason::Protected)
            } else {
                None
            };
            match keep {
                Some(reason) => {
                    if reason.is_refusal() {
                        let kept = self.inventory.entries.iter().cloned();
                        self.inventory = Inventory::new(kept.chain([entry.clone()]));
                    }
                    self.kept.push((entry, reason))
                }
                None => self.prunes.push(entry),
            }
        }
    }

    /// Every apply, stage by stage.
    pub fn applies(&self) -> impl Iterator<Item = &Apply> {
        self.stages.iter().flat_map(|s| s.applies.iter())
    }

    /// Whether the plan changes nothing: no applies and no prunes.
    pub fn is_empty(&self) -> bool {
        self.stages.is_empty() && self.prunes.is_empty()
    }

    /// The objects whose live state must be read to compute a plan: the desired objects and
    /// the previous inventory's, each with the `apiVersion` to read it with.
    pub fn reads(desired: &[Manifest], previous: &Inventory) -> Vec<(ObjectRef, String)> {
        let mut out: BTreeMap<ObjectRef, String> = desired
            .iter()
            .map(|m| (m.object.object_ref(), m.object.api_version().to_string()))
            .collect();
        for e in &previous.entries {
            out.entry(e.object.clone())
                .or_insert_with(|| e.api_version());
        }
        out.into_iter().collect()
    }

    /// The change set this plan would produce if every step succeeds, in Flux's wording.
    pub fn change_set(&self) -> ChangeSet {
        let mut entries = Vec::new();
        for a in self.applies() {
            let action = match a.action {
                Action::Create => ChangeAction::Created,
                Action::Configure(_) => ChangeAction::Configured,
            };
            entries.push(ChangeSetEntry::new(a.key.clone(), action));
        }
        for p in &self.prunes {
            entries.push(ChangeSetEntry::new(p.object.clone(), ChangeAction::Deleted));
        }
        for (entry, reason) in self.kept.iter().filter(|(_, r)| r.is_refusal()) {
            entries.push(
                ChangeSetEntry::new(entry.object.clone(), ChangeAction::Refused)
                    .with_reason(reason.describe(&entry.object)),
            );
        }
        ChangeSet { entries }
    }
}

/// Prune order: reverse kind order, Namespaces last so that their contents go first.
fn prune_order(a: &ObjectRef, b: &ObjectRef) -> std::cmp::Ordering {
    is_namespace(a)
        .cmp(&is_namespace(b))
        .then_with(|| order::compare(b, a))
}

fn is_namespace(o: &ObjectRef) -> bool {
    o.kind == "Namespace" && o.group.is_empty()
}

/// What the field manager's own Apply entry holds that `desired` no longer sets, before
/// other managers' entries are taken into account; `None` without such an entry.
fn own_stale(
    managed_fields: Option<&serde_json::Value>,
    desired: &Object,
    field_manager: &str,
    root: Option<crate::schema::Node<'_>>,
) -> Option<ssa::FieldSet> {
    let mine = managed_fields?.as_array()?.iter().find(|e| {
        let text = |k: &str| e.get(k).and_then(serde_json::Value::as_str);
        text("manager") == Some(field_manager)
            && text("operation") == Some("Apply")
            && e.get("subresource").is_none_or(serde_json::Value::is_null)
    })?;
    let mut stale = ssa::FieldSet::from_json(mine.get("fieldsV1")?);
    let applied = ssa::fieldpath::map_set(desired.as_map(), root);
    stale.subtract(&applied);
    stale.drop_ancestors_of(&applied);
    Some(stale)
}

/// The fields an apply of `desired` would remove from `current`: those the field manager
/// applied before (including what `takeover` hands it) and `desired` no longer sets, which
/// comparing `desired`'s own fields cannot find. One [`ChangeKind::Removed`] change per path.
fn removals(
    desired: &Object,
    current: &Object,
    takeover: Option<&Takeover>,
    field_manager: &str,
    schema: &Schema,
) -> Vec<Change> {
    let root = schema.root(desired.api_version(), desired.kind());
    let managed_fields = current.at(&["metadata", "managedFields"]);
    let entries = match takeover {
        Some(t) if !t.entries.is_empty() => t.entries.clone(),
        _ => {
            // The common case, an object the field manager applied as it is now: its own
            // entry alone shows nothing stopped being applied, without parsing the others.
            match own_stale(managed_fields, desired, field_manager, root) {
                Some(stale) if !stale.is_empty() => managed::read_list(managed_fields),
                _ => return Vec::new(),
            }
        }
    };
    if !entries.iter().any(|e| e.is(field_manager, "Apply", None)) {
        return Vec::new();
    }
    let removed = match takeover {
        Some(t) => {
            let live = t.applied_to(current);
            let live = live.as_object().unwrap_or(current.as_map());
            ssa::removed_by(live, desired.as_map(), &entries, field_manager, root)
        }
        None => ssa::removed_by(
            current.as_map(),
            desired.as_map(),
            &entries,
            field_manager,
            root,
        ),
    };
    removed
        .paths()
        .into_iter()
        .map(|path| Change {
            path: path.trim_start_matches('.').to_string(),
            kind: ChangeKind::Removed,
            desired: None,
            live: None,
        })
        .collect()
}

fn dedupe(desired: Vec<Manifest>) -> Result<Vec<Manifest>, Error> {
    let mut seen: BTreeMap<ObjectRef, Origin> = BTreeMap::new();
    for m in &desired {
        if let Some(first) = seen.insert(m.object.object_ref(), m.origin.clone()) {
            return Err(Error::DuplicateObject {
                object: m.object.object_ref(),
                first,
                second: m.origin.clone(),
            });
        }
    }
    Ok(desired)
}

/// What happened (or would happen) to one object, as Flux reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChangeAction {
    /// Created.
    Created,
    /// Changed.
    Configured,
    /// Already as desired.
    Unchanged,
    /// Not applied by policy.
    Skipped,
    /// Deleted.
    Deleted,
    /// Not deleted although the inventory says it should go: a guard refused (a protected
    /// namespace, a namespace still holding objects of others). The entry says why.
    Refused,
}

impl fmt::Display for ChangeAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ChangeAction::Created => "created",
            ChangeAction::Configured => "configured",
            ChangeAction::Unchanged => "unchanged",
            ChangeAction::Skipped => "skipped",
            ChangeAction::Deleted => "deleted",
            ChangeAction::Refused => "refused",
        })
    }
}

/// One line of a change set: `Deployment/default/web configured`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangeSetEntry {
    /// The object.
    pub object: ObjectRef,
    /// The API version it was applied with, when known.
    pub version: Option<String>,
    /// What happened to it.
    pub action: ChangeAction,
    /// Why, for a skipped or refused entry when known.
    pub reason: Option<String>,
}

impl ChangeSetEntry {
    /// An entry.
    pub fn new(object: ObjectRef, action: ChangeAction) -> Self {
        Self {
            object,
            version: None,
            action,
            reason: None,
        }
    }

    /// The entry with the reason it was skipped or refused.
    pub fn with_reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }

    /// The entry with the API version it was applied with.
    pub fn with_version(mut self, version: &str) -> Self {
        self.version = Some(version.into());
        self
    }
}

impl fmt::Display for ChangeSetEntry {
    /// `Deployment/default/web configured`; a refusal also says why:
    /// `Namespace/default refused (namespace default is protected)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.object, self.action)?;
        match &self.reason {
            Some(reason) if self.action == ChangeAction::Refused => write!(f, " ({reason})"),
            _ => Ok(()),
        }
    }
}

/// The changes of an apply or prune, printed one entry per line as Flux's events do.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChangeSet {
    /// The entries, in the order they happened.
    pub entries: Vec<ChangeSetEntry>,
}

impl ChangeSet {
    /// Whether nothing changed (only unchanged or skipped entries).
    pub fn is_empty(&self) -> bool {
        self.entries
            .iter()
            .all(|e| matches!(e.action, ChangeAction::Unchanged | ChangeAction::Skipped))
    }
}

impl fmt::Display for ChangeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for e in self
            .entries
            .iter()
            .filter(|e| !matches!(e.action, ChangeAction::Unchanged | ChangeAction::Skipped))
        {
            if !first {
                f.write_str("\n")?;
            }
            first = false;
            e.fmt(f)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
