#!/usr/bin/env bash
# Read latency of a fresh release `periscope serve` (embedded SQLite) holding >= 1M
# observations (see docs/benchmarks.md): trace by id p99 <= 100 ms, filtered lists
# p99 <= 300 ms.
#
# Starts one server (temporary data dir and key pair), loads it with `periscope-bench load`
# in rounds until it holds BENCH_OBSERVATIONS observations, then runs `periscope-bench query`
# closed loop (BENCH_QUERY_CONCURRENCY in flight) and, if BENCH_QUERY_RATE is set, open loop.
# To measure another deployment (e.g. the scale-out roles with ClickHouse), load it and run
# `periscope-bench query --http URL --public-key … --secret-key …` against its api.
#
# Settings (environment):
#   BENCH_OBSERVATIONS=1000000     observations to load before reading
#   BENCH_LOAD_RATE=12000          spans/s offered while loading (the server pushes back above
#                                  what it sustains)
#   BENCH_LOAD_ROUND=60s           length of one loading round (the count is checked between)
#   BENCH_PHASE=20s                length of each read phase
#   BENCH_QUERY_CONCURRENCY=4      reads in flight (closed loop)
#   BENCH_QUERY_RATE=""            also an open-loop run at this many reads/s
#   BENCH_RESULTS=FILE             where the JSON lines go
#   BENCH_SKIP_BUILD=0             1: use the release binaries already in CARGO_TARGET_DIR
#   BENCH_KEEP_DATA=""             a directory: keep the loaded data dir there for later runs
#   BENCH_KEEP_CLICKHOUSE=""       1: keep the scale-out run's ClickHouse database (to inspect
#                                  its query log); drop it yourself afterwards
#   BENCH_REUSE_CLICKHOUSE=""      scale-out: a database kept by an earlier run
#                                  (BENCH_KEEP_CLICKHOUSE=1): start only the api on it (which
#                                  runs any new migration), load nothing more, keep it
#   BENCH_SETTLE_TIMEOUT=600       scale-out: at most this many seconds to wait, after loading,
#                                  until ClickHouse runs no merge of the bench database
#   BENCH_QUERY_ROLE=serve         serve: one `periscope serve` (SQLite); scaleout: `periscope
#                                  ingest` + `process enrich` + `sink traces` + `api` on Kafka,
#                                  ClickHouse, Postgres and Redis (fresh namespace, databases and
#                                  key prefix; needs the dev services); reads go to the api
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
cache="${PERISCOPE_CACHE_DIR:-$HOME/.cache/periscope}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$cache/target}"
target_observations="${BENCH_OBSERVATIONS:-1000000}"
load_rate="${BENCH_LOAD_RATE:-12000}"
phase="${BENCH_PHASE:-20s}"
load_round="${BENCH_LOAD_ROUND:-60s}"
query_concurrency="${BENCH_QUERY_CONCURRENCY:-4}"
query_rate="${BENCH_QUERY_RATE:-}"
query_role="${BENCH_QUERY_ROLE:-serve}"
postgres_admin="${BENCH_POSTGRES_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
mkdir -p "$cache/bench"
results="${BENCH_RESULTS:-$cache/bench/query-$(date +%Y%m%d-%H%M%S).jsonl}"

public_key="pk-lf-bench-$RANDOM$RANDOM"
secret_key="sk-lf-bench-$RANDOM$RANDOM$RANDOM"
work="$(mktemp -d -t periscope-query.XXXXXX)"
role_pid=""
role_pids=()
database=""
namespace=""
clickhouse_database=""
# shellcheck source=bench/lib.sh
source "$root/bench/lib.sh"

cleanup() {
  for pid in "${role_pids[@]}"; do stop_pid "$pid"; done
  forget_run
  if [ -n "$clickhouse_database" ] && [ -n "${BENCH_KEEP_CLICKHOUSE:-}" ]; then
    echo "kept ClickHouse database $clickhouse_database" >&2
  elif [ -n "$clickhouse_database" ]; then
    curl -fsS "$PERISCOPE__CLICKHOUSE__URL" --data-binary "DROP DATABASE IF EXISTS $clickhouse_database" \
      >/dev/null 2>&1 || echo "could not drop ClickHouse database $clickhouse_database" >&2
  fi
  if [ -n "${BENCH_KEEP_DATA:-}" ] && [ -d "$work/data-serve" ]; then
    rm -rf "$BENCH_KEEP_DATA" && mv "$work/data-serve" "$BENCH_KEEP_DATA"
    echo "kept the data dir in $BENCH_KEEP_DATA (keys $public_key / $secret_key)" >&2
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

build_release
step "machine: $(nproc) cores, load average $(load_average); results → $results"
export PERISCOPE_INIT_PROJECT_PUBLIC_KEY="$public_key" PERISCOPE_INIT_PROJECT_SECRET_KEY="$secret_key"
export PERISCOPE_LOG="${BENCH_SERVER_LOG:-warn}"
case "$query_role" in
  serve)
    start_role serve -- serve
    role_pids+=("$role_pid")
    server_pid="$role_pid"
    load_http="$http_url"
    load_grpc="$grpc_url"
    ;;
  scaleout)
    if [ -z "${PERISCOPE__KAFKA__BROKERS:-}" ]; then
      step "starting the dev services"
      eval "$(deploy/dev-services.sh start)"
    fi
    fresh_scaleout_env
    # Loading is the point here: push back as a real deployment would.
    unset PERISCOPE__PIPELINE__MAX_BACKLOG_EVENTS
    clickhouse_database="periscope_bench_${database#periscope_bench_}"
    roles=(ingest "process enrich" "sink traces" api)
    if [ -n "${BENCH_REUSE_CLICKHOUSE:-}" ]; then
      # Reads of a database an earlier run kept: only the api, and the database stays.
      clickhouse_database="$BENCH_REUSE_CLICKHOUSE"
      export BENCH_KEEP_CLICKHOUSE=1
      roles=(api)
    fi
    export PERISCOPE__CLICKHOUSE__DATABASE="$clickhouse_database"
    step "scale-out: Kafka namespace $namespace, ClickHouse $clickhouse_database, Postgres $database"
    for role in "${roles[@]}"; do
      read -r -a role_args <<< "$role"
      start_role "${role// /-}" env -u PERISCOPE__S3__ENDPOINT -- "${role_args[@]}"
      role_pids+=("$role_pid")
      case "$role" in
        ingest) load_grpc="$grpc_url" ;;
        api) load_http="$http_url"; server_pid="$role_pid" ;;
      esac
    done
    http_url="$load_http"
    ;;
  *) echo "BENCH_QUERY_ROLE must be serve or scaleout, got '$query_role'" >&2; exit 2 ;;
esac

observations() {
  curl -fsS -u "$public_key:$secret_key" "$http_url/api/public/observations?limit=1" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["meta"]["totalItems"])'
}

round=0
while [ "$(observations)" -lt "$target_observations" ]; do
  round=$((round + 1))
  step "loading, round $round: $(observations) of $target_observations observations (load average $(load_average))"
  "$bench" load --http "$load_http" --grpc "$load_grpc" --rate "$load_rate" --concurrency 16 \
    --duration "$load_round" --no-markers --public-key "$public_key" --secret-key "$secret_key" \
    --server-pid "$server_pid" --label "query-load-$round" --json-out "$results" \
    >"$work/load.out" 2>/dev/null || echo "load round $round failed" >&2
  grep -E '^(==|accepted|latency|rejected|drain|server rss|cpu)' "$work/load.out" || true
done
step "loaded: $(observations) observations"

if [ -n "$clickhouse_database" ]; then
  # Reads measured while ClickHouse still merges the parts of a load at full speed on the same
  # two cores measure the merges; wait (bounded) until none runs, as in a deployment between
  # bursts, and report how long that took.
  settle_timeout="${BENCH_SETTLE_TIMEOUT:-600}"
  settled_polls=0
  settle_started=$SECONDS
  while [ $((SECONDS - settle_started)) -lt "$settle_timeout" ] && [ "$settled_polls" -lt 3 ]; do
    merges="$(curl -fsS "$PERISCOPE__CLICKHOUSE__URL" --data-binary \
      "SELECT count() FROM system.merges WHERE database = '$clickhouse_database'")"
    if [ "$merges" = "0" ]; then settled_polls=$((settled_polls + 1)); else settled_polls=0; fi
    sleep 2
  done
  step "ClickHouse merges settled after $((SECONDS - settle_started)) s (load average $(load_average))"
fi

step "reads, closed loop, $query_concurrency in flight (load average $(load_average))"
"$bench" query --http "$http_url" --public-key "$public_key" --secret-key "$secret_key" \
  --server-pid "$server_pid" --concurrency "$query_concurrency" --duration "$phase" \
  --label "$query_role-closed-c$query_concurrency" --json-out "$results"
if [ -n "$query_rate" ]; then
  step "reads, open loop at $query_rate/s (load average $(load_average))"
  "$bench" query --http "$http_url" --public-key "$public_key" --secret-key "$secret_key" \
    --server-pid "$server_pid" --concurrency 64 --rate "$query_rate" --duration "$phase" \
    --label "$query_role-open-r$query_rate" --json-out "$results"
fi
