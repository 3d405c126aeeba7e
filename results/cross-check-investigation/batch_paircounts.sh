#!/bin/bash
# Concurrent pairs (quota 0.25 CPU per server) with perf stat tracepoint counts on both servers.
cd /work/scratch/crosscheck
COUNT=/work/scratch/crosscheck/cnt python3 pair.py paircounts.json 25000 8 3 a_wrk:b_oha e_wrk_oha129:b_oha a_wrk:e_wrk_oha129 a_wrk:a_wrk
