#!/usr/bin/env bash
# What placing the hippocampus in another process costs, measured in one run of this script:
# the same Split-MNIST schedule (tests/integration/serve_learn.lua) with the hippocampus as a
# thread and as `engram serve hippocampus` over loopback tcp, alternating, ROUNDS rounds each.
# Prints the seconds per training step of each layout (the fastest round), the added latency
# per step and the ratio, and the envelope bytes per step on the hippocampus's link (the
# counters of the thread, and those `engram serve` prints, heartbeats included; ZMTP framing
# and TCP headers are not counted) and their ratio.
# The steps are pipelined (the association waits for the hippocampus's codes while the
# neocortex trains the previous batch), so a small BATCH and HIDDEN show the link's cost best.
# Usage: bench_remote_hippocampus.sh ENGRAM_BINARY SOURCE_DIR [ITERATIONS [ROUNDS [BATCH [HIDDEN]]]]
# (defaults 300, 2, 128, 400: batch 128 + 128 recollections, an MLP of 400 units)
set -euo pipefail
engram=$1
src=$2
iterations=${3:-300}
rounds=${4:-2}
batch=${5:-128}
hidden=${6:-400}
source "$src/tests/integration/serve_lib.sh"
serve_setup
script="$src/tests/integration/serve_learn.lua"
args=(--set tasks=2 --set iterations="$iterations" --set batch="$batch" --set replay="$batch"
  --set hidden="$hidden")

start_server hippocampus serve

for r in $(seq "$rounds"); do
  "$engram" --quiet run "$script" "${args[@]}" --set out="$work/threads$r.json" >/dev/null
  "$engram" --quiet run "$script" "${args[@]}" --set placement="$endpoint" \
    --set out="$work/process$r.json" >/dev/null
done
stop_servers
/usr/bin/python3 - "$work" "$rounds" "$endpoint" "$batch" "$hidden" <<'PY'
import json, re, sys
work, rounds, endpoint, batch, hidden = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
def load(name):
    return [json.load(open(f"{work}/{name}{r}.json")) for r in range(1, rounds + 1)]
threads, process = load("threads"), load("process")
def per_step(run):
    return sum(run["seconds"]) / sum(run["iterations"])
t = min(per_step(r) for r in threads)
p = min(per_step(r) for r in process)
served = open(f"{work}/serve.out").read()
m = re.search(r"bytes in (\d+) out (\d+)", served)
process_steps = sum(sum(r["iterations"]) for r in process)
bytes_process = (int(m.group(1)) + int(m.group(2))) / process_steps
bytes_threads = sum(r["hippocampus_bytes"] for r in threads) / sum(sum(r["iterations"]) for r in threads)
same = all(a["class_il"] == b["class_il"] for a, b in zip(threads, process))
it = threads[0]["iterations"]
print(f"schedule: 2 Split-MNIST tasks x {it[0]} steps, batch {batch} + {batch} recollections, "
      f"MLP {hidden}, dvae c=20 l=4; hippocampus process at {endpoint}; best of {rounds} rounds")
print(f"seconds per step   threads {t*1e3:8.3f} ms   process {p*1e3:8.3f} ms   "
      f"added {(p - t)*1e3:+.3f} ms/step   ratio {p / t:.3f}")
print(f"wire bytes per step threads {bytes_threads:8.0f}   process {bytes_process:8.0f}   "
      f"ratio {bytes_process / bytes_threads:.3f}")
print(f"identical class-IL accuracies in both layouts: {same}")
PY
