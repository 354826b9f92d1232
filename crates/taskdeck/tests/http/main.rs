//! The HTTP contract through the real application router, in process: one test
//! binary for every route (one link instead of one per file keeps CI's disk use and
//! build time down). `TASKDECK_TEST_BACKEND=postgres` runs the same tests on
//! PostgreSQL.

mod common;

mod accounts;
mod conditional;
mod errors;
mod hostile_text;
mod idempotency;
mod keys;
mod openapi;
mod operating;
mod pages;
mod projects;
mod sessions;
mod tasks;
mod throttling;
