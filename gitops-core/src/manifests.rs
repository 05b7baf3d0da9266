//! Multi-document YAML to [`Manifest`]s: each object with the file, document and line it came
//! from.
//!
//! Empty documents (only comments, `---` separators, or `null`) are skipped, as kubectl and
//! kustomize skip them. Every object must carry `apiVersion`, `kind` and `metadata.name`; a
//! `List` (kind `List` or ending in `List` with `items`) is expanded into its items.

use serde_json::Value;

use crate::Error;
use crate::object::{Manifest, Object, Origin};

/// Parses a multi-document YAML file into manifests.
///
/// `file` names the file in errors and origins.
///
/// ```
/// use gitops_core::manifests::parse;
/// let yaml = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\n# nothing\n---\n\
///             apiVersion: v1\nkind: Secret\nmetadata:\n  name: b\n";
/// let manifests = parse("app/objects.yaml", yaml).unwrap();
/// assert_eq!(manifests.len(), 2);
/// assert_eq!(manifests[1].origin.document, 2);
/// assert_eq!(manifests[1].origin.line, 8);
/// ```
pub fn parse(file: &str, text: &str) -> Result<Vec<Manifest>, Error> {
    let mut out = Vec::new();
    for (value, origin) in documents(file, text)? {
        push_objects(value, &origin, false, &mut out)?;
    }
    Ok(out)
}

/// [`parse`] as kustomize reads resources: `apiVersion` may be missing (an empty one is
/// dropped), `kind` and `metadata.name` may not.
pub(crate) fn parse_resources(file: &str, text: &str) -> Result<Vec<Manifest>, Error> {
    let mut out = Vec::new();
    for (document, (line, body)) in split_documents(text).into_iter().enumerate() {
        let origin = Origin {
            file: file.into(),
            document,
            line,
        };
        if let Some(mut value) = parse_document(body, &origin)? {
            annotations_as_text(&mut value, body);
            push_objects(value, &origin, true, &mut out)?;
        }
    }
    Ok(out)
}

/// kustomize reads an object's annotations as strings, each scalar as written (`1.0`, `0x10`,
/// `true`), and prints them so. Null values are left as they are.
fn annotations_as_text(value: &mut Value, body: &str) {
    #[derive(serde::Deserialize, Default)]
    struct Meta {
        #[serde(default)]
        annotations: std::collections::BTreeMap<String, Option<String>>,
    }
    #[derive(serde::Deserialize)]
    struct Doc {
        #[serde(default)]
        metadata: Meta,
    }
    let Some(annotations) = value
        .get_mut("metadata")
        .and_then(|m| m.get_mut("annotations"))
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    if annotations.values().all(|v| v.is_string() || v.is_null()) {
        return;
    }
    let Ok(doc) = serde_saphyr::from_str_with_options::<Doc>(body, options()) else {
        return;
    };
    for (key, v) in annotations.iter_mut() {
        if matches!(v, Value::Bool(_) | Value::Number(_))
            && let Some(Some(text)) = doc.metadata.annotations.get(key)
        {
            *v = Value::String(text.clone());
        }
    }
}

/// The non-empty documents of a YAML stream as JSON values, each with its origin.
pub(crate) fn documents(file: &str, text: &str) -> Result<Vec<(Value, Origin)>, Error> {
    let mut out = Vec::new();
    for (document, (line, body)) in split_documents(text).into_iter().enumerate() {
        let origin = Origin {
            file: file.into(),
            document,
            line,
        };
        if let Some(value) = parse_document(body, &origin)? {
            out.push((value, origin));
        }
    }
    Ok(out)
}

/// Parses one YAML document into a JSON value; `None` for an empty document.
pub fn parse_document(body: &str, origin: &Origin) -> Result<Option<Value>, Error> {
    if body
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
    {
        return Ok(None);
    }
    let mut value: Value =
        serde_saphyr::from_str_with_options(body, options()).map_err(|e| Error::Yaml {
            origin: origin.clone(),
            message: describe_error(&e, origin.line),
        })?;
    unbreak_final_block_scalar(&mut value, body);
    Ok(if value.is_null() { None } else { Some(value) })
}

/// A block scalar (`|`, `>`) that runs to the end of a file without a final line break has
/// no line break to keep: kustomize's YAML reader gives `line1\nline2` for `k: |` followed
/// by `  line1\n  line2` at the end of the file, where this parser gives `line1\nline2\n`.
/// The scalar that runs to the end is found by parsing again with a marker appended: it is
/// the one string the marker lands in, and it is a block scalar when the marker lands
/// before the final line break.
fn unbreak_final_block_scalar(value: &mut Value, body: &str) {
    const MARKER: &str = "\u{f8ff}end";
    if body.ends_with('\n') || !body.contains(['|', '>']) || body.contains(MARKER) {
        return;
    }
    let marked = format!("{body}{MARKER}");
    let Ok(marked) = serde_saphyr::from_str_with_options::<Value>(&marked, options()) else {
        return;
    };
    fn fix(value: &mut Value, marked: &Value) -> bool {
        match (value, marked) {
            (Value::Object(a), Value::Object(b)) => b
                .iter()
                .any(|(k, bv)| a.get_mut(k).is_some_and(|av| fix(av, bv))),
            (Value::Array(a), Value::Array(b)) => a.iter_mut().zip(b).any(|(av, bv)| fix(av, bv)),
            (Value::String(a), Value::String(b)) if b.contains(MARKER) => {
                if let Some(kept) = a.strip_suffix('\n')
                    && b.strip_suffix('\n').and_then(|b| b.strip_suffix(MARKER)) == Some(kept)
                {
                    a.pop();
                }
                true
            }
            _ => false,
        }
    }
    fix(value, &marked);
}

fn options() -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    // CRD bundles are deep and long; the defaults (64, 1024) are for configuration files.
    budget.max_depth = 256;
    budget.max_documents = 1_000_000;
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    options.duplicate_keys = serde_saphyr::DuplicateKeyPolicy::Error;
    // Comments are not kept; emitting them would buffer them while the parser looks ahead,
    // and a long comment block (common in real manifests) exceeds that buffer.
    options.emit_comments = false;
    // As kustomize's kyaml reads manifests: YAML 1.2 booleans (`yes` and `on` stay strings)
    // but Go's integer syntax, so `defaultMode: 0644` is octal 420 and `1_000` is 1000.
    options.strict_booleans = true;
    options.legacy_octal_numbers = true;
    options.underscored_numbers_as_strings = false;
    options
}

/// The paths (map keys and list positions) of the fields of document `document` of `text`
/// written with no value at all (`key:`), as opposed to an explicit `null` or `~`; both read
/// as null, but kustomize's strategic merge keeps only the explicit ones (see
/// `render::smp`). Empty when the document cannot be read.
pub(crate) fn empty_value_paths(text: &str, document: usize) -> Vec<Vec<String>> {
    use libyaml_safer::{EventData, Parser, ScalarStyle};
    enum Level {
        Map { key: Option<String> },
        Seq { next: usize },
    }
    let Some((_, body)) = split_documents(text).into_iter().nth(document) else {
        return Vec::new();
    };
    let mut bytes = body.as_bytes();
    let mut parser = Parser::new();
    parser.set_input_string(&mut bytes);
    let mut levels: Vec<Level> = Vec::new();
    let mut path: Vec<String> = Vec::new();
    let mut out = Vec::new();
    // Where a value event lands: `Some(true)` for a value under the path just pushed.
    fn enter(levels: &mut [Level], path: &mut Vec<String>, key_text: Option<&str>) -> bool {
        match levels.last_mut() {
            Some(Level::Map { key }) => match key.take() {
                None => {
                    *key = Some(key_text.unwrap_or_default().to_string());
                    false
                }
                Some(k) => {
                    path.push(k);
                    true
                }
            },
            Some(Level::Seq { next }) => {
                path.push(next.to_string());
                *next += 1;
                true
            }
            None => false,
        }
    }
    loop {
        let Ok(event) = parser.parse() else {
            return Vec::new();
        };
        match event.data {
            EventData::StreamEnd => break,
            EventData::Scalar {
                value, style, tag, ..
            } => {
                let is_value = enter(&mut levels, &mut path, Some(&value));
                if is_value && value.is_empty() && style == ScalarStyle::Plain && tag.is_none() {
                    out.push(path.clone());
                }
                if is_value {
                    path.pop();
                }
            }
            EventData::Alias { .. } => {
                let is_value = enter(&mut levels, &mut path, None);
                if is_value {
                    path.pop();
                }
            }
            EventData::MappingStart { .. } | EventData::SequenceStart { .. } => {
                let level = match event.data {
                    EventData::MappingStart { .. } => Level::Map { key: None },
                    _ => Level::Seq { next: 0 },
                };
                let is_value = enter(&mut levels, &mut path, None);
                if !is_value && !levels.is_empty() {
                    // A collection as a map key: nothing below it is a field.
                    return out;
                }
                levels.push(level);
            }
            EventData::MappingEnd | EventData::SequenceEnd => {
                levels.pop();
                if !levels.is_empty() {
                    path.pop();
                }
            }
            _ => {}
        }
    }
    out
}

/// The parser's message on one line, with the position made absolute within the file.
pub(crate) fn describe_error(e: &serde_saphyr::Error, first_line: usize) -> String {
    let text = one_line(&e.without_snippet().to_string());
    let text = text.strip_prefix("error: ").unwrap_or(&text).to_string();
    let Some(loc) = e.location() else {
        return text;
    };
    // The parser states the position relative to the document, as a prefix or a suffix.
    let prefix = format!("line {} column {}: ", loc.line(), loc.column());
    let suffix = format!(" at line {}, column {}", loc.line(), loc.column());
    let rest = text.strip_prefix(&prefix).unwrap_or(&text);
    let rest = rest.strip_suffix(&suffix).unwrap_or(rest);
    let line = first_line as u64 + loc.line().saturating_sub(1);
    format!("line {line}, column {}: {rest}", loc.column())
}

fn one_line(message: &str) -> String {
    message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

fn push_objects(
    mut value: Value,
    origin: &Origin,
    no_api_version: bool,
    out: &mut Vec<Manifest>,
) -> Result<(), Error> {
    let is_list = value
        .get("kind")
        .and_then(Value::as_str)
        .is_some_and(|k| k.ends_with("List"))
        && value.get("items").is_some_and(Value::is_array);
    if is_list {
        if let Some(Value::Array(items)) = value.get("items") {
            for item in items {
                push_objects(item.clone(), origin, no_api_version, out)?;
            }
        }
        return Ok(());
    }
    let result = if no_api_version {
        if let Some(m) = value.as_object_mut()
            && m.get("apiVersion").is_some_and(|v| v.as_str() == Some(""))
        {
            m.remove("apiVersion");
        }
        Object::from_value_without_api_version(value)
    } else {
        Object::from_value(value)
    };
    let object = result.map_err(|e| match e {
        Error::InvalidObject {
            object,
            field,
            reason,
            ..
        } => Error::InvalidObject {
            origin: Some(origin.clone()),
            object,
            field,
            reason,
        },
        other => other,
    })?;
    out.push(Manifest {
        object,
        origin: origin.clone(),
    });
    Ok(())
}

/// Splits YAML text into documents at `---` lines, returning each body with the 1-based line
/// where it starts. A document marker at the start of a line cannot occur inside a scalar,
/// so this split is exact.
fn split_documents(text: &str) -> Vec<(usize, &str)> {
    let mut docs = Vec::new();
    let mut start = 0;
    let mut start_line = 1;
    let mut offset = 0;
    for (idx, line) in text.split_inclusive('\n').enumerate() {
        let trimmed = line.trim_end_matches(['\n', '\r']);
        let is_marker = trimmed == "---"
            || trimmed.starts_with("--- ")
            || trimmed.starts_with("---\t")
            || trimmed == "...";
        if is_marker {
            if idx > 0 {
                docs.push((start_line, &text[start..offset]));
            }
            let rest = &trimmed[3..];
            // `--- value` starts a document with content on the marker line.
            if trimmed.starts_with("---")
                && !rest.trim().is_empty()
                && !rest.trim().starts_with('#')
            {
                start = offset + 3;
                start_line = idx + 1;
            } else {
                start = offset + line.len();
                start_line = idx + 2;
            }
        }
        offset += line.len();
    }
    docs.push((start_line, &text[start..]));
    docs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valueless_fields_are_told_from_written_nulls() {
        let text = "a: 1\n---\nkind: X\nmetadata:\n  creationTimestamp: null\n  labels:\nspec:\n  list:\n  - name: x\n    v:\n  - ~\n  - w: ''\n    u:\n";
        assert_eq!(
            empty_value_paths(text, 1),
            vec![
                vec!["metadata".to_string(), "labels".into()],
                vec!["spec".into(), "list".into(), "0".into(), "v".into()],
                vec!["spec".into(), "list".into(), "2".into(), "u".into()],
            ]
        );
        assert!(empty_value_paths(text, 0).is_empty());
    }

    #[test]
    fn block_scalar_at_end_of_file_has_no_final_break() {
        let origin = Origin::default();
        let v = parse_document("a: |\n  x\n  y", &origin).unwrap().unwrap();
        assert_eq!(v["a"], "x\ny");
        let v = parse_document("a: |\n  x\n", &origin).unwrap().unwrap();
        assert_eq!(v["a"], "x\n");
        let v = parse_document("a: \"x\\n\"", &origin).unwrap().unwrap();
        assert_eq!(v["a"], "x\n");
    }

    #[test]
    fn skips_empty_documents_and_keeps_lines() {
        let yaml = "---\n# only a comment\n---\n\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n...\n---\nnull\n";
        let m = parse("x.yaml", yaml).unwrap();
        assert_eq!(m.len(), 1);
        assert_eq!(
            m[0].origin,
            Origin {
                file: "x.yaml".into(),
                document: 2,
                line: 6
            }
        );
    }

    #[test]
    fn malformed_yaml_names_file_and_document() {
        let yaml = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\nkind: [unclosed\n";
        let err = parse("apps/broken.yaml", yaml).unwrap_err();
        assert!(matches!(err, Error::Yaml { .. }));
        let msg = err.to_string();
        assert!(
            msg.starts_with("apps/broken.yaml (document 1, line 6): malformed YAML"),
            "{msg}"
        );
    }

    #[test]
    fn missing_kind_or_name_is_named() {
        let err = parse("a.yaml", "apiVersion: v1\nmetadata:\n  name: x\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "a.yaml (document 0, line 1): x: field 'kind' is required and must be a non-empty string"
        );
        let err = parse(
            "b.yaml",
            "---\napiVersion: v1\nkind: Secret\nmetadata: {}\n",
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "b.yaml (document 0, line 2): Secret: field 'metadata.name' is required and must be a non-empty string"
        );
        let err = parse("c.yaml", "- a\n- b\n").unwrap_err();
        assert!(
            err.to_string().contains("must be a YAML or JSON map"),
            "{err}"
        );
    }

    #[test]
    fn duplicate_keys_are_errors() {
        let err = parse(
            "d.yaml",
            "apiVersion: v1\nkind: A\nkind: B\nmetadata:\n  name: x\n",
        )
        .unwrap_err();
        assert!(matches!(err, Error::Yaml { .. }), "{err}");
    }

    #[test]
    fn lists_are_expanded() {
        let yaml = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: a\n- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: b\n";
        let m = parse("l.yaml", yaml).unwrap();
        assert_eq!(
            m.iter().map(|m| m.object.name()).collect::<Vec<_>>(),
            ["a", "b"]
        );
    }

    #[test]
    fn scalars_keep_yaml_types() {
        let yaml = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  yes: yes\n  n: '1'\nspec:\n  replicas: 3\n  on: true\n  off: off\n";
        let m = parse("t.yaml", yaml).unwrap();
        let v = m[0].object.to_value();
        assert_eq!(v["data"]["yes"], "yes");
        assert_eq!(v["data"]["n"], "1");
        assert_eq!(v["spec"]["replicas"], 3);
        assert_eq!(v["spec"]["on"], true);
        assert_eq!(v["spec"]["off"], "off");
    }
}
