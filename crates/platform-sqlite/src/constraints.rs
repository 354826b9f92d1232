//! SQLite's failed writes, sorted the platform's way ([`WriteError`]).

use rusqlite::ffi::{SQLITE_CONSTRAINT_PRIMARYKEY, SQLITE_CONSTRAINT_UNIQUE};
use taskdeck_kernel::StoreError;
use taskdeck_platform::{UniqueViolation, WriteError};

/// SQLite names a violated key by its columns: `UNIQUE constraint failed: t.a, t.b`.
const UNIQUE_FAILED: &str = "UNIQUE constraint failed: ";

/// Sorts a failed statement: a UNIQUE or PRIMARY KEY violation names its columns.
#[must_use]
pub fn write_error(error: rusqlite::Error) -> WriteError {
    match &error {
        rusqlite::Error::SqliteFailure(failure, Some(message))
            if matches!(failure.extended_code, SQLITE_CONSTRAINT_UNIQUE | SQLITE_CONSTRAINT_PRIMARYKEY) =>
        {
            let columns = message.strip_prefix(UNIQUE_FAILED).unwrap_or(message);
            WriteError::Unique(UniqueViolation::Columns(columns.to_owned()))
        }
        _ => WriteError::Other(StoreError::backend(error)),
    }
}

#[cfg(test)]
mod tests {
    use rusqlite::Connection;
    use taskdeck_platform::UniqueKey;

    use super::*;

    const PAIR: UniqueKey = UniqueKey { table: "pairs", columns: &["a", "b"], constraint: "pairs_pkey" };
    const NAME: UniqueKey = UniqueKey { table: "pairs", columns: &["name"], constraint: "pairs_name_key" };

    fn violation(statement: &str) -> WriteError {
        let connection = Connection::open_in_memory().unwrap();
        connection
            .execute_batch(
                "CREATE TABLE pairs (a INTEGER, b INTEGER, name TEXT UNIQUE, PRIMARY KEY (a, b)) STRICT;
                 INSERT INTO pairs VALUES (1, 2, 'x');",
            )
            .unwrap();
        write_error(connection.execute(statement, []).unwrap_err())
    }

    #[test]
    fn a_violated_key_is_reported_by_its_columns() {
        let WriteError::Unique(primary) = violation("INSERT INTO pairs VALUES (1, 2, 'y')") else { panic!() };
        assert!(primary.is_of(&PAIR) && !primary.is_of(&NAME), "{primary:?}");
        let WriteError::Unique(unique) = violation("INSERT INTO pairs VALUES (3, 4, 'x')") else { panic!() };
        assert!(unique.is_of(&NAME) && !unique.is_of(&PAIR), "{unique:?}");
    }

    #[test]
    fn other_failures_are_backend_faults() {
        assert!(matches!(violation("INSERT INTO nowhere VALUES (1)"), WriteError::Other(StoreError::Backend(_))));
        assert!(matches!(
            violation("INSERT INTO pairs VALUES (NULL, 2, 'z'), ('text', 2, 'w')"),
            WriteError::Other(StoreError::Backend(_))
        ));
    }
}
