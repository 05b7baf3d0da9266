//! Flux's source-controller flags, parsed with clap, as [`StorageOptions`] and
//! [`ControllerOptions`]: what `gitops controller source` accepts.
//!
//! ```
//! use clap::Parser;
//! use gitops_controllers::source::flags::Flags;
//! #[derive(Parser)]
//! struct Cli {
//!     #[command(flatten)]
//!     flags: Flags,
//! }
//! let cli = Cli::parse_from(["gitops", "--storage-path=/tmp/data", "--storage-addr=:9090"]);
//! let (storage, controller) = cli.flags.options().unwrap();
//! // Flux advertises `localhost:<port>` for an address without a host.
//! assert_eq!(storage.adv_addr.as_deref(), Some("localhost:9090"));
//! assert_eq!(storage.retention_records, 2);
//! assert_eq!(controller.concurrent, 2);
//! ```

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use gitops_core::schedule::parse_duration;

use super::controller::ControllerOptions;
use super::storage::{StorageOptions, advertised_addr};
use crate::flags::{WatchFlagError, WatchFlags};

/// The flags of `gitops controller source`, with Flux's names and defaults: the
/// source-controller's own and the ones it shares with the kustomize-controller.
#[derive(Clone, Debug, clap::Args)]
pub struct Flags {
    /// The flags only the source-controller has.
    #[command(flatten)]
    pub source: SourceFlags,
    /// `--concurrent`, `--interval-jitter-percentage`, `--watch-all-namespaces`,
    /// `--watch-label-selector`.
    #[command(flatten)]
    pub watch: WatchFlags,
}

/// The flags only the source-controller has (`gitops controller all` takes them beside the
/// kustomize-controller's).
#[derive(Clone, Debug, clap::Args)]
pub struct SourceFlags {
    /// The local storage path.
    #[arg(long, default_value = "/data")]
    pub storage_path: PathBuf,
    /// The address the static file server binds to, `[host]:port`.
    #[arg(long, default_value = ":9090")]
    pub storage_addr: String,
    /// The advertised address of the static file server; derived from --storage-addr when
    /// empty (no host: `localhost`; `0.0.0.0`: this host's name).
    #[arg(long, default_value = "")]
    pub storage_adv_addr: String,
    /// The duration of time that artifacts from previous reconciliations are kept.
    #[arg(long, default_value = "1m")]
    pub artifact_retention_ttl: String,
    /// The maximum number of artifacts kept per object.
    #[arg(long, default_value_t = 2)]
    pub artifact_retention_records: usize,
    /// The minimum delay before retrying a failed reconcile.
    #[arg(long, default_value = "750ms")]
    pub min_retry_delay: String,
    /// The maximum delay before retrying a failed reconcile.
    #[arg(long, default_value = "15m")]
    pub max_retry_delay: String,
}

/// Flux's source-controller `--concurrent` default.
pub const DEFAULT_CONCURRENT: u16 = 2;

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
    /// `--storage-addr` is not `[host]:port` with an IP host.
    #[error("invalid --storage-addr '{0}': expected [ip]:port, such as :9090 or 127.0.0.1:9090")]
    Address(String),
    /// `--watch-all-namespaces` or `--interval-jitter-percentage`.
    #[error(transparent)]
    Watch(#[from] WatchFlagError),
}

fn duration(flag: &'static str, value: &str) -> Result<Duration, FlagError> {
    parse_duration(flag, value).map_err(|_| FlagError::Duration {
        flag,
        value: value.into(),
    })
}

impl Flags {
    /// The options these flags select.
    pub fn options(&self) -> Result<(StorageOptions, ControllerOptions), FlagError> {
        self.source.options(&self.watch)
    }
}

impl SourceFlags {
    /// The options these flags select with the shared ones, `watch`.
    pub fn options(
        &self,
        watch: &WatchFlags,
    ) -> Result<(StorageOptions, ControllerOptions), FlagError> {
        let (addr, adv_default) = storage_addr(&self.storage_addr)?;
        let adv_addr = if self.storage_adv_addr.is_empty() {
            adv_default
        } else {
            self.storage_adv_addr.clone()
        };
        let watch = watch.watch(DEFAULT_CONCURRENT)?;
        let storage = StorageOptions {
            path: self.storage_path.clone(),
            addr,
            adv_addr: Some(adv_addr),
            retention_ttl: duration("artifact-retention-ttl", &self.artifact_retention_ttl)?,
            retention_records: self.artifact_retention_records,
        };
        let controller = ControllerOptions {
            concurrent: watch.concurrent,
            namespace: watch.namespace,
            label_selector: watch.label_selector,
            jitter: watch.jitter,
            min_retry_delay: duration("min-retry-delay", &self.min_retry_delay)?,
            max_retry_delay: duration("max-retry-delay", &self.max_retry_delay)?,
            ..ControllerOptions::default()
        };
        Ok((storage, controller))
    }
}

/// Go's `[host]:port` as an address to bind, and the address Flux advertises for it.
fn storage_addr(value: &str) -> Result<(SocketAddr, String), FlagError> {
    let bad = || FlagError::Address(value.into());
    let (host, port) = value.rsplit_once(':').ok_or_else(bad)?;
    let port: u16 = port.parse().map_err(|_| bad())?;
    if host.is_empty() {
        let addr = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port);
        return Ok((addr, format!("localhost:{port}")));
    }
    let ip: IpAddr = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .map_err(|_| bad())?;
    let addr = SocketAddr::new(ip, port);
    Ok((addr, advertised_addr(addr)))
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

    fn parse(args: &[&str]) -> Result<(StorageOptions, ControllerOptions), FlagError> {
        let mut all = vec!["gitops"];
        all.extend_from_slice(args);
        Cli::parse_from(all).flags.options()
    }

    #[test]
    fn defaults_are_fluxs() {
        let (s, c) = parse(&[]).unwrap();
        assert_eq!(s.path, PathBuf::from("/data"));
        assert_eq!(s.addr, "0.0.0.0:9090".parse().unwrap());
        assert_eq!(s.adv_addr.as_deref(), Some("localhost:9090"));
        assert_eq!(s.retention_ttl, Duration::from_secs(60));
        assert_eq!(s.retention_records, 2);
        assert_eq!(c.concurrent, 2);
        assert_eq!(c.namespace, None);
        assert_eq!(c.min_retry_delay, Duration::from_millis(750));
        assert_eq!(c.max_retry_delay, Duration::from_secs(900));
        assert!((c.jitter - 0.05).abs() < 1e-9);
    }

    #[test]
    fn flags_select_the_options() {
        let (s, c) = parse(&[
            "--storage-addr=127.0.0.1:9191",
            "--storage-adv-addr=source-controller.flux-system.svc.cluster.local.",
            "--artifact-retention-ttl=2m30s",
            "--artifact-retention-records=5",
            "--concurrent=10",
            "--watch-label-selector=sharding.fluxcd.io/key=shard1",
        ])
        .unwrap();
        assert_eq!(s.addr, "127.0.0.1:9191".parse().unwrap());
        assert_eq!(
            s.adv_addr.as_deref(),
            Some("source-controller.flux-system.svc.cluster.local.")
        );
        assert_eq!(s.retention_ttl, Duration::from_secs(150));
        assert_eq!(s.retention_records, 5);
        assert_eq!(c.concurrent, 10);
        assert_eq!(
            c.label_selector.as_deref(),
            Some("sharding.fluxcd.io/key=shard1")
        );
        let (s, _) = parse(&["--storage-addr=127.0.0.1:9191"]).unwrap();
        assert_eq!(s.adv_addr.as_deref(), Some("127.0.0.1:9191"));
    }

    #[test]
    fn bad_values_name_the_flag() {
        let e = parse(&["--artifact-retention-ttl=soon"]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid --artifact-retention-ttl 'soon': expected a duration such as 750ms, 1m or 1h30m"
        );
        let e = parse(&["--storage-addr=somewhere"]).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("invalid --storage-addr 'somewhere'")
        );
    }
}
