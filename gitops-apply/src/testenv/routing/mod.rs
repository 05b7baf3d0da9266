//! Request parsing and routing, the top layer: one fallback handler parses `/api` and `/apis`
//! paths into a verb on a resource, answers discovery, runs the filters, then takes the
//! server's lock once for the rest of the request: it resolves the resource, checks the scope
//! and authorization, runs the verb and the controllers after a write, and shapes the answer
//! (full object, metadata-only, Table or `Status`).

use std::collections::HashMap;
use std::sync::{Arc, MutexGuard};

use axum::Router;
use axum::extract::{Request, State as AxumState};
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, Method, StatusCode, header};
use serde_json::Value;

use crate::testenv::Server;
use crate::testenv::controllers;
use crate::testenv::filters::rbac;
use crate::testenv::registry::{self, Resource, discovery};
use crate::testenv::request::{Call, Credentials, json_response};
use crate::testenv::state::State;
use crate::testenv::status::{ApiError, Cause};
use crate::testenv::verbs::delete::{delete, delete_collection};
use crate::testenv::verbs::list::list;
use crate::testenv::verbs::write::{
    check_unknown_fields, create_object, parse_json_body, patch_object, stored, update,
};
use crate::testenv::verbs::{Written, render, scale, watch};

/// The router: every path goes to one handler.
pub(crate) fn router(server: Arc<Server>) -> Router {
    Router::new().fallback(handle).with_state(server)
}

async fn handle(AxumState(server): AxumState<Arc<Server>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let header_str = |name: header::HeaderName| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let query = parts.uri.query().map(parse_query).unwrap_or_default();
    let body = match axum::body::to_bytes(body, 256 << 20).await {
        Ok(b) => b,
        Err(e) => return error_response(&ApiError::bad_request(format!("reading body: {e}"))),
    };
    let call = Call {
        method: parts.method.clone(),
        query,
        accept: header_str(header::ACCEPT),
        content_type: header_str(header::CONTENT_TYPE),
        user_agent: header_str(header::USER_AGENT),
        credentials: Credentials {
            bearer: parts
                .headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(str::to_string),
            impersonate_user: parts
                .headers
                .get("Impersonate-User")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
            impersonate_groups: parts
                .headers
                .get_all("Impersonate-Group")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .map(str::to_string)
                .collect(),
        },
        body,
        warnings: Default::default(),
    };
    let path = parts.uri.path().to_string();
    let mut response = match route(&server, &path, &call).await {
        Ok(response) => response,
        Err(e) => error_response(&e),
    };
    let warnings = call.warnings.lock().map(|w| w.clone()).unwrap_or_default();
    for warning in warnings {
        let quoted = warning.replace('\\', "\\\\").replace('"', "\\\"");
        if let Ok(value) = header::HeaderValue::from_str(&format!("299 - \"{quoted}\"")) {
            response.headers_mut().append("warning", value);
        }
    }
    response
}

/// Moves the warnings validation left in the state to the request's `Warning` headers.
fn take_warnings(state: &mut State, call: &Call) {
    let warnings = std::mem::take(&mut state.warnings);
    if let Ok(mut sink) = call.warnings.lock() {
        sink.extend(warnings);
    }
}

fn parse_query(query: &str) -> HashMap<String, String> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// Percent-decoding of a query component (`+` is a space).
fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Aggregated discovery names its media type: clients tell it from the legacy form by it.
fn aggregated_response(body: &Value) -> Response {
    let mut response = json_response(200, body);
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(
            "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList",
        ),
    );
    response
}

fn error_response(error: &ApiError) -> Response {
    if error.plain {
        let mut response = (StatusCode::NOT_FOUND, error.message.clone()).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        return response;
    }
    let mut response = json_response(error.code, &error.body());
    if error.code == 429 {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    response
}

/// Discovery and OpenAPI documents, or `None` for a path that names none.
fn discovery_answer(
    state: &State,
    segments: &[&str],
    call: &Call,
) -> Option<Result<Response, ApiError>> {
    let aggregated = discovery::wants_aggregated(&call.accept);
    match segments {
        ["version"] => return Some(Ok(json_response(200, &discovery::version()))),
        ["openapi", "v3"] => {
            return Some(Ok(json_response(
                200,
                &discovery::openapi_root(&state.groups()),
            )));
        }
        ["openapi", "v3", rest @ ..] => {
            let core = registry::builtin().groups[..1].to_vec();
            let groups = state.groups();
            let found = match rest {
                ["api", version] => core
                    .first()
                    .and_then(|g| discovery::openapi_group_version(g, version)),
                ["apis", group, version] => groups
                    .iter()
                    .find(|g| g.name == *group)
                    .and_then(|g| discovery::openapi_group_version(g, version)),
                _ => None,
            };
            return Some(
                found
                    .map(|doc| json_response(200, &doc))
                    .ok_or_else(ApiError::page_not_found),
            );
        }
        ["api"] if aggregated => {
            let core = registry::builtin().groups[..1].to_vec();
            return Some(Ok(aggregated_response(&discovery::aggregated(&core))));
        }
        ["api"] => return Some(Ok(json_response(200, &discovery::core_versions()))),
        ["apis"] if aggregated => {
            return Some(Ok(aggregated_response(&discovery::aggregated(
                &state.groups(),
            ))));
        }
        ["apis"] => {
            return Some(Ok(json_response(
                200,
                &discovery::group_list(&state.groups()),
            )));
        }
        ["api", "v1"] => {
            let core = &registry::builtin().groups[0];
            let resources = core
                .versions
                .first()
                .map(|(_, r)| r.clone())
                .unwrap_or_default();
            return Some(Ok(json_response(
                200,
                &discovery::resource_list("", "v1", &resources),
            )));
        }
        ["apis", group] => {
            return Some(match state.groups().iter().find(|g| g.name == *group) {
                Some(g) => Ok(json_response(200, &discovery::group(g))),
                None => Err(ApiError::page_not_found()),
            });
        }
        ["apis", group, version] => {
            let groups = state.groups();
            let found = groups
                .iter()
                .find(|g| g.name == *group)
                .and_then(|g| g.versions.iter().find(|(v, _)| v == version));
            return Some(match found {
                Some((_, resources)) => Ok(json_response(
                    200,
                    &discovery::resource_list(group, version, resources),
                )),
                None => Err(ApiError::page_not_found()),
            });
        }
        _ => {}
    }
    None
}

async fn route(server: &Arc<Server>, path: &str, call: &Call) -> Result<Response, ApiError> {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let (group, version, rest) = match segments.as_slice() {
        ["api", "v1", rest @ ..] if !rest.is_empty() => ("", "v1", rest),
        ["apis", group, version, rest @ ..] if !rest.is_empty() => (*group, *version, rest),
        _ if call.method == Method::GET => {
            return discovery_answer(&server.lock(), &segments, call)
                .unwrap_or_else(|| Err(ApiError::page_not_found()));
        }
        _ => return Err(ApiError::page_not_found()),
    };
    let target = parse_target(rest).ok_or_else(ApiError::page_not_found)?;
    let verb = verb_of(&call.method, target.name.is_some(), call.q("watch"));

    // Filters: counted, and faults injected, before the state is touched.
    let qualified = if group.is_empty() {
        target.plural.to_string()
    } else {
        format!("{}.{group}", target.plural)
    };
    let fault = server.filters().admit(verb, &qualified);
    let mut drop_watch = None;
    if let Some(fault) = fault {
        if !fault.delay.is_zero() {
            tokio::time::sleep(fault.delay).await;
        }
        drop_watch = fault.drop_watch_after;
        if fault.status != 0 {
            return Err(match fault.status {
                429 => ApiError::too_many_requests(),
                code => {
                    let mut e = ApiError::internal("injected fault");
                    e.code = code;
                    e
                }
            });
        }
    }

    // The one lock of this request.
    let mut state = server.lock();
    let resource = state.resource(group, version, target.plural)?;
    check_route(&resource, &target, verb, call)?;
    let attributes = rbac::Attributes {
        verb,
        resource: &resource,
        subresource: target.subresource,
        namespace: target.namespace.filter(|_| resource.namespaced),
        name: target.name,
    };
    rbac::check(&state.store, &state.tokens, &call.credentials, &attributes)?;
    // A deprecated version of a custom resource says so on every request it serves.
    if let Some(warning) = resource
        .custom
        .as_ref()
        .and_then(|c| c.deprecation.as_ref())
    {
        call.warn(warning.clone());
    }
    let namespace = target.namespace;
    if target.subresource == Some("scale")
        && let Some(name) = target.name
    {
        let ns = if resource.namespaced {
            namespace.unwrap_or("")
        } else {
            ""
        };
        return match verb {
            "get" => {
                let object = stored(&state, &resource, ns, name)
                    .ok_or_else(|| ApiError::not_found(&resource, name))?;
                Ok(json_response(200, &scale::view(&resource, &object)))
            }
            "update" | "patch" => {
                let (scale, _) = scale::write_scale(&mut state, &resource, ns, name, call)?;
                after_write(server, state);
                Ok(json_response(200, &scale))
            }
            _ => Err(ApiError::method_not_supported(&resource, verb)),
        };
    }
    if target.subresource.is_none() && !resource.supports(verb) && verb != "unsupported" {
        return Err(ApiError::method_not_supported(&resource, verb));
    }
    match (verb, target.name) {
        ("watch", None) => {
            drop(state);
            watch::serve(server.clone(), resource, namespace, call, drop_watch)
        }
        ("list", None) => list(&state, &resource, namespace, call),
        ("get", Some(name)) => {
            let object = state
                .store
                .get(&resource.storage_key(), namespace.unwrap_or(""), name)
                .ok_or_else(|| ApiError::not_found(&resource, name))?;
            Ok(json_response(
                200,
                &render(&resource, object, call, state.store.rv()),
            ))
        }
        ("create", None) => {
            let mut body = parse_json_body(&resource, call)?;
            check_unknown_fields(&resource, &mut body, call)?;
            let result = create_object(&mut state, &resource, namespace, body, call);
            finish(server, state, &resource, call, result, true)
        }
        ("update", Some(name)) => {
            let mut body = parse_json_body(&resource, call)?;
            check_unknown_fields(&resource, &mut body, call)?;
            let result = update(
                &mut state,
                &resource,
                namespace,
                name,
                target.subresource,
                body,
                call,
            );
            finish(server, state, &resource, call, result, false)
        }
        ("patch", Some(name)) => {
            let result = patch_object(
                &mut state,
                &resource,
                namespace,
                name,
                target.subresource,
                call,
            );
            finish(server, state, &resource, call, result, false)
        }
        ("delete", Some(name)) => {
            let response = delete(&mut state, &resource, namespace, name, call);
            after_write(server, state);
            response
        }
        ("deletecollection", None) => {
            let response = delete_collection(&mut state, &resource, namespace, call);
            after_write(server, state);
            response
        }
        _ => Err(ApiError::method_not_supported(&resource, verb)),
    }
}

/// The checks the API server's routes make before a verb runs: which paths a resource has
/// in its scope, which subresources it serves, and the `fieldValidation` option.
fn check_route(
    resource: &Resource,
    target: &Target<'_>,
    verb: &str,
    call: &Call,
) -> Result<(), ApiError> {
    if resource.custom.is_some() {
        // The CRD handler serves a cluster-scoped kind on cluster paths only, and answers a
        // subresource the version lacks as a missing object.
        if !resource.namespaced && target.namespace.is_some() {
            return Err(ApiError::page_not_found());
        }
        if let (Some(sub), Some(name)) = (target.subresource, target.name)
            && !resource.has_subresource(sub)
        {
            return Err(ApiError::not_found(resource, name));
        }
    }
    if let Some(sub) = target.subresource
        && !resource.has_subresource(sub)
    {
        return Err(ApiError::no_resource());
    }
    if let Some(validation) = call.q("fieldValidation")
        && !matches!(validation, "" | "Ignore" | "Strict" | "Warn")
        && matches!(verb, "create" | "update" | "patch")
    {
        let options = match verb {
            "create" => "CreateOptions",
            "update" => "UpdateOptions",
            _ => "PatchOptions",
        };
        let supported: Vec<String> = ["", "Ignore", "Strict", "Warn"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        return Err(ApiError::invalid(
            options,
            "meta.k8s.io",
            "",
            vec![Cause::unsupported(
                "fieldValidation",
                &Value::String(validation.to_string()),
                &supported,
            )],
        ));
    }
    // Routes exist per scope: a cluster-scoped resource has no namespaced path, and a
    // namespaced one is served across namespaces only for list and watch.
    if target.namespace.is_some() && !resource.namespaced {
        return Err(ApiError::no_resource());
    }
    if target.namespace.is_none() && resource.namespaced {
        if target.name.is_some() {
            return Err(ApiError::no_resource());
        }
        if !matches!(verb, "list" | "watch") {
            return Err(ApiError::method_not_allowed());
        }
    }
    Ok(())
}

/// After a write: the controllers run, the lock goes, and watches wake up.
fn after_write(server: &Server, mut state: MutexGuard<'_, State>) -> u64 {
    controllers::run(&mut state);
    let rv = state.store.rv();
    drop(state);
    server.notify(rv);
    rv
}

/// Answers a create (201), or an update or patch (201 when it created the object, else 200).
///
/// A dry run stored nothing: as on kube-apiserver, where it never reaches etcd, there is no
/// watch event, so no controller runs and no watch wakes.
fn finish(
    server: &Server,
    mut state: MutexGuard<'_, State>,
    resource: &Resource,
    call: &Call,
    result: Result<(Arc<Value>, Written), ApiError>,
    create: bool,
) -> Result<Response, ApiError> {
    take_warnings(&mut state, call);
    let (object, written) = match result {
        Ok(done) => done,
        Err(e) => {
            drop(state);
            return Err(e);
        }
    };
    let rv = if call.dry_run() {
        state.store.rv()
    } else {
        after_write(server, state)
    };
    let code = if create || written == Written::Created {
        201
    } else {
        200
    };
    Ok(json_response(code, &render(resource, &object, call, rv)))
}

fn verb_of(method: &Method, named: bool, watch: Option<&str>) -> &'static str {
    let watching = watch.is_some_and(|w| w == "true" || w == "1");
    match (method.as_str(), named) {
        ("GET", false) if watching => "watch",
        ("GET", false) => "list",
        ("GET", true) => "get",
        ("POST", false) => "create",
        ("PUT", true) => "update",
        ("PATCH", true) => "patch",
        ("DELETE", true) => "delete",
        ("DELETE", false) => "deletecollection",
        _ => "unsupported",
    }
}

/// The resource part of a path.
struct Target<'a> {
    namespace: Option<&'a str>,
    plural: &'a str,
    name: Option<&'a str>,
    subresource: Option<&'a str>,
}

fn parse_target<'a>(rest: &[&'a str]) -> Option<Target<'a>> {
    let namespaced = rest.len() >= 3
        && rest[0] == "namespaces"
        && !(rest.len() == 3 && matches!(rest[2], "status" | "finalize"));
    let (namespace, rest) = if namespaced {
        (Some(rest[1]), &rest[2..])
    } else {
        (None, rest)
    };
    match rest {
        [plural] => Some(Target {
            namespace,
            plural,
            name: None,
            subresource: None,
        }),
        [plural, name] => Some(Target {
            namespace,
            plural,
            name: Some(name),
            subresource: None,
        }),
        [plural, name, sub] => Some(Target {
            namespace,
            plural,
            name: Some(name),
            subresource: Some(sub),
        }),
        _ => None,
    }
}
