#!/usr/bin/env bash
# Runs Periscope's whole test suite on a fresh Debian machine: installs what is missing
# (protoc, Python venv with the real Langfuse and OpenTelemetry SDKs), starts the real
# Kafka/ClickHouse/Postgres/Redis/S3 servers (deploy/dev-services.sh), checks formatting and
# lints, builds once, runs the Rust tests, then the end-to-end tests that drive a real
# `periscope serve` with the real SDKs.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
cache="${PERISCOPE_CACHE_DIR:-$HOME/.cache/periscope}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$cache/target}"
export PERISCOPE_TEST_REQUIRE_ALL="${PERISCOPE_TEST_REQUIRE_ALL:-1}"
mkdir -p "$cache"

step() { printf '\n==> %s\n' "$*"; }

need_apt=()
command -v protoc >/dev/null || need_apt+=(protobuf-compiler)
python3 -c 'import venv, ensurepip' 2>/dev/null || need_apt+=(python3-venv)
command -v cc >/dev/null || need_apt+=(build-essential)
command -v node >/dev/null || need_apt+=(nodejs npm)
command -v psql >/dev/null || need_apt+=(postgresql-client)
if [ ${#need_apt[@]} -gt 0 ]; then
  step "installing ${need_apt[*]} with apt"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

venv="$cache/venv"
requirements="$root/tests/e2e/requirements.txt"
stamp="$venv/.requirements.sha256"
want="$(sha256sum "$requirements" | cut -d' ' -f1)"
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  step "creating the Python test environment"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$requirements"
  echo "$want" > "$stamp"
fi

step "starting the scale-out services (Kafka, ClickHouse, Postgres, Redis, S3) on loopback"
# Tests of the production backends talk to the real servers; they fail (never skip) when
# these variables are missing.
eval "$("$root/deploy/dev-services.sh" start)"

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo build"
cargo build --workspace --all-targets --locked

step "rust tests"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --no-fail-fast
else
  cargo test --workspace --locked --no-fail-fast
fi

step "end-to-end tests with the real Langfuse and OpenTelemetry SDKs"
export PERISCOPE_BIN="$CARGO_TARGET_DIR/debug/periscope"
"$venv/bin/python" -m pytest -q -p no:cacheprovider "$root/tests/e2e"

step "browser tests of the web UI (headless Chromium)"
# Screenshots of a test run go to a scratch directory; docs/screenshots/ holds reviewed ones.
PERISCOPE_SCREENSHOTS="$(mktemp -d)" "$root/tests/ui/run.sh"
