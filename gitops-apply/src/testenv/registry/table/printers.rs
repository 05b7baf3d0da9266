//! The printers of kube-apiserver v1.36 (`pkg/printers/internalversion`, and kube-aggregator's
//! for APIServices): for each built-in kind, its column definitions and the function that turns
//! one object into a row's cells. The server prints every column, wide ones (priority 1)
//! included, so a row has one cell per column (with one upstream exception: IPAddress rows
//! carry an Age cell its columns do not declare).
//!
//! A kind with no entry here is printed by the default table convertor (Name and Created At),
//! as are the kinds kube-apiserver deliberately leaves to it: LimitRange, Role, ClusterRole,
//! CSIStorageCapacity and CustomResourceDefinition.
//!
//! The objects printed are in their served (versioned) shape; each cell reads the fields its
//! upstream print function reads after conversion to the internal type.

use serde_json::{Value, json};

use super::docs::*;
use super::format::*;

/// One column definition of a Table.
pub(crate) struct Column {
    pub name: &'static str,
    pub ty: &'static str,
    pub format: &'static str,
    pub description: &'static str,
    pub priority: u32,
}

const fn col(name: &'static str, ty: &'static str, description: &'static str) -> Column {
    Column {
        name,
        ty,
        format: "",
        description,
        priority: 0,
    }
}

const fn wide(name: &'static str, ty: &'static str, description: &'static str) -> Column {
    Column {
        name,
        ty,
        format: "",
        description,
        priority: 1,
    }
}

const NAME_COL: Column = Column {
    name: "Name",
    ty: "string",
    format: "name",
    description: NAME,
    priority: 0,
};
const AGE_COL: Column = col("Age", "string", CREATION_TIMESTAMP);
const CONTAINERS: &str = "Names of each container in the template.";
const IMAGES: &str = "Images referenced by each container in the template.";

/// One printed row: its cells and the row conditions (`Completed` for finished pods).
pub(crate) struct Row {
    pub cells: Vec<Value>,
    pub conditions: Option<Value>,
}

impl From<Vec<Value>> for Row {
    fn from(cells: Vec<Value>) -> Self {
        Self {
            cells,
            conditions: None,
        }
    }
}

/// A printer: the kinds it prints, its columns, and its cells.
pub(crate) struct Printer {
    pub groups: &'static [&'static str],
    pub kind: &'static str,
    pub columns: &'static [Column],
    pub row: fn(&Value, &Clock) -> Row,
}

/// The printer of a kind, if kube-apiserver has one.
pub(crate) fn printer(group: &str, kind: &str) -> Option<&'static Printer> {
    PRINTERS
        .iter()
        .find(|p| p.kind == kind && p.groups.contains(&group))
}

fn name(o: &Value) -> Value {
    json!(text(o, "/metadata/name"))
}

fn age(o: &Value, clock: &Clock) -> Value {
    json!(clock.since(o.pointer("/metadata/creationTimestamp")))
}

fn deleting(o: &Value) -> bool {
    o.pointer("/metadata/deletionTimestamp")
        .is_some_and(|t| !t.is_null())
}

fn containers_and_images(containers: &[Value]) -> [Value; 2] {
    let (names, images) = container_cells(containers);
    [json!(names), json!(images)]
}

fn condition<'a>(conditions: &'a [Value], ty: &str) -> Option<&'a Value> {
    conditions.iter().find(|c| text(c, "/type") == ty)
}

fn condition_true(conditions: &[Value], ty: &str) -> bool {
    condition(conditions, ty).is_some_and(|c| text(c, "/status") == "True")
}

// --- core ---------------------------------------------------------------------------------

fn pod(o: &Value, clock: &Clock) -> Row {
    let restartable = |c: Option<&Value>| c.is_some_and(|c| text(c, "/restartPolicy") == "Always");
    let finished = |c: &Value| {
        c.pointer("/lastState/terminated/finishedAt")
            .and_then(parse_time)
    };
    let init_specs = list(o, "/spec/initContainers");
    let init_spec = |name: &str| init_specs.iter().find(|c| text(c, "/name") == name);
    let total = list(o, "/spec/containers").len()
        + init_specs.iter().filter(|c| restartable(Some(c))).count();
    let mut ready = 0usize;
    let mut restarts = 0i64;
    let mut restartable_restarts = 0i64;
    let mut last_restart: Option<i128> = None;
    let mut last_restartable: Option<i128> = None;
    let phase = text(o, "/status/phase");
    let mut reason = match text(o, "/status/reason") {
        "" => phase.to_string(),
        r => r.to_string(),
    };
    let conditions = list(o, "/status/conditions");
    if conditions
        .iter()
        .any(|c| text(c, "/type") == "PodScheduled" && text(c, "/reason") == "SchedulingGated")
    {
        reason = "SchedulingGated".into();
    }
    let row_conditions = match phase {
        "Succeeded" => Some(
            json!([{"type": "Completed", "status": "True", "reason": "Succeeded", "message": "The pod has completed successfully."}]),
        ),
        "Failed" => Some(
            json!([{"type": "Completed", "status": "True", "reason": "Failed", "message": "The pod failed."}]),
        ),
        _ => None,
    };
    let mut initializing = false;
    for (i, status) in list(o, "/status/initContainerStatuses").iter().enumerate() {
        let count = int(status, "/restartCount");
        restarts += count;
        if let Some(t) = finished(status) {
            last_restart = last_restart.max(Some(t));
        }
        let is_restartable = restartable(init_spec(text(status, "/name")));
        if is_restartable {
            restartable_restarts += count;
            if let Some(t) = finished(status) {
                last_restartable = last_restartable.max(Some(t));
            }
        }
        let terminated = status
            .pointer("/state/terminated")
            .filter(|t| t.is_object());
        let waiting_reason = text(status, "/state/waiting/reason");
        if terminated.is_some_and(|t| int(t, "/exitCode") == 0) {
            continue;
        }
        if is_restartable && flag(status, "/started") == Some(true) {
            if flag(status, "/ready") == Some(true) {
                ready += 1;
            }
            continue;
        }
        if let Some(t) = terminated {
            reason = match text(t, "/reason") {
                "" if int(t, "/signal") != 0 => format!("Init:Signal:{}", int(t, "/signal")),
                "" => format!("Init:ExitCode:{}", int(t, "/exitCode")),
                r => format!("Init:{r}"),
            };
        } else if !waiting_reason.is_empty() && waiting_reason != "PodInitializing" {
            reason = format!("Init:{waiting_reason}");
        } else {
            reason = format!("Init:{i}/{}", init_specs.len());
        }
        initializing = true;
        break;
    }
    if !initializing || condition_true(conditions, "Initialized") {
        restarts = restartable_restarts;
        last_restart = last_restartable;
        let mut has_running = false;
        for status in list(o, "/status/containerStatuses").iter().rev() {
            restarts += int(status, "/restartCount");
            if let Some(t) = finished(status) {
                last_restart = last_restart.max(Some(t));
            }
            let waiting = text(status, "/state/waiting/reason");
            let terminated = status
                .pointer("/state/terminated")
                .filter(|t| t.is_object());
            if !waiting.is_empty() {
                reason = waiting.to_string();
            } else if let Some(t) = terminated {
                reason = match text(t, "/reason") {
                    "" if int(t, "/signal") != 0 => format!("Signal:{}", int(t, "/signal")),
                    "" => format!("ExitCode:{}", int(t, "/exitCode")),
                    r => r.to_string(),
                };
            } else if flag(status, "/ready") == Some(true)
                && status
                    .pointer("/state/running")
                    .is_some_and(Value::is_object)
            {
                has_running = true;
                ready += 1;
            }
        }
        if reason == "Completed" && has_running {
            reason = if condition_true(conditions, "Ready") {
                "Running".into()
            } else {
                "NotReady".into()
            };
        }
    }
    if deleting(o) && text(o, "/status/reason") == "NodeLost" {
        reason = "Unknown".into();
    } else if deleting(o) && phase != "Succeeded" && phase != "Failed" {
        reason = "Terminating".into();
    }
    let restarts_cell = match last_restart {
        Some(t) if restarts != 0 => {
            format!("{restarts} ({} ago)", human_duration(clock.now_nanos() - t))
        }
        _ => restarts.to_string(),
    };
    let ip = list(o, "/status/podIPs")
        .first()
        .map(|p| text(p, "/ip"))
        .unwrap_or_else(|| text(o, "/status/podIP"));
    let or_none = |s: &str| {
        if s.is_empty() {
            "<none>".to_string()
        } else {
            s.to_string()
        }
    };
    let gates = list(o, "/spec/readinessGates");
    let gates_cell = if gates.is_empty() {
        "<none>".to_string()
    } else {
        let ok = gates
            .iter()
            .filter(|g| condition_true(conditions, text(g, "/conditionType")))
            .count();
        format!("{ok}/{}", gates.len())
    };
    Row {
        cells: vec![
            name(o),
            json!(format!("{ready}/{total}")),
            json!(reason),
            json!(restarts_cell),
            age(o, clock),
            json!(or_none(ip)),
            json!(or_none(text(o, "/spec/nodeName"))),
            json!(or_none(text(o, "/status/nominatedNodeName"))),
            json!(gates_cell),
        ],
        conditions: row_conditions,
    }
}

fn pod_template(o: &Value, _: &Clock) -> Row {
    let [names, images] = containers_and_images(list(o, "/template/spec/containers"));
    vec![
        name(o),
        names,
        images,
        json!(format_labels(map(o, "/template/metadata/labels"))),
    ]
    .into()
}

fn pod_disruption_budget(o: &Value, clock: &Clock) -> Row {
    let bound = |p: &str| {
        o.pointer(p)
            .filter(|v| !v.is_null())
            .map_or_else(|| "N/A".to_string(), int_or_string)
    };
    vec![
        name(o),
        json!(bound("/spec/minAvailable")),
        json!(bound("/spec/maxUnavailable")),
        json!(int(o, "/status/disruptionsAllowed")),
        age(o, clock),
    ]
    .into()
}

fn replication_controller(o: &Value, clock: &Clock) -> Row {
    let [names, images] = containers_and_images(list(o, "/spec/template/spec/containers"));
    vec![
        name(o),
        json!(int(o, "/spec/replicas")),
        json!(int(o, "/status/replicas")),
        json!(int(o, "/status/readyReplicas")),
        age(o, clock),
        names,
        images,
        json!(format_labels(map(o, "/spec/selector"))),
    ]
    .into()
}

fn service_external_ip(o: &Value) -> String {
    let external: Vec<String> = list(o, "/spec/externalIPs").iter().map(scalar).collect();
    match text(o, "/spec/type") {
        "ClusterIP" | "NodePort" => {
            if external.is_empty() {
                "<none>".into()
            } else {
                external.join(",")
            }
        }
        "LoadBalancer" => {
            let lb = o
                .pointer("/status/loadBalancer")
                .map(load_balancer)
                .unwrap_or_default();
            if !external.is_empty() {
                let mut all: Vec<String> = if lb.is_empty() {
                    Vec::new()
                } else {
                    lb.split(',').map(str::to_string).collect()
                };
                all.extend(external);
                all.join(",")
            } else if !lb.is_empty() {
                lb
            } else {
                "<pending>".into()
            }
        }
        "ExternalName" => text(o, "/spec/externalName").to_string(),
        _ => "<unknown>".into(),
    }
}

fn service(o: &Value, clock: &Clock) -> Row {
    let cluster_ip = list(o, "/spec/clusterIPs")
        .first()
        .and_then(Value::as_str)
        .or_else(|| opt_text(o, "/spec/clusterIP").filter(|ip| !ip.is_empty()))
        .unwrap_or("<none>");
    let ports: Vec<String> = list(o, "/spec/ports")
        .iter()
        .map(|p| {
            let node_port = int(p, "/nodePort");
            if node_port > 0 {
                format!("{}:{node_port}/{}", int(p, "/port"), text(p, "/protocol"))
            } else {
                format!("{}/{}", int(p, "/port"), text(p, "/protocol"))
            }
        })
        .collect();
    let ports = if ports.is_empty() {
        "<none>".to_string()
    } else {
        ports.join(",")
    };
    vec![
        name(o),
        json!(text(o, "/spec/type")),
        json!(cluster_ip),
        json!(service_external_ip(o)),
        json!(ports),
        age(o, clock),
        json!(format_labels(map(o, "/spec/selector"))),
    ]
    .into()
}

fn endpoints(o: &Value, clock: &Clock) -> Row {
    let subsets = list(o, "/subsets");
    let cell = if subsets.is_empty() {
        "<none>".to_string()
    } else {
        let max = 3;
        let mut shown: Vec<String> = Vec::new();
        let mut more = false;
        let mut count = 0usize;
        for subset in subsets {
            let addresses = list(subset, "/addresses");
            let ports = list(subset, "/ports");
            if ports.is_empty() {
                count += addresses.len();
                for a in addresses {
                    if shown.len() == max {
                        more = true;
                        break;
                    }
                    shown.push(text(a, "/ip").to_string());
                }
                continue;
            }
            for port in ports {
                count += addresses.len();
                for a in addresses {
                    if shown.len() == max {
                        more = true;
                        break;
                    }
                    let ip = text(a, "/ip");
                    let host = if ip.contains(':') {
                        format!("[{ip}]")
                    } else {
                        ip.to_string()
                    };
                    shown.push(format!("{host}:{}", int(port, "/port")));
                }
            }
        }
        let joined = shown.join(",");
        if more {
            format!("{joined} + {} more...", count.saturating_sub(max))
        } else {
            joined
        }
    };
    vec![name(o), json!(cell), age(o, clock)].into()
}

fn node(o: &Value, clock: &Clock) -> Row {
    let conditions = list(o, "/status/conditions");
    let mut status: Vec<String> = Vec::new();
    if let Some(c) = condition(conditions, "Ready") {
        status.push(if text(c, "/status") == "True" {
            "Ready".into()
        } else {
            "NotReady".into()
        });
    }
    if status.is_empty() {
        status.push("Unknown".into());
    }
    if flag(o, "/spec/unschedulable") == Some(true) {
        status.push("SchedulingDisabled".into());
    }
    let mut roles: Vec<String> = Vec::new();
    for (k, v) in map(o, "/metadata/labels").into_iter().flatten() {
        if let Some(role) = k.strip_prefix("node-role.kubernetes.io/") {
            if !role.is_empty() {
                roles.push(role.to_string());
            }
        } else if k == "kubernetes.io/role" && !scalar(v).is_empty() {
            roles.push(scalar(v));
        }
    }
    roles.sort();
    roles.dedup();
    let roles = if roles.is_empty() {
        "<none>".to_string()
    } else {
        roles.join(",")
    };
    let address = |ty: &str| {
        list(o, "/status/addresses")
            .iter()
            .find(|a| text(a, "/type") == ty)
            .map_or_else(|| "<none>".to_string(), |a| text(a, "/address").to_string())
    };
    let info = |field: &str| match text(o, &format!("/status/nodeInfo/{field}")) {
        "" => "<unknown>".to_string(),
        v => v.to_string(),
    };
    vec![
        name(o),
        json!(status.join(",")),
        json!(roles),
        age(o, clock),
        json!(text(o, "/status/nodeInfo/kubeletVersion")),
        json!(address("InternalIP")),
        json!(address("ExternalIP")),
        json!(info("osImage")),
        json!(info("kernelVersion")),
        json!(info("containerRuntimeVersion")),
    ]
    .into()
}

/// Core and events.k8s.io Events alike (the latter's fields under their new names).
fn event(o: &Value, clock: &Clock) -> Row {
    let pick = |core: &str, events: &str| o.pointer(core).or_else(|| o.pointer(events));
    let pick_text = |core: &str, events: &str| {
        opt_text(o, core)
            .filter(|s| !s.is_empty())
            .or_else(|| opt_text(o, events))
            .unwrap_or("")
    };
    let first_ts = pick("/firstTimestamp", "/deprecatedFirstTimestamp");
    let first = if first_ts.and_then(parse_time).is_some() {
        clock.since(first_ts)
    } else {
        clock.since(o.pointer("/eventTime"))
    };
    let last_ts = pick("/lastTimestamp", "/deprecatedLastTimestamp");
    let mut last = if last_ts.and_then(parse_time).is_some() {
        clock.since(last_ts)
    } else {
        first.clone()
    };
    let mut count = o
        .get("count")
        .or_else(|| o.get("deprecatedCount"))
        .and_then(Value::as_i64)
        .unwrap_or(0);
    if let Some(series) = o.get("series").filter(|s| s.is_object()) {
        last = clock.since(series.get("lastObservedTime"));
        count = int(series, "/count");
    } else if count == 0 {
        count = 1;
    }
    let object = o
        .get("involvedObject")
        .or_else(|| o.get("regarding"))
        .cloned()
        .unwrap_or(Value::Null);
    let kind = text(&object, "/kind").to_lowercase();
    let target = match text(&object, "/name") {
        "" => kind,
        n => format!("{kind}/{n}"),
    };
    let component = pick_text("/source/component", "/deprecatedSource/component");
    let host = pick_text("/source/host", "/deprecatedSource/host");
    let component = if component.is_empty() {
        text(o, "/reportingController")
    } else {
        component
    };
    let host = if host.is_empty() {
        text(o, "/reportingInstance")
    } else {
        host
    };
    let source = if host.is_empty() {
        component.to_string()
    } else {
        format!("{component}, {host}")
    };
    let message = pick_text("/message", "/note");
    vec![
        json!(last),
        json!(text(o, "/type")),
        json!(text(o, "/reason")),
        json!(target),
        json!(text(&object, "/fieldPath")),
        json!(source),
        json!(message.trim()),
        json!(first),
        json!(count),
        name(o),
    ]
    .into()
}

fn namespace(o: &Value, clock: &Clock) -> Row {
    vec![name(o), json!(text(o, "/status/phase")), age(o, clock)].into()
}

fn secret(o: &Value, clock: &Clock) -> Row {
    vec![
        name(o),
        json!(text(o, "/type")),
        json!(map_len(o, "/data")),
        age(o, clock),
    ]
    .into()
}

fn service_account(o: &Value, clock: &Clock) -> Row {
    vec![name(o), age(o, clock)].into()
}

fn storage_class_name(o: &Value) -> String {
    let annotation = text(
        o,
        "/metadata/annotations/volume.beta.kubernetes.io~1storage-class",
    );
    if !annotation.is_empty() {
        return annotation.to_string();
    }
    text(o, "/spec/storageClassName").to_string()
}

fn persistent_volume(o: &Value, clock: &Clock) -> Row {
    let claim = match o.pointer("/spec/claimRef").filter(|c| c.is_object()) {
        Some(c) => format!("{}/{}", text(c, "/namespace"), text(c, "/name")),
        None => String::new(),
    };
    let phase = if deleting(o) {
        "Terminating"
    } else {
        text(o, "/status/phase")
    };
    vec![
        name(o),
        json!(quantity(o.pointer("/spec/capacity/storage"))),
        json!(access_modes(list(o, "/spec/accessModes"))),
        json!(text(o, "/spec/persistentVolumeReclaimPolicy")),
        json!(phase),
        json!(claim),
        json!(storage_class_name(o)),
        json!(opt_text(o, "/spec/volumeAttributesClassName").unwrap_or("<unset>")),
        json!(text(o, "/status/reason")),
        age(o, clock),
        json!(opt_text(o, "/spec/volumeMode").unwrap_or("<unset>")),
    ]
    .into()
}

fn persistent_volume_claim(o: &Value, clock: &Clock) -> Row {
    let phase = if deleting(o) {
        "Terminating"
    } else {
        text(o, "/status/phase")
    };
    let volume = text(o, "/spec/volumeName");
    let (capacity, modes) = if volume.is_empty() {
        (String::new(), String::new())
    } else {
        (
            quantity(o.pointer("/status/capacity/storage")),
            access_modes(list(o, "/status/accessModes")),
        )
    };
    vec![
        name(o),
        json!(phase),
        json!(volume),
        json!(capacity),
        json!(modes),
        json!(storage_class_name(o)),
        json!(opt_text(o, "/spec/volumeAttributesClassName").unwrap_or("<unset>")),
        age(o, clock),
        json!(opt_text(o, "/spec/volumeMode").unwrap_or("<unset>")),
    ]
    .into()
}

fn component_status(o: &Value, _: &Clock) -> Row {
    let (mut status, mut message, mut error) = ("Unknown", "", "");
    if let Some(c) = condition(list(o, "/conditions"), "Healthy") {
        status = if text(c, "/status") == "True" {
            "Healthy"
        } else {
            "Unhealthy"
        };
        message = text(c, "/message");
        error = text(c, "/error");
    }
    vec![name(o), json!(status), json!(message), json!(error)].into()
}

fn config_map(o: &Value, clock: &Clock) -> Row {
    vec![
        name(o),
        json!(map_len(o, "/data") + map_len(o, "/binaryData")),
        age(o, clock),
    ]
    .into()
}

fn resource_quota(o: &Value, clock: &Clock) -> Row {
    let mut names: Vec<&String> = map(o, "/status/hard")
        .into_iter()
        .flatten()
        .map(|(k, _)| k)
        .collect();
    names.sort();
    let mut requests: Vec<String> = Vec::new();
    let mut limits: Vec<String> = Vec::new();
    for resource in names {
        let used = quantity(map(o, "/status/used").and_then(|m| m.get(resource)));
        let hard = quantity(map(o, "/status/hard").and_then(|m| m.get(resource)));
        let entry = format!("{resource}: {used}/{hard}");
        let pieces: Vec<&str> = resource.split('.').collect();
        if pieces.len() > 1 && pieces[0] == "limits" {
            limits.push(entry);
        } else {
            requests.push(entry);
        }
    }
    vec![
        name(o),
        json!(requests.join(", ")),
        json!(limits.join(", ")),
        age(o, clock),
    ]
    .into()
}

// --- apps ---------------------------------------------------------------------------------

fn replica_set(o: &Value, clock: &Clock) -> Row {
    let [names, images] = containers_and_images(list(o, "/spec/template/spec/containers"));
    vec![
        name(o),
        json!(int(o, "/spec/replicas")),
        json!(int(o, "/status/replicas")),
        json!(int(o, "/status/readyReplicas")),
        age(o, clock),
        names,
        images,
        json!(format_label_selector(o.pointer("/spec/selector"))),
    ]
    .into()
}

fn deployment(o: &Value, clock: &Clock) -> Row {
    let [names, images] = containers_and_images(list(o, "/spec/template/spec/containers"));
    let selector =
        selector_string(o.pointer("/spec/selector")).unwrap_or_else(|| "<invalid>".into());
    vec![
        name(o),
        json!(format!(
            "{}/{}",
            int(o, "/status/readyReplicas"),
            int(o, "/spec/replicas")
        )),
        json!(int(o, "/status/updatedReplicas")),
        json!(int(o, "/status/availableReplicas")),
        age(o, clock),
        names,
        images,
        json!(selector),
    ]
    .into()
}

fn stateful_set(o: &Value, clock: &Clock) -> Row {
    let [names, images] = containers_and_images(list(o, "/spec/template/spec/containers"));
    vec![
        name(o),
        json!(format!(
            "{}/{}",
            int(o, "/status/readyReplicas"),
            int(o, "/spec/replicas")
        )),
        age(o, clock),
        names,
        images,
    ]
    .into()
}

fn daemon_set(o: &Value, clock: &Clock) -> Row {
    let [names, images] = containers_and_images(list(o, "/spec/template/spec/containers"));
    vec![
        name(o),
        json!(int(o, "/status/desiredNumberScheduled")),
        json!(int(o, "/status/currentNumberScheduled")),
        json!(int(o, "/status/numberReady")),
        json!(int(o, "/status/updatedNumberScheduled")),
        json!(int(o, "/status/numberAvailable")),
        json!(format_labels(map(o, "/spec/template/spec/nodeSelector"))),
        age(o, clock),
        names,
        images,
        json!(format_label_selector(o.pointer("/spec/selector"))),
    ]
    .into()
}

fn controller_revision(o: &Value, clock: &Clock) -> Row {
    let owner = list(o, "/metadata/ownerReferences")
        .iter()
        .find(|r| flag(r, "/controller") == Some(true));
    let controller = match owner {
        Some(r) => {
            let group = text(r, "/apiVersion")
                .rsplit_once('/')
                .map_or("", |(g, _)| g);
            let kind = text(r, "/kind");
            let group_kind = if group.is_empty() {
                kind.to_string()
            } else {
                format!("{kind}.{group}")
            };
            if kind.is_empty() && group.is_empty() {
                text(r, "/name").to_string()
            } else {
                format!("{}/{}", group_kind.to_lowercase(), text(r, "/name"))
            }
        }
        None => "<none>".into(),
    };
    vec![
        name(o),
        json!(controller),
        json!(int(o, "/revision")),
        age(o, clock),
    ]
    .into()
}

// --- batch --------------------------------------------------------------------------------

fn job(o: &Value, clock: &Clock) -> Row {
    let succeeded = int(o, "/status/succeeded");
    let completions = match o.pointer("/spec/completions").and_then(Value::as_i64) {
        Some(c) => format!("{succeeded}/{c}"),
        None => {
            let parallelism = int(o, "/spec/parallelism");
            if parallelism > 1 {
                format!("{succeeded}/1 of {parallelism}")
            } else {
                format!("{succeeded}/1")
            }
        }
    };
    let start = o.pointer("/status/startTime").filter(|t| !t.is_null());
    let duration = match (
        start,
        o.pointer("/status/completionTime").filter(|t| !t.is_null()),
    ) {
        (None, _) => String::new(),
        (Some(s), None) => clock.since(Some(s)),
        (Some(s), Some(c)) => clock.between(Some(s), Some(c)).unwrap_or_default(),
    };
    let conditions = list(o, "/status/conditions");
    let status = if condition_true(conditions, "Complete") {
        "Complete"
    } else if condition_true(conditions, "Failed") {
        "Failed"
    } else if deleting(o) {
        "Terminating"
    } else if condition_true(conditions, "Suspended") {
        "Suspended"
    } else if condition_true(conditions, "FailureTarget") {
        "FailureTarget"
    } else {
        "Running"
    };
    let [names, images] = containers_and_images(list(o, "/spec/template/spec/containers"));
    vec![
        name(o),
        json!(status),
        json!(completions),
        json!(duration),
        age(o, clock),
        names,
        images,
        json!(format_label_selector(o.pointer("/spec/selector"))),
    ]
    .into()
}

fn cron_job(o: &Value, clock: &Clock) -> Row {
    let last = match o
        .pointer("/status/lastScheduleTime")
        .filter(|t| !t.is_null())
    {
        Some(t) => clock.since(Some(t)),
        None => "<none>".into(),
    };
    let [names, images] =
        containers_and_images(list(o, "/spec/jobTemplate/spec/template/spec/containers"));
    vec![
        name(o),
        json!(text(o, "/spec/schedule")),
        json!(opt_text(o, "/spec/timeZone").unwrap_or("<none>")),
        json!(bool_ptr(flag(o, "/spec/suspend"))),
        json!(list(o, "/status/active").len() as i64),
        json!(last),
        age(o, clock),
        names,
        images,
        json!(format_label_selector(
            o.pointer("/spec/jobTemplate/spec/selector")
        )),
    ]
    .into()
}

// --- autoscaling --------------------------------------------------------------------------

/// The metrics of an HPA as the internal type has them: autoscaling/v2's list, or the CPU
/// target of autoscaling/v1.
fn hpa_metrics(o: &Value) -> (Vec<Value>, Vec<Value>) {
    // Printed from the internal object: a v1 view converts back, annotations and all.
    if o.get("apiVersion").and_then(Value::as_str) == Some("autoscaling/v1") {
        return hpa_metrics(&crate::testenv::registry::hpa::convert(o, "v2"));
    }
    if let Some(metrics) = o.pointer("/spec/metrics").and_then(Value::as_array) {
        return (metrics.clone(), list(o, "/status/currentMetrics").to_vec());
    }
    let Some(target) = o.pointer("/spec/targetCPUUtilizationPercentage") else {
        return (Vec::new(), Vec::new());
    };
    let spec = json!({"type": "Resource", "resource": {"name": "cpu",
        "target": {"type": "Utilization", "averageUtilization": target}}});
    let status = match o.pointer("/status/currentCPUUtilizationPercentage") {
        Some(current) => vec![json!({"type": "Resource", "resource": {"name": "cpu",
            "current": {"averageUtilization": current}}})],
        None => Vec::new(),
    };
    (vec![spec], status)
}

fn hpa_targets(specs: &[Value], statuses: &[Value]) -> String {
    if specs.is_empty() {
        return "<none>".into();
    }
    let max = 2;
    let mut out: Vec<String> = Vec::new();
    for (i, spec) in specs.iter().enumerate() {
        let status = statuses.get(i);
        let current_of = |source: &str, field: &str| {
            status
                .and_then(|s| s.get(source))
                .filter(|s| s.is_object())
                .and_then(|s| s.pointer(&format!("/current/{field}")))
                .filter(|v| !v.is_null())
        };
        let has_source = |source: &str| {
            status
                .and_then(|s| s.get(source))
                .is_some_and(Value::is_object)
        };
        let entry = match text(spec, "/type") {
            "External" | "Object" => {
                let source = if text(spec, "/type") == "External" {
                    "external"
                } else {
                    "object"
                };
                let target = spec.pointer(&format!("/{source}/target"));
                match target
                    .and_then(|t| t.get("averageValue"))
                    .filter(|v| !v.is_null())
                {
                    Some(avg) => {
                        let current = current_of(source, "averageValue")
                            .map_or_else(|| "<unknown>".to_string(), |v| quantity(Some(v)));
                        format!("{current}/{} (avg)", quantity(Some(avg)))
                    }
                    None => {
                        let current = if has_source(source) {
                            quantity(current_of(source, "value"))
                        } else {
                            "<unknown>".to_string()
                        };
                        format!(
                            "{current}/{}",
                            quantity(target.and_then(|t| t.get("value")))
                        )
                    }
                }
            }
            "Pods" => {
                let current = if has_source("pods") {
                    quantity(current_of("pods", "averageValue"))
                } else {
                    "<unknown>".to_string()
                };
                format!(
                    "{current}/{}",
                    quantity(spec.pointer("/pods/target/averageValue"))
                )
            }
            ty @ ("Resource" | "ContainerResource") => {
                let source = if ty == "Resource" {
                    "resource"
                } else {
                    "containerResource"
                };
                let resource_name = text(spec, &format!("/{source}/name"));
                let target = spec.pointer(&format!("/{source}/target"));
                match target
                    .and_then(|t| t.get("averageValue"))
                    .filter(|v| !v.is_null())
                {
                    Some(avg) => {
                        let current = if has_source(source) {
                            quantity(current_of(source, "averageValue"))
                        } else {
                            "<unknown>".to_string()
                        };
                        format!("{resource_name}: {current}/{}", quantity(Some(avg)))
                    }
                    None => {
                        let current = current_of(source, "averageUtilization")
                            .map_or_else(|| "<unknown>".to_string(), |v| format!("{}%", scalar(v)));
                        let target = target
                            .and_then(|t| t.get("averageUtilization"))
                            .filter(|v| !v.is_null())
                            .map_or_else(|| "<auto>".to_string(), |v| format!("{}%", scalar(v)));
                        format!("{resource_name}: {current}/{target}")
                    }
                }
            }
            _ => "<unknown type>".into(),
        };
        out.push(entry);
    }
    let count = out.len();
    if count > max {
        out.truncate(max);
        return format!("{} + {} more...", out.join(", "), count - max);
    }
    out.join(", ")
}

fn horizontal_pod_autoscaler(o: &Value, clock: &Clock) -> Row {
    let (specs, statuses) = hpa_metrics(o);
    let min = o
        .pointer("/spec/minReplicas")
        .and_then(Value::as_i64)
        .map_or_else(|| "<unset>".to_string(), |m| m.to_string());
    vec![
        name(o),
        json!(format!(
            "{}/{}",
            text(o, "/spec/scaleTargetRef/kind"),
            text(o, "/spec/scaleTargetRef/name")
        )),
        json!(hpa_targets(&specs, &statuses)),
        json!(min),
        json!(int(o, "/spec/maxReplicas")),
        json!(int(o, "/status/currentReplicas")),
        age(o, clock),
    ]
    .into()
}

// --- networking ---------------------------------------------------------------------------

fn ingress(o: &Value, clock: &Clock) -> Row {
    let rules = list(o, "/spec/rules");
    let max = 3;
    let mut hosts: Vec<&str> = Vec::new();
    let mut more = false;
    for rule in rules {
        if hosts.len() == max {
            more = true;
        }
        let host = text(rule, "/host");
        if !more && !host.is_empty() {
            hosts.push(host);
        }
    }
    let hosts = if hosts.is_empty() {
        "*".to_string()
    } else if more {
        format!("{} + {} more...", hosts.join(","), rules.len() - max)
    } else {
        hosts.join(",")
    };
    let ports = if list(o, "/spec/tls").is_empty() {
        "80"
    } else {
        "80, 443"
    };
    vec![
        name(o),
        json!(opt_text(o, "/spec/ingressClassName").unwrap_or("<none>")),
        json!(hosts),
        json!(
            o.pointer("/status/loadBalancer")
                .map(load_balancer)
                .unwrap_or_default()
        ),
        json!(ports),
        age(o, clock),
    ]
    .into()
}

fn ingress_class(o: &Value, clock: &Clock) -> Row {
    let parameters = match o.pointer("/spec/parameters").filter(|p| p.is_object()) {
        Some(p) => {
            let kind = match opt_text(p, "/apiGroup") {
                Some(group) => format!("{}.{group}", text(p, "/kind")),
                None => text(p, "/kind").to_string(),
            };
            format!("{kind}/{}", text(p, "/name"))
        }
        None => "<none>".into(),
    };
    vec![
        name(o),
        json!(text(o, "/spec/controller")),
        json!(parameters),
        age(o, clock),
    ]
    .into()
}

fn network_policy(o: &Value, clock: &Clock) -> Row {
    // The internal type's podSelector is a value, never nil: an absent one selects everything.
    let selector = o
        .pointer("/spec/podSelector")
        .cloned()
        .unwrap_or_else(|| json!({}));
    vec![
        name(o),
        json!(format_label_selector(Some(&selector))),
        age(o, clock),
    ]
    .into()
}

fn service_cidr(o: &Value, clock: &Clock) -> Row {
    let cidrs: Vec<String> = list(o, "/spec/cidrs").iter().map(scalar).collect();
    vec![name(o), json!(cidrs.join(",")), age(o, clock)].into()
}

fn ip_address(o: &Value, clock: &Clock) -> Row {
    let parent = match o.pointer("/spec/parentRef").filter(|p| p.is_object()) {
        Some(p) => {
            let resource = text(p, "/resource");
            let group = text(p, "/group");
            let mut s = if group.is_empty() {
                resource.to_lowercase()
            } else {
                format!("{resource}.{group}").to_lowercase()
            };
            if !text(p, "/namespace").is_empty() {
                s = format!("{s}/{}", text(p, "/namespace"));
            }
            format!("{s}/{}", text(p, "/name"))
        }
        None => "<none>".into(),
    };
    vec![name(o), json!(parent), age(o, clock)].into()
}

// --- discovery ----------------------------------------------------------------------------

fn endpoint_slice(o: &Value, clock: &Clock) -> Row {
    let max = 3;
    let ports = list(o, "/ports");
    let shown: Vec<String> = ports
        .iter()
        .take(max)
        .map(|p| {
            if let Some(n) = p.get("port").and_then(Value::as_i64) {
                n.to_string()
            } else if let Some(n) = opt_text(p, "/name") {
                n.to_string()
            } else {
                "*".into()
            }
        })
        .collect();
    let ports_cell = list_with_more(&shown, ports.len() > max, ports.len(), max);
    let addresses: Vec<String> = list(o, "/endpoints")
        .iter()
        .flat_map(|e| list(e, "/addresses").iter().map(scalar))
        .collect();
    let shown: Vec<String> = addresses.iter().take(max).cloned().collect();
    let endpoints_cell = list_with_more(&shown, addresses.len() > max, addresses.len(), max);
    vec![
        name(o),
        json!(text(o, "/addressType")),
        json!(ports_cell),
        json!(endpoints_cell),
        age(o, clock),
    ]
    .into()
}

// --- rbac ---------------------------------------------------------------------------------

fn binding(o: &Value, clock: &Clock) -> Row {
    let (mut users, mut groups, mut sas) = (Vec::new(), Vec::new(), Vec::new());
    for subject in list(o, "/subjects") {
        let name = text(subject, "/name").to_string();
        match text(subject, "/kind") {
            "ServiceAccount" => {
                let ns = text(subject, "/namespace");
                sas.push(if ns.is_empty() {
                    name
                } else {
                    format!("{ns}/{name}")
                });
            }
            "User" => users.push(name),
            "Group" => groups.push(name),
            _ => {}
        }
    }
    vec![
        name(o),
        json!(format!(
            "{}/{}",
            text(o, "/roleRef/kind"),
            text(o, "/roleRef/name")
        )),
        age(o, clock),
        json!(users.join(", ")),
        json!(groups.join(", ")),
        json!(sas.join(", ")),
    ]
    .into()
}

// --- certificates, coordination, scheduling, node -----------------------------------------

fn certificate_signing_request(o: &Value, clock: &Clock) -> Row {
    let conditions = list(o, "/status/conditions");
    let has = |ty: &str| conditions.iter().any(|c| text(c, "/type") == ty);
    let mut status = if has("Denied") {
        "Denied".to_string()
    } else if has("Approved") {
        "Approved".to_string()
    } else {
        "Pending".to_string()
    };
    if has("Failed") {
        status.push_str(",Failed");
    }
    if !text(o, "/status/certificate").is_empty() {
        status.push_str(",Issued");
    }
    let signer = match text(o, "/spec/signerName") {
        "" => "<none>",
        s => s,
    };
    let duration = match o.pointer("/spec/expirationSeconds").and_then(Value::as_i64) {
        Some(seconds) => human_duration(i128::from(seconds) * 1_000_000_000),
        None => "<none>".into(),
    };
    vec![
        name(o),
        age(o, clock),
        json!(signer),
        json!(text(o, "/spec/username")),
        json!(duration),
        json!(status),
    ]
    .into()
}

fn lease(o: &Value, clock: &Clock) -> Row {
    vec![
        name(o),
        json!(text(o, "/spec/holderIdentity")),
        age(o, clock),
    ]
    .into()
}

fn priority_class(o: &Value, clock: &Clock) -> Row {
    vec![
        name(o),
        json!(int(o, "/value")),
        json!(flag(o, "/globalDefault").unwrap_or(false)),
        age(o, clock),
        json!(text(o, "/preemptionPolicy")),
    ]
    .into()
}

fn runtime_class(o: &Value, clock: &Clock) -> Row {
    vec![name(o), json!(text(o, "/handler")), age(o, clock)].into()
}

// --- storage ------------------------------------------------------------------------------

fn storage_class(o: &Value, clock: &Clock) -> Row {
    let is_default = |key: &str| text(o, &format!("/metadata/annotations/{key}")) == "true";
    let mut shown = text(o, "/metadata/name").to_string();
    if is_default("storageclass.kubernetes.io~1is-default-class")
        || is_default("storageclass.beta.kubernetes.io~1is-default-class")
    {
        shown.push_str(" (default)");
    }
    vec![
        json!(shown),
        json!(text(o, "/provisioner")),
        json!(opt_text(o, "/reclaimPolicy").unwrap_or("Delete")),
        json!(opt_text(o, "/volumeBindingMode").unwrap_or("Immediate")),
        json!(flag(o, "/allowVolumeExpansion").unwrap_or(false)),
        age(o, clock),
    ]
    .into()
}

fn volume_attributes_class(o: &Value, clock: &Clock) -> Row {
    let mut shown = text(o, "/metadata/name").to_string();
    if text(
        o,
        "/metadata/annotations/volumeattributesclass.alpha.kubernetes.io~1is-default-class",
    ) == "true"
    {
        shown.push_str(" (default)");
    }
    vec![json!(shown), json!(text(o, "/driverName")), age(o, clock)].into()
}

fn volume_attachment(o: &Value, clock: &Clock) -> Row {
    vec![
        name(o),
        json!(text(o, "/spec/attacher")),
        json!(text(o, "/spec/source/persistentVolumeName")),
        json!(text(o, "/spec/nodeName")),
        json!(flag(o, "/status/attached").unwrap_or(false)),
        age(o, clock),
    ]
    .into()
}

fn csi_node(o: &Value, clock: &Clock) -> Row {
    vec![
        name(o),
        json!(list(o, "/spec/drivers").len() as i64),
        age(o, clock),
    ]
    .into()
}

fn csi_driver(o: &Value, clock: &Clock) -> Row {
    let modes: Vec<String> = list(o, "/spec/volumeLifecycleModes")
        .iter()
        .map(scalar)
        .collect();
    let modes = if modes.is_empty() {
        "<none>".to_string()
    } else {
        modes.join(",")
    };
    let tokens = match o.pointer("/spec/tokenRequests").and_then(Value::as_array) {
        Some(requests) => requests
            .iter()
            .map(|t| text(t, "/audience"))
            .collect::<Vec<_>>()
            .join(","),
        None => "<unset>".into(),
    };
    vec![
        name(o),
        json!(flag(o, "/spec/attachRequired").unwrap_or(true)),
        json!(flag(o, "/spec/podInfoOnMount").unwrap_or(false)),
        json!(flag(o, "/spec/storageCapacity").unwrap_or(false)),
        json!(tokens),
        json!(flag(o, "/spec/requiresRepublish").unwrap_or(false)),
        json!(modes),
        age(o, clock),
    ]
    .into()
}

// --- admissionregistration ----------------------------------------------------------------

fn webhook_configuration(o: &Value, clock: &Clock) -> Row {
    vec![
        name(o),
        json!(list(o, "/webhooks").len() as i64),
        age(o, clock),
    ]
    .into()
}

fn param_kind(o: &Value) -> String {
    match o.pointer("/spec/paramKind").filter(|p| p.is_object()) {
        Some(p) => format!("{}/{}", text(p, "/apiVersion"), text(p, "/kind")),
        None => "<unset>".into(),
    }
}

fn validating_admission_policy(o: &Value, clock: &Clock) -> Row {
    vec![
        name(o),
        json!(list(o, "/spec/validations").len() as i64),
        json!(param_kind(o)),
        age(o, clock),
    ]
    .into()
}

fn mutating_admission_policy(o: &Value, clock: &Clock) -> Row {
    vec![
        name(o),
        json!(list(o, "/spec/mutations").len() as i64),
        json!(param_kind(o)),
        age(o, clock),
    ]
    .into()
}

fn admission_policy_binding(o: &Value, clock: &Clock) -> Row {
    let param = match o.pointer("/spec/paramRef").filter(|p| p.is_object()) {
        Some(p) if !text(p, "/name").is_empty() => match text(p, "/namespace") {
            "" => format!("*/{}", text(p, "/name")),
            ns => format!("{ns}/{}", text(p, "/name")),
        },
        Some(p) => match p.get("selector").filter(|s| s.is_object()) {
            Some(s) => label_selector_go_string(s),
            None => "<unset>".into(),
        },
        None => "<unset>".into(),
    };
    vec![
        name(o),
        json!(text(o, "/spec/policyName")),
        json!(param),
        age(o, clock),
    ]
    .into()
}

// --- flowcontrol --------------------------------------------------------------------------

fn flow_schema(o: &Value, clock: &Clock) -> Row {
    let distinguisher = match o
        .pointer("/spec/distinguisherMethod")
        .filter(|d| d.is_object())
    {
        Some(d) => text(d, "/type").to_string(),
        None => "<none>".into(),
    };
    let dangling =
        condition(list(o, "/status/conditions"), "Dangling").map_or("?", |c| text(c, "/status"));
    vec![
        name(o),
        json!(text(o, "/spec/priorityLevelConfiguration/name")),
        json!(int(o, "/spec/matchingPrecedence")),
        json!(distinguisher),
        age(o, clock),
        json!(dangling),
    ]
    .into()
}

fn priority_level_configuration(o: &Value, clock: &Clock) -> Row {
    let none = || json!("<none>");
    let (mut shares, mut queues, mut hand, mut length) = (none(), none(), none(), none());
    if let Some(limited) = o.pointer("/spec/limited").filter(|l| l.is_object()) {
        shares = json!(int(limited, "/nominalConcurrencyShares"));
        if let Some(q) = limited
            .pointer("/limitResponse/queuing")
            .filter(|q| q.is_object())
        {
            queues = json!(int(q, "/queues"));
            hand = json!(int(q, "/handSize"));
            length = json!(int(q, "/queueLengthLimit"));
        }
    }
    vec![
        name(o),
        json!(text(o, "/spec/type")),
        shares,
        queues,
        hand,
        length,
        age(o, clock),
    ]
    .into()
}

// --- resource -----------------------------------------------------------------------------

fn resource_claim(o: &Value, clock: &Clock) -> Row {
    let mut states = Vec::new();
    if deleting(o) {
        states.push("deleted");
    }
    if o.pointer("/status/allocation")
        .is_some_and(Value::is_object)
    {
        states.push("allocated");
        if !list(o, "/status/reservedFor").is_empty() {
            states.push("reserved");
        }
    } else if !deleting(o) {
        states.push("pending");
    }
    vec![name(o), json!(states.join(",")), age(o, clock)].into()
}

fn name_and_age(o: &Value, clock: &Clock) -> Row {
    vec![name(o), age(o, clock)].into()
}

fn resource_slice(o: &Value, clock: &Clock) -> Row {
    vec![
        name(o),
        json!(text(o, "/spec/nodeName")),
        json!(text(o, "/spec/driver")),
        json!(text(o, "/spec/pool/name")),
        age(o, clock),
    ]
    .into()
}

// --- apiregistration ----------------------------------------------------------------------

fn api_service(o: &Value, clock: &Clock) -> Row {
    let service = match o.pointer("/spec/service").filter(|s| s.is_object()) {
        Some(s) => format!("{}/{}", text(s, "/namespace"), text(s, "/name")),
        None => "Local".into(),
    };
    let available = match condition(list(o, "/status/conditions"), "Available") {
        Some(c) if text(c, "/status") == "True" => "True".to_string(),
        Some(c) if !text(c, "/reason").is_empty() => {
            format!("{} ({})", text(c, "/status"), text(c, "/reason"))
        }
        Some(c) => text(c, "/status").to_string(),
        None => "Unknown".into(),
    };
    vec![name(o), json!(service), json!(available), age(o, clock)].into()
}

// --- the table of printers ----------------------------------------------------------------

const CORE: &[&str] = &[""];

/// Every built-in printer, by kind.
pub(crate) static PRINTERS: &[Printer] = &[
    Printer {
        groups: CORE,
        kind: "Pod",
        columns: &[
            NAME_COL,
            col(
                "Ready",
                "string",
                "The aggregate readiness state of this pod for accepting traffic.",
            ),
            col(
                "Status",
                "string",
                "The aggregate status of the containers in this pod.",
            ),
            col(
                "Restarts",
                "string",
                "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
            ),
            AGE_COL,
            wide("IP", "string", POD_IP),
            wide("Node", "string", POD_NODE_NAME),
            wide("Nominated Node", "string", POD_NOMINATED_NODE),
            wide("Readiness Gates", "string", POD_READINESS_GATES),
        ],
        row: pod,
    },
    Printer {
        groups: CORE,
        kind: "PodTemplate",
        columns: &[
            NAME_COL,
            col("Containers", "string", CONTAINERS),
            col("Images", "string", IMAGES),
            col("Pod Labels", "string", "The labels for the pod template."),
        ],
        row: pod_template,
    },
    Printer {
        groups: &["policy"],
        kind: "PodDisruptionBudget",
        columns: &[
            NAME_COL,
            col(
                "Min Available",
                "string",
                "The minimum number of pods that must be available.",
            ),
            col(
                "Max Unavailable",
                "string",
                "The maximum number of pods that may be unavailable.",
            ),
            col(
                "Allowed Disruptions",
                "integer",
                "Calculated number of pods that may be disrupted at this time.",
            ),
            AGE_COL,
        ],
        row: pod_disruption_budget,
    },
    Printer {
        groups: CORE,
        kind: "ReplicationController",
        columns: &[
            NAME_COL,
            col("Desired", "integer", RC_SPEC_REPLICAS),
            col("Current", "integer", RC_STATUS_REPLICAS),
            col("Ready", "integer", RC_READY_REPLICAS),
            AGE_COL,
            wide("Containers", "string", CONTAINERS),
            wide("Images", "string", IMAGES),
            wide("Selector", "string", RC_SELECTOR),
        ],
        row: replication_controller,
    },
    Printer {
        groups: &["apps"],
        kind: "ReplicaSet",
        columns: &[
            NAME_COL,
            col("Desired", "integer", RS_SPEC_REPLICAS),
            col("Current", "integer", RS_STATUS_REPLICAS),
            col("Ready", "integer", RS_READY_REPLICAS),
            AGE_COL,
            wide("Containers", "string", CONTAINERS),
            wide("Images", "string", IMAGES),
            wide("Selector", "string", RS_SELECTOR),
        ],
        row: replica_set,
    },
    Printer {
        groups: &["apps"],
        kind: "DaemonSet",
        columns: &[
            NAME_COL,
            col("Desired", "integer", DS_DESIRED),
            col("Current", "integer", DS_CURRENT),
            col("Ready", "integer", DS_READY),
            col("Up-to-date", "integer", DS_UPDATED),
            col("Available", "integer", DS_AVAILABLE),
            col("Node Selector", "string", POD_NODE_SELECTOR),
            AGE_COL,
            wide("Containers", "string", CONTAINERS),
            wide("Images", "string", IMAGES),
            wide("Selector", "string", DS_SELECTOR),
        ],
        row: daemon_set,
    },
    Printer {
        groups: &["batch"],
        kind: "Job",
        columns: &[
            NAME_COL,
            col("Status", "string", "Status of the job."),
            col("Completions", "string", JOB_SUCCEEDED),
            col("Duration", "string", "Time required to complete the job."),
            AGE_COL,
            wide("Containers", "string", CONTAINERS),
            wide("Images", "string", IMAGES),
            wide("Selector", "string", JOB_SELECTOR),
        ],
        row: job,
    },
    Printer {
        groups: &["batch"],
        kind: "CronJob",
        columns: &[
            NAME_COL,
            col("Schedule", "string", CRONJOB_SCHEDULE),
            col("Timezone", "string", CRONJOB_TIMEZONE),
            col("Suspend", "boolean", CRONJOB_SUSPEND),
            col("Active", "integer", CRONJOB_ACTIVE),
            col("Last Schedule", "string", CRONJOB_LAST_SCHEDULE),
            AGE_COL,
            wide("Containers", "string", CONTAINERS),
            wide("Images", "string", IMAGES),
            wide("Selector", "string", JOB_SELECTOR),
        ],
        row: cron_job,
    },
    Printer {
        groups: CORE,
        kind: "Service",
        columns: &[
            NAME_COL,
            col("Type", "string", SERVICE_TYPE),
            col("Cluster-IP", "string", SERVICE_CLUSTER_IP),
            col("External-IP", "string", SERVICE_EXTERNAL_IPS),
            col("Port(s)", "string", SERVICE_PORTS),
            AGE_COL,
            wide("Selector", "string", SERVICE_SELECTOR),
        ],
        row: service,
    },
    Printer {
        groups: &["networking.k8s.io"],
        kind: "Ingress",
        columns: &[
            NAME_COL,
            col(
                "Class",
                "string",
                "The name of the IngressClass resource that should be used for additional configuration",
            ),
            col(
                "Hosts",
                "string",
                "Hosts that incoming requests are matched against before the ingress rule",
            ),
            col(
                "Address",
                "string",
                "Address is a list containing ingress points for the load-balancer",
            ),
            col("Ports", "string", "Ports of TLS configurations that open"),
            AGE_COL,
        ],
        row: ingress,
    },
    Printer {
        groups: &["networking.k8s.io"],
        kind: "IngressClass",
        columns: &[
            NAME_COL,
            col(
                "Controller",
                "string",
                "Controller that is responsible for handling this class",
            ),
            col(
                "Parameters",
                "string",
                "A reference to a resource with additional parameters",
            ),
            AGE_COL,
        ],
        row: ingress_class,
    },
    Printer {
        groups: &["apps"],
        kind: "StatefulSet",
        columns: &[
            NAME_COL,
            col("Ready", "string", "Number of the pod with ready state"),
            AGE_COL,
            wide("Containers", "string", CONTAINERS),
            wide("Images", "string", IMAGES),
        ],
        row: stateful_set,
    },
    Printer {
        groups: CORE,
        kind: "Endpoints",
        columns: &[
            NAME_COL,
            col("Endpoints", "string", ENDPOINTS_SUBSETS),
            AGE_COL,
        ],
        row: endpoints,
    },
    Printer {
        groups: CORE,
        kind: "Node",
        columns: &[
            NAME_COL,
            col("Status", "string", "The status of the node"),
            col("Roles", "string", "The roles of the node"),
            AGE_COL,
            col("Version", "string", NODE_KUBELET_VERSION),
            wide("Internal-IP", "string", NODE_ADDRESSES),
            wide("External-IP", "string", NODE_ADDRESSES),
            wide("OS-Image", "string", NODE_OS_IMAGE),
            wide("Kernel-Version", "string", NODE_KERNEL_VERSION),
            wide("Container-Runtime", "string", NODE_CONTAINER_RUNTIME),
        ],
        row: node,
    },
    Printer {
        groups: &["", "events.k8s.io"],
        kind: "Event",
        columns: &[
            col("Last Seen", "string", EVENT_LAST_TIMESTAMP),
            col("Type", "string", EVENT_TYPE),
            col("Reason", "string", EVENT_REASON),
            col("Object", "string", EVENT_INVOLVED_OBJECT),
            wide("Subobject", "string", OBJECT_REFERENCE_FIELD_PATH),
            wide("Source", "string", EVENT_SOURCE),
            col("Message", "string", EVENT_MESSAGE),
            wide("First Seen", "string", EVENT_FIRST_TIMESTAMP),
            wide("Count", "string", EVENT_COUNT),
            Column {
                name: "Name",
                ty: "string",
                format: "name",
                description: NAME,
                priority: 1,
            },
        ],
        row: event,
    },
    Printer {
        groups: CORE,
        kind: "Namespace",
        columns: &[
            NAME_COL,
            col("Status", "string", "The status of the namespace"),
            AGE_COL,
        ],
        row: namespace,
    },
    Printer {
        groups: CORE,
        kind: "Secret",
        columns: &[
            NAME_COL,
            col("Type", "string", SECRET_TYPE),
            col("Data", "string", SECRET_DATA),
            AGE_COL,
        ],
        row: secret,
    },
    Printer {
        groups: CORE,
        kind: "ServiceAccount",
        columns: &[NAME_COL, AGE_COL],
        row: service_account,
    },
    Printer {
        groups: CORE,
        kind: "PersistentVolume",
        columns: &[
            NAME_COL,
            col("Capacity", "string", PV_CAPACITY),
            col("Access Modes", "string", PV_ACCESS_MODES),
            col("Reclaim Policy", "string", PV_RECLAIM_POLICY),
            col("Status", "string", PV_PHASE),
            col("Claim", "string", PV_CLAIM_REF),
            col("StorageClass", "string", "StorageClass of the pv"),
            col(
                "VolumeAttributesClass",
                "string",
                "VolumeAttributesClass of the pv",
            ),
            col("Reason", "string", PV_REASON),
            AGE_COL,
            wide("VolumeMode", "string", PV_VOLUME_MODE),
        ],
        row: persistent_volume,
    },
    Printer {
        groups: CORE,
        kind: "PersistentVolumeClaim",
        columns: &[
            NAME_COL,
            col("Status", "string", PVC_PHASE),
            col("Volume", "string", PVC_VOLUME_NAME),
            col("Capacity", "string", PVC_CAPACITY),
            col("Access Modes", "string", PVC_ACCESS_MODES),
            col("StorageClass", "string", "StorageClass of the pvc"),
            col(
                "VolumeAttributesClass",
                "string",
                "VolumeAttributesClass of the pvc",
            ),
            AGE_COL,
            wide("VolumeMode", "string", PVC_VOLUME_MODE),
        ],
        row: persistent_volume_claim,
    },
    Printer {
        groups: CORE,
        kind: "ComponentStatus",
        columns: &[
            NAME_COL,
            col("Status", "string", "Status of the component conditions"),
            col("Message", "string", "Message of the component conditions"),
            col("Error", "string", "Error of the component conditions"),
        ],
        row: component_status,
    },
    Printer {
        groups: &["apps"],
        kind: "Deployment",
        columns: &[
            NAME_COL,
            col("Ready", "string", "Number of the pod with ready state"),
            col("Up-to-date", "string", DEPLOYMENT_UPDATED),
            col("Available", "string", DEPLOYMENT_AVAILABLE),
            AGE_COL,
            wide("Containers", "string", CONTAINERS),
            wide("Images", "string", IMAGES),
            wide("Selector", "string", DEPLOYMENT_SELECTOR),
        ],
        row: deployment,
    },
    Printer {
        groups: &["autoscaling"],
        kind: "HorizontalPodAutoscaler",
        columns: &[
            NAME_COL,
            col("Reference", "string", HPA_SCALE_TARGET_REF),
            col("Targets", "string", HPA_METRICS),
            col("MinPods", "string", HPA_MIN_REPLICAS),
            col("MaxPods", "string", HPA_MAX_REPLICAS),
            col("Replicas", "string", HPA_CURRENT_REPLICAS),
            AGE_COL,
        ],
        row: horizontal_pod_autoscaler,
    },
    Printer {
        groups: CORE,
        kind: "ConfigMap",
        columns: &[NAME_COL, col("Data", "string", CONFIGMAP_DATA), AGE_COL],
        row: config_map,
    },
    Printer {
        groups: &["networking.k8s.io"],
        kind: "NetworkPolicy",
        columns: &[
            NAME_COL,
            col("Pod-Selector", "string", NETWORK_POLICY_POD_SELECTOR),
            AGE_COL,
        ],
        row: network_policy,
    },
    Printer {
        groups: &["rbac.authorization.k8s.io"],
        kind: "RoleBinding",
        columns: &[
            NAME_COL,
            col("Role", "string", ROLE_BINDING_ROLE_REF),
            AGE_COL,
            wide("Users", "string", "Users in the roleBinding"),
            wide("Groups", "string", "Groups in the roleBinding"),
            wide(
                "ServiceAccounts",
                "string",
                "ServiceAccounts in the roleBinding",
            ),
        ],
        row: binding,
    },
    Printer {
        groups: &["rbac.authorization.k8s.io"],
        kind: "ClusterRoleBinding",
        columns: &[
            NAME_COL,
            col("Role", "string", CLUSTER_ROLE_BINDING_ROLE_REF),
            AGE_COL,
            wide("Users", "string", "Users in the clusterRoleBinding"),
            wide("Groups", "string", "Groups in the clusterRoleBinding"),
            wide(
                "ServiceAccounts",
                "string",
                "ServiceAccounts in the clusterRoleBinding",
            ),
        ],
        row: binding,
    },
    Printer {
        groups: &["certificates.k8s.io"],
        kind: "CertificateSigningRequest",
        columns: &[
            NAME_COL,
            AGE_COL,
            col("SignerName", "string", CSR_SIGNER_NAME),
            col("Requestor", "string", CSR_REQUEST),
            col("RequestedDuration", "string", CSR_EXPIRATION_SECONDS),
            col("Condition", "string", CSR_CONDITIONS),
        ],
        row: certificate_signing_request,
    },
    Printer {
        groups: &["coordination.k8s.io"],
        kind: "Lease",
        columns: &[NAME_COL, col("Holder", "string", LEASE_HOLDER), AGE_COL],
        row: lease,
    },
    Printer {
        groups: &["storage.k8s.io"],
        kind: "StorageClass",
        columns: &[
            NAME_COL,
            col("Provisioner", "string", STORAGE_CLASS_PROVISIONER),
            col("ReclaimPolicy", "string", STORAGE_CLASS_RECLAIM_POLICY),
            col("VolumeBindingMode", "string", STORAGE_CLASS_BINDING_MODE),
            col(
                "AllowVolumeExpansion",
                "string",
                STORAGE_CLASS_ALLOW_EXPANSION,
            ),
            AGE_COL,
        ],
        row: storage_class,
    },
    Printer {
        groups: &["storage.k8s.io"],
        kind: "VolumeAttributesClass",
        columns: &[
            NAME_COL,
            col("DriverName", "string", VAC_DRIVER_NAME),
            AGE_COL,
        ],
        row: volume_attributes_class,
    },
    Printer {
        groups: &["apps"],
        kind: "ControllerRevision",
        columns: &[
            NAME_COL,
            col("Controller", "string", "Controller of the object"),
            col("Revision", "string", CONTROLLER_REVISION_REVISION),
            AGE_COL,
        ],
        row: controller_revision,
    },
    Printer {
        groups: CORE,
        kind: "ResourceQuota",
        columns: &[
            NAME_COL,
            col(
                "Request",
                "string",
                "Request represents a minimum amount of cpu/memory that a container may consume.",
            ),
            col(
                "Limit",
                "string",
                "Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node.",
            ),
            AGE_COL,
        ],
        row: resource_quota,
    },
    Printer {
        groups: &["scheduling.k8s.io"],
        kind: "PriorityClass",
        columns: &[
            NAME_COL,
            col("Value", "integer", PRIORITY_CLASS_VALUE),
            col("Global-Default", "boolean", PRIORITY_CLASS_GLOBAL_DEFAULT),
            AGE_COL,
            col("PreemptionPolicy", "string", PRIORITY_CLASS_PREEMPTION),
        ],
        row: priority_class,
    },
    Printer {
        groups: &["node.k8s.io"],
        kind: "RuntimeClass",
        // The upstream description names an ObjectMeta field that does not exist: it is empty.
        columns: &[NAME_COL, col("Handler", "string", ""), AGE_COL],
        row: runtime_class,
    },
    Printer {
        groups: &["storage.k8s.io"],
        kind: "VolumeAttachment",
        columns: &[
            NAME_COL,
            Column {
                name: "Attacher",
                ty: "string",
                format: "name",
                description: VA_ATTACHER,
                priority: 0,
            },
            col("PV", "string", VA_PV_NAME),
            col("Node", "string", VA_NODE_NAME),
            col("Attached", "boolean", VA_ATTACHED),
            AGE_COL,
        ],
        row: volume_attachment,
    },
    Printer {
        groups: &["discovery.k8s.io"],
        kind: "EndpointSlice",
        columns: &[
            NAME_COL,
            col("AddressType", "string", ENDPOINT_SLICE_ADDRESS_TYPE),
            col("Ports", "string", ENDPOINT_SLICE_PORTS),
            col("Endpoints", "string", ENDPOINT_SLICE_ENDPOINTS),
            AGE_COL,
        ],
        row: endpoint_slice,
    },
    Printer {
        groups: &["storage.k8s.io"],
        kind: "CSINode",
        columns: &[
            NAME_COL,
            col(
                "Drivers",
                "integer",
                "Drivers indicates the number of CSI drivers registered on the node",
            ),
            AGE_COL,
        ],
        row: csi_node,
    },
    Printer {
        groups: &["storage.k8s.io"],
        kind: "CSIDriver",
        columns: &[
            NAME_COL,
            col("AttachRequired", "boolean", CSI_DRIVER_ATTACH_REQUIRED),
            col("PodInfoOnMount", "boolean", CSI_DRIVER_POD_INFO),
            col("StorageCapacity", "boolean", CSI_DRIVER_STORAGE_CAPACITY),
            col("TokenRequests", "string", CSI_DRIVER_TOKEN_REQUESTS),
            col(
                "RequiresRepublish",
                "boolean",
                CSI_DRIVER_REQUIRES_REPUBLISH,
            ),
            col("Modes", "string", CSI_DRIVER_MODES),
            AGE_COL,
        ],
        row: csi_driver,
    },
    Printer {
        groups: &["admissionregistration.k8s.io"],
        kind: "MutatingWebhookConfiguration",
        columns: &[
            NAME_COL,
            col(
                "Webhooks",
                "integer",
                "Webhooks indicates the number of webhooks registered in this configuration",
            ),
            AGE_COL,
        ],
        row: webhook_configuration,
    },
    Printer {
        groups: &["admissionregistration.k8s.io"],
        kind: "ValidatingWebhookConfiguration",
        columns: &[
            NAME_COL,
            col(
                "Webhooks",
                "integer",
                "Webhooks indicates the number of webhooks registered in this configuration",
            ),
            AGE_COL,
        ],
        row: webhook_configuration,
    },
    Printer {
        groups: &["admissionregistration.k8s.io"],
        kind: "ValidatingAdmissionPolicy",
        columns: &[
            NAME_COL,
            col(
                "Validations",
                "integer",
                "Validations indicates the number of validation rules defined in this configuration",
            ),
            col(
                "ParamKind",
                "string",
                "ParamKind specifies the kind of resources used to parameterize this policy",
            ),
            AGE_COL,
        ],
        row: validating_admission_policy,
    },
    Printer {
        groups: &["admissionregistration.k8s.io"],
        kind: "ValidatingAdmissionPolicyBinding",
        columns: &[
            NAME_COL,
            col(
                "PolicyName",
                "string",
                "PolicyName indicates the policy definition which the policy binding binded to",
            ),
            col(
                "ParamRef",
                "string",
                "ParamRef indicates the param resource which sets the configuration param",
            ),
            AGE_COL,
        ],
        row: admission_policy_binding,
    },
    Printer {
        groups: &["admissionregistration.k8s.io"],
        kind: "MutatingAdmissionPolicy",
        columns: &[
            NAME_COL,
            col(
                "Mutations",
                "integer",
                "Mutation indicates the number of mutations rules defined in this configuration",
            ),
            col(
                "ParamKind",
                "string",
                "ParamKind specifies the kind of resources used to parameterize this policy",
            ),
            AGE_COL,
        ],
        row: mutating_admission_policy,
    },
    Printer {
        groups: &["admissionregistration.k8s.io"],
        kind: "MutatingAdmissionPolicyBinding",
        columns: &[
            NAME_COL,
            col(
                "PolicyName",
                "string",
                "PolicyName indicates the policy definition which the policy binding binded to",
            ),
            col(
                "ParamRef",
                "string",
                "ParamRef indicates the param resource which sets the configuration param",
            ),
            AGE_COL,
        ],
        row: admission_policy_binding,
    },
    Printer {
        groups: &["flowcontrol.apiserver.k8s.io"],
        kind: "FlowSchema",
        columns: &[
            NAME_COL,
            col("PriorityLevel", "string", FLOW_SCHEMA_PRIORITY_LEVEL),
            col("MatchingPrecedence", "string", FLOW_SCHEMA_PRECEDENCE),
            col("DistinguisherMethod", "string", FLOW_SCHEMA_DISTINGUISHER),
            AGE_COL,
            col(
                "MissingPL",
                "string",
                "references a broken or non-existent PriorityLevelConfiguration",
            ),
        ],
        row: flow_schema,
    },
    Printer {
        groups: &["flowcontrol.apiserver.k8s.io"],
        kind: "PriorityLevelConfiguration",
        columns: &[
            NAME_COL,
            col("Type", "string", PLC_TYPE),
            col("NominalConcurrencyShares", "string", PLC_SHARES),
            col("Queues", "string", PLC_QUEUES),
            col("HandSize", "string", PLC_HAND_SIZE),
            col("QueueLengthLimit", "string", PLC_QUEUE_LENGTH),
            AGE_COL,
        ],
        row: priority_level_configuration,
    },
    Printer {
        groups: &["resource.k8s.io"],
        kind: "DeviceClass",
        columns: &[NAME_COL, AGE_COL],
        row: name_and_age,
    },
    Printer {
        groups: &["resource.k8s.io"],
        kind: "ResourceClaim",
        columns: &[
            NAME_COL,
            col(
                "State",
                "string",
                "A summary of the current state (allocated, pending, reserved, etc.).",
            ),
            AGE_COL,
        ],
        row: resource_claim,
    },
    Printer {
        groups: &["resource.k8s.io"],
        kind: "ResourceClaimTemplate",
        columns: &[NAME_COL, AGE_COL],
        row: name_and_age,
    },
    Printer {
        groups: &["resource.k8s.io"],
        kind: "ResourceSlice",
        columns: &[
            NAME_COL,
            col("Node", "string", RESOURCE_SLICE_NODE),
            col("Driver", "string", RESOURCE_SLICE_DRIVER),
            col("Pool", "string", RESOURCE_POOL_NAME),
            AGE_COL,
        ],
        row: resource_slice,
    },
    Printer {
        groups: &["networking.k8s.io"],
        kind: "ServiceCIDR",
        columns: &[
            NAME_COL,
            col("CIDRs", "string", SERVICE_CIDR_CIDRS),
            AGE_COL,
        ],
        row: service_cidr,
    },
    Printer {
        groups: &["networking.k8s.io"],
        kind: "IPAddress",
        columns: &[NAME_COL, col("ParentRef", "string", IP_ADDRESS_PARENT_REF)],
        row: ip_address,
    },
    Printer {
        groups: &["apiregistration.k8s.io"],
        kind: "APIService",
        columns: &[
            NAME_COL,
            col(
                "Service",
                "string",
                "The reference to the service that hosts this API endpoint.",
            ),
            col("Available", "string", "Whether this service is available."),
            AGE_COL,
        ],
        row: api_service,
    },
];

/// The order kube-apiserver prints a list of FlowSchemas in: by matching precedence, then name.
pub(crate) fn flow_schema_order(a: &Value, b: &Value) -> std::cmp::Ordering {
    int(a, "/spec/matchingPrecedence")
        .cmp(&int(b, "/spec/matchingPrecedence"))
        .then_with(|| text(a, "/metadata/name").cmp(text(b, "/metadata/name")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cells(group: &str, kind: &str, object: &Value) -> Vec<Value> {
        let printer = printer(group, kind).expect("printer");
        (printer.row)(object, &Clock::now()).cells
    }

    #[test]
    fn every_printer_prints_one_cell_per_column() {
        let minimal =
            json!({"metadata": {"name": "x", "creationTimestamp": "2020-01-01T00:00:00Z"}});
        for p in PRINTERS {
            let row = (p.row)(&minimal, &Clock::now());
            // Upstream's IPAddress rows carry an Age cell its columns do not declare.
            let extra = usize::from(p.kind == "IPAddress");
            assert_eq!(row.cells.len(), p.columns.len() + extra, "{}", p.kind);
            assert!(p.columns.iter().any(|c| c.format == "name"), "{}", p.kind);
        }
    }

    #[test]
    fn kinds_left_to_the_default_convertor_have_no_printer() {
        for (group, kind) in [
            ("", "LimitRange"),
            ("rbac.authorization.k8s.io", "Role"),
            ("rbac.authorization.k8s.io", "ClusterRole"),
            ("storage.k8s.io", "CSIStorageCapacity"),
            ("apiextensions.k8s.io", "CustomResourceDefinition"),
        ] {
            assert!(printer(group, kind).is_none(), "{kind}");
        }
        assert!(printer("events.k8s.io", "Event").is_some());
    }

    #[test]
    fn pod_status_follows_its_containers() {
        let pending = json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "a"}]},
            "status": {"phase": "Pending"}});
        let c = cells("", "Pod", &pending);
        assert_eq!(c[1..4], [json!("0/1"), json!("Pending"), json!("0")]);
        assert_eq!(
            c[5..],
            [
                json!("<none>"),
                json!("<none>"),
                json!("<none>"),
                json!("<none>")
            ]
        );

        let crashing = json!({"metadata": {"name": "p"},
            "spec": {"containers": [{"name": "a"}, {"name": "b"}], "nodeName": "n1",
                     "readinessGates": [{"conditionType": "x"}]},
            "status": {"phase": "Running", "podIPs": [{"ip": "10.0.0.1"}],
                "conditions": [{"type": "x", "status": "True"}],
                "containerStatuses": [
                    {"name": "a", "ready": true, "restartCount": 0, "state": {"running": {}}},
                    {"name": "b", "ready": false, "restartCount": 3,
                     "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}});
        let c = cells("", "Pod", &crashing);
        assert_eq!(
            c[1..4],
            [json!("1/2"), json!("CrashLoopBackOff"), json!("3")]
        );
        assert_eq!(c[5..7], [json!("10.0.0.1"), json!("n1")]);
        assert_eq!(c[8], json!("1/1"));

        let init = json!({"metadata": {"name": "p"},
            "spec": {"initContainers": [{"name": "i"}], "containers": [{"name": "a"}]},
            "status": {"phase": "Pending", "initContainerStatuses": [{"name": "i", "state": {"running": {}}}]}});
        assert_eq!(cells("", "Pod", &init)[2], json!("Init:0/1"));

        let done = json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "a"}]},
            "status": {"phase": "Succeeded", "containerStatuses": [
                {"name": "a", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]}});
        let row = (printer("", "Pod").expect("pod").row)(&done, &Clock::now());
        assert_eq!(row.cells[2], json!("Completed"));
        assert_eq!(
            row.conditions.expect("conditions")[0]["reason"],
            json!("Succeeded")
        );

        let deleting = json!({"metadata": {"name": "p", "deletionTimestamp": "2020-01-01T00:00:00Z"},
            "status": {"phase": "Running"}});
        assert_eq!(cells("", "Pod", &deleting)[2], json!("Terminating"));
    }

    #[test]
    fn service_external_ip_and_ports() {
        let svc = |spec: Value, status: Value| {
            cells(
                "",
                "Service",
                &json!({"metadata": {"name": "s"}, "spec": spec, "status": status}),
            )
        };
        let c = svc(
            json!({"type": "NodePort", "clusterIPs": ["10.0.0.9"], "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"}]}),
            json!({}),
        );
        assert_eq!(
            c[2..5],
            [json!("10.0.0.9"), json!("<none>"), json!("80:30080/TCP")]
        );
        let lb = svc(json!({"type": "LoadBalancer"}), json!({}));
        assert_eq!(lb[3], json!("<pending>"));
        let lb = svc(
            json!({"type": "LoadBalancer", "externalIPs": ["1.1.1.1"]}),
            json!({"loadBalancer": {"ingress": [{"ip": "2.2.2.2"}, {"hostname": "a.example"}]}}),
        );
        assert_eq!(lb[3], json!("2.2.2.2,a.example,1.1.1.1"));
        let ext = svc(
            json!({"type": "ExternalName", "externalName": "db.example.com"}),
            json!({}),
        );
        assert_eq!(
            ext[2..5],
            [json!("<none>"), json!("db.example.com"), json!("<none>")]
        );
    }

    #[test]
    fn job_status_and_completions() {
        let job = |spec: Value, status: Value| {
            cells(
                "batch",
                "Job",
                &json!({"metadata": {"name": "j"}, "spec": spec, "status": status}),
            )
        };
        let c = job(json!({"completions": 3}), json!({"succeeded": 1}));
        assert_eq!(c[1..4], [json!("Running"), json!("1/3"), json!("")]);
        let c = job(
            json!({"parallelism": 2}),
            json!({"conditions": [{"type": "Complete", "status": "True"}],
            "startTime": "2020-01-01T00:00:00Z", "completionTime": "2020-01-01T00:01:05Z"}),
        );
        assert_eq!(
            c[1..4],
            [json!("Complete"), json!("0/1 of 2"), json!("65s")]
        );
        let c = job(
            json!({}),
            json!({"conditions": [{"type": "Suspended", "status": "True"}]}),
        );
        assert_eq!(c[1], json!("Suspended"));
    }

    #[test]
    fn hpa_targets_per_metric_type() {
        let hpa = json!({"metadata": {"name": "h"}, "spec": {
            "scaleTargetRef": {"kind": "Deployment", "name": "web"}, "maxReplicas": 5,
            "metrics": [
                {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}},
                {"type": "Pods", "pods": {"target": {"averageValue": "1k"}}},
                {"type": "Resource", "resource": {"name": "memory", "target": {"averageValue": "1Gi"}}}]},
            "status": {"currentMetrics": [
                {"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 40}}}]}});
        let c = cells("autoscaling", "HorizontalPodAutoscaler", &hpa);
        assert_eq!(c[1], json!("Deployment/web"));
        assert_eq!(c[2], json!("cpu: 40%/80%, <unknown>/1k + 1 more..."));
        assert_eq!(c[3..6], [json!("<unset>"), json!(5), json!(0)]);
        let v1 = json!({"metadata": {"name": "h"}, "spec": {"targetCPUUtilizationPercentage": 50}});
        assert_eq!(
            cells("autoscaling", "HorizontalPodAutoscaler", &v1)[2],
            json!("cpu: <unknown>/50%")
        );
        // A v1 view prints the metrics its annotation carries too.
        let annotated = json!({"apiVersion": "autoscaling/v1", "metadata": {"name": "h",
            "annotations": {"autoscaling.alpha.kubernetes.io/metrics":
                r#"[{"type":"Pods","pods":{"metricName":"qps","targetAverageValue":"10"}}]"#}},
            "spec": {"targetCPUUtilizationPercentage": 50}});
        assert_eq!(
            cells("autoscaling", "HorizontalPodAutoscaler", &annotated)[2],
            json!("<unknown>/10, cpu: <unknown>/50%")
        );
    }

    #[test]
    fn endpoints_and_slices_list_three_then_count() {
        let ep = json!({"metadata": {"name": "e"}, "subsets": [
            {"addresses": [{"ip": "10.0.0.1"}, {"ip": "10.0.0.2"}, {"ip": "fd00::1"}, {"ip": "10.0.0.4"}],
             "ports": [{"port": 80}]}]});
        assert_eq!(
            cells("", "Endpoints", &ep)[1],
            json!("10.0.0.1:80,10.0.0.2:80,[fd00::1]:80 + 1 more...")
        );
        let empty = json!({"metadata": {"name": "e"}});
        assert_eq!(cells("", "Endpoints", &empty)[1], json!("<none>"));
        let slice = json!({"metadata": {"name": "s"}, "addressType": "IPv4",
            "ports": [{"name": "http"}, {}], "endpoints": []});
        assert_eq!(
            cells("discovery.k8s.io", "EndpointSlice", &slice)[1..4],
            [json!("IPv4"), json!("http,*"), json!("<unset>")]
        );
    }

    #[test]
    fn events_in_both_shapes() {
        let core = json!({"metadata": {"name": "e1"}, "type": "Normal", "reason": "Pulled",
            "involvedObject": {"kind": "Pod", "name": "p", "fieldPath": "spec.containers{a}"},
            "source": {"component": "kubelet", "host": "n1"}, "message": " done \n", "count": 2,
            "firstTimestamp": "2020-01-01T00:00:00Z", "lastTimestamp": "2020-01-01T00:00:00Z"});
        let c = cells("", "Event", &core);
        assert_eq!(
            c[1..7],
            [
                json!("Normal"),
                json!("Pulled"),
                json!("pod/p"),
                json!("spec.containers{a}"),
                json!("kubelet, n1"),
                json!("done")
            ]
        );
        assert_eq!(c[8..], [json!(2), json!("e1")]);
        let new = json!({"metadata": {"name": "e2"}, "type": "Warning", "reason": "X",
            "regarding": {"kind": "Node"}, "note": "n", "reportingController": "ctl",
            "eventTime": "2020-01-01T00:00:00.000000Z"});
        let c = cells("events.k8s.io", "Event", &new);
        assert_eq!(
            c[3..7],
            [json!("node"), json!(""), json!("ctl"), json!("n")]
        );
        assert_eq!(c[8], json!(1));
    }

    #[test]
    fn references_and_classes() {
        let rev = json!({"metadata": {"name": "r", "ownerReferences": [
            {"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "logs", "controller": true}]}, "revision": 3});
        assert_eq!(
            cells("apps", "ControllerRevision", &rev)[1..3],
            [json!("daemonset.apps/logs"), json!(3)]
        );
        let sc = json!({"metadata": {"name": "fast", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
            "provisioner": "p"});
        assert_eq!(
            cells("storage.k8s.io", "StorageClass", &sc)[..5],
            [
                json!("fast (default)"),
                json!("p"),
                json!("Delete"),
                json!("Immediate"),
                json!(false)
            ]
        );
        let ip = json!({"metadata": {"name": "10.0.0.1"}, "spec": {"parentRef": {"resource": "services", "namespace": "ns", "name": "web"}}});
        assert_eq!(
            cells("networking.k8s.io", "IPAddress", &ip)[1],
            json!("services/ns/web")
        );
        let binding = json!({"metadata": {"name": "b"}, "spec": {"policyName": "p",
            "paramRef": {"selector": {"matchLabels": {"a": "1"}}}}});
        assert_eq!(
            cells(
                "admissionregistration.k8s.io",
                "ValidatingAdmissionPolicyBinding",
                &binding
            )[2],
            json!(
                "&LabelSelector{MatchLabels:map[string]string{a: 1,},MatchExpressions:[]LabelSelectorRequirement{},}"
            )
        );
        let quota = json!({"metadata": {"name": "q"}, "status": {"hard": {"pods": "10", "limits.cpu": "2", "cpu": "1"},
            "used": {"pods": "1"}}});
        assert_eq!(
            cells("", "ResourceQuota", &quota)[1..3],
            [json!("cpu: 0/1, pods: 1/10"), json!("limits.cpu: 0/2")]
        );
        let api = json!({"metadata": {"name": "v1.x"}, "spec": {"service": {"namespace": "ns", "name": "svc"}},
            "status": {"conditions": [{"type": "Available", "status": "False", "reason": "MissingEndpoints"}]}});
        assert_eq!(
            cells("apiregistration.k8s.io", "APIService", &api)[1..3],
            [json!("ns/svc"), json!("False (MissingEndpoints)")]
        );
    }

    #[test]
    fn volumes_and_claims() {
        let pv = json!({"metadata": {"name": "pv", "annotations": {"volume.beta.kubernetes.io/storage-class": "old"}},
            "spec": {"capacity": {"storage": "10Gi"}, "accessModes": ["ReadWriteMany", "ReadWriteOnce"],
                "persistentVolumeReclaimPolicy": "Retain", "claimRef": {"namespace": "ns", "name": "c"},
                "storageClassName": "new", "volumeMode": "Block"},
            "status": {"phase": "Bound"}});
        let c = cells("", "PersistentVolume", &pv);
        assert_eq!(
            c[1..9],
            [
                json!("10Gi"),
                json!("RWO,RWX"),
                json!("Retain"),
                json!("Bound"),
                json!("ns/c"),
                json!("old"),
                json!("<unset>"),
                json!("")
            ]
        );
        assert_eq!(c[10], json!("Block"));
        let pending = json!({"metadata": {"name": "c"}, "spec": {"storageClassName": "fast"},
            "status": {"phase": "Pending", "capacity": {"storage": "1Gi"}}});
        let c = cells("", "PersistentVolumeClaim", &pending);
        assert_eq!(
            c[1..7],
            [
                json!("Pending"),
                json!(""),
                json!(""),
                json!(""),
                json!("fast"),
                json!("<unset>")
            ]
        );
        let bound = json!({"metadata": {"name": "c"}, "spec": {"volumeName": "pv"},
            "status": {"phase": "Bound", "capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOncePod"]}});
        assert_eq!(
            cells("", "PersistentVolumeClaim", &bound)[2..5],
            [json!("pv"), json!("1Gi"), json!("RWOP")]
        );
    }

    #[test]
    fn nodes_and_cron_jobs() {
        let node = json!({"metadata": {"name": "n", "labels": {"node-role.kubernetes.io/control-plane": "",
                "kubernetes.io/role": "worker"}},
            "spec": {"unschedulable": true},
            "status": {"conditions": [{"type": "Ready", "status": "False"}],
                "addresses": [{"type": "InternalIP", "address": "10.0.0.5"}],
                "nodeInfo": {"kubeletVersion": "v1.36.2"}}});
        let c = cells("", "Node", &node);
        assert_eq!(
            c[1..3],
            [
                json!("NotReady,SchedulingDisabled"),
                json!("control-plane,worker")
            ]
        );
        assert_eq!(
            c[4..8],
            [
                json!("v1.36.2"),
                json!("10.0.0.5"),
                json!("<none>"),
                json!("<unknown>")
            ]
        );
        let cron = json!({"metadata": {"name": "cj"}, "spec": {"schedule": "*/5 * * * *", "suspend": false,
            "jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "a", "image": "i"}]}}}}},
            "status": {"active": [{"name": "j"}]}});
        let c = cells("batch", "CronJob", &cron);
        assert_eq!(
            c[1..6],
            [
                json!("*/5 * * * *"),
                json!("<none>"),
                json!("False"),
                json!(1),
                json!("<none>")
            ]
        );
        assert_eq!(c[7..], [json!("a"), json!("i"), json!("<none>")]);
    }

    #[test]
    fn requests_budgets_and_priority_levels() {
        let csr = json!({"metadata": {"name": "r"}, "spec": {"signerName": "example.com/s", "username": "alice",
            "expirationSeconds": 3600}, "status": {"conditions": [{"type": "Approved"}, {"type": "Failed"}]}});
        assert_eq!(
            cells("certificates.k8s.io", "CertificateSigningRequest", &csr)[2..],
            [
                json!("example.com/s"),
                json!("alice"),
                json!("60m"),
                json!("Approved,Failed")
            ]
        );
        let pdb = json!({"metadata": {"name": "b"}, "spec": {"minAvailable": "50%"}, "status": {"disruptionsAllowed": 2}});
        assert_eq!(
            cells("policy", "PodDisruptionBudget", &pdb)[1..4],
            [json!("50%"), json!("N/A"), json!(2)]
        );
        let exempt = json!({"metadata": {"name": "e"}, "spec": {"type": "Exempt"}});
        assert_eq!(
            cells(
                "flowcontrol.apiserver.k8s.io",
                "PriorityLevelConfiguration",
                &exempt
            )[1..6],
            [
                json!("Exempt"),
                json!("<none>"),
                json!("<none>"),
                json!("<none>"),
                json!("<none>")
            ]
        );
        let limited = json!({"metadata": {"name": "l"}, "spec": {"type": "Limited", "limited": {
            "nominalConcurrencyShares": 30, "limitResponse": {"queuing": {"queues": 64, "handSize": 6, "queueLengthLimit": 50}}}}});
        assert_eq!(
            cells(
                "flowcontrol.apiserver.k8s.io",
                "PriorityLevelConfiguration",
                &limited
            )[2..6],
            [json!(30), json!(64), json!(6), json!(50)]
        );
        let claim = json!({"metadata": {"name": "c"}, "status": {"allocation": {}, "reservedFor": [{"name": "p"}]}});
        assert_eq!(
            cells("resource.k8s.io", "ResourceClaim", &claim)[1],
            json!("allocated,reserved")
        );
        let driver = json!({"metadata": {"name": "d"}, "spec": {"tokenRequests": [{"audience": "a"}, {"audience": "b"}],
            "volumeLifecycleModes": ["Persistent", "Ephemeral"]}});
        assert_eq!(
            cells("storage.k8s.io", "CSIDriver", &driver)[1..7],
            [
                json!(true),
                json!(false),
                json!(false),
                json!("a,b"),
                json!(false),
                json!("Persistent,Ephemeral")
            ]
        );
        let class = json!({"metadata": {"name": "nginx"}, "spec": {"controller": "k8s.io/ingress-nginx",
            "parameters": {"apiGroup": "k8s.example.com", "kind": "Params", "name": "p"}}});
        assert_eq!(
            cells("networking.k8s.io", "IngressClass", &class)[1..3],
            [
                json!("k8s.io/ingress-nginx"),
                json!("Params.k8s.example.com/p")
            ]
        );
    }

    #[test]
    fn flow_schemas_sort_by_precedence_then_name() {
        let a = json!({"metadata": {"name": "b"}, "spec": {"matchingPrecedence": 10}});
        let b = json!({"metadata": {"name": "a"}, "spec": {"matchingPrecedence": 10}});
        let c = json!({"metadata": {"name": "z"}, "spec": {"matchingPrecedence": 1}});
        let mut all = [&a, &b, &c];
        all.sort_by(|x, y| flow_schema_order(x, y));
        let names: Vec<&str> = all.iter().map(|o| text(o, "/metadata/name")).collect();
        assert_eq!(names, ["z", "a", "b"]);
    }
}
