"""Public sharing, annotation queues and API key administration against real servers.

* A trace the Langfuse SDK marks public (`set_trace_as_public()`) is readable without credentials
  at `/share/traces/{id}`; everything else stays 401 or 404, and `PATCH /traces/{id}` toggles it.
* An annotation queue with a score config: items, completion with ANNOTATION scores, assignments.
* API keys: created and revoked through `/projects/{id}/apiKeys` (project key or admin token)
  and with `periscope key list|revoke`; a revoked key stops authenticating within the cache TTL.
"""

from __future__ import annotations

import uuid
from typing import Any

import requests
from langfuse import propagate_attributes

from sdk_client import langfuse_client
from periscope_e2e import PROJECT_A, Api, PeriscopeServer, Project, describe, get_trace, run_admin, wait_for

RUN = uuid.uuid4().hex[:8]
ADMIN_TOKEN = f"admin-token-{uuid.uuid4().hex}"


def anonymous(base_url: str, method: str, path: str, **kwargs: Any) -> requests.Response:
    return requests.request(method, base_url + "/api/public" + path, timeout=30, **kwargs)


def send_traces(base_url: str) -> dict[str, str]:
    """One public trace, one private trace and one private trace in a session, via the SDK."""
    # A fresh client: the SDK keeps one per public key, which an earlier test may have aimed
    # at another server.
    with langfuse_client(base_url) as lf:
        ids: dict[str, str] = {}
        with lf.start_as_current_observation(as_type="span", name=f"shared-{RUN}", input={"q": "hi"}) as root:
            root.set_trace_as_public()
            with lf.start_as_current_observation(as_type="generation", name="llm", model="gpt-4o-mini") as child:
                ids["observation"] = child.id
            ids["public"] = root.trace_id
        with lf.start_as_current_observation(as_type="span", name=f"private-{RUN}") as root:
            ids["private"] = root.trace_id
        with lf.start_as_current_observation(as_type="span", name=f"in-session-{RUN}") as root:
            with propagate_attributes(session_id=f"shared-session-{RUN}"):
                ids["session_trace"] = root.trace_id
    return ids


def test_public_traces_and_sessions_are_readable_without_credentials(periscope: PeriscopeServer, api: Api, api_b: Api) -> None:
    base = periscope.base_url
    ids = send_traces(base)
    session_id = f"shared-session-{RUN}"
    get_trace(api, ids["public"], min_observations=2)
    get_trace(api, ids["private"])
    get_trace(api, ids["session_trace"])

    shared = anonymous(base, "GET", f"/share/traces/{ids['public']}")
    assert shared.status_code == 200, describe(shared, "public trace")
    body = shared.json()
    assert body["id"] == ids["public"] and body["public"] is True
    assert body["name"] == f"shared-{RUN}"
    assert ids["observation"] in {o["id"] for o in body["observations"]}

    # Private by default, and nothing but share reads works without credentials.
    assert anonymous(base, "GET", f"/share/traces/{ids['private']}").status_code == 404
    assert anonymous(base, "GET", f"/share/sessions/{session_id}").status_code == 404
    assert anonymous(base, "GET", f"/share/traces/nope-{RUN}").status_code == 404
    for path in [f"/traces/{ids['public']}", f"/observations/{ids['observation']}", "/traces",
                 f"/sessions/{session_id}", "/annotation-queues", f"/projects/{PROJECT_A.id}/apiKeys"]:
        response = anonymous(base, "GET", path)
        assert response.status_code == 401, describe(response, path)
    response = anonymous(base, "PATCH", f"/traces/{ids['private']}", json={"public": True})
    assert response.status_code == 401, describe(response)

    # The toggle wins over the record flag, both ways.
    response = api.request("PATCH", f"/traces/{ids['public']}", json={"public": False})
    assert response.status_code == 200 and response.json() == {"id": ids["public"], "public": False}, describe(response)
    assert anonymous(base, "GET", f"/share/traces/{ids['public']}").status_code == 404
    response = api.request("PATCH", f"/traces/{ids['private']}", json={"public": True})
    assert response.status_code == 200, describe(response)
    assert anonymous(base, "GET", f"/share/traces/{ids['private']}").json()["id"] == ids["private"]
    # The authenticated trace shows the effective state, not the flag it arrived with.
    assert api.get_json(f"/traces/{ids['private']}")["public"] is True
    assert api.get_json(f"/traces/{ids['public']}")["public"] is False
    response = api.request("PATCH", f"/traces/{ids['private']}", json={"public": "yes"})
    assert response.status_code == 400 and "public" in response.text, describe(response)

    # Another project sharing the same id exposes nothing of project A.
    response = api_b.request("PATCH", f"/traces/{ids['session_trace']}", json={"public": True})
    assert response.status_code == 200, describe(response)
    assert anonymous(base, "GET", f"/share/traces/{ids['session_trace']}").status_code == 404

    # A shared session shows its traces.
    response = api.request("PATCH", f"/sessions/{session_id}", json={"public": True})
    assert response.status_code == 200, describe(response)
    session = anonymous(base, "GET", f"/share/sessions/{session_id}")
    assert session.status_code == 200, describe(session)
    assert [t["id"] for t in session.json()["traces"]] == [ids["session_trace"]]


def test_annotation_queue_items_complete_with_annotation_scores(api: Api, api_b: Api) -> None:
    config = api.post("/score-configs", json={"name": f"accuracy-{RUN}", "dataType": "NUMERIC", "minValue": 0, "maxValue": 1})
    assert config.status_code == 200, describe(config)
    config_id = config.json()["id"]
    body = {"name": f"review-{RUN}", "description": "weekly review", "scoreConfigIds": [config_id]}
    created = api.post("/annotation-queues", json=body)
    assert created.status_code == 200, describe(created)
    queue = created.json()
    assert (queue["name"], queue["description"], queue["scoreConfigIds"]) == (body["name"], "weekly review", [config_id])
    queue_id = queue["id"]
    assert api.post("/annotation-queues", json=body).status_code == 400
    bad = api.post("/annotation-queues", json={"name": f"bad-{RUN}", "scoreConfigIds": ["missing"]})
    assert bad.status_code == 400 and "scoreConfigIds" in bad.text, describe(bad)
    assert api.get_json(f"/annotation-queues/{queue_id}") == queue
    assert queue_id in {q["id"] for q in api.get_all("/annotation-queues")}
    assert api_b.get(f"/annotation-queues/{queue_id}").status_code == 404

    trace_id = f"annotated-{RUN}"
    item = api.post(f"/annotation-queues/{queue_id}/items", json={"objectId": trace_id, "objectType": "TRACE"})
    assert item.status_code == 200, describe(item)
    item = item.json()
    assert (item["queueId"], item["objectId"], item["objectType"], item["status"], item["completedAt"]) == (
        queue_id, trace_id, "TRACE", "PENDING", None)
    # Adding the same object again returns the same item.
    again = api.post(f"/annotation-queues/{queue_id}/items", json={"objectId": trace_id, "objectType": "TRACE"})
    assert again.json()["id"] == item["id"]
    session_item = api.post(f"/annotation-queues/{queue_id}/items",
                            json={"objectId": f"session-{RUN}", "objectType": "SESSION"}).json()
    bad = api.post(f"/annotation-queues/{queue_id}/items", json={"objectId": "x", "objectType": "PROMPT"})
    assert bad.status_code == 400 and "objectType" in bad.text, describe(bad)

    item_path = f"/annotation-queues/{queue_id}/items/{item['id']}"
    out_of_range = api.request("PATCH", item_path, json={"status": "COMPLETED", "scores": [{"name": f"accuracy-{RUN}", "value": 3}]})
    assert out_of_range.status_code == 400 and "scores[0]" in out_of_range.text, describe(out_of_range)
    assert api.get_json(item_path)["status"] == "PENDING"
    done = api.request("PATCH", item_path, json={
        "status": "COMPLETED", "scores": [{"name": f"accuracy-{RUN}", "value": 0.9, "comment": "close"}]})
    assert done.status_code == 200, describe(done)
    assert done.json()["status"] == "COMPLETED" and done.json()["completedAt"]

    def annotation_score() -> Any:
        scores = api.get_json("/v2/scores", {"traceId": trace_id})["data"]
        return scores[0] if scores else None

    score = wait_for(annotation_score, what="the annotation score")
    assert (score["name"], score["value"], score["source"], score["queueId"], score["configId"], score["comment"]) == (
        f"accuracy-{RUN}", 0.9, "ANNOTATION", queue_id, config_id, "close")

    pending = api.get_json(f"/annotation-queues/{queue_id}/items", {"status": "PENDING"})
    assert [i["id"] for i in pending["data"]] == [session_item["id"]]
    completed = api.get_json(f"/annotation-queues/{queue_id}/items", {"status": "COMPLETED"})
    assert [i["id"] for i in completed["data"]] == [item["id"]]
    assert api_b.get(item_path).status_code == 404

    assignment = api.post(f"/annotation-queues/{queue_id}/assignments", json={"userId": f"alice-{RUN}"})
    assert assignment.json() == {"userId": f"alice-{RUN}", "queueId": queue_id, "projectId": PROJECT_A.id}
    assert [a["userId"] for a in api.get_json(f"/annotation-queues/{queue_id}/assignments")["data"]] == [f"alice-{RUN}"]
    removed = api.request("DELETE", f"/annotation-queues/{queue_id}/assignments", json={"userId": f"alice-{RUN}"})
    assert removed.json() == {"success": True}
    assert api.get_json(f"/annotation-queues/{queue_id}/assignments")["data"] == []

    deleted = api.request("DELETE", item_path)
    assert deleted.status_code == 200 and deleted.json()["success"] is True, describe(deleted)
    assert api.get(item_path).status_code == 404


def authenticates(base_url: str, public_key: str, secret_key: str) -> bool:
    response = requests.get(base_url + "/api/public/projects", auth=(public_key, secret_key), timeout=30)
    assert response.status_code in (200, 401), describe(response)
    return response.status_code == 200


def test_api_keys_are_managed_and_revoked(spawn_server: Any, binary: Any) -> None:
    server = spawn_server("keys", env={"PERISCOPE_ADMIN_TOKEN": ADMIN_TOKEN, "PERISCOPE__AUTH__CACHE_TTL": "1s"})
    base = server.base_url
    api = Api(base, PROJECT_A)
    keys_path = f"/projects/{PROJECT_A.id}/apiKeys"
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}

    created = api.post(keys_path, json={"note": "ci"})
    assert created.status_code == 200, describe(created)
    new = created.json()
    assert new["publicKey"].startswith("pk-lf-") and new["secretKey"].startswith("sk-lf-") and new["note"] == "ci"
    assert authenticates(base, new["publicKey"], new["secretKey"])
    listed = api.get_json(keys_path)["apiKeys"]
    summary = next(k for k in listed if k["id"] == new["id"])
    assert summary["publicKey"] == new["publicKey"] and summary["displaySecretKey"] == new["displaySecretKey"]
    assert "secretKey" not in summary and new["secretKey"] not in str(listed)
    assert PROJECT_A.public_key in {k["publicKey"] for k in listed}

    # A project key manages only its own project; the admin token manages any; others get 401.
    assert api.get("/projects/other-project/apiKeys").status_code == 403
    assert api.get(keys_path, auth=None, headers=admin).status_code == 200
    assert api.get("/projects/missing/apiKeys", auth=None, headers=admin).status_code == 404
    assert api.get(keys_path, auth=None, headers={"Authorization": "Bearer wrong-token-wrong-token"}).status_code == 401
    assert api.get(keys_path, auth="bearer").status_code == 401
    assert api.get(keys_path, auth=None).status_code == 401

    revoked = api.request("DELETE", f"{keys_path}/{new['id']}", auth=None, headers=admin)
    assert revoked.status_code == 200 and revoked.json() == {"success": True}, describe(revoked)
    wait_for(lambda: not authenticates(base, new["publicKey"], new["secretKey"]), timeout=5,
             what="the revoked key to stop authenticating")
    assert api.request("DELETE", f"{keys_path}/{new['id']}").status_code == 404

    # The CLI lists and revokes keys of the same data directory while the server runs.
    second = api.post(keys_path, json={}).json()
    assert authenticates(base, second["publicKey"], second["secretKey"])
    listing = run_admin(binary, "key", "list", "--project", PROJECT_A.id, data_dir=server.data_dir)
    assert second["publicKey"] in listing and second["secretKey"] not in listing
    run_admin(binary, "key", "revoke", second["publicKey"], data_dir=server.data_dir)
    wait_for(lambda: not authenticates(base, second["publicKey"], second["secretKey"]), timeout=5,
             what="the key revoked by the CLI to stop authenticating")
    assert authenticates(base, PROJECT_A.public_key, PROJECT_A.secret_key)
    listing = run_admin(binary, "key", "list", "--project", PROJECT_A.id, data_dir=server.data_dir)
    assert second["publicKey"] not in listing


def test_the_admin_token_creates_projects_that_get_their_own_keys(spawn_server: Any) -> None:
    server = spawn_server("projects", env={"PERISCOPE_ADMIN_TOKEN": ADMIN_TOKEN})
    api = Api(server.base_url, PROJECT_A)
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    project_id = f"team-{uuid.uuid4().hex[:8]}"

    # A project's own keys cannot create projects; bad bodies name the field.
    assert api.post("/projects", json={"name": "Team"}).status_code == 403
    bad = api.post("/projects", auth=None, headers=admin, json={"name": "Team", "id": "Not Valid"})
    assert bad.status_code == 400 and "id" in bad.text, describe(bad)

    created = api.post("/projects", auth=None, headers=admin, json={"name": "Team", "id": project_id})
    assert created.status_code == 201 and created.json()["id"] == project_id, describe(created)
    key = api.post(f"/projects/{project_id}/apiKeys", auth=None, headers=admin, json={}).json()
    team = Api(server.base_url, Project(project_id, "Team", key["publicKey"], key["secretKey"]))
    assert team.get_json("/projects")["data"][0]["id"] == project_id
    # The new project's key sees nothing of project A.
    assert team.get(f"/projects/{PROJECT_A.id}/apiKeys").status_code == 403
