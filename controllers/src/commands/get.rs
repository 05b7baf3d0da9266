//! `gitops get sources git [NAME]` and `gitops get kustomizations [NAME]`: the objects and
//! their status, as `flux get` prints them (flux2 `cmd/flux/get.go`): columns `NAME REVISION
//! SUSPENDED READY MESSAGE`, with a leading `NAMESPACE` under `-A`; revisions and messages with
//! their hashes cut to 8 digits; `False` and `waiting to be reconciled` before the first
//! status. `-w` prints a row each time an object changes, until Ctrl-C; `-o yaml|json`
//! prints the objects as the API server returns them (one object for a NAME, a `List`
//! otherwise).
//!
//! Nothing found is a failure (exit 1), as flux has it: `no GitRepository objects found in
//! "flux-system" namespace`, `GitRepository object 'podinfo' not found in "flux-system"
//! namespace`.

use std::io::Write;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use futures::TryStreamExt;
use kube::api::ListParams;
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::{Value, json};

use super::kind::{FluxKind, condition, suspended, to_value};
use super::table::{render, truncate_hex};
use super::{Failed, block_on};
use crate::config_flags::ConfigFlags;

/// Arguments of `gitops get`.
#[derive(Debug, Args)]
pub struct GetArgs {
    /// What to get.
    #[command(subcommand)]
    pub target: GetTarget,
}

/// The kinds `gitops get` lists.
#[derive(Debug, Subcommand)]
pub enum GetTarget {
    /// Get the sources and their status.
    #[command(alias = "source")]
    Sources {
        /// The source kind.
        #[command(subcommand)]
        kind: SourceKind,
    },
    /// Get Kustomization statuses.
    #[command(aliases = ["ks", "kustomization"])]
    Kustomizations(ListArgs),
}

/// The source kinds.
#[derive(Debug, Subcommand)]
pub enum SourceKind {
    /// Get GitRepository source statuses.
    Git(ListArgs),
}

/// The output formats of `-o`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// The objects as YAML.
    Yaml,
    /// The objects as JSON.
    Json,
}

/// The flags of a `get` command.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only the object of this name.
    pub name: Option<String>,
    /// After listing, print a row each time an object changes, until Ctrl-C.
    #[arg(short = 'w', long)]
    pub watch: bool,
    /// Print the objects as the API server returns them instead of a table.
    #[arg(short = 'o', long, value_enum, conflicts_with = "watch")]
    pub output: Option<Output>,
    /// Skip the header line.
    #[arg(long)]
    pub no_header: bool,
    /// The connection flags.
    #[command(flatten)]
    pub cluster: ConfigFlags,
}

/// Runs `gitops get`, writing the results to `out`.
pub fn run(args: &GetArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let (kind, list) = match &args.target {
        GetTarget::Sources {
            kind: SourceKind::Git(list),
        } => (FluxKind::GitRepository, list),
        GetTarget::Kustomizations(list) => (FluxKind::Kustomization, list),
    };
    block_on(get(kind, list, out))
}

/// The header of a kind's table.
pub fn headers(all_namespaces: bool) -> Vec<&'static str> {
    let mut headers = vec!["Name", "Revision", "Suspended", "Ready", "Message"];
    if all_namespaces {
        headers.insert(0, "Namespace");
    }
    headers
}

/// One object's row: flux's `summariseItem`.
pub fn row(kind: FluxKind, object: &Value, all_namespaces: bool) -> Vec<String> {
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let (status, message) = match condition(object, "Ready") {
        Some(c) => (text(&c["status"]), text(&c["message"])),
        None => ("False".to_string(), "waiting to be reconciled".to_string()),
    };
    let mut row = Vec::with_capacity(6);
    if all_namespaces {
        row.push(text(&object["metadata"]["namespace"]));
    }
    row.push(text(&object["metadata"]["name"]));
    row.push(truncate_hex(kind.revision(object)));
    row.push(if suspended(object) { "True" } else { "False" }.to_string());
    row.push(status);
    row.push(truncate_hex(&message));
    row
}

/// `"flux-system"`, or `any` under `-A`: how flux names the scope in its messages.
fn scope(cluster: &ConfigFlags) -> String {
    match cluster.namespace_scope() {
        Some(ns) => format!("{ns:?}"),
        None => "any".to_string(),
    }
}

async fn get(kind: FluxKind, args: &ListArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let client = args.cluster.client().await?;
    let api = kind.api(&client, args.cluster.namespace_scope());
    let mut params = ListParams::default();
    if let Some(name) = &args.name {
        params = params.fields(&format!("metadata.name={name}"));
    }
    let all = args.cluster.all_namespaces;
    if args.watch {
        return watch(kind, args, api, params, out).await;
    }
    let resource = kind.resource();
    let list = api
        .list(&params)
        .await
        .with_context(|| format!("cannot list {} objects", kind.kind()))?;
    let mut objects: Vec<Value> = list
        .items
        .into_iter()
        .map(|o| to_value(o, &resource))
        .collect();
    if objects.is_empty() {
        return Err(match &args.name {
            Some(name) => Failed(format!(
                "{} object '{name}' not found in {} namespace",
                kind.kind(),
                scope(&args.cluster)
            )),
            None => Failed(format!(
                "no {} objects found in {} namespace",
                kind.kind(),
                scope(&args.cluster)
            )),
        }
        .into());
    }
    objects.sort_by(|a, b| {
        let key = |o: &Value| {
            (
                o["metadata"]["namespace"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                o["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        };
        key(a).cmp(&key(b))
    });
    let text = match args.output {
        Some(format) => {
            let value = if args.name.is_some() && objects.len() == 1 {
                objects.remove(0)
            } else {
                json!({"apiVersion": "v1", "kind": "List", "items": objects,
                       "metadata": {"resourceVersion": ""}})
            };
            match format {
                Output::Json => format!("{}\n", serde_json::to_string_pretty(&value)?),
                Output::Yaml => gitops_core::yaml::value_to_string(&value),
            }
        }
        None => {
            let rows: Vec<Vec<String>> = objects.iter().map(|o| row(kind, o, all)).collect();
            let headers = if args.no_header {
                Vec::new()
            } else {
                headers(all)
            };
            render(&headers, &rows)
        }
    };
    out.write_all(text.as_bytes())
        .context("cannot write the output")?;
    Ok(())
}

/// Prints the objects as they are, then a row each time one changes, until Ctrl-C.
async fn watch(
    kind: FluxKind,
    args: &ListArgs,
    api: kube::Api<kube::api::DynamicObject>,
    params: ListParams,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let all = args.cluster.all_namespaces;
    let resource = kind.resource();
    let mut config = watcher::Config::default();
    if let Some(fields) = params.field_selector {
        config = config.fields(&fields);
    }
    let mut first = !args.no_header;
    let stream = watcher(api, config).default_backoff();
    let mut stream = std::pin::pin!(stream);
    let interrupted = tokio::signal::ctrl_c();
    let mut interrupted = std::pin::pin!(interrupted);
    loop {
        let event = tokio::select! {
            _ = &mut interrupted => return Ok(()),
            event = stream.try_next() => event,
        };
        let object = match event.with_context(|| format!("cannot watch {} objects", kind.kind()))? {
            Some(watcher::Event::Apply(o) | watcher::Event::InitApply(o)) => o,
            Some(_) => continue,
            None => return Ok(()),
        };
        let row = row(kind, &to_value(object, &resource), all);
        let headers = if first { headers(all) } else { Vec::new() };
        first = false;
        out.write_all(render(&headers, &[row]).as_bytes())
            .context("cannot write the output")?;
        out.flush().context("cannot write the output")?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_before_the_first_status_waits_to_be_reconciled() {
        let object = json!({"metadata": {"name": "podinfo", "namespace": "flux-system"},
                            "spec": {"suspend": true}});
        assert_eq!(
            row(FluxKind::Kustomization, &object, true),
            [
                "flux-system",
                "podinfo",
                "",
                "True",
                "False",
                "waiting to be reconciled"
            ]
        );
    }
}
