//! The schemas of the trace and meta databases, as numbered migrations.
//!
//! Trace tables keep each merged record as a JSON `body` (the source of every read) plus the
//! columns that filters, ordering and aggregates need. Times are integer unix microseconds.
//! Released migrations are never edited: changes go into a new, higher-numbered migration.

use super::migrate::Migration;

/// Migrations of the trace database (`traces.db`).
pub(crate) const TRACE_MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "create traces",
        statements: &[
            // `timestamp` is the effective start: the record's own timestamp, or, when it has
            // none (`timestamp_derived = 1`), the earliest start of the trace's observations.
            // `created_at`/`updated_at` are the earliest/latest event times merged into the
            // row, so that replaying the log reproduces them exactly.
            "CREATE TABLE traces (
                row_id INTEGER PRIMARY KEY,
                project_id TEXT NOT NULL,
                id TEXT NOT NULL,
                timestamp INTEGER,
                timestamp_derived INTEGER NOT NULL,
                name TEXT,
                user_id TEXT,
                session_id TEXT,
                release TEXT,
                version TEXT,
                environment TEXT NOT NULL,
                tags TEXT NOT NULL,
                created_at INTEGER NOT NULL,
                updated_at INTEGER NOT NULL,
                body TEXT NOT NULL
            ) STRICT",
            "CREATE UNIQUE INDEX traces_key ON traces (project_id, id)",
            "CREATE INDEX traces_timestamp ON traces (project_id, timestamp)",
            "CREATE INDEX traces_name ON traces (project_id, name, timestamp)",
            "CREATE INDEX traces_user ON traces (project_id, user_id, timestamp)",
            "CREATE INDEX traces_session ON traces (project_id, session_id, timestamp)",
            "CREATE INDEX traces_environment ON traces (project_id, environment, timestamp)",
            "CREATE INDEX traces_release ON traces (project_id, release, timestamp)",
            "CREATE INDEX traces_version ON traces (project_id, version, timestamp)",
            // A side table rather than `json_each(tags)`, so the AND-of-tags filter is one
            // primary-key probe per tag.
            "CREATE TABLE trace_tags (
                project_id TEXT NOT NULL,
                tag TEXT NOT NULL,
                trace_id TEXT NOT NULL,
                PRIMARY KEY (project_id, tag, trace_id)
            ) STRICT, WITHOUT ROWID",
        ],
    },
    Migration {
        version: 2,
        name: "create observations",
        statements: &[
            "CREATE TABLE observations (
                row_id INTEGER PRIMARY KEY,
                project_id TEXT NOT NULL,
                id TEXT NOT NULL,
                trace_id TEXT NOT NULL,
                parent_observation_id TEXT,
                type TEXT,
                name TEXT,
                start_time INTEGER,
                end_time INTEGER,
                level TEXT,
                version TEXT,
                environment TEXT NOT NULL,
                model TEXT,
                total_cost REAL,
                usage_input INTEGER,
                usage_output INTEGER,
                usage_total INTEGER,
                body TEXT NOT NULL
            ) STRICT",
            "CREATE UNIQUE INDEX observations_key ON observations (project_id, id)",
            "CREATE INDEX observations_start ON observations (project_id, start_time, id)",
            "CREATE INDEX observations_trace ON observations (project_id, trace_id, start_time)",
            "CREATE INDEX observations_parent ON observations (project_id, parent_observation_id)",
            "CREATE INDEX observations_name ON observations (project_id, name, start_time)",
            "CREATE INDEX observations_type ON observations (project_id, type, start_time)",
            "CREATE INDEX observations_environment
                ON observations (project_id, environment, start_time)",
            "CREATE INDEX observations_level ON observations (project_id, level, start_time)",
            "CREATE INDEX observations_version ON observations (project_id, version, start_time)",
        ],
    },
    Migration {
        version: 3,
        name: "create scores",
        statements: &[
            "CREATE TABLE scores (
                row_id INTEGER PRIMARY KEY,
                project_id TEXT NOT NULL,
                id TEXT NOT NULL,
                trace_id TEXT,
                observation_id TEXT,
                session_id TEXT,
                dataset_run_id TEXT,
                name TEXT NOT NULL,
                data_type TEXT NOT NULL,
                source TEXT NOT NULL,
                timestamp INTEGER NOT NULL,
                environment TEXT NOT NULL,
                config_id TEXT,
                event_time INTEGER NOT NULL,
                body TEXT NOT NULL
            ) STRICT",
            "CREATE UNIQUE INDEX scores_key ON scores (project_id, id)",
            "CREATE INDEX scores_timestamp ON scores (project_id, timestamp)",
            "CREATE INDEX scores_trace ON scores (project_id, trace_id, timestamp)",
            "CREATE INDEX scores_observation ON scores (project_id, observation_id)",
            "CREATE INDEX scores_session ON scores (project_id, session_id)",
            "CREATE INDEX scores_dataset_run ON scores (project_id, dataset_run_id)",
            "CREATE INDEX scores_name ON scores (project_id, name, timestamp)",
            "CREATE INDEX scores_config ON scores (project_id, config_id)",
        ],
    },
];

/// Migrations of the meta database (`meta.db`).
pub(crate) const META_MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "create projects and api keys",
        statements: &[
            "CREATE TABLE projects (
                id TEXT PRIMARY KEY,
                name TEXT NOT NULL,
                created_at INTEGER NOT NULL
            ) STRICT",
            "CREATE TABLE api_keys (
                public_key TEXT PRIMARY KEY,
                id TEXT NOT NULL UNIQUE,
                project_id TEXT NOT NULL,
                secret_hash TEXT NOT NULL,
                display_secret TEXT NOT NULL,
                created_at INTEGER NOT NULL
            ) STRICT",
            "CREATE INDEX api_keys_project ON api_keys (project_id)",
        ],
    },
    Migration {
        version: 2,
        name: "create models",
        statements: &[
            // `project_id` is NULL for built-in models; `prices` is a JSON object.
            "CREATE TABLE models (
                id TEXT PRIMARY KEY,
                project_id TEXT,
                model_name TEXT NOT NULL,
                match_pattern TEXT NOT NULL,
                start_date INTEGER,
                prices TEXT NOT NULL,
                unit TEXT NOT NULL,
                tokenizer_id TEXT,
                created_at INTEGER NOT NULL
            ) STRICT",
            "CREATE INDEX models_project ON models (project_id, model_name)",
        ],
    },
];
