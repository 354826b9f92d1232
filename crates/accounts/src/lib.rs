//! The `accounts` bounded context: registration, login and email changes.
//!
//! `domain` holds the `User` aggregate and its value objects; `application` holds one
//! module per use case and the ports those use cases need. Neither performs I/O:
//! adapters implement the ports.

pub mod application;
pub mod domain;

#[cfg(any(test, feature = "testing"))]
pub mod testing;
