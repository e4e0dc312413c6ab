"""Web UI login sessions across processes (issues 3 and 6, docs/adr/0020-ui-sessions.md).

Sessions live in the deployment's cache: Redis when several `periscope api` processes run behind
a load balancer, the in-process cache in `periscope serve`. So a cookie issued by one api
process works on another, a logout on either ends it on both, it survives a restart of the
process that issued it, and a Redis outage is answered with 503 (never a silent logout).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator, Optional
from urllib.parse import urlsplit

import pytest
import requests

from periscope_e2e import PROJECT_A, PeriscopeServer, describe, wait_for
from scaleout import ScaleOut, ServicesMissing, service_env
from tcp_proxy import TcpProxy

COOKIE = "periscope_session"
# What a browser sends with the UI's own fetches; the server refuses other sites' requests.
SAME_ORIGIN = {"Sec-Fetch-Site": "same-origin"}


def login(base_url: str) -> str:
    """Logs in to the UI of `base_url` with project A's keys; returns the session token."""
    response = requests.post(
        f"{base_url}/ui/api/login",
        json={"publicKey": PROJECT_A.public_key, "secretKey": PROJECT_A.secret_key},
        headers=SAME_ORIGIN, timeout=30,
    )
    assert response.status_code == 200, describe(response, "login")
    assert response.json()["projectId"] == PROJECT_A.id
    set_cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in set_cookie and "SameSite=Strict" in set_cookie, set_cookie
    assert "Secure" not in set_cookie, f"plain HTTP must not get a Secure cookie: {set_cookie}"
    token = response.cookies.get(COOKIE)
    assert token, set_cookie
    return token


def with_cookie(method: str, base_url: str, path: str, token: str) -> requests.Response:
    """One request carrying only the session cookie (no Authorization header)."""
    return requests.request(
        method, f"{base_url}{path}", headers={**SAME_ORIGIN, "Cookie": f"{COOKIE}={token}"}, timeout=30,
    )


def assert_logged_in(base_url: str, token: str, what: str) -> None:
    session = with_cookie("GET", base_url, "/ui/api/session", token)
    assert session.status_code == 200, describe(session, what)
    assert session.json() == {"projectId": PROJECT_A.id, "publicKey": PROJECT_A.public_key}
    traces = with_cookie("GET", base_url, "/api/public/traces", token)
    assert traces.status_code == 200, describe(traces, f"{what}: traces with the cookie")
    assert isinstance(traces.json()["data"], list)
    projects = with_cookie("GET", base_url, "/api/public/projects", token)
    assert projects.status_code == 200, describe(projects, f"{what}: projects with the cookie")
    assert [project["id"] for project in projects.json()["data"]] == [PROJECT_A.id]


def assert_logged_out(base_url: str, token: str, what: str) -> None:
    for path in ("/ui/api/session", "/api/public/traces"):
        response = with_cookie("GET", base_url, path, token)
        assert response.status_code == 401, describe(response, what)


def logout(base_url: str, token: str) -> None:
    response = with_cookie("POST", base_url, "/ui/api/logout", token)
    assert response.status_code == 204, describe(response, "logout")
    assert "Max-Age=0" in response.headers["Set-Cookie"]


class TwoApis:
    """Two `periscope api` processes of one scaled-out deployment (same Postgres, ClickHouse,
    Kafka namespace and Redis key prefix); only the api role is needed for logins and reads."""

    def __init__(self, binary: Path, root: Path, name: str, overrides: Optional[dict[str, str]] = None) -> None:
        try:
            self.cluster = ScaleOut(binary, root, name, overrides=overrides)
        except ServicesMissing as error:
            pytest.fail(str(error))
        self.first = self.cluster.servers["api"]
        self.second = PeriscopeServer(
            binary, root / "data-api-2", root / f"{name}-api-2.log",
            name=f"{name}-api-2", env=self.cluster.env, project=self.cluster.project, role=("api",),
        )

    def start(self) -> "TwoApis":
        # One after the other: the first creates the schemas and seeds the project.
        self.first.start()
        self.second.start()
        return self

    def stop(self) -> dict[str, Optional[int]]:
        return {server.name: server.stop() for server in (self.first, self.second)}


@pytest.fixture
def make_apis(binary: Path, tmp_path: Path) -> Iterator:
    started: list[TwoApis] = []

    def make(name: str, overrides: Optional[dict[str, str]] = None) -> TwoApis:
        apis = TwoApis(binary, tmp_path / name, name, overrides)
        started.append(apis)
        return apis.start()

    yield make
    for apis in started:
        codes = apis.stop()
        apis.cluster.drop_databases()
        assert all(code == 0 for code in codes.values()), f"api processes exited with {codes}"


def test_a_login_on_one_api_process_works_on_another_and_logout_ends_it_on_both(make_apis) -> None:
    apis = make_apis("ui-sessions")
    first, second = apis.first, apis.second
    token = login(first.base_url)
    assert_logged_in(first.base_url, token, "the process that issued the cookie")
    assert_logged_in(second.base_url, token, "another api process")
    # Without the cookie (or any credentials) the same reads are refused.
    anonymous = requests.get(f"{second.base_url}/api/public/traces", timeout=30)
    assert anonymous.status_code == 401, describe(anonymous, "no cookie")

    # The session is not in the memory of the process that created it: it survives a restart.
    assert first.stop() == 0
    assert_logged_in(second.base_url, token, "while the issuing process is down")
    first.start()
    assert_logged_in(first.base_url, token, "the issuing process after a restart")

    logout(second.base_url, token)
    assert_logged_out(first.base_url, token, "logged out on the other process")
    assert_logged_out(second.base_url, token, "logged out here")

    # A fresh login still works after the logout (on either process).
    fresh = login(second.base_url)
    assert fresh != token
    assert_logged_in(first.base_url, fresh, "a new session")


def test_a_redis_outage_is_503_for_cookie_requests_not_a_logout(make_apis) -> None:
    target = urlsplit(service_env()["PERISCOPE__REDIS__URL"])
    redis = TcpProxy(target.hostname or "127.0.0.1", target.port or 6379)
    try:
        apis = make_apis("ui-sessions-outage", {"PERISCOPE__REDIS__URL": f"redis://127.0.0.1:{redis.port}/0"})
        token = login(apis.first.base_url)
        assert_logged_in(apis.second.base_url, token, "before the outage")

        redis.pause()
        for path in ("/ui/api/session", "/api/public/traces"):
            response = with_cookie("GET", apis.second.base_url, path, token)
            assert response.status_code == 503, describe(response, f"{path} with Redis down")
            assert response.headers.get("Retry-After") == "1", describe(response, "Retry-After")
            # Both name the session store, not a generic outage.
            assert "session store" in response.json()["message"], describe(response, f"{path} message")
        refused = requests.post(
            f"{apis.first.base_url}/ui/api/login", headers=SAME_ORIGIN, timeout=30,
            json={"publicKey": PROJECT_A.public_key, "secretKey": PROJECT_A.secret_key},
        )
        assert refused.status_code == 503, describe(refused, "login with Redis down")

        redis.resume()
        wait_for(
            lambda: with_cookie("GET", apis.second.base_url, "/ui/api/session", token).status_code == 200,
            timeout=30, what="the session to work again once Redis is back",
        )
        assert_logged_in(apis.first.base_url, token, "after the outage")
    finally:
        redis.close()


def test_serve_keeps_sessions_in_its_embedded_cache(periscope: PeriscopeServer) -> None:
    token = login(periscope.base_url)
    assert_logged_in(periscope.base_url, token, "periscope serve")
    logout(periscope.base_url, token)
    assert_logged_out(periscope.base_url, token, "periscope serve after logout")
