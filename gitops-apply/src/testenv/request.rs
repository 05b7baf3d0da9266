//! What a request carries once parsed (its method, query, media types, credentials and
//! body) and the JSON answer every layer shapes its result into.

use std::collections::HashMap;

use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use http::{HeaderValue, Method, StatusCode, header};
use serde_json::Value;

/// The credentials of one request.
#[derive(Clone, Debug, Default)]
pub(crate) struct Credentials {
    pub bearer: Option<String>,
    pub impersonate_user: Option<String>,
    pub impersonate_groups: Vec<String>,
}

/// One parsed request.
pub(crate) struct Call {
    pub method: Method,
    pub query: HashMap<String, String>,
    pub accept: String,
    pub content_type: String,
    pub user_agent: String,
    pub credentials: Credentials,
    pub body: Bytes,
    /// `Warning` headers to answer with.
    pub warnings: std::sync::Mutex<Vec<String>>,
}

impl Call {
    /// A request the server makes of itself (its controllers), as `manager`.
    pub(crate) fn internal(manager: &str) -> Call {
        Call {
            method: Method::POST,
            query: HashMap::new(),
            accept: String::new(),
            content_type: "application/json".into(),
            user_agent: manager.into(),
            credentials: Credentials::default(),
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

    /// Adds a `Warning` header to the answer.
    pub(crate) fn warn(&self, warning: String) {
        if let Ok(mut sink) = self.warnings.lock() {
            sink.push(warning);
        }
    }
}

/// A JSON answer with its status code.
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
