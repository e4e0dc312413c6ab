//! Folds the rows of a metrics query, sorted by group key, into one [`MetricsRow`] per group.
//!
//! Only the current group is held: sums, counts and extremes, plus the values of measures
//! that a percentile needs (sorted when the group ends). A group with more percentile values
//! than [`MAX_PERCENTILE_VALUES`] is refused rather than exhausting memory.

use chrono::DateTime;
use futures::TryStreamExt;
use futures::stream::BoxStream;
use periscope_core::error::{BackendError, BackendResult};
use periscope_core::store::{Aggregation, MetricsQuery, MetricsRow, percentile};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use crate::sqlite::connect::{corrupt, db_error};

/// Percentile values one group may hold (80 MB of `f64`).
pub(crate) const MAX_PERCENTILE_VALUES: usize = 10_000_000;

/// The running aggregate of one metric in one group.
#[derive(Debug, Default)]
struct Accumulator {
    count: u64,
    sum: f64,
    min: Option<f64>,
    max: Option<f64>,
    values: Vec<f64>,
}

impl Accumulator {
    fn add(&mut self, value: f64, keep: bool) -> BackendResult<()> {
        self.count += 1;
        self.sum += value;
        self.min = Some(self.min.map_or(value, |min| min.min(value)));
        self.max = Some(self.max.map_or(value, |max| max.max(value)));
        if keep {
            if self.values.len() >= MAX_PERCENTILE_VALUES {
                return Err(BackendError::Invalid {
                    backend: "sqlite",
                    message: format!(
                        "a percentile over more than {MAX_PERCENTILE_VALUES} values; \
                         narrow the time range or add dimensions"
                    ),
                });
            }
            self.values.push(value);
        }
        Ok(())
    }

    fn finish(&mut self, aggregation: Aggregation) -> Option<f64> {
        match aggregation {
            Aggregation::Count => Some(self.count as f64),
            Aggregation::Sum => (self.count > 0).then_some(self.sum),
            Aggregation::Avg => (self.count > 0).then(|| self.sum / self.count as f64),
            Aggregation::Min => self.min,
            Aggregation::Max => self.max,
            Aggregation::Percentile(level) => {
                self.values.sort_by(f64::total_cmp);
                percentile(&self.values, level.level())
            }
        }
    }
}

/// The group being folded.
#[derive(Debug)]
struct Group {
    dimensions: Vec<Option<String>>,
    bucket: Option<i64>,
    metrics: Vec<Accumulator>,
}

impl Group {
    fn new(dimensions: Vec<Option<String>>, bucket: Option<i64>, metrics: usize) -> Self {
        Self {
            dimensions,
            bucket,
            metrics: (0..metrics).map(|_| Accumulator::default()).collect(),
        }
    }

    fn finish(mut self, query: &MetricsQuery) -> BackendResult<MetricsRow> {
        let time_bucket = match self.bucket {
            Some(micros) => Some(
                DateTime::from_timestamp_micros(micros)
                    .ok_or_else(|| corrupt(format!("time bucket {micros} is out of range")))?,
            ),
            None => None,
        };
        let metrics = self
            .metrics
            .iter_mut()
            .zip(&query.metrics)
            .map(|(accumulator, metric)| accumulator.finish(metric.aggregation))
            .collect();
        Ok(MetricsRow {
            dimensions: self.dimensions,
            time_bucket,
            metrics,
        })
    }
}

/// Reads the `d{i}`, `bucket` and `m{i}` columns of `stream` and returns one row per group.
pub(crate) async fn fold_groups(
    mut stream: BoxStream<'_, Result<SqliteRow, sqlx::Error>>,
    query: &MetricsQuery,
) -> BackendResult<Vec<MetricsRow>> {
    let keeps: Vec<bool> = query
        .metrics
        .iter()
        .map(|metric| matches!(metric.aggregation, Aggregation::Percentile(_)))
        .collect();
    let mut rows = Vec::new();
    let mut current: Option<Group> = None;
    while let Some(row) = stream
        .try_next()
        .await
        .map_err(|error| db_error("failed to read metric rows", error))?
    {
        let dimensions = (0..query.dimensions.len())
            .map(|index| row.try_get::<Option<String>, _>(index))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|error| db_error("failed to read a metric dimension", error))?;
        let bucket: Option<i64> = row
            .try_get("bucket")
            .map_err(|error| db_error("failed to read a metric time bucket", error))?;
        let same = current
            .as_ref()
            .is_some_and(|group| group.dimensions == dimensions && group.bucket == bucket);
        if !same {
            if let Some(done) = current.take() {
                rows.push(done.finish(query)?);
            }
            current = Some(Group::new(dimensions, bucket, query.metrics.len()));
        }
        let Some(group) = current.as_mut() else {
            continue;
        };
        for (index, accumulator) in group.metrics.iter_mut().enumerate() {
            let value: Option<f64> = row
                .try_get(format!("m{index}").as_str())
                .map_err(|error| db_error("failed to read a metric value", error))?;
            if let Some(value) = value.filter(|value| !value.is_nan()) {
                accumulator.add(value, keeps.get(index).copied().unwrap_or(false))?;
            }
        }
    }
    if let Some(done) = current.take() {
        rows.push(done.finish(query)?);
    }
    // Without any key, an aggregate over no rows is still one row (count 0), as in SQL.
    if rows.is_empty() && query.dimensions.is_empty() && query.granularity.is_none() {
        rows.push(Group::new(Vec::new(), None, query.metrics.len()).finish(query)?);
    }
    Ok(rows)
}
