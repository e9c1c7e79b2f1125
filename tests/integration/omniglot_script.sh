#!/usr/bin/env bash
# scripts/omniglot_alphabets.lua --set quick=1 end to end: the latent size chosen for the
# budget, one row per method in the summary, accuracy matrices over 242 characters in the JSON,
# and an unknown method named. Usage: omniglot_script.sh ENGRAM SOURCE_DIR
set -euo pipefail
source "$(dirname "$0")/script_lib.sh"
script_setup "$1" "$2"
"$engram" run "$src/scripts/omniglot_alphabets.lua" --set quick=1 --set out="$work" | tee run.txt
grep -q "^budget 50 images (39200 bytes): rho 1.00 -> c = [0-9]*, l = 2" run.txt
run=$(sed -n 's/^results: //p' run.txt)
test "$(wc -l <"$run/summary.csv")" -eq 3
grep -q "^finetune,-,1," "$run/summary.csv"
grep -q "^recollections,50,1," "$run/summary.csv"
grep -q '"characters": 242' "$run/results.json"
expect_refused "an unknown method" "unknown method nonesuch" \
  run "$src/scripts/omniglot_alphabets.lua" --set quick=1 --set methods=nonesuch --set out="$work"
expect_refused "a budget without a default rho" "no default rho for a budget of 20 images" \
  run "$src/scripts/omniglot_alphabets.lua" --set budgets=20 --set out="$work"
expect_refused "rhos that do not match the budgets" "rhos needs one value per budget" \
  run "$src/scripts/omniglot_alphabets.lua" --set budgets=10,50 --set rhos=0.2 --set out="$work"
expect_refused "a negative sleep_steps" "sleep_steps must be >= 0" \
  run "$src/scripts/omniglot_alphabets.lua" --set quick=1 --set sleep_steps=-1 --set out="$work"
expect_refused "a sleep_association that is not yes or no" "maybe" \
  run "$src/scripts/omniglot_alphabets.lua" --set quick=1 --set sleep_association=maybe \
  --set out="$work"
expect_refused "a budget of 0 images" "budgets are whole numbers of images >= 1, not 0" \
  run "$src/scripts/omniglot_alphabets.lua" --set quick=1 --set budgets=0 --set out="$work"
expect_refused "a budget too small for the labels it must keep" "cannot even hold the labels" \
  run "$src/scripts/omniglot_alphabets.lua" --set quick=1 --set budgets=1 --set out="$work"
# An association pretrained on MNIST (memory.association_from): the snapshot is made once and the
# recollections run starts from it.
"$engram" run "$src/scripts/omniglot_alphabets.lua" --set quick=1 --set methods=recollections \
  --set pretrain=mnist --set pretrain_iterations=20 --set out="$work" | tee pretrained.txt
grep -q "^pretrained the association (c = [0-9]*, l = 2) on mnist: 20 batches of 64" pretrained.txt
run=$(sed -n 's/^results: //p' pretrained.txt)
ls "$run"/association_mnist_c*_l2.engram >/dev/null
grep -q '"pretrain": "mnist"' "$run/results.json"
grep -q "^recollections,50,1," "$run/summary.csv"
expect_refused "pretraining on the stream's own dataset" "another dataset than the stream's" \
  run "$src/scripts/omniglot_alphabets.lua" --set quick=1 --set pretrain=omniglot --set out="$work"
expect_refused "pretrain_iterations of 0" "pretrain_iterations must be >= 1, not 0" \
  run "$src/scripts/omniglot_alphabets.lua" --set quick=1 --set pretrain=mnist \
  --set pretrain_iterations=0 --set out="$work"
