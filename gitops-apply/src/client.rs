//! Clients the kustomize controller needs besides its own: one that impersonates a
//! Kustomization's `spec.serviceAccountName`, and one for a remote cluster from a kubeconfig
//! Secret (`spec.kubeConfig.secretRef`).

use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

/// Why a client could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The kubeconfig does not parse.
    #[error("invalid kubeconfig in {source_name}: {source}")]
    Kubeconfig {
        /// Where it came from, e.g. `Secret/flux-system/prod-kubeconfig key value`.
        source_name: String,
        /// The parser's error.
        #[source]
        source: kube::config::KubeconfigError,
    },
    /// The client could not be built from the configuration.
    #[error("cannot build a client for {target}: {source}")]
    Build {
        /// The user or cluster the client is for.
        target: String,
        /// The client's error.
        #[source]
        source: kube::Error,
    },
}

/// The user a service account acts as: `system:serviceaccount:<namespace>:<name>`.
pub fn service_account_user(namespace: &str, name: &str) -> String {
    format!("system:serviceaccount:{namespace}:{name}")
}

/// A client that acts as a service account through impersonation headers, as Flux does for
/// `spec.serviceAccountName`. The configuration's own user must be allowed to impersonate.
pub fn impersonating(config: &Config, namespace: &str, name: &str) -> Result<Client, ClientError> {
    let user = service_account_user(namespace, name);
    let mut config = config.clone();
    config.auth_info.impersonate = Some(user.clone());
    Client::try_from(config).map_err(|source| ClientError::Build {
        target: user,
        source,
    })
}

/// A client that sends every request of `client` as the service account `namespace/name`
/// (the `Impersonate-User` header), as Flux's kustomize-controller acts for
/// `spec.serviceAccountName`.
///
/// Unlike [`impersonating`], it needs no [`Config`]: it wraps an existing client, whose own
/// credentials, user agent and connection pool it keeps, so a controller holding only a
/// `Client` can build one per Kustomization. The client's own user must be allowed to
/// impersonate service accounts (the API server answers 403 otherwise).
///
/// ```
/// # async fn example(client: kube::Client) -> Result<(), gitops_apply::client::ClientError> {
/// let deployer = gitops_apply::client::acting_as(&client, "apps", "deployer")?;
/// // Every request of `deployer` is authorized as system:serviceaccount:apps:deployer.
/// # let _ = deployer;
/// # Ok(())
/// # }
/// ```
pub fn acting_as(client: &Client, namespace: &str, name: &str) -> Result<Client, ClientError> {
    let user = service_account_user(namespace, name);
    let value = http::HeaderValue::from_str(&user).map_err(|e| ClientError::Build {
        target: user.clone(),
        source: kube::Error::HttpError(http::Error::from(e)),
    })?;
    let base = client.clone();
    let service = tower::service_fn(move |mut request: http::Request<kube::client::Body>| {
        let base = base.clone();
        request.headers_mut().insert(
            http::HeaderName::from_static("impersonate-user"),
            value.clone(),
        );
        async move { base.send(request).await }
    });
    Ok(Client::new(service, namespace))
}

/// A client that sends `client`'s requests at `qps` per second on average and at most `burst`
/// at once, as `--kube-api-qps` and `--kube-api-burst` limit a Flux controller's client
/// (Flux's defaults: 50 and 300). Every request takes a token, watches included, as
/// client-go's rate limiter counts them; the limit is the process's, shared by every engine
/// and watch built on the returned client (a per-engine limit would grow with the number of
/// Kustomizations).
pub fn rate_limited(client: &Client, qps: f64, burst: u32) -> Client {
    let throttle = std::sync::Arc::new(crate::throttle::Throttle::new(qps, burst));
    let base = client.clone();
    let namespace = client.default_namespace().to_string();
    let service = tower::service_fn(move |request: http::Request<kube::client::Body>| {
        let (base, throttle) = (base.clone(), throttle.clone());
        async move {
            throttle.acquire().await;
            base.send(request).await
        }
    });
    Client::new(service, namespace)
}

/// A client for a remote cluster from the contents of a kubeconfig Secret key (`value` or
/// `value.yaml`); `source_name` names the Secret and key in errors.
pub async fn from_kubeconfig(text: &str, source_name: &str) -> Result<Client, ClientError> {
    let kubeconfig = Kubeconfig::from_yaml(text).map_err(|source| ClientError::Kubeconfig {
        source_name: source_name.to_string(),
        source,
    })?;
    let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .map_err(|source| ClientError::Kubeconfig {
            source_name: source_name.to_string(),
            source,
        })?;
    Client::try_from(config).map_err(|source| ClientError::Build {
        target: source_name.to_string(),
        source,
    })
}
