//! `gitops diff kustomization NAME --path DIR`: what applying DIR as the in-cluster
//! Kustomization NAME would change, as `flux diff kustomization` reports it (flux2
//! `cmd/flux/diff_kustomization.go`).
//!
//! DIR is rendered as `gitops build kustomization` renders it
//! ([`crate::build::render_kustomization`], with the Kustomization read from the cluster),
//! then planned and dry-run by the apply engine with field manager `kustomize-controller`
//! ([`gitops_apply::ResourceManager::diff`]). Each object that would change prints as
//! `► Kind/namespace/name created|drifted|deleted`, a drifted one followed by its fields in
//! dyff's layout (`spec.replicas`, `± value change`, `- 1`, `+ 2`); a Secret's values print as
//! `***`. Colour only on a terminal.
//!
//! Exit codes, as flux's: 0 no change (nothing printed), 1 at least one change, 2 an error.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use anyhow::{Context, anyhow, bail};
use clap::{Args, Subcommand};
use gitops_apply::{ApplyOptions, DiffAction, DiffEntry, ResourceManager};
use gitops_core::diff::{Change, ChangeKind};
use gitops_core::plan::Owner;
use gitops_core::{Object, api::Kustomization};
use serde_json::Value;

use super::block_on;
use super::kind::FluxKind;
use super::progress::Progress;
use super::reconcile::Target;
use crate::config_flags::ConfigFlags;

/// Arguments of `gitops diff`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// What to diff.
    #[command(subcommand)]
    pub target: DiffTarget,
}

/// The kinds `gitops diff` diffs.
#[derive(Debug, Subcommand)]
pub enum DiffTarget {
    /// Diff a local directory against the objects a Kustomization applied.
    #[command(alias = "ks")]
    Kustomization(DiffKustomizationArgs),
}

/// Arguments of `gitops diff kustomization`.
#[derive(Debug, Args)]
pub struct DiffKustomizationArgs {
    /// The Kustomization's name.
    pub name: String,
    /// The local directory holding what the Kustomization's `spec.path` points at.
    #[arg(long)]
    pub path: PathBuf,
    /// Fail when a variable without a default is not defined.
    #[arg(long)]
    pub strict_substitute: bool,
    /// The connection flags.
    #[command(flatten)]
    pub cluster: ConfigFlags,
}

/// Runs `gitops diff`, writing the differences to `out`; `Ok(true)` when there are some.
pub fn run(args: &DiffArgs, out: &mut dyn Write) -> anyhow::Result<bool> {
    let DiffTarget::Kustomization(args) = &args.target;
    if !args.path.is_dir() {
        bail!(
            "invalid resource path {:?}",
            args.path.display().to_string()
        );
    }
    let entries = block_on(diff(args))
        // Every failure of a diff is an error (exit 2): exit 1 means a difference.
        .map_err(|e| anyhow!("{e:#}"))?;
    if entries.is_empty() {
        return Ok(false);
    }
    let colour = std::io::stdout().is_terminal();
    out.write_all(print(&entries, colour).as_bytes())
        .context("cannot write the output")?;
    Progress.warning("identified at least one change, exiting with non-zero exit code");
    Ok(true)
}

async fn diff(args: &DiffKustomizationArgs) -> anyhow::Result<Vec<DiffEntry>> {
    let client = args.cluster.client().await?;
    let target = Target::named(
        &client,
        FluxKind::Kustomization,
        &args.name,
        &args.cluster.namespace,
    );
    let value = target.get().await?;
    let ks = Kustomization::from_object(&Object::from_value(value)?)?;
    let desired =
        crate::build::render_kustomization(&ks, &args.path, &args.path, args.strict_substitute)?;
    let previous = ks.status.inventory.clone().unwrap_or_default();
    let manager = ResourceManager::new(
        client,
        Owner::new(&ks.metadata.name, &ks.metadata.namespace),
    );
    let options = ApplyOptions {
        prune: ks.spec.prune,
        force: ks.spec.force,
        ..ApplyOptions::default()
    };
    Ok(manager.diff(desired, &previous, &options).await?)
}

/// The differences as flux prints them; with `colour`, removals red and additions green.
pub fn print(entries: &[DiffEntry], colour: bool) -> String {
    let paint = |code: &str, text: &str| {
        if colour {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    };
    let mut out = String::new();
    for entry in entries {
        out.push_str(&format!("► {} {}\n", entry.object, entry.action.verb()));
        let DiffAction::Drifted(changes) = &entry.action else {
            continue;
        };
        for change in changes {
            out.push('\n');
            out.push_str(&paint("1", &change.path));
            out.push('\n');
            for (mark, line) in change_lines(change) {
                let code = match mark {
                    '-' => "31",
                    '+' => "32",
                    _ => "33",
                };
                out.push_str(&paint(code, &line));
                out.push('\n');
            }
        }
        out.push('\n');
    }
    out
}

/// The lines of one change under its path: what happens, then the values, dyff-style.
fn change_lines(change: &Change) -> Vec<(char, String)> {
    let mut lines = Vec::new();
    match change.kind {
        ChangeKind::Modified => {
            lines.push(('±', "± value change".to_string()));
            lines.extend(value_lines('-', change.live.as_ref()));
            lines.extend(value_lines('+', change.desired.as_ref()));
        }
        ChangeKind::Added => {
            lines.push(('+', "+ value added".to_string()));
            lines.extend(value_lines('+', change.desired.as_ref()));
        }
        ChangeKind::Removed => {
            lines.push(('-', "- value removed".to_string()));
            lines.extend(value_lines('-', change.live.as_ref()));
        }
    }
    lines
}

/// A value after its mark: a string as it is, a number or boolean as JSON, a map or list as
/// YAML lines under the mark.
fn value_lines(mark: char, value: Option<&Value>) -> Vec<(char, String)> {
    let text = match value {
        None => "<unset>".to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(v @ (Value::Object(_) | Value::Array(_))) => {
            gitops_core::yaml::value_to_string(v).trim_end().to_string()
        }
        Some(v) => v.to_string(),
    };
    text.lines()
        .enumerate()
        .map(|(i, line)| {
            let lead = if i == 0 { mark } else { ' ' };
            (mark, format!("{lead} {line}"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use gitops_core::ObjectRef;
    use serde_json::json;

    #[test]
    fn prints_as_fluxs_golden_diff() {
        // flux2 cmd/flux/testdata/diff-kustomization/diff-with-drifted-service.golden
        let entries = vec![
            DiffEntry {
                object: ObjectRef::new("apps", "Deployment", "default", "podinfo"),
                action: DiffAction::Created,
            },
            DiffEntry {
                object: ObjectRef::new("", "Service", "default", "podinfo"),
                action: DiffAction::Drifted(vec![Change {
                    path: "spec.ports[port=9898].port".into(),
                    kind: ChangeKind::Modified,
                    desired: Some(json!(9898)),
                    live: Some(json!(9899)),
                }]),
            },
            DiffEntry {
                object: ObjectRef::new("", "Secret", "default", "docker-secret"),
                action: DiffAction::Deleted,
            },
        ];
        assert_eq!(
            print(&entries, false),
            "► Deployment/default/podinfo created\n\
             ► Service/default/podinfo drifted\n\n\
             spec.ports[port=9898].port\n± value change\n- 9899\n+ 9898\n\n\
             ► Secret/default/docker-secret deleted\n"
        );
    }
}
