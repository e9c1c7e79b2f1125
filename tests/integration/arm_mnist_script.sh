#!/usr/bin/env bash
# scripts/arm_mnist.lua --set quick=true end to end: every method runs, summary.csv and
# results.json hold A_T / F_T per method, the bytes are what the issue asks (ER-50: 50 images;
# ARM: one classifier copy; recollections at ARM's bytes in the total view), and a bad method is
# named. Usage: arm_mnist_script.sh ENGRAM SOURCE_DIR
set -euo pipefail
source "$(dirname "$0")/script_lib.sh"
script_setup "$1" "$2"
"$engram" run "$src/scripts/arm_mnist.lua" --set quick=true --set out="$work" | tee run.txt
run=$(sed -n 's/^wall time: .* results: //p' run.txt)
test -f "$run/summary.csv"
test "$(head -1 "$run/summary.csv")" = \
  "method,seeds,A_T %,A_T std,F_T %,F_T std,memory bytes,total bytes,budget bytes,wall s (mean),wall s (sum)"
test "$(wc -l <"$run/summary.csv")" -eq 10
# The classifier: 784-400-400-10 = 478410 parameters, 4 B each.
awk -F, 'NR > 1 { if (!($3 >= 0 && $3 <= 100 && $5 >= 0 && $5 <= 100)) exit 1 }
         $1 == "arm" { if ($8 != 1913640) exit 1 }
         $1 == "lwf" || $1 == "lwf_distill" { if ($8 != 1913640) exit 1 }
         $1 == "arm_all" || $1 == "arm_code" { if ($8 != 1913640) exit 1 }
         $1 == "er50" { if ($7 < 39200 || $7 > 39300 || $8 != $7) exit 1; er = $7 }
         $1 == "recollections_er50" { if ($7 > er) exit 1 }
         $1 == "recollections_arm" { if ($8 > 1913640 || $9 + $8 - $7 != 1913640) exit 1 }
         $1 == "naive" { if ($8 != 0) exit 1 }' "$run/summary.csv"
grep -q '"a_t"' "$run/results.json"
grep -q '"f_t"' "$run/results.json"
expect_refused "an unknown method" 'unknown method "nonesuch"' \
  run "$src/scripts/arm_mnist.lua" --set quick=true --set methods=nonesuch --set out="$work"
# The authors' single-class task ends (tails, drawn per seed) and per-class balanced accuracy:
# each run records its tails; a tail's full batches are learned in the same task, after the
# task's other batches, and both methods of a seed see the same stream.
"$engram" run "$src/scripts/arm_mnist.lua" --set quick=true --set methods=naive,arm \
  --set tails=true --set balanced=true --set out="$work/authors" | tee authors.txt
run=$(sed -n 's/^wall time: .* results: //p' authors.txt)
test "$(wc -l <"$run/summary.csv")" -eq 3
python3 - "$run/results.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["protocol"]["tails"] is True and r["protocol"]["balanced_accuracy"] is True
iterations = r["protocol"]["iterations_per_task"]
runs = r["runs"]
assert len(runs) == 2 and runs[0]["tails"] == runs[1]["tails"], "one stream per seed"
for run in runs:
    assert len(run["tails"]) == 5
    for tail, phase in zip(run["tails"], run["phases"]):
        assert tail["class"] in (1, 2) and 0 <= tail["images"] <= 50, tail
        assert tail["batches"] == min(iterations - 1, tail["images"] // 10), tail
        assert phase.get("tail_iterations", 0) == tail["batches"], (tail, phase)
        assert phase["iterations"] == iterations - tail["batches"], (tail, phase)
PY
expect_refused "a misspelled setting" "unknown setting 'tail' (did you mean 'tails'?)" \
  run "$src/scripts/arm_mnist.lua" --set quick=true --set tail=true --set out="$work"
expect_refused "a yes/no setting given another value" "'maybe' is not true or false" \
  run "$src/scripts/arm_mnist.lua" --set quick=true --set tails=maybe --set out="$work"
