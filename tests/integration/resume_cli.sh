#!/usr/bin/env bash
# Resume equivalence across processes: learning 3 Split-MNIST tasks in one run gives the same
# accuracy matrix as learning 2, snapshotting, and continuing from the snapshot in a new
# process. Usage: resume_cli.sh ENGRAM_BINARY SOURCE_DIR
set -euo pipefail
engram=$1
src=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
args=(--set tasks=3 --set iterations=60 --set batch=32 --set replay=32 --set hidden=64)
script="$src/scripts/learn_tasks.lua"

"$engram" run "$script" "${args[@]}" --set out="$work/unbroken.json" >/dev/null
"$engram" run "$script" "${args[@]}" --set stop_after=2 --set snapshot="$work/m.snap" >/dev/null
"$engram" inspect "$work/m.snap" | tee "$work/inspect.txt"
grep -q "checksums ok" "$work/inspect.txt"
grep -q "codes per task:" "$work/inspect.txt"
"$engram" run "$script" "${args[@]}" --resume "$work/m.snap" --set out="$work/resumed.json" >/dev/null
# Identical but for wall-clock figures (seconds and samples per second of each phase and curve
# point), printed one value a line.
values() {
  /usr/bin/python3 - "$1" <<'PY'
import json, sys
clock = {"seconds", "samples_per_second", "samples_per_s"}
def walk(v, path):
    if isinstance(v, dict):
        for k in sorted(v):
            if k not in clock:
                walk(v[k], path + "." + k)
    elif isinstance(v, list):
        for i, x in enumerate(v):
            walk(x, path + "[%d]" % i)
    else:
        print(path, json.dumps(v))
walk(json.load(open(sys.argv[1])), "")
PY
}
values "$work/unbroken.json" >"$work/unbroken.txt"
values "$work/resumed.json" >"$work/resumed.txt"
grep -q "^.curve.association_neg_elbo\[0\] " "$work/unbroken.txt"
grep -q "^.fwt " "$work/unbroken.txt"
if ! cmp "$work/unbroken.txt" "$work/resumed.txt"; then
  echo "resume changed the results:"
  diff "$work/unbroken.txt" "$work/resumed.txt" || true
  exit 1
fi
# A damaged snapshot: clear error, exit code 1.
printf 'XXXX' | dd of="$work/m.snap" bs=1 seek=2000 conv=notrunc status=none
if "$engram" inspect "$work/m.snap" 2>"$work/err.txt"; then
  echo "inspect accepted a damaged snapshot"
  exit 1
fi
grep -q "snapshot" "$work/err.txt"
echo "resume equivalence: identical results"
