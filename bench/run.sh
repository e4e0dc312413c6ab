#!/usr/bin/env bash
# Benchmarks a single-node `periscope serve` on this machine (see docs/benchmarks.md).
#
# Builds the release binaries, then for every protocol and concurrency level starts a fresh
# server on free loopback ports with a temporary data dir and key pair, drives it with
# `periscope-bench load`, and stops it. Prints each run's summary and collects the JSON lines.
#
# Settings (environment):
#   BENCH_DURATION=30s                 how long each run sends
#   BENCH_CONCURRENCY="2 4 8"          closed-loop concurrency levels ("" for none)
#   BENCH_RATES=""                     open-loop rates in spans/s, e.g. "2500 5000 10000"
#   BENCH_RATE_CONCURRENCY=16          most requests in flight in an open-loop run
#   BENCH_PROTOCOLS="grpc http+gzip"   any of grpc, grpc+gzip, http, http+gzip
#   BENCH_SPANS_PER_REQUEST=100        spans per request (5 per trace)
#   BENCH_RESULTS=FILE                 where the JSON lines go (default under the cache dir)
#   BENCH_SERVER_LOG=warn              the server's log filter during the runs
#   BENCH_REUSE_SERVER=0               1: one server (and data dir) for every run
# Extra arguments go to every `periscope-bench load` (e.g. --rate 12000, --no-markers).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
cache="${PERISCOPE_CACHE_DIR:-$HOME/.cache/periscope}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$cache/target}"
duration="${BENCH_DURATION:-30s}"
read -r -a levels <<< "${BENCH_CONCURRENCY-2 4 8}"
read -r -a rates <<< "${BENCH_RATES:-}"
rate_concurrency="${BENCH_RATE_CONCURRENCY:-16}"
read -r -a protocols <<< "${BENCH_PROTOCOLS:-grpc http+gzip}"
spans_per_request="${BENCH_SPANS_PER_REQUEST:-100}"
server_log_filter="${BENCH_SERVER_LOG:-warn}"
reuse_server="${BENCH_REUSE_SERVER:-0}"
mkdir -p "$cache/bench"
results="${BENCH_RESULTS:-$cache/bench/results-$(date +%Y%m%d-%H%M%S).jsonl}"

public_key="pk-lf-bench-$RANDOM$RANDOM"
secret_key="sk-lf-bench-$RANDOM$RANDOM$RANDOM"
work="$(mktemp -d -t periscope-bench.XXXXXX)"
server_pid=""

step() { printf '\n==> %s\n' "$*" >&2; }

stop_server() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 1 150); do
      kill -0 "$server_pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$server_pid" 2>/dev/null; then
      echo "the server did not stop within 15 s; killing it" >&2
      kill -KILL "$server_pid" 2>/dev/null || true
    fi
    wait "$server_pid" 2>/dev/null || true
  fi
  server_pid=""
}

cleanup() {
  stop_server
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Starts a server with a fresh data dir; sets server_pid, http_url and grpc_url.
start_server() {
  local name="$1" data="$work/data-$1" log="$work/server-$1.log"
  local http_port grpc_port
  http_port="$(free_port)"
  grpc_port="$(free_port)"
  while [ "$grpc_port" = "$http_port" ]; do grpc_port="$(free_port)"; done
  http_url="http://127.0.0.1:$http_port"
  grpc_url="http://127.0.0.1:$grpc_port"
  PERISCOPE_INIT_PROJECT_PUBLIC_KEY="$public_key" \
  PERISCOPE_INIT_PROJECT_SECRET_KEY="$secret_key" \
  PERISCOPE_LOG="$server_log_filter" \
    "$CARGO_TARGET_DIR/release/periscope" serve --data-dir "$data" \
      --http-addr "127.0.0.1:$http_port" --grpc-addr "127.0.0.1:$grpc_port" >"$log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 300); do
    if curl -fsS -o /dev/null "$http_url/livez" 2>/dev/null; then
      return 0
    fi
    if ! kill -0 "$server_pid" 2>/dev/null; then
      echo "periscope serve exited during start-up; its log:" >&2
      cat "$log" >&2
      return 1
    fi
    sleep 0.1
  done
  echo "periscope serve did not answer $http_url/livez within 30 s; its log:" >&2
  tail -50 "$log" >&2
  return 1
}

step "building periscope and periscope-bench (release, CARGO_TARGET_DIR=$CARGO_TARGET_DIR)"
cargo build --release --locked -p periscope -p periscope-bench
bench="$CARGO_TARGET_DIR/release/periscope-bench"

step "machine: $(nproc) cores, $(free -m | awk '/^Mem:/ {print $2}') MiB RAM; results → $results"
if [ "$reuse_server" = 1 ]; then
  start_server shared
fi
for protocol in "${protocols[@]}"; do
  case "$protocol" in
    grpc) flags=(--protocol grpc) ;;
    grpc+gzip) flags=(--protocol grpc --gzip) ;;
    http) flags=(--protocol http) ;;
    http+gzip) flags=(--protocol http --gzip) ;;
    *) echo "unknown protocol '$protocol' in BENCH_PROTOCOLS (grpc, grpc+gzip, http, http+gzip)" >&2; exit 2 ;;
  esac
  runs=()
  for concurrency in "${levels[@]}"; do runs+=("c$concurrency"); done
  for rate in "${rates[@]}"; do runs+=("r$rate"); done
  for run in "${runs[@]}"; do
    label="$protocol-$run"
    case "$run" in
      c*) mode=(--concurrency "${run#c}") ;;
      r*) mode=(--concurrency "$rate_concurrency" --rate "${run#r}") ;;
    esac
    if [ "$reuse_server" != 1 ]; then
      start_server "$label"
    fi
    step "$label: $duration against pid $server_pid"
    "$bench" load --http "$http_url" --grpc "$grpc_url" "${flags[@]}" "${mode[@]}" \
      --duration "$duration" --spans-per-request "$spans_per_request" \
      --public-key "$public_key" --secret-key "$secret_key" --server-pid "$server_pid" \
      --label "$label" --json-out "$results" "$@" || echo "run $label failed" >&2
    if [ "$reuse_server" != 1 ]; then
      stop_server
      rm -rf "$work/data-$label"
    fi
  done
done
stop_server

if [ ! -s "$results" ]; then
  echo "no run produced results" >&2
  exit 1
fi
step "summary ($results)"
python3 - "$results" <<'EOF'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
head = f"{'run':<16}{'accepted/s':>11}{'sustained/s':>12}{'req p99 ms':>11}{'429':>6}{'err':>5}" \
       f"{'query p50':>10}{'query p99':>10}{'drain s':>8}{'peak RSS':>9}{'srv cpu':>8}"
print(head)
for r in rows:
    q = r.get("queryable_ms") or {}
    lat = r.get("latency_ms") or {}
    mem = r.get("server_memory") or {}
    errors = sum((r.get("failures") or {}).values())
    print(f"{r['label']:<16}{r['accepted_spans_per_s']:>11.0f}{(r.get('sustained_spans_per_s') or 0):>12.0f}"
          f"{lat.get('p99', 0):>11.1f}{r['backpressure_429']:>6}{errors:>5}"
          f"{q.get('p50', 0):>10.0f}{q.get('p99', 0):>10.0f}{(r.get('drain_s') or -1):>8.2f}"
          f"{mem.get('peak_rss_mib', 0):>9.0f}{(r.get('server_cpu_cores') or 0):>8.2f}")
EOF
