"""Plain OpenTelemetry (no Langfuse SDK) against Periscope: the real OTLP exporters over gRPC and
HTTP/protobuf (WIRE-PROTOCOL §9), plus hand-built OTLP/JSON and gzip-compressed protobuf (§2)."""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import Any, Sequence

import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpanExporter
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import SpanKind, Status, StatusCode

from otlp_builders import otlp_request, otlp_span, post_otlp, random_span_id, random_trace_id
from periscope_e2e import (
    PROJECT_A,
    Api,
    PeriscopeServer,
    assert_time,
    barrier,
    by_name,
    describe,
    eventually,
    get_trace,
    ns_to_datetime,
    observations_of,
)

BASIC = "Basic " + base64.b64encode(f"{PROJECT_A.public_key}:{PROJECT_A.secret_key}".encode()).decode()
INPUT_MESSAGES = [{"role": "user", "parts": [{"type": "text", "content": "Weather in Paris?"}]}]
OUTPUT_MESSAGES = [{"role": "assistant", "parts": [{"type": "text", "content": "18C and sunny."}], "finish_reason": "stop"}]
# gpt-4o-2024-08-06 list prices, USD per token.
GPT_4O_INPUT, GPT_4O_OUTPUT = 2.5e-6, 10e-6


class RecordingExporter(SpanExporter):
    """Delegates to a real exporter and records each export's result (SUCCESS means 2xx / OK)."""

    def __init__(self, inner: SpanExporter) -> None:
        self.inner = inner
        self.results: list[SpanExportResult] = []

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        result = self.inner.export(spans)
        self.results.append(result)
        return result

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


def weather_resource() -> Resource:
    return Resource.create({
        "service.name": "weather-svc",
        "service.version": "9.9.9",
        "deployment.environment.name": "production",
    })


def emit_weather_trace(provider: TracerProvider, run: str) -> dict[str, Any]:
    """The §9 scenario: SERVER root, GenAI chat child (Example 3), execute_tool sibling."""
    tracer = provider.get_tracer("weather.app")
    out: dict[str, Any] = {"user": f"otel-user-{run}", "session": f"otel-session-{run}"}
    with tracer.start_as_current_span("GET /weather", kind=SpanKind.SERVER, attributes={
        "langfuse.trace.name": "weather-request",
        "user.id": out["user"],
        "session.id": out["session"],
        "langfuse.trace.tags": ["weather", "otel"],
        "langfuse.trace.metadata.team": "ml",
        "langfuse.observation.input": json.dumps({"city": "Paris"}),
        "langfuse.observation.output": json.dumps({"forecast": "18C and sunny"}),
    }) as root:
        with tracer.start_as_current_span("chat gpt-4o", kind=SpanKind.CLIENT, attributes={
            "gen_ai.system": "openai",
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": "gpt-4o",
            "gen_ai.response.model": "gpt-4o-2024-08-06",
            "gen_ai.request.temperature": 0.7,
            "gen_ai.request.max_tokens": 200,
            "gen_ai.usage.input_tokens": 50,
            "gen_ai.usage.output_tokens": 20,
            "gen_ai.input.messages": json.dumps(INPUT_MESSAGES),
            "gen_ai.output.messages": json.dumps(OUTPUT_MESSAGES),
        }) as chat:
            time.sleep(0.02)
        with tracer.start_as_current_span("execute_tool get_weather", kind=SpanKind.INTERNAL, attributes={
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": "get_weather",
            "gen_ai.tool.call.id": "call_1",
            "gen_ai.tool.call.arguments": json.dumps({"city": "Paris"}),
            "gen_ai.tool.call.result": json.dumps({"temp_c": 18}),
        }) as tool:
            time.sleep(0.01)
    for name, span in (("root", root), ("chat", chat), ("tool", tool)):
        context = span.get_span_context()
        out[name] = {"id": f"{context.span_id:016x}", "start": span.start_time, "end": span.end_time}
    out["trace_id"] = f"{root.get_span_context().trace_id:032x}"
    return out


def check_weather_trace(api: Api, sent: dict[str, Any]) -> None:
    expected_cost = 50 * GPT_4O_INPUT + 20 * GPT_4O_OUTPUT

    def check_trace() -> None:
        # The sink may commit the root's observation a batch before its trace record.
        trace = get_trace(api, sent["trace_id"], min_observations=3)
        assert trace["name"] == "weather-request"
        assert trace["userId"] == sent["user"] and trace["sessionId"] == sent["session"]
        assert sorted(trace["tags"]) == ["otel", "weather"]
        assert trace["metadata"].get("team") == "ml", f"raw metadata stays a string: {trace['metadata']!r}"
        assert trace["input"] == {"city": "Paris"}
        assert trace["output"] == {"forecast": "18C and sunny"}
        assert trace["environment"] == "production", "from resource deployment.environment.name"
        assert trace["version"] == "9.9.9", "from resource service.version"
        assert_time(trace["timestamp"], ns_to_datetime(sent["root"]["start"]), what="trace.timestamp")
        assert trace["totalCost"] == pytest.approx(expected_cost, rel=1e-6)

    eventually(check_trace)

    observations = {o["id"]: o for o in observations_of(api, sent["trace_id"])}
    assert set(observations) == {sent["root"]["id"], sent["chat"]["id"], sent["tool"]["id"]}
    root, chat, tool = (observations[sent[k]["id"]] for k in ("root", "chat", "tool"))
    for key, obs in (("root", root), ("chat", chat), ("tool", tool)):
        assert obs["traceId"] == sent["trace_id"]
        assert obs["environment"] == "production", f"{key}.environment"
        assert_time(obs["startTime"], ns_to_datetime(sent[key]["start"]), what=f"{key}.startTime")
        assert_time(obs["endTime"], ns_to_datetime(sent[key]["end"]), what=f"{key}.endTime")
        assert obs["level"] == "DEFAULT"

    assert root["type"] == "SPAN" and root["name"] == "GET /weather" and root["parentObservationId"] is None
    assert root["input"] == {"city": "Paris"} and root["output"] == {"forecast": "18C and sunny"}

    assert chat["type"] == "GENERATION", "gen_ai.operation.name=chat"
    assert chat["name"] == "chat gpt-4o"
    assert chat["parentObservationId"] == sent["root"]["id"]
    assert chat["model"] == "gpt-4o-2024-08-06", "gen_ai.response.model wins over the request model"
    params = chat["modelParameters"]
    assert params.get("temperature") == 0.7 and params.get("max_tokens") == 200, f"modelParameters: {params!r}"
    assert "model" not in params, params
    assert chat["usageDetails"] == {"input": 50, "output": 20, "total": 70}
    assert (chat["usage"]["input"], chat["usage"]["output"], chat["usage"]["total"]) == (50, 20, 70)
    assert chat["input"] == INPUT_MESSAGES
    assert chat["output"] == OUTPUT_MESSAGES
    assert chat["calculatedInputCost"] == pytest.approx(50 * GPT_4O_INPUT, rel=1e-6)
    assert chat["calculatedOutputCost"] == pytest.approx(20 * GPT_4O_OUTPUT, rel=1e-6)
    assert chat["calculatedTotalCost"] == pytest.approx(expected_cost, rel=1e-6)

    assert tool["type"] == "TOOL"
    assert tool["name"] == "get_weather", "tools are named by gen_ai.tool.name"
    assert tool["parentObservationId"] == sent["root"]["id"]
    assert tool["input"] == {"city": "Paris"}
    assert tool["output"] == {"temp_c": 18}


def test_grpc_exporter(periscope: PeriscopeServer, api: Api) -> None:
    exporter = RecordingExporter(GrpcSpanExporter(
        endpoint=periscope.grpc_target, insecure=True, headers={"authorization": BASIC}, timeout=10,
    ))
    provider = TracerProvider(resource=weather_resource())
    # One export per span: children reach the server before their parent, in separate requests.
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    sent = emit_weather_trace(provider, uuid.uuid4().hex[:8])
    provider.shutdown()
    assert exporter.results == [SpanExportResult.SUCCESS] * 3, exporter.results
    check_weather_trace(api, sent)


def test_http_protobuf_exporter(periscope: PeriscopeServer, api: Api) -> None:
    exporter = RecordingExporter(HttpSpanExporter(
        endpoint=f"{periscope.base_url}/api/public/otel/v1/traces", headers={"authorization": BASIC}, timeout=10,
    ))
    provider = TracerProvider(resource=weather_resource())
    provider.add_span_processor(BatchSpanProcessor(exporter))
    sent = emit_weather_trace(provider, uuid.uuid4().hex[:8])
    assert provider.force_flush(15_000)
    provider.shutdown()
    assert exporter.results and all(r == SpanExportResult.SUCCESS for r in exporter.results), exporter.results
    check_weather_trace(api, sent)


def test_error_status_becomes_level_error(periscope: PeriscopeServer, api: Api) -> None:
    exporter = RecordingExporter(HttpSpanExporter(
        endpoint=f"{periscope.base_url}/api/public/otel/v1/traces", headers={"authorization": BASIC}, timeout=10,
    ))
    provider = TracerProvider(resource=weather_resource())
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with provider.get_tracer("weather.app").start_as_current_span("flaky-call") as span:
        span.set_status(Status(StatusCode.ERROR, "backend exploded"))
    provider.shutdown()
    assert exporter.results == [SpanExportResult.SUCCESS]
    trace_id = f"{span.get_span_context().trace_id:032x}"
    trace = get_trace(api, trace_id, min_observations=1)
    assert trace["name"] == "flaky-call", "a trace without langfuse.trace.name takes the root span's name"
    [obs] = observations_of(api, trace_id)
    assert obs["level"] == "ERROR" and obs["statusMessage"] == "backend exploded"


def test_otlp_json(api: Api) -> None:
    trace_id, root_id, child_id = random_trace_id().hex(), random_span_id().hex(), random_span_id().hex()
    t0 = time.time_ns() // 1000 * 1000 + 123  # sub-microsecond digits: the API keeps at least ms
    run = uuid.uuid4().hex[:8]
    body = {"resourceSpans": [{
        "resource": {"attributes": [
            {"key": "service.name", "value": {"stringValue": "json-svc"}},
            {"key": "service.version", "value": {"stringValue": "1.2.3"}},
            {"key": "deployment.environment.name", "value": {"stringValue": "qa"}},
        ]},
        "scopeSpans": [{"scope": {"name": "json.client", "version": "0.1"}, "spans": [
            # Child first (spans are exported when they end); int64 as a number, kind as an integer.
            {"traceId": trace_id, "spanId": child_id, "parentSpanId": root_id, "name": "json-llm", "kind": 3,
             "startTimeUnixNano": t0 + 10_000_000, "endTimeUnixNano": str(t0 + 40_000_000),
             "attributes": [
                 {"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}},
                 {"key": "gen_ai.request.model", "value": {"stringValue": "gpt-4o-mini"}},
                 {"key": "gen_ai.request.temperature", "value": {"doubleValue": 0.5}},
                 {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "30"}},
                 {"key": "gen_ai.usage.output_tokens", "value": {"intValue": 12}},
             ],
             "status": {"code": 2, "message": "rate limited"}},
            # Root: int64 as strings, kind by name.
            {"traceId": trace_id, "spanId": root_id, "name": "json-root", "kind": "SPAN_KIND_SERVER",
             "startTimeUnixNano": str(t0), "endTimeUnixNano": str(t0 + 50_000_000),
             "attributes": [
                 {"key": "langfuse.trace.name", "value": {"stringValue": f"json-trace-{run}"}},
                 {"key": "user.id", "value": {"stringValue": f"json-user-{run}"}},
                 {"key": "langfuse.trace.tags", "value": {"arrayValue": {"values": [{"stringValue": "json"}]}}},
                 {"key": "langfuse.observation.input", "value": {"stringValue": "{\"q\": \"hi\"}"}},
             ],
             "status": {}},
        ]}],
    }]}
    response = api.post("/otel/v1/traces", json=body)
    assert response.status_code == 200, describe(response, "OTLP/JSON export")
    assert response.headers.get("content-type", "").startswith("application/json"), response.headers
    assert response.json() == {}, describe(response, "OTLP/JSON answer is an empty ExportTraceServiceResponse")

    get_trace(api, trace_id, min_observations=2)

    def check_trace() -> None:
        # The sink may commit a trace's observations a batch before its trace record.
        trace = get_trace(api, trace_id, min_observations=2)
        assert trace["name"] == f"json-trace-{run}" and trace["userId"] == f"json-user-{run}"
        assert trace["tags"] == ["json"] and trace["input"] == {"q": "hi"}
        assert trace["environment"] == "qa" and trace["version"] == "1.2.3"
        assert_time(trace["timestamp"], ns_to_datetime(t0), what="trace.timestamp")

    eventually(check_trace)
    observations = by_name(observations_of(api, trace_id))
    root, child = observations["json-root"], observations["json-llm"]
    assert root["id"] == root_id and root["parentObservationId"] is None
    assert_time(root["endTime"], ns_to_datetime(t0 + 50_000_000), what="root.endTime")
    assert child["id"] == child_id and child["parentObservationId"] == root_id
    assert child["type"] == "GENERATION" and child["model"] == "gpt-4o-mini"
    assert child["modelParameters"].get("temperature") == 0.5
    assert child["usageDetails"] == {"input": 30, "output": 12, "total": 42}
    assert child["level"] == "ERROR" and child["statusMessage"] == "rate limited"
    assert_time(child["startTime"], ns_to_datetime(t0 + 10_000_000), what="child.startTime")
    assert_time(child["endTime"], ns_to_datetime(t0 + 40_000_000), what="child.endTime")
    assert child["latency"] == pytest.approx(0.030, abs=0.002)


def test_gzip_protobuf_across_requests_and_retries(api: Api) -> None:
    trace_id = random_trace_id()
    root_id, first_id, second_id = random_span_id(), random_span_id(), random_span_id()
    t0 = time.time_ns()
    run = uuid.uuid4().hex[:8]
    children = otlp_request([
        otlp_span(trace_id, first_id, "step-1", t0 + 1_000_000, t0 + 5_000_000, root_id,
                  {"langfuse.observation.type": "agent", "langfuse.observation.input": json.dumps({"n": 1}),
                   "langfuse.trace.tags": ["gzip"]}),
        otlp_span(trace_id, second_id, "step-2", t0 + 6_000_000, t0 + 9_000_000, root_id,
                  {"langfuse.observation.type": "chain", "langfuse.trace.tags": ["retry"]}),
    ])
    parent = otlp_request([
        otlp_span(trace_id, root_id, "gzip-root", t0, t0 + 10_000_000, attributes={
            "langfuse.trace.name": f"gzip-trace-{run}", "langfuse.observation.output": "done",
        }),
    ])
    # Children in one request, their parent in a later one; each sent gzip-compressed.
    for request in (children, parent):
        response = post_otlp(api, request, compress=True)
        assert response.status_code == 200, describe(response, "gzip OTLP export")
        assert response.headers.get("content-type", "").startswith("application/x-protobuf"), response.headers
        answer = trace_service_pb2.ExportTraceServiceResponse()
        answer.ParseFromString(response.content)
        assert answer.partial_success.rejected_spans == 0, answer

    hex_trace = trace_id.hex()
    trace = get_trace(api, hex_trace, min_observations=3)
    assert trace["name"] == f"gzip-trace-{run}" and trace["output"] == "done"
    assert sorted(trace["tags"]) == ["gzip", "retry"], "tags from every span are unioned"
    observations = by_name(observations_of(api, hex_trace))
    assert observations["step-1"]["type"] == "AGENT" and observations["step-1"]["input"] == {"n": 1}
    assert observations["step-2"]["type"] == "CHAIN"
    assert observations["step-1"]["parentObservationId"] == root_id.hex()
    assert observations["gzip-root"]["parentObservationId"] is None

    # An exporter retrying the same batch must not duplicate anything.
    for request in (children, parent):
        assert post_otlp(api, request, compress=True).status_code == 200
    barrier(api)
    again = observations_of(api, hex_trace)
    assert sorted(o["id"] for o in again) == sorted(x.hex() for x in (root_id, first_id, second_id))
    assert len(api.get_json(f"/traces/{hex_trace}")["observations"]) == 3
