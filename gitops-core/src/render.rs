//! Rendering a directory of an artifact into objects.
//!
//! A directory without a kustomization file is rendered the way Flux generates a
//! kustomization for it: every `*.yaml` and `*.yml` file below it, walked in lexical order,
//! each parsed as Kubernetes objects; other files are ignored. A directory that holds a
//! `kustomization.yaml`, `kustomization.yml` or `Kustomization` file needs the kustomize
//! builder, which is not part of the core yet: it is refused with an error naming the file,
//! never rendered partially.
//!
//! ```
//! use gitops_core::{fs::MemoryFs, render};
//! let fs = MemoryFs::new()
//!     .with_file("apps/b.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n")
//!     .with_file("apps/a/c.yml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n")
//!     .with_file("apps/README.md", "# not yaml");
//! let objects = render::build(&fs, "./apps").unwrap();
//! assert_eq!(objects.iter().map(|m| m.object.name()).collect::<Vec<_>>(), ["c", "b"]);
//! ```

use crate::fs::{self, FileKind, FileSystem};
use crate::{Error, Manifest, manifests};

/// The file names kustomize recognises as a kustomization, in its order of preference.
pub const KUSTOMIZATION_FILES: [&str; 3] =
    ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// Renders the directory `path` of `fs` into objects, in file order.
pub fn build(fs: &dyn FileSystem, path: &str) -> Result<Vec<Manifest>, Error> {
    let root = fs::normalize(path)?;
    if fs.kind(&root) != Some(FileKind::Dir) {
        return Err(Error::Render {
            message: format!("kustomization path not found: {}", display(&root)),
        });
    }
    let mut out = Vec::new();
    walk(fs, &root, &mut out)?;
    Ok(out)
}

fn walk(fs: &dyn FileSystem, dir: &str, out: &mut Vec<Manifest>) -> Result<(), Error> {
    if let Some(file) = kustomization_file(fs, dir)? {
        return Err(Error::Render {
            message: format!(
                "{file}: kustomization files are not supported by this build yet; \
                 remove it to apply the plain manifests below '{}'",
                display(dir)
            ),
        });
    }
    for name in fs.read_dir(dir)? {
        let path = fs::join(dir, &name)?;
        match fs.kind(&path) {
            Some(FileKind::Dir) => walk(fs, &path, out)?,
            Some(FileKind::File) if name.ends_with(".yaml") || name.ends_with(".yml") => {
                let bytes = fs.read(&path)?;
                let text = String::from_utf8(bytes).map_err(|_| Error::File {
                    path: path.clone(),
                    message: "not valid UTF-8".into(),
                })?;
                out.extend(manifests::parse(&path, &text)?);
            }
            _ => {}
        }
    }
    Ok(())
}

/// The kustomization file in `dir`, if any.
pub fn kustomization_file(fs: &dyn FileSystem, dir: &str) -> Result<Option<String>, Error> {
    for name in KUSTOMIZATION_FILES {
        let path = fs::join(dir, name)?;
        if fs.kind(&path) == Some(FileKind::File) {
            return Ok(Some(path));
        }
    }
    Ok(None)
}

fn display(path: &str) -> &str {
    if path.is_empty() { "." } else { path }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::MemoryFs;

    #[test]
    fn missing_path_is_named() {
        let fs = MemoryFs::new().with_file("a.yaml", "");
        assert_eq!(
            build(&fs, "./clusters/prod").unwrap_err().to_string(),
            "kustomization path not found: clusters/prod"
        );
    }

    #[test]
    fn kustomization_files_are_refused_not_ignored() {
        let fs = MemoryFs::new()
            .with_file("apps/base/kustomization.yaml", "resources: []")
            .with_file(
                "apps/x.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n",
            );
        let err = build(&fs, "apps").unwrap_err().to_string();
        assert!(
            err.starts_with("apps/base/kustomization.yaml: kustomization files are not supported"),
            "{err}"
        );
    }

    #[test]
    fn parse_errors_name_the_file() {
        let fs = MemoryFs::new().with_file("bad.yaml", "kind: [");
        let err = build(&fs, "").unwrap_err().to_string();
        assert!(
            err.starts_with("bad.yaml (document 0, line 1): malformed YAML"),
            "{err}"
        );
    }

    #[test]
    fn root_and_empty_dirs() {
        let fs = MemoryFs::new().with_file("x/notes.txt", "hi");
        assert!(build(&fs, "").unwrap().is_empty());
        assert!(build(&fs, "x").unwrap().is_empty());
    }
}
