//! `TraceStore::prompt_version_metrics` on SQLite: the usage part is a metrics query
//! ([`prompt_usage_query`]); the score averages join scores to the prompt's observations.
//!
//! The prompt name and version live in the observation body (no column yet), so both reads
//! scan the project's observations in the time range.

use periscope_core::error::BackendResult;
use periscope_core::store::{
    PromptMetricsFilter, PromptVersionMetrics, PromptVersionScore, assemble_prompt_metrics,
    prompt_usage_query,
};
use sqlx::{QueryBuilder, Sqlite, SqlitePool};

use super::metrics_query::query_metrics;
use crate::sqlite::columns::get;
use crate::sqlite::connect::db_error;
use crate::sqlite::filters::push_time_range;

/// Returns the usage of each version of `prompt_name`, newest version first.
pub(crate) async fn prompt_version_metrics(
    pool: &SqlitePool,
    project_id: &str,
    prompt_name: &str,
    filter: &PromptMetricsFilter,
) -> BackendResult<Vec<PromptVersionMetrics>> {
    let usage = query_metrics(pool, project_id, &prompt_usage_query(prompt_name, filter)).await?;

    let mut query = QueryBuilder::<Sqlite>::new(
        "SELECT CAST(json_extract(o.body, '$.promptVersion') AS INTEGER) AS version, \
            s.name AS name, AVG(CAST(json_extract(s.body, '$.value') AS REAL)) AS average \
         FROM observations o \
         JOIN scores s ON s.project_id = o.project_id AND s.observation_id = o.id \
         WHERE s.data_type IN ('NUMERIC', 'BOOLEAN') AND o.start_time IS NOT NULL \
            AND json_extract(o.body, '$.promptVersion') IS NOT NULL AND o.project_id = ",
    );
    query.push_bind(project_id);
    query.push(" AND json_extract(o.body, '$.promptName') = ");
    query.push_bind(prompt_name);
    push_time_range(
        &mut query,
        "o.start_time",
        filter.from_start_time,
        filter.to_start_time,
    );
    query.push(" GROUP BY version, s.name");
    let rows = query
        .build()
        .fetch_all(pool)
        .await
        .map_err(|error| db_error("failed to read prompt version scores", error))?;
    let scores = rows
        .iter()
        .map(|row| {
            Ok(PromptVersionScore {
                version: get(row, "version")?,
                name: get(row, "name")?,
                average: get(row, "average")?,
            })
        })
        .collect::<BackendResult<Vec<_>>>()?;
    Ok(assemble_prompt_metrics(usage, scores))
}
