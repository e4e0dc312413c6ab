"""A scaled-out Periscope for the end-to-end tests: ingest, enrich, the trace sink and the query
API as separate `periscope` processes against the real Kafka (Tansu), ClickHouse, Postgres, Redis
and S3 (SeaweedFS) servers that `deploy/dev-services.sh start` runs on loopback.

Each cluster isolates itself with fresh names: its own Kafka topic namespace, ClickHouse
database, Postgres database, S3 bucket and Redis key prefix, so clusters of one test session (and
of earlier runs) never see each other's data.
"""

from __future__ import annotations

import os
import subprocess
import urllib.request
import uuid
import warnings
from pathlib import Path
from typing import Optional
from urllib.parse import urlsplit, urlunsplit

from http_router import HttpRouter
from periscope_e2e import PROJECT_A, Api, PeriscopeServer, Project, run_admin

SERVICE_VARIABLES = (
    "PERISCOPE__KAFKA__BROKERS",
    "PERISCOPE__CLICKHOUSE__URL",
    "PERISCOPE__POSTGRES__URL",
    "PERISCOPE__S3__ENDPOINT",
    "PERISCOPE__S3__ACCESS_KEY_ID",
    "PERISCOPE__S3__SECRET_ACCESS_KEY",
    "PERISCOPE__REDIS__URL",
)

# The roles of a scaled-out deployment, in start order (consumers before the edge).
ROLES: dict[str, tuple[str, ...]] = {
    "enrich": ("process", "enrich"),
    "sink": ("sink", "traces"),
    "archive": ("sink", "archive"),
    "evals": ("process", "evals"),
    "api": ("api",),
    "ingest": ("ingest",),
}


class ServicesMissing(RuntimeError):
    """The scale-out services are not running (or not exported)."""


def service_env() -> dict[str, str]:
    """The service addresses exported by `eval "$(deploy/dev-services.sh start)"`."""
    missing = [name for name in SERVICE_VARIABLES if not os.environ.get(name)]
    if missing:
        raise ServicesMissing(
            f"{', '.join(missing)} not set: start the services with "
            '`eval "$(deploy/dev-services.sh start)"` (deploy/test-all.sh does this)'
        )
    return {name: os.environ[name] for name in SERVICE_VARIABLES}


def with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, parts.fragment))


def create_postgres_database(url: str, database: str) -> None:
    """Creates `database` on the server of `url` (psql from the Postgres client package)."""
    admin_url = with_database(url, "postgres")
    done = subprocess.run(
        ["psql", admin_url, "-v", "ON_ERROR_STOP=1", "-qc", f'CREATE DATABASE "{database}"'],
        capture_output=True, text=True, timeout=60,
    )
    if done.returncode != 0:
        raise RuntimeError(f"could not create Postgres database {database}: {done.stderr}")


def drop_databases(database: str) -> None:
    """Drops the ClickHouse and Postgres databases named `database` (best effort: a failure to
    clean up warns and never fails a test), so repeated runs do not pile them up."""
    services = service_env()
    try:
        request = urllib.request.Request(
            services["PERISCOPE__CLICKHOUSE__URL"], data=f"DROP DATABASE IF EXISTS {database}".encode(),
        )
        urllib.request.urlopen(request, timeout=60).close()
    except OSError as error:
        warnings.warn(f"could not drop ClickHouse database {database}: {error}")
    admin_url = with_database(services["PERISCOPE__POSTGRES__URL"], "postgres")
    done = subprocess.run(
        ["psql", admin_url, "-qc", f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'],
        capture_output=True, text=True, timeout=60,
    )
    if done.returncode != 0:
        warnings.warn(f"could not drop Postgres database {database}: {done.stderr}")


class ScaleOut:
    """One scaled-out deployment; `start()` runs every role, `api`/`ingest_url` reach it."""

    def __init__(self, binary: Path, root: Path, name: str, project: Project = PROJECT_A,
                 overrides: Optional[dict[str, str]] = None) -> None:
        services = service_env()
        suffix = uuid.uuid4().hex[:10]
        self.name = name
        self.project = project
        self.database = f"periscope_e2e_{suffix}"
        create_postgres_database(services["PERISCOPE__POSTGRES__URL"], self.database)
        self.env = {
            **services,
            "PERISCOPE__KAFKA__NAMESPACE": f"e2e-{suffix}.",
            "PERISCOPE__KAFKA__SESSION_TIMEOUT": "6s",
            "PERISCOPE__CLICKHOUSE__DATABASE": self.database,
            "PERISCOPE__POSTGRES__URL": with_database(services["PERISCOPE__POSTGRES__URL"], self.database),
            "PERISCOPE__S3__BUCKET": f"e2e-{suffix}",
            "PERISCOPE__REDIS__KEY_PREFIX": f"e2e:{suffix}:",
            **(overrides or {}),
        }
        # An override may move Postgres (e.g. behind a fault proxy); the database stays ours.
        self.env["PERISCOPE__POSTGRES__URL"] = with_database(self.env["PERISCOPE__POSTGRES__URL"], self.database)
        self.servers = {
            role: PeriscopeServer(
                binary, root / f"data-{role}", root / f"{name}-{role}.log",
                name=f"{name}-{role}", env=self.env, project=project, role=command,
            )
            for role, command in ROLES.items()
        }

        self.root = root
        self.router: Optional[HttpRouter] = None

    def start(self) -> "ScaleOut":
        for server in self.servers.values():
            server.start()
        self.router = HttpRouter(self.ingest.base_url, self.servers["api"].base_url)
        return self

    def stop(self) -> dict[str, Optional[int]]:
        """SIGTERM to every role (edge first); returns the exit codes."""
        if self.router is not None:
            self.router.close()
        return {role: self.servers[role].stop() for role in reversed(list(ROLES))}

    def drop_databases(self) -> None:
        """Drops the deployment's databases; call once its processes are gone."""
        drop_databases(self.database)

    @property
    def url(self) -> str:
        """One base URL for SDKs: writes routed to ingest, the rest to the api role."""
        assert self.router is not None, "start() the deployment first"
        return self.router.url

    def create_project(self, project: Project, binary: Path) -> None:
        """Creates `project` and its keys in the deployment's Postgres with the admin CLI."""
        data_dir = self.root / "data-admin"
        run_admin(binary, "project", "create", "--name", project.name, "--id", project.id, data_dir=data_dir, env=self.env)
        run_admin(
            binary, "key", "create", "--project", project.id,
            "--public-key", project.public_key, "--secret-key", project.secret_key,
            data_dir=data_dir, env=self.env,
        )

    def api_of(self, project: Project) -> Api:
        return Api(self.servers["api"].base_url, project)

    @property
    def ingest(self) -> PeriscopeServer:
        return self.servers["ingest"]

    @property
    def api(self) -> Api:
        """Reads go to the api role."""
        return Api(self.servers["api"].base_url, self.project)

    @property
    def ingest_api(self) -> Api:
        """Writes (OTLP/HTTP, /ingestion, /scores) go to the ingest role."""
        return Api(self.ingest.base_url, self.project)
