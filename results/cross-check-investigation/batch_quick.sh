#!/bin/bash
cd /work/scratch/crosscheck
WORKERS=1 PORT=18081 BIND_ADDR=127.0.0.1 taskset -c 1 ./svc-axum >/dev/null 2>&1 & S=$!
sleep 0.3
for i in 1 2; do
a=$(awk '{print $14+$15}' /proc/$S/stat)
taskset -c 0 wrk -t1 -c64 -d3s http://127.0.0.1:18081/hello | grep -E 'Requests/sec|requests in'
b=$(awk '{print $14+$15}' /proc/$S/stat); echo "server ticks $((b-a))"
done
kill $S; wait $S
