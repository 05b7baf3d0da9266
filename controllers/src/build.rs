//! `gitops build`: renders a directory as Flux would, without a cluster, and prints the
//! objects as multi-document YAML.
//!
//! - `gitops build --path DIR` prints what `kubectl kustomize DIR` prints when `DIR` has a
//!   kustomization file, and Flux's generated kustomization of `DIR` otherwise.
//! - `gitops build kustomization NAME --path DIR --kustomization-file FILE` also lays the
//!   Kustomization's `targetNamespace`, `namePrefix`/`nameSuffix`, `patches`, `images` and
//!   `components` over the build, runs its `postBuild` substitution and sets the owner labels
//!   and `commonMetadata`, as `flux build kustomization` does. `substituteFrom` sources live
//!   in a cluster, so without one a non-optional source is an error naming it.
//!
//! Without `--root`, `gitops build --path DIR` reads the file system as kubectl does: a
//! kustomization directory may be anywhere (`resources: [../../base]`), the files a
//! kustomization names (patches, generator sources...) must be in or below its directory
//! (kustomize's default load restrictions). `--root ROOT` gives the build the controller's
//! sandbox: nothing outside `ROOT` is read, through `..` or a symbolic link, and inside it
//! files may be anywhere, as Flux reads an artifact. `gitops build kustomization` always
//! builds in a sandbox, `--root` or else `--path` itself.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow, bail};
use clap::{Args, Subcommand};
use gitops_core::api::Kustomization;
use gitops_core::plan::Owner;
use gitops_core::{Error as CoreError, Manifest, Object, manifests, render, substitute, yaml};
use gitops_git::disk::DiskFs;

/// Arguments of `gitops build`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct BuildArgs {
    /// What to build as a Flux object instead of a plain directory.
    #[command(subcommand)]
    pub target: Option<BuildTarget>,
    /// The directory to build.
    #[arg(long)]
    pub path: Option<PathBuf>,
    /// Build inside this directory as the controller builds inside an artifact: nothing
    /// outside it may be read, and files may be anywhere inside it.
    #[arg(long)]
    pub root: Option<PathBuf>,
}

/// The Flux objects `gitops build` can build.
#[derive(Debug, Subcommand)]
pub enum BuildTarget {
    /// Build a directory as a Flux Kustomization would: its overlay fields and postBuild
    /// substitution applied.
    Kustomization(KustomizationArgs),
}

/// Arguments of `gitops build kustomization`.
#[derive(Debug, Args)]
pub struct KustomizationArgs {
    /// The Kustomization's name.
    pub name: String,
    /// The local directory holding what the Kustomization's `spec.path` points at.
    #[arg(long)]
    pub path: PathBuf,
    /// The local directory standing for the artifact's root, which the build may not leave
    /// (default: `--path`).
    #[arg(long)]
    pub root: Option<PathBuf>,
    /// A YAML file holding the Kustomization (reading it from a cluster is not supported).
    #[arg(long)]
    pub kustomization_file: Option<PathBuf>,
    /// The Kustomization's namespace, when the file does not set one.
    #[arg(long, short = 'n', default_value = "flux-system")]
    pub namespace: String,
    /// Fail when a variable without a default is not defined.
    #[arg(long)]
    pub strict_substitute: bool,
}

/// Runs `gitops build`, writing the YAML to `out`.
pub fn run(args: &BuildArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let text = match (&args.target, &args.path) {
        (Some(BuildTarget::Kustomization(k)), _) => build_kustomization(k)?,
        (None, Some(path)) => build_dir(path, args.root.as_deref())?,
        (None, None) => bail!("--path is required: the directory to build"),
    };
    out.write_all(text.as_bytes())
        .context("cannot write the output")?;
    Ok(())
}

/// Renders `dir` as `kubectl kustomize` (or Flux, without a kustomization file) does; with
/// `root`, as the controller does inside an artifact whose root is `root`.
pub fn build_dir(dir: &Path, root: Option<&Path>) -> anyhow::Result<String> {
    let objects = match root {
        None => {
            let (fs, path) = open(dir, Path::new("/"))?;
            render::build(&fs, &path)?
        }
        Some(root) => {
            let (fs, path) = open(dir, root)?;
            render::build_with(&fs, &path, &render::Overlay::default())?
        }
    };
    Ok(yaml::to_string(
        &objects.into_iter().map(|m| m.object).collect::<Vec<_>>(),
    ))
}

/// Renders `args.path` as the Kustomization of `args.kustomization_file` would.
pub fn build_kustomization(args: &KustomizationArgs) -> anyhow::Result<String> {
    let Some(file) = &args.kustomization_file else {
        bail!(
            "reading Kustomization '{}/{}' from a cluster is not supported: pass --kustomization-file",
            args.namespace,
            args.name
        );
    };
    let ks = read_kustomization(file, &args.name, &args.namespace)?;
    let root = args.root.as_deref().unwrap_or(&args.path);
    let desired = render_kustomization(&ks, &args.path, root, args.strict_substitute)?;
    let objects: Vec<Object> = desired.into_iter().map(|m| m.object).collect();
    Ok(yaml::to_string(&objects))
}

/// Renders `path` (inside the sandbox `root`) as the Kustomization `ks` would: its overlay
/// fields, its postBuild substitution (`substituteFrom` sources live in a cluster, so a
/// non-optional one is an error naming it), its owner labels and `commonMetadata`. `gitops
/// build kustomization` prints the result; `gitops diff kustomization` dry-runs it.
pub fn render_kustomization(
    ks: &Kustomization,
    path: &Path,
    root: &Path,
    strict_substitute: bool,
) -> anyhow::Result<Vec<Manifest>> {
    let (fs, path) = open(path, root)?;
    let mut desired = render::build_with(&fs, &path, &ks.overlay())?;
    if let Some(post_build) = &ks.spec.post_build {
        let mut sources = Vec::new();
        for reference in &post_build.substitute_from {
            if !reference.optional {
                return Err(CoreError::SubstituteFrom {
                    reference: format!("{}/{}", reference.kind, reference.name),
                    reason: "it lives in the cluster and cannot be read by a local build; mark it optional or set the variables in spec.postBuild.substitute".into(),
                }
                .into());
            }
            sources.push(None);
        }
        let vars = substitute::variables(post_build, &sources)?;
        let options = substitute::Options {
            strict: strict_substitute,
            strategy: substitute::Strategy::parse(post_build.substitute_strategy.as_deref())?,
        };
        desired = substitute::apply(desired, &vars, &options)?;
    }
    let owner = Owner::new(&ks.metadata.name, &ks.metadata.namespace);
    Ok(desired
        .into_iter()
        .map(|mut m| {
            owner.label(&mut m.object);
            if let Some(common) = &ks.spec.common_metadata {
                common.apply_to(&mut m.object);
            }
            m
        })
        .collect())
}

/// The Kustomization named `name` in the YAML file `file`.
fn read_kustomization(file: &Path, name: &str, namespace: &str) -> anyhow::Result<Kustomization> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("cannot read the Kustomization file {}", file.display()))?;
    let objects = manifests::parse(&file.display().to_string(), &text)?;
    let found = objects
        .into_iter()
        .map(|m| m.object)
        .find(|o| o.kind() == "Kustomization" && o.name() == name)
        .with_context(|| format!("{}: no Kustomization named '{name}'", file.display()))?;
    let mut ks = Kustomization::from_object(&found)?;
    if ks.metadata.namespace.is_empty() {
        ks.metadata.namespace = namespace.to_string();
    }
    Ok(ks)
}

/// The file system below `root` and the path of `dir` in it.
fn open(dir: &Path, root: &Path) -> anyhow::Result<(DiskFs, String)> {
    if !dir.is_dir() {
        bail!("{}: not a directory", dir.display());
    }
    let real = dir
        .canonicalize()
        .with_context(|| format!("cannot open {}", dir.display()))?;
    let fs = DiskFs::new(root)?;
    let path = real
        .strip_prefix(fs.root())
        .map_err(|_| {
            anyhow!(
                "{}: not inside the root directory {}",
                dir.display(),
                root.display()
            )
        })?
        .to_str()
        .with_context(|| format!("{}: the path is not valid UTF-8", dir.display()))?
        .to_string();
    Ok((fs, path))
}
