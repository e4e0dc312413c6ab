//! The schema of the Postgres meta database, as numbered migrations.
//!
//! The versions and names match the SQLite meta database (`sqlite::schema`), so both stores
//! report the same `schema_versions()`. Times are BIGINT unix microseconds, as in SQLite, so
//! both stores keep the same precision and compare equal in the conformance suite; JSON values
//! are JSONB, tag lists TEXT[]. Every statement is idempotent (`IF NOT EXISTS`), see
//! [`super::migrate`]. Released migrations are never edited: changes go into a new,
//! higher-numbered migration.

use super::migrate::Migration;

/// Migrations of the meta database.
pub const META_MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "create projects and api keys",
        statements: &[
            "CREATE TABLE IF NOT EXISTS projects (
                id TEXT PRIMARY KEY,
                name TEXT NOT NULL,
                created_at BIGINT NOT NULL
            )",
            // Only the SHA-256 of a secret key is stored (`meta::hash_secret`).
            "CREATE TABLE IF NOT EXISTS api_keys (
                public_key TEXT PRIMARY KEY,
                id TEXT NOT NULL UNIQUE,
                project_id TEXT NOT NULL,
                secret_hash TEXT NOT NULL,
                display_secret TEXT NOT NULL,
                created_at BIGINT NOT NULL
            )",
            "CREATE INDEX IF NOT EXISTS api_keys_project ON api_keys (project_id)",
        ],
    },
    Migration {
        version: 2,
        name: "create models",
        statements: &[
            // `project_id` is NULL for built-in models; `prices` is a JSON object.
            "CREATE TABLE IF NOT EXISTS models (
                id TEXT PRIMARY KEY,
                project_id TEXT,
                model_name TEXT NOT NULL,
                match_pattern TEXT NOT NULL,
                start_date BIGINT,
                prices JSONB NOT NULL,
                unit TEXT NOT NULL,
                tokenizer_id TEXT,
                created_at BIGINT NOT NULL
            )",
            "CREATE INDEX IF NOT EXISTS models_project ON models (project_id, model_name)",
        ],
    },
    Migration {
        version: 3,
        name: "create prompts",
        statements: &[
            // One row per prompt name: its type and tags are shared by all of its versions.
            "CREATE TABLE IF NOT EXISTS prompt_names (
                project_id TEXT NOT NULL,
                name TEXT NOT NULL,
                type TEXT NOT NULL,
                tags TEXT[] NOT NULL,
                PRIMARY KEY (project_id, name)
            )",
            "CREATE TABLE IF NOT EXISTS prompts (
                id TEXT PRIMARY KEY,
                project_id TEXT NOT NULL,
                name TEXT NOT NULL,
                version BIGINT NOT NULL,
                prompt JSONB NOT NULL,
                config JSONB NOT NULL,
                commit_message TEXT,
                created_by TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL,
                FOREIGN KEY (project_id, name) REFERENCES prompt_names (project_id, name)
                    ON DELETE CASCADE
            )",
            // The last line of defence against two creates of one name picking one number.
            "CREATE UNIQUE INDEX IF NOT EXISTS prompts_version
                ON prompts (project_id, name, version)",
            "CREATE INDEX IF NOT EXISTS prompts_updated ON prompts (project_id, updated_at)",
            // The primary key makes a label unique per name: moving it is an upsert.
            "CREATE TABLE IF NOT EXISTS prompt_labels (
                project_id TEXT NOT NULL,
                name TEXT NOT NULL,
                label TEXT NOT NULL,
                prompt_id TEXT NOT NULL REFERENCES prompts (id) ON DELETE CASCADE,
                PRIMARY KEY (project_id, name, label)
            )",
            "CREATE INDEX IF NOT EXISTS prompt_labels_prompt ON prompt_labels (prompt_id)",
            // References (`@@@langfusePrompt:…@@@`) of each version, by label or by version,
            // so that deleting a referenced version can be refused.
            "CREATE TABLE IF NOT EXISTS prompt_dependencies (
                project_id TEXT NOT NULL,
                parent_id TEXT NOT NULL REFERENCES prompts (id) ON DELETE CASCADE,
                child_name TEXT NOT NULL,
                child_version BIGINT,
                child_label TEXT
            )",
            "CREATE INDEX IF NOT EXISTS prompt_dependencies_child
                ON prompt_dependencies (project_id, child_name)",
            "CREATE INDEX IF NOT EXISTS prompt_dependencies_parent
                ON prompt_dependencies (parent_id)",
        ],
    },
    Migration {
        version: 4,
        name: "create datasets",
        statements: &[
            // NULL means absent; a JSON `null` is stored as JSONB null. Item ids are chosen by
            // clients and unique per project.
            "CREATE TABLE IF NOT EXISTS datasets (
                project_id TEXT NOT NULL,
                id TEXT NOT NULL,
                name TEXT NOT NULL,
                description TEXT,
                metadata JSONB,
                input_schema JSONB,
                expected_output_schema JSONB,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL,
                PRIMARY KEY (project_id, id)
            )",
            "CREATE UNIQUE INDEX IF NOT EXISTS datasets_name ON datasets (project_id, name)",
            "CREATE INDEX IF NOT EXISTS datasets_created ON datasets (project_id, created_at)",
            "CREATE TABLE IF NOT EXISTS dataset_items (
                project_id TEXT NOT NULL,
                id TEXT NOT NULL,
                dataset_id TEXT NOT NULL,
                input JSONB,
                expected_output JSONB,
                metadata JSONB,
                source_trace_id TEXT,
                source_observation_id TEXT,
                status TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL,
                PRIMARY KEY (project_id, id),
                FOREIGN KEY (project_id, dataset_id) REFERENCES datasets (project_id, id)
                    ON DELETE CASCADE
            )",
            "CREATE INDEX IF NOT EXISTS dataset_items_dataset
                ON dataset_items (project_id, dataset_id, created_at)",
            "CREATE INDEX IF NOT EXISTS dataset_items_created
                ON dataset_items (project_id, created_at)",
            "CREATE INDEX IF NOT EXISTS dataset_items_source_trace
                ON dataset_items (project_id, source_trace_id)",
            "CREATE INDEX IF NOT EXISTS dataset_items_source_observation
                ON dataset_items (project_id, source_observation_id)",
            "CREATE TABLE IF NOT EXISTS dataset_runs (
                project_id TEXT NOT NULL,
                id TEXT NOT NULL,
                dataset_id TEXT NOT NULL,
                name TEXT NOT NULL,
                description TEXT,
                metadata JSONB,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL,
                PRIMARY KEY (project_id, id),
                FOREIGN KEY (project_id, dataset_id) REFERENCES datasets (project_id, id)
                    ON DELETE CASCADE
            )",
            "CREATE UNIQUE INDEX IF NOT EXISTS dataset_runs_name
                ON dataset_runs (project_id, dataset_id, name)",
            // A run item is unique per (run, dataset item, trace), which makes retried
            // `POST /dataset-run-items` calls idempotent.
            "CREATE TABLE IF NOT EXISTS dataset_run_items (
                project_id TEXT NOT NULL,
                id TEXT NOT NULL,
                run_id TEXT NOT NULL,
                dataset_item_id TEXT NOT NULL,
                trace_id TEXT NOT NULL,
                observation_id TEXT,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL,
                PRIMARY KEY (project_id, id),
                FOREIGN KEY (project_id, run_id) REFERENCES dataset_runs (project_id, id)
                    ON DELETE CASCADE
            )",
            "CREATE UNIQUE INDEX IF NOT EXISTS dataset_run_items_key
                ON dataset_run_items (project_id, run_id, dataset_item_id, trace_id)",
        ],
    },
    Migration {
        version: 5,
        name: "create score configs and comments",
        statements: &[
            // `categories` is a JSON array of `{label, value}` (boolean configs store their
            // implicit `False`/`True`).
            "CREATE TABLE IF NOT EXISTS score_configs (
                project_id TEXT NOT NULL,
                id TEXT NOT NULL,
                name TEXT NOT NULL,
                data_type TEXT NOT NULL,
                is_archived BOOLEAN NOT NULL,
                min_value DOUBLE PRECISION,
                max_value DOUBLE PRECISION,
                categories JSONB NOT NULL,
                description TEXT,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL,
                PRIMARY KEY (project_id, id)
            )",
            "CREATE INDEX IF NOT EXISTS score_configs_created
                ON score_configs (project_id, created_at)",
            "CREATE TABLE IF NOT EXISTS comments (
                project_id TEXT NOT NULL,
                id TEXT NOT NULL,
                object_type TEXT NOT NULL,
                object_id TEXT NOT NULL,
                content TEXT NOT NULL,
                author_user_id TEXT,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL,
                PRIMARY KEY (project_id, id)
            )",
            "CREATE INDEX IF NOT EXISTS comments_object
                ON comments (project_id, object_type, object_id)",
            "CREATE INDEX IF NOT EXISTS comments_created ON comments (project_id, created_at)",
        ],
    },
    Migration {
        version: 6,
        name: "create annotation queues, shares and api key notes",
        statements: &[
            "CREATE TABLE IF NOT EXISTS annotation_queues (
                project_id TEXT NOT NULL,
                id TEXT NOT NULL,
                name TEXT NOT NULL,
                description TEXT,
                score_config_ids TEXT[] NOT NULL,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL,
                PRIMARY KEY (project_id, id)
            )",
            "CREATE UNIQUE INDEX IF NOT EXISTS annotation_queues_name
                ON annotation_queues (project_id, name)",
            "CREATE INDEX IF NOT EXISTS annotation_queues_created
                ON annotation_queues (project_id, created_at)",
            "CREATE TABLE IF NOT EXISTS annotation_queue_items (
                project_id TEXT NOT NULL,
                queue_id TEXT NOT NULL,
                id TEXT NOT NULL,
                object_id TEXT NOT NULL,
                object_type TEXT NOT NULL,
                status TEXT NOT NULL,
                completed_at BIGINT,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL,
                PRIMARY KEY (project_id, queue_id, id)
            )",
            // One item per object and queue: adding the same object again returns the item.
            "CREATE UNIQUE INDEX IF NOT EXISTS annotation_queue_items_object
                ON annotation_queue_items (project_id, queue_id, object_type, object_id)",
            "CREATE INDEX IF NOT EXISTS annotation_queue_items_order
                ON annotation_queue_items (project_id, queue_id, status, created_at)",
            "CREATE TABLE IF NOT EXISTS annotation_queue_assignments (
                project_id TEXT NOT NULL,
                queue_id TEXT NOT NULL,
                user_id TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                PRIMARY KEY (project_id, queue_id, user_id)
            )",
            // `toggle` is NULL until set through the API; `record_flag` mirrors the record's
            // own `public`. The second index lets an unauthenticated share request find the
            // project of an object id.
            "CREATE TABLE IF NOT EXISTS shares (
                project_id TEXT NOT NULL,
                object_type TEXT NOT NULL,
                object_id TEXT NOT NULL,
                toggle BOOLEAN,
                record_flag BOOLEAN NOT NULL,
                updated_at BIGINT NOT NULL,
                PRIMARY KEY (project_id, object_type, object_id)
            )",
            "CREATE INDEX IF NOT EXISTS shares_object ON shares (object_type, object_id)",
            "ALTER TABLE api_keys ADD COLUMN IF NOT EXISTS note TEXT",
        ],
    },
    Migration {
        version: 7,
        name: "create llm connections, evaluator templates, evaluators and eval jobs",
        statements: &[
            // `sealed_api_key` is AES-256-GCM ciphertext (see periscope_core::evals); the plain
            // key is never stored.
            "CREATE TABLE IF NOT EXISTS llm_connections (
                project_id TEXT NOT NULL,
                id TEXT NOT NULL,
                name TEXT NOT NULL,
                base_url TEXT NOT NULL,
                default_model TEXT NOT NULL,
                extra_headers JSONB NOT NULL,
                sealed_api_key TEXT NOT NULL,
                key_preview TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL,
                PRIMARY KEY (project_id, id)
            )",
            "CREATE UNIQUE INDEX IF NOT EXISTS llm_connections_name
                ON llm_connections (project_id, name)",
            // `output` is the JSON of an OutputSpec.
            "CREATE TABLE IF NOT EXISTS eval_templates (
                project_id TEXT NOT NULL,
                name TEXT NOT NULL,
                version BIGINT NOT NULL,
                id TEXT NOT NULL,
                prompt TEXT NOT NULL,
                output JSONB NOT NULL,
                description TEXT,
                created_at BIGINT NOT NULL,
                PRIMARY KEY (project_id, name, version)
            )",
            "CREATE TABLE IF NOT EXISTS evaluators (
                project_id TEXT NOT NULL,
                id TEXT NOT NULL,
                score_name TEXT NOT NULL,
                template_name TEXT NOT NULL,
                template_version BIGINT NOT NULL,
                connection_id TEXT NOT NULL,
                model TEXT,
                target JSONB NOT NULL,
                filter JSONB NOT NULL,
                sampling_rate DOUBLE PRECISION NOT NULL,
                variable_mapping JSONB NOT NULL,
                settle_window_ms BIGINT NOT NULL,
                active BOOLEAN NOT NULL,
                version BIGINT NOT NULL,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL,
                PRIMARY KEY (project_id, id)
            )",
            "CREATE INDEX IF NOT EXISTS evaluators_active ON evaluators (active)",
            // One row per (evaluator, version, target): `id` is derived from them, so the
            // primary key is the scheduler's dedup key. `origin` is the records-topic position
            // the job was made from; `lease_until` bounds a runner's claim.
            "CREATE TABLE IF NOT EXISTS eval_jobs (
                id TEXT PRIMARY KEY,
                project_id TEXT NOT NULL,
                evaluator_id TEXT NOT NULL,
                evaluator_version BIGINT NOT NULL,
                target JSONB NOT NULL,
                status TEXT NOT NULL,
                origin TEXT NOT NULL,
                not_before BIGINT NOT NULL,
                lease_until BIGINT,
                failure_reason TEXT,
                message TEXT,
                score_id TEXT,
                score_value DOUBLE PRECISION,
                score_label TEXT,
                prompt_tokens BIGINT,
                completion_tokens BIGINT,
                latency_ms BIGINT,
                attempts BIGINT NOT NULL,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL
            )",
            "CREATE INDEX IF NOT EXISTS eval_jobs_evaluator
                ON eval_jobs (project_id, evaluator_id, status, created_at)",
        ],
    },
    Migration {
        version: 8,
        name: "create eval backfills",
        statements: &[
            // One row per backfill of an evaluator over a time range; `cursor` is where the
            // walk continues, saved after every page by the worker holding the lease.
            "CREATE TABLE IF NOT EXISTS eval_backfills (
                id TEXT PRIMARY KEY,
                project_id TEXT NOT NULL,
                evaluator_id TEXT NOT NULL,
                evaluator_version BIGINT NOT NULL,
                from_time BIGINT NOT NULL,
                to_time BIGINT NOT NULL,
                filter JSONB NOT NULL,
                budget JSONB NOT NULL,
                estimate JSONB NOT NULL,
                state TEXT NOT NULL,
                reason TEXT,
                cursor JSONB,
                total BIGINT NOT NULL,
                done BIGINT NOT NULL,
                matched BIGINT NOT NULL,
                emitted BIGINT NOT NULL,
                skipped BIGINT NOT NULL,
                active_ms BIGINT NOT NULL,
                lease_owner TEXT,
                lease_until BIGINT,
                created_at BIGINT NOT NULL,
                started_at BIGINT,
                updated_at BIGINT NOT NULL,
                finished_at BIGINT
            )",
            "CREATE INDEX IF NOT EXISTS eval_backfills_evaluator
                ON eval_backfills (project_id, evaluator_id, created_at)",
            "CREATE INDEX IF NOT EXISTS eval_backfills_state
                ON eval_backfills (state, created_at)",
        ],
    },
];
