#!/usr/bin/env bash
# Builds the ringcache-node and ringcache-operator images on this machine (scripts/build-images-local.sh)
# and checks that they work:
#  - the node, started as reported in the field (`docker run -p … ringcache-node --bind 0.0.0.0`),
#    answers PING, SET and GET through the published port;
#  - the node again under the pod's restrictions (read-only root, no capabilities, no privilege
#    escalation, uid 65532, /data and /tmp as volumes, the operator's flags);
#  - the operator image prints --help and `crd` (equal to crds/), `run` refuses to start without its
#    key, and with a key fails cleanly without a cluster, under the same restrictions;
#  - a 3-member cluster of node containers on a private network (fixed IPs), formed through the admin
#    API, answers `redis-cli -c` across members (MOVED followed to other containers).
# Prints "skipped: no Docker engine" and exits 0 where there is none.
#   scripts/docker-smoke.sh [TAG]     (default tag: smoke)
set -euo pipefail
cd "$(dirname "$0")/.."
tag="${1:-smoke}"

if ! command -v docker >/dev/null 2>&1 || ! docker info >/dev/null 2>&1; then
  echo "docker-smoke: skipped: no Docker engine"
  exit 0
fi
command -v redis-cli >/dev/null \
  || { echo "docker-smoke: needs redis-cli; run scripts/install-deps.sh" >&2; exit 1; }

scripts/build-images-local.sh "$tag"
node_image="ringcache-node:$tag"
operator_image="ringcache-operator:$tag"
# What the operator's pods impose (docs/operator.md, "Objects"), as Docker options.
restricted=(--read-only --cap-drop ALL --security-opt no-new-privileges --user 65532:65532)

containers=()
network="ringcache-smoke-$$"
work=$(mktemp -d)
cleanup() {
  for container in "${containers[@]}"; do
    docker rm -f -v "$container" >/dev/null 2>&1 || true
  done
  docker network rm "$network" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "docker-smoke: FAIL: $*" >&2
  for container in "${containers[@]}"; do
    echo "--- logs of $container" >&2
    docker logs "$container" >&2 2>&1 || true
  done
  exit 1
}

# Starts a node container with the given options and node flags; sets node_port to the host port of
# its 6379 (a variable, not output: in a $(subshell) the container would miss the cleanup list).
start_node() {
  local name="ringcache-smoke-$$-${#containers[@]}" mapping
  containers+=("$name")
  docker run -d --name "$name" -p 127.0.0.1::6379 "$@" >/dev/null || fail "docker run $* failed"
  mapping=$(docker port "$name" 6379/tcp) || fail "$name publishes no port 6379"
  mapping=${mapping%%$'\n'*}
  node_port=${mapping##*:}
}

expect() {
  local port="$1" expected="$2" reply
  shift 2
  reply=$(redis-cli -h 127.0.0.1 -p "$port" "$@" 2>&1) || true
  [ "$reply" = "$expected" ] || fail "redis-cli $* answered '$reply', expected '$expected'"
}

check_node() {
  local label="$1" port="$2" reply=""
  for _ in $(seq 50); do
    reply=$(redis-cli -h 127.0.0.1 -p "$port" PING 2>&1) || true
    [ "$reply" = PONG ] && break
    sleep 0.2
  done
  [ "$reply" = PONG ] || fail "$label: no PONG on 127.0.0.1:$port (last answer: '$reply')"
  expect "$port" OK SET smoke:key "value of $label"
  expect "$port" "value of $label" GET smoke:key
  echo "ok   $label: PING, SET, GET on 127.0.0.1:$port"
}

start_node "$node_image" --bind 0.0.0.0
check_node "node as reported (--bind 0.0.0.0)" "$node_port"

start_node "${restricted[@]}" --mount type=volume,dst=/data --tmpfs /tmp:uid=65532,gid=65532 \
  "$node_image" --port=6379 --bind=0.0.0.0 --data-dir=/data --log-format=json
check_node "node as the operator runs it (read-only root, uid 65532, /data volume)" "$node_port"

# (Output is captured before it is searched: `docker run | grep -q` fails under pipefail.)
help=$(docker run --rm "${restricted[@]}" "$operator_image" --help) || fail "ringcache-operator --help failed"
grep -q "Run the operator" <<<"$help" || fail "ringcache-operator --help does not list run: $help"
echo "ok   operator: --help"
docker run --rm "${restricted[@]}" "$operator_image" crd > "$work/crd.yaml" || fail "ringcache-operator crd failed"
cmp -s "$work/crd.yaml" crds/cacheclusters.cache.ringcache.dev.yaml \
  || fail "ringcache-operator crd in the image differs from crds/cacheclusters.cache.ringcache.dev.yaml"
echo "ok   operator: crd equals crds/cacheclusters.cache.ringcache.dev.yaml"
# `run` is the image's default command: without its key it must refuse to start, and with a key (a
# file mounted as the chart mounts it) but no cluster it must stop with its own error, which shows that
# the binary, its libraries and its TLS set-up load in the image.
set +e
run_output=$(docker run --rm "${restricted[@]}" "$operator_image" 2>&1)
run_status=$?
set -e
[ "$run_status" -eq 2 ] && grep -q "no operator key: pass --cluster-key-file" <<<"$run_output" \
  || fail "ringcache-operator run (no key) exited $run_status: $run_output"
echo "ok   operator: run without a key refuses to start (exit 2)"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$work/operator-key"
chmod 0444 "$work/operator-key"
set +e
run_output=$(docker run --rm "${restricted[@]}" \
  --mount "type=bind,src=$work/operator-key,dst=/etc/ringcache-operator/key/key,readonly" \
  -e RINGCACHE_CLUSTER_KEY_FILE=/etc/ringcache-operator/key/key "$operator_image" 2>&1)
run_status=$?
set -e
[ "$run_status" -eq 2 ] && grep -q "cannot create a Kubernetes client" <<<"$run_output" \
  || fail "ringcache-operator run (no cluster) exited $run_status: $run_output"
echo "ok   operator: run with a key but without a cluster stops cleanly (exit 2)"
# A cluster on a private network. Fixed addresses, so MOVED redirections name addresses this host can
# reach; the members advertise them.
subnet_prefix="172.31.$(( $$ % 200 + 20 ))"
docker network create --subnet "$subnet_prefix.0/24" "$network" >/dev/null \
  || fail "cannot create the network $network"
members=""
for ordinal in 0 1 2; do
  ip="$subnet_prefix.$(( ordinal + 10 ))"
  name="ringcache-smoke-$$-member-$ordinal"
  containers+=("$name")
  docker run -d --name "$name" --network "$network" --ip "$ip" "${restricted[@]}" \
    --mount type=volume,dst=/data --tmpfs /tmp:uid=65532,gid=65532 "$node_image" \
    --cluster-enabled --ordinal "$ordinal" --bind 0.0.0.0 --advertise-host "$ip" --data-dir /data \
    >/dev/null || fail "docker run of member $ordinal failed"
  members+="${members:+,}{\"ordinal\":$ordinal,\"adminAddress\":\"$ip:9090\"}"
done
first="$subnet_prefix.10"
formed=""
for _ in $(seq 50); do
  formed=$(curl -sf -X POST -H 'content-type: application/json' "http://$first:9090/v1/cluster/form" \
    -d "{\"settings\":{\"partitions\":16,\"replicationFactor\":3},\"members\":[$members]}" 2>&1) && break
  sleep 0.5
done
grep -q '"members"' <<<"$formed" || fail "forming the container cluster failed: $formed"
for ordinal in 0 1 2; do
  ip="$subnet_prefix.$(( ordinal + 10 ))"
  ready=""
  for _ in $(seq 100); do
    curl -sf "http://$ip:9090/readyz" >/dev/null && { ready=yes; break; }
    sleep 0.3
  done
  [ -n "$ready" ] || fail "member $ordinal ($ip) never became ready: $(curl -s "http://$ip:9090/readyz")"
done
for index in $(seq 20); do
  reply=$(redis-cli -c -h "$first" SET "smoke:$index" "v$index" 2>&1) || true
  [ "$reply" = OK ] || fail "redis-cli -c SET smoke:$index answered '$reply'"
done
for ordinal in 1 2; do
  ip="$subnet_prefix.$(( ordinal + 10 ))"
  for index in $(seq 20); do
    reply=$(redis-cli -c -h "$ip" GET "smoke:$index" 2>&1) || true
    [ "$reply" = "v$index" ] || fail "redis-cli -c -h $ip GET smoke:$index answered '$reply'"
  done
done
slots=$(redis-cli -h "$first" CLUSTER INFO | tr -d '\r' | sed -n 's/^cluster_state://p')
[ "$slots" = ok ] || fail "CLUSTER INFO reports cluster_state '$slots'"
echo "ok   3-member cluster of node containers: formed, redis-cli -c SET/GET across members"
echo "docker smoke test passed"
