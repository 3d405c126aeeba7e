"""Interleaved measurement: every round runs every variant once (order rotated each round).
Per load: 2xx req/s, server CPU (cgroup cpuacct, ns) per 2xx request, user/sys split,
server context switches and scheduler slices per request, TCP segment counters per request,
generator CPU per request. Usage: measure.py OUT.json QUOTA_US ROUNDS DUR_S [variants...]"""
import json, sys, time
from common import *

out_path = sys.argv[1]; quota = int(sys.argv[2]); rounds = int(sys.argv[3]); dur = float(sys.argv[4])
variants = sys.argv[5:] or list(VARIANTS)
binary = os.environ.get("SVC", "svc-axum")

setup_cgroups(quota)
srv = start_server(binary)
results = []
try:
    # warm-up: one short load of each generator, not recorded
    run_gen("a_wrk", 1); run_gen("b_oha", 1)
    for r in range(rounds):
        order = variants[r % len(variants):] + variants[:r % len(variants)]
        for v in order:
            time.sleep(0.3)
            c0 = cg_snapshot(); p0 = proc_snapshot(srv.pid); n0 = net_snapshot(); t0 = time.monotonic()
            out, err = run_gen(v, dur)
            t1 = time.monotonic(); c1 = cg_snapshot(); p1 = proc_snapshot(srv.pid); n1 = net_snapshot()
            g = parse_gen(v, out, err)
            n = g["n2xx"]
            rec = dict(round=r, variant=v, **g,
                       srv_us_per_req=(c1["usage"] - c0["usage"]) / 1e3 / n,
                       srv_user_us_per_req=(c1["user"] - c0["user"]) / 1e3 / n,
                       srv_sys_us_per_req=(c1["sys"] - c0["sys"]) / 1e3 / n,
                       gen_cg_us_per_req=(c1["gen"] - c0["gen"]) / 1e3 / n,
                       gen_window_us_per_req=(g["gen_window_cpu_us"] / n if g["gen_window_cpu_us"] else
                                              (c1["gen"] - c0["gen"]) / 1e3 / n),
                       throttled_periods=c1["nr_throttled"] - c0["nr_throttled"],
                       periods=c1["nr_periods"] - c0["nr_periods"],
                       srv_vol_cs_per_req=(p1["vol"] - p0["vol"]) / n,
                       srv_nvol_cs_per_req=(p1["nvol"] - p0["nvol"]) / n,
                       srv_slices_per_req=(p1["slices"] - p0["slices"]) / n,
                       srv_sched_us_per_req=(p1["run_ns"] - p0["run_ns"]) / 1e3 / n,
                       wall=t1 - t0,
                       # all CPUs' busy time minus server and generator: anything foreign (ms)
                       other_ms=(c1["busy_j"] - c0["busy_j"]) * 10 - (c1["usage"] - c0["usage"]) / 1e6 - (c1["gen"] - c0["gen"]) / 1e6,
                       steal_ms=(c1["steal_j"] - c0["steal_j"]) * 10,
                       net_per_req={k: (n1[k] - n0.get(k, 0)) / n for k in n1 if n1[k] != n0.get(k, 0)})
            results.append(rec)
            print(f"r{r} {v:16s} {g['rps2xx']:9.0f} req/s  srv {rec['srv_us_per_req']:.3f} us/req "
                  f"(u {rec['srv_user_us_per_req']:.2f} s {rec['srv_sys_us_per_req']:.2f})  gen {rec['gen_window_us_per_req']:.2f} us/req "
                  f"vcs/req {rec['srv_vol_cs_per_req']:.4f} thr {rec['throttled_periods']}/{rec['periods']} other {rec['other_ms']:.0f}ms steal {rec['steal_ms']:.0f}ms err {g['errors']}", flush=True)
finally:
    stop_server(srv)
    time.sleep(0.2)
    teardown_cgroups()
    json.dump(dict(quota_us=quota, rounds=rounds, dur_s=dur, binary=binary, results=results), open(out_path, "w"), indent=1)
