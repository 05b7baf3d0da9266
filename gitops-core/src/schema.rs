//! The structure of the built-in Kubernetes kinds: which fields exist, which lists are keyed
//! by which fields, which maps are atomic, and the defaults the API server's schema declares.
//!
//! The data is the API server's own OpenAPI v3 documents for the built-in group versions
//! (stripped to types, `$ref`, defaults and the `x-kubernetes-*` extensions), embedded in the
//! crate and parsed once, on first use. A [`Node`] is a position in that type graph with
//! `$ref` and `allOf` already followed; navigating from one node to the next is a few map
//! lookups and never copies schema data, so it is cheap enough to do per field of every
//! object compared, patched or applied.
//!
//! Custom resources are not in the built-in schema: [`Schema::builtin`]'s [`Schema::root`]
//! answers `None` for them, and callers fall back to treating their lists as atomic. A schema
//! that also knows custom resources is built from their CustomResourceDefinitions
//! ([`Schema::extended`], [`Schema::add_crd`]): its `root` for a custom kind is the CRD's
//! structural `openAPIV3Schema` for that version, navigated like any other (a single CRD
//! schema can also be navigated with [`Node::from_schema`]). Callers that compare, merge or
//! apply objects take the schema as a value, so custom resources follow their own list types
//! (`x-kubernetes-list-type`, `x-kubernetes-list-map-keys`).
//!
//! ```
//! use gitops_core::schema::{ListKind, Schema};
//!
//! let deployment = Schema::builtin().root("apps/v1", "Deployment").unwrap();
//! let containers = deployment
//!     .field("spec")
//!     .and_then(|n| n.field("template"))
//!     .and_then(|n| n.field("spec"))
//!     .and_then(|n| n.field("containers"))
//!     .unwrap();
//! assert_eq!(containers.list(), ListKind::Map(vec!["name".to_string()]));
//! assert_eq!(containers.merge_key(), Some("name"));
//! assert!(Schema::builtin().root("example.com/v1", "Widget").is_none());
//! ```

use std::collections::HashMap;
use std::sync::OnceLock;

use serde_json::{Map, Value};

/// The embedded OpenAPI documents, one per built-in group version.
const DOCUMENTS: &[&str] = &[
    include_str!("../schemas/core-v1.json"),
    include_str!("../schemas/apps-v1.json"),
    include_str!("../schemas/batch-v1.json"),
    include_str!("../schemas/autoscaling-v1.json"),
    include_str!("../schemas/autoscaling-v2.json"),
    include_str!("../schemas/networking.k8s.io-v1.json"),
    include_str!("../schemas/policy-v1.json"),
    include_str!("../schemas/rbac.authorization.k8s.io-v1.json"),
    include_str!("../schemas/storage.k8s.io-v1.json"),
    include_str!("../schemas/scheduling.k8s.io-v1.json"),
    include_str!("../schemas/coordination.k8s.io-v1.json"),
    include_str!("../schemas/discovery.k8s.io-v1.json"),
    include_str!("../schemas/admissionregistration.k8s.io-v1.json"),
    include_str!("../schemas/apiextensions.k8s.io-v1.json"),
    include_str!("../schemas/flowcontrol.apiserver.k8s.io-v1.json"),
];

const REF_PREFIX: &str = "#/components/schemas/";

/// Where an OpenAPI v2 (swagger) document's `$ref`s point.
const SWAGGER_REF_PREFIX: &str = "#/definitions/";

/// How many `$ref`/`allOf` hops to follow before giving up; the documents never need more
/// than two, so a higher count means a cycle.
const MAX_HOPS: usize = 8;

/// The structural schema of a set of kinds: named type definitions and the index from
/// group, version and kind to the definition of the kind's top-level object, plus the
/// structural schemas of custom resources learnt from their CRDs.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Schema {
    /// Definitions by their OpenAPI name, e.g. `io.k8s.api.apps.v1.Deployment`. Every
    /// document repeats the shared types (ObjectMeta, PodSpec...), identical but for their
    /// group-version-kind lists, so the first copy is kept.
    types: Map<String, Value>,
    /// `apiVersion/kind` (e.g. `apps/v1/Deployment`, `v1/ConfigMap`) to a definition name.
    kinds: HashMap<String, String>,
    /// `apiVersion/kind` of a custom resource to its CRD's `openAPIV3Schema` for that version.
    custom: HashMap<String, Value>,
    /// Where kinds and definitions this schema lacks are looked up: the built-in schema, for
    /// one built by [`Schema::extended`] (shared, never copied).
    base: Option<&'static Schema>,
}

impl Schema {
    /// The schema of the built-in kinds served by kube-apiserver v1.36: core/v1, apps/v1,
    /// batch/v1, autoscaling/v2, networking, policy, RBAC, storage, scheduling, coordination,
    /// discovery, admissionregistration and apiextensions (CustomResourceDefinition).
    ///
    /// Parsed on first use and shared for the life of the process.
    pub fn builtin() -> &'static Schema {
        static BUILTIN: OnceLock<Schema> = OnceLock::new();
        BUILTIN.get_or_init(|| Schema::from_documents(DOCUMENTS))
    }

    /// The built-in kinds, ready to learn custom resources from their CRDs with
    /// [`Schema::add_crd`]; the built-in part is shared, not copied, so this is cheap.
    ///
    /// ```
    /// use gitops_core::schema::{ListKind, Schema};
    /// use serde_json::json;
    /// let crd = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    ///     "metadata": {"name": "widgets.example.com"},
    ///     "spec": {"group": "example.com", "names": {"kind": "Widget", "plural": "widgets"},
    ///         "versions": [{"name": "v1", "served": true, "storage": true, "schema": {"openAPIV3Schema": {
    ///             "type": "object", "properties": {"spec": {"type": "object", "properties": {
    ///                 "ports": {"type": "array", "x-kubernetes-list-type": "map",
    ///                     "x-kubernetes-list-map-keys": ["name"],
    ///                     "items": {"type": "object"}}}}}}}}]}});
    /// let mut schema = Schema::extended();
    /// assert!(schema.add_crd(&crd));
    /// let ports = schema.root("example.com/v1", "Widget").unwrap()
    ///     .field("spec").unwrap().field("ports").unwrap();
    /// assert_eq!(ports.list(), ListKind::Map(vec!["name".into()]));
    /// assert!(schema.is_custom("example.com/v1", "Widget"));
    /// assert!(schema.root("apps/v1", "Deployment").is_some());
    /// ```
    pub fn extended() -> Schema {
        Schema {
            base: Some(Schema::builtin()),
            ..Schema::default()
        }
    }

    /// Learns the custom resource a CustomResourceDefinition defines: the structural schema of
    /// each of its versions. Returns whether `crd` is a CRD that declares at least one schema;
    /// a CRD learnt again replaces what was learnt before.
    pub fn add_crd(&mut self, crd: &Value) -> bool {
        let text = |pointer: &str| crd.pointer(pointer).and_then(Value::as_str);
        let is_crd = text("/kind") == Some("CustomResourceDefinition")
            && text("/apiVersion").is_some_and(|v| v.starts_with("apiextensions.k8s.io/"));
        let (Some(group), Some(kind)) = (text("/spec/group"), text("/spec/names/kind")) else {
            return false;
        };
        if !is_crd {
            return false;
        }
        let Some(versions) = crd.pointer("/spec/versions").and_then(Value::as_array) else {
            return false;
        };
        // A schema shared by every version may sit at the top (`spec.validation`, v1beta1).
        let shared = crd.pointer("/spec/validation/openAPIV3Schema");
        let mut learnt = false;
        for version in versions {
            let Some(name) = version.get("name").and_then(Value::as_str) else {
                continue;
            };
            let Some(schema) = version.pointer("/schema/openAPIV3Schema").or(shared) else {
                continue;
            };
            self.custom
                .insert(kind_key(&api_version(group, name), kind), schema.clone());
            learnt = true;
        }
        learnt
    }

    /// Whether the schema holds `kind` in `api_version` as a custom resource learnt from its
    /// CRD. Custom resources differ from built-in kinds in what their field sets hold: a
    /// field set to its zero value is kept, where Go's `omitempty` drops it from built-ins.
    pub fn is_custom(&self, api_version: &str, kind: &str) -> bool {
        self.custom.contains_key(&kind_key(api_version, kind))
    }

    /// A schema from an OpenAPI v2 (swagger) document, `{"definitions": {name: schema}}`,
    /// such as a kustomization's `openapi.path` names; `None` without `definitions`.
    pub fn from_swagger(document: Value) -> Option<Schema> {
        let Value::Object(mut doc) = document else {
            return None;
        };
        let Some(Value::Object(types)) = doc.remove("definitions") else {
            return None;
        };
        let mut schema = Schema::default();
        for (name, definition) in types {
            schema.index_kinds(&name, &definition);
            schema.types.insert(name, definition);
        }
        Some(schema)
    }

    /// This schema with `other`'s definitions and kinds added, `other`'s winning where both
    /// have one.
    pub fn overlaid_by(&self, other: &Schema) -> Schema {
        let mut out = Schema {
            types: self.types.clone(),
            kinds: self.kinds.clone(),
            custom: self.custom.clone(),
            base: self.base,
        };
        for (name, definition) in &other.types {
            out.types.insert(name.clone(), definition.clone());
        }
        for (key, name) in &other.kinds {
            out.kinds.insert(key.clone(), name.clone());
        }
        for (key, schema) in &other.custom {
            out.custom.insert(key.clone(), schema.clone());
        }
        out
    }

    /// Builds a schema from OpenAPI documents of the form
    /// `{"groupVersion": ..., "schemas": {name: schema}}`. A document that does not parse
    /// contributes nothing; the embedded ones are checked by this module's tests.
    fn from_documents(documents: &[&str]) -> Schema {
        let mut schema = Schema::default();
        for text in documents {
            let Ok(Value::Object(mut doc)) = serde_json::from_str::<Value>(text) else {
                continue;
            };
            let Some(Value::Object(types)) = doc.remove("schemas") else {
                continue;
            };
            for (name, definition) in types {
                schema.index_kinds(&name, &definition);
                if !schema.types.contains_key(&name) {
                    schema.types.insert(name, definition);
                }
            }
        }
        schema
    }

    /// Records every group-version-kind a definition declares. Shared types such as
    /// `DeleteOptions` declare a different list in each document, hence indexing before
    /// de-duplication.
    fn index_kinds(&mut self, name: &str, definition: &Value) {
        let Some(Value::Array(gvks)) = definition.get("x-kubernetes-group-version-kind") else {
            return;
        };
        for gvk in gvks {
            let part = |key: &str| gvk.get(key).and_then(Value::as_str).unwrap_or_default();
            let key = kind_key(&api_version(part("group"), part("version")), part("kind"));
            self.kinds.entry(key).or_insert_with(|| name.to_string());
        }
    }

    /// The node of a kind's top-level object, e.g. `root("apps/v1", "Deployment")`, or `None`
    /// for a kind the schema does not know (custom resources, unserved versions).
    pub fn root(&self, api_version: &str, kind: &str) -> Option<Node<'_>> {
        let key = kind_key(api_version, kind);
        if let Some(custom) = self.custom.get(&key) {
            return Node::from_schema(custom);
        }
        match self.kinds.get(&key) {
            Some(name) => self.definition(name),
            None => self.base?.root(api_version, kind),
        }
    }

    /// The node of a named definition, e.g. `io.k8s.api.core.v1.PodSpec`.
    pub fn definition(&self, name: &str) -> Option<Node<'_>> {
        let Some((name, definition)) = self.types.get_key_value(name) else {
            return self.base?.definition(name);
        };
        let node = Node::resolve(Some(&self.types), definition)?;
        Some(Node {
            name: node.name.or(Some(name)),
            ..node
        })
    }
}

fn api_version(group: &str, version: &str) -> String {
    if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    }
}

fn kind_key(api_version: &str, kind: &str) -> String {
    format!("{api_version}/{kind}")
}

/// How a list's elements are identified when two versions of the list are merged, as server-side
/// apply understands it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ListKind {
    /// The list is one value, replaced as a whole (the default for lists without semantics).
    Atomic,
    /// A list of unique scalars, merged as a set.
    Set,
    /// A list of objects identified by the values of these fields, e.g. containers by `name`,
    /// container ports by `containerPort` and `protocol`.
    Map(Vec<String>),
}

/// A position in a schema's type graph: the schema of one field, list element or map value,
/// with `$ref` and single-element `allOf` wrappers already followed.
///
/// Keywords written beside a `$ref` (a field's `default`, its `x-kubernetes-patch-strategy`)
/// belong to the field, those inside the definition belong to the type; lookups see both, the
/// field's first. A `Node` is two references and is `Copy`.
#[derive(Clone, Copy, Debug)]
pub struct Node<'a> {
    /// Where `$ref`s resolve; `None` for a self-contained schema.
    types: Option<&'a Map<String, Value>>,
    /// The schema as written at this position.
    wrapper: &'a Map<String, Value>,
    /// The schema after following references.
    target: &'a Map<String, Value>,
    /// The definition name of the last `$ref` followed.
    name: Option<&'a str>,
}

impl<'a> Node<'a> {
    /// A node over a self-contained schema such as a CRD's `openAPIV3Schema` (which has no
    /// `$ref`s). Returns `None` when the value is not a JSON map.
    ///
    /// ```
    /// use gitops_core::schema::{ListKind, Node};
    /// let schema = serde_json::json!({"type": "object", "properties": {"tags": {
    ///     "type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "set"}}});
    /// let node = Node::from_schema(&schema).unwrap();
    /// assert_eq!(node.field("tags").unwrap().list(), ListKind::Set);
    /// ```
    pub fn from_schema(schema: &'a Value) -> Option<Node<'a>> {
        Node::resolve(None, schema)
    }

    fn resolve(types: Option<&'a Map<String, Value>>, schema: &'a Value) -> Option<Node<'a>> {
        let wrapper = schema.as_object()?;
        let mut target = wrapper;
        let mut name = None;
        for _ in 0..MAX_HOPS {
            if let Some(reference) = target.get("$ref").and_then(Value::as_str) {
                let key = reference
                    .strip_prefix(REF_PREFIX)
                    .or_else(|| reference.strip_prefix(SWAGGER_REF_PREFIX))?;
                let (key, definition) = types?.get_key_value(key)?;
                target = definition.as_object()?;
                name = Some(key.as_str());
            } else if let Some(inner) = structural_all_of(target) {
                target = inner.as_object()?;
            } else {
                return Some(Node {
                    types,
                    wrapper,
                    target,
                    name,
                });
            }
        }
        None
    }

    fn step(&self, schema: Option<&'a Value>) -> Option<Node<'a>> {
        Node::resolve(self.types, schema?)
    }

    /// The schema of a declared field (`properties`), e.g. `spec` of a Deployment.
    pub fn field(&self, name: &str) -> Option<Node<'a>> {
        self.step(self.target.get("properties")?.get(name))
    }

    /// The schema of a list's elements (`items`).
    pub fn items(&self) -> Option<Node<'a>> {
        self.step(self.target.get("items"))
    }

    /// The schema of a map's values (`additionalProperties`), e.g. a label's value or a
    /// resource quantity under `limits`.
    pub fn values(&self) -> Option<Node<'a>> {
        self.step(self.target.get("additionalProperties"))
    }

    /// The schema of a key of an object: its declared field if there is one, else the map's
    /// value schema. This is what walking a JSON value alongside its schema needs.
    pub fn child(&self, key: &str) -> Option<Node<'a>> {
        self.field(key).or_else(|| self.values())
    }

    /// A keyword of this position: the field's own first, then its type's (e.g. `default`,
    /// `required`, `enum`, `format`, any `x-kubernetes-*` extension).
    pub fn keyword(&self, name: &str) -> Option<&'a Value> {
        self.wrapper.get(name).or_else(|| self.target.get(name))
    }

    fn keyword_str(&self, name: &str) -> Option<&'a str> {
        self.keyword(name).and_then(Value::as_str)
    }

    /// The JSON type: `object`, `array`, `string`, `integer`, `number` or `boolean`, when
    /// declared (some types such as `Quantity` and `IntOrString` declare none).
    pub fn json_type(&self) -> Option<&'a str> {
        self.keyword_str("type")
    }

    /// The OpenAPI definition name this position refers to, e.g.
    /// `io.k8s.api.core.v1.Container` or `io.k8s.apimachinery.pkg.api.resource.Quantity`,
    /// `None` for an inline schema.
    pub fn type_name(&self) -> Option<&'a str> {
        self.name
    }

    /// The list semantics for server-side apply.
    ///
    /// From `x-kubernetes-list-type` (with `x-kubernetes-list-map-keys`) when present, else,
    /// as the API server does for older types, from the strategic merge patch extensions: a
    /// `merge` strategy with a merge key is a map keyed by it, without one a set. Anything
    /// else, including a node that is not a list, is atomic.
    pub fn list(&self) -> ListKind {
        match self.keyword_str("x-kubernetes-list-type") {
            Some("map") => ListKind::Map(self.list_map_keys()),
            Some("set") => ListKind::Set,
            Some(_) => ListKind::Atomic,
            None if self.merges() => match self.merge_key() {
                Some(key) => ListKind::Map(vec![key.to_string()]),
                None => ListKind::Set,
            },
            None => ListKind::Atomic,
        }
    }

    fn list_map_keys(&self) -> Vec<String> {
        let keys: Vec<String> = self
            .keyword("x-kubernetes-list-map-keys")
            .and_then(Value::as_array)
            .map(|keys| {
                keys.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        if keys.is_empty() {
            self.merge_key().map(str::to_string).into_iter().collect()
        } else {
            keys
        }
    }

    fn merges(&self) -> bool {
        self.patch_strategy()
            .is_some_and(|s| s.split(',').any(|part| part == "merge"))
    }

    /// `x-kubernetes-patch-merge-key`: the field identifying elements of this list in a
    /// strategic merge patch.
    pub fn merge_key(&self) -> Option<&'a str> {
        self.keyword_str("x-kubernetes-patch-merge-key")
    }

    /// `x-kubernetes-patch-strategy` as written: `merge`, `retainKeys`, `merge,retainKeys` or
    /// `replace`.
    pub fn patch_strategy(&self) -> Option<&'a str> {
        self.keyword_str("x-kubernetes-patch-strategy")
    }

    /// Whether this map is replaced as a whole: `x-kubernetes-map-type: atomic` (a label
    /// selector, an object reference), or a named type that declares no structure and does
    /// not preserve unknown fields (a `RawExtension` such as a ControllerRevision's `data`),
    /// which structured-merge-diff can only treat as one value. (A custom resource's bare
    /// `metadata: {type: object}` is not such a type: it is unnamed.)
    pub fn is_atomic_map(&self) -> bool {
        if self.keyword_str("x-kubernetes-map-type") == Some("atomic") {
            return true;
        }
        let structured = ["properties", "additionalProperties"]
            .iter()
            .any(|k| self.target.contains_key(*k));
        let preserves =
            self.keyword("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true));
        self.name.is_some() && self.json_type() == Some("object") && !structured && !preserves
    }

    /// Whether this object keeps fields its schema does not declare
    /// (`x-kubernetes-preserve-unknown-fields`), as custom resources may.
    pub fn preserves_unknown_fields(&self) -> bool {
        self.keyword("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true))
    }

    /// The schema's declared default for this position, e.g. `"TCP"` for a container port's
    /// `protocol`.
    pub fn default(&self) -> Option<&'a Value> {
        self.keyword("default")
    }
}

/// The single schema an `allOf` wraps, when the `allOf` is the structure of this position (the
/// OpenAPI generator's way of putting keywords beside a `$ref`) rather than a validation
/// alongside a typed schema, as CRDs may use it.
fn structural_all_of(schema: &Map<String, Value>) -> Option<&Value> {
    let declares_structure = ["type", "properties", "items", "additionalProperties"]
        .iter()
        .any(|k| schema.contains_key(*k));
    if declares_structure {
        return None;
    }
    match schema.get("allOf")?.as_array()?.as_slice() {
        [only] => Some(only),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn path<'a>(node: Node<'a>, fields: &[&str]) -> Node<'a> {
        fields.iter().fold(node, |n, f| {
            n.field(f)
                .unwrap_or_else(|| panic!("no field {f} in {:?}", n.type_name()))
        })
    }

    fn pod_spec() -> Node<'static> {
        Schema::builtin()
            .definition("io.k8s.api.core.v1.PodSpec")
            .unwrap()
    }

    #[test]
    fn every_embedded_document_parses_and_contributes_kinds() {
        for text in DOCUMENTS {
            let one = Schema::from_documents(&[text]);
            assert!(!one.kinds.is_empty(), "a document indexed no kinds");
        }
        let all = Schema::builtin();
        for (api_version, kind) in [
            ("v1", "ConfigMap"),
            ("v1", "Service"),
            ("apps/v1", "StatefulSet"),
            ("batch/v1", "CronJob"),
            ("autoscaling/v2", "HorizontalPodAutoscaler"),
            ("networking.k8s.io/v1", "Ingress"),
            ("rbac.authorization.k8s.io/v1", "ClusterRole"),
            ("apiextensions.k8s.io/v1", "CustomResourceDefinition"),
            (
                "admissionregistration.k8s.io/v1",
                "ValidatingWebhookConfiguration",
            ),
        ] {
            assert!(
                all.root(api_version, kind).is_some(),
                "{api_version} {kind}"
            );
        }
    }

    #[test]
    fn deployment_containers_are_a_map_keyed_by_name() {
        let root = Schema::builtin().root("apps/v1", "Deployment").unwrap();
        assert_eq!(root.type_name(), Some("io.k8s.api.apps.v1.Deployment"));
        let containers = path(root, &["spec", "template", "spec", "containers"]);
        assert_eq!(containers.list(), ListKind::Map(vec!["name".into()]));
        assert_eq!(containers.merge_key(), Some("name"));
        assert_eq!(containers.patch_strategy(), Some("merge"));
        let container = containers.items().unwrap();
        assert_eq!(container.type_name(), Some("io.k8s.api.core.v1.Container"));
        assert_eq!(
            container.field("env").unwrap().list(),
            ListKind::Map(vec!["name".into()])
        );
    }

    #[test]
    fn container_ports_are_keyed_by_port_and_protocol_with_a_tcp_default() {
        let ports = path(pod_spec(), &["containers"])
            .items()
            .and_then(|c| c.field("ports"))
            .unwrap();
        assert_eq!(
            ports.list(),
            ListKind::Map(vec!["containerPort".into(), "protocol".into()])
        );
        // The strategic merge key is only the first of the two.
        assert_eq!(ports.merge_key(), Some("containerPort"));
        let protocol = ports.items().and_then(|p| p.field("protocol")).unwrap();
        assert_eq!(protocol.default(), Some(&json!("TCP")));
        assert_eq!(protocol.json_type(), Some("string"));
    }

    #[test]
    fn service_ports_are_keyed_by_port_and_protocol() {
        let root = Schema::builtin().root("v1", "Service").unwrap();
        let ports = path(root, &["spec", "ports"]);
        assert_eq!(
            ports.list(),
            ListKind::Map(vec!["port".into(), "protocol".into()])
        );
        assert_eq!(ports.merge_key(), Some("port"));
    }

    #[test]
    fn pod_volumes_merge_and_retain_keys() {
        let volumes = path(pod_spec(), &["volumes"]);
        assert_eq!(volumes.list(), ListKind::Map(vec!["name".into()]));
        assert_eq!(volumes.patch_strategy(), Some("merge,retainKeys"));
        let config_map = volumes
            .items()
            .and_then(|v| v.field("configMap"))
            .and_then(|c| c.field("items"))
            .unwrap();
        assert_eq!(config_map.list(), ListKind::Atomic);
    }

    #[test]
    fn unknown_kinds_and_fields_are_none() {
        let schema = Schema::builtin();
        assert!(schema.root("example.com/v1", "Widget").is_none());
        assert!(schema.root("apps/v1", "ConfigMap").is_none());
        assert!(schema.root("v1beta1", "Deployment").is_none());
        let root = schema.root("apps/v1", "Deployment").unwrap();
        assert!(root.field("nonsense").is_none());
        assert!(root.items().is_none());
    }

    #[test]
    fn maps_expose_their_value_schema_and_atomicity() {
        let meta = Schema::builtin()
            .root("v1", "ConfigMap")
            .and_then(|n| n.field("metadata"))
            .unwrap();
        assert_eq!(
            meta.type_name(),
            Some("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta")
        );
        let labels = meta.field("labels").unwrap();
        assert_eq!(labels.values().and_then(|v| v.json_type()), Some("string"));
        assert_eq!(
            labels.child("app").and_then(|v| v.json_type()),
            Some("string")
        );
        assert!(!labels.is_atomic_map());
        let selector = path(pod_spec(), &["affinity", "podAffinity"])
            .field("requiredDuringSchedulingIgnoredDuringExecution")
            .and_then(|l| l.items())
            .and_then(|t| t.field("labelSelector"))
            .unwrap();
        assert!(selector.is_atomic_map());
        let limits = path(pod_spec(), &["containers"])
            .items()
            .and_then(|c| c.field("resources"))
            .and_then(|r| r.field("limits"))
            .unwrap();
        assert_eq!(
            limits.child("cpu").and_then(|q| q.type_name()),
            Some("io.k8s.apimachinery.pkg.api.resource.Quantity")
        );
    }

    #[test]
    fn field_keywords_beside_a_ref_are_visible() {
        let root = Schema::builtin().root("apps/v1", "Deployment").unwrap();
        let strategy = path(root, &["spec", "strategy"]);
        assert_eq!(strategy.patch_strategy(), Some("retainKeys"));
        assert_eq!(strategy.default(), Some(&json!({})));
        assert_eq!(
            strategy.type_name(),
            Some("io.k8s.api.apps.v1.DeploymentStrategy")
        );
        assert_eq!(strategy.list(), ListKind::Atomic);
    }

    #[test]
    fn sets_and_atomic_lists_are_told_apart() {
        let finalizers = Schema::builtin()
            .definition("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta")
            .and_then(|m| m.field("finalizers"))
            .unwrap();
        assert_eq!(finalizers.list(), ListKind::Set);
        let args = path(pod_spec(), &["containers"])
            .items()
            .and_then(|c| c.field("args"))
            .unwrap();
        assert_eq!(args.list(), ListKind::Atomic);
    }

    #[test]
    fn patch_extensions_stand_in_for_a_missing_list_type() {
        let schema = json!({"type": "object", "properties": {
            "keyed": {"type": "array", "items": {"type": "object"},
                      "x-kubernetes-patch-strategy": "merge",
                      "x-kubernetes-patch-merge-key": "id"},
            "scalars": {"type": "array", "items": {"type": "string"},
                        "x-kubernetes-patch-strategy": "merge"},
            "replaced": {"type": "array", "x-kubernetes-patch-strategy": "replace"},
            "plain": {"type": "array"},
            "validated": {"type": "object", "allOf": [{"required": ["a"]}],
                          "properties": {"a": {"type": "string"}}}
        }});
        let node = Node::from_schema(&schema).unwrap();
        let list = |f: &str| node.field(f).unwrap().list();
        assert_eq!(list("keyed"), ListKind::Map(vec!["id".into()]));
        assert_eq!(list("scalars"), ListKind::Set);
        assert_eq!(list("replaced"), ListKind::Atomic);
        assert_eq!(list("plain"), ListKind::Atomic);
        // A validation-only allOf beside a typed schema is not followed.
        let validated = node.field("validated").unwrap();
        assert_eq!(
            validated.field("a").and_then(|a| a.json_type()),
            Some("string")
        );
    }

    #[test]
    fn dangling_and_cyclic_references_end_navigation() {
        let schema = json!({"properties": {"x": {"$ref": "#/components/schemas/missing"}}});
        let node = Node::from_schema(&schema).unwrap();
        assert!(node.field("x").is_none());
        let docs = [r##"{"schemas": {"a": {"$ref": "#/components/schemas/b"},
                                      "b": {"$ref": "#/components/schemas/a"}}}"##];
        let cyclic = Schema::from_documents(&docs);
        assert!(cyclic.definition("a").is_none());
        let wrapper = json!({"p": {"$ref": "#/components/schemas/a"}});
        assert!(
            Node::resolve(Some(&cyclic.types), &wrapper["p"]).is_none(),
            "a reference cycle resolves to nothing"
        );
    }

    #[test]
    fn crd_kind_itself_is_known() {
        let crd = Schema::builtin()
            .root("apiextensions.k8s.io/v1", "CustomResourceDefinition")
            .unwrap();
        let versions = path(crd, &["spec", "versions"]);
        assert_eq!(versions.list(), ListKind::Atomic);
        assert!(versions.items().and_then(|v| v.field("schema")).is_some());
    }
}
