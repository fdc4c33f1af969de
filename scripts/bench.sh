#!/usr/bin/env bash
# Hydrant vs Debian's mosquitto, same machine, same load generator, one interleaved run.
#
#   scripts/bench.sh                                   # S1..S5, 3 runs each
#   RUNS=1 SCENARIOS="S2 S4" scripts/bench.sh
#   HYDRANT_BEFORE=/tmp/hydrant-old scripts/bench.sh   # also an older build: before/after
#
# mosquitto runs in its best configuration per scenario: the floods S1-S3 and S5 with the
# load generator's default mosquitto-bench.conf (Nagle on, which is faster there), the
# latency scenario S4 with mosquitto-nodelay.conf. Runs are interleaved (run 1 of every
# broker, then run 2, ...) so drift on this shared VM hits all of them alike. Prints the
# medians and the Hydrant/mosquitto (and after/before) ratios.
# Uses ../shared/tools/mqttload/bench.sh (override with MQTTLOAD_DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
MQTTLOAD_DIR=$(cd "${MQTTLOAD_DIR:-../shared/tools/mqttload}" && pwd)
RUNS=${RUNS:-3}
SCENARIOS=${SCENARIOS:-"S1 S2 S3 S4 S5"}
PORT=${PORT:-18841}
OUT=${OUT:-${TMPDIR:-/tmp}/hydrant-bench/$(date +%Y%m%d-%H%M%S)}
HYDRANT_BEFORE=${HYDRANT_BEFORE:-}
mkdir -p "$OUT"
command -v mosquitto >/dev/null || { echo "mosquitto not installed (apt-get install mosquitto)" >&2; exit 1; }

swift build -c release --product hydrant >/dev/null
# The broker alone: no pipelines, no migrations, data in the output directory.
mkdir -p "$OUT/empty"
hydrant_cmd() { echo "$1 run --port $PORT --log-level warning --pipelines $OUT/empty --migrations $OUT/empty --data $OUT/data-$2"; }
mosquitto_conf() { if [ "$1" = S4 ]; then echo mosquitto-nodelay.conf; else echo mosquitto-bench.conf; fi; }

brokers="hydrant mosquitto"
[ -n "$HYDRANT_BEFORE" ] && brokers="before $brokers"
for run in $(seq 1 "$RUNS"); do
    for sc in $SCENARIOS; do
        for broker in $brokers; do
            case $broker in
            hydrant) cmd=$(hydrant_cmd "$PWD/.build/release/hydrant" hydrant) ;;
            before) cmd=$(hydrant_cmd "$HYDRANT_BEFORE" before) ;;
            mosquitto) cmd="mosquitto -c $MQTTLOAD_DIR/$(mosquitto_conf "$sc")" ;;
            esac
            RUNS=1 SCENARIOS=$sc PORT=$PORT OUT="$OUT/$broker/$sc-$run" BROKER_CMD="$cmd" "$MQTTLOAD_DIR/bench.sh" >/dev/null
            rm -rf "$OUT/data-$broker"
            grep '^RESULT' "$OUT/$broker/$sc-$run/results.txt" >>"$OUT/$broker/results.txt" || true
        done
    done
done
for broker in $brokers; do "$MQTTLOAD_DIR/summarize.sh" "$OUT/$broker/results.txt" >"$OUT/$broker/medians.txt"; done

echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(nproc) cpus, $RUNS interleaved run(s) per scenario, medians; mosquitto: mosquitto-bench.conf for S1-S3/S5, mosquitto-nodelay.conf for S4; results in $OUT"
awk -v before="$HYDRANT_BEFORE" '
function field(line, key,    n, i, kv, parts) {
    n = split(line, parts, " ")
    for (i = 1; i <= n; i++) { split(parts[i], kv, "="); if (kv[1] == key) return kv[2] }
    return ""
}
FNR == 1 { broker = FILENAME; sub(/\/medians.txt$/, "", broker); sub(/.*\//, "", broker) }
/^MEDIAN / {
    lab = field($0, "label")
    labels[lab] = 1
    for (k in keys) v[broker, lab, keys[k]] = field($0, keys[k])
}
BEGIN { split("recv_msgs_s lost broker_us_msg p99_us broker_rss_peak_kb", keys, " ") }
function ratio(a, b) { return (b + 0 == 0) ? "-" : sprintf("%.2f", a / b) }
END {
    printf "%-4s %14s %14s %7s | %8s %8s %6s | %10s %10s %6s | %9s %9s", "", "hydrant msg/s", "mosq msg/s", "ratio", "h us/msg", "m us/msg", "ratio", "h p99 us", "m p99 us", "ratio", "h RSS MiB", "m RSS MiB"
    if (before != "") printf " | %13s %12s %12s", "before msg/s", "after/before", "us/msg a/b"
    printf "\n"
    n = split("S1 S2 S3 S4 S5", order, " ")
    for (i = 1; i <= n; i++) {
        s = order[i]
        if (!(s in labels)) continue
        printf "%-4s %14.0f %14.0f %7s | %8.2f %8.2f %6s | %10.0f %10.0f %6s | %9.1f %9.1f", s,
            v["hydrant", s, "recv_msgs_s"], v["mosquitto", s, "recv_msgs_s"], ratio(v["hydrant", s, "recv_msgs_s"], v["mosquitto", s, "recv_msgs_s"]),
            v["hydrant", s, "broker_us_msg"], v["mosquitto", s, "broker_us_msg"], ratio(v["hydrant", s, "broker_us_msg"], v["mosquitto", s, "broker_us_msg"]),
            v["hydrant", s, "p99_us"], v["mosquitto", s, "p99_us"], ratio(v["hydrant", s, "p99_us"], v["mosquitto", s, "p99_us"]),
            v["hydrant", s, "broker_rss_peak_kb"] / 1024, v["mosquitto", s, "broker_rss_peak_kb"] / 1024
        if (before != "") printf " | %13.0f %12s %12s", v["before", s, "recv_msgs_s"], ratio(v["hydrant", s, "recv_msgs_s"], v["before", s, "recv_msgs_s"]), ratio(v["hydrant", s, "broker_us_msg"], v["before", s, "broker_us_msg"])
        printf "   lost h=%s m=%s%s\n", v["hydrant", s, "lost"], v["mosquitto", s, "lost"], (before != "") ? " b=" v["before", s, "lost"] : ""
    }
}' $(for broker in $brokers; do echo "$OUT/$broker/medians.txt"; done) | tee "$OUT/summary.txt"
