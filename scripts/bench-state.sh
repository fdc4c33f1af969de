#!/usr/bin/env bash
# Durable broker state (issue #7): QoS 1 fan-in with persistence on vs off, and start-up
# time with 1M queued messages.
#
#   plain:   mqttload S2 (8 publishers QoS 1, inflight 64, 200-byte JSON -> 1 clean QoS 1
#            subscriber). Clean sessions are not persisted: this shows the cost of the
#            write-ahead machinery when there is nothing to write.
#   offline: S2 plus an offline persistent session subscribed to bench/# at QoS 1: every
#            message is stored for it (message + enqueue record, group commit, fsync) before
#            its PUBACK. The heaviest case: two log records per message, 1M messages queued.
#   recovery: after an `offline` run with persistence on (1M messages queued on disk),
#            kill -9 and restart; time from exec to "listening" and the log's load time.
#
#   scripts/bench-state.sh             # RUNS=3
set -euo pipefail
cd "$(dirname "$0")/.."
MQTTLOAD_DIR=${MQTTLOAD_DIR:-../shared/tools/mqttload}
RUNS=${RUNS:-3}
PORT=${PORT:-18843}
OUT=${OUT:-${TMPDIR:-/tmp}/hydrant-bench-state/$(date +%Y%m%d-%H%M%S)}
LG=${MQTTLOAD:-${TMPDIR:-/tmp}/mqttload-bin/mqttload}
mkdir -p "$OUT/none"
[ -x "$LG" ] || { mkdir -p "$(dirname "$LG")"; gcc -O2 -Wall -Wextra -std=gnu11 -pthread -o "$LG" "$MQTTLOAD_DIR/mqttload.c"; }
swift build -c release --product hydrant >/dev/null
HYDRANT=$PWD/.build/release/hydrant

wait_port() { for _ in $(seq 1 300); do ss -ltn "sport = :$PORT" | grep -q LISTEN && return 0; sleep 0.02; done; return 1; }
stop() { kill "$1" 2>/dev/null || true; for _ in $(seq 1 600); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done; kill -9 "$1" 2>/dev/null || true; }
field() { tr ' ' '\n' | grep "^$1=" | head -1 | cut -d= -f2; }
start() { # data mode
    local flags=()
    [ "$2" = off ] && flags+=(--no-persistence)
    "$HYDRANT" run --port "$PORT" --log-level info --data "$1" --pipelines "$OUT/none" --migrations "$OUT/none" \
        --max-queued 2000000 --sys-interval 0 "${flags[@]}" 2>>"$OUT/broker.log" &
    bpid=$!
    wait_port
}

echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(nproc) cpus, $RUNS runs each; results in $OUT"
for run in $(seq 1 "$RUNS"); do
    for scenario in plain offline; do
        for mode in off on; do
            data="$OUT/data-$scenario-$mode-$run"
            start "$data" "$mode"
            if [ "$scenario" = offline ]; then
                mosquitto_sub -h 127.0.0.1 -p "$PORT" -c -i bench-offline -q 1 -t 'bench/#' -E
            fi
            result=$("$LG" -H 127.0.0.1 -p "$PORT" --pubs 8 --subs 1 --qos 1 --inflight 64 --size 200 --json \
                --count 125000 --duration 10 --broker-pid "$bpid" --label "$scenario-$mode" 2>&1 | grep '^RESULT' || true)
            echo "$result" >>"$OUT/results.txt"
            printf '%-8s persistence=%-3s run=%s pub_msgs_s=%s recv_msgs_s=%s lost=%s broker_us_msg=%s\n' "$scenario" "$mode" "$run" \
                "$(echo "$result" | field pub_msgs_s)" "$(echo "$result" | field recv_msgs_s)" "$(echo "$result" | field lost)" \
                "$(echo "$result" | field broker_us_msg)" | tee -a "$OUT/summary.txt"
            if [ "$scenario" = offline ] && [ "$mode" = on ] && [ "$run" = 1 ]; then
                # Recovery: the offline session holds every message of the run on disk.
                kill -9 "$bpid"; wait "$bpid" 2>/dev/null || true
                du -sh "$data/state/sessions" | sed 's/^/state on disk: /' | tee -a "$OUT/summary.txt"
                started=$(grep -c 'broker started' "$OUT/broker.log" || true)
                t0=$(date +%s%N)
                start "$data" on
                # The port is bound before the state loads: wait for the loop to start.
                for _ in $(seq 1 3000); do [ "$(grep -c 'broker started' "$OUT/broker.log")" -gt "$started" ] && break; sleep 0.01; done
                t1=$(date +%s%N)
                loaded=$(grep 'session state loaded' "$OUT/broker.log" | tail -1)
                echo "recovery: exec->listening $(( (t1 - t0) / 1000000 )) ms; $loaded" | tee -a "$OUT/summary.txt"
                grep 'session state compacted\|journal repaired' "$OUT/broker.log" | tail -2 || true
            fi
            stop "$bpid"
            rm -rf "$data"
            sleep 0.5
        done
    done
done
echo "# medians of pub_msgs_s"
for scenario in plain offline; do
    for mode in off on; do
        median=$(grep "^$scenario *persistence=$mode " "$OUT/summary.txt" | tr ' ' '\n' | grep '^pub_msgs_s=' | cut -d= -f2 | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
        echo "$scenario persistence=$mode median_pub_msgs_s=$median" | tee -a "$OUT/summary.txt"
    done
done
