//! Deterministic tar.gz artifacts, written the way Flux's source controller writes them.
//!
//! The archive starts with the root directory as entry `.`, then every directory and regular
//! file in `filepath.Walk` order (depth first, names compared bytewise within a directory),
//! named relative to the root without a trailing `/`. Headers are sanitised: uid and gid 0,
//! no user or group names, modification time 0, and modes 0o750 for directories, 0o700 for
//! executables and 0o600 for other files. Symbolic links, submodules and anything else are
//! left out.
//!
//! The gzip stream is one member with an empty header (no name, time 0, unknown OS). Its
//! deflate data is made of 128 KiB blocks of the tar stream compressed independently, each
//! primed with the 32 KiB before it and ended with a sync flush, on as many threads as there
//! are cores (pigz's scheme with a fixed block size): the bytes depend only on the tree, not on
//! the thread count or on how the archive was written, so the same tree always gives the same
//! bytes and the same `sha256:` digest. Any gzip reader (`tar xzf`, Go's `compress/gzip`)
//! reads it as a single stream.
//!
//! The level is 5 of zlib-rs (flate2's `zlib-rs` backend, which gix links too). Flux writes
//! its artifacts with Go's default level, and zlib's default is 6; on zlib-rs, level 6 costs
//! about twice the time of level 5 for 0.6% smaller archives (measured on 12 MB of Kubernetes
//! YAML: 1.391 MB at level 6, 1.398 MB at 5, 1.441 MB at 4, 1.506 MB at 3; level 1 uses fixed
//! Huffman codes and gave 2.2 MB). Compression is most of the cost of packing (BENCHMARKS.md).
//! The block size, the level and the backend are part of the format: changing any of them
//! changes every digest, so all three are pinned.
//!
//! ```
//! use gitops_git::artifact::Packer;
//! let mut packer = Packer::new(Vec::new()).unwrap();
//! packer.dir("deploy").unwrap();
//! packer.file("deploy/app.yaml", false, b"kind: ConfigMap\n").unwrap();
//! let packed = packer.finish().unwrap();
//! assert!(packed.digest.to_string().starts_with("sha256:"));
//! assert_eq!(packed.size, packed.writer.len() as u64);
//! ```

use std::cmp::Ordering;
use std::io::{self, Write};

use gitops_core::Digest;
use sha2::Digest as _;

use crate::Error;
use crate::gzip::ParallelGz;

/// Mode of directories in the archive.
pub const DIR_MODE: u32 = 0o750;
/// Mode of executable files in the archive.
pub const EXECUTABLE_MODE: u32 = 0o700;
/// Mode of other files in the archive.
pub const FILE_MODE: u32 = 0o600;

/// The deflate level (see the module docs). Part of the artifact format: changing it changes
/// every digest.
const LEVEL: u32 = 5;

/// Orders `/`-separated paths as Go's `filepath.Walk` visits them: a directory before its
/// contents, names compared bytewise within each directory.
pub fn walk_order(a: &str, b: &str) -> Ordering {
    a.split('/').cmp(b.split('/'))
}

/// A writer that hashes and counts what passes through it.
struct Hashing<W> {
    inner: W,
    hasher: sha2::Sha256,
    written: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A packed artifact: the writer it went to, its digest and its size.
#[derive(Debug)]
pub struct Packed<W> {
    /// The writer given to [`Packer::new`], after the last byte.
    pub writer: W,
    /// `sha256:<hex>` of the compressed bytes.
    pub digest: Digest,
    /// The number of compressed bytes.
    pub size: u64,
    /// The number of files packed.
    pub files: usize,
}

/// Writes a deterministic tar.gz entry by entry. The caller adds entries in
/// [`walk_order`]; [`Packer::new`] has already written the root entry `.`.
pub struct Packer<W: Write> {
    tar: tar::Builder<ParallelGz<Hashing<W>>>,
    files: usize,
    last: Option<String>,
}

fn header(kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    h.set_size(size);
    h
}

fn archive_error(e: io::Error) -> Error {
    Error::InvalidArchive {
        reason: format!("writing the archive failed: {e}"),
    }
}

impl<W: Write> Packer<W> {
    /// Starts an archive on `writer` and writes the root entry `.`.
    pub fn new(writer: W) -> Result<Self, Error> {
        let hashing = Hashing {
            inner: writer,
            hasher: sha2::Sha256::new(),
            written: 0,
        };
        let gz = ParallelGz::new(hashing, LEVEL).map_err(archive_error)?;
        let mut tar = tar::Builder::new(gz);
        tar.mode(tar::HeaderMode::Deterministic);
        let mut packer = Self {
            tar,
            files: 0,
            last: None,
        };
        let mut root = header(tar::EntryType::Directory, DIR_MODE, 0);
        // `set_path` normalises `.` away; write the name field directly.
        root.as_old_mut().name[0] = b'.';
        root.set_cksum();
        packer
            .tar
            .append(&root, io::empty())
            .map_err(archive_error)?;
        Ok(packer)
    }

    fn check_order(&mut self, path: &str) -> Result<(), Error> {
        if path.is_empty()
            || path.starts_with('/')
            || path
                .split('/')
                .any(|c| c.is_empty() || c == "." || c == "..")
        {
            return Err(Error::InvalidArchive {
                reason: format!("'{path}' is not a clean relative path"),
            });
        }
        if let Some(last) = &self.last
            && walk_order(last, path) != Ordering::Less
        {
            return Err(Error::InvalidArchive {
                reason: format!("'{path}' added after '{last}': entries must come in walk order"),
            });
        }
        self.last = Some(path.to_string());
        Ok(())
    }

    /// Adds a directory.
    pub fn dir(&mut self, path: &str) -> Result<(), Error> {
        self.check_order(path)?;
        let mut h = header(tar::EntryType::Directory, DIR_MODE, 0);
        self.tar
            .append_data(&mut h, path, io::empty())
            .map_err(archive_error)
    }

    /// Adds a regular file.
    pub fn file(&mut self, path: &str, executable: bool, contents: &[u8]) -> Result<(), Error> {
        self.check_order(path)?;
        let mode = if executable {
            EXECUTABLE_MODE
        } else {
            FILE_MODE
        };
        let mut h = header(tar::EntryType::Regular, mode, contents.len() as u64);
        self.files += 1;
        self.tar
            .append_data(&mut h, path, contents)
            .map_err(archive_error)
    }

    /// Ends the archive and the gzip stream and returns the digest of the bytes written.
    pub fn finish(self) -> Result<Packed<W>, Error> {
        let gz = self.tar.into_inner().map_err(archive_error)?;
        let mut hashing = gz.finish().map_err(archive_error)?;
        hashing.flush().map_err(archive_error)?;
        let hex: String = hashing
            .hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Ok(Packed {
            writer: hashing.inner,
            digest: Digest::new("sha256", &hex)?,
            size: hashing.written,
            files: self.files,
        })
    }
}

/// The `sha256:` digest of some bytes, as artifacts are digested.
pub fn digest(bytes: &[u8]) -> Digest {
    Digest::sha256(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pack(entries: &[(&str, Option<&[u8]>)]) -> Packed<Vec<u8>> {
        let mut p = Packer::new(Vec::new()).unwrap();
        for (path, contents) in entries {
            match contents {
                None => p.dir(path).unwrap(),
                Some(c) => p.file(path, path.ends_with(".sh"), c).unwrap(),
            }
        }
        p.finish().unwrap()
    }

    #[test]
    fn walk_order_is_depth_first_lexical() {
        let mut paths = vec!["a.b", "a/c", "a", "b", "a/b/c", "A"];
        paths.sort_by(|a, b| walk_order(a, b));
        assert_eq!(paths, ["A", "a", "a/b/c", "a/c", "a.b", "b"]);
    }

    #[test]
    fn same_tree_same_digest_and_sanitised_headers() {
        let tree: &[(&str, Option<&[u8]>)] = &[
            ("apps", None),
            ("apps/run.sh", Some(b"#!/bin/sh\n")),
            ("apps/x.yaml", Some(b"a: 1\n")),
            ("z.yaml", Some(b"")),
        ];
        let a = pack(tree);
        let b = pack(tree);
        assert_eq!(a.digest, b.digest);
        assert_eq!(a.writer, b.writer);
        assert_eq!(a.digest, digest(&a.writer));
        assert_eq!(a.files, 3);

        let gz = flate2::read::GzDecoder::new(a.writer.as_slice());
        let mut archive = tar::Archive::new(gz);
        let mut seen = Vec::new();
        for entry in archive.entries().unwrap() {
            let entry = entry.unwrap();
            let h = entry.header();
            assert_eq!(h.uid().unwrap(), 0);
            assert_eq!(h.gid().unwrap(), 0);
            assert_eq!(h.mtime().unwrap(), 0);
            assert!(h.username().unwrap().unwrap_or("").is_empty());
            let path = String::from_utf8(entry.path_bytes().to_vec()).unwrap();
            seen.push((path, h.mode().unwrap(), h.entry_type()));
        }
        assert_eq!(
            seen,
            vec![
                (".".to_string(), 0o750, tar::EntryType::Directory),
                ("apps".into(), 0o750, tar::EntryType::Directory),
                ("apps/run.sh".into(), 0o700, tar::EntryType::Regular),
                ("apps/x.yaml".into(), 0o600, tar::EntryType::Regular),
                ("z.yaml".into(), 0o600, tar::EntryType::Regular),
            ]
        );
    }

    #[test]
    fn content_changes_the_digest() {
        let a = pack(&[("a", Some(b"1"))]);
        let b = pack(&[("a", Some(b"2"))]);
        assert_ne!(a.digest, b.digest);
    }

    #[test]
    fn refuses_out_of_order_and_unclean_paths() {
        let mut p = Packer::new(Vec::new()).unwrap();
        p.file("b", false, b"").unwrap();
        assert!(p.file("a", false, b"").is_err());
        assert!(p.file("c/../d", false, b"").is_err());
        assert!(p.file("/abs", false, b"").is_err());
    }

    #[test]
    fn long_paths_survive() {
        let long = format!("{}/file.yaml", "d".repeat(120));
        let packed = pack(&[(&long[..120], None), (&long, Some(b"x"))]);
        let gz = flate2::read::GzDecoder::new(packed.writer.as_slice());
        let mut archive = tar::Archive::new(gz);
        let names: Vec<String> = archive
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().display().to_string())
            .collect();
        assert!(names.contains(&long), "{names:?}");
    }
}
