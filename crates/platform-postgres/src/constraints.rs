//! PostgreSQL's failed writes, sorted the platform's way ([`WriteError`]).

use taskdeck_kernel::StoreError;
use taskdeck_platform::{UniqueViolation, WriteError};

/// Sorts a failed statement: a unique violation names its constraint.
#[must_use]
pub fn write_error(error: sqlx::Error) -> WriteError {
    let constraint = error
        .as_database_error()
        .filter(|database| database.is_unique_violation())
        .map(|database| database.constraint().unwrap_or_default().to_owned());
    match constraint {
        Some(constraint) => WriteError::Unique(UniqueViolation::Constraint(constraint)),
        None => WriteError::Other(StoreError::backend(error)),
    }
}
