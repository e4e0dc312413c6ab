"""Sends one trace of N observations through /api/public/ingestion and waits until the read
API returns all of them; prints the trace id. Used by bench/ui.sh.

Usage: python3 bench/ui_big_trace.py BASE_URL PUBLIC_KEY SECRET_KEY N
"""

import base64
import datetime
import json
import sys
import time
import urllib.error
import urllib.request
import uuid

BATCH = 250  # events per ingestion request (keeps each body well under the size limit)


def call(base, auth, method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method)
    request.add_header("Authorization", auth)
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read() or b"null")


def send_with_retries(base, auth, body):
    """Posts one ingestion batch; a loaded server answers 429 (push back), so wait and retry."""
    for _ in range(600):
        try:
            return call(base, auth, "POST", "/api/public/ingestion", body)
        except urllib.error.HTTPError as error:
            if error.code not in (429, 503):
                raise
            time.sleep(float(error.headers.get("Retry-After") or 0.2))
    sys.exit("the server kept answering 429 to the ingestion batch")


def iso(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def main():
    base, public_key, secret_key, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    auth = "Basic " + base64.b64encode(f"{public_key}:{secret_key}".encode()).decode()
    trace_id = uuid.uuid4().hex
    start = datetime.datetime.now(datetime.timezone.utc)
    events = [{
        "id": str(uuid.uuid4()), "type": "trace-create", "timestamp": iso(start),
        "body": {"id": trace_id, "name": "ui-bench-large", "timestamp": iso(start),
                 "input": {"question": "a long agent run"}, "output": {"answer": "done"}},
    }]
    root_id = uuid.uuid4().hex
    for index in range(count):
        begin = start + datetime.timedelta(milliseconds=index * 10)
        end = begin + datetime.timedelta(milliseconds=8)
        generation = index % 4 == 3
        body = {
            "id": root_id if index == 0 else uuid.uuid4().hex,
            "traceId": trace_id,
            "name": f"step-{index}",
            "startTime": iso(begin),
            "endTime": iso(end),
            "input": {"step": index, "note": "x" * 200},
            "output": {"result": index, "note": "y" * 200},
        }
        if index > 0:
            body["parentObservationId"] = root_id
        if generation:
            body["model"] = "gpt-4o-mini"
            body["usageDetails"] = {"input": 120, "output": 40}
        events.append({
            "id": str(uuid.uuid4()),
            "type": "generation-create" if generation else "span-create",
            "timestamp": iso(begin), "body": body,
        })
    for first in range(0, len(events), BATCH):
        answer = send_with_retries(base, auth, {"batch": events[first:first + BATCH]})
        if answer.get("errors"):
            sys.exit(f"ingestion refused events: {answer['errors'][:3]}")
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            trace = call(base, auth, "GET", f"/api/public/traces/{trace_id}")
            if len(trace.get("observations", [])) >= count:
                print(trace_id)
                return
        except urllib.error.HTTPError as error:
            if error.code != 404:
                raise
        time.sleep(1)
    sys.exit(f"trace {trace_id} did not show {count} observations within 300 s")


if __name__ == "__main__":
    main()
