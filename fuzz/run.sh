#!/usr/bin/env bash
# Runs the fuzz targets with cargo fuzz (needs a nightly toolchain and `cargo install cargo-fuzz`).
#   bash fuzz/run.sh            every target, 10^7 executions each
#   bash fuzz/run.sh 30s        every target for 30 seconds (a smoke run)
#   bash fuzz/run.sh 1e6 receive
# The committed seeds in fuzz/seeds/<target> start each corpus (fuzz/corpus is not committed).
set -euo pipefail
cd "$(dirname "$0")"
budget=${1:-10000000}
shift || true
targets=("$@")
all=(mikey_parse receive receive_signed point_decode key_params annex_d kms_request client_load
     gms_load input input_decode store_open http_request token)
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t"
    cp -n seeds/"$t"/* "corpus/$t/" 2>/dev/null || true
    case "$budget" in
        *s) limit=(-max_total_time="${budget%s}") ;;
        *) limit=(-runs="$(python3 -c "print(int(float('$budget')))")") ;;
    esac
    # A store is a whole SQLite file (the seed is 53 kB); everything else fits in 4 kB.
    case "$t" in
        store_open) max_len=65536 ;;
        *) max_len=4096 ;;
    esac
    # Temporary files (store_open writes each input to one) on tmpfs where there is one: a disk
    # write and SQLite's syncs per input would dominate the target.
    tmp=${TMPDIR:-/tmp}
    [ -d /dev/shm ] && [ -w /dev/shm ] && tmp=/dev/shm
    echo "== $t (${limit[*]})"
    TMPDIR=$tmp cargo +nightly fuzz run "$t" "corpus/$t" -- "${limit[@]}" -rss_limit_mb=2048 -max_len="$max_len" -print_final_stats=1 2>&1 \
        | grep -E "^(stat::|#[0-9]+ *DONE|==[0-9]+== ERROR|SUMMARY|Done|receive_signed:)" || true
done
