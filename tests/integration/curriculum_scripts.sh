#!/usr/bin/env bash
# scripts/curriculum_mnist.lua and scripts/split_mnist.lua end to end at a tiny scale: every
# variant and method runs, the tables they write have one row each, and a consolidation phase
# shows in the sleep column. Usage: curriculum_scripts.sh ENGRAM SOURCE_DIR
set -euo pipefail
source "$(dirname "$0")/script_lib.sh"
script_setup "$1" "$2"
python=/usr/bin/python3  # Debian's (the standard library's json only)
"$engram" run "$src/scripts/curriculum_mnist.lua" --set iterations=10 --set sleep_steps=3 \
  --set record_every=5 --set out="$work" | tee curriculum.txt
run=$(sed -n 's/^results: //p' curriculum.txt)
test "$(head -1 "$run/summary.csv")" = "variant,seed,class-IL ACC,BWT,wall s,of which sleep s,FWT"
# What each run records for its report: a curve point every 5 iterations (2 per phase, the
# iteration cumulative), the dvae's -ELBO per phase and point, the untrained baseline, FWT.
"$python" - "$run/results.json" <<'PY'
import json, math, sys
runs = json.load(open(sys.argv[1]))["runs"]
assert len(runs) == 7, len(runs)
for r in runs:
    c, phases = r["curve"], r["phases"]
    n = 2 * len(phases)
    assert c["every"] == 5, (r["variant"], c["every"])
    assert c["iteration"] == list(range(5, 5 * n + 1, 5)), (r["variant"], c["iteration"])
    assert c["task"][:2] == [1, 1] and len(c["task"]) == n, c["task"]
    for key in ("loss", "samples_per_s", "association_neg_elbo"):
        assert len(c[key]) == n and all(math.isfinite(v) and v > 0 for v in c[key]), (key, c[key])
    for p in phases:
        assert math.isfinite(p["association_neg_elbo"]) and p["association_neg_elbo"] > 0, p
    assert len(r["baseline"]) == 5 and all(0 <= b <= 1 for b in r["baseline"]), r["baseline"]
    if r["variant"] != "revisit":
        assert math.isfinite(r["fwt"]) and -1 <= r["fwt"] <= 1, r
print("curriculum results.json: curves, -ELBO, baseline and FWT present")
PY
test "$(wc -l <"$run/summary.csv")" -eq 8
for v in uniform class_balanced active diverse sleep delay10 revisit; do
  grep -q "^$v,1," "$run/summary.csv"
done
# Only the sleep variant sleeps; revisit has 6 phases, so no BWT.
awk -F, '$1 == "sleep" { if (!($6 > 0)) exit 1 } $1 == "uniform" { if ($6 != 0) exit 1 }
         $1 == "revisit" { if ($4 != "-") exit 1 }' "$run/summary.csv"
"$engram" run "$src/scripts/split_mnist.lua" --set iterations=10 --set sleep_steps=3 \
  --set record_every=5 --set grid=4 --set out="$work" | tee split.txt
run=$(sed -n 's/^results: //p' split.txt)
test "$(wc -l <"$run/summary.csv")" -eq 6
grep -q "FWT" split.txt
"$python" - "$run" <<'PY'
import json, math, struct, sys
run = sys.argv[1]
runs = {r["method"]: r for r in json.load(open(run + "/results.json"))["runs"]}
for method, r in runs.items():
    c = r["curve"]
    n = 10  # 5 tasks x 10 iterations (joint: one task of 50), a point every 5
    assert c["every"] == 5 and len(c["iteration"]) == n and c["iteration"][-1] == 50, (method, c)
    assert c["task"] == ([1] * n if method == "joint" else [t for t in range(1, 6) for _ in (0, 1)])
    assert all(math.isfinite(v) and v > 0 for v in c["loss"] + c["samples_per_s"]), (method, c)
    assert len(r["baseline"]) == 5, r["baseline"]
    if method != "joint":
        assert math.isfinite(r["fwt"]), method
    elbo = [p.get("association_neg_elbo") for p in r["phases"]]
    if method == "recollections":
        assert all(e is not None and math.isfinite(e) and e > 0 for e in elbo), elbo
        assert len(c["association_neg_elbo"]) == n
    else:
        assert all(e is None for e in elbo) and "association_neg_elbo" not in c, (method, elbo)
    # A recollection grid for the methods with stored codes: 10 rows of 4 + 1 + 4 tiles.
    grid = r.get("recollection_grid")
    assert (grid is not None) == (method in ("er", "recollections", "er_total")), (method, grid)
    if grid:
        assert grid == "recollections_%s_seed1.png" % method, grid
        head = open(run + "/" + grid, "rb").read(24)
        width, height = struct.unpack(">II", head[16:24])
        assert (width, height) == (9 * 28 + 8 * 2, 10 * 28 + 9 * 2), (width, height)
print("split_mnist results.json: curves, baseline, FWT, -ELBO and grids present")
PY
# The total view: er and recollections each within the same total bytes, the association's int8
# weights counted with the codes, the split chosen by the script.
"$engram" run "$src/scripts/split_mnist.lua" --set budget=total --set budget_bytes=392000 \
  --set iterations=10 --set sleep_steps=3 --set grid=0 --set record_every=0 \
  --set out="$work" | tee total.txt
grep -q "total view: association hidden 128, int8 weights" total.txt
run=$(sed -n 's/^results: //p' total.txt)
"$python" - "$run" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1] + "/results.json"))
p, runs = doc["protocol"], {r["method"]: r for r in doc["runs"]}
assert p["budget"] == "total" and p["budget_bytes"] == 392000, p
assert sorted(runs) == ["er", "recollections"], sorted(runs)
er, rec = runs["er"]["memory"], runs["recollections"]["memory"]
assert er["budget_bytes"] == 392000 and 0 < er["total_bytes"] <= 392000, er
weights = rec["memory_weight_bytes"]
assert weights == rec["association_weight_bytes"] and 0 < weights <= 392000 * 0.7, rec
assert rec["budget_bytes"] == p["codes_budget_bytes"] == 392000 - weights, (rec, p)
assert rec["total_bytes"] == rec["bytes_used"] + weights <= 392000, rec
print("split_mnist total view: er %d bytes, recollections %d codes + %d weights"
      % (er["total_bytes"], rec["bytes_used"], weights))
PY
expect_refused "a budget view that does not exist" "budget must be codes or total" \
  run "$src/scripts/split_mnist.lua" --set iterations=2 --set budget=all
expect_refused "a total smaller than any association" "too small for the total view" \
  run "$src/scripts/split_mnist.lua" --set iterations=2 --set budget=total --set budget_bytes=5000
# A variant that does not exist is an error naming it.
expect_refused "an unknown variant" "unknown variant sleepy" \
  run "$src/scripts/curriculum_mnist.lua" --set iterations=2 --set variants=sleepy
