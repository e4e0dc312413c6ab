//! Identifier helpers: time-ordered event ids and random secrets.

use uuid::Uuid;

/// Returns a new time-ordered event id (UUIDv7, text form).
pub fn new_event_id() -> String {
    Uuid::now_v7().to_string()
}

/// Returns `n_bytes` of operating-system randomness as lowercase hex.
pub fn random_hex(n_bytes: usize) -> Result<String, getrandom::Error> {
    let mut buf = vec![0u8; n_bytes];
    getrandom::fill(&mut buf)?;
    Ok(hex::encode(buf))
}
