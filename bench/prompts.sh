#!/usr/bin/env bash
# Prompt-fetch latency of a fresh release `periscope serve` (issue 4; see docs/benchmarks.md):
# p99 <= 10 ms from the cache and <= 50 ms uncached, under ingest load.
#
# Starts one server (temporary data dir and key pair), then runs `periscope-bench prompts`
# (cached, uncached and cache-invalidated phases) first on an idle server, then while
# `periscope-bench load` ingests BENCH_LOAD_RATE spans/s into the same server.
#
# Settings (environment):
#   BENCH_PROMPTS=1200            prompt names per run (half text, half chat; fresh per run)
#   BENCH_VERSIONS=4              versions per name
#   BENCH_HOT=20                  names in the cached phase's hot set
#   BENCH_PHASE=20s               length of each phase
#   BENCH_FETCH_RATE=500          open-loop fetches/s ("" for a closed loop only)
#   BENCH_FETCH_CONCURRENCY=64    most fetches in flight in the open loop
#   BENCH_INVALIDATE_EVERY=100ms  the invalidated phase writes a version this often ("" skips it)
#   BENCH_LOAD_RATE=5000          ingest spans/s of the loaded runs ("" skips them)
#   BENCH_LOAD_PROTOCOL=grpc      grpc or http (+ --gzip via BENCH_LOAD_ARGS)
#   BENCH_LOAD_ARGS=""            extra arguments of the load
#   BENCH_RESULTS=FILE            where the JSON lines go
#   BENCH_SKIP_BUILD=0            1: use the release binaries already in CARGO_TARGET_DIR
#   BENCH_PROMPTS_ROLE=serve      serve: one `periscope serve` (SQLite); api: the scale-out
#                                 `periscope api` on Postgres + Redis + Kafka (fresh database,
#                                 key prefix and namespace; needs the dev services), loaded
#                                 through a separate `periscope ingest` (the backlog just grows)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
cache="${PERISCOPE_CACHE_DIR:-$HOME/.cache/periscope}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$cache/target}"
prompts="${BENCH_PROMPTS:-1200}"
versions="${BENCH_VERSIONS:-4}"
hot="${BENCH_HOT:-20}"
phase="${BENCH_PHASE:-20s}"
fetch_rate="${BENCH_FETCH_RATE-500}"
fetch_concurrency="${BENCH_FETCH_CONCURRENCY:-64}"
invalidate_every="${BENCH_INVALIDATE_EVERY-100ms}"
load_rate="${BENCH_LOAD_RATE-5000}"
load_protocol="${BENCH_LOAD_PROTOCOL:-grpc}"
read -r -a load_args <<< "${BENCH_LOAD_ARGS:-}"
prompts_role="${BENCH_PROMPTS_ROLE:-serve}"
postgres_admin="${BENCH_POSTGRES_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
mkdir -p "$cache/bench"
results="${BENCH_RESULTS:-$cache/bench/prompts-$(date +%Y%m%d-%H%M%S).jsonl}"

public_key="pk-lf-bench-$RANDOM$RANDOM"
secret_key="sk-lf-bench-$RANDOM$RANDOM$RANDOM"
work="$(mktemp -d -t periscope-prompts.XXXXXX)"
role_pid=""
server_pid=""
load_pid=""
ingest_pid=""
database=""
namespace=""
# shellcheck source=bench/lib.sh
source "$root/bench/lib.sh"

cleanup() {
  stop_pid "$load_pid"
  stop_pid "$ingest_pid"
  stop_pid "$server_pid"
  stop_pid "$role_pid"
  forget_run
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

build_release

step "machine: $(nproc) cores, load average $(load_average); results → $results"
export PERISCOPE_INIT_PROJECT_PUBLIC_KEY="$public_key" PERISCOPE_INIT_PROJECT_SECRET_KEY="$secret_key"
export PERISCOPE_LOG="${BENCH_SERVER_LOG:-warn}"
case "$prompts_role" in
  serve)
    start_role serve -- serve
    ;;
  api)
    if [ -z "${PERISCOPE__KAFKA__BROKERS:-}" ]; then
      step "starting the dev services"
      eval "$(deploy/dev-services.sh start)"
    fi
    fresh_scaleout_env
    step "scale-out: periscope api on Postgres $database, Redis prefix $PERISCOPE__REDIS__KEY_PREFIX, Kafka namespace $namespace"
    start_role api env -u PERISCOPE__CLICKHOUSE__URL -u PERISCOPE__S3__ENDPOINT -- api
    ;;
  *) echo "BENCH_PROMPTS_ROLE must be serve or api, got '$prompts_role'" >&2; exit 2 ;;
esac
server_pid="$role_pid"
api_http_url="$http_url"

# Runs one `prompts` measurement: run_prompts LABEL [extra args].
run_prompts() {
  local label="$1"
  shift
  local invalidate=()
  if [ -n "$invalidate_every" ]; then invalidate=(--invalidate-every "$invalidate_every"); fi
  step "$label (load average $(load_average))"
  "$bench" prompts --http "$api_http_url" --public-key "$public_key" --secret-key "$secret_key" \
    --server-pid "$server_pid" --prompts "$prompts" --versions "$versions" --hot "$hot" \
    --duration "$phase" "${invalidate[@]}" --label "$label" --json-out "$results" "$@"
}

run_all() {
  local when="$1"
  run_prompts "$when-closed-c4" --concurrency 4
  if [ -n "$fetch_rate" ]; then
    run_prompts "$when-open-r$fetch_rate" --rate "$fetch_rate" --concurrency "$fetch_concurrency"
  fi
}

run_all idle

if [ -n "$load_rate" ]; then
  step "ingest load: $load_rate spans/s over $load_protocol in the background"
  load_target=(--server-pid "$server_pid")
  if [ "$prompts_role" = api ]; then
    start_role ingest env -u PERISCOPE__CLICKHOUSE__URL -u PERISCOPE__S3__ENDPOINT -- ingest
    ingest_pid="$role_pid"
    load_target=(--server-pid "$ingest_pid" --ingest-only)
  fi
  "$bench" load --http "$http_url" --grpc "$grpc_url" --protocol "$load_protocol" \
    --rate "$load_rate" --concurrency 16 --duration 3600s --public-key "$public_key" \
    --secret-key "$secret_key" "${load_target[@]}" --label "ingest-$load_rate-during-prompts" \
    --json-out "$results" "${load_args[@]}" >"$work/load.out" 2>"$work/load.err" &
  load_pid=$!
  sleep 5
  if ! kill -0 "$load_pid" 2>/dev/null; then
    echo "the load stopped early:" >&2
    cat "$work/load.err" "$work/load.out" >&2
    exit 1
  fi
  run_all "load$load_rate"
  # SIGINT ends the load's sending; it then drains and prints its report.
  kill -INT "$load_pid"
  wait "$load_pid" || echo "the load exited with $?" >&2
  load_pid=""
  step "the ingest load during the loaded runs"
  cat "$work/load.out"
fi

step "summary ($results)"
python3 - "$results" <<'PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
print(f"{'run':<26}{'phase':<12}{'req/s':>8}{'p50':>8}{'p90':>8}{'p99':>8}{'max':>8}{'fail':>6}{'srv cpu':>8}  load avg")
for r in rows:
    if r.get("kind") != "prompts":
        continue
    for p in r["phases"]:
        lat = p.get("latency_ms") or {}
        fails = sum((p.get("failures") or {}).values())
        load = " ".join(f"{x:.2f}" for x in (p.get("load_average_end") or []))
        print(f"{r['label']:<26}{p['phase']:<12}{p['requests_per_s']:>8.0f}{lat.get('p50', 0):>8.2f}"
              f"{lat.get('p90', 0):>8.2f}{lat.get('p99', 0):>8.2f}{lat.get('max', 0):>8.1f}{fails:>6}"
              f"{(p.get('server_cpu_cores') or 0):>8.2f}  {load}")
for r in rows:
    if r.get("kind") != "prompts":
        print(f"ingest during the loaded runs: {r['accepted_spans_per_s']:.0f} spans/s accepted, "
              f"429s {r['backpressure_429']}, queryable p99 {(r.get('queryable_ms') or {}).get('p99')} ms")
PY
