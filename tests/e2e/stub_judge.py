"""An OpenAI-compatible LLM judge for the evaluator tests (the only stand-in: an LLM).

`POST /v1/chat/completions` answers `{"reasoning", "score"}` the way the seed experiment needs:
score 1 when every content word of the prompt's `Answer:` section appears in its `Context:`
section (the answer is supported by the context), else 0. It reports usage like OpenAI.
"""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

JUDGE_API_KEY = "sk-stub-judge-0123456789abcdef"
JUDGE_USAGE = {"prompt_tokens": 91, "completion_tokens": 17, "total_tokens": 108}
# Words too common to count as content.
STOP_WORDS = {"a", "an", "the", "it", "is", "was", "in", "of", "and", "to", "for", "on", "at", "by"}


def section(prompt: str, heading: str) -> str:
    """The text after `heading` up to the next blank line."""
    start = prompt.find(heading)
    if start < 0:
        return ""
    rest = prompt[start + len(heading):].lstrip("\n")
    return rest.split("\n\n", 1)[0]


def words(text: str) -> set[str]:
    return {word for word in re.findall(r"[a-z0-9']+", text.lower()) if word not in STOP_WORDS}


def judge(prompt: str) -> dict[str, Any]:
    """The judgement of one rendered prompt."""
    context, answer = words(section(prompt, "Context:")), words(section(prompt, "Answer:"))
    supported = bool(answer) and answer <= context
    return {
        "reasoning": "compared the answer with the context",
        "score": 1 if supported else 0,
    }


class StubJudge:
    """The judge on 127.0.0.1:0; `requests` keeps every request body."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server naming)
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                if self.path.rstrip("/") != "/v1/chat/completions":
                    self._reply(404, {"error": {"message": f"no route {self.path}"}})
                    return
                if self.headers.get("Authorization") != f"Bearer {JUDGE_API_KEY}":
                    self._reply(401, {"error": {"message": "bad api key"}})
                    return
                stub.requests.append(body)
                prompt = "\n".join(str(m.get("content")) for m in body.get("messages") or [] if m.get("role") == "user")
                self._reply(200, {
                    "id": "chatcmpl-judge",
                    "object": "chat.completion",
                    "created": 1795743649,
                    "model": body.get("model"),
                    "choices": [{
                        "index": 0,
                        "message": {"role": "assistant", "content": json.dumps(judge(prompt))},
                        "finish_reason": "stop",
                    }],
                    "usage": JUDGE_USAGE,
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
        self.thread = threading.Thread(target=self.server.serve_forever, name="stub-judge", daemon=True)
        self.thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
