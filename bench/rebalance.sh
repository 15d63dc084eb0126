#!/usr/bin/env bash
# Rebalancing, side by side on this machine: a ringcache CacheCluster scaled 3 -> 4 -> 3 members by
# its operator, and a Redis Cluster grown from 3 to 4 masters and shrunk back with redis-cli, both
# holding the same $KEYS keys ($VALUE_SIZE-byte values) and both under the same steady client load.
#
# Systems (one at a time; each is started fresh and stopped after its block):
#   ringcache      ringcache-local (the in-repo Kubernetes API stand-in, the real ringcache-operator
#                  and real ringcache-node processes on 127.$RC_SUBNET.1.x), CacheCluster "bench":
#                  replicas 3, partitions $PARTITIONS, replicationFactor 3 (every key on 3 members),
#                  maxMemory $RC_MAX_MEMORY, rebalance.maxConcurrentMoves $MAX_MOVES, the rest default.
#                  Scale: `kubectl scale cc/bench --replicas=4`, then back to 3; done when the status
#                  reports the new generation with rebalance.phase Idle, Progressing=False and the
#                  StatefulSet at the new size (so 4 -> 3 includes draining member 3 and removing its pod).
#   redis-cluster  Debian's redis-server, 3 masters with --cluster-enabled yes on $REDIS_HOSTS, no
#                  replicas (one copy of every key against ringcache's three), created with
#                  `redis-cli --cluster create`. 3 -> 4: start a 4th redis-server, `redis-cli --cluster
#                  add-node`, wait until `--cluster check` agrees, `redis-cli --cluster rebalance
#                  --cluster-use-empty-masters`. 4 -> 3: `redis-cli --cluster rebalance --cluster-weight
#                  <4th>=0` (moves all its slots out), `redis-cli --cluster del-node`, and the 4th process is
#                  stopped. --cluster-pipeline $REDIS_PIPELINE (keys per MIGRATE; 10 is redis-cli's default).
#
# Per system: fill $KEYS keys key:NNNNNNNNNNNN (bench/cluster-load fill: pipelined SETs, each batch
# to its slot's master) and check the count; start the load (bench/cluster-load run, below) and let it
# warm up $WARMUP_SECS s; steady window of $STEADY_SECS s; scale 3 -> 4 and wait until done (the
# "move" window is exactly scale command -> done); $SETTLE_SECS s; steady window on 4 members; scale
# 4 -> 3 and wait; stop the load.
#
# Load: bench/cluster-load run, the same binary and flags for both: $CLIENTS tasks, each one request
# at a time (no pipelining), $SET_PERCENT % SET / the rest GET of $VALUE_SIZE-byte values on random keys
# among the $KEYS loaded ones (so the key count stays $KEYS); closed loop (as fast as answers come), or
# open loop at $RATE requests/s in total when RATE > 0. It routes like a cluster client library
# (CLUSTER SLOTS, -MOVED, -ASK, retries on -TRYAGAIN/-CLUSTERDOWN and dropped connections); a
# request's latency includes its redirections and retries. redis-benchmark --cluster is not used: it
# tags its keys so that all of them land in one slot per master, which would make 3 slots hold the
# whole keyspace, and it reports no per-window figures.
#
# Figures per scale: time from the scale command to done; key copies moved: copies created on a
# member that did not hold them, from data-plane snapshots before and after (ringcache: every member's
# /v1/status, per partition and member; Redis: slot owners from CLUSTER NODES and CLUSTER
# COUNTKEYSINSLOT), against the ideal (a quarter of all copies: $KEYS x 3 / 4 for ringcache, $KEYS / 4
# for Redis); throughput and p99 in the move window against the steady window before it. The
# operator's ringcache_operator_keys_moved_total, moves and failed calls, and the ReplicaMoved Events
# are printed as a cross-check, and the CPU (user+system time from /proc, sampled every second) of each
# kind of process of the run and of everything else on the machine, per window: the machine is shared,
# and what other work takes shows there. Targets: ringcache throughput during the move >= 70 % of
# steady; ringcache time to finish <= Redis Cluster's.
#
# Usage: bench/rebalance.sh             (environment variables below override the defaults)
#        KEYS=50000 STEADY_SECS=10 bench/rebalance.sh       (a quick run)
#        SYSTEMS=ringcache bench/rebalance.sh                (one system only)
set -euo pipefail

KEYS=${KEYS:-1000000}
VALUE_SIZE=${VALUE_SIZE:-64}
CLIENTS=${CLIENTS:-50}
RATE=${RATE:-0}                 # requests/s over all clients; 0 = closed loop
SET_PERCENT=${SET_PERCENT:-50}
WARMUP_SECS=${WARMUP_SECS:-5}
STEADY_SECS=${STEADY_SECS:-20}
SETTLE_SECS=${SETTLE_SECS:-5}
SCALE_TIMEOUT=${SCALE_TIMEOUT:-1800} # seconds a scale may take before the run is abandoned
FILL_CLIENTS=${FILL_CLIENTS:-8}
FILL_PIPELINE=${FILL_PIPELINE:-1024}
SYSTEMS=${SYSTEMS:-"ringcache redis-cluster"}
PARTITIONS=${PARTITIONS:-64}
# spec.rebalance.maxConcurrentMoves (CRD default 1). A move's steps (host, add-learner, catch-up, promote,
# transfer, remove, drop) take well under a second with 1M keys; 8 at a time finished a scale in 4-7 s but
# cost clients 30-45 % of their throughput meanwhile, 2 at a time took 10-14 s and cost 15-25 %
# (docs/benchmarks.md).
MAX_MOVES=${MAX_MOVES:-2}
RC_MAX_MEMORY=${RC_MAX_MEMORY:-2Gi}
RC_SUBNET=${RC_SUBNET:-77}      # ringcache pods on 127.$RC_SUBNET.1.x
REDIS_HOSTS=${REDIS_HOSTS:-"127.0.89.1 127.0.89.2 127.0.89.3 127.0.89.4"}
REDIS_PORT=${REDIS_PORT:-26400}
REDIS_PIPELINE=${REDIS_PIPELINE:-10} # redis-cli --cluster-pipeline (10 is redis-cli's default)
KUBECTL=${KUBECTL:-$HOME/.cache/ringcache/bin/kubectl}
BENCH_TMP=${BENCH_TMP:-/var/tmp}
KEEP_WORK=${KEEP_WORK:-0}       # 1: keep the work directory (logs, timelines) after a successful run
BUILD=${BUILD:-1}               # 0: take the binaries already in $CARGO_TARGET_DIR/release (no cargo build)

root=$(cd "$(dirname "$0")/.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
log() { echo "$@" >&2; }

# ---------------------------------------------------------------- tools (skip cleanly when missing)
missing_for() { # system -> the tools it lacks
    local tools=(curl jq cargo redis-cli) tool out=()
    case $1 in
        ringcache) [[ -x $KUBECTL ]] || command -v "$KUBECTL" >/dev/null 2>&1 || out+=("kubectl ($KUBECTL)") ;;
        redis-cluster) tools+=(redis-server) ;;
    esac
    for tool in "${tools[@]}"; do command -v "$tool" >/dev/null 2>&1 || out+=("$tool"); done
    echo "${out[*]}"
}
run_systems=()
for system in $SYSTEMS; do
    case $system in ringcache | redis-cluster) ;; *) log "error: unknown system $system"; exit 2 ;; esac
    lacking=$(missing_for "$system")
    if [[ -n $lacking ]]; then
        log "skipped $system: not found: $lacking (apt-get install redis-server redis-tools jq curl; kubectl: scripts/install-deps.sh)"
    else
        run_systems+=("$system")
    fi
done
if ((${#run_systems[@]} == 0)); then
    log "rebalance.sh: nothing to run"
    exit 0
fi

work=$(mktemp -d "$BENCH_TMP/rebalance.XXXXXX")
bin=$work/bin
results=$work/results
: >"$results"
loadgen_pid=""
sampler_pid=""
redis_pids=()
rc_state=""
finished=0
cleanup() {
    local pid
    if [[ -n $loadgen_pid ]]; then kill "$loadgen_pid" 2>/dev/null || true; fi
    if [[ -n $sampler_pid ]]; then kill "$sampler_pid" 2>/dev/null || true; fi
    for pid in ${redis_pids[@]+"${redis_pids[@]}"}; do kill "$pid" 2>/dev/null || true; done
    if [[ -n $rc_state && -f $rc_state/ringcache-local.pid ]]; then
        "$bin/ringcache-local" down --state-dir "$rc_state" >/dev/null 2>&1 ||
            kill "$(cat "$rc_state/ringcache-local.pid")" 2>/dev/null || true
    fi
    wait 2>/dev/null || true
    if ((finished == 1 && KEEP_WORK == 0)); then
        rm -rf "$work"
    else
        log "work directory kept: $work"
    fi
    return 0
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

# ---------------------------------------------------------------- build
source_note="$(git -C "$root" log -1 --format='%h %cs' HEAD 2>/dev/null || echo '?')"
dirty=$(git -C "$root" status --porcelain -- Cargo.lock node replication admin placement operator e2e 2>/dev/null | wc -l)
((dirty == 0)) || source_note+=", with $dirty uncommitted changes under the crates"
if ((BUILD)); then
    log "building the release binaries (cargo build --release --bins; commit $source_note) and bench/cluster-load..."
    (cd "$root" && CARGO_TARGET_DIR="$target" cargo build --release --bins --quiet)
    (cd "$root/bench/cluster-load" && CARGO_TARGET_DIR="$target" cargo build --release --locked --quiet)
else
    source_note="binaries as found in $target/release (BUILD=0), built at $(date -u -r "$target/release/ringcache-node" +%Y-%m-%dT%H:%MZ)"
fi
# Copies, so that a concurrent build into the same target directory cannot swap them mid-run
# (ringcache-local finds ringcache-node and ringcache-operator next to itself).
mkdir -p "$bin"
for binary in ringcache-local ringcache-node ringcache-operator cluster-load; do
    cp "$target/release/$binary" "$bin/"
done

# ---------------------------------------------------------------- helpers
record() { echo "$1 $2" >>"$results"; } # key value
value_of() { awk -v k="$1" '$1 == k {v = $2} END {print v}' "$results"; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.1f", b - a}'; }

# CPU: every second, the user+system ticks (1/100 s) of every process of this run (all started from
# $work, redis-server on $REDIS_PORT, any redis-cli) and of the whole machine, as
# "<epoch ms> <command> <pid> <ticks>".
start_sampler() { # file
    local pids stat
    while :; do
        # (short-lived processes come and go between pgrep and cat: no error may stop the loop)
        pids=$({ pgrep -f "$work/|redis-server.*:$REDIS_PORT"; pgrep -x redis-cli; } | tr '\n' ' ') || true
        stat=$(for pid in $pids; do cat "/proc/$pid/stat" 2>/dev/null || true; done)
        awk -v t="$(date +%s%3N)" '
            FNR == NR && $1 == "cpu" {print t, "machine", 0, $2 + $3 + $4 + $7 + $8 + $9; next}
            FNR != NR {c = $0; sub(/^[0-9]+ \(/, "", c); sub(/\).*/, "", c); r = $0; sub(/.*\) /, "", r)
                split(r, f, " "); print t, c, $1, f[12] + f[13]}' /proc/stat - <<<"$stat"
        sleep 1
    done >>"$1" 2>/dev/null &
    sampler_pid=$!
}
stop_sampler() { kill "$sampler_pid" 2>/dev/null || true; wait "$sampler_pid" 2>/dev/null || true; sampler_pid=""; }
# Per window of <system>-windows.jsonl, the CPU (% of one core) of each command and of everything else
# on the machine ("others"), from the samples: each pid's growth between two samples counts for the
# window its later sample falls in.
record_cpu() { # system
    local start_ms seconds name
    jq -r '"\(.window) \(.start_ms) \(.seconds)"' "$work/$1-windows.jsonl" >"$work/$1-window-times"
    awk -v sys="$1" 'FNR == NR {name[NR] = $1; from[NR] = $2; to[NR] = $2 + $3 * 1000; n = NR; next}
        {key = $2 " " $3
         if (key in last) {
             d = $4 - last[key]; w = 0
             for (i = 1; i <= n; i++) if ($1 > from[i] && $1 <= to[i]) w = i
             if (w && d >= 0) { if ($2 == "machine") all[w] += d; else { use[w, $2] += d; ours[w] += d; cmds[$2] = 1 } }
         }
         last[key] = $4}
        END {for (i = 1; i <= n; i++) {
            secs = (to[i] - from[i]) / 1000; if (secs <= 0) continue
            for (c in cmds) if ((i, c) in use) printf "%s.%s.cpu.%s %.0f\n", sys, name[i], c, use[i, c] / secs
            printf "%s.%s.cpu.others %.0f\n", sys, name[i], (all[i] - ours[i]) / secs }}' \
        "$work/$1-window-times" "$work/$1-cpu-samples" >>"$results"
}
cpu_line() { # system window -> "command N %, ..." (% of one core)
    awk -v p="$1.$2.cpu." 'index($1, p) == 1 {c = substr($1, length(p) + 1); printf "%s%s %s %%", sep, c, $2; sep = ", "}' "$results" |
        sed 's/ringcache-opera /ringcache-operator /; s/ringcache-local /ringcache-local (stand-in, pod runner) /; s/others /everything else on the machine /'
}

# The load generator, with windows named through its control file.
start_load() { # system seed
    control=$work/$1-control
    : >"$control"
    "$bin/cluster-load" run --seed "$2" --clients "$CLIENTS" --keyspace "$KEYS" --value-size "$VALUE_SIZE" \
        --set-percent "$SET_PERCENT" --rate "$RATE" --control "$control" --timeline "$work/$1-timeline" \
        >"$work/$1-windows.jsonl" 2>"$work/$1-load.log" &
    loadgen_pid=$!
}
window() { echo "$1" >>"$control"; } # start the window named $1 (ends the current one)
stop_load() {
    window stop
    wait "$loadgen_pid" || { log "error: the load generator failed: $(cat "$work/$1-load.log")"; exit 1; }
    loadgen_pid=""
}
record_windows() { # system: rps, p99, errors... of each window
    local line name field
    while read -r line; do
        name=$(jq -r .window <<<"$line")
        for field in rps p50_us p99_us max_us errors redirects retries worst_second_ops seconds ops; do
            record "$1.$name.$field" "$(jq -r ".$field // empty" <<<"$line")"
        done
        [[ $(jq -r '.errors' <<<"$line") == 0 ]] ||
            log "  $1 $name: $(jq -r .errors <<<"$line") errors, first: $(jq -r '.first_error // ""' <<<"$line")"
    done <"$work/$1-windows.jsonl"
}

# "moved" between two snapshots of lines "<unit> <holder> <keys>": the keys of every (unit, holder)
# pair of the second that the first lacks, i.e. key copies created on a member that did not hold them.
moved_between() { awk 'NR == FNR {had[$1 " " $2] = 1; next} !(($1 " " $2) in had) {s += $3} END {print s + 0}' "$1" "$2"; }
units_moved() { awk 'NR == FNR {had[$1 " " $2] = 1; next} !(($1 " " $2) in had) {n++} END {print n + 0}' "$1" "$2"; } # how many pairs

# ---------------------------------------------------------------- ringcache
rc_api() { curl -sf --max-time 5 -H "Authorization: Bearer $rc_token" "$rc_server$1"; }
rc_cc() { rc_api /apis/cache.ringcache.dev/v1alpha1/namespaces/default/cacheclusters/bench; }
rc_kubectl() { "$KUBECTL" --kubeconfig "$rc_state/kubeconfig" "$@"; }
rc_member_ips() {
    rc_api "/api/v1/namespaces/default/pods?labelSelector=app.kubernetes.io/instance%3Dbench" |
        jq -r '.items[] | select(.status.podIP != null and .metadata.deletionTimestamp == null) | .status.podIP'
}
# The members' admin API wants the cluster secret, which the operator keeps in <name>-cluster-secret
# (the bench holds the stand-in's admin token, so it may read it; the operator never does).
rc_secret=""
rc_admin_status() { # ip -> the member's /v1/status
    [[ -n $rc_secret ]] || rc_secret=$(rc_api /api/v1/namespaces/default/secrets/bench-cluster-secret | jq -r '.data.secret' | base64 -d)
    curl -sf --max-time 5 -H "Authorization: Bearer $rc_secret" "http://$1:9090/v1/status"
}
rc_snapshot() { # file: "<partition> <member ordinal> <keys> <role>" for every replica every member hosts
    local ip status
    for ip in $(rc_member_ips); do
        # A pod the scale-in just stopped may still be listed: 3 tries, then it counts as empty.
        for _ in 1 2 3; do status=$(rc_admin_status "$ip") && break; sleep 0.5; done
        [[ -n $status ]] && jq -r '.member.ordinal as $m | .partitions[] | "\(.partition) \($m) \(.keys) \(.role)"' <<<"$status"
        status=""
    done | sort -n >"$1"
}
rc_metric() { # name -> value (summed over label sets)
    curl -sf --max-time 5 "$rc_metrics" | awk -v n="$1" '$1 == n || index($1, n "{") == 1 {s += $2} END {print s + 0}'
}
rc_failed_calls() { curl -sf --max-time 5 "$rc_metrics" | awk '/^ringcache_operator_moves_failed_total/ {
    match($0, /reason="[^"]*"/); r = substr($0, RSTART + 8, RLENGTH - 9); s = s r "=" $2 " "} END {print s}'; }
rc_moved_events() { # "<name> <seconds> <keys>" per ReplicaMoved Event
    rc_api /apis/events.k8s.io/v1/namespaces/default/events | jq -r '.items[] | select(.reason == "ReplicaMoved")
        | "\(.metadata.name) \(.note)"' |
        sed -n 's/^\([^ ]*\) .* in \([0-9.]*\)s (\([0-9]*\) keys).*/\1 \2 \3/p' | sort
}

start_ringcache() {
    rc_state=$work/ringcache-state
    cat >"$work/cachecluster.yaml" <<EOF
apiVersion: cache.ringcache.dev/v1alpha1
kind: CacheCluster
metadata:
  name: bench
spec:
  replicas: 3
  partitions: $PARTITIONS
  replicationFactor: 3
  maxMemory: $RC_MAX_MEMORY
  rebalance:
    maxConcurrentMoves: $MAX_MOVES
EOF
    log "ringcache: starting ringcache-local (stand-in, operator, 3 pods on 127.$RC_SUBNET.1.x)"
    if ss -ltn 2>/dev/null | grep -q " 127\.$RC_SUBNET\.1\.1:6379 "; then
        log "error: 127.$RC_SUBNET.1.1:6379 is already in use (another local cluster?); set RC_SUBNET"
        exit 1
    fi
    (cd "$root" && "$bin/ringcache-local" up --detach -f "$work/cachecluster.yaml" --state-dir "$rc_state" \
        --subnet "$RC_SUBNET" --timeout 300 >"$work/ringcache-up.env")
    rc_endpoint=$(sed -n 's/^RINGCACHE_ENDPOINT=//p' "$work/ringcache-up.env")
    rc_server=$(awk '$1 == "server:" {print $2; exit}' "$rc_state/kubeconfig")
    rc_token=$(awk '$1 == "token:" {print $2; exit}' "$rc_state/kubeconfig")
    local serve operator
    serve=$(cat "$rc_state/ringcache-local.pid")
    operator=$(pgrep -P "$serve" -f ringcache-operator | head -1)
    rc_metrics="http://$(tr '\0' '\n' <"/proc/$operator/cmdline" | sed -n 's/^--metrics-addr=//p')/metrics"
    log "ringcache: Available; endpoint $rc_endpoint, API $rc_server, operator metrics $rc_metrics"
}

# "<done> <phase> <progress> <StatefulSet replicas> <moves in flight> <Degraded reason or -> <members not
# ready or ->" of a CacheCluster object, for rc_wait_done.
rc_status_line='[
    (.metadata.generation == .status.observedGeneration and .status.ringMembers == $n
     and .status.replicas == $n and .status.rebalance.phase == "Idle"
     and ([.status.conditions[] | select(.type == "Progressing") | .status] == ["False"])),
    .status.rebalance.phase, .status.rebalance.progress, .status.replicas,
    ((.status.rebalance.inFlight // []) | length),
    ([.status.conditions[] | select(.type == "Degraded" and .status == "True") | .reason] | join(",") | if . == "" then "-" else . end),
    ([.status.members[]? | select(.ready == false) | .ordinal | tostring] | join(",") | if . == "" then "-" else . end)
    ] | map(tostring) | join(" ")'
rc_wait_done() { # members t0 scale -> waits until the rebalance to <members> finished; status log
    # One watch of the CacheCluster (curl and jq run once for the whole wait, so the waiting costs
    # the machine next to nothing, as redis-cli's own wait does) and every change is seen when
    # the API server has it.
    local members=$1 t0=$2 scale=$3 status rv fifo=$work/ringcache-watch watch_pid result=1
    rv=$(rc_cc | jq -r .metadata.resourceVersion)
    rm -f "$fifo" && mkfifo "$fifo"
    curl -sfN --max-time "$SCALE_TIMEOUT" -H "Authorization: Bearer $rc_token" \
        "$rc_server/apis/cache.ringcache.dev/v1alpha1/namespaces/default/cacheclusters?watch=true&fieldSelector=metadata.name%3Dbench&resourceVersion=$rv" \
        >"$fifo" &
    watch_pid=$!
    # The state before the first event (the scale may already be done), then every event's object.
    while read -r status; do
        echo "$(elapsed "$t0" "$(now)") $status" >>"$work/ringcache-$scale-status.log"
        if [[ ${status%% *} == true ]]; then
            result=0
            break
        fi
    done < <({ rc_cc; jq --unbuffered -c '.object' <"$fifo"; } | jq --unbuffered -r --argjson n "$members" "$rc_status_line")
    kill "$watch_pid" 2>/dev/null || true
    wait "$watch_pid" 2>/dev/null || true
    rm -f "$fifo"
    if ((result != 0)); then
        log "error: ringcache $scale not done after $SCALE_TIMEOUT s (or the watch ended): $(tail -1 "$work/ringcache-$scale-status.log")"
        exit 1
    fi
}

rc_scale() { # scale(out|in) members
    local scale=$1 members=$2 t0 t1 keys_before moved_before events_before
    rc_snapshot "$work/ringcache-$scale-before"
    keys_before=$(rc_metric ringcache_operator_keys_moved_total)
    moved_before=$(rc_metric ringcache_operator_moves_completed_total)
    local failed_before reconciles_before
    failed_before=$(rc_failed_calls)
    reconciles_before=$(rc_metric ringcache_operator_reconciles_total)
    rc_moved_events >"$work/ringcache-$scale-events-before"
    window "scale-$scale"
    t0=$(now)
    rc_kubectl scale cc/bench --replicas="$members" >/dev/null
    rc_wait_done "$members" "$t0" "$scale"
    t1=$(now)
    window "after-$scale"
    record "ringcache.$scale.seconds" "$(elapsed "$t0" "$t1")"
    rc_snapshot "$work/ringcache-$scale-after"
    record "ringcache.$scale.moved" "$(moved_between "$work/ringcache-$scale-before" "$work/ringcache-$scale-after")"
    record "ringcache.$scale.replicas_moved" "$(units_moved "$work/ringcache-$scale-before" "$work/ringcache-$scale-after")"
    record "ringcache.$scale.ideal" $((KEYS * 3 / 4))
    record "ringcache.$scale.copies" $((KEYS * 3))
    # Keys (leaders' counts, one per key) and copies after: nothing lost, nothing left behind.
    record "ringcache.$scale.keys_after" "$(awk '$4 == "leader" {s += $3} END {print s + 0}' "$work/ringcache-$scale-after")"
    record "ringcache.$scale.copies_after" "$(awk '{s += $3} END {print s + 0}' "$work/ringcache-$scale-after")"
    record "ringcache.$scale.member3_before" "$(awk '$2 == 3 {s += $3} END {print s + 0}' "$work/ringcache-$scale-before")"
    record "ringcache.$scale.member3_after" "$(awk '$2 == 3 {s += $3} END {print s + 0}' "$work/ringcache-$scale-after")"
    record "ringcache.$scale.operator_keys_moved" $(($(rc_metric ringcache_operator_keys_moved_total) - keys_before))
    record "ringcache.$scale.operator_moves" $(($(rc_metric ringcache_operator_moves_completed_total) - moved_before))
    record "ringcache.$scale.reconciles" $(($(rc_metric ringcache_operator_reconciles_total) - reconciles_before))
    echo "$failed_before" >"$work/ringcache-$scale-failed-before"
    rc_failed_calls >"$work/ringcache-$scale-failed-after"
    rc_moved_events >"$work/ringcache-$scale-events-after"
    join -v 2 "$work/ringcache-$scale-events-before" "$work/ringcache-$scale-events-after" >"$work/ringcache-$scale-events"
    log "ringcache 3->4->3, $scale to $members: done in $(value_of "ringcache.$scale.seconds") s, key copies moved" \
        "$(value_of "ringcache.$scale.moved") (ideal $((KEYS * 3 / 4))), operator: $(value_of "ringcache.$scale.operator_moves") moves," \
        "$(value_of "ringcache.$scale.operator_keys_moved") keys; failed calls so far: $(cat "$work/ringcache-$scale-failed-after")"
}

run_ringcache() {
    start_ringcache
    log "ringcache: filling $KEYS keys..."
    "$bin/cluster-load" fill --seed "$rc_endpoint" --keys "$KEYS" --value-size "$VALUE_SIZE" \
        --clients "$FILL_CLIENTS" --pipeline "$FILL_PIPELINE" >"$work/ringcache-fill.json"
    log "ringcache: fill $(cat "$work/ringcache-fill.json")"
    rc_snapshot "$work/ringcache-filled"
    local keys copies
    keys=$(awk '$4 == "leader" {s += $3} END {print s + 0}' "$work/ringcache-filled")
    copies=$(awk '{s += $3} END {print s + 0}' "$work/ringcache-filled")
    record ringcache.filled "$keys"
    log "ringcache: $keys keys (partition leaders' counts), $copies copies on the 3 members"
    ((keys == KEYS && copies == KEYS * 3)) || { log "error: expected $KEYS keys and $((KEYS * 3)) copies"; exit 1; }
    record ringcache.rss_kb "$(for pid in $(pgrep -f "ringcache-node .*--data-dir=$rc_state/"); do
        awk '/^VmRSS:/ {print $2}' "/proc/$pid/status"; done | sort -n | tail -1)"

    start_sampler "$work/ringcache-cpu-samples"
    start_load ringcache "$rc_endpoint"
    sleep "$WARMUP_SECS"
    window steady-out
    sleep "$STEADY_SECS"
    rc_scale out 4
    sleep "$SETTLE_SECS"
    window steady-in
    sleep "$STEADY_SECS"
    rc_scale in 3
    sleep 3
    stop_load ringcache
    stop_sampler
    record_windows ringcache
    record_cpu ringcache
    cp "$rc_state/operator.log" "$work/ringcache-operator.log" 2>/dev/null || true
    cp -r "$rc_state/logs" "$work/ringcache-pod-logs" 2>/dev/null || true
    "$bin/ringcache-local" down --state-dir "$rc_state" >/dev/null 2>&1 || true
    rc_state=""
}

# ---------------------------------------------------------------- Redis Cluster
read -r -a redis_hosts <<<"$REDIS_HOSTS"
rcli() { redis-cli -h "$1" -p "$REDIS_PORT" "${@:2}"; }
start_redis_node() { # index
    local host=${redis_hosts[$1]}
    mkdir -p "$work/redis/$1"
    redis-server --port "$REDIS_PORT" --bind "$host" --save '' --appendonly no --daemonize no \
        --cluster-enabled yes --cluster-config-file "$work/redis/$1/nodes.conf" \
        --cluster-announce-ip "$host" --bind-source-addr "$host" \
        --dir "$work/redis/$1" --logfile "$work/redis-$1.log" &
    redis_pids[$1]=$!
    for _ in $(seq 100); do
        rcli "$host" PING >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    log "error: redis-server $host did not start"
    exit 1
}
redis_agree() { # masters: every live member knows that many masters (none in handshake), its cluster_state
    # is ok, and `--cluster check` finds no error (redis-cli's rebalance refuses to start otherwise)
    local i
    for i in "${!redis_pids[@]}"; do
        (($(rcli "${redis_hosts[i]}" CLUSTER NODES | grep -v 'handshake\|noaddr\|fail' | grep -c master) == $1)) || return 1
        rcli "${redis_hosts[i]}" CLUSTER INFO | grep -q '^cluster_state:ok' || return 1
    done
    redis-cli --cluster check "${redis_hosts[0]}:$REDIS_PORT" >"$work/redis-check.log" 2>&1 &&
        ! grep -q 'ERR' "$work/redis-check.log" && (($(grep -c 'M: [0-9a-f]\{40\} ' "$work/redis-check.log") == $1))
}
redis_snapshot() { # file: "<slot> <master host:port> <keys>" for every slot
    local owners=$work/redis-owners owner
    rcli "${redis_hosts[0]}" CLUSTER NODES | awk '$3 ~ /master/ && $3 !~ /fail/ {
        addr = $2; sub(/@.*/, "", addr)
        for (i = 9; i <= NF; i++) {
            if ($i ~ /^\[/) continue
            n = split($i, r, "-"); a = r[1]; b = (n > 1) ? r[2] : r[1]
            for (s = a; s <= b; s++) print s, addr
        }
    }' | sort -n >"$owners"
    for owner in $(awk '{print $2}' "$owners" | sort -u); do
        awk -v o="$owner" '$2 == o {print $1}' "$owners" >"$owners.slots"
        sed 's/^/CLUSTER COUNTKEYSINSLOT /' "$owners.slots" | redis-cli -h "${owner%:*}" -p "${owner#*:}" |
            paste -d' ' "$owners.slots" - | awk -v o="$owner" '{print $1, o, $2}'
    done | sort -n >"$1"
}

redis_scale() { # scale(out|in)
    local scale=$1 t0 t1 first=${redis_hosts[0]}:$REDIS_PORT new=${redis_hosts[3]}:$REDIS_PORT id
    redis_snapshot "$work/redis-cluster-$scale-before"
    window "scale-$scale"
    t0=$(now)
    if [[ $scale == out ]]; then
        start_redis_node 3
        redis-cli --cluster add-node "$new" "$first" >"$work/redis-cluster-add-node.log" 2>&1 ||
            { log "error: add-node failed (see $work/redis-cluster-add-node.log)"; exit 1; }
        until redis_agree 4; do sleep 0.1; done
        record redis-cluster.out.join_seconds "$(elapsed "$t0" "$(now)")"
        local t_rebalance
        t_rebalance=$(now)
        redis-cli --cluster rebalance "$first" --cluster-use-empty-masters --cluster-pipeline "$REDIS_PIPELINE" \
            >"$work/redis-cluster-rebalance-out.log" 2>&1 ||
            { log "error: rebalance failed (see $work/redis-cluster-rebalance-out.log)"; exit 1; }
        record redis-cluster.out.rebalance_seconds "$(elapsed "$t_rebalance" "$(now)")"
    else
        id=$(rcli "${redis_hosts[3]}" CLUSTER MYID)
        record redis-cluster.in.member3_before "$(rcli "${redis_hosts[3]}" DBSIZE)"
        redis-cli --cluster rebalance "$first" --cluster-weight "$id=0" --cluster-pipeline "$REDIS_PIPELINE" \
            >"$work/redis-cluster-rebalance-in.log" 2>&1 ||
            { log "error: rebalance failed (see $work/redis-cluster-rebalance-in.log)"; exit 1; }
        record redis-cluster.in.rebalance_seconds "$(elapsed "$t0" "$(now)")"
        redis-cli --cluster del-node "$first" "$id" >"$work/redis-cluster-del-node.log" 2>&1 ||
            { log "error: del-node failed (see $work/redis-cluster-del-node.log)"; exit 1; }
        # del-node sends the removed node CLUSTER RESET SOFT (redis-cli 7.0); the process is ours to stop,
        # as the StatefulSet removes ringcache's pod.
        kill "${redis_pids[3]}" 2>/dev/null || true
        wait "${redis_pids[3]}" 2>/dev/null || true
        unset 'redis_pids[3]'
    fi
    t1=$(now)
    window "after-$scale"
    record "redis-cluster.$scale.seconds" "$(elapsed "$t0" "$t1")"
    until redis_agree "$([[ $scale == out ]] && echo 4 || echo 3)"; do sleep 0.2; done
    redis_snapshot "$work/redis-cluster-$scale-after"
    record "redis-cluster.$scale.moved" "$(moved_between "$work/redis-cluster-$scale-before" "$work/redis-cluster-$scale-after")"
    record "redis-cluster.$scale.slots_moved" "$(units_moved "$work/redis-cluster-$scale-before" "$work/redis-cluster-$scale-after")"
    record "redis-cluster.$scale.ideal" $((KEYS / 4))
    record "redis-cluster.$scale.copies" "$KEYS"
    record "redis-cluster.$scale.keys_after" "$(awk '{s += $3} END {print s + 0}' "$work/redis-cluster-$scale-after")"
    [[ $scale == out ]] && record redis-cluster.out.member3_after "$(rcli "${redis_hosts[3]}" DBSIZE)"
    log "redis-cluster $scale: done in $(value_of "redis-cluster.$scale.seconds") s, keys moved" \
        "$(value_of "redis-cluster.$scale.moved") (ideal $((KEYS / 4))) in $(value_of "redis-cluster.$scale.slots_moved") slots"
}

run_redis_cluster() {
    log "redis-cluster: starting 3 masters on ${redis_hosts[*]:0:3} port $REDIS_PORT"
    local i nodes=()
    for i in 0 1 2; do
        start_redis_node "$i"
        nodes+=("${redis_hosts[i]}:$REDIS_PORT")
    done
    timeout 60 redis-cli --cluster create "${nodes[@]}" --cluster-replicas 0 --cluster-yes >"$work/redis-cluster-create.log" ||
        { log "error: redis-cli --cluster create failed (see $work/redis-cluster-create.log)"; exit 1; }
    until redis_agree 3; do sleep 0.2; done
    log "redis-cluster: filling $KEYS keys..."
    "$bin/cluster-load" fill --seed "${nodes[0]}" --keys "$KEYS" --value-size "$VALUE_SIZE" \
        --clients "$FILL_CLIENTS" --pipeline "$FILL_PIPELINE" >"$work/redis-cluster-fill.json"
    log "redis-cluster: fill $(cat "$work/redis-cluster-fill.json")"
    local keys=0
    for i in 0 1 2; do keys=$((keys + $(rcli "${redis_hosts[i]}" DBSIZE))); done
    record redis-cluster.filled "$keys"
    log "redis-cluster: $keys keys (sum of DBSIZE)"
    ((keys == KEYS)) || { log "error: expected $KEYS keys"; exit 1; }

    start_sampler "$work/redis-cluster-cpu-samples"
    start_load redis-cluster "${nodes[0]}"
    sleep "$WARMUP_SECS"
    window steady-out
    sleep "$STEADY_SECS"
    redis_scale out
    sleep "$SETTLE_SECS"
    window steady-in
    sleep "$STEADY_SECS"
    redis_scale in
    sleep 3
    stop_load redis-cluster
    stop_sampler
    record_windows redis-cluster
    record_cpu redis-cluster
    for i in "${!redis_pids[@]}"; do kill "${redis_pids[i]}" 2>/dev/null || true; wait "${redis_pids[i]}" 2>/dev/null || true; done
    redis_pids=()
}

# ---------------------------------------------------------------- run
started=$(date -u +%Y-%m-%dT%H:%MZ)
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
load_mode="closed loop"
[[ $RATE != 0 ]] && load_mode="open loop at $RATE requests/s"
log "rebalance benchmark: ${run_systems[*]}; $KEYS keys of $VALUE_SIZE B; load $CLIENTS clients, $SET_PERCENT % SET, $load_mode"
for system in "${run_systems[@]}"; do
    log "== $system (load average $(cut -d' ' -f1-3 /proc/loadavg))"
    case $system in
        ringcache) run_ringcache ;;
        redis-cluster) run_redis_cluster ;;
    esac
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------- report
num() { # 1234567 -> 1,234,567
    awk -v v="$1" 'BEGIN {
        if (v == "") {print "n/a"; exit}
        s = sprintf("%.0f", v); sign = ""
        if (s ~ /^-/) {sign = "-"; s = substr(s, 2)}
        while (length(s) > 3) {out = "," substr(s, length(s) - 2) out; s = substr(s, 1, length(s) - 3)}
        print sign s out }'
}
ms() { awk -v v="$1" 'BEGIN {if (v == "") print "n/a"; else printf "%.1f", v / 1000}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (a != "" && b != "" && b > 0) printf "%.2f", a / b; else print "n/a"}'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN {if (a != "" && b != "" && b > 0) printf "%.0f %%", 100 * a / b; else print "n/a"}'; }
label() { [[ $1 == ringcache ]] && echo "ringcache (RF 3, maxConcurrentMoves $MAX_MOVES)" || echo "Redis Cluster (no replicas)"; }

echo
echo "# Rebalance: ringcache vs Redis Cluster ($started)"
echo "ringcache: commit $source_note; $PARTITIONS partitions, RF 3, maxConcurrentMoves $MAX_MOVES"
echo "keys: $KEYS of $VALUE_SIZE B; load: bench/cluster-load, $CLIENTS clients, $SET_PERCENT % SET, $load_mode;" \
    "steady windows $STEADY_SECS s; $(nproc) CPUs, load average before $load_before, after $load_after"
echo
echo "| system | scale | time to finish | key copies moved | ideal | moved / ideal | steady req/s | req/s during move | share | p99 steady | p99 during move | worst second | errors |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for system in "${run_systems[@]}"; do
    for scale in out in; do
        [[ $scale == out ]] && what="3 → 4" || what="4 → 3"
        steady=$(value_of "$system.steady-$scale.rps")
        moving=$(value_of "$system.scale-$scale.rps")
        echo "| $(label "$system") | $what | $(value_of "$system.$scale.seconds") s | $(num "$(value_of "$system.$scale.moved")")" \
            "| $(num "$(value_of "$system.$scale.ideal")") | $(ratio "$(value_of "$system.$scale.moved")" "$(value_of "$system.$scale.ideal")")" \
            "| $(num "$steady") | $(num "$moving") | $(pct "$moving" "$steady")" \
            "| $(ms "$(value_of "$system.steady-$scale.p99_us")") ms | $(ms "$(value_of "$system.scale-$scale.p99_us")") ms" \
            "| $(num "$(value_of "$system.scale-$scale.worst_second_ops")") req/s | $(value_of "$system.scale-$scale.errors") |"
    done
done
echo
if [[ " ${run_systems[*]} " == *" ringcache "* ]]; then
    echo "## Targets"
    echo "| target | 3 → 4 | 4 → 3 | result |"
    echo "|---|---:|---:|---|"
    share_out=$(awk -v a="$(value_of ringcache.scale-out.rps)" -v b="$(value_of ringcache.steady-out.rps)" 'BEGIN {printf "%.0f", 100 * a / b}')
    share_in=$(awk -v a="$(value_of ringcache.scale-in.rps)" -v b="$(value_of ringcache.steady-in.rps)" 'BEGIN {printf "%.0f", 100 * a / b}')
    verdict=$( ((share_out >= 70 && share_in >= 70)) && echo met || echo "NOT met")
    echo "| ringcache throughput during the move ≥ 70 % of steady | $share_out % | $share_in % | $verdict |"
    if [[ " ${run_systems[*]} " == *" redis-cluster "* ]]; then
        r_out=$(ratio "$(value_of ringcache.out.seconds)" "$(value_of redis-cluster.out.seconds)")
        r_in=$(ratio "$(value_of ringcache.in.seconds)" "$(value_of redis-cluster.in.seconds)")
        verdict=$(awk -v a="$r_out" -v b="$r_in" 'BEGIN {print (a <= 1 && b <= 1) ? "met" : "NOT met"}')
        echo "| ringcache time to finish ≤ Redis Cluster's (ratio) | $r_out× | $r_in× | $verdict |"
    fi
    echo
fi
echo "## Details"
for system in "${run_systems[@]}"; do
    echo "- $system: keys after the fill $(num "$(value_of "$system.filled")");" \
        "after 3 → 4: $(num "$(value_of "$system.out.keys_after")") keys; after 4 → 3: $(num "$(value_of "$system.in.keys_after")") keys."
    for scale in out in; do
        echo "  - scale $scale: p50 steady $(ms "$(value_of "$system.steady-$scale.p50_us")") ms, during the move" \
            "$(ms "$(value_of "$system.scale-$scale.p50_us")") ms; max during the move $(ms "$(value_of "$system.scale-$scale.max_us")") ms;" \
            "redirections $(value_of "$system.scale-$scale.redirects"), retries $(value_of "$system.scale-$scale.retries")"
        echo "    CPU (% of one core) steady: $(cpu_line "$system" "steady-$scale")"
        echo "    CPU during the move: $(cpu_line "$system" "scale-$scale")"
    done
done
if [[ " ${run_systems[*]} " == *" ringcache "* ]]; then
    echo "- ringcache: partition replicas moved: 3 → 4 $(value_of ringcache.out.replicas_moved), 4 → 3 $(value_of ringcache.in.replicas_moved) (of $((PARTITIONS * 3)))"
    echo "- ringcache: largest member RSS after the fill $(num "$(value_of ringcache.rss_kb)") kB; copies after 3 → 4:" \
        "$(num "$(value_of ringcache.out.copies_after)"), on member 3: $(num "$(value_of ringcache.out.member3_after)");" \
        "copies on member 3 before 4 → 3: $(num "$(value_of ringcache.in.member3_before)"), after: $(num "$(value_of ringcache.in.copies_after)") in all"
    for scale in out in; do
        events=$work/ringcache-$scale-events
        echo "  - operator, scale $scale: $(value_of "ringcache.$scale.operator_moves") moves finished," \
            "ringcache_operator_keys_moved_total +$(num "$(value_of "ringcache.$scale.operator_keys_moved")");" \
            "$(wc -l <"$events") ReplicaMoved Events, $(num "$(awk '{s += $3} END {print s + 0}' "$events")") keys," \
            "move duration median $(sort -g -k2 "$events" | awk '{v[NR] = $2} END {if (NR) print v[int((NR + 1) / 2)]; else print "n/a"}') s," \
            "max $(sort -g -k2 "$events" | awk 'END {print $2}') s; $(value_of "ringcache.$scale.reconciles") reconciles; failed calls (cumulative by reason): $(cat "$work/ringcache-$scale-failed-after")"
        echo "  - status while waiting (every change, through a watch): phases $(awk '{print $3}' "$work/ringcache-$scale-status.log" | uniq | tr '\n' ' ')" \
            "$(awk '$7 != "-" && $7 != "" {n++; d[$7] = 1} END {if (n) {printf "| Degraded in %d status versions:", n; for (k in d) printf " %s", k}}' "$work/ringcache-$scale-status.log")" \
            "$(awk '$8 != "-" && $8 != "" {n++; d[$8] = 1} END {if (n) {printf "| members not ready in %d status versions:", n; for (k in d) printf " [%s]", k}}' "$work/ringcache-$scale-status.log")" \
            "| $(wc -l <"$work/ringcache-$scale-status.log") status versions"
    done
fi
if [[ " ${run_systems[*]} " == *" redis-cluster "* ]]; then
    echo "- redis-cluster: keys on the 4th master after 3 → 4: $(num "$(value_of redis-cluster.out.member3_after)"), before 4 → 3:" \
        "$(num "$(value_of redis-cluster.in.member3_before)"); slots moved: 3 → 4 $(value_of redis-cluster.out.slots_moved)," \
        "4 → 3 $(value_of redis-cluster.in.slots_moved) (of 16384)"
    echo "  - 3 → 4: new master started, added and known to every member after $(value_of redis-cluster.out.join_seconds) s," \
        "then rebalance $(value_of redis-cluster.out.rebalance_seconds) s; 4 → 3: rebalance (weight 0)" \
        "$(value_of redis-cluster.in.rebalance_seconds) s, then del-node"
fi
echo "(key copies moved: copies created on a member that did not hold them, from data-plane snapshots before and"
echo " after; ideal: a quarter of all copies. share: requests/s in the move window / in the $STEADY_SECS s before it.)"
finished=1
