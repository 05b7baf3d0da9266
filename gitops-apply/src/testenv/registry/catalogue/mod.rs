//! The rule catalogue: every validation rule and every default testenv implements for the
//! built-in kinds, each with an example object and the answer Kubernetes gives for it. The
//! entries live in this directory's YAML files; this test runs each one against the rule
//! functions, checks that together they reach every rule site in `registry/validation` and
//! `registry/defaults.rs` (a new rule without an entry fails here, naming its file and line),
//! and generates `docs/testenv.md` from them (`UPDATE_DOCS=1` rewrites it).
//!
//! An entry names its kind as `apiVersion Kind`, and its object as a JSON merge patch over the
//! kind's valid base object (`bases:`), so an entry shows only what its rule is about.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

use crate::testenv::registry::{Resource, builtin, defaults, resource_from_entry, validation};
use crate::testenv::status::{Cause, rule_sites};

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    bases: BTreeMap<String, Value>,
    #[serde(default)]
    validation: Vec<Check>,
    #[serde(default)]
    defaults: Vec<Defaulting>,
}

/// A validation rule: the object (or, with `update`, the change) and the answer.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Check {
    kind: String,
    /// The heading it is listed under when not its kind's (e.g. `metadata`).
    section: Option<String>,
    rule: String,
    #[serde(default)]
    set: Value,
    /// A merge patch turning the object into its update; the answer is then the update's.
    update: Option<Value>,
    /// Each field error as the `Status` message lists it: `field: message`.
    #[serde(default)]
    causes: Vec<String>,
    #[serde(default)]
    warnings: Vec<String>,
}

/// A defaulting rule of one Go type: the object and the fields it must come out with (by
/// JSON pointer; `null` means left unset).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Defaulting {
    #[serde(rename = "type")]
    go_type: String,
    kind: String,
    rule: String,
    #[serde(default)]
    set: Value,
    expect: BTreeMap<String, Value>,
}

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src/testenv/registry/catalogue")
}

fn load() -> File {
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir())
        .map(|entries| entries.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    names.retain(|p| p.extension().is_some_and(|e| e == "yaml"));
    names.sort();
    assert!(!names.is_empty(), "no catalogue files in {:?}", dir());
    let mut all = File::default();
    for path in names {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let file: File =
            serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for (kind, base) in file.bases {
            assert!(
                all.bases.insert(kind.clone(), base).is_none(),
                "{}: base {kind} given twice",
                path.display()
            );
        }
        all.validation.extend(file.validation);
        all.defaults.extend(file.defaults);
    }
    all
}

/// The served built-in resource of `apiVersion Kind`.
fn resource(kind: &str) -> Resource {
    let (api_version, kind) = kind
        .split_once(' ')
        .unwrap_or_else(|| panic!("kind {kind:?} is not `apiVersion Kind`"));
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    for g in &builtin().groups {
        if g.name != group {
            continue;
        }
        for (v, entries) in &g.versions {
            if v != version {
                continue;
            }
            let found = entries.iter().find(|e| {
                e.pointer("/responseKind/kind").and_then(Value::as_str) == Some(kind)
                    && e.get("resource")
                        .and_then(Value::as_str)
                        .is_some_and(|r| !r.contains('/'))
            });
            if let Some(entry) = found {
                return resource_from_entry(group, version, entry);
            }
        }
    }
    panic!("{api_version} {kind} is not served")
}

/// RFC 7386.
fn merge(target: &mut Value, patch: &Value) {
    match patch {
        Value::Object(fields) => {
            if !target.is_object() {
                *target = Value::Object(Default::default());
            }
            if let Value::Object(map) = target {
                for (k, v) in fields {
                    if v.is_null() {
                        map.remove(k);
                    } else {
                        merge(map.entry(k.clone()).or_insert(Value::Null), v);
                    }
                }
            }
        }
        Value::Null => {}
        other => *target = other.clone(),
    }
}

fn object_of(bases: &BTreeMap<String, Value>, kind: &str, set: &Value) -> Value {
    let mut object = bases.get(kind).cloned().unwrap_or_else(
        || serde_json::json!({"metadata": {"name": "example", "namespace": "default"}}),
    );
    merge(&mut object, &expanded(set));
    object
}

/// `${repeat N TEXT}` in a string stands for TEXT written N times, so that a length limit
/// can be shown without a page of letters.
fn expand(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("${repeat ") {
        out.push_str(&rest[..at]);
        let inner = &rest[at + "${repeat ".len()..];
        let Some(end) = inner.find('}') else {
            break;
        };
        let (count, unit) = inner[..end].split_once(' ').unwrap_or(("0", ""));
        out.push_str(&unit.repeat(count.parse().unwrap_or(0)));
        rest = &inner[end + 1..];
    }
    out.push_str(rest);
    out
}

fn expanded(value: &Value) -> Value {
    match value {
        Value::String(text) => Value::String(expand(text)),
        Value::Array(items) => Value::Array(items.iter().map(expanded).collect()),
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (expand(k), expanded(v))).collect())
        }
        other => other.clone(),
    }
}

fn listed(causes: &[Cause]) -> Vec<String> {
    causes
        .iter()
        .map(|c| format!("{}: {}", c.field, c.message))
        .collect()
}

/// A source path from `testenv/` on, however the compiler or the directory walk spelt it.
fn from_testenv(path: &str) -> String {
    let path = path.replace('\\', "/");
    match path.find("testenv/") {
        Some(at) => path[at..].to_string(),
        None => path,
    }
}

/// The rule sites of the sources: lines that create a field error or warning, or set a
/// default. Test modules are not sites.
fn sites() -> BTreeSet<(String, u32)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let registry = root.join("src/testenv/registry");
    let mut files: Vec<PathBuf> = std::fs::read_dir(registry.join("validation"))
        .map(|entries| entries.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "rs") && !p.ends_with("mod.rs"));
    files.push(registry.join("defaults.rs"));
    let call = regex::Regex::new(
        r"Cause::[a-z_]+\(|report\.(invalid|invalids|required|unsupported|one_of|non_negative|warn|push)\(|(^|[^:\w])default\(",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let mut out = BTreeSet::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        let text = text.split("#[cfg(test)]\nmod tests").next().unwrap_or("");
        let relative = from_testenv(&file.to_string_lossy());
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            if code.trim_start().starts_with("fn ") || code.contains(" fn ") {
                continue;
            }
            // `report.push(Cause::…)` is one site: the cause's constructor.
            let bare_push = code.contains("report.push(") && !code.contains("Cause::");
            if call.is_match(code) && !bare_push {
                out.insert((relative.clone(), n as u32 + 1));
            }
        }
    }
    out
}

#[test]
fn every_rule_has_an_entry_and_each_entry_holds() {
    let file = load();
    let mut failures = Vec::new();
    for (kind, base) in &file.bases {
        let report = validation::object(&resource(kind), base);
        if !report.causes.is_empty() {
            failures.push(format!(
                "base {kind} is invalid: {:?}",
                listed(&report.causes)
            ));
        }
    }
    rule_sites::start();
    defaults::defaulter_hits::start();
    for check in &file.validation {
        let resource = resource(&check.kind);
        let object = object_of(&file.bases, &check.kind, &check.set);
        let (causes, warnings) = match &check.update {
            Some(update) => {
                let mut new = object.clone();
                merge(&mut new, &expanded(update));
                (
                    listed(&validation::update(&resource, &object, &new)),
                    vec![],
                )
            }
            None => {
                let report = validation::object(&resource, &object);
                (listed(&report.causes), report.warnings)
            }
        };
        let expected: Vec<String> = check.causes.iter().map(|c| expand(c)).collect();
        let warned: Vec<String> = check.warnings.iter().map(|w| expand(w)).collect();
        if causes != expected || warnings != warned {
            failures.push(format!(
                "{} ({}): expected causes {:?} warnings {:?}, got causes {:?} warnings {:?}",
                check.kind, check.rule, expected, warned, causes, warnings
            ));
        }
    }
    for rule in &file.defaults {
        let resource = resource(&rule.kind);
        let mut object = object_of(&file.bases, &rule.kind, &rule.set);
        defaults::apply_defaults(&resource, &mut object);
        for (pointer, want) in &rule.expect {
            let got = object.pointer(pointer).cloned().unwrap_or(Value::Null);
            if &got != want {
                failures.push(format!(
                    "{} ({}, {}): {pointer} is {got}, expected {want}",
                    rule.go_type, rule.kind, rule.rule
                ));
            }
        }
    }
    let hit: BTreeSet<(String, u32)> = rule_sites::take()
        .into_iter()
        .map(|(file, line)| (from_testenv(&file), line))
        .collect();
    let defaulted = defaults::defaulter_hits::take();
    let sites = sites();
    for (file, line) in sites.difference(&hit) {
        failures.push(format!(
            "{file}:{line}: no catalogue entry reaches this rule"
        ));
    }
    for (file, line) in hit.difference(&sites) {
        if file.starts_with("testenv/registry/validation/")
            || file == "testenv/registry/defaults.rs"
        {
            failures.push(format!(
                "{file}:{line}: a rule site the scan of the sources does not see"
            ));
        }
    }
    for key in defaults::defaulted_types() {
        if !defaulted.contains(key) {
            failures.push(format!("defaulter {key}: no catalogue entry runs it"));
        } else if !file.defaults.iter().any(|d| d.go_type == key) {
            failures.push(format!("defaulter {key}: no entry lists it as its type"));
        }
    }
    if let Some(problem) = check_document(&file) {
        failures.push(problem);
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

fn compact(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        other => format!("`{}`", other.to_string().replace('|', "\\|")),
    }
}

/// The generated part of `docs/testenv.md`.
fn document(file: &File) -> String {
    let mut out = String::new();
    let mut sections: BTreeMap<(u8, String), Vec<&Check>> = BTreeMap::new();
    for check in &file.validation {
        let key = match (&check.section, &check.update) {
            (Some(section), _) => (0, section.clone()),
            (None, Some(_)) => (2, check.kind.clone()),
            (None, None) => (1, check.kind.clone()),
        };
        sections.entry(key).or_default().push(check);
    }
    let _ = writeln!(out, "## Validation\n");
    let mut heading = 0;
    for ((order, name), checks) in &sections {
        if *order == 2 && heading < 2 {
            let _ = writeln!(out, "## Updates\n");
            heading = 2;
        }
        let _ = writeln!(out, "### {name}\n");
        let _ = writeln!(out, "| Rule | Object | Answer |\n|---|---|---|");
        for check in checks {
            let example = check.update.as_ref().unwrap_or(&check.set);
            let mut answer: Vec<String> = check.causes.iter().map(|c| cell(c)).collect();
            answer.extend(
                check
                    .warnings
                    .iter()
                    .map(|w| format!("warning: {}", cell(w))),
            );
            let _ = writeln!(
                out,
                "| {} | {} | {} |",
                cell(&check.rule),
                compact(example),
                answer.join("<br>")
            );
        }
        out.push('\n');
    }
    let _ = writeln!(out, "## Defaults\n");
    let mut by_type: BTreeMap<&str, Vec<&Defaulting>> = BTreeMap::new();
    for rule in &file.defaults {
        by_type.entry(&rule.go_type).or_default().push(rule);
    }
    for (go_type, rules) in by_type {
        let _ = writeln!(out, "### {go_type}\n");
        let _ = writeln!(
            out,
            "| Rule | Object | Fields after defaulting |\n|---|---|---|"
        );
        for rule in rules {
            let fields: Vec<String> = rule
                .expect
                .iter()
                .map(|(p, v)| match v {
                    Value::Null => format!("`{p}` unset"),
                    v => format!("`{p}` = {}", compact(v)),
                })
                .collect();
            let _ = writeln!(
                out,
                "| {} | {} | {} |",
                cell(&rule.rule),
                compact(&rule.set),
                fields.join("<br>")
            );
        }
        out.push('\n');
    }
    let covered: BTreeSet<String> = file
        .validation
        .iter()
        .filter(|c| c.section.is_none())
        .map(|c| c.kind.clone())
        .collect();
    let mut plain = Vec::new();
    for g in &builtin().groups {
        for (version, entries) in &g.versions {
            for entry in entries {
                let (Some(kind), Some(name)) = (
                    entry.pointer("/responseKind/kind").and_then(Value::as_str),
                    entry.get("resource").and_then(Value::as_str),
                ) else {
                    continue;
                };
                let verbs = entry.get("verbs").and_then(Value::as_array);
                let creatable = verbs.is_some_and(|v| v.iter().any(|v| v == "create"));
                if name.contains('/') || !creatable {
                    continue;
                }
                let api_version = if g.name.is_empty() {
                    version.clone()
                } else {
                    format!("{}/{version}", g.name)
                };
                let key = format!("{api_version} {kind}");
                if !covered.contains(&key) {
                    plain.push(format!("`{key}`"));
                }
            }
        }
    }
    let _ = writeln!(
        out,
        "## Kinds with only the metadata rules\n\nThe other creatable built-in kinds testenv serves \
         get the metadata rules above and their schema's structure, and no rule of their own yet:\n\n{}",
        plain.join(", ")
    );
    out
}

const BEGIN: &str = "<!-- generated from gitops-apply/src/testenv/registry/catalogue: begin -->\n";
const END: &str = "<!-- generated: end -->\n";

/// Whether `docs/testenv.md` holds what the catalogue generates (rewritten when
/// `UPDATE_DOCS` is set).
fn check_document(file: &File) -> Option<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/testenv.md");
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let (head, rest) = text.split_once(BEGIN).unwrap_or((&text, ""));
    let tail = rest.split_once(END).map(|(_, t)| t).unwrap_or("");
    let fresh = format!("{head}{BEGIN}\n{}\n{END}{tail}", document(file));
    if fresh == text {
        return None;
    }
    if std::env::var_os("UPDATE_DOCS").is_some() {
        return std::fs::write(&path, fresh)
            .err()
            .map(|e| format!("{}: {e}", path.display()));
    }
    Some(
        "docs/testenv.md is not what the catalogue generates: run \
         `UPDATE_DOCS=1 cargo test -p gitops-apply --features testenv --lib catalogue`"
            .into(),
    )
}
