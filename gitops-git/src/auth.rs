//! Credentials in Flux's Secret formats, and where Secrets come from.
//!
//! | key | used for |
//! |---|---|
//! | `username`, `password` | HTTP(S) basic auth (a token as password for hosted forges) |
//! | `bearerToken` | HTTP(S) `Authorization: Bearer` |
//! | `ca.crt` (or legacy `caFile`) | a private CA for HTTPS, added to the system roots; verification stays on |
//! | `tls.crt` + `tls.key` | an HTTPS client certificate (both or neither) |
//! | `identity` | SSH private key (OpenSSH or PEM) |
//! | `known_hosts` | SSH host keys; required for `ssh://`, always enforced |
//! | `password` (with `identity`) | passphrase of an encrypted SSH key |
//!
//! Values are kept out of `Debug` output, logs and error messages.
//!
//! ```
//! use std::collections::BTreeMap;
//! use gitops_git::auth::Auth;
//! let data = BTreeMap::from([
//!     ("username".to_string(), b"git".to_vec()),
//!     ("password".to_string(), b"s3cret".to_vec()),
//! ]);
//! let auth = Auth::from_secret("flux-system/repo-auth", &data).unwrap();
//! assert!(auth.basic.is_some());
//! assert!(!format!("{auth:?}").contains("s3cret"));
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;

use crate::Error;

/// HTTP basic credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct Basic {
    /// The user name.
    pub username: String,
    /// The password or token.
    pub password: String,
}

/// SSH key authentication.
#[derive(Clone, PartialEq, Eq)]
pub struct Ssh {
    /// The private key, OpenSSH or PEM.
    pub identity: Vec<u8>,
    /// `known_hosts` lines the server's key must match.
    pub known_hosts: Vec<u8>,
    /// The passphrase of an encrypted key.
    pub password: Option<String>,
}

/// An HTTPS client certificate.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientCertificate {
    /// PEM certificate chain.
    pub cert: Vec<u8>,
    /// PEM private key.
    pub key: Vec<u8>,
}

/// Everything needed to authenticate to a Git server. The default is anonymous.
#[derive(Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Auth {
    /// HTTP basic auth.
    pub basic: Option<Basic>,
    /// An HTTP bearer token.
    pub bearer_token: Option<String>,
    /// PEM CA certificates trusted in addition to the system roots.
    pub ca_pem: Option<Vec<u8>>,
    /// An HTTPS client certificate.
    pub client_certificate: Option<ClientCertificate>,
    /// SSH key and known hosts.
    pub ssh: Option<Ssh>,
    /// `<namespace>/<name>` of the Secret these came from, for messages.
    pub secret: Option<String>,
}

fn redacted(present: bool) -> &'static str {
    if present { "<redacted>" } else { "<none>" }
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Auth")
            .field(
                "basic",
                &self
                    .basic
                    .as_ref()
                    .map(|b| format!("{}:<redacted>", b.username)),
            )
            .field("bearer_token", &redacted(self.bearer_token.is_some()))
            .field("ca_pem", &self.ca_pem.as_ref().map(|c| c.len()))
            .field(
                "client_certificate",
                &redacted(self.client_certificate.is_some()),
            )
            .field("ssh", &redacted(self.ssh.is_some()))
            .field("secret", &self.secret)
            .finish()
    }
}

impl Auth {
    /// The Secret's name for messages, or a placeholder for credentials given in code.
    pub fn secret_name(&self) -> String {
        self.secret
            .clone()
            .unwrap_or_else(|| "<credentials given in code>".into())
    }

    /// Anonymous access.
    pub fn none() -> Self {
        Self::default()
    }

    /// Basic auth with a user name and password.
    pub fn basic(username: impl Into<String>, password: impl Into<String>) -> Self {
        Self {
            basic: Some(Basic {
                username: username.into(),
                password: password.into(),
            }),
            ..Self::default()
        }
    }

    /// A bearer token.
    pub fn bearer(token: impl Into<String>) -> Self {
        Self {
            bearer_token: Some(token.into()),
            ..Self::default()
        }
    }

    /// An SSH key with the known hosts to check the server against.
    pub fn ssh(identity: impl Into<Vec<u8>>, known_hosts: impl Into<Vec<u8>>) -> Self {
        Self {
            ssh: Some(Ssh {
                identity: identity.into(),
                known_hosts: known_hosts.into(),
                password: None,
            }),
            ..Self::default()
        }
    }

    /// Adds a private CA (PEM) trusted in addition to the system roots.
    pub fn with_ca(mut self, ca_pem: impl Into<Vec<u8>>) -> Self {
        self.ca_pem = Some(ca_pem.into());
        self
    }

    /// Reads a Flux Git Secret's data. `secret` (`<namespace>/<name>`) is only used in
    /// messages.
    pub fn from_secret(secret: &str, data: &BTreeMap<String, Vec<u8>>) -> Result<Self, Error> {
        let invalid = |reason: String| Error::InvalidSecret {
            secret: secret.to_string(),
            reason,
        };
        let text = |key: &str| -> Result<Option<String>, Error> {
            data.get(key)
                .map(|v| {
                    String::from_utf8(v.clone())
                        .map_err(|_| invalid(format!("'{key}' is not valid UTF-8")))
                })
                .transpose()
        };
        let mut auth = Auth {
            secret: Some(secret.to_string()),
            ..Auth::default()
        };
        let username = text("username")?;
        let password = text("password")?;
        let identity = data.get("identity").cloned();
        match (&username, &identity) {
            (Some(u), None) => {
                auth.basic = Some(Basic {
                    username: u.clone(),
                    password: password.clone().unwrap_or_default(),
                });
            }
            (None, None) if password.is_some() => {
                return Err(invalid(
                    "'password' is set without 'username' or 'identity'".into(),
                ));
            }
            _ => {}
        }
        auth.bearer_token = text("bearerToken")?;
        if auth.bearer_token.is_some() && auth.basic.is_some() {
            return Err(invalid(
                "set either 'username'/'password' or 'bearerToken', not both".into(),
            ));
        }
        auth.ca_pem = data.get("ca.crt").or_else(|| data.get("caFile")).cloned();
        match (data.get("tls.crt"), data.get("tls.key")) {
            (Some(cert), Some(key)) => {
                auth.client_certificate = Some(ClientCertificate {
                    cert: cert.clone(),
                    key: key.clone(),
                })
            }
            (None, None) => {}
            _ => {
                return Err(invalid(
                    "'tls.crt' and 'tls.key' must be set together".into(),
                ));
            }
        }
        if let Some(identity) = identity {
            let known_hosts = data
                .get("known_hosts")
                .cloned()
                .ok_or_else(|| invalid("'known_hosts' is required with 'identity'".into()))?;
            let encrypted = String::from_utf8_lossy(&identity).contains("ENCRYPTED")
                || is_encrypted_openssh(&identity);
            if encrypted && password.is_none() {
                return Err(invalid(format!(
                    "SSH identity key is encrypted but no 'password' field was provided in the secret '{secret}'"
                )));
            }
            auth.ssh = Some(Ssh {
                identity,
                known_hosts,
                password,
            });
        } else if data.contains_key("known_hosts") {
            return Err(invalid(
                "'known_hosts' is set but 'identity' is missing".into(),
            ));
        }
        Ok(auth)
    }
}

/// Whether an OpenSSH-format key is encrypted: its cipher name is not `none`.
fn is_encrypted_openssh(identity: &[u8]) -> bool {
    let text = String::from_utf8_lossy(identity);
    let body: String = text
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect::<Vec<_>>()
        .concat();
    if !text.contains("BEGIN OPENSSH PRIVATE KEY") {
        return false;
    }
    use base64::Engine as _;
    let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(body.trim()) else {
        return false;
    };
    // "openssh-key-v1\0" then a length-prefixed cipher name.
    let magic = b"openssh-key-v1\0";
    if !bytes.starts_with(magic) || bytes.len() < magic.len() + 4 {
        return false;
    }
    let at = magic.len();
    let len = u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]) as usize;
    bytes
        .get(at + 4..at + 4 + len)
        .is_some_and(|cipher| cipher != b"none")
}

/// Where Secrets come from. The controllers implement it with a Kubernetes client; this
/// crate has none.
#[async_trait]
pub trait SecretReader: Send + Sync {
    /// The data of Secret `namespace/name`, values decoded from base64.
    async fn read(&self, namespace: &str, name: &str) -> Result<BTreeMap<String, Vec<u8>>, Error>;
}

/// Secrets held in memory, keyed by `(namespace, name)`: for tests and for embedding
/// without Kubernetes.
#[derive(Clone, Default)]
pub struct StaticSecrets {
    secrets: BTreeMap<(String, String), BTreeMap<String, Vec<u8>>>,
}

impl fmt::Debug for StaticSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.secrets.keys()).finish()
    }
}

impl StaticSecrets {
    /// No secrets.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) a Secret.
    pub fn with(
        mut self,
        namespace: &str,
        name: &str,
        data: impl IntoIterator<Item = (impl Into<String>, impl Into<Vec<u8>>)>,
    ) -> Self {
        self.secrets.insert(
            (namespace.into(), name.into()),
            data.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        );
        self
    }
}

#[async_trait]
impl SecretReader for StaticSecrets {
    async fn read(&self, namespace: &str, name: &str) -> Result<BTreeMap<String, Vec<u8>>, Error> {
        self.secrets
            .get(&(namespace.to_string(), name.to_string()))
            .cloned()
            .ok_or_else(|| Error::SecretUnavailable {
                secret: format!("{namespace}/{name}"),
                reason: "not found".into(),
            })
    }
}

#[async_trait]
impl<T: SecretReader + ?Sized> SecretReader for Arc<T> {
    async fn read(&self, namespace: &str, name: &str) -> Result<BTreeMap<String, Vec<u8>>, Error> {
        (**self).read(namespace, name).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(pairs: &[(&str, &str)]) -> BTreeMap<String, Vec<u8>> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn reads_flux_formats() {
        let a = Auth::from_secret(
            "ns/s",
            &data(&[("username", "u"), ("password", "p"), ("ca.crt", "PEM")]),
        )
        .unwrap();
        assert_eq!(a.basic.as_ref().map(|b| b.password.as_str()), Some("p"));
        assert_eq!(a.ca_pem.as_deref(), Some(b"PEM".as_slice()));
        let b =
            Auth::from_secret("ns/s", &data(&[("bearerToken", "t"), ("caFile", "OLD")])).unwrap();
        assert_eq!(b.bearer_token.as_deref(), Some("t"));
        assert_eq!(b.ca_pem.as_deref(), Some(b"OLD".as_slice()));
        let s =
            Auth::from_secret("ns/s", &data(&[("identity", "KEY"), ("known_hosts", "h")])).unwrap();
        assert!(s.ssh.is_some() && s.basic.is_none());
    }

    #[test]
    fn rejects_incomplete_secrets_naming_the_field() {
        for (pairs, field) in [
            (vec![("identity", "KEY")], "known_hosts"),
            (vec![("tls.crt", "C")], "tls.key"),
            (vec![("username", "u"), ("bearerToken", "t")], "bearerToken"),
            (
                vec![
                    (
                        "identity",
                        "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n",
                    ),
                    ("known_hosts", "h"),
                ],
                "password",
            ),
        ] {
            let err = Auth::from_secret("ns/s", &data(&pairs))
                .unwrap_err()
                .to_string();
            assert!(err.contains(field) && err.contains("ns/s"), "{err}");
        }
    }

    #[test]
    fn debug_hides_secrets() {
        let a = Auth::from_secret(
            "ns/s",
            &data(&[
                ("username", "u"),
                ("password", "hunter2"),
                ("tls.crt", "C"),
                ("tls.key", "PRIVATE"),
            ]),
        )
        .unwrap();
        let shown = format!("{a:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("PRIVATE"),
            "{shown}"
        );
    }
}
