//! Flux's post-build variable substitution (`spec.postBuild`), as kustomize-controller runs
//! it after `kustomize build`: each rendered object is printed as YAML, `${var}` expressions
//! in the text are replaced, and the text is parsed again.
//!
//! This module does no IO: the reconciler (or the command line) reads the `substituteFrom`
//! ConfigMaps and Secrets and hands them to [`variables`], which merges them with the inline
//! `substitute` map the way Flux does; [`apply`] then substitutes the objects.
//!
//! Supported expressions (the subset of bash Flux's `envsubst` implements): `${var}`,
//! `${var:=default}`, `${var:-default}`, `${var=default}`, `${var-default}`, `${#var}`,
//! `${var:pos}`, `${var:pos:len}`, `${var/from/to}`, `${var//from/to}`, `${var#prefix}`,
//! `${var##prefix}`, `${var%suffix}`, `${var%%suffix}`, `${var^}`, `${var^^}`, `${var,}`,
//! `${var,,}`. `$${var}` prints `${var}`; a bare `$var` is left alone, as in Flux.
//!
//! ```
//! use std::collections::BTreeMap;
//! use gitops_core::{manifests, substitute};
//! let objects = manifests::parse("cm.yaml",
//!     "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  env: ${cluster_env:=dev}\n  region: ${region}\n").unwrap();
//! let vars = BTreeMap::from([("region".to_string(), "eu-west-1".to_string())]);
//! let out = substitute::apply(objects, &vars, &substitute::Options::default()).unwrap();
//! assert_eq!(out[0].object.str_at(&["data", "env"]), Some("dev"));
//! assert_eq!(out[0].object.str_at(&["data", "region"]), Some("eu-west-1"));
//! ```

use std::collections::BTreeMap;

use base64::Engine as _;
use serde_json::Value;

use crate::api::PostBuild;
use crate::{Error, Manifest, Object, manifests, yaml};

/// The label or annotation that turns substitution off for one object, when set to exactly
/// [`DISABLED`].
pub const SUBSTITUTE_KEY: &str = "kustomize.toolkit.fluxcd.io/substitute";
/// The value of [`SUBSTITUTE_KEY`] that turns substitution off.
pub const DISABLED: &str = "disabled";
/// The pattern variable names must match, as Flux prints it in its error.
pub const VAR_NAME_PATTERN: &str = "^[_[:alpha:]][_[:alpha:][:digit:]]*$";

/// `spec.postBuild.substituteStrategy`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Strategy {
    /// Substitute only when at least one variable was resolved (Flux's default).
    #[default]
    WithVariables,
    /// Substitute even without variables, so defaults apply and strict mode reports every
    /// undefined variable.
    Always,
}

impl Strategy {
    /// Reads `substituteStrategy`; `None` is the default.
    pub fn parse(value: Option<&str>) -> Result<Self, Error> {
        match value {
            None | Some("") | Some("WithVariables") => Ok(Strategy::WithVariables),
            Some("Always") => Ok(Strategy::Always),
            Some(other) => Err(Error::InvalidSpec {
                object: "Kustomization".into(),
                field: "spec.postBuild.substituteStrategy".into(),
                reason: format!("has unknown value '{other}', expected WithVariables or Always"),
            }),
        }
    }
}

/// How [`apply`] substitutes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    /// Fail on an undefined variable without a default (Flux's `StrictPostBuildSubstitutions`
    /// feature gate, on by default since v1.9); otherwise it becomes the empty string.
    pub strict: bool,
    /// When to substitute at all.
    pub strategy: Strategy,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            strict: true,
            strategy: Strategy::WithVariables,
        }
    }
}

/// The string values of a ConfigMap's `data`, or of a Secret's base64 `data` (decoded) and
/// `stringData`.
pub fn source_values(object: &Object) -> Result<BTreeMap<String, String>, Error> {
    let source = format!("{}/{}", object.kind(), object.name());
    let invalid = |key: &str, reason: &str| Error::SubstituteFrom {
        reference: source.clone(),
        reason: format!("key '{key}' {reason}"),
    };
    let mut out = BTreeMap::new();
    let secret = object.kind() == "Secret";
    if let Some(Value::Object(data)) = object.at(&["data"]) {
        for (k, v) in data {
            let Value::String(s) = v else {
                return Err(invalid(k, "is not a string"));
            };
            let value = if secret {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(s.trim())
                    .map_err(|e| invalid(k, &format!("is not valid base64: {e}")))?;
                String::from_utf8(bytes).map_err(|_| invalid(k, "is not valid UTF-8"))?
            } else {
                s.clone()
            };
            out.insert(k.clone(), value);
        }
    }
    if secret && let Some(Value::Object(data)) = object.at(&["stringData"]) {
        for (k, v) in data {
            let Value::String(s) = v else {
                return Err(invalid(k, "is not a string"));
            };
            out.insert(k.clone(), s.clone());
        }
    }
    Ok(out)
}

/// Merges the variables of `post_build`: the `substituteFrom` sources in order (later ones
/// override earlier ones), then the inline `substitute` map over them, every `\n` removed
/// from the values. `sources[i]` is the object `substituteFrom[i]` names, `None` when it does
/// not exist, which is an error unless the reference is `optional`.
pub fn variables(
    post_build: &PostBuild,
    sources: &[Option<Object>],
) -> Result<BTreeMap<String, String>, Error> {
    let mut vars = BTreeMap::new();
    for (i, reference) in post_build.substitute_from.iter().enumerate() {
        let source = format!("{}/{}", reference.kind, reference.name);
        if reference.kind != "ConfigMap" && reference.kind != "Secret" {
            return Err(Error::SubstituteFrom {
                reference: source,
                reason: "kind must be ConfigMap or Secret".into(),
            });
        }
        match sources.get(i).and_then(Option::as_ref) {
            Some(object) => {
                for (k, v) in source_values(object)? {
                    vars.insert(k, v.replace('\n', ""));
                }
            }
            None if reference.optional => {}
            None => {
                return Err(Error::SubstituteFrom {
                    reason: format!(
                        "{}s \"{}\" not found",
                        reference.kind.to_lowercase(),
                        reference.name
                    ),
                    reference: source,
                });
            }
        }
    }
    for (k, v) in &post_build.substitute {
        vars.insert(k.clone(), v.replace('\n', ""));
    }
    Ok(vars)
}

/// Whether an object opted out of substitution with `kustomize.toolkit.fluxcd.io/substitute:
/// disabled` (compared exactly) as a label or an annotation.
pub fn is_disabled(object: &Object) -> bool {
    object.label(SUBSTITUTE_KEY) == Some(DISABLED)
        || object.annotation(SUBSTITUTE_KEY) == Some(DISABLED)
}

/// Whether `name` is a valid variable name.
pub fn is_valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

/// Substitutes `vars` in each object's YAML text and parses it again. Objects that opted out
/// ([`is_disabled`]) are kept as they are; with [`Strategy::WithVariables`] and no variables
/// nothing is substituted. Errors name the object and the variable.
pub fn apply(
    manifests: Vec<Manifest>,
    vars: &BTreeMap<String, String>,
    options: &Options,
) -> Result<Vec<Manifest>, Error> {
    if vars.is_empty() && options.strategy == Strategy::WithVariables {
        return Ok(manifests);
    }
    let mut out = Vec::with_capacity(manifests.len());
    for m in manifests {
        if is_disabled(&m.object) {
            out.push(m);
            continue;
        }
        let object = m.object.object_ref().to_string();
        let fail = |variable: Option<String>, reason: String| Error::Substitution {
            object: object.clone(),
            variable,
            reason,
        };
        if let Some(bad) = vars.keys().find(|k| !is_valid_name(k)) {
            return Err(fail(
                Some(bad.clone()),
                format!("'{bad}' var name is invalid, must match '{VAR_NAME_PATTERN}'"),
            ));
        }
        let text = yaml::to_string(std::slice::from_ref(&m.object));
        let substituted = eval(&text, vars, options.strict).map_err(|e| {
            fail(
                e.variable,
                format!("variable substitution failed: {}", e.message),
            )
        })?;
        if substituted == text {
            out.push(m);
            continue;
        }
        let value = manifests::parse_document(&substituted, &m.origin)
            .map_err(|e| fail(None, format!("YAMLToJSON: {e}")))?
            .ok_or_else(|| fail(None, "the object is empty after substitution".into()))?;
        let object = Object::from_value(value).map_err(|e| fail(None, e.to_string()))?;
        out.push(Manifest {
            object,
            origin: m.origin,
        });
    }
    Ok(out)
}

/// Why an expression could not be evaluated.
#[derive(Debug, Clone, PartialEq, Eq)]
struct EvalError {
    variable: Option<String>,
    message: String,
}

/// Evaluates the `${...}` expressions of `text`.
fn eval(text: &str, vars: &BTreeMap<String, String>, strict: bool) -> Result<String, EvalError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        if tail.starts_with("$${") {
            // `$${var}` is the escape for a literal `${var}`.
            out.push('$');
            rest = &tail[2..];
            out.push('{');
            rest = &rest[1..];
        } else if let Some(body) = tail.strip_prefix("${") {
            let end = closing_brace(body).ok_or_else(|| EvalError {
                variable: None,
                message: format!(
                    "missing closing brace in '{}'",
                    tail.lines().next().unwrap_or(tail)
                ),
            })?;
            out.push_str(&expression(&body[..end], vars, strict)?);
            rest = &body[end + 1..];
        } else {
            out.push('$');
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// The index of the `}` closing an expression whose body starts `body`, nested `${` counted.
fn closing_brace(body: &str) -> Option<usize> {
    let bytes = body.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'$' if bytes.get(i + 1) == Some(&b'{') => {
                depth += 1;
                i += 1;
            }
            b'}' if depth == 0 => return Some(i),
            b'}' => depth -= 1,
            b'\n' => return None,
            _ => {}
        }
        i += 1;
    }
    None
}

fn expression(
    expr: &str,
    vars: &BTreeMap<String, String>,
    strict: bool,
) -> Result<String, EvalError> {
    let bad = || EvalError {
        variable: None,
        message: format!("bad substitution '${{{expr}}}'"),
    };
    let (length, body) = match expr.strip_prefix('#') {
        Some(b) => (true, b),
        None => (false, expr),
    };
    let name_len = body
        .find(|c: char| !(c == '_' || c.is_ascii_alphanumeric()))
        .unwrap_or(body.len());
    let (name, op) = body.split_at(name_len);
    if !is_valid_name(name) || (length && !op.is_empty()) {
        return Err(bad());
    }
    let value = vars.get(name);
    let not_set = || EvalError {
        variable: Some(name.to_string()),
        message: format!("variable not set (strict mode): \"{name}\""),
    };
    // Operators that supply a default never fail in strict mode.
    for (prefix, when_empty) in [(":=", true), (":-", true), ("=", false), ("-", false)] {
        if let Some(default) = op.strip_prefix(prefix) {
            return match value {
                Some(v) if !(when_empty && v.is_empty()) => Ok(v.clone()),
                _ => eval(default, vars, strict),
            };
        }
    }
    let value = match value {
        Some(v) => v.clone(),
        None if strict => return Err(not_set()),
        None => String::new(),
    };
    if length {
        return Ok(value.chars().count().to_string());
    }
    if op.is_empty() {
        return Ok(value);
    }
    if let Some(spec) = op.strip_prefix(':') {
        return substring(&value, spec).ok_or_else(bad);
    }
    if let Some(spec) = op.strip_prefix('/') {
        let (all, spec) = match spec.strip_prefix('/') {
            Some(s) => (true, s),
            None => (false, spec),
        };
        let (from, to) = spec.split_once('/').unwrap_or((spec, ""));
        let to = eval(to, vars, strict)?;
        if from.is_empty() {
            return Ok(value);
        }
        return Ok(if all {
            value.replace(from, &to)
        } else {
            value.replacen(from, &to, 1)
        });
    }
    let arg = |p: &str| eval(&op[p.len()..], vars, strict);
    Ok(match op {
        "^" => upper_first(&value),
        "^^" => value.to_uppercase(),
        "," => lower_first(&value),
        ",," => value.to_lowercase(),
        _ if op.starts_with("##") || op.starts_with('#') => {
            let p = if op.starts_with("##") { "##" } else { "#" };
            let prefix = arg(p)?;
            value
                .strip_prefix(prefix.as_str())
                .unwrap_or(&value)
                .to_string()
        }
        _ if op.starts_with("%%") || op.starts_with('%') => {
            let p = if op.starts_with("%%") { "%%" } else { "%" };
            let suffix = arg(p)?;
            value
                .strip_suffix(suffix.as_str())
                .unwrap_or(&value)
                .to_string()
        }
        _ => return Err(bad()),
    })
}

fn substring(value: &str, spec: &str) -> Option<String> {
    let chars: Vec<char> = value.chars().collect();
    let len = chars.len() as i64;
    let (pos, count) = match spec.split_once(':') {
        Some((p, c)) => (p, Some(c)),
        None => (spec, None),
    };
    let pos: i64 = pos.trim().parse().ok()?;
    let start = if pos < 0 {
        (len + pos).max(0)
    } else {
        pos.min(len)
    };
    let end = match count {
        Some(c) => {
            let c: i64 = c.trim().parse().ok()?;
            if c < 0 {
                (len + c).max(start)
            } else {
                (start + c).min(len)
            }
        }
        None => len,
    };
    Some(chars[start as usize..end as usize].iter().collect())
}

fn upper_first(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_lowercase().chain(c).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;
