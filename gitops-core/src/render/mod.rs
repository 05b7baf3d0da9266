//! Rendering a directory of an artifact into objects, as `kustomize build` (and Flux's
//! kustomize-controller) does.
//!
//! A directory with a `kustomization.yaml`, `kustomization.yml` or `Kustomization` file is
//! built natively: resources (files and directories, nested), legacy `bases`, components,
//! `namespace`, `namePrefix`/`nameSuffix` with name references fixed, `commonLabels`,
//! `labels` (with `fields`), `commonAnnotations`, `images` (with `tagSuffix`, and the legacy
//! `imageTags`), `replicas`, `patches`, `patchesStrategicMerge`, `patchesJson6902`,
//! `configMapGenerator`/`secretGenerator` with kustomize's hash suffix, `generatorOptions`,
//! `replacements`, `sortOptions`, the deprecated `vars`, `openapi` (a custom schema or the
//! built-in version), `configurations` (kustomize's transformer configuration: the field
//! specifications of every built-in transformer, also for custom resources), `crds`,
//! `buildMetadata` (`originAnnotations`, `transformerAnnotations`, `managedByLabel`),
//! `helmGlobals` (a no-op without charts), and `transformers`/`generators`/`validators`
//! naming kustomize's built-in plugins (inline, in files, or built from kustomization
//! directories), in kustomize's order of transformers and of output. The field
//! transformers (namespace, prefix, suffix, labels, annotations, replicas, images) are driven
//! by field specifications, the built-in ones extended by `configurations` or replaced by a
//! plugin's `fieldSpecs`, through one field-spec walker. Objects annotated
//! `config.kubernetes.io/local-config` are left out. Field names match case-insensitively
//! and a repeated key keeps its last value, as kustomize's decoding through Go's
//! encoding/json does (`patchesJSON6902`, `nameprefix`). What this renderer does not
//! implement (remote resources, Helm charts, exec, Go and container plugins) is an error
//! naming the file and field, never ignored, and no path may leave the root of the file
//! system. `docs/kustomize.md` lists every field and plugin kind with its covering cases.
//!
//! Output printed with [`crate::yaml::to_string`] is byte-identical to `kubectl kustomize`
//! (v1.32, kustomize v5.5) on the differential suite in `tests/kustomize/` and on the cases
//! taken from kustomize's own tests in `../shared/fixtures/kustomize-krusty/`. Known
//! differences: unquoted timestamps in resources (`date: 2001-12-14`) stay strings where
//! kustomize prints them as RFC 3339 times; a merge key `<<` in a resource is kept as a key;
//! and env files' `KEY` lines without `=` get an empty value instead of the process
//! environment.
//!
//! The file system is the sandbox: nothing outside it is read. Inside it, a kustomization
//! directory named in `resources`, `components` or `bases` may be anywhere (`../../base`),
//! while the files a kustomization names obey [`LoadRestrictions`]: [`build`] confines them
//! to the kustomization's directory as `kubectl kustomize` does, [`build_with`] lets them be
//! anywhere in the file system as Flux does. As kustomize, the confinement compares the
//! paths with symbolic links resolved ([`FileSystem::real_path`]).
//!
//! A directory without one is rendered with the kustomization Flux generates for it: every
//! `*.yaml` and `*.yml` file below it, except below subdirectories that have their own
//! kustomization, which are built as resources.
//!
//! ```
//! use gitops_core::{fs::MemoryFs, render, yaml};
//! let fs = MemoryFs::new()
//!     .with_file("app/kustomization.yaml", "namePrefix: prod-\nresources:\n- cm.yaml\n")
//!     .with_file("app/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n");
//! let objects = render::build(&fs, "app").unwrap();
//! assert_eq!(objects[0].object.name(), "prod-settings");
//! let text = yaml::to_string(&objects.into_iter().map(|m| m.object).collect::<Vec<_>>());
//! assert_eq!(text, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: prod-settings\n");
//! ```

mod build;
mod decode;
mod fieldspec;
mod generator;
mod kustomization;
mod load;
mod nameref;
mod order;
mod patch;
mod replacement;
mod resource;
mod smp;
mod transform;
mod vars;

pub use build::KUSTOMIZATION_FILES;
pub use kustomization::{Image, Patch, Selector};
pub use load::LoadRestrictions;

use build::{Builder, display};
use kustomization::Kustomization;

use serde_json::Value;

use crate::fs::{self, FileKind, FileSystem};
use crate::{Error, Manifest};

/// Kustomize fields a Flux `Kustomization` lays over the kustomization it builds (FLUX.md
/// 2.5): its `targetNamespace`, `namePrefix`, `nameSuffix`, `patches`, `images` and
/// `components`. `commonMetadata` is applied to the built objects by the reconciler.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct Overlay {
    /// Replaces the kustomization's `namespace`.
    pub target_namespace: Option<String>,
    /// Replaces the kustomization's `namePrefix`.
    pub name_prefix: Option<String>,
    /// Replaces the kustomization's `nameSuffix`.
    pub name_suffix: Option<String>,
    /// Appended to the kustomization's `patches`.
    pub patches: Vec<Patch>,
    /// Replace the kustomization's `images` entries of the same name, or are appended.
    pub images: Vec<Image>,
    /// Appended to the kustomization's `components`, relative to its directory.
    pub components: Vec<String>,
    /// Drops the overlay's components whose directory does not exist, instead of failing
    /// (Flux's `ignoreMissingComponents`).
    pub ignore_missing_components: bool,
}

impl Overlay {
    fn apply_to(&self, k: &mut Kustomization) {
        if let Some(ns) = &self.target_namespace {
            k.namespace = Some(ns.clone()).filter(|s| !s.is_empty());
        }
        if let Some(p) = &self.name_prefix {
            k.name_prefix = p.clone();
        }
        if let Some(s) = &self.name_suffix {
            k.name_suffix = s.clone();
        }
        k.patches.extend(self.patches.iter().cloned());
        k.components.extend(self.components.iter().cloned());
        // Flux replaces an image entry of the same name as a whole.
        for image in &self.images {
            match k.images.iter_mut().find(|i| i.name == image.name) {
                Some(existing) => *existing = image.clone(),
                None => k.images.push(image.clone()),
            }
        }
    }
}

/// Renders the directory `path` of `fs` into objects, in kustomize's output order, as
/// `kubectl kustomize` does: under kustomize's default [`LoadRestrictions::RootOnly`].
pub fn build(fs: &dyn FileSystem, path: &str) -> Result<Vec<Manifest>, Error> {
    build_restricted(fs, path, &Overlay::default(), LoadRestrictions::RootOnly)
}

/// Renders the directory `path` of `fs` with Flux's `overlay` laid over its kustomization,
/// as Flux's kustomize-controller does: files may be anywhere in `fs` (the artifact,
/// [`LoadRestrictions::None`]).
pub fn build_with(
    fs: &dyn FileSystem,
    path: &str,
    overlay: &Overlay,
) -> Result<Vec<Manifest>, Error> {
    build_restricted(fs, path, overlay, LoadRestrictions::None)
}

/// Renders the directory `path` of `fs` with `overlay` laid over its kustomization, reading
/// files under `restrictions`. Nothing outside `fs` is ever read: `fs` is the sandbox.
pub fn build_restricted(
    fs: &dyn FileSystem,
    path: &str,
    overlay: &Overlay,
    restrictions: LoadRestrictions,
) -> Result<Vec<Manifest>, Error> {
    let root = fs::normalize(path)?;
    if fs.kind(&root) != Some(FileKind::Dir) {
        return Err(Error::Render {
            message: format!("kustomization path not found: {}", display(&root)),
        });
    }
    let mut builder = Builder::new(fs, restrictions);
    let mut k = match builder.load(&root)? {
        Some(k) => k,
        None => generated(fs, &root)?,
    };
    let mut overlay = overlay.clone();
    if overlay.ignore_missing_components {
        overlay
            .components
            .retain(|c| fs::join(&root, c).is_ok_and(|p| fs.kind(&p) == Some(FileKind::Dir)));
    }
    overlay.apply_to(&mut k);
    // kustomize uses the top kustomization's buildMetadata for the whole build.
    if k.origin_annotations || k.transformer_annotations {
        builder.origins = Some(root.clone());
    }
    if k.transformer_annotations {
        builder.transformations = Some(root.clone());
    }
    let mut resources = builder.build(&root, &k)?;
    for r in resources.iter_mut().filter(|r| r.hash) {
        let name = format!("{}-{}", r.name(), generator::hash(&r.obj));
        r.set_name(name);
    }
    nameref::fix(&mut resources, &builder.config.name_reference)?;
    let mut var_specs: Vec<fieldspec::Spec> = fieldspec::VAR_REFERENCE
        .iter()
        .map(fieldspec::Spec::from)
        .collect();
    var_specs.extend(builder.config.var_reference.iter().cloned());
    vars::resolve(&builder.vars, &var_specs, &mut resources)?;
    // kustomize leaves out the objects marked local to the build, once it is done.
    resources.retain(|r| {
        r.obj
            .as_map()
            .get("metadata")
            .and_then(|m| m.get("annotations"))
            .and_then(|a| a.get("config.kubernetes.io/local-config"))
            .is_none_or(|v| v.as_str() == Some("false"))
    });
    let mut resources = order::sort(resources, k.sort.as_ref());
    if builder.origins.is_some() && !k.origin_annotations {
        // Tracked for the transformer annotations only.
        for r in &mut resources {
            let meta = r.metadata_mut();
            if let Some(Value::Object(a)) = meta.get_mut("annotations") {
                a.remove(build::ORIGIN_ANNOTATION);
                if a.is_empty() {
                    meta.remove("annotations");
                }
            }
        }
    }
    // kustomize rewrites every object's annotations when it removes its internal ones, and
    // an empty set of annotations is no field: `annotations:` (null), `{}` and `[]` go.
    for r in &mut resources {
        let Some(Value::Object(meta)) = r.obj.as_map_mut().get_mut("metadata") else {
            continue;
        };
        let empty = match meta.get("annotations") {
            Some(Value::Null) => true,
            Some(Value::Object(a)) => a.is_empty(),
            Some(Value::Array(a)) => a.is_empty(),
            _ => false,
        };
        if empty {
            meta.remove("annotations");
        }
    }
    if k.managed_by_label {
        // The value kubectl prints: its embedded kustomize carries no release version.
        let label: serde_json::Map<String, serde_json::Value> = [(
            "app.kubernetes.io/managed-by".to_string(),
            serde_json::Value::String("kustomize-(devel)".into()),
        )]
        .into_iter()
        .collect();
        transform::set_entries(&mut resources, fieldspec::METADATA_LABELS, &label);
    }
    Ok(resources
        .into_iter()
        .map(|r| Manifest {
            object: r.obj,
            origin: r.origin,
        })
        .collect())
}

/// The kustomization Flux generates for a directory without one: its YAML files and the
/// subdirectories that have a kustomization, found recursively.
fn generated(fs: &dyn FileSystem, root: &str) -> Result<Kustomization, Error> {
    let mut resources = Vec::new();
    scan(fs, root, root, &mut resources)?;
    Ok(Kustomization {
        file: format!("{}/kustomization.yaml (generated)", display(root)),
        resources,
        ..Default::default()
    })
}

fn scan(fs: &dyn FileSystem, root: &str, dir: &str, out: &mut Vec<String>) -> Result<(), Error> {
    for name in fs.read_dir(dir)? {
        let path = fs::join(dir, &name)?;
        let relative = if root.is_empty() {
            path.clone()
        } else {
            path[root.len() + 1..].to_string()
        };
        match fs.kind(&path) {
            Some(FileKind::Dir) => {
                if KUSTOMIZATION_FILES
                    .iter()
                    .any(|f| fs::join(&path, f).is_ok_and(|p| fs.kind(&p) == Some(FileKind::File)))
                {
                    out.push(relative);
                } else {
                    scan(fs, root, &path, out)?;
                }
            }
            Some(FileKind::File) if name.ends_with(".yaml") || name.ends_with(".yml") => {
                let text = String::from_utf8(fs.read(&path)?).map_err(|_| Error::File {
                    path: path.clone(),
                    message: "not valid UTF-8".into(),
                })?;
                // Flux refuses files that are not Kubernetes objects before building.
                decode::resources(&path, &text)?;
                out.push(relative);
            }
            _ => {}
        }
    }
    Ok(())
}

/// The kustomization file in `dir`, if any.
pub fn kustomization_file(fs: &dyn FileSystem, dir: &str) -> Result<Option<String>, Error> {
    for name in KUSTOMIZATION_FILES {
        let path = fs::join(dir, name)?;
        if fs.kind(&path) == Some(FileKind::File) {
            return Ok(Some(path));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests;
