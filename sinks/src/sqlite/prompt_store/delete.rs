//! Deleting prompt versions: refused while another prompt references a version or label that
//! would disappear; `latest` moves to the newest remaining version.

use std::collections::HashSet;

use chrono::Utc;
use periscope_core::error::BackendResult;
use periscope_core::prompts::{LATEST_LABEL, PromptDeletion, PromptError, PromptResult};
use sqlx::{Row, SqliteConnection};

use super::read::get_strings;
use super::{move_label, not_found};
use crate::sqlite::connect::db_error;

/// One version: id, number and labels.
#[derive(Debug)]
struct VersionLabels {
    id: String,
    version: i64,
    labels: Vec<String>,
}

/// Returns every version of `name` with its labels.
async fn versions_of(
    connection: &mut SqliteConnection,
    project_id: &str,
    name: &str,
) -> BackendResult<Vec<VersionLabels>> {
    let rows = sqlx::query(
        "SELECT p.id, p.version, (SELECT json_group_array(l.label) FROM prompt_labels l \
         WHERE l.prompt_id = p.id) AS labels FROM prompts p \
         WHERE p.project_id = ? AND p.name = ? ORDER BY p.version",
    )
    .bind(project_id)
    .bind(name)
    .fetch_all(&mut *connection)
    .await
    .map_err(|error| db_error(&format!("failed to read versions of prompt {name}"), error))?;
    rows.iter()
        .map(|row| {
            Ok(VersionLabels {
                id: row
                    .try_get("id")
                    .map_err(|error| db_error("failed to read column id", error))?,
                version: row
                    .try_get("version")
                    .map_err(|error| db_error("failed to read column version", error))?,
                labels: get_strings(row, "labels")?,
            })
        })
        .collect()
}

/// Deletes versions inside an open transaction; see [`PromptStore::delete`].
pub(super) async fn delete_versions(
    connection: &mut SqliteConnection,
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
    let victim_ids: HashSet<&str> = victims.iter().map(|victim| victim.id.as_str()).collect();
    let victim_versions: HashSet<i64> = victims.iter().map(|victim| victim.version).collect();
    let newest_remaining = remaining.iter().max_by_key(|version| version.version);
    let label_survives = |label: &str| {
        // `latest` moves to the newest remaining version, so it survives while any does.
        (label == LATEST_LABEL && newest_remaining.is_some())
            || remaining
                .iter()
                .any(|version| version.labels.iter().any(|l| l == label))
    };

    let dependents = sqlx::query(
        "SELECT d.parent_id, d.child_version, d.child_label, p.name, p.version \
         FROM prompt_dependencies d JOIN prompts p ON p.id = d.parent_id \
         WHERE d.project_id = ? AND d.child_name = ? ORDER BY p.name, p.version",
    )
    .bind(project_id)
    .bind(name)
    .fetch_all(&mut *connection)
    .await
    .map_err(|error| db_error(&context, error))?;
    let mut blocking = Vec::new();
    for row in &dependents {
        let read = |error| db_error(&context, error);
        let parent_id: String = row.try_get("parent_id").map_err(read)?;
        if victim_ids.contains(parent_id.as_str()) {
            continue;
        }
        let child_version: Option<i64> = row.try_get("child_version").map_err(read)?;
        let child_label: Option<String> = row.try_get("child_label").map_err(read)?;
        let parent_name: String = row.try_get("name").map_err(read)?;
        let parent_version: i64 = row.try_get("version").map_err(read)?;
        let breaks = match (&child_version, &child_label) {
            (Some(version), _) => victim_versions.contains(version),
            (None, Some(label)) => !label_survives(label),
            (None, None) => false,
        };
        if breaks {
            let target = child_version.map_or_else(
                || format!("label {:?}", child_label.unwrap_or_default()),
                |version| format!("version {version}"),
            );
            blocking.push(format!(
                "{parent_name} v{parent_version} references {name} {target}"
            ));
        }
    }
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
    for victim in &victims {
        sqlx::query("DELETE FROM prompts WHERE id = ?")
            .bind(victim.id.as_str())
            .execute(&mut *connection)
            .await
            .map_err(|error| db_error(&context, error))?;
    }
    if remaining.is_empty() {
        sqlx::query("DELETE FROM prompt_names WHERE project_id = ? AND name = ?")
            .bind(project_id)
            .bind(name)
            .execute(&mut *connection)
            .await
            .map_err(|error| db_error(&context, error))?;
    }
    Ok(victims.len() as u64)
}
