#!/usr/bin/env bash
# scripts/distill_mnist.lua end to end at a tiny scale: a fast MLP teacher, 1-epoch memories,
# 300 episodes. Checks the tables it writes, that a second run takes the teacher and the memory
# from the cache, and that a bad column is a clear error. Usage: distill_script.sh ENGRAM SOURCE_DIR
set -euo pipefail
source "$(dirname "$0")/script_lib.sh"
script_setup "$1" "$2"
args=(--set quick=true --set teacher_net=mlp --set student=mlp --set episodes=300
      --set checkpoints=100,300 --set columns=real,buffer_10x,codes_100x,active_diverse_10x
      --set out="$work")
"$engram" run "$src/scripts/distill_mnist.lua" "${args[@]}" | tee first.txt
run=$(sed -n 's/^results in //p' first.txt)
test "$(head -1 "$run/accuracy.csv")" = "episodes,real,buffer_10x,codes_100x,active_diverse_10x"
test "$(wc -l <"$run/accuracy.csv")" -eq 3
# The teacher learned (an MLP after one epoch is far above the 10% of chance).
awk '/^teacher: test accuracy/ { if ($4 < 0.85) exit 1; found = 1 } END { exit !found }' first.txt
# After 300 episodes on recollections the active+diverse student is above chance.
awk -F, '$1 == 300 { if ($5 < 30) exit 1; found = 1 } END { exit !found }' "$run/accuracy.csv"
grep -q "memory 100x: c=38" first.txt
# memories.csv: the VAE's -ELBO over its last epoch (nats per image, a positive number).
awk -F, 'NR == 1 { if ($10 != "neg_elbo") exit 1 } NR > 1 { if (!($10 > 0)) exit 1; rows++ }
         END { exit rows < 1 }' "$run/memories.csv"
# timing.csv: one row per column, mean pixels in (0, 1); random sampling trains on what it drew.
test "$(head -1 "$run/timing.csv")" = \
  "column,seconds,eval_seconds,drawn,drawn_mean_pixel,trained_mean_pixel"
awk -F, 'NR > 1 { if (!($5 > 0 && $5 < 1 && $6 > 0 && $6 < 1)) exit 1; rows++ }
         $1 == "buffer_10x" { if ($5 != $6) exit 1 } END { exit rows != 4 }' "$run/timing.csv"
# A list setting with an item that is not a number is an error naming it.
expect_refused "a bad checkpoint list" "'3oo' is not a number" \
  run "$src/scripts/distill_mnist.lua" "${args[@]}" --set checkpoints=100,3oo
# A misspelled setting is refused, not ignored.
expect_refused "a misspelled setting" "unknown setting 'vae_epoch' (did you mean 'vae_epochs'?)" \
  run "$src/scripts/distill_mnist.lua" "${args[@]}" --set vae_epoch=3
"$engram" run "$src/scripts/distill_mnist.lua" "${args[@]}" --set columns=buffer_10x >second.txt
grep -q "teacher: .*from cache" second.txt
grep -q "memory 10x: .*from cache" second.txt
expect_refused "an unknown column" "unknown column 'buffer_7x'" \
  run "$src/scripts/distill_mnist.lua" "${args[@]}" --set columns=buffer_7x
echo "distill_mnist.lua: tables written, caches reused, bad column refused"
