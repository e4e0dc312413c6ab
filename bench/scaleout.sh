#!/usr/bin/env bash
# Ingest throughput per core of the scale-out `periscope ingest` role (issue 3; see
# docs/benchmarks.md): >= 40,000 LLM spans/s per ingest core, ingester RSS <= 256 MiB and flat
# while the backlog grows.
#
# For every protocol: a fresh Postgres database (API keys) and Kafka namespace (topics), then
# ONLY `periscope ingest` (release) — no enrich or sink consumes, so the backlog grows for the
# whole run; `pipeline.max_backlog_events` is set out of reach so that backpressure never
# answers. `periscope-bench load --ingest-only` drives it in a closed loop and reports accepted
# spans/s, request latency, the ingester's CPU (spans/s per core = accepted / server cores),
# its RSS once a second, and the Kafka broker's CPU (it shares the machine). Afterwards the
# run's topics and database are deleted (the broker here keeps topics in memory).
#
# Needs the dev services: eval "$(deploy/dev-services.sh start)" (run here if unset).
#
# Settings (environment):
#   BENCH_DURATION=30s                 how long each run sends
#   BENCH_PROTOCOLS="grpc http+gzip"   any of grpc, grpc+gzip, http, http+gzip
#   BENCH_CONCURRENCY=16               requests in flight
#   BENCH_GRPC_CONNECTIONS=4           HTTP/2 connections the gRPC load is spread over
#   BENCH_SPANS_PER_REQUEST=100        spans per request
#   BENCH_PIN=0                        CPU list for `taskset -c` of the ingester ("" = no pin)
#   BENCH_RESULTS=FILE                 where the JSON lines go
#   BENCH_SKIP_BUILD=0                 1: use the release binaries already in CARGO_TARGET_DIR
# Extra arguments go to every `periscope-bench load`.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
cache="${PERISCOPE_CACHE_DIR:-$HOME/.cache/periscope}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$cache/target}"
duration="${BENCH_DURATION:-30s}"
read -r -a protocols <<< "${BENCH_PROTOCOLS:-grpc http+gzip}"
concurrency="${BENCH_CONCURRENCY:-16}"
grpc_connections="${BENCH_GRPC_CONNECTIONS:-4}"
spans_per_request="${BENCH_SPANS_PER_REQUEST:-100}"
pin="${BENCH_PIN-0}"
mkdir -p "$cache/bench"
results="${BENCH_RESULTS:-$cache/bench/scaleout-$(date +%Y%m%d-%H%M%S).jsonl}"
postgres_admin="${BENCH_POSTGRES_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}"

public_key="pk-lf-bench-$RANDOM$RANDOM"
secret_key="sk-lf-bench-$RANDOM$RANDOM$RANDOM"
work="$(mktemp -d -t periscope-scaleout.XXXXXX)"
role_pid=""
database=""
namespace=""
# shellcheck source=bench/lib.sh
source "$root/bench/lib.sh"

cleanup() {
  stop_pid "$role_pid"
  forget_run
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -z "${PERISCOPE__KAFKA__BROKERS:-}" ]; then
  step "starting the dev services"
  eval "$(deploy/dev-services.sh start)"
fi
build_release
kafka_pid="$(cat "${PERISCOPE_SERVICES_DIR:-$HOME/.cache/periscope/services}/run/kafka.pid" 2>/dev/null || true)"
observe=()
if [ -n "$kafka_pid" ] && kill -0 "$kafka_pid" 2>/dev/null; then
  observe=(--observe-pid "kafka=$kafka_pid")
fi
pin_prefix=()
if [ -n "$pin" ]; then pin_prefix=(taskset -c "$pin"); fi

step "machine: $(nproc) cores, load average $(load_average); ingester pinned to CPUs '${pin:-none}'; results → $results"
for protocol in "${protocols[@]}"; do
  case "$protocol" in
    grpc) flags=(--protocol grpc) ;;
    grpc+gzip) flags=(--protocol grpc --gzip) ;;
    http) flags=(--protocol http) ;;
    http+gzip) flags=(--protocol http --gzip) ;;
    *) echo "unknown protocol '$protocol' (grpc, grpc+gzip, http, http+gzip)" >&2; exit 2 ;;
  esac
  fresh_scaleout_env
  label="ingest-$protocol-c$concurrency"
  step "$label: only \`periscope ingest\` (Kafka namespace $namespace, database $database)"
  # Only what the ingest role needs: Kafka, Postgres for keys; the other backends unset
  # (the blob store for oversized bodies stays in the data dir: these spans never use it).
  PERISCOPE_INIT_PROJECT_PUBLIC_KEY="$public_key" \
    PERISCOPE_INIT_PROJECT_SECRET_KEY="$secret_key" \
    PERISCOPE_LOG="${BENCH_SERVER_LOG:-warn}" \
    start_role "$label" env -u PERISCOPE__CLICKHOUSE__URL -u PERISCOPE__REDIS__URL \
      -u PERISCOPE__S3__ENDPOINT "${pin_prefix[@]}" -- ingest
  step "$label: $duration, ingester pid $role_pid (load average $(load_average))"
  "$bench" load --http "$http_url" --grpc "$grpc_url" "${flags[@]}" --ingest-only \
    --concurrency "$concurrency" --grpc-connections "$grpc_connections" \
    --duration "$duration" --spans-per-request "$spans_per_request" \
    --public-key "$public_key" --secret-key "$secret_key" --server-pid "$role_pid" \
    "${observe[@]}" --label "$label" --json-out "$results" "$@" || echo "run $label failed" >&2
  stop_pid "$role_pid"
  role_pid=""
  forget_run
done

if [ ! -s "$results" ]; then
  echo "no run produced results" >&2
  exit 1
fi
step "summary ($results)"
python3 - "$results" <<'PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
print(f"{'run':<22}{'accepted/s':>11}{'srv cores':>10}{'per core':>10}{'req p99':>9}{'429':>6}{'err':>5}"
      f"{'peak RSS':>9}{'first→last RSS (MiB)':>22}{'kafka':>7}  load avg")
for r in rows:
    cores = r.get("server_cpu_cores") or 0
    mem = r.get("server_memory") or {}
    timeline = mem.get("timeline_mib") or [0]
    kafka = (r.get("observed_cpu_cores") or {}).get("kafka", 0)
    errors = sum((r.get("failures") or {}).values())
    load = " ".join(f"{x:.2f}" for x in (r.get("load_average_end") or []))
    per_core = r["accepted_spans_per_s"] / cores if cores else 0
    print(f"{r['label']:<22}{r['accepted_spans_per_s']:>11.0f}{cores:>10.2f}{per_core:>10.0f}"
          f"{(r.get('latency_ms') or {}).get('p99', 0):>9.1f}{r['backpressure_429']:>6}{errors:>5}"
          f"{mem.get('peak_rss_mib', 0):>9.0f}{f'{timeline[0]:.0f} → {timeline[-1]:.0f}':>22}{kafka:>7.2f}  {load}")
PY
