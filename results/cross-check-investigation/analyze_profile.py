"""CPU-1 cpu-clock profiles from pair.py (PROFILE): per variant, where each server's samples
fall (user space vs kernel symbols, grouped), converted into us per 2xx request with the
measured server CPU per request of that load. Usage: analyze_profile.py prof_pairs.json"""
import json, re, statistics as st, subprocess, sys
from collections import Counter, defaultdict

d = json.load(open(sys.argv[1]))

GROUPS = [  # first match wins, by kernel symbol name
    ("irqs-off regions (samples land on _raw_spin_unlock_irq*)", r"^_raw_spin_unlock_irq"),
    ("netfilter/conntrack", r"^nf_|^__nf_|nf_conntrack|ipv4_conntrack|nf_nat|iptable"),
    ("sched/wakeup", r"schedule|try_to_wake_up|ttwu|enqueue|dequeue|pick_next|finish_task_switch|switch_mm|__switch_to|update_curr|update_load|select_task_rq|wake_up|autoremove_wake|ep_poll_callback|sock_def_readable|set_next_entity|put_prev|psi_|cpuacct|account_|hrtick|sched_"),
    ("ipi/apic", r"ipi|apic|smp_call|call_function|send_call_func|x2apic|flush_smp"),
    ("epoll", r"ep_|epoll|do_epoll"),
    ("syscall entry/exit", r"entry_SYSCALL|syscall_exit|do_syscall|syscall_return|exit_to_user|__x64_sys|fpregs|restore_fpregs|switch_fpu|srso|retbleed|__pfx|untrain_ret|clear_bhb|rseq"),
    ("copy user", r"copy_user|copy_to_user|copy_from_user|_copy_to_iter|_copy_from_iter|rep_movs|memcpy|memmove|memset|simple_copy_to_iter|skb_copy_datagram|copyout|copyin|__check_object_size|check_heap_object"),
    ("tcp/ip stack (tx + loopback rx, skb alloc/free)", r"tcp_sendmsg|tcp_push|tcp_write_xmit|__tcp_transmit_skb|tcp_transmit|ip_queue_xmit|ip_finish_output|ip_output|__ip_local_out|ip_local_out|dev_queue_xmit|__dev_queue_xmit|loopback_xmit|dev_hard_start|tcp_skb_entail|tcp_stream_alloc_skb|sk_stream_alloc|__alloc_skb|kmalloc|kmem_cache_alloc|skb_page_frag|tcp_rate_skb_sent|tcp_event_new_data_sent|tcp_options_write|tcp_established_options|tcp_wfree|sock_wfree|skb_release|kfree|kmem_cache_free|__kfree_skb|consume_skb|skb_attempt_defer|tcp_current_mss|tcp_send_mss|ipv4_mtu|neigh|dst_|tcp_v4_send_check|__tcp_v4_send_check|csum|ip_rcv|__netif_receive|netif_rx|process_backlog|net_rx_action|__napi_poll|ipv4_get_l4proto|ip_local_deliver|ip_protocol_deliver|tcp_v4_rcv|tcp_rcv|tcp_ack|tcp_data_queue|tcp_queue_rcv|tcp_event_data_recv|tcp_clean_rtx|tcp_check_space|tcp_v4_do_rcv|inet_ehashfn|__inet_lookup|tcp_filter|sk_filter|security_sock|nf_hook|skb_|tcp_|inet_|sock_|sk_|__sk|lock_sock|release_sock|__release_sock|raw_local_deliver|__netif|netif_|__dev|dev_|napi|do_softirq|__do_softirq|handle_softirqs|irq_exit|__local_bh_enable|local_bh|_raw_spin|ip_|__ip|__tcp|__inet|__skb|validate_xmit|eth_|netdev"),
]


def group_of(sym, dso):
    if "kernel" not in dso:
        return "user space (svc-axum)" if "svc-axum" in dso else "other user"
    for name, rx in GROUPS:
        if re.search(rx, sym):
            return "kernel " + name
    return "kernel other"


samples = defaultdict(Counter)   # variant -> group -> samples
paired = defaultdict(lambda: defaultdict(list))  # pair -> group -> [y_us - x_us per round]
syms = defaultdict(Counter)      # variant -> kernel symbol -> samples
us = defaultdict(list)           # variant -> (samples, srv_us_per_req)
for r in d["results"]:
    if not r.get("profile"):
        continue
    pid2v = {r["pids"][s]: r["assign"][s] for s in r["pids"]}
    out = subprocess.run(["perf", "script", "-i", r["profile"], "-F", "pid,ip,sym,dso"], capture_output=True, text=True).stdout
    per = defaultdict(Counter)
    for line in out.splitlines():
        m = re.match(r"\s*(\d+)\s+[0-9a-f]+\s+(\S+)?\s*\((.*)\)\s*$", line)
        if not m:
            continue
        pid = int(m.group(1))
        if pid not in pid2v:
            continue
        sym = m.group(2) or "[unknown]"; dso = m.group(3)
        g = group_of(sym, dso)
        per[pid2v[pid]][g] += 1
        if "kernel" in dso:
            syms[pid2v[pid]][sym] += 1
    gus = {}
    for side in ("x", "y"):
        v = r[side]["variant"]; c = per[v]; T = sum(c.values())
        gus[side] = {g: c[g] / T * r[side]["srv_us_per_req"] for g in c}
    for g in set(gus["x"]) | set(gus["y"]):
        paired[r["pair"]][g].append(gus["y"].get(g, 0) - gus["x"].get(g, 0))
    paired[r["pair"]]["TOTAL (measured cgroup CPU)"].append(r["y"]["srv_us_per_req"] - r["x"]["srv_us_per_req"])
    for v, c in per.items():
        samples[v].update(c)
        us[v].append((sum(c.values()), r["x"]["srv_us_per_req"] if r["x"]["variant"] == v else r["y"]["srv_us_per_req"]))

vs = sorted(samples)
# us/request per group: share of the variant's samples x the sample-weighted mean us/req of its loads
print("| group | " + " | ".join(f"{v} share / us per req" for v in vs) + " |")
print("|---" * (len(vs) + 1) + "|")
tot_us = {v: sum(n * u for n, u in us[v]) / sum(n for n, _ in us[v]) for v in vs}
groups = sorted({g for v in vs for g in samples[v]}, key=lambda g: -samples[vs[0]][g])
for g in groups:
    cells = []
    for v in vs:
        T = sum(samples[v].values()); s = samples[v][g] / T
        cells.append(f"{100*s:.1f} % / {s*tot_us[v]:.2f}")
    print(f"| {g} | " + " | ".join(cells) + " |")
print("| total samples / us per req | " + " | ".join(f"{sum(samples[v].values())} / {tot_us[v]:.2f}" for v in vs) + " |")

print("\nTop kernel symbols, share of all the variant's samples:")
top = Counter()
for v in vs:
    T = sum(samples[v].values())
    for s, n in syms[v].items():
        top[s] += n / T
print("| symbol | " + " | ".join(vs) + " |")
print("|---" * (len(vs) + 1) + "|")
for s, _ in top.most_common(30):
    print(f"| {s} | " + " | ".join(f"{100*syms[v][s]/sum(samples[v].values()):.2f} %" for v in vs) + " |")

print("\nPaired per-round differences Y - X in server us per 2xx request, by group (median over rounds, IQR):")
for p, gd in paired.items():
    print(f"\n{p}:")
    print("| group | median Y-X us/req | IQR |")
    print("|---|---|---|")
    for g, xs in sorted(gd.items(), key=lambda kv: -abs(st.median(kv[1]))):
        q = st.quantiles(xs, n=4) if len(xs) > 1 else [xs[0], 0, xs[0]]
        print(f"| {g} | {st.median(xs):+.3f} | {q[0]:+.3f} .. {q[2]:+.3f} |")
