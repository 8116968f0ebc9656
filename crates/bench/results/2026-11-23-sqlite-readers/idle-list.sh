#!/usr/bin/env bash
# idle-list.sh BIN LABEL: serves a copy of a listing database (DB_DIR: staunch.db, staunch.yaml and
# staunch.token, saved from a run of `staunch-bench list`) with BIN, waits until idle,
# then times 200 listings of 1,000 firing alerts of one service by curl, with the server's CPU.
set -e
BIN=$1; LABEL=$2
D=$(mktemp -d /tmp/idle-list-XXXX)
cp $DB_DIR/staunch.yaml $DB_DIR/staunch.token $DB_DIR/staunch.db $D/
cd $D
$BIN serve --config $D/staunch.yaml --db $D/staunch.db --listen 127.0.0.1:18080 > $D/serve.log 2>&1 &
PID=$!
sleep 3
# wait until the server uses < 5 ticks per 2 s
for i in $(seq 1 120); do
  a=$(awk '{print $14+$15}' /proc/$PID/stat); sleep 2; b=$(awk '{print $14+$15}' /proc/$PID/stat)
  [ $((b-a)) -lt 5 ] && break
done
TOKEN=$(cat $D/staunch.token)
for w in $(seq 1 20); do curl -s -o /dev/null -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:18080/api/v1/alerts?service=svc-00$((w%10))&firing=true&limit=1000"; done
start=$(awk '{print $14+$15}' /proc/$PID/stat)
: > $D/times
for q in $(seq 0 199); do
  s=$(printf "svc-%03d" $(( (q*37) % 100 )))
  curl -s -o $D/body -w "%{time_total}\n" -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:18080/api/v1/alerts?service=$s&firing=true&limit=1000" >> $D/times
done
end=$(awk '{print $14+$15}' /proc/$PID/stat)
rows=$(python3 -c "import json;print(len(json.load(open('$D/body'))['alerts']))")
kill $PID; wait $PID 2>/dev/null || true
python3 - "$LABEL" $start $end $rows $D/times <<'PY'
import sys,statistics
label,start,end,rows,path=sys.argv[1],int(sys.argv[2]),int(sys.argv[3]),sys.argv[4],sys.argv[5]
t=sorted(float(x)*1000 for x in open(path))
n=len(t)
print(f"{label}: {n} listings of {rows} alerts, p50 {t[n//2]:.1f} ms, p99 {t[int(n*0.99)-1]:.1f} ms, max {t[-1]:.1f} ms, server CPU {(end-start)*10/n:.1f} ms per listing")
PY
rm -rf $D
