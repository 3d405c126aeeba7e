#!/bin/bash
# Interleaved, no quota (server pinned alone on CPU 1), 2 s loads, 15 rounds.
cd /work/scratch/crosscheck
python3 measure.py ${OUT:-noquota_abdg_run1.json} -1 15 2 a_wrk b_oha d_oha_dc_empty g_wrk_empty70
