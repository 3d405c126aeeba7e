"""Per-request tracepoint counts of both servers in pair.py COUNT runs: per pair, medians over rounds of X and Y, and of Y-X."""
import json, statistics as st, sys
from collections import defaultdict
P = defaultdict(list)
for f in sys.argv[1:]:
    for r in json.load(open(f))["results"]:
        P[r["pair"]].append(r)
for p, rs in P.items():
    print(f"\n{p} ({len(rs)} rounds): per 2xx request, median X | median Y | median paired Y-X (min..max)")
    print("| event | X | Y | Y-X |"); print("|---|---|---|---|")
    for k in rs[0]["x"]["counts_per_req"]:
        xs = [r["x"]["counts_per_req"][k] for r in rs]; ys = [r["y"]["counts_per_req"][k] for r in rs]
        ds = [b - a for a, b in zip(xs, ys)]
        print(f"| {k} | {st.median(xs):.4f} | {st.median(ys):.4f} | {st.median(ds):+.4f} ({min(ds):+.4f}..{max(ds):+.4f}) |")
    ra = [r["y"]["srv_us_per_req"] / r["x"]["srv_us_per_req"] for r in rs]
    print(f"| server us/req ratio Y/X (under tracing) | | | {st.median(ra):.3f} ({min(ra):.3f}..{max(ra):.3f}) |")
