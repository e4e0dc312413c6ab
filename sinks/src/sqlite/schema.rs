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
    Migration {
        version: 4,
        name: "create experiment items",
        statements: &[
            // One row per run item of a dataset experiment, found in the `langfuse.experiment.*`
            // metadata of observations (many spans of an item's trace carry the same keys).
            // Filled on write (`write::experiments`); `metadata` is the run metadata as sent.
            "CREATE TABLE experiment_items (
                project_id TEXT NOT NULL,
                dataset_id TEXT NOT NULL,
                run_id TEXT NOT NULL,
                run_name TEXT NOT NULL,
                dataset_item_id TEXT NOT NULL,
                trace_id TEXT NOT NULL,
                observation_id TEXT,
                description TEXT,
                metadata TEXT,
                created_at INTEGER NOT NULL,
                updated_at INTEGER NOT NULL,
                PRIMARY KEY (project_id, dataset_id, run_id, dataset_item_id, trace_id)
            ) STRICT, WITHOUT ROWID",
            "CREATE INDEX experiment_items_run_name
                ON experiment_items (project_id, dataset_id, run_name, created_at)",
            // Index the experiment spans stored before this migration, with the rules of
            // `ExperimentSpan::from_metadata`.
            "INSERT INTO experiment_items (project_id, dataset_id, run_id, run_name,
                dataset_item_id, trace_id, observation_id, description, metadata, created_at,
                updated_at)
            SELECT project_id,
                json_extract(body, '$.metadata.\"langfuse.experiment.dataset.id\"'),
                json_extract(body, '$.metadata.\"langfuse.experiment.id\"'),
                json_extract(body, '$.metadata.\"langfuse.experiment.name\"'),
                json_extract(body, '$.metadata.\"langfuse.experiment.item.id\"'),
                trace_id,
                json_extract(body, '$.metadata.\"langfuse.experiment.item.root_observation_id\"'),
                json_extract(body, '$.metadata.\"langfuse.experiment.description\"'),
                json_extract(body, '$.metadata.\"langfuse.experiment.metadata\"'),
                COALESCE(start_time,
                    CAST(unixepoch(json_extract(body, '$.eventTime'), 'subsec') * 1e6 AS INTEGER)),
                COALESCE(start_time,
                    CAST(unixepoch(json_extract(body, '$.eventTime'), 'subsec') * 1e6 AS INTEGER))
            FROM observations
            WHERE json_type(body, '$.metadata.\"langfuse.experiment.dataset.id\"') = 'text'
                AND json_type(body, '$.metadata.\"langfuse.experiment.id\"') = 'text'
                AND json_type(body, '$.metadata.\"langfuse.experiment.name\"') = 'text'
                AND json_type(body, '$.metadata.\"langfuse.experiment.item.id\"') = 'text'
                AND json_extract(body, '$.metadata.\"langfuse.experiment.dataset.id\"') <> ''
                AND json_extract(body, '$.metadata.\"langfuse.experiment.id\"') <> ''
                AND json_extract(body, '$.metadata.\"langfuse.experiment.name\"') <> ''
                AND json_extract(body, '$.metadata.\"langfuse.experiment.item.id\"') <> ''
            ON CONFLICT DO UPDATE SET
                observation_id = COALESCE(observation_id, excluded.observation_id),
                description = COALESCE(description, excluded.description),
                metadata = COALESCE(metadata, excluded.metadata),
                created_at = MIN(created_at, excluded.created_at),
                updated_at = MAX(updated_at, excluded.updated_at)",
        ],
    },
    Migration {
        version: 5,
        name: "remember deleted scores",
        statements: &[
            // Deleted scores, so that a replayed event (not newer than the deletion) does not
            // bring one back.
            "CREATE TABLE deleted_scores (
                project_id TEXT NOT NULL,
                id TEXT NOT NULL,
                deleted_at INTEGER NOT NULL,
                PRIMARY KEY (project_id, id)
            ) STRICT",
        ],
    },
    Migration {
        version: 6,
        name: "drop rarely used trace and observation indexes",
        statements: &[
            // Every secondary index is one more B-tree insert per written row, and ingestion
            // writes far more rows than the UI reads. Kept: the keys, the time orders
            // (`traces_timestamp`, `observations_start`), the trace detail and metrics join
            // (`observations_trace`), sessions (`traces_session`) and the selective filters
            // clients actually send (trace name and user, observation name). The columns
            // dropped here are low-cardinality (environment, type, level) or rarely filtered
            // (release, version, parent): such a filter walks the time index newest first
            // and stops at the page limit, which is fast whenever matches are not rare.
            "DROP INDEX IF EXISTS traces_environment",
            "DROP INDEX IF EXISTS traces_release",
            "DROP INDEX IF EXISTS traces_version",
            "DROP INDEX IF EXISTS observations_parent",
            "DROP INDEX IF EXISTS observations_type",
            "DROP INDEX IF EXISTS observations_environment",
            "DROP INDEX IF EXISTS observations_level",
            "DROP INDEX IF EXISTS observations_version",
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
    Migration {
        version: 3,
        name: "create prompts",
        statements: &[
            // One row per prompt name: its type and tags are shared by all of its versions.
            // `tags` is a JSON array.
            "CREATE TABLE prompt_names (
                project_id TEXT NOT NULL,
                name TEXT NOT NULL,
                type TEXT NOT NULL,
                tags TEXT NOT NULL,
                PRIMARY KEY (project_id, name)
            ) STRICT, WITHOUT ROWID",
            // `prompt` and `config` are JSON text, stored as created.
            "CREATE TABLE prompts (
                id TEXT PRIMARY KEY,
                project_id TEXT NOT NULL,
                name TEXT NOT NULL,
                version INTEGER NOT NULL,
                prompt TEXT NOT NULL,
                config TEXT NOT NULL,
                commit_message TEXT,
                created_by TEXT NOT NULL,
                created_at INTEGER NOT NULL,
                updated_at INTEGER NOT NULL,
                FOREIGN KEY (project_id, name) REFERENCES prompt_names (project_id, name)
                    ON DELETE CASCADE
            ) STRICT",
            // The unique key is the last line of defence against two creates of one name
            // picking the same version number.
            "CREATE UNIQUE INDEX prompts_version ON prompts (project_id, name, version)",
            "CREATE INDEX prompts_updated ON prompts (project_id, updated_at)",
            // The primary key makes a label unique per name: moving it is an upsert.
            "CREATE TABLE prompt_labels (
                project_id TEXT NOT NULL,
                name TEXT NOT NULL,
                label TEXT NOT NULL,
                prompt_id TEXT NOT NULL REFERENCES prompts (id) ON DELETE CASCADE,
                PRIMARY KEY (project_id, name, label)
            ) STRICT, WITHOUT ROWID",
            "CREATE INDEX prompt_labels_prompt ON prompt_labels (prompt_id)",
            // References (`@@@langfusePrompt:…@@@`) of each version, by label or by version,
            // so that deleting a referenced version can be refused.
            "CREATE TABLE prompt_dependencies (
                project_id TEXT NOT NULL,
                parent_id TEXT NOT NULL REFERENCES prompts (id) ON DELETE CASCADE,
                child_name TEXT NOT NULL,
                child_version INTEGER,
                child_label TEXT
            ) STRICT",
            "CREATE INDEX prompt_dependencies_child ON prompt_dependencies (project_id, child_name)",
            "CREATE INDEX prompt_dependencies_parent ON prompt_dependencies (parent_id)",
        ],
    },
    Migration {
        version: 4,
        name: "create datasets",
        statements: &[
            // JSON values (`metadata`, schemas, item input/output) are stored as JSON text;
            // NULL means absent. Item ids are chosen by clients and unique per project.
            "CREATE TABLE datasets (
                project_id TEXT NOT NULL,
                id TEXT NOT NULL,
                name TEXT NOT NULL,
                description TEXT,
                metadata TEXT,
                input_schema TEXT,
                expected_output_schema TEXT,
                created_at INTEGER NOT NULL,
                updated_at INTEGER NOT NULL,
                PRIMARY KEY (project_id, id)
            ) STRICT",
            "CREATE UNIQUE INDEX datasets_name ON datasets (project_id, name)",
            "CREATE INDEX datasets_created ON datasets (project_id, created_at)",
            "CREATE TABLE dataset_items (
                project_id TEXT NOT NULL,
                id TEXT NOT NULL,
                dataset_id TEXT NOT NULL,
                input TEXT,
                expected_output TEXT,
                metadata TEXT,
                source_trace_id TEXT,
                source_observation_id TEXT,
                status TEXT NOT NULL,
                created_at INTEGER NOT NULL,
                updated_at INTEGER NOT NULL,
                PRIMARY KEY (project_id, id),
                FOREIGN KEY (project_id, dataset_id) REFERENCES datasets (project_id, id)
                    ON DELETE CASCADE
            ) STRICT",
            "CREATE INDEX dataset_items_dataset
                ON dataset_items (project_id, dataset_id, created_at)",
            "CREATE INDEX dataset_items_created ON dataset_items (project_id, created_at)",
            "CREATE INDEX dataset_items_source_trace ON dataset_items (project_id, source_trace_id)",
            "CREATE INDEX dataset_items_source_observation
                ON dataset_items (project_id, source_observation_id)",
            "CREATE TABLE dataset_runs (
                project_id TEXT NOT NULL,
                id TEXT NOT NULL,
                dataset_id TEXT NOT NULL,
                name TEXT NOT NULL,
                description TEXT,
                metadata TEXT,
                created_at INTEGER NOT NULL,
                updated_at INTEGER NOT NULL,
                PRIMARY KEY (project_id, id),
                FOREIGN KEY (project_id, dataset_id) REFERENCES datasets (project_id, id)
                    ON DELETE CASCADE
            ) STRICT",
            "CREATE UNIQUE INDEX dataset_runs_name ON dataset_runs (project_id, dataset_id, name)",
            // A run item is unique per (run, dataset item, trace), which makes retried
            // `POST /dataset-run-items` calls idempotent.
            "CREATE TABLE dataset_run_items (
                project_id TEXT NOT NULL,
                id TEXT NOT NULL,
                run_id TEXT NOT NULL,
                dataset_item_id TEXT NOT NULL,
                trace_id TEXT NOT NULL,
                observation_id TEXT,
                created_at INTEGER NOT NULL,
                updated_at INTEGER NOT NULL,
                PRIMARY KEY (project_id, id),
                FOREIGN KEY (project_id, run_id) REFERENCES dataset_runs (project_id, id)
                    ON DELETE CASCADE
            ) STRICT",
            "CREATE UNIQUE INDEX dataset_run_items_key
                ON dataset_run_items (project_id, run_id, dataset_item_id, trace_id)",
        ],
    },
    Migration {
        version: 5,
        name: "create score configs and comments",
        statements: &[
            // `categories` is a JSON array of `{label, value}` (boolean configs store their
            // implicit `False`/`True`).
            "CREATE TABLE score_configs (
                project_id TEXT NOT NULL,
                id TEXT NOT NULL,
                name TEXT NOT NULL,
                data_type TEXT NOT NULL,
                is_archived INTEGER NOT NULL,
                min_value REAL,
                max_value REAL,
                categories TEXT NOT NULL,
                description TEXT,
                created_at INTEGER NOT NULL,
                updated_at INTEGER NOT NULL,
                PRIMARY KEY (project_id, id)
            ) STRICT",
            "CREATE INDEX score_configs_created ON score_configs (project_id, created_at)",
            "CREATE TABLE comments (
                project_id TEXT NOT NULL,
                id TEXT NOT NULL,
                object_type TEXT NOT NULL,
                object_id TEXT NOT NULL,
                content TEXT NOT NULL,
                author_user_id TEXT,
                created_at INTEGER NOT NULL,
                updated_at INTEGER NOT NULL,
                PRIMARY KEY (project_id, id)
            ) STRICT",
            "CREATE INDEX comments_object ON comments (project_id, object_type, object_id)",
            "CREATE INDEX comments_created ON comments (project_id, created_at)",
        ],
    },
    Migration {
        version: 6,
        name: "create annotation queues, shares and api key notes",
        statements: &[
            // `score_config_ids` is a JSON array of score config ids.
            "CREATE TABLE annotation_queues (
                project_id TEXT NOT NULL,
                id TEXT NOT NULL,
                name TEXT NOT NULL,
                description TEXT,
                score_config_ids TEXT NOT NULL,
                created_at INTEGER NOT NULL,
                updated_at INTEGER NOT NULL,
                PRIMARY KEY (project_id, id)
            ) STRICT",
            "CREATE UNIQUE INDEX annotation_queues_name ON annotation_queues (project_id, name)",
            "CREATE INDEX annotation_queues_created ON annotation_queues (project_id, created_at)",
            "CREATE TABLE annotation_queue_items (
                project_id TEXT NOT NULL,
                queue_id TEXT NOT NULL,
                id TEXT NOT NULL,
                object_id TEXT NOT NULL,
                object_type TEXT NOT NULL,
                status TEXT NOT NULL,
                completed_at INTEGER,
                created_at INTEGER NOT NULL,
                updated_at INTEGER NOT NULL,
                PRIMARY KEY (project_id, queue_id, id)
            ) STRICT",
            // One item per object and queue: adding the same object again returns the item.
            "CREATE UNIQUE INDEX annotation_queue_items_object
                ON annotation_queue_items (project_id, queue_id, object_type, object_id)",
            "CREATE INDEX annotation_queue_items_order
                ON annotation_queue_items (project_id, queue_id, status, created_at)",
            "CREATE TABLE annotation_queue_assignments (
                project_id TEXT NOT NULL,
                queue_id TEXT NOT NULL,
                user_id TEXT NOT NULL,
                created_at INTEGER NOT NULL,
                PRIMARY KEY (project_id, queue_id, user_id)
            ) STRICT, WITHOUT ROWID",
            // `toggle` is NULL until set through the API; `record_flag` mirrors the record's
            // own `public`. The second index lets an unauthenticated share request find the
            // project of an object id.
            "CREATE TABLE shares (
                project_id TEXT NOT NULL,
                object_type TEXT NOT NULL,
                object_id TEXT NOT NULL,
                toggle INTEGER,
                record_flag INTEGER NOT NULL,
                updated_at INTEGER NOT NULL,
                PRIMARY KEY (project_id, object_type, object_id)
            ) STRICT, WITHOUT ROWID",
            "CREATE INDEX shares_object ON shares (object_type, object_id)",
            "ALTER TABLE api_keys ADD COLUMN note TEXT",
        ],
    },
    Migration {
        version: 7,
        name: "create llm connections, evaluator templates, evaluators and eval jobs",
        statements: &[
            // `sealed_api_key` is AES-256-GCM ciphertext (see periscope_core::evals); the plain
            // key is never stored. `extra_headers` is a JSON object.
            "CREATE TABLE llm_connections (
                project_id TEXT NOT NULL,
                id TEXT NOT NULL,
                name TEXT NOT NULL,
                base_url TEXT NOT NULL,
                default_model TEXT NOT NULL,
                extra_headers TEXT NOT NULL,
                sealed_api_key TEXT NOT NULL,
                key_preview TEXT NOT NULL,
                created_at INTEGER NOT NULL,
                updated_at INTEGER NOT NULL,
                PRIMARY KEY (project_id, id)
            ) STRICT",
            "CREATE UNIQUE INDEX llm_connections_name ON llm_connections (project_id, name)",
            // `output` is the JSON of an OutputSpec.
            "CREATE TABLE eval_templates (
                project_id TEXT NOT NULL,
                name TEXT NOT NULL,
                version INTEGER NOT NULL,
                id TEXT NOT NULL,
                prompt TEXT NOT NULL,
                output TEXT NOT NULL,
                description TEXT,
                created_at INTEGER NOT NULL,
                PRIMARY KEY (project_id, name, version)
            ) STRICT",
            // `target`, `filter` and `variable_mapping` are JSON.
            "CREATE TABLE evaluators (
                project_id TEXT NOT NULL,
                id TEXT NOT NULL,
                score_name TEXT NOT NULL,
                template_name TEXT NOT NULL,
                template_version INTEGER NOT NULL,
                connection_id TEXT NOT NULL,
                model TEXT,
                target TEXT NOT NULL,
                filter TEXT NOT NULL,
                sampling_rate REAL NOT NULL,
                variable_mapping TEXT NOT NULL,
                settle_window_ms INTEGER NOT NULL,
                active INTEGER NOT NULL,
                version INTEGER NOT NULL,
                created_at INTEGER NOT NULL,
                updated_at INTEGER NOT NULL,
                PRIMARY KEY (project_id, id)
            ) STRICT",
            "CREATE INDEX evaluators_active ON evaluators (active)",
            // One row per (evaluator, version, target): `id` is derived from them, so the
            // primary key is the scheduler's dedup key. `origin` is the records-topic position
            // the job was made from; `lease_until` bounds a runner's claim.
            "CREATE TABLE eval_jobs (
                id TEXT PRIMARY KEY,
                project_id TEXT NOT NULL,
                evaluator_id TEXT NOT NULL,
                evaluator_version INTEGER NOT NULL,
                target TEXT NOT NULL,
                status TEXT NOT NULL,
                origin TEXT NOT NULL,
                not_before INTEGER NOT NULL,
                lease_until INTEGER,
                failure_reason TEXT,
                message TEXT,
                score_id TEXT,
                score_value REAL,
                score_label TEXT,
                prompt_tokens INTEGER,
                completion_tokens INTEGER,
                latency_ms INTEGER,
                attempts INTEGER NOT NULL,
                created_at INTEGER NOT NULL,
                updated_at INTEGER NOT NULL
            ) STRICT",
            "CREATE INDEX eval_jobs_evaluator
                ON eval_jobs (project_id, evaluator_id, status, created_at)",
        ],
    },
    Migration {
        version: 8,
        name: "create eval backfills",
        statements: &[
            // One row per backfill of an evaluator over a time range. `filter`, `budget`,
            // `estimate` and `cursor` are JSON; `cursor` is where the walk continues, saved
            // after every page by the worker holding the lease (`lease_owner`, `lease_until`).
            "CREATE TABLE eval_backfills (
                id TEXT PRIMARY KEY,
                project_id TEXT NOT NULL,
                evaluator_id TEXT NOT NULL,
                evaluator_version INTEGER NOT NULL,
                from_time INTEGER NOT NULL,
                to_time INTEGER NOT NULL,
                filter TEXT NOT NULL,
                budget TEXT NOT NULL,
                estimate TEXT NOT NULL,
                state TEXT NOT NULL,
                reason TEXT,
                cursor TEXT,
                total INTEGER NOT NULL,
                done INTEGER NOT NULL,
                matched INTEGER NOT NULL,
                emitted INTEGER NOT NULL,
                skipped INTEGER NOT NULL,
                active_ms INTEGER NOT NULL,
                lease_owner TEXT,
                lease_until INTEGER,
                created_at INTEGER NOT NULL,
                started_at INTEGER,
                updated_at INTEGER NOT NULL,
                finished_at INTEGER
            ) STRICT",
            "CREATE INDEX eval_backfills_evaluator
                ON eval_backfills (project_id, evaluator_id, created_at)",
            "CREATE INDEX eval_backfills_state ON eval_backfills (state, created_at)",
        ],
    },
];
