//! Events the `User` aggregate records.

use serde::Serialize;
use taskdeck_kernel::{DomainEvent, EventEnvelope, RecordedEvent, UserAccountCreated, UserAccountDeleted, UserId};
use time::OffsetDateTime;

/// The user changed the address they sign in with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserEmailChanged {
    pub user_id: UserId,
    pub email: String,
    #[serde(with = "time::serde::rfc3339")]
    pub occurred_at: OffsetDateTime,
}

impl DomainEvent for UserEmailChanged {
    fn event_type(&self) -> &'static str {
        "accounts.UserEmailChanged.v1"
    }

    fn aggregate_type(&self) -> &'static str {
        "user"
    }

    fn aggregate_id(&self) -> String {
        self.user_id.to_string()
    }

    fn occurred_at(&self) -> OffsetDateTime {
        self.occurred_at
    }
}

/// Everything a `User` can record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountEvent {
    Created(UserAccountCreated),
    EmailChanged(UserEmailChanged),
    Deleted(UserAccountDeleted),
}

impl RecordedEvent for AccountEvent {
    fn event_type(&self) -> &str {
        match self {
            Self::Created(event) => event.event_type(),
            Self::EmailChanged(event) => event.event_type(),
            Self::Deleted(event) => event.event_type(),
        }
    }

    fn to_envelope(&self) -> Result<EventEnvelope, serde_json::Error> {
        match self {
            Self::Created(event) => EventEnvelope::wrap(event),
            Self::EmailChanged(event) => EventEnvelope::wrap(event),
            Self::Deleted(event) => EventEnvelope::wrap(event),
        }
    }
}
