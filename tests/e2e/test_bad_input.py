"""Bad input gets a clear 4xx naming the problem, never a crash; authentication and project
isolation hold on every edge (DESIGN §6, WIRE-PROTOCOL §1, §2, §11)."""

from __future__ import annotations

import base64
import gzip
import json
import time
import uuid
from datetime import datetime, timezone
from typing import Any

import grpc
import requests
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

from otlp_builders import otlp_request, otlp_span, post_otlp, random_span_id, random_trace_id
from periscope_e2e import (
    PROJECT_A,
    PROJECT_B,
    Api,
    PeriscopeServer,
    barrier,
    describe,
    get_trace,
    wait_for,
)

EXPORT_METHOD = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"


def basic(public_key: str, secret_key: str) -> str:
    return "Basic " + base64.b64encode(f"{public_key}:{secret_key}".encode()).decode()


def grpc_export(target: str, payload: bytes, authorization: str | None) -> grpc.StatusCode:
    """Sends raw bytes as an OTLP/gRPC Export call and returns the status code."""
    with grpc.insecure_channel(target) as channel:
        call = channel.unary_unary(EXPORT_METHOD)  # bytes in, bytes out
        metadata = [("authorization", authorization)] if authorization else []
        try:
            call(payload, metadata=metadata, timeout=15)
        except grpc.RpcError as error:
            return error.code()
        return grpc.StatusCode.OK


def iso_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def mentions(text: str, *words: str) -> bool:
    lower = text.lower()
    return all(word.lower() in lower for word in words)


def test_malformed_protobuf_is_400(api: Api, periscope: PeriscopeServer) -> None:
    garbage = b"\x0a\xff\xff\xff\xff\x0f\x12\x03abc"  # a length prefix far beyond the body
    response = api.post("/otel/v1/traces", data=garbage, headers={"Content-Type": "application/x-protobuf"})
    assert response.status_code == 400, describe(response, "malformed protobuf")
    response = api.post("/otel/v1/traces", data=b"not gzip at all",
                        headers={"Content-Type": "application/x-protobuf", "Content-Encoding": "gzip"})
    assert response.status_code == 400, describe(response, "Content-Encoding gzip on a body that is not gzip")
    code = grpc_export(periscope.grpc_target, garbage, basic(PROJECT_A.public_key, PROJECT_A.secret_key))
    assert code == grpc.StatusCode.INVALID_ARGUMENT, f"malformed protobuf over gRPC: {code}"


def test_malformed_json_is_400_naming_the_problem(api: Api) -> None:
    for path in ("/ingestion", "/scores", "/otel/v1/traces"):
        response = api.post(path, data=b'{"batch": [', headers={"Content-Type": "application/json"})
        assert response.status_code == 400, describe(response, f"truncated JSON to {path}")
        assert mentions(response.text, "json") or mentions(response.text, "eof") or mentions(response.text, "parse"), (
            describe(response, "the answer should say the JSON does not parse")
        )
    response = api.post("/ingestion", json={"events": []})
    assert response.status_code == 400, describe(response, "an envelope without batch")
    body = response.json()
    assert body["message"] == "Invalid request data", body
    assert mentions(json.dumps(body), "batch"), describe(response, "the error should name the missing `batch`")
    response = api.post("/ingestion", json={"batch": "not-a-list"})
    assert response.status_code == 400 and mentions(response.text, "batch"), describe(response, "batch of wrong type")


def test_wrong_types_fail_only_their_event(api: Api) -> None:
    run = uuid.uuid4().hex[:10]
    trace_id = f"typed-trace-{run}"
    good_1, bad, good_2 = f"good-1-{run}", f"bad-{run}", f"good-2-{run}"

    def generation(obs_id: str, usage: dict[str, Any]) -> dict[str, Any]:
        return {"id": str(uuid.uuid4()), "timestamp": iso_now(), "type": "generation-create",
                "body": {"id": obs_id, "traceId": trace_id, "name": obs_id, "model": "gpt-4o-mini",
                         "startTime": iso_now(), "usage": usage}}

    batch = [
        {"id": str(uuid.uuid4()), "timestamp": iso_now(), "type": "trace-create", "body": {"id": trace_id, "name": "typed"}},
        generation(good_1, {"input": 3, "output": 4}),
        generation(bad, {"input": "abc", "output": 4}),
        generation(good_2, {"input": 5, "output": 6}),
    ]
    response = api.post("/ingestion", json={"batch": batch})
    assert response.status_code == 207, describe(response, "batch with one badly typed event")
    result = response.json()
    [error] = result["errors"]
    assert error["id"] == batch[2]["id"], result
    assert error["status"] == 400 and error["message"] == "Invalid request data", result
    assert mentions(json.dumps(error.get("error")), "usage") and mentions(json.dumps(error.get("error")), "input"), (
        f"the error should name body.usage.input: {error}"
    )
    assert sorted(s["id"] for s in result["successes"]) == sorted(batch[i]["id"] for i in (0, 1, 3)), result

    trace = get_trace(api, trace_id, min_observations=2)
    assert sorted(o["id"] for o in trace["observations"]) == sorted([good_1, good_2])
    barrier(api)
    assert api.get(f"/observations/{bad}").status_code == 404, "the rejected event stored nothing"
    assert len(api.get_json(f"/traces/{trace_id}")["observations"]) == 2


def test_invalid_scores_in_an_array_are_rejected_individually(api: Api) -> None:
    run = uuid.uuid4().hex[:10]
    trace_id = f"score-check-{run}"
    scores = [
        {"id": f"ok-{run}", "traceId": trace_id, "name": "fine", "value": 1.0},
        {"id": f"no-name-{run}", "traceId": trace_id, "name": "", "value": 1.0},
        {"id": f"bad-bool-{run}", "traceId": trace_id, "name": "flag", "value": 0.5, "dataType": "BOOLEAN"},
    ]
    response = api.post("/scores", json=scores)
    assert response.status_code == 207, describe(response, "score array with two invalid scores")
    body = response.json()
    assert body["accepted"] == 1 and body["rejected"] == 2, body
    assert len(body["errors"]) == 2 and all(e.get("message") for e in body["errors"]), body
    wait_for(lambda: api.get_json("/v2/scores", {"traceId": trace_id})["data"], what="the valid score")
    barrier(api)
    stored = api.get_json("/v2/scores", {"traceId": trace_id})["data"]
    assert [x["id"] for x in stored] == [f"ok-{run}"]


def test_bad_span_ids_in_otlp_json_give_partial_success(api: Api) -> None:
    trace_id, good_id = random_trace_id().hex(), random_span_id().hex()
    now = time.time_ns()

    def span(trace: str, span_id: str, name: str) -> dict[str, Any]:
        return {"traceId": trace, "spanId": span_id, "name": name,
                "startTimeUnixNano": str(now), "endTimeUnixNano": str(now + 1_000_000)}

    body = {"resourceSpans": [{"resource": {"attributes": []}, "scopeSpans": [{"scope": {"name": "ids"}, "spans": [
        span(trace_id, good_id, "good"),
        span(trace_id, "zzzzzzzzzzzzzzzz", "span-id-not-hex"),
        span("abcd1234", random_span_id().hex(), "trace-id-too-short"),
    ]}]}]}
    response = api.post("/otel/v1/traces", json=body)
    assert response.status_code == 200, describe(response, "OTLP/JSON with two bad spans")
    answer = response.json()
    partial = answer.get("partialSuccess") or answer.get("partial_success")
    assert partial, describe(response, "expected partialSuccess")
    assert int(partial.get("rejectedSpans", partial.get("rejected_spans", 0))) == 2, answer
    assert partial.get("errorMessage") or partial.get("error_message"), answer
    trace = get_trace(api, trace_id, min_observations=1)
    assert [o["id"] for o in trace["observations"]] == [good_id]


def test_bad_span_ids_in_otlp_protobuf_give_partial_success(api: Api) -> None:
    now = time.time_ns()
    trace_id = random_trace_id()
    request = otlp_request([
        otlp_span(trace_id, random_span_id(), "good-proto", now, now + 1_000_000),
        otlp_span(trace_id, b"\x01\x02\x03", "short-span-id", now, now + 1_000_000),
        otlp_span(b"\x00" * 16, random_span_id(), "all-zero-trace-id", now, now + 1_000_000),
    ])
    response = post_otlp(api, request)
    assert response.status_code == 200, describe(response, "protobuf with two bad spans")
    reply = trace_service_pb2.ExportTraceServiceResponse()
    reply.ParseFromString(response.content)
    assert reply.partial_success.rejected_spans == 2 and reply.partial_success.error_message, reply
    trace = get_trace(api, trace_id.hex(), min_observations=1)
    assert [o["name"] for o in trace["observations"]] == ["good-proto"]


def test_oversized_bodies_are_413(spawn_server: Any) -> None:
    limit = 1_048_576
    server = spawn_server("limits", env={
        "PERISCOPE__SERVER__MAX_BODY_BYTES": str(limit),
        "PERISCOPE__SERVER__MAX_INFLIGHT_BYTES": str(4 * limit),
    })
    api = Api(server.base_url, PROJECT_A)
    big_text = "x" * (2 * limit)
    batch = {"batch": [{"id": str(uuid.uuid4()), "timestamp": iso_now(), "type": "trace-create",
                        "body": {"id": "too-big", "input": big_text}}]}
    response = api.post("/ingestion", json=batch)
    assert response.status_code == 413, describe(response, "2 MiB ingestion body with a 1 MiB limit")

    now = time.time_ns()
    trace_id = random_trace_id()
    huge = otlp_request([otlp_span(trace_id, random_span_id(), "huge", now, now + 1, attributes={"blob": big_text})])
    response = post_otlp(api, huge)
    assert response.status_code == 413, describe(response, "2 MiB OTLP protobuf")
    # The limit applies after decompression: ~2 KiB of gzip that inflates to 2 MiB.
    bomb = gzip.compress(huge.SerializeToString())
    assert len(bomb) < limit // 100
    response = api.post("/otel/v1/traces", data=bomb,
                        headers={"Content-Type": "application/x-protobuf", "Content-Encoding": "gzip"})
    assert response.status_code == 413, describe(response, "gzip body inflating past the limit")
    code = grpc_export(server.grpc_target, huge.SerializeToString(), basic(PROJECT_A.public_key, PROJECT_A.secret_key))
    assert code in (grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.OUT_OF_RANGE), f"2 MiB over gRPC: {code}"

    # Below the limit everything still works, and the server is alive.
    fits_id = random_trace_id()
    fits = otlp_request([otlp_span(fits_id, random_span_id(), "fits", now, now + 1, attributes={"blob": "y" * (limit // 2)})])
    response = post_otlp(api, fits)
    assert response.status_code == 200, describe(response, "512 KiB OTLP protobuf")
    trace = get_trace(api, fits_id.hex(), min_observations=1)
    assert trace["observations"][0]["name"] == "fits"
    assert api.get(f"/traces/{trace_id.hex()}").status_code == 404
    assert server.running()


def test_authentication_is_required(api: Api, periscope: PeriscopeServer) -> None:
    base = periscope.base_url + "/api/public"
    wrong_secret = (PROJECT_A.public_key, "sk-lf-wrong-secret")
    unknown_key = ("pk-lf-unknown", PROJECT_A.secret_key)
    probes = [
        ("GET", "/traces", None), ("GET", "/observations", None), ("GET", "/v2/scores", None),
        ("GET", "/projects", None), ("POST", "/ingestion", {"batch": []}), ("POST", "/scores", []),
        ("POST", "/otel/v1/traces", {"resourceSpans": []}),
    ]
    for method, path, body in probes:
        for label, kwargs in (
            ("no credentials", {}),
            ("wrong secret", {"auth": wrong_secret}),
            ("unknown public key", {"auth": unknown_key}),
            ("garbled Basic header", {"headers": {"Authorization": "Basic !!!not-base64"}}),
        ):
            response = requests.request(method, base + path, json=body, timeout=10, **kwargs)
            assert response.status_code == 401, describe(response, f"{label} on {method} {path}")
    for method, path, body in (("GET", "/traces", None), ("GET", "/v2/scores", None),
                               ("POST", "/otel/v1/traces", {"resourceSpans": []})):
        response = api.request(method, path, json=body, auth="bearer")
        assert response.status_code == 401, describe(response, f"Bearer (scores-only) on {method} {path}")

    request = otlp_request([otlp_span(random_trace_id(), random_span_id(), "x", 1, 2)]).SerializeToString()
    assert grpc_export(periscope.grpc_target, request, None) == grpc.StatusCode.UNAUTHENTICATED
    assert grpc_export(periscope.grpc_target, request, basic(*wrong_secret)) == grpc.StatusCode.UNAUTHENTICATED

    health = requests.get(base + "/health", timeout=10)
    assert health.status_code == 200 and health.json().get("status") == "OK", describe(health, "health needs no auth")


def test_projects_are_isolated(api: Api, api_b: Api) -> None:
    run = uuid.uuid4().hex[:10]
    trace_id, obs_id, score_id, session_id = (f"{k}-{run}" for k in ("iso-trace", "iso-obs", "iso-score", "iso-session"))
    batch = [
        {"id": str(uuid.uuid4()), "timestamp": iso_now(), "type": "trace-create",
         "body": {"id": trace_id, "name": f"secret-of-a-{run}", "sessionId": session_id, "userId": f"iso-user-{run}"}},
        {"id": str(uuid.uuid4()), "timestamp": iso_now(), "type": "span-create",
         "body": {"id": obs_id, "traceId": trace_id, "name": "a-span", "startTime": iso_now()}},
        {"id": str(uuid.uuid4()), "timestamp": iso_now(), "type": "score-create",
         "body": {"id": score_id, "traceId": trace_id, "name": "a-score", "value": 1.0}},
    ]
    response = api.post("/ingestion", json={"batch": batch})
    assert response.status_code == 207 and response.json()["errors"] == [], describe(response, "project A batch")
    get_trace(api, trace_id, min_observations=1)
    wait_for(lambda: api.get_json("/v2/scores", {"traceId": trace_id})["data"], what="A's score")

    assert api_b.get(f"/traces/{trace_id}").status_code == 404
    assert api_b.get(f"/observations/{obs_id}").status_code == 404
    assert api_b.get(f"/v2/scores/{score_id}").status_code == 404
    assert api_b.get(f"/sessions/{session_id}").status_code == 404
    assert api_b.get_json("/traces", {"name": f"secret-of-a-{run}"})["data"] == []
    assert api_b.get_json("/traces", {"userId": f"iso-user-{run}"})["data"] == []
    assert api_b.get_json("/observations", {"traceId": trace_id})["data"] == []
    assert api_b.get_json("/v2/scores", {"traceId": trace_id})["data"] == []

    # B writing the same ids creates B's own rows and leaves A's untouched.
    same_ids = [
        {"id": str(uuid.uuid4()), "timestamp": iso_now(), "type": "trace-create",
         "body": {"id": trace_id, "name": f"b-version-{run}", "tags": ["from-b"]}},
        {"id": str(uuid.uuid4()), "timestamp": iso_now(), "type": "span-create",
         "body": {"id": obs_id, "traceId": trace_id, "name": "b-span", "startTime": iso_now()}},
    ]
    response = api_b.post("/ingestion", json={"batch": same_ids})
    assert response.status_code == 207 and response.json()["errors"] == [], describe(response, "project B batch")
    b_trace = get_trace(api_b, trace_id, min_observations=1)
    assert b_trace["name"] == f"b-version-{run}" and [o["name"] for o in b_trace["observations"]] == ["b-span"]
    assert b_trace["scores"] == []
    barrier(api)
    a_trace = api.get_json(f"/traces/{trace_id}")
    assert a_trace["name"] == f"secret-of-a-{run}" and a_trace["tags"] == []
    assert [o["name"] for o in a_trace["observations"]] == ["a-span"]

    assert [p["id"] for p in api.get_json("/projects")["data"]] == [PROJECT_A.id]
    assert [p["id"] for p in api_b.get_json("/projects")["data"]] == [PROJECT_B.id]


def test_server_is_still_healthy_after_all_of_it(api: Api, periscope: PeriscopeServer) -> None:
    assert periscope.running(), "the server process died"
    health = requests.get(periscope.base_url + "/api/public/health", timeout=10)
    assert health.status_code == 200, describe(health, "health")
    body = health.json()
    assert body["status"] == "OK" and isinstance(body.get("version"), str) and body["version"], body
    trace_id = random_trace_id()
    now = time.time_ns()
    response = post_otlp(api, otlp_request([otlp_span(trace_id, random_span_id(), "after-bad-input", now, now + 1)]))
    assert response.status_code == 200, describe(response, "a normal export after the bad input")
    get_trace(api, trace_id.hex(), min_observations=1)
