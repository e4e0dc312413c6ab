//! `PromptStore` for [`SqliteMetaStore`]: prompt versions, labels, tags and references in the
//! meta database (tables of migration 3).
//!
//! Every write runs in one `BEGIN IMMEDIATE` transaction, which takes SQLite's write lock
//! before the first read: two creates of one name (from this process or another opening the
//! same file) are serialised, so the second sees the first's version and numbers its own one
//! higher. The unique `(project_id, name, version)` index backs this up. Label uniqueness per
//! name is the primary key of `prompt_labels`, so moving a label is a single upsert.

mod delete;
mod read;

use std::collections::HashSet;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use periscope_core::error::BackendResult;
use periscope_core::model::Page;
use periscope_core::prompts::{
    DependencyTarget, LATEST_LABEL, NewPrompt, Prompt, PromptDeletion, PromptError,
    PromptListFilter, PromptMeta, PromptResult, PromptStore,
};
use periscope_core::store::PageRequest;
use sqlx::{Row, SqliteConnection};

use self::delete::delete_versions;
use self::read::{PromptKey, get_strings, list_prompts, select_prompt};
use super::columns::micros;
use super::connect::{body_error, corrupt, db_error};
use super::meta_store::SqliteMetaStore;

/// Returns the error of a missing version or label of `name`.
fn not_found(name: &str) -> PromptError {
    PromptError::NotFound {
        name: name.to_owned(),
    }
}

/// Gives `label` of `name` to version `prompt_id`, taking it from the version that has it
/// (whose `updated_at` becomes `now`).
async fn move_label(
    connection: &mut SqliteConnection,
    project_id: &str,
    name: &str,
    label: &str,
    prompt_id: &str,
    now: DateTime<Utc>,
) -> BackendResult<()> {
    let context = format!("failed to move label {label} of prompt {name}");
    sqlx::query(
        "UPDATE prompts SET updated_at = ? WHERE id = (SELECT prompt_id FROM prompt_labels \
         WHERE project_id = ? AND name = ? AND label = ?) AND id <> ?",
    )
    .bind(micros(now))
    .bind(project_id)
    .bind(name)
    .bind(label)
    .bind(prompt_id)
    .execute(&mut *connection)
    .await
    .map_err(|error| db_error(&context, error))?;
    sqlx::query(
        "INSERT INTO prompt_labels (project_id, name, label, prompt_id) VALUES (?, ?, ?, ?) \
         ON CONFLICT (project_id, name, label) DO UPDATE SET prompt_id = excluded.prompt_id",
    )
    .bind(project_id)
    .bind(name)
    .bind(label)
    .bind(prompt_id)
    .execute(&mut *connection)
    .await
    .map_err(|error| db_error(&context, error))?;
    Ok(())
}

/// Returns the set of tags, for comparing tag lists regardless of order.
fn tag_set(tags: &[String]) -> HashSet<&str> {
    tags.iter().map(String::as_str).collect()
}

/// Creates the next version inside an open transaction and returns it.
async fn insert_version(
    connection: &mut SqliteConnection,
    new: &NewPrompt,
) -> PromptResult<Prompt> {
    let context = format!("failed to create a version of prompt {}", new.name);
    let now = new.created_at;
    let existing =
        sqlx::query("SELECT type, tags FROM prompt_names WHERE project_id = ? AND name = ?")
            .bind(new.project_id.as_str())
            .bind(new.name.as_str())
            .fetch_optional(&mut *connection)
            .await
            .map_err(|error| db_error(&context, error))?;
    let existing = match existing {
        Some(row) => {
            let stored_type: String = row
                .try_get("type")
                .map_err(|error| db_error(&context, error))?;
            if stored_type != new.prompt_type.as_str() {
                return Err(PromptError::Rejected(format!(
                    "prompt {:?} has {stored_type} versions, so a new version must be a \
                     {stored_type} prompt too; create a prompt with another name instead",
                    new.name
                )));
            }
            Some(get_strings(&row, "tags")?)
        }
        None => None,
    };
    let tags = new
        .tags
        .clone()
        .or_else(|| existing.clone())
        .unwrap_or_default();
    let tags_json =
        serde_json::to_string(&tags).map_err(|error| body_error("failed to encode tags", error))?;
    match &existing {
        None => {
            sqlx::query(
                "INSERT INTO prompt_names (project_id, name, type, tags) VALUES (?, ?, ?, ?)",
            )
            .bind(new.project_id.as_str())
            .bind(new.name.as_str())
            .bind(new.prompt_type.as_str())
            .bind(tags_json.as_str())
            .execute(&mut *connection)
            .await
            .map_err(|error| db_error(&context, error))?;
        }
        Some(old_tags) if tag_set(old_tags) != tag_set(&tags) => {
            // Tags belong to every version, so every version changes.
            sqlx::query("UPDATE prompt_names SET tags = ? WHERE project_id = ? AND name = ?")
                .bind(tags_json.as_str())
                .bind(new.project_id.as_str())
                .bind(new.name.as_str())
                .execute(&mut *connection)
                .await
                .map_err(|error| db_error(&context, error))?;
            sqlx::query("UPDATE prompts SET updated_at = ? WHERE project_id = ? AND name = ?")
                .bind(micros(now))
                .bind(new.project_id.as_str())
                .bind(new.name.as_str())
                .execute(&mut *connection)
                .await
                .map_err(|error| db_error(&context, error))?;
        }
        Some(_) => {}
    }
    let version: i64 = sqlx::query_scalar(
        "SELECT COALESCE(MAX(version), 0) + 1 FROM prompts WHERE project_id = ? AND name = ?",
    )
    .bind(new.project_id.as_str())
    .bind(new.name.as_str())
    .fetch_one(&mut *connection)
    .await
    .map_err(|error| db_error(&context, error))?;
    let prompt_json = serde_json::to_string(&new.prompt)
        .map_err(|error| body_error("failed to encode prompt", error))?;
    let config_json = serde_json::to_string(&new.config)
        .map_err(|error| body_error("failed to encode config", error))?;
    sqlx::query(
        "INSERT INTO prompts (id, project_id, name, version, prompt, config, commit_message, \
         created_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(new.id.as_str())
    .bind(new.project_id.as_str())
    .bind(new.name.as_str())
    .bind(version)
    .bind(prompt_json)
    .bind(config_json)
    .bind(new.commit_message.as_deref())
    .bind(new.created_by.as_str())
    .bind(micros(now))
    .bind(micros(now))
    .execute(&mut *connection)
    .await
    .map_err(|error| db_error(&context, error))?;

    let labels = new
        .labels
        .iter()
        .map(String::as_str)
        .chain([LATEST_LABEL])
        .collect::<Vec<_>>();
    for label in labels {
        move_label(connection, &new.project_id, &new.name, label, &new.id, now).await?;
    }
    for dependency in &new.dependencies {
        let (child_version, child_label) = match &dependency.target {
            DependencyTarget::Version(version) => (Some(*version), None),
            DependencyTarget::Label(label) => (None, Some(label.as_str())),
        };
        sqlx::query(
            "INSERT INTO prompt_dependencies (project_id, parent_id, child_name, child_version, \
             child_label) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(new.project_id.as_str())
        .bind(new.id.as_str())
        .bind(dependency.name.as_str())
        .bind(child_version)
        .bind(child_label)
        .execute(&mut *connection)
        .await
        .map_err(|error| db_error(&context, error))?;
    }
    select_prompt(connection, PromptKey::Id(&new.id))
        .await?
        .ok_or_else(|| corrupt(format!("prompt version {} vanished while created", new.id)).into())
}

/// Adds labels to one version inside an open transaction and returns it.
async fn add_labels(
    connection: &mut SqliteConnection,
    project_id: &str,
    name: &str,
    version: i64,
    new_labels: &[String],
) -> PromptResult<Prompt> {
    let key = PromptKey::Version {
        project_id,
        name,
        version,
    };
    let target = select_prompt(connection, key)
        .await?
        .ok_or_else(|| not_found(name))?;
    let now = Utc::now();
    for label in new_labels {
        if !target.labels.contains(label) {
            move_label(connection, project_id, name, label, &target.id, now).await?;
        }
    }
    sqlx::query("UPDATE prompts SET updated_at = ? WHERE id = ?")
        .bind(micros(now))
        .bind(target.id.as_str())
        .execute(&mut *connection)
        .await
        .map_err(|error| db_error(&format!("failed to update prompt {name}"), error))?;
    select_prompt(connection, key)
        .await?
        .ok_or_else(|| not_found(name))
}

/// Opens a `BEGIN IMMEDIATE` transaction on the writer: it holds SQLite's write lock from its
/// first statement, so the reads that decide a write cannot go stale before it commits.
async fn begin_write(
    store: &SqliteMetaStore,
    context: &str,
) -> BackendResult<sqlx::Transaction<'static, sqlx::Sqlite>> {
    store
        .pools
        .writer
        .begin_with("BEGIN IMMEDIATE")
        .await
        .map_err(|error| db_error(context, error))
}

/// Commits a write transaction.
async fn commit(
    transaction: sqlx::Transaction<'static, sqlx::Sqlite>,
    context: &str,
) -> BackendResult<()> {
    transaction
        .commit()
        .await
        .map_err(|error| db_error(context, error))
}

#[async_trait]
impl PromptStore for SqliteMetaStore {
    async fn create_version(&self, new: NewPrompt) -> PromptResult<Prompt> {
        let context = format!("failed to create a version of prompt {}", new.name);
        let mut transaction = begin_write(self, &context).await?;
        // Dropping the transaction on an error rolls it back.
        let prompt = insert_version(&mut transaction, &new).await?;
        commit(transaction, &context).await?;
        Ok(prompt)
    }

    async fn get_by_label(
        &self,
        project_id: &str,
        name: &str,
        label: &str,
    ) -> BackendResult<Option<Prompt>> {
        let mut connection = self
            .pools
            .reader
            .acquire()
            .await
            .map_err(|error| db_error("failed to read prompt", error))?;
        let key = PromptKey::Label {
            project_id,
            name,
            label,
        };
        select_prompt(&mut connection, key).await
    }

    async fn get_by_version(
        &self,
        project_id: &str,
        name: &str,
        version: i64,
    ) -> BackendResult<Option<Prompt>> {
        let mut connection = self
            .pools
            .reader
            .acquire()
            .await
            .map_err(|error| db_error("failed to read prompt", error))?;
        let key = PromptKey::Version {
            project_id,
            name,
            version,
        };
        select_prompt(&mut connection, key).await
    }

    async fn update_labels(
        &self,
        project_id: &str,
        name: &str,
        version: i64,
        new_labels: &[String],
    ) -> PromptResult<Prompt> {
        let context = format!("failed to update labels of prompt {name}");
        let mut transaction = begin_write(self, &context).await?;
        let prompt = add_labels(&mut transaction, project_id, name, version, new_labels).await?;
        commit(transaction, &context).await?;
        Ok(prompt)
    }

    async fn list(
        &self,
        project_id: &str,
        filter: &PromptListFilter,
        page: PageRequest,
    ) -> BackendResult<Page<PromptMeta>> {
        // One read transaction, so the count and the page come from the same snapshot.
        let mut transaction = self
            .pools
            .reader
            .begin()
            .await
            .map_err(|error| db_error("failed to list prompts", error))?;
        let page = list_prompts(&mut transaction, project_id, filter, page).await?;
        transaction
            .commit()
            .await
            .map_err(|error| db_error("failed to list prompts", error))?;
        Ok(page)
    }

    async fn delete(
        &self,
        project_id: &str,
        name: &str,
        target: &PromptDeletion,
    ) -> PromptResult<u64> {
        let context = format!("failed to delete prompt {name}");
        let mut transaction = begin_write(self, &context).await?;
        let deleted = delete_versions(&mut transaction, project_id, name, target).await?;
        commit(transaction, &context).await?;
        Ok(deleted)
    }
}
