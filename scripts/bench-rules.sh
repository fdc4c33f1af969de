#!/usr/bin/env bash
# Broker throughput with rules loaded: no rules, 1 rule, 1,000 rules (999 of them on topics
# the load never publishes), each with mqttload's S1 and S2 (../shared/tools/mqttload).
# The matching rule evaluates every message: JSON parse, WHERE, SELECT.
#
#   scripts/bench-rules.sh            # RUNS=3 SCENARIOS="S1 S2"
set -euo pipefail
cd "$(dirname "$0")/.."
MQTTLOAD_DIR=${MQTTLOAD_DIR:-../shared/tools/mqttload}
export RUNS=${RUNS:-3} SCENARIOS=${SCENARIOS:-"S1 S2"} PORT=${PORT:-18841}
OUT=${OUT:-${TMPDIR:-/tmp}/hydrant-bench-rules/$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT/none" "$OUT/one" "$OUT/thousand"
swift build -c release --product hydrant >/dev/null

rule='{"name": "bench_rule", "sql": "SELECT device, seq, topic(2) AS publisher FROM '"'"'bench/+/data'"'"' WHERE temp > 100", "actions": [{"republish": {"topic": "bench-out/${topic(2)}"}}]}'
echo "{\"rules\": [$rule]}" >"$OUT/one/bench.json"
{
    echo "{\"rules\": [$rule"
    for i in $(seq 1 999); do
        echo ", {\"name\": \"other_$i\", \"sql\": \"SELECT * FROM 'factory/$i/machine/+/status' WHERE temp > 50\", \"actions\": [{\"republish\": {\"topic\": \"ops/$i\"}}]}"
    done
    echo "]}"
} >"$OUT/thousand/bench.json"
.build/release/hydrant rules validate --pipelines "$OUT/thousand"

for set in none one thousand; do
    BROKER_CMD="$PWD/.build/release/hydrant run --port $PORT --log-level warning --pipelines $OUT/$set --migrations $OUT/none --data $OUT/$set/data" \
        OUT="$OUT/$set/results" "$MQTTLOAD_DIR/bench.sh" >/dev/null
done
echo "# $(date -u +%Y-%m-%dT%H:%MZ) medians of $RUNS; results in $OUT"
for set in none one thousand; do
    grep '^MEDIAN' "$OUT/$set/results/medians.txt" | awk -v set="$set" '{
        for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
        printf "%-9s %s recv_msgs_s=%s broker_us_msg=%s lost=%s\n", set, v["label"], v["recv_msgs_s"], v["broker_us_msg"], v["lost"]
    }'
done
