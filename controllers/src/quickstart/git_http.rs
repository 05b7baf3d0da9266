//! A Git server on 127.0.0.1 speaking smart HTTP, so that the quickstart's GitRepository has
//! a URL Flux's CRD admits (`http`, `https` or `ssh`) and the source controller fetches over
//! the network as it would from a forge.
//!
//! Each request runs `git http-backend` as a CGI program (git-http-backend(1)): the request's
//! method, path, query, content type and encoding, and the `Git-Protocol` header (protocol
//! v2) become its environment, the body its input, and its output the answer. Repositories
//! are the bare repositories under the root; pushing is allowed where the repository sets
//! `http.receivepack`. `git` runs with an empty environment apart from `PATH` and a `HOME`
//! inside the root, and no system configuration.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use tokio::io::AsyncWriteExt as _;

/// Creates the bare repository `root/name` with the branch `main` and pushes over HTTP
/// enabled (`http.receivepack`), ready for [`GitHttp::serve`] on `root`. `git` runs with no
/// system or global configuration.
pub fn init_bare(root: &Path, name: &str) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(root)?;
    let repository = root.join(name);
    let git = |dir: &Path, args: &[&str]| -> std::io::Result<()> {
        let status = std::process::Command::new("git")
            .args(args)
            .current_dir(dir)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .stdout(Stdio::null())
            .status()?;
        if status.success() {
            Ok(())
        } else {
            Err(std::io::Error::other(format!(
                "git {} failed in {}",
                args.join(" "),
                dir.display()
            )))
        }
    };
    git(
        root,
        &["init", "--quiet", "--bare", "--initial-branch=main", name],
    )?;
    git(&repository, &["config", "http.receivepack", "true"])?;
    Ok(repository)
}

/// A running server; it stops when dropped.
#[derive(Debug)]
pub struct GitHttp {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl GitHttp {
    /// Serves the bare repositories under `root` on a free port of 127.0.0.1.
    pub async fn serve(root: PathBuf) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let app = axum::Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let root = root.clone();
                async move { cgi(&root, &method, &uri, &headers, body).await }
            },
        );
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::warn!(error = %e, "the Git HTTP server stopped");
            }
        });
        Ok(Self { addr, task })
    }

    /// The URL of the repository `name` (e.g. `fleet.git`).
    pub fn url(&self, name: &str) -> String {
        format!("http://{}/{name}", self.addr)
    }
}

impl Drop for GitHttp {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Runs one request through `git http-backend`.
async fn cgi(
    root: &std::path::Path,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Bytes,
) -> Response {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let mut command = tokio::process::Command::new("git");
    command
        .arg("http-backend")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", root)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_PROJECT_ROOT", root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("REQUEST_METHOD", method.as_str())
        .env("PATH_INFO", uri.path())
        .env("QUERY_STRING", uri.query().unwrap_or(""))
        .env("REMOTE_ADDR", "127.0.0.1")
        .env("CONTENT_LENGTH", body.len().to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (var, name) in [
        ("CONTENT_TYPE", "content-type"),
        ("GIT_PROTOCOL", "git-protocol"),
        ("HTTP_CONTENT_ENCODING", "content-encoding"),
    ] {
        if let Some(value) = header(name) {
            command.env(var, value);
        }
    }
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => return failure(format!("cannot run git http-backend: {e}")),
    };
    if let Some(mut stdin) = child.stdin.take() {
        // git may answer before reading all of a body it refuses; its answer still counts.
        let _ = stdin.write_all(&body).await;
    }
    let output = match child.wait_with_output().await {
        Ok(output) => output,
        Err(e) => return failure(format!("git http-backend failed: {e}")),
    };
    if !output.stderr.is_empty() {
        tracing::debug!(stderr = %String::from_utf8_lossy(&output.stderr), path = uri.path(), "git http-backend");
    }
    match parse(&output.stdout) {
        Some(response) => response,
        None => failure(format!(
            "git http-backend gave no CGI answer for {}",
            uri.path()
        )),
    }
}

/// A CGI answer: header lines (`Status:` among them), a blank line, the body.
fn parse(out: &[u8]) -> Option<Response> {
    let (head, body) = split_head(out)?;
    let mut status = StatusCode::OK;
    let mut headers = HeaderMap::new();
    for line in std::str::from_utf8(head).ok()?.lines() {
        let line = line.trim_end_matches('\r');
        if line.is_empty() {
            continue;
        }
        let (name, value) = line.split_once(':')?;
        let value = value.trim();
        if name.eq_ignore_ascii_case("status") {
            let code = value.split_whitespace().next()?.parse::<u16>().ok()?;
            status = StatusCode::from_u16(code).ok()?;
        } else if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.trim().as_bytes()),
            HeaderValue::from_str(value),
        ) {
            headers.append(name, value);
        }
    }
    let mut response = Response::new(Body::from(body.to_vec()));
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    Some(response)
}

/// The head and the body of a CGI answer, split at the first blank line (`\r\n\r\n` or
/// `\n\n`).
fn split_head(out: &[u8]) -> Option<(&[u8], &[u8])> {
    let crlf = out
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| (i, 4));
    let lf = out.windows(2).position(|w| w == b"\n\n").map(|i| (i, 2));
    let (at, len) = match (crlf, lf) {
        (Some(a), Some(b)) => {
            if a.0 <= b.0 {
                a
            } else {
                b
            }
        }
        (a, b) => a.or(b)?,
    };
    Some((&out[..at], &out[at + len..]))
}

fn failure(message: String) -> Response {
    tracing::warn!(%message, "git http-backend");
    (StatusCode::INTERNAL_SERVER_ERROR, message).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cgi_answer_is_split_into_status_headers_and_body() {
        let out = b"Status: 404 Not Found\r\nContent-Type: text/plain\r\n\r\nnot here";
        let response = parse(out).unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert_eq!(response.headers()["content-type"], "text/plain");
        let plain =
            parse(b"Content-Type: application/x-git-upload-pack-advertisement\n\n0000").unwrap();
        assert_eq!(plain.status(), StatusCode::OK);
        assert!(parse(b"no blank line").is_none());
    }
}
