//! `replacements`: copy a field of one object (the source) into fields of others (the
//! targets), whole or as one part of a delimited string.

use serde_json::{Map, Value};

use super::kustomization::{self, Kustomization, ReplacementEntry, Selector};
use super::load::Files;
use super::resource::Resource;
use super::{decode, patch};
use crate::Error;

/// One `replacements` entry.
#[derive(Clone, Debug, Default)]
pub(crate) struct Replacement {
    pub source: Source,
    pub targets: Vec<Target>,
}

/// Where the value comes from.
#[derive(Clone, Debug, Default)]
pub(crate) struct Source {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub name: String,
    pub namespace: String,
    pub field_path: String,
    pub options: Options,
}

/// Where the value goes.
#[derive(Clone, Debug, Default)]
pub(crate) struct Target {
    pub select: Selector,
    pub reject: Vec<Selector>,
    pub field_paths: Vec<String>,
    pub options: Options,
}

/// `options` of a source or target.
#[derive(Clone, Debug, Default)]
pub(crate) struct Options {
    pub delimiter: String,
    pub index: i64,
    pub create: bool,
}

/// Runs the kustomization's replacements over `resources`.
pub(crate) fn apply(
    files: Files<'_>,
    dir: &str,
    k: &Kustomization,
    resources: &mut [Resource],
) -> Result<(), Error> {
    let mut all = Vec::new();
    for (i, entry) in k.replacements.iter().enumerate() {
        let field = format!("replacements[{i}]");
        match entry {
            ReplacementEntry::Inline(r) => all.push((field, r.clone())),
            ReplacementEntry::Path(path) => {
                let err = |reason: String| Error::Render {
                    message: format!("{}: field '{field}.path' {reason}", k.file),
                };
                let (full, text) = files.read_text(dir, path, "file").map_err(err)?;
                // kustomize reads only the file's first document.
                if let Some((value, _)) = decode::documents(&full, &text)?.into_iter().next() {
                    for r in kustomization::replacements_file(&full, "replacements", &value)? {
                        all.push((field.clone(), r));
                    }
                }
            }
        }
    }
    for (field, r) in &all {
        let err = |reason: String| Error::Render {
            message: format!("{}: field '{field}' {reason}", k.file),
        };
        let value = source_value(&r.source, resources).map_err(&err)?;
        for (t, target) in r.targets.iter().enumerate() {
            let selected = patch::select_by_any_id(
                k,
                &format!("{field}.targets[{t}].select"),
                &exact(&target.select),
                resources,
            )?;
            let mut rejected = std::collections::HashSet::new();
            for (j, reject) in target.reject.iter().enumerate() {
                rejected.extend(patch::select_by_any_id(
                    k,
                    &format!("{field}.targets[{t}].reject[{j}]"),
                    &exact(reject),
                    resources,
                )?);
            }
            for idx in selected.into_iter().filter(|i| !rejected.contains(i)) {
                let res = &mut resources[idx];
                let described = res.describe();
                let mut obj = Value::Object(std::mem::take(res.obj.as_map_mut()));
                let mut result = Ok(());
                for path in &target.field_paths {
                    result = set_path(&mut obj, &segments(path), &value, &target.options).map_err(
                        |reason| {
                            err(format!(
                                "{reason} \"{path}\" in replacement target {described}"
                            ))
                        },
                    );
                    if result.is_err() {
                        break;
                    }
                }
                if let Value::Object(m) = obj {
                    *res.obj.as_map_mut() = m;
                }
                result?;
                res.writes += target.field_paths.len();
            }
        }
    }
    Ok(())
}

/// Replacement targets name objects exactly, unlike patch targets' regular expressions.
fn exact(s: &Selector) -> Selector {
    let quote = |v: &str| {
        if v.is_empty() {
            String::new()
        } else {
            regex::escape(v)
        }
    };
    Selector {
        name: quote(&s.name),
        namespace: quote(&s.namespace),
        ..s.clone()
    }
}

fn source_value(s: &Source, resources: &[Resource]) -> Result<Value, String> {
    let matches: Vec<&Resource> = resources
        .iter()
        .filter(|r| {
            (s.group.is_empty() || s.group == r.group())
                && (s.version.is_empty() || s.version == r.version())
                && (s.kind.is_empty() || s.kind == r.kind())
                && (s.name.is_empty() || r.had_name(&s.name))
                && (s.namespace.is_empty()
                    || r.effective_namespace(r.namespace()) == r.effective_namespace(&s.namespace)
                    || r.effective_namespace(r.original_namespace())
                        == r.effective_namespace(&s.namespace))
        })
        .collect();
    let source = match matches.as_slice() {
        [one] => *one,
        [] => return Err(format!("source {}/{} not found", s.kind, s.name)),
        many => {
            return Err(format!(
                "source {}/{} matches several objects: {}",
                s.kind,
                s.name,
                many.iter()
                    .map(|r| r.describe())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    };
    let path = if s.field_path.is_empty() {
        "metadata.name"
    } else {
        &s.field_path
    };
    let obj = source.obj.to_value();
    let mut found = Vec::new();
    collect(&obj, &source_segments(path), &mut found);
    let Some(value) = found.into_iter().next() else {
        return Err(format!(
            "source field \"{path}\" not found in {}",
            source.describe()
        ));
    };
    if s.options.delimiter.is_empty() {
        return Ok(value);
    }
    let text = scalar_text(&value);
    let parts: Vec<&str> = text.split(s.options.delimiter.as_str()).collect();
    usize::try_from(s.options.index)
        .ok()
        .and_then(|i| parts.get(i))
        .map(|p| Value::String((*p).to_string()))
        .ok_or_else(|| {
            format!(
                "options.index {} is out of bounds for value {text}",
                s.options.index
            )
        })
}

/// A field path split at dots outside brackets: `a.[k=v].b`, `[example.com/key]`, `*`, `0`,
/// as kustomize's path splitter splits it: a leading dot is dropped (`.metadata.name`) and
/// `\.` is a dot inside a field name.
fn segments(path: &str) -> Vec<String> {
    let path = path.strip_prefix('.').unwrap_or(path);
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut depth = 0;
    let mut chars = path.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            '\\' if depth == 0 && chars.peek() == Some(&'.') => {
                cur.push('.');
                chars.next();
                continue;
            }
            '.' if depth == 0 => {
                out.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    out.push(cur);
    out
}

/// A source's field path: kustomize looks it up with surrounding blanks trimmed from each
/// segment and empty segments skipped (`metadata..name` is `metadata.name`), which target
/// paths are not.
fn source_segments(path: &str) -> Vec<String> {
    segments(path)
        .into_iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

enum Step<'a> {
    Key(&'a str),
    Match(&'a str, &'a str),
    Index(usize),
    All,
}

fn step(segment: &str) -> Step<'_> {
    if segment == "*" {
        return Step::All;
    }
    if let Some(inner) = segment.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
        return match inner.split_once('=') {
            Some((k, v)) => Step::Match(k, v),
            None => Step::Key(inner),
        };
    }
    match segment.parse::<usize>() {
        Ok(i) => Step::Index(i),
        Err(_) => Step::Key(segment),
    }
}

fn collect(value: &Value, path: &[String], out: &mut Vec<Value>) {
    let Some((first, rest)) = path.split_first() else {
        out.push(value.clone());
        return;
    };
    match (step(first), value) {
        (Step::Key(k), Value::Object(m)) => {
            if let Some(v) = m.get(k) {
                collect(v, rest, out);
            }
        }
        (Step::Match(k, want), Value::Array(items)) => {
            for item in items.iter().filter(|i| matches_element(i, k, want)) {
                collect(item, rest, out);
            }
        }
        (Step::Index(i), Value::Array(items)) => {
            if let Some(item) = items.get(i) {
                collect(item, rest, out);
            }
        }
        (Step::All, Value::Array(items)) => {
            for item in items {
                collect(item, rest, out);
            }
        }
        _ => {}
    }
}

fn matches_element(item: &Value, key: &str, want: &str) -> bool {
    item.get(key).is_some_and(|v| scalar_text(v) == want)
}

/// Sets the field at `path`; errors with kustomize's wording when it is missing and may
/// not be created.
fn set_path(
    value: &mut Value,
    path: &[String],
    new: &Value,
    options: &Options,
) -> Result<(), String> {
    let Some((first, rest)) = path.split_first() else {
        return Ok(());
    };
    let missing = || Err("unable to find field".to_string());
    let container_for = |rest: &[String]| match rest.first().map(|s| step(s)) {
        Some(Step::Index(_) | Step::Match(..) | Step::All) => Value::Array(Vec::new()),
        _ => Value::Object(Map::new()),
    };
    match (step(first), value) {
        (Step::Key(k), Value::Object(m)) => {
            if rest.is_empty() {
                match m.get_mut(k) {
                    Some(existing) => *existing = assign(Some(existing), new, options)?,
                    None if options.create => {
                        m.insert(k.to_string(), assign(None, new, options)?);
                    }
                    None => return missing(),
                }
                return Ok(());
            }
            if !m.contains_key(k) || m.get(k).is_some_and(Value::is_null) {
                if !options.create {
                    return missing();
                }
                m.insert(k.to_string(), container_for(rest));
            }
            match m.get_mut(k) {
                Some(next) => set_path(next, rest, new, options),
                None => missing(),
            }
        }
        (Step::Match(k, want), Value::Array(items)) => {
            let mut hit = false;
            for item in items.iter_mut().filter(|i| matches_element(i, k, want)) {
                hit = true;
                set_path(item, rest, new, options)?;
            }
            if !hit {
                if !options.create {
                    return missing();
                }
                let mut m = Map::new();
                m.insert(k.to_string(), Value::String(want.to_string()));
                let mut item = Value::Object(m);
                set_path(&mut item, rest, new, options)?;
                items.push(item);
            }
            Ok(())
        }
        (Step::Index(i), Value::Array(items)) => {
            if i == items.len() && options.create {
                items.push(container_for(rest));
            }
            match items.get_mut(i) {
                Some(item) if rest.is_empty() => {
                    *item = assign(Some(item), new, options)?;
                    Ok(())
                }
                Some(item) => set_path(item, rest, new, options),
                None => missing(),
            }
        }
        (Step::All, Value::Array(items)) => {
            for item in items.iter_mut() {
                if rest.is_empty() {
                    *item = assign(Some(item), new, options)?;
                } else {
                    set_path(item, rest, new, options)?;
                }
            }
            Ok(())
        }
        _ => missing(),
    }
}

/// The value a target field gets: a scalar keeps the target's type when the field exists
/// and is typed from its text when created; maps and lists are copied. With a delimiter, a
/// created field starts as an empty scalar, as kustomize creates it, which the value's part
/// then fills.
fn assign(existing: Option<&Value>, new: &Value, options: &Options) -> Result<Value, String> {
    let mut new = new.clone();
    if !options.delimiter.is_empty() {
        let text = match existing {
            None => String::new(),
            Some(current) if !current.is_object() && !current.is_array() => scalar_text(current),
            Some(_) => {
                return Err(
                    "delimiter option can only be used with scalar nodes, cannot set field".into(),
                );
            }
        };
        let mut parts: Vec<String> = text
            .split(options.delimiter.as_str())
            .map(str::to_string)
            .collect();
        let v = scalar_text(&new);
        match usize::try_from(options.index) {
            Err(_) => parts.insert(0, v),
            Ok(i) if i >= parts.len() => parts.push(v),
            Ok(i) => parts[i] = v,
        }
        new = Value::String(parts.join(&options.delimiter));
    }
    if new.is_object() || new.is_array() {
        return Ok(new);
    }
    let text = scalar_text(&new);
    Ok(match existing {
        Some(Value::String(_)) => Value::String(text),
        Some(Value::Number(_)) => infer(&text)
            .filter(Value::is_number)
            .unwrap_or(Value::String(text)),
        Some(Value::Bool(_)) => infer(&text)
            .filter(Value::is_boolean)
            .unwrap_or(Value::String(text)),
        _ => infer(&text).unwrap_or(Value::String(text)),
    })
}

/// The type YAML 1.2 gives a plain scalar's text (as kyaml reads a created field).
fn infer(text: &str) -> Option<Value> {
    match text {
        "true" | "True" | "TRUE" => return Some(Value::Bool(true)),
        "false" | "False" | "FALSE" => return Some(Value::Bool(false)),
        "" | "~" | "null" | "Null" | "NULL" => return Some(Value::Null),
        _ => {}
    }
    if let Ok(i) = text.parse::<i64>() {
        return Some(Value::from(i));
    }
    if text.bytes().any(|b| b.is_ascii_digit())
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+'))
        && let Ok(f) = text.parse::<f64>()
    {
        return serde_json::Number::from_f64(f).map(Value::Number);
    }
    Some(Value::String(text.to_string()))
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_paths_split_outside_brackets() {
        assert_eq!(
            segments("spec.containers.[name=a.b].image"),
            ["spec", "containers", "[name=a.b]", "image"]
        );
        assert_eq!(
            segments("metadata.annotations.[example.com/x]"),
            ["metadata", "annotations", "[example.com/x]"]
        );
        assert_eq!(segments(".metadata.name"), ["metadata", "name"]);
        assert_eq!(segments(r"data.a\.b. c"), ["data", "a.b", " c"]);
        assert_eq!(source_segments(".data. c..d"), ["data", "c", "d"]);
    }

    #[test]
    fn scalars_keep_the_target_type_or_are_inferred() {
        let o = Options::default();
        assert_eq!(
            assign(Some(&Value::from("x")), &Value::from(7), &o).unwrap(),
            Value::from("7")
        );
        assert_eq!(
            assign(Some(&Value::from(1)), &Value::from("5432"), &o).unwrap(),
            Value::from(5432)
        );
        assert_eq!(
            assign(None, &Value::from("5432"), &o).unwrap(),
            Value::from(5432)
        );
        assert_eq!(
            assign(None, &Value::from("yes"), &o).unwrap(),
            Value::from("yes")
        );
    }
}
