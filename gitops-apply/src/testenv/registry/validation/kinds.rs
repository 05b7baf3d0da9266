//! The rules of the built-in kinds (`pkg/apis/<group>/validation`), one function per kind
//! and shared ones for the types kinds embed (pod templates, containers, selectors).

use serde_json::{Map, Value, json};

use super::names;
use super::quantity;
use super::{Report, child, index, key};
use crate::testenv::registry::Resource;
use crate::testenv::status::Cause;

pub(super) fn validate(resource: &Resource, object: &Value, report: &mut Report) {
    let spec = object.get("spec").unwrap_or(&Value::Null);
    match (resource.group.as_str(), resource.kind.as_str()) {
        ("", "Pod") => pod_spec(spec, "spec", PodContext::Pod, report),
        ("", "PodTemplate") => {
            if let Some(template) = object.get("template") {
                pod_spec(
                    template.get("spec").unwrap_or(&Value::Null),
                    "template.spec",
                    PodContext::Template,
                    report,
                );
            }
        }
        ("", "ReplicationController") => replication_controller(spec, report),
        ("", "Service") => service(spec, report),
        ("", "Secret") => secret(object, report),
        ("", "ConfigMap") => config_map(object, report),
        ("", "PersistentVolumeClaim") => claim_spec(spec, "spec", report),
        ("", "PersistentVolume") => {
            report.one_of(
                spec,
                "persistentVolumeReclaimPolicy",
                "spec.persistentVolumeReclaimPolicy",
                &["Delete", "Recycle", "Retain"],
            );
        }
        ("", "Node") => {
            for (i, taint) in array(spec, "taints").iter().enumerate() {
                // The real server names this path under metadata.
                report.one_of(
                    taint,
                    "effect",
                    &format!("metadata.taints[{i}].effect"),
                    &["NoSchedule", "PreferNoSchedule", "NoExecute"],
                );
            }
        }
        ("", "LimitRange") => limit_range(spec, report),
        ("apps", kind @ ("Deployment" | "ReplicaSet" | "StatefulSet" | "DaemonSet")) => {
            workload(kind, spec, report)
        }
        ("batch", "Job") => job_spec(spec, "spec", report),
        ("batch", "CronJob") => cron_job(spec, report),
        ("policy", "PodDisruptionBudget") => pod_disruption_budget(spec, report),
        ("scheduling.k8s.io", "PriorityClass") => priority_class(object, report),
        ("rbac.authorization.k8s.io", kind @ ("RoleBinding" | "ClusterRoleBinding")) => {
            role_binding(kind, object, report)
        }
        ("networking.k8s.io", "Ingress") => ingress(spec, report),
        ("networking.k8s.io", "NetworkPolicy") => network_policy(spec, report),
        _ => {}
    }
}

fn array<'a>(value: &'a Value, key: &str) -> &'a [Value] {
    value
        .get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

fn text<'a>(value: &'a Value, key: &str) -> &'a str {
    value.get(key).and_then(Value::as_str).unwrap_or("")
}

fn string(value: &str) -> Value {
    Value::String(value.to_string())
}

// Selectors.

/// Whether a `LabelSelector` selects these labels (`matchLabels` and `matchExpressions`).
fn selects(selector: &Value, labels: &Map<String, Value>) -> bool {
    let by_labels = selector
        .get("matchLabels")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .all(|(k, v)| labels.get(k) == Some(v));
    let by_expressions = array(selector, "matchExpressions").iter().all(|e| {
        let key = text(e, "key");
        let values: Vec<&str> = array(e, "values")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        let have = labels.get(key).and_then(Value::as_str);
        match text(e, "operator") {
            "In" => have.is_some_and(|h| values.contains(&h)),
            "NotIn" => have.is_none_or(|h| !values.contains(&h)),
            "Exists" => have.is_some(),
            "DoesNotExist" => have.is_none(),
            _ => false,
        }
    });
    by_labels && by_expressions
}

fn selector_is_empty(selector: &Value) -> bool {
    let labels = selector
        .get("matchLabels")
        .and_then(Value::as_object)
        .is_none_or(Map::is_empty);
    labels && array(selector, "matchExpressions").is_empty()
}

// Workloads.

fn workload(kind: &str, spec: &Value, report: &mut Report) {
    report.non_negative(spec, "replicas", "spec.replicas");
    report.non_negative(spec, "minReadySeconds", "spec.minReadySeconds");
    report.non_negative(spec, "revisionHistoryLimit", "spec.revisionHistoryLimit");
    if kind == "Deployment" {
        report.non_negative(
            spec,
            "progressDeadlineSeconds",
            "spec.progressDeadlineSeconds",
        );
        if let (Some(deadline), Some(ready)) = (
            spec.get("progressDeadlineSeconds").and_then(Value::as_i64),
            spec.get("minReadySeconds").and_then(Value::as_i64),
        ) && deadline <= ready
        {
            report.invalid(
                "spec.progressDeadlineSeconds",
                &json!(deadline),
                "must be greater than minReadySeconds",
            );
        }
        deployment_strategy(spec, report);
    }
    let empty = match kind {
        "StatefulSet" => "statefulset",
        "DaemonSet" => "daemonset",
        _ => "deployment",
    };
    let labels = spec
        .pointer("/template/metadata/labels")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    match spec.get("selector") {
        None | Some(Value::Null) => {
            report.required("spec.selector");
            report.invalid(
                "spec.template.metadata.labels",
                &Value::Object(labels),
                "`selector` does not match template `labels`",
            );
        }
        Some(selector) => {
            if selector_is_empty(selector) {
                report.invalid(
                    "spec.selector",
                    selector,
                    &format!("empty selector is invalid for {empty}"),
                );
            } else if !selects(selector, &labels) {
                report.invalid(
                    "spec.template.metadata.labels",
                    &Value::Object(labels),
                    "`selector` does not match template `labels`",
                );
            }
        }
    }
    if kind == "StatefulSet" {
        report.one_of(
            spec,
            "podManagementPolicy",
            "spec.podManagementPolicy",
            &["OrderedReady", "Parallel"],
        );
        if let Some(strategy) = spec.get("updateStrategy") {
            report.one_of(
                strategy,
                "type",
                "spec.updateStrategy.type",
                &["RollingUpdate", "OnDelete"],
            );
        }
    }
    if kind == "DaemonSet"
        && let Some(strategy) = spec.get("updateStrategy")
    {
        report.one_of(
            strategy,
            "type",
            "spec.updateStrategy.type",
            &["OnDelete", "RollingUpdate"],
        );
    }
    pod_template(spec, "spec.template", PodContext::Workload, report);
}

fn deployment_strategy(spec: &Value, report: &mut Report) {
    let Some(strategy) = spec.get("strategy") else {
        return;
    };
    report.one_of(
        strategy,
        "type",
        "spec.strategy.type",
        &["Recreate", "RollingUpdate"],
    );
    if text(strategy, "type") == "Recreate" && strategy.get("rollingUpdate").is_some() {
        report.push(Cause::forbidden(
            "spec.strategy.rollingUpdate",
            "may not be specified when strategy `type` is 'Recreate'",
        ));
    }
}

fn replication_controller(spec: &Value, report: &mut Report) {
    report.non_negative(spec, "replicas", "spec.replicas");
    report.non_negative(spec, "minReadySeconds", "spec.minReadySeconds");
    pod_template(spec, "spec.template", PodContext::Workload, report);
}

fn job_spec(spec: &Value, path: &str, report: &mut Report) {
    for field in [
        "parallelism",
        "completions",
        "activeDeadlineSeconds",
        "backoffLimit",
        "ttlSecondsAfterFinished",
    ] {
        report.non_negative(spec, field, &child(path, field));
    }
    let template = child(path, "template");
    if let Some(policy) = spec.pointer("/template/spec/restartPolicy")
        && !matches!(policy.as_str(), Some("OnFailure" | "Never"))
    {
        report.push(Cause::required(
            &format!("{template}.spec.restartPolicy"),
            "valid values: \"OnFailure\", \"Never\"",
        ));
    }
    pod_template(spec, &template, PodContext::Job, report);
}

fn cron_job(spec: &Value, report: &mut Report) {
    if text(spec, "schedule").is_empty() {
        report.required("spec.schedule");
    }
    report.non_negative(
        spec,
        "startingDeadlineSeconds",
        "spec.startingDeadlineSeconds",
    );
    report.non_negative(
        spec,
        "successfulJobsHistoryLimit",
        "spec.successfulJobsHistoryLimit",
    );
    report.non_negative(
        spec,
        "failedJobsHistoryLimit",
        "spec.failedJobsHistoryLimit",
    );
    report.one_of(
        spec,
        "concurrencyPolicy",
        "spec.concurrencyPolicy",
        &["Allow", "Forbid", "Replace"],
    );
    if let Some(job) = spec.pointer("/jobTemplate/spec") {
        job_spec(job, "spec.jobTemplate.spec", report);
    }
}

// Pods.

/// Where a pod spec sits, which decides the restart policies it may have.
#[derive(Clone, Copy, PartialEq)]
enum PodContext {
    Pod,
    Template,
    Workload,
    Job,
}

fn pod_template(spec: &Value, path: &str, context: PodContext, report: &mut Report) {
    let Some(template) = spec.get("template") else {
        return;
    };
    let pod = template.get("spec").unwrap_or(&Value::Null);
    pod_spec(pod, &child(path, "spec"), context, report);
}

fn pod_spec(spec: &Value, path: &str, context: PodContext, report: &mut Report) {
    let volumes: Vec<&str> = array(spec, "volumes")
        .iter()
        .map(|v| text(v, "name"))
        .collect();
    for (i, name) in volumes.iter().enumerate() {
        let field = child(&index(&child(path, "volumes"), i), "name");
        if name.is_empty() {
            report.required(&field);
        } else if volumes[..i].contains(name) {
            report.push(Cause::duplicate(&field, &string(name)));
        } else {
            report.invalids(&field, &string(name), names::dns1123_label(name));
        }
    }
    let containers = array(spec, "containers");
    if containers.is_empty() {
        report.required(&child(path, "containers"));
    }
    let mut seen: Vec<&str> = Vec::new();
    for list in ["initContainers", "containers"] {
        for (i, container) in array(spec, list).iter().enumerate() {
            let at = index(&child(path, list), i);
            let name = text(container, "name");
            if !name.is_empty() && seen.contains(&name) {
                report.push(Cause::duplicate(&child(&at, "name"), &string(name)));
            }
            seen.push(name);
            self::container(container, &at, &volumes, report);
        }
    }
    match context {
        PodContext::Workload => {
            if let Some(policy) = spec.get("restartPolicy")
                && policy.as_str() != Some("Always")
            {
                report.unsupported(&child(path, "restartPolicy"), policy, &["Always"]);
            }
        }
        PodContext::Job => {}
        PodContext::Pod | PodContext::Template => report.one_of(
            spec,
            "restartPolicy",
            &child(path, "restartPolicy"),
            &["Always", "OnFailure", "Never"],
        ),
    }
    report.one_of(
        spec,
        "dnsPolicy",
        &child(path, "dnsPolicy"),
        &["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"],
    );
    report.non_negative(
        spec,
        "activeDeadlineSeconds",
        &child(path, "activeDeadlineSeconds"),
    );
    if spec
        .get("terminationGracePeriodSeconds")
        .and_then(Value::as_i64)
        .is_some_and(|s| s < 0)
    {
        report.warn(format!(
            "{}: must be >= 0; negative values are invalid and will be treated as 1",
            child(path, "terminationGracePeriodSeconds")
        ));
    }
}

fn container(container: &Value, path: &str, volumes: &[&str], report: &mut Report) {
    let name = text(container, "name");
    let name_field = child(path, "name");
    if name.is_empty() {
        report.required(&name_field);
    } else {
        report.invalids(&name_field, &string(name), names::dns1123_label(name));
    }
    if text(container, "image").trim().is_empty() {
        report.required(&child(path, "image"));
    }
    report.one_of(
        container,
        "imagePullPolicy",
        &child(path, "imagePullPolicy"),
        &["Always", "IfNotPresent", "Never"],
    );
    for (i, port) in array(container, "ports").iter().enumerate() {
        let at = index(&child(path, "ports"), i);
        if let Some(number) = port.get("containerPort") {
            port_number(number, &child(&at, "containerPort"), report);
        }
        let port_name = text(port, "name");
        if !port_name.is_empty() {
            report.invalids(
                &child(&at, "name"),
                &string(port_name),
                names::port_name(port_name),
            );
        }
        report.one_of(
            port,
            "protocol",
            &child(&at, "protocol"),
            &["SCTP", "TCP", "UDP"],
        );
    }
    for (i, var) in array(container, "env").iter().enumerate() {
        let field = child(&index(&child(path, "env"), i), "name");
        let name = text(var, "name");
        if name.is_empty() {
            report.required(&field);
        } else {
            report.invalids(&field, &string(name), names::env_var_name(name));
        }
    }
    for (i, mount) in array(container, "volumeMounts").iter().enumerate() {
        let at = index(&child(path, "volumeMounts"), i);
        let name = text(mount, "name");
        if name.is_empty() {
            report.required(&child(&at, "name"));
        } else if !volumes.contains(&name) {
            report.push(Cause::not_found(&child(&at, "name"), &string(name)));
        }
        if text(mount, "mountPath").is_empty() {
            report.required(&child(&at, "mountPath"));
        }
    }
    for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
        if let Some(p) = container.get(probe) {
            let at = child(path, probe);
            for field in [
                "initialDelaySeconds",
                "timeoutSeconds",
                "periodSeconds",
                "successThreshold",
                "failureThreshold",
                "terminationGracePeriodSeconds",
            ] {
                report.non_negative(p, field, &child(&at, field));
            }
        }
    }
    resources(
        container.get("resources"),
        &child(path, "resources"),
        report,
    );
}

fn resources(resources: Option<&Value>, path: &str, report: &mut Report) {
    let Some(resources) = resources else {
        return;
    };
    let of = |key: &str| {
        resources
            .get(key)
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default()
    };
    let (requests, limits) = (of("requests"), of("limits"));
    for (kind, values) in [("limits", &limits), ("requests", &requests)] {
        for (name, value) in values {
            if quantity::parse(value).is_some_and(|q| q < 0.0) {
                report.invalid(
                    &key(&child(path, kind), name),
                    &string(&quantity::print(value)),
                    "must be greater than or equal to 0",
                );
            }
        }
    }
    for (name, request) in &requests {
        let Some(limit) = limits.get(name) else {
            continue;
        };
        if let (Some(r), Some(l)) = (quantity::parse(request), quantity::parse(limit))
            && r > l
        {
            report.invalid(
                &child(path, "requests"),
                &string(&quantity::print(request)),
                &format!(
                    "must be less than or equal to {name} limit of {}",
                    quantity::print(limit)
                ),
            );
        }
    }
}

fn port_number(value: &Value, field: &str, report: &mut Report) {
    if !value.as_i64().is_some_and(|p| (1..=65535).contains(&p)) {
        report.invalid(field, value, "must be between 1 and 65535, inclusive");
    }
}

// Services.

fn service(spec: &Value, report: &mut Report) {
    let kind = spec
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("ClusterIP");
    let headless = text(spec, "clusterIP") == "None";
    let ports = array(spec, "ports");
    if ports.is_empty() && kind != "ExternalName" && !headless {
        report.required("spec.ports");
    }
    let mut keys: Vec<(String, i64)> = Vec::new();
    let mut seen_names: Vec<&str> = Vec::new();
    for (i, port) in ports.iter().enumerate() {
        let at = index("spec.ports", i);
        let name = text(port, "name");
        if ports.len() > 1 && name.is_empty() {
            report.required(&child(&at, "name"));
        } else if !name.is_empty() {
            if seen_names.contains(&name) {
                report.push(Cause::duplicate(&child(&at, "name"), &string(name)));
            }
            report.invalids(
                &child(&at, "name"),
                &string(name),
                names::dns1123_label(name),
            );
        }
        seen_names.push(name);
        let number = port.get("port").unwrap_or(&Value::Null);
        port_number(number, &child(&at, "port"), report);
        report.one_of(
            port,
            "protocol",
            &child(&at, "protocol"),
            &["SCTP", "TCP", "UDP"],
        );
        match port.get("targetPort") {
            Some(Value::String(target)) => report.invalids(
                &child(&at, "targetPort"),
                &string(target),
                names::port_name(target),
            ),
            Some(target @ Value::Number(_)) => {
                port_number(target, &child(&at, "targetPort"), report)
            }
            _ => {}
        }
        if port.get("nodePort").is_some() && kind == "ClusterIP" {
            report.push(Cause::forbidden(
                &child(&at, "nodePort"),
                "may not be used when `type` is 'ClusterIP'",
            ));
        }
        let protocol = text(port, "protocol").to_string();
        let number = number.as_i64().unwrap_or(0);
        let key = (protocol.clone(), number);
        if keys.contains(&key) {
            // The duplicate is reported as the internal ServicePort holding only the key.
            report.push(Cause::duplicate(
                &at,
                &json!({"Name": "", "Protocol": protocol, "AppProtocol": null, "Port": number, "TargetPort": 0, "NodePort": 0}),
            ));
        }
        keys.push(key);
    }
    if spec.get("type").is_some() {
        report.one_of(
            spec,
            "type",
            "spec.type",
            &["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"],
        );
    }
    let families: Vec<&str> = array(spec, "ipFamilies")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for (i, ip) in array(spec, "clusterIPs").iter().enumerate() {
        let (Some(ip), Some(family)) = (ip.as_str(), families.get(i)) else {
            continue;
        };
        let Ok(parsed) = ip.parse::<std::net::IpAddr>() else {
            continue;
        };
        let want_v6 = *family == "IPv6";
        if parsed.is_ipv6() != want_v6 {
            report.invalid(
                &format!("spec.clusterIPs[{i}]"),
                &string(ip),
                &format!(
                    "expected an {} value as indicated by `ipFamilies[{i}]`",
                    if want_v6 { "IPv6" } else { "IPv4" }
                ),
            );
        }
    }
}

// Configuration.

fn data_keys(object: &Value, field: &str, report: &mut Report) {
    for key_name in object
        .get(field)
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(|m| m.keys())
    {
        report.invalids(
            &key(field, key_name),
            &string(key_name),
            names::config_key(key_name),
        );
    }
}

fn config_map(object: &Value, report: &mut Report) {
    data_keys(object, "data", report);
    data_keys(object, "binaryData", report);
    if let (Some(data), Some(binary)) = (
        object.get("data").and_then(Value::as_object),
        object.get("binaryData").and_then(Value::as_object),
    ) {
        for k in binary.keys().filter(|k| data.contains_key(*k)) {
            report.invalid(
                &key("data", k),
                &string(k),
                &format!("duplicate of key {k:?}"),
            );
        }
    }
}

fn secret(object: &Value, report: &mut Report) {
    data_keys(object, "data", report);
    let data = object.get("data").and_then(Value::as_object);
    let has = |k: &str| data.is_some_and(|d| d.contains_key(k));
    match text(object, "type") {
        "kubernetes.io/tls" => {
            for k in ["tls.crt", "tls.key"] {
                if !has(k) {
                    report.required(&key("data", k));
                }
            }
            if has("tls.crt") && has("tls.key") {
                let decoded = |k: &str| {
                    use base64::Engine;
                    data.and_then(|d| d.get(k))
                        .and_then(Value::as_str)
                        .and_then(|t| base64::engine::general_purpose::STANDARD.decode(t).ok())
                        .map(|b| String::from_utf8_lossy(&b).into_owned())
                        .unwrap_or_default()
                };
                if !decoded("tls.crt").contains("-----BEGIN") {
                    report.warn("tls: failed to find any PEM data in certificate input".into());
                } else if !decoded("tls.key").contains("-----BEGIN") {
                    report.warn("tls: failed to find any PEM data in key input".into());
                }
            }
        }
        "kubernetes.io/dockerconfigjson" if !has(".dockerconfigjson") => {
            report.required(&key("data", ".dockerconfigjson"));
        }
        "kubernetes.io/dockercfg" if !has(".dockercfg") => {
            report.required(&key("data", ".dockercfg"));
        }
        "kubernetes.io/basic-auth" if !has("username") && !has("password") => {
            report.required(&key("data", "username"));
            report.required(&key("data", "password"));
        }
        "kubernetes.io/ssh-auth" if !has("ssh-privatekey") => {
            report.required(&key("data", "ssh-privatekey"));
        }
        _ => {}
    }
}

// Storage.

fn claim_spec(spec: &Value, path: &str, report: &mut Report) {
    let storage = spec.pointer("/resources/requests/storage");
    let field = key(&child(path, "resources"), "storage");
    match storage {
        None => report.required(&field),
        Some(value) => {
            if quantity::parse(value).is_some_and(|q| q <= 0.0) {
                report.invalid(
                    &field,
                    &string(&quantity::print(value)),
                    "must be greater than zero",
                );
            }
        }
    }
}

fn limit_range(spec: &Value, report: &mut Report) {
    for (i, item) in array(spec, "limits").iter().enumerate() {
        let at = index("spec.limits", i);
        let map = |k: &str| {
            item.get(k)
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default()
        };
        let (max, min, default, request) = (
            map("max"),
            map("min"),
            map("default"),
            map("defaultRequest"),
        );
        let parse = |v: &Value| quantity::parse(v).unwrap_or(0.0);
        for (name, max_value) in &max {
            let m = parse(max_value);
            let max_text = quantity::print(max_value);
            if let Some(r) = request.get(name)
                && parse(r) > m
            {
                report.invalid(
                    &key(&child(&at, "defaultRequest"), name),
                    &string(&quantity::print(r)),
                    &format!(
                        "default request value {} is greater than max value {max_text}",
                        quantity::print(r)
                    ),
                );
            }
            if let Some(d) = default.get(name)
                && parse(d) > m
            {
                // The server prints the max as the invalid value.
                report.invalid(
                    &key(&child(&at, "default"), name),
                    &string(&max_text),
                    &format!(
                        "default value {} is greater than max value {max_text}",
                        quantity::print(d)
                    ),
                );
            }
            if let Some(low) = min.get(name)
                && parse(low) > m
            {
                report.invalid(
                    &key(&child(&at, "min"), name),
                    &string(&quantity::print(low)),
                    &format!(
                        "min value {} is greater than max value {max_text}",
                        quantity::print(low)
                    ),
                );
            }
        }
    }
}

// Policy, scheduling, RBAC, networking.

fn pod_disruption_budget(spec: &Value, report: &mut Report) {
    if spec.get("minAvailable").is_some() && spec.get("maxUnavailable").is_some() {
        let shown = json!({
            "MinAvailable": spec.get("minAvailable"),
            "Selector": spec.get("selector"),
            "MaxUnavailable": spec.get("maxUnavailable"),
            "UnhealthyPodEvictionPolicy": spec.get("unhealthyPodEvictionPolicy"),
        });
        report.invalid(
            "spec",
            &shown,
            "minAvailable and maxUnavailable cannot be both set",
        );
    }
}

fn priority_class(object: &Value, report: &mut Report) {
    let name = object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    if !name.starts_with("system-")
        && object
            .get("value")
            .and_then(Value::as_i64)
            .is_some_and(|v| v > 1_000_000_000)
    {
        report.push(Cause::forbidden(
            "value",
            "maximum allowed value of a user defined priority is 1000000000",
        ));
    }
    report.one_of(
        object,
        "preemptionPolicy",
        "preemptionPolicy",
        &["Never", "PreemptLowerPriority"],
    );
}

fn role_binding(kind: &str, object: &Value, report: &mut Report) {
    let role = object.get("roleRef").unwrap_or(&Value::Null);
    let kinds: &[&str] = if kind == "RoleBinding" {
        &["Role", "ClusterRole"]
    } else {
        &["ClusterRole"]
    };
    let role_kind = role.get("kind").cloned().unwrap_or(json!(""));
    if !role_kind.as_str().is_some_and(|k| kinds.contains(&k)) {
        report.unsupported("roleRef.kind", &role_kind, kinds);
    }
    let group = role.get("apiGroup").and_then(Value::as_str).unwrap_or("");
    if !group.is_empty() && group != "rbac.authorization.k8s.io" {
        report.unsupported(
            "roleRef.apiGroup",
            &string(group),
            &["rbac.authorization.k8s.io"],
        );
    }
    let name = text(role, "name");
    if name.is_empty() {
        report.required("roleRef.name");
    } else {
        report.invalids("roleRef.name", &string(name), names::path_segment(name));
    }
    for (i, subject) in array(object, "subjects").iter().enumerate() {
        let at = index("subjects", i);
        let subject_kind = subject.get("kind").cloned().unwrap_or(json!(""));
        if !subject_kind
            .as_str()
            .is_some_and(|k| ["ServiceAccount", "User", "Group"].contains(&k))
        {
            report.unsupported(
                &child(&at, "kind"),
                &subject_kind,
                &["ServiceAccount", "User", "Group"],
            );
        }
        if text(subject, "name").is_empty() {
            report.required(&child(&at, "name"));
        }
    }
}

fn ingress(spec: &Value, report: &mut Report) {
    for (i, rule) in array(spec, "rules").iter().enumerate() {
        let host = text(rule, "host");
        if host.is_empty() {
            continue;
        }
        let field = child(&index("spec.rules", i), "host");
        let errors = if host.contains('*') {
            names::wildcard_subdomain(host)
        } else {
            names::dns1123_subdomain(host)
        };
        report.invalids(&field, &string(host), errors);
    }
}

fn network_policy(spec: &Value, report: &mut Report) {
    for (direction, peers) in [("ingress", "from"), ("egress", "to")] {
        for (i, rule) in array(spec, direction).iter().enumerate() {
            for (j, peer) in array(rule, peers).iter().enumerate() {
                let Some(block) = peer.get("ipBlock") else {
                    continue;
                };
                let at = child(
                    &index(&child(&index(&format!("spec.{direction}"), i), peers), j),
                    "ipBlock",
                );
                let cidr = text(block, "cidr");
                if cidr.is_empty() {
                    report.required(&child(&at, "cidr"));
                } else if !names::is_cidr(cidr) {
                    report.invalid(
                        &child(&at, "cidr"),
                        &string(cidr),
                        "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)",
                    );
                }
            }
        }
    }
}
