#!/usr/bin/env bash
# Lists the conditional branches and conditional moves in the compiled field kernels (release
# build of examples/kernel_probe.rs), each with the instructions before it, for review: in a
# constant-time kernel every one of them must test a loop counter, never data.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q --release --example kernel_probe
asm=$(mktemp)
objdump -d --no-show-raw-insn -C target/release/examples/kernel_probe > "$asm"
for f in probe_fp_mul probe_fp_square probe_fp_add probe_fp_sub probe_fp_select probe_fp2_mul probe_fq_mul probe_fp_invert; do
    body=$(awk -v f="kernel_probe::$f>:" 'index($0, f) {p=1; next} p && /^$/ {p=0} p' "$asm")
    n=$(printf '%s\n' "$body" | wc -l)
    branches=$(printf '%s\n' "$body" | grep -cE '\sj(n?[ezsbalgop]|[abgl]e|n[abgl]e?)\s' || true)
    cmovs=$(printf '%s\n' "$body" | grep -cE '\scmov' || true)
    echo "== $f: $n instructions, $branches conditional jumps, $cmovs cmov"
    printf '%s\n' "$body" | grep -B3 -E '\sj(n?[ezsbalgop]|[abgl]e|n[abgl]e?)\s|\scmov' | sed 's/^/    /' || true
done
rm -f "$asm"
