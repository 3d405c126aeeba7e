#!/bin/bash
# Exploratory: which syscalls does the server make (strace -c), one short wrk and one short oha load.
cd /work/scratch/crosscheck
WORKERS=1 PORT=18081 BIND_ADDR=127.0.0.1 taskset -c 1 ./svc-axum >/dev/null 2>&1 & S=$!
sleep 0.5
for g in wrk oha; do
  strace -c -f -p $S -o strace_explore_$g.txt & T=$!; sleep 0.5
  if [ $g = wrk ]; then taskset -c 0 wrk -t1 -c64 -d2s http://127.0.0.1:18081/hello > /dev/null
  else ./bench-runner oha --cpus 0 -- oha --no-tui --output-format json -w -z 2000ms -c 64 --worker-threads 1 http://127.0.0.1:18081/hello > oha_explore.json 2>oha_explore.err; fi
  sleep 0.3; kill -INT $T; wait $T
  echo "== $g"; cat strace_explore_$g.txt
done
kill $S; wait $S 2>/dev/null
tail -2 oha_explore.err
