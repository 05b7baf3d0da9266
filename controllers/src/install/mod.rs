//! `gitops install [--export]`: the manifests that run the controllers in a cluster, as
//! `flux install` builds them ([`manifests`]), printed (`--export`) or applied.
//!
//! Applying is server-side apply with field manager `gitops`, staged as the
//! kustomize-controller stages (the Namespace and the CRDs first, waiting for the CRDs to be
//! Established), then a wait until every object is Current: the CRDs Established, the
//! Deployments rolled out. The objects carry the owner labels of the `<namespace>`
//! Kustomization that `gitops bootstrap git` creates over them, so that once bootstrapped the
//! kustomize-controller takes them over without a change. Progress goes to stderr in Flux's
//! words (`✚ generating manifests`, `► installing components in "flux-system" namespace`,
//! `✔ install finished`); `--export` prints the YAML on stdout and talks to no cluster.

pub mod manifests;

use std::io::Write;
use std::time::Duration;

use anyhow::Context as _;
use gitops_apply::{ApplyOptions, ResourceManager, WaitOptions};
use gitops_core::plan::takeover::Cleanup;
use gitops_core::plan::{ChangeAction, Owner};
use gitops_core::{Inventory, Manifest, Object, Origin};

use crate::config_flags::ConfigFlags;

/// The field manager of everything `gitops install` and `gitops bootstrap` apply.
pub const FIELD_MANAGER: &str = "gitops";

/// The flags of `gitops install`.
#[derive(Clone, Debug, clap::Args)]
pub struct Args {
    /// Print the manifests as multi-document YAML on stdout instead of applying them.
    #[arg(long)]
    pub export: bool,
    /// The container image of the controllers (the repository's Dockerfile builds it).
    #[arg(long, default_value = manifests::DEFAULT_IMAGE)]
    pub image: String,
    /// How long to wait for the CRDs and the Deployments to be ready.
    #[arg(long, default_value = "5m")]
    pub timeout: String,
    /// The cluster to install into; `-n` is the namespace of the controllers.
    #[command(flatten)]
    pub cluster: ConfigFlags,
}

/// Runs `gitops install`: prints the manifests on `out` with `--export`, else applies them
/// reporting progress on `progress`.
pub fn run(args: &Args, out: &mut dyn Write, progress: &mut dyn Write) -> anyhow::Result<()> {
    let options = manifests::Options {
        namespace: args.cluster.namespace.clone(),
        image: args.image.clone(),
    };
    if args.export {
        out.write_all(manifests::render(&options)?.as_bytes())?;
        return Ok(());
    }
    let timeout =
        gitops_core::schedule::parse_duration("timeout", &args.timeout).map_err(|_| {
            anyhow::anyhow!(
                "invalid --timeout '{}': expected a duration such as 5m",
                args.timeout
            )
        })?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        writeln!(progress, "✚ generating manifests")?;
        let objects = manifests::objects(&options)?;
        writeln!(progress, "✔ manifests build completed")?;
        let client = args.cluster.client().await?;
        install(&client, &options.namespace, objects, timeout, progress).await?;
        writeln!(progress, "✔ install finished")?;
        Ok(())
    })
}

/// Applies the install objects and waits until they are ready, reporting on `progress`;
/// returns whether anything was created or changed.
pub async fn install(
    client: &kube::Client,
    namespace: &str,
    objects: Vec<Object>,
    timeout: Duration,
    progress: &mut dyn Write,
) -> anyhow::Result<bool> {
    writeln!(
        progress,
        "► installing components in \"{namespace}\" namespace"
    )?;
    let changed = apply(client, namespace, "gotk-components.yaml", objects, progress).await?;
    if changed.is_empty() {
        writeln!(progress, "✔ components are up to date")?;
    } else {
        writeln!(progress, "✔ installed components")?;
    }
    writeln!(progress, "◎ verifying installation")?;
    for component in manifests::COMPONENTS {
        wait(
            client,
            namespace,
            &[Object::from_value(serde_json::json!({
                "apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": component, "namespace": namespace},
            }))?],
            timeout,
        )
        .await
        .with_context(|| format!("the {component} Deployment did not become ready"))?;
        writeln!(progress, "✔ {component}: deployment ready")?;
    }
    Ok(!changed.is_empty())
}

/// A manager applying with field manager `gitops` and the owner labels of the
/// `<namespace>/<namespace>` Kustomization bootstrap creates.
pub(crate) fn manager(client: &kube::Client, namespace: &str) -> ResourceManager {
    let mut cleanup = Cleanup::flux(FIELD_MANAGER);
    // Flux takes over its own pre-SSA updates by name prefix, but `gitops` is the prefix of
    // the controllers' and the CLI's own managers (`gitops-source-controller`,
    // `gitops-cli`): taking those over would drop the finalizers and the requestedAt
    // annotations they set. Only updates made as `gitops` itself are ours.
    for manager in &mut cleanup.managers {
        if manager.name == FIELD_MANAGER {
            manager.exact = true;
        }
    }
    ResourceManager::new(client.clone(), Owner::new(namespace, namespace))
        .with_field_manager(FIELD_MANAGER)
        .with_cleanup(cleanup)
}

/// Applies `objects` staged (no prune), printing each created or configured object; returns
/// those lines.
pub(crate) async fn apply(
    client: &kube::Client,
    namespace: &str,
    file: &str,
    objects: Vec<Object>,
    progress: &mut dyn Write,
) -> anyhow::Result<Vec<String>> {
    let desired: Vec<Manifest> = objects
        .into_iter()
        .enumerate()
        .map(|(document, object)| Manifest {
            object,
            origin: Origin {
                file: file.into(),
                document,
                line: 1,
            },
        })
        .collect();
    let options = ApplyOptions {
        prune: false,
        ..ApplyOptions::default()
    };
    let applied = manager(client, namespace)
        .apply_all_staged(desired, &Inventory::default(), &options)
        .await
        .with_context(|| format!("cannot apply {file}"))?;
    let changed: Vec<String> = applied
        .changes
        .entries
        .iter()
        .filter(|e| matches!(e.action, ChangeAction::Created | ChangeAction::Configured))
        .map(ToString::to_string)
        .collect();
    for line in &changed {
        writeln!(progress, "{line}")?;
    }
    Ok(changed)
}

/// Waits until every object is Current (kstatus), at most `timeout`.
pub(crate) async fn wait(
    client: &kube::Client,
    namespace: &str,
    objects: &[Object],
    timeout: Duration,
) -> anyhow::Result<()> {
    let members: Vec<_> = objects
        .iter()
        .map(|o| (o.object_ref(), o.api_version().to_string()))
        .collect();
    let options = WaitOptions {
        interval: Duration::from_millis(500),
        timeout,
        fail_fast: true,
    };
    manager(client, namespace)
        .wait_for_set(&members, &options)
        .await?;
    Ok(())
}
