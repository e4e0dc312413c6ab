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

import inspect

from langfuse import Langfuse
from opentelemetry.sdk.trace import TracerProvider

import test_datasets as dataset_checks
import test_langfuse_sdk as sdk_checks
import test_otel as otel_checks
import test_prompts as prompt_checks
import test_score_configs as score_checks
from periscope_e2e import PROJECT_A, PROJECT_B, Api, PeriscopeServer, Project
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
    deployment.drop_databases()
    assert all(code == 0 for code in codes.values()), f"roles exited with {codes}"


@pytest.fixture(scope="module")
def scaleout_scenario(cluster: ScaleOut, stub_openai: StubOpenAI) -> Iterator[SimpleNamespace]:
    from langfuse_scenario import run_scenario

    # The SDK keeps one client per public key: every client of project A uses the one URL.
    yield from run_scenario(cluster.url, stub_openai)


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


def sdk_client(cluster: ScaleOut, project: Project) -> Langfuse:
    """A Langfuse client of `project` on the deployment's single URL (writes → ingest, the rest
    → api), with its own tracer provider so no other test's exporter sees its spans."""
    return Langfuse(
        public_key=project.public_key, secret_key=project.secret_key, host=cluster.url,
        tracer_provider=TracerProvider(),
    )


def call_check(check: Callable[..., None], **available: object) -> None:
    """Calls an embedded-suite test function with the arguments it names."""
    check(**{name: available[name] for name in inspect.signature(check).parameters})


PROMPT_CHECKS = [
    prompt_checks.test_text_prompt_versions_labels_and_compile,
    prompt_checks.test_chat_prompt_with_placeholder_compiles,
    prompt_checks.test_folder_names_work_encoded_and_raw,
    prompt_checks.test_composed_prompts_resolve_on_read,
    prompt_checks.test_a_generation_links_to_its_prompt,
    prompt_checks.test_deleting_versions,
]


@pytest.fixture(scope="module")
def prompt_lf(cluster: ScaleOut) -> Iterator[Langfuse]:
    client = sdk_client(cluster, PROJECT_A)
    yield client
    client.shutdown()


@pytest.mark.parametrize("check", PROMPT_CHECKS, ids=lambda check: check.__name__.removeprefix("test_"))
def test_prompt_management_in_scaleout_mode(
    check: Callable[..., None], cluster: ScaleOut, prompt_lf: Langfuse
) -> None:
    call_check(check, lf=prompt_lf, api=Api(cluster.url, PROJECT_A))


DATASET_CHECKS = [
    dataset_checks.test_datasets_and_items_round_trip_through_the_sdk,
    dataset_checks.test_run_experiment_becomes_a_dataset_run_with_item_scores,
    dataset_checks.test_legacy_run_items_link_traces_and_runs_can_be_deleted,
    dataset_checks.test_bad_dataset_input_is_refused_naming_the_field,
]


@pytest.fixture(scope="module")
def dataset_lf(cluster: ScaleOut, binary: Path) -> Iterator[Langfuse]:
    for project in (dataset_checks.DS, dataset_checks.OTHER):
        cluster.create_project(project, binary)
    client = sdk_client(cluster, dataset_checks.DS)
    yield client
    client.shutdown()


@pytest.mark.parametrize("check", DATASET_CHECKS, ids=lambda check: check.__name__.removeprefix("test_"))
def test_datasets_and_experiments_in_scaleout_mode(
    check: Callable[..., None], cluster: ScaleOut, dataset_lf: Langfuse
) -> None:
    call_check(
        check, lf=dataset_lf,
        ds_api=Api(cluster.url, dataset_checks.DS), other_api=Api(cluster.url, dataset_checks.OTHER),
    )


SCORE_CHECKS = [
    score_checks.test_configs_of_each_type_are_created_read_listed_and_patched,
    score_checks.test_invalid_configs_are_refused_naming_the_field,
    score_checks.test_scores_are_checked_against_their_config,
    score_checks.test_a_deleted_score_is_gone_until_it_is_sent_again,
    score_checks.test_a_trace_reads_its_categorical_scores_with_the_config_value,
]


@pytest.fixture(scope="module")
def project_b(cluster: ScaleOut, binary: Path) -> Project:
    cluster.create_project(PROJECT_B, binary)
    return PROJECT_B


@pytest.mark.parametrize("check", SCORE_CHECKS, ids=lambda check: check.__name__.removeprefix("test_"))
def test_scores_and_score_configs_in_scaleout_mode(
    check: Callable[..., None], cluster: ScaleOut, project_b: Project
) -> None:
    call_check(check, api=Api(cluster.url, PROJECT_A), api_b=Api(cluster.url, project_b))


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


