//! Patches: which objects they select and how they change them (strategic merge or
//! RFC 6902 JSON patch).

use std::collections::{HashMap, HashSet};

use regex::Regex;
use serde_json::Value;

use super::kustomization::{Kustomization, Patch, Selector};
use super::load::Files;
use super::resource::Resource;
use super::{decode, smp};
use crate::Error;
use crate::schema::Schema;
use crate::selector::Selector as LabelSelector;

/// A patch read from its file or inline text.
enum Loaded {
    /// Strategic merge patch documents.
    Strategic(Vec<Value>),
    /// An RFC 6902 patch.
    Json(json_patch::Patch),
}

fn error(k: &Kustomization, field: &str, reason: impl std::fmt::Display) -> Error {
    Error::Render {
        message: format!("{}: field '{field}' {reason}", k.file),
    }
}

fn load(
    files: Files<'_>,
    dir: &str,
    k: &Kustomization,
    field: &str,
    p: &Patch,
) -> Result<Loaded, Error> {
    let (text, file) = match (&p.patch, &p.path) {
        (Some(text), _) => (text.clone(), k.file.clone()),
        (None, Some(path)) => {
            let (full, text) = files
                .read_text(dir, path, "patch file")
                .map_err(|r| error(k, field, r))?;
            (text, full)
        }
        (None, None) => return Err(error(k, field, "must set path or patch")),
    };
    let docs = documents(&file, &text)?;
    // kustomize refuses a patch that is neither a strategic merge nor a JSON patch.
    if docs.is_empty() || matches!(docs.as_slice(), [Value::Array(ops)] if ops.is_empty()) {
        return Err(error(k, field, "is an empty patch"));
    }
    if let [Value::Array(_)] = docs.as_slice() {
        let ops: json_patch::Patch = serde_json::from_value(docs[0].clone())
            .map_err(|e| error(k, field, format!("is not a valid JSON patch: {e}")))?;
        return Ok(Loaded::Json(ops));
    }
    if docs.iter().any(|d| !d.is_object()) {
        return Err(error(
            k,
            field,
            "must be a strategic merge patch (a map) or a JSON patch (a list)",
        ));
    }
    Ok(Loaded::Strategic(docs))
}

/// The non-empty YAML documents of a patch text.
fn documents(file: &str, text: &str) -> Result<Vec<Value>, Error> {
    Ok(decode::documents(file, text)?
        .into_iter()
        .map(|(v, _)| v)
        .collect())
}

/// Positions of the objects of a build by kind and by every name they had, for patches
/// that name their target instead of selecting it: looking each one up by scanning every
/// object made many such patches quadratic. Built on first use; it may list an object under
/// stale keys (callers check the object itself), but never misses one.
#[derive(Default)]
pub(crate) struct Targets {
    index: Option<HashMap<(String, String), Vec<usize>>>,
}

impl Targets {
    fn keys(r: &Resource) -> impl Iterator<Item = (String, String)> + '_ {
        r.ids()
            .into_iter()
            .map(|(kind, name)| (kind.to_string(), name.to_string()))
    }

    /// The positions listed under `kind` and `name`, building the index if needed.
    fn get(&mut self, resources: &[Resource], kind: &str, name: &str) -> Vec<usize> {
        let index = self.index.get_or_insert_with(|| {
            let mut index: HashMap<(String, String), Vec<usize>> = HashMap::new();
            for (i, r) in resources.iter().enumerate() {
                for key in Self::keys(r) {
                    let positions = index.entry(key).or_default();
                    if !positions.contains(&i) {
                        positions.push(i);
                    }
                }
            }
            index
        });
        let mut found = index
            .get(&(kind.to_string(), name.to_string()))
            .cloned()
            .unwrap_or_default();
        found.sort_unstable();
        found
    }

    /// Records the current kind and names of the object at `i` after a patch changed it.
    fn changed(&mut self, resources: &[Resource], i: usize) {
        if let Some(index) = &mut self.index {
            for key in Self::keys(&resources[i]) {
                let positions = index.entry(key).or_default();
                if !positions.contains(&i) {
                    positions.push(i);
                }
            }
        }
    }

    /// Forgets every position, after objects were removed.
    fn reset(&mut self) {
        self.index = None;
    }
}

/// Applies the `patchesStrategicMerge` entries.
pub(crate) fn strategic_merge_files(
    files: Files<'_>,
    dir: &str,
    k: &Kustomization,
    resources: &mut Vec<Resource>,
    targets: &mut Targets,
) -> Result<(), Error> {
    for (i, entry) in k.patches_strategic_merge.iter().enumerate() {
        let field = format!("patchesStrategicMerge[{i}]");
        // An entry is a file path, or an inline patch when it spans lines or is a map.
        let p = if entry.contains('\n') || entry.trim_start().starts_with('{') {
            Patch {
                patch: Some(entry.clone()),
                ..Default::default()
            }
        } else {
            Patch {
                path: Some(entry.clone()),
                ..Default::default()
            }
        };
        apply(files, dir, k, &field, &p, resources, targets)?;
    }
    Ok(())
}

/// Applies one `patches` or `patchesJson6902` entry; `targets` indexes `resources` for
/// patches that name their target.
pub(crate) fn apply(
    files: Files<'_>,
    dir: &str,
    k: &Kustomization,
    field: &str,
    p: &Patch,
    resources: &mut Vec<Resource>,
    targets: &mut Targets,
) -> Result<(), Error> {
    match (load(files, dir, k, field, p)?, &p.target) {
        (Loaded::Json(ops), Some(target)) => {
            let selected = select(k, field, target, resources)?;
            for i in selected {
                apply_json(k, field, &ops, &mut resources[i])?;
                targets.changed(resources, i);
            }
        }
        (Loaded::Json(_), None) => {
            return Err(error(k, field, "is a JSON patch and needs a target"));
        }
        (Loaded::Strategic(docs), Some(_)) if docs.len() > 1 => {
            return Err(error(
                k,
                field,
                "holds several strategic merge patches and sets a target: split them into one entry each",
            ));
        }
        (Loaded::Strategic(docs), Some(target)) => {
            let selected = select(k, field, target, resources)?;
            // Several documents with a target are refused above: there is one at most.
            if let Some(doc) = docs.first() {
                // kustomize gives a targeted patch each target's apiVersion, and its own kind
                // back, which only `allowKindChange` lets land.
                let mut doc = doc.clone();
                if let Some(m) = doc.as_object_mut() {
                    m.remove("apiVersion");
                    if m.get("kind")
                        .and_then(Value::as_str)
                        .is_none_or(str::is_empty)
                    {
                        m.remove("kind");
                    }
                }
                let mut deleted = HashSet::new();
                for &i in &selected {
                    if apply_strategic(files.schema, &doc, &mut resources[i], p) {
                        deleted.insert(i);
                    } else {
                        targets.changed(resources, i);
                    }
                }
                remove(resources, &deleted, targets);
            }
        }
        (Loaded::Strategic(docs), None) => {
            for doc in &docs {
                let i = find_by_id(k, field, doc, resources, targets)?;
                if apply_strategic(files.schema, doc, &mut resources[i], p) {
                    remove(resources, &HashSet::from([i]), targets);
                } else {
                    targets.changed(resources, i);
                }
            }
        }
    }
    Ok(())
}

/// Removes the objects at `positions` in one pass (removing them one by one shifted the
/// rest of the build each time).
fn remove(resources: &mut Vec<Resource>, positions: &HashSet<usize>, targets: &mut Targets) {
    if positions.is_empty() {
        return;
    }
    let mut i = 0;
    resources.retain(|_| {
        i += 1;
        !positions.contains(&(i - 1))
    });
    targets.reset();
}

/// The one object a strategic merge patch without a target names by kind, name and
/// namespace.
fn find_by_id(
    k: &Kustomization,
    field: &str,
    doc: &Value,
    resources: &[Resource],
    targets: &mut Targets,
) -> Result<usize, Error> {
    let s = |path: &[&str]| {
        path.iter()
            .try_fold(doc, |v, p| v.get(*p))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let (api_version, kind, name, ns) = (
        s(&["apiVersion"]),
        s(&["kind"]),
        s(&["metadata", "name"]),
        s(&["metadata", "namespace"]),
    );
    let (group, version) = crate::split_api_version(&api_version);
    let matches: Vec<usize> = targets
        .get(resources, &kind, &name)
        .into_iter()
        .map(|i| (i, &resources[i]))
        .filter(|(_, r)| {
            r.ids().contains(&(kind.as_str(), name.as_str()))
                && r.group() == group
                && r.version() == version
                && r.had_name(&name)
                && (r.effective_namespace(r.namespace()) == r.effective_namespace(&ns)
                    || r.effective_namespace(r.original_namespace()) == r.effective_namespace(&ns))
        })
        .map(|(i, _)| i)
        .collect();
    match matches.as_slice() {
        [i] => Ok(*i),
        [] => Err(error(
            k,
            field,
            format!("patch target not found: no {kind} named '{name}' in the build"),
        )),
        _ => Err(error(
            k,
            field,
            format!("patch target is ambiguous: several {kind} objects named '{name}'"),
        )),
    }
}

/// Applies a strategic merge patch, keeping the target's kind, name and namespace; returns
/// whether the patch deletes the whole object.
fn apply_strategic(schema: &Schema, doc: &Value, r: &mut Resource, p: &Patch) -> bool {
    if doc.get("$patch").and_then(Value::as_str) == Some("delete") {
        return true;
    }
    let (kind, name, ns) = (
        r.kind().to_string(),
        r.name().to_string(),
        r.namespace().to_string(),
    );
    let schema = schema.root(r.obj.api_version(), r.kind());
    r.writes += 1;
    r.load_empty_values();
    let mut value = Value::Object(std::mem::take(r.obj.as_map_mut()));
    smp::merge(&mut value, doc, schema, &r.empty_values);
    if let Value::Object(m) = value {
        *r.obj.as_map_mut() = m;
    }
    if !p.allow_kind_change {
        r.obj
            .as_map_mut()
            .insert("kind".into(), Value::String(kind));
    } else if r.kind() != kind {
        r.kind_changed_from(kind);
    }
    let patched_name = r.name().to_string();
    r.metadata_mut().insert("name".into(), Value::String(name));
    if p.allow_name_change {
        r.set_name(patched_name);
    }
    r.obj.set_namespace(&ns);
    false
}

fn apply_json(
    k: &Kustomization,
    field: &str,
    ops: &json_patch::Patch,
    r: &mut Resource,
) -> Result<(), Error> {
    // kustomize applies a JSON patch to the object as JSON and reads the result back, so
    // every null is an explicit one afterwards.
    r.empty_values.clear();
    r.source = None;
    r.writes += 1;
    let mut value = r.obj.to_value();
    for op in ops.iter() {
        // kustomize's JSON patch library replaces a missing key of an existing map by adding
        // it; a missing list element or parent still fails.
        let op = match op {
            json_patch::PatchOperation::Replace(rep) => {
                let path = rep.path.to_string();
                let parent = path.rsplit_once('/').map(|(p, _)| p).unwrap_or_default();
                if value.pointer(&path).is_none()
                    && value.pointer(parent).is_some_and(Value::is_object)
                {
                    json_patch::PatchOperation::Add(json_patch::AddOperation {
                        path: rep.path.clone(),
                        value: rep.value.clone(),
                    })
                } else {
                    op.clone()
                }
            }
            _ => op.clone(),
        };
        json_patch::patch(&mut value, &[op]).map_err(|e| {
            error(
                k,
                field,
                format!("cannot be applied to {}: {e}", r.describe()),
            )
        })?;
    }
    let (name, namespace) = (r.name().to_string(), r.namespace().to_string());
    r.obj = crate::Object::from_value(value)
        .map_err(|e| error(k, field, format!("leaves {} invalid: {e}", r.describe())))?;
    // kustomize records an object's id before a JSON patch (which may rename it), so later
    // steps still find it by the name it had.
    if r.name() == name {
        r.name_recorded = true;
    } else {
        r.previous_names.push(name);
        r.name_recorded = false;
    }
    if r.namespace() != namespace {
        r.previous_namespaces.push(namespace);
    }
    Ok(())
}

/// The indices of the objects a selector matches.
pub(crate) fn select(
    k: &Kustomization,
    field: &str,
    s: &Selector,
    resources: &[Resource],
) -> Result<Vec<usize>, Error> {
    select_by(k, field, s, resources, false)
}

/// [`select`] matching every name and namespace each object had (its previous ids), as
/// kustomize selects replacement targets, where patches match only the original and the
/// current ones.
pub(crate) fn select_by_any_id(
    k: &Kustomization,
    field: &str,
    s: &Selector,
    resources: &[Resource],
) -> Result<Vec<usize>, Error> {
    select_by(k, field, s, resources, true)
}

fn select_by(
    k: &Kustomization,
    field: &str,
    s: &Selector,
    resources: &[Resource],
    any_id: bool,
) -> Result<Vec<usize>, Error> {
    let anchored = |re: &str, what: &str| -> Result<Option<Regex>, Error> {
        if re.is_empty() {
            return Ok(None);
        }
        Regex::new(&format!("^(?:{re})$")).map(Some).map_err(|e| {
            error(
                k,
                &format!("{field}.target.{what}"),
                format!("is not a valid regular expression: {e}"),
            )
        })
    };
    let name = anchored(&s.name, "name")?;
    let namespace = anchored(&s.namespace, "namespace")?;
    let labels = LabelSelector::parse(&s.label_selector)
        .map_err(|e| error(k, &format!("{field}.target.labelSelector"), e))?;
    let annotations = LabelSelector::parse(&s.annotation_selector)
        .map_err(|e| error(k, &format!("{field}.target.annotationSelector"), e))?;
    let mut out = Vec::new();
    for (i, r) in resources.iter().enumerate() {
        if !s.group.is_empty() && s.group != r.group()
            || !s.version.is_empty() && s.version != r.version()
            || !s.kind.is_empty() && s.kind != r.kind()
        {
            continue;
        }
        if let Some(re) = &namespace {
            let org = r.effective_namespace(r.original_namespace());
            let cur = r.effective_namespace(r.namespace());
            let earlier = any_id
                && r.previous_namespaces
                    .iter()
                    .any(|n| re.is_match(&r.effective_namespace(n)));
            if !re.is_match(&org) && !re.is_match(&cur) && !earlier {
                continue;
            }
        }
        if let Some(re) = &name
            && !re.is_match(r.original_name())
            && !re.is_match(r.name())
            && !(any_id && r.previous_names.iter().any(|n| re.is_match(n)))
        {
            continue;
        }
        let meta = r.obj.as_map().get("metadata");
        if !labels.matches_map(
            meta.and_then(|m| m.get("labels"))
                .and_then(Value::as_object),
        ) || !annotations.matches_map(
            meta.and_then(|m| m.get("annotations"))
                .and_then(Value::as_object),
        ) {
            continue;
        }
        out.push(i);
    }
    Ok(out)
}
