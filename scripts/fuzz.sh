#!/usr/bin/env bash
# Runs the cargo fuzz targets in fuzz/ for a set time each (libFuzzer, AddressSanitizer, nightly):
#   resp_parser    the RESP request parser, fed in pieces, with and without authentication
#   cluster_frame  the cluster-port frame codec (decode garbage; re-encode what decodes)
#   admin_request  the admin API's real router on arbitrary method, path and body
# Installs a nightly toolchain and cargo-fuzz when missing. New inputs the fuzzer finds go to a
# scratch directory under the build directory, not into fuzz/corpus/ (copy the good ones by
# hand). A crash leaves its input in fuzz/artifacts/<target>/ and fails the script.
#   scripts/fuzz.sh                       60 s per target
#   scripts/fuzz.sh --time 600 --target resp_parser
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=60
targets=(resp_parser cluster_frame admin_request)
while [ $# -gt 0 ]; do
  case "$1" in
    --time) seconds="${2:?--time needs seconds}"; shift 2 ;;
    --target) targets=("${2:?--target needs a name}"); shift 2 ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "fuzz.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
case "$seconds" in ''|*[!0-9]*) echo "fuzz.sh: --time takes whole seconds, got '$seconds'" >&2; exit 2 ;; esac

if ! rustup toolchain list | grep -q '^nightly'; then
  echo "== installing the nightly toolchain (cargo fuzz needs it)"
  rustup toolchain install nightly --profile minimal
fi
if ! command -v cargo-fuzz > /dev/null; then
  echo "== installing cargo-fuzz"
  cargo +stable install cargo-fuzz --locked
fi

build_dir="${CARGO_TARGET_DIR:-$HOME/.cache/ringcache/target}-fuzz"
for target in "${targets[@]}"; do
  if [ ! -f "fuzz/fuzz_targets/$target.rs" ]; then
    echo "fuzz.sh: no target '$target' (targets: $(cd fuzz/fuzz_targets && ls | sed 's/\.rs$//' | tr '\n' ' '))" >&2
    exit 2
  fi
  scratch="$build_dir/corpus/$target"
  mkdir -p "$scratch" "fuzz/corpus/$target"
  echo "== fuzz $target for ${seconds}s"
  cargo +nightly fuzz run --fuzz-dir fuzz --target-dir "$build_dir" "$target" \
    "$scratch" "fuzz/corpus/$target" -- -max_total_time="$seconds" -rss_limit_mb=4096 -print_final_stats=1
done
