#!/usr/bin/env bash
# A smoke run of every fuzz target: N seconds each (default 30), J targets at a time (default
# 2), from the committed seeds.
#   bash fuzz/smoke.sh          30 s per target, two at a time
#   bash fuzz/smoke.sh 10 1     10 s per target, one at a time
# Needs a nightly toolchain with cargo-fuzz; without one it says so and succeeds, so that CI
# does not depend on nightly. Fails (exit 1) when any target reports a crash, a leak, an
# out-of-memory or a timeout. Builds every target first, so that the runs measure fuzzing.
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-30}
jobs=${2:-2}
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    echo "fuzz smoke skipped: no nightly cargo-fuzz"
    exit 0
fi
start=$(date +%s)
cargo +nightly fuzz build >/dev/null 2>&1 || cargo +nightly fuzz build
targets=$(cargo +nightly fuzz list)
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT

run_one() {
    local t=$1 max_len
    mkdir -p "corpus/$t"
    cp -n seeds/"$t"/* "corpus/$t/" 2>/dev/null || true
    case "$t" in
        store_open) max_len=65536 ;;
        *) max_len=4096 ;;
    esac
    if cargo +nightly fuzz run "$t" "corpus/$t" -- -max_total_time="$seconds" -rss_limit_mb=2048 \
        -max_len="$max_len" -timeout=30 -print_final_stats=1 >"$logs/$t.log" 2>&1; then
        echo ok >"$logs/$t.status"
    else
        echo failed >"$logs/$t.status"
    fi
}

running=0
for t in $targets; do
    run_one "$t" &
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then
        wait -n || true
        running=$((running - 1))
    fi
done
wait || true

failed=()
for t in $targets; do
    echo "== $t (${seconds} s)"
    if [ "$(cat "$logs/$t.status" 2>/dev/null)" = ok ]; then
        grep -E "^(stat::number_of_executed_units|Done)" "$logs/$t.log" || true
    else
        grep -E "^(==[0-9]+== ERROR|SUMMARY|thread .* panicked|.*deadly signal|Test unit written)" "$logs/$t.log" \
            || tail -20 "$logs/$t.log"
        failed+=("$t")
    fi
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz smoke FAILED: ${failed[*]}"
    exit 1
fi
echo "fuzz smoke passed: $(echo $targets | wc -w) targets, ${seconds} s each, $jobs at a time, $(( $(date +%s) - start )) s wall"
