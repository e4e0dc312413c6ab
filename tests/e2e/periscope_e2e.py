"""Shared helpers of Periscope's end-to-end tests.

They start real `periscope serve` processes, talk to them over the public REST API and poll until
the asynchronous pipeline has made data queryable. OTLP builders live in `otlp_builders`, the
OpenAI-compatible stub in `stub_openai`.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Optional

import requests

from otlp_builders import otlp_request, otlp_span, post_otlp, random_span_id, random_trace_id

# How long the pipeline may take to make acknowledged data queryable in these tests. The design
# target is 2 s p99; the margin covers a debug build on a busy 2-core machine.
QUERYABLE_TIMEOUT = 30.0
# How long field checks are retried once the expected rows exist (late merges of the same trace).
SETTLE_TIMEOUT = 8.0
STARTUP_TIMEOUT = 60.0


@dataclass(frozen=True)
class Project:
    """A project and its API key pair, as created for the tests."""

    id: str
    name: str
    public_key: str
    secret_key: str


PROJECT_A = Project("project-a", "Project A", "pk-lf-e2e-project-a", "sk-lf-e2e-project-a-secret")
PROJECT_B = Project("project-b", "Project B", "pk-lf-e2e-project-b", "sk-lf-e2e-project-b-secret")

# Every server the tests started, so a failing test can show their logs.
STARTED_SERVERS: list["PeriscopeServer"] = []


def periscope_binary() -> Path:
    """The `periscope` binary under test: $PERISCOPE_BIN, else the debug build of the workspace."""
    explicit = os.environ.get("PERISCOPE_BIN")
    if explicit:
        return Path(explicit)
    target = os.environ.get("CARGO_TARGET_DIR") or str(Path(__file__).resolve().parents[2] / "target")
    return Path(target) / "debug" / "periscope"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env(extra: Optional[dict[str, str]] = None, project: Optional[Project] = PROJECT_A) -> dict[str, str]:
    """The environment of a server process: ours minus any PERISCOPE* settings, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PERISCOPE")}
    env["RUST_BACKTRACE"] = "1"
    env["NO_COLOR"] = "1"  # plain text in the log files shown on failure
    env["PERISCOPE_LOG"] = "info"
    if project is not None:
        env["PERISCOPE_INIT_PROJECT_ID"] = project.id
        env["PERISCOPE_INIT_PROJECT_NAME"] = project.name
        env["PERISCOPE_INIT_PROJECT_PUBLIC_KEY"] = project.public_key
        env["PERISCOPE_INIT_PROJECT_SECRET_KEY"] = project.secret_key
    env.update(extra or {})
    return env


def run_admin(binary: Path, *args: str, data_dir: Path, env: Optional[dict[str, str]] = None) -> str:
    """Runs `periscope <args> --data-dir D` (project/key management) and returns its stdout;
    `env` adds settings (e.g. the Postgres of a scaled-out deployment)."""
    cmd = [str(binary), *args, "--data-dir", str(data_dir)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=server_env(env, project=None))
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited with {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return done.stdout


class ServerError(RuntimeError):
    """The server did not start or stop as expected."""


class PeriscopeServer:
    """One `periscope serve` process on fresh loopback ports; its output goes to `log_path`."""

    def __init__(
        self,
        binary: Path,
        data_dir: Path,
        log_path: Path,
        name: str = "periscope",
        env: Optional[dict[str, str]] = None,
        project: Optional[Project] = PROJECT_A,
        role: tuple[str, ...] = ("serve",),
    ) -> None:
        self.binary = binary
        # `serve`, or one role of a scaled-out deployment: `ingest`, `process enrich`, ...
        self.role = role
        self.data_dir = data_dir
        self.log_path = log_path
        self.name = name
        self.env = server_env(env, project)
        self.proc: Optional[subprocess.Popen[bytes]] = None
        self.http_port = 0
        self.grpc_port = 0
        STARTED_SERVERS.append(self)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def grpc_target(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout: float = STARTUP_TIMEOUT) -> "PeriscopeServer":
        """Starts the process on new ports and waits until health answers 200 and gRPC accepts."""
        if not self.binary.exists():
            raise ServerError(
                f"periscope binary not found at {self.binary}; build it (cargo build -p periscope) "
                "or set PERISCOPE_BIN"
            )
        self.http_port = free_port()
        self.grpc_port = free_port()
        while self.grpc_port == self.http_port:
            self.grpc_port = free_port()
        cmd = [
            str(self.binary), *self.role,
            "--data-dir", str(self.data_dir),
            "--http-addr", f"127.0.0.1:{self.http_port}",
            "--grpc-addr", f"127.0.0.1:{self.grpc_port}",
        ]
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            log.write(f"\n===== {time.strftime('%H:%M:%S')} {' '.join(cmd)}\n".encode())
            log.flush()
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=self.env)
        deadline = time.monotonic() + timeout
        while True:
            code = self.proc.poll()
            if code is not None:
                raise ServerError(f"{self.name} exited with {code} during start-up:\n{self.log_tail()}")
            if self._healthy() and (not self.has_grpc or self._grpc_accepts()):
                return self
            if time.monotonic() > deadline:
                self.kill()
                raise ServerError(f"{self.name} was not healthy within {timeout}s:\n{self.log_tail()}")
            time.sleep(0.1)

    @property
    def has_grpc(self) -> bool:
        return self.role[0] in ("serve", "ingest")

    def _healthy(self) -> bool:
        # The query API answers the Langfuse health route; every role answers /readyz.
        path = "/api/public/health" if self.role[0] in ("serve", "api") else "/readyz"
        try:
            return requests.get(f"{self.base_url}{path}", timeout=1).status_code == 200
        except requests.RequestException:
            return False

    def _grpc_accepts(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.grpc_port), timeout=1):
                return True
        except OSError:
            return False

    def stop(self, timeout: float = 20.0) -> Optional[int]:
        """SIGTERM, then SIGKILL if it has not exited within `timeout`; returns the exit code."""
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise ServerError(f"{self.name} did not stop within {timeout}s of SIGTERM; killed it")

    def kill(self) -> None:
        """SIGKILL: the crash the durability tests simulate."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=30)

    def log_tail(self, lines: int = 120) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError as error:
            return f"(no log: {error})"
        return "\n".join(text.splitlines()[-lines:])


class Api:
    """The public REST API of one server, authenticated as one project (Basic auth by default)."""

    def __init__(self, base_url: str, project: Project) -> None:
        self.base_url = base_url
        self.project = project
        self.session = requests.Session()

    def url(self, path: str) -> str:
        return self.base_url + (path if path.startswith("/api/") else "/api/public" + path)

    def request(self, method: str, path: str, *, auth: Any = "basic", timeout: float = 30, **kwargs: Any) -> requests.Response:
        """`auth`: "basic" (project keys), "bearer" (public key only), None, or a (pk, sk) tuple."""
        headers = dict(kwargs.pop("headers", None) or {})
        if auth == "basic":
            kwargs["auth"] = (self.project.public_key, self.project.secret_key)
        elif auth == "bearer":
            headers["Authorization"] = f"Bearer {self.project.public_key}"
        elif isinstance(auth, tuple):
            kwargs["auth"] = auth
        elif auth is not None:
            raise ValueError(f"unknown auth {auth!r}")
        return self.session.request(method, self.url(path), headers=headers, timeout=timeout, **kwargs)

    def get(self, path: str, params: Any = None, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, params=params, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def get_json(self, path: str, params: Any = None, expect: int = 200) -> Any:
        response = self.get(path, params)
        assert response.status_code == expect, describe(response, f"expected {expect}")
        return response.json()

    def get_all(self, path: str, params: Optional[dict[str, Any]] = None, limit: int = 100) -> list[dict[str, Any]]:
        """Every item of a page/limit-paginated list endpoint (`{data, meta}`)."""
        items: list[dict[str, Any]] = []
        page = 1
        while True:
            body = self.get_json(path, {**(params or {}), "page": page, "limit": limit})
            items.extend(body["data"])
            if page >= int(body["meta"]["totalPages"]) or not body["data"]:
                return items
            page += 1
            assert page < 1000, f"{path} keeps paginating"


def describe(response: requests.Response, what: str = "") -> str:
    """A one-line description of a response for assertion messages."""
    body = response.text
    if len(body) > 2000:
        body = body[:2000] + "…"
    return f"{what}: {response.request.method} {response.url} -> {response.status_code} {body}"


def wait_for(predicate: Callable[[], Any], timeout: float = QUERYABLE_TIMEOUT, interval: float = 0.2, what: str = "condition") -> Any:
    """Polls `predicate` until it returns something truthy and returns that.

    AssertionErrors and connection errors count as "not yet"; on timeout the last one (or the
    last falsy result) is reported, so a failure says what was missing."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            result = predicate()
            if result:
                return result
            last = f"last result: {result!r}"
        except (AssertionError, requests.RequestException) as error:
            last = f"last error: {error}"
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}; {last}")
        time.sleep(interval)


def eventually(check: Callable[[], Any], timeout: float = SETTLE_TIMEOUT, interval: float = 0.25) -> Any:
    """Retries `check` (which asserts) until it passes; re-raises its last AssertionError."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
        time.sleep(interval)


def get_trace(api: Api, trace_id: str, min_observations: int = 0, timeout: float = QUERYABLE_TIMEOUT) -> dict[str, Any]:
    """`GET /traces/{id}` once the trace exists with at least `min_observations` observations."""

    def ready() -> Optional[dict[str, Any]]:
        response = api.get(f"/traces/{trace_id}")
        if response.status_code == 404:
            return None
        assert response.status_code == 200, describe(response, "GET trace")
        body = response.json()
        if len(body.get("observations") or []) < min_observations:
            return None
        return body

    return wait_for(ready, timeout, what=f"trace {trace_id} with {min_observations} observations")


def observations_of(api: Api, trace_id: str) -> list[dict[str, Any]]:
    """All observations of a trace via `GET /observations?traceId=`."""
    return api.get_all("/observations", {"traceId": trace_id})


def by_name(items: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Items keyed by `name`; names must be unique."""
    result: dict[str, dict[str, Any]] = {}
    for item in items:
        assert item["name"] not in result, f"duplicate name {item['name']!r}"
        result[item["name"]] = item
    return result


def parse_time(value: str) -> datetime:
    """Parses the API's ISO-8601 timestamps (with `Z` or an offset; any sub-second precision)."""
    assert isinstance(value, str) and value, f"not a timestamp: {value!r}"
    text = value.replace("Z", "+00:00")
    if "." in text:
        head, rest = text.split(".", 1)
        digits = rest[: len(rest) - len(rest.lstrip("0123456789"))]
        tail = rest[len(digits):]
        text = f"{head}.{(digits + '000000')[:6]}{tail}"
    parsed = datetime.fromisoformat(text)
    assert parsed.tzinfo is not None, f"timestamp without a zone: {value!r}"
    return parsed


def ns_to_datetime(ns: int) -> datetime:
    return datetime.fromtimestamp(ns / 1e9, tz=timezone.utc)


def assert_time(value: str, expected: datetime, tolerance_ms: float = 1.5, what: str = "time") -> None:
    """`value` is within `tolerance_ms` of `expected` (the API stores milliseconds)."""
    got = parse_time(value)
    delta = abs((got - expected).total_seconds()) * 1000
    assert delta <= tolerance_ms, f"{what}: got {value}, expected {expected.isoformat()} (off by {delta:.3f} ms)"


def assert_time_between(value: str, start: datetime, end: datetime, what: str = "time") -> None:
    got = parse_time(value)
    assert start.timestamp() - 0.002 <= got.timestamp() <= end.timestamp() + 0.002, (
        f"{what}: {value} not within [{start.isoformat()}, {end.isoformat()}]"
    )


def barrier(api: Api, settle: float = 1.0) -> None:
    """Waits until data sent now is queryable, then `settle` seconds more.

    Used before asserting that something did *not* happen (a duplicate, a rejected write): the
    pipeline is asynchronous, so absence is only meaningful once later data has come through."""
    trace_id, span_id = random_trace_id(), random_span_id()
    now = time.time_ns()
    response = post_otlp(api, otlp_request([otlp_span(trace_id, span_id, "barrier", now, now + 1_000_000)]))
    assert response.status_code == 200, describe(response, "barrier span")
    get_trace(api, trace_id.hex(), min_observations=1)
    time.sleep(settle)
