"""Seeds a fresh Periscope with data for the UI tests, through the real Langfuse SDK.

Usage: seed.py BASE_URL PUBLIC_KEY SECRET_KEY OUT_JSON JUDGE_URL

Sends a three-turn chat session (nested spans, a retriever, a generation with chat messages,
usage and cost, a tool), a second user's trace in another session with other tags, a trace
with a large output and an ERROR step, scores, three traces for the traces list's value
filters (seed_filters.py), and two prompts (text with two versions, chat with a
placeholder), and through seed_extra.py a dataset with two experiment runs, an
LLM connection to the stub judge at JUDGE_URL, score configs and an annotation queue. Waits until everything is queryable, then writes the ids the
browser tests need to OUT_JSON.
"""

from __future__ import annotations

import json
import sys
import time

import requests
from langfuse import Langfuse, propagate_attributes

import seed_extra
import seed_filters

QUERYABLE_TIMEOUT_S = 30
SESSION = "ui-session-alice"
OTHER_SESSION = "ui-session-bob"
QUESTIONS = [
    ("What is Periscope?", "An open-source LLM observability platform."),
    ("Does it speak OTLP?", "Yes: OTLP over gRPC and HTTP, plus the Langfuse API."),
    ("How do I share a trace?", "Toggle 'Share publicly' on the trace page and send the link."),
]


def chat_turn(lf: Langfuse, turn: int, question: str, answer: str) -> str:
    messages = [
        {"role": "system", "content": "You are a concise assistant for Periscope users."},
        {"role": "user", "content": question},
    ]
    with lf.start_as_current_observation(as_type="span", name="handle-chat", input=messages) as root:
        with propagate_attributes(
            trace_name="chat-turn", session_id=SESSION, user_id="alice",
            tags=["ui-test", "chat"], metadata={"turn": str(turn)},
        ):
            with lf.start_as_current_observation(as_type="retriever", name="search-docs", input={"query": question}) as retriever:
                time.sleep(0.02)
                retriever.update(output={"documents": ["docs/ui.md", "README.md"]})
            with lf.start_as_current_observation(
                as_type="generation", name="llm-answer", model="gpt-4o-mini",
                model_parameters={"temperature": 0.2, "max_tokens": 256}, input=messages,
            ) as generation:
                time.sleep(0.04)
                generation.update(
                    output={"role": "assistant", "content": answer},
                    usage_details={"input": 120 + turn, "output": 30 + turn},
                )
                generation.score(name="helpfulness", value=0.9, data_type="NUMERIC", comment="seeded")
            with lf.start_as_current_observation(as_type="tool", name="format-answer", input={"text": answer}) as tool:
                tool.update(output={"markdown": answer})
            root.update(output={"role": "assistant", "content": answer})
        return root.trace_id


def other_trace(lf: Langfuse) -> str:
    with lf.start_as_current_observation(as_type="span", name="batch-summarise", input={"documents": 3}) as root:
        with propagate_attributes(trace_name="nightly-summary", session_id=OTHER_SESSION, user_id="bob", tags=["batch"]):
            with lf.start_as_current_observation(
                as_type="generation", name="summarise", model="gpt-4o", input=[{"role": "user", "content": "Summarise the logs"}],
            ) as generation:
                time.sleep(0.02)
                generation.update(output="All systems nominal.", usage_details={"input": 900, "output": 60})
            big = {"report": [{"line": i, "text": "log line " + "x" * 40} for i in range(200)]}
            with lf.start_as_current_observation(as_type="span", name="store-report", input={"size": len(big["report"])}) as store:
                store.update(output=big)
            with lf.start_as_current_observation(
                as_type="span", name="notify", level="ERROR", status_message="webhook returned 503",
            ):
                time.sleep(0.01)
            root.update(output="summary stored")
        return root.trace_id


def wait_queryable(base_url: str, auth: tuple[str, str], trace_id: str, observations: int) -> None:
    deadline = time.monotonic() + QUERYABLE_TIMEOUT_S
    while time.monotonic() < deadline:
        response = requests.get(f"{base_url}/api/public/traces/{trace_id}", auth=auth, timeout=10)
        if response.status_code == 200:
            body = response.json()
            if len(body["observations"]) >= observations and body.get("name"):
                return
        time.sleep(0.2)
    raise SystemExit(f"trace {trace_id} was not queryable with {observations} observations in {QUERYABLE_TIMEOUT_S}s")


def main() -> None:
    base_url, public_key, secret_key, out, judge_url = sys.argv[1:6]
    lf = Langfuse(public_key=public_key, secret_key=secret_key, host=base_url, environment="production", release="v1.4.0")
    chat_ids = [chat_turn(lf, i + 1, q, a) for i, (q, a) in enumerate(QUESTIONS)]
    other_id = other_trace(lf)
    filter_ids = seed_filters.seed_filter_traces(lf)
    lf.create_score(name="user_feedback", value=1, trace_id=chat_ids[0], data_type="BOOLEAN", comment="thumbs up")
    lf.create_prompt(
        name="ui-qa", prompt="Answer the question about {{product}}: {{question}}",
        config={"model": "gpt-4o-mini", "temperature": 0.1}, labels=["production"], tags=["ui-test"], commit_message="first draft",
    )
    lf.create_prompt(
        name="ui-qa", prompt="Answer briefly and cite the docs. Product: {{product}}. Question: {{question}}",
        config={"model": "gpt-4o-mini", "temperature": 0.3}, labels=["staging"], commit_message="shorter, with citations",
    )
    lf.create_prompt(
        name="ui-chat", type="chat", labels=["production"], commit_message="chat v1",
        prompt=[
            {"role": "system", "content": "You are {{persona}}."},
            {"type": "placeholder", "name": "history"},
            {"role": "user", "content": "{{question}}"},
        ],
    )
    seed_extra.seed_dataset(lf)
    lf.flush()
    auth = (public_key, secret_key)
    for trace_id in chat_ids:
        wait_queryable(base_url, auth, trace_id, 4)
    wait_queryable(base_url, auth, other_id, 4)
    seed_filters.wait_filter_traces(base_url, auth, filter_ids)
    seed_extra.wait_dataset(base_url, auth)
    connection_id = seed_extra.seed_judge_connection(base_url, auth, judge_url)
    queue_id = seed_extra.seed_queue(base_url, auth, chat_ids)
    lf.shutdown()
    with open(out, "w", encoding="utf-8") as handle:
        json.dump({
            "chatTraceIds": chat_ids, "otherTraceId": other_id, "session": SESSION,
            "otherSession": OTHER_SESSION, "prompt": "ui-qa", "chatPrompt": "ui-chat",
            "dataset": seed_extra.DATASET, "runs": list(seed_extra.RUNS), "connectionId": connection_id,
            "queueId": queue_id, "queue": seed_extra.QUEUE,
            "filterTraceIds": filter_ids, "filterEnvironment": seed_filters.ENVIRONMENT,
            "filterScore": seed_filters.FILTER_SCORE,
        }, handle, indent=2)


if __name__ == "__main__":
    main()
