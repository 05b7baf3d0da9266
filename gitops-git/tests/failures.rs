//! What goes wrong, and how it is reported: auth, host keys, missing refs, rewritten and
//! deleted branches, empty repositories, timeouts; and the unchanged poll's cost.

// Test helpers panic on setup failures: that is how a test reports them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use common::*;
use gitops_core::SourceFailure;
use gitops_core::api::Checkout;
use gitops_git::{Auth, Error, FetchOptions, FetchOutcome, fetch_blocking};

fn branch(b: &str) -> Checkout {
    Checkout::Branch(b.into())
}

fn fetch_err(url: &str, checkout: Checkout, auth: &Auth) -> Error {
    match fetch_blocking(url, &checkout, auth, &FetchOptions::default()) {
        Ok(o) => panic!("expected {checkout:?} from {url} to fail, got {o:?}"),
        Err(e) => e,
    }
}

#[test]
fn unchanged_poll_lists_refs_only_and_transfers_no_pack() {
    let fx = Fixture::new();
    let h = standard_history(&fx);
    let server = HttpServer::start(&fx.repos(), HttpAuth::None, None);
    let url = server.url("repo.git");

    let (commit, _) = fetch_commit(&url, branch("main"), &Auth::none());
    let changed = server.served();
    let commands: Vec<_> = changed.iter().filter_map(|s| s.command.clone()).collect();
    assert_eq!(commands, ["ls-refs", "fetch"], "{changed:?}");
    let changed_bytes: usize = changed.iter().map(|s| s.response_bytes).sum();

    for checkout in [branch("main"), Checkout::Semver(">=1.0.0 <2.0.0".into())] {
        let last = match &checkout {
            Checkout::Branch(_) => commit.revision().clone(),
            _ => format!("v1.1.0@sha1:{}", h.c2).parse().unwrap(),
        };
        server.clear();
        let outcome = fetch_blocking(
            &url,
            &checkout,
            &Auth::none(),
            &FetchOptions::default().with_last(Some(last.clone())),
        )
        .unwrap();
        assert!(
            matches!(&outcome, FetchOutcome::Unchanged(r) if *r == last),
            "{outcome:?}"
        );
        let served = server.served();
        // One handshake (GET info/refs) and one ls-refs: no fetch command, so no pack.
        assert_eq!(served.len(), 2, "{served:?}");
        assert_eq!(served[0].method, "GET");
        assert!(served[0].path.contains("info/refs?service=git-upload-pack"));
        assert_eq!(served[1].command.as_deref(), Some("ls-refs"));
        let bytes: usize = served.iter().map(|s| s.response_bytes).sum();
        assert!(
            bytes < changed_bytes,
            "unchanged {bytes} bytes vs changed {changed_bytes}"
        );
    }
}

#[test]
fn shallow_where_flux_is_shallow() {
    let fx = Fixture::new();
    let h = standard_history(&fx);
    let server = HttpServer::start(&fx.repos(), HttpAuth::None, None);
    let url = server.url("repo.git");
    for (checkout, shallow) in [
        (branch("main"), true),
        (Checkout::Tag("v1.1.0".into()), true),
        (Checkout::Semver("^1".into()), true),
        (Checkout::Name("refs/heads/main".into()), true),
        (Checkout::Name("refs/pull/1/head".into()), false),
        (
            Checkout::Commit {
                commit: h.c2.clone(),
                branch: Some("main".into()),
            },
            false,
        ),
        (
            Checkout::Commit {
                commit: h.c2.clone(),
                branch: None,
            },
            false,
        ),
    ] {
        server.clear();
        fetch_commit(&url, checkout.clone(), &Auth::none());
        let fetches: Vec<_> = server
            .served()
            .into_iter()
            .filter(|s| s.command.as_deref() == Some("fetch"))
            .collect();
        assert!(!fetches.is_empty(), "{checkout:?}");
        assert_eq!(fetches[0].deepen, shallow, "{checkout:?}");
    }
}

#[test]
fn wrong_password_is_an_authentication_error_that_hides_the_password() {
    let fx = Fixture::new();
    standard_history(&fx);
    let tls = Tls::generate();
    let server = HttpServer::start(
        &fx.repos(),
        HttpAuth::Basic("git".into(), "right-pass".into()),
        Some(tls.config.clone()),
    );
    let url = server.url("repo.git");
    for auth in [
        Auth::basic("git", "wrong-pass-xyz").with_ca(tls.ca_pem.clone()),
        Auth::none().with_ca(tls.ca_pem.clone()),
    ] {
        let err = fetch_err(&url, branch("main"), &auth);
        println!("wrong credentials: {err}");
        assert!(matches!(err, Error::Authentication { .. }), "{err:?}");
        assert_eq!(err.failure(), SourceFailure::Authentication);
        let text = format!("{err} {err:?}");
        assert!(!text.contains("wrong-pass-xyz"), "{text}");
        assert!(text.contains(&url), "{text}");
        let core: gitops_core::Error = err.into();
        assert!(
            core.to_string()
                .starts_with("failed to checkout and determine revision: ")
        );
    }
}

#[test]
fn wrong_bearer_token_is_an_authentication_error() {
    let fx = Fixture::new();
    standard_history(&fx);
    let tls = Tls::generate();
    let server = HttpServer::start(
        &fx.repos(),
        HttpAuth::Bearer("good-token".into()),
        Some(tls.config.clone()),
    );
    let err = fetch_err(
        &server.url("repo.git"),
        branch("main"),
        &Auth::bearer("bad-token-abc").with_ca(tls.ca_pem.clone()),
    );
    assert!(matches!(err, Error::Authentication { .. }), "{err:?}");
    assert!(!format!("{err} {err:?}").contains("bad-token-abc"));
}

#[test]
fn tls_is_verified_without_the_private_ca() {
    let fx = Fixture::new();
    standard_history(&fx);
    let tls = Tls::generate();
    let server = HttpServer::start(&fx.repos(), HttpAuth::None, Some(tls.config.clone()));
    let err = fetch_err(&server.url("repo.git"), branch("main"), &Auth::none());
    assert!(
        err.to_string().to_lowercase().contains("certificate"),
        "expected a certificate error, got: {err}"
    );
}

#[test]
fn unknown_host_key_is_refused() {
    let fx = Fixture::new();
    standard_history(&fx);
    let sshd = Sshd::start();
    let other = Sshd::start();
    // The key of another server: a mismatching host key.
    let wrong = other.known_hosts.clone().into_iter().collect::<Vec<u8>>();
    let wrong = String::from_utf8(wrong)
        .unwrap()
        .replace(&format!("]:{} ", other.port), &format!("]:{} ", sshd.port));
    for known_hosts in [wrong.into_bytes(), b"# nobody\n".to_vec()] {
        let auth = Auth::ssh(sshd.client_key.clone(), known_hosts);
        let err = fetch_err(&sshd.url(&fx.bare()), branch("main"), &auth);
        println!("unknown host key: {err}");
        assert!(matches!(err, Error::HostKey { .. }), "{err:?}");
        assert_eq!(err.failure(), SourceFailure::Authentication);
    }
}

#[test]
fn unknown_ssh_key_is_an_authentication_error() {
    let fx = Fixture::new();
    standard_history(&fx);
    let sshd = Sshd::start();
    let other = Sshd::start();
    let auth = Auth::ssh(other.client_key.clone(), sshd.known_hosts.clone());
    let err = fetch_err(&sshd.url(&fx.bare()), branch("main"), &auth);
    println!("unknown ssh key: {err}");
    assert!(matches!(err, Error::Authentication { .. }), "{err:?}");
}

#[test]
fn encrypted_ssh_key_works_with_its_password_from_the_secret() {
    let fx = Fixture::new();
    let h = standard_history(&fx);
    let sshd = Sshd::start_with_passphrase("key-pass-789");
    let mut data = std::collections::BTreeMap::from([
        ("identity".to_string(), sshd.client_key.clone()),
        ("known_hosts".to_string(), sshd.known_hosts.clone()),
    ]);
    let err = Auth::from_secret("flux-system/ssh", &data).unwrap_err();
    assert!(
        err.to_string().contains("encrypted but no 'password'"),
        "{err}"
    );
    data.insert("password".into(), b"key-pass-789".to_vec());
    let auth = Auth::from_secret("flux-system/ssh", &data).unwrap();
    let (commit, _) = fetch_commit(&sshd.url(&fx.bare()), branch("main"), &auth);
    assert_eq!(commit.revision().to_string(), format!("main@sha1:{}", h.c3));
}

#[test]
fn unknown_refs_are_named_in_the_error() {
    let fx = Fixture::new();
    let h = standard_history(&fx);
    let other = fx.commit(&[("other.yaml", Some("x: 1\n"))], "not on main");
    fx.push(&[&format!("{other}:refs/heads/other")]);
    let daemon = GitDaemon::start(&fx.repos());
    let url = daemon.url("repo.git");
    let none = Auth::none();
    for (checkout, expected) in [
        (
            branch("nope"),
            "couldn't find remote ref \"refs/heads/nope\"",
        ),
        (Checkout::Tag("v9.9.9".into()), "refs/tags/v9.9.9"),
        (
            Checkout::Name("refs/pull/9/head".into()),
            "refs/pull/9/head",
        ),
        (
            Checkout::Semver(">=9".into()),
            "no match found for semver: >=9",
        ),
        (
            Checkout::Commit {
                commit: other.clone(),
                branch: Some("main".into()),
            },
            "not found in branch 'main'",
        ),
        (
            Checkout::Commit {
                commit: h.c1.clone(),
                branch: Some("nope".into()),
            },
            "refs/heads/nope",
        ),
        (
            Checkout::Commit {
                commit: "0123456789012345678901234567890123456789".into(),
                branch: None,
            },
            "0123456789012345678901234567890123456789",
        ),
        (
            Checkout::Commit {
                commit: "abc".into(),
                branch: None,
            },
            "not a full 40-character commit id",
        ),
    ] {
        let err = fetch_err(&url, checkout.clone(), &none);
        assert!(err.to_string().contains(expected), "{checkout:?}: {err}");
        assert!(err.to_string().contains(&url), "{checkout:?}: {err}");
    }
    let err = fetch_err(&url, Checkout::Semver("not a range".into()), &none);
    assert!(matches!(err, Error::InvalidSemver { .. }), "{err:?}");
}

#[test]
fn force_pushed_branch_gives_the_new_revision() {
    let fx = Fixture::new();
    let h = standard_history(&fx);
    let daemon = GitDaemon::start(&fx.repos());
    let url = daemon.url("repo.git");
    let (before, _) = fetch_commit(&url, branch("main"), &Auth::none());
    assert_eq!(before.revision().to_string(), format!("main@sha1:{}", h.c3));
    fx.git(&["reset", "-q", "--hard", &h.c1]);
    let rewritten = fx.commit(&[("deploy/app.yaml", Some("version: 4\n"))], "rewritten");
    fx.push(&["+main"]);
    let outcome = fetch_blocking(
        &url,
        &branch("main"),
        &Auth::none(),
        &FetchOptions::default().with_last(Some(before.revision().clone())),
    )
    .unwrap();
    let FetchOutcome::Fetched(after) = outcome else {
        panic!("a force-pushed branch must be fetched again, got {outcome:?}");
    };
    assert_eq!(
        after.revision().to_string(),
        format!("main@sha1:{rewritten}")
    );
}

#[test]
fn deleted_branch_is_an_error_naming_it() {
    let fx = Fixture::new();
    standard_history(&fx);
    fx.push(&["main:refs/heads/feature"]);
    let daemon = GitDaemon::start(&fx.repos());
    let url = daemon.url("repo.git");
    fetch_commit(&url, branch("feature"), &Auth::none());
    fx.push(&[":refs/heads/feature"]);
    let err = fetch_err(&url, branch("feature"), &Auth::none());
    assert!(matches!(err, Error::RefNotFound { .. }), "{err:?}");
    assert!(err.to_string().contains("refs/heads/feature"), "{err}");
}

#[test]
fn empty_repository_is_an_error() {
    let fx = Fixture::new();
    let daemon = GitDaemon::start(&fx.repos());
    let server = HttpServer::start(&fx.repos(), HttpAuth::None, None);
    for url in [
        daemon.url("repo.git"),
        server.url("repo.git"),
        format!("file://{}", fx.bare().display()),
    ] {
        let err = fetch_err(&url, branch("main"), &Auth::none());
        assert!(err.to_string().contains("refs/heads/main"), "{url}: {err}");
    }
}

#[tokio::test]
async fn a_silent_server_times_out() {
    // Accepts connections and never answers.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let _hold = std::thread::spawn(move || {
        let mut open = Vec::new();
        for c in listener.incoming().take(4) {
            open.push(c);
        }
        std::thread::sleep(Duration::from_secs(30));
    });
    let started = Instant::now();
    let err = gitops_git::fetch(
        &format!("git://127.0.0.1:{port}/repo.git"),
        &branch("main"),
        &Auth::none(),
        FetchOptions::default().with_timeout(Duration::from_secs(2)),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, Error::Timeout { seconds: 2, .. }), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_cancelled_fetch_stops() {
    let fx = Fixture::new();
    standard_history(&fx);
    let options = FetchOptions {
        cancel: Arc::new(AtomicBool::new(true)),
        ..FetchOptions::default()
    };
    let err = fetch_blocking(
        &format!("file://{}", fx.bare().display()),
        &branch("main"),
        &Auth::none(),
        &options,
    )
    .unwrap_err();
    assert!(matches!(err, Error::Cancelled { .. }), "{err:?}");
}

#[test]
fn unchanged_poll_over_git_daemon_and_ssh_moves_no_pack() {
    let fx = Fixture::new();
    standard_history(&fx);
    fx.commit(&[("data/blob.txt", Some(&noise(400_000)))], "a large file");
    fx.push(&["main"]);
    let daemon = GitDaemon::start(&fx.repos());
    let sshd = Sshd::start();
    let git_proxy = CountingProxy::start(daemon.port);
    let ssh_proxy = CountingProxy::start(sshd.port);
    let ssh_known_hosts = String::from_utf8(sshd.known_hosts.clone())
        .unwrap()
        .replace(
            &format!("]:{} ", sshd.port),
            &format!("]:{} ", ssh_proxy.port),
        );
    let cases = [
        (
            format!("git://127.0.0.1:{}/repo.git", git_proxy.port),
            Auth::none(),
            &git_proxy,
        ),
        (
            format!(
                "ssh://{}@127.0.0.1:{}{}",
                sshd.user,
                ssh_proxy.port,
                fx.bare().display()
            ),
            Auth::ssh(sshd.client_key.clone(), ssh_known_hosts.into_bytes()),
            &ssh_proxy,
        ),
    ];
    for (url, auth, proxy) in cases {
        let (commit, _) = fetch_commit(&url, branch("main"), &auth);
        let (_, changed_bytes) = proxy.take();
        assert!(
            changed_bytes > 200_000,
            "{url}: the pack carries the file ({changed_bytes} bytes)"
        );
        let outcome = fetch_blocking(
            &url,
            &branch("main"),
            &auth,
            &FetchOptions::default().with_last(Some(commit.revision().clone())),
        )
        .unwrap();
        assert!(matches!(outcome, FetchOutcome::Unchanged(_)), "{outcome:?}");
        let (connections, bytes) = proxy.take();
        assert_eq!(connections, 1, "{url}: one connection");
        assert!(
            bytes < 20_000,
            "{url}: unchanged poll moved {bytes} bytes, no pack expected"
        );
    }
}

#[tokio::test]
async fn dropping_the_fetch_future_cancels_the_blocking_fetch() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let _hold = std::thread::spawn(move || {
        let mut open = Vec::new();
        for c in listener.incoming().take(2) {
            open.push(c);
        }
        std::thread::sleep(Duration::from_secs(30));
    });
    let options = FetchOptions::default().with_timeout(Duration::from_secs(3));
    let flag = options.cancel.clone();
    let url = format!("git://127.0.0.1:{port}/repo.git");
    let checkout = branch("main");
    let auth = Auth::none();
    let gave_up = tokio::time::timeout(
        Duration::from_millis(300),
        gitops_git::fetch(&url, &checkout, &auth, options),
    )
    .await;
    assert!(gave_up.is_err(), "the caller stopped waiting");
    assert!(
        flag.load(std::sync::atomic::Ordering::SeqCst),
        "dropping the future tells the blocking fetch to stop"
    );
}

/// A writer that fails once it has taken `left` bytes, as a full disk does.
struct FailingWriter {
    left: usize,
}

impl std::io::Write for FailingWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.left == 0 {
            return Err(std::io::Error::other("no space left on device"));
        }
        let n = buf.len().min(self.left);
        self.left -= n;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn packing_into_a_failing_writer_returns_the_error_instead_of_hanging() {
    let fx = Fixture::new();
    // Far more blobs than the reader thread queues ahead (256), and enough bytes that the
    // archive reaches the writer (and fails) long before the last of them is packed.
    let contents: Vec<(String, String)> = (0..1000)
        .map(|i| {
            let body: String = (0..200).map(|l| format!("file {i} line {l}\n")).collect();
            (format!("files/f{i:04}.txt"), body)
        })
        .collect();
    let files: Vec<(&str, Option<&str>)> = contents
        .iter()
        .map(|(p, c)| (p.as_str(), Some(c.as_str())))
        .collect();
    fx.commit(&files, "many files");
    fx.push(&["main"]);
    let url = format!("file://{}", fx.bare().display());
    let outcome = fetch_blocking(
        &url,
        &branch("main"),
        &Auth::none(),
        &FetchOptions::default(),
    )
    .unwrap();
    let FetchOutcome::Fetched(commit) = outcome else {
        panic!("expected a fetched commit, got {outcome:?}");
    };

    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut packer = gitops_git::artifact::Packer::new(FailingWriter { left: 64 }).unwrap();
        let _ = done.send(commit.pack(&mut packer, None).map(|_| ()));
    });
    match finished.recv_timeout(Duration::from_secs(60)) {
        Ok(result) => {
            let err = result.expect_err("the writer fails");
            assert!(err.to_string().contains("no space left"), "{err}");
        }
        Err(_) => panic!("packing into a failing writer did not return"),
    }
}
