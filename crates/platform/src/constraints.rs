//! Uniqueness violations, recognised one way on every backend. A repository names the
//! unique keys whose violation means something in its domain (an email address that is
//! taken); any other uniqueness violation is a lost race between two writers
//! (`StoreError::Conflict`), and every other failure a backend fault.

use taskdeck_kernel::StoreError;

/// A unique key (or primary key) of a table, as its migration declares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UniqueKey {
    pub table: &'static str,
    /// The key's columns, in declaration order: SQLite reports a violation by these.
    pub columns: &'static [&'static str],
    /// The constraint's name on PostgreSQL, which reports a violation by it.
    pub constraint: &'static str,
}

/// A violated unique key, as the backend reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UniqueViolation {
    /// The `table.column` names SQLite lists, e.g. `tasks.project_id, tasks.number`.
    Columns(String),
    /// The constraint PostgreSQL names.
    Constraint(String),
}

impl UniqueViolation {
    /// Whether this is a violation of `key`.
    #[must_use]
    pub fn is_of(&self, key: &UniqueKey) -> bool {
        match self {
            Self::Columns(reported) => {
                let mut reported = reported.split(',').map(str::trim);
                key.columns
                    .iter()
                    .all(|column| reported.next().is_some_and(|name| name.split_once('.') == Some((key.table, column))))
                    && reported.next().is_none()
            }
            Self::Constraint(name) => name == key.constraint,
        }
    }
}

/// A failed write, sorted for the repository.
#[derive(Debug)]
pub enum WriteError {
    Unique(UniqueViolation),
    Other(StoreError),
}

impl WriteError {
    /// The repository's error: a violation of `key` becomes `on_key`, any other
    /// uniqueness violation a conflict, anything else a backend failure.
    pub fn on<E: From<StoreError>>(self, key: &UniqueKey, on_key: E) -> E {
        match self {
            Self::Unique(violation) if violation.is_of(key) => on_key,
            other => E::from(other.into()),
        }
    }
}

impl From<WriteError> for StoreError {
    /// Without a key that means something: any uniqueness violation is a lost race.
    fn from(error: WriteError) -> Self {
        match error {
            WriteError::Unique(_) => StoreError::Conflict,
            WriteError::Other(error) => error,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMAIL: UniqueKey =
        UniqueKey { table: "users", columns: &["email_normalized"], constraint: "users_email_normalized_key" };
    const TASK_NUMBER: UniqueKey =
        UniqueKey { table: "tasks", columns: &["project_id", "number"], constraint: "tasks_pkey" };

    #[test]
    fn a_sqlite_violation_is_recognised_by_its_table_and_columns() {
        assert!(UniqueViolation::Columns("users.email_normalized".into()).is_of(&EMAIL));
        assert!(UniqueViolation::Columns("tasks.project_id, tasks.number".into()).is_of(&TASK_NUMBER));
        for other in ["users.id", "accounts.email_normalized", "tasks.project_id", "tasks.number, tasks.project_id"] {
            assert!(!UniqueViolation::Columns(other.into()).is_of(&EMAIL), "{other}");
            assert!(!UniqueViolation::Columns(other.into()).is_of(&TASK_NUMBER), "{other}");
        }
    }

    #[test]
    fn a_postgres_violation_is_recognised_by_its_constraint_name() {
        assert!(UniqueViolation::Constraint("users_email_normalized_key".into()).is_of(&EMAIL));
        assert!(!UniqueViolation::Constraint("users_pkey".into()).is_of(&EMAIL));
    }

    #[derive(Debug, PartialEq)]
    enum UserError {
        EmailTaken,
        Conflict,
        Backend,
    }

    impl From<StoreError> for UserError {
        fn from(error: StoreError) -> Self {
            match error {
                StoreError::Conflict => Self::Conflict,
                StoreError::Backend(_) => Self::Backend,
            }
        }
    }

    #[test]
    fn the_named_key_maps_to_its_error_other_keys_to_a_conflict_and_the_rest_to_a_fault() {
        let email = WriteError::Unique(UniqueViolation::Columns("users.email_normalized".into()));
        assert_eq!(email.on(&EMAIL, UserError::EmailTaken), UserError::EmailTaken);
        let id = WriteError::Unique(UniqueViolation::Constraint("users_pkey".into()));
        assert_eq!(id.on(&EMAIL, UserError::EmailTaken), UserError::Conflict);
        let fault = WriteError::Other(StoreError::backend(std::io::Error::other("disk full")));
        assert_eq!(fault.on(&EMAIL, UserError::EmailTaken), UserError::Backend);
        let race = WriteError::Unique(UniqueViolation::Constraint("tasks_pkey".into()));
        assert!(matches!(StoreError::from(race), StoreError::Conflict));
    }
}
