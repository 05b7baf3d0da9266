#![cfg(feature = "testenv")]
#![allow(clippy::expect_used, clippy::unwrap_used)]
//! Scenarios of the apply engine (`ResourceManager`) against testenv, reached over HTTP
//! through a kubeconfig like a real cluster; with `GITOPS_TEST_KUBECONFIG` set they run
//! against that cluster instead (request-count assertions are then skipped).

use std::collections::BTreeMap;

use gitops_apply::testenv::{TestEnv, install_crypto_provider};
use gitops_apply::{ApplyOptions, ResourceManager};
use gitops_core::plan::{ChangeAction, Owner};
use gitops_core::{Inventory, InventoryEntry, Manifest, ObjectRef, manifests};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::{Client, ResourceExt};
use serde_json::json;

struct Cluster {
    client: Client,
    config: kube::Config,
    /// The kubeconfig, for kubectl.
    kubeconfig: String,
    env: Option<TestEnv>,
}

async fn cluster() -> Cluster {
    cluster_with(true).await
}

/// `controllers`: run testenv's garbage collector and namespace controller (they scan the
/// store after every write, too slow for the thousand-object scenario, which deletes nothing).
async fn cluster_with(controllers: bool) -> Cluster {
    install_crypto_provider();
    let (text, env) = match std::env::var("GITOPS_TEST_KUBECONFIG") {
        Ok(path) => (
            std::fs::read_to_string(&path).expect("read kubeconfig"),
            None,
        ),
        Err(_) => {
            let env = TestEnv::start().await.expect("start testenv");
            if controllers {
                env.enable_controllers();
            }
            (env.kubeconfig(), Some(env))
        }
    };
    let kubeconfig = kube::config::Kubeconfig::from_yaml(&text).expect("parse kubeconfig");
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
        .await
        .expect("kubeconfig");
    Cluster {
        client: Client::try_from(config.clone()).expect("client"),
        config,
        kubeconfig: text,
        env,
    }
}

impl Cluster {
    fn manager(&self) -> ResourceManager {
        ResourceManager::new(self.client.clone(), Owner::new("app", "flux-system"))
    }

    /// A fresh namespace name for one scenario.
    fn name(&self, prefix: &str) -> String {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        format!("{prefix}-{nanos:x}")
    }

    async fn namespace(&self, prefix: &str) -> String {
        let name = self.name(prefix);
        let api: Api<Namespace> = Api::all(self.client.clone());
        let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": name}})).unwrap();
        api.create(&PostParams::default(), &ns).await.unwrap();
        name
    }

    /// Write requests (patch, create, update, delete) served so far, by resource.
    fn writes(&self) -> Option<BTreeMap<String, u64>> {
        let env = self.env.as_ref()?;
        let mut out = BTreeMap::new();
        for ((verb, resource), n) in env.request_counts() {
            if matches!(verb.as_str(), "patch" | "create" | "update" | "delete") {
                *out.entry(resource).or_default() += n;
            }
        }
        Some(out)
    }

    fn cms(&self, ns: &str) -> Api<ConfigMap> {
        Api::namespaced(self.client.clone(), ns)
    }

    /// Runs the real kubectl against the cluster with `stdin`, off the async runtime (the
    /// test's own server answers it); fails naming kubectl's output.
    async fn kubectl(&self, args: &[&str], stdin: &str) -> String {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kubeconfig");
        std::fs::write(&path, &self.kubeconfig).unwrap();
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let stdin = stdin.to_string();
        tokio::task::spawn_blocking(move || {
            let mut child = std::process::Command::new("kubectl")
                .arg("--kubeconfig")
                .arg(&path)
                .args(&args)
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("this test needs kubectl on the PATH");
            child
                .stdin
                .take()
                .unwrap()
                .write_all(stdin.as_bytes())
                .unwrap();
            let out = child.wait_with_output().unwrap();
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(out.status.success(), "kubectl {args:?}: {text}");
            drop(dir);
            text
        })
        .await
        .unwrap()
    }
}

/// The managers of an object's managedFields entries, as `manager/Operation`.
fn managers(cm: &ConfigMap) -> Vec<String> {
    cm.metadata
        .managed_fields
        .iter()
        .flatten()
        .map(|e| {
            format!(
                "{}/{}",
                e.manager.as_deref().unwrap_or_default(),
                e.operation.as_deref().unwrap_or_default()
            )
        })
        .collect()
}

fn parse(yaml: &str) -> Vec<Manifest> {
    manifests::parse("app.yaml", yaml).unwrap()
}

fn cm(ns: &str, name: &str, value: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: {ns}\ndata:\n  v: \"{value}\"\n---\n"
    )
}

fn deployment(ns: &str, name: &str, app: &str, template_app: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n  namespace: {ns}\nspec:\n  selector:\n    matchLabels:\n      app: {app}\n  template:\n    metadata:\n      labels:\n        app: {template_app}\n    spec:\n      containers:\n      - name: web\n        image: nginx:1.27\n---\n"
    )
}

fn actions(applied: &gitops_apply::Applied) -> Vec<String> {
    applied
        .changes
        .entries
        .iter()
        .map(|e| format!("{} {}", e.object, e.action))
        .collect()
}

fn count(applied: &gitops_apply::Applied, action: ChangeAction) -> usize {
    applied
        .changes
        .entries
        .iter()
        .filter(|e| e.action == action)
        .count()
}

#[tokio::test]
async fn first_apply_reapply_and_one_change() {
    let c = cluster().await;
    let ns = c.namespace("engine").await;
    let rm = c.manager();
    let set = |a: &str| {
        parse(&format!(
            "{}{}{}",
            cm(&ns, "a", a),
            cm(&ns, "b", "1"),
            deployment(&ns, "web", "web", "web")
        ))
    };
    let options = ApplyOptions::default();

    // First apply: everything created, with the owner labels.
    let first = rm
        .apply_all_staged(set("1"), &Inventory::default(), &options)
        .await
        .unwrap();
    assert_eq!(
        count(&first, ChangeAction::Created),
        3,
        "{:?}",
        actions(&first)
    );
    let a = c.cms(&ns).get("a").await.unwrap();
    assert_eq!(
        a.labels()
            .get("kustomize.toolkit.fluxcd.io/name")
            .map(String::as_str),
        Some("app")
    );
    let rv_a = a.resource_version();
    let rv_b = c.cms(&ns).get("b").await.unwrap().resource_version();

    // Re-apply unchanged: nothing written, resourceVersions unchanged.
    let writes = c.writes();
    let again = rm
        .apply_all_staged(set("1"), &first.inventory, &options)
        .await
        .unwrap();
    assert_eq!(
        count(&again, ChangeAction::Unchanged),
        3,
        "{:?}",
        actions(&again)
    );
    assert_eq!(c.writes(), writes);
    assert_eq!(c.cms(&ns).get("a").await.unwrap().resource_version(), rv_a);

    // A fresh manager remembers nothing, and still writes nothing.
    let fresh = c.manager();
    let cold = fresh
        .apply_all_staged(set("1"), &first.inventory, &options)
        .await
        .unwrap();
    assert_eq!(
        count(&cold, ChangeAction::Created),
        0,
        "{:?}",
        actions(&cold)
    );
    assert_eq!(
        count(&cold, ChangeAction::Configured),
        0,
        "{:?}",
        actions(&cold)
    );
    assert_eq!(c.writes(), writes);

    // One changed object: only it is written (a dry-run and an apply).
    let changed = rm
        .apply_all_staged(set("2"), &first.inventory, &options)
        .await
        .unwrap();
    let configured: Vec<String> = changed
        .changes
        .entries
        .iter()
        .filter(|e| e.action == ChangeAction::Configured)
        .map(|e| e.object.to_string())
        .collect();
    assert_eq!(configured, [format!("ConfigMap/{ns}/a")]);
    if let (Some(before), Some(after)) = (writes, c.writes()) {
        assert_eq!(after["configmaps"] - before["configmaps"], 2);
        assert_eq!(
            after.get("deployments.apps"),
            before.get("deployments.apps")
        );
    }
    assert_ne!(c.cms(&ns).get("a").await.unwrap().resource_version(), rv_a);
    assert_eq!(c.cms(&ns).get("b").await.unwrap().resource_version(), rv_b);
}

#[tokio::test]
async fn drift_on_an_owned_field_is_corrected() {
    let c = cluster().await;
    let ns = c.namespace("drift").await;
    let rm = c.manager();
    let set = || parse(&cm(&ns, "a", "1"));
    let first = rm
        .apply_all_staged(set(), &Inventory::default(), &ApplyOptions::default())
        .await
        .unwrap();
    // Another manager takes the field over.
    c.cms(&ns)
        .patch(
            "a",
            &PatchParams::apply("kubectl-edit").force(),
            &Patch::Apply(json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "a"}, "data": {"v": "hacked"}})),
        )
        .await
        .unwrap();
    let again = rm
        .apply_all_staged(set(), &first.inventory, &ApplyOptions::default())
        .await
        .unwrap();
    assert_eq!(
        count(&again, ChangeAction::Configured),
        1,
        "{:?}",
        actions(&again)
    );
    let a = c.cms(&ns).get("a").await.unwrap();
    assert_eq!(a.data.unwrap()["v"], "1");
}

#[tokio::test]
async fn crd_and_its_custom_resources_in_one_batch() {
    let c = cluster().await;
    let ns = c.namespace("crd").await;
    let group = format!("{}.example.com", c.name("g"));
    let yaml = format!(
        "apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.{group}
spec:
  group: {group}
  scope: Namespaced
  names: {{plural: widgets, singular: widget, kind: Widget, listKind: WidgetList}}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            x-kubernetes-preserve-unknown-fields: true
---
apiVersion: {group}/v1
kind: Widget
metadata:
  name: w1
  namespace: {ns}
spec:
  size: 1
---
apiVersion: {group}/v1
kind: Widget
metadata:
  name: w2
  namespace: {ns}
spec:
  size: 2
"
    );
    let rm = c.manager();
    let applied = rm
        .apply_all_staged(
            parse(&yaml),
            &Inventory::default(),
            &ApplyOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(
        count(&applied, ChangeAction::Created),
        3,
        "{:?}",
        actions(&applied)
    );
    let again = rm
        .apply_all_staged(parse(&yaml), &applied.inventory, &ApplyOptions::default())
        .await
        .unwrap();
    assert_eq!(
        count(&again, ChangeAction::Unchanged),
        3,
        "{:?}",
        actions(&again)
    );
}

#[tokio::test]
async fn namespace_and_its_objects_in_one_batch() {
    let c = cluster().await;
    let ns = c.name("fresh");
    let yaml = format!(
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n---\n{}{}",
        cm(&ns, "a", "1"),
        deployment(&ns, "web", "web", "web")
    );
    let rm = c.manager();
    let applied = rm
        .apply_all_staged(
            parse(&yaml),
            &Inventory::default(),
            &ApplyOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(
        actions(&applied),
        [
            format!("Namespace/{ns} created"),
            format!("ConfigMap/{ns}/a created"),
            format!("Deployment/{ns}/web created"),
        ]
    );
}

#[tokio::test]
async fn an_invalid_object_stops_the_batch_with_nothing_written() {
    let c = cluster().await;
    let ns = c.namespace("invalid").await;
    let created_ns = c.name("never");
    let yaml = format!(
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {created_ns}\n---\n{}{}",
        cm(&ns, "good", "1"),
        deployment(&ns, "web", "web", "other")
    );
    let rm = c.manager();
    let err = rm
        .apply_all_staged(
            parse(&yaml),
            &Inventory::default(),
            &ApplyOptions::default(),
        )
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.starts_with(&format!("Deployment/{ns}/web dry-run failed (Invalid): ")),
        "{msg}"
    );
    assert!(c.cms(&ns).get_opt("good").await.unwrap().is_none());
    let namespaces: Api<Namespace> = Api::all(c.client.clone());
    assert!(namespaces.get_opt(&created_ns).await.unwrap().is_none());
    // The error's source is the client's error.
    assert!(std::error::Error::source(&err).is_some());
}

#[tokio::test]
async fn prune_honours_opt_outs_owners_and_guards() {
    let c = cluster().await;
    let ns = c.namespace("prune").await;
    let extra_ns = c.name("owned");
    let yaml = format!(
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {extra_ns}\n---\n{}{}{}{}apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: keep\n  namespace: {ns}\n  annotations:\n    kustomize.toolkit.fluxcd.io/prune: disabled\n---\n",
        cm(&ns, "stay", "1"),
        cm(&ns, "gone", "1"),
        cm(&ns, "adopted", "1"),
        cm(&extra_ns, "inside", "1"),
    );
    let rm = c.manager();
    let first = rm
        .apply_all_staged(
            parse(&yaml),
            &Inventory::default(),
            &ApplyOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(
        count(&first, ChangeAction::Created),
        6,
        "{:?}",
        actions(&first)
    );
    // Another Kustomization takes `adopted` over.
    c.cms(&ns)
        .patch(
            "adopted",
            &PatchParams::apply("other").force(),
            &Patch::Apply(json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "adopted", "labels": {
                    "kustomize.toolkit.fluxcd.io/name": "other",
                    "kustomize.toolkit.fluxcd.io/namespace": "flux-system"}}})),
        )
        .await
        .unwrap();
    // The previous inventory also claims the protected namespaces (guards).
    let protected = ["default", "kube-system", "kube-public", "kube-node-lease"];
    let mut previous = first.inventory.clone();
    for name in protected {
        previous.entries.push(InventoryEntry::new(
            ObjectRef::new("", "Namespace", "", name),
            "v1",
        ));
    }
    for name in protected {
        // Labelled as ours, so only the guard stands between them and deletion.
        Api::<Namespace>::all(c.client.clone())
            .patch(
                name,
                &PatchParams::apply("seed").force(),
                &Patch::Apply(json!({"apiVersion": "v1", "kind": "Namespace",
                    "metadata": {"name": name, "labels": {
                        "kustomize.toolkit.fluxcd.io/name": "app",
                        "kustomize.toolkit.fluxcd.io/namespace": "flux-system"}}})),
            )
            .await
            .unwrap();
    }
    let next = parse(&cm(&ns, "stay", "1"));
    let pruned = rm
        .apply_all_staged(next, &previous, &ApplyOptions::default())
        .await
        .unwrap();
    // Reverse kind order, the Namespace last.
    let deleted: Vec<String> = pruned
        .changes
        .entries
        .iter()
        .filter(|e| e.action == ChangeAction::Deleted)
        .map(|e| e.object.to_string())
        .collect();
    assert_eq!(deleted.len(), 3, "{deleted:?}");
    assert_eq!(deleted[2], format!("Namespace/{extra_ns}"));
    assert!(deleted.contains(&format!("ConfigMap/{extra_ns}/inside")));
    assert!(deleted.contains(&format!("ConfigMap/{ns}/gone")));
    let refused: Vec<String> = pruned
        .refused
        .iter()
        .map(|(o, why)| format!("{o}: {why}"))
        .collect();
    for name in protected {
        let line = format!("Namespace/{name}: namespace {name} is protected");
        assert!(refused.contains(&line), "{refused:?}");
    }
    for (name, why) in [
        ("adopted", "its owner labels name another owner"),
        ("keep", "prune is disabled on it"),
    ] {
        let line = format!("ConfigMap/{ns}/{name}: {why}");
        assert!(refused.contains(&line), "{refused:?}");
    }
    assert!(c.cms(&ns).get_opt("gone").await.unwrap().is_none());
    assert!(c.cms(&ns).get_opt("keep").await.unwrap().is_some());
    assert!(c.cms(&ns).get_opt("adopted").await.unwrap().is_some());
    let namespaces: Api<Namespace> = Api::all(c.client.clone());
    for name in protected {
        assert!(namespaces.get_opt(name).await.unwrap().is_some(), "{name}");
    }
    // The guards' refusals are in the change set, saying why, and stay in the inventory;
    // Flux's opt-outs are skipped and leave it.
    let printed = pruned.changes.to_string();
    for name in protected {
        let line = format!("Namespace/{name} refused (namespace {name} is protected)");
        assert!(printed.lines().any(|l| l == line), "{printed}");
    }
    let kept: Vec<String> = pruned
        .inventory
        .entries
        .iter()
        .map(|e| e.object.to_string())
        .collect();
    assert_eq!(kept.len(), 5, "{kept:?}");
    assert!(kept.contains(&format!("ConfigMap/{ns}/stay")), "{kept:?}");
    for name in protected {
        assert!(kept.contains(&format!("Namespace/{name}")), "{kept:?}");
    }
    // Leave the cluster's namespaces as they were: the seed manager drops its labels.
    for name in protected {
        namespaces
            .patch(
                name,
                &PatchParams::apply("seed").force(),
                &Patch::Apply(json!({"apiVersion": "v1", "kind": "Namespace",
                    "metadata": {"name": name}})),
            )
            .await
            .unwrap();
    }
}

/// CPU time this thread has run, where Linux reports it.
fn thread_cpu() -> Option<std::time::Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos = text.split_whitespace().next()?.parse().ok()?;
    Some(std::time::Duration::from_nanos(nanos))
}

fn cpu_since(start: Option<std::time::Duration>) -> Option<std::time::Duration> {
    Some(thread_cpu()?.saturating_sub(start?))
}

/// Requests served by testenv so far, all verbs and resources.
fn served(env: &TestEnv) -> u64 {
    env.request_counts().values().sum()
}

#[tokio::test]
async fn reconcile_cost_grows_with_what_changed() {
    let c = cluster_with(false).await;
    let Some(env) = c.env.as_ref() else {
        return; // the counters are testenv's
    };
    let a = c.namespace("scale-a").await;
    let b = c.namespace("scale-b").await;
    let mut yaml = String::new();
    for i in 0..500 {
        yaml.push_str(&cm(&a, &format!("cm-{i}"), "1"));
    }
    for i in 0..400 {
        yaml.push_str(&cm(&b, &format!("cm-{i}"), "1"));
    }
    for i in 0..100 {
        let name = format!("web-{i}");
        yaml.push_str(&deployment(&a, &name, &name, &name));
    }
    let set = || parse(&yaml);
    assert_eq!(set().len(), 1000);
    let kinds = 2;
    let options = ApplyOptions::default();
    let rm = c.manager().with_concurrency(16);
    // A plain bulk client, 16 in flight: the same first apply into fresh namespaces, later;
    // then by the same client validating the whole set by dry-run first, the engine's safety,
    // which alone is a second pass of requests.
    let bulk_apply = |objects: Vec<Manifest>, passes: &'static [bool]| {
        let client = c.client.clone();
        async move {
            let started = std::time::Instant::now();
            let cpu_started = thread_cpu();
            for &dry_run in passes {
                let pp = PatchParams {
                    dry_run,
                    ..PatchParams::apply("bulk").force()
                };
                let requests = objects.iter().map(|m| {
                    let o = &m.object;
                    let resource = if o.kind() == "ConfigMap" {
                        kube::core::ApiResource::erase::<ConfigMap>(&())
                    } else {
                        kube::core::ApiResource::erase::<k8s_openapi::api::apps::v1::Deployment>(
                            &(),
                        )
                    };
                    let api: Api<kube::api::DynamicObject> = Api::namespaced_with(
                        client.clone(),
                        o.namespace().unwrap_or_default(),
                        &resource,
                    );
                    let pp = &pp;
                    async move { api.patch(o.name(), pp, &Patch::Apply(o.as_map())).await }
                });
                let results: Vec<_> =
                    futures::StreamExt::collect(futures::StreamExt::buffer_unordered(
                        futures::stream::iter(requests.collect::<Vec<_>>()),
                        16,
                    ))
                    .await;
                assert!(results.iter().all(Result::is_ok));
            }
            (started.elapsed(), cpu_since(cpu_started))
        }
    };
    // Untimed, first: a bulk dry-run and apply of the set, so that every timed run finds the
    // client's connections open and the process's heap grown (the first large run of a
    // process pays ~50% more for page faults and connection setup, whoever it is).
    let (wa, wb) = (c.namespace("warm-a").await, c.namespace("warm-b").await);
    bulk_apply(
        parse(&yaml.replace(&a, &wa).replace(&b, &wb)),
        &[true, false],
    )
    .await;
    // Both first applies are timed from parsed objects to the last answer.
    let desired = set();
    let started = std::time::Instant::now();
    let cpu_started = thread_cpu();
    let first = rm
        .apply_all_staged(desired, &Inventory::default(), &options)
        .await
        .unwrap();
    assert_eq!(count(&first, ChangeAction::Created), 1000);
    let engine_time = started.elapsed();
    let engine_cpu = cpu_since(cpu_started);

    // A no-op reconcile: one list per kind and namespace.
    let before = served(env);
    let discovery = rm.discovery().requests();
    let noop = rm
        .apply_all_staged(set(), &first.inventory, &options)
        .await
        .unwrap();
    let n = served(env) - before + (rm.discovery().requests() - discovery);
    assert_eq!(count(&noop, ChangeAction::Unchanged), 1000);
    println!("noop reconcile of 1000 objects: {n} requests");

    // What Flux sends for the same no-op: a GET and a dry-run apply per object.
    let before = served(env);
    let pp = PatchParams {
        dry_run: true,
        ..PatchParams::apply("kustomize-controller").force()
    };
    for m in set() {
        let o = &m.object;
        let ns = o.namespace().unwrap_or_default().to_string();
        let api: Api<kube::api::DynamicObject> = if o.kind() == "ConfigMap" {
            Api::namespaced_with(
                c.client.clone(),
                &ns,
                &kube::core::ApiResource::erase::<ConfigMap>(&()),
            )
        } else {
            Api::namespaced_with(
                c.client.clone(),
                &ns,
                &kube::core::ApiResource::erase::<k8s_openapi::api::apps::v1::Deployment>(&()),
            )
        };
        api.get(o.name()).await.unwrap();
        api.patch(o.name(), &pp, &Patch::Apply(o.as_map()))
            .await
            .unwrap();
    }
    let m = served(env) - before;
    println!("flux-style baseline of 1000 objects: {m} requests");

    // Drift on one object by another manager: found by the list, corrected alone.
    c.cms(&b)
        .patch(
            "cm-7",
            &PatchParams::apply("kubectl-edit").force(),
            &Patch::Apply(json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "cm-7"}, "data": {"v": "drifted"}})),
        )
        .await
        .unwrap();
    let before = served(env);
    let drift = rm
        .apply_all_staged(set(), &first.inventory, &options)
        .await
        .unwrap();
    let k = served(env) - before;
    assert_eq!(count(&drift, ChangeAction::Configured), 1);
    assert_eq!(c.cms(&b).get("cm-7").await.unwrap().data.unwrap()["v"], "1");
    println!("drift on 1 of 1000 objects corrected: {k} requests");

    // After a restart nothing is remembered: discovery and a list per kind and namespace.
    let cold = c.manager().with_concurrency(16);
    let before = served(env);
    let out = cold
        .apply_all_staged(set(), &first.inventory, &options)
        .await
        .unwrap();
    let l = served(env) - before + cold.discovery().requests();
    assert_eq!(count(&out, ChangeAction::Unchanged), 1000);
    println!("cold-start noop of 1000 objects: {l} requests");

    let a2 = c.namespace("bulk-a").await;
    let b2 = c.namespace("bulk-b").await;
    let bulk: Vec<Manifest> = parse(&yaml.replace(&a, &a2).replace(&b, &b2));
    let (bulk_time, bulk_cpu) = bulk_apply(bulk, &[false]).await;
    let a3 = c.namespace("checked-a").await;
    let b3 = c.namespace("checked-b").await;
    let checked: Vec<Manifest> = parse(&yaml.replace(&a, &a3).replace(&b, &b3));
    let (checked_time, checked_cpu) = bulk_apply(checked, &[true, false]).await;
    let ratio = |t: std::time::Duration| t.as_secs_f64() / bulk_time.as_secs_f64();
    println!(
        "first apply of 1000 objects: engine {engine_time:?}, bulk client {bulk_time:?} ({:.2}x); bulk client with a dry-run pass first {checked_time:?} ({:.2}x)",
        ratio(engine_time),
        ratio(checked_time)
    );
    // The objects as the engine sends them, with its two owner labels: the server's work per
    // object grows with its fields, so this is the bulk cost of the engine's own objects.
    let labelled = |na: &str, nb: &str| {
        let mut objects: Vec<Manifest> = parse(&yaml.replace(&a, na).replace(&b, nb));
        for m in &mut objects {
            rm.owner().label(&mut m.object);
        }
        objects
    };
    let (a4, b4) = (
        c.namespace("labelled-a").await,
        c.namespace("labelled-b").await,
    );
    let (_, labelled_cpu) = bulk_apply(labelled(&a4, &b4), &[false]).await;
    let (a5, b5) = (
        c.namespace("labelled-checked-a").await,
        c.namespace("labelled-checked-b").await,
    );
    let (_, labelled_checked_cpu) = bulk_apply(labelled(&a5, &b5), &[true, false]).await;
    // The same runs in CPU time of this thread, which serves testenv and runs every client
    // (a current-thread runtime): what the runs cost, without the waits for the CPU that
    // other processes on the machine add to the elapsed times.
    if let (Some(e), Some(b), Some(ch), Some(l), Some(lc)) = (
        engine_cpu,
        bulk_cpu,
        checked_cpu,
        labelled_cpu,
        labelled_checked_cpu,
    ) {
        let of = |t: std::time::Duration, base: std::time::Duration| {
            t.as_secs_f64() / base.as_secs_f64()
        };
        println!(
            "first apply of 1000 objects in CPU time: engine {e:?}, bulk client {b:?} ({:.2}x); bulk client with a dry-run pass first {ch:?} ({:.2}x)",
            of(e, b),
            of(ch, b)
        );
        println!(
            "first apply of the engine's labelled objects in CPU time: bulk client {l:?} (engine {:.2}x); bulk client with a dry-run pass first {lc:?} ({:.2}x)",
            of(e, l),
            of(lc, l)
        );
    }

    assert!(n <= 10, "noop: {n}");
    assert!(m >= 2000, "baseline: {m}");
    assert!(k <= 5, "drift: {k}");
    assert!(l <= 2 * kinds + 10, "cold start: {l}");
}

#[tokio::test]
async fn immutable_change_fails_without_force_and_recreates_with_it() {
    let c = cluster().await;
    let ns = c.namespace("immutable").await;
    let rm = c.manager();
    let first = rm
        .apply_all_staged(
            parse(&deployment(&ns, "web", "web", "web")),
            &Inventory::default(),
            &ApplyOptions::default(),
        )
        .await
        .unwrap();
    let changed = || parse(&deployment(&ns, "web", "web2", "web2"));
    let err = rm
        .apply_all_staged(changed(), &first.inventory, &ApplyOptions::default())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(&format!("Deployment/{ns}/web dry-run failed (Invalid): ")),
        "{err}"
    );
    assert!(
        err.contains("immutable") && err.contains("spec.force"),
        "{err}"
    );
    let deployments: Api<k8s_openapi::api::apps::v1::Deployment> =
        Api::namespaced(c.client.clone(), &ns);
    let before = deployments.get("web").await.unwrap();

    let options = ApplyOptions {
        force: true,
        ..ApplyOptions::default()
    };
    let applied = rm
        .apply_all_staged(changed(), &first.inventory, &options)
        .await
        .unwrap();
    assert_eq!(actions(&applied), [format!("Deployment/{ns}/web created")]);
    let after = deployments.get("web").await.unwrap();
    assert_ne!(before.uid(), after.uid());
    let selector = after.spec.unwrap().selector.match_labels.unwrap();
    assert_eq!(selector["app"], "web2");
}

#[tokio::test]
async fn a_field_another_manager_owns_is_left_alone() {
    let c = cluster().await;
    let ns = c.namespace("shared").await;
    let rm = c.manager();
    let set = || parse(&cm(&ns, "a", "1"));
    let first = rm
        .apply_all_staged(set(), &Inventory::default(), &ApplyOptions::default())
        .await
        .unwrap();
    c.cms(&ns)
        .patch(
            "a",
            &PatchParams::apply("injector"),
            &Patch::Apply(json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "a", "annotations": {"injected": "yes"}},
                "data": {"extra": "x"}})),
        )
        .await
        .unwrap();
    let rv = c.cms(&ns).get("a").await.unwrap().resource_version();
    let writes = c.writes();
    let again = rm
        .apply_all_staged(set(), &first.inventory, &ApplyOptions::default())
        .await
        .unwrap();
    assert_eq!(actions(&again), [format!("ConfigMap/{ns}/a unchanged")]);
    assert_eq!(c.writes(), writes);
    let a = c.cms(&ns).get("a").await.unwrap();
    assert_eq!(a.resource_version(), rv);
    assert_eq!(a.data.unwrap()["extra"], "x");
}

#[tokio::test]
async fn a_forbidden_apply_under_impersonation_names_the_object() {
    use k8s_openapi::api::core::v1::ServiceAccount;
    use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
    let c = cluster().await;
    let ns = c.namespace("rbac").await;
    let pp = PostParams::default();
    let admin = c.client.clone();
    let sa: ServiceAccount =
        serde_json::from_value(json!({"metadata": {"name": "deployer"}})).unwrap();
    Api::<ServiceAccount>::namespaced(admin.clone(), &ns)
        .create(&pp, &sa)
        .await
        .unwrap();
    let role: Role = serde_json::from_value(json!({"metadata": {"name": "reader"},
        "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]}]}))
    .unwrap();
    Api::<Role>::namespaced(admin.clone(), &ns)
        .create(&pp, &role)
        .await
        .unwrap();
    let binding: RoleBinding = serde_json::from_value(json!({"metadata": {"name": "reader"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "reader"},
        "subjects": [{"kind": "ServiceAccount", "name": "deployer", "namespace": ns}]}))
    .unwrap();
    Api::<RoleBinding>::namespaced(admin, &ns)
        .create(&pp, &binding)
        .await
        .unwrap();
    let client = gitops_apply::client::impersonating(&c.config, &ns, "deployer").unwrap();
    let rm = ResourceManager::new(client, Owner::new("app", "flux-system"));
    let mut last = String::new();
    // The authorizer may take a moment to see the binding on a real cluster.
    for _ in 0..50 {
        let err = rm
            .apply_all_staged(
                parse(&format!("{}{}", cm(&ns, "a", "1"), cm(&ns, "b", "1"))),
                &Inventory::default(),
                &ApplyOptions::default(),
            )
            .await
            .unwrap_err();
        last = err.to_string();
        if last.contains("dry-run failed (Forbidden)") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let user = format!("system:serviceaccount:{ns}:deployer");
    assert!(
        last.starts_with(&format!("ConfigMap/{ns}/a dry-run failed (Forbidden): ")),
        "{last}"
    );
    assert!(last.contains(&user), "{last}");
    assert!(c.cms(&ns).get_opt("a").await.unwrap().is_none());
}

#[tokio::test]
async fn the_kustomization_reconciler_runs_on_the_engine() {
    use gitops_core::api::Kustomization;
    use gitops_core::reconcile::KustomizationReconciler;
    use gitops_core::status::condition;
    use gitops_core::testkit::{Env, files};

    let c = cluster().await;
    let ns = c.namespace("ks").await;
    let url = "https://git.example.invalid/fleet";
    // Git and the clock in memory; the objects on the API server.
    let env = Env::new();
    let app = format!("{}{}", cm(&ns, "a", "1"), cm(&ns, "b", "1"));
    env.source.commit(
        url,
        "main",
        files(&[("app/app.yaml", app.as_str())]),
        "first",
    );
    let repo = format!(
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: fleet\n  namespace: flux-system\nspec:\n  url: {url}\n  interval: 1m\n  ref:\n    branch: main\n"
    );
    env.add_yaml(&repo).unwrap();
    env.reconcile_source("flux-system", "fleet").await.unwrap();
    let stored = env
        .cluster
        .get_object(&ObjectRef::new(
            "source.toolkit.fluxcd.io",
            "GitRepository",
            "flux-system",
            "fleet",
        ))
        .unwrap();
    let mut repo = manifests::parse("repo.yaml", &repo).unwrap().remove(0);
    repo.object
        .as_map_mut()
        .insert("status".into(), stored.to_value()["status"].clone());
    let crd = "apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: gitrepositories.source.toolkit.fluxcd.io
spec:
  group: source.toolkit.fluxcd.io
  scope: Namespaced
  names: {plural: gitrepositories, singular: gitrepository, kind: GitRepository, listKind: GitRepositoryList}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-preserve-unknown-fields: true
---
apiVersion: v1
kind: Namespace
metadata:
  name: flux-system
";
    let mut setup = parse(crd);
    setup.push(repo);
    let installer = ResourceManager::new(c.client.clone(), Owner::new("setup", "flux-system"));
    installer
        .apply_all_staged(setup, &Inventory::default(), &ApplyOptions::default())
        .await
        .unwrap();

    let ks = "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: app\n  namespace: flux-system\n  generation: 1\nspec:\n  interval: 10m\n  path: ./app\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: fleet\n";
    let mut ks =
        Kustomization::from_object(&manifests::parse("ks.yaml", ks).unwrap()[0].object).unwrap();
    let rm = c.manager();
    let reconciler = KustomizationReconciler::new(&env.source, &rm, &env.clock);
    let out = reconciler.reconcile(&ks).await;
    let ready = out.status.conditions.get(condition::READY).unwrap();
    assert!(
        ready.message.starts_with("Applied revision: main@sha1:"),
        "{}",
        ready.message
    );
    assert!(c.cms(&ns).get_opt("b").await.unwrap().is_some());
    let events: Vec<&str> = out.events.iter().map(|e| e.message.as_str()).collect();
    assert!(
        events.contains(&format!("ConfigMap/{ns}/a created\nConfigMap/{ns}/b created").as_str()),
        "{events:?}"
    );

    // Converged: the next run reads the source and one list, and writes nothing.
    ks.status = out.status;
    let writes = c.writes();
    let before = c.env.as_ref().map(served);
    let again = reconciler.reconcile(&ks).await;
    assert!(again.status.conditions.is_true(condition::READY));
    assert_eq!(c.writes(), writes);
    if let (Some(env), Some(before)) = (c.env.as_ref(), before) {
        let n = served(env) - before;
        println!("noop reconcile through the Kustomization reconciler: {n} requests");
        assert!(n <= 2, "{n}");
    }
}

#[tokio::test]
async fn a_namespace_holding_foreign_objects_is_not_pruned() {
    let c = cluster().await;
    let keep = c.namespace("keep").await;
    let ns = c.name("holder");
    let yaml = format!(
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n---\n{}",
        cm(&ns, "ours", "1")
    );
    let rm = c.manager();
    let first = rm
        .apply_all_staged(
            parse(&yaml),
            &Inventory::default(),
            &ApplyOptions::default(),
        )
        .await
        .unwrap();
    let foreign: ConfigMap =
        serde_json::from_value(json!({"metadata": {"name": "theirs"}})).unwrap();
    c.cms(&ns)
        .create(&PostParams::default(), &foreign)
        .await
        .unwrap();
    // The next revision has nothing of it.
    let next = || parse(&cm(&keep, "other", "1"));
    let out = rm
        .apply_all_staged(next(), &first.inventory, &ApplyOptions::default())
        .await
        .unwrap();
    assert!(actions(&out).contains(&format!("ConfigMap/{ns}/ours deleted")));
    let refused: Vec<String> = out
        .refused
        .iter()
        .map(|(o, w)| format!("{o}: {w}"))
        .collect();
    assert_eq!(
        refused,
        [format!(
            "Namespace/{ns}: namespace {ns} holds objects not in the inventory (ConfigMap/{ns}/theirs); set kustomize.toolkit.fluxcd.io/prune: enabled on it to prune it anyway"
        )]
    );
    let namespaces: Api<Namespace> = Api::all(c.client.clone());
    assert!(namespaces.get_opt(&ns).await.unwrap().is_some());
    assert!(
        out.changes.to_string().contains(&format!(
            "Namespace/{ns} refused (namespace {ns} holds objects not in the inventory"
        )),
        "{}",
        out.changes
    );
    assert!(
        out.inventory
            .entries
            .iter()
            .any(|e| e.object == ObjectRef::new("", "Namespace", "", &ns)),
        "kept for the next run"
    );

    // With the opt-in, it goes with what it holds.
    namespaces
        .patch(
            &ns,
            &PatchParams::apply("admin"),
            &Patch::Apply(
                json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {
                "name": ns, "annotations": {"kustomize.toolkit.fluxcd.io/prune": "enabled"}}}),
            ),
        )
        .await
        .unwrap();
    let out = rm
        .apply_all_staged(next(), &first.inventory, &ApplyOptions::default())
        .await
        .unwrap();
    assert!(
        actions(&out).contains(&format!("Namespace/{ns} deleted")),
        "{:?}",
        actions(&out)
    );
}

const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

fn configmap_yaml(ns: &str, name: &str, annotations: &str, data: &[(&str, &str)]) -> String {
    let mut out =
        format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: {ns}\n");
    if !annotations.is_empty() {
        out.push_str(&format!("  annotations:\n    {annotations}\n"));
    }
    out.push_str("data:\n");
    for (k, v) in data {
        out.push_str(&format!("  {k}: \"{v}\"\n"));
    }
    out
}

fn data(cm: &ConfigMap) -> BTreeMap<String, String> {
    cm.data.clone().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fields_kubectl_applied_are_taken_over_and_removed_when_dropped_from_git() {
    let c = cluster().await;
    let ns = c.namespace("csa").await;
    // Created the way it was before Flux: `kubectl apply` (client-side).
    let classic = configmap_yaml(&ns, "a", "", &[("keep", "1"), ("drop", "2")]);
    let out = c.kubectl(&["apply", "-f", "-"], &classic).await;
    assert!(out.contains("created"), "{out}");
    let before = c.cms(&ns).get("a").await.unwrap();
    assert!(before.annotations().contains_key(LAST_APPLIED));
    assert!(
        managers(&before).contains(&"kubectl-client-side-apply/Update".to_string()),
        "{:?}",
        managers(&before)
    );
    // Git no longer has `drop`: the engine takes kubectl's fields over, so the apply removes it.
    let desired = || parse(&configmap_yaml(&ns, "a", "", &[("keep", "1")]));
    let rm = c.manager();
    let applied = rm
        .apply_all_staged(desired(), &Inventory::default(), &ApplyOptions::default())
        .await
        .unwrap();
    assert_eq!(actions(&applied), [format!("ConfigMap/{ns}/a configured")]);
    let after = c.cms(&ns).get("a").await.unwrap();
    assert_eq!(data(&after), BTreeMap::from([("keep".into(), "1".into())]));
    assert!(!after.annotations().contains_key(LAST_APPLIED));
    assert_eq!(managers(&after), ["kustomize-controller/Apply"]);
    // Converged: neither this manager nor a fresh one writes again.
    let writes = c.writes();
    for rm in [rm, c.manager()] {
        let again = rm
            .apply_all_staged(desired(), &applied.inventory, &ApplyOptions::default())
            .await
            .unwrap();
        assert_eq!(actions(&again), [format!("ConfigMap/{ns}/a unchanged")]);
    }
    assert_eq!(c.writes(), writes);
    // A later `kubectl edit`-style change of an owned field by a kubectl manager is drift
    // that is taken back, with kubectl's entry gone.
    c.cms(&ns)
        .patch(
            "a",
            &PatchParams {
                field_manager: Some("kubectl-edit".into()),
                ..PatchParams::default()
            },
            &Patch::Merge(json!({"data": {"keep": "edited", "extra": "x"}})),
        )
        .await
        .unwrap();
    let again = c
        .manager()
        .apply_all_staged(desired(), &applied.inventory, &ApplyOptions::default())
        .await
        .unwrap();
    assert_eq!(actions(&again), [format!("ConfigMap/{ns}/a configured")]);
    let after = c.cms(&ns).get("a").await.unwrap();
    assert_eq!(data(&after), BTreeMap::from([("keep".into(), "1".into())]));
    assert_eq!(managers(&after), ["kustomize-controller/Apply"]);
}

#[tokio::test]
async fn fields_of_before_first_apply_are_taken_over() {
    let c = cluster().await;
    let ns = c.namespace("bfa").await;
    let cm: ConfigMap = serde_json::from_value(
        json!({"metadata": {"name": "a"}, "data": {"keep": "1", "drop": "2"}}),
    )
    .unwrap();
    c.cms(&ns)
        .create(&PostParams::default(), &cm)
        .await
        .unwrap();
    // An object nobody manages (managedFields reset, as for objects older than them)...
    let reset: json_patch::Patch = serde_json::from_value(
        json!([{"op": "replace", "path": "/metadata/managedFields", "value": [{}]}]),
    )
    .unwrap();
    c.cms(&ns)
        .patch("a", &PatchParams::default(), &Patch::<()>::Json(reset))
        .await
        .unwrap();
    // ...gets `before-first-apply` as the owner of everything at its first apply.
    c.cms(&ns)
        .patch(
            "a",
            &PatchParams::apply("labeller"),
            &Patch::Apply(json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "a", "labels": {"team": "a"}}})),
        )
        .await
        .unwrap();
    let before = c.cms(&ns).get("a").await.unwrap();
    assert!(
        managers(&before).contains(&"before-first-apply/Update".to_string()),
        "{:?}",
        managers(&before)
    );
    let rm = c.manager();
    let applied = rm
        .apply_all_staged(
            parse(&configmap_yaml(&ns, "a", "", &[("keep", "1")])),
            &Inventory::default(),
            &ApplyOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(actions(&applied), [format!("ConfigMap/{ns}/a configured")]);
    let after = c.cms(&ns).get("a").await.unwrap();
    assert_eq!(data(&after), BTreeMap::from([("keep".into(), "1".into())]));
    let after_managers = managers(&after);
    assert!(
        !after_managers.contains(&"before-first-apply/Update".to_string()),
        "{after_managers:?}"
    );
    assert!(after_managers.contains(&"kustomize-controller/Apply".to_string()));
    // The other applier's label is its own and stays.
    assert_eq!(after.labels().get("team").map(String::as_str), Some("a"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssa_merge_leaves_other_managers_their_fields() {
    let c = cluster().await;
    let ns = c.namespace("merge").await;
    let classic = configmap_yaml(&ns, "a", "", &[("keep", "1"), ("theirs", "2")]);
    c.kubectl(&["apply", "-f", "-"], &classic).await;
    let merge = "kustomize.toolkit.fluxcd.io/ssa: Merge";
    let rm = c.manager();
    let applied = rm
        .apply_all_staged(
            parse(&configmap_yaml(&ns, "a", merge, &[("keep", "1")])),
            &Inventory::default(),
            &ApplyOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(actions(&applied), [format!("ConfigMap/{ns}/a configured")]);
    let after = c.cms(&ns).get("a").await.unwrap();
    // No cleanup: kubectl keeps its fields and its annotation.
    assert_eq!(data(&after)["theirs"], "2");
    assert!(after.annotations().contains_key(LAST_APPLIED));
    assert!(managers(&after).contains(&"kubectl-client-side-apply/Update".to_string()));
}

#[tokio::test]
async fn ssa_if_not_present_creates_once_and_never_updates() {
    let c = cluster().await;
    let ns = c.namespace("ifnp").await;
    let policy = "kustomize.toolkit.fluxcd.io/ssa: IfNotPresent";
    let desired = |v: &str| parse(&configmap_yaml(&ns, "a", policy, &[("v", v)]));
    let rm = c.manager();
    let first = rm
        .apply_all_staged(
            desired("1"),
            &Inventory::default(),
            &ApplyOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(actions(&first), [format!("ConfigMap/{ns}/a created")]);
    // Someone changes it; Git changes it too: neither is applied.
    c.cms(&ns)
        .patch(
            "a",
            &PatchParams::apply("operator").force(),
            &Patch::Apply(json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "a"}, "data": {"v": "theirs"}})),
        )
        .await
        .unwrap();
    let writes = c.writes();
    let again = rm
        .apply_all_staged(desired("2"), &first.inventory, &ApplyOptions::default())
        .await
        .unwrap();
    assert_eq!(actions(&again), [format!("ConfigMap/{ns}/a skipped")]);
    assert_eq!(c.writes(), writes);
    assert_eq!(data(&c.cms(&ns).get("a").await.unwrap())["v"], "theirs");
    // Still in the inventory: still pruned when Git drops it.
    assert_eq!(again.inventory.entries.len(), 1);
}

#[tokio::test]
async fn ssa_ignore_is_never_applied_nor_pruned() {
    let c = cluster().await;
    let ns = c.namespace("ignore").await;
    let rm = c.manager();
    // Ignored in Git: not created.
    let ignored = parse(&configmap_yaml(
        &ns,
        "git",
        "kustomize.toolkit.fluxcd.io/ssa: Ignore",
        &[("v", "1")],
    ));
    let out = rm
        .apply_all_staged(ignored, &Inventory::default(), &ApplyOptions::default())
        .await
        .unwrap();
    assert_eq!(actions(&out), [format!("ConfigMap/{ns}/git skipped")]);
    assert!(c.cms(&ns).get_opt("git").await.unwrap().is_none());
    // Ignored in the cluster: Git's change is not applied, and it is not pruned either.
    let set = |v: &str| parse(&configmap_yaml(&ns, "live", "", &[("v", v)]));
    let first = rm
        .apply_all_staged(set("1"), &Inventory::default(), &ApplyOptions::default())
        .await
        .unwrap();
    c.cms(&ns)
        .patch(
            "live",
            &PatchParams::apply("admin"),
            &Patch::Apply(
                json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
                "name": "live", "annotations": {"kustomize.toolkit.fluxcd.io/ssa": "ignore"}}}),
            ),
        )
        .await
        .unwrap();
    let changed = rm
        .apply_all_staged(set("2"), &first.inventory, &ApplyOptions::default())
        .await
        .unwrap();
    assert_eq!(actions(&changed), [format!("ConfigMap/{ns}/live skipped")]);
    assert_eq!(data(&c.cms(&ns).get("live").await.unwrap())["v"], "1");
    let dropped = rm
        .apply_all_staged(Vec::new(), &first.inventory, &ApplyOptions::default())
        .await
        .unwrap();
    assert!(c.cms(&ns).get_opt("live").await.unwrap().is_some());
    assert_eq!(
        dropped.refused,
        [(
            ObjectRef::new("", "ConfigMap", &ns, "live"),
            "it is excluded from reconciliation (reconcile: disabled or ssa: Ignore)".to_string()
        )]
    );
}

#[tokio::test]
async fn the_controller_namespace_is_never_pruned() {
    let c = cluster().await;
    let own = c.name("controller");
    let rm = c.manager().protect_namespace(&own);
    let yaml = format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {own}\n");
    let first = rm
        .apply_all_staged(
            parse(&yaml),
            &Inventory::default(),
            &ApplyOptions::default(),
        )
        .await
        .unwrap();
    let out = rm
        .apply_all_staged(Vec::new(), &first.inventory, &ApplyOptions::default())
        .await
        .unwrap();
    assert_eq!(
        out.changes.to_string(),
        format!("Namespace/{own} refused (namespace {own} is protected)")
    );
    // Kept in the inventory, so the refusal is reported until someone resolves it.
    assert_eq!(out.inventory, first.inventory);
    let namespaces: Api<Namespace> = Api::all(c.client.clone());
    assert!(namespaces.get_opt(&own).await.unwrap().is_some());
}

#[tokio::test]
async fn custom_resources_are_compared_by_their_crd_learnt_from_the_server() {
    let c = cluster().await;
    let group = format!("{}.example.com", c.name("s"));
    let crd = format!(
        "apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: routes.{group}
spec:
  group: {group}
  scope: Namespaced
  names: {{plural: routes, singular: route, kind: Route, listKind: RouteList}}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              rules:
                type: array
                x-kubernetes-list-type: map
                x-kubernetes-list-map-keys: [host]
                items:
                  type: object
                  properties:
                    host: {{type: string}}
                    port: {{type: integer}}
"
    );
    c.manager()
        .apply_all_staged(parse(&crd), &Inventory::default(), &ApplyOptions::default())
        .await
        .unwrap();
    // A manager that did not apply the CRD learns it from the server, once.
    let rm = c.manager();
    let route = (
        ObjectRef::new(&group, "Route", "default", "r"),
        format!("{group}/v1"),
    );
    let schema = rm.schema_for(std::slice::from_ref(&route)).await.unwrap();
    let rules = schema
        .root(&route.1, "Route")
        .and_then(|n| n.field("spec"))
        .and_then(|n| n.field("rules"))
        .unwrap();
    assert_eq!(
        rules.list(),
        gitops_core::schema::ListKind::Map(vec!["host".into()])
    );
    let before = c.env.as_ref().map(served);
    rm.schema_for(std::slice::from_ref(&route)).await.unwrap();
    if let (Some(env), Some(before)) = (c.env.as_ref(), before) {
        assert_eq!(served(env), before, "the CRD is cached");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deployment_kubectl_applied_loses_the_env_var_git_dropped() {
    use k8s_openapi::api::apps::v1::Deployment;
    let c = cluster().await;
    let ns = c.namespace("csa-deploy").await;
    let manifest = |env: &str| {
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: {ns}\nspec:\n  replicas: 2\n  selector:\n    matchLabels:\n      app: web\n  template:\n    metadata:\n      labels:\n        app: web\n    spec:\n      containers:\n      - name: web\n        image: nginx:1.27\n        env:\n{env}"
        )
    };
    let both = "        - name: MODE\n          value: prod\n        - name: DEBUG\n          value: \"1\"\n";
    let one = "        - name: MODE\n          value: prod\n";
    c.kubectl(&["apply", "-f", "-"], &manifest(both)).await;
    let rm = c.manager();
    let applied = rm
        .apply_all_staged(
            parse(&manifest(one)),
            &Inventory::default(),
            &ApplyOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(
        actions(&applied),
        [format!("Deployment/{ns}/web configured")]
    );
    let deployments: Api<Deployment> = Api::namespaced(c.client.clone(), &ns);
    let live = deployments.get("web").await.unwrap();
    let spec = live.spec.unwrap();
    let env: Vec<String> = spec.template.spec.unwrap().containers[0]
        .env
        .iter()
        .flatten()
        .map(|e| e.name.clone())
        .collect();
    assert_eq!(env, ["MODE"]);
    assert_eq!(spec.replicas, Some(2));
    assert!(
        !live
            .metadata
            .annotations
            .unwrap_or_default()
            .contains_key(LAST_APPLIED)
    );
    // Converged: the next run, from a fresh manager too, writes nothing.
    let writes = c.writes();
    for rm in [rm, c.manager()] {
        let again = rm
            .apply_all_staged(
                parse(&manifest(one)),
                &applied.inventory,
                &ApplyOptions::default(),
            )
            .await
            .unwrap();
        assert_eq!(actions(&again), [format!("Deployment/{ns}/web unchanged")]);
    }
    assert_eq!(c.writes(), writes);
}
