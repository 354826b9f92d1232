//! Which storage backend a test runs on.

/// The backend of a test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestBackend {
    Sqlite,
    Postgres,
}

/// Chooses the backend of the suites that run once per invocation.
pub const BACKEND_VARIABLE: &str = "TASKDECK_TEST_BACKEND";

impl TestBackend {
    /// The backend `TASKDECK_TEST_BACKEND` names (`sqlite`, the default, or `postgres`).
    ///
    /// # Panics
    /// On any other value, so a typo cannot silently test the wrong backend.
    #[must_use]
    pub fn selected() -> Self {
        match std::env::var(BACKEND_VARIABLE).as_deref() {
            Ok("postgres") => Self::Postgres,
            Ok("sqlite") | Err(_) => Self::Sqlite,
            Ok(other) => panic!("unknown {BACKEND_VARIABLE} {other:?}: expected sqlite or postgres"),
        }
    }

    /// SQL that renders the UUID `column` as 32 upper-case hex digits, the same text
    /// on both backends (SQLite stores UUIDs as 16-byte blobs, PostgreSQL as `uuid`).
    #[must_use]
    pub fn hex_id(self, column: &str) -> String {
        match self {
            Self::Sqlite => format!("hex({column})"),
            Self::Postgres => format!("upper(replace({column}::text, '-', ''))"),
        }
    }
}

/// Generates `mod SCENARIO { fn sqlite(); fn postgres(); }`: two tests that run the
/// `async fn SCENARIO(backend: TestBackend)` of the calling module on each backend.
/// Without a PostgreSQL server the PostgreSQL one prints SKIPPED and passes (or fails,
/// when `TASKDECK_REQUIRE_POSTGRES` is set), as [`crate::TestDatabase::new`] decides.
#[macro_export]
macro_rules! on_both_backends {
    ($($scenario:ident),+ $(,)?) => {$(
        mod $scenario {
            #[tokio::test(flavor = "multi_thread")]
            async fn sqlite() {
                super::$scenario($crate::TestBackend::Sqlite).await;
            }

            #[tokio::test(flavor = "multi_thread")]
            async fn postgres() {
                super::$scenario($crate::TestBackend::Postgres).await;
            }
        }
    )+};
}
