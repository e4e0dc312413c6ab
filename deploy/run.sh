#!/usr/bin/env bash
# Runs Periscope on this machine with the embedded defaults (no other services needed):
# installs protoc if it is missing, builds the release binary and starts `periscope serve`.
# Extra arguments go to `periscope serve` (e.g. --data-dir, --http-addr, --grpc-addr).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if ! command -v protoc >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq protobuf-compiler >/dev/null
fi
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/periscope/target}"
cargo build --release --locked --manifest-path "$root/Cargo.toml" -p periscope
exec "$CARGO_TARGET_DIR/release/periscope" serve "$@"
