//! The ClickHouse schema as numbered migrations. docs/adr/0009 explains the design.
//!
//! Every statement is idempotent (`IF NOT EXISTS`, settings, projection builds, a backfill
//! that finds nothing left to do), so a migration that stopped half-way is
//! simply run again on the next start. Released migrations are never edited: changes go into a
//! new, higher-numbered migration.
//!
//! Row tables are `ReplacingMergeTree(row_version, is_deleted)`: each write of a row inserts a
//! new version, and background merges keep the newest per sorting key. Reads never rely on
//! merges having happened: they pick the newest row per id themselves (`read::latest`).
//! `{ttl}` in a statement is replaced by the retention clause (empty when rows are kept forever).

/// One migration: statements applied in order, then recorded in `schema_migrations`.
#[derive(Debug)]
pub(crate) struct Migration {
    pub(crate) version: u32,
    pub(crate) name: &'static str,
    pub(crate) statements: &'static [&'static str],
    /// Tables rebuilt in a new layout once the statements ran (`migrate::relayout`).
    pub(crate) relayouts: &'static [Relayout],
}

/// A table recreated with the same columns in another layout (sorting key, granularity),
/// keeping its name and rows: the old table is renamed to `{table}_previous`, `create` makes
/// the new one, the rows are copied over and the old table is dropped.
#[derive(Debug)]
pub(crate) struct Relayout {
    pub(crate) table: &'static str,
    /// `CREATE TABLE IF NOT EXISTS {table} ... COMMENT '{LAYOUT_2}'`: the comment tells a
    /// rebuilt table from the old one when the migration is resumed.
    pub(crate) create: &'static str,
}

/// The comment that marks a table created in the layout of migration 5.
pub(crate) const LAYOUT_2: &str = "periscope layout 2";

/// The table that records applied migrations.
pub(crate) const CREATE_MIGRATIONS_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
        version UInt32,
        name String,
        applied_at DateTime64(6, 'UTC')
    ) ENGINE = ReplacingMergeTree ORDER BY version";

/// Migrations of the trace database.
pub(crate) const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "create traces",
        statements: &[
            // `timestamp` is the effective start and the sorting key's time: the record's own
            // timestamp (`timestamp_source` 0), else the earliest observation start (1), else
            // the first event time (2, read back as "no timestamp"). The full merged record is
            // `body`; the other columns serve filters, ordering and list previews.
            "CREATE TABLE IF NOT EXISTS traces (
                project_id LowCardinality(String),
                id String,
                timestamp DateTime64(6, 'UTC'),
                timestamp_source UInt8,
                name Nullable(String),
                user_id Nullable(String),
                session_id Nullable(String),
                release Nullable(String),
                version Nullable(String),
                environment LowCardinality(String),
                tags Array(String),
                metadata Map(String, String),
                input_preview String,
                output_preview String,
                created_at DateTime64(6, 'UTC'),
                updated_at DateTime64(6, 'UTC'),
                body String CODEC(ZSTD(3)),
                row_version UInt64,
                is_deleted UInt8,
                INDEX id_bloom id TYPE bloom_filter(0.001) GRANULARITY 1,
                INDEX user_bloom user_id TYPE bloom_filter(0.01) GRANULARITY 1,
                INDEX session_bloom session_id TYPE bloom_filter(0.01) GRANULARITY 1,
                INDEX name_bloom name TYPE bloom_filter(0.01) GRANULARITY 1,
                INDEX tags_bloom tags TYPE bloom_filter(0.01) GRANULARITY 1,
                INDEX environment_set environment TYPE set(100) GRANULARITY 1
            ) ENGINE = ReplacingMergeTree(row_version, is_deleted)
            PARTITION BY toYYYYMM(timestamp)
            ORDER BY (project_id, toDate(timestamp), id)
            {ttl}",
        ],
        relayouts: &[],
    },
    Migration {
        version: 2,
        name: "create observations",
        statements: &[
            // `timestamp` (the sorting key's time) is the start time, else the event time.
            // `total_cost` and `usage_*` are derived from the merged record for aggregates.
            "CREATE TABLE IF NOT EXISTS observations (
                project_id LowCardinality(String),
                id String,
                trace_id String,
                parent_observation_id Nullable(String),
                type LowCardinality(Nullable(String)),
                name Nullable(String),
                timestamp DateTime64(6, 'UTC'),
                start_time Nullable(DateTime64(6, 'UTC')),
                end_time Nullable(DateTime64(6, 'UTC')),
                level LowCardinality(Nullable(String)),
                version Nullable(String),
                environment LowCardinality(String),
                model LowCardinality(Nullable(String)),
                total_cost Nullable(Float64),
                usage_input Nullable(Int64),
                usage_output Nullable(Int64),
                usage_total Nullable(Int64),
                usage_details Map(LowCardinality(String), Int64),
                cost_details Map(LowCardinality(String), Float64),
                metadata Map(String, String),
                input_preview String,
                output_preview String,
                body String CODEC(ZSTD(3)),
                row_version UInt64,
                is_deleted UInt8,
                INDEX id_bloom id TYPE bloom_filter(0.001) GRANULARITY 1,
                INDEX trace_bloom trace_id TYPE bloom_filter(0.001) GRANULARITY 1,
                INDEX parent_bloom parent_observation_id TYPE bloom_filter(0.01) GRANULARITY 1,
                INDEX name_bloom name TYPE bloom_filter(0.01) GRANULARITY 1,
                INDEX type_set type TYPE set(20) GRANULARITY 1,
                INDEX environment_set environment TYPE set(100) GRANULARITY 1
            ) ENGINE = ReplacingMergeTree(row_version, is_deleted)
            PARTITION BY toYYYYMM(timestamp)
            ORDER BY (project_id, toDate(timestamp), id)
            {ttl}",
        ],
        relayouts: &[],
    },
    Migration {
        version: 3,
        name: "create scores",
        statements: &[
            "CREATE TABLE IF NOT EXISTS scores (
                project_id LowCardinality(String),
                id String,
                trace_id Nullable(String),
                observation_id Nullable(String),
                session_id Nullable(String),
                dataset_run_id Nullable(String),
                name String,
                data_type LowCardinality(String),
                source LowCardinality(String),
                timestamp DateTime64(6, 'UTC'),
                environment LowCardinality(String),
                config_id Nullable(String),
                event_time DateTime64(6, 'UTC'),
                body String CODEC(ZSTD(3)),
                row_version UInt64,
                is_deleted UInt8,
                INDEX id_bloom id TYPE bloom_filter(0.001) GRANULARITY 1,
                INDEX trace_bloom trace_id TYPE bloom_filter(0.001) GRANULARITY 1,
                INDEX observation_bloom observation_id TYPE bloom_filter(0.01) GRANULARITY 1,
                INDEX session_bloom session_id TYPE bloom_filter(0.01) GRANULARITY 1,
                INDEX run_bloom dataset_run_id TYPE bloom_filter(0.01) GRANULARITY 1,
                INDEX name_bloom name TYPE bloom_filter(0.01) GRANULARITY 1
            ) ENGINE = ReplacingMergeTree(row_version, is_deleted)
            PARTITION BY toYYYYMM(timestamp)
            ORDER BY (project_id, toDate(timestamp), id)
            {ttl}",
            // Deletions are remembered so that a replayed score event older than its deletion
            // does not bring the score back (TraceStore::delete_score).
            "CREATE TABLE IF NOT EXISTS deleted_scores (
                project_id LowCardinality(String),
                id String,
                deleted_at DateTime64(6, 'UTC')
            ) ENGINE = ReplacingMergeTree(deleted_at)
            ORDER BY (project_id, id)",
        ],
        relayouts: &[],
    },
    Migration {
        version: 4,
        name: "create experiment items",
        statements: &[
            // One row per observation that names a dataset experiment in its metadata
            // (`ExperimentSpan`), replaced by the observation's newer versions; reads fold the
            // spans of one run item (project, dataset, run, item, trace) together.
            "CREATE TABLE IF NOT EXISTS experiment_items (
                project_id LowCardinality(String),
                dataset_id String,
                run_id String,
                run_name String,
                dataset_item_id String,
                trace_id String,
                span_id String,
                observation_id Nullable(String),
                description Nullable(String),
                metadata Nullable(String),
                created_at DateTime64(6, 'UTC'),
                updated_at DateTime64(6, 'UTC'),
                row_version UInt64
            ) ENGINE = ReplacingMergeTree(row_version)
            ORDER BY (project_id, dataset_id, run_id, dataset_item_id, trace_id, span_id)
            {ttl_created_at}",
        ],
        relayouts: &[],
    },
    Migration {
        version: 5,
        name: "traces and observations in finer granules, observations ordered by trace",
        // docs/adr/0021: reading one trace read five 8,192-row granules of observation bodies
        // (its observations lay apart, sorted by id within the day) and a whole granule of
        // trace bodies. Same columns as migrations 1 and 2; only the layout changes.
        statements: &[],
        relayouts: &[
            Relayout {
                table: "traces",
                create: "CREATE TABLE IF NOT EXISTS traces (
                project_id LowCardinality(String),
                id String,
                timestamp DateTime64(6, 'UTC'),
                timestamp_source UInt8,
                name Nullable(String),
                user_id Nullable(String),
                session_id Nullable(String),
                release Nullable(String),
                version Nullable(String),
                environment LowCardinality(String),
                tags Array(String),
                metadata Map(String, String),
                input_preview String,
                output_preview String,
                created_at DateTime64(6, 'UTC'),
                updated_at DateTime64(6, 'UTC'),
                body String CODEC(ZSTD(3)),
                row_version UInt64,
                is_deleted UInt8,
                INDEX id_bloom id TYPE bloom_filter(0.001) GRANULARITY 1,
                INDEX user_bloom user_id TYPE bloom_filter(0.01) GRANULARITY 1,
                INDEX session_bloom session_id TYPE bloom_filter(0.01) GRANULARITY 1,
                INDEX name_bloom name TYPE bloom_filter(0.01) GRANULARITY 1,
                INDEX tags_bloom tags TYPE bloom_filter(0.01) GRANULARITY 1,
                INDEX environment_set environment TYPE set(100) GRANULARITY 1
            ) ENGINE = ReplacingMergeTree(row_version, is_deleted)
            PARTITION BY toYYYYMM(timestamp)
            ORDER BY (project_id, toDate(timestamp), id)
            {ttl}
            SETTINGS index_granularity = 1024
            COMMENT 'periscope layout 2'",
            },
            // The trace id precedes the id in the sorting key, so a trace's observations
            // (nearly always of one day) share a granule.
            Relayout {
                table: "observations",
                create: "CREATE TABLE IF NOT EXISTS observations (
                project_id LowCardinality(String),
                id String,
                trace_id String,
                parent_observation_id Nullable(String),
                type LowCardinality(Nullable(String)),
                name Nullable(String),
                timestamp DateTime64(6, 'UTC'),
                start_time Nullable(DateTime64(6, 'UTC')),
                end_time Nullable(DateTime64(6, 'UTC')),
                level LowCardinality(Nullable(String)),
                version Nullable(String),
                environment LowCardinality(String),
                model LowCardinality(Nullable(String)),
                total_cost Nullable(Float64),
                usage_input Nullable(Int64),
                usage_output Nullable(Int64),
                usage_total Nullable(Int64),
                usage_details Map(LowCardinality(String), Int64),
                cost_details Map(LowCardinality(String), Float64),
                metadata Map(String, String),
                input_preview String,
                output_preview String,
                body String CODEC(ZSTD(3)),
                row_version UInt64,
                is_deleted UInt8,
                INDEX id_bloom id TYPE bloom_filter(0.001) GRANULARITY 1,
                INDEX trace_bloom trace_id TYPE bloom_filter(0.001) GRANULARITY 1,
                INDEX parent_bloom parent_observation_id TYPE bloom_filter(0.01) GRANULARITY 1,
                INDEX name_bloom name TYPE bloom_filter(0.01) GRANULARITY 1,
                INDEX type_set type TYPE set(20) GRANULARITY 1,
                INDEX environment_set environment TYPE set(100) GRANULARITY 1
            ) ENGINE = ReplacingMergeTree(row_version, is_deleted)
            PARTITION BY toYYYYMM(timestamp)
            ORDER BY (project_id, toDate(timestamp), trace_id, id)
            {ttl}
            SETTINGS index_granularity = 1024
            COMMENT 'periscope layout 2'",
            },
        ],
    },
    Migration {
        version: 6,
        name: "traces sorted by user and by session in projections",
        // docs/adr/0022: a user's or session's traces lie in every granule of their days, so
        // lists filtered by them read the whole range. The projections keep the columns the
        // filters and orderings read, sorted by user and by session.
        statements: &[
            // ReplacingMergeTree refuses projections unless merges say what to do with them:
            // rebuild them from the merged rows.
            "ALTER TABLE traces MODIFY SETTING deduplicate_merge_projection_mode = 'rebuild'",
            "ALTER TABLE traces ADD PROJECTION IF NOT EXISTS by_user (
                SELECT project_id, id, timestamp, timestamp_source, name, user_id, session_id,
                    release, version, environment, tags, created_at, updated_at, row_version,
                    is_deleted
                ORDER BY project_id, user_id, id)",
            "ALTER TABLE traces ADD PROJECTION IF NOT EXISTS by_session (
                SELECT project_id, id, timestamp, timestamp_source, name, user_id, session_id,
                    release, version, environment, tags, created_at, updated_at, row_version,
                    is_deleted
                ORDER BY project_id, session_id, id)",
            // Builds the projections of the parts written before; runs in the background
            // (reads of parts without them fall back to the table).
            "ALTER TABLE traces MATERIALIZE PROJECTION by_user",
            "ALTER TABLE traces MATERIALIZE PROJECTION by_session",
            // Rows written before this migration: every version superseded by one with another
            // time, user or session gets the tombstone the sink now writes (docs/adr/0022), one
            // above it and below the next version (versions are at least 2 apart). Rerunning
            // adds nothing: such a group's newest row is then the tombstone.
            "INSERT INTO traces (project_id, id, timestamp, timestamp_source, user_id,
                session_id, environment, created_at, updated_at, body, row_version, is_deleted)
            SELECT project_id, id, timestamp, 2, user_id, session_id, '', timestamp, timestamp,
                '', group_version + 1, 1
            FROM (
                SELECT project_id, id, timestamp, user_id, session_id,
                    max(row_version) AS group_version,
                    argMax(is_deleted, row_version) AS group_deleted,
                    max(max(row_version)) OVER (PARTITION BY project_id, id) AS newest_version
                FROM traces GROUP BY project_id, id, timestamp, user_id, session_id
            ) AS identity_groups
            WHERE group_version < newest_version AND group_deleted = 0
            -- One aggregation and one sort, both spilled to disk past 1 GB, so a large table
            -- needs no more memory than that; tombstones sharing a sorting key must all stay.
            SETTINGS optimize_on_insert = 0, max_bytes_before_external_group_by = 1000000000,
                max_bytes_before_external_sort = 1000000000",
        ],
        relayouts: &[],
    },
];

/// Returns `statement` with its `{ttl}` (rows keyed by `timestamp`) and `{ttl_created_at}`
/// placeholders replaced by a retention clause.
pub(crate) fn with_retention(statement: &str, retention_seconds: u64) -> String {
    let ttl = |column: &str| {
        if retention_seconds == 0 {
            String::new()
        } else {
            format!("TTL toDateTime({column}) + INTERVAL {retention_seconds} SECOND")
        }
    };
    statement
        .replace("{ttl}", &ttl("timestamp"))
        .replace("{ttl_created_at}", &ttl("created_at"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migration_versions_increase_and_every_statement_is_idempotent() {
        let mut previous = 0;
        for migration in MIGRATIONS {
            assert!(migration.version > previous, "{}", migration.name);
            previous = migration.version;
            for statement in migration.statements {
                // Settings, projection builds and the tombstone backfill are idempotent by
                // nature; everything that creates something says IF NOT EXISTS.
                let idempotent = statement.contains("IF NOT EXISTS")
                    || statement.contains("MODIFY SETTING")
                    || statement.contains("MATERIALIZE PROJECTION")
                    || statement.contains("group_deleted = 0");
                assert!(idempotent, "{statement}");
            }
            for relayout in migration.relayouts {
                let create = relayout.create;
                let prefix = format!("CREATE TABLE IF NOT EXISTS {} (", relayout.table);
                assert!(create.starts_with(&prefix), "{create}");
                assert!(
                    create.ends_with(&format!("COMMENT '{LAYOUT_2}'")),
                    "{create}"
                );
            }
        }
    }

    #[test]
    fn retention_becomes_a_ttl_clause_and_zero_keeps_rows_forever() {
        let statement = MIGRATIONS[0].statements[0];
        assert!(!with_retention(statement, 0).contains("TTL"));
        assert!(with_retention(statement, 86_400).contains("INTERVAL 86400 SECOND"));
        assert!(!with_retention(statement, 86_400).contains("{ttl}"));
    }
}
