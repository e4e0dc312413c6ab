"""The Langfuse SDK scenario that test_langfuse_sdk.py and test_langfuse_reads.py read back.

Sent once per session through the real SDK (its OTLP exporter and score queue):
* WIRE-PROTOCOL §4: `handle-request` with `propagate_attributes(...)` entered inside it, children
  `retrieve-docs` (retriever, child event `cache-miss` at WARNING), `llm-call` (generation) and
  `lookup-tool` (tool), then `failing-step` (ERROR, own version) after the context exits;
* one child of each of the ten observation types under `all-types-root`;
* scores of all three data types on the trace, on observations and on the session (§5);
* two `langfuse.openai` chat completions against the stub, one as its own root and one with
  `trace_id=` (as_root), both inside `propagate_attributes(session_id, user_id)` (§6).
"""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timezone
from types import SimpleNamespace
from typing import Any, Iterator

from langfuse import Langfuse, propagate_attributes
from langfuse.openai import openai as wrapped_openai

from periscope_e2e import PROJECT_A
from stub_openai import DETAILS_MARKER, StubOpenAI

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


def run_scenario(base_url: str, stub_openai: StubOpenAI) -> Iterator[SimpleNamespace]:
    """Sends the whole scenario, flushes, yields what was sent, and shuts the client down."""
    lf = Langfuse(
        public_key=PROJECT_A.public_key,
        secret_key=PROJECT_A.secret_key,
        host=base_url,
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
