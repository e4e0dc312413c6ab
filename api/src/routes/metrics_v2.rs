//! `GET /api/public/v2/metrics?query=<json>`: Langfuse's v2 metrics query over the trace store
//! (docs/adr/0018-metrics-api.md lists the supported subset). Anything outside the subset is a
//! 400 naming the field, never a silently different answer.

use axum::Json;
use axum::extract::{RawQuery, State};
use periscope_core::store::{
    Aggregation, FieldCondition, Granularity, Measure, MetricSpec, MetricsCondition, MetricsField,
    MetricsOrder, MetricsQuery, MetricsView, OrderKey, TraceStore,
};
use serde::Deserialize;
use serde_json::Value;

use crate::auth::Caller;
use crate::error::{ApiError, Result};
use crate::params::{QueryParams, parse_datetime};
use crate::state::ApiState;
use crate::views::metrics_v2::{MetricsResponse, metrics_rows};

/// Rows returned when the query sets no `row_limit`.
const DEFAULT_ROW_LIMIT: u64 = 1_000;
/// The largest `row_limit` accepted.
const MAX_ROW_LIMIT: u64 = 10_000;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct QueryJson {
    view: String,
    #[serde(default)]
    dimensions: Vec<RawDimension>,
    metrics: Vec<RawMetric>,
    #[serde(default)]
    filters: Vec<RawFilter>,
    #[serde(default)]
    time_dimension: Option<RawTimeDimension>,
    from_timestamp: String,
    to_timestamp: String,
    #[serde(default)]
    order_by: Option<Vec<RawOrder>>,
    #[serde(default)]
    config: Option<RawConfig>,
    #[serde(default)]
    chart_config: Option<RawConfig>,
}

#[derive(Debug, Deserialize)]
struct RawDimension {
    field: String,
}

#[derive(Debug, Deserialize)]
struct RawMetric {
    measure: String,
    aggregation: String,
}

#[derive(Debug, Deserialize)]
struct RawFilter {
    column: String,
    operator: String,
    value: Value,
}

#[derive(Debug, Deserialize)]
struct RawTimeDimension {
    granularity: String,
}

#[derive(Debug, Deserialize)]
struct RawOrder {
    field: String,
    #[serde(default)]
    direction: Option<String>,
}

#[derive(Debug, Deserialize)]
struct RawConfig {
    #[serde(default)]
    row_limit: Option<u64>,
}

fn invalid(reason: impl Into<String>) -> ApiError {
    ApiError::parameter("query", reason)
}

/// Returns the text values of a filter: one string, or an array of strings.
fn filter_values(filter: &RawFilter) -> Result<Vec<String>> {
    let text = |value: &Value| match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    };
    let values = match &filter.value {
        Value::Array(items) => items.iter().map(text).collect::<Option<Vec<_>>>(),
        other => text(other).map(|value| vec![value]),
    };
    values.ok_or_else(|| {
        invalid(format!(
            "filters: value of column {} must be a string or an array of strings",
            filter.column
        ))
    })
}

fn parse_filter(filter: &RawFilter) -> Result<MetricsCondition> {
    let field = MetricsField::parse(&filter.column).ok_or_else(|| {
        invalid(format!(
            "filters: column {} is not supported",
            filter.column
        ))
    })?;
    let mut values = filter_values(filter)?;
    let single = |values: &mut Vec<String>| match values.as_slice() {
        [_] => Ok(values.remove(0)),
        _ => Err(invalid(format!(
            "filters: operator {} on column {} takes one value",
            filter.operator, filter.column
        ))),
    };
    let condition = match filter.operator.to_ascii_lowercase().as_str() {
        "=" => FieldCondition::Equals(single(&mut values)?),
        "!=" | "<>" => FieldCondition::NotEquals(single(&mut values)?),
        "any of" => FieldCondition::AnyOf(values),
        "none of" => FieldCondition::NoneOf(values),
        "all of" => FieldCondition::AllOf(values),
        other => {
            return Err(invalid(format!(
                "filters: operator {other:?} on column {} is not supported \
                 (use =, !=, any of, none of, all of)",
                filter.column
            )));
        }
    };
    Ok(MetricsCondition { field, condition })
}

/// Returns the order key named `field`: a dimension as written, a metric alias
/// (`{aggregation}_{measure}`), or `time_dimension`.
fn order_key(raw: &QueryJson, field: &str) -> Result<OrderKey> {
    if field == "time_dimension" {
        return Ok(OrderKey::Time);
    }
    if let Some(index) = raw.dimensions.iter().position(|d| d.field == field) {
        return Ok(OrderKey::Dimension(index));
    }
    raw.metrics
        .iter()
        .position(|m| format!("{}_{}", m.aggregation, m.measure) == field)
        .map(OrderKey::Metric)
        .ok_or_else(|| {
            invalid(format!(
                "orderBy: field {field} is not a selected dimension, metric alias or time_dimension"
            ))
        })
}

/// Parses and validates the `query` JSON; returns it with the dimension names as written.
pub(crate) fn parse_query(json: &str) -> Result<(MetricsQuery, Vec<String>)> {
    let raw: QueryJson =
        serde_json::from_str(json).map_err(|error| invalid(format!("invalid JSON: {error}")))?;
    let view = MetricsView::parse(&raw.view).ok_or_else(|| {
        invalid(format!(
            "view {:?} is not supported (traces, observations, scores-numeric, scores-categorical)",
            raw.view
        ))
    })?;
    let dimensions = raw
        .dimensions
        .iter()
        .map(|d| {
            MetricsField::parse(&d.field)
                .ok_or_else(|| invalid(format!("dimension {} is not supported", d.field)))
        })
        .collect::<Result<Vec<_>>>()?;
    let metrics = raw
        .metrics
        .iter()
        .map(|m| {
            let measure = Measure::parse(&m.measure)
                .ok_or_else(|| invalid(format!("measure {} is not supported", m.measure)))?;
            let aggregation = Aggregation::parse(&m.aggregation).ok_or_else(|| {
                invalid(format!("aggregation {} is not supported", m.aggregation))
            })?;
            Ok(MetricSpec {
                measure,
                aggregation,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let filters = raw
        .filters
        .iter()
        .map(parse_filter)
        .collect::<Result<Vec<_>>>()?;
    let from = parse_datetime(&raw.from_timestamp)
        .map_err(|reason| invalid(format!("fromTimestamp: {reason}")))?;
    let to = parse_datetime(&raw.to_timestamp)
        .map_err(|reason| invalid(format!("toTimestamp: {reason}")))?;
    let granularity = match raw.time_dimension.as_ref().map(|t| t.granularity.as_str()) {
        None => None,
        Some("auto") => Some(Granularity::auto(from, to)),
        Some(name) => Some(Granularity::parse(name).ok_or_else(|| {
            invalid(format!(
                "timeDimension: granularity {name:?} is not one of minute, hour, day, week, month, auto"
            ))
        })?),
    };
    let order_by = raw
        .order_by
        .iter()
        .flatten()
        .map(|order| {
            let descending = match order.direction.as_deref().unwrap_or("asc") {
                "asc" | "ASC" => false,
                "desc" | "DESC" => true,
                other => {
                    return Err(invalid(format!(
                        "orderBy: direction {other:?} is not asc or desc"
                    )));
                }
            };
            Ok(MetricsOrder {
                key: order_key(&raw, &order.field)?,
                descending,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let row_limit = raw
        .config
        .as_ref()
        .or(raw.chart_config.as_ref())
        .and_then(|config| config.row_limit)
        .unwrap_or(DEFAULT_ROW_LIMIT);
    if row_limit == 0 || row_limit > MAX_ROW_LIMIT {
        return Err(invalid(format!(
            "config.row_limit must be between 1 and {MAX_ROW_LIMIT}, got {row_limit}"
        )));
    }
    let query = MetricsQuery {
        view,
        dimensions,
        metrics,
        filters,
        granularity,
        from_timestamp: Some(from),
        to_timestamp: Some(to),
        order_by,
        row_limit,
    };
    query.validate().map_err(invalid)?;
    let names = raw.dimensions.into_iter().map(|d| d.field).collect();
    Ok((query, names))
}

/// Runs the `query` parameter of a request against `store`.
pub(crate) async fn run(
    store: &dyn TraceStore,
    project_id: &str,
    raw_query: Option<&str>,
) -> Result<MetricsResponse> {
    let params = QueryParams::parse(raw_query);
    let json = params
        .get("query")
        .ok_or_else(|| ApiError::parameter("query", "is required (a JSON metrics query)"))?;
    let (query, names) = parse_query(json)?;
    let rows = store.query_metrics(project_id, &query).await?;
    Ok(MetricsResponse {
        data: metrics_rows(&query, &names, rows),
    })
}

/// `GET /api/public/v2/metrics`.
pub(crate) async fn query(
    State(state): State<ApiState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Json<MetricsResponse>> {
    let response = run(state.traces.as_ref(), &caller.project_id, query.as_deref()).await?;
    Ok(Json(response))
}

#[cfg(test)]
mod tests;
