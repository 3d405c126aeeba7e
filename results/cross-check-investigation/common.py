"""Shared pieces for the crosscheck scripts: variants, server start/stop in cgroups, counters."""
import glob, json, os, re, signal, subprocess, time

HERE = "/work/scratch/crosscheck"
PORT = 18081
URL = f"http://127.0.0.1:{PORT}/hello"
CG_CPU = "/sys/fs/cgroup/cpu/crosscheck_srv"
CG_ACCT = "/sys/fs/cgroup/cpuacct/crosscheck_srv"
CG_GEN = "/sys/fs/cgroup/cpuacct/crosscheck_gen"

OHA_HEADERS_129 = ["-H", "Accept: */*", "-H", "Accept-Encoding: gzip, compress, deflate, br", "-H", "User-Agent: oha/1.16.0"]
OHA_HEADERS_83 = ["-H", "Accept: */*", "-H", "User-Agent: oha/1.16.0"]
EMPTY_70 = ["-H", "accept: ", "-H", "user-agent: "]

# name -> (generator, extra args, request bytes on the wire as captured by capture.py)
VARIANTS = {
    "a_wrk":         ("wrk", [], 46),
    "b_oha":         ("oha", [], 129),
    "c_oha_dc":      ("oha", ["--disable-compression"], 83),
    "d_oha_dc_empty": ("oha", ["--disable-compression", "-H", "accept:", "-H", "user-agent:"], 70),
    "e_wrk_oha129":  ("wrk", OHA_HEADERS_129, 129),
    "f_wrk_oha83":   ("wrk", OHA_HEADERS_83, 83),
    "g_wrk_empty70": ("wrk", EMPTY_70, 70),
    # one standard header padded so the request is 129 B like oha's, but 2 headers instead of 4
    "h_wrk_ua129":   ("wrk", ["-H", "User-Agent: " + "x" * 69], 129),
}


def gen_cmd(variant, dur_s, conns=64):
    gen, extra, _ = VARIANTS[variant]
    if gen == "wrk":
        return ["taskset", "-c", "0", "wrk", "-t1", f"-c{conns}", f"-d{int(dur_s)}s"] + extra + [URL]
    return (["taskset", "-c", "0", f"{HERE}/bench-runner", "oha", "--cpus", "0", "--", "oha", "--no-tui",
             "--output-format", "json", "-w", "-z", f"{int(dur_s*1000)}ms", "-c", str(conns),
             "--worker-threads", "1"] + extra + [URL])


def wcg(path, name, value):
    with open(os.path.join(path, name), "w") as f:
        f.write(str(value))


def rcg(path, name):
    with open(os.path.join(path, name)) as f:
        return f.read()


def setup_cgroups(quota_us):
    for p in (CG_CPU, CG_ACCT, CG_GEN):
        os.makedirs(p, exist_ok=True)
    wcg(CG_CPU, "cpu.cfs_period_us", 100000)
    wcg(CG_CPU, "cpu.cfs_quota_us", quota_us)


def teardown_cgroups():
    for p in (CG_CPU, CG_ACCT, CG_GEN):
        if os.path.isdir(p):
            try:
                os.rmdir(p)
            except OSError as e:
                print("could not remove", p, e)


def start_server(binary="svc-axum"):
    env = dict(os.environ, WORKERS="1", PORT=str(PORT), BIND_ADDR="127.0.0.1")
    # the server joins its cgroups before exec, so every thread it makes is inside
    pre = f"echo $$ > {CG_CPU}/cgroup.procs; echo $$ > {CG_ACCT}/cgroup.procs; exec taskset -c 1 {HERE}/{binary}"
    p = subprocess.Popen(["sh", "-c", pre], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        time.sleep(0.05)
        r = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", URL], capture_output=True, text=True)
        if r.stdout == "200":
            return p
    raise RuntimeError("server did not answer")


def stop_server(p):
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(5)
    except subprocess.TimeoutExpired:
        p.kill(); p.wait()


def proc_snapshot(pid):
    vol = nvol = 0; run_ns = wait_ns = slices = 0
    for t in glob.glob(f"/proc/{pid}/task/*"):
        try:
            st = open(t + "/status").read()
            vol += int(re.search(r"^voluntary_ctxt_switches:\s+(\d+)", st, re.M).group(1))
            nvol += int(re.search(r"^nonvoluntary_ctxt_switches:\s+(\d+)", st, re.M).group(1))
            a, b, c = open(t + "/schedstat").read().split()
            run_ns += int(a); wait_ns += int(b); slices += int(c)
        except (FileNotFoundError, ProcessLookupError):
            pass
    return dict(vol=vol, nvol=nvol, run_ns=run_ns, wait_ns=wait_ns, slices=slices)


def net_snapshot():
    out = {}
    for fn in ("/proc/net/snmp", "/proc/net/netstat"):
        lines = open(fn).read().splitlines()
        for i in range(0, len(lines), 2):
            k = lines[i].split(); v = lines[i + 1].split()
            pre = k[0].rstrip(":")
            if pre in ("Tcp", "TcpExt"):
                for kk, vv in zip(k[1:], v[1:]):
                    try:
                        out[f"{pre}.{kk}"] = int(vv)
                    except ValueError:
                        pass
    return out


def busy_jiffies():
    # non-idle jiffies of all CPUs (user nice system irq softirq steal), to spot foreign load
    f = open("/proc/stat").readline().split()[1:]
    v = list(map(int, f))
    return v[0] + v[1] + v[2] + v[5] + v[6] + v[7], v[7]


def cg_snapshot():
    bj, steal = busy_jiffies()
    d = dict(busy_j=bj, steal_j=steal, usage=int(rcg(CG_ACCT, "cpuacct.usage")),
             user=int(rcg(CG_ACCT, "cpuacct.usage_user")),
             sys=int(rcg(CG_ACCT, "cpuacct.usage_sys")),
             gen=int(rcg(CG_GEN, "cpuacct.usage")))
    st = dict(l.split() for l in rcg(CG_CPU, "cpu.stat").splitlines())
    d["nr_periods"] = int(st["nr_periods"]); d["nr_throttled"] = int(st["nr_throttled"])
    d["throttled_ns"] = int(st["throttled_time"])
    return d


def run_gen(variant, dur_s, wrap=None):
    """Runs the generator inside the generator's cpuacct cgroup. Returns (stdout, stderr)."""
    cmd = gen_cmd(variant, dur_s)
    if wrap:
        cmd = wrap + cmd
    pre = ["sh", "-c", f'echo $$ > {CG_GEN}/cgroup.procs; exec "$@"', "sh"]
    r = subprocess.run(pre + cmd, capture_output=True, text=True, timeout=dur_s + 60)
    return r.stdout, r.stderr


def parse_gen(variant, out, err):
    gen = VARIANTS[variant][0]
    if gen == "wrk":
        m = re.search(r"(\d+) requests in ([\d.]+)(m?s)", out)
        n = int(m.group(1))
        rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
        non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        errs = re.search(r"Socket errors: (.*)", out)
        n2xx = n - (int(non2xx.group(1)) if non2xx else 0)
        secs = n / rps
        return dict(n_all=n, n2xx=n2xx, secs=secs, rps2xx=n2xx / secs, errors=errs.group(1) if errs else "", gen_window_cpu_us=None)
    j = json.loads(out)
    n2xx = sum(v for k, v in j["statusCodeDistribution"].items() if k.startswith("2"))
    secs = j["summary"]["total"]
    usage = None
    for line in err.splitlines():
        if line.startswith("benchlab-generator-usage "):
            usage = json.loads(line[len("benchlab-generator-usage "):])
    n_all = sum(j["statusCodeDistribution"].values())
    return dict(n_all=n_all, n2xx=n2xx, secs=secs, rps2xx=n2xx / secs,
                errors=json.dumps(j.get("errorDistribution", {})),
                gen_window_cpu_us=usage["cpu_us"] if usage else None)
