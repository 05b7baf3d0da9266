//! `gitops reconcile source git NAME` and `gitops reconcile kustomization NAME
//! [--with-source]`: ask the controller for a reconciliation now and wait for its outcome, as
//! `flux reconcile` does (flux2 `cmd/flux/reconcile.go`, `reconcile_with_source.go`).
//!
//! The request is the annotation `reconcile.fluxcd.io/requestedAt=<now, RFC 3339>` set by a
//! merge patch; the controller echoes it in `status.lastHandledReconcileAt` when it has
//! handled it. The command waits for that echo and a settled `Ready` condition, then prints
//! `✔ fetched revision ...` / `✔ applied revision ...`, or fails (exit 1) with the `Ready`
//! message. A suspended object is refused (`resource is suspended`), as flux does.

use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand};
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use serde_json::{Value, json};

use super::kind::{FluxKind, condition, suspended, to_value};
use super::progress::Progress;
use super::{Failed, block_on, is_not_found};
use crate::config_flags::ConfigFlags;
use gitops_core::api::REQUESTED_AT_ANNOTATION;

/// How often the object is read while waiting (flux's `--poll-interval` is 2s).
const POLL: Duration = Duration::from_millis(500);

/// Arguments of `gitops reconcile`.
#[derive(Debug, Args)]
pub struct ReconcileArgs {
    /// What to reconcile.
    #[command(subcommand)]
    pub target: ReconcileTarget,
}

/// The kinds `gitops reconcile` reconciles.
#[derive(Debug, Subcommand)]
pub enum ReconcileTarget {
    /// Reconcile a source.
    Source {
        /// The source kind.
        #[command(subcommand)]
        kind: ReconcileSource,
    },
    /// Reconcile a Kustomization: trigger an apply outside of its interval and wait for it.
    #[command(alias = "ks")]
    Kustomization(KustomizationArgs),
}

/// The source kinds.
#[derive(Debug, Subcommand)]
pub enum ReconcileSource {
    /// Reconcile a GitRepository: fetch the remote now and wait for the artifact.
    Git(ObjectArgs),
}

/// The flags of a reconcile (and of `resume`, which waits the same way).
#[derive(Debug, Args)]
pub struct ObjectArgs {
    /// The object's name.
    pub name: String,
    /// How long to wait for the reconciliation (a duration such as `5m`, `90s`).
    #[arg(long, default_value = "5m", value_parser = parse_timeout)]
    pub timeout: Duration,
    /// The connection flags.
    #[command(flatten)]
    pub cluster: ConfigFlags,
}

/// The flags of `gitops reconcile kustomization`.
#[derive(Debug, Args)]
pub struct KustomizationArgs {
    /// The object and how long to wait.
    #[command(flatten)]
    pub object: ObjectArgs,
    /// Reconcile the Kustomization's source first.
    #[arg(long)]
    pub with_source: bool,
}

/// Parses a Go-style duration (`5m`, `1h30m`, `90s`) with the core's parser.
pub fn parse_timeout(text: &str) -> Result<Duration, String> {
    gitops_core::schedule::parse_duration("--timeout", text).map_err(|e| e.to_string())
}

/// Runs `gitops reconcile`.
pub fn run(args: &ReconcileArgs) -> anyhow::Result<()> {
    block_on(async {
        match &args.target {
            ReconcileTarget::Source {
                kind: ReconcileSource::Git(object),
            } => {
                let client = object.cluster.client().await?;
                let target = Target::new(&client, FluxKind::GitRepository, object);
                reconcile(&target, object.timeout, Quote::Yes).await
            }
            ReconcileTarget::Kustomization(ks) => {
                let client = ks.object.cluster.client().await?;
                let target = Target::new(&client, FluxKind::Kustomization, &ks.object);
                reconcile_kustomization(&client, &target, ks).await
            }
        }
    })
}

/// The object a command acts on.
pub(crate) struct Target {
    pub(crate) kind: FluxKind,
    pub(crate) api: Api<DynamicObject>,
    pub(crate) name: String,
    pub(crate) namespace: String,
}

impl Target {
    pub(crate) fn new(client: &kube::Client, kind: FluxKind, args: &ObjectArgs) -> Target {
        Target::named(client, kind, &args.name, &args.cluster.namespace)
    }

    pub(crate) fn named(client: &kube::Client, kind: FluxKind, name: &str, ns: &str) -> Target {
        Target {
            kind,
            api: kind.api(client, Some(ns)),
            name: name.to_string(),
            namespace: ns.to_string(),
        }
    }

    /// The object as JSON; not found is a failure naming it.
    pub(crate) async fn get(&self) -> anyhow::Result<Value> {
        match self.api.get(&self.name).await {
            Ok(o) => Ok(to_value(o, &self.kind.resource())),
            Err(e) if is_not_found(&e) => Err(Failed(format!(
                "{} object '{}' not found in \"{}\" namespace",
                self.kind.kind(),
                self.name,
                self.namespace
            ))
            .into()),
            Err(e) => Err(anyhow::Error::new(e).context(format!(
                "cannot read {} '{}/{}'",
                self.kind.kind(),
                self.namespace,
                self.name
            ))),
        }
    }

    /// A merge patch of the object.
    pub(crate) async fn patch(&self, patch: Value) -> anyhow::Result<()> {
        self.api
            .patch(&self.name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .with_context(|| {
                format!(
                    "cannot update {} '{}/{}'",
                    self.kind.kind(),
                    self.namespace,
                    self.name
                )
            })?;
        Ok(())
    }
}

/// Whether flux quotes the Ready message of a failed reconciliation: it does for a source,
/// not for a Kustomization (two code paths in flux).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Quote {
    Yes,
    No,
}

async fn reconcile_kustomization(
    client: &kube::Client,
    target: &Target,
    args: &KustomizationArgs,
) -> anyhow::Result<()> {
    let ks = target.get().await?;
    if suspended(&ks) {
        return Err(Failed("resource is suspended".into()).into());
    }
    if args.with_source {
        let source = &ks["spec"]["sourceRef"];
        let source_kind = source["kind"].as_str().unwrap_or_default();
        if source_kind != FluxKind::GitRepository.kind() {
            return Err(Failed(format!("cannot reconcile source of kind {source_kind}")).into());
        }
        let name = source["name"].as_str().unwrap_or_default();
        let ns = source["namespace"].as_str().unwrap_or(&target.namespace);
        let source = Target::named(client, FluxKind::GitRepository, name, ns);
        reconcile(&source, args.object.timeout, Quote::Yes).await?;
    }
    reconcile(target, args.object.timeout, Quote::No).await
}

/// Requests a reconciliation of `target` and waits for its outcome.
pub(crate) async fn reconcile(
    target: &Target,
    timeout: Duration,
    quote: Quote,
) -> anyhow::Result<()> {
    let progress = Progress;
    let kind = target.kind.kind();
    let object = target.get().await?;
    if suspended(&object) {
        return Err(Failed("resource is suspended".into()).into());
    }
    progress.action(&format!(
        "annotating {kind} {} in {} namespace",
        target.name, target.namespace
    ));
    let requested = jiff::Timestamp::now().to_string();
    target
        .patch(json!({"metadata": {"annotations": {REQUESTED_AT_ANNOTATION: requested}}}))
        .await?;
    progress.success(&format!("{kind} annotated"));
    progress.waiting(&format!("waiting for {kind} reconciliation"));
    let object = wait(target, timeout, |o| {
        o["status"]["lastHandledReconcileAt"].as_str() == Some(requested.as_str()) && settled(o)
    })
    .await?;
    outcome(target.kind, &object, quote)?;
    progress.success(&target.kind.success_message(&object));
    Ok(())
}

/// Whether an object's conditions tell a finished reconciliation: `Ready` is `True` or
/// `False`, and the controller no longer reports one in progress (a failed one leaves
/// `Reconciling` with reason `ProgressingWithRetry`, which counts as finished).
pub(crate) fn settled(object: &Value) -> bool {
    let ready = condition(object, "Ready").and_then(|c| c["status"].as_str());
    let reconciling = condition(object, "Reconciling")
        .is_some_and(|c| c["status"] == "True" && c["reason"] != "ProgressingWithRetry");
    matches!(ready, Some("True" | "False")) && !reconciling
}

/// Success when `Ready` is `True`; otherwise a failure with its message.
pub(crate) fn outcome(kind: FluxKind, object: &Value, quote: Quote) -> anyhow::Result<()> {
    let Some(ready) = condition(object, "Ready") else {
        return Err(Failed("status can't be determined".into()).into());
    };
    if ready["status"] == "True" {
        return Ok(());
    }
    let message = ready["message"].as_str().unwrap_or_default();
    let message = match quote {
        Quote::Yes => format!("'{message}'"),
        Quote::No => message.to_string(),
    };
    Err(Failed(format!("{} reconciliation failed: {message}", kind.kind())).into())
}

/// Reads the object every [`POLL`] until `done` holds; past `timeout`, a failure naming
/// what the object last said.
pub(crate) async fn wait(
    target: &Target,
    timeout: Duration,
    done: impl Fn(&Value) -> bool,
) -> anyhow::Result<Value> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let object = target.get().await?;
        if done(&object) {
            return Ok(object);
        }
        if tokio::time::Instant::now() >= deadline {
            let said = condition(&object, "Ready")
                .and_then(|c| c["message"].as_str())
                .unwrap_or("no Ready condition");
            return Err(Failed(format!(
                "timeout waiting for {} '{}/{}' reconciliation after {:?}: {said}",
                target.kind.kind(),
                target.namespace,
                target.name,
                timeout
            ))
            .into());
        }
        tokio::time::sleep(POLL).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_with_retry_is_settled_and_fails_with_the_ready_message() {
        let object = json!({"status": {"conditions": [
            {"type": "Ready", "status": "False", "message": "kustomization path not found"},
            {"type": "Reconciling", "status": "True", "reason": "ProgressingWithRetry"},
        ]}});
        assert!(settled(&object));
        let err = outcome(FluxKind::Kustomization, &object, Quote::No).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Kustomization reconciliation failed: kustomization path not found"
        );
        let progressing = json!({"status": {"conditions": [
            {"type": "Ready", "status": "Unknown"},
            {"type": "Reconciling", "status": "True", "reason": "Progressing"},
        ]}});
        assert!(!settled(&progressing));
        assert_eq!(parse_timeout("5m").unwrap(), Duration::from_secs(300));
        assert!(parse_timeout("soon").is_err());
    }
}
