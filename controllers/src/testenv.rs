//! `gitops testenv`: the test API server of `gitops-apply` served as a process, so that kubectl,
//! a controller under development or a demo can talk to it over loopback HTTP.
//!
//! The server is empty when it starts (only the `default`, `kube-system` and `kube-public`
//! namespaces exist) and keeps everything in memory: stopping the process forgets it all.
//!
//! ```no_run
//! use gitops_controllers::testenv::{self, Args};
//! let args = Args {
//!     addr: "127.0.0.1:0".parse().unwrap(),
//!     kubeconfig: "/tmp/testenv.kubeconfig".into(),
//! };
//! // Prints `serving on http://127.0.0.1:PORT` and runs until Ctrl-C or SIGTERM.
//! testenv::run(&args, &mut std::io::stdout()).unwrap();
//! ```

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use gitops_apply::testenv::TestEnv;

/// The flags of `gitops testenv`.
#[derive(Clone, Debug, clap::Args)]
pub struct Args {
    /// The address to listen on; port 0 picks a free port, printed on start.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub addr: SocketAddr,
    /// Where to write a kubeconfig that points kubectl and kube clients at the server.
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: PathBuf,
}

/// Failures before the server serves: the address or the kubeconfig file. The messages carry
/// their causes (no `source` chain), so that `{:#}` prints each cause once.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server could not start (the address is taken or not local).
    #[error("cannot start the test API server: {0}")]
    Start(gitops_apply::testenv::Error),
    /// The kubeconfig could not be written.
    #[error(
        "cannot write the kubeconfig {path}: {error}; check that its directory exists and is writable"
    )]
    Kubeconfig {
        /// The file asked for.
        path: PathBuf,
        /// The IO failure.
        error: std::io::Error,
    },
}

/// Serves the test API server on `args.addr`, writes the kubeconfig and reports both on
/// `out`, then runs until the process gets Ctrl-C (SIGINT) or SIGTERM.
///
/// Errors are returned before anything is served; once serving, it only returns on a signal.
pub fn run(args: &Args, out: &mut dyn Write) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let env = start(args).await?;
        writeln!(out, "serving on {}", env.url())?;
        writeln!(out, "kubeconfig written to {}", args.kubeconfig.display())?;
        out.flush()?;
        shutdown_signal().await?;
        drop(env);
        Ok(())
    })
}

/// Starts the server and writes its kubeconfig; the server stops when the value is dropped.
pub async fn start(args: &Args) -> Result<TestEnv, Error> {
    let env = TestEnv::start_on(&args.addr.to_string())
        .await
        .map_err(Error::Start)?;
    write_atomically(&args.kubeconfig, env.kubeconfig().as_bytes()).map_err(|error| {
        Error::Kubeconfig {
            path: args.kubeconfig.clone(),
            error,
        }
    })?;
    Ok(env)
}

/// Writes through a temporary file beside `path` and renames it, so that a reader waiting for
/// the file never sees it half written.
fn write_atomically(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    let tmp = path.with_file_name(name);
    std::fs::write(&tmp, contents)?;
    std::fs::rename(&tmp, path)
}

/// Resolves on Ctrl-C, or on SIGTERM where there are signals.
pub(crate) async fn shutdown_signal() -> std::io::Result<()> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r,
            _ = term.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn start_serves_and_writes_a_kubeconfig() {
        let dir = tempfile::tempdir().unwrap();
        let args = Args {
            addr: "127.0.0.1:0".parse().unwrap(),
            kubeconfig: dir.path().join("kubeconfig"),
        };
        let env = start(&args).await.unwrap();
        let text = std::fs::read_to_string(&args.kubeconfig).unwrap();
        assert!(text.contains(&format!("server: {}", env.url())), "{text}");
        assert_ne!(env.addr().unwrap().port(), 0);
        let namespaces: kube::Api<k8s_openapi::api::core::v1::Namespace> =
            kube::Api::all(env.client().unwrap());
        assert!(namespaces.get("default").await.is_ok());
    }

    #[tokio::test]
    async fn a_missing_directory_is_named() {
        let args = Args {
            addr: "127.0.0.1:0".parse().unwrap(),
            kubeconfig: "/nonexistent-dir/kubeconfig".into(),
        };
        let Err(err) = start(&args).await else {
            panic!("a kubeconfig in a missing directory was written");
        };
        let err = err.to_string();
        assert!(err.contains("/nonexistent-dir/kubeconfig"), "{err}");
    }
}
