//! The layering rule, checked: a module imports only modules of lower layers (or its own).
//!
//! The order, top to bottom: `routing`; `controllers`; `filters` and `verbs` (side by side,
//! neither imports the other); `state`, the value behind the server's lock; `registry` with
//! the `status` answers it builds; `storage`; and `request` and `clock`, which import nothing.

/// Each top-level module of `testenv` with its layer's rank and name.
const LAYERS: &[(&str, u8, &str)] = &[
    ("routing", 7, "routing"),
    ("controllers", 6, "controllers"),
    ("filters", 5, "filters"),
    ("verbs", 5, "verbs"),
    ("state", 4, "state"),
    ("registry", 3, "registry"),
    ("status", 3, "registry"),
    ("storage", 2, "storage"),
    ("request", 1, "request"),
    ("clock", 1, "clock"),
];

fn layer(module: &str) -> Option<(u8, &'static str)> {
    LAYERS
        .iter()
        .find(|(name, _, _)| *name == module)
        .map(|(_, rank, layer)| (*rank, *layer))
}

/// The top-level testenv modules a source text names as `crate::testenv::X`.
fn imports(text: &str) -> Vec<String> {
    let needle = "crate::testenv::";
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find(needle) {
        rest = &rest[at + needle.len()..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || *c == '_')
            .collect();
        if !name.is_empty() {
            out.push(name);
        }
    }
    out
}

fn sources(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn lower_layers_never_import_upper_ones() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/testenv");
    let mut files = Vec::new();
    sources(&root, &mut files);
    assert!(files.len() > 20, "testenv sources not found under {root:?}");
    let mut violations = Vec::new();
    for file in &files {
        let relative = file.strip_prefix(&root).unwrap_or(file);
        let top = relative
            .components()
            .next()
            .and_then(|c| c.as_os_str().to_str())
            .unwrap_or("")
            .trim_end_matches(".rs")
            .to_string();
        let Some((rank, own)) = layer(&top) else {
            continue;
        };
        let text = std::fs::read_to_string(file).unwrap_or_default();
        // Tests may reach anywhere; only the code above them is layered.
        let code = text.split("#[cfg(test)]").next().unwrap_or("");
        for import in imports(code) {
            let Some((to_rank, to_layer)) = layer(&import) else {
                continue;
            };
            if to_layer != own && to_rank >= rank {
                violations.push(format!("{}: imports {import}", relative.display()));
            }
        }
    }
    for (name, _, _) in LAYERS {
        let dir = root.join(name);
        let file = root.join(format!("{name}.rs"));
        assert!(dir.is_dir() || file.is_file(), "layer {name} has no module");
    }
    assert!(violations.is_empty(), "{violations:#?}");
}
