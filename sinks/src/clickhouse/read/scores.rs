//! Reading scores: by id, by trace and by page (newest timestamp first).

use clickhouse::{Client, Row};
use periscope_core::error::BackendResult;
use periscope_core::model::{Page, ScoreRecord};
use periscope_core::store::{PageRequest, ScoreFilter};
use serde::Deserialize;

use super::{
    fetch_count, no_filter, push_any_of, push_equal, push_latest, push_page, push_time_range,
};
use crate::clickhouse::connect::{body_error, ch_error};
use crate::clickhouse::sql::Sql;

/// Every column a score filter or ordering uses, and the body (scores are small).
const COLUMNS: &str = "id, trace_id, observation_id, session_id, dataset_run_id, name, \
    data_type, source, config_id, environment, timestamp, body";

#[derive(Debug, Row, Deserialize)]
struct Body {
    body: String,
}

fn decode(rows: Vec<Body>) -> BackendResult<Vec<ScoreRecord>> {
    rows.iter()
        .map(|row| {
            serde_json::from_str(&row.body)
                .map_err(|error| body_error("failed to decode stored score body", error))
        })
        .collect()
}

/// Returns one score.
pub(crate) async fn get_score(
    client: &Client,
    project_id: &str,
    score_id: &str,
) -> BackendResult<Option<ScoreRecord>> {
    let by_id = |sql: &mut Sql| {
        sql.push(" AND id = ");
        sql.bind_text(score_id);
    };
    let mut sql = Sql::new("SELECT body FROM (");
    push_latest(
        &mut sql, "scores", "id, body", project_id, &by_id, &no_filter,
    );
    sql.push(")");
    let rows = sql
        .query(client)
        .fetch_all::<Body>()
        .await
        .map_err(|error| ch_error("failed to read score", error))?;
    Ok(decode(rows)?.into_iter().next())
}

/// Returns the scores of one trace, oldest first.
pub(crate) async fn of_trace(
    client: &Client,
    project_id: &str,
    trace_id: &str,
) -> BackendResult<Vec<ScoreRecord>> {
    let filter = ScoreFilter {
        trace_id: Some(trace_id.to_owned()),
        ..ScoreFilter::default()
    };
    let mut sql = Sql::new("SELECT body FROM (");
    push_filtered(&mut sql, project_id, &filter);
    sql.push(") ORDER BY timestamp, id");
    let rows = sql
        .query(client)
        .fetch_all::<Body>()
        .await
        .map_err(|error| ch_error("failed to read the scores of a trace", error))?;
    decode(rows)
}

fn push_score_filter(sql: &mut Sql, project_id: &str, filter: &ScoreFilter) {
    push_equal(sql, "trace_id", filter.trace_id.as_deref());
    push_equal(sql, "observation_id", filter.observation_id.as_deref());
    push_equal(sql, "session_id", filter.session_id.as_deref());
    push_equal(sql, "dataset_run_id", filter.dataset_run_id.as_deref());
    push_equal(sql, "name", filter.name.as_deref());
    push_equal(sql, "data_type", filter.data_type.map(|kind| kind.as_str()));
    push_equal(sql, "source", filter.source.map(|source| source.as_str()));
    push_equal(sql, "config_id", filter.config_id.as_deref());
    if let Some(user_id) = filter.user_id.as_deref() {
        sql.push(" AND trace_id IN (");
        super::traces::push_trace_ids_of_user(sql, project_id, user_id);
        sql.push(")");
    }
    push_any_of(sql, "environment", &filter.environments);
    push_time_range(sql, "timestamp", filter.from_timestamp, filter.to_timestamp);
}

fn push_filtered(sql: &mut Sql, project_id: &str, filter: &ScoreFilter) {
    let (from, to) = (filter.from_timestamp, filter.to_timestamp);
    let safe = move |sql: &mut Sql| push_time_range(sql, "timestamp", from, to);
    let conditions = |sql: &mut Sql| push_score_filter(sql, project_id, filter);
    push_latest(sql, "scores", COLUMNS, project_id, &safe, &conditions);
}

/// Returns a page of scores matching `filter`, newest first.
pub(crate) async fn list_scores(
    client: &Client,
    project_id: &str,
    filter: &ScoreFilter,
    page: PageRequest,
) -> BackendResult<Page<ScoreRecord>> {
    let mut count = Sql::new("SELECT count() FROM (");
    push_filtered(&mut count, project_id, filter);
    count.push(")");
    let total_items = fetch_count(client, &count, "failed to count scores").await?;

    let mut sql = Sql::new("SELECT body FROM (");
    push_filtered(&mut sql, project_id, filter);
    sql.push(") ORDER BY timestamp DESC, id DESC");
    push_page(&mut sql, page.limit, page.offset());
    let rows = sql
        .query(client)
        .fetch_all::<Body>()
        .await
        .map_err(|error| ch_error("failed to list scores", error))?;
    Ok(Page {
        items: decode(rows)?,
        total_items,
    })
}
