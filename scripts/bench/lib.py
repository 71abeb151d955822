# SPDX-License-Identifier: GPL-2.0
"""What the parts of the benchmark share on the host: the knobs, the processes it starts and
their cleanup, bpf_stats, the programs an attacher holds and kvmtrace-bpf's CSV rows. The
measuring method (sessions of pre / off / on / post windows) is in session.py."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

PROG = "bench"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# bpftrace's minimal per-pid on-CPU script: the peer of kvmtrace-bpf's scheduler accounting.
PEER_BT = os.path.join(ROOT, "tests", "bench", "peer.bt")
STATS_SYSCTL = "/proc/sys/kernel/bpf_stats_enabled"
PROG_TYPE_PERF_EVENT = "7"   # BPF_PROG_TYPE_PERF_EVENT in fdinfo: a sampler
# The parts with a section in bench/results.{md,json}, in their order there; "kvm" writes
# bench/kvm-modes.md.
RESULT_PARTS = ("sched", "net", "disk", "sampler", "peers")
PARTS = RESULT_PARTS + ("kvm", "scale")
# The hooks of kvmtrace-bpf's scheduler handlers, which every workload also runs where they are
# attached (sched_switch only where a figure needs a program at context switches).
SCHED_HOOKS = ("sched_switch", "sched_wakeup")
# A hook kvmtrace-bpf attaches in every mode: proof that it attached.
TRACER_READY = "sched_process_exit"
# The options that make kvmtrace-bpf hook sched_switch where it otherwise reads the kernel's
# per-task counters by a task iterator: a software counter, counted per VM thread at its switches.
SWITCH_ARGS = ("--counters", "task-clock")
# kvmtrace-bpf's start-up line that says where its scheduler figures come from.
SCHED_SOURCE_LINE = "scheduler figures: "
# The hooks of kvmtrace-bpf's per-packet programs (kt_net_xmit, kt_net_receive), which it
# attaches only where it cannot read the devices' own counters (rtnetlink).
NET_HOOKS = ("net_dev_start_xmit", "netif_receive_skb")
# Its start-up line on where the taps' traffic comes from, and its warning when a program
# counts each packet instead.
NET_SOURCE_LINE = "network figures: "
NET_FALLBACK_LINE = "cannot read the devices' counters (rtnetlink)"

# Targets of the issue (14), as the results print them.
TARGET_RATIO = "1.2"      # a handler's ns/run over the empty program's on its hook
TARGET_SLOWDOWN = "1"      # % of a workload's throughput, tracked or not
TARGET_PEERS_SLOWDOWN = "2"  # issue 7's: kvmtrace-bpf tracking the pipe bench, the lowest of its peers
TARGET_SAMPLER = "0.5"  # % of one CPU
TARGET_BPF_SHARE = "0.1"  # % of a bench loop's time in kvmtrace-bpf's programs, bench not a VM

DEVNULL = subprocess.DEVNULL


def say(msg):
    print(f"{PROG}: {msg}", file=sys.stderr, flush=True)


def die(msg):
    say(f"cannot measure: {msg}")
    sys.exit(1)


def is_number(s):
    return re.fullmatch(r"[0-9]+([.][0-9]+)?", s) is not None


def json_number(text):
    """A knob's text as a JSON number, as the results have always given it."""
    return int(text) if text.isdigit() else float(text)


def usecs():
    return time.monotonic_ns() // 1000


def head(path, n=500):
    """The start of a file (an error output), for a message."""
    try:
        with open(path, "rb") as f:
            return f.read(n).decode(errors="replace")
    except OSError:
        return ""


def output(args):
    """A command's stdout, or "" when it cannot run or fails."""
    try:
        return subprocess.run(args, stdin=DEVNULL, capture_output=True, text=True).stdout
    except OSError:
        return ""


def have(cmd):
    return shutil.which(cmd) is not None


def bpftrace_attached(path):
    """Whether bpftrace, its output in path, has attached its probes."""
    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        return False
    return re.search(r"^Attaching", text, re.M) is not None


def fdinfo(pid, fd):
    """/proc/PID/fdinfo/FD as a dict of its "key: value" lines."""
    info = {}
    try:
        with open(f"/proc/{pid}/fdinfo/{fd}") as f:
            for line in f:
                kv = line.split(None, 1)
                if len(kv) == 2 and kv[0].endswith(":"):
                    info[kv[0][:-1]] = kv[1].strip()
    except OSError:
        pass
    return info


def proc_io(pid, *keys):
    """The sum of the given fields of /proc/PID/io (syscr, syscw: system calls), or None."""
    try:
        with open(f"/proc/{pid}/io") as f:
            io = dict(line.split(":", 1) for line in f if ":" in line)
        return sum(int(io[k]) for k in keys)
    except (OSError, KeyError, ValueError):
        return None


def has_line(path, text):
    """Whether the file has a line that is exactly text (a helper's "ready")."""
    try:
        with open(path) as f:
            return text in f.read().splitlines()
    except OSError:
        return False


def wait_ready(proc, path, what, tries, pause, err):
    """Waits until proc wrote the line "ready" to path; dies when it exits first."""
    for _ in range(tries):
        if has_line(path, "ready"):
            return True
        if proc.poll() is not None:
            die(f"{what}: {head(err, 800)}")
        time.sleep(pause)
    return has_line(path, "ready")


def child_of(pid):
    """The first child process of pid, or None."""
    pids = output(["pgrep", "-P", str(pid)]).split()
    return int(pids[0]) if pids else None


def link_exists(dev):
    return subprocess.run(["ip", "link", "show", "dev", dev], stdin=DEVNULL,
                          stdout=DEVNULL, stderr=DEVNULL).returncode == 0


def rotated(configs, rnd):
    """The configurations in round rnd (from 1): the order rotated each round, so that no
    configuration always runs first or last."""
    return [configs[(k + rnd - 1) % len(configs)] for k in range(len(configs))]


def startup_line(text, *markers):
    """kvmtrace-bpf's first start-up line of text with one of markers, from the marker on (a
    "warning: " just before it kept), or ""."""
    for line in text.splitlines():
        for m in markers:
            if m in line:
                i = line.index(m)
                if line[:i].endswith("warning: "):
                    i -= len("warning: ")
                return line[i:].strip()
    return ""


def columns(col):
    """A CSV column or columns to be filled (col: a name, "" or a sequence of names) as a tuple."""
    return tuple(c for c in ((col,) if isinstance(col, str) else col) if c)


def csv_rows(folder, pid, col=""):
    """Rows of kvmtrace-bpf's CSV files in folder about process pid (with column col filled,
    if given; a sequence of names: all of them filled)."""
    cols = columns(col)
    rows = 0
    try:
        names = sorted(n for n in os.listdir(folder) if n.endswith(".csv"))
    except OSError:
        return 0
    for name in names:
        try:
            with open(os.path.join(folder, name)) as f:
                lines = f.read().splitlines()
        except OSError:
            continue
        if not lines:
            continue
        header = lines[0].split(",")
        p = header.index("pid") if "pid" in header else -1
        ns = [header.index(c) for c in cols if c in header]
        if p < 0 or len(ns) < len(cols):
            continue
        for line in lines[1:]:
            f = line.split(",")
            if len(f) > p and f[p] == str(pid) and all(len(f) > n and f[n] != "" for n in ns):
                rows += 1
    return rows


class Knobs:
    """The BENCH_* environment variables (see bench.py), as given and as numbers."""

    NUMBERS = ("ROUNDS", "NET_ROUNDS", "DISK_ROUNDS", "WINDOW", "SETTLE", "SAMPLER_SECONDS",
               "SAMPLER_TRIAL")
    COUNTS = ("ROUNDS", "NET_ROUNDS", "DISK_ROUNDS", "PEERS_ROUNDS", "SAMPLER_TRIALS")
    DEFAULTS = {"ROUNDS": "6", "NET_ROUNDS": "6", "DISK_ROUNDS": "6", "PEERS_ROUNDS": "4",
                "WINDOW": "2", "SETTLE": "1", "DISK_DIR": "/var/tmp", "SAMPLER_SECONDS": "20",
                "SAMPLER_TRIALS": "20", "SAMPLER_TRIAL": "3", "SAMPLER_CPU": "0",
                "PEERS_TRACER_ARGS": "", "SCHED_SWITCH": "auto"}

    def __init__(self, env):
        self.text = {k: env.get("BENCH_" + k) or d for k, d in self.DEFAULTS.items()}
        self.parts_given = env.get("BENCH_PARTS") or " ".join(PARTS)
        self.parts = list(dict.fromkeys(self.parts_given.replace(",", " ").split()))
        self.cpus = env.get("BENCH_CPUS") or str(len(os.sched_getaffinity(0)) - 1)
        if self.cpus == "all":
            self.cpus = ""
        self.results_dir = env.get("BENCH_RESULTS_DIR") or os.path.join(ROOT, "bench")

    def check(self):
        for k in self.NUMBERS:
            if not is_number(self.text[k]):
                die(f"BENCH_{k}='{self.text[k]}' is not a number")
        for k in self.COUNTS:
            if not re.fullmatch(r"[1-9][0-9]*", self.text[k]):
                die(f"BENCH_{k} must be an integer >= 1")
        if self.text["SCHED_SWITCH"] not in ("auto", "0", "1"):
            die(f"BENCH_SCHED_SWITCH='{self.text['SCHED_SWITCH']}' is not auto, 0 or 1")
        t = self.text
        self.rounds, self.net_rounds = int(t["ROUNDS"]), int(t["NET_ROUNDS"])
        self.disk_rounds, self.peers_rounds = int(t["DISK_ROUNDS"]), int(t["PEERS_ROUNDS"])
        self.window, self.settle = float(t["WINDOW"]), float(t["SETTLE"])
        self.settle_us = int(self.settle * 1e6)
        self.sampler_seconds, self.sampler_trial = float(t["SAMPLER_SECONDS"]), float(t["SAMPLER_TRIAL"])
        self.sampler_trials = int(t["SAMPLER_TRIALS"])
        self.sampler_cpu = t["SAMPLER_CPU"]
        self.peers_tracer_args = t["PEERS_TRACER_ARGS"].split()
        # iperf3 runs for whole seconds.
        self.net_time = max(1, int(f"{self.window:.0f}"))


class Bench:
    """One run of the benchmark: its knobs and paths, the processes it started, bpf_stats,
    and the attacher (the program whose BPF programs a session measures)."""

    def __init__(self, out, env):
        self.out = out
        self.k = Knobs(env)
        self.tracer = os.path.join(out, "kvmtrace-bpf")
        self.pin = ["taskset", "-c", self.k.cpus] if self.k.cpus else []
        self.pin_desc = f"pinned to CPU {self.k.cpus}" if self.k.cpus else "not pinned"
        self.ncpu = len(os.sched_getaffinity(0))
        self.tmp = None
        self.stats_old = None
        self.procs = []
        self.parts = {}          # the drivers of this run, by name (each cleans up its own)
        self.att = None          # the attacher: empty_loader, kvmtrace-bpf or a peer tool
        self.progs = []          # its programs on the part's hooks: (fd, name, hook)
        self.all_hooks = []      # every tracepoint it is linked to
        self.all_iters = []      # every BPF iterator it holds a link of (its target: "task")
        self.prog_names = {}
        self.tracer_hooks = []   # the hooks kvmtrace-bpf attaches on this kernel
        self.tracer_iters = []   # and its iterators
        self.sched_source = ""   # its start-up line on where its scheduler figures come from
        self.net_source = ""     # and on where the taps' traffic comes from (or its warning)
        # The same with SWITCH_ARGS, probed when a part measures that mode (switch_configs).
        self.switch_hooks = []
        self.switch_source = ""
        self.switch_configs = False
        self.discovered = []     # VMs its discovery found, per tracer session
        self.discovered_names = set()
        self.elapsed = {}

    def helper(self, name):
        return os.path.join(self.out, "bench", name)

    def path(self, *names):
        return os.path.join(self.tmp, *names)

    def results_file(self, name):
        """A file of BENCH_RESULTS_DIR, which is made if missing."""
        folder = self.k.results_dir
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError:
            die(f"cannot create {folder}")
        return os.path.join(folder, name)

    def begin(self):
        self.tmp = tempfile.mkdtemp(prefix="kvmtrace-bench.", dir="/tmp")
        with open(STATS_SYSCTL) as f:
            self.stats_old = f.read().strip()

    # --- processes ---------------------------------------------------------------------

    def spawn(self, args, out=None, err=None, append=False, pin=False):
        """Starts a process of ours, stdin /dev/null, stdout and stderr to files of TMP
        (None: /dev/null; append: stderr appended to; err "stdout": where stdout goes); pin:
        on the workloads' CPUs."""
        files = []

        def open_tmp(name, mode):
            if not name:
                return DEVNULL
            files.append(open(self.path(name), mode))
            return files[-1]

        try:
            stdout = open_tmp(out, "w")
            stderr = subprocess.STDOUT if err == "stdout" else open_tmp(err, "a" if append else "w")
            p = subprocess.Popen((self.pin if pin else []) + list(args), stdin=DEVNULL,
                                 stdout=stdout, stderr=stderr)
        except OSError as e:
            die(f"cannot run {args[0]}: {e}")
        finally:
            for f in files:
                f.close()
        self.procs.append(p)
        return p

    def stop(self, p, sig=signal.SIGTERM):
        """Ends a process we started with sig, then SIGKILL after 5 s; reaps it."""
        if p is None:
            return
        if p.poll() is None:
            try:
                p.send_signal(sig)
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
            except ProcessLookupError:
                p.wait()
        if p in self.procs:
            self.procs.remove(p)

    def set_stats(self, on):
        try:
            with open(STATS_SYSCTL, "w") as f:
                f.write(f"{int(on)}\n")
        except OSError:
            die(f"cannot write {STATS_SYSCTL}")

    def cleanup(self):
        """On exit, on failure and on a signal: ends what is left, restores bpf_stats."""
        for s in (signal.SIGHUP, signal.SIGINT, signal.SIGTERM):
            signal.signal(s, signal.SIG_IGN)
        steps = [self.stop_attacher] + [p.cleanup for p in self.parts.values()]
        steps += [lambda p=p: self.stop(p) for p in list(self.procs)]
        for step in steps:
            try:
                step()
            except (Exception, SystemExit) as e:  # go on with the rest
                say(f"cleanup: {e}")
        if self.stats_old is not None:
            try:
                with open(STATS_SYSCTL, "w") as f:
                    f.write(self.stats_old + "\n")
            except OSError:
                pass
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)

    # --- the attacher and its programs ----------------------------------------------------

    def attach(self, args, err, cfg, scope=(), ready=None, out=None, every=False):
        """Starts the attacher; with ready (a hook), waits until it has a program there (and
        fills progs: see find_programs)."""
        self.att = self.spawn(args, out=out, err=err)
        self.att_err = self.path(err)
        if ready:
            self.wait_attached(cfg, scope, ready, every)
        return self.att

    def stop_attacher(self):
        self.stop(self.att, signal.SIGINT)
        self.att = None
        self.progs = []

    def att_alive(self):
        return self.att is not None and self.att.poll() is None

    def prog_name(self, prog_id):
        if prog_id not in self.prog_names:
            try:
                name = json.loads(output(["bpftool", "prog", "show", "id", prog_id, "-j"]))["name"]
            except (ValueError, KeyError, TypeError):
                return f"prog{prog_id}"
            self.prog_names[prog_id] = name
        return self.prog_names[prog_id]

    def find_programs(self, scope, ready, every=False):
        """Fills progs (the attacher's programs linked to a hook of scope; every: all of its
        programs, linked or not: its iterators, its perf_event sampler, those it runs itself),
        all_hooks and all_iters; False while ready (a hook) has no link yet. A program's hook
        is its tracepoint, "iter/TARGET" for an iterator, "perf_event" for the sampler, ""
        for the rest. ready None: an attacher that links no program (bpftrace attaches
        through perf events), ready once it says so."""
        pid = self.att.pid
        link_hook, fd_of_id, type_of_id = {}, {}, {}
        self.all_hooks, self.all_iters = [], []
        try:
            fds = sorted(os.listdir(f"/proc/{pid}/fd"))
        except OSError:
            fds = []
        for fd in fds:
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target == "anon_inode:bpf_link":
                info = fdinfo(pid, fd)
                tp = info.get("tp_name", "")
                hook = tp
                if tp:
                    self.all_hooks.append(tp)
                elif info.get("link_type") == "iter":
                    self.all_iters.append(info.get("target_name", ""))
                    hook = f"iter/{info.get('target_name', '')}"
                if info.get("prog_id") and (tp in scope or every):
                    link_hook[info["prog_id"]] = hook
            elif target == "anon_inode:bpf-prog":
                info = fdinfo(pid, fd)
                if "prog_id" in info:
                    fd_of_id[info["prog_id"]] = fd
                    type_of_id[info["prog_id"]] = info.get("prog_type", "")
        if every:
            hook_of = {i: link_hook.get(i, "perf_event" if type_of_id[i] == PROG_TYPE_PERF_EVENT else "")
                       for i in fd_of_id}
        else:
            hook_of = link_hook
        self.progs = [(fd_of_id[i], self.prog_name(i), h) for i, h in hook_of.items() if i in fd_of_id]
        return ready is None or ready in self.all_hooks

    def wait_at_work(self, cfg, at_work, err):
        """Waits until at_work() says the attacher of cfg is at work (30 s at most); its
        stderr in err tells why when it exits first."""
        for _ in range(600):
            if not self.att_alive():
                die(f"{cfg} exited: {head(self.path(err), 800)}")
            if at_work():
                return
            time.sleep(0.05)
        die(f"{cfg} did not start within 30 s: {head(self.path(err), 800)}")

    def wait_attached(self, cfg, scope, ready, every=False):
        for _ in range(600):
            if not self.att_alive():
                die(f"the {cfg} program exited: {head(self.att_err, 800)}")
            if self.find_programs(scope, ready, every):
                return
            time.sleep(0.05)
        die(f"the {cfg} program did not attach within 30 s")

    def wait_tracked(self, folder, col, pids):
        """Waits for a row of each process of pids in kvmtrace-bpf's CSV files (with column
        col filled, if not empty; a sequence of columns: all of them), proof that the tracer
        tracks them (and, with the net columns, counts their taps)."""
        for _ in range(200):
            if all(csv_rows(folder, pid, col) >= 1 for pid in pids):
                return
            if not self.att_alive():
                die(f"kvmtrace-bpf exited: {head(self.att_err, 800)}")
            time.sleep(0.05)
        with_col = f" with {' and '.join(columns(col))}" if columns(col) else ""
        die(f"kvmtrace-bpf wrote no row{with_col} for PID {' '.join(map(str, pids))} within 10 s")

    def wait_started(self, folder):
        """Waits for kvmtrace-bpf's first host row in folder: its start-up (the sampler's
        calibration, pinned to each CPU in turn, the first full discovery scan) is over, and
        what the windows measure is the tracer running, not starting."""
        host = os.path.join(folder, "@host.csv")
        for _ in range(200):
            try:
                with open(host) as f:
                    if len(f.read().splitlines()) >= 2:
                        return
            except OSError:
                pass
            if not self.att_alive():
                die(f"kvmtrace-bpf exited: {head(self.att_err, 800)}")
            time.sleep(0.05)
        die(f"kvmtrace-bpf wrote no host row in {folder} within 10 s")

    def snapshot_progs(self):
        """(run_time_ns, run_cnt) of each program of progs."""
        snap = []
        for fd, _, _ in self.progs:
            info = fdinfo(self.att.pid, fd)
            snap.append((int(info.get("run_time_ns", 0)), int(info.get("run_cnt", 0))))
        return snap

    def probe(self, name, extra=()):
        """A short run of kvmtrace-bpf (not quiet, for its start-up lines): the hooks and the
        iterators it attaches, its line on where its scheduler figures come from and its line
        on where its network figures come from (or its warning that a program counts each
        packet)."""
        folder = self.path(f"out-{name}")
        os.makedirs(folder)
        err = f"{name}.err"
        self.attach([self.tracer, "-o", folder, "-i", "1"] + list(extra), err, name, (), TRACER_READY)
        time.sleep(0.5)
        self.find_programs((), TRACER_READY)
        hooks, iters = list(self.all_hooks), list(self.all_iters)
        self.stop_attacher()
        text = head(self.path(err), 20000)
        return (hooks, iters, startup_line(text, SCHED_SOURCE_LINE),
                startup_line(text, NET_SOURCE_LINE, NET_FALLBACK_LINE))

    def probe_tracer(self, switch_wanted=False):
        """The hooks kvmtrace-bpf attaches on this kernel, with its defaults and, when a part
        would measure it (switch_wanted), with SWITCH_ARGS; whether the parts measure that
        second mode (switch_configs): BENCH_SCHED_SWITCH 1, or auto and the defaults leave
        sched_switch alone."""
        self.tracer_hooks, self.tracer_iters, self.sched_source, self.net_source = self.probe("probe")
        say(f"kvmtrace-bpf with its defaults: {self.sched_source or 'it says nothing of its scheduler figures'}; "
            f"{self.net_source or 'it says nothing of its network figures'}")
        knob = self.k.text["SCHED_SWITCH"]
        default_hooked = "sched_switch" in self.tracer_hooks
        if not switch_wanted or knob == "0" or (knob == "auto" and default_hooked):
            return
        switch = " ".join(SWITCH_ARGS)
        self.switch_hooks, _, self.switch_source, _ = self.probe("probe-switch", SWITCH_ARGS)
        if "sched_switch" not in self.switch_hooks:
            say(f"kvmtrace-bpf {switch} does not hook sched_switch either "
                f"({self.switch_source or 'no word why'}): its configurations are left out")
            return
        say(f"kvmtrace-bpf {switch}: {self.switch_source}; that mode is measured too (BENCH_SCHED_SWITCH)")
        self.switch_configs = True

    def count_discovered(self, folder):
        """VMs the tracer's discovery found on this host (their events take the tracked path)."""
        n = 0
        for name in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
            # Per-vCPU and per-exit files, host-wide ones (@host.csv).
            if not name.endswith(".csv") or name.endswith((".vcpu.csv", ".exits.csv")) or name.startswith("@"):
                continue
            n += 1
            self.discovered_names.add(name[:-4])
        self.discovered.append(n)

    def settle(self, t_attach):
        """Sleeps until SETTLE s after t_attach (µs)."""
        left = self.k.settle_us - (usecs() - t_attach)
        if left > 0:
            time.sleep(left / 1e6)
