#!/usr/bin/env bash
# Evaluator throughput of a fresh release `periscope serve` (issue 5; see docs/benchmarks.md):
# scheduling throughput (records/s), judge-call concurrency and runner throughput, backfill
# rate (targets/s).
#
# Starts one server (temporary data dir, key pair and encryption key) and a stub
# OpenAI-compatible judge (bench/evals_judge.py, answers after BENCH_JUDGE_DELAY_MS), creates
# five live evaluators (all traces; metadata tier=enterprise; tag `support` sampled at 10%; two
# matching nothing), ingests BENCH_TRACES traces with `periscope-bench load` (five spans each)
# and then:
#   1. scheduling: samples `/metrics` every second; the `eval_scheduler` component's received
#      events over time give records/s, its sent events the jobs emitted;
#   2. runner: over BENCH_RUNNER_WINDOW, scored jobs/s from the funnels and the most judge
#      calls the stub ever saw in flight at once;
#   3. backfill: a sixth evaluator created after the traces exist, a dry run over the whole
#      range, then the real backfill polled to completion: done targets / elapsed, and the
#      API's own ratePerSecond.
#
# Settings (environment):
#   BENCH_TRACES=20000          traces ingested (five spans each)
#   BENCH_LOAD_RATE=10000       spans/s offered by the load (open loop)
#   BENCH_JUDGE_DELAY_MS=200    the stub judge's latency
#   BENCH_RUNNER_WINDOW=60      seconds the runner is watched after the ingest drained
#   BENCH_RESULTS=FILE.jsonl    where the JSON line goes (the /metrics timeline: FILE.metrics.tsv)
#   BENCH_SKIP_BUILD=0          1: use the release binaries already in CARGO_TARGET_DIR
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
cache="${PERISCOPE_CACHE_DIR:-$HOME/.cache/periscope}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$cache/target}"
traces="${BENCH_TRACES:-20000}"
load_rate="${BENCH_LOAD_RATE:-10000}"
judge_delay_ms="${BENCH_JUDGE_DELAY_MS:-200}"
runner_window="${BENCH_RUNNER_WINDOW:-60}"
mkdir -p "$cache/bench"
results="${BENCH_RESULTS:-$cache/bench/evals-$(date +%Y%m%d-%H%M%S).jsonl}"

public_key="pk-lf-bench-$RANDOM$RANDOM"
secret_key="sk-lf-bench-$RANDOM$RANDOM$RANDOM"
work="$(mktemp -d -t periscope-evals.XXXXXX)"
role_pid=""
server_pid=""
judge_pid=""
sampler_pid=""
# shellcheck source=bench/lib.sh
source "$root/bench/lib.sh"

cleanup() {
  stop_pid "$sampler_pid"
  stop_pid "$server_pid"
  stop_pid "$judge_pid"
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# api METHOD PATH [JSON]: the response body; fails on an HTTP error.
api() {
  local args=(--fail-with-body -sS -u "$public_key:$secret_key" -X "$1" "$http_url$2")
  if [ $# -ge 3 ]; then args+=(-H 'Content-Type: application/json' -d "$3"); fi
  local body
  if ! body="$(curl "${args[@]}")"; then
    echo "$1 $2 failed: $body" >&2
    return 1
  fi
  echo "$body"
}
now() { date +%s.%N; }
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%S.%3NZ; }
# metric NAME COMPONENT: the counter's current value.
metric() {
  curl -fsS "$http_url/metrics" | awk -v key="$1{component=\"$2\"}" '$1 == key { print $2 }'
}

build_release
step "machine: $(nproc) cores, load average $(load_average); results → $results"

python3 "$root/bench/evals_judge.py" --delay-ms "$judge_delay_ms" --port-file "$work/judge.port" &
judge_pid=$!
for _ in $(seq 1 100); do [ -s "$work/judge.port" ] && break; sleep 0.1; done
judge_url="http://127.0.0.1:$(cat "$work/judge.port")"

export PERISCOPE_INIT_PROJECT_PUBLIC_KEY="$public_key" PERISCOPE_INIT_PROJECT_SECRET_KEY="$secret_key"
PERISCOPE_ENCRYPTION_KEY="$(python3 -c 'import secrets; print(secrets.token_hex(32))')"
export PERISCOPE_ENCRYPTION_KEY
export PERISCOPE_LOG="${BENCH_SERVER_LOG:-warn}"
start_role serve -- serve
server_pid="$role_pid"

connection="$(api POST /api/public/llm-connections "{\"name\":\"bench judge\",\"baseUrl\":\"$judge_url/v1\",\"defaultModel\":\"stub-judge\",\"apiKey\":\"sk-bench-judge\"}" | jq -r .id)"
api POST /api/public/evaluator-templates '{"name":"bench-helpfulness","outputType":"NUMERIC","min":0,"max":1,
  "prompt":"Question:\n{{question}}\n\nAnswer:\n{{answer}}\n\nScore 1 if the answer helps, else 0."}' >/dev/null
# create_evaluator SCORE_NAME FILTER_JSON SAMPLING: the new evaluator's id.
create_evaluator() {
  api POST /api/public/evaluators "{\"scoreName\":\"$1\",\"templateName\":\"bench-helpfulness\",
    \"connectionId\":\"$connection\",\"filter\":$2,\"samplingRate\":$3,\"settleWindowMs\":1000,
    \"variableMapping\":{\"question\":\"input.question\",\"answer\":\"output.answer\"}}" | jq -r .id
}
evaluators=(
  "$(create_evaluator all '{}' 1.0)"
  "$(create_evaluator enterprise '{"metadata":{"tier":"enterprise"}}' 1.0)"
  "$(create_evaluator support-sampled '{"tags":["support"]}' 0.1)"
  "$(create_evaluator staging-only '{"environments":["staging"]}' 1.0)"
  "$(create_evaluator other-name '{"name":"no-such-trace"}' 1.0)"
)
step "judge $judge_url (delay ${judge_delay_ms} ms); evaluators ${evaluators[*]}"
# The scheduler reloads its evaluators every 5 s: let it see all five before the first record.
sleep 6

# One line per second: time, scheduler received/sent, runner received/sent, enrich received.
sample_metrics() {
  while true; do
    curl -fsS "$http_url/metrics" 2>/dev/null | awk -v t="$(now)" '
      /^periscope_pipeline_received_events_total\{component="eval_scheduler"\}/ { sr = $2 }
      /^periscope_pipeline_sent_events_total\{component="eval_scheduler"\}/ { ss = $2 }
      /^periscope_pipeline_received_events_total\{component="eval_runner"\}/ { rr = $2 }
      /^periscope_pipeline_sent_events_total\{component="eval_runner"\}/ { rs = $2 }
      /^periscope_pipeline_received_events_total\{component="enrich"\}/ { er = $2 }
      END { if (sr != "") print t, sr, ss, rr, rs, er }' >>"$work/metrics.tsv"
    sleep 1
  done
}
sample_metrics &
sampler_pid=$!

spans=$((traces * 5))
load_seconds=$(( (spans + load_rate - 1) / load_rate ))
step "ingest: $traces traces ($spans spans) at $load_rate spans/s for ${load_seconds}s (load average $(load_average))"
ingest_started="$(now)"
"$bench" load --http "$http_url" --grpc "$grpc_url" --protocol grpc --rate "$load_rate" \
  --concurrency 16 --duration "${load_seconds}s" --no-markers --public-key "$public_key" \
  --secret-key "$secret_key" --server-pid "$server_pid" --label "evals-ingest" \
  --json-out "$work/load.jsonl" >"$work/load.out" 2>"$work/load.err" \
  || { cat "$work/load.err" "$work/load.out" >&2; exit 1; }
ingest_ended="$(now)"
load_average_after_ingest="$(load_average)"

step "waiting for the scheduler to drain the records topic"
# Drained: five seconds in a row with at most 50 new records each (the runner's score events
# come back through the records topic at a few per second, so the count never quite stops).
last="$(metric periscope_pipeline_received_events_total eval_scheduler)"
stable=0
while [ "$stable" -lt 5 ]; do
  sleep 1
  current="$(metric periscope_pipeline_received_events_total eval_scheduler)"
  if [ $((current - last)) -le 50 ]; then
    stable=$((stable + 1))
  else
    stable=0
      fi
  last="$current"
done

# funnels: one JSON object, evaluator id → funnel.
funnels() {
  local id out="{}"
  for id in "${evaluators[@]}"; do
    out="$(jq -c --arg id "$id" --argjson f "$(api GET "/api/public/evaluators/$id/funnel")" '. + {($id): $f}' <<<"$out")"
  done
  echo "$out"
}

step "one stored trace's metadata (what the filters see): $(api GET '/api/public/traces?limit=1' | jq -c '.data[0].metadata')"
step "runner: watching ${runner_window}s (load average $(load_average))"
funnels >"$work/funnels-before.json"
runner_started="$(now)"
curl -fsS "$judge_url/stats" >"$work/judge-before.json"
sleep "$runner_window"
funnels >"$work/funnels-after.json"
runner_ended="$(now)"
curl -fsS "$judge_url/stats" >"$work/judge-after.json"
load_average_runner="$(load_average)"

step "backfill: a new evaluator over every ingested trace"
backfill_evaluator="$(create_evaluator backfilled '{}' 1.0)"
window="$(jq -nc --arg from "$(iso "$(python3 -c "print($ingest_started - 3600)")")" \
  --arg to "$(iso "$(python3 -c "print($(now) + 60)")")" '{fromTimestamp: $from, toTimestamp: $to}')"
dry_started="$(now)"
api POST "/api/public/evaluators/$backfill_evaluator/backfills" "$(jq -c '. + {dryRun: true}' <<<"$window")" >"$work/dry-run.json"
dry_ended="$(now)"
backfill_started="$(now)"
touch "$work/backfill-rates"
backfill_id="$(api POST "/api/public/evaluators/$backfill_evaluator/backfills" "$window" | jq -r .id)"
while true; do
  backfill="$(api GET "/api/public/evaluators/$backfill_evaluator/backfills/$backfill_id")"
  state="$(jq -r .state <<<"$backfill")"
  case "$state" in
    completed) break ;;
    pending|running) ;;
    *) echo "the backfill ended $state: $backfill" >&2; exit 1 ;;
  esac
  # Keep the peak rate the API reported while running (it is null once completed).
  jq -r '.ratePerSecond // empty' <<<"$backfill" >>"$work/backfill-rates"
  sleep 0.5
done
backfill_ended="$(now)"
echo "$backfill" >"$work/backfill.json"
load_average_backfill="$(load_average)"
stop_pid "$sampler_pid"
sampler_pid=""
# The timeline (time, scheduler received/sent, runner received/sent, enrich received) stays.
cp "$work/metrics.tsv" "${results%.jsonl}.metrics.tsv"

python3 - "$results" <<PY
import json, sys
from datetime import datetime

def secs(iso):
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()

rows = [list(map(float, line.split())) for line in open("$work/metrics.tsv") if line.strip()]
# The scheduler's active period: from its first record to its last second with more than 50
# new records (after that only the runner's score events trickle in).
start = max((r for r in rows if r[1] == rows[0][1]), key=lambda r: r[0])
end = [r for i, r in enumerate(rows) if i and r[1] - rows[i - 1][1] > 50][-1]
records = end[1] - start[1]
jobs = end[2] - start[2]
sched_s = max(end[0] - start[0], 1e-9)
# While the load still sends, and after it stopped (the backlog drain: the scheduler's own pace).
at_ingest_end = max((r for r in rows if r[0] <= $ingest_ended), key=lambda r: r[0])
during = (at_ingest_end[1] - start[1]) / max(at_ingest_end[0] - start[0], 1e-9)
drain_rate = (end[1] - at_ingest_end[1]) / max(end[0] - at_ingest_end[0], 1e-9)
peak = 0.0
for i in range(len(rows)):
    for j in range(i + 1, len(rows)):
        if rows[j][0] - rows[i][0] >= 5:
            peak = max(peak, (rows[j][1] - rows[i][1]) / (rows[j][0] - rows[i][0]))
            break
load = [json.loads(l) for l in open("$work/load.jsonl") if l.strip()][-1]
before, after = (json.load(open(f"$work/funnels-{when}.json")) for when in ("before", "after"))
done_before = sum(f["scored"] + f["failed"] for f in before.values())
done_after = sum(f["scored"] + f["failed"] for f in after.values())
runner_s = $runner_ended - $runner_started
jb, ja = (json.load(open(f"$work/judge-{when}.json")) for when in ("before", "after"))
backfill = json.load(open("$work/backfill.json"))
dry = json.load(open("$work/dry-run.json"))
bf_s = secs(backfill["finishedAt"]) - secs(backfill["startedAt"])
rates = [float(x) for x in open("$work/backfill-rates")]
names = ["all", "enterprise", "support-sampled", "staging-only", "other-name"]
result = {
    "kind": "evals",
    "traces_requested": $traces,
    "ingest": {"accepted_spans": load.get("accepted_spans"), "accepted_spans_per_s": load.get("accepted_spans_per_s"),
               "seconds": $ingest_ended - $ingest_started, "load_average_end": "$load_average_after_ingest"},
    "scheduler": {"records": records, "jobs_emitted": jobs, "seconds": sched_s,
                  "records_per_s": records / sched_s, "peak_5s_records_per_s": peak,
                  "records_per_s_during_ingest": during, "records_per_s_after_ingest": drain_rate,
                  "lag_after_ingest_s": end[0] - at_ingest_end[0],
                  "jobs_per_s": jobs / sched_s},
    "funnels": {names[i]: after[e] for i, e in enumerate("${evaluators[*]}".split())},
    "runner": {"window_s": runner_s, "jobs_done": done_after - done_before,
               "jobs_per_s": (done_after - done_before) / runner_s,
               "judge_delay_ms": $judge_delay_ms, "judge_requests": ja["requests"],
               "judge_requests_per_s_window": (ja["requests"] - jb["requests"]) / runner_s,
               "judge_max_in_flight": ja["max_in_flight"], "load_average_end": "$load_average_runner"},
    "backfill": {"dry_run_ms": ($dry_ended - $dry_started) * 1000, "estimate": dry.get("estimate"),
                 "total": backfill["total"], "done": backfill["done"], "matched": backfill["matched"],
                 "emitted": backfill["emitted"], "skipped": backfill["skipped"],
                 "seconds": bf_s, "targets_per_s": backfill["done"] / max(bf_s, 1e-9),
                 "wall_seconds": $backfill_ended - $backfill_started,
                 "api_rate_per_s_last_running": rates[-1] if rates else None,
                 "api_rate_per_s_completed": backfill.get("ratePerSecond"),
                 "load_average_end": "$load_average_backfill"},
}
with open(sys.argv[1], "a") as out:
    out.write(json.dumps(result) + "\n")
s, r, b = result["scheduler"], result["runner"], result["backfill"]
print(f"ingest: {result['ingest']['accepted_spans']} spans accepted in {result['ingest']['seconds']:.1f}s")
print(f"scheduling: {s['records']:.0f} records in {s['seconds']:.1f}s = {s['records_per_s']:.0f} records/s "
      f"(peak 5 s: {s['peak_5s_records_per_s']:.0f}); {s['jobs_emitted']:.0f} jobs emitted ({s['jobs_per_s']:.0f}/s)")
print(f"  while the load sends: {s['records_per_s_during_ingest']:.0f} records/s; after it stopped: "
      f"{s['records_per_s_after_ingest']:.0f} records/s, drained {s['lag_after_ingest_s']:.1f}s after the load ended")
for name, f in result["funnels"].items():
    print(f"  {name:<16} matched {f['matched']:>6} sampled {f['sampled']:>6} queued {f['queued']:>6} "
          f"scored {f['scored']:>6} failed {f['failed']:>4} pending {f['pending']:>6} {f.get('failedByReason') or ''}")
print(f"runner: {r['jobs_done']} jobs done in {r['window_s']:.0f}s = {r['jobs_per_s']:.1f} jobs/s; judge "
      f"{r['judge_requests_per_s_window']:.1f} calls/s at {r['judge_delay_ms']} ms, max in flight {r['judge_max_in_flight']}")
print(f"backfill: {b['done']}/{b['total']} targets in {b['seconds']:.2f}s = {b['targets_per_s']:.0f} targets/s "
      f"(API rate while running {b['api_rate_per_s_last_running']}, completed {b['api_rate_per_s_completed']}); "
      f"emitted {b['emitted']}; dry run {b['dry_run_ms']:.0f} ms, estimate {json.dumps(b['estimate'])}")
PY
step "done (load average $(load_average)); results in $results"
