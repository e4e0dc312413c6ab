#!/usr/bin/env bash
# Throughput and latency of the scale-out pipeline (issue 3; see docs/benchmarks.md): ClickHouse
# sink rows/s and MB/s, and end-to-end ingest-to-queryable p50/p99.
#
# One fresh Kafka namespace, Postgres database and ClickHouse database; `periscope ingest`,
# `process enrich`, `sink traces` and `api` (release) run as separate processes, as deployed.
# Backpressure is off (`pipeline.max_backlog_events` out of reach, as in bench/scaleout.sh) so
# that the backlog of the second phase is not refused. Two phases:
#
#   steady    `periscope-bench load` over gRPC to ingest at a fixed offered rate, with marker
#             traces polled on the api's read API: accepted spans/s and ingest-to-queryable
#             p50/p90/p99/max; the sink's RSS and every role's CPU (`--observe-pid`).
#   catch-up  the sink is stopped (SIGTERM), a backlog of about BENCH_BACKLOG_SPANS is loaded
#             closed loop without markers (stopped by SIGTERM when the load's per-second progress
#             says it is reached; requests in flight add a little), enrich is let finish (its consumer lag reaches 0), then a fresh `sink traces`
#             starts. Catch-up time runs from its start until the api's observation count
#             (GET /api/public/observations?limit=1 → meta.totalItems) reaches the count before
#             plus the backlog. Sink rows and bytes are the written_rows / written_bytes of the
#             INSERTs into the run's ClickHouse database since the start (system.query_log);
#             rows/s and MB/s divide them by the catch-up time. Also the sink's peak RSS
#             (VmHWM, and VmRSS once a second), its CPU (/proc/PID/stat) and ClickHouse's and
#             the broker's CPU over the catch-up. Checks: observation rows written = spans
#             loaded, and trace rows written vs new distinct traces.
#
# Results: the load reports of both phases (labels pipeline-steady-r<rate>, pipeline-backlog)
# and one line of the catch-up (pipeline-catchup) go to BENCH_RESULTS as JSON lines; a summary
# table ends the run. The run's topics and databases are deleted on exit.
#
# Needs the dev services: eval "$(deploy/dev-services.sh start)" (run here if unset).
#
# Settings (environment):
#   BENCH_RATE=2000                spans/s offered in the steady phase (open loop); above what
#                                  the pipeline sustains the backlog, and the latency, grow
#                                  without bound (backpressure is off here)
#   BENCH_DURATION=60s             length of the steady phase
#   BENCH_CONCURRENCY=16           requests in flight (both loads)
#   BENCH_BACKLOG_SPANS=300000     spans loaded while the sink is stopped
#   BENCH_CATCHUP_TIMEOUT=900      seconds to wait for enrich, then for the sink, to catch up
#   BENCH_RESULTS=FILE             where the JSON lines go
#   BENCH_SKIP_BUILD=0             1: use the release binaries already in CARGO_TARGET_DIR
# Extra arguments go to the steady-phase `periscope-bench load`.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
cache="${PERISCOPE_CACHE_DIR:-$HOME/.cache/periscope}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$cache/target}"
rate="${BENCH_RATE:-2000}"
duration="${BENCH_DURATION:-60s}"
concurrency="${BENCH_CONCURRENCY:-16}"
backlog_target="${BENCH_BACKLOG_SPANS:-300000}"
catchup_timeout="${BENCH_CATCHUP_TIMEOUT:-900}"
postgres_admin="${BENCH_POSTGRES_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
mkdir -p "$cache/bench"
results="${BENCH_RESULTS:-$cache/bench/pipeline-$(date +%Y%m%d-%H%M%S).jsonl}"
services="${PERISCOPE_SERVICES_DIR:-$HOME/.cache/periscope/services}"

public_key="pk-lf-bench-$RANDOM$RANDOM"
secret_key="sk-lf-bench-$RANDOM$RANDOM$RANDOM"
work="$(mktemp -d -t periscope-pipeline.XXXXXX)"
role_pid=""
role_pids=()
backlog_pid=""
sampler_pid=""
database=""
namespace=""
clickhouse_database=""
# shellcheck source=bench/lib.sh
source "$root/bench/lib.sh"

cleanup() {
  if [ -n "$sampler_pid" ]; then kill "$sampler_pid" 2>/dev/null || true; fi
  stop_pid "$backlog_pid"
  for pid in "${role_pids[@]}"; do stop_pid "$pid"; done
  forget_run
  if [ -n "$clickhouse_database" ]; then
    curl -fsS "$PERISCOPE__CLICKHOUSE__URL" --data-binary "DROP DATABASE IF EXISTS $clickhouse_database" \
      >/dev/null 2>&1 || echo "could not drop ClickHouse database $clickhouse_database" >&2
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

clickhouse() { curl -fsS "$PERISCOPE__CLICKHOUSE__URL" --data-binary "$1"; }

# Prints the api's observation count, or -1 when the read fails (the api may be busy).
observations() {
  curl -fsS -u "$public_key:$secret_key" "$api_http/api/public/observations?limit=1" 2>/dev/null |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["meta"]["totalItems"])' 2>/dev/null ||
    echo -1
}

# Prints the value of series $2 (name{labels}) in the /metrics of the role at $1, or nothing.
metric() {
  curl -fsS "$1/metrics" 2>/dev/null | awk -v series="$2" '$1 == series { print $2; exit }'
}

# Prints the CPU clock ticks (user + system) process $1 has used, 0 once it is gone.
cpu_ticks() {
  local stat fields
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || { echo 0; return; }
  # The command name may hold spaces; utime and stime are fields 12 and 13 after its ')'.
  read -r -a fields <<< "${stat##*)}"
  echo $((fields[11] + fields[12]))
}

# Prints field $2 (VmRSS, VmHWM) of process $1 in KiB.
memory_kib() { awk -v field="$2:" '$1 == field { print $2 }' "/proc/$1/status" 2>/dev/null; }

# Prints the spans accepted so far and in the last second, summed from the progress lines a
# running `periscope-bench load` writes to stderr (file $1) once a second.
load_progress() {
  sed -n 's/.*\] accepted *\([0-9][0-9]*\) spans\/s.*/\1/p' "$1" |
    awk '{ total += $1; last = $1 } END { print total + 0, last + 0 }'
}

# Writes the pipeline counters of the sink at $1 to file $2 as NAME=VALUE lines.
save_sink_metrics() {
  local series value
  for series in received_events_total sent_events_total batches_total write_microseconds_total; do
    value="$(metric "$1" "periscope_pipeline_${series}{component=\"sink_traces\"}")"
    printf '%s=%s\n' "$series" "${value:-}"
  done >"$2"
}

now_us() { date +%s%6N; }
seconds_between() { awk -v from="$1" -v to="$2" 'BEGIN { printf "%.3f", (to - from) / 1e6 }'; }

if [ -z "${PERISCOPE__KAFKA__BROKERS:-}" ]; then
  step "starting the dev services"
  eval "$(deploy/dev-services.sh start)"
fi
build_release
ticks_per_second="$(getconf CLK_TCK)"
kafka_pid="$(cat "$services/run/kafka.pid" 2>/dev/null || true)"
clickhouse_pid="$(cat "$services/run/clickhouse.pid" 2>/dev/null || true)"

fresh_scaleout_env
clickhouse_database="periscope_bench_${database#periscope_bench_}"
export PERISCOPE__CLICKHOUSE__DATABASE="$clickhouse_database"
export PERISCOPE_INIT_PROJECT_PUBLIC_KEY="$public_key" PERISCOPE_INIT_PROJECT_SECRET_KEY="$secret_key"
export PERISCOPE_LOG="${BENCH_SERVER_LOG:-warn}"
step "machine: $(nproc) cores, load average $(load_average); results → $results"
step "scale-out: Kafka namespace $namespace, ClickHouse $clickhouse_database, Postgres $database"
# The blob store stays in each role's data dir: these spans never offload a payload.
for role in ingest "process enrich" "sink traces" api; do
  read -r -a role_args <<< "$role"
  start_role "${role// /-}" env -u PERISCOPE__S3__ENDPOINT -- "${role_args[@]}"
  role_pids+=("$role_pid")
  case "$role" in
    ingest) ingest_pid="$role_pid"; ingest_grpc="$grpc_url" ;;
    "process enrich") enrich_pid="$role_pid"; enrich_http="$http_url" ;;
    "sink traces") sink_pid="$role_pid"; sink_http="$http_url" ;;
    api) api_pid="$role_pid"; api_http="$http_url" ;;
  esac
done
observe=(--observe-pid "ingest=$ingest_pid" --observe-pid "enrich=$enrich_pid"
  --observe-pid "api=$api_pid")
for service in kafka clickhouse; do
  pid_var="${service}_pid"
  if [ -n "${!pid_var}" ] && kill -0 "${!pid_var}" 2>/dev/null; then
    observe+=(--observe-pid "$service=${!pid_var}")
  fi
done

# Phase 1: steady load with markers; the load's drain leaves every accepted span queryable.
# Markers poll gently: each poll is a trace read in ClickHouse, and the load's defaults (a marker
# every 100 ms, read every 20 ms) spent more of ClickHouse's CPU than the spans did (p50 31 s
# at 2,000 spans/s, against 0.6 s with these settings).
step "steady: $rate spans/s offered for $duration, gRPC to ingest, markers read on the api; sink pid $sink_pid (load average $(load_average))"
"$bench" load --http "$api_http" --grpc "$ingest_grpc" --protocol grpc --rate "$rate" \
  --concurrency "$concurrency" --duration "$duration" --public-key "$public_key" \
  --secret-key "$secret_key" --server-pid "$sink_pid" "${observe[@]}" \
  --marker-interval 1s --poll-interval 250ms --max-pending-markers 8 \
  --label "pipeline-steady-r$rate" --json-out "$results" "$@"

# Phase 2: sink catch-up.
save_sink_metrics "$sink_http" "$work/steady-sink-metrics.txt"
step "catch-up: stopping the sink (pid $sink_pid): $(tr '\n' ' ' <"$work/steady-sink-metrics.txt")"
stop_pid "$sink_pid"
step "catch-up: loading about $backlog_target spans with the sink stopped (closed loop, no markers)"
"$bench" load --http "$api_http" --grpc "$ingest_grpc" --protocol grpc --ingest-only \
  --concurrency "$concurrency" --grpc-connections 4 --duration 3600s \
  --public-key "$public_key" --secret-key "$secret_key" --server-pid "$ingest_pid" \
  --observe-pid "enrich=$enrich_pid" --label pipeline-backlog --json-out "$results" \
  >"$work/backlog.out" 2>"$work/backlog.err" &
backlog_pid=$!
while kill -0 "$backlog_pid" 2>/dev/null; do
  read -r loaded last_second <<< "$(load_progress "$work/backlog.err")"
  if [ "$loaded" -ge "$backlog_target" ]; then break; fi
  if [ "$last_second" -gt 0 ] && [ $((loaded + last_second)) -ge "$backlog_target" ]; then
    # Less than a second left at the last second's pace: send the rest, then stop.
    sleep "$(awk -v left=$((backlog_target - loaded)) -v pace="$last_second" \
      'BEGIN { printf "%.3f", left / pace }')"
    break
  fi
  sleep 0.2
done
# SIGTERM ends the load early with a full report.
kill -TERM "$backlog_pid" 2>/dev/null || true
wait "$backlog_pid" || { tail -20 "$work/backlog.err" >&2; echo "the backlog load failed" >&2; exit 1; }
backlog_pid=""
grep -E '^(==|accepted|rejected)' "$work/backlog.out" || true
backlog_report="$(tail -1 "$work/backlog.out")"
# The load's preflight sends one single-span marker trace that its counts leave out.
backlog_spans="$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["accepted_spans"] + 1)' "$backlog_report")"

step "catch-up: waiting for enrich to consume the backlog (its consumer lag reaching 0)"
enrich_lag_series='periscope_pipeline_consumer_lag_events{component="enrich"}'
enrich_wait_from="$(now_us)"
# The lag gauge is refreshed once a second: give it time to see the end of the load.
sleep 2
while [ "$(metric "$enrich_http" "$enrich_lag_series")" != 0 ]; do
  if [ $(($(now_us) - enrich_wait_from)) -gt $((catchup_timeout * 1000000)) ]; then
    echo "enrich did not catch up within $catchup_timeout s" >&2
    exit 1
  fi
  sleep 0.5
done
enrich_wait_s="$(seconds_between "$enrich_wait_from" "$(now_us)")"
# The enrich role's backlog gauge is its own lag plus the sink group's: now the sink's alone.
records_backlog="$(metric "$enrich_http" periscope_pipeline_backlog_events)"
observations_before="$(observations)"
for _ in 1 2 3 4 5; do
  [ "$observations_before" -ge 0 ] && break
  sleep 1
  observations_before="$(observations)"
done
if [ "$observations_before" -lt 0 ]; then echo "the api does not answer its observation count" >&2; exit 1; fi
traces_before="$(clickhouse "SELECT uniqExact(id) FROM $clickhouse_database.traces")"
expected=$((observations_before + backlog_spans))
step "catch-up: $backlog_spans spans loaded, enrich done after ${enrich_wait_s} s, $records_backlog records for the sink; $observations_before observations → expecting $expected"

clickhouse_ticks_before="$(cpu_ticks "${clickhouse_pid:-0}")"
kafka_ticks_before="$(cpu_ticks "${kafka_pid:-0}")"
catchup_from="$(now_us)"
start_role sink-traces-catchup env -u PERISCOPE__S3__ENDPOINT -- sink traces
sink_pid="$role_pid"
sink_http="$http_url"
role_pids+=("$sink_pid")
( while kill -0 "$sink_pid" 2>/dev/null; do
    memory_kib "$sink_pid" VmRSS >>"$work/sink-rss.kib"
    sleep 1
  done ) &
sampler_pid=$!
step "catch-up: fresh sink pid $sink_pid; waiting for $expected observations (load average $(load_average))"
count=-1
reported=0
while [ "$count" -lt "$expected" ]; do
  if ! kill -0 "$sink_pid" 2>/dev/null; then
    tail -50 "$work/sink-traces-catchup.log" >&2
    echo "the sink exited during the catch-up" >&2
    exit 1
  fi
  elapsed=$(($(now_us) - catchup_from))
  if [ "$elapsed" -gt $((catchup_timeout * 1000000)) ]; then
    echo "the api counted $count of $expected observations after $catchup_timeout s" >&2
    exit 1
  fi
  if [ $((elapsed / 5000000)) -gt "$reported" ]; then
    reported=$((elapsed / 5000000))
    echo "[$((elapsed / 1000000))s] $count of $expected observations" >&2
  fi
  sleep 0.5
  count="$(observations)"
done
catchup_to="$(now_us)"
catchup_s="$(seconds_between "$catchup_from" "$catchup_to")"
sink_ticks="$(cpu_ticks "$sink_pid")"
clickhouse_ticks="$(($(cpu_ticks "${clickhouse_pid:-0}") - clickhouse_ticks_before))"
kafka_ticks="$(($(cpu_ticks "${kafka_pid:-0}") - kafka_ticks_before))"
sink_hwm_kib="$(memory_kib "$sink_pid" VmHWM)"
sink_rss_kib="$(memory_kib "$sink_pid" VmRSS)"
kill "$sampler_pid" 2>/dev/null || true
sampler_pid=""
step "catch-up: $count observations after $catchup_s s"

# A batch inserts its observations, then its traces: let the last traces insert finish.
sleep 2
save_sink_metrics "$sink_http" "$work/sink-metrics.txt"
clickhouse "SYSTEM FLUSH LOGS" >/dev/null
clickhouse "SELECT arrayJoin(tables) AS table, count() AS inserts,
    sum(written_rows) AS rows, sum(written_bytes) AS bytes,
    toUnixTimestamp64Micro(min(query_start_time_microseconds)) AS first_start_us,
    toUnixTimestamp64Micro(max(event_time_microseconds)) AS last_end_us
  FROM system.query_log
  WHERE query_kind = 'Insert' AND type = 'QueryFinish' AND has(databases, '$clickhouse_database')
    AND event_time_microseconds >= fromUnixTimestamp64Micro(toInt64($catchup_from))
  GROUP BY table ORDER BY table FORMAT JSONEachRow" >"$work/inserts.jsonl"
insert_errors="$(clickhouse "SELECT count() FROM system.query_log
  WHERE query_kind = 'Insert' AND type != 'QueryFinish' AND type != 'QueryStart'
    AND has(databases, '$clickhouse_database')
    AND event_time_microseconds >= fromUnixTimestamp64Micro(toInt64($catchup_from))")"
traces_after="$(clickhouse "SELECT uniqExact(id) FROM $clickhouse_database.traces")"

export work results backlog_target backlog_spans enrich_wait_s records_backlog observations_before \
  expected count catchup_from catchup_s ticks_per_second sink_ticks clickhouse_ticks kafka_ticks \
  clickhouse_pid kafka_pid sink_hwm_kib sink_rss_kib insert_errors traces_before traces_after
python3 - <<'PY'
import json, os
env = os.environ
number = lambda name: int(float(env.get(name) or 0))
work, catchup_s, ticks = env["work"], float(env["catchup_s"]), number("ticks_per_second")
tables = {}
for line in open(f"{work}/inserts.jsonl"):
    row = json.loads(line)
    table = row.pop("table").split(".", 1)[-1]
    tables[table] = {key: int(value) for key, value in row.items()}
rows = sum(table["rows"] for table in tables.values())
written_bytes = sum(table["bytes"] for table in tables.values())
first = min((table["first_start_us"] for table in tables.values()), default=0)
last = max((table["last_end_us"] for table in tables.values()), default=0)
rss_file = f"{work}/sink-rss.kib"
rss = [int(line) for line in open(rss_file) if line.strip()] if os.path.exists(rss_file) else []
def sink_metrics(name):
    """Reads the counters save_sink_metrics wrote."""
    counters = {}
    for line in open(f"{work}/{name}"):
        key, _, value = line.strip().partition("=")
        counters[key] = int(float(value)) if value else None
    return counters
mib = lambda kib: round(kib / 1024, 1)
cores = lambda name: round(number(name) / ticks / catchup_s, 2)
report = {
    "label": "pipeline-catchup",
    "backlog_spans_target": number("backlog_target"),
    "backlog_spans": number("backlog_spans"),
    "enrich_wait_s": float(env["enrich_wait_s"]),
    "records_backlog": number("records_backlog"),
    "observations_before": number("observations_before"),
    "observations_expected": number("expected"),
    "observations_after": number("count"),
    "catch_up_s": catchup_s,
    "sink_rows": rows,
    "sink_bytes": written_bytes,
    "sink_rows_per_s": round(rows / catchup_s),
    "sink_mb_per_s": round(written_bytes / 1e6 / catchup_s, 2),
    # Sink start-up (config, group join) up to its first insert, and first to last insert.
    "first_insert_after_s": round((first - number("catchup_from")) / 1e6, 3) if first else None,
    "insert_window_s": round((last - first) / 1e6, 3) if first else None,
    "insert_window_rows_per_s": round(rows / ((last - first) / 1e6)) if last > first else None,
    "inserts": tables,
    "insert_errors": number("insert_errors"),
    "observation_rows_match_spans": tables.get("observations", {}).get("rows", 0) == number("backlog_spans"),
    "new_traces": number("traces_after") - number("traces_before"),
    "sink_cpu_cores": cores("sink_ticks"),
    "sink_peak_rss_mib": mib(max([number("sink_hwm_kib")] + rss)),
    "sink_final_rss_mib": mib(number("sink_rss_kib")),
    "sink_rss_timeline_mib": [mib(kib) for kib in rss],
    "clickhouse_cpu_cores": cores("clickhouse_ticks") if env.get("clickhouse_pid") else None,
    "kafka_cpu_cores": cores("kafka_ticks") if env.get("kafka_pid") else None,
    "sink_metrics": sink_metrics("sink-metrics.txt"),
    # The first sink's counters over the steady phase (its batches and write time).
    "steady_sink_metrics": sink_metrics("steady-sink-metrics.txt"),
    "load_average_end": [float(x) for x in open("/proc/loadavg").read().split()[:3]],
}
with open(env["results"], "a") as out:
    out.write(json.dumps(report) + "\n")
print(json.dumps(report))
PY

step "summary ($results)"
python3 - "$results" "pipeline-steady-r$rate" <<'PY'
import json, sys
latest = {}
for line in open(sys.argv[1]):
    if line.strip():
        row = json.loads(line)
        latest[row["label"]] = row
steady, backlog, catchup = (latest.get(label) for label in (sys.argv[2], "pipeline-backlog", "pipeline-catchup"))
if steady:
    q = steady.get("queryable_ms") or {}
    cpu = steady.get("observed_cpu_cores") or {}
    roles = " ".join(f"{name} {cpu[name]:.2f}" for name in ("ingest", "enrich", "api", "kafka", "clickhouse") if name in cpu)
    mem = steady.get("server_memory") or {}
    print(f"{'steady':<10}{'offered/s':>10}{'accepted/s':>11}{'queryable p50':>14}{'p90':>8}{'p99':>8}{'max':>8}"
          f"{'timed out':>10}{'sink cores':>11}{'sink RSS':>9}  cores of the others")
    print(f"{'':<10}{steady.get('rate_target') or 0:>10.0f}{steady['accepted_spans_per_s']:>11.0f}"
          f"{q.get('p50', 0):>11.0f} ms{q.get('p90', 0):>8.0f}{q.get('p99', 0):>8.0f}{q.get('max', 0):>8.0f}"
          f"{steady['markers']['timed_out']:>10}{steady.get('server_cpu_cores') or 0:>11.2f}"
          f"{mem.get('peak_rss_mib', 0):>9.0f}  {roles}")
if catchup:
    ins = catchup["inserts"]
    parts = " + ".join(f"{table} {t['rows']:,}" for table, t in ins.items())
    loaded = f"{backlog['accepted_spans_per_s']:.0f}/s" if backlog else "-"
    first_insert = catchup.get("first_insert_after_s")
    first_insert = f"{first_insert:.1f}s" if first_insert is not None else "-"
    print(f"\n{'catch-up':<10}{'backlog':>9}{'loaded at':>10}{'catch-up':>10}{'1st insert':>11}{'rows/s':>9}"
          f"{'MB/s':>7}{'sink cores':>11}{'sink RSS':>9}{'CH cores':>9}  rows written")
    print(f"{'':<10}{catchup['backlog_spans']:>9}{loaded:>10}{catchup['catch_up_s']:>9.1f}s{first_insert:>11}"
          f"{catchup['sink_rows_per_s']:>9}{catchup['sink_mb_per_s']:>7.1f}{catchup['sink_cpu_cores']:>11.2f}"
          f"{catchup['sink_peak_rss_mib']:>9.0f}{catchup['clickhouse_cpu_cores'] or 0:>9.2f}  {parts}")
    check = "ok" if catchup["observation_rows_match_spans"] else "MISMATCH"
    print(f"checks: observation rows {ins.get('observations', {}).get('rows', 0):,} vs spans loaded "
          f"{catchup['backlog_spans']:,} ({check}); trace rows {ins.get('traces', {}).get('rows', 0):,} "
          f"for {catchup['new_traces']:,} new traces; failed inserts {catchup['insert_errors']}")
PY
