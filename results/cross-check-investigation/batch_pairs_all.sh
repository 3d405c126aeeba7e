#!/bin/bash
# Concurrent pairs (see pair.py): two servers on CPU 1, quota ${QUOTA:-25000} us per 100 ms each; generators on CPU 0.
cd /work/scratch/crosscheck
python3 pair.py ${OUT:?} ${QUOTA:-25000} 6 3 a_wrk:b_oha a_wrk:g_wrk_empty70 a_wrk:e_wrk_oha129 a_wrk:h_wrk_ua129 e_wrk_oha129:b_oha f_wrk_oha83:c_oha_dc g_wrk_empty70:d_oha_dc_empty d_oha_dc_empty:b_oha a_wrk:a_wrk
