"""Prompt management with the real Langfuse SDK (5.0.4) against Periscope (WIRE-PROTOCOL §7):
create text and chat prompts, read them by label, `latest` and version, move labels, compile
them, compose prompts, link a generation to a prompt, and get a clear 4xx for bad input."""

from __future__ import annotations

import uuid
from typing import Any, Iterator, Optional

import pytest
from langfuse import Langfuse

from periscope_e2e import PROJECT_A, Api, PeriscopeServer, describe, observations_of, wait_for

RUN = uuid.uuid4().hex[:8]
NOT_FOUND = {"message": "Prompt not found", "error": "LangfuseNotFoundError"}
PROMPT_FIELDS = {
    "id", "name", "version", "type", "prompt", "config", "labels", "tags", "commitMessage",
    "createdAt", "updatedAt", "createdBy", "projectId", "isActive", "resolutionGraph",
}


def unique(name: str) -> str:
    return f"{name}-{RUN}"


def encoded(name: str) -> str:
    return name.replace("/", "%2F")


@pytest.fixture(scope="module")
def lf(periscope: PeriscopeServer) -> Iterator[Langfuse]:
    client = Langfuse(public_key=PROJECT_A.public_key, secret_key=PROJECT_A.secret_key, host=periscope.base_url)
    yield client
    client.shutdown()


def fetch(lf: Langfuse, name: str, **kwargs: Any) -> Any:
    """`get_prompt` without the SDK's cache and retries, so each call reads the server."""
    return lf.get_prompt(name, cache_ttl_seconds=0, max_retries=0, **kwargs)


def status_of(error: BaseException) -> Any:
    return getattr(error, "status_code", None)


def test_text_prompt_versions_labels_and_compile(lf: Langfuse, api: Api) -> None:
    name = unique("qa-answer")
    first = lf.create_prompt(
        name=name, prompt="Answer the question: {{question}}",
        config={"model": "gpt-4o-mini", "temperature": 0.1},
        labels=["production"], tags=["demo"], commit_message="initial",
    )
    assert first.version == 1
    assert set(first.labels) == {"production", "latest"}
    assert first.compile(question="Why?") == "Answer the question: Why?"

    second = lf.create_prompt(name=name, prompt="Answer briefly: {{question}}", labels=["staging"], tags=None,
                              config={"model": "gpt-4o-mini", "temperature": 0.5}, commit_message="shorter")
    assert second.version == 2
    assert set(second.labels) == {"staging", "latest"}
    assert second.tags == ["demo"], "tags=None keeps the name's tags"

    default = fetch(lf, name)
    assert (default.version, default.prompt) == (1, "Answer the question: {{question}}")
    assert default.config == {"model": "gpt-4o-mini", "temperature": 0.1}
    assert default.compile(question="What is Periscope?") == "Answer the question: What is Periscope?"
    assert fetch(lf, name, label="latest").version == 2
    assert fetch(lf, name, label="staging").version == 2
    by_version = fetch(lf, name, version=1)
    assert by_version.version == 1 and by_version.commit_message == "initial"

    updated = lf.update_prompt(name=name, version=2, new_labels=["production"])
    assert updated.version == 2
    assert set(updated.labels) == {"production", "staging", "latest"}
    assert fetch(lf, name).version == 2, "production moved to version 2"
    v1 = api.get_json(f"/v2/prompts/{name}", {"version": 1})
    assert v1["labels"] == [], "version 1 lost production and never had latest"

    body = api.get_json(f"/v2/prompts/{name}")
    assert PROMPT_FIELDS <= set(body), describe(api.get(f"/v2/prompts/{name}"))
    assert body["type"] == "text" and body["createdBy"] == "API" and body["projectId"] == PROJECT_A.id
    assert body["isActive"] is None and body["resolutionGraph"] is None
    assert body["tags"] == ["demo"] and body["commitMessage"] == "shorter"
    assert body["createdAt"].endswith("Z")

    listed = api.get_json("/v2/prompts", {"name": name})
    assert listed["meta"]["totalItems"] == 1
    entry = listed["data"][0]
    assert entry["name"] == name and entry["type"] == "text" and entry["versions"] == [1, 2]
    assert set(entry["labels"]) == {"production", "staging", "latest"}
    assert entry["tags"] == ["demo"]
    assert entry["lastConfig"] == {"model": "gpt-4o-mini", "temperature": 0.5}
    assert entry["lastUpdatedAt"].endswith("Z")


def test_chat_prompt_with_placeholder_compiles(lf: Langfuse, api: Api) -> None:
    name = unique("qa-chat")
    created = lf.create_prompt(
        name=name, type="chat", labels=["production"], tags=None, config={"temperature": 0.7},
        commit_message="chat v1",
        prompt=[
            {"role": "system", "content": "You are {{persona}}."},
            {"type": "placeholder", "name": "history"},
            {"role": "user", "content": "{{question}}"},
        ],
    )
    assert created.version == 1 and created.tags == []
    prompt = fetch(lf, name, type="chat")
    assert prompt.config == {"temperature": 0.7}
    messages = prompt.compile(
        persona="a pirate", question="Where is the treasure?",
        history=[{"role": "user", "content": "Ahoy"}, {"role": "assistant", "content": "Arr"}],
    )
    assert messages == [
        {"role": "system", "content": "You are a pirate."},
        {"role": "user", "content": "Ahoy"},
        {"role": "assistant", "content": "Arr"},
        {"role": "user", "content": "Where is the treasure?"},
    ]
    body = api.get_json(f"/v2/prompts/{name}")
    assert body["type"] == "chat"
    assert body["prompt"][1] == {"type": "placeholder", "name": "history"}


def test_folder_names_work_encoded_and_raw(lf: Langfuse, api: Api) -> None:
    name = f"team-{RUN}/support/qa"
    lf.create_prompt(name=name, prompt="Hi {{user}}", labels=["production"])
    assert fetch(lf, name).compile(user="Ann") == "Hi Ann"
    assert api.get_json(f"/v2/prompts/{encoded(name)}")["name"] == name
    assert api.get_json(f"/v2/prompts/{name}")["name"] == name, "an unencoded folder path is the name too"
    updated = lf.update_prompt(name=name, version=1, new_labels=["staging"])
    assert "staging" in updated.labels


def test_composed_prompts_resolve_on_read(lf: Langfuse, api: Api) -> None:
    base = unique("shared/tone")
    lf.create_prompt(name=base, prompt="Be brief and kind.", labels=["production"])
    name = unique("composed")
    tag = f"@@@langfusePrompt:name={base}|label=production@@@"
    lf.create_prompt(
        name=name, type="chat", labels=["production"],
        prompt=[{"role": "system", "content": f"{tag} Answer in {{{{language}}}}."}],
    )
    prompt = fetch(lf, name, type="chat")
    assert prompt.compile(language="French") == [
        {"role": "system", "content": "Be brief and kind. Answer in French."}
    ]
    body = api.get_json(f"/v2/prompts/{encoded(name)}")
    graph = body["resolutionGraph"]
    assert graph["root"]["name"] == name
    assert [child["name"] for child in graph["dependencies"][body["id"]]] == [base]
    raw = api.get_json(f"/v2/prompts/{encoded(name)}", {"resolve": "false"})
    assert tag in raw["prompt"][0]["content"] and raw["resolutionGraph"] is None

    # The referenced version cannot be deleted while the composed prompt needs it.
    response = api.request("DELETE", f"/v2/prompts/{encoded(base)}")
    assert response.status_code == 400, describe(response)
    assert name in response.json()["message"]
    # A reference to a missing prompt is refused on create.
    response = api.post("/v2/prompts", json={"name": unique("dangling"), "prompt": "@@@langfusePrompt:name=nope|version=1@@@"})
    assert response.status_code == 400, describe(response)
    assert "not found" in response.json()["message"]


def test_a_generation_links_to_its_prompt(lf: Langfuse, api: Api) -> None:
    name = unique("linked")
    lf.create_prompt(name=name, prompt="Summarize: {{text}}", labels=["production"])
    lf.create_prompt(name=name, prompt="Summarize briefly: {{text}}", labels=["production"])
    prompt = fetch(lf, name)
    assert prompt.version == 2
    with lf.start_as_current_observation(as_type="span", name="prompt-root") as root:
        trace_id = root.trace_id
        with lf.start_as_current_observation(
            as_type="generation", name="prompted-call", model="gpt-4o-mini", prompt=prompt,
            input=prompt.compile(text="Periscope stores traces."),
        ) as generation:
            generation.update(output="Stores traces.")
    lf.flush()

    def linked() -> Any:
        found = [o for o in observations_of(api, trace_id) if o["name"] == "prompted-call"]
        return found[0] if found else None

    observation = wait_for(linked, what="the prompted generation")
    assert observation["type"] == "GENERATION"
    assert observation["promptName"] == name
    assert observation["promptVersion"] == 2


def test_bad_prompt_requests_get_clear_4xx(lf: Langfuse, api: Api, api_b: Api) -> None:
    name = unique("strict")
    lf.create_prompt(name=name, prompt="Q: {{question}}", labels=["production"])

    for params in ({"label": "no-such-label"}, {"version": 9}):
        response = api.get(f"/v2/prompts/{name}", params)
        assert response.status_code == 404, describe(response)
        assert response.json() == NOT_FOUND
    response = api.get(f"/v2/prompts/{unique('never-created')}")
    assert (response.status_code, response.json()) == (404, NOT_FOUND)
    with pytest.raises(Exception) as raised:
        fetch(lf, name, label="no-such-label")
    assert status_of(raised.value) == 404
    response = api_b.get(f"/v2/prompts/{name}")
    assert response.status_code == 404, "another project's key must not see the prompt"

    def rejected(body: dict[str, Any], *words: str) -> None:
        response = api.post("/v2/prompts", json=body)
        assert response.status_code == 400, describe(response)
        message = response.json()["message"]
        assert all(word in message for word in words), message

    rejected({"name": name, "prompt": "Answer {{question"}, "unclosed")
    rejected({"name": name, "prompt": "Answer {{two words}}"}, "malformed variable")
    rejected({"name": unique("bad-chat"), "type": "chat", "prompt": [{"role": "user"}]}, "prompt[0].content")
    rejected({"name": unique("bad-chat"), "type": "chat", "prompt": "not a list"}, "prompt")
    rejected({"name": name, "prompt": "x", "labels": ["latest"]}, "latest")
    rejected({"name": name, "type": "chat", "prompt": [{"role": "user", "content": "x"}]}, "text")
    rejected({"name": "a|b", "prompt": "x"}, "name")

    with pytest.raises(Exception) as raised:
        lf.create_prompt(name=name, prompt="x", labels=["latest"])
    assert status_of(raised.value) == 400
    with pytest.raises(Exception) as raised:
        lf.update_prompt(name=name, version=1, new_labels=["latest"])
    assert status_of(raised.value) == 400
    response = api.request("PATCH", f"/v2/prompts/{name}/versions/7", json={"newLabels": ["x"]})
    assert (response.status_code, response.json()) == (404, NOT_FOUND)
    response = api.get(f"/v2/prompts/{name}", {"version": 1, "label": "production"})
    assert response.status_code == 400, describe(response)
    # None of the refused requests created a version.
    assert api.get_json("/v2/prompts", {"name": name})["data"][0]["versions"] == [1]


def test_deleting_versions(lf: Langfuse, api: Api) -> None:
    name = unique("deletable")
    for labels in (["production"], ["staging"], []):
        lf.create_prompt(name=name, prompt="v", labels=labels)
    response = api.request("DELETE", f"/v2/prompts/{name}", params={"version": 3})
    assert response.status_code == 204, describe(response)
    assert set(api.get_json(f"/v2/prompts/{name}", {"version": 2})["labels"]) == {"staging", "latest"}
    response = api.request("DELETE", f"/v2/prompts/{name}", params={"label": "production"})
    assert response.status_code == 204, describe(response)
    assert api.get(f"/v2/prompts/{name}").status_code == 404
    response = api.request("DELETE", f"/v2/prompts/{name}")
    assert response.status_code == 204, describe(response)
    assert api.get(f"/v2/prompts/{name}", {"label": "latest"}).status_code == 404
    assert api.get_json("/v2/prompts", {"name": name})["data"] == []
    response = api.request("DELETE", f"/v2/prompts/{name}")
    assert (response.status_code, response.json()) == (404, NOT_FOUND)


def test_protected_labels_move_only_with_the_admin_token(spawn_server: Any) -> None:
    token = f"admin-token-{uuid.uuid4().hex}"
    server = spawn_server("protected-labels", env={
        "PERISCOPE__PROMPTS__PROTECTED_LABELS": '["production"]',
        "PERISCOPE_ADMIN_TOKEN": token,
    })
    api = Api(server.base_url, PROJECT_A)
    admin = {"X-Periscope-Admin-Token": token}
    name = unique("guarded")

    def create(labels: list[str], headers: Optional[dict[str, str]] = None) -> Any:
        body = {"name": name, "type": "text", "prompt": "Hi {{who}}", "labels": labels}
        return api.post("/v2/prompts", json=body, headers=headers or {})

    refused = create(["production"])
    assert refused.status_code == 403, describe(refused)
    assert "production" in refused.text and "X-Periscope-Admin-Token".lower() in refused.text.lower()
    assert create(["production"], admin).status_code == 201
    assert create(["staging"]).status_code == 201, "unprotected labels need no token"

    # Moving production to version 2, or deleting the version that holds it, needs the token.
    path = f"/v2/prompts/{name}/versions/2"
    assert api.request("PATCH", path, json={"newLabels": ["production"]}).status_code == 403
    assert api.request("PATCH", path, json={"newLabels": ["qa"]}).status_code == 200
    assert api.request("DELETE", f"/v2/prompts/{name}", params={"version": 1}).status_code == 403
    assert api.request("DELETE", f"/v2/prompts/{name}").status_code == 403
    moved = api.request("PATCH", path, json={"newLabels": ["production"]}, headers=admin)
    assert moved.status_code == 200, describe(moved)
    assert api.get_json(f"/v2/prompts/{name}", {"label": "production"})["version"] == 2
    # A wrong token is no token.
    wrong = {"X-Periscope-Admin-Token": "not-the-token"}
    assert api.request("DELETE", f"/v2/prompts/{name}", params={"label": "production"}, headers=wrong).status_code == 403
    assert api.request("DELETE", f"/v2/prompts/{name}", params={"label": "production"}, headers=admin).status_code == 204
