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

/// A project id derived from a display name: ASCII letters and digits lower-cased, every other
/// character a `-`, leading and trailing `-` trimmed (`My App` → `my-app`); empty when the
/// name has no letter or digit.
pub fn project_slug(name: &str) -> String {
    let slug: String = name
        .chars()
        .map(|c| match c.is_ascii_alphanumeric() {
            true => c.to_ascii_lowercase(),
            false => '-',
        })
        .collect();
    slug.trim_matches('-').to_owned()
}

#[cfg(test)]
mod slug_tests {
    use super::project_slug;

    #[test]
    fn project_slugs_are_lower_case_kebab_without_edge_dashes() {
        assert_eq!(project_slug(" My App! "), "my-app");
        assert_eq!(project_slug("Team_2"), "team-2");
        assert_eq!(project_slug("!!!"), "");
    }
}
