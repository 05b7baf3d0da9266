//! Lists: selectors, `limit`/`continue` pages, metadata-only and Table forms.

use axum::response::Response;
use serde_json::{Map, Value, json};

use super::events;
use super::handler::{Call, State, filter_of, json_response, partial};
use super::registry::Resource;
use super::status::ApiError;
use super::table;

pub(crate) fn list(
    state: &State,
    resource: &Resource,
    namespace: Option<&str>,
    call: &Call,
) -> Result<Response, ApiError> {
    let filter = filter_of(call)?;
    let rv = state.store.rv();
    let all: Vec<&Value> = state
        .store
        .list(&resource.storage_key(), namespace)
        .into_iter()
        .filter(|o| filter.matches(o))
        .collect();
    // A continue token names the last key served, so that pages stay consistent while
    // objects come and go.
    let start = match call.q("continue").filter(|c| !c.is_empty()) {
        Some(token) => {
            let after = decode_continue(token)
                .ok_or_else(|| ApiError::bad_request("continue key is not valid"))?;
            all.iter().take_while(|o| key_of(o) <= after).count()
        }
        None => 0,
    };
    let limit: usize = call
        .q("limit")
        .and_then(|l| l.parse().ok())
        .filter(|l| *l > 0)
        .unwrap_or(usize::MAX);
    let page: Vec<&Value> = all.iter().skip(start).take(limit).copied().collect();
    // Custom resources are served converted from their stored versions.
    let converted: Vec<Value> = match &resource.custom {
        Some(custom) => page
            .iter()
            .map(|o| super::crd::view(resource, custom, o))
            .collect(),
        None => Vec::new(),
    };
    let page: Vec<&Value> = if resource.custom.is_some() {
        converted.iter().collect()
    } else {
        page
    };
    let remaining = all.len().saturating_sub(start + page.len());
    let mut metadata = Map::new();
    metadata.insert("resourceVersion".into(), json!(rv.to_string()));
    if remaining == 0 && resource.custom.is_some() && !call.accept.contains("as=Table") {
        // Unstructured lists always carry the token, empty on the last page (Tables do not).
        metadata.insert("continue".into(), json!(""));
    }
    if remaining > 0 {
        metadata.insert(
            "continue".into(),
            json!(encode_continue(
                page.last().map(|o| key_of(o)).unwrap_or_default(),
                rv
            )),
        );
        metadata.insert("remainingItemCount".into(), json!(remaining));
    }
    if call.accept.contains("as=Table") {
        let mut table = table::table(resource, &page, rv, table::Options::of(&call.query));
        if let Some(map) = table.as_object_mut() {
            map.insert("metadata".into(), Value::Object(metadata));
        }
        return Ok(json_response(200, &table));
    }
    let metadata_only = call.accept.contains("as=PartialObjectMetadata");
    let items: Vec<Value> = page
        .iter()
        .map(|o| {
            if metadata_only {
                partial(o)
            } else {
                let mut item = if events::is_event(resource) {
                    events::view(resource, o)
                } else {
                    (*o).clone()
                };
                // Typed lists leave them out; custom resources' unstructured lists keep them.
                if let Some(map) = item.as_object_mut()
                    && resource.custom.is_none()
                {
                    map.remove("kind");
                    map.remove("apiVersion");
                }
                item
            }
        })
        .collect();
    let (kind, api_version) = if metadata_only {
        (
            "PartialObjectMetadataList".to_string(),
            "meta.k8s.io/v1".to_string(),
        )
    } else {
        (format!("{}List", resource.kind), resource.api_version())
    };
    Ok(json_response(
        200,
        &json!({"kind": kind, "apiVersion": api_version, "metadata": metadata, "items": items}),
    ))
}

/// The storage order key of an object: namespace, then name.
fn key_of(object: &Value) -> (String, String) {
    let get = |k: &str| {
        object
            .pointer(&format!("/metadata/{k}"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    (get("namespace"), get("name"))
}

pub(crate) fn encode_continue(last: (String, String), rv: u64) -> String {
    let raw = json!({"v": "meta.k8s.io/v1", "rv": rv, "start": [last.0, last.1]}).to_string();
    raw.bytes().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn decode_continue(token: &str) -> Option<(String, String)> {
    let bytes: Option<Vec<u8>> = (0..token.len())
        .step_by(2)
        .map(|i| {
            token
                .get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect();
    let text = String::from_utf8(bytes?).ok()?;
    let value: Value = serde_json::from_str(&text).ok()?;
    let start = value.get("start")?.as_array()?;
    Some((
        start.first()?.as_str()?.to_string(),
        start.get(1)?.as_str()?.to_string(),
    ))
}
