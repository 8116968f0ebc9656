#!/bin/bash
OUT=./threads-$(date +%s%N).txt
BENCH=$PPID
( while kill -0 $$ 2>/dev/null; do T=$(date +%s.%N); for p in $$ $BENCH; do for t in /proc/$p/task/*; do echo "$T $p $(cat $t/comm | tr ' ' _) ${t##*/} $(cut -d' ' -f14,15 $t/stat)"; done; done; sleep 0.1; done ) </dev/null >>$OUT 2>/dev/null &
exec ${STAUNCH_BIN:-STAUNCH} "$@"
