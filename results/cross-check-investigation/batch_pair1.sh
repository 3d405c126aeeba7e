#!/bin/bash
# Concurrent pairs, two servers on CPU 1 each with quota 0.25 CPU, generators on CPU 0.
cd /work/scratch/crosscheck
python3 pair.py ${OUT:-pair1.json} 25000 16 3 a_wrk:b_oha g_wrk_empty70:d_oha_dc_empty a_wrk:a_wrk
