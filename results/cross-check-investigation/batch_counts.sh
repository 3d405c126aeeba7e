#!/bin/bash
# Counting pass: one server on CPU 1 with quota ${QUOTA:-50000}/100000 (0.5 CPU), generators on CPU 0, perf tracepoint counts.
cd /work/scratch/crosscheck
python3 counts.py ${OUT:?} ${QUOTA:-50000} 4 2
