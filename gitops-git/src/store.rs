//! The artifact store: a directory of `gitrepository/<namespace>/<name>/<hex>.tar.gz` files.
//!
//! Artifacts are written atomically (a temporary file in the same directory, fsync, rename,
//! fsync of the directory), so a reader sees the old file or the new one, never half of one.
//! Writers of one source take a per-source lock (`<name>.lock` beside the source's directory,
//! an OS file lock, so it also holds between processes). After each write the store keeps the
//! newest [`Store::keep`] artifacts of the source and removes the rest, as Flux's
//! `--artifact-retention-records=2` does.
//!
//! The store's directory can be served as is by a plain HTTP file server: the artifact path
//! is the URL path.
//!
//! ```no_run
//! use gitops_git::store::Store;
//! let store = Store::new("/data").unwrap();
//! let path = store.artifact_path("flux-system", "podinfo", "132f4e719209eb10b9485302f8593fc0e680f4fc").unwrap();
//! assert_eq!(path, "gitrepository/flux-system/podinfo/132f4e719209eb10b9485302f8593fc0e680f4fc.tar.gz");
//! ```

use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use gitops_core::Digest;

use crate::Error;
use crate::artifact::{Packed, Packer};

/// How many artifacts per source the store keeps by default.
pub const DEFAULT_KEEP: usize = 2;

/// The kind directory under the store root.
pub const KIND_DIR: &str = "gitrepository";

/// A directory of artifacts.
#[derive(Clone, Debug)]
pub struct Store {
    root: PathBuf,
    keep: usize,
}

/// An artifact written into the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stored {
    /// The path relative to the store root, `gitrepository/<ns>/<name>/<hex>.tar.gz`.
    pub path: String,
    /// The digest of the file's bytes.
    pub digest: Digest,
    /// The file's size in bytes.
    pub size: u64,
}

/// The lock of one source's artifacts; released on drop.
#[derive(Debug)]
pub struct SourceLock {
    _file: File,
}

fn check_segment(what: &str, value: &str) -> Result<(), Error> {
    let ok = !value.is_empty()
        && value != "."
        && value != ".."
        && !value.contains('/')
        && !value.contains('\\')
        && !value.contains('\0');
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidArtifactPath {
            path: value.to_string(),
            reason: format!("the {what} must be a single, non-empty path segment"),
        })
    }
}

impl Store {
    /// A store rooted at `root`, created if missing, keeping [`DEFAULT_KEEP`] artifacts per
    /// source.
    pub fn new(root: impl Into<PathBuf>) -> Result<Self, Error> {
        let root = root.into();
        fs::create_dir_all(&root).map_err(|e| Error::io("create store directory", &root, e))?;
        Ok(Self {
            root,
            keep: DEFAULT_KEEP,
        })
    }

    /// Keeps `keep` artifacts per source instead (at least one).
    pub fn with_keep(mut self, keep: usize) -> Self {
        self.keep = keep.max(1);
        self
    }

    /// How many artifacts per source are kept.
    pub fn keep(&self) -> usize {
        self.keep
    }

    /// The store's root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The relative path of the artifact of commit `hex` of a source.
    pub fn artifact_path(&self, namespace: &str, name: &str, hex: &str) -> Result<String, Error> {
        check_segment("namespace", namespace)?;
        check_segment("name", name)?;
        check_segment("revision", hex)?;
        Ok(format!("{KIND_DIR}/{namespace}/{name}/{hex}.tar.gz"))
    }

    /// The absolute file of a relative artifact path, refusing paths that leave the store.
    pub fn file(&self, path: &str) -> Result<PathBuf, Error> {
        let clean = gitops_core::fs::normalize(path).map_err(|e| Error::InvalidArtifactPath {
            path: path.to_string(),
            reason: e.to_string(),
        })?;
        if clean.is_empty() || clean != path.trim_start_matches("./") {
            return Err(Error::InvalidArtifactPath {
                path: path.to_string(),
                reason:
                    "expected a clean relative path such as gitrepository/<ns>/<name>/<hex>.tar.gz"
                        .into(),
            });
        }
        Ok(self.root.join(clean))
    }

    fn source_dir(&self, namespace: &str, name: &str) -> Result<PathBuf, Error> {
        check_segment("namespace", namespace)?;
        check_segment("name", name)?;
        Ok(self.root.join(KIND_DIR).join(namespace).join(name))
    }

    /// Takes the lock of a source's artifacts, waiting for another holder to release it.
    /// Blocking: call it from a blocking context.
    pub fn lock(&self, namespace: &str, name: &str) -> Result<SourceLock, Error> {
        let dir = self.source_dir(namespace, name)?;
        let parent = dir.parent().unwrap_or(&self.root).to_path_buf();
        fs::create_dir_all(&parent).map_err(|e| Error::io("create store directory", &parent, e))?;
        let path = parent.join(format!("{name}.lock"));
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| Error::io("open lock file", &path, e))?;
        file.lock().map_err(|e| Error::io("lock", &path, e))?;
        Ok(SourceLock { _file: file })
    }

    /// Writes an artifact of commit `hex` of a source: `write` packs into the given packer.
    /// The file appears atomically; older artifacts beyond [`Store::keep`] are then removed.
    /// Takes the source's lock. Blocking.
    pub fn put(
        &self,
        namespace: &str,
        name: &str,
        hex: &str,
        write: impl FnOnce(&mut Packer<io::BufWriter<File>>) -> Result<(), Error>,
    ) -> Result<Stored, Error> {
        let path = self.artifact_path(namespace, name, hex)?;
        let dir = self.source_dir(namespace, name)?;
        let _lock = self.lock(namespace, name)?;
        fs::create_dir_all(&dir).map_err(|e| Error::io("create store directory", &dir, e))?;
        let tmp = tempfile::Builder::new()
            .prefix(".tmp-")
            .suffix(".tar.gz")
            .tempfile_in(&dir)
            .map_err(|e| Error::io("create temporary artifact", &dir, e))?;
        let (file, tmp_path) = tmp.into_parts();
        let mut packer = Packer::new(io::BufWriter::new(file))?;
        write(&mut packer)?;
        let Packed {
            writer,
            digest,
            size,
            ..
        } = packer.finish()?;
        let file = writer
            .into_inner()
            .map_err(|e| Error::io("write artifact", &*tmp_path, e.into_error()))?;
        file.sync_all()
            .map_err(|e| Error::io("sync artifact", &*tmp_path, e))?;
        let target = self.root.join(&path);
        tmp_path
            .persist(&target)
            .map_err(|e| Error::io("rename artifact", &target, e.error))?;
        sync_dir(&dir)?;
        self.collect(&dir, &target)?;
        tracing::debug!(artifact = %path, %digest, size, "stored artifact");
        Ok(Stored { path, digest, size })
    }

    /// Removes all but the newest [`Store::keep`] artifacts in `dir`, never `current`.
    fn collect(&self, dir: &Path, current: &Path) -> Result<Vec<PathBuf>, Error> {
        let mut artifacts: Vec<(SystemTime, PathBuf)> = Vec::new();
        let entries = fs::read_dir(dir).map_err(|e| Error::io("list artifacts", dir, e))?;
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if !name.ends_with(".tar.gz") || name.starts_with('.') {
                continue;
            }
            let modified = entry
                .metadata()
                .and_then(|m| m.modified())
                .unwrap_or(SystemTime::UNIX_EPOCH);
            artifacts.push((modified, path));
        }
        artifacts.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| b.1.cmp(&a.1)));
        let mut removed = Vec::new();
        let mut kept = usize::from(artifacts.iter().any(|(_, p)| p == current));
        for (_, path) in artifacts {
            if path == current {
                continue;
            }
            if kept < self.keep {
                kept += 1;
                continue;
            }
            match fs::remove_file(&path) {
                Ok(()) => removed.push(path),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io("remove old artifact", &path, e)),
            }
        }
        if !removed.is_empty() {
            tracing::debug!(count = removed.len(), "collected old artifacts");
        }
        Ok(removed)
    }

    /// Removes every artifact of a source (the source was deleted). Takes its lock.
    pub fn remove_all(&self, namespace: &str, name: &str) -> Result<(), Error> {
        let dir = self.source_dir(namespace, name)?;
        let _lock = self.lock(namespace, name)?;
        match fs::remove_dir_all(&dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io("remove artifacts", &dir, e)),
        }
    }

    /// The artifacts of a source, newest first, as relative paths.
    pub fn list(&self, namespace: &str, name: &str) -> Result<Vec<String>, Error> {
        let dir = self.source_dir(namespace, name)?;
        let mut found: Vec<(SystemTime, String)> = Vec::new();
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io("list artifacts", &dir, e)),
        };
        for entry in entries.flatten() {
            let file_name = entry.file_name().to_string_lossy().into_owned();
            if file_name.ends_with(".tar.gz") && !file_name.starts_with('.') {
                let modified = entry
                    .metadata()
                    .and_then(|m| m.modified())
                    .unwrap_or(SystemTime::UNIX_EPOCH);
                found.push((
                    modified,
                    format!("{KIND_DIR}/{namespace}/{name}/{file_name}"),
                ));
            }
        }
        found.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| b.1.cmp(&a.1)));
        Ok(found.into_iter().map(|(_, p)| p).collect())
    }

    /// Reads a stored artifact and checks its bytes against `digest`.
    pub fn read_verified(&self, path: &str, digest: &Digest) -> Result<Vec<u8>, Error> {
        let file = self.file(path)?;
        let mut bytes = Vec::new();
        File::open(&file)
            .and_then(|mut f| f.read_to_end(&mut bytes))
            .map_err(|e| Error::io("read artifact", &file, e))?;
        verify(path, &bytes, digest)?;
        Ok(bytes)
    }
}

/// Checks that `bytes` have `expected` as their digest (sha256 only).
pub fn verify(path: &str, bytes: &[u8], expected: &Digest) -> Result<(), Error> {
    if expected.algorithm() != "sha256" {
        return Err(Error::DigestMismatch {
            path: path.to_string(),
            expected: expected.to_string(),
            actual: format!("(unsupported algorithm {})", expected.algorithm()),
        });
    }
    let actual = Digest::sha256(bytes);
    if &actual != expected {
        return Err(Error::DigestMismatch {
            path: path.to_string(),
            expected: expected.to_string(),
            actual: actual.to_string(),
        });
    }
    Ok(())
}

fn sync_dir(dir: &Path) -> Result<(), Error> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io("sync directory", dir, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn put(store: &Store, hex: &str, body: &[u8]) -> Stored {
        store
            .put("ns", "repo", hex, |p| p.file("a.yaml", false, body))
            .unwrap()
    }

    #[test]
    fn writes_atomically_and_keeps_the_newest_two() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path()).unwrap();
        let a = put(&store, "aaaa", b"1");
        std::thread::sleep(std::time::Duration::from_millis(20));
        let b = put(&store, "bbbb", b"2");
        std::thread::sleep(std::time::Duration::from_millis(20));
        let c = put(&store, "cccc", b"3");
        assert_eq!(c.path, "gitrepository/ns/repo/cccc.tar.gz");
        assert_eq!(
            store.list("ns", "repo").unwrap(),
            vec![c.path.clone(), b.path.clone()]
        );
        assert!(!store.file(&a.path).unwrap().exists());
        let bytes = store.read_verified(&c.path, &c.digest).unwrap();
        assert_eq!(bytes.len() as u64, c.size);
        assert!(store.read_verified(&b.path, &c.digest).is_err());
        // No temporary files are left behind.
        let leftovers: Vec<_> = fs::read_dir(dir.path().join("gitrepository/ns/repo"))
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty());
        // Rewriting the current revision keeps it.
        put(&store, "cccc", b"3");
        assert_eq!(store.list("ns", "repo").unwrap().len(), 2);
        store.remove_all("ns", "repo").unwrap();
        assert!(store.list("ns", "repo").unwrap().is_empty());
    }

    #[test]
    fn failed_write_leaves_the_previous_artifact() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path()).unwrap();
        let a = put(&store, "aaaa", b"1");
        let err = store
            .put("ns", "repo", "aaaa", |_| {
                Err(Error::InvalidArchive {
                    reason: "boom".into(),
                })
            })
            .unwrap_err();
        assert!(err.to_string().contains("boom"));
        store.read_verified(&a.path, &a.digest).unwrap();
    }

    #[test]
    fn refuses_paths_outside_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path()).unwrap();
        assert!(store.file("../etc/passwd").is_err());
        assert!(store.file("/etc/passwd").is_err());
        assert!(store.artifact_path("..", "x", "y").is_err());
        assert!(store.artifact_path("ns", "a/b", "y").is_err());
    }

    #[test]
    fn lock_serialises_writers() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::new(dir.path()).unwrap());
        let inside = Arc::new(AtomicUsize::new(0));
        let max = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let (store, inside, max) = (store.clone(), inside.clone(), max.clone());
                std::thread::spawn(move || {
                    let _l = store.lock("ns", "repo").unwrap();
                    let n = inside.fetch_add(1, Ordering::SeqCst) + 1;
                    max.fetch_max(n, Ordering::SeqCst);
                    std::thread::sleep(std::time::Duration::from_millis(10));
                    inside.fetch_sub(1, Ordering::SeqCst);
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(max.load(Ordering::SeqCst), 1);
    }
}
