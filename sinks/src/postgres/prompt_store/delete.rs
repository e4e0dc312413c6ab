//! Deleting prompt versions: refused while another prompt references a version or label that
//! would disappear; `latest` moves to the newest remaining version.

use std::collections::HashSet;

use chrono::Utc;
use periscope_core::error::BackendResult;
use periscope_core::prompts::{LATEST_LABEL, PromptDeletion, PromptError, PromptResult};
use sqlx::PgConnection;

use super::{move_label, not_found};
use crate::postgres::connect::db_error;

/// One version: id, number and labels.
#[derive(Debug, sqlx::FromRow)]
struct VersionLabels {
    id: String,
    version: i64,
    labels: Vec<String>,
}

/// A stored reference to `name`, with the referencing version.
#[derive(Debug, sqlx::FromRow)]
struct Dependent {
    parent_id: String,
    child_version: Option<i64>,
    child_label: Option<String>,
    parent_name: String,
    parent_version: i64,
}

/// Returns every version of `name` with its labels.
async fn versions_of(
    connection: &mut PgConnection,
    project_id: &str,
    name: &str,
) -> BackendResult<Vec<VersionLabels>> {
    sqlx::query_as(
        "SELECT p.id, p.version, ARRAY(SELECT l.label FROM prompt_labels l \
         WHERE l.prompt_id = p.id) AS labels FROM prompts p \
         WHERE p.project_id = $1 AND p.name = $2 ORDER BY p.version",
    )
    .bind(project_id)
    .bind(name)
    .fetch_all(&mut *connection)
    .await
    .map_err(|error| db_error(&format!("failed to read versions of prompt {name}"), error))
}

/// Returns the references of other prompts that deleting `victims` would break, as messages.
fn blocking_references(
    dependents: &[Dependent],
    name: &str,
    victims: &[&VersionLabels],
    remaining: &[&VersionLabels],
) -> Vec<String> {
    let victim_ids: HashSet<&str> = victims.iter().map(|victim| victim.id.as_str()).collect();
    let victim_versions: HashSet<i64> = victims.iter().map(|victim| victim.version).collect();
    let label_survives = |label: &str| {
        // `latest` moves to the newest remaining version, so it survives while any does.
        (label == LATEST_LABEL && !remaining.is_empty())
            || remaining
                .iter()
                .any(|version| version.labels.iter().any(|l| l == label))
    };
    dependents
        .iter()
        .filter(|dependent| !victim_ids.contains(dependent.parent_id.as_str()))
        .filter_map(|dependent| {
            let target = match (&dependent.child_version, &dependent.child_label) {
                (Some(version), _) if victim_versions.contains(version) => {
                    format!("version {version}")
                }
                (None, Some(label)) if !label_survives(label) => format!("label {label:?}"),
                _ => return None,
            };
            Some(format!(
                "{} v{} references {name} {target}",
                dependent.parent_name, dependent.parent_version
            ))
        })
        .collect()
}

/// Deletes versions inside an open transaction; see `PromptStore::delete`.
pub(super) async fn delete_versions(
    connection: &mut PgConnection,
    project_id: &str,
    name: &str,
    target: &PromptDeletion,
) -> PromptResult<u64> {
    let context = format!("failed to delete prompt {name}");
    let all = versions_of(connection, project_id, name).await?;
    let (victims, remaining): (Vec<&VersionLabels>, Vec<&VersionLabels>) =
        all.iter().partition(|candidate| match target {
            PromptDeletion::All => true,
            PromptDeletion::Version(version) => candidate.version == *version,
            PromptDeletion::Label(label) => candidate.labels.contains(label),
        });
    if victims.is_empty() {
        return Err(not_found(name));
    }

    let dependents: Vec<Dependent> = sqlx::query_as(
        "SELECT d.parent_id, d.child_version, d.child_label, p.name AS parent_name, \
            p.version AS parent_version \
         FROM prompt_dependencies d JOIN prompts p ON p.id = d.parent_id \
         WHERE d.project_id = $1 AND d.child_name = $2 \
         ORDER BY p.name COLLATE \"C\", p.version",
    )
    .bind(project_id)
    .bind(name)
    .fetch_all(&mut *connection)
    .await
    .map_err(|error| db_error(&context, error))?;
    let blocking = blocking_references(&dependents, name, &victims, &remaining);
    if !blocking.is_empty() {
        return Err(PromptError::Rejected(format!(
            "other prompts reference the versions to delete ({}); delete or change those \
             prompts first",
            blocking.join("; ")
        )));
    }

    let lost_latest = victims
        .iter()
        .any(|victim| victim.labels.iter().any(|label| label == LATEST_LABEL));
    let newest_remaining = remaining.iter().max_by_key(|version| version.version);
    if lost_latest && let Some(newest) = newest_remaining {
        move_label(
            connection,
            project_id,
            name,
            LATEST_LABEL,
            &newest.id,
            Utc::now(),
        )
        .await?;
    }
    let victim_ids: Vec<&str> = victims.iter().map(|victim| victim.id.as_str()).collect();
    // Labels and references of the deleted versions go with them (`ON DELETE CASCADE`).
    sqlx::query("DELETE FROM prompts WHERE id = ANY($1)")
        .bind(&victim_ids)
        .execute(&mut *connection)
        .await
        .map_err(|error| db_error(&context, error))?;
    if remaining.is_empty() {
        sqlx::query("DELETE FROM prompt_names WHERE project_id = $1 AND name = $2")
            .bind(project_id)
            .bind(name)
            .execute(&mut *connection)
            .await
            .map_err(|error| db_error(&context, error))?;
    }
    Ok(victims.len() as u64)
}
