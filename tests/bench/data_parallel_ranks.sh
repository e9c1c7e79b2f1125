#!/usr/bin/env bash
# Data-parallel learning on c10d/Gloo: samples/s of the Split MNIST recollections run
# (scripts/split_mnist.lua, methods=recollections) with 1 rank and with 2 ranks on loopback, one
# LibTorch thread per learning actor and each rank pinned to its own core; then the ratio. Also
# prints each run's class-IL accuracy and wall time.
#
# Samples/s: real + recalled examples the classifiers trained on (every rank's: rank 0's count
# times the world size, the shards being equal) over rank 0's seconds in learning and
# consolidation phases (dataset loading and evaluation excluded).
#
# Usage: data_parallel_ranks.sh ENGRAM_BINARY SOURCE_DIR [OUT_DIR]
# Environment: ITERS (iterations per task, default 500), SLEEP (consolidation steps per task,
# default 100), PORT (rendezvous port, default 29517).
set -euo pipefail
engram=${1:?usage: data_parallel_ranks.sh ENGRAM_BINARY SOURCE_DIR [OUT_DIR]}
src=${2:?usage: data_parallel_ranks.sh ENGRAM_BINARY SOURCE_DIR [OUT_DIR]}
out=${3:-$(mktemp -d)}
iters=${ITERS:-500}
sleep_steps=${SLEEP:-100}
port=${PORT:-29517}
if [ "$(nproc)" -lt 2 ]; then
  echo "skipped: needs 2 cores to pin one rank to each (nproc: $(nproc))"
  exit 0
fi
mkdir -p "$out"
common=(--quiet run "$src/scripts/split_mnist.lua" --set methods=recollections
  --set "iterations=$iters" --set "sleep_steps=$sleep_steps" --set record_every=0 --set grid=0
  --set threads=1)

# Prints "samples_per_s acc wall" of the run directory under $1 (rank 0's results.json), the
# example count multiplied by $2 (the world size).
figures() {
  python3 - "$1" "$2" <<'PY'
import glob, json, sys
path = sorted(glob.glob(sys.argv[1] + "/split_mnist-*/results.json"))[-1]
world = int(sys.argv[2])
run = json.load(open(path))["runs"][0]
samples = seconds = 0.0
for phase in run["phases"]:
    for p in [phase] + ([phase["sleep"]] if "sleep" in phase else []):
        samples += p["real_examples"] + p["recalled_examples"]
        seconds += p["seconds"]
print(f"{world * samples / seconds:.0f} {run['acc_class']:.4f} {run['wall_seconds']:.1f}")
PY
}

taskset -c 0 "$engram" "${common[@]}" --set "out=$out/one" >"$out/one.log" 2>&1
read -r sps1 acc1 wall1 <<<"$(figures "$out/one" 1)"

taskset -c 1 "$engram" "${common[@]}" --set "out=$out/two" --world-size 2 --rank 1 \
  --master "127.0.0.1:$port" >"$out/rank1.log" 2>&1 &
rank1=$!
taskset -c 0 "$engram" "${common[@]}" --set "out=$out/two" --world-size 2 --rank 0 \
  --master "127.0.0.1:$port" >"$out/rank0.log" 2>&1
wait "$rank1"
read -r sps2 acc2 wall2 <<<"$(figures "$out/two" 2)"

echo "split_mnist recollections, $iters iterations/task, $sleep_steps sleep steps/task, batch 128 + 128 replayed"
printf "%-8s %12s %12s %10s\n" ranks samples/s class-IL wall_s
printf "%-8s %12s %12s %10s\n" 1 "$sps1" "$acc1" "$wall1"
printf "%-8s %12s %12s %10s\n" 2 "$sps2" "$acc2" "$wall2"
python3 -c "print(f'ratio (2 ranks / 1 rank) of samples/s: {$sps2 / $sps1:.2f}')"
echo "logs and run directories: $out"
