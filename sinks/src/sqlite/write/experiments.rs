//! Indexing dataset experiment spans: every written observation whose metadata names a dataset
//! experiment (`ExperimentSpan`) becomes, or refines, one row of `experiment_items`, so that
//! `ExperimentIndex` reads never scan observation bodies. Docs/adr/0007 explains the design.
//!
//! The upsert is idempotent and order-independent: the earliest start and the first known
//! observation, description and metadata win, so replays and late spans converge.

use periscope_core::datasets::ExperimentSpan;
use periscope_core::error::BackendResult;
use periscope_core::model::ObservationRecord;
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use super::rows::{execute, rows_per_insert};
use crate::sqlite::columns::micros;

const COLUMNS: &[&str] = &[
    "project_id",
    "dataset_id",
    "run_id",
    "run_name",
    "dataset_item_id",
    "trace_id",
    "observation_id",
    "description",
    "metadata",
    "created_at",
    "updated_at",
];

/// One `experiment_items` row taken from an observation.
struct ExperimentRow<'r> {
    record: &'r ObservationRecord,
    span: ExperimentSpan,
    time: i64,
}

/// Indexes the experiment spans among `rows` (merged observations with their bodies).
pub(crate) async fn index(
    connection: &mut SqliteConnection,
    rows: &[(ObservationRecord, String)],
) -> BackendResult<()> {
    let experiment_rows: Vec<ExperimentRow<'_>> = rows
        .iter()
        .filter_map(|(record, _)| {
            ExperimentSpan::from_metadata(&record.metadata).map(|span| ExperimentRow {
                record,
                span,
                time: micros(record.start_time.unwrap_or(record.event_time)),
            })
        })
        .collect();
    for chunk in experiment_rows.chunks(rows_per_insert(COLUMNS.len())) {
        let mut query = QueryBuilder::<Sqlite>::new(format!(
            "INSERT INTO experiment_items ({}) ",
            COLUMNS.join(", ")
        ));
        query.push_values(chunk, |mut row, experiment| {
            let span = &experiment.span;
            row.push_bind(experiment.record.project_id.as_str())
                .push_bind(span.dataset_id.as_str())
                .push_bind(span.run_id.as_str())
                .push_bind(span.run_name.as_str())
                .push_bind(span.dataset_item_id.as_str())
                .push_bind(experiment.record.trace_id.as_str())
                .push_bind(span.root_observation_id.as_deref())
                .push_bind(span.description.as_deref())
                .push_bind(span.metadata.as_deref())
                .push_bind(experiment.time)
                .push_bind(experiment.time);
        });
        // SQLite applies the conflict clause row by row, so two spans of one run item in the
        // same statement merge like spans of different batches.
        query.push(
            " ON CONFLICT (project_id, dataset_id, run_id, dataset_item_id, trace_id) DO UPDATE \
             SET run_name = excluded.run_name, \
                observation_id = COALESCE(observation_id, excluded.observation_id), \
                description = COALESCE(description, excluded.description), \
                metadata = COALESCE(metadata, excluded.metadata), \
                created_at = MIN(created_at, excluded.created_at), \
                updated_at = MAX(updated_at, excluded.updated_at)",
        );
        execute(connection, query, "failed to index experiment spans").await?;
    }
    Ok(())
}
