use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;
use crate::schema::Schema;
use crate::ssa;

fn manifest(file: &str, v: Value) -> Manifest {
    Manifest {
        object: Object::from_value(v).unwrap(),
        origin: Origin {
            file: file.into(),
            document: 0,
            line: 1,
        },
    }
}

fn cm(ns: &str, name: &str, data: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": ns}, "data": data})
}

fn owner() -> Owner {
    Owner::new("apps", "flux-system")
}

fn opts() -> PlanOptions {
    PlanOptions::new(owner())
}

/// A live copy of a desired object, as the server would store it after our apply.
fn live_of(v: Value) -> (ObjectRef, Object) {
    let mut o = Object::from_value(v).unwrap();
    owner().label(&mut o);
    let m = o.as_map_mut();
    m["metadata"]["uid"] = json!("u1");
    m["metadata"]["resourceVersion"] = json!("7");
    (o.object_ref(), o)
}

#[test]
fn create_configure_unchanged() {
    let desired = vec![
        manifest("a.yaml", cm("default", "new", json!({"k": "v"}))),
        manifest("a.yaml", cm("default", "same", json!({"k": "v"}))),
        manifest("a.yaml", cm("default", "changed", json!({"k": "v2"}))),
    ];
    let live: Live = [
        live_of(cm("default", "same", json!({"k": "v"}))),
        live_of(cm("default", "changed", json!({"k": "v"}))),
    ]
    .into_iter()
    .collect();
    let plan = Plan::compute(desired, &live, &Inventory::default(), &opts()).unwrap();
    assert_eq!(
        plan.change_set().to_string(),
        "ConfigMap/default/changed configured\nConfigMap/default/new created"
    );
    assert_eq!(
        plan.unchanged,
        vec![ObjectRef::new("", "ConfigMap", "default", "same")]
    );
    let configured = plan
        .applies()
        .find(|a| a.object.name() == "changed")
        .unwrap();
    match &configured.action {
        Action::Configure(changes) => assert!(changes.iter().any(|c| c.path.contains("data"))),
        other => panic!("expected configure, got {other:?}"),
    }
    assert_eq!(plan.inventory.entries.len(), 3);
    // Owner labels are set on what gets applied.
    assert!(plan.applies().all(|a| owner().owns(&a.object)));
}

#[test]
fn missing_owner_label_on_live_is_drift() {
    let desired = vec![manifest("a.yaml", cm("default", "x", json!({})))];
    let mut live = Live::new();
    let o = Object::from_value(cm("default", "x", json!({}))).unwrap();
    live.insert(o.object_ref(), o);
    let plan = Plan::compute(desired, &live, &Inventory::default(), &opts()).unwrap();
    assert_eq!(
        plan.change_set().to_string(),
        "ConfigMap/default/x configured"
    );
}

#[test]
fn stages_follow_flux() {
    let desired = vec![
        manifest(
            "d.yaml",
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "app"}}),
        ),
        manifest(
            "ns.yaml",
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "app"}}),
        ),
        manifest(
            "crd.yaml",
            json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": {"name": "widgets.example.com"}}),
        ),
        manifest(
            "sc.yaml",
            json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "fast"}}),
        ),
        manifest(
            "w.yaml",
            json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w", "namespace": "app"}}),
        ),
        manifest(
            "s.yaml",
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "app"}}),
        ),
    ];
    let plan = Plan::compute(desired, &Live::new(), &Inventory::default(), &opts()).unwrap();
    let stages: Vec<(StageKind, Vec<String>)> = plan
        .stages
        .iter()
        .map(|s| {
            (
                s.kind,
                s.applies
                    .iter()
                    .map(|a| a.object.object_ref().to_string())
                    .collect(),
            )
        })
        .collect();
    assert_eq!(
        stages,
        vec![
            (
                StageKind::ClusterDefinitions,
                vec![
                    "CustomResourceDefinition/widgets.example.com".to_string(),
                    "Namespace/app".into()
                ]
            ),
            (StageKind::Classes, vec!["StorageClass/fast".to_string()]),
            (
                StageKind::Resources,
                vec![
                    "Service/app/web".to_string(),
                    "Deployment/app/web".into(),
                    "Widget/app/w".into()
                ]
            ),
        ]
    );
}

#[test]
fn skips_by_policy() {
    let mut excluded = cm("default", "excluded", json!({}));
    excluded["metadata"]["annotations"] = json!({RECONCILE_KEY: "disabled"});
    let mut ignored = cm("default", "ignored", json!({}));
    ignored["metadata"]["labels"] = json!({SSA_KEY: "Ignore"});
    let mut once = cm("default", "once", json!({"k": "new"}));
    once["metadata"]["annotations"] = json!({SSA_KEY: "IfNotPresent"});
    let mut once_missing = cm("default", "once-missing", json!({}));
    once_missing["metadata"]["annotations"] = json!({SSA_KEY: "IfNotPresent"});
    let paused_live = {
        let mut v = cm("default", "paused", json!({"k": "old"}));
        v["metadata"]["annotations"] = json!({RECONCILE_KEY: "Disabled"});
        v
    };
    let desired = vec![
        manifest("a.yaml", excluded),
        manifest("a.yaml", ignored),
        manifest("a.yaml", once),
        manifest("a.yaml", once_missing),
        manifest("a.yaml", cm("default", "paused", json!({"k": "new"}))),
    ];
    let live: Live = [
        live_of(cm("default", "once", json!({"k": "old"}))),
        live_of(paused_live),
    ]
    .into_iter()
    .collect();
    let plan = Plan::compute(desired, &live, &Inventory::default(), &opts()).unwrap();
    let skipped: Vec<(String, SkipReason)> = plan
        .skipped
        .iter()
        .map(|(r, why)| (r.name.clone(), *why))
        .collect();
    assert_eq!(
        skipped,
        vec![
            ("excluded".to_string(), SkipReason::Excluded),
            ("ignored".into(), SkipReason::Excluded),
            ("once".into(), SkipReason::IfNotPresent),
            ("paused".into(), SkipReason::Excluded),
        ]
    );
    assert_eq!(
        plan.change_set().to_string(),
        "ConfigMap/default/once-missing created"
    );
    // Skipped objects stay in the inventory, so they are not pruned either.
    assert_eq!(plan.inventory.entries.len(), 5);
}

#[test]
fn force_marks_recreate() {
    let mut forced = cm("default", "forced", json!({}));
    forced["metadata"]["annotations"] = json!({FORCE_KEY: "enabled"});
    let desired = vec![
        manifest("a.yaml", forced),
        manifest("a.yaml", cm("default", "plain", json!({}))),
    ];
    let plan = Plan::compute(
        desired.clone(),
        &Live::new(),
        &Inventory::default(),
        &opts(),
    )
    .unwrap();
    let recreate: Vec<(&str, bool)> = plan
        .applies()
        .map(|a| (a.object.name(), a.recreate_on_immutable))
        .collect();
    assert_eq!(recreate, vec![("forced", true), ("plain", false)]);
    let mut o = opts();
    o.force = true;
    let plan = Plan::compute(desired, &Live::new(), &Inventory::default(), &o).unwrap();
    assert!(plan.applies().all(|a| a.recreate_on_immutable));
}

fn entry(group: &str, kind: &str, ns: &str, name: &str) -> InventoryEntry {
    InventoryEntry::new(ObjectRef::new(group, kind, ns, name), "v1")
}

#[test]
fn prunes_owned_orphans_in_reverse_order_namespaces_last() {
    let previous = Inventory::new([
        entry("", "Namespace", "", "old"),
        entry(
            "apiextensions.k8s.io",
            "CustomResourceDefinition",
            "",
            "w.example.com",
        ),
        entry("", "ConfigMap", "old", "cfg"),
        entry("apps", "Deployment", "old", "web"),
        entry("", "ConfigMap", "default", "kept"),
        entry("", "ConfigMap", "default", "gone"),
        entry("", "ConfigMap", "default", "foreign"),
        entry("", "ConfigMap", "default", "protected"),
        entry("", "ConfigMap", "default", "paused"),
    ]);
    let mut live: Live = [
        live_of(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "old"}})),
        live_of(json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": {"name": "w.example.com"}})),
        live_of(cm("old", "cfg", json!({}))),
        live_of(json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "old"}})),
        live_of(cm("default", "kept", json!({}))),
    ]
    .into_iter()
    .collect();
    // Another Kustomization took this one over: only the name label matches.
    let (k, mut foreign) = live_of(cm("default", "foreign", json!({})));
    foreign.set_label(OWNER_NAMESPACE_LABEL, "other");
    live.insert(k, foreign);
    let (k, mut protected) = live_of(cm("default", "protected", json!({})));
    protected.set_annotation(PRUNE_KEY, "Disabled");
    live.insert(k, protected);
    let (k, mut paused) = live_of(cm("default", "paused", json!({})));
    paused.set_label(RECONCILE_KEY, "disabled");
    live.insert(k, paused);
    let desired = vec![manifest("a.yaml", cm("default", "kept", json!({})))];
    let plan = Plan::compute(desired, &live, &previous, &opts()).unwrap();
    let prunes: Vec<String> = plan.prunes.iter().map(|e| e.object.to_string()).collect();
    assert_eq!(
        prunes,
        [
            "Deployment/old/web",
            "ConfigMap/old/cfg",
            "CustomResourceDefinition/w.example.com",
            "Namespace/old",
        ]
    );
    let kept: Vec<(String, KeepReason)> = plan
        .kept
        .iter()
        .map(|(e, r)| (e.object.name.clone(), *r))
        .collect();
    assert!(kept.contains(&("foreign".into(), KeepReason::NotOwned)));
    assert!(kept.contains(&("protected".into(), KeepReason::PruneDisabled)));
    assert!(kept.contains(&("paused".into(), KeepReason::Excluded)));
    // Gone already: neither pruned nor kept.
    assert!(!kept.iter().any(|(n, _)| n == "gone"));

    let mut off = opts();
    off.prune = false;
    let desired = vec![manifest("a.yaml", cm("default", "kept", json!({})))];
    let plan = Plan::compute(desired, &live, &previous, &off).unwrap();
    assert!(plan.prunes.is_empty());
    assert!(plan.kept.iter().all(|(_, r)| *r == KeepReason::PruneOff));
}

#[test]
fn duplicates_name_both_files() {
    let desired = vec![
        manifest("base/cm.yaml", cm("default", "x", json!({}))),
        manifest("overlay/cm.yaml", cm("default", "x", json!({"a": "b"}))),
    ];
    let err = Plan::compute(desired, &Live::new(), &Inventory::default(), &opts()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "duplicate object ConfigMap/default/x: defined in base/cm.yaml (document 0, line 1) and in overlay/cm.yaml (document 0, line 1)"
    );
}

#[test]
fn unknown_policy_value_fails_the_plan() {
    let mut bad = cm("default", "x", json!({}));
    bad["metadata"]["annotations"] = json!({PRUNE_KEY: "never"});
    let err = Plan::compute(
        vec![manifest("a.yaml", bad)],
        &Live::new(),
        &Inventory::default(),
        &opts(),
    )
    .unwrap_err();
    assert!(matches!(err, Error::InvalidAnnotation { .. }), "{err}");
}

#[test]
fn reads_cover_desired_and_inventory() {
    let desired = vec![manifest("a.yaml", cm("default", "x", json!({})))];
    let previous = Inventory::new([entry("apps", "Deployment", "default", "y")]);
    let reads = Plan::reads(&desired, &previous);
    assert_eq!(
        reads,
        vec![
            (
                ObjectRef::new("", "ConfigMap", "default", "x"),
                "v1".to_string()
            ),
            (
                ObjectRef::new("apps", "Deployment", "default", "y"),
                "apps/v1".to_string()
            ),
        ]
    );
}

fn managed_cm(data: Value, annotations: Value, managed: Value) -> (ObjectRef, Object) {
    let (key, mut o) = live_of(cm("default", "a", data));
    let m = o.as_map_mut();
    m["metadata"]["annotations"] = annotations;
    m["metadata"]["managedFields"] = managed;
    (key, o)
}

fn field_entry(manager: &str, operation: &str, data: &[&str]) -> Value {
    let fields: serde_json::Map<String, Value> =
        data.iter().map(|k| (format!("f:{k}"), json!({}))).collect();
    json!({"manager": manager, "operation": operation, "apiVersion": "v1",
        "fieldsType": "FieldsV1", "fieldsV1": {"f:data": fields}})
}

#[test]
fn a_field_dropped_from_the_desired_object_is_a_change_when_we_applied_it() {
    let desired = || vec![manifest("a.yaml", cm("default", "a", json!({"x": "1"})))];
    let ours = field_entry("kustomize-controller", "Apply", &["x", "y"]);
    let live: Live = [managed_cm(
        json!({"x": "1", "y": "2"}),
        json!({}),
        json!([ours]),
    )]
    .into_iter()
    .collect();
    let plan = Plan::compute(desired(), &live, &Inventory::default(), &opts()).unwrap();
    let apply = plan.applies().next().unwrap();
    let Action::Configure(changes) = &apply.action else {
        panic!("{:?}", apply.action)
    };
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].path, "data.y");
    assert_eq!(changes[0].kind, ChangeKind::Removed);
    assert!(apply.takeover.is_none());
    // Owned by someone else too, the field stays: nothing to do.
    let theirs = field_entry("helm", "Update", &["y"]);
    let live: Live = [managed_cm(
        json!({"x": "1", "y": "2"}),
        json!({}),
        json!([
            field_entry("kustomize-controller", "Apply", &["x", "y"]),
            theirs
        ]),
    )]
    .into_iter()
    .collect();
    let plan = Plan::compute(desired(), &live, &Inventory::default(), &opts()).unwrap();
    assert!(plan.is_empty(), "{:?}", plan.change_set());
}

#[test]
fn kubectl_and_before_first_apply_fields_are_taken_over_unless_merge() {
    let desired = |annotations: Value| {
        let mut v = cm("default", "a", json!({"x": "1"}));
        v["metadata"]["annotations"] = annotations;
        vec![manifest("a.yaml", v)]
    };
    for manager in ["kubectl-client-side-apply", "before-first-apply"] {
        let live: Live = [managed_cm(
            json!({"x": "1", "y": "2"}),
            json!({takeover::LAST_APPLIED_ANNOTATION: "{}"}),
            json!([field_entry(manager, "Update", &["x", "y"])]),
        )]
        .into_iter()
        .collect();
        let plan =
            Plan::compute(desired(json!({})), &live, &Inventory::default(), &opts()).unwrap();
        let apply = plan.applies().next().unwrap();
        let takeover = apply.takeover.as_ref().unwrap();
        assert_eq!(takeover.taken_from, [manager]);
        assert_eq!(takeover.annotations, [takeover::LAST_APPLIED_ANNOTATION]);
        let Action::Configure(changes) = &apply.action else {
            panic!("{:?}", apply.action)
        };
        let paths: Vec<&str> = changes.iter().map(|c| c.path.as_str()).collect();
        assert_eq!(paths, ["data.y"], "{manager}");
        // `ssa: Merge` leaves other managers their fields: nothing to do.
        let merge = desired(json!({SSA_KEY: "Merge"}));
        let mut live = live.clone();
        for o in live.values_mut() {
            o.set_annotation(SSA_KEY, "Merge");
        }
        let plan = Plan::compute(merge, &live, &Inventory::default(), &opts()).unwrap();
        assert!(plan.is_empty(), "{:?}", plan.change_set());
    }
}

#[test]
fn a_takeover_that_changes_nothing_is_not_sent() {
    // `kubectl-edit` applied a field the desired object sets anyway, with another value: the
    // forced apply takes it back without any cleanup.
    let desired = vec![manifest("a.yaml", cm("default", "a", json!({"x": "1"})))];
    let live: Live = [managed_cm(
        json!({"x": "edited"}),
        json!({}),
        json!([
            field_entry("kustomize-controller", "Apply", &["x"]),
            field_entry("kubectl-edit", "Apply", &["x"]),
        ]),
    )]
    .into_iter()
    .collect();
    let plan = Plan::compute(desired.clone(), &live, &Inventory::default(), &opts()).unwrap();
    let apply = plan.applies().next().unwrap();
    assert!(apply.takeover.is_none());
    assert_eq!(
        plan.change_set().to_string(),
        "ConfigMap/default/a configured"
    );
    // Once Git drops the field, the takeover is what lets the apply remove it.
    let dropped = vec![manifest("a.yaml", cm("default", "a", json!({})))];
    let plan = Plan::compute(dropped, &live, &Inventory::default(), &opts()).unwrap();
    let apply = plan.applies().next().unwrap();
    assert_eq!(
        apply.takeover.as_ref().unwrap().taken_from,
        ["kubectl-edit"]
    );
}

#[test]
fn protected_namespaces_are_refused_and_stay_in_the_inventory() {
    let ns =
        |name: &str| json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
    let previous = Inventory::new([
        InventoryEntry::of(&Object::from_value(ns("default")).unwrap()),
        InventoryEntry::of(&Object::from_value(ns("team")).unwrap()),
    ]);
    let live: Live = [live_of(ns("default")), live_of(ns("team"))]
        .into_iter()
        .collect();
    let mut options = opts();
    options.protected_namespaces.push("team".into());
    let plan = Plan::compute(Vec::new(), &live, &previous, &options).unwrap();
    assert!(plan.prunes.is_empty());
    assert_eq!(
        plan.change_set().to_string(),
        "Namespace/team refused (namespace team is protected)\n\
         Namespace/default refused (namespace default is protected)"
    );
    assert_eq!(plan.inventory.entries.len(), 2);
    // Not ours any more: skipped, not refused, and gone from the inventory.
    let mut foreign = live.clone();
    for o in foreign.values_mut() {
        o.set_label(OWNER_NAME_LABEL, "other");
    }
    let plan = Plan::compute(Vec::new(), &foreign, &previous, &options).unwrap();
    assert_eq!(plan.change_set().to_string(), "");
    assert!(plan.inventory.entries.is_empty());
}

/// Executes a plan against a live snapshot the way an honest cluster would.
fn execute(plan: &Plan, live: &mut Live, applied: &mut BTreeMap<ObjectRef, Vec<ssa::Entry>>) {
    for a in plan.applies() {
        let key = a.object.object_ref();
        let desired = a.object.to_value();
        let base = live
            .get(&key)
            .map_or_else(|| desired.clone(), Object::to_value);
        let api_version = a.object.api_version().to_string();
        let schema = Schema::builtin().root(&api_version, a.object.kind());
        let request = ssa::Applied {
            manager: crate::reconcile::FIELD_MANAGER,
            subresource: None,
            api_version: &api_version,
            force: true,
            custom_resource: schema.is_none(),
        };
        let entries = applied.remove(&key).unwrap_or_default();
        let (mut merged, entries) = ssa::apply(&base, &desired, entries, &request, schema).unwrap();
        // The live object carries its managedFields, as the server returns it.
        ssa::managed::write(&mut merged, &entries);
        live.insert(key.clone(), Object::from_value(merged).unwrap());
        applied.insert(key, entries);
    }
    for p in &plan.prunes {
        live.remove(&p.object);
        applied.remove(&p.object);
    }
}

fn arb_object() -> impl Strategy<Value = Value> {
    let name = "[a-e]";
    let ns = prop_oneof![Just("a"), Just("b")];
    let data = prop::collection::btree_map("[a-c]", "[x-z]{0,2}", 0..3);
    prop_oneof![
        (name, ns.clone(), data.clone()).prop_map(|(n, ns, d)| cm(ns, &n, json!(d))),
        (name, ns, 0i64..4).prop_map(|(n, ns, r)| json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": n, "namespace": ns}, "spec": {"replicas": r, "template": {"spec": {"containers": [{"name": "c", "image": format!("img:{r}")}]}}}})),
        name.prop_map(|n| json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}})),
    ]
}

fn arb_set() -> impl Strategy<Value = Vec<Value>> {
    prop::collection::vec(arb_object(), 0..8).prop_map(|objs| {
        let mut seen = std::collections::BTreeSet::new();
        objs.into_iter()
            .filter(|o| seen.insert(Object::from_value(o.clone()).unwrap().object_ref()))
            .collect()
    })
}

proptest! {
    #[test]
    fn applied_plan_converges(desired in arb_set(), before in arb_set(), extra in arb_set()) {
        // The cluster holds what a previous revision (`before`) applied, plus foreign objects.
        let mut live = Live::new();
        let mut applied = BTreeMap::new();
        let first = Plan::compute(before.iter().map(|v| manifest("old.yaml", v.clone())).collect(), &live, &Inventory::default(), &opts()).unwrap();
        execute(&first, &mut live, &mut applied);
        for v in &extra {
            let o = Object::from_value(v.clone()).unwrap();
            live.entry(o.object_ref()).or_insert(o);
        }
        let manifests: Vec<Manifest> = desired.iter().map(|v| manifest("new.yaml", v.clone())).collect();
        let plan = Plan::compute(manifests.clone(), &live, &first.inventory, &opts()).unwrap();
        execute(&plan, &mut live, &mut applied);
        // Every desired object is now live as desired...
        for m in &manifests {
            let mut want = m.object.clone();
            owner().label(&mut want);
            let got = live.get(&want.object_ref());
            prop_assert!(got.is_some());
            prop_assert!(diff::compare(&want, got.unwrap(), Schema::builtin()).is_empty());
        }
        // ...and planning again changes nothing.
        let again = Plan::compute(manifests, &live, &plan.inventory, &opts()).unwrap();
        prop_assert!(again.is_empty(), "{:?}", again.change_set());
    }

    #[test]
    fn prune_never_touches_desired(desired in arb_set(), previous in arb_set()) {
        let previous_inv = Inventory::new(previous.iter().map(|v| InventoryEntry::of(&Object::from_value(v.clone()).unwrap())));
        let live: Live = previous.iter().chain(desired.iter()).map(|v| live_of(v.clone())).collect();
        let manifests: Vec<Manifest> = desired.iter().map(|v| manifest("a.yaml", v.clone())).collect();
        let wanted: std::collections::BTreeSet<ObjectRef> = manifests.iter().map(|m| m.object.object_ref()).collect();
        let plan = Plan::compute(manifests, &live, &previous_inv, &opts()).unwrap();
        for p in &plan.prunes {
            prop_assert!(!wanted.contains(&p.object), "pruned desired object {}", p.object);
        }
    }
}
