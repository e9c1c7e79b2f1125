#!/usr/bin/env bash
# Measures the two stream defects of issue 13 on an engram binary: frames accepted but never
# learned (`block` must lose none) and what NaN frames among real ones do to the model. Runs
# scripts/stream_learn.lua fed by tests/bench/defect_publisher.py twice: clean, then with
# POISON frames holding a NaN. Prints per run: frames sent, accepted, learned (the sum of the
# script's per-report frame counts), lost = accepted - learned, and the final class-IL ACC.
# Usage: stream_defects.sh ENGRAM_BINARY [SOURCE_DIR] [PORT] [POISON] [PER_TASK]
set -euo pipefail
engram=$1
src=${2:-$(cd "$(dirname "$0")/../.." && pwd)}
port=${3:-5795}
poison=${4:-42}
per_task=${5:-2000}
work=$(mktemp -d)
trap 'kill "${pid:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT

run() {  # run NAME POISON
  "$engram" run "$src/scripts/stream_learn.lua" --set endpoint="tcp://127.0.0.1:$port" \
    --set timeout=5 --set batches=25 >"$work/$1.log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do grep -q "listening on" "$work/$1.log" && break; sleep 0.1; done
  /usr/bin/python3 "$src/tests/bench/defect_publisher.py" --endpoint "tcp://127.0.0.1:$port" \
    --per-task "$per_task" --poison "$2" 2>"$work/$1.pub"
  wait "$pid" || true
  local accepted learned acc
  accepted=$(sed -n 's/^stream: [0-9]* received, \([0-9]*\) accepted.*/\1/p' "$work/$1.log")
  learned=$(sed -n 's/.*batches (\([0-9]*\) frames in.*/\1/p' "$work/$1.log" | awk '{s += $1} END {print s + 0}')
  acc=$(sed -n 's/^final class-IL ACC \([0-9.]*\)$/\1/p' "$work/$1.log")
  printf '%-8s %s; accepted %s, learned %s, lost %s; final class-IL ACC %s\n' "$1" \
    "$(cat "$work/$1.pub" | sed 's/^sent //')" "$accepted" "$learned" \
    "$((accepted - learned))" "$acc"
  grep "^stream:\|^frames:\|skipped" "$work/$1.log" | sed 's/^/         /'
}
run clean 0
run poison "$poison"
