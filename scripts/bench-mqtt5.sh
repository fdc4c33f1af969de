#!/usr/bin/env bash
# MQTT 5 clients: Hydrant vs Debian's mosquitto with the same load generator in one
# interleaved run (issue #13). Scenarios S1, S2, S3 and S5 of ../shared/tools/mqttload with
# `--protocol 5`, and S3 again with outbound topic aliases accepted by the subscribers
# (`--sub-topic-alias 10`: Hydrant names each topic once per connection, then sends only
# its alias; mosquitto 2.0 sends no outbound aliases).
#
#   scripts/bench-mqtt5.sh                 # 3 runs
#   RUNS=1 SCENARIOS="S2 S3a" scripts/bench-mqtt5.sh
#
# mosquitto runs its default configuration (mosquitto-bench.conf); for S2 its
# max_inflight_messages is raised to 64 so both brokers give the same window (a v5 client
# obeys the broker's Receive Maximum, mosquitto's default being 20). Hydrant runs with
# --max-queued 1000000, the queue that config gives mosquitto: the v5 subscriber's Receive
# Maximum (64, its --inflight) caps both brokers' window towards it, so at S2's rate the
# queue, not the window, decides what is kept.
set -euo pipefail
cd "$(dirname "$0")/.."
MQTTLOAD_DIR=$(cd "${MQTTLOAD_DIR:-../shared/tools/mqttload}" && pwd)
RUNS=${RUNS:-3}
SCENARIOS=${SCENARIOS:-"S1 S2 S3 S3a S5"}
PORT=${PORT:-18841}
OUT=${OUT:-${TMPDIR:-/tmp}/hydrant-bench-mqtt5/$(date +%Y%m%d-%H%M%S)}
LG=${MQTTLOAD:-${TMPDIR:-/tmp}/mqttload-bin/mqttload}
mkdir -p "$OUT/empty"
command -v mosquitto >/dev/null || { echo "mosquitto not installed (apt-get install mosquitto)" >&2; exit 1; }
[ -x "$LG" ] || { mkdir -p "$(dirname "$LG")"; gcc -O2 -Wall -Wextra -std=gnu11 -pthread -o "$LG" "$MQTTLOAD_DIR/mqttload.c"; }
swift build -c release --product hydrant >/dev/null
HYDRANT=$PWD/.build/release/hydrant
{ cat "$MQTTLOAD_DIR/mosquitto-bench.conf"; echo "max_inflight_messages 64"; } >"$OUT/mosquitto-inflight64.conf"

args() {
    case $1 in
    S1) echo "--pubs 8 --subs 1 --sub-filter bench/# --qos 0 --size 200 --json --count 125000 --duration 10" ;;
    S2) echo "--pubs 8 --subs 1 --sub-filter bench/# --qos 1 --inflight 64 --size 200 --json --count 125000 --duration 10" ;;
    S3) echo "--pubs 1 --subs 8 --sub-filter bench/# --qos 0 --size 200 --json --count 1000000 --duration 10" ;;
    S3a) echo "$(args S3) --sub-topic-alias 10" ;;
    S5) echo "--idle 1000 $(args S1)" ;;
    esac
}

wait_port() { for _ in $(seq 1 100); do ss -ltn "sport = :$PORT" | grep -q LISTEN && return 0; sleep 0.1; done; return 1; }
stop() { kill "$1" 2>/dev/null || true; for _ in $(seq 1 100); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done; kill -9 "$1" 2>/dev/null || true; }

echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(nproc) cpus, MQTT 5 clients, $RUNS interleaved runs; results in $OUT"
for run in $(seq 1 "$RUNS"); do
    for sc in $SCENARIOS; do
        for broker in hydrant mosquitto; do
            case $broker in
            hydrant) "$HYDRANT" run --port "$PORT" --log-level warning --max-queued 1000000 --data "$OUT/data" --pipelines "$OUT/empty" --migrations "$OUT/empty" 2>>"$OUT/broker.log" & ;;
            mosquitto)
                conf=$MQTTLOAD_DIR/mosquitto-bench.conf
                [ "$sc" = S2 ] && conf=$OUT/mosquitto-inflight64.conf
                mosquitto -c "$conf" 2>>"$OUT/broker.log" & ;;
            esac
            bpid=$!
            wait_port
            sleep 0.3
            "$LG" -H 127.0.0.1 -p "$PORT" --protocol 5 $(args "$sc") --broker-pid "$bpid" --label "$sc" >"$OUT/$broker-$sc-$run.txt" 2>&1 || true
            stop "$bpid"
            rm -rf "$OUT/data"
            line=$(grep '^RESULT' "$OUT/$broker-$sc-$run.txt" | tail -1 || true)
            echo "$broker $line" >>"$OUT/results.txt"
            printf '%-9s %-4s run=%s recv_msgs_s=%s lost=%s broker_us_msg=%s aliased=%s\n' "$broker" "$sc" "$run" \
                "$(echo "$line" | tr ' ' '\n' | grep '^recv_msgs_s=' | cut -d= -f2)" "$(echo "$line" | tr ' ' '\n' | grep '^lost=' | cut -d= -f2)" \
                "$(echo "$line" | tr ' ' '\n' | grep '^broker_us_msg=' | cut -d= -f2)" \
                "$(grep -o '[0-9]* deliveries by broker topic alias' "$OUT/$broker-$sc-$run.txt" | head -1 | cut -d' ' -f1)" | tee -a "$OUT/summary.txt"
            sleep 1
        done
    done
done

echo "# medians: delivered msgs/s, hydrant / mosquitto; S3a: deliveries sent as an alias only (topic name not repeated)"
awk 'function median(list,    n, a, i, j, t) { n = split(list, a, " "); for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
                                             return a[int((n + 1) / 2)] }
     { split($4, r, "="); split($6, c, "="); rate[$1 " " $2] = rate[$1 " " $2] " " r[2]; cpu[$1 " " $2] = cpu[$1 " " $2] " " c[2]; seen[$2] = 1 }
     END { n = split("S1 S2 S3 S3a S5", order, " ")
           for (i = 1; i <= n; i++) { s = order[i]; if (!(s in seen)) continue
             h = median(rate["hydrant " s]); m = median(rate["mosquitto " s])
             printf "%-4s hydrant=%d mosquitto=%d ratio=%.2fx | CPU-us/msg hydrant=%s mosquitto=%s\n", s, h, m, (m > 0 ? h / m : 0), median(cpu["hydrant " s]), median(cpu["mosquitto " s]) } }' \
    "$OUT/summary.txt" | tee -a "$OUT/medians.txt"
