"""Summarise pair.py files (pooled): per pair, median and min-max over rounds of the Y/X ratios
of server CPU per 2xx request and of 2xx req/s, plus medians of the absolute values."""
import json, statistics as st, sys
from collections import defaultdict
P = defaultdict(list); meta = []
for f in sys.argv[1:]:
    d = json.load(open(f)); meta.append(f"{f}: quota {d['quota_us']}, {d['rounds']} rounds x {d['dur_s']} s")
    for r in d["results"]:
        P[r["pair"]].append(r)
print("\n".join(meta))
print("| pair X:Y | rounds | X req/s | Y req/s | X srv us/req | Y srv us/req | Y/X srv us/req median (min-max) | IQR | Y/X req/s median (min-max) | X gen us/req | Y gen us/req |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for p, rs in P.items():
    cu = sorted(r["y"]["srv_us_per_req"] / r["x"]["srv_us_per_req"] for r in rs)
    cr = [r["y"]["rps2xx"] / r["x"]["rps2xx"] for r in rs]
    q = st.quantiles(cu, n=4) if len(cu) > 3 else [cu[0], 0, cu[-1]]
    m = lambda s, k: st.median(r[s][k] for r in rs)
    gx = st.median((r["x"]["gen_window_cpu_us"] or 0) / r["x"]["n2xx"] if r["x"]["gen_window_cpu_us"] else r["x"]["gen_cg_us_per_req"] for r in rs)
    gy = st.median((r["y"]["gen_window_cpu_us"] or 0) / r["y"]["n2xx"] if r["y"]["gen_window_cpu_us"] else r["y"]["gen_cg_us_per_req"] for r in rs)
    print(f"| {p} | {len(rs)} | {m('x','rps2xx'):,.0f} | {m('y','rps2xx'):,.0f} | {m('x','srv_us_per_req'):.2f} | {m('y','srv_us_per_req'):.2f} | "
          f"{st.median(cu):.3f} ({min(cu):.3f}-{max(cu):.3f}) | {q[0]:.3f}-{q[2]:.3f} | {st.median(cr):.3f} ({min(cr):.3f}-{max(cr):.3f}) | {gx:.2f} | {gy:.2f} |")
