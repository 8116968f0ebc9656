#!/bin/bash
# head (BATCH_EVENTS_SHARED 64) against kept (32), alternating
cd /work/scratch/s33
for n in $(seq 1 10); do
  for v in head kept; do
    pkill -f "listen 127.0.0.1:1" ; sleep 1
    ./staunch-bench noisy --durability full --quiet-wait 15 --staunch-bin /work/scratch/s33/staunch-$v --out res/k-$v-$n.json > res/k-$v-$n.log 2>&1
  done
done
for n in 1 2; do
  for v in head kept; do
    pkill -f "listen 127.0.0.1:1" ; sleep 1
    ./staunch-bench noisy --durability full --quiet-wait 15 --flood-alerts 500000 --quiet-alerts 200 --staunch-bin /work/scratch/s33/staunch-$v --out res/klong-$v-$n.json > res/klong-$v-$n.log 2>&1
  done
done
for v in head kept; do
  pkill -f "listen 127.0.0.1:1" ; sleep 1
  ./staunch-bench ingest --durability full --seconds 10 --quiet-wait 15 --staunch-bin /work/scratch/s33/staunch-$v --out res/kingest-$v.json > res/kingest-$v.log 2>&1
done
echo done > res/run2.done
