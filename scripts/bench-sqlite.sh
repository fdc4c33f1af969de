#!/usr/bin/env bash
# Rows/s into SQLite end to end (issue #6): 8 mqttload publishers at QoS 0, 200-byte JSON,
# a rule feeding a sqlite stream; time from the first publish until every row is committed
# (the daemon's SIGTERM flush included). Then `hydrant query --lake` vs DuckDB scanning the
# same lake files.
#
#   scripts/bench-sqlite.sh
set -euo pipefail
cd "$(dirname "$0")/.."
MQTTLOAD_DIR=${MQTTLOAD_DIR:-../shared/tools/mqttload}
PORT=${PORT:-18841}
COUNT=${COUNT:-125000}   # per publisher
OUT=${OUT:-${TMPDIR:-/tmp}/hydrant-bench-sqlite/$(date +%Y%m%d-%H%M%S)}
LG=${MQTTLOAD:-${TMPDIR:-/tmp}/mqttload-bin/mqttload}
mkdir -p "$OUT/pipelines" "$OUT/migrations"
[ -x "$LG" ] || { mkdir -p "$(dirname "$LG")"; gcc -O2 -Wall -Wextra -std=gnu11 -pthread -o "$LG" "$MQTTLOAD_DIR/mqttload.c"; }
swift build -c release --product hydrant >/dev/null
HYDRANT=$PWD/.build/release/hydrant
cat >"$OUT/migrations/0001_bench.sql" <<'SQL'
CREATE TABLE bench (device TEXT, run INTEGER, seq INTEGER, ts INTEGER, temp REAL, publisher TEXT);
SQL
cat >"$OUT/pipelines/bench.json" <<'JSON'
{"rules": [{"name": "to_table", "sql": "SELECT device, run, seq, ts, temp, topic(2) AS publisher FROM 'bench/+/data'", "actions": [{"stream": "rows"}, {"stream": "lake"}]}],
 "streams": [{"name": "rows", "destination": {"sqlite": {"table": "bench"}}, "buffering": {"sizeMiB": 8, "intervalSeconds": 5}},
             {"name": "lake", "destination": {"lake": {}}, "buffering": {"sizeMiB": 64, "intervalSeconds": 60}}]}
JSON
"$HYDRANT" run --port "$PORT" --log-level warning --sys-interval 1 --data "$OUT/data" --pipelines "$OUT/pipelines" --migrations "$OUT/migrations" 2>"$OUT/broker.log" &
bpid=$!
for _ in $(seq 1 100); do ss -ltn "sport = :$PORT" | grep -q LISTEN && break; sleep 0.1; done
start=$(date +%s.%N)
"$LG" -H 127.0.0.1 -p "$PORT" --pubs 8 --subs 0 --qos 0 --size 200 --json --count "$COUNT" --duration 30 --label sqlite >"$OUT/load.txt" 2>&1 || true
published=$(grep '^RESULT' "$OUT/load.txt" | tr ' ' '\n' | grep '^pub_msgs=' | cut -d= -f2)
# QoS 0 counts socket writes: wait until the broker has read them all, then flush with SIGTERM.
for _ in $(seq 1 120); do
    received=$(mosquitto_sub -h 127.0.0.1 -p "$PORT" -t '$SYS/broker/messages/received' -C 1 -W 3 2>/dev/null || echo 0)
    [ "$received" -ge "$published" ] && break
    sleep 0.5
done
kill "$bpid"; wait "$bpid" || true
end=$(date +%s.%N)
rows=$(sqlite3 "$OUT/data/hydrant.sqlite" "SELECT count(*) FROM bench")
echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(nproc) cpus; results in $OUT"
awk -v r="$rows" -v p="$published" -v s="$start" -v e="$end" 'BEGIN { printf "sqlite: %d of %d published rows committed in %.2f s = %.0f rows/s (lake stream fed too)\n", r, p, e - s, r / (e - s) }'
lake_start=$(date +%s.%N)
"$HYDRANT" query --lake lake --pipelines "$OUT/pipelines" --data "$OUT/data" --format csv "SELECT count(*), sum(seq) FROM lake" >"$OUT/hydrant-query.txt"
lake_end=$(date +%s.%N)
python3 -c "import duckdb,sys,time; t=time.time(); r=duckdb.sql(\"SELECT count(*), sum(seq) FROM read_json_auto('$OUT/data/lake/**/*.ndjson')\").fetchall(); print(r, time.time()-t)" >"$OUT/duckdb.txt"
awk -v s="$lake_start" -v e="$lake_end" -v r="$rows" 'BEGIN { printf "query --lake: %.0f records/s (%.2f s)\n", r / (e - s), e - s }'
echo "duckdb read_json_auto: $(cat "$OUT/duckdb.txt")"
tail -1 "$OUT/hydrant-query.txt"
