#!/usr/bin/env bash
# The nemesis runner at length: builds ringcache-node and ringcache-chaos (release) and runs a
# seeded schedule of link and process faults against a real cluster under a recorded load, then
# checks the history. Arguments go to ringcache-chaos, for example:
#   scripts/chaos.sh --duration 30m
#   scripts/chaos.sh --duration 45s --seed 1234        (replay a seed)
#   scripts/chaos.sh --duration 10m --members 5        (adds bridge partitions)
# Exit status: 0 linearizable and available after the heal, 1 a check failed, 2 could not run.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/ringcache/target}"
if [[ " $* " == *" --help "* || " $* " == *" -h "* ]]; then
  cargo run -q --release -p ringcache-e2e --bin ringcache-chaos -- --help
  exit 0
fi
cargo build -q --release -p ringcache-node --bin ringcache-node -p ringcache-e2e --bin ringcache-chaos
exec "$CARGO_TARGET_DIR/release/ringcache-chaos" "$@"
