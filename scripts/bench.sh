#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Overhead benchmark of kvmtrace-bpf (make bench): scripts/bench.sh OUTPUT_DIR
#
# While `perf bench sched pipe` runs (two processes ping-ponging over pipes: a context switch
# workload), measures in one run, configurations interleaved over several rounds:
#   baseline  nothing attached (an A/A check of the method: its "slowdown" is the noise)
#   empty     empty tp_btf programs on sched_switch and sched_wakeup (tests/bench/empty.bpf.c)
#   tracer    kvmtrace-bpf attached, the bench's processes not tracked
#   tracked   kvmtrace-bpf tracking the bench's two processes (-p)
# and reports, as medians over the rounds:
#   - each program's cost per run from kernel.bpf_stats_enabled (run_time_ns / run_cnt),
#     and the ratio of kvmtrace-bpf's handler to the empty program on the same hook;
#   - the bench's slowdown with the programs attached versus without.
# Targets (handler <= 1.5x the empty program, slowdown <= 2%) are reported, not asserted: the
# script exits 0 when it measured, non-zero only when it could not measure.
#
# Throughput is the bench's loops per second over fixed windows, read from the kernel's count
# of write() calls of the bench's parent (/proc/PID/io syscw: one per loop), so that only time
# with the programs attached and settled counts, and so that the tracked case can give the
# tracer the PIDs of a running bench. One session = one configuration in one round, on one
# bench process:
#   pre   window, nothing attached
#         attach, wait until attached (and, tracked, until the bench is tracked), settle
#   off   window, bpf_stats off: the slowdown a user sees
#   on    window, bpf_stats on: the cost per run (bpf_stats itself adds ~20 ns to every run)
#         detach
#   post  window, nothing attached
# The slowdown of a session compares "off" with the mean of "pre" and "post", a few seconds
# apart on the same bench process, which cancels the drift of a shared or virtual machine.
#
# Results: bench/results.md (a markdown table) and bench/results.json, with the date and
# machine. Knobs (environment): BENCH_ROUNDS (5), BENCH_WINDOW (seconds, 2), BENCH_SETTLE
# (seconds, 1), BENCH_CPUS (the taskset CPU list of the bench, or "all"; default: the last
# CPU), BENCH_RESULTS_DIR (bench/ of the repository).
#
# The bench is pinned to one CPU by default: both processes then take turns on it, every loop
# is exactly two context switches and one wakeup, all on the critical path (the worst case for
# a scheduler tracer), and the bench does not flip between same-CPU and cross-CPU ping-pong
# from one window to the next, which on a small virtual machine changes its speed by tens of
# percent.

set -u -o pipefail

PROG=bench
OUT=${1:-}
if [ -z "$OUT" ] || [ $# -ne 1 ]; then
	echo "usage: $0 OUTPUT_DIR  (the build folder with kvmtrace-bpf and bench/empty_loader)" >&2
	exit 2
fi
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TRACER=$OUT/kvmtrace-bpf
LOADER=$OUT/bench/empty_loader
RESULTS_DIR=${BENCH_RESULTS_DIR:-$ROOT/bench}
ROUNDS=${BENCH_ROUNDS:-5}
WINDOW=${BENCH_WINDOW:-2}
SETTLE=${BENCH_SETTLE:-1}
CPUS=${BENCH_CPUS:-$(($(nproc) - 1))}
[ "$CPUS" = all ] && CPUS=
LOOPS=1000000000		# never reached: the bench is stopped after its session
CALIB_LOOPS=100000
STATS_SYSCTL=/proc/sys/kernel/bpf_stats_enabled
CONFIGS=(baseline empty tracer tracked)

# Targets of the issue.
TARGET_RATIO=1.5
TARGET_SLOWDOWN=2

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

# --- checks -------------------------------------------------------------------------------

[ "$(id -u)" -eq 0 ] || die "needs root (bpf, perf and kernel.bpf_stats_enabled)"
[ -x "$TRACER" ] || die "no $TRACER: run make"
[ -x "$LOADER" ] || die "no $LOADER: run make bench-tools"
command -v perf >/dev/null || die "no perf: install linux-perf"
command -v bpftool >/dev/null || die "no bpftool"
[ -w "$STATS_SYSCTL" ] || die "no writable $STATS_SYSCTL"
[ -r /proc/self/io ] || die "no /proc/PID/io (CONFIG_TASK_IO_ACCOUNTING)"
for v in ROUNDS WINDOW SETTLE; do
	is_number "${!v}" || die "BENCH_$v='${!v}' is not a number"
done
[ "$ROUNDS" -ge 1 ] 2>/dev/null || die "BENCH_ROUNDS must be an integer >= 1"
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

# shellcheck disable=SC2317  # called by the EXIT trap
cleanup()
{
	stop_attacher
	stop_bench
	echo "$STATS_OLD" >"$STATS_SYSCTL" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

set_stats()
{
	echo "$1" >"$STATS_SYSCTL" || die "cannot write $STATS_SYSCTL"
}

# --- the bench ----------------------------------------------------------------------------

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

# --- the attached programs ----------------------------------------------------------------

# After ATT_PID has attached: fills PROG_FDS (fd of each program linked to a scheduler
# tracepoint), with PROG_NAMES and PROG_HOOKS. Returns 1 while sched_switch has no link yet.
find_programs()
{
	local fd link k v prog_id tp_name id name pfd
	local -A link_hook=() fd_of_id=()

	PROG_FDS=()
	PROG_NAMES=()
	PROG_HOOKS=()
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
			[ -n "$prog_id" ] && [[ $tp_name == sched_* ]] && link_hook[$prog_id]=$tp_name
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
		[ "${link_hook[$id]}" = sched_switch ] && return 0
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

# Tracked case: waits for a data row of each bench process, proof that the tracer tracks them.
wait_tracked()
{
	local dir=$1 i pid ok

	for ((i = 0; i < 200; i++)); do
		ok=1
		for pid in "$BENCH_PID" "$CHILD_PID"; do
			# A header and at least one row.
			[ "$(cat "$dir"/*-"$pid".csv 2>/dev/null | wc -l)" -ge 2 ] || ok=
		done
		[ -n "$ok" ] && return 0
		kill -0 "$ATT_PID" 2>/dev/null || die "kvmtrace-bpf exited: $(head -c 800 "$TMP/tracer.err")"
		sleep 0.05
	done
	die "kvmtrace-bpf -p wrote no row for the bench's processes within 10 s"
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
# "round cfg phase loops usecs" to ops.tsv and, with bpf_stats on, the programs' deltas to
# progs.tsv.
measure_window()
{
	local phase=$1 stats=$2 o0 o1 t0 t1 i
	local -a s0=() s1=()

	set_stats "$stats"
	sleep 0.2
	if [ "$stats" = 1 ]; then
		snapshot_progs
		s0=("${SNAP[@]}")
	fi
	read_syscw
	t0=${EPOCHREALTIME/./}
	o0=$SYSCW
	sleep "$WINDOW"
	read_syscw
	t1=${EPOCHREALTIME/./}
	o1=$SYSCW
	if [ -n "$ATT_PID" ]; then
		kill -0 "$ATT_PID" 2>/dev/null || die "the $CFG program exited during the window"
	fi
	if [ "$stats" = 1 ]; then
		snapshot_progs
		s1=("${SNAP[@]}")
	fi
	set_stats 0
	printf '%s\t%s\t%s\t%s\t%s\n' "$ROUND" "$CFG" "$phase" "$((o1 - o0))" "$((t1 - t0))" \
		>>"$TMP/ops.tsv"
	for ((i = 0; i < ${#PROG_FDS[@]} && stats; i++)); do
		printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$ROUND" "$CFG" "${PROG_NAMES[$i]}" \
			"${PROG_HOOKS[$i]}" "$((s1[2 * i] - s0[2 * i]))" \
			"$((s1[2 * i + 1] - s0[2 * i + 1]))" "$((o1 - o0))" "$((t1 - t0))" \
			>>"$TMP/progs.tsv"
	done
}

# Attaches the programs of configuration $CFG to the running bench; $1 is the tracer's folder.
attach()
{
	local dir=$1

	case $CFG in
	baseline)
		;;
	empty)
		"$LOADER" >"$TMP/loader.out" 2>"$TMP/loader.err" </dev/null &
		ATT_PID=$!
		wait_attached "$TMP/loader.err"
		grep -qx ready "$TMP/loader.out" || die "empty_loader attached but did not say ready"
		;;
	tracer)
		mkdir -p "$dir"
		"$TRACER" -q -o "$dir" -i 1 >/dev/null 2>"$TMP/tracer.err" </dev/null &
		ATT_PID=$!
		wait_attached "$TMP/tracer.err"
		;;
	tracked)
		mkdir -p "$dir"
		"$TRACER" -q -o "$dir" -i 1 -p "$BENCH_PID" -p "$CHILD_PID" \
			>/dev/null 2>"$TMP/tracer.err" </dev/null &
		ATT_PID=$!
		wait_attached "$TMP/tracer.err"
		wait_tracked "$dir"
		;;
	esac
}

# One configuration ($CFG) in one round ($ROUND).
run_session()
{
	local dir="$TMP/out-$CFG-$ROUND" f nvm=0

	PROG_FDS=()
	start_bench
	measure_window pre 0
	attach "$dir"
	sleep "$SETTLE"
	# All of its programs by now, not only the first one seen attached.
	if [ -n "$ATT_PID" ]; then
		find_programs || die "the $CFG program has no program on sched_switch any more"
	fi
	measure_window off 0
	measure_window on 1
	stop_attacher
	sleep 0.3
	measure_window post 0
	stop_bench
	if [ "$CFG" = tracer ]; then
		# VMs the tracer's discovery found on this host (their switches take the tracked path).
		for f in "$dir"/*.csv; do
			case $f in
			*.vcpu.csv | *.exits.csv | "$dir/*.csv") ;;
			*) nvm=$((nvm + 1)) ;;
			esac
		done
		echo "$nvm" >>"$TMP/discovered"
	fi
}

# --- run ----------------------------------------------------------------------------------

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
BEGIN_S=$SECONDS
say "perf bench sched pipe${CPUS:+ on CPUs $CPUS}, $ROUNDS rounds of ${CONFIGS[*]}," \
	"${WINDOW} s windows (about $(awk -v r="$ROUNDS" -v w="$WINDOW" -v s="$SETTLE" \
		'BEGIN { printf "%d", r * 4 * (4 * (w + 0.2) + s + 2.2) + 5 }') s)"
set_stats 0

# perf's own figure for a short fixed-loop run, to check the windowed measurement against.
PERF_SELF=$("${PIN[@]}" perf bench sched pipe -l "$CALIB_LOOPS" 2>/dev/null |
	awk '/usecs\/op/ { print $1 }')
is_number "${PERF_SELF:-x}" || die "perf bench sched pipe -l $CALIB_LOOPS gave no usecs/op"

: >"$TMP/ops.tsv"
: >"$TMP/progs.tsv"
for ((ROUND = 1; ROUND <= ROUNDS; ROUND++)); do
	# Rotate the order each round, so that no configuration always runs first or last.
	for ((k = 0; k < ${#CONFIGS[@]}; k++)); do
		CFG=${CONFIGS[$(((k + ROUND - 1) % ${#CONFIGS[@]}))]}
		run_session
		awk -F'\t' -v r="$ROUND" -v c="$CFG" -v p="$PROG" '
			$1 == r && $2 == c { u[$3] = $5 / $4 }
			END {
				printf "%s: round %d %-8s usecs/op: pre %.2f, attached %.2f" \
					" (bpf_stats on %.2f), post %.2f\n",
					p, r, c, u["pre"], u["off"], u["on"], u["post"]
			}' "$TMP/ops.tsv" >&2
	done
done
set_stats "$STATS_OLD"
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
ELAPSED=$((SECONDS - BEGIN_S))
DISCOVERED=$(sort -n "$TMP/discovered" 2>/dev/null | tail -n 1)

# --- analysis -----------------------------------------------------------------------------

# Figures as lines "key median min max n": medians over the sessions of each configuration;
# slowdowns compare windows of one session, ratios the sessions of one round.
awk -F'\t' '
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
FILENAME ~ /ops[.]tsv$/ {
	# round cfg phase loops usecs
	if ($4 > 0 && $5 > 0) {
		ops[$1, $2, $3] = $4 * 1e6 / $5
		session[$1, $2] = 1
	}
	next
}
{
	# round cfg name hook dtime dcnt loops usecs (the bpf_stats window)
	if ($6 <= 0 || $7 <= 0)
		next
	ns[$1, $2, $3] = $5 / $6
	add("ns_per_run." $2 "." $3, $5 / $6)
	add("runs_per_op." $2 "." $3, $6 / $7)
	bpf_ns[$1, $2] += $5
	bpf_usecs[$1, $2] = $8
	rounds[$1] = 1
}
END {
	for (rc in session) {
		split(rc, x, SUBSEP)
		r = x[1]
		c = x[2]
		if (!((r, c, "pre") in ops && (r, c, "post") in ops && (r, c, "off") in ops))
			continue
		base = (ops[r, c, "pre"] + ops[r, c, "post"]) / 2
		add("slowdown_pct." c, 100 * (1 - ops[r, c, "off"] / base))
		if ((r, c, "on") in ops)
			add("slowdown_stats_pct." c, 100 * (1 - ops[r, c, "on"] / base))
		drift = 100 * (ops[r, c, "post"] / ops[r, c, "pre"] - 1)
		add("drift_pct", drift)
		add("noise_pct", drift < 0 ? -drift : drift)
		add("usecs_per_op.detached", 1e6 / ops[r, c, "pre"])
		add("usecs_per_op.detached", 1e6 / ops[r, c, "post"])
		add("usecs_per_op." c, 1e6 / ops[r, c, "off"])
		# Time in the programs per bench loop, as a share of the loop (bpf_stats window).
		if ((r, c) in bpf_ns)
			add("bpf_share_pct." c, 100 * bpf_ns[r, c] / (bpf_usecs[r, c] * 1000))
	}
	for (r in rounds) {
		for (ci = 1; ci <= 2; ci++) {
			c = ci == 1 ? "tracer" : "tracked"
			for (hi = 1; hi <= 2; hi++) {
				h = hi == 1 ? "switch" : "wakeup"
				kt = "kt_sched_" h
				e = "empty_" h
				if (!((r, c, kt) in ns && (r, "empty", e) in ns))
					continue
				add("ratio." c ".sched_" h, ns[r, c, kt] / ns[r, "empty", e])
				add("excess_ns." c ".sched_" h, ns[r, c, kt] - ns[r, "empty", e])
			}
		}
	}
	for (i = 1; i <= nkeys; i++) {
		k = keys[i]
		n = cnt[k]
		for (j = 1; j <= n; j++)
			l[j] = val[k, j]
		sort_list(l, n)
		med = n % 2 ? l[(n + 1) / 2] : (l[n / 2] + l[n / 2 + 1]) / 2
		printf "%s %.6f %.6f %.6f %d\n", k, med, l[1], l[n], n
	}
}' "$TMP/ops.tsv" "$TMP/progs.tsv" | LC_ALL=C sort >"$TMP/figures" || die "analysis failed"

declare -A MED MIN MAX
while read -r k med min max _; do
	MED[$k]=$med
	MIN[$k]=$min
	MAX[$k]=$max
done <"$TMP/figures"

for k in slowdown_pct.tracer slowdown_pct.tracked ratio.tracer.sched_switch \
	ratio.tracked.sched_switch usecs_per_op.detached; do
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
BPFTOOL_VERSION=$(bpftool version 2>/dev/null | awk 'NR == 1 { print $2 }')
TOOL_VERSION=$("$TRACER" --version 2>/dev/null | awk '{ print $NF }')
COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ "$COMMIT" != unknown ] && [ -n "$(git -C "$ROOT" status --porcelain 2>/dev/null)" ]; then
	COMMIT="$COMMIT+uncommitted"
fi

f2()
{
	LC_ALL=C printf "%.${2:-2}f" "$1"
}

# met VALUE TARGET [NOISY]: yes when the median is at most the target; for a wall-clock figure
# (NOISY set), "inconclusive" when the typical change between two detached windows of one
# session is at least the target: the measurement cannot tell such a slowdown from noise.
met()
{
	awk -v v="$1" -v t="$2" -v noisy="${3:-}" -v noise="${MED[noise_pct]}" 'BEGIN {
		if (noisy != "" && noise + 0 >= t + 0)
			print "inconclusive"
		else
			print (v <= t ? "yes" : "no")
	}'
}

# Rows of the table: key | label | unit | decimals | target ("" when none) | 1 when the figure
# is a wall-clock slowdown (its verdict depends on the noise).
ROWS=(
	"ratio.tracer.sched_switch|kt_sched_switch vs empty program, ns/run ratio, bench not tracked|×|2|$TARGET_RATIO"
	"ratio.tracked.sched_switch|kt_sched_switch vs empty program, ns/run ratio, bench tracked (-p)|×|2|$TARGET_RATIO"
	"ratio.tracer.sched_wakeup|kt_sched_wakeup vs empty program, ns/run ratio, bench not tracked|×|2|$TARGET_RATIO"
	"ratio.tracked.sched_wakeup|kt_sched_wakeup vs empty program, ns/run ratio, bench tracked (-p)|×|2|$TARGET_RATIO"
	"slowdown_pct.tracer|bench slowdown, kvmtrace-bpf attached, bench not tracked|%|2|$TARGET_SLOWDOWN|1"
	"slowdown_pct.tracked|bench slowdown, kvmtrace-bpf tracking the bench (-p)|%|2|$TARGET_SLOWDOWN|1"
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

mkdir -p "$RESULTS_DIR" || die "cannot create $RESULTS_DIR"
MD=$RESULTS_DIR/results.md
JSON=$RESULTS_DIR/results.json

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
	echo "| perf | $PERF_VERSION: \`perf bench sched pipe\`, processes mode, $PIN_DESC |"
	echo "| bpftool | $BPFTOOL_VERSION |"
	echo "| kvmtrace-bpf | $TOOL_VERSION, commit $COMMIT, \`-q -i 1\` |"
	echo "| method | $ROUNDS rounds of the 4 configurations, order rotated each round; per session, on one bench process: a ${WINDOW} s window detached, attach and ${SETTLE} s settling, a window with bpf_stats off, one with bpf_stats on, detach, a window detached; slowdown = attached vs the mean of the detached windows; medians over rounds |"
	echo "| load average | start $LOAD_START, end $LOAD_END |"
	echo "| VMs found by discovery in \"not tracked\" | ${DISCOVERED:-0} (their context switches take the tracked path) |"
	echo "| perf's own figure | $(f2 "$PERF_SELF" 3) µs/loop for $CALIB_LOOPS loops, nothing attached (windowed: $(f2 "${MED[usecs_per_op.detached]}" 3)) |"
	echo
	echo "| figure | median | rounds min–max | unit | target | met |"
	echo "| --- | ---: | ---: | --- | ---: | --- |"
	for row in "${ROWS[@]}"; do
		IFS='|' read -r key label unit dec target noisy <<<"$row"
		if [ -z "${MED[$key]:-}" ]; then
			echo "| $label | n/a | | $unit | ${target:+≤ $target} | |"
			continue
		fi
		m=
		[ -n "$target" ] && m=$(met "${MED[$key]}" "$target" "$noisy")
		echo "| $label | $(f2 "${MED[$key]}" "$dec") |" \
			"$(f2 "${MIN[$key]}" "$dec") – $(f2 "${MAX[$key]}" "$dec") | $unit |" \
			"${target:+≤ $target} | $m |"
	done
	echo
	echo "ns/run are bpf_stats figures (run_time_ns / run_cnt over the window); they include"
	echo "bpf_stats' own cost (~20 ns per run) for every program, so the \"minus empty program\""
	echo "rows are the handlers' own work. A slowdown is the drop of the bench's loops per second"
	echo "while attached (bpf_stats off unless said); the A/A and noise rows show the noise it is"
	echo "to be read against: its verdict is \"inconclusive\" when the noise is at least the target."
	echo "The estimate from bpf_stats (time in the programs per bench loop over the loop's time)"
	echo "is steadier; it counts bpf_stats' own cost and not the tracepoint's call into BPF."
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

{
	echo "{"
	echo "  \"date\": $(json_str "$DATE"),"
	echo "  \"machine\": {\"cpu\": $(json_str "$CPU"), \"cpus\": $NCPU, \"memory_gib\": $MEM_GIB," \
		"\"virtualized\": $([ "$VIRT" = yes ] && echo true || echo false)," \
		"\"clocksource\": $(json_str "$CLOCK"), \"kernel\": $(json_str "$KERNEL")},"
	echo "  \"perf_version\": $(json_str "$PERF_VERSION"),"
	echo "  \"bpftool_version\": $(json_str "$BPFTOOL_VERSION"),"
	echo "  \"kvmtrace_version\": $(json_str "$TOOL_VERSION"),"
	echo "  \"commit\": $(json_str "$COMMIT"),"
	echo "  \"method\": {\"bench\": \"perf bench sched pipe\", \"bench_cpus\": $(json_str "${CPUS:-all}")," \
		"\"rounds\": $ROUNDS, \"window_s\": $WINDOW, \"settle_s\": $SETTLE," \
		"\"configurations\": [\"baseline\", \"empty\", \"tracer\", \"tracked\"]," \
		"\"elapsed_s\": $ELAPSED},"
	echo "  \"load_average\": {\"start\": $(json_str "$LOAD_START"), \"end\": $(json_str "$LOAD_END")},"
	echo "  \"vms_discovered\": ${DISCOVERED:-0},"
	echo "  \"perf_self_usecs_per_op\": $PERF_SELF,"
	echo "  \"targets\": {\"handler_ratio_max\": $TARGET_RATIO, \"slowdown_pct_max\": $TARGET_SLOWDOWN},"
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
	for row in "${ROWS[@]}"; do
		IFS='|' read -r key label unit dec target noisy <<<"$row"
		[ -n "$target" ] && [ -n "${MED[$key]:-}" ] || continue
		case $(met "${MED[$key]}" "$target" "$noisy") in
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
mv "$JSON.tmp" "$JSON"

cat "$MD"
say "results in $MD and $JSON (${ELAPSED} s)"
exit 0
