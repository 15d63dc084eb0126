#!/usr/bin/env bash
# Builds the ringcache-node and ringcache-operator images from binaries built on this machine, FROM
# scratch, for Docker engines that cannot pull a base image. The image holds the binary, the shared
# libraries `ldd` lists for it, and a passwd entry for the non-root user 65532.
#   scripts/build-images-local.sh [TAG]      (default tag: dev)
set -euo pipefail
cd "$(dirname "$0")/.."
tag="${1:-dev}"
command -v docker >/dev/null || { echo "build-images-local: no docker command on this machine" >&2; exit 1; }
docker info >/dev/null 2>&1 || { echo "build-images-local: the Docker engine is not running" >&2; exit 1; }

cargo build --release --locked -p ringcache-node -p ringcache-operator
target_dir="${CARGO_TARGET_DIR:-target}"

for binary in ringcache-node ringcache-operator; do
  context=$(mktemp -d)
  trap 'rm -rf "$context"' EXIT
  install -D "$target_dir/release/$binary" "$context/rootfs/usr/local/bin/$binary"
  # Copy every shared library the binary loads, at the same path, plus the dynamic loader.
  ldd "$target_dir/release/$binary" | awk '/=> \// {print $3} /^\s*\/lib/ {print $1}' | while read -r library; do
    install -D "$library" "$context/rootfs$library"
  done
  mkdir -p "$context/rootfs/etc" "$context/data"
  echo "nonroot:x:65532:65532:nonroot:/nonexistent:/sbin/nologin" > "$context/rootfs/etc/passwd"
  echo "nonroot:x:65532:" > "$context/rootfs/etc/group"
  case "$binary" in
    ringcache-node) ports="6379 16379 9090"; command='[]' ;;
    ringcache-operator) ports="8080"; command='["run"]' ;;
  esac
  cat > "$context/Dockerfile" <<DOCKERFILE
FROM scratch
COPY rootfs/ /
COPY --chown=65532:65532 data/ /data/
USER 65532:65532
EXPOSE $ports
ENTRYPOINT ["/usr/local/bin/$binary"]
CMD $command
DOCKERFILE
  docker build -q -t "$binary:$tag" "$context" >/dev/null
  echo "built $binary:$tag ($(docker image inspect -f '{{.Size}}' "$binary:$tag" | numfmt --to=iec))"
  rm -rf "$context"
  trap - EXIT
done
