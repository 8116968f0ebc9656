#!/bin/bash
( while kill -0 $$ 2>/dev/null; do for t in /proc/$$/task/*; do if [ "$(cat $t/comm 2>/dev/null)" = tokio-rt-worker ]; then renice -n ${NICE_WORKERS:-5} -p ${t##*/} >/dev/null 2>&1; fi; done; sleep 0.3; done ) </dev/null >/dev/null 2>&1 &
exec ${STAUNCH_BIN:-STAUNCH} "$@"
