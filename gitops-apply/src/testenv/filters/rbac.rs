//! Authentication by bearer token, impersonation headers, and a minimal RBAC authorizer
//! (Roles, ClusterRoles and their bindings) answering 403 with the real message.
//!
//! A request without credentials is an administrator (`system:masters`), as the recorded
//! exchanges were made.

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use crate::testenv::registry::Resource;
use crate::testenv::request::Credentials;
use crate::testenv::status::ApiError;
use crate::testenv::storage::Store;

/// An authenticated identity.
#[derive(Clone, Debug)]
pub(crate) struct User {
    pub name: String,
    pub groups: Vec<String>,
}

impl User {
    fn admin() -> User {
        User {
            name: "admin".into(),
            groups: vec!["system:masters".into(), "system:authenticated".into()],
        }
    }

    fn named(name: &str, extra: &[String]) -> User {
        let mut groups = vec!["system:authenticated".to_string()];
        if let Some(rest) = name.strip_prefix("system:serviceaccount:")
            && let Some((ns, _)) = rest.split_once(':')
        {
            groups.push("system:serviceaccounts".into());
            groups.push(format!("system:serviceaccounts:{ns}"));
        }
        groups.extend(extra.iter().cloned());
        User {
            name: name.to_string(),
            groups,
        }
    }

    fn is_master(&self) -> bool {
        self.groups.iter().any(|g| g == "system:masters")
    }
}

/// What a request asks to do.
pub(crate) struct Attributes<'a> {
    pub verb: &'a str,
    pub resource: &'a Resource,
    pub subresource: Option<&'a str>,
    pub namespace: Option<&'a str>,
    pub name: Option<&'a str>,
}

impl Attributes<'_> {
    fn resource_path(&self) -> String {
        match self.subresource {
            Some(sub) => format!("{}/{sub}", self.resource.plural),
            None => self.resource.plural.clone(),
        }
    }

    fn scope(&self) -> String {
        match self.namespace {
            Some(ns) => format!("in the namespace \"{ns}\""),
            None => "at the cluster scope".into(),
        }
    }

    fn forbidden(&self, message: String) -> ApiError {
        let mut details = Map::new();
        if let Some(name) = self.name {
            details.insert("name".into(), json!(name));
        }
        if !self.resource.group.is_empty() {
            details.insert("group".into(), json!(self.resource.group));
        }
        details.insert("kind".into(), json!(self.resource.plural));
        let mut e = ApiError::bad_request(message);
        e.code = 403;
        e.reason = Some("Forbidden");
        e.details = Some(Value::Object(details));
        e
    }

    fn subject(&self) -> String {
        match self.name {
            Some(name) => format!("{} \"{name}\"", self.resource.qualified()),
            None => self.resource.qualified(),
        }
    }
}

/// Authenticates, checks impersonation and authorizes one request.
pub(crate) fn check(
    store: &Store,
    tokens: &HashMap<String, (String, Vec<String>)>,
    credentials: &Credentials,
    request: &Attributes<'_>,
) -> Result<(), ApiError> {
    let requester = match &credentials.bearer {
        None => User::admin(),
        Some(token) => match tokens.get(token) {
            Some((name, groups)) => User::named(name, groups),
            None => {
                let mut e = ApiError::bad_request("Unauthorized");
                e.code = 401;
                e.reason = Some("Unauthorized");
                return Err(e);
            }
        },
    };
    let user = match &credentials.impersonate_user {
        None => requester,
        Some(target) => {
            let (resource, group) = if target.starts_with("system:serviceaccount:") {
                ("serviceaccounts", "")
            } else {
                ("users", "")
            };
            if !requester.is_master()
                && !allowed(
                    store,
                    &requester,
                    "impersonate",
                    group,
                    resource,
                    None,
                    Some(target),
                )
            {
                return Err(request.forbidden(format!(
                    "{} is forbidden: User \"{}\" cannot impersonate-on:user-info:{} resource \"{}\" in API group \"{}\" {}",
                    request.subject(),
                    requester.name,
                    request.verb,
                    request.resource_path(),
                    request.resource.group,
                    request.scope()
                )));
            }
            User::named(target, &credentials.impersonate_groups)
        }
    };
    if user.is_master()
        || allowed(
            store,
            &user,
            request.verb,
            &request.resource.group,
            &request.resource_path(),
            request.namespace,
            request.name,
        )
    {
        return Ok(());
    }
    Err(request.forbidden(format!(
        "{} is forbidden: User \"{}\" cannot {} resource \"{}\" in API group \"{}\" {}",
        request.subject(),
        user.name,
        request.verb,
        request.resource_path(),
        request.resource.group,
        request.scope()
    )))
}

fn key(plural: &str) -> (String, String) {
    ("rbac.authorization.k8s.io".to_string(), plural.to_string())
}

fn strings(value: Option<&Value>) -> Vec<&str> {
    value
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

fn subject_matches(subject: &Value, user: &User, binding_ns: &str) -> bool {
    let name = subject.get("name").and_then(Value::as_str).unwrap_or("");
    match subject.get("kind").and_then(Value::as_str) {
        Some("User") => name == user.name,
        Some("Group") => user.groups.iter().any(|g| g == name),
        Some("ServiceAccount") => {
            let ns = subject
                .get("namespace")
                .and_then(Value::as_str)
                .unwrap_or(binding_ns);
            user.name == format!("system:serviceaccount:{ns}:{name}")
        }
        _ => false,
    }
}

fn rule_allows(rule: &Value, verb: &str, group: &str, resource: &str, name: Option<&str>) -> bool {
    let any = |list: Vec<&str>, want: &str| list.iter().any(|x| *x == "*" || *x == want);
    let names = strings(rule.get("resourceNames"));
    any(strings(rule.get("verbs")), verb)
        && any(strings(rule.get("apiGroups")), group)
        && any(strings(rule.get("resources")), resource)
        && (names.is_empty() || name.is_some_and(|n| names.contains(&n)))
}

fn allowed(
    store: &Store,
    user: &User,
    verb: &str,
    group: &str,
    resource: &str,
    namespace: Option<&str>,
    name: Option<&str>,
) -> bool {
    let rules_of = |role_ref: &Value, binding_ns: &str| -> Vec<Value> {
        let role = role_ref.get("name").and_then(Value::as_str).unwrap_or("");
        let found = match role_ref.get("kind").and_then(Value::as_str) {
            Some("ClusterRole") => store.get(&key("clusterroles"), "", role),
            Some("Role") => store.get(&key("roles"), binding_ns, role),
            _ => None,
        };
        found
            .and_then(|r| r.get("rules"))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let mut bindings: Vec<(&Value, String)> = store
        .list(&key("clusterrolebindings"), None)
        .into_iter()
        .map(|b| (b, String::new()))
        .collect();
    if let Some(ns) = namespace {
        bindings.extend(
            store
                .list(&key("rolebindings"), Some(ns))
                .into_iter()
                .map(|b| (b, ns.to_string())),
        );
    }
    bindings.into_iter().any(|(binding, ns)| {
        let subjects = binding
            .get("subjects")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        subjects.iter().any(|s| subject_matches(s, user, &ns))
            && binding.get("roleRef").is_some_and(|role_ref| {
                rules_of(role_ref, &ns)
                    .iter()
                    .any(|rule| rule_allows(rule, verb, group, resource, name))
            })
    })
}
