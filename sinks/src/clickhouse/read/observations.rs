//! Reading observations: by id, by trace, by page (newest start first) and by cursor.
//!
//! Pages are read in two steps, as trace pages are: ids in order from the narrow columns, then
//! the bodies of those rows only.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use clickhouse::{Client, Row};
use periscope_core::error::BackendResult;
use periscope_core::model::{ObservationRecord, Page};
use periscope_core::store::{ObservationCursor, ObservationFilter, PageRequest};
use serde::Deserialize;

use super::{
    no_filter, page_total, push_any_of, push_equal, push_latest, push_latest_narrow, push_page,
    push_time_range,
};
use crate::clickhouse::connect::{body_error, ch_error};
use crate::clickhouse::rows::micros;
use crate::clickhouse::sql::Sql;

/// Ids per `IN` list of the body lookups.
const IDS_PER_QUERY: usize = 500;

/// The columns observation filters and orderings use.
const NARROW_COLUMNS: &str = "id, trace_id, type, name, parent_observation_id, level, version, \
    environment, start_time, timestamp";

#[derive(Debug, Row, Deserialize)]
struct Body {
    body: String,
}

#[derive(Debug, Row, Deserialize)]
struct Head {
    id: String,
    trace_id: String,
    timestamp: i64,
}

/// A [`Head`] with the number of rows of the whole filtered list.
#[derive(Debug, Row, Deserialize)]
struct CountedHead {
    id: String,
    trace_id: String,
    timestamp: i64,
    total: u64,
}

#[derive(Debug, Row, Deserialize)]
struct IdBody {
    id: String,
    body: String,
}

fn decode(body: &str) -> BackendResult<ObservationRecord> {
    serde_json::from_str(body)
        .map_err(|error| body_error("failed to decode stored observation body", error))
}

/// Returns one observation.
pub(crate) async fn get_observation(
    client: &Client,
    project_id: &str,
    observation_id: &str,
) -> BackendResult<Option<ObservationRecord>> {
    let mut sql = Sql::new("SELECT body FROM (");
    let by_id = |sql: &mut Sql| {
        sql.push(" AND id = ");
        sql.bind_text(observation_id);
    };
    push_latest(
        &mut sql,
        "observations",
        "id, body",
        project_id,
        &by_id,
        &no_filter,
    );
    sql.push(")");
    let row = sql
        .query(client)
        .fetch_optional::<Body>()
        .await
        .map_err(|error| ch_error("failed to read observation", error))?;
    row.map(|row| decode(&row.body)).transpose()
}

/// Returns the observations of one trace, by start time (observations without one last).
pub(crate) async fn of_trace(
    client: &Client,
    project_id: &str,
    trace_id: &str,
) -> BackendResult<Vec<ObservationRecord>> {
    // An observation's trace never changes, so the trace id selects its versions safely.
    let in_trace = |sql: &mut Sql| {
        sql.push(" AND trace_id = ");
        sql.bind_text(trace_id);
    };
    let mut sql = Sql::new("SELECT body FROM (");
    push_latest(
        &mut sql,
        "observations",
        "id, start_time, body",
        project_id,
        &in_trace,
        &no_filter,
    );
    sql.push(") ORDER BY start_time ASC NULLS LAST, id");
    let rows = sql
        .query(client)
        .fetch_all::<Body>()
        .await
        .map_err(|error| ch_error("failed to read the observations of a trace", error))?;
    rows.iter().map(|row| decode(&row.body)).collect()
}

/// Appends the observation filter conditions.
fn push_observation_filter(sql: &mut Sql, filter: &ObservationFilter) {
    push_equal(sql, "trace_id", filter.trace_id.as_deref());
    push_equal(
        sql,
        "type",
        filter.observation_type.map(|kind| kind.as_str()),
    );
    push_equal(sql, "name", filter.name.as_deref());
    push_equal(
        sql,
        "parent_observation_id",
        filter.parent_observation_id.as_deref(),
    );
    push_equal(sql, "level", filter.level.map(|level| level.as_str()));
    push_equal(sql, "version", filter.version.as_deref());
    // The user (a trace attribute) is selected exactly in the safe part.
    push_any_of(sql, "environment", &filter.environments);
    push_time_range(
        sql,
        "start_time",
        filter.from_start_time,
        filter.to_start_time,
    );
}

/// Appends the newest live versions of the observations matching `filter`.
fn push_filtered(sql: &mut Sql, project_id: &str, filter: &ObservationFilter) {
    let (from, to) = (filter.from_start_time, filter.to_start_time);
    let safe = move |sql: &mut Sql| {
        // The sorting-key time is the start time whenever there is one.
        push_time_range(sql, "timestamp", from, to);
        // The trace leads the id in the sorting key (docs/adr/0021), so naming the candidate
        // traces here lets ClickHouse skip the rest. Safe: an observation's trace id never
        // changes once set (a version stored before it was known has "", and is older).
        push_equal(sql, "trace_id", filter.trace_id.as_deref());
        if let Some(user_id) = filter.user_id.as_deref() {
            // The traces whose newest version has this user: exact, and a few granules of the
            // projection sorted by user.
            sql.push(" AND trace_id IN (");
            super::traces::push_trace_ids_of_user(sql, project_id, user_id);
            sql.push(")");
        }
    };
    let conditions = |sql: &mut Sql| push_observation_filter(sql, filter);
    // Within one trace or one user's traces, reading every version once costs less than
    // selecting candidate ids first and reading them again.
    let push = if filter.trace_id.is_some() || filter.user_id.is_some() {
        push_latest_narrow
    } else {
        push_latest
    };
    push(
        sql,
        "observations",
        NARROW_COLUMNS,
        project_id,
        &safe,
        &conditions,
    );
}

/// Returns a page of observations matching `filter`, newest start time first.
pub(crate) async fn list_observations(
    client: &Client,
    project_id: &str,
    filter: &ObservationFilter,
    page: PageRequest,
) -> BackendResult<Page<ObservationRecord>> {
    // The total comes with the page (`count() OVER ()` sees every row before the LIMIT): one
    // scan of the filtered rows instead of two.
    let mut sql = Sql::new("SELECT id, trace_id, timestamp, count() OVER () AS total FROM (");
    push_filtered(&mut sql, project_id, filter);
    sql.push(") ORDER BY start_time DESC NULLS LAST, id DESC");
    push_page(&mut sql, page.limit, page.offset());
    let rows = sql
        .query(client)
        .fetch_all::<CountedHead>()
        .await
        .map_err(|error| ch_error("failed to list observations", error))?;
    let total_items = page_total(
        client,
        rows.first().map(|row| row.total),
        page,
        |sql| push_filtered(sql, project_id, filter),
        "failed to count observations",
    )
    .await?;
    let heads: Vec<Head> = rows
        .into_iter()
        .map(|row| Head {
            id: row.id,
            trace_id: row.trace_id,
            timestamp: row.timestamp,
        })
        .collect();
    let items = with_bodies(client, project_id, &heads).await?;
    Ok(Page { items, total_items })
}

/// Returns up to `limit` observations strictly after `cursor` in `(start_time desc, id desc)`
/// order; observations without a start time come last (a cursor on one of them carries
/// `DateTime::<Utc>::MIN_UTC`).
pub(crate) async fn list_observations_after(
    client: &Client,
    project_id: &str,
    filter: &ObservationFilter,
    cursor: Option<&ObservationCursor>,
    limit: u64,
) -> BackendResult<Vec<ObservationRecord>> {
    let mut sql = Sql::new("SELECT id, trace_id, timestamp FROM (");
    push_filtered(&mut sql, project_id, filter);
    sql.push(")");
    if let Some(cursor) = cursor {
        if cursor.start_time == DateTime::<Utc>::MIN_UTC {
            sql.push(" WHERE start_time IS NULL AND id < ");
            sql.bind_text(&cursor.id);
        } else {
            let start = micros(cursor.start_time);
            sql.push(" WHERE start_time IS NULL OR start_time < fromUnixTimestamp64Micro(");
            sql.bind_int(start);
            sql.push(", 'UTC') OR (start_time = fromUnixTimestamp64Micro(");
            sql.bind_int(start);
            sql.push(", 'UTC') AND id < ");
            sql.bind_text(&cursor.id);
            sql.push(")");
        }
    }
    sql.push(" ORDER BY start_time DESC NULLS LAST, id DESC LIMIT ");
    sql.bind_count(limit);
    fetch_page(client, project_id, sql).await
}

/// Runs a query of `(id, trace_id, timestamp)` heads in page order and returns their observations.
async fn fetch_page(
    client: &Client,
    project_id: &str,
    sql: Sql,
) -> BackendResult<Vec<ObservationRecord>> {
    let heads = sql
        .query(client)
        .fetch_all::<Head>()
        .await
        .map_err(|error| ch_error("failed to list observations", error))?;
    with_bodies(client, project_id, &heads).await
}

/// Returns the observations of `heads` (the newest version of each), in their order.
async fn with_bodies(
    client: &Client,
    project_id: &str,
    heads: &[Head],
) -> BackendResult<Vec<ObservationRecord>> {
    let mut bodies: HashMap<String, String> = HashMap::with_capacity(heads.len());
    for chunk in heads.chunks(IDS_PER_QUERY) {
        let ids: Vec<String> = chunk.iter().map(|head| head.id.clone()).collect();
        let mut trace_ids: Vec<String> = chunk.iter().map(|head| head.trace_id.clone()).collect();
        trace_ids.sort_unstable();
        trace_ids.dedup();
        let mut sql = Sql::new("SELECT id, body FROM observations WHERE project_id = ");
        // The trace leads the id in the sorting key (docs/adr/0021): naming the page's traces
        // lets ClickHouse read their granules only, where the id alone needs the bloom filter
        // of every granule in the time range. The newest version carries the head's trace id.
        sql.bind_text(project_id).push(" AND trace_id IN ");
        sql.bind_texts(&trace_ids).push(" AND id IN ");
        sql.bind_texts(&ids);
        if let (Some(min), Some(max)) = (
            chunk.iter().map(|head| head.timestamp).min(),
            chunk.iter().map(|head| head.timestamp).max(),
        ) {
            sql.push(" AND timestamp >= fromUnixTimestamp64Micro(");
            sql.bind_int(min)
                .push(", 'UTC') AND timestamp <= fromUnixTimestamp64Micro(");
            sql.bind_int(max).push(", 'UTC')");
        }
        sql.push(" ORDER BY row_version DESC LIMIT 1 BY id");
        let rows = sql
            .query(client)
            .fetch_all::<IdBody>()
            .await
            .map_err(|error| ch_error("failed to read observation bodies", error))?;
        bodies.extend(rows.into_iter().map(|row| (row.id, row.body)));
    }
    heads
        .iter()
        .filter_map(|head| bodies.get(&head.id).map(|body| decode(body)))
        .collect()
}
