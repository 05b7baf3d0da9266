//! The name and value formats of `k8s.io/apimachinery/pkg/util/validation`: each check
//! returns the messages the API server prints, empty when the value is valid.

use std::sync::OnceLock;

use regex::Regex;

pub(crate) const SUBDOMAIN: &str =
    r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
pub(crate) const LABEL: &str = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?";
const QUALIFIED_NAME: &str = r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const LABEL_VALUE: &str = r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?";
const CONFIG_KEY: &str = r"[-._a-zA-Z0-9]+";
const WILDCARD_SUBDOMAIN: &str =
    r"\*\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";

fn matches(pattern: &'static str, cache: &'static OnceLock<Option<Regex>>, value: &str) -> bool {
    cache
        .get_or_init(|| Regex::new(&format!("^(?:{pattern})$")).ok())
        .as_ref()
        .is_some_and(|re| re.is_match(value))
}

macro_rules! matcher {
    ($name:ident, $pattern:expr) => {
        fn $name(value: &str) -> bool {
            static CACHE: OnceLock<Option<Regex>> = OnceLock::new();
            matches($pattern, &CACHE, value)
        }
    };
}

matcher!(is_subdomain_format, SUBDOMAIN);
matcher!(is_label_format, LABEL);
matcher!(is_qualified_format, QUALIFIED_NAME);
matcher!(is_label_value_format, LABEL_VALUE);
matcher!(is_config_key_format, CONFIG_KEY);
matcher!(is_wildcard_format, WILDCARD_SUBDOMAIN);

fn too_long(limit: usize) -> String {
    format!("must be no more than {limit} characters")
}

/// `IsDNS1123Subdomain`.
pub(crate) fn dns1123_subdomain(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    if value.len() > 253 {
        out.push(too_long(253));
    }
    if !is_subdomain_format(value) {
        out.push(format!(
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '{SUBDOMAIN}')"
        ));
    }
    out
}

/// `IsDNS1123Label`.
pub(crate) fn dns1123_label(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    if value.len() > 63 {
        out.push(too_long(63));
    }
    if !is_label_format(value) {
        out.push(format!(
            "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '{LABEL}')"
        ));
    }
    out
}

/// `IsWildcardDNS1123Subdomain`.
pub(crate) fn wildcard_subdomain(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    if value.len() > 253 {
        out.push(too_long(253));
    }
    if !is_wildcard_format(value) {
        out.push(format!(
            "a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain, which must consist of lower case alphanumeric characters, '-' or '.' and end with an alphanumeric character (e.g. '*.example.com', regex used for validation is '{WILDCARD_SUBDOMAIN}')"
        ));
    }
    out
}

/// `ValidatePathSegmentName`: what RBAC objects may be named.
pub(crate) fn path_segment(value: &str) -> Vec<String> {
    if value == "." || value == ".." {
        return vec![format!("may not be '{value}'")];
    }
    ["/", "%"]
        .iter()
        .filter(|s| value.contains(**s))
        .map(|s| format!("may not contain '{s}'"))
        .collect()
}

/// `IsQualifiedName`: label keys, annotation keys, finalizers.
pub(crate) fn qualified_name(value: &str) -> Vec<String> {
    let parts: Vec<&str> = value.split('/').collect();
    let name = match parts.as_slice() {
        [name] => *name,
        [prefix, name] => {
            if prefix.is_empty() {
                return vec!["prefix part must be non-empty".into()];
            }
            let prefix_errors: Vec<String> = dns1123_subdomain(prefix)
                .into_iter()
                .map(|m| format!("prefix part {m}"))
                .collect();
            if !prefix_errors.is_empty() {
                return prefix_errors;
            }
            name
        }
        _ => {
            return vec![format!(
                "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '{QUALIFIED_NAME}') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
            )];
        }
    };
    let mut out = Vec::new();
    if name.is_empty() {
        out.push("name part must be non-empty".into());
    } else if name.len() > 63 {
        out.push(format!("name part {}", too_long(63)));
    }
    if !name.is_empty() && !is_qualified_format(name) {
        out.push(format!(
            "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '{QUALIFIED_NAME}')"
        ));
    }
    out
}

/// `IsValidLabelValue`.
pub(crate) fn label_value(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    if value.len() > 63 {
        out.push(too_long(63));
    }
    if !is_label_value_format(value) {
        out.push(format!(
            "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '{LABEL_VALUE}')"
        ));
    }
    out
}

/// `IsConfigMapKey`: keys of ConfigMap and Secret data.
pub(crate) fn config_key(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    if value.len() > 253 {
        out.push(too_long(253));
    }
    if !is_config_key_format(value) {
        out.push(format!(
            "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '{CONFIG_KEY}')"
        ));
    }
    if value == "." {
        out.push("must not be '.'".into());
    } else if value == ".." {
        out.push("must not be '..'".into());
    } else if value.starts_with("..") {
        out.push("must not start with '..'".into());
    }
    out
}

/// `IsValidPortName` (an IANA service name).
pub(crate) fn port_name(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    if value.len() > 15 {
        out.push(too_long(15));
    }
    let allowed = value
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !allowed {
        out.push("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)".into());
    }
    if !value.chars().any(|c| c.is_ascii_lowercase()) {
        out.push("must contain at least one letter (a-z)".into());
    }
    if value.contains("--") {
        out.push("must not contain consecutive hyphens".into());
    }
    if value.starts_with('-') || value.ends_with('-') {
        out.push("must not begin or end with a hyphen".into());
    }
    out
}

/// `IsEnvVarName` as relaxed in recent releases: printable ASCII other than `=`.
pub(crate) fn env_var_name(value: &str) -> Vec<String> {
    let printable = value.chars().all(|c| (' '..='~').contains(&c) && c != '=');
    if value.is_empty() || !printable {
        return vec![
            "a valid environment variable name must consist only of printable ASCII characters other than '='"
                .into(),
        ];
    }
    Vec::new()
}

/// A CIDR such as `10.0.0.0/8` or `2001:db8::/64`.
pub(crate) fn is_cidr(value: &str) -> bool {
    let Some((ip, bits)) = value.split_once('/') else {
        return false;
    };
    let Ok(bits) = bits.parse::<u8>() else {
        return false;
    };
    match ip.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(_)) => bits <= 32,
        Ok(std::net::IpAddr::V6(_)) => bits <= 128,
        Err(_) => false,
    }
}
