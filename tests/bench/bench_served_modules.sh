#!/usr/bin/env bash
# What serving every module costs, measured in one run of this script: the same Split-MNIST
# schedule (tests/integration/serve_learn.lua) with the three modules as threads of the driver
# and with each in its own `engram serve` process over loopback tcp (their links to each other
# travel through the driver's relay), alternating, ROUNDS rounds each.
# Prints the seconds per training step of each layout (the fastest round), the added latency
# per step and the ratio, and the envelope bytes per step between modules: for threads, the
# bytes in and out of the three module actors (a message between two modules counts at both
# ends); served, the bytes that cross the tcp links (each served process's wrapper passes every
# relayed envelope twice, over tcp and inproc, so its (in + out) / 2; heartbeats included; ZMTP
# framing and TCP headers are not counted). A message between two served modules crosses the
# wire twice (to the driver's relay and on), so the two figures count the same messages.
# Usage: bench_served_modules.sh ENGRAM_BINARY SOURCE_DIR [ITERATIONS [ROUNDS [BATCH [HIDDEN]]]]
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

declare -A at
for module in hippocampus association neocortex; do
  start_server "$module" "$module"
  at[$module]=$endpoint
done

for r in $(seq "$rounds"); do
  "$engram" --quiet run "$script" "${args[@]}" --set out="$work/threads$r.json" >/dev/null
  "$engram" --quiet run "$script" "${args[@]}" --set placement="${at[hippocampus]}" \
    --set association_at="${at[association]}" --set neocortex_at="${at[neocortex]}" \
    --set out="$work/served$r.json" >/dev/null
done
stop_servers
/usr/bin/python3 - "$work" "$rounds" "$batch" "$hidden" <<'PY'
import json, re, sys
work, rounds, batch, hidden = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
def load(name):
    return [json.load(open(f"{work}/{name}{r}.json")) for r in range(1, rounds + 1)]
threads, served = load("threads"), load("served")
def per_step(run):
    return sum(run["seconds"]) / sum(run["iterations"])
t = min(per_step(r) for r in threads)
s = min(per_step(r) for r in served)
wire = 0
for module in ("hippocampus", "association", "neocortex"):
    m = re.search(r"bytes in (\d+) out (\d+)", open(f"{work}/{module}.out").read())
    wire += (int(m.group(1)) + int(m.group(2))) / 2
served_steps = sum(sum(r["iterations"]) for r in served)
bytes_served = wire / served_steps
bytes_threads = sum(r["module_bytes"] for r in threads) / sum(sum(r["iterations"]) for r in threads)
same = all(a["class_il"] == b["class_il"] and a["losses"] == b["losses"]
           for a, b in zip(threads, served))
it = threads[0]["iterations"]
print(f"schedule: 2 Split-MNIST tasks x {it[0]} steps, batch {batch} + {batch} recollections, "
      f"MLP {hidden}, dvae c=20 l=4; all three modules served; best of {rounds} rounds")
print(f"seconds per step    threads {t*1e3:8.3f} ms   served {s*1e3:8.3f} ms   "
      f"added {(s - t)*1e3:+.3f} ms/step   ratio {s / t:.3f}")
print(f"bytes per step      threads {bytes_threads:8.0f}   served {bytes_served:8.0f}   "
      f"ratio {bytes_served / bytes_threads:.3f}")
print(f"identical class-IL accuracies and losses in both layouts: {same}")
PY
