"""Summarise counts.py files: per variant, medians (min-max) over rounds of per-request counts,
and from the round-0 perf record: events per epoll_wait return, bytes per read."""
import json, statistics as st, sys
from collections import defaultdict, Counter
R = []
for f in sys.argv[1:]:
    R += json.load(open(f))["results"]
by = defaultdict(list)
for r in R:
    by[r["variant"]].append(r)

S = [("epoll_wait", "syscalls:sys_enter_epoll_wait"), ("epoll_wait ret 0", "syscalls:sys_exit_epoll_wait [ret == 0]"),
     ("recvfrom", "syscalls:sys_enter_recvfrom"), ("recvfrom EAGAIN", "syscalls:sys_exit_recvfrom [ret == -11]"),
     ("read", "syscalls:sys_enter_read"), ("read EAGAIN", "syscalls:sys_exit_read [ret == -11]"),
     ("writev", "syscalls:sys_enter_writev"), ("write", "syscalls:sys_enter_write"), ("sendto", "syscalls:sys_enter_sendto"),
     ("epoll_ctl", "syscalls:sys_enter_epoll_ctl"), ("futex", "syscalls:sys_enter_futex"),
     ("all syscalls", "raw_syscalls:sys_enter"), ("sched_waking", "sched:sched_waking"), ("sched_switch", "sched:sched_switch"),
     ("IPIs sent", "ipi:ipi_send_cpu"), ("wake idle w/o IPI", "sched:sched_wake_idle_without_ipi"),
     ("softirqs", "irq:softirq_entry")]


def cell(xs):
    xs = [x for x in xs if x is not None]
    if not xs:
        return "-"
    m = st.median(xs)
    if max(xs) < 0.0005:
        return "0"
    return f"{m:.3f} ({min(xs):.3f}-{max(xs):.3f})"


for who, key in (("SERVER", "srv"), ("GENERATOR", "gen")):
    vs = sorted(by)
    print(f"\n{who} events per 2xx request, median (min-max) over {len(by[vs[0]])} rounds")
    print("| event | " + " | ".join(vs) + " |")
    print("|---" * (len(vs) + 1) + "|")
    for label, k in S:
        row = [cell([r[key].get(k) for r in by[v]]) for v in vs]
        if all(c in ("0", "-") for c in row):
            continue
        print(f"| {label} | " + " | ".join(row) + " |")

vs = sorted(by)
print("\n/proc/interrupts per 2xx request (CPU0 = generator, CPU1 = server)")
print("| irq | " + " | ".join(vs) + " |")
print("|---" * (len(vs) + 1) + "|")
for k in ("CAL0", "CAL1", "RES0", "RES1", "LOC0", "LOC1"):
    print(f"| {k} | " + " | ".join(cell([r["irq"][k] for r in by[v]]) for v in vs) + " |")

print("\nRound 0, 1 s perf record in mid-load: epoll_wait return values (events per wake-up) and bytes per read/write")
print("| variant | who | epoll_wait calls | mean events/return | share returning <=2 | recv/read bytes | write bytes |")
print("|---|---|---|---|---|---|---|")
for v in vs:
    r0 = [r for r in by[v] if r["round"] == 0]
    for r in r0:
        for who in ("srv_hist", "gen_hist"):
            h = r.get(who)
            if not h:
                continue
            ep = {int(k): c for k, c in h.get("epoll_wait", {}).items()}
            n = sum(ep.values()); mean = sum(k * c for k, c in ep.items()) / n if n else 0
            le2 = sum(c for k, c in ep.items() if k <= 2) / n if n else 0
            rd = Counter(); wr = Counter()
            for sc in ("recvfrom", "read"):
                rd.update({int(k): c for k, c in h.get(sc, {}).items()})
            for sc in ("writev", "write", "sendto"):
                wr.update({int(k): c for k, c in h.get(sc, {}).items()})
            f = lambda c: ", ".join(f"{k} B x{n}" for k, n in c.most_common(3))
            print(f"| {v} | {who[:3]} | {n} | {mean:.2f} | {le2:.2f} | {f(rd)} | {f(wr)} |")
