//! Committing files onto a branch and pushing it, as `flux bootstrap` does.
//!
//! gitoxide cannot push (its receive-pack side is unimplemented, gitoxide issue #306), so
//! this module runs the `git` program, which must be installed. Each push works in a fresh
//! temporary directory:
//!
//! 1. `git init`, then `git fetch --depth=1` of the branch only (no tags, no history); an
//!    empty repository or a missing branch starts a new root commit instead;
//! 2. the given files are hashed into blobs and laid over the fetched tree in the index
//!    (`hash-object`, `read-tree`, `update-index`, `write-tree`): nothing is checked out, so
//!    a large repository costs its depth-1 pack and nothing more, and paths never touch the
//!    file system;
//! 3. when the resulting tree equals the branch's, nothing is committed
//!    ([`Pushed::created`] is `false`: bootstrap's "up to date"); otherwise `git commit-tree`
//!    with the given author and message, then `git push` of that commit to the branch;
//! 4. when the push is rejected because the branch moved (non-fast-forward, or the remote
//!    could not lock the ref), the branch is fetched again and the commit rebuilt on its new
//!    tip, up to [`PushOptions::attempts`] times.
//!
//! Transports and credentials are those of [`mod@crate::fetch`], from the same [`Auth`]:
//!
//! | transport | how credentials reach `git` |
//! |---|---|
//! | `file://`, `git://` | none (`git daemon` must run with `--enable=receive-pack`) |
//! | `http(s)://` basic | a credential helper script printing a 0600 file (a password written into the URL is moved there too) |
//! | `http(s)://` bearer | `http.extraHeader` through `GIT_CONFIG_*` environment variables |
//! | `https://` private CA | `http.sslCAInfo`: the system roots plus `ca.crt`, in a 0600 file; verification stays on |
//! | `https://` client certificate | `http.sslCert` and `http.sslKey`, 0600 files |
//! | `ssh://` | `GIT_SSH_COMMAND`: the fetch's `ssh` options, key and `known_hosts` in 0600 files, strict host key checking |
//!
//! No credential is ever on a command line, in a URL shown, in a log or in an error: the URL
//! given to `git` carries no password, and `git`'s messages are scrubbed of every secret
//! before they are used. `git` runs with an empty environment apart from `PATH`, a temporary
//! `HOME`, no system or global configuration and no terminal prompts.
//!
//! ```no_run
//! use gitops_git::Auth;
//! use gitops_git::push::{Commit, PushOptions, push_blocking};
//!
//! let commit = Commit::new("main", "Add Flux v2.7.0 component manifests")
//!     .with_file("clusters/prod/flux-system/gotk-components.yaml", b"---\n".to_vec());
//! let pushed = push_blocking(
//!     "https://example.invalid/fleet.git",
//!     &Auth::basic("git", "token"),
//!     &commit,
//!     &PushOptions::default(),
//! )?;
//! println!("{} (new commit: {})", pushed.revision, pushed.created);
//! # Ok::<(), gitops_git::Error>(())
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use gitops_core::{Digest, Revision};

use crate::Error;
use crate::auth::Auth;
use crate::fetch::{CancelOnDrop, parse_url, quote, redact_url, ssh_command, write_private};

/// The name and email of a commit's author (and committer).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signature {
    /// The name, e.g. `Flux`.
    pub name: String,
    /// The email address; may be empty, as `flux bootstrap`'s default is.
    pub email: String,
}

impl Signature {
    /// A signature with this name and email.
    pub fn new(name: impl Into<String>, email: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            email: email.into(),
        }
    }
}

impl Default for Signature {
    /// `flux bootstrap`'s default author: name `Flux`, no email.
    fn default() -> Self {
        Self::new("Flux", "")
    }
}

/// What to commit: files laid over the branch's tree, with a message and an author.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Commit {
    /// The branch to commit onto (short name, e.g. `main`); created when missing.
    pub branch: String,
    /// The commit message.
    pub message: String,
    /// Author and committer.
    pub author: Signature,
    /// Files by `/`-separated path relative to the repository root, written as regular
    /// (non-executable) files. Files of the branch not listed here are kept.
    pub files: BTreeMap<String, Vec<u8>>,
    /// Files of the branch to remove, by path; a path the branch lacks is ignored.
    pub removed: BTreeSet<String>,
}

impl Commit {
    /// A commit onto `branch` with `message`, authored by [`Signature::default`], with no
    /// files yet.
    pub fn new(branch: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            branch: branch.into(),
            message: message.into(),
            author: Signature::default(),
            files: BTreeMap::new(),
            removed: BTreeSet::new(),
        }
    }

    /// Adds (or replaces) a file.
    pub fn with_file(mut self, path: impl Into<String>, contents: impl Into<Vec<u8>>) -> Self {
        self.files.insert(path.into(), contents.into());
        self
    }

    /// Removes a file of the branch (a path the branch lacks is ignored).
    pub fn without_file(mut self, path: impl Into<String>) -> Self {
        self.removed.insert(path.into());
        self
    }

    /// Sets the author (and committer).
    pub fn with_author(mut self, author: Signature) -> Self {
        self.author = author;
        self
    }

    fn invalid(&self, reason: impl Into<String>) -> Error {
        Error::InvalidCommit {
            branch: self.branch.clone(),
            reason: reason.into(),
        }
    }

    /// Checks what `git` would refuse or misread, before anything runs.
    fn validate(&self) -> Result<(), Error> {
        let full = format!("refs/heads/{}", self.branch);
        if self.branch.is_empty()
            || self.branch.starts_with('-')
            || gix::refs::FullName::try_from(full.as_str()).is_err()
        {
            return Err(self.invalid("the branch name is not a valid Git branch name"));
        }
        if self.files.is_empty() && self.removed.is_empty() {
            return Err(self.invalid("no files to commit"));
        }
        for path in self.files.keys().chain(&self.removed) {
            check_path(path).map_err(|reason| self.invalid(format!("file '{path}' {reason}")))?;
        }
        if let Some(path) = self.removed.iter().find(|p| self.files.contains_key(*p)) {
            return Err(self.invalid(format!("file '{path}' is both written and removed")));
        }
        for (what, value) in [("name", &self.author.name), ("email", &self.author.email)] {
            if value.contains(['<', '>', '\n', '\r', '\0']) {
                return Err(self.invalid(format!(
                    "the author {what} must not contain '<', '>' or line breaks"
                )));
            }
        }
        if self.author.name.trim().is_empty() {
            return Err(self.invalid("the author name is empty"));
        }
        Ok(())
    }
}

/// Why a path cannot be committed, if it cannot.
fn check_path(path: &str) -> Result<(), &'static str> {
    if path.is_empty() {
        return Err("is empty");
    }
    if path.starts_with('/') {
        return Err("must be relative to the repository root");
    }
    if path.chars().any(char::is_control) {
        return Err("contains a control character");
    }
    for part in path.split('/') {
        match part {
            "" => return Err("has an empty path component"),
            "." | ".." => return Err("must not contain '.' or '..' components"),
            p if p.eq_ignore_ascii_case(".git") => return Err("must not be inside '.git'"),
            _ => {}
        }
    }
    Ok(())
}

/// How a push is bounded.
#[derive(Clone, Debug)]
pub struct PushOptions {
    /// The longest the whole push may take, retries included; `git` is killed when it
    /// passes.
    pub timeout: Duration,
    /// How many times to build and push the commit when the branch keeps moving (at least
    /// one).
    pub attempts: u32,
    /// Set to `true` to cancel; [`push`] also sets it when its future is dropped. Give each
    /// push its own (the default does).
    pub cancel: Arc<AtomicBool>,
}

impl Default for PushOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(120),
            attempts: 5,
            cancel: Arc::new(AtomicBool::new(false)),
        }
    }
}

impl PushOptions {
    /// Options with this timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Options with this many attempts.
    pub fn with_attempts(mut self, attempts: u32) -> Self {
        self.attempts = attempts;
        self
    }
}

/// What a push did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pushed {
    /// The branch's revision afterwards, in Flux's format (`main@sha1:<hex>`): what a
    /// GitRepository on that branch will report.
    pub revision: Revision,
    /// Whether a commit was made; `false` when the branch already had these files.
    pub created: bool,
    /// How many times the commit was pushed (more than one after non-fast-forward
    /// rejections).
    pub attempts: u32,
}

/// The output of one `git` command.
struct Ran {
    status: ExitStatus,
    stdout: String,
    /// Scrubbed of secrets.
    stderr: String,
}

impl Ran {
    fn ok(&self) -> bool {
        self.status.success()
    }
}

/// Runs `git` in the temporary directory with the push's environment and credentials.
struct Git<'a> {
    root: PathBuf,
    repo: PathBuf,
    env: Vec<(String, OsString)>,
    secrets: Vec<String>,
    url: String,
    display: String,
    branch: &'a str,
    deadline: Instant,
    options: &'a PushOptions,
    ssh_log: Option<PathBuf>,
    /// Whether a bearer token was sent, to explain a refusal.
    bearer: bool,
}

impl Git<'_> {
    fn scrub(&self, mut text: String) -> String {
        for s in &self.secrets {
            if !s.is_empty() {
                text = text.replace(s.as_str(), "<redacted>");
            }
        }
        text
    }

    fn error(&self, detail: impl Into<String>) -> Error {
        Error::Push {
            url: self.display.clone(),
            branch: self.branch.to_string(),
            detail: self.scrub(detail.into()),
        }
    }

    fn check_time(&self) -> Result<(), Error> {
        if self.options.cancel.load(Ordering::Relaxed) {
            return Err(self.error("cancelled"));
        }
        if Instant::now() >= self.deadline {
            return Err(self.error(format!(
                "timed out after {}s",
                self.options.timeout.as_secs()
            )));
        }
        Ok(())
    }

    /// Runs `git args...` in the work repository (or the temporary root for `init`),
    /// feeding `stdin`, killing it on timeout or cancellation.
    fn run(&self, args: &[&str], stdin: Option<Vec<u8>>) -> Result<Ran, Error> {
        self.check_time()?;
        let cwd = if self.repo.exists() {
            &self.repo
        } else {
            &self.root
        };
        let out_path = self.root.join("git.out");
        let err_path = self.root.join("git.err");
        let file = |p: &Path| {
            std::fs::File::create(p).map_err(|e| Error::io("create git output file", p, e))
        };
        let mut command = Command::new("git");
        command
            .args(args)
            .current_dir(cwd)
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(file(&out_path)?)
            .stderr(file(&err_path)?);
        let mut child = command.spawn().map_err(|e| {
            self.error(format!(
                "could not run the git program (push needs git installed): {e}"
            ))
        })?;
        let writer = match (stdin, child.stdin.take()) {
            (Some(bytes), Some(mut pipe)) => Some(std::thread::spawn(move || {
                // A git that exits early closes the pipe; its status tells what happened.
                let _ = pipe.write_all(&bytes);
            })),
            _ => None,
        };
        let mut pause = Duration::from_millis(1);
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) => {}
                Err(e) => return Err(self.error(format!("waiting for git: {e}"))),
            }
            if let Err(e) = self.check_time() {
                let _ = child.kill();
                let _ = child.wait();
                return Err(e);
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(20));
        };
        if let Some(w) = writer {
            let _ = w.join();
        }
        let read = |p: &Path| {
            std::fs::read(p)
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .map_err(|e| Error::io("read git output file", p, e))
        };
        Ok(Ran {
            status,
            stdout: read(&out_path)?,
            stderr: self.scrub(read(&err_path)?),
        })
    }

    /// Runs a local command that must succeed, returning its trimmed stdout.
    fn local(&self, args: &[&str], stdin: Option<Vec<u8>>) -> Result<String, Error> {
        let ran = self.run(args, stdin)?;
        if !ran.ok() {
            return Err(self.error(format!(
                "git {} failed: {}",
                args.first().copied().unwrap_or_default(),
                one_line(&ran.stderr)
            )));
        }
        Ok(ran.stdout.trim().to_string())
    }

    /// Turns a failed network command into the error a user can act on.
    fn classify(&self, ran: &Ran) -> Error {
        let mut detail = one_line(&ran.stderr);
        if let Some(log) = self
            .ssh_log
            .as_ref()
            .and_then(|p| std::fs::read_to_string(p).ok())
        {
            let log = one_line(&self.scrub(log));
            if !log.is_empty() {
                detail = format!("{detail}; ssh: {log}");
            }
        }
        let lower = detail.to_lowercase();
        if lower.contains("host key verification failed")
            || lower.contains("remote host identification has changed")
            || lower.contains("no matching host key")
        {
            return Error::HostKey {
                url: self.display.clone(),
            };
        }
        if lower.contains("authentication failed")
            || lower.contains("could not read username")
            || lower.contains("could not read password")
            || lower.contains("terminal prompts disabled")
            || lower.contains("permission denied (publickey")
            || lower.contains(" 401")
            || lower.contains(" 403")
        {
            // `git` asks for a user name when the server refused what it sent, or when it
            // sent nothing: say which.
            let detail = if !lower.contains("terminal prompts disabled") {
                detail
            } else if self.bearer {
                "the server refused the bearer token: check 'bearerToken' in the secret".into()
            } else {
                "the server requires credentials and none were given: set 'username' and 'password' or 'bearerToken' in the secret".into()
            };
            return Error::Authentication {
                url: self.display.clone(),
                detail,
            };
        }
        self.error(detail)
    }

    /// Fetches the branch's tip at depth 1; `None` when the branch (or the whole
    /// repository) is empty.
    fn fetch_tip(&self) -> Result<Option<String>, Error> {
        let spec = format!("+refs/heads/{}:{BASE_REF}", self.branch);
        let ran = self.run(
            &[
                "fetch",
                "--quiet",
                "--no-tags",
                "--no-write-fetch-head",
                "--depth=1",
                "--",
                &self.url,
                &spec,
            ],
            None,
        )?;
        if !ran.ok() {
            if ran.stderr.contains("couldn't find remote ref") {
                return Ok(None);
            }
            return Err(self.classify(&ran));
        }
        self.local(&["rev-parse", "--verify", BASE_REF], None)
            .map(Some)
    }
}

/// Where the fetched tip of the branch is kept in the temporary repository.
const BASE_REF: &str = "refs/gitops/base";

/// The last non-empty lines of a `git` message, joined: the line that says what failed is
/// usually the last, `hint:` lines are left out.
fn one_line(text: &str) -> String {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("hint:"))
        .collect();
    let start = lines.len().saturating_sub(4);
    lines[start..].join("; ")
}

/// Whether a failed push was refused because the branch moved since it was fetched.
fn moved(ran: &Ran) -> bool {
    let text = format!("{}\n{}", ran.stdout, ran.stderr);
    text.contains("[rejected]")
        || text.contains("(fetch first)")
        || text.contains("(non-fast-forward)")
        || (text.contains("[remote rejected]")
            && (text.contains("failed to lock") || text.contains("cannot lock ref")))
}

/// Candidate locations of the system's CA bundle; `ca.crt` is added to it because
/// `http.sslCAInfo` replaces the roots where the fetch merges.
const SYSTEM_ROOTS: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/cert.pem",
];

fn private_dir(path: &Path) -> Result<(), Error> {
    let mut builder = std::fs::DirBuilder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(path)
        .map_err(|e| Error::io("create directory", path, e))
}

/// Commits `commit.files` onto `commit.branch` of `url` and pushes it, blocking the calling
/// thread. See the module docs for the steps and how credentials are passed; see [`push`]
/// for the async form.
pub fn push_blocking(
    url: &str,
    auth: &Auth,
    commit: &Commit,
    options: &PushOptions,
) -> Result<Pushed, Error> {
    let started = Instant::now();
    let (parsed, display) = parse_url(url)?;
    commit.validate()?;
    let secret = auth.secret_name();
    let invalid_secret = |reason: &str| Error::InvalidSecret {
        secret: secret.clone(),
        reason: reason.into(),
    };

    let dir = tempfile::Builder::new()
        .prefix("gitops-push-")
        .tempdir()
        .map_err(|e| Error::io("create temporary directory", std::env::temp_dir(), e))?;
    let root = dir.path().to_path_buf();
    let home = root.join("home");
    private_dir(&home)?;
    let secrets_dir = root.join("secrets");
    private_dir(&secrets_dir)?;

    let mut env: Vec<(String, OsString)> = vec![
        ("HOME".into(), home.clone().into()),
        ("GIT_CONFIG_NOSYSTEM".into(), "1".into()),
        ("GIT_CONFIG_GLOBAL".into(), "/dev/null".into()),
        ("GIT_TERMINAL_PROMPT".into(), "0".into()),
        ("LC_ALL".into(), "C".into()),
        ("GIT_AUTHOR_NAME".into(), commit.author.name.clone().into()),
        (
            "GIT_AUTHOR_EMAIL".into(),
            commit.author.email.clone().into(),
        ),
        (
            "GIT_COMMITTER_NAME".into(),
            commit.author.name.clone().into(),
        ),
        (
            "GIT_COMMITTER_EMAIL".into(),
            commit.author.email.clone().into(),
        ),
    ];
    for inherited in ["PATH", "TMPDIR"] {
        if let Some(v) = std::env::var_os(inherited) {
            env.push((inherited.into(), v));
        }
    }
    let mut config: Vec<(String, String)> = vec![
        ("protocol.version".into(), "2".into()),
        ("init.defaultBranch".into(), commit.branch.clone()),
        ("gc.auto".into(), "0".into()),
        ("maintenance.auto".into(), "false".into()),
        ("core.hooksPath".into(), "/dev/null".into()),
        ("http.sslVerify".into(), "true".into()),
        ("credential.helper".into(), String::new()),
    ];
    let mut secrets: Vec<String> = Vec::new();

    // Credentials from the URL itself move into the helper's file, never onto a command line.
    let mut basic = auth.basic.clone();
    if let Some(password) = parsed.password() {
        secrets.push(password.to_string());
        if basic.is_none() {
            basic = Some(crate::auth::Basic {
                username: parsed.user().unwrap_or_default().to_string(),
                password: password.to_string(),
            });
        }
    }
    if let Some(b) = &basic {
        secrets.push(b.password.clone());
        if [&b.username, &b.password]
            .iter()
            .any(|v| v.contains(['\n', '\0']))
        {
            return Err(invalid_secret(
                "'username' and 'password' must not contain line breaks",
            ));
        }
        let file = secrets_dir.join("credentials");
        write_private(
            &file,
            format!("username={}\npassword={}\n", b.username, b.password).as_bytes(),
        )?;
        let helper = secrets_dir.join("credential-helper");
        let script = format!(
            "#!/bin/sh\ntest \"$1\" = get && cat {}\nexit 0\n",
            quote(&file)
        );
        write_private(&helper, script.as_bytes())?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o700))
                .map_err(|e| Error::io("write credential helper", &helper, e))?;
        }
        config.push(("credential.helper".into(), format!("!{}", quote(&helper))));
    }
    if let Some(token) = &auth.bearer_token {
        secrets.push(token.clone());
        if token.contains(['\n', '\r', '\0']) {
            return Err(invalid_secret("'bearerToken' must not contain line breaks"));
        }
        config.push((
            "http.extraHeader".into(),
            format!("Authorization: Bearer {token}"),
        ));
    }
    if let Some(ca) = &auth.ca_pem {
        let mut bundle = SYSTEM_ROOTS
            .iter()
            .find_map(|p| std::fs::read(p).ok())
            .unwrap_or_default();
        bundle.push(b'\n');
        bundle.extend_from_slice(ca);
        let file = secrets_dir.join("ca.crt");
        write_private(&file, &bundle)?;
        config.push(("http.sslCAInfo".into(), file.display().to_string()));
    }
    if let Some(cert) = &auth.client_certificate {
        let (cert_file, key_file) = (secrets_dir.join("tls.crt"), secrets_dir.join("tls.key"));
        write_private(&cert_file, &cert.cert)?;
        write_private(&key_file, &cert.key)?;
        config.push(("http.sslCert".into(), cert_file.display().to_string()));
        config.push(("http.sslKey".into(), key_file.display().to_string()));
    }
    let mut ssh_log = None;
    if parsed.scheme == gix::url::Scheme::Ssh {
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
        let command = ssh_command(&secrets_dir, ssh, options.timeout)?;
        ssh_log = Some(secrets_dir.join("ssh.log"));
        env.push(("GIT_SSH_COMMAND".into(), command.into()));
        env.push(("GIT_SSH_VARIANT".into(), "ssh".into()));
    }
    env.push(("GIT_CONFIG_COUNT".into(), config.len().to_string().into()));
    for (i, (key, value)) in config.into_iter().enumerate() {
        env.push((format!("GIT_CONFIG_KEY_{i}"), key.into()));
        env.push((format!("GIT_CONFIG_VALUE_{i}"), value.into()));
    }

    let git = Git {
        repo: root.join("repo"),
        root,
        env,
        secrets,
        url: redact_url(url),
        display: display.clone(),
        branch: &commit.branch,
        deadline: started + options.timeout,
        options,
        ssh_log,
        bearer: auth.bearer_token.is_some(),
    };
    let span = tracing::debug_span!("push", url = %git.display, branch = %commit.branch);
    let _entered = span.enter();

    git.local(&["init", "--quiet", "repo"], None)?;
    let blobs = hash_files(&git, commit)?;
    let attempts = options.attempts.max(1);
    for attempt in 1..=attempts {
        let parent = git.fetch_tip()?;
        match &parent {
            Some(p) => git.local(&["read-tree", p], None)?,
            None => git.local(&["read-tree", "--empty"], None)?,
        };
        git.local(&["update-index", "-z", "--index-info"], Some(blobs.clone()))?;
        let tree = git.local(&["write-tree"], None)?;
        if let Some(p) = &parent {
            let current = git.local(&["rev-parse", &format!("{p}^{{tree}}")], None)?;
            if current == tree {
                tracing::debug!(revision = %p, "branch already has these files");
                return Ok(Pushed {
                    revision: revision(&commit.branch, p)?,
                    created: false,
                    attempts: attempt - 1,
                });
            }
        }
        let mut args = vec!["commit-tree", tree.as_str()];
        if let Some(p) = &parent {
            args.extend(["-p", p.as_str()]);
        }
        args.extend(["-F", "-"]);
        let id = git.local(&args, Some(commit.message.clone().into_bytes()))?;
        let target = format!("{id}:refs/heads/{}", commit.branch);
        let ran = git.run(&["push", "--porcelain", "--", &git.url, &target], None)?;
        if ran.ok() {
            tracing::debug!(commit = %id, attempt, elapsed_ms = started.elapsed().as_millis() as u64, "pushed");
            return Ok(Pushed {
                revision: revision(&commit.branch, &id)?,
                created: true,
                attempts: attempt,
            });
        }
        if !moved(&ran) {
            return Err(git.classify(&ran));
        }
        tracing::debug!(
            attempt,
            "push rejected because the branch moved, fetching it again"
        );
        if attempt < attempts {
            let pause = Duration::from_millis(50 * u64::from(attempt));
            let left = git.deadline.saturating_duration_since(Instant::now());
            std::thread::sleep(pause.min(left));
        }
    }
    Err(Error::PushRejected {
        url: display,
        branch: commit.branch.clone(),
        attempts,
    })
}

/// Writes the files as blobs of the temporary repository and returns the `update-index -z
/// --index-info` input that places them.
fn hash_files(git: &Git<'_>, commit: &Commit) -> Result<Vec<u8>, Error> {
    let staging = git.root.join("files");
    std::fs::create_dir(&staging).map_err(|e| Error::io("create directory", &staging, e))?;
    let mut list = String::new();
    for (i, contents) in commit.files.values().enumerate() {
        let path = staging.join(i.to_string());
        std::fs::write(&path, contents).map_err(|e| Error::io("write file to commit", &path, e))?;
        list.push_str(&path.display().to_string());
        list.push('\n');
    }
    let ids = git.local(
        &["hash-object", "-w", "--no-filters", "--stdin-paths"],
        Some(list.into_bytes()),
    )?;
    let ids: Vec<&str> = ids.lines().collect();
    if ids.len() != commit.files.len() {
        return Err(git.error(format!(
            "git hash-object returned {} ids for {} files",
            ids.len(),
            commit.files.len()
        )));
    }
    let mut info = Vec::new();
    for (path, id) in commit.files.keys().zip(ids) {
        info.extend_from_slice(format!("100644 {id}\t{path}\0").as_bytes());
    }
    // Mode 0 removes the entry from the index (git-update-index(1), "--index-info").
    for path in &commit.removed {
        info.extend_from_slice(format!("0 {}\t{path}\0", "0".repeat(40)).as_bytes());
    }
    Ok(info)
}

fn revision(branch: &str, hex: &str) -> Result<Revision, Error> {
    Ok(Revision::new(Some(branch), Digest::new("sha1", hex)?)?)
}

/// Commits and pushes on tokio's blocking pool. Returns an error when `options.timeout`
/// passes, and cancels the push (killing `git`) when the returned future is dropped.
pub async fn push(
    url: &str,
    auth: &Auth,
    commit: &Commit,
    options: PushOptions,
) -> Result<Pushed, Error> {
    let mut guard = CancelOnDrop {
        flag: options.cancel.clone(),
        armed: true,
    };
    let (u, a, c) = (url.to_string(), auth.clone(), commit.clone());
    let result = tokio::task::spawn_blocking(move || push_blocking(&u, &a, &c, &options))
        .await
        .unwrap_or_else(|join| {
            Err(Error::Push {
                url: redact_url(url),
                branch: commit.branch.clone(),
                detail: format!("the push task failed: {join}"),
            })
        });
    guard.armed = false;
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_paths_git_would_refuse_or_misplace() {
        for (path, want) in [
            ("", "empty"),
            ("/etc/passwd", "relative"),
            ("a//b", "empty path component"),
            ("a/../b", "'..'"),
            ("./a", "'.'"),
            (".git/config", ".git"),
            ("x/.GIT/hooks", ".git"),
            ("a\nb", "control"),
        ] {
            assert!(
                check_path(path).is_err_and(|r| r.contains(want)),
                "{path:?}: {:?}",
                check_path(path)
            );
        }
        assert!(check_path("clusters/prod/flux-system/gotk-sync.yaml").is_ok());
    }

    #[test]
    fn validates_the_commit_before_running_git() {
        let ok = Commit::new("main", "m").with_file("a.yaml", b"a".to_vec());
        assert!(ok.validate().is_ok());
        for (commit, want) in [
            (Commit::new("main", "m"), "no files"),
            (
                Commit::new("bad..name", "m").with_file("a", b"".to_vec()),
                "branch name",
            ),
            (
                Commit::new("-f", "m").with_file("a", b"".to_vec()),
                "branch name",
            ),
            (
                Commit::new("main", "m")
                    .with_file("a", b"".to_vec())
                    .with_author(Signature::new("Eve <evil>", "")),
                "author name",
            ),
        ] {
            let err = commit.validate().unwrap_err().to_string();
            assert!(err.contains(want), "{err}");
        }
    }

    #[test]
    fn rejections_that_mean_the_branch_moved() {
        let ran = |stdout: &str, stderr: &str| Ran {
            status: std::process::Command::new("false")
                .status()
                .unwrap_or_default(),
            stdout: stdout.into(),
            stderr: stderr.into(),
        };
        assert!(moved(&ran(
            "To x\n!\tabc:refs/heads/main\t[rejected] (fetch first)\nDone\n",
            ""
        )));
        assert!(moved(&ran(
            "!\tabc:refs/heads/main\t[remote rejected] (failed to lock)\n",
            ""
        )));
        assert!(!moved(&ran(
            "!\tabc:refs/heads/main\t[remote rejected] (pre-receive hook declined)\n",
            ""
        )));
    }

    #[test]
    fn one_line_keeps_the_last_lines_without_hints() {
        assert_eq!(
            one_line("remote: x\nhint: do this\nfatal: Authentication failed for 'u'\n"),
            "remote: x; fatal: Authentication failed for 'u'"
        );
    }
}
