"""Re-projection by replay through the real binary: a price fix, then `periscope replay`, and the
observation's cost changes exactly once (issue 5 item 7).

A generation with usage is sent with the real Langfuse SDK and priced by the built-in catalogue;
the raw events are archived (the archiver of `periscope serve`). A project model then gives the
same model another price; the server stops, `periscope replay` re-emits the archived events into
the ingest topic, and the restarted server re-derives the observation: its cost is the new price,
and the trace still has exactly one observation (the stores merge the replayed records).
"""

from __future__ import annotations

import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from periscope_e2e import PROJECT_A, Api, describe, get_trace, server_env, wait_for
from sdk_client import langfuse_client

# Built-in list prices of gpt-4o-mini (USD per token), and the project's fixed ones.
BUILTIN = {"input": 0.15e-6, "output": 0.6e-6}
FIXED = {"input": 2e-6, "output": 4e-6}
USAGE = {"input": 1000, "output": 500}


def cost(prices: dict[str, float]) -> float:
    return USAGE["input"] * prices["input"] + USAGE["output"] * prices["output"]


def send_generation(base_url: str) -> tuple[str, str]:
    with langfuse_client(base_url) as lf:
        with lf.start_as_current_observation(as_type="span", name="recost") as root:
            with lf.start_as_current_observation(
                as_type="generation", name="priced", model="gpt-4o-mini", usage_details=USAGE,
            ) as generation:
                generation.update(output="ok")
            ids = (root.trace_id, generation.id)
    return ids


def observation(api: Api, observation_id: str) -> dict[str, Any]:
    return api.get_json(f"/api/public/observations/{observation_id}")


def test_replay_recosts_an_observation_exactly_once(spawn_server: Any, binary: Path) -> None:
    started = datetime.now(timezone.utc) - timedelta(minutes=1)
    server = spawn_server("recost", env={"PERISCOPE__ARCHIVE__MAX_WAIT": "1s"})
    api = Api(server.base_url, PROJECT_A)
    trace_id, generation_id = send_generation(server.base_url)
    get_trace(api, trace_id, min_observations=2)
    priced = wait_for(
        lambda: (o := observation(api, generation_id)).get("calculatedTotalCost") and o, what="the first cost",
    )
    assert priced["calculatedTotalCost"] == pytest.approx(cost(BUILTIN), rel=1e-9)

    # The price fix: a project model for the same name (a project's own model wins).
    model = api.post("/api/public/models", json={
        "modelName": "gpt-4o-mini-fixed", "matchPattern": "(?i)^gpt-4o-mini$", "unit": "TOKENS",
        "inputPrice": FIXED["input"], "outputPrice": FIXED["output"],
    })
    assert model.status_code == 200, describe(model)
    # Live records are not re-priced: only a replay re-derives them.
    assert observation(api, generation_id)["calculatedTotalCost"] == pytest.approx(cost(BUILTIN), rel=1e-9)

    def archived() -> bool:
        return any("archive" in path.parts for path in server.data_dir.rglob("*.pb.gz"))

    wait_for(archived, timeout=30, what="the raw events in the archive")
    assert server.stop() == 0

    ended = datetime.now(timezone.utc) + timedelta(minutes=1)
    replay = subprocess.run(
        [str(binary), "replay", "--project", PROJECT_A.id, "--from", started.isoformat(), "--to", ended.isoformat(),
         "--data-dir", str(server.data_dir)],
        capture_output=True, text=True, timeout=120, env=server_env(project=None),
    )
    assert replay.returncode == 0, replay.stderr
    assert "replayed" in replay.stderr and "replayed 0 events" not in replay.stderr, replay.stderr

    server.start()
    api = Api(server.base_url, PROJECT_A)  # new ports
    recosted = wait_for(
        lambda: (o := observation(api, generation_id))["calculatedTotalCost"] == pytest.approx(cost(FIXED), rel=1e-9)
        and o,
        timeout=60, what="the new cost",
    )
    assert recosted["usageDetails"]["input"] == USAGE["input"]
    # Exactly once: one generation, one trace total at the new price, no duplicated rows.
    listed = api.get_all("/api/public/observations", {"traceId": trace_id})
    assert sorted(o["name"] for o in listed) == ["priced", "recost"], listed
    trace = api.get_json(f"/api/public/traces/{trace_id}")
    assert len(trace["observations"]) == 2
    assert trace["totalCost"] == pytest.approx(cost(FIXED), rel=1e-9)
