//! Events the `Project` aggregate records.

use serde::Serialize;
use taskdeck_kernel::{DomainEvent, EventEnvelope, RecordedEvent, UserId};
use time::OffsetDateTime;

use super::{ProjectId, TaskNumber};

/// Everything that can happen to a project. The JSON form is what the outbox stores.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum ProjectEvent {
    ProjectCreated {
        project_id: ProjectId,
        owner: UserId,
        name: String,
        maximum_number_of_incomplete_tasks: Option<i64>,
        #[serde(with = "time::serde::rfc3339")]
        occurred_at: OffsetDateTime,
    },
    ProjectUpdated {
        project_id: ProjectId,
        name: String,
        maximum_number_of_incomplete_tasks: Option<i64>,
        #[serde(with = "time::serde::rfc3339")]
        occurred_at: OffsetDateTime,
    },
    TaskAdded {
        project_id: ProjectId,
        number: TaskNumber,
        name: String,
        #[serde(with = "time::serde::rfc3339")]
        occurred_at: OffsetDateTime,
    },
    TaskCompleted {
        project_id: ProjectId,
        number: TaskNumber,
        #[serde(with = "time::serde::rfc3339")]
        occurred_at: OffsetDateTime,
    },
    TaskReopened {
        project_id: ProjectId,
        number: TaskNumber,
        #[serde(with = "time::serde::rfc3339")]
        occurred_at: OffsetDateTime,
    },
    ProjectArchived {
        project_id: ProjectId,
        #[serde(with = "time::serde::rfc3339")]
        occurred_at: OffsetDateTime,
    },
    ProjectUnarchived {
        project_id: ProjectId,
        #[serde(with = "time::serde::rfc3339")]
        occurred_at: OffsetDateTime,
    },
    ProjectDeleted {
        project_id: ProjectId,
        #[serde(with = "time::serde::rfc3339")]
        occurred_at: OffsetDateTime,
    },
}

impl ProjectEvent {
    fn project_id(&self) -> ProjectId {
        match self {
            Self::ProjectCreated { project_id, .. }
            | Self::ProjectUpdated { project_id, .. }
            | Self::TaskAdded { project_id, .. }
            | Self::TaskCompleted { project_id, .. }
            | Self::TaskReopened { project_id, .. }
            | Self::ProjectArchived { project_id, .. }
            | Self::ProjectUnarchived { project_id, .. }
            | Self::ProjectDeleted { project_id, .. } => *project_id,
        }
    }
}

impl RecordedEvent for ProjectEvent {
    fn event_type(&self) -> &str {
        DomainEvent::event_type(self)
    }

    fn to_envelope(&self) -> Result<EventEnvelope, serde_json::Error> {
        EventEnvelope::wrap(self)
    }
}

impl DomainEvent for ProjectEvent {
    fn event_type(&self) -> &'static str {
        match self {
            Self::ProjectCreated { .. } => "projects.ProjectCreated.v1",
            Self::ProjectUpdated { .. } => "projects.ProjectUpdated.v1",
            Self::TaskAdded { .. } => "projects.TaskAdded.v1",
            Self::TaskCompleted { .. } => "projects.TaskCompleted.v1",
            Self::TaskReopened { .. } => "projects.TaskReopened.v1",
            Self::ProjectArchived { .. } => "projects.ProjectArchived.v1",
            Self::ProjectUnarchived { .. } => "projects.ProjectUnarchived.v1",
            Self::ProjectDeleted { .. } => "projects.ProjectDeleted.v1",
        }
    }

    fn aggregate_type(&self) -> &'static str {
        "project"
    }

    fn aggregate_id(&self) -> String {
        self.project_id().to_string()
    }

    fn occurred_at(&self) -> OffsetDateTime {
        match self {
            Self::ProjectCreated { occurred_at, .. }
            | Self::ProjectUpdated { occurred_at, .. }
            | Self::TaskAdded { occurred_at, .. }
            | Self::TaskCompleted { occurred_at, .. }
            | Self::TaskReopened { occurred_at, .. }
            | Self::ProjectArchived { occurred_at, .. }
            | Self::ProjectUnarchived { occurred_at, .. }
            | Self::ProjectDeleted { occurred_at, .. } => *occurred_at,
        }
    }
}
