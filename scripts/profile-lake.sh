#!/usr/bin/env bash
# Instructions per message on each of Hydrant's threads, under callgrind: 8 mqttload
# publishers send 100,000 QoS 1 messages (200-byte JSON) through the lake rule of
# scripts/bench-lake.sh (or, with SETUP=broker, to the broker alone). Instruction counts
# do not depend on how busy the shared machine is, so two builds compare exactly where
# timed runs differ by ±30 %. Prints one line per thread: instructions / message.
#
#   scripts/profile-lake.sh                  # the current release build
#   HYDRANT=/path/to/other/hydrant scripts/profile-lake.sh
#   SETUP=broker scripts/profile-lake.sh
set -euo pipefail
cd "$(dirname "$0")/.."
MQTTLOAD_DIR=${MQTTLOAD_DIR:-../shared/tools/mqttload}
PORT=${PORT:-18842}
SETUP=${SETUP:-lake}
COUNT=${COUNT:-12500}  # per publisher
OUT=${OUT:-${TMPDIR:-/tmp}/hydrant-profile-lake/$(date +%Y%m%d-%H%M%S)}
LG=${MQTTLOAD:-${TMPDIR:-/tmp}/mqttload-bin/mqttload}
mkdir -p "$OUT/none" "$OUT/lake"
[ -x "$LG" ] || { mkdir -p "$(dirname "$LG")"; gcc -O2 -Wall -Wextra -std=gnu11 -pthread -o "$LG" "$MQTTLOAD_DIR/mqttload.c"; }
if [ -z "${HYDRANT:-}" ]; then
    swift build -c release --product hydrant >/dev/null
    HYDRANT=$PWD/.build/release/hydrant
fi
# valgrind 3.19 cannot read the DWARF 5 debug info Swift writes: profile a stripped copy
# (the symbol table stays, so functions keep their names in callgrind_annotate).
strip --strip-debug -o "$OUT/hydrant" "$HYDRANT"
cat >"$OUT/lake/bench.json" <<'JSON'
{"rules": [{"name": "bench_to_lake", "sql": "SELECT *, topic(2) AS publisher FROM 'bench/+/data'", "actions": [{"stream": "bench"}]}],
 "streams": [{"name": "bench", "destination": {"lake": {"prefix": "bench/publisher=!{partitionKeyFromQuery:publisher}/"}},
              "buffering": {"sizeMiB": 16, "intervalSeconds": 60}}]}
JSON
pipelines=$OUT/$([ "$SETUP" = broker ] && echo none || echo lake)
valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$OUT/callgrind.%p" \
    "$OUT/hydrant" run --port "$PORT" --log-level warning --data "$OUT/data" --pipelines "$pipelines" --migrations "$OUT/none" 2>"$OUT/valgrind.log" &
pid=$!
for _ in $(seq 1 100); do ss -ltn "sport = :$PORT" | grep -q LISTEN && break; sleep 0.2; done
"$LG" -H 127.0.0.1 -p "$PORT" --pubs 8 --subs 0 --qos 1 --inflight 64 --size 200 --json --count "$COUNT" --duration 120 --label profile 2>&1 | grep '^RESULT' >"$OUT/result.txt"
sleep 1
kill "$pid"
wait "$pid" || true
messages=$((COUNT * 8))
echo "# $SETUP, $messages QoS 1 messages; profiles in $OUT (callgrind_annotate --inclusive=yes <file>)"
for file in "$OUT"/callgrind.*; do
    total=$(grep -E '^totals:' "$file" | awk '{print $2}' || true)
    [ "${total:-0}" -gt $((messages * 10)) ] || continue
    name=other
    grep -q 'BrokerAAC3runyyF' "$file" && name="event loop"
    grep -q 'DeliveryStreamC3run' "$file" && name="stream thread"  # before the journal/batch split
    grep -q 'DeliveryStreamC9runIntake' "$file" && name="journal thread"
    grep -q 'DeliveryStreamC10runBatches' "$file" && name="batch thread"
    printf '%-15s %6d instructions/message  (%s)\n' "$name" $((total / messages)) "$(basename "$file")"
done
