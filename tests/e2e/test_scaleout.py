"""Scale-out mode end to end (issue 3): ingest, enrich, the trace sink and the query API as
separate processes on real Kafka, ClickHouse, Postgres, Redis and S3, driven by the real
Langfuse SDK and the OpenTelemetry exporters, and read back through the API role.

The checks are the embedded suite's own (test_langfuse_sdk.py, test_otel.py), run unchanged
against the scaled-out deployment, so both modes are held to exactly the same fields.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Callable, Iterator

import pytest

import test_langfuse_sdk as sdk_checks
import test_otel as otel_checks
from periscope_e2e import Api, PeriscopeServer
from scaleout import ScaleOut, ServicesMissing
from stub_openai import StubOpenAI


@pytest.fixture(scope="module")
def cluster(binary: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScaleOut]:
    try:
        deployment = ScaleOut(binary, tmp_path_factory.mktemp("scaleout"), "scaleout")
    except ServicesMissing as error:
        pytest.fail(str(error))
    deployment.start()
    yield deployment
    codes = deployment.stop()
    assert all(code == 0 for code in codes.values()), f"roles exited with {codes}"


@pytest.fixture(scope="module")
def scaleout_scenario(cluster: ScaleOut, stub_openai: StubOpenAI) -> Iterator[SimpleNamespace]:
    from langfuse_scenario import run_scenario

    yield from run_scenario(cluster.ingest.base_url, stub_openai)


SDK_CHECKS: list[Callable[[Api, SimpleNamespace], None]] = [
    sdk_checks.test_nested_trace_reads_back_with_every_trace_field,
    sdk_checks.test_nested_trace_observations_carry_every_field,
    sdk_checks.test_observation_filters,
    sdk_checks.test_all_ten_observation_types,
    sdk_checks.test_scores_of_every_data_type,
]


@pytest.mark.parametrize("check", SDK_CHECKS, ids=lambda check: check.__name__.removeprefix("test_"))
def test_langfuse_sdk_scenario_in_scaleout_mode(
    check: Callable[[Api, SimpleNamespace], None], cluster: ScaleOut, scaleout_scenario: SimpleNamespace
) -> None:
    check(cluster.api, scaleout_scenario)


OTEL_CHECKS: list[Callable[[PeriscopeServer, Api], None]] = [
    otel_checks.test_grpc_exporter,
    otel_checks.test_http_protobuf_exporter,
]


@pytest.mark.parametrize("check", OTEL_CHECKS, ids=lambda check: check.__name__.removeprefix("test_"))
def test_opentelemetry_exporters_in_scaleout_mode(
    check: Callable[[PeriscopeServer, Api], None], cluster: ScaleOut
) -> None:
    # Spans go to the ingest role's listeners, reads to the api role.
    check(cluster.ingest, cluster.api)


def test_every_role_reports_ready_and_metrics(cluster: ScaleOut) -> None:
    import requests

    for role, server in cluster.servers.items():
        assert requests.get(f"{server.base_url}/livez", timeout=5).status_code == 200, role
        assert requests.get(f"{server.base_url}/readyz", timeout=5).status_code == 200, role
        metrics = requests.get(f"{server.base_url}/metrics", timeout=5)
        assert metrics.status_code == 200, role
        assert "periscope_pipeline_backlog_events" in metrics.text, role
    enrich_metrics = requests.get(f"{cluster.servers['enrich'].base_url}/metrics", timeout=5).text
    assert 'component="enrich"' in enrich_metrics


def test_a_single_role_without_a_shared_log_refuses_to_start(binary: Path, tmp_path: Path) -> None:
    server = PeriscopeServer(binary, tmp_path / "data", tmp_path / "ingest.log", name="lonely-ingest", role=("ingest",))
    with pytest.raises(Exception) as error:
        server.start(timeout=30)
    assert "kafka.brokers" in str(error.value)


