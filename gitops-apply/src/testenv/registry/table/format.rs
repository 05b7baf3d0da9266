//! The formatting helpers the printers share, as k8s.io/apimachinery and the printers package
//! define them: `HumanDuration`, label and label-selector strings, container cells.

use serde_json::{Map, Value};

/// The moment a Table is printed, for the ages and durations its cells show.
#[derive(Clone, Copy)]
pub(crate) struct Clock {
    now: i128,
}

impl Clock {
    pub(crate) fn now() -> Self {
        Self {
            now: jiff::Timestamp::now().as_nanosecond(),
        }
    }

    /// The current time in nanoseconds since the epoch.
    pub(crate) fn now_nanos(&self) -> i128 {
        self.now
    }

    /// `translateTimestampSince`: the time since a timestamp, `<unknown>` without one.
    pub(crate) fn since(&self, timestamp: Option<&Value>) -> String {
        match timestamp.and_then(parse_time) {
            Some(then) => human_duration(self.now - then),
            None => "<unknown>".into(),
        }
    }

    /// `translateTimestampUntil`-like helper for two timestamps: the duration between them.
    pub(crate) fn between(&self, from: Option<&Value>, to: Option<&Value>) -> Option<String> {
        let from = from.and_then(parse_time)?;
        let to = to.and_then(parse_time)?;
        Some(human_duration(to - from))
    }
}

/// A timestamp in nanoseconds since the epoch; `None` for a missing, zero or malformed one.
pub(crate) fn parse_time(value: &Value) -> Option<i128> {
    let text = value.as_str().filter(|t| !t.is_empty())?;
    let parsed = text.parse::<jiff::Timestamp>().ok()?;
    // Go's zero time (0001-01-01T00:00:00Z) prints as "<unknown>".
    (parsed.as_second() != -62_135_596_800).then(|| parsed.as_nanosecond())
}

pub(crate) use gitops_core::schedule::human_duration;

/// The string at a JSON pointer, or "".
pub(crate) fn text<'a>(value: &'a Value, pointer: &str) -> &'a str {
    value.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

/// The string at a JSON pointer, if set (a Go `*string`).
pub(crate) fn opt_text<'a>(value: &'a Value, pointer: &str) -> Option<&'a str> {
    value.pointer(pointer).and_then(Value::as_str)
}

/// The integer at a JSON pointer, or 0.
pub(crate) fn int(value: &Value, pointer: &str) -> i64 {
    value.pointer(pointer).and_then(Value::as_i64).unwrap_or(0)
}

/// The boolean at a JSON pointer, if set.
pub(crate) fn flag(value: &Value, pointer: &str) -> Option<bool> {
    value.pointer(pointer).and_then(Value::as_bool)
}

/// The list at a JSON pointer, or an empty one.
pub(crate) fn list<'a>(value: &'a Value, pointer: &str) -> &'a [Value] {
    value
        .pointer(pointer)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// The map at a JSON pointer, if set.
pub(crate) fn map<'a>(value: &'a Value, pointer: &str) -> Option<&'a Map<String, Value>> {
    value.pointer(pointer).and_then(Value::as_object)
}

/// The number of entries of the map at a JSON pointer.
pub(crate) fn map_len(value: &Value, pointer: &str) -> i64 {
    map(value, pointer).map_or(0, |m| m.len() as i64)
}

/// A scalar as Go's `%v` prints it (strings bare, numbers and booleans as JSON writes them).
pub(crate) fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// `intstr.IntOrString.String()`.
pub(crate) fn int_or_string(value: &Value) -> String {
    scalar(value)
}

/// `resource.Quantity.String()` of a stored quantity; the zero quantity is "0".
pub(crate) fn quantity(value: Option<&Value>) -> String {
    match value {
        Some(Value::Null) | None => "0".into(),
        Some(v) => scalar(v),
    }
}

/// `printBoolPtr`.
pub(crate) fn bool_ptr(value: Option<bool>) -> String {
    match value {
        Some(true) => "True".into(),
        Some(false) => "False".into(),
        None => "<unset>".into(),
    }
}

/// `labels.FormatLabels`: sorted `key=value` pairs, `<none>` when empty.
pub(crate) fn format_labels(labels: Option<&Map<String, Value>>) -> String {
    let mut pairs: Vec<String> = labels
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{k}={}", scalar(v)))
        .collect();
    pairs.sort();
    if pairs.is_empty() {
        "<none>".into()
    } else {
        pairs.join(",")
    }
}

fn valid_label_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
}

fn valid_label_key(key: &str) -> bool {
    match key.split_once('/') {
        Some((prefix, name)) => {
            !prefix.is_empty()
                && prefix.len() <= 253
                && prefix.split('.').all(|part| {
                    !part.is_empty()
                        && part
                            .chars()
                            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                        && !part.starts_with('-')
                        && !part.ends_with('-')
                })
                && valid_label_name(name)
        }
        None => valid_label_name(key),
    }
}

fn valid_label_value(value: &str) -> bool {
    value.is_empty() || valid_label_name(value)
}

/// `metav1.LabelSelectorAsSelector(selector).String()`: `None` when the selector does not
/// convert. A missing selector (labels.Nothing) and an empty one (labels.Everything) are both "".
pub(crate) fn selector_string(selector: Option<&Value>) -> Option<String> {
    let Some(selector) = selector.filter(|s| s.is_object()) else {
        return Some(String::new());
    };
    let mut requirements: Vec<(String, String)> = Vec::new();
    for (key, value) in map(selector, "/matchLabels").into_iter().flatten() {
        let value = scalar(value);
        if !valid_label_key(key) || !valid_label_value(&value) {
            return None;
        }
        requirements.push((key.clone(), format!("{key}={value}")));
    }
    for expression in list(selector, "/matchExpressions") {
        let key = text(expression, "/key");
        let mut values: Vec<String> = list(expression, "/values").iter().map(scalar).collect();
        if !valid_label_key(key) || !values.iter().all(|v| valid_label_value(v)) {
            return None;
        }
        let rendered = match text(expression, "/operator") {
            op @ ("In" | "NotIn") => {
                if values.is_empty() {
                    return None;
                }
                values.sort();
                values.dedup();
                let word = if op == "In" { "in" } else { "notin" };
                format!("{key} {word} ({})", values.join(","))
            }
            "Exists" if values.is_empty() => key.to_string(),
            "DoesNotExist" if values.is_empty() => format!("!{key}"),
            _ => return None,
        };
        requirements.push((key.to_string(), rendered));
    }
    requirements.sort_by(|a, b| a.0.cmp(&b.0));
    Some(
        requirements
            .into_iter()
            .map(|(_, r)| r)
            .collect::<Vec<_>>()
            .join(","),
    )
}

/// `metav1.FormatLabelSelector`: `<error>` for a selector that does not convert, `<none>` for
/// one that selects everything or nothing.
pub(crate) fn format_label_selector(selector: Option<&Value>) -> String {
    match selector_string(selector) {
        None => "<error>".into(),
        Some(s) if s.is_empty() => "<none>".into(),
        Some(s) => s,
    }
}

/// The generated `(*metav1.LabelSelector).String()`, as Go's `%v` prints a selector.
pub(crate) fn label_selector_go_string(selector: &Value) -> String {
    let mut keys: Vec<(&String, &Value)> = map(selector, "/matchLabels")
        .into_iter()
        .flatten()
        .collect();
    keys.sort_by(|a, b| a.0.cmp(b.0));
    let labels: String = keys
        .iter()
        .map(|(k, v)| format!("{k}: {},", scalar(v)))
        .collect();
    let expressions: String = list(selector, "/matchExpressions")
        .iter()
        .map(|e| {
            let values: Vec<String> = list(e, "/values").iter().map(scalar).collect();
            format!(
                "LabelSelectorRequirement{{Key:{},Operator:{},Values:[{}],}},",
                text(e, "/key"),
                text(e, "/operator"),
                values.join(" ")
            )
        })
        .collect();
    format!(
        "&LabelSelector{{MatchLabels:map[string]string{{{labels}}},MatchExpressions:[]LabelSelectorRequirement{{{expressions}}},}}"
    )
}

/// `layoutContainerCells`: container names and images, comma-separated.
pub(crate) fn container_cells(containers: &[Value]) -> (String, String) {
    let names: Vec<&str> = containers.iter().map(|c| text(c, "/name")).collect();
    let images: Vec<&str> = containers.iter().map(|c| text(c, "/image")).collect();
    (names.join(","), images.join(","))
}

/// `listWithMoreString`.
pub(crate) fn list_with_more(list: &[String], more: bool, count: usize, max: usize) -> String {
    let joined = list.join(",");
    if more {
        return format!("{joined} + {} more...", count.saturating_sub(max));
    }
    if joined.is_empty() {
        "<unset>".into()
    } else {
        joined
    }
}

/// A load-balancer status as `loadBalancerStatusStringer` prints it for wide output: the
/// ingress points' IPs or hostnames, sorted and unique.
pub(crate) fn load_balancer(status: &Value) -> String {
    let mut points: Vec<String> = list(status, "/ingress")
        .iter()
        .filter_map(|i| {
            let ip = text(i, "/ip");
            let host = text(i, "/hostname");
            if !ip.is_empty() {
                Some(ip.to_string())
            } else if !host.is_empty() {
                Some(host.to_string())
            } else {
                None
            }
        })
        .collect();
    points.sort();
    points.dedup();
    points.join(",")
}

/// `helper.GetAccessModesAsString`.
pub(crate) fn access_modes(modes: &[Value]) -> String {
    let has = |m: &str| modes.iter().any(|v| v.as_str() == Some(m));
    [
        ("ReadWriteOnce", "RWO"),
        ("ReadOnlyMany", "ROX"),
        ("ReadWriteMany", "RWX"),
        ("ReadWriteOncePod", "RWOP"),
    ]
    .iter()
    .filter(|(mode, _)| has(mode))
    .map(|(_, short)| *short)
    .collect::<Vec<_>>()
    .join(",")
}

/// Compact JSON with object keys sorted, as Go's `encoding/json` writes an unstructured value.
pub(crate) fn go_json(value: &Value) -> String {
    match value {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let inner: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{}:{}", Value::String(k.clone()), go_json(&m[k])))
                .collect();
            format!("{{{}}}", inner.join(","))
        }
        Value::Array(a) => format!("[{}]", a.iter().map(go_json).collect::<Vec<_>>().join(",")),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn selectors_print_as_labels_selector_string() {
        let sel = json!({"matchLabels": {"b": "2", "a": "1"},
            "matchExpressions": [{"key": "c", "operator": "In", "values": ["y", "x"]},
                                 {"key": "a", "operator": "Exists"}]});
        assert_eq!(format_label_selector(Some(&sel)), "a=1,a,b=2,c in (x,y)");
        assert_eq!(format_label_selector(Some(&json!({}))), "<none>");
        assert_eq!(format_label_selector(None), "<none>");
        let bad = json!({"matchExpressions": [{"key": "a", "operator": "In"}]});
        assert_eq!(format_label_selector(Some(&bad)), "<error>");
        assert_eq!(
            label_selector_go_string(&json!({"matchLabels": {"a": "1"}})),
            "&LabelSelector{MatchLabels:map[string]string{a: 1,},MatchExpressions:[]LabelSelectorRequirement{},}"
        );
    }

    #[test]
    fn go_json_sorts_keys() {
        assert_eq!(
            go_json(&json!({"port": 1, "extra": {"z": true, "a": [1, 2]}})),
            r#"{"extra":{"a":[1,2],"z":true},"port":1}"#
        );
    }
}
