//! `gitops quickstart`: the pipeline end to end on an embedded example.
//!
//! An example fleet repository (a namespace, a config map, a deployment and a service) is
//! committed to the in-memory Git source; a `GitRepository` and a `Kustomization` with Flux's
//! usual settings are created in the in-memory cluster; the source and kustomize reconcilers
//! run as the controllers would. Then a second commit scales the deployment and removes the
//! config map, and a third breaks a manifest, to show drift correction, pruning and a failed
//! render that leaves the cluster untouched.

use std::io::Write;

use anyhow::{Context, Result};
use gitops_core::reconcile::{Outcome, Requeue};
use gitops_core::status::{ConditionStatus, Conditions, condition};
use gitops_core::testkit::{Env, block_on, files};

const URL: &str = "https://git.example.invalid/fleet";

const FLUX_OBJECTS: &str = "
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: fleet, namespace: flux-system, generation: 1}
spec:
  url: https://git.example.invalid/fleet
  interval: 1m
  timeout: 60s
  ref: {branch: main}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: podinfo, namespace: flux-system, generation: 1}
spec:
  interval: 10m
  path: ./apps/podinfo
  prune: true
  wait: true
  timeout: 2m
  sourceRef: {kind: GitRepository, name: fleet}
";

const NAMESPACE: &str = "apiVersion: v1
kind: Namespace
metadata:
  name: podinfo
";

const CONFIG: &str = "apiVersion: v1
kind: ConfigMap
metadata:
  name: podinfo-config
  namespace: podinfo
data:
  PODINFO_UI_MESSAGE: hello from gitops
";

const SERVICE: &str = "apiVersion: v1
kind: Service
metadata:
  name: podinfo
  namespace: podinfo
spec:
  selector:
    app: podinfo
  ports:
  - name: http
    port: 9898
";

fn deployment(replicas: u32) -> String {
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: podinfo
  namespace: podinfo
spec:
  replicas: {replicas}
  selector:
    matchLabels:
      app: podinfo
  template:
    metadata:
      labels:
        app: podinfo
    spec:
      containers:
      - name: podinfo
        image: ghcr.example.invalid/podinfo:6.7.0
        ports:
        - containerPort: 9898
"
    )
}

/// Runs the quickstart, printing to `out`. Returns whether every step ended as expected.
pub fn run(out: &mut dyn Write) -> Result<bool> {
    let env = Env::new();
    writeln!(
        out,
        "gitops quickstart: in-memory Git source and cluster, Flux's reconcilers\n"
    )?;
    env.add_yaml(FLUX_OBJECTS)
        .context("creating the GitRepository and Kustomization")?;

    let deploy = deployment(1);
    let rev = env.source.commit(
        URL,
        "main",
        files(&[
            ("apps/podinfo/namespace.yaml", NAMESPACE),
            ("apps/podinfo/config.yaml", CONFIG),
            ("apps/podinfo/deployment.yaml", &deploy),
            ("apps/podinfo/service.yaml", SERVICE),
            ("README.md", "# fleet\n"),
        ]),
        "add podinfo",
    );
    writeln!(out, "► commit 'add podinfo' → {rev}")?;
    let mut ok = step(&env, out, true)?;

    let deploy = deployment(3);
    let rev = env.source.commit(
        URL,
        "main",
        files(&[
            ("apps/podinfo/namespace.yaml", NAMESPACE),
            ("apps/podinfo/deployment.yaml", &deploy),
            ("apps/podinfo/service.yaml", SERVICE),
        ]),
        "scale podinfo to 3 and drop its config",
    );
    writeln!(
        out,
        "\n► commit 'scale podinfo to 3 and drop its config' → {rev}"
    )?;
    ok &= step(&env, out, true)?;

    let rev = env.source.commit(
        URL,
        "main",
        files(&[
            ("apps/podinfo/namespace.yaml", NAMESPACE),
            (
                "apps/podinfo/deployment.yaml",
                "kind: Deployment\nspec: [broken\n",
            ),
        ]),
        "break the deployment",
    );
    writeln!(out, "\n► commit 'break the deployment' → {rev}")?;
    ok &= step(&env, out, false)?;

    writeln!(out, "\nobjects in the cluster:")?;
    for o in env.cluster.objects() {
        if o.namespace() == Some("podinfo") {
            writeln!(out, "  {}", o.object_ref())?;
        }
    }
    Ok(ok)
}

/// Reconciles the source, then the Kustomization until it settles; prints what happened.
fn step(env: &Env, out: &mut dyn Write, expect_ready: bool) -> Result<bool> {
    let source = block_on(env.reconcile_source("flux-system", "fleet"))?;
    report(out, "GitRepository/flux-system/fleet", &source)?;
    // Health checks requeue instead of blocking a worker: let the cluster's controllers roll
    // the workloads out, move the clock to the requeue time and reconcile again.
    let mut ks = block_on(env.reconcile_kustomization("flux-system", "podinfo"))?;
    print_events(out, &ks)?;
    while let Requeue::After(d) = ks.requeue {
        if ks.status.conditions.get(condition::READY).map(|c| c.status)
            != Some(ConditionStatus::Unknown)
        {
            break;
        }
        env.cluster.settle();
        env.clock.advance(d);
        ks = block_on(env.reconcile_kustomization("flux-system", "podinfo"))?;
        print_events(out, &ks)?;
    }
    report(out, "Kustomization/flux-system/podinfo", &ks)?;
    Ok(ks.status.conditions.is_true(condition::READY) == expect_ready)
}

fn print_events<S>(out: &mut dyn Write, outcome: &Outcome<S>) -> Result<()> {
    for event in &outcome.events {
        for line in event.message.lines() {
            writeln!(out, "  {line}")?;
        }
    }
    Ok(())
}

fn report<S: HasConditions>(out: &mut dyn Write, name: &str, outcome: &Outcome<S>) -> Result<()> {
    let conditions = outcome.status.conditions();
    match conditions.get(condition::READY) {
        Some(c) => writeln!(
            out,
            "{} {name} Ready={} {}: {}",
            if c.status == ConditionStatus::True {
                "✔"
            } else {
                "✗"
            },
            c.status,
            c.reason,
            c.message
        )?,
        None => writeln!(out, "? {name} has no Ready condition")?,
    }
    Ok(())
}

trait HasConditions {
    fn conditions(&self) -> &Conditions;
}

impl HasConditions for gitops_core::status::GitRepositoryStatus {
    fn conditions(&self) -> &Conditions {
        &self.conditions
    }
}

impl HasConditions for gitops_core::status::KustomizationStatus {
    fn conditions(&self) -> &Conditions {
        &self.conditions
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn quickstart_tells_the_whole_story() {
        let mut buf = Vec::new();
        let ok = super::run(&mut buf).unwrap();
        let text = String::from_utf8(buf).unwrap();
        assert!(ok, "{text}");
        assert!(
            text.contains("stored artifact for revision 'main@sha1:"),
            "{text}"
        );
        assert!(text.contains("Namespace/podinfo created"), "{text}");
        assert!(
            text.contains("Deployment/podinfo/podinfo configured"),
            "{text}"
        );
        assert!(
            text.contains("ConfigMap/podinfo/podinfo-config deleted"),
            "{text}"
        );
        assert!(
            text.contains("Ready=False BuildFailed: kustomize build failed:"),
            "{text}"
        );
        assert!(text.contains("Applied revision: main@sha1:"), "{text}");
    }
}
