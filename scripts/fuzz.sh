#!/usr/bin/env bash
# libFuzzer campaign on one target (issue #14):
#
#   scripts/fuzz.sh TARGET SECONDS      # targets: mqtt311 mqtt5 json sql pipeline config acl policy
#
# Builds the HydrantFuzz dynamic library with -sanitize=fuzzer into .build-fuzz, links
# libFuzzer's driver against it (a SwiftPM executable cannot take libFuzzer's main), starts
# from the seed corpus Tests/FuzzCorpus/TARGET and keeps what it finds in $OUT/corpus. A
# crash leaves crash-* files in $OUT: replay one with `swift run hydrant-fuzz TARGET FILE`,
# fix it, and add it to the seeds.
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET=${1:?usage: scripts/fuzz.sh TARGET SECONDS}
RUN_SECONDS=${2:-60}
OUT=${OUT:-${TMPDIR:-/tmp}/hydrant-fuzz/$TARGET}
mkdir -p "$OUT/corpus"
cp -n Tests/FuzzCorpus/"$TARGET"/* "$OUT/corpus/" 2>/dev/null || true
swift build -c release --product HydrantFuzz --build-path .build-fuzz -Xswiftc -sanitize=fuzzer >/dev/null
LIB=$PWD/.build-fuzz/release
clang -fsanitize=fuzzer -o "$LIB/hydrant-fuzzer" -L"$LIB" -lHydrantFuzz -Wl,-rpath,"$LIB"
cd "$OUT"
HYDRANT_FUZZ_TARGET=$TARGET "$LIB/hydrant-fuzzer" corpus -max_total_time="$RUN_SECONDS" -max_len=4096 -print_final_stats=1 2>&1 | tail -12
