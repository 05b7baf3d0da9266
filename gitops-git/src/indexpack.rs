//! Receiving a pack into a repository's `objects/pack`, indexed while it arrives.
//!
//! gitoxide's `Bundle::write_to_directory` inflates every entry as it arrives (to find where
//! it ends) but computes the object ids only after the last byte, inflating every object a
//! second time. Here, as `git index-pack` does, each whole object is inflated once, as it
//! arrives, and hashed on the way; the pack is written to disk and its checksum verified in
//! the same pass. Only deltas are left for after the last byte: they are resolved with
//! gitoxide's pack decoding ([`gix::odb::pack::data::File::decode_entry`]) on the written
//! pack. The index is written here (version 2, as git writes it) next to the pack, both named
//! after the pack's checksum, so that [`gix::open`] finds them.

use std::collections::HashMap;
use std::io::{self, BufRead, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use gix::ObjectId;
use gix::odb::pack::data::decode::entry::ResolvedBase;

const HASH: gix::hash::Kind = gix::hash::Kind::Sha1;
const HASH_LEN: usize = 20;

/// The largest object a pack may hold, whole or as the result of a delta: the default
/// [`crate::extract::Limits::max_bytes`], as an object larger than that could never be
/// unpacked from the artifact. The pack comes from an untrusted server: its declared sizes
/// are checked against this before anything is allocated for them.
pub(crate) const MAX_OBJECT_BYTES: u64 = 1 << 30;

/// The most memory gitoxide may allocate to decode one delta: the base and the result
/// buffers plus the delta instructions, each at most [`MAX_OBJECT_BYTES`].
const DECODE_ALLOC_LIMIT: usize = (MAX_OBJECT_BYTES as usize).saturating_mul(3);

/// The memory all delta resolver threads together may use to cache decoded bases.
const DELTA_CACHE_BYTES: usize = 64 * 1024 * 1024;

/// When to give up: the fetch's cancel flag and, when there is one, its deadline.
pub(crate) struct Stop<'a> {
    pub(crate) interrupt: &'a AtomicBool,
    pub(crate) deadline: Option<Instant>,
}

impl Stop<'_> {
    fn check(&self) -> io::Result<()> {
        if self.interrupt.load(Ordering::Relaxed) {
            return Err(io::Error::new(io::ErrorKind::Interrupted, "interrupted"));
        }
        if self.deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "timed out while indexing the pack",
            ));
        }
        Ok(())
    }
}

fn too_large(what: &str, size: u64) -> io::Error {
    invalid(format!(
        "{what} declares {size} bytes, more than the limit of {MAX_OBJECT_BYTES} bytes per object"
    ))
}

/// Reads the result size from the start of a delta (base size and result size, both in
/// git's little-endian base-128 encoding); `None` when `header` is too short or malformed.
fn delta_result_size(header: &[u8]) -> Option<u64> {
    let mut bytes = header.iter();
    let mut varint = || {
        let mut value = 0u64;
        let mut shift = 0u32;
        loop {
            let b = *bytes.next()?;
            if shift > 63 {
                return None;
            }
            value |= u64::from(b & 0x7f) << shift;
            shift += 7;
            if b & 0x80 == 0 {
                return Some(value);
            }
        }
    };
    varint()?;
    varint()
}

fn invalid(what: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.into())
}

/// One entry of the pack: its id once known, where it starts and the CRC-32 of its bytes.
struct Indexed {
    id: Option<ObjectId>,
    offset: u64,
    crc32: u32,
}

/// The pack stream as it is read: every byte goes to the pack file, the pack checksum and
/// the current entry's CRC-32.
struct Tee<'a, W: Write> {
    input: &'a mut dyn BufRead,
    file: W,
    pack_hash: gix::hash::Hasher,
    crc: flate2::Crc,
    position: u64,
}

impl<W: Write> Tee<'_, W> {
    fn take(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.file.write_all(bytes)?;
        self.pack_hash.update(bytes);
        self.crc.update(bytes);
        self.position += bytes.len() as u64;
        Ok(())
    }

    fn byte(&mut self) -> io::Result<u8> {
        let mut b = [0u8; 1];
        self.input.read_exact(&mut b)?;
        self.take(&b)?;
        Ok(b[0])
    }

    fn exact(&mut self, out: &mut [u8]) -> io::Result<()> {
        self.input.read_exact(out)?;
        self.take(out)
    }

    /// Inflates one zlib stream of `size` bytes, handing the output to `sink`.
    fn inflate(
        &mut self,
        size: u64,
        inflater: &mut flate2::Decompress,
        out: &mut [u8],
        mut sink: impl FnMut(&[u8]),
    ) -> io::Result<()> {
        inflater.reset(true);
        loop {
            let available = self.input.fill_buf()?;
            if available.is_empty() {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the pack ended inside an object",
                ));
            }
            let (in_before, out_before) = (inflater.total_in(), inflater.total_out());
            let status = inflater
                .decompress(available, out, flate2::FlushDecompress::None)
                .map_err(|e| invalid(format!("a pack entry does not inflate: {e}")))?;
            let consumed = (inflater.total_in() - in_before) as usize;
            let produced = (inflater.total_out() - out_before) as usize;
            let taken = available.get(..consumed).unwrap_or_default();
            self.file.write_all(taken)?;
            self.pack_hash.update(taken);
            self.crc.update(taken);
            self.position += taken.len() as u64;
            self.input.consume(consumed);
            if let Some(produced) = out.get(..produced) {
                sink(produced);
            }
            if inflater.total_out() > size {
                return Err(invalid("a pack entry inflates beyond its size"));
            }
            match status {
                flate2::Status::StreamEnd => break,
                _ if consumed == 0 && produced == 0 => {
                    return Err(invalid("a pack entry does not inflate"));
                }
                _ => {}
            }
        }
        if inflater.total_out() != size {
            return Err(invalid("a pack entry inflates to less than its size"));
        }
        Ok(())
    }
}

/// Reads the pack from `input` into `pack_dir` as `pack-<checksum>.pack` with its `.idx`.
/// Returns the number of objects (none written for an empty pack).
pub(crate) fn receive(
    input: &mut dyn BufRead,
    pack_dir: &Path,
    stop: &Stop<'_>,
) -> io::Result<usize> {
    let incoming = tempfile::Builder::new()
        .prefix("incoming-")
        .suffix(".pack")
        .tempfile_in(pack_dir)?;
    let mut tee = Tee {
        input,
        file: io::BufWriter::with_capacity(64 * 1024, incoming.as_file()),
        pack_hash: gix::hash::hasher(HASH),
        crc: flate2::Crc::new(),
        position: 0,
    };
    let mut header = [0u8; 12];
    tee.exact(&mut header)?;
    let (magic, rest) = header.split_at(4);
    let (version, count) = rest.split_at(4);
    if magic != b"PACK" {
        return Err(invalid("the server's pack does not start with PACK"));
    }
    let version = u32::from_be_bytes(version.try_into().map_err(|_| invalid("pack header"))?);
    if version != 2 && version != 3 {
        return Err(invalid(format!("unsupported pack version {version}")));
    }
    let count = u32::from_be_bytes(count.try_into().map_err(|_| invalid("pack header"))?) as usize;

    let mut entries: Vec<Indexed> = Vec::with_capacity(count.min(1 << 16));
    let mut deltas: Vec<usize> = Vec::new();
    let mut inflater = flate2::Decompress::new(true);
    let mut out = vec![0u8; 64 * 1024];
    for _ in 0..count {
        stop.check()?;
        tee.crc.reset();
        let offset = tee.position;
        let mut c = tee.byte()?;
        let kind = (c >> 4) & 7;
        let mut size = u64::from(c & 15);
        let mut shift = 4;
        while c & 0x80 != 0 {
            c = tee.byte()?;
            if shift > 57 {
                return Err(invalid("a pack entry's size does not fit 64 bits"));
            }
            size |= u64::from(c & 0x7f) << shift;
            shift += 7;
        }
        let object_kind = match kind {
            1 => Some(gix::objs::Kind::Commit),
            2 => Some(gix::objs::Kind::Tree),
            3 => Some(gix::objs::Kind::Blob),
            4 => Some(gix::objs::Kind::Tag),
            6 | 7 => None,
            other => return Err(invalid(format!("unknown pack entry type {other}"))),
        };
        let id = match object_kind {
            Some(_) if size > MAX_OBJECT_BYTES => return Err(too_large("an object", size)),
            Some(object_kind) => {
                let mut hasher = gix::hash::hasher(HASH);
                hasher.update(&gix::objs::encode::loose_header(object_kind, size));
                tee.inflate(size, &mut inflater, &mut out, |bytes| hasher.update(bytes))?;
                Some(
                    hasher
                        .try_finalize()
                        .map_err(|e| invalid(format!("hashing an object: {e}")))?,
                )
            }
            None => {
                if kind == 6 {
                    // The base's distance back, in git's offset encoding.
                    let mut c = tee.byte()?;
                    let mut distance = u64::from(c & 0x7f);
                    while c & 0x80 != 0 {
                        c = tee.byte()?;
                        distance = distance
                            .checked_add(1)
                            .and_then(|d| d.checked_mul(128))
                            .ok_or_else(|| invalid("a delta's base offset overflows"))?
                            | u64::from(c & 0x7f);
                    }
                    if distance == 0 || distance > offset {
                        return Err(invalid("a delta's base is not before it in the pack"));
                    }
                } else {
                    let mut base = [0u8; HASH_LEN];
                    tee.exact(&mut base)?;
                }
                // The delta's header says how large its result is: refuse what exceeds the
                // limit now rather than when it is resolved.
                let mut header: Vec<u8> = Vec::with_capacity(20);
                tee.inflate(size, &mut inflater, &mut out, |bytes| {
                    let room = 20usize.saturating_sub(header.len());
                    header.extend_from_slice(bytes.get(..room).unwrap_or(bytes));
                })?;
                if let Some(result) = delta_result_size(&header)
                    && result > MAX_OBJECT_BYTES
                {
                    return Err(too_large("a delta's result", result));
                }
                deltas.push(entries.len());
                None
            }
        };
        entries.push(Indexed {
            id,
            offset,
            crc32: tee.crc.sum(),
        });
    }
    let computed = tee
        .pack_hash
        .clone()
        .try_finalize()
        .map_err(|e| invalid(format!("hashing the pack: {e}")))?;
    let mut trailer = [0u8; HASH_LEN];
    tee.input.read_exact(&mut trailer)?;
    if computed.as_slice() != trailer {
        return Err(invalid("the pack's checksum does not match its contents"));
    }
    tee.file.write_all(&trailer)?;
    tee.file.flush()?;
    drop(tee);
    if count == 0 {
        return Ok(0);
    }

    let name = format!("pack-{}", computed.to_hex());
    let pack_path = pack_dir.join(format!("{name}.pack"));
    incoming
        .persist(&pack_path)
        .map_err(|e| io::Error::other(format!("keeping the pack: {}", e.error)))?;
    if !deltas.is_empty() {
        resolve_deltas(&pack_path, &mut entries, &deltas, stop)?;
    }
    write_index(&pack_dir.join(format!("{name}.idx")), &entries, &computed)?;
    Ok(count)
}

type PackFile = gix::odb::pack::data::File;

/// Entry indexes with their ids, `None` for a delta whose base is not known yet.
type Resolved = Vec<(usize, Option<ObjectId>)>;

fn decode_error(e: gix::Error) -> io::Error {
    invalid(format!("resolving a delta: {e}"))
}

/// Computes the ids of the delta entries from the written pack, on as many threads as there
/// are cores, each taking a consecutive part of the deltas in pack order.
/// Stops with an error when `stop` says so, checked before every delta.
fn resolve_deltas(
    pack_path: &Path,
    entries: &mut [Indexed],
    deltas: &[usize],
    stop: &Stop<'_>,
) -> io::Result<()> {
    // The pack is untrusted: gitoxide refuses to allocate more than this for one object.
    let pack = PackFile::at(pack_path, HASH)
        .map_err(decode_error)?
        .with_alloc_limit_bytes(Some(DECODE_ALLOC_LIMIT));
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().clamp(1, 8));
    // The base cache is split between the threads, so that together they stay within it.
    let cache_bytes = DELTA_CACHE_BYTES / threads;
    let mut pending: Vec<usize> = deltas.to_vec();
    // A delta may name its base by id, and that base may be a delta itself: resolve in rounds
    // until nothing changes.
    loop {
        stop.check()?;
        let by_id: HashMap<ObjectId, u64> = entries
            .iter()
            .filter_map(|e| e.id.map(|id| (id, e.offset)))
            .collect();
        let work: Vec<(usize, u64)> = pending
            .iter()
            .filter_map(|&i| entries.get(i).map(|e| (i, e.offset)))
            .collect();
        let per_thread = work.len().div_ceil(threads).max(1);
        let results: Vec<io::Result<Resolved>> = std::thread::scope(|scope| {
            let mut handles = Vec::new();
            for part in work.chunks(per_thread) {
                let (pack, by_id) = (&pack, &by_id);
                handles.push(
                    std::thread::Builder::new()
                        .name("gitops-deltas".into())
                        .spawn_scoped(scope, move || {
                            resolve_part(pack, by_id, part, cache_bytes, stop)
                        }),
                );
            }
            handles
                .into_iter()
                .map(|h| match h {
                    Ok(h) => h
                        .join()
                        .unwrap_or_else(|_| Err(io::Error::other("a delta resolver panicked"))),
                    Err(e) => Err(e),
                })
                .collect()
        });
        let mut next = Vec::new();
        for result in results {
            for (i, id) in result? {
                match (id, entries.get_mut(i)) {
                    (Some(id), Some(e)) => e.id = Some(id),
                    _ => next.push(i),
                }
            }
        }
        if next.is_empty() {
            return Ok(());
        }
        if next.len() == pending.len() {
            return Err(invalid(
                "the pack has deltas against objects it does not contain",
            ));
        }
        next.sort_unstable();
        pending = next;
    }
}

/// Resolves `part` (entry index, offset); `None` for a delta whose base is not known yet.
fn resolve_part(
    pack: &PackFile,
    by_id: &HashMap<ObjectId, u64>,
    part: &[(usize, u64)],
    cache_bytes: usize,
    stop: &Stop<'_>,
) -> io::Result<Resolved> {
    let mut inflate = gix::zlib::Inflate::default();
    let mut out = Vec::new();
    // Bases decoded for one delta serve the next ones of the same chain.
    let mut cache = gix::odb::pack::cache::lru::MemoryCappedHashmap::new(cache_bytes);
    let mut resolved = Vec::with_capacity(part.len());
    for &(i, offset) in part {
        stop.check()?;
        let entry = pack.entry(offset).map_err(decode_error)?;
        let missing = std::cell::Cell::new(false);
        let resolve = |id: &gix::oid, _: &mut Vec<u8>| -> gix::Result<Option<ResolvedBase>> {
            match by_id.get(id) {
                Some(&at) => Ok(Some(ResolvedBase::InPack(pack.entry(at)?))),
                None => {
                    missing.set(true);
                    Ok(None)
                }
            }
        };
        match pack.decode_entry(entry, &mut out, &mut inflate, &resolve, &mut cache) {
            Ok(outcome) => {
                let object = usize::try_from(outcome.object_size)
                    .ok()
                    .and_then(|size| out.get(..size))
                    .ok_or_else(|| invalid("a resolved delta is shorter than its size"))?;
                let mut hasher = gix::hash::hasher(HASH);
                hasher.update(&gix::objs::encode::loose_header(
                    outcome.kind,
                    object.len() as u64,
                ));
                hasher.update(object);
                let id = hasher
                    .try_finalize()
                    .map_err(|e| invalid(format!("hashing an object: {e}")))?;
                resolved.push((i, Some(id)));
            }
            Err(_) if missing.get() => resolved.push((i, None)),
            Err(e) => return Err(decode_error(e)),
        }
    }
    Ok(resolved)
}

/// Writes a version 2 pack index of `entries` (all resolved).
fn write_index(path: &Path, entries: &[Indexed], pack_checksum: &ObjectId) -> io::Result<()> {
    let mut sorted: Vec<(ObjectId, u64, u32)> = entries
        .iter()
        .map(|e| {
            e.id.map(|id| (id, e.offset, e.crc32))
                .ok_or_else(|| invalid("an object of the pack was not resolved"))
        })
        .collect::<io::Result<_>>()?;
    sorted.sort_by_key(|e| e.0);
    let mut idx: Vec<u8> = Vec::with_capacity(8 + 1024 + sorted.len() * 28 + 2 * HASH_LEN);
    idx.extend_from_slice(&[0xff, b't', b'O', b'c']);
    idx.extend_from_slice(&2u32.to_be_bytes());
    let mut fanout = [0u32; 256];
    for (id, _, _) in &sorted {
        if let Some(first) = id.as_slice().first() {
            fanout[usize::from(*first)] += 1;
        }
    }
    let mut running = 0u32;
    for n in fanout {
        running += n;
        idx.extend_from_slice(&running.to_be_bytes());
    }
    for (id, _, _) in &sorted {
        idx.extend_from_slice(id.as_slice());
    }
    for (_, _, crc) in &sorted {
        idx.extend_from_slice(&crc.to_be_bytes());
    }
    let mut large: Vec<u64> = Vec::new();
    for (_, offset, _) in &sorted {
        match u32::try_from(*offset) {
            Ok(small) if small < 0x8000_0000 => idx.extend_from_slice(&small.to_be_bytes()),
            _ => {
                let at = u32::try_from(large.len())
                    .ok()
                    .filter(|at| *at < 0x8000_0000)
                    .ok_or_else(|| invalid("too many large offsets"))?;
                idx.extend_from_slice(&(0x8000_0000 | at).to_be_bytes());
                large.push(*offset);
            }
        }
    }
    for offset in large {
        idx.extend_from_slice(&offset.to_be_bytes());
    }
    idx.extend_from_slice(pack_checksum.as_slice());
    let mut hasher = gix::hash::hasher(HASH);
    hasher.update(&idx);
    let checksum = hasher
        .try_finalize()
        .map_err(|e| invalid(format!("hashing the index: {e}")))?;
    idx.extend_from_slice(checksum.as_slice());
    std::fs::write(path, idx)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::{Command, Stdio};

    static NEVER: AtomicBool = AtomicBool::new(false);

    fn no_stop() -> Stop<'static> {
        Stop {
            interrupt: &NEVER,
            deadline: None,
        }
    }

    fn git(dir: &Path, args: &[&str], stdin: &[u8]) -> Vec<u8> {
        let mut child = Command::new("git")
            .current_dir(dir)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the tests need the git program");
        let mut input = child.stdin.take().expect("stdin");
        input.write_all(stdin).expect("write stdin");
        drop(input);
        let out = child.wait_with_output().expect("git");
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    /// A history that deltas well: a large file changed a little in every commit.
    fn repository() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        git(d, &["init", "-q", "-b", "main"], b"");
        let mut text: String = (0..3000)
            .map(|i| format!("line {i} of the file\n"))
            .collect();
        for n in 0..6 {
            text = text.replacen(&format!("line {} of", n * 97), "changed", 1);
            text.push_str(&format!("appended {n}\n"));
            std::fs::write(d.join("big.txt"), &text).expect("write");
            std::fs::write(d.join(format!("small-{n}.txt")), format!("{n}\n")).expect("write");
            git(d, &["add", "-A"], b"");
            git(
                d,
                &[
                    "-c",
                    "user.name=t",
                    "-c",
                    "user.email=t@example.invalid",
                    "commit",
                    "-q",
                    "-m",
                    &format!("commit {n}"),
                ],
                b"",
            );
        }
        dir
    }

    /// Indexes `pack` here and with `git index-pack`: the same pack and the same index bytes.
    fn same_as_git(pack: &[u8]) -> usize {
        let ours = tempfile::tempdir().expect("tempdir");
        let count = receive(&mut &pack[..], ours.path(), &no_stop()).expect("the pack is received");
        let theirs = tempfile::tempdir().expect("tempdir");
        std::fs::write(theirs.path().join("p.pack"), pack).expect("write");
        let hash = git(theirs.path(), &["index-pack", "-o", "p.idx", "p.pack"], b"");
        let hash = String::from_utf8_lossy(&hash).trim().to_string();
        let read =
            |p: std::path::PathBuf| std::fs::read(&p).unwrap_or_else(|e| panic!("{p:?}: {e}"));
        assert_eq!(read(ours.path().join(format!("pack-{hash}.pack"))), pack);
        assert_eq!(
            read(ours.path().join(format!("pack-{hash}.idx"))),
            read(theirs.path().join("p.idx")),
            "the index is git's, byte for byte"
        );
        let listing = git(theirs.path(), &["verify-pack", "-v", "p.idx"], b"");
        assert!(
            String::from_utf8_lossy(&listing).contains("chain length = 1"),
            "the pack has deltas"
        );
        count
    }

    #[test]
    fn indexes_packs_with_offset_deltas_as_git_does() {
        let repo = repository();
        let pack = git(
            repo.path(),
            &["pack-objects", "--stdout", "--revs", "--delta-base-offset"],
            b"HEAD\n",
        );
        // Six commits, six trees, six versions of big.txt, six small files.
        assert_eq!(same_as_git(&pack), 24);
    }

    #[test]
    fn indexes_packs_with_ref_deltas_as_git_does() {
        let repo = repository();
        let pack = git(
            repo.path(),
            &["pack-objects", "--stdout", "--revs"],
            b"HEAD\n",
        );
        same_as_git(&pack);
    }

    #[test]
    fn an_empty_pack_writes_nothing() {
        let repo = repository();
        let pack = git(repo.path(), &["pack-objects", "--stdout"], b"");
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(
            receive(&mut &pack[..], dir.path(), &no_stop()).expect("empty pack"),
            0
        );
        assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 0);
    }

    #[test]
    fn damaged_and_truncated_packs_fail_and_leave_nothing() {
        let repo = repository();
        let pack = git(
            repo.path(),
            &["pack-objects", "--stdout", "--revs", "--delta-base-offset"],
            b"HEAD\n",
        );
        let mut damaged = pack.clone();
        let middle = damaged.len() / 2;
        damaged[middle] ^= 0x55;
        let mut bad_trailer = pack.clone();
        let last = bad_trailer.len() - 1;
        bad_trailer[last] ^= 1;
        for bad in [
            &damaged[..],
            &pack[..pack.len() / 2],
            &pack[..pack.len() - 1],
            &bad_trailer[..],
            &pack[..0],
            b"PACK\0\0\0\x09\0\0\0\x01",
        ] {
            let dir = tempfile::tempdir().expect("tempdir");
            assert!(receive(&mut &bad[..], dir.path(), &no_stop()).is_err());
            assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 0);
        }
    }

    /// A pack entry's header: type and size in git's encoding.
    fn entry_header(kind: u8, size: u64) -> Vec<u8> {
        let mut first = (kind << 4) | (size & 15) as u8;
        let mut rest = size >> 4;
        let mut out = Vec::new();
        while rest != 0 {
            out.push(first | 0x80);
            first = (rest & 0x7f) as u8;
            rest >>= 7;
        }
        out.push(first);
        out
    }

    fn varint(mut n: u64) -> Vec<u8> {
        let mut out = Vec::new();
        loop {
            let b = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                out.push(b);
                return out;
            }
            out.push(b | 0x80);
        }
    }

    fn zlib(data: &[u8]) -> Vec<u8> {
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(data).expect("deflate");
        z.finish().expect("deflate")
    }

    /// A pack of a blob and an offset delta on it whose header declares `result` bytes.
    fn pack_with_delta_result(result: u64) -> Vec<u8> {
        let mut pack = b"PACK".to_vec();
        pack.extend_from_slice(&2u32.to_be_bytes());
        pack.extend_from_slice(&2u32.to_be_bytes());
        let base = b"hello";
        let base_at = pack.len();
        pack.extend(entry_header(3, base.len() as u64));
        pack.extend(zlib(base));
        let distance = pack.len() - base_at;
        assert!(distance < 128, "one byte of distance");
        // Base size, result size, then one copy of the whole base.
        let mut delta = varint(base.len() as u64);
        delta.extend(varint(result));
        delta.extend_from_slice(&[0x80 | 0x10, base.len() as u8]);
        pack.extend(entry_header(6, delta.len() as u64));
        pack.push(distance as u8);
        pack.extend(zlib(&delta));
        let mut hasher = gix::hash::hasher(HASH);
        hasher.update(&pack);
        let checksum = hasher.try_finalize().expect("sha1");
        pack.extend_from_slice(checksum.as_slice());
        pack
    }

    #[test]
    fn a_delta_declaring_a_huge_result_is_refused_before_allocating() {
        // The hand-made pack is well formed: with a small result it is indexed.
        let dir = tempfile::tempdir().expect("tempdir");
        let ok = pack_with_delta_result(5);
        assert_eq!(
            receive(&mut &ok[..], dir.path(), &no_stop()).expect("valid"),
            2
        );

        let huge = pack_with_delta_result(1 << 40);
        let dir = tempfile::tempdir().expect("tempdir");
        let err = receive(&mut &huge[..], dir.path(), &no_stop()).expect_err("refused");
        let message = err.to_string();
        assert!(message.contains("limit"), "{message}");
        assert!(message.contains(&MAX_OBJECT_BYTES.to_string()), "{message}");
        assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 0);
    }

    #[test]
    fn delta_resolution_stops_when_interrupted_or_past_the_deadline() {
        let repo = repository();
        let pack = git(
            repo.path(),
            &["pack-objects", "--stdout", "--revs", "--delta-base-offset"],
            b"HEAD\n",
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("p.pack");
        std::fs::write(&path, &pack).expect("write");
        // Any entry will do: nothing is decoded once stopped.
        let mut entries = vec![Indexed {
            id: None,
            offset: 12,
            crc32: 0,
        }];
        let interrupted = AtomicBool::new(true);
        let stop = Stop {
            interrupt: &interrupted,
            deadline: None,
        };
        let err = resolve_deltas(&path, &mut entries, &[0], &stop).expect_err("interrupted");
        assert_eq!(err.kind(), io::ErrorKind::Interrupted, "{err}");
        let stop = Stop {
            interrupt: &NEVER,
            deadline: Some(Instant::now()),
        };
        let err = resolve_deltas(&path, &mut entries, &[0], &stop).expect_err("timed out");
        assert_eq!(err.kind(), io::ErrorKind::TimedOut, "{err}");
    }
}
