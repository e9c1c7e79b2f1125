#!/usr/bin/env bash
# examples/curriculum.lua end to end: a Python publisher (Debian's python3-zmq and
# python3-msgpack) streams MNIST frames of two tasks; the example's event handler switches replay
# to its Lua sampler function when each task appears, sleeps every 500 frames, saves a snapshot
# when the stream goes quiet, and every frame is learned.
# Usage: curriculum_example.sh ENGRAM_BINARY SOURCE_DIR PORT
set -euo pipefail
engram=$1
src=$2
port=$3
python=/usr/bin/python3  # Debian's, where python3-zmq and python3-msgpack live
work=$(mktemp -d)
trap 'kill "${pid:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT

# quiet leaves the publisher (Python, reading MNIST) time to send its first frame on a loaded
# machine: with quiet=1 the stream went quiet after 0 frames when 3 busy loops shared the 2 cores.
"$engram" run "$src/examples/curriculum.lua" --set endpoint="tcp://127.0.0.1:$port" \
  --set every=500 --set quiet=4 --set timeout=6 --set snapshot="$work/curriculum.engram" \
  >"$work/engram.log" 2>&1 &
pid=$!
for _ in $(seq 100); do grep -q "listening on" "$work/engram.log" && break; sleep 0.1; done
"$python" "$src/examples/sensor_publisher.py" --endpoint "tcp://127.0.0.1:$port" \
  --tasks 0,1/2,3 --per-task 750
wait "$pid"
grep -v "^engram " "$work/engram.log"
expect() { grep -q -- "$1" "$work/engram.log" || { echo "missing: $1"; exit 1; }; }
expect "^task 0 appears after 32 frames$"
expect "^task 1 appears after "
expect "^class 3 appears$"
expect "^stream quiet after 1500 frames: saved $work/curriculum.engram$"
expect "^done: 1500 frames, 3 sleeps, 1 snapshots$"
# Nothing accepted is lost: every frame was learned exactly once.
expect "^frames: 1500 accepted = 1500 learned + 0 skipped + 0 waiting + 0 dropped (the stream ended)$"
test -s "$work/curriculum.engram"
echo "curriculum example: ok"
