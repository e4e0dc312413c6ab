//! Connecting to ClickHouse (creating the database on first use) and mapping the client's
//! errors to [`BackendError`].

use clickhouse::Client;
use periscope_core::config::ClickHouseConfig;
use periscope_core::error::{BackendError, BackendResult};

/// Name of this backend in errors.
pub(crate) const BACKEND: &str = "clickhouse";

/// Returns a client for the server of `config`, without a default database.
pub(crate) fn server_client(config: &ClickHouseConfig) -> Client {
    let mut client = Client::default()
        .with_url(config.url.trim_end_matches('/'))
        .with_user(config.user.as_str());
    if !config.password.is_empty() {
        client = client.with_password(config.password.as_str());
    }
    client
}

/// Creates the database of `config` if it is missing and returns a client bound to it.
pub(crate) async fn connect(config: &ClickHouseConfig) -> BackendResult<Client> {
    if !is_plain_identifier(&config.database) {
        return Err(BackendError::Invalid {
            backend: BACKEND,
            message: format!(
                "clickhouse.database {:?} must be letters, digits and underscores",
                config.database
            ),
        });
    }
    let server = server_client(config);
    // The name is checked above: identifiers cannot be bound as query parameters.
    server
        .query_raw(&format!(
            "CREATE DATABASE IF NOT EXISTS {}",
            config.database
        ))
        .execute()
        .await
        .map_err(|error| ch_error("failed to create the database", error))?;
    Ok(server.with_database(config.database.as_str()))
}

/// Returns true for names that need no quoting: `[A-Za-z_][A-Za-z0-9_]*`.
fn is_plain_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Maps a client error: network failures and timeouts are transient (`Unavailable`), server
/// errors and decoding failures are not retried blindly but still surface their cause.
pub(crate) fn ch_error(context: &str, error: clickhouse::error::Error) -> BackendError {
    use clickhouse::error::Error;
    match error {
        Error::Network(_) | Error::TimedOut => BackendError::Unavailable {
            backend: BACKEND,
            message: format!("{context}: {error}"),
        },
        other => BackendError::Other {
            backend: BACKEND,
            context: context.to_owned(),
            source: Box::new(other),
        },
    }
}

/// A stored JSON body that does not decode (or a record that does not encode).
pub(crate) fn body_error(context: &str, error: serde_json::Error) -> BackendError {
    BackendError::Other {
        backend: BACKEND,
        context: context.to_owned(),
        source: Box::new(error),
    }
}

/// A stored value that cannot be what the schema says.
pub(crate) fn corrupt(message: String) -> BackendError {
    BackendError::Other {
        backend: BACKEND,
        context: "stored data is corrupt".to_owned(),
        source: message.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_identifiers_are_accepted_as_database_names() {
        assert!(is_plain_identifier("periscope"));
        assert!(is_plain_identifier("_test_01"));
        assert!(!is_plain_identifier("1abc"));
        assert!(!is_plain_identifier("a-b"));
        assert!(!is_plain_identifier("a; DROP TABLE x"));
        assert!(!is_plain_identifier(""));
    }
}
