"""Score configs (`/api/public/score-configs`) and scores that name them (`configId`), against the
session server: creation and validation of all three data types, paging, PATCH (archiving), and
scores accepted, rejected (4xx naming `configId`/`value`/`dataType`) or mapped (a categorical
label reads back with its category's value)."""

from __future__ import annotations

import uuid
from typing import Any

from periscope_e2e import Api, describe, wait_for

RUN = uuid.uuid4().hex[:8]


def create_config(api: Api, body: dict[str, Any]) -> dict[str, Any]:
    response = api.post("/score-configs", json=body)
    assert response.status_code == 200, describe(response, "create score config")
    return response.json()


def test_configs_of_each_type_are_created_read_listed_and_patched(api: Api, api_b: Api) -> None:
    numeric = create_config(api, {"name": f"accuracy-{RUN}", "dataType": "NUMERIC", "minValue": 0, "maxValue": 1,
                                  "description": "share of right answers"})
    assert numeric["dataType"] == "NUMERIC"
    assert (numeric["minValue"], numeric["maxValue"]) == (0, 1)
    assert numeric["isArchived"] is False
    assert numeric["projectId"] == api.project.id
    categorical = create_config(api, {"name": f"tone-{RUN}", "dataType": "CATEGORICAL",
                                      "categories": [{"label": "polite", "value": 1}, {"label": "rude", "value": -1}]})
    assert categorical["categories"] == [{"label": "polite", "value": 1}, {"label": "rude", "value": -1}]
    boolean = create_config(api, {"name": f"correct-{RUN}", "dataType": "BOOLEAN"})
    assert boolean["categories"] == [{"label": "False", "value": 0}, {"label": "True", "value": 1}]

    assert api.get_json(f"/score-configs/{numeric['id']}") == numeric
    ids = {config["id"] for config in api.get_all("/score-configs")}
    assert {numeric["id"], categorical["id"], boolean["id"]} <= ids
    page = api.get_json("/score-configs", {"page": 1, "limit": 1})
    assert len(page["data"]) == 1 and page["meta"]["totalItems"] >= 3

    # Another project sees none of them.
    assert api_b.get(f"/score-configs/{numeric['id']}").status_code == 404
    assert numeric["id"] not in {config["id"] for config in api_b.get_all("/score-configs")}

    response = api.request("PATCH", f"/score-configs/{numeric['id']}", json={"isArchived": True, "description": "old"})
    assert response.status_code == 200, describe(response, "patch")
    assert response.json()["isArchived"] is True
    assert api.get_json(f"/score-configs/{numeric['id']}")["description"] == "old"
    response = api.request("PATCH", f"/score-configs/{numeric['id']}", json={"minValue": 5})
    assert response.status_code == 400 and "minValue" in response.text, describe(response)


def test_invalid_configs_are_refused_naming_the_field(api: Api) -> None:
    cases = [
        ({"name": "", "dataType": "NUMERIC"}, "name"),
        ({"name": "x", "dataType": "TEXT"}, "dataType"),
        ({"name": "x"}, "dataType"),
        ({"name": "x", "dataType": "CATEGORICAL"}, "categories"),
        ({"name": "x", "dataType": "CATEGORICAL", "categories": [{"label": "a", "value": 1}, {"label": "a", "value": 2}]},
         "duplicate label"),
        ({"name": "x", "dataType": "NUMERIC", "minValue": 2, "maxValue": 1}, "minValue"),
    ]
    for body, field in cases:
        response = api.post("/score-configs", json=body)
        assert response.status_code == 400, describe(response, str(body))
        assert field in response.json()["message"], describe(response, str(body))
    assert api.get("/score-configs/no-such-config").status_code == 404


def test_scores_are_checked_against_their_config(api: Api) -> None:
    numeric = create_config(api, {"name": f"range-{RUN}", "dataType": "NUMERIC", "minValue": 0, "maxValue": 10})
    categorical = create_config(api, {"name": f"grade-{RUN}", "dataType": "CATEGORICAL",
                                      "categories": [{"label": "A", "value": 3}, {"label": "B", "value": 2}]})
    boolean = create_config(api, {"name": f"ok-{RUN}", "dataType": "BOOLEAN"})
    archived = create_config(api, {"name": f"gone-{RUN}", "dataType": "NUMERIC"})
    api.request("PATCH", f"/score-configs/{archived['id']}", json={"isArchived": True})
    trace_id = f"trace-configs-{RUN}"

    def score(score_id: str, value: Any, config: dict[str, Any], **extra: Any) -> dict[str, Any]:
        return {"id": f"{score_id}-{RUN}", "traceId": trace_id, "name": config["name"], "value": value,
                "configId": config["id"], **extra}

    # Single objects: 200, or 400 naming the field.
    response = api.post("/scores", json=score("num-ok", 7, numeric))
    assert response.status_code == 200, describe(response)
    for body, field in [
        (score("num-high", 11, numeric), "value"),
        (score("cat-bad", "C", categorical), "value"),
        (score("bool-bad", 2, boolean), "value"),
        (score("archived", 1, archived), "configId"),
        (score("unknown", 1, {"id": "no-such-config", "name": "x"}), "configId"),
        (score("type", 1, numeric, dataType="BOOLEAN"), "dataType"),
    ]:
        response = api.post("/scores", json=body)
        assert response.status_code == 400, describe(response, body["id"])
        assert field in response.text, describe(response, body["id"])

    # An array: bad scores are listed, their neighbours kept.
    response = api.post("/scores", json=[score("cat-ok", "A", categorical), score("num-low", -1, numeric),
                                         score("bool-ok", 1, boolean)])
    assert response.status_code == 207, describe(response)
    body = response.json()
    assert (body["accepted"], body["rejected"]) == (2, 1)
    assert body["errors"][0]["message"].startswith("[1]") and "value -1" in body["errors"][0]["message"]

    # A legacy ingestion batch: per-event 207.
    ts = "2026-11-27T01:40:49.067Z"
    response = api.post("/ingestion", json={"batch": [
        {"id": f"ev-ok-{RUN}", "timestamp": ts, "type": "score-create", "body": score("ing-ok", "B", categorical)},
        {"id": f"ev-bad-{RUN}", "timestamp": ts, "type": "score-create", "body": score("ing-bad", 99, numeric)},
    ]})
    assert response.status_code == 207, describe(response)
    body = response.json()
    assert [s["id"] for s in body["successes"]] == [f"ev-ok-{RUN}"]
    assert [e["id"] for e in body["errors"]] == [f"ev-bad-{RUN}"]
    assert "configId" in body["errors"][0]["error"]

    def stored() -> dict[str, dict[str, Any]]:
        scores = api.get_all("/v2/scores", {"traceId": trace_id})
        by_id = {s["id"]: s for s in scores}
        assert len(by_id) == 4, sorted(by_id)
        return by_id

    by_id = wait_for(stored, what="the four accepted scores")
    assert by_id[f"num-ok-{RUN}"]["value"] == 7
    assert by_id[f"cat-ok-{RUN}"]["stringValue"] == "A"
    assert by_id[f"cat-ok-{RUN}"]["value"] == 3
    assert by_id[f"ing-ok-{RUN}"]["value"] == 2
    assert by_id[f"bool-ok-{RUN}"]["dataType"] == "BOOLEAN"
    assert by_id[f"bool-ok-{RUN}"]["stringValue"] == "True"
    assert api.get_json(f"/v2/scores/cat-ok-{RUN}")["value"] == 3


def test_a_deleted_score_is_gone_until_it_is_sent_again(api: Api, api_b: Api) -> None:
    score_id = f"deleted-{RUN}"
    body = {"id": score_id, "traceId": f"trace-delete-{RUN}", "name": "to-delete", "value": 0.25}
    assert api.post("/scores", json=body).status_code == 200
    wait_for(lambda: api.get(f"/v2/scores/{score_id}").status_code == 200, what="the score")

    assert api_b.request("DELETE", f"/scores/{score_id}").status_code == 404
    response = api.request("DELETE", f"/scores/{score_id}")
    assert response.status_code == 204, describe(response, "delete")
    assert api.get(f"/v2/scores/{score_id}").status_code == 404
    assert api.get(f"/scores/{score_id}").status_code == 404
    assert api.request("DELETE", f"/scores/{score_id}").status_code == 404

    # Sending the score again (a new event, newer than the deletion) creates it again.
    assert api.post("/scores", json={**body, "value": 0.75}).status_code == 200
    again = wait_for(lambda: api.get_json(f"/v2/scores/{score_id}"), what="the score sent again")
    assert again["value"] == 0.75


def test_a_trace_reads_its_categorical_scores_with_the_config_value(api: Api) -> None:
    config = create_config(api, {"name": f"label-{RUN}", "dataType": "CATEGORICAL",
                                 "categories": [{"label": "high", "value": 9}]})
    trace_id = f"trace-mapped-{RUN}"
    ts = "2026-11-27T01:40:49.067Z"
    response = api.post("/ingestion", json={"batch": [
        {"id": f"ev-trace-{RUN}", "timestamp": ts, "type": "trace-create", "body": {"id": trace_id, "name": "t"}},
        {"id": f"ev-score-{RUN}", "timestamp": ts, "type": "score-create",
         "body": {"id": f"mapped-{RUN}", "traceId": trace_id, "name": "label", "value": "high",
                  "configId": config["id"]}},
    ]})
    assert response.status_code == 207 and not response.json()["errors"], describe(response)

    def scored() -> dict[str, Any]:
        trace = api.get_json(f"/traces/{trace_id}")
        assert trace["scores"], "no scores yet"
        return trace["scores"][0]

    score = wait_for(scored, what="the trace's score")
    assert (score["stringValue"], score["value"]) == ("high", 9)
