//! Request bodies as the API server decodes them into its Go types: the JSON or YAML
//! envelope, the `apiVersion`/`kind` check, and the typed decode whose failures (a string
//! where an integer goes, a quantity or base64 value that does not parse) are 400s worded as
//! `encoding/json` and the apimachinery decoders word them.

use base64::Engine;
use gitops_core::schema::{Node, Schema};
use serde_json::Value;

use crate::testenv::registry::Resource;
use crate::testenv::registry::validation::quantity;
use crate::testenv::status::ApiError;

/// What `summarizeData` prints of a body that did not decode: JSON objects as text, anything
/// else as hex, both cut at 30 bytes.
pub(crate) fn summarize(body: &[u8]) -> String {
    const MAX: usize = 30;
    let cut = &body[..body.len().min(MAX)];
    let more = if body.len() > MAX { " ..." } else { "" };
    match body.first() {
        None => "<empty>".into(),
        Some(b'{') => format!("{}{more}", String::from_utf8_lossy(cut)),
        Some(_) => {
            let hex: String = cut.iter().map(|b| format!("{b:02x}")).collect();
            format!("{hex}{more}")
        }
    }
}

/// The error of an envelope that is not a JSON object, as the version/kind sniffer words it.
pub(crate) fn not_an_object(value: &Value) -> String {
    let found = match value {
        Value::Array(_) => "array",
        Value::String(_) => "string",
        Value::Number(_) => "number",
        Value::Bool(_) => "bool",
        _ => "null",
    };
    format!(
        "json: cannot unmarshal {found} into Go value of type struct {{ APIVersion string \"json:\\\"apiVersion,omitempty\\\"\"; Kind string \"json:\\\"kind,omitempty\\\"\" }}"
    )
}

/// A YAML body read as `sigs.k8s.io/yaml` reads it: the value (a repeated key keeping its
/// last value) and the strict-decoding complaints about repeated keys
/// (`line 7: key "a" already set in map`), or go-yaml's syntax error (`yaml: line 4: ...`).
pub(crate) fn yaml(text: &str) -> Result<(Value, Vec<String>), String> {
    let mut strict = serde_saphyr::Options::default();
    strict.duplicate_keys = serde_saphyr::DuplicateKeyPolicy::Error;
    match serde_saphyr::from_str_with_options::<Value>(text, strict) {
        Ok(value) => Ok((value, Vec::new())),
        Err(error) => {
            let message = error.to_string();
            let line = line_of(&message);
            if message.contains("duplicate") {
                let mut lenient = serde_saphyr::Options::default();
                lenient.duplicate_keys = serde_saphyr::DuplicateKeyPolicy::LastWins;
                let value = serde_saphyr::from_str_with_options::<Value>(text, lenient)
                    .map_err(|e| go_yaml_syntax(&e.to_string()))?;
                let key = line
                    .and_then(|l| text.lines().nth(l.saturating_sub(1)))
                    .and_then(|l| l.trim().trim_start_matches("- ").split(':').next())
                    .unwrap_or("")
                    .trim()
                    .trim_matches(['"', '\''])
                    .to_string();
                let at = line.map_or(String::new(), |l| format!("line {l}: "));
                Ok((value, vec![format!("{at}key \"{key}\" already set in map")]))
            } else {
                Err(go_yaml_syntax(&message))
            }
        }
    }
}

/// go-yaml's wording of a syntax error the YAML parser reported.
fn go_yaml_syntax(message: &str) -> String {
    let line = line_of(message).unwrap_or(0);
    if message.contains("tab") {
        format!("yaml: line {line}: found character that cannot start any token")
    } else {
        let first = message.lines().next().unwrap_or(message);
        let reason = first.rsplit(": ").next().unwrap_or(first);
        format!("yaml: line {line}: {reason}")
    }
}

fn line_of(message: &str) -> Option<usize> {
    let rest = &message[message.find("line ")? + 5..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// Checks the body's `apiVersion` against the endpoint's.
pub(crate) fn check_api_version(resource: &Resource, value: &Value) -> Result<(), ApiError> {
    let Some(api_version) = value.get("apiVersion").and_then(Value::as_str) else {
        return Ok(());
    };
    let expected = resource.api_version();
    if !api_version.is_empty() && api_version != expected {
        return Err(ApiError::bad_request(format!(
            "the API version in the data ({api_version}) does not match the expected API version ({expected})"
        )));
    }
    Ok(())
}

/// Decodes the body into the kind's Go type: `Err` carries the decoder's message.
pub(crate) fn typed(resource: &Resource, value: &Value) -> Result<(), String> {
    if resource.custom.is_some() {
        return Ok(());
    }
    let Some(root) = Schema::builtin().root(&resource.api_version(), &resource.kind) else {
        return Ok(());
    };
    walk(value, root, &mut Vec::new(), root.type_name())
}

/// Go's name of a definition: `io.k8s.api.apps.v1.DeploymentSpec` → `DeploymentSpec`.
fn go_name(definition: &str) -> &str {
    definition.rsplit('.').next().unwrap_or(definition)
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Array(_) => "array",
        Value::Object(_) => "object",
        Value::String(_) => "string",
        Value::Number(_) => "number",
        Value::Bool(_) => "bool",
        Value::Null => "null",
    }
}

fn walk<'a>(
    value: &Value,
    node: Node<'a>,
    path: &mut Vec<String>,
    owner: Option<&'a str>,
) -> Result<(), String> {
    if value.is_null() {
        return Ok(());
    }
    // The Go struct a field belongs to is the innermost named object type.
    let owner = match node.type_name() {
        Some(name) if node.json_type() == Some("object") => Some(name),
        _ => owner,
    };
    if node.type_name() == Some("io.k8s.apimachinery.pkg.api.resource.Quantity") {
        if !quantity::is_quantity(value) {
            return Err(
                "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
                    .into(),
            );
        }
        return Ok(());
    }
    let mismatch = |go_type: &str| {
        Err(format!(
            "json: cannot unmarshal {} into Go struct field {}.{} of type {go_type}",
            json_kind(value),
            owner.map(go_name).unwrap_or(""),
            path.join("."),
        ))
    };
    match node.json_type() {
        Some("integer") if !value.is_i64() && !value.is_u64() => {
            let go_type = match node.keyword("format").and_then(Value::as_str) {
                Some("int32") => "int32",
                _ => "int64",
            };
            return mismatch(go_type);
        }
        Some("number") if !value.is_number() => return mismatch("float64"),
        Some("boolean") if !value.is_boolean() => return mismatch("bool"),
        Some("string") => {
            let Some(text) = value.as_str() else {
                return mismatch("string");
            };
            if node.keyword("format").and_then(Value::as_str) == Some("byte") {
                base64_offset(text).map_or(Ok(()), |at| {
                    Err(format!("illegal base64 data at input byte {at}"))
                })?;
            }
        }
        Some("array") => {
            let Some(items) = value.as_array() else {
                return Ok(());
            };
            if let Some(item) = node.items() {
                for v in items {
                    walk(v, item, path, owner)?;
                }
            }
        }
        Some("object") => {
            let Some(map) = value.as_object() else {
                return Ok(());
            };
            for (key, v) in map {
                if let Some(field) = node.field(key) {
                    path.push(key.clone());
                    let result = walk(v, field, path, owner);
                    path.pop();
                    result?;
                } else if let Some(values) = node.values() {
                    // Map values report the map's own path.
                    walk(v, values, path, owner)?;
                }
            }
        }
        _ => {}
    }
    Ok(())
}

/// Where standard base64 decoding fails, as Go's `CorruptInputError` reports it.
fn base64_offset(text: &str) -> Option<usize> {
    if base64::engine::general_purpose::STANDARD
        .decode(text)
        .is_ok()
    {
        return None;
    }
    let alphabet = |c: u8| c.is_ascii_alphanumeric() || c == b'+' || c == b'/';
    let bytes = text.as_bytes();
    let position = bytes
        .iter()
        .position(|c| !alphabet(*c) && *c != b'=' && *c != b'\r' && *c != b'\n');
    Some(position.unwrap_or(bytes.len()))
}
