//! A tree shaped like a monitoring stack (kube-prometheus and its kin): few objects, large
//! documents. Generated deterministically at bench time from a seeded pseudo-random sequence;
//! nothing is downloaded.
//!
//! About 120 objects in about 1.5 MB of YAML:
//! - CustomResourceDefinitions with big nested `openAPIV3Schema`s: many properties, long
//!   descriptions (single-line ones past 80 columns, multi-line ones as block scalars, some
//!   with `: ` or quotes that force quoting), enums, patterns, defaults, `x-kubernetes-*`;
//! - ConfigMaps of Grafana dashboards: pretty-printed JSON as `|` block scalars, compact JSON
//!   as long double-quoted strings, and dashboard files read by a `configMapGenerator`;
//! - PrometheusRules with long PromQL expressions, ServiceMonitors, Deployments, Services,
//!   ServiceAccounts and RBAC, a NetworkPolicy and PodDisruptionBudgets;
//! - a kustomization with `namespace`, `labels`, `commonAnnotations`, `images`, a
//!   strategic-merge patch on the Grafana Deployment and an RFC 6902 patch on every CRD.

use std::fmt::Write as _;
use std::path::Path;

use super::write;

/// The prometheus-operator's kinds, for CRDs whose names and shapes look real.
const CRD_KINDS: [(&str, &str); 10] = [
    ("Alertmanager", "alertmanagers"),
    ("AlertmanagerConfig", "alertmanagerconfigs"),
    ("PodMonitor", "podmonitors"),
    ("Probe", "probes"),
    ("Prometheus", "prometheuses"),
    ("PrometheusAgent", "prometheusagents"),
    ("PrometheusRule", "prometheusrules"),
    ("ScrapeConfig", "scrapeconfigs"),
    ("ServiceMonitor", "servicemonitors"),
    ("ThanosRuler", "thanosrulers"),
];

const COMPONENTS: [&str; 8] = [
    "prometheus-operator",
    "prometheus",
    "alertmanager",
    "grafana",
    "kube-state-metrics",
    "node-exporter",
    "blackbox-exporter",
    "prometheus-adapter",
];

const WORDS: [&str; 64] = [
    "the",
    "of",
    "a",
    "to",
    "is",
    "and",
    "for",
    "when",
    "this",
    "field",
    "value",
    "pod",
    "container",
    "namespace",
    "selector",
    "label",
    "endpoint",
    "scrape",
    "metrics",
    "target",
    "Prometheus",
    "Alertmanager",
    "configuration",
    "secret",
    "key",
    "must",
    "be",
    "set",
    "only",
    "if",
    "defaults",
    "specifies",
    "which",
    "used",
    "by",
    "operator",
    "resource",
    "name",
    "interval",
    "timeout",
    "relabeling",
    "rules",
    "TLS",
    "certificate",
    "authorization",
    "header",
    "bearer",
    "token",
    "file",
    "path",
    "port",
    "service",
    "object",
    "reference",
    "Kubernetes",
    "API",
    "server",
    "version",
    "replicas",
    "storage",
    "retention",
    "query",
    "remote",
    "write",
];

const METRICS: [&str; 12] = [
    "container_cpu_usage_seconds_total",
    "container_memory_working_set_bytes",
    "kube_pod_container_status_restarts_total",
    "node_cpu_seconds_total",
    "node_memory_MemAvailable_bytes",
    "apiserver_request_duration_seconds_bucket",
    "kubelet_volume_stats_available_bytes",
    "prometheus_tsdb_head_series",
    "alertmanager_notifications_failed_total",
    "kube_deployment_status_replicas_available",
    "node_filesystem_avail_bytes",
    "container_network_receive_bytes_total",
];

/// A small deterministic generator (xorshift64*): the same tree on every run and machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn word(&mut self) -> &'static str {
        WORDS[self.below(WORDS.len())]
    }

    fn sentence(&mut self, words: usize) -> String {
        let mut s = String::new();
        for i in 0..words {
            if i > 0 {
                s.push(' ');
            }
            let w = self.word();
            if i == 0 {
                let mut c = w.chars();
                if let Some(f) = c.next() {
                    s.extend(f.to_uppercase());
                    s.push_str(c.as_str());
                }
            } else {
                s.push_str(w);
            }
            if i + 1 < words && self.below(9) == 0 {
                s.push(',');
            }
        }
        s.push('.');
        s
    }

    /// A description as controller-gen writes them: one sentence or several, sometimes with
    /// a paragraph break, an example with `: ` or quotes, or a deprecation note.
    fn description(&mut self) -> String {
        let mut d = String::new();
        for i in 0..1 + self.below(4) {
            if i > 0 {
                d.push(' ');
            }
            let words = 6 + self.below(20);
            d.push_str(&self.sentence(words));
        }
        match self.below(8) {
            0 => {
                d.push_str("\n\nDeprecated: ");
                let words = 5 + self.below(10);
                d.push_str(&self.sentence(words));
            }
            1 => {
                d.push_str(" Example: `");
                d.push_str(self.word());
                d.push_str(": \"");
                d.push_str(self.word());
                d.push_str("\"`.");
            }
            2 => {
                d.push_str("\nIt requires Prometheus >= v2.");
                let _ = write!(d, "{}", 30 + self.below(20));
                d.push_str(".0.\n");
            }
            _ => {}
        }
        d
    }
}

/// `s` as a YAML scalar in flow context: JSON's string syntax is YAML's double-quoted one.
fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

/// A description as a mapping entry at `indent`: plain when it is one safe line, a `|-`
/// block when it has several lines, double-quoted otherwise.
fn description_entry(out: &mut String, indent: usize, text: &str) {
    let pad = " ".repeat(indent);
    if text.contains('\n') {
        let chomp = if text.ends_with('\n') { "|" } else { "|-" };
        let _ = writeln!(out, "{pad}description: {chomp}");
        for line in text.trim_end_matches('\n').split('\n') {
            if line.is_empty() {
                out.push('\n');
            } else {
                let _ = writeln!(out, "{pad}  {line}");
            }
        }
    } else if text.contains(": ") || text.contains('"') || text.contains('`') {
        let _ = writeln!(out, "{pad}description: {}", quoted(text));
    } else {
        let _ = writeln!(out, "{pad}description: {text}");
    }
}

/// A property schema at `indent` (the line of its name is already written).
fn schema(out: &mut String, rng: &mut Rng, indent: usize, depth: usize) {
    let pad = " ".repeat(indent);
    let desc = rng.description();
    description_entry(out, indent, &desc);
    let kind = if depth >= 4 {
        rng.below(4)
    } else {
        rng.below(7)
    };
    match kind {
        0 => {
            let _ = writeln!(out, "{pad}type: string");
            match rng.below(5) {
                0 => {
                    let _ = writeln!(out, "{pad}enum:");
                    for v in ["HTTP", "HTTPS", "None", "OnFailure"] {
                        let _ = writeln!(out, "{pad}- {v}");
                    }
                }
                1 => {
                    let _ = writeln!(
                        out,
                        "{pad}pattern: {}",
                        quoted(
                            "^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$"
                        )
                    );
                }
                2 => {
                    let _ = writeln!(out, "{pad}default: {}", quoted("30s"));
                }
                _ => {}
            }
        }
        1 => {
            let _ = writeln!(out, "{pad}format: int32\n{pad}type: integer");
            if rng.below(2) == 0 {
                let _ = writeln!(out, "{pad}minimum: 0");
            }
        }
        2 => {
            let _ = writeln!(out, "{pad}type: boolean");
        }
        3 => {
            let _ = writeln!(
                out,
                "{pad}anyOf:\n{pad}- type: integer\n{pad}- type: string"
            );
            let _ = writeln!(
                out,
                "{pad}pattern: ^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$"
            );
            let _ = writeln!(out, "{pad}x-kubernetes-int-or-string: true");
        }
        4 | 5 => {
            object_schema(out, rng, indent, depth);
        }
        _ => {
            let _ = writeln!(out, "{pad}items:");
            let item_pad = " ".repeat(indent + 2);
            if rng.below(3) == 0 {
                let _ = writeln!(out, "{item_pad}type: string");
                let _ = writeln!(out, "{pad}type: array\n{pad}x-kubernetes-list-type: set");
            } else {
                object_schema(out, rng, indent + 2, depth);
                let _ = writeln!(out, "{pad}type: array");
            }
        }
    }
}

fn object_schema(out: &mut String, rng: &mut Rng, indent: usize, depth: usize) {
    let pad = " ".repeat(indent);
    let fields = 2 + rng.below(if depth < 2 { 6 } else { 3 });
    let _ = writeln!(out, "{pad}properties:");
    let mut names = Vec::new();
    for f in 0..fields {
        let name = format!(
            "{}{}{f}",
            rng.word().to_lowercase(),
            rng.word().to_uppercase()
        );
        let _ = writeln!(out, "{pad}  {name}:");
        schema(out, rng, indent + 4, depth + 1);
        names.push(name);
    }
    if rng.below(2) == 0 {
        let _ = writeln!(out, "{pad}required:\n{pad}- {}", names[0]);
    }
    let _ = writeln!(out, "{pad}type: object");
    if rng.below(6) == 0 {
        let _ = writeln!(out, "{pad}x-kubernetes-map-type: atomic");
    }
}

fn crd(rng: &mut Rng, kind: &str, plural: &str) -> String {
    let mut out = format!(
        "apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  annotations:
    controller-gen.kubebuilder.io/version: v0.16.1
    operator.prometheus.io/version: 0.78.2
  name: {plural}.monitoring.coreos.com
spec:
  group: monitoring.coreos.com
  names:
    categories:
    - prometheus-operator
    kind: {kind}
    listKind: {kind}List
    plural: {plural}
    singular: {singular}
  scope: Namespaced
  versions:
  - additionalPrinterColumns:
    - description: The version of the {kind}
      jsonPath: .spec.version
      name: Version
      type: string
    - jsonPath: .metadata.creationTimestamp
      name: Age
      type: date
    name: v1
    schema:
      openAPIV3Schema:
",
        singular = kind.to_lowercase()
    );
    description_entry(
        &mut out,
        8,
        &format!(
            "The `{kind}` custom resource definition (CRD) defines a desired [{kind}](https://prometheus.io/docs/) setup to run in a Kubernetes cluster. {}",
            rng.sentence(30)
        ),
    );
    out.push_str(
        "        properties:
          apiVersion:
            description: |-
              APIVersion defines the versioned schema of this representation of an object.
              Servers should convert recognized schemas to the latest internal value, and
              may reject unrecognized values.
              More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources
            type: string
          kind:
            description: |-
              Kind is a string value representing the REST resource this object represents.
              Servers may infer this from the endpoint the client submits requests to.
              Cannot be updated.
              In CamelCase.
            type: string
          metadata:
            type: object
          spec:
",
    );
    // The spec: the bulk of the document, several levels deep.
    let pad = " ".repeat(12);
    let desc = rng.description();
    description_entry(&mut out, 12, &desc);
    let _ = writeln!(out, "{pad}properties:");
    for f in 0..20 {
        let name = format!(
            "{}{}{f}",
            rng.word().to_lowercase(),
            rng.word().to_uppercase()
        );
        let _ = writeln!(out, "{pad}  {name}:");
        schema(&mut out, rng, 16, 1);
    }
    let _ = writeln!(out, "{pad}type: object");
    out.push_str(
        "          status:
            description: Most recent observed status of the resource. Read-only.
            properties:
              availableReplicas:
                format: int32
                type: integer
              paused:
                type: boolean
            type: object
        required:
        - spec
        type: object
    served: true
    storage: true
    subresources:
      status: {}
",
    );
    out
}

/// A Grafana dashboard as JSON: rows of timeseries and stat panels with PromQL targets.
fn dashboard(rng: &mut Rng, title: &str, panels: usize) -> serde_json::Value {
    let mut list = Vec::new();
    for id in 0..panels {
        let metric = METRICS[rng.below(METRICS.len())];
        let by = ["pod", "namespace", "instance", "node", "container"][rng.below(5)];
        let expr = format!(
            "sum by ({by}) (rate({metric}{{cluster=\"$cluster\", namespace=~\"$namespace\", {by}!=\"\"}}[$__rate_interval])) / ignoring({by}) group_left sum(kube_pod_info{{cluster=\"$cluster\"}})"
        );
        let kind = if id % 4 == 3 { "stat" } else { "timeseries" };
        let unit = ["bytes", "percentunit", "short", "s", "reqps"][rng.below(5)];
        let words = 8 + rng.below(16);
        let description = rng.sentence(words);
        let title = format!("{} ({by})", rng.sentence(3).trim_end_matches('.'));
        list.push(serde_json::json!({
            "datasource": {"type": "prometheus", "uid": "${datasource}"},
            "description": description,
            "fieldConfig": {
                "defaults": {
                    "color": {"mode": "palette-classic"},
                    "custom": {
                        "drawStyle": "line", "fillOpacity": 10, "lineWidth": 1,
                        "showPoints": "never", "spanNulls": false,
                        "stacking": {"group": "A", "mode": "none"}
                    },
                    "thresholds": {"mode": "absolute", "steps": [
                        {"color": "green", "value": null},
                        {"color": "red", "value": 80}
                    ]},
                    "unit": unit
                },
                "overrides": []
            },
            "gridPos": {"h": 8, "w": 12, "x": (id % 2) * 12, "y": (id / 2) * 8},
            "id": id + 1,
            "interval": "1m",
            "options": {
                "legend": {"calcs": ["mean", "max"], "displayMode": "table", "placement": "right"},
                "tooltip": {"mode": "multi", "sort": "desc"}
            },
            "pluginVersion": "10.4.1",
            "targets": [
                {"datasource": {"type": "prometheus", "uid": "${datasource}"},
                 "expr": expr, "format": "time_series", "intervalFactor": 2,
                 "legendFormat": format!("{{{{{by}}}}}"), "refId": "A"},
                {"datasource": {"type": "prometheus", "uid": "${datasource}"},
                 "expr": format!("histogram_quantile(0.99, sum by (le, {by}) (rate({metric}{{job=\"{by}\"}}[5m])))"),
                 "legendFormat": "p99 {{{{{by}}}}}", "refId": "B"}
            ],
            "title": title,
            "type": kind
        }));
    }
    serde_json::json!({
        "annotations": {"list": [{
            "builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"},
            "enable": true, "hide": true, "iconColor": "rgba(0, 211, 255, 1)",
            "name": "Annotations & Alerts", "type": "dashboard"
        }]},
        "editable": false,
        "graphTooltip": 1,
        "panels": list,
        "refresh": "30s",
        "schemaVersion": 39,
        "tags": ["kubernetes-mixin"],
        "templating": {"list": [
            {"current": {"selected": true, "text": "default", "value": "default"},
             "hide": 0, "label": "Data source", "name": "datasource", "query": "prometheus",
             "type": "datasource"},
            {"datasource": {"type": "prometheus", "uid": "${datasource}"}, "hide": 2,
             "name": "cluster", "query": "label_values(up{job=\"kubelet\"}, cluster)",
             "refresh": 2, "type": "query"},
            {"datasource": {"type": "prometheus", "uid": "${datasource}"}, "includeAll": true,
             "multi": true, "name": "namespace",
             "query": "label_values(kube_namespace_status_phase{cluster=\"$cluster\"}, namespace)",
             "refresh": 2, "type": "query"}
        ]},
        "time": {"from": "now-1h", "to": "now"},
        "timezone": "UTC",
        "title": title,
        "uid": format!("{:x}", rng.next()),
        "version": 1
    })
}

/// `text` as a block scalar's lines at `indent`.
fn block_lines(out: &mut String, indent: usize, text: &str) {
    let pad = " ".repeat(indent);
    for line in text.lines() {
        let _ = writeln!(out, "{pad}{line}");
    }
}

fn component(rng: &mut Rng, name: &str, out: &mut String) {
    let port = 9000 + rng.below(1000);
    let _ = write!(
        out,
        "apiVersion: v1
kind: ServiceAccount
metadata:
  name: {name}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: {name}
rules:
- apiGroups:
  - \"\"
  resources:
  - nodes
  - nodes/metrics
  - services
  - endpoints
  - pods
  verbs:
  - get
  - list
  - watch
- apiGroups:
  - monitoring.coreos.com
  resources:
  - alertmanagers
  - prometheuses
  - servicemonitors
  - podmonitors
  - prometheusrules
  verbs:
  - '*'
- nonResourceURLs:
  - /metrics
  verbs:
  - get
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: {name}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: {name}
subjects:
- kind: ServiceAccount
  name: {name}
  namespace: default
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: {name}-config
rules:
- apiGroups:
  - \"\"
  resources:
  - configmaps
  - secrets
  verbs:
  - get
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: {name}-config
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: {name}-config
subjects:
- kind: ServiceAccount
  name: {name}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  labels:
    app.kubernetes.io/name: {name}
spec:
  replicas: 1
  selector:
    matchLabels:
      app.kubernetes.io/name: {name}
  template:
    metadata:
      annotations:
        kubectl.kubernetes.io/default-container: {name}
      labels:
        app.kubernetes.io/name: {name}
    spec:
      serviceAccountName: {name}
      securityContext:
        fsGroup: 65534
        runAsNonRoot: true
        runAsUser: 65534
      containers:
      - name: {name}
        image: quay.io/prometheus/{name}:v0.1.0
        args:
        - --web.listen-address=:{port}
        - --log.level=info
        - --config.file=/etc/{name}/config.yaml
        ports:
        - containerPort: {port}
          name: web
        readinessProbe:
          httpGet:
            path: /-/ready
            port: web
          initialDelaySeconds: 5
        resources:
          limits:
            cpu: 200m
            memory: 200Mi
          requests:
            cpu: 100m
            memory: 100Mi
        securityContext:
          allowPrivilegeEscalation: false
          capabilities:
            drop:
            - ALL
          readOnlyRootFilesystem: true
        volumeMounts:
        - mountPath: /etc/{name}
          name: config
          readOnly: true
      volumes:
      - name: config
        configMap:
          name: {name}-config
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {name}-config
data:
  config.yaml: |
    global:
      scrape_interval: 30s
      evaluation_interval: 30s
    scrape_configs:
    - job_name: {name}
      static_configs:
      - targets: ['localhost:{port}']
---
apiVersion: v1
kind: Service
metadata:
  name: {name}
  labels:
    app.kubernetes.io/name: {name}
spec:
  ports:
  - name: web
    port: {port}
    targetPort: web
  selector:
    app.kubernetes.io/name: {name}
---
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  name: {name}
spec:
  endpoints:
  - interval: 30s
    port: web
    relabelings:
    - action: replace
      regex: (.*)
      replacement: $1
      sourceLabels:
      - __meta_kubernetes_pod_node_name
      targetLabel: instance
  selector:
    matchLabels:
      app.kubernetes.io/name: {name}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {name}
spec:
  maxUnavailable: 1
  selector:
    matchLabels:
      app.kubernetes.io/name: {name}
---
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: {name}-rules
spec:
  groups:
  - name: {name}.rules
    rules:
"
    );
    for r in 0..12 {
        let metric = METRICS[rng.below(METRICS.len())];
        let _ = write!(
            out,
            "    - alert: {}{r}
      annotations:
        description: {}
        runbook_url: https://runbooks.prometheus-operator.dev/runbooks/{name}/{}{r}
        summary: {}
      expr: |-
        sum by (namespace, pod) (rate({metric}{{job=\"{name}\"}}[5m])) > 0.{}
        and on (namespace, pod) kube_pod_status_phase{{phase=~\"Running|Pending\"}} == 1
      for: 15m
      labels:
        severity: {}
",
            COMPONENTS[rng.below(8)].replace('-', ""),
            quoted(&format!(
                "{{{{ $labels.namespace }}}}/{{{{ $labels.pod }}}} ({{{{ $labels.container }}}}) {}",
                rng.sentence(14)
            )),
            name.replace('-', ""),
            rng.sentence(7),
            1 + rng.below(9),
            ["warning", "critical", "info"][rng.below(3)],
        );
    }
}

/// Writes the tree under `root`; returns the number of files.
pub(super) fn generate(root: &Path) -> usize {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut files = 0;
    let mut resources = String::new();
    for (kind, plural) in CRD_KINDS {
        let path = format!("crds/{plural}.yaml");
        write(&root.join(&path), &crd(&mut rng, kind, plural));
        let _ = writeln!(resources, "- {path}");
        files += 1;
    }
    for name in COMPONENTS {
        let mut text = String::new();
        component(&mut rng, name, &mut text);
        let path = format!("{name}.yaml");
        write(&root.join(&path), &text);
        let _ = writeln!(resources, "- {path}");
        files += 1;
    }
    // Dashboards as kube-prometheus ships them: one ConfigMap each, pretty-printed JSON in a
    // `|` block, and compact JSON in a long double-quoted string as some generators write it.
    let mut dashboards = String::new();
    for d in 0..20 {
        let title = format!("Kubernetes / Compute Resources / {}", rng.sentence(2));
        let panels = 10 + rng.below(6);
        let json = dashboard(&mut rng, title.trim_end_matches('.'), panels);
        let file = format!("dashboard-{d:02}.json");
        let _ = write!(
            dashboards,
            "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  labels:\n    grafana_dashboard: \"1\"\n  name: grafana-dashboard-{d:02}\ndata:\n"
        );
        if d % 3 == 2 {
            let _ = writeln!(
                dashboards,
                "  {file}: {}",
                quoted(&serde_json::to_string(&json).unwrap())
            );
        } else {
            let _ = writeln!(dashboards, "  {file}: |-");
            block_lines(
                &mut dashboards,
                4,
                &serde_json::to_string_pretty(&json).unwrap(),
            );
        }
    }
    write(&root.join("grafana-dashboards.yaml"), &dashboards);
    resources.push_str("- grafana-dashboards.yaml\n");
    files += 1;
    // A few dashboards read from files by a generator, as many repositories do.
    let mut generated = String::new();
    for d in 0..3 {
        let json = dashboard(&mut rng, &format!("Node Exporter / {d}"), 16);
        let file = format!("dashboards/node-{d}.json");
        write(
            &root.join(&file),
            &serde_json::to_string_pretty(&json).unwrap(),
        );
        let _ = writeln!(generated, "  - {file}");
        files += 1;
    }
    write(
        &root.join("namespace.yaml"),
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: monitoring\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: default-deny\nspec:\n  podSelector: {}\n  policyTypes:\n  - Ingress\n",
    );
    files += 1;
    write(
        &root.join("kustomization.yaml"),
        &format!(
            "apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: monitoring
labels:
- pairs:
    app.kubernetes.io/part-of: kube-prometheus
commonAnnotations:
  owner: observability-team
images:
- name: quay.io/prometheus/grafana
  newName: docker.io/grafana/grafana
  newTag: 10.4.1
resources:
- namespace.yaml
{resources}configMapGenerator:
- name: node-dashboards
  options:
    labels:
      grafana_dashboard: \"1\"
  files:
{generated}patches:
- target:
    kind: Deployment
    name: grafana
  patch: |-
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: grafana
    spec:
      replicas: 2
      template:
        spec:
          containers:
          - name: grafana
            env:
            - name: GF_SECURITY_ADMIN_USER
              value: admin
            volumeMounts:
            - mountPath: /grafana-dashboard-definitions/0/node
              name: node-dashboards
          volumes:
          - name: node-dashboards
            configMap:
              name: node-dashboards
- target:
    kind: CustomResourceDefinition
  patch: |-
    - op: add
      path: /metadata/annotations/argocd.argoproj.io~1sync-options
      value: ServerSideApply=true
"
        ),
    );
    files + 1
}
