//! `gitops bootstrap git`: puts the controllers under the management of a Git repository,
//! as `flux bootstrap git` does (flux2 `pkg/bootstrap/bootstrap_plain_git.go`).
//!
//! 1. `<path>/flux-system/gotk-components.yaml` (the `gitops install` manifests) is committed
//!    and pushed (`gitops_git::push`, which commits nothing when the branch already holds
//!    the file: "✔ component manifests are up to date");
//! 2. the components are applied and the Deployments waited for;
//! 3. the `flux-system` Secret is created in Flux's format (`username`/`password` with
//!    `--token-auth`, `identity`/`known_hosts` for SSH), left alone when it already holds
//!    those values;
//! 4. `gotk-sync.yaml` (the GitRepository over `--url`/`--branch`, the Kustomization over
//!    `./<path>`, exactly as Flux writes them) and `kustomization.yaml` are committed and
//!    pushed, then applied;
//! 5. bootstrap waits until the GitRepository stores the branch's head and the Kustomization
//!    reports `Applied revision: <branch>@sha1:<head>`.
//!
//! Running it again commits nothing and changes nothing in the cluster (every object applied
//! is `unchanged`, the Secret is not written, no reconcile is requested), so it is also how
//! the components are upgraded. No credential is ever printed: the password and the private
//! key go to `git` through `gitops_git::push`'s files and into the Secret, nowhere else.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use gitops_core::Object;
use gitops_core::api::REQUESTED_AT_ANNOTATION;
use gitops_git::Auth;
use gitops_git::push::{Commit, PushOptions, Pushed};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, Patch, PatchParams};
use serde_json::{Value, json};

use crate::api::{GitRepository, Kustomization};
use crate::config_flags::ConfigFlags;
use crate::install::{self, FIELD_MANAGER, manifests};

/// The environment variable the password or token is read from when `--password` is not
/// given, as Flux's.
pub const PASSWORD_ENV: &str = "GIT_PASSWORD";

/// `gitops bootstrap` and its providers.
#[derive(Clone, Debug, clap::Args)]
pub struct Args {
    /// Where the repository is hosted.
    #[command(subcommand)]
    pub provider: Provider,
}

/// The Git providers bootstrap knows.
#[derive(Clone, Debug, clap::Subcommand)]
pub enum Provider {
    /// Commit the manifests to a branch of any Git repository and sync the cluster with it.
    Git(GitArgs),
}

/// The flags of `gitops bootstrap git`, with Flux's names and defaults.
#[derive(Clone, Debug, clap::Args)]
pub struct GitArgs {
    /// The Git repository URL (`ssh://`, `https://`, or `http://` with
    /// `--allow-insecure-http`).
    #[arg(long)]
    pub url: String,
    /// The branch to commit to and sync from.
    #[arg(long, default_value = "main")]
    pub branch: String,
    /// The path in the repository the cluster syncs, relative to its root.
    #[arg(long, default_value = "")]
    pub path: String,
    /// The GitRepository's interval.
    #[arg(long, default_value = "1m")]
    pub interval: String,
    /// Authenticate over HTTP(S) with `--username` and `--password` (or `GIT_PASSWORD`).
    #[arg(long)]
    pub token_auth: bool,
    /// The basic authentication user name.
    #[arg(short = 'u', long, default_value = "git")]
    pub username: String,
    /// The basic authentication password or token, or the passphrase of the SSH key; prefer
    /// the `GIT_PASSWORD` environment variable, which no process listing shows.
    #[arg(short = 'p', long)]
    pub password: Option<String>,
    /// The SSH private key to push with and to store in the Secret.
    #[arg(long, value_name = "FILE")]
    pub private_key_file: Option<PathBuf>,
    /// The `known_hosts` of the SSH server; when unset, its keys are scanned with
    /// `ssh-keyscan`, as Flux scans them.
    #[arg(long, value_name = "FILE")]
    pub known_hosts_file: Option<PathBuf>,
    /// Allow an `http://` URL (credentials then travel unencrypted).
    #[arg(long)]
    pub allow_insecure_http: bool,
    /// The container image of the controllers.
    #[arg(long, default_value = manifests::DEFAULT_IMAGE)]
    pub image: String,
    /// How long to wait for each step (the components, the GitRepository, the
    /// Kustomization).
    #[arg(long, default_value = "5m")]
    pub timeout: String,
    /// The cluster; `-n` is the namespace of the controllers and of the sync objects.
    #[command(flatten)]
    pub cluster: ConfigFlags,
}

/// What a bootstrap is built from, checked before anything is written.
struct Plan {
    url: String,
    branch: String,
    /// The path without `./` or a trailing `/`; empty for the root.
    path: String,
    namespace: String,
    interval: Duration,
    timeout: Duration,
    auth: Auth,
    /// The Secret's data (never printed).
    secret: BTreeMap<String, Vec<u8>>,
    image: String,
}

/// The Secret's values are left out: a plan may be printed, a credential never.
impl std::fmt::Debug for Plan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plan")
            .field("url", &self.url)
            .field("branch", &self.branch)
            .field("path", &self.path)
            .field("namespace", &self.namespace)
            .field("auth", &self.auth)
            .field("secret_keys", &self.secret.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Plan {
    fn from_args(args: &GitArgs) -> anyhow::Result<Self> {
        let password = args
            .password
            .clone()
            .or_else(|| std::env::var(PASSWORD_ENV).ok())
            .filter(|p| !p.is_empty());
        let scheme = args.url.split_once("://").map(|(s, _)| s).unwrap_or("");
        let authority = args
            .url
            .split_once("://")
            .and_then(|(_, rest)| rest.split('/').next())
            .unwrap_or("");
        if authority
            .rsplit_once('@')
            .is_some_and(|(userinfo, _)| userinfo.contains(':'))
        {
            bail!("the --url carries a password; pass it with --password or {PASSWORD_ENV}");
        }
        let (auth, secret) = if args.token_auth {
            match scheme {
                "https" => {}
                "http" if args.allow_insecure_http => {}
                "http" => {
                    bail!("scheme http is insecure, pass --allow-insecure-http=true to allow it")
                }
                _ => bail!("--token-auth needs an http(s) --url, not '{}'", args.url),
            }
            let Some(password) = password else {
                bail!(
                    "--token-auth needs a password or token: pass --password or set {PASSWORD_ENV}"
                );
            };
            let secret = BTreeMap::from([
                ("username".to_string(), args.username.clone().into_bytes()),
                ("password".to_string(), password.clone().into_bytes()),
            ]);
            (Auth::basic(args.username.clone(), password), secret)
        } else {
            if scheme != "ssh" {
                bail!(
                    "bootstrap over '{}' needs --token-auth with --password or {PASSWORD_ENV}, or an ssh:// --url with --private-key-file",
                    args.url
                );
            }
            let Some(key_file) = &args.private_key_file else {
                bail!(
                    "an ssh:// --url needs --private-key-file FILE (generating a deploy key is not supported)"
                );
            };
            let identity = std::fs::read(key_file).with_context(|| {
                format!("cannot read the private key file {}", key_file.display())
            })?;
            let known_hosts = match &args.known_hosts_file {
                Some(file) => std::fs::read(file).with_context(|| {
                    format!("cannot read the known_hosts file {}", file.display())
                })?,
                None => scan_host_key(&args.url)?,
            };
            let mut secret = BTreeMap::from([
                ("identity".to_string(), identity.clone()),
                ("known_hosts".to_string(), known_hosts.clone()),
            ]);
            let mut auth = Auth::ssh(identity, known_hosts);
            if let Some(password) = password {
                secret.insert("password".into(), password.clone().into_bytes());
                if let Some(ssh) = auth.ssh.as_mut() {
                    ssh.password = Some(password);
                }
            }
            (auth, secret)
        };
        Ok(Self {
            url: args.url.clone(),
            branch: args.branch.clone(),
            path: clean_path(&args.path)?,
            namespace: args.cluster.namespace.clone(),
            interval: duration("interval", &args.interval)?,
            timeout: duration("timeout", &args.timeout)?,
            auth,
            secret,
            image: args.image.clone(),
        })
    }

    /// `<path>/<namespace>/<file>`.
    fn file(&self, name: &str) -> String {
        if self.path.is_empty() {
            format!("{}/{name}", self.namespace)
        } else {
            format!("{}/{}/{name}", self.path, self.namespace)
        }
    }

    /// The Kustomization's `spec.path`, `./<path>` as Flux writes it.
    fn sync_path(&self) -> String {
        format!("./{}", self.path)
    }
}

fn duration(flag: &str, value: &str) -> anyhow::Result<Duration> {
    gitops_core::schedule::parse_duration(flag, value).map_err(|_| {
        anyhow::anyhow!("invalid --{flag} '{value}': expected a duration such as 1m or 5m")
    })
}

/// The `--path` as Flux stores it: relative, `/`-separated, no `.` or `..` components.
fn clean_path(path: &str) -> anyhow::Result<String> {
    let trimmed = path.trim_start_matches("./").trim_end_matches('/');
    if trimmed.starts_with('/') {
        bail!("invalid --path '{path}': expected a path relative to the repository root");
    }
    if trimmed.is_empty() || trimmed == "." {
        return Ok(String::new());
    }
    for part in trimmed.split('/') {
        if part.is_empty() || part == "." || part == ".." {
            bail!("invalid --path '{path}': expected a path without '.', '..' or empty components");
        }
    }
    Ok(trimmed.to_string())
}

/// The host and port of an `ssh://[user@]host[:port]/path` URL (port 22 by default;
/// `[v6]` hosts without their brackets).
fn ssh_host_port(url: &str) -> (String, String) {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    let authority = rest.split('/').next().unwrap_or("");
    let host_port = authority.rsplit('@').next().unwrap_or(authority);
    if let Some(v6) = host_port.strip_prefix('[') {
        return match v6.split_once(']') {
            Some((host, tail)) => (
                host.to_string(),
                tail.strip_prefix(':').unwrap_or("22").to_string(),
            ),
            None => (v6.to_string(), "22".to_string()),
        };
    }
    match host_port.rsplit_once(':') {
        Some((host, port)) => (host.to_string(), port.to_string()),
        None => (host_port.to_string(), "22".to_string()),
    }
}

/// The SSH server's host keys as `known_hosts` lines, by `ssh-keyscan`, as Flux scans them.
fn scan_host_key(url: &str) -> anyhow::Result<Vec<u8>> {
    let (host, port) = ssh_host_port(url);
    let output = std::process::Command::new("ssh-keyscan")
        .args(["-p", &port, &host])
        .output()
        .context(
            "cannot run ssh-keyscan to read the server's host key; pass --known-hosts-file FILE",
        )?;
    if !output.status.success() || output.stdout.is_empty() {
        bail!("ssh-keyscan found no host key for {host} port {port}; pass --known-hosts-file FILE");
    }
    Ok(output.stdout)
}

/// The contents of `gotk-sync.yaml`, byte for byte what Flux writes for the same flags.
fn sync_manifest(plan: &Plan) -> (String, Vec<Value>) {
    let ns = &plan.namespace;
    let repo = json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "GitRepository",
        "metadata": {"name": ns, "namespace": ns},
        "spec": {
            "interval": gitops_core::schedule::format_duration(plan.interval),
            "ref": {"branch": plan.branch},
            "secretRef": {"name": ns},
            "url": plan.url,
        },
    });
    let ks = json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": ns, "namespace": ns},
        "spec": {
            "interval": "10m0s",
            "path": plan.sync_path(),
            "prune": true,
            "sourceRef": {"kind": "GitRepository", "name": ns},
        },
    });
    let text = format!(
        "{}\n---\n{}---\n{}",
        manifests::GEN_WARNING,
        gitops_core::yaml::value_to_string(&repo),
        gitops_core::yaml::value_to_string(&ks)
    );
    (text, vec![repo, ks])
}

/// The `kustomization.yaml` next to them, as Flux generates it.
const KUSTOMIZATION: &str = "apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
- gotk-components.yaml
- gotk-sync.yaml
";

/// Runs `gitops bootstrap`, reporting progress on `progress`.
pub fn run(args: &Args, progress: &mut dyn Write) -> anyhow::Result<()> {
    let Provider::Git(args) = &args.provider;
    let plan = Plan::from_args(args)?;
    gitops_git::fetch::install_crypto_provider();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let client = args.cluster.client().await?;
        bootstrap(&client, &plan, progress).await
    })
}

async fn bootstrap(
    client: &kube::Client,
    plan: &Plan,
    progress: &mut dyn Write,
) -> anyhow::Result<()> {
    let ns = plan.namespace.as_str();
    let (sync_text, sync_values) = sync_manifest(plan);
    refuse_path_change(client, plan).await?;

    writeln!(
        progress,
        "► cloning branch \"{}\" from Git repository \"{}\"",
        plan.branch, plan.url
    )?;
    writeln!(progress, "✚ generating component manifests")?;
    let options = manifests::Options {
        namespace: ns.into(),
        image: plan.image.clone(),
    };
    let components = manifests::render(&options)?;
    let commit = Commit::new(
        &plan.branch,
        format!("Add gitops {} component manifests", manifests::VERSION),
    )
    .with_file(plan.file("gotk-components.yaml"), components);
    let pushed = push(plan, &commit).await?;
    let mut committed = pushed.created;
    report_push(progress, plan, &pushed, "component manifests")?;

    install::install(
        client,
        ns,
        manifests::objects(&options)?,
        plan.timeout,
        progress,
    )
    .await?;
    writeln!(progress, "✔ reconciled components")?;

    writeln!(
        progress,
        "► determining if source secret \"{ns}/{ns}\" exists"
    )?;
    apply_secret(client, plan, progress).await?;

    writeln!(progress, "✚ generating sync manifests")?;
    let commit = Commit::new(&plan.branch, "Add gitops sync manifests")
        .with_file(plan.file("gotk-sync.yaml"), sync_text)
        .with_file(plan.file("kustomization.yaml"), KUSTOMIZATION);
    let pushed = push(plan, &commit).await?;
    committed |= pushed.created;
    report_push(progress, plan, &pushed, "sync manifests")?;

    writeln!(progress, "► applying sync manifests")?;
    let objects = sync_values
        .into_iter()
        .map(Object::from_value)
        .collect::<Result<Vec<_>, _>>()?;
    let changed = install::apply(client, ns, "gotk-sync.yaml", objects, progress).await?;
    if changed.is_empty() {
        writeln!(progress, "✔ sync configuration is up to date")?;
    } else {
        writeln!(progress, "✔ reconciled sync configuration")?;
    }
    if committed {
        // The GitRepository polls every interval; a new commit is wanted now.
        request_reconcile(client, ns).await?;
    }

    let revision = pushed.revision.to_string();
    writeln!(
        progress,
        "◎ waiting for GitRepository \"{ns}/{ns}\" to be reconciled"
    )?;
    wait_for(client, plan, "GitRepository", |o| {
        o.pointer("/status/artifact/revision")
            .and_then(Value::as_str)
            == Some(revision.as_str())
            && ready(o).0 == "True"
    })
    .await?;
    writeln!(progress, "✔ GitRepository reconciled successfully")?;
    writeln!(
        progress,
        "◎ waiting for Kustomization \"{ns}/{ns}\" to be reconciled"
    )?;
    let applied = format!("Applied revision: {revision}");
    let ks = wait_for(client, plan, "Kustomization", |o| {
        o.pointer("/status/lastAppliedRevision")
            .and_then(Value::as_str)
            == Some(revision.as_str())
            && ready(o) == ("True", applied.clone())
    })
    .await?;
    writeln!(
        progress,
        "✔ Kustomization reconciled successfully: {}",
        ready(&ks).1
    )?;
    writeln!(progress, "✔ bootstrap finished")?;
    Ok(())
}

async fn push(plan: &Plan, commit: &Commit) -> anyhow::Result<Pushed> {
    gitops_git::push::push(&plan.url, &plan.auth, commit, PushOptions::default())
        .await
        .with_context(|| {
            format!(
                "cannot push '{}' to branch \"{}\"",
                commit.message, plan.branch
            )
        })
}

fn report_push(
    progress: &mut dyn Write,
    plan: &Plan,
    pushed: &Pushed,
    what: &str,
) -> std::io::Result<()> {
    if pushed.created {
        writeln!(
            progress,
            "✔ committed {what} to \"{}\" (\"{}\")",
            plan.branch, pushed.revision
        )
    } else {
        writeln!(progress, "✔ {what} are up to date")
    }
}

/// Flux refuses to move an existing sync Kustomization to another path: the objects of the
/// old path would be pruned.
async fn refuse_path_change(client: &kube::Client, plan: &Plan) -> anyhow::Result<()> {
    let ns = plan.namespace.as_str();
    let api: Api<Kustomization> = Api::namespaced(client.clone(), ns);
    let existing = match api.get_opt(ns).await {
        Ok(existing) => existing,
        // Before the first bootstrap the CRD does not exist yet.
        Err(kube::Error::Api(e)) if e.code == 404 => None,
        Err(e) => return Err(e).with_context(|| format!("cannot read Kustomization {ns}/{ns}")),
    };
    if let Some(ks) = existing {
        let path = serde_json::to_value(&ks)?
            .pointer("/spec/path")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let want = plan.sync_path();
        if path.trim_end_matches('/') != want.trim_end_matches('/') {
            bail!(
                "Kustomization {ns}/{ns} syncs path '{path}', not '{want}': bootstrap refuses to change it; bootstrap with --path '{}'",
                path.trim_start_matches("./")
            );
        }
    }
    Ok(())
}

/// Creates or updates the `flux-system` Secret; leaves it alone when it already holds the
/// same data. Its values are never printed.
async fn apply_secret(
    client: &kube::Client,
    plan: &Plan,
    progress: &mut dyn Write,
) -> anyhow::Result<()> {
    let ns = plan.namespace.as_str();
    let api: Api<Secret> = Api::namespaced(client.clone(), ns);
    let want: BTreeMap<String, ByteString> = plan
        .secret
        .iter()
        .map(|(k, v)| (k.clone(), ByteString(v.clone())))
        .collect();
    let live = api
        .get_opt(ns)
        .await
        .with_context(|| format!("cannot read Secret {ns}/{ns}"))?;
    if live.and_then(|s| s.data).as_ref() == Some(&want) {
        writeln!(progress, "✔ source secret is up to date")?;
        return Ok(());
    }
    writeln!(progress, "► applying source secret \"{ns}/{ns}\"")?;
    let secret = Secret {
        metadata: kube::api::ObjectMeta {
            name: Some(ns.into()),
            namespace: Some(ns.into()),
            ..Default::default()
        },
        data: Some(want),
        ..Default::default()
    };
    let mut value = serde_json::to_value(&secret)?;
    value["apiVersion"] = json!("v1");
    value["kind"] = json!("Secret");
    api.patch(
        ns,
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(&value),
    )
    .await
    .with_context(|| format!("cannot apply Secret {ns}/{ns}"))?;
    writeln!(progress, "✔ reconciled source secret")?;
    Ok(())
}

/// Asks the source-controller to fetch now, as `flux reconcile source git` does.
async fn request_reconcile(client: &kube::Client, ns: &str) -> anyhow::Result<()> {
    let api: Api<GitRepository> = Api::namespaced(client.clone(), ns);
    let now = jiff::Timestamp::now().to_string();
    let patch = json!({"metadata": {"annotations": {REQUESTED_AT_ANNOTATION: now}}});
    api.patch(ns, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .with_context(|| format!("cannot annotate GitRepository {ns}/{ns}"))?;
    Ok(())
}

/// Polls the `<ns>/<ns>` object of `kind` until `done` holds; on timeout, the error carries
/// its Ready condition.
async fn wait_for(
    client: &kube::Client,
    plan: &Plan,
    kind: &str,
    done: impl Fn(&Value) -> bool,
) -> anyhow::Result<Value> {
    let ns = plan.namespace.as_str();
    let deadline = Instant::now() + plan.timeout;
    loop {
        let object = match kind {
            "GitRepository" => {
                let api: Api<GitRepository> = Api::namespaced(client.clone(), ns);
                serde_json::to_value(api.get(ns).await?)?
            }
            _ => {
                let api: Api<Kustomization> = Api::namespaced(client.clone(), ns);
                serde_json::to_value(api.get(ns).await?)?
            }
        };
        if done(&object) {
            return Ok(object);
        }
        if Instant::now() > deadline {
            let (status, message) = ready(&object);
            bail!(
                "timeout waiting for {kind} {ns}/{ns} to be reconciled: Ready={status} {message}; check that the controllers run"
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The Ready condition's status and message.
fn ready(object: &Value) -> (&str, String) {
    object
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .and_then(|c| c.iter().find(|c| c["type"] == "Ready"))
        .map(|c| {
            (
                c["status"].as_str().unwrap_or("Unknown"),
                c["message"].as_str().unwrap_or_default().to_string(),
            )
        })
        .unwrap_or(("Unknown", String::new()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: GitArgs,
    }

    fn plan(args: &[&str]) -> anyhow::Result<Plan> {
        let mut all = vec!["gitops"];
        all.extend_from_slice(args);
        Plan::from_args(&Cli::try_parse_from(all)?.args)
    }

    #[test]
    fn gotk_sync_is_what_flux_writes() {
        let plan = plan(&[
            "--url=https://example.invalid/fleet.git",
            "--path=./clusters/dev/",
            "--token-auth",
            "--password=token",
        ])
        .unwrap();
        assert_eq!(
            plan.file("gotk-sync.yaml"),
            "clusters/dev/flux-system/gotk-sync.yaml"
        );
        let (text, _) = sync_manifest(&plan);
        assert_eq!(
            text,
            "# This manifest was generated by gitops. DO NOT EDIT.
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: flux-system
  namespace: flux-system
spec:
  interval: 1m0s
  ref:
    branch: main
  secretRef:
    name: flux-system
  url: https://example.invalid/fleet.git
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: flux-system
  namespace: flux-system
spec:
  interval: 10m0s
  path: ./clusters/dev
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
"
        );
        assert_eq!(
            plan.secret.keys().collect::<Vec<_>>(),
            ["password", "username"]
        );
        let root = super::tests::plan(&[
            "--url=https://example.invalid/fleet.git",
            "--token-auth",
            "--password=token",
        ])
        .unwrap();
        assert_eq!(root.sync_path(), "./");
        assert_eq!(
            root.file("kustomization.yaml"),
            "flux-system/kustomization.yaml"
        );
    }

    #[test]
    fn ssh_keeps_the_key_and_known_hosts_in_fluxs_secret_keys() {
        let dir = tempfile::tempdir().unwrap();
        let (key, hosts) = (dir.path().join("id"), dir.path().join("known_hosts"));
        std::fs::write(&key, "PRIVATE KEY").unwrap();
        std::fs::write(&hosts, "git.example.invalid ssh-ed25519 AAAA").unwrap();
        let plan = plan(&[
            "--url=ssh://git@git.example.invalid:2222/fleet.git",
            &format!("--private-key-file={}", key.display()),
            &format!("--known-hosts-file={}", hosts.display()),
        ])
        .unwrap();
        assert_eq!(plan.secret["identity"], b"PRIVATE KEY");
        assert_eq!(
            plan.secret["known_hosts"],
            b"git.example.invalid ssh-ed25519 AAAA"
        );
        assert!(plan.auth.ssh.is_some() && plan.auth.basic.is_none());
        // The key never shows in a debug print of the plan.
        assert!(!format!("{plan:?}").contains("PRIVATE KEY"), "{plan:?}");
        for (url, want) in [
            ("ssh://git@host.invalid:2222/x", ("host.invalid", "2222")),
            ("ssh://host.invalid/x", ("host.invalid", "22")),
            ("ssh://git@[::1]:2022/x", ("::1", "2022")),
            ("ssh://[::1]/x", ("::1", "22")),
        ] {
            let (host, port) = ssh_host_port(url);
            assert_eq!((host.as_str(), port.as_str()), want, "{url}");
        }
    }

    #[test]
    fn bad_flags_say_what_to_pass() {
        let e = plan(&[
            "--url=http://example.invalid/x",
            "--token-auth",
            "--password=t",
        ])
        .unwrap_err();
        assert!(e.to_string().contains("--allow-insecure-http"), "{e}");
        let e = plan(&["--url=https://example.invalid/x"]).unwrap_err();
        assert!(e.to_string().contains("--token-auth"), "{e}");
        let e = plan(&["--url=ssh://git@example.invalid/x"]).unwrap_err();
        assert!(e.to_string().contains("--private-key-file"), "{e}");
        let e = plan(&[
            "--url=https://example.invalid/x",
            "--token-auth",
            "--path=../x",
            "--password=t",
        ])
        .unwrap_err();
        assert!(e.to_string().starts_with("invalid --path '../x'"), "{e}");
        let e = plan(&[
            "--url=https://u:secret@example.invalid/x",
            "--token-auth",
            "--password=t",
        ])
        .unwrap_err();
        assert!(!e.to_string().contains("secret"), "{e}");
    }
}
