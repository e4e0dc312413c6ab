"""The real Langfuse Python SDK (5.0.4) against Periscope: the nested trace of WIRE-PROTOCOL §4,
all ten observation types and scores of every data type, read back through the REST API (§12)
field by field. The scenario itself is in langfuse_scenario.py (sent once per session)."""

from __future__ import annotations

import uuid
from types import SimpleNamespace
from typing import Any

import pytest

from langfuse_scenario import (
    COST,
    EMBEDDING_3_SMALL,
    GENERATION_OUTPUT,
    GPT_4O_MINI,
    MESSAGES,
    ROOT_OUTPUT,
    SESSION_ID,
    TYPES,
    USAGE,
    USER_ID,
)
from periscope_e2e import (
    Api,
    assert_time,
    assert_time_between,
    by_name,
    eventually,
    get_trace,
    ns_to_datetime,
    observations_of,
    parse_time,
    wait_for,
)


def score_by_name(api: Api, count: int, **params: Any) -> dict[str, dict[str, Any]]:
    """The `/v2/scores` matching `params`, once `count` exist, keyed by name."""

    def ready() -> Any:
        scores = api.get_all("/v2/scores", params)
        return scores if len(scores) >= count else None

    scores = wait_for(ready, what=f"{count} scores for {params}")
    assert len(scores) == count, f"expected {count} scores for {params}, got {[x['name'] for x in scores]}"
    return by_name(scores)


def assert_observation_common(obs: dict[str, Any], s: SimpleNamespace, name: str, parent: str | None) -> None:
    start, end = s.times[name]
    assert obs["id"] == s.ids[name]
    assert obs["traceId"] == s.trace_id
    assert obs["name"] == name
    assert obs["parentObservationId"] == parent, f"{name}: parentObservationId"
    assert obs["environment"] == "staging", f"{name}: environment"
    assert_time(obs["startTime"], ns_to_datetime(start), what=f"{name}.startTime")
    if obs["type"] == "EVENT":
        # The SDK sends start == end for events; "no end" is an acceptable rendering too.
        assert obs["endTime"] in (None, obs["startTime"]) or parse_time(obs["endTime"]) == parse_time(obs["startTime"])
    else:
        assert_time(obs["endTime"], ns_to_datetime(end), what=f"{name}.endTime")
        assert obs["latency"] == pytest.approx((end - start) / 1e9, abs=0.003), f"{name}: latency (s)"


def test_nested_trace_reads_back_with_every_trace_field(api: Api, scenario: SimpleNamespace) -> None:
    s = scenario
    trace = get_trace(api, s.trace_id, min_observations=6)

    def check() -> None:
        nonlocal trace
        trace = api.get_json(f"/traces/{s.trace_id}")
        assert trace["id"] == s.trace_id
        assert trace["name"] == "answer-question"
        assert trace["userId"] == USER_ID
        assert trace["sessionId"] == SESSION_ID
        assert sorted(trace["tags"]) == ["demo", "rag"]
        assert trace["release"] == "rel-1.4.2"
        assert trace["version"] == "app-v7"
        assert trace["environment"] == "staging"
        assert trace["public"] is False
        assert trace["input"] == {"question": "What is Langfuse?"}
        assert trace["output"] == ROOT_OUTPUT
        metadata = trace["metadata"]
        assert isinstance(metadata, dict), f"trace metadata: {metadata!r}"
        # SDK metadata values arrive JSON-quoted ("\"search-v2\"", "3") and must read back decoded.
        assert metadata.get("feature") == "search-v2", f"trace metadata: {metadata!r}"
        assert metadata.get("priority") == 3, f"trace metadata: {metadata!r}"
        assert metadata.get("route") == "/ask", f"root observation metadata merged into trace metadata: {metadata!r}"
        assert len(trace["observations"]) == 6, [o["name"] for o in trace["observations"]]
        assert len(trace["scores"]) == 6, [x["name"] for x in trace["scores"]]

    eventually(check)
    root_start, root_end = s.times["handle-request"]
    assert_time(trace["timestamp"], ns_to_datetime(root_start), what="trace.timestamp (root start)")
    assert trace["latency"] == pytest.approx((root_end - root_start) / 1e9, abs=0.003), "trace latency (s)"
    assert trace["latency"] > 0
    assert trace["totalCost"] == pytest.approx(COST["total"], rel=1e-6)
    assert s.trace_id in trace["htmlPath"]
    assert {o["id"] for o in trace["observations"]} == set(s.ids.values())
    assert {x["name"] for x in trace["scores"]} == {
        "accuracy", "hallucination", "tool_outcome", "quality", "overall", "user_feedback",
    }


def test_nested_trace_observations_carry_every_field(api: Api, scenario: SimpleNamespace) -> None:
    s = scenario
    get_trace(api, s.trace_id, min_observations=6)
    observations = by_name(observations_of(api, s.trace_id))
    assert set(observations) == set(s.ids), f"observation names: {sorted(observations)}"
    ids = s.ids

    root = observations["handle-request"]
    assert_observation_common(root, s, "handle-request", None)
    assert root["type"] == "SPAN"
    assert root["input"] == {"question": "What is Langfuse?"}
    assert root["output"] == ROOT_OUTPUT
    assert root["metadata"].get("route") == "/ask"
    assert root["version"] == "app-v7"
    assert root["level"] == "DEFAULT"
    assert root["statusMessage"] is None

    retriever = observations["retrieve-docs"]
    assert_observation_common(retriever, s, "retrieve-docs", ids["handle-request"])
    assert retriever["type"] == "RETRIEVER"
    assert retriever["input"] == {"query": "langfuse"}
    assert retriever["output"] == {"documents": ["doc-1", "doc-2"]}
    assert retriever["version"] == "app-v7"
    assert retriever["level"] == "DEFAULT"

    event = observations["cache-miss"]
    assert_observation_common(event, s, "cache-miss", ids["retrieve-docs"])
    assert event["type"] == "EVENT"
    assert event["level"] == "WARNING"
    assert event["statusMessage"] == "cache cold"
    assert event["input"] == {"key": "langfuse"}
    assert event["metadata"].get("cache") == "redis", f"event metadata: {event['metadata']!r}"

    generation = observations["llm-call"]
    assert_observation_common(generation, s, "llm-call", ids["handle-request"])
    assert generation["type"] == "GENERATION"
    assert generation["model"] == "gpt-4o-mini"
    assert generation["modelParameters"] == {"temperature": 0.2, "max_tokens": 256}
    assert generation["input"] == MESSAGES
    assert generation["output"] == GENERATION_OUTPUT
    assert generation["metadata"].get("region") == "eu", f"metadata must be decoded: {generation['metadata']!r}"
    assert generation["version"] == "app-v7"
    assert generation["level"] == "DEFAULT"
    assert generation["usageDetails"] == USAGE
    assert generation["costDetails"] == pytest.approx(COST, rel=1e-9)
    assert generation["calculatedInputCost"] == pytest.approx(COST["input"], rel=1e-6)
    assert generation["calculatedOutputCost"] == pytest.approx(COST["output"], rel=1e-6)
    assert generation["calculatedTotalCost"] == pytest.approx(COST["total"], rel=1e-6)
    usage = generation["usage"]
    assert (usage["input"], usage["output"], usage["total"]) == (120, 45, 165), f"usage: {usage!r}"
    assert_time(generation["completionStartTime"], s.completion_start, what="completionStartTime")
    start = ns_to_datetime(s.times["llm-call"][0])
    assert generation["timeToFirstToken"] == pytest.approx((s.completion_start - start).total_seconds(), abs=0.003)
    assert generation["promptName"] is None

    tool = observations["lookup-tool"]
    assert_observation_common(tool, s, "lookup-tool", ids["handle-request"])
    assert tool["type"] == "TOOL"
    assert tool["input"] == {"id": 42}
    assert tool["output"] == {"found": True}
    assert tool["version"] == "app-v7"

    failing = observations["failing-step"]
    assert_observation_common(failing, s, "failing-step", ids["handle-request"])
    assert failing["type"] == "SPAN"
    assert failing["level"] == "ERROR"
    assert failing["statusMessage"] == "upstream timeout"
    assert failing["version"] == "step-v3"
    assert failing["input"] is None and failing["output"] is None

    # The single-observation endpoint serves the same view.
    single = api.get_json(f"/observations/{ids['llm-call']}")
    for key in ("id", "traceId", "type", "name", "model", "modelParameters", "usageDetails", "costDetails",
                "input", "output", "metadata", "parentObservationId", "startTime", "endTime", "calculatedTotalCost"):
        assert single[key] == generation[key], f"/observations/{{id}} {key}: {single[key]!r} != {generation[key]!r}"
    assert api.get(f"/observations/{uuid.uuid4().hex[:16]}").status_code == 404


def test_observation_filters(api: Api, scenario: SimpleNamespace) -> None:
    s = scenario
    get_trace(api, s.trace_id, min_observations=6)
    generations = api.get_all("/observations", {"traceId": s.trace_id, "type": "GENERATION"})
    assert [o["id"] for o in generations] == [s.ids["llm-call"]]
    named = api.get_all("/observations", {"traceId": s.trace_id, "name": "cache-miss"})
    assert [o["id"] for o in named] == [s.ids["cache-miss"]]
    children = api.get_all("/observations", {"traceId": s.trace_id, "parentObservationId": s.ids["handle-request"]})
    assert sorted(o["name"] for o in children) == ["failing-step", "llm-call", "lookup-tool", "retrieve-docs"]
    page = api.get_json("/observations", {"traceId": s.trace_id, "limit": 4, "page": 2})
    assert page["meta"]["totalItems"] == 6 and page["meta"]["totalPages"] == 2, page["meta"]
    assert len(page["data"]) == 2


def test_all_ten_observation_types(api: Api, scenario: SimpleNamespace) -> None:
    s = scenario
    trace = get_trace(api, s.types_trace_id, min_observations=11)
    assert trace["name"] == "all-types-root"
    assert trace["environment"] == "staging" and trace["release"] == "rel-1.4.2"
    assert trace["userId"] is None and trace["sessionId"] is None and trace["tags"] == []
    observations = by_name(observations_of(api, s.types_trace_id))
    assert set(observations) == {"all-types-root"} | {f"type-{t}" for t in TYPES}
    assert observations["all-types-root"]["parentObservationId"] is None
    for as_type in TYPES:
        obs = observations[f"type-{as_type}"]
        assert obs["id"] == s.type_ids[as_type]
        assert obs["type"] == as_type.upper(), f"type-{as_type}: {obs['type']}"
        assert obs["parentObservationId"] == s.type_ids["root"], f"type-{as_type} parent"
        assert obs["input"] == {"type": as_type}
        assert obs["environment"] == "staging"
        assert_time(obs["startTime"], ns_to_datetime(s.type_times[as_type][0]), what=f"type-{as_type}.startTime")
    generation = observations["type-generation"]
    assert generation["model"] == "gpt-4o-mini"
    assert generation["usageDetails"] == {"input": 10, "output": 5, "total": 15}, "a missing total is the sum"
    expected = 10 * GPT_4O_MINI["input"] + 5 * GPT_4O_MINI["output"]
    assert generation["calculatedTotalCost"] == pytest.approx(expected, rel=1e-6), "priced from the catalogue"
    embedding = observations["type-embedding"]
    assert embedding["model"] == "text-embedding-3-small"
    assert embedding["usageDetails"] == {"input": 8, "total": 8}
    assert embedding["calculatedTotalCost"] == pytest.approx(8 * EMBEDDING_3_SMALL, rel=1e-6)
    for as_type in ("span", "agent", "tool", "chain", "retriever", "evaluator", "guardrail", "event"):
        assert not observations[f"type-{as_type}"]["calculatedTotalCost"], f"type-{as_type} has no cost"
    assert trace["totalCost"] == pytest.approx(expected + 8 * EMBEDDING_3_SMALL, rel=1e-6)


def assert_score(score: dict[str, Any], s: SimpleNamespace, **expected: Any) -> None:
    for key, value in expected.items():
        if isinstance(value, float):
            assert score[key] == pytest.approx(value), f"{score['name']}.{key}: {score[key]!r}"
        else:
            assert score[key] == value, f"{score['name']}.{key}: {score[key]!r} != {value!r}"
    assert score["source"] == "API", f"{score['name']}.source"
    assert score["environment"] == "staging", f"{score['name']}.environment"
    assert_time_between(score["timestamp"], s.started, s.ended, what=f"{score['name']}.timestamp")
    assert parse_time(score["createdAt"]) and parse_time(score["updatedAt"])


def test_scores_of_every_data_type(api: Api, scenario: SimpleNamespace) -> None:
    s = scenario
    scores = score_by_name(api, 6, traceId=s.trace_id)
    generation, tool = s.ids["llm-call"], s.ids["lookup-tool"]
    assert_score(scores["accuracy"], s, traceId=s.trace_id, observationId=generation, dataType="NUMERIC",
                 value=0.95, comment="close to reference", sessionId=None)
    assert_score(scores["hallucination"], s, traceId=s.trace_id, observationId=generation, dataType="BOOLEAN",
                 value=0, stringValue="False")
    assert_score(scores["tool_outcome"], s, traceId=s.trace_id, observationId=tool, dataType="CATEGORICAL",
                 stringValue="hit", value=0, comment="cache hit", metadata={"k": "v"})
    # No data type sent: a string value is CATEGORICAL.
    assert_score(scores["quality"], s, traceId=s.trace_id, observationId=None, dataType="CATEGORICAL",
                 stringValue="good", value=0)
    assert_score(scores["overall"], s, traceId=s.trace_id, observationId=None, dataType="NUMERIC", value=0.8,
                 comment="overall fine")
    assert_score(scores["user_feedback"], s, id=s.feedback_id, traceId=s.trace_id, observationId=None,
                 dataType="BOOLEAN", value=1, stringValue="True", comment="thumbs up",
                 metadata={"source": "ui", "widget": 2})
    assert len({x["id"] for x in scores.values()}) == 6

    single = api.get_json(f"/v2/scores/{s.feedback_id}")
    assert single == scores["user_feedback"]
    by_observation = score_by_name(api, 2, observationId=generation)
    assert set(by_observation) == {"accuracy", "hallucination"}
    booleans = score_by_name(api, 2, traceId=s.trace_id, dataType="BOOLEAN")
    assert set(booleans) == {"hallucination", "user_feedback"}
    assert set(score_by_name(api, 1, traceId=s.trace_id, name="accuracy")) == {"accuracy"}

    session_scores = score_by_name(api, 1, sessionId=SESSION_ID)
    # A number without a data type is NUMERIC.
    assert_score(session_scores["session_quality"], s, id=s.session_score_id, sessionId=SESSION_ID,
                 traceId=None, observationId=None, dataType="NUMERIC", value=0.5)
