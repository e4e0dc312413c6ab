"""No acknowledged span is lost or duplicated when the server is SIGKILLed mid-stream (DESIGN §6).

Client threads send OTLP/HTTP protobuf batches (one new trace of 20 spans per request) and record
which requests were answered 200. The server is killed while they send, restarted on the same data
directory, loaded and killed once more, restarted again; then every span of every acknowledged
request must be readable exactly once.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import requests

from otlp_builders import otlp_request, otlp_span, random_span_id, random_trace_id
from periscope_e2e import (
    PROJECT_A,
    Api,
    PeriscopeServer,
)

SPANS_PER_REQUEST = 20
CLIENTS = 2
VERIFY_TIMEOUT = 90.0


@dataclass
class Load:
    """What the client threads sent and which requests the server acknowledged."""

    acked: dict[str, set[str]] = field(default_factory=dict)  # trace id -> span ids
    statuses: dict[Any, int] = field(default_factory=dict)  # non-200 outcomes -> count
    lock: threading.Lock = field(default_factory=threading.Lock)

    def ack_count(self) -> int:
        with self.lock:
            return len(self.acked)


def one_batch() -> tuple[str, set[str], bytes]:
    trace_id, root_id = random_trace_id(), random_span_id()
    now = time.time_ns()
    spans = [otlp_span(trace_id, root_id, "crash-root", now, now + 50_000_000,
                       attributes={"langfuse.trace.name": "crash-test"})]
    for i in range(SPANS_PER_REQUEST - 1):
        spans.append(otlp_span(trace_id, random_span_id(), f"child-{i}", now + i * 1000, now + i * 1000 + 500, root_id,
                               attributes={"index": i, "payload": "p" * 200}))
    body = otlp_request(spans).SerializeToString()
    return trace_id.hex(), {s.span_id.hex() for s in spans}, body


def send_until(stop: threading.Event, server: PeriscopeServer, load: Load) -> None:
    session = requests.Session()
    url = f"{server.base_url}/api/public/otel/v1/traces"
    while not stop.is_set():
        trace_id, span_ids, body = one_batch()
        try:
            response = session.post(url, data=body, timeout=10, auth=(PROJECT_A.public_key, PROJECT_A.secret_key),
                                    headers={"Content-Type": "application/x-protobuf"})
        except requests.RequestException as error:
            outcome: Any = type(error).__name__
        else:
            outcome = response.status_code
        with load.lock:
            if outcome == 200:
                load.acked[trace_id] = span_ids
            else:
                load.statuses[outcome] = load.statuses.get(outcome, 0) + 1
        if outcome != 200:
            time.sleep(0.05)  # the server is gone; do not spin


def load_then_kill(server: PeriscopeServer, load: Load, min_seconds: float, min_new_acks: int) -> None:
    """Runs the client threads, SIGKILLs the server while they send, then stops them."""
    before = load.ack_count()
    stop = threading.Event()
    threads = [threading.Thread(target=send_until, args=(stop, server, load), daemon=True) for _ in range(CLIENTS)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    try:
        while time.monotonic() - started < min_seconds or load.ack_count() - before < min_new_acks:
            assert time.monotonic() - started < 60, f"too few acknowledged requests; other outcomes: {load.statuses}"
            time.sleep(0.05)
        server.kill()
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
    assert not any(t.is_alive() for t in threads), "a client thread hung"


def missing_or_duplicated(api: Api, load: Load, pending: set[str]) -> dict[str, str]:
    """Checks the pending traces; returns trace id -> problem for those not complete yet."""
    problems: dict[str, str] = {}
    for trace_id in sorted(pending):
        body = api.get_json("/observations", {"traceId": trace_id, "limit": 100})
        ids = [o["id"] for o in body["data"]]
        assert len(ids) == len(set(ids)), f"trace {trace_id}: duplicate observations {sorted(ids)}"
        assert body["meta"]["totalItems"] == len(ids), f"trace {trace_id}: meta {body['meta']} vs {len(ids)} rows"
        assert set(ids) <= load.acked[trace_id], f"trace {trace_id}: observations that were never sent"
        if set(ids) != load.acked[trace_id]:
            problems[trace_id] = f"{len(ids)}/{SPANS_PER_REQUEST} spans"
    return problems


def test_acknowledged_spans_survive_sigkill(spawn_server: Any) -> None:
    server = spawn_server("crash")
    load = Load()
    load_then_kill(server, load, min_seconds=1.5, min_new_acks=3)
    server.start()  # same data dir; the log is recovered
    # Kill it again right after recovery, while it is catching up and taking new load.
    load_then_kill(server, load, min_seconds=1.0, min_new_acks=2)
    server.start()

    api = Api(server.base_url, PROJECT_A)
    pending = set(load.acked)
    deadline = time.monotonic() + VERIFY_TIMEOUT
    problems: dict[str, str] = {}
    while pending:
        problems = missing_or_duplicated(api, load, pending)
        pending = set(problems)
        if not pending:
            break
        assert time.monotonic() < deadline, (
            f"{len(problems)} of {len(load.acked)} acknowledged requests are incomplete after {VERIFY_TIMEOUT:.0f}s: "
            f"{dict(list(problems.items())[:10])}"
        )
        time.sleep(0.5)
    assert len(load.acked) >= 5, f"too little load to mean anything: {len(load.acked)} acknowledged requests"

    # Nothing came back twice after replay: the trace view agrees with the observation list.
    for trace_id in list(load.acked)[:10]:
        trace = api.get_json(f"/traces/{trace_id}")
        ids = [o["id"] for o in trace["observations"]]
        assert sorted(ids) == sorted(load.acked[trace_id]), f"trace {trace_id}"
        assert trace["name"] == "crash-test"
    assert server.stop() == 0, "a clean SIGTERM shutdown after recovery"
