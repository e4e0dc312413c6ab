//! Human-readable durations in configuration (`"50ms"`, `"30s"`, `"5m"`, `"2h"`, `"7d"`).

use std::time::Duration;

/// Parses `<number><unit>` with unit `ms`, `s`, `m`, `h` or `d`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration like \"30s\" or \"50ms\""))?;
    let seconds = match unit {
        "ms" => return Ok(Duration::from_millis(value)),
        "s" => value,
        "m" => value * 60,
        "h" => value * 3600,
        "d" => value * 86_400,
        _ => {
            return Err(format!(
                "{text:?} has unknown unit {unit:?}; use ms, s, m, h or d"
            ));
        }
    };
    Ok(Duration::from_secs(seconds))
}

/// Serde adapter for `Duration` fields written as human-readable strings.
pub(crate) mod serde_humantime {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer};

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(d)?;
        super::parse_duration(&text).map_err(serde::de::Error::custom)
    }
}
