//! Protected prompt labels (e.g. `production`): moving one onto another version, or deleting the
//! version that holds it, changes what every application fetches, so a project's keys alone may
//! not do it. The request must also carry the deployment's admin token in
//! `X-Periscope-Admin-Token` (`PERISCOPE_ADMIN_TOKEN`). Which labels are protected is
//! configured with `prompts.protected_labels` (none by default).

use axum::http::HeaderMap;
use periscope_core::prompts::{PromptDeletion, PromptListFilter, PromptStore};
use periscope_core::store::PageRequest;

use crate::error::{ApiError, Result};
use crate::state::ApiState;

/// The header that carries the admin token on prompt writes.
pub(crate) const ADMIN_TOKEN_HEADER: &str = "x-periscope-admin-token";

/// Refuses a write that touches `labels` when one of them is protected and the request does
/// not carry the admin token.
pub(crate) fn check_labels<'a>(
    state: &ApiState,
    headers: &HeaderMap,
    labels: impl IntoIterator<Item = &'a String>,
) -> Result<()> {
    let touched: Vec<&String> = labels
        .into_iter()
        .filter(|label| state.protected_labels.contains(label))
        .collect();
    if touched.is_empty() || is_admin(state, headers) {
        return Ok(());
    }
    let names: Vec<&str> = touched.iter().map(|label| label.as_str()).collect();
    Err(ApiError::Forbidden(format!(
        "labels: {} protected (prompts.protected_labels); changing it needs the admin token in \
         the {ADMIN_TOKEN_HEADER} header",
        match names.as_slice() {
            [one] => format!("{one:?} is"),
            many => format!("{many:?} are"),
        }
    )))
}

/// Refuses deleting versions that hold a protected label without the admin token.
pub(crate) async fn check_deletion(
    state: &ApiState,
    headers: &HeaderMap,
    project_id: &str,
    name: &str,
    target: &PromptDeletion,
) -> Result<()> {
    if state.protected_labels.is_empty() || is_admin(state, headers) {
        return Ok(());
    }
    let held = match target {
        PromptDeletion::Label(label) => vec![label.clone()],
        PromptDeletion::Version(version) => state
            .prompts
            .get_by_version(project_id, name, *version)
            .await?
            .map(|prompt| prompt.labels)
            .unwrap_or_default(),
        PromptDeletion::All => all_labels(state.prompts.as_ref(), project_id, name).await?,
    };
    check_labels(state, headers, &held)
}

async fn all_labels(store: &dyn PromptStore, project_id: &str, name: &str) -> Result<Vec<String>> {
    let filter = PromptListFilter {
        name: Some(name.to_owned()),
        ..PromptListFilter::default()
    };
    let page = store
        .list(project_id, &filter, PageRequest { page: 1, limit: 1 })
        .await?;
    Ok(page
        .items
        .into_iter()
        .filter(|meta| meta.name == name)
        .flat_map(|meta| meta.labels)
        .collect())
}

fn is_admin(state: &ApiState, headers: &HeaderMap) -> bool {
    let given = headers
        .get(ADMIN_TOKEN_HEADER)
        .and_then(|value| value.to_str().ok());
    matches!((&state.admin_token, given), (Some(token), Some(given)) if token.matches(given.trim()))
}
