//! Real Git servers on 127.0.0.1 for the integration tests: `git daemon`, smart HTTP
//! (`git http-backend` behind a small HTTP/1.1 server with basic or bearer auth and optional
//! TLS from a CA made with `openssl` at test time) and `sshd`. Every server is started by the
//! test that uses it and stopped when dropped. A missing program fails the test, naming it.

#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::type_complexity
)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gitops_core::api::Checkout;
use gitops_git::{Auth, FetchOptions, FetchOutcome, FetchedCommit};

/// Fails (never skips) when a program the test needs is missing.
pub fn require(tool: &str, package: &str) -> PathBuf {
    let found = if tool.contains('/') {
        Path::new(tool).exists().then(|| PathBuf::from(tool))
    } else {
        std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|p| p.join(tool))
                .find(|p| p.is_file())
        })
    };
    found.unwrap_or_else(|| {
        panic!("missing tool '{tool}': this test needs it, install it with `apt-get install -y {package}`")
    })
}

pub fn run(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("running {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_for_port(port: u16, child: &mut Child, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited early with {status}");
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("{what} did not listen on port {port} within 10s");
}

/// A bare repository served by the servers below, and a work tree that pushes to it with
/// the `git` program.
pub struct Fixture {
    pub root: tempfile::TempDir,
    pub work: PathBuf,
}

impl Fixture {
    pub fn new() -> Self {
        require("git", "git");
        let root = tempfile::tempdir().unwrap();
        let bare = root.path().join("repos/repo.git");
        std::fs::create_dir_all(&bare).unwrap();
        run(Command::new("git")
            .args(["init", "-q", "--bare", "-b", "main"])
            .arg(&bare));
        run(Command::new("git").arg("-C").arg(&bare).args([
            "config",
            "receive.denyDeleteCurrent",
            "ignore",
        ]));
        let work = root.path().join("work");
        run(Command::new("git")
            .args(["init", "-q", "-b", "main"])
            .arg(&work));
        let fx = Self { root, work };
        fx.git(&["config", "user.name", "Test"]);
        fx.git(&["config", "user.email", "test@example.invalid"]);
        fx.git(&["config", "commit.gpgsign", "false"]);
        fx.git(&["config", "tag.gpgsign", "false"]);
        fx.git(&["remote", "add", "origin", bare.to_str().unwrap()]);
        fx
    }

    pub fn repos(&self) -> PathBuf {
        self.root.path().join("repos")
    }

    pub fn bare(&self) -> PathBuf {
        self.repos().join("repo.git")
    }

    pub fn git(&self, args: &[&str]) -> String {
        run(Command::new("git")
            .current_dir(&self.work)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", self.root.path())
            .args(args))
    }

    /// Writes files (a `None` content deletes), commits them and returns the commit id.
    pub fn commit(&self, files: &[(&str, Option<&str>)], message: &str) -> String {
        for (path, contents) in files {
            let p = self.work.join(path);
            match contents {
                Some(c) => {
                    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
                    std::fs::write(&p, c).unwrap();
                    if path.ends_with(".sh") {
                        use std::os::unix::fs::PermissionsExt;
                        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755))
                            .unwrap();
                    }
                }
                None => {
                    let _ = std::fs::remove_file(&p);
                }
            }
        }
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--allow-empty", "-m", message]);
        self.git(&["rev-parse", "HEAD"])
    }

    pub fn push(&self, refspecs: &[&str]) {
        let mut args = vec!["push", "-q", "--force", "origin"];
        args.extend_from_slice(refspecs);
        self.git(&args);
    }
}

/// The history every transport test fetches from.
pub struct History {
    pub c1: String,
    pub c2: String,
    pub c3: String,
}

/// Three commits on `main`; `v1.0.0` (lightweight) on the first, `v1.1.0` (annotated) and
/// `v2.0.0-rc.1` on the second, `refs/pull/1/head` on the first; `main` at the third.
pub fn standard_history(fx: &Fixture) -> History {
    let c1 = fx.commit(
        &[
            ("deploy/app.yaml", Some("version: 1\n")),
            ("README.md", Some("# demo\n")),
            ("logo.png", Some("not really a png")),
            ("scripts/run.sh", Some("#!/bin/sh\n")),
        ],
        "first commit\n\nwith a body",
    );
    fx.git(&["tag", "v1.0.0"]);
    let c2 = fx.commit(
        &[("deploy/app.yaml", Some("version: 2\n"))],
        "second commit",
    );
    fx.git(&["tag", "-a", "v1.1.0", "-m", "release 1.1.0"]);
    fx.git(&["tag", "v2.0.0-rc.1"]);
    fx.git(&["tag", "not-a-version"]);
    let c3 = fx.commit(&[("deploy/app.yaml", Some("version: 3\n"))], "third commit");
    fx.push(&["main", "--tags"]);
    fx.push(&[&format!("{c1}:refs/pull/1/head")]);
    History { c1, c2, c3 }
}

/// Fetches, expecting a commit, and returns it with the contents of `deploy/app.yaml`.
pub fn fetch_commit(url: &str, checkout: Checkout, auth: &Auth) -> (FetchedCommit, String) {
    let outcome = gitops_git::fetch_blocking(url, &checkout, auth, &FetchOptions::default())
        .unwrap_or_else(|e| panic!("fetch of {checkout:?} from {url}: {e}"));
    let FetchOutcome::Fetched(commit) = outcome else {
        panic!("expected a fetched commit for {checkout:?}, got {outcome:?}");
    };
    let entry = commit
        .entries()
        .unwrap()
        .into_iter()
        .find(|e| e.path == "deploy/app.yaml")
        .expect("deploy/app.yaml in the tree");
    let contents = String::from_utf8(commit.read(&entry).unwrap()).unwrap();
    (commit, contents)
}

/// Fetches every kind of ref from `url` and checks revisions and contents, then shows that
/// polling an unchanged ref returns `Unchanged`.
pub fn check_every_ref_type(url: &str, auth: &Auth, h: &History) {
    let cases: Vec<(Checkout, String, &str)> = vec![
        (
            Checkout::Branch("main".into()),
            format!("main@sha1:{}", h.c3),
            "version: 3\n",
        ),
        (
            Checkout::Tag("v1.0.0".into()),
            format!("v1.0.0@sha1:{}", h.c1),
            "version: 1\n",
        ),
        (
            Checkout::Tag("v1.1.0".into()),
            format!("v1.1.0@sha1:{}", h.c2),
            "version: 2\n",
        ),
        (
            Checkout::Semver(">=1.0.0 <2.0.0".into()),
            format!("v1.1.0@sha1:{}", h.c2),
            "version: 2\n",
        ),
        (
            Checkout::Semver("~1.0".into()),
            format!("v1.0.0@sha1:{}", h.c1),
            "version: 1\n",
        ),
        (
            Checkout::Name("refs/pull/1/head".into()),
            format!("refs/pull/1/head@sha1:{}", h.c1),
            "version: 1\n",
        ),
        (
            Checkout::Name("refs/heads/main".into()),
            format!("refs/heads/main@sha1:{}", h.c3),
            "version: 3\n",
        ),
        (
            Checkout::Commit {
                commit: h.c2.clone(),
                branch: None,
            },
            format!("sha1:{}", h.c2),
            "version: 2\n",
        ),
        (
            Checkout::Commit {
                commit: h.c2.clone(),
                branch: Some("main".into()),
            },
            format!("main@sha1:{}", h.c2),
            "version: 2\n",
        ),
    ];
    for (checkout, revision, contents) in cases {
        let (commit, found) = fetch_commit(url, checkout.clone(), auth);
        assert_eq!(commit.revision().to_string(), revision, "{checkout:?}");
        assert_eq!(found, contents, "{checkout:?}");
        if let Checkout::Branch(_) | Checkout::Tag(_) | Checkout::Name(_) | Checkout::Semver(_) =
            checkout
        {
            let again = gitops_git::fetch_blocking(
                url,
                &checkout,
                auth,
                &FetchOptions::default().with_last(Some(commit.revision().clone())),
            )
            .unwrap();
            assert!(
                matches!(&again, FetchOutcome::Unchanged(r) if r.to_string() == revision),
                "{checkout:?}: {again:?}"
            );
        }
    }
    let (first, _) = fetch_commit(url, Checkout::Tag("v1.0.0".into()), auth);
    assert_eq!(first.subject(), "first commit");
    let exec = first
        .entries()
        .unwrap()
        .into_iter()
        .find(|e| e.path == "scripts/run.sh")
        .unwrap();
    assert!(exec.executable);
}

/// `git daemon` serving the fixture's repositories.
pub struct GitDaemon {
    child: Child,
    pub port: u16,
}

impl GitDaemon {
    pub fn start(repos: &Path) -> Self {
        Self::start_with(repos, &[])
    }

    /// Also accepting pushes (`--enable=receive-pack`).
    pub fn start_with_push(repos: &Path) -> Self {
        Self::start_with(repos, &["--enable=receive-pack"])
    }

    fn start_with(repos: &Path, extra: &[&str]) -> Self {
        require("git", "git");
        let port = free_port();
        let mut child = Command::new("git")
            .args([
                "daemon",
                "--reuseaddr",
                "--export-all",
                "--listen=127.0.0.1",
                &format!("--port={port}"),
                &format!("--base-path={}", repos.display()),
                "--enable=upload-pack",
            ])
            .args(extra)
            .arg(repos)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn git daemon");
        wait_for_port(port, &mut child, "git daemon");
        Self { child, port }
    }

    pub fn url(&self, repo: &str) -> String {
        format!("git://127.0.0.1:{}/{repo}", self.port)
    }
}

impl Drop for GitDaemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How the HTTP server authenticates.
#[derive(Clone, Debug)]
pub enum HttpAuth {
    None,
    Basic(String, String),
    Bearer(String),
}

/// One request the HTTP server answered.
#[derive(Clone, Debug)]
pub struct Served {
    pub method: String,
    pub path: String,
    /// The Git protocol v2 command of a POST (`ls-refs`, `fetch`), if any.
    pub command: Option<String>,
    /// Whether a `fetch` asked for a shallow history (`deepen`).
    pub deepen: bool,
    pub status: u16,
    pub response_bytes: usize,
}

/// A self-signed CA and a server certificate for 127.0.0.1, made with `openssl`.
pub struct Tls {
    pub dir: tempfile::TempDir,
    pub ca_pem: Vec<u8>,
    pub config: Arc<rustls::ServerConfig>,
}

impl Tls {
    pub fn generate() -> Self {
        require("openssl", "openssl");
        gitops_git::fetch::install_crypto_provider();
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let openssl = |args: &[&str]| run(Command::new("openssl").current_dir(d).args(args));
        openssl(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
            "-days",
            "2",
            "-subj",
            "/CN=gitops test ca",
        ]);
        openssl(&[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=127.0.0.1",
        ]);
        std::fs::write(
            d.join("ext.cnf"),
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
        )
        .unwrap();
        openssl(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.crt",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
        ]);
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let certs: Vec<CertificateDer<'static>> =
            CertificateDer::pem_file_iter(d.join("server.crt"))
                .unwrap()
                .map(|c| c.unwrap())
                .collect();
        let key = PrivateKeyDer::from_pem_file(d.join("server.key")).unwrap();
        let config = rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap();
        let ca_pem = std::fs::read(d.join("ca.crt")).unwrap();
        Self {
            dir,
            ca_pem,
            config: Arc::new(config),
        }
    }

    /// A server configuration that requires a client certificate signed by the CA, and such
    /// a certificate and key (PEM).
    pub fn with_client_auth(&self) -> (Arc<rustls::ServerConfig>, Vec<u8>, Vec<u8>) {
        let d = self.dir.path();
        let openssl = |args: &[&str]| run(Command::new("openssl").current_dir(d).args(args));
        openssl(&[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "client.key",
            "-out",
            "client.csr",
            "-subj",
            "/CN=gitops client",
        ]);
        std::fs::write(d.join("client.cnf"), "extendedKeyUsage=clientAuth\n").unwrap();
        openssl(&[
            "x509",
            "-req",
            "-in",
            "client.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "client.crt",
            "-days",
            "2",
            "-extfile",
            "client.cnf",
        ]);
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let mut roots = rustls::RootCertStore::empty();
        for c in CertificateDer::pem_file_iter(d.join("ca.crt")).unwrap() {
            roots.add(c.unwrap()).unwrap();
        }
        let verifier = rustls::server::WebPkiClientVerifier::builder(Arc::new(roots))
            .build()
            .unwrap();
        let certs: Vec<CertificateDer<'static>> =
            CertificateDer::pem_file_iter(d.join("server.crt"))
                .unwrap()
                .map(|c| c.unwrap())
                .collect();
        let key = PrivateKeyDer::from_pem_file(d.join("server.key")).unwrap();
        let config = rustls::ServerConfig::builder()
            .with_client_cert_verifier(verifier)
            .with_single_cert(certs, key)
            .unwrap();
        (
            Arc::new(config),
            std::fs::read(d.join("client.crt")).unwrap(),
            std::fs::read(d.join("client.key")).unwrap(),
        )
    }
}

struct HttpState {
    repos: PathBuf,
    auth: HttpAuth,
    /// Each request with the body bytes sent so far (counted as they go out).
    served: Mutex<Vec<(Served, Arc<AtomicUsize>)>>,
    /// Drop the connection half-way through the response to a `fetch` command.
    cut_fetch: AtomicBool,
    /// Run after a `fetch` command's pack is made and before it is sent.
    on_fetch: Mutex<Option<Arc<dyn Fn() + Send + Sync>>>,
    stop: AtomicBool,
}

/// Smart HTTP: `git http-backend` (CGI) behind a minimal HTTP/1.1 server that streams the
/// backend's output to the client (chunked) as it is produced, as Git hosting servers do,
/// except where a test hook ([`HttpServer::on_fetch`], [`HttpServer::cut_fetches`]) needs the
/// whole pack first.
pub struct HttpServer {
    state: Arc<HttpState>,
    pub port: u16,
    tls: bool,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl HttpServer {
    pub fn start(repos: &Path, auth: HttpAuth, tls: Option<Arc<rustls::ServerConfig>>) -> Self {
        require("git", "git");
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(HttpState {
            repos: repos.to_path_buf(),
            auth,
            served: Mutex::new(Vec::new()),
            cut_fetch: AtomicBool::new(false),
            on_fetch: Mutex::new(None),
            stop: AtomicBool::new(false),
        });
        let is_tls = tls.is_some();
        let s = state.clone();
        let thread = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if s.stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let s = s.clone();
                let tls = tls.clone();
                std::thread::spawn(move || {
                    let _ = conn.set_read_timeout(Some(Duration::from_secs(30)));
                    // As servers do: the small writes of a streamed response (the last
                    // chunk, sideband progress) are not held back by Nagle's algorithm.
                    let _ = conn.set_nodelay(true);
                    match tls {
                        Some(cfg) => {
                            let Ok(server) = rustls::ServerConnection::new(cfg) else {
                                return;
                            };
                            let mut stream = rustls::StreamOwned::new(server, conn);
                            serve(&s, &mut stream);
                            stream.conn.send_close_notify();
                            let _ = stream.flush();
                        }
                        None => {
                            let mut conn = conn;
                            serve(&s, &mut conn);
                        }
                    }
                });
            }
        });
        Self {
            state,
            port,
            tls: is_tls,
            thread: Some(thread),
        }
    }

    pub fn url(&self, repo: &str) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}/{repo}", self.port)
    }

    pub fn served(&self) -> Vec<Served> {
        self.state
            .served
            .lock()
            .unwrap()
            .iter()
            .map(|(s, bytes)| Served {
                response_bytes: bytes.load(Ordering::SeqCst),
                ..s.clone()
            })
            .collect()
    }

    pub fn clear(&self) {
        self.state.served.lock().unwrap().clear();
    }

    /// Runs `hook` after each `fetch` command's pack is made and before it is sent: what
    /// another writer does between a client's fetch and its push.
    pub fn on_fetch(&self, hook: impl Fn() + Send + Sync + 'static) {
        *self.state.on_fetch.lock().unwrap() = Some(Arc::new(hook));
    }

    pub fn cut_fetches(&self, on: bool) {
        self.state.cut_fetch.store(on, Ordering::SeqCst);
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn read_request(
    reader: &mut BufReader<&mut dyn ReadWrite>,
) -> Option<(String, String, BTreeMap<String, String>, Vec<u8>)> {
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let target = parts.next()?.to_string();
    let mut headers = BTreeMap::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':')?;
        headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
    }
    let mut body = Vec::new();
    if let Some(len) = headers.get("content-length") {
        let len: usize = len.parse().ok()?;
        body.resize(len, 0);
        reader.read_exact(&mut body).ok()?;
    } else if headers
        .get("transfer-encoding")
        .is_some_and(|t| t.contains("chunked"))
    {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size).ok()?;
            let size = usize::from_str_radix(size.trim().split(';').next()?, 16).ok()?;
            let mut chunk = vec![0; size];
            reader.read_exact(&mut chunk).ok()?;
            let mut crlf = [0u8; 2];
            reader.read_exact(&mut crlf).ok()?;
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk);
        }
    }
    Some((method, target, headers, body))
}

trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

fn authorized(auth: &HttpAuth, headers: &BTreeMap<String, String>) -> bool {
    use base64::Engine as _;
    let given = headers
        .get("authorization")
        .map(String::as_str)
        .unwrap_or("");
    match auth {
        HttpAuth::None => true,
        HttpAuth::Basic(u, p) => {
            let expected = base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"));
            given == format!("Basic {expected}")
        }
        HttpAuth::Bearer(t) => given == format!("Bearer {t}"),
    }
}

fn v2_command(body: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(body);
    let at = text.find("command=")?;
    // The pkt-line's length (4 hex digits before it) bounds the value: `git` writes
    // `command=fetch` without a trailing newline.
    let bounded = at
        .checked_sub(4)
        .and_then(|start| usize::from_str_radix(text.get(start..at)?, 16).ok())
        .and_then(|len| text.get(at + "command=".len()..at + len.checked_sub(4)?));
    if let Some(value) = bounded {
        return Some(value.trim().to_string());
    }
    let rest = &text[at + "command=".len()..];
    Some(
        rest.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect(),
    )
}

/// The status and the other header lines (CRLF-terminated, without `Content-Length` or
/// `Transfer-Encoding`) of a CGI response, read up to the blank line that ends them.
fn read_cgi_head(out: &mut impl BufRead) -> Option<(u16, String)> {
    let mut status = 200u16;
    let mut lines = String::new();
    let mut total = 0;
    loop {
        let mut line = Vec::new();
        let n = out.read_until(b'\n', &mut line).ok()?;
        total += n;
        if n == 0 || total > 64 * 1024 {
            return None;
        }
        let line = String::from_utf8_lossy(&line);
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            return Some((status, lines));
        }
        let (name, value) = line.split_once(':')?;
        match name.trim().to_ascii_lowercase().as_str() {
            "status" => {
                status = value
                    .split_whitespace()
                    .next()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(500);
            }
            "content-length" | "transfer-encoding" | "connection" => {}
            _ => {
                lines.push_str(line);
                lines.push_str("\r\n");
            }
        }
    }
}

fn serve(state: &HttpState, stream: &mut dyn ReadWrite) {
    let mut reader = BufReader::new(stream);
    let Some((method, target, headers, body)) = read_request(&mut reader) else {
        return;
    };
    let stream = reader.into_inner();
    let command = if method == "POST" {
        v2_command(&body)
    } else {
        None
    };
    let deepen = String::from_utf8_lossy(&body).contains("deepen 1");
    // Recorded before any of the response goes out: a client that has read the whole
    // response may already be on its next request, and `served()` must not miss this one.
    // The byte count grows as the body goes out and is complete before its last bytes do.
    let record = |status: u16| -> Arc<AtomicUsize> {
        let bytes = Arc::new(AtomicUsize::new(0));
        state.served.lock().unwrap().push((
            Served {
                method: method.clone(),
                path: target.clone(),
                command: command.clone(),
                deepen,
                status,
                response_bytes: 0,
            },
            bytes.clone(),
        ));
        bytes
    };
    if !authorized(&state.auth, &headers) {
        let body = "authentication required\n";
        record(401).store(body.len(), Ordering::SeqCst);
        let _ = write!(
            stream,
            "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"git\"\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let _ = stream.flush();
        return;
    }
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let mut cgi = Command::new("git");
    cgi.arg("http-backend")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("GIT_PROJECT_ROOT", &state.repos)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("REQUEST_METHOD", &method)
        .env("PATH_INFO", path)
        .env("QUERY_STRING", query)
        .env("REMOTE_ADDR", "127.0.0.1")
        .env("CONTENT_LENGTH", body.len().to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if let Some(ct) = headers.get("content-type") {
        cgi.env("CONTENT_TYPE", ct);
    }
    if let Some(p) = headers.get("git-protocol") {
        cgi.env("GIT_PROTOCOL", p);
    }
    if let Some(enc) = headers.get("content-encoding") {
        cgi.env("HTTP_CONTENT_ENCODING", enc);
    }
    let mut child = cgi.spawn().expect("spawn git http-backend");
    let mut stdin = child.stdin.take().unwrap();
    // The request body goes in on its own thread while the response comes out: the backend
    // may start answering before it has read all of a large request.
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&body);
    });
    let mut out = BufReader::with_capacity(64 * 1024, child.stdout.take().unwrap());
    let finish = |mut child: Child, writer: std::thread::JoinHandle<()>| {
        let _ = child.kill();
        let _ = child.wait();
        let _ = writer.join();
    };
    let Some((status, head_lines)) = read_cgi_head(&mut out) else {
        record(500);
        let _ = stream.write_all(
            b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        );
        let _ = stream.flush();
        finish(child, writer);
        return;
    };
    let is_fetch = command.as_deref() == Some("fetch");
    let hook = if is_fetch {
        state.on_fetch.lock().unwrap().clone()
    } else {
        None
    };
    let cut = is_fetch && state.cut_fetch.load(Ordering::SeqCst);
    if hook.is_some() || cut {
        // The test hooks need the whole pack first: the hook runs once it is made and
        // before any of it is sent, and a cut response stops half-way through it.
        let mut payload = Vec::new();
        let _ = out.read_to_end(&mut payload);
        finish(child, writer);
        if let Some(hook) = hook {
            hook();
        }
        // A cut response announces the whole length and then "dies" half-way.
        let sent = if cut {
            payload.len() / 2
        } else {
            payload.len()
        };
        record(status).store(sent, Ordering::SeqCst);
        let _ = write!(
            stream,
            "HTTP/1.1 {status} X\r\n{head_lines}Content-Length: {}\r\nConnection: close\r\n\r\n",
            payload.len()
        );
        let _ = stream.write_all(&payload[..sent]);
        let _ = stream.flush();
        return;
    }
    // Everything else is streamed as the backend produces it, as Git hosting servers do:
    // the client can index a pack while it is still being made and sent.
    let bytes = record(status);
    let head = format!(
        "HTTP/1.1 {status} X\r\n{head_lines}Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    if stream
        .write_all(head.as_bytes())
        .and_then(|()| stream.flush())
        .is_err()
    {
        finish(child, writer);
        return;
    }
    let mut buf = vec![0u8; 64 * 1024];
    let mut chunk = Vec::with_capacity(buf.len() + 16);
    loop {
        let n = match out.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => {
                // No terminating chunk: the client sees a truncated response.
                finish(child, writer);
                return;
            }
        };
        chunk.clear();
        chunk.extend_from_slice(format!("{n:x}\r\n").as_bytes());
        chunk.extend_from_slice(&buf[..n]);
        chunk.extend_from_slice(b"\r\n");
        bytes.fetch_add(n, Ordering::SeqCst);
        if stream
            .write_all(&chunk)
            .and_then(|()| stream.flush())
            .is_err()
        {
            finish(child, writer);
            return;
        }
    }
    let _ = writer.join();
    // A backend that failed part-way gets no terminating chunk either.
    if child.wait().is_ok_and(|s| s.success()) {
        let _ = stream.write_all(b"0\r\n\r\n");
        let _ = stream.flush();
    }
}

/// `sshd` on a free port with its own host key, accepting one client key for the current
/// user and running `git-upload-pack`.
pub struct Sshd {
    child: Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
    pub client_key: Vec<u8>,
    pub known_hosts: Vec<u8>,
    pub user: String,
}

fn keygen(path: &Path, passphrase: &str) {
    require("ssh-keygen", "openssh-client");
    run(Command::new("ssh-keygen")
        .args([
            "-q",
            "-t",
            "ed25519",
            "-N",
            passphrase,
            "-C",
            "gitops-test",
            "-f",
        ])
        .arg(path));
}

impl Sshd {
    pub fn start() -> Self {
        Self::start_with_passphrase("")
    }

    /// With a client key encrypted with `passphrase` (empty for none).
    pub fn start_with_passphrase(passphrase: &str) -> Self {
        let sshd = require("/usr/sbin/sshd", "openssh-server");
        require("ssh", "openssh-client");
        require("git-upload-pack", "git");
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        keygen(&d.join("host_key"), "");
        keygen(&d.join("client_key"), passphrase);
        std::fs::copy(d.join("client_key.pub"), d.join("authorized_keys")).unwrap();
        // sshd's privilege separation directory.
        let _ = std::fs::create_dir_all("/run/sshd");
        let port = free_port();
        let user = run(Command::new("id").arg("-un"));
        let config = format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {host}\nAuthorizedKeysFile {auth}\nPidFile {pid}\n\
             StrictModes no\nUsePAM no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n\
             PubkeyAuthentication yes\nPermitRootLogin prohibit-password\nAllowUsers {user}\nAcceptEnv GIT_PROTOCOL\n\
             LogLevel ERROR\n",
            host = d.join("host_key").display(),
            auth = d.join("authorized_keys").display(),
            pid = d.join("sshd.pid").display(),
        );
        std::fs::write(d.join("sshd_config"), config).unwrap();
        let mut child = Command::new(&sshd)
            .args(["-D", "-e", "-f"])
            .arg(d.join("sshd_config"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn sshd");
        wait_for_port(port, &mut child, "sshd");
        let host_pub = std::fs::read_to_string(d.join("host_key.pub")).unwrap();
        let mut fields = host_pub.split_whitespace();
        let known_hosts = format!(
            "[127.0.0.1]:{port} {} {}\n",
            fields.next().unwrap(),
            fields.next().unwrap()
        )
        .into_bytes();
        let client_key = std::fs::read(d.join("client_key")).unwrap();
        Self {
            child,
            port,
            dir,
            client_key,
            known_hosts,
            user,
        }
    }

    pub fn url(&self, path: &Path) -> String {
        format!(
            "ssh://{}@127.0.0.1:{}{}",
            self.user,
            self.port,
            path.display()
        )
    }

    pub fn auth(&self) -> Auth {
        Auth::ssh(self.client_key.clone(), self.known_hosts.clone())
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A TCP proxy in front of a server that counts connections and the bytes the server sends.
pub struct CountingProxy {
    pub port: u16,
    pub connections: Arc<AtomicUsize>,
    pub server_bytes: Arc<AtomicUsize>,
}

impl CountingProxy {
    pub fn start(target: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let connections = Arc::new(AtomicUsize::new(0));
        let server_bytes = Arc::new(AtomicUsize::new(0));
        let (c, b) = (connections.clone(), server_bytes.clone());
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let Ok(server) = TcpStream::connect(("127.0.0.1", target)) else {
                    continue;
                };
                c.fetch_add(1, Ordering::SeqCst);
                let (mut c_read, mut s_write) =
                    (client.try_clone().unwrap(), server.try_clone().unwrap());
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut c_read, &mut s_write);
                    let _ = s_write.shutdown(std::net::Shutdown::Write);
                });
                let (mut s_read, mut c_write) = (server, client);
                let b = b.clone();
                std::thread::spawn(move || {
                    let mut buf = [0u8; 16 * 1024];
                    loop {
                        match s_read.read(&mut buf) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => {
                                b.fetch_add(n, Ordering::SeqCst);
                                if c_write.write_all(&buf[..n]).is_err() {
                                    break;
                                }
                            }
                        }
                    }
                    let _ = c_write.shutdown(std::net::Shutdown::Write);
                });
            }
        });
        Self {
            port,
            connections,
            server_bytes,
        }
    }

    /// Connections and server bytes since the last call.
    pub fn take(&self) -> (usize, usize) {
        (
            self.connections.swap(0, Ordering::SeqCst),
            self.server_bytes.swap(0, Ordering::SeqCst),
        )
    }
}

/// Text that does not compress well, `len` bytes.
pub fn noise(len: usize) -> String {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut s = String::with_capacity(len);
    while s.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s.push_str(&format!("{x:016x}"));
    }
    s.truncate(len);
    s
}
