//! Rows of `GET /v2/metrics` as Langfuse returns them: one object per row with each dimension
//! under its field name, `time_dimension` (ISO time) when bucketed, and each metric under
//! `{aggregation}_{measure}` (`count_count`, `p95_latency`, `sum_totalCost`).

use periscope_core::store::{Aggregation, MetricsQuery, MetricsRow};
use serde::Serialize;
use serde_json::{Map, Number, Value};

use super::iso;

/// The response body: `{"data": [...]}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct MetricsResponse {
    pub(crate) data: Vec<Map<String, Value>>,
}

/// Returns a metric value as JSON: counts as integers, other values as numbers, none as null.
fn metric_value(aggregation: Aggregation, value: Option<f64>) -> Value {
    match value {
        Some(count) if aggregation == Aggregation::Count => Value::from(count as u64),
        Some(value) => Number::from_f64(value).map_or(Value::Null, Value::Number),
        None => Value::Null,
    }
}

/// Converts store rows; `names` are the dimension fields as the client wrote them.
pub(crate) fn metrics_rows(
    query: &MetricsQuery,
    names: &[String],
    rows: Vec<MetricsRow>,
) -> Vec<Map<String, Value>> {
    rows.into_iter()
        .map(|row| {
            let mut object = Map::new();
            for (name, value) in names.iter().zip(row.dimensions) {
                object.insert(name.clone(), value.map_or(Value::Null, Value::String));
            }
            if query.granularity.is_some() {
                let time = row.time_bucket.map(|time| Value::String(iso(time)));
                object.insert("time_dimension".to_owned(), time.unwrap_or(Value::Null));
            }
            for (metric, value) in query.metrics.iter().zip(row.metrics) {
                let alias = format!(
                    "{}_{}",
                    metric.aggregation.as_str(),
                    metric.measure.as_str()
                );
                object.insert(alias, metric_value(metric.aggregation, value));
            }
            object
        })
        .collect()
}
