#!/usr/bin/env bash
# scripts/lifelong_vae.lua --set quick=1 end to end (the -ELBO table, sample grids as PNG, the
# JSON), a bad method named, and split_mnist.lua's lifelong_vae and er_lifelong rows at a tiny
# scale. Usage: lifelong_vae_script.sh ENGRAM SOURCE_DIR
set -euo pipefail
source "$(dirname "$0")/script_lib.sh"
script_setup "$1" "$2"
if ! "$engram" run "$src/scripts/lifelong_vae.lua" --set methods=batch --set quick=1 \
    --set out="$work/probe" >probe.txt 2>&1; then
  if grep -q "fashion-mnist" probe.txt && grep -q "not_found\|no directory" probe.txt; then
    echo "skipped: Fashion-MNIST is not installed"
    exit 0
  fi
  cat probe.txt
  exit 1
fi
"$engram" run "$src/scripts/lifelong_vae.lua" --set quick=1 --set out="$work" | tee run.txt
run=$(sed -n 's/^results: //p' run.txt)
test "$(head -1 "$run/summary.csv")" = "after,consistency,no_consistency,batch"
test "$(wc -l <"$run/summary.csv")" -eq 4
for m in consistency no_consistency batch; do
  # A PNG signature, and a grid of 3 rows (J = 3) of 28-pixel tiles with 2-pixel padding.
  png="$run/samples_${m}_seed1.png"
  height=$(png_height "$png")
  test "$height" -eq 88
done
grep -q '"elbo_matrix"' "$run/results.json"
expect_refused "an unknown method" "unknown method nonesuch" \
  run "$src/scripts/lifelong_vae.lua" --set quick=1 --set methods=nonesuch --set out="$work"
# The memory kind in the Split-MNIST table: no stored bytes, its VAE in the total view; ER gets
# the same total bytes.
"$engram" run "$src/scripts/split_mnist.lua" --set iterations=10 --set sleep_steps=3 \
  --set methods=lifelong_vae,er_lifelong --set out="$work" | tee split.txt
run=$(sed -n 's/^results: //p' split.txt)
test "$(wc -l <"$run/summary.csv")" -eq 3
awk -F, '$1 == "lifelong_vae" { if ($7 != 0 || !($10 > 1000000)) exit 1; total = $10 }
         $1 == "er_lifelong" { if (!($7 > 0.9 * total) || $7 > total) exit 1 }' "$run/summary.csv"
