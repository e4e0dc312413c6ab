//! Reads a process's memory and CPU from `/proc` (Linux only): the server's RSS every 100 ms,
//! and CPU time of the server, its threads and the harness itself over the run.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::flag::StopFlag;
use anyhow::Context as _;

/// Clock ticks per second of `/proc/*/stat` times (`USER_HZ`, 100 on every mainstream kernel).
const TICKS_PER_SECOND: f64 = 100.0;

/// Memory of a process, in KiB.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Memory {
    /// Resident set size now (`VmRSS`).
    pub(crate) rss_kib: u64,
    /// Peak resident set size since the process started (`VmHWM`).
    pub(crate) hwm_kib: u64,
}

/// Returns the memory of process `pid`.
pub(crate) fn memory(pid: u32) -> anyhow::Result<Memory> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("failed to read /proc/{pid}/status (--server-pid)"))?;
    Ok(parse_status(&status))
}

fn parse_status(status: &str) -> Memory {
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    };
    Memory {
        rss_kib: field("VmRSS:"),
        hwm_kib: field("VmHWM:"),
    }
}

/// Returns user + system CPU seconds from the text of a `/proc/.../stat` file.
fn parse_cpu_seconds(stat: &str) -> Option<f64> {
    // The command name (field 2) may contain spaces; fields after its closing ')' are fixed.
    let after_name = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // Fields 14 (utime) and 15 (stime) of proc(5) are at 11 and 12 after the name.
    let user: u64 = fields.get(11)?.parse().ok()?;
    let system: u64 = fields.get(12)?.parse().ok()?;
    Some((user + system) as f64 / TICKS_PER_SECOND)
}

/// Returns the CPU seconds process `pid` ("self" for the harness) has used so far.
pub(crate) fn cpu_seconds(pid: &str) -> Option<f64> {
    parse_cpu_seconds(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// Returns CPU seconds per thread name (threads of one name summed) of process `pid`.
pub(crate) fn thread_cpu_seconds(pid: u32) -> BTreeMap<String, f64> {
    let mut threads = BTreeMap::new();
    let Ok(entries) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return threads;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = std::fs::read_to_string(path.join("comm"))
            .unwrap_or_default()
            .trim()
            .to_owned();
        let seconds = std::fs::read_to_string(path.join("stat"))
            .ok()
            .and_then(|s| parse_cpu_seconds(&s));
        if let Some(seconds) = seconds {
            *threads.entry(name).or_insert(0.0) += seconds;
        }
    }
    threads
}

/// Returns the 1-, 5- and 15-minute load averages of the machine (`/proc/loadavg`): other
/// work on the same cores skews every number a run reports, so reports carry it.
pub(crate) fn load_average() -> Option<[f64; 3]> {
    parse_load_average(&std::fs::read_to_string("/proc/loadavg").ok()?)
}

fn parse_load_average(text: &str) -> Option<[f64; 3]> {
    let mut fields = text
        .split_whitespace()
        .map(|field| field.parse::<f64>().ok());
    Some([fields.next()??, fields.next()??, fields.next()??])
}

/// What the memory sampler saw.
#[derive(Debug, Clone, Default)]
pub(crate) struct MemorySummary {
    /// Highest sampled `VmRSS`.
    pub(crate) peak_rss_kib: u64,
    /// Last sampled memory.
    pub(crate) last: Memory,
    /// Samples taken.
    pub(crate) samples: u64,
    /// `VmRSS` once a second (every `TIMELINE_EVERY`th sample), in KiB: shows whether memory
    /// stays flat or grows over a run.
    pub(crate) timeline_kib: Vec<u64>,
}

/// Every this many memory samples (100 ms apart), one goes into the timeline.
const TIMELINE_EVERY: u64 = 10;

/// Samples the server's memory every `interval` until `stop` is set.
pub(crate) async fn sample_memory(
    pid: u32,
    interval: Duration,
    summary: Arc<Mutex<MemorySummary>>,
    stop: StopFlag,
) {
    let mut ticker = tokio::time::interval(interval);
    while !stop.is_set() {
        ticker.tick().await;
        let Ok(now) = memory(pid) else {
            // The server exited; the report says so through the sample count.
            return;
        };
        if let Ok(mut summary) = summary.lock() {
            summary.peak_rss_kib = summary.peak_rss_kib.max(now.rss_kib);
            summary.last = now;
            if summary.samples.is_multiple_of(TIMELINE_EVERY) {
                summary.timeline_kib.push(now.rss_kib);
            }
            summary.samples += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_status_memory_lines() {
        let status =
            "Name:\tperiscope\nVmPeak:\t  900000 kB\nVmHWM:\t  123456 kB\nVmRSS:\t   98765 kB\n";
        assert_eq!(
            parse_status(status),
            Memory {
                rss_kib: 98765,
                hwm_kib: 123456
            }
        );
    }

    #[test]
    fn parses_cpu_times_after_a_name_with_spaces() {
        let stat = "42 (tokio runtime) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 4 0 1000";
        assert_eq!(parse_cpu_seconds(stat), Some(3.0));
    }

    #[test]
    fn parses_load_averages() {
        assert_eq!(
            parse_load_average("2.36 2.45 2.40 3/512 9999\n"),
            Some([2.36, 2.45, 2.40])
        );
        assert_eq!(parse_load_average("2.36"), None);
        assert!(load_average().is_some());
    }

    #[test]
    fn reads_this_process() {
        let pid = std::process::id();
        assert!(memory(pid).unwrap().rss_kib > 0);
        assert!(cpu_seconds("self").is_some());
        assert!(!thread_cpu_seconds(pid).is_empty());
    }
}
