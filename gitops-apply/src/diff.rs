//! The diff verb ([`ResourceManager::diff`]): what applying a desired set would change,
//! without changing anything, as `flux diff kustomization` reports it.
//!
//! The set is planned against the live objects exactly as [`ResourceManager::apply_all_staged`]
//! plans it (so an object the controller would leave alone has no diff), then every object the
//! plan would write is validated by a server-side dry-run apply with the manager's field
//! manager, so that what the API server would refuse is an error here too. The field changes
//! are the plan's ([`gitops_core::diff::compare`]): a Secret's values never appear in them.

use gitops_core::diff::Change;
use gitops_core::plan::{Action, Apply, Plan};
use gitops_core::{Inventory, Manifest, ObjectRef};

use crate::apply::ApplyOptions;
use crate::error::Error;
use crate::manager::ResourceManager;

/// What applying the set would do to one object.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum DiffAction {
    /// The object does not exist and would be created.
    Created,
    /// The object exists and these fields would change (empty when only the ownership
    /// metadata would: fields taken over from another manager, kubectl's annotation removed).
    Drifted(Vec<Change>),
    /// The object is in the previous inventory, no longer desired, and would be pruned.
    Deleted,
}

impl DiffAction {
    /// `created`, `drifted` or `deleted`, as flux prints them.
    pub fn verb(&self) -> &'static str {
        match self {
            DiffAction::Created => "created",
            DiffAction::Drifted(_) => "drifted",
            DiffAction::Deleted => "deleted",
        }
    }
}

/// One object the apply would change.
#[derive(Clone, Debug, PartialEq)]
pub struct DiffEntry {
    /// The object.
    pub object: ObjectRef,
    /// What would happen to it.
    pub action: DiffAction,
}

impl ResourceManager {
    /// What applying `desired` against the `previous` inventory would change: the objects
    /// created and drifted, in apply order, then those pruned (when `options.prune` is
    /// set). Empty when the cluster is converged. Nothing is written: the objects to apply
    /// are only dry-run.
    pub async fn diff(
        &self,
        desired: Vec<Manifest>,
        previous: &Inventory,
        options: &ApplyOptions,
    ) -> Result<Vec<DiffEntry>, Error> {
        let reads = Plan::reads(&desired, previous);
        let live = self.read_set(&reads).await?;
        let plan_options = self.plan_options(options, &reads).await?;
        let plan = Plan::compute(desired, &live, previous, &plan_options)?;
        let applies: Vec<&Apply> = plan.stages.iter().flat_map(|s| &s.applies).collect();
        self.validate(&applies, &live, &self.field_manager).await?;
        let mut out: Vec<DiffEntry> = applies
            .into_iter()
            .map(|a| DiffEntry {
                object: a.key.clone(),
                action: match &a.action {
                    Action::Create => DiffAction::Created,
                    Action::Configure(changes) => DiffAction::Drifted(changes.clone()),
                },
            })
            .collect();
        out.extend(plan.prunes.iter().map(|e| DiffEntry {
            object: e.object.clone(),
            action: DiffAction::Deleted,
        }));
        Ok(out)
    }
}
