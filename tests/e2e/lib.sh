# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0
# Assertions for the end-to-end tests: each check prints ok/FAIL with what it compared, and
# t_summary prints "N passed, N failed" and sets the exit status.

T_PASSED=0
T_FAILED=0
# Debian's python3, where python3-libvirt is, whatever python3 comes first in PATH.
T_PYTHON=/usr/bin/python3

t_ok() {
	T_PASSED=$((T_PASSED + 1))
	echo "ok   - $*"
}

t_fail() {
	T_FAILED=$((T_FAILED + 1))
	echo "FAIL - $*"
}

# t_check DESCRIPTION COMMAND...: passes when COMMAND succeeds.
t_check() {
	local what=$1
	shift
	if "$@"; then
		t_ok "$what"
	else
		t_fail "$what"
	fi
}

t_summary() {
	echo "$T_PASSED passed, $T_FAILED failed"
	[ "$T_FAILED" -eq 0 ]
}

# t_skip WHY...: ends the test here, skipped: prints "skip: WHY..." and the summary, and exits
# with its status (0 unless a check failed already).
t_skip() {
	echo "skip: $*"
	t_summary
	exit
}

# t_wait_for TRIES PERIOD COMMAND...: runs COMMAND until it succeeds, at most TRIES times, PERIOD
# seconds apart; fails when it never did.
t_wait_for() {
	local tries=$1 period=$2 try
	shift 2
	for ((try = 0; try < tries; try++)); do
		"$@" && return 0
		sleep "$period"
	done
	return 1
}

# t_one_message STATUS PROGRAM PATTERN DESCRIPTION DIR -- COMMAND...: a check that COMMAND exits
# with STATUS and that its stderr is exactly one line, starting "PROGRAM: " and matching PATTERN
# (grep) after that. COMMAND's stdout and stderr are left in DIR/out and DIR/err.
t_one_message() {
	local want=$1 prog=$2 pattern=$3 what=$4 dir=$5 status lines
	shift 6
	"$@" >"$dir/out" 2>"$dir/err"
	status=$?
	lines=$(wc -l <"$dir/err")
	if [ "$status" -eq "$want" ] && [ "$lines" -eq 1 ] &&
		grep -q "^$prog: .*$pattern" "$dir/err"; then
		t_ok "$what: status $status, '$(cat "$dir/err")'"
	else
		t_fail "$what: status $status (want $want), stderr ($lines lines): $(cat "$dir/err")"
	fi
}

# t_oracle SUBCOMMAND ARGS...: the oracle checker (tests/e2e/oracle.py).
t_oracle() {
	"$T_PYTHON" "$(dirname "${BASH_SOURCE[0]}")/oracle.py" "$@"
}

# t_safe_name NAME: the CSV file stem kvmtrace-bpf uses for a VM name (README "Output").
t_safe_name() {
	"$T_PYTHON" - "$1" <<'PY'
import re, sys
name = sys.argv[1]
h = 0x811C9DC5
for b in name.encode():
    h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF
safe = re.sub(r"[^A-Za-z0-9_.+-]", "_", name)
safe = "_" + safe[1:] if safe.startswith(".") else safe
print(safe if safe == name else f"{safe}-{h:08x}")
PY
}

# t_rows CSV: number of data rows.
t_rows() {
	tail -n +2 "$1" | wc -l
}

# t_has_row CSV: the file is there and has a data row.
t_has_row() {
	[[ $(t_rows "$1" 2>/dev/null) -ge 1 ]]
}

# t_column CSV NAME: the values of one column, one per line (RFC 4180 aware).
t_column() {
	"$T_PYTHON" - "$1" "$2" <<'PY'
import csv, sys
for row in csv.DictReader(open(sys.argv[1], newline="")):
    print(row[sys.argv[2]])
PY
}

# t_testbed NAME [--no-guest]: the start of a test with VMs (after sourcing tests/vm/testbed.sh):
# a test bed session, the guest image (not with --no-guest: the test's VMs are the test VMM's,
# tests/vm/ktvmm.c), and $out, a folder removed at cleanup, named after the test. Exits (1) when
# the test bed cannot start.
t_testbed() {
	tb_init || exit 1
	if [[ ${2:-} != --no-guest ]]; then
		tb_build_guest || exit 1
	fi
	out=$(mktemp -d "/tmp/kt-e2e-$1.XXXXXX")
	tb_add_cleanup "rm -rf '$out'"
}

# t_wait_ktvmm ERR: waits, 5 s at most, for the test VMM (tests/vm/ktvmm.c) whose stderr goes to
# the file ERR to say its vCPUs run; fails when it has not.
t_wait_ktvmm() {
	t_wait_for 100 0.05 grep -q "^ktvmm: pid" "$1"
}

# t_plug_start AUTH LOG STEPS...: starts the smart plug emulator (tests/power/plug_emulator.py)
# in the background on a free port, answering STEPS with AUTH, its requests logged in LOG and its
# output in LOG.out; sets $plug, its PID, for the test to stop it at the end. Not in a command
# substitution: the emulator must be a child of the test's shell.
t_plug_start() {
	local auth=$1 log=$2
	shift 2
	"$T_PYTHON" tests/power/plug_emulator.py --port 0 --auth "$auth" --log "$log" "$@" \
		>"$log.out" 2>&1 &
	# shellcheck disable=SC2034 # for the test
	plug=$!
}

# t_plug_port LOG: waits, 5 s at most, for the emulator started with LOG to listen; sets $port
# (empty when it does not).
t_plug_port() {
	port=
	t_wait_for 50 0.1 _t_plug_listening "$1.out"
}

_t_plug_listening() {
	port=$(sed -n 's/^listening on [^ ]* \([0-9]*\)$/\1/p' "$1")
	[ -n "$port" ]
}
