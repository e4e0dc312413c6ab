"""The `langfuse.openai` wrapper against the OpenAI-compatible stub (WIRE-PROTOCOL §6), and the read
APIs over the whole Langfuse scenario: sessions, trace list filters, daily metrics (§12)."""

from __future__ import annotations

from datetime import timedelta, timezone
from types import SimpleNamespace
from typing import Any

import pytest

from langfuse_scenario import COST, GPT_4O_MINI, RUN, SESSION_ID, USER_ID
from periscope_e2e import (
    PROJECT_A,
    QUERYABLE_TIMEOUT,
    Api,
    assert_time_between,
    describe,
    eventually,
    get_trace,
    observations_of,
    parse_time,
    wait_for,
)
from stub_openai import STUB_MODEL, stub_reply


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
