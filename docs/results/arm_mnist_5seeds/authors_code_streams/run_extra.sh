#!/bin/bash
# EXTRA seeds (beyond the brief): model indices start+5 .. start+9, also on the unpatched code (original stream)
# Runs the authors' MNIST Distill and ARM rows (commands.txt lines 42 and 22; as
# tests/bench/arm_reference.sh section 4, --cuda dropped, one process per model index) on the
# patched copies /tmp/armref_engramstream and /tmp/armref_balanced.
set -euo pipefail
OUT=/work/exp/arm_stream_diag; DATA=/tmp/armref-data; PY=/usr/bin/python3
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
COMMON="--lr 0.05 --task_model_type mlp --classes_per_task 2 --num_iterations 1 --max_t 500 --store_model_freq 500 --store_results_freq 100 --eval_freq 100"
declare -A START=([arm]=6579 [distill]=6102)
declare -A MODULE=([arm]=ARM [distill]=distill)
declare -A ARGS=(
  [arm]="--data mnist5k $COMMON --recall_from_t 100 --M 10 --refine_sample_steps 10 --refine_sample_lr 25.0 --divergence_loss_weight 1.0 --L2 --L2_weight 1.0 --TV --TV_weight 1.0 --long_window --use_fixed_window --fixed_window 100 --sharpen_class --sharpen_class_weight 0.1 --notlocal_weight 1.0 --notlocal_new_weight 0.1 --diversity_weight 16.0 --aux_distill --aux_distill_weight 1.0"
  [distill]="--data mnist5k $COMMON --recall_from_t 100 --long_window --use_fixed_window --fixed_window 100 --aux_distill_weight 1.0"
)
for meth in distill arm; do
  for var in original engramstream balanced; do
    RUNROOT=/tmp/armdiag-runs/$var; s=$(( ${START[$meth]} + 5 ))
    if [ $var = original ]; then cd /tmp/armref; else cd /tmp/armref_$var; fi
    for m in $(seq "$s" $((s + 4))); do
      rm -rf "$RUNROOT/$meth/$m"; mkdir -p "$RUNROOT/$meth"
      CMD="$PY -m code.scripts.${MODULE[$meth]} --model_ind_start $m --num_runs 1 ${ARGS[$meth]} --out_root $RUNROOT/$meth --data_path $DATA"
      echo "== $var $meth $m: nice -n 10 $CMD" > "$OUT/extra_${var}_${meth}_$m.log"
      t0=$(date +%s)
      nice -n 10 $CMD >> "$OUT/extra_${var}_${meth}_$m.log" 2>&1
      echo "$(( $(date +%s) - t0 ))" > "$OUT/extra_${var}_${meth}_$m.time"
      echo "$(date +%T) $var $meth $m $(cat "$OUT/extra_${var}_${meth}_$m.time") s"
    done
    $PY -m code.scripts.print_results --root "$RUNROOT/$meth" --start "$s" --num_runs 5 > "$OUT/print_results_extra_${var}_${meth}.txt" 2>&1
  done
done
echo done
