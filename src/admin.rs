//! `periscope project create`, `periscope key create|list|revoke`, and the access stores
//! (annotation queues, sharing, key administration) the query API is given.

use std::io::Write as _;
use std::sync::Arc;

use anyhow::Context as _;
use periscope_core::annotation::{AnnotationStore, LogScoreWriter, ScoreWriter};
use periscope_core::config::Config;
use periscope_core::log::EventLog;
use periscope_core::sharing::ShareStore;
use periscope_core::sharing::api_keys::{AdminToken, ApiKeyAdmin};

use crate::backends::{generate_key_pair, load_config, project_id_from_name, store_key};
use crate::cli::{KeyCreateArgs, KeyListArgs, KeyRevokeArgs, ProjectCreateArgs};
use crate::stores::{MetaStores, open_meta_stores};

/// Creates a project and prints its id.
pub(crate) async fn create_project(args: ProjectCreateArgs) -> anyhow::Result<()> {
    let config = load_config(&args.common)?;
    let meta = open_meta_stores(&config).await?.meta;
    let id = args.id.unwrap_or_else(|| project_id_from_name(&args.name));
    let project = meta.upsert_project(&id, &args.name).await?;
    writeln!(
        std::io::stdout(),
        "project {} ({})",
        project.id,
        project.name
    )?;
    Ok(())
}

/// Creates a key pair and prints it (the secret is shown only now).
pub(crate) async fn create_key(args: KeyCreateArgs) -> anyhow::Result<()> {
    let config = load_config(&args.common)?;
    let meta = open_meta_stores(&config).await?.meta;
    meta.get_project(&args.project).await?.with_context(|| {
        format!(
            "project {} does not exist; create it with `periscope project create`",
            args.project
        )
    })?;
    let (public_key, secret_key) = match (args.public_key, args.secret_key) {
        (Some(public_key), Some(secret_key)) => (public_key, secret_key),
        _ => generate_key_pair()?,
    };
    store_key(meta.as_ref(), &args.project, &public_key, &secret_key).await?;
    let mut out = std::io::stdout();
    writeln!(out, "PERISCOPE_PUBLIC_KEY={public_key}")?;
    writeln!(out, "PERISCOPE_SECRET_KEY={secret_key}")?;
    Ok(())
}

/// Lists a project's API keys (never their secrets).
pub(crate) async fn list_keys(args: KeyListArgs) -> anyhow::Result<()> {
    let config = load_config(&args.common)?;
    let admin = open_key_admin(&config).await?;
    let keys = admin.list_api_keys(&args.project).await?;
    let mut out = std::io::stdout();
    writeln!(out, "PUBLIC KEY\tSECRET\tID\tCREATED\tNOTE")?;
    for entry in &keys {
        let key = &entry.key;
        writeln!(
            out,
            "{}\t{}\t{}\t{}\t{}",
            key.public_key,
            key.display_secret,
            key.id,
            key.created_at
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            entry.note.as_deref().unwrap_or("")
        )?;
    }
    Ok(())
}

/// Revokes a key by its public key. A running server stops accepting it once its auth cache
/// forgets the key, at most `auth.cache_ttl` later.
pub(crate) async fn revoke_key(args: KeyRevokeArgs) -> anyhow::Result<()> {
    let config = load_config(&args.common)?;
    let admin = open_key_admin(&config).await?;
    let key = admin
        .revoke_public_key(&args.public_key)
        .await?
        .with_context(|| format!("no api key has the public key {}", args.public_key))?;
    writeln!(
        std::io::stdout(),
        "revoked {} of project {} (running servers stop accepting it within auth.cache_ttl = {})",
        key.public_key,
        key.project_id,
        humantime_secs(config.auth.cache_ttl)
    )?;
    Ok(())
}

fn humantime_secs(duration: std::time::Duration) -> String {
    format!("{}s", duration.as_secs())
}

/// Opens the key administration of the configured meta store (SQLite or Postgres).
async fn open_key_admin(config: &Config) -> anyhow::Result<Arc<dyn ApiKeyAdmin>> {
    Ok(open_meta_stores(config).await?.api_keys)
}

/// The stores behind annotation queues, public sharing and key administration, and the
/// admin token, as the query API needs them.
#[derive(Debug, Clone)]
pub(crate) struct AccessStores {
    pub(crate) annotations: Arc<dyn AnnotationStore>,
    pub(crate) shares: Arc<dyn ShareStore>,
    pub(crate) api_keys: Option<Arc<dyn ApiKeyAdmin>>,
    pub(crate) score_writer: Option<Arc<dyn ScoreWriter>>,
    pub(crate) admin_token: Option<AdminToken>,
}

/// The access stores of `meta` (the configured meta database); annotation scores are
/// appended to `log` when the process has one.
pub(crate) fn open_access(
    meta: &MetaStores,
    log: Option<&Arc<dyn EventLog>>,
) -> anyhow::Result<AccessStores> {
    let admin_token = AdminToken::from_env().map_err(anyhow::Error::msg)?;
    let score_writer = log.map(|log| {
        let writer: Arc<dyn ScoreWriter> = Arc::new(LogScoreWriter::new(log.clone()));
        writer
    });
    Ok(AccessStores {
        annotations: meta.annotations.clone(),
        shares: meta.shares.clone(),
        api_keys: Some(meta.api_keys.clone()),
        score_writer,
        admin_token,
    })
}
