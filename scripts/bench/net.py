# SPDX-License-Identifier: GPL-2.0
"""The net part: iperf3 over TCP from one network namespace to another, through a veth pair, a
Linux bridge and a tap held by a pretend VMM (tests/bench/tap_fwd) that copies the frames to a
tap in the other namespace, its pretend guest; under empty, tracer and tracked (the pretend
VMM started under a VMM's name, so that discovery finds it and counts its tap: a tracked
session starts once kvmtrace-bpf's CSV has net_rx_bytes and net_tx_bytes for it). A window's
throughput: bits per second received, from one `iperf3 -J` run per window; the pretend VMM and
its taps live for the whole session. Pinned to one CPU (the default), iperf3's two ends and the
pretend VMM share it: every frame's whole path, hooks included, runs on it and throughput is
bound by it.

Where kvmtrace-bpf can read the devices' own counters (rtnetlink; its start-up line "network
figures: ..."), it attaches no per-packet program (kt_net_xmit on net_dev_start_xmit,
kt_net_receive on netif_receive_skb) and reads the taps' counters once per interval: those
programs' rows then say "not attached (device counters)" (met for the per-packet target, not
required), and what it costs is in the slowdown rows. The empty programs stay on both hooks
in every mode: the floor of a tracer that counts each packet (and of kvmtrace-bpf where it
must).

It creates network namespaces kt-bench-peer and kt-bench-guest, bridge kt-bench-br, veth pair
kt-bench-veth/kt-bench-vpeer and taps kt-bench-tap/kt-bench-gtap (10.214.0.0/24, IPv6 off: only
the bench's traffic), and removes them on exit, on failure and on Ctrl-C; leftovers of a run
killed with SIGKILL are removed at the next start."""

import json
import os
import shutil
import subprocess
import time

from lib import NET_HOOKS, SCHED_HOOKS, TARGET_RATIO as RATIO, TARGET_SLOWDOWN as SLOW, TRACER_READY
from lib import DEVNULL, die, have, head, link_exists, output, say, wait_ready
from session import Workload

NS_PEER = "kt-bench-peer"       # iperf3's client
NS_GUEST = "kt-bench-guest"     # iperf3's server, behind the pretend VMM
BRIDGE = "kt-bench-br"
VETH = "kt-bench-veth"          # on the bridge; its peer VETH_PEER is in NS_PEER
VETH_PEER = "kt-bench-vpeer"
TAP_HOST = "kt-bench-tap"       # on the bridge: the VM's tap as the host sees it
TAP_GUEST = "kt-bench-gtap"     # in NS_GUEST: the pretend guest's NIC
GUEST_MAC = "02:6b:74:62:00:01"  # fixed, so the peer's ARP entry outlives the taps of a session
# A tap drops what its holder has not read yet beyond its queue: with the default 1000, the
# frames TCP sends in a burst while the pretend VMM waits for the CPU overflow it, and
# retransmissions make throughput swing by tens of percent from one run to the next.
TAP_QLEN = 10000
IP_PEER = "10.214.0.2"
IP_GUEST = "10.214.0.1"
IPERF_PORT = 5201
FWD_PLAIN = "kt-bench-fwd"        # the pretend VMM's name when it must not be found
FWD_VMM = "qemu-system-x86_64"    # and when it must: a VMM's name for kvmtrace-bpf's discovery
# kvmtrace-bpf's program on each hook, when it attaches one.
PROGS = {"net_dev_start_xmit": "kt_net_xmit", "netif_receive_skb": "kt_net_receive"}
# The columns a row of the tracked pretend VMM must fill: proof that its tap is counted.
TRACKED_COLUMNS = ("net_rx_bytes", "net_tx_bytes")
NOT_HOOKED = "not attached (device counters)"


def ip(*args):
    """Runs ip with args; True when it succeeded."""
    return subprocess.run(["ip"] + list(args), stdin=DEVNULL).returncode == 0


def quiet(*args):
    subprocess.run(list(args), stdin=DEVNULL, stdout=DEVNULL, stderr=DEVNULL)


def no_ipv6(dev):
    try:
        with open(f"/proc/sys/net/ipv6/conf/{dev}/disable_ipv6", "w") as f:
            f.write("1\n")
    except OSError:
        pass


class Net(Workload):
    name = "net"
    head = "## Network"
    configs = ("empty", "tracer", "tracked")
    hooks = NET_HOOKS
    unit = ("gbit_per_s", lambda c, u: c * 8 / u / 1000)
    unit_label = "Gbit/s"

    def __init__(self, ctx):
        super().__init__(ctx)
        self.made = False
        self.fwd = self.server = self.client = None

    def rounds(self):
        return self.ctx.k.net_rounds

    def ready(self, cfg):
        # kvmtrace-bpf hooks the network only where it cannot read the devices' counters.
        return TRACER_READY if self.is_tracer(cfg) else self.hooks[0]

    def empty_hooks(self):
        """The empty programs on both network hooks in every mode (the floor of a tracer that
        counts each packet), and on kvmtrace-bpf's scheduler hooks where it attaches them."""
        return list(self.hooks) + [h for h in SCHED_HOOKS if h in self.ctx.tracer_hooks]

    def tracer_configs(self):
        return [c for c in self.configs if self.is_tracer(c)]

    def per_packet(self):
        """Whether kvmtrace-bpf counted each packet by a program: True or False when it did or
        did not in every session of tracer and tracked, on both hooks; None when not measured
        or mixed."""
        seen = {self.hooked(c, h) for c in self.tracer_configs() for h in self.hooks}
        return seen.pop() if len(seen) == 1 else None

    @property
    def required(self):
        """The figures without which the part did not measure: the slowdowns, the detached
        throughput and, of each configuration whose tracer hooked net_dev_start_xmit, its
        ratio to the empty program."""
        return ([f"net.slowdown_pct.{c}" for c in self.tracer_configs()]
                + [f"net.ratio.{c}.{self.hooks[0]}" for c in self.tracer_configs()
                   if self.hooked(c, self.hooks[0]) is not False]
                + ["net.gbit_per_s.detached"])

    def notes(self):
        """The rows of kvmtrace-bpf's per-packet programs in a configuration whose tracer left
        their hooks alone (it read the devices' counters): met, no program per packet."""
        out = {}
        for c in self.tracer_configs():
            off = [h for h in self.hooks if self.hooked(c, h) is False]
            for h in off:
                out[f"net.ratio.{c}.{h}"] = (NOT_HOOKED, "yes")
                for key in (f"net.excess_ns.{c}.{h}", f"net.ns_per_run.{c}.{PROGS[h]}",
                            f"net.runs_per_op.{c}.{PROGS[h]}"):
                    out[key] = (NOT_HOOKED, "")
            if off and len(off) == len(self.hooks):
                out[f"net.bpf_share_pct.{c}"] = (NOT_HOOKED, "")
        return out

    def check(self):
        if not have("iperf3"):
            die("no iperf3: install iperf3")
        if not have("ip"):
            die("no ip: install iproute2")
        if not os.access(self.ctx.helper("tap_fwd"), os.X_OK):
            die(f"no {self.ctx.helper('tap_fwd')}: run make bench-tools")
        if not os.path.exists("/dev/net/tun"):
            die("no /dev/net/tun")

    def remove_leftovers(self):
        """Removes kt-bench-* objects left by a run that could not clean up (SIGKILL)."""
        found = False
        for ns in (NS_PEER, NS_GUEST):
            if not os.path.exists(f"/run/netns/{ns}"):
                continue
            found = True
            pids = " ".join(output(["ip", "netns", "pids", ns]).split())
            if pids:
                say(f"warning: processes left in namespace {ns} by an earlier run: {pids}")
        if found or any(link_exists(d) for d in (VETH, TAP_HOST, BRIDGE)):
            say("removing the network namespaces and devices left by an earlier run")
            self.teardown(force=True)

    def setup(self):
        ctx = self.ctx
        self.remove_leftovers()
        self.made = True
        for ns in (NS_PEER, NS_GUEST):
            if not ip("netns", "add", ns):
                die(f"cannot create network namespace {ns}")
            # New devices of the namespace start without IPv6: no router or neighbour chatter.
            quiet("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1",
                  "net.ipv6.conf.default.disable_ipv6=1")
            ip("-n", ns, "link", "set", "lo", "up")
        if not ip("link", "add", BRIDGE, "type", "bridge", "stp_state", "0", "forward_delay", "0"):
            die(f"cannot create bridge {BRIDGE}")
        no_ipv6(BRIDGE)
        if not ip("link", "set", BRIDGE, "up"):
            die(f"cannot bring {BRIDGE} up")
        if not ip("link", "add", VETH, "type", "veth", "peer", "name", VETH_PEER, "netns", NS_PEER):
            die(f"cannot create veth pair {VETH}/{VETH_PEER}")
        no_ipv6(VETH)
        if not ip("link", "set", VETH, "master", BRIDGE, "up"):
            die(f"cannot put {VETH} on {BRIDGE}")
        if not (ip("-n", NS_PEER, "addr", "add", f"{IP_PEER}/24", "dev", VETH_PEER)
                and ip("-n", NS_PEER, "link", "set", VETH_PEER, "up")):
            die(f"cannot configure {VETH_PEER}")
        # The pretend VMM's copies under both names.
        os.makedirs(ctx.path("bin"), exist_ok=True)
        try:
            for name in (FWD_PLAIN, FWD_VMM):
                shutil.copy(ctx.helper("tap_fwd"), ctx.path("bin", name))
        except OSError:
            die(f"cannot copy {ctx.helper('tap_fwd')}")
        # The server, for the whole part; it listens in its namespace whatever its NIC.
        self.server = ctx.spawn(["ip", "netns", "exec", NS_GUEST] + ctx.pin +
                                ["iperf3", "-s", "-p", str(IPERF_PORT)], out="iperf-server.log",
                                err="stdout")
        for _ in range(100):
            if output(["ip", "netns", "exec", NS_GUEST, "ss", "-Htln", f"sport = :{IPERF_PORT}"]).strip():
                break
            if self.server.poll() is not None:
                die(f"iperf3 -s did not start: {head(ctx.path('iperf-server.log'))}")
            time.sleep(0.05)
        # A first run, not measured: the first one after setting up is slower (neighbour and
        # bridge tables, socket buffers).
        self.start_fwd(FWD_PLAIN)
        self.window()
        self.stop_fwd()

    def start_fwd(self, name):
        """Starts the pretend VMM under name and wires its taps: the guest's into NS_GUEST,
        the host's onto the bridge."""
        ctx = self.ctx
        self.fwd = ctx.spawn([ctx.path("bin", name), TAP_GUEST, TAP_HOST], out="fwd.out",
                             err="fwd.err", pin=True)
        # Creating a tap waits for the RTNL lock, which other work on the host may hold a while.
        if not wait_ready(self.fwd, ctx.path("fwd.out"), "tap_fwd did not start", 1500, 0.02,
                          ctx.path("fwd.err")):
            die("tap_fwd did not create its taps within 30 s")
        if not (ip("link", "set", TAP_GUEST, "netns", NS_GUEST)
                and ip("-n", NS_GUEST, "link", "set", TAP_GUEST, "address", GUEST_MAC,
                       "txqueuelen", str(TAP_QLEN))
                and ip("-n", NS_GUEST, "addr", "add", f"{IP_GUEST}/24", "dev", TAP_GUEST)
                and ip("-n", NS_GUEST, "link", "set", TAP_GUEST, "up")):
            die(f"cannot configure {TAP_GUEST}")
        no_ipv6(TAP_HOST)
        if not ip("link", "set", TAP_HOST, "master", BRIDGE, "txqueuelen", str(TAP_QLEN), "up"):
            die(f"cannot put {TAP_HOST} on {BRIDGE}")

    def stop_fwd(self):
        """The pretend VMM; its taps go with it."""
        if self.fwd is None:
            return
        self.ctx.stop(self.fwd)
        self.fwd = None
        for _ in range(500):
            if not link_exists(TAP_HOST):
                break
            time.sleep(0.02)

    def start(self, cfg):
        # Found by discovery only when tracked: the same binary, under a VMM's name or not.
        self.start_fwd(FWD_VMM if cfg == "tracked" else FWD_PLAIN)
        quiet("ip", "-n", NS_PEER, "neigh", "flush", "all")

    def stop(self):
        self.stop_fwd()

    @staticmethod
    def tap_tx():
        """Frames the host sent on its tap (to the pretend guest)."""
        try:
            with open(f"/sys/class/net/{TAP_HOST}/statistics/tx_packets") as f:
                return int(f.read())
        except (OSError, ValueError):
            return 0

    def window(self):
        """An iperf3 run: bytes received, iperf3's duration (µs) and frames to the pretend
        guest (the unit of runs per op)."""
        ctx, t = self.ctx, self.ctx.k.net_time
        p0 = self.tap_tx()
        self.client = ctx.spawn(["ip", "netns", "exec", NS_PEER] + ctx.pin +
                                ["iperf3", "-c", IP_GUEST, "-p", str(IPERF_PORT), "-t", str(t), "-J",
                                 "--connect-timeout", "3000"], out="iperf.json", err="iperf.err")
        # A watchdog: iperf3 can hang on a broken path.
        try:
            rc = self.client.wait(timeout=t + 20)
        except subprocess.TimeoutExpired:
            self.ctx.stop(self.client)
            rc = 124
        ctx.stop(self.client)
        self.client = None
        frames = self.tap_tx() - p0
        err = ""
        try:
            with open(ctx.path("iperf.json")) as f:
                run = json.load(f)
            err = run.get("error", "")
            total = run["end"]["sum_received"]
            nbytes, secs = int(total["bytes"]), float(total["seconds"])
        except (OSError, ValueError, KeyError, TypeError):
            nbytes = secs = 0
        if err or nbytes <= 0 or secs <= 0:
            die(f"iperf3 failed (exit {rc}): {err}{head(ctx.path('iperf.err'), 300)}")
        return nbytes, int(secs * 1e6), frames

    def tracked(self):
        # Discovery finds the pretend VMM by its name, then its tap; its net columns filled
        # are the proof that kvmtrace-bpf counts the tap (by its counters or by its programs).
        return [], TRACKED_COLUMNS, [self.fwd.pid]

    def teardown(self, force=False):
        """Removes whatever the part made (only kt-bench-* objects). Safe at any time."""
        if not (self.made or force):
            return
        self.ctx.stop(self.client)
        self.client = None
        self.stop_fwd()
        self.ctx.stop(self.server)
        self.server = None
        for ns in (NS_PEER, NS_GUEST):
            if os.path.exists(f"/run/netns/{ns}"):
                quiet("ip", "netns", "delete", ns)
        for dev in (VETH, TAP_HOST, BRIDGE):
            if link_exists(dev):
                quiet("ip", "link", "delete", "dev", dev)
        self.made = False

    def cleanup(self):
        self.teardown()

    def method(self):
        k = self.ctx.k
        return {"bench": f"iperf3 -J, TCP, veth + bridge + tap of a pretend VMM, tap txqueuelen {TAP_QLEN}",
                "iperf3_time_s": k.net_time, "rounds": k.net_rounds, "configurations": list(self.configs),
                "network_figures": self.ctx.net_source,
                "net_hooks_attached": {c: {h: self.hooked(c, h) for h in self.hooks} for c in self.tracer_configs()},
                "tracked_proof": f"kvmtrace-bpf's CSV has {' and '.join(TRACKED_COLUMNS)} for the pretend VMM"}

    def title(self):
        return "## Network: iperf3 across a bridge, into a pretend VM's tap"

    def mode_text(self):
        """What the section says of how kvmtrace-bpf counted the taps' traffic in the sessions."""
        per_packet = self.per_packet()
        progs = " and ".join(f"{PROGS[h]} ({h})" for h in self.hooks)
        if per_packet is False:
            return [
                f"It attached no per-packet program: the rows of {progs}",
                f"say \"{NOT_HOOKED}\": no program runs per frame, which meets the target per frame",
                f"(≤ {RATIO}× the empty program); it reads the taps' counters once per interval (one",
                "RTM_GETLINK dump), a cost of its own process that only the slowdown rows show. The empty",
                "programs stay on both hooks: the floor of a tracer that counts each frame.",
            ]
        if per_packet:
            return [f"Its programs {progs} run on every frame of the host; the frames of the other",
                    "devices take the untracked path."]
        hooked = {c: [h for h in self.hooks if self.hooked(c, h)] for c in self.tracer_configs()}
        return ["Its per-packet programs were not attached alike in every session (hooked in all of a "
                "configuration's sessions: "
                + "; ".join(f"{c}: {', '.join(v) or 'none'}" for c, v in hooked.items()) + ")."]

    def section(self, rep):
        k = self.ctx.k
        return [
            f"iperf3 {rep.versions['iperf3']}, TCP, `-t {k.net_time} -J` per window, {self.ctx.pin_desc}: from namespace",
            f"{NS_PEER} through veth {VETH_PEER}/{VETH} and bridge {BRIDGE} to tap {TAP_HOST},",
            f"whose holder (tests/bench/tap_fwd, a pretend VMM) copies each frame to tap {TAP_GUEST} in",
            f"namespace {NS_GUEST}, where the server runs, and the replies back (taps without",
            f"offloads: one frame per MTU; txqueuelen {TAP_QLEN}). Not tracked: the holder runs as",
            f"{FWD_PLAIN}. Tracked: it runs as {FWD_VMM}, kvmtrace-bpf's discovery tracks it and",
            f"counts {TAP_HOST} (a tracked session starts once kvmtrace-bpf's CSV has",
            f"{' and '.join(TRACKED_COLUMNS)} for it).",
            f"kvmtrace-bpf's network figures here, with its defaults: \"{self.ctx.net_source or '?'}\".",
        ] + self.mode_text() + [
            f"{k.text['NET_ROUNDS']} rounds of {', '.join(self.configs)}.",
            "",
        ] + rep.table(self.rows())

    def rows(self):
        return [
            ("net.ratio.tracer.net_dev_start_xmit", "kt_net_xmit vs empty program, ns/run ratio, no tracked tap", "×", 2, RATIO),
            ("net.ratio.tracer.netif_receive_skb", "kt_net_receive vs empty program, ns/run ratio, no tracked tap", "×", 2, RATIO),
            ("net.ratio.tracked.net_dev_start_xmit", "kt_net_xmit vs empty program, ns/run ratio, through a tracked VM's tap", "×", 2, RATIO),
            ("net.ratio.tracked.netif_receive_skb", "kt_net_receive vs empty program, ns/run ratio, through a tracked VM's tap", "×", 2, RATIO),
            ("net.slowdown_pct.tracer", "iperf3 throughput slowdown, kvmtrace-bpf attached, no tracked tap", "%", 2, SLOW, "net.noise_pct"),
            ("net.slowdown_pct.tracked", "iperf3 throughput slowdown, kvmtrace-bpf tracking the pretend VM and its tap", "%", 2, SLOW, "net.noise_pct"),
            ("net.slowdown_pct.empty", "iperf3 throughput slowdown, empty programs attached (floor of a per-packet tracer)", "%", 2),
            ("net.noise_pct", "noise: change between the two detached windows of a session, absolute", "%", 2),
            ("net.drift_pct", "drift: change from the pre to the post window of a session, signed", "%", 2),
            ("net.slowdown_stats_pct.tracer", "iperf3 slowdown, no tracked tap, bpf_stats on", "%", 2),
            ("net.slowdown_stats_pct.tracked", "iperf3 slowdown, tracked tap, bpf_stats on", "%", 2),
            ("net.bpf_share_pct.empty", "time in the empty network programs, % of the CPU (bpf_stats)", "%", 2),
            ("net.bpf_share_pct.tracer", "time in kt_net_xmit and kt_net_receive, % of the CPU, no tracked tap", "%", 2),
            ("net.bpf_share_pct.tracked", "time in kt_net_xmit and kt_net_receive, % of the CPU, tracked tap", "%", 2),
            ("net.ns_per_run.empty.empty_net_xmit", "empty program on net_dev_start_xmit", "ns/run", 1),
            ("net.ns_per_run.tracer.kt_net_xmit", "kt_net_xmit, no tracked tap", "ns/run", 1),
            ("net.ns_per_run.tracked.kt_net_xmit", "kt_net_xmit, tracked tap (all frames on the path)", "ns/run", 1),
            ("net.ns_per_run.empty.empty_net_recv", "empty program on netif_receive_skb", "ns/run", 1),
            ("net.ns_per_run.tracer.kt_net_receive", "kt_net_receive, no tracked tap", "ns/run", 1),
            ("net.ns_per_run.tracked.kt_net_receive", "kt_net_receive, tracked tap (all frames on the path)", "ns/run", 1),
            ("net.excess_ns.tracer.net_dev_start_xmit", "kt_net_xmit minus empty program, no tracked tap", "ns/run", 1),
            ("net.excess_ns.tracked.net_dev_start_xmit", "kt_net_xmit minus empty program, tracked tap", "ns/run", 1),
            ("net.excess_ns.tracer.netif_receive_skb", "kt_net_receive minus empty program, no tracked tap", "ns/run", 1),
            ("net.excess_ns.tracked.netif_receive_skb", "kt_net_receive minus empty program, tracked tap", "ns/run", 1),
            ("net.runs_per_op.tracer.kt_net_xmit", "net_dev_start_xmit runs per frame sent to the pretend guest (all devices)", "runs", 2),
            ("net.runs_per_op.tracer.kt_net_receive", "netif_receive_skb runs per frame sent to the pretend guest (all devices)", "runs", 2),
            ("net.gbit_per_s.detached", "iperf3, nothing attached (pre and post windows)", "Gbit/s", 3),
            ("net.gbit_per_s.empty", "iperf3, empty programs attached", "Gbit/s", 3),
            ("net.gbit_per_s.tracer", "iperf3, kvmtrace-bpf attached, no tracked tap", "Gbit/s", 3),
            ("net.gbit_per_s.tracked", "iperf3, kvmtrace-bpf tracking the pretend VM", "Gbit/s", 3),
        ]
