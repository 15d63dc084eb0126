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
  # Copy every shared library the binary loads, at the same path, plus the dynamic loader: every
  # absolute path ldd prints. (POSIX awk only: Debian's mawk has no \s, and an image without the
  # loader fails at exec with a bare "no such file or directory".)
  libraries=$(ldd "$target_dir/release/$binary" | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^\//) print $i }')
  interpreter=$(readelf -l "$target_dir/release/$binary" 2>/dev/null | sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')
  [ -z "$interpreter" ] || grep -qxF "$interpreter" <<<"$libraries" \
    || { echo "build-images-local: ldd did not list the loader $interpreter of $binary" >&2; exit 1; }
  for library in $libraries; do
    install -D "$library" "$context/rootfs$library"
  done
  mkdir -p "$context/rootfs/etc" "$context/data"
  # A world-writable /tmp as distroless has (Kubernetes mounts an emptyDir there anyway).
  mkdir -m 1777 "$context/rootfs/tmp"
  echo "nonroot:x:65532:65532:nonroot:/nonexistent:/sbin/nologin" > "$context/rootfs/etc/passwd"
  echo "nonroot:x:65532:" > "$context/rootfs/etc/group"
  case "$binary" in
    # The node binds 127.0.0.1 by default, which no published port reaches; any arguments replace this.
    ringcache-node) ports="6379 16379 9090"; command='["--bind=0.0.0.0"]' ;;
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
