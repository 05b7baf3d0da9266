//! `configMapGenerator` and `secretGenerator`: ConfigMaps and Secrets from literals, files
//! and env files, and the content hash kustomize appends to their names.

use base64::Engine;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::kustomization::{Behavior, Generator, GeneratorOptions, Kustomization};
use super::load::Files;
use super::resource::Resource;
use crate::{Error, Object, Origin};

/// A generated object with how it combines with an existing one.
pub(crate) struct Generated {
    pub resource: Resource,
    pub behavior: Behavior,
}

/// Runs one generator of the kustomization in `dir`.
pub(crate) fn generate(
    files: Files<'_>,
    dir: &str,
    k: &Kustomization,
    g: &Generator,
    field: &str,
    secret: bool,
) -> Result<Generated, Error> {
    let err = |reason: String| Error::Render {
        message: format!("{}: field '{field}' {reason}", k.file),
    };
    if g.name.is_empty() {
        return Err(err("needs a name".into()));
    }
    let mut pairs: Vec<(String, Vec<u8>)> = Vec::new();
    let mut add = |key: String, value: Vec<u8>| -> Result<(), Error> {
        if pairs.iter().any(|(k, _)| *k == key) {
            return Err(err(format!("has the key '{key}' more than once")));
        }
        pairs.push((key, value));
        Ok(())
    };
    for env in &g.envs {
        let (_, text) = files.read_text(dir, env, "env file").map_err(err)?;
        for (i, line) in text.lines().enumerate() {
            let line = if i == 0 {
                line.trim_start_matches('\u{feff}')
            } else {
                line
            };
            let line = line.trim_start();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (key, value) = line.split_once('=').unwrap_or((line, ""));
            if !is_env_var_name(key) {
                return Err(err(format!(
                    "env file '{env}' line {}: '{key}' is not a valid environment variable name",
                    i + 1
                )));
            }
            add(key.to_string(), value.as_bytes().to_vec())?;
        }
    }
    for literal in &g.literals {
        let Some((key, value)) = literal.split_once('=') else {
            return Err(err(format!("literal '{literal}' must be KEY=VALUE")));
        };
        add(key.to_string(), unquote(value).as_bytes().to_vec())?;
    }
    for file in &g.files {
        let (key, path) = match file.split_once('=') {
            Some((key, path)) => {
                if key.is_empty() {
                    return Err(err(format!("file source '{file}' has an empty key")));
                }
                (key.to_string(), path)
            }
            None => (
                file.rsplit('/').next().unwrap_or(file).to_string(),
                file.as_str(),
            ),
        };
        add(key, files.read(dir, path, "file").map_err(err)?.1)?;
    }

    let options = merge_options(&k.generator_options, &g.options);
    let mut meta = Map::new();
    meta.insert("name".into(), Value::String(g.name.clone()));
    if let Some(ns) = &g.namespace {
        meta.insert("namespace".into(), Value::String(ns.clone()));
    }
    if !options.labels.is_empty() {
        meta.insert("labels".into(), Value::Object(options.labels.clone()));
    }
    if !options.annotations.is_empty() {
        meta.insert(
            "annotations".into(),
            Value::Object(options.annotations.clone()),
        );
    }
    let mut obj = Map::new();
    obj.insert("apiVersion".into(), Value::String("v1".into()));
    obj.insert(
        "kind".into(),
        Value::String(if secret { "Secret" } else { "ConfigMap" }.into()),
    );
    obj.insert("metadata".into(), Value::Object(meta));
    let mut data = Map::new();
    let mut binary = Map::new();
    for (key, value) in pairs {
        if secret {
            data.insert(key, Value::String(wrapped_base64(&value)));
        } else {
            match String::from_utf8(value) {
                Ok(s) => {
                    data.insert(key, Value::String(s));
                }
                Err(e) => {
                    binary.insert(key, Value::String(wrapped_base64(e.as_bytes())));
                }
            }
        }
    }
    // kustomize always writes a Secret's data, even empty, and a ConfigMap's only when set.
    if secret || !data.is_empty() {
        obj.insert("data".into(), Value::Object(data));
    }
    if !binary.is_empty() {
        obj.insert("binaryData".into(), Value::Object(binary));
    }
    if secret {
        let t = g
            .secret_type
            .clone()
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| "Opaque".into());
        obj.insert("type".into(), Value::String(t));
    }
    if options.immutable == Some(true) {
        obj.insert("immutable".into(), Value::Bool(true));
    }
    let object = Object::from_value(Value::Object(obj))?;
    let mut resource = Resource::new(
        object,
        Origin {
            file: k.file.clone(),
            document: 0,
            line: 1,
        },
    );
    resource.hash = options.disable_name_suffix_hash != Some(true);
    Ok(Generated {
        resource,
        behavior: g.behavior,
    })
}

/// Base64 as kustomize writes generated data: lines of 70 characters, each ending in a
/// newline once there is more than one line's worth.
fn wrapped_base64(bytes: &[u8]) -> String {
    const LINE: usize = 70;
    let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
    if encoded.len() < LINE {
        return encoded;
    }
    let mut out = String::with_capacity(encoded.len() + encoded.len() / LINE + 1);
    for chunk in encoded.as_bytes().chunks(LINE) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out
}

fn merge_options(global: &GeneratorOptions, own: &GeneratorOptions) -> GeneratorOptions {
    let mut out = global.clone();
    for (k, v) in &own.labels {
        out.labels.insert(k.clone(), v.clone());
    }
    for (k, v) in &own.annotations {
        out.annotations.insert(k.clone(), v.clone());
    }
    // kustomize ORs the flags: a generator cannot undo the kustomization's choice.
    out.disable_name_suffix_hash = Some(
        global.disable_name_suffix_hash == Some(true) || own.disable_name_suffix_hash == Some(true),
    );
    out.immutable = Some(global.immutable == Some(true) || own.immutable == Some(true));
    out
}

fn unquote(v: &str) -> &str {
    for q in ['"', '\''] {
        if v.len() >= 2 && v.starts_with(q) && v.ends_with(q) {
            return &v[1..v.len() - 1];
        }
    }
    v
}

fn is_env_var_name(key: &str) -> bool {
    !key.is_empty()
        && !key.starts_with(|c: char| c.is_ascii_digit())
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Merges a generated object into an existing one (`behavior: merge`) or replaces it
/// (`behavior: replace`), keeping the existing object's name, namespace and history.
pub(crate) fn combine(existing: &mut Resource, mut new: Resource, behavior: Behavior) {
    let old_meta = existing.obj.as_map().get("metadata").cloned();
    for field in ["labels", "annotations"] {
        let mut merged = old_meta
            .as_ref()
            .and_then(|m| m.get(field))
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        if let Some(Value::Object(m)) = new.obj.as_map().get("metadata").and_then(|m| m.get(field))
        {
            for (k, v) in m {
                merged.insert(k.clone(), v.clone());
            }
        }
        if !merged.is_empty() {
            new.metadata_mut()
                .insert(field.into(), Value::Object(merged));
        }
    }
    if behavior == Behavior::Merge {
        for field in ["data", "binaryData"] {
            let mut merged = existing
                .obj
                .as_map()
                .get(field)
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            if let Some(Value::Object(m)) = new.obj.as_map().get(field) {
                for (k, v) in m {
                    merged.insert(k.clone(), v.clone());
                }
            }
            if !merged.is_empty() {
                new.obj
                    .as_map_mut()
                    .insert(field.into(), Value::Object(merged));
            }
        }
    }
    let name = existing.name().to_string();
    let namespace = existing.namespace().to_string();
    new.metadata_mut()
        .insert("name".into(), Value::String(name));
    new.obj.set_namespace(&namespace);
    new.previous_names = existing.previous_names.clone();
    new.previous_namespaces = existing.previous_namespaces.clone();
    new.prefixes = existing.prefixes.clone();
    new.suffixes = existing.suffixes.clone();
    new.name_recorded = existing.name_recorded;
    new.hash = existing.hash && new.hash;
    new.origin = existing.origin.clone();
    *existing = new;
}

/// kustomize's content hash of a ConfigMap or Secret: the first ten hex digits of the
/// SHA-256 of a JSON encoding of its kind, data (and type), with some digits replaced by
/// letters so that the suffix never reads as a number.
pub(crate) fn hash(obj: &Object) -> String {
    let map = obj.as_map();
    // A missing field hashes as an empty string, as kustomize's lookup reports it.
    let field = |k: &str| map.get(k).cloned().unwrap_or(Value::String(String::new()));
    let mut m: Vec<(&str, Value)> = vec![
        ("kind", Value::String(obj.kind().into())),
        // kustomize's hasher looks the name up under a key it never stores, so the name
        // always hashes as empty.
        ("name", Value::String(String::new())),
        ("data", field("data")),
    ];
    if obj.kind() == "Secret" {
        m.push(("type", field("type")));
        if let Some(v) = map.get("stringData").filter(|v| v.is_object()) {
            m.push(("stringData", v.clone()));
        }
    } else if let Some(v) = map.get("binaryData").filter(|v| v.is_object()) {
        m.push(("binaryData", v.clone()));
    }
    m.sort_by(|a, b| a.0.cmp(b.0));
    let mut json = String::from("{");
    for (i, (k, v)) in m.iter().enumerate() {
        if i > 0 {
            json.push(',');
        }
        go_json(&Value::String((*k).into()), &mut json);
        json.push(':');
        go_json(v, &mut json);
    }
    json.push('}');
    let digest = Sha256::digest(json.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    hex.chars()
        .take(10)
        .map(|c| match c {
            '0' => 'g',
            '1' => 'h',
            '3' => 'k',
            'a' => 'm',
            'e' => 't',
            c => c,
        })
        .collect()
}

/// Go's `encoding/json` output: sorted keys, HTML characters escaped.
fn go_json(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                go_json(&Value::String(k.clone()), out);
                out.push(':');
                go_json(&m[k], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                go_json(item, out);
            }
            out.push(']');
        }
        Value::String(s) => {
            out.push('"');
            for c in s.chars() {
                match c {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    '\t' => out.push_str("\\t"),
                    '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                        out.push_str(&format!("\\u{:04x}", u32::from(c)));
                    }
                    c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
                    c => out.push(c),
                }
            }
            out.push('"');
        }
        other => out.push_str(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_base64_is_wrapped_at_70() {
        assert_eq!(wrapped_base64(b"abc"), "YWJj");
        let long = wrapped_base64(&[0u8; 60]);
        assert_eq!(long.lines().map(str::len).collect::<Vec<_>>(), [70, 10]);
        assert!(long.ends_with('\n'));
    }

    #[test]
    fn hash_matches_kustomize() {
        let cm = Object::from_value(serde_json::json!({
            "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"},
            "data": {"a": "b"}}))
        .unwrap();
        assert_eq!(hash(&cm), "4h2mbtbbt6");
    }
}
