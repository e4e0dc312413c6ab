"""A stub OpenAI-compatible LLM judge for bench/evals.sh (the only stand-in: an LLM).

`POST /v1/chat/completions` answers `{"score": 1, "reasoning": "ok"}` after a fixed delay (the
judge's latency), counting requests and the most requests in flight at once: that is the
runner's real judge-call concurrency. `GET /stats` returns the counters as JSON.

Usage: python3 bench/evals_judge.py --delay-ms 200 --port-file FILE
(listens on 127.0.0.1, a free port unless --port is given; writes the port to FILE).
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

USAGE = {"prompt_tokens": 91, "completion_tokens": 17, "total_tokens": 108}
ANSWER = json.dumps({"score": 1, "reasoning": "ok"})


class Counters:
    """Requests seen, in flight now and at most, and when the first and last one came."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.first_at: float | None = None
        self.last_at: float | None = None

    def enter(self) -> None:
        with self.lock:
            now = time.time()
            self.requests += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self.first_at = self.first_at or now
            self.last_at = now

    def leave(self) -> None:
        with self.lock:
            self.in_flight -= 1

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                "requests": self.requests,
                "in_flight": self.in_flight,
                "max_in_flight": self.max_in_flight,
                "first_at": self.first_at,
                "last_at": self.last_at,
            }


def handler(counters: Counters, delay_s: float) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, like a real provider

        def do_GET(self) -> None:  # noqa: N802 (http.server naming)
            if self.path.rstrip("/") == "/stats":
                self.reply(200, counters.snapshot())
            else:
                self.reply(404, {"error": {"message": f"no route {self.path}"}})

        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            if self.path.rstrip("/") != "/v1/chat/completions":
                self.reply(404, {"error": {"message": f"no route {self.path}"}})
                return
            counters.enter()
            try:
                time.sleep(delay_s)
            finally:
                counters.leave()
            self.reply(200, {
                "id": "chatcmpl-bench",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body.get("model"),
                "choices": [{
                    "index": 0,
                    "message": {"role": "assistant", "content": ANSWER},
                    "finish_reason": "stop",
                }],
                "usage": USAGE,
            })

        def reply(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *_: Any) -> None:
            pass  # one line per request would drown the benchmark's output

    return Handler


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a caller that hung up (the server stopping mid-call) is not the judge's error


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay-ms", type=float, default=200.0)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file", required=True)
    args = parser.parse_args()
    server = QuietServer(("127.0.0.1", args.port), handler(Counters(), args.delay_ms / 1000))
    with open(args.port_file, "w", encoding="utf-8") as out:
        out.write(str(server.server_address[1]))
    server.serve_forever()


if __name__ == "__main__":
    main()
