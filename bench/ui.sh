#!/usr/bin/env bash
# Server time of the web UI's heaviest reads on a release `periscope serve` (embedded SQLite)
# holding >= 1M traces (see docs/benchmarks.md, "Web UI pages"): the traces page's first
# request (`GET /api/public/traces?page=1&limit=50`, exactly as the UI sends it) p50/p99
# <= 500 ms, and the trace page's request for a trace of 1,000 observations
# (`GET /api/public/traces/{id}`) <= 1 s.
#
# Loads through the real ingest path (`periscope-bench load --no-markers`, five spans per
# trace) in rounds until the store holds BENCH_TRACES traces, sends the 1,000-observation
# trace through `/api/public/ingestion`, then times BENCH_REQUESTS sequential requests of each
# with curl (`time_starttransfer`: request sent → first response byte, i.e. server time plus
# one loopback round trip), then, when node and tests/ui's playwright-core are there, times
# both pages in headless Chromium from navigation to the last row drawn (bench/ui_render.mjs).
#
# Settings (environment):
#   BENCH_TRACES=1000000     traces to load before reading
#   BENCH_LOAD_RATE=14000    spans/s offered while loading (the server pushes back above what
#                            it sustains)
#   BENCH_REQUESTS=50        timed requests per page
#   BENCH_SKIP_BUILD=0       1: use the release binaries already in CARGO_TARGET_DIR
#   BENCH_DATA_DIR=""        a directory: keep the data dir there and reuse it on the next run
#                            (BENCH_PUBLIC_KEY / BENCH_SECRET_KEY must then stay the same)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
cache="${PERISCOPE_CACHE_DIR:-$HOME/.cache/periscope}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$cache/target}"
target_traces="${BENCH_TRACES:-1000000}"
load_rate="${BENCH_LOAD_RATE:-14000}"
requests="${BENCH_REQUESTS:-50}"
public_key="${BENCH_PUBLIC_KEY:-pk-lf-bench-ui}"
secret_key="${BENCH_SECRET_KEY:-sk-lf-bench-ui-secret}"
work="$(mktemp -d -t periscope-ui-bench.XXXXXX)"
role_pid=""
# shellcheck source=bench/lib.sh
source "$root/bench/lib.sh"

cleanup() {
  stop_pid "$role_pid"
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

build_release
data_dir="${BENCH_DATA_DIR:-$work/data}"
step "machine: $(nproc) cores, load average $(load_average); data dir $data_dir"
http_port="$(free_port)"
grpc_port="$(free_port)"
while [ "$grpc_port" = "$http_port" ]; do grpc_port="$(free_port)"; done
http_url="http://127.0.0.1:$http_port"
grpc_url="http://127.0.0.1:$grpc_port"
PERISCOPE_INIT_PROJECT_PUBLIC_KEY="$public_key" PERISCOPE_INIT_PROJECT_SECRET_KEY="$secret_key" \
PERISCOPE_LOG="${BENCH_SERVER_LOG:-warn}" "$CARGO_TARGET_DIR/release/periscope" serve \
  --data-dir "$data_dir" --http-addr "127.0.0.1:$http_port" --grpc-addr "127.0.0.1:$grpc_port" \
  >"$work/serve.log" 2>&1 &
role_pid=$!
wait_live "$http_url" "$role_pid" "$work/serve.log"

total_traces() {
  curl -fsS -u "$public_key:$secret_key" "$http_url/api/public/traces?limit=1" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["meta"]["totalItems"])'
}

round=0
while [ "$(total_traces)" -lt "$target_traces" ]; do
  round=$((round + 1))
  step "loading, round $round: $(total_traces) of $target_traces traces (load average $(load_average))"
  "$bench" load --http "$http_url" --grpc "$grpc_url" --rate "$load_rate" --concurrency 16 \
    --duration 120s --no-markers --public-key "$public_key" --secret-key "$secret_key" \
    --label "ui-load-$round" >"$work/load.out" 2>/dev/null || echo "load round $round failed" >&2
  grep -E '^(accepted|rejected|drain)' "$work/load.out" || true
done
step "loaded: $(total_traces) traces"

step "sending a trace of 1,000 observations through /api/public/ingestion"
big_trace="$(python3 "$root/bench/ui_big_trace.py" "$http_url" "$public_key" "$secret_key" 1000)"

# Prints "p50 p99 max" in ms of BENCH_REQUESTS sequential GETs of $1 (first byte, then body).
time_requests() {
  local url="$1"
  for _ in $(seq 1 "$requests"); do
    curl -fsS -o /dev/null -u "$public_key:$secret_key" \
      -w '%{time_starttransfer} %{time_total}\n' "$url"
  done | python3 -c '
import sys
rows = [tuple(float(v) * 1000 for v in line.split()) for line in sys.stdin]
def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]
first = [r[0] for r in rows]
total = [r[1] for r in rows]
print(f"n={len(rows)} first byte p50 {pct(first, 50):.1f} ms, p99 {pct(first, 99):.1f} ms, "
      f"max {max(first):.1f} ms | full body p50 {pct(total, 50):.1f} ms, p99 {pct(total, 99):.1f} ms")
'
}

step "traces page: GET /api/public/traces?page=1&limit=50 (load average $(load_average))"
time_requests "$http_url/api/public/traces?page=1&limit=50"
step "trace page: GET /api/public/traces/$big_trace (1,000 observations)"
time_requests "$http_url/api/public/traces/$big_trace"
step "trace page of a five-span trace"
small_trace="$(curl -fsS -u "$public_key:$secret_key" "$http_url/api/public/traces?page=1&limit=1" |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["data"][0]["id"])')"
time_requests "$http_url/api/public/traces/$small_trace"

if command -v node >/dev/null && [ -d "$root/tests/ui/node_modules/playwright-core" ] &&
  [ -x "${PERISCOPE_CHROMIUM:-/usr/bin/chromium}" ]; then
  step "in the browser: navigation → rows drawn (headless chromium, 10 runs each)"
  node "$root/bench/ui_render.mjs" "$http_url" "$public_key" "$secret_key" "$big_trace" 10
else
  step "skipping the browser timings (needs node, chromium and npm ci in tests/ui)"
fi
