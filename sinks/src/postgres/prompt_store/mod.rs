//! `PromptStore` for [`PostgresMetaStore`]: prompt versions, labels, tags and references
//! (tables of migration 3).
//!
//! Every write runs in one transaction that first takes the advisory lock of its
//! `(project, name)` (`LockClass::PromptName`): two creates of one name, from this process or
//! another, run one after the other, so the second sees the first's version and numbers its
//! own one higher. The unique `(project_id, name, version)` index backs this up. Label
//! uniqueness per name is the primary key of `prompt_labels`, so moving a label is one upsert.

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
use sqlx::{PgConnection, Postgres, Transaction};

use self::delete::delete_versions;
use self::read::{PromptKey, list_prompts, select_prompt};
use super::connect::{LockClass, corrupt, db_error, lock_for_transaction, micros};
use super::meta_store::PostgresMetaStore;

/// Returns the error of a missing version or label of `name`.
fn not_found(name: &str) -> PromptError {
    PromptError::NotFound {
        name: name.to_owned(),
    }
}

/// Gives `label` of `name` to version `prompt_id`, taking it from the version that has it
/// (whose `updated_at` becomes `now`).
async fn move_label(
    connection: &mut PgConnection,
    project_id: &str,
    name: &str,
    label: &str,
    prompt_id: &str,
    now: DateTime<Utc>,
) -> BackendResult<()> {
    let context = format!("failed to move label {label} of prompt {name}");
    sqlx::query(
        "UPDATE prompts SET updated_at = $1 WHERE id = (SELECT prompt_id FROM prompt_labels \
         WHERE project_id = $2 AND name = $3 AND label = $4) AND id <> $5",
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
        "INSERT INTO prompt_labels (project_id, name, label, prompt_id) \
         VALUES ($1, $2, $3, $4) \
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

/// Checks the type of an existing name and returns its tags (`None` for a new name).
async fn existing_tags(
    connection: &mut PgConnection,
    new: &NewPrompt,
    context: &str,
) -> PromptResult<Option<Vec<String>>> {
    let existing: Option<(String, Vec<String>)> =
        sqlx::query_as("SELECT type, tags FROM prompt_names WHERE project_id = $1 AND name = $2")
            .bind(new.project_id.as_str())
            .bind(new.name.as_str())
            .fetch_optional(&mut *connection)
            .await
            .map_err(|error| db_error(context, error))?;
    let Some((stored_type, tags)) = existing else {
        return Ok(None);
    };
    if stored_type != new.prompt_type.as_str() {
        return Err(PromptError::Rejected(format!(
            "prompt {:?} has {stored_type} versions, so a new version must be a \
             {stored_type} prompt too; create a prompt with another name instead",
            new.name
        )));
    }
    Ok(Some(tags))
}

/// Creates the name row, or applies new tags to every version of the name.
async fn write_name(
    connection: &mut PgConnection,
    new: &NewPrompt,
    existing: Option<&[String]>,
    tags: &[String],
    context: &str,
) -> BackendResult<()> {
    match existing {
        None => {
            sqlx::query(
                "INSERT INTO prompt_names (project_id, name, type, tags) VALUES ($1, $2, $3, $4)",
            )
            .bind(new.project_id.as_str())
            .bind(new.name.as_str())
            .bind(new.prompt_type.as_str())
            .bind(tags)
            .execute(&mut *connection)
            .await
            .map_err(|error| db_error(context, error))?;
        }
        Some(old_tags) if tag_set(old_tags) != tag_set(tags) => {
            // Tags belong to every version, so every version changes.
            sqlx::query("UPDATE prompt_names SET tags = $1 WHERE project_id = $2 AND name = $3")
                .bind(tags)
                .bind(new.project_id.as_str())
                .bind(new.name.as_str())
                .execute(&mut *connection)
                .await
                .map_err(|error| db_error(context, error))?;
            sqlx::query("UPDATE prompts SET updated_at = $1 WHERE project_id = $2 AND name = $3")
                .bind(micros(new.created_at))
                .bind(new.project_id.as_str())
                .bind(new.name.as_str())
                .execute(&mut *connection)
                .await
                .map_err(|error| db_error(context, error))?;
        }
        Some(_) => {}
    }
    Ok(())
}

/// Creates the next version inside an open transaction that holds the name's lock.
async fn insert_version(connection: &mut PgConnection, new: &NewPrompt) -> PromptResult<Prompt> {
    let context = format!("failed to create a version of prompt {}", new.name);
    let now = new.created_at;
    let existing = existing_tags(connection, new, &context).await?;
    let tags = new
        .tags
        .clone()
        .or_else(|| existing.clone())
        .unwrap_or_default();
    write_name(connection, new, existing.as_deref(), &tags, &context).await?;
    let version: i64 = sqlx::query_scalar(
        "SELECT COALESCE(MAX(version), 0) + 1 FROM prompts WHERE project_id = $1 AND name = $2",
    )
    .bind(new.project_id.as_str())
    .bind(new.name.as_str())
    .fetch_one(&mut *connection)
    .await
    .map_err(|error| db_error(&context, error))?;
    sqlx::query(
        "INSERT INTO prompts (id, project_id, name, version, prompt, config, commit_message, \
         created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
    )
    .bind(new.id.as_str())
    .bind(new.project_id.as_str())
    .bind(new.name.as_str())
    .bind(version)
    .bind(&new.prompt)
    .bind(&new.config)
    .bind(new.commit_message.as_deref())
    .bind(new.created_by.as_str())
    .bind(micros(now))
    .execute(&mut *connection)
    .await
    .map_err(|error| db_error(&context, error))?;

    let labels = new.labels.iter().map(String::as_str).chain([LATEST_LABEL]);
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
             child_label) VALUES ($1, $2, $3, $4, $5)",
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
    connection: &mut PgConnection,
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
    sqlx::query("UPDATE prompts SET updated_at = $1 WHERE id = $2")
        .bind(micros(now))
        .bind(target.id.as_str())
        .execute(&mut *connection)
        .await
        .map_err(|error| db_error(&format!("failed to update prompt {name}"), error))?;
    select_prompt(connection, key)
        .await?
        .ok_or_else(|| not_found(name))
}

/// Opens a write transaction holding the lock of `(project_id, name)`.
async fn begin_write(
    store: &PostgresMetaStore,
    project_id: &str,
    name: &str,
    context: &str,
) -> BackendResult<Transaction<'static, Postgres>> {
    let mut transaction = store
        .pool
        .begin()
        .await
        .map_err(|error| db_error(context, error))?;
    lock_for_transaction(
        &mut transaction,
        LockClass::PromptName,
        &[project_id, name],
        context,
    )
    .await?;
    Ok(transaction)
}

/// Commits a write transaction.
async fn commit(transaction: Transaction<'static, Postgres>, context: &str) -> BackendResult<()> {
    transaction
        .commit()
        .await
        .map_err(|error| db_error(context, error))
}

#[async_trait]
impl PromptStore for PostgresMetaStore {
    async fn create_version(&self, new: NewPrompt) -> PromptResult<Prompt> {
        let context = format!("failed to create a version of prompt {}", new.name);
        let mut transaction = begin_write(self, &new.project_id, &new.name, &context).await?;
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
            .pool
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
            .pool
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
        let mut transaction = begin_write(self, project_id, name, &context).await?;
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
        let context = "failed to list prompts";
        let mut transaction = self
            .pool
            .begin()
            .await
            .map_err(|error| db_error(context, error))?;
        // One snapshot for the count, the page and each name's versions.
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *transaction)
            .await
            .map_err(|error| db_error(context, error))?;
        let page = list_prompts(&mut transaction, project_id, filter, page).await?;
        commit(transaction, context).await?;
        Ok(page)
    }

    async fn delete(
        &self,
        project_id: &str,
        name: &str,
        target: &PromptDeletion,
    ) -> PromptResult<u64> {
        let context = format!("failed to delete prompt {name}");
        let mut transaction = begin_write(self, project_id, name, &context).await?;
        let deleted = delete_versions(&mut transaction, project_id, name, target).await?;
        commit(transaction, &context).await?;
        Ok(deleted)
    }
}
