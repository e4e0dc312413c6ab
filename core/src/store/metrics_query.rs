//! The query of `GET /api/public/v2/metrics`: a view, grouping fields, aggregated measures,
//! filters, an optional time bucket, an order and a row limit (docs/adr/0018-metrics-api.md).
//!
//! Both trace stores answer the same [`MetricsQuery`] with the same rows; the rules both follow
//! are written here once: which fields and measures each view has, how percentiles interpolate
//! ([`percentile`]), how rows are ordered ([`compare_rows`]).

use std::cmp::Ordering;

use chrono::{DateTime, TimeDelta, Utc};

/// The record kind a metrics query aggregates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricsView {
    /// Traces with a timestamp, by trace timestamp.
    Traces,
    /// Observations with a start time, by start time.
    Observations,
    /// NUMERIC and BOOLEAN scores, by score timestamp.
    ScoresNumeric,
    /// CATEGORICAL and BOOLEAN scores, by score timestamp.
    ScoresCategorical,
}

impl MetricsView {
    /// Returns the view of a Langfuse view name.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "traces" => Some(Self::Traces),
            "observations" => Some(Self::Observations),
            "scores-numeric" => Some(Self::ScoresNumeric),
            "scores-categorical" => Some(Self::ScoresCategorical),
            _ => None,
        }
    }

    /// Returns the Langfuse name of the view.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Traces => "traces",
            Self::Observations => "observations",
            Self::ScoresNumeric => "scores-numeric",
            Self::ScoresCategorical => "scores-categorical",
        }
    }

    /// Returns the fields the view can group and filter by.
    pub fn fields(self) -> &'static [MetricsField] {
        use MetricsField::*;
        match self {
            Self::Traces => &[Name, UserId, SessionId, Environment, Release, Version, Tags],
            Self::Observations => &[
                Name,
                Environment,
                Version,
                Type,
                Model,
                Level,
                PromptName,
                PromptVersion,
            ],
            Self::ScoresNumeric => &[Name, Environment, Source, DataType],
            Self::ScoresCategorical => &[Name, Environment, Source, DataType, StringValue],
        }
    }

    /// Returns the measures the view can aggregate.
    pub fn measures(self) -> &'static [Measure] {
        use Measure::*;
        match self {
            Self::Traces => &[
                Count,
                Latency,
                TotalCost,
                TotalTokens,
                InputTokens,
                OutputTokens,
            ],
            Self::Observations => &[
                Count,
                Latency,
                TotalCost,
                TotalTokens,
                InputTokens,
                OutputTokens,
                StartTime,
            ],
            Self::ScoresNumeric => &[Count, Value],
            Self::ScoresCategorical => &[Count],
        }
    }
}

/// A field to group or filter by. Every value is read as text (or null).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetricsField {
    Name,
    UserId,
    SessionId,
    Environment,
    Release,
    Version,
    /// Trace tags: grouping yields one row per tag (a trace without tags yields none).
    Tags,
    /// Observation type (`GENERATION`, ...).
    Type,
    /// The model name the client gave (`providedModelName`, also accepted as `model`).
    Model,
    Level,
    PromptName,
    /// The prompt version number, as text.
    PromptVersion,
    /// Score source (`API`, `EVAL`, `ANNOTATION`).
    Source,
    /// Score data type (`NUMERIC`, `BOOLEAN`, `CATEGORICAL`).
    DataType,
    /// The label of a categorical or boolean score.
    StringValue,
}

impl MetricsField {
    /// Returns the field of an API name.
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "name" => Self::Name,
            "userId" => Self::UserId,
            "sessionId" => Self::SessionId,
            "environment" => Self::Environment,
            "release" => Self::Release,
            "version" => Self::Version,
            "tags" => Self::Tags,
            "type" => Self::Type,
            "providedModelName" | "model" => Self::Model,
            "level" => Self::Level,
            "promptName" => Self::PromptName,
            "promptVersion" => Self::PromptVersion,
            "source" => Self::Source,
            "dataType" => Self::DataType,
            "stringValue" => Self::StringValue,
            _ => return None,
        })
    }

    /// Returns the API name of the field.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Name => "name",
            Self::UserId => "userId",
            Self::SessionId => "sessionId",
            Self::Environment => "environment",
            Self::Release => "release",
            Self::Version => "version",
            Self::Tags => "tags",
            Self::Type => "type",
            Self::Model => "providedModelName",
            Self::Level => "level",
            Self::PromptName => "promptName",
            Self::PromptVersion => "promptVersion",
            Self::Source => "source",
            Self::DataType => "dataType",
            Self::StringValue => "stringValue",
        }
    }
}

/// What a metric aggregates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Measure {
    /// 1 per row: `count`/`sum` give the number of rows.
    Count,
    /// Milliseconds: an observation's end − start; a trace's latest observation end −
    /// earliest observation start. Null when a bound is missing.
    Latency,
    /// USD: an observation's total cost (null when unpriced); a trace's sum (0 without costs).
    TotalCost,
    TotalTokens,
    InputTokens,
    OutputTokens,
    /// A numeric score's value.
    Value,
    /// An observation's start time in unix milliseconds (Periscope extension, for min/max).
    StartTime,
}

impl Measure {
    /// Returns the measure of an API name.
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "count" => Self::Count,
            "latency" => Self::Latency,
            "totalCost" => Self::TotalCost,
            "totalTokens" => Self::TotalTokens,
            "inputTokens" => Self::InputTokens,
            "outputTokens" => Self::OutputTokens,
            "value" => Self::Value,
            "startTime" => Self::StartTime,
            _ => return None,
        })
    }

    /// Returns the API name of the measure.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Count => "count",
            Self::Latency => "latency",
            Self::TotalCost => "totalCost",
            Self::TotalTokens => "totalTokens",
            Self::InputTokens => "inputTokens",
            Self::OutputTokens => "outputTokens",
            Self::Value => "value",
            Self::StartTime => "startTime",
        }
    }
}

/// How the values of a measure in one group are combined. Aggregates over no (non-null)
/// values are null, except `count`, which is 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Aggregation {
    Count,
    Sum,
    Avg,
    Min,
    Max,
    /// A percentile in (0, 1), interpolated as in [`percentile`].
    Percentile(Percentile),
}

/// The supported percentiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Percentile {
    P50,
    P75,
    P90,
    P95,
    P99,
}

impl Percentile {
    /// Returns the level as a fraction.
    pub fn level(self) -> f64 {
        match self {
            Self::P50 => 0.5,
            Self::P75 => 0.75,
            Self::P90 => 0.9,
            Self::P95 => 0.95,
            Self::P99 => 0.99,
        }
    }
}

impl Aggregation {
    /// Returns the aggregation of an API name.
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "count" => Self::Count,
            "sum" => Self::Sum,
            "avg" => Self::Avg,
            "min" => Self::Min,
            "max" => Self::Max,
            "p50" => Self::Percentile(Percentile::P50),
            "p75" => Self::Percentile(Percentile::P75),
            "p90" => Self::Percentile(Percentile::P90),
            "p95" => Self::Percentile(Percentile::P95),
            "p99" => Self::Percentile(Percentile::P99),
            _ => return None,
        })
    }

    /// Returns the API name of the aggregation.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Count => "count",
            Self::Sum => "sum",
            Self::Avg => "avg",
            Self::Min => "min",
            Self::Max => "max",
            Self::Percentile(Percentile::P50) => "p50",
            Self::Percentile(Percentile::P75) => "p75",
            Self::Percentile(Percentile::P90) => "p90",
            Self::Percentile(Percentile::P95) => "p95",
            Self::Percentile(Percentile::P99) => "p99",
        }
    }
}

/// One aggregated measure of the result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricSpec {
    pub measure: Measure,
    pub aggregation: Aggregation,
}

/// A filter condition on a field. `NotEquals` and `NoneOf` keep rows where the field is
/// null; `Equals` and `AnyOf` never match null. On `Tags`, `AnyOf`/`AllOf`/`NoneOf` test the
/// trace's tag set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldCondition {
    Equals(String),
    NotEquals(String),
    AnyOf(Vec<String>),
    NoneOf(Vec<String>),
    /// Tags only: every value is a tag of the trace.
    AllOf(Vec<String>),
}

/// A filter of the query: every filter must match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsCondition {
    pub field: MetricsField,
    pub condition: FieldCondition,
}

/// The width of a time bucket (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Granularity {
    Minute,
    Hour,
    Day,
    /// Weeks start on Monday.
    Week,
    Month,
}

impl Granularity {
    /// Returns the granularity of an API name; `auto` is resolved by [`Granularity::auto`].
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "minute" => Self::Minute,
            "hour" => Self::Hour,
            "day" => Self::Day,
            "week" => Self::Week,
            "month" => Self::Month,
            _ => return None,
        })
    }

    /// Returns the granularity that gives a few dozen buckets over `[from, to)`.
    pub fn auto(from: DateTime<Utc>, to: DateTime<Utc>) -> Self {
        let span = to - from;
        if span < TimeDelta::hours(2) {
            Self::Minute
        } else if span < TimeDelta::hours(72) {
            Self::Hour
        } else if span < TimeDelta::days(60) {
            Self::Day
        } else if span < TimeDelta::days(365) {
            Self::Week
        } else {
            Self::Month
        }
    }
}

/// What a row is ordered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderKey {
    /// The n-th dimension.
    Dimension(usize),
    /// The n-th metric.
    Metric(usize),
    /// The time bucket.
    Time,
}

/// One ordering term; nulls sort last in both directions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricsOrder {
    pub key: OrderKey,
    pub descending: bool,
}

/// A validated metrics query (build it, then call [`MetricsQuery::validate`]).
#[derive(Debug, Clone, PartialEq)]
pub struct MetricsQuery {
    pub view: MetricsView,
    pub dimensions: Vec<MetricsField>,
    pub metrics: Vec<MetricSpec>,
    pub filters: Vec<MetricsCondition>,
    /// Buckets rows by their view time when set.
    pub granularity: Option<Granularity>,
    /// Half-open time range on the view's time (`from` inclusive, `to` exclusive).
    pub from_timestamp: Option<DateTime<Utc>>,
    pub to_timestamp: Option<DateTime<Utc>>,
    /// Explicit order; rows are then ordered by time and every dimension, ascending.
    pub order_by: Vec<MetricsOrder>,
    /// At most this many rows are returned.
    pub row_limit: u64,
}

/// One result row: the dimension values (in query order), the bucket start, and the metric
/// values (in query order).
#[derive(Debug, Clone, PartialEq)]
pub struct MetricsRow {
    pub dimensions: Vec<Option<String>>,
    pub time_bucket: Option<DateTime<Utc>>,
    pub metrics: Vec<Option<f64>>,
}

impl MetricsQuery {
    /// Checks that every field and measure exists in the view and that indices and
    /// conditions are consistent; the message names the offending part.
    pub fn validate(&self) -> Result<(), String> {
        let fields = self.view.fields();
        for field in &self.dimensions {
            if !fields.contains(field) {
                return Err(format!(
                    "dimension {} is not supported by view {}",
                    field.as_str(),
                    self.view.as_str()
                ));
            }
        }
        if self.metrics.is_empty() {
            return Err("metrics: at least one metric is required".to_owned());
        }
        for metric in &self.metrics {
            if !self.view.measures().contains(&metric.measure) {
                return Err(format!(
                    "measure {} is not supported by view {}",
                    metric.measure.as_str(),
                    self.view.as_str()
                ));
            }
        }
        for filter in &self.filters {
            if !fields.contains(&filter.field) {
                return Err(format!(
                    "filter column {} is not supported by view {}",
                    filter.field.as_str(),
                    self.view.as_str()
                ));
            }
            let is_tags = filter.field == MetricsField::Tags;
            let valid = match &filter.condition {
                FieldCondition::Equals(_) | FieldCondition::NotEquals(_) => !is_tags,
                FieldCondition::AllOf(_) => is_tags,
                FieldCondition::AnyOf(_) | FieldCondition::NoneOf(_) => true,
            };
            if !valid {
                return Err(format!(
                    "filter on {}: operator not supported for this column",
                    filter.field.as_str()
                ));
            }
        }
        for order in &self.order_by {
            let in_range = match order.key {
                OrderKey::Dimension(index) => index < self.dimensions.len(),
                OrderKey::Metric(index) => index < self.metrics.len(),
                OrderKey::Time => self.granularity.is_some(),
            };
            if !in_range {
                return Err("orderBy names a field that is not selected".to_owned());
            }
        }
        if let (Some(from), Some(to)) = (self.from_timestamp, self.to_timestamp)
            && from >= to
        {
            return Err("fromTimestamp must be before toTimestamp".to_owned());
        }
        Ok(())
    }

    /// Returns true when any metric is a percentile.
    pub fn has_percentile(&self) -> bool {
        self.metrics
            .iter()
            .any(|metric| matches!(metric.aggregation, Aggregation::Percentile(_)))
    }

    /// Returns true when the query reads `field` (as a dimension or in a filter).
    pub fn uses_field(&self, field: MetricsField) -> bool {
        self.dimensions.contains(&field) || self.filters.iter().any(|f| f.field == field)
    }
}

/// Returns the `level` percentile of `sorted` (ascending, no NaN) by linear interpolation
/// between closest ranks (`h = (n − 1) · level`), as ClickHouse's `quantileExactInclusive`.
pub fn percentile(sorted: &[f64], level: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    let rank = last as f64 * level;
    let below = rank.floor();
    let index = below as usize;
    let lower = sorted.get(index.min(last)).copied()?;
    let upper = sorted.get((index + 1).min(last)).copied()?;
    Some(lower + (rank - below) * (upper - lower))
}

/// Orders rows as every store must: the explicit order terms, then the time bucket and each
/// dimension ascending; nulls last in every direction.
pub fn compare_rows(order_by: &[MetricsOrder], a: &MetricsRow, b: &MetricsRow) -> Ordering {
    for order in order_by {
        let ordering = match order.key {
            OrderKey::Dimension(i) => nulls_last(
                a.dimensions.get(i).and_then(Option::as_ref),
                b.dimensions.get(i).and_then(Option::as_ref),
                order.descending,
                |x, y| x.cmp(y),
            ),
            OrderKey::Metric(i) => nulls_last(
                a.metrics.get(i).copied().flatten().as_ref(),
                b.metrics.get(i).copied().flatten().as_ref(),
                order.descending,
                f64::total_cmp,
            ),
            OrderKey::Time => nulls_last(
                a.time_bucket.as_ref(),
                b.time_bucket.as_ref(),
                order.descending,
                |x, y| x.cmp(y),
            ),
        };
        if ordering != Ordering::Equal {
            return ordering;
        }
    }
    a.time_bucket.cmp(&b.time_bucket).then_with(|| {
        a.dimensions
            .iter()
            .zip(&b.dimensions)
            .map(|(x, y)| nulls_last(x.as_ref(), y.as_ref(), false, |x, y| x.cmp(y)))
            .find(|ordering| *ordering != Ordering::Equal)
            .unwrap_or(Ordering::Equal)
    })
}

fn nulls_last<T>(
    a: Option<&T>,
    b: Option<&T>,
    descending: bool,
    compare: impl Fn(&T, &T) -> Ordering,
) -> Ordering {
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(a), Some(b)) if descending => compare(b, a),
        (Some(a), Some(b)) => compare(a, b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_interpolate_between_closest_ranks() {
        let values = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(percentile(&values, 0.5), Some(2.5));
        let p99 = percentile(&values, 0.99).unwrap();
        assert!((p99 - 3.97).abs() < 1e-9, "{p99}");
        assert_eq!(percentile(&[7.0], 0.95), Some(7.0));
        assert_eq!(percentile(&[], 0.5), None);
    }

    #[test]
    fn rows_order_by_terms_then_time_and_dimensions_with_nulls_last() {
        let row = |dimension: Option<&str>, metric: Option<f64>| MetricsRow {
            dimensions: vec![dimension.map(Into::into)],
            time_bucket: None,
            metrics: vec![metric],
        };
        let mut rows = [
            row(None, Some(1.0)),
            row(Some("b"), None),
            row(Some("a"), Some(1.0)),
            row(Some("c"), Some(5.0)),
        ];
        let by_metric = [MetricsOrder {
            key: OrderKey::Metric(0),
            descending: true,
        }];
        rows.sort_by(|a, b| compare_rows(&by_metric, a, b));
        let names: Vec<_> = rows.iter().map(|r| r.dimensions[0].clone()).collect();
        assert_eq!(
            names,
            [Some("c".into()), Some("a".into()), None, Some("b".into())]
        );
    }

    #[test]
    fn validation_names_unsupported_fields_and_measures() {
        let query = MetricsQuery {
            view: MetricsView::ScoresCategorical,
            dimensions: vec![MetricsField::Model],
            metrics: vec![MetricSpec {
                measure: Measure::Count,
                aggregation: Aggregation::Count,
            }],
            filters: Vec::new(),
            granularity: None,
            from_timestamp: None,
            to_timestamp: None,
            order_by: Vec::new(),
            row_limit: 100,
        };
        assert!(query.validate().unwrap_err().contains("providedModelName"));
        let query = MetricsQuery {
            dimensions: Vec::new(),
            metrics: vec![MetricSpec {
                measure: Measure::Value,
                aggregation: Aggregation::Avg,
            }],
            ..query
        };
        assert!(query.validate().unwrap_err().contains("value"));
    }

    #[test]
    fn auto_granularity_grows_with_the_range() {
        let from = DateTime::<Utc>::UNIX_EPOCH;
        assert_eq!(
            Granularity::auto(from, from + TimeDelta::minutes(30)),
            Granularity::Minute
        );
        assert_eq!(
            Granularity::auto(from, from + TimeDelta::days(10)),
            Granularity::Day
        );
        assert_eq!(
            Granularity::auto(from, from + TimeDelta::days(400)),
            Granularity::Month
        );
    }
}
