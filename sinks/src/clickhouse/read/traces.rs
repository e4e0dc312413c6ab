//! Reading traces: one trace with its observations and scores, and filtered pages of traces
//! with the ids and aggregates the list views show.
//!
//! A page is read in two steps: the ids, times and order of the page from the narrow columns,
//! then the bodies of just those rows, so a list never reads the bodies of rows it skips.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use clickhouse::{Client, Row};
use periscope_core::error::BackendResult;
use periscope_core::model::{ObservationRecord, Page, Trace, TraceRecord, cost_total};
use periscope_core::store::{PageRequest, SortOrder, TraceFilter, TraceOrderField};
use serde::Deserialize;

use super::derived::{Derived, into_trace};
use super::{
    no_filter, page_total, push_any_of, push_equal, push_latest, push_latest_narrow, push_page,
    push_time_range,
};
use crate::clickhouse::connect::{body_error, ch_error, corrupt};
use crate::clickhouse::rows::{TimestampSource, micros};
use crate::clickhouse::sql::Sql;

/// Ids per `IN` list of the per-page lookups.
const IDS_PER_QUERY: usize = 500;

/// The columns trace filters and orderings use.
const NARROW_COLUMNS: &str = "id, timestamp, timestamp_source, name, user_id, session_id, \
    release, version, environment, tags, created_at, updated_at";

/// The time and identity of a trace, selected with [`TRACE_HEAD`].
#[derive(Debug, Row, Deserialize)]
pub(crate) struct TraceHead {
    pub(crate) id: String,
    pub(crate) timestamp: i64,
    pub(crate) timestamp_source: u8,
    pub(crate) environment: String,
    pub(crate) created_at: i64,
    pub(crate) updated_at: i64,
}

/// The columns of [`TraceHead`].
pub(crate) const TRACE_HEAD: &str =
    "id, timestamp, timestamp_source, environment, created_at, updated_at";

#[derive(Debug, Row, Deserialize)]
struct IdBody {
    id: String,
    body: String,
}

/// A trace before the observation- and score-derived fields are added.
#[derive(Debug)]
pub(crate) struct StoredTrace {
    pub(crate) record: TraceRecord,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) updated_at: DateTime<Utc>,
}

/// Returns the time stored as `value` in column `column`.
pub(crate) fn from_micros(value: i64, column: &str) -> BackendResult<DateTime<Utc>> {
    DateTime::from_timestamp_micros(value).ok_or_else(|| {
        corrupt(format!(
            "column {column} holds an out-of-range time {value}"
        ))
    })
}

/// Returns the stored trace of a head and its body.
fn decode_trace(head: &TraceHead, body: &str) -> BackendResult<StoredTrace> {
    let mut record: TraceRecord = serde_json::from_str(body)
        .map_err(|error| body_error("failed to decode stored trace body", error))?;
    // The column holds the effective timestamp: the own one, else the earliest observation's.
    if record.timestamp.is_none()
        && TimestampSource::from_column(head.timestamp_source) == TimestampSource::Observations
    {
        record.timestamp = Some(from_micros(head.timestamp, "timestamp")?);
    }
    Ok(StoredTrace {
        record,
        created_at: from_micros(head.created_at, "created_at")?,
        updated_at: from_micros(head.updated_at, "updated_at")?,
    })
}

/// Appends the trace filter conditions.
pub(crate) fn push_trace_filter(sql: &mut Sql, project_id: &str, filter: &TraceFilter) {
    push_equal(sql, "user_id", filter.user_id.as_deref());
    push_equal(sql, "name", filter.name.as_deref());
    push_equal(sql, "session_id", filter.session_id.as_deref());
    push_equal(sql, "release", filter.release.as_deref());
    push_equal(sql, "version", filter.version.as_deref());
    if !filter.tags.is_empty() {
        sql.push(" AND hasAll(tags, ");
        sql.bind_texts(&filter.tags);
        sql.push(")");
    }
    push_any_of(sql, "environment", &filter.environments);
    if filter.from_timestamp.is_some() || filter.to_timestamp.is_some() {
        // A trace without any timestamp matches no time range.
        sql.push(" AND timestamp_source != 2");
    }
    super::trace_filters::push_derived_trace_filter(sql, project_id, filter);
}

/// Appends the newest live versions of the traces of `project_id` matching `filter`, with the
/// columns [`NARROW_COLUMNS`].
pub(crate) fn push_filtered_traces(sql: &mut Sql, project_id: &str, filter: &TraceFilter) {
    let (from, to) = (filter.from_timestamp, filter.to_timestamp);
    let (user, session) = (filter.user_id.as_deref(), filter.session_id.as_deref());
    let safe = move |sql: &mut Sql| {
        push_time_range(sql, "timestamp", from, to);
        // Safe before picking the newest version (docs/adr/0022), and served by the
        // projections sorted by user and by session: a few granules instead of the range.
        push_equal(sql, "user_id", user);
        push_equal(sql, "session_id", session);
    };
    let conditions = |sql: &mut Sql| push_trace_filter(sql, project_id, filter);
    let push = if user.is_some() || session.is_some() {
        push_latest_narrow
    } else {
        push_latest
    };
    push(
        sql,
        "traces",
        NARROW_COLUMNS,
        project_id,
        &safe,
        &conditions,
    );
}

/// Appends `SELECT id FROM ...`: the ids of the traces of `project_id` whose newest version has
/// user `user_id` (exact, from the projection sorted by user).
pub(crate) fn push_trace_ids_of_user(sql: &mut Sql, project_id: &str, user_id: &str) {
    let of_user = |sql: &mut Sql| push_equal(sql, "user_id", Some(user_id));
    push_latest_narrow(sql, "traces", "id", project_id, &of_user, &no_filter);
}

#[derive(Debug, Row, Deserialize)]
struct TraceRow {
    timestamp: i64,
    timestamp_source: u8,
    environment: String,
    created_at: i64,
    updated_at: i64,
    body: String,
    is_deleted: u8,
}

/// Returns one trace with its full observations (by start time) and scores. The three reads
/// run concurrently: each costs ClickHouse a fixed few milliseconds however little it reads.
pub(crate) async fn get_trace(
    client: &Client,
    project_id: &str,
    trace_id: &str,
) -> BackendResult<Option<Trace>> {
    let (row, observations, scores) = futures::try_join!(
        newest_trace_row(client, project_id, trace_id),
        super::observations::of_trace(client, project_id, trace_id),
        super::scores::of_trace(client, project_id, trace_id)
    )?;
    let stored = match row {
        Some(row) => {
            let head = TraceHead {
                id: trace_id.to_owned(),
                timestamp: row.timestamp,
                timestamp_source: row.timestamp_source,
                environment: row.environment,
                created_at: row.created_at,
                updated_at: row.updated_at,
            };
            decode_trace(&head, &row.body)?
        }
        None => match synthesize_trace(project_id, trace_id, &observations) {
            Some(stored) => stored,
            None => return Ok(None),
        },
    };
    let mut derived = Derived::default();
    for observation in &observations {
        derived.add(
            observation.start_time.map(micros),
            observation.end_time.map(micros),
            cost_total(&observation.calculated_cost_details),
        );
    }
    let mut trace = into_trace(stored, derived, Vec::new());
    trace.observations = observations;
    trace.scores = scores;
    Ok(Some(trace))
}

/// Returns the newest version of a trace's row, unless that version is a deletion.
async fn newest_trace_row(
    client: &Client,
    project_id: &str,
    trace_id: &str,
) -> BackendResult<Option<TraceRow>> {
    let mut sql = Sql::new(
        "SELECT timestamp, timestamp_source, environment, created_at, updated_at, body, \
         is_deleted FROM traces WHERE project_id = ",
    );
    sql.bind_text(project_id).push(" AND id = ");
    sql.bind_text(trace_id)
        .push(" ORDER BY row_version DESC LIMIT 1");
    Ok(sql
        .query(client)
        .fetch_optional::<TraceRow>()
        .await
        .map_err(|error| ch_error("failed to read trace", error))?
        .filter(|row| row.is_deleted == 0))
}

/// Returns a trace made from its observations alone (their trace record is not stored yet).
fn synthesize_trace(
    project_id: &str,
    trace_id: &str,
    observations: &[ObservationRecord],
) -> Option<StoredTrace> {
    let first = observations.first()?;
    let created_at = observations.iter().map(|o| o.event_time).min()?;
    let updated_at = observations.iter().map(|o| o.event_time).max()?;
    let record = TraceRecord {
        project_id: project_id.to_owned(),
        id: trace_id.to_owned(),
        timestamp: observations.iter().filter_map(|o| o.start_time).min(),
        environment: first.environment.clone(),
        event_time: updated_at,
        ..TraceRecord::default()
    };
    Some(StoredTrace {
        record,
        created_at,
        updated_at,
    })
}

/// Returns a page of traces matching `filter`, in the requested order.
pub(crate) async fn list_traces(
    client: &Client,
    project_id: &str,
    filter: &TraceFilter,
    page: PageRequest,
) -> BackendResult<Page<Trace>> {
    // The total comes with the page (`count() OVER ()` sees every row before the LIMIT): one
    // scan of the filtered rows instead of two, which matters more than anything else here
    // when several reads share the cores.
    let mut sql = Sql::new(&format!(
        "SELECT {TRACE_HEAD}, count() OVER () AS total FROM ("
    ));
    push_filtered_traces(&mut sql, project_id, filter);
    let column = match filter.order_by {
        // A trace without a timestamp sorts as NULL, as in the SQLite store.
        TraceOrderField::Timestamp => "if(timestamp_source = 2, NULL, timestamp)",
        TraceOrderField::Name => "name",
        TraceOrderField::UserId => "user_id",
        TraceOrderField::SessionId => "session_id",
        TraceOrderField::Release => "release",
        TraceOrderField::Version => "version",
    };
    // NULLs sort as the smallest value (SQLite's rule); the id breaks ties, so pages never
    // overlap or skip rows.
    let direction = match filter.order {
        SortOrder::Asc => "ASC NULLS FIRST",
        SortOrder::Desc => "DESC NULLS LAST",
    };
    let id_direction = match filter.order {
        SortOrder::Asc => "ASC",
        SortOrder::Desc => "DESC",
    };
    sql.push(&format!(
        ") ORDER BY {column} {direction}, id {id_direction}"
    ));
    push_page(&mut sql, page.limit, page.offset());
    let rows = sql
        .query(client)
        .fetch_all::<CountedTraceHead>()
        .await
        .map_err(|error| ch_error("failed to list traces", error))?;
    let total_items = page_total(
        client,
        rows.first().map(|row| row.total),
        page,
        |sql| push_filtered_traces(sql, project_id, filter),
        "failed to count traces",
    )
    .await?;
    let heads: Vec<TraceHead> = rows.into_iter().map(CountedTraceHead::into_head).collect();
    let items = traces_of_heads(client, project_id, &heads).await?;
    Ok(Page { items, total_items })
}

/// A [`TraceHead`] with the number of rows of the whole filtered list.
#[derive(Debug, Row, Deserialize)]
struct CountedTraceHead {
    id: String,
    timestamp: i64,
    timestamp_source: u8,
    environment: String,
    created_at: i64,
    updated_at: i64,
    total: u64,
}

impl CountedTraceHead {
    fn into_head(self) -> TraceHead {
        TraceHead {
            id: self.id,
            timestamp: self.timestamp,
            timestamp_source: self.timestamp_source,
            environment: self.environment,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

/// Returns the traces of `heads` in their order, with bodies and list-view aggregates (read
/// concurrently).
pub(crate) async fn traces_of_heads(
    client: &Client,
    project_id: &str,
    heads: &[TraceHead],
) -> BackendResult<Vec<Trace>> {
    let ids: Vec<String> = heads.iter().map(|head| head.id.clone()).collect();
    let (stored, derived) = futures::try_join!(
        with_bodies(client, project_id, heads),
        super::derived::of_traces(client, project_id, &ids)
    )?;
    Ok(derived.into_traces(stored))
}

/// Loads the bodies of `heads` (the newest version of each) and decodes the traces, in the
/// order of `heads`.
async fn with_bodies(
    client: &Client,
    project_id: &str,
    heads: &[TraceHead],
) -> BackendResult<Vec<StoredTrace>> {
    let mut bodies: HashMap<String, String> = HashMap::with_capacity(heads.len());
    for chunk in heads.chunks(IDS_PER_QUERY) {
        let ids: Vec<String> = chunk.iter().map(|head| head.id.clone()).collect();
        let mut sql = Sql::new("SELECT id, body FROM traces WHERE project_id = ");
        sql.bind_text(project_id).push(" AND id IN ");
        sql.bind_texts(&ids);
        // The page's times bound the parts to read; the newest versions lie within them.
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
            .map_err(|error| ch_error("failed to read trace bodies", error))?;
        bodies.extend(rows.into_iter().map(|row| (row.id, row.body)));
    }
    heads
        .iter()
        .filter_map(|head| bodies.get(&head.id).map(|body| decode_trace(head, body)))
        .collect()
}
