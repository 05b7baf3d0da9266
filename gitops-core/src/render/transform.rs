//! The field transformers of a kustomization: namespace, name prefix and suffix, labels,
//! annotations, images and replica counts.

use std::collections::HashMap;

use regex::Regex;
use serde_json::{Map, Value};

use super::fieldspec::{self, Applies, FieldSpec, Spec};
use super::kustomization::{Image, LabelSet};
use super::resource::Resource;

/// Sets the namespace of every namespaced object, of the `default` service account
/// subjects of role bindings, and of the services of API services and CRD conversion
/// webhooks.
pub(crate) fn namespace(resources: &mut [Resource], ns: &str, unset_only: bool) {
    for r in resources.iter_mut() {
        if unset_only && !r.namespace().is_empty() {
            continue;
        }
        let service_path: &[&str] = match (r.group(), r.kind()) {
            ("apiregistration.k8s.io", "APIService") => &["spec", "service"],
            ("apiextensions.k8s.io", "CustomResourceDefinition") => {
                &["spec", "conversion", "webhook", "clientConfig", "service"]
            }
            _ => &[],
        };
        if !service_path.is_empty() {
            let mut value = Value::Object(std::mem::take(r.obj.as_map_mut()));
            fieldspec::visit_maps(&mut value, service_path, false, &mut |m| {
                m.insert("namespace".into(), Value::String(ns.into()));
            });
            if let Value::Object(m) = value {
                *r.obj.as_map_mut() = m;
            }
        }
        if !r.is_cluster_scoped() {
            r.set_namespace(ns);
        }
        r.name_recorded = true;
        if matches!(r.kind(), "RoleBinding" | "ClusterRoleBinding")
            && let Some(Value::Array(subjects)) = r.obj.as_map_mut().get_mut("subjects")
        {
            for s in subjects.iter_mut().filter_map(Value::as_object_mut) {
                if s.get("name").and_then(Value::as_str) == Some("default") {
                    s.insert("namespace".into(), Value::String(ns.into()));
                }
            }
        }
    }
}

/// Adds a prefix and a suffix to every name, except those of CRDs, API services and
/// namespaces.
pub(crate) fn prefix_suffix(
    resources: &mut [Resource],
    prefix: &str,
    suffix: &str,
    only: Option<&[Spec]>,
) {
    if prefix.is_empty() && suffix.is_empty() {
        return;
    }
    for r in resources.iter_mut() {
        // A plugin's field specifications (all `metadata/name`) choose the kinds.
        if only.is_some_and(|specs| !specs.iter().any(|s| s.applies_to(r))) {
            continue;
        }
        if matches!(
            (r.group(), r.kind()),
            ("apiextensions.k8s.io", "CustomResourceDefinition")
                | ("apiregistration.k8s.io", "APIService")
                | ("", "Namespace")
        ) {
            continue;
        }
        if !prefix.is_empty() {
            r.prefixes.push(prefix.to_string());
        }
        if !suffix.is_empty() {
            r.suffixes.push(suffix.to_string());
        }
        let name = format!("{prefix}{}{suffix}", r.name());
        r.set_name(name);
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
        for spec in applicable {
            let path: Vec<&str> = spec.path().split('/').collect();
            fieldspec::visit_maps(&mut value, &path, spec.create(), &mut |m| {
                for (k, v) in entries {
                    m.insert(k.clone(), v.clone());
                }
            });
        }
        if let Value::Object(m) = value {
            *r.obj.as_map_mut() = m;
        }
    }
}

/// `commonLabels` then each `labels` entry.
pub(crate) fn labels(resources: &mut [Resource], common: &Map<String, Value>, sets: &[LabelSet]) {
    set_entries(resources, fieldspec::LABELS, common);
    for set in sets {
        let specs = if set.include_selectors {
            fieldspec::LABELS
        } else if set.include_templates {
            fieldspec::TEMPLATE_LABELS
        } else {
            fieldspec::METADATA_LABELS
        };
        if set.fields.is_empty() {
            set_entries(resources, specs, &set.pairs);
        } else {
            let mut all: Vec<Spec> = specs.iter().map(Spec::from).collect();
            all.extend(set.fields.iter().cloned());
            set_entries(resources, &all, &set.pairs);
        }
    }
}

/// `commonAnnotations`.
pub(crate) fn annotations(resources: &mut [Resource], common: &Map<String, Value>) {
    set_entries(resources, fieldspec::ANNOTATIONS, common);
}

/// `replicas`: sets the count of every workload that has or had the name.
pub(crate) fn replicas(resources: &mut [Resource], replicas: &[(String, Value)]) {
    if replicas.is_empty() {
        return;
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
        for &i in positions {
            let r = &mut resources[i];
            let specs: Vec<FieldSpec> = fieldspec::REPLICAS
                .iter()
                .copied()
                .filter(|s| s.applies_to(r))
                .collect();
            if specs.is_empty() {
                continue;
            }
            let map = r.obj.as_map_mut();
            let spec = map
                .entry("spec")
                .or_insert_with(|| Value::Object(Map::new()));
            if !spec.is_object() {
                *spec = Value::Object(Map::new());
            }
            if let Value::Object(spec) = spec {
                spec.insert("replicas".into(), count.clone());
            }
        }
    }
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
            let paths: Vec<&str> = extra
                .iter()
                .filter(|s| s.applies_to(r))
                .map(|s| s.path.as_str())
                .collect();
            let map = r.obj.as_map_mut();
            walk_containers(map, &re, image);
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
                    }
                });
                if let Value::Object(m) = value {
                    *map = m;
                }
            }
        }
    }
}

fn walk_containers(map: &mut Map<String, Value>, re: &Regex, image: &Image) {
    for (key, value) in map.iter_mut() {
        if matches!(key.as_str(), "containers" | "initContainers")
            && let Value::Array(items) = value
        {
            for c in items.iter_mut().filter_map(Value::as_object_mut) {
                if let Some(Value::String(current)) = c.get_mut("image")
                    && re.is_match(current)
                {
                    *current = update_image(current, image);
                }
            }
        }
        match value {
            Value::Object(m) => walk_containers(m, re, image),
            Value::Array(items) => {
                for m in items.iter_mut().filter_map(Value::as_object_mut) {
                    walk_containers(m, re, image);
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
        (None, None) => {}
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
