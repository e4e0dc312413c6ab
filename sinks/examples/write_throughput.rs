//! Measures the write throughput of the SQLite trace store.
//!
//! Writes 100,000 observation records, each with the trace record the processors emit beside
//! it, in batches of 5,000 observations into a temporary database, and prints records/s.
//!
//! Run: `cargo run --release -p periscope-sinks --example write_throughput`

use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use periscope_core::model::{
    ObservationRecord, ObservationType, PriceSnapshot, Record, TraceRecord,
};
use periscope_core::store::TraceStore;
use periscope_sinks::SqliteTraceStore;
use serde_json::json;

const OBSERVATIONS: usize = 100_000;
const BATCH: usize = 5_000;
const OBSERVATIONS_PER_TRACE: usize = 10;

fn base_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 1, 0, 0)
        .single()
        .unwrap_or_default()
}

/// Returns observation `n` and the trace record emitted with it.
fn records(n: usize) -> [Record; 2] {
    let trace_n = n / OBSERVATIONS_PER_TRACE;
    let start = base_time() + TimeDelta::milliseconds(n as i64);
    let trace = TraceRecord {
        project_id: "bench".into(),
        id: format!("{trace_n:032x}"),
        timestamp: n.is_multiple_of(OBSERVATIONS_PER_TRACE).then_some(start),
        name: Some("chat-request".into()),
        user_id: Some(format!("user-{}", trace_n % 100)),
        session_id: Some(format!("session-{}", trace_n % 1000)),
        environment: Some("production".into()),
        tags: vec!["bench".into()],
        event_time: start,
        ..TraceRecord::default()
    };
    let observation = ObservationRecord {
        project_id: "bench".into(),
        id: format!("{n:016x}"),
        trace_id: trace.id.clone(),
        parent_observation_id: (!n.is_multiple_of(OBSERVATIONS_PER_TRACE))
            .then(|| format!("{:016x}", n - n % OBSERVATIONS_PER_TRACE)),
        observation_type: Some(ObservationType::Generation),
        name: Some("llm-call".into()),
        start_time: Some(start),
        end_time: Some(start + TimeDelta::milliseconds(800)),
        model: Some("gpt-4o".into()),
        model_parameters: Some(json!({"temperature": 0.2, "max_tokens": 512})),
        input: Some(
            json!([{"role": "user", "content": "Summarise the quarterly report in three \
            bullet points, focusing on revenue, costs and the outlook for next year."}]),
        ),
        output: Some(
            json!({"role": "assistant", "content": "- Revenue grew 12%\n- Costs were \
            flat\n- The outlook is cautiously optimistic"}),
        ),
        metadata: [("region".to_string(), json!("eu"))].into(),
        environment: Some("production".into()),
        usage_details: [("input".to_string(), 420), ("output".to_string(), 96)].into(),
        price: Some(PriceSnapshot {
            model_id: "gpt-4o".into(),
            model_name: "gpt-4o".into(),
            prices: [("input".to_string(), 2.5e-6), ("output".to_string(), 1e-5)].into(),
        }),
        event_time: start,
        ..ObservationRecord::default()
    };
    [Record::Observation(observation), Record::Trace(trace)]
}

#[expect(clippy::print_stdout, reason = "an example that reports a measurement")]
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let directory = tempfile::tempdir()?;
    let store = SqliteTraceStore::open(&directory.path().join("traces.db")).await?;
    // Only the writes are timed: building the records stands in for decoding them.
    let mut writing = Duration::ZERO;
    for first in (0..OBSERVATIONS).step_by(BATCH) {
        let batch: Vec<Record> = (first..first + BATCH).flat_map(records).collect();
        let started = Instant::now();
        store.write(batch).await?;
        writing += started.elapsed();
    }
    let seconds = writing.as_secs_f64();
    println!(
        "wrote {OBSERVATIONS} observation records (+ {OBSERVATIONS} trace records) in {seconds:.2} s: \
         {:.0} observation records/s, {:.0} records/s",
        OBSERVATIONS as f64 / seconds,
        (2 * OBSERVATIONS) as f64 / seconds,
    );
    // A replay of the first batch: every row merges to itself and nothing is rewritten.
    let replay: Vec<Record> = (0..BATCH).flat_map(records).collect();
    let started = Instant::now();
    store.write(replay).await?;
    println!(
        "replayed one batch of {BATCH} observations in {:.3} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
