"""Traces for the traces list's value filters (imported by seed.py), in an environment of their
own so that the other tests' counts of production traces stay as they are.

Three traces that each filter tells apart:

| trace          | model       | cost (USD) | level          | score FILTER_SCORE | latency | search word        |
|----------------|-------------|------------|----------------|--------------------|---------|--------------------|
| filters-cheap  | gpt-4o-mini | 0.002      | DEFAULT        | 2                  | fast    |                    |
| filters-pricey | gpt-4o      | 0.02       | WARNING (span) | 4                  | fast    | "Zeppelin" (input) |
| filters-slow   |             | none       | ERROR (span)   |                    | > 1.2 s | "ZEPPELIN" (output)|

Costs are sent by the SDK (`cost_details`), so they do not depend on the price catalogue.
"""

from __future__ import annotations

import time

import requests
from langfuse import Langfuse, propagate_attributes

QUERYABLE_TIMEOUT_S = 30
ENVIRONMENT = "ui-filters"
FILTER_SCORE = "filters-rating"
SLOW_SECONDS = 1.2


def cheap_trace(lf: Langfuse) -> str:
    with propagate_attributes(trace_name="filters-cheap", environment=ENVIRONMENT):
        with lf.start_as_current_observation(as_type="span", name="answer-cheaply", input={"question": "What is 2 + 2?"}) as root:
            with lf.start_as_current_observation(
                as_type="generation", name="small-model", model="gpt-4o-mini", input=[{"role": "user", "content": "2 + 2?"}],
            ) as generation:
                generation.update(output="4", usage_details={"input": 10, "output": 1}, cost_details={"input": 0.0015, "output": 0.0005})
            root.update(output={"answer": "4"})
            root.score_trace(name=FILTER_SCORE, value=2.0, data_type="NUMERIC")
            return root.trace_id


def pricey_trace(lf: Langfuse) -> str:
    question = "When did the first Zeppelin fly?"
    with propagate_attributes(trace_name="filters-pricey", environment=ENVIRONMENT):
        with lf.start_as_current_observation(as_type="span", name="answer-carefully", input={"question": question}) as root:
            with lf.start_as_current_observation(
                as_type="span", name="check-sources", level="WARNING", status_message="one source was stale",
            ):
                pass
            with lf.start_as_current_observation(
                as_type="generation", name="large-model", model="gpt-4o", input=[{"role": "user", "content": question}],
            ) as generation:
                generation.update(output="In July 1900.", usage_details={"input": 20, "output": 5}, cost_details={"input": 0.015, "output": 0.005})
            root.update(output={"answer": "In July 1900."})
            root.score_trace(name=FILTER_SCORE, value=4.0, data_type="NUMERIC")
            return root.trace_id


def slow_trace(lf: Langfuse) -> str:
    with propagate_attributes(trace_name="filters-slow", environment=ENVIRONMENT):
        with lf.start_as_current_observation(as_type="span", name="fetch-report", input={"report": "airships"}) as root:
            with lf.start_as_current_observation(
                as_type="span", name="download", level="ERROR", status_message="upstream timed out",
            ):
                time.sleep(SLOW_SECONDS)
            root.update(output={"error": "the ZEPPELIN report timed out"})
            return root.trace_id


def seed_filter_traces(lf: Langfuse) -> dict[str, str]:
    """Sends the three traces; returns their ids by short name (cheap, pricey, slow)."""
    return {"cheap": cheap_trace(lf), "pricey": pricey_trace(lf), "slow": slow_trace(lf)}


def wait_filter_traces(base_url: str, auth: tuple[str, str], ids: dict[str, str]) -> None:
    """Waits until every trace has its observations, its score and its cost."""
    expected = {"cheap": (2, True, 0.002), "pricey": (3, True, 0.02), "slow": (2, False, 0.0)}
    pending = dict(ids)
    deadline = time.monotonic() + QUERYABLE_TIMEOUT_S
    while pending and time.monotonic() < deadline:
        for short, trace_id in list(pending.items()):
            observations, scored, cost = expected[short]
            response = requests.get(f"{base_url}/api/public/traces/{trace_id}", auth=auth, timeout=10)
            if response.status_code != 200:
                continue
            body = response.json()
            has_score = any(score["name"] == FILTER_SCORE for score in body.get("scores", []))
            if len(body["observations"]) >= observations and has_score == scored and (body.get("totalCost") or 0) >= cost * 0.999:
                del pending[short]
        time.sleep(0.2)
    if pending:
        raise SystemExit(f"filter traces {sorted(pending)} were not complete in {QUERYABLE_TIMEOUT_S}s")
