//! The CustomResourceDefinitions of GitRepository and Kustomization, generated from the
//! types of [`crate::api`].
//!
//! The names, printer columns and version flags come from each type's `#[kube(...)]`
//! attributes; the schemas come from its `schemars` derive (field names, optionality,
//! patterns, lengths, enums, defaults and CEL rules written as attributes next to the fields)
//! and are then made structural, as the API server requires: no `null` types, every subschema
//! inline. The envelope (`apiVersion`, `kind`, `metadata`, `status` defaulting to
//! `observedGeneration: -1`) is added here because it is the same for every Flux kind.
//!
//! The generated YAML is checked in under `controllers/config/crd/` (see [`CRD_DIR`]);
//! `gitops crds --out-dir controllers/config/crd` regenerates it, and a test fails when the
//! files and the types drift apart.
//!
//! ```
//! let crds = gitops_controllers::api::crd::crds().unwrap();
//! let names: Vec<_> = crds.iter().map(|c| c.metadata.name.clone().unwrap()).collect();
//! assert_eq!(names, ["gitrepositories.source.toolkit.fluxcd.io", "kustomizations.kustomize.toolkit.fluxcd.io"]);
//! assert_eq!(crds[0].spec.versions.iter().map(|v| v.name.as_str()).collect::<Vec<_>>(), ["v1", "v1beta2"]);
//! ```

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceDefinition, JSONSchemaProps,
};
use kube::CustomResourceExt;
use kube::core::crd::merge_crds;
use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use serde_json::{Map, Value, json};

use super::{kustomize_v1, source_v1, v1beta2};

/// Where the generated CRDs are checked in, relative to the repository root.
pub const CRD_DIR: &str = "controllers/config/crd";

/// Flux's CRD annotation that keeps a Kustomization's `postBuild` substitution away from the
/// CRD itself (its descriptions contain `${var}` examples).
const SUBSTITUTE_ANNOTATION: (&str, &str) = ("kustomize.toolkit.fluxcd.io/substitute", "disabled");

/// Generating a CRD failed: a schema that is not valid `JSONSchemaProps`, or versions that
/// do not merge. Either is a bug in the types, not in user input.
#[derive(Debug, thiserror::Error)]
pub enum CrdError {
    /// A generated schema does not deserialise as `JSONSchemaProps`.
    #[error("the generated schema of {kind} {version} is not a valid CRD schema: {source}")]
    Schema {
        /// The kind.
        kind: &'static str,
        /// The version.
        version: &'static str,
        /// What serde reported.
        #[source]
        source: serde_json::Error,
    },
    /// The versions of a kind disagree on group, kind or scope.
    #[error("the versions of {kind} do not merge into one CRD: {source}")]
    Merge {
        /// The kind.
        kind: &'static str,
        /// What kube reported.
        #[source]
        source: kube::core::crd::MergeError,
    },
}

/// Both CRDs: GitRepository, then Kustomization.
pub fn crds() -> Result<Vec<CustomResourceDefinition>, CrdError> {
    Ok(vec![git_repository()?, kustomization()?])
}

/// The GitRepository CRD: `v1` (storage) and `v1beta2` (deprecated).
pub fn git_repository() -> Result<CustomResourceDefinition, CrdError> {
    let v1 = with_schema::<
        source_v1::GitRepository,
        source_v1::GitRepositorySpec,
        source_v1::GitRepositoryStatus,
    >("GitRepository", "v1")?;
    let beta = with_schema::<
        v1beta2::GitRepository,
        v1beta2::GitRepositorySpec,
        v1beta2::GitRepositoryStatus,
    >("GitRepository", "v1beta2")?;
    merge("GitRepository", v1, beta)
}

/// The Kustomization CRD: `v1` (storage) and `v1beta2` (deprecated).
pub fn kustomization() -> Result<CustomResourceDefinition, CrdError> {
    let v1 = with_schema::<
        kustomize_v1::Kustomization,
        kustomize_v1::KustomizationSpec,
        kustomize_v1::KustomizationStatus,
    >("Kustomization", "v1")?;
    let beta = with_schema::<
        v1beta2::Kustomization,
        v1beta2::KustomizationSpec,
        v1beta2::KustomizationStatus,
    >("Kustomization", "v1beta2")?;
    merge("Kustomization", v1, beta)
}

/// The file name of a CRD under [`CRD_DIR`], as Flux names its own: `<group>_<plural>.yaml`.
pub fn file_name(crd: &CustomResourceDefinition) -> String {
    format!("{}_{}.yaml", crd.spec.group, crd.spec.names.plural)
}

/// A CRD as YAML in kubectl's layout (sorted keys), starting with `---` as Flux's files do.
pub fn to_yaml(crd: &CustomResourceDefinition) -> String {
    let value = serde_json::to_value(crd).unwrap_or(Value::Null);
    format!("---\n{}", gitops_core::yaml::value_to_string(&value))
}

/// Every generated CRD with its file name under [`CRD_DIR`].
pub fn files() -> Result<Vec<(String, String)>, CrdError> {
    Ok(crds()?.iter().map(|c| (file_name(c), to_yaml(c))).collect())
}

fn merge(
    kind: &'static str,
    v1: CustomResourceDefinition,
    beta: CustomResourceDefinition,
) -> Result<CustomResourceDefinition, CrdError> {
    let mut crd =
        merge_crds(vec![v1, beta], "v1").map_err(|source| CrdError::Merge { kind, source })?;
    crd.spec.names.list_kind = Some(format!("{kind}List"));
    let (key, value) = SUBSTITUTE_ANNOTATION;
    crd.metadata
        .annotations
        .get_or_insert_default()
        .insert(key.into(), value.into());
    Ok(crd)
}

/// The CRD of one version of `K`, with the schema of its `Spec` and `Status`.
fn with_schema<K, Spec, Status>(
    kind: &'static str,
    version: &'static str,
) -> Result<CustomResourceDefinition, CrdError>
where
    K: CustomResourceExt,
    Spec: JsonSchema,
    Status: JsonSchema,
{
    let mut crd = K::crd();
    let mut status = schema_of::<Status>();
    if let Value::Object(map) = &mut status {
        map.insert("default".into(), json!({"observedGeneration": -1}));
    }
    let root = json!({
        "description": format!("{kind} is a Flux {kind} ({version}), served by the gitops controllers."),
        "properties": {
            "apiVersion": {
                "description": "The versioned schema of this representation of the object.",
                "type": "string",
            },
            "kind": {
                "description": "The REST resource this object represents, in CamelCase.",
                "type": "string",
            },
            "metadata": {"type": "object"},
            "spec": schema_of::<Spec>(),
            "status": status,
        },
        "type": "object",
    });
    let props: JSONSchemaProps =
        serde_json::from_value(root).map_err(|source| CrdError::Schema {
            kind,
            version,
            source,
        })?;
    for v in &mut crd.spec.versions {
        v.schema.get_or_insert_default().open_api_v3_schema = Some(props.clone());
    }
    Ok(crd)
}

/// The structural schema of `T`: every subschema inline, no `$schema`, no titles, and no
/// `null` in types (an unset optional field is simply absent, as in Go's `omitempty`).
pub fn schema_of<T: JsonSchema>() -> Value {
    let generator = SchemaSettings::draft2020_12()
        .with(|s| {
            s.inline_subschemas = true;
            s.meta_schema = None;
        })
        .into_generator();
    let mut value = generator.into_root_schema_for::<T>().to_value();
    structural(&mut value);
    value
}

/// Rewrites a JSON Schema in place into the structural subset CRDs accept.
fn structural(value: &mut Value) {
    let Value::Object(map) = value else {
        return;
    };
    for key in ["$schema", "title", "$defs", "definitions"] {
        map.remove(key);
    }
    drop_null_type(map);
    // `Option<T>` of an object or array: `anyOf: [T, {type: null}]`.
    if let Some(Value::Array(any)) = map.get("anyOf")
        && any.len() == 2
        && let Some(pos) = any
            .iter()
            .position(|s| s.get("type") == Some(&json!("null")))
    {
        let mut inner = any[1 - pos].clone();
        map.remove("anyOf");
        if let Value::Object(inner_map) = &mut inner {
            // The field's own keywords (its description, extensions) win over the type's.
            for (k, v) in std::mem::take(map) {
                inner_map.insert(k, v);
            }
            *map = std::mem::take(inner_map);
        }
        drop_null_type(map);
    }
    if map.get("default") == Some(&Value::Null) {
        map.remove("default");
    }
    if let Some(Value::Object(props)) = map.get_mut("properties") {
        for prop in props.values_mut() {
            structural(prop);
        }
    }
    for key in ["items", "additionalProperties"] {
        if let Some(sub) = map.get_mut(key) {
            structural(sub);
        }
    }
    // `Value` fields: schemars says "anything" with an empty schema; the extension is
    // already on the field.
    if map.get("additionalProperties") == Some(&Value::Bool(true)) {
        map.remove("additionalProperties");
    }
}

fn drop_null_type(map: &mut Map<String, Value>) {
    if let Some(Value::Array(types)) = map.get_mut("type") {
        types.retain(|t| t != "null");
        if types.len() == 1 {
            let only = types.remove(0);
            map.insert("type".into(), only);
        }
    }
}
