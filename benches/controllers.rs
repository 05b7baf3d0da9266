//! Controllers benchmark: the time and memory `gitops controller all` takes to bring 1,000
//! Kustomizations of the flux-benchmark shape to `Ready`, against one bulk client applying the
//! same objects, in one run: `cargo bench --bench controllers`.
//!
//! Why: Flux publishes this figure (fluxcd/flux-benchmark, `RESULTS.md`: 1,000 Kustomizations
//! in 4m13s with a 223 MiB kustomize-controller, Flux v2.9.0), and the controllers' overhead
//! over the apply itself (source fetch, one artifact download and build per Kustomization,
//! status writes) is what the ratio isolates.
//!
//! Everything runs on 127.0.0.1, each server as its own process where the product runs as one:
//!
//! 1. a bare Git repository served over smart HTTP (`GitHttp`, in this process) gets one
//!    commit (`gitops_git::push::push`) with `apps/app-NNNN/app.yaml` for every app: a
//!    ServiceAccount, a Service, a Deployment with 0 replicas and an Ingress
//!    (`networking.k8s.io/v1`), with no `kustomization.yaml` (the controller generates one,
//!    as for flux-benchmark's artifacts);
//! 2. `gitops testenv` (a process) gets the CRDs, the shared namespace `kustomize-benchmark`,
//!    one GitRepository and one Kustomization per app, all in that namespace as in
//!    flux-benchmark (`path: ./apps/app-NNNN`, `targetNamespace: kustomize-benchmark`,
//!    `prune: true`, interval 60m, retry interval 2m, timeout 1m). flux-benchmark sets
//!    `wait: true`; here `wait: false`, because `gitops testenv` runs no deployment
//!    controller to report the Deployments' status (on a cluster a 0-replica Deployment is
//!    ready as soon as it is observed);
//! 3. `gitops controller all --concurrent 20` (flux-benchmark's kustomize-controller
//!    concurrency, in the 10..20 Flux's docs suggest at scale) starts as a process; the clock
//!    runs from its spawn until one LIST of the Kustomizations (every 200 ms) finds all of them
//!    `Ready=True` with `Applied revision: main@sha1:<HEAD>`. Its peak resident set (`VmHWM`)
//!    and CPU time are read from `/proc` just before it is stopped;
//! 4. the bulk client: the same 4,000 objects applied by the apply engine in this process
//!    (`ResourceManager::apply_all_staged`, one set, prune on, the engine's default 8 requests
//!    in flight: what one Kustomization of all apps would cost, dry-run pass included) against
//!    a fresh `gitops testenv` process; and, for the floor, a plain server-side apply of each
//!    object (16 in flight, no dry-run, no reads) against another fresh one.
//!
//! `CONTROLLERS_BENCH_N` changes the number of apps (default 1,000), `CONTROLLERS_BENCH_CONCURRENT`
//! the `--concurrent` flag (default 20), `CONTROLLERS_BENCH_QPS` and `CONTROLLERS_BENCH_BURST`
//! the client rate limit (`--kube-api-qps`, `--kube-api-burst`; default Flux's 50 and 300,
//! which flux-benchmark keeps), `CONTROLLERS_BENCH_TIMEOUT` the seconds to wait for
//! the Kustomizations (default 1,200). Every process is killed and every temporary directory
//! removed at the end, on failure too. Nothing is asserted about wall-clock time.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use futures::StreamExt as _;
use gitops::apply::{ApplyOptions, ResourceManager};
use gitops::controllers::quickstart::git_http::GitHttp;
use gitops::core::plan::Owner;
use gitops::core::{Inventory, Manifest};
use gitops::git::Auth;
use gitops::git::push::{Commit, PushOptions};
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::{Value, json};

/// The namespace of every Kustomization, the GitRepository and the applied objects, as
/// flux-benchmark's `kustomize-benchmark`.
const NS: &str = "kustomize-benchmark";

/// Flux's published figures for 1,000 Kustomizations (fluxcd/flux-benchmark `RESULTS.md`,
/// Flux v2.9.0; also in FLUX.md).
const FLUX_TIME: &str = "4m13s";
const FLUX_RSS_MIB: f64 = 223.0;
/// The targets of the issue.
const TARGET_RATIO: f64 = 1.3;
const TARGET_RSS_MIB: f64 = 40.0;

/// A child process, killed and reaped when dropped (on success, error or panic).
struct Process {
    name: &'static str,
    child: Child,
}

impl Process {
    fn spawn(name: &'static str, command: &mut Command) -> anyhow::Result<Self> {
        let child = command
            .spawn()
            .with_context(|| format!("cannot start {name}"))?;
        Ok(Self { name, child })
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Fails when the process has exited.
    fn check_running(&mut self, log: &Path) -> anyhow::Result<()> {
        if let Some(status) = self.child.try_wait()? {
            bail!("{} exited ({status}); its log:\n{}", self.name, tail(log));
        }
        Ok(())
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

/// The last lines of a log file, for error messages.
fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

/// `gitops testenv` as a process, with its kubeconfig.
struct Testenv {
    process: Process,
    kubeconfig: PathBuf,
}

impl Testenv {
    /// Starts `gitops testenv` and waits for the kubeconfig it writes (atomically) once it
    /// listens.
    fn start(dir: &Path, name: &str) -> anyhow::Result<Self> {
        let kubeconfig = dir.join(format!("{name}.kubeconfig"));
        let log = dir.join(format!("{name}.log"));
        let mut process = Process::spawn(
            "gitops testenv",
            Command::new(env!("CARGO_BIN_EXE_gitops"))
                .arg("testenv")
                .arg("--kubeconfig")
                .arg(&kubeconfig)
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(&log)?),
        )?;
        let deadline = Instant::now() + Duration::from_secs(60);
        while !kubeconfig.exists() {
            process.check_running(&log)?;
            if Instant::now() > deadline {
                bail!("gitops testenv wrote no kubeconfig in 60s");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(Self {
            process,
            kubeconfig,
        })
    }

    async fn client(&self) -> anyhow::Result<kube::Client> {
        let text = std::fs::read_to_string(&self.kubeconfig)?;
        Ok(gitops::apply::client::from_kubeconfig(&text, "the testenv kubeconfig").await?)
    }
}

/// The YAML of app `i`: the four objects of flux-benchmark's app (ServiceAccount, Service,
/// Deployment scaled to zero, Ingress), with `namespace` set when given.
fn app(i: usize, namespace: Option<&str>) -> String {
    let name = format!("app-{i:04}");
    let ns = namespace
        .map(|n| format!("\n  namespace: {n}"))
        .unwrap_or_default();
    format!(
        r##"apiVersion: v1
kind: ServiceAccount
metadata:
  name: {name}{ns}
  labels:
    app.kubernetes.io/name: {name}
    app.kubernetes.io/version: "6.5.3"
---
apiVersion: v1
kind: Service
metadata:
  name: {name}{ns}
  labels:
    app.kubernetes.io/name: {name}
    app.kubernetes.io/version: "6.5.3"
spec:
  type: ClusterIP
  selector:
    app.kubernetes.io/name: {name}
  ports:
  - name: http
    port: 9898
    protocol: TCP
    targetPort: http
  - name: grpc
    port: 9999
    protocol: TCP
    targetPort: grpc
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}{ns}
  labels:
    app.kubernetes.io/name: {name}
    app.kubernetes.io/version: "6.5.3"
spec:
  replicas: 0
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxUnavailable: 1
  selector:
    matchLabels:
      app.kubernetes.io/name: {name}
  template:
    metadata:
      labels:
        app.kubernetes.io/name: {name}
      annotations:
        prometheus.io/scrape: "true"
        prometheus.io/port: "9898"
    spec:
      serviceAccountName: {name}
      terminationGracePeriodSeconds: 30
      containers:
      - name: app
        image: ghcr.io/stefanprodan/podinfo:6.5.3
        imagePullPolicy: IfNotPresent
        command: [./podinfo, --port=9898, --port-metrics=9797, --grpc-port=9999, --level=info]
        env:
        - name: PODINFO_UI_COLOR
          value: "#34577c"
        ports:
        - name: http
          containerPort: 9898
          protocol: TCP
        - name: http-metrics
          containerPort: 9797
          protocol: TCP
        - name: grpc
          containerPort: 9999
          protocol: TCP
        livenessProbe:
          httpGet:
            path: /healthz
            port: 9898
          initialDelaySeconds: 1
          periodSeconds: 10
        readinessProbe:
          httpGet:
            path: /readyz
            port: 9898
          initialDelaySeconds: 1
          periodSeconds: 10
        resources:
          requests:
            cpu: 1m
            memory: 16Mi
        volumeMounts:
        - name: data
          mountPath: /data
      volumes:
      - name: data
        emptyDir: {{}}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: {name}{ns}
  labels:
    app.kubernetes.io/name: {name}
    app.kubernetes.io/version: "6.5.3"
spec:
  ingressClassName: nginx
  rules:
  - host: {name}.local
    http:
      paths:
      - path: /
        pathType: ImplementationSpecific
        backend:
          service:
            name: {name}
            port:
              number: 9898
"##
    )
}

fn flux_api(group: &str, kind: &str) -> ApiResource {
    ApiResource::from_gvk(&GroupVersionKind::gvk(group, "v1", kind))
}

fn kustomizations_api() -> ApiResource {
    flux_api("kustomize.toolkit.fluxcd.io", "Kustomization")
}

/// The Ready condition of a Flux object as (status, message).
fn ready_of(object: &DynamicObject) -> Option<(&str, &str)> {
    let ready = object.data["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == "Ready")?;
    Some((ready["status"].as_str()?, ready["message"].as_str()?))
}

/// Creates a namespace.
async fn namespace(client: &kube::Client) -> anyhow::Result<()> {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": NS}}))?;
    namespaces
        .create(&PostParams::default(), &ns)
        .await
        .context("cannot create the namespace")?;
    Ok(())
}

/// The CRDs, the namespace, the GitRepository and the Kustomizations.
async fn install(client: &kube::Client, url: &str, n: usize) -> anyhow::Result<()> {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in gitops::controllers::api::crd::crds()? {
        crds.create(&PostParams::default(), &crd)
            .await
            .context("cannot create a CRD")?;
    }
    namespace(client).await?;
    let repo: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "GitRepository",
        "metadata": {"name": "fleet", "namespace": NS},
        "spec": {"url": url, "interval": "60m", "ref": {"branch": "main"}},
    }))?;
    let repos: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        NS,
        &flux_api("source.toolkit.fluxcd.io", "GitRepository"),
    );
    // The CRDs are served once the server has read them; retry briefly.
    let deadline = Instant::now() + Duration::from_secs(30);
    while let Err(e) = repos.create(&PostParams::default(), &repo).await {
        if Instant::now() > deadline {
            bail!("cannot create the GitRepository: {e}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let kustomizations: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), NS, &kustomizations_api());
    let results: Vec<anyhow::Result<()>> = futures::stream::iter(0..n)
        .map(|i| {
            let api = kustomizations.clone();
            async move {
                let ks: DynamicObject = serde_json::from_value(json!({
                    "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
                    "kind": "Kustomization",
                    "metadata": {"name": format!("app-{i:04}"), "namespace": NS},
                    "spec": {
                        "interval": "60m",
                        "retryInterval": "2m",
                        "timeout": "1m",
                        "path": format!("./apps/app-{i:04}"),
                        "prune": true,
                        "wait": false,
                        "targetNamespace": NS,
                        "sourceRef": {"kind": "GitRepository", "name": "fleet"},
                    },
                }))?;
                api.create(&PostParams::default(), &ks)
                    .await
                    .with_context(|| format!("cannot create Kustomization app-{i:04}"))?;
                Ok(())
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    results.into_iter().collect()
}

/// A free port on 127.0.0.1 (closed again, so that the controller can bind it).
fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// A field of `/proc/<pid>/status` in KiB (`VmHWM`, `VmRSS`).
fn status_kib(pid: u32, field: &str) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .with_context(|| format!("no {field} in /proc/{pid}/status"))
}

/// User plus system CPU time of a process, from `/proc/<pid>/stat` (in clock ticks of
/// 1/100 s, Linux's `USER_HZ`).
fn cpu_time(pid: u32) -> anyhow::Result<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, r)| r)
        .context("malformed /proc/<pid>/stat")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of stat(5); `rest` starts at field 3.
    let ticks = |i: usize| -> anyhow::Result<u64> {
        Ok(fields
            .get(i - 3)
            .context("short /proc/<pid>/stat")?
            .parse()?)
    };
    Ok(Duration::from_millis((ticks(14)? + ticks(15)?) * 10))
}

/// The 1, 5 and 15 minute load averages, from /proc/loadavg.
fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

/// `GET path` over plain HTTP/1.0; the body.
fn http_get(port: u16, path: &str) -> anyhow::Result<String> {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    Ok(answer
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_string())
        .unwrap_or(answer))
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn minutes(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s >= 60.0 {
        format!("{}m{:04.1}s", (s / 60.0).floor(), s % 60.0)
    } else {
        format!("{s:.1}s")
    }
}

/// What the controller run measured.
struct ControllerRun {
    source_ready: Duration,
    first_ready: Duration,
    all_ready: Duration,
    polls: u32,
    poll_time: Duration,
    peak_rss_kib: u64,
    cpu: Duration,
    testenv_cpu: Duration,
    testenv_peak_rss_kib: u64,
    metrics: String,
}

async fn controller_run(
    dir: &Path,
    url: &str,
    revision: &str,
    n: usize,
    concurrent: u64,
    limit: (u64, u64),
    timeout: Duration,
) -> anyhow::Result<ControllerRun> {
    let testenv = Testenv::start(dir, "testenv-controllers")?;
    let client = testenv.client().await?;
    install(&client, url, n).await?;
    println!("installed the CRDs, the GitRepository and {n} Kustomizations");
    let testenv_cpu_before = cpu_time(testenv.process.pid())?;

    let storage_port = free_port()?;
    let metrics_port = free_port()?;
    let log = dir.join("controller.log");
    let start = Instant::now();
    let mut controller = Process::spawn(
        "gitops controller all",
        Command::new(env!("CARGO_BIN_EXE_gitops"))
            .args(["controller", "all", "--kubeconfig"])
            .arg(&testenv.kubeconfig)
            .arg("--storage-path")
            .arg(dir.join("storage"))
            .arg(format!("--storage-addr=127.0.0.1:{storage_port}"))
            .arg(format!("--metrics-addr=127.0.0.1:{metrics_port}"))
            .arg("--health-addr=0")
            .arg(format!("--concurrent={concurrent}"))
            .arg(format!("--kube-api-qps={}", limit.0))
            .arg(format!("--kube-api-burst={}", limit.1))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log)?),
    )?;

    let kustomizations: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), NS, &kustomizations_api());
    let repos: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        NS,
        &flux_api("source.toolkit.fluxcd.io", "GitRepository"),
    );
    let expected = format!("Applied revision: {revision}");
    let (mut source_ready, mut first_ready) = (None, None);
    let (mut polls, mut poll_time) = (0u32, Duration::ZERO);
    let mut last_report = Instant::now();
    let all_ready = loop {
        controller.check_running(&log)?;
        if start.elapsed() > timeout {
            bail!(
                "not all Kustomizations ready after {timeout:?}; the controller's log:\n{}",
                tail(&log)
            );
        }
        let listed = Instant::now();
        let list = kustomizations
            .list(&ListParams::default())
            .await
            .context("cannot list the Kustomizations")?;
        poll_time += listed.elapsed();
        polls += 1;
        let ready = list
            .items
            .iter()
            .filter(|ks| ready_of(ks) == Some(("True", expected.as_str())))
            .count();
        if ready > 0 && first_ready.is_none() {
            first_ready = Some(start.elapsed());
        }
        if source_ready.is_none() {
            let repo = repos
                .get("fleet")
                .await
                .context("cannot read the GitRepository")?;
            if ready_of(&repo).is_some_and(|(status, _)| status == "True") {
                source_ready = Some(start.elapsed());
            }
        }
        if ready == n {
            break start.elapsed();
        }
        if last_report.elapsed() > Duration::from_secs(15) {
            println!(
                "  {:>6.1}s: {ready}/{n} ready (load average {})",
                start.elapsed().as_secs_f64(),
                load()
            );
            last_report = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };

    // Read before stopping it.
    let peak_rss_kib = status_kib(controller.pid(), "VmHWM")?;
    let cpu = cpu_time(controller.pid())?;
    let metrics = http_get(metrics_port, "/metrics").unwrap_or_else(|e| format!("({e})"));
    let testenv_cpu = cpu_time(testenv.process.pid())? - testenv_cpu_before;
    let testenv_peak_rss_kib = status_kib(testenv.process.pid(), "VmHWM")?;

    // Everything was applied.
    let deployments: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        NS,
        &ApiResource::from_gvk(&GroupVersionKind::gvk("apps", "v1", "Deployment")),
    );
    let count = deployments
        .list_metadata(&ListParams::default())
        .await?
        .items
        .len();
    if count != n {
        bail!("{count} Deployments applied, expected {n}");
    }
    drop(controller);
    drop(testenv);
    Ok(ControllerRun {
        source_ready: source_ready.unwrap_or(all_ready),
        first_ready: first_ready.unwrap_or(all_ready),
        all_ready,
        polls,
        poll_time,
        peak_rss_kib,
        cpu,
        testenv_cpu,
        testenv_peak_rss_kib,
        metrics,
    })
}

/// One bulk run: wall time, and the testenv process's CPU time during it.
struct BulkRun {
    time: Duration,
    testenv_cpu: Duration,
}

/// The apply engine in this process, all apps as one set, against a fresh testenv.
async fn engine_run(dir: &Path, n: usize) -> anyhow::Result<BulkRun> {
    let testenv = Testenv::start(dir, "testenv-engine")?;
    let client = testenv.client().await?;
    namespace(&client).await?;
    let texts: Vec<String> = (0..n).map(|i| app(i, Some(NS))).collect();
    let before = cpu_time(testenv.process.pid())?;
    let start = Instant::now();
    let mut desired: Vec<Manifest> = Vec::with_capacity(4 * n);
    for (i, text) in texts.iter().enumerate() {
        desired.extend(gitops::core::manifests::parse(
            &format!("apps/app-{i:04}/app.yaml"),
            text,
        )?);
    }
    let manager = ResourceManager::new(client, Owner::new("bulk", NS));
    let options = ApplyOptions {
        prune: true,
        ..ApplyOptions::default()
    };
    let applied = manager
        .apply_all_staged(desired, &Inventory::default(), &options)
        .await
        .context("the bulk apply failed")?;
    let time = start.elapsed();
    let testenv_cpu = cpu_time(testenv.process.pid())? - before;
    if applied.inventory.entries.len() != 4 * n {
        bail!(
            "the engine applied {} objects, expected {}",
            applied.inventory.entries.len(),
            4 * n
        );
    }
    Ok(BulkRun { time, testenv_cpu })
}

/// A plain server-side apply of every object, 16 in flight, against a fresh testenv.
async fn plain_run(dir: &Path, n: usize) -> anyhow::Result<BulkRun> {
    let testenv = Testenv::start(dir, "testenv-plain")?;
    let client = testenv.client().await?;
    namespace(&client).await?;
    let texts: Vec<String> = (0..n).map(|i| app(i, Some(NS))).collect();
    let before = cpu_time(testenv.process.pid())?;
    let start = Instant::now();
    let mut objects: Vec<Value> = Vec::with_capacity(4 * n);
    for (i, text) in texts.iter().enumerate() {
        let file = format!("apps/app-{i:04}/app.yaml");
        for manifest in gitops::core::manifests::parse(&file, text)? {
            objects.push(manifest.object.into());
        }
    }
    let params = PatchParams::apply("bulk").force();
    let results: Vec<anyhow::Result<()>> = futures::stream::iter(objects)
        .map(|object| {
            let client = client.clone();
            let params = &params;
            async move {
                let api_version = object["apiVersion"].as_str().unwrap_or_default();
                let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
                let kind = object["kind"].as_str().unwrap_or_default();
                let resource = ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, kind));
                let name = object["metadata"]["name"].as_str().unwrap_or_default();
                let api: Api<DynamicObject> = Api::namespaced_with(client, NS, &resource);
                api.patch(name, params, &Patch::Apply(&object))
                    .await
                    .with_context(|| format!("cannot apply {kind} {name}"))?;
                Ok(())
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    results.into_iter().collect::<anyhow::Result<()>>()?;
    let time = start.elapsed();
    let testenv_cpu = cpu_time(testenv.process.pid())? - before;
    Ok(BulkRun { time, testenv_cpu })
}

/// The lines of `/metrics` worth printing: the reconcile counts and times per controller.
fn metric_lines(metrics: &str) -> Vec<&str> {
    metrics
        .lines()
        .filter(|l| {
            (l.starts_with("controller_runtime_reconcile_total")
                || l.starts_with("controller_runtime_reconcile_errors_total")
                || l.starts_with("controller_runtime_reconcile_time_seconds_sum")
                || l.starts_with("controller_runtime_reconcile_time_seconds_count"))
                && !l.ends_with(" 0")
        })
        .collect()
}

fn main() -> anyhow::Result<()> {
    let n = env_number("CONTROLLERS_BENCH_N", 1000) as usize;
    let concurrent = env_number("CONTROLLERS_BENCH_CONCURRENT", 20);
    // Flux's defaults, which flux-benchmark keeps.
    let limit = (
        env_number("CONTROLLERS_BENCH_QPS", 50),
        env_number("CONTROLLERS_BENCH_BURST", 300),
    );
    let timeout = Duration::from_secs(env_number("CONTROLLERS_BENCH_TIMEOUT", 1200));
    gitops::apply::testenv::install_crypto_provider();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let load_start = load();
    println!("load average at start: {load_start}");
    let dir = tempfile::tempdir()?;
    let (controller, engine, plain) = runtime.block_on(async {
        // The Git repository: one commit with every app.
        let repos = dir.path().join("git");
        gitops::controllers::quickstart::git_http::init_bare(&repos, "fleet.git")
            .context("cannot create the Git repository (the bench needs git on the PATH)")?;
        let server = GitHttp::serve(repos.clone()).await?;
        let url = server.url("fleet.git");
        let commit = (0..n).fold(Commit::new("main", "Add the apps"), |c, i| {
            c.with_file(format!("apps/app-{i:04}/app.yaml"), app(i, None))
        });
        let pushed =
            gitops::git::push::push(&url, &Auth::none(), &commit, PushOptions::default()).await?;
        let revision = pushed.revision.to_string();
        println!("pushed {n} apps ({} objects) as {revision}", 4 * n);

        println!(
            "gitops controller all --concurrent={concurrent} --kube-api-qps={} --kube-api-burst={}:",
            limit.0, limit.1
        );
        let controller =
            controller_run(dir.path(), &url, &revision, n, concurrent, limit, timeout).await?;
        println!("bulk apply with the engine:");
        let engine = engine_run(dir.path(), n).await?;
        println!("plain server-side apply:");
        let plain = plain_run(dir.path(), n).await?;
        drop(server);
        anyhow::Ok((controller, engine, plain))
    })?;
    let load_end = load();

    let ratio = controller.all_ready.as_secs_f64() / engine.time.as_secs_f64();
    let plain_ratio = controller.all_ready.as_secs_f64() / plain.time.as_secs_f64();
    let rss = mib(controller.peak_rss_kib);
    let verdict = |met: bool| if met { "met" } else { "NOT met" };
    println!();
    println!("controller /metrics at the end:");
    for line in metric_lines(&controller.metrics) {
        println!("  {line}");
    }
    println!();
    println!(
        "controller: GitRepository ready after {:.1}s, first Kustomization after {:.1}s, all {n} after {:.1}s",
        controller.source_ready.as_secs_f64(),
        controller.first_ready.as_secs_f64(),
        controller.all_ready.as_secs_f64()
    );
    println!(
        "controller CPU {:.1}s, testenv CPU {:.1}s (peak RSS {:.1} MiB) during the run; {} polls, {:.0} ms per LIST of {n} Kustomizations",
        controller.cpu.as_secs_f64(),
        controller.testenv_cpu.as_secs_f64(),
        mib(controller.testenv_peak_rss_kib),
        controller.polls,
        controller.poll_time.as_secs_f64() * 1000.0 / f64::from(controller.polls.max(1)),
    );
    println!(
        "bulk engine: testenv CPU {:.1}s; plain server-side apply: testenv CPU {:.1}s",
        engine.testenv_cpu.as_secs_f64(),
        plain.testenv_cpu.as_secs_f64()
    );
    println!();
    println!(
        "| {n} Kustomizations ({} objects) | gitops | target | Flux (published) |",
        4 * n
    );
    println!("|---|---:|---:|---:|");
    println!(
        "| controller wall time to all Ready (`--concurrent={concurrent} --kube-api-qps={}`) | {} ({:.1}s) | | {FLUX_TIME} |",
        limit.0,
        minutes(controller.all_ready),
        controller.all_ready.as_secs_f64()
    );
    println!(
        "| bulk client: apply engine, one set of {} objects | {:.1}s | | |",
        4 * n,
        engine.time.as_secs_f64()
    );
    println!(
        "| ratio controller / bulk engine | {ratio:.2}x | ≤ {TARGET_RATIO}x: {} | |",
        verdict(ratio <= TARGET_RATIO)
    );
    println!(
        "| plain server-side apply, 16 in flight (floor) | {:.1}s ({plain_ratio:.2}x) | | |",
        plain.time.as_secs_f64()
    );
    println!(
        "| controller peak RSS (VmHWM) | {rss:.1} MiB | ≤ {TARGET_RSS_MIB} MiB: {} | {FLUX_RSS_MIB} MiB |",
        verdict(rss <= TARGET_RSS_MIB)
    );
    println!();
    println!(
        "Flux's figures: fluxcd/flux-benchmark RESULTS.md, Flux v2.9.0, kustomize-controller 2 CPU / 1Gi, concurrency 20, on a kind cluster."
    );
    println!("load average at start: {load_start}; at end: {load_end}");
    Ok(())
}
