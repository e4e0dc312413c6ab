"""A deterministic OpenAI-compatible server for the `langfuse.openai` wrapper tests."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

STUB_MODEL = "gpt-4o-mini-2024-07-18"
STUB_USAGE = {"prompt_tokens": 13, "completion_tokens": 6, "total_tokens": 19}
# Returned when the last user message contains DETAILS_MARKER: cached and reasoning details.
DETAILS_MARKER = "[usage-details]"
STUB_DETAILS = {"prompt_tokens_details": {"cached_tokens": 4}, "completion_tokens_details": {"reasoning_tokens": 2}}


def stub_reply(messages: list[dict[str, Any]]) -> str:
    """The stub's deterministic answer to a conversation."""
    last = next((m.get("content") for m in reversed(messages) if m.get("role") == "user"), "")
    return f"stub answer to: {last}"


class StubOpenAI:
    """`POST /v1/chat/completions` → a deterministic chat completion with usage."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server naming)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                if self.path.rstrip("/") != "/v1/chat/completions":
                    self._reply(404, {"error": {"message": f"no route {self.path}", "type": "invalid_request_error"}})
                    return
                body = json.loads(raw or b"{}")
                stub.requests.append(body)
                messages = body.get("messages") or []
                usage: dict[str, Any] = dict(STUB_USAGE)
                if any(DETAILS_MARKER in str(m.get("content")) for m in messages):
                    usage.update(STUB_DETAILS)
                self._reply(200, {
                    "id": "chatcmpl-stub",
                    "object": "chat.completion",
                    "created": 1795743649,
                    "model": STUB_MODEL,
                    "choices": [{
                        "index": 0,
                        "message": {"role": "assistant", "content": stub_reply(messages)},
                        "finish_reason": "stop",
                        "logprobs": None,
                    }],
                    "usage": usage,
                })

            def _reply(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, name="stub-openai", daemon=True)
        self.thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
