#!/usr/bin/env bash
# scripts/compression_sweep.lua --set quick=true end to end: one row per latent in the CSV,
# distortion that falls as the code grows, and a run directory whose report (engram report)
# plots distortion against compression. Usage: compression_sweep_script.sh ENGRAM SOURCE_DIR
set -euo pipefail
source "$(dirname "$0")/script_lib.sh"
script_setup "$1" "$2"
"$engram" run "$src/scripts/compression_sweep.lua" --set quick=true --set out="$work" | tee run.txt
csv="$work/compression_sweep.csv"
head -1 "$csv" | grep -q "^latent,c,l,h,bits_per_code,compression,l1,"
test "$(grep -c '^discrete,' "$csv")" -eq 3
test "$(grep -c '^continuous,' "$csv")" -eq 2
# No hand-built SVG any more: the plot is the report's.
test ! -e "$work/compression_sweep.svg"
# 168 two-way variables reconstruct better than 38 (column 7 is the test L1).
l1_38=$(awk -F, '$1 == "discrete" && $2 == 38 { print $7 }' "$csv")
l1_168=$(awk -F, '$1 == "discrete" && $2 == 168 { print $7 }' "$csv")
awk -v a="$l1_38" -v b="$l1_168" 'BEGIN { exit !(b < a && a < 0.5) }'
# The run directory: its CSV, results.json (5 settings, the paper's points) and its report.
run=$(sed -n 's/^compression_sweep: .* -> //p' run.txt)
test -d "$run"
cmp "$csv" "$run/compression_sweep.csv"
grep -q '"paper"' "$run/results.json"
test ! -e "$run/compression_sweep.svg"
if gnuplot --version >/dev/null 2>&1; then
  "$engram" report "$run" | tee report.txt
  grep -q "^report: $run/report.html (1 plots, 0 images" report.txt
  grep -q "<h2>Distortion against compression</h2>" "$run/report.html"
  grep -q "<h2>Comparison</h2>" "$run/report.html"
  grep -q "discrete (paper, train)" "$run/report.html"
  test "$(grep -c "<svg" "$run/report.html")" -eq 1
else
  echo "gnuplot not found: report not checked (install the Debian package gnuplot-nox)"
fi
echo "compression_sweep.lua: CSV and run directory written, L1 38x2 $l1_38 > 168x2 $l1_168"
