#!/usr/bin/env bash
# Compares ringcache-node (release build) with Debian's redis-server on this machine for scripts and
# pub/sub: redis-benchmark with the same custom commands against both, in interleaved rounds (the
# order alternates every round), printing requests/s and the ratio ringcache-node / redis-server.
#
#   EVAL     EVAL "return redis.call('INCR', KEYS[1])" 1 key:<random>   (a script that writes)
#   EVALSHA  the same script by its SHA1
#   EVAL_RO  EVAL_RO "return redis.call('GET', KEYS[1])" 1 key:<random>
#   PUBLISH  PUBLISH bench <16 bytes>, with one redis-cli subscriber reading the channel
#
# Usage: bench/scripts-vs-redis.sh          (environment variables below override the defaults)
set -euo pipefail

ROUNDS=${ROUNDS:-3}
REQUESTS=${REQUESTS:-100000}
CLIENTS=${CLIENTS:-50}
KEYSPACE=${KEYSPACE:-100000}
PIPELINES=${PIPELINES:-"1 16"}
REDIS_PORT=${REDIS_PORT:-16392}
NODE_PORT=${NODE_PORT:-16393}

root=$(cd "$(dirname "$0")/.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

for tool in redis-server redis-benchmark redis-cli; do
    command -v "$tool" >/dev/null || { echo "error: $tool not found (apt-get install redis-server redis-tools)" >&2; exit 1; }
done

echo "building ringcache-node (release)..." >&2
(cd "$root" && CARGO_TARGET_DIR="$target" cargo build --release -p ringcache-node --quiet)

redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
    --dir "$work" --logfile "$work/redis.log" &
pids+=($!)
RUST_LOG=warn "$target/release/ringcache-node" --port "$NODE_PORT" --bind 127.0.0.1 2>"$work/node.log" &
pids+=($!)
for port in "$REDIS_PORT" "$NODE_PORT"; do
    for _ in $(seq 100); do redis-cli -p "$port" PING >/dev/null 2>&1 && break; sleep 0.1; done
    redis-cli -p "$port" PING >/dev/null || { echo "error: server on port $port did not start" >&2; exit 1; }
done

WRITE="return redis.call('INCR', KEYS[1])"
READ="return redis.call('GET', KEYS[1])"
sha=$(redis-cli -p "$REDIS_PORT" SCRIPT LOAD "$WRITE")
[[ $(redis-cli -p "$NODE_PORT" SCRIPT LOAD "$WRITE") == "$sha" ]] || { echo "error: SHA1 differs" >&2; exit 1; }
for port in "$REDIS_PORT" "$NODE_PORT"; do
    redis-cli -p "$port" SUBSCRIBE bench >/dev/null &
    pids+=($!)
done

run() { # port pipeline test -> requests/s
    local command
    case $3 in
        EVAL) command=(EVAL "$WRITE" 1 key:__rand_int__) ;;
        EVALSHA) command=(EVALSHA "$sha" 1 key:__rand_int__) ;;
        EVAL_RO) command=(EVAL_RO "$READ" 1 key:__rand_int__) ;;
        PUBLISH) command=(PUBLISH bench 0123456789abcdef) ;;
    esac
    # The test's name is the command, commas included: split on the quoted separator.
    redis-benchmark -p "$1" -c "$CLIENTS" -n "$REQUESTS" -r "$KEYSPACE" -P "$2" --csv "${command[@]}" 2>/dev/null |
        awk -F'","' 'NR > 1 {print $2; exit}'
}

TESTS="EVAL EVALSHA EVAL_RO PUBLISH"
declare -A total
echo "redis-benchmark -c $CLIENTS -n $REQUESTS -r $KEYSPACE -P {$PIPELINES}, $ROUNDS interleaved rounds" >&2
for round in $(seq "$ROUNDS"); do
    if (( round % 2 )); then order="redis node"; else order="node redis"; fi
    for pipeline in $PIPELINES; do
        for test in $TESTS; do
            for server in $order; do
                port=$REDIS_PORT
                [[ $server == node ]] && port=$NODE_PORT
                rps=$(run "$port" "$pipeline" "$test")
                key="$server|$pipeline|$test"
                total[$key]=$(awk -v a="${total[$key]:-0}" -v b="${rps:-0}" 'BEGIN {printf "%.2f", a + b}')
                printf '  round %d  P=%-2s %-6s %-8s %12.0f req/s\n' "$round" "$pipeline" "$server" "$test" "${rps:-0}" >&2
            done
        done
    done
done

echo
echo "## Scripts and pub/sub (mean of $ROUNDS rounds, requests/s)"
printf '%-8s %-3s %14s %14s %8s\n' test P redis-server ringcache-node ratio
for pipeline in $PIPELINES; do
    for test in $TESTS; do
        redis=$(awk -v t="${total[redis|$pipeline|$test]:-0}" -v n="$ROUNDS" 'BEGIN {printf "%.0f", t / n}')
        node=$(awk -v t="${total[node|$pipeline|$test]:-0}" -v n="$ROUNDS" 'BEGIN {printf "%.0f", t / n}')
        ratio=$(awk -v a="$node" -v b="$redis" 'BEGIN {if (b > 0) printf "%.2f", a / b; else print "n/a"}')
        printf '%-8s %-3s %14s %14s %7sx\n' "$test" "$pipeline" "$redis" "$node" "$ratio"
    done
done
