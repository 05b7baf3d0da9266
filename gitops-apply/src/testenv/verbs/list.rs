//! Lists: their options checked as `ValidateListOptions` does, the resourceVersion semantics
//! of the storage layer (unset or `0`: the current state; `N` with `Exact`, or with a `limit`
//! and no match as the legacy form has it: the state at `N`, 410 Gone once compacted; `N`
//! otherwise: not older than `N`; 504 when the store has not reached `N`), selectors, `limit`/`continue` pages read at the first page's version
//! (`remainingItemCount` only without selectors), metadata-only and Table forms.

use std::sync::Arc;

use axum::response::Response;
use serde_json::{Map, Value, json};

use crate::testenv::registry::Resource;
use crate::testenv::registry::events;
use crate::testenv::registry::partial;
use crate::testenv::registry::table;
use crate::testenv::request::{Call, json_response};
use crate::testenv::state::State;
use crate::testenv::status::{ApiError, Cause};
use crate::testenv::storage::TooOld;
use crate::testenv::verbs::filter_of;

/// Checks a request's list options as `ValidateListOptions` does: `resourceVersionMatch` only
/// with a `resourceVersion` (and, for a watch, only with `sendInitialEvents`), never with
/// `continue`, `Exact` never at `0`; `sendInitialEvents` only for watches, with
/// `resourceVersionMatch=NotOlderThan`.
pub(crate) fn validate_options(call: &Call, watch: bool) -> Result<(), ApiError> {
    let rv = call.q("resourceVersion").unwrap_or("");
    let matching = call.q("resourceVersionMatch").unwrap_or("");
    let continued = call.q("continue").is_some_and(|c| !c.is_empty());
    let initial_events = call.q("sendInitialEvents").is_some();
    let mut causes = Vec::new();
    let field = "resourceVersionMatch";
    if watch {
        if initial_events && matching != "NotOlderThan" {
            causes.push(Cause::forbidden(
                field,
                "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
            ));
        }
        if !matching.is_empty() {
            if !initial_events {
                causes.push(Cause::forbidden(
                    field,
                    "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided",
                ));
            }
            if matching != "NotOlderThan" {
                causes.push(Cause::unsupported(
                    field,
                    &json!(matching),
                    &["NotOlderThan".to_string()],
                ));
            }
            if continued {
                causes.push(Cause::forbidden(
                    field,
                    "resourceVersionMatch is forbidden when continue is provided",
                ));
            }
        }
    } else {
        if !matching.is_empty() {
            if rv.is_empty() {
                causes.push(Cause::forbidden(
                    field,
                    "resourceVersionMatch is forbidden unless resourceVersion is provided",
                ));
            }
            if continued {
                causes.push(Cause::forbidden(
                    field,
                    "resourceVersionMatch is forbidden when continue is provided",
                ));
            }
            if matching != "Exact" && matching != "NotOlderThan" {
                causes.push(Cause::unsupported(
                    field,
                    &json!(matching),
                    &[
                        "Exact".to_string(),
                        "NotOlderThan".to_string(),
                        String::new(),
                    ],
                ));
            }
            if matching == "Exact" && rv == "0" {
                causes.push(Cause::forbidden(
                    field,
                    "resourceVersionMatch \"exact\" is forbidden for resourceVersion \"0\"",
                ));
            }
        }
        if initial_events {
            causes.push(Cause::forbidden(
                "sendInitialEvents",
                "sendInitialEvents is forbidden for list",
            ));
        }
    }
    if causes.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid("ListOptions", "meta.k8s.io", "", causes))
    }
}

/// A `resourceVersion` query value as a number.
pub(crate) fn parse_rv(text: &str) -> Result<u64, ApiError> {
    text.parse()
        .map_err(|_| ApiError::bad_request(format!("invalid resource version: {text}")))
}

pub(crate) fn list(
    state: &State,
    resource: &Resource,
    namespace: Option<&str>,
    call: &Call,
) -> Result<Response, ApiError> {
    validate_options(call, false)?;
    let filter = filter_of(call, resource)?;
    let current = state.store.rv();
    let key = resource.storage_key();
    let requested = call.q("resourceVersion").filter(|r| !r.is_empty());
    // A continue token names the last key served and the resourceVersion the first page was
    // read at: later pages read the same version, so that a paged list is one consistent
    // snapshot.
    let token = call.q("continue").filter(|c| !c.is_empty());
    let (rv, after) = match token {
        Some(token) => {
            if requested.is_some_and(|r| r != "0") {
                return Err(ApiError::bad_request(
                    "specifying resource version is not allowed when using continue",
                ));
            }
            let (after, rv) = decode_continue(token)
                .ok_or_else(|| ApiError::bad_request("continue key is not valid"))?;
            (rv, Some(after))
        }
        None => match requested {
            None | Some("0") => (current, None),
            Some(text) => {
                let wanted = parse_rv(text)?;
                if wanted > current {
                    return Err(ApiError::too_large_resource_version(wanted, current));
                }
                // Without a match, a version with a limit is the legacy form of Exact.
                let limited = call
                    .q("limit")
                    .and_then(|l| l.parse::<u64>().ok())
                    .is_some_and(|l| l > 0);
                let exact = match call.q("resourceVersionMatch").unwrap_or("") {
                    "" => limited,
                    matching => matching == "Exact",
                };
                if exact {
                    (wanted, None)
                } else {
                    (current, None)
                }
            }
        },
    };
    let objects = state
        .store
        .list_at(&key, namespace, rv)
        .map_err(|TooOld| {
            ApiError::gone(if after.is_some() {
                "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list."
            } else {
                "The resourceVersion for the provided list is too old."
            })
        })?;
    let all: Vec<&Value> = objects
        .iter()
        .map(Arc::as_ref)
        .filter(|o| filter.matches(o))
        .collect();
    let start = match &after {
        Some(after) => all.iter().take_while(|o| key_of(o) <= *after).count(),
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
            .map(|o| crate::testenv::registry::crd::view(resource, custom, o))
            .collect(),
        // HorizontalPodAutoscalers are stored at autoscaling/v2.
        None if crate::testenv::registry::hpa::is_hpa(resource) => page
            .iter()
            .map(|o| crate::testenv::registry::hpa::convert(o, &resource.version))
            .collect(),
        None => Vec::new(),
    };
    let page: Vec<&Value> =
        if resource.custom.is_some() || crate::testenv::registry::hpa::is_hpa(resource) {
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
        // The count is only known without selectors (the store counts keys, not matches).
        if filter.is_empty() {
            metadata.insert("remainingItemCount".into(), json!(remaining));
        }
    }
    Ok(json_response(
        200,
        &list_body(resource, &page, metadata, rv, call),
    ))
}

/// A list answer for these objects, in the form the request's Accept header asks for: a
/// `<Kind>List` of items without `kind` and `apiVersion`, a `PartialObjectMetadataList`, or a
/// Table.
pub(crate) fn list_body(
    resource: &Resource,
    page: &[&Value],
    metadata: Map<String, Value>,
    rv: u64,
    call: &Call,
) -> Value {
    if call.accept.contains("as=Table") {
        let mut table = table::table(resource, page, rv, table::Options::of(&call.query));
        if let Some(map) = table.as_object_mut() {
            map.insert("metadata".into(), Value::Object(metadata));
        }
        return table;
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
    json!({"kind": kind, "apiVersion": api_version, "metadata": metadata, "items": items})
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

/// The last key served and the resourceVersion a continue token names.
pub(crate) fn decode_continue(token: &str) -> Option<((String, String), u64)> {
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
    let rv = value.get("rv")?.as_u64()?;
    Some((
        (
            start.first()?.as_str()?.to_string(),
            start.get(1)?.as_str()?.to_string(),
        ),
        rv,
    ))
}
