//! Request handling: one fallback handler that parses `/api` and `/apis` paths, dispatches the
//! verb, and shapes the answer (full object, metadata-only, Table or `Status`).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State as AxumState};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use gitops_core::schema::{Node, Schema};
use http::{HeaderValue, Method, StatusCode, header};
use serde_json::{Map, Value, json};

use super::Server;
use super::crd::{self, CustomResources};
use super::defaults;
use super::discovery;
use super::events;
use super::fieldpath::{self, FieldSet};
use super::managed::{self, Entry};
use super::patch::{self, PatchKind};
use super::rbac;
use super::registry::{self, Group, Resource};
use super::selector::{Filter, Selector};
use super::status::{ApiError, Cause};
use super::store::{EventType, Store};
use super::validation;
use super::watch;

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
            controllers: false,
            next_ip: 10,
        }
    }
}

impl State {
    fn allocate_ip(&mut self) -> String {
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
    fn resource(&self, group: &str, version: &str, plural: &str) -> Result<Resource, ApiError> {
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
    fn internal(manager: &str) -> Call {
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

    fn q(&self, key: &str) -> Option<&str> {
        self.query.get(key).map(String::as_str)
    }

    fn dry_run(&self) -> bool {
        self.q("dryRun").is_some_and(|v| v == "All")
    }

    /// The manager of an update: `fieldManager`, else the user agent up to its first `/`.
    fn manager(&self) -> String {
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
    match route(&server, &path, &call).await {
        Ok(response) => response,
        Err(e) => error_response(&e),
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
    let mut response = Response::new(Body::from(body.to_string()));
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
    if let Some(sub) = target.subresource
        && !resource.has_subresource(sub)
    {
        return Err(ApiError::no_resource());
    }
    let verb = verb_of(&call.method, target.name.is_some(), call.q("watch"));
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
                &render(&resource, object, &call.accept, state.store.rv()),
            ))
        }
        ("create", None) => {
            let mut state = server.lock();
            let mut body = parse_json_body(&resource, call)?;
            check_unknown_fields(&resource, &mut body, call)?;
            let result = create_object(&mut state, &resource, namespace, body, call);
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
    result: Result<(Value, Written), ApiError>,
    code: u16,
) -> Result<Response, ApiError> {
    let (object, _) = result?;
    let rv = {
        let mut state = server.lock();
        if state.controllers {
            super::gc::collect(&mut state.store);
        }
        state.store.rv()
    };
    server.notify(rv);
    Ok(json_response(
        code,
        &render(resource, &object, &call.accept, rv),
    ))
}

/// The object as the Accept header asks: full, metadata-only or a Table.
pub(crate) fn render(resource: &Resource, object: &Value, accept: &str, rv: u64) -> Value {
    let converted;
    let object = if events::is_event(resource) {
        converted = events::view(resource, object);
        &converted
    } else {
        object
    };
    if accept.contains("as=PartialObjectMetadata") {
        return partial(object);
    }
    if accept.contains("as=Table") {
        return crd::table(resource, &[object], rv);
    }
    object.clone()
}

pub(crate) fn partial(object: &Value) -> Value {
    json!({
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": object.get("metadata").cloned().unwrap_or(json!({})),
    })
}

pub(crate) fn filter_of(call: &Call) -> Result<Filter, ApiError> {
    Ok(Filter {
        labels: Selector::parse(call.q("labelSelector").unwrap_or(""), "label")?,
        fields: Selector::parse(call.q("fieldSelector").unwrap_or(""), "field")?,
    })
}

fn list(
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
    let start = match call.q("continue").filter(|c| !c.is_empty()) {
        Some(token) => decode_continue(token)
            .ok_or_else(|| ApiError::bad_request("continue key is not valid"))?,
        None => 0,
    };
    let limit: usize = call
        .q("limit")
        .and_then(|l| l.parse().ok())
        .filter(|l| *l > 0)
        .unwrap_or(usize::MAX);
    let page: Vec<&Value> = all.iter().skip(start).take(limit).copied().collect();
    let remaining = all.len().saturating_sub(start + page.len());
    let mut metadata = Map::new();
    metadata.insert("resourceVersion".into(), json!(rv.to_string()));
    if remaining > 0 {
        metadata.insert(
            "continue".into(),
            json!(encode_continue(start + page.len(), rv)),
        );
        metadata.insert("remainingItemCount".into(), json!(remaining));
    }
    if call.accept.contains("as=Table") {
        let mut table = crd::table(resource, &page, rv);
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
                if let Some(map) = item.as_object_mut() {
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

fn encode_continue(offset: usize, rv: u64) -> String {
    let raw = format!("{{\"v\":\"meta.k8s.io/v1\",\"rv\":{rv},\"start\":{offset}}}");
    raw.bytes().map(|b| format!("{b:02x}")).collect()
}

fn decode_continue(token: &str) -> Option<usize> {
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
    value.get("start")?.as_u64().map(|s| s as usize)
}

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
fn internal_group(group: &str) -> &str {
    if group.is_empty() {
        "core"
    } else {
        group.split('.').next().unwrap_or(group)
    }
}

fn parse_json_body(resource: &Resource, call: &Call) -> Result<Value, ApiError> {
    let text = String::from_utf8_lossy(&call.body);
    let value: Value = serde_json::from_slice(&call.body).map_err(|e| {
        ApiError::bad_request(format!(
            "the object provided is unrecognized (must be of type {}): couldn't get version/kind; json parse error: {} ({})",
            resource.kind,
            go_json_error(&text, &e),
            text.chars().take(100).collect::<String>()
        ))
    })?;
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
    Ok(value)
}

/// Go's encoding/json message for the common syntax errors.
fn go_json_error(text: &str, error: &serde_json::Error) -> String {
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

fn now() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

fn meta_str<'a>(object: &'a Value, key: &str) -> Option<&'a str> {
    object.get("metadata")?.get(key)?.as_str()
}

fn set_meta(object: &mut Value, key: &str, value: Value) {
    if !object.get("metadata").is_some_and(Value::is_object)
        && let Some(map) = object.as_object_mut()
    {
        map.insert("metadata".into(), json!({}));
    }
    if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.insert(key.into(), value);
    }
}

fn check_namespace(
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

fn generated_suffix(seed: u64) -> String {
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

fn create_object(
    state: &mut State,
    resource: &Resource,
    namespace: Option<&str>,
    mut object: Value,
    call: &Call,
) -> Result<(Value, Written), ApiError> {
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
    if let Some(cause) = validation::name(resource, &name) {
        return Err(ApiError::invalid(
            &resource.kind,
            &resource.group,
            &name,
            vec![cause],
        ));
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
    write(
        state,
        resource,
        ns,
        &name,
        None,
        object,
        op,
        call.dry_run(),
        generated,
    )
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

/// Content without bookkeeping, to tell whether a write changed anything.
fn content(object: &Value) -> Value {
    let mut v = object.clone();
    if let Some(meta) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("managedFields");
        meta.remove("resourceVersion");
    }
    v
}

fn spec_part(object: &Value) -> Value {
    let mut v = object.clone();
    if let Some(map) = v.as_object_mut() {
        map.remove("metadata");
        map.remove("status");
    }
    v
}

/// The shared write pipeline: reset fields, defaults, managedFields, server-set fields,
/// validation, generation, no-op detection, storage.
#[allow(clippy::too_many_arguments)]
pub(crate) fn write(
    state: &mut State,
    resource: &Resource,
    ns: &str,
    name: &str,
    old: Option<&Value>,
    mut new: Value,
    op: Op,
    dry_run: bool,
    generated_name: bool,
) -> Result<(Value, Written), ApiError> {
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
    // managedFields.
    let empty = json!({});
    let (entries, manager, operation) = match op {
        Op::Update {
            manager,
            subresource,
        } => {
            let mut entries = managed::read(old);
            let (changed, removed) = with_schema(resource, |schema| {
                let old_view = old.cloned().unwrap_or_else(|| empty.clone());
                let new_view = if generated_name {
                    let mut v = new.clone();
                    if let Some(meta) = v.get_mut("metadata").and_then(Value::as_object_mut) {
                        meta.remove("name");
                    }
                    v
                } else {
                    new.clone()
                };
                fieldpath::compare(&old_view, &new_view, schema, resource.custom.is_some())
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
            (entries, manager, "Update")
        }
        Op::Apply {
            manager, entries, ..
        } => (entries, manager, "Apply"),
    };
    let mut entries = entries;
    let content_changed = old.is_none_or(|o| content(o) != content(&new));
    for entry in entries.iter_mut() {
        if entry.is(&manager, operation, subresource.as_deref()) {
            entry.api_version = resource.api_version();
            if content_changed {
                entry.time = Some(json!(now()));
            }
        }
    }
    managed::write(&mut new, &entries);
    // Server-set fields on create.
    let created = old.is_none();
    if created {
        let uid = state.store.uid();
        let ip = state.allocate_ip();
        set_meta(&mut new, "uid", json!(uid));
        set_meta(&mut new, "creationTimestamp", json!(now()));
        if defaults::has_generation(resource) {
            set_meta(&mut new, "generation", json!(1));
        }
        defaults::prepare_create(resource, &mut new, &uid, &ip);
        if resource.group == "apiextensions.k8s.io" {
            crd::prepare_create(&mut new);
        }
    }
    // Validation.
    let mut causes = validation::object(resource, &new);
    causes.extend(events::validate(resource, &new));
    if let Some(custom) = &resource.custom {
        causes.extend(crd::validate(custom, &new));
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
        && defaults::has_generation(resource)
        && spec_part(old) != spec_part(&new)
    {
        let generation = old
            .pointer("/metadata/generation")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        set_meta(&mut new, "generation", json!(generation + 1));
    }
    if let Some(old) = old {
        set_meta(
            &mut new,
            "resourceVersion",
            old.pointer("/metadata/resourceVersion")
                .cloned()
                .unwrap_or(json!("")),
        );
        if *old == new {
            return Ok((old.clone(), Written::Unchanged));
        }
    }
    if dry_run {
        if old.is_none()
            && let Some(meta) = new.get_mut("metadata").and_then(Value::as_object_mut)
        {
            meta.remove("resourceVersion");
        }
        return Ok((
            new,
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
        return Ok((new, Written::Updated));
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
        crd::register(state, &stored);
    }
    Ok((
        stored,
        if created {
            Written::Created
        } else {
            Written::Updated
        },
    ))
}

/// A stored object in the shape the resource's version has.
fn stored(state: &State, resource: &Resource, ns: &str, name: &str) -> Option<Value> {
    let object = state.store.get(&resource.storage_key(), ns, name)?;
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
        return Some(converted);
    }
    Some(object.clone())
}

fn update(
    state: &mut State,
    resource: &Resource,
    namespace: Option<&str>,
    name: &str,
    subresource: Option<&str>,
    mut body: Value,
    call: &Call,
) -> Result<(Value, Written), ApiError> {
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
    if let Some(meta) = body.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("managedFields");
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
        false,
    )
}

fn patch_object(
    state: &mut State,
    resource: &Resource,
    namespace: Option<&str>,
    name: &str,
    subresource: Option<&str>,
    call: &Call,
) -> Result<(Value, Written), ApiError> {
    let kind = PatchKind::from_content_type(&call.content_type).ok_or_else(|| {
        let mut e = ApiError::bad_request(format!(
            "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/apply-patch+cbor{}",
            if resource.custom.is_none() { ", application/strategic-merge-patch+json" } else { "" }
        ));
        e.code = 415;
        e.reason = Some("UnsupportedMediaType");
        e
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
        false,
    )
}

/// The fields of `config` the schema does not declare, as `.a.b` paths.
fn undeclared(value: &Value, node: Option<Node<'_>>, path: &str, out: &mut Vec<String>) {
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
    match value {
        Value::Object(map) => {
            let declares = node.keyword("properties").is_some();
            let open = node.keyword("additionalProperties").is_some();
            for (key, v) in map {
                if path.is_empty() && matches!(key.as_str(), "apiVersion" | "kind" | "metadata") {
                    continue;
                }
                let child = node.child(key);
                if declares && !open && node.field(key).is_none() {
                    out.push(format!("{path}.{key}"));
                    continue;
                }
                undeclared(v, child, &format!("{path}.{key}"), out);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                undeclared(item, node.items(), &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

/// Drops fields the schema does not declare, as decoding into the typed object does, and
/// collects their paths (`spec.foo`, `spec.containers[0].bar`).
fn prune_undeclared(value: &mut Value, node: Option<Node<'_>>, path: &str, out: &mut Vec<String>) {
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
fn check_unknown_fields(
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

fn apply(
    state: &mut State,
    resource: &Resource,
    namespace: Option<&str>,
    name: &str,
    subresource: Option<&str>,
    call: &Call,
) -> Result<(Value, Written), ApiError> {
    let Some(manager) = call
        .q("fieldManager")
        .filter(|m| !m.is_empty())
        .map(str::to_string)
    else {
        return Err({
            let mut e = ApiError::invalid_request();
            e.message = "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch".into();
            e.details = Some(
                json!({"group": "meta.k8s.io", "kind": "PatchOptions", "causes": [{"reason": "FieldValueRequired", "message": "Required value: is required for apply patch", "field": "fieldManager"}]}),
            );
            e
        });
    };
    let text = String::from_utf8_lossy(&call.body);
    let config: Value = serde_saphyr::from_str(&text)
        .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))?;
    if !config.is_object() {
        return Err(ApiError::bad_request(
            "error decoding YAML: expected an object",
        ));
    }
    let api_version = config
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or("");
    let kind = config.get("kind").and_then(Value::as_str).unwrap_or("");
    if api_version != resource.api_version() || kind != resource.kind {
        let (g, v) = match api_version.split_once('/') {
            Some((g, v)) => (g, v),
            None => ("", api_version),
        };
        return Err(ApiError::bad_request(format!(
            "invalid object type: {g}/{v}, Kind={kind}"
        )));
    }
    if let Some(config_name) = meta_str(&config, "name")
        && config_name != name
    {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({config_name}) does not match the name on the URL ({name})"
        )));
    }
    let ns = if resource.namespaced {
        namespace.unwrap_or("")
    } else {
        ""
    };
    check_namespace(state, resource, namespace, name, true)?;
    let mut unknown = Vec::new();
    with_schema(resource, |schema| {
        undeclared(&config, schema, "", &mut unknown)
    });
    if let Some(first) = unknown.first() {
        let gv = if resource.group.is_empty() {
            format!("/{}", resource.version)
        } else {
            resource.api_version()
        };
        let key = if ns.is_empty() {
            name.to_string()
        } else {
            format!("{ns}/{name}")
        };
        return Err(ApiError::internal(format!(
            "failed to create typed patch object ({key}; {gv}, Kind={}): {first}: field not declared in schema",
            resource.kind
        )));
    }
    let old = stored(state, resource, ns, name);
    let base = old.clone().unwrap_or_else(|| {
        let mut metadata = Map::new();
        metadata.insert("name".into(), json!(name));
        if !ns.is_empty() {
            metadata.insert("namespace".into(), json!(ns));
        }
        json!({"apiVersion": resource.api_version(), "kind": resource.kind, "metadata": metadata})
    });
    let mut entries = managed::read(old.as_ref());
    let force = call.q("force").is_some_and(|f| f == "true");
    let custom = resource.custom.is_some();
    let mut merged = with_schema(resource, |schema| {
        let applied = fieldpath::object_set(&config, schema);
        let merged = managed::merge(&base, &config, schema);
        let (changed, _) = fieldpath::compare(&base, &merged, schema, custom);
        let mut conflicts: Vec<(String, String)> = Vec::new();
        for entry in entries.iter_mut() {
            if entry.is(&manager, "Apply", subresource) {
                continue;
            }
            let both = entry.set.intersection(&changed).intersection(&applied);
            if both.is_empty() {
                continue;
            }
            if force {
                entry.set.subtract(&both);
            } else {
                for path in both.paths() {
                    conflicts.push((entry.printed(), path));
                }
            }
        }
        if !conflicts.is_empty() {
            return Err(ApiError::apply_conflict(&conflicts));
        }
        let mut merged = merged;
        let mine = entries
            .iter()
            .position(|e| e.is(&manager, "Apply", subresource));
        if let Some(i) = mine {
            let mut stale = entries[i].set.clone();
            stale.subtract(&applied);
            for (j, other) in entries.iter().enumerate() {
                if j != i {
                    stale.subtract(&other.set);
                }
            }
            if !stale.is_empty() {
                managed::remove(&mut merged, &stale, schema);
            }
            entries[i].set = applied;
        } else {
            entries.push(Entry {
                manager: manager.clone(),
                operation: "Apply".into(),
                api_version: resource.api_version(),
                time: None,
                subresource: subresource.map(str::to_string),
                set: applied,
            });
        }
        Ok(merged)
    })?;
    if let Some(meta) = merged.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("managedFields");
    }
    let op = Op::Apply {
        manager,
        subresource: subresource.map(str::to_string),
        entries,
    };
    write(
        state,
        resource,
        ns,
        name,
        old.as_ref(),
        merged,
        op,
        call.dry_run(),
        false,
    )
}

fn delete(
    state: &mut State,
    resource: &Resource,
    namespace: Option<&str>,
    name: &str,
    call: &Call,
) -> Result<Response, ApiError> {
    let ns = if resource.namespaced {
        namespace.unwrap_or("")
    } else {
        ""
    };
    let options: Value = if call.body.is_empty() {
        json!({})
    } else {
        serde_json::from_slice(&call.body)
            .map_err(|e| ApiError::bad_request(format!("error decoding DeleteOptions: {e}")))?
    };
    let key = resource.storage_key();
    let Some(old) = state.store.get(&key, ns, name).cloned() else {
        return Err(ApiError::not_found(resource, name));
    };
    let uid = meta_str(&old, "uid").unwrap_or("").to_string();
    if let Some(want) = options
        .pointer("/preconditions/uid")
        .and_then(Value::as_str)
        && want != uid
    {
        let mut e = ApiError::conflict(resource, name, "");
        e.message = format!(
            "Operation cannot be fulfilled on {} \"{name}\": the UID in the precondition ({want}) does not match the UID in record ({uid}). The object might have been deleted and then recreated",
            resource.kind
        );
        e.details = Some(json!({"name": name, "kind": resource.kind}));
        return Err(e);
    }
    if let Some(want) = options
        .pointer("/preconditions/resourceVersion")
        .and_then(Value::as_str)
        && Some(want) != meta_str(&old, "resourceVersion")
    {
        let mut e = ApiError::conflict(resource, name, "");
        e.message = format!(
            "Operation cannot be fulfilled on {} \"{name}\": the ResourceVersion in the precondition ({want}) does not match the ResourceVersion in record ({}). The object might have been modified",
            resource.kind,
            meta_str(&old, "resourceVersion").unwrap_or("")
        );
        e.details = Some(json!({"name": name, "kind": resource.kind}));
        return Err(e);
    }
    let policy = call.q("propagationPolicy").map(str::to_string).or_else(|| {
        options
            .get("propagationPolicy")
            .and_then(Value::as_str)
            .map(str::to_string)
    });
    let mut finalizers: Vec<Value> = old
        .pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if policy.as_deref() == Some("Foreground") && !finalizers.contains(&json!("foregroundDeletion"))
    {
        finalizers.push(json!("foregroundDeletion"));
    }
    if policy.as_deref() == Some("Orphan") && !finalizers.contains(&json!("orphan")) {
        finalizers.push(json!("orphan"));
    }
    let is_crd =
        resource.group == "apiextensions.k8s.io" && resource.plural == "customresourcedefinitions";
    if is_crd && old.pointer("/metadata/deletionTimestamp").is_none() {
        return delete_crd(state, resource, name, old, call);
    }
    let is_namespace = resource.group.is_empty() && resource.kind == "Namespace";
    if !finalizers.is_empty() || is_namespace {
        if old.pointer("/metadata/deletionTimestamp").is_some() {
            return Ok(json_response(200, &old));
        }
        let mut new = old.clone();
        set_meta(&mut new, "deletionTimestamp", json!(now()));
        if is_namespace {
            if let Some(map) = new.as_object_mut() {
                map.insert("status".into(), json!({"phase": "Terminating"}));
            }
        } else {
            set_meta(&mut new, "deletionGracePeriodSeconds", json!(0));
            set_meta(&mut new, "finalizers", Value::Array(finalizers));
        }
        if call.dry_run() {
            return Ok(json_response(200, &new));
        }
        let stored = state.store.put(&key, ns, name, new, EventType::Modified);
        return Ok(json_response(200, &stored));
    }
    if !call.dry_run() {
        state.store.remove(&key, ns, name);
        if resource.group == "apiextensions.k8s.io"
            && resource.plural == "customresourcedefinitions"
        {
            crd::unregister(state, &old);
        }
    }
    let mut details = Map::new();
    details.insert("name".into(), json!(name));
    if !resource.group.is_empty() {
        details.insert("group".into(), json!(resource.group));
    }
    details.insert("kind".into(), json!(resource.plural));
    details.insert("uid".into(), json!(uid));
    if resource.group == "apiextensions.k8s.io" || resource.custom.is_some() {
        // These stores answer with the object itself.
        return Ok(json_response(200, &old));
    }
    Ok(json_response(
        200,
        &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}),
    ))
}

/// Deleting a CRD: the registry marks it Terminating behind the `customresourcecleanup`
/// finalizer; the cleanup (its objects, then the finalizer) follows at once, as the
/// apiextensions controller would do shortly after.
fn delete_crd(
    state: &mut State,
    resource: &Resource,
    name: &str,
    old: Value,
    call: &Call,
) -> Result<Response, ApiError> {
    let key = resource.storage_key();
    let mut new = old.clone();
    set_meta(&mut new, "deletionTimestamp", json!(now()));
    let mut finalizers: Vec<Value> = old
        .pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let cleanup = json!("customresourcecleanup.apiextensions.k8s.io");
    if !finalizers.contains(&cleanup) {
        finalizers.push(cleanup);
    }
    set_meta(&mut new, "finalizers", Value::Array(finalizers));
    if let Some(conditions) = new
        .pointer_mut("/status/conditions")
        .and_then(Value::as_array_mut)
    {
        conditions.push(json!({"type": "Terminating", "status": "True", "lastTransitionTime": now(), "reason": "InstanceDeletionPending", "message": "CustomResourceDefinition marked for deletion; CustomResource deletion will begin soon"}));
    }
    if call.dry_run() {
        return Ok(json_response(200, &new));
    }
    let stored = state.store.put(&key, "", name, new, EventType::Modified);
    crd::unregister(state, &stored);
    state.store.remove(&key, "", name);
    Ok(json_response(200, &stored))
}

fn delete_collection(
    state: &mut State,
    resource: &Resource,
    namespace: Option<&str>,
    call: &Call,
) -> Result<Response, ApiError> {
    let filter = filter_of(call)?;
    let names: Vec<(String, String)> = state
        .store
        .list(&resource.storage_key(), namespace)
        .into_iter()
        .filter(|o| filter.matches(o))
        .map(|o| {
            (
                meta_str(o, "namespace").unwrap_or("").to_string(),
                meta_str(o, "name").unwrap_or("").to_string(),
            )
        })
        .collect();
    let mut items = Vec::new();
    for (ns, name) in names {
        let ns_opt = if ns.is_empty() {
            None
        } else {
            Some(ns.as_str())
        };
        if delete(state, resource, ns_opt, &name, call).is_ok()
            && let Some(o) = state.store.get(&resource.storage_key(), &ns, &name)
        {
            items.push(o.clone());
        }
    }
    Ok(json_response(
        200,
        &json!({"kind": format!("{}List", resource.kind), "apiVersion": resource.api_version(), "metadata": {"resourceVersion": state.store.rv().to_string()}, "items": items}),
    ))
}
