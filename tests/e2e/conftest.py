"""Fixtures of the end-to-end suite: a real `periscope serve` (session-wide), extra servers for the
crash and limit tests, REST clients of two projects, the OpenAI-compatible stub and the Langfuse
SDK scenario.

The session server gets a fresh data directory with two projects: A (seeded through
PERISCOPE_INIT_PROJECT_*) and B (created with `periscope project create` / `key create` before the
server starts). A failing test shows the tail of every server's log.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import pytest

from periscope_e2e import (
    PROJECT_A,
    PROJECT_B,
    STARTED_SERVERS,
    Api,
    PeriscopeServer,
    Project,
    ServerError,
    periscope_binary,
    run_admin,
)
from stub_openai import StubOpenAI


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for server in STARTED_SERVERS:
            state = "running" if server.running() else "stopped"
            report.sections.append((f"{server.name} log ({state}, {server.log_path})", server.log_tail()))


def create_project(binary: Path, data_dir: Path, project: Project) -> None:
    """Creates `project` and its key pair with the admin CLI (before the server opens the dir)."""
    run_admin(binary, "project", "create", "--name", project.name, "--id", project.id, data_dir=data_dir)
    run_admin(
        binary, "key", "create", "--project", project.id,
        "--public-key", project.public_key, "--secret-key", project.secret_key,
        data_dir=data_dir,
    )


@pytest.fixture(scope="session")
def binary() -> Path:
    path = periscope_binary()
    if not path.exists():
        pytest.fail(f"periscope binary not found at {path}: build it (cargo build -p periscope) or set PERISCOPE_BIN")
    return path


@pytest.fixture(scope="session")
def periscope(binary: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PeriscopeServer]:
    """The shared server: projects A (init env) and B (admin CLI) on a fresh data dir."""
    root = tmp_path_factory.mktemp("periscope-main")
    data_dir = root / "data"
    try:
        create_project(binary, data_dir, PROJECT_B)
    except (RuntimeError, OSError) as error:
        pytest.fail(f"could not create project B with the admin CLI: {error}")
    server = PeriscopeServer(binary, data_dir, root / "periscope.log", name="periscope-main")
    try:
        server.start()
    except ServerError as error:
        pytest.fail(str(error))
    yield server
    code = server.stop()
    assert code == 0, f"periscope-main exited with {code} after SIGTERM:\n{server.log_tail()}"


@pytest.fixture(scope="session")
def api(periscope: PeriscopeServer) -> Api:
    """REST client of project A (Basic auth)."""
    return Api(periscope.base_url, PROJECT_A)


@pytest.fixture(scope="session")
def api_b(periscope: PeriscopeServer) -> Api:
    """REST client of project B (Basic auth)."""
    return Api(periscope.base_url, PROJECT_B)


@pytest.fixture(scope="session")
def stub_openai() -> Iterator[StubOpenAI]:
    stub = StubOpenAI()
    yield stub
    stub.close()


@pytest.fixture(scope="session")
def scenario(periscope: PeriscopeServer, stub_openai: StubOpenAI) -> Iterator[Any]:
    """The Langfuse SDK scenario of langfuse_scenario.py, sent once and shared by the read tests."""
    from langfuse_scenario import run_scenario  # imports the SDK only when a test needs it

    yield from run_scenario(periscope.base_url, stub_openai)


SpawnServer = Callable[..., PeriscopeServer]


@pytest.fixture
def spawn_server(binary: Path, tmp_path: Path) -> Iterator[SpawnServer]:
    """Starts extra servers for one test: `spawn_server(name, env=None, data_dir=None)`.

    Each gets its own data dir (unless given) and log; all are SIGKILLed at the end of the test
    if still running."""
    servers: list[PeriscopeServer] = []

    def spawn(name: str, env: Optional[dict[str, str]] = None, data_dir: Optional[Path] = None, start: bool = True) -> PeriscopeServer:
        server = PeriscopeServer(
            binary,
            data_dir or tmp_path / f"{name}-data",
            tmp_path / f"{name}.log",
            name=name,
            env=env,
        )
        servers.append(server)
        if start:
            try:
                server.start()
            except ServerError as error:
                pytest.fail(str(error))
        return server

    yield spawn
    for server in servers:
        server.kill()
        STARTED_SERVERS.remove(server)
