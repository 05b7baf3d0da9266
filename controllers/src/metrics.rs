//! Prometheus metrics with Flux's names, served at `GET /metrics` on `--metrics-addr`, so that
//! Flux's dashboards, alerts and `PodMonitor`s work on these controllers unchanged.
//!
//! What is recorded, and from where:
//!
//! - `gotk_reconcile_duration_seconds{kind,name,namespace}`: a histogram of each reconcile's
//!   duration, with Flux's buckets (`runtime/metrics`: 10 exponential buckets from 10ms to
//!   1800s, [`reconcile_duration_buckets`]); both the GitRepository and the Kustomization
//!   reconcile record it around each run ([`ControllerMetrics::reconcile`]).
//! - controller-runtime's `controller_runtime_reconcile_total{controller,result}` (`success`,
//!   `error`, `requeue`, `requeue_after`), `controller_runtime_reconcile_errors_total`,
//!   `controller_runtime_reconcile_time_seconds` (controller-runtime's buckets),
//!   `controller_runtime_active_workers` and `controller_runtime_max_concurrent_reconciles`,
//!   all `{controller}`: measured by the same wrapper around the reconcile, so they are
//!   exact. `controller` is the lower-case kind (`gitrepository`, `kustomization`), as
//!   controller-runtime names a controller. kube-runtime has no immediate requeue without a
//!   delay (client-go's `Requeue: true`), so `result="requeue"` stays at 0.
//! - the workqueue's `workqueue_adds_total{name}`: every object the watches hand to the
//!   controller (after Flux's predicates) plus every requeue a reconcile or an error asks for;
//!   and `workqueue_retries_total{name}`: the requeues after an error (controller-runtime's
//!   rate-limited adds). kube-runtime's scheduler merges a request for an object already
//!   queued, which client-go does not count; this counter counts it, so it can read higher
//!   than Flux's for the same traffic.
//!
//! Not exported, because kube-runtime does not let them be measured truthfully from outside
//! its scheduler: `workqueue_depth`, `workqueue_queue_duration_seconds`,
//! `workqueue_work_duration_seconds`, `workqueue_unfinished_work_seconds` and
//! `workqueue_longest_running_processor_seconds`; and client-go's `rest_client_*`. The
//! `gotk_reconcile_condition` and `gotk_suspend_status` gauges are not recorded either, as
//! Flux no longer records them (kube-state-metrics reports resource state).
//!
//! The output is OpenMetrics text (`application/openmetrics-text`, ending in `# EOF`), which
//! Prometheus scrapes as it scrapes Go's. Counters are registered without `_total`:
//! prometheus-client appends it.
//!
//! ```
//! use gitops_controllers::metrics::Metrics;
//! use kube::runtime::controller::Action;
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let metrics = Metrics::new();
//! let recorder = metrics.controller("GitRepository", 2);
//! let _: Result<Action, ()> = recorder
//!     .reconcile("flux-system", "podinfo", async { Ok(Action::await_change()) })
//!     .await;
//! let text = metrics.encode();
//! assert!(text.contains(r#"controller_runtime_reconcile_total{controller="gitrepository",result="success"} 1"#));
//! # });
//! ```

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use kube::runtime::controller::Action;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// The content type of OpenMetrics text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Flux's buckets of `gotk_reconcile_duration_seconds`: Go's
/// `prometheus.ExponentialBucketsRange(10e-3, 1800, 10)`, 10 buckets growing by the same
/// factor from 10ms to 1800s.
pub fn reconcile_duration_buckets() -> Vec<f64> {
    let (min, max, count) = (10e-3_f64, 1800.0_f64, 10);
    let factor = (max / min).powf(1.0 / f64::from(count - 1));
    (0..count).map(|i| min * factor.powi(i)).collect()
}

/// controller-runtime's buckets of `controller_runtime_reconcile_time_seconds`.
const RECONCILE_TIME_BUCKETS: [f64; 40] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9,
    1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 15.0, 20.0,
    25.0, 30.0, 40.0, 50.0, 60.0,
];

fn reconcile_duration_histogram() -> Histogram {
    Histogram::new(reconcile_duration_buckets())
}

fn reconcile_time_histogram() -> Histogram {
    Histogram::new(RECONCILE_TIME_BUCKETS)
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ObjectLabels {
    kind: String,
    name: String,
    namespace: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ControllerLabels {
    controller: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    controller: String,
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct QueueLabels {
    name: String,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

#[derive(Debug)]
struct Inner {
    registry: Registry,
    reconcile_duration: HistogramFamily<ObjectLabels>,
    reconcile_total: Family<ResultLabels, Counter>,
    reconcile_errors: Family<ControllerLabels, Counter>,
    reconcile_time: HistogramFamily<ControllerLabels>,
    active_workers: Family<ControllerLabels, Gauge>,
    max_concurrent: Family<ControllerLabels, Gauge>,
    workqueue_adds: Family<QueueLabels, Counter>,
    workqueue_retries: Family<QueueLabels, Counter>,
}

/// The process's metrics: one registry, shared by the controllers it runs (cheap to clone).
/// Two values are equal when they are the same registry.
#[derive(Clone, Debug)]
pub struct Metrics {
    inner: Arc<Inner>,
}

impl PartialEq for Metrics {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A registry with every metric registered and no samples yet.
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let reconcile_duration: HistogramFamily<ObjectLabels> =
            Family::new_with_constructor(reconcile_duration_histogram);
        registry.register(
            "gotk_reconcile_duration_seconds",
            // prometheus-client ends the help with a period.
            "The duration in seconds of a GitOps Toolkit resource reconciliation",
            reconcile_duration.clone(),
        );
        let reconcile_total = Family::<ResultLabels, Counter>::default();
        registry.register(
            // prometheus-client appends `_total` to counters.
            "controller_runtime_reconcile",
            "Total number of reconciliations per controller",
            reconcile_total.clone(),
        );
        let reconcile_errors = Family::<ControllerLabels, Counter>::default();
        registry.register(
            "controller_runtime_reconcile_errors",
            "Total number of reconciliation errors per controller",
            reconcile_errors.clone(),
        );
        let reconcile_time: HistogramFamily<ControllerLabels> =
            Family::new_with_constructor(reconcile_time_histogram);
        registry.register(
            "controller_runtime_reconcile_time_seconds",
            "Length of time per reconciliation per controller",
            reconcile_time.clone(),
        );
        let active_workers = Family::<ControllerLabels, Gauge>::default();
        registry.register(
            "controller_runtime_active_workers",
            "Number of currently used workers per controller",
            active_workers.clone(),
        );
        let max_concurrent = Family::<ControllerLabels, Gauge>::default();
        registry.register(
            "controller_runtime_max_concurrent_reconciles",
            "Maximum number of concurrent reconciles per controller",
            max_concurrent.clone(),
        );
        let workqueue_adds = Family::<QueueLabels, Counter>::default();
        registry.register(
            "workqueue_adds",
            "Total number of adds handled by workqueue",
            workqueue_adds.clone(),
        );
        let workqueue_retries = Family::<QueueLabels, Counter>::default();
        registry.register(
            "workqueue_retries",
            "Total number of retries handled by workqueue",
            workqueue_retries.clone(),
        );
        Self {
            inner: Arc::new(Inner {
                registry,
                reconcile_duration,
                reconcile_total,
                reconcile_errors,
                reconcile_time,
                active_workers,
                max_concurrent,
                workqueue_adds,
                workqueue_retries,
            }),
        }
    }

    /// The recorder of one controller, reconciling `kind` (`GitRepository`) with `concurrent`
    /// workers. Its series start at 0, as controller-runtime's do, so that a rate over them
    /// is defined before the first reconcile.
    pub fn controller(&self, kind: &'static str, concurrent: u16) -> ControllerMetrics {
        let controller = ControllerLabels {
            controller: kind.to_ascii_lowercase(),
        };
        let inner = &self.inner;
        for result in ["success", "error", "requeue", "requeue_after"] {
            inner
                .reconcile_total
                .get_or_create(&ResultLabels {
                    controller: controller.controller.clone(),
                    result,
                })
                .inc_by(0);
        }
        inner.reconcile_errors.get_or_create(&controller).inc_by(0);
        inner.active_workers.get_or_create(&controller).inc_by(0);
        inner
            .max_concurrent
            .get_or_create(&controller)
            .set(i64::from(concurrent));
        let queue = QueueLabels {
            name: controller.controller.clone(),
        };
        inner.workqueue_adds.get_or_create(&queue).inc_by(0);
        inner.workqueue_retries.get_or_create(&queue).inc_by(0);
        ControllerMetrics {
            metrics: self.clone(),
            kind,
            controller,
            queue,
        }
    }

    /// The metrics as OpenMetrics text.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail; an encoding error would leave a partial text.
        if let Err(e) = prometheus_client::encoding::text::encode(&mut text, &self.inner.registry) {
            tracing::error!(error = %e, "cannot encode the metrics");
        }
        text
    }

    /// The router of `GET /metrics`.
    pub fn router(&self) -> Router {
        let metrics = self.clone();
        Router::new().route(
            "/metrics",
            get(move || {
                let metrics = metrics.clone();
                async move { ([(header::CONTENT_TYPE, CONTENT_TYPE)], metrics.encode()).into_response() }
            }),
        )
    }
}

/// What one controller records; cheap to clone.
#[derive(Clone, Debug)]
pub struct ControllerMetrics {
    metrics: Metrics,
    kind: &'static str,
    controller: ControllerLabels,
    queue: QueueLabels,
}

/// One worker in use until dropped (a reconcile cancelled at shutdown still gives it back).
struct Worker<'a>(&'a Family<ControllerLabels, Gauge>, &'a ControllerLabels);

impl Drop for Worker<'_> {
    fn drop(&mut self) {
        self.0.get_or_create(self.1).dec();
    }
}

impl ControllerMetrics {
    /// `n` objects handed to the controller by its watches.
    pub fn added(&self, n: u64) {
        self.metrics
            .inner
            .workqueue_adds
            .get_or_create(&self.queue)
            .inc_by(n);
    }

    /// An error asked for the object to be retried (the error policy's requeue).
    pub fn retried(&self) {
        let inner = &self.metrics.inner;
        inner.workqueue_retries.get_or_create(&self.queue).inc();
        inner.workqueue_adds.get_or_create(&self.queue).inc();
    }

    /// Runs one reconcile of `namespace/name` and records its duration, its result, and the
    /// worker it holds meanwhile. A requeue the result asks for counts as an add.
    pub async fn reconcile<E>(
        &self,
        namespace: &str,
        name: &str,
        run: impl Future<Output = Result<Action, E>>,
    ) -> Result<Action, E> {
        let inner = &self.metrics.inner;
        inner.active_workers.get_or_create(&self.controller).inc();
        let worker = Worker(&inner.active_workers, &self.controller);
        let start = Instant::now();
        let result = run.await;
        let seconds = start.elapsed().as_secs_f64();
        drop(worker);
        inner
            .reconcile_duration
            .get_or_create(&ObjectLabels {
                kind: self.kind.to_string(),
                name: name.to_string(),
                namespace: namespace.to_string(),
            })
            .observe(seconds);
        inner
            .reconcile_time
            .get_or_create(&self.controller)
            .observe(seconds);
        let outcome = match &result {
            Err(_) => {
                inner.reconcile_errors.get_or_create(&self.controller).inc();
                "error"
            }
            Ok(action) if *action == Action::await_change() => "success",
            Ok(_) => {
                inner.workqueue_adds.get_or_create(&self.queue).inc();
                "requeue_after"
            }
        };
        inner
            .reconcile_total
            .get_or_create(&ResultLabels {
                controller: self.controller.controller.clone(),
                result: outcome,
            })
            .inc();
        result
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn sample<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
        text.lines()
            .find(|l| l.starts_with(prefix))
            .and_then(|l| l.rsplit(' ').next())
    }

    #[test]
    fn buckets_are_fluxs() {
        let buckets = reconcile_duration_buckets();
        assert_eq!(buckets.len(), 10);
        assert!((buckets[0] - 0.01).abs() < 1e-12);
        assert!((buckets[9] - 1800.0).abs() < 1e-9, "{}", buckets[9]);
        // One growth factor, (1800 / 0.01)^(1/9).
        let factor = buckets[1] / buckets[0];
        assert!((factor - 3.8363).abs() < 1e-3, "{factor}");
        for pair in buckets.windows(2) {
            assert!((pair[1] / pair[0] - factor).abs() < 1e-9);
        }
    }

    #[tokio::test]
    async fn names_are_fluxs_and_controller_runtimes() {
        let metrics = Metrics::new();
        let source = metrics.controller("GitRepository", 2);
        source.added(3);
        let ok: Result<Action, ()> = source
            .reconcile("flux-system", "podinfo", async {
                Ok(Action::requeue(Duration::from_secs(60)))
            })
            .await;
        assert!(ok.is_ok());
        let failed: Result<Action, &str> = source
            .reconcile("flux-system", "podinfo", async { Err("no") })
            .await;
        assert!(failed.is_err());
        source.retried();
        let text = metrics.encode();

        assert!(!text.contains("_total_total"), "{text}");
        assert!(text.ends_with("# EOF\n"), "{text}");
        assert!(
            !text.contains(".."),
            "help texts end with one period: {text}"
        );
        for family in [
            "# TYPE gotk_reconcile_duration_seconds histogram",
            "# TYPE controller_runtime_reconcile counter",
            "# TYPE controller_runtime_reconcile_errors counter",
            "# TYPE controller_runtime_reconcile_time_seconds histogram",
            "# TYPE controller_runtime_active_workers gauge",
            "# TYPE controller_runtime_max_concurrent_reconciles gauge",
            "# TYPE workqueue_adds counter",
            "# TYPE workqueue_retries counter",
        ] {
            assert!(text.contains(family), "{family} missing from\n{text}");
        }
        let key = r#"kind="GitRepository",name="podinfo",namespace="flux-system""#;
        assert_eq!(
            sample(
                &text,
                &format!("gotk_reconcile_duration_seconds_count{{{key}}}")
            ),
            Some("2")
        );
        assert_eq!(
            sample(
                &text,
                &format!("gotk_reconcile_duration_seconds_bucket{{le=\"+Inf\",{key}}}")
            ),
            Some("2")
        );
        let les = text
            .lines()
            .filter(|l| l.starts_with("gotk_reconcile_duration_seconds_bucket{"))
            .count();
        assert_eq!(les, 11, "10 buckets and +Inf");
        let c = r#"controller="gitrepository""#;
        for (series, value) in [
            (
                format!("controller_runtime_reconcile_total{{{c},result=\"requeue_after\"}}"),
                "1",
            ),
            (
                format!("controller_runtime_reconcile_total{{{c},result=\"error\"}}"),
                "1",
            ),
            (
                format!("controller_runtime_reconcile_total{{{c},result=\"success\"}}"),
                "0",
            ),
            (
                format!("controller_runtime_reconcile_total{{{c},result=\"requeue\"}}"),
                "0",
            ),
            (
                format!("controller_runtime_reconcile_errors_total{{{c}}}"),
                "1",
            ),
            (
                format!("controller_runtime_reconcile_time_seconds_count{{{c}}}"),
                "2",
            ),
            (format!("controller_runtime_active_workers{{{c}}}"), "0"),
            (
                format!("controller_runtime_max_concurrent_reconciles{{{c}}}"),
                "2",
            ),
            // 3 from the watch, 1 requeue_after, 1 retry.
            (
                "workqueue_adds_total{name=\"gitrepository\"}".to_string(),
                "5",
            ),
            (
                "workqueue_retries_total{name=\"gitrepository\"}".to_string(),
                "1",
            ),
        ] {
            assert_eq!(
                sample(&text, &format!("{series} ")),
                Some(value),
                "{series} in\n{text}"
            );
        }
    }

    #[tokio::test]
    async fn a_worker_is_counted_while_it_reconciles() {
        let metrics = Metrics::new();
        let ks = metrics.controller("Kustomization", 4);
        let (started_tx, started) = tokio::sync::oneshot::channel::<()>();
        let (finish, finished) = tokio::sync::oneshot::channel::<()>();
        let run = {
            let ks = ks.clone();
            tokio::spawn(async move {
                let _: Result<Action, ()> = ks
                    .reconcile("apps", "app", async move {
                        let _ = started_tx.send(());
                        let _ = finished.await;
                        Ok(Action::await_change())
                    })
                    .await;
            })
        };
        started.await.unwrap();
        let during = metrics.encode();
        assert!(
            during.contains("controller_runtime_active_workers{controller=\"kustomization\"} 1"),
            "{during}"
        );
        finish.send(()).unwrap();
        run.await.unwrap();
        let after = metrics.encode();
        assert!(
            after.contains("controller_runtime_active_workers{controller=\"kustomization\"} 0"),
            "{after}"
        );
        assert!(
            after.contains(
                "controller_runtime_reconcile_total{controller=\"kustomization\",result=\"success\"} 1"
            ),
            "{after}"
        );
    }
}
