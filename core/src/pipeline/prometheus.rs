//! Prometheus text exposition of the runner counters (`GET /metrics`).

use std::fmt::Write as _;
use std::sync::atomic::Ordering;

use super::PipelineStats;

/// Counters of `PipelineStats`, with their metric names and help texts.
const COUNTERS: [(&str, &str); 6] = [
    (
        "periscope_pipeline_received_events_total",
        "Records read from the input topic.",
    ),
    (
        "periscope_pipeline_sent_events_total",
        "Records produced or written after success.",
    ),
    (
        "periscope_pipeline_dropped_events_total",
        "Poison records sent to the dead-letter topic.",
    ),
    (
        "periscope_pipeline_errors_total",
        "Transient failures that were retried.",
    ),
    ("periscope_pipeline_batches_total", "Batches committed."),
    (
        "periscope_pipeline_write_microseconds_total",
        "Time spent producing or writing batches (divide by batches_total for the mean).",
    ),
];

fn counter_values(stats: &PipelineStats) -> [u64; 6] {
    [
        stats.received_events_total.load(Ordering::Relaxed),
        stats.sent_events_total.load(Ordering::Relaxed),
        stats.dead_lettered_total.load(Ordering::Relaxed),
        stats.transient_errors_total.load(Ordering::Relaxed),
        stats.batches_total.load(Ordering::Relaxed),
        stats.write_micros_total.load(Ordering::Relaxed),
    ]
}

/// Renders the counters of every `(component, stats)` pair and the pipeline backlog gauge.
pub fn render_prometheus(components: &[(&str, &PipelineStats)], backlog_events: u64) -> String {
    let mut out = String::new();
    for (index, (name, help)) in COUNTERS.iter().enumerate() {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
        for (component, stats) in components {
            let value = counter_values(stats)[index];
            let _ = writeln!(out, "{name}{{component=\"{component}\"}} {value}");
        }
    }
    let lag = "periscope_pipeline_consumer_lag_events";
    let _ = writeln!(
        out,
        "# HELP {lag} Records of the input topic not yet committed by the component's consumer group.\n# TYPE {lag} gauge"
    );
    for (component, stats) in components {
        let value = stats.lag_events.load(Ordering::Relaxed);
        let _ = writeln!(out, "{lag}{{component=\"{component}\"}} {value}");
    }
    let gauge = "periscope_pipeline_backlog_events";
    let _ = writeln!(
        out,
        "# HELP {gauge} Events the pipelines have not committed yet.\n# TYPE {gauge} gauge\n{gauge} {backlog_events}"
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_render_per_component_with_the_backlog_gauge() {
        let enrich = PipelineStats::default();
        enrich.received_events_total.store(7, Ordering::Relaxed);
        let sink = PipelineStats::default();
        sink.dead_lettered_total.store(2, Ordering::Relaxed);
        let text = render_prometheus(&[("enrich", &enrich), ("sink", &sink)], 42);
        assert!(
            text.contains("periscope_pipeline_received_events_total{component=\"enrich\"} 7\n")
        );
        assert!(text.contains("periscope_pipeline_dropped_events_total{component=\"sink\"} 2\n"));
        assert!(text.contains(
            "# TYPE periscope_pipeline_backlog_events gauge\nperiscope_pipeline_backlog_events 42\n"
        ));
    }
}
