//! Where the source controller keeps artifacts, how it names their URLs and when it collects
//! them: gitops-git's [`Store`] plus Flux's storage flags.
//!
//! Flux's `--storage-path`, `--storage-addr`, `--storage-adv-addr`,
//! `--artifact-retention-ttl` and `--artifact-retention-records` map onto [`StorageOptions`].
//! An artifact's URL is `http://<adv-addr>/<path>`, its path
//! `gitrepository/<namespace>/<name>/<commit-hex>.tar.gz`, exactly as Flux writes them, so a
//! consumer built for Flux (its kustomize-controller, helm-controller) downloads ours.
//!
//! Garbage collection follows `fluxcd/pkg/artifact/storage`: the files of one object that
//! are older than the TTL go, then the oldest go until at most `records` remain; the current
//! artifact is never collected. On deletion every artifact of the object goes.
//!
//! ```
//! use std::time::Duration;
//! use gitops_controllers::source::storage::{Storage, StorageOptions};
//! let dir = tempfile::tempdir().unwrap();
//! let options = StorageOptions {
//!     path: dir.path().to_path_buf(),
//!     adv_addr: Some("source-controller.flux-system.svc.cluster.local.".into()),
//!     ..StorageOptions::default()
//! };
//! let storage = Storage::new(&options).unwrap();
//! assert_eq!(storage.base_url(), "http://source-controller.flux-system.svc.cluster.local.");
//! assert_eq!(storage.retention_ttl(), Duration::from_secs(60));
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use gitops_git::Store;

/// Flux's storage flags.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StorageOptions {
    /// `--storage-path`: the directory artifacts are kept in.
    pub path: PathBuf,
    /// `--storage-addr`: where the artifact server listens (Flux's default `:9090`).
    pub addr: SocketAddr,
    /// `--storage-adv-addr`: the host (and port) written into artifact URLs. `None` derives
    /// it from `addr` as Flux does: an unspecified IP (`0.0.0.0`, Flux's `:9090`) becomes this
    /// host's name, a loopback one stays as it is.
    pub adv_addr: Option<String>,
    /// `--artifact-retention-ttl`: how long an artifact that is no longer current is kept.
    pub retention_ttl: Duration,
    /// `--artifact-retention-records`: how many artifacts per object are kept at most.
    pub retention_records: usize,
}

impl Default for StorageOptions {
    /// Flux's defaults: `/data`, `:9090`, TTL 1m, 2 records.
    fn default() -> Self {
        Self {
            path: PathBuf::from("/data"),
            addr: SocketAddr::from(([0, 0, 0, 0], 9090)),
            adv_addr: None,
            retention_ttl: Duration::from_secs(60),
            retention_records: 2,
        }
    }
}

/// The advertised address Flux derives from `--storage-addr` when `--storage-adv-addr` is
/// empty: an unspecified host becomes `$HOSTNAME` (or the machine's name), anything else is
/// kept, with the port.
pub fn advertised_addr(addr: SocketAddr) -> String {
    let host = if addr.ip().is_unspecified() {
        std::env::var("HOSTNAME")
            .ok()
            .filter(|h| !h.is_empty())
            .or_else(hostname)
            .unwrap_or_else(|| "localhost".into())
    } else {
        match addr {
            SocketAddr::V4(a) => a.ip().to_string(),
            SocketAddr::V6(a) => format!("[{}]", a.ip()),
        }
    };
    format!("{host}:{}", addr.port())
}

fn hostname() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
}

/// Failures of the storage itself (not of one artifact).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The storage directory could not be created or used.
    #[error(
        "cannot use the storage path {path}: {error}; check --storage-path and its permissions"
    )]
    Path {
        /// The directory.
        path: PathBuf,
        /// The failure.
        error: gitops_git::Error,
    },
    /// A store operation (listing, locking, removing all of an object) failed.
    #[error("{0}")]
    Store(#[from] gitops_git::Error),
    /// An old artifact could not be removed.
    #[error("cannot remove the old artifact {path}: {error}; check the storage's permissions")]
    Remove {
        /// The file.
        path: PathBuf,
        /// The failure.
        error: std::io::Error,
    },
}

/// The artifact storage of the source controller.
#[derive(Clone, Debug)]
pub struct Storage {
    store: Store,
    base_url: String,
    ttl: Duration,
    records: usize,
}

/// What a garbage collection removed, as paths relative to the storage root.
pub type Collected = Vec<String>;

impl Storage {
    /// Opens (and creates) the storage directory.
    pub fn new(options: &StorageOptions) -> Result<Self, Error> {
        let records = options.retention_records.max(1);
        // The store collects nothing on write: retention is applied by `garbage_collect`
        // right after, with Flux's rules, so that what goes is reported.
        let store = Store::new(&options.path)
            .map_err(|error| Error::Path {
                path: options.path.clone(),
                error,
            })?
            .with_keep(usize::MAX);
        let adv = options
            .adv_addr
            .clone()
            .filter(|a| !a.is_empty())
            .unwrap_or_else(|| advertised_addr(options.addr));
        Ok(Self {
            store,
            base_url: format!("http://{}", adv.trim_end_matches('/')),
            ttl: options.retention_ttl,
            records,
        })
    }

    /// The store artifacts are written to.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// `http://<adv-addr>`: an artifact's URL is this, `/` and its path.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// `--artifact-retention-ttl`.
    pub fn retention_ttl(&self) -> Duration {
        self.ttl
    }

    /// `--artifact-retention-records`.
    pub fn retention_records(&self) -> usize {
        self.records
    }

    /// Whether the artifact file at `path` (relative to the root) is in storage.
    pub fn exists(&self, path: &str) -> bool {
        self.store.file(path).is_ok_and(|p| p.is_file())
    }

    /// Collects the artifacts of `namespace/name` other than `current` (a relative path):
    /// first those older than the TTL, then the oldest until at most `records` remain.
    /// Blocking (file system calls).
    pub fn garbage_collect(
        &self,
        namespace: &str,
        name: &str,
        current: &str,
    ) -> Result<Collected, Error> {
        self.garbage_collect_at(namespace, name, current, SystemTime::now())
    }

    fn garbage_collect_at(
        &self,
        namespace: &str,
        name: &str,
        current: &str,
        now: SystemTime,
    ) -> Result<Collected, Error> {
        let _lock = self.store.lock(namespace, name)?;
        // Newest first.
        let mut files: Vec<(String, SystemTime)> = Vec::new();
        for path in self.store.list(namespace, name)? {
            let file = self.store.file(&path)?;
            let modified = std::fs::metadata(&file)
                .and_then(|m| m.modified())
                .unwrap_or(SystemTime::UNIX_EPOCH);
            files.push((path, modified));
        }
        let total = files.len();
        let mut garbage: Vec<String> = files
            .iter()
            .filter(|(path, modified)| {
                path != current
                    && modified
                        .checked_add(self.ttl)
                        .is_some_and(|expiry| expiry < now)
            })
            .map(|(path, _)| path.clone())
            .collect();
        let mut remaining = total - garbage.len();
        // Oldest first: drop until `records` remain.
        for (path, _) in files.iter().rev() {
            if remaining <= self.records {
                break;
            }
            if path == current || garbage.contains(path) {
                continue;
            }
            garbage.push(path.clone());
            remaining -= 1;
        }
        let mut removed = Vec::with_capacity(garbage.len());
        for path in garbage {
            let file = self.store.file(&path)?;
            match std::fs::remove_file(&file) {
                Ok(()) => removed.push(path),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(error) => return Err(Error::Remove { path: file, error }),
            }
        }
        Ok(removed)
    }

    /// Removes every artifact of `namespace/name` (the object is being deleted). Blocking.
    pub fn remove_all(&self, namespace: &str, name: &str) -> Result<(), Error> {
        Ok(self.store.remove_all(namespace, name)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn storage(dir: &std::path::Path, ttl: Duration, records: usize) -> Storage {
        Storage::new(&StorageOptions {
            path: dir.to_path_buf(),
            addr: "127.0.0.1:9090".parse().unwrap(),
            adv_addr: None,
            retention_ttl: ttl,
            retention_records: records,
        })
        .unwrap()
    }

    fn put(s: &Storage, hex: &str) -> String {
        let path = s
            .store()
            .put("ns", "repo", hex, |p| {
                p.file("a.yaml", false, hex.as_bytes())
            })
            .unwrap()
            .path;
        // Distinct modification times, newest last.
        std::thread::sleep(Duration::from_millis(15));
        path
    }

    #[test]
    fn the_advertised_address_follows_flux() {
        assert_eq!(
            advertised_addr("127.0.0.1:9090".parse().unwrap()),
            "127.0.0.1:9090"
        );
        let unspecified = advertised_addr("0.0.0.0:9090".parse().unwrap());
        assert!(unspecified.ends_with(":9090"));
        assert!(!unspecified.starts_with("0.0.0.0"));
        let dir = tempfile::tempdir().unwrap();
        let s = storage(dir.path(), Duration::from_secs(60), 2);
        assert_eq!(s.base_url(), "http://127.0.0.1:9090");
    }

    #[test]
    fn records_bound_the_count_and_keep_the_current() {
        let dir = tempfile::tempdir().unwrap();
        let s = storage(dir.path(), Duration::from_secs(3600), 2);
        let paths: Vec<String> = ["a1", "a2", "a3", "a4"]
            .iter()
            .map(|h| put(&s, h))
            .collect();
        // Writing collects nothing by itself: the collection reports what goes.
        assert_eq!(s.store().list("ns", "repo").unwrap().len(), 4);
        // The current artifact is the oldest one: it stays, with the newest other one.
        let removed = s.garbage_collect("ns", "repo", &paths[0]).unwrap();
        assert_eq!(removed, vec![paths[1].clone(), paths[2].clone()]);
        assert_eq!(
            s.store().list("ns", "repo").unwrap(),
            vec![paths[3].clone(), paths[0].clone()]
        );
    }

    #[test]
    fn expired_artifacts_go_even_under_the_count() {
        let dir = tempfile::tempdir().unwrap();
        let s = storage(dir.path(), Duration::from_secs(60), 2);
        let old = put(&s, "b1");
        let current = put(&s, "b2");
        assert!(
            s.garbage_collect("ns", "repo", &current)
                .unwrap()
                .is_empty()
        );
        let later = SystemTime::now() + Duration::from_secs(120);
        let removed = s.garbage_collect_at("ns", "repo", &current, later).unwrap();
        assert_eq!(removed, vec![old]);
        // The current artifact outlives its TTL.
        assert_eq!(s.store().list("ns", "repo").unwrap(), vec![current.clone()]);
        assert!(s.exists(&current));
        s.remove_all("ns", "repo").unwrap();
        assert!(!s.exists(&current));
    }
}
