"""Datasets and experiments (WIRE-PROTOCOL §8, §11, §12) through the real Langfuse SDK and the REST API.

The module runs its own server with its own two projects, so that its SDK client (one per public key
and process) and its data never meet the session scenario's. Covered: `create_dataset`,
`create_dataset_item` (upserts), `get_dataset` (paginated items), `dataset.run_experiment` with an
item-level and a run-level evaluator (runs derived from span attributes, scores readable), the
legacy `POST /dataset-run-items`, run deletion, project isolation and bad input.
"""

from __future__ import annotations

import json
import time
import urllib.parse
import uuid
from hashlib import sha256
from pathlib import Path
from typing import Any, Iterator

import pytest
from langfuse import Evaluation, Langfuse
from opentelemetry.sdk.trace import TracerProvider

from otlp_builders import otlp_request, otlp_span, post_otlp, random_span_id, random_trace_id
from periscope_e2e import (
    STARTED_SERVERS,
    Api,
    PeriscopeServer,
    Project,
    ServerError,
    describe,
    get_trace,
    wait_for,
    run_admin,
)

RUN = uuid.uuid4().hex[:8]
DS = Project("datasets-e2e", "Datasets E2E", "pk-lf-e2e-datasets", "sk-lf-e2e-datasets-secret")
OTHER = Project("datasets-other", "Datasets Other", "pk-lf-e2e-datasets-other", "sk-lf-e2e-datasets-other-secret")
CAPITALS = {"Italy": "Rome", "France": "Paris", "Japan": "Tokyo"}


def quoted(name: str) -> str:
    """A name as one path segment (the SDK sends `a/b` as `a%2Fb`)."""
    return urllib.parse.quote(name, safe="")


def expected_run_id(project_id: str, dataset_id: str, run_name: str) -> str:
    """The SDK's (and Periscope's) stable run id."""
    payload = json.dumps(["langfuse-experiment-v1", project_id, dataset_id, run_name], separators=(",", ":"), ensure_ascii=False)
    return sha256(payload.encode("utf-8")).hexdigest()[:16]


@pytest.fixture(scope="module")
def server(binary: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PeriscopeServer]:
    root = tmp_path_factory.mktemp("periscope-datasets")
    data_dir = root / "data"
    run_admin(binary, "project", "create", "--name", OTHER.name, "--id", OTHER.id, data_dir=data_dir)
    run_admin(
        binary, "key", "create", "--project", OTHER.id,
        "--public-key", OTHER.public_key, "--secret-key", OTHER.secret_key, data_dir=data_dir,
    )
    server = PeriscopeServer(binary, data_dir, root / "periscope.log", name="periscope-datasets", project=DS)
    try:
        server.start()
    except ServerError as error:
        pytest.fail(str(error))
    yield server
    code = server.stop()
    STARTED_SERVERS.remove(server)
    assert code == 0, f"periscope-datasets exited with {code}"


@pytest.fixture(scope="module")
def ds_api(server: PeriscopeServer) -> Api:
    return Api(server.base_url, DS)


@pytest.fixture(scope="module")
def other_api(server: PeriscopeServer) -> Api:
    return Api(server.base_url, OTHER)


@pytest.fixture(scope="module")
def lf(server: PeriscopeServer) -> Iterator[Langfuse]:
    # Its own tracer provider: spans of this client never go through another test's exporter.
    client = Langfuse(
        public_key=DS.public_key, secret_key=DS.secret_key, host=server.base_url, tracer_provider=TracerProvider()
    )
    yield client
    client.shutdown()


def create_capitals(lf: Langfuse, name: str) -> list[str]:
    """Creates dataset `name` with one item per country; returns the item ids in creation order."""
    lf.create_dataset(name=name, description="capital cities", metadata={"owner": "ml-team"})
    ids = []
    for country, capital in CAPITALS.items():
        item = lf.create_dataset_item(
            dataset_name=name, input={"country": country}, expected_output={"capital": capital},
            metadata={"difficulty": "easy"}, id=f"{name}-{country}",
        )
        ids.append(item.id)
    return ids


def test_datasets_and_items_round_trip_through_the_sdk(lf: Langfuse, ds_api: Api, other_api: Api) -> None:
    name = f"qa set/{RUN}"  # a space and a slash: both must survive the path encoding
    created = lf.create_dataset(
        name=name, description="capital cities", metadata={"owner": "ml-team"},
        input_schema={"type": "object"},
    )
    assert created.name == name and created.project_id == DS.id
    assert created.description == "capital cities" and created.metadata == {"owner": "ml-team"}
    assert created.input_schema == {"type": "object"} and created.expected_output_schema is None

    first = lf.create_dataset_item(
        dataset_name=name, input={"country": "Italy"}, expected_output={"capital": "Milan"}, id=f"first-{RUN}"
    )
    assert first.status == "ACTIVE" and first.dataset_id == created.id and first.dataset_name == name
    assert first.media_references == []
    lf.create_dataset_item(dataset_name=name, input={"country": "France"}, expected_output={"capital": "Paris"})
    lf.create_dataset_item(dataset_name=name, input={"country": "Japan"}, metadata={"difficulty": "hard"})
    # Same id again: an upsert. The unset fields keep their values.
    fixed = lf.create_dataset_item(dataset_name=name, expected_output={"capital": "Rome"}, id=f"first-{RUN}")
    assert fixed.id == first.id and fixed.input == {"country": "Italy"} and fixed.expected_output == {"capital": "Rome"}
    assert fixed.created_at == first.created_at

    dataset = lf.get_dataset(name, fetch_items_page_size=2)  # two pages
    assert dataset.id == created.id and dataset.project_id == DS.id
    assert len(dataset.items) == 3
    by_country = {item.input["country"]: item for item in dataset.items}
    assert by_country["Italy"].expected_output == {"capital": "Rome"}
    assert by_country["Japan"].metadata == {"difficulty": "hard"} and by_country["Japan"].expected_output is None

    page = ds_api.get_json("/dataset-items", {"datasetName": name, "page": 2, "limit": 2})
    assert page["meta"] == {"page": 2, "limit": 2, "totalItems": 3, "totalPages": 2}
    assert len(page["data"]) == 1
    assert ds_api.get_json(f"/v2/datasets/{quoted(name)}")["id"] == created.id
    v1 = ds_api.get_json(f"/datasets/{quoted(name)}")
    assert v1["id"] == created.id and len(v1["items"]) == 3 and v1["runs"] == []
    listed = ds_api.get_all("/v2/datasets")
    assert created.id in {entry["id"] for entry in listed}
    one = ds_api.get_json(f"/dataset-items/{first.id}")
    assert one["expectedOutput"] == {"capital": "Rome"} and one["mediaReferences"] == []

    # Another project sees none of it.
    assert other_api.get(f"/v2/datasets/{quoted(name)}").status_code == 404
    assert other_api.get(f"/dataset-items/{first.id}").status_code == 404
    assert other_api.get_json("/dataset-items")["meta"]["totalItems"] == 0
    assert other_api.get_json("/v2/datasets")["data"] == []


def test_run_experiment_becomes_a_dataset_run_with_item_scores(lf: Langfuse, ds_api: Api, other_api: Api) -> None:
    name = f"capitals-{RUN}"
    item_ids = create_capitals(lf, name)
    dataset = lf.get_dataset(name)
    run_name = f"lookup baseline {RUN}"

    def task(*, item: Any, **_: Any) -> dict[str, str]:
        # Japan is answered wrongly, so the evaluator scores differ.
        country = item.input["country"]
        return {"capital": "Kyoto" if country == "Japan" else CAPITALS[country]}

    def exact_match(*, output: Any, expected_output: Any, **_: Any) -> Evaluation:
        match = output == expected_output
        return Evaluation(name="exact_match", value=1.0 if match else 0.0, comment="match" if match else "mismatch")

    def run_accuracy(*, item_results: Any, **_: Any) -> Evaluation:
        values = [e.value for result in item_results for e in result.evaluations if e.name == "exact_match"]
        return Evaluation(name="run_accuracy", value=sum(values) / len(values))

    result = dataset.run_experiment(
        name="capitals", run_name=run_name, description="lookup baseline", task=task,
        evaluators=[exact_match], run_evaluators=[run_accuracy], metadata={"model": "lookup-table"},
    )
    assert len(result.item_results) == 3
    # The SDK asked GET /projects and derived the stable run id.
    run_id = expected_run_id(DS.id, dataset.id, run_name)
    assert result.experiment_id == run_id
    trace_of_item = {r.item.id: r.trace_id for r in result.item_results}
    assert set(trace_of_item) == set(item_ids)

    path = f"/datasets/{quoted(name)}/runs/{quoted(run_name)}"

    def run_complete() -> Any:
        response = ds_api.get(path)
        if response.status_code == 404:
            return None
        assert response.status_code == 200, describe(response, "GET run")
        body = response.json()
        return body if len(body["datasetRunItems"]) == 3 else None

    run = wait_for(run_complete, what=f"run {run_name} with 3 items")
    assert run["id"] == run_id and run["name"] == run_name
    assert run["datasetId"] == dataset.id and run["datasetName"] == name
    assert run["description"] == "lookup baseline" and run["metadata"] == {"model": "lookup-table"}
    items = {entry["datasetItemId"]: entry for entry in run["datasetRunItems"]}
    assert {item_id: entry["traceId"] for item_id, entry in items.items()} == trace_of_item
    for entry in items.values():
        assert entry["datasetRunId"] == run_id and entry["datasetRunName"] == run_name
        assert isinstance(entry["observationId"], str) and len(entry["observationId"]) == 16

    listed = ds_api.get_json(f"/datasets/{quoted(name)}/runs")
    assert [(r["id"], r["name"]) for r in listed["data"]] == [(run_id, run_name)]
    assert listed["meta"]["totalItems"] == 1
    assert ds_api.get_json(f"/datasets/{quoted(name)}")["runs"] == [run_name]

    # Item scores sit on each item's trace and task span; the run score on the run id.
    for item_id, entry in items.items():
        def score_of(trace_id: str = entry["traceId"]) -> Any:
            scores = ds_api.get_json("/v2/scores", {"traceId": trace_id, "name": "exact_match"})["data"]
            return scores[0] if scores else None

        score = wait_for(score_of, what=f"exact_match of {item_id}")
        assert score["observationId"] == entry["observationId"]
        assert score["value"] == (0.0 if item_id.endswith("Japan") else 1.0)
    run_score = wait_for(
        lambda: ds_api.get_json("/v2/scores", {"datasetRunId": run_id})["data"], what="the run_accuracy score"
    )
    assert run_score[0]["name"] == "run_accuracy" and abs(run_score[0]["value"] - 2 / 3) < 1e-9

    # The other project has no such dataset.
    assert other_api.get(path).status_code == 404


def test_legacy_run_items_link_traces_and_runs_can_be_deleted(lf: Langfuse, ds_api: Api) -> None:
    name = f"legacy-{RUN}"
    created = ds_api.post("/datasets", json={"name": name, "description": "js v3"})  # v1, as JS v3 sends it
    assert created.status_code == 200, describe(created, "v1 POST /datasets")
    assert created.json()["items"] == [] and created.json()["runs"] == []
    dataset_id = created.json()["id"]
    response = ds_api.post("/dataset-items", json={"datasetName": name, "input": {"q": 1}, "status": None})
    assert response.status_code == 200, describe(response, "item without id")
    item = response.json()
    assert item["id"] and item["status"] == "ACTIVE"

    # One trace linked by observation id only (older SDKs), one by trace id.
    trace_id, span_id = random_trace_id(), random_span_id()
    now = time.time_ns()
    sent = post_otlp(ds_api, otlp_request([otlp_span(trace_id, span_id, "legacy-task", now, now + 1_000_000)]))
    assert sent.status_code == 200, describe(sent, "OTLP span")
    get_trace(ds_api, trace_id.hex(), min_observations=1)
    run_name = "legacy run"
    by_observation = ds_api.post(
        "/dataset-run-items",
        json={"runName": run_name, "datasetItemId": item["id"], "observationId": span_id.hex(), "runDescription": "v1"},
    )
    assert by_observation.status_code == 200, describe(by_observation, "link by observation")
    link = by_observation.json()
    assert link["traceId"] == trace_id.hex() and link["observationId"] == span_id.hex()
    run_id = expected_run_id(DS.id, dataset_id, run_name)
    assert link["datasetRunId"] == run_id and link["datasetRunName"] == run_name

    body = {"runName": run_name, "datasetItemId": item["id"], "traceId": "legacy-trace-2", "metadata": {"v": 2}}
    second = ds_api.post("/dataset-run-items", json=body)
    retried = ds_api.post("/dataset-run-items", json=body)
    assert second.status_code == retried.status_code == 200, describe(retried, "retried link")
    assert retried.json()["id"] == second.json()["id"], "a retry returns the stored link"

    run = ds_api.get_json(f"/datasets/{quoted(name)}/runs/{quoted(run_name)}")
    assert run["id"] == run_id and run["description"] == "v1" and run["metadata"] == {"v": 2}
    assert [entry["traceId"] for entry in run["datasetRunItems"]] == [trace_id.hex(), "legacy-trace-2"]
    listed = ds_api.get_json("/dataset-run-items", {"datasetId": dataset_id, "runName": run_name, "limit": 1})
    assert listed["meta"] == {"page": 1, "limit": 1, "totalItems": 2, "totalPages": 2}

    deleted = ds_api.request("DELETE", f"/datasets/{quoted(name)}/runs/{quoted(run_name)}")
    assert deleted.status_code == 200 and deleted.json() == {"message": "Dataset run successfully deleted"}
    assert ds_api.get(f"/datasets/{quoted(name)}/runs/{quoted(run_name)}").status_code == 404
    assert ds_api.request("DELETE", f"/datasets/{quoted(name)}/runs/{quoted(run_name)}").status_code == 404


def test_bad_dataset_input_is_refused_naming_the_field(ds_api: Api) -> None:
    name = f"strict-{RUN}"
    assert ds_api.post("/v2/datasets", json={"name": name}).status_code == 200
    item_id = f"strict-item-{RUN}"
    assert ds_api.post("/dataset-items", json={"datasetName": name, "id": item_id}).status_code == 200
    other = f"strict-other-{RUN}"
    assert ds_api.post("/v2/datasets", json={"name": other}).status_code == 200

    def refused(path: str, body: Any, status: int, *words: str) -> None:
        response = ds_api.post(path, json=body) if body is not None else ds_api.post(path, data=b"{oops")
        assert response.status_code == status, describe(response, f"expected {status}")
        message = response.json()["message"]
        for word in words:
            assert word in message, f"{word!r} not in {message!r}"

    refused("/dataset-items", {"datasetName": f"missing-{RUN}", "input": 1}, 404, f"missing-{RUN}")
    refused("/dataset-items", {"datasetName": name, "status": "GONE"}, 400, "status")
    refused("/dataset-items", {"datasetName": name, "id": 5}, 400, "id must be a string")
    refused("/dataset-items", {"input": 1}, 400, "datasetName")
    refused("/dataset-items", {"datasetName": other, "id": item_id}, 400, item_id, name)
    refused("/v2/datasets", {"name": 42}, 400, "name")
    refused("/v2/datasets", {"name": "x", "inputSchema": "not a schema"}, 400, "inputSchema")
    refused("/v2/datasets", None, 400, "JSON")
    refused("/dataset-run-items", {"datasetItemId": item_id, "traceId": "t"}, 400, "runName")
    refused("/dataset-run-items", {"runName": "r", "datasetItemId": f"nope-{RUN}", "traceId": "t"}, 404, f"nope-{RUN}")
    refused("/dataset-run-items", {"runName": "r", "datasetItemId": item_id}, 400, "traceId")
    refused("/dataset-run-items", {"runName": "r", "datasetItemId": item_id, "traceId": 7}, 400, "traceId")

    version = ds_api.get("/dataset-items", {"datasetName": name, "version": "2026-01-01T00:00:00Z"})
    assert version.status_code == 400 and "version" in version.json()["message"]
    assert ds_api.get(f"/datasets/missing-{RUN}/runs").status_code == 404
    assert ds_api.get("/dataset-items", {"limit": 1001}).status_code == 400
    assert ds_api.get("/v2/datasets", auth="bearer").status_code == 401
    assert ds_api.post("/v2/datasets", json={"name": "x"}, auth=None).status_code == 401
