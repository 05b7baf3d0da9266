//! Unit-testing reconciliation against the pure core, as an SDK user would.
//!
//! The tests drive Flux's GitRepository and Kustomization reconcilers with the core's
//! in-memory doubles (`gitops::core::testkit`): a Git source holding commits, a cluster with
//! honest apply and delete semantics, and a manual clock. No network, no threads, no runtime.
//!
//! Run them with `cargo test --example unit_test_reconcile`; `cargo run --example
//! unit_test_reconcile` prints the same story.

// Test code: a failed expectation should stop the test loudly.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use gitops::core::status::{ConditionStatus, condition};
use gitops::core::testkit::{Env, block_on, files};
use gitops::core::{ObjectRef, Revision};

const URL: &str = "https://git.example.invalid/fleet";

const SOURCE: &str = "
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: fleet, namespace: flux-system}
spec:
  url: https://git.example.invalid/fleet
  interval: 1m
  timeout: 60s
  ref: {branch: main}
";

const KUSTOMIZATION: &str = "
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: apps, namespace: flux-system}
spec:
  interval: 10m
  path: ./apps
  prune: true
  sourceRef: {kind: GitRepository, name: fleet}
";

const CONFIG: &str = "apiVersion: v1
kind: ConfigMap
metadata:
  name: web-config
  namespace: default
data:
  greeting: hello
";

const SERVICE: &str = "apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: default
spec:
  ports:
  - port: 80
";

/// A fleet repository with the Flux objects in the cluster and the source reconciled.
fn setup(apps: &[(&str, &str)]) -> (Env, Revision) {
    let env = Env::new();
    let rev = env.source.commit(URL, "main", files(apps), "add apps");
    env.add_yaml(SOURCE).expect("valid Flux objects");
    env.add_yaml(KUSTOMIZATION).expect("valid Flux objects");
    block_on(env.reconcile_source("flux-system", "fleet")).expect("source exists");
    (env, rev)
}

/// Pushes a new commit and lets the source controller pick it up.
fn push(env: &Env, apps: &[(&str, &str)], subject: &str) -> Revision {
    let rev = env.source.commit(URL, "main", files(apps), subject);
    block_on(env.reconcile_source("flux-system", "fleet")).expect("source exists");
    rev
}

fn ready_message(env: &Env) -> (ConditionStatus, String, String) {
    let ks = env
        .kustomization("flux-system", "apps")
        .expect("kustomization exists");
    let ready = ks
        .status
        .conditions
        .get(condition::READY)
        .expect("Ready is set");
    (ready.status, ready.reason.clone(), ready.message.clone())
}

fn live(env: &Env, kind: &str, name: &str) -> bool {
    env.cluster
        .get_object(&ObjectRef::new("", kind, "default", name))
        .is_some()
}

fn main() {
    let (env, rev) = setup(&[("apps/config.yaml", CONFIG), ("apps/service.yaml", SERVICE)]);
    println!("commit {rev}");
    block_on(env.reconcile_kustomization("flux-system", "apps")).expect("exists");
    println!(
        "  {:?}, service live: {}",
        ready_message(&env),
        live(&env, "Service", "web")
    );

    let rev = push(&env, &[("apps/config.yaml", CONFIG)], "remove the service");
    println!("commit {rev}");
    block_on(env.reconcile_kustomization("flux-system", "apps")).expect("exists");
    println!(
        "  {:?}, service live: {}",
        ready_message(&env),
        live(&env, "Service", "web")
    );

    let rev = push(&env, &[("apps/config.yaml", "kind: [")], "break it");
    println!("commit {rev}");
    block_on(env.reconcile_kustomization("flux-system", "apps")).expect("exists");
    println!(
        "  {:?}, config live: {}",
        ready_message(&env),
        live(&env, "ConfigMap", "web-config")
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every object in the cluster except the Flux objects, whose status the reconcilers write.
    fn workloads(env: &Env) -> Vec<gitops::core::Object> {
        let flux = ["GitRepository", "Kustomization"];
        env.cluster
            .objects()
            .into_iter()
            .filter(|o| !flux.contains(&o.kind()))
            .collect()
    }

    #[test]
    fn a_revision_with_two_objects_is_applied() {
        let (env, rev) = setup(&[("apps/config.yaml", CONFIG), ("apps/service.yaml", SERVICE)]);
        let out = block_on(env.reconcile_kustomization("flux-system", "apps")).unwrap();

        assert_eq!(
            ready_message(&env),
            (
                ConditionStatus::True,
                "ReconciliationSucceeded".to_string(),
                format!("Applied revision: {rev}")
            )
        );
        assert!(live(&env, "ConfigMap", "web-config"));
        assert!(live(&env, "Service", "web"));
        assert_eq!(
            out.events[0].message,
            "ConfigMap/default/web-config created\nService/default/web created"
        );
        let ks = env.kustomization("flux-system", "apps").unwrap();
        let ids: Vec<String> = ks
            .status
            .inventory
            .unwrap()
            .entries
            .iter()
            .map(|e| e.id())
            .collect();
        assert_eq!(
            ids,
            ["default_web-config__ConfigMap", "default_web__Service"]
        );
    }

    #[test]
    fn the_next_revision_drops_one_and_it_is_pruned() {
        let (env, _) = setup(&[("apps/config.yaml", CONFIG), ("apps/service.yaml", SERVICE)]);
        block_on(env.reconcile_kustomization("flux-system", "apps")).unwrap();

        let rev = push(&env, &[("apps/config.yaml", CONFIG)], "remove the service");
        let out = block_on(env.reconcile_kustomization("flux-system", "apps")).unwrap();

        assert_eq!(ready_message(&env).2, format!("Applied revision: {rev}"));
        assert!(live(&env, "ConfigMap", "web-config"));
        assert!(
            !live(&env, "Service", "web"),
            "the service was removed from Git"
        );
        assert!(
            out.events
                .iter()
                .any(|e| e.message == "Service/default/web deleted")
        );
    }

    #[test]
    fn a_broken_revision_leaves_the_cluster_untouched() {
        let (env, good) = setup(&[("apps/config.yaml", CONFIG), ("apps/service.yaml", SERVICE)]);
        block_on(env.reconcile_kustomization("flux-system", "apps")).unwrap();
        let before = workloads(&env);

        // The service is gone and the config is broken: nothing may be pruned or applied.
        push(
            &env,
            &[("apps/config.yaml", "kind: ConfigMap\nmetadata: [oops\n")],
            "broken",
        );
        block_on(env.reconcile_kustomization("flux-system", "apps")).unwrap();

        assert_eq!(workloads(&env), before, "not one object changed");
        let (status, reason, message) = ready_message(&env);
        assert_eq!(status, ConditionStatus::False);
        assert_eq!(reason, "BuildFailed");
        assert!(
            message.starts_with(
                "kustomize build failed: apps/config.yaml (document 0, line 1): malformed YAML: line 2, column 11"
            ),
            "{message}"
        );
        let ks = env.kustomization("flux-system", "apps").unwrap();
        assert_eq!(ks.status.last_applied_revision, Some(good));
        assert!(live(&env, "Service", "web"));
    }
}
