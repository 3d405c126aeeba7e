#!/bin/bash
# Call graphs of the server's samples that land on _raw_spin_unlock_irq* (irqs-off regions), wrk vs oha.
# One server, CPU 1, cgroup quota 0.25 CPU; generator on CPU 0; perf record -g on the server pid for 2 s mid-load.
cd /work/scratch/crosscheck
python3 - <<'PY'
import subprocess, time
from common import *
setup_cgroups(25000)
srv = start_server()
try:
    for v in ("a_wrk", "b_oha", "e_wrk_oha129"):
        p = subprocess.Popen(gen_cmd(v, 4), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1)
        subprocess.run(["perf", "record", "-q", "-g", "-F", "10000", "-e", "cpu-clock", "-p", str(srv.pid), "-o", f"prof/cg_{v}.data", "--", "sleep", "2"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        p.wait()
finally:
    stop_server(srv); time.sleep(0.2); teardown_cgroups()
PY
