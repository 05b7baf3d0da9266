//! A kustomization file, read into typed fields with every unknown or unsupported field
//! refused by name.

use serde_json::{Map, Value};

use super::fieldspec::Spec;
use super::replacement::{self, Replacement};
use super::transform::Subjects;
use super::vars::Var;
use crate::Error;
use crate::object::Origin;

/// The fields of a kustomization this renderer understands, as read from one file.
#[derive(Clone, Debug, Default)]
pub(crate) struct Kustomization {
    /// The file it was read from, for error messages.
    pub file: String,
    /// `kind: Component`.
    pub component: bool,
    pub resources: Vec<String>,
    pub components: Vec<String>,
    pub namespace: Option<String>,
    pub name_prefix: String,
    pub name_suffix: String,
    pub common_labels: Map<String, Value>,
    pub labels: Vec<LabelSet>,
    pub common_annotations: Map<String, Value>,
    pub images: Vec<Image>,
    pub replicas: Vec<(String, Value)>,
    pub patches: Vec<Patch>,
    pub patches_strategic_merge: Vec<String>,
    pub patches_json6902: Vec<Patch>,
    pub config_map_generator: Vec<Generator>,
    pub secret_generator: Vec<Generator>,
    pub generator_options: GeneratorOptions,
    pub sort: Option<SortOptions>,
    pub replacements: Vec<ReplacementEntry>,
    pub vars: Vec<Var>,
    /// `openapi.path`.
    pub openapi_path: Option<String>,
    /// `openapi.version`.
    pub openapi_version: Option<String>,
    /// `transformers` entries: inline configurations, files or kustomization directories.
    pub transformers: Vec<String>,
    /// `generators` entries, as `transformers`.
    pub generators: Vec<String>,
    /// Entries set at explicit field specifications (a LabelTransformer's or an
    /// AnnotationsTransformer's), after the other labels and annotations.
    pub field_sets: Vec<(Map<String, Value>, Vec<Spec>)>,
    /// A prefix plugin's field specifications, which replace the `namePrefix`
    /// configuration's; `None` for the kustomization's own `namePrefix`.
    pub prefix_specs: Option<Vec<Spec>>,
    /// A suffix plugin's field specifications, as `prefix_specs`.
    pub suffix_specs: Option<Vec<Spec>>,
    /// A NamespaceTransformer's field specifications, as `prefix_specs`.
    pub namespace_specs: Option<Vec<Spec>>,
    /// A NamespaceTransformer's `unsetOnly`: only empty namespace fields are set.
    pub namespace_unset_only: bool,
    /// A NamespaceTransformer's `setRoleBindingSubjects`.
    pub subjects: Subjects,
    /// A ReplicaCountTransformer's field specifications, as `prefix_specs`.
    pub replica_specs: Option<Vec<Spec>>,
    /// An ImageTagTransformer's field specifications, as `prefix_specs`.
    pub image_specs: Option<Vec<Spec>>,
    /// A HashTransformer: generated names get their hash now (and again at the end, as
    /// kustomize gives them).
    pub hash_names: bool,
    /// A ValueAddTransformer's value and targets.
    pub value_add: Option<ValueAdd>,
    /// Objects a generator plugin made whole (IAMPolicyGenerator's service account).
    pub generated: Vec<Value>,
    /// `validators`: transformer configurations that must leave the objects unchanged.
    pub validators: Vec<String>,
    /// `buildMetadata` includes `transformerAnnotations`.
    pub transformer_annotations: bool,
    /// `buildMetadata` includes `originAnnotations`.
    pub origin_annotations: bool,
    /// `buildMetadata` includes `managedByLabel`.
    pub managed_by_label: bool,
    /// `configurations`: transformer configuration files.
    pub configurations: Vec<String>,
    /// `crds`: files of custom resource types whose annotated fields add name references.
    pub crds: Vec<String>,
}

/// What a ValueAddTransformer sets: `value` at each target's field.
#[derive(Clone, Debug, Default)]
pub(crate) struct ValueAdd {
    pub value: String,
    pub targets: Vec<ValueAddTarget>,
    /// `targetFilePath`: a file whose `targets` are added to these.
    pub target_file: Option<String>,
}

/// One target of a ValueAddTransformer.
#[derive(Clone, Debug, Default)]
pub(crate) struct ValueAddTarget {
    /// Which objects; `None` for all.
    pub selector: Option<Selector>,
    /// The field, its parts separated by `/` (`\/` inside a part).
    pub field_path: String,
    /// When positive, the value is inserted as a path segment at this position (1-based) of
    /// the field's file path.
    pub file_path_position: i64,
}

/// What `configurations` files add to kustomize's built-in transformer configuration.
#[derive(Clone, Debug, Default)]
pub(crate) struct TransformerConfig {
    /// `nameReference`: the referral's group and kind, and the field naming it.
    pub name_reference: Vec<(String, String, Spec)>,
    pub var_reference: Vec<Spec>,
    pub images: Vec<Spec>,
    pub common_labels: Vec<Spec>,
    pub common_annotations: Vec<Spec>,
    pub name_prefix: Vec<Spec>,
    pub name_suffix: Vec<Spec>,
    pub namespace: Vec<Spec>,
    pub replicas: Vec<Spec>,
    /// `templateLabels`: where `labels` entries with `includeTemplates` go, too.
    pub template_labels: Vec<Spec>,
    /// `labels`: where every `labels` entry goes, too.
    pub labels: Vec<Spec>,
}

impl TransformerConfig {
    /// Reads a transformer configuration file's first document.
    pub(crate) fn parse(file: &str, value: &Value) -> Result<Self, Error> {
        let r = Reader { file };
        let m = r.map("", value)?;
        let m = &r.known(
            "",
            m,
            &[
                "nameReference",
                "varReference",
                "images",
                "commonLabels",
                "commonAnnotations",
                "namePrefix",
                "nameSuffix",
                "namespace",
                "replicas",
                "templateLabels",
                "labels",
            ],
        )?;
        let mut out = TransformerConfig::default();
        for (key, v) in m {
            let key = key.as_str();
            match key {
                "varReference" => out.var_reference = r.specs(key, Some(v))?,
                "images" => out.images = r.specs(key, Some(v))?,
                "commonLabels" => out.common_labels = r.specs(key, Some(v))?,
                "commonAnnotations" => out.common_annotations = r.specs(key, Some(v))?,
                "namePrefix" => out.name_prefix = r.specs(key, Some(v))?,
                "nameSuffix" => out.name_suffix = r.specs(key, Some(v))?,
                "namespace" => out.namespace = r.specs(key, Some(v))?,
                "replicas" => out.replicas = r.specs(key, Some(v))?,
                "templateLabels" => out.template_labels = r.specs(key, Some(v))?,
                "labels" => out.labels = r.specs(key, Some(v))?,
                "nameReference" => {
                    for (i, item) in r.list(key, v)?.iter().enumerate() {
                        let f = format!("nameReference[{i}]");
                        let nm = lenient(
                            r.map(&f, item)?,
                            &["group", "version", "kind", "fieldSpecs"],
                        );
                        let get = |k: &str| {
                            nm.get(k)
                                .and_then(Value::as_str)
                                .unwrap_or_default()
                                .to_string()
                        };
                        for spec in r.specs(&format!("{f}.fieldSpecs"), nm.get("fieldSpecs"))? {
                            out.name_reference.push((get("group"), get("kind"), spec));
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(out)
    }

    /// What a `crds` file adds: for each type that looks like a Kubernetes kind, its fields
    /// marked `x-kubernetes-object-ref-kind` (name references), `x-kubernetes-annotation`
    /// and `x-kubernetes-label-selector`, found through the types it refers to. The file
    /// maps type names (`example.com/v1.MyKind`) to `{Schema, Dependencies}`.
    pub(crate) fn from_crds(file: &str, value: &Value) -> Result<Self, Error> {
        let r = Reader { file };
        let types = r.map("", value)?;
        let mut out = TransformerConfig::default();
        for name in types.keys() {
            let props = properties(types, name);
            if !["kind", "apiVersion", "metadata"]
                .iter()
                .all(|k| props.is_some_and(|p| p.contains_key(*k)))
            {
                continue;
            }
            let kind = name.rsplit('.').next().unwrap_or(name);
            out.crd_fields(&r, types, kind, name, &mut Vec::new(), 0)?;
        }
        Ok(out)
    }

    fn crd_fields(
        &mut self,
        r: &Reader<'_>,
        types: &Map<String, Value>,
        kind: &str,
        type_name: &str,
        path: &mut Vec<String>,
        depth: usize,
    ) -> Result<(), Error> {
        // Type graphs can refer back to themselves; real ones are shallow.
        if depth > 32 {
            return Ok(());
        }
        let Some(props) = properties(types, type_name) else {
            return Ok(());
        };
        for (prop, schema) in props {
            path.push(prop.clone());
            let spec = |extra: Option<&str>| Spec {
                kind: kind.to_string(),
                path: path
                    .iter()
                    .map(String::as_str)
                    .chain(extra)
                    .collect::<Vec<_>>()
                    .join("/"),
                ..Default::default()
            };
            let ext = |k: &str| schema.get(k).and_then(Value::as_str);
            if ext("x-kubernetes-annotation").is_some() {
                self.common_annotations.push(spec(None));
            }
            if ext("x-kubernetes-label-selector").is_some() {
                self.common_labels.push(spec(None));
            }
            if ext("x-kubernetes-identity").is_some() {
                return Err(r.err(
                    type_name,
                    "marks a field x-kubernetes-identity, which this renderer does not support",
                ));
            }
            if ext("x-kubernetes-object-ref-api-version").is_some()
                && let Some(target) = ext("x-kubernetes-object-ref-kind")
            {
                let key = ext("x-kubernetes-object-ref-name-key").unwrap_or("name");
                self.name_reference
                    .push((String::new(), target.to_string(), spec(Some(key))));
            }
            if let Some(reference) = ext("$ref") {
                self.crd_fields(r, types, kind, reference, path, depth + 1)?;
            }
            path.pop();
        }
        Ok(())
    }

    /// Adds `other`'s entries.
    pub(crate) fn merge(&mut self, other: TransformerConfig) {
        self.name_reference.extend(other.name_reference);
        self.var_reference.extend(other.var_reference);
        self.images.extend(other.images);
        self.common_labels.extend(other.common_labels);
        self.common_annotations.extend(other.common_annotations);
        self.name_prefix.extend(other.name_prefix);
        self.name_suffix.extend(other.name_suffix);
        self.namespace.extend(other.namespace);
        self.replicas.extend(other.replicas);
        self.template_labels.extend(other.template_labels);
        self.labels.extend(other.labels);
    }
}

/// A `replacements` entry: inline, or the path of a file holding one or a list.
#[derive(Clone, Debug)]
pub(crate) enum ReplacementEntry {
    Inline(Replacement),
    Path(String),
}

/// One entry of `labels`.
#[derive(Clone, Debug, Default)]
pub(crate) struct LabelSet {
    pub pairs: Map<String, Value>,
    pub include_selectors: bool,
    pub include_templates: bool,
    /// `fields`: more places for the labels.
    pub fields: Vec<Spec>,
}

/// One entry of `images` (also Flux's `spec.images`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Image {
    /// The image name to match, without tag or digest.
    pub name: String,
    /// The replacement name.
    pub new_name: Option<String>,
    /// The replacement tag.
    pub new_tag: Option<String>,
    /// The replacement digest, e.g. `sha256:...`.
    pub digest: Option<String>,
    /// Appended to the image's tag when neither `new_tag` nor `digest` is set.
    pub tag_suffix: Option<String>,
}

/// One entry of `patches` or `patchesJson6902` (also Flux's `spec.patches`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Patch {
    /// The file holding the patch, relative to the kustomization.
    pub path: Option<String>,
    /// The patch itself, inline.
    pub patch: Option<String>,
    /// Which objects to patch; `None` for a strategic merge patch naming its target.
    pub target: Option<Selector>,
    /// Whether a strategic merge patch may rename its target (`options.allowNameChange`).
    pub allow_name_change: bool,
    /// Whether a strategic merge patch may change its target's kind
    /// (`options.allowKindChange`).
    pub allow_kind_change: bool,
}

/// Which objects a patch applies to. `name` and `namespace` are regular expressions that
/// must match the whole name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selector {
    /// API group, empty for any.
    pub group: String,
    /// API version, empty for any.
    pub version: String,
    /// Kind, empty for any.
    pub kind: String,
    /// Name regular expression, empty for any.
    pub name: String,
    /// Namespace regular expression, empty for any.
    pub namespace: String,
    /// A Kubernetes label selector, empty for any.
    pub label_selector: String,
    /// A Kubernetes label selector over annotations, empty for any.
    pub annotation_selector: String,
}

/// A `configMapGenerator` or `secretGenerator` entry.
#[derive(Clone, Debug, Default)]
pub(crate) struct Generator {
    pub name: String,
    pub namespace: Option<String>,
    pub behavior: Behavior,
    pub files: Vec<String>,
    pub literals: Vec<String>,
    pub envs: Vec<String>,
    pub secret_type: Option<String>,
    pub options: GeneratorOptions,
}

/// How a generator combines with an object of the same name from a base.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Behavior {
    #[default]
    Create,
    Merge,
    Replace,
}

/// `generatorOptions`, or a generator's own `options`.
#[derive(Clone, Debug, Default)]
pub(crate) struct GeneratorOptions {
    pub labels: Map<String, Value>,
    pub annotations: Map<String, Value>,
    pub disable_name_suffix_hash: Option<bool>,
    pub immutable: Option<bool>,
}

/// `sortOptions`.
#[derive(Clone, Debug, Default)]
pub(crate) struct SortOptions {
    pub fifo: bool,
    pub order_first: Option<Vec<String>>,
    pub order_last: Option<Vec<String>>,
}

/// The kustomization fields this renderer reads.
const SUPPORTED: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata",
    "resources",
    "bases",
    "components",
    "namespace",
    "namePrefix",
    "nameSuffix",
    "commonLabels",
    "commonAnnotations",
    "labels",
    "images",
    "replicas",
    "patches",
    "patchesStrategicMerge",
    "replacements",
    "patchesJson6902",
    "configMapGenerator",
    "secretGenerator",
    "generatorOptions",
    "sortOptions",
    "vars",
    "openapi",
    "generators",
    "transformers",
    "buildMetadata",
    "configurations",
    "crds",
    "imageTags",
    "helmGlobals",
    "validators",
];

/// Fields kustomize has that this renderer refuses rather than ignores.
const UNSUPPORTED: &[&str] = &["helmCharts", "helmChartInflationGenerator"];

struct Reader<'a> {
    file: &'a str,
}

impl Reader<'_> {
    fn err(&self, field: &str, reason: impl std::fmt::Display) -> Error {
        Error::Render {
            message: format!("{}: field '{field}' {reason}", self.file),
        }
    }

    fn string(&self, field: &str, v: &Value) -> Result<String, Error> {
        match v {
            Value::String(s) => Ok(s.clone()),
            _ => Err(self.err(field, "must be a string")),
        }
    }

    fn strings(&self, field: &str, v: &Value) -> Result<Vec<String>, Error> {
        match v {
            Value::Null => Ok(Vec::new()),
            Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, item)| self.string(&format!("{field}[{i}]"), item))
                .collect(),
            _ => Err(self.err(field, "must be a list of strings")),
        }
    }

    fn string_map(&self, field: &str, v: &Value) -> Result<Map<String, Value>, Error> {
        match v {
            Value::Null => Ok(Map::new()),
            Value::Object(m) => {
                let mut out = Map::new();
                for (k, v) in m {
                    let s = match v {
                        Value::String(s) => s.clone(),
                        Value::Null => String::new(),
                        _ => {
                            return Err(self.err(&format!("{field}.{k}"), "must be a string"));
                        }
                    };
                    out.insert(k.clone(), Value::String(s));
                }
                Ok(out)
            }
            _ => Err(self.err(field, "must be a map of strings")),
        }
    }

    fn bool(&self, field: &str, v: &Value) -> Result<bool, Error> {
        match v {
            Value::Bool(b) => Ok(*b),
            _ => Err(self.err(field, "must be true or false")),
        }
    }

    fn map<'v>(&self, field: &str, v: &'v Value) -> Result<&'v Map<String, Value>, Error> {
        v.as_object()
            .ok_or_else(|| self.err(field, "must be a map"))
    }

    fn list<'v>(&self, field: &str, v: &'v Value) -> Result<&'v [Value], Error> {
        match v {
            Value::Null => Ok(&[]),
            Value::Array(items) => Ok(items),
            _ => Err(self.err(field, "must be a list")),
        }
    }

    /// Checks that a map has only known keys, and returns it with each key spelled as in
    /// `keys`: kustomize turns the YAML into a JSON object (keys sorted bytewise) and
    /// decodes it with Go's encoding/json, which matches a key to a field exactly or else
    /// case-insensitively, a later key for the same field winning.
    fn known(
        &self,
        field: &str,
        m: &Map<String, Value>,
        keys: &[&str],
    ) -> Result<Map<String, Value>, Error> {
        let mut out = Map::new();
        let mut sorted: Vec<(&String, &Value)> = m.iter().collect();
        sorted.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        for (k, v) in sorted {
            let Some(name) = canonical(k, keys) else {
                let name = if field.is_empty() {
                    k.clone()
                } else {
                    format!("{field}.{k}")
                };
                return Err(self.err(&name, "is not a known kustomization field"));
            };
            out.insert(name.to_string(), v.clone());
        }
        Ok(out)
    }

    fn selector(&self, field: &str, v: &Value) -> Result<Selector, Error> {
        let m = self.map(field, v)?;
        let m = &self.known(
            field,
            m,
            &[
                "group",
                "version",
                "kind",
                "name",
                "namespace",
                "labelSelector",
                "annotationSelector",
            ],
        )?;
        let get = |k: &str| -> Result<String, Error> {
            m.get(k)
                .map(|v| self.string(&format!("{field}.{k}"), v))
                .transpose()
                .map(Option::unwrap_or_default)
        };
        Ok(Selector {
            group: get("group")?,
            version: get("version")?,
            kind: get("kind")?,
            name: get("name")?,
            namespace: get("namespace")?,
            label_selector: get("labelSelector")?,
            annotation_selector: get("annotationSelector")?,
        })
    }

    fn patch(&self, field: &str, v: &Value) -> Result<Patch, Error> {
        let m = self.map(field, v)?;
        let m = &self.known(field, m, &["path", "patch", "target", "options"])?;
        let mut allow = (false, false);
        if let Some(options) = m.get("options").filter(|v| !v.is_null()) {
            let of = format!("{field}.options");
            let o = self.map(&of, options)?;
            let o = &self.known(&of, o, &["allowNameChange", "allowKindChange"])?;
            let flag = |k: &str| {
                o.get(k)
                    .map(|v| self.bool(&format!("{of}.{k}"), v))
                    .transpose()
                    .map(Option::unwrap_or_default)
            };
            allow = (flag("allowNameChange")?, flag("allowKindChange")?);
        }
        let patch = Patch {
            allow_name_change: allow.0,
            allow_kind_change: allow.1,
            path: m
                .get("path")
                .map(|v| self.string(&format!("{field}.path"), v))
                .transpose()?,
            patch: m
                .get("patch")
                .map(|v| self.string(&format!("{field}.patch"), v))
                .transpose()?,
            target: m
                .get("target")
                .filter(|v| !v.is_null())
                .map(|v| self.selector(&format!("{field}.target"), v))
                .transpose()?,
        };
        match (&patch.path, &patch.patch) {
            (Some(_), Some(_)) => Err(self.err(field, "must set only one of path and patch")),
            (None, None) => Err(self.err(field, "must set path or patch")),
            _ => Ok(patch),
        }
    }

    /// A list of field specifications (`fieldSpecs`, `labels[].fields`).
    fn specs(&self, field: &str, v: Option<&Value>) -> Result<Vec<Spec>, Error> {
        let mut out = Vec::new();
        for (i, item) in self
            .list(field, v.unwrap_or(&Value::Null))?
            .iter()
            .enumerate()
        {
            let f = format!("{field}[{i}]");
            let m = lenient(
                self.map(&f, item)?,
                &["group", "version", "kind", "path", "create"],
            );
            let get = |k: &str| -> Result<String, Error> {
                m.get(k)
                    .filter(|v| !v.is_null())
                    .map(|v| self.string(&format!("{f}.{k}"), v))
                    .transpose()
                    .map(Option::unwrap_or_default)
            };
            out.push(Spec {
                group: get("group")?,
                version: get("version")?,
                kind: get("kind")?,
                path: get("path")?,
                create: m
                    .get("create")
                    .map(|v| self.bool(&format!("{f}.create"), v))
                    .transpose()?
                    .unwrap_or_default(),
            });
        }
        Ok(out)
    }

    fn var(&self, field: &str, v: &Value) -> Result<Var, Error> {
        let m = self.map(field, v)?;
        let m = &self.known(field, m, &["name", "objref", "fieldref"])?;
        let name = match m.get("name") {
            Some(v) => self.string(&format!("{field}.name"), v)?,
            None => String::new(),
        };
        if name.is_empty() {
            return Err(self.err(&format!("{field}.name"), "is required"));
        }
        let of = format!("{field}.objref");
        let o = self.map(&of, m.get("objref").unwrap_or(&Value::Null))?;
        let o = &self.known(
            &of,
            o,
            &[
                "apiVersion",
                "group",
                "version",
                "kind",
                "name",
                "namespace",
            ],
        )?;
        let get = |m: &Map<String, Value>, f: &str, k: &str| -> Result<String, Error> {
            m.get(k)
                .filter(|v| !v.is_null())
                .map(|v| self.string(&format!("{f}.{k}"), v))
                .transpose()
                .map(Option::unwrap_or_default)
        };
        let mut group = get(o, &of, "group")?;
        let mut version = get(o, &of, "version")?;
        let api_version = get(o, &of, "apiVersion")?;
        match api_version.split_once('/') {
            _ if api_version.is_empty() => {}
            Some((g, v)) => (group, version) = (g.to_string(), v.to_string()),
            None => version = api_version,
        }
        let mut field_path = String::new();
        if let Some(f) = m.get("fieldref").filter(|v| !v.is_null()) {
            let ff = format!("{field}.fieldref");
            let fm = &self.known(&ff, self.map(&ff, f)?, &["fieldPath"])?;
            field_path = get(fm, &ff, "fieldPath")?;
        }
        if field_path.is_empty() {
            field_path = "metadata.name".into();
        }
        Ok(Var {
            name,
            group,
            version,
            kind: get(o, &of, "kind")?,
            object: get(o, &of, "name")?,
            namespace: get(o, &of, "namespace")?,
            field_path,
        })
    }

    fn replacement_options(
        &self,
        field: &str,
        v: Option<&Value>,
    ) -> Result<replacement::Options, Error> {
        let Some(v) = v.filter(|v| !v.is_null()) else {
            return Ok(replacement::Options::default());
        };
        let m = self.map(field, v)?;
        let m = &self.known(field, m, &["delimiter", "index", "create"])?;
        Ok(replacement::Options {
            delimiter: m
                .get("delimiter")
                .map(|v| self.string(&format!("{field}.delimiter"), v))
                .transpose()?
                .unwrap_or_default(),
            index: match m.get("index") {
                None => 0,
                Some(Value::Number(n)) if n.is_i64() => n.as_i64().unwrap_or_default(),
                Some(_) => return Err(self.err(&format!("{field}.index"), "must be an integer")),
            },
            create: m
                .get("create")
                .map(|v| self.bool(&format!("{field}.create"), v))
                .transpose()?
                .unwrap_or_default(),
        })
    }

    pub(crate) fn replacement(&self, field: &str, v: &Value) -> Result<Replacement, Error> {
        let m = self.map(field, v)?;
        let m = &self.known(field, m, &["source", "targets"])?;
        let sf = format!("{field}.source");
        let src = self.map(&sf, m.get("source").unwrap_or(&Value::Null))?;
        let src = &self.known(
            &sf,
            src,
            &[
                "group",
                "version",
                "kind",
                "name",
                "namespace",
                "fieldPath",
                "options",
            ],
        )?;
        let get = |k: &str| -> Result<String, Error> {
            src.get(k)
                .map(|v| self.string(&format!("{sf}.{k}"), v))
                .transpose()
                .map(Option::unwrap_or_default)
        };
        let source = replacement::Source {
            group: get("group")?,
            version: get("version")?,
            kind: get("kind")?,
            name: get("name")?,
            namespace: get("namespace")?,
            field_path: get("fieldPath")?,
            options: self.replacement_options(&format!("{sf}.options"), src.get("options"))?,
        };
        let mut targets = Vec::new();
        for (i, t) in self
            .list(
                &format!("{field}.targets"),
                m.get("targets").unwrap_or(&Value::Null),
            )?
            .iter()
            .enumerate()
        {
            let tf = format!("{field}.targets[{i}]");
            let tm = self.map(&tf, t)?;
            let tm = &self.known(&tf, tm, &["select", "reject", "fieldPaths", "options"])?;
            let select = match tm.get("select") {
                Some(v) => self.selector(&format!("{tf}.select"), v)?,
                None => return Err(self.err(&format!("{tf}.select"), "is required")),
            };
            let mut reject = Vec::new();
            for (j, r) in self
                .list(
                    &format!("{tf}.reject"),
                    tm.get("reject").unwrap_or(&Value::Null),
                )?
                .iter()
                .enumerate()
            {
                reject.push(self.selector(&format!("{tf}.reject[{j}]"), r)?);
            }
            targets.push(replacement::Target {
                select,
                reject,
                field_paths: tm
                    .get("fieldPaths")
                    .map(|v| self.strings(&format!("{tf}.fieldPaths"), v))
                    .transpose()?
                    .unwrap_or_default(),
                options: self.replacement_options(&format!("{tf}.options"), tm.get("options"))?,
            });
        }
        Ok(Replacement { source, targets })
    }

    fn options(&self, field: &str, v: &Value) -> Result<GeneratorOptions, Error> {
        let m = self.map(field, v)?;
        let m = &self.known(
            field,
            m,
            &[
                "labels",
                "annotations",
                "disableNameSuffixHash",
                "immutable",
            ],
        )?;
        let opt_bool = |k: &str| {
            m.get(k)
                .map(|v| self.bool(&format!("{field}.{k}"), v))
                .transpose()
        };
        Ok(GeneratorOptions {
            labels: m
                .get("labels")
                .map(|v| self.string_map(&format!("{field}.labels"), v))
                .transpose()?
                .unwrap_or_default(),
            annotations: m
                .get("annotations")
                .map(|v| self.string_map(&format!("{field}.annotations"), v))
                .transpose()?
                .unwrap_or_default(),
            disable_name_suffix_hash: opt_bool("disableNameSuffixHash")?,
            immutable: opt_bool("immutable")?,
        })
    }

    fn generator(&self, field: &str, v: &Value, secret: bool) -> Result<Generator, Error> {
        let m = self.map(field, v)?;
        let mut keys = vec![
            "name",
            "namespace",
            "behavior",
            "files",
            "literals",
            "envs",
            "env",
            "options",
        ];
        if secret {
            keys.push("type");
        }
        let m = &self.known(field, m, &keys)?;
        let sub = |k: &str| format!("{field}.{k}");
        let mut envs = m
            .get("envs")
            .map(|v| self.strings(&sub("envs"), v))
            .transpose()?
            .unwrap_or_default();
        if let Some(env) = m.get("env") {
            envs.push(self.string(&sub("env"), env)?);
        }
        let behavior = match m.get("behavior").map(|v| self.string(&sub("behavior"), v)) {
            None => Behavior::Create,
            // kustomize reads any other word as an unspecified behavior, which creates.
            Some(Ok(b)) => match b.as_str() {
                "merge" => Behavior::Merge,
                "replace" => Behavior::Replace,
                _ => Behavior::Create,
            },
            Some(Err(e)) => return Err(e),
        };
        Ok(Generator {
            name: m
                .get("name")
                .map(|v| self.string(&sub("name"), v))
                .transpose()?
                .unwrap_or_default(),
            namespace: m
                .get("namespace")
                .map(|v| self.string(&sub("namespace"), v))
                .transpose()?
                .filter(|s| !s.is_empty()),
            behavior,
            files: m
                .get("files")
                .map(|v| self.strings(&sub("files"), v))
                .transpose()?
                .unwrap_or_default(),
            literals: m
                .get("literals")
                .map(|v| self.strings(&sub("literals"), v))
                .transpose()?
                .unwrap_or_default(),
            envs,
            secret_type: m
                .get("type")
                .map(|v| self.string(&sub("type"), v))
                .transpose()?,
            options: m
                .get("options")
                .filter(|v| !v.is_null())
                .map(|v| self.options(&sub("options"), v))
                .transpose()?
                .unwrap_or_default(),
        })
    }
}

/// Reads a ValueAddTransformer's `targets` list.
fn value_add_targets(r: &Reader<'_>, list: &Value) -> Result<Vec<ValueAddTarget>, Error> {
    let mut targets = Vec::new();
    for (i, t) in r.list("targets", list)?.iter().enumerate() {
        let f = format!("targets[{i}]");
        let tm = lenient(
            r.map(&f, t)?,
            &["selector", "fieldPath", "filePathPosition"],
        );
        let field_path = tm
            .get("fieldPath")
            .map(|v| r.string(&format!("{f}.fieldPath"), v))
            .transpose()?
            .unwrap_or_default();
        if field_path.is_empty() {
            return Err(r.err(&format!("{f}.fieldPath"), "cannot be empty"));
        }
        let file_path_position = match tm.get("filePathPosition") {
            None | Some(Value::Null) => 0,
            Some(Value::Number(n)) if n.is_i64() => n.as_i64().unwrap_or_default(),
            Some(_) => {
                return Err(r.err(&format!("{f}.filePathPosition"), "must be an integer"));
            }
        };
        if file_path_position < 0 {
            return Err(r.err(
                &format!("{f}.filePathPosition"),
                format!("({file_path_position}) cannot be negative"),
            ));
        }
        targets.push(ValueAddTarget {
            selector: tm
                .get("selector")
                .filter(|v| !v.is_null())
                .map(|v| r.selector(&format!("{f}.selector"), v))
                .transpose()?,
            field_path,
            file_path_position,
        });
    }
    Ok(targets)
}

/// Reads the `targets` of a ValueAddTransformer's `targetFilePath` file.
pub(crate) fn value_add_targets_file(
    file: &str,
    value: &Value,
) -> Result<Vec<ValueAddTarget>, Error> {
    let r = Reader { file };
    let m = lenient(r.map("", value)?, &["targets"]);
    value_add_targets(&r, m.get("targets").unwrap_or(&Value::Null))
}

/// Reads the replacements of a `replacements` entry's file: one or a list.
pub(crate) fn replacements_file(
    file: &str,
    field: &str,
    value: &Value,
) -> Result<Vec<Replacement>, Error> {
    let r = Reader { file };
    match value {
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| r.replacement(&format!("{field}[{i}]"), item))
            .collect(),
        other => Ok(vec![r.replacement(field, other)?]),
    }
}

impl Kustomization {
    /// Reads a kustomization file's text.
    pub(crate) fn parse(file: &str, text: &str) -> Result<Self, Error> {
        let origin = Origin {
            file: file.into(),
            document: 0,
            line: 1,
        };
        let value = parse_yaml(text, &origin)?;
        let Value::Object(m) = value else {
            return Err(Error::Render {
                message: format!("{file}: a kustomization must be a YAML map"),
            });
        };
        if m.iter()
            .all(|(key, v)| matches!(key.as_str(), "apiVersion" | "kind") || v.is_null())
        {
            return Err(Error::Render {
                message: format!(
                    "{file}: the kustomization is empty, list resources or other fields"
                ),
            });
        }
        Self::from_map(file, &m)
    }

    /// Reads a kustomization's fields from a map; `file` names it in errors.
    fn from_map(file: &str, m: &Map<String, Value>) -> Result<Self, Error> {
        let r = Reader { file };
        let mut k = Kustomization {
            file: file.into(),
            ..Default::default()
        };
        let mut keys: Vec<&str> = SUPPORTED.to_vec();
        keys.extend_from_slice(UNSUPPORTED);
        let m = r.known("", m, &keys)?;
        let mut bases = Vec::new();
        let mut image_tags = Vec::new();
        for (key, v) in &m {
            let key = key.as_str();
            if UNSUPPORTED.contains(&key) {
                if is_empty(v) {
                    continue;
                }
                return Err(r.err(key, "is not supported by this renderer"));
            }
            match key {
                "apiVersion" => {
                    let s = r.string(key, v)?;
                    if !s.is_empty() && !s.starts_with("kustomize.config.k8s.io/") {
                        return Err(r.err(key, format!("has unknown value '{s}'")));
                    }
                }
                "kind" => {
                    match r.string(key, v)?.as_str() {
                        "" | "Kustomization" => {}
                        "Component" => k.component = true,
                        other => {
                            return Err(r.err(
                            key,
                            format!("has unknown value '{other}', expected Kustomization or Component"),
                        ));
                        }
                    }
                }
                "metadata" => {}
                "resources" => k.resources = r.strings(key, v)?,
                // kustomize appends the legacy bases to the resources, below.
                "bases" => bases = r.strings(key, v)?,
                "components" => k.components = r.strings(key, v)?,
                "namespace" => k.namespace = Some(r.string(key, v)?).filter(|s| !s.is_empty()),
                "namePrefix" => k.name_prefix = r.string(key, v)?,
                "nameSuffix" => k.name_suffix = r.string(key, v)?,
                "commonLabels" => k.common_labels = r.string_map(key, v)?,
                "commonAnnotations" => k.common_annotations = r.string_map(key, v)?,
                "labels" => {
                    for (i, item) in r.list(key, v)?.iter().enumerate() {
                        let f = format!("labels[{i}]");
                        let lm = r.map(&f, item)?;
                        let lm = &r.known(
                            &f,
                            lm,
                            &["pairs", "includeSelectors", "includeTemplates", "fields"],
                        )?;
                        let flag = |name: &str| {
                            lm.get(name)
                                .map(|v| r.bool(&format!("{f}.{name}"), v))
                                .transpose()
                                .map(Option::unwrap_or_default)
                        };
                        k.labels.push(LabelSet {
                            pairs: lm
                                .get("pairs")
                                .map(|v| r.string_map(&format!("{f}.pairs"), v))
                                .transpose()?
                                .unwrap_or_default(),
                            include_selectors: flag("includeSelectors")?,
                            include_templates: flag("includeTemplates")?,
                            fields: r.specs(&format!("{f}.fields"), lm.get("fields"))?,
                        });
                    }
                }
                "images" | "imageTags" => {
                    let mut parsed = Vec::new();
                    for (i, item) in r.list(key, v)?.iter().enumerate() {
                        let f = format!("{key}[{i}]");
                        let im = r.map(&f, item)?;
                        let im = &r.known(
                            &f,
                            im,
                            &["name", "newName", "newTag", "digest", "tagSuffix"],
                        )?;
                        let get = |name: &str| {
                            im.get(name)
                                .map(|v| r.string(&format!("{f}.{name}"), v))
                                .transpose()
                        };
                        parsed.push(Image {
                            name: get("name")?.unwrap_or_default(),
                            new_name: get("newName")?,
                            new_tag: get("newTag")?,
                            digest: get("digest")?,
                            tag_suffix: get("tagSuffix")?,
                        });
                    }
                    // kustomize appends the legacy imageTags to images, below.
                    if key == "images" {
                        k.images = parsed;
                    } else {
                        image_tags = parsed;
                    }
                }
                "helmGlobals" => {
                    // Settings for helmCharts, which are refused: alone they do nothing, as
                    // in kustomize.
                    if !v.is_null() {
                        r.known(key, r.map(key, v)?, &["chartHome", "configHome"])?;
                    }
                }
                "validators" => k.validators = r.strings(key, v)?,
                "replicas" => {
                    for (i, item) in r.list(key, v)?.iter().enumerate() {
                        let f = format!("replicas[{i}]");
                        let rm = r.map(&f, item)?;
                        let rm = &r.known(&f, rm, &["name", "count"])?;
                        let name = rm
                            .get("name")
                            .map(|v| r.string(&format!("{f}.name"), v))
                            .transpose()?
                            .unwrap_or_default();
                        let count = match rm.get("count") {
                            Some(Value::Number(n)) if n.is_i64() => Value::Number(n.clone()),
                            None => Value::from(0),
                            _ => return Err(r.err(&format!("{f}.count"), "must be an integer")),
                        };
                        k.replicas.push((name, count));
                    }
                }
                "patches" => {
                    for (i, item) in r.list(key, v)?.iter().enumerate() {
                        k.patches.push(r.patch(&format!("patches[{i}]"), item)?);
                    }
                }
                "patchesStrategicMerge" => k.patches_strategic_merge = r.strings(key, v)?,
                "replacements" => {
                    for (i, item) in r.list(key, v)?.iter().enumerate() {
                        let f = format!("replacements[{i}]");
                        let entry = match item.get("path") {
                            Some(path) => {
                                r.known(&f, r.map(&f, item)?, &["path"])?;
                                ReplacementEntry::Path(r.string(&format!("{f}.path"), path)?)
                            }
                            None => ReplacementEntry::Inline(r.replacement(&f, item)?),
                        };
                        k.replacements.push(entry);
                    }
                }
                "patchesJson6902" => {
                    for (i, item) in r.list(key, v)?.iter().enumerate() {
                        let f = format!("patchesJson6902[{i}]");
                        let p = r.patch(&f, item)?;
                        if p.target.is_none() {
                            return Err(r.err(&format!("{f}.target"), "is required"));
                        }
                        k.patches_json6902.push(p);
                    }
                }
                "configMapGenerator" => {
                    for (i, item) in r.list(key, v)?.iter().enumerate() {
                        k.config_map_generator.push(r.generator(
                            &format!("configMapGenerator[{i}]"),
                            item,
                            false,
                        )?);
                    }
                }
                "secretGenerator" => {
                    for (i, item) in r.list(key, v)?.iter().enumerate() {
                        k.secret_generator.push(r.generator(
                            &format!("secretGenerator[{i}]"),
                            item,
                            true,
                        )?);
                    }
                }
                "generatorOptions" => {
                    if !v.is_null() {
                        k.generator_options = r.options(key, v)?;
                    }
                }
                "buildMetadata" => {
                    for (i, item) in r.strings(key, v)?.into_iter().enumerate() {
                        match item.as_str() {
                            "originAnnotations" => k.origin_annotations = true,
                            "managedByLabel" => k.managed_by_label = true,
                            "transformerAnnotations" => k.transformer_annotations = true,
                            other => {
                                return Err(r.err(
                                    &format!("buildMetadata[{i}]"),
                                    format!("has unknown value '{other}', expected originAnnotations, transformerAnnotations or managedByLabel"),
                                ));
                            }
                        }
                    }
                }
                "transformers" => k.transformers = r.strings(key, v)?,
                "configurations" => k.configurations = r.strings(key, v)?,
                "crds" => k.crds = r.strings(key, v)?,
                "generators" => k.generators = r.strings(key, v)?,
                "openapi" => {
                    let om = r.string_map(key, v)?;
                    let get = |name: &str| om.get(name).and_then(Value::as_str).map(str::to_string);
                    k.openapi_path = get("path");
                    k.openapi_version = get("version");
                }
                "vars" => {
                    for (i, item) in r.list(key, v)?.iter().enumerate() {
                        k.vars.push(r.var(&format!("vars[{i}]"), item)?);
                    }
                }
                "sortOptions" => {
                    let sm = r.map(key, v)?;
                    let sm = &r.known(key, sm, &["order", "legacySortOptions"])?;
                    let mut sort = SortOptions::default();
                    match sm
                        .get("order")
                        .map(|v| r.string("sortOptions.order", v))
                        .transpose()?
                        .as_deref()
                    {
                        Some("fifo") => sort.fifo = true,
                        Some("legacy") => {}
                        _ => {
                            return Err(r.err("sortOptions.order", "must be one of [fifo, legacy]"));
                        }
                    }
                    if sort.fifo && sm.contains_key("legacySortOptions") {
                        return Err(r.err(
                            "sortOptions.legacySortOptions",
                            "is set but the selected sort order is 'fifo', not 'legacy'",
                        ));
                    }
                    if let Some(l) = sm.get("legacySortOptions") {
                        let lm = r.map("sortOptions.legacySortOptions", l)?;
                        let lm = &r.known(
                            "sortOptions.legacySortOptions",
                            lm,
                            &["orderFirst", "orderLast"],
                        )?;
                        sort.order_first = lm
                            .get("orderFirst")
                            .map(|v| r.strings("sortOptions.legacySortOptions.orderFirst", v))
                            .transpose()?;
                        sort.order_last = lm
                            .get("orderLast")
                            .map(|v| r.strings("sortOptions.legacySortOptions.orderLast", v))
                            .transpose()?;
                    }
                    k.sort = Some(sort);
                }
                other => return Err(r.err(other, "is not a known kustomization field")),
            }
        }
        k.resources.extend(bases);
        k.images.extend(image_tags);
        Ok(k)
    }
}

/// The `Schema.properties` of a type of a `crds` file.
fn properties<'v>(types: &'v Map<String, Value>, name: &str) -> Option<&'v Map<String, Value>> {
    types
        .get(name)?
        .get("Schema")?
        .get("properties")?
        .as_object()
}

/// The entries of `m` whose keys match `keys` (as [`Reader::known`] matches them), spelled
/// as in `keys`; others are dropped, as kustomize's non-strict decoding of a plugin's
/// configuration ignores them.
/// The text a scalar gets in a string field of a plugin configuration: kustomize reads
/// those with sigs.k8s.io/yaml, which turns a number, a boolean or a null into a string
/// where the field is one (`area: 51` is `"51"`, `0x1F` is `"31"`, `1.50` is `"1.5"`, a null
/// is empty), where a kustomization's own string fields refuse them. `None` for a string
/// or a collection.
fn go_string_field(v: &Value) -> Option<String> {
    match v {
        Value::Null => Some(String::new()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) if n.is_f64() => n.as_f64().map(go_float32_g),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Go's `strconv.FormatFloat(f, 'g', -1, 32)`: the shortest text of the float32 value,
/// in exponent form (`1.5e+07`) below 1e-4 and from 1e6 on.
fn go_float32_g(f: f64) -> String {
    // The precision of a float32 is what sigs.k8s.io/yaml prints.
    #[allow(clippy::cast_possible_truncation)]
    let f = f as f32;
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    let a = f.abs();
    if a == 0.0 || (1e-4..1e6).contains(&a) {
        return format!("{f}");
    }
    let e = format!("{f:e}");
    match e.split_once('e') {
        Some((m, x)) => {
            let (sign, digits) = match x.strip_prefix('-') {
                Some(d) => ('-', d),
                None => ('+', x),
            };
            format!("{m}e{sign}{digits:0>2}")
        }
        None => e,
    }
}

fn lenient(m: &Map<String, Value>, keys: &[&str]) -> Map<String, Value> {
    let mut sorted: Vec<(&String, &Value)> = m.iter().collect();
    sorted.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut out = Map::new();
    for (k, v) in sorted {
        if let Some(name) = canonical(k, keys) {
            out.insert(name.to_string(), v.clone());
        }
    }
    out
}

/// The spelling in `keys` of `key`: itself, or else the first that equals it ignoring case
/// (Go's encoding/json uses Unicode case folding; kustomization fields are ASCII).
fn canonical<'k>(key: &str, keys: &[&'k str]) -> Option<&'k str> {
    keys.iter()
        .find(|k| **k == key)
        .or_else(|| keys.iter().find(|k| k.eq_ignore_ascii_case(key)))
        .copied()
}

/// Which kustomization field a plugin configuration is listed under.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PluginRole {
    Generator,
    Transformer,
}

impl Kustomization {
    /// The kustomization that does what the built-in plugin configuration `config` does;
    /// `file` and `field` name where it was listed. kustomize's plugins other than its
    /// built-in ones (exec, Go, containers), and the built-in ones kubectl cannot load from
    /// a kustomization, are refused.
    pub(crate) fn from_plugin(
        file: &str,
        field: &str,
        config: &Value,
        role: PluginRole,
    ) -> Result<Self, Error> {
        let err = |reason: String| Error::Render {
            message: format!("{file}: field '{field}' {reason}"),
        };
        let Some(m) = config.as_object() else {
            return Err(err("must hold plugin configurations (maps)".into()));
        };
        let text = |m: &Map<String, Value>, key: &str| {
            m.get(key)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let (api_version, kind) = (text(m, "apiVersion"), text(m, "kind"));
        if api_version != "builtin" {
            return Err(err(format!(
                "names the plugin {api_version}/{kind}: only kustomize's built-in plugins (apiVersion: builtin) are supported, exec, Go and container plugins are not"
            )));
        }
        let meta = m
            .get("metadata")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        // kustomize's generator kinds; every other built-in kind is a transformer.
        let generator = matches!(
            kind.as_str(),
            "ConfigMapGenerator"
                | "SecretGenerator"
                | "IAMPolicyGenerator"
                | "HelmChartInflationGenerator"
        );
        match (role, generator) {
            (PluginRole::Transformer, true) => {
                return Err(err(format!(
                    "names the generator {kind}, list it under generators"
                )));
            }
            (PluginRole::Generator, false) => {
                return Err(err(format!("names {kind}, which is not a generator")));
            }
            _ => {}
        }
        let label = format!("{file} ({field}: {kind})");
        let r = Reader { file: &label };
        let mut fields = Map::new();
        let done = |mut k: Kustomization| {
            k.file = file.into();
            Ok(k)
        };
        match kind.as_str() {
            "ConfigMapGenerator" | "SecretGenerator" => {
                let secret = kind == "SecretGenerator";
                let mut keys = vec!["behavior", "files", "literals", "envs", "env", "options"];
                if secret {
                    keys.push("type");
                }
                keys.extend(["name", "namespace"]);
                let mut g = lenient(m, &keys);
                // The generated object's name and namespace, else the configuration's own.
                for key in ["name", "namespace"] {
                    if g.get(key).and_then(Value::as_str).is_none_or(str::is_empty)
                        && let Some(v) = meta.get(key)
                    {
                        g.insert(key.into(), v.clone());
                    }
                }
                let key = if secret {
                    "secretGenerator"
                } else {
                    "configMapGenerator"
                };
                fields.insert(key.into(), Value::Array(vec![Value::Object(g)]));
            }
            "PatchTransformer" => {
                let p = lenient(m, &["path", "patch", "target", "options"]);
                fields.insert("patches".into(), Value::Array(vec![Value::Object(p)]));
            }
            "PatchStrategicMergeTransformer" => {
                let p = lenient(m, &["paths", "patches"]);
                let mut entries = r.strings("paths", p.get("paths").unwrap_or(&Value::Null))?;
                if let Some(patches) = p.get("patches").filter(|v| !v.is_null()) {
                    let text = r.string("patches", patches)?;
                    // An inline patch, however short, is not a file name.
                    entries.push(if text.contains('\n') {
                        text
                    } else {
                        format!("{text}\n")
                    });
                }
                fields.insert(
                    "patchesStrategicMerge".into(),
                    Value::Array(entries.into_iter().map(Value::String).collect()),
                );
            }
            "PatchJson6902Transformer" => {
                let mut p = lenient(m, &["target", "path", "jsonOp"]);
                if let Some(op) = p.remove("jsonOp") {
                    p.insert("patch".into(), op);
                }
                fields.insert(
                    "patchesJson6902".into(),
                    Value::Array(vec![Value::Object(p)]),
                );
            }
            "ReplacementTransformer" => {
                let p = lenient(m, &["replacements"]);
                fields.insert(
                    "replacements".into(),
                    p.get("replacements").cloned().unwrap_or(Value::Null),
                );
            }
            "NamespaceTransformer" => {
                let p = lenient(m, &["fieldSpecs", "unsetOnly", "setRoleBindingSubjects"]);
                let specs = r.specs("fieldSpecs", p.get("fieldSpecs"))?;
                let subjects = match p.get("setRoleBindingSubjects").and_then(Value::as_str) {
                    None | Some("" | "defaultOnly") => Subjects::DefaultOnly,
                    Some("allServiceAccounts") => Subjects::AllServiceAccounts,
                    Some("none") => Subjects::None,
                    Some(other) => {
                        return Err(err(format!(
                            "has setRoleBindingSubjects '{other}', expected defaultOnly, none or allServiceAccounts"
                        )));
                    }
                };
                fields.insert("namespace".into(), Value::String(text(&meta, "namespace")));
                let mut k = Self::from_map(&label, &fields)?;
                k.namespace_unset_only = p
                    .get("unsetOnly")
                    .map(|v| r.bool("unsetOnly", v))
                    .transpose()?
                    .unwrap_or_default();
                k.namespace_specs = Some(specs);
                k.subjects = subjects;
                return done(k);
            }
            "PrefixSuffixTransformer" | "PrefixTransformer" | "SuffixTransformer" => {
                let mut keys = vec!["fieldSpecs"];
                if kind != "SuffixTransformer" {
                    keys.push("prefix");
                }
                if kind != "PrefixTransformer" {
                    keys.push("suffix");
                }
                let p = lenient(m, &keys);
                let specs = r.specs("fieldSpecs", p.get("fieldSpecs"))?;
                for (from, to) in [("prefix", "namePrefix"), ("suffix", "nameSuffix")] {
                    if let Some(v) = p.get(from) {
                        fields.insert(to.into(), v.clone());
                    }
                }
                let mut k = Self::from_map(&label, &fields)?;
                k.prefix_specs = Some(specs.clone());
                k.suffix_specs = Some(specs);
                return done(k);
            }
            "LabelTransformer" | "AnnotationsTransformer" => {
                let key = if kind == "LabelTransformer" {
                    "labels"
                } else {
                    "annotations"
                };
                let mut p = lenient(m, &[key, "fieldSpecs"]);
                if let Some(Value::Object(pairs)) = p.get_mut(key) {
                    for v in pairs.values_mut() {
                        if let Some(text) = go_string_field(v) {
                            *v = Value::String(text);
                        }
                    }
                }
                let entries = r.string_map(key, p.get(key).unwrap_or(&Value::Null))?;
                let specs = r.specs("fieldSpecs", p.get("fieldSpecs"))?;
                return Ok(Kustomization {
                    file: file.into(),
                    field_sets: vec![(entries, specs)],
                    ..Default::default()
                });
            }
            "ImageTagTransformer" => {
                let p = lenient(m, &["imageTag", "fieldSpecs"]);
                let specs = r.specs("fieldSpecs", p.get("fieldSpecs"))?;
                fields.insert(
                    "images".into(),
                    Value::Array(vec![p.get("imageTag").cloned().unwrap_or(Value::Null)]),
                );
                let mut k = Self::from_map(&label, &fields)?;
                k.image_specs = Some(specs);
                return done(k);
            }
            "ReplicaCountTransformer" => {
                let p = lenient(m, &["replica", "fieldSpecs"]);
                let specs = r.specs("fieldSpecs", p.get("fieldSpecs"))?;
                fields.insert(
                    "replicas".into(),
                    Value::Array(vec![p.get("replica").cloned().unwrap_or(Value::Null)]),
                );
                let mut k = Self::from_map(&label, &fields)?;
                k.replica_specs = Some(specs);
                return done(k);
            }
            "HashTransformer" => {
                return done(Kustomization {
                    hash_names: true,
                    ..Default::default()
                });
            }
            "ValueAddTransformer" => {
                let p = lenient(m, &["value", "targets", "targetFilePath"]);
                let value = p
                    .get("value")
                    .map(|v| r.string("value", v))
                    .transpose()?
                    .unwrap_or_default()
                    .trim()
                    .to_string();
                let target_file = p
                    .get("targetFilePath")
                    .filter(|v| !v.is_null())
                    .map(|v| r.string("targetFilePath", v))
                    .transpose()?
                    .filter(|s| !s.is_empty());
                let targets = value_add_targets(&r, p.get("targets").unwrap_or(&Value::Null))?;
                if targets.is_empty() && target_file.is_none() {
                    return Err(err("must specify at least one target".into()));
                }
                return done(Kustomization {
                    value_add: Some(ValueAdd {
                        value,
                        targets,
                        target_file,
                    }),
                    ..Default::default()
                });
            }
            "IAMPolicyGenerator" => {
                let p = lenient(m, &["cloud", "kubernetesService", "serviceAccount"]);
                let cloud = p
                    .get("cloud")
                    .map(|v| r.string("cloud", v))
                    .transpose()?
                    .unwrap_or_default();
                if cloud != "gke" {
                    return Err(err(format!("cloud provider {cloud} not supported yet")));
                }
                let part = |outer: &str, keys: &[&str]| -> Result<Map<String, Value>, Error> {
                    let v = p.get(outer).unwrap_or(&Value::Null);
                    if v.is_null() {
                        return Ok(Map::new());
                    }
                    Ok(lenient(r.map(outer, v)?, keys))
                };
                let service = part("kubernetesService", &["name", "namespace"])?;
                let account = part("serviceAccount", &["name", "projectId"])?;
                let get = |m: &Map<String, Value>, f: &str, k: &str| -> Result<String, Error> {
                    m.get(k)
                        .filter(|v| !v.is_null())
                        .map(|v| r.string(&format!("{f}.{k}"), v))
                        .transpose()
                        .map(Option::unwrap_or_default)
                };
                let mut metadata = Map::new();
                metadata.insert(
                    "annotations".into(),
                    Value::Object(
                        [(
                            "iam.gke.io/gcp-service-account".to_string(),
                            Value::String(format!(
                                "{}@{}.iam.gserviceaccount.com",
                                get(&account, "serviceAccount", "name")?,
                                get(&account, "serviceAccount", "projectId")?
                            )),
                        )]
                        .into_iter()
                        .collect(),
                    ),
                );
                metadata.insert(
                    "name".into(),
                    Value::String(get(&service, "kubernetesService", "name")?),
                );
                let namespace = get(&service, "kubernetesService", "namespace")?;
                if !namespace.is_empty() {
                    metadata.insert("namespace".into(), Value::String(namespace));
                }
                let account: Map<String, Value> = [
                    ("apiVersion".to_string(), Value::String("v1".into())),
                    ("kind".to_string(), Value::String("ServiceAccount".into())),
                    ("metadata".to_string(), Value::Object(metadata)),
                ]
                .into_iter()
                .collect();
                return done(Kustomization {
                    generated: vec![Value::Object(account)],
                    ..Default::default()
                });
            }
            "HelmChartInflationGenerator" => {
                return Err(err(
                    "names HelmChartInflationGenerator: Helm charts are not supported by this renderer, render the chart and list its files under resources".into(),
                ));
            }
            "SortOrderTransformer" | "LegacyOrderTransformer" => {
                return Err(err(format!(
                    "names the built-in plugin {kind}, which kubectl kustomize does not load from a kustomization"
                )));
            }
            other => {
                return Err(err(format!(
                    "names '{other}', which is not a built-in plugin"
                )));
            }
        }
        done(Self::from_map(&label, &fields)?)
    }
}

/// Parses a kustomization as kustomize does, with YAML 1.1 scalars: `yes`, `no`, `on`,
/// `off`, `y` and `n` are booleans, so `namespace: n` is an error, not the namespace "n".
fn parse_yaml(text: &str, origin: &Origin) -> Result<Value, Error> {
    if text
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
    {
        return Ok(Value::Object(Map::new()));
    }
    let mut options = serde_saphyr::Options::default();
    // kustomize reads a kustomization with a YAML library that keeps a repeated key's
    // last value.
    options.duplicate_keys = serde_saphyr::DuplicateKeyPolicy::LastWins;
    options.strict_booleans = false;
    options.emit_comments = false;
    let value: Value =
        serde_saphyr::from_str_with_options(text, options).map_err(|e| Error::Yaml {
            origin: origin.clone(),
            message: crate::manifests::describe_error(&e, origin.line),
        })?;
    Ok(if value.is_null() {
        Value::Object(Map::new())
    } else {
        value
    })
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        Value::Object(m) => m.is_empty(),
        Value::String(s) => s.is_empty(),
        _ => false,
    }
}
