#!/usr/bin/env bash
# End-to-end throughput into the lake (issue #5): 8 publishers, 200-byte JSON, QoS 0 and 1,
# through (a) Hydrant's broker alone (no subscriber: every message is dropped), (b) Hydrant
# with a rule feeding a lake stream (journal + files), (c) Debian's mosquitto with
# `mosquitto_sub -t '#' > file` as the sink, (d) Hydrant with the same subscriber pipe.
# Reports publish msgs/s and how many records reached the sink. At QoS 1 a publish counts
# when acknowledged (for Hydrant's lake: once journaled on disk); at QoS 0 when written to
# the socket, so there only the sink's completeness is meaningful.
#
#   scripts/bench-lake.sh                                  # RUNS=3
#   HYDRANT_BEFORE=/tmp/hydrant-old scripts/bench-lake.sh  # also the lake setup of an older build
#
# Runs are interleaved (run 1 of every setup, then run 2, ...), so drift on this shared VM
# hits every setup alike. mosquitto uses mosquitto-bench.conf (a flood: Nagle on is its
# faster configuration here).
set -euo pipefail
cd "$(dirname "$0")/.."
MQTTLOAD_DIR=${MQTTLOAD_DIR:-../shared/tools/mqttload}
RUNS=${RUNS:-3}
PORT=${PORT:-18841}
OUT=${OUT:-${TMPDIR:-/tmp}/hydrant-bench-lake/$(date +%Y%m%d-%H%M%S)}
LG=${MQTTLOAD:-${TMPDIR:-/tmp}/mqttload-bin/mqttload}
mkdir -p "$OUT"
[ -x "$LG" ] || { mkdir -p "$(dirname "$LG")"; gcc -O2 -Wall -Wextra -std=gnu11 -pthread -o "$LG" "$MQTTLOAD_DIR/mqttload.c"; }
swift build -c release --product hydrant >/dev/null
HYDRANT=$PWD/.build/release/hydrant
HYDRANT_BEFORE=${HYDRANT_BEFORE:-}
SETUPS="broker lake mosquitto hydrant-pipe"
[ -n "$HYDRANT_BEFORE" ] && SETUPS="lake-before $SETUPS"

mkdir -p "$OUT/none" "$OUT/lake"
cat >"$OUT/lake/bench.json" <<'JSON'
{"rules": [{"name": "bench_to_lake", "sql": "SELECT *, topic(2) AS publisher FROM 'bench/+/data'", "actions": [{"stream": "bench"}]}],
 "streams": [{"name": "bench", "destination": {"lake": {"prefix": "bench/publisher=!{partitionKeyFromQuery:publisher}/"}},
              "buffering": {"sizeMiB": 16, "intervalSeconds": 60}}]}
JSON

wait_port() { for _ in $(seq 1 100); do ss -ltn "sport = :$PORT" | grep -q LISTEN && return 0; sleep 0.1; done; return 1; }
# SIGTERM, then up to 120 s for the streams to write their buffers.
stop() { kill "$1" 2>/dev/null || true; for _ in $(seq 1 1200); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done; kill -9 "$1" 2>/dev/null || true; }
load() { "$LG" -H 127.0.0.1 -p "$PORT" --pubs 8 --subs 0 --qos "$1" --inflight 64 --size 200 --json --count 125000 --duration 10 --broker-pid "$2" --label "$3" 2>&1 | grep '^RESULT' || true; }
# Until the broker has used under 3 clock ticks of CPU in 0.3 s: a QoS 0 publisher is done
# once its bytes are in the kernel, and a broker that slows publishers (the lake's
# backpressure) reads the rest after the load generator has finished.
wait_idle() {
    local prev now
    prev=$(awk '{print $14 + $15}' "/proc/$1/stat")
    for _ in $(seq 1 200); do
        sleep 0.3
        now=$(awk '{print $14 + $15}' "/proc/$1/stat")
        [ $((now - prev)) -lt 3 ] && return 0
        prev=$now
    done
}
field() { tr ' ' '\n' | grep "^$1=" | head -1 | cut -d= -f2; }

echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(nproc) cpus, $RUNS runs each; results in $OUT"
for qos in 0 1; do
    for run in $(seq 1 "$RUNS"); do
        for setup in $SETUPS; do
            data="$OUT/data-$setup-$qos-$run"
            case $setup in
            broker) "$HYDRANT" run --port "$PORT" --log-level warning --data "$data" --pipelines "$OUT/none" --migrations "$OUT/none" 2>>"$OUT/broker.log" & bpid=$! ;;
            lake) "$HYDRANT" run --port "$PORT" --log-level warning --data "$data" --pipelines "$OUT/lake" --migrations "$OUT/none" 2>>"$OUT/broker.log" & bpid=$! ;;
            lake-before) "$HYDRANT_BEFORE" run --port "$PORT" --log-level warning --data "$data" --pipelines "$OUT/lake" --migrations "$OUT/none" 2>>"$OUT/broker.log" & bpid=$! ;;
            mosquitto) mosquitto -c "$MQTTLOAD_DIR/mosquitto-bench.conf" 2>>"$OUT/broker.log" & bpid=$! ;;
            hydrant-pipe) "$HYDRANT" run --port "$PORT" --log-level warning --data "$data" --pipelines "$OUT/none" --migrations "$OUT/none" 2>>"$OUT/broker.log" & bpid=$! ;;
            esac
            wait_port
            spid=""
            if [ "$setup" = mosquitto ] || [ "$setup" = hydrant-pipe ]; then
                mkdir -p "$data"
                mosquitto_sub -h 127.0.0.1 -p "$PORT" -t '#' -q "$qos" >"$data/pipe.ndjson" & spid=$!
                sleep 0.3
            fi
            result=$(load "$qos" "$bpid" "$setup-qos$qos")
            wait_idle "$bpid"
            [ -n "$spid" ] && stop "$spid"
            stop "$bpid"
            case $setup in
            broker) sunk="-" ;;
            lake | lake-before) sunk=$( (find "$data/lake" -name '*.ndjson' -exec cat {} + 2>/dev/null || true) | wc -l) ;;
            mosquitto | hydrant-pipe) sunk=$(wc -l <"$data/pipe.ndjson") ;;
            esac
            echo "$result" >>"$OUT/results.txt"
            printf '%-10s qos=%s run=%s pub_msgs_s=%s published=%s in_sink=%s broker_us_msg=%s\n' "$setup" "$qos" "$run" \
                "$(echo "$result" | field pub_msgs_s)" "$(echo "$result" | field pub_msgs)" "$sunk" "$(echo "$result" | field broker_us_msg)" | tee -a "$OUT/summary.txt"
            rm -rf "$data"
            sleep 0.5
        done
    done
done

# Medians of pub_msgs_s per setup and QoS, how much of what was published reached the sink,
# and the lake's ratios. A subscriber pipe that falls behind loses QoS 0/1 messages once its
# session queue is full (Hydrant's --max-queued, Mosquitto's max_queued_messages): its
# publish rate is then not the rate of a sink.
echo "# medians (publish msgs/s; records in the sink / published) and lake ratios"
awk 'function median(list,    n, a, i, j, t) { n = split(list, a, " "); for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
                                             return a[int((n + 1) / 2)] }
     / qos=/ { split($2, q, "="); split($4, r, "="); split($5, p, "="); split($6, k, "=")
               key = $1 " " q[2]; rate[key] = rate[key] " " r[2]; if (k[2] != "-") kept[key] = kept[key] " " (k[2] / p[2]) }
     END { for (qos = 0; qos <= 1; qos++) {
             l = median(rate["lake " qos]); b = median(rate["broker " qos]); m = median(rate["mosquitto " qos]); h = median(rate["hydrant-pipe " qos])
             printf "qos=%d lake=%d (sink %.0f%%) | broker alone=%d: lake %.2fx | mosquitto pipe=%d (sink %.0f%%): lake %.1fx | hydrant pipe=%d (sink %.0f%%)",
                    qos, l, 100 * median(kept["lake " qos]), b, l / b, m, 100 * median(kept["mosquitto " qos]), l / m, h, 100 * median(kept["hydrant-pipe " qos])
             if (("lake-before " qos) in rate) { lb = median(rate["lake-before " qos]); printf " | lake before=%d (sink %.0f%%): after/before %.2fx", lb, 100 * median(kept["lake-before " qos]), l / lb }
             printf "\n" } }' \
    "$OUT/summary.txt" | tee -a "$OUT/summary.txt"
