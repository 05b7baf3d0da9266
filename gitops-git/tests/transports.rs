//! Every ref type over every transport, against real servers on 127.0.0.1.

// Test helpers panic on setup failures: that is how a test reports them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use gitops_git::Auth;

#[test]
fn file_transport_fetches_every_ref_type() {
    require("git-upload-pack", "git");
    let fx = Fixture::new();
    let h = standard_history(&fx);
    let url = format!("file://{}", fx.bare().display());
    check_every_ref_type(&url, &Auth::none(), &h);
}

#[test]
fn git_daemon_fetches_every_ref_type() {
    let fx = Fixture::new();
    let h = standard_history(&fx);
    let daemon = GitDaemon::start(&fx.repos());
    check_every_ref_type(&daemon.url("repo.git"), &Auth::none(), &h);
}

#[test]
fn http_anonymous_fetches_every_ref_type() {
    let fx = Fixture::new();
    let h = standard_history(&fx);
    let server = HttpServer::start(&fx.repos(), HttpAuth::None, None);
    check_every_ref_type(&server.url("repo.git"), &Auth::none(), &h);
}

#[test]
fn https_basic_auth_with_private_ca_fetches_every_ref_type() {
    let fx = Fixture::new();
    let h = standard_history(&fx);
    let tls = Tls::generate();
    let server = HttpServer::start(
        &fx.repos(),
        HttpAuth::Basic("git".into(), "s3cret-pass".into()),
        Some(tls.config.clone()),
    );
    let auth = Auth::basic("git", "s3cret-pass").with_ca(tls.ca_pem.clone());
    check_every_ref_type(&server.url("repo.git"), &auth, &h);
    assert!(
        server.served().iter().any(|s| s.status == 401),
        "basic auth is sent after a challenge"
    );
}

#[test]
fn https_bearer_token_fetches_every_ref_type() {
    let fx = Fixture::new();
    let h = standard_history(&fx);
    let tls = Tls::generate();
    let server = HttpServer::start(
        &fx.repos(),
        HttpAuth::Bearer("tok-123".into()),
        Some(tls.config.clone()),
    );
    let auth = Auth::bearer("tok-123").with_ca(tls.ca_pem.clone());
    check_every_ref_type(&server.url("repo.git"), &auth, &h);
    assert!(server.served().iter().all(|s| s.status == 200));
}

#[test]
fn https_client_certificate_fetches_every_ref_type() {
    let fx = Fixture::new();
    let h = standard_history(&fx);
    let tls = Tls::generate();
    let (config, cert, key) = tls.with_client_auth();
    let server = HttpServer::start(&fx.repos(), HttpAuth::None, Some(config));
    let secret = std::collections::BTreeMap::from([
        ("ca.crt".to_string(), tls.ca_pem.clone()),
        ("tls.crt".to_string(), cert),
        ("tls.key".to_string(), key),
    ]);
    let auth = Auth::from_secret("flux-system/mtls", &secret).unwrap();
    check_every_ref_type(&server.url("repo.git"), &auth, &h);
    let without = gitops_git::fetch_blocking(
        &server.url("repo.git"),
        &gitops_core::api::Checkout::Branch("main".into()),
        &Auth::none().with_ca(tls.ca_pem.clone()),
        &gitops_git::FetchOptions::default(),
    );
    assert!(without.is_err(), "the server requires a client certificate");
}

#[test]
fn ssh_fetches_every_ref_type() {
    let fx = Fixture::new();
    let h = standard_history(&fx);
    let sshd = Sshd::start();
    check_every_ref_type(&sshd.url(&fx.bare()), &sshd.auth(), &h);
}

#[test]
fn http_server_streams_the_backend_output() {
    use std::io::{Read, Write};
    let fx = Fixture::new();
    standard_history(&fx);
    let server = HttpServer::start(&fx.repos(), HttpAuth::None, None);
    let mut conn = std::net::TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    write!(
        conn,
        "GET /repo.git/info/refs?service=git-upload-pack HTTP/1.1\r\nHost: 127.0.0.1\r\nGit-Protocol: version=2\r\n\r\n"
    )
    .unwrap();
    let mut response = Vec::new();
    conn.read_to_end(&mut response).unwrap();
    let text = String::from_utf8_lossy(&response);
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    // Chunked as the backend writes, not buffered behind a Content-Length.
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.contains("Transfer-Encoding: chunked"), "{head}");
    assert!(
        !head.to_ascii_lowercase().contains("content-length"),
        "{head}"
    );
    assert!(body.contains("version 2"), "{body}");
    assert!(
        body.ends_with("\r\n0\r\n\r\n"),
        "the terminating chunk: {body:?}"
    );
    let served = server.served();
    assert_eq!(served.len(), 1, "{served:?}");
    assert!(served[0].response_bytes > 0 && served[0].response_bytes < body.len());
}
