#!/bin/bash
# Run the authors' public code of "Automatic Recall Machines" (papers/003, github:xu-ji/ARM) on
# this machine, on the paper's online MNIST protocol (the MNIST rows of the repo's commands.txt),
# to compare with the paper's Table 6 and with engram's ARM (docs/results/ARM.md, issue 15).
#
# Runs (each method: 5 runs, the model indices of commands.txt; model index = torch seed):
#   arm     python -m code.scripts.ARM     --model_ind_start 6579 ... (commands.txt line 22)
#   distill python -m code.scripts.distill --model_ind_start 6102 ... (commands.txt line 42)
#   naive   python -m code.scripts.naive   --model_ind_start 4967 ... (commands.txt line 52)
# xu-ji/ARM commit measured: 704f69d73765f13ca5e2d8aee11f399b53c635e6 (2020-07-15; the script
# prints and records whichever commit the given git dir holds at HEAD).
#
# Patches to the authors' code: NONE. Their code selects the device with the --cuda flag
# (code/util/general.py:14 get_device); the only changes are to the command line:
#   - --cuda is left out (CPU run);
#   - --out_root and --data_path point to $RUNROOT and $DATA instead of /scratch/...;
#   - each model index is run as its own process (--model_ind_start m --num_runs 1, m = start ..
#     start+4) instead of one process with --num_runs 5, to time each run. Equivalent: main()
#     calls reproc_settings() per run (np.random.seed(0), torch.manual_seed(model_ind)) and
#     rebuilds the model, the data and the loaders; nothing else carries over between runs.
#     Checked: the exact commands.txt ARM row (--num_runs 5, one process) gave the same A_T and
#     F_T to 4 digits for all 5 models (docs/results/arm_mnist_5seeds/authors_code_here/
#     arm_numruns5_check.log).
# A_T and F_T are what the repo's own code/scripts/print_results.py prints ("average test",
# population std, numpy's .std()); the summary adds the sample std.
#
# Usage:  arm_reference.sh <xu-ji/ARM bare git dir or checkout> <output dir> [methods...]
#   e.g.  tests/bench/arm_reference.sh /work/.mirror/xu-ji+ARM/repo/.git /tmp/armref-out arm
# Methods (default: arm distill naive, in that order).
# Environment knobs: WORK checkout dir [/tmp/armref-work], DATA MNIST root [/tmp/armref-data],
#   RUNROOT the runs' --out_root (models, plots, config.pickle) [/tmp/armref-runs],
#   MNIST_SRC [<this repo>/../shared/datasets/mnist], NICE [10], THREADS [1].
# Writes: $OUT/<method>_<m>.log (stdout+stderr of each run), $OUT/<method>_<m>.time,
#   $OUT/print_results_<method>.txt, $OUT/summary.csv (method,seed,A_T,F_T,seconds),
#   $OUT/stats.csv (mean, population std, sample std), $OUT/env.txt, $OUT/stream_tails.txt.
# Nothing is written outside $WORK, $DATA, $RUNROOT and $OUT (apt-get may install missing
# Debian python packages system-wide; no pip, no download of data).
set -euo pipefail

SRC=${1:?usage: arm_reference.sh <xu-ji/ARM git dir or checkout> <output dir> [methods...]}
OUT=${2:?usage: arm_reference.sh <xu-ji/ARM git dir or checkout> <output dir> [methods...]}
mkdir -p "$OUT"; OUT=$(cd "$OUT" && pwd)
shift 2
METHODS=${*:-arm distill naive}
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=${WORK:-/tmp/armref-work}
DATA=${DATA:-/tmp/armref-data}
RUNROOT=${RUNROOT:-/tmp/armref-runs}
MNIST_SRC=${MNIST_SRC:-$(cd "$HERE/../../../shared/datasets/mnist" && pwd)}
NICE=${NICE:-10}
THREADS=${THREADS:-1}
PY=/usr/bin/python3

# ---------------------------------------------------------------- 0. python deps (Debian only)
if ! $PY -c 'import torch, torchvision, numpy, matplotlib, PIL' 2>/dev/null; then
  echo "installing missing Debian python packages" >&2
  SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      python3-torch python3-torchvision python3-numpy python3-matplotlib python3-pil
fi

# ---------------------------------------------------------------- 1. fresh checkout (read-only on SRC)
if [ -d "$SRC/objects" ]; then GITDIR=$SRC; else GITDIR=$SRC/.git; fi
COMMIT=$(git --git-dir="$GITDIR" rev-parse HEAD)
rm -rf "$WORK"; mkdir -p "$WORK"
git --git-dir="$GITDIR" archive --format=tar HEAD | tar -x -C "$WORK"
echo "xu-ji/ARM commit: $COMMIT" >&2

# ---------------------------------------------------------------- 2. MNIST where their loader expects it
# code/data/mnist.py calls torchvision.datasets.MNIST(root=--data_path, download=False), which
# reads <root>/MNIST/raw/<name> (unpacked idx files).
RAW="$DATA/MNIST/raw"
mkdir -p "$RAW"
for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
  [ -s "$RAW/$f.gz" ] || cp "$MNIST_SRC/$f.gz" "$RAW/$f.gz"
  [ -s "$RAW/$f" ] || gunzip -c "$RAW/$f.gz" > "$RAW/$f"
done
(cd "$RAW" && md5sum -c --quiet <<'EOF'
f68b3c2dcbeaaa9fbdd348bbdeb94873  train-images-idx3-ubyte.gz
d53e105ee54ea40749a09fcbcd1e9432  train-labels-idx1-ubyte.gz
9fb629c4189551a2d022fa330f9573f3  t10k-images-idx3-ubyte.gz
ec29112dd5afa0611ce80d1b7f02629c  t10k-labels-idx1-ubyte.gz
EOF
)

# ---------------------------------------------------------------- 3. environment
export OMP_NUM_THREADS=$THREADS MKL_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=$THREADS
mkdir -p "$OUT" "$RUNROOT"
{
  echo "commit=$COMMIT"; echo "date=$(date -Is)"; echo "host=$(hostname) nproc=$(nproc --all)"
  lscpu | grep -E 'Model name|^CPU\(s\)' || true
  echo "OMP_NUM_THREADS=$OMP_NUM_THREADS nice=$NICE"
  $PY -c 'import torch, torchvision, numpy, matplotlib, sys; print("python", sys.version.split()[0], "torch", torch.__version__, "torchvision", torchvision.__version__, "numpy", numpy.__version__, "matplotlib", matplotlib.__version__, "torch threads", torch.get_num_threads())'
} > "$OUT/env.txt" 2>&1
cat "$OUT/env.txt" >&2

# ---------------------------------------------------------------- 3b. the stream's single-class tails
# Each task keeps the first 500 images of each class after a shuffle (code/data/mnist.py:76-91), so
# it ends with a run of one class; counted with their own loader and seeding (no training).
nice -n "$NICE" $PY - "$WORK" "$DATA" $(for meth in $METHODS; do case $meth in arm) echo 6579;; distill) echo 6102;; naive) echo 4967;; esac; done) \
    2>/dev/null <<'EOF_TAILS' | grep "^model" > "$OUT/stream_tails.txt"
import sys, types
sys.path.insert(0, sys.argv[1])
from code.util.general import reproc_settings
from code.util.load import get_model_and_data
for start in sorted(set(int(a) for a in sys.argv[3:])):
    for m in range(start, start + 5):
        c = types.SimpleNamespace(model_ind=m, specific_torch_seed=False, data="mnist5k",
                                  task_model_type="mlp", data_path=sys.argv[2], stationary=False,
                                  num_iterations=1, classes_per_task=2, tasks_train_batch_sz=10,
                                  tasks_eval_batch_sz=10, store_model_freq=500, cuda=False)
        reproc_settings(c)  # as main(): np.random.seed(0), torch.manual_seed(model_ind)
        _, train, _, _ = get_model_and_data(c)  # model first, then the data, as main()
        y = [int(v) for v in train.dataset.targets]
        tails = []
        for k in range(5):
            blk = y[1000 * k:1000 * (k + 1)]
            n = 0
            while n < len(blk) and blk[-1 - n] == blk[-1]:
                n += 1
            tails.append("class %d x %d" % (blk[-1], n))
        print("model %d: last single-class run of each task: %s" % (m, ", ".join(tails)))
EOF_TAILS
cat "$OUT/stream_tails.txt" >&2

# ---------------------------------------------------------------- 4. the runs (commands.txt, MNIST rows)
COMMON="--lr 0.05 --task_model_type mlp --classes_per_task 2 --num_iterations 1 --max_t 500 --store_model_freq 500 --store_results_freq 100 --eval_freq 100"
declare -A START=([arm]=6579 [distill]=6102 [naive]=4967)
declare -A MODULE=([arm]=ARM [distill]=distill [naive]=naive)
declare -A ARGS=(
  [arm]="--data mnist5k $COMMON --recall_from_t 100 --M 10 --refine_sample_steps 10 --refine_sample_lr 25.0 --divergence_loss_weight 1.0 --L2 --L2_weight 1.0 --TV --TV_weight 1.0 --long_window --use_fixed_window --fixed_window 100 --sharpen_class --sharpen_class_weight 0.1 --notlocal_weight 1.0 --notlocal_new_weight 0.1 --diversity_weight 16.0 --aux_distill --aux_distill_weight 1.0"
  [distill]="--data mnist5k $COMMON --recall_from_t 100 --long_window --use_fixed_window --fixed_window 100 --aux_distill_weight 1.0"
  [naive]="--data mnist5k $COMMON"
)
cd "$WORK"
for meth in $METHODS; do
  s=${START[$meth]}
  for m in $(seq "$s" $((s + 4))); do
    rm -rf "${RUNROOT:?}/$meth/$m"
    CMD="$PY -m code.scripts.${MODULE[$meth]} --model_ind_start $m --num_runs 1 ${ARGS[$meth]} --out_root $RUNROOT/$meth --data_path $DATA"
    echo "== $meth $m: nice -n $NICE $CMD" | tee "$OUT/${meth}_$m.log" >&2
    t0=$(date +%s.%N)
    nice -n "$NICE" $CMD >> "$OUT/${meth}_$m.log" 2>&1
    t1=$(date +%s.%N)
    echo "$t0 $t1" | awk '{printf "%.1f\n", $2 - $1}' > "$OUT/${meth}_$m.time"
    echo "   $(cat "$OUT/${meth}_$m.time") s" >&2
  done
  # their own printer (test and val; A_T and F_T at t = max_t; population std)
  $PY -m code.scripts.print_results --root "$RUNROOT/$meth" --start "$s" --num_runs 5 \
      > "$OUT/print_results_$meth.txt"
  cat "$OUT/print_results_$meth.txt" >&2
done

# ---------------------------------------------------------------- 5. summary (percent)
$PY - "$OUT" "$RUNROOT" $METHODS <<'EOF'
import os, pickle, sys
import numpy as np
out, runroot, methods = sys.argv[1], sys.argv[2], sys.argv[3:]
start = {"arm": 6579, "distill": 6102, "naive": 4967}
rows, stats = [], []
for meth in methods:
    a, f = [], []
    for m in range(start[meth], start[meth] + 5):
        with open(os.path.join(runroot, meth, str(m), "config.pickle"), "rb") as fh:
            c = pickle.load(fh)
        acc, fgt = 100 * c.test_accs[c.max_t], 100 * c.test_forgetting[c.max_t]
        sec = float(open(os.path.join(out, "%s_%d.time" % (meth, m))).read())
        rows.append("%s,%d,%.2f,%.2f,%.1f" % (meth, m, acc, fgt, sec))
        a.append(acc); f.append(fgt)
    a, f = np.array(a), np.array(f)
    stats.append("%s,%.2f,%.2f,%.2f,%.2f,%.2f,%.2f" % (meth, a.mean(), a.std(), a.std(ddof=1),
                                                        f.mean(), f.std(), f.std(ddof=1)))
open(os.path.join(out, "summary.csv"), "w").write("method,seed,A_T,F_T,seconds\n" + "\n".join(rows) + "\n")
open(os.path.join(out, "stats.csv"), "w").write(
    "method,A_T_mean,A_T_std_pop,A_T_std_sample,F_T_mean,F_T_std_pop,F_T_std_sample\n" + "\n".join(stats) + "\n")
print(open(os.path.join(out, "summary.csv")).read() + open(os.path.join(out, "stats.csv")).read())
EOF
echo "results in $OUT" >&2
