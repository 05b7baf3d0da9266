//! A deterministic gzip writer that compresses on several threads.
//!
//! The input is cut into blocks of [`BLOCK`] bytes, whatever the thread count. Each block is
//! deflated on its own, primed with the last 32 KiB of the block before it as the dictionary
//! (so back references may cross block boundaries, as in one sequential stream), and ended with
//! a sync flush (an empty stored block that byte-aligns the output); the last block ends the
//! deflate stream. The blocks' outputs, concatenated in order, form one raw deflate stream in
//! one gzip member, with the CRC-32 and length of the whole input in the trailer. A block's
//! output depends only on its own bytes, the bytes before it and its position, never on
//! which thread compressed it or when: the same input always gives the same bytes. This is
//! pigz's scheme with a fixed block size.
//!
//! Blocks are compressed by worker threads, started when the first block is complete (an input
//! that fits in one block is compressed on the calling thread, without threads); the caller
//! keeps producing input meanwhile, and writes finished blocks to the inner writer in order.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::sync::mpsc;
use std::thread;

use flate2::{Compress, Compression, Crc, FlushCompress, Status};

/// The size of the blocks compressed independently. Part of the format: changing it changes
/// the bytes.
pub(crate) const BLOCK: usize = 128 * 1024;

/// How much of the preceding input primes each block: deflate's whole window.
const DICTIONARY: usize = 32 * 1024;

/// At most this many worker threads.
const MAX_WORKERS: usize = 8;

/// The gzip header: deflate, no flags, modification time 0, no extra flags, unknown OS.
const HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];

fn compress_error(e: impl std::fmt::Display) -> io::Error {
    io::Error::other(format!("deflate failed: {e}"))
}

/// Deflates one block primed with `dictionary`: ended by a sync flush, or, when `last`, as the
/// end of the stream.
fn deflate_block(level: u32, dictionary: &[u8], data: &[u8], last: bool) -> io::Result<Vec<u8>> {
    let mut compress = Compress::new(Compression::new(level), false);
    if !dictionary.is_empty() {
        compress
            .set_dictionary(dictionary)
            .map_err(compress_error)?;
    }
    let flush = if last {
        FlushCompress::Finish
    } else {
        FlushCompress::Sync
    };
    let mut out = Vec::with_capacity(data.len() / 2 + 1024);
    loop {
        let consumed = usize::try_from(compress.total_in()).map_err(compress_error)?;
        let rest = data.get(consumed..).unwrap_or_default();
        let status = compress
            .compress_vec(rest, &mut out, flush)
            .map_err(compress_error)?;
        let all_in = usize::try_from(compress.total_in()).map_err(compress_error)? == data.len();
        let done = if last {
            status == Status::StreamEnd
        } else {
            // A flush is complete when it stops short of filling the output.
            all_in && out.len() < out.capacity()
        };
        if done {
            return Ok(out);
        }
        out.reserve(out.capacity().max(4096));
    }
}

struct Job {
    index: usize,
    dictionary: Vec<u8>,
    data: Vec<u8>,
    last: bool,
}

type Done = (usize, io::Result<Vec<u8>>);

/// The worker threads: jobs go out on one channel, results come back in any order on another.
struct Workers {
    jobs: Option<mpsc::Sender<Job>>,
    done: mpsc::Receiver<Done>,
    threads: Vec<thread::JoinHandle<()>>,
    count: usize,
}

impl Workers {
    fn start(level: u32, count: usize) -> io::Result<Self> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = std::sync::Arc::new(std::sync::Mutex::new(queue));
        let (results, done) = mpsc::channel::<Done>();
        let mut threads = Vec::with_capacity(count);
        for n in 0..count {
            let queue = queue.clone();
            let results = results.clone();
            let thread = thread::Builder::new()
                .name(format!("gitops-gzip-{n}"))
                .spawn(move || {
                    loop {
                        // The lock is held only to take the next job.
                        let job = match queue.lock() {
                            Ok(queue) => queue.recv(),
                            Err(_) => return,
                        };
                        let Ok(job) = job else { return };
                        let out = deflate_block(level, &job.dictionary, &job.data, job.last);
                        if results.send((job.index, out)).is_err() {
                            return;
                        }
                    }
                })?;
            threads.push(thread);
        }
        Ok(Self {
            jobs: Some(jobs),
            done,
            threads,
            count,
        })
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        // Closing the job channel ends the workers once the queue is empty.
        self.jobs.take();
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

/// Writes a gzip stream of everything written to it, compressed block by block as described
/// in the module docs. Call [`ParallelGz::finish`] to end the stream.
pub(crate) struct ParallelGz<W: Write> {
    inner: W,
    level: u32,
    /// How many worker threads to start.
    threads: usize,
    /// Input not yet handed to a worker, less than one block.
    pending: Vec<u8>,
    /// The last [`DICTIONARY`] bytes of the input handed out so far.
    window: Vec<u8>,
    crc: Crc,
    workers: Option<Workers>,
    /// Blocks handed out, and the index of the next one to write.
    sent: usize,
    next: usize,
    /// Compressed blocks that arrived before their turn.
    arrived: BTreeMap<usize, Vec<u8>>,
}

impl<W: Write> ParallelGz<W> {
    /// Starts a gzip stream on `inner` at the given deflate level.
    pub(crate) fn new(inner: W, level: u32) -> io::Result<Self> {
        let threads = thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .clamp(1, MAX_WORKERS);
        Self::with_threads(inner, level, threads)
    }

    /// Like [`ParallelGz::new`] with this many worker threads (at least one); the bytes are
    /// the same whatever the count.
    pub(crate) fn with_threads(mut inner: W, level: u32, threads: usize) -> io::Result<Self> {
        inner.write_all(&HEADER)?;
        Ok(Self {
            inner,
            level,
            threads: threads.max(1),
            pending: Vec::with_capacity(BLOCK),
            window: Vec::new(),
            crc: Crc::new(),
            workers: None,
            sent: 0,
            next: 0,
            arrived: BTreeMap::new(),
        })
    }

    /// Hands the pending input to a worker as block `sent`.
    fn dispatch(&mut self, last: bool) -> io::Result<()> {
        if self.workers.is_none() {
            self.workers = Some(Workers::start(self.level, self.threads)?);
        }
        let data = std::mem::replace(&mut self.pending, Vec::with_capacity(BLOCK));
        let dictionary = std::mem::take(&mut self.window);
        // Every block but the last is a whole block, longer than the window.
        self.window = data[data.len().saturating_sub(DICTIONARY)..].to_vec();
        let job = Job {
            index: self.sent,
            dictionary,
            data,
            last,
        };
        let stopped = || io::Error::other("a compression thread stopped");
        let workers = self.workers.as_ref().ok_or_else(stopped)?;
        workers
            .jobs
            .as_ref()
            .ok_or_else(stopped)?
            .send(job)
            .map_err(|_| stopped())?;
        self.sent += 1;
        // Bound the memory in flight: wait for the oldest block when enough are queued.
        let limit = 2 * workers.count;
        while self.sent - self.next > limit {
            self.write_next()?;
        }
        Ok(())
    }

    /// Waits for the next block in order and writes it.
    fn write_next(&mut self) -> io::Result<()> {
        let stopped = || io::Error::other("a compression thread stopped");
        loop {
            if let Some(out) = self.arrived.remove(&self.next) {
                self.inner.write_all(&out)?;
                self.next += 1;
                return Ok(());
            }
            let workers = self.workers.as_ref().ok_or_else(stopped)?;
            let (index, out) = workers.done.recv().map_err(|_| stopped())?;
            self.arrived.insert(index, out?);
        }
    }

    /// Ends the deflate stream, writes the gzip trailer and returns the inner writer.
    pub(crate) fn finish(mut self) -> io::Result<W> {
        if self.workers.is_none() {
            // Everything fits in one block: no threads.
            let out = deflate_block(self.level, &[], &self.pending, true)?;
            self.inner.write_all(&out)?;
        } else {
            self.dispatch(true)?;
            while self.next < self.sent {
                self.write_next()?;
            }
        }
        self.inner.write_all(&self.crc.sum().to_le_bytes())?;
        self.inner.write_all(&self.crc.amount().to_le_bytes())?;
        self.inner.flush()?;
        self.workers.take();
        Ok(self.inner)
    }
}

impl<W: Write> Write for ParallelGz<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = buf.len().min(BLOCK - self.pending.len());
        self.pending.extend_from_slice(&buf[..n]);
        self.crc.update(&buf[..n]);
        if self.pending.len() == BLOCK {
            self.dispatch(false)?;
            // Write what is ready without waiting.
            while let Some(workers) = &self.workers {
                match workers.done.try_recv() {
                    Ok((index, out)) => {
                        self.arrived.insert(index, out?);
                    }
                    Err(_) => break,
                }
            }
            while let Some(out) = self.arrived.remove(&self.next) {
                self.inner.write_all(&out)?;
                self.next += 1;
            }
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        // Flushing mid-stream would change the bytes; only the inner writer is flushed.
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn gzip(data: &[u8], level: u32, piece: usize) -> Vec<u8> {
        gzip_on(data, level, piece, 2)
    }

    fn gzip_on(data: &[u8], level: u32, piece: usize, threads: usize) -> Vec<u8> {
        let mut gz = ParallelGz::with_threads(Vec::new(), level, threads).unwrap();
        for chunk in data.chunks(piece.max(1)) {
            gz.write_all(chunk).unwrap();
        }
        gz.finish().unwrap()
    }

    fn gunzip(bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(bytes)
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    fn sample(len: usize) -> Vec<u8> {
        let mut x = 0x2545_f491_4f6c_dd1d_u64;
        (0..len)
            .map(|i| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                // Text with repeats and noise, so that matches cross block boundaries.
                if i % 3000 < 1500 {
                    b"kind: ConfigMap\n"[i % 16]
                } else {
                    b"0123456789abcdef"[(x % 16) as usize]
                }
            })
            .collect()
    }

    #[test]
    fn round_trips_at_every_size_around_block_edges() {
        for len in [
            0,
            1,
            BLOCK - 1,
            BLOCK,
            BLOCK + 1,
            2 * BLOCK,
            3 * BLOCK + 17,
            20 * BLOCK + 5,
        ] {
            let data = sample(len);
            let packed = gzip(&data, 6, 7000);
            assert_eq!(gunzip(&packed), data, "length {len}");
        }
    }

    #[test]
    fn bytes_do_not_depend_on_write_sizes() {
        let data = sample(5 * BLOCK + 123);
        let a = gzip(&data, 6, 1);
        let b = gzip(&data, 6, 100_000);
        let c = gzip(&data, 6, data.len());
        assert_eq!(a, b);
        assert_eq!(a, c);
    }

    #[test]
    fn bytes_do_not_depend_on_thread_count() {
        let data = sample(9 * BLOCK + 5);
        let one = gzip_on(&data, 6, 8192, 1);
        for threads in [2, 3, 8] {
            assert_eq!(gzip_on(&data, 6, 8192, threads), one, "{threads} threads");
        }
    }

    #[test]
    fn dictionary_matches_across_blocks() {
        // 20 KiB of noise repeated: matches cross every block boundary. Primed blocks cost
        // about what one sequential stream costs; unprimed ones would repeat the noise.
        let mut x = 7u64;
        let unit: Vec<u8> = (0..20 * 1024)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                b"0123456789abcdef"[(x % 16) as usize]
            })
            .collect();
        let data: Vec<u8> = unit.iter().copied().cycle().take(8 * BLOCK).collect();
        let sequential = deflate_block(6, &[], &data, true).unwrap().len();
        let packed = gzip(&data, 6, 65536);
        assert!(
            packed.len() < sequential + sequential / 4,
            "{} bytes in blocks, {sequential} in one stream",
            packed.len()
        );
        assert_eq!(gunzip(&packed), data);
    }

    /// Timings and sizes per level and thread count on tar-like hex text:
    /// `cargo test -p gitops-git --release --lib gzip::tests::levels -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn levels() {
        let mut x = 0x9E37_79B9_7F4A_7C15_u64;
        let mut data = Vec::new();
        if let Ok(corpus) = std::env::var("GITOPS_GZIP_CORPUS") {
            data = std::fs::read(corpus).unwrap();
        }
        for i in 0..if data.is_empty() { 3000usize } else { 0 } {
            data.extend_from_slice(&[0u8; 512]);
            let len = 300 + (i * 7919) % 1700;
            for _ in 0..len {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                data.push(b"0123456789abcdef"[(x % 16) as usize]);
            }
            data.extend(std::iter::repeat_n(0u8, (512 - len % 512) % 512));
        }
        for level in [1, 2, 3, 4, 5, 6] {
            let started = std::time::Instant::now();
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), Compression::new(level));
            gz.write_all(&data).unwrap();
            let serial = gz.finish().unwrap();
            let t_serial = started.elapsed();
            for threads in [1, 2] {
                let started = std::time::Instant::now();
                let parallel = gzip_on(&data, level, 10240, threads);
                println!(
                    "level {level}: serial {} B {:?}; blocks on {threads} thread(s) {} B {:?}",
                    serial.len(),
                    t_serial,
                    parallel.len(),
                    started.elapsed()
                );
            }
        }
    }
}
