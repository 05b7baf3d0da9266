use std::collections::BTreeMap;

use serde_json::json;

use super::*;
use crate::api::SubstituteReference;

fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn ev(text: &str, pairs: &[(&str, &str)]) -> String {
    eval(text, &vars(pairs), true).unwrap()
}

fn object(v: serde_json::Value) -> Object {
    Object::from_value(v).unwrap()
}

fn manifest(yaml: &str) -> Vec<Manifest> {
    manifests::parse("app/objects.yaml", yaml).unwrap()
}

const CM: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n  namespace: default\ndata:\n  v: ${value}\n";

#[test]
fn plain_variable_is_replaced() {
    assert_eq!(ev("a ${x} b ${x}", &[("x", "1")]), "a 1 b 1");
}

#[test]
fn colon_defaults_apply_when_unset_or_empty() {
    assert_eq!(ev("${x:=d}", &[]), "d");
    assert_eq!(ev("${x:-d}", &[]), "d");
    assert_eq!(ev("${x:=d}", &[("x", "")]), "d");
    assert_eq!(ev("${x:-d}", &[("x", "v")]), "v");
}

#[test]
fn plain_defaults_apply_only_when_unset() {
    assert_eq!(ev("${x=d}", &[]), "d");
    assert_eq!(ev("${x-d}", &[("x", "")]), "");
}

#[test]
fn defaults_may_hold_variables() {
    assert_eq!(ev("${x:=${y}-1}", &[("y", "b")]), "b-1");
}

#[test]
fn double_dollar_escapes_an_expression() {
    assert_eq!(ev("$${x} and ${x}", &[("x", "1")]), "${x} and 1");
}

#[test]
fn bare_dollar_names_are_left_alone() {
    assert_eq!(
        ev("echo $HOME $1 $", &[("HOME", "/root")]),
        "echo $HOME $1 $"
    );
}

#[test]
fn bash_string_operations() {
    let v = &[("x", "hello-world")];
    assert_eq!(ev("${#x}", v), "11");
    assert_eq!(ev("${x:6}", v), "world");
    assert_eq!(ev("${x:0:5}", v), "hello");
    assert_eq!(ev("${x/o/0}", v), "hell0-world");
    assert_eq!(ev("${x//o/0}", v), "hell0-w0rld");
    assert_eq!(ev("${x#hello-}", v), "world");
    assert_eq!(ev("${x%-world}", v), "hello");
    assert_eq!(ev("${x^}", v), "Hello-world");
    assert_eq!(ev("${x^^}", v), "HELLO-WORLD");
}

#[test]
fn strict_mode_names_the_undefined_variable() {
    let e = eval("a: ${cluster_env}", &BTreeMap::new(), true).unwrap_err();
    assert_eq!(e.variable.as_deref(), Some("cluster_env"));
    assert_eq!(e.message, "variable not set (strict mode): \"cluster_env\"");
}

#[test]
fn lax_mode_prints_undefined_variables_as_empty() {
    assert_eq!(eval("a: '${x}'", &BTreeMap::new(), false).unwrap(), "a: ''");
}

#[test]
fn malformed_expressions_are_errors() {
    assert!(eval("${x", &BTreeMap::new(), false).is_err());
    assert!(eval("${1x}", &BTreeMap::new(), false).is_err());
    assert!(eval("${x@}", &vars(&[("x", "1")]), false).is_err());
}

#[test]
fn variable_names_follow_flux_pattern() {
    assert!(is_valid_name("_a1"));
    assert!(is_valid_name("cluster_env"));
    assert!(!is_valid_name("1a"));
    assert!(!is_valid_name("a-b"));
    assert!(!is_valid_name(""));
}

#[test]
fn apply_substitutes_and_reparses_each_object() {
    let out = apply(
        manifest(CM),
        &vars(&[("value", "8080")]),
        &Options::default(),
    )
    .unwrap();
    // The text is parsed again, so an unquoted number becomes a number, as in Flux.
    assert_eq!(out[0].object.at(&["data", "v"]), Some(&json!(8080)));
    assert_eq!(out[0].origin.file, "app/objects.yaml");
}

#[test]
fn strict_failure_names_object_and_variable() {
    let e = apply(manifest(CM), &vars(&[("other", "1")]), &Options::default()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "post build failed for 'ConfigMap/default/app': variable substitution failed: variable not set (strict mode): \"value\""
    );
    assert!(matches!(e, Error::Substitution { variable: Some(v), .. } if v == "value"));
}

#[test]
fn with_variables_strategy_skips_without_variables() {
    let out = apply(manifest(CM), &BTreeMap::new(), &Options::default()).unwrap();
    assert_eq!(out[0].object.str_at(&["data", "v"]), Some("${value}"));
}

#[test]
fn always_strategy_substitutes_without_variables() {
    let options = Options {
        strict: true,
        strategy: Strategy::Always,
    };
    let e = apply(manifest(CM), &BTreeMap::new(), &options).unwrap_err();
    assert!(
        e.to_string()
            .contains("variable not set (strict mode): \"value\"")
    );
    let lax = Options {
        strict: false,
        ..options
    };
    let out = apply(manifest(CM), &BTreeMap::new(), &lax).unwrap();
    assert_eq!(
        out[0].object.at(&["data", "v"]),
        Some(&serde_json::Value::Null)
    );
    assert_eq!(Strategy::parse(Some("Always")).unwrap(), Strategy::Always);
    assert!(Strategy::parse(Some("Sometimes")).is_err());
}

#[test]
fn opt_out_is_exact_on_label_or_annotation() {
    let annotated = CM.replace(
        "  namespace: default\n",
        "  namespace: default\n  annotations:\n    kustomize.toolkit.fluxcd.io/substitute: disabled\n",
    );
    let out = apply(
        manifest(&annotated),
        &vars(&[("x", "1")]),
        &Options::default(),
    )
    .unwrap();
    assert_eq!(out[0].object.str_at(&["data", "v"]), Some("${value}"));
    let labelled = CM.replace(
        "  namespace: default\n",
        "  namespace: default\n  labels:\n    kustomize.toolkit.fluxcd.io/substitute: disabled\n",
    );
    assert!(
        apply(
            manifest(&labelled),
            &vars(&[("x", "1")]),
            &Options::default()
        )
        .is_ok()
    );
    // Flux compares the value exactly: `Disabled` does not opt out.
    let capital = annotated.replace(": disabled", ": Disabled");
    assert!(
        apply(
            manifest(&capital),
            &vars(&[("x", "1")]),
            &Options::default()
        )
        .is_err()
    );
}

#[test]
fn invalid_variable_names_are_refused() {
    let e = apply(
        manifest(CM),
        &vars(&[("value", "1"), ("bad-name", "2")]),
        &Options::default(),
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "post build failed for 'ConfigMap/default/app': 'bad-name' var name is invalid, must match '^[_[:alpha:]][_[:alpha:][:digit:]]*$'"
    );
}

fn post_build(refs: &[(&str, &str, bool)], inline: &[(&str, &str)]) -> PostBuild {
    PostBuild {
        substitute: vars(inline),
        substitute_from: refs
            .iter()
            .map(|(kind, name, optional)| SubstituteReference {
                kind: kind.to_string(),
                name: name.to_string(),
                optional: *optional,
            })
            .collect(),
        substitute_strategy: None,
    }
}

#[test]
fn later_sources_override_earlier_and_inline_wins() {
    let cm = object(
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"},
        "data": {"x": "from-cm", "y": "cm\nwith-newline\n", "z": "cm"}}),
    );
    // "from-secret" and "secret" in base64.
    let secret = object(
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "b"},
        "data": {"x": "ZnJvbS1zZWNyZXQ=", "z": "c2VjcmV0"}}),
    );
    let pb = post_build(
        &[("ConfigMap", "a", false), ("Secret", "b", false)],
        &[("z", "inline\n")],
    );
    let v = variables(&pb, &[Some(cm), Some(secret)]).unwrap();
    assert_eq!(v["x"], "from-secret");
    assert_eq!(v["y"], "cmwith-newline");
    assert_eq!(v["z"], "inline");
}

#[test]
fn missing_sources_fail_unless_optional() {
    let pb = post_build(
        &[("ConfigMap", "vars", true), ("Secret", "creds", false)],
        &[],
    );
    let e = variables(&pb, &[None, None]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "substitute from 'Secret/creds' error: secrets \"creds\" not found"
    );
    let optional = post_build(&[("ConfigMap", "vars", true)], &[("a", "b")]);
    assert_eq!(variables(&optional, &[None]).unwrap(), vars(&[("a", "b")]));
}

#[test]
fn invalid_secret_data_names_the_key() {
    let secret = object(
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "b"},
        "data": {"x": "not base64!"}}),
    );
    let e = source_values(&secret).unwrap_err().to_string();
    assert!(
        e.starts_with("substitute from 'Secret/b' error: key 'x' is not valid base64"),
        "{e}"
    );
}
