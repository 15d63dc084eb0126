#!/usr/bin/env bash
# Compares a 3-member ringcache cluster (release build, RF 3, P 64) with a 3-member etcd cluster and a
# single redis-server, side by side on this machine, with the same client count and 64-byte values.
#
# Systems (started by this script on unusual loopback addresses; each is started fresh, with empty data
# dirs, for its block of every round and stopped after it, so only the system under test runs):
#   rc     3 ringcache-node members on $RC_HOSTS, formed with POST /v1/cluster/form, ready on /readyz;
#          default settings (Raft log not fsynced, reads confirmed by leader lease) plus $RC_FLAGS,
#          by default "--threads 1 --idle-poll-us 200": three members share this machine's 2 CPUs,
#          so each gets one worker thread (as a pod with a 1-CPU limit would by default), and each
#          keeps polling 200 us after a message instead of sleeping (see --help)
#   etcd   3 etcd members (Debian's etcd-server) on $ETCD_HOSTS, default settings: the WAL is fsynced
#          on every commit, data dirs on the same disk as ringcache's ($BENCH_TMP)
#   redis  one redis-server on $REDIS_HOST, --save '' --appendonly no
# Variants ($VARIANTS, default both; VARIANTS="" skips them), extra systems in the same interleaving:
#   etcd-tmpfs     another 3-member etcd cluster whose data dirs are on tmpfs (/dev/shm): fsync costs
#                  nothing. Debian's etcd 3.4 has no --unsafe-no-fsync (3.5+); this is its equivalent.
#   rc-read-index  another ringcache cluster started with --read-policy read-index
#   rc-defaults    another ringcache cluster without $RC_FLAGS: every setting at its default
#   redis-cluster  control: 3 redis-servers with --cluster-enabled yes, no replicas (redis-cli --cluster
#                  create), measured with redis-benchmark --cluster like ringcache: what 3 processes and
#                  the benchmark's cluster mode cost on this machine without any replication
#
# Each round runs, per system, in an order that alternates from round to round:
#   rc/redis   redis-benchmark [--cluster] -c $CLIENTS -n $REQUESTS -r $KEYSPACE -d 64 -t set, then -t get
#   etcd       bench/etcd-load --mode put, then --mode get (linearizable), $CLIENTS tasks each with its
#              own client connection, $REQUESTS requests, keys key:NNNNNNNNNNNN below $KEYSPACE
#   latency    the same with one client and $LAT_REQUESTS requests (SET / put)
# and records requests/s, p50 latency, and the CPU time the servers (and the load generator) used.
# At the end it prints the median of each figure over the rounds and the ratios against the targets.
#
# Usage: bench/cluster-vs-etcd.sh        (environment variables below override the defaults)
#        RINGCACHE_REF=HEAD bench/cluster-vs-etcd.sh   (build that commit, not the working tree)
set -euo pipefail

ROUNDS=${ROUNDS:-3}
CLIENTS=${CLIENTS:-50}
REQUESTS=${REQUESTS:-200000}
LAT_REQUESTS=${LAT_REQUESTS:-5000}
KEYSPACE=${KEYSPACE:-100000}
VALUE_SIZE=${VALUE_SIZE:-64}
PARTITIONS=${PARTITIONS:-64}
RF=${RF:-3}
VARIANTS=${VARIANTS-etcd-tmpfs rc-read-index rc-defaults redis-cluster}
RC_FLAGS=${RC_FLAGS-"--threads 1 --idle-poll-us 200"}
# etcd-load endpoints: "leader" (every request straight to the leader: etcd's best case on one
# machine, no forwarding hop) or "all" (clientv3's usual balancing over the three members).
ETCD_TARGET=${ETCD_TARGET:-leader}
# SYSTEMS: the main systems (default "rc etcd redis"; e.g. SYSTEMS=rc RF=1 VARIANTS="" for a diagnosis)
RC_HOSTS=${RC_HOSTS:-"127.0.88.1 127.0.88.2 127.0.88.3"}
RC_RI_HOSTS=${RC_RI_HOSTS:-"127.0.88.4 127.0.88.5 127.0.88.6"}
RC_DEFAULTS_HOSTS=${RC_DEFAULTS_HOSTS:-"127.0.88.7 127.0.88.8 127.0.88.9"}
ETCD_HOSTS=${ETCD_HOSTS:-"127.0.88.11 127.0.88.12 127.0.88.13"}
ETCD_TMPFS_HOSTS=${ETCD_TMPFS_HOSTS:-"127.0.88.14 127.0.88.15 127.0.88.16"}
REDIS_HOST=${REDIS_HOST:-127.0.88.20}
REDIS_CLUSTER_HOSTS=${REDIS_CLUSTER_HOSTS:-"127.0.88.21 127.0.88.22 127.0.88.23"}
RC_PORT=${RC_PORT:-26379}          # Raft: RC_PORT + 10000, admin: RC_ADMIN_PORT
RC_ADMIN_PORT=${RC_ADMIN_PORT:-29090}
ETCD_CLIENT_PORT=${ETCD_CLIENT_PORT:-22379}
ETCD_PEER_PORT=${ETCD_PEER_PORT:-22380}
REDIS_PORT=${REDIS_PORT:-26390}
BENCH_TMP=${BENCH_TMP:-/var/tmp}   # data dirs of ringcache and etcd: a real disk, not tmpfs

root=$(cd "$(dirname "$0")/.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
work=$(mktemp -d "$BENCH_TMP/cluster-vs-etcd.XXXXXX")
shm_work=""
results=$work/results
: > "$results"
declare -A sys_pids # system -> pids of its running processes (emptied when it is stopped)
cleanup() {
    local pid
    # Only processes still running: a stopped system's pids were reaped and may be reused.
    for pid in ${sys_pids[@]+${sys_pids[@]}}; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
    [[ -n $shm_work ]] && rm -rf "$shm_work"
    return 0
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT
log() { echo "$@" >&2; }
has_variant() { [[ " $VARIANTS " == *" $1 "* ]]; }

# ---------------------------------------------------------------- dependencies (idempotent; apt only as root)
need_apt=()
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
command -v redis-benchmark >/dev/null 2>&1 || need_apt+=(redis-tools)
command -v etcd >/dev/null 2>&1 || need_apt+=(etcd-server)
command -v etcdctl >/dev/null 2>&1 || need_apt+=(etcd-client)
command -v protoc >/dev/null 2>&1 || need_apt+=(protobuf-compiler) # etcd-client's build script
command -v curl >/dev/null 2>&1 || need_apt+=(curl)
if ((${#need_apt[@]})); then
    if [ "$(id -u)" -ne 0 ]; then
        log "error: need ${need_apt[*]}; run as root or: sudo apt-get install -y ${need_apt[*]}"
        exit 1
    fi
    log "apt-get install ${need_apt[*]}"
    apt-get update -qq >/dev/null || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
# (Debian's packages would start redis-server/etcd as services where systemd runs; ours use other
# addresses and ports, so they do not collide.)

# Which ringcache to build: the working tree (default), or with RINGCACHE_REF=<git ref> that commit,
# exported (git archive) under the target dir, so concurrent uncommitted edits are not measured.
if [[ -n ${RINGCACHE_REF:-} ]]; then
    commit=$(git -C "$root" rev-parse --verify "$RINGCACHE_REF^{commit}")
    src="$target/cluster-vs-etcd-src/$commit"
    if [[ ! -f $src/Cargo.toml ]]; then
        mkdir -p "$src.partial"
        git -C "$root" archive "$commit" | tar -x -C "$src.partial"
        rm -rf "$src" && mv "$src.partial" "$src"
    fi
    source_note="commit $(git -C "$root" log -1 --format='%h %cs' "$commit") ($RINGCACHE_REF)"
else
    src=$root
    source_note="working tree at $(git -C "$root" log -1 --format='%h %cs' HEAD 2>/dev/null || echo '?')"
    dirty=$(git -C "$root" status --porcelain -- Cargo.lock node replication admin placement 2>/dev/null | wc -l)
    ((dirty == 0)) || source_note+=", with $dirty uncommitted changes under node/ replication/ admin/ placement/"
fi
log "building ringcache-node (release, $source_note) and bench/etcd-load..."
if [[ $src != "$root" ]] && ! git -C "$root" show "$commit:Cargo.lock" | cmp -s - "$src/Cargo.lock"; then
    source_note+=", Cargo.lock re-resolved offline (not in sync at that commit)"
fi
if ! (cd "$src" && CARGO_TARGET_DIR="$target" cargo build --release -p ringcache-node --locked --quiet); then
    # A commit whose Cargo.lock lags its manifests (e.g. a dev-dependency committed separately):
    # resolve offline, in the exported copy only.
    [[ $src != "$root" ]] || exit 1
    log "note: $RINGCACHE_REF's Cargo.lock is not in sync with its manifests; building it with --offline instead of --locked"
    source_note+=", Cargo.lock re-resolved offline (not in sync at that commit)"
    (cd "$src" && CARGO_TARGET_DIR="$target" cargo build --release -p ringcache-node --offline --quiet)
fi
(cd "$root/bench/etcd-load" && CARGO_TARGET_DIR="$target" cargo build --release --locked --quiet)
node_binary="$target/release/ringcache-node"
etcd_load="$target/release/etcd-load"

# ---------------------------------------------------------------- helpers
cpu_ticks() { # pids... -> utime+stime summed, in clock ticks (100 per second)
    local total=0 pid fields
    for pid in "$@"; do
        fields=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null) || continue
        total=$((total + $(awk '{print $12 + $13}' <<<"$fields")))
    done
    echo "$total"
}
record() { # key value (also as key@rROUND, for the per-round ratios)
    echo "$1 $2" >>"$results"
    echo "$1@r${round:-0} $2" >>"$results"
}
median() { # key -> median of the recorded values (empty if none)
    awk -v k="$1" '$1 == k {print $2}' "$results" | sort -g |
        awk '{v[NR] = $1} END {if (NR == 0) exit; if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}
record_cpu() { # key system ticks t0 t1 requests: server CPU per 1000 requests, raw and minus the idle rate
    local idle
    idle=$(awk -v k="$2.idle_cpu_pct" '$1 == k {v = $2} END {print v + 0}' "$results")
    record "$1.cpu_ms_per_1k" "$(awk -v t="$3" -v n="$6" 'BEGIN {printf "%.1f", t * 10 / n * 1000}')"
    record "$1.active_cpu_ms_per_1k" "$(awk -v t="$3" -v n="$6" -v i="$idle" -v a="$4" -v b="$5" \
        'BEGIN {v = t * 10 - i * 10 * (b - a); if (v < 0) v = 0; printf "%.1f", v / n * 1000}')"
}
json_field() { sed -n "s/.*\"$2\":\"\\{0,1\\}\\([^,\"}]*\\).*/\\1/p" <<<"$1"; } # json field

# ---------------------------------------------------------------- ringcache cluster
start_rc() { # system hosts extra-flags...
    local system=$1 hosts=($2) i=0 host members="" pidlist=""
    shift 2
    # As in Kubernetes: members share a cluster secret (admin API and cluster port authenticated).
    head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$work/$system-secret"
    local auth="Authorization: Bearer $(cat "$work/$system-secret")"
    for host in "${hosts[@]}"; do
        mkdir -p "$work/$system/$i"
        RUST_LOG=warn "$node_binary" --cluster-enabled --bind "$host" --port "$RC_PORT" \
            --admin-port "$RC_ADMIN_PORT" --ordinal "$i" --data-dir "$work/$system/$i" \
            --cluster-secret-file "$work/$system-secret" "$@" \
            2>"$work/$system-$i.log" &
        pidlist+="$! "
        members+="${members:+,}{\"ordinal\": $i, \"adminAddress\": \"$host:$RC_ADMIN_PORT\"}"
        i=$((i + 1))
    done
    sys_pids[$system]=$pidlist
    for host in "${hosts[@]}"; do
        for _ in $(seq 100); do
            curl -fs "http://$host:$RC_ADMIN_PORT/healthz" >/dev/null 2>&1 && continue 2
            sleep 0.1
        done
        log "error: $system member $host did not start (see $work/$system-*.log)"
        exit 1
    done
    curl -fsS -X POST -H 'content-type: application/json' -H "$auth" "http://${hosts[0]}:$RC_ADMIN_PORT/v1/cluster/form" \
        -d "{\"settings\": {\"partitions\": $PARTITIONS, \"replicationFactor\": $RF}, \"members\": [$members]}" \
        >/dev/null
    local deadline=$((SECONDS + 120))
    for host in "${hosts[@]}"; do
        until curl -fs "http://$host:$RC_ADMIN_PORT/readyz" >/dev/null 2>&1; do
            if ((SECONDS > deadline)); then
                log "error: $system member $host not ready: $(curl -s "http://$host:$RC_ADMIN_PORT/readyz")"
                exit 1
            fi
            sleep 0.2
        done
    done
    local leads=""
    for host in "${hosts[@]}"; do
        leads+="$(curl -fs -H "$auth" "http://$host:$RC_ADMIN_PORT/v1/status" | grep -io '"role":"leader"' | wc -l) "
    done
    log "$system: formed (P $PARTITIONS, RF $RF) and ready; partitions led per member: $leads"
    echo "$system partitions led per member: $leads" >>"$work/notes"
}

# ---------------------------------------------------------------- etcd cluster
start_etcd() { # system hosts data-root
    local system=$1 hosts=($2) data=$3 i=0 host initial="" pidlist=""
    for host in "${hosts[@]}"; do
        initial+="${initial:+,}$system$i=http://$host:$ETCD_PEER_PORT"
        i=$((i + 1))
    done
    i=0
    for host in "${hosts[@]}"; do
        etcd --name "$system$i" --data-dir "$data/$system/$i" \
            --listen-client-urls "http://$host:$ETCD_CLIENT_PORT" --advertise-client-urls "http://$host:$ETCD_CLIENT_PORT" \
            --listen-peer-urls "http://$host:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://$host:$ETCD_PEER_PORT" \
            --initial-cluster "$initial" --initial-cluster-state new --initial-cluster-token "bench-$system" \
            --logger zap --log-level warn >"$work/$system-$i.log" 2>&1 &
        pidlist+="$! "
        i=$((i + 1))
    done
    sys_pids[$system]=$pidlist
    local endpoints
    endpoints=$(printf "http://%s:$ETCD_CLIENT_PORT," "${hosts[@]}")
    endpoints=${endpoints%,}
    for _ in $(seq 150); do
        ETCDCTL_API=3 etcdctl --endpoints "$endpoints" endpoint health >/dev/null 2>&1 && break
        sleep 0.2
    done
    ETCDCTL_API=3 etcdctl --endpoints "$endpoints" endpoint health >/dev/null 2>&1 ||
        { log "error: $system did not become healthy (see $work/$system-*.log)"; exit 1; }
    local leader
    leader=$(ETCDCTL_API=3 etcdctl --endpoints "$endpoints" endpoint status -w simple |
        awk -F', ' '$5 == "true" {print $1}')
    [[ -n $leader ]] || { log "error: $system has no leader"; exit 1; }
    if [[ $ETCD_TARGET == leader ]]; then
        eval "${system//-/_}_endpoints=${leader#http://}"
    else
        eval "${system//-/_}_endpoints=$(sed 's#http://##g' <<<"$endpoints")"
    fi
    log "$system: healthy, leader $leader, load generator endpoints: $(eval echo "\$${system//-/_}_endpoints")"
    echo "$system leader $leader; etcd-load endpoints: $(eval echo "\$${system//-/_}_endpoints")" >>"$work/notes"
}

start_redis() {
    mkdir -p "$work/redis"
    redis-server --port "$REDIS_PORT" --bind "$REDIS_HOST" --save '' --appendonly no --daemonize no \
        --dir "$work/redis" --logfile "$work/redis.log" &
    sys_pids[redis]=$!
    for _ in $(seq 100); do
        redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" PING >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    log "error: redis-server did not start"
    exit 1
}

start_redis_cluster() {
    local hosts=($REDIS_CLUSTER_HOSTS) i=0 host pidlist="" nodes=()
    for host in "${hosts[@]}"; do
        mkdir -p "$work/redis-cluster/$i"
        redis-server --port "$REDIS_PORT" --bind "$host" --save '' --appendonly no --daemonize no \
            --cluster-enabled yes --cluster-config-file "$work/redis-cluster/$i/nodes.conf" \
            --cluster-announce-ip "$host" --bind-source-addr "$host" \
            --dir "$work/redis-cluster/$i" --logfile "$work/redis-cluster-$i.log" &
        pidlist+="$! "
        nodes+=("$host:$REDIS_PORT")
        i=$((i + 1))
    done
    sys_pids[redis-cluster]=$pidlist
    for host in "${hosts[@]}"; do
        for _ in $(seq 100); do
            redis-cli -h "$host" -p "$REDIS_PORT" PING >/dev/null 2>&1 && continue 2
            sleep 0.1
        done
        log "error: redis-server $host did not start"
        exit 1
    done
    timeout 60 redis-cli --cluster create "${nodes[@]}" --cluster-replicas 0 --cluster-yes >"$work/redis-cluster-create.log" ||
        { log "error: redis-cli --cluster create failed (see $work/redis-cluster-create.log)"; exit 1; }
    for host in "${hosts[@]}"; do
        for _ in $(seq 100); do
            redis-cli -h "$host" -p "$REDIS_PORT" CLUSTER INFO | grep -q '^cluster_state:ok' && continue 2
            sleep 0.1
        done
        log "error: redis cluster member $host not ok"
        exit 1
    done
}

# ---------------------------------------------------------------- measurements
# Each prints nothing; it records "<system>.<test>.<figure> value" lines into $results.
rb() { # system test clients requests host -> records rps, p50_us, p99_us, server CPU ms per 1000 requests
    local system=$1 test=$2 clients=$3 requests=$4 host=$5 port=$RC_PORT cluster=--cluster
    [[ $system == redis ]] && { port=$REDIS_PORT; cluster=""; }
    [[ $system == redis-cluster ]] && port=$REDIS_PORT
    local before after line rps p50
    before=$(cpu_ticks ${sys_pids[$system]})
    local t0=$EPOCHREALTIME
    line=$(redis-benchmark $cluster -h "$host" -p "$port" -c "$clients" -n "$requests" -r "$KEYSPACE" \
        -d "$VALUE_SIZE" -t "$test" --csv 2>/dev/null | tr -d '"' | grep -i "^$test," || true)
    after=$(cpu_ticks ${sys_pids[$system]})
    local t1=$EPOCHREALTIME
    [[ -n $line ]] || { log "error: redis-benchmark $cluster -h $host -t $test printed no result"; exit 1; }
    # --csv: test,rps,avg_latency_ms,min_latency_ms,p50_latency_ms,p95_latency_ms,p99_latency_ms,max_latency_ms
    rps=$(cut -d, -f2 <<<"$line")
    p50=$(awk -F, '{printf "%.0f", $5 * 1000}' <<<"$line")
    local key="$system.${test,,}.c$clients"
    record "$key.rps" "$rps"
    record "$key.p50_us" "$p50"
    record "$key.p99_us" "$(awk -F, '{printf "%.0f", $7 * 1000}' <<<"$line")"
    record_cpu "$key" "$system" $((after - before)) "$t0" "$t1" "$requests"
    printf '  %-14s %-4s c=%-3s %10.0f req/s  p50 %6s us  server CPU %s s\n' "$system" "$test" "$clients" "$rps" "$p50" \
        "$(awk -v t=$((after - before)) 'BEGIN {printf "%.2f", t / 100}')" >&2
}
el() { # system mode clients requests -> records rps, p50_us, p99_us, server and client CPU
    local system=$1 mode=$2 clients=$3 requests=$4 endpoints_var="${1//-/_}_endpoints"
    local before after line
    before=$(cpu_ticks ${sys_pids[$system]})
    local t0=$EPOCHREALTIME
    line=$("$etcd_load" --endpoints "${!endpoints_var}" --mode "$mode" --clients "$clients" --requests "$requests" \
        --keyspace "$KEYSPACE" --value-size "$VALUE_SIZE")
    after=$(cpu_ticks ${sys_pids[$system]})
    local t1=$EPOCHREALTIME
    echo "$system $line" >>"$work/etcd-load.jsonl"
    local errors key="$system.$mode.c$clients"
    errors=$(json_field "$line" errors)
    ((${errors:-1} == 0)) || log "warning: $system $mode: $errors errors: $(json_field "$line" first_error)"
    record "$key.rps" "$(json_field "$line" rps)"
    record "$key.p50_us" "$(json_field "$line" p50_us)"
    record "$key.p99_us" "$(json_field "$line" p99_us)"
    record_cpu "$key" "$system" $((after - before)) "$t0" "$t1" "$requests"
    record "$key.client_cpu_ms_per_1k" "$(awk -v c="$(json_field "$line" client_cpu_s)" -v n="$requests" 'BEGIN {printf "%.1f", c / n * 1e6}')"
    printf '  %-14s %-4s c=%-3s %10.0f req/s  p50 %6s us  server CPU %s s  load generator CPU %s s\n' "$system" "$mode" \
        "$clients" "$(json_field "$line" rps)" "$(json_field "$line" p50_us)" \
        "$(awk -v t=$((after - before)) 'BEGIN {printf "%.2f", t / 100}')" "$(json_field "$line" client_cpu_s)" >&2
}

rc_host=${RC_HOSTS%% *}
rc_ri_host=${RC_RI_HOSTS%% *}
rc_defaults_host=${RC_DEFAULTS_HOSTS%% *}
measure() { # system
    case $1 in
        rc)
            rb rc SET "$CLIENTS" "$REQUESTS" "$rc_host"
            rb rc GET "$CLIENTS" "$REQUESTS" "$rc_host"
            rb rc SET 1 "$LAT_REQUESTS" "$rc_host" ;;
        rc-read-index)
            rb rc-read-index SET "$CLIENTS" "$REQUESTS" "$rc_ri_host"
            rb rc-read-index GET "$CLIENTS" "$REQUESTS" "$rc_ri_host" ;;
        rc-defaults)
            rb rc-defaults SET "$CLIENTS" "$REQUESTS" "$rc_defaults_host"
            rb rc-defaults GET "$CLIENTS" "$REQUESTS" "$rc_defaults_host"
            rb rc-defaults SET 1 "$LAT_REQUESTS" "$rc_defaults_host" ;;
        redis-cluster)
            rb redis-cluster SET "$CLIENTS" "$REQUESTS" "${REDIS_CLUSTER_HOSTS%% *}"
            rb redis-cluster GET "$CLIENTS" "$REQUESTS" "${REDIS_CLUSTER_HOSTS%% *}"
            rb redis-cluster SET 1 "$LAT_REQUESTS" "${REDIS_CLUSTER_HOSTS%% *}" ;;
        redis)
            rb redis SET "$CLIENTS" "$REQUESTS" "$REDIS_HOST"
            rb redis GET "$CLIENTS" "$REQUESTS" "$REDIS_HOST"
            rb redis SET 1 "$LAT_REQUESTS" "$REDIS_HOST" ;;
        etcd)
            el etcd put "$CLIENTS" "$REQUESTS"
            el etcd get "$CLIENTS" "$REQUESTS"
            el etcd put 1 "$LAT_REQUESTS" ;;
        etcd-tmpfs)
            el etcd-tmpfs put "$CLIENTS" "$REQUESTS"
            el etcd-tmpfs put 1 "$LAT_REQUESTS" ;;
    esac
}

# ---------------------------------------------------------------- run
start_system() { # system: a fresh instance (empty data dirs)
    case $1 in
        # $RC_FLAGS is split into words on purpose.
        # shellcheck disable=SC2086
        rc) start_rc rc "$RC_HOSTS" $RC_FLAGS ;;
        # shellcheck disable=SC2086
        rc-read-index) start_rc rc-read-index "$RC_RI_HOSTS" $RC_FLAGS --read-policy read-index ;;
        rc-defaults) start_rc rc-defaults "$RC_DEFAULTS_HOSTS" ;;
        etcd) start_etcd etcd "$ETCD_HOSTS" "$work" ;;
        etcd-tmpfs) start_etcd etcd-tmpfs "$ETCD_TMPFS_HOSTS" "$shm_work" ;;
        redis) start_redis ;;
        redis-cluster) start_redis_cluster ;;
    esac
}
stop_system() { # system: stop its processes and delete its data
    local pid
    for pid in ${sys_pids[$1]}; do kill "$pid" 2>/dev/null || true; done
    for pid in ${sys_pids[$1]}; do wait "$pid" 2>/dev/null || true; done
    rm -rf "${work:?}/$1" "${shm_work:-/nonexistent}/$1"
    sys_pids[$1]=""
}
measure_idle() { # system: CPU its idle processes burn (heartbeats, tickers), % of one core over 3 s
    local before
    before=$(cpu_ticks ${sys_pids[$1]})
    sleep 3
    record "$1.idle_cpu_pct" "$(awk -v t=$(($(cpu_ticks ${sys_pids[$1]}) - before)) 'BEGIN {printf "%.1f", t / 3}')"
}

: >"$work/notes"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
started=$(date -u +%Y-%m-%dT%H:%MZ)
systems=${SYSTEMS:-rc etcd redis}
for variant in $VARIANTS; do
    case $variant in
        rc-read-index | rc-defaults | etcd-tmpfs | redis-cluster) systems+=" $variant" ;;
        *) log "error: unknown variant $variant"; exit 1 ;;
    esac
done
has_variant etcd-tmpfs && shm_work=$(mktemp -d /dev/shm/cluster-vs-etcd.XXXXXX)

log "$ROUNDS interleaved rounds over: $systems; $CLIENTS clients, $REQUESTS requests, keyspace $KEYSPACE," \
    "${VALUE_SIZE}-byte values; single client: $LAT_REQUESTS requests. Only the system under test runs."
read -r -a order <<<"$systems"
for round in $(seq "$ROUNDS"); do
    if ((round % 2)); then this=("${order[@]}"); else this=(); for ((j = ${#order[@]} - 1; j >= 0; j--)); do this+=("${order[j]}"); done; fi
    log "round $round: ${this[*]}  (load average $(cut -d' ' -f1-3 /proc/loadavg))"
    for system in "${this[@]}"; do
        start_system "$system"
        measure_idle "$system"
        measure "$system"
        stop_system "$system"
    done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
idle_line=""
for system in $systems; do idle_line+="$system $(median "$system.idle_cpu_pct")%  "; done

# ---------------------------------------------------------------- report
fmt() { [[ -n $1 ]] && awk -v v="$1" 'BEGIN {printf "%.0f", v}' || echo "n/a"; }
fmt1() { [[ -n $1 ]] && awk -v v="$1" 'BEGIN {printf "%.1f", v}' || echo ""; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (a != "" && b > 0) printf "%.2f", a / b; else print "n/a"}'; }
verdict() { # value op target
    awk -v v="$1" -v t="$3" -v op="$2" 'BEGIN {
        if (v == "" || v == "n/a") {print "n/a"; exit}
        ok = (op == ">=") ? (v + 0 >= t + 0) : (v + 0 <= t + 0)
        print ok ? "met" : "NOT met" }'
}
rc_set=$(median rc.set.c$CLIENTS.rps)
rc_get=$(median rc.get.c$CLIENTS.rps)
rc_set1=$(median rc.set.c1.p50_us)
redis_set=$(median redis.set.c$CLIENTS.rps)
redis_get=$(median redis.get.c$CLIENTS.rps)
redis_set1=$(median redis.set.c1.p50_us)
etcd_put=$(median etcd.put.c$CLIENTS.rps)
etcd_get=$(median etcd.get.c$CLIENTS.rps)
etcd_put1=$(median etcd.put.c1.p50_us)
set_vs_put=$(ratio "$rc_set" "$etcd_put")
get_vs_redis=$(ratio "$rc_get" "$redis_get")

echo
echo "# ringcache cluster vs etcd vs redis-server ($started, $ROUNDS rounds; medians)"
echo "ringcache-node: $source_note; RC_FLAGS: ${RC_FLAGS:-none}"
echo "load average before: $load_before, after: $load_after; $(nproc) CPUs"
echo "idle CPU of each system (% of one core): $idle_line"
sort -u "$work/notes" | sed 's/^/note: /'
echo
echo "## Targets"
printf '%-52s %12s %10s %8s\n' target measured target result
printf '%-52s %12s %10s %8s\n' "ringcache SET c=$CLIENTS / etcd put c=$CLIENTS (fsync)" "${set_vs_put}x" 3x "$(verdict "$set_vs_put" '>=' 3)"
printf '%-52s %12s %10s %8s\n' "ringcache GET c=$CLIENTS / redis-server GET c=$CLIENTS" "${get_vs_redis}x" 0.8x "$(verdict "$get_vs_redis" '>=' 0.8)"
printf '%-52s %12s %10s %8s\n' "ringcache SET c=1 p50" "$(fmt "$rc_set1") us" "200 us" "$(verdict "$rc_set1" '<=' 200)"
echo
echo "## Figures (median of $ROUNDS rounds)"
printf '%-16s %-6s %-4s %12s %9s %9s %14s %14s %14s\n' system op c "req/s" "p50 us" "p99 us" "srv CPU ms/1k" "-idle ms/1k" "gen CPU ms/1k"
for system in $systems; do
    for key in $(awk '{print $1}' "$results" | sed -n "s/^\($system\.[a-z]*\.c[0-9]*\)\.rps\$/\1/p" | sort -u -t. -k3,3r -k2,2r); do
        op=${key#"$system".}; op=${op%%.*}; c=${key##*.c}
        printf '%-16s %-6s %-4s %12s %9s %9s %14s %14s %14s\n' "$system" "$op" "$c" "$(fmt "$(median "$key.rps")")" \
            "$(fmt "$(median "$key.p50_us")")" "$(fmt "$(median "$key.p99_us")")" \
            "$(fmt1 "$(median "$key.cpu_ms_per_1k")")" "$(fmt1 "$(median "$key.active_cpu_ms_per_1k")")" \
            "$(fmt1 "$(median "$key.client_cpu_ms_per_1k")")"
    done
done | sed 's/ *$//'
echo
echo "ratios: ringcache SET / etcd put = $set_vs_put; ringcache GET / redis GET = $get_vs_redis;" \
    "ringcache SET / redis SET = $(ratio "$rc_set" "$redis_set"); ringcache GET / etcd get = $(ratio "$rc_get" "$etcd_get");" \
    "single-client p50: ringcache SET $(fmt "$rc_set1") us, etcd put $(fmt "$etcd_put1") us, redis SET $(fmt "$redis_set1") us"
per_round() { # numerator-key denominator-key -> the ratio in each round
    local r out=""
    for r in $(seq "$ROUNDS"); do out+="$(ratio "$(median "$1@r$r")" "$(median "$2@r$r")") "; done
    echo "${out% }"
}
echo "per round: ringcache SET / etcd put: $(per_round rc.set.c$CLIENTS.rps etcd.put.c$CLIENTS.rps);" \
    "ringcache GET / redis GET: $(per_round rc.get.c$CLIENTS.rps redis.get.c$CLIENTS.rps);" \
    "ringcache SET c=1 p50 (us): $(for r in $(seq "$ROUNDS"); do printf '%s ' "$(fmt "$(median "rc.set.c1.p50_us@r$r")")"; done)"
if has_variant etcd-tmpfs; then
    echo "variant etcd-tmpfs (data on tmpfs: fsync free, NOT how etcd is run): ringcache SET / etcd-tmpfs put =" \
        "$(ratio "$rc_set" "$(median etcd-tmpfs.put.c$CLIENTS.rps)")"
fi
if has_variant redis-cluster; then
    echo "control redis-cluster (3 redis-servers, no replication, redis-benchmark --cluster): GET / redis GET =" \
        "$(ratio "$(median redis-cluster.get.c$CLIENTS.rps)" "$redis_get"); ringcache GET / redis-cluster GET =" \
        "$(ratio "$rc_get" "$(median redis-cluster.get.c$CLIENTS.rps)"); ringcache SET / redis-cluster SET =" \
        "$(ratio "$rc_set" "$(median redis-cluster.set.c$CLIENTS.rps)")"
fi
if has_variant rc-defaults; then
    echo "variant rc-defaults (no RC_FLAGS): SET / etcd put = $(ratio "$(median rc-defaults.set.c$CLIENTS.rps)" "$etcd_put");" \
        "GET / redis GET = $(ratio "$(median rc-defaults.get.c$CLIENTS.rps)" "$redis_get");" \
        "single-client SET p50 = $(fmt "$(median rc-defaults.set.c1.p50_us)") us"
fi
if has_variant rc-read-index; then
    echo "variant rc-read-index: GET / redis GET = $(ratio "$(median rc-read-index.get.c$CLIENTS.rps)" "$redis_get")" \
        "(lease: $get_vs_redis)"
fi
echo "(srv CPU = user+sys time of the system's server processes per 1000 requests; -idle = the same minus what"
echo " the idle system burns in that time; gen CPU = etcd-load's own user+sys time per 1000 requests;"
echo " redis-benchmark's is not measured)"
