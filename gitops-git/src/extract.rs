//! Safe extraction of artifact archives (tar.gz) into a directory.
//!
//! An archive comes from the network, so nothing in it is trusted: entries with absolute
//! paths or `..` components are refused, as are symbolic and hard links whose target leaves
//! the destination, devices, FIFOs and other special files, entries that would be written
//! through a link, and archives over the entry-count or total-size limit (checked against
//! the bytes actually read, not only the headers). Refusal is an error for the whole
//! archive; the caller extracts into a fresh directory and drops it on error.
//!
//! ```
//! use gitops_git::artifact::Packer;
//! use gitops_git::extract::{extract, Limits};
//! let mut packer = Packer::new(Vec::new()).unwrap();
//! packer.file("app.yaml", false, b"kind: ConfigMap\n").unwrap();
//! let bytes = packer.finish().unwrap().writer;
//! let dir = tempfile::tempdir().unwrap();
//! let summary = extract(bytes.as_slice(), dir.path(), &Limits::default()).unwrap();
//! assert_eq!(summary.files, 1);
//! assert!(dir.path().join("app.yaml").is_file());
//! ```

use std::fs;
use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};

use crate::Error;

/// Bounds on what an archive may unpack to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The most bytes all files together may hold.
    pub max_bytes: u64,
    /// The most entries the archive may have.
    pub max_entries: usize,
}

impl Default for Limits {
    /// 1 GiB and 100 000 entries.
    fn default() -> Self {
        Self {
            max_bytes: 1 << 30,
            max_entries: 100_000,
        }
    }
}

/// What an extraction wrote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Extracted {
    /// Regular files written.
    pub files: usize,
    /// Directories created.
    pub dirs: usize,
    /// Links created.
    pub links: usize,
    /// Bytes of file contents written.
    pub bytes: u64,
}

fn refuse(entry: &str, reason: impl Into<String>) -> Error {
    Error::UnsafeArchive {
        entry: entry.to_string(),
        reason: reason.into(),
    }
}

/// Normalises an entry name to its components, refusing absolute paths and `..`.
fn clean(name: &str) -> Result<Vec<String>, Error> {
    if name.starts_with('/') || name.starts_with('\\') {
        return Err(refuse(name, "absolute paths are not allowed"));
    }
    let mut parts = Vec::new();
    for c in Path::new(name).components() {
        match c {
            Component::Normal(p) => {
                let p = p
                    .to_str()
                    .ok_or_else(|| refuse(name, "the name is not UTF-8"))?;
                parts.push(p.to_string());
            }
            Component::CurDir => {}
            Component::ParentDir => return Err(refuse(name, "'..' is not allowed in names")),
            Component::RootDir | Component::Prefix(_) => {
                return Err(refuse(name, "absolute paths are not allowed"));
            }
        }
    }
    Ok(parts)
}

/// Resolves a link target relative to the directory of `parts`, refusing targets that leave
/// the root.
fn resolve_link(
    entry: &str,
    parts: &[String],
    target: &str,
    relative_to_parent: bool,
) -> Result<Vec<String>, Error> {
    if target.starts_with('/') {
        return Err(refuse(entry, format!("link target '{target}' is absolute")));
    }
    let mut resolved: Vec<String> = if relative_to_parent {
        parts[..parts.len().saturating_sub(1)].to_vec()
    } else {
        Vec::new()
    };
    for c in target.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                if resolved.pop().is_none() {
                    return Err(refuse(
                        entry,
                        format!("link target '{target}' points outside the destination"),
                    ));
                }
            }
            p => resolved.push(p.to_string()),
        }
    }
    Ok(resolved)
}

/// Refuses to write below a symbolic link: every existing ancestor must be a real directory.
fn check_no_link_on_the_way(dest: &Path, parts: &[String], entry: &str) -> Result<PathBuf, Error> {
    let mut path = dest.to_path_buf();
    for (i, p) in parts.iter().enumerate() {
        path.push(p);
        let last = i + 1 == parts.len();
        match fs::symlink_metadata(&path) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(refuse(
                    entry,
                    if last {
                        "it would replace a link"
                    } else {
                        "it would be written through a link"
                    },
                ));
            }
            Ok(m) if !last && !m.is_dir() => {
                return Err(refuse(entry, "a parent is not a directory"));
            }
            _ => {}
        }
    }
    Ok(path)
}

/// Extracts a tar.gz stream into `dest` (which must exist), within `limits`.
pub fn extract(reader: impl Read, dest: &Path, limits: &Limits) -> Result<Extracted, Error> {
    let gz = flate2::read::GzDecoder::new(reader);
    let mut archive = tar::Archive::new(gz);
    let mut summary = Extracted::default();
    let invalid = |e: io::Error| Error::InvalidArchive {
        reason: e.to_string(),
    };
    let mut count = 0usize;
    for entry in archive.entries().map_err(invalid)? {
        let mut entry = entry.map_err(invalid)?;
        count += 1;
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        if count > limits.max_entries {
            return Err(refuse(
                &name,
                format!("the archive has more than {} entries", limits.max_entries),
            ));
        }
        let parts = clean(&name)?;
        let kind = entry.header().entry_type();
        if parts.is_empty() {
            if kind.is_dir() {
                continue;
            }
            return Err(refuse(
                &name,
                "only the root directory may have an empty name",
            ));
        }
        let path = check_no_link_on_the_way(dest, &parts, &name)?;
        let create_parent = |path: &Path| -> Result<(), Error> {
            if let Some(parent) = path.parent() {
                fs::create_dir_all(parent).map_err(|e| Error::io("create directory", parent, e))?;
            }
            Ok(())
        };
        match kind {
            tar::EntryType::Directory => {
                fs::create_dir_all(&path).map_err(|e| Error::io("create directory", &path, e))?;
                summary.dirs += 1;
            }
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                let declared = entry.header().size().map_err(invalid)?;
                let remaining = limits.max_bytes.saturating_sub(summary.bytes);
                if declared > remaining {
                    return Err(refuse(
                        &name,
                        format!("the archive holds more than {} bytes", limits.max_bytes),
                    ));
                }
                create_parent(&path)?;
                let executable = entry
                    .header()
                    .mode()
                    .map(|m| m & 0o111 != 0)
                    .unwrap_or(false);
                let mut file =
                    fs::File::create(&path).map_err(|e| Error::io("create file", &path, e))?;
                let written = io::copy(&mut (&mut entry).take(remaining + 1), &mut file)
                    .map_err(|e| Error::io("write file", &path, e))?;
                if written > remaining {
                    return Err(refuse(
                        &name,
                        format!("the archive holds more than {} bytes", limits.max_bytes),
                    ));
                }
                summary.bytes += written;
                summary.files += 1;
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    let mode = if executable { 0o755 } else { 0o644 };
                    fs::set_permissions(&path, fs::Permissions::from_mode(mode))
                        .map_err(|e| Error::io("set permissions", &path, e))?;
                }
                #[cfg(not(unix))]
                let _ = executable;
            }
            tar::EntryType::Symlink | tar::EntryType::Link => {
                let target = entry
                    .link_name_bytes()
                    .map(|t| String::from_utf8_lossy(&t).into_owned())
                    .ok_or_else(|| refuse(&name, "a link without a target"))?;
                let symbolic = kind == tar::EntryType::Symlink;
                let resolved = resolve_link(&name, &parts, &target, symbolic)?;
                create_parent(&path)?;
                if symbolic {
                    #[cfg(unix)]
                    std::os::unix::fs::symlink(&target, &path)
                        .map_err(|e| Error::io("create link", &path, e))?;
                    #[cfg(not(unix))]
                    return Err(refuse(&name, "symbolic links are not supported here"));
                } else {
                    let source = check_no_link_on_the_way(dest, &resolved, &name)?;
                    fs::hard_link(&source, &path)
                        .map_err(|e| Error::io("create link", &path, e))?;
                }
                summary.links += 1;
            }
            other => {
                return Err(refuse(
                    &name,
                    format!(
                        "entries of type {other:?} (devices, FIFOs and other special files) are not allowed"
                    ),
                ));
            }
        }
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    enum E<'a> {
        File(&'a str, &'a [u8]),
        Dir(&'a str),
        Symlink(&'a str, &'a str),
        Hardlink(&'a str, &'a str),
        Fifo(&'a str),
    }

    /// Builds an archive by writing raw names, which `tar::Builder`'s checked path setters
    /// would refuse.
    fn archive(entries: &[E<'_>]) -> Vec<u8> {
        let mut out = Vec::new();
        {
            let gz = flate2::write::GzEncoder::new(&mut out, flate2::Compression::fast());
            let mut b = tar::Builder::new(gz);
            for e in entries {
                let mut h = tar::Header::new_ustar();
                let (name, kind, data, link): (&str, _, &[u8], Option<&str>) = match e {
                    E::File(n, d) => (n, tar::EntryType::Regular, d, None),
                    E::Dir(n) => (n, tar::EntryType::Directory, b"", None),
                    E::Symlink(n, t) => (n, tar::EntryType::Symlink, b"", Some(t)),
                    E::Hardlink(n, t) => (n, tar::EntryType::Link, b"", Some(t)),
                    E::Fifo(n) => (n, tar::EntryType::Fifo, b"", None),
                };
                let raw = &mut h.as_old_mut().name;
                raw[..name.len()].copy_from_slice(name.as_bytes());
                if let Some(t) = link {
                    h.as_old_mut().linkname[..t.len()].copy_from_slice(t.as_bytes());
                }
                h.set_entry_type(kind);
                h.set_size(data.len() as u64);
                h.set_mode(0o644);
                h.set_cksum();
                b.append(&h, data).unwrap();
            }
            b.into_inner().unwrap().finish().unwrap();
        }
        out
    }

    fn run(entries: &[E<'_>], limits: Limits) -> (tempfile::TempDir, Result<Extracted, Error>) {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out");
        fs::create_dir(&dest).unwrap();
        let bytes = archive(entries);
        let r = extract(bytes.as_slice(), &dest, &limits);
        (dir, r)
    }

    #[test]
    fn extracts_files_dirs_and_inner_links() {
        let (dir, r) = run(
            &[
                E::Dir("./"),
                E::Dir("a"),
                E::File("a/x.yaml", b"x"),
                E::Symlink("a/link", "x.yaml"),
                E::Hardlink("a/hard", "a/x.yaml"),
            ],
            Limits::default(),
        );
        let s = r.unwrap();
        assert_eq!((s.files, s.dirs, s.links, s.bytes), (1, 1, 2, 1));
        assert_eq!(fs::read(dir.path().join("out/a/link")).unwrap(), b"x");
    }

    #[test]
    fn refuses_hostile_entries() {
        let cases: Vec<(Vec<E<'_>>, &str)> = vec![
            (vec![E::File("/etc/passwd", b"x")], "absolute"),
            (vec![E::File("../escape", b"x")], "'..'"),
            (vec![E::File("a/../../escape", b"x")], "'..'"),
            (vec![E::Symlink("l", "../outside")], "outside"),
            (vec![E::Symlink("l", "/etc")], "absolute"),
            (vec![E::Hardlink("h", "../../etc/passwd")], "outside"),
            (vec![E::Fifo("f")], "special files"),
            (
                vec![E::Symlink("l", "."), E::File("l/x", b"x")],
                "through a link",
            ),
        ];
        for (entries, expected) in cases {
            let (dir, r) = run(&entries, Limits::default());
            let err = r.unwrap_err().to_string();
            assert!(err.contains(expected), "{err}");
            assert!(!dir.path().join("escape").exists());
        }
    }

    #[test]
    fn enforces_limits() {
        let big = vec![0u8; 2048];
        let (_d, r) = run(
            &[E::File("a", &big)],
            Limits {
                max_bytes: 1024,
                max_entries: 10,
            },
        );
        assert!(r.unwrap_err().to_string().contains("more than 1024 bytes"));
        let (_d, r) = run(
            &[E::File("a", b""), E::File("b", b""), E::File("c", b"")],
            Limits {
                max_bytes: 1024,
                max_entries: 2,
            },
        );
        assert!(r.unwrap_err().to_string().contains("more than 2 entries"));
    }

    #[test]
    fn refuses_garbage() {
        let dir = tempfile::tempdir().unwrap();
        let r = extract(b"not gzip".as_slice(), dir.path(), &Limits::default());
        assert!(matches!(r, Err(Error::InvalidArchive { .. })), "{r:?}");
    }
}
