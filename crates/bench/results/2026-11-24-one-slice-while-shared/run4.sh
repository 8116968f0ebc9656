#!/bin/bash
# head against kept with one core kept busy by another process (a busy loop at nice 0)
cd /work/scratch/s33
python3 -c "while True: pass" &
HOG=$!
for n in $(seq 1 6); do
  for v in head kept; do
    pkill -f "listen 127.0.0.1:1" ; sleep 1
    ./staunch-bench noisy --durability full --quiet-wait 1 --staunch-bin /work/scratch/s33/staunch-$v --out res/hog-$v-$n.json > res/hog-$v-$n.log 2>&1
  done
done
kill $HOG
echo done > res/run4.done
