//! `gitops controller`: runs the controllers as they run in a cluster, or outside one against
//! any kubeconfig: `gitops controller source`, Flux's source-controller (the GitRepository
//! controller and the artifact server), and `gitops controller kustomize`, Flux's
//! kustomize-controller, each with Flux's flags and its own user agent
//! (`gitops-source-controller/<version>`, `gitops-kustomize-controller/<version>`).
//!
//! ```no_run
//! use clap::Parser;
//! use gitops_controllers::controller::Args;
//! #[derive(Parser)]
//! struct Cli {
//!     #[command(flatten)]
//!     args: Args,
//! }
//! let cli = Cli::parse_from(["gitops", "source", "--kubeconfig", "/tmp/kubeconfig",
//!                            "--storage-path", "/tmp/data", "--storage-addr", "127.0.0.1:9090"]);
//! // Serves until Ctrl-C or SIGTERM.
//! gitops_controllers::controller::run(&cli.args, &mut std::io::stdout()).unwrap();
//! ```

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context as _;

use crate::source::SourceController;
use crate::source::flags::Flags;

/// The flags of `gitops controller`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Which controller to run.
    #[command(subcommand)]
    pub controller: Which,
    /// Flux's logging flags (`--log-level`, `--log-encoding`).
    #[command(flatten)]
    pub log: crate::logging::LogFlags,
}

/// The controllers.
#[derive(Debug, clap::Subcommand)]
pub enum Which {
    /// Flux's source-controller: reconcile GitRepositories into artifacts and serve them over
    /// HTTP on --storage-addr; runs until Ctrl-C or SIGTERM.
    Source(SourceArgs),
    /// Flux's kustomize-controller: apply Kustomizations from their GitRepository's
    /// artifact, prune and wait; runs until Ctrl-C or SIGTERM.
    Kustomize(KustomizeArgs),
}

/// The flags of `gitops controller kustomize`.
#[derive(Debug, clap::Args)]
pub struct KustomizeArgs {
    /// The kubeconfig to use; when unset, `$KUBECONFIG` or `~/.kube/config`, else the
    /// in-cluster configuration of a pod.
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use instead of its current one.
    #[arg(long)]
    pub context: Option<String>,
    /// Flux's kustomize-controller flags.
    #[command(flatten)]
    pub flags: crate::kustomize::flags::Flags,
}

/// The flags of `gitops controller source`.
#[derive(Debug, clap::Args)]
pub struct SourceArgs {
    /// The kubeconfig to use; when unset, `$KUBECONFIG` or `~/.kube/config`, else the
    /// in-cluster configuration of a pod.
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use instead of its current one.
    #[arg(long)]
    pub context: Option<String>,
    /// Flux's source-controller flags.
    #[command(flatten)]
    pub flags: Flags,
}

/// Runs the chosen controller until the process gets Ctrl-C (SIGINT) or SIGTERM, reporting
/// where it serves on `out`. Errors are returned before anything runs.
pub fn run(args: &Args, out: &mut dyn Write) -> anyhow::Result<()> {
    crate::logging::init(&args.log)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        match &args.controller {
            Which::Source(source) => run_source(source, out).await,
            Which::Kustomize(kustomize) => run_kustomize(kustomize, out).await,
        }
    })
}

/// A client from the kubeconfig (or the in-cluster configuration) with the user agent
/// `gitops-<component>/<version>`.
pub(crate) async fn client(
    kubeconfig: Option<&PathBuf>,
    context: Option<&str>,
    component: &str,
) -> anyhow::Result<kube::Client> {
    gitops_git::fetch::install_crypto_provider();
    let options = kube::config::KubeConfigOptions {
        context: context.map(str::to_string),
        ..Default::default()
    };
    let config = match kubeconfig {
        Some(path) => {
            let file = kube::config::Kubeconfig::read_from(path)
                .with_context(|| format!("cannot read the kubeconfig {}", path.display()))?;
            kube::Config::from_custom_kubeconfig(file, &options)
                .await
                .with_context(|| format!("cannot use the kubeconfig {}", path.display()))?
        }
        None if context.is_some() => kube::Config::from_kubeconfig(&options)
            .await
            .context("cannot use the kubeconfig; pass --kubeconfig FILE")?,
        None => kube::Config::infer()
            .await
            .context("no cluster configuration found; pass --kubeconfig FILE")?,
    };
    // The API server's audit log tells the components apart by their user agent.
    let mut config = config;
    let agent = format!("gitops-{component}/{}", env!("CARGO_PKG_VERSION"));
    config.headers.push((
        axum::http::header::USER_AGENT,
        axum::http::HeaderValue::from_str(&agent).context("the user agent")?,
    ));
    kube::Client::try_from(config).context("cannot build the Kubernetes client")
}

async fn run_source(args: &SourceArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let (storage, options) = args.flags.options()?;
    let client = client(
        args.kubeconfig.as_ref(),
        args.context.as_deref(),
        crate::source::controller::COMPONENT,
    )
    .await?;
    let controller = SourceController::start(client, storage, options)
        .await
        .context("cannot start the source controller")?;
    if let Some(addr) = controller.artifact_addr() {
        writeln!(out, "serving artifacts on {addr}")?;
    }
    writeln!(
        out,
        "advertising artifacts at {}",
        controller.storage().base_url()
    )?;
    out.flush()?;
    crate::testenv::shutdown_signal()
        .await
        .context("cannot wait for a signal")?;
    controller.shutdown().await;
    Ok(())
}

async fn run_kustomize(args: &KustomizeArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let options = args.flags.options()?;
    let client = client(
        args.kubeconfig.as_ref(),
        args.context.as_deref(),
        crate::kustomize::COMPONENT,
    )
    .await?;
    writeln!(
        out,
        "reconciling Kustomizations in {}",
        options.namespace.as_deref().unwrap_or("all namespaces")
    )?;
    out.flush()?;
    crate::kustomize::controller::run(client, options, async {
        if let Err(e) = crate::testenv::shutdown_signal().await {
            tracing::warn!(error = %e, "cannot wait for a signal; stopping");
        }
    })
    .await;
    Ok(())
}
