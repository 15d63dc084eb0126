#!/usr/bin/env bash
# Compares ringcache-node (release build) with Debian's redis-server on this machine.
#
# Throughput: redis-benchmark with the same flags against both servers, in interleaved rounds (the
# order alternates every round so background noise hits both alike); prints requests/s and the
# ratio ringcache-node / redis-server per test (strings, and the hash, list, set and sorted-set
# tests redis-benchmark has). Memory: loads the same data into a fresh instance of each — MEMORY_KEYS
# string keys with 64-byte values, one hash of MEMORY_KEYS fields, one sorted set of MEMORY_KEYS
# members — and reports both INFO used_memory (redis: allocator-measured; ringcache: its
# deterministic estimate) and the growth of the process RSS (the honest comparison).
#
# Usage: bench/node-vs-redis.sh            (environment variables below override the defaults)
set -euo pipefail

ROUNDS=${ROUNDS:-3}
REQUESTS=${REQUESTS:-200000}
CLIENTS=${CLIENTS:-50}
KEYSPACE=${KEYSPACE:-100000}
TESTS=${TESTS:-set,get,hset,lpush,lpop,sadd,zadd,lrange_100}
PIPELINES=${PIPELINES:-"1 16"}
MEMORY_KEYS=${MEMORY_KEYS:-1000000}
REDIS_PORT=${REDIS_PORT:-16390}
NODE_PORT=${NODE_PORT:-16391}

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
node_binary="$target/release/ringcache-node"

start_redis() {
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
        --dir "$work" --logfile "$work/redis.log" &
    redis_pid=$!
    pids+=("$redis_pid")
}
start_node() {
    RUST_LOG=warn "$node_binary" --port "$NODE_PORT" --bind 127.0.0.1 2>"$work/node.log" &
    node_pid=$!
    pids+=("$node_pid")
}
wait_ready() {
    for _ in $(seq 100); do
        redis-cli -p "$1" PING >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "error: server on port $1 did not start" >&2
    exit 1
}
stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
used_memory() { redis-cli -p "$1" INFO memory | tr -d '\r' | awk -F: '/^used_memory:/ {print $2}'; }

# ---------------------------------------------------------------- throughput
start_redis
start_node
wait_ready "$REDIS_PORT"
wait_ready "$NODE_PORT"

declare -A total
run_benchmark() { # port pipeline -> lines "TEST rps"
    redis-benchmark -p "$1" -c "$CLIENTS" -n "$REQUESTS" -r "$KEYSPACE" -P "$2" -t "$TESTS" --csv 2>/dev/null |
        tr -d '"' | awk -F, 'NR > 1 {sub(/ .*/, "", $1); print $1, $2}'
}

echo "redis-benchmark -c $CLIENTS -n $REQUESTS -r $KEYSPACE -t $TESTS -P {$PIPELINES}, $ROUNDS interleaved rounds" >&2
for round in $(seq "$ROUNDS"); do
    if (( round % 2 )); then order="redis node"; else order="node redis"; fi
    for pipeline in $PIPELINES; do
        for server in $order; do
            port=$REDIS_PORT
            [[ $server == node ]] && port=$NODE_PORT
            while read -r test rps; do
                key="$server|$pipeline|$test"
                total[$key]=$(awk -v a="${total[$key]:-0}" -v b="$rps" 'BEGIN {printf "%.2f", a + b}')
                printf '  round %d  P=%-2s %-6s %-4s %12.0f req/s\n' "$round" "$pipeline" "$server" "$test" "$rps" >&2
            done < <(run_benchmark "$port" "$pipeline")
        done
    done
done

echo
echo "## Throughput (mean of $ROUNDS rounds, requests/s)"
printf '%-6s %-3s %14s %14s %8s\n' test P redis-server ringcache-node ratio
for pipeline in $PIPELINES; do
    for test in ${TESTS//,/ }; do
        name=${test^^}
        redis=$(awk -v t="${total[redis|$pipeline|$name]:-0}" -v n="$ROUNDS" 'BEGIN {printf "%.0f", t / n}')
        node=$(awk -v t="${total[node|$pipeline|$name]:-0}" -v n="$ROUNDS" 'BEGIN {printf "%.0f", t / n}')
        ratio=$(awk -v a="$node" -v b="$redis" 'BEGIN {if (b > 0) printf "%.2f", a / b; else print "n/a"}')
        printf '%-6s %-3s %14s %14s %7sx\n' "$name" "$pipeline" "$redis" "$node" "$ratio"
    done
done
stop "$redis_pid"
stop "$node_pid"

# ---------------------------------------------------------------- memory
MEMORY_CASES=${MEMORY_CASES:-"strings hash zset"}
generate() { # case -> RESP commands on stdout
    case $1 in
        strings)
            value=$(printf 'v%.0s' $(seq 64))
            awk -v n="$MEMORY_KEYS" -v v="$value" 'BEGIN {
                for (i = 0; i < n; i++) { k = sprintf("key:%012d", i); printf "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$64\r\n%s\r\n", length(k), k, v }
            }' ;;
        hash) # one hash, field:NNNNNNNNNNNN -> an 8-byte value
            awk -v n="$MEMORY_KEYS" 'BEGIN {
                for (i = 0; i < n; i++) { f = sprintf("field:%012d", i); v = sprintf("%08d", i % 100000000); printf "*4\r\n$4\r\nHSET\r\n$4\r\nhash\r\n$%d\r\n%s\r\n$8\r\n%s\r\n", length(f), f, v }
            }' ;;
        zset) # one sorted set, member:NNNNNNNNNNNN with an integer score
            awk -v n="$MEMORY_KEYS" 'BEGIN {
                for (i = 0; i < n; i++) { m = sprintf("member:%012d", i); s = sprintf("%d", (i * 7919) % 1000003); printf "*4\r\n$4\r\nZADD\r\n$4\r\nzset\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", length(s), s, length(m), m }
            }' ;;
    esac
}
describe() {
    case $1 in
        strings) echo "$MEMORY_KEYS keys (key:NNNNNNNNNNNN, 16 bytes) with 64-byte values" ;;
        hash) echo "one hash of $MEMORY_KEYS fields (field:NNNNNNNNNNNN, 18 bytes) with 8-byte values" ;;
        zset) echo "one sorted set of $MEMORY_KEYS members (member:NNNNNNNNNNNN, 19 bytes), integer scores" ;;
    esac
}
size_of() { # case port -> what was loaded
    case $1 in
        strings) redis-cli -p "$2" DBSIZE ;;
        hash) redis-cli -p "$2" HLEN hash ;;
        zset) redis-cli -p "$2" ZCARD zset ;;
    esac
}

measure_memory() { # case port pid
    local before_rss before_used after_rss after_used loaded
    before_rss=$(rss_kb "$3")
    before_used=$(used_memory "$2")
    redis-cli -p "$2" --pipe < "$work/$1.resp" >/dev/null
    loaded=$(size_of "$1" "$2")
    after_rss=$(rss_kb "$3")
    after_used=$(used_memory "$2")
    echo "$loaded $(( (after_rss - before_rss) * 1024 )) $(( after_used - before_used ))"
}

for case in $MEMORY_CASES; do
    echo "generating the $case load ($(describe "$case"))..." >&2
    generate "$case" > "$work/$case.resp"
    start_redis
    wait_ready "$REDIS_PORT"
    read -r redis_loaded redis_rss redis_used < <(measure_memory "$case" "$REDIS_PORT" "$redis_pid")
    stop "$redis_pid"
    start_node
    wait_ready "$NODE_PORT"
    read -r node_loaded node_rss node_used < <(measure_memory "$case" "$NODE_PORT" "$node_pid")
    stop "$node_pid"
    rm -f "$work/$case.resp"

    echo
    echo "## Memory: $(describe "$case")"
    printf '%-32s %14s %14s %8s\n' measure redis-server ringcache-node ratio
    printf '%-32s %14s %14s\n' "loaded (DBSIZE/HLEN/ZCARD)" "$redis_loaded" "$node_loaded"
    printf '%-32s %14s %14s %7sx\n' "RSS growth (bytes)" "$redis_rss" "$node_rss" \
        "$(awk -v a="$node_rss" -v b="$redis_rss" 'BEGIN {printf "%.2f", a / b}')"
    printf '%-32s %14s %14s %7sx\n' "INFO used_memory growth (bytes)" "$redis_used" "$node_used" \
        "$(awk -v a="$node_used" -v b="$redis_used" 'BEGIN {printf "%.2f", a / b}')"
done
echo "(redis used_memory is measured by its allocator; ringcache's is its deterministic estimate)"
