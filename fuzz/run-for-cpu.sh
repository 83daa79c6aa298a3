#!/usr/bin/env bash
# Runs fuzz targets one after another, each until it has used CPU_SECONDS of CPU time (not wall
# time: libFuzzer's -max_total_time counts wall time, which a busy machine stretches), niced.
# Usage: fuzz/run-for-cpu.sh CPU_SECONDS target...   (after `cargo +nightly fuzz build -O`)
# Grown corpora go to fuzz/corpus-grown/<target> (not committed), crashes to fuzz/artifacts/<target>,
# logs to fuzz/logs/<target>.log, and one summary line per target to fuzz/logs/summary.txt.
set -uo pipefail
cd "$(dirname "$0")"
cpu_limit="$1"; shift
tick=$(getconf CLK_TCK)
# A smaller AddressSanitizer quarantine keeps several fuzzers within a shared machine's memory.
export ASAN_OPTIONS="${ASAN_OPTIONS:-quarantine_size_mb=32}"
mkdir -p logs
for t in "$@"; do
    mkdir -p "corpus-grown/$t" "artifacts/$t"
    bin="target/x86_64-unknown-linux-gnu/release/$t"
    nice -n 15 "$bin" "corpus-grown/$t" "corpus/$t" -artifact_prefix="artifacts/$t/" \
        -print_final_stats=1 -timeout=30 -rss_limit_mb=1536 > "logs/$t.log" 2>&1 &
    pid=$!
    cpu=0
    while kill -0 "$pid" 2>/dev/null; do
        sleep 5
        read -r -a st < "/proc/$pid/stat" 2>/dev/null || break
        cpu=$(( (st[13] + st[14]) / tick ))
        if [ "$cpu" -ge "$cpu_limit" ]; then kill -INT "$pid"; fi
    done
    wait "$pid"; rc=$?
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "logs/$t.log" | grep -o '[0-9]*$' | tail -1)
    crashes=$(find "artifacts/$t" -type f | wc -l)
    corpus=$(find "corpus-grown/$t" -type f | wc -l)
    echo "$(date -u +%FT%TZ) target=$t cpu_s=$cpu execs=${execs:-?} grown_corpus=$corpus crashes=$crashes rc=$rc" >> logs/summary.txt
done
