#!/usr/bin/env bash
# Installs redis_exporter (pinned) into ~/.cache/ringcache/bin, built from the Go module proxy, for
# node/tests/info.rs (which scrapes a node with it, and skips when it is absent). Once per machine: a
# stamp next to the binary records the version built. Never fails the caller: without Go or the
# proxy it says so and the test skips.
set -euo pipefail

version="${RINGCACHE_REDIS_EXPORTER_VERSION:-v1.62.0}"
bin_dir="$HOME/.cache/ringcache/bin"
target="$bin_dir/redis_exporter"
stamp="$target.version"
say() { echo "install-redis-exporter: $*" >&2; }

if [ -x "$target" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$version" ]; then
  exit 0
fi
command -v go >/dev/null 2>&1 || PATH="/usr/local/go/bin:$PATH"
if ! command -v go >/dev/null 2>&1; then
  say "no Go toolchain: redis_exporter not installed (its test skips)"
  exit 0
fi
mkdir -p "$bin_dir"
# Not `go install module@version`: that also fetches the module's version list (to report a
# deprecation), which the proxy refuses for this module; the pinned version itself downloads.
if ! dir=$(go mod download -json "github.com/oliver006/redis_exporter@$version" \
  | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p') || [ -z "$dir" ]; then
  say "could not download github.com/oliver006/redis_exporter@$version (its test skips)"
  exit 0
fi
say "building redis_exporter $version into $target"
if (cd "$dir" && go build -o "$target.partial" .); then
  mv "$target.partial" "$target"
  echo "$version" > "$stamp"
else
  rm -f "$target.partial"
  say "build failed: redis_exporter not installed (its test skips)"
fi
