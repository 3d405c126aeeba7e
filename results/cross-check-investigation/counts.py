"""Counting pass (separate from the timing pass, since tracing costs CPU): interleaved rounds,
each load runs with `perf stat` tracepoint counters on the server (-p) and on the generator
(perf stat -- generator), plus /proc/interrupts deltas. In round 0 it also records, for 1 s in
the middle of each load, every epoll_wait / recvfrom / read return value of server and
generator (perf record), to get events per wake-up and bytes per read.
Usage: counts.py OUT.json QUOTA_US ROUNDS DUR_S [variants...]"""
import collections, json, re, signal, subprocess, sys, threading, time
from common import *

out_path = sys.argv[1]; quota = int(sys.argv[2]); rounds = int(sys.argv[3]); dur = float(sys.argv[4])
variants = sys.argv[5:] or list(VARIANTS)

EV = [("syscalls:sys_enter_epoll_wait", None), ("syscalls:sys_exit_epoll_wait", "ret == 0"),
      ("syscalls:sys_enter_recvfrom", None), ("syscalls:sys_exit_recvfrom", "ret > 0"), ("syscalls:sys_exit_recvfrom", "ret == -11"),
      ("syscalls:sys_enter_read", None), ("syscalls:sys_exit_read", "ret > 0"), ("syscalls:sys_exit_read", "ret == -11"),
      ("syscalls:sys_enter_writev", None), ("syscalls:sys_enter_sendto", None), ("syscalls:sys_enter_write", None),
      ("syscalls:sys_enter_sendmsg", None), ("syscalls:sys_enter_recvmsg", None),
      ("syscalls:sys_enter_futex", None), ("syscalls:sys_enter_epoll_ctl", None), ("syscalls:sys_enter_sched_yield", None),
      ("raw_syscalls:sys_enter", None),
      ("sched:sched_waking", None), ("sched:sched_switch", None), ("sched:sched_wake_idle_without_ipi", None),
      ("ipi:ipi_send_cpu", None), ("irq_vectors:call_function_single_entry", None), ("irq_vectors:reschedule_entry", None),
      ("irq:softirq_entry", None)]


def ev_args():
    a = []
    for e, f in EV:
        a += ["-e", e]
        if f:
            a += ["--filter", f]
    return a


def ev_names():
    return [e + (f" [{f}]" if f else "") for e, f in EV]


def parse_perf_stat(path):
    vals = []
    for line in open(path):
        if not line.strip() or line.startswith("#"):
            continue
        p = line.split(",")
        try:
            vals.append(int(p[0]))
        except ValueError:
            vals.append(None)
    return dict(zip(ev_names(), vals))


def interrupts():
    d = {}
    for line in open("/proc/interrupts"):
        p = line.split()
        if p and p[0] in ("RES:", "CAL:", "LOC:", "TLB:"):
            d[p[0][:-1] + "0"] = int(p[1]); d[p[0][:-1] + "1"] = int(p[2])
    return d


def record(pid_or_cmd, path, secs):
    return subprocess.Popen(["perf", "record", "-q", "-o", path, "-e", "syscalls:sys_exit_epoll_wait",
                             "-e", "syscalls:sys_exit_recvfrom", "-e", "syscalls:sys_exit_read",
                             "-e", "syscalls:sys_exit_writev", "-e", "syscalls:sys_exit_write", "-e", "syscalls:sys_exit_sendto",
                             "-p", str(pid_or_cmd), "--", "sleep", str(secs)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def hist_from_record(path):
    out = subprocess.run(["perf", "script", "-i", path, "-F", "comm,event,trace"], capture_output=True, text=True).stdout
    h = collections.defaultdict(collections.Counter)
    for line in out.splitlines():
        m = re.search(r"(syscalls:sys_exit_\w+):.*?0x([0-9a-f]+)\s*$", line)
        if m:
            v = int(m.group(2), 16)
            if v >= 1 << 63:
                v -= 1 << 64
            h[m.group(1).split("sys_exit_")[1]][v] += 1
    return {k: dict(v) for k, v in h.items()}


def gen_pid_after_start(variant):
    # the generator process that does the load: wrk, or bench-runner's oha child
    name = "wrk" if VARIANTS[variant][0] == "wrk" else "bench-runner"
    for _ in range(50):
        r = subprocess.run(["pgrep", "-n", "-x", name], capture_output=True, text=True)
        if r.stdout.strip():
            return int(r.stdout.split()[0])
        time.sleep(0.02)
    return None


setup_cgroups(quota)
srv = start_server()
results = []
try:
    run_gen("a_wrk", 1); run_gen("b_oha", 1)
    for r in range(rounds):
        order = variants[r % len(variants):] + variants[:r % len(variants)]
        for v in order:
            time.sleep(0.3)
            sfile = f"/tmp/cc_srv_{v}.csv"; gfile = f"/tmp/cc_gen_{v}.csv"
            ps = subprocess.Popen(["perf", "stat", "-x,", "-o", sfile] + ev_args() + ["-p", str(srv.pid)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(0.5)
            i0 = interrupts()
            recs = []
            if r == 0:
                def later():
                    gp = gen_pid_after_start(v)
                    time.sleep(dur / 2 - 0.5 if dur > 1.5 else 0.2)
                    recs.append(record(srv.pid, f"/tmp/cc_rec_srv_{v}.data", 1))
                    if gp:
                        recs.append(record(gp, f"/tmp/cc_rec_gen_{v}.data", 1))
                th = threading.Thread(target=later); th.start()
            out, err = run_gen(v, dur, wrap=["perf", "stat", "-x,", "-o", gfile] + ev_args() + ["--"])
            i1 = interrupts()
            if r == 0:
                th.join()
                for p in recs:
                    p.wait()
            ps.send_signal(signal.SIGINT); ps.wait()
            g = parse_gen(v, out, err); n = g["n2xx"]
            sc = parse_perf_stat(sfile); gc = parse_perf_stat(gfile)
            rec = dict(round=r, variant=v, **g,
                       srv={k: (x / n if x is not None else None) for k, x in sc.items()},
                       gen={k: (x / n if x is not None else None) for k, x in gc.items()},
                       irq={k: (i1[k] - i0[k]) / n for k in i1})
            if r == 0:
                rec["srv_hist"] = hist_from_record(f"/tmp/cc_rec_srv_{v}.data")
                if os.path.exists(f"/tmp/cc_rec_gen_{v}.data"):
                    rec["gen_hist"] = hist_from_record(f"/tmp/cc_rec_gen_{v}.data")
            for f in (sfile, gfile, f"/tmp/cc_rec_srv_{v}.data", f"/tmp/cc_rec_gen_{v}.data"):
                if os.path.exists(f):
                    os.remove(f)
            results.append(rec)
            s = rec["srv"]
            print(f"r{r} {v:16s} {g['rps2xx']:9.0f} req/s  srv/req: epoll {s['syscalls:sys_enter_epoll_wait']:.3f} "
                  f"recv {s['syscalls:sys_enter_recvfrom']:.3f} (EAGAIN {s['syscalls:sys_exit_recvfrom [ret == -11]']:.3f}) "
                  f"writev {s['syscalls:sys_enter_writev']:.3f} all {s['raw_syscalls:sys_enter']:.3f} waking {s['sched:sched_waking']:.3f} "
                  f"switch {s['sched:sched_switch']:.3f} ipi {s['ipi:ipi_send_cpu']:.3f} | gen all {rec['gen']['raw_syscalls:sys_enter']:.3f} "
                  f"CAL0 {rec['irq']['CAL0']:.3f} CAL1 {rec['irq']['CAL1']:.3f}", flush=True)
finally:
    stop_server(srv)
    time.sleep(0.2)
    teardown_cgroups()
    json.dump(dict(quota_us=quota, rounds=rounds, dur_s=dur, results=results), open(out_path, "w"), indent=1)
