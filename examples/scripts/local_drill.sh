#!/usr/bin/env bash
# A fault drill of the example pipeline on this machine, without Docker:
# server + 2 workers as local processes against a local RabbitMQ. It kills a
# worker (-9) and the server (-9) mid-run and restarts them, makes a worker
# hang (SIGUSR2) so that apoptosis ends it, has the broker close every
# connection of ours (rabbitmqctl close_connection: a broker outage as the
# apps see it), injects malformed messages, and checks that the final result
# equals the fault-free one.
#
#   examples/scripts/local_drill.sh [build-dir]     (default: build)
#
# Uses its own queue prefix and control exchange, so it does not disturb
# anything else on the broker; deletes its queues at the end. Ends only the
# processes it started, by PID.
set -uo pipefail

BUILD_DIR=$(cd "${1:-build}" && pwd)
BIN=$BUILD_DIR/examples
TAG=drill$$
WORK=$(mktemp -d "/tmp/vigil-drill.XXXXXX")
N=${WORKLOAD_SIZE:-3000}
DEADLINE_S=${DRILL_DEADLINE_S:-240}

export QUEUE_PREFIX="$TAG."
export CONTROL_EXCHANGE="$TAG.control"
export RESTART_BACKEND=none          # nobody restarts anything here but this script
export RABBITMQ_HOST=${RABBITMQ_HOST:-127.0.0.1}
export WORKLOAD_SIZE=$N
export WORK_DELAY_MS=${WORK_DELAY_MS:-20}
export PULSE_TIMEOUT=${PULSE_TIMEOUT:-5}
export STATS_INTERVAL=5
export EXPECTED_MEMBERS="$TAG-server,$TAG-worker_1,$TAG-worker_2"
unset VIGIL_CONFIG

declare -A PID=()
failures=0

log() { printf '%s drill: %s\n' "$(date +%T)" "$*"; }
fail() { log "FAIL: $*"; failures=$((failures + 1)); }

start() {  # start <role> <binary> [env...]
    local role=$1 binary=$2
    shift 2
    (cd "$WORK" && exec env CONTAINER_NAME="$TAG-$role" STATE_DIR="$WORK/state" "$@" "$BIN/$binary" \
        >>"$WORK/$role.log" 2>&1) &
    PID[$role]=$!
    log "started $role (pid ${PID[$role]})"
}

stop_all() {
    local role
    for role in "${!PID[@]}"; do kill -TERM "${PID[$role]}" 2>/dev/null; done
    for role in "${!PID[@]}"; do
        local waited=0
        while kill -0 "${PID[$role]}" 2>/dev/null && [ $waited -lt 100 ]; do sleep 0.1; waited=$((waited + 1)); done
        kill -KILL "${PID[$role]}" 2>/dev/null
    done
}

cleanup() {
    stop_all
    for q in "$TAG.vigil.tasks" "$TAG.vigil.results"; do
        timeout 30 rabbitmqctl delete_queue "$q" >/dev/null 2>&1 || true
    done
    log "logs kept in $WORK"
}
trap cleanup EXIT

done_count() {  # results on disk so far
    tail -n 1 "$WORK/state/progress.txt" 2>/dev/null | awk '$1 == "end" { print $2; exit } END { }' | grep . || echo 0
}

wait_for() {  # wait_for <seconds> <description> <command...>
    local seconds=$1 what=$2
    shift 2
    local start_s=$SECONDS
    while ! "$@"; do
        if [ $((SECONDS - start_s)) -ge "$seconds" ]; then
            fail "timed out after ${seconds}s waiting for $what"
            return 1
        fi
        sleep 0.2
    done
    log "$what after $((SECONDS - start_s))s"
}

progress_at_least() { [ "$(done_count)" -ge "$1" ]; }
is_dead() { ! kill -0 "$1" 2>/dev/null; }
log_has() { grep -q "$2" "$WORK/$1.log"; }

log "workload $N tasks, queues $QUEUE_PREFIX*, work dir $WORK"
"$BIN/server" --print-expected "$N" >"$WORK/expected.txt" || { fail "server --print-expected"; exit 1; }

start server server
start worker_1 worker
start worker_2 worker

# Bad input on both queues: counted and dropped, never fatal.
"$BIN/amqp_inject" "$TAG.vigil.tasks" 'not json' '{"id":1}' '{"id":5,"input":0}' >/dev/null
"$BIN/amqp_inject" "$TAG.vigil.results" '{"id":99999999,"value":1}' '[]' '{"id":"x","value":1}' >/dev/null

wait_for 60 "20% of results" progress_at_least $((N / 5))
log "kill -9 worker_1 at $(done_count) results"
kill -KILL "${PID[worker_1]}"
sleep 1
start worker_1 worker

wait_for 90 "45% of results" progress_at_least $((N * 45 / 100))
log "kill -9 server at $(done_count) results"
kill -KILL "${PID[server]}"
sleep 1
start server server

# Hang on purpose: SIGUSR2 stops the main loop's pulses; apoptosis must end it.
wait_for 90 "60% of results" progress_at_least $((N * 60 / 100))
hang_pid=${PID[worker_2]}
hang_start=$SECONDS
log "SIGUSR2 to worker_2 (pid $hang_pid): it should hang, then die within PULSE_TIMEOUT=${PULSE_TIMEOUT}s"
kill -USR2 "$hang_pid"
if wait_for 60 "worker_2 ended by apoptosis" is_dead "$hang_pid"; then
    log "hang to death: $((SECONDS - hang_start))s"
fi
start worker_2 worker

# The broker drops every connection of ours (data plane and control plane).
drop_connections() {
    if ! command -v rabbitmqctl >/dev/null || ! command -v ss >/dev/null; then
        log "skipping the connection drop: needs rabbitmqctl and ss"
        return 0
    fi
    local pids_re ports list port conn dropped=0
    pids_re=$(IFS='|'; echo "${PID[*]}")
    ports=$(ss -tnpH state established '( dport = :5672 )' | grep -E "pid=($pids_re)," | awk '{print $3}' | sed 's/.*://')
    list=$(timeout 30 rabbitmqctl list_connections pid peer_port -q 2>/dev/null)
    local closers=()
    for port in $ports; do
        conn=$(awk -v p="$port" '$2 == p { print $1 }' <<<"$list")
        [ -n "$conn" ] || continue
        # In parallel: each rabbitmqctl call takes a second or two.
        timeout 30 rabbitmqctl close_connection "$conn" "vigil drill: simulated broker drop" -q >/dev/null 2>&1 &
        closers+=($!)
    done
    for closer in "${closers[@]}"; do wait "$closer" && dropped=$((dropped + 1)); done
    log "the broker closed $dropped connection(s) of ours"
}
wait_for 90 "70% of results" progress_at_least $((N * 70 / 100))
drop_connections

wait_for "$DEADLINE_S" "ALL TASKS DONE" log_has server "ALL TASKS DONE"
if cmp -s "$WORK/expected.txt" "$WORK/state/result.txt"; then
    log "result equals the fault-free one: $(tr '\n' ' ' <"$WORK/state/result.txt")"
else
    fail "result differs: expected [$(tr '\n' ' ' <"$WORK/expected.txt")] got [$(tr '\n' ' ' <"$WORK/state/result.txt" 2>/dev/null)]"
fi
grep -h "ALL TASKS DONE" "$WORK/server.log" | tail -n 1
grep -q "HANGING ON PURPOSE" "$WORK/worker_2.log" || fail "worker_2 never logged its hang"
grep -q "lost the broker connection" "$WORK/server.log" || log "note: the server did not see its connection drop"
grep -q "malformed" "$WORK/worker_1.log" "$WORK/worker_2.log" || log "note: no worker logged a malformed task"

# Graceful stop: SIGTERM -> exit code 0.
for role in "${!PID[@]}"; do kill -TERM "${PID[$role]}"; done
for role in "${!PID[@]}"; do
    code=0
    wait "${PID[$role]}" || code=$?
    [ "$code" -eq 0 ] || fail "$role exited with $code after SIGTERM"
done
PID=()

if [ $failures -eq 0 ]; then log "PASS"; else log "$failures failure(s)"; fi
exit $((failures > 0))
