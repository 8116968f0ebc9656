#!/bin/bash
# 12 rounds: the benchmark with A's transactions at 64 and 32 events while shared; then 2 sustained each
cd /work/scratch/s33
B=/work/scratch/s33/staunch-scratch
for n in $(seq 1 12); do
  for size in 64 32; do
    pkill -f "listen 127.0.0.1:1" ; sleep 1
    SCRATCH_BATCH_SHARED=$size ./staunch-bench noisy --durability full --quiet-wait 15 --staunch-bin $B --out res/n-$size-$n.json > res/n-$size-$n.log 2>&1
  done
done
for n in 1 2; do
  for size in 64 32; do
    pkill -f "listen 127.0.0.1:1" ; sleep 1
    SCRATCH_BATCH_SHARED=$size ./staunch-bench noisy --durability full --quiet-wait 15 --flood-alerts 500000 --quiet-alerts 200 --staunch-bin $B --out res/long-$size-$n.json > res/long-$size-$n.log 2>&1
  done
done
echo done > res/run1.done
