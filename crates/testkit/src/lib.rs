//! Test support for taskdeck's suites, kept out of every production crate (it is only
//! ever a dev-dependency):
//!
//! - [`TestBackend`]: the one way a test picks its backend, from
//!   `TASKDECK_TEST_BACKEND` or for each backend in turn ([`on_both_backends!`]);
//! - [`TestDatabase`]: the one temporary database, empty, on either backend, removed
//!   when the test ends;
//! - [`Client`]: the one HTTP client, for the application in process or the real
//!   binary over TCP, with the same requests and the same [`Reply`].

mod backend;
mod client;
mod database;

pub use backend::TestBackend;
pub use client::{Client, FORM, IN_PROCESS_PEER, JSON, Reply, TransportError};
pub use database::{TestDatabase, admin_execute, postgres_test_url};
