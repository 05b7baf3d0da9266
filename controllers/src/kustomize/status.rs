//! The status the controller writes: the core's [`KustomizationStatus`] as a merge patch of
//! what changed, so that a converged reconcile writes nothing and a status field the core
//! dropped (an inventory emptied, a revision cleared) is removed on the server too.

use gitops_core::status::KustomizationStatus;
use serde_json::{Map, Value};

/// The merge patch turning `before` into `after`, `None` when they are equal. Top-level
/// fields are replaced whole (conditions and the inventory are lists, which a merge patch
/// replaces anyway); a field present before and absent after is set to `null`.
pub fn status_patch(
    before: &KustomizationStatus,
    after: &KustomizationStatus,
) -> Result<Option<Value>, serde_json::Error> {
    let before = serde_json::to_value(before)?;
    let after = serde_json::to_value(after)?;
    if before == after {
        return Ok(None);
    }
    let empty = Map::new();
    let old = before.as_object().unwrap_or(&empty);
    let new = after.as_object().unwrap_or(&empty);
    let mut patch = Map::new();
    for (k, v) in new {
        if old.get(k) != Some(v) {
            patch.insert(k.clone(), v.clone());
        }
    }
    for k in old.keys() {
        if !new.contains_key(k) {
            patch.insert(k.clone(), Value::Null);
        }
    }
    Ok(Some(Value::Object(patch)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use gitops_core::status::{ConditionStatus, condition, reason};

    #[test]
    fn an_unchanged_status_is_not_written_and_a_dropped_field_is_nulled() {
        let mut before = KustomizationStatus::default();
        assert_eq!(status_patch(&before, &before.clone()).unwrap(), None);
        before.last_attempted_revision = Some(
            "main@sha1:132f4e719209eb10b9485302f8593fc0e680f4fc"
                .parse()
                .unwrap(),
        );
        let mut after = KustomizationStatus::default();
        after.conditions.set(
            condition::READY,
            ConditionStatus::True,
            reason::RECONCILIATION_SUCCEEDED,
            "Applied revision: main@sha1:132f4e719209eb10b9485302f8593fc0e680f4fc",
            1,
            "2026-01-01T00:00:00Z".parse().unwrap(),
        );
        let patch = status_patch(&before, &after).unwrap().unwrap();
        assert_eq!(patch["lastAttemptedRevision"], Value::Null);
        assert_eq!(patch["conditions"][0]["type"], "Ready");
        assert!(patch.get("observedGeneration").is_none(), "{patch}");
    }
}
