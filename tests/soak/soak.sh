#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Soak test (issue 7, acceptance 4), run by `make soak`, not part of `make test`:
# SOAK_MINUTES (30) of `kvmtrace-bpf -q -i 0.2` while VMs are started and destroyed every
# SOAK_CHURN_S (5) seconds, 2 or 3 alive at any time, hand-started QEMU and libvirt domains
# mixed, with varied workloads. Then: the tracer is alive and exits 0 on SIGINT; its RSS and
# its open files did not grow after a warm-up; every VM's rows are contiguous and cover its
# whole life; stderr holds no drop counter and nothing unexpected.
#
# Environment: SOAK_MINUTES (30, fractions allowed), SOAK_CHURN_S (5), SOAK_SEED (random; the
# sequence of VMs, workloads and victims), SOAK_KINDS ("qemu libvirt": the kinds of guests
# started, alternately), SOAK_KEEP=1 keeps the output folder after a success (it is always
# kept after a failure; its path is printed).
set -u
export LC_ALL=C
build=${1:-build}
cd "$(dirname "$0")/../.." || exit 1
. tests/vm/testbed.sh
. tests/e2e/lib.sh
bin=$(realpath "$build/kvmtrace-bpf") || exit 1

minutes=${SOAK_MINUTES:-30}
churn_s=${SOAK_CHURN_S:-5}
seed=${SOAK_SEED:-$((RANDOM * 32768 + RANDOM))}
read -r -a kinds <<<"${SOAK_KINDS:-qemu libvirt}"
interval=0.2
sample_s=10
if [[ ! $minutes =~ ^[0-9]+(\.[0-9]+)?$ || ! $churn_s =~ ^[0-9]+$ || $churn_s -lt 1 ||
	! $seed =~ ^[0-9]+$ || ${#kinds[@]} -eq 0 ]]; then
	echo "soak: SOAK_MINUTES must be a number, SOAK_CHURN_S and SOAK_SEED whole numbers" >&2
	exit 2
fi
for k in "${kinds[@]}"; do
	if [[ $k != qemu && $k != libvirt ]]; then
		echo "soak: SOAK_KINDS holds qemu and/or libvirt, not '$k'" >&2
		exit 2
	fi
done
duration_s=$(awk -v m="$minutes" 'BEGIN { printf "%d", m * 60 + 0.5 }')
# Warm-up: the first 3 minutes, or the first 20% of a run shorter than 15 minutes.
warmup_s=$(awk -v d="$duration_s" 'BEGIN { w = d * 0.2; printf "%d", (w < 180 ? w : 180) }')
if ((duration_s < 60)); then
	echo "soak: SOAK_MINUTES must be at least 1" >&2
	exit 2
fi
RANDOM=$seed

tb_init || exit 1
tb_build_guest || exit 1
out=$(mktemp -d /tmp/kt-soak.XXXXXX) || exit 1
mkdir "$out/csv"
events=$out/events	# one line per VM start and stop, with the times around the call
: >"$events"
echo "soak: ${minutes} min, a VM started or stopped every ${churn_s} s (${kinds[*]}), seed" \
	"$seed, warm-up ${warmup_s} s, output in $out"

now_us() {
	_now=${EPOCHREALTIME/./}
}

# --------------------------------------------------------------------------- the tracer

tracer=
stop_tracer() {
	local i
	[[ -n $tracer ]] || return 0
	if kill -0 "$tracer" 2>/dev/null; then
		kill -INT "$tracer" 2>/dev/null
		for ((i = 0; i < 100; i++)); do
			kill -0 "$tracer" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$tracer" 2>/dev/null
	fi
	wait "$tracer" 2>/dev/null
	tracer=
}

# libvirt first: the tracer then connects at once and warns of nothing.
tb_libvirt_up || exit 1
"$bin" -q -i "$interval" -o "$out/csv" 2>"$out/stderr" &
tracer=$!
tracer_start=$EPOCHREALTIME
tb_add_cleanup stop_tracer
for ((i = 0; i < 300; i++)); do
	[[ -s $out/csv/@host.csv ]] && break
	kill -0 "$tracer" 2>/dev/null || break
	sleep 0.1
done
if [[ ! -s $out/csv/@host.csv ]]; then
	echo "soak: the tracer did not write its first row; stderr:" >&2
	cat "$out/stderr" >&2
	exit 1
fi

# --------------------------------------------------------------------------- the sampler

# Every SAMPLE_S seconds until the tracer is gone (or once): its VmRSS and its open files,
# CSV files by name and the others by kind, as one JSON line.
cat >"$out/sampler.py" <<'PY'
import json, os, re, signal, sys, time
pid, csvdir, out, period, once = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), sys.argv[5] == "once"
for sig in (signal.SIGTERM, signal.SIGINT):
    signal.signal(sig, lambda *_: sys.exit(0))

def kind(target):
    target = target.replace(" (deleted)", "")
    if target.startswith("/proc/"):
        return re.sub(r"^/proc/[0-9]+/", "/proc/PID/", target)
    return re.sub(r":\[[0-9]+\]$", "", target)

def sample():
    rec = {"t": time.time(), "rss_kb": None, "fds": 0, "csv": [], "other": {}}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rec["rss_kb"] = int(line.split()[1])
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue  # closed meanwhile
        rec["fds"] += 1
        if target.startswith(csvdir + "/"):
            rec["csv"].append(os.path.basename(target))
        else:
            k = kind(target)
            rec["other"][k] = rec["other"].get(k, 0) + 1
    rec["csv"].sort()
    return rec

with open(out, "a") as f:
    deadline = time.monotonic()
    while True:
        try:
            rec = sample()
        except OSError:
            break  # the tracer is gone
        f.write(json.dumps(rec) + "\n")
        f.flush()
        if once:
            break
        deadline += period
        time.sleep(max(0.0, deadline - time.monotonic()))
PY
"$T_PYTHON" "$out/sampler.py" "$tracer" "$(realpath "$out/csv")" "$out/samples" "$sample_s" loop &
sampler=$!
tb_add_cleanup "kill $sampler 2>/dev/null; wait $sampler 2>/dev/null"

# --------------------------------------------------------------------------- the churn

# Live guests, oldest first, and what each is.
live=()
declare -A kind_of=()
started=0
start_failures=0
net_guests=0

# A workload for the next guest: CPU bursts, idling, network and disk traffic, and chains.
# Sets work (not printed: a command substitution would not advance RANDOM, SOAK_SEED would not
# replay the run).
pick_workload() {
	local w
	case $((RANDOM % 7)) in
	0) w=burn:$((3 + RANDOM % 8)) ;;
	1) w=idle ;;
	2) w=net-send:$((2 + RANDOM % 7)) ;;
	3) w=disk-write:$((8 + RANDOM % 25)) ;;
	4) w=sleep:2,net-send:4,burn:3 ;;
	5) w=disk-write:16,burn:4 ;;
	*) w=burn:2,sleep:1 ;; # with --loop below: bursts forever
	esac
	# Test network addresses are never reused within a session (240 of them).
	if [[ $w == *net-* ]] && ((net_guests >= 200)); then
		w=idle
	fi
	work=$w
}

start_one() {
	local kind name work opts=() t0 t1 pid rc
	started=$((started + 1))
	# In turn, and a random one every fourth time or so.
	kind=${kinds[started % ${#kinds[@]}]}
	((RANDOM % 4)) || kind=${kinds[RANDOM % ${#kinds[@]}]}
	pick_workload
	[[ $work == burn:2,sleep:1 ]] && opts+=(--loop)
	((RANDOM % 3 == 0)) && opts+=(--vcpus 2)
	[[ $work == *net-* ]] && net_guests=$((net_guests + 1))
	if [[ $kind == qemu ]]; then
		name=soak-q$started
	else
		name=kt-soak-l$started
	fi
	t0=$EPOCHREALTIME
	if [[ $kind == qemu ]]; then
		pid=$(tb_start_qemu "$name" "$work" "${opts[@]}" 2>>"$out/testbed.err")
		rc=$?
	else
		tb_start_domain "$name" "$work" "${opts[@]}" >/dev/null 2>>"$out/testbed.err"
		rc=$?
		pid=$(tb_guest_pid "$name" 2>/dev/null)
	fi
	t1=$EPOCHREALTIME
	if ((rc != 0)) || [[ -z $pid ]]; then
		start_failures=$((start_failures + 1))
		printf 'startfail\t%s\t%s\t%s\t%s\t%s\n' "$name" "$kind" "$work" "$t0" "$t1" >>"$events"
		# A half-started guest: stop whatever of it runs, its rows are not checked.
		tb_stop_guest "$name" 2>/dev/null
		return 1
	fi
	printf 'start\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$kind" "$work" "${opts[*]:-}" \
		"$pid" "$t0" "$t1" >>"$events"
	live+=("$name")
	kind_of[$name]=$kind
}

# Stops live guest number $1 (0: the oldest) with the test bed's helper for its kind.
stop_one() {
	local i=$1 name t0 t1
	name=${live[$i]}
	t0=$EPOCHREALTIME
	if [[ ${kind_of[$name]} == libvirt ]]; then
		tb_destroy_domain "$name" 2>>"$out/testbed.err"
	else
		tb_stop_guest "$name" 2>>"$out/testbed.err"
	fi
	t1=$EPOCHREALTIME
	printf 'stop\t%s\t%s\t%s\n' "$name" "$t0" "$t1" >>"$events"
	live=("${live[@]:0:i}" "${live[@]:i+1}")
	unset "kind_of[$name]"
}

# Sets victim: the oldest guest most of the time; sometimes any, so that some die while they
# boot.
pick_victim() {
	victim=0
	((RANDOM % 3)) || victim=$((RANDOM % ${#live[@]}))
}

# One churn step keeps 2 or 3 guests alive: with 3, one stops; with 2, one starts and, half
# of the time, another stops right after (a replacement).
churn() {
	local n=${#live[@]}
	if ((n >= 3)); then
		pick_victim
		stop_one "$victim"
	elif ((n < 2)); then
		start_one
		((${#live[@]} < 2)) && start_one
	else
		if start_one && ((RANDOM % 2)); then
			pick_victim
			stop_one "$victim"
		fi
	fi
	return 0
}

tracer_died=0
now_us
start_us=$_now
end_us=$((start_us + duration_s * 1000000))
next_us=$start_us
while :; do
	now_us
	((_now < end_us)) || break
	if ! kill -0 "$tracer" 2>/dev/null; then
		tracer_died=1
		break
	fi
	churn
	next_us=$((next_us + churn_s * 1000000))
	now_us
	# Behind (a slow start on a loaded host): skip the missed steps.
	while ((next_us <= _now)); do next_us=$((next_us + churn_s * 1000000)); done
	((next_us > end_us)) && next_us=$end_us
	((next_us > _now)) && tb_sleep "$(awk -v d=$((next_us - _now)) 'BEGIN { printf "%.3f", d / 1e6 }')"
done

# --------------------------------------------------------------------------- the end

# Every guest stops, the tracer writes their last rows and closes their files, and with no
# VM left only @host.csv stays open: a last sample shows it.
while ((${#live[@]})); do stop_one 0; done
tb_sleep 2
kill "$sampler" 2>/dev/null
wait "$sampler" 2>/dev/null
"$T_PYTHON" "$out/sampler.py" "$tracer" "$(realpath "$out/csv")" "$out/samples" 0 once

alive=0
kill -0 "$tracer" 2>/dev/null && alive=1
status=none
if ((alive)); then
	kill -INT "$tracer"
	for ((i = 0; i < 100; i++)); do
		kill -0 "$tracer" 2>/dev/null || break
		sleep 0.1
	done
fi
if kill -0 "$tracer" 2>/dev/null; then
	status="still running 10 s after SIGINT"
	stop_tracer
else
	wait "$tracer"
	status=$?
	tracer=
fi

# Every figure is computed at once; each check reads its line in results: "NAME ok|fail MESSAGE".
analyze() {
	"$T_PYTHON" - "$@" <<'PY'
import csv, json, os, re, statistics, sys
out, interval, warmup, t_start = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
csvdir = os.path.join(out, "csv")
TOL = 0.002  # s: epoch_s has ms precision, and wall and monotonic clocks are read apart
GRACE = 2.0  # s: a VM ended this long ago may still have its files open (last row pending)
results, summary = [], []

def result(name, ok, msg):
    results.append(f"{name} {'ok' if ok else 'fail'} {msg}")

# --- the VMs, as the script started and stopped them
vms, failed_starts = {}, []
for line in open(os.path.join(out, "events")):
    f = line.rstrip("\n").split("\t")
    if f[0] == "start":
        vms[f[1]] = dict(kind=f[2], work=f[3], opts=f[4], pid=f[5], t0=float(f[6]), t1=float(f[7]),
                         s0=None, s1=None)
    elif f[0] == "startfail":
        failed_starts.append(f[1])
    elif f[0] == "stop":
        vms[f[1]]["s0"], vms[f[1]]["s1"] = float(f[2]), float(f[3])

# --- every VM's rows (the file names are the VM names: the script's names need no escaping)
def rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))

host = rows(os.path.join(csvdir, "@host.csv"))
files = sorted(f for f in os.listdir(csvdir) if f.endswith(".csv") and f != "@host.csv"
               and not f.endswith((".vcpu.csv", ".exits.csv")))
vm_rows = {f[:-4]: rows(os.path.join(csvdir, f)) for f in files}
# Other VMMs on the host (another session's, a benchmark's stand-in VMM) are traced too: their
# rows are checked for gaps, and their files may be open while they have rows.
foreign = sorted(n for n in vm_rows if n not in vms and n not in failed_starts)

def alive_around(name, t):
    v = vms.get(name)
    if v is not None:
        return v["t0"] <= t and (v["s1"] is None or v["s1"] > t - GRACE)
    rs = vm_rows.get(name)
    return bool(rs) and float(rs[0]["epoch_s"]) - 1 <= t <= float(rs[-1]["epoch_s"]) + GRACE

# --- memory and open files over the run
samples = [json.loads(l) for l in open(os.path.join(out, "samples"))]
final = samples[-1]
loop = samples[:-1]
post = [s for s in loop if s["t"] - t_start >= warmup]
rss = [s["rss_kb"] for s in loop]
if len(post) < 4:
    result("rss", False, f"only {len(post)} samples after the warm-up")
else:
    n = min(5, len(post) // 2)
    early = statistics.median(s["rss_kb"] for s in post[:n])
    late = statistics.median(s["rss_kb"] for s in post[-n:])
    growth = late - early
    span_min = (post[-(n + 1) // 2]["t"] - post[(n - 1) // 2]["t"]) / 60
    result("rss", growth < 1024,
           f"RSS growth after the warm-up {growth:+.0f} KiB < 1024 KiB (medians of {n} samples: "
           f"{early:.0f} KiB after the warm-up, {late:.0f} KiB at the end, {span_min:.1f} min "
           f"apart: {growth / max(span_min, 1e-9):+.1f} KiB/min)")
summary.append(f"RSS: first {rss[0]} KiB, after the warm-up {post[0]['rss_kb'] if post else '-'} KiB, "
               f"last {rss[-1]} KiB, max {max(rss)} KiB ({len(loop)} samples)")

# Open files. The CSV sink keeps up to 3 files open per VM it writes (<vm>.csv, .vcpu.csv,
# .exits.csv) and @host.csv, and closes a VM's files after its last row: so the CSV files
# open at a sample must all be of VMs alive then (or ended within GRACE, their last row
# pending), at most 3 per such VM + 1, and only @host.csv once every VM is gone. Every other
# descriptor (BPF maps, programs and links, perf events, the libvirt socket, /proc files read
# during a drain) does not depend on the VMs: after the warm-up its count stays within 4 (a
# drain reading /proc files while the sample is taken), however many VMs came and went.
def nother(s):
    return sum(s["other"].values())

def stray_csv(s):
    """The sample's CSV files that no VM alive around it explains, and how many VMs there were."""
    stems = {re.sub(r"(\.vcpu|\.exits)?\.csv$", "", c) for c in s["csv"] if c != "@host.csv"}
    near = [v for v in list(vms) + foreign if alive_around(v, s["t"])]
    stale = sorted(x for x in stems if x not in near)
    return stale, len(near)

bad = []
for s in post + [final]:
    stale, near = stray_csv(s)
    if stale or len(s["csv"]) > 3 * near + 1:
        bad.append(f"at +{s['t'] - t_start:.0f} s: {len(s['csv'])} CSV files open for {near} "
                   f"VMs alive, of ended VMs: {stale}")
if not post:
    result("fds", False, "no samples after the warm-up")
else:
    others = [nother(s) for s in post]
    spread = max(others) - min(others)
    kinds = sorted({k for s in post for k in s["other"]})
    varied = [f"{k} {min(s['other'].get(k, 0) for s in post)}..{max(s['other'].get(k, 0) for s in post)}"
              for k in kinds if len({s["other"].get(k, 0) for s in post}) > 1]
    msg = (f"non-CSV descriptors after the warm-up {min(others)}..{max(others)} (spread {spread} <= 4"
           f"{'; ' + ', '.join(varied) if varied else ''}), {nother(final)} at the end; CSV files "
           f"open only of live VMs, <= 3 per VM + 1, {len(final['csv'])} at the end")
    if bad:
        msg += "; " + "; ".join(bad[:3])
    result("fds", spread <= 4 and nother(final) <= max(others) and not bad, msg)
fds = [s["fds"] for s in samples]
summary.append(f"open files: {min(fds)}..{max(fds)} (non-CSV {min(nother(s) for s in samples)}.."
               f"{max(nother(s) for s in samples)}, CSV up to {max(len(s['csv']) for s in samples)}); "
               f"with no VM left: {final['fds']} ({', '.join(final['csv'])} open)")

# --- rows: contiguous, at the host file's times, and covering each VM's life
def gaps(rs):
    """Rows that do not start where the previous one ended, and rows repeating its time."""
    g, dup = [], []
    for a, b in zip(rs, rs[1:]):
        d = float(b["epoch_s"]) - float(b["interval_s"]) - float(a["epoch_s"])
        if a["epoch_s"] == b["epoch_s"]:
            dup.append(f"{b['epoch_s']} (PIDs {a['pid']}, {b['pid']})" if "pid" in b else b["epoch_s"])
        elif abs(d) > TOL:
            g.append(f"{a['epoch_s']}->{b['epoch_s']} ({d * 1000:+.1f} ms)")
    return g, dup

host_epochs = {r["epoch_s"] for r in host}
problems = []  # (kind, message)
hg, hdup = gaps(host)
if hg or hdup:
    problems.append(("host gaps", f"@host.csv: {len(hg)} gaps: {hg[:3]}, {len(hdup)} repeated times"))
lags_first, lags_last = [], []
for name, rs in vm_rows.items():
    if not rs:
        problems.append(("no rows", f"{name}: no rows"))
        continue
    g, dup = gaps(rs)
    if g:
        problems.append(("gaps", f"{name}: {len(g)} gaps or overlaps: {g[:3]}"))
    if dup:
        problems.append(("two rows in one interval", f"{name}: {len(dup)} times: {dup[:3]}"))
    odd = [r["epoch_s"] for r in rs if r["epoch_s"] not in host_epochs]
    if odd:
        problems.append(("off the host's times", f"{name}: rows at times @host.csv has not: {odd[:3]}"))
    v = vms.get(name)
    if v is None:
        continue
    v["seen"] = True
    e1, i1 = float(rs[0]["epoch_s"]), float(rs[0]["interval_s"])
    eL, iL = float(rs[-1]["epoch_s"]), float(rs[-1]["interval_s"])
    pids = sorted({r["pid"] for r in rs})
    if v["pid"] not in pids:
        problems.append(("QEMU never traced",
                         f"{name} ({v['kind']}, {v['work']}): rows {e1 - i1:.3f}..{eL:.3f} only of "
                         f"PIDs {pids}, none of its QEMU {v['pid']} (alive {v['t1']:.3f}..{v['s0']:.3f})"))
        continue
    # A hand-started QEMU daemonizes: the launcher's rows (its work before the fork) come
    # first, then only its fork's, the QEMU that stays.
    own = next(i for i, r in enumerate(rs) if r["pid"] == v["pid"])
    if any(r["pid"] != v["pid"] for r in rs[own:]) or (own and v["kind"] != "qemu"):
        problems.append(("other PIDs", f"{name}: rows of PIDs {pids}, its QEMU is {v['pid']}"))
    # The first row's window holds the moment QEMU started (within the start call), the last
    # one's the moment it ended (within the stop call).
    if not (e1 >= v["t0"] - TOL and e1 - i1 <= v["t1"] + TOL):
        problems.append(("late first row", f"{name}: first row {e1 - i1:.3f}..{e1:.3f}, started "
                         f"within {v['t0']:.3f}..{v['t1']:.3f}"))
    if not (eL >= v["s0"] - TOL and eL - iL <= v["s1"] + TOL):
        problems.append(("last row off", f"{name}: last row {eL - iL:.3f}..{eL:.3f}, stopped "
                         f"within {v['s0']:.3f}..{v['s1']:.3f}"))
    lags_first.append(e1 - v["t1"])
    lags_last.append(eL - v["s1"])
for name, v in sorted(vms.items()):
    if not v.get("seen"):
        problems.append(("no file", f"{name} ({v['kind']}, {v['work']}): no file"))
with open(os.path.join(out, "problems"), "w") as f:
    f.write("".join(f"{k}: {m}\n" for k, m in problems))
by_kind = {}
for k, m in problems:
    by_kind.setdefault(k, []).append(m)
msg = (f"{len(vm_rows)} VM files: rows contiguous (within {TOL * 1000:.0f} ms), at the host "
       f"file's times, from each VM's start to its end")
for k, ms in by_kind.items():
    msg += f"; {k}: {len(ms)} (e.g. {ms[0]})"
result("rows", not problems, msg)
nvcpu = sum(len(rows(os.path.join(csvdir, f))) for f in os.listdir(csvdir) if f.endswith(".vcpu.csv"))
kinds = {k: sum(v["kind"] == k for v in vms.values()) for k in ("qemu", "libvirt")}
summary.append(f"VMs started: {len(vms)} ({kinds['qemu']} QEMU, {kinds['libvirt']} libvirt), "
               f"failed starts: {len(failed_starts)}, other VMMs traced: {len(foreign)}"
               f"{' ' + str(foreign[:3]) if foreign else ''}; rows written: "
               f"{sum(map(len, vm_rows.values()))} VM rows, {nvcpu} vCPU rows, {len(host)} host rows")
# Rows are contiguous even when a drain is late, but their interval is then longer than -i.
iv = sorted(float(r["interval_s"]) for r in host)
summary.append(f"intervals: median {statistics.median(iv):.3f} s, max {iv[-1]:.3f} s, "
               f"{sum(i > 2 * interval for i in iv)} of {len(iv)} longer than {2 * interval:g} s")
if lags_first:
    summary.append(f"first row after the start call returned: {min(lags_first):+.3f}..{max(lags_first):+.3f} s; "
                   f"last row after the stop call returned: {min(lags_last):+.3f}..{max(lags_last):+.3f} s")

# --- stderr
allowed = [
    r"warning: no /dev/kvm: ",
    r"warning: cannot attach kvm:kvm_exit: .*guest time comes from the kernel",
    r"warning: this host's KVM is software KVM \(PVM\)",
    r"warning: cannot count [a-z0-9, -]+(: [^(]*)? \(perf_event_open: [^)]*\); (its|their) columns will be empty$",
    r"warning: [a-z ]*libvirt at \S+: ",
    r"connected to libvirt at \S+ again",
    r"warning: [0-9]+ thread slices whose switch-in the kernel did not report",
]
drops, unexpected = [], []
for line in open(os.path.join(out, "stderr")):
    line = line.rstrip("\n")
    if any(re.search(p, line) for p in allowed):
        continue
    (drops if re.match(r"kvmtrace-bpf: warning: [0-9]+ ", line) else unexpected).append(line)
result("drops", not drops, "no BPF drop counter reported on stderr" + (f": {drops[:3]}" if drops else ""))
result("stderr", not unexpected, "no unexpected line on stderr" + (f": {unexpected[:3]}" if unexpected else ""))

with open(os.path.join(out, "results"), "w") as f:
    f.write("\n".join(results) + "\n")
print("\n".join(summary))
PY
}
analyze "$out" "$interval" "$warmup_s" "$tracer_start" >"$out/summary"
result() {
	grep -q "^$1 ok " "$out/results"
}
message() {
	sed -n "s/^$1 [a-z]* //p" "$out/results"
}

echo "--- summary (seed $seed)"
cat "$out/summary"
echo "tracer stderr: $(wc -l <"$out/stderr") lines; testbed: $start_failures failed starts of $started"
t_check "no crash: the tracer ran the whole ${minutes} min (${duration_s} s)" \
	test "$tracer_died" -eq 0 -a "$alive" -eq 1
t_check "no crash: the tracer exits 0 on SIGINT (status $status)" test "$status" = 0
t_check "guests started: $((started - start_failures)) of $started (failures <= 10%)" \
	test "$((start_failures * 10))" -le "$started"
t_check "memory: $(message rss)" result rss
t_check "open files: $(message fds)" result fds
t_check "rows: $(message rows)" result rows
t_check "drops: $(message drops)" result drops
t_check "stderr: $(message stderr)" result stderr

if ((T_FAILED == 0)) && [[ -z ${SOAK_KEEP:-} ]]; then
	rm -rf "$out"
else
	echo "soak: output kept in $out (csv/, stderr, samples, events, testbed.err)"
fi
t_summary
