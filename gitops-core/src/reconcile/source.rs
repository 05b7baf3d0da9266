//! The GitRepository reconciler: fetch, store, report; keep the last artifact on failure.

use super::{Clock, Event, EventType, Fetched, Finalizer, Outcome, Requeue, Source};
use crate::api::GitRepository;
use crate::schedule;
use crate::status::{ConditionStatus, Conditions, GitRepositoryStatus, condition, message, reason};
use crate::{Error, SourceFailure};

/// Reconciles GitRepositories: the decisions of Flux's source controller.
pub struct GitRepositoryReconciler<'a> {
    /// Fetches and stores artifacts.
    pub source: &'a dyn Source,
    /// The time.
    pub clock: &'a dyn Clock,
    /// `--interval-jitter-percentage` as a fraction.
    pub jitter: f64,
}

impl<'a> GitRepositoryReconciler<'a> {
    /// A reconciler with Flux's default jitter.
    pub fn new(source: &'a dyn Source, clock: &'a dyn Clock) -> Self {
        Self {
            source,
            clock,
            jitter: schedule::DEFAULT_JITTER,
        }
    }

    /// Reconciles one GitRepository.
    pub async fn reconcile(&self, repo: &GitRepository) -> Outcome<GitRepositoryStatus> {
        let mut status = repo.status.clone();
        let generation = repo.metadata.generation;
        if repo.metadata.deletion_timestamp.is_some() {
            // Artifacts of a deleted source are collected by the store's owner.
            return outcome(status, Requeue::Never, Vec::new(), Finalizer::Remove);
        }
        let finalizer = if repo.metadata.has_finalizer() {
            Finalizer::Keep
        } else {
            Finalizer::Add
        };
        if repo.spec.suspend {
            return outcome(status, Requeue::Never, Vec::new(), finalizer);
        }
        let now = self.clock.now();
        let interval = match repo.interval() {
            Ok(i) => i,
            Err(e) => return stalled(status, generation, now, e, finalizer),
        };
        if let Err(e) = repo.timeout() {
            return stalled(status, generation, now, e, finalizer);
        }
        // A field Flux acts on and this implementation does not: building the artifact
        // anyway would not be what the user asked for.
        let unsupported = repo.unsupported_fields();
        if !unsupported.is_empty() {
            let message = format!(
                "{} not supported by this controller yet; remove {} or reconcile this GitRepository with Flux",
                unsupported.join(", "),
                if unsupported.len() == 1 { "it" } else { "them" }
            );
            return stalled_with(
                status,
                generation,
                now,
                reason::UNSUPPORTED_FIELD,
                message,
                finalizer,
            );
        }
        let conditions = &mut status.conditions;
        conditions.set(
            condition::RECONCILING,
            ConditionStatus::True,
            reason::PROGRESSING,
            message::RECONCILIATION_IN_PROGRESS,
            generation,
            now,
        );

        // A change of content-affecting configuration forces a rebuild at the same commit.
        let config_unchanged = status.observed_ignore == repo.spec.ignore;
        let last = status.artifact.as_ref().filter(|_| config_unchanged);
        let mut events = Vec::new();
        let requeue = match self.source.fetch(repo, last).await {
            Ok(Fetched::Unchanged) => {
                let Some(artifact) = &status.artifact else {
                    let e = Error::Source {
                        reason: SourceFailure::Git,
                        message: "source reported no change but no artifact is stored".into(),
                    };
                    let mut out = failed(status, generation, now, &e, finalizer);
                    finish(&mut out.status, repo);
                    return out;
                };
                let msg = message::stored_artifact(&artifact.revision);
                mark_stored(&mut status.conditions, &msg, generation, now);
                Requeue::After(self.next(repo, interval, now))
            }
            Ok(Fetched::Stored { artifact, subject }) => {
                let msg = message::stored_artifact(&artifact.revision);
                events.push(
                    Event::new(
                        EventType::Normal,
                        "NewArtifact",
                        format!("stored artifact for commit '{}'", short_subject(&subject)),
                    )
                    .with(
                        "source.toolkit.fluxcd.io/revision",
                        artifact.revision.to_string(),
                    )
                    .with(
                        "source.toolkit.fluxcd.io/digest",
                        artifact.digest.to_string(),
                    ),
                );
                status.artifact = Some(artifact);
                status.observed_ignore = repo.spec.ignore.clone();
                mark_stored(&mut status.conditions, &msg, generation, now);
                Requeue::After(self.next(repo, interval, now))
            }
            Err(e) => {
                let mut out = failed(status, generation, now, &e, finalizer);
                finish(&mut out.status, repo);
                return out;
            }
        };
        finish(&mut status, repo);
        Outcome {
            status,
            requeue,
            events,
            finalizer,
        }
    }

    fn next(
        &self,
        repo: &GitRepository,
        interval: std::time::Duration,
        now: jiff::Timestamp,
    ) -> std::time::Duration {
        let key = format!("{}/{}", repo.metadata.namespace, repo.metadata.name);
        schedule::jittered(interval, self.jitter, schedule::seed(&key, now.as_second()))
    }
}

fn mark_stored(conditions: &mut Conditions, msg: &str, generation: i64, now: jiff::Timestamp) {
    for c in [condition::READY, condition::ARTIFACT_IN_STORAGE] {
        conditions.set(
            c,
            ConditionStatus::True,
            reason::SUCCEEDED,
            msg,
            generation,
            now,
        );
    }
    for c in [
        condition::FETCH_FAILED,
        condition::ARTIFACT_OUTDATED,
        condition::STORAGE_OPERATION_FAILED,
        condition::STALLED,
    ] {
        conditions.remove(c);
    }
}

/// A failed fetch: Ready=False and FetchFailed=True with the failure's reason; the stored
/// artifact and its ArtifactInStorage condition are left as they were.
fn failed(
    mut status: GitRepositoryStatus,
    generation: i64,
    now: jiff::Timestamp,
    error: &Error,
    finalizer: Finalizer,
) -> Outcome<GitRepositoryStatus> {
    let (failure_condition, why) = match error {
        Error::Source { reason: r, .. } => match r {
            SourceFailure::Authentication => {
                (condition::FETCH_FAILED, reason::AUTHENTICATION_FAILED)
            }
            SourceFailure::Url => (condition::FETCH_FAILED, reason::URL_INVALID),
            SourceFailure::Storage => (
                condition::STORAGE_OPERATION_FAILED,
                reason::ARCHIVE_OPERATION_FAILED,
            ),
            _ => (condition::FETCH_FAILED, reason::GIT_OPERATION_FAILED),
        },
        _ => (condition::FETCH_FAILED, reason::GIT_OPERATION_FAILED),
    };
    let msg = error.to_string();
    let c = &mut status.conditions;
    c.set(
        failure_condition,
        ConditionStatus::True,
        why,
        &msg,
        generation,
        now,
    );
    c.set(
        condition::READY,
        ConditionStatus::False,
        why,
        &msg,
        generation,
        now,
    );
    c.set(
        condition::RECONCILING,
        ConditionStatus::True,
        reason::PROGRESSING_WITH_RETRY,
        message::RECONCILIATION_IN_PROGRESS,
        generation,
        now,
    );
    let events = vec![Event::new(EventType::Warning, why, msg)];
    Outcome {
        status,
        requeue: Requeue::Backoff,
        events,
        finalizer,
    }
}

/// A spec no retry can fix: Stalled=True, no requeue until the object changes.
fn stalled(
    status: GitRepositoryStatus,
    generation: i64,
    now: jiff::Timestamp,
    error: Error,
    finalizer: Finalizer,
) -> Outcome<GitRepositoryStatus> {
    stalled_with(
        status,
        generation,
        now,
        reason::INVALID_SPEC,
        error.to_string(),
        finalizer,
    )
}

/// [`stalled`] with its reason and message; the stored artifact is left as it is.
fn stalled_with(
    mut status: GitRepositoryStatus,
    generation: i64,
    now: jiff::Timestamp,
    why: &str,
    msg: String,
    finalizer: Finalizer,
) -> Outcome<GitRepositoryStatus> {
    let c = &mut status.conditions;
    c.set(
        condition::STALLED,
        ConditionStatus::True,
        why,
        &msg,
        generation,
        now,
    );
    c.set(
        condition::READY,
        ConditionStatus::False,
        why,
        &msg,
        generation,
        now,
    );
    c.remove(condition::RECONCILING);
    outcome(
        status,
        Requeue::Never,
        vec![Event::new(EventType::Warning, why, msg)],
        finalizer,
    )
}

/// Flux's `finalizeStatus`: record the handled request, and on success the generation.
fn finish(status: &mut GitRepositoryStatus, repo: &GitRepository) {
    if let Some(v) = repo.metadata.requested_at() {
        status.last_handled_reconcile_at = Some(v.to_string());
    }
    if status.conditions.is_true(condition::READY) {
        status.conditions.remove(condition::RECONCILING);
        status.observed_generation = repo.metadata.generation;
    }
}

fn outcome(
    status: GitRepositoryStatus,
    requeue: Requeue,
    events: Vec<Event>,
    finalizer: Finalizer,
) -> Outcome<GitRepositoryStatus> {
    Outcome {
        status,
        requeue,
        events,
        finalizer,
    }
}

/// The first line of a commit message, cut to 50 characters plus `...` as Flux does.
pub(crate) fn short_subject(message: &str) -> String {
    let line = message.lines().next().unwrap_or_default();
    if line.chars().count() > 50 {
        format!("{}...", line.chars().take(50).collect::<String>())
    } else {
        line.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_are_shortened() {
        assert_eq!(short_subject("fix: a\n\nbody"), "fix: a");
        let long = "x".repeat(60);
        assert_eq!(short_subject(&long), format!("{}...", "x".repeat(50)));
    }
}
