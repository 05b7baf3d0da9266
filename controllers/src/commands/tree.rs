//! `gitops tree kustomization NAME`: what a Kustomization manages, from its inventory
//! (`status.inventory.entries[].id`, `<namespace>_<name>_<group>_<kind>`), as `flux tree
//! kustomization` prints it (flux2 `cmd/flux/tree_kustomization.go`): the Kustomization, then
//! one `├── Kind/namespace/name` line per object (`Kind/name` when cluster-scoped), the
//! Kustomizations it manages expanded below them.

use std::io::Write;

use anyhow::Context;
use clap::{Args, Subcommand};
use gitops_core::InventoryEntry;
use serde_json::Value;

use super::block_on;
use super::kind::FluxKind;
use super::reconcile::Target;
use crate::config_flags::ConfigFlags;

/// Arguments of `gitops tree`.
#[derive(Debug, Args)]
pub struct TreeArgs {
    /// What to print the tree of.
    #[command(subcommand)]
    pub target: TreeTarget,
}

/// The kinds `gitops tree` prints.
#[derive(Debug, Subcommand)]
pub enum TreeTarget {
    /// The objects a Kustomization manages, nested Kustomizations expanded.
    #[command(alias = "ks")]
    Kustomization(TreeKustomizationArgs),
}

/// Arguments of `gitops tree kustomization`.
#[derive(Debug, Args)]
pub struct TreeKustomizationArgs {
    /// The Kustomization's name.
    pub name: String,
    /// The connection flags.
    #[command(flatten)]
    pub cluster: ConfigFlags,
}

/// One node of the tree: an object and what it manages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    /// `Kind/namespace/name`, or `Kind/name` when cluster-scoped.
    pub label: String,
    /// The objects it manages.
    pub children: Vec<Node>,
}

impl Node {
    /// The tree as flux prints it, one line per node, each ending in a newline.
    pub fn print(&self) -> String {
        let mut out = format!("{}\n", self.label);
        print_children(&self.children, "", &mut out);
        out
    }
}

fn print_children(children: &[Node], prefix: &str, out: &mut String) {
    for (i, child) in children.iter().enumerate() {
        let last = i + 1 == children.len();
        let (branch, indent) = if last {
            ("└── ", "    ")
        } else {
            ("├── ", "│   ")
        };
        out.push_str(&format!("{prefix}{branch}{}\n", child.label));
        print_children(&child.children, &format!("{prefix}{indent}"), out);
    }
}

fn label(kind: &str, namespace: &str, name: &str) -> String {
    if namespace.is_empty() {
        format!("{kind}/{name}")
    } else {
        format!("{kind}/{namespace}/{name}")
    }
}

/// Runs `gitops tree`, writing the tree to `out`.
pub fn run(args: &TreeArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let TreeTarget::Kustomization(args) = &args.target;
    block_on(async {
        let client = args.cluster.client().await?;
        let target = Target::named(
            &client,
            FluxKind::Kustomization,
            &args.name,
            &args.cluster.namespace,
        );
        let ks = target.get().await?;
        let mut root = Node {
            label: label("Kustomization", &target.namespace, &target.name),
            children: Vec::new(),
        };
        let mut seen = vec![root.label.clone()];
        expand(&client, &ks, &mut root, &mut seen).await?;
        // flux prints the tree and then a line break of its own.
        writeln!(out, "{}", root.print()).context("cannot write the output")?;
        Ok(())
    })
}

/// Adds a Kustomization's inventory under `node`, expanding the Kustomizations in it
/// (unless it applies to a remote cluster, as flux skips those); `seen` breaks cycles.
async fn expand(
    client: &kube::Client,
    ks: &Value,
    node: &mut Node,
    seen: &mut Vec<String>,
) -> anyhow::Result<()> {
    let Some(entries) = ks["status"]["inventory"]["entries"].as_array() else {
        return Ok(());
    };
    let remote = !ks["spec"]["kubeConfig"].is_null();
    let ks_namespace = ks["metadata"]["namespace"].as_str().unwrap_or_default();
    let ks_name = ks["metadata"]["name"].as_str().unwrap_or_default();
    for entry in entries {
        let id = entry["id"].as_str().unwrap_or_default();
        let version = entry["v"].as_str().unwrap_or_default();
        let parsed = InventoryEntry::parse(id, version).with_context(|| {
            format!("invalid inventory entry '{id}' of Kustomization '{ks_namespace}/{ks_name}'")
        })?;
        let o = &parsed.object;
        let nested = FluxKind::of(&o.group, &o.kind) == Some(FluxKind::Kustomization);
        if nested && o.namespace == ks_namespace && o.name == ks_name {
            continue; // a Kustomization managing itself, as flux-system does
        }
        let mut child = Node {
            label: label(&o.kind, &o.namespace, &o.name),
            children: Vec::new(),
        };
        if nested && !remote && !seen.contains(&child.label) {
            seen.push(child.label.clone());
            let inner = Target::named(client, FluxKind::Kustomization, &o.name, &o.namespace)
                .get()
                .await
                .context("failed to find object")?;
            Box::pin(expand(client, &inner, &mut child, seen)).await?;
        }
        node.children.push(child);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_as_fluxs_golden_tree() {
        let leaf = |label: &str| Node {
            label: label.into(),
            children: Vec::new(),
        };
        let root = Node {
            label: "Kustomization/flux-system/flux-system".into(),
            children: vec![
                leaf("Namespace/flux-system"),
                Node {
                    label: "Kustomization/flux-system/infrastructure".into(),
                    children: vec![
                        leaf("Namespace/cert-manager"),
                        leaf("HelmRepository/cert-manager/cert-manager"),
                    ],
                },
                leaf("GitRepository/flux-system/flux-system"),
            ],
        };
        assert_eq!(
            root.print(),
            "Kustomization/flux-system/flux-system\n\
             ├── Namespace/flux-system\n\
             ├── Kustomization/flux-system/infrastructure\n\
             │   ├── Namespace/cert-manager\n\
             │   └── HelmRepository/cert-manager/cert-manager\n\
             └── GitRepository/flux-system/flux-system\n"
        );
    }
}
