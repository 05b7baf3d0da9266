use std::time::Duration;

use serde_json::json;

use super::*;
use crate::health::Status;
use crate::plan::{OWNER_NAME_LABEL, OWNER_NAMESPACE_LABEL};
use crate::status::{ConditionStatus, condition, reason};
use crate::testkit::{Env, Fault, Verb, block_on, files};
use crate::{Error, SourceFailure};

const URL: &str = "https://git.example.invalid/fleet";

fn cm(name: &str, value: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: default\ndata:\n  v: \"{value}\"\n"
    )
}

fn repo_yaml(extra: &str) -> String {
    format!(
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: fleet\n  namespace: flux-system\n  generation: 1\nspec:\n  url: {URL}\n  interval: 1m\n  ref:\n    branch: main\n{extra}"
    )
}

fn ks_yaml(name: &str, extra: &str) -> String {
    format!(
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: {name}\n  namespace: flux-system\nspec:\n  interval: 10m\n  path: ./app\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: fleet\n{extra}"
    )
}

/// An environment with one commit holding `app/*.yaml` and a synced source.
fn env_with(app: &[(&str, &str)], ks_extra: &str) -> Env {
    let env = Env::new();
    env.source.commit(URL, "main", files(app), "first");
    env.add_yaml(&repo_yaml("")).unwrap();
    env.add_yaml(&ks_yaml("app", ks_extra)).unwrap();
    block_on(env.reconcile_source("flux-system", "fleet")).unwrap();
    env
}

fn ready(status_conditions: &crate::status::Conditions) -> (ConditionStatus, String, String) {
    let c = status_conditions
        .get(condition::READY)
        .expect("Ready condition");
    (c.status, c.reason.clone(), c.message.clone())
}

fn configmap(env: &Env, name: &str) -> Option<crate::Object> {
    env.cluster
        .get_object(&crate::ObjectRef::new("", "ConfigMap", "default", name))
}

// ---- GitRepository ----

#[test]
fn source_stores_new_revision_with_flux_message() {
    let env = Env::new();
    let rev = env.source.commit(
        URL,
        "main",
        files(&[("a.yaml", "x: 1")]),
        "feat: first commit",
    );
    env.add_yaml(&repo_yaml("")).unwrap();
    let out = block_on(env.reconcile_source("flux-system", "fleet")).unwrap();
    assert_eq!(
        ready(&out.status.conditions),
        (
            ConditionStatus::True,
            "Succeeded".into(),
            format!("stored artifact for revision '{rev}'")
        )
    );
    assert!(rev.to_string().starts_with("main@sha1:"));
    assert!(
        out.status
            .conditions
            .is_true(condition::ARTIFACT_IN_STORAGE)
    );
    assert!(out.status.conditions.get(condition::RECONCILING).is_none());
    let artifact = out.status.artifact.as_ref().unwrap();
    assert_eq!(artifact.revision, rev);
    assert!(
        artifact
            .path
            .starts_with("gitrepository/flux-system/fleet/")
    );
    // The artifact is stamped with the environment's clock.
    assert_eq!(artifact.last_update_time, env.clock.now());
    assert_eq!(out.status.observed_generation, 1);
    assert_eq!(out.finalizer, Finalizer::Add);
    assert_eq!(out.events[0].reason, "NewArtifact");
    assert_eq!(
        out.events[0].message,
        "stored artifact for commit 'feat: first commit'"
    );
    match out.requeue {
        Requeue::After(d) => assert!(
            d >= Duration::from_secs(57) && d <= Duration::from_secs(63),
            "{d:?}"
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn unchanged_remote_is_not_transferred_again() {
    let env = env_with(&[("app/a.yaml", &cm("a", "1"))], "");
    assert_eq!(env.source.transfers(), 1);
    let out = block_on(env.reconcile_source("flux-system", "fleet")).unwrap();
    assert_eq!(env.source.transfers(), 1);
    assert_eq!(env.source.fetches(), 2);
    assert!(out.events.is_empty());
    assert_eq!(out.finalizer, Finalizer::Keep);
    assert!(
        ready(&out.status.conditions)
            .2
            .starts_with("stored artifact for revision 'main@sha1:")
    );
}

#[test]
fn failed_fetch_keeps_the_last_artifact() {
    let env = env_with(&[("app/a.yaml", &cm("a", "1"))], "");
    let before = env
        .git_repository("flux-system", "fleet")
        .unwrap()
        .status
        .artifact;
    env.source.fail(URL, Error::Source {
        reason: SourceFailure::Authentication,
        message: "failed to checkout and determine revision: unable to clone: authentication required".into(),
    });
    let out = block_on(env.reconcile_source("flux-system", "fleet")).unwrap();
    let (status, why, msg) = ready(&out.status.conditions);
    assert_eq!(
        (status, why.as_str()),
        (ConditionStatus::False, "AuthenticationFailed")
    );
    assert!(msg.contains("authentication required"));
    assert!(out.status.conditions.is_true(condition::FETCH_FAILED));
    assert!(
        out.status
            .conditions
            .is_true(condition::ARTIFACT_IN_STORAGE)
    );
    assert_eq!(out.status.artifact, before);
    assert_eq!(out.requeue, Requeue::Backoff);
    assert_eq!(
        out.status
            .conditions
            .get(condition::RECONCILING)
            .unwrap()
            .reason,
        "ProgressingWithRetry"
    );
    // The Kustomization keeps working from the stored artifact.
    let ks = block_on(env.reconcile_kustomization("flux-system", "app")).unwrap();
    assert_eq!(ready(&ks.status.conditions).0, ConditionStatus::True);
    // Recovery clears the failure.
    env.source.heal(URL);
    let out = block_on(env.reconcile_source("flux-system", "fleet")).unwrap();
    assert!(out.status.conditions.get(condition::FETCH_FAILED).is_none());
    assert_eq!(ready(&out.status.conditions).0, ConditionStatus::True);
}

#[test]
fn unknown_branch_is_named() {
    let env = Env::new();
    env.source
        .commit(URL, "main", files(&[("a.yaml", "")]), "c");
    env.add_yaml(&repo_yaml("").replace("branch: main", "branch: nope"))
        .unwrap();
    let out = block_on(env.reconcile_source("flux-system", "fleet")).unwrap();
    let (_, why, msg) = ready(&out.status.conditions);
    assert_eq!(why, "GitOperationFailed");
    assert_eq!(
        msg,
        format!(
            "failed to checkout and determine revision: unable to clone '{URL}': couldn't find remote ref \"refs/heads/nope\""
        )
    );
    assert!(out.status.artifact.is_none());
}

#[test]
fn ref_kinds_give_flux_revisions() {
    let env = Env::new();
    let head = env
        .source
        .commit(URL, "main", files(&[("a.yaml", "")]), "c");
    env.source.set_ref(URL, "refs/tags/v1.2.0", "main");
    env.source.set_ref(URL, "refs/tags/v1.10.0", "main");
    env.source.set_ref(URL, "refs/pull/1/head", "main");
    let hex = head.commit().hex().to_string();
    for (r, want) in [
        ("tag: v1.2.0", format!("v1.2.0@sha1:{hex}")),
        ("semver: \">=1.0.0 <2.0.0\"", format!("v1.10.0@sha1:{hex}")),
        (
            "name: refs/pull/1/head",
            format!("refs/pull/1/head@sha1:{hex}"),
        ),
        (&format!("commit: {hex}"), format!("sha1:{hex}")),
    ] {
        let yaml = repo_yaml("").replace("branch: main", r);
        env.add_yaml(&yaml.replace(">=1.0.0 <2.0.0", ">=1.0.0, <2.0.0"))
            .unwrap();
        let out = block_on(env.reconcile_source("flux-system", "fleet")).unwrap();
        assert_eq!(
            out.status.artifact.unwrap().revision.to_string(),
            want,
            "{r}"
        );
    }
}

#[test]
fn source_suspend_requested_at_ignore_and_deletion() {
    let env = env_with(&[("app/a.yaml", &cm("a", "1"))], "");
    // requestedAt is echoed.
    env.add_yaml(&repo_yaml("").replace(
        "generation: 1",
        "generation: 1\n  annotations:\n    reconcile.fluxcd.io/requestedAt: \"t1\"",
    ))
    .unwrap();
    let out = block_on(env.reconcile_source("flux-system", "fleet")).unwrap();
    assert_eq!(out.status.last_handled_reconcile_at.as_deref(), Some("t1"));
    // A changed ignore rule rebuilds the artifact at the same commit.
    let transfers = env.source.transfers();
    env.add_yaml(&repo_yaml("  ignore: \"*.md\"\n")).unwrap();
    let out = block_on(env.reconcile_source("flux-system", "fleet")).unwrap();
    assert_eq!(env.source.transfers(), transfers + 1);
    assert_eq!(out.status.observed_ignore.as_deref(), Some("*.md"));
    // Suspended: nothing is fetched.
    env.add_yaml(&repo_yaml("  suspend: true\n")).unwrap();
    let fetches = env.source.fetches();
    let out = block_on(env.reconcile_source("flux-system", "fleet")).unwrap();
    assert_eq!(env.source.fetches(), fetches);
    assert_eq!(out.requeue, Requeue::Never);
    // Deletion lets the object go.
    let mut repo = env.git_repository("flux-system", "fleet").unwrap();
    repo.metadata.deletion_timestamp = Some(jiff::Timestamp::UNIX_EPOCH);
    let out = block_on(GitRepositoryReconciler::new(&env.source, &env.clock).reconcile(&repo));
    assert_eq!(out.finalizer, Finalizer::Remove);
}

#[test]
fn invalid_interval_stalls() {
    let env = Env::new();
    env.add_yaml(&repo_yaml("").replace("interval: 1m", "interval: often"))
        .unwrap();
    let out = block_on(env.reconcile_source("flux-system", "fleet")).unwrap();
    assert!(out.status.conditions.is_true(condition::STALLED));
    assert_eq!(out.requeue, Requeue::Never);
    assert!(ready(&out.status.conditions).2.contains("spec.interval"));
}

#[test]
fn source_fields_not_acted_on_stall_instead_of_being_ignored() {
    let env = Env::new();
    env.source
        .commit(URL, "main", files(&[("a.yaml", "a: 1\n")]), "first");
    env.add_yaml(&repo_yaml(
        "  recurseSubmodules: true\n  sparseCheckout: [apps]\n  provider: generic\n",
    ))
    .unwrap();
    let out = block_on(env.reconcile_source("flux-system", "fleet")).unwrap();
    let (status, why, msg) = ready(&out.status.conditions);
    assert_eq!(
        (status, why.as_str()),
        (ConditionStatus::False, "UnsupportedField")
    );
    assert_eq!(
        msg,
        "spec.recurseSubmodules, spec.sparseCheckout not supported by this controller yet; remove them or reconcile this GitRepository with Flux"
    );
    assert!(out.status.conditions.is_true(condition::STALLED));
    assert!(out.status.artifact.is_none());
    assert_eq!(out.requeue, Requeue::Never);
}

// ---- Kustomization ----

#[test]
fn applies_then_prunes_what_was_removed() {
    let env = env_with(
        &[("app/a.yaml", &cm("a", "1")), ("app/b.yaml", &cm("b", "1"))],
        "",
    );
    let out = block_on(env.reconcile_kustomization("flux-system", "app")).unwrap();
    let rev = env
        .git_repository("flux-system", "fleet")
        .unwrap()
        .status
        .artifact
        .unwrap()
        .revision;
    assert_eq!(
        ready(&out.status.conditions),
        (
            ConditionStatus::True,
            "ReconciliationSucceeded".into(),
            format!("Applied revision: {rev}")
        )
    );
    assert_eq!(out.status.last_applied_revision.as_ref(), Some(&rev));
    assert_eq!(out.status.last_attempted_revision.as_ref(), Some(&rev));
    let ids: Vec<String> = out
        .status
        .inventory
        .as_ref()
        .unwrap()
        .entries
        .iter()
        .map(|e| e.id())
        .collect();
    assert_eq!(ids, ["default_a__ConfigMap", "default_b__ConfigMap"]);
    assert_eq!(
        out.events[0].message,
        "ConfigMap/default/a created\nConfigMap/default/b created"
    );
    assert!(
        out.events
            .last()
            .unwrap()
            .message
            .starts_with("Reconciliation finished in 0s, next run in 10m0s")
    );
    let a = configmap(&env, "a").unwrap();
    assert_eq!(a.label(OWNER_NAME_LABEL), Some("app"));
    assert_eq!(a.label(OWNER_NAMESPACE_LABEL), Some("flux-system"));

    // The next revision drops b: it is pruned.
    let rev2 = env.source.commit(
        URL,
        "main",
        files(&[("app/a.yaml", &cm("a", "2"))]),
        "drop b",
    );
    block_on(env.reconcile_source("flux-system", "fleet")).unwrap();
    let out = block_on(env.reconcile_kustomization("flux-system", "app")).unwrap();
    assert_eq!(
        ready(&out.status.conditions).2,
        format!("Applied revision: {rev2}")
    );
    assert!(configmap(&env, "b").is_none());
    assert_eq!(configmap(&env, "a").unwrap().to_value()["data"]["v"], "2");
    let msgs: Vec<&str> = out.events.iter().map(|e| e.message.as_str()).collect();
    assert!(msgs.contains(&"ConfigMap/default/a configured"), "{msgs:?}");
    assert!(msgs.contains(&"ConfigMap/default/b deleted"), "{msgs:?}");
    assert_eq!(out.status.inventory.unwrap().entries.len(), 1);
}

#[test]
fn broken_revision_leaves_the_cluster_untouched() {
    let env = env_with(
        &[("app/a.yaml", &cm("a", "1")), ("app/b.yaml", &cm("b", "1"))],
        "",
    );
    let good = block_on(env.reconcile_kustomization("flux-system", "app")).unwrap();
    let before = env.cluster.objects();
    let applies = env.cluster.requests(Verb::Apply);
    env.source.commit(
        URL,
        "main",
        files(&[
            ("app/a.yaml", &cm("a", "2")),
            ("app/b.yaml", "kind: [broken"),
        ]),
        "oops",
    );
    block_on(env.reconcile_source("flux-system", "fleet")).unwrap();
    let out = block_on(env.reconcile_kustomization("flux-system", "app")).unwrap();
    let (status, why, msg) = ready(&out.status.conditions);
    assert_eq!(
        (status, why.as_str()),
        (ConditionStatus::False, "BuildFailed")
    );
    assert!(
        msg.starts_with("kustomize build failed: app/b.yaml (document 0, line 1): malformed YAML"),
        "{msg}"
    );
    assert_eq!(env.cluster.requests(Verb::Apply), applies);
    let after: Vec<_> = env
        .cluster
        .objects()
        .into_iter()
        .filter(|o| o.kind() == "ConfigMap")
        .collect();
    let before: Vec<_> = before
        .into_iter()
        .filter(|o| o.kind() == "ConfigMap")
        .collect();
    assert_eq!(after, before);
    assert_eq!(out.status.inventory, good.status.inventory);
    assert_eq!(
        out.status.last_applied_revision,
        good.status.last_applied_revision
    );
    assert_ne!(
        out.status.last_attempted_revision,
        good.status.last_attempted_revision
    );
    assert_eq!(
        out.status
            .conditions
            .get(condition::RECONCILING)
            .unwrap()
            .reason,
        "ProgressingWithRetry"
    );
    assert_eq!(out.requeue, Requeue::After(Duration::from_secs(600)));
    assert_eq!(
        out.status.observed_generation,
        good.status.observed_generation
    );
}

#[test]
fn failed_apply_never_prunes() {
    let env = env_with(
        &[("app/a.yaml", &cm("a", "1")), ("app/b.yaml", &cm("b", "1"))],
        "",
    );
    block_on(env.reconcile_kustomization("flux-system", "app")).unwrap();
    env.source.commit(
        URL,
        "main",
        files(&[("app/a.yaml", &cm("a", "2"))]),
        "drop b",
    );
    block_on(env.reconcile_source("flux-system", "fleet")).unwrap();
    env.cluster.inject(Fault {
        verb: Verb::Apply,
        object: None,
        error: Error::Api {
            object: None,
            reason: "InternalError".into(),
            code: 500,
            message: "etcd is down".into(),
        },
        times: None,
    });
    let out = block_on(env.reconcile_kustomization("flux-system", "app")).unwrap();
    let (_, why, msg) = ready(&out.status.conditions);
    assert_eq!(why, "ReconciliationFailed");
    assert_eq!(msg, "ConfigMap/default/a apply failed: etcd is down");
    assert!(
        configmap(&env, "b").is_some(),
        "b must not be pruned after a failed apply"
    );
    assert_eq!(out.status.inventory.unwrap().entries.len(), 2);
}

#[test]
fn duplicate_objects_fail_naming_both_files() {
    let env = env_with(
        &[("app/a.yaml", &cm("a", "1")), ("app/z.yaml", &cm("a", "2"))],
        "",
    );
    let out = block_on(env.reconcile_kustomization("flux-system", "app")).unwrap();
    assert_eq!(
        ready(&out.status.conditions).2,
        // kustomize refuses duplicates while building, as Flux reports them.
        "kustomize build failed: duplicate object ConfigMap/default/a: defined in app/a.yaml (document 0, line 1) and in app/z.yaml (document 0, line 1)"
    );
    assert!(configmap(&env, "a").is_none());
}

#[test]
fn missing_source_and_artifact() {
    let env = Env::new();
    env.add_yaml(&ks_yaml("app", "")).unwrap();
    let out = block_on(env.reconcile_kustomization("flux-system", "app")).unwrap();
    assert_eq!(
        ready(&out.status.conditions),
        (
            ConditionStatus::False,
            "ArtifactFailed".into(),
            "GitRepository.source.toolkit.fluxcd.io \"fleet\" not found".into()
        )
    );
    assert_eq!(out.requeue, Requeue::After(Duration::from_secs(600)));
    env.add_yaml(&repo_yaml("")).unwrap();
    let out = block_on(env.reconcile_kustomization("flux-system", "app")).unwrap();
    assert_eq!(
        ready(&out.status.conditions).2,
        "Source artifact not found, retrying in 30s"
    );
    assert_eq!(out.requeue, Requeue::After(Duration::from_secs(30)));
}

#[test]
fn depends_on_waits_for_ready_and_same_revision() {
    let env = env_with(
        &[("app/a.yaml", &cm("a", "1"))],
        "  dependsOn:\n  - name: infra\n",
    );
    env.add_yaml(&ks_yaml("infra", "").replace(
        "name: infra\n  namespace: flux-system",
        "name: infra\n  namespace: flux-system\n  generation: 1",
    ))
    .unwrap();
    let out = block_on(env.reconcile_kustomization("flux-system", "app")).unwrap();
    assert_eq!(
        ready(&out.status.conditions),
        (
            ConditionStatus::False,
            "DependencyNotReady".into(),
            "dependency 'flux-system/infra' is not ready".into()
        )
    );
    assert_eq!(out.requeue, Requeue::After(Duration::from_secs(30)));
    assert!(configmap(&env, "a").is_none());
    block_on(env.reconcile_kustomization("flux-system", "infra")).unwrap();
    let out = block_on(env.reconcile_kustomization("flux-system", "app")).unwrap();
    assert_eq!(ready(&out.status.conditions).0, ConditionStatus::True);
    // A new revision: infra has not applied it yet, so app waits.
    env.source
        .commit(URL, "main", files(&[("app/a.yaml", &cm("a", "2"))]), "bump");
    block_on(env.reconcile_source("flux-system", "fleet")).unwrap();
    let out = block_on(env.reconcile_kustomization("flux-system", "app")).unwrap();
    assert_eq!(
        ready(&out.status.conditions).2,
        "dependency 'flux-system/infra' revision is not up to date"
    );
    // Missing dependency.
    env.add_yaml(&ks_yaml("app", "  dependsOn:\n  - name: ghost\n"))
        .unwrap();
    let out = block_on(env.reconcile_kustomization("flux-system", "app")).unwrap();
    assert_eq!(
        ready(&out.status.conditions).2,
        "dependency 'flux-system/ghost' not found: Kustomization/flux-system/ghost not found"
    );
}

#[test]
fn suspended_kustomization_does_nothing() {
    let env = env_with(&[("app/a.yaml", &cm("a", "1"))], "  suspend: true\n");
    let out = block_on(env.reconcile_kustomization("flux-system", "app")).unwrap();
    assert_eq!(out.requeue, Requeue::Never);
    assert!(out.status.conditions.0.is_empty());
    assert!(configmap(&env, "a").is_none());
}

#[test]
fn converged_reconcile_applies_nothing_and_drift_is_reverted() {
    let env = env_with(&[("app/a.yaml", &cm("a", "1"))], "");
    block_on(env.reconcile_kustomization("flux-system", "app")).unwrap();
    let applies = env.cluster.requests(Verb::Apply);
    let rv = configmap(&env, "a")
        .unwrap()
        .resource_version()
        .map(str::to_owned);
    let out = block_on(env.reconcile_kustomization("flux-system", "app")).unwrap();
    assert_eq!(env.cluster.requests(Verb::Apply), applies);
    assert_eq!(
        configmap(&env, "a")
            .unwrap()
            .resource_version()
            .map(str::to_owned),
        rv
    );
    assert_eq!(
        out.events.len(),
        1,
        "only the finished event: {:?}",
        out.events
    );
    // Someone edits the object by hand: the next run puts it back.
    let mut edited = configmap(&env, "a").unwrap();
    edited.as_map_mut()["data"] = json!({"v": "hand-edited"});
    env.cluster.put(edited, "kubectl-edit").unwrap();
    let out = block_on(env.reconcile_kustomization("flux-system", "app")).unwrap();
    assert_eq!(out.events[0].message, "ConfigMap/default/a configured");
    assert_eq!(configmap(&env, "a").unwrap().to_value()["data"]["v"], "1");
}

#[test]
fn prune_off_keeps_orphans() {
    let env = env_with(
        &[("app/a.yaml", &cm("a", "1")), ("app/b.yaml", &cm("b", "1"))],
        "",
    );
    env.add_yaml(&ks_yaml("app", "").replace("prune: true", "prune: false"))
        .unwrap();
    block_on(env.reconcile_kustomization("flux-system", "app")).unwrap();
    env.source.commit(
        URL,
        "main",
        files(&[("app/a.yaml", &cm("a", "1"))]),
        "drop b",
    );
    block_on(env.reconcile_source("flux-system", "fleet")).unwrap();
    let out = block_on(env.reconcile_kustomization("flux-system", "app")).unwrap();
    assert_eq!(ready(&out.status.conditions).0, ConditionStatus::True);
    assert!(configmap(&env, "b").is_some());
    assert_eq!(out.status.inventory.unwrap().entries.len(), 1);
}

#[test]
fn prune_failure_is_reported_and_retried() {
    let env = env_with(
        &[("app/a.yaml", &cm("a", "1")), ("app/b.yaml", &cm("b", "1"))],
        "",
    );
    block_on(env.reconcile_kustomization("flux-system", "app")).unwrap();
    env.source.commit(
        URL,
        "main",
        files(&[("app/a.yaml", &cm("a", "1"))]),
        "drop b",
    );
    block_on(env.reconcile_source("flux-system", "fleet")).unwrap();
    env.cluster.inject(Fault {
        verb: Verb::Delete,
        object: None,
        error: Error::Api {
            object: None,
            reason: "Forbidden".into(),
            code: 403,
            message: "denied".into(),
        },
        times: Some(1),
    });
    let out = block_on(env.reconcile_kustomization("flux-system", "app")).unwrap();
    let (_, why, msg) = ready(&out.status.conditions);
    assert_eq!(why, "PruneFailed");
    assert_eq!(msg, "delete failed, errors: ConfigMap/default/b: denied");
    assert_eq!(
        out.status.inventory.unwrap().entries.len(),
        2,
        "b stays in the inventory to be retried"
    );
    let out = block_on(env.reconcile_kustomization("flux-system", "app")).unwrap();
    assert_eq!(ready(&out.status.conditions).0, ConditionStatus::True);
    assert!(configmap(&env, "b").is_none());
}

#[test]
fn health_checks_requeue_then_time_out() {
    let env = env_with(
        &[("app/a.yaml", &cm("a", "1"))],
        "  wait: true\n  timeout: 1m\n",
    );
    let key = crate::ObjectRef::new("", "ConfigMap", "default", "a");
    env.cluster.set_health(
        &key,
        crate::health::Health::new(Status::InProgress, "warming up"),
    );
    let out = block_on(env.reconcile_kustomization("flux-system", "app")).unwrap();
    assert_eq!(out.requeue, Requeue::After(Duration::from_secs(5)));
    assert_eq!(ready(&out.status.conditions).0, ConditionStatus::Unknown);
    let reconciling = out.status.conditions.get(condition::RECONCILING).unwrap();
    assert!(
        reconciling
            .message
            .starts_with("Running health checks for revision main@sha1:"),
        "{}",
        reconciling.message
    );
    assert!(reconciling.message.ends_with("with a timeout of 1m0s"));
    // Not applied until healthy: dependents keep waiting on lastAppliedRevision.
    assert_eq!(out.status.last_applied_revision, None);
    assert!(out.status.last_attempted_revision.is_some());
    env.clock.advance(Duration::from_secs(30));
    let out = block_on(env.reconcile_kustomization("flux-system", "app")).unwrap();
    assert_eq!(out.requeue, Requeue::After(Duration::from_secs(5)));
    env.clock.advance(Duration::from_secs(31));
    let out = block_on(env.reconcile_kustomization("flux-system", "app")).unwrap();
    let (status, why, msg) = ready(&out.status.conditions);
    assert_eq!(
        (status, why.as_str()),
        (ConditionStatus::False, "HealthCheckFailed")
    );
    assert_eq!(
        msg,
        "health check failed after 1m1s: timeout waiting for: [ConfigMap/default/a status: 'InProgress']"
    );
    assert_eq!(
        out.status
            .conditions
            .get(condition::HEALTHY)
            .unwrap()
            .status,
        ConditionStatus::False
    );
    // Healthy at last.
    env.cluster.clear_health(&key);
    let out = block_on(env.reconcile_kustomization("flux-system", "app")).unwrap();
    assert_eq!(ready(&out.status.conditions).0, ConditionStatus::True);
    assert!(out.status.conditions.is_true(condition::HEALTHY));
}

#[test]
fn failed_health_fails_early() {
    let env = env_with(
        &[("app/a.yaml", &cm("a", "1"))],
        "  healthChecks:\n  - apiVersion: v1\n    kind: ConfigMap\n    name: a\n    namespace: default\n",
    );
    let key = crate::ObjectRef::new("", "ConfigMap", "default", "a");
    env.cluster
        .set_health(&key, crate::health::Health::new(Status::Failed, "crash"));
    let out = block_on(env.reconcile_kustomization("flux-system", "app")).unwrap();
    assert_eq!(
        ready(&out.status.conditions).2,
        "health check failed after 0s: failed early due to stalled resources: [ConfigMap/default/a status: 'Failed']"
    );
}

#[test]
fn force_recreates_on_immutable_change() {
    let deploy = |app: &str| {
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: default\nspec:\n  selector:\n    matchLabels:\n      app: {app}\n"
        )
    };
    let env = env_with(&[("app/d.yaml", &deploy("a"))], "");
    block_on(env.reconcile_kustomization("flux-system", "app")).unwrap();
    env.source.commit(
        URL,
        "main",
        files(&[("app/d.yaml", &deploy("b"))]),
        "new selector",
    );
    block_on(env.reconcile_source("flux-system", "fleet")).unwrap();
    let out = block_on(env.reconcile_kustomization("flux-system", "app")).unwrap();
    let msg = ready(&out.status.conditions).2;
    assert!(
        msg.starts_with(
            "Deployment/default/web apply failed: Deployment \"web\" is invalid: spec.selector"
        ),
        "{msg}"
    );
    env.add_yaml(&ks_yaml("app", "  force: true\n")).unwrap();
    let out = block_on(env.reconcile_kustomization("flux-system", "app")).unwrap();
    assert_eq!(ready(&out.status.conditions).0, ConditionStatus::True);
    let live = env
        .cluster
        .get_object(&crate::ObjectRef::new(
            "apps",
            "Deployment",
            "default",
            "web",
        ))
        .unwrap();
    assert_eq!(
        live.to_value()["spec"]["selector"]["matchLabels"]["app"],
        "b"
    );
}

#[test]
fn crds_and_namespaces_go_first() {
    let crd = "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.example.com\n";
    let ns = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n";
    let w = "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n  namespace: shop\n";
    let env = env_with(
        &[
            ("app/1-widget.yaml", w),
            ("app/2-ns.yaml", ns),
            ("app/3-crd.yaml", crd),
        ],
        "",
    );
    let out = block_on(env.reconcile_kustomization("flux-system", "app")).unwrap();
    assert_eq!(
        ready(&out.status.conditions).0,
        ConditionStatus::True,
        "{:?}",
        out.status.conditions
    );
    assert_eq!(
        out.events[0].message,
        "CustomResourceDefinition/widgets.example.com created\nNamespace/shop created\nWidget/shop/w created"
    );
}

#[test]
fn deletion_prunes_inventory_then_releases() {
    let env = env_with(&[("app/a.yaml", &cm("a", "1"))], "");
    block_on(env.reconcile_kustomization("flux-system", "app")).unwrap();
    let mut ks = env.kustomization("flux-system", "app").unwrap();
    ks.metadata.deletion_timestamp = Some(jiff::Timestamp::UNIX_EPOCH);
    let out = block_on(
        KustomizationReconciler::new(&env.source, &env.cluster, &env.clock).reconcile(&ks),
    );
    assert_eq!(out.finalizer, Finalizer::Remove);
    assert!(configmap(&env, "a").is_none());
    assert_eq!(out.events[0].message, "ConfigMap/default/a deleted");
}

#[test]
fn unsupported_fields_stall_instead_of_being_ignored() {
    let env = env_with(
        &[("app/a.yaml", &cm("a", "1"))],
        "  decryption:\n    provider: sops\n",
    );
    let out = block_on(env.reconcile_kustomization("flux-system", "app")).unwrap();
    let (_, why, msg) = ready(&out.status.conditions);
    assert_eq!(why, "UnsupportedField");
    assert!(msg.starts_with("spec.decryption not supported"), "{msg}");
    assert!(out.status.conditions.is_true(condition::STALLED));
    assert!(configmap(&env, "a").is_none());
}

#[test]
fn requested_at_is_handled_and_generation_observed() {
    let env = env_with(&[("app/a.yaml", &cm("a", "1"))], "");
    env.add_yaml(&ks_yaml("app", "").replace("namespace: flux-system\nspec", "namespace: flux-system\n  generation: 3\n  annotations:\n    reconcile.fluxcd.io/requestedAt: \"2026-01-01T00:00:00Z\"\nspec")).unwrap();
    let out = block_on(env.reconcile_kustomization("flux-system", "app")).unwrap();
    assert_eq!(
        out.status.last_handled_reconcile_at.as_deref(),
        Some("2026-01-01T00:00:00Z")
    );
    assert_eq!(out.status.observed_generation, 3);
    assert_eq!(out.finalizer, Finalizer::Add);
    assert_eq!(
        reason::RECONCILIATION_SUCCEEDED,
        ready(&out.status.conditions).1
    );
}

#[test]
fn finished_jobs_with_a_ttl_count_as_healthy_when_gone() {
    let job = "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: migrate\n  namespace: default\nspec:\n  ttlSecondsAfterFinished: 10\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - name: m\n        image: busybox\n";
    let env = env_with(&[("app/job.yaml", job)], "  wait: true\n");
    let out = block_on(env.reconcile_kustomization("flux-system", "app")).unwrap();
    assert_eq!(
        ready(&out.status.conditions).0,
        ConditionStatus::Unknown,
        "a running Job is waited for"
    );
    // Between the apply and the health read, the Job finished and its TTL removed it.
    let key = crate::ObjectRef::new("batch", "Job", "default", "migrate");
    env.cluster.set_health(&key, crate::health::not_found());
    let out = block_on(env.reconcile_kustomization("flux-system", "app")).unwrap();
    assert_eq!(ready(&out.status.conditions).0, ConditionStatus::True);
    // Any other kind that vanishes is not healthy.
    let env = env_with(
        &[("app/a.yaml", &cm("a", "1"))],
        "  wait: true\n  timeout: 30s\n",
    );
    env.cluster.set_health(
        &crate::ObjectRef::new("", "ConfigMap", "default", "a"),
        crate::health::not_found(),
    );
    block_on(env.reconcile_kustomization("flux-system", "app")).unwrap();
    env.clock.advance(Duration::from_secs(31));
    let out = block_on(env.reconcile_kustomization("flux-system", "app")).unwrap();
    assert_eq!(
        ready(&out.status.conditions).2,
        "health check failed after 31s: timeout waiting for: [ConfigMap/default/a status: 'NotFound']"
    );
}

#[test]
fn objects_created_before_a_failed_apply_are_tracked_for_pruning() {
    let env = env_with(
        &[("app/a.yaml", &cm("a", "1")), ("app/b.yaml", &cm("b", "1"))],
        "",
    );
    let b = crate::ObjectRef::new("", "ConfigMap", "default", "b");
    env.cluster.inject(Fault {
        verb: Verb::Apply,
        object: Some(b.clone()),
        error: Error::Api {
            object: Some(b),
            reason: "Invalid".into(),
            code: 422,
            message: "bad b".into(),
        },
        times: Some(1),
    });
    let out = block_on(env.reconcile_kustomization("flux-system", "app")).unwrap();
    assert_eq!(
        ready(&out.status.conditions).2,
        "ConfigMap/default/b apply failed: bad b"
    );
    let ids: Vec<String> = out
        .status
        .inventory
        .unwrap()
        .entries
        .iter()
        .map(|e| e.id())
        .collect();
    assert_eq!(
        ids,
        ["default_a__ConfigMap"],
        "a was created and is tracked"
    );
    // The next revision no longer has a: it is pruned even though no run fully succeeded before.
    env.source.commit(
        URL,
        "main",
        files(&[("app/b.yaml", &cm("b", "1"))]),
        "only b",
    );
    block_on(env.reconcile_source("flux-system", "fleet")).unwrap();
    let out = block_on(env.reconcile_kustomization("flux-system", "app")).unwrap();
    assert_eq!(ready(&out.status.conditions).0, ConditionStatus::True);
    assert!(configmap(&env, "a").is_none());
}

// ---- Flux overlay and post-build substitution ----

const DEPLOY: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: default\nspec:\n  replicas: 1\n  selector:\n    matchLabels:\n      app: web\n  template:\n    metadata:\n      labels:\n        app: web\n    spec:\n      containers:\n      - name: web\n        image: nginx:1.25\n";

const VARS_CM: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n  namespace: default\ndata:\n  env: ${cluster_env}\n  region: ${region:=eu}\n  token: ${token}\n";

fn deployment(env: &Env, namespace: &str) -> Option<crate::Object> {
    env.cluster.get_object(&crate::ObjectRef::new(
        "apps",
        "Deployment",
        namespace,
        "web",
    ))
}

fn assert_ready(out: &crate::reconcile::Outcome<crate::status::KustomizationStatus>) {
    let (status, why, msg) = ready(&out.status.conditions);
    assert_eq!(
        (status, why.as_str()),
        (ConditionStatus::True, "ReconciliationSucceeded"),
        "{msg}"
    );
}

#[test]
fn target_namespace_and_name_prefix_from_the_spec() {
    let env = env_with(
        &[("app/a.yaml", &cm("a", "1"))],
        "  targetNamespace: prod\n  namePrefix: p-\n  commonMetadata:\n    labels:\n      team: x\n",
    );
    env.add_yaml("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: prod\n")
        .unwrap();
    let out = block_on(env.reconcile_kustomization("flux-system", "app")).unwrap();
    assert_ready(&out);
    let a = env
        .cluster
        .get_object(&crate::ObjectRef::new("", "ConfigMap", "prod", "p-a"))
        .expect("ConfigMap/prod/p-a");
    assert_eq!(a.label("team"), Some("x"));
    assert_eq!(a.label(OWNER_NAME_LABEL), Some("app"));
    assert!(configmap(&env, "a").is_none());
}

#[test]
fn patches_and_images_from_the_spec() {
    let env = env_with(
        &[("app/deploy.yaml", DEPLOY)],
        "  patches:\n  - patch: |\n      - op: replace\n        path: /spec/replicas\n        value: 3\n    target:\n      kind: Deployment\n      name: web\n  images:\n  - name: nginx\n    newTag: \"1.27\"\n",
    );
    let out = block_on(env.reconcile_kustomization("flux-system", "app")).unwrap();
    assert_ready(&out);
    let d = deployment(&env, "default").expect("Deployment/default/web");
    assert_eq!(d.to_value()["spec"]["replicas"], 3);
    assert_eq!(
        d.to_value()["spec"]["template"]["spec"]["containers"][0]["image"],
        "nginx:1.27"
    );
}

#[test]
fn substitute_from_configmap_and_secret_in_the_cluster() {
    let env = env_with(
        &[("app/a.yaml", VARS_CM)],
        "  postBuild:\n    substitute:\n      cluster_env: prod\n    substituteFrom:\n    - kind: ConfigMap\n      name: vars\n    - kind: Secret\n      name: creds\n",
    );
    env.add_yaml("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: vars\n  namespace: flux-system\ndata:\n  cluster_env: staging\n  region: us\n  token: from-cm\n").unwrap();
    // `s3cr3t` in base64: the Secret, listed later, overrides the ConfigMap.
    env.add_yaml("apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\n  namespace: flux-system\ndata:\n  token: czNjcjN0\n").unwrap();
    let out = block_on(env.reconcile_kustomization("flux-system", "app")).unwrap();
    assert_ready(&out);
    let data = configmap(&env, "app").unwrap().to_value()["data"].clone();
    assert_eq!(
        data["env"], "prod",
        "inline substitute beats substituteFrom"
    );
    assert_eq!(data["region"], "us");
    assert_eq!(data["token"], "s3cr3t");
}

#[test]
fn missing_optional_source_is_fine_and_required_one_fails() {
    let env = env_with(
        &[("app/a.yaml", VARS_CM)],
        "  postBuild:\n    substitute:\n      cluster_env: prod\n      token: t\n    substituteFrom:\n    - kind: ConfigMap\n      name: vars\n      optional: true\n",
    );
    let out = block_on(env.reconcile_kustomization("flux-system", "app")).unwrap();
    assert_ready(&out);
    assert_eq!(
        configmap(&env, "app").unwrap().to_value()["data"]["region"],
        "eu"
    );

    let env = env_with(
        &[("app/a.yaml", VARS_CM)],
        "  postBuild:\n    substituteFrom:\n    - kind: Secret\n      name: creds\n",
    );
    let out = block_on(env.reconcile_kustomization("flux-system", "app")).unwrap();
    let (status, why, msg) = ready(&out.status.conditions);
    assert_eq!(
        (status, why.as_str()),
        (ConditionStatus::False, "BuildFailed")
    );
    assert_eq!(
        msg,
        "substitute from 'Secret/creds' error: secrets \"creds\" not found"
    );
    assert!(configmap(&env, "app").is_none());
}

#[test]
fn strict_substitution_failure_leaves_the_cluster_untouched() {
    let env = env_with(
        &[("app/a.yaml", &cm("a", "1")), ("app/b.yaml", VARS_CM)],
        "  postBuild:\n    substitute:\n      cluster_env: prod\n      token: t\n",
    );
    assert_ready(&block_on(env.reconcile_kustomization("flux-system", "app")).unwrap());
    let workloads = |env: &Env| -> Vec<crate::Object> {
        env.cluster
            .objects()
            .into_iter()
            .filter(|o| o.namespace() == Some("default"))
            .collect()
    };
    let before = workloads(&env);
    assert_eq!(before.len(), 2);
    let applies = env.cluster.requests(Verb::Apply);
    env.add_yaml(&ks_yaml(
        "app",
        "  postBuild:\n    substitute:\n      cluster_env: prod\n",
    ))
    .unwrap();
    env.source.commit(
        URL,
        "main",
        files(&[("app/a.yaml", &cm("a", "2")), ("app/b.yaml", VARS_CM)]),
        "change a",
    );
    block_on(env.reconcile_source("flux-system", "fleet")).unwrap();
    let out = block_on(env.reconcile_kustomization("flux-system", "app")).unwrap();
    let (status, why, msg) = ready(&out.status.conditions);
    assert_eq!(
        (status, why.as_str()),
        (ConditionStatus::False, "BuildFailed")
    );
    assert_eq!(
        msg,
        "post build failed for 'ConfigMap/default/app': variable substitution failed: variable not set (strict mode): \"token\""
    );
    assert_eq!(env.cluster.requests(Verb::Apply), applies);
    assert_eq!(workloads(&env), before);
}

#[test]
fn substitute_disabled_annotation_keeps_the_object_verbatim() {
    let disabled = VARS_CM.replace(
        "  namespace: default\n",
        "  namespace: default\n  annotations:\n    kustomize.toolkit.fluxcd.io/substitute: disabled\n",
    );
    let env = env_with(
        &[("app/a.yaml", &disabled)],
        "  postBuild:\n    substitute:\n      cluster_env: prod\n",
    );
    let out = block_on(env.reconcile_kustomization("flux-system", "app")).unwrap();
    assert_ready(&out);
    let data = configmap(&env, "app").unwrap().to_value()["data"].clone();
    assert_eq!(data["env"], "${cluster_env}");
    assert_eq!(data["token"], "${token}");
}

// ---- the set-shaped seam ----

#[test]
fn reconciler_hands_whole_sets_to_the_cluster() {
    let ns = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team\n";
    let env = env_with(
        &[
            ("app/ns.yaml", ns),
            ("app/a.yaml", &cm("a", "1")),
            ("app/b.yaml", &cm("b", "1")),
            ("app/c.yaml", &cm("c", "1")),
        ],
        "  wait: true\n",
    );
    let out = block_on(env.reconcile_kustomization("flux-system", "app")).unwrap();
    assert_eq!(ready(&out.status.conditions).0, ConditionStatus::True);
    use crate::testkit::SetVerb;
    // One read of the whole desired set, one apply per stage (the Namespace, then the rest),
    // the Namespace stage's health, then the `wait` over the inventory.
    assert_eq!(
        env.cluster.set_requests(),
        vec![
            (SetVerb::Read, 4),
            (SetVerb::Apply, 1),
            (SetVerb::Health, 1),
            (SetVerb::Apply, 3),
            (SetVerb::Health, 4),
        ]
    );
    // Dropping two objects prunes them as one set.
    env.source.commit(
        URL,
        "main",
        files(&[("app/ns.yaml", ns), ("app/a.yaml", &cm("a", "1"))]),
        "drop b and c",
    );
    block_on(env.reconcile_source("flux-system", "fleet")).unwrap();
    let before = env.cluster.set_requests().len();
    let out = block_on(env.reconcile_kustomization("flux-system", "app")).unwrap();
    assert_eq!(ready(&out.status.conditions).0, ConditionStatus::True);
    assert_eq!(
        env.cluster.set_requests()[before..],
        [
            (SetVerb::Read, 4),
            (SetVerb::Prune, 2),
            (SetVerb::Health, 2)
        ]
    );
}

#[test]
fn a_refused_prune_is_in_the_change_set_the_status_and_the_inventory() {
    let ns = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: kube-public\n";
    let env = env_with(&[("app/a.yaml", &cm("a", "1")), ("app/ns.yaml", ns)], "");
    let out = block_on(env.reconcile_kustomization("flux-system", "app")).unwrap();
    assert_ready(&out);
    // The next revision drops the namespace: the guard refuses to delete it.
    let rev = env.source.commit(
        URL,
        "main",
        files(&[("app/a.yaml", &cm("a", "1"))]),
        "drop the namespace",
    );
    block_on(env.reconcile_source("flux-system", "fleet")).unwrap();
    let out = block_on(env.reconcile_kustomization("flux-system", "app")).unwrap();
    let why = "Namespace/kube-public (namespace kube-public is protected)";
    assert_eq!(
        ready(&out.status.conditions),
        (
            ConditionStatus::True,
            "ReconciliationSucceeded".into(),
            format!("Applied revision: {rev}; refused to prune: {why}")
        )
    );
    let msgs: Vec<&str> = out.events.iter().map(|e| e.message.as_str()).collect();
    assert!(
        msgs.contains(&"Namespace/kube-public refused (namespace kube-public is protected)"),
        "{msgs:?}"
    );
    let warning = out
        .events
        .iter()
        .find(|e| e.type_ == EventType::Warning)
        .expect("a warning event");
    assert_eq!(warning.reason, reason::PRUNE_FAILED);
    assert_eq!(warning.message, format!("not pruned: {why}"));
    assert!(
        env.cluster
            .get_object(&crate::ObjectRef::new("", "Namespace", "", "kube-public"))
            .is_some()
    );
    let ids: Vec<String> = out
        .status
        .inventory
        .unwrap()
        .entries
        .iter()
        .map(|e| e.id())
        .collect();
    assert!(
        ids.contains(&"_kube-public__Namespace".to_string()),
        "{ids:?}"
    );
}
