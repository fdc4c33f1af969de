#!/usr/bin/env bash
# Hydrant vs Debian's mosquitto, same machine, same load generator, one run.
#
#   scripts/bench.sh                   # S1..S5, 3 runs each, both brokers
#   RUNS=1 SCENARIOS="S2 S4" scripts/bench.sh
#
# Uses ../shared/tools/mqttload/bench.sh (override with MQTTLOAD_DIR). Prints the medians of
# both brokers and the Hydrant/mosquitto ratios of the figures the README's table reports.
set -euo pipefail
cd "$(dirname "$0")/.."
MQTTLOAD_DIR=${MQTTLOAD_DIR:-../shared/tools/mqttload}
RUNS=${RUNS:-3}
SCENARIOS=${SCENARIOS:-"S1 S2 S3 S4 S5"}
PORT=${PORT:-18841}
OUT=${OUT:-${TMPDIR:-/tmp}/hydrant-bench/$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
command -v mosquitto >/dev/null || { echo "mosquitto not installed (apt-get install mosquitto)" >&2; exit 1; }

swift build -c release --product hydrant >/dev/null
# The broker alone: no pipelines, no migrations, data in the output directory.
mkdir -p "$OUT/empty"
HYDRANT="$PWD/.build/release/hydrant run --port $PORT --log-level warning --pipelines $OUT/empty --migrations $OUT/empty --data $OUT/data"
MOSQUITTO="mosquitto -c $(cd "$MQTTLOAD_DIR" && pwd)/mosquitto-nodelay.conf"

export RUNS SCENARIOS PORT
OUT="$OUT/hydrant" BROKER_CMD="$HYDRANT" "$MQTTLOAD_DIR/bench.sh" >/dev/null
OUT="$OUT/mosquitto" BROKER_CMD="$MOSQUITTO" "$MQTTLOAD_DIR/bench.sh" >/dev/null

echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(nproc) cpus, $RUNS run(s) per scenario, medians; results in $OUT"
awk '
function field(line, key,    n, i, kv, parts) {
    n = split(line, parts, " ")
    for (i = 1; i <= n; i++) { split(parts[i], kv, "="); if (kv[1] == key) return kv[2] }
    return ""
}
FNR == 1 { broker = (FILENAME ~ /\/hydrant\/medians.txt$/) ? "h" : "m" }  # the output path may contain "hydrant" too
/^MEDIAN / {
    lab = field($0, "label")
    labels[lab] = 1
    for (k in keys) v[broker, lab, keys[k]] = field($0, keys[k])
}
BEGIN { split("recv_msgs_s lost broker_us_msg p99_us broker_rss_peak_kb", keys, " ") }
function ratio(a, b) { return (b + 0 == 0) ? "-" : sprintf("%.2f", a / b) }
END {
    printf "%-4s %14s %14s %7s | %8s %8s %6s | %10s %10s %6s | %9s %9s\n", "", "hydrant msg/s", "mosq msg/s", "ratio", "h us/msg", "m us/msg", "ratio", "h p99 us", "m p99 us", "ratio", "h RSS MiB", "m RSS MiB"
    n = split("S1 S2 S3 S4 S5", order, " ")
    for (i = 1; i <= n; i++) {
        s = order[i]
        if (!(s in labels)) continue
        printf "%-4s %14.0f %14.0f %7s | %8.2f %8.2f %6s | %10.0f %10.0f %6s | %9.1f %9.1f   lost h=%s m=%s\n", s,
            v["h", s, "recv_msgs_s"], v["m", s, "recv_msgs_s"], ratio(v["h", s, "recv_msgs_s"], v["m", s, "recv_msgs_s"]),
            v["h", s, "broker_us_msg"], v["m", s, "broker_us_msg"], ratio(v["h", s, "broker_us_msg"], v["m", s, "broker_us_msg"]),
            v["h", s, "p99_us"], v["m", s, "p99_us"], ratio(v["h", s, "p99_us"], v["m", s, "p99_us"]),
            v["h", s, "broker_rss_peak_kb"] / 1024, v["m", s, "broker_rss_peak_kb"] / 1024,
            v["h", s, "lost"], v["m", s, "lost"]
    }
}' "$OUT/hydrant/medians.txt" "$OUT/mosquitto/medians.txt" | tee "$OUT/summary.txt"
