//! A resource being built: the object, where it came from, and the names it had before
//! prefixes, suffixes and hashes changed them (which name references are fixed against).

use serde_json::{Map, Value};

use crate::{Object, Origin};

/// One object in a build.
#[derive(Clone, Debug)]
pub(crate) struct Resource {
    pub obj: Object,
    pub origin: Origin,
    /// Every name the object had, oldest first, not including the current one.
    pub previous_names: Vec<String>,
    /// Every kind a patch with `allowKindChange` changed, oldest first, each with the span
    /// of names (positions in `previous_names`, the current name being one past the last)
    /// it had them with: kustomize finds a patch's target by any kind and name the object
    /// had together.
    pub previous_kinds: Vec<(String, usize, usize)>,
    /// Every namespace the object had, oldest first, not including the current one.
    pub previous_namespaces: Vec<String>,
    /// Whether a content hash is appended to the name at the end of the build.
    pub hash: bool,
    /// The non-empty `namePrefix`es applied to the object, innermost kustomization first.
    pub prefixes: Vec<String>,
    /// The non-empty `nameSuffix`es applied to the object, innermost kustomization first.
    pub suffixes: Vec<String>,
    /// Whether kustomize has recorded the current name among the object's previous ids
    /// (its namespace transformer records every object's id, renamed or not); a name
    /// reference matches only objects by their recorded names.
    pub name_recorded: bool,
    /// The `vars` that take their value from this object.
    pub ref_vars: Vec<String>,
    /// The paths of the fields its file gives no value (`key:`), which a strategic merge
    /// removes (see [`super::smp::merge`]); read from `source` when first needed.
    pub empty_values: Vec<Vec<String>>,
    /// The text of the file the object is a document of, and which document, until a patch
    /// needs its valueless fields: reading them is a second parse, paid only for patched
    /// objects that have nulls.
    pub source: Option<(std::sync::Arc<str>, usize)>,
    /// How many fields transformers have set, changed or not: kustomize compares the YAML
    /// nodes before and after a validator, and a field set anew is a new node even with the
    /// value it had, so a validator that sets any field fails.
    pub writes: usize,
}

impl Resource {
    pub(crate) fn new(obj: Object, origin: Origin) -> Self {
        Resource {
            obj,
            origin,
            previous_names: Vec::new(),
            previous_kinds: Vec::new(),
            previous_namespaces: Vec::new(),
            hash: false,
            prefixes: Vec::new(),
            suffixes: Vec::new(),
            name_recorded: false,
            ref_vars: Vec::new(),
            empty_values: Vec::new(),
            source: None,
            writes: 0,
        }
    }

    pub(crate) fn name(&self) -> &str {
        self.obj.name()
    }

    pub(crate) fn kind(&self) -> &str {
        self.obj.kind()
    }

    pub(crate) fn group(&self) -> &str {
        self.obj.group()
    }

    pub(crate) fn version(&self) -> &str {
        self.obj.version()
    }

    pub(crate) fn namespace(&self) -> &str {
        self.obj.namespace().unwrap_or_default()
    }

    /// The name the object had when it entered the build.
    pub(crate) fn original_name(&self) -> &str {
        self.previous_names
            .first()
            .map(String::as_str)
            .unwrap_or_else(|| self.name())
    }

    /// The namespace the object had when it entered the build.
    pub(crate) fn original_namespace(&self) -> &str {
        self.previous_namespaces
            .first()
            .map(String::as_str)
            .unwrap_or_else(|| self.namespace())
    }

    /// The names kustomize has recorded for the object: every earlier name, and the current
    /// one once recorded. Name references are matched against these.
    pub(crate) fn recorded_names(&self) -> impl Iterator<Item = &str> {
        self.previous_names
            .iter()
            .map(String::as_str)
            .chain(self.name_recorded.then(|| self.name()))
    }

    /// Whether any name the object had or has is `name`.
    pub(crate) fn had_name(&self, name: &str) -> bool {
        self.name() == name || self.previous_names.iter().any(|n| n == name)
    }

    /// Reads the valueless fields from `source`, once, before a strategic merge.
    pub(crate) fn load_empty_values(&mut self) {
        fn has_null(v: &Value) -> bool {
            match v {
                Value::Null => true,
                Value::Object(m) => m.values().any(has_null),
                Value::Array(items) => items.iter().any(has_null),
                _ => false,
            }
        }
        if let Some((text, document)) = self.source.take()
            && self.obj.as_map().values().any(has_null)
        {
            self.empty_values = crate::manifests::empty_value_paths(&text, document);
        }
    }

    /// Every kind and name the object had together (its previous ids), the current ones
    /// among them.
    pub(crate) fn ids(&self) -> Vec<(&str, &str)> {
        let name_at = |i: usize| {
            self.previous_names
                .get(i)
                .map(String::as_str)
                .unwrap_or_else(|| self.name())
        };
        let mut out = Vec::new();
        for (kind, first, last) in &self.previous_kinds {
            for i in *first..=*last {
                out.push((kind.as_str(), name_at(i)));
            }
        }
        let start = self.previous_kinds.last().map_or(0, |p| p.2);
        for i in start..=self.previous_names.len() {
            out.push((self.kind(), name_at(i)));
        }
        out
    }

    /// Records that a patch changed the kind, which was `old`.
    pub(crate) fn kind_changed_from(&mut self, old: String) {
        let first = self.previous_kinds.last().map_or(0, |p| p.2);
        self.previous_kinds
            .push((old, first, self.previous_names.len()));
    }

    pub(crate) fn set_name(&mut self, name: String) {
        self.writes += 1;
        if name != self.name() {
            self.previous_names.push(self.name().to_string());
            self.name_recorded = false;
            self.metadata_mut()
                .insert("name".into(), Value::String(name));
        }
    }

    pub(crate) fn set_namespace(&mut self, namespace: &str) {
        self.writes += 1;
        if namespace != self.namespace() {
            self.previous_namespaces.push(self.namespace().to_string());
            self.obj.set_namespace(namespace);
        }
    }

    pub(crate) fn is_cluster_scoped(&self) -> bool {
        is_cluster_scoped(self.group(), self.kind())
    }

    /// The namespace kustomize compares: `default` for an unset namespace of a namespaced
    /// object, empty for a cluster-scoped one.
    pub(crate) fn effective_namespace(&self, ns: &str) -> String {
        if self.is_cluster_scoped() {
            String::new()
        } else if ns.is_empty() {
            "default".into()
        } else {
            ns.into()
        }
    }

    pub(crate) fn metadata_mut(&mut self) -> &mut Map<String, Value> {
        let map = self.obj.as_map_mut();
        let meta = map
            .entry("metadata")
            .or_insert_with(|| Value::Object(Map::new()));
        if !meta.is_object() {
            *meta = Value::Object(Map::new());
        }
        match meta {
            Value::Object(m) => m,
            _ => unreachable!("metadata was just made a map"),
        }
    }

    /// `Kind/namespace/name` or `Kind/name` for messages.
    pub(crate) fn describe(&self) -> String {
        self.obj.object_ref().to_string()
    }
}

/// Whether a built-in kind is cluster-scoped; unknown kinds (custom resources) count as
/// namespaced, as kustomize counts them. The list is kustomize v5.5's, whose schema
/// predates ValidatingAdmissionPolicy: it namespaces those as it does custom resources.
pub(crate) fn is_cluster_scoped(group: &str, kind: &str) -> bool {
    matches!(
        (group, kind),
        ("", "Namespace")
            | ("", "Node")
            | ("", "PersistentVolume")
            | ("", "ComponentStatus")
            | ("rbac.authorization.k8s.io", "ClusterRole")
            | ("rbac.authorization.k8s.io", "ClusterRoleBinding")
            | ("apiextensions.k8s.io", "CustomResourceDefinition")
            | ("apiregistration.k8s.io", "APIService")
            | ("storage.k8s.io", "StorageClass")
            | ("storage.k8s.io", "CSIDriver")
            | ("storage.k8s.io", "CSINode")
            | ("storage.k8s.io", "VolumeAttachment")
            | ("scheduling.k8s.io", "PriorityClass")
            | ("node.k8s.io", "RuntimeClass")
            | ("policy", "PodSecurityPolicy")
            | ("networking.k8s.io", "IngressClass")
            | (
                "admissionregistration.k8s.io",
                "MutatingWebhookConfiguration"
            )
            | (
                "admissionregistration.k8s.io",
                "ValidatingWebhookConfiguration"
            )
            | ("certificates.k8s.io", "CertificateSigningRequest")
            | ("flowcontrol.apiserver.k8s.io", "FlowSchema")
            | ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration")
    )
}
