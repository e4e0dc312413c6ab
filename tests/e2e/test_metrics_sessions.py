"""Aggregates with the real Langfuse SDK against `periscope serve` (docs/adr/0018-metrics-api.md):
`GET /v2/metrics` over the SDK scenario, session totals of the scenario's session, and
per-version metrics of a prompt whose generations the SDK linked with `prompt=`."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any, Iterator

import pytest
from langfuse import Langfuse

from periscope_e2e import PROJECT_A, Api, PeriscopeServer, describe, wait_for

RUN = uuid.uuid4().hex[:8]


def iso(time: datetime) -> str:
    return time.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def metrics(api: Api, query: dict[str, Any], expect: int = 200) -> Any:
    return api.get_json("/v2/metrics", {"query": json.dumps(query)}, expect=expect)


def window(scenario: Any) -> dict[str, str]:
    return {
        "fromTimestamp": iso(scenario.started - timedelta(minutes=1)),
        "toTimestamp": iso(datetime.now(timezone.utc) + timedelta(minutes=1)),
    }


@pytest.fixture(scope="module")
def lf(periscope: PeriscopeServer) -> Iterator[Langfuse]:
    client = Langfuse(public_key=PROJECT_A.public_key, secret_key=PROJECT_A.secret_key, host=periscope.base_url)
    yield client
    client.shutdown()


def test_metrics_v2_groups_the_scenarios_traces(api: Api, scenario: Any) -> None:
    from langfuse_scenario import USER_ID

    query = {
        "view": "traces",
        "dimensions": [{"field": "name"}],
        "metrics": [
            {"measure": "count", "aggregation": "count"},
            {"measure": "latency", "aggregation": "p95"},
            {"measure": "totalTokens", "aggregation": "sum"},
        ],
        "filters": [{"column": "userId", "operator": "=", "value": USER_ID, "type": "string"}],
        "timeDimension": None,
        "orderBy": [{"field": "name", "direction": "asc"}],
        **window(scenario),
    }

    def grouped() -> Any:
        rows = {row["name"]: row for row in metrics(api, query)["data"]}
        row = rows.get("answer-question")
        assert row and row["sum_totalTokens"] >= 165, rows
        return row

    row = wait_for(grouped, what="the scenario trace in /v2/metrics")
    assert row["count_count"] == 1
    assert row["p95_latency"] > 0, row

    by_model = {
        "view": "observations",
        "dimensions": [{"field": "providedModelName"}],
        "metrics": [{"measure": "count", "aggregation": "count"}, {"measure": "inputTokens", "aggregation": "sum"}],
        "filters": [{"column": "type", "operator": "any of", "value": ["GENERATION"], "type": "stringOptions"}],
        "timeDimension": {"granularity": "day"},
        **window(scenario),
    }
    rows = metrics(api, by_model)["data"]
    models = {row["providedModelName"] for row in rows}
    assert "gpt-4o-mini" in models, rows
    assert all(row["time_dimension"].endswith("T00:00:00.000Z") for row in rows), rows

    scores = {
        "view": "scores-numeric",
        "dimensions": [{"field": "name"}],
        "metrics": [{"measure": "value", "aggregation": "avg"}],
        **window(scenario),
    }
    values = {row["name"]: row["avg_value"] for row in metrics(api, scores)["data"]}
    assert "accuracy" in values and "overall" in values, values


def test_unsupported_metrics_queries_are_400_naming_the_field(api: Api) -> None:
    base = {
        "view": "observations",
        "metrics": [{"measure": "count", "aggregation": "count"}],
        "fromTimestamp": "2026-01-01T00:00:00Z",
        "toTimestamp": "2026-01-02T00:00:00Z",
    }
    for change, named in [
        ({"dimensions": [{"field": "traceName"}]}, "traceName"),
        ({"view": "sessions"}, "sessions"),
        ({"metrics": [{"measure": "latency", "aggregation": "histogram"}]}, "histogram"),
    ]:
        response = api.get("/v2/metrics", {"query": json.dumps({**base, **change})})
        assert response.status_code == 400, describe(response)
        assert named in response.json()["message"], describe(response)
    response = api.get("/v2/metrics")
    assert response.status_code == 400, describe(response)


def test_the_scenarios_session_has_totals_and_ordered_traces(api: Api, scenario: Any) -> None:
    from langfuse_scenario import SESSION_ID

    def complete() -> Any:
        body = api.get_json(f"/sessions/{SESSION_ID}")
        names = {score["name"] for score in body["scores"]}
        assert body["countTraces"] == 3, body["countTraces"]
        assert {"session_quality", "accuracy", "overall"} <= names, names
        return body

    body = wait_for(complete, what="the scenario session with its scores")
    assert len(body["traces"]) == 3
    stamps = [trace["timestamp"] for trace in body["traces"]]
    assert stamps == sorted(stamps), stamps
    assert body["totalTokens"] >= 165
    assert body["totalCost"] > 0
    assert body["sessionDuration"] > 0
    session_quality = next(score for score in body["scores"] if score["name"] == "session_quality")
    assert session_quality == {"name": "session_quality", "dataType": "NUMERIC", "count": 1, "average": 0.5}

    listed = api.get_all("/sessions")
    entry = next(session for session in listed if session["id"] == SESSION_ID)
    assert entry["countTraces"] == 3 and entry["totalTokens"] == body["totalTokens"]


def test_prompt_versions_report_their_generations(lf: Langfuse, api: Api) -> None:
    name = f"metrics-prompt-{RUN}"
    lf.create_prompt(name=name, prompt="Summarize: {{text}}", labels=["production"])
    lf.create_prompt(name=name, prompt="Summarize briefly: {{text}}", labels=["production"])
    v1 = lf.get_prompt(name, version=1, cache_ttl_seconds=0, max_retries=0)
    v2 = lf.get_prompt(name, cache_ttl_seconds=0, max_retries=0)
    assert (v1.version, v2.version) == (1, 2)
    for index, prompt in enumerate([v1, v2, v2]):
        with lf.start_as_current_observation(
            as_type="generation", name="prompted", model="gpt-4o-mini", prompt=prompt,
            input=prompt.compile(text="Periscope stores traces."),
        ) as generation:
            generation.update(output="Stores traces.", usage_details={"input": 100, "output": 10 * (index + 1)})
            if prompt is v2:
                generation.score(name="faithfulness", value=0.5 + index * 0.25, data_type="NUMERIC")
    lf.flush()

    def reported() -> Any:
        body = api.get_json(f"/v2/prompts/{name}/metrics")
        versions = {entry["version"]: entry for entry in body["data"]}
        assert versions.get(2, {}).get("countGenerations") == 2, body
        assert versions.get(1, {}).get("countGenerations") == 1, body
        assert versions[2]["averageScores"].get("faithfulness") is not None, body
        return body

    body = wait_for(reported, what="per-version metrics of the linked prompt")
    assert body["name"] == name
    assert [entry["version"] for entry in body["data"]] == [2, 1]
    latest, first = body["data"]
    assert latest["totalTokens"] == 100 + 20 + 100 + 30
    assert latest["averageTokens"] == 125
    assert abs(latest["averageScores"]["faithfulness"] - 0.875) < 1e-9
    assert first["averageScores"] == {}
    assert latest["latencyP50Ms"] is not None and latest["latencyP95Ms"] >= latest["latencyP50Ms"]
    assert latest["firstUsedAt"] <= latest["lastUsedAt"]
    assert latest["totalCost"] > 0, "gpt-4o-mini is priced by the built-in catalogue"

    by_version = metrics(api, {
        "view": "observations",
        "dimensions": [{"field": "promptVersion"}],
        "metrics": [{"measure": "count", "aggregation": "count"}],
        "filters": [{"column": "promptName", "operator": "=", "value": name, "type": "string"}],
        "fromTimestamp": iso(datetime.now(timezone.utc) - timedelta(hours=1)),
        "toTimestamp": iso(datetime.now(timezone.utc) + timedelta(hours=1)),
    })
    assert by_version["data"] == [
        {"promptVersion": "1", "count_count": 1},
        {"promptVersion": "2", "count_count": 2},
    ]

    unused = api.get_json(f"/v2/prompts/{name}-never-used/metrics")
    assert unused["data"] == []
