"""More seed data for the UI tests (imported by seed.py): a dataset with two experiment runs
(through the SDK's `run_experiment`), an LLM connection to the stub judge (judge.py), score
configs and an annotation queue holding the chat traces.
"""

from __future__ import annotations

import time
import urllib.parse
from typing import Any

import requests
from langfuse import Evaluation, Langfuse

QUERYABLE_TIMEOUT_S = 30
DATASET = "ui-capitals"
CAPITALS = {"Italy": "Rome", "France": "Paris", "Japan": "Tokyo", "Peru": "Lima"}
RUNS = {
    # run name → (wrong answers, seconds the task takes): the runs differ in score and latency.
    "baseline": ({"Japan": "Kyoto", "Peru": "Cusco"}, 0.06),
    "improved": ({}, 0.02),
}
QUEUE = "ui-review"


def quoted(name: str) -> str:
    return urllib.parse.quote(name, safe="")


def seed_dataset(lf: Langfuse) -> None:
    lf.create_dataset(name=DATASET, description="Capital cities of a few countries", metadata={"owner": "ui-tests"})
    for country, capital in CAPITALS.items():
        lf.create_dataset_item(
            dataset_name=DATASET, id=f"{DATASET}-{country.lower()}", input={"country": country},
            expected_output={"capital": capital}, metadata={"continent": "Asia" if country == "Japan" else "other"},
        )
    dataset = lf.get_dataset(DATASET)
    for run_name, (wrong, seconds) in RUNS.items():
        def task(*, item: Any, wrong: dict[str, str] = wrong, seconds: float = seconds, tokens: int = 9 if wrong else 5, **_: Any) -> dict[str, str]:
            country = item.input["country"]
            with lf.start_as_current_observation(
                as_type="generation", name="answer", model="gpt-4o-mini", input=[{"role": "user", "content": f"Capital of {country}?"}],
            ) as generation:
                time.sleep(seconds)
                answer = wrong.get(country, CAPITALS[country])
                generation.update(output=answer, usage_details={"input": 40, "output": tokens})
            return {"capital": answer}

        def exact_match(*, output: Any, expected_output: Any, **_: Any) -> Evaluation:
            return Evaluation(name="exact_match", value=1.0 if output == expected_output else 0.0)

        def accuracy(*, item_results: Any, **_: Any) -> Evaluation:
            values = [e.value for r in item_results for e in r.evaluations if e.name == "exact_match"]
            return Evaluation(name="accuracy", value=sum(values) / len(values))

        dataset.run_experiment(
            name="capitals", run_name=run_name, description=f"{run_name} run", task=task,
            evaluators=[exact_match], run_evaluators=[accuracy], metadata={"model": "gpt-4o-mini"},
        )


def wait_dataset(base_url: str, auth: tuple[str, str]) -> None:
    deadline = time.monotonic() + QUERYABLE_TIMEOUT_S
    pending = set(RUNS)
    while pending and time.monotonic() < deadline:
        for run_name in list(pending):
            response = requests.get(f"{base_url}/api/public/datasets/{DATASET}/runs/{quoted(run_name)}", auth=auth, timeout=10)
            if response.status_code != 200 or len(response.json()["datasetRunItems"]) < len(CAPITALS):
                continue
            traces = [entry["traceId"] for entry in response.json()["datasetRunItems"]]
            scored = all(
                requests.get(f"{base_url}/api/public/scores", params={"traceId": t, "name": "exact_match"}, auth=auth, timeout=10)
                .json()["meta"]["totalItems"] > 0 for t in traces
            )
            if scored:
                pending.discard(run_name)
        time.sleep(0.3)
    if pending:
        raise SystemExit(f"dataset runs {sorted(pending)} were not complete and scored in {QUERYABLE_TIMEOUT_S}s")


def post(base_url: str, auth: tuple[str, str], path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = requests.post(f"{base_url}/api/public{path}", json=body, auth=auth, timeout=10)
    if response.status_code != 200:
        raise SystemExit(f"POST {path} answered {response.status_code}: {response.text}")
    return response.json()


def seed_judge_connection(base_url: str, auth: tuple[str, str], judge_url: str) -> str:
    connection = post(base_url, auth, "/llm-connections", {
        "name": "stub-judge", "baseURL": judge_url, "defaultModel": "stub-model", "apiKey": "sk-stub-judge-1234",
    })
    return connection["id"]


def seed_queue(base_url: str, auth: tuple[str, str], trace_ids: list[str]) -> str:
    quality = post(base_url, auth, "/score-configs", {
        "name": "quality", "dataType": "NUMERIC", "minValue": 0, "maxValue": 5, "description": "0 (useless) to 5 (perfect)",
    })
    tone = post(base_url, auth, "/score-configs", {
        "name": "tone", "dataType": "CATEGORICAL", "categories": [{"label": "friendly", "value": 1}, {"label": "curt", "value": 0}],
    })
    queue = post(base_url, auth, "/annotation-queues", {
        "name": QUEUE, "description": "Review the chat answers", "scoreConfigIds": [quality["id"], tone["id"]],
    })
    for trace_id in trace_ids:
        post(base_url, auth, f"/annotation-queues/{queue['id']}/items", {"objectId": trace_id, "objectType": "TRACE"})
    return queue["id"]
