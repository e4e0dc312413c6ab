//! `TraceStore::prompt_version_metrics` on ClickHouse: the usage part is a metrics query
//! ([`prompt_usage_query`]); the score averages join the newest scores to the prompt's
//! observations.
//!
//! The prompt name and version live in the observation body (no column yet), so both reads
//! parse the bodies of the project's observations in the time range.

use clickhouse::{Client, Row};
use periscope_core::error::BackendResult;
use periscope_core::store::{
    PromptMetricsFilter, PromptVersionMetrics, PromptVersionScore, assemble_prompt_metrics,
    prompt_usage_query,
};
use serde::Deserialize;

use super::metrics_query::query_metrics;
use super::{no_filter, push_latest, push_time_range};
use crate::clickhouse::connect::ch_error;
use crate::clickhouse::sql::Sql;

#[derive(Debug, Row, Deserialize)]
struct ScoreLine {
    version: i64,
    name: String,
    average: f64,
}

/// Returns the usage of each version of `prompt_name`, newest version first.
pub(crate) async fn prompt_version_metrics(
    client: &Client,
    project_id: &str,
    prompt_name: &str,
    filter: &PromptMetricsFilter,
) -> BackendResult<Vec<PromptVersionMetrics>> {
    let usage = query_metrics(client, project_id, &prompt_usage_query(prompt_name, filter)).await?;

    let (from, to) = (filter.from_start_time, filter.to_start_time);
    let safe = move |sql: &mut Sql| push_time_range(sql, "timestamp", from, to);
    let mut sql = Sql::new(
        "SELECT assumeNotNull(o.version) AS version, s.name AS name, avg(s.value) AS average \
         FROM (SELECT id, JSONExtract(body, 'promptVersion', 'Nullable(Int64)') AS version \
            FROM (",
    );
    push_latest(
        &mut sql,
        "observations",
        "id, start_time, body",
        project_id,
        &safe,
        &no_filter,
    );
    sql.push(
        ") WHERE start_time IS NOT NULL AND version IS NOT NULL \
            AND JSONExtract(body, 'promptName', 'Nullable(String)') = ",
    );
    sql.bind_text(prompt_name);
    push_time_range(&mut sql, "start_time", from, to);
    sql.push(
        ") AS o INNER JOIN (SELECT assumeNotNull(observation_id) AS observation_id, name, \
            JSONExtract(body, 'value', 'Float64') AS value FROM (",
    );
    let numeric = |sql: &mut Sql| {
        sql.push(" AND observation_id IS NOT NULL AND data_type IN ('NUMERIC', 'BOOLEAN')");
    };
    push_latest(
        &mut sql,
        "scores",
        "id, observation_id, name, data_type, body",
        project_id,
        &no_filter,
        &numeric,
    );
    sql.push(")) AS s ON s.observation_id = o.id GROUP BY version, name");
    let lines = sql
        .query(client)
        .fetch_all::<ScoreLine>()
        .await
        .map_err(|error| ch_error("failed to read prompt version scores", error))?;
    let scores = lines
        .into_iter()
        .map(|line| PromptVersionScore {
            version: line.version,
            name: line.name,
            average: line.average,
        })
        .collect();
    Ok(assemble_prompt_metrics(usage, scores))
}
