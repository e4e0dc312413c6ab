//! Opens the embedded backends in the data directory and seeds the initial project.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use chrono::Utc;

use periscope_core::config::Config;
use periscope_core::meta::{ApiKey, MetaStore, hash_secret};
use periscope_sinks::sqlite::{SqliteMetaStore, SqliteTraceStore};

use crate::cli::CommonArgs;

/// Loads the configuration and applies the common flags.
pub(crate) fn load_config(common: &CommonArgs) -> anyhow::Result<Config> {
    let mut config = Config::load(common.config.as_deref())?;
    if let Some(data_dir) = &common.data_dir {
        config.storage.data_dir = data_dir.clone();
    }
    Ok(config)
}

/// Opens the configuration store of the data directory.
pub(crate) async fn open_meta(data_dir: &Path) -> anyhow::Result<Arc<SqliteMetaStore>> {
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("failed to create data directory {}", data_dir.display()))?;
    let store = SqliteMetaStore::open(&data_dir.join("meta.db"))
        .await
        .context("failed to open the meta store")?;
    Ok(Arc::new(store))
}

/// Opens the trace store of the data directory.
pub(crate) async fn open_traces(data_dir: &Path) -> anyhow::Result<Arc<SqliteTraceStore>> {
    let store = SqliteTraceStore::open(&data_dir.join("traces.db"))
        .await
        .context("failed to open the trace store")?;
    Ok(Arc::new(store))
}

/// Returns a project id derived from a display name (`My App` → `my-app`).
pub(crate) fn project_id_from_name(name: &str) -> String {
    let id = periscope_core::ids::project_slug(name);
    if id.is_empty() {
        "default".to_owned()
    } else {
        id
    }
}

/// Returns a new random `(pk-lf-…, sk-lf-…)` key pair (128-bit public, 192-bit secret).
pub(crate) fn generate_key_pair() -> anyhow::Result<(String, String)> {
    let public_key = format!("pk-lf-{}", periscope_core::ids::random_hex(16)?);
    let secret_key = format!("sk-lf-{}", periscope_core::ids::random_hex(24)?);
    Ok((public_key, secret_key))
}

/// Stores a key pair for `project_id` (unchanged if the public key exists).
pub(crate) async fn store_key(
    meta: &dyn MetaStore,
    project_id: &str,
    public_key: &str,
    secret_key: &str,
) -> anyhow::Result<()> {
    if let Some(existing) = meta.find_api_key(public_key).await? {
        anyhow::ensure!(
            existing.project_id == project_id,
            "public key {public_key} already belongs to project {}",
            existing.project_id
        );
        anyhow::ensure!(
            existing.secret_hash == hash_secret(secret_key),
            "public key {public_key} exists with a different secret key"
        );
        return Ok(());
    }
    let prefix: String = secret_key.chars().take(6).collect();
    let display_secret = format!("{prefix}…{}", last_chars(secret_key, 4));
    let key = ApiKey {
        id: periscope_core::ids::new_event_id(),
        project_id: project_id.to_owned(),
        public_key: public_key.to_owned(),
        secret_hash: hash_secret(secret_key),
        display_secret,
        created_at: Utc::now(),
    };
    meta.upsert_api_key(&key).await?;
    Ok(())
}

fn last_chars(text: &str, n: usize) -> &str {
    let start = text
        .char_indices()
        .rev()
        .nth(n.saturating_sub(1))
        .map_or(0, |(i, _)| i);
    &text[start..]
}

/// Seeds the project and key named by `PERISCOPE_INIT_PROJECT_*` (idempotent).
pub(crate) async fn seed_initial_project(meta: &dyn MetaStore) -> anyhow::Result<()> {
    let public_key = std::env::var("PERISCOPE_INIT_PROJECT_PUBLIC_KEY").ok();
    let secret_key = std::env::var("PERISCOPE_INIT_PROJECT_SECRET_KEY").ok();
    let (public_key, secret_key) = match (public_key, secret_key) {
        (Some(public_key), Some(secret_key)) => (public_key, secret_key),
        (None, None) => return create_first_project(meta).await,
        _ => anyhow::bail!(
            "set both PERISCOPE_INIT_PROJECT_PUBLIC_KEY and PERISCOPE_INIT_PROJECT_SECRET_KEY, or neither"
        ),
    };
    anyhow::ensure!(
        !public_key.is_empty(),
        "PERISCOPE_INIT_PROJECT_PUBLIC_KEY is empty"
    );
    anyhow::ensure!(
        secret_key.len() >= 8,
        "PERISCOPE_INIT_PROJECT_SECRET_KEY must have at least 8 characters"
    );
    let name =
        std::env::var("PERISCOPE_INIT_PROJECT_NAME").unwrap_or_else(|_| "Default".to_owned());
    let id =
        std::env::var("PERISCOPE_INIT_PROJECT_ID").unwrap_or_else(|_| project_id_from_name(&name));
    meta.upsert_project(&id, &name).await?;
    store_key(meta, &id, &public_key, &secret_key).await?;
    tracing::info!(project_id = %id, %public_key, "initial project and api key are ready");
    Ok(())
}

/// On a fresh data directory without `PERISCOPE_INIT_PROJECT_*`, creates a `default` project
/// with a random key pair and logs it once, so a first run is usable without any setup.
async fn create_first_project(meta: &dyn MetaStore) -> anyhow::Result<()> {
    if !meta.list_projects().await?.is_empty() {
        return Ok(());
    }
    let (public_key, secret_key) = generate_key_pair()?;
    meta.upsert_project("default", "Default").await?;
    store_key(meta, "default", &public_key, &secret_key).await?;
    tracing::warn!(
        project_id = "default",
        %public_key,
        %secret_key,
        "created a first project and api key; save the secret key now, it is not shown again"
    );
    Ok(())
}
