//! `vars`: kustomize's deprecated variables. A var names a field of one object of the build
//! (`objref`, `fieldref.fieldPath`, by default `metadata.name`); once the whole build is
//! done, `$(NAME)` in the fields kustomize's `varReference` configuration lists is replaced
//! by that field's final value.

use serde_json::Value;

use super::fieldspec::{Applies, Spec};
use super::resource::Resource;
use crate::Error;

/// One `vars` entry.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Var {
    pub name: String,
    pub group: String,
    pub version: String,
    pub kind: String,
    pub object: String,
    pub namespace: String,
    pub field_path: String,
}

impl Var {
    fn describe(&self) -> String {
        let version = if self.version.is_empty() {
            "[noVer]"
        } else {
            &self.version
        };
        let group = if self.group.is_empty() {
            "[noGrp]"
        } else {
            &self.group
        };
        format!(
            "{} {}.{version}.{group}/{} {{{}}}",
            self.name, self.kind, self.object, self.field_path
        )
    }
}

fn error(file: &str, message: String) -> Error {
    Error::Render {
        message: format!("{file}: field 'vars' {message}"),
    }
}

/// kustomize's `MergeVars`: marks the one resource each var of the kustomization `file`
/// refers to (by any name it had; by namespace too when the var sets one or the kind is
/// cluster-scoped), and adds the vars to `all`, refusing a name seen before.
pub(crate) fn merge(
    file: &str,
    vars: &[Var],
    resources: &mut [Resource],
    all: &mut Vec<Var>,
) -> Result<(), Error> {
    for v in vars {
        let matched: Vec<usize> = resources
            .iter()
            .enumerate()
            .filter(|(_, r)| refers_to(v, r))
            .map(|(i, _)| i)
            .collect();
        if matched.len() > 1 {
            return Err(error(
                file,
                format!(
                    "found {} resId matches for var {} (unable to disambiguate)",
                    matched.len(),
                    v.describe()
                ),
            ));
        }
        if let [i] = matched[..] {
            resources[i].ref_vars.push(v.name.clone());
        }
    }
    for v in vars {
        if all.iter().any(|a| a.name == v.name) {
            return Err(error(file, format!("var '{}' already encountered", v.name)));
        }
        all.push(v.clone());
    }
    Ok(())
}

fn refers_to(v: &Var, r: &Resource) -> bool {
    if v.group != r.group() || v.version != r.version() || v.kind != r.kind() {
        return false;
    }
    if !r.had_name(&v.object) {
        return false;
    }
    if v.namespace.is_empty() && !r.is_cluster_scoped() {
        return true;
    }
    let want = r.effective_namespace(&v.namespace);
    std::iter::once(r.namespace())
        .chain(r.previous_namespaces.iter().map(String::as_str))
        .any(|ns| r.effective_namespace(ns) == want)
}

/// kustomize's `ResolveVars`: each var's value read from the resource it refers to, then
/// `$(NAME)` replaced in the fields of `specs`.
pub(crate) fn resolve(
    vars: &[Var],
    specs: &[Spec],
    resources: &mut [Resource],
) -> Result<(), Error> {
    if vars.is_empty() {
        return Ok(());
    }
    let mut sorted: Vec<&Var> = vars.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    let mut values: Vec<(String, Value)> = Vec::new();
    for v in sorted {
        let Some(r) = resources.iter().find(|r| r.ref_vars.contains(&v.name)) else {
            return Err(Error::Render {
                message: format!(
                    "var '{}' cannot be mapped to a field in the set of known resources",
                    v.describe()
                ),
            });
        };
        let Some(value) = field_value(&r.obj.to_value(), &v.field_path) else {
            return Err(Error::Render {
                message: format!(
                    "field specified in var '{}' not found in corresponding resource",
                    v.describe()
                ),
            });
        };
        values.push((v.name.clone(), value));
    }
    for r in resources.iter_mut() {
        let applicable: Vec<&Spec> = specs.iter().filter(|s| s.applies_to(r)).collect();
        for spec in applicable {
            let parts: Vec<&str> = spec.path.split('/').filter(|p| !p.is_empty()).collect();
            let Some((first, rest)) = parts.split_first() else {
                continue;
            };
            let mut failure = None;
            if let Some(next) = r.obj.as_map_mut().get_mut(*first) {
                visit(next, rest, &mut |node| {
                    if let Err(e) = replace_node(node, &values) {
                        failure.get_or_insert(e);
                    }
                });
            }
            if let Some(e) = failure {
                return Err(Error::Render {
                    message: format!("{}: field '{}' {e}", r.describe(), spec.path),
                });
            }
        }
    }
    Ok(())
}

/// Calls `f` with the value at `path`, crossing lists on the way.
fn visit(value: &mut Value, path: &[&str], f: &mut dyn FnMut(&mut Value)) {
    let Some((first, rest)) = path.split_first() else {
        if !value.is_null() {
            f(value);
        }
        return;
    };
    match value {
        Value::Array(items) => {
            for item in items {
                visit(item, path, f);
            }
        }
        Value::Object(map) => {
            if let Some(next) = map.get_mut(*first) {
                visit(next, rest, f);
            }
        }
        _ => {}
    }
}

fn replace_node(node: &mut Value, values: &[(String, Value)]) -> Result<(), String> {
    match node {
        Value::String(s) => *node = expand(s, values),
        Value::Object(map) => {
            for v in map.values_mut() {
                if let Value::String(s) = v {
                    *v = expand(s, values);
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                let Value::String(s) = item else {
                    return Err("holds a value that is not a string".into());
                };
                *item = expand(s, values);
            }
        }
        _ => {}
    }
    Ok(())
}

/// kustomize's expansion: `$(NAME)` is replaced by a known var's value (the value itself,
/// typed, when it is the whole string), `$$` is a literal `$`, anything else stays.
fn expand(input: &str, values: &[(String, Value)]) -> Value {
    let lookup = |name: &str| values.iter().find(|(n, _)| n == name).map(|(_, v)| v);
    let mut out = String::new();
    let mut rest = input;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if after.is_empty() {
            out.push('$');
            rest = after;
            break;
        }
        if let Some(stripped) = after.strip_prefix('$') {
            out.push('$');
            rest = stripped;
        } else if let Some(inner) = after.strip_prefix('(') {
            match inner.find(')') {
                Some(close) => {
                    let name = &inner[..close];
                    match lookup(name) {
                        Some(v) if is_scalar(v) => {
                            if input.len() == name.len() + 3 {
                                return v.clone();
                            }
                            out.push_str(&scalar_text(v));
                        }
                        _ => {
                            out.push_str("$(");
                            out.push_str(name);
                            out.push(')');
                        }
                    }
                    rest = &inner[close + 1..];
                }
                None => {
                    out.push_str("$(");
                    rest = inner;
                }
            }
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    Value::String(out)
}

fn is_scalar(v: &Value) -> bool {
    matches!(v, Value::String(_) | Value::Number(_) | Value::Bool(_))
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The value at a var's field path (`spec.ports[0].port`, `a.b.0`, `[name=x]`).
fn field_value(value: &Value, path: &str) -> Option<Value> {
    let mut cur = value;
    for segment in split_path(path) {
        cur = match (cur, segment) {
            (Value::Array(items), s) if s.starts_with('[') && s.ends_with(']') => {
                let inner = &s[1..s.len() - 1];
                let (k, want) = inner.split_once('=')?;
                items
                    .iter()
                    .find(|i| i.get(k).is_some_and(|v| scalar_text(v) == want))?
            }
            (Value::Array(items), s) => items.get(s.parse::<usize>().ok()?)?,
            (Value::Object(m), s) => m.get(s)?,
            _ => return None,
        };
    }
    (!cur.is_null()).then(|| cur.clone())
}

/// Splits at dots outside brackets, and `name[0]` into `name` and `0`.
fn split_path(path: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, c) in path.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            '.' if depth == 0 => {
                parts.push(&path[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&path[start..]);
    let mut out = Vec::new();
    for p in parts {
        match p.strip_suffix(']').and_then(|s| s.rsplit_once('[')) {
            Some((head, index))
                if !index.is_empty() && index.bytes().all(|b| b.is_ascii_digit()) =>
            {
                if !head.is_empty() {
                    out.push(head);
                }
                out.push(index);
            }
            _ => out.push(p),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expansion_follows_kustomize() {
        let values = vec![
            ("A".to_string(), Value::String("x".into())),
            ("N".to_string(), Value::from(80)),
        ];
        assert_eq!(expand("$(A)-$(N)", &values), Value::String("x-80".into()));
        assert_eq!(expand("$(N)", &values), Value::from(80));
        assert_eq!(
            expand("$$(A) $(B) $x $(", &values),
            Value::String("$(A) $(B) $x $(".into())
        );
        assert_eq!(
            split_path("spec.ports[0].port"),
            vec!["spec", "ports", "0", "port"]
        );
    }
}
