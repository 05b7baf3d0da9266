//! `gitops suspend kustomization|source git NAME` and `gitops resume ...`: set or clear
//! `spec.suspend` with a merge patch, as flux does (flux2 `cmd/flux/suspend.go`,
//! `resume.go`). The generation bump of a resume makes the controller reconcile, and resume
//! waits for that reconciliation like flux does for one name: `✔ Kustomization podinfo
//! reconciliation completed`, then `✔ applied revision ...`, or a failure (exit 1).

use clap::{Args, Subcommand};
use serde_json::{Value, json};

use super::block_on;
use super::kind::{FluxKind, condition};
use super::progress::Progress;
use super::reconcile::{ObjectArgs, Quote, Target, outcome, settled, wait};

/// Arguments of `gitops suspend` and `gitops resume`.
#[derive(Debug, Args)]
pub struct SuspendArgs {
    /// What to suspend or resume.
    #[command(subcommand)]
    pub target: SuspendTarget,
}

/// The kinds that can be suspended.
#[derive(Debug, Subcommand)]
pub enum SuspendTarget {
    /// A source.
    Source {
        /// The source kind.
        #[command(subcommand)]
        kind: SuspendSource,
    },
    /// A Kustomization.
    #[command(alias = "ks")]
    Kustomization(ObjectArgs),
}

/// The source kinds that can be suspended.
#[derive(Debug, Subcommand)]
pub enum SuspendSource {
    /// A GitRepository.
    Git(ObjectArgs),
}

impl SuspendArgs {
    fn target(&self) -> (FluxKind, &ObjectArgs) {
        match &self.target {
            SuspendTarget::Source {
                kind: SuspendSource::Git(args),
            } => (FluxKind::GitRepository, args),
            SuspendTarget::Kustomization(args) => (FluxKind::Kustomization, args),
        }
    }
}

/// Runs `gitops suspend`.
pub fn suspend(args: &SuspendArgs) -> anyhow::Result<()> {
    let (kind, object) = args.target();
    block_on(async {
        let client = object.cluster.client().await?;
        let target = Target::new(&client, kind, object);
        target.get().await?;
        let progress = Progress;
        progress.action(&format!(
            "suspending {} {} in {} namespace",
            kind.human(),
            target.name,
            target.namespace
        ));
        target.patch(json!({"spec": {"suspend": true}})).await?;
        progress.success(&format!("{} suspended", kind.human()));
        Ok(())
    })
}

/// Runs `gitops resume`: clears `spec.suspend` and waits for the reconciliation it causes.
pub fn resume(args: &SuspendArgs) -> anyhow::Result<()> {
    let (kind, object) = args.target();
    block_on(async {
        let client = object.cluster.client().await?;
        let target = Target::new(&client, kind, object);
        target.get().await?;
        let progress = Progress;
        progress.action(&format!(
            "resuming {} {} in {} namespace",
            kind.human(),
            target.name,
            target.namespace
        ));
        // `null` removes the field, as Go's omitempty leaves it out.
        target
            .patch(json!({"spec": {"suspend": Value::Null}}))
            .await?;
        progress.success(&format!("{} resumed", kind.human()));
        progress.waiting(&format!("waiting for {} reconciliation", kind.kind()));
        let object = wait(&target, object.timeout, |o| current(o) && settled(o)).await?;
        if let Err(e) = outcome(kind, &object, Quote::No) {
            progress.failure(&format!(
                "{} {} reconciliation failed: {}",
                kind.kind(),
                target.name,
                condition(&object, "Ready")
                    .and_then(|c| c["message"].as_str())
                    .unwrap_or_default()
            ));
            drop(e); // its message is the line above
            return Err(
                super::Failed(format!("reconciliation failed for 1 {}(s)", kind.kind())).into(),
            );
        }
        progress.success(&format!(
            "{} {} reconciliation completed",
            kind.kind(),
            target.name
        ));
        progress.success(&kind.success_message(&object));
        Ok(())
    })
}

/// Whether the `Ready` condition was computed for the object's current generation (flux's
/// `isObjectReady`): the resume bumped it.
fn current(object: &Value) -> bool {
    let generation = object["metadata"]["generation"].as_i64();
    let ready = condition(object, "Ready");
    let observed = ready
        .and_then(|c| c["observedGeneration"].as_i64())
        .filter(|g| *g != 0)
        .or_else(|| object["status"]["observedGeneration"].as_i64());
    generation.is_some() && observed == generation
}
