//! Secrets never reach a log line or an error message.
//!
//! This test sits alone in its own test binary: it installs a thread-local `tracing`
//! subscriber, and tracing caches per-callsite interest process-wide, so a callsite first hit
//! by another test thread without a subscriber would stay silent here.

// Test helpers panic on setup failures: that is how a test reports them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use common::*;
use gitops_core::api::Checkout;
use gitops_git::{Auth, FetchOptions, fetch_blocking};

fn branch(b: &str) -> Checkout {
    Checkout::Branch(b.into())
}

/// Records every span field and event of the thread it is installed on.
struct Recorder(Arc<std::sync::Mutex<String>>);

struct Fields<'a>(&'a mut String);

impl tracing::field::Visit for Fields<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!("{}={value:?} ", field.name()));
    }
}

impl tracing::Subscriber for Recorder {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        let mut log = self.0.lock().unwrap();
        span.record(&mut Fields(&mut log));
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, values: &tracing::span::Record<'_>) {
        values.record(&mut Fields(&mut self.0.lock().unwrap()));
    }
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        event.record(&mut Fields(&mut self.0.lock().unwrap()));
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

#[test]
fn secrets_stay_out_of_logs_and_errors() {
    let fx = Fixture::new();
    standard_history(&fx);
    let tls = Tls::generate();
    let server = HttpServer::start(
        &fx.repos(),
        HttpAuth::Basic("git".into(), "log-secret-1".into()),
        Some(tls.config.clone()),
    );
    let log = Arc::new(std::sync::Mutex::new(String::new()));
    let url = server.url("repo.git");
    // The password also written into the URL must not leak either.
    let url_with_password = url.replace("https://", "https://git:log-secret-1@");
    let mut messages = Vec::new();
    tracing::subscriber::with_default(Recorder(log.clone()), || {
        let good = Auth::basic("git", "log-secret-1").with_ca(tls.ca_pem.clone());
        fetch_commit(&url, branch("main"), &good);
        for (u, auth) in [
            (
                &url,
                Auth::basic("git", "log-secret-2").with_ca(tls.ca_pem.clone()),
            ),
            (
                &url,
                Auth::bearer("log-secret-3").with_ca(tls.ca_pem.clone()),
            ),
            (&url_with_password, Auth::none()),
        ] {
            if let Err(e) = fetch_blocking(u, &branch("main"), &auth, &FetchOptions::default()) {
                messages.push(format!("{e} {e:?}"));
            }
        }
    });
    let log = log.lock().unwrap().clone();
    assert!(log.contains("fetch"), "the fetch is logged: {log}");
    for secret in ["log-secret-1", "log-secret-2", "log-secret-3"] {
        assert!(!log.contains(secret), "{secret} in the log: {log}");
        for m in &messages {
            assert!(!m.contains(secret), "{secret} in an error: {m}");
        }
    }
}
