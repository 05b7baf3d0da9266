//! Flux's kustomize-controller flags, parsed with clap, as [`ControllerOptions`]: what
//! `gitops controller kustomize` accepts.
//!
//! ```
//! use clap::Parser;
//! use gitops_controllers::kustomize::flags::Flags;
//! #[derive(Parser)]
//! struct Cli {
//!     #[command(flatten)]
//!     flags: Flags,
//! }
//! let cli = Cli::parse_from(["gitops", "--requeue-dependency=10s", "--no-cross-namespace-refs"]);
//! let options = cli.flags.options().unwrap();
//! assert_eq!(options.concurrent, 4);
//! assert_eq!(options.reconciler.requeue_dependency.as_secs(), 10);
//! assert!(options.reconciler.no_cross_namespace_refs);
//! ```

use std::time::Duration;

use gitops_core::schedule::parse_duration;

use super::controller::ControllerOptions;
use crate::flags::{WatchFlagError, WatchFlags};

/// The flags of `gitops controller kustomize`, with Flux's names and defaults: the
/// kustomize-controller's own and the ones it shares with the source-controller.
#[derive(Clone, Debug, clap::Args)]
pub struct Flags {
    /// The flags only the kustomize-controller has.
    #[command(flatten)]
    pub kustomize: KustomizeFlags,
    /// `--concurrent`, `--interval-jitter-percentage`, `--watch-all-namespaces`,
    /// `--watch-label-selector`.
    #[command(flatten)]
    pub watch: WatchFlags,
}

/// The flags only the kustomize-controller has (`gitops controller all` takes them beside
/// the source-controller's).
#[derive(Clone, Debug, clap::Args)]
pub struct KustomizeFlags {
    /// The interval at which a Kustomization whose dependencies are not ready is retried.
    #[arg(long, default_value = "30s")]
    pub requeue_dependency: String,
    /// Refuse sourceRef and dependsOn references to other namespaces.
    #[arg(long, default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub no_cross_namespace_refs: bool,
    /// The service account Kustomizations without `spec.serviceAccountName` are applied as,
    /// in their own namespace (multi-tenancy lockdown); unset, they are applied with the
    /// controller's identity.
    #[arg(long, value_name = "NAME")]
    pub default_service_account: Option<String>,
    /// The label selector of the ConfigMaps and Secrets whose changes reconcile the
    /// Kustomizations that reference them (`postBuild.substituteFrom`, `kubeConfig`); empty
    /// watches none.
    #[arg(long, default_value = super::controller::WATCH_CONFIGS_SELECTOR, value_name = "SELECTOR")]
    pub watch_configs_label_selector: String,
}

/// Flux's kustomize-controller `--concurrent` default.
pub const DEFAULT_CONCURRENT: u16 = 4;

/// A flag with a value the controller cannot use.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FlagError {
    /// A duration flag that is not a Go duration.
    #[error("invalid --{flag} '{value}': expected a duration such as 750ms, 1m or 1h30m")]
    Duration {
        /// The flag.
        flag: &'static str,
        /// Its value.
        value: String,
    },
    /// `--watch-all-namespaces` or `--interval-jitter-percentage`.
    #[error(transparent)]
    Watch(#[from] WatchFlagError),
}

impl Flags {
    /// The options these flags select.
    pub fn options(&self) -> Result<ControllerOptions, FlagError> {
        self.kustomize.options(&self.watch)
    }
}

impl KustomizeFlags {
    /// The options these flags select with the shared ones, `watch`.
    pub fn options(&self, watch: &WatchFlags) -> Result<ControllerOptions, FlagError> {
        let watch = watch.watch(DEFAULT_CONCURRENT)?;
        let requeue_dependency: Duration =
            parse_duration("requeue-dependency", &self.requeue_dependency).map_err(|_| {
                FlagError::Duration {
                    flag: "requeue-dependency",
                    value: self.requeue_dependency.clone(),
                }
            })?;
        let mut options = ControllerOptions {
            concurrent: watch.concurrent,
            namespace: watch.namespace,
            label_selector: watch.label_selector,
            ..Default::default()
        };
        options.reconciler.requeue_dependency = requeue_dependency;
        options.reconciler.no_cross_namespace_refs = self.no_cross_namespace_refs;
        options.watch_configs_label_selector =
            Some(self.watch_configs_label_selector.clone()).filter(|s| !s.is_empty());
        options.default_service_account = self
            .default_service_account
            .clone()
            .filter(|s| !s.is_empty());
        options.reconciler.jitter = watch.jitter;
        // Flux never prunes the namespace it runs in.
        if let Some(ns) = crate::flags::runtime_namespace()
            && !options.reconciler.protected_namespaces.contains(&ns)
        {
            options.reconciler.protected_namespaces.push(ns);
        }
        Ok(options)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        flags: Flags,
    }

    #[test]
    fn a_bad_duration_names_the_flag() {
        let cli = Cli::parse_from(["gitops", "--requeue-dependency=soon"]);
        let err = cli.flags.options().unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid --requeue-dependency 'soon': expected a duration such as 750ms, 1m or 1h30m"
        );
    }

    #[test]
    fn a_default_service_account_applies_to_kustomizations_without_one() {
        let cli = Cli::parse_from(["gitops", "--default-service-account=tenant"]);
        let options = cli.flags.options().unwrap();
        assert_eq!(options.default_service_account.as_deref(), Some("tenant"));
        let cli = Cli::parse_from(["gitops", "--default-service-account="]);
        assert_eq!(cli.flags.options().unwrap().default_service_account, None);
        let cli = Cli::parse_from(["gitops"]);
        assert_eq!(cli.flags.options().unwrap().default_service_account, None);
    }
}
