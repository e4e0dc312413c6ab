"""A Langfuse SDK client for one spawned server.

The SDK keeps one client per public key for the whole process, so a second `Langfuse(host=...)`
with project A's keys would still talk to the first server. Tests that spawn their own server
take a fresh client from here, and leave none behind for the next test.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

from periscope_e2e import PROJECT_A


@contextmanager
def langfuse_client(base_url: str) -> Iterator[Any]:
    """A Langfuse client of project A on `base_url`, flushed and dropped on exit."""
    from langfuse import Langfuse
    from langfuse._client.resource_manager import LangfuseResourceManager

    LangfuseResourceManager.reset()
    client = Langfuse(public_key=PROJECT_A.public_key, secret_key=PROJECT_A.secret_key, host=base_url)
    try:
        yield client
        client.flush()
    finally:
        LangfuseResourceManager.reset()
