//! Instants as SQLite stores them: RFC 3339 text in UTC, which reads the same in the
//! `sqlite3` shell, or microseconds since the Unix epoch, which compare and sort as
//! numbers (text with a varying number of fraction digits does not sort).

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// An instant as SQLite stores it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timestamp(pub OffsetDateTime);

impl ToSql for Timestamp {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        let utc = self.0.to_offset(time::UtcOffset::UTC);
        let text = utc.format(&Rfc3339).map_err(|error| rusqlite::Error::ToSqlConversionFailure(Box::new(error)))?;
        Ok(ToSqlOutput::from(text))
    }
}

impl FromSql for Timestamp {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        let text = value.as_str()?;
        OffsetDateTime::parse(text, &Rfc3339).map(Self).map_err(|error| FromSqlError::Other(Box::new(error)))
    }
}

/// An instant as microseconds since the Unix epoch, for columns that are compared or
/// sorted (sub-microsecond precision is dropped).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnixMicros(pub OffsetDateTime);

impl ToSql for UnixMicros {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        let micros = i64::try_from(self.0.unix_timestamp_nanos() / 1_000)
            .map_err(|error| rusqlite::Error::ToSqlConversionFailure(Box::new(error)))?;
        Ok(ToSqlOutput::from(micros))
    }
}

impl FromSql for UnixMicros {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        let micros = value.as_i64()?;
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1_000)
            .map(Self)
            .map_err(|error| FromSqlError::Other(Box::new(error)))
    }
}

#[cfg(test)]
mod tests {
    use rusqlite::Connection;
    use time::macros::datetime;

    use super::*;

    #[test]
    fn an_instant_round_trips_through_sqlite_as_utc_rfc_3339_text() {
        let connection = Connection::open_in_memory().unwrap();
        let instant = datetime!(2026-11-24 10:15:00.123456 +02:00);
        let (text, back): (String, Timestamp) =
            connection.query_row("SELECT ?1, ?1", [Timestamp(instant)], |row| Ok((row.get(0)?, row.get(1)?))).unwrap();
        assert_eq!(text, "2026-11-24T08:15:00.123456Z");
        assert_eq!(back.0, instant);
    }

    #[test]
    fn microseconds_round_trip_and_order_as_the_instants_do() {
        let connection = Connection::open_in_memory().unwrap();
        let earlier = datetime!(2026-11-24 10:15:00 UTC);
        let later = datetime!(2026-11-24 10:15:00.5 UTC);
        let (back, ordered): (UnixMicros, bool) = connection
            .query_row("SELECT ?1, ?1 < ?2", [UnixMicros(later), UnixMicros(earlier)], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })
            .unwrap();
        assert_eq!(back.0, later);
        assert!(!ordered, "half a second later sorts later, which RFC 3339 text would not");
    }

    #[test]
    fn text_that_is_not_an_instant_is_a_conversion_error() {
        let connection = Connection::open_in_memory().unwrap();
        let outcome = connection.query_row("SELECT 'yesterday'", [], |row| row.get::<_, Timestamp>(0));
        assert!(matches!(outcome, Err(rusqlite::Error::FromSqlConversionFailure(..))), "{outcome:?}");
    }
}
