#!/bin/bash
# Interleaved, quota 0.5 CPU, 2 s loads, 15 rounds, the four variants that matter most.
cd /work/scratch/crosscheck
python3 measure.py ${OUT:-quota_abdg_run1.json} 50000 15 2 a_wrk b_oha d_oha_dc_empty g_wrk_empty70
