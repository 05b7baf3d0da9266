//! Kubernetes Events for the core's [`Event`]s, written as Flux's controllers write them:
//! `core/v1` Events from component `source-controller`, with the event's metadata (such as
//! `source.toolkit.fluxcd.io/revision`) as annotations, so `kubectl describe` and
//! `flux events` show the same lines.
//!
//! A repeated event (same object, type, reason and message) bumps the count and
//! `lastTimestamp` of the Event already written, as client-go's correlator does, instead of
//! adding one Event per retry. Failing to record an event is logged, never fatal.

use std::collections::HashMap;
use std::sync::Mutex;

use gitops_core::reconcile::{Event, EventType};
use k8s_openapi::api::core::v1::{Event as KubeEvent, ObjectReference};
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};
use serde_json::json;

/// What identifies a repeated event: the object's uid, type, reason and message.
type EventKey = (String, String, String, String);
/// Where the Event of a key was written: namespace, name and count so far.
type Written = (String, String, i32);

/// Records events on behalf of one controller component.
pub struct EventRecorder {
    client: kube::Client,
    component: String,
    instance: String,
    /// `(uid, type, reason, message)` → (namespace, Event name, count).
    seen: Mutex<HashMap<EventKey, Written>>,
}

impl std::fmt::Debug for EventRecorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventRecorder")
            .field("component", &self.component)
            .finish_non_exhaustive()
    }
}

fn kind(t: EventType) -> &'static str {
    match t {
        EventType::Normal => "Normal",
        EventType::Warning => "Warning",
    }
}

impl EventRecorder {
    /// A recorder writing as `component` (e.g. `source-controller`) from `instance` (the
    /// pod or host name).
    pub fn new(client: kube::Client, component: &str, instance: &str) -> Self {
        Self {
            client,
            component: component.into(),
            instance: instance.into(),
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Records `event` on the object `regarding`.
    pub async fn publish(&self, regarding: &ObjectReference, event: &Event) {
        if let Err(e) = self.try_publish(regarding, event).await {
            tracing::warn!(
                reason = %event.reason,
                object = ?regarding.name,
                error = %e,
                "cannot record event"
            );
        }
    }

    async fn try_publish(
        &self,
        regarding: &ObjectReference,
        event: &Event,
    ) -> Result<(), kube::Error> {
        let namespace = regarding
            .namespace
            .clone()
            .unwrap_or_else(|| "default".into());
        let api: Api<KubeEvent> = Api::namespaced(self.client.clone(), &namespace);
        let now = jiff::Timestamp::now();
        let stamp = jiff::Timestamp::from_second(now.as_second()).unwrap_or(now);
        let key = (
            regarding.uid.clone().unwrap_or_default(),
            kind(event.type_).to_string(),
            event.reason.clone(),
            event.message.clone(),
        );
        let repeat = self.lock().get(&key).cloned();
        if let Some((ns, name, count)) = repeat {
            let patch = json!({"count": count + 1, "lastTimestamp": stamp.to_string()});
            let api: Api<KubeEvent> = Api::namespaced(self.client.clone(), &ns);
            match api
                .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
            {
                Ok(_) => {
                    self.lock().insert(key, (ns, name, count + 1));
                    return Ok(());
                }
                // Expired or deleted: write a new one.
                Err(kube::Error::Api(s)) if s.code == 404 => {}
                Err(e) => return Err(e),
            }
        }
        let object_name = regarding.name.clone().unwrap_or_else(|| "object".into());
        let name = format!("{object_name}.{:x}", now.as_nanosecond());
        let body: KubeEvent = serde_json::from_value(json!({
            "metadata": {
                "name": name,
                "namespace": namespace,
                "annotations": event.metadata,
            },
            "involvedObject": regarding,
            "reason": event.reason,
            "message": event.message,
            "type": kind(event.type_),
            "source": {"component": self.component},
            "firstTimestamp": stamp.to_string(),
            "lastTimestamp": stamp.to_string(),
            "count": 1,
            "reportingComponent": self.component,
            "reportingInstance": self.instance,
        }))
        .map_err(kube::Error::SerdeError)?;
        api.create(&PostParams::default(), &body).await?;
        let mut seen = self.lock();
        // Bounded: a long-running controller forgets old events (they expire on the
        // server after an hour anyway).
        if seen.len() > 4096 {
            seen.clear();
        }
        seen.insert(key, (namespace, name, 1));
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<EventKey, Written>> {
        self.seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
