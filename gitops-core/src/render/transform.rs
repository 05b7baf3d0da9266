//! The field transformers of a kustomization: namespace, name prefix and suffix, labels,
//! annotations, images and replica counts.

use std::cell::Cell;
use std::collections::HashMap;

use regex::Regex;
use serde_json::{Map, Value};

use super::fieldspec::{self, Applies, Spec};
use super::kustomization::{Image, Kustomization, LabelSet, ValueAdd};
use super::resource::Resource;
use crate::Error;

/// Which role binding subjects a namespace transformer gives its namespace
/// (`setRoleBindingSubjects`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Subjects {
    /// Only subjects named `default` (kustomize's default).
    #[default]
    DefaultOnly,
    /// Every subject of kind ServiceAccount.
    AllServiceAccounts,
    /// None.
    None,
}

/// Sets the namespace of every namespaced object, and the fields `specs` select (kustomize's
/// `namespace` configuration, or a NamespaceTransformer's `fieldSpecs`); role binding
/// subjects as `subjects` says. With `unset_only`, only empty fields are set.
pub(crate) fn namespace(
    resources: &mut [Resource],
    ns: &str,
    specs: &[Spec],
    unset_only: bool,
    subjects: Subjects,
) {
    let writes = Cell::new(0);
    let set = |v: &mut Value| {
        let empty = match v {
            Value::Null => true,
            Value::String(s) => s.is_empty(),
            _ => false,
        };
        if !unset_only || empty {
            *v = Value::String(ns.into());
            writes.set(writes.get() + 1);
        }
    };
    for r in resources.iter_mut() {
        if r.obj.as_map().is_empty() {
            continue;
        }
        // kustomize records every object's id before setting its namespace (in annotations
        // it removes at the end: a write to every object).
        r.name_recorded = true;
        r.writes += 1;
        if !r.is_cluster_scoped() && (!unset_only || r.namespace().is_empty()) {
            r.set_namespace(ns);
        }
        let binding = matches!(r.kind(), "RoleBinding" | "ClusterRoleBinding");
        let core_v1 = r.obj.as_map().get("apiVersion").and_then(Value::as_str) == Some("v1");
        let applicable: Vec<&Spec> = specs
            .iter()
            .filter(|s| s.applies_to(r))
            .filter(|s| s.path != "metadata/namespace")
            // Only a core Namespace is renamed by its `metadata/name` field spec.
            .filter(|s| s.path != "metadata/name" || core_v1)
            .filter(|s| {
                !(binding
                    && s.path == "subjects/namespace"
                    && matches!(s.kind.as_str(), "RoleBinding" | "ClusterRoleBinding"))
            })
            .collect();
        for spec in applicable {
            if spec.path == "metadata/name" {
                let mut name = Value::String(r.name().to_string());
                set(&mut name);
                if let Value::String(name) = name {
                    r.set_name(name);
                }
                continue;
            }
            let path = fieldspec::split_path(&spec.path);
            let leaf = spec.create.then(|| Value::String(String::new()));
            on_value(r, |value| {
                fieldspec::visit_fields(value, &path, leaf.as_ref(), &mut |v| set(v))
            });
        }
        if binding
            && subjects != Subjects::None
            && let Some(Value::Array(items)) = r.obj.as_map_mut().get_mut("subjects")
        {
            for s in items.iter_mut().filter_map(Value::as_object_mut) {
                let chosen = match subjects {
                    Subjects::DefaultOnly => "name",
                    _ => "kind",
                };
                let wanted = match subjects {
                    Subjects::DefaultOnly => "default",
                    _ => "ServiceAccount",
                };
                if s.get(chosen).and_then(Value::as_str) == Some(wanted) {
                    set(s.entry("namespace").or_insert(Value::Null));
                }
            }
        }
        r.writes += writes.take();
    }
}

/// Adds `prefix` and `suffix` to the fields `specs` select (kustomize's `namePrefix` and
/// `nameSuffix` configurations, or a plugin's `fieldSpecs`), the prefix to every object
/// first; CRDs, API services and namespaces keep their names. A `metadata/name` field is
/// the object's name, whose earlier values name references follow.
pub(crate) fn prefix_suffix(
    resources: &mut [Resource],
    prefix: &str,
    suffix: &str,
    prefix_specs: &[Spec],
    suffix_specs: &[Spec],
) {
    for (affix, specs, front) in [(prefix, prefix_specs, true), (suffix, suffix_specs, false)] {
        if affix.is_empty() {
            continue;
        }
        for r in resources.iter_mut() {
            if matches!(
                (r.group(), r.kind()),
                (_, "CustomResourceDefinition")
                    | ("apiregistration.k8s.io", "APIService")
                    | (_, "Namespace")
            ) {
                continue;
            }
            let applicable: Vec<Spec> = specs.iter().filter(|s| s.applies_to(r)).cloned().collect();
            let join = |v: &str| {
                if front {
                    format!("{affix}{v}")
                } else {
                    format!("{v}{affix}")
                }
            };
            for spec in applicable {
                if spec.path == "metadata/name" {
                    if front {
                        r.prefixes.push(affix.to_string());
                    } else {
                        r.suffixes.push(affix.to_string());
                    }
                    let name = join(r.name());
                    r.set_name(name);
                    continue;
                }
                let path = fieldspec::split_path(&spec.path);
                let leaf = spec.create.then(|| Value::String(String::new()));
                let mut writes = 0;
                on_value(r, |value| {
                    fieldspec::visit_fields(value, &path, leaf.as_ref(), &mut |v| {
                        let text = scalar_text(v);
                        *v = Value::String(join(&text));
                        writes += 1;
                    })
                });
                r.writes += writes;
            }
        }
    }
}

/// Runs `f` on the object as one JSON value, for the field walkers.
pub(crate) fn on_value(r: &mut Resource, f: impl FnOnce(&mut Value)) {
    let mut value = Value::Object(std::mem::take(r.obj.as_map_mut()));
    f(&mut value);
    if let Value::Object(m) = value {
        *r.obj.as_map_mut() = m;
    }
}

/// A scalar's text as YAML shows it; empty for a null or a collection.
fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => String::new(),
    }
}

/// Sets string entries in the maps at `specs`.
pub(crate) fn set_entries<S: Applies>(
    resources: &mut [Resource],
    specs: &[S],
    entries: &Map<String, Value>,
) {
    if entries.is_empty() {
        return;
    }
    for r in resources.iter_mut() {
        let applicable: Vec<&S> = specs.iter().filter(|s| s.applies_to(r)).collect();
        let mut value = Value::Object(std::mem::take(r.obj.as_map_mut()));
        let mut writes = 0;
        for spec in applicable {
            let path = fieldspec::split_path(spec.path());
            fieldspec::visit_maps(&mut value, &path, spec.create(), &mut |m| {
                for (k, v) in entries {
                    m.insert(k.clone(), v.clone());
                    writes += 1;
                }
            });
        }
        if let Value::Object(m) = value {
            *r.obj.as_map_mut() = m;
        }
        r.writes += writes;
    }
}

/// Each `labels` entry, at kustomize's places for it: its own `fields` and the `labels`
/// configuration's, then `common` (the commonLabels places) with `includeSelectors`, else
/// the metadata labels, and the template labels (built in and `template`) with
/// `includeTemplates`.
pub(crate) fn labels(
    resources: &mut [Resource],
    sets: &[LabelSet],
    config: &[Spec],
    template: &[Spec],
    common: &[Spec],
) {
    for set in sets {
        let mut all: Vec<Spec> = set.fields.clone();
        all.extend(config.iter().cloned());
        if set.include_selectors {
            all.extend(common.iter().cloned());
        } else {
            if set.include_templates {
                all.extend(fieldspec::TEMPLATE_LABELS.iter().map(Spec::from));
                all.extend(template.iter().cloned());
            }
            all.extend(fieldspec::METADATA_LABELS.iter().map(Spec::from));
        }
        set_entries(resources, &all, &set.pairs);
    }
}

/// A ValueAddTransformer: its value at each target's field of the objects the target
/// selects (all, without a selector). The field `metadata/namespace` is set as a namespace
/// transformer sets it; others are created as strings where missing. `root_name` is the
/// name of the file system's root directory, for a kustomization there.
pub(crate) fn value_add(
    k: &Kustomization,
    dir: &str,
    root_name: Option<&str>,
    add: &ValueAdd,
    resources: &mut [Resource],
) -> Result<(), Error> {
    // kustomize trims the value; its default is the name of the kustomization's directory,
    // which only an in-memory file system's root lacks.
    let value = match add.value.trim() {
        "" => match dir
            .rsplit('/')
            .next()
            .filter(|d| !d.is_empty())
            .or(root_name)
        {
            Some(d) => d.to_string(),
            None => {
                return Err(Error::Render {
                    message: format!(
                        "{}: ValueAddTransformer has no value, and the directory of the build root has no name here: set value",
                        k.file
                    ),
                });
            }
        },
        v => v.to_string(),
    };
    for (i, t) in add.targets.iter().enumerate() {
        let chosen: Vec<usize> = match &t.selector {
            Some(s) => super::patch::select(k, &format!("targets[{i}].selector"), s, resources)?,
            None => (0..resources.len()).collect(),
        };
        // A `\/` keeps a slash inside a field name.
        let mut fields: Vec<String> = Vec::new();
        for part in t.field_path.split('/') {
            match fields.last_mut() {
                Some(last) if last.ends_with('\\') => {
                    last.pop();
                    last.push('/');
                    last.push_str(part);
                }
                _ => fields.push(part.to_string()),
            }
        }
        for i in chosen {
            let r = &mut resources[i];
            if t.field_path == "metadata/namespace" {
                namespace(
                    std::slice::from_mut(r),
                    &value,
                    &[],
                    false,
                    Subjects::DefaultOnly,
                );
                continue;
            }
            let (mut failed, mut written) = (false, false);
            on_value(r, |v| {
                let mut node = v;
                for f in &fields {
                    node = match node {
                        Value::Object(m) => {
                            let next = m.entry(f.clone()).or_insert(Value::Null);
                            if next.is_null() {
                                *next = Value::Object(Map::new());
                            }
                            next
                        }
                        // A number indexes a list, as kustomize's path lookup does.
                        Value::Array(items) => {
                            match f.parse::<usize>().ok().and_then(|i| items.get_mut(i)) {
                                Some(next) => next,
                                None => {
                                    failed = true;
                                    return;
                                }
                            }
                        }
                        _ => {
                            failed = true;
                            return;
                        }
                    };
                }
                let current = match &*node {
                    Value::Object(m) if m.is_empty() => String::new(),
                    Value::Object(_) | Value::Array(_) => {
                        failed = true;
                        return;
                    }
                    other => scalar_text(other),
                };
                written = true;
                *node = Value::String(if t.file_path_position > 0 {
                    insert_path_part(&current, t.file_path_position - 1, &value)
                } else {
                    value.clone()
                });
            });
            r.writes += usize::from(written);
            if failed {
                return Err(Error::Render {
                    message: format!(
                        "{}: ValueAddTransformer target {i} field '{}' of {} is not a string field",
                        k.file,
                        t.field_path,
                        r.describe()
                    ),
                });
            }
        }
    }
    Ok(())
}

/// `part` inserted as the path segment at `pos` (0-based, clamped) of the file path `path`;
/// an absolute path stays absolute.
fn insert_path_part(path: &str, pos: i64, part: &str) -> String {
    if part.is_empty() {
        return path.to_string();
    }
    let absolute = path.starts_with('/');
    let mut parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    let pos = usize::try_from(pos).unwrap_or_default().min(parts.len());
    parts.insert(pos, part);
    let joined = parts.join("/");
    if absolute {
        format!("/{joined}")
    } else {
        joined
    }
}

/// `replicas`: sets the count at the fields `specs` select (kustomize's `replicas`
/// configuration, or a plugin's `fieldSpecs`) of every object that has or had the name.
/// An entry that matches no object fails, as kustomize fails: the error is the entry's
/// name.
pub(crate) fn replicas(
    resources: &mut [Resource],
    replicas: &[(String, Value)],
    specs: &[Spec],
) -> Result<(), String> {
    if replicas.is_empty() {
        return Ok(());
    }
    // Positions by every name each object had, built once rather than scanning every object
    // for each entry.
    let mut by_name: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, r) in resources.iter().enumerate() {
        for name in std::iter::once(r.name()).chain(r.previous_names.iter().map(String::as_str)) {
            let positions = by_name.entry(name.to_string()).or_default();
            if positions.last() != Some(&i) {
                positions.push(i);
            }
        }
    }
    for (name, count) in replicas {
        let positions = by_name.get(name).map(Vec::as_slice).unwrap_or_default();
        let mut found = false;
        for spec in specs {
            let path = fieldspec::split_path(&spec.path);
            let leaf = spec.create.then(|| Value::from(0));
            for &i in positions {
                let r = &mut resources[i];
                if !spec.applies_to(r) {
                    continue;
                }
                found = true;
                let mut writes = 0;
                on_value(r, |value| {
                    fieldspec::visit_fields(value, &path, leaf.as_ref(), &mut |v| {
                        *v = count.clone();
                        writes += 1;
                    })
                });
                r.writes += writes;
            }
        }
        if !found {
            return Err(name.clone());
        }
    }
    Ok(())
}

/// `images`: rewrites the `image` of every container and init container, wherever a pod
/// spec sits in the object.
pub(crate) fn images(resources: &mut [Resource], images: &[Image], extra: &[Spec]) {
    for image in images {
        let Ok(re) = Regex::new(&format!(
            "^{}(@sha256)?(:[a-zA-Z0-9_.{{}}-]*)?(@sha256:[a-zA-Z0-9]*)?$",
            image.name
        )) else {
            continue;
        };
        for r in resources.iter_mut() {
            // kustomize's image field specifications skip CRDs.
            let crd = r.kind() == "CustomResourceDefinition";
            let paths: Vec<&str> = extra
                .iter()
                .filter(|s| !crd && s.applies_to(r))
                .map(|s| s.path.as_str())
                .collect();
            let mut writes = 0;
            let map = r.obj.as_map_mut();
            walk_containers(map, &re, image, &mut writes);
            // Image fields a transformer configuration adds (`a/b[]/image`).
            for path in paths {
                let parts: Vec<&str> = path.split('/').map(|p| p.trim_end_matches("[]")).collect();
                let Some((last, parents)) = parts.split_last() else {
                    continue;
                };
                let mut value = Value::Object(std::mem::take(map));
                fieldspec::visit_maps(&mut value, parents, false, &mut |m| {
                    if let Some(Value::String(current)) = m.get_mut(*last)
                        && re.is_match(current)
                    {
                        *current = update_image(current, image);
                        writes += 1;
                    }
                });
                if let Value::Object(m) = value {
                    *map = m;
                }
            }
            r.writes += writes;
        }
    }
}

fn walk_containers(map: &mut Map<String, Value>, re: &Regex, image: &Image, writes: &mut usize) {
    for (key, value) in map.iter_mut() {
        if matches!(key.as_str(), "containers" | "initContainers")
            && let Value::Array(items) = value
        {
            for c in items.iter_mut().filter_map(Value::as_object_mut) {
                if let Some(Value::String(current)) = c.get_mut("image")
                    && re.is_match(current)
                {
                    *current = update_image(current, image);
                    *writes += 1;
                }
            }
        }
        match value {
            Value::Object(m) => walk_containers(m, re, image, writes),
            Value::Array(items) => {
                for m in items.iter_mut().filter_map(Value::as_object_mut) {
                    walk_containers(m, re, image, writes);
                }
            }
            _ => {}
        }
    }
}

fn update_image(current: &str, image: &Image) -> String {
    let (mut name, mut tag, mut digest) = split_image(current);
    if let Some(n) = image.new_name.as_deref().filter(|s| !s.is_empty()) {
        name = n.to_string();
    }
    let new_tag = image.new_tag.as_deref().filter(|s| !s.is_empty());
    let new_digest = image.digest.as_deref().filter(|s| !s.is_empty());
    let suffix = image.tag_suffix.as_deref().filter(|s| !s.is_empty());
    match (new_tag, new_digest) {
        (Some(t), Some(d)) => {
            tag = t.into();
            digest = d.into();
        }
        (Some(t), None) => {
            tag = t.into();
            digest.clear();
        }
        (None, Some(d)) => {
            tag.clear();
            digest = d.into();
        }
        // `tagSuffix` lengthens the tag the image has, dropping its digest.
        (None, None) => {
            if let Some(s) = suffix {
                tag.push_str(s);
                digest.clear();
            }
        }
    }
    let mut out = name;
    if !tag.is_empty() {
        out.push(':');
        out.push_str(&tag);
    }
    if !digest.is_empty() {
        out.push('@');
        out.push_str(&digest);
    }
    out
}

/// Splits an image reference into name, tag and digest, ignoring a `:port` in the registry.
pub(crate) fn split_image(image: &str) -> (String, String, String) {
    let slash = image.find('/').filter(|&i| i > 0).unwrap_or(0);
    let search = &image[slash..];
    let at = search.find('@').map(|i| i + slash);
    let colon = search.find(':').map(|i| i + slash);
    match (colon, at) {
        (None, None) => (image.into(), String::new(), String::new()),
        (c, Some(d)) if c.is_none_or(|c| d < c) => {
            (image[..d].into(), String::new(), image[d + 1..].into())
        }
        (Some(c), Some(d)) => (
            image[..c].into(),
            image[c + 1..d].into(),
            image[d + 1..].into(),
        ),
        (Some(c), None) => (image[..c].into(), image[c + 1..].into(), String::new()),
        (None, Some(_)) => unreachable!("handled above"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_split_like_kustomize() {
        assert_eq!(split_image("nginx"), ("nginx".into(), "".into(), "".into()));
        assert_eq!(
            split_image("nginx:1.2"),
            ("nginx".into(), "1.2".into(), "".into())
        );
        assert_eq!(
            split_image("reg:5000/app:v1@sha256:abc"),
            ("reg:5000/app".into(), "v1".into(), "sha256:abc".into())
        );
        assert_eq!(
            split_image("app@sha256:abc"),
            ("app".into(), "".into(), "sha256:abc".into())
        );
    }
}
