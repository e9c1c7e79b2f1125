#!/usr/bin/env bash
# scripts/curriculum_mnist.lua and scripts/split_mnist.lua end to end at a tiny scale: every
# variant and method runs, the tables they write have one row each, and a consolidation phase
# shows in the sleep column. Usage: curriculum_scripts.sh ENGRAM SOURCE_DIR
set -euo pipefail
engram=$1
src=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
"$engram" run "$src/scripts/curriculum_mnist.lua" --set iterations=10 --set sleep_steps=3 \
  --set out="$work" | tee curriculum.txt
run=$(sed -n 's/^results: //p' curriculum.txt)
test "$(head -1 "$run/summary.csv")" = "variant,seed,class-IL ACC,BWT,wall s,of which sleep s"
test "$(wc -l <"$run/summary.csv")" -eq 8
for v in uniform class_balanced active diverse sleep delay10 revisit; do
  grep -q "^$v,1," "$run/summary.csv"
done
# Only the sleep variant sleeps; revisit has 6 phases, so no BWT.
awk -F, '$1 == "sleep" { if (!($6 > 0)) exit 1 } $1 == "uniform" { if ($6 != 0) exit 1 }
         $1 == "revisit" { if ($4 != "-") exit 1 }' "$run/summary.csv"
"$engram" run "$src/scripts/split_mnist.lua" --set iterations=10 --set sleep_steps=3 \
  --set out="$work" | tee split.txt
run=$(sed -n 's/^results: //p' split.txt)
test "$(wc -l <"$run/summary.csv")" -eq 6
# A variant that does not exist is an error naming it.
if "$engram" run "$src/scripts/curriculum_mnist.lua" --set iterations=2 --set variants=sleepy \
    2>err.txt; then
  echo "an unknown variant was accepted"
  exit 1
fi
grep -q "unknown variant sleepy" err.txt
