"""Fault tests of the scaled-out deployment (issue 3), each asserting exact counts through the API:
a processor and a sink SIGKILLed mid-stream, ClickHouse cut off for 30 s under load, and Postgres
(and Redis) cut off while clients authenticate."""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path
from typing import Iterator, Optional
from urllib.parse import urlsplit

import pytest
import requests

from otlp_builders import otlp_request, otlp_span, post_otlp, random_span_id, random_trace_id
from periscope_e2e import Api, describe, wait_for
from scaleout import ScaleOut, ServicesMissing, service_env
from tcp_proxy import TcpProxy

SPANS_PER_TRACE = 5


def trace_request(session_id: str) -> tuple[str, object]:
    """One OTLP request holding one trace of `SPANS_PER_TRACE` spans in session `session_id`."""
    trace_id = random_trace_id()
    now = time.time_ns()
    root_id = random_span_id()
    common = {"session.id": session_id, "langfuse.trace.name": "fault-test"}
    spans = [otlp_span(trace_id, root_id, "root", now - 50_000_000, now, attributes=common)]
    for index in range(SPANS_PER_TRACE - 1):
        spans.append(otlp_span(
            trace_id, random_span_id(), f"child-{index}", now - 40_000_000, now - 10_000_000,
            parent_span_id=root_id, attributes=common,
        ))
    return trace_id.hex(), otlp_request(spans)


class Sender:
    """Sends one-trace requests to the ingest role in the background and records every trace
    the server acknowledged (2xx); a refused or failed request is not counted."""

    def __init__(self, api: Api, session_id: str, interval: float = 0.02) -> None:
        self.api, self.session_id, self.interval = api, session_id, interval
        self.acknowledged: list[str] = []
        self.refused: dict[int, int] = {}
        self.errors = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "Sender":
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=60)

    def _run(self) -> None:
        while not self._stop.is_set():
            trace_id, request = trace_request(self.session_id)
            try:
                response = post_otlp(self.api, request, timeout=30)
            except requests.RequestException:
                self.errors += 1
                continue
            if 200 <= response.status_code < 300:
                self.acknowledged.append(trace_id)
            else:
                self.refused[response.status_code] = self.refused.get(response.status_code, 0) + 1
            time.sleep(self.interval)


def assert_exactly_once(api: Api, session_id: str, acknowledged: list[str], timeout: float) -> float:
    """Waits until every acknowledged trace is listed exactly once with all its observations;
    returns how long it took until all were listed (the catch-up time)."""
    started = time.monotonic()
    expected = len(set(acknowledged))
    assert expected == len(acknowledged), "the sender produced a duplicate trace id"

    def listed_all() -> Optional[int]:
        count = int(api.get_json("/traces", {"sessionId": session_id, "limit": 1})["meta"]["totalItems"])
        return count if count >= expected else None

    count = wait_for(listed_all, timeout=timeout, interval=0.5, what=f"{expected} traces listed")
    caught_up = time.monotonic() - started
    assert count == expected, f"{count} traces listed for {expected} acknowledged: duplicates"
    listed = {trace["id"] for trace in api.get_all("/traces", {"sessionId": session_id})}
    assert listed == set(acknowledged), "the listed traces differ from the acknowledged ones"
    for trace_id in acknowledged:
        observations = api.get_all("/observations", {"traceId": trace_id})
        assert len(observations) == SPANS_PER_TRACE, (trace_id, len(observations))
        assert len({o["id"] for o in observations}) == SPANS_PER_TRACE, f"duplicate observations in {trace_id}"
    return caught_up


@pytest.fixture
def make_cluster(binary: Path, tmp_path: Path) -> Iterator:
    clusters: list[ScaleOut] = []

    def make(name: str, overrides: Optional[dict[str, str]] = None) -> ScaleOut:
        try:
            cluster = ScaleOut(binary, tmp_path / name, name, overrides=overrides)
        except ServicesMissing as error:
            pytest.fail(str(error))
        clusters.append(cluster)
        return cluster.start()

    yield make
    for cluster in clusters:
        for server in cluster.servers.values():
            server.kill()
        cluster.drop_databases()


def proxy_for(url: str) -> TcpProxy:
    parts = urlsplit(url)
    return TcpProxy(parts.hostname or "127.0.0.1", parts.port or 80)


def test_sigkill_of_a_processor_and_a_sink_mid_stream_loses_and_duplicates_nothing(make_cluster) -> None:
    cluster = make_cluster("kill")
    session_id = f"kill-{uuid.uuid4().hex[:8]}"
    with Sender(cluster.ingest_api, session_id) as sender:
        time.sleep(2)
        cluster.servers["enrich"].kill()
        time.sleep(1)
        cluster.servers["enrich"].start()
        time.sleep(2)
        cluster.servers["sink"].kill()
        time.sleep(1)
        cluster.servers["sink"].start()
        time.sleep(2)
    assert len(sender.acknowledged) > 50, f"too few acknowledged: {len(sender.acknowledged)}"
    assert sender.errors == 0 and not sender.refused, (sender.errors, sender.refused)
    assert_exactly_once(cluster.api, session_id, sender.acknowledged, timeout=120)


def test_clickhouse_down_for_30_seconds_under_load_loses_nothing(make_cluster) -> None:
    proxy = proxy_for(service_env()["PERISCOPE__CLICKHOUSE__URL"])
    try:
        cluster = make_cluster("clickhouse-outage", {"PERISCOPE__CLICKHOUSE__URL": f"http://127.0.0.1:{proxy.port}"})
        session_id = f"outage-{uuid.uuid4().hex[:8]}"
        with Sender(cluster.ingest_api, session_id, interval=0.05) as sender:
            time.sleep(3)
            proxy.pause()
            during_before = len(sender.acknowledged)
            time.sleep(30)
            during = len(sender.acknowledged) - during_before
            proxy.resume()
            resumed_at = time.monotonic()
            time.sleep(2)
        # The edge kept acknowledging while ClickHouse was away: the log buffered.
        assert during > 100, f"only {during} requests acknowledged during the outage"
        assert sender.errors == 0 and not sender.refused, (sender.errors, sender.refused)
        waited_from = time.monotonic()
        listed_after = assert_exactly_once(cluster.api, session_id, sender.acknowledged, timeout=180)
        catch_up = waited_from - resumed_at + listed_after
        print(f"\nclickhouse outage: {during} requests acknowledged during 30 s; all "
              f"{len(sender.acknowledged)} queryable {catch_up:.1f} s after ClickHouse returned")
    finally:
        proxy.close()


def test_postgres_down_authentication_is_served_from_the_cache_and_503_without_either(make_cluster) -> None:
    services = service_env()
    postgres = proxy_for(services["PERISCOPE__POSTGRES__URL"])
    redis = proxy_for(services["PERISCOPE__REDIS__URL"])
    try:
        cluster = make_cluster("auth-outage", {
            # ScaleOut puts its own database name into the URL; only host and port change here.
            "PERISCOPE__POSTGRES__URL": f"postgres://postgres@127.0.0.1:{postgres.port}/postgres",
            "PERISCOPE__REDIS__URL": f"redis://127.0.0.1:{redis.port}/0",
        })
        api = cluster.ingest_api
        session_id = f"auth-{uuid.uuid4().hex[:8]}"
        _, request = trace_request(session_id)
        first = post_otlp(api, request)
        assert first.status_code == 200, describe(first, "before the outage")

        postgres.pause()
        _, request = trace_request(session_id)
        cached = post_otlp(api, request)
        assert cached.status_code == 200, describe(cached, "Postgres down, key cached")
        unknown = requests.post(
            f"{cluster.ingest.base_url}/api/public/otel/v1/traces", data=b"",
            headers={"Content-Type": "application/x-protobuf"},
            auth=("pk-lf-never-seen", "sk-lf-never-seen"), timeout=30,
        )
        assert unknown.status_code == 503, describe(unknown, "Postgres down, key not cached")

        redis.pause()
        _, request = trace_request(session_id)
        neither = post_otlp(api, request)
        assert neither.status_code == 503, describe(neither, "Postgres and Redis down")
        assert "unavailable" in neither.text.lower()
    finally:
        postgres.close()
        redis.close()
