//! Shared kernel of taskdeck: the few concepts both bounded contexts agree on.
//!
//! It holds identifiers, the email value object, the clock port, the event envelope
//! and the integration event contracts that cross context boundaries. Nothing here
//! performs I/O.

pub mod clock;
pub mod email;
pub mod events;
pub mod idempotency;
pub mod retry;
pub mod store;
#[cfg(feature = "testing")]
pub mod testing;
pub mod user_id;

pub use clock::{Clock, FixedClock, SystemClock};
pub use email::{EmailAddress, EmailAddressError};
pub use events::{DomainEvent, EventEnvelope, EventId, RecordedEvent, UserAccountCreated, UserAccountDeleted};
pub use idempotency::{IdempotencyClaim, IdempotencyKey, InvalidIdempotencyKey, Receipt, RecordedAnswer};
pub use retry::{ConflictAware, retry_on_conflict};
pub use store::StoreError;
pub use user_id::UserId;
