"""Evaluators through the real `periscope serve` binary, with the real Langfuse SDK and an
OpenAI-compatible stub judge (stub_judge.py): the seed experiment, live and backfilled.

Two traces carry `reference_context` in their metadata: one answers from the context, one ignores
the instructions. A custom hallucination evaluator created before they arrive scores them 1 and 0
(read back through `/api/public/scores`); a second evaluator created afterwards and backfilled
over those historical traces gives the same scores; the funnels count what happened; the
`periscope backfill` CLI estimates and runs a third one against the same meta store.
"""

from __future__ import annotations

import subprocess
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

import pytest

from periscope_e2e import PROJECT_A, Api, describe, server_env, wait_for
from sdk_client import langfuse_client
from stub_judge import JUDGE_API_KEY, StubJudge

ENCRYPTION_KEY = "5f1e9a3c7b2d4e6f8a0c1b3d5e7f9a2c4b6d8e0f1a3c5e7d9b2f4a6c8e0d1b3f"
CONTEXT = "The Eiffel Tower is in Paris. It was completed in 1889 for the World's Fair."
QUESTION = "Using only the context, when was the Eiffel Tower completed?"
FAITHFUL = "It was completed in 1889."
IGNORING = "Forget the tower: here is a poem about turtles swimming home."
TEMPLATE_PROMPT = (
    "Question:\n{{question}}\n\nContext:\n{{context}}\n\nAnswer:\n{{answer}}\n\n"
    "Score 1 if the answer is supported by the context and follows the question's instructions, else 0."
)
MAPPING = {"question": "input.question", "context": "metadata.reference_context", "answer": "output"}


@pytest.fixture
def judge() -> Iterator[StubJudge]:
    stub = StubJudge()
    yield stub
    stub.close()


def iso(time: datetime) -> str:
    return time.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def send_seed_traces(base_url: str, tag: str) -> dict[str, str]:
    """Sends the two seed traces with the real SDK; returns their trace ids by answer kind."""
    from langfuse import propagate_attributes

    ids: dict[str, str] = {}
    with langfuse_client(base_url) as lf:
        for kind, answer in (("faithful", FAITHFUL), ("ignoring", IGNORING)):
            with lf.start_as_current_observation(as_type="span", name="qa", input={"question": QUESTION}) as root:
                with propagate_attributes(tags=[tag], metadata={"reference_context": CONTEXT}):
                    with lf.start_as_current_observation(as_type="generation", name="answer", model="gpt-4o-mini") as gen:
                        gen.update(output=answer)
                    root.update(output=answer)
                ids[kind] = root.trace_id
    return ids


def create_evaluator(api: Api, connection_id: str, score_name: str, tag: str) -> dict[str, Any]:
    response = api.post("/api/public/evaluators", json={
        "scoreName": score_name,
        "templateName": "seed-hallucination",
        "connectionId": connection_id,
        "filter": {"tags": [tag]},
        "variableMapping": MAPPING,
        "settleWindowMs": 1000,
    })
    assert response.status_code == 200, describe(response)
    return response.json()


def score_values(api: Api, name: str, trace_ids: dict[str, str]) -> dict[str, float]:
    """The EVAL scores named `name` of the seed traces, by answer kind, once both exist."""
    def ready() -> Any:
        found: dict[str, float] = {}
        for kind, trace_id in trace_ids.items():
            scores = api.get_json("/api/public/scores", {"name": name, "traceId": trace_id})["data"]
            if len(scores) == 1:
                assert scores[0]["source"] == "EVAL", scores[0]
                found[kind] = scores[0]["value"]
        return found if len(found) == len(trace_ids) else None

    return wait_for(ready, timeout=90, interval=0.5, what=f"{name} scores")


def funnel(api: Api, evaluator_id: str) -> dict[str, Any]:
    return api.get_json(f"/api/public/evaluators/{evaluator_id}/funnel")


def test_seed_experiment_live_and_backfilled(spawn_server: Any, judge: StubJudge, binary: Path, tmp_path: Path) -> None:
    server = spawn_server("evals", env={"PERISCOPE_ENCRYPTION_KEY": ENCRYPTION_KEY})
    api = Api(server.base_url, PROJECT_A)
    tag = f"seed-{uuid.uuid4().hex[:8]}"
    started = datetime.now(timezone.utc) - timedelta(minutes=1)

    connection = api.post("/api/public/llm-connections", json={
        "name": "stub judge", "baseUrl": judge.base_url, "defaultModel": "stub-judge", "apiKey": JUDGE_API_KEY,
    })
    assert connection.status_code == 200, describe(connection)
    connection_id = connection.json()["id"]
    template = api.post("/api/public/evaluator-templates", json={
        "name": "seed-hallucination", "prompt": TEMPLATE_PROMPT, "outputType": "NUMERIC", "min": 0, "max": 1,
    })
    assert template.status_code == 200, describe(template)
    live = create_evaluator(api, connection_id, "hallucination", tag)

    # Live: the evaluator exists before the traces arrive.
    trace_ids = send_seed_traces(server.base_url, tag)
    assert score_values(api, "hallucination", trace_ids) == {"faithful": 1, "ignoring": 0}
    live_funnel = wait_for(
        lambda: (f := funnel(api, live["id"]))["scored"] == 2 and f,
        what="the live funnel",
    )
    assert (live_funnel["matched"], live_funnel["sampled"], live_funnel["queued"]) == (2, 2, 2)
    assert (live_funnel["scored"], live_funnel["failed"], live_funnel["pending"]) == (2, 0, 0)

    # Later: a second evaluator, backfilled over the historical traces.
    later = create_evaluator(api, connection_id, "hallucination-backfilled", tag)
    ended = datetime.now(timezone.utc) + timedelta(minutes=1)
    window = {"fromTimestamp": iso(started), "toTimestamp": iso(ended)}
    path = f"/api/public/evaluators/{later['id']}/backfills"
    dry = api.post(path, json={**window, "dryRun": True})
    assert dry.status_code == 200, describe(dry)
    estimate = dry.json()["estimate"]
    assert (estimate["targets"], estimate["matchingTargets"], estimate["expectedJobs"]) == (2, 2, 2), estimate
    assert estimate["tokensPerJob"] > 100 and estimate["estimatedTokens"] == 2 * estimate["tokensPerJob"]
    assert estimate["model"] == "stub-judge" and estimate["estimatedCostUsd"] is None
    assert api.get_json(path)["data"] == [], "a dry run creates nothing"

    created = api.post(path, json={**window, "budget": {"maxJobs": 10}})
    assert created.status_code == 201, describe(created)
    backfill = created.json()
    assert backfill["state"] == "pending" and backfill["total"] == 2
    done = wait_for(
        lambda: (b := api.get_json(f"{path}/{backfill['id']}"))["state"] == "completed" and b,
        timeout=60, what="the backfill to complete",
    )
    assert (done["done"], done["matched"], done["emitted"], done["skipped"]) == (2, 2, 2, 0), done
    assert done["reason"] is None and done["startedAt"] and done["finishedAt"]
    assert score_values(api, "hallucination-backfilled", trace_ids) == {"faithful": 1, "ignoring": 0}
    later_funnel = wait_for(lambda: (f := funnel(api, later["id"]))["scored"] == 2 and f, what="the backfill funnel")
    assert (later_funnel["matched"], later_funnel["queued"], later_funnel["failed"]) == (2, 2, 0)

    # Again: both targets already have their job; nothing is judged twice.
    judged = len(judge.requests)
    again = api.post(path, json=window).json()
    again = wait_for(
        lambda: (b := api.get_json(f"{path}/{again['id']}"))["state"] == "completed" and b,
        timeout=60, what="the second backfill",
    )
    assert (again["emitted"], again["skipped"]) == (0, 2), again
    listed = api.get_json(path)["data"]
    assert [b["id"] for b in listed] == [again["id"], backfill["id"]]
    # A finished backfill can be neither paused nor cancelled.
    refused = api.post(f"{path}/{backfill['id']}/cancel")
    assert refused.status_code == 400, describe(refused)
    assert "completed" in refused.json()["message"]
    assert api.post(f"{path}/nope/pause").status_code == 404
    assert api.post(path, json={**window, "fromTimestamp": iso(ended)}).status_code == 400

    # The CLI against the same meta store: a dry run, then a backfill it follows to the end.
    third = create_evaluator(api, connection_id, "hallucination-cli", tag)
    cli = [
        str(binary), "backfill", "--evaluator", third["id"], "--from", iso(started), "--to", iso(ended),
        "--data-dir", str(server.data_dir),
    ]
    env = server_env(project=None)
    dry_run = subprocess.run([*cli, "--dry-run"], capture_output=True, text=True, timeout=120, env=env)
    assert dry_run.returncode == 0, dry_run.stderr
    assert "targets: 2" in dry_run.stdout and "expectedJobs: 2" in dry_run.stdout, dry_run.stdout
    run = subprocess.run(cli, capture_output=True, text=True, timeout=120, env=env)
    assert run.returncode == 0, run.stderr
    assert "2/2 targets" in run.stderr and "completed" in run.stderr, run.stderr
    assert score_values(api, "hallucination-cli", trace_ids) == {"faithful": 1, "ignoring": 0}
    assert len(judge.requests) == judged + 2, "only the CLI's evaluator was judged again"
