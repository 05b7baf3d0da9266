//! In-memory storage: objects by resource, namespace and name, one global resourceVersion
//! counter, and the event log watches replay from and lists at an older resourceVersion
//! read back through (as etcd's MVCC history serves them until compaction).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use bytes::Bytes;
use serde_json::Value;

/// The kind of change a watch event reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EventType {
    Added,
    Modified,
    Deleted,
}

impl EventType {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

/// One change, as watches see it. The object is kept as its JSON text: a tenth of the memory
/// of a `Value` tree, written once and sent as is to every watch that takes it whole; only
/// selectors and other shapes (Table, metadata) parse it again.
#[derive(Clone, Debug)]
pub(crate) struct Event {
    pub rv: u64,
    pub resource: (String, String),
    pub namespace: String,
    pub kind: EventType,
    pub object: Bytes,
    /// The object before a modification or deletion, so that selector watches can tell an
    /// object leaving or entering their selection and lists can read an older version;
    /// shared with the event that wrote it when the log still holds that one.
    pub previous: Option<Bytes>,
}

/// A resourceVersion older than the event log reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TooOld;

/// How many events the log keeps for watches before compacting the older half.
const MAX_EVENTS: usize = 100_000;

/// Objects of one resource by (namespace, name); cluster-scoped objects have namespace "".
pub(crate) type Objects = BTreeMap<(String, String), Arc<Value>>;

/// The whole store.
#[derive(Debug, Default)]
pub(crate) struct Store {
    resources: HashMap<(String, String), Objects>,
    rv: u64,
    /// The changes in order; watches read from their position.
    pub events: Vec<Event>,
    /// Events at or below this resourceVersion were compacted (410 Gone to watch from them).
    pub compacted: u64,
    uids: u64,
}

/// One stored object with its resource, namespace and name, shared rather than copied.
pub(crate) type Stored = ((String, String), String, String, Arc<Value>);

impl Store {
    /// The current resourceVersion.
    pub fn rv(&self) -> u64 {
        self.rv
    }

    /// A fresh uid.
    pub fn uid(&mut self) -> String {
        self.uids += 1;
        let n = self.uids;
        let h = n.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x5bd1_e995;
        format!(
            "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
            (h >> 32) as u32,
            (h >> 16) as u16,
            (h & 0xfff) as u16,
            (n & 0xfff) as u16,
            n
        )
    }

    /// One object.
    pub fn get(&self, resource: &(String, String), namespace: &str, name: &str) -> Option<&Value> {
        self.shared(resource, namespace, name).map(Arc::as_ref)
    }

    /// One object, shared rather than copied.
    pub fn shared(
        &self,
        resource: &(String, String),
        namespace: &str,
        name: &str,
    ) -> Option<&Arc<Value>> {
        self.resources
            .get(resource)?
            .get(&(namespace.to_string(), name.to_string()))
    }

    /// All objects of a resource, optionally in one namespace, in key order.
    pub fn list(&self, resource: &(String, String), namespace: Option<&str>) -> Vec<&Value> {
        let Some(objects) = self.resources.get(resource) else {
            return Vec::new();
        };
        objects
            .iter()
            .filter(|((ns, _), _)| namespace.is_none_or(|n| n == ns))
            .map(|(_, v)| v.as_ref())
            .collect()
    }

    /// Stores an object with a new resourceVersion and records the event; returns the stored
    /// object.
    pub fn put(
        &mut self,
        resource: &(String, String),
        namespace: &str,
        name: &str,
        mut object: Value,
        kind: EventType,
    ) -> Arc<Value> {
        self.rv += 1;
        if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.insert("resourceVersion".into(), Value::String(self.rv.to_string()));
        }
        let object = Arc::new(object);
        let previous = self
            .resources
            .entry(resource.clone())
            .or_default()
            .insert((namespace.to_string(), name.to_string()), object.clone())
            .map(|p| self.text_of(&p));
        self.record(resource, namespace, kind, json(&object), previous);
        object
    }

    /// The JSON text of a stored version: the event that wrote it when the log still has it.
    fn text_of(&self, object: &Value) -> Bytes {
        let rv = object
            .pointer("/metadata/resourceVersion")
            .and_then(Value::as_str)
            .and_then(|r| r.parse::<u64>().ok());
        rv.and_then(|rv| self.events.binary_search_by_key(&rv, |e| e.rv).ok())
            .and_then(|i| self.events.get(i))
            .filter(|e| e.kind != EventType::Deleted)
            .map(|e| e.object.clone())
            .unwrap_or_else(|| json(object))
    }

    /// Removes an object with a new resourceVersion and records the DELETED event.
    pub fn remove(&mut self, resource: &(String, String), namespace: &str, name: &str) {
        let Some(stored) = self
            .resources
            .get_mut(resource)
            .and_then(|objects| objects.remove(&(namespace.to_string(), name.to_string())))
        else {
            return;
        };
        let previous = self.text_of(&stored);
        let mut object = Arc::unwrap_or_clone(stored);
        self.rv += 1;
        if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.insert("resourceVersion".into(), Value::String(self.rv.to_string()));
        }
        self.record(
            resource,
            namespace,
            EventType::Deleted,
            json(&object),
            Some(previous),
        );
    }

    /// The objects of a resource, optionally in one namespace, in key order, as they were at
    /// resourceVersion `rv`: the current ones with the logged changes after `rv` undone. Too
    /// old when the log no longer reaches back to `rv`.
    pub fn list_at(
        &self,
        resource: &(String, String),
        namespace: Option<&str>,
        rv: u64,
    ) -> Result<Vec<Arc<Value>>, TooOld> {
        if rv < self.compacted {
            return Err(TooOld);
        }
        let mut objects: BTreeMap<(String, String), Arc<Value>> = self
            .resources
            .get(resource)
            .into_iter()
            .flatten()
            .filter(|((ns, _), _)| namespace.is_none_or(|n| n == ns))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let start = self.events.partition_point(|e| e.rv <= rv);
        for event in self.events[start..].iter().rev() {
            if event.resource != *resource || namespace.is_some_and(|n| n != event.namespace) {
                continue;
            }
            let Ok(object) = serde_json::from_slice::<Value>(&event.object) else {
                continue;
            };
            let name = object
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let key = (event.namespace.clone(), name);
            let before = event
                .previous
                .as_ref()
                .and_then(|p| serde_json::from_slice::<Value>(p).ok());
            match (event.kind, before) {
                (EventType::Added, _) => {
                    objects.remove(&key);
                }
                (_, Some(before)) => {
                    objects.insert(key, Arc::new(before));
                }
                (_, None) => {
                    objects.remove(&key);
                }
            }
        }
        Ok(objects.into_values().collect())
    }

    /// Every stored object with its resource key, namespace and name.
    pub fn all(&self) -> Vec<Stored> {
        self.resources
            .iter()
            .flat_map(|(key, objects)| {
                objects.iter().map(move |((ns, name), o)| {
                    (key.clone(), ns.clone(), name.clone(), Arc::clone(o))
                })
            })
            .collect()
    }

    /// Drops every object of a resource (a deleted CRD's custom resources).
    pub fn drop_resource(&mut self, resource: &(String, String)) {
        let keys: Vec<(String, String)> = self
            .resources
            .get(resource)
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default();
        for (ns, name) in keys {
            self.remove(resource, &ns, &name);
        }
    }

    fn record(
        &mut self,
        resource: &(String, String),
        namespace: &str,
        kind: EventType,
        object: Bytes,
        previous: Option<Bytes>,
    ) {
        if self.events.len() >= MAX_EVENTS {
            // Keep the newer half; watches from before it get 410 Gone.
            let dropped: Vec<Event> = self.events.drain(..MAX_EVENTS / 2).collect();
            if let Some(last) = dropped.last() {
                self.compacted = last.rv;
            }
        }
        self.events.push(Event {
            rv: self.rv,
            resource: resource.clone(),
            namespace: namespace.to_string(),
            kind,
            object,
            previous,
        });
    }

    /// Forgets events up to the current resourceVersion: watches from older versions get
    /// 410 Gone.
    pub fn compact(&mut self) {
        self.compacted = self.rv;
        self.events.clear();
    }
}

/// An object's JSON text (a `Value` always serialises).
fn json(object: &Value) -> Bytes {
    Bytes::from(serde_json::to_vec(object).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn key() -> (String, String) {
        (String::new(), "configmaps".into())
    }

    fn names(objects: &[Arc<Value>]) -> Vec<(String, String)> {
        objects
            .iter()
            .map(|o| {
                (
                    o["metadata"]["name"].as_str().unwrap_or("").to_string(),
                    o["data"]["i"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect()
    }

    #[test]
    fn lists_read_back_through_the_log_until_compaction() {
        let mut store = Store::default();
        let cm = |name: &str, i: &str| json!({"metadata": {"name": name}, "data": {"i": i}});
        store.put(&key(), "ns", "a", cm("a", "1"), EventType::Added);
        store.put(&key(), "ns", "b", cm("b", "1"), EventType::Added);
        let before = store.rv();
        store.put(&key(), "ns", "a", cm("a", "2"), EventType::Modified);
        store.remove(&key(), "ns", "b");
        store.put(&key(), "ns", "c", cm("c", "1"), EventType::Added);
        let then = store
            .list_at(&key(), Some("ns"), before)
            .unwrap_or_default();
        assert_eq!(
            names(&then),
            vec![("a".into(), "1".into()), ("b".into(), "1".into())]
        );
        assert_eq!(then[0]["metadata"]["resourceVersion"], json!("1"));
        let now = store
            .list_at(&key(), Some("ns"), store.rv())
            .unwrap_or_default();
        assert_eq!(
            names(&now),
            vec![("a".into(), "2".into()), ("c".into(), "1".into())]
        );
        store.compact();
        assert_eq!(store.list_at(&key(), None, before), Err(TooOld));
    }
}
