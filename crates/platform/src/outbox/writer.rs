//! The units of work's side of the outbox: which events are worth writing, and the
//! signal that wakes the relay when a transaction that wrote some has committed.

use std::collections::BTreeSet;
use std::sync::{Arc, OnceLock};

use taskdeck_kernel::{EventEnvelope, RecordedEvent, StoreError};

use super::{EventHandler, RelaySignal};
use crate::trace;

/// Shared by every unit of work of a process. Events no handler subscribes to would
/// only be written and deleted again, so once the relay is built from its handlers
/// ([`super::Relay::new`]) the writer keeps only the types they subscribe to: the
/// filter is derived from the handlers, never declared beside them. Until then (and
/// in tests that build no relay) it keeps every event.
#[derive(Debug, Clone, Default)]
pub struct OutboxWriter {
    subscribed: Arc<OnceLock<BTreeSet<&'static str>>>,
    signal: RelaySignal,
}

impl OutboxWriter {
    /// A writer that keeps every event until handlers subscribe.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// From now on, keeps only the event types `handlers` subscribe to. A process has
    /// one relay: a second call changes nothing and is reported.
    pub fn subscribe(&self, handlers: &[Arc<dyn EventHandler>]) {
        let types = handlers.iter().flat_map(|handler| handler.event_types().iter().copied()).collect();
        if self.subscribed.set(types).is_err() {
            tracing::warn!("the outbox's subscriptions were already set; the first relay's handlers decide");
        }
    }

    /// Whether events of this type are written to the outbox.
    #[must_use]
    pub fn keeps(&self, event_type: &str) -> bool {
        self.subscribed.get().is_none_or(|types| types.contains(event_type))
    }

    /// The envelopes of the events worth writing; the others are never serialised.
    ///
    /// # Errors
    /// `StoreError::Backend` if an event cannot be written as JSON (a bug in its type).
    pub fn envelopes<E: RecordedEvent>(&self, events: &[E]) -> Result<Vec<EventEnvelope>, StoreError> {
        events
            .iter()
            .filter(|event| self.keeps(event.event_type()))
            .map(|event| {
                let mut envelope = event.to_envelope().map_err(StoreError::backend)?;
                if envelope.trace_parent.is_none() {
                    envelope.trace_parent = trace::current().map(|parent| parent.as_str().to_owned());
                }
                Ok(envelope)
            })
            .collect()
    }

    /// The signal the relay waits on.
    #[must_use]
    pub fn signal(&self) -> &RelaySignal {
        &self.signal
    }

    /// Called by a unit of work after its commit: wakes the relay if it wrote events.
    pub fn committed(&self, events_written: usize) {
        if events_written > 0 {
            self.signal.notify();
        }
    }
}

#[cfg(test)]
mod tests {
    use serde::Serialize;
    use time::OffsetDateTime;

    use super::*;
    use crate::outbox::HandlerFuture;

    #[derive(Debug, Serialize)]
    struct Happened(&'static str);

    impl RecordedEvent for Happened {
        fn event_type(&self) -> &str {
            self.0
        }

        fn to_envelope(&self) -> Result<EventEnvelope, serde_json::Error> {
            Ok(EventEnvelope {
                trace_parent: None,
                id: taskdeck_kernel::EventId::generate(),
                event_type: self.0.to_owned(),
                aggregate_type: "test".to_owned(),
                aggregate_id: "1".to_owned(),
                occurred_at: OffsetDateTime::UNIX_EPOCH,
                payload: serde_json::to_value(self)?,
            })
        }
    }

    #[derive(Debug)]
    struct Wants(&'static [&'static str]);

    impl EventHandler for Wants {
        fn name(&self) -> &'static str {
            "wants"
        }

        fn event_types(&self) -> &'static [&'static str] {
            self.0
        }

        fn handle<'a>(&'a self, _event: &'a EventEnvelope) -> HandlerFuture<'a> {
            Box::pin(async { Ok(()) })
        }
    }

    #[test]
    fn before_handlers_subscribe_every_event_is_kept() {
        let writer = OutboxWriter::new();
        assert_eq!(writer.envelopes(&[Happened("a.A.v1"), Happened("b.B.v1")]).unwrap().len(), 2);
    }

    #[test]
    fn once_handlers_subscribe_only_their_event_types_are_kept() {
        let writer = OutboxWriter::new();
        let handlers: Vec<Arc<dyn EventHandler>> = vec![Arc::new(Wants(&["a.A.v1"])), Arc::new(Wants(&["c.C.v1"]))];
        writer.subscribe(&handlers);
        let kept = writer.envelopes(&[Happened("a.A.v1"), Happened("b.B.v1"), Happened("c.C.v1")]).unwrap();
        let types: Vec<&str> = kept.iter().map(|envelope| envelope.event_type.as_str()).collect();
        assert_eq!(types, ["a.A.v1", "c.C.v1"]);
        let clone = writer.clone();
        assert!(!clone.keeps("b.B.v1"), "every clone shares the subscriptions");
    }

    #[test]
    fn the_first_subscription_stays() {
        let writer = OutboxWriter::new();
        writer.subscribe(&[Arc::new(Wants(&["a.A.v1"])) as Arc<dyn EventHandler>]);
        writer.subscribe(&[Arc::new(Wants(&["b.B.v1"])) as Arc<dyn EventHandler>]);
        assert!(writer.keeps("a.A.v1"));
        assert!(!writer.keeps("b.B.v1"));
    }
}
