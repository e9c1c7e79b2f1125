#!/usr/bin/env bash
# scripts/dgm_mnist.lua --set quick=1 end to end: the A5/A10 table with the dgm, joint and dvae
# rows, the dvae row at the generator's bytes, the bytes after each task, a sample grid PNG per
# task, the JSON; an unknown method and a bad memory setting refused by name; a runtime with the
# dgm kind through a snapshot (engram.restore gives the same accuracy, bytes and samples).
# Usage: dgm_mnist_script.sh ENGRAM SOURCE_DIR
set -euo pipefail
source "$(dirname "$0")/script_lib.sh"
script_setup "$1" "$2"
if ! "$engram" run "$src/scripts/dgm_mnist.lua" --set quick=1 --set out="$work" >run.txt 2>&1; then
  if grep -q "mnist" run.txt && grep -q "not_found\|no directory" run.txt; then
    echo "skipped: MNIST is not installed"
    exit 0
  fi
  cat run.txt
  exit 1
fi
cat run.txt
run=$(sed -n 's/^results: //p' run.txt)
test "$(head -1 "$run/summary.csv")" = "method,seed,A5,A10,total_bytes,allowed_bytes,seconds"
test "$(wc -l <"$run/summary.csv")" -eq 4
# Accuracies are percentages; dvae may hold the generator's bytes (budget + decoder) and holds
# at most that.
awk -F, 'NR > 1 { if ($3 < 0 || $3 > 100 || $4 < 0 || $4 > 100) exit 1 }
         $1 == "dgm" { g = $5 } $1 == "dvae" { d = $5; allowed = $6 }
         END { if (!(g > 100000) || allowed != g || d > g || !(d > 0)) exit 1 }' "$run/summary.csv"
# The generator never shrinks from task to task.
awk -F, 'NR > 2 { if ($2 < prev) exit 1 } NR > 1 { prev = $2 }' "$run/growth.csv"
test "$(wc -l <"$run/growth.csv")" -eq 4
for t in 1 2 3; do
  png="$run/samples_task${t}_seed1.png"
  # t rows (one per class learned) of 28-pixel tiles with 2-pixel padding.
  height=$(png_height "$png")
  test "$height" -eq $((t * 30 - 2))
done
grep -q '"a10"' "$run/results.json"
expect_refused "an unknown method" "unknown method nonesuch" \
  run "$src/scripts/dgm_mnist.lua" --set quick=1 --set methods=nonesuch --set out="$work"
expect_refused "s_max = 0.5" "s_max" \
  run "$src/scripts/dgm_mnist.lua" --set quick=1 --set methods=dgm --set s_max=0.5 --set out="$work"
# A snapshot mid-task: the restored runtime has the same accuracy and bytes.
cat >snap.lua <<'LUA'
local cfg = engram.settings { "path" }
local ds = engram.dataset("mnist")
local tasks = engram.split(ds, { { 0 }, { 1 } })
local memory = { kind = "dgm", nz = 16, hidden = { 32, 64 }, critic_hidden = { 64 },
                 anneal_steps = 20 }
local rt = engram.runtime { dataset = ds, tasks = 2, seed = 3, memory = memory }
rt:learn(tasks[1], { iterations = 20, batch = 16, progress = false })
rt:consolidate()
rt:learn(tasks[2], { iterations = 5, batch = 16, progress = false, replay = { per_batch = 8 } })
rt:snapshot(cfg.path)
local restored = engram.restore(cfg.path, { dataset = ds, progress = false })
local a, b = rt:memory(), restored:memory()
assert(a.total_bytes == b.total_bytes and a.total_bytes > 0, "bytes differ after restore")
assert(a.association_weight_bytes == b.association_weight_bytes, "weights differ")
assert(rt:accuracy(tasks[1], "class") == restored:accuracy(tasks[1], "class"), "accuracy differs")
print(("snapshot: %d bytes of generator and masks restored"):format(b.total_bytes))
LUA
"$engram" run snap.lua --set path="$work/dgm.snap" | tee snap.txt
grep -q "^snapshot: " snap.txt
