#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Overhead benchmark of kvmtrace-bpf (make bench): scripts/bench.sh OUTPUT_DIR
#
# Four parts. Three workloads, each measured with its configurations interleaved over rounds:
#   sched  `perf bench sched pipe` (two processes ping-ponging over pipes: context switches)
#   net    iperf3 over TCP from one network namespace to another, through a veth pair, a
#          Linux bridge and a tap held by a pretend VMM (tests/bench/tap_fwd) that copies
#          the frames to a tap in the other namespace, its pretend guest
#   disk   fio, 4k random reads and writes with direct I/O on a file in a temporary folder
# and the configurations:
#   baseline  nothing attached (sched only: an A/A check of the method, its "slowdown" is noise)
#   empty     empty tp_btf programs on the hooks kvmtrace-bpf attaches (tests/bench/empty.bpf.c)
#   tracer    kvmtrace-bpf attached, the workload not tracked
#   tracked   kvmtrace-bpf tracking the workload: sched, the bench's two processes (-p); net,
#             the pretend VMM, started under a VMM's name so that discovery finds it and counts
#             its tap; disk, the fio job process doing the I/O (-p)
# and reports, as medians over the rounds:
#   - each program's cost per run from kernel.bpf_stats_enabled (run_time_ns / run_cnt),
#     and the ratio of kvmtrace-bpf's handler to the empty program on the same hook;
#   - the workload's slowdown with the programs attached versus without.
# and the sampler part (see below), the cost of the perf_event program kvmtrace-bpf runs at
# --sample-hz on every CPU. Targets (handler <= 1.5x the empty program, slowdown <= 2%, sampler
# <= 0.5% of one CPU) are reported, not asserted: the script exits 0 when it measured, non-zero
# only when it could not measure.
#
# One session = one configuration in one round, on one workload:
#   pre   window, nothing attached
#         attach, wait until attached (and, tracked, until the workload is tracked), settle
#         until SETTLE s after the attach began
#   off   window, bpf_stats off: the slowdown a user sees
#   on    window, bpf_stats on: the cost per run (bpf_stats itself adds ~20 ns to every run)
#         detach
#   post  window, nothing attached
# The slowdown of a session compares "off" with the mean of "pre" and "post", a few seconds
# apart on the same workload, which cancels the drift of a shared or virtual machine.
# A window's throughput:
#   sched  loops per second, from the kernel's count of write() calls of the bench's parent
#          (/proc/PID/io syscw: one per loop); the bench runs for the whole session
#   net    bits per second received, from one `iperf3 -J` run per window; the pretend VMM and
#          its taps live for the whole session
#   disk   I/Os per second, from the kernel's count of pread()/pwrite() calls of fio's job
#          process (/proc/PID/io syscr + syscw: one per I/O with the psync engine), since the
#          job must run for the whole session to be tracked; fio's own figure (JSON) of a
#          detached run is reported beside it as a check
#
# The sampler part (tests/bench/spin, a CPU-bound loop, is its workload) measures two ways:
#   program time  kvmtrace-bpf -q -i 1 --counters none at its default rate, bpf_stats on, for
#                 BENCH_SAMPLER_SECONDS: the first half with a loop on every CPU that it does
#                 not track, the second half with a loop on every CPU that it tracks (started
#                 as qemu-system-bench, found by discovery) and that spends about a third of
#                 its time in system calls, so that its kernel samples take the costliest
#                 path (the binary search of kernel text and the stack walk); per window of
#                 the program's run_cnt and run_time_ns (bpftool prog show -j): hits per second
#                 and CPU, ns per hit, and their product, the share of one CPU
#   end to end    the rate of a loop pinned to BENCH_SAMPLER_CPU, tracked, for
#                 BENCH_SAMPLER_TRIAL s, with kvmtrace-bpf at its default rate (on), at
#                 --sample-hz 0 (off), and at --sample-hz 0 beside tests/bench/empty_sampler,
#                 an empty program on the same events at the same rate (empty), in
#                 BENCH_SAMPLER_TRIALS rounds (order rotated each round); the rate counts only
#                 the time the loop ran (tests/bench/spin.c), so that other tasks on a shared
#                 machine do not swamp the figure; the slowdown counts the timer interrupt
#                 behind each sample too, which bpf_stats cannot see, and is read against the
#                 change between consecutive trials of one configuration
#
# The peers part (issue 7): the pipe bench of the sched part, in BENCH_PEERS_ROUNDS rounds
# (order rotated) of sessions pre / off / post as above, without bpf_stats, with nothing
# attached (none: an A/A check), kvmtrace-bpf tracking the bench's two processes (kvmtrace;
# kvmtrace0 the same at --sample-hz 0, its scheduler hooks alone), `perf stat -p` of them with
# software events (perfstat: the seed tracker's method), `perf record -a -g` at perf's default
# rate (perfrecord: the paper's method; perf kvm record needs /dev/kvm) and
# bpftrace running tests/bench/peer.bt (bpftrace; left out, and said so, when not installed);
# each tool's median slowdown and its ratio to kvmtrace-bpf's.
#
# Results: bench/results.md (markdown tables) and bench/results.json, with the date and
# machine. A run of some parts (BENCH_PARTS) keeps the other parts' sections and figures from
# the earlier results, each section with the date of its run (the JSON merge needs jq).
# Knobs (environment): BENCH_PARTS ("sched net disk sampler peers"), BENCH_ROUNDS (sched, 5),
# BENCH_NET_ROUNDS (3), BENCH_DISK_ROUNDS (3), BENCH_PEERS_ROUNDS (4), BENCH_WINDOW (seconds, 2;
# whole seconds for iperf3), BENCH_SETTLE (seconds, 1), BENCH_CPUS (the taskset CPU list of
# the workloads, or "all"; default: the last CPU), BENCH_DISK_DIR (where fio's temporary
# folder goes, /var/tmp: a file system on a block device), BENCH_SAMPLER_SECONDS (20),
# BENCH_SAMPLER_TRIALS (6),
# BENCH_SAMPLER_TRIAL (seconds, 3), BENCH_SAMPLER_CPU (0), BENCH_PEERS_TRACER_ARGS (more
# kvmtrace-bpf options for the peers part, e.g. "--sample-hz 99"; none by default: the
# defaults are what is compared), BENCH_RESULTS_DIR (bench/ of the repository).
#
# The workloads are pinned to one CPU by default. sched: both processes then take turns on it,
# every loop is exactly two context switches and one wakeup, all on the critical path (the
# worst case for a scheduler tracer), and the bench does not flip between same-CPU and
# cross-CPU ping-pong from one window to the next, which on a small virtual machine changes
# its speed by tens of percent. net: iperf3's two ends and the pretend VMM share the CPU, so
# every frame's whole path, hooks included, runs on it and throughput is bound by it.
#
# The net part creates network namespaces kt-bench-peer and kt-bench-guest, bridge
# kt-bench-br, veth pair kt-bench-veth/kt-bench-vpeer and taps kt-bench-tap/kt-bench-gtap
# (10.214.0.0/24, IPv6 off: only the bench's traffic), and removes them on exit, on failure
# and on Ctrl-C; leftovers of a run killed with SIGKILL are removed at the next start.

set -u -o pipefail

PROG=bench
OUT=${1:-}
if [ -z "$OUT" ] || [ $# -ne 1 ]; then
	echo "usage: $0 OUTPUT_DIR  (the build folder with kvmtrace-bpf and bench/)" >&2
	exit 2
fi
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TRACER=$OUT/kvmtrace-bpf
LOADER=$OUT/bench/empty_loader
TAP_FWD=$OUT/bench/tap_fwd
SPIN=$OUT/bench/spin
EMPTY_SAMPLER=$OUT/bench/empty_sampler
PEER_BT=$ROOT/tests/bench/peer.bt
RESULTS_DIR=${BENCH_RESULTS_DIR:-$ROOT/bench}
PARTS=${BENCH_PARTS:-sched net disk sampler peers}
PARTS=${PARTS//,/ }
ROUNDS=${BENCH_ROUNDS:-5}
NET_ROUNDS=${BENCH_NET_ROUNDS:-3}
DISK_ROUNDS=${BENCH_DISK_ROUNDS:-3}
PEERS_ROUNDS=${BENCH_PEERS_ROUNDS:-4}
read -r -a PEERS_TRACER_ARGS <<<"${BENCH_PEERS_TRACER_ARGS:-}"
WINDOW=${BENCH_WINDOW:-2}
SETTLE=${BENCH_SETTLE:-1}
CPUS=${BENCH_CPUS:-$(($(nproc) - 1))}
[ "$CPUS" = all ] && CPUS=
DISK_PARENT=${BENCH_DISK_DIR:-/var/tmp}
SAMPLER_SECONDS=${BENCH_SAMPLER_SECONDS:-20}
SAMPLER_TRIALS=${BENCH_SAMPLER_TRIALS:-6}
SAMPLER_TRIAL=${BENCH_SAMPLER_TRIAL:-3}
SAMPLER_CPU=${BENCH_SAMPLER_CPU:-0}
SAMPLER_WINDOWS=4		# bpf_stats windows in each half of the program-time measure
LOOPS=1000000000		# never reached: the bench is stopped after its session
CALIB_LOOPS=100000
STATS_SYSCTL=/proc/sys/kernel/bpf_stats_enabled

# Configurations of each part.
declare -A PART_CONFIGS=(
	[sched]="baseline empty tracer tracked"
	[net]="empty tracer tracked"
	[disk]="empty tracer tracked"
	[sampler]="on off empty"
	[peers]="none kvmtrace kvmtrace0 perfstat perfrecord bpftrace"
)
# The hooks whose programs each part measures; the first one tells that a program attached.
declare -A PART_HOOKS=(
	[sched]="sched_switch sched_wakeup"
	[net]="net_dev_start_xmit netif_receive_skb"
	[disk]="block_bio_queue block_rq_complete"
)

# The net part's names and addresses: all kt-bench-*, all removed on exit.
NS_PEER=kt-bench-peer		# iperf3's client
NS_GUEST=kt-bench-guest		# iperf3's server, behind the pretend VMM
BRIDGE=kt-bench-br
VETH=kt-bench-veth		# on the bridge; its peer VETH_PEER is in NS_PEER
VETH_PEER=kt-bench-vpeer
TAP_HOST=kt-bench-tap		# on the bridge: the VM's tap as the host sees it
TAP_GUEST=kt-bench-gtap		# in NS_GUEST: the pretend guest's NIC
GUEST_MAC=02:6b:74:62:00:01	# fixed, so the peer's ARP entry outlives the taps of a session
# A tap drops what its holder has not read yet beyond its queue: with the default 1000, the
# frames TCP sends in a burst while the pretend VMM waits for the CPU overflow it, and
# retransmissions make throughput swing by tens of percent from one run to the next.
TAP_QLEN=10000
IP_PEER=10.214.0.2
IP_GUEST=10.214.0.1
IPERF_PORT=5201
FWD_PLAIN=kt-bench-fwd		# the pretend VMM's name when it must not be found
FWD_VMM=qemu-system-x86_64	# and when it must: a VMM's name for kvmtrace-bpf's discovery

# The disk part's fio job (the file is created in a temporary folder at the start).
FIO_SIZE=256M
FIO_BS=4k

# The sampler part's loop, under a name discovery ignores and under a VMM's name.
SPIN_PLAIN=kt-bench-spin
SPIN_VMM=qemu-system-bench
SPIN_CUT_DESC=8		# SPIN_CUT of tests/bench/spin.c, for the results' text
# BPF_PROG_TYPE_PERF_EVENT in a program's fdinfo: the sampler, kvmtrace-bpf's only one.
PROG_TYPE_PERF_EVENT=7

# Targets of the issue.
TARGET_RATIO=1.5
TARGET_SLOWDOWN=2
TARGET_SAMPLER=0.5		# % of one CPU

die()
{
	echo "$PROG: cannot measure: $*" >&2
	exit 1
}

say()
{
	echo "$PROG: $*" >&2
}

is_number()
{
	[[ $1 =~ ^[0-9]+([.][0-9]+)?$ ]]
}

has_part()
{
	[[ " $PARTS " == *" $1 "* ]]
}

# --- checks -------------------------------------------------------------------------------

[ "$(id -u)" -eq 0 ] || die "needs root (bpf, perf, network namespaces and kernel.bpf_stats_enabled)"
for p in $PARTS; do
	[ -n "${PART_CONFIGS[$p]:-}" ] || die "BENCH_PARTS: unknown part '$p' (sched, net, disk, sampler, peers)"
done
[ -n "${PARTS// /}" ] || die "BENCH_PARTS is empty"
[ -x "$TRACER" ] || die "no $TRACER: run make"
[ -x "$LOADER" ] || die "no $LOADER: run make bench-tools"
command -v bpftool >/dev/null || die "no bpftool"
[ -w "$STATS_SYSCTL" ] || die "no writable $STATS_SYSCTL"
[ -r /proc/self/io ] || die "no /proc/PID/io (CONFIG_TASK_IO_ACCOUNTING)"
if has_part sched || has_part peers; then
	command -v perf >/dev/null || die "no perf: install linux-perf"
fi
# The peers part runs without bpftrace, leaving its configuration out and saying so.
PEERS_NOTE=
if has_part peers; then
	[ -r "$PEER_BT" ] || die "no $PEER_BT"
	if ! command -v bpftrace >/dev/null; then
		PART_CONFIGS[peers]=${PART_CONFIGS[peers]/ bpftrace/}
		PEERS_NOTE="bpftrace is not installed (apt-get install bpftrace): its configuration was left out."
		say "peers: $PEERS_NOTE"
	fi
fi
if has_part net; then
	command -v iperf3 >/dev/null || die "no iperf3: install iperf3"
	command -v ip >/dev/null || die "no ip: install iproute2"
	[ -x "$TAP_FWD" ] || die "no $TAP_FWD: run make bench-tools"
	[ -c /dev/net/tun ] || die "no /dev/net/tun"
fi
if has_part disk; then
	command -v fio >/dev/null || die "no fio: install fio"
	command -v findmnt >/dev/null || die "no findmnt: install util-linux"
fi
if has_part sampler; then
	command -v taskset >/dev/null || die "the sampler part needs taskset (util-linux)"
	[ -x "$SPIN" ] || die "no $SPIN: run make bench-tools"
	[ -x "$EMPTY_SAMPLER" ] || die "no $EMPTY_SAMPLER: run make bench-tools"
	taskset -c "$SAMPLER_CPU" true 2>/dev/null ||
		die "BENCH_SAMPLER_CPU='$SAMPLER_CPU' is no usable CPU"
	# The rate kvmtrace-bpf samples at when not told: its --help says it, and its source.
	SAMPLE_HZ=$("$TRACER" --help 2>/dev/null |
		sed -n '/--sample-hz/,/^ *-/s/.*(default \([0-9][0-9]*\).*/\1/p' | head -n 1)
	[ -n "$SAMPLE_HZ" ] || SAMPLE_HZ=$(awk '$1 == "#define" && $2 == "CLI_DEFAULT_SAMPLE_HZ" {
		print $3 }' "$ROOT/user/cli.h" 2>/dev/null)
	[[ ${SAMPLE_HZ:-} =~ ^[1-9][0-9]*$ ]] ||
		die "cannot read the default sampling rate from $TRACER --help"
fi
for v in ROUNDS NET_ROUNDS DISK_ROUNDS WINDOW SETTLE SAMPLER_SECONDS SAMPLER_TRIAL; do
	is_number "${!v}" || die "BENCH_$v='${!v}' is not a number"
done
for v in ROUNDS NET_ROUNDS DISK_ROUNDS PEERS_ROUNDS SAMPLER_TRIALS; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "BENCH_$v must be an integer >= 1"
done
SETTLE_US=$(awk -v s="$SETTLE" 'BEGIN { printf "%d", s * 1e6 }')
# iperf3 runs for whole seconds.
NET_TIME=$(LC_ALL=C printf '%.0f' "$WINDOW")
[ "$NET_TIME" -ge 1 ] || NET_TIME=1
PIN=()
PIN_DESC="not pinned"
if [ -n "$CPUS" ]; then
	command -v taskset >/dev/null || die "BENCH_CPUS needs taskset (util-linux)"
	taskset -c "$CPUS" true 2>/dev/null || die "BENCH_CPUS='$CPUS' is no usable CPU list"
	PIN=(taskset -c "$CPUS")
	PIN_DESC="pinned to CPU $CPUS"
fi

# --- state and cleanup --------------------------------------------------------------------

TMP=$(mktemp -d /tmp/kvmtrace-bench.XXXXXX) || die "mktemp failed"
STATS_OLD=$(cat "$STATS_SYSCTL")
BENCH_PID=
CHILD_PID=
ATT_PID=
FWD_PID=
SERVER_PID=
CLIENT_PID=
FIO_PID=
FIO_WORKER=
SPIN_PIDS=()
EMPTY_PID=
DISK_DIR=
NET_MADE=

# Ends a process we started (by its PID) with signal $2, then SIGKILL after 5 s; reaps it.
stop_pid()
{
	local pid=$1 sig=$2 i

	[ -n "$pid" ] || return 0
	kill "-$sig" "$pid" 2>/dev/null
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}

stop_attacher()
{
	stop_pid "$ATT_PID" INT
	ATT_PID=
}

stop_bench()
{
	# The child survives its parent: end it first, by its PID.
	[ -n "$CHILD_PID" ] && kill -KILL "$CHILD_PID" 2>/dev/null
	[ -n "$BENCH_PID" ] && kill -KILL "$BENCH_PID" 2>/dev/null
	[ -n "$BENCH_PID" ] && wait "$BENCH_PID" 2>/dev/null
	BENCH_PID=
	CHILD_PID=
}

stop_fio()
{
	# fio ends its job process when asked to stop; should it not, its job is ended by PID.
	stop_pid "$FIO_PID" TERM
	if [ -n "$FIO_WORKER" ] && [ "$(cat "/proc/$FIO_WORKER/comm" 2>/dev/null)" = fio ]; then
		kill -KILL "$FIO_WORKER" 2>/dev/null
	fi
	FIO_PID=
	FIO_WORKER=
}

# The sampler part's loops.
stop_spins()
{
	local pid

	for pid in "${SPIN_PIDS[@]}"; do
		stop_pid "$pid" TERM
	done
	SPIN_PIDS=()
}

link_exists()
{
	ip link show dev "$1" >/dev/null 2>&1
}

# The pretend VMM; its taps go with it.
stop_fwd()
{
	local i

	stop_pid "$FWD_PID" TERM
	FWD_PID=
	for ((i = 0; i < 500; i++)); do
		link_exists "$TAP_HOST" || break
		sleep 0.02
	done
}

# Removes whatever the net part made (only kt-bench-* objects). Safe to call at any time.
net_teardown()
{
	local ns dev

	stop_pid "$CLIENT_PID" TERM
	CLIENT_PID=
	stop_fwd
	stop_pid "$SERVER_PID" TERM
	SERVER_PID=
	for ns in "$NS_PEER" "$NS_GUEST"; do
		[ -e "/run/netns/$ns" ] && ip netns delete "$ns" 2>/dev/null
	done
	for dev in "$VETH" "$TAP_HOST" "$BRIDGE"; do
		link_exists "$dev" && ip link delete dev "$dev" 2>/dev/null
	done
	NET_MADE=
}

# shellcheck disable=SC2317  # called by the EXIT trap
cleanup()
{
	stop_attacher
	stop_bench
	stop_fio
	stop_spins
	stop_pid "$EMPTY_PID" TERM
	[ -n "$NET_MADE" ] && net_teardown
	echo "$STATS_OLD" >"$STATS_SYSCTL" 2>/dev/null
	[ -n "$DISK_DIR" ] && rm -rf "$DISK_DIR"
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

set_stats()
{
	echo "$1" >"$STATS_SYSCTL" || die "cannot write $STATS_SYSCTL"
}

# --- sched: perf bench sched pipe ---------------------------------------------------------

# Loops done so far: the parent writes once per loop. Sets SYSCW; no fork.
read_syscw()
{
	local k v

	SYSCW=
	while read -r k v; do
		[ "$k" = "syscw:" ] && SYSCW=$v
	done 2>/dev/null <"/proc/$BENCH_PID/io"
	[ -n "$SYSCW" ] || die "the bench (PID $BENCH_PID) is gone"
}

start_bench()
{
	local i

	# taskset execs perf: $! is perf's PID either way.
	"${PIN[@]}" perf bench sched pipe -l "$LOOPS" >/dev/null 2>"$TMP/perf.err" </dev/null &
	BENCH_PID=$!
	for ((i = 0; i < 200; i++)); do
		CHILD_PID=$(pgrep -P "$BENCH_PID" | head -n 1)
		[ -n "$CHILD_PID" ] && break
		kill -0 "$BENCH_PID" 2>/dev/null || break
		sleep 0.02
	done
	[ -n "$CHILD_PID" ] || die "perf bench sched pipe did not start: $(head -c 500 "$TMP/perf.err")"
	# Running once its loop count moves.
	read_syscw
	local first=$SYSCW
	for ((i = 0; i < 200; i++)); do
		sleep 0.02
		read_syscw
		[ "$SYSCW" -gt "$first" ] && return 0
	done
	die "perf bench sched pipe makes no progress"
}

# One window: sets W_COUNT (loops), W_USECS and W_UNITS (loops: the unit of runs per op).
window_sched()
{
	local o0 t0

	read_syscw
	t0=${EPOCHREALTIME/./}
	o0=$SYSCW
	sleep "$WINDOW"
	read_syscw
	W_USECS=$((${EPOCHREALTIME/./} - t0))
	W_COUNT=$((SYSCW - o0))
	W_UNITS=$W_COUNT
}


# --- net: iperf3 across a bridge ----------------------------------------------------------

no_ipv6()
{
	echo 1 >"/proc/sys/net/ipv6/conf/$1/disable_ipv6" 2>/dev/null || true
}

# Removes kt-bench-* objects left by a run that could not clean up (killed with SIGKILL).
net_remove_leftovers()
{
	local ns dev pids found=

	for ns in "$NS_PEER" "$NS_GUEST"; do
		[ -e "/run/netns/$ns" ] || continue
		found=1
		pids=$(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ')
		[ -n "$pids" ] && say "warning: processes left in namespace $ns by an earlier run: $pids"
	done
	for dev in "$VETH" "$TAP_HOST" "$BRIDGE"; do
		link_exists "$dev" && found=1
	done
	if [ -n "$found" ]; then
		say "removing the network namespaces and devices left by an earlier run"
		net_teardown
	fi
}

net_setup()
{
	local ns i

	net_remove_leftovers
	NET_MADE=1
	for ns in "$NS_PEER" "$NS_GUEST"; do
		ip netns add "$ns" || die "cannot create network namespace $ns"
		# New devices of the namespace start without IPv6: no router or neighbour chatter.
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
			net.ipv6.conf.default.disable_ipv6=1 >/dev/null 2>&1
		ip -n "$ns" link set lo up
	done
	ip link add "$BRIDGE" type bridge stp_state 0 forward_delay 0 ||
		die "cannot create bridge $BRIDGE"
	no_ipv6 "$BRIDGE"
	ip link set "$BRIDGE" up || die "cannot bring $BRIDGE up"
	ip link add "$VETH" type veth peer name "$VETH_PEER" netns "$NS_PEER" ||
		die "cannot create veth pair $VETH/$VETH_PEER"
	no_ipv6 "$VETH"
	ip link set "$VETH" master "$BRIDGE" up || die "cannot put $VETH on $BRIDGE"
	if ! ip -n "$NS_PEER" addr add "$IP_PEER/24" dev "$VETH_PEER" ||
		! ip -n "$NS_PEER" link set "$VETH_PEER" up; then
		die "cannot configure $VETH_PEER"
	fi
	# The pretend VMM's copies under both names.
	mkdir -p "$TMP/bin"
	if ! cp "$TAP_FWD" "$TMP/bin/$FWD_PLAIN" || ! cp "$TAP_FWD" "$TMP/bin/$FWD_VMM"; then
		die "cannot copy $TAP_FWD"
	fi
	# The server, for the whole part; it listens in its namespace whatever its NIC.
	ip netns exec "$NS_GUEST" "${PIN[@]}" iperf3 -s -p "$IPERF_PORT" \
		>"$TMP/iperf-server.log" 2>&1 </dev/null &
	SERVER_PID=$!
	for ((i = 0; i < 100; i++)); do
		ip netns exec "$NS_GUEST" ss -Htln "sport = :$IPERF_PORT" 2>/dev/null | grep -q . && break
		kill -0 "$SERVER_PID" 2>/dev/null ||
			die "iperf3 -s did not start: $(head -c 500 "$TMP/iperf-server.log")"
		sleep 0.05
	done
	# A first run, not measured: the first one after setting up is slower (neighbour and
	# bridge tables, socket buffers).
	start_fwd "$FWD_PLAIN"
	window_net
	stop_fwd
}

# Starts the pretend VMM under name $1 and wires its taps: the guest's into NS_GUEST, the
# host's onto the bridge.
start_fwd()
{
	local name=$1 i

	"${PIN[@]}" "$TMP/bin/$name" "$TAP_GUEST" "$TAP_HOST" >"$TMP/fwd.out" 2>"$TMP/fwd.err" \
		</dev/null &
	FWD_PID=$!
	# Creating a tap waits for the RTNL lock, which other work on the host may hold a while.
	for ((i = 0; i < 1500; i++)); do
		grep -qx ready "$TMP/fwd.out" 2>/dev/null && break
		kill -0 "$FWD_PID" 2>/dev/null ||
			die "tap_fwd did not start: $(head -c 500 "$TMP/fwd.err")"
		sleep 0.02
	done
	grep -qx ready "$TMP/fwd.out" 2>/dev/null || die "tap_fwd did not create its taps within 30 s"
	if ! ip link set "$TAP_GUEST" netns "$NS_GUEST" ||
		! ip -n "$NS_GUEST" link set "$TAP_GUEST" address "$GUEST_MAC" txqueuelen "$TAP_QLEN" ||
		! ip -n "$NS_GUEST" addr add "$IP_GUEST/24" dev "$TAP_GUEST" ||
		! ip -n "$NS_GUEST" link set "$TAP_GUEST" up; then
		die "cannot configure $TAP_GUEST"
	fi
	no_ipv6 "$TAP_HOST"
	ip link set "$TAP_HOST" master "$BRIDGE" txqueuelen "$TAP_QLEN" up ||
		die "cannot put $TAP_HOST on $BRIDGE"
}

# Frames the host sent on its tap (to the pretend guest). Sets TAP_TX; no fork.
read_tap_tx()
{
	TAP_TX=0
	read -r TAP_TX 2>/dev/null <"/sys/class/net/$TAP_HOST/statistics/tx_packets"
}

# One window: an iperf3 run. Sets W_COUNT (bytes received), W_USECS (iperf3's duration) and
# W_UNITS (frames to the pretend guest: the unit of runs per op).
window_net()
{
	local p0 rc line

	read_tap_tx
	p0=$TAP_TX
	# A watchdog: iperf3 can hang on a broken path.
	timeout -k 2 $((NET_TIME + 20)) ip netns exec "$NS_PEER" "${PIN[@]}" \
		iperf3 -c "$IP_GUEST" -p "$IPERF_PORT" -t "$NET_TIME" -J --connect-timeout 3000 \
		>"$TMP/iperf.json" 2>"$TMP/iperf.err" </dev/null &
	CLIENT_PID=$!
	wait "$CLIENT_PID"
	rc=$?
	CLIENT_PID=
	read_tap_tx
	W_UNITS=$((TAP_TX - p0))
	# "bytes seconds" of the receiver's total, or the run's error.
	line=$(awk '
		/"error":/ { sub(/^[^:]*:[ \t]*/, ""); err = $0 }
		/"sum_received":/ { in_sum = 1 }
		in_sum && /"bytes":/ { gsub(/[^0-9.]/, "", $2); bytes = $2 }
		in_sum && /"seconds":/ { gsub(/[^0-9.]/, "", $2); secs = $2 }
		in_sum && /}/ { in_sum = 0 }
		END {
			if (err != "")
				print "error", err
			else if (bytes > 0 && secs > 0)
				printf "%d %d\n", bytes, secs * 1e6
		}' "$TMP/iperf.json")
	case $line in
	"" | error*)
		die "iperf3 failed (exit $rc): ${line#error }$(head -c 300 "$TMP/iperf.err")" ;;
	esac
	read -r W_COUNT W_USECS <<<"$line"
}

net_session_start()
{
	# Found by discovery only when tracked: the same binary, under a VMM's name or not.
	if [ "$CFG" = tracked ]; then
		start_fwd "$FWD_VMM"
	else
		start_fwd "$FWD_PLAIN"
	fi
	ip -n "$NS_PEER" neigh flush all 2>/dev/null
}

# --- disk: fio ----------------------------------------------------------------------------

disk_setup()
{
	local fs

	mkdir -p "$DISK_PARENT" 2>/dev/null
	DISK_DIR=$(mktemp -d "$DISK_PARENT/kvmtrace-bench-disk.XXXXXX") ||
		die "cannot create a folder in $DISK_PARENT (BENCH_DISK_DIR)"
	read -r DISK_SOURCE DISK_FSTYPE < <(findmnt -n -o SOURCE,FSTYPE -T "$DISK_DIR")
	fs="$DISK_FSTYPE on ${DISK_SOURCE:-?}"
	case ${DISK_FSTYPE:-} in
	tmpfs | ramfs | devtmpfs | "")
		die "$DISK_PARENT is $fs, not on a block device: set BENCH_DISK_DIR" ;;
	esac
	FIO_FILE=$DISK_DIR/kt-bench.fio
	FIO_JOB=(--name=kt-bench "--filename=$FIO_FILE" "--size=$FIO_SIZE" --direct=1
		--ioengine=psync --rw=randrw --rwmixread=50 "--bs=$FIO_BS" --time_based)
	# fio's own figure, nothing attached; it also lays the file out.
	"${PIN[@]}" fio "${FIO_JOB[@]}" "--runtime=$WINDOW" --output-format=json \
		>"$TMP/fio-self.json" 2>"$TMP/fio-self.err" </dev/null ||
		die "fio failed on $fs: $(head -c 500 "$TMP/fio-self.err")"
	# The "iops" of its read and write totals.
	FIO_SELF=$(awk '
		/"(read|write)" : \{/ { want = 1 }
		want && /"iops" :/ { gsub(/[^0-9.]/, "", $3); sum += $3; want = 0 }
		END { if (sum > 0) print sum }' "$TMP/fio-self.json")
	is_number "${FIO_SELF:-x}" || die "fio gave no IOPS: $(head -c 300 "$TMP/fio-self.json")"
}

# I/Os so far of the job process: one pread() or pwrite() each. Sets FIO_IOS; no fork.
read_fio_ios()
{
	local k v

	FIO_IOS=
	while read -r k v; do
		case $k in
		syscr:) FIO_IOS=$v ;;
		syscw:) FIO_IOS=$((FIO_IOS + v)) ;;
		esac
	done 2>/dev/null <"/proc/$FIO_WORKER/io"
	[ -n "$FIO_IOS" ] || die "fio's job process (PID $FIO_WORKER) is gone"
}

disk_session_start()
{
	local i first

	"${PIN[@]}" fio "${FIO_JOB[@]}" --runtime=3600 --output-format=json \
		>"$TMP/fio.json" 2>"$TMP/fio.err" </dev/null &
	FIO_PID=$!
	# fio forks the job process that does the I/O.
	for ((i = 0; i < 500; i++)); do
		FIO_WORKER=$(pgrep -P "$FIO_PID" | head -n 1)
		[ -n "$FIO_WORKER" ] && break
		kill -0 "$FIO_PID" 2>/dev/null || break
		sleep 0.02
	done
	[ -n "$FIO_WORKER" ] || die "fio did not start its job: $(head -c 500 "$TMP/fio.err")"
	read_fio_ios
	first=$FIO_IOS
	for ((i = 0; i < 250; i++)); do
		sleep 0.02
		read_fio_ios
		[ "$FIO_IOS" -gt "$first" ] && return 0
	done
	die "fio makes no progress"
}

# One window: sets W_COUNT (I/Os), W_USECS and W_UNITS (I/Os: the unit of runs per op).
window_disk()
{
	local o0 t0

	read_fio_ios
	t0=${EPOCHREALTIME/./}
	o0=$FIO_IOS
	sleep "$WINDOW"
	read_fio_ios
	W_USECS=$((${EPOCHREALTIME/./} - t0))
	W_COUNT=$((FIO_IOS - o0))
	W_UNITS=$W_COUNT
}

# --- sampler: kvmtrace-bpf's perf_event program -----------------------------------------

# Starts the loop on CPU $1 as $2, with spin's arguments $3...; its PID goes to SPIN_PIDS.
start_spin()
{
	local cpu=$1 name=$2
	shift 2

	# taskset execs the loop: $! is its PID, and discovery sees the exec of a VMM's name.
	taskset -c "$cpu" "$TMP/bin/$name" "$@" >/dev/null 2>>"$TMP/spin.err" </dev/null &
	SPIN_PIDS+=("$!")
}

# Starts kvmtrace-bpf, writing to DIR, at sampling rate $1 (empty: its default) and returns once
# it has written its first rows, by when it has opened all it opens. Sets SAMPLER_ID and
# SAMPLER_NAME, the sampler program's, or empties them when it has none.
start_sampler_tracer()
{
	local hz=$1 i f k v type id json
	local -a rate=()

	[ -n "$hz" ] && rate=(--sample-hz "$hz")
	mkdir -p "$DIR"
	"$TRACER" -q -i 1 -o "$DIR" --counters none "${rate[@]}" \
		>/dev/null 2>"$TMP/tracer.err" </dev/null &
	ATT_PID=$!
	for ((i = 0; i < 600; i++)); do
		awk 'FNR == 2 { found = 1; exit } END { exit !found }' "$DIR"/*.csv 2>/dev/null &&
			break
		kill -0 "$ATT_PID" 2>/dev/null ||
			die "kvmtrace-bpf exited: $(head -c 800 "$TMP/tracer.err")"
		sleep 0.05
	done
	[ "$i" -lt 600 ] || die "kvmtrace-bpf wrote no row within 30 s"
	SAMPLER_ID=
	SAMPLER_NAME=
	for f in /proc/"$ATT_PID"/fdinfo/*; do
		type=
		id=
		while read -r k v; do
			case $k in
			prog_type:) type=$v ;;
			prog_id:) id=$v ;;
			esac
		done 2>/dev/null <"$f"
		[ "$type" = "$PROG_TYPE_PERF_EVENT" ] && [ -n "$id" ] && SAMPLER_ID=$id && break
	done
	[ -n "$SAMPLER_ID" ] || return 0
	json=$(bpftool prog show id "$SAMPLER_ID" -j 2>/dev/null)
	[[ $json =~ \"name\":\"([^\"]*)\" ]] && SAMPLER_NAME=${BASH_REMATCH[1]}
	[[ $SAMPLER_NAME == kt_sample* ]] ||
		die "kvmtrace-bpf's perf_event program is ${SAMPLER_NAME:-unnamed}, not kt_sample*"
}

# The sampler's counters, from bpftool: sets SNAP_T (run_time_ns), SNAP_C (run_cnt) and
# SNAP_US, the time of the reading in microseconds.
sampler_snapshot()
{
	local json t0

	t0=${EPOCHREALTIME/./}
	json=$(bpftool prog show id "$SAMPLER_ID" -j 2>/dev/null) ||
		die "bpftool cannot show the sampler (program $SAMPLER_ID)"
	SNAP_US=$(((t0 + ${EPOCHREALTIME/./}) / 2))
	# bpftool leaves both out while the program has no time.
	SNAP_T=0
	SNAP_C=0
	[[ $json =~ \"run_time_ns\":([0-9]+) ]] && SNAP_T=${BASH_REMATCH[1]}
	[[ $json =~ \"run_cnt\":([0-9]+) ]] && SNAP_C=${BASH_REMATCH[1]}
}

# SAMPLER_WINDOWS windows of the program-time measure, named $1: appends "phase run_time_ns
# run_cnt usecs" of each to sampler-stats.tsv.
sampler_windows()
{
	local phase=$1 w t0 c0 u0

	sampler_snapshot
	t0=$SNAP_T
	c0=$SNAP_C
	u0=$SNAP_US
	for ((w = 0; w < SAMPLER_WINDOWS; w++)); do
		sleep "$SAMPLER_WIN"
		sampler_snapshot
		kill -0 "$ATT_PID" 2>/dev/null || die "kvmtrace-bpf exited during the window"
		printf '%s\t%s\t%s\t%s\n' "$phase" "$((SNAP_T - t0))" "$((SNAP_C - c0))" \
			"$((SNAP_US - u0))" >>"$TMP/sampler-stats.tsv"
		t0=$SNAP_T
		c0=$SNAP_C
		u0=$SNAP_US
	done
}

# Clock ticks the loops of SPIN_PIDS spent in user space and in the kernel: sets SPIN_UTIME and
# SPIN_STIME.
spin_times()
{
	local pid line
	local -a f

	SPIN_UTIME=0
	SPIN_STIME=0
	for pid in "${SPIN_PIDS[@]}"; do
		read -r line 2>/dev/null <"/proc/$pid/stat" || die "the loop (PID $pid) is gone"
		# The fields after the command's closing parenthesis; utime and stime are 12 and 13.
		read -r -a f <<<"${line##*) }"
		SPIN_UTIME=$((SPIN_UTIME + f[11]))
		SPIN_STIME=$((SPIN_STIME + f[12]))
	done
}

# Program time at the default rate: loops not tracked, then tracked VMM-named loops that make
# system calls.
sampler_stats()
{
	local cpu u0 s0

	DIR=$TMP/out-sampler-stats
	CFG=sampler
	for ((cpu = 0; cpu < NCPU_ONLINE; cpu++)); do
		start_spin "$cpu" "$SPIN_PLAIN" 0
	done
	start_sampler_tracer ""
	[ -n "$SAMPLER_ID" ] ||
		die "kvmtrace-bpf runs no sampler at its default rate: $(head -c 800 "$TMP/tracer.err")"
	set_stats 1
	sleep "$SETTLE"
	sampler_windows untracked
	count_discovered
	stop_spins
	for ((cpu = 0; cpu < NCPU_ONLINE; cpu++)); do
		start_spin "$cpu" "$SPIN_VMM" -k 0
	done
	wait_tracked "" "${SPIN_PIDS[@]}"
	sleep "$SETTLE"
	spin_times
	u0=$SPIN_UTIME
	s0=$SPIN_STIME
	sampler_windows tracked
	spin_times
	set_stats 0
	SPIN_KERNEL_PCT=$(awk -v u=$((SPIN_UTIME - u0)) -v s=$((SPIN_STIME - s0)) \
		'BEGIN { if (u + s > 0) printf "%.0f", 100 * s / (u + s) }')
	stop_attacher
	stop_spins
}

# The floor of the sampler: an empty program on the same events, at the same rate.
start_empty_sampler()
{
	local i

	"$EMPTY_SAMPLER" "$SAMPLE_HZ" >"$TMP/empty-sampler.out" 2>"$TMP/empty-sampler.err" \
		</dev/null &
	EMPTY_PID=$!
	for ((i = 0; i < 600; i++)); do
		grep -qx ready "$TMP/empty-sampler.out" 2>/dev/null && return 0
		kill -0 "$EMPTY_PID" 2>/dev/null ||
			die "empty_sampler exited: $(head -c 800 "$TMP/empty-sampler.err")"
		sleep 0.05
	done
	die "empty_sampler did not start within 30 s"
}

stop_empty_sampler()
{
	stop_pid "$EMPTY_PID" TERM
	EMPTY_PID=
}

# One end-to-end trial ($TRIAL) of configuration $1: kvmtrace-bpf at its default rate (on), at
# --sample-hz 0 (off), or at --sample-hz 0 beside the empty sampler at the default rate (empty).
sampler_trial()
{
	local cfg=$1 hz=0 pid rate wall off

	[ "$cfg" = on ] && hz=$SAMPLE_HZ
	DIR=$TMP/out-sampler-$cfg-$TRIAL
	CFG=$cfg
	start_sampler_tracer "$hz"
	if [ "$cfg" = on ] && [ -z "$SAMPLER_ID" ]; then
		die "kvmtrace-bpf --sample-hz $hz runs no sampler: $(head -c 800 "$TMP/tracer.err")"
	fi
	[ "$cfg" != on ] && [ -n "$SAMPLER_ID" ] && die "kvmtrace-bpf --sample-hz 0 runs a sampler"
	[ "$cfg" = empty ] && start_empty_sampler
	# Running for a second already: it has written rows.
	sleep 0.3
	taskset -c "$SAMPLER_CPU" "$TMP/bin/$SPIN_VMM" "$SAMPLER_TRIAL" >"$TMP/spin.out" \
		2>>"$TMP/spin.err" </dev/null &
	pid=$!
	SPIN_PIDS=("$pid")
	wait "$pid"
	SPIN_PIDS=()
	# Rounds per second while it ran, and of its whole run; % of the run it did not run.
	read -r rate wall off <"$TMP/spin.out"
	if ! is_number "${rate:-x}" || ! is_number "${wall:-x}" || ! is_number "${off:-x}"; then
		die "the loop gave no rate: $(head -c 300 "$TMP/spin.err")"
	fi
	kill -0 "$ATT_PID" 2>/dev/null || die "kvmtrace-bpf exited during the trial"
	if [ "$cfg" = empty ]; then
		kill -0 "$EMPTY_PID" 2>/dev/null || die "empty_sampler exited during the trial"
		stop_empty_sampler
	fi
	stop_attacher
	# Tracked in every configuration, so that only the sampler differs.
	[ "$(csv_rows "$DIR" "$pid")" -ge 1 ] || die "kvmtrace-bpf did not track the loop (PID $pid)"
	printf '%s\t%s\t%s\t%s\t%s\n' "$TRIAL" "$cfg" "$rate" "$wall" "$off" \
		>>"$TMP/sampler-e2e.tsv"
	say "sampler trial $TRIAL $cfg: $rate rounds/s while running, $wall overall, $off% not running"
}

run_sampler()
{
	local k
	local -a configs

	read -r -a configs <<<"${PART_CONFIGS[sampler]}"
	mkdir -p "$TMP/bin"
	if ! cp "$SPIN" "$TMP/bin/$SPIN_PLAIN" || ! cp "$SPIN" "$TMP/bin/$SPIN_VMM"; then
		die "cannot copy $SPIN"
	fi
	NCPU_ONLINE=$(nproc)
	SAMPLER_WIN=$(awk -v s="$SAMPLER_SECONDS" -v n="$SAMPLER_WINDOWS" \
		'BEGIN { printf "%.3f", s / 2 / n }')
	sampler_stats
	SAMPLER_PROG=$SAMPLER_NAME
	say "sampler: $SAMPLER_PROG, program time measured; end to end on CPU $SAMPLER_CPU"
	for ((TRIAL = 1; TRIAL <= SAMPLER_TRIALS; TRIAL++)); do
		# The order rotated each time, so that no configuration always runs first or last.
		for ((k = 0; k < ${#configs[@]}; k++)); do
			sampler_trial "${configs[$(((k + TRIAL - 1) % ${#configs[@]}))]}"
		done
	done
}

# --- peers: the same workload under kvmtrace-bpf and the tools it replaces ------------------

# Starts the peer tool of configuration $CFG on the running bench (BENCH_PID, CHILD_PID) and
# returns once it is at work: kvmtrace-bpf once it wrote a row for both processes, perf stat
# once it printed its first interval, bpftrace once its probes are attached, perf record once
# it opened its events (its first samples are in its buffers; it writes them on its own).
peers_attach()
{
	local i
	local -a extra

	mkdir -p "$DIR"
	case $CFG in
	none)
		return 0
		;;
	kvmtrace | kvmtrace0)
		extra=("${PEERS_TRACER_ARGS[@]}")
		# kvmtrace0: the scheduler hooks alone, to tell their cost from the sampler's.
		[ "$CFG" = kvmtrace0 ] && extra+=(--sample-hz 0)
		"$TRACER" -q -i 1 -o "$DIR" --libvirt-uri none -p "$BENCH_PID" -p "$CHILD_PID" \
			"${extra[@]}" >/dev/null 2>"$TMP/tracer.err" </dev/null &
		ATT_PID=$!
		wait_tracked "" "$BENCH_PID" "$CHILD_PID"
		return 0
		;;
	perfstat)
		# The seed tracker's method. No hardware events on a machine without a PMU.
		perf stat -p "$BENCH_PID,$CHILD_PID" -I 1000 -o "$DIR/perf-stat.txt" \
			-e cpu-clock,task-clock,context-switches,page-faults \
			>/dev/null 2>"$TMP/peer.err" </dev/null &
		ATT_PID=$!
		;;
	perfrecord)
		# The paper's method (perf kvm record needs /dev/kvm), at perf's default rate as the
		# paper and the seed tracker ran it (neither gives -F); -B: no build-id pass at exit,
		# which would run during the next window.
		perf record -a -g -B -o "$DIR/perf.data" >/dev/null 2>"$TMP/peer.err" </dev/null &
		ATT_PID=$!
		;;
	bpftrace)
		bpftrace "$PEER_BT" >"$DIR/bpftrace.out" 2>"$TMP/peer.err" </dev/null &
		ATT_PID=$!
		;;
	esac
	for ((i = 0; i < 600; i++)); do
		kill -0 "$ATT_PID" 2>/dev/null || die "$CFG exited: $(head -c 800 "$TMP/peer.err")"
		case $CFG in
		perfstat) grep -q 'task-clock' "$DIR/perf-stat.txt" 2>/dev/null && return 0 ;;
		bpftrace) grep -q '^Attaching' "$DIR/bpftrace.out" 2>/dev/null && return 0 ;;
		perfrecord) [ -s "$DIR/perf.data" ] && return 0 ;;
		esac
		sleep 0.05
	done
	die "$CFG did not start within 30 s: $(head -c 800 "$TMP/peer.err")"
}

# One configuration ($CFG) in one round ($ROUND): windows pre, off (the tool at work) and post
# on one run of the bench, as in run_session but without bpf_stats.
peers_session()
{
	local t_attach left

	DIR="$TMP/out-peers-$CFG-$ROUND"
	start_bench
	measure_window pre 0
	t_attach=${EPOCHREALTIME/./}
	peers_attach
	left=$((SETTLE_US - (${EPOCHREALTIME/./} - t_attach)))
	[ "$left" -gt 0 ] && sleep "$((left / 1000000)).$(printf '%06d' $((left % 1000000)))"
	measure_window off 0
	stop_attacher
	sleep 0.3
	measure_window post 0
	stop_bench
}

run_peers()
{
	local k
	local -a configs

	PART=peers
	read -r -a configs <<<"${PART_CONFIGS[peers]}"
	for ((ROUND = 1; ROUND <= PEERS_ROUNDS; ROUND++)); do
		for ((k = 0; k < ${#configs[@]}; k++)); do
			CFG=${configs[$(((k + ROUND - 1) % ${#configs[@]}))]}
			peers_session
			awk -F'\t' -v r="$ROUND" -v c="$CFG" -v p="$PROG" '
				$1 == "peers" && $2 == r && $3 == c { v[$4] = $6 / $5 }
				END {
					printf "%s: peers round %d %-10s usecs/op: pre %.2f," \
						" attached %.2f, post %.2f\n", p, r, c, v["pre"],
						v["off"], v["post"]
				}' "$TMP/ops.tsv" >&2
		done
	done
}

# --- the attached programs ----------------------------------------------------------------

# After ATT_PID has attached: fills PROG_FDS (fd of each program linked to a hook of SCOPE),
# with PROG_NAMES and PROG_HOOKS, and ALL_HOOKS (every tracepoint it is linked to). Returns 1
# while READY (a hook) has no link yet.
find_programs()
{
	local fd link k v prog_id tp_name id name pfd
	local -A link_hook=() fd_of_id=()

	PROG_FDS=()
	PROG_NAMES=()
	PROG_HOOKS=()
	ALL_HOOKS=()
	for link in /proc/"$ATT_PID"/fd/*; do
		fd=${link##*/}
		case $(readlink "$link" 2>/dev/null) in
		anon_inode:bpf_link)
			prog_id=
			tp_name=
			while read -r k v; do
				case $k in
				prog_id:) prog_id=$v ;;
				tp_name:) tp_name=$v ;;
				esac
			done <"/proc/$ATT_PID/fdinfo/$fd"
			[ -n "$tp_name" ] && ALL_HOOKS+=("$tp_name")
			[ -n "$prog_id" ] && [[ " $SCOPE " == *" $tp_name "* ]] &&
				link_hook[$prog_id]=$tp_name
			;;
		anon_inode:bpf-prog)
			while read -r k v; do
				[ "$k" = "prog_id:" ] && fd_of_id[$v]=$fd
			done <"/proc/$ATT_PID/fdinfo/$fd"
			;;
		esac
	done
	for id in "${!link_hook[@]}"; do
		pfd=${fd_of_id[$id]:-}
		[ -n "$pfd" ] || continue
		name=$(bpftool prog show id "$id" 2>/dev/null | sed -n 's/.* name \([^ ]*\) .*/\1/p')
		PROG_FDS+=("$pfd")
		PROG_NAMES+=("${name:-prog$id}")
		PROG_HOOKS+=("${link_hook[$id]}")
	done
	for id in "${!link_hook[@]}"; do
		[ "${link_hook[$id]}" = "$READY" ] && return 0
	done
	return 1
}

# Waits until ATT_PID has its programs attached; $1 is its stderr file.
wait_attached()
{
	local err=$1 i

	for ((i = 0; i < 600; i++)); do
		kill -0 "$ATT_PID" 2>/dev/null ||
			die "the $CFG program exited: $(head -c 800 "$err")"
		find_programs && return 0
		sleep 0.05
	done
	die "the $CFG program did not attach within 30 s"
}

# Rows of the tracer's CSV files in $1 about process $2 (with column $3 filled, if given).
csv_rows()
{
	awk -F, -v pid="$2" -v col="${3:-}" '
		FNR == 1 {
			p = n = 0
			for (i = 1; i <= NF; i++) {
				if ($i == "pid")
					p = i
				if (col != "" && $i == col)
					n = i
			}
			next
		}
		p && $p == pid && (col == "" || (n && $n != "")) { rows++ }
		END { print rows + 0 }' "$1"/*.csv 2>/dev/null || echo 0
}

# Tracked case: waits for a data row of each of the given processes (with column $1 filled,
# if not empty), proof that the tracer tracks them.
wait_tracked()
{
	local col=$1 i pid ok
	shift

	for ((i = 0; i < 200; i++)); do
		ok=1
		for pid in "$@"; do
			[ "$(csv_rows "$DIR" "$pid" "$col")" -ge 1 ] || ok=
		done
		[ -n "$ok" ] && return 0
		kill -0 "$ATT_PID" 2>/dev/null || die "kvmtrace-bpf exited: $(head -c 800 "$TMP/tracer.err")"
		sleep 0.05
	done
	die "kvmtrace-bpf wrote no row${col:+ with $col} for PID $* within 10 s"
}

# Prints "run_time_ns run_cnt" of each program, in PROG_FDS order, on one line. No fork.
snapshot_progs()
{
	local fd k v t c out=

	for fd in "${PROG_FDS[@]}"; do
		t=0
		c=0
		while read -r k v; do
			case $k in
			run_time_ns:) t=$v ;;
			run_cnt:) c=$v ;;
			esac
		done <"/proc/$ATT_PID/fdinfo/$fd"
		out+="$t $c "
	done
	read -r -a SNAP <<<"$out"
}

# One measuring window: $1 is its phase (pre, off, on, post), $2 bpf_stats (0/1). Appends
# "part round cfg phase count usecs" to ops.tsv and, with bpf_stats on, the programs' deltas
# to progs.tsv.
measure_window()
{
	local phase=$1 stats=$2 t0 t1 i
	local -a s0=() s1=()

	set_stats "$stats"
	# A moment for the workload to get going, and for bpf_stats to be on everywhere.
	[ "$phase" = pre ] || [ "$stats" = 1 ] && sleep 0.2
	if [ "$stats" = 1 ]; then
		snapshot_progs
		s0=("${SNAP[@]}")
	fi
	t0=${EPOCHREALTIME/./}
	case $PART in
	sched | peers) window_sched ;;
	net) window_net ;;
	disk) window_disk ;;
	esac
	t1=${EPOCHREALTIME/./}
	if [ -n "$ATT_PID" ]; then
		kill -0 "$ATT_PID" 2>/dev/null || die "the $CFG program exited during the window"
	fi
	if [ "$stats" = 1 ]; then
		snapshot_progs
		s1=("${SNAP[@]}")
	fi
	set_stats 0
	printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$PART" "$ROUND" "$CFG" "$phase" "$W_COUNT" "$W_USECS" \
		>>"$TMP/ops.tsv"
	for ((i = 0; i < ${#PROG_FDS[@]} && stats; i++)); do
		printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$PART" "$ROUND" "$CFG" \
			"${PROG_NAMES[$i]}" "${PROG_HOOKS[$i]}" "$((s1[2 * i] - s0[2 * i]))" \
			"$((s1[2 * i + 1] - s0[2 * i + 1]))" "$W_UNITS" "$((t1 - t0))" \
			>>"$TMP/progs.tsv"
	done
}

# Empty programs on the hooks of this part that kvmtrace-bpf attaches on this kernel, and on
# its scheduler hooks, which every workload also runs.
empty_hooks()
{
	local h

	EMPTY_HOOKS=()
	for h in ${PART_HOOKS[sched]} ${PART_HOOKS[$PART]}; do
		[[ " ${EMPTY_HOOKS[*]} " == *" $h "* ]] && continue
		[[ " $TRACER_HOOKS " == *" $h "* ]] && EMPTY_HOOKS+=("$h")
	done
}

# Attaches the programs of configuration $CFG to the running workload.
attach()
{
	case $CFG in
	baseline)
		;;
	empty)
		empty_hooks
		"$LOADER" "${EMPTY_HOOKS[@]}" >"$TMP/loader.out" 2>"$TMP/loader.err" </dev/null &
		ATT_PID=$!
		wait_attached "$TMP/loader.err"
		grep -qx ready "$TMP/loader.out" || die "empty_loader attached but did not say ready"
		;;
	tracer)
		mkdir -p "$DIR"
		"$TRACER" -q -o "$DIR" -i 1 >/dev/null 2>"$TMP/tracer.err" </dev/null &
		ATT_PID=$!
		wait_attached "$TMP/tracer.err"
		;;
	tracked)
		mkdir -p "$DIR"
		case $PART in
		sched)
			"$TRACER" -q -o "$DIR" -i 1 -p "$BENCH_PID" -p "$CHILD_PID" \
				>/dev/null 2>"$TMP/tracer.err" </dev/null &
			;;
		net)
			# Discovery finds the pretend VMM by its name, then its tap.
			"$TRACER" -q -o "$DIR" -i 1 >/dev/null 2>"$TMP/tracer.err" </dev/null &
			;;
		disk)
			"$TRACER" -q -o "$DIR" -i 1 -p "$FIO_WORKER" \
				>/dev/null 2>"$TMP/tracer.err" </dev/null &
			;;
		esac
		ATT_PID=$!
		wait_attached "$TMP/tracer.err"
		case $PART in
		sched) wait_tracked "" "$BENCH_PID" "$CHILD_PID" ;;
		net) wait_tracked net_rx_bytes "$FWD_PID" ;;
		disk) wait_tracked "" "$FIO_WORKER" ;;
		esac
		;;
	esac
}

# VMs the tracer's discovery found on this host (their events take the tracked path).
count_discovered()
{
	local f nvm=0

	for f in "$DIR"/*.csv; do
		case $f in
		# Per-vCPU and per-exit files, host-wide ones (@host.csv), or no file at all.
		*.vcpu.csv | *.exits.csv | "$DIR"/@* | "$DIR/*.csv") ;;
		*)
			nvm=$((nvm + 1))
			f=${f##*/}
			echo "${f%.csv}" >>"$TMP/discovered-names"
			;;
		esac
	done
	echo "$nvm" >>"$TMP/discovered"
}

# One configuration ($CFG) in one round ($ROUND) of one part ($PART).
run_session()
{
	local t_attach left

	DIR="$TMP/out-$PART-$CFG-$ROUND"
	PROG_FDS=()
	case $PART in
	sched) start_bench ;;
	net) net_session_start ;;
	disk) disk_session_start ;;
	esac
	measure_window pre 0
	t_attach=${EPOCHREALTIME/./}
	attach
	# Settled SETTLE s after the attach began: the tracked cases have waited for a row already.
	left=$((SETTLE_US - (${EPOCHREALTIME/./} - t_attach)))
	[ "$left" -gt 0 ] && sleep "$((left / 1000000)).$(printf '%06d' $((left % 1000000)))"
	# All of its programs by now, not only the first one seen attached.
	if [ -n "$ATT_PID" ]; then
		find_programs || die "the $CFG program has no program on $READY any more"
	fi
	measure_window off 0
	measure_window on 1
	stop_attacher
	sleep 0.3
	measure_window post 0
	case $PART in
	sched) stop_bench ;;
	net) stop_fwd ;;
	disk) stop_fio ;;
	esac
	[ "$CFG" = tracer ] && count_discovered
}

# The hooks kvmtrace-bpf attaches on this kernel (TRACER_HOOKS): a short run of it.
probe_tracer()
{
	CFG=probe
	SCOPE=sched_switch
	READY=sched_switch
	DIR="$TMP/out-probe"
	mkdir -p "$DIR"
	"$TRACER" -q -o "$DIR" -i 1 >/dev/null 2>"$TMP/tracer.err" </dev/null &
	ATT_PID=$!
	wait_attached "$TMP/tracer.err"
	sleep 0.5
	find_programs
	TRACER_HOOKS=" ${ALL_HOOKS[*]} "
	stop_attacher
}

# A window's throughput in the part's unit, as awk code on count c and microseconds u.
RATE_AWK='function rate(part, c, u) {
	if (part == "net")
		return c * 8 / u / 1000			# Gbit/s
	if (part == "disk")
		return c * 1e6 / u			# IOPS
	return u / c					# µs per loop
}'
declare -A RATE_UNIT=([sched]="usecs/op" [net]="Gbit/s" [disk]="IOPS")

run_part()
{
	local k n
	local -a configs

	PART=$1
	read -r -a configs <<<"${PART_CONFIGS[$PART]}"
	n=$2
	SCOPE=${PART_HOOKS[$PART]}
	READY=${SCOPE%% *}
	case $PART in
	net) net_setup ;;
	disk) disk_setup ;;
	esac
	for ((ROUND = 1; ROUND <= n; ROUND++)); do
		# Rotate the order each round, so that no configuration always runs first or last.
		for ((k = 0; k < ${#configs[@]}; k++)); do
			CFG=${configs[$(((k + ROUND - 1) % ${#configs[@]}))]}
			run_session
			awk -F'\t' -v part="$PART" -v r="$ROUND" -v c="$CFG" -v p="$PROG" \
				-v unit="${RATE_UNIT[$PART]}" "$RATE_AWK"'
				$1 == part && $2 == r && $3 == c { v[$4] = rate(part, $5, $6) }
				END {
					printf "%s: %s round %d %-8s %s: pre %.2f, attached %.2f" \
						" (bpf_stats on %.2f), post %.2f\n", p, part, r, c,
						unit, v["pre"], v["off"], v["on"], v["post"]
				}' "$TMP/ops.tsv" >&2
		done
	done
	case $PART in
	net) net_teardown ;;
	esac
}

# --- run ----------------------------------------------------------------------------------

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
BEGIN_S=$SECONDS
EST=$(awk -v parts="$PARTS" -v r="$ROUNDS" -v nr="$NET_ROUNDS" -v dr="$DISK_ROUNDS" \
	-v w="$WINDOW" -v nt="$NET_TIME" -v s="$SETTLE" -v ss="$SAMPLER_SECONDS" \
	-v st="$SAMPLER_TRIALS" -v sw="$SAMPLER_TRIAL" -v pr="$PEERS_ROUNDS" \
	-v pc="$(wc -w <<<"${PART_CONFIGS[peers]}")" 'BEGIN {
	t = 3
	if (parts ~ /sched/)
		t += r * 4 * (4 * (w + 0.2) + s + 2.2)
	if (parts ~ /net/)
		t += nr * 3 * (4 * (nt + 0.3) + s + 2.5) + 2
	if (parts ~ /disk/)
		t += dr * 3 * (4 * (w + 0.2) + s + 2.5) + w + 2
	if (parts ~ /sampler/)
		t += ss + 2 * s + 5 + 3 * st * (sw + 2.5)
	if (parts ~ /peers/)
		t += pr * pc * (3 * (w + 0.2) + s + 2.5)
	printf "%d", t
}')
say "parts: $PARTS; sched $ROUNDS rounds, net $NET_ROUNDS, disk $DISK_ROUNDS, peers $PEERS_ROUNDS;" \
	"${WINDOW} s windows${CPUS:+, on CPU $CPUS}; sampler ${SAMPLER_SECONDS} s and" \
	"$SAMPLER_TRIALS x 3 trials of ${SAMPLER_TRIAL} s (about $EST s)"
set_stats 0

probe_tracer
WAKEUP_ATTACHED=0
[[ $TRACER_HOOKS == *" sched_wakeup "* ]] && WAKEUP_ATTACHED=1

if has_part sched; then
	# perf's own figure for a short fixed-loop run, to check the windowed measurement against.
	PERF_SELF=$("${PIN[@]}" perf bench sched pipe -l "$CALIB_LOOPS" 2>/dev/null |
		awk '/usecs\/op/ { print $1 }')
	is_number "${PERF_SELF:-x}" || die "perf bench sched pipe -l $CALIB_LOOPS gave no usecs/op"
fi

: >"$TMP/ops.tsv"
: >"$TMP/progs.tsv"
: >"$TMP/sampler-stats.tsv"
: >"$TMP/sampler-e2e.tsv"
declare -A PART_ELAPSED=()
for part in $PARTS; do
	part_start=$SECONDS
	case $part in
	sched) run_part sched "$ROUNDS" ;;
	net) run_part net "$NET_ROUNDS" ;;
	disk) run_part disk "$DISK_ROUNDS" ;;
	sampler) run_sampler ;;
	peers) run_peers ;;
	esac
	PART_ELAPSED[$part]=$((SECONDS - part_start))
	say "$part: ${PART_ELAPSED[$part]} s"
done
set_stats "$STATS_OLD"
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
ELAPSED=$((SECONDS - BEGIN_S))
DISCOVERED=$(sort -n "$TMP/discovered" 2>/dev/null | tail -n 1)
DISCOVERED_NAMES=$(sort -u "$TMP/discovered-names" 2>/dev/null | head -n 10 | paste -sd, - |
	sed 's/,/, /g')

# --- analysis -----------------------------------------------------------------------------

# Figures as lines "key median min max n": medians over the sessions of each configuration;
# slowdowns compare windows of one session, ratios the sessions of one round. The sched part's
# keys have no prefix, the others' start with "net.", "disk." or "sampler.".
FIG_AWK='
function sort_list(a, n,    i, j, t) {
	for (i = 2; i <= n; i++) {
		t = a[i]
		for (j = i - 1; j >= 1 && a[j] > t; j--)
			a[j + 1] = a[j]
		a[j + 1] = t
	}
}
# Adds a sample v to figure k.
function add(k, v) {
	cnt[k]++
	val[k, cnt[k]] = v
	if (!(k in seen)) {
		seen[k] = 1
		keys[++nkeys] = k
	}
}
# Prints the figures: "key median min max n".
function print_figures(    i, j, k, n, l, med) {
	for (i = 1; i <= nkeys; i++) {
		k = keys[i]
		n = cnt[k]
		for (j = 1; j <= n; j++)
			l[j] = val[k, j]
		sort_list(l, n)
		med = n % 2 ? l[(n + 1) / 2] : (l[n / 2] + l[n / 2 + 1]) / 2
		printf "%s %.6f %.6f %.6f %d\n", k, med, l[1], l[n], n
	}
}'
awk -F'\t' "$RATE_AWK$FIG_AWK"'
function pre(part) {
	return part == "sched" ? "" : part "."
}
FILENAME ~ /ops[.]tsv$/ {
	# part round cfg phase count usecs
	if ($5 > 0 && $6 > 0) {
		ops[$1, $2, $3, $4] = $5 * 1e6 / $6
		cnt_of[$1, $2, $3, $4] = $5
		us_of[$1, $2, $3, $4] = $6
		session[$1, $2, $3] = 1
	}
	next
}
{
	# part round cfg name hook dtime dcnt units usecs (the bpf_stats window)
	if ($7 <= 0)
		next
	p = pre($1)
	ns[$1, $2, $3, $5] = $6 / $7
	add(p "ns_per_run." $3 "." $4, $6 / $7)
	if ($8 > 0)
		add(p "runs_per_op." $3 "." $4, $7 / $8)
	bpf_ns[$1, $2, $3] += $6
	bpf_usecs[$1, $2, $3] = $9
	rounds[$1, $2] = 1
}
END {
	for (s in session) {
		split(s, x, SUBSEP)
		part = x[1]
		r = x[2]
		c = x[3]
		p = pre(part)
		if (!((part, r, c, "pre") in ops && (part, r, c, "post") in ops &&
		      (part, r, c, "off") in ops))
			continue
		base = (ops[part, r, c, "pre"] + ops[part, r, c, "post"]) / 2
		add(p "slowdown_pct." c, 100 * (1 - ops[part, r, c, "off"] / base))
		if ((part, r, c, "on") in ops)
			add(p "slowdown_stats_pct." c, 100 * (1 - ops[part, r, c, "on"] / base))
		drift = 100 * (ops[part, r, c, "post"] / ops[part, r, c, "pre"] - 1)
		add(p "drift_pct", drift)
		add(p "noise_pct", drift < 0 ? -drift : drift)
		# Throughput in the part unit: detached (pre and post windows) and attached.
		unit = part == "net" ? "gbit_per_s" : part == "disk" ? "iops" : "usecs_per_op"
		add(p unit ".detached", rate(part, cnt_of[part, r, c, "pre"], us_of[part, r, c, "pre"]))
		add(p unit ".detached", rate(part, cnt_of[part, r, c, "post"], us_of[part, r, c, "post"]))
		add(p unit "." c, rate(part, cnt_of[part, r, c, "off"], us_of[part, r, c, "off"]))
		# Time in the programs over the bpf_stats window, as a share of one CPU: for sched,
		# pinned, the share of the loop.
		if ((part, r, c) in bpf_ns)
			add(p "bpf_share_pct." c, 100 * bpf_ns[part, r, c] / (bpf_usecs[part, r, c] * 1000))
	}
	split("sched_switch sched_wakeup net_dev_start_xmit netif_receive_skb block_bio_queue " \
	      "block_rq_complete", hooks, " ")
	for (pr in rounds) {
		split(pr, x, SUBSEP)
		part = x[1]
		r = x[2]
		p = pre(part)
		for (ci = 1; ci <= 2; ci++) {
			c = ci == 1 ? "tracer" : "tracked"
			for (hi = 1; hi in hooks; hi++) {
				h = hooks[hi]
				if (!((part, r, c, h) in ns && (part, r, "empty", h) in ns))
					continue
				add(p "ratio." c "." h, ns[part, r, c, h] / ns[part, r, "empty", h])
				add(p "excess_ns." c "." h, ns[part, r, c, h] - ns[part, r, "empty", h])
			}
		}
	}
	print_figures()
}' "$TMP/ops.tsv" "$TMP/progs.tsv" >"$TMP/figures.raw" || die "analysis failed"

# The sampler's: per bpf_stats window of each phase, hits per second and CPU, ns per hit and
# their product, the share of one CPU; per round of trials, the end-to-end slowdowns, and between
# consecutive trials of one configuration, the noise.
awk -F'\t' -v ncpu="$(nproc)" -v hz="${SAMPLE_HZ:-0}" "$FIG_AWK"'
FILENAME ~ /sampler-stats[.]tsv$/ {
	# phase run_time_ns run_cnt usecs
	if ($3 > 0 && $4 > 0) {
		rate = $3 / ($4 / 1e6) / ncpu
		add("sampler.hits_per_s_per_cpu." $1, rate)
		add("sampler.ns_per_hit." $1, $2 / $3)
		add("sampler.cpu_pct." $1, rate * ($2 / $3) / 1e7)
	}
	next
}
{
	# trial cfg rate (while running) wall_rate off_pct
	rate_of[$1, $2] = $3
	add("sampler.e2e_rate." $2, $3)
	add("sampler.e2e_off_cpu_pct", $5)
	wall_of[$1, $2] = $4
	if ($1 > last)
		last = $1
}
END {
	split("on empty off", cfgs, " ")
	for (t = 1; t <= last; t++) {
		# The sampler and the empty one against no sampler, in the same round of trials.
		for (c = 1; c <= 2; c++) {
			cfg = cfgs[c]
			if (!((t, cfg) in rate_of && (t, "off") in rate_of))
				continue
			slow = 100 * (1 - rate_of[t, cfg] / rate_of[t, "off"])
			add("sampler.e2e_slowdown_pct." cfg, slow)
			add("sampler.e2e_wall_slowdown_pct." cfg,
			    100 * (1 - wall_of[t, cfg] / wall_of[t, "off"]))
			if (hz > 0)
				add("sampler.e2e_us_per_sample." cfg, slow / 100 / hz * 1e6)
		}
		if ((t, "on") in rate_of && (t, "empty") in rate_of)
			add("sampler.e2e_excess_pct", 100 * (1 - rate_of[t, "on"] / rate_of[t, "empty"]))
		for (c = 1; c <= 3; c++) {
			cfg = cfgs[c]
			if (t > 1 && (t, cfg) in rate_of && (t - 1, cfg) in rate_of) {
				d = 100 * (rate_of[t, cfg] / rate_of[t - 1, cfg] - 1)
				add("sampler.e2e_noise_pct", d < 0 ? -d : d)
			}
		}
	}
	print_figures()
}' "$TMP/sampler-stats.tsv" "$TMP/sampler-e2e.tsv" >>"$TMP/figures.raw" ||
	die "analysis failed"
LC_ALL=C sort "$TMP/figures.raw" >"$TMP/figures" || die "analysis failed"

declare -A MED MIN MAX
while read -r k med min max _; do
	MED[$k]=$med
	MIN[$k]=$min
	MAX[$k]=$max
done <"$TMP/figures"

REQUIRED=()
has_part sched && REQUIRED+=(slowdown_pct.tracer slowdown_pct.tracked ratio.tracer.sched_switch
	ratio.tracked.sched_switch usecs_per_op.detached)
has_part net && REQUIRED+=(net.slowdown_pct.tracer net.slowdown_pct.tracked
	net.ratio.tracer.net_dev_start_xmit net.ratio.tracked.net_dev_start_xmit
	net.gbit_per_s.detached)
has_part disk && REQUIRED+=(disk.slowdown_pct.tracer disk.slowdown_pct.tracked
	disk.ratio.tracer.block_bio_queue disk.ratio.tracked.block_bio_queue disk.iops.detached)
has_part sampler && REQUIRED+=(sampler.cpu_pct.untracked sampler.cpu_pct.tracked
	sampler.e2e_slowdown_pct.on sampler.e2e_noise_pct)
has_part peers && REQUIRED+=(peers.slowdown_pct.none peers.slowdown_pct.kvmtrace
	peers.slowdown_pct.perfstat peers.slowdown_pct.perfrecord peers.noise_pct)
for k in "${REQUIRED[@]}"; do
	[ -n "${MED[$k]:-}" ] || die "no measurement for $k"
done

# --- results ------------------------------------------------------------------------------

DATE=$(date -u +%Y-%m-%dT%H:%M:%SZ)
KERNEL=$(uname -r)
CPU=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
NCPU=$(nproc)
MEM_GIB=$(awk '/^MemTotal/ { printf "%.0f", $2 / 1048576 }' /proc/meminfo)
VIRT=no
grep -qw hypervisor /proc/cpuinfo && VIRT=yes
CLOCK=$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource 2>/dev/null)
PERF_VERSION=$(perf version 2>/dev/null | awk '{ print $NF }')
# perf record's default rate: 4000 Hz, or the kernel's limit when lower.
PERF_FREQ=$(awk '{ print ($1 < 4000 ? $1 : 4000) }' /proc/sys/kernel/perf_event_max_sample_rate 2>/dev/null || echo 4000)
IPERF_VERSION=$(iperf3 --version 2>/dev/null | awk 'NR == 1 { print $2 }')
FIO_VERSION=$(fio --version 2>/dev/null)
BPFTOOL_VERSION=$(bpftool version 2>/dev/null | awk 'NR == 1 { print $2 }')
TOOL_VERSION=$("$TRACER" --version 2>/dev/null | awk '{ print $NF }')
COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ "$COMMIT" != unknown ] && [ -n "$(git -C "$ROOT" status --porcelain 2>/dev/null)" ]; then
	COMMIT="$COMMIT+uncommitted"
fi
WAKEUP_NOTE="not attached (CONFIG_SCHED_INFO)"

f2()
{
	LC_ALL=C printf "%.${2:-2}f" "$1"
}

# met VALUE TARGET [NOISE_KEY [RULE]]: yes when the median is at most the target; for a
# wall-clock figure (NOISE_KEY set), "inconclusive" when the typical change between two detached
# windows of one session is at least the target: the measurement cannot tell such a slowdown
# from noise. With RULE "margin" (the sampler's end-to-end slowdown), a verdict only when the
# median is farther from the target than the noise, on either side: a slowdown well above a
# small target is a "no" even when the noise is as large as the target.
met()
{
	awk -v v="$1" -v t="$2" -v noisy="${3:-}" -v noise="${MED[${3:-none}]:-0}" \
		-v rule="${4:-}" 'BEGIN {
		if (noisy != "" && rule == "margin")
			print (v - noise > t + 0 ? "no" : v + noise <= t + 0 ? "yes" : "inconclusive")
		else if (noisy != "" && noise + 0 >= t + 0)
			print "inconclusive"
		else
			print (v <= t ? "yes" : "no")
	}'
}

# Rows of the tables: key | label | unit | decimals | target ("" when none) | the key of the
# noise a wall-clock slowdown is read against (its verdict depends on it).
ROWS_SCHED=(
	"ratio.tracer.sched_switch|kt_sched_switch vs empty program, ns/run ratio, bench not tracked|×|2|$TARGET_RATIO"
	"ratio.tracked.sched_switch|kt_sched_switch vs empty program, ns/run ratio, bench tracked (-p)|×|2|$TARGET_RATIO"
	"ratio.tracer.sched_wakeup|kt_sched_wakeup vs empty program, ns/run ratio, bench not tracked|×|2|$TARGET_RATIO"
	"ratio.tracked.sched_wakeup|kt_sched_wakeup vs empty program, ns/run ratio, bench tracked (-p)|×|2|$TARGET_RATIO"
	"slowdown_pct.tracer|bench slowdown, kvmtrace-bpf attached, bench not tracked|%|2|$TARGET_SLOWDOWN|noise_pct"
	"slowdown_pct.tracked|bench slowdown, kvmtrace-bpf tracking the bench (-p)|%|2|$TARGET_SLOWDOWN|noise_pct"
	"bpf_share_pct.tracer|slowdown estimated from bpf_stats: time in kvmtrace-bpf's programs per bench loop, not tracked|%|2|$TARGET_SLOWDOWN"
	"bpf_share_pct.tracked|slowdown estimated from bpf_stats: time in kvmtrace-bpf's programs per bench loop, tracked|%|2|$TARGET_SLOWDOWN"
	"slowdown_pct.empty|bench slowdown, empty programs attached (floor of any tp_btf tracer)|%|2|"
	"slowdown_pct.baseline|bench \"slowdown\", nothing attached (A/A: the noise of the method)|%|2|"
	"noise_pct|noise: change between the two detached windows of a session, absolute|%|2|"
	"drift_pct|drift: change from the pre to the post window of a session, signed|%|2|"
	"slowdown_stats_pct.tracer|bench slowdown, not tracked, bpf_stats on|%|2|"
	"slowdown_stats_pct.tracked|bench slowdown, tracked, bpf_stats on|%|2|"
	"bpf_share_pct.empty|time in the empty programs per bench loop (bpf_stats)|%|2|"
	"ns_per_run.empty.empty_switch|empty program on sched_switch|ns/run|1|"
	"ns_per_run.tracer.kt_sched_switch|kt_sched_switch, bench not tracked|ns/run|1|"
	"ns_per_run.tracked.kt_sched_switch|kt_sched_switch, bench tracked|ns/run|1|"
	"ns_per_run.empty.empty_wakeup|empty program on sched_wakeup|ns/run|1|"
	"ns_per_run.tracer.kt_sched_wakeup|kt_sched_wakeup, bench not tracked|ns/run|1|"
	"ns_per_run.tracked.kt_sched_wakeup|kt_sched_wakeup, bench tracked|ns/run|1|"
	"excess_ns.tracer.sched_switch|kt_sched_switch minus empty program, bench not tracked|ns/run|1|"
	"excess_ns.tracked.sched_switch|kt_sched_switch minus empty program, bench tracked|ns/run|1|"
	"excess_ns.tracer.sched_wakeup|kt_sched_wakeup minus empty program, bench not tracked|ns/run|1|"
	"excess_ns.tracked.sched_wakeup|kt_sched_wakeup minus empty program, bench tracked|ns/run|1|"
	"runs_per_op.tracer.kt_sched_switch|sched_switch runs per bench loop (all CPUs, all tasks)|runs|2|"
	"runs_per_op.tracer.kt_sched_wakeup|sched_wakeup runs per bench loop (all CPUs, all tasks)|runs|2|"
	"usecs_per_op.detached|bench, nothing attached (pre and post windows)|µs/loop|3|"
	"usecs_per_op.empty|bench, empty programs attached|µs/loop|3|"
	"usecs_per_op.tracer|bench, kvmtrace-bpf attached, not tracked|µs/loop|3|"
	"usecs_per_op.tracked|bench, kvmtrace-bpf tracking the bench|µs/loop|3|"
)
ROWS_NET=(
	"net.ratio.tracer.net_dev_start_xmit|kt_net_xmit vs empty program, ns/run ratio, no tracked tap|×|2|$TARGET_RATIO"
	"net.ratio.tracer.netif_receive_skb|kt_net_receive vs empty program, ns/run ratio, no tracked tap|×|2|$TARGET_RATIO"
	"net.ratio.tracked.net_dev_start_xmit|kt_net_xmit vs empty program, ns/run ratio, through a tracked VM's tap|×|2|$TARGET_RATIO"
	"net.ratio.tracked.netif_receive_skb|kt_net_receive vs empty program, ns/run ratio, through a tracked VM's tap|×|2|$TARGET_RATIO"
	"net.slowdown_pct.tracer|iperf3 throughput slowdown, kvmtrace-bpf attached, no tracked tap|%|2|$TARGET_SLOWDOWN|net.noise_pct"
	"net.slowdown_pct.tracked|iperf3 throughput slowdown, kvmtrace-bpf tracking the pretend VM and its tap|%|2|$TARGET_SLOWDOWN|net.noise_pct"
	"net.slowdown_pct.empty|iperf3 throughput slowdown, empty programs attached (floor)|%|2|"
	"net.noise_pct|noise: change between the two detached windows of a session, absolute|%|2|"
	"net.drift_pct|drift: change from the pre to the post window of a session, signed|%|2|"
	"net.slowdown_stats_pct.tracer|iperf3 slowdown, no tracked tap, bpf_stats on|%|2|"
	"net.slowdown_stats_pct.tracked|iperf3 slowdown, tracked tap, bpf_stats on|%|2|"
	"net.bpf_share_pct.empty|time in the empty network programs, % of the CPU (bpf_stats)|%|2|"
	"net.bpf_share_pct.tracer|time in kt_net_xmit and kt_net_receive, % of the CPU, no tracked tap|%|2|"
	"net.bpf_share_pct.tracked|time in kt_net_xmit and kt_net_receive, % of the CPU, tracked tap|%|2|"
	"net.ns_per_run.empty.empty_net_xmit|empty program on net_dev_start_xmit|ns/run|1|"
	"net.ns_per_run.tracer.kt_net_xmit|kt_net_xmit, no tracked tap|ns/run|1|"
	"net.ns_per_run.tracked.kt_net_xmit|kt_net_xmit, tracked tap (all frames on the path)|ns/run|1|"
	"net.ns_per_run.empty.empty_net_recv|empty program on netif_receive_skb|ns/run|1|"
	"net.ns_per_run.tracer.kt_net_receive|kt_net_receive, no tracked tap|ns/run|1|"
	"net.ns_per_run.tracked.kt_net_receive|kt_net_receive, tracked tap (all frames on the path)|ns/run|1|"
	"net.excess_ns.tracer.net_dev_start_xmit|kt_net_xmit minus empty program, no tracked tap|ns/run|1|"
	"net.excess_ns.tracked.net_dev_start_xmit|kt_net_xmit minus empty program, tracked tap|ns/run|1|"
	"net.excess_ns.tracer.netif_receive_skb|kt_net_receive minus empty program, no tracked tap|ns/run|1|"
	"net.excess_ns.tracked.netif_receive_skb|kt_net_receive minus empty program, tracked tap|ns/run|1|"
	"net.runs_per_op.tracer.kt_net_xmit|net_dev_start_xmit runs per frame sent to the pretend guest (all devices)|runs|2|"
	"net.runs_per_op.tracer.kt_net_receive|netif_receive_skb runs per frame sent to the pretend guest (all devices)|runs|2|"
	"net.gbit_per_s.detached|iperf3, nothing attached (pre and post windows)|Gbit/s|3|"
	"net.gbit_per_s.empty|iperf3, empty programs attached|Gbit/s|3|"
	"net.gbit_per_s.tracer|iperf3, kvmtrace-bpf attached, no tracked tap|Gbit/s|3|"
	"net.gbit_per_s.tracked|iperf3, kvmtrace-bpf tracking the pretend VM|Gbit/s|3|"
)
ROWS_DISK=(
	"disk.ratio.tracer.block_bio_queue|kt_bio_queue vs empty program, ns/run ratio, fio not tracked|×|2|$TARGET_RATIO"
	"disk.ratio.tracer.block_rq_complete|kt_rq_complete vs empty program, ns/run ratio, fio not tracked|×|2|$TARGET_RATIO"
	"disk.ratio.tracked.block_bio_queue|kt_bio_queue vs empty program, ns/run ratio, fio tracked (-p)|×|2|$TARGET_RATIO"
	"disk.ratio.tracked.block_rq_complete|kt_rq_complete vs empty program, ns/run ratio, fio tracked (-p)|×|2|$TARGET_RATIO"
	"disk.slowdown_pct.tracer|fio IOPS slowdown, kvmtrace-bpf attached, fio not tracked|%|2|$TARGET_SLOWDOWN|disk.noise_pct"
	"disk.slowdown_pct.tracked|fio IOPS slowdown, kvmtrace-bpf tracking fio's job process (-p)|%|2|$TARGET_SLOWDOWN|disk.noise_pct"
	"disk.slowdown_pct.empty|fio IOPS slowdown, empty programs attached (floor)|%|2|"
	"disk.noise_pct|noise: change between the two detached windows of a session, absolute|%|2|"
	"disk.drift_pct|drift: change from the pre to the post window of a session, signed|%|2|"
	"disk.slowdown_stats_pct.tracer|fio slowdown, not tracked, bpf_stats on|%|2|"
	"disk.slowdown_stats_pct.tracked|fio slowdown, tracked, bpf_stats on|%|2|"
	"disk.bpf_share_pct.tracer|time in kt_bio_queue and kt_rq_complete, % of one CPU, not tracked|%|3|"
	"disk.bpf_share_pct.tracked|time in kt_bio_queue and kt_rq_complete, % of one CPU, tracked|%|3|"
	"disk.ns_per_run.empty.empty_bio_queue|empty program on block_bio_queue|ns/run|1|"
	"disk.ns_per_run.tracer.kt_bio_queue|kt_bio_queue, fio not tracked|ns/run|1|"
	"disk.ns_per_run.tracked.kt_bio_queue|kt_bio_queue, fio tracked|ns/run|1|"
	"disk.ns_per_run.empty.empty_rq_done|empty program on block_rq_complete|ns/run|1|"
	"disk.ns_per_run.tracer.kt_rq_complete|kt_rq_complete, fio not tracked|ns/run|1|"
	"disk.ns_per_run.tracked.kt_rq_complete|kt_rq_complete, fio tracked|ns/run|1|"
	"disk.excess_ns.tracer.block_bio_queue|kt_bio_queue minus empty program, fio not tracked|ns/run|1|"
	"disk.excess_ns.tracked.block_bio_queue|kt_bio_queue minus empty program, fio tracked|ns/run|1|"
	"disk.excess_ns.tracer.block_rq_complete|kt_rq_complete minus empty program, fio not tracked|ns/run|1|"
	"disk.excess_ns.tracked.block_rq_complete|kt_rq_complete minus empty program, fio tracked|ns/run|1|"
	"disk.runs_per_op.tracer.kt_bio_queue|block_bio_queue runs per fio I/O (all devices)|runs|2|"
	"disk.runs_per_op.tracer.kt_rq_complete|block_rq_complete runs per fio I/O (all devices)|runs|2|"
	"disk.iops.detached|fio, nothing attached (pre and post windows)|IOPS|0|"
	"disk.iops.empty|fio, empty programs attached|IOPS|0|"
	"disk.iops.tracer|fio, kvmtrace-bpf attached, not tracked|IOPS|0|"
	"disk.iops.tracked|fio, kvmtrace-bpf tracking fio's job process|IOPS|0|"
)

ROWS_SAMPLER=(
	"sampler.cpu_pct.untracked|program time, % of one CPU: a loop on every CPU, not tracked|%|3|$TARGET_SAMPLER"
	"sampler.cpu_pct.tracked|program time, % of one CPU: a tracked loop on every CPU, ${SPIN_KERNEL_PCT:-?}% of its time in system calls|%|3|$TARGET_SAMPLER"
	"sampler.e2e_slowdown_pct.on|end to end: slowdown of a tracked loop on CPU $SAMPLER_CPU while it runs, --sample-hz ${SAMPLE_HZ:-?} vs 0 (program, timer interrupt, user space)|%|2|$TARGET_SAMPLER|sampler.e2e_noise_pct|margin"
	"sampler.e2e_slowdown_pct.empty|end to end: slowdown, --sample-hz 0 and an empty program on cpu-clock at ${SAMPLE_HZ:-?} Hz (floor of any sampler)|%|2|"
	"sampler.e2e_excess_pct|end to end: slowdown, --sample-hz ${SAMPLE_HZ:-?} vs the empty program (kvmtrace-bpf's own share)|%|2|"
	"sampler.e2e_noise_pct|noise: change between consecutive trials of one configuration, absolute|%|2|"
	"sampler.e2e_us_per_sample.on|end to end: cost per sample (slowdown ÷ ${SAMPLE_HZ:-?} Hz)|µs|1|"
	"sampler.e2e_us_per_sample.empty|end to end: cost per sample of the empty program|µs|1|"
	"sampler.e2e_wall_slowdown_pct.on|end to end, whole runs (time the loop did not run included)|%|2|"
	"sampler.e2e_off_cpu_pct|time the loop did not run (other tasks, the hypervisor), all trials|%|1|"
	"sampler.hits_per_s_per_cpu.untracked|sampler runs per second and CPU, loops not tracked|Hz|0|"
	"sampler.hits_per_s_per_cpu.tracked|sampler runs per second and CPU, tracked loops|Hz|0|"
	"sampler.ns_per_hit.untracked|${SAMPLER_PROG:-kt_sample}, mean per run, loops not tracked|ns/run|0|"
	"sampler.ns_per_hit.tracked|${SAMPLER_PROG:-kt_sample}, mean per run, tracked loops|ns/run|0|"
	"sampler.e2e_rate.off|the loop while it runs, kvmtrace-bpf --sample-hz 0|rounds/s|0|"
	"sampler.e2e_rate.empty|the loop while it runs, --sample-hz 0 and the empty program|rounds/s|0|"
	"sampler.e2e_rate.on|the loop while it runs, kvmtrace-bpf --sample-hz ${SAMPLE_HZ:-?}|rounds/s|0|"
)

# The peers part: the tools beside kvmtrace-bpf, with their labels.
PEER_TOOLS=(perfstat perfrecord bpftrace)
declare -A PEER_LABEL=(
	[none]="nothing attached (A/A: the method's own error)"
	[kvmtrace]="kvmtrace-bpf -q -i 1 --libvirt-uri none -p (both bench processes)${BENCH_PEERS_TRACER_ARGS:+ $BENCH_PEERS_TRACER_ARGS}"
	[kvmtrace0]="the same with --sample-hz 0 (no component split: its scheduler hooks alone)"
	[perfstat]="perf stat -p (both) -e cpu-clock,task-clock,context-switches,page-faults -I 1000 (seed tracker)"
	[perfrecord]="perf record -a -g at perf's default rate (the paper's method; stand-in for perf kvm record)"
	[bpftrace]="bpftrace tests/bench/peer.bt (on-CPU time per pid from sched_switch, printed every second)"
)

# Ratio of a peer's median slowdown to kvmtrace-bpf's: "n/a" when kvmtrace-bpf's is not above
# zero (no ratio to a slowdown the method cannot tell from none).
peer_ratio()
{
	awk -v p="${MED[peers.slowdown_pct.$1]:-}" -v k="${MED[peers.slowdown_pct.kvmtrace]:-}" \
		'BEGIN {
		if (p == "" || k == "")
			print "n/a"
		else if (k + 0 <= 0)
			print "n/a (kvmtrace-bpf ≤ 0)"
		else
			printf "%.1f×\n", p / k
	}'
}

# The issue's target "kvmtrace-bpf the lowest, at <= 2%": met, not met or inconclusive. The
# 2% by met() against the noise; "the lowest": not met when a peer's median is lower than
# kvmtrace-bpf's by more than the noise, inconclusive when within the noise, and inconclusive
# too when a peer's median is a speedup larger than the noise: no tool speeds the bench up, so
# the noise of that run was larger than its windows showed.
peers_verdict()
{
	local m lowest=yes t p

	[ -n "${MED[peers.slowdown_pct.kvmtrace]:-}" ] || {
		echo "n/a"
		return
	}
	m=$(met "${MED[peers.slowdown_pct.kvmtrace]}" "$TARGET_SLOWDOWN" peers.noise_pct)
	for t in "${PEER_TOOLS[@]}"; do
		p=${MED[peers.slowdown_pct.$t]:-}
		[ -n "$p" ] || continue
		case $(awk -v p="$p" -v k="${MED[peers.slowdown_pct.kvmtrace]}" \
			-v n="${MED[peers.noise_pct]:-0}" 'BEGIN {
			print (p < -n ? "inconclusive" : p + n < k ? "no" : \
			       p - n <= k ? "inconclusive" : "yes")
		}') in
		no) lowest=no ;;
		inconclusive) [ "$lowest" = yes ] && lowest=inconclusive ;;
		esac
	done
	if [ "$m" = no ] || [ "$lowest" = no ]; then
		echo "not met"
	elif [ "$m" = inconclusive ] || [ "$lowest" = inconclusive ]; then
		echo inconclusive
	else
		echo met
	fi
}

# The peers table: per configuration, the slowdown and its ratio to kvmtrace-bpf's.
peers_table()
{
	local c key r

	echo "| configuration | slowdown, median | rounds min–max | ratio to kvmtrace-bpf |"
	echo "| --- | ---: | ---: | ---: |"
	for c in none kvmtrace kvmtrace0 "${PEER_TOOLS[@]}"; do
		key=peers.slowdown_pct.$c
		if [ -z "${MED[$key]:-}" ]; then
			echo "| ${PEER_LABEL[$c]} | not run | | |"
			continue
		fi
		r=$(peer_ratio "$c")
		[ "$c" = none ] || [ "$c" = kvmtrace0 ] && r=
		[ "$c" = kvmtrace ] && r=1×
		echo "| ${PEER_LABEL[$c]} | $(f2 "${MED[$key]}")% |" \
			"$(f2 "${MIN[$key]}")% – $(f2 "${MAX[$key]}")% | $r |"
	done
	echo "| noise: change between the detached windows of a session, absolute | $(f2 "${MED[peers.noise_pct]:-0}")% |" \
		"$(f2 "${MIN[peers.noise_pct]:-0}")% – $(f2 "${MAX[peers.noise_pct]:-0}")% | |"
}

ROWS_PEERS=(
	"peers.slowdown_pct.kvmtrace|peers: kvmtrace-bpf tracking the pipe bench|%|2|$TARGET_SLOWDOWN|peers.noise_pct"
)

# Partial runs (BENCH_PARTS): the sections of the other parts are kept from the results of
# earlier runs, each with the date of its run.
declare -A PART_HEAD=([sched]="## Scheduler" [net]="## Network" [disk]="## Disk"
	[sampler]="## Sampler" [peers]="## Peers")
ALL_PARTS="sched net disk sampler peers"
MD_OLD=$TMP/results.md.old
JSON_OLD=$TMP/results.json.old
cp "$RESULTS_DIR/results.md" "$MD_OLD" 2>/dev/null || : >"$MD_OLD"
cp "$RESULTS_DIR/results.json" "$JSON_OLD" 2>/dev/null || : >"$JSON_OLD"
OLD_DATE=$(awk -F' *[|] *' '$2 == "date (UTC)" { print $3; exit }' "$MD_OLD")
KEPT=()
for part in $ALL_PARTS; do
	has_part "$part" && continue
	grep -q "^${PART_HEAD[$part]}" "$MD_OLD" && KEPT+=("$part")
done

# Prints the section of part $1 from the earlier results, when kept.
kept_section()
{
	[[ " ${KEPT[*]} " == *" $1 "* ]] || return 0
	awk -v head="${PART_HEAD[$1]}" -v date="$OLD_DATE" '
		on && (/^## / || /^ns\/run are bpf_stats/) { on = 0 }
		index($0, head) == 1 { on = 1 }
		on { l[++n] = $0 }
		END {
			while (n > 0 && l[n] == "")
				n--
			if (n < 3)
				exit
			printf "\n%s\n\n", l[1]
			if (l[3] !~ /^Run of /)
				print "Run of " date " (kept from that run)."
			for (i = 3; i <= n; i++)
				print l[i]
		}' "$MD_OLD"
}

# Prints the table of rows "$@".
table()
{
	local row key label unit dec target noisy rule m

	echo "| figure | median | rounds min–max | unit | target | met |"
	echo "| --- | ---: | ---: | --- | ---: | --- |"
	for row in "$@"; do
		IFS='|' read -r key label unit dec target noisy rule <<<"$row"
		if [ -z "${MED[$key]:-}" ]; then
			if [[ $key == *wakeup* ]] && [ "$WAKEUP_ATTACHED" = 0 ]; then
				echo "| $label | $WAKEUP_NOTE | | $unit | ${target:+≤ $target} | |"
			else
				echo "| $label | n/a | | $unit | ${target:+≤ $target} | |"
			fi
			continue
		fi
		m=
		[ -n "$target" ] && m=$(met "${MED[$key]}" "$target" "$noisy" "$rule")
		echo "| $label | $(f2 "${MED[$key]}" "$dec") |" \
			"$(f2 "${MIN[$key]}" "$dec") – $(f2 "${MAX[$key]}" "$dec") | $unit |" \
			"${target:+≤ $target} | $m |"
	done
}

mkdir -p "$RESULTS_DIR" || die "cannot create $RESULTS_DIR"
MD=$RESULTS_DIR/results.md
JSON=$RESULTS_DIR/results.json
read -r -a hooks_list <<<"$TRACER_HOOKS"
HOOKS_DESC="${hooks_list[*]}"
EMPTY_DESC="on the hooks of each part that kvmtrace-bpf attaches on this kernel (it attaches"
EMPTY_DESC+=" ${HOOKS_DESC// /, }), and on its scheduler hooks"

{
	echo "# kvmtrace-bpf overhead benchmark"
	echo
	echo "Written by \`make bench\` (scripts/bench.sh); do not edit by hand."
	echo
	echo "| | |"
	echo "| --- | --- |"
	echo "| date (UTC) | $DATE |"
	echo "| machine | $CPU, $NCPU CPUs, $MEM_GIB GiB, virtualized: $VIRT, clocksource $CLOCK |"
	echo "| kernel | $KERNEL |"
	echo "| bpftool | $BPFTOOL_VERSION |"
	echo "| kvmtrace-bpf | $TOOL_VERSION, commit $COMMIT, \`-q -i 1\` |"
	echo "| method | per part, rounds of its configurations, order rotated each round; per session, on one workload: a ${WINDOW} s window detached, attach (tracked: until the tracer wrote a row for the workload) and settle until ${SETTLE} s after attaching began, a window with bpf_stats off, one with bpf_stats on, detach, a window detached; slowdown = attached vs the mean of the detached windows; medians over rounds; workloads $PIN_DESC (the sampler part: see its section) |"
	echo "| empty programs | tests/bench/empty.bpf.c, $EMPTY_DESC |"
	echo "| load average | start $LOAD_START, end $LOAD_END |"
	echo "| VMs found by discovery in \"not tracked\" | ${DISCOVERED:-0}${DISCOVERED_NAMES:+ ($DISCOVERED_NAMES)}: their events take the tracked path |"
	elapsed_desc=
	for part in $PARTS; do
		elapsed_desc+="${elapsed_desc:+, }$part ${PART_ELAPSED[$part]} s"
	done
	echo "| elapsed | $ELAPSED s ($elapsed_desc) |"
	if [ ${#KEPT[@]} -gt 0 ]; then
		echo "| kept from earlier runs | ${KEPT[*]} (each section says the date of its run; the header is this run's) |"
	fi
	if has_part sched; then
		echo
		echo "## Scheduler: \`perf bench sched pipe\`"
		echo
		echo "Run of $DATE."
		echo "perf $PERF_VERSION, processes mode, $PIN_DESC; $ROUNDS rounds of baseline, empty, tracer, tracked."
		echo "perf's own figure: $(f2 "$PERF_SELF" 3) µs/loop for $CALIB_LOOPS loops, nothing attached (windowed: $(f2 "${MED[usecs_per_op.detached]}" 3))."
		echo
		table "${ROWS_SCHED[@]}"
	else
		kept_section sched
	fi
	if has_part net; then
		echo
		echo "## Network: iperf3 across a bridge, into a pretend VM's tap"
		echo
		echo "Run of $DATE."
		echo "iperf3 $IPERF_VERSION, TCP, \`-t $NET_TIME -J\` per window, $PIN_DESC: from namespace"
		echo "$NS_PEER through veth $VETH_PEER/$VETH and bridge $BRIDGE to tap $TAP_HOST,"
		echo "whose holder (tests/bench/tap_fwd, a pretend VMM) copies each frame to tap $TAP_GUEST in"
		echo "namespace $NS_GUEST, where the server runs, and the replies back (taps without"
		echo "offloads: one frame per MTU; txqueuelen $TAP_QLEN). Not tracked: the holder runs as"
		echo "$FWD_PLAIN. Tracked: it runs as $FWD_VMM, kvmtrace-bpf's discovery tracks it and"
		echo "counts $TAP_HOST; the frames of the other devices still take the untracked path."
		echo "$NET_ROUNDS rounds of empty, tracer, tracked."
		echo
		table "${ROWS_NET[@]}"
	else
		kept_section net
	fi
	if has_part disk; then
		echo
		echo "## Disk: fio, direct I/O"
		echo
		echo "Run of $DATE."
		echo "fio ${FIO_VERSION#fio-}, $FIO_BS random reads and writes (50/50), psync, direct I/O, one job,"
		echo "$PIN_DESC, on a $FIO_SIZE file in a temporary folder ($DISK_FSTYPE on $DISK_SOURCE). IOPS per"
		echo "window from the kernel's count of the job process's pread/pwrite calls; fio's own figure"
		echo "(JSON) for a ${WINDOW} s run of its own before the sessions, nothing attached:"
		echo "$(f2 "$FIO_SELF" 0) IOPS (windowed, detached: $(f2 "${MED[disk.iops.detached]}" 0)). Not tracked: discovery, which"
		echo "ignores fio. Tracked: \`-p\` of the job process. $DISK_ROUNDS rounds of empty, tracer, tracked."
		echo
		table "${ROWS_DISK[@]}"
	else
		kept_section disk
	fi
	if has_part sampler; then
		echo
		echo "## Sampler: kvmtrace-bpf's perf_event program at its default rate"
		echo
		echo "Run of $DATE."
		echo "\`$SAMPLER_PROG\`, run by a cpu-clock event on every CPU at kvmtrace-bpf's default"
		echo "\`--sample-hz $SAMPLE_HZ\`; workload tests/bench/spin, a CPU-bound loop. Program time:"
		echo "\`kvmtrace-bpf -q -i 1 --counters none\` with bpf_stats on, $SAMPLER_WINDOWS windows of"
		echo "$SAMPLER_WIN s with a loop pinned to each CPU that it does not track ($SPIN_PLAIN),"
		echo "then $SAMPLER_WINDOWS with a loop pinned to each CPU started as $SPIN_VMM, which"
		echo "discovery tracks, spending ${SPIN_KERNEL_PCT:-?}% of its time in read() of /dev/zero, so that"
		echo "its kernel samples take the binary search of kernel text and the stack walk; from the"
		echo "program's run_cnt and run_time_ns (\`bpftool prog show -j\`) per window, % of one CPU ="
		echo "runs per second and CPU × ns per run / 10⁹ × 100; median and min–max over the windows."
		echo "End to end: a tracked loop pinned to CPU $SAMPLER_CPU for $SAMPLER_TRIAL s, with"
		echo "kvmtrace-bpf (\`-q -i 1 --counters none\`) at \`--sample-hz $SAMPLE_HZ\` (on), at"
		echo "\`--sample-hz 0\` (off), and at \`--sample-hz 0\` beside tests/bench/empty_sampler, an"
		echo "empty program on the same cpu-clock events at the same rate (empty: the timer interrupt"
		echo "and the call into BPF, what any sampler costs); $SAMPLER_TRIALS rounds of the three, the"
		echo "order rotated each round; slowdown = 1 − rate / rate off of the same round; median and"
		echo "min–max over the rounds."
		echo "A rate is the loop's rounds per second while it ran: rounds over $SPIN_CUT_DESC times the"
		echo "median round, in which it lost its CPU to another task or to the hypervisor, are left"
		echo "out (the whole runs' slowdown is shown too). It counts what bpf_stats cannot see, the"
		echo "timer interrupt that runs the program. Its verdict is given only when the median is"
		echo "farther from the target than the noise (median change between consecutive trials of"
		echo "one configuration), \"inconclusive\" otherwise."
		echo
		table "${ROWS_SAMPLER[@]}"
	else
		kept_section sampler
	fi
	if has_part peers; then
		echo
		echo "## Peers: kvmtrace-bpf and the tools it replaces, on one workload"
		echo
		echo "Run of $DATE."
		echo "perf $PERF_VERSION, \`perf bench sched pipe\`, $PIN_DESC (the sched part's workload: every"
		echo "loop is two context switches and a wakeup); per session a ${WINDOW} s window detached, the"
		echo "tool started and at work (kvmtrace-bpf: a row written for both processes; perf stat: its"
		echo "first interval; bpftrace: its probes attached; perf record: its file opened), settle until"
		echo "${SETTLE} s after the start, a window with the tool running, the tool stopped, a window"
		echo "detached; slowdown = 1 − loops per second with the tool / the mean of the detached windows;"
		echo "$PEERS_ROUNDS rounds of ${PART_CONFIGS[peers]// /, }, order rotated each round; medians"
		echo "over the rounds. No PMU on this machine: perf stat counts software events only"
		echo "(hardware ones are unsupported), perf record samples cpu-clock; \`perf kvm record\`"
		echo "needs /dev/kvm, absent here, so \`perf record -a -g\` stands in for it, at perf's default"
		echo "rate ($PERF_FREQ Hz here) as the paper and the seed tracker ran it (with -B: no build-id pass"
		echo "at exit, which would run during the next window)."
		[ -n "$PEERS_NOTE" ] && echo "$PEERS_NOTE"
		echo
		peers_table
		echo
		echo "Target \"kvmtrace-bpf the lowest, at ≤ $TARGET_SLOWDOWN%\": **$(peers_verdict)** (≤ $TARGET_SLOWDOWN%: $(met "${MED[peers.slowdown_pct.kvmtrace]}" "$TARGET_SLOWDOWN" peers.noise_pct), by the rule of the other"
		echo "slowdowns: inconclusive when the noise is at least the target; the lowest: not met when a"
		echo "tool's median is below kvmtrace-bpf's by more than the noise, inconclusive when within it"
		echo "or when a tool's median is a speedup larger than the noise, which no tool can cause)."
	else
		kept_section peers
	fi
	echo
	echo "ns/run are bpf_stats figures (run_time_ns / run_cnt over the window); they include"
	echo "bpf_stats' own cost (~20 ns per run) for every program, so the \"minus empty program\""
	echo "rows are the handlers' own work. With a tracked workload, a handler's ns/run is the mean"
	echo "over all of its hook's events, tracked or not (for net: every device on the path, one of"
	echo "which is the VM's tap). A slowdown is the drop of the workload's throughput while"
	echo "attached (bpf_stats off unless said); the noise rows show the noise it is to be read"
	echo "against: its verdict is \"inconclusive\" when the noise is at least the target. The sched"
	echo "estimate from bpf_stats (time in the programs per bench loop over the loop's time) is"
	echo "steadier; it counts bpf_stats' own cost and not the tracepoint's call into BPF. The net"
	echo "and disk \"% of the CPU\" rows are the programs' time over the window's wall time."
	if [ "$WAKEUP_ATTACHED" = 0 ]; then
		echo "\"$WAKEUP_NOTE\": kvmtrace-bpf attaches no sched_wakeup program on"
		echo "kernels that keep each task's run delay (CONFIG_SCHED_INFO, as this one); it reads that"
		echo "at sched_switch, and the empty programs leave that hook alone too."
	fi
	echo "Targets are reported, not enforced."
} >"$MD.tmp" || die "cannot write $MD"
mv "$MD.tmp" "$MD"

json_fig()
{
	local key=$1

	if [ -z "${MED[$key]:-}" ]; then
		printf 'null'
		return
	fi
	printf '{"median": %s, "min": %s, "max": %s}' "${MED[$key]}" "${MIN[$key]}" "${MAX[$key]}"
}

json_str()
{
	local s=${1//\\/\\\\}

	printf '"%s"' "${s//\"/\\\"}"
}

json_list()
{
	local sep='' x

	printf '['
	for x in "$@"; do
		printf '%s%s' "$sep" "$(json_str "$x")"
		sep=', '
	done
	printf ']'
}

{
	read -r -a parts_list <<<"$PARTS"
	read -r -a sched_configs <<<"${PART_CONFIGS[sched]}"
	read -r -a net_configs <<<"${PART_CONFIGS[net]}"
	read -r -a disk_configs <<<"${PART_CONFIGS[disk]}"
	read -r -a sampler_configs <<<"${PART_CONFIGS[sampler]}"
	echo "{"
	echo "  \"date\": $(json_str "$DATE"),"
	echo "  \"machine\": {\"cpu\": $(json_str "$CPU"), \"cpus\": $NCPU, \"memory_gib\": $MEM_GIB," \
		"\"virtualized\": $([ "$VIRT" = yes ] && echo true || echo false)," \
		"\"clocksource\": $(json_str "$CLOCK"), \"kernel\": $(json_str "$KERNEL")},"
	echo "  \"perf_version\": $(json_str "$PERF_VERSION"),"
	echo "  \"iperf3_version\": $(json_str "$IPERF_VERSION"),"
	echo "  \"fio_version\": $(json_str "$FIO_VERSION"),"
	echo "  \"bpftool_version\": $(json_str "$BPFTOOL_VERSION"),"
	echo "  \"kvmtrace_version\": $(json_str "$TOOL_VERSION"),"
	echo "  \"commit\": $(json_str "$COMMIT"),"
	echo "  \"tracer_hooks\": $(json_list "${hooks_list[@]}"),"
	echo "  \"sched_wakeup_attached\": $([ "$WAKEUP_ATTACHED" = 1 ] && echo true || echo false),"
	printf '  "method": {"parts": %s, "cpus": %s, "window_s": %s, "settle_s": %s, "elapsed_s": %s' \
		"$(json_list "${parts_list[@]}")" "$(json_str "${CPUS:-all}")" "$WINDOW" "$SETTLE" \
		"$ELAPSED"
	has_part sched && printf ',\n    "sched": {"bench": "perf bench sched pipe", "rounds": %s, %s}' \
		"$ROUNDS" "\"configurations\": $(json_list "${sched_configs[@]}")"
	has_part net && printf ',\n    "net": {"bench": %s, "iperf3_time_s": %s, "rounds": %s, %s}' \
		"\"iperf3 -J, TCP, veth + bridge + tap of a pretend VMM, tap txqueuelen $TAP_QLEN\"" \
		"$NET_TIME" "$NET_ROUNDS" "\"configurations\": $(json_list "${net_configs[@]}")"
	has_part disk && printf ',\n    "disk": {"bench": %s, "filesystem": %s, "rounds": %s, %s}' \
		"$(json_str "fio $FIO_BS randrw 50/50 psync direct, one job, $FIO_SIZE file")" \
		"$(json_str "${DISK_FSTYPE:-} on ${DISK_SOURCE:-}")" "$DISK_ROUNDS" \
		"\"configurations\": $(json_list "${disk_configs[@]}")"
	has_part sampler && printf ',\n    "sampler": {"program": %s, "sample_hz": %s, %s, %s, %s, %s, %s}' \
		"$(json_str "$SAMPLER_PROG")" "$SAMPLE_HZ" \
		"\"stats_windows_per_phase\": $SAMPLER_WINDOWS, \"stats_window_s\": $SAMPLER_WIN" \
		"\"tracked_loop_kernel_pct\": ${SPIN_KERNEL_PCT:-null}" \
		"\"e2e_cpu\": $SAMPLER_CPU, \"e2e_rounds\": $SAMPLER_TRIALS" \
		"\"e2e_trial_s\": $SAMPLER_TRIAL" \
		"\"configurations\": $(json_list "${sampler_configs[@]}")"
	if has_part peers; then
		read -r -a peers_configs <<<"${PART_CONFIGS[peers]}"
		printf ',\n    "peers": {"bench": "perf bench sched pipe", "rounds": %s, %s}' \
			"$PEERS_ROUNDS" "\"configurations\": $(json_list "${peers_configs[@]}")"
	fi
	echo "},"
	if has_part peers; then
		printf '  "peers": {"verdict_lowest_at_most_2pct": %s, "ratios_to_kvmtrace": {' \
			"$(json_str "$(peers_verdict)")"
		sep=
		for t in "${PEER_TOOLS[@]}"; do
			r=$(peer_ratio "$t")
			if [[ $r =~ ^(-?[0-9.]+)×$ ]]; then
				r=${BASH_REMATCH[1]}
			else
				r=null
			fi
			printf '%s"%s": %s' "$sep" "$t" "$r"
			sep=', '
		done
		printf '}, "note": %s},\n' "$(json_str "${PEERS_NOTE:-}")"
	fi
	printf '  "part_dates": {'
	sep=
	for part in $PARTS; do
		printf '%s"%s": %s' "$sep" "$part" "$(json_str "$DATE")"
		sep=', '
	done
	echo "},"
	echo "  \"load_average\": {\"start\": $(json_str "$LOAD_START"), \"end\": $(json_str "$LOAD_END")},"
	echo "  \"vms_discovered\": ${DISCOVERED:-0},"
	echo "  \"vms_discovered_names\": $(json_str "$DISCOVERED_NAMES"),"
	echo "  \"perf_self_usecs_per_op\": ${PERF_SELF:-null},"
	echo "  \"fio_self_iops\": ${FIO_SELF:-null},"
	echo "  \"targets\": {\"handler_ratio_max\": $TARGET_RATIO, \"slowdown_pct_max\": $TARGET_SLOWDOWN," \
		"\"sampler_cpu_pct_max\": $TARGET_SAMPLER},"
	echo "  \"figures\": {"
	sep=
	while read -r key _; do
		printf '%s    "%s": %s' "$sep" "$key" "$(json_fig "$key")"
		sep=$',\n'
	done <"$TMP/figures"
	echo
	echo "  },"
	echo "  \"met\": {"
	sep=
	for row in "${ROWS_SCHED[@]}" "${ROWS_NET[@]}" "${ROWS_DISK[@]}" "${ROWS_SAMPLER[@]}" \
	    "${ROWS_PEERS[@]}"; do
		IFS='|' read -r key label unit dec target noisy rule <<<"$row"
		[ -n "$target" ] && [ -n "${MED[$key]:-}" ] || continue
		case $(met "${MED[$key]}" "$target" "$noisy" "$rule") in
		yes) m=true ;;
		no) m=false ;;
		*) m=null ;;
		esac
		printf '%s    "%s": %s' "$sep" "$key" "$m"
		sep=$',\n'
	done
	echo
	echo "  }"
	echo "}"
} >"$JSON.tmp" || die "cannot write $JSON"
# Partial run: the other parts' figures, verdicts and dates kept from the earlier results.
if [ ${#KEPT[@]} -gt 0 ] && [ -s "$JSON_OLD" ]; then
	if command -v jq >/dev/null; then
		jq -s --arg all "$ALL_PARTS" '.[0] as $o | .[1] as $n | ($all | split(" ")) as $a
			| ($o * $n)
			| .figures = (($o.figures // {}) + $n.figures)
			| .met = (($o.met // {}) + $n.met)
			| .method.parts = ($a - ($a - (($o.method.parts // []) + $n.method.parts)))
			| .part_dates = (($o.part_dates // (($o.method.parts // [])
				| map({key: ., value: $o.date}) | from_entries)) + $n.part_dates)' \
			"$JSON_OLD" "$JSON.tmp" >"$JSON.merged" || die "cannot merge $JSON"
		mv "$JSON.merged" "$JSON.tmp" || die "cannot write $JSON"
	else
		say "no jq: $JSON holds this run's parts only"
	fi
fi
mv "$JSON.tmp" "$JSON"

cat "$MD"
say "results in $MD and $JSON (${ELAPSED} s)"
exit 0
