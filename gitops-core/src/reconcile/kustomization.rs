//! The Kustomization reconciler: source, dependencies, render, plan, apply, prune, health.

use std::time::Duration;

use jiff::Timestamp;

use super::{
    Clock, Cluster, Event, EventType, FIELD_MANAGER, Finalizer, Outcome, Pruned, Requeue,
    SetMember, Source, elapsed,
};
use crate::api::{GitRepository, KUSTOMIZE_GROUP, Kustomization};
use crate::health::{self, Health};
use crate::plan::{ChangeAction, ChangeSet, ChangeSetEntry, Live, Owner, Plan, PlanOptions};
use crate::status::{Artifact, ConditionStatus, KustomizationStatus, condition, message, reason};
use crate::{
    Error, Inventory, InventoryEntry, Manifest, Object, ObjectRef, render, schedule, substitute,
};

/// Settings of the Kustomization reconciler (the kustomize controller's flags).
#[derive(Clone, Debug, PartialEq)]
pub struct KustomizationOptions {
    /// The SSA field manager, `kustomize-controller`.
    pub field_manager: String,
    /// `--interval-jitter-percentage` as a fraction.
    pub jitter: f64,
    /// `--requeue-dependency`.
    pub requeue_dependency: Duration,
    /// `--custom-apply-stage-kinds` as `(group, kind)` pairs.
    pub custom_stage_kinds: Vec<(String, String)>,
    /// `--no-cross-namespace-refs`.
    pub no_cross_namespace_refs: bool,
    /// The `StrictPostBuildSubstitutions` feature gate (on by default since Flux v1.9): an
    /// undefined variable without a default fails the build.
    pub strict_substitutions: bool,
    /// `--override-manager`: field managers whose fields are taken over before an apply, in
    /// addition to Flux's (`kubectl`, `before-first-apply`, the controller's own updates).
    pub override_managers: Vec<String>,
    /// Namespaces never pruned: [`crate::plan::PROTECTED_NAMESPACES`]; the controller adds
    /// the one it runs in.
    pub protected_namespaces: Vec<String>,
}

impl Default for KustomizationOptions {
    fn default() -> Self {
        Self {
            field_manager: FIELD_MANAGER.into(),
            jitter: schedule::DEFAULT_JITTER,
            requeue_dependency: schedule::DEPENDENCY_REQUEUE,
            custom_stage_kinds: Vec::new(),
            no_cross_namespace_refs: false,
            strict_substitutions: true,
            override_managers: Vec::new(),
            protected_namespaces: crate::plan::PROTECTED_NAMESPACES
                .iter()
                .map(|s| s.to_string())
                .collect(),
        }
    }
}

/// Reconciles Kustomizations: the decisions of Flux's kustomize controller.
pub struct KustomizationReconciler<'a> {
    /// Opens artifacts.
    pub source: &'a dyn Source,
    /// Reads and changes live objects.
    pub cluster: &'a dyn Cluster,
    /// The time.
    pub clock: &'a dyn Clock,
    /// Settings.
    pub options: KustomizationOptions,
}

/// Why a reconciliation stopped early: the condition to report and when to retry.
struct Failure {
    reason: &'static str,
    message: String,
    requeue: Requeue,
    stalled: bool,
}

impl Failure {
    fn retry(reason: &'static str, message: impl Into<String>, after: Duration) -> Self {
        Self {
            reason,
            message: message.into(),
            requeue: Requeue::After(after),
            stalled: false,
        }
    }

    fn stalled(reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            reason,
            message: message.into(),
            requeue: Requeue::Never,
            stalled: true,
        }
    }
}

/// Durations of one run, read from the spec once.
struct Timing {
    interval: Duration,
    retry: Duration,
    timeout: Duration,
}

impl<'a> KustomizationReconciler<'a> {
    /// A reconciler with the default options.
    pub fn new(source: &'a dyn Source, cluster: &'a dyn Cluster, clock: &'a dyn Clock) -> Self {
        Self {
            source,
            cluster,
            clock,
            options: KustomizationOptions::default(),
        }
    }

    /// Reconciles one Kustomization.
    pub async fn reconcile(&self, ks: &Kustomization) -> Outcome<KustomizationStatus> {
        let now = self.clock.now();
        let mut out = Outcome {
            status: ks.status.clone(),
            requeue: Requeue::Never,
            events: Vec::new(),
            finalizer: if ks.metadata.has_finalizer() {
                Finalizer::Keep
            } else {
                Finalizer::Add
            },
        };
        if ks.metadata.deletion_timestamp.is_some() {
            self.finalize(ks, &mut out).await;
            return out;
        }
        if ks.spec.suspend {
            return out;
        }
        let timing = match timing(ks) {
            Ok(t) => t,
            Err(e) => {
                self.fail(
                    ks,
                    &mut out,
                    Failure::stalled(reason::INVALID_SPEC, e.to_string()),
                    now,
                );
                return out;
            }
        };
        match self.run(ks, &timing, &mut out, now).await {
            Ok(Some(requeue)) => out.requeue = requeue,
            Ok(None) => {
                let key = format!("{}/{}", ks.metadata.namespace, ks.metadata.name);
                let next = schedule::jittered(
                    timing.interval,
                    self.options.jitter,
                    schedule::seed(&key, now.as_second()),
                );
                out.requeue = Requeue::After(next);
                out.events.push(
                    Event::new(
                        EventType::Normal,
                        reason::RECONCILIATION_SUCCEEDED,
                        message::reconciliation_finished(
                            elapsed(now, self.clock.now()),
                            timing.interval,
                        ),
                    )
                    .with("kustomize.toolkit.fluxcd.io/commit_status", "update"),
                );
            }
            Err(failure) => self.fail(ks, &mut out, failure, now),
        }
        finish(ks, &mut out.status);
        out
    }

    /// The pipeline. `Ok(None)`: done and ready; `Ok(Some(r))`: in progress, come back;
    /// `Err`: failed with a condition to report.
    async fn run(
        &self,
        ks: &Kustomization,
        timing: &Timing,
        out: &mut Outcome<KustomizationStatus>,
        now: Timestamp,
    ) -> Result<Option<Requeue>, Failure> {
        let generation = ks.metadata.generation;
        let unsupported = ks.unsupported_fields();
        if !unsupported.is_empty() {
            return Err(Failure::stalled(
                reason::UNSUPPORTED_FIELD,
                format!(
                    "{} not supported by this controller yet; remove {} or reconcile this Kustomization with Flux",
                    unsupported.join(", "),
                    if unsupported.len() == 1 { "it" } else { "them" }
                ),
            ));
        }
        let artifact = self.artifact(ks, timing).await?;
        let revision = artifact.revision.clone();
        self.check_dependencies(ks, &revision).await?;

        let st = &mut out.status;
        st.conditions.set(
            condition::RECONCILING,
            ConditionStatus::True,
            reason::PROGRESSING,
            message::fetching_manifests(&revision, timing.timeout),
            generation,
            now,
        );
        // A ready object stays Ready=True while it is re-checked, so a converged run leaves the
        // status exactly as it was and nothing needs writing.
        if !st.conditions.is_true(condition::READY) {
            st.conditions.set(
                condition::READY,
                ConditionStatus::Unknown,
                reason::PROGRESSING,
                message::KUSTOMIZATION_IN_PROGRESS,
                generation,
                now,
            );
        }
        st.last_attempted_revision = Some(revision.clone());

        let files =
            self.source.open(&artifact).await.map_err(|e| {
                Failure::retry(reason::ARTIFACT_FAILED, e.to_string(), timing.retry)
            })?;
        let path = ks.spec.path.as_deref().unwrap_or("");
        let build_failed =
            |e: Error| Failure::retry(reason::BUILD_FAILED, build_message(&e), timing.retry);
        let mut desired =
            render::build_with(files.as_ref(), path, &ks.overlay()).map_err(build_failed)?;
        if let Some(post_build) = &ks.spec.post_build {
            desired = self
                .post_build(ks, post_build, desired)
                .await
                .map_err(build_failed)?;
        }
        if let Some(common) = &ks.spec.common_metadata {
            for m in &mut desired {
                common.apply_to(&mut m.object);
            }
        }

        // Flux counts a Job with a TTL that finished and vanished as healthy.
        let ttl_jobs: Vec<Object> = desired
            .iter()
            .filter(|m| health::assess_missing(&m.object).is_current())
            .map(|m| m.object.clone())
            .collect();
        let previous = out.status.inventory.clone().unwrap_or_default();
        let failed =
            |e: Error| Failure::retry(reason::RECONCILIATION_FAILED, e.to_string(), timing.retry);
        let live = self.snapshot(&desired, &previous).await.map_err(failed)?;
        let mut options = self.plan_options(ks);
        options.prune = ks.spec.prune;
        options.force = ks.spec.force;
        options.schema = self
            .cluster
            .schema(&Plan::reads(&desired, &previous))
            .await
            .map_err(failed)?;
        let plan = Plan::compute(desired, &live, &previous, &options).map_err(|e| {
            Failure::retry(reason::RECONCILIATION_FAILED, e.to_string(), timing.retry)
        })?;

        // Validate the whole plan first: an invalid object stops the run with nothing written.
        let all: Vec<&crate::plan::Apply> = plan.applies().collect();
        if !all.is_empty()
            && let Err(failure) = self
                .cluster
                .validate_set(&all, &live, &self.options.field_manager)
                .await
        {
            return Err(Failure::retry(
                reason::RECONCILIATION_FAILED,
                failure.to_string(),
                timing.retry,
            ));
        }

        // Apply stage by stage; any failure stops here, before the inventory or a prune moves.
        let mut applied = ChangeSet::default();
        for stage in &plan.stages {
            let result = self
                .cluster
                .apply_set(&stage.applies, &live, &self.options.field_manager)
                .await;
            applied.entries.extend(result.changes.entries);
            if let Some(failure) = result.failure {
                // Nothing is pruned, but what this run created is tracked from now on.
                out.status.inventory = Some(track(&previous, &applied));
                return Err(Failure::retry(
                    reason::RECONCILIATION_FAILED,
                    failure.to_string(),
                    timing.retry,
                ));
            }
            if stage.kind.waits() {
                let refs: Vec<SetMember> = stage
                    .applies
                    .iter()
                    .map(|a| (a.key.clone(), a.object.api_version().to_string()))
                    .collect();
                let pending = self.not_ready(&refs, now).await.map_err(|e| {
                    Failure::retry(reason::RECONCILIATION_FAILED, e.to_string(), timing.retry)
                })?;
                if !pending.is_empty() {
                    // The next stage needs these; come back shortly instead of holding a worker.
                    record_changes(out, &applied, &revision);
                    out.status.inventory = Some(track(&previous, &applied));
                    out.status.conditions.set(
                        condition::RECONCILING,
                        ConditionStatus::True,
                        reason::PROGRESSING,
                        format!(
                            "waiting for {} to become ready",
                            health::summarize(&pending).not_ready_list()
                        ),
                        generation,
                        now,
                    );
                    return Ok(Some(Requeue::After(Duration::from_secs(2))));
                }
            }
        }
        record_changes(out, &applied, &revision);

        // Prune what the new revision no longer has.
        let mut inventory = plan.inventory.clone();
        let mut prune_errors = Vec::new();
        let mut pruned = ChangeSet::default();
        let owner = Owner::new(&ks.metadata.name, &ks.metadata.namespace);
        // Refusals the plan decided (protected namespaces) and those the cluster reports.
        for (entry, why) in plan.kept.iter().filter(|(_, r)| r.is_refusal()) {
            pruned.entries.push(
                ChangeSetEntry::new(entry.object.clone(), ChangeAction::Refused)
                    .with_reason(why.describe(&entry.object)),
            );
        }
        if !plan.prunes.is_empty() {
            for (entry, result) in self.cluster.prune_set(&plan.prunes, &owner).await {
                match result {
                    Pruned::Deleted => pruned.entries.push(ChangeSetEntry::new(
                        entry.object.clone(),
                        ChangeAction::Deleted,
                    )),
                    Pruned::Skipped(why) => pruned.entries.push(
                        ChangeSetEntry::new(entry.object.clone(), ChangeAction::Skipped)
                            .with_reason(why),
                    ),
                    Pruned::Refused(why) => {
                        pruned.entries.push(
                            ChangeSetEntry::new(entry.object.clone(), ChangeAction::Refused)
                                .with_reason(why),
                        );
                        // Still ours and still there: tried again next time.
                        inventory =
                            Inventory::new(inventory.entries.into_iter().chain([entry.clone()]));
                    }
                    Pruned::Failed(e) => {
                        prune_errors.push(format!("{}: {e}", entry.object));
                        // Keep it in the inventory so the next run retries (Flux v1.9).
                        inventory =
                            Inventory::new(inventory.entries.into_iter().chain([entry.clone()]));
                    }
                }
            }
        }
        record_changes(out, &pruned, &revision);
        let refused: Vec<String> = pruned
            .entries
            .iter()
            .filter(|e| e.action == ChangeAction::Refused)
            .map(|e| {
                let why = e.reason.as_deref().unwrap_or("refused");
                format!("{} ({why})", e.object)
            })
            .collect();
        for line in &refused {
            out.events.push(Event::new(
                EventType::Warning,
                reason::PRUNE_FAILED,
                format!("not pruned: {line}"),
            ));
        }
        out.status.inventory = Some(inventory);
        if !prune_errors.is_empty() {
            return Err(Failure::retry(
                reason::PRUNE_FAILED,
                format!("delete failed, errors: {}", prune_errors.join("; ")),
                timing.retry,
            ));
        }

        if let Some(requeue) = self
            .health_checks(ks, &plan, &ttl_jobs, timing, out, now)
            .await?
        {
            return Ok(Some(requeue));
        }

        let st = &mut out.status;
        st.last_applied_revision = Some(revision.clone());
        st.conditions.set(
            condition::READY,
            ConditionStatus::True,
            reason::RECONCILIATION_SUCCEEDED,
            message::applied_revision_refusing(&revision, &refused),
            generation,
            now,
        );
        st.conditions.remove(condition::STALLED);
        Ok(None)
    }

    /// Plan settings from the reconciler's options, for a Kustomization's objects.
    fn plan_options(&self, ks: &Kustomization) -> PlanOptions {
        let owner = Owner::new(&ks.metadata.name, &ks.metadata.namespace);
        let mut options = PlanOptions::new(owner).with_field_manager(&self.options.field_manager);
        for manager in &self.options.override_managers {
            options.cleanup = options.cleanup.with_override_manager(manager);
        }
        options.protected_namespaces = self.options.protected_namespaces.clone();
        options.custom_stage_kinds = self.options.custom_stage_kinds.clone();
        options
    }

    /// Flux's post-build substitution: reads the `substituteFrom` ConfigMaps and Secrets from
    /// the Kustomization's namespace, then substitutes the rendered objects.
    async fn post_build(
        &self,
        ks: &Kustomization,
        post_build: &crate::api::PostBuild,
        desired: Vec<Manifest>,
    ) -> Result<Vec<Manifest>, Error> {
        let options = substitute::Options {
            strict: self.options.strict_substitutions,
            strategy: substitute::Strategy::parse(post_build.substitute_strategy.as_deref())
                .map_err(|e| match e {
                    Error::InvalidSpec { field, reason, .. } => Error::InvalidSpec {
                        object: ks.object_ref().to_string(),
                        field,
                        reason,
                    },
                    other => other,
                })?,
        };
        let mut sources = Vec::with_capacity(post_build.substitute_from.len());
        for reference in &post_build.substitute_from {
            let object =
                ObjectRef::new("", &reference.kind, &ks.metadata.namespace, &reference.name);
            let found =
                self.cluster
                    .get(&object, "v1")
                    .await
                    .map_err(|e| Error::SubstituteFrom {
                        reference: format!("{}/{}", reference.kind, reference.name),
                        reason: e.to_string(),
                    })?;
            sources.push(found);
        }
        let vars = substitute::variables(post_build, &sources)?;
        substitute::apply(desired, &vars, &options)
    }

    /// The source's artifact, or the failure Flux reports when there is none.
    async fn artifact(&self, ks: &Kustomization, timing: &Timing) -> Result<Artifact, Failure> {
        let source = ks.source_object_ref();
        if self.options.no_cross_namespace_refs && source.namespace != ks.metadata.namespace {
            return Err(Failure::stalled(
                reason::ACCESS_DENIED,
                format!(
                    "can't access '{}/{}', cross-namespace references have been blocked",
                    source.kind,
                    format_args!("{}/{}", source.namespace, source.name)
                ),
            ));
        }
        if source.kind != "GitRepository" {
            return Err(Failure::stalled(
                reason::ARTIFACT_FAILED,
                format!(
                    "source kind '{}' is not supported by this controller yet; use a GitRepository",
                    source.kind
                ),
            ));
        }
        let api_version = ks
            .spec
            .source_ref
            .api_version
            .clone()
            .unwrap_or_else(|| format!("{}/v1", crate::api::SOURCE_GROUP));
        let object = self
            .cluster
            .get(&source, &api_version)
            .await
            .map_err(|e| {
                Failure::retry(
                    reason::ARTIFACT_FAILED,
                    format!(
                        "unable to get source '{}/{}': {e}",
                        source.namespace, source.name
                    ),
                    timing.retry,
                )
            })?
            .ok_or_else(|| {
                Failure::retry(
                    reason::ARTIFACT_FAILED,
                    format!(
                        "{}.{} \"{}\" not found",
                        source.kind, source.group, source.name
                    ),
                    timing.retry,
                )
            })?;
        let repo = GitRepository::from_object(&object)
            .map_err(|e| Failure::retry(reason::ARTIFACT_FAILED, e.to_string(), timing.retry))?;
        repo.status.artifact.ok_or_else(|| {
            Failure::retry(
                reason::ARTIFACT_FAILED,
                message::source_artifact_not_found(self.options.requeue_dependency),
                self.options.requeue_dependency,
            )
        })
    }

    /// Flux's built-in dependency check (FLUX.md 2.10).
    async fn check_dependencies(
        &self,
        ks: &Kustomization,
        revision: &crate::Revision,
    ) -> Result<(), Failure> {
        let retry = self.options.requeue_dependency;
        for dep in &ks.spec.depends_on {
            let ns = dep.namespace.as_deref().unwrap_or(&ks.metadata.namespace);
            let key = ObjectRef::new(KUSTOMIZE_GROUP, "Kustomization", ns, &dep.name);
            let not_ready = |msg: String| Failure::retry(reason::DEPENDENCY_NOT_READY, msg, retry);
            let object = match self
                .cluster
                .get(&key, &format!("{KUSTOMIZE_GROUP}/v1"))
                .await
            {
                Ok(Some(o)) => o,
                Ok(None) => {
                    let e = Error::NotFound {
                        object: key.clone(),
                    };
                    return Err(not_ready(message::dependency_not_found(
                        ns,
                        &dep.name,
                        &e.to_string(),
                    )));
                }
                Err(e) => {
                    return Err(not_ready(message::dependency_not_found(
                        ns,
                        &dep.name,
                        &e.to_string(),
                    )));
                }
            };
            let dependency = Kustomization::from_object(&object).map_err(|e| {
                not_ready(message::dependency_not_found(ns, &dep.name, &e.to_string()))
            })?;
            let st = &dependency.status;
            let ready = !st.conditions.0.is_empty()
                && st.observed_generation == dependency.metadata.generation
                && st.conditions.is_true(condition::READY);
            if !ready {
                return Err(not_ready(message::dependency_not_ready(ns, &dep.name)));
            }
            if dependency.source_object_ref() == ks.source_object_ref()
                && st.last_applied_revision.as_ref() != Some(revision)
            {
                return Err(not_ready(message::dependency_not_up_to_date(ns, &dep.name)));
            }
        }
        Ok(())
    }

    async fn snapshot(&self, desired: &[Manifest], previous: &Inventory) -> Result<Live, Error> {
        let reads = Plan::reads(desired, previous);
        if reads.is_empty() {
            return Ok(Live::new());
        }
        self.cluster.read_set(&reads).await
    }

    /// The objects among `refs` that are not Current.
    async fn not_ready(
        &self,
        refs: &[SetMember],
        now: Timestamp,
    ) -> Result<Vec<(ObjectRef, Health)>, Error> {
        let all = self.cluster.health_set(refs, now).await?;
        Ok(all.into_iter().filter(|(_, h)| !h.is_current()).collect())
    }

    /// Runs `wait` / `healthChecks`. `Ok(Some(_))`: still waiting, come back.
    async fn health_checks(
        &self,
        ks: &Kustomization,
        plan: &Plan,
        ttl_jobs: &[Object],
        timing: &Timing,
        out: &mut Outcome<KustomizationStatus>,
        now: Timestamp,
    ) -> Result<Option<Requeue>, Failure> {
        let refs = health_check_set(ks, &plan.inventory);
        let generation = ks.metadata.generation;
        let st = &mut out.status;
        if refs.is_empty() {
            st.conditions.remove(condition::HEALTHY);
            return Ok(None);
        }
        let Some(revision) = st.last_attempted_revision.clone() else {
            return Ok(None);
        };
        // A wait in progress is recorded as Healthy=Unknown with this message; its transition
        // time is when the wait began, which is what the timeout counts from.
        let waiting = message::running_health_checks(&revision, timing.timeout);
        let started = match st.conditions.get(condition::HEALTHY) {
            Some(c)
                if c.status == ConditionStatus::Unknown
                    && c.message == waiting
                    && c.observed_generation == Some(generation) =>
            {
                c.last_transition_time
            }
            _ => now,
        };
        let mut results = self.cluster.health_set(&refs, now).await.map_err(|e| {
            Failure::retry(reason::HEALTH_CHECK_FAILED, e.to_string(), timing.retry)
        })?;
        for (key, h) in &mut results {
            if h.status == health::Status::NotFound
                && let Some(job) = ttl_jobs.iter().find(|j| j.object_ref() == *key)
            {
                *h = health::assess_missing(job);
            }
        }
        let summary = health::summarize(&results);
        let waited = elapsed(started, now);
        if summary.all_current() {
            st.conditions.set(
                condition::HEALTHY,
                ConditionStatus::True,
                reason::SUCCEEDED,
                "Health check passed",
                generation,
                now,
            );
            out.events.push(Event::new(
                EventType::Normal,
                reason::SUCCEEDED,
                message::health_check_passed(waited),
            ));
            return Ok(None);
        }
        let fail = |msg: String| Failure::retry(reason::HEALTH_CHECK_FAILED, msg, timing.retry);
        if summary.any_failed() {
            let msg = message::health_check_stalled(waited, &summary.failed_list());
            set_unhealthy(st, &msg, generation, now);
            return Err(fail(msg));
        }
        if waited >= timing.timeout {
            let msg = message::health_check_timeout(waited, &summary.not_ready_list());
            set_unhealthy(st, &msg, generation, now);
            return Err(fail(msg));
        }
        if started == now {
            st.conditions.remove(condition::HEALTHY);
        }
        for c in [condition::RECONCILING, condition::HEALTHY] {
            let status = if c == condition::HEALTHY {
                ConditionStatus::Unknown
            } else {
                ConditionStatus::True
            };
            st.conditions
                .set(c, status, reason::PROGRESSING, &waiting, generation, now);
        }
        Ok(Some(Requeue::After(schedule::HEALTH_POLL)))
    }

    /// Deletion: prune the inventory when Flux would, then let the object go.
    async fn finalize(&self, ks: &Kustomization, out: &mut Outcome<KustomizationStatus>) {
        out.finalizer = Finalizer::Remove;
        let policy = ks
            .spec
            .other
            .get("deletionPolicy")
            .and_then(|v| v.as_str())
            .unwrap_or("MirrorPrune");
        let delete = match policy {
            "Delete" | "WaitForTermination" => true,
            "Orphan" => false,
            _ => ks.spec.prune,
        };
        let Some(inventory) = ks
            .status
            .inventory
            .as_ref()
            .filter(|_| delete && !ks.spec.suspend)
        else {
            return;
        };
        let reads: Vec<SetMember> = inventory
            .entries
            .iter()
            .map(|e| (e.object.clone(), e.api_version()))
            .collect();
        let live = self.cluster.read_set(&reads).await.unwrap_or_default();
        let mut options = self.plan_options(ks);
        options.prune = true;
        // Planning an empty desired set against the inventory gives Flux's deletion rules.
        let Ok(plan) = Plan::compute(Vec::new(), &live, inventory, &options) else {
            return;
        };
        let mut deleted = ChangeSet::default();
        for (entry, why) in plan.kept.iter().filter(|(_, r)| r.is_refusal()) {
            out.events.push(Event::new(
                EventType::Warning,
                reason::PRUNE_FAILED,
                format!(
                    "not pruned: {} ({})",
                    entry.object,
                    why.describe(&entry.object)
                ),
            ));
        }
        let owner = options.owner.clone();
        let results = if plan.prunes.is_empty() {
            Vec::new()
        } else {
            self.cluster.prune_set(&plan.prunes, &owner).await
        };
        for (entry, result) in results {
            match result {
                Pruned::Deleted => deleted.entries.push(ChangeSetEntry::new(
                    entry.object.clone(),
                    ChangeAction::Deleted,
                )),
                Pruned::Skipped(_) => {}
                Pruned::Refused(why) => out.events.push(Event::new(
                    EventType::Warning,
                    reason::PRUNE_FAILED,
                    format!("not pruned: {} ({why})", entry.object),
                )),
                Pruned::Failed(e) => out.events.push(Event::new(
                    EventType::Warning,
                    reason::PRUNE_FAILED,
                    format!("{}: {e}", entry.object),
                )),
            }
        }
        if !deleted.is_empty() {
            out.events.push(Event::new(
                EventType::Normal,
                reason::RECONCILIATION_SUCCEEDED,
                deleted.to_string(),
            ));
        }
    }

    fn fail(
        &self,
        ks: &Kustomization,
        out: &mut Outcome<KustomizationStatus>,
        failure: Failure,
        now: Timestamp,
    ) {
        let generation = ks.metadata.generation;
        let c = &mut out.status.conditions;
        c.set(
            condition::READY,
            ConditionStatus::False,
            failure.reason,
            &failure.message,
            generation,
            now,
        );
        if failure.stalled {
            c.set(
                condition::STALLED,
                ConditionStatus::True,
                failure.reason,
                &failure.message,
                generation,
                now,
            );
            c.remove(condition::RECONCILING);
        }
        let mut event = Event::new(EventType::Warning, failure.reason, failure.message);
        if let Some(rev) = &out.status.last_attempted_revision {
            event = event.with("kustomize.toolkit.fluxcd.io/revision", rev.to_string());
        }
        out.events.push(event);
        out.requeue = failure.requeue;
    }
}

fn timing(ks: &Kustomization) -> Result<Timing, Error> {
    Ok(Timing {
        interval: ks.interval()?,
        retry: ks.retry_interval()?,
        timeout: ks.timeout()?,
    })
}

fn set_unhealthy(st: &mut KustomizationStatus, msg: &str, generation: i64, now: Timestamp) {
    st.conditions.set(
        condition::HEALTHY,
        ConditionStatus::False,
        reason::HEALTH_CHECK_FAILED,
        msg,
        generation,
        now,
    );
}

/// Flux's `finalizeStatus`: the handled request; on success the generation and no
/// Reconciling; on failure Reconciling becomes ProgressingWithRetry.
fn finish(ks: &Kustomization, status: &mut KustomizationStatus) {
    if let Some(v) = ks.metadata.requested_at() {
        status.last_handled_reconcile_at = Some(v.to_string());
    }
    let ready = status.conditions.get(condition::READY).map(|c| c.status);
    match ready {
        Some(ConditionStatus::True) => {
            status.conditions.remove(condition::RECONCILING);
            status.observed_generation = ks.metadata.generation;
        }
        Some(ConditionStatus::False) => {
            if let Some(c) = status
                .conditions
                .0
                .iter_mut()
                .find(|c| c.type_ == condition::RECONCILING)
            {
                c.reason = reason::PROGRESSING_WITH_RETRY.into();
            }
        }
        _ => {}
    }
}

/// The previous inventory plus what a partial run applied.
fn track(previous: &Inventory, applied: &ChangeSet) -> Inventory {
    let added = applied.entries.iter().filter_map(|e| {
        e.version
            .as_ref()
            .map(|v| InventoryEntry::new(e.object.clone(), v))
    });
    Inventory::new(previous.entries.iter().cloned().chain(added))
}

fn record_changes(
    out: &mut Outcome<KustomizationStatus>,
    changes: &ChangeSet,
    revision: &crate::Revision,
) {
    if changes.is_empty() {
        return;
    }
    out.events.push(
        Event::new(EventType::Normal, reason::PROGRESSING, changes.to_string())
            .with("kustomize.toolkit.fluxcd.io/revision", revision.to_string()),
    );
}

fn build_message(e: &Error) -> String {
    match e {
        Error::Render { message: m } if m.starts_with("kustomization path not found") => m.clone(),
        // Flux reports post-build failures without the kustomize prefix.
        Error::Substitution { .. } | Error::SubstituteFrom { .. } | Error::InvalidSpec { .. } => {
            e.to_string()
        }
        other => message::build_failed(&other.to_string()),
    }
}

/// The objects whose health a Kustomization waits for once `inventory` is applied: all of
/// them under `spec.wait`, else those of `spec.healthChecks` (never itself). A controller
/// uses it to know what to watch while a wait is in progress.
pub fn health_check_set(ks: &Kustomization, inventory: &crate::Inventory) -> Vec<SetMember> {
    if ks.spec.wait {
        inventory
            .entries
            .iter()
            .map(|e| (e.object.clone(), e.api_version()))
            .collect()
    } else {
        ks.spec
            .health_checks
            .iter()
            .map(|h| {
                let api_version = h.api_version.clone().unwrap_or_default();
                let group = crate::split_api_version(&api_version).0;
                let ns = h.namespace.clone().unwrap_or_default();
                (ObjectRef::new(group, &h.kind, ns, &h.name), api_version)
            })
            .filter(|(r, _)| *r != ks.object_ref())
            .collect()
    }
}
