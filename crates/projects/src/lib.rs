//! The `projects` bounded context: projects, their numbered tasks and the rules that
//! govern them (incomplete-task limit, archive, soft delete).
//!
//! `domain` holds the `Project` aggregate; `application` one module per use case, the
//! ports, and the reaction to `UserAccountCreated` that creates the starter project.

pub mod application;
pub mod domain;

#[cfg(any(test, feature = "testing"))]
pub mod testing;
