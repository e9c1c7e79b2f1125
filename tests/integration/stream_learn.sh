#!/usr/bin/env bash
# A Python publisher (Debian's python3-zmq and python3-msgpack, no engram code) streams MNIST
# frames of two tasks into `engram run scripts/stream_learn.lua`, which learns from them.
# With `curve`, the stream is encrypted and the publisher authenticated by its CURVE key.
# Usage: stream_learn.sh ENGRAM_BINARY SOURCE_DIR PORT [curve]
set -euo pipefail
engram=$1
src=$2
port=$3
mode=${4:-plain}
python=/usr/bin/python3  # Debian's, where python3-zmq and python3-msgpack live
work=$(mktemp -d)
trap 'kill "${pid:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT

engram_args=()
publisher_args=()
if [ "$mode" = curve ]; then
  "$engram" keygen >"$work/server.keys"
  "$engram" keygen >"$work/publisher.keys"
  key() { sed -n "s/^$1 //p" "$2"; }
  engram_args=(--set "curve_secret=$(key secret "$work/server.keys")"
               --set "curve_clients=$(key public "$work/publisher.keys")")
  publisher_args=(--server-key "$(key public "$work/server.keys")"
                  --key-file "$work/publisher.keys")
fi
"$engram" run "$src/scripts/stream_learn.lua" --report --set endpoint="tcp://127.0.0.1:$port" \
  --set timeout=5 --set batches=40 --set out="$work/runs" "${engram_args[@]}" \
  >"$work/engram.log" 2>&1 &
pid=$!
for _ in $(seq 100); do grep -q "listening on" "$work/engram.log" && break; sleep 0.1; done
"$python" "$src/examples/sensor_publisher.py" --endpoint "tcp://127.0.0.1:$port" \
  --tasks 0,1/2,3 --per-task 1500 "${publisher_args[@]}"
wait "$pid"
cat "$work/engram.log" | grep -v "^engram "
grep -q "stream: 3000 received, 3000 accepted, 0 malformed, 0 non-finite, 0 out of range, 0 dropped, 0 gaps" "$work/engram.log"
# Nothing accepted is lost: every frame was learned exactly once.
grep -q "frames: 3000 accepted = 3000 learned + 0 skipped + 0 waiting + 0 dropped$" "$work/engram.log"
if [ "$mode" = curve ]; then grep -q "CURVE on" "$work/engram.log"; fi
acc=$(sed -n 's/^final class-IL ACC \([0-9.]*\)$/\1/p' "$work/engram.log")
# Two tasks learned from the stream with recollections: well above the 0.5 of forgetting task 1.
awk -v a="$acc" 'BEGIN { exit !(a > 0.75) }' || { echo "class-IL ACC $acc too low"; exit 1; }
# The run directory and its report: two tasks delivered in order give a 2x2 matrix, and the
# curve has a point per report of 40 batches.
run_dir=$(sed -n 's/^results: //p' "$work/engram.log")
"$python" - "$run_dir/results.json" <<'PY'
import json, sys
run = json.load(open(sys.argv[1]))["runs"][0]
assert len(run["class_il"]) == 2 and all(len(r) == 2 for r in run["class_il"]), run["class_il"]
assert run["class_il"][0][0] > 0.9, run["class_il"]
c = run["curve"]
assert c["every"] == 40 and len(c["iteration"]) >= 2, c
assert len(c["loss"]) == len(c["task"]) == len(c["samples_per_s"]) == len(c["iteration"]), c
assert c["task"][0] == 1 and c["task"][-1] == 2, c["task"]
assert all(v > 0 for v in c["samples_per_s"]), c
assert run["stream"]["received"] == 3000, run["stream"]
PY
grep -q "Accuracy matrices" "$run_dir/report.html"
grep -q "^report: $run_dir/report.html" "$work/engram.log"
echo "stream learning: class-IL ACC $acc"
