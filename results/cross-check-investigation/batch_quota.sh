#!/bin/bash
# Main interleaved batch, server in a cgroup v1 with cfs quota 50 ms / 100 ms (= --cpus 0.5), pinned to CPU 1.
cd /work/scratch/crosscheck
python3 measure.py ${OUT:-quota_run1.json} 50000 6 3
