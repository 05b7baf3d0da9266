//! Reading resource and patch files the way kustomize's kyaml reads them: YAML 1.2
//! booleans (`yes` stays a string) but Go's integer syntax, so `0644` is octal 420 and
//! `1_000` is 1000, as a `defaultMode: 0644` must come out of a build.

use serde_json::Value;

use crate::{Error, Manifest, Object, Origin};

fn options() -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    // CRD bundles are deep and long; the defaults (64, 1024) are for configuration files.
    budget.max_depth = 256;
    budget.max_documents = 1_000_000;
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    options.duplicate_keys = serde_saphyr::DuplicateKeyPolicy::Error;
    options.strict_booleans = true;
    options.legacy_octal_numbers = true;
    options.underscored_numbers_as_strings = false;
    options
}

/// Parses one YAML document; `None` when it is empty or `null`.
pub(crate) fn document(body: &str, origin: &Origin) -> Result<Option<Value>, Error> {
    if body
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
    {
        return Ok(None);
    }
    let value: Value =
        serde_saphyr::from_str_with_options(body, options()).map_err(|e| Error::Yaml {
            origin: origin.clone(),
            message: crate::manifests::describe_error(&e, origin.line),
        })?;
    Ok(if value.is_null() { None } else { Some(value) })
}

/// The non-empty documents of a YAML stream, each with its origin.
pub(crate) fn documents(file: &str, text: &str) -> Result<Vec<(Value, Origin)>, Error> {
    let mut out = Vec::new();
    let mut body = String::new();
    let mut index = 0;
    let mut start = 1;
    let mut flush = |body: &str, index: &mut usize, start: usize| -> Result<(), Error> {
        let origin = Origin {
            file: file.into(),
            document: *index,
            line: start,
        };
        *index += 1;
        if let Some(v) = document(body, &origin)? {
            out.push((v, origin));
        }
        Ok(())
    };
    let mut seen_content = false;
    for (line, l) in (1..).zip(text.split_inclusive('\n')) {
        let t = l.trim_end_matches(['\n', '\r']);
        if t == "---" || t.starts_with("--- ") || t.starts_with("---\t") || t == "..." {
            if seen_content || line > 1 {
                flush(&body, &mut index, start)?;
            }
            body.clear();
            seen_content = false;
            start = line + 1;
            // `--- value` starts the next document on the marker's line.
            let rest = t.get(3..).unwrap_or_default().trim();
            if t.starts_with("---") && !rest.is_empty() && !rest.starts_with('#') {
                body.push_str(rest);
                body.push('\n');
                seen_content = true;
                start = line;
            }
        } else {
            seen_content = true;
            body.push_str(l);
        }
    }
    flush(&body, &mut index, start)?;
    Ok(out)
}

/// Parses a resource file into objects, expanding `List`s.
pub(crate) fn resources(file: &str, text: &str) -> Result<Vec<Manifest>, Error> {
    let mut out = Vec::new();
    for (value, origin) in documents(file, text)? {
        push(value, &origin, &mut out)?;
    }
    Ok(out)
}

fn push(value: Value, origin: &Origin, out: &mut Vec<Manifest>) -> Result<(), Error> {
    let is_list = value
        .get("kind")
        .and_then(Value::as_str)
        .is_some_and(|k| k.ends_with("List"))
        && value.get("items").is_some_and(Value::is_array);
    if is_list {
        if let Some(Value::Array(items)) = value.get("items") {
            for item in items {
                push(item.clone(), origin, out)?;
            }
        }
        return Ok(());
    }
    let object = Object::from_value(value).map_err(|e| match e {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_as_kyaml_reads_them() {
        let m = resources(
            "x.yaml",
            "---\napiVersion: v1\nkind: A\nmetadata:\n  name: a\nspec:\n  mode: 0644\n  big: 1_000\n  on: yes\n---\n# empty\n",
        )
        .unwrap();
        assert_eq!(m.len(), 1);
        let v = m[0].object.to_value();
        assert_eq!(v["spec"]["mode"], 420);
        assert_eq!(v["spec"]["big"], 1000);
        assert_eq!(v["spec"]["on"], "yes");
        assert_eq!(m[0].origin.line, 2);
        let inline = documents("y.yaml", "--- {a: 1}\n--- # note\nb: 2\n").unwrap();
        assert_eq!(inline.len(), 2);
        assert_eq!(inline[0].0["a"], 1);
        assert_eq!(
            (inline[1].0["b"].clone(), inline[1].1.line),
            (Value::from(2), 3)
        );
    }
}
