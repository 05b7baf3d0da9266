//! Watches: a chunked stream of JSON lines (`{"type": ..., "object": ...}`), replaying events
//! after the requested resourceVersion, with bookmarks, `sendInitialEvents` (its closing
//! bookmark only when bookmarks are allowed) and 410 Gone for compacted versions. Selectors
//! filter as the watch cache does: a modification taking an object out of the selection is a
//! DELETED event carrying the old state at the new resourceVersion.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::testenv::Server;
use crate::testenv::registry::Resource;
use crate::testenv::registry::partial;
use crate::testenv::registry::selector::Filter;
use crate::testenv::request::Call;
use crate::testenv::status::ApiError;
use crate::testenv::storage::EventType;
use crate::testenv::verbs::filter_of;

fn line(kind: &str, object: Value) -> Bytes {
    let mut text = json!({"type": kind, "object": object}).to_string();
    text.push('\n');
    Bytes::from(text)
}

/// A watch line around an object's JSON text, without parsing it.
fn raw_line(kind: &str, object: &[u8]) -> Bytes {
    let mut text = Vec::with_capacity(object.len() + 32);
    text.extend_from_slice(b"{\"type\":\"");
    text.extend_from_slice(kind.as_bytes());
    text.extend_from_slice(b"\",\"object\":");
    text.extend_from_slice(object);
    text.extend_from_slice(b"}\n");
    Bytes::from(text)
}

struct Watch {
    resource: Resource,
    key: (String, String),
    namespace: Option<String>,
    filter: Filter,
    metadata_only: bool,
    table: bool,
    table_options: crate::testenv::registry::table::Options,
}

impl Watch {
    fn in_scope(&self, key: &(String, String), namespace: &str) -> bool {
        *key == self.key && self.namespace.as_deref().is_none_or(|n| n == namespace)
    }

    /// Whether an event's object passes the selectors; parsed only when there are some.
    fn selects(&self, object: &[u8]) -> bool {
        if self.filter.is_empty() {
            return true;
        }
        serde_json::from_slice::<Value>(object).is_ok_and(|o| self.filter.matches(&o))
    }

    /// Whether the watch sends objects as stored (not as a Table, metadata or another view).
    fn whole(&self) -> bool {
        !self.table
            && !self.metadata_only
            && self.resource.custom.is_none()
            && !crate::testenv::registry::events::is_event(&self.resource)
    }

    /// The watch line of an event's object.
    fn event_line(&self, kind: EventType, object: &[u8]) -> Option<Bytes> {
        if self.whole() {
            return Some(raw_line(kind.as_str(), object));
        }
        let parsed: Value = serde_json::from_slice(object).ok()?;
        Some(line(kind.as_str(), self.shape(&parsed)))
    }

    fn shape(&self, object: &Value) -> Value {
        if self.table {
            let rv = object
                .pointer("/metadata/resourceVersion")
                .and_then(Value::as_str)
                .and_then(|r| r.parse().ok())
                .unwrap_or(0);
            // Custom resources' columns read the converted object.
            let converted =
                self.resource.custom.as_ref().map(|custom| {
                    crate::testenv::registry::crd::view(&self.resource, custom, object)
                });
            let object = converted.as_ref().unwrap_or(object);
            return crate::testenv::registry::table::table(
                &self.resource,
                &[object],
                rv,
                self.table_options,
            );
        }
        if self.metadata_only {
            partial(object)
        } else {
            crate::testenv::registry::served_view(&self.resource, object)
                .unwrap_or_else(|| object.clone())
        }
    }

    fn bookmark(&self, rv: u64, initial_end: bool) -> Value {
        let mut metadata = json!({"resourceVersion": rv.to_string()});
        if initial_end {
            metadata["annotations"] = json!({"k8s.io/initial-events-end": "true"});
        }
        if self.metadata_only {
            json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": metadata})
        } else {
            json!({"kind": self.resource.kind, "apiVersion": self.resource.api_version(), "metadata": metadata})
        }
    }
}

/// An object's JSON text with its resourceVersion set to `rv`.
fn at_version(object: &[u8], rv: u64) -> Option<Vec<u8>> {
    let mut value: Value = serde_json::from_slice(object).ok()?;
    value
        .get_mut("metadata")?
        .as_object_mut()?
        .insert("resourceVersion".into(), json!(rv.to_string()));
    serde_json::to_vec(&value).ok()
}

/// Starts a watch and answers with its stream.
pub(crate) fn serve(
    server: Arc<Server>,
    resource: Resource,
    namespace: Option<&str>,
    call: &Call,
    drop_after: Option<Duration>,
) -> Result<http::Response<Body>, ApiError> {
    crate::testenv::verbs::list::validate_options(call, true)?;
    let watch = Watch {
        key: resource.storage_key(),
        filter: filter_of(call, &resource)?,
        resource,
        namespace: namespace.map(str::to_string),
        metadata_only: call.accept.contains("as=PartialObjectMetadata"),
        table: call.accept.contains("as=Table"),
        table_options: crate::testenv::registry::table::Options::of(&call.query),
    };
    let q = |k: &str| call.query.get(k).map(String::as_str);
    let bookmarks = q("allowWatchBookmarks") == Some("true");
    let send_initial = q("sendInitialEvents").map(|v| v == "true");
    let requested: Option<u64> = q("resourceVersion")
        .filter(|r| !r.is_empty() && *r != "0")
        .map(crate::testenv::verbs::list::parse_rv)
        .transpose()?;
    // Without sendInitialEvents, a watch from no version or from "0" starts with the current
    // state as ADDED events; with it, that state comes (and ends with a bookmark when
    // bookmarks are allowed) whatever the version.
    let initial_events = send_initial.unwrap_or(requested.is_none());
    let initial_end = send_initial == Some(true);
    let mut timeout = server.lock().watch_timeout;
    if let Some(t) = q("timeoutSeconds").and_then(|t| t.parse::<u64>().ok()) {
        timeout = Duration::from_secs(t);
    }
    if let Some(d) = drop_after {
        timeout = timeout.min(d);
    }
    let (tx, rx) = mpsc::channel::<Bytes>(64);
    let mut changed = server.changed.subscribe();
    // Initial state, under the lock so that no change slips between it and the replay.
    let (mut last, initial, gone) = {
        let state = server.lock();
        let rv = state.store.rv();
        let compacted = state.store.compacted;
        if let Some(from) = requested.filter(|from| *from > rv) {
            return Err(ApiError::too_large_resource_version(from, rv));
        }
        if initial_events {
            let items: Vec<Bytes> = state
                .store
                .list(&watch.resource.storage_key(), watch.namespace.as_deref())
                .into_iter()
                .filter(|o| watch.filter.matches(o))
                .map(|o| line("ADDED", watch.shape(o)))
                .collect();
            (rv, items, None)
        } else {
            let from = requested.unwrap_or(rv);
            (from, Vec::new(), (from < compacted).then_some(compacted))
        }
    };
    tokio::spawn(async move {
        if let Some(oldest) = gone {
            let status =
                ApiError::gone(format!("too old resource version: {last} ({oldest})")).body();
            tx.send(line("ERROR", status)).await.ok();
            return;
        }
        for item in initial {
            if tx.send(item).await.is_err() {
                return;
            }
        }
        if initial_end && bookmarks {
            let b = watch.bookmark(last, true);
            if tx.send(line("BOOKMARK", b)).await.is_err() {
                return;
            }
        }
        let start = tokio::time::Instant::now();
        let deadline = start + timeout;
        // As the watch cache does: a bookmark every minute, and one 2 s before the deadline
        // when that is still ahead.
        let mut next_bookmark = if bookmarks {
            let pre_timeout = deadline.checked_sub(Duration::from_secs(2));
            let heartbeat = start + Duration::from_secs(60);
            match pre_timeout {
                Some(t) if t < heartbeat && t > start => Some(t),
                Some(t) if t <= start => None,
                _ => Some(heartbeat),
            }
        } else {
            None
        };
        loop {
            // Under the lock, only the events in scope are taken (their texts are shared
            // `Bytes`, so this copies no object); selectors and views parse them after.
            let in_scope: Vec<(u64, EventType, Bytes, Option<Bytes>)> = {
                let state = server.lock();
                let events = &state.store.events;
                let start = events.partition_point(|e| e.rv <= last);
                let out = events[start..]
                    .iter()
                    .filter(|e| watch.in_scope(&e.resource, &e.namespace))
                    .map(|e| (e.rv, e.kind, e.object.clone(), e.previous.clone()))
                    .collect();
                last = last.max(events.last().map(|e| e.rv).unwrap_or(last));
                out
            };
            let pending = in_scope
                .into_iter()
                .filter_map(|(rv, kind, object, previous)| {
                    // As the watch cache does: an object passes when its new state matches (a
                    // deletion has none), or its old one did; leaving the selection is a deletion
                    // of the old state at this version, entering it an addition.
                    let now = kind != EventType::Deleted && watch.selects(&object);
                    let before = previous.as_ref().is_some_and(|p| watch.selects(p));
                    match (now, before) {
                        (false, false) => None,
                        (true, false) => watch.event_line(EventType::Added, &object),
                        (true, true) => watch.event_line(kind, &object),
                        (false, true) if kind == EventType::Deleted => {
                            watch.event_line(EventType::Deleted, &object)
                        }
                        (false, true) => {
                            let old = previous.as_deref().and_then(|p| at_version(p, rv))?;
                            watch.event_line(EventType::Deleted, &old)
                        }
                    }
                });
            for item in pending {
                if tx.send(item).await.is_err() {
                    return;
                }
            }
            let bookmark_at = next_bookmark.unwrap_or(deadline);
            tokio::select! {
                r = changed.changed() => if r.is_err() { break },
                _ = tokio::time::sleep_until(bookmark_at), if next_bookmark.is_some() => {
                    let rv = server.lock().store.rv().max(last);
                    let b = watch.bookmark(rv, false);
                    if tx.send(line("BOOKMARK", b)).await.is_err() {
                        return;
                    }
                    let heartbeat = tokio::time::Instant::now() + Duration::from_secs(60);
                    let pre_timeout = deadline.checked_sub(Duration::from_secs(2));
                    next_bookmark = Some(heartbeat).filter(|h| pre_timeout.is_none_or(|p| *h < p));
                }
                _ = tokio::time::sleep_until(deadline) => break,
                _ = tx.closed() => return,
            }
        }
    });
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|b| (Ok::<Bytes, Infallible>(b), rx))
    });
    let mut response = http::Response::new(Body::from_stream(stream));
    *response.status_mut() = StatusCode::OK;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(response)
}
