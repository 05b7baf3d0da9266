//! Kubernetes label and field selectors: parsing and matching.
//!
//! One grammar serves the places that select objects: kustomize patch targets
//! (`labelSelector`, `annotationSelector`) and list and watch requests (`labelSelector`,
//! `fieldSelector`); [`Selector::from_label_selector`] turns the structured selectors of
//! workloads (`matchLabels`, `matchExpressions`) into the same form.
//!
//! The label grammar is Kubernetes': requirements separated by commas, each one of `key`,
//! `!key`, `key=value`, `key==value`, `key!=value`, `key in (a,b)`, `key notin (a,b)`,
//! `key>1` and `key<1`. Keys must be qualified names and values label values, as the API server
//! checks them. The field grammar allows only `=`, `==` and `!=`, with `\` escaping a comma,
//! an equals sign or a backslash in a value.
//!
//! ```
//! use gitops_core::selector::Selector;
//! let s = Selector::parse("app=web,tier in (front, back),!canary").unwrap();
//! assert!(s.matches(|k| match k {
//!     "app" => Some("web"),
//!     "tier" => Some("front"),
//!     _ => None,
//! }));
//! assert!(!s.matches(|_| None));
//! assert_eq!(s.to_string(), "app=web,!canary,tier in (back,front)");
//! ```

use std::fmt;

use serde_json::{Map, Value};

use crate::Error;

/// One condition on one key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Requirement {
    /// `key=value` or `key==value`: the key is present with this value.
    Equals(String, String),
    /// `key!=value`: the key is absent or has another value.
    NotEquals(String, String),
    /// `key in (a,b)`: the key is present with one of the values.
    In(String, Vec<String>),
    /// `key notin (a,b)`: the key is absent or has none of the values.
    NotIn(String, Vec<String>),
    /// `key`: the key is present.
    Exists(String),
    /// `!key`: the key is absent.
    DoesNotExist(String),
    /// `key>n`: the key's value is an integer greater than `n`.
    GreaterThan(String, i64),
    /// `key<n`: the key's value is an integer less than `n`.
    LessThan(String, i64),
}

impl Requirement {
    /// The key the requirement is about.
    pub fn key(&self) -> &str {
        match self {
            Requirement::Equals(k, _)
            | Requirement::NotEquals(k, _)
            | Requirement::In(k, _)
            | Requirement::NotIn(k, _)
            | Requirement::Exists(k)
            | Requirement::DoesNotExist(k)
            | Requirement::GreaterThan(k, _)
            | Requirement::LessThan(k, _) => k,
        }
    }

    /// Whether `value`, the key's value or `None` when absent, satisfies the requirement.
    pub fn matches(&self, value: Option<&str>) -> bool {
        match self {
            Requirement::Equals(_, v) => value == Some(v.as_str()),
            Requirement::NotEquals(_, v) => value != Some(v.as_str()),
            Requirement::In(_, vs) => value.is_some_and(|x| vs.iter().any(|v| v == x)),
            Requirement::NotIn(_, vs) => value.is_none_or(|x| !vs.iter().any(|v| v == x)),
            Requirement::Exists(_) => value.is_some(),
            Requirement::DoesNotExist(_) => value.is_none(),
            Requirement::GreaterThan(_, n) => value
                .and_then(|x| x.parse::<i64>().ok())
                .is_some_and(|x| x > *n),
            Requirement::LessThan(_, n) => value
                .and_then(|x| x.parse::<i64>().ok())
                .is_some_and(|x| x < *n),
        }
    }
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Requirement::Equals(k, v) => write!(f, "{k}={v}"),
            Requirement::NotEquals(k, v) => write!(f, "{k}!={v}"),
            Requirement::In(k, vs) => write!(f, "{k} in ({})", vs.join(",")),
            Requirement::NotIn(k, vs) => write!(f, "{k} notin ({})", vs.join(",")),
            Requirement::Exists(k) => write!(f, "{k}"),
            Requirement::DoesNotExist(k) => write!(f, "!{k}"),
            Requirement::GreaterThan(k, n) => write!(f, "{k}>{n}"),
            Requirement::LessThan(k, n) => write!(f, "{k}<{n}"),
        }
    }
}

/// A parsed selector: every requirement must hold. The empty selector matches everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selector {
    requirements: Vec<Requirement>,
}

impl Selector {
    /// The selector that matches everything.
    pub fn everything() -> Self {
        Self::default()
    }

    /// Parses a label selector string such as `app=web,tier in (a,b),!canary`.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let invalid = |reason: String| Error::InvalidSelector {
            selector: text.to_string(),
            reason,
        };
        let tokens = tokenize(text);
        let mut requirements = Vec::new();
        let mut at = 0;
        while at < tokens.len() {
            let (requirement, next) = requirement(&tokens, at).map_err(invalid)?;
            requirements.push(requirement);
            at = next;
            match tokens.get(at) {
                None => {}
                Some(Token::Comma) => {
                    at += 1;
                    if at == tokens.len() {
                        return Err(invalid("expected a key after ','".into()));
                    }
                }
                Some(other) => {
                    return Err(invalid(format!(
                        "found '{other}', expected ',' or the end of the selector"
                    )));
                }
            }
        }
        Ok(Self::sorted(requirements))
    }

    /// Parses a field selector string such as `metadata.name=web,status.phase!=Running`.
    pub fn parse_fields(text: &str) -> Result<Self, Error> {
        let mut requirements = Vec::new();
        for term in split_unescaped(text, ',') {
            if term.trim().is_empty() {
                continue;
            }
            let (key, op, value) = field_term(&term).ok_or_else(|| Error::InvalidSelector {
                selector: text.to_string(),
                reason: format!("'{term}' is not a field requirement (use '=', '==' or '!=')"),
            })?;
            let key = key.trim().to_string();
            let value = unescape(value);
            requirements.push(if op == "!=" {
                Requirement::NotEquals(key, value)
            } else {
                Requirement::Equals(key, value)
            });
        }
        Ok(Self::sorted(requirements))
    }

    /// The selector of a structured `LabelSelector` value (`matchLabels` and
    /// `matchExpressions` with `In`, `NotIn`, `Exists` and `DoesNotExist`).
    pub fn from_label_selector(value: &Value) -> Result<Self, Error> {
        let invalid = |reason: String| Error::InvalidSelector {
            selector: value.to_string(),
            reason,
        };
        let Some(map) = value.as_object() else {
            return Err(invalid("a label selector must be an object".into()));
        };
        let mut requirements = Vec::new();
        if let Some(labels) = map.get("matchLabels").and_then(Value::as_object) {
            for (k, v) in labels {
                let v = v
                    .as_str()
                    .ok_or_else(|| invalid(format!("matchLabels.{k} must be a string")))?;
                check_key(k).map_err(invalid)?;
                check_value(v).map_err(invalid)?;
                requirements.push(Requirement::Equals(k.clone(), v.to_string()));
            }
        }
        let expressions = map.get("matchExpressions").and_then(Value::as_array);
        for (i, e) in expressions.into_iter().flatten().enumerate() {
            let field = |name: &str| e.get(name).and_then(Value::as_str);
            let key = field("key")
                .ok_or_else(|| invalid(format!("matchExpressions[{i}].key is required")))?;
            check_key(key).map_err(invalid)?;
            let values: Vec<String> = e
                .get("values")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect();
            let key = key.to_string();
            let requirement = match field("operator") {
                Some("In") if !values.is_empty() => Requirement::In(key, values),
                Some("NotIn") if !values.is_empty() => Requirement::NotIn(key, values),
                Some("In" | "NotIn") => {
                    return Err(invalid(format!(
                        "matchExpressions[{i}].values must be non-empty for 'In' and 'NotIn'"
                    )));
                }
                Some("Exists") => Requirement::Exists(key),
                Some("DoesNotExist") => Requirement::DoesNotExist(key),
                other => {
                    return Err(invalid(format!(
                        "matchExpressions[{i}].operator '{}' is not one of In, NotIn, Exists, DoesNotExist",
                        other.unwrap_or("")
                    )));
                }
            };
            requirements.push(requirement);
        }
        Ok(Self::sorted(requirements))
    }

    fn sorted(mut requirements: Vec<Requirement>) -> Self {
        requirements.sort_by(|a, b| a.key().cmp(b.key()));
        for r in &mut requirements {
            if let Requirement::In(_, vs) | Requirement::NotIn(_, vs) = r {
                vs.sort();
                vs.dedup();
            }
        }
        Self { requirements }
    }

    /// The requirements, sorted by key.
    pub fn requirements(&self) -> &[Requirement] {
        &self.requirements
    }

    /// Whether the selector has no requirement and so matches everything.
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    /// Whether the values looked up by `get` satisfy every requirement.
    pub fn matches<'a>(&self, get: impl Fn(&str) -> Option<&'a str>) -> bool {
        self.requirements.iter().all(|r| r.matches(get(r.key())))
    }

    /// Whether a `metadata.labels` (or `metadata.annotations`) map satisfies the selector;
    /// `None` is the empty map.
    pub fn matches_map(&self, labels: Option<&Map<String, Value>>) -> bool {
        self.matches(|k| labels.and_then(|l| l.get(k)).and_then(Value::as_str))
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.requirements.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{r}")?;
        }
        Ok(())
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    Word(String),
    Bang,
    Equals,
    DoubleEquals,
    NotEquals,
    Greater,
    Less,
    Open,
    Close,
    Comma,
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Token::Word(w) => w,
            Token::Bang => "!",
            Token::Equals => "=",
            Token::DoubleEquals => "==",
            Token::NotEquals => "!=",
            Token::Greater => ">",
            Token::Less => "<",
            Token::Open => "(",
            Token::Close => ")",
            Token::Comma => ",",
        })
    }
}

fn tokenize(text: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let token = match c {
            c if c.is_whitespace() => continue,
            '!' if chars.peek() == Some(&'=') => {
                chars.next();
                Token::NotEquals
            }
            '!' => Token::Bang,
            '=' if chars.peek() == Some(&'=') => {
                chars.next();
                Token::DoubleEquals
            }
            '=' => Token::Equals,
            '>' => Token::Greater,
            '<' => Token::Less,
            '(' => Token::Open,
            ')' => Token::Close,
            ',' => Token::Comma,
            c => {
                let mut word = String::from(c);
                while let Some(&n) = chars.peek() {
                    if n.is_whitespace() || "!=<>(),".contains(n) {
                        break;
                    }
                    word.push(n);
                    chars.next();
                }
                Token::Word(word)
            }
        };
        tokens.push(token);
    }
    tokens
}

/// Parses one requirement starting at `at`; returns it and the index after it.
fn requirement(tokens: &[Token], at: usize) -> Result<(Requirement, usize), String> {
    let word = |i: usize| match tokens.get(i) {
        Some(Token::Word(w)) => Some(w.clone()),
        _ => None,
    };
    if tokens.get(at) == Some(&Token::Bang) {
        let key = word(at + 1).ok_or("'!' must be followed by a key")?;
        check_key(&key)?;
        return Ok((Requirement::DoesNotExist(key), at + 2));
    }
    let key = word(at).ok_or_else(|| match tokens.get(at) {
        Some(t) => format!("found '{t}', expected a key"),
        None => "expected a key".to_string(),
    })?;
    check_key(&key)?;
    let op = at + 1;
    match tokens.get(op) {
        None | Some(Token::Comma) => Ok((Requirement::Exists(key), op)),
        Some(Token::Equals | Token::DoubleEquals | Token::NotEquals) => {
            // An empty value is allowed: `key=` selects the key with the empty value.
            let (value, next) = match word(op + 1) {
                Some(v) => (v, op + 2),
                None => (String::new(), op + 1),
            };
            check_value(&value)?;
            let r = if tokens[op] == Token::NotEquals {
                Requirement::NotEquals(key, value)
            } else {
                Requirement::Equals(key, value)
            };
            Ok((r, next))
        }
        Some(Token::Greater | Token::Less) => {
            let value = word(op + 1).ok_or("'>' and '<' need an integer value")?;
            let n: i64 = value
                .parse()
                .map_err(|_| format!("'{value}' is not an integer"))?;
            let r = if tokens[op] == Token::Greater {
                Requirement::GreaterThan(key, n)
            } else {
                Requirement::LessThan(key, n)
            };
            Ok((r, op + 2))
        }
        Some(Token::Word(w)) if w == "in" || w == "notin" => {
            if tokens.get(op + 1) != Some(&Token::Open) {
                return Err(format!("'{w}' must be followed by '('"));
            }
            let mut values = Vec::new();
            let mut i = op + 2;
            loop {
                match tokens.get(i) {
                    Some(Token::Word(v)) => {
                        check_value(v)?;
                        values.push(v.clone());
                        i += 1;
                    }
                    Some(Token::Comma | Token::Close) => values.push(String::new()),
                    _ => return Err(format!("unclosed value list after '{w}'")),
                }
                match tokens.get(i) {
                    Some(Token::Comma) => i += 1,
                    Some(Token::Close) => break,
                    _ => return Err(format!("unclosed value list after '{w}'")),
                }
            }
            // As in Kubernetes, `in ()` is the set holding the empty value.
            let r = if w == "in" {
                Requirement::In(key, values)
            } else {
                Requirement::NotIn(key, values)
            };
            Ok((r, i + 1))
        }
        Some(t) => Err(format!(
            "found '{t}' after key '{key}', expected an operator"
        )),
    }
}

/// A qualified name: an optional DNS subdomain prefix and `/`, then a name of at most 63
/// alphanumerics, `-`, `_` or `.`, starting and ending with an alphanumeric.
fn check_key(key: &str) -> Result<(), String> {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    if let Some(p) = prefix {
        let label_ok = |l: &str| {
            !l.is_empty()
                && l.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        };
        if p.is_empty() || p.len() > 253 || !p.split('.').all(label_ok) {
            return Err(format!(
                "key '{key}': prefix part must be a lowercase DNS subdomain"
            ));
        }
    }
    if name.is_empty() || !name_ok(name) {
        return Err(format!(
            "key '{key}': name part must be 63 characters or less, alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric"
        ));
    }
    Ok(())
}

/// A label value: empty, or a name as in [`check_key`].
fn check_value(value: &str) -> Result<(), String> {
    if value.is_empty() || name_ok(value) {
        Ok(())
    } else {
        Err(format!(
            "value '{value}' must be 63 characters or less, alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric"
        ))
    }
}

fn name_ok(s: &str) -> bool {
    let b = s.as_bytes();
    s.len() <= 63
        && b.first().is_some_and(u8::is_ascii_alphanumeric)
        && b.last().is_some_and(u8::is_ascii_alphanumeric)
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

/// Splits on `sep` not preceded by a backslash, keeping the escapes.
fn split_unescaped(text: &str, sep: char) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut escaped = false;
    for c in text.chars() {
        if escaped {
            current.push(c);
            escaped = false;
        } else if c == '\\' {
            current.push(c);
            escaped = true;
        } else if c == sep {
            out.push(std::mem::take(&mut current));
        } else {
            current.push(c);
        }
    }
    out.push(current);
    out
}

/// The key, operator and raw value of a field requirement.
fn field_term(term: &str) -> Option<(&str, &'static str, &str)> {
    let bytes = term.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 1,
            b'!' if bytes.get(i + 1) == Some(&b'=') => {
                return Some((&term[..i], "!=", &term[i + 2..]));
            }
            b'=' if bytes.get(i + 1) == Some(&b'=') => {
                return Some((&term[..i], "==", &term[i + 2..]));
            }
            b'=' => return Some((&term[..i], "=", &term[i + 1..])),
            _ => {}
        }
        i += 1;
    }
    None
}

fn unescape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn labels(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn label_selectors_match_as_kubernetes() {
        let l = labels(json!({"app": "web", "tier": "front", "replicas": "3"}));
        for (sel, want) in [
            ("app=web", true),
            ("app==web,tier=back", false),
            ("app!=db", true),
            ("missing!=x", true),
            ("tier in (front, back)", true),
            ("tier notin (front)", false),
            ("missing notin (front)", true),
            ("app,!missing", true),
            ("missing", false),
            ("replicas>2,replicas<4", true),
            ("app>2", false),
            ("", true),
            ("  ", true),
        ] {
            let s = Selector::parse(sel).unwrap();
            assert_eq!(s.matches_map(Some(&l)), want, "{sel}");
        }
        assert!(Selector::parse("app=").unwrap().matches(|_| Some("")));
        // `in ()` is the set of the empty value, as Kubernetes parses it.
        let empty = Selector::parse("app in ()").unwrap();
        assert!(empty.matches(|_| Some("")));
        assert!(!empty.matches(|_| Some("web")));
    }

    #[test]
    fn bad_label_selectors_are_refused_with_the_reason() {
        for (sel, reason) in [
            ("app=web,", "expected a key"),
            ("app in web", "'in' must be followed by '('"),
            ("app in (a", "unclosed value list after 'in'"),
            ("a b", "found 'b' after key 'a', expected an operator"),
            ("-app", "name part must be"),
            ("app=we b", "found 'b'"),
            (
                "Example.com/app",
                "prefix part must be a lowercase DNS subdomain",
            ),
            ("app>x", "'x' is not an integer"),
        ] {
            let e = Selector::parse(sel).unwrap_err().to_string();
            assert!(e.starts_with(&format!("invalid selector '{sel}': ")), "{e}");
            assert!(e.contains(reason), "{sel}: {e}");
        }
    }

    #[test]
    fn display_is_sorted_and_parses_back() {
        let s = Selector::parse("z=1, a notin (c,b), !m, k").unwrap();
        assert_eq!(s.to_string(), "a notin (b,c),k,!m,z=1");
        assert_eq!(Selector::parse(&s.to_string()).unwrap(), s);
    }

    #[test]
    fn field_selectors_allow_escapes_and_only_equality() {
        let s = Selector::parse_fields(r"metadata.name=a\,b,status.phase!=Running").unwrap();
        assert_eq!(
            s.requirements(),
            [
                Requirement::Equals("metadata.name".into(), "a,b".into()),
                Requirement::NotEquals("status.phase".into(), "Running".into()),
            ]
        );
        let e = Selector::parse_fields("metadata.name")
            .unwrap_err()
            .to_string();
        assert!(e.contains("is not a field requirement"), "{e}");
    }

    #[test]
    fn structured_label_selectors() {
        let s = Selector::from_label_selector(&json!({
            "matchLabels": {"app": "web"},
            "matchExpressions": [
                {"key": "tier", "operator": "In", "values": ["front"]},
                {"key": "canary", "operator": "DoesNotExist"}
            ]
        }))
        .unwrap();
        assert_eq!(s.to_string(), "app=web,!canary,tier in (front)");
        assert!(
            Selector::from_label_selector(&json!({}))
                .unwrap()
                .is_empty()
        );
        let e = Selector::from_label_selector(&json!({
            "matchExpressions": [{"key": "a", "operator": "Gt"}]
        }))
        .unwrap_err()
        .to_string();
        assert!(e.contains("operator 'Gt' is not one of"), "{e}");
    }
}
