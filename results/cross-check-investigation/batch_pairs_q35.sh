#!/bin/bash
# Concurrent pairs at a second quota: 0.35 CPU per server (both on CPU 1), generators on CPU 0.
cd /work/scratch/crosscheck
python3 pair.py ${OUT:-pairs_q35.json} 35000 10 3 a_wrk:b_oha a_wrk:d_oha_dc_empty a_wrk:e_wrk_oha129 e_wrk_oha129:b_oha a_wrk:a_wrk
