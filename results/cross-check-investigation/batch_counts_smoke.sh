#!/bin/bash
cd /work/scratch/crosscheck
python3 counts.py counts_smoke.json 50000 1 2 a_wrk b_oha
