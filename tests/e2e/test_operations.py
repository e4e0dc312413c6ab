"""Operational endpoints of `periscope serve`: liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import time

import requests

from otlp_builders import otlp_request, otlp_span, post_otlp, random_span_id, random_trace_id
from periscope_e2e import Api, PeriscopeServer, wait_for


def _metric(text: str, name: str) -> int:
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return int(line.rsplit(" ", 1)[1])
    raise AssertionError(f"metric {name} missing from:\n{text}")


def test_probes_and_metrics_report_pipeline_progress(api: Api, periscope: PeriscopeServer) -> None:
    assert requests.get(f"{periscope.base_url}/livez", timeout=5).status_code == 200
    assert requests.get(f"{periscope.base_url}/readyz", timeout=5).status_code == 200

    def sink_writes() -> int:
        text = requests.get(f"{periscope.base_url}/metrics", timeout=5).text
        return _metric(text, 'periscope_pipeline_sent_events_total{component="sink_traces"}')

    before = sink_writes()
    trace_id = random_trace_id()
    now = time.time_ns()
    request = otlp_request([otlp_span(trace_id, random_span_id(), "metrics-probe", now, now + 1_000_000)])
    assert post_otlp(api, request).status_code == 200
    wait_for(lambda: sink_writes() > before, what="the sink counter to grow")
    text = requests.get(f"{periscope.base_url}/metrics", timeout=5).text
    assert "# TYPE periscope_pipeline_backlog_events gauge" in text
    assert _metric(text, "periscope_pipeline_backlog_events") >= 0
