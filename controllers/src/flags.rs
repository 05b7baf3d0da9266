//! The flags the controllers share, parsed with clap: [`WatchFlags`] (what to watch and how
//! many at a time, which source-controller and kustomize-controller both take under the same
//! names) and [`ManagerFlags`] (what controller-runtime's manager owns in Flux: the metrics
//! and health servers and leader election).
//!
//! They are their own structs so that `gitops controller all`, which runs both controllers in
//! one process, takes each of them once: clap refuses two arguments of one name.
//!
//! ```
//! use clap::Parser;
//! use gitops_controllers::flags::{ManagerFlags, WatchFlags};
//! #[derive(Parser)]
//! struct Cli {
//!     #[command(flatten)]
//!     watch: WatchFlags,
//!     #[command(flatten)]
//!     manager: ManagerFlags,
//! }
//! let cli = Cli::parse_from(["gitops", "--metrics-addr=0", "--enable-leader-election"]);
//! // Each controller's own default when --concurrent is not given.
//! assert_eq!(cli.watch.watch(4).unwrap().concurrent, 4);
//! let manager = cli.manager.options().unwrap();
//! assert_eq!(manager.metrics_addr, None, "0 disables the metrics server");
//! assert_eq!(manager.health_addr, Some("0.0.0.0:9440".parse().unwrap()));
//! assert!(manager.leader_election);
//! ```

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// What a controller watches and how many objects it reconciles at once, with Flux's names
/// and defaults.
#[derive(Clone, Debug, clap::Args)]
pub struct WatchFlags {
    /// The number of concurrent reconciles (source-controller: 2, kustomize-controller: 4;
    /// under `gitops controller all`, each controller's).
    #[arg(long)]
    pub concurrent: Option<u16>,
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

/// The settings [`WatchFlags`] select.
#[derive(Clone, Debug, PartialEq)]
pub struct Watch {
    /// Reconciles at the same time, at least 1.
    pub concurrent: u16,
    /// The namespace watched; `None` for all.
    pub namespace: Option<String>,
    /// The label selector of the watched objects.
    pub label_selector: Option<String>,
    /// `--interval-jitter-percentage` as a fraction.
    pub jitter: f64,
}

/// A [`WatchFlags`] value the controllers cannot use.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WatchFlagError {
    /// `--watch-all-namespaces=false` outside a pod.
    #[error("--watch-all-namespaces=false needs RUNTIME_NAMESPACE to name the namespace to watch")]
    Namespace,
    /// `--interval-jitter-percentage` of 100 or more.
    #[error("invalid --interval-jitter-percentage {0}: expected 0 to 99")]
    Jitter(u8),
}

impl WatchFlags {
    /// The settings, with `default_concurrent` when `--concurrent` is not given.
    pub fn watch(&self, default_concurrent: u16) -> Result<Watch, WatchFlagError> {
        if self.interval_jitter_percentage >= 100 {
            return Err(WatchFlagError::Jitter(self.interval_jitter_percentage));
        }
        let namespace = if self.watch_all_namespaces {
            None
        } else {
            Some(runtime_namespace().ok_or(WatchFlagError::Namespace)?)
        };
        Ok(Watch {
            concurrent: self.concurrent.unwrap_or(default_concurrent).max(1),
            namespace,
            label_selector: self.watch_label_selector.clone(),
            jitter: f64::from(self.interval_jitter_percentage) / 100.0,
        })
    }
}

/// `RUNTIME_NAMESPACE`, the namespace Flux's Deployments tell the controller it runs in.
pub(crate) fn runtime_namespace() -> Option<String> {
    std::env::var("RUNTIME_NAMESPACE")
        .ok()
        .filter(|n| !n.is_empty())
}

/// The flags of what controller-runtime's manager runs beside the controllers in Flux, with
/// Flux's names and defaults.
#[derive(Clone, Debug, clap::Args)]
pub struct ManagerFlags {
    /// The address the metric endpoint binds to, `[host]:port`; `0` disables it.
    #[arg(long, default_value = ":8080")]
    pub metrics_addr: String,
    /// The address the health endpoint (`/healthz`, `/readyz`) binds to, `[host]:port`; `0`
    /// disables it.
    #[arg(long, default_value = ":9440")]
    pub health_addr: String,
    /// Run the controllers only while holding their Lease, so that one replica of each is
    /// active.
    #[arg(long, default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1,
          default_missing_value = "true")]
    pub enable_leader_election: bool,
    /// The namespace of the leader election Lease; default `RUNTIME_NAMESPACE`, else the
    /// pod's namespace, else `flux-system`.
    #[arg(long)]
    pub leader_election_namespace: Option<String>,
    /// The average number of requests per second to the API server.
    #[arg(long, default_value_t = 50.0)]
    pub kube_api_qps: f64,
    /// The most requests sent to the API server at once, above `--kube-api-qps`.
    #[arg(long, default_value_t = 300)]
    pub kube_api_burst: u32,
}

/// The settings [`ManagerFlags`] select.
#[derive(Clone, Debug, PartialEq)]
pub struct Manager {
    /// Where `/metrics` is served; `None`: not served.
    pub metrics_addr: Option<SocketAddr>,
    /// Where `/healthz` and `/readyz` are served; `None`: not served.
    pub health_addr: Option<SocketAddr>,
    /// `--enable-leader-election`.
    pub leader_election: bool,
    /// The namespace of the Lease.
    pub leader_election_namespace: String,
    /// `--kube-api-qps`, at least a thousandth.
    pub kube_api_qps: f64,
    /// `--kube-api-burst`, at least 1.
    pub kube_api_burst: u32,
}

/// An address flag that is not `[ip]:port`.
#[derive(Debug, thiserror::Error)]
#[error(
    "invalid --{flag} '{value}': expected [ip]:port, such as :8080 or 127.0.0.1:8080, or 0 to disable"
)]
pub struct AddressError {
    /// The flag.
    pub flag: &'static str,
    /// Its value.
    pub value: String,
}

impl ManagerFlags {
    /// The settings these flags select.
    pub fn options(&self) -> Result<Manager, AddressError> {
        Ok(Manager {
            metrics_addr: bind_addr("metrics-addr", &self.metrics_addr)?,
            health_addr: bind_addr("health-addr", &self.health_addr)?,
            leader_election: self.enable_leader_election,
            kube_api_qps: self.kube_api_qps.max(0.001),
            kube_api_burst: self.kube_api_burst.max(1),
            leader_election_namespace: crate::leader::namespace(
                self.leader_election_namespace.as_deref(),
            ),
        })
    }
}

/// Go's `[host]:port` as an address to bind; `0` or empty: none (controller-runtime's way to
/// disable a server).
pub fn bind_addr(flag: &'static str, value: &str) -> Result<Option<SocketAddr>, AddressError> {
    if value.is_empty() || value == "0" {
        return Ok(None);
    }
    let bad = || AddressError {
        flag,
        value: value.into(),
    };
    let (host, port) = value.rsplit_once(':').ok_or_else(bad)?;
    let port: u16 = port.parse().map_err(|_| bad())?;
    let ip: IpAddr = if host.is_empty() {
        IpAddr::V4(Ipv4Addr::UNSPECIFIED)
    } else {
        host.trim_start_matches('[')
            .trim_end_matches(']')
            .parse()
            .map_err(|_| bad())?
    };
    Ok(Some(SocketAddr::new(ip, port)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_gos_and_zero_disables() {
        assert_eq!(
            bind_addr("metrics-addr", ":8080").unwrap(),
            Some("0.0.0.0:8080".parse().unwrap())
        );
        assert_eq!(
            bind_addr("metrics-addr", "[::1]:9440").unwrap(),
            Some("[::1]:9440".parse().unwrap())
        );
        assert_eq!(bind_addr("metrics-addr", "0").unwrap(), None);
        assert_eq!(bind_addr("metrics-addr", "").unwrap(), None);
        let e = bind_addr("health-addr", "localhost").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("invalid --health-addr 'localhost'"),
            "{e}"
        );
    }

    #[derive(clap::Parser)]
    struct Cli {
        #[command(flatten)]
        manager: ManagerFlags,
    }

    #[test]
    fn the_client_rate_limit_defaults_to_fluxs() {
        use clap::Parser as _;
        let manager = Cli::parse_from(["gitops"]).manager.options().unwrap();
        assert_eq!((manager.kube_api_qps, manager.kube_api_burst), (50.0, 300));
        let manager = Cli::parse_from(["gitops", "--kube-api-qps=500", "--kube-api-burst=1000"])
            .manager
            .options()
            .unwrap();
        assert_eq!(
            (manager.kube_api_qps, manager.kube_api_burst),
            (500.0, 1000)
        );
    }
}
