//! `periscope serve` and the single-role commands: flags → configuration → the roles.

use periscope_core::telemetry::{self, LogFormat};

use crate::backends::load_config;
use crate::cli::ServeArgs;
use crate::roles::{self, RoleSet};

/// Runs `roles` with the flags of `args` until a signal arrives.
pub(crate) async fn run(roles: RoleSet, args: ServeArgs) -> anyhow::Result<()> {
    let format = if args.common.log_json {
        LogFormat::Json
    } else {
        LogFormat::Text
    };
    telemetry::init(&args.common.log_filter, format).map_err(anyhow::Error::msg)?;
    let mut config = load_config(&args.common)?;
    if let Some(addr) = args.http_addr {
        config.server.http_addr = addr;
    }
    if let Some(addr) = args.grpc_addr {
        config.server.grpc_addr = addr;
    }
    roles::run(roles, config).await
}
