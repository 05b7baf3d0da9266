//! `gitops controller`: runs the controllers as they run in a cluster, or outside one against
//! any kubeconfig: `gitops controller source`, Flux's source-controller (the GitRepository
//! controller and the artifact server), `gitops controller kustomize`, Flux's
//! kustomize-controller, and `gitops controller all`, both in one process. Each controller has
//! Flux's flags, its own client and its own user agent (`gitops-source-controller/<version>`,
//! `gitops-kustomize-controller/<version>`).
//!
//! Around the controllers, the process runs what controller-runtime's manager runs in Flux:
//! `/metrics` on `--metrics-addr` ([`crate::metrics`]), `/healthz` and `/readyz` on
//! `--health-addr` ([`crate::health`]), one of each per process, and with
//! `--enable-leader-election` one Lease per controller ([`crate::leader`]): a controller (and
//! the source-controller's artifact server) starts only once it leads, and the process exits
//! with an error when a controller loses its Lease, as controller-runtime does. On Ctrl-C or
//! SIGTERM the controllers finish their reconciles in flight and give their Leases up.
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
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::endpoint::Endpoint;
use crate::flags::{Manager, ManagerFlags, WatchFlags};
use crate::health::Health;
use crate::leader::{Elector, LeaseConfig};
use crate::metrics::Metrics;
use crate::source::SourceController;

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
    /// The source-controller and the kustomize-controller in one process, each with its own
    /// client (and Lease), one metrics and one health endpoint; runs until Ctrl-C or SIGTERM.
    All(AllArgs),
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
    /// Metrics, health probes and leader election.
    #[command(flatten)]
    pub manager: ManagerFlags,
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
    pub flags: crate::source::flags::Flags,
    /// Metrics, health probes and leader election.
    #[command(flatten)]
    pub manager: ManagerFlags,
}

/// The flags of `gitops controller all`: each controller's own, and the shared ones once
/// (`--concurrent` applies to each controller; unset, each has its Flux default).
#[derive(Debug, clap::Args)]
pub struct AllArgs {
    /// The kubeconfig to use; when unset, `$KUBECONFIG` or `~/.kube/config`, else the
    /// in-cluster configuration of a pod.
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use instead of its current one.
    #[arg(long)]
    pub context: Option<String>,
    /// The source-controller's own flags.
    #[command(flatten)]
    pub source: crate::source::flags::SourceFlags,
    /// The kustomize-controller's own flags.
    #[command(flatten)]
    pub kustomize: crate::kustomize::flags::KustomizeFlags,
    /// The flags both controllers take.
    #[command(flatten)]
    pub watch: WatchFlags,
    /// Metrics, health probes and leader election.
    #[command(flatten)]
    pub manager: ManagerFlags,
}

/// What one controller of the process starts with.
enum Start {
    Source(
        crate::source::StorageOptions,
        crate::source::ControllerOptions,
    ),
    Kustomize(crate::kustomize::ControllerOptions),
}

/// One controller of the process, before it runs.
struct Component {
    name: &'static str,
    client: kube::Client,
    label_selector: Option<String>,
    start: Start,
}

/// Runs the chosen controllers until the process gets Ctrl-C (SIGINT) or SIGTERM, reporting
/// where they serve on `out`. Flag errors are returned before anything runs.
pub fn run(args: &Args, out: &mut dyn Write) -> anyhow::Result<()> {
    crate::logging::init(&args.log)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let (components, manager) = match &args.controller {
            Which::Source(a) => {
                let (storage, options) = a.flags.options()?;
                let manager = a.manager.options()?;
                let client = source_client(a.kubeconfig.as_ref(), a.context.as_deref()).await?;
                (vec![source(client, storage, options)], manager)
            }
            Which::Kustomize(a) => {
                let options = a.flags.options()?;
                let manager = a.manager.options()?;
                let client = kustomize_client(a.kubeconfig.as_ref(), a.context.as_deref()).await?;
                (vec![kustomize(client, options)], manager)
            }
            Which::All(a) => {
                let (storage, source_options) = a.source.options(&a.watch)?;
                let kustomize_options = a.kustomize.options(&a.watch)?;
                let manager = a.manager.options()?;
                let (kubeconfig, context) = (a.kubeconfig.as_ref(), a.context.as_deref());
                let source_client = source_client(kubeconfig, context).await?;
                let kustomize_client = kustomize_client(kubeconfig, context).await?;
                (
                    vec![
                        source(source_client, storage, source_options),
                        kustomize(kustomize_client, kustomize_options),
                    ],
                    manager,
                )
            }
        };
        // One rate limit per controller client, as each Flux controller has.
        let components = components
            .into_iter()
            .map(|mut component| {
                component.client = gitops_apply::client::rate_limited(
                    &component.client,
                    manager.kube_api_qps,
                    manager.kube_api_burst,
                );
                component
            })
            .collect();
        serve(components, &manager, out).await
    })
}

fn source(
    client: kube::Client,
    storage: crate::source::StorageOptions,
    options: crate::source::ControllerOptions,
) -> Component {
    Component {
        name: crate::source::controller::COMPONENT,
        client,
        label_selector: options.label_selector.clone(),
        start: Start::Source(storage, options),
    }
}

fn kustomize(client: kube::Client, options: crate::kustomize::ControllerOptions) -> Component {
    Component {
        name: crate::kustomize::COMPONENT,
        client,
        label_selector: options.label_selector.clone(),
        start: Start::Kustomize(options),
    }
}

async fn source_client(
    kubeconfig: Option<&PathBuf>,
    context: Option<&str>,
) -> anyhow::Result<kube::Client> {
    client(kubeconfig, context, crate::source::controller::COMPONENT).await
}

async fn kustomize_client(
    kubeconfig: Option<&PathBuf>,
    context: Option<&str>,
) -> anyhow::Result<kube::Client> {
    client(kubeconfig, context, crate::kustomize::COMPONENT).await
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

/// Serves the metrics and the probes, runs each component (once it leads, with leader
/// election) until a signal, and stops them all when one fails or loses its Lease.
async fn serve(
    components: Vec<Component>,
    manager: &Manager,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let metrics = Metrics::new();
    let health = Health::new();
    let mut endpoints = Vec::new();
    if let Some(addr) = manager.metrics_addr {
        let endpoint = Endpoint::start("metrics", "metrics-addr", addr, metrics.router()).await?;
        writeln!(out, "serving metrics on {}", endpoint.addr())?;
        endpoints.push(endpoint);
    }
    if let Some(addr) = manager.health_addr {
        let endpoint =
            Endpoint::start("health probes", "health-addr", addr, health.router()).await?;
        writeln!(out, "serving health probes on {}", endpoint.addr())?;
        endpoints.push(endpoint);
    }
    out.flush()?;

    let shutdown = CancellationToken::new();
    let signal = {
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            tokio::select! {
                result = crate::testenv::shutdown_signal() => {
                    if let Err(e) = result {
                        tracing::warn!(error = %e, "cannot wait for a signal; stopping");
                    }
                    shutdown.cancel();
                }
                () = shutdown.cancelled() => {}
            }
        })
    };
    let (lines, mut printed) = mpsc::unbounded_channel::<String>();
    let mut tasks = Vec::new();
    for component in components {
        let election = manager.leader_election.then(|| {
            LeaseConfig::new(
                component.name,
                component.label_selector.as_deref(),
                &manager.leader_election_namespace,
            )
        });
        let (metrics, health, lines, shutdown) = (
            metrics.clone(),
            health.clone(),
            lines.clone(),
            shutdown.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let result = lead(component, election, metrics, health, &lines, &shutdown).await;
            if result.is_err() {
                // controller-runtime stops the whole manager when one runnable fails.
                shutdown.cancel();
            }
            result
        }));
    }
    drop(lines);
    while let Some(line) = printed.recv().await {
        writeln!(out, "{line}")?;
        out.flush()?;
    }
    let mut result = Ok(());
    for task in tasks {
        let outcome = task
            .await
            .unwrap_or_else(|e| Err(anyhow::anyhow!("a controller task failed: {e}")));
        if let Err(e) = outcome
            && result.is_ok()
        {
            result = Err(e);
        }
    }
    shutdown.cancel();
    let _ = signal.await;
    for endpoint in endpoints {
        endpoint.shutdown().await;
    }
    result
}

/// Runs one component: waits for its Lease (with leader election), starts it, and stops it
/// on `shutdown` (then releases the Lease) or when the Lease is lost (an error).
async fn lead(
    component: Component,
    election: Option<LeaseConfig>,
    metrics: Metrics,
    health: Health,
    lines: &mpsc::UnboundedSender<String>,
    shutdown: &CancellationToken,
) -> anyhow::Result<()> {
    let name = component.name;
    let leadership = match election {
        Some(config) => {
            let lease = format!("{}/{}", config.namespace, config.name);
            let standby = health.standby();
            let elector = Elector::new(component.client.clone(), config);
            let Some(leadership) = elector.acquire(shutdown).await else {
                return Ok(());
            };
            drop(standby);
            let _ = lines.send(format!("{name} leads with the Lease {lease}"));
            Some(leadership)
        }
        None => None,
    };
    match component.start {
        Start::Source(storage, mut options) => {
            options.metrics = metrics;
            options.health = health;
            let controller = SourceController::start(component.client, storage, options)
                .await
                .with_context(|| format!("cannot start the {name}"))?;
            if let Some(addr) = controller.artifact_addr() {
                let _ = lines.send(format!("serving artifacts on {addr}"));
            }
            let _ = lines.send(format!(
                "advertising artifacts at {}",
                controller.storage().base_url()
            ));
            stopped(shutdown, leadership.as_ref()).await;
            controller.shutdown().await;
        }
        Start::Kustomize(mut options) => {
            options.metrics = metrics;
            options.health = health;
            let _ = lines.send(format!(
                "reconciling Kustomizations in {}",
                options.namespace.as_deref().unwrap_or("all namespaces")
            ));
            let (stop, on_stop) = tokio::sync::oneshot::channel::<()>();
            let task = tokio::spawn(crate::kustomize::controller::run(
                component.client,
                options,
                async move {
                    let _ = on_stop.await;
                },
            ));
            stopped(shutdown, leadership.as_ref()).await;
            let _ = stop.send(());
            let _ = task.await;
        }
    }
    match leadership {
        Some(l) if l.is_lost() => Err(anyhow::anyhow!(
            "the {name} lost its leader election Lease; stopping"
        )),
        Some(l) => {
            l.release().await;
            Ok(())
        }
        None => Ok(()),
    }
}

/// Completes when the process stops or the Lease is lost.
async fn stopped(shutdown: &CancellationToken, leadership: Option<&crate::leader::Leadership>) {
    match leadership {
        Some(l) => tokio::select! {
            () = shutdown.cancelled() => {}
            () = l.lost() => {}
        },
        None => shutdown.cancelled().await,
    }
}
