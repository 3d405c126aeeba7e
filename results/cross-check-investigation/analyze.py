"""Summarise a measure.py result file: per variant medians and min-max, and per-round ratios
against the reference variant (default a_wrk) from the same round."""
import json, statistics as st, sys

d = json.load(open(sys.argv[1]))
ref = sys.argv[2] if len(sys.argv) > 2 else "a_wrk"
R = d["results"]
variants = sorted({r["variant"] for r in R})
by = {v: [r for r in R if r["variant"] == v] for v in variants}
rounds = sorted({r["round"] for r in R})
print(f"# {sys.argv[1]}: quota {d['quota_us']} us/100ms, {d['rounds']} rounds x {d['dur_s']} s, {d.get('binary')}")

def med(xs): return st.median(xs)
def mm(xs): return f"{min(xs):.2f}-{max(xs):.2f}"

print("| variant | req B | 2xx req/s median (min-max) | server us/req median (min-max) | user | sys | gen us/req | srv vol cs/req | srv slices/req | TCP segs in/req | pure ACKs/req | delayed ACKs/req | throttled/periods |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
from common import VARIANTS
for v in variants:
    xs = by[v]
    rps = [x["rps2xx"] for x in xs]; us = [x["srv_us_per_req"] for x in xs]
    g = lambda k: med([x[k] for x in xs])
    n = lambda k: med([x["net_per_req"].get(k, 0) for x in xs])
    print(f"| {v} | {VARIANTS[v][2]} | {med(rps):,.0f} ({min(rps):,.0f}-{max(rps):,.0f}) | {med(us):.2f} ({mm(us)}) | "
          f"{g('srv_user_us_per_req'):.2f} | {g('srv_sys_us_per_req'):.2f} | {g('gen_window_us_per_req'):.2f} | "
          f"{g('srv_vol_cs_per_req'):.4f} | {g('srv_slices_per_req'):.4f} | {n('Tcp.InSegs'):.3f} | {n('TcpExt.TCPPureAcks'):.3f} | {n('TcpExt.DelayedACKs'):.4f} | "
          f"{med([x['throttled_periods'] for x in xs]):.0f}/{med([x['periods'] for x in xs]):.0f} |")

print(f"\nPer-round ratios against {ref} of the same round (median, min-max over rounds):")
print("| variant | req/s ratio | server us/req ratio | per-round server us/req ratios |")
print("|---|---|---|---|")
for v in variants:
    rr = []; cr = []
    for k in rounds:
        a = [x for x in by[ref] if x["round"] == k]; b = [x for x in by[v] if x["round"] == k]
        if a and b:
            rr.append(b[0]["rps2xx"] / a[0]["rps2xx"]); cr.append(b[0]["srv_us_per_req"] / a[0]["srv_us_per_req"])
    if rr:
        print(f"| {v} | {med(rr):.3f} ({min(rr):.3f}-{max(rr):.3f}) | {med(cr):.3f} ({min(cr):.3f}-{max(cr):.3f}) | {' '.join(f'{c:.3f}' for c in cr)} |")
