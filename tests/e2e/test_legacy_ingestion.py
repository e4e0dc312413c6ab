"""The legacy batch endpoint `POST /api/public/ingestion` (WIRE-PROTOCOL §11) and single-object and
array `POST /api/public/scores` (§5, §13), as Langfuse Python v2, JS v3, LiteLLM and Dify use them."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from periscope_e2e import (
    Api,
    assert_time,
    barrier,
    by_name,
    describe,
    eventually,
    get_trace,
    observations_of,
    wait_for,
)

GPT_4O_MINI_INPUT, GPT_4O_MINI_OUTPUT = 0.15e-6, 0.6e-6


def iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def event(kind: str, body: dict[str, Any], at: datetime) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "timestamp": iso(at), "type": kind, "body": body}


def ingest(api: Api, batch: list[dict[str, Any]], auth: Any = "basic") -> dict[str, Any]:
    response = api.post(
        "/ingestion",
        json={"batch": batch, "metadata": {"batch_size": len(batch), "sdk_name": "langfuse-js", "sdk_version": "3.38.4"}},
        auth=auth,
        headers={"X-Langfuse-Sdk-Name": "langfuse-js", "x_langfuse_sdk_version": "3.38.4"},
    )
    assert response.status_code == 207, describe(response, "ingestion batch")
    return response.json()


def assert_all_succeeded(result: dict[str, Any], batch: list[dict[str, Any]], skip: tuple[str, ...] = ("sdk-log",)) -> None:
    expected = sorted(e["id"] for e in batch if e["type"] not in skip)
    assert result["errors"] == [], result
    assert sorted(s["id"] for s in result["successes"]) == expected, result
    assert all(s["status"] == 201 for s in result["successes"]), result


def test_full_batch_then_retry(api: Api) -> None:
    run = uuid.uuid4().hex[:10]
    t0 = datetime.now(timezone.utc) - timedelta(seconds=5)
    ms = lambda n: t0 + timedelta(milliseconds=n)  # noqa: E731
    trace_id, span_id, gen_id, event_id, score_id = (f"{k}-{run}" for k in ("trace", "span", "gen", "event", "score"))
    batch = [
        event("trace-create", {
            "id": trace_id, "timestamp": iso(ms(0)), "name": "legacy-question", "userId": f"legacy-user-{run}",
            "sessionId": f"legacy-session-{run}", "tags": ["legacy", "demo"], "input": {"q": "What is Periscope?"},
            "output": {"a": "An observability server."}, "metadata": {"caller": "litellm", "attempt": 1},
            "release": "v2.0.0", "version": "trace-v1", "environment": "legacy-env", "public": True,
        }, ms(0)),
        event("span-create", {
            "id": span_id, "traceId": trace_id, "name": "retrieve", "startTime": iso(ms(10)), "endTime": iso(ms(60)),
            "input": {"query": "periscope"}, "output": ["doc-a"], "metadata": {"index": "main"},
            "level": "DEBUG", "version": "span-v1", "environment": "legacy-env",
        }, ms(10)),
        event("generation-create", {
            "id": gen_id, "traceId": trace_id, "parentObservationId": span_id, "name": "llm-call",
            "startTime": iso(ms(20)), "completionStartTime": iso(ms(30)), "model": "gpt-4o-mini",
            "modelParameters": {"temperature": 0.2, "max_tokens": 256, "stream": False},
            "input": [{"role": "user", "content": "What is Periscope?"}], "environment": "legacy-env",
        }, ms(20)),
        event("generation-update", {
            "id": gen_id, "traceId": trace_id, "endTime": iso(ms(50)),
            "output": {"role": "assistant", "content": "An observability server."},
            "usage": {"input": 120, "output": 45, "total": 165, "unit": "TOKENS"},
            "metadata": {"finish": "stop"},
        }, ms(50)),
        event("event-create", {
            "id": event_id, "traceId": trace_id, "parentObservationId": span_id, "name": "cache-miss",
            "startTime": iso(ms(15)), "level": "WARNING", "statusMessage": "cold cache", "environment": "legacy-env",
        }, ms(15)),
        event("score-create", {
            "id": score_id, "traceId": trace_id, "observationId": gen_id, "name": "relevance", "value": 0.9,
            "dataType": "NUMERIC", "comment": "relevant", "environment": "legacy-env",
        }, ms(70)),
        event("sdk-log", {"log": "flushing 7 events"}, ms(80)),
    ]
    result = ingest(api, batch)
    assert_all_succeeded(result, batch)

    trace = get_trace(api, trace_id, min_observations=3)

    def check_trace() -> None:
        got = api.get_json(f"/traces/{trace_id}")
        assert got["name"] == "legacy-question" and got["userId"] == f"legacy-user-{run}"
        assert got["sessionId"] == f"legacy-session-{run}"
        assert sorted(got["tags"]) == ["demo", "legacy"]
        assert got["input"] == {"q": "What is Periscope?"} and got["output"] == {"a": "An observability server."}
        assert got["metadata"].get("caller") == "litellm" and got["metadata"].get("attempt") == 1, got["metadata"]
        assert got["release"] == "v2.0.0" and got["version"] == "trace-v1"
        assert got["environment"] == "legacy-env" and got["public"] is True
        assert len(got["scores"]) == 1

    eventually(check_trace)
    assert_time(trace["timestamp"], ms(0), what="trace.timestamp")

    observations = by_name(observations_of(api, trace_id))
    assert set(observations) == {"retrieve", "llm-call", "cache-miss"}
    span, generation, cache_miss = observations["retrieve"], observations["llm-call"], observations["cache-miss"]
    assert span["id"] == span_id and span["type"] == "SPAN" and span["parentObservationId"] is None
    assert span["input"] == {"query": "periscope"} and span["output"] == ["doc-a"]
    assert span["metadata"].get("index") == "main" and span["level"] == "DEBUG" and span["version"] == "span-v1"
    assert_time(span["startTime"], ms(10), what="span.startTime")
    assert_time(span["endTime"], ms(60), what="span.endTime")
    assert span["environment"] == "legacy-env"

    assert generation["id"] == gen_id and generation["type"] == "GENERATION"
    assert generation["parentObservationId"] == span_id
    assert generation["model"] == "gpt-4o-mini"
    assert generation["modelParameters"] == {"temperature": 0.2, "max_tokens": 256, "stream": False}
    assert generation["input"] == [{"role": "user", "content": "What is Periscope?"}]
    assert generation["output"] == {"role": "assistant", "content": "An observability server."}, "the update applied"
    assert generation["metadata"].get("finish") == "stop"
    assert_time(generation["startTime"], ms(20), what="generation.startTime (kept from the create)")
    assert_time(generation["endTime"], ms(50), what="generation.endTime (from the update)")
    assert_time(generation["completionStartTime"], ms(30), what="completionStartTime")
    usage = generation["usage"]
    assert (usage["input"], usage["output"], usage["total"]) == (120, 45, 165), usage
    assert generation["usageDetails"] == {"input": 120, "output": 45, "total": 165}
    expected = 120 * GPT_4O_MINI_INPUT + 45 * GPT_4O_MINI_OUTPUT
    assert generation["calculatedTotalCost"] == pytest.approx(expected, rel=1e-6), "priced from the catalogue"
    assert generation["latency"] == pytest.approx(0.030, abs=0.002)
    assert generation["timeToFirstToken"] == pytest.approx(0.010, abs=0.002)

    assert cache_miss["id"] == event_id and cache_miss["type"] == "EVENT"
    assert cache_miss["parentObservationId"] == span_id
    assert cache_miss["level"] == "WARNING" and cache_miss["statusMessage"] == "cold cache"

    [score] = wait_for(lambda: api.get_json("/v2/scores", {"traceId": trace_id})["data"], what="legacy score")
    assert score["id"] == score_id and score["observationId"] == gen_id and score["name"] == "relevance"
    assert score["value"] == pytest.approx(0.9) and score["dataType"] == "NUMERIC"
    assert score["comment"] == "relevant" and score["source"] == "API" and score["environment"] == "legacy-env"

    # JS v3 retries the whole batch after a timeout: same envelope ids, same bodies.
    retry = ingest(api, batch)
    assert_all_succeeded(retry, batch)
    barrier(api)
    assert sorted(o["id"] for o in observations_of(api, trace_id)) == sorted([span_id, gen_id, event_id])
    assert len(api.get_json("/v2/scores", {"traceId": trace_id})["data"]) == 1
    after = api.get_json(f"/traces/{trace_id}")
    assert sorted(after["tags"]) == ["demo", "legacy"] and len(after["observations"]) == 3
    assert after["metadata"].get("attempt") == 1


def test_updates_before_creates(api: Api) -> None:
    run = uuid.uuid4().hex[:10]
    t0 = datetime.now(timezone.utc) - timedelta(seconds=5)
    ms = lambda n: t0 + timedelta(milliseconds=n)  # noqa: E731
    trace_id, gen_id, span_id = f"ooo-trace-{run}", f"ooo-gen-{run}", f"ooo-span-{run}"

    # Within one batch the update is listed first (and has the later timestamp).
    first = [
        event("generation-update", {
            "id": gen_id, "traceId": trace_id, "endTime": iso(ms(40)), "output": "final answer",
            "usage": {"promptTokens": 11, "completionTokens": 7, "totalTokens": 18}, "metadata": {"b": 2},
        }, ms(40)),
        event("generation-create", {
            "id": gen_id, "traceId": trace_id, "name": "gen", "startTime": iso(ms(5)), "model": "gpt-4o-mini",
            "input": "question", "metadata": {"a": 1},
        }, ms(5)),
        event("trace-create", {"id": trace_id, "name": "out-of-order", "tags": ["first"]}, ms(0)),
        # An update whose create only comes in the next batch.
        event("span-update", {"id": span_id, "traceId": trace_id, "endTime": iso(ms(90)), "output": {"done": True},
                              "metadata": {"late": "yes"}}, ms(90)),
    ]
    assert_all_succeeded(ingest(api, first), first)
    second = [
        event("span-create", {"id": span_id, "traceId": trace_id, "name": "late-span", "startTime": iso(ms(60)),
                               "input": {"start": 1}, "metadata": {"early": "yes"}}, ms(60)),
        event("trace-create", {"id": trace_id, "tags": ["second"], "metadata": {"batch": 2}}, ms(1)),
    ]
    assert_all_succeeded(ingest(api, second), second)

    get_trace(api, trace_id, min_observations=2)

    def check() -> None:
        trace = api.get_json(f"/traces/{trace_id}")
        assert trace["name"] == "out-of-order", "an omitted name keeps its value"
        assert sorted(trace["tags"]) == ["first", "second"], "trace tags union"
        assert trace["metadata"].get("batch") == 2
        observations = by_name(observations_of(api, trace_id))
        generation, span = observations["gen"], observations["late-span"]
        assert generation["input"] == "question" and generation["output"] == "final answer"
        assert generation["model"] == "gpt-4o-mini"
        assert generation["metadata"].get("a") == 1 and generation["metadata"].get("b") == 2, generation["metadata"]
        assert_time(generation["startTime"], ms(5), what="gen.startTime")
        assert_time(generation["endTime"], ms(40), what="gen.endTime")
        assert generation["usageDetails"] == {"input": 11, "output": 7, "total": 18}
        assert span["input"] == {"start": 1} and span["output"] == {"done": True}
        assert span["metadata"].get("late") == "yes" and span["metadata"].get("early") == "yes", span["metadata"]
        assert_time(span["startTime"], ms(60), what="span.startTime")
        assert_time(span["endTime"], ms(90), what="span.endTime")

    eventually(check)


def test_bearer_public_key_may_only_write_scores(api: Api) -> None:
    run = uuid.uuid4().hex[:10]
    now = datetime.now(timezone.utc)
    trace_id = f"bearer-trace-{run}"
    score = event("score-create", {"id": f"bearer-score-{run}", "traceId": trace_id, "name": "thumbs",
                                   "value": 1, "dataType": "BOOLEAN"}, now)
    trace = event("trace-create", {"id": trace_id, "name": "must-not-exist"}, now)
    result = ingest(api, [score, trace], auth="bearer")
    assert [s["id"] for s in result["successes"]] == [score["id"]], result
    [error] = result["errors"]
    assert error["id"] == trace["id"] and error["status"] == 401, result
    assert error["message"] == "Access Scope Denied", result

    stored = wait_for(lambda: api.get_json("/v2/scores", {"traceId": trace_id})["data"], what="bearer score")
    assert [x["id"] for x in stored] == [f"bearer-score-{run}"]
    assert stored[0]["value"] == 1 and stored[0]["stringValue"] == "True" and stored[0]["dataType"] == "BOOLEAN"
    barrier(api)
    assert api.get(f"/traces/{trace_id}").status_code == 404, "the denied trace-create stored nothing"


def test_scores_endpoint_object_and_array(api: Api) -> None:
    run = uuid.uuid4().hex[:10]
    trace_id = f"scored-trace-{run}"
    single = {"id": f"single-{run}", "traceId": trace_id, "name": "helpfulness", "value": 0.7,
              "comment": "ok", "dataType": "NUMERIC", "metadata": {"rater": "alice"}}
    response = api.post("/scores", json=single)
    assert response.status_code == 200, describe(response, "single score object")
    assert response.json() == {"id": single["id"]}

    batch = [
        {"id": f"array-num-{run}", "traceId": trace_id, "name": "accuracy", "value": 0.25, "environment": "staging",
         "timestamp": iso(datetime.now(timezone.utc))},
        {"id": f"array-cat-{run}", "traceId": trace_id, "name": "tone", "value": "friendly", "environment": "staging"},
        {"id": f"array-bool-{run}", "traceId": trace_id, "name": "resolved", "value": 0.0, "dataType": "BOOLEAN"},
    ]
    response = api.post("/scores", json=batch)
    assert response.status_code == 202, describe(response, "score array")
    assert response.json() == {"message": "Accepted"}

    def scores() -> dict[str, Any]:
        data = api.get_all("/v2/scores", {"traceId": trace_id})
        assert len(data) == 4, [x["id"] for x in data]
        return by_name(data)

    got = wait_for(scores, what="4 scores")
    assert got["helpfulness"]["id"] == single["id"] and got["helpfulness"]["value"] == pytest.approx(0.7)
    assert got["helpfulness"]["metadata"] == {"rater": "alice"} and got["helpfulness"]["comment"] == "ok"
    assert got["helpfulness"]["environment"] == "default", "environment defaults to default"
    assert got["accuracy"]["dataType"] == "NUMERIC" and got["accuracy"]["environment"] == "staging"
    assert got["tone"]["dataType"] == "CATEGORICAL" and got["tone"]["stringValue"] == "friendly"
    assert got["resolved"]["dataType"] == "BOOLEAN" and got["resolved"]["stringValue"] == "False"
    assert got["resolved"]["value"] == 0

    # Scores are idempotent upserts by id: a resend with a new value replaces, never duplicates.
    response = api.post("/scores", json=[{**batch[0], "value": 0.5}])
    assert response.status_code == 202, describe(response, "score resend")
    eventually(lambda: _assert_score_value(api, batch[0]["id"], 0.5))
    barrier(api)
    assert len(api.get_all("/v2/scores", {"traceId": trace_id})) == 4


def _assert_score_value(api: Api, score_id: str, value: float) -> None:
    assert api.get_json(f"/v2/scores/{score_id}")["value"] == pytest.approx(value)
