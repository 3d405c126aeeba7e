"""Concurrent paired design, to cancel this VM's load-to-load drift (sd ~12 % per load):
two identical servers (ports 18081, 18082), each in its own cgroup (cpu quota Q, cpuacct),
both pinned to CPU 1; two generators, both pinned to CPU 0, run AT THE SAME TIME, variant X
against server A and variant Y against server B; next round the servers are swapped.
Server CPU per 2xx request of each server is read from its own cgroup over the same window.
Usage: pair.py OUT.json QUOTA_US ROUNDS DUR_S X:Y [X:Y ...]"""
import json, os, signal, subprocess, sys, time
import common
from common import VARIANTS, parse_gen, wcg, rcg

out_path = sys.argv[1]; quota = int(sys.argv[2]); rounds = int(sys.argv[3]); dur = float(sys.argv[4])
pairs = [tuple(p.split(":")) for p in sys.argv[5:]]
PROFILE = os.environ.get("PROFILE")
COUNT = os.environ.get("COUNT")  # a directory: perf stat tracepoint counts on both servers for every load
CEV = ["syscalls:sys_enter_epoll_wait", "syscalls:sys_enter_recvfrom", "syscalls:sys_enter_writev", "raw_syscalls:sys_enter",
       "sched:sched_waking", "sched:sched_switch", "ipi:ipi_send_cpu"]  # a directory: record a CPU-1 profile of every load into it
PORTS = {"A": 18081, "B": 18082}
CG = {s: (f"/sys/fs/cgroup/cpu/crosscheck_{s}", f"/sys/fs/cgroup/cpuacct/crosscheck_{s}") for s in PORTS}
CG_GEN = {s: f"/sys/fs/cgroup/cpuacct/crosscheck_gen{s}" for s in PORTS}


def setup():
    for s in PORTS:
        for p in CG[s] + (CG_GEN[s],):
            os.makedirs(p, exist_ok=True)
        wcg(CG[s][0], "cpu.cfs_period_us", 100000); wcg(CG[s][0], "cpu.cfs_quota_us", quota)


def teardown():
    for s in PORTS:
        for p in CG[s] + (CG_GEN[s],):
            try:
                os.rmdir(p)
            except OSError as e:
                print("could not remove", p, e)


def start(s):
    env = dict(os.environ, WORKERS="1", PORT=str(PORTS[s]), BIND_ADDR="127.0.0.1")
    pre = f"echo $$ > {CG[s][0]}/cgroup.procs; echo $$ > {CG[s][1]}/cgroup.procs; exec taskset -c 1 {common.HERE}/svc-axum"
    p = subprocess.Popen(["sh", "-c", pre], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{PORTS[s]}/hello"
    for _ in range(100):
        time.sleep(0.05)
        r = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", url], capture_output=True, text=True)
        if r.stdout == "200":
            return p
    raise RuntimeError("server did not answer")


def gen_popen(variant, s):
    common.URL = f"http://127.0.0.1:{PORTS[s]}/hello"
    cmd = common.gen_cmd(variant, dur)
    common.URL = f"http://127.0.0.1:{common.PORT}/hello"
    pre = ["sh", "-c", f'echo $$ > {CG_GEN[s]}/cgroup.procs; exec "$@"', "sh"]
    return subprocess.Popen(pre + cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def usage(s):
    return int(rcg(CG[s][1], "cpuacct.usage")), int(rcg(CG_GEN[s], "cpuacct.usage"))


setup()
srv = {s: start(s) for s in PORTS}
results = []
try:
    pa = gen_popen("a_wrk", "A"); pb = gen_popen("b_oha", "B"); pa.communicate(); pb.communicate()  # warm-up
    for r in range(rounds):
        for (x, y) in pairs:
            assign = {"A": x, "B": y} if r % 2 == 0 else {"A": y, "B": x}
            time.sleep(0.3)
            if COUNT:
                cps = {s: subprocess.Popen(["perf", "stat", "-x,", "-o", f"{COUNT}/tmp_{s}.csv"] + sum((["-e", e] for e in CEV), [])
                                           + ["-p", str(srv[s].pid)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for s in PORTS}
                time.sleep(0.5)
            u0 = {s: usage(s) for s in PORTS}
            procs = {s: gen_popen(assign[s], s) for s in PORTS}
            if PROFILE:
                # sample CPU 1 (both servers) in the middle of the loads; kernel + user
                pfile = f"{PROFILE}/r{r}_{x}_{y}.data"
                time.sleep(0.5)
                subprocess.run(["perf", "record", "-q", "-F", "10000", "-e", "cpu-clock", "-C", "1", "-o", pfile,
                                "--", "sleep", str(dur - 1)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            outs = {s: procs[s].communicate() for s in PORTS}
            u1 = {s: usage(s) for s in PORTS}
            counts = {}
            if COUNT:
                for s in PORTS:
                    cps[s].send_signal(signal.SIGINT); cps[s].wait()
                    vals = [int(l.split(",")[0]) for l in open(f"{COUNT}/tmp_{s}.csv") if l.strip() and not l.startswith("#")]
                    counts[s] = dict(zip(CEV, vals)); os.remove(f"{COUNT}/tmp_{s}.csv")
            rec = dict(round=r, pair=f"{x}:{y}", pids={s: srv[s].pid for s in PORTS}, assign=assign,
                       profile=(pfile if PROFILE else None))
            slot = {"A": "x", "B": "y"} if r % 2 == 0 else {"A": "y", "B": "x"}
            for s in PORTS:
                v = assign[s]; g = parse_gen(v, *outs[s]); n = g["n2xx"]
                rec[slot[s]] = dict(variant=v, server=s, **g, srv_us_per_req=(u1[s][0] - u0[s][0]) / 1e3 / n,
                                    gen_cg_us_per_req=(u1[s][1] - u0[s][1]) / 1e3 / n,
                                    counts_per_req={k: c / n for k, c in counts.get(s, {}).items()})
            results.append(rec)
            px, py = rec["x"], rec["y"]
            print(f"r{r} {x}@{px['server']} {px['rps2xx']:7.0f}/s {px['srv_us_per_req']:6.2f}us | {y}@{py['server']} {py['rps2xx']:7.0f}/s "
                  f"{py['srv_us_per_req']:6.2f}us | ratio Y/X us {py['srv_us_per_req']/px['srv_us_per_req']:.3f} rps {py['rps2xx']/px['rps2xx']:.3f}", flush=True)
finally:
    for p in srv.values():
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            p.kill(); p.wait()
    time.sleep(0.2)
    teardown()
    json.dump(dict(quota_us=quota, rounds=rounds, dur_s=dur, results=results), open(out_path, "w"), indent=1)
