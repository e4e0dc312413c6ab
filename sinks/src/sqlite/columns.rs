//! Conversions between model values and SQLite columns.

use chrono::{DateTime, Utc};
use periscope_core::error::BackendResult;
use periscope_core::model::{ObservationRecord, cost_total};
use serde::de::DeserializeOwned;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::connect::{body_error, corrupt, db_error};

/// The environment of records that name none (Langfuse's default).
pub(crate) const DEFAULT_ENVIRONMENT: &str = "default";

/// Microseconds in one UTC day.
pub(crate) const MICROS_PER_DAY: i64 = 86_400_000_000;

/// Returns a time as stored: unix microseconds.
pub(crate) fn micros(time: DateTime<Utc>) -> i64 {
    time.timestamp_micros()
}

/// Returns an optional time as stored.
pub(crate) fn optional_micros(time: Option<DateTime<Utc>>) -> Option<i64> {
    time.map(micros)
}

/// Returns the time stored as `value` in column `column`.
pub(crate) fn from_micros(value: i64, column: &str) -> BackendResult<DateTime<Utc>> {
    DateTime::from_timestamp_micros(value).ok_or_else(|| {
        corrupt(format!(
            "column {column} holds an out-of-range time {value}"
        ))
    })
}

/// Reads an optional time column.
pub(crate) fn get_optional_time(
    row: &SqliteRow,
    column: &str,
) -> BackendResult<Option<DateTime<Utc>>> {
    let value: Option<i64> = get(row, column)?;
    value.map(|value| from_micros(value, column)).transpose()
}

/// Reads a required time column.
pub(crate) fn get_time(row: &SqliteRow, column: &str) -> BackendResult<DateTime<Utc>> {
    from_micros(get(row, column)?, column)
}

/// Reads one column, naming it in the error.
pub(crate) fn get<'r, T>(row: &'r SqliteRow, column: &str) -> BackendResult<T>
where
    T: sqlx::Decode<'r, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite>,
{
    row.try_get(column)
        .map_err(|error| db_error(&format!("failed to read column {column}"), error))
}

/// Decodes the JSON `body` column into a record.
pub(crate) fn get_body<T: DeserializeOwned>(row: &SqliteRow) -> BackendResult<T> {
    let body: &str = get(row, "body")?;
    serde_json::from_str(body).map_err(|error| body_error("failed to decode column body", error))
}

/// Returns the stored environment of a record.
pub(crate) fn environment_column(environment: Option<&str>) -> &str {
    environment.unwrap_or(DEFAULT_ENVIRONMENT)
}

/// Usage totals stored beside an observation for daily metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct UsageColumns {
    pub(crate) input: Option<i64>,
    pub(crate) output: Option<i64>,
    /// The `total` key when the client sent one, else input + output.
    pub(crate) total: Option<i64>,
}

/// Returns the usage columns of an observation.
pub(crate) fn usage_columns(observation: &ObservationRecord) -> UsageColumns {
    let input = observation.usage_details.get("input").copied();
    let output = observation.usage_details.get("output").copied();
    let total = observation
        .usage_details
        .get("total")
        .copied()
        .or(match (input, output) {
            (None, None) => None,
            (input, output) => Some(input.unwrap_or(0).saturating_add(output.unwrap_or(0))),
        });
    UsageColumns {
        input,
        output,
        total,
    }
}

/// Returns the total cost of an observation (client-given or calculated), if any.
pub(crate) fn observation_total_cost(observation: &ObservationRecord) -> Option<f64> {
    cost_total(&observation.calculated_cost_details)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_usage(pairs: &[(&str, i64)]) -> ObservationRecord {
        ObservationRecord {
            usage_details: pairs
                .iter()
                .map(|(key, units)| (key.to_string(), *units))
                .collect(),
            ..ObservationRecord::default()
        }
    }

    #[test]
    fn usage_total_prefers_the_clients_total_and_else_adds_input_and_output() {
        let given = usage_columns(&with_usage(&[("input", 3), ("output", 4), ("total", 10)]));
        assert_eq!(
            given,
            UsageColumns {
                input: Some(3),
                output: Some(4),
                total: Some(10)
            }
        );
        let summed = usage_columns(&with_usage(&[("input", 3), ("input_cached_tokens", 2)]));
        assert_eq!(
            summed,
            UsageColumns {
                input: Some(3),
                output: None,
                total: Some(3)
            }
        );
        let none = usage_columns(&with_usage(&[]));
        assert_eq!(
            none,
            UsageColumns {
                input: None,
                output: None,
                total: None
            }
        );
    }

    #[test]
    fn stored_times_round_trip_at_microsecond_precision() {
        let time = DateTime::from_timestamp(1_795_000_000, 123_456_789).unwrap();
        let stored = micros(time);
        assert_eq!(stored, 1_795_000_000_123_456);
        assert_eq!(
            from_micros(stored, "t").unwrap(),
            DateTime::from_timestamp(1_795_000_000, 123_456_000).unwrap()
        );
        assert!(from_micros(i64::MAX, "t").is_err());
    }
}
