//! Goldens recorded with `kubectl kustomize` (v1.32.4, Kustomize v5.5.0).

use super::*;
use crate::manifests;

fn render(input: &str) -> String {
    let objects: Vec<Object> = manifests::parse("in.yaml", input)
        .unwrap()
        .into_iter()
        .map(|m| m.object)
        .collect();
    to_string(&objects)
}

fn assert_same(actual: &str, expected: &str) {
    if actual != expected {
        let diff = similar::TextDiff::from_lines(expected, actual)
            .unified_diff()
            .header("kubectl", "ours")
            .to_string();
        panic!("output differs from kubectl kustomize:\n{diff}");
    }
}

#[test]
fn tricky_strings_match_kubectl() {
    assert_same(
        &render(include_str!("golden/tricky.in.yaml")),
        include_str!("golden/tricky.out.yaml"),
    );
}

#[test]
fn documents_are_joined_with_a_marker() {
    let out = render(
        "apiVersion: v1\nkind: A\nmetadata:\n  name: a\n---\napiVersion: v1\nkind: B\nmetadata:\n  name: b\n",
    );
    assert_eq!(
        out,
        "apiVersion: v1\nkind: A\nmetadata:\n  name: a\n---\napiVersion: v1\nkind: B\nmetadata:\n  name: b\n"
    );
    assert_eq!(to_string(&[]), "");
}
