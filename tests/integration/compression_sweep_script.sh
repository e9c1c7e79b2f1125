#!/usr/bin/env bash
# scripts/compression_sweep.lua --set quick=true end to end: one row per latent in the CSV, a plot,
# and distortion that falls as the code grows. Usage: compression_sweep_script.sh ENGRAM SOURCE_DIR
set -euo pipefail
engram=$1
src=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
"$engram" run "$src/scripts/compression_sweep.lua" --set quick=true --set out="$work" | tee run.txt
csv="$work/compression_sweep.csv"
head -1 "$csv" | grep -q "^latent,c,l,h,bits_per_code,compression,l1,"
test "$(grep -c '^discrete,' "$csv")" -eq 3
test "$(grep -c '^continuous,' "$csv")" -eq 2
grep -q "<svg" "$work/compression_sweep.svg"
# 168 two-way variables reconstruct better than 38 (column 7 is the test L1).
l1_38=$(awk -F, '$1 == "discrete" && $2 == 38 { print $7 }' "$csv")
l1_168=$(awk -F, '$1 == "discrete" && $2 == 168 { print $7 }' "$csv")
awk -v a="$l1_38" -v b="$l1_168" 'BEGIN { exit !(b < a && a < 0.5) }'
echo "compression_sweep.lua: CSV and plot written, L1 38x2 $l1_38 > 168x2 $l1_168"
