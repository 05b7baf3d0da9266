//! The `gitops` command line.
//!
//! Results go to stdout, diagnostics to stderr. Exit codes: 0 success, 1 the command ran and
//! found a failure (e.g. a reconciliation that did not become ready, an object not found, a
//! difference found by `diff`), 2 usage or input errors.
//!
//! The day-to-day commands of a Flux user (`get`, `reconcile`, `suspend`, `resume`, `events`,
//! `tree`, `diff`) live in [`crate::commands`], one module each; this module only dispatches.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Pull-based continuous delivery for Kubernetes, the Flux way.
#[derive(Debug, Parser)]
#[command(name = "gitops", version, about)]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
// Parsed once per process: the size of the largest variant's flags does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the GitRepository → Kustomization pipeline end to end on real parts (the test API
    /// server, a Git server on 127.0.0.1, both controllers) and print what a user sees.
    Quickstart(crate::quickstart::Args),
    /// Render a directory (or a Flux Kustomization over it) and print the objects as YAML,
    /// as `kubectl kustomize` and `flux build kustomization` do, without a cluster.
    Build(crate::build::BuildArgs),
    /// Serve the in-process test Kubernetes API server on loopback HTTP and write a
    /// kubeconfig for kubectl; runs until Ctrl-C or SIGTERM.
    Testenv(crate::testenv::Args),
    /// Print the GitRepository and Kustomization CRDs as YAML, or write one file per CRD
    /// into a directory (`gitops crds --out-dir controllers/config/crd` refreshes the
    /// checked-in copies).
    Crds(CrdsArgs),
    /// Run a controller (`source`, Flux's source-controller with its artifact server;
    /// `kustomize`, Flux's kustomize-controller; or `all`, both in one process) against a
    /// cluster, in it or outside it through a kubeconfig, with Flux's metrics, health probes
    /// and leader election; runs until Ctrl-C or SIGTERM.
    Controller(crate::controller::Args),
    /// Get the Flux objects and their status (`get sources git`, `get kustomizations`), as
    /// `flux get` prints them; `-w` to watch, `-o yaml|json` for the objects themselves.
    Get(crate::commands::get::GetArgs),
    /// Ask the controller to reconcile an object now and wait until it is done (`reconcile
    /// source git NAME`, `reconcile kustomization NAME [--with-source]`).
    Reconcile(crate::commands::reconcile::ReconcileArgs),
    /// Suspend the reconciliation of an object (`spec.suspend: true`).
    Suspend(crate::commands::suspend::SuspendArgs),
    /// Resume a suspended object and wait for the reconciliation that follows.
    Resume(crate::commands::suspend::SuspendArgs),
    /// Print the Events of Flux objects (`--for Kind/name` for one object and its source).
    Events(crate::commands::events::EventsArgs),
    /// Print what a Kustomization manages as a tree, from its inventory.
    Tree(crate::commands::tree::TreeArgs),
    /// Show what applying a local directory as a Kustomization would change in the
    /// cluster: exit 0 no change, 1 a change, 2 an error.
    Diff(crate::commands::diff::DiffArgs),
    /// Print (`--export`) or apply the manifests that run the controllers in a cluster, as
    /// `flux install` does: the namespace, the CRDs, RBAC, the Service and the Deployments.
    Install(crate::install::Args),
    /// Commit the install and sync manifests to a Git repository and sync the cluster with
    /// it, as `flux bootstrap git` does; running it again changes nothing.
    Bootstrap(crate::bootstrap::Args),
}

/// Arguments of `gitops crds`.
#[derive(Debug, clap::Args)]
pub struct CrdsArgs {
    /// Write `<group>_<plural>.yaml` files into this directory instead of printing.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<std::path::PathBuf>,
}

/// Prints the CRDs, or writes them into `--out-dir`.
fn crds(args: &CrdsArgs, out: &mut impl std::io::Write) -> anyhow::Result<()> {
    use anyhow::Context;
    let files = crate::api::crd::files()?;
    match &args.out_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create directory {}", dir.display()))?;
            for (name, yaml) in files {
                let path = dir.join(name);
                std::fs::write(&path, yaml)
                    .with_context(|| format!("cannot write {}", path.display()))?;
                writeln!(out, "wrote {}", path.display())?;
            }
        }
        None => {
            for (_, yaml) in files {
                out.write_all(yaml.as_bytes())?;
            }
        }
    }
    Ok(())
}

/// Parses the arguments and runs the command.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Quickstart(args) => match crate::quickstart::run(&args, &mut std::io::stdout()) {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) => ExitCode::from(1),
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::from(2)
            }
        },
        Command::Build(args) => exit(crate::build::run(&args, &mut std::io::stdout().lock())),
        Command::Testenv(args) => exit(crate::testenv::run(&args, &mut std::io::stdout())),
        Command::Crds(args) => exit(crds(&args, &mut std::io::stdout().lock())),
        Command::Controller(args) => exit(crate::controller::run(&args, &mut std::io::stdout())),
        Command::Get(args) => flux_exit(crate::commands::get::run(
            &args,
            &mut std::io::stdout().lock(),
        )),
        Command::Reconcile(args) => flux_exit(crate::commands::reconcile::run(&args)),
        Command::Suspend(args) => flux_exit(crate::commands::suspend::suspend(&args)),
        Command::Resume(args) => flux_exit(crate::commands::suspend::resume(&args)),
        Command::Events(args) => flux_exit(crate::commands::events::run(
            &args,
            &mut std::io::stdout().lock(),
        )),
        Command::Tree(args) => flux_exit(crate::commands::tree::run(
            &args,
            &mut std::io::stdout().lock(),
        )),
        Command::Diff(args) => {
            match crate::commands::diff::run(&args, &mut std::io::stdout().lock()) {
                Ok(false) => ExitCode::SUCCESS,
                Ok(true) => ExitCode::from(1),
                Err(e) => {
                    crate::commands::progress::Progress.failure(&format!("{e:#}"));
                    ExitCode::from(2)
                }
            }
        }
        Command::Install(args) => exit(crate::install::run(
            &args,
            &mut std::io::stdout().lock(),
            &mut std::io::stderr(),
        )),
        Command::Bootstrap(args) => exit(crate::bootstrap::run(&args, &mut std::io::stderr())),
    }
}

/// Exit 0 on success; otherwise print the error as flux does (`✗ ...`) and exit 1 when the
/// command ran and found a failure ([`crate::commands::Failed`]), 2 otherwise.
fn flux_exit(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            crate::commands::progress::Progress.failure(&format!("{e:#}"));
            if e.downcast_ref::<crate::commands::Failed>().is_some() {
                ExitCode::from(1)
            } else {
                ExitCode::from(2)
            }
        }
    }
}

/// Exit 0 on success; print the error and exit 2 otherwise.
fn exit(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
