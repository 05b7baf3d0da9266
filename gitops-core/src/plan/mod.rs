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

use std::collections::BTreeMap;
use std::fmt;

pub use order::{StageKind, compare as compare_order};
pub use policy::{
    FORCE_KEY, OWNER_NAME_LABEL, OWNER_NAMESPACE_LABEL, PRUNE_KEY, Policy, RECONCILE_KEY, SSA_KEY,
    SsaPolicy,
};

use crate::diff::{self, Change};
use crate::{Error, Inventory, InventoryEntry, Manifest, Object, ObjectRef, Origin};

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
}

impl PlanOptions {
    /// Options for an owner, with prune on and force off.
    pub fn new(owner: Owner) -> Self {
        Self {
            owner,
            prune: true,
            force: false,
            custom_stage_kinds: Vec::new(),
        }
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
    /// Where it was defined.
    pub origin: Origin,
    /// Create or configure.
    pub action: Action,
    /// Its apply policy.
    pub policy: Policy,
    /// Whether an immutable-field error may be resolved by deleting and recreating it.
    pub recreate_on_immutable: bool,
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
            let action = match current {
                None => Action::Create,
                Some(_) if policy.ssa == SsaPolicy::IfNotPresent => {
                    plan.skipped.push((key, SkipReason::IfNotPresent));
                    continue;
                }
                Some(current) => {
                    let changes =
                        diff::compare(&diff::normalize(&object), &diff::normalize(current));
                    if changes.is_empty() {
                        plan.unchanged.push(key);
                        continue;
                    }
                    Action::Configure(changes)
                }
            };
            let stage = StageKind::of(&key, &options.custom_stage_kinds);
            applies.push((
                stage,
                Apply {
                    recreate_on_immutable: options.force || policy.force == Some(true),
                    object,
                    origin,
                    action,
                    policy,
                },
            ));
        }
        applies.sort_by(|(sa, a), (sb, b)| {
            sa.cmp(sb)
                .then_with(|| order::compare(&a.object.object_ref(), &b.object.object_ref()))
        });
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
            } else {
                None
            };
            match keep {
                Some(reason) => self.kept.push((entry, reason)),
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
            entries.push(ChangeSetEntry::new(a.object.object_ref(), action));
        }
        for p in &self.prunes {
            entries.push(ChangeSetEntry::new(p.object.clone(), ChangeAction::Deleted));
        }
        ChangeSet { entries }
    }
}

/// Prune order: reverse kind order, Namespaces last so that their contents go first.
fn prune_order(a: &ObjectRef, b: &ObjectRef) -> std::cmp::Ordering {
    let is_ns = |o: &ObjectRef| o.kind == "Namespace" && o.group.is_empty();
    is_ns(a).cmp(&is_ns(b)).then_with(|| order::compare(b, a))
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
}

impl fmt::Display for ChangeAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ChangeAction::Created => "created",
            ChangeAction::Configured => "configured",
            ChangeAction::Unchanged => "unchanged",
            ChangeAction::Skipped => "skipped",
            ChangeAction::Deleted => "deleted",
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
}

impl ChangeSetEntry {
    /// An entry.
    pub fn new(object: ObjectRef, action: ChangeAction) -> Self {
        Self {
            object,
            version: None,
            action,
        }
    }

    /// The entry with the API version it was applied with.
    pub fn with_version(mut self, version: &str) -> Self {
        self.version = Some(version.into());
        self
    }
}

impl fmt::Display for ChangeSetEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.object, self.action)
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
