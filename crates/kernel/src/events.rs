//! Domain events, the envelope they travel in through the outbox, and the
//! integration events one context publishes for another.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::UserId;

/// Identifies one event occurrence. Consumers record it to ignore redeliveries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EventId(Uuid);

impl EventId {
    /// A fresh id; version 7 so ids sort roughly by creation time.
    #[must_use]
    pub fn generate() -> Self {
        Self(Uuid::now_v7())
    }

    #[must_use]
    pub const fn from_uuid(id: Uuid) -> Self {
        Self(id)
    }

    #[must_use]
    pub const fn as_uuid(&self) -> Uuid {
        self.0
    }
}

/// Something that happened to an aggregate, worth telling others about.
pub trait DomainEvent: Serialize {
    /// Stable name of the event type, versioned (`context.Name.vN`).
    fn event_type(&self) -> &'static str;
    /// Kind of aggregate that recorded it, e.g. `user` or `project`.
    fn aggregate_type(&self) -> &'static str;
    /// The recording aggregate's id, as text; events of one aggregate are delivered in order.
    fn aggregate_id(&self) -> String;
    fn occurred_at(&self) -> OffsetDateTime;
}

/// An event an aggregate recorded, on its way to the outbox. Units of work ask for the
/// type first, so that an event nobody subscribes to is never serialised.
pub trait RecordedEvent {
    /// As [`DomainEvent::event_type`].
    fn event_type(&self) -> &str;

    /// Puts the event in its outbox envelope.
    ///
    /// # Errors
    /// Only if the event cannot be written as JSON, which would be a bug in its type.
    fn to_envelope(&self) -> Result<EventEnvelope, serde_json::Error>;
}

/// An event ready for the outbox: its identity, routing data and JSON payload.
#[derive(Debug, Clone, PartialEq)]
pub struct EventEnvelope {
    pub id: EventId,
    pub event_type: String,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub occurred_at: OffsetDateTime,
    pub payload: serde_json::Value,
    /// The W3C `traceparent` of the request that recorded the event, if it came with
    /// one: the work the event causes later is logged under the same trace.
    pub trace_parent: Option<String>,
}

impl EventEnvelope {
    /// Wraps an event under a fresh id.
    ///
    /// # Errors
    /// Fails only if the event cannot be represented as JSON, which would be a bug in
    /// the event type.
    pub fn wrap<E: DomainEvent>(event: &E) -> Result<Self, serde_json::Error> {
        Ok(Self {
            id: EventId::generate(),
            event_type: event.event_type().to_owned(),
            aggregate_type: event.aggregate_type().to_owned(),
            aggregate_id: event.aggregate_id(),
            occurred_at: event.occurred_at(),
            payload: serde_json::to_value(event)?,
            trace_parent: None,
        })
    }

    /// Reads the payload back as the event type a consumer expects.
    ///
    /// # Errors
    /// Fails when the payload does not have the shape of `E`.
    pub fn decode<E: DeserializeOwned>(&self) -> Result<E, serde_json::Error> {
        E::deserialize(&self.payload)
    }
}

/// An envelope already is one: for code that handles events it did not record itself.
impl RecordedEvent for EventEnvelope {
    fn event_type(&self) -> &str {
        &self.event_type
    }

    fn to_envelope(&self) -> Result<EventEnvelope, serde_json::Error> {
        Ok(self.clone())
    }
}

/// Published by `accounts` when someone registers; `projects` reacts by creating the
/// user's starter project. This shape is a contract: change it only by adding a new
/// version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserAccountCreated {
    pub user_id: UserId,
    pub email: String,
    #[serde(with = "time::serde::rfc3339")]
    pub occurred_at: OffsetDateTime,
}

impl UserAccountCreated {
    pub const EVENT_TYPE: &'static str = "accounts.UserAccountCreated.v1";
}

impl DomainEvent for UserAccountCreated {
    fn event_type(&self) -> &'static str {
        Self::EVENT_TYPE
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

/// Published by `accounts` when someone erases their account; `projects` reacts by
/// erasing that user's projects and tasks. This shape is a contract: change it only by
/// adding a new version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserAccountDeleted {
    pub user_id: UserId,
    #[serde(with = "time::serde::rfc3339")]
    pub occurred_at: OffsetDateTime,
}

impl UserAccountDeleted {
    pub const EVENT_TYPE: &'static str = "accounts.UserAccountDeleted.v1";
}

impl DomainEvent for UserAccountDeleted {
    fn event_type(&self) -> &'static str {
        Self::EVENT_TYPE
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

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn an_envelope_carries_the_event_and_decodes_back_to_it() {
        let event = UserAccountCreated {
            user_id: UserId::generate(),
            email: "bob@example.com".into(),
            occurred_at: datetime!(2026-11-24 10:15:00 UTC),
        };
        let envelope = EventEnvelope::wrap(&event).unwrap();
        assert_eq!(envelope.event_type, "accounts.UserAccountCreated.v1");
        assert_eq!(envelope.aggregate_type, "user");
        assert_eq!(envelope.aggregate_id, event.user_id.to_string());
        assert_eq!(envelope.occurred_at, event.occurred_at);
        assert_eq!(envelope.decode::<UserAccountCreated>().unwrap(), event);
    }

    #[test]
    fn the_user_account_created_contract_uses_camel_case_json() {
        let event = UserAccountCreated {
            user_id: UserId::generate(),
            email: "bob@example.com".into(),
            occurred_at: datetime!(2026-11-24 10:15:00 UTC),
        };
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["userId"], event.user_id.to_string());
        assert_eq!(json["occurredAt"], "2026-11-24T10:15:00Z");
    }

    #[test]
    fn the_user_account_deleted_contract_uses_camel_case_json_and_the_users_aggregate() {
        let event = UserAccountDeleted { user_id: UserId::generate(), occurred_at: datetime!(2026-12-02 10:00:00 UTC) };
        let envelope = EventEnvelope::wrap(&event).unwrap();
        assert_eq!(envelope.event_type, "accounts.UserAccountDeleted.v1");
        assert_eq!(
            (envelope.aggregate_type.as_str(), envelope.aggregate_id.clone()),
            ("user", event.user_id.to_string())
        );
        assert_eq!(
            envelope.payload,
            serde_json::json!({"userId": event.user_id.to_string(), "occurredAt": "2026-12-02T10:00:00Z"})
        );
        assert_eq!(envelope.decode::<UserAccountDeleted>().unwrap(), event);
    }

    #[test]
    fn each_envelope_gets_its_own_id() {
        let event = UserAccountCreated {
            user_id: UserId::generate(),
            email: "bob@example.com".into(),
            occurred_at: datetime!(2026-11-24 10:15:00 UTC),
        };
        assert_ne!(EventEnvelope::wrap(&event).unwrap().id, EventEnvelope::wrap(&event).unwrap().id);
    }
}
