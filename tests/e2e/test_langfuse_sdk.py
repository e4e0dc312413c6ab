"""The real Langfuse Python SDK (5.0.4) and its OpenAI wrapper against Periscope.

One module-scoped scenario sends, through the SDK's own OTLP exporter and score queue:
* WIRE-PROTOCOL §4: `handle-request` with `propagate_attributes(...)` entered inside it, children
  `retrieve-docs` (retriever, child event `cache-miss` at WARNING), `llm-call` (generation) and
  `lookup-tool` (tool), then `failing-step` (ERROR, own version) after the context exits;
* one child of each of the ten observation types under `all-types-root`;
* scores of all three data types on the trace, on observations and on the session (§5);
* two `langfuse.openai` chat completions against the stub, one as its own root and one with
  `trace_id=` (as_root), both inside `propagate_attributes(session_id, user_id)` (§6).
The tests then read everything back through the public REST API (§12) and check every field.
"""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any, Iterator

import pytest
from langfuse import Langfuse, propagate_attributes
from langfuse.openai import openai as wrapped_openai

from periscope_e2e import (
    DETAILS_MARKER,
    PROJECT_A,
    QUERYABLE_TIMEOUT,
    STUB_MODEL,
    Api,
    PeriscopeServer,
    StubOpenAI,
    assert_time,
    assert_time_between,
    by_name,
    describe,
    eventually,
    get_trace,
    ns_to_datetime,
    observations_of,
    parse_time,
    stub_reply,
    wait_for,
)

RUN = uuid.uuid4().hex[:10]
SESSION_ID = f"session-{RUN}"
USER_ID = f"user-{RUN}"
MESSAGES = [
    {"role": "system", "content": "You are a concise assistant."},
    {"role": "user", "content": "What is Langfuse?"},
]
GENERATION_OUTPUT = {"role": "assistant", "content": "An open-source LLM observability platform."}
ROOT_OUTPUT = "An open-source LLM observability platform."
USAGE = {"input": 120, "output": 45, "total": 165}
COST = {"input": 0.0012, "output": 0.0009, "total": 0.0021}
TYPES = ["span", "generation", "event", "agent", "tool", "chain", "retriever", "evaluator", "embedding", "guardrail"]
# Public list prices (USD per token) that the built-in catalogue carries.
GPT_4O_MINI = {"input": 0.15e-6, "input_cached_tokens": 0.075e-6, "output": 0.6e-6, "output_reasoning_tokens": 0.6e-6}
EMBEDDING_3_SMALL = 0.02e-6


def span_times(observation: Any) -> tuple[int, int]:
    """(start, end) in ns of a finished SDK observation, read from its OpenTelemetry span."""
    span = observation._otel_span
    return span.start_time, span.end_time


@pytest.fixture(scope="module")
def scenario(periscope: PeriscopeServer, stub_openai: StubOpenAI) -> Iterator[SimpleNamespace]:
    lf = Langfuse(
        public_key=PROJECT_A.public_key,
        secret_key=PROJECT_A.secret_key,
        host=periscope.base_url,
        environment="staging",
        release="rel-1.4.2",
    )
    s = SimpleNamespace(ids={}, times={}, started=datetime.now(timezone.utc))

    def record(name: str, observation: Any) -> None:
        s.ids[name] = observation.id
        s.times[name] = span_times(observation)

    with lf.start_as_current_observation(
        as_type="span", name="handle-request", input={"question": "What is Langfuse?"}, metadata={"route": "/ask"}
    ) as root:
        s.trace_id = root.trace_id
        with propagate_attributes(
            trace_name="answer-question",
            tags=["demo", "rag"],
            metadata={"feature": "search-v2", "priority": 3},
            version="app-v7",
            session_id=SESSION_ID,
            user_id=USER_ID,
        ):
            with lf.start_as_current_observation(
                as_type="retriever", name="retrieve-docs", input={"query": "langfuse"}
            ) as retriever:
                event = retriever.create_event(
                    name="cache-miss", level="WARNING", status_message="cache cold",
                    input={"key": "langfuse"}, metadata={"cache": "redis"},
                )
                time.sleep(0.02)
                retriever.update(output={"documents": ["doc-1", "doc-2"]})
            with lf.start_as_current_observation(
                as_type="generation", name="llm-call", model="gpt-4o-mini",
                model_parameters={"temperature": 0.2, "max_tokens": 256},
                input=MESSAGES, metadata={"region": "eu"},
            ) as generation:
                time.sleep(0.03)
                s.completion_start = datetime.now(timezone.utc)
                time.sleep(0.02)
                generation.update(
                    output=GENERATION_OUTPUT, usage_details=USAGE, cost_details=COST,
                    completion_start_time=s.completion_start,
                )
                generation.score(name="accuracy", value=0.95, data_type="NUMERIC", comment="close to reference")
                generation.score(name="hallucination", value=0, data_type="BOOLEAN")
            with lf.start_as_current_observation(as_type="tool", name="lookup-tool", input={"id": 42}) as tool:
                tool.update(output={"found": True})
                tool.score(name="tool_outcome", value="hit", data_type="CATEGORICAL", comment="cache hit", metadata={"k": "v"})
            root.update(output=ROOT_OUTPUT)
        with lf.start_as_current_observation(
            as_type="span", name="failing-step", level="ERROR", status_message="upstream timeout", version="step-v3"
        ) as failing:
            time.sleep(0.01)
        root.score_trace(name="quality", value="good")
        root.score_trace(name="overall", value=0.8, data_type="NUMERIC", comment="overall fine")
    for name, observation in [
        ("handle-request", root), ("retrieve-docs", retriever), ("cache-miss", event),
        ("llm-call", generation), ("lookup-tool", tool), ("failing-step", failing),
    ]:
        record(name, observation)
    s.feedback_id = f"feedback-{RUN}"
    lf.create_score(
        name="user_feedback", value=1.0, trace_id=s.trace_id, score_id=s.feedback_id, data_type="BOOLEAN",
        comment="thumbs up", metadata={"source": "ui", "widget": 2},
    )
    s.session_score_id = f"sess-score-{RUN}"
    lf.create_score(name="session_quality", value=0.5, session_id=SESSION_ID, score_id=s.session_score_id)

    # One child of every observation type.
    s.type_ids, s.type_times = {}, {}
    with lf.start_as_current_observation(as_type="span", name="all-types-root") as types_root:
        s.types_trace_id = types_root.trace_id
        for as_type in TYPES:
            extra: dict[str, Any] = {}
            if as_type == "generation":
                extra = {"model": "gpt-4o-mini", "usage_details": {"input": 10, "output": 5}}
            elif as_type == "embedding":
                extra = {"model": "text-embedding-3-small", "usage_details": {"input": 8}}
            child = types_root.start_observation(name=f"type-{as_type}", as_type=as_type, input={"type": as_type}, **extra)
            if as_type != "event":  # events end when created
                child.end()
            s.type_ids[as_type] = child.id
            s.type_times[as_type] = span_times(child)
    s.type_ids["root"] = types_root.id
    s.type_times["root"] = span_times(types_root)

    # The OpenAI wrapper, inside propagate_attributes(session_id, user_id).
    client = wrapped_openai.OpenAI(base_url=stub_openai.base_url, api_key="sk-stub", max_retries=0)
    s.as_root_trace_id = lf.create_trace_id()
    s.wrapped_messages = [{"role": "user", "content": "Capital of France?"}]
    s.as_root_messages = [{"role": "user", "content": f"Capital of Italy? {DETAILS_MARKER}"}]
    s.stub_requests_before = len(stub_openai.requests)
    with propagate_attributes(session_id=SESSION_ID, user_id=USER_ID):
        s.wrapped_started = datetime.now(timezone.utc)
        first = client.chat.completions.create(
            model="gpt-4o-mini", messages=s.wrapped_messages, max_tokens=64, temperature=0.3,
            name="wrapped-chat", metadata={"purpose": "e2e"}, langfuse_public_key=PROJECT_A.public_key,
        )
        s.wrapped_ended = datetime.now(timezone.utc)
        second = client.chat.completions.create(
            model="gpt-4o-mini", messages=s.as_root_messages, name="wrapped-chat-as-root",
            trace_id=s.as_root_trace_id, langfuse_public_key=PROJECT_A.public_key,
        )
    s.wrapped_answers = [first.choices[0].message.content, second.choices[0].message.content]
    s.stub_requests = stub_openai.requests[s.stub_requests_before:]
    s.ended = datetime.now(timezone.utc)
    lf.flush()
    yield s
    lf.shutdown()


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


def find_wrapped_trace(api: Api) -> dict[str, Any]:
    def ready() -> Any:
        body = api.get_json("/traces", {"userId": USER_ID, "name": "wrapped-chat"})
        return body["data"] if body["data"] else None

    found = wait_for(ready, what="the wrapped-chat trace")
    assert len(found) == 1, f"one wrapped-chat trace expected, got {len(found)}"
    return get_trace(api, found[0]["id"], min_observations=1)


def test_openai_wrapper_generation_as_own_root(api: Api, scenario: SimpleNamespace) -> None:
    s = scenario
    assert s.wrapped_answers[0] == stub_reply(s.wrapped_messages)
    trace = find_wrapped_trace(api)
    assert trace["name"] == "wrapped-chat"
    assert trace["userId"] == USER_ID and trace["sessionId"] == SESSION_ID
    assert trace["environment"] == "staging" and trace["release"] == "rel-1.4.2"
    assert trace["input"] == s.wrapped_messages
    assert trace["output"] == {"role": "assistant", "content": s.wrapped_answers[0]}
    assert_time_between(trace["timestamp"], s.wrapped_started, s.wrapped_ended, what="wrapped trace timestamp")
    [obs] = observations_of(api, trace["id"])
    assert obs["type"] == "GENERATION"
    assert obs["name"] == "wrapped-chat"
    assert obs["parentObservationId"] is None
    assert obs["model"] == STUB_MODEL, "model is the response's model"
    assert obs["modelParameters"] == {
        "temperature": 0.3, "max_tokens": 64, "top_p": 1, "frequency_penalty": 0, "presence_penalty": 0,
    }
    assert obs["input"] == s.wrapped_messages
    assert obs["output"] == {"role": "assistant", "content": s.wrapped_answers[0]}
    assert obs["metadata"].get("purpose") == "e2e", f"metadata: {obs['metadata']!r}"
    # The wrapper sends OpenAI's usage verbatim; the server normalises it.
    assert obs["usageDetails"] == {"input": 13, "output": 6, "total": 19}
    usage = obs["usage"]
    assert (usage["input"], usage["output"], usage["total"]) == (13, 6, 19)
    assert obs["calculatedTotalCost"] > 0, "gpt-4o-mini-2024-07-18 is in the built-in price catalogue"
    assert obs["calculatedInputCost"] == pytest.approx(13 * GPT_4O_MINI["input"], rel=1e-6)
    assert obs["calculatedOutputCost"] == pytest.approx(6 * GPT_4O_MINI["output"], rel=1e-6)
    assert obs["calculatedTotalCost"] == pytest.approx(13 * GPT_4O_MINI["input"] + 6 * GPT_4O_MINI["output"], rel=1e-6)
    assert trace["totalCost"] == pytest.approx(obs["calculatedTotalCost"], rel=1e-6)
    assert obs["environment"] == "staging"
    assert obs["latency"] > 0


def test_openai_wrapper_with_trace_id_is_the_root(api: Api, scenario: SimpleNamespace) -> None:
    s = scenario
    assert s.wrapped_answers[1] == stub_reply(s.as_root_messages)
    trace = get_trace(api, s.as_root_trace_id, min_observations=1)
    assert trace["name"] == "wrapped-chat-as-root"
    assert trace["userId"] == USER_ID and trace["sessionId"] == SESSION_ID
    assert trace["input"] == s.as_root_messages
    assert trace["output"] == {"role": "assistant", "content": s.wrapped_answers[1]}
    [obs] = observations_of(api, s.as_root_trace_id)
    assert obs["type"] == "GENERATION" and obs["name"] == "wrapped-chat-as-root"
    # as_root: the exported parentSpanId is random and never exported; the span is the root.
    assert obs["parentObservationId"] is None
    assert obs["model"] == STUB_MODEL
    assert obs["modelParameters"] == {
        "temperature": 1, "max_tokens": "Infinity", "top_p": 1, "frequency_penalty": 0, "presence_penalty": 0,
    }
    # Details are split out of input/output and subtracted from them.
    assert obs["usageDetails"] == {
        "input": 9, "input_cached_tokens": 4, "output": 4, "output_reasoning_tokens": 2, "total": 19,
    }
    expected = (9 * GPT_4O_MINI["input"] + 4 * GPT_4O_MINI["input_cached_tokens"]
                + 4 * GPT_4O_MINI["output"] + 2 * GPT_4O_MINI["output_reasoning_tokens"])
    assert obs["calculatedTotalCost"] > 0
    assert obs["calculatedTotalCost"] == pytest.approx(expected, rel=1e-6)
    assert obs["calculatedTotalCost"] == pytest.approx(obs["calculatedInputCost"] + obs["calculatedOutputCost"], rel=1e-6)


def test_openai_wrapper_sends_a_plain_request_to_the_provider(scenario: SimpleNamespace) -> None:
    first, second = scenario.stub_requests
    for request in (first, second):
        for langfuse_kwarg in ("name", "metadata", "trace_id", "langfuse_public_key", "langfuse_prompt"):
            assert langfuse_kwarg not in request, f"{langfuse_kwarg} leaked to the provider: {request}"
    assert first["model"] == "gpt-4o-mini" and first["max_tokens"] == 64 and first["temperature"] == 0.3
    assert first["messages"] == scenario.wrapped_messages


def test_session_groups_its_traces(api: Api, scenario: SimpleNamespace) -> None:
    s = scenario
    find_wrapped_trace(api)
    get_trace(api, s.as_root_trace_id, min_observations=1)
    get_trace(api, s.trace_id, min_observations=6)

    def check() -> dict[str, Any]:
        response = api.get(f"/sessions/{SESSION_ID}")
        assert response.status_code == 200, describe(response, "GET session")
        session = response.json()
        assert len(session["traces"]) == 3, [t["name"] for t in session["traces"]]
        return session

    session = eventually(check, timeout=QUERYABLE_TIMEOUT)
    assert session["id"] == SESSION_ID
    assert session["projectId"] == PROJECT_A.id
    assert session["environment"] == "staging"
    assert parse_time(session["createdAt"])
    assert sorted(t["name"] for t in session["traces"]) == ["answer-question", "wrapped-chat", "wrapped-chat-as-root"]
    for trace in session["traces"]:
        assert trace["sessionId"] == SESSION_ID and trace["userId"] == USER_ID
    assert api.get(f"/sessions/no-such-session-{RUN}").status_code == 404


def list_traces(api: Api, **params: Any) -> dict[str, Any]:
    return api.get_json("/traces", params)


def test_trace_list_filters(api: Api, scenario: SimpleNamespace) -> None:
    s = scenario
    wrapped = find_wrapped_trace(api)
    get_trace(api, s.as_root_trace_id, min_observations=1)
    get_trace(api, s.trace_id, min_observations=6)
    all_ids = {s.trace_id, wrapped["id"], s.as_root_trace_id}

    by_user = eventually(lambda: _expect_ids(list_traces(api, userId=USER_ID), all_ids))
    assert by_user["meta"]["totalItems"] == 3 and by_user["meta"]["page"] == 1
    _expect_ids(list_traces(api, sessionId=SESSION_ID), all_ids)

    exact = list_traces(api, userId=USER_ID, name="answer-question", tags=["demo", "rag"], environment="staging")
    _expect_ids(exact, {s.trace_id})
    [item] = exact["data"]
    assert sorted(item["observations"]) == sorted(s.ids.values()), "list items carry observation ids"
    assert len(item["scores"]) == 6 and all(isinstance(x, str) for x in item["scores"]), item["scores"]
    assert item["totalCost"] == pytest.approx(COST["total"], rel=1e-6)
    assert item["latency"] > 0 and s.trace_id in item["htmlPath"]
    assert item["metadata"].get("feature") == "search-v2" and item["release"] == "rel-1.4.2"

    _expect_ids(list_traces(api, userId=USER_ID, tags=["demo", "no-such-tag"]), set())
    _expect_ids(list_traces(api, userId=USER_ID, environment="production"), set())
    _expect_ids(list_traces(api, userId=USER_ID, environment=["production", "staging"]), all_ids)
    after = (s.ended + timedelta(seconds=5)).isoformat().replace("+00:00", "Z")
    before = (s.started - timedelta(seconds=5)).isoformat().replace("+00:00", "Z")
    _expect_ids(list_traces(api, userId=USER_ID, fromTimestamp=after), set())
    _expect_ids(list_traces(api, userId=USER_ID, toTimestamp=before), set())
    _expect_ids(list_traces(api, userId=USER_ID, fromTimestamp=before, toTimestamp=after), all_ids)

    ascending = list_traces(api, userId=USER_ID, orderBy="timestamp.asc")["data"]
    stamps = [parse_time(t["timestamp"]) for t in ascending]
    assert stamps == sorted(stamps) and ascending[0]["id"] == s.trace_id
    descending = list_traces(api, userId=USER_ID, orderBy="timestamp.desc")["data"]
    assert [t["id"] for t in descending] == [t["id"] for t in reversed(ascending)]

    pages = [list_traces(api, userId=USER_ID, limit=1, page=p) for p in (1, 2, 3)]
    assert all(p["meta"]["totalPages"] == 3 and p["meta"]["limit"] == 1 for p in pages), [p["meta"] for p in pages]
    assert {p["data"][0]["id"] for p in pages} == all_ids


def _expect_ids(body: dict[str, Any], expected: set[str]) -> dict[str, Any]:
    got = [t["id"] for t in body["data"]]
    assert len(got) == len(set(got)), f"duplicate traces in list: {got}"
    assert set(got) == expected, f"trace ids {got} != {sorted(expected)}"
    assert body["meta"]["totalItems"] == len(expected), body["meta"]
    return body


def test_daily_metrics(api: Api, scenario: SimpleNamespace) -> None:
    s = scenario
    trace = get_trace(api, s.trace_id, min_observations=6)
    day = parse_time(trace["timestamp"]).astimezone(timezone.utc).strftime("%Y-%m-%d")

    def check() -> dict[str, Any]:
        body = api.get_json("/metrics/daily", {"traceName": "answer-question", "userId": USER_ID})
        assert len(body["data"]) == 1, body
        return body

    [entry] = eventually(check)["data"]
    assert entry["date"] == day
    assert entry["countTraces"] == 1
    assert entry["countObservations"] == 6
    assert entry["totalCost"] == pytest.approx(COST["total"], rel=1e-6)
    usage = {u["model"]: u for u in entry["usage"]}
    assert "gpt-4o-mini" in usage, entry["usage"]
    model = usage["gpt-4o-mini"]
    assert (model["inputUsage"], model["outputUsage"], model["totalUsage"]) == (120, 45, 165)
    assert model["countObservations"] == 1 and model["countTraces"] == 1
    assert model["totalCost"] == pytest.approx(COST["total"], rel=1e-6)

    find_wrapped_trace(api)
    get_trace(api, s.as_root_trace_id, min_observations=1)
    user_days = eventually(lambda: _metrics_total(api, userId=USER_ID, expect_traces=3))
    assert sum(d["countObservations"] for d in user_days) == 8
    models = {u["model"] for d in user_days for u in d["usage"]}
    assert {"gpt-4o-mini", STUB_MODEL} <= models, models
    assert sum(d["countTraces"] for d in _metrics_total(api, userId=USER_ID, tags="no-such-tag", expect_traces=0)) == 0


def _metrics_total(api: Api, expect_traces: int, **params: Any) -> list[dict[str, Any]]:
    data = api.get_json("/metrics/daily", params)["data"]
    assert sum(d["countTraces"] for d in data) == expect_traces, data
    return data
