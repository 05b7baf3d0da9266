//! Request handling: one fallback handler that parses `/api` and `/apis` paths, dispatches the
//! verb, and shapes the answer (full object, metadata-only, Table or `Status`).

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State as AxumState};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{HeaderValue, Method, StatusCode, header};
use serde_json::{Value, json};

use super::Server;
use super::crd::CustomResources;
use super::delete::{delete, delete_collection};
use super::discovery;
use super::list::list;
use super::rbac;
use super::registry::{self, Group, Resource};
use super::scale;
use super::selector::Filter;
use super::status::ApiError;
use super::store::Store;
use super::table;
use super::watch;
use super::write::{check_unknown_fields, create_object, parse_json_body, patch_object, update};

/// A fault to inject into matching requests.
#[derive(Clone, Debug, Default)]
pub struct Fault {
    /// The verb it applies to (`get`, `list`, `watch`, `create`, `update`, `patch`, `delete`),
    /// or every verb when `None`.
    pub verb: Option<String>,
    /// The resource it applies to (`configmaps`, `deployments.apps`), or every resource.
    pub resource: Option<String>,
    /// Fail one request in this many (1 = every request; 0 = never fail).
    pub every: u64,
    /// The HTTP status of the failure: 429 answers with `Retry-After: 1`, 500 and 503 with a
    /// `Status`.
    pub status: u16,
    /// Extra latency before answering.
    pub delay: Duration,
    /// For watches: close the stream after this long.
    pub drop_watch_after: Option<Duration>,
    seen: u64,
}

impl Fault {
    /// Every matching request fails with `status`.
    pub fn error(verb: Option<&str>, resource: Option<&str>, status: u16) -> Fault {
        Fault {
            verb: verb.map(str::to_string),
            resource: resource.map(str::to_string),
            every: 1,
            status,
            ..Fault::default()
        }
    }

    fn matches(&self, verb: &str, resource: &str) -> bool {
        self.verb.as_deref().is_none_or(|v| v == verb)
            && self.resource.as_deref().is_none_or(|r| r == resource)
    }
}

/// Everything one server holds.
pub(crate) struct State {
    pub store: Store,
    pub custom: CustomResources,
    pub counters: BTreeMap<(String, String), u64>,
    pub faults: Vec<Fault>,
    pub watch_timeout: Duration,
    /// Whether the garbage collector and namespace controller run.
    pub controllers: bool,
    /// Bearer tokens: user name and groups.
    pub tokens: HashMap<String, (String, Vec<String>)>,
    /// Warnings of the request being served, drained into its `Warning` headers.
    pub warnings: Vec<String>,
    next_ip: u32,
}

impl Default for State {
    fn default() -> Self {
        State {
            store: Store::default(),
            custom: CustomResources::default(),
            counters: BTreeMap::new(),
            faults: Vec::new(),
            watch_timeout: Duration::from_secs(1800),
            tokens: HashMap::new(),
            warnings: Vec::new(),
            controllers: false,
            next_ip: 10,
        }
    }
}

impl State {
    pub(crate) fn allocate_ip(&mut self) -> String {
        self.next_ip += 1;
        format!("10.96.{}.{}", self.next_ip / 250, self.next_ip % 250)
    }

    /// The groups served, built-in then custom, for discovery.
    fn groups(&self) -> Vec<Group> {
        let mut groups: Vec<Group> = registry::builtin().groups[1..].to_vec();
        groups.extend(self.custom.groups());
        groups
    }

    /// Resolves a group version and plural.
    pub(crate) fn resource(
        &self,
        group: &str,
        version: &str,
        plural: &str,
    ) -> Result<Resource, ApiError> {
        if let Some(found) = self.custom.resource(group, version, plural) {
            return Ok(found);
        }
        let builtin = registry::builtin();
        let Some(g) = builtin.groups.iter().find(|g| g.name == group) else {
            return if self.custom.serves(group, version) {
                Err(ApiError::no_resource())
            } else {
                Err(ApiError::page_not_found())
            };
        };
        let Some((_, entries)) = g.versions.iter().find(|(v, _)| v == version) else {
            return Err(ApiError::page_not_found());
        };
        entries
            .iter()
            .find(|e| e.get("resource").and_then(Value::as_str) == Some(plural))
            .map(|e| registry::resource_from_entry(group, version, e))
            .ok_or_else(ApiError::no_resource)
    }
}

/// Creates the namespaces a fresh cluster has.
pub(crate) fn bootstrap(server: &Server) {
    let mut state = server.lock();
    let Ok(resource) = state.resource("", "v1", "namespaces") else {
        return;
    };
    for name in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        let object = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
        let call = Call::internal("kube-apiserver");
        let _ = create_object(&mut state, &resource, None, object, &call);
    }
}

/// The router: every path goes to one handler.
pub(crate) fn router(server: Arc<Server>) -> Router {
    Router::new().fallback(handle).with_state(server)
}

/// One parsed request.
pub(crate) struct Call {
    pub method: Method,
    pub query: HashMap<String, String>,
    pub accept: String,
    pub content_type: String,
    pub user_agent: String,
    pub credentials: rbac::Credentials,
    pub body: Bytes,
    /// `Warning` headers to answer with.
    pub warnings: std::sync::Mutex<Vec<String>>,
}

impl Call {
    pub(crate) fn internal(manager: &str) -> Call {
        Call {
            method: Method::POST,
            query: HashMap::new(),
            accept: String::new(),
            content_type: "application/json".into(),
            user_agent: manager.into(),
            credentials: rbac::Credentials::default(),
            body: Bytes::new(),
            warnings: Default::default(),
        }
    }

    pub(crate) fn q(&self, key: &str) -> Option<&str> {
        self.query.get(key).map(String::as_str)
    }

    pub(crate) fn dry_run(&self) -> bool {
        self.q("dryRun").is_some_and(|v| v == "All")
    }

    /// The manager of an update: `fieldManager`, else the user agent up to its first `/`.
    pub(crate) fn manager(&self) -> String {
        if let Some(m) = self.q("fieldManager") {
            return m.to_string();
        }
        let agent = self.user_agent.split('/').next().unwrap_or("");
        agent.chars().take(128).collect()
    }
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
        credentials: rbac::Credentials {
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

pub(crate) fn json_response(status: u16, body: &Value) -> Response {
    let text = serde_json::to_vec(body).unwrap_or_default();
    let mut response = Response::new(Body::from(text));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
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

async fn route(server: &Arc<Server>, path: &str, call: &Call) -> Result<Response, ApiError> {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    if call.method == Method::GET {
        let state = server.lock();
        let aggregated = discovery::wants_aggregated(&call.accept);
        match segments.as_slice() {
            ["version"] => return Ok(json_response(200, &discovery::version())),
            ["openapi", "v3"] => {
                return Ok(json_response(
                    200,
                    &discovery::openapi_root(&state.groups()),
                ));
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
                return found
                    .map(|doc| json_response(200, &doc))
                    .ok_or_else(ApiError::page_not_found);
            }
            ["api"] if aggregated => {
                let core = registry::builtin().groups[..1].to_vec();
                return Ok(aggregated_response(&discovery::aggregated(&core)));
            }
            ["api"] => return Ok(json_response(200, &discovery::core_versions())),
            ["apis"] if aggregated => {
                return Ok(aggregated_response(&discovery::aggregated(&state.groups())));
            }
            ["apis"] => return Ok(json_response(200, &discovery::group_list(&state.groups()))),
            ["api", "v1"] => {
                let core = &registry::builtin().groups[0];
                let resources = core
                    .versions
                    .first()
                    .map(|(_, r)| r.clone())
                    .unwrap_or_default();
                return Ok(json_response(
                    200,
                    &discovery::resource_list("", "v1", &resources),
                ));
            }
            ["apis", group] => {
                return match state.groups().iter().find(|g| g.name == *group) {
                    Some(g) => Ok(json_response(200, &discovery::group(g))),
                    None => Err(ApiError::page_not_found()),
                };
            }
            ["apis", group, version] => {
                let groups = state.groups();
                let found = groups
                    .iter()
                    .find(|g| g.name == *group)
                    .and_then(|g| g.versions.iter().find(|(v, _)| v == version));
                return match found {
                    Some((_, resources)) => Ok(json_response(
                        200,
                        &discovery::resource_list(group, version, resources),
                    )),
                    None => Err(ApiError::page_not_found()),
                };
            }
            _ => {}
        }
    }
    let (group, version, rest) = match segments.as_slice() {
        ["api", "v1", rest @ ..] if !rest.is_empty() => ("", "v1", rest),
        ["apis", group, version, rest @ ..] if !rest.is_empty() => (*group, *version, rest),
        _ => return Err(ApiError::page_not_found()),
    };
    let target = parse_target(rest).ok_or_else(ApiError::page_not_found)?;
    let resource = server.lock().resource(group, version, target.plural)?;
    if resource.custom.is_some() {
        // The CRD handler serves a cluster-scoped kind on cluster paths only, and answers a
        // subresource the version lacks as a missing object.
        if !resource.namespaced && target.namespace.is_some() {
            return Err(ApiError::page_not_found());
        }
        if let (Some(sub), Some(name)) = (target.subresource, target.name)
            && !resource.has_subresource(sub)
        {
            return Err(ApiError::not_found(&resource, name));
        }
    }
    if let Some(sub) = target.subresource
        && !resource.has_subresource(sub)
    {
        return Err(ApiError::no_resource());
    }
    let verb = verb_of(&call.method, target.name.is_some(), call.q("watch"));
    if let Some(validation) = call.q("fieldValidation")
        && !matches!(validation, "" | "Ignore" | "Strict" | "Warn")
    {
        let options = match verb {
            "create" => "CreateOptions",
            "update" => "UpdateOptions",
            _ => "PatchOptions",
        };
        if matches!(verb, "create" | "update" | "patch") {
            let supported: Vec<String> = ["", "Ignore", "Strict", "Warn"]
                .iter()
                .map(|s| s.to_string())
                .collect();
            return Err(ApiError::invalid(
                options,
                "meta.k8s.io",
                "",
                vec![super::status::Cause::unsupported(
                    "fieldValidation",
                    &serde_json::Value::String(validation.to_string()),
                    &supported,
                )],
            ));
        }
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
    {
        let state = server.lock();
        let attributes = rbac::Attributes {
            verb,
            resource: &resource,
            subresource: target.subresource,
            namespace: target.namespace.filter(|_| resource.namespaced),
            name: target.name,
        };
        rbac::check(&state.store, &state.tokens, &call.credentials, &attributes)?;
    }
    // A deprecated version of a custom resource says so on every request it serves.
    if let Some(warning) = resource
        .custom
        .as_ref()
        .and_then(|c| c.deprecation.as_ref())
        && let Ok(mut sink) = call.warnings.lock()
    {
        sink.push(warning.clone());
    }
    let fault = {
        let mut state = server.lock();
        *state
            .counters
            .entry((verb.to_string(), resource.qualified()))
            .or_default() += 1;
        take_fault(&mut state.faults, verb, &resource.qualified())
    };
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
                let state = server.lock();
                let object = super::write::stored(&state, &resource, ns, name)
                    .ok_or_else(|| ApiError::not_found(&resource, name))?;
                Ok(json_response(200, &scale::view(&resource, &object)))
            }
            "update" | "patch" => {
                let result = {
                    let mut state = server.lock();
                    scale::write_scale(&mut state, &resource, ns, name, call)
                };
                let (scale, _) = result?;
                let rv = server.lock().store.rv();
                server.notify(rv);
                Ok(json_response(200, &scale))
            }
            _ => Err(ApiError::method_not_supported(&resource, verb)),
        };
    }
    let base_verb = if verb == "watch" { "watch" } else { verb };
    if target.subresource.is_none() && !resource.supports(base_verb) && verb != "unsupported" {
        return Err(ApiError::method_not_supported(&resource, verb));
    }
    match (verb, target.name) {
        ("watch", None) => watch::serve(server.clone(), resource, namespace, call, drop_watch),
        ("list", None) => {
            let state = server.lock();
            list(&state, &resource, namespace, call)
        }
        ("get", Some(name)) => {
            let state = server.lock();
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
            let mut state = server.lock();
            let mut body = parse_json_body(&resource, call)?;
            check_unknown_fields(&resource, &mut body, call)?;
            let result = create_object(&mut state, &resource, namespace, body, call);
            take_warnings(&mut state, call);
            drop(state);
            finish(server, &resource, call, result, 201)
        }
        ("update", Some(name)) => {
            let mut state = server.lock();
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
            take_warnings(&mut state, call);
            drop(state);
            let created = matches!(result, Ok((_, Written::Created)));
            finish(
                server,
                &resource,
                call,
                result,
                if created { 201 } else { 200 },
            )
        }
        ("patch", Some(name)) => {
            let mut state = server.lock();
            let result = patch_object(
                &mut state,
                &resource,
                namespace,
                name,
                target.subresource,
                call,
            );
            take_warnings(&mut state, call);
            drop(state);
            let created = matches!(result, Ok((_, Written::Created)));
            finish(
                server,
                &resource,
                call,
                result,
                if created { 201 } else { 200 },
            )
        }
        ("delete", Some(name)) => {
            let mut state = server.lock();
            let response = delete(&mut state, &resource, namespace, name, call);
            if state.controllers {
                super::gc::collect(&mut state.store);
            }
            super::apf::sync(&mut state);
            let rv = state.store.rv();
            drop(state);
            server.notify(rv);
            response
        }
        ("deletecollection", None) => {
            let mut state = server.lock();
            let response = delete_collection(&mut state, &resource, namespace, call);
            if state.controllers {
                super::gc::collect(&mut state.store);
            }
            super::apf::sync(&mut state);
            let rv = state.store.rv();
            drop(state);
            server.notify(rv);
            response
        }
        _ => Err(ApiError::method_not_supported(&resource, verb)),
    }
}

fn take_fault(faults: &mut [Fault], verb: &str, resource: &str) -> Option<Fault> {
    let fault = faults.iter_mut().find(|f| f.matches(verb, resource))?;
    fault.seen += 1;
    let fires = fault.every != 0 && fault.seen.is_multiple_of(fault.every);
    let mut out = fault.clone();
    if !fires {
        out.status = 0;
    }
    Some(out)
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

/// What a write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Written {
    Created,
    Updated,
    Unchanged,
}

fn finish(
    server: &Arc<Server>,
    resource: &Resource,
    call: &Call,
    result: Result<(Arc<Value>, Written), ApiError>,
    code: u16,
) -> Result<Response, ApiError> {
    let (object, _) = result?;
    let rv = {
        let mut state = server.lock();
        if state.controllers {
            super::gc::collect(&mut state.store);
        }
        super::apf::sync(&mut state);
        state.store.rv()
    };
    server.notify(rv);
    Ok(json_response(code, &render(resource, &object, call, rv)))
}

/// The object as the Accept header asks: full, metadata-only or a Table.
pub(crate) fn render<'a>(
    resource: &Resource,
    object: &'a Value,
    call: &Call,
    rv: u64,
) -> Cow<'a, Value> {
    let accept = call.accept.as_str();
    let object = match registry::served_view(resource, object) {
        Some(view) => Cow::Owned(view),
        None => Cow::Borrowed(object),
    };
    if accept.contains("as=PartialObjectMetadata") {
        return Cow::Owned(partial(&object));
    }
    if accept.contains("as=Table") {
        return Cow::Owned(table::table(
            resource,
            &[&*object],
            rv,
            table::Options::of(&call.query),
        ));
    }
    object
}

pub(crate) fn partial(object: &Value) -> Value {
    json!({
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": object.get("metadata").cloned().unwrap_or(json!({})),
    })
}

pub(crate) fn filter_of(call: &Call, resource: &Resource) -> Result<Filter, ApiError> {
    Filter::parse(
        call.q("labelSelector").unwrap_or(""),
        call.q("fieldSelector").unwrap_or(""),
        resource,
    )
}
