//! [`FileSystem`] over a directory on disk, such as an extracted artifact.

use std::fs;
use std::path::{Path, PathBuf};

use gitops_core::Error as CoreError;
use gitops_core::fs::{FileKind, FileSystem, normalize};

/// Read-only access to a directory tree. Paths are relative to the root; paths (and links)
/// that resolve outside the root are refused. When built with [`DiskFs::owning`], the
/// directory is removed when the value is dropped.
///
/// ```
/// use gitops_core::fs::FileSystem;
/// use gitops_git::disk::DiskFs;
/// let dir = tempfile::tempdir().unwrap();
/// std::fs::write(dir.path().join("a.yaml"), "a: 1").unwrap();
/// let fs = DiskFs::new(dir.path()).unwrap();
/// assert_eq!(fs.read("a.yaml").unwrap(), b"a: 1");
/// assert!(fs.read("../etc/passwd").is_err());
/// ```
#[derive(Debug)]
pub struct DiskFs {
    root: PathBuf,
    _owned: Option<tempfile::TempDir>,
}

fn file_error(path: &str, message: impl Into<String>) -> CoreError {
    CoreError::File {
        path: path.to_string(),
        message: message.into(),
    }
}

impl DiskFs {
    /// Access to the tree under `root`.
    pub fn new(root: impl AsRef<Path>) -> Result<Self, crate::Error> {
        let root = root.as_ref();
        let root = root
            .canonicalize()
            .map_err(|e| crate::Error::io("open directory", root, e))?;
        Ok(Self { root, _owned: None })
    }

    /// Access to a temporary directory, removed when this value is dropped.
    pub fn owning(dir: tempfile::TempDir) -> Result<Self, crate::Error> {
        let mut fs = Self::new(dir.path())?;
        fs._owned = Some(dir);
        Ok(fs)
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The absolute path of `path`, following links only while they stay inside the root.
    fn resolve(&self, path: &str) -> Result<PathBuf, CoreError> {
        let clean = normalize(path)?;
        let joined = if clean.is_empty() {
            self.root.clone()
        } else {
            self.root.join(&clean)
        };
        let real = joined
            .canonicalize()
            .map_err(|e| file_error(&clean, no_such(&e)))?;
        if !real.starts_with(&self.root) {
            return Err(file_error(
                &clean,
                "the path leaves the root directory through a link",
            ));
        }
        Ok(real)
    }
}

fn no_such(e: &std::io::Error) -> String {
    if e.kind() == std::io::ErrorKind::NotFound {
        "no such file or directory".into()
    } else {
        e.to_string()
    }
}

impl FileSystem for DiskFs {
    fn read(&self, path: &str) -> Result<Vec<u8>, CoreError> {
        let real = self.resolve(path)?;
        if real.is_dir() {
            return Err(file_error(path, "is a directory"));
        }
        fs::read(&real).map_err(|e| file_error(path, no_such(&e)))
    }

    fn read_dir(&self, path: &str) -> Result<Vec<String>, CoreError> {
        let real = self.resolve(path)?;
        let entries = fs::read_dir(&real).map_err(|e| file_error(path, no_such(&e)))?;
        let mut names: Vec<String> = entries
            .flatten()
            .filter_map(|e| e.file_name().into_string().ok())
            .collect();
        names.sort();
        Ok(names)
    }

    fn root_name(&self) -> Option<String> {
        // Go's filepath.Base, which kustomize uses, names the file system's root `/`.
        match self.root.file_name() {
            Some(name) => name.to_str().map(str::to_string),
            None => Some("/".to_string()),
        }
    }

    fn real_path(&self, path: &str) -> Option<String> {
        let real = self.resolve(path).ok()?;
        let relative = real.strip_prefix(&self.root).ok()?;
        relative.to_str().map(str::to_string)
    }

    fn kind(&self, path: &str) -> Option<FileKind> {
        let real = self.resolve(path).ok()?;
        let meta = fs::metadata(real).ok()?;
        if meta.is_dir() {
            Some(FileKind::Dir)
        } else if meta.is_file() {
            Some(FileKind::File)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_lists_and_refuses_escapes() {
        let outer = tempfile::tempdir().unwrap();
        let root = outer.path().join("root");
        fs::create_dir_all(root.join("apps/base")).unwrap();
        fs::write(root.join("apps/base/b.yaml"), "b").unwrap();
        fs::write(root.join("apps/a.yaml"), "a").unwrap();
        fs::write(outer.path().join("secret"), "s").unwrap();
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink("../secret", root.join("escape")).unwrap();
            std::os::unix::fs::symlink("apps/a.yaml", root.join("inner")).unwrap();
        }
        let fs = DiskFs::new(&root).unwrap();
        assert_eq!(fs.read_dir("apps").unwrap(), vec!["a.yaml", "base"]);
        assert_eq!(fs.kind("apps/base"), Some(FileKind::Dir));
        assert_eq!(fs.kind("apps/a.yaml"), Some(FileKind::File));
        assert_eq!(fs.kind("nope"), None);
        assert_eq!(fs.read("./apps/base/../a.yaml").unwrap(), b"a");
        assert!(fs.read("apps").is_err());
        let missing = fs.read("apps/missing.yaml").unwrap_err().to_string();
        assert!(
            missing.contains("apps/missing.yaml: no such file"),
            "{missing}"
        );
        #[cfg(unix)]
        {
            assert!(fs.read("escape").is_err());
            assert_eq!(fs.kind("escape"), None);
            assert_eq!(fs.read("inner").unwrap(), b"a");
        }
    }

    #[test]
    fn owning_removes_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_path_buf();
        let fs = DiskFs::owning(dir).unwrap();
        assert!(path.exists());
        drop(fs);
        assert!(!path.exists());
    }
}
