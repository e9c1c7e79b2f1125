#!/usr/bin/env bash
# engram's recollections against the public generative-replay reference (van de Ven & Tolias,
# github.com/GMvandeVen/continual-learning, DGR with its VAE), side by side in one run: class-
# incremental Split MNIST (5 tasks {0,1}..{8,9}, MLP 784-400-400-10, 2000 iterations per task,
# batch 128 + 128 replayed, Adam 1e-3), each pinned to its own core with one thread, started
# together, so both see the same machine. Prints class-IL accuracy and wall seconds of each and
# engram's time as a share of the reference's.
#
# Usage: side_by_side_dgr.sh ENGRAM_BINARY SOURCE_DIR REFERENCE [OUT_DIR]
#   REFERENCE: a checkout of the reference (a directory holding main.py) or a bare git
#              directory of it (e.g. what a mirror fetch gives); measured at commit e6d795a.
#   OUT_DIR:   where logs and engram's run directory go (default: a new temporary directory).
# Environment: ITERS (iterations per task, both systems; default 2000), ENGRAM_ARGS (extra
# `engram run` arguments, e.g. "--set sleep_steps=0").
#
# Skips cleanly (exit 0, saying why) when the reference or Debian's python3-torch and
# python3-torchvision are absent: it installs nothing. Exit 1 when a run fails.
set -euo pipefail
engram=${1:?usage: side_by_side_dgr.sh ENGRAM_BINARY SOURCE_DIR REFERENCE [OUT_DIR]}
src=${2:?usage: side_by_side_dgr.sh ENGRAM_BINARY SOURCE_DIR REFERENCE [OUT_DIR]}
reference=${3:-}
out=${4:-$(mktemp -d)}
iters=${ITERS:-2000}
python=/usr/bin/python3  # Debian's, where python3-torch lives

if [ -z "$reference" ] || [ ! -d "$reference" ]; then
  echo "skipped: no checkout of GMvandeVen/continual-learning given (REFERENCE='$reference')"
  exit 0
fi
if ! "$python" -c 'import torch, torchvision, tqdm' 2>/dev/null; then
  echo "skipped: $python cannot import torch, torchvision and tqdm (Debian packages" \
    "python3-torch python3-torchvision python3-tqdm)"
  exit 0
fi
if [ "$(nproc)" -lt 2 ]; then
  echo "skipped: needs 2 cores to pin one system to each (nproc: $(nproc))"
  exit 0
fi

mkdir -p "$out"
work="$out/reference"
rm -rf "$work"
mkdir -p "$work"
if [ -f "$reference/main.py" ]; then
  cp -r "$reference/." "$work/"
  commit=$(git -C "$reference" rev-parse HEAD 2>/dev/null || echo "unknown")
else
  git --git-dir="$reference" archive --format=tar HEAD | tar -x -C "$work"
  commit=$(git --git-dir="$reference" rev-parse HEAD)
fi
[ -f "$work/main.py" ] || { echo "error: $reference holds no main.py"; exit 1; }
mkdir -p "$work/store/models" "$work/store/results" "$work/store/plots"

# MNIST where torchvision looks (<data-dir>/MNIST/MNIST/raw), from the project's own copy: the
# reference then never downloads.
data="$out/data"
raw="$data/MNIST/MNIST/raw"
mkdir -p "$raw"
for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte \
         t10k-labels-idx1-ubyte; do
  cp "$src/data/mnist/$f.gz" "$raw/$f.gz"
  gunzip -c "$raw/$f.gz" >"$raw/$f"
done

now() { date +%s.%N; }
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
echo "reference commit $commit; $iters iterations per task; engram $("$engram" --version 2>/dev/null | head -1)," \
  "extra engram settings: ${ENGRAM_ARGS:-none}"

t0=$(now)
(cd "$src" && taskset -c 0 "$engram" --log-level warn --quiet run scripts/split_mnist.lua \
  --set methods=recollections --set seeds=1 --set threads=1 --set iterations="$iters" \
  --set out="$out/engram" ${ENGRAM_ARGS:-} >"$out/engram.log" 2>&1; echo "$(now)" >"$out/engram.end") &
engram_pid=$!
(cd "$work" && taskset -c 1 "$python" main.py --experiment=splitMNIST --scenario=class --seed=0 \
  --data-dir="$data" --time --iters="$iters" --replay=generative >"$out/reference.log" 2>&1;
  echo "$(now)" >"$out/reference.end") &
reference_pid=$!
status=0
wait "$engram_pid" || { echo "error: engram failed (log: $out/engram.log)"; tail -5 "$out/engram.log"; status=1; }
wait "$reference_pid" || { echo "error: the reference failed (log: $out/reference.log)"; tail -5 "$out/reference.log"; status=1; }
[ "$status" = 0 ] || exit 1

engram_acc=$(sed -n 's/^recollections *seed 1: class-IL ACC \([0-9.]*\).*/\1/p' "$out/engram.log")
reference_acc=$(sed -n 's/.*average accuracy over all [0-9]* contexts: \([0-9.]*\).*/\1/p' "$out/reference.log")
[ -n "$engram_acc" ] || { echo "error: no class-IL accuracy in $out/engram.log"; exit 1; }
[ -n "$reference_acc" ] || { echo "error: no average accuracy in $out/reference.log"; exit 1; }
awk -v t0="$t0" -v e="$(cat "$out/engram.end")" -v r="$(cat "$out/reference.end")" \
    -v ea="$engram_acc" -v ra="$reference_acc" 'BEGIN {
  printf "%-44s %12s %10s\n", "system (one core each, same run)", "class-IL %", "wall s"
  printf "%-44s %12.2f %10.1f\n", "engram recollections (split_mnist.lua)", 100 * ea, e - t0
  printf "%-44s %12.2f %10.1f\n", "reference DGR (main.py --replay=generative)", 100 * ra, r - t0
  printf "engram time / reference time: %.2f\n", (e - t0) / (r - t0)
}' | tee "$out/side_by_side.txt"
echo "logs: $out"
