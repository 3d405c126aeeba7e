#!/bin/bash
cd /work/scratch/crosscheck
python3 measure.py smoke.json 50000 1 1
