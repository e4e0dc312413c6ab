"""A stand-in LLM judge for the UI tests: an OpenAI-compatible `POST /v1/chat/completions`
that always answers `{"score": 1, "reasoning": "ok"}`, so evaluators run without a real model.

Usage: judge.py PORT
"""

from __future__ import annotations

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ANSWER = {"score": 1, "reasoning": "ok"}


class Judge(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 (the name http.server dispatches to)
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        if self.path.rstrip("/") != "/v1/chat/completions":
            self.send_error(404, "only /v1/chat/completions is served")
            return
        body = json.dumps({
            "id": "chatcmpl-ui-tests",
            "object": "chat.completion",
            "model": "stub-judge",
            "choices": [{
                "index": 0,
                "finish_reason": "stop",
                "message": {"role": "assistant", "content": json.dumps(ANSWER)},
            }],
            "usage": {"prompt_tokens": 42, "completion_tokens": 7, "total_tokens": 49},
        }).encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (stdlib signature)
        return


def main() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Judge)
    server.serve_forever()


if __name__ == "__main__":
    main()
