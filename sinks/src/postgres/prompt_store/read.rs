//! Reading prompts: one version by id, label or number, and the paginated list of names.

use std::collections::BTreeSet;

use periscope_core::error::BackendResult;
use periscope_core::model::Page;
use periscope_core::prompts::{Prompt, PromptListFilter, PromptMeta, PromptType};
use periscope_core::store::PageRequest;
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Postgres, QueryBuilder};

use crate::postgres::connect::{corrupt, db_error, get, get_time, micros, sql_integer};

/// Columns of a full version; `p` is `prompts`, `n` is `prompt_names`. Labels come sorted
/// byte-wise, as the SQLite store sorts them.
const PROMPT_COLUMNS: &str = "p.id, p.project_id, p.name, p.version, n.type, p.prompt, \
    p.config, p.commit_message, p.created_by, p.created_at, p.updated_at, n.tags, \
    ARRAY(SELECT l.label FROM prompt_labels l WHERE l.prompt_id = p.id \
          ORDER BY l.label COLLATE \"C\") AS labels";

const FROM_PROMPTS: &str =
    "FROM prompts p JOIN prompt_names n ON n.project_id = p.project_id AND n.name = p.name";

/// How to find one version.
#[derive(Debug, Clone, Copy)]
pub(super) enum PromptKey<'a> {
    Id(&'a str),
    Label {
        project_id: &'a str,
        name: &'a str,
        label: &'a str,
    },
    Version {
        project_id: &'a str,
        name: &'a str,
        version: i64,
    },
}

fn get_type(row: &PgRow) -> BackendResult<PromptType> {
    let stored: &str = get(row, "type")?;
    PromptType::parse(stored).ok_or_else(|| {
        corrupt(format!(
            "column type holds an unknown prompt type {stored:?}"
        ))
    })
}

fn decode_prompt(row: &PgRow) -> BackendResult<Prompt> {
    Ok(Prompt {
        id: get(row, "id")?,
        project_id: get(row, "project_id")?,
        name: get(row, "name")?,
        version: get(row, "version")?,
        prompt_type: get_type(row)?,
        prompt: get(row, "prompt")?,
        config: get(row, "config")?,
        labels: get(row, "labels")?,
        tags: get(row, "tags")?,
        commit_message: get(row, "commit_message")?,
        created_at: get_time(row, "created_at")?,
        updated_at: get_time(row, "updated_at")?,
        created_by: get(row, "created_by")?,
    })
}

/// Returns the version `key` finds, with its labels and the tags of its name.
pub(super) async fn select_prompt(
    connection: &mut PgConnection,
    key: PromptKey<'_>,
) -> BackendResult<Option<Prompt>> {
    let mut query =
        QueryBuilder::<Postgres>::new(format!("SELECT {PROMPT_COLUMNS} {FROM_PROMPTS}"));
    match key {
        PromptKey::Id(id) => {
            query.push(" WHERE p.id = ").push_bind(id);
        }
        PromptKey::Label {
            project_id,
            name,
            label,
        } => {
            query
                .push(" WHERE p.id = (SELECT prompt_id FROM prompt_labels WHERE project_id = ")
                .push_bind(project_id)
                .push(" AND name = ")
                .push_bind(name)
                .push(" AND label = ")
                .push_bind(label)
                .push(")");
        }
        PromptKey::Version {
            project_id,
            name,
            version,
        } => {
            query
                .push(" WHERE p.project_id = ")
                .push_bind(project_id)
                .push(" AND p.name = ")
                .push_bind(name)
                .push(" AND p.version = ")
                .push_bind(version);
        }
    }
    let row = query
        .build()
        .fetch_optional(&mut *connection)
        .await
        .map_err(|error| db_error("failed to read prompt", error))?;
    row.as_ref().map(decode_prompt).transpose()
}

/// Appends the `WHERE` clause of the list: versions of the project that match `filter`.
fn push_list_filter<'a>(
    query: &mut QueryBuilder<'a, Postgres>,
    project_id: &'a str,
    filter: &'a PromptListFilter,
) {
    query.push(" WHERE p.project_id = ").push_bind(project_id);
    if let Some(name) = &filter.name {
        query.push(" AND p.name = ").push_bind(name.as_str());
    }
    if let Some(label) = &filter.label {
        query
            .push(" AND EXISTS (SELECT 1 FROM prompt_labels l WHERE l.prompt_id = p.id AND l.label = ")
            .push_bind(label.as_str())
            .push(")");
    }
    if let Some(tag) = &filter.tag {
        query
            .push(" AND ")
            .push_bind(tag.as_str())
            .push(" = ANY(n.tags)");
    }
    if let Some(from) = filter.from_updated_at {
        query.push(" AND p.updated_at >= ").push_bind(micros(from));
    }
    if let Some(to) = filter.to_updated_at {
        query.push(" AND p.updated_at < ").push_bind(micros(to));
    }
}

/// Returns one page of prompt names whose versions match `filter`, ordered by name.
pub(super) async fn list_prompts(
    connection: &mut PgConnection,
    project_id: &str,
    filter: &PromptListFilter,
    page: PageRequest,
) -> BackendResult<Page<PromptMeta>> {
    let mut count =
        QueryBuilder::<Postgres>::new(format!("SELECT COUNT(DISTINCT p.name) {FROM_PROMPTS}"));
    push_list_filter(&mut count, project_id, filter);
    let total: i64 = count
        .build_query_scalar()
        .fetch_one(&mut *connection)
        .await
        .map_err(|error| db_error("failed to count prompts", error))?;

    let mut names = QueryBuilder::<Postgres>::new(format!("SELECT p.name {FROM_PROMPTS}"));
    push_list_filter(&mut names, project_id, filter);
    names
        .push(" GROUP BY p.name ORDER BY p.name COLLATE \"C\" LIMIT ")
        .push_bind(sql_integer(page.limit))
        .push(" OFFSET ")
        .push_bind(sql_integer(page.offset()));
    let names: Vec<String> = names
        .build_query_scalar()
        .fetch_all(&mut *connection)
        .await
        .map_err(|error| db_error("failed to list prompt names", error))?;

    let mut items = Vec::with_capacity(names.len());
    for name in &names {
        let mut versions =
            QueryBuilder::<Postgres>::new(format!("SELECT {PROMPT_COLUMNS} {FROM_PROMPTS}"));
        push_list_filter(&mut versions, project_id, filter);
        versions
            .push(" AND p.name = ")
            .push_bind(name.as_str())
            .push(" ORDER BY p.version");
        let rows = versions
            .build()
            .fetch_all(&mut *connection)
            .await
            .map_err(|error| db_error("failed to list prompt versions", error))?;
        let prompts = rows
            .iter()
            .map(decode_prompt)
            .collect::<BackendResult<Vec<_>>>()?;
        items.extend(summarize(prompts));
    }
    Ok(Page {
        items,
        total_items: u64::try_from(total).unwrap_or(0),
    })
}

/// Returns the list entry of one name from its matching versions (ascending); `None` when
/// there are none.
fn summarize(prompts: Vec<Prompt>) -> Option<PromptMeta> {
    let newest = prompts.last()?;
    let labels: BTreeSet<&String> = prompts.iter().flat_map(|prompt| &prompt.labels).collect();
    let last_updated_at = prompts
        .iter()
        .map(|prompt| prompt.updated_at)
        .max()
        .unwrap_or(newest.updated_at);
    Some(PromptMeta {
        name: newest.name.clone(),
        prompt_type: newest.prompt_type,
        versions: prompts.iter().map(|prompt| prompt.version).collect(),
        labels: labels.into_iter().cloned().collect(),
        tags: newest.tags.clone(),
        last_updated_at,
        last_config: newest.config.clone(),
    })
}
