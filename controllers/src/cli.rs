//! The `gitops` command line.
//!
//! Results go to stdout, diagnostics to stderr. Exit codes: 0 success, 1 the command ran and
//! found a failure (e.g. a reconciliation that did not become ready), 2 usage or input errors.

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
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the GitRepository → Kustomization pipeline on an embedded example repository,
    /// against an in-memory cluster and Git source, and print what happens.
    Quickstart,
    /// Render a directory (or a Flux Kustomization over it) and print the objects as YAML,
    /// as `kubectl kustomize` and `flux build kustomization` do, without a cluster.
    Build(crate::build::BuildArgs),
    /// Serve the in-process test Kubernetes API server on loopback HTTP and write a
    /// kubeconfig for kubectl; runs until Ctrl-C or SIGTERM.
    Testenv(crate::testenv::Args),
}

/// Parses the arguments and runs the command.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Quickstart => match crate::quickstart::run(&mut std::io::stdout()) {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) => ExitCode::from(1),
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::from(2)
            }
        },
        Command::Build(args) => exit(crate::build::run(&args, &mut std::io::stdout().lock())),
        Command::Testenv(args) => exit(crate::testenv::run(&args, &mut std::io::stdout())),
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
