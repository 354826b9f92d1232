//! One-shot statements through each connection's cache of prepared statements, so a
//! repository's statement is parsed once per connection rather than at every call.

use rusqlite::{Connection, Params, Row};

/// `execute` and `query_row` on prepared statements the connection keeps.
pub trait CachedStatements {
    /// Runs a statement that returns no rows; returns how many rows it changed.
    ///
    /// # Errors
    /// As [`rusqlite::Statement::execute`].
    fn execute_cached(&self, sql: &str, params: impl Params) -> rusqlite::Result<usize>;

    /// Runs a query and maps its first row; no row is `QueryReturnedNoRows` (see
    /// `rusqlite::OptionalExtension`).
    ///
    /// # Errors
    /// As [`rusqlite::Statement::query_row`].
    fn query_row_cached<T>(
        &self,
        sql: &str,
        params: impl Params,
        map: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T>;
}

impl CachedStatements for Connection {
    fn execute_cached(&self, sql: &str, params: impl Params) -> rusqlite::Result<usize> {
        self.prepare_cached(sql)?.execute(params)
    }

    fn query_row_cached<T>(
        &self,
        sql: &str,
        params: impl Params,
        map: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T> {
        self.prepare_cached(sql)?.query_row(params, map)
    }
}

#[cfg(test)]
mod tests {
    use rusqlite::OptionalExtension;

    use super::*;

    #[test]
    fn cached_statements_execute_and_query_as_the_plain_ones_do() {
        let connection = Connection::open_in_memory().unwrap();
        connection.execute_batch("CREATE TABLE t (n INTEGER)").unwrap();
        for n in 0..3 {
            assert_eq!(connection.execute_cached("INSERT INTO t VALUES (?)", [n]).unwrap(), 1);
        }
        let sum: i64 = connection.query_row_cached("SELECT SUM(n) FROM t", [], |row| row.get(0)).unwrap();
        assert_eq!(sum, 3);
        let none = connection.query_row_cached("SELECT n FROM t WHERE n > ?", [9], |row| row.get::<_, i64>(0));
        assert_eq!(none.optional().unwrap(), None);
    }
}
