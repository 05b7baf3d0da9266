//! The consumer side: download an artifact over HTTP from the store's directory, verify its
//! digest, extract it; refuse a wrong digest, a missing file and an oversized body.

// Test helpers panic on setup failures: that is how a test reports them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::PathBuf;

use gitops_core::fs::FileSystem;
use gitops_git::Store;
use gitops_git::download::{download, open_url};
use gitops_git::extract::Limits;

/// A plain file server over a directory, like Flux's artifact server.
fn serve_dir(root: PathBuf) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let mut reader = BufReader::new(conn.try_clone().unwrap());
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).is_err() || h.trim().is_empty() {
                    break;
                }
            }
            let path = line
                .split_whitespace()
                .nth(1)
                .unwrap_or("/")
                .trim_start_matches('/');
            let mut conn = conn;
            match std::fs::read(root.join(path)) {
                Ok(body) => {
                    let _ = write!(
                        conn,
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = conn.write_all(&body);
                }
                Err(_) => {
                    let _ = write!(
                        conn,
                        "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    );
                }
            }
        }
    });
    port
}

#[tokio::test]
async fn downloads_verifies_and_extracts_artifacts() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(dir.path()).unwrap();
    let stored = store
        .put("ns", "repo", "abcd", |p| {
            p.dir("apps")?;
            p.file("apps/app.yaml", false, b"kind: ConfigMap\n")
        })
        .unwrap();
    let port = serve_dir(dir.path().to_path_buf());
    let url = format!("http://127.0.0.1:{port}/{}", stored.path);

    let fs = open_url(&url, &stored.digest, &Limits::default())
        .await
        .unwrap();
    assert_eq!(fs.read("apps/app.yaml").unwrap(), b"kind: ConfigMap\n");

    let wrong = gitops_core::Digest::sha256(b"something else");
    let err = download(&url, &wrong, &Limits::default())
        .await
        .unwrap_err();
    assert!(
        matches!(err, gitops_git::Error::DigestMismatch { .. }),
        "{err:?}"
    );

    let missing = format!("http://127.0.0.1:{port}/gitrepository/ns/repo/none.tar.gz");
    let err = download(&missing, &stored.digest, &Limits::default())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("artifact not found"), "{err}");

    let tiny = Limits {
        max_bytes: 10,
        max_entries: 10,
    };
    let err = download(&url, &stored.digest, &tiny).await.unwrap_err();
    assert!(err.to_string().contains("larger than 10 bytes"), "{err}");
}
