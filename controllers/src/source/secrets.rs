//! Credentials for `spec.secretRef`: Secrets read through the Kubernetes API, handed to
//! gitops-git, which parses Flux's formats (basic auth, bearer token, CA, client certificate,
//! SSH identity and known_hosts). Values never reach a log or a message.

use std::collections::BTreeMap;

use async_trait::async_trait;
use gitops_git::SecretReader;
use k8s_openapi::api::core::v1::Secret;
use kube::Api;

/// Reads Secrets with a kube client, one GET per reconcile that names one, as Flux does.
#[derive(Clone)]
pub struct KubeSecrets {
    client: kube::Client,
}

impl std::fmt::Debug for KubeSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KubeSecrets")
    }
}

impl KubeSecrets {
    /// Secrets read with `client`.
    pub fn new(client: kube::Client) -> Self {
        Self { client }
    }
}

#[async_trait]
impl SecretReader for KubeSecrets {
    async fn read(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<BTreeMap<String, Vec<u8>>, gitops_git::Error> {
        let api: Api<Secret> = Api::namespaced(self.client.clone(), namespace);
        let unavailable = |reason: String| gitops_git::Error::SecretUnavailable {
            secret: format!("{namespace}/{name}"),
            reason,
        };
        let secret = api.get(name).await.map_err(|e| match e {
            // The server's own words: `secrets "x" not found`, `... is forbidden: ...`.
            kube::Error::Api(status) => unavailable(status.message.clone()),
            other => unavailable(other.to_string()),
        })?;
        Ok(secret
            .data
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k, v.0))
            .collect())
    }
}
