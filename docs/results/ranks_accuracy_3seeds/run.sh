#!/usr/bin/env bash
# Split MNIST recollections, 1000 iterations and 200 sleep steps per task, seeds 1-3, 1 and 2 ranks.
set -u
E=${ENGRAM:-engram}  # the engram binary (a copy: others may rebuild theirs)
SRC=${SRC:-.}  # the source directory
OUT=${OUT:-ranks_accuracy_out}
mkdir -p $OUT
cd $SRC
for seed in 1 2 3; do
  common=(--quiet run scripts/split_mnist.lua --set methods=recollections --set iterations=1000
          --set sleep_steps=200 --set record_every=0 --set grid=0 --set threads=1 --set seeds=$seed)
  s=$(date +%s)
  nice -n 10 $E "${common[@]}" --set out=$OUT/one_s$seed > $OUT/one_s$seed.log 2>&1
  echo "seed $seed one rank rc=$? $(( $(date +%s) - s )) s" >> $OUT/progress
  s=$(date +%s)
  port=$((29600 + seed))
  nice -n 10 $E "${common[@]}" --set out=$OUT/two_s$seed --world-size 2 --rank 1 --master 127.0.0.1:$port --rank-timeout 300 > $OUT/two_s${seed}_r1.log 2>&1 &
  r1=$!
  nice -n 10 $E "${common[@]}" --set out=$OUT/two_s$seed --world-size 2 --rank 0 --master 127.0.0.1:$port --rank-timeout 300 > $OUT/two_s${seed}_r0.log 2>&1
  rc0=$?
  wait $r1; rc1=$?
  echo "seed $seed two ranks rc=$rc0/$rc1 $(( $(date +%s) - s )) s" >> $OUT/progress
done
echo done >> $OUT/progress
