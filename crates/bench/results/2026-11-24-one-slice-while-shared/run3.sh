#!/bin/bash
# durable PostgreSQL ingest beside SQLite full, kept build
cd /work/main
eval "$(STAUNCH_TEST_POSTGRES_DURABLE=1 scripts/postgres-for-tests)"
cd /work/scratch/s33
pkill -f "listen 127.0.0.1:1" ; sleep 1
./staunch-bench ingest --durability full,postgres --postgres-url "$STAUNCH_TEST_POSTGRES_URL" --seconds 10 --quiet-wait 15 --staunch-bin /work/scratch/s33/staunch-kept --out res/pingest-kept.json > res/pingest-kept.log 2>&1
"$STAUNCH_TEST_POSTGRES_DIR/stop"
echo done > res/run3.done
