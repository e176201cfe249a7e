#!/usr/bin/env bash
# A smoke run of every fuzz target: N seconds each (default 30), from the committed seeds.
#   bash fuzz/smoke.sh        30 s per target
#   bash fuzz/smoke.sh 10     10 s per target
# Needs a nightly toolchain with cargo-fuzz; without one it says so and succeeds, so that CI
# does not depend on nightly. Fails (exit 1) when any target reports a crash, a leak, an
# out-of-memory or a timeout.
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-30}
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    echo "fuzz smoke skipped: no nightly cargo-fuzz"
    exit 0
fi
targets=$(cargo +nightly fuzz list)
failed=()
for t in $targets; do
    mkdir -p "corpus/$t"
    cp -n seeds/"$t"/* "corpus/$t/" 2>/dev/null || true
    case "$t" in
        store_open) max_len=65536 ;;
        *) max_len=4096 ;;
    esac
    echo "== $t (${seconds} s)"
    log=$(mktemp)
    if cargo +nightly fuzz run "$t" "corpus/$t" -- -max_total_time="$seconds" -rss_limit_mb=2048 \
        -max_len="$max_len" -timeout=30 -print_final_stats=1 >"$log" 2>&1; then
        grep -E "^(stat::number_of_executed_units|Done)" "$log" || true
    else
        grep -E "^(==[0-9]+== ERROR|SUMMARY|thread .* panicked|.*deadly signal|Test unit written)" "$log" || tail -20 "$log"
        failed+=("$t")
    fi
    rm -f "$log"
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz smoke FAILED: ${failed[*]}"
    exit 1
fi
echo "fuzz smoke passed: $(echo $targets | wc -w) targets, ${seconds} s each"
