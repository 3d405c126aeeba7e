#!/bin/bash
# Concurrent pairs with a CPU-1 cpu-clock profile of every load (PROFILE dir), quota 0.25 CPU per server.
cd /work/scratch/crosscheck
PROFILE=/work/scratch/crosscheck/prof python3 pair.py prof_pairs.json 25000 10 3 a_wrk:b_oha e_wrk_oha129:b_oha a_wrk:e_wrk_oha129
