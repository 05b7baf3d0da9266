//! Fetch one ref of a Git repository and write its artifact, as the source controller would.
//!
//! ```text
//! cargo run --example fetch -- --url URL \
//!     [--branch B | --tag T | --semver RANGE | --commit SHA [--branch B] | --name REF] \
//!     --out DIR \
//!     [--username U --password-env VAR | --bearer-env VAR] [--ca FILE] \
//!     [--identity FILE --known-hosts FILE [--passphrase-env VAR]] \
//!     [--ignore PATTERNS] [--timeout SECONDS]
//! ```
//!
//! Writes `DIR/<commit>.tar.gz` and prints `revision: <revision>` and `digest: sha256:<hex>`
//! on their own lines. Secrets are read from environment variables named on the command
//! line, never from the command line itself. Without a ref the branch is `master`, as in Flux.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use gitops_core::api::GitRef;
use gitops_git::artifact::Packer;
use gitops_git::{Auth, FetchOptions, FetchOutcome};

#[derive(Default)]
struct Args {
    url: Option<String>,
    reference: GitRef,
    out: Option<PathBuf>,
    username: Option<String>,
    password_env: Option<String>,
    bearer_env: Option<String>,
    ca: Option<PathBuf>,
    identity: Option<PathBuf>,
    known_hosts: Option<PathBuf>,
    passphrase_env: Option<String>,
    ignore: Option<String>,
    timeout: Option<u64>,
}

const USAGE: &str = "usage: fetch --url URL [--branch B | --tag T | --semver RANGE | --commit SHA [--branch B] | --name REF] --out DIR \
[--username U --password-env VAR | --bearer-env VAR] [--ca FILE] [--identity FILE --known-hosts FILE [--passphrase-env VAR]] \
[--ignore PATTERNS] [--timeout SECONDS]";

fn parse() -> anyhow::Result<Args> {
    let mut args = Args::default();
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "-h" || flag == "--help" {
            println!("{USAGE}");
            std::process::exit(0);
        }
        let value = it
            .next()
            .with_context(|| format!("{flag} needs a value\n{USAGE}"))?;
        match flag.as_str() {
            "--url" => args.url = Some(value),
            "--branch" => args.reference.branch = Some(value),
            "--tag" => args.reference.tag = Some(value),
            "--semver" => args.reference.semver = Some(value),
            "--commit" => args.reference.commit = Some(value),
            "--name" => args.reference.name = Some(value),
            "--out" => args.out = Some(value.into()),
            "--username" => args.username = Some(value),
            "--password-env" => args.password_env = Some(value),
            "--bearer-env" => args.bearer_env = Some(value),
            "--ca" => args.ca = Some(value.into()),
            "--identity" => args.identity = Some(value.into()),
            "--known-hosts" => args.known_hosts = Some(value.into()),
            "--passphrase-env" => args.passphrase_env = Some(value),
            "--ignore" => args.ignore = Some(value),
            "--timeout" => args.timeout = Some(value.parse().context("--timeout takes seconds")?),
            other => bail!("unknown flag {other}\n{USAGE}"),
        }
    }
    Ok(args)
}

fn env(name: &str) -> anyhow::Result<String> {
    std::env::var(name).with_context(|| format!("environment variable {name} is not set"))
}

fn auth(args: &Args) -> anyhow::Result<Auth> {
    let mut auth = match (&args.username, &args.bearer_env, &args.identity) {
        (Some(user), None, None) => {
            let password = match &args.password_env {
                Some(var) => env(var)?,
                None => String::new(),
            };
            Auth::basic(user, password)
        }
        (None, Some(var), None) => Auth::bearer(env(var)?),
        (None, None, Some(identity)) => {
            let known_hosts = args
                .known_hosts
                .as_ref()
                .context("--identity needs --known-hosts: host keys are always verified")?;
            let mut auth = Auth::ssh(
                std::fs::read(identity)
                    .with_context(|| format!("reading {}", identity.display()))?,
                std::fs::read(known_hosts)
                    .with_context(|| format!("reading {}", known_hosts.display()))?,
            );
            if let (Some(ssh), Some(var)) = (auth.ssh.as_mut(), &args.passphrase_env) {
                ssh.password = Some(env(var)?);
            }
            auth
        }
        (None, None, None) => Auth::none(),
        _ => bail!("use one of --username, --bearer-env or --identity"),
    };
    if let Some(ca) = &args.ca {
        auth =
            auth.with_ca(std::fs::read(ca).with_context(|| format!("reading {}", ca.display()))?);
    }
    Ok(auth)
}

fn main() -> anyhow::Result<()> {
    let args = parse()?;
    let url = args
        .url
        .clone()
        .with_context(|| format!("--url is required\n{USAGE}"))?;
    let out = args
        .out
        .clone()
        .with_context(|| format!("--out is required\n{USAGE}"))?;
    let auth = auth(&args)?;
    let checkout = args.reference.checkout();
    let options =
        FetchOptions::default().with_timeout(Duration::from_secs(args.timeout.unwrap_or(60)));

    let outcome = gitops_git::fetch_blocking(&url, &checkout, &auth, &options)?;
    let FetchOutcome::Fetched(commit) = outcome else {
        bail!("nothing fetched");
    };
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let file = out.join(format!("{}.tar.gz", commit.revision().commit().hex()));
    let writer = std::io::BufWriter::new(
        std::fs::File::create(&file).with_context(|| format!("creating {}", file.display()))?,
    );
    let mut packer = Packer::new(writer)?;
    commit.pack(&mut packer, args.ignore.as_deref())?;
    let packed = packer.finish()?;
    packed
        .writer
        .into_inner()
        .map_err(|e| e.into_error())
        .and_then(|f| f.sync_all())
        .with_context(|| format!("writing {}", file.display()))?;
    eprintln!(
        "wrote {} ({} bytes, {} files)",
        file.display(),
        packed.size,
        packed.files
    );
    println!("revision: {}", commit.revision());
    println!("digest: {}", packed.digest);
    Ok(())
}
