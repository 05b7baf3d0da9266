//! The artifact server: the storage directory over plain HTTP, as Flux's source-controller
//! serves it on `--storage-addr`, so that consumers download `status.artifact.url`.
//!
//! A `GET` (or `HEAD`) of `/gitrepository/<namespace>/<name>/<hex>.tar.gz` answers the file
//! with its length, `Last-Modified` and a gzip content type, streamed from disk. There is no
//! authentication, as in Flux (the Service is cluster-internal). Unlike Go's
//! `http.FileServer`, directories are not listed (a 404) and byte ranges are not served:
//! consumers download whole artifacts. Paths that leave the storage root are refused by the
//! store before any file is opened.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use gitops_controllers::source::server::ArtifactServer;
//! use gitops_controllers::source::storage::{Storage, StorageOptions};
//! let storage = Storage::new(&StorageOptions::default())?;
//! let server = ArtifactServer::start("127.0.0.1:0".parse()?, storage).await?;
//! println!("serving artifacts on http://{}", server.addr());
//! # Ok(()) }
//! ```

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

use super::storage::Storage;
use crate::endpoint::Endpoint;

/// The artifact server could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The address could not be bound.
    #[error(
        "cannot listen for artifact downloads on {addr}: {error}; choose another --storage-addr"
    )]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The failure.
        error: std::io::Error,
    },
}

/// The router serving `storage`: usable on any listener, or as a tower service in tests.
pub fn router(storage: Storage) -> Router {
    Router::new()
        .fallback(serve_file)
        .with_state(Arc::new(storage))
}

/// A running artifact server; it stops when dropped.
#[derive(Debug)]
pub struct ArtifactServer {
    endpoint: Endpoint,
}

impl ArtifactServer {
    /// Binds `addr` (port 0 picks a free port) and serves `storage` until dropped.
    pub async fn start(addr: SocketAddr, storage: Storage) -> Result<Self, Error> {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|error| Error::Bind { addr, error })?;
        Self::serve(listener, storage)
    }

    /// Serves `storage` on a listener already bound (when the advertised address depends on
    /// the port the system picked).
    pub fn serve(listener: tokio::net::TcpListener, storage: Storage) -> Result<Self, Error> {
        let addr = listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
        let endpoint = Endpoint::serve("artifacts", listener, router(storage))
            .map_err(|error| Error::Bind { addr, error })?;
        Ok(Self { endpoint })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.endpoint.addr()
    }

    /// Stops serving and waits for the open connections to finish.
    pub async fn shutdown(self) {
        self.endpoint.shutdown().await;
    }
}

async fn serve_file(State(storage): State<Arc<Storage>>, method: Method, uri: Uri) -> Response {
    if method != Method::GET && method != Method::HEAD {
        let mut r = (StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n").into_response();
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return r;
    }
    let Some(path) = decode_path(uri.path()) else {
        return not_found();
    };
    // Lock files and the store's temporary files are not artifacts.
    let file_name = path.rsplit('/').next().unwrap_or_default();
    if file_name.starts_with('.') || file_name.ends_with(".lock") {
        return not_found();
    }
    let Ok(file) = storage.store().file(&path) else {
        return not_found();
    };
    let Ok(handle) = tokio::fs::File::open(&file).await else {
        return not_found();
    };
    let Ok(meta) = handle.metadata().await else {
        return not_found();
    };
    if !meta.is_file() {
        return not_found();
    }
    let body = if method == Method::HEAD {
        Body::empty()
    } else {
        Body::from_stream(tokio_util::io::ReaderStream::new(handle))
    };
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(&path)),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(meta.len()));
    if let Some(modified) = meta.modified().ok().and_then(http_date) {
        headers.insert(header::LAST_MODIFIED, modified);
    }
    response
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "404 page not found\n").into_response()
}

/// The URL path as a storage-relative path: `%XX` escapes decoded, the leading `/` dropped.
/// `None` for an empty path or invalid escapes.
fn decode_path(raw: &str) -> Option<String> {
    let trimmed = raw.trim_start_matches('/');
    if trimmed.is_empty() {
        return None;
    }
    let bytes = trimmed.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// What Go's file server answers for an artifact in a minimal image: content sniffing finds
/// gzip.
fn content_type(path: &str) -> &'static str {
    if path.ends_with(".gz") || path.ends_with(".tgz") {
        "application/x-gzip"
    } else {
        "application/octet-stream"
    }
}

fn http_date(time: std::time::SystemTime) -> Option<HeaderValue> {
    let ts = jiff::Timestamp::try_from(time).ok()?;
    let text = ts.strftime("%a, %d %b %Y %H:%M:%S GMT").to_string();
    HeaderValue::from_str(&text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::storage::StorageOptions;
    use tower::ServiceExt as _;

    fn storage(dir: &std::path::Path) -> Storage {
        Storage::new(&StorageOptions {
            path: dir.to_path_buf(),
            ..StorageOptions::default()
        })
        .unwrap()
    }

    async fn get(app: &Router, method: Method, path: &str) -> (StatusCode, Vec<u8>, Response) {
        let request = axum::http::Request::builder()
            .method(method)
            .uri(path)
            .body(Body::empty())
            .unwrap();
        let response = app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let (parts, body) = response.into_parts();
        let bytes = axum::body::to_bytes(body, usize::MAX)
            .await
            .unwrap()
            .to_vec();
        (status, bytes, Response::from_parts(parts, Body::empty()))
    }

    #[tokio::test]
    async fn serves_artifacts_by_their_path_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let s = storage(dir.path());
        let stored = s
            .store()
            .put("default", "podinfo", "abc123", |p| {
                p.file("deploy.yaml", false, b"kind: Service\n")
            })
            .unwrap();
        let app = router(s.clone());
        let (status, body, response) = get(&app, Method::GET, &format!("/{}", stored.path)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body.len() as u64, stored.size);
        assert_eq!(gitops_core::Digest::sha256(&body), stored.digest);
        let h = response.headers();
        assert_eq!(h[header::CONTENT_TYPE], "application/x-gzip");
        assert_eq!(h[header::CONTENT_LENGTH], stored.size.to_string().as_str());
        assert!(h[header::LAST_MODIFIED].to_str().unwrap().ends_with(" GMT"));

        let (status, body, response) = get(&app, Method::HEAD, &format!("/{}", stored.path)).await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.is_empty());
        assert_eq!(
            response.headers()[header::CONTENT_LENGTH],
            stored.size.to_string().as_str()
        );

        for missing in [
            "/",
            "/gitrepository/default/podinfo",
            "/gitrepository/default/podinfo/other.tar.gz",
            "/../etc/passwd",
            "/gitrepository/%2e%2e/%2e%2e/etc/passwd",
            "/gitrepository/default/podinfo.lock",
        ] {
            let (status, _, _) = get(&app, Method::GET, missing).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{missing}");
        }
        let (status, _, response) = get(&app, Method::DELETE, &format!("/{}", stored.path)).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(response.headers()[header::ALLOW], "GET, HEAD");
        assert!(s.exists(&stored.path));
    }

    #[test]
    fn paths_are_decoded() {
        assert_eq!(decode_path("/a%2Fb").as_deref(), Some("a/b"));
        assert_eq!(decode_path("/a%zz"), None);
        assert_eq!(decode_path("/"), None);
    }
}
