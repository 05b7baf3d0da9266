//! Staged server-side apply: validate the whole set by dry-run, then apply stage by stage
//! with bounded concurrency, skipping what is known unchanged.

use std::collections::HashSet;
use std::sync::OnceLock;
use std::time::Duration;

use futures::StreamExt;
use gitops_core::plan::takeover::Takeover;
use gitops_core::plan::{
    Action, Apply, ChangeAction, ChangeSet, ChangeSetEntry, Live, Plan, PlanOptions,
};
use gitops_core::reconcile::{Pruned, SetMember};
use gitops_core::{Digest, Inventory, Manifest, Object, ObjectRef};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Patch, PatchParams};

use crate::dependency;
use crate::error::{Error, Operation, Subject};
use crate::manager::{Remembered, ResourceManager, lock, to_object};
use crate::wait::WaitOptions;

/// Settings of [`ResourceManager::apply_all_staged`].
#[derive(Clone, Debug)]
pub struct ApplyOptions {
    /// Delete inventory orphans (`spec.prune`).
    pub prune: bool,
    /// Recreate objects whose immutable fields changed (`spec.force`).
    pub force: bool,
    /// `--custom-apply-stage-kinds` as `(group, kind)` pairs.
    pub custom_stage_kinds: Vec<(String, String)>,
    /// How CRD, Namespace and `*Class` stages are waited for.
    pub stage_wait: WaitOptions,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        Self {
            prune: true,
            force: false,
            custom_stage_kinds: Vec::new(),
            stage_wait: WaitOptions {
                interval: Duration::from_millis(500),
                timeout: Duration::from_secs(60),
                fail_fast: true,
            },
        }
    }
}

/// What [`ResourceManager::apply_all_staged`] did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Applied {
    /// Created, configured, unchanged, skipped and deleted objects, in order.
    pub changes: ChangeSet,
    /// The inventory to keep for the next run.
    pub inventory: Inventory,
    /// Orphans left in place by a guard or an opt-out, and why.
    pub refused: Vec<(ObjectRef, String)>,
}

impl Applied {
    /// The inventory as set members, to wait for.
    pub fn members(&self) -> Vec<SetMember> {
        self.inventory
            .entries
            .iter()
            .map(|e| (e.object.clone(), e.api_version()))
            .collect()
    }
}

/// An apply with the digest of its object, computed once per run: validation records it,
/// the apply compares with what validation recorded and remembers it.
struct Pending<'a> {
    apply: &'a Apply,
    digest: Digest,
}

impl<'a> Pending<'a> {
    fn of(apply: &'a Apply) -> Self {
        Pending {
            apply,
            digest: apply.object.fingerprint(),
        }
    }
}

/// The result of applying one stage.
pub(crate) struct StageResult {
    pub(crate) changes: ChangeSet,
    pub(crate) error: Option<Error>,
}

impl ResourceManager {
    /// Applies a desired set against the previous inventory, as the kustomize controller
    /// would: read the set's live state, plan, validate every apply by server-side dry-run
    /// (an invalid object stops everything before the first write), apply the stages in
    /// Flux's order waiting for CRDs, Namespaces and `*Class` objects between them, then
    /// prune the orphans when `options.prune` is set.
    pub async fn apply_all_staged(
        &self,
        desired: Vec<Manifest>,
        previous: &Inventory,
        options: &ApplyOptions,
    ) -> Result<Applied, Error> {
        let reads = Plan::reads(&desired, previous);
        let live = self.read_set(&reads).await?;
        let plan_options = self.plan_options(options, &reads).await?;
        let plan = Plan::compute(desired, &live, previous, &plan_options)?;
        // Each apply's digest once: validation records it, the apply compares and remembers.
        let stages: Vec<Vec<Pending<'_>>> = plan
            .stages
            .iter()
            .map(|stage| stage.applies.iter().map(Pending::of).collect())
            .collect();
        let all: Vec<&Pending<'_>> = stages.iter().flatten().collect();
        self.validate_pending(&all, &live, &self.field_manager)
            .await?;
        let mut out = Applied {
            inventory: plan.inventory.clone(),
            ..Applied::default()
        };
        for key in &plan.unchanged {
            out.changes
                .entries
                .push(ChangeSetEntry::new(key.clone(), ChangeAction::Unchanged));
        }
        for (key, _) in &plan.skipped {
            out.changes
                .entries
                .push(ChangeSetEntry::new(key.clone(), ChangeAction::Skipped));
        }
        for (stage, pending) in plan.stages.iter().zip(&stages) {
            let result = self
                .apply_pending(pending, &live, &self.field_manager)
                .await;
            out.changes.entries.extend(result.changes.entries);
            if let Some(e) = result.error {
                return Err(e);
            }
            if stage.kind.waits() {
                let members: Vec<SetMember> = stage
                    .applies
                    .iter()
                    .map(|a| (a.key.clone(), a.object.api_version().to_string()))
                    .collect();
                self.wait_for_set(&members, &options.stage_wait).await?;
            }
        }
        for (entry, why) in &plan.kept {
            let reason = why.describe(&entry.object);
            // A guard's refusal is reported (Flux would have deleted); the plan keeps the
            // entry in the inventory. Flux's own opt-outs are skipped silently, as Flux does.
            if why.is_refusal() {
                out.changes.entries.push(
                    ChangeSetEntry::new(entry.object.clone(), ChangeAction::Refused)
                        .with_reason(reason.clone()),
                );
            }
            out.refused.push((entry.object.clone(), reason));
        }
        if !plan.prunes.is_empty() {
            let pruned = self.delete_all(&plan.prunes, &self.owner).await;
            for (entry, result) in pruned {
                match result {
                    Pruned::Deleted => out
                        .changes
                        .entries
                        .push(ChangeSetEntry::new(entry.object, ChangeAction::Deleted)),
                    Pruned::Skipped(why) => {
                        out.changes.entries.push(
                            ChangeSetEntry::new(entry.object.clone(), ChangeAction::Skipped)
                                .with_reason(why.clone()),
                        );
                        out.refused.push((entry.object, why));
                    }
                    Pruned::Refused(why) => {
                        out.changes.entries.push(
                            ChangeSetEntry::new(entry.object.clone(), ChangeAction::Refused)
                                .with_reason(why.clone()),
                        );
                        out.refused.push((entry.object.clone(), why));
                        // Still there and still ours: tried again next time.
                        out.inventory =
                            Inventory::new(out.inventory.entries.iter().cloned().chain([entry]));
                    }
                    Pruned::Failed(e) => {
                        out.inventory =
                            Inventory::new(out.inventory.entries.iter().cloned().chain([entry]));
                        return Err(Error::Core(e));
                    }
                }
            }
        }
        Ok(out)
    }

    /// The plan settings of a run: the owner, the manager's field manager, cleanup and
    /// protected namespaces, the run's options, and the schema of the set's kinds (built-in
    /// and the CRDs of the custom ones).
    pub(crate) async fn plan_options(
        &self,
        options: &ApplyOptions,
        reads: &[SetMember],
    ) -> Result<PlanOptions, Error> {
        let mut plan_options =
            PlanOptions::new(self.owner.clone()).with_field_manager(&self.field_manager);
        plan_options.cleanup = self.cleanup.clone();
        plan_options.protected_namespaces = self.protected.clone();
        plan_options.prune = options.prune;
        plan_options.force = options.force;
        plan_options.custom_stage_kinds = options.custom_stage_kinds.clone();
        plan_options.schema = self.schema_for(reads).await?;
        Ok(plan_options)
    }

    /// Validates applies by server-side dry-run with `field_manager`, `concurrency` at a
    /// time, and stops at the first object (in apply order) the server refuses; `live` is the
    /// snapshot the applies were planned against (objects known unchanged are not sent). An
    /// object refused only because it needs an object the set creates (its Namespace, its
    /// CRD, its ServiceAccount, the Role a binding grants: [`crate::dependency`]) is validated
    /// again once that object exists.
    pub async fn validate(
        &self,
        applies: &[&Apply],
        live: &Live,
        field_manager: &str,
    ) -> Result<(), Error> {
        let pending: Vec<Pending<'_>> = applies.iter().map(|a| Pending::of(a)).collect();
        let all: Vec<&Pending<'_>> = pending.iter().collect();
        self.validate_pending(&all, live, field_manager).await
    }

    async fn validate_pending(
        &self,
        applies: &[&Pending<'_>],
        live: &Live,
        field_manager: &str,
    ) -> Result<(), Error> {
        // The objects the set creates, needed only to explain a refusal: built on the first.
        let new: OnceLock<HashSet<ObjectRef>> = OnceLock::new();
        let creates = || {
            applies
                .iter()
                .filter(|p| matches!(p.apply.action, Action::Create))
                .map(|p| p.apply.key.clone())
                .collect()
        };
        let todo = applies.iter().filter(|p| !self.known_unchanged(p, live));
        let checks = todo.map(|p| async {
            let (a, key) = (p.apply, &p.apply.key);
            let resource = self
                .resource(a.object.api_version(), a.object.kind())
                .await?;
            let result = match resource {
                Some(resource) => self
                    .send(&resource, &a.object, key, true, field_manager)
                    .await
                    .map(drop),
                None => Err(Error::UnknownKind {
                    api_version: a.object.api_version().to_string(),
                    kind: key.kind.clone(),
                    object: key.clone(),
                }),
            };
            let e = match result {
                Ok(_) => {
                    lock(&self.validated).insert(key.clone(), p.digest.clone());
                    return Ok(());
                }
                Err(e) => e,
            };
            if let Some(dependency) = dependency::missing(&a.object, &e, new.get_or_init(creates)) {
                lock(&self.waiting).insert(key.clone(), dependency);
                return Ok(());
            }
            if e.is_immutable() && a.recreate_on_immutable {
                // Recreated when applied: the new object is validated by its apply.
                return Ok(());
            }
            Err(e.with_force_hint())
        });
        let results = in_order(checks.collect(), self.concurrency).await;
        results.into_iter().collect()
    }

    /// Whether an apply is known to change nothing: its desired form is what was applied
    /// last and the live object still has the resourceVersion that apply produced.
    fn known_unchanged(&self, pending: &Pending<'_>, live: &Live) -> bool {
        let memory = lock(&self.memory);
        let Some(m) = memory.get(&pending.apply.key) else {
            return false;
        };
        m.digest == pending.digest
            && live
                .get(&pending.apply.key)
                .and_then(Object::resource_version)
                .is_some_and(|rv| rv == m.resource_version)
    }

    /// Applies one stage: objects known unchanged are skipped, the others not yet validated
    /// are dry-run first (nothing of the stage is written when one fails), then all are
    /// applied `concurrency` at a time; objects waiting for another object of the stage come
    /// in a second wave, validated once it exists.
    pub(crate) async fn apply_stage(
        &self,
        applies: &[Apply],
        live: &Live,
        field_manager: &str,
    ) -> StageResult {
        let pending: Vec<Pending<'_>> = applies.iter().map(Pending::of).collect();
        self.apply_pending(&pending, live, field_manager).await
    }

    async fn apply_pending(
        &self,
        applies: &[Pending<'_>],
        live: &Live,
        field_manager: &str,
    ) -> StageResult {
        let mut changes = ChangeSet::default();
        let mut todo: Vec<&Pending<'_>> = Vec::new();
        for p in applies {
            if self.known_unchanged(p, live) {
                changes.entries.push(
                    ChangeSetEntry::new(p.apply.key.clone(), ChangeAction::Unchanged)
                        .with_version(p.apply.object.version()),
                );
            } else {
                todo.push(p);
            }
        }
        // Objects waiting for another object of this stage are applied after it.
        let (first, later): (Vec<&Pending<'_>>, Vec<&Pending<'_>>) = {
            let waiting = lock(&self.waiting);
            if waiting.is_empty() {
                (todo, Vec::new())
            } else {
                let keys: HashSet<&ObjectRef> = todo.iter().map(|p| &p.apply.key).collect();
                todo.into_iter().partition(|p| {
                    !waiting
                        .get(&p.apply.key)
                        .is_some_and(|dependency| keys.contains(dependency))
                })
            }
        };
        let mut error = None;
        for wave in [first, later] {
            if wave.is_empty() {
                continue;
            }
            let unvalidated: Vec<&Apply> = {
                let validated = lock(&self.validated);
                wave.iter()
                    .filter(|p| validated.get(&p.apply.key) != Some(&p.digest))
                    .map(|p| p.apply)
                    .collect()
            };
            if !unvalidated.is_empty()
                && let Err(e) = self.validate_now(&unvalidated, field_manager).await
            {
                error = Some(e);
                break;
            }
            let writes = wave
                .into_iter()
                .map(|p| self.apply_one(p, live, field_manager));
            let results = in_order(writes.collect(), self.concurrency).await;
            for r in results {
                match r {
                    Ok(entry) => changes.entries.push(entry),
                    Err(e) if error.is_none() => error = Some(e),
                    Err(_) => {}
                }
            }
            if error.is_some() {
                break;
            }
        }
        StageResult { changes, error }
    }

    /// Dry-runs applies whose dependencies now exist; no deferral any more.
    async fn validate_now(&self, applies: &[&Apply], field_manager: &str) -> Result<(), Error> {
        let checks = applies.iter().map(|a| async {
            let key = &a.key;
            let resource = self.require(&a.object).await?;
            match self
                .send(&resource, &a.object, key, true, field_manager)
                .await
            {
                Ok(_) => {
                    lock(&self.validated).insert(key.clone(), a.object.fingerprint());
                    Ok(())
                }
                Err(e) if e.is_immutable() && a.recreate_on_immutable => Ok(()),
                Err(e) => Err(e.with_force_hint()),
            }
        });
        let results = in_order(checks.collect(), self.concurrency).await;
        results.into_iter().collect()
    }

    async fn require(&self, object: &Object) -> Result<crate::discovery::Resource, Error> {
        self.resource(object.api_version(), object.kind())
            .await?
            .ok_or_else(|| Error::UnknownKind {
                object: object.object_ref(),
                api_version: object.api_version().to_string(),
                kind: object.kind().to_string(),
            })
    }

    async fn apply_one(
        &self,
        pending: &Pending<'_>,
        live: &Live,
        field_manager: &str,
    ) -> Result<ChangeSetEntry, Error> {
        let (apply, key) = (pending.apply, &pending.apply.key);
        let resource = self.require(&apply.object).await?;
        if let (Some(takeover), Some(current)) = (&apply.takeover, live.get(key)) {
            self.take_over(&resource, current, takeover, field_manager)
                .await?;
        }
        let stored = match self
            .send(&resource, &apply.object, key, false, field_manager)
            .await
        {
            Err(e) if apply.recreate_on_immutable && e.is_immutable() => {
                self.delete_and_wait(&resource, key).await?;
                self.send(&resource, &apply.object, key, false, field_manager)
                    .await?
            }
            other => other.map_err(Error::with_force_hint)?,
        };
        lock(&self.validated).remove(key);
        lock(&self.waiting).remove(key);
        if let Some(group) = defined_kind(&apply.object).map(|(g, _)| g) {
            self.discovery.forget_group(&group);
            self.forget_crds(&group);
        }
        let rv = stored.resource_version.unwrap_or_default();
        let stored_uid = stored.uid;
        let before = live
            .get(key)
            .filter(|l| uid(l) == stored_uid.as_deref())
            .and_then(Object::resource_version);
        let action = match before {
            None => ChangeAction::Created,
            Some(b) if b == rv => ChangeAction::Unchanged,
            Some(_) => ChangeAction::Configured,
        };
        lock(&self.memory).insert(
            key.clone(),
            Remembered {
                digest: pending.digest.clone(),
                resource_version: rv,
            },
        );
        Ok(ChangeSetEntry::new(key.clone(), action).with_version(apply.object.version()))
    }

    /// Hands the fields of the managers Flux takes over to `field_manager` and removes
    /// kubectl's last-applied annotation, with one JSON patch (Flux's `cleanupMetadata`). The
    /// patch tests the resourceVersion the takeover was computed from: an object changed
    /// since fails here instead of losing the new owner's entry.
    async fn take_over(
        &self,
        resource: &crate::discovery::Resource,
        current: &Object,
        takeover: &Takeover,
        field_manager: &str,
    ) -> Result<(), Error> {
        let key = current.object_ref();
        let subject = Subject::Object(&key);
        let patch: json_patch::Patch = serde_json::from_value(takeover.json_patch(current))
            .map_err(|e| Error::Decode {
                subject: subject.to_string(),
                reason: format!("cannot build the managedFields cleanup patch: {e}"),
            })?;
        let params = PatchParams {
            field_manager: Some(field_manager.to_string()),
            ..PatchParams::default()
        };
        self.throttle().await;
        self.api(resource, &key.namespace)
            .patch(&key.name, &params, &Patch::<()>::Json(patch))
            .await
            .map_err(|e| Error::request(Operation::Cleanup, &subject, e))?;
        Ok(())
    }

    /// One server-side apply (forcing conflicts), or its dry-run, and what the server
    /// stored (or would store) as an object.
    pub(crate) async fn patch(
        &self,
        resource: &crate::discovery::Resource,
        object: &Object,
        dry_run: bool,
        field_manager: &str,
    ) -> Result<Object, Error> {
        let key = object.object_ref();
        let subject = Subject::Object(&key);
        self.throttle().await;
        let stored = self
            .api(resource, &key.namespace)
            .patch(
                object.name(),
                &apply_params(field_manager, dry_run),
                &Patch::Apply(object.as_map()),
            )
            .await
            .map_err(|e| Error::request(operation(dry_run), &subject, e))?;
        to_object(stored, resource, &subject)
    }

    /// One server-side apply (forcing conflicts), or its dry-run, answered with the metadata
    /// of what the server stored (or would store).
    ///
    /// The engine needs no more of the answer: a dry-run's success, an apply's uid and
    /// resourceVersion. So it asks for the answer as `PartialObjectMetadata`, which the API
    /// server honours on every verb that returns an object: it serialises, and the client
    /// decodes, the metadata instead of the whole defaulted object.
    pub(crate) async fn send(
        &self,
        resource: &crate::discovery::Resource,
        object: &Object,
        key: &ObjectRef,
        dry_run: bool,
        field_manager: &str,
    ) -> Result<ObjectMeta, Error> {
        let subject = Subject::Object(key);
        self.throttle().await;
        self.api(resource, &key.namespace)
            .patch_metadata(
                object.name(),
                &apply_params(field_manager, dry_run),
                &Patch::Apply(object.as_map()),
            )
            .await
            .map(|answer| answer.metadata)
            .map_err(|e| Error::request(operation(dry_run), &subject, e))
    }
}

/// Server-side apply as `field_manager`, forcing conflicts (Flux's apply), or its dry-run.
fn apply_params(field_manager: &str, dry_run: bool) -> PatchParams {
    let mut params = PatchParams::apply(field_manager).force();
    params.dry_run = dry_run;
    params
}

fn operation(dry_run: bool) -> Operation {
    if dry_run {
        Operation::DryRun
    } else {
        Operation::Apply
    }
}

fn uid(object: &Object) -> Option<&str> {
    object.str_at(&["metadata", "uid"])
}

/// The `(group, kind)` a CustomResourceDefinition defines.
fn defined_kind(object: &Object) -> Option<(String, String)> {
    if object.kind() != "CustomResourceDefinition" || object.group() != "apiextensions.k8s.io" {
        return None;
    }
    Some((
        object.str_at(&["spec", "group"])?.to_string(),
        object.str_at(&["spec", "names", "kind"])?.to_string(),
    ))
}

/// Runs futures `n` at a time as they finish (a slow request does not hold back the ones
/// after it, as an ordered buffer would) and returns their results in the order given.
async fn in_order<T>(futures: Vec<impl std::future::Future<Output = T>>, n: usize) -> Vec<T> {
    // Boxed once: the buffer then moves pointers, not the request futures themselves.
    let mut out: Vec<(usize, T)> = futures::stream::iter(
        futures
            .into_iter()
            .enumerate()
            .map(|(i, f)| Box::pin(async move { (i, f.await) })),
    )
    .buffer_unordered(n)
    .collect()
    .await;
    out.sort_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, t)| t).collect()
}
