#![allow(clippy::expect_used, clippy::unwrap_used)]
//! The Dockerfile builds the binary this repository has: its builder stage builds the root
//! package by name with the lock file, the runtime stage copies the binary the build writes,
//! runs it as nobody and has `git`. No container engine runs here, so this checks the
//! Dockerfile against `Cargo.toml` rather than building the image.

use std::path::Path;

/// `(instruction, arguments)` of each instruction, continuation lines joined, comments
/// dropped.
fn instructions(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || (line.is_empty() && current.is_empty()) {
            continue;
        }
        match line.strip_suffix('\\') {
            Some(head) => {
                current.push_str(head);
                current.push(' ');
            }
            None => {
                current.push_str(line);
                let (op, args) = current.trim().split_once(' ').unwrap();
                out.push((op.to_uppercase(), args.trim().to_string()));
                current.clear();
            }
        }
    }
    out
}

/// The value of `key = "value"` in the `[section]` of a Cargo.toml.
fn toml_value(text: &str, section: &str, key: &str) -> Option<String> {
    let mut inside = false;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            inside = line == format!("[{section}]");
            continue;
        }
        if inside
            && let Some((k, v)) = line.split_once('=')
            && k.trim() == key
        {
            return Some(v.trim().trim_matches('"').to_string());
        }
    }
    None
}

#[test]
fn the_dockerfile_builds_and_runs_the_gitops_binary() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dockerfile = std::fs::read_to_string(root.join("Dockerfile")).unwrap();
    let cargo = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let package = toml_value(&cargo, "package", "name").unwrap();
    assert_eq!(package, env!("CARGO_PKG_NAME"));
    // No [[bin]] section: the binary is src/main.rs, named after the package.
    assert!(!cargo.contains("[[bin]]"));
    assert!(root.join("src/main.rs").is_file());
    let binary = Path::new(env!("CARGO_BIN_EXE_gitops"))
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(binary, package);

    let all = instructions(&dockerfile);
    let stages: Vec<(usize, &str)> = all
        .iter()
        .enumerate()
        .filter(|(_, (op, _))| op == "FROM")
        .map(|(i, (_, args))| (i, args.as_str()))
        .collect();
    assert_eq!(stages.len(), 2, "a builder and a runtime stage");
    let (builder_at, builder) = stages[0];
    let (runtime_at, runtime) = stages[1];
    let (builder_image, builder_name) = builder.split_once(" AS ").unwrap();
    assert!(!runtime.contains(" AS "), "{runtime}");
    // The builder's Rust is the workspace's minimum.
    let rust = toml_value(&cargo, "workspace.package", "rust-version").unwrap();
    assert_eq!(
        builder_image.split_once(':').unwrap().1,
        format!("{rust}-bookworm")
    );
    // No registry host: image names only.
    for image in [builder_image, runtime] {
        if let Some((first, _)) = image.split_once('/') {
            assert!(!first.contains('.') && !first.contains(':'), "{image}");
        }
    }

    let build = &all[builder_at..runtime_at];
    let workdir = build
        .iter()
        .find(|(op, _)| op == "WORKDIR")
        .map(|(_, a)| a.clone())
        .unwrap();
    let run = build
        .iter()
        .find(|(op, a)| op == "RUN" && a.starts_with("cargo build"))
        .map(|(_, a)| a.clone())
        .unwrap();
    let words: Vec<&str> = run.split_whitespace().collect();
    assert!(
        words.contains(&"--release") && words.contains(&"--locked"),
        "{run}"
    );
    let p = words.iter().position(|w| *w == "-p").unwrap();
    assert_eq!(
        words[p + 1],
        package,
        "the package built is the root package"
    );

    let final_stage = &all[runtime_at..];
    let copy = final_stage
        .iter()
        .find(|(op, _)| op == "COPY")
        .map(|(_, a)| a.clone())
        .unwrap();
    let parts: Vec<&str> = copy.split_whitespace().collect();
    assert_eq!(parts[0], format!("--from={builder_name}"));
    assert_eq!(parts[1], format!("{workdir}/target/release/{binary}"));
    let installed = final_stage
        .iter()
        .find(|(op, a)| op == "RUN" && a.contains("apt-get install"))
        .map(|(_, a)| a.clone())
        .unwrap();
    assert!(
        installed.split_whitespace().any(|w| w == "git"),
        "{installed}"
    );
    assert!(final_stage.contains(&("USER".into(), "65534:65534".into())));
    assert_eq!(
        final_stage.last().unwrap(),
        &("ENTRYPOINT".into(), format!("[\"{binary}\"]"))
    );
    // The binary lands on PATH under the name the entrypoint calls.
    assert_eq!(parts[2], format!("/usr/local/bin/{binary}"));
    // The image `gitops install` runs by default is this one's name and version.
    assert_eq!(
        gitops::controllers::install::manifests::DEFAULT_IMAGE,
        format!("{package}:{}", env!("CARGO_PKG_VERSION"))
    );
    // The build context keeps .cargo/config.toml (k8s-openapi's Kubernetes version).
    let ignore = std::fs::read_to_string(root.join(".dockerignore")).unwrap();
    assert!(!ignore.lines().any(|l| l.trim().starts_with(".cargo")));
    assert!(root.join(".cargo/config.toml").is_file());
}
