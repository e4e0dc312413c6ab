//! `periscope project create` and `periscope key create`.

use std::io::Write as _;

use anyhow::Context as _;

use periscope_core::meta::MetaStore as _;

use crate::backends::{generate_key_pair, load_config, open_meta, project_id_from_name, store_key};
use crate::cli::{KeyCreateArgs, ProjectCreateArgs};

/// Creates a project and prints its id.
pub(crate) async fn create_project(args: ProjectCreateArgs) -> anyhow::Result<()> {
    let config = load_config(&args.common)?;
    let meta = open_meta(&config.storage.data_dir).await?;
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
    let meta = open_meta(&config.storage.data_dir).await?;
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
