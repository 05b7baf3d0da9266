//! Fetching one ref of a remote repository with gitoxide.
//!
//! Every fetch connects with gitoxide's transport and protocol layers alone, without a
//! repository, and asks the remote for the refs the checkout needs (handshake and `ls-refs`
//! with a ref prefix, protocol v2). It then either stops there, when the ref still points at
//! the last stored revision (an unchanged poll writes nothing to disk, except the key files
//! `ssh` needs), or creates an empty bare repository in a temporary directory (as Flux clones
//! into a fresh directory) and receives the pack on the same connection, indexing it while it
//! arrives (see `indexpack`: each object is inflated once and hashed on the way, as
//! `git index-pack` does, rather than after the last byte):
//!
//! | checkout | refs listed | pack | revision |
//! |---|---|---|---|
//! | branch `b` | `refs/heads/b` | depth 1 | `b@sha1:<hex>` |
//! | tag `t` | `refs/tags/t` | depth 1 | `t@sha1:<hex>` (the commit, annotated tags peeled) |
//! | semver range | `refs/tags/*` | depth 1 of the highest match | `<tag>@sha1:<hex>` |
//! | name `refs/...` | that ref | depth 1 under `refs/heads/` and `refs/tags/`, else full | `<full name>@sha1:<hex>` |
//! | commit `c` with branch `b` | `refs/heads/b` | full branch history, `c` must be in it | `b@sha1:<c>` |
//! | commit `c` alone | — | full history of `c` | `sha1:<c>` |
//!
//! The unchanged check applies to branch, tag, semver and name checkouts (Flux does it for
//! branch, tag and name): it costs one connection and no pack.
//!
//! Transports are gitoxide's: `file://` (spawns `git-upload-pack`, so the `git` program must
//! be installed), `git://`, `http(s)://` (reqwest with rustls, TLS verification always on,
//! a private CA added to the system roots, basic auth, bearer token, client certificate) and
//! `ssh://` (spawns the `ssh` program with per-fetch options passed through gitoxide's ssh
//! connect options, not through any git configuration: the secret's key in a 0600 file, its
//! `known_hosts` as the only known hosts, strict host key checking, no agent, no user
//! configuration). Basic auth over plain `http://` is refused by gitoxide, which will
//! not send credentials in clear text.
//!
//! gitoxide's network client is blocking: [`fetch_blocking`] blocks the calling thread;
//! [`fetch`] runs it on tokio's blocking pool, enforces the timeout and cancels when dropped.

use std::io::Write;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::time::{Duration, Instant};

use gitops_core::api::Checkout;
use gitops_core::{Digest, Revision};
use gix::protocol::fetch::negotiate;
use gix::protocol::fetch::{Shallow, Tags};
use gix::protocol::handshake::Ref;
use gix::protocol::transport::client::blocking_io::{Transport, http};

use crate::Error;
use crate::artifact::{Packer, walk_order};
use crate::auth::Auth;
use crate::constraint::{self, Constraint};
use crate::ignore::{Rules, SOURCEIGNORE};

/// How a fetch is bounded and what it compares against.
#[derive(Clone, Debug)]
pub struct FetchOptions {
    /// The longest the whole fetch may take (Flux's `spec.timeout`, 60s by default).
    pub timeout: Duration,
    /// The revision of the last stored artifact: when the remote ref still points at it, the
    /// fetch returns [`FetchOutcome::Unchanged`] without downloading objects.
    pub last: Option<Revision>,
    /// Set to `true` to cancel the fetch; [`fetch`] also sets it when its future is dropped
    /// or times out. A flag once set stays set: give each fetch its own (the default does).
    pub cancel: Arc<AtomicBool>,
}

impl Default for FetchOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(60),
            last: None,
            cancel: Arc::new(AtomicBool::new(false)),
        }
    }
}

impl FetchOptions {
    /// Options with this timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Options comparing against the last stored revision.
    pub fn with_last(mut self, last: Option<Revision>) -> Self {
        self.last = last;
        self
    }
}

/// What a fetch found.
// One value per fetch: boxing the commit would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum FetchOutcome {
    /// The remote ref still points at [`FetchOptions::last`]; nothing was downloaded.
    Unchanged(Revision),
    /// A commit was downloaded and can be packed.
    Fetched(FetchedCommit),
}

/// A downloaded commit in a temporary repository, removed on drop.
pub struct FetchedCommit {
    repo: gix::Repository,
    id: gix::ObjectId,
    revision: Revision,
    subject: String,
    _dir: tempfile::TempDir,
}

impl std::fmt::Debug for FetchedCommit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FetchedCommit")
            .field("revision", &self.revision)
            .field("subject", &self.subject)
            .finish()
    }
}

/// One file or directory of a commit's tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TreeEntry {
    /// The path relative to the root, `/`-separated.
    pub path: String,
    /// Whether it is a directory.
    pub is_dir: bool,
    /// Whether it is an executable file.
    pub executable: bool,
    id: gix::ObjectId,
}

impl FetchedCommit {
    /// The revision in Flux's format.
    pub fn revision(&self) -> &Revision {
        &self.revision
    }

    /// The first line of the commit message.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The directories and regular files of the commit's tree in walk order; symbolic links
    /// and submodules are left out, as Flux's archiver leaves them out.
    pub fn entries(&self) -> Result<Vec<TreeEntry>, Error> {
        let commit = self
            .repo
            .find_commit(self.id)
            .map_err(|e| self.read_error(e))?;
        let tree = commit.tree().map_err(|e| self.read_error(e))?;
        let mut recorder = gix::traverse::tree::Recorder::default();
        tree.traverse()
            .breadthfirst(&mut recorder)
            .map_err(|e| self.read_error(e))?;
        let mut entries: Vec<TreeEntry> = recorder
            .records
            .into_iter()
            .filter(|e| e.mode.is_tree() || (e.mode.is_blob() && !e.mode.is_link()))
            .filter_map(|e| {
                let path = String::from_utf8(e.filepath.into()).ok()?;
                Some(TreeEntry {
                    path,
                    is_dir: e.mode.is_tree(),
                    executable: e.mode.is_executable(),
                    id: e.oid,
                })
            })
            .collect();
        entries.sort_by(|a, b| walk_order(&a.path, &b.path));
        Ok(entries)
    }

    /// The contents of a file of the tree.
    pub fn read(&self, entry: &TreeEntry) -> Result<Vec<u8>, Error> {
        let object = self
            .repo
            .find_object(entry.id)
            .map_err(|e| self.read_error(e))?;
        Ok(object.detach().data)
    }

    fn read_error(&self, e: gix::Error) -> Error {
        Error::Git {
            url: "<local>".into(),
            detail: format!("reading commit {}: {}", self.id, chain(&e)),
        }
    }

    /// Packs the tree into `packer`, leaving out what the ignore rules exclude
    /// ([`crate::ignore`]: `.sourceignore` files of the tree plus `spec_ignore`). Returns the
    /// number of files packed.
    pub fn pack<W: Write>(
        &self,
        packer: &mut Packer<W>,
        spec_ignore: Option<&str>,
    ) -> Result<usize, Error> {
        let entries = self.entries()?;
        let mut sourceignores: Vec<(String, Vec<u8>)> = Vec::new();
        for e in entries.iter().filter(|e| !e.is_dir) {
            let (dir, name) = match e.path.rsplit_once('/') {
                Some((d, n)) => (d, n),
                None => ("", e.path.as_str()),
            };
            if name == SOURCEIGNORE {
                sourceignores.push((dir.to_string(), self.read(e)?));
            }
        }
        let borrowed: Vec<(&str, &[u8])> = sourceignores
            .iter()
            .map(|(d, c)| (d.as_str(), c.as_slice()))
            .collect();
        let rules = Rules::new(&borrowed, spec_ignore);
        let kept = rules.filter(entries.iter().map(|e| (e.path.as_str(), e.is_dir)));
        let kept: Vec<&TreeEntry> = entries
            .iter()
            .filter(|e| kept.contains(e.path.as_str()))
            .collect();
        // Blobs are decompressed on a second thread, in archive order, while this one writes
        // the archive (whose compression runs on further threads, see `artifact`).
        let blobs: Vec<gix::ObjectId> = kept.iter().filter(|e| !e.is_dir).map(|e| e.id).collect();
        let (send, receive) = std::sync::mpsc::sync_channel::<Result<Vec<u8>, Error>>(256);
        let repo = self.repo.clone();
        let commit = self.id;
        std::thread::scope(|scope| {
            // Owned by this closure, so that an early return drops it before the scope joins
            // the reader: the reader's next send then fails and it stops, instead of blocking
            // forever on a full channel.
            let receive = receive;
            std::thread::Builder::new()
                .name("gitops-blobs".into())
                .spawn_scoped(scope, move || {
                    for id in blobs {
                        let blob = repo
                            .find_object(id)
                            .map(|object| object.detach().data)
                            .map_err(|e| Error::Git {
                                url: "<local>".into(),
                                detail: format!("reading commit {commit}: {}", chain(&e)),
                            });
                        // The first error ends the reading; a closed channel means the
                        // packing stopped: stop too.
                        let failed = blob.is_err();
                        if send.send(blob).is_err() || failed {
                            return;
                        }
                    }
                })
                .map_err(|e| Error::Git {
                    url: "<local>".into(),
                    detail: format!("reading commit {commit}: could not start a thread: {e}"),
                })?;
            let mut files = 0;
            for e in kept {
                if e.is_dir {
                    packer.dir(&e.path)?;
                } else {
                    let blob = receive.recv().map_err(|_| Error::Git {
                        url: "<local>".into(),
                        detail: format!("reading commit {commit}: the blob reader stopped"),
                    })??;
                    packer.file(&e.path, e.executable, &blob)?;
                    files += 1;
                }
            }
            Ok(files)
        })
    }

    /// Writes the (ignore-filtered) tree into the directory `dest` as plain files.
    pub fn checkout_to(&self, dest: &Path, spec_ignore: Option<&str>) -> Result<usize, Error> {
        let mut packer = Packer::new(Vec::new())?;
        self.pack(&mut packer, spec_ignore)?;
        let bytes = packer.finish()?.writer;
        let summary =
            crate::extract::extract(bytes.as_slice(), dest, &crate::extract::Limits::default())?;
        Ok(summary.files)
    }
}

/// Installs rustls' ring provider as the process default, once. reqwest is built without a
/// provider so that the whole program uses one (kube's is ring too).
pub fn install_crypto_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Err means another provider is already installed; that one is used.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// A URL fit for messages: the password (if one was written into it) removed.
pub fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_string();
    };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    match authority.rfind('@') {
        Some(at) => {
            let user = &authority[..at];
            let user = user.split(':').next().unwrap_or("");
            format!("{}{}@{}", &url[..scheme_end + 3], user, &rest[at + 1..])
        }
        None => url.to_string(),
    }
}

/// Every message of an error's chain, joined, with repeats removed.
pub(crate) fn chain(e: &gix::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for err in e.iter_errors() {
        let s = err.to_string();
        if !s.is_empty() && !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
    }
    parts.join(": ")
}

struct Session<'a> {
    url: gix::Url,
    display: String,
    auth: &'a Auth,
    options: &'a FetchOptions,
    deadline: Instant,
    secrets: Vec<String>,
    /// The `ssh` command of an `ssh://` URL; its key and known hosts are in `_ssh_dir`.
    ssh_command: Option<String>,
    /// Where `ssh` writes its messages (`-E`), read to explain a failure.
    ssh_log: Option<PathBuf>,
    _ssh_dir: Option<tempfile::TempDir>,
}

/// A connection after the handshake and (when asked for) `ls-refs`, ready to fetch a pack on
/// the same connection. Dropping it ends the interaction (a flush packet in protocol v2).
struct Listed {
    transport: gix::protocol::SendFlushOnDrop<Box<dyn Transport + Send>>,
    handshake: gix::protocol::Handshake,
    refs: Vec<Ref>,
}

/// The negotiation of a fetch into an empty repository: one object wanted, nothing to offer.
struct WantOne(gix::ObjectId);

impl gix::protocol::fetch::Negotiate for WantOne {
    fn mark_complete_and_common_ref(&mut self) -> gix::Result<negotiate::Action> {
        Ok(negotiate::Action::MustNegotiate {
            remote_ref_target_known: Vec::new(),
        })
    }

    fn add_wants(
        &mut self,
        arguments: &mut gix::protocol::fetch::Arguments,
        _remote_ref_target_known: &[bool],
    ) -> bool {
        arguments.want(self.0);
        true
    }

    fn one_round(
        &mut self,
        _state: &mut negotiate::one_round::State,
        _arguments: &mut gix::protocol::fetch::Arguments,
        _previous_response: Option<&gix::protocol::fetch::Response>,
    ) -> gix::Result<(negotiate::Round, bool)> {
        // No haves: the first round is the last.
        Ok((
            negotiate::Round {
                haves_sent: 0,
                in_vain: 0,
                haves_to_send: 0,
                previous_response_had_at_least_one_in_common: false,
            },
            true,
        ))
    }
}

/// How this client introduces itself in protocol v2 commands.
fn user_agent() -> gix::protocol::command::Feature {
    (
        "agent",
        Some(concat!("git/gitops-git-", env!("CARGO_PKG_VERSION")).to_string()),
    )
}

impl Session<'_> {
    fn scrub(&self, mut text: String) -> String {
        for s in &self.secrets {
            if !s.is_empty() {
                text = text.replace(s.as_str(), "<redacted>");
            }
        }
        text
    }

    fn classify(&self, e: gix::Error) -> Error {
        let mut detail = chain(&e);
        if let Some(log) = self
            .ssh_log
            .as_ref()
            .and_then(|p| std::fs::read_to_string(p).ok())
        {
            let log = log.trim();
            if !log.is_empty() {
                detail = format!(
                    "{detail}: ssh: {}",
                    log.lines().collect::<Vec<_>>().join("; ")
                );
            }
        }
        let detail = self.scrub(detail);
        let lower = detail.to_lowercase();
        let url = self.display.clone();
        let expired = Instant::now() + Duration::from_millis(100) >= self.deadline;
        if expired && !self.options.cancel.load(Ordering::Relaxed) {
            return Error::Timeout {
                url,
                seconds: self.options.timeout.as_secs(),
            };
        }
        if self.options.cancel.load(Ordering::Relaxed) || e.is_cancelled() {
            if expired {
                return Error::Timeout {
                    url,
                    seconds: self.options.timeout.as_secs(),
                };
            }
            return Error::Cancelled { url };
        }
        if lower.contains("host key verification failed")
            || lower.contains("remote host identification has changed")
            || lower.contains("no matching host key")
            || lower.contains("host key for")
        {
            return Error::HostKey { url };
        }
        if e.is_unauthenticated()
            || lower.contains("authentication")
            || lower.contains("401")
            || lower.contains("403")
            || lower.contains("permission denied")
            || lower.contains("unauthorized")
        {
            let detail = if self.auth.basic.is_none()
                && self.auth.bearer_token.is_none()
                && self.auth.ssh.is_none()
            {
                "the server requires credentials and none were given: set 'username' and 'password' or 'bearerToken' in the secret".to_string()
            } else {
                detail
            };
            return Error::Authentication { url, detail };
        }
        if lower.contains("timed out") || lower.contains("timeout") {
            return Error::Timeout {
                url,
                seconds: self.options.timeout.as_secs(),
            };
        }
        Error::Git { url, detail }
    }

    fn git_error(&self, detail: impl Into<String>) -> Error {
        Error::Git {
            url: self.display.clone(),
            detail: self.scrub(detail.into()),
        }
    }

    fn remaining(&self) -> Result<Duration, Error> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Error::Timeout {
                url: self.display.clone(),
                seconds: self.options.timeout.as_secs(),
            });
        }
        if self.options.cancel.load(Ordering::Relaxed) {
            return Err(Error::Cancelled {
                url: self.display.clone(),
            });
        }
        Ok(left)
    }

    /// A `git://` connection whose reads and writes time out with the fetch, which gitoxide's
    /// own `git://` connector does not bound.
    fn git_daemon_transport(
        &self,
    ) -> Result<Box<dyn gix::protocol::transport::client::blocking_io::Transport + Send>, Error>
    {
        use std::net::{TcpStream, ToSocketAddrs};
        let remaining = self.remaining()?;
        let host = self.url.host().unwrap_or("localhost").to_string();
        let port = self.url.port.unwrap_or(9418);
        let io =
            |e: std::io::Error| self.git_error(format!("could not connect to git server: {e}"));
        let address = (host.as_str(), port)
            .to_socket_addrs()
            .map_err(io)?
            .next()
            .ok_or_else(|| self.git_error(format!("could not resolve '{host}'")))?;
        let read = TcpStream::connect_timeout(&address, remaining.min(Duration::from_secs(30)))
            .map_err(|e| {
                if e.kind() == std::io::ErrorKind::TimedOut {
                    Error::Timeout {
                        url: self.display.clone(),
                        seconds: self.options.timeout.as_secs(),
                    }
                } else {
                    io(e)
                }
            })?;
        // The request goes out in several small writes: without this, Nagle's algorithm
        // holds them back until the server's delayed ACK, tens of milliseconds per fetch.
        read.set_nodelay(true).map_err(io)?;
        read.set_read_timeout(Some(remaining)).map_err(io)?;
        read.set_write_timeout(Some(remaining)).map_err(io)?;
        let write = read.try_clone().map_err(io)?;
        let connection = gix::protocol::transport::client::git::blocking_io::Connection::new(
            read,
            write,
            gix::protocol::transport::Protocol::V2,
            self.url.path.clone(),
            Some((host, self.url.port)),
            gix::protocol::transport::client::git::ConnectMode::Daemon,
            false,
        );
        Ok(Box::new(connection))
    }

    fn http_options(&self) -> Result<http::Options, Error> {
        let mut options = http::Options::default();
        let timeout = self.remaining()?;
        options.connect_timeout = Some(timeout.min(Duration::from_secs(30)));
        if let Some(token) = &self.auth.bearer_token {
            options
                .extra_headers
                .push(format!("Authorization: Bearer {token}"));
        }
        let secret = self.auth.secret_name();
        let certs = match &self.auth.ca_pem {
            Some(pem) => {
                reqwest::Certificate::from_pem_bundle(pem).map_err(|e| Error::InvalidSecret {
                    secret: secret.clone(),
                    reason: format!("'ca.crt' is not a PEM certificate bundle: {e}"),
                })?
            }
            None => Vec::new(),
        };
        let identity_pem = match &self.auth.client_certificate {
            Some(c) => {
                let mut pem = c.cert.clone();
                pem.push(b'\n');
                pem.extend_from_slice(&c.key);
                reqwest::Identity::from_pem(&pem).map_err(|_| Error::InvalidSecret {
                    secret: secret.clone(),
                    reason: "'tls.crt' and 'tls.key' are not a PEM certificate and key".into(),
                })?;
                Some(pem)
            }
            None => None,
        };
        let configure = move |mut builder: reqwest::blocking::ClientBuilder| {
            builder = builder.timeout(timeout);
            if !certs.is_empty() {
                builder = builder.tls_certs_merge(certs.clone());
            }
            if let Some(identity) = identity_pem
                .as_deref()
                .and_then(|p| reqwest::Identity::from_pem(p).ok())
            {
                builder = builder.identity(identity);
            }
            Ok(builder)
        };
        let backend = http::reqwest::Options {
            configure_client: Some(Box::new(configure)),
            configure_request: None,
        };
        options.backend = Some(Arc::new(Mutex::new(backend)));
        Ok(options)
    }

    /// Opens the transport of the URL; nothing is sent yet.
    fn connect(&self) -> Result<Box<dyn Transport + Send>, Error> {
        use gix::protocol::transport::client::TransportWithoutIO as _;
        use gix::protocol::transport::client::blocking_io::{connect, ssh};
        use gix::url::Scheme;
        self.remaining()?;
        match self.url.scheme {
            Scheme::Git => self.git_daemon_transport(),
            Scheme::Http | Scheme::Https => {
                let mut transport = http::connect::<http::reqwest::Remote>(
                    self.url.clone(),
                    gix::protocol::transport::Protocol::V2,
                    false,
                );
                transport
                    .configure(&self.http_options()?)
                    .map_err(|e| self.git_error(format!("configuring the http client: {e}")))?;
                Ok(Box::new(transport))
            }
            _ => {
                let options = connect::Options {
                    version: gix::protocol::transport::Protocol::V2,
                    ssh: ssh::connect::Options {
                        command: self.ssh_command.clone().map(Into::into),
                        disallow_shell: false,
                        kind: Some(ssh::ProgramKind::Ssh),
                    },
                    trace: false,
                };
                connect::connect(self.url.clone(), options).map_err(|e| self.classify(e))
            }
        }
    }

    /// Connects, performs the handshake (with the credentials when the server asks for them)
    /// and, given a refspec, lists the refs it names (`ls-refs` with their prefix in protocol
    /// v2). No repository is involved: an unchanged poll touches no disk.
    fn list(&self, spec: Option<&str>) -> Result<Listed, Error> {
        let mut transport = gix::protocol::SendFlushOnDrop::new(self.connect()?, false);
        let basic = self.auth.basic.clone();
        let authenticate = move |action| match action {
            gix::credentials::helper::Action::Get(ctx) => {
                Ok(basic.clone().map(|b| gix::credentials::protocol::Outcome {
                    identity: gix::sec::identity::Account {
                        username: b.username,
                        password: b.password,
                        oauth_refresh_token: None,
                    },
                    next: ctx.into(),
                }))
            }
            _ => Ok(None),
        };
        let mut handshake = gix::protocol::handshake(
            &mut transport.inner,
            gix::protocol::transport::Service::UploadPack,
            authenticate,
            Vec::new(),
            &mut gix::progress::Discard,
        )
        .map_err(|e| self.classify(e))?;
        let Some(spec) = spec else {
            return Ok(Listed {
                transport,
                handshake,
                refs: Vec::new(),
            });
        };
        let parsed = gix::refspec::parse(spec.into(), gix::refspec::parse::Operation::Fetch)
            .map_err(|e| self.git_error(format!("invalid ref '{spec}': {e}")))?
            .to_owned();
        self.remaining()?;
        let map = handshake
            .prepare_lsrefs_or_extract_refmap(
                user_agent(),
                true,
                gix::protocol::fetch::refmap::init::Context {
                    fetch_refspecs: vec![parsed],
                    extra_refspecs: Vec::new(),
                },
            )
            .map_err(|e| self.classify(e))?
            .fetch_blocking(gix::progress::Discard, &mut transport.inner, false)
            .map_err(|e| self.classify(e))?;
        if map.object_hash != gix::hash::Kind::Sha1 {
            return Err(self.git_error(format!(
                "the repository uses {} object ids; only sha1 is supported",
                map.object_hash
            )));
        }
        tracing::debug!(url = %self.display.as_str(), refs = map.remote_refs.len(), "refs listed");
        Ok(Listed {
            transport,
            handshake,
            refs: map.remote_refs,
        })
    }

    /// Receives the pack of `want` (to `shallow` depth) on the listed connection into a new
    /// bare repository in a temporary directory.
    fn receive(
        &self,
        mut listed: Listed,
        want: gix::ObjectId,
        shallow: Shallow,
    ) -> Result<(gix::Repository, tempfile::TempDir), Error> {
        self.remaining()?;
        let dir = tempfile::Builder::new()
            .prefix("gitops-fetch-")
            .tempdir()
            .map_err(|e| Error::io("create temporary repository", std::env::temp_dir(), e))?;
        let repo_dir = dir.path().join("repo");
        init_minimal_bare(&repo_dir)?;
        let pack_dir = repo_dir.join("objects").join("pack");
        let context = gix::protocol::fetch::Context {
            handshake: &mut listed.handshake,
            transport: &mut listed.transport.inner,
            user_agent: user_agent(),
            trace_packetlines: false,
        };
        let options = gix::protocol::fetch::Options {
            shallow_file: repo_dir.join("shallow"),
            shallow: &shallow,
            tags: Tags::None,
            reject_shallow_remote: false,
        };
        let mut received = false;
        gix::protocol::fetch(
            &mut WantOne(want),
            |pack, _progress, interrupt| {
                // Indexed while it arrives, see `indexpack`.
                let stop = crate::indexpack::Stop {
                    interrupt,
                    deadline: Some(self.deadline),
                };
                crate::indexpack::receive(pack, &pack_dir, &stop)
                    .map_err(gix::Error::from_error)?;
                received = true;
                Ok(true)
            },
            gix::progress::Discard,
            &self.options.cancel,
            context,
            options,
        )
        .map_err(|e| self.classify(e))?;
        drop(listed);
        if !received {
            return Err(self.git_error("the server sent no pack"));
        }
        let repo = gix::open_opts(&repo_dir, gix::open::Options::isolated()).map_err(|e| {
            self.git_error(format!("opening the fetched repository: {}", chain(&e)))
        })?;
        Ok((repo, dir))
    }

    /// Lists one named ref and returns the connection to fetch it on, with its commit and
    /// revision, or `Err(revision)` when it still points at `last`.
    fn list_ref(
        &self,
        full: &str,
        shown: &str,
        last: Option<&Revision>,
    ) -> Result<Result<(Listed, gix::ObjectId, Revision), Revision>, Error> {
        let listed = self.list(Some(full))?;
        let commit = listed
            .refs
            .iter()
            .find(|r| name_of(r) == full.as_bytes())
            .and_then(commit_of)
            .ok_or_else(|| Error::RefNotFound {
                url: self.display.clone(),
                reference: full.to_string(),
            })?;
        let rev = revision(Some(shown), &commit)?;
        if last == Some(&rev) {
            tracing::debug!(url = %self.display.as_str(), "unchanged, no pack requested");
            return Ok(Err(rev));
        }
        Ok(Ok((listed, commit, rev)))
    }
}

fn commit_of(r: &Ref) -> Option<gix::ObjectId> {
    match r {
        Ref::Peeled { object, .. } | Ref::Direct { object, .. } | Ref::Symbolic { object, .. } => {
            Some(*object)
        }
        Ref::Unborn { .. } => None,
    }
}

fn name_of(r: &Ref) -> &[u8] {
    match r {
        Ref::Peeled { full_ref_name, .. }
        | Ref::Direct { full_ref_name, .. }
        | Ref::Symbolic { full_ref_name, .. }
        | Ref::Unborn { full_ref_name, .. } => full_ref_name.as_ref(),
    }
}

fn depth_one() -> Shallow {
    Shallow::DepthAtRemote(NonZeroU32::MIN)
}

fn revision(reference: Option<&str>, id: &gix::oid) -> Result<Revision, Error> {
    Ok(Revision::new(
        reference,
        Digest::new("sha1", &id.to_hex().to_string())?,
    )?)
}

/// Parses a repository URL this crate fetches from and pushes to (`file`, `git`, `http`,
/// `https`, `ssh`; no scp-like addresses), returning it with its form for messages.
pub(crate) fn parse_url(url: &str) -> Result<(gix::Url, String), Error> {
    let display = redact_url(url);
    let parsed = gix::url::parse(gix::bstr::BStr::new(url)).map_err(|e| Error::InvalidUrl {
        url: display.clone(),
        // The parser may quote its input, which may hold a password.
        reason: e.to_string().replace(url, &display),
    })?;
    use gix::url::Scheme;
    match parsed.scheme {
        Scheme::File | Scheme::Git | Scheme::Http | Scheme::Https | Scheme::Ssh => {}
        ref other => {
            return Err(Error::InvalidUrl {
                url: display,
                reason: format!(
                    "unsupported scheme '{}', expected http, https, ssh, git or file",
                    other.as_str()
                ),
            });
        }
    }
    if !url.contains("://") {
        return Err(Error::InvalidUrl {
            url: display,
            reason: "scp-like addresses are not accepted, use ssh://user@host:22/path".into(),
        });
    }
    Ok((parsed, display))
}

/// Creates the smallest bare repository gitoxide opens: `HEAD`, `config`, `objects/` and
/// `refs/`, for the received pack. `gix::init_bare` also writes eleven sample hooks,
/// `info/exclude` and `description` and probes the file system, each a file creation that
/// costs about a millisecond on a slow disk.
fn init_minimal_bare(dir: &Path) -> Result<(), Error> {
    for sub in ["objects/pack", "objects/info", "refs/heads", "refs/tags"] {
        let path = dir.join(sub);
        std::fs::create_dir_all(&path)
            .map_err(|e| Error::io("create temporary repository", &path, e))?;
    }
    for (name, contents) in [
        ("HEAD", "ref: refs/heads/main\n"),
        (
            "config",
            "[core]\n\trepositoryformatversion = 0\n\tbare = true\n",
        ),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, contents)
            .map_err(|e| Error::io("create temporary repository", &path, e))?;
    }
    Ok(())
}

/// Fetches `checkout` from `url`, blocking the calling thread. See the module docs for what
/// is fetched; see [`fetch`] for the async form.
pub fn fetch_blocking(
    url: &str,
    checkout: &Checkout,
    auth: &Auth,
    options: &FetchOptions,
) -> Result<FetchOutcome, Error> {
    install_crypto_provider();
    let started = Instant::now();
    let (parsed, display) = parse_url(url)?;
    use gix::url::Scheme;
    let mut secrets: Vec<String> = Vec::new();
    if let Some(b) = &auth.basic {
        secrets.push(b.password.clone());
    }
    if let Some(t) = &auth.bearer_token {
        secrets.push(t.clone());
    }
    if let Some(p) = parsed.password() {
        secrets.push(p.to_string());
    }
    let (mut ssh_command_line, mut ssh_log, mut ssh_dir) = (None, None, None);
    if parsed.scheme == Scheme::Ssh {
        let Some(ssh) = &auth.ssh else {
            return Err(match &auth.secret {
                Some(secret) => Error::InvalidSecret {
                    secret: secret.clone(),
                    reason: "ssh:// needs 'identity' and 'known_hosts'".into(),
                },
                None => Error::Authentication {
                    url: display,
                    detail:
                        "ssh:// needs a secret (spec.secretRef) with 'identity' and 'known_hosts'"
                            .into(),
                },
            });
        };
        if let Some(p) = &ssh.password {
            secrets.push(p.clone());
        }
        // The `ssh` program reads its key and known hosts from files: 0600 files in a
        // private temporary directory, removed with the session.
        let dir = tempfile::Builder::new()
            .prefix("gitops-ssh-")
            .tempdir()
            .map_err(|e| Error::io("create temporary directory", std::env::temp_dir(), e))?;
        ssh_command_line = Some(ssh_command(dir.path(), ssh, options.timeout)?);
        ssh_log = Some(dir.path().join("ssh.log"));
        ssh_dir = Some(dir);
    }
    let session = Session {
        url: parsed,
        display: display.clone(),
        auth,
        options,
        deadline: started + options.timeout,
        secrets,
        ssh_command: ssh_command_line,
        ssh_log,
        _ssh_dir: ssh_dir,
    };
    let span = tracing::debug_span!("fetch", url = %session.display, checkout = ?checkout);
    let _entered = span.enter();

    let last = options.last.as_ref();
    let shallow_for = |full: &str| {
        if full.starts_with("refs/heads/") || full.starts_with("refs/tags/") {
            depth_one()
        } else {
            Shallow::NoChange
        }
    };
    let (repo, dir, id, rev) = match checkout {
        Checkout::Branch(_) | Checkout::Tag(_) | Checkout::Name(_) => {
            let (full, shown) = match checkout {
                Checkout::Branch(b) => (format!("refs/heads/{b}"), b.as_str()),
                Checkout::Tag(t) => (format!("refs/tags/{t}"), t.as_str()),
                // Flux keeps the absolute name in the revision for `spec.ref.name`.
                Checkout::Name(n) => (n.clone(), n.as_str()),
                _ => return Err(session.git_error("unexpected checkout")),
            };
            let (listed, id, rev) = match session.list_ref(&full, shown, last)? {
                Ok(found) => found,
                Err(unchanged) => return Ok(FetchOutcome::Unchanged(unchanged)),
            };
            let (repo, dir) = session.receive(listed, id, shallow_for(&full))?;
            (repo, dir, id, rev)
        }
        Checkout::Semver(range) => {
            let constraint: Constraint = range.parse().map_err(|reason| Error::InvalidSemver {
                range: range.clone(),
                reason,
            })?;
            let listed = session.list(Some("+refs/tags/*:refs/tags/*"))?;
            let tags: Vec<(String, gix::ObjectId)> = listed
                .refs
                .iter()
                .filter_map(|r| {
                    let tag = name_of(r).strip_prefix(b"refs/tags/")?;
                    let tag = std::str::from_utf8(tag).ok()?;
                    Some((tag.to_string(), commit_of(r)?))
                })
                .collect();
            let Some((tag, _)) =
                constraint::highest(&constraint, tags.iter().map(|(t, _)| t.as_str()))
            else {
                return Err(session.git_error(format!("no match found for semver: {range}")));
            };
            let tag = tag.to_string();
            let Some(commit) = tags.iter().find(|(t, _)| *t == tag).map(|(_, id)| *id) else {
                return Err(session.git_error("the chosen tag vanished"));
            };
            let rev = revision(Some(&tag), &commit)?;
            if last == Some(&rev) {
                return Ok(FetchOutcome::Unchanged(rev));
            }
            let (repo, dir) = session.receive(listed, commit, depth_one())?;
            (repo, dir, commit, rev)
        }
        Checkout::Commit { commit, branch } => {
            let id =
                gix::ObjectId::from_hex(commit.as_bytes()).map_err(|_| Error::CommitNotFound {
                    url: display.clone(),
                    commit: commit.clone(),
                    reason: "is not a full 40-character commit id".into(),
                })?;
            match branch {
                Some(b) => {
                    let full = format!("refs/heads/{b}");
                    let (listed, tip, _) = match session.list_ref(&full, b, None)? {
                        Ok(found) => found,
                        Err(_) => return Err(session.git_error("the remote ref was not resolved")),
                    };
                    let (repo, dir) = session.receive(listed, tip, Shallow::NoChange)?;
                    let in_branch = repo
                        .rev_walk([tip])
                        .all()
                        .map_err(|e| session.git_error(chain(&e)))?
                        .filter_map(Result::ok)
                        .any(|info| info.id == id);
                    if !in_branch {
                        return Err(Error::CommitNotFound {
                            url: display,
                            commit: commit.clone(),
                            reason: format!("not found in branch '{b}'"),
                        });
                    }
                    (repo, dir, id, revision(Some(b), &id)?)
                }
                None => {
                    let received = session
                        .list(None)
                        .and_then(|listed| session.receive(listed, id, Shallow::NoChange));
                    let (repo, dir) = received.map_err(|e| match e {
                        Error::Git { detail, .. } => Error::CommitNotFound {
                            url: display.clone(),
                            commit: commit.clone(),
                            reason: format!("could not be fetched: {detail}"),
                        },
                        other => other,
                    })?;
                    (repo, dir, id, revision(None, &id)?)
                }
            }
        }
    };

    let commit = repo.find_commit(id).map_err(|e| Error::CommitNotFound {
        url: display.clone(),
        commit: id.to_string(),
        reason: format!("is missing after the fetch: {}", chain(&e)),
    })?;
    let subject = commit
        .message_raw_sloppy()
        .to_string()
        .lines()
        .next()
        .unwrap_or("")
        .trim()
        .to_string();
    drop(commit);
    tracing::debug!(revision = %rev, elapsed_ms = started.elapsed().as_millis() as u64, "fetched");
    Ok(FetchOutcome::Fetched(FetchedCommit {
        repo,
        id,
        revision: rev,
        subject,
        _dir: dir,
    }))
}

/// Quotes a value for the shell that may run the `ssh` command line (gitoxide's, or `git`'s
/// `GIT_SSH_COMMAND` when pushing).
pub(crate) fn quote(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', r"'\''"))
}

pub(crate) fn write_private(path: &Path, contents: &[u8]) -> Result<(), Error> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .map_err(|e| Error::io("write ssh file", path, e))?;
    file.write_all(contents)
        .and_then(|()| {
            if contents.last() != Some(&b'\n') {
                file.write_all(b"\n")
            } else {
                Ok(())
            }
        })
        .map_err(|e| Error::io("write ssh file", path, e))
}

/// Writes the key and known hosts into `dir` and returns the `ssh` command that uses only
/// them.
pub(crate) fn ssh_command(
    dir: &Path,
    ssh: &crate::auth::Ssh,
    timeout: Duration,
) -> Result<String, Error> {
    let key: PathBuf = dir.join("identity");
    let known_hosts = dir.join("known_hosts");
    write_private(&key, &ssh.identity)?;
    write_private(&known_hosts, &ssh.known_hosts)?;
    let mut command = format!(
        "ssh -F /dev/null -o IdentitiesOnly=yes -o IdentityAgent=none -o IdentityFile={} \
         -o UserKnownHostsFile={} -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes \
         -o UpdateHostKeys=no -o PasswordAuthentication=no -o KbdInteractiveAuthentication=no \
         -o ConnectTimeout={} -o ServerAliveInterval=15 -o LogLevel=ERROR -E {}",
        quote(&key),
        quote(&known_hosts),
        timeout.as_secs().max(1),
        quote(&dir.join("ssh.log"))
    );
    match &ssh.password {
        None => command.push_str(" -o BatchMode=yes"),
        Some(password) => {
            // The key's passphrase goes through SSH_ASKPASS, read from a 0600 file, so it is
            // never on a command line or in the environment.
            let secret = dir.join("passphrase");
            write_private(&secret, password.as_bytes())?;
            let askpass = dir.join("askpass");
            let script = format!("#!/bin/sh\nexec head -n1 {}\n", quote(&secret));
            write_private(&askpass, script.as_bytes())?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&askpass, std::fs::Permissions::from_mode(0o700))
                    .map_err(|e| Error::io("write ssh file", &askpass, e))?;
            }
            command = format!(
                "env SSH_ASKPASS={} SSH_ASKPASS_REQUIRE=force DISPLAY=none {command} -o NumberOfPasswordPrompts=1",
                quote(&askpass)
            );
        }
    }
    Ok(command)
}

/// Sets a flag when dropped unless disarmed: cancels a blocking fetch whose future is gone.
pub(crate) struct CancelOnDrop {
    pub(crate) flag: Arc<AtomicBool>,
    pub(crate) armed: bool,
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if self.armed {
            self.flag.store(true, Ordering::Relaxed);
        }
    }
}

/// Fetches `checkout` from `url` on tokio's blocking pool. Returns [`Error::Timeout`] when
/// `options.timeout` passes (the blocking work is told to stop and finishes in the
/// background), and cancels the fetch when the returned future is dropped.
pub async fn fetch(
    url: &str,
    checkout: &Checkout,
    auth: &Auth,
    options: FetchOptions,
) -> Result<FetchOutcome, Error> {
    let flag = options.cancel.clone();
    let mut guard = CancelOnDrop {
        flag: flag.clone(),
        armed: true,
    };
    let timeout = options.timeout;
    let (u, c, a) = (url.to_string(), checkout.clone(), auth.clone());
    let task = tokio::task::spawn_blocking(move || fetch_blocking(&u, &c, &a, &options));
    let result = match tokio::time::timeout(timeout, task).await {
        Ok(Ok(result)) => result,
        Ok(Err(join)) => Err(Error::Git {
            url: redact_url(url),
            detail: format!("the fetch task failed: {join}"),
        }),
        Err(_) => {
            flag.store(true, Ordering::Relaxed);
            Err(Error::Timeout {
                url: redact_url(url),
                seconds: timeout.as_secs(),
            })
        }
    };
    guard.armed = false;
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords_from_urls() {
        assert_eq!(
            redact_url("https://user:s3cret@example.invalid/repo.git"),
            "https://user@example.invalid/repo.git"
        );
        assert_eq!(redact_url("ssh://git@host:22/r"), "ssh://git@host:22/r");
        assert_eq!(redact_url("https://host/r"), "https://host/r");
    }

    #[test]
    fn refuses_bad_urls() {
        for (url, want) in [
            ("git@host:org/repo.git", "scp-like"),
            ("ftp://host/repo", "unsupported scheme"),
        ] {
            let err = fetch_blocking(
                url,
                &Checkout::Branch("main".into()),
                &Auth::none(),
                &FetchOptions::default(),
            )
            .unwrap_err();
            assert!(matches!(err, Error::InvalidUrl { .. }), "{err}");
            assert!(err.to_string().contains(want), "{err}");
        }
    }

    #[test]
    fn ssh_needs_a_secret() {
        let err = fetch_blocking(
            "ssh://git@127.0.0.1:1/repo.git",
            &Checkout::Branch("main".into()),
            &Auth::none(),
            &FetchOptions::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("known_hosts"), "{err}");
    }
}
