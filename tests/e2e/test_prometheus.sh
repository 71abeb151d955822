#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# End to end (issue 7): Debian's Prometheus server, started here on loopback, scrapes the
# tracer's --listen endpoint every second while it traces two libvirt guests (one burning CPU,
# one idle). Through Prometheus's HTTP API: each VM's CPU series has the right labels; the raw
# counter samples equal the CSV rows summed up to the publish each scrape saw (exact); rate()
# over a window matches the CSV's rate within 2%. The tracer's own cost is there, its BPF
# programs' time only once kernel.bpf_stats_enabled is on.
. "$(dirname "$0")/prelude.sh" "$@"
PROMETHEUS=${PROMETHEUS:-/usr/bin/prometheus}
PROMTOOL=${PROMTOOL:-/usr/bin/promtool}
# Seconds of scraping before the queries, and the span of raw samples they look at.
SCRAPE_S=22
RAW_S=20

for tool in "$PROMETHEUS" "$PROMTOOL" curl; do
	if ! command -v "$tool" >/dev/null; then
		echo "test_prometheus: $tool not found: run scripts/install-deps.sh" >&2
		t_fail "needs $tool"
		t_summary
		exit 1
	fi
done

t_testbed prometheus

# A TCP port nothing listens on now (the kernel's pick).
free_port() {
	"$T_PYTHON" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# running PID: the process exists and has not ended (an unreaped child is a zombie).
running() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	[ "${stat%% *}" != Z ]
}

# stop_pid PID: TERM, then KILL after 10 s; the exit status in STOPPED. In the main shell
# only (not in $(...)): it waits for its own child. Cleanup hooks use it too.
stop_pid() {
	local i
	STOPPED=
	[ -e "/proc/$1" ] || return 0
	kill -TERM "$1" 2>/dev/null
	for ((i = 0; i < 100; i++)); do
		running "$1" || break
		sleep 0.1
	done
	kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	STOPPED=$?
	return 0
}

# wait_for SECONDS COMMAND...: polls COMMAND every 0.2 s until it succeeds.
wait_for() {
	t_wait_for $(($1 * 5)) 0.2 "${@:2}"
}

burn=kt-prom-burn
idle=kt-prom-idle
tb_start_domain "$burn" burn:0 >/dev/null || exit 1
tb_start_domain "$idle" idle >/dev/null || exit 1
tb_wait_start "$burn" burn:0 && tb_wait_start "$idle" idle || exit 1
burn_uuid=$(virsh -q -c qemu:///system domuuid "$burn")
idle_uuid=$(virsh -q -c qemu:///system domuuid "$idle")

port=$(free_port)
pport=$(free_port)
while [ "$pport" = "$port" ]; do
	pport=$(free_port)
done
mkdir "$out/csv" "$out/tsdb"
"$bin" -q -i 1 --listen "127.0.0.1:$port" -o "$out/csv" 2>"$out/tracer.err" &
tracer=$!
tb_add_cleanup "stop_pid $tracer"
endpoint="http://127.0.0.1:$port/metrics"

# --- the endpoint itself
has_vms() {
	curl -sf --max-time 2 "$endpoint" -o "$out/first.txt" &&
		grep -q "^kvmtrace_vm_cpu_seconds_total{vm=\"$burn\"" "$out/first.txt" &&
		grep -q "^kvmtrace_vm_cpu_seconds_total{vm=\"$idle\"" "$out/first.txt"
}
t_check "the endpoint serves both VMs' CPU counters within 15 s" wait_for 15 has_vms
if ! running "$tracer"; then
	cat "$out/tracer.err" >&2
	t_fail "the tracer died"
	t_summary
	exit 1
fi
ctype=$(curl -s --max-time 5 -o /dev/null -w '%{content_type}' "$endpoint")
t_check "GET /metrics: text format 0.0.4 ($ctype)" \
	test "$ctype" = "text/plain; version=0.0.4; charset=utf-8"
ctype=$(curl -s --max-time 5 -o "$out/om.txt" -w '%{content_type}' \
	-H 'Accept: application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5' \
	"$endpoint")
t_check "GET /metrics asking for OpenMetrics: OpenMetrics 1.0.0 ending in # EOF ($ctype)" \
	test "$ctype" = "application/openmetrics-text; version=1.0.0; charset=utf-8" -a \
	"$(tail -n 1 "$out/om.txt")" = "# EOF"
code=$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/")
t_check "GET / is 404 ($code)" test "$code" = 404
curl -s --max-time 5 "$endpoint" -o "$out/lint.txt"
t_check "promtool check metrics finds nothing to say about the exposition" \
	"$PROMTOOL" check metrics <"$out/lint.txt"

# The tracer's own cost: its CPU time always; its BPF programs' time in all and per program
# while the kernel counts them, by full names (the kernel keeps 15 characters:
# kt_sched_process_exec and _exit would be one label).
stats_were=$(cat /proc/sys/kernel/bpf_stats_enabled)
tb_add_cleanup "echo $stats_were >/proc/sys/kernel/bpf_stats_enabled"
t_check "the tracer's CPU time is a counter without labels" \
	grep -q '^kvmtrace_tracer_cpu_seconds_total [0-9.]*$' "$out/lint.txt"
if [ "$stats_were" = 0 ]; then
	t_check "kernel.bpf_stats_enabled never on: no sample of the BPF programs' time" \
		eval '! grep -q "^kvmtrace_tracer_bpf_seconds_total" "$out/lint.txt"'
fi
echo 1 >/proc/sys/kernel/bpf_stats_enabled
bpf_time() {
	curl -sf --max-time 2 "$endpoint" -o "$out/bpf.txt" &&
		awk '/^kvmtrace_tracer_bpf_seconds_total / && $2 > 0 { f = 1 } END { exit !f }' \
			"$out/bpf.txt"
}
t_check "with kernel.bpf_stats_enabled, the time in the BPF programs is counted" \
	wait_for 5 bpf_time
# The scheduler's program: sched_switch's where it is attached, else the task iterator's.
sched_runs() {
	curl -sf --max-time 2 "$endpoint" -o "$out/stats.txt" &&
		awk '/^kvmtrace_bpf_program_runs_total\{program="(kt_sched_switch|kt_task_iter)"/ &&
		     $2 > 0 { f = 1 } END { exit !f }' "$out/stats.txt"
}
t_check "with kernel.bpf_stats_enabled, the scheduler program's runs are counted" \
	wait_for 5 sched_runs
t_check "program labels are full names (kt_sched_process_exec and _exit both there)" \
	eval 'grep -q "program=\"kt_sched_process_exec" "$out/stats.txt" &&
	      grep -q "program=\"kt_sched_process_exit" "$out/stats.txt"'
echo "$stats_were" >/proc/sys/kernel/bpf_stats_enabled

# A busy port is a runtime failure (1), a bad value a usage error (2): one line each.
mkdir "$out/csv2"
"$bin" -q -c 1 --listen "127.0.0.1:$port" -o "$out/csv2" 2>"$out/busy.err"
status=$?
busy="^kvmtrace-bpf: cannot listen on 127.0.0.1:$port: Address already in use; "
t_check "a second tracer on the port: status 1 ($status), one line '${busy:1}...'" \
	test "$status" -eq 1 -a "$(grep -c "$busy" "$out/busy.err")" -eq 1
"$bin" -q -c 1 --listen "localhost:$port" -o "$out/csv2" 2>"$out/bad.err"
status=$?
t_check "--listen localhost:PORT: status 2 ($status), one line" \
	test "$status" -eq 2 -a "$(wc -l <"$out/bad.err")" -eq 1

# --- Debian's Prometheus on loopback, scraping every second
cat >"$out/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: kvmtrace
    static_configs:
      - targets: ['127.0.0.1:$port']
EOF
"$PROMETHEUS" --config.file="$out/prometheus.yml" --storage.tsdb.path="$out/tsdb" \
	--web.listen-address="127.0.0.1:$pport" --log.level=warn >"$out/prometheus.log" 2>&1 &
prom=$!
tb_add_cleanup "stop_pid $prom"
api="http://127.0.0.1:$pport/api/v1"

prom_ready() {
	curl -sf --max-time 2 "http://127.0.0.1:$pport/-/ready" >/dev/null
}
if ! wait_for 30 prom_ready; then
	tail -n 5 "$out/prometheus.log" >&2
	t_fail "prometheus is ready on 127.0.0.1:$pport within 30 s"
	t_summary
	exit 1
fi
t_ok "prometheus is ready on 127.0.0.1:$pport"
tb_sleep "$SCRAPE_S"

# query FILE PROMQL [TIME]: an instant query through the HTTP API, JSON into FILE.
query() {
	local args=(-G -sf --max-time 10 --data-urlencode "query=$2")
	[ -n "${3:-}" ] && args+=(--data-urlencode "time=$3")
	curl "${args[@]}" "$api/query" -o "$1"
}

curl -sf --max-time 10 "$api/targets" -o "$out/targets.json"
target_up() {
	"$T_PYTHON" - "$out/targets.json" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))["data"]["activeTargets"]
print(f"targets: {[(x['scrapeUrl'], x['health'], x['lastError']) for x in t]}")
sys.exit(not (len(t) == 1 and t[0]["health"] == "up" and t[0]["lastError"] == ""))
PY
}
t_check "prometheus scrapes the endpoint without errors (target up)" target_up

now=$(date +%s.%3N)
query "$out/series.json" 'kvmtrace_vm_cpu_seconds_total' "$now"
# series_ok FILE VM UUID: exactly one series for VM, with exactly the labels we export (plus
# Prometheus's job and instance) and libvirt's UUID.
series_ok() {
	"$T_PYTHON" - "$1" "$2" "$3" "127.0.0.1:$port" <<'PY'
import json, sys
path, vm, uuid, instance = sys.argv[1:]
res = json.load(open(path))["data"]["result"]
mine = [r["metric"] for r in res if r["metric"].get("vm") == vm]
want = {"__name__": "kvmtrace_vm_cpu_seconds_total", "vm": vm, "uuid": uuid,
        "job": "kvmtrace", "instance": instance}
print(f"{vm}: {mine}")
sys.exit(mine != [want])
PY
}
t_check "$burn: one CPU series, labels vm and uuid (libvirt's $burn_uuid)" \
	series_ok "$out/series.json" "$burn" "$burn_uuid"
t_check "$idle: one CPU series, labels vm and uuid (libvirt's $idle_uuid)" \
	series_ok "$out/series.json" "$idle" "$idle_uuid"

# Raw samples as scraped, with the publish each scrape saw (its epoch_s).
query "$out/stamps.json" "kvmtrace_last_interval_timestamp_seconds[${RAW_S}s]" "$now"
query "$out/burn_raw.json" "kvmtrace_vm_cpu_seconds_total{vm=\"$burn\"}[${RAW_S}s]" "$now"
query "$out/idle_raw.json" "kvmtrace_vm_cpu_seconds_total{vm=\"$idle\"}[${RAW_S}s]" "$now"

# compare MODE RAW CSV: with the scrapes of RAW (counter values) joined with those of stamps.json
# (the publish each saw), either
#   exact: every scraped value is the sum of the VM's CSV rows up to that publish, and the
#          growth between the first and last scrape is the sum of the rows in between (1 us);
#   window: prints "T WINDOW_MS CSV_RATE" for a rate() window of at least 10 s whose scrapes saw
#          publishes exactly as far apart as the scrapes were (so the scrape times and the
#          publish times measure the same span) and that Prometheus extrapolates to its edges.
compare() {
	"$T_PYTHON" - "$1" "$2" "$out/stamps.json" "$3" <<'PY'
import csv, json, sys
mode, raw, stamps, csvfile = sys.argv[1:]

def samples(path):
    res = json.load(open(path))["data"]["result"]
    if len(res) != 1:
        sys.exit(f"{path}: {len(res)} series")
    return {t: float(v) for t, v in res[0]["values"]}

value, seen = samples(raw), samples(stamps)
scrapes = sorted((t, value[t], round(seen[t], 3)) for t in value if t in seen)
rows = [(round(float(r["epoch_s"]), 3), int(r["cpu_total_ns"]), float(r["interval_s"]))
        for r in csv.DictReader(open(csvfile, newline=""))]
epochs = {e for e, _, _ in rows}

def csv_sum(after, upto):
    sel = [r for r in rows if after < r[0] <= upto]
    return sum(r[1] for r in sel) / 1e9, sum(r[2] for r in sel), len(sel)

if len(scrapes) < 12:
    sys.exit(f"only {len(scrapes)} scrapes")
if mode == "exact":
    bad = 0
    for t, v, e in scrapes:
        total = csv_sum(0, e)[0]
        if e not in epochs or abs(v - total) > 1e-6:
            print(f"scrape at {t}: {v:.9f} s, CSV rows up to {e}: {total:.9f} s")
            bad += 1
    (t0, v0, e0), (t1, v1, e1) = scrapes[0], scrapes[-1]
    grew, _, n = csv_sum(e0, e1)
    print(f"{len(scrapes)} scrapes, {t1 - t0:.3f} s apart at the ends: counter grew "
          f"{v1 - v0:.9f} s, the {n} CSV rows between their publishes sum to {grew:.9f} s")
    sys.exit(bad or abs((v1 - v0) - grew) > 1e-6 or n < 10)
for k in range(len(scrapes) - 1, 9, -1):
    for j in range(0, k - 9):
        (tj, vj, ej), (tk, vk, ek) = scrapes[j], scrapes[k]
        if abs((tk - tj) - (ek - ej)) < 0.05:
            ns, secs, n = csv_sum(ej, ek)
            # The window starts and ends 250 ms beyond the samples: rate() extrapolates to
            # both edges and comes out as (vk - vj) / (tk - tj).
            print(f"{tk + 0.25:.3f} {round((tk - tj + 0.5) * 1000)} {ns / secs:.9f} {n}")
            sys.exit(0)
sys.exit("no window of 10 scrapes whose publishes were as far apart as the scrapes")
PY
}
t_check "$burn: each scraped counter value = its CSV rows summed up to the publish it saw" \
	compare exact "$out/burn_raw.json" "$out/csv/$burn.csv"
t_check "$idle: each scraped counter value = its CSV rows summed up to the publish it saw" \
	compare exact "$out/idle_raw.json" "$out/csv/$idle.csv"

window=$(compare window "$out/burn_raw.json" "$out/csv/$burn.csv")
read -r at range_ms csv_rate nrows <<<"$window"
rate=
if [ -n "${range_ms:-}" ]; then
	query "$out/rate.json" \
		"rate(kvmtrace_vm_cpu_seconds_total{vm=\"$burn\"}[${range_ms}ms])" "$at"
	rate=$("$T_PYTHON" -c 'import json, sys
r = json.load(open(sys.argv[1]))["data"]["result"]
print(r[0]["value"][1] if len(r) == 1 else "")' "$out/rate.json")
fi
echo "$burn: rate() over ${range_ms:-?} ms at ${at:-?}: ${rate:-none};" \
	"CSV over its ${nrows:-?} rows: ${csv_rate:-?}"
within() {
	"$T_PYTHON" -c 'import sys
a, b, tol = map(float, sys.argv[1:])
sys.exit(not abs(a - b) <= tol * b)' "$@"
}
t_check "$burn: rate() of kvmtrace_vm_cpu_seconds_total within 2% of the CSV's rate" \
	within "${rate:-0}" "${csv_rate:-1}" 0.02
above() {
	"$T_PYTHON" -c 'import sys; sys.exit(not float(sys.argv[1]) > float(sys.argv[2]))' "$@"
}
t_check "$burn burns CPU: rate() above 0.1 of a CPU, even on a busy host" above "${rate:-0}" 0.1

query "$out/rates.json" "rate(kvmtrace_vm_cpu_seconds_total[10s])" "$now"
idle_far_below() {
	"$T_PYTHON" - "$out/rates.json" "$burn" "$idle" <<'PY'
import json, sys
res = json.load(open(sys.argv[1]))["data"]["result"]
r = {x["metric"]["vm"]: float(x["value"][1]) for x in res}
print(f"rates: {r}")
sys.exit(not r[sys.argv[3]] * 4 < r[sys.argv[2]])
PY
}
t_check "$idle: rate() far below $burn's (< 25%)" idle_far_below

stop_pid "$tracer"
t_check "the tracer ends with status 0 on SIGTERM (${STOPPED:-?})" test "${STOPPED:-1}" -eq 0
t_check "the tracer said nothing about the endpoint on stderr" \
	test -z "$(grep -i 'metric\|listen' "$out/tracer.err")"
t_check "prometheus logged no scrape errors" test -z "$(grep -i 'scrape' "$out/prometheus.log")"

t_summary
