"""Comments (`/api/public/comments`) against the session server: create, read, list with filters
and paging, validation errors naming the field, and project isolation."""

from __future__ import annotations

import uuid

from periscope_e2e import Api, describe

RUN = uuid.uuid4().hex[:8]


def create(api: Api, **body: object) -> str:
    response = api.post("/comments", json=body)
    assert response.status_code == 200, describe(response, "create comment")
    return response.json()["id"]


def test_comments_are_created_read_and_filtered(api: Api, api_b: Api) -> None:
    trace_id = f"trace-comments-{RUN}"
    first = create(api, objectType="TRACE", objectId=trace_id, content="looks wrong", authorUserId=f"alice-{RUN}")
    second = create(api, objectType="TRACE", objectId=trace_id, content="fixed now", projectId=api.project.id)
    session = create(api, objectType="SESSION", objectId=f"session-{RUN}", content="long chat",
                     authorUserId=f"alice-{RUN}")

    comment = api.get_json(f"/comments/{first}")
    assert comment["id"] == first
    assert comment["projectId"] == api.project.id
    assert (comment["objectType"], comment["objectId"]) == ("TRACE", trace_id)
    assert comment["content"] == "looks wrong"
    assert comment["authorUserId"] == f"alice-{RUN}"
    assert comment["createdAt"] and comment["updatedAt"]

    on_trace = api.get_json("/comments", {"objectType": "TRACE", "objectId": trace_id})
    assert [c["id"] for c in on_trace["data"]] == [second, first]
    assert on_trace["meta"]["totalItems"] == 2
    paged = api.get_json("/comments", {"objectType": "TRACE", "objectId": trace_id, "page": 2, "limit": 1})
    assert [c["id"] for c in paged["data"]] == [first]
    assert paged["meta"]["totalPages"] == 2
    by_author = api.get_json("/comments", {"authorUserId": f"alice-{RUN}"})
    assert {c["id"] for c in by_author["data"]} == {first, session}

    # Project B sees none of A's comments and cannot write into A.
    assert api_b.get(f"/comments/{first}").status_code == 404
    assert api_b.get_json("/comments", {"objectId": trace_id})["data"] == []
    response = api_b.post("/comments", json={"objectType": "TRACE", "objectId": trace_id, "content": "x",
                                             "projectId": api.project.id})
    assert response.status_code == 400 and "projectId" in response.text, describe(response)


def test_invalid_comments_are_refused_naming_the_field(api: Api) -> None:
    cases = [
        ({"objectId": "t", "content": "c"}, "objectType"),
        ({"objectType": "SPAN", "objectId": "t", "content": "c"}, "objectType"),
        ({"objectType": "TRACE", "content": "c"}, "objectId"),
        ({"objectType": "TRACE", "objectId": "t"}, "content"),
        ({"objectType": "TRACE", "objectId": "t", "content": "x" * 5001}, "content"),
    ]
    for body, field in cases:
        response = api.post("/comments", json=body)
        assert response.status_code == 400, describe(response, field)
        assert field in response.json()["message"], describe(response, field)
    assert api.get("/comments", {"objectType": "SPAN"}).status_code == 400
    assert api.get("/comments/no-such-comment").status_code == 404
    assert api.get("/comments", auth=None).status_code == 401
