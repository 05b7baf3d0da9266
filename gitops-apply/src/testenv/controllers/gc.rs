//! The controllers a cluster runs beside the API server that tests may want: the garbage
//! collector (dependents by ownerReferences; Foreground and Orphan propagation) and the
//! namespace controller (a Terminating namespace empties and goes). Off by default, as on the
//! recorded server, which ran without controller-manager.

use std::collections::{HashMap, HashSet};

use serde_json::{Value, json};

use crate::testenv::storage::{EventType, Store, Stored};

type Key = (String, String);

fn uid(object: &Value) -> &str {
    object
        .pointer("/metadata/uid")
        .and_then(Value::as_str)
        .unwrap_or("")
}

fn finalizers(object: &Value) -> Vec<String> {
    object
        .pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .map(|f| {
            f.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

fn owners(object: &Value) -> Vec<String> {
    object
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .map(|refs| {
            refs.iter()
                .filter_map(|r| r.get("uid").and_then(Value::as_str))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

use crate::testenv::clock::now;

/// Deletes as the API server does: marked while finalizers remain, removed otherwise.
fn delete(store: &mut Store, key: &Key, ns: &str, name: &str, object: &Value) {
    if finalizers(object).is_empty() {
        store.remove(key, ns, name);
    } else if object.pointer("/metadata/deletionTimestamp").is_none() {
        let mut marked = object.clone();
        if let Some(meta) = marked.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.insert("deletionTimestamp".into(), json!(now()));
            meta.insert("deletionGracePeriodSeconds".into(), json!(0));
        }
        store.put(key, ns, name, marked, EventType::Modified);
    }
}

fn set_finalizers(
    store: &mut Store,
    key: &Key,
    ns: &str,
    name: &str,
    object: &Value,
    keep: Vec<String>,
) {
    if keep.is_empty() && object.pointer("/metadata/deletionTimestamp").is_some() {
        store.remove(key, ns, name);
        return;
    }
    let mut updated = object.clone();
    if let Some(meta) = updated.get_mut("metadata").and_then(Value::as_object_mut) {
        if keep.is_empty() {
            meta.remove("finalizers");
        } else {
            meta.insert("finalizers".into(), json!(keep));
        }
    }
    store.put(key, ns, name, updated, EventType::Modified);
}

/// Runs the controllers until nothing changes.
pub(crate) fn collect(store: &mut Store) {
    for _ in 0..64 {
        if !step(store) {
            return;
        }
    }
}

/// One pass; whether anything changed. Indexes the store once (owners' dependents, each
/// namespace's contents) so a pass costs O(objects), and returns at once when nothing is
/// being deleted and nothing has owners, the common case after a write.
fn step(store: &mut Store) -> bool {
    let all = store.all();
    let relevant = all.iter().any(|(_, _, _, o)| {
        o.pointer("/metadata/deletionTimestamp").is_some() || !owners(o).is_empty()
    });
    if !relevant {
        return false;
    }
    let uids: HashSet<&str> = all.iter().map(|(_, _, _, o)| uid(o)).collect();
    let namespace_key: Key = (String::new(), "namespaces".into());
    let mut dependents_of: HashMap<String, Vec<usize>> = HashMap::new();
    let mut contents_of: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, (key, ns, _, object)) in all.iter().enumerate() {
        for owner in owners(object) {
            dependents_of.entry(owner).or_default().push(i);
        }
        if *key != namespace_key && !ns.is_empty() {
            contents_of.entry(ns.as_str()).or_default().push(i);
        }
    }
    let none: Vec<usize> = Vec::new();
    for (key, ns, name, object) in &all {
        let object: &Value = object;
        let deleting = object.pointer("/metadata/deletionTimestamp").is_some();
        let refs = owners(object);
        if !deleting && refs.is_empty() {
            continue;
        }
        let dependents: Vec<&Stored> = dependents_of
            .get(uid(object))
            .unwrap_or(&none)
            .iter()
            .map(|i| &all[*i])
            .collect();
        if deleting && finalizers(object).iter().any(|f| f == "foregroundDeletion") {
            let pending: Vec<_> = dependents
                .iter()
                .filter(|(_, _, _, d)| d.pointer("/metadata/deletionTimestamp").is_none())
                .collect();
            if dependents.is_empty() {
                let keep = finalizers(object)
                    .into_iter()
                    .filter(|f| f != "foregroundDeletion")
                    .collect();
                set_finalizers(store, key, ns, name, object, keep);
                return true;
            }
            if let Some((dk, dns, dname, d)) = pending.first() {
                delete(store, dk, dns, dname, d);
                return true;
            }
        }
        if deleting && finalizers(object).iter().any(|f| f == "orphan") {
            for (dk, dns, dname, d) in &dependents {
                let mut freed = Value::clone(d);
                if let Some(refs) = freed
                    .pointer_mut("/metadata/ownerReferences")
                    .and_then(Value::as_array_mut)
                {
                    refs.retain(|r| r.get("uid").and_then(Value::as_str) != Some(uid(object)));
                }
                store.put(dk, dns, dname, freed, EventType::Modified);
            }
            let keep = finalizers(object)
                .into_iter()
                .filter(|f| f != "orphan")
                .collect();
            set_finalizers(store, key, ns, name, object, keep);
            return true;
        }
        if deleting && *key == namespace_key {
            let contents: Vec<&Stored> = contents_of
                .get(name.as_str())
                .unwrap_or(&none)
                .iter()
                .map(|i| &all[*i])
                .collect();
            if let Some((ck, cns, cname, c)) = contents
                .iter()
                .find(|(_, _, _, c)| c.pointer("/metadata/deletionTimestamp").is_none())
            {
                delete(store, ck, cns, cname, c);
                return true;
            }
            if contents.is_empty() {
                store.remove(key, ns, name);
                return true;
            }
        }
        if !deleting && !refs.is_empty() && refs.iter().all(|u| !uids.contains(u.as_str())) {
            delete(store, key, ns, name, object);
            return true;
        }
    }
    false
}
