#![cfg(feature = "testenv")]
#![allow(clippy::expect_used, clippy::unwrap_used)]
//! Fidelity of the testenv API server: replays every exchange recorded from a real
//! kube-apiserver (`tests/fixtures/kube-apiserver`, ours, see its README; its `openapi/` schemas
//! are the identical copies in `gitops-core/schemas/`) against a fresh server per scenario,
//! the top-level scenarios and those of `catalogue/`, and compares status codes, bodies and
//! recorded `Warning` headers modulo the documented placeholders.
//!
//! Prints `fidelity: N/M exchanges match` and fails when an exchange differs unless
//! `tests/fidelity-known-mismatches.txt` lists it with the reason. A listed exchange that now
//! matches fails the test too, so that list only shrinks.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use axum::Router;
use bytes::Bytes;
use gitops_apply::testenv::TestEnv;
use http_body_util::BodyExt;
use regex::Regex;
use serde_json::{Value, json};
use tower::ServiceExt;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/kube-apiserver")
}

/// The exchanges known to differ: `<file> #<index> | <step> | <reason>` per line, `#` comments.
fn known_mismatches() -> HashMap<String, String> {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fidelity-known-mismatches.txt");
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let mut parts = l.splitn(3, " | ");
            let key = parts.next()?.trim().to_string();
            let _step = parts.next()?;
            Some((key, parts.next().unwrap_or("").trim().to_string()))
        })
        .collect()
}

/// Every scenario file: the top-level ones, then `catalogue/`, as paths relative to
/// [`fixtures`].
fn scenarios(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    for sub in ["", "catalogue/"] {
        let Ok(entries) = std::fs::read_dir(dir.join(sub)) else {
            continue;
        };
        let mut files: Vec<String> = entries
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .filter_map(|p| Some(format!("{sub}{}", p.file_name()?.to_str()?)))
            .collect();
        files.sort();
        out.extend(files);
    }
    out
}

/// Placeholder bindings of one scenario.
#[derive(Default)]
struct Bindings {
    values: HashMap<String, String>,
    continue_token: Option<String>,
    fake: u64,
}

impl Bindings {
    fn bind(&mut self, placeholder: &str, value: &str) -> Result<(), String> {
        if let Some(bound) = self.values.get(placeholder) {
            if bound != value {
                return Err(format!("{placeholder} was {bound}, now {value}"));
            }
            return Ok(());
        }
        let kind = placeholder.split(':').next().unwrap_or("");
        if let Some((other, _)) = self
            .values
            .iter()
            .find(|(p, v)| *v == value && p.split(':').next() == Some(kind))
        {
            return Err(format!(
                "{placeholder} is {value}, already bound to {other}"
            ));
        }
        self.values
            .insert(placeholder.to_string(), value.to_string());
        Ok(())
    }

    /// A request value with placeholders replaced by what they stand for.
    fn fill(&mut self, text: &str) -> String {
        let re = placeholder_re();
        let mut out = String::new();
        let mut last = 0;
        for m in re.find_iter(text) {
            out.push_str(&text[last..m.start()]);
            let token = m.as_str();
            let value = if token == "<continue>" {
                self.continue_token.clone().unwrap_or_default()
            } else if let Some(v) = self.values.get(token) {
                v.clone()
            } else {
                // Never seen (a deliberately wrong uid): invent one and remember it.
                self.fake += 1;
                let v = format!("00000000-0000-4000-8000-{:012}", self.fake);
                self.values.insert(token.to_string(), v.clone());
                v
            };
            out.push_str(&value);
            last = m.end();
        }
        out.push_str(&text[last..]);
        out
    }
}

fn placeholder_re() -> Regex {
    Regex::new(r"<(rv:\d+|uid:\d+|time|continue|suffix|ip|age)>").expect("static regex")
}

fn fill_value(value: &Value, b: &mut Bindings) -> Value {
    match value {
        Value::String(s) => Value::String(b.fill(s)),
        Value::Array(a) => Value::Array(a.iter().map(|v| fill_value(v, b)).collect()),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), fill_value(v, b)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn match_string(expected: &str, actual: &str, b: &mut Bindings, path: &str) -> Result<(), String> {
    let re = placeholder_re();
    if !re.is_match(expected) {
        return if expected == actual {
            Ok(())
        } else {
            Err(format!("{path}: expected {expected:?}, got {actual:?}"))
        };
    }
    let mut pattern = String::from("^");
    let mut tokens = Vec::new();
    let mut last = 0;
    for m in re.find_iter(expected) {
        pattern.push_str(&regex::escape(&expected[last..m.start()]));
        let token = m.as_str();
        pattern.push_str(match token {
            "<time>" => "(.+?)",
            "<suffix>" => "([a-z0-9]{5})",
            "<continue>" => "(.+)",
            // The recorder replaced every `clusterIPs` entry and Cluster-IP cell, a headless
            // Service's `None` and an ExternalName Service's `<none>` too.
            "<ip>" => r"([0-9a-f.:]+|None|<none>)",
            "<age>" => r"(\S+)",
            t if t.starts_with("<rv:") => r"(\d+)",
            _ => r"([0-9a-f-]{36})",
        });
        tokens.push(token.to_string());
        last = m.end();
    }
    pattern.push_str(&regex::escape(&expected[last..]));
    pattern.push('$');
    let full = Regex::new(&pattern).map_err(|e| e.to_string())?;
    let Some(caps) = full.captures(actual) else {
        return Err(format!("{path}: expected {expected:?}, got {actual:?}"));
    };
    for (i, token) in tokens.iter().enumerate() {
        let value = caps.get(i + 1).map(|m| m.as_str()).unwrap_or("");
        match token.as_str() {
            "<continue>" => b.continue_token = Some(value.to_string()),
            t if t.starts_with("<rv:") || t.starts_with("<uid:") => {
                b.bind(t, value).map_err(|e| format!("{path}: {e}"))?
            }
            _ => {}
        }
    }
    Ok(())
}

/// An identity for discovery list entries, so that extra entries are allowed.
fn identity(item: &Value) -> Option<String> {
    for key in ["name", "resource", "groupVersion", "subresource"] {
        if let Some(v) = item.get(key).and_then(Value::as_str) {
            return Some(format!("{key}={v}"));
        }
    }
    if let Some(v) = item.pointer("/metadata/name").and_then(Value::as_str) {
        return Some(format!("metadata.name={v}"));
    }
    if let Some(v) = item.get("version").and_then(Value::as_str) {
        return Some(format!("version={v}"));
    }
    item.get("metadata").map(|_| "metadata=core".to_string())
}

fn matches(
    expected: &Value,
    actual: &Value,
    b: &mut Bindings,
    path: &str,
    discovery: bool,
) -> Result<(), String> {
    match (expected, actual) {
        (Value::String(e), Value::String(a)) => match_string(e, a, b, path),
        (Value::Object(e), Value::Object(a)) => {
            for key in e.keys() {
                if !a.contains_key(key) {
                    return Err(format!("{path}.{key}: missing"));
                }
            }
            for key in a.keys() {
                if !e.contains_key(key) {
                    return Err(format!("{path}.{key}: unexpected {}", a[key]));
                }
            }
            for (key, ev) in e {
                matches(ev, &a[key], b, &format!("{path}.{key}"), discovery)?;
            }
            Ok(())
        }
        // Entries of these lists have no order the server keeps (see the fixtures' README).
        (Value::Array(e), Value::Array(a))
            if path.ends_with("managedFields") || path.ends_with("details.causes") =>
        {
            if e.len() != a.len() {
                return Err(format!(
                    "{path}: {} entries expected, got {}: {}",
                    e.len(),
                    a.len(),
                    actual
                ));
            }
            let mut used = vec![false; a.len()];
            for (i, ev) in e.iter().enumerate() {
                let found = (0..a.len()).find(|j| {
                    !used[*j] && {
                        let mut trial = Bindings {
                            values: b.values.clone(),
                            ..Default::default()
                        };
                        matches(ev, &a[*j], &mut trial, path, discovery).is_ok()
                    }
                });
                match found {
                    Some(j) => {
                        used[j] = true;
                        matches(ev, &a[j], b, &format!("{path}[{i}]"), discovery)?;
                    }
                    None => return Err(format!("{path}: no entry matches {ev}; got {actual}")),
                }
            }
            Ok(())
        }
        (Value::Array(e), Value::Array(a)) if discovery => {
            let keyed = e.iter().all(|i| identity(i).is_some()) && !e.is_empty();
            if !keyed {
                if e.len() != a.len() {
                    return Err(format!(
                        "{path}: {} items expected, got {}",
                        e.len(),
                        a.len()
                    ));
                }
                for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                    matches(ev, av, b, &format!("{path}[{i}]"), discovery)?;
                }
                return Ok(());
            }
            for ev in e {
                let id = identity(ev);
                let Some(av) = a.iter().find(|x| identity(x) == id) else {
                    return Err(format!("{path}: missing entry {}", id.unwrap_or_default()));
                };
                matches(
                    ev,
                    av,
                    b,
                    &format!("{path}[{}]", id.unwrap_or_default()),
                    discovery,
                )?;
            }
            Ok(())
        }
        (Value::Array(e), Value::Array(a)) => {
            if e.len() != a.len() {
                return Err(format!(
                    "{path}: {} items expected, got {}: {}",
                    e.len(),
                    a.len(),
                    actual
                ));
            }
            for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                matches(ev, av, b, &format!("{path}[{i}]"), discovery)?;
            }
            Ok(())
        }
        (e, a) if e == a => Ok(()),
        (e, a) => Err(format!("{path}: expected {e}, got {a}")),
    }
}

/// A replayed response: status, `Warning` header texts, body.
type Response = (u16, Vec<String>, Bytes);

async fn send(router: &Router, request: &Value, b: &mut Bindings) -> Result<Response, String> {
    let method = request["method"].as_str().unwrap_or("GET");
    let mut uri = request["path"].as_str().unwrap_or("/").to_string();
    if let Some(query) = request["query"].as_object().filter(|q| !q.is_empty()) {
        let pairs: Vec<String> = query
            .iter()
            .map(|(k, v)| {
                let v = b.fill(v.as_str().unwrap_or(""));
                format!("{}={}", encode(k), encode(&v))
            })
            .collect();
        uri = format!("{uri}?{}", pairs.join("&"));
    }
    let mut builder = http::Request::builder()
        .method(method)
        .uri(uri)
        .header("User-Agent", "Python-urllib/3.12");
    for (k, v) in request["headers"].as_object().into_iter().flatten() {
        builder = builder.header(k.as_str(), v.as_str().unwrap_or(""));
    }
    let body = match &request["body"] {
        Value::Null => String::new(),
        Value::String(s) => b.fill(s),
        other => python_json(&fill_value(other, b)),
    };
    let req = builder
        .body(axum::body::Body::from(body))
        .map_err(|e| e.to_string())?;
    let response = router
        .clone()
        .oneshot(req)
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let warnings = response
        .headers()
        .get_all("warning")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(str::to_string)
        .collect();
    let bytes = response
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok((status, warnings, bytes))
}

/// JSON as the recorder's client sent it (Python's `json.dumps`: `", "` and `": "` between
/// items, non-ASCII escaped), so that a server echoing the body's bytes echoes the same ones.
fn python_json(value: &Value) -> String {
    match value {
        Value::Object(map) => {
            let items: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{}: {}", python_string(k), python_json(v)))
                .collect();
            format!("{{{}}}", items.join(", "))
        }
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(python_json).collect();
            format!("[{}]", items.join(", "))
        }
        Value::String(s) => python_string(s),
        other => other.to_string(),
    }
}

fn python_string(text: &str) -> String {
    let quoted = Value::String(text.to_string()).to_string();
    let mut out = String::with_capacity(quoted.len());
    for c in quoted.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|c| match c {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (c as char).to_string()
            }
            _ => format!("%{c:02X}"),
        })
        .collect()
}

fn parse_body(bytes: &[u8], watch: bool) -> Value {
    let text = String::from_utf8_lossy(bytes);
    if watch {
        return Value::Array(
            text.lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| serde_json::from_str(l).unwrap_or(Value::String(l.to_string())))
                .collect(),
        );
    }
    serde_json::from_slice(bytes).unwrap_or_else(|_| Value::String(text.into_owned()))
}

/// Replays a watch: starts it, performs the changes its expected events show but no recorded
/// step makes, and collects the stream until the server closes it.
async fn watch(
    router: &Router,
    exchange: &Value,
    b: &mut Bindings,
) -> Result<(u16, Vec<String>, Value), String> {
    let request = exchange["request"].clone();
    let mut own = Bindings {
        values: b.values.clone(),
        continue_token: b.continue_token.clone(),
        fake: b.fake,
    };
    let r = router.clone();
    let handle = tokio::spawn(async move {
        let result = send(&r, &request, &mut own).await;
        (result, own)
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let expected = exchange["response"]["body"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    // Events past what history replays immediately need a change made during the watch.
    let path = exchange["request"]["path"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let known: usize = {
        // History is replayed at once; count the expected events whose object already exists
        // in that state by asking the server for a list.
        0
    };
    let _ = known;
    for event in &expected {
        let object = &event["object"];
        let rv = object
            .pointer("/metadata/resourceVersion")
            .and_then(Value::as_str)
            .unwrap_or("");
        if b.values.contains_key(rv) || rv.is_empty() {
            continue;
        }
        let name = object
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("");
        if name.is_empty() || !path.starts_with("/api/v1/namespaces/") {
            continue;
        }
        let target = format!("{path}/{name}");
        match event["type"].as_str() {
            Some("MODIFIED") => {
                let mut patch = serde_json::Map::new();
                for (k, v) in object.as_object().into_iter().flatten() {
                    if !matches!(k.as_str(), "metadata" | "kind" | "apiVersion" | "status") {
                        patch.insert(k.clone(), v.clone());
                    }
                }
                let request = json!({"method": "PATCH", "path": target, "query": {}, "headers": {"Content-Type": "application/merge-patch+json"}, "body": Value::Object(patch)});
                send(router, &request, b).await?;
            }
            Some("DELETED") => {
                let request = json!({"method": "DELETE", "path": target, "query": {}, "headers": {}, "body": null});
                send(router, &request, b).await?;
            }
            _ => {}
        }
    }
    let (result, own) = handle.await.map_err(|e| e.to_string())?;
    b.fake = b.fake.max(own.fake);
    let (status, warnings, bytes) = result?;
    Ok((status, warnings, parse_body(&bytes, true)))
}

async fn replay(file: &str, scenario: &Value) -> Vec<(String, Result<(), String>)> {
    let env = TestEnv::new();
    // The recordings' unprivileged user (see the fixtures' README).
    env.add_token("alice-token", "alice", &[]);
    let router = env.router();
    let mut b = Bindings::default();
    let mut out = Vec::new();
    let discovery = file == "discovery.json";
    let exchanges = scenario["exchanges"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for exchange in &exchanges {
        let step = exchange["step"].as_str().unwrap_or("").to_string();
        let is_watch = exchange["request"]["query"]["watch"] == json!("true");
        // Until a mutation made inside a watch is noticed, wait for background work.
        let result = if is_watch {
            watch(&router, exchange, &mut b).await
        } else {
            send(&router, &exchange["request"], &mut b)
                .await
                .map(|(s, warnings, bytes)| (s, warnings, parse_body(&bytes, false)))
        };
        let verdict = result.and_then(|(status, warnings, body)| {
            let want = exchange["response"]["status"].as_u64().unwrap_or(0) as u16;
            let is_discovery = discovery
                || matches!(
                    body.get("kind").and_then(Value::as_str),
                    Some("APIResourceList" | "APIGroupList" | "APIGroupDiscoveryList")
                );
            let compared = matches(
                &exchange["response"]["body"],
                &body,
                &mut b,
                "body",
                is_discovery,
            );
            let recorded: Option<Vec<String>> = exchange["response"]
                .get("warnings")
                .and_then(Value::as_array)
                .map(|w| {
                    w.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                });
            if status != want {
                Err(format!(
                    "status {status}, expected {want}; body {}",
                    truncate(&body.to_string())
                ))
            } else if let Some(recorded) = recorded.filter(|r| *r != warnings) {
                Err(format!("warnings {warnings:?}, expected {recorded:?}"))
            } else {
                compared.map_err(|e| truncate(&e))
            }
        });
        out.push((step, verdict));
    }
    out
}

fn truncate(text: &str) -> String {
    if text.len() > 1500 {
        format!(
            "{}…",
            &text[..text
                .char_indices()
                .nth(1500)
                .map(|(i, _)| i)
                .unwrap_or(text.len())]
        )
    } else {
        text.to_string()
    }
}

#[tokio::test]
async fn fidelity_against_recorded_kube_apiserver() {
    let dir = fixtures();
    assert!(
        dir.is_dir(),
        "the recorded exchanges are missing: expected them at {}",
        dir.display()
    );
    let known = known_mismatches();
    let (mut total, mut matching) = (0, 0);
    let mut failures = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for file in scenarios(&dir) {
        let text = std::fs::read_to_string(dir.join(&file)).expect("read fixture");
        let scenario: Value = serde_json::from_str(&text).expect("fixture is JSON");
        let results = replay(&file, &scenario).await;
        let ok = results.iter().filter(|(_, r)| r.is_ok()).count();
        println!("fidelity[{file}]: {ok}/{}", results.len());
        total += results.len();
        matching += ok;
        for (index, (step, result)) in results.into_iter().enumerate() {
            let key = format!("{file} #{index}");
            let listed = known.get(&key);
            if listed.is_some() {
                seen.insert(key.clone());
            }
            match (result, listed) {
                (Ok(()), Some(_)) => failures.push(format!(
                    "{key} | {step}: matches now; remove it from tests/fidelity-known-mismatches.txt"
                )),
                (Err(reason), Some(why)) => {
                    println!("  known mismatch {key} | {step}: {why}\n    ({reason})")
                }
                (Err(reason), None) => {
                    println!("  MISMATCH {key} | {step} | {reason}");
                    failures.push(format!("{key} | {step}"));
                }
                (Ok(()), None) => {}
            }
        }
    }
    for key in known.keys().filter(|k| !seen.contains(*k)) {
        failures.push(format!(
            "{key}: listed in tests/fidelity-known-mismatches.txt but not recorded"
        ));
    }
    println!("fidelity: {matching}/{total} exchanges match");
    assert!(
        failures.is_empty(),
        "{} exchanges differ from the recorded kube-apiserver and are not listed as known, or are listed but match:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
