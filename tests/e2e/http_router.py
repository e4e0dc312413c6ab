"""A path-routing HTTP front for a scaled-out deployment, as an ingress or nginx would be:
writes (OTLP/HTTP, `/ingestion`, `POST /scores`) go to the ingest role, everything else to the
api role. The Langfuse SDK takes one base URL for both, so the scale-out tests point it here."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

# Hop-by-hop headers, and those recomputed per hop, are not forwarded; bodies pass through
# byte for byte (still gzip-encoded where they were).
SKIPPED_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


def is_write(method: str, path: str) -> bool:
    path = path.split("?", 1)[0]
    if path.startswith("/api/public/otel/") or path == "/v1/traces" or path == "/api/public/ingestion":
        return True
    return method == "POST" and path == "/api/public/scores"


class HttpRouter:
    """Listens on 127.0.0.1:`port` and forwards each request to `ingest_url` or `api_url`."""

    def __init__(self, ingest_url: str, api_url: str) -> None:
        router = self
        self.ingest_url, self.api_url = ingest_url, api_url
        self.session = requests.Session()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                upstream = router.ingest_url if is_write(self.command, self.path) else router.api_url
                headers = {k: v for k, v in self.headers.items() if k.lower() not in SKIPPED_HEADERS}
                response = router.session.request(
                    self.command, upstream + self.path, data=body, headers=headers,
                    timeout=60, allow_redirects=False, stream=True,
                )
                content = response.raw.read(decode_content=False)
                self.send_response(response.status_code)
                for key, value in response.headers.items():
                    if key.lower() not in SKIPPED_HEADERS:
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _forward

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
