//! The recursive build: a kustomization's resources, components and generators accumulated,
//! then its transformers run over them, in kustomize's order.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::decode;
use super::fieldspec::{self, Spec};
use super::generator;
use super::kustomization::{self, Behavior, Kustomization, PluginRole, TransformerConfig};
use super::load::{Files, LoadRestrictions};
use super::patch;
use super::replacement;
use super::resource::Resource;
use super::transform;
use super::vars::{self, Var};
use crate::Error;
use crate::fs::{self, FileKind, FileSystem};
use crate::schema::Schema;

/// The file names kustomize recognises as a kustomization, in its order of preference.
pub const KUSTOMIZATION_FILES: [&str; 3] =
    ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// Builds kustomizations read through a file system, remembering the directories being
/// built to refuse cycles.
pub(crate) struct Builder<'a> {
    pub fs: &'a dyn FileSystem,
    restrictions: LoadRestrictions,
    stack: Vec<String>,
    /// Every `vars` entry of the build, in the order they were merged.
    pub vars: Vec<Var>,
    /// Whether a kustomization's `openapi` field chose the build's schema: as kustomize,
    /// the first kustomization loaded that has one does, later ones are ignored.
    schema_set: bool,
    /// The custom schema chosen (`openapi.path`), else kustomize's built-in one is used.
    custom_schema: Option<Box<Schema>>,
    /// Whether any resource has been read yet.
    seen_resources: bool,
    /// The directory of the build while `buildMetadata` asks for origin or transformer
    /// annotations (kustomize tracks origins for both).
    pub origins: Option<String>,
    /// The directory of the build while `buildMetadata` asks for transformer annotations.
    pub transformations: Option<String>,
    /// What the `configurations` read so far add to the built-in transformer configuration.
    /// kustomize merges a kustomization's into those of its resources; here they are
    /// merged for the whole build as they are read.
    pub config: TransformerConfig,
}

fn render_error(message: String) -> Error {
    Error::Render { message }
}

impl<'a> Builder<'a> {
    pub(crate) fn new(fs: &'a dyn FileSystem, restrictions: LoadRestrictions) -> Self {
        Builder {
            fs,
            restrictions,
            stack: Vec::new(),
            vars: Vec::new(),
            schema_set: false,
            custom_schema: None,
            seen_resources: false,
            origins: None,
            transformations: None,
            config: TransformerConfig::default(),
        }
    }

    fn files(&self) -> Files<'_> {
        Files {
            fs: self.fs,
            restrictions: self.restrictions,
            schema: self.custom_schema.as_deref().unwrap_or(Schema::builtin()),
        }
    }

    /// kustomize's `openapi.SetSchema`: the first kustomization with an `openapi` field
    /// chooses the schema strategic merges use for the rest of the build.
    fn choose_schema(&mut self, dir: &str, k: &Kustomization) -> Result<(), Error> {
        if self.schema_set {
            return Ok(());
        }
        let err = |reason: String| render_error(format!("{}: field 'openapi' {reason}", k.file));
        match (&k.openapi_path, &k.openapi_version) {
            (Some(_), Some(_)) => Err(err(
                "sets both a built-in version and a custom schema path, which cannot be used together".into(),
            )),
            (Some(path), None) => {
                let (full, text) = self
                    .files()
                    .read_text(dir, path, "schema file")
                    .map_err(|r| err(format!("path {r}")))?;
                let value = decode::documents(&full, &text)?
                    .into_iter()
                    .next()
                    .map(|(v, _)| v)
                    .unwrap_or_default();
                let schema = Schema::from_swagger(value).ok_or_else(|| {
                    err(format!("schema file '{path}' has no OpenAPI definitions"))
                })?;
                // kustomize parses its built-in schema over the custom one when it was
                // already asked about a kind (it is, by every resource it reads) before the
                // custom schema was chosen.
                let schema = if self.seen_resources {
                    schema.overlaid_by(Schema::builtin())
                } else {
                    schema
                };
                self.custom_schema = Some(Box::new(schema));
                self.schema_set = true;
                Ok(())
            }
            (None, Some(version)) if version.is_empty() => Ok(()),
            (None, Some(version)) => {
                // kustomize v5.5 builds in the Kubernetes v1.21.2 schema only; the merge
                // keys of this renderer's newer built-in schema stand for it.
                if version != "v1.21.2" {
                    return Err(err(format!(
                        "version '{version}' is not built in, the built-in version is v1.21.2"
                    )));
                }
                self.custom_schema = None;
                self.schema_set = true;
                Ok(())
            }
            (None, None) => Ok(()),
        }
    }

    /// Reads the kustomization file of `dir`, if it has one.
    pub(crate) fn load(&mut self, dir: &str) -> Result<Option<Kustomization>, Error> {
        let mut found = Vec::new();
        for name in KUSTOMIZATION_FILES {
            let path = fs::join(dir, name)?;
            if self.fs.kind(&path) == Some(FileKind::File) {
                found.push(path);
            }
        }
        let Some(file) = found.first() else {
            return Ok(None);
        };
        if found.len() > 1 {
            return Err(render_error(format!(
                "{}: found multiple kustomization files ({}), keep only one",
                display(dir),
                found.join(", ")
            )));
        }
        let text = String::from_utf8(self.fs.read(file)?)
            .map_err(|_| render_error(format!("{file}: not valid UTF-8")))?;
        let k = Kustomization::parse(file, &text)?;
        self.choose_schema(dir, &k)?;
        Ok(Some(k))
    }

    /// Builds the kustomization `k` of `dir` into a fresh set of resources.
    pub(crate) fn build(&mut self, dir: &str, k: &Kustomization) -> Result<Vec<Resource>, Error> {
        self.stack.push(dir.to_string());
        let mut acc = Vec::new();
        let result = self.accumulate(dir, k, &mut acc);
        self.stack.pop();
        result.map(|()| acc)
    }

    /// Refuses to enter `dir` again while it is being built; `file` and `field` name the
    /// reference that would close the cycle.
    fn check_cycle(&self, dir: &str, file: &str, field: &str) -> Result<(), Error> {
        if let Some(start) = self.stack.iter().position(|d| d == dir) {
            let mut cycle: Vec<&str> = self.stack[start..].iter().map(|d| display(d)).collect();
            cycle.push(display(dir));
            return Err(render_error(format!(
                "{file}: field '{field}' makes a cycle between kustomizations: {}",
                cycle.join(" -> ")
            )));
        }
        Ok(())
    }

    /// kustomize's `accumulateTarget`: adds the kustomization's resources, generated objects
    /// and components to `acc`, then transforms everything in `acc`.
    fn accumulate(
        &mut self,
        dir: &str,
        k: &Kustomization,
        acc: &mut Vec<Resource>,
    ) -> Result<(), Error> {
        let mut ids: HashSet<Id> = acc.iter().map(identity).collect();
        for (i, entry) in k.resources.iter().enumerate() {
            let field = format!("resources[{i}]");
            let err =
                |reason: String| render_error(format!("{}: field '{field}' {reason}", k.file));
            if is_remote(entry) {
                return Err(err(format!(
                    "'{entry}' is a remote resource, which is not supported: vendor it into the repository"
                )));
            }
            let path = fs::join(dir, entry)
                .map_err(|_| err(format!("'{entry}' leaves the root directory")))?;
            match self.fs.kind(&path) {
                Some(FileKind::Dir) => {
                    self.check_cycle(&path, &k.file, &field)?;
                    let Some(sub) = self.load(&path)? else {
                        return Err(err(format!(
                            "directory '{entry}' has no kustomization.yaml, kustomization.yml or Kustomization"
                        )));
                    };
                    if sub.component {
                        return Err(err(format!(
                            "'{entry}' is a Component, list it under components"
                        )));
                    }
                    for r in self.build(&path, &sub)? {
                        append(acc, &mut ids, r)?;
                    }
                }
                Some(FileKind::File) => {
                    self.files()
                        .file(dir, entry)
                        .map_err(|r| err(format!("file {r}")))?;
                    let text = String::from_utf8(self.fs.read(&path)?)
                        .map_err(|_| err(format!("file '{entry}' is not valid UTF-8")))?;
                    let manifests = decode::resources(&path, &text)?;
                    let mut per_document: HashMap<usize, usize> = HashMap::new();
                    for m in &manifests {
                        *per_document.entry(m.origin.document).or_default() += 1;
                    }
                    // Kept for the first strategic merge patch, which reads it again only if
                    // the object has nulls (see `Resource::source`).
                    let shared: std::sync::Arc<str> = text.as_str().into();
                    for m in manifests {
                        // Only an object that is its document (not an item of a List) has
                        // its fields' paths in the document.
                        let own_document = per_document.get(&m.origin.document) == Some(&1);
                        let document = m.origin.document;
                        let mut r = Resource::new(m.object, m.origin);
                        if own_document {
                            r.source = Some((shared.clone(), document));
                        }
                        if let Some(top) = &self.origins {
                            set_origin(&mut r, format!("path: {}\n", relative(top, &path)));
                        }
                        append(acc, &mut ids, r)?;
                    }
                }
                None => {
                    // The file system says why, e.g. a link that leaves the root.
                    let why = match self.fs.read(&path) {
                        Err(Error::File { message, .. }) if !message.starts_with("no such") => {
                            format!(" ({message})")
                        }
                        _ => String::new(),
                    };
                    return Err(err(format!("resource '{entry}' not found{why}")));
                }
            }
        }
        self.seen_resources |= !acc.is_empty();
        let configs = k
            .configurations
            .iter()
            .map(|e| (e, "configurations", false));
        let crds = k.crds.iter().map(|e| (e, "crds", true));
        for (i, (entry, name, crd)) in configs.chain(crds).enumerate() {
            let i = if crd { i - k.configurations.len() } else { i };
            let field = format!("{name}[{i}]");
            let (full, text) = self
                .files()
                .read_text(dir, entry, "file")
                .map_err(|reason| render_error(format!("{}: field '{field}' {reason}", k.file)))?;
            if let Some((value, _)) = decode::documents(&full, &text)?.into_iter().next() {
                let config = if crd {
                    TransformerConfig::from_crds(&full, &value)?
                } else {
                    TransformerConfig::parse(&full, &value)?
                };
                self.config.merge(config);
            }
        }
        // kustomize runs a kustomization's generators before its components, so that a
        // component's patches see the generated objects.
        self.generate(dir, k, acc)?;
        for (field, config, from) in self.plugin_configs(dir, k, "generators", &k.generators)? {
            let g = Kustomization::from_plugin(&k.file, &field, &config, PluginRole::Generator)?;
            self.generate_as(dir, &g, acc, Some((&from, &config)))?;
        }
        for (i, entry) in k.components.iter().enumerate() {
            let field = format!("components[{i}]");
            let err =
                |reason: String| render_error(format!("{}: field '{field}' {reason}", k.file));
            if is_remote(entry) {
                return Err(err(format!(
                    "'{entry}' is a remote component, which is not supported"
                )));
            }
            let path = fs::join(dir, entry)
                .map_err(|_| err(format!("'{entry}' leaves the root directory")))?;
            if self.fs.kind(&path) != Some(FileKind::Dir) {
                return Err(err(format!("component '{entry}' not found")));
            }
            let Some(sub) = self.load(&path)? else {
                return Err(err(format!(
                    "directory '{entry}' has no kustomization file"
                )));
            };
            if !sub.component {
                return Err(err(format!("'{entry}' must have kind Component")));
            }
            self.check_cycle(&path, &k.file, &field)?;
            self.stack.push(path.clone());
            let result = self.accumulate(&path, &sub, acc);
            self.stack.pop();
            result?;
        }
        self.transform(dir, k, acc, true)?;
        for (field, config, from) in self.plugin_configs(dir, k, "transformers", &k.transformers)? {
            let t = Kustomization::from_plugin(&k.file, &field, &config, PluginRole::Transformer)?;
            self.transform(dir, &t, acc, false)?;
            if let Some(top) = self.transformations.as_deref() {
                note_transformation(acc, &plugin_origin(top, &from, &config));
            }
        }
        self.validate(dir, k, acc)?;
        vars::merge(&k.file, &k.vars, acc, &mut self.vars)
    }

    /// The plugin configurations of the kustomization's `generators` or `transformers`:
    /// inline, in files, or built from kustomization directories; each with the field that
    /// listed it.
    fn plugin_configs(
        &mut self,
        dir: &str,
        k: &Kustomization,
        name: &str,
        entries: &[String],
    ) -> Result<Vec<(String, Value, String)>, Error> {
        // kustomize reads the inline configurations first, then the files and directories.
        let mut out = Vec::new();
        for (i, entry) in entries.iter().enumerate() {
            if entry.contains('\n') {
                for (v, _) in decode::documents(&k.file, entry)? {
                    out.push((format!("{name}[{i}]"), v, k.file.clone()));
                }
            }
        }
        for (i, entry) in entries.iter().enumerate() {
            let field = format!("{name}[{i}]");
            let err =
                |reason: String| render_error(format!("{}: field '{field}' {reason}", k.file));
            if entry.contains('\n') {
                continue;
            }
            if is_remote(entry) {
                return Err(err(format!(
                    "'{entry}' is remote, which is not supported: vendor it into the repository"
                )));
            }
            let path = fs::join(dir, entry)
                .map_err(|_| err(format!("'{entry}' leaves the root directory")))?;
            match self.fs.kind(&path) {
                Some(FileKind::Dir) => {
                    self.check_cycle(&path, &k.file, &field)?;
                    let Some(sub) = self.load(&path)? else {
                        return Err(err(format!(
                            "directory '{entry}' has no kustomization.yaml, kustomization.yml or Kustomization"
                        )));
                    };
                    for r in self.build(&path, &sub)? {
                        out.push((field.clone(), r.obj.to_value(), r.origin.file.clone()));
                    }
                }
                Some(FileKind::File) => {
                    let (full, text) = self.files().read_text(dir, entry, "file").map_err(err)?;
                    for (v, _) in decode::documents(&full, &text)? {
                        out.push((field.clone(), v, full.clone()));
                    }
                }
                None => return Err(err(format!("'{entry}' not found"))),
            }
        }
        Ok(out)
    }

    /// kustomize's `validators`: transformer configurations run over the objects, which
    /// must come out unchanged. kustomize compares YAML nodes, so a validator that sets a
    /// field fails even when the value is the one the field had: writes are counted.
    fn validate(
        &mut self,
        dir: &str,
        k: &Kustomization,
        acc: &mut Vec<Resource>,
    ) -> Result<(), Error> {
        if k.validators.is_empty() {
            return Ok(());
        }
        for (field, config, _) in self.plugin_configs(dir, k, "validators", &k.validators)? {
            let t = Kustomization::from_plugin(&k.file, &field, &config, PluginRole::Transformer)?;
            let before: Vec<Value> = acc.iter().map(|r| r.obj.to_value()).collect();
            for r in acc.iter_mut() {
                r.writes = 0;
            }
            self.transform(dir, &t, acc, false)?;
            let changed = acc.len() != before.len()
                || acc.iter().any(|r| r.writes > 0)
                || acc.iter().zip(&before).any(|(r, b)| r.obj.to_value() != *b);
            if changed {
                return Err(render_error(format!(
                    "{}: field '{field}' changed the objects: a validator must not modify them, list it under transformers to change them",
                    k.file
                )));
            }
        }
        Ok(())
    }

    fn generate(&self, dir: &str, k: &Kustomization, acc: &mut Vec<Resource>) -> Result<(), Error> {
        self.generate_as(dir, k, acc, None)
    }

    /// Runs the generators of `k`; `plugin` is the file and configuration of the generator
    /// plugin they come from, `None` for the kustomization's own generator fields.
    fn generate_as(
        &self,
        dir: &str,
        k: &Kustomization,
        acc: &mut Vec<Resource>,
        plugin: Option<(&str, &Value)>,
    ) -> Result<(), Error> {
        let all = k
            .config_map_generator
            .iter()
            .enumerate()
            .map(|(i, g)| (format!("configMapGenerator[{i}]"), g, false))
            .chain(
                k.secret_generator
                    .iter()
                    .enumerate()
                    .map(|(i, g)| (format!("secretGenerator[{i}]"), g, true)),
            );
        // Built once and kept up to date: looking up each generated object by scanning every
        // resource made generation quadratic in the size of the tree.
        let mut ids: HashSet<Id> = acc.iter().map(identity).collect();
        for object in &k.generated {
            let obj = crate::Object::from_value(object.clone()).map_err(|e| {
                render_error(format!(
                    "{}: a generator made an invalid object: {e}",
                    k.file
                ))
            })?;
            let mut r = Resource::new(
                obj,
                crate::Origin {
                    file: k.file.clone(),
                    document: 0,
                    line: 1,
                },
            );
            if let (Some(top), Some((from, config))) = (&self.origins, plugin) {
                set_origin(&mut r, plugin_origin(top, from, config));
            }
            append(acc, &mut ids, r)?;
        }
        let mut by_name = core_objects_by_name(acc);
        for (field, g, secret) in all {
            let generated = generator::generate(self.files(), dir, k, g, &field, secret)?;
            let mut new = generated.resource;
            if let Some(top) = &self.origins {
                // A merge keeps the origin of the object it merges into.
                if generated.behavior != Behavior::Merge {
                    let text = match plugin {
                        Some((from, config)) => plugin_origin(top, from, config),
                        None => format!(
                            "configuredIn: {}\nconfiguredBy:\n  apiVersion: builtin\n  kind: {}\n",
                            relative(top, &k.file),
                            if secret {
                                "SecretGenerator"
                            } else {
                                "ConfigMapGenerator"
                            }
                        ),
                    };
                    set_origin(&mut new, text);
                }
            }
            let key = (new.kind().to_string(), new.name().to_string());
            let existing = by_name.get(&key).and_then(|candidates| {
                candidates.iter().copied().find(|&i| {
                    let r = &acc[i];
                    new.namespace().is_empty()
                        || r.namespace() == new.namespace()
                        || r.original_namespace() == new.namespace()
                })
            });
            match (existing, generated.behavior) {
                (None, Behavior::Create) => {
                    append(acc, &mut ids, new)?;
                    by_name.entry(key).or_default().push(acc.len() - 1);
                }
                (None, _) => {
                    return Err(render_error(format!(
                        "{}: field '{field}' cannot merge or replace {} '{}': no such object in the bases",
                        k.file,
                        new.kind(),
                        new.name()
                    )));
                }
                (Some(_), Behavior::Create) => {
                    return Err(render_error(format!(
                        "{}: field '{field}' {} '{}' already exists, set behavior to merge or replace",
                        k.file,
                        new.kind(),
                        new.name()
                    )));
                }
                (Some(i), behavior) => generator::combine(&mut acc[i], new, behavior),
            }
        }
        Ok(())
    }

    /// Runs the transformers of `k` over `acc`, in kustomize's order. With `builtin` set
    /// they are the kustomization's own fields, each recorded as the built-in transformer
    /// kustomize configures for it when transformer annotations are asked for; a plugin's
    /// transformer is recorded by its caller.
    fn transform(
        &self,
        dir: &str,
        k: &Kustomization,
        acc: &mut Vec<Resource>,
        builtin: bool,
    ) -> Result<(), Error> {
        let note = |acc: &mut Vec<Resource>, kind: &str| {
            if builtin && let Some(top) = self.transformations.as_deref() {
                let text = format!(
                    "configuredIn: {}\nconfiguredBy:\n  apiVersion: builtin\n  kind: {kind}\n",
                    relative(top, &k.file)
                );
                note_transformation(acc, &text);
            }
        };
        let config = &self.config;
        let merged = |defaults: &[fieldspec::FieldSpec], extra: &[Spec]| {
            fieldspec::merged(defaults, extra)
                .map_err(|reason| render_error(format!("{}: configurations: {reason}", k.file)))
        };
        let specs = |own: &Option<Vec<Spec>>,
                     defaults: &[fieldspec::FieldSpec],
                     extra: &[Spec]|
         -> Result<Vec<Spec>, Error> {
            match own {
                Some(own) => Ok(own.clone()),
                None => merged(defaults, extra),
            }
        };
        let mut targets = patch::Targets::default();
        patch::strategic_merge_files(self.files(), dir, k, acc, &mut targets)?;
        if !k.patches_strategic_merge.is_empty() {
            note(acc, "PatchStrategicMergeTransformer");
        }
        for (i, p) in k.patches.iter().enumerate() {
            patch::apply(
                self.files(),
                dir,
                k,
                &format!("patches[{i}]"),
                p,
                acc,
                &mut targets,
            )?;
            note(acc, "PatchTransformer");
        }
        if let Some(ns) = &k.namespace {
            let ns_specs = specs(&k.namespace_specs, fieldspec::NAMESPACE, &config.namespace)?;
            transform::namespace(acc, ns, &ns_specs, k.namespace_unset_only, k.subjects);
            note(acc, "NamespaceTransformer");
        }
        transform::prefix_suffix(
            acc,
            &k.name_prefix,
            &k.name_suffix,
            &specs(&k.prefix_specs, fieldspec::NAME, &config.name_prefix)?,
            &specs(&k.suffix_specs, fieldspec::NAME, &config.name_suffix)?,
        );
        if !k.name_prefix.is_empty() {
            note(acc, "PrefixTransformer");
        }
        if !k.name_suffix.is_empty() {
            note(acc, "SuffixTransformer");
        }
        let common = merged(fieldspec::LABELS, &config.common_labels)?;
        transform::set_entries(acc, &common, &k.common_labels);
        transform::labels(
            acc,
            &k.labels,
            &config.labels,
            &config.template_labels,
            &common,
        );
        for _ in 0..k.labels.len() {
            note(acc, "LabelTransformer");
        }
        if !k.labels.is_empty() || !k.common_labels.is_empty() {
            note(acc, "LabelTransformer");
        }
        let annotations = merged(fieldspec::ANNOTATIONS, &config.common_annotations)?;
        transform::set_entries(acc, &annotations, &k.common_annotations);
        if !k.common_annotations.is_empty() {
            note(acc, "AnnotationsTransformer");
        }
        for (entries, specs) in &k.field_sets {
            transform::set_entries(acc, specs, entries);
        }
        for (i, p) in k.patches_json6902.iter().enumerate() {
            let mut targets = patch::Targets::default();
            patch::apply(
                self.files(),
                dir,
                k,
                &format!("patchesJson6902[{i}]"),
                p,
                acc,
                &mut targets,
            )?;
            note(acc, "PatchJson6902Transformer");
        }
        let replica_specs = specs(&k.replica_specs, fieldspec::REPLICAS, &config.replicas)?;
        for (i, entry) in k.replicas.iter().enumerate() {
            transform::replicas(acc, std::slice::from_ref(entry), &replica_specs).map_err(|name| {
                let kinds: Vec<&str> = replica_specs
                    .iter()
                    .map(|s| if s.kind.is_empty() { "any kind" } else { s.kind.as_str() })
                    .collect();
                render_error(format!(
                    "{}: field 'replicas[{i}]' names '{name}', which matches no object of the kinds it applies to ({})",
                    k.file,
                    kinds.join(", ")
                ))
            })?;
            note(acc, "ReplicaCountTransformer");
        }
        let image_specs = specs(&k.image_specs, fieldspec::IMAGES, &config.images)?;
        for image in &k.images {
            transform::images(acc, std::slice::from_ref(image), &image_specs);
            note(acc, "ImageTagTransformer");
        }
        replacement::apply(self.files(), dir, k, acc)?;
        if !k.replacements.is_empty() {
            note(acc, "ReplacementTransformer");
        }
        if k.hash_names {
            for r in acc.iter_mut().filter(|r| r.hash) {
                let name = format!("{}-{}", r.name(), generator::hash(&r.obj));
                r.set_name(name);
            }
        }
        if let Some(add) = &k.value_add {
            let mut add = add.clone();
            if let Some(entry) = &add.target_file {
                let (full, text) =
                    self.files()
                        .read_text(dir, entry, "file")
                        .map_err(|reason| {
                            render_error(format!(
                                "{}: ValueAddTransformer targetFilePath {reason}",
                                k.file
                            ))
                        })?;
                if let Some((value, _)) = decode::documents(&full, &text)?.into_iter().next() {
                    add.targets
                        .extend(kustomization::value_add_targets_file(&full, &value)?);
                }
                if add.targets.is_empty() {
                    return Err(render_error(format!(
                        "{}: ValueAddTransformer must specify at least one target",
                        k.file
                    )));
                }
            }
            let root_name = self.fs.root_name();
            transform::value_add(k, dir, root_name.as_deref(), &add, acc)?;
        }
        Ok(())
    }
}

/// Records a transformer in every object's transformer annotation, as kustomize does after
/// each transformer when `buildMetadata` asks for them: an object without an origin takes
/// the transformer as its origin instead.
pub(crate) fn note_transformation(acc: &mut [Resource], text: &str) {
    let item: String = text
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if i == 0 {
                format!("- {l}\n")
            } else {
                format!("  {l}\n")
            }
        })
        .collect();
    for r in acc.iter_mut() {
        let meta = r.metadata_mut();
        let annotations = meta
            .entry("annotations")
            .or_insert_with(|| Value::Object(serde_json::Map::new()));
        if !annotations.is_object() {
            *annotations = Value::Object(serde_json::Map::new());
        }
        let Value::Object(a) = annotations else {
            continue;
        };
        if !a.contains_key(ORIGIN_ANNOTATION) {
            a.insert(ORIGIN_ANNOTATION.into(), Value::String(text.to_string()));
            continue;
        }
        let mut list = a
            .get(TRANSFORMATIONS_ANNOTATION)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        list.push_str(&item);
        a.insert(TRANSFORMATIONS_ANNOTATION.into(), Value::String(list));
    }
}

/// The origin kustomize records for a plugin configuration `config` read from the file
/// `from`: the file and the configuration's type and name.
pub(crate) fn plugin_origin(top: &str, from: &str, config: &Value) -> String {
    let get = |path: &[&str]| {
        let mut v = config;
        for p in path {
            v = v.get(p).unwrap_or(&Value::Null);
        }
        v.as_str().unwrap_or_default().to_string()
    };
    let mut by = format!(
        "configuredIn: {}\nconfiguredBy:\n  apiVersion: {}\n  kind: {}\n",
        relative(top, from),
        get(&["apiVersion"]),
        get(&["kind"])
    );
    for key in ["name", "namespace"] {
        let value = get(&["metadata", key]);
        if !value.is_empty() {
            by.push_str(&format!("  {key}: {value}\n"));
        }
    }
    by
}

/// An object's identity as kustomize's resource map keys it: group, version, kind, effective
/// namespace and name (two versions of one kind are two objects, as a CRD's samples are).
type Id = (String, String, String, String, String);

/// Positions of the core-group resources by kind and by every name they had (a generator
/// merges into an object by the name it was generated with, before any prefix or suffix).
fn core_objects_by_name(acc: &[Resource]) -> HashMap<(String, String), Vec<usize>> {
    let mut index: HashMap<(String, String), Vec<usize>> = HashMap::new();
    for (i, r) in acc.iter().enumerate().filter(|(_, r)| r.group().is_empty()) {
        for name in std::iter::once(r.name()).chain(r.previous_names.iter().map(String::as_str)) {
            let positions = index
                .entry((r.kind().to_string(), name.to_string()))
                .or_default();
            if positions.last() != Some(&i) {
                positions.push(i);
            }
        }
    }
    index
}

fn identity(r: &Resource) -> Id {
    (
        r.group().into(),
        r.version().into(),
        r.kind().into(),
        r.effective_namespace(r.namespace()),
        r.name().into(),
    )
}

/// Adds a resource, refusing a second object with the same identity; `ids` holds the
/// identities of `acc`.
fn append(acc: &mut Vec<Resource>, ids: &mut HashSet<Id>, r: Resource) -> Result<(), Error> {
    let id = identity(&r);
    if ids.contains(&id)
        && let Some(first) = acc.iter().find(|a| identity(a) == id)
    {
        return Err(Error::DuplicateObject {
            object: r.obj.object_ref(),
            first: first.origin.clone(),
            second: r.origin.clone(),
        });
    }
    ids.insert(id);
    acc.push(r);
    Ok(())
}

/// The annotation kustomize records where an object came from in.
pub(crate) const ORIGIN_ANNOTATION: &str = "config.kubernetes.io/origin";

/// The annotation kustomize lists the transformers that ran over an object in.
pub(crate) const TRANSFORMATIONS_ANNOTATION: &str = "alpha.config.kubernetes.io/transformations";

fn set_origin(r: &mut Resource, text: String) {
    let meta = r.metadata_mut();
    let annotations = meta
        .entry("annotations")
        .or_insert_with(|| Value::Object(serde_json::Map::new()));
    if !annotations.is_object() {
        *annotations = Value::Object(serde_json::Map::new());
    }
    if let Value::Object(a) = annotations {
        a.insert(ORIGIN_ANNOTATION.into(), Value::String(text));
    }
}

/// The path of `path` relative to the directory `dir`, both relative to the root.
fn relative(dir: &str, path: &str) -> String {
    let d: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
    let p: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    let common = d.iter().zip(&p).take_while(|(a, b)| a == b).count();
    let mut out: Vec<&str> = vec![".."; d.len() - common];
    out.extend(&p[common..]);
    out.join("/")
}

fn is_remote(entry: &str) -> bool {
    entry.contains("://")
        || entry.starts_with("git@")
        || entry.starts_with("github.com/")
        || entry.starts_with("gitlab.com/")
        || entry.starts_with("bitbucket.org/")
}

pub(crate) fn display(path: &str) -> &str {
    if path.is_empty() { "." } else { path }
}
