//! Bulk statements shared by the write path: loading stored rows by key and multi-row upserts.

use periscope_core::error::BackendResult;
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use super::group::Key;
use crate::sqlite::connect::db_error;

/// Keys per `IN (...)` lookup: well under SQLite's 32766 bound parameters.
const KEYS_PER_SELECT: usize = 500;

/// Returns the rows of `select` whose `key_column` is one of the ids of `keys`.
///
/// `select` ends in `WHERE project_id = ` and `tail` (e.g. a `GROUP BY`) follows the key list.
/// An `UPDATE ... WHERE project_id = ` works too: it returns no rows.
/// `keys` must be sorted (they come from a `BTreeMap`), so each query covers one project.
pub(crate) async fn fetch_by_keys(
    connection: &mut SqliteConnection,
    select: &str,
    key_column: &str,
    tail: &str,
    keys: &[&Key],
) -> BackendResult<Vec<SqliteRow>> {
    let mut rows = Vec::with_capacity(keys.len());
    for same_project in keys.chunk_by(|a, b| a.0 == b.0) {
        let project_id = same_project[0].0.as_str();
        for chunk in same_project.chunks(KEYS_PER_SELECT) {
            let mut query = QueryBuilder::<Sqlite>::new(select);
            query
                .push_bind(project_id)
                .push(format!(" AND {key_column} IN ("));
            let mut ids = query.separated(", ");
            for key in chunk {
                ids.push_bind(key.1.as_str());
            }
            ids.push_unseparated(")");
            query.push(tail);
            let mut fetched = query
                .build()
                .fetch_all(&mut *connection)
                .await
                .map_err(|error| db_error(&format!("failed to run {select}..."), error))?;
            rows.append(&mut fetched);
        }
    }
    Ok(rows)
}

/// Returns the `INSERT ... VALUES` head of an upsert into `table`.
pub(crate) fn insert_head(table: &str, columns: &[&str]) -> String {
    format!("INSERT INTO {table} ({}) ", columns.join(", "))
}

/// Returns the `ON CONFLICT` tail of an upsert keyed by `(project_id, id)` that overwrites every
/// other column with the new (already merged) values.
pub(crate) fn upsert_tail(columns: &[&str]) -> String {
    let assignments: Vec<String> = columns
        .iter()
        .filter(|column| !matches!(**column, "project_id" | "id"))
        .map(|column| format!("{column} = excluded.{column}"))
        .collect();
    format!(
        " ON CONFLICT (project_id, id) DO UPDATE SET {}",
        assignments.join(", ")
    )
}

/// Returns how many rows go into one multi-row insert of `n_columns` columns: about a
/// thousand parameters, so that encoding the next statement's rows (done on the async task
/// while SQLite inserts these) stays well under a millisecond.
pub(crate) fn rows_per_insert(n_columns: usize) -> usize {
    (1000 / n_columns).max(1)
}

/// Executes a built statement.
pub(crate) async fn execute(
    connection: &mut SqliteConnection,
    mut query: QueryBuilder<'_, Sqlite>,
    context: &str,
) -> BackendResult<()> {
    query
        .build()
        .execute(&mut *connection)
        .await
        .map_err(|error| db_error(context, error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_upsert_overwrites_every_column_but_the_key() {
        let columns = ["project_id", "id", "name", "body"];
        assert_eq!(
            insert_head("t", &columns),
            "INSERT INTO t (project_id, id, name, body) "
        );
        assert_eq!(
            upsert_tail(&columns),
            " ON CONFLICT (project_id, id) DO UPDATE SET name = excluded.name, body = excluded.body"
        );
    }

    #[test]
    fn a_multi_row_insert_stays_under_the_parameter_limit() {
        assert!(rows_per_insert(17) * 17 <= 1000);
        assert_eq!(rows_per_insert(5000), 1);
    }
}
