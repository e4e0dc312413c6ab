//! The write path: read-modify-write with the core merge rules.
//!
//! A batch is grouped and merged in memory first; then, per table, the newest stored version
//! of each of the batch's keys is loaded (one query per project and chunk of ids), merged in
//! Rust exactly as the SQLite store merges, and the rows that changed are inserted as new
//! versions with one `INSERT` per table. `ReplacingMergeTree` keeps the highest `row_version`,
//! and every read picks the highest version itself, so a merged row replaces the stored one at
//! once. Rows that merge to what is stored are not written again, so replays write nothing.
//! Writes of one trace come from one log partition, in order, so the read-modify-write of a
//! key never races another writer (docs/adr/0009).

mod group;
mod observations;
mod scores;
mod traces;

use std::time::Duration;

use chrono::Utc;
use clickhouse::Client;
use clickhouse::Row;
use clickhouse::{RowOwned, RowRead, RowWrite};
use periscope_core::error::{BackendError, BackendResult};
use periscope_core::model::Record;
use periscope_core::store::WriteSummary;

use super::connect::{BACKEND, ch_error};
use super::sql::Sql;
use group::GroupedBatch;
pub(crate) use scores::delete as delete_score;

/// Ids per `IN` list of the loads: keeps the query parameters well under the URL limit.
const IDS_PER_QUERY: usize = 500;

/// Merges `records` into the store. Not atomic across tables, but idempotent: a failed batch
/// is retried whole and converges to the same rows.
pub(crate) async fn write_records(
    client: &Client,
    insert_timeout: Duration,
    records: Vec<Record>,
) -> BackendResult<WriteSummary> {
    if records.is_empty() {
        return Ok(WriteSummary::default());
    }
    // Grouping and merging a batch is milliseconds of CPU work: keep it off the async workers.
    let batch = tokio::task::spawn_blocking(move || GroupedBatch::group(records))
        .await
        .map_err(|error| BackendError::Other {
            backend: BACKEND,
            context: "failed to group a batch".to_owned(),
            source: Box::new(error),
        })?;
    let writer = Writer {
        client,
        insert_timeout,
    };
    // Traces before observations: a reader never sees an observation whose trace record is
    // still missing. Traces without a timestamp of their own derive it from the stored
    // observations and the batch's prepared ones.
    let observations = observations::prepare(&writer, batch.observations).await?;
    traces::upsert(&writer, batch.traces, &observations.trace_starts).await?;
    observations.insert(&writer).await?;
    scores::upsert(&writer, batch.scores).await?;
    Ok(batch.summary)
}

/// The client and settings of one write.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Writer<'c> {
    pub(crate) client: &'c Client,
    pub(crate) insert_timeout: Duration,
}

impl Writer<'_> {
    /// Inserts `rows` into `table` in one `INSERT`.
    pub(crate) async fn insert<T>(&self, table: &str, rows: &[T]) -> BackendResult<()>
    where
        T: Row + RowOwned + RowWrite,
    {
        if rows.is_empty() {
            return Ok(());
        }
        let context = format!("failed to insert into {table}");
        let mut insert = self
            .client
            .insert::<T>(table)
            .await
            .map_err(|error| ch_error(&context, error))?
            .with_timeouts(Some(self.insert_timeout), Some(self.insert_timeout))
            // A tombstone shares its sorting key with the new version when the key time moved
            // within a day; merging them on insert would drop the tombstone and leave the old
            // version (under another time) visible until a background merge.
            .with_setting("optimize_on_insert", "0");
        for row in rows {
            insert
                .write(row)
                .await
                .map_err(|error| ch_error(&context, error))?;
        }
        insert
            .end()
            .await
            .map_err(|error| ch_error(&context, error))
    }

    /// Returns the newest stored version of each of `ids` in `project_id`: the rows of
    /// `columns` (which must name `T`'s fields in order) from `table`.
    pub(crate) async fn load_latest<T>(
        &self,
        table: &str,
        columns: &str,
        project_id: &str,
        ids: &[String],
    ) -> BackendResult<Vec<T>>
    where
        T: Row + RowOwned + RowRead,
    {
        self.load_latest_narrowed(table, columns, project_id, ids, |_, _| {})
            .await
    }

    /// [`Self::load_latest`] with `narrow(sql, chunk)` appending conditions that every version
    /// of the chunk's rows satisfies, so ClickHouse can use the sorting key to find them.
    pub(crate) async fn load_latest_narrowed<T>(
        &self,
        table: &str,
        columns: &str,
        project_id: &str,
        ids: &[String],
        narrow: impl Fn(&mut Sql, &[String]),
    ) -> BackendResult<Vec<T>>
    where
        T: Row + RowOwned + RowRead,
    {
        let mut rows = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(IDS_PER_QUERY) {
            let mut sql = Sql::new(&format!(
                "SELECT {columns} FROM {table} WHERE project_id = "
            ));
            sql.bind_text(project_id);
            narrow(&mut sql, chunk);
            sql.push(" AND id IN ");
            sql.bind_texts(chunk)
                .push(" ORDER BY row_version DESC LIMIT 1 BY id");
            let mut fetched = sql
                .query(self.client)
                .fetch_all::<T>()
                .await
                .map_err(|error| ch_error(&format!("failed to load stored {table}"), error))?;
            rows.append(&mut fetched);
        }
        Ok(rows)
    }
}

/// Returns the version of a new row: newer than the stored one (with room for a tombstone
/// just below it) and, normally, the current time in microseconds.
pub(crate) fn next_version(stored: Option<u64>) -> u64 {
    let now = u64::try_from(Utc::now().timestamp_micros()).unwrap_or(0);
    match stored {
        Some(stored) => now.max(stored.saturating_add(2)),
        None => now,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_version_leaves_room_for_a_tombstone_above_the_stored_one() {
        let far_future = u64::MAX / 2;
        assert_eq!(next_version(Some(far_future)), far_future + 2);
        let fresh = next_version(None);
        assert!(next_version(Some(1)) >= fresh);
    }
}
