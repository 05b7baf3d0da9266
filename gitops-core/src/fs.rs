//! The small file-system trait that rendering reads through, and its in-memory
//! implementation.
//!
//! Paths are relative to the file system's root, use `/` as the separator and never contain
//! `.`, `..` or a leading `/` once normalised by [`normalize`]. The core never touches a disk:
//! the disk implementation lives in the crates that do IO.

use std::collections::BTreeMap;

use crate::Error;

/// What a path names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
}

/// Read-only access to a tree of files, such as an extracted artifact.
pub trait FileSystem: Send + Sync {
    /// The contents of a file.
    fn read(&self, path: &str) -> Result<Vec<u8>, Error>;

    /// The names of a directory's entries, sorted bytewise.
    fn read_dir(&self, path: &str) -> Result<Vec<String>, Error>;

    /// What `path` names, or `None` when nothing is there.
    fn kind(&self, path: &str) -> Option<FileKind>;

    /// The path `path` resolves to once symbolic links are followed, relative to the root;
    /// `None` when nothing is there. A file system without links returns the normalised
    /// path, which is what this default does.
    fn real_path(&self, path: &str) -> Option<String> {
        let p = normalize(path).ok()?;
        self.kind(&p).map(|_| p)
    }

    /// The name the root directory has where the file system lives (a directory on disk:
    /// its last path component), `None` when it has none. kustomize names things after a
    /// kustomization's directory (a ValueAddTransformer's default value), and for the
    /// kustomization at the root that name is only known here.
    fn root_name(&self) -> Option<String> {
        None
    }
}

/// Normalises a relative path: removes `.` components and empty components, resolves `..`
/// against earlier components, and refuses a path that leaves the root.
///
/// ```
/// use gitops_core::fs::normalize;
/// assert_eq!(normalize("./apps/../base//deploy.yaml").unwrap(), "base/deploy.yaml");
/// assert!(normalize("../etc/passwd").is_err());
/// ```
pub fn normalize(path: &str) -> Result<String, Error> {
    let mut parts: Vec<&str> = Vec::new();
    if path.starts_with('/') {
        return Err(Error::File {
            path: path.into(),
            message: "absolute paths are not allowed, use a path relative to the root".into(),
        });
    }
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err(Error::File {
                        path: path.into(),
                        message: "the path leaves the root directory".into(),
                    });
                }
            }
            p => parts.push(p),
        }
    }
    Ok(parts.join("/"))
}

/// Joins a relative path onto a directory and normalises the result.
pub fn join(dir: &str, path: &str) -> Result<String, Error> {
    if dir.is_empty() {
        normalize(path)
    } else {
        normalize(&format!("{dir}/{path}"))
    }
}

/// An in-memory file tree. Directories exist implicitly wherever a file is below them.
///
/// ```
/// use gitops_core::fs::{FileSystem, MemoryFs};
/// let fs = MemoryFs::new().with_file("app/deploy.yaml", "kind: Deployment");
/// assert_eq!(fs.read_dir("app").unwrap(), vec!["deploy.yaml".to_string()]);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemoryFs {
    files: BTreeMap<String, Vec<u8>>,
}

impl MemoryFs {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) a file; the path is normalised. Panics on a path that leaves the
    /// root, which is a bug in the caller building the tree.
    #[allow(clippy::expect_used)]
    pub fn with_file(mut self, path: &str, contents: impl Into<Vec<u8>>) -> Self {
        self.insert(path, contents)
            .expect("MemoryFs::with_file needs a path inside the root");
        self
    }

    /// Adds (or replaces) a file.
    pub fn insert(&mut self, path: &str, contents: impl Into<Vec<u8>>) -> Result<(), Error> {
        let path = normalize(path)?;
        if path.is_empty() {
            return Err(Error::File {
                path,
                message: "a file needs a name".into(),
            });
        }
        self.files.insert(path, contents.into());
        Ok(())
    }

    /// Removes a file, returning whether it existed.
    pub fn remove(&mut self, path: &str) -> bool {
        normalize(path).is_ok_and(|p| self.files.remove(&p).is_some())
    }

    /// Every file path with its contents, sorted.
    pub fn files(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.files.iter().map(|(k, v)| (k.as_str(), v.as_slice()))
    }
}

impl FileSystem for MemoryFs {
    fn read(&self, path: &str) -> Result<Vec<u8>, Error> {
        let p = normalize(path)?;
        self.files.get(&p).cloned().ok_or_else(|| Error::File {
            path: p,
            message: "no such file".into(),
        })
    }

    fn read_dir(&self, path: &str) -> Result<Vec<String>, Error> {
        let p = normalize(path)?;
        let prefix = if p.is_empty() {
            String::new()
        } else {
            format!("{p}/")
        };
        let mut names: Vec<String> = self
            .files
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .filter_map(|(k, _)| k[prefix.len()..].split('/').next().map(str::to_owned))
            .collect();
        names.dedup();
        if names.is_empty() && !p.is_empty() {
            return Err(Error::File {
                path: p,
                message: "no such directory".into(),
            });
        }
        Ok(names)
    }

    fn kind(&self, path: &str) -> Option<FileKind> {
        let p = normalize(path).ok()?;
        if p.is_empty() {
            return Some(FileKind::Dir);
        }
        if self.files.contains_key(&p) {
            return Some(FileKind::File);
        }
        let prefix = format!("{p}/");
        self.files
            .range(prefix.clone()..)
            .next()
            .filter(|(k, _)| k.starts_with(&prefix))
            .map(|_| FileKind::Dir)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_fs_lists_and_reads() {
        let fs = MemoryFs::new()
            .with_file("b.yaml", "b")
            .with_file("a/x.yaml", "x")
            .with_file("a/y/z.yaml", "z");
        assert_eq!(fs.read_dir("").unwrap(), vec!["a", "b.yaml"]);
        assert_eq!(fs.read_dir("a").unwrap(), vec!["x.yaml", "y"]);
        assert_eq!(fs.kind("a/y"), Some(FileKind::Dir));
        assert_eq!(fs.kind("a/x.yaml"), Some(FileKind::File));
        assert_eq!(fs.kind("missing"), None);
        assert_eq!(fs.read("./a/../b.yaml").unwrap(), b"b");
        assert!(
            fs.read("c")
                .unwrap_err()
                .to_string()
                .contains("c: no such file")
        );
        assert!(fs.read_dir("nope").is_err());
    }

    #[test]
    fn paths_cannot_escape() {
        assert!(normalize("a/../../b").is_err());
        assert!(normalize("/abs").is_err());
        assert_eq!(join("a/b", "../c").unwrap(), "a/c");
    }
}
