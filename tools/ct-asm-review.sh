#!/usr/bin/env bash
# Constant-time gate over the shipped code generation (release build of
# examples/kernel_probe.rs): for every listed function it finds the conditional jumps, the
# conditional moves and the register-indexed memory operands, lists each with the instructions
# before it for review, and fails (exit 1) when one of them is not in the committed expected
# list tools/ct-asm-expected.txt (one line per allowed instruction pattern: the most often it
# may occur in the function, the function, the normalised pattern, and why it is public: a
# loop counter, a bound, the cached CPU-feature flag of the backend switch, ...). In a
# constant-time function every such instruction must depend on public values only.
#
# The functions: the probes' F_p / F_q operations, the portable kernel, the AVX-512 IFMA
# kernel (`ifma::mont_mul_n`, its digit core `ifma::amm_core`) and its helpers, the radix-2^52
# product (`fe52::fe_mul`), the long loops on both backends (`Ifma::with_features::run` holds
# the radix-2^52 Miller loops and window loops, `pairing::miller_loop` and the other callers
# the portable ones, among them the KMS batch self-check's multi-scalar loop `curve::msm`,
# reached through `probe_rsk_batch`), the AVX-512 lookups, the safegcd inversion and ECCSI's
# P-256 comb.
#
#   tools/ct-asm-review.sh            the listing, then the gate
#   tools/ct-asm-review.sh --observed the normalised patterns found (to update the list after
#                                      reviewing every new one)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q --release --example kernel_probe
bin="${CARGO_TARGET_DIR:-target}/release/examples/kernel_probe"
asm=$(mktemp)
observed=$(mktemp)
trap 'rm -f "$asm" "$observed"' EXIT
objdump -d --no-show-raw-insn -C "$bin" > "$asm"
jumps='\sj(n?[ezsbalgop]|[abgl]e|n[abgl]e?)\s'
indexed='[(]%[a-z0-9]*,%[a-z0-9]+(,[1248])?[)]'
# lea computes an address without reading memory (constant-time arithmetic on its operands),
# and the multi-byte nops are alignment padding that touches no memory: neither is a memory
# access, so neither is flagged.
notmem='[ \t](lea|nop[lwq]?)[ \t]'
# The same for grep -E (the per-function summary counts), where `\t` in brackets is not a tab.
notmem_ere='[[:space:]](lea|nop[lwq]?)[[:space:]]'
# Normalised patterns of a body's flagged instructions, one per line: a jump with the
# instruction that set its flags ("cmp $0x10,%rcx ; jne"), a cmov or an indexed operand as it
# stands; addresses, jump targets, symbols and displacements are dropped.
patterns() { # body
    printf '%s\n' "$1" | awk -v jumps='[ \t]j(n?[ezsbalgop]|[abgl]e|n[abgl]e?)[ \t]' -v indexed="$indexed" -v notmem="$notmem" '
        function norm(l) {
            sub(/^ *[0-9a-f]+:[ \t]*/, "", l)
            sub(/ *#.*$/, "", l)     # rip-relative target comment
            sub(/ *<.*>$/, "", l)    # symbol of a jump or call target (may nest <impl ..>)
            gsub(/-?0x[0-9a-f]+\(/, "D(", l)
            gsub(/[ \t]+/, " ", l)
            sub(/ [0-9a-f]+$/, "", l) # jump target
            return l
        }
        {
            line = " " $0 " "
            if (line ~ jumps) print norm(prev) " ; " norm($0)
            else if (line ~ /[ \t]cmov/ || (line ~ indexed && line !~ notmem)) print norm($0)
            prev = $0
        }'
}
report() { # name, body
    local n branches cmovs indexes
    n=$(printf '%s\n' "$2" | wc -l)
    branches=$(printf '%s\n' "$2" | grep -cE "$jumps" || true)
    cmovs=$(printf '%s\n' "$2" | grep -cE '\scmov' || true)
    indexes=$(printf '%s\n' "$2" | grep -E "$indexed" | grep -cvE "$notmem_ere" || true)
    echo "== $1: $n instructions, $branches conditional jumps, $cmovs cmov, $indexes indexed operands"
    printf '%s\n' "$2" | grep -B3 -E "$jumps|\scmov|$indexed" | sed 's/^/    /' || true
}
# Every function whose symbol ends in $1 (several for generic instantiations).
report_all() {
    local start body ifma found=0
    for start in $(grep -n -- "$1>:\$" "$asm" | cut -d: -f1); do
        body=$(awk -v s="$start" 'NR > s && /^$/ {exit} NR > s {print}' "$asm")
        ifma=$(printf '%s\n' "$body" | grep -c vpmadd52 || true)
        report "${1#::} ($ifma vpmadd52)" "$body"
        patterns "$body" | sed "s|^|${1#::}\t|" >> "$observed"
        found=1
    done
    if [ "$found" = 0 ]; then
        echo "== ${1#::}: not in the binary (inlined into its callers, which are listed)"
    fi
}
for f in probe_fp_mul probe_fp_square probe_fp_add probe_fp_sub probe_fp_select probe_fp2_mul \
    probe_fp2_square probe_fq_mul probe_fp_invert probe_portable_mul probe_portable_sqr probe_ifma_mul probe_fe52 \
    probe_lookup probe_lookup_many probe_p256_mul_base probe_miller_loop probe_prepared_loop \
    probe_scalar_mul probe_fixed_base; do
    report_all "::$f"
done
# The out-of-line kernels the probes call: the portable multiplication and squaring, and the
# IFMA kernel and its out-of-line helpers, the AVX-512 build of the table lookup, and ECCSI's
# P-256 fixed-base multiplication with the fiat-crypto field operations it does not inline.
for f in kernel::mont_mul kernel::mont_sqr kernel::fp2_mul_lazy ifma::mont_mul_n ifma::amm_core "Ifma>::with_features::run" backend::dispatch \
    ifma::from_digits ifma::normalize ifma::subtract_if_ge ifma::to_digits lookup::lookup_avx512 \
    lookup::lookup_many_avx512 test_helpers::lookup_window test_helpers::lookup_window_many safegcd::invert \
    base_mul::mul_base base_mul::Fe::mul base_mul::Fe::square base_mul::Fe::invert \
    test_helpers::p256_mul_base fe52::fe_mul \
    pairing::miller_loop PreparedPoint::miller_loop ProjectivePoint::mul FixedBaseTable::mul_with; do
    report_all "::$f"
done
# The gate: every observed (function, pattern) must be allowed, at most as often as listed.
counts=$(sort "$observed" | uniq -c | sed -E 's/^ *([0-9]+) /\1\t/')
if [ "${1:-}" = "--observed" ]; then
    printf '%s\n' "$counts"
    exit 0
fi
expected=tools/ct-asm-expected.txt
fail=0
while IFS=$'\t' read -r n fn pat; do
    [ -n "$n" ] || continue
    max=$(awk -F'\t' -v f="$fn" -v p="$pat" '!/^#/ && $2 == f && $3 == p {print $1; exit}' "$expected")
    if [ -z "$max" ]; then
        echo "NOT ALLOWED: $fn: $n x '$pat'"
        fail=1
    elif [ "$n" -gt "$max" ]; then
        echo "NOT ALLOWED: $fn: $n x '$pat' (at most $max expected)"
        fail=1
    fi
done <<< "$counts"
if [ "$fail" = 1 ]; then
    echo "ct-asm-review: FAILED: instructions above are not in $expected (review them; a secret-dependent one is a bug)"
    exit 1
fi
echo "ct-asm-review: every conditional jump, cmov and indexed operand is in $expected"
