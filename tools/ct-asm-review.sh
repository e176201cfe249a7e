#!/usr/bin/env bash
# Lists the conditional branches and conditional moves in the compiled field kernels (release
# build of examples/kernel_probe.rs), each with the instructions before it, for review: in a
# constant-time kernel every one of them must test a loop counter, or the cached CPU-feature
# flag that selects the backend (`cmpb $0x2, STATE`), never data. On x86_64 the AVX-512 IFMA
# kernel body (`ifma::mont_mul_n`, its digit core `ifma::amm_core`) and the radix-2^52 operations
# of the Miller loops (`Ifma::with_features::run`, the probe's body with the inlined lazy
# addition, subtraction and the product's call) are listed too.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q --release --example kernel_probe
bin="${CARGO_TARGET_DIR:-target}/release/examples/kernel_probe"
asm=$(mktemp)
objdump -d --no-show-raw-insn -C "$bin" > "$asm"
jumps='\sj(n?[ezsbalgop]|[abgl]e|n[abgl]e?)\s'
report() { # name, body
    local n branches cmovs
    n=$(printf '%s\n' "$2" | wc -l)
    branches=$(printf '%s\n' "$2" | grep -cE "$jumps" || true)
    cmovs=$(printf '%s\n' "$2" | grep -cE '\scmov' || true)
    echo "== $1: $n instructions, $branches conditional jumps, $cmovs cmov"
    printf '%s\n' "$2" | grep -B3 -E "$jumps|\scmov" | sed 's/^/    /' || true
}
# Every function whose symbol ends in $1 (several for generic instantiations).
report_all() {
    local start body ifma
    for start in $(grep -n -- "$1>:\$" "$asm" | cut -d: -f1); do
        body=$(awk -v s="$start" 'NR > s && /^$/ {exit} NR > s {print}' "$asm")
        ifma=$(printf '%s\n' "$body" | grep -c vpmadd52 || true)
        report "${1#::} ($ifma vpmadd52)" "$body"
    done
}
for f in probe_fp_mul probe_fp_square probe_fp_add probe_fp_sub probe_fp_select probe_fp2_mul \
    probe_fp2_square probe_fq_mul probe_fp_invert probe_portable_mul probe_portable_sqr probe_ifma_mul probe_fe52 \
    probe_lookup probe_lookup_many probe_p256_mul_base; do
    report_all "::$f"
done
# The out-of-line kernels the probes call: the portable multiplication and squaring, and the
# IFMA kernel and its out-of-line helpers, the AVX-512 build of the table lookup, and ECCSI's
# P-256 fixed-base multiplication with the fiat-crypto field operations it does not inline.
for f in kernel::mont_mul kernel::mont_sqr kernel::fp2_mul_lazy ifma::mont_mul_n ifma::amm_core Ifma::with_features::run \
    ifma::from_digits ifma::normalize ifma::subtract_if_ge ifma::to_digits lookup::lookup_avx512 \
    lookup::lookup_many_avx512 test_helpers::lookup_window test_helpers::lookup_window_many safegcd::invert \
    base_mul::mul_base base_mul::Fe::mul base_mul::Fe::square base_mul::Fe::invert \
    test_helpers::p256_mul_base; do
    report_all "::$f"
done
rm -f "$asm"
