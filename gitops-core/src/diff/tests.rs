use super::*;
use proptest::prelude::*;

/// The comparison with the built-in schema, as most cases need.
fn compare(desired: &Object, live: &Object) -> Vec<Change> {
    super::compare(desired, live, Schema::builtin())
}
use serde_json::json;

fn obj(value: Value) -> Object {
    Object::from_value(value).unwrap()
}

fn deployment(spec: Value) -> Object {
    obj(json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default"}, "spec": spec}))
}

fn pod_template(containers: Value) -> Object {
    deployment(json!({"template": {"spec": {"containers": containers}}}))
}

fn lines(changes: &[Change]) -> Vec<String> {
    changes.iter().map(ToString::to_string).collect()
}

#[test]
fn server_defaults_are_not_changes() {
    let desired = pod_template(json!([{"name": "web", "image": "nginx:1"}]));
    let live = deployment(json!({
        "replicas": 1, "revisionHistoryLimit": 10,
        "strategy": {"type": "RollingUpdate"},
        "template": {"metadata": {"creationTimestamp": null}, "spec": {
            "restartPolicy": "Always", "dnsPolicy": "ClusterFirst",
            "containers": [{"name": "web", "image": "nginx:1", "imagePullPolicy": "IfNotPresent",
                            "resources": {}, "terminationMessagePath": "/dev/termination-log"}]}}}));
    assert_eq!(compare(&desired, &live), vec![]);
}

#[test]
fn modified_scalars_are_reported_with_both_values() {
    let changes = compare(
        &deployment(json!({"replicas": 3, "paused": true})),
        &deployment(json!({"replicas": 2})),
    );
    assert_eq!(
        changes,
        vec![
            Change {
                path: "spec.replicas".into(),
                kind: ChangeKind::Modified,
                desired: Some(json!(3)),
                live: Some(json!(2)),
            },
            Change {
                path: "spec.paused".into(),
                kind: ChangeKind::Added,
                desired: Some(json!(true)),
                live: None,
            },
        ]
    );
    assert_eq!(
        lines(&changes),
        ["spec.replicas: 2 -> 3", "spec.paused: <unset> -> true"]
    );
}

#[test]
fn containers_match_by_name_whatever_their_order() {
    let desired = pod_template(json!([{"name": "a", "image": "x:2"}, {"name": "b", "image": "y"}]));
    let live = pod_template(json!([{"name": "b", "image": "y"}, {"name": "a", "image": "x:1"}]));
    let changes = compare(&desired, &live);
    assert_eq!(
        lines(&changes),
        [r#"spec.template.spec.containers[name=a].image: "x:1" -> "x:2""#]
    );
}

#[test]
fn a_container_the_desired_list_lacks_is_removed() {
    let desired = pod_template(json!([{"name": "web", "image": "x"}]));
    let live =
        pod_template(json!([{"name": "web", "image": "x"}, {"name": "istio-proxy", "image": "p"}]));
    let changes = compare(&desired, &live);
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].kind, ChangeKind::Removed);
    assert_eq!(
        changes[0].path,
        "spec.template.spec.containers[name=istio-proxy]"
    );
    assert_eq!(
        changes[0].live,
        Some(json!({"name": "istio-proxy", "image": "p"}))
    );
    assert_eq!(changes[0].desired, None);
}

#[test]
fn a_container_missing_from_live_is_added() {
    let desired =
        pod_template(json!([{"name": "web", "image": "x"}, {"name": "log", "image": "l"}]));
    let live = pod_template(json!([{"name": "web", "image": "x"}]));
    let changes = compare(&desired, &live);
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].kind, ChangeKind::Added);
    assert_eq!(changes[0].path, "spec.template.spec.containers[name=log]");
    assert_eq!(
        changes[0].desired,
        Some(json!({"name": "log", "image": "l"}))
    );
}

#[test]
fn container_ports_match_by_port_and_defaulted_protocol() {
    let desired = pod_template(json!([{"name": "web", "ports": [
        {"containerPort": 8080, "name": "http"}, {"containerPort": 53, "protocol": "UDP"}]}]));
    let live = pod_template(json!([{"name": "web", "ports": [
        {"containerPort": 53, "protocol": "UDP"},
        {"containerPort": 8080, "protocol": "TCP", "name": "web"},
        {"containerPort": 53, "protocol": "TCP"}]}]));
    let changes = compare(&desired, &live);
    assert_eq!(
        lines(&changes),
        [
            r#"spec.template.spec.containers[name=web].ports[containerPort=8080,protocol=TCP].name: "web" -> "http""#,
            r#"spec.template.spec.containers[name=web].ports[containerPort=53,protocol=TCP]: {"containerPort":53,"protocol":"TCP"} -> <unset>"#,
        ]
    );
    assert_eq!(changes[1].kind, ChangeKind::Removed);
}

#[test]
fn env_matches_by_name() {
    let desired = pod_template(json!([{"name": "web", "env": [
        {"name": "B", "value": "2"}, {"name": "A", "value": "1"}]}]));
    let live = pod_template(json!([{"name": "web", "env": [
        {"name": "A", "value": "1"}, {"name": "B", "value": "3"}, {"name": "OLD", "value": "x"}]}]));
    let changes = compare(&desired, &live);
    assert_eq!(
        lines(&changes),
        [
            r#"spec.template.spec.containers[name=web].env[name=B].value: "3" -> "2""#,
            r#"spec.template.spec.containers[name=web].env[name=OLD]: {"name":"OLD","value":"x"} -> <unset>"#,
        ]
    );
}

#[test]
fn service_ports_match_by_port_and_protocol() {
    let svc = |ports: Value| {
        obj(
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
            "spec": {"ports": ports}}),
        )
    };
    let desired = svc(json!([{"port": 443, "targetPort": 8443}, {"port": 80, "targetPort": 8080}]));
    let live = svc(
        json!([{"port": 80, "protocol": "TCP", "targetPort": 8080, "nodePort": 30080},
                          {"port": 443, "protocol": "TCP", "targetPort": "https"}]),
    );
    assert_eq!(
        lines(&compare(&desired, &live)),
        [r#"spec.ports[port=443,protocol=TCP].targetPort: "https" -> 8443"#]
    );
}

#[test]
fn atomic_lists_compare_by_position_and_length() {
    let desired = pod_template(json!([{"name": "web", "args": ["--a", "--b"]}]));
    let reordered = pod_template(json!([{"name": "web", "args": ["--a", "--c"]}]));
    assert_eq!(
        lines(&compare(&desired, &reordered)),
        [r#"spec.template.spec.containers[name=web].args[1]: "--c" -> "--b""#]
    );
    let longer = pod_template(json!([{"name": "web", "args": ["--a", "--b", "--c"]}]));
    let changes = compare(&desired, &longer);
    assert_eq!(changes.len(), 1);
    assert_eq!(
        changes[0].path,
        "spec.template.spec.containers[name=web].args"
    );
    assert_eq!(changes[0].kind, ChangeKind::Modified);
    assert_eq!(changes[0].live, Some(json!(["--a", "--b", "--c"])));
}

#[test]
fn atomic_list_elements_are_compared_as_subsets() {
    // Tolerations are atomic; the server adds nothing to them, but a custom controller might.
    let desired = deployment(
        json!({"template": {"spec": {"tolerations": [{"key": "k", "operator": "Exists"}]}}}),
    );
    let live = deployment(
        json!({"template": {"spec": {"tolerations": [{"key": "k", "operator": "Exists", "effect": "NoSchedule"}]}}}),
    );
    assert_eq!(compare(&desired, &live), vec![]);
}

#[test]
fn custom_resource_lists_compare_by_position() {
    let widget = |items: Value| {
        obj(
            json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"},
            "spec": {"containers": items}}),
        )
    };
    let desired = widget(json!([{"name": "a"}, {"name": "b"}]));
    let live = widget(json!([{"name": "b"}, {"name": "a", "extra": 1}]));
    assert_eq!(
        lines(&compare(&desired, &live)),
        [
            r#"spec.containers[0].name: "b" -> "a""#,
            r#"spec.containers[1].name: "a" -> "b""#,
        ]
    );
    assert_eq!(
        compare(
            &desired,
            &widget(json!([{"name": "a", "x": 1}, {"name": "b"}]))
        ),
        vec![]
    );
}

#[test]
fn sets_compare_by_position() {
    let node = |cidrs: Value| {
        obj(
            json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n"},
            "spec": {"podCIDRs": cidrs}}),
        )
    };
    let desired = node(json!(["10.0.0.0/24"]));
    assert_eq!(
        lines(&compare(&desired, &node(json!(["10.1.0.0/24"])))),
        [r#"spec.podCIDRs[0]: "10.1.0.0/24" -> "10.0.0.0/24""#]
    );
    let grown = compare(&desired, &node(json!(["10.0.0.0/24", "fd00::/64"])));
    assert_eq!(grown.len(), 1);
    assert_eq!(grown[0].path, "spec.podCIDRs");
}

#[test]
fn numbers_compare_by_value() {
    assert_eq!(
        compare(
            &deployment(json!({"replicas": 1.0})),
            &deployment(json!({"replicas": 1}))
        ),
        vec![]
    );
    assert_eq!(
        compare(
            &deployment(json!({"replicas": 1})),
            &deployment(json!({"replicas": 1.0}))
        ),
        vec![]
    );
    assert_eq!(
        lines(&compare(
            &deployment(json!({"replicas": 1.5})),
            &deployment(json!({"replicas": 1}))
        )),
        ["spec.replicas: 1 -> 1.5"]
    );
    // Types still matter: a string is not a number.
    assert_eq!(
        lines(&compare(
            &deployment(json!({"replicas": "1"})),
            &deployment(json!({"replicas": 1}))
        )),
        [r#"spec.replicas: 1 -> "1""#]
    );
}

#[test]
fn resource_quantities_compare_by_amount() {
    let resources =
        |limits: Value| pod_template(json!([{"name": "web", "resources": {"limits": limits}}]));
    let desired = resources(json!({"cpu": 0.5, "memory": "1Gi"}));
    let live = resources(json!({"cpu": "500m", "memory": "1024Mi"}));
    assert_eq!(compare(&desired, &live), vec![]);
    let bigger = resources(json!({"cpu": "1", "memory": "1Gi"}));
    assert_eq!(
        lines(&compare(&desired, &bigger)),
        [r#"spec.template.spec.containers[name=web].resources.limits.cpu: "1" -> 0.5"#]
    );
    // Outside a quantity field, text is text.
    let cm = |v: &str| {
        obj(
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"cpu": v}}),
        )
    };
    assert_eq!(compare(&cm("0.5"), &cm("500m")).len(), 1);
}

#[test]
fn only_desired_labels_and_annotations_are_compared() {
    let desired = obj(
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
        "name": "c", "namespace": "a", "finalizers": ["x"],
        "labels": {"app": "web", "app.kubernetes.io/name": "web"},
        "annotations": {"note": "new"}}}),
    );
    let live = obj(
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
        "name": "c", "namespace": "b", "uid": "u",
        "labels": {"app": "web", "kustomize.toolkit.fluxcd.io/name": "apps"},
        "annotations": {"note": "old", "deployment.kubernetes.io/revision": "3"}}}),
    );
    assert_eq!(
        lines(&compare(&desired, &live)),
        [
            r#"metadata.labels["app.kubernetes.io/name"]: <unset> -> "web""#,
            r#"metadata.annotations.note: "old" -> "new""#,
        ]
    );
}

#[test]
fn labels_missing_from_live_are_added_one_by_one() {
    let desired = obj(
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
        "name": "c", "labels": {"a": "1", "b": "2"}}}),
    );
    let live = obj(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}));
    let changes = compare(&desired, &live);
    assert_eq!(
        changes
            .iter()
            .map(|c| (c.path.as_str(), c.kind))
            .collect::<Vec<_>>(),
        [
            ("metadata.labels.a", ChangeKind::Added),
            ("metadata.labels.b", ChangeKind::Added)
        ]
    );
}

#[test]
fn status_and_server_metadata_are_ignored() {
    let desired = obj(
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
        "data": {"a": "1"}, "status": {"phase": "Wanted"}}),
    );
    let live = obj(
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c",
        "resourceVersion": "9", "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"}},
        "data": {"a": "1", "b": "2"}, "status": {"phase": "Other"}}),
    );
    assert_eq!(compare(&desired, &live), vec![]);
}

#[test]
fn unset_desired_values_are_not_changes() {
    let desired = obj(
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "labels": {}},
        "data": null, "binaryData": {}, "extra": []}),
    );
    let live = obj(
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
        "data": {"a": "1"}}),
    );
    assert_eq!(compare(&desired, &live), vec![]);
    // An empty list against a full one would empty it.
    let full = obj(
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "extra": [1]}),
    );
    assert_eq!(compare(&desired, &full).len(), 1);
}

#[test]
fn zero_values_of_built_in_fields_read_back_absent() {
    let pod = |spec: Value| {
        obj(json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": spec}))
    };
    let desired =
        pod(json!({"hostNetwork": false, "priority": 0, "hostname": "", "containers": []}));
    assert_eq!(
        compare(&desired, &pod(json!({"dnsPolicy": "ClusterFirst"}))),
        vec![]
    );
    assert_eq!(
        unified(
            &desired,
            Some(&pod(json!({"dnsPolicy": "ClusterFirst"}))),
            3,
            Schema::builtin()
        ),
        ""
    );
    // A set value still has to match.
    assert_eq!(
        compare(&desired, &pod(json!({"hostNetwork": true}))).len(),
        1
    );
    // A custom resource stores its zero values, so a missing one is a change.
    let widget = |spec: Value| {
        obj(
            json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": spec}),
        )
    };
    let changes = compare(&widget(json!({"enabled": false})), &widget(json!({})));
    assert_eq!(lines(&changes), ["spec.enabled: <unset> -> false"]);
    // So do a built-in kind's map values.
    let cm = |data: Value| {
        obj(
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": data}),
        )
    };
    let changes = compare(&cm(json!({"empty": ""})), &cm(json!({})));
    assert_eq!(lines(&changes), [r#"data.empty: <unset> -> """#]);
}

#[test]
fn port_protocol_defaulting_applies_before_comparison() {
    let desired = obj(
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
        "spec": {"ports": [{"port": 80}]}}),
    );
    let live = obj(
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
        "spec": {"ports": [{"port": 80, "protocol": "UDP"}]}}),
    );
    let changes = compare(&desired, &live);
    // TCP/80 is wanted and UDP/80 would go: two different list entries.
    assert_eq!(
        changes
            .iter()
            .map(|c| (c.path.as_str(), c.kind))
            .collect::<Vec<_>>(),
        [
            ("spec.ports[port=80,protocol=TCP]", ChangeKind::Added),
            ("spec.ports[port=80,protocol=UDP]", ChangeKind::Removed)
        ]
    );
}

#[test]
fn secret_values_never_appear_in_changes() {
    let desired = obj(
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
        "type": "Opaque", "stringData": {"password": "hunter2", "new": "n"}}),
    );
    let live = obj(
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
        "type": "Opaque", "data": {"password": "b2xk"}}),
    );
    let changes = compare(&desired, &live);
    assert_eq!(
        lines(&changes),
        [
            r#"data.password: "*** (before)" -> "*** (after)""#,
            r#"data.new: <unset> -> "***""#,
        ]
    );
    let whole = compare(
        &desired,
        &obj(
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "type": "Opaque"}),
        ),
    );
    assert_eq!(whole[0].path, "data");
    assert_eq!(
        whole[0].desired,
        Some(json!({"password": "***", "new": "***"}))
    );
}

#[test]
fn type_mismatches_are_modifications() {
    let changes = compare(
        &deployment(json!({"selector": {"matchLabels": {"a": "b"}}})),
        &deployment(json!({"selector": "x"})),
    );
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].kind, ChangeKind::Modified);
    assert_eq!(changes[0].path, "spec.selector");
}

#[test]
fn odd_keys_are_quoted_in_paths() {
    let cm = |v: &str| {
        obj(
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
        "data": {"app.properties": v, "": v, "plain_key-1": v}}),
        )
    };
    assert_eq!(
        compare(&cm("a"), &cm("b"))
            .iter()
            .map(|c| c.path.as_str())
            .collect::<Vec<_>>(),
        [
            r#"data["app.properties"]"#,
            r#"data[""]"#,
            "data.plain_key-1"
        ]
    );
}

#[test]
fn long_values_are_cut_in_display() {
    let change = Change {
        path: "data.big".into(),
        kind: ChangeKind::Added,
        desired: Some(json!("x".repeat(200))),
        live: None,
    };
    let line = change.to_string();
    assert!(line.starts_with("data.big: <unset> -> \"xxx"), "{line}");
    assert!(line.ends_with("..."), "{line}");
    assert!(line.len() < 100, "{line}");
}

fn arb_key() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "spec",
            "template",
            "containers",
            "initContainers",
            "ports",
            "name",
            "containerPort",
            "protocol",
            "image",
            "env",
            "value",
            "resources",
            "limits",
            "cpu",
            "replicas",
            "data",
        ])
        .prop_map(String::from),
        "[a-z]{1,3}",
    ]
}

fn arb_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        (-1000i64..1000).prop_map(Value::from),
        (-1000.0f64..1000.0).prop_map(Value::from),
        "[a-z0-9.]{0,5}".prop_map(Value::from),
    ];
    leaf.prop_recursive(5, 64, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(arb_key(), inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn arb_port() -> impl Strategy<Value = Value> {
    let protocol = prop::option::of(prop::sample::select(vec!["TCP", "UDP"]));
    (1..4i64, protocol, prop::option::of("[a-z]{1,3}")).prop_map(|(port, protocol, name)| {
        let mut p = json!({"containerPort": port, "port": port});
        if let Some(protocol) = protocol {
            p["protocol"] = json!(protocol);
        }
        if let Some(name) = name {
            p["name"] = json!(name);
        }
        p
    })
}

fn arb_quantity() -> impl Strategy<Value = Value> {
    prop_oneof![
        "[0-9]{1,3}m".prop_map(Value::from),
        "[0-9]{1,2}(Ki|Mi|Gi)?".prop_map(Value::from),
        (0.0f64..10.0).prop_map(Value::from),
    ]
}

/// A container with the keyed lists (ports, env) and quantities the comparison treats
/// specially, names drawn from a small set so that some collide or are missing.
fn arb_container() -> impl Strategy<Value = Value> {
    let env = prop::collection::vec(("[A-C]", "[a-z]{0,3}"), 0..3);
    (
        prop::option::of("[a-c]"),
        "[a-z0-9:]{1,6}",
        prop::collection::vec(arb_port(), 0..3),
        env,
        prop::collection::vec("[a-z-]{0,4}", 0..3),
        prop::option::of(arb_quantity()),
        arb_value(),
    )
        .prop_map(|(name, image, ports, env, args, cpu, extra)| {
            let env: Vec<Value> = env
                .into_iter()
                .map(|(n, v)| json!({"name": n, "value": v}))
                .collect();
            let mut c =
                json!({"image": image, "ports": ports, "env": env, "args": args, "extra": extra});
            if let Some(name) = name {
                c["name"] = json!(name);
            }
            if let Some(cpu) = cpu {
                c["resources"] = json!({"limits": {"cpu": cpu}, "requests": {}});
            }
            c
        })
}

fn arb_pod_spec() -> impl Strategy<Value = Value> {
    (
        prop::collection::vec(arb_container(), 0..4),
        prop::collection::vec(arb_container(), 0..2),
    )
        .prop_map(|(containers, init)| json!({"containers": containers, "initContainers": init}))
}

fn arb_object() -> impl Strategy<Value = Object> {
    let kinds = prop::sample::select(vec![
        ("v1", "ConfigMap"),
        ("v1", "Service"),
        ("v1", "Pod"),
        ("apps/v1", "Deployment"),
        ("batch/v1", "CronJob"),
        ("example.com/v1", "Widget"),
    ]);
    let labels = prop::collection::btree_map("[a-z./]{1,8}", "[a-z]{0,4}", 0..3);
    let replicas = prop_oneof![
        (0..3i64).prop_map(Value::from),
        (0.0f64..3.0).prop_map(Value::from)
    ];
    let ports = prop::collection::vec(arb_port(), 0..4);
    (
        kinds,
        labels,
        arb_pod_spec(),
        ports,
        replicas,
        arb_value(),
        arb_value(),
    )
        .prop_map(
            |((api_version, kind), labels, pod, ports, replicas, extra, data)| {
                let spec = match kind {
                    "Pod" => pod,
                    "Service" => json!({"ports": ports}),
                    "CronJob" => json!({"jobTemplate": {"spec": {"template": {"spec": pod}}}}),
                    "ConfigMap" => extra.clone(),
                    _ => json!({"replicas": replicas, "template": {"spec": pod}}),
                };
                obj(json!({"apiVersion": api_version, "kind": kind,
                "metadata": {"name": "x", "labels": labels},
                "spec": spec, "extra": extra, "data": data}))
            },
        )
}

/// The desired value with a field the server might have defaulted added to every map.
fn with_defaults(desired: &Value, extra: &Value) -> Value {
    match desired {
        Value::Object(map) => {
            let mut out: Map<String, Value> = map
                .iter()
                .map(|(k, v)| (k.clone(), with_defaults(v, extra)))
                .collect();
            out.insert("serverDefault".into(), extra.clone());
            Value::Object(out)
        }
        Value::Array(items) => {
            Value::Array(items.iter().map(|v| with_defaults(v, extra)).collect())
        }
        other => other.clone(),
    }
}

proptest! {
    #[test]
    fn an_object_never_differs_from_itself(object in arb_object()) {
        prop_assert_eq!(compare(&object, &object), vec![]);
        prop_assert_eq!(unified(&object, Some(&object), 3, Schema::builtin()), "");
    }

    #[test]
    fn fields_only_live_has_are_not_changes(desired in arb_object(), extra in arb_value()) {
        let live = obj(with_defaults(&desired.to_value(), &extra));
        prop_assert_eq!(compare(&desired, &live), vec![]);
        prop_assert_eq!(unified(&desired, Some(&live), 3, Schema::builtin()), "");
    }
}

/// A custom resource's list map matches by the keys its CRD declares once the schema learnt
/// the CRD; without it the same lists compare by position.
#[test]
fn custom_resource_lists_follow_their_crd() {
    let crd = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "gateways.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced",
            "names": {"kind": "Gateway", "plural": "gateways"},
            "versions": [{"name": "v1", "served": true, "storage": true, "schema": {"openAPIV3Schema": {
                "type": "object", "properties": {"spec": {"type": "object", "properties": {
                    "listeners": {"type": "array", "x-kubernetes-list-type": "map",
                        "x-kubernetes-list-map-keys": ["name", "port"],
                        "items": {"type": "object", "properties": {
                            "name": {"type": "string"}, "port": {"type": "integer"},
                            "protocol": {"type": "string"}, "tls": {"type": "boolean"}}}}}}}}}}]}});
    let gateway = |listeners: Value| {
        obj(json!({"apiVersion": "example.com/v1", "kind": "Gateway",
            "metadata": {"name": "g", "namespace": "default"}, "spec": {"listeners": listeners}}))
    };
    let desired = gateway(json!([
        {"name": "web", "port": 80, "protocol": "HTTP"},
        {"name": "web", "port": 443, "protocol": "HTTPS", "tls": false},
    ]));
    // Live holds the same listeners in the other order, one with another protocol, and one
    // listener the desired object no longer has.
    let live = gateway(json!([
        {"name": "web", "port": 443, "protocol": "HTTPS", "tls": false},
        {"name": "admin", "port": 9000, "protocol": "HTTP"},
        {"name": "web", "port": 80, "protocol": "HTTP2"},
    ]));
    let mut schema = Schema::extended();
    assert!(schema.add_crd(&crd));
    assert_eq!(
        lines(&super::compare(&desired, &live, &schema)),
        [
            r#"spec.listeners[name=web,port=80].protocol: "HTTP2" -> "HTTP""#,
            r#"spec.listeners[name=admin,port=9000]: {"name":"admin","port":9000,"protocol":"HTTP"} -> <unset>"#,
        ]
    );
    // A custom resource keeps its zero values: `tls: false` is compared, not omitted.
    let untls = gateway(json!([
        {"name": "web", "port": 80, "protocol": "HTTP"},
        {"name": "web", "port": 443, "protocol": "HTTPS"},
    ]));
    assert_eq!(
        lines(&super::compare(&desired, &untls, &schema)),
        ["spec.listeners[name=web,port=443].tls: <unset> -> false"]
    );
    // The built-in schema knows nothing of the kind: the lists differ in length.
    let positional = super::compare(&desired, &live, Schema::builtin());
    assert_eq!(positional.len(), 1);
    assert_eq!(positional[0].path, "spec.listeners");
    // The unified diff keeps the live listener the apply would remove, matched by key.
    let text = unified(&desired, Some(&live), 1, &schema);
    assert!(
        text.contains("-    protocol: HTTP2\n+    protocol: HTTP\n"),
        "{text}"
    );
}
