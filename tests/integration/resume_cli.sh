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
if ! cmp "$work/unbroken.json" "$work/resumed.json"; then
  echo "resume changed the results:"
  diff <(tr ',' '\n' <"$work/unbroken.json") <(tr ',' '\n' <"$work/resumed.json") || true
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
