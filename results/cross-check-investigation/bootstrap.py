"""Bootstrap 95 % intervals for the median of per-round Y/X server-us/req ratios, pooled over pair.py files."""
import json, random, statistics as st, sys
from collections import defaultdict
random.seed(1)
P = defaultdict(list)
for f in sys.argv[1:]:
    for r in json.load(open(f))["results"]:
        P[r["pair"]].append((r["y"]["srv_us_per_req"] / r["x"]["srv_us_per_req"], r["y"]["rps2xx"] / r["x"]["rps2xx"]))
def ci(xs):
    ms = sorted(st.median(random.choices(xs, k=len(xs))) for _ in range(4000))
    return ms[100], ms[3899]
P["identical bytes pooled (e:b, f:c, g:d)"] = P["e_wrk_oha129:b_oha"] + P["f_wrk_oha83:c_oha_dc"] + P["g_wrk_empty70:d_oha_dc_empty"]
print("| pair X:Y | n | median Y/X srv us/req [95 % bootstrap] | median Y/X req/s [95 %] |")
print("|---|---|---|---|")
for p, xs in [(p, xs) for p, xs in P.items() if xs]:
    u = [a for a, _ in xs]; q = [b for _, b in xs]
    lo, hi = ci(u); lo2, hi2 = ci(q)
    print(f"| {p} | {len(xs)} | {st.median(u):.3f} [{lo:.3f}-{hi:.3f}] | {st.median(q):.3f} [{lo2:.3f}-{hi2:.3f}] |")
