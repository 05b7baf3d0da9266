//! The connection flags every command that talks to a cluster takes, as the `flux` CLI and
//! kubectl name them (kubectl's `genericclioptions.ConfigFlags`): `--kubeconfig`,
//! `--context`, `-n/--namespace` (Flux's default `flux-system`) and `-A/--all-namespaces`.
//!
//! They are flattened into each command rather than declared global on `gitops`, because
//! `gitops controller` already takes `--kubeconfig` and `--context` of its own and clap
//! refuses two arguments of one name.
//!
//! ```
//! use clap::Parser;
//! use gitops_controllers::config_flags::ConfigFlags;
//! #[derive(Parser)]
//! struct Cli {
//!     #[command(flatten)]
//!     cluster: ConfigFlags,
//! }
//! let cli = Cli::parse_from(["gitops", "-n", "apps"]);
//! assert_eq!(cli.cluster.namespace, "apps");
//! assert_eq!(cli.cluster.namespace_scope(), Some("apps"));
//! let cli = Cli::parse_from(["gitops", "-A"]);
//! assert_eq!(cli.cluster.namespace_scope(), None, "-A lists every namespace");
//! ```

use std::path::PathBuf;

/// The user agent component of the `gitops` command line (`gitops-cli/<version>`).
pub const CLI_COMPONENT: &str = "cli";

/// `--kubeconfig`, `--context`, `-n`, `-A`.
#[derive(Clone, Debug, clap::Args)]
pub struct ConfigFlags {
    /// The kubeconfig to use; when unset, `$KUBECONFIG` or `~/.kube/config`, else the
    /// in-cluster configuration of a pod.
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use instead of its current one.
    #[arg(long)]
    pub context: Option<String>,
    /// The namespace scope of the command.
    #[arg(short = 'n', long, default_value = "flux-system")]
    pub namespace: String,
    /// Act on every namespace (the commands that list).
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
}

impl ConfigFlags {
    /// The namespace to list in, `None` under `-A`.
    pub fn namespace_scope(&self) -> Option<&str> {
        (!self.all_namespaces).then_some(self.namespace.as_str())
    }

    /// A client for the chosen cluster with the user agent `gitops-cli/<version>`.
    pub async fn client(&self) -> anyhow::Result<kube::Client> {
        crate::controller::client(
            self.kubeconfig.as_ref(),
            self.context.as_deref(),
            CLI_COMPONENT,
        )
        .await
    }
}
