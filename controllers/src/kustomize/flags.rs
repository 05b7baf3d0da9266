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

/// The flags, with Flux's names and defaults.
#[derive(Clone, Debug, clap::Args)]
pub struct Flags {
    /// The number of concurrent reconciles.
    #[arg(long, default_value_t = 4)]
    pub concurrent: u16,
    /// The interval at which a Kustomization whose dependencies are not ready is retried.
    #[arg(long, default_value = "30s")]
    pub requeue_dependency: String,
    /// Refuse sourceRef and dependsOn references to other namespaces.
    #[arg(long, default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub no_cross_namespace_refs: bool,
    /// The percentage of the interval by which requeues are jittered.
    #[arg(long, default_value_t = 5)]
    pub interval_jitter_percentage: u8,
    /// Watch custom resources in all namespaces; when false, only the namespace the
    /// controller runs in (`RUNTIME_NAMESPACE`).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub watch_all_namespaces: bool,
    /// Only reconcile objects matching this label selector (sharding).
    #[arg(long)]
    pub watch_label_selector: Option<String>,
}

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
    /// `--watch-all-namespaces=false` outside a pod.
    #[error("--watch-all-namespaces=false needs RUNTIME_NAMESPACE to name the namespace to watch")]
    Namespace,
    /// `--interval-jitter-percentage` of 100 or more.
    #[error("invalid --interval-jitter-percentage {0}: expected 0 to 99")]
    Jitter(u8),
}

impl Flags {
    /// The options these flags select.
    pub fn options(&self) -> Result<ControllerOptions, FlagError> {
        if self.interval_jitter_percentage >= 100 {
            return Err(FlagError::Jitter(self.interval_jitter_percentage));
        }
        let requeue_dependency: Duration =
            parse_duration("requeue-dependency", &self.requeue_dependency).map_err(|_| {
                FlagError::Duration {
                    flag: "requeue-dependency",
                    value: self.requeue_dependency.clone(),
                }
            })?;
        let namespace = if self.watch_all_namespaces {
            None
        } else {
            Some(
                std::env::var("RUNTIME_NAMESPACE")
                    .ok()
                    .filter(|n| !n.is_empty())
                    .ok_or(FlagError::Namespace)?,
            )
        };
        let mut options = ControllerOptions {
            concurrent: self.concurrent.max(1),
            namespace,
            label_selector: self.watch_label_selector.clone(),
            ..Default::default()
        };
        options.reconciler.requeue_dependency = requeue_dependency;
        options.reconciler.no_cross_namespace_refs = self.no_cross_namespace_refs;
        options.reconciler.jitter = f64::from(self.interval_jitter_percentage) / 100.0;
        // Flux never prunes the namespace it runs in.
        if let Ok(ns) = std::env::var("RUNTIME_NAMESPACE")
            && !ns.is_empty()
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
}
