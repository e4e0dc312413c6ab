"""Builders of raw OTLP trace requests (protobuf) for the end-to-end tests."""

from __future__ import annotations

import gzip
import os
from typing import Any, Optional

import requests
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.resource.v1 import resource_pb2
from opentelemetry.proto.trace.v1 import trace_pb2


def any_value(value: Any) -> common_pb2.AnyValue:
    """A Python value as an OTLP AnyValue (bool before int: bool is an int in Python)."""
    if isinstance(value, bool):
        return common_pb2.AnyValue(bool_value=value)
    if isinstance(value, int):
        return common_pb2.AnyValue(int_value=value)
    if isinstance(value, float):
        return common_pb2.AnyValue(double_value=value)
    if isinstance(value, str):
        return common_pb2.AnyValue(string_value=value)
    if isinstance(value, bytes):
        return common_pb2.AnyValue(bytes_value=value)
    if isinstance(value, (list, tuple)):
        return common_pb2.AnyValue(array_value=common_pb2.ArrayValue(values=[any_value(v) for v in value]))
    if isinstance(value, dict):
        return common_pb2.AnyValue(kvlist_value=common_pb2.KeyValueList(values=key_values(value)))
    raise TypeError(f"no OTLP encoding for {type(value).__name__}")


def key_values(attributes: dict[str, Any]) -> list[common_pb2.KeyValue]:
    return [common_pb2.KeyValue(key=k, value=any_value(v)) for k, v in attributes.items()]


def otlp_span(
    trace_id: bytes,
    span_id: bytes,
    name: str,
    start_ns: int,
    end_ns: int,
    parent_span_id: bytes = b"",
    attributes: Optional[dict[str, Any]] = None,
    kind: int = trace_pb2.Span.SPAN_KIND_INTERNAL,
    error_message: Optional[str] = None,
) -> trace_pb2.Span:
    span = trace_pb2.Span(
        trace_id=trace_id,
        span_id=span_id,
        parent_span_id=parent_span_id,
        name=name,
        kind=kind,
        start_time_unix_nano=start_ns,
        end_time_unix_nano=end_ns,
        attributes=key_values(attributes or {}),
    )
    if error_message is not None:
        span.status.code = trace_pb2.Status.STATUS_CODE_ERROR
        span.status.message = error_message
    return span


def otlp_request(
    spans: list[trace_pb2.Span],
    resource: Optional[dict[str, Any]] = None,
    scope_name: str = "periscope.e2e",
) -> trace_service_pb2.ExportTraceServiceRequest:
    return trace_service_pb2.ExportTraceServiceRequest(
        resource_spans=[
            trace_pb2.ResourceSpans(
                resource=resource_pb2.Resource(attributes=key_values(resource or {"service.name": "e2e-tests"})),
                scope_spans=[
                    trace_pb2.ScopeSpans(scope=common_pb2.InstrumentationScope(name=scope_name), spans=spans)
                ],
            )
        ]
    )


def post_otlp(api: Any, request: trace_service_pb2.ExportTraceServiceRequest, compress: bool = False, **kwargs: Any) -> requests.Response:
    """POSTs a protobuf OTLP request to `/api/public/otel/v1/traces`."""
    body = request.SerializeToString()
    headers = {"Content-Type": "application/x-protobuf"}
    if compress:
        body = gzip.compress(body)
        headers["Content-Encoding"] = "gzip"
    return api.post("/otel/v1/traces", data=body, headers=headers, **kwargs)


def random_trace_id() -> bytes:
    return os.urandom(16)


def random_span_id() -> bytes:
    return os.urandom(8)
