#!/usr/bin/env bash
# Browser tests of the web UI: starts a fresh embedded `periscope serve` on free ports, seeds
# it through the real Langfuse Python SDK (seed.py), then drives headless Debian Chromium
# with playwright-core (*.test.mjs). A stub OpenAI-compatible judge (judge.py) answers the
# evaluators' requests. Screenshots go to a temporary directory, or to $PERISCOPE_SCREENSHOTS
# (e.g. docs/screenshots to refresh the documentation's). Exits non-zero on any failure.
#
# Needs: the debug binary ($PERISCOPE_BIN, else $CARGO_TARGET_DIR or ./target, debug/periscope),
# the e2e venv with `langfuse` ($PERISCOPE_CACHE_DIR or ~/.cache/periscope, /venv), Node.
# Installs Debian's chromium and the npm lockfile's playwright-core when they are missing.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
binary="${PERISCOPE_BIN:-${CARGO_TARGET_DIR:-$root/target}/debug/periscope}"
venv="${PERISCOPE_CACHE_DIR:-$HOME/.cache/periscope}/venv"
chromium="${PERISCOPE_CHROMIUM:-/usr/bin/chromium}"
public_key="pk-lf-ui-tests"
secret_key="sk-lf-ui-tests-secret"
# Seals the LLM connection's key at rest; any 64 hex characters do for a throwaway server.
encryption_key="00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

fail() { echo "ui tests: $*" >&2; exit 1; }

[ -x "$binary" ] || fail "periscope binary not found at $binary; run: cargo build -p periscope (or set PERISCOPE_BIN)"
[ -x "$venv/bin/python" ] || fail "no Python venv at $venv; deploy/test-all.sh creates it from tests/e2e/requirements.txt"
command -v node >/dev/null || fail "node is not installed (apt-get install -y nodejs npm)"
if [ ! -x "$chromium" ]; then
  echo "==> installing Debian's chromium"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
if [ ! -d "$here/node_modules/playwright-core" ]; then
  echo "==> npm ci (playwright-core)"
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/periscope-ui.XXXXXX")"
server_pid=""
judge_pid=""
stop() {
  if [ -n "$1" ] && kill -0 "$1" 2>/dev/null; then
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
  fi
}
cleanup() {
  stop "$server_pid"
  stop "$judge_pid"
  rm -rf "$work"
}
trap cleanup EXIT

read -r http_port grpc_port judge_port < <("$venv/bin/python" - <<'PY'
import socket
socks = [socket.socket() for _ in range(3)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))
PY
)
base_url="http://127.0.0.1:$http_port"
judge_url="http://127.0.0.1:$judge_port/v1"
"$venv/bin/python" "$here/judge.py" "$judge_port" >"$work/judge.log" 2>&1 &
judge_pid=$!

# A clean environment: no PERISCOPE__* backend address may switch this run off embedded mode.
mapfile -t inherited < <(compgen -e | grep '^PERISCOPE' || true)
env_args=()
for name in "${inherited[@]}"; do env_args+=(-u "$name"); done
env "${env_args[@]}" \
  PERISCOPE_INIT_PROJECT_ID=ui-tests PERISCOPE_INIT_PROJECT_NAME="UI tests" \
  PERISCOPE_INIT_PROJECT_PUBLIC_KEY="$public_key" PERISCOPE_INIT_PROJECT_SECRET_KEY="$secret_key" \
  PERISCOPE_ENCRYPTION_KEY="$encryption_key" NO_COLOR=1 PERISCOPE_LOG=info \
  "$binary" serve --data-dir "$work/data" \
    --http-addr "127.0.0.1:$http_port" --grpc-addr "127.0.0.1:$grpc_port" >"$work/server.log" 2>&1 &
server_pid=$!

show_log() { echo "---- periscope log (tail) ----" >&2; tail -n 60 "$work/server.log" >&2 || true; }
for _ in $(seq 1 150); do
  if curl -fsS "$base_url/api/public/health" >/dev/null 2>&1; then break; fi
  kill -0 "$server_pid" 2>/dev/null || { show_log; fail "periscope exited during start-up"; }
  sleep 0.2
done
curl -fsS "$base_url/api/public/health" >/dev/null || { show_log; fail "periscope was not healthy within 30s"; }

echo "==> seeding $base_url through the Langfuse SDK"
"$venv/bin/python" "$here/seed.py" "$base_url" "$public_key" "$secret_key" "$work/seed.json" "$judge_url" \
  || { show_log; fail "seeding failed"; }

echo "==> browser tests (headless chromium)"
status=0
PERISCOPE_URL="$base_url" PERISCOPE_PUBLIC_KEY="$public_key" PERISCOPE_SECRET_KEY="$secret_key" \
  PERISCOPE_SEED="$work/seed.json" PERISCOPE_CHROMIUM="$chromium" \
  PERISCOPE_SCREENSHOTS="${PERISCOPE_SCREENSHOTS:-$work/screenshots}" PERISCOPE_UI_TMP="$work" \
  node --test --test-reporter=spec --test-concurrency=1 "$here"/*.test.mjs || status=$?
if [ "$status" -ne 0 ]; then
  show_log
  fail "browser tests failed (exit $status)"
fi
