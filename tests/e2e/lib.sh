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

# t_column CSV NAME: the values of one column, one per line (RFC 4180 aware).
t_column() {
	"$T_PYTHON" - "$1" "$2" <<'PY'
import csv, sys
for row in csv.DictReader(open(sys.argv[1], newline="")):
    print(row[sys.argv[2]])
PY
}

# t_testbed NAME: the start of a test with VMs (after sourcing tests/vm/testbed.sh): a test bed
# session, the guest image, and $out, a folder removed at cleanup, named after the test.
t_testbed() {
	tb_init || exit 1
	tb_build_guest || exit 1
	out=$(mktemp -d "/tmp/kt-e2e-$1.XXXXXX")
	tb_add_cleanup "rm -rf '$out'"
}
