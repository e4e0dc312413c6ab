//! The meta store conformance suite: every scenario runs against BOTH the embedded SQLite meta
//! store (a temporary file) and the Postgres meta store (a fresh `periscope_test_<random>`
//! database on the server of `PERISCOPE__POSTGRES__URL`, dropped when the test ends), so the
//! binary can hand either one to the API and get the same behaviour.
//!
//! Needs Postgres: `eval "$(deploy/dev-services.sh start)"`. `postgres_migrations` holds the
//! Postgres-only tests of the migration runner (a killed migration, concurrent starts).
//!
//! Every module is `cfg(test)` so that its fixtures count as test code (they may unwrap).

#[cfg(test)]
mod annotation;
#[cfg(test)]
mod backends;
#[cfg(test)]
mod comments;
#[cfg(test)]
mod datasets;
#[cfg(test)]
mod evals;
#[cfg(test)]
mod key_admin;
#[cfg(test)]
mod meta;
#[cfg(test)]
mod postgres_migrations;
#[cfg(test)]
mod prompt_listing;
#[cfg(test)]
mod prompts;
#[cfg(test)]
mod score_configs;
#[cfg(test)]
mod sharing;

/// Declares one `#[tokio::test]` per scenario and backend: `on_sqlite::<scenario>` and
/// `on_postgres::<scenario>`. Each scenario is `async fn(&impl Backend)`.
macro_rules! conformance_tests {
    ($($module:ident :: $scenario:ident),* $(,)?) => {
        #[cfg(test)]
        mod on_sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    let backend = crate::backends::SqliteBackend::open().await;
                    crate::$module::$scenario(&backend).await;
                }
            )*
        }

        #[cfg(test)]
        mod on_postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    let backend = crate::backends::PostgresBackend::open().await;
                    crate::$module::$scenario(&backend).await;
                }
            )*
        }
    };
}

conformance_tests!(
    meta::a_fresh_store_is_healthy_and_migrated,
    meta::upserting_a_project_twice_keeps_the_first,
    meta::an_existing_public_key_is_left_unchanged,
    meta::models_are_upserted_listed_and_deleted_per_project,
    meta::data_survives_reopening_the_store,
    prompts::versions_count_up_and_latest_follows_the_newest,
    prompts::a_label_moves_to_the_version_that_receives_it,
    prompts::tags_belong_to_every_version_of_a_name,
    prompts::all_versions_of_a_name_share_one_type,
    prompts::projects_do_not_see_each_others_prompts,
    prompts::concurrent_creates_from_two_stores_get_distinct_versions,
    prompt_listing::the_list_groups_versions_by_name_with_filters_and_pages,
    prompt_listing::the_list_filters_by_update_time,
    prompt_listing::deleting_versions_moves_latest_and_removes_the_name_last,
    prompt_listing::referenced_versions_and_labels_cannot_be_deleted,
    datasets::a_dataset_upsert_creates_once_and_only_set_fields_update_it,
    datasets::datasets_are_isolated_per_project_and_paginate_newest_first,
    datasets::concurrent_upserts_of_one_dataset_create_it_once,
    datasets::items_upsert_by_id_within_their_dataset,
    datasets::items_list_with_filters_and_page_metadata,
    datasets::runs_and_run_items_are_idempotent_and_deletable,
    score_configs::score_configs_round_trip_page_and_update_per_project,
    score_configs::boolean_and_numeric_configs_keep_their_fields,
    comments::comments_are_filtered_paged_and_isolated_per_project,
    key_admin::keys_are_listed_per_project_and_revoked_by_id_or_public_key,
    sharing::objects_are_private_until_toggled_or_flagged,
    sharing::record_flags_share_traces_unless_the_toggle_says_otherwise,
    sharing::an_id_shared_by_two_projects_is_served_by_neither,
    annotation::queues_are_created_once_per_name_and_listed_oldest_first,
    annotation::items_are_added_once_completed_reopened_and_deleted,
    annotation::assignments_are_idempotent_and_removable,
    evals::connections_are_unique_by_name_and_isolated_per_project,
    evals::template_versions_count_up_per_name,
    evals::concurrent_template_creates_get_distinct_versions,
    evals::evaluators_round_trip_and_update_optimistically,
    evals::jobs_register_once_and_claim_exclusively,
    evals::concurrent_claims_have_one_winner,
    evals::jobs_list_newest_first_and_feed_the_funnel,
);
