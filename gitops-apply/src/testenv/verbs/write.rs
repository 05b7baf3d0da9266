//! The write path shared by create, update, patch and apply: body decoding, namespace checks,
//! unknown fields, then one pipeline (reset fields, defaults, managedFields, server-set fields,
//! validation, generation, no-op detection, storage).

use std::sync::Arc;

use gitops_core::schema::{Node, Schema};
use serde_json::{Map, Value, json};

use crate::testenv::registry::Resource;
use crate::testenv::registry::crd;
use crate::testenv::registry::events;
use crate::testenv::registry::validation;
use crate::testenv::registry::{admission, defaults, encode, hpa, strategy};
use crate::testenv::request::Call;
use crate::testenv::state::State;
use crate::testenv::status::{ApiError, Cause};
use crate::testenv::storage::EventType;
use crate::testenv::verbs::Written;
use crate::testenv::verbs::apply::apply;
use crate::testenv::verbs::decode;
use crate::testenv::verbs::patch::{self, PatchKind};
use gitops_core::ssa::fieldpath::{self, FieldSet};
use gitops_core::ssa::managed::{self, Entry};

/// The schema of a resource's objects: the built-in OpenAPI or the CRD's structural schema.
pub(crate) fn with_schema<R>(resource: &Resource, f: impl FnOnce(Option<Node<'_>>) -> R) -> R {
    if let Some(custom) = &resource.custom {
        return f(Node::from_schema(&custom.schema));
    }
    if resource.group == "events.k8s.io" {
        return f(Node::from_schema(events::schema()));
    }
    f(Schema::builtin().root(&resource.api_version(), &resource.kind))
}

/// Go's name for the internal version of a group in conversion errors.
pub(crate) fn internal_group(group: &str) -> &str {
    if group.is_empty() {
        "core"
    } else {
        group.split('.').next().unwrap_or(group)
    }
}

pub(crate) fn parse_json_body(resource: &Resource, call: &Call) -> Result<Value, ApiError> {
    let text = String::from_utf8_lossy(&call.body);
    let unrecognized = |error: String| {
        ApiError::bad_request(format!(
            "the object provided is unrecognized (must be of type {}): couldn't get version/kind; json parse error: {error} ({})",
            resource.kind,
            decode::summarize(&call.body)
        ))
    };
    let value: Value = if call.content_type.contains("yaml") {
        let (value, repeated) = decode::yaml(&text)
            .map_err(|e| ApiError::bad_request(format!("error converting YAML to JSON: {e}")))?;
        if !repeated.is_empty() {
            if call.q("fieldValidation") == Some("Strict") {
                return Err(ApiError::bad_request(format!(
                    "{kind} in version \"{version}\" cannot be handled as a {kind}: strict decoding error: yaml: unmarshal errors:\n  {}",
                    repeated.join("\n  "),
                    kind = resource.kind,
                    version = resource.version,
                )));
            }
            if call.q("fieldValidation") != Some("Ignore")
                && let Ok(mut warnings) = call.warnings.lock()
            {
                warnings.extend(repeated);
            }
        }
        value
    } else {
        serde_json::from_slice(&call.body).map_err(|e| unrecognized(go_json_error(&text, &e)))?
    };
    if !value.is_object() {
        return Err(unrecognized(decode::not_an_object(&value)));
    }
    let kind = value.get("kind").and_then(Value::as_str).unwrap_or("");
    let api_version = value
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or("");
    if !kind.is_empty() && kind != resource.kind {
        let version = api_version.rsplit('/').next().unwrap_or("");
        return Err(ApiError::bad_request(format!(
            "{kind} in version \"{version}\" cannot be handled as a {}: converting ({version}.{kind}) to ({}.{}): unknown conversion",
            resource.kind,
            internal_group(&resource.group),
            resource.kind
        )));
    }
    decode::check_api_version(resource, &value)?;
    decode::typed(resource, &value).map_err(|error| {
        ApiError::bad_request(format!(
            "{kind} in version \"{version}\" cannot be handled as a {kind}: {error}",
            kind = resource.kind,
            version = resource.version,
        ))
    })?;
    Ok(value)
}

/// Go's encoding/json message for the common syntax errors.
pub(crate) fn go_json_error(text: &str, error: &serde_json::Error) -> String {
    let offset = text
        .lines()
        .take(error.line().saturating_sub(1))
        .map(|l| l.len() + 1)
        .sum::<usize>()
        + error.column().saturating_sub(1);
    let c = text
        .get(offset.min(text.len())..)
        .and_then(|rest| rest.chars().next())
        .unwrap_or(' ');
    let message = error.to_string();
    if message.starts_with("key must be a string") {
        format!("invalid character '{c}' looking for beginning of object key string")
    } else if message.starts_with("EOF") {
        "unexpected end of JSON input".to_string()
    } else {
        format!("invalid character '{c}' looking for beginning of value")
    }
}

pub(crate) use crate::testenv::clock::now;

pub(crate) fn meta_str<'a>(object: &'a Value, key: &str) -> Option<&'a str> {
    object.get("metadata")?.get(key)?.as_str()
}

pub(crate) fn set_meta(object: &mut Value, key: &str, value: Value) {
    if !object.get("metadata").is_some_and(Value::is_object)
        && let Some(map) = object.as_object_mut()
    {
        map.insert("metadata".into(), json!({}));
    }
    if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.insert(key.into(), value);
    }
}

pub(crate) fn check_namespace(
    state: &State,
    resource: &Resource,
    namespace: Option<&str>,
    name: &str,
    creating: bool,
) -> Result<(), ApiError> {
    let Some(ns) = namespace.filter(|_| resource.namespaced) else {
        return Ok(());
    };
    let key = ("".to_string(), "namespaces".to_string());
    let Some(found) = state.store.get(&key, "", ns) else {
        return Err(ApiError::namespace_not_found(ns));
    };
    if creating && found.pointer("/metadata/deletionTimestamp").is_some() {
        let mut e = ApiError::forbidden(
            format!(
                "{} \"{name}\" is forbidden: unable to create new content in namespace {ns} because it is being terminated",
                resource.qualified()
            ),
            resource,
            name,
        );
        if let Some(details) = e.details.as_mut().and_then(Value::as_object_mut) {
            details.insert(
                "causes".into(),
                json!([{"reason": "NamespaceTerminating", "message": format!("namespace {ns} is being terminated"), "field": "metadata.namespace"}]),
            );
        }
        return Err(e);
    }
    Ok(())
}

const GENERATE_CHARS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

pub(crate) fn generated_suffix(seed: u64) -> String {
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..5)
        .map(|_| {
            x ^= x >> 29;
            x = x.wrapping_mul(0xbf58476d1ce4e5b9);
            GENERATE_CHARS[(x % GENERATE_CHARS.len() as u64) as usize] as char
        })
        .collect()
}

pub(crate) fn create_object(
    state: &mut State,
    resource: &Resource,
    namespace: Option<&str>,
    mut object: Value,
    call: &Call,
) -> Result<(Arc<Value>, Written), ApiError> {
    if let Some(body_ns) = meta_str(&object, "namespace")
        && let Some(ns) = namespace
        && body_ns != ns
    {
        return Err(ApiError::bad_request(
            "the namespace of the provided object does not match the namespace sent on the request",
        ));
    }
    if let Some(map) = object.as_object_mut() {
        map.insert("kind".into(), json!(resource.kind));
        map.insert("apiVersion".into(), json!(resource.api_version()));
    }
    if let (Some(ns), true) = (namespace, resource.namespaced) {
        set_meta(&mut object, "namespace", json!(ns));
    }
    let mut name = meta_str(&object, "name").unwrap_or("").to_string();
    let generate = meta_str(&object, "generateName").unwrap_or("").to_string();
    if name.is_empty() && generate.is_empty() {
        return Err(ApiError::invalid(
            &resource.kind,
            &resource.group,
            "",
            vec![Cause::required(
                "metadata.name",
                "name or generateName is required",
            )],
        ));
    }
    check_namespace(state, resource, namespace, &name, true)?;
    let generated = name.is_empty();
    if generated {
        name = format!("{generate}{}", generated_suffix(state.store.rv() + 7));
    }
    let ns = if resource.namespaced {
        namespace.unwrap_or("")
    } else {
        ""
    };
    if state
        .store
        .get(&resource.storage_key(), ns, &name)
        .is_some()
    {
        return Err(ApiError::already_exists(resource, &name));
    }
    let op = Op::Update {
        manager: call.manager(),
        subresource: None,
    };
    write(state, resource, ns, &name, None, object, op, call.dry_run())
}

/// How managedFields change with a write.
pub(crate) enum Op {
    /// A create, update or non-apply patch by this manager.
    Update {
        manager: String,
        subresource: Option<String>,
    },
    /// A server-side apply whose entries are already computed.
    Apply {
        manager: String,
        subresource: Option<String>,
        entries: Vec<Entry>,
    },
}

/// The order managedFields are encoded in (apimachinery's `sortEncodedManagedFields`):
/// `Apply` entries before `Update` ones, then by time to the second (none counts as zero),
/// manager, apiVersion and subresource.
fn sort_entries(entries: &mut [Entry]) {
    entries.sort_by(|x, y| {
        x.operation
            .cmp(&y.operation)
            .then_with(|| entry_seconds(x).cmp(&entry_seconds(y)))
            .then_with(|| x.manager.cmp(&y.manager))
            .then_with(|| x.api_version.cmp(&y.api_version))
            .then_with(|| {
                let sub = |e: &Entry| e.subresource.clone().unwrap_or_default();
                sub(x).cmp(&sub(y))
            })
    });
}

/// An entry's time in seconds, zero without one.
fn entry_seconds(entry: &Entry) -> i64 {
    entry
        .time
        .as_ref()
        .and_then(Value::as_str)
        .and_then(|t| t.parse::<jiff::Timestamp>().ok())
        .map_or(0, |t| t.as_second())
}

/// How many managers of updates an object keeps apart (apimachinery's
/// `DefaultMaxUpdateManagers`).
const MAX_UPDATE_MANAGERS: usize = 10;

/// apimachinery's capManagersManager, after every update: past [`MAX_UPDATE_MANAGERS`] entries
/// of updates, the oldest (by time, then manager) are merged per apiVersion into an
/// `ancient-changes` entry, which takes the time of the last entry merged into it.
fn cap_update_managers(entries: &mut Vec<Entry>) {
    let mut updaters: Vec<usize> = (0..entries.len())
        .filter(|i| entries[*i].operation == "Update")
        .collect();
    if updaters.len() <= MAX_UPDATE_MANAGERS {
        return;
    }
    updaters.sort_by(|a, b| {
        let (x, y) = (&entries[*a], &entries[*b]);
        entry_seconds(x)
            .cmp(&entry_seconds(y))
            .then_with(|| x.manager.cmp(&y.manager))
            .then_with(|| x.api_version.cmp(&y.api_version))
            .then_with(|| x.subresource.cmp(&y.subresource))
    });
    const BUCKET: &str = "ancient-changes";
    let is_bucket = |e: &Entry, version: &str| {
        e.manager == BUCKET
            && e.operation == "Update"
            && e.api_version == version
            && e.subresource.is_none()
    };
    let mut first_of_version: Vec<(String, usize)> = Vec::new();
    let mut removed: Vec<usize> = Vec::new();
    let mut length = updaters.len();
    for &i in &updaters {
        if length <= MAX_UPDATE_MANAGERS {
            break;
        }
        let version = entries[i].api_version.clone();
        let Some(&(_, first)) = first_of_version.iter().find(|(v, _)| *v == version) else {
            first_of_version.push((version, i));
            continue;
        };
        let bucket = match (0..entries.len())
            .find(|b| !removed.contains(b) && is_bucket(&entries[*b], &version))
        {
            Some(b) => b,
            None => {
                // The first entry of this version becomes the bucket.
                entries[first].manager = BUCKET.into();
                entries[first].subresource = None;
                first
            }
        };
        let set = entries[i].set.clone();
        let time = entries[i].time.clone();
        entries[bucket].set.union(&set);
        entries[bucket].time = time;
        removed.push(i);
        length -= 1;
    }
    let mut index = 0;
    entries.retain(|_| {
        let keep = !removed.contains(&index);
        index += 1;
        keep
    });
}

/// Whether two objects are equal apart from the top-level fields `skip` names and, when
/// `metadata` is not skipped, the metadata fields `skip_meta` names; compared in place, without
/// copies (map order does not count, as for `Value`'s equality).
fn same_except(a: &Value, b: &Value, skip: &[&str], skip_meta: &[&str]) -> bool {
    fn same_map(
        a: &Map<String, Value>,
        b: &Map<String, Value>,
        skipped: impl Fn(&str) -> bool,
    ) -> bool {
        let kept = |m: &Map<String, Value>| m.keys().filter(|k| !skipped(k)).count();
        kept(a) == kept(b)
            && a.iter()
                .filter(|(k, _)| !skipped(k))
                .all(|(k, v)| b.get(k) == Some(v))
    }
    let (Value::Object(a), Value::Object(b)) = (a, b) else {
        return a == b;
    };
    if !same_map(a, b, |k| k == "metadata" || skip.contains(&k)) {
        return false;
    }
    if skip.contains(&"metadata") {
        return true;
    }
    match (a.get("metadata"), b.get("metadata")) {
        (Some(Value::Object(x)), Some(Value::Object(y))) => {
            same_map(x, y, |k| skip_meta.contains(&k))
        }
        (x, y) => x == y,
    }
}

/// Whether a write changed anything but bookkeeping (managedFields, resourceVersion).
pub(crate) fn content_changed(old: &Value, new: &Value) -> bool {
    !same_except(old, new, &[], &["managedFields", "resourceVersion"])
}

/// Whether a write changed what the generation counts: everything but metadata and, when the
/// resource has a status subresource, status.
fn spec_changed(resource: &Resource, old: &Value, new: &Value) -> bool {
    if resource.custom.is_some() && !resource.has_subresource("status") {
        return !same_except(old, new, &["metadata"], &[]);
    }
    !same_except(old, new, &["metadata", "status"], &[])
}

/// The shared write pipeline: reset fields, defaults, managedFields, server-set fields,
/// validation, generation, no-op detection, storage.
#[allow(clippy::too_many_arguments)]
pub(crate) fn write(
    state: &mut State,
    resource: &Resource,
    ns: &str,
    name: &str,
    shared: Option<&Arc<Value>>,
    mut new: Value,
    op: Op,
    dry_run: bool,
) -> Result<(Arc<Value>, Written), ApiError> {
    let old = shared.map(Arc::as_ref);
    let subresource = match &op {
        Op::Update { subresource, .. } | Op::Apply { subresource, .. } => subresource.clone(),
    };
    // Fields the endpoint does not write: status on the main resource, everything but status
    // on the status subresource.
    if resource.has_subresource("status") {
        if subresource.as_deref() == Some("status") {
            if let Some(old) = old {
                let status = new.get("status").cloned();
                let mut base = old.clone();
                if let Some(map) = base.as_object_mut() {
                    match status {
                        Some(s) => map.insert("status".into(), s),
                        None => map.remove("status"),
                    };
                }
                new = base;
            }
        } else if let Some(map) = new.as_object_mut() {
            match old.and_then(|o| o.get("status")) {
                Some(s) => {
                    map.insert("status".into(), s.clone());
                }
                None => {
                    map.remove("status");
                }
            }
        }
    }
    if let Some(map) = new.as_object_mut() {
        map.insert("kind".into(), json!(resource.kind));
        map.insert("apiVersion".into(), json!(resource.api_version()));
    }
    defaults::apply_defaults(resource, &mut new);
    if let Some(custom) = &resource.custom {
        crd::default_and_prune(custom, &mut new);
    }
    // managedFields as the client sent them: an empty list (which encoding drops) resets them.
    let provided_managed = new.pointer("/metadata/managedFields").cloned();
    // Decoded into Go structs and encoded back: omitted zero values go before anything
    // compares the object (an update does not own a field the server drops).
    encode::encode(resource, &mut new);
    // Identity and bookkeeping come from the stored object.
    if let Some(old) = old {
        for key in [
            "uid",
            "creationTimestamp",
            "generation",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "name",
            "namespace",
        ] {
            match old.get("metadata").and_then(|m| m.get(key)) {
                Some(v) => set_meta(&mut new, key, v.clone()),
                None => {
                    if let Some(meta) = new.get_mut("metadata").and_then(Value::as_object_mut) {
                        meta.remove(key);
                    }
                }
            }
        }
        if let Some(map) = new.as_object_mut()
            && resource.group.is_empty()
            && resource.kind == "Service"
            && let (Some(spec), Some(old_spec)) = (
                map.get_mut("spec").and_then(Value::as_object_mut),
                old.get("spec").and_then(Value::as_object),
            )
        {
            for key in ["clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"] {
                if !spec.contains_key(key)
                    && let Some(v) = old_spec.get(key)
                {
                    spec.insert(key.into(), v.clone());
                }
            }
        }
    } else {
        set_meta(&mut new, "name", json!(name));
        for key in [
            "uid",
            "resourceVersion",
            "creationTimestamp",
            "generation",
            "deletionTimestamp",
            "managedFields",
        ] {
            if let Some(meta) = new.get_mut("metadata").and_then(Value::as_object_mut) {
                meta.remove(key);
            }
        }
    }
    // A Secret's stringData is folded into data by decoding, before the field manager sees
    // the object: an update owns the data keys it wrote.
    defaults::fold_string_data(resource, &mut new);
    // managedFields.
    let empty = json!({});
    let (entries, manager, operation) = match op {
        Op::Update {
            manager,
            subresource,
        } => {
            // managedFields a client writes replace the stored ones (the main resource only);
            // an empty list resets them, and then nobody owns anything.
            let provided = provided_managed;
            let reset = subresource.is_none() && provided.as_ref().is_some_and(|m| m == &json!([]));
            let written = managed::read(Some(&new));
            let mut entries = if subresource.is_none()
                && !written.is_empty()
                && provided.as_ref() != old.and_then(|o| o.pointer("/metadata/managedFields"))
            {
                written
            } else {
                managed::read(old)
            };
            let untracked_before = entries.is_empty();
            let (changed, removed) = with_schema(resource, |schema| {
                // The name, generated or not, is never owned: compare leaves it out. Which
                // built-in fields appear (and are owned themselves) the schema tells: those
                // Go omits when empty.
                fieldpath::compare(
                    old.unwrap_or(&empty),
                    &new,
                    schema,
                    resource.custom.is_some(),
                )
            });
            for entry in entries.iter_mut() {
                entry.set.subtract(&removed);
                if !entry.is(&manager, "Update", subresource.as_deref()) {
                    entry.set.subtract(&changed);
                }
            }
            let position = entries
                .iter()
                .position(|e| e.is(&manager, "Update", subresource.as_deref()));
            let index = match position {
                Some(i) => i,
                None => {
                    entries.push(Entry {
                        manager: manager.clone(),
                        operation: "Update".into(),
                        api_version: resource.api_version(),
                        time: None,
                        subresource: subresource.clone(),
                        set: FieldSet::default(),
                    });
                    entries.len() - 1
                }
            };
            entries[index].set.union(&changed);
            entries[index].set.subtract(&removed);
            // An update of an object nobody manages (its managedFields reset) is not tracked:
            // apimachinery's skipNonAppliedManager starts tracking again at the next apply.
            let untracked = old.is_some() && (reset || untracked_before);
            if untracked {
                entries.clear();
            }
            (entries, manager, "Update")
        }
        Op::Apply {
            manager, entries, ..
        } => (entries, manager, "Apply"),
    };
    let mut entries = entries;
    let content_changed = old.is_none_or(|o| content_changed(o, &new));
    for entry in entries.iter_mut() {
        if entry.is(&manager, operation, subresource.as_deref()) {
            entry.api_version = resource.api_version();
            // The scale subresource's entries carry no time: the server builds them from the
            // Scale's entries with the parent's times, which never had one for them.
            if content_changed && subresource.as_deref() != Some("scale") {
                entry.time = Some(json!(now()));
            }
        }
    }
    if operation == "Update" {
        cap_update_managers(&mut entries);
    }
    sort_entries(&mut entries);
    managed::write(&mut new, &entries);
    strategy::always_serialised(resource, &mut new);
    // Server-set fields on create.
    let created = old.is_none();
    if created {
        let uid = state.store.uid();
        let ip = if dry_run {
            state.next_ip()
        } else {
            state.allocate_ip()
        };
        set_meta(&mut new, "uid", json!(uid));
        set_meta(&mut new, "creationTimestamp", json!(now()));
        if strategy::has_generation(resource) {
            set_meta(&mut new, "generation", json!(1));
        }
        let suffix = generated_suffix(state.store.rv() + 7919);
        admission::admit_create(resource, &mut new, ns, &state.store, &suffix)?;
        strategy::prepare_create(resource, &mut new, &uid, &ip);
        // What the strategy set is defaulted again when storage decodes it (a Job copies its
        // template's new labels).
        defaults::apply_defaults(resource, &mut new);
        encode::encode(resource, &mut new);
        if resource.group == "apiextensions.k8s.io" {
            crd::prepare_create(&mut new);
        }
    }
    if crd::is_definition(resource) {
        crd::prepare(old, &mut new);
    }
    // Validation.
    let report = validation::object(resource, &new);
    state.warnings.extend(report.warnings);
    let mut causes = report.causes;
    causes.extend(events::validate(resource, &new));
    if crd::is_definition(resource) {
        causes.extend(crd::validate_definition(&new));
    }
    if let Some(custom) = &resource.custom {
        causes.extend(crd::validate(custom, &new, old));
    }
    if let Some(old) = old {
        causes.extend(validation::update(resource, old, &new));
        if old.pointer("/metadata/deletionTimestamp").is_some() {
            let before: Vec<Value> = old
                .pointer("/metadata/finalizers")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let added: Vec<String> = new
                .pointer("/metadata/finalizers")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter(|f| !before.contains(f))
                .filter_map(Value::as_str)
                .map(|s| format!("{s:?}"))
                .collect();
            if !added.is_empty() {
                let cause = Cause::forbidden(
                    "metadata.finalizers",
                    &format!(
                        "no new finalizers can be added if the object is being deleted, found new finalizers []string{{{}}}",
                        added.join(", ")
                    ),
                );
                causes.push(cause.clone());
                causes.push(cause);
            }
        }
    }
    if !causes.is_empty() {
        // Events are validated in their internal (core) form.
        let group = if events::is_event(resource) {
            ""
        } else {
            resource.group.as_str()
        };
        return Err(ApiError::invalid(&resource.kind, group, name, causes));
    }
    // Generation follows spec changes only.
    if let Some(old) = old
        && strategy::has_generation(resource)
        && spec_changed(resource, old, &new)
    {
        let generation = old
            .pointer("/metadata/generation")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        set_meta(&mut new, "generation", json!(generation + 1));
    }
    if let Some(old) = old {
        strategy::prepare_update(resource, old, &mut new);
    }
    if let Some(old) = old {
        set_meta(
            &mut new,
            "resourceVersion",
            old.pointer("/metadata/resourceVersion")
                .cloned()
                .unwrap_or(json!("")),
        );
        if *old == new
            && let Some(shared) = shared
        {
            return Ok((shared.clone(), Written::Unchanged));
        }
    }
    // Custom resources and HorizontalPodAutoscalers are stored in their storage version; the
    // answer is read back.
    let custom = resource.custom.as_deref();
    if let Some(custom) = custom {
        crd::to_storage(resource, custom, &mut new);
    }
    let hpa = hpa::is_hpa(resource);
    if hpa {
        new = hpa::convert(&new, "v2");
        encode::encode_as("autoscaling/v2", &resource.kind, &mut new);
    }
    let served = |object: Arc<Value>| match custom {
        Some(custom) => Arc::new(crd::view(resource, custom, &object)),
        None if hpa => Arc::new(hpa::convert(&object, &resource.version)),
        None => object,
    };
    if dry_run {
        if old.is_none()
            && let Some(meta) = new.get_mut("metadata").and_then(Value::as_object_mut)
        {
            meta.remove("resourceVersion");
        }
        return Ok((
            served(Arc::new(new)),
            if created {
                Written::Created
            } else {
                Written::Updated
            },
        ));
    }
    // A deleting object whose last finalizer went is removed.
    if let Some(old) = old
        && old.pointer("/metadata/deletionTimestamp").is_some()
        && new
            .pointer("/metadata/finalizers")
            .and_then(Value::as_array)
            .is_none_or(|f| f.is_empty())
    {
        state.store.remove(&resource.storage_key(), ns, name);
        return Ok((served(Arc::new(new)), Written::Updated));
    }
    let kind = if created {
        EventType::Added
    } else {
        EventType::Modified
    };
    let stored = state
        .store
        .put(&resource.storage_key(), ns, name, new, kind);
    if resource.group == "apiextensions.k8s.io" && resource.plural == "customresourcedefinitions" {
        crd::serve(&mut state.custom, &stored);
    }
    Ok((
        served(stored),
        if created {
            Written::Created
        } else {
            Written::Updated
        },
    ))
}

/// A stored object in the shape the resource's version has.
pub(crate) fn stored(
    state: &State,
    resource: &Resource,
    ns: &str,
    name: &str,
) -> Option<Arc<Value>> {
    let object = state.store.shared(&resource.storage_key(), ns, name)?;
    if let Some(custom) = &resource.custom {
        return Some(Arc::new(crd::view(resource, custom, object)));
    }
    if hpa::is_hpa(resource) {
        return Some(Arc::new(hpa::convert(object, &resource.version)));
    }
    if events::is_event(resource)
        && object.get("apiVersion").and_then(Value::as_str) != Some(&resource.api_version())
    {
        let mut converted = events::view(resource, object);
        // Only the stored fields, not the ones the view prints.
        for key in [
            "deprecatedSource",
            "deprecatedFirstTimestamp",
            "deprecatedLastTimestamp",
            "source",
            "firstTimestamp",
            "lastTimestamp",
        ] {
            if let Some(map) = converted.as_object_mut()
                && map.get(key).is_some_and(|v| v.is_null() || v == &json!({}))
            {
                map.remove(key);
            }
        }
        return Some(Arc::new(converted));
    }
    Some(object.clone())
}

pub(crate) fn update(
    state: &mut State,
    resource: &Resource,
    namespace: Option<&str>,
    name: &str,
    subresource: Option<&str>,
    body: Value,
    call: &Call,
) -> Result<(Arc<Value>, Written), ApiError> {
    let ns = if resource.namespaced {
        namespace.unwrap_or("")
    } else {
        ""
    };
    if let Some(body_name) = meta_str(&body, "name")
        && body_name != name
    {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({body_name}) does not match the name on the URL ({name})"
        )));
    }
    if let Some(body_ns) = meta_str(&body, "namespace")
        && resource.namespaced
        && body_ns != ns
    {
        return Err(ApiError::bad_request(
            "the namespace of the provided object does not match the namespace sent on the request",
        ));
    }
    check_namespace(state, resource, namespace, name, false)?;
    let Some(old) = stored(state, resource, ns, name) else {
        return Err(ApiError::not_found(resource, name));
    };
    if let Some(rv) = meta_str(&body, "resourceVersion").filter(|r| !r.is_empty())
        && Some(rv) != meta_str(&old, "resourceVersion")
    {
        return Err(ApiError::modified(resource, name));
    }
    // A uid in the body is a precondition, checked by storage.
    if let (Some(want), Some(have)) = (meta_str(&body, "uid"), meta_str(&old, "uid"))
        && want != have
    {
        let prefix = if resource.custom.is_some() {
            format!("/registry/{}/{}", resource.group, resource.plural)
        } else {
            format!("/registry/{}", resource.plural)
        };
        let key = if ns.is_empty() {
            format!("{prefix}/{name}")
        } else {
            format!("{prefix}/{ns}/{name}")
        };
        return Err(ApiError::conflict(
            resource,
            name,
            &format!(
                "StorageError: invalid object, Code: 4, Key: {key}, ResourceVersion: 0, AdditionalErrorMsg: Precondition failed: UID in precondition: {want}, UID in object meta: {have}"
            ),
        ));
    }
    let op = Op::Update {
        manager: call.manager(),
        subresource: subresource.map(str::to_string),
    };
    write(
        state,
        resource,
        ns,
        name,
        Some(&old),
        body,
        op,
        call.dry_run(),
    )
}

pub(crate) fn patch_object(
    state: &mut State,
    resource: &Resource,
    namespace: Option<&str>,
    name: &str,
    subresource: Option<&str>,
    call: &Call,
) -> Result<(Arc<Value>, Written), ApiError> {
    let kind = PatchKind::from_content_type(&call.content_type).ok_or_else(|| {
        // The route consumes only the patch types; the router refuses anything else.
        let mut e = ApiError::bad_request("415: Unsupported Media Type");
        e.code = 415;
        e.reason = Some("UnsupportedMediaType");
        e.with_details(json!({}))
    })?;
    if kind == PatchKind::Apply {
        return apply(state, resource, namespace, name, subresource, call);
    }
    let ns = if resource.namespaced {
        namespace.unwrap_or("")
    } else {
        ""
    };
    check_namespace(state, resource, namespace, name, false)?;
    let Some(old) = stored(state, resource, ns, name) else {
        return Err(ApiError::not_found(resource, name));
    };
    let patched = with_schema(resource, |schema| {
        patch::apply_patch(kind, &old, &call.body, schema)
    })?;
    let mut patched = patched;
    check_unknown_fields(resource, &mut patched, call)?;
    if let Some(rv) = meta_str(&patched, "resourceVersion")
        && Some(rv) != meta_str(&old, "resourceVersion")
    {
        return Err(ApiError::modified(resource, name));
    }
    let op = Op::Update {
        manager: call.manager(),
        subresource: subresource.map(str::to_string),
    };
    write(
        state,
        resource,
        ns,
        name,
        Some(&old),
        patched,
        op,
        call.dry_run(),
    )
}

/// Drops fields the schema does not declare, as decoding into the typed object does, and
/// collects their paths (`spec.foo`, `spec.containers[0].bar`).
pub(crate) fn prune_undeclared(
    value: &mut Value,
    node: Option<Node<'_>>,
    path: &str,
    out: &mut Vec<String>,
) {
    let Some(node) = node else {
        return;
    };
    if node
        .keyword("x-kubernetes-preserve-unknown-fields")
        .and_then(Value::as_bool)
        == Some(true)
    {
        return;
    }
    let join = |key: &str| {
        if path.is_empty() {
            key.to_string()
        } else {
            format!("{path}.{key}")
        }
    };
    match value {
        Value::Object(map) => {
            let declares = node.keyword("properties").is_some();
            let open = node.keyword("additionalProperties").is_some();
            let mut unknown = Vec::new();
            for (key, v) in map.iter_mut() {
                if path.is_empty() && matches!(key.as_str(), "apiVersion" | "kind" | "metadata") {
                    continue;
                }
                if declares && !open && node.field(key).is_none() {
                    unknown.push(key.clone());
                    continue;
                }
                prune_undeclared(v, node.child(key), &join(key), out);
            }
            for key in unknown {
                map.remove(&key);
                out.push(join(&key));
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                prune_undeclared(item, node.items(), &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

/// Unknown fields of a create, update or patch, by `fieldValidation`: `Strict` refuses them,
/// `Ignore` drops them, `Warn` (the default) drops them with a warning.
pub(crate) fn check_unknown_fields(
    resource: &Resource,
    object: &mut Value,
    call: &Call,
) -> Result<(), ApiError> {
    let mut unknown = Vec::new();
    with_schema(resource, |schema| {
        prune_undeclared(object, schema, "", &mut unknown)
    });
    if unknown.is_empty() {
        return Ok(());
    }
    let listed: Vec<String> = unknown
        .iter()
        .map(|u| format!("unknown field \"{u}\""))
        .collect();
    match call.q("fieldValidation") {
        Some("Strict") => Err(ApiError::bad_request(format!(
            "{kind} in version \"{version}\" cannot be handled as a {kind}: strict decoding error: {}",
            listed.join(", "),
            kind = resource.kind,
            version = resource.version,
        ))),
        Some("Ignore") => Ok(()),
        _ => {
            if let Ok(mut warnings) = call.warnings.lock() {
                warnings.extend(listed);
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn update(manager: &str, second: u32, field: &str) -> Entry {
        Entry {
            manager: manager.into(),
            operation: "Update".into(),
            api_version: "v1".into(),
            time: Some(json!(format!("2026-01-01T00:00:{second:02}Z"))),
            subresource: None,
            set: FieldSet::from_json(&json!({"f:data": {format!("f:{field}"): {}}})),
        }
    }

    #[test]
    fn past_ten_update_managers_the_oldest_merge_into_ancient_changes() {
        let mut entries: Vec<Entry> = (0..12)
            .map(|i| update(&format!("m{i:02}"), i, &format!("k{i}")))
            .collect();
        let mut applier = update("flux", 0, "a");
        applier.operation = "Apply".into();
        entries.push(applier);
        cap_update_managers(&mut entries);
        let updates: Vec<&Entry> = entries.iter().filter(|e| e.operation == "Update").collect();
        assert_eq!(updates.len(), MAX_UPDATE_MANAGERS);
        let bucket = entries
            .iter()
            .find(|e| e.manager == "ancient-changes")
            .map(|e| (e.set.to_json(), e.time.clone()));
        assert_eq!(
            bucket,
            Some((
                json!({"f:data": {"f:k0": {}, "f:k1": {}, "f:k2": {}}}),
                Some(json!("2026-01-01T00:00:02Z"))
            ))
        );
        assert!(entries.iter().any(|e| e.manager == "flux"));
        assert!(
            !entries
                .iter()
                .any(|e| e.manager == "m01" || e.manager == "m02")
        );
        sort_entries(&mut entries);
        let order: Vec<&str> = entries.iter().map(|e| e.manager.as_str()).collect();
        assert_eq!(order[..3], ["flux", "ancient-changes", "m03"]);
        let mut few: Vec<Entry> = (0..3).map(|i| update("m", i, "k")).collect();
        cap_update_managers(&mut few);
        assert_eq!(few.len(), 3);
    }
}
