//! `gitops events [--for Kind/name]`: the Events of Flux objects, as `flux events` prints
//! them (flux2 `cmd/flux/events.go`): columns `LAST SEEN TYPE REASON OBJECT MESSAGE`, a
//! leading `NAMESPACE` under `-A`, oldest first. `--for Kustomization/name` also shows the
//! events of its source. Events of other kinds (Pods, Deployments...) are left out.

use std::io::Write;

use anyhow::Context;
use clap::Args;
use jiff::Timestamp;
use k8s_openapi::api::core::v1::Event;
use kube::Api;
use kube::api::ListParams;

use gitops_core::schedule::human_duration;

use super::block_on;
use super::kind::FluxKind;
use super::progress::Progress;
use super::reconcile::Target;
use super::table::render;
use crate::config_flags::ConfigFlags;

/// The kinds flux shows events of (flux2 `fluxKindMap`).
const FLUX_KINDS: [&str; 13] = [
    "GitRepository",
    "OCIRepository",
    "Bucket",
    "HelmRepository",
    "HelmChart",
    "Kustomization",
    "HelmRelease",
    "Alert",
    "Provider",
    "Receiver",
    "ImageRepository",
    "ImagePolicy",
    "ImageUpdateAutomation",
];

/// Arguments of `gitops events`.
#[derive(Debug, Args)]
pub struct EventsArgs {
    /// Only the events of this object, `Kind/name` (its source's too for a Kustomization),
    /// or of every object of a kind, `Kind`.
    #[arg(long = "for", value_name = "KIND/NAME")]
    pub for_object: Option<String>,
    /// The connection flags.
    #[command(flatten)]
    pub cluster: ConfigFlags,
}

/// Which events to show: `(kind, name, namespace)`, any name when `None`.
type Wanted = (String, Option<String>, Option<String>);

/// Runs `gitops events`, writing the table to `out`.
pub fn run(args: &EventsArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    block_on(events(args, out, Timestamp::now()))
}

async fn events(args: &EventsArgs, out: &mut dyn Write, now: Timestamp) -> anyhow::Result<()> {
    let client = args.cluster.client().await?;
    let scope = args.cluster.namespace_scope();
    let mut wanted: Vec<Wanted> = Vec::new();
    if let Some(selector) = &args.for_object {
        let (kind, name) = match selector.split_once('/') {
            Some((k, n)) => (k, Some(n)),
            None => (selector.as_str(), None),
        };
        let Some(kind) = FLUX_KINDS.iter().find(|k| k.eq_ignore_ascii_case(kind)) else {
            anyhow::bail!("--for: '{kind}' is not a Flux kind; use one of {FLUX_KINDS:?}");
        };
        wanted.push((kind.to_string(), name.map(str::to_string), None));
        if let (Some(name), true) = (name, *kind == "Kustomization") {
            let ks = Target::named(
                &client,
                FluxKind::Kustomization,
                name,
                &args.cluster.namespace,
            )
            .get()
            .await?;
            let source = &ks["spec"]["sourceRef"];
            if let (Some(k), Some(n)) = (source["kind"].as_str(), source["name"].as_str()) {
                let ns = source["namespace"].as_str().map(str::to_string);
                wanted.push((k.to_string(), Some(n.to_string()), ns));
            }
        }
    }
    let mut namespaces: Vec<Option<String>> = vec![scope.map(str::to_string)];
    for (_, _, ns) in &wanted {
        if ns.is_some() && !namespaces.contains(ns) && scope.is_some() {
            namespaces.push(ns.clone());
        }
    }
    let mut found: Vec<Event> = Vec::new();
    for ns in &namespaces {
        let api: Api<Event> = match ns {
            Some(ns) => Api::namespaced(client.clone(), ns),
            None => Api::all(client.clone()),
        };
        let list = api
            .list(&ListParams::default())
            .await
            .context("cannot list events")?;
        found.extend(list.items);
    }
    let default_ns = args.cluster.namespace.clone();
    found.retain(|e| {
        let o = &e.involved_object;
        let kind = o.kind.as_deref().unwrap_or_default();
        let name = o.name.as_deref().unwrap_or_default();
        let namespace = e.metadata.namespace.as_deref().unwrap_or_default();
        FLUX_KINDS.contains(&kind)
            && (wanted.is_empty()
                || wanted.iter().any(|(k, n, ns)| {
                    k == kind
                        && n.as_deref().is_none_or(|n| n == name)
                        && (scope.is_none() || ns.as_deref().unwrap_or(&default_ns) == namespace)
                }))
    });
    if found.is_empty() {
        let message = match scope {
            Some(ns) => format!("No events found in {ns} namespace."),
            None => "No events found.".to_string(),
        };
        Progress.failure(&message);
        return Ok(());
    }
    found.sort_by_key(last_time);
    let show_namespace = scope.is_none() || namespaces.len() > 1;
    let rows: Vec<Vec<String>> = found.iter().map(|e| row(e, show_namespace, now)).collect();
    let mut headers = vec!["Last seen", "Type", "Reason", "Object", "Message"];
    if show_namespace {
        headers.insert(0, "Namespace");
    }
    out.write_all(render(&headers, &rows).as_bytes())
        .context("cannot write the output")?;
    Ok(())
}

/// When an event last happened: its `lastTimestamp`, else `eventTime`, else
/// `firstTimestamp`.
fn last_time(e: &Event) -> Option<Timestamp> {
    e.last_timestamp
        .as_ref()
        .map(|t| t.0)
        .or_else(|| e.event_time.as_ref().map(|t| t.0))
        .or_else(|| e.first_timestamp.as_ref().map(|t| t.0))
}

/// When an event first happened.
fn first_time(e: &Event) -> Option<Timestamp> {
    e.event_time
        .as_ref()
        .map(|t| t.0)
        .or_else(|| e.first_timestamp.as_ref().map(|t| t.0))
}

/// One event's row (flux's `getEventRow`, `getLastSeen`).
fn row(e: &Event, show_namespace: bool, now: Timestamp) -> Vec<String> {
    let since = |t: Option<Timestamp>| match t {
        Some(t) => human_duration(now.duration_since(t).as_nanos()),
        None => "<unknown>".to_string(),
    };
    let count = e.count.unwrap_or(0);
    let last_seen = if count > 1 {
        format!(
            "{} (x{count} over {})",
            since(last_time(e)),
            since(first_time(e))
        )
    } else {
        since(first_time(e))
    };
    let o = &e.involved_object;
    let mut row = Vec::with_capacity(6);
    if show_namespace {
        row.push(e.metadata.namespace.clone().unwrap_or_default());
    }
    row.push(last_seen);
    row.push(e.type_.clone().unwrap_or_default());
    row.push(e.reason.clone().unwrap_or_default());
    row.push(format!(
        "{}/{}",
        o.kind.as_deref().unwrap_or_default(),
        o.name.as_deref().unwrap_or_default()
    ));
    row.push(e.message.clone().unwrap_or_default());
    row
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_kubectls() {
        let human_duration = |seconds: i128| human_duration(seconds * 1_000_000_000);
        assert_eq!(human_duration(45), "45s");
        assert_eq!(human_duration(303), "5m3s");
        assert_eq!(human_duration(45 * 60), "45m");
        assert_eq!(human_duration(5 * 3600 + 1800), "5h30m");
        assert_eq!(human_duration(20 * 3600), "20h");
        assert_eq!(human_duration(3 * 86400 + 4 * 3600), "3d4h");
        assert_eq!(human_duration(30 * 86400), "30d");
    }
}
